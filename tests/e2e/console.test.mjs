// console.test.mjs - the staff console in Debian's headless Chromium (playwright-core):
// 2FA login with a computed code, enrolment from the QR secret, backup codes once,
// platform and ticket created in the pages, an upload by curl appearing on the open
// ticket page, its download compared byte for byte, resolve, delete, the theme
// switch, logout; axe-core on every page; screenshots of every page in both themes
// and at phone width (tests/e2e/screenshots/console/); the first visit's transfer size.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { api, login, startServer, stopAll, waitFor } from '../api/lib/server.mjs';
import { totp } from '../api/lib/totp.mjs';
import { checkA11y, checkView, forEachView, launch, screenshots, SHOTS, watchConsole } from './lib.mjs';

const WEIGHT_LIMIT = 200 * 1024;

function curlUpload(url, file) {
    return new Promise((resolve, reject) => {
        execFile('curl', ['-sS', '--fail-with-body', '-T', file, url], { timeout: 30000 }, (err, stdout, stderr) =>
            (err ? reject(new Error(`curl: ${stderr || err.message} ${stdout}`)) : resolve(JSON.parse(stdout))));
    });
}

describe('staff console in the browser', () => {
    let srv;
    let browser;
    let ctx;
    let page;
    let errors;
    let adminSecret;
    let adminStep = 0; /* the last time step used, so that no code is replayed */
    const carol = { username: 'carol', password: 'carol-password-1' };
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lc-e2e-'));

    /* A code of a later time step than the last one used (at most one ahead of now). */
    function freshCode(secret, last) {
        const now = Math.floor(Date.now() / 1000 / 30);
        const step = Math.max(now, last + 1);
        return { code: totp(secret, step * 30), step };
    }

    async function loginUi(p, user, password, code) {
        await p.goto(`${srv.url}/account/login/`);
        await p.fill('#username', user);
        await p.fill('#password', password);
        await p.click('#submit');
        if (code) {
            await p.waitForSelector('#otp', { state: 'visible' });
            if (code.backup) {
                await p.click('#use-backup');
                await p.fill('#backup_code', code.backup);
            } else {
                await p.fill('#otp', code.otp);
            }
            await p.click('#submit');
        }
    }

    let shot;
    before(async () => {
        shot = screenshots('console');
        srv = await startServer({ env: { REQUIRE_2FA: 'true' } });
        browser = await launch();
        ctx = await browser.newContext({ acceptDownloads: true, viewport: { width: 1280, height: 900 } });
        page = await ctx.newPage();
        page.setDefaultTimeout(20000);
        errors = watchConsole(page);
    });
    after(async () => {
        await browser?.close();
        fs.rmSync(tmp, { recursive: true, force: true });
        await stopAll(srv);
    });

    test('the admin logs in and is sent to enrolment; enrols with the secret shown next to the QR code', async () => {
        await page.goto(`${srv.url}/tickets/`);
        await page.waitForURL(/\/account\/login\/\?next=/);
        await loginUi(page, 'admin', srv.password);
        await page.waitForURL(/\/account\/two_factor\/setup\/$/);
        await page.waitForSelector('#secret[data-secret]');
        const img = await page.getAttribute('#qr', 'src');
        assert.match(img, /^data:image\/svg\+xml/);
        const qrLoaded = await page.$eval('#qr', (el) => el.complete && el.naturalWidth > 0);
        assert.ok(qrLoaded, 'the QR code renders');
        adminSecret = await page.getAttribute('#secret', 'data-secret');
        const shown = (await page.textContent('#secret')).replace(/\s/g, '');
        assert.equal(shown, adminSecret, 'the secret is shown as text');
        const { code, step } = freshCode(adminSecret, 0);
        adminStep = step;
        await page.fill('#code', code);
        await page.click('#confirm button[type=submit]');
        await page.waitForSelector('#backup-codes li');
        assert.equal(await page.locator('#backup-codes li').count(), 10);
        await page.click('#continue');
        await page.waitForURL(/\/tickets\/$/);
        await page.waitForSelector('#rows');
    });

    test('log out, log in again with the computed code', async () => {
        await page.click('a[href="/account/logout/"]');
        await page.waitForSelector('text=You are logged out');
        await page.goto(`${srv.url}/tickets/`);
        await page.waitForURL(/\/account\/login\//);
        const { code, step } = freshCode(adminSecret, adminStep);
        adminStep = step;
        await loginUi(page, 'admin', srv.password, { otp: code });
        await page.waitForURL(/\/tickets\/$/);
        await waitFor(async () => (await page.textContent('#nav-username')) === 'admin', { timeout: 10000, what: 'the user in the navigation' });
    });

    test('an administrator creates a user; she enrols; her backup code works once', async () => {
        await page.goto(`${srv.url}/users/`);
        await page.fill('#new-username', carol.username);
        await page.fill('#new-password', carol.password);
        await page.fill('#new-name', 'Carol');
        await page.click('#create button[type=submit]');
        await page.waitForSelector('text=User carol created.');
        const p2 = await ctx.browser().newContext().then((c) => c.newPage());
        p2.setDefaultTimeout(20000);
        try {
            await loginUi(p2, carol.username, carol.password);
            await p2.waitForURL(/two_factor\/setup/);
            await p2.waitForSelector('#secret[data-secret]');
            const secret = await p2.getAttribute('#secret', 'data-secret');
            await p2.fill('#code', totp(secret));
            await p2.click('#confirm button[type=submit]');
            await p2.waitForSelector('#backup-codes li');
            const codes = await p2.locator('#backup-codes li').allTextContents();
            assert.equal(codes.length, 10);
            await p2.goto(`${p2.url().split('/account')[0]}/account/logout/`);
            await p2.waitForSelector('text=You are logged out');
            await loginUi(p2, carol.username, carol.password, { backup: codes[0] });
            await p2.waitForURL(/\/tickets\/$/);
            /* staff who are not administrators get the 403 view on the users page */
            await p2.goto(`${srv.url}/users/`);
            await p2.waitForSelector('.error-code:text("403")');
            assert.equal(await p2.isVisible('#nav-users'), false, 'no Users link for staff');
            await checkA11y(p2, 'the 403 view');
            await shot(p2, 'forbidden-light');
            await p2.goto(`${srv.url}/account/logout/`);
            await p2.waitForSelector('text=You are logged out');
            await loginUi(p2, carol.username, carol.password, { backup: codes[0] });
            await p2.waitForSelector('.form-alert:not(.d-none)');
            assert.match(await p2.textContent('.form-alert'), /Invalid or used backup code/);
            assert.match(p2.url(), /\/account\/login\//);
        } finally {
            await p2.context().close();
        }
    });

    let ticketUrl;
    test('create a platform and a ticket in the pages', async () => {
        await page.goto(`${srv.url}/platforms/`);
        await page.fill('#name', 'vm6');
        await page.fill('#pretty_name', 'VMmanager 6');
        await page.click('#platform-form button[type=submit]');
        await page.waitForSelector('#rows a[href="/tickets/show/vm6/"]');
        await page.goto(`${srv.url}/tickets/create/`);
        await page.waitForSelector('#platform option[value="vm6"]', { state: 'attached' });
        await page.fill('#number', 'abc');
        await page.click('#save');
        await page.waitForSelector('#number.is-invalid');
        assert.ok(await page.isVisible('#number ~ .invalid-feedback'), 'the field error is next to its field');
        await page.fill('#number', '4242');
        await page.selectOption('#platform', 'vm6');
        await page.fill('#attempts', '3');
        await page.fill('#note', 'Backups **fail** at night.\n\n<script>alert(1)</script> [docs](https://example.com) [bad](javascript:alert(2))');
        await page.click('#preview');
        await page.waitForSelector('#note-preview strong');
        assert.equal(await page.locator('#note-preview script').count(), 0);
        await page.click('#save');
        await page.waitForURL(/\/tickets\/show\/vm6\/4242\/$/);
        ticketUrl = page.url();
        await page.waitForSelector('#token:not(:empty)');
        assert.equal(await page.textContent('#attempts'), '3 attempts left');
        assert.equal(await page.textContent('#note strong'), 'fail');
        assert.equal(await page.locator('#note script').count(), 0, 'no script from the note');
        assert.equal(await page.locator('#note a').count(), 1, 'only the https link');
        assert.equal(await page.getAttribute('#note a', 'href'), 'https://example.com');
        assert.match(await page.textContent('#note'), /<script>alert\(1\)<\/script>/, 'raw HTML shows as text');
    });

    let uploaded;
    test('an upload by curl appears on the open ticket page; the download has the same bytes', async () => {
        const token = (await page.textContent('#token')).trim();
        assert.match(await page.inputValue('#curl'), new RegExp(`^curl -T logs\\.tar\\.gz ${srv.url}/upload/${token}/$`));
        uploaded = crypto.randomBytes(200000);
        const file = path.join(tmp, 'logs.tar.gz');
        fs.writeFileSync(file, uploaded);
        const archive = await curlUpload(`${srv.url}/upload/${token}/`, file);
        assert.equal(archive.name, 'logs.tar.gz');
        await page.waitForSelector(`[data-archive="${archive.id}"]`, { timeout: 15000 });
        await page.waitForSelector('#attempts:text("2 attempts left")', { timeout: 10000 });
        const sha = crypto.createHash('sha256').update(uploaded).digest('hex');
        assert.ok((await page.textContent(`[data-archive="${archive.id}"]`)).includes(sha), 'SHA-256 shown');
        const [download] = await Promise.all([
            page.waitForEvent('download'),
            page.click(`[data-archive="${archive.id}"] a[download]`),
        ]);
        assert.equal(download.suggestedFilename(), 'logs.tar.gz');
        const got = fs.readFileSync(await download.path());
        assert.ok(got.equals(uploaded), 'downloaded bytes equal the uploaded ones');
    });

    test('an old bookmark under another platform, or without the last slash, lands on the ticket\'s own URL', async () => {
        await page.goto(`${srv.url}/tickets/show/other/4242`);
        await page.waitForURL(/\/tickets\/show\/vm6\/4242\/$/);
        await page.waitForSelector('#attempts:text("2 attempts left")');
        await page.goto(`${srv.url}/tickets/update/nope/4242/`);
        await page.waitForURL(/\/tickets\/update\/vm6\/4242\/$/);
        assert.equal(await page.inputValue('#number'), '4242');
        await page.goto(ticketUrl);
        await page.waitForSelector('#attempts:text("2 attempts left")');
    });

    test('resolve the ticket in place, then delete it with confirmation', async () => {
        await page.click('#resolved');
        await waitFor(async () => (await api(srv, 'GET', '/api/v1/tickets/4242/', { token: (await login(srv)).access })).json.resolved, { timeout: 10000, what: 'the ticket resolved' });
        assert.equal(await page.textContent('#attempts'), 'locked: resolved');
        await page.click('#delete');
        await page.waitForSelector('dialog.confirm[open]');
        await page.click('dialog.confirm .btn-danger');
        await page.waitForURL(/\/tickets\/$/);
        await page.waitForSelector('text=No tickets match.');
        const r = await api(srv, 'GET', '/api/v1/tickets/4242/', { token: (await login(srv)).access });
        assert.equal(r.status, 404);
    });

    test('the theme switch flips light and dark and is remembered', async () => {
        await page.emulateMedia({ colorScheme: 'light' });
        await page.goto(`${srv.url}/tickets/`);
        await page.evaluate(() => localStorage.removeItem('lc-theme'));
        await page.reload();
        assert.equal(await page.getAttribute('html', 'data-bs-theme'), 'light');
        await page.emulateMedia({ colorScheme: 'dark' });
        await waitFor(async () => (await page.getAttribute('html', 'data-bs-theme')) === 'dark', { timeout: 5000, what: 'following the system' });
        await page.click('[data-theme-toggle]');
        assert.equal(await page.getAttribute('html', 'data-bs-theme'), 'light');
        await page.reload();
        assert.equal(await page.getAttribute('html', 'data-bs-theme'), 'light', 'the choice outlives the system setting');
        await page.click('[data-theme-toggle]');
        assert.equal(await page.getAttribute('html', 'data-bs-theme'), 'dark');
        await page.evaluate(() => localStorage.removeItem('lc-theme'));
        await page.emulateMedia({ colorScheme: 'light' });
    });

    test('every page: no serious or critical axe violation, screenshots in both themes and at phone width', async () => {
        /* something to show on the list and ticket pages */
        const tok = (await login(srv)).access;
        let r = await api(srv, 'POST', '/api/v1/tickets/', { token: tok, json: { number: 5150, platform: 'vm6', note: '# Customer\n\n- VM **does not start**\n- see [the KB](https://example.com/kb)\n\n```\nkernel: panic\n```' } });
        assert.equal(r.status, 201, r.text);
        await curlUpload(`${srv.url}/upload/${r.json.token}/`, path.join(tmp, 'logs.tar.gz'));
        r = await api(srv, 'POST', '/api/v1/tickets/', { token: tok, json: { number: 5151, platform: 'vm6', resolved: true } });
        const pagesToShow = [
            ['tickets', '/tickets/'],
            ['tickets-platform', '/tickets/show/vm6/'],
            ['ticket', '/tickets/show/vm6/5150/'],
            ['ticket-create', '/tickets/create/'],
            ['ticket-edit', '/tickets/update/vm6/5150/'],
            ['platforms', '/platforms/'],
            ['users', '/users/'],
            ['account', '/account/show/'],
            ['swagger', '/api/v1/schema/swagger/'],
            ['not-found', '/no/such/page/'],
        ];
        const ready = { tickets: '#rows a', 'tickets-platform': '#rows a', ticket: '[data-archive]', 'ticket-create': '#platform option', 'ticket-edit': '#note', platforms: '#rows a', users: '#rows tr', account: '#tfa-state:not(:empty)', swagger: '.swagger-ui .info', 'not-found': '.error-code' };
        await forEachView(page, async (v) => {
            for (const [name, url] of pagesToShow) {
                await page.goto(srv.url + url);
                await page.waitForSelector(ready[name], { state: 'attached' });
                await page.waitForLoadState('networkidle');
                await checkView(page, shot, name, v);
            }
        });
    });

    test('login, enrolment and logout pages: accessible, screenshots', async () => {
        const c = await browser.newContext();
        const p = await c.newPage();
        p.setDefaultTimeout(20000);
        try {
            await forEachView(p, async (v) => {
                await p.goto(`${srv.url}/account/login/`);
                await p.waitForSelector('[data-theme-toggle] svg');
                await checkView(p, shot, 'login', v);
                await p.fill('#username', 'admin');
                await p.fill('#password', srv.password);
                await p.click('#submit');
                await p.waitForSelector('#otp', { state: 'visible' });
                await checkView(p, shot, 'login-code', v);
            });
            /* a user without 2FA sees the enrolment page */
            await api(srv, 'POST', '/api/v1/users/', { token: (await login(srv)).access, json: { username: 'dave', password: 'dave-password-1' } });
            await forEachView(p, async (v) => {
                await loginUi(p, 'dave', 'dave-password-1');
                await p.waitForSelector('#secret[data-secret]');
                await p.waitForLoadState('networkidle');
                await checkView(p, shot, 'enrol', v);
                await p.goto(`${srv.url}/account/logout/`);
                await p.waitForSelector('text=You are logged out');
                await checkView(p, shot, 'logout', v);
            });
        } finally {
            await c.close();
        }
    });

    test('a first visit to the ticket list transfers under 200 KB', async () => {
        const c = await browser.newContext();
        try {
            /* a fresh browser (empty cache) that is logged in */
            const p0 = await c.newPage();
            const { code, step } = freshCode(adminSecret, adminStep);
            adminStep = step;
            const r = await p0.request.post(`${srv.url}/api/v1/auth/session/`, { data: { username: 'admin', password: srv.password, otp: code }, headers: { Origin: srv.url } });
            assert.equal(r.status(), 200, await r.text());
            await p0.close();
            const p = await c.newPage();
            const sizes = [];
            p.on('requestfinished', async (req) => {
                const s = await req.sizes();
                sizes.push({ url: req.url(), bytes: s.responseBodySize + s.responseHeadersSize });
            });
            await p.goto(`${srv.url}/tickets/`);
            await p.waitForSelector('#rows a');
            await p.waitForLoadState('networkidle');
            await waitFor(() => sizes.length > 0, { timeout: 5000, what: 'transfer sizes' });
            const total = sizes.reduce((n, s) => n + s.bytes, 0);
            const lines = sizes.map((s) => `${String(s.bytes).padStart(7)}  ${s.url.replace(srv.url, '')}`).join('\n');
            fs.mkdirSync(SHOTS, { recursive: true });
            fs.writeFileSync(path.join(SHOTS, 'first-visit.txt'), `${lines}\n${String(total).padStart(7)}  total (${sizes.length} requests)\n`);
            console.log(`first visit to the ticket list: ${total} bytes in ${sizes.length} requests`);
            assert.ok(total < WEIGHT_LIMIT, `first visit transferred ${total} bytes:\n${lines}`);
            assert.ok(sizes.some((s) => /bootstrap\.min\./.test(s.url)), 'the stylesheet was fetched (an empty cache)');
        } finally {
            await c.close();
        }
    });

    test('no console errors (CSP violations included) on the way', () => {
        assert.deepEqual(errors.filter((e) => !/^Failed to load resource: the server responded with a status of/.test(e)), []);
    });
});
