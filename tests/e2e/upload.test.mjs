// upload.test.mjs - the customer's upload page in Debian's headless Chromium
// (playwright-core), uploading: the link of a fresh ticket shows its number, uploads
// left and expiry and sends nothing, and the commands it shows work as copied; two files at once (one of 50 MB) finish with the
// SHA-256 sha256sum gives; an upload cut by a server killed and restarted, and one cut
// by a reload, resume and use one attempt; pause, resume, cancel; the first visit's
// transfer under 100 KB with every request to the server itself. Uploads are slowed by
// Chromium's own network throttling (CDP) where "in the middle" has to be a moment the
// test can catch. Screenshots: tests/e2e/screenshots/upload/. The page's states,
// languages and accessibility: upload-states.test.mjs.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import { login, ROOT, startServer, waitFor } from '../api/lib/server.mjs';
import { checkA11y, PHONE } from './lib.mjs';
import { itemOf, percentOf, sha256sum, throttle, uploadWorld } from './upload-lib.mjs';

const WEIGHT_LIMIT = 100 * 1024;

/* A command line as a customer would paste it (bash, in dir, HOME there too: the
 * uploader keeps its state under ~/.cache). */
function shell(cmd, dir) {
    return new Promise((resolve, reject) => {
        execFile('bash', ['-c', cmd], { cwd: dir, timeout: 60000, env: { ...process.env, HOME: dir } }, (err, stdout, stderr) =>
            (err ? reject(new Error(`${cmd}: ${err.message}\n${stdout}\n${stderr}`)) : resolve(stdout)));
    });
}

