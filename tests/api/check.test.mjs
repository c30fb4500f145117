// check.test.mjs - health, storage, upload-token look-up and its miss rate limit.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { startServer, stopAndCheck, api, login, expectJson, makeClock, RFC3339 } from './lib/server.mjs';

let srv;
let token;

before(async () => {
    srv = await startServer();
    token = (await login(srv)).access;
    expectJson(await api(srv, 'POST', '/api/v1/platforms/', { token, json: { name: 'vm6', pretty_name: 'VM 6' } }), 201);
});
after(() => stopAndCheck(srv));

const NOT_FOUND = { detail: 'Not found.' };
const HINT = { detail: 'Put the upload token in the URL: /api/v1/check/token/<token>/' };

test('health is public and ok', async () => {
    for (const p of ['/api/v1/check/health/', '/api/v1/check/health']) {
        const r = await api(srv, 'GET', p);
        expectJson(r, 200, { status: 'ok', database: 'ok', storage: 'ok' }, p);
    }
    // A token does not hurt.
    expectJson(await api(srv, 'GET', '/api/v1/check/health/', { token }), 200, { status: 'ok', database: 'ok', storage: 'ok' });
});

test('health reports a file system below STORAGE_MIN_FREE as degraded, and a second later still', async () => {
    // The storage state is measured at most once a second (docs/performance.md); the
    // answer is the same whether it was measured for this request or reused.
    const s = await startServer({ env: { STORAGE_MIN_FREE: String(2 ** 62) } });
    try {
        const want = { status: 'degraded', database: 'ok', storage: 'low' };
        for (let i = 0; i < 3; i++) expectJson(await api(s, 'GET', '/api/v1/check/health/'), 200, want, `probe ${i}`);
        await new Promise((res) => setTimeout(res, 1100));
        const r = await api(s, 'GET', '/api/v1/check/health/');
        expectJson(r, 200, want, 'after a second');
        assert.equal(r.text, JSON.stringify(want));
        assert.equal(r.headers.get('content-type'), 'application/json');
    } finally {
        await stopAndCheck(s);
    }
});

test('storage needs staff and reports the DATA_DIR file system', async () => {
    expectJson(await api(srv, 'GET', '/api/v1/check/storage/'), 401,
        { detail: 'Authentication credentials were not provided.' });
    const r = await api(srv, 'GET', '/api/v1/check/storage/', { token });
    expectJson(r, 200);
    assert.deepEqual(Object.keys(r.json).sort(), ['free', 'status', 'total', 'used', 'used_percent']);
    assert.equal(r.json.status, 'mount');
    for (const k of ['total', 'used', 'free', 'used_percent']) assert.equal(typeof r.json[k], 'number', k);
    for (const k of ['total', 'used', 'free']) assert.ok(Number.isInteger(r.json[k]) && r.json[k] >= 0, k);
    assert.ok(r.json.total > 0);
    assert.ok(r.json.total >= r.json.free, 'total >= free');
    assert.ok(r.json.total >= r.json.used, 'total >= used');
    assert.ok(r.json.used + r.json.free <= r.json.total, 'used + free <= total');
    assert.ok(r.json.used_percent >= 0 && r.json.used_percent <= 100);
});

test('check/token without a token: 303 with a hint', async () => {
    for (const p of ['/api/v1/check/token/', '/api/v1/check/token']) {
        const r = await api(srv, 'GET', p);
        expectJson(r, 303, HINT, p);
    }
});

test('check/token/{token} answers for a known token, 404 for unknown or malformed', async () => {
    const c = await api(srv, 'POST', '/api/v1/tickets/', { token, json: { number: 42, platform: 'vm6', attempts: 4 } });
    expectJson(c, 201);
    const t = c.json;
    for (const p of [`/api/v1/check/token/${t.token}/`, `/api/v1/check/token/${t.token}`]) {
        const r = await api(srv, 'GET', p);
        expectJson(r, 200, undefined, p);
        assert.deepEqual(Object.keys(r.json).sort(), ['attempts', 'expires_at', 'resolved', 'state', 'ticket', 'token']);
        assert.equal(r.json.token, t.token);
        assert.equal(r.json.attempts, 4);
        assert.equal(r.json.resolved, false);
        assert.equal(r.json.ticket, 42);
        assert.equal(r.json.state, 'open');
        assert.match(r.json.expires_at, RFC3339);
        assert.equal(r.json.expires_at, t.expires_at);
    }
    // Unknown (well-formed) and malformed tokens.
    expectJson(await api(srv, 'GET', `/api/v1/check/token/${crypto.randomUUID()}/`), 404, NOT_FOUND, 'unknown');
    for (const bad of ['abc', '0000', 'zzzzzzzz-zzzz-4zzz-8zzz-zzzzzzzzzzzz', t.token + '0', "x'%20OR%201=1"]) {
        expectJson(await api(srv, 'GET', `/api/v1/check/token/${bad}/`), 404, NOT_FOUND, `malformed ${bad}`);
    }
});

