// webhooks.test.mjs - webhooks and upload mail against real receivers the test starts:
// signatures, 500s and time-outs retried, every attempt listed, a test event, a server
// killed with deliveries pending delivering each exactly once after its restart, and
// "an upload of 10 files produces one e-mail and 10 signed webhook deliveries".
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, stopAndCheck, api, expectJson, expectFields, waitFor, randomPassword, makeDataDir } from './lib/server.mjs';
import { setup, mkTicket, putUpload, staff, bytes, sha256 } from './lib/upload-helpers.mjs';
import { webhookReceiver, smtpReceiver } from './lib/receivers.mjs';

/* Registers a webhook to rec; sets rec.secret from the answer. */
async function hook(ctx, rec, events) {
    const r = await staff(ctx, 'POST', '/api/v1/webhooks/', { url: rec.url, ...(events ? { events } : {}) });
    expectJson(r, 201);
    assert.match(r.json.secret, /^[0-9a-f]{64}$/);
    rec.secret = r.json.secret;
    return r.json;
}

describe('rules: administrators only, no private targets by default', () => {
    let srv;
    let ctx;
    before(async () => {
        srv = await startServer();
        ctx = await setup(srv);
    });
    after(() => stopAndCheck(srv));

    test('loopback, private and link-local targets are refused, as are other schemes and user info', async () => {
        for (const url of ['http://127.0.0.1:9/x', 'http://localhost/x', 'http://10.0.0.1/', 'http://[::1]/',
            'http://169.254.169.254/latest/meta-data', 'http://100.64.0.1/', 'http://[fd00::1]/', 'http://0.0.0.0/']) {
            const r = await staff(ctx, 'POST', '/api/v1/webhooks/', { url });
            expectFields(r, ['url'], url);
        }
        for (const url of ['ftp://example.com/', 'http://u:p@example.com/', 'not a url', 'https:///x'])
            expectFields(await staff(ctx, 'POST', '/api/v1/webhooks/', { url }), ['url'], url);
        expectFields(await staff(ctx, 'POST', '/api/v1/webhooks/', {}), ['url']);
        const r = await staff(ctx, 'POST', '/api/v1/webhooks/', { url: 'http://127.0.0.1/', events: ['nope', 'upload.finished'] });
        expectFields(r, ['url', 'events']);
        expectJson(await staff(ctx, 'GET', '/api/v1/webhooks/'), 200, []);
    });

    test('staff who are not administrators get 403; anonymous 401', async () => {
        expectJson(await api(srv, 'GET', '/api/v1/webhooks/'), 401);
        // a plain staff user (CLI)
        const { runCli, login } = await import('./lib/server.mjs');
        const made = await runCli(['user', 'create', 'plain', '--password-stdin'], { env: { DATA_DIR: srv.dataDir }, input: 'plain-password-1\n' });
        assert.equal(made.code, 0, made.stderr);
        const tok = (await login(srv, 'plain', 'plain-password-1')).access;
        expectJson(await api(srv, 'GET', '/api/v1/webhooks/', { token: tok }), 403);
        expectJson(await api(srv, 'POST', '/api/v1/webhooks/', { token: tok, json: { url: 'https://example.com/' } }), 403);
    });
});

