// upload.test.mjs - the customer's upload page in Debian's headless Chromium
// (playwright-core): the link of a fresh ticket shows its number, uploads left and
// expiry; two files at once (one of 50 MB) finish with the SHA-256 sha256sum gives; an
// upload cut by a server restart, and one cut by a reload, resume and use one attempt;
// used-up, resolved, expired and unknown links get their sentences; Russian from
// Accept-Language, switchable and remembered, with its plural forms; axe-core in both
// themes, both languages and at phone width; screenshots of every state
// (tests/e2e/screenshots/upload-*); the first visit's transfer under 100 KB.
// Uploads are slowed by Chromium's own network throttling (CDP) where "in the middle"
// has to be a moment the test can catch.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { api, login, makeDataDir, ROOT, startServer, stopAll, waitFor } from '../api/lib/server.mjs';
import { checkA11y, launch, PHONE, shot, SHOTS, watchConsole } from './lib.mjs';

const WEIGHT_LIMIT = 100 * 1024;
const DESKTOP = { width: 1280, height: 900 };

function sha256sum(file) {
    return new Promise((resolve, reject) => {
        execFile('sha256sum', [file], { timeout: 60000 }, (err, stdout) => (err ? reject(err) : resolve(stdout.split(' ')[0])));
    });
}

/* Chromium's upload throttling for this page (bytes a second; -1: off). */
async function throttle(page, bytesPerSecond) {
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Network.enable');
    await cdp.send('Network.emulateNetworkConditions', {
        offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: bytesPerSecond,
    });
    return cdp;
}

/* The percentage the page shows for the file called name. */
const percentOf = (page, name) => page.evaluate((n) => {
    for (const li of document.querySelectorAll('#files [data-file]')) {
        if (li.querySelector('.file-name')?.textContent !== n) continue;
        return Number(li.querySelector('.progress')?.getAttribute('aria-valuenow') ?? -1);
    }
    return -1;
}, name);

const itemOf = (page, name) => page.locator('#files [data-file]', { has: page.locator('.file-name', { hasText: name }) });

