// events.test.mjs - the audit log: every change records its event (in the same
// transaction), who did it and from where, the filters and pages of /api/v1/events/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, stopAndCheck, api, login, expectJson, waitFor, RFC3339 } from './lib/server.mjs';
import { setup, mkTicket, putUpload, staff, bytes } from './lib/upload-helpers.mjs';

let srv;
let ctx;

before(async () => {
    srv = await startServer({ env: { TRUSTED_PROXIES: '127.0.0.1' } });
    ctx = await setup(srv);
});
after(() => stopAndCheck(srv));

/* The events matching query (a plain list, newest first). */
async function events(query = '') {
    const r = await staff(ctx, 'GET', `/api/v1/events/${query}`);
    expectJson(r, 200, undefined, `events ${query}`);
    return r.json;
}

test('events need staff', async () => {
    expectJson(await api(srv, 'GET', '/api/v1/events/'), 401);
});

test('a ticket\'s life: created, resolved, reopened, token regenerated, deleted, each once, by its actor', async () => {
    const t = await mkTicket(ctx);
    const n = t.number;
    expectJson(await staff(ctx, 'PATCH', `/api/v1/tickets/${n}/`, { resolved: true }), 200);
    expectJson(await staff(ctx, 'PATCH', `/api/v1/tickets/${n}/`, { resolved: false }), 200);
    expectJson(await staff(ctx, 'PATCH', `/api/v1/tickets/${n}/`, { note: 'x' }), 200);
    expectJson(await staff(ctx, 'POST', `/api/v1/tickets/${n}/token/`, { attempts: 3 }), 200);
    assert.equal((await staff(ctx, 'DELETE', `/api/v1/tickets/${n}/`)).status, 204);
    const list = await events(`?ticket=${n}`);
    assert.deepEqual(list.map((e) => e.kind), ['ticket.deleted', 'ticket.token_regenerated', 'ticket.updated',
        'ticket.reopened', 'ticket.resolved', 'ticket.created']);
    for (const e of list) {
        assert.equal(e.actor, 'admin');
        assert.equal(e.actor_type, 'user');
        assert.equal(e.ticket, n);
        assert.equal(e.client_ip, '127.0.0.1');
        assert.match(e.time, RFC3339);
        assert.equal(typeof e.detail, 'object');
    }
    assert.deepEqual(list[1].detail, { attempts: 3 });
    // each change says which fields changed
    assert.deepEqual(list.slice(2, 5).map((e) => e.detail), [{ changed: ['note'] }, { changed: ['resolved'] }, { changed: ['resolved'] }]);
    expectJson(await staff(ctx, 'POST', '/api/v1/tickets/', { number: n + 1, platform: t.platform }), 201);
    expectJson(await staff(ctx, 'PATCH', `/api/v1/tickets/${n + 1}/`, { number: n + 2, attempts: 9 }), 200);
    const [renumbered] = await events(`?ticket=${n + 2}&kind=ticket.updated`);
    assert.deepEqual(renumbered.detail, { changed: ['number', 'attempts'], renumbered_from: n + 1 });
    assert.equal((await staff(ctx, 'DELETE', `/api/v1/tickets/${n + 2}/`)).status, 204);
    // a refused change records nothing
    expectJson(await staff(ctx, 'PATCH', `/api/v1/tickets/${n}/`, { resolved: true }), 404);
    assert.equal((await events(`?ticket=${n}`)).length, 6);
});

test('uploads: started and finished by "upload token of ticket N", the client address through a trusted proxy', async () => {
    const t = await mkTicket(ctx, { attempts: 2 });
    const data = bytes(5000, 3);
    const up = await putUpload(srv, t.token, 'app.log', data, { 'X-Forwarded-For': '203.0.113.9', 'User-Agent': 'curl/8.0' });
    assert.equal(up.status, 201, up.text);
    const list = await events(`?ticket=${t.number}&kind__startswith=upload.`);
    assert.deepEqual(list.map((e) => e.kind), ['upload.finished', 'upload.started']);
    const [fin, start] = list;
    for (const e of list) {
        assert.equal(e.actor, `upload token of ticket ${t.number}`);
        assert.equal(e.actor_type, 'upload_token');
        assert.equal(e.client_ip, '203.0.113.9');
        assert.equal(e.user_agent, 'curl/8.0');
    }
    assert.equal(fin.archive, up.json.id);
    assert.deepEqual(fin.detail, { name: 'app.log', size: 5000, md5: up.json.md5, sha256: up.json.sha256 });
    assert.equal(start.detail.name, 'app.log');
    // downloads (written by the background writer) and deletes
    const dl = await staff(ctx, 'GET', `/api/v1/archives/${up.json.id}/download/`);
    assert.equal(dl.status, 200);
    await waitFor(async () => (await events(`?archive=${up.json.id}&kind=archive.downloaded`)).length === 1,
        { timeout: 10000, what: 'the download event' });
    assert.equal((await staff(ctx, 'DELETE', `/api/v1/archives/${up.json.id}/`)).status, 204);
    const del = await events(`?archive=${up.json.id}&kind=archive.deleted`);
    assert.equal(del.length, 1);
    assert.deepEqual(del[0].detail, { name: 'app.log', size: 5000 });
    assert.equal(del[0].actor, 'admin');
});