describe('customer upload page: uploading', () => {
    const h = uploadWorld('upload');
    before(() => h.start());
    after(() => h.stop());

    let fresh;
    test('the link of a fresh ticket shows its number, uploads left and expiry before a byte is sent; its curl and uploader.sh commands work as copied', async () => {
        fresh = await h.ticket({ attempts: 5 });
        const page = await h.newPage();
        const sent = [];
        page.on('request', (req) => {
            if (req.url().includes('/api/v1/uploads')) sent.push(req.url());
        });
        await h.open(page, fresh.token);
        assert.equal(await page.textContent('#fact-ticket'), String(fresh.number));
        assert.equal(await page.textContent('#fact-left'), '5');
        assert.match(await page.textContent('#fact-expires'), /\d{4}/, 'the expiry date');
        assert.equal(await page.textContent('h1'), `Send log files for ticket ${fresh.number}`);
        assert.equal(await page.textContent('#left-note'), 'Each file uses one upload: you can send 5 more files.');
        assert.equal(await page.getAttribute('html', 'lang'), 'en');
        assert.equal(await page.title(), `Upload logs for ticket ${fresh.number} · logs-collector`);
        assert.equal(await page.textContent('#cmd-curl'), `curl -T logs.tar.gz ${h.srv.url}/upload/${fresh.token}/`);
        assert.equal(await page.textContent('#cmd-uploader'),
            `curl -fsSLO ${h.srv.url}/uploader.sh && bash uploader.sh -f logs.tar.gz -t ${fresh.token} -d ${h.srv.url}`);
        assert.deepEqual(sent, [], 'nothing sent before a file is chosen');
        assert.equal((await h.checkToken(fresh.token)).attempts, 5, 'opening the page uses no attempt');
        await checkA11y(page, 'the fresh link');

        /* the same URL still takes curl -T (PUT); HEAD answers where GET does */
        const head = await fetch(`${h.srv.url}/upload/${fresh.token}/`, { method: 'HEAD' });
        assert.equal(head.status, 200);
        assert.match(head.headers.get('content-type'), /^text\/html/);
        assert.match(head.headers.get('content-security-policy'), /script-src 'self'/);
        assert.equal(head.headers.get('referrer-policy'), 'same-origin');
        /* the uploader the page names is served, the very script of the repository */
        const sh = await fetch(`${h.srv.url}/uploader.sh`);
        assert.equal(sh.status, 200);
        assert.ok(Buffer.from(await sh.arrayBuffer()).equals(fs.readFileSync(path.join(ROOT, 'scripts/uploader.sh'))));
        assert.equal((await fetch(`${h.srv.url}/assets/uploader.sh`)).status, 404, 'not an asset');
        /* the page without a token, and at the old product's URL: a field for it */
        for (const p of ['/upload/', '/archives/upload/']) {
            await page.goto(h.srv.url + p);
            await page.waitForSelector('#token-form');
        }
        await page.fill('#token', 'not-a-token');
        await page.click('#token-form button[type=submit]');
        await page.waitForSelector('#token.is-invalid');
        await page.fill('#token', ` ${h.srv.url}/upload/${fresh.token}/ `);
        await page.click('#token-form button[type=submit]');
        await page.waitForURL(`${h.srv.url}/upload/${fresh.token}/`);
        await page.waitForSelector('#fact-ticket');
        /* the commands the page shows work as they are; their buttons copy them */
        await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: h.srv.url });
        const logs = h.file('logs.tar.gz', 300000);
        for (const id of ['cmd-curl', 'cmd-uploader']) {
            const cmd = await page.textContent(`#${id}`);
            await page.click(`#${id} + button`);
            await waitFor(async () => (await page.evaluate(() => navigator.clipboard.readText())) === cmd, { timeout: 5000, what: `${id} copied` });
            await shell(cmd, path.dirname(logs));
        }
        assert.deepEqual((await h.archives(fresh.number)).map((a) => a.name).sort(), ['logs (1).tar.gz', 'logs.tar.gz']);
        assert.equal((await h.archives(fresh.number))[0].sha256, await sha256sum(logs));
        assert.equal((await h.checkToken(fresh.token)).attempts, 3);
        /* a browser sent to the token check without a token lands on the page's field */
        await page.goto(`${h.srv.url}/api/v1/check/token/`);
        await page.waitForURL(`${h.srv.url}/upload/`);
        await page.waitForSelector('#token-form');
    });

    test('two files at once, one of 50 MB: both finish with the SHA-256 sha256sum gives', async () => {
        const t = await h.ticket({ attempts: 5 });
        const big = h.file('big-50mb.bin', 50 * 1024 * 1024);
        const small = h.file('small.log', 123457);
        const page = await h.newPage();
        await h.open(page, t.token);
        await page.setInputFiles('#files-input', [big, small]);
        await page.waitForSelector('#files [data-file]:nth-child(2)');
        const done = '#files [data-status=done]';
        await waitFor(async () => (await page.locator(done).count()) === 2, { timeout: 120000, interval: 250, what: 'both files received' });
        for (const f of [big, small]) {
            const item = itemOf(page, path.basename(f));
            assert.equal(await item.locator('.sha256').textContent(), await sha256sum(f), `${path.basename(f)}: the SHA-256`);
            assert.match(await item.locator('.file-status').textContent(), /Received by the server/);
        }
        const archives = await h.archives(t.number);
        assert.deepEqual(archives.map((a) => a.name).sort(), ['big-50mb.bin', 'small.log']);
        assert.equal((await h.checkToken(t.token)).attempts, 3, 'one attempt each');
        await waitFor(async () => (await page.textContent('#fact-left')) === '3', { timeout: 5000, what: 'uploads left on the page' });
        await checkA11y(page, 'two files received');
        await h.shot(page, 'upload-done-en-light');
        await page.click('[data-lang=ru]');
        await page.waitForSelector('html[lang=ru]');
        assert.match(await itemOf(page, 'small.log').locator('.file-status').textContent(), /Сервер получил файл/);
        await h.shot(page, 'upload-done-ru-light');
        await page.emulateMedia({ colorScheme: 'dark' });
        await h.shot(page, 'upload-done-ru-dark');
        await page.setViewportSize(PHONE);
        await h.shot(page, 'upload-done-ru-dark-phone');
    });

    /* The server is killed (SIGKILL: a crash, a power cut): a SIGTERM would let the
     * PATCH in flight finish first (up to 30 s of grace), so a kill is the cut a
     * test can time. The page sends 16 MiB a PATCH and the server saves the offset
     * at the end of each: the upload goes on from there, not from the start. */
    test('a server stopped and restarted in the middle of an upload: it resumes, finishes with the right SHA-256, and uses one attempt', async () => {
        const t = await h.ticket({ attempts: 5 });
        const f = h.file('restart.bin', 40 * 1024 * 1024);
        const page = await h.newPage();
        await h.open(page, t.token);
        await throttle(page, 4 * 1024 * 1024);
        await page.setInputFiles('#files-input', f);
        await waitFor(async () => (await percentOf(page, 'restart.bin')) >= 55, { timeout: 60000, interval: 100, what: 'the second 16 MiB under way' });
        await h.shot(page, 'upload-progress-en-light');
        const password = h.srv.password;
        const port = h.srv.port;
        const old = h.srv;
        old.proc.kill('SIGKILL');
        await old.exited;
        old.stopped = true;
        try {
            const cut = await percentOf(page, 'restart.bin');
            assert.ok(cut < 100, `cut at ${cut}%`);
            await page.waitForSelector('#files [data-status=retrying]', { timeout: 20000 });
            assert.match(await page.textContent('#files .file-status'), /The connection was lost; trying again/);
            await h.shot(page, 'upload-retrying-en-light');
            await page.click('[data-lang=ru]');
            await page.waitForSelector('html[lang=ru]');
            assert.match(await page.textContent('#files .file-status'), /Связь прервалась, пробуем снова/);
            await h.shot(page, 'upload-retrying-ru-light');
            await page.click('[data-lang=en]');
        } finally {
            h.srv = await startServer({ dataDir: h.dataDir, port, env: { ADMIN_PASSWORD: password } });
        }
        h.jwt = (await login(h.srv)).access;
        /* back from the saved offset, not from 0 */
        await page.waitForSelector('#files [data-status=uploading]', { timeout: 60000 });
        const resumedAt = await percentOf(page, 'restart.bin');
        assert.ok(resumedAt >= 35, `resumed at ${resumedAt}% (16 MiB of 40 were saved)`);
        await page.click('[data-lang=ru]');
        assert.match(await page.textContent('#files .file-status'), / из 40 МиБ/);
        await h.shot(page, 'upload-progress-ru-light');
        await page.click('[data-lang=en]');
        await page.waitForSelector('#files [data-status=done]', { timeout: 60000 });
        assert.equal(await page.textContent('#files .sha256'), await sha256sum(f));
        assert.equal((await h.checkToken(t.token)).attempts, 4, 'one attempt for the whole upload');
        const archives = await h.archives(t.number);
        assert.equal(archives.length, 1);
        assert.equal(archives[0].sha256, await sha256sum(f));
    });

    test('a reload in the middle of an upload: the page says so, and the same file picked again resumes', async () => {
        const t = await h.ticket({ attempts: 5 });
        const f = h.file('reload.tar.gz', 6 * 1024 * 1024);
        const page = await h.newPage();
        await h.open(page, t.token);
        await throttle(page, 1024 * 1024);
        await page.setInputFiles('#files-input', f);
        await waitFor(async () => (await percentOf(page, 'reload.tar.gz')) >= 20, { timeout: 30000, interval: 100, what: 'the upload under way' });
        await page.reload();
        await page.waitForSelector('#unfinished');
        assert.match(await page.textContent('#unfinished'), /reload\.tar\.gz \(6(\.0)? MiB\): choose this file again to continue where it stopped/);
        await checkA11y(page, 'an unfinished upload');
        await h.shot(page, 'upload-unfinished-en-light');
        await page.click('[data-lang=ru]');
        assert.match(await page.textContent('#unfinished'), /выберите этот файл снова/);
        await h.shot(page, 'upload-unfinished-ru-light');
        await page.click('[data-lang=en]');
        await page.setInputFiles('#files-input', f);
        await page.waitForSelector('#files .file-resumed');
        assert.equal(await page.textContent('#files .file-resumed'), 'Continuing the earlier upload of this file where it stopped.');
        await waitFor(async () => (await percentOf(page, 'reload.tar.gz')) >= 20, { timeout: 30000, interval: 100, what: 'progress shown' });
        assert.ok((await percentOf(page, 'reload.tar.gz')) < 100);
        await h.shot(page, 'upload-resumed-en-light');
        await page.waitForSelector('#files [data-status=done]', { timeout: 60000 });
        assert.equal(await page.textContent('#files .sha256'), await sha256sum(f));
        assert.equal((await h.checkToken(t.token)).attempts, 4, 'one attempt for the whole upload');
        assert.equal(await page.locator('#unfinished').count(), 0, 'nothing unfinished any more');
    });

    test('pause, resume and cancel', async () => {
        const t = await h.ticket({ attempts: 5 });
        const a = h.file('pause.bin', 4 * 1024 * 1024);
        const b = h.file('cancel.bin', 4 * 1024 * 1024);
        const page = await h.newPage();
        await h.open(page, t.token);
        await throttle(page, 1024 * 1024);
        await page.setInputFiles('#files-input', [a, b]);
        await waitFor(async () => (await percentOf(page, 'pause.bin')) >= 10, { timeout: 30000, interval: 100, what: 'pause.bin under way' });
        await itemOf(page, 'pause.bin').locator('[data-action=pause]').click();
        await itemOf(page, 'pause.bin').locator('[data-action=resume]').waitFor();
        assert.equal(await itemOf(page, 'pause.bin').getAttribute('data-status'), 'paused');
        await h.shot(page, 'upload-paused-en-light');
        await itemOf(page, 'cancel.bin').locator('[data-action=cancel]').click();
        await waitFor(async () => (await itemOf(page, 'cancel.bin').getAttribute('data-status')) === 'cancelled', { timeout: 5000, what: 'cancelled' });
        await itemOf(page, 'pause.bin').locator('[data-action=resume]').click();
        await itemOf(page, 'pause.bin').locator('.sha256').waitFor({ timeout: 60000 });
        assert.equal(await itemOf(page, 'pause.bin').locator('.sha256').textContent(), await sha256sum(a));
        const archives = await h.archives(t.number);
        assert.deepEqual(archives.map((x) => x.name), ['pause.bin'], 'the cancelled file is not kept');
    });

    test('a first visit transfers under 100 KB; no request leaves the server, the token in no Referer elsewhere', async () => {
        const page = await h.newPage();
        const sizes = [];
        const urls = [];
        page.on('request', (req) => urls.push(req.url()));
        page.on('requestfinished', async (req) => {
            const s = await req.sizes();
            sizes.push({ url: req.url(), bytes: s.responseBodySize + s.responseHeadersSize });
        });
        await h.open(page, fresh.token);
        await page.waitForLoadState('networkidle');
        await waitFor(() => sizes.length >= urls.length, { timeout: 5000, what: 'transfer sizes' });
        const total = sizes.reduce((n, s) => n + s.bytes, 0);
        const lines = sizes.map((s) => `${String(s.bytes).padStart(7)}  ${s.url.replace(h.srv.url, '').replace(fresh.token, 'TOKEN')}`).join('\n');
        fs.writeFileSync(path.join(h.shots, 'first-visit.txt'), `${lines}\n${String(total).padStart(7)}  total (${sizes.length} requests)\n`);
        console.log(`first visit to the upload page: ${total} bytes in ${sizes.length} requests`);
        assert.ok(total < WEIGHT_LIMIT, `first visit transferred ${total} bytes:\n${lines}`);
        assert.ok(sizes.some((s) => /tus\.min\./.test(s.url)), 'tus-js-client was fetched');
        assert.ok(!sizes.some((s) => /swagger|bootstrap\.bundle/.test(s.url)), 'nothing of the console it does not need');
        assert.deepEqual(urls.filter((u) => !u.startsWith(`${h.srv.url}/`)), [], 'every request goes to the server itself');
        const links = await page.$$eval('a[href]', (as) => as.map((a) => ({ href: a.href, rel: a.rel })));
        for (const l of links) assert.ok(l.href.startsWith(`${h.srv.url}/`) || /noreferrer/.test(l.rel), `${l.href}: rel=noreferrer`);
    });

    test('no console errors (CSP violations included) on the way', () => {
        assert.deepEqual(h.consoleErrors(), []);
    });
});