describe('deliveries to a real receiver', () => {
    let srv;
    let ctx;
    let rec;
    let smtp;
    const env = () => ({
        WEBHOOK_ALLOW_PRIVATE: 'true',
        WEBHOOK_TIMEOUT: '1',
        WEBHOOK_RETRY_DELAY: '1',
        SMTP_URL: smtp.url,
        SMTP_FROM: 'logs@example.com',
        SMTP_USER: smtp.user,
        SMTP_PASSWORD: smtp.pass,
        SMTP_STARTTLS: 'false',
        MAIL_QUIET: '2',
        PUBLIC_URL: 'https://logs.example.com',
    });
    before(async () => {
        rec = await webhookReceiver();
        smtp = await smtpReceiver();
        srv = await startServer({ env: env() });
        ctx = await setup(srv);
        expectJson(await staff(ctx, 'PATCH', '/api/v1/account/', { email: 'admin@example.com' }), 200);
        expectJson(await staff(ctx, 'PATCH', `/api/v1/platforms/${ctx.platform}/`, { notify_emails: ['team@example.com'] }), 200);
    });
    after(async () => {
        await stopAndCheck(srv);
        await rec?.close();
        await smtp?.close();
    });

    test('an upload of 10 files produces one e-mail and 10 signed webhook deliveries', async () => {
        const wh = await hook(ctx, rec, ['upload.finished']);
        const t = await mkTicket(ctx, { attempts: 10 });
        const files = Array.from({ length: 10 }, (_, i) => ({ name: `part-${i}.log`, data: bytes(1000 + i * 100, 40 + i) }));
        for (const f of files) {
            const r = await putUpload(srv, t.token, f.name, f.data);
            assert.equal(r.status, 201, r.text);
        }
        await waitFor(() => rec.requests.length >= 10, { timeout: 20000, what: '10 webhook deliveries' });
        await waitFor(() => smtp.mails.length >= 1, { timeout: 20000, what: 'the upload mail' });
        // a moment more: nothing else arrives
        await new Promise((r) => setTimeout(r, 3000));
        assert.equal(rec.requests.length, 10, 'one delivery per upload, upload.finished only');
        for (const q of rec.requests) {
            assert.equal(q.signed, true, 'the signature verifies');
            assert.equal(q.headers['x-lc-event'], 'upload.finished');
            assert.equal(q.headers['content-type'], 'application/json');
            assert.ok(Math.abs(Number(q.headers['x-lc-timestamp']) - Date.now() / 1000) < 60);
            assert.equal(q.json.webhook, wh.id);
            assert.equal(String(q.json.delivery), q.headers['x-lc-delivery']);
            assert.equal(q.json.event.ticket, t.number);
            assert.equal(q.json.event.actor, `upload token of ticket ${t.number}`);
        }
        assert.deepEqual(rec.requests.map((q) => q.json.event.detail.name).sort(), files.map((f) => f.name).sort());
        assert.equal(smtp.mails.length, 1, 'ten uploads, one mail');
        const m = smtp.mails[0];
        assert.deepEqual(m.to, ['admin@example.com', 'team@example.com']);
        assert.equal(m.from, 'logs@example.com');
        assert.equal(m.parsed.subject, `Ticket ${t.number}: 10 files uploaded`);
        const text = m.parsed.text;
        for (const f of files) {
            assert.ok(text.includes(f.name), `${f.name} named`);
            assert.ok(text.includes(sha256(f.data)), `${f.name}'s SHA-256`);
            assert.ok(text.includes(`${f.data.length} bytes`), `${f.name}'s size`);
        }
        assert.ok(text.includes(`https://logs.example.com/tickets/show/${t.platform}/${t.number}/`), 'the console link');
        // the webhook's log lists every attempt
        const log = await staff(ctx, 'GET', `/api/v1/webhooks/${wh.id}/deliveries/`);
        expectJson(log, 200);
        assert.equal(log.json.length, 10);
        for (const l of log.json) {
            assert.equal(l.state, 'delivered');
            assert.equal(l.status, 200);
            assert.equal(l.error, '');
        }
        assert.equal((await staff(ctx, 'DELETE', `/api/v1/webhooks/${wh.id}/`)).status, 204);
        expectJson(await staff(ctx, 'GET', `/api/v1/webhooks/${wh.id}/`), 404);
    });

    test('a user who switched the mail off does not get it; the platform\'s addresses still do', async () => {
        const off = await staff(ctx, 'PATCH', '/api/v1/account/', { upload_mail: false });
        expectJson(off, 200);
        assert.deepEqual([off.json.username, off.json.email, off.json.upload_mail], ['admin', 'admin@example.com', false]);
        const t = await mkTicket(ctx, { attempts: 1 });
        const before = smtp.mails.length;
        assert.equal((await putUpload(srv, t.token, 'one.log', bytes(10, 1))).status, 201);
        await waitFor(() => smtp.mails.length > before, { timeout: 20000, what: 'the mail' });
        const m = smtp.mails.at(-1);
        assert.deepEqual(m.to, ['team@example.com']);
        assert.equal(m.parsed.subject, `Ticket ${t.number}: 1 file uploaded`);
        expectJson(await staff(ctx, 'PATCH', '/api/v1/account/', { upload_mail: true }), 200);
        expectFields(await staff(ctx, 'PATCH', '/api/v1/account/', { email: 'not an address' }), ['email']);
    });

    test('500s and time-outs are retried; every attempt is recorded; a test event goes to one webhook', async () => {
        rec.requests.length = 0;
        rec.answered.length = 0;
        // 1st: 500, 2nd: too late (WEBHOOK_TIMEOUT=1), then 200
        rec.behave = (n) => (n === 1 ? 500 : n === 2 ? { delay: 2500, status: 200 } : 200);
        const wh = await hook(ctx, rec, ['ticket.created']);
        const t = await mkTicket(ctx);
        await waitFor(() => rec.answered.filter((a) => a.status === 200 && a.event !== undefined && rec.requests.length >= 3).length >= 1,
            { timeout: 30000, what: 'the third attempt' });
        const log = await waitFor(async () => {
            const r = await staff(ctx, 'GET', `/api/v1/webhooks/${wh.id}/deliveries/`);
            return r.json.length === 3 && r.json[0].state === 'delivered' ? r.json : null;
        }, { timeout: 10000, what: 'three attempts listed' });
        assert.deepEqual(log.map((l) => l.status), [200, null, 500]);
        assert.match(log[1].error, /timed out|Timeout/i);
        assert.equal(log[2].error, 'HTTP 500');
        assert.ok(log.every((l) => l.delivery === log[0].delivery && l.kind === 'ticket.created'));
        const ev = rec.requests[0].json.event;
        assert.equal(ev.ticket, t.number);
        // the late answer to the timed-out attempt does not make a second delivery count
        assert.equal(rec.requests.filter((q) => q.json.event.id === ev.id).length, 3);
        // the test event
        rec.behave = () => 200;
        const other = await webhookReceiver();
        try {
            const wh2 = await hook(ctx, other, ['upload.finished']);
            rec.secret = rec.secret; // unchanged: each receiver checks with its own
            expectJson(await staff(ctx, 'POST', `/api/v1/webhooks/${wh2.id}/test/`), 202);
            await waitFor(() => other.requests.length === 1, { timeout: 10000, what: 'the test event' });
            assert.equal(other.requests[0].json.event.kind, 'webhook.test');
            assert.equal(other.requests[0].signed, true);
            await new Promise((r) => setTimeout(r, 1500));
            assert.ok(!rec.requests.some((q) => q.json.event.kind === 'webhook.test'), 'only to its webhook');
            expectJson(await staff(ctx, 'POST', '/api/v1/webhooks/999999/test/'), 404);
        } finally {
            await other.close();
        }
        expectJson(await staff(ctx, 'PATCH', `/api/v1/webhooks/${wh.id}/`, { active: false }), 200);
    });
});

