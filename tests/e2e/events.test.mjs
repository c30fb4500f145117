// events.test.mjs - the console's parts of the event stream in Debian's headless
// Chromium: a ticket's history (a real upload appearing while the page is open, "show
// more", polling with id__gte that rests while the tab is hidden), the event log for
// administrators (filters by kind, group, actor, ticket and days; pages; links to
// tickets; "administrators only" for other staff), webhooks against a real receiver
// (the secret shown once, a signed test event in the delivery log, field errors, edit,
// delete), the platforms' retention and mail settings, the account's upload-mail
// switch; axe-core and screenshots (tests/e2e/screenshots/events/) of every page in
// both themes and at phone width.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';

import { api, login, startServer, stopAll, waitFor } from '../api/lib/server.mjs';
import { webhookReceiver } from '../api/lib/receivers.mjs';
import { checkA11y, checkView, DESKTOP, forEachView, launch, screenshots, watchConsole } from './lib.mjs';

const UPDATES = 50; /* changes to ticket 4242: its history and the log get pages */
const HISTORY_PAGE = 10; /* events a page of the ticket history (ticket-history.js) */

describe('events, webhooks, retention and mail settings in the console', () => {
    let srv;
    let rec;
    let browser;
    let page;
    let errors;
    let tok;
    let shot;
    const sam = { username: 'sam', password: 'sam-password-1' };
    const tickets = {};

    const call = (method, p, json, token = tok) => api(srv, method, p, { token, json });

    /* PUT /upload/TOKEN/NAME from node, as `curl -T` does. */
    async function upload(token, name, size) {
        const r = await fetch(`${srv.url}/upload/${token}/${name}`, { method: 'PUT', body: Buffer.alloc(size, 7), headers: { 'User-Agent': 'curl/8.0' } });
        const text = await r.text();
        assert.equal(r.status, 201, text);
        return JSON.parse(text);
    }

    async function loginUi(p, user, password) {
        await p.goto(`${srv.url}/account/login/`);
        await p.fill('#username', user);
        await p.fill('#password', password);
        await p.click('#submit');
        await p.waitForURL(/\/tickets\/$/);
    }

    before(async () => {
        shot = screenshots('events');
        rec = await webhookReceiver();
        srv = await startServer({ env: { WEBHOOK_ALLOW_PRIVATE: 'true', WEBHOOK_TIMEOUT: '5', WEBHOOK_RETRY_DELAY: '1' } });
        tok = (await login(srv)).access;
        assert.equal((await call('POST', '/api/v1/platforms/', { name: 'vm6', pretty_name: 'VMmanager 6' })).status, 201);
        for (const n of [4242, 4343]) {
            const r = await call('POST', '/api/v1/tickets/', { number: n, platform: 'vm6', attempts: 5 });
            assert.equal(r.status, 201, r.text);
            tickets[n] = r.json;
        }
        assert.equal((await call('POST', '/api/v1/users/', sam)).status, 201);
        browser = await launch();
        const ctx = await browser.newContext({ viewport: DESKTOP });
        page = await ctx.newPage();
        page.setDefaultTimeout(20000);
        errors = watchConsole(page);
        await loginUi(page, 'admin', srv.password);
    });
    after(async () => {
        await browser?.close();
        await rec?.close();
        await stopAll(srv);
    });

    test('the ticket page shows its history; a real upload appears in it while the page is open', async () => {
        const requests = [];
        page.on('request', (r) => {
            if (r.url().includes('/api/v1/events/')) requests.push(r.url());
        });
        await page.goto(`${srv.url}/tickets/show/vm6/4242/`);
        await page.waitForSelector('#history [data-kind="ticket.created"]');
        assert.match(await page.textContent('#history [data-kind="ticket.created"]'), /Ticket created: on platform vm6 — admin from 127\.0\.0\.1/);
        const archive = await upload(tickets[4242].token, 'app.log', 5000);
        await page.waitForSelector('#history [data-kind="upload.finished"]', { timeout: 15000 });
        const kinds = await page.$$eval('#history [data-event]', (els) => els.map((e) => e.dataset.kind));
        assert.deepEqual(kinds, ['upload.finished', 'upload.started', 'ticket.created'], 'newest first');
        const text = await page.textContent('#history [data-kind="upload.finished"]');
        assert.match(text, /Upload finished: app\.log \(4\.9 KiB\) — upload token of ticket 4242 from 127\.0\.0\.1/);
        /* the time as the browser's locale writes it, the instant in its datetime */
        const ev = (await call('GET', `/api/v1/events/?archive=${archive.id}&kind=upload.finished`)).json[0];
        assert.equal(await page.getAttribute('#history [data-kind="upload.finished"] time', 'datetime'), ev.time);
        const shown = await page.textContent('#history [data-kind="upload.finished"] time');
        assert.equal(shown, await page.evaluate((t) => new Date(t).toLocaleString(), ev.time));
        assert.ok(requests.some((u) => new URL(u).searchParams.get('id__gte')), 'new events are asked for with id__gte');
        assert.ok(await page.isHidden('#history-more-row'), 'no "show more" with three events');

        /* the polling rests while the tab is hidden and checks at once when it shows again */
        await page.evaluate(() => {
            Object.defineProperty(document, 'hidden', { configurable: true, get: () => true });
            document.dispatchEvent(new Event('visibilitychange'));
        });
        await new Promise((r) => setTimeout(r, 500));
        const before = requests.length;
        await new Promise((r) => setTimeout(r, 7000));
        assert.equal(requests.length, before, 'no requests while hidden');
        await page.evaluate(() => {
            delete document.hidden; /* the prototype's getter again */
            document.dispatchEvent(new Event('visibilitychange'));
        });
        await waitFor(() => requests.length > before, { timeout: 2000, what: 'a check when the tab shows again' });
    });

    test('"show more" pages through a long history; a change made meanwhile arrives on top', async () => {
        for (let i = 0; i < UPDATES; i++)
            assert.equal((await call('PATCH', '/api/v1/tickets/4242/', { note: `note ${i}` })).status, 200);
        const total = UPDATES + 3;
        await page.goto(`${srv.url}/tickets/show/vm6/4242/`);
        await page.waitForSelector('#history [data-event]');
        assert.equal(await page.locator('#history [data-event]').count(), HISTORY_PAGE);
        assert.equal(await page.textContent('#history-count'), `${HISTORY_PAGE} of ${total}`);
        /* a change while the page is open: on top, and it does not disturb the pages */
        assert.equal((await call('PATCH', '/api/v1/tickets/4242/', { resolved: true })).status, 200);
        await page.waitForSelector('#history [data-event]:first-child[data-kind="ticket.resolved"]', { timeout: 15000 });
        for (let shown = HISTORY_PAGE + 1; shown < total + 1;) {
            await page.click('#history-more');
            shown = Math.min(shown + HISTORY_PAGE, total + 1);
            await waitFor(async () => (await page.locator('#history [data-event]').count()) === shown, { timeout: 5000, what: `${shown} events` });
        }
        const ids = await page.$$eval('#history [data-event]', (els) => els.map((e) => Number(e.dataset.event)));
        assert.equal(new Set(ids).size, ids.length, 'no event twice');
        assert.deepEqual(ids, [...ids].sort((a, b) => b - a), 'newest first');
        assert.equal(await page.getAttribute('#history [data-event]:last-child', 'data-kind'), 'ticket.created');
        assert.ok(await page.isHidden('#history-more-row'), 'nothing more to show');
        assert.equal((await call('PATCH', '/api/v1/tickets/4242/', { resolved: false })).status, 200);
    });

    test('the event log: filters by kind, group, actor, ticket and days; pages; rows link to their tickets', async () => {
        await upload(tickets[4343].token, 'other.tar.gz', 3000);
        await page.goto(`${srv.url}/events/`);
        await page.waitForSelector('#events [data-event]');
        assert.ok(await page.isVisible('#nav-events'), 'Events in the navigation for administrators');
        const kindsShown = () => page.$$eval('#events [data-event]', (els) => els.map((e) => e.dataset.kind));

        await page.selectOption('#kind', 'upload.finished');
        await page.click('#filters button[type=submit]');
        await page.waitForURL(/\?kind=upload\.finished$/);
        await waitFor(async () => (await kindsShown()).join() === 'upload.finished,upload.finished', { timeout: 5000, what: 'two finished uploads' });

        await page.selectOption('#kind', 'upload.*');
        await page.fill('#ticket', '4343');
        await page.click('#filters button[type=submit]');
        await waitFor(async () => (await kindsShown()).join() === 'upload.finished,upload.started', { timeout: 5000, what: 'the uploads of 4343' });
        assert.match(await page.textContent('#events [data-kind="upload.started"]'), /Upload started: other\.tar\.gz \(2\.9 KiB\) — upload token of ticket 4343/);
        assert.match(await page.textContent('#events [data-kind="upload.started"]'), /curl\/8\.0/, 'the user agent');

        /* a row links to its ticket's page */
        await page.click('#events [data-kind="upload.started"] a:text("Ticket 4343")');
        await page.waitForURL(/\/tickets\/show\/vm6\/4343\/$/);
        await page.goBack();
        await page.waitForSelector('#events [data-kind="upload.started"]');
        assert.equal(await page.inputValue('#ticket'), '4343', 'the filters come back with the URL');

        /* actor and group */
        await page.selectOption('#kind', 'ticket.*');
        await page.fill('#ticket', '');
        await page.fill('#actor', 'admin');
        await page.click('#filters button[type=submit]');
        await waitFor(async () => (await kindsShown()).length > 0 && (await kindsShown()).every((k) => k.startsWith('ticket.')), { timeout: 5000, what: 'ticket events' });
        assert.ok((await page.$$eval('#events [data-event]', (els) => els.map((e) => e.textContent))).every((t) => t.includes('— admin from')));

        /* days (the server's, as the events' own times give them) */
        const day = (await call('GET', '/api/v1/events/?limit=1')).json.results[0].time.slice(0, 10);
        await page.goto(`${srv.url}/events/?from=${day}&to=${day}&kind=platform.created`);
        await page.waitForSelector('#events [data-kind="platform.created"]');
        assert.equal(await page.inputValue('#from'), day);
        const next = new Date(Date.parse(`${day}T12:00:00Z`) + 86400000).toISOString().slice(0, 10);
        await page.fill('#from', next);
        await page.fill('#to', '');
        await page.click('#filters button[type=submit]');
        await page.waitForSelector('#events li:text("No events match.")');

        /* pages of 50: ticket 4242 has more */
        await page.goto(`${srv.url}/events/?ticket=4242`);
        await page.waitForSelector('#events [data-event]');
        const count = (await call('GET', '/api/v1/events/?ticket=4242&limit=1')).json.count;
        assert.ok(count > 50, `${count} events of ticket 4242`);
        assert.equal(await page.locator('#events [data-event]').count(), 50);
        assert.equal(await page.textContent('#page-info'), `1–50 of ${count}`);
        await page.click('#next');
        await page.waitForURL(/page=2/);
        await waitFor(async () => (await page.textContent('#page-info')) === `51–${count} of ${count}`, { timeout: 5000, what: 'page 2' });
        assert.equal(await page.locator('#events [data-event]').count(), count - 50);
        assert.ok(await page.isDisabled('#next'));
        assert.equal(await page.getAttribute('#events [data-event] a', 'href'), '/tickets/show/vm6/4242/');

        /* a bad ticket filter is a field error */
        await page.fill('#ticket', 'abc');
        await page.click('#filters button[type=submit]');
        await page.waitForSelector('#ticket.is-invalid');
    });

    test('staff who are not administrators: "administrators only" on the log and webhooks pages; the API stays staff-readable', async () => {
        const c = await browser.newContext({ viewport: DESKTOP });
        const p = await c.newPage();
        p.setDefaultTimeout(20000);
        const errs = watchConsole(p);
        try {
            await loginUi(p, sam.username, sam.password);
            assert.equal(await p.isVisible('#nav-events'), false, 'no Events link for staff');
            assert.equal(await p.isVisible('#nav-webhooks'), false, 'no Webhooks link for staff');
            for (const url of ['/events/', '/webhooks/']) {
                await p.goto(srv.url + url);
                await p.waitForSelector('.error-code:text("403")');
                assert.equal(await p.textContent('h1'), 'Administrators only');
                assert.match(await p.textContent('#main'), /for administrators only/);
            }
            await forEachView(p, async (v) => {
                await p.goto(`${srv.url}/events/`);
                await p.waitForSelector('.error-code');
                await checkView(p, shot, 'admins-only', v);
            });
            /* a ticket's history is for every staff member: the API reads events for them */
            await p.goto(`${srv.url}/tickets/show/vm6/4343/`);
            await p.waitForSelector('#history [data-kind="upload.finished"]');
            const staffTok = (await login(srv, sam.username, sam.password)).access;
            assert.equal((await call('GET', '/api/v1/events/?ticket=4343', undefined, staffTok)).status, 200);
            assert.equal((await call('GET', '/api/v1/webhooks/', undefined, staffTok)).status, 403);
            assert.deepEqual(errs.filter((e) => !/^Failed to load resource: the server responded with a status of/.test(e)), []);
        } finally {
            await c.close();
        }
    });

    let hookId;
    test('webhooks: a bad URL is a field error; create against a real receiver, the secret once; a test event arrives signed and shows in the log', async () => {
        await page.goto(`${srv.url}/webhooks/`);
        await page.waitForSelector('#hooks p:text("No webhooks yet")');
        await page.fill('#url', 'ftp://example.com/hook');
        await page.click('#create button[type=submit]');
        await page.waitForSelector('#url.is-invalid');
        assert.ok((await page.textContent('#url ~ .invalid-feedback')).length > 0, 'the API\'s message next to the field');

        await page.fill('#url', rec.url);
        await page.check('#new-upload-finished');
        await page.click('#create button[type=submit]');
        await page.waitForSelector('#secret-box:not(.d-none)');
        const secret = (await page.textContent('#secret')).trim();
        assert.match(secret, /^[0-9a-f]{64}$/);
        assert.equal(await page.textContent('#secret-url'), rec.url);
        rec.secret = secret;
        await page.waitForSelector('[data-hook] .hook-events');
        hookId = Number(await page.getAttribute('[data-hook]', 'data-hook'));
        assert.equal(await page.textContent(`[data-hook="${hookId}"] .hook-events`), 'Upload finished');
        assert.ok(await page.isHidden('#url.is-invalid'), 'the field error is gone');
        await checkA11y(page, 'webhooks with the secret shown');
        await shot(page, 'webhooks-secret-light');
        const listed = (await call('GET', `/api/v1/webhooks/${hookId}/`)).json;
        assert.deepEqual([listed.url, listed.events, listed.active, 'secret' in listed], [rec.url, ['upload.finished'], true, false]);

        /* once: after a reload the secret is nowhere on the page */
        await page.reload();
        await page.waitForSelector(`[data-hook="${hookId}"]`);
        assert.ok(await page.isHidden('#secret-box'));
        assert.ok(!(await page.content()).includes(secret), 'the secret is not shown again');

        await page.click(`[data-hook="${hookId}"] .hook-test`);
        await page.waitForSelector(`[data-hook="${hookId}"] .delivery-status[data-status="200"]`, { timeout: 20000 });
        assert.match(await page.textContent(`[data-hook="${hookId}"] [data-delivery]`), /delivered\s*Test event/);
        assert.equal(await page.getAttribute(`[data-hook="${hookId}"] .hook-log`, 'aria-expanded'), 'true');
        const got = rec.requests.filter((q) => q.json?.event?.kind === 'webhook.test');
        assert.equal(got.length, 1, 'the receiver got the test event');
        assert.equal(got[0].signed, true, 'X-LC-Signature verifies with the secret shown');
        assert.equal(got[0].json.webhook, hookId);
        assert.equal(got[0].headers['x-lc-event'], 'webhook.test');
        assert.ok(Math.abs(Number(got[0].headers['x-lc-timestamp']) - Date.now() / 1000) < 60, 'a fresh timestamp');
        assert.equal(got[0].headers['x-lc-delivery'], await page.getAttribute(`[data-hook="${hookId}"] [data-delivery]`, 'data-delivery'));
    });

    test('webhooks: edit the kinds and pause it, delete another with confirmation', async () => {
        await page.goto(`${srv.url}/webhooks/`);
        await page.click(`[data-hook="${hookId}"] .hook-edit`);
        await page.check(`#edit-${hookId}-ticket-created`);
        await page.uncheck(`#edit-${hookId}-active`);
        await page.click(`[data-hook="${hookId}"] form button[type=submit]`);
        await page.waitForSelector(`[data-hook="${hookId}"] .badge:text("paused")`);
        const w = (await call('GET', `/api/v1/webhooks/${hookId}/`)).json;
        assert.deepEqual([w.events.sort(), w.active], [['ticket.created', 'upload.finished'], false]);
        assert.equal(await page.textContent(`[data-hook="${hookId}"] .hook-events`), 'Upload finished, Ticket created');

        const other = (await call('POST', '/api/v1/webhooks/', { url: 'http://127.0.0.1:9/other' })).json;
        await page.reload();
        await page.waitForSelector(`[data-hook="${other.id}"] .hook-events:text("all events")`);
        await page.click(`[data-hook="${other.id}"] .hook-delete`);
        await page.waitForSelector('dialog.confirm[open]');
        await page.click('dialog.confirm .btn-danger');
        await page.waitForSelector(`[data-hook="${other.id}"]`, { state: 'detached' });
        assert.equal((await call('GET', `/api/v1/webhooks/${other.id}/`)).status, 404);
        assert.ok(await page.isVisible(`[data-hook="${hookId}"]`));
    });

    test('platforms: retention and mail settings save, with help text; mistakes are shown at their fields', async () => {
        await page.goto(`${srv.url}/platforms/`);
        await page.waitForSelector('[data-platform="vm6"] .retention:text("off")');
        assert.match(await page.textContent('#platform-form'), /Off by default/);
        await page.click('[data-platform="vm6"] button[aria-label="Edit vm6"]');
        assert.equal(await page.textContent('#form-title'), 'Edit platform vm6');
        assert.equal(await page.inputValue('#archives_keep_days'), '0');
        await page.fill('#archives_keep_days', '40000');
        await page.fill('#notify_emails', 'not-an-address');
        await page.click('#save');
        await page.waitForSelector('#archives_keep_days.is-invalid');
        await page.waitForSelector('#notify_emails.is-invalid');
        await page.fill('#archives_keep_days', '30');
        await page.fill('#resolve_after_days', '90');
        await page.fill('#notify_emails', 'team@example.com\nops@example.com');
        await page.click('#save');
        await page.waitForSelector('[data-platform="vm6"] .retention:text("30 days")');
        assert.deepEqual(await page.$$eval('[data-platform="vm6"] .notify div', (els) => els.map((e) => e.textContent)), ['team@example.com', 'ops@example.com']);
        assert.equal(await page.textContent('#form-title'), 'New platform', 'the form creates again');
        const p = (await call('GET', '/api/v1/platforms/vm6/')).json;
        assert.deepEqual([p.archives_keep_days, p.resolve_after_days, p.notify_emails], [30, 90, ['team@example.com', 'ops@example.com']]);
        /* a new platform with its settings at once */
        await page.fill('#name', 'vm7');
        await page.fill('#pretty_name', 'VMmanager 7');
        await page.fill('#resolve_after_days', '14');
        await page.click('#save');
        await page.waitForSelector('[data-platform="vm7"] .retention:text("resolved after 14 days untouched")');
        assert.equal((await call('GET', '/api/v1/platforms/vm7/')).json.resolve_after_days, 14);
    });

    test('account: the upload-mail switch saves, stays off after a reload, and the API agrees', async () => {
        await page.goto(`${srv.url}/account/show/`);
        await page.waitForSelector('#tfa-state:not(:empty)');
        assert.equal(await page.isChecked('#upload_mail'), true, 'on by default');
        await page.uncheck('#upload_mail');
        await page.click('#profile button[type=submit]');
        await page.waitForSelector('text=Profile saved.');
        await page.reload();
        await page.waitForSelector('#tfa-state:not(:empty)');
        assert.equal(await page.isChecked('#upload_mail'), false, 'still off after a reload');
        assert.equal((await call('GET', '/api/v1/account/')).json.upload_mail, false);
        const ev = (await call('GET', '/api/v1/events/?kind=user.updated&limit=1')).json.results[0];
        assert.deepEqual(ev.detail, { username: 'admin', changed: ['upload_mail'] });
    });

    test('every new or changed page: no serious or critical axe violation, screenshots in both themes and at phone width', async () => {
        const pagesToShow = [
            ['ticket-history', '/tickets/show/vm6/4242/', '#history [data-event]'],
            ['events', '/events/', '#events [data-event]'],
            ['events-filtered', '/events/?kind=upload.*&ticket=4343', '#events [data-kind="upload.started"]'],
            ['webhooks', '/webhooks/', '[data-hook] .hook-log'],
            ['platforms', '/platforms/', '[data-platform="vm6"]'],
            ['account', '/account/show/', '#tfa-state:not(:empty)'],
        ];
        await forEachView(page, async (v) => {
            for (const [name, url, ready] of pagesToShow) {
                await page.goto(srv.url + url);
                await page.waitForSelector(ready);
                if (name === 'webhooks') {
                    await page.click('[data-hook] .hook-log');
                    await page.waitForSelector('[data-hook] [data-delivery]');
                }
                if (name === 'platforms') await page.click('[data-platform="vm6"] button[aria-label="Edit vm6"]');
                await page.waitForLoadState('networkidle');
                await checkView(page, shot, name, v);
            }
        });
    });

    test('no console errors (CSP violations included) on the way', () => {
        /* the refusals the tests asked for (400s) are the browser's "Failed to load resource" lines */
        assert.deepEqual(errors.filter((e) => !/^Failed to load resource: the server responded with a status of/.test(e)), []);
    });
});