test('check/token/{token} says what an upload would meet now: resolved, used up, expired', async () => {
    const mk = async (number, body) => {
        const c = await api(srv, 'POST', '/api/v1/tickets/', { token, json: { number, platform: 'vm6', ...body } });
        expectJson(c, 201);
        return c.json;
    };
    const state = async (t) => (await api(srv, 'GET', `/api/v1/check/token/${t.token}/`)).json;
    /* in the order of the upload rules: resolved before used up before expired */
    const resolved = await mk(43, { resolved: true, attempts: 0 });
    assert.deepEqual([(await state(resolved)).state, (await state(resolved)).ticket], ['resolved', 43]);
    const used = await mk(44, { attempts: 0 });
    assert.equal((await state(used)).state, 'used_up');
    const expired = await mk(45, {});
    const p = await api(srv, 'PATCH', '/api/v1/tickets/45/', { token, json: { expires_at: new Date(Date.now() - 60e3).toISOString() } });
    expectJson(p, 200);
    assert.equal((await state(expired)).state, 'expired');
    /* the states agree with what an upload of the token gets */
    for (const t of [resolved, used, expired]) {
        const up = await fetch(`${srv.url}/upload/${t.token}/x.log`, { method: 'PUT', body: 'x' });
        assert.equal(up.status, 423, `upload with a ${(await state(t)).state} token`);
    }
});

test('token look-up misses are rate limited: 30 misses, then 429 (even for a valid token)', async () => {
    const s = await startServer();
    try {
        const tk = (await login(s)).access;
        await api(s, 'POST', '/api/v1/platforms/', { token: tk, json: { name: 'p', pretty_name: 'P' } });
        const c = await api(s, 'POST', '/api/v1/tickets/', { token: tk, json: { number: 1, platform: 'p' } });
        expectJson(c, 201);
        // Hits do not count.
        for (let i = 0; i < 5; i++) expectJson(await api(s, 'GET', `/api/v1/check/token/${c.json.token}/`), 200);
        for (let i = 0; i < 30; i++) {
            const r = await api(s, 'GET', `/api/v1/check/token/${crypto.randomUUID()}/`);
            expectJson(r, 404, NOT_FOUND, `miss ${i + 1}`);
        }
        const r = await api(s, 'GET', `/api/v1/check/token/${crypto.randomUUID()}/`);
        expectJson(r, 429, undefined, 'miss 31');
        assert.equal(typeof r.json.detail, 'string');
        // A blocked client learns nothing, not even from a right guess.
        const hit = await api(s, 'GET', `/api/v1/check/token/${c.json.token}/`);
        expectJson(hit, 429, undefined, 'valid token while blocked');
        // Health and staff routes are not affected.
        expectJson(await api(s, 'GET', '/api/v1/check/health/'), 200, { status: 'ok', database: 'ok', storage: 'ok' });
        expectJson(await api(s, 'GET', '/api/v1/tickets/1/', { token: tk }), 200);
    } finally {
        await stopAndCheck(s);
    }
});

test('token look-up misses: the window ends after Retry-After seconds, not before', async () => {
    // The server's wall clock is moved instead of waiting a minute (makeClock).
    const clock = makeClock();
    const s = await startServer({ clock });
    try {
        const miss = () => api(s, 'GET', `/api/v1/check/token/${crypto.randomUUID()}/`);
        for (let i = 0; i < 30; i++) expectJson(await miss(), 404, NOT_FOUND, `miss ${i + 1}`);
        const r = await miss();
        expectJson(r, 429, undefined, 'miss 31');
        const ra = Number(r.headers.get('retry-after'));
        assert.ok(ra > 5 && ra <= 60, `Retry-After ${ra} within the one-minute window`);
        clock.set(ra - 5);
        expectJson(await miss(), 429, undefined, `${ra - 5} s later: still in the window`);
        clock.set(ra + 1);
        expectJson(await miss(), 404, NOT_FOUND, 'the window has ended');
        for (let i = 1; i < 30; i++) expectJson(await miss(), 404, NOT_FOUND, `new window, miss ${i + 1}`);
        expectJson(await miss(), 429, undefined, 'blocked again after 30 misses');
    } finally {
        await stopAndCheck(s);
    }
});