test('an upload cut short is recorded as failed, with why', async () => {
    const t = await mkTicket(ctx, { attempts: 2 });
    // declares more than it sends, then the socket closes
    const net = await import('node:net');
    await new Promise((resolve) => {
        const s = net.connect(srv.port, '127.0.0.1', () => {
            s.write(`PUT /upload/${t.token}/cut.bin HTTP/1.1\r\nHost: 127.0.0.1:${srv.port}\r\nContent-Length: 100000\r\n\r\n`);
            s.write(Buffer.alloc(40000, 1), () => setTimeout(() => { s.destroy(); resolve(); }, 300));
        });
        s.on('error', resolve);
    });
    const ev = await waitFor(async () => (await events(`?ticket=${t.number}&kind=upload.failed`))[0],
        { timeout: 10000, what: 'the upload.failed event' });
    assert.equal(ev.detail.name, 'cut.bin');
    assert.match(ev.detail.reason, /went away|ended/);
    assert.ok(ev.detail.bytes > 0 && ev.detail.bytes <= 100000);
});

test('logins and failed logins; platforms', async () => {
    const bad = await api(srv, 'POST', '/api/v1/auth/token/', { json: { username: 'admin', password: 'wrong-password' } });
    assert.equal(bad.status, 401);
    await login(srv);
    const failed = await events('?kind=auth.login_failed');
    assert.ok(failed.length >= 1);
    assert.equal(failed[0].actor, null);
    assert.equal(failed[0].actor_type, 'anonymous');
    assert.deepEqual(failed[0].detail, { username: 'admin', reason: 'bad_credentials' });
    const ok = await events('?kind=auth.login&actor=admin');
    assert.ok(ok.length >= 2);
    expectJson(await staff(ctx, 'POST', '/api/v1/platforms/', { name: 'evp', pretty_name: 'E' }), 201);
    expectJson(await staff(ctx, 'PATCH', '/api/v1/platforms/evp/', { name: 'evq' }), 200);
    assert.equal((await staff(ctx, 'DELETE', '/api/v1/platforms/evq/')).status, 204);
    const p = await events('?kind__startswith=platform.&limit=3');
    assert.deepEqual(p.results.map((e) => e.kind), ['platform.deleted', 'platform.updated', 'platform.created']);
    assert.deepEqual(p.results[1].detail, { name: 'evq', previous_name: 'evp', changed: ['name'] });
});

test('filters and pages: time range, actor, kind, limit/offset; bad values are field errors', async () => {
    const before = new Date(Date.now() - 1000).toISOString();
    const t = await mkTicket(ctx);
    const after = new Date(Date.now() + 60000).toISOString();
    const within = await events(`?time__gte=${encodeURIComponent(before)}&time__lte=${encodeURIComponent(after)}&ticket=${t.number}`);
    assert.deepEqual(within.map((e) => e.kind), ['ticket.created']);
    assert.deepEqual(await events(`?time__gte=${encodeURIComponent(after)}&ticket=${t.number}`), []);
    assert.deepEqual(await events(`?actor=nobody&ticket=${t.number}`), []);
    const page = await events('?limit=2&offset=1');
    assert.equal(page.results.length, 2);
    assert.ok(page.count >= 10);
    assert.match(page.next, /limit=2&offset=3/);
    const all = await events('?limit=1000');
    assert.equal(all.results[1].id, page.results[0].id, 'newest first, offset counts');
    const r = await staff(ctx, 'GET', '/api/v1/events/?ticket=x&time__gte=yesterday&limit=0');
    expectJson(r, 400);
    assert.deepEqual(Object.keys(r.json).sort(), ['limit', 'ticket', 'time__gte']);
});