describe('customer upload page in the browser', () => {
    let srv;
    let browser;
    let jwt;
    let number = 7000;
    const dataDir = makeDataDir();
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lc-e2e-up-'));
    const contexts = [];
    const errors = [];

    async function ticket(body = {}) {
        const r = await api(srv, 'POST', '/api/v1/tickets/', { token: jwt, json: { number: ++number, platform: 'vm6', ...body } });
        assert.equal(r.status, 201, r.text);
        return r.json;
    }

    async function checkToken(token) {
        const r = await api(srv, 'GET', `/api/v1/check/token/${token}/`);
        assert.equal(r.status, 200, r.text);
        return r.json;
    }

    /* A page of a new browser context (its own storage); locale sets Accept-Language. */
    async function newPage({ locale = 'en-US', scheme = 'light', viewport = DESKTOP } = {}) {
        /* reduced motion: no transition is half-way when axe measures contrast */
        const ctx = await browser.newContext({ locale, colorScheme: scheme, viewport, reducedMotion: 'reduce' });
        contexts.push(ctx);
        const page = await ctx.newPage();
        page.setDefaultTimeout(30000);
        errors.push(watchConsole(page));
        /* leaving mid-upload asks first (beforeunload); the tests mean to leave */
        page.on('dialog', (d) => d.accept().catch(() => {}));
        return page;
    }

    async function open(page, token) {
        await page.goto(`${srv.url}/upload/${token}/`);
        await page.waitForSelector('#summary:not(:has(.spinner-border))');
        await page.waitForSelector('#app:not(.upload-pending)');
    }

    function file(name, size) {
        const p = path.join(tmp, name);
        const fd = fs.openSync(p, 'w');
        try {
            for (let left = size; left > 0;) {
                const n = Math.min(left, 1 << 20);
                fs.writeSync(fd, crypto.randomBytes(n));
                left -= n;
            }
        } finally {
            fs.closeSync(fd);
        }
        return p;
    }

    before(async () => {
        fs.mkdirSync(SHOTS, { recursive: true });
        for (const f of fs.readdirSync(SHOTS)) if (f.startsWith('upload-')) fs.rmSync(path.join(SHOTS, f));
        srv = await startServer({ dataDir });
        jwt = (await login(srv)).access;
        const r = await api(srv, 'POST', '/api/v1/platforms/', { token: jwt, json: { name: 'vm6', pretty_name: 'VMmanager 6' } });
        assert.equal(r.status, 201, r.text);
        browser = await launch();
    });
    after(async () => {
        await browser?.close();
        fs.rmSync(tmp, { recursive: true, force: true });
        try {
            await stopAll(srv);
        } finally {
            fs.rmSync(dataDir, { recursive: true, force: true });
        }
    });

    let fresh;
    test('the link of a fresh ticket shows its number, uploads left and expiry before a byte is sent', async () => {
        fresh = await ticket({ attempts: 5 });
        const page = await newPage();
        const sent = [];
        page.on('request', (req) => {
            if (req.url().includes('/api/v1/uploads')) sent.push(req.url());
        });
        await open(page, fresh.token);
        assert.equal(await page.textContent('#fact-ticket'), String(fresh.number));
        assert.equal(await page.textContent('#fact-left'), '5');
        assert.match(await page.textContent('#fact-expires'), /\d{4}/, 'the expiry date');
        assert.equal(await page.textContent('h1'), `Send log files for ticket ${fresh.number}`);
        assert.equal(await page.textContent('#left-note'), 'Each file uses one upload: you can send 5 more files.');
        assert.equal(await page.getAttribute('html', 'lang'), 'en');
        assert.equal(await page.title(), `Upload logs for ticket ${fresh.number} · logs-collector`);
        assert.equal(await page.textContent('#cmd-curl'), `curl -T logs.tar.gz ${srv.url}/upload/${fresh.token}/`);
        assert.equal(await page.textContent('#cmd-uploader'),
            `curl -fsSLO ${srv.url}/uploader.sh && bash uploader.sh -f logs.tar.gz -t ${fresh.token} -d ${srv.url}`);
        assert.deepEqual(sent, [], 'nothing sent before a file is chosen');
        assert.equal((await checkToken(fresh.token)).attempts, 5, 'opening the page uses no attempt');
        await checkA11y(page, 'the fresh link');

        /* the same URL still takes curl -T (PUT); HEAD answers where GET does */
        const head = await fetch(`${srv.url}/upload/${fresh.token}/`, { method: 'HEAD' });
        assert.equal(head.status, 200);
        assert.match(head.headers.get('content-type'), /^text\/html/);
        assert.match(head.headers.get('content-security-policy'), /script-src 'self'/);
        assert.equal(head.headers.get('referrer-policy'), 'same-origin');
        /* the uploader the page names is served, the very script of the repository */
        const sh = await fetch(`${srv.url}/uploader.sh`);
        assert.equal(sh.status, 200);
        assert.ok(Buffer.from(await sh.arrayBuffer()).equals(fs.readFileSync(path.join(ROOT, 'scripts/uploader.sh'))));
        assert.equal((await fetch(`${srv.url}/assets/uploader.sh`)).status, 404, 'not an asset');
        /* the page without a token, and at the old product's URL: a field for it */
        for (const p of ['/upload/', '/archives/upload/']) {
            await page.goto(srv.url + p);
            await page.waitForSelector('#token-form');
        }
        await page.fill('#token', 'not-a-token');
        await page.click('#token-form button[type=submit]');
        await page.waitForSelector('#token.is-invalid');
        await page.fill('#token', ` ${srv.url}/upload/${fresh.token}/ `);
        await page.click('#token-form button[type=submit]');
        await page.waitForURL(`${srv.url}/upload/${fresh.token}/`);
        await page.waitForSelector('#fact-ticket');
    });

    test('two files at once, one of 50 MB: both finish with the SHA-256 sha256sum gives', async () => {
        const t = await ticket({ attempts: 5 });
        const big = file('big-50mb.bin', 50 * 1024 * 1024);
        const small = file('small.log', 123457);
        const page = await newPage();
        await open(page, t.token);
        await page.setInputFiles('#files-input', [big, small]);
        await page.waitForSelector('#files [data-file]:nth-child(2)');
        const done = '#files [data-status=done]';
        await waitFor(async () => (await page.locator(done).count()) === 2, { timeout: 120000, interval: 250, what: 'both files received' });
        for (const f of [big, small]) {
            const item = itemOf(page, path.basename(f));
            assert.equal(await item.locator('.sha256').textContent(), await sha256sum(f), `${path.basename(f)}: the SHA-256`);
            assert.match(await item.locator('.file-status').textContent(), /Received by the server/);
        }
        const archives = await api(srv, 'GET', `/api/v1/archives/?ticket=${t.number}`, { token: jwt });
        assert.deepEqual(archives.json.map((a) => a.name).sort(), ['big-50mb.bin', 'small.log']);
        assert.equal((await checkToken(t.token)).attempts, 3, 'one attempt each');
        await waitFor(async () => (await page.textContent('#fact-left')) === '3', { timeout: 5000, what: 'uploads left on the page' });
        await checkA11y(page, 'two files received');
        await shot(page, 'upload-done-en-light');
        await page.click('[data-lang=ru]');
        await page.waitForSelector('html[lang=ru]');
        assert.match(await itemOf(page, 'small.log').locator('.file-status').textContent(), /Сервер получил файл/);
        await shot(page, 'upload-done-ru-light');
        await page.emulateMedia({ colorScheme: 'dark' });
        await shot(page, 'upload-done-ru-dark');
        await page.setViewportSize(PHONE);
        await shot(page, 'upload-done-ru-dark-phone');
    });

    /* The server is killed (SIGKILL: a crash, a power cut): a SIGTERM would let the
     * PATCH in flight finish first (up to 30 s of grace), so a kill is the cut a
     * test can time. The page sends 16 MiB a PATCH and the server saves the offset
     * at the end of each: the upload goes on from there, not from the start. */
    test('a server stopped and restarted in the middle of an upload: it resumes, finishes with the right SHA-256, and uses one attempt', async () => {
        const t = await ticket({ attempts: 5 });
        const f = file('restart.bin', 40 * 1024 * 1024);
        const page = await newPage();
        await open(page, t.token);
        await throttle(page, 4 * 1024 * 1024);
        await page.setInputFiles('#files-input', f);
        await waitFor(async () => (await percentOf(page, 'restart.bin')) >= 55, { timeout: 60000, interval: 100, what: 'the second 16 MiB under way' });
        await shot(page, 'upload-progress-en-light');
        const password = srv.password;
        const port = srv.port;
        const old = srv;
        old.proc.kill('SIGKILL');
        await old.exited;
        old.stopped = true;
        try {
            const cut = await percentOf(page, 'restart.bin');
            assert.ok(cut < 100, `cut at ${cut}%`);
            await page.waitForSelector('#files [data-status=retrying]', { timeout: 20000 });
            assert.match(await page.textContent('#files .file-status'), /The connection was lost; trying again/);
            await shot(page, 'upload-retrying-en-light');
            await page.click('[data-lang=ru]');
            await page.waitForSelector('html[lang=ru]');
            assert.match(await page.textContent('#files .file-status'), /Связь прервалась, пробуем снова/);
            await shot(page, 'upload-retrying-ru-light');
            await page.click('[data-lang=en]');
        } finally {
            srv = await startServer({ dataDir, port, env: { ADMIN_PASSWORD: password } });
        }
        jwt = (await login(srv)).access;
        /* back from the saved offset, not from 0 */
        await page.waitForSelector('#files [data-status=uploading]', { timeout: 60000 });
        const resumedAt = await percentOf(page, 'restart.bin');
        assert.ok(resumedAt >= 35, `resumed at ${resumedAt}% (16 MiB of 40 were saved)`);
        await page.click('[data-lang=ru]');
        assert.match(await page.textContent('#files .file-status'), / из 40 МиБ/);
        await shot(page, 'upload-progress-ru-light');
        await page.click('[data-lang=en]');
        await page.waitForSelector('#files [data-status=done]', { timeout: 60000 });
        assert.equal(await page.textContent('#files .sha256'), await sha256sum(f));
        assert.equal((await checkToken(t.token)).attempts, 4, 'one attempt for the whole upload');
        const archives = await api(srv, 'GET', `/api/v1/archives/?ticket=${t.number}`, { token: jwt });
        assert.equal(archives.json.length, 1);
        assert.equal(archives.json[0].sha256, await sha256sum(f));
    });

    test('a reload in the middle of an upload: the page says so, and the same file picked again resumes', async () => {
        const t = await ticket({ attempts: 5 });
        const f = file('reload.tar.gz', 6 * 1024 * 1024);
        const page = await newPage();
        await open(page, t.token);
        await throttle(page, 1024 * 1024);
        await page.setInputFiles('#files-input', f);
        await waitFor(async () => (await percentOf(page, 'reload.tar.gz')) >= 20, { timeout: 30000, interval: 100, what: 'the upload under way' });
        await page.reload();
        await page.waitForSelector('#unfinished');
        assert.match(await page.textContent('#unfinished'), /reload\.tar\.gz \(6(\.0)? MiB\): choose this file again to continue where it stopped/);
        await checkA11y(page, 'an unfinished upload');
        await shot(page, 'upload-unfinished-en-light');
        await page.click('[data-lang=ru]');
        assert.match(await page.textContent('#unfinished'), /выберите этот файл снова/);
        await shot(page, 'upload-unfinished-ru-light');
        await page.click('[data-lang=en]');
        await page.setInputFiles('#files-input', f);
        await page.waitForSelector('#files .file-resumed');
        assert.equal(await page.textContent('#files .file-resumed'), 'Continuing the earlier upload of this file where it stopped.');
        await waitFor(async () => (await percentOf(page, 'reload.tar.gz')) >= 20, { timeout: 30000, interval: 100, what: 'progress shown' });
        assert.ok((await percentOf(page, 'reload.tar.gz')) < 100);
        await shot(page, 'upload-resumed-en-light');
        await page.waitForSelector('#files [data-status=done]', { timeout: 60000 });
        assert.equal(await page.textContent('#files .sha256'), await sha256sum(f));
        assert.equal((await checkToken(t.token)).attempts, 4, 'one attempt for the whole upload');
        assert.equal(await page.locator('#unfinished').count(), 0, 'nothing unfinished any more');
    });

    test('pause, resume and cancel', async () => {
        const t = await ticket({ attempts: 5 });
        const a = file('pause.bin', 4 * 1024 * 1024);
        const b = file('cancel.bin', 4 * 1024 * 1024);
        const page = await newPage();
        await open(page, t.token);
        await throttle(page, 1024 * 1024);
        await page.setInputFiles('#files-input', [a, b]);
        await waitFor(async () => (await percentOf(page, 'pause.bin')) >= 10, { timeout: 30000, interval: 100, what: 'pause.bin under way' });
        await itemOf(page, 'pause.bin').locator('[data-action=pause]').click();
        await itemOf(page, 'pause.bin').locator('[data-action=resume]').waitFor();
        assert.equal(await itemOf(page, 'pause.bin').getAttribute('data-status'), 'paused');
        await shot(page, 'upload-paused-en-light');
        await itemOf(page, 'cancel.bin').locator('[data-action=cancel]').click();
        await waitFor(async () => (await itemOf(page, 'cancel.bin').getAttribute('data-status')) === 'cancelled', { timeout: 5000, what: 'cancelled' });
        await itemOf(page, 'pause.bin').locator('[data-action=resume]').click();
        await itemOf(page, 'pause.bin').locator('.sha256').waitFor({ timeout: 60000 });
        assert.equal(await itemOf(page, 'pause.bin').locator('.sha256').textContent(), await sha256sum(a));
        const archives = await api(srv, 'GET', `/api/v1/archives/?ticket=${t.number}`, { token: jwt });
        assert.deepEqual(archives.json.map((x) => x.name), ['pause.bin'], 'the cancelled file is not kept');
    });

    test('used-up, resolved, expired and unknown links: a sentence that says what to do, and nothing to upload', async () => {
        const used = await ticket({ attempts: 0 });
        const resolved = await ticket({ resolved: true });
        const expired = await ticket();
        let r = await api(srv, 'PATCH', `/api/v1/tickets/${expired.number}/`, { token: jwt, json: { expires_at: new Date(Date.now() - 3600e3).toISOString() } });
        assert.equal(r.status, 200, r.text);
        const cases = [
            ['used-up', used.token, 'used_up', /All uploads of this link have been used\. To send more files, ask support for a new link\./,
                /Все загрузки по этой ссылке использованы/],
            ['resolved', resolved.token, 'resolved', new RegExp(`Ticket ${resolved.number} is closed, so this link no longer accepts files\\. .*ask support`),
                new RegExp(`Заявка ${resolved.number} закрыта`)],
            ['expired', expired.token, 'expired', /This upload link expired on .*\. Ask support for a new link\./, /Срок действия ссылки истёк/],
            ['unknown', crypto.randomUUID(), 'unknown', /This upload link is not valid\. .*ask support for a new link\./,
                /Эта ссылка для загрузки недействительна/],
        ];
        for (const [name, token, st, en, ru] of cases) {
            for (const [locale, re] of [['en-US', en], ['ru-RU', ru]]) {
                const page = await newPage({ locale });
                await open(page, token);
                await page.waitForSelector(`#state[data-state=${st}]`);
                assert.match(await page.textContent('#state'), re, `${name} (${locale})`);
                assert.equal(await page.locator('#choose').count(), 0, `${name}: no file picker`);
                assert.equal(await page.locator('#cli').textContent(), '', `${name}: no commands`);
                const text = await page.textContent('body');
                assert.doesNotMatch(text, /\b(423|403|404)\b/, 'no status codes');
                if (name !== 'unknown') assert.equal(await page.textContent('#fact-ticket'), String(name === 'used-up' ? used.number : name === 'resolved' ? resolved.number : expired.number));
                const lang = locale.slice(0, 2);
                for (const scheme of ['light', 'dark']) {
                    await page.emulateMedia({ colorScheme: scheme });
                    if (lang === 'en' || scheme === 'light') await checkA11y(page, `${name} (${locale}, ${scheme})`);
                    await shot(page, `upload-${name}-${lang}-${scheme}`);
                }
                await page.context().close();
            }
        }
        /* nothing of any ticket for an unknown token */
        r = await api(srv, 'GET', `/api/v1/check/token/${crypto.randomUUID()}/`);
        assert.equal(r.status, 404);
    });

    test('in Russian: from Accept-Language, switchable, remembered; plural forms', async () => {
        const t5 = await ticket({ attempts: 5 });
        const t2 = await ticket({ attempts: 2 });
        const t1 = await ticket({ attempts: 1 });
        const t21 = await ticket({ attempts: 21 });
        const page = await newPage({ locale: 'ru-RU' });
        await open(page, t5.token);
        assert.equal(await page.getAttribute('html', 'lang'), 'ru');
        assert.equal(await page.textContent('h1'), `Отправка логов по заявке ${t5.number}`);
        assert.equal(await page.getAttribute('[data-lang=ru]', 'aria-pressed'), 'true');
        const forms = [[t5, 'можно отправить ещё 5 файлов.'], [t2, 'можно отправить ещё 2 файла.'],
            [t1, 'можно отправить ещё 1 файл.'], [t21, 'можно отправить ещё 21 файл.']];
        for (const [t, text] of forms) {
            await open(page, t.token);
            assert.ok((await page.textContent('#left-note')).endsWith(text), `${t.attempts}: ${await page.textContent('#left-note')}`);
        }
        assert.equal(await page.textContent('#choose'), ' Выбрать файлы');
        assert.match(await page.getAttribute('[data-theme-toggle]', 'aria-label'), /тему/);
        await checkA11y(page, 'the page in Russian');
        await shot(page, 'upload-ready-ru-light');
        /* more files than uploads left: said before they go; the one refused says why */
        await open(page, t1.token);
        await page.setInputFiles('#files-input', [
            { name: 'a.log', mimeType: 'text/plain', buffer: Buffer.from('a') },
            { name: 'b.log', mimeType: 'text/plain', buffer: Buffer.from('b') },
        ]);
        await page.waitForSelector('#too-many');
        assert.equal(await page.textContent('#too-many'), 'Вы выбрали 2 файла, а по этой ссылке осталось только 1 загрузка: ' +
            'лишние файлы не будут приняты. Упакуйте их в один архив или попросите у поддержки больше загрузок.');
        await page.waitForSelector('#files [data-status=done]');
        await page.waitForSelector('#files [data-status=error]');
        assert.equal(await page.textContent('#files .file-error'),
            'Все загрузки по этой ссылке использованы, поэтому файл не принят. Попросите у поддержки новую ссылку.');
        await page.waitForSelector('#state[data-state=used_up]');
        await checkA11y(page, 'an upload refused, in Russian');
        await shot(page, 'upload-refused-ru-light');
        /* switched to English: remembered over Accept-Language */
        await page.click('[data-lang=en]');
        assert.equal(await page.getAttribute('html', 'lang'), 'en');
        await page.reload();
        await page.waitForSelector('#fact-ticket');
        assert.equal(await page.getAttribute('html', 'lang'), 'en');
        assert.equal(await page.textContent('h1'), `Send log files for ticket ${t1.number}`);
        assert.match(await page.textContent('#state'), /All uploads of this link have been used/);
        await shot(page, 'upload-refused-en-light');
        await page.click('[data-lang=ru]');
        await page.reload();
        await page.waitForSelector('#fact-ticket');
        assert.equal(await page.getAttribute('html', 'lang'), 'ru');
        /* English browsers get English */
        const en = await newPage({ locale: 'en-GB' });
        await open(en, t5.token);
        assert.equal(await en.getAttribute('html', 'lang'), 'en');
    });

    test('accessible in both themes, both languages and at phone width; screenshots of each state', async () => {
        const t = await ticket({ attempts: 5 });
        for (const scheme of ['light', 'dark']) {
            for (const [phone, viewport] of [[false, DESKTOP], [true, PHONE]]) {
                for (const locale of ['en-US', 'ru-RU']) {
                    const page = await newPage({ locale, scheme, viewport });
                    const sfx = `${locale.slice(0, 2)}-${scheme}${phone ? '-phone' : ''}`;
                    await open(page, t.token);
                    assert.equal(await page.getAttribute('html', 'data-bs-theme'), scheme);
                    await checkA11y(page, `ready (${sfx})`);
                    await shot(page, `upload-ready-${sfx}`);
                    await page.goto(`${srv.url}/upload/`);
                    await page.waitForSelector('#token-form');
                    await checkA11y(page, `no token (${sfx})`);
                    await shot(page, `upload-form-${sfx}`);
                    /* the theme switch of the console, labelled in the page's language */
                    await page.click('[data-theme-toggle]');
                    assert.equal(await page.getAttribute('html', 'data-bs-theme'), scheme === 'light' ? 'dark' : 'light');
                    await page.context().close();
                }
            }
        }
        /* keyboard: the language, theme and file buttons are reached with Tab */
        const page = await newPage();
        await open(page, t.token);
        const reached = [];
        for (let i = 0; i < 12; i++) {
            await page.keyboard.press('Tab');
            reached.push(await page.evaluate(() => document.activeElement?.id || document.activeElement?.dataset?.lang || document.activeElement?.textContent?.trim()));
        }
        assert.ok(reached.includes('en') && reached.includes('ru'), `Tab reaches the languages: ${reached}`);
        assert.ok(reached.includes('choose'), `Tab reaches the file button: ${reached}`);
    });

    test('a first visit transfers under 100 KB; no request leaves the server, the token in no Referer elsewhere', async () => {
        const page = await newPage();
        const sizes = [];
        const urls = [];
        page.on('request', (req) => urls.push(req.url()));
        page.on('requestfinished', async (req) => {
            const s = await req.sizes();
            sizes.push({ url: req.url(), bytes: s.responseBodySize + s.responseHeadersSize });
        });
        await open(page, fresh.token);
        await page.waitForLoadState('networkidle');
        await waitFor(() => sizes.length >= urls.length, { timeout: 5000, what: 'transfer sizes' });
        const total = sizes.reduce((n, s) => n + s.bytes, 0);
        const lines = sizes.map((s) => `${String(s.bytes).padStart(7)}  ${s.url.replace(srv.url, '').replace(fresh.token, 'TOKEN')}`).join('\n');
        fs.writeFileSync(path.join(SHOTS, 'upload-first-visit.txt'), `${lines}\n${String(total).padStart(7)}  total (${sizes.length} requests)\n`);
        console.log(`first visit to the upload page: ${total} bytes in ${sizes.length} requests`);
        assert.ok(total < WEIGHT_LIMIT, `first visit transferred ${total} bytes:\n${lines}`);
        assert.ok(sizes.some((s) => /tus\.min\./.test(s.url)), 'tus-js-client was fetched');
        assert.ok(!sizes.some((s) => /swagger|bootstrap\.bundle/.test(s.url)), 'nothing of the console it does not need');
        assert.deepEqual(urls.filter((u) => !u.startsWith(`${srv.url}/`)), [], 'every request goes to the server itself');
        const links = await page.$$eval('a[href]', (as) => as.map((a) => ({ href: a.href, rel: a.rel })));
        for (const l of links) assert.ok(l.href.startsWith(`${srv.url}/`) || /noreferrer/.test(l.rel), `${l.href}: rel=noreferrer`);
    });

    test('no console errors (CSP violations included) on the way', () => {
        const all = errors.flat().filter((e) => !/^Failed to load resource/.test(e));
        assert.deepEqual(all, []);
    });
});