test('killed with deliveries pending, restarted: each event delivered exactly once', async () => {
    const rec = await webhookReceiver(() => 500);
    const dataDir = makeDataDir();
    const password = randomPassword();
    const env = { WEBHOOK_ALLOW_PRIVATE: 'true', WEBHOOK_TIMEOUT: '2', WEBHOOK_RETRY_DELAY: '1', ADMIN_PASSWORD: password };
    let srv = await startServer({ dataDir, env });
    let srv2;
    try {
        const ctx = await setup(srv);
        await hook(ctx, rec, ['ticket.created']);
        const tickets = [];
        for (let i = 0; i < 5; i++) tickets.push(await mkTicket(ctx));
        await waitFor(() => new Set(rec.requests.map((q) => q.json.event.id)).size === 5,
            { timeout: 20000, what: 'a failed attempt at each event' });
        srv.proc.kill('SIGKILL');
        await srv.stop({ keepDataDir: true });
        rec.behave = () => 200;
        const failedSoFar = rec.requests.length;
        srv2 = await startServer({ dataDir, env });
        const ids = [...new Set(rec.requests.map((q) => q.json.event.id))];
        await waitFor(() => ids.every((id) => rec.delivered(id) >= 1), { timeout: 60000, what: 'every event delivered after the restart' });
        await new Promise((r) => setTimeout(r, 3000)); // nothing more comes
        for (const id of ids) assert.equal(rec.delivered(id), 1, `event ${id} delivered once`);
        assert.ok(rec.requests.length > failedSoFar);
        for (const q of rec.requests) assert.equal(q.signed, true);
        assert.deepEqual(rec.requests.map((q) => q.json.event.ticket).filter((n, i, a) => a.indexOf(n) === i).sort(),
            tickets.map((t) => t.number).sort());
    } finally {
        if (srv2) await stopAndCheck(srv2);
        await rec.close();
        const fs = await import('node:fs');
        fs.rmSync(dataDir, { recursive: true, force: true });
    }
});
