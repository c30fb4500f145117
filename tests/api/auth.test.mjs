// auth.test.mjs - JWT obtain / refresh / verify, bearer authentication, login rate limit.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import {
    startServer, stopAndCheck, api, login, expectJson, jwtDecode, jwtSign, waitForLine, makeClock,
} from './lib/server.mjs';

const SECRET = 'api-test-secret-' + 'k'.repeat(40);
let srv;

before(async () => {
    srv = await startServer({ env: { SECRET_KEY: SECRET } });
});
after(() => stopAndCheck(srv));

const NO_CREDS = { detail: 'Authentication credentials were not provided.' };
const BAD_TOKEN = { detail: 'Given token not valid for any token type', code: 'token_not_valid' };
const BAD_JWT = { detail: 'Token is invalid or expired', code: 'token_not_valid' };
const REQUIRED = ['This field is required.'];

function expect401(r, body, msg) {
    expectJson(r, 401, body, msg);
    assert.equal(r.headers.get('www-authenticate'), 'Bearer realm="api"', `${msg} WWW-Authenticate`);
}

test('token obtain returns access and refresh JWTs with the documented claims', async () => {
    const r = await api(srv, 'POST', '/api/v1/auth/token/', {
        json: { username: 'admin', password: srv.password },
    });
    expectJson(r, 200);
    assert.deepEqual(Object.keys(r.json).sort(), ['access', 'refresh']);
    assert.equal(typeof r.json.access, 'string');
    assert.equal(typeof r.json.refresh, 'string');
    const a = jwtDecode(r.json.access);
    const f = jwtDecode(r.json.refresh);
    assert.equal(a.header.alg, 'HS256');
    assert.equal(f.header.alg, 'HS256');
    assert.equal(a.payload.token_type, 'access');
    assert.equal(f.payload.token_type, 'refresh');
    for (const p of [a.payload, f.payload]) {
        assert.equal(typeof p.jti, 'string');
        assert.ok(p.jti.length > 0);
        assert.equal(typeof p.user_id, 'number');
        assert.ok(Math.abs(p.iat - Date.now() / 1000) < 120, 'iat is now');
    }
    assert.equal(a.payload.exp - a.payload.iat, 3600, 'access lives 60 minutes');
    assert.equal(f.payload.exp - f.payload.iat, 86400, 'refresh lives one day');
    assert.notEqual(a.payload.jti, f.payload.jti);
    // Signed with SECRET_KEY as HS256 key.
    const [ah, ap, as] = r.json.access.split('.');
    const mac = crypto.createHmac('sha256', SECRET).update(`${ah}.${ap}`).digest('base64url');
    assert.equal(as, mac, 'HMAC-SHA256 with SECRET_KEY');
});

test('token obtain: wrong password and unknown user give 401 with the exact detail', async () => {
    const want = { detail: 'No active account found with the given credentials' };
    let r = await api(srv, 'POST', '/api/v1/auth/token/', {
        json: { username: 'admin', password: 'wrong-' + srv.password },
    });
    expectJson(r, 401, want, 'wrong password');
    r = await api(srv, 'POST', '/api/v1/auth/token/', {
        json: { username: 'nobody-here', password: 'x' },
    });
    expectJson(r, 401, want, 'unknown user');
    // A successful login afterwards (and resets the failure counter for later tests).
    await login(srv);
});

test('token obtain: missing fields give 400 field errors', async () => {
    let r = await api(srv, 'POST', '/api/v1/auth/token/', { json: {} });
    expectJson(r, 400, { username: REQUIRED, password: REQUIRED });
    r = await api(srv, 'POST', '/api/v1/auth/token/', { json: { password: 'x' } });
    expectJson(r, 400, { username: REQUIRED });
    r = await api(srv, 'POST', '/api/v1/auth/token/', { json: { username: 'admin' } });
    expectJson(r, 400, { password: REQUIRED });
});

test('refresh gives a new working access token; refuses access tokens and garbage', async () => {
    const t = await login(srv);
    let r = await api(srv, 'POST', '/api/v1/auth/token/refresh/', { json: { refresh: t.refresh } });
    expectJson(r, 200);
    assert.deepEqual(Object.keys(r.json), ['access']);
    assert.equal(jwtDecode(r.json.access).payload.token_type, 'access');
    const use = await api(srv, 'GET', '/api/v1/platforms/', { token: r.json.access });
    assert.equal(use.status, 200);

    r = await api(srv, 'POST', '/api/v1/auth/token/refresh/', { json: { refresh: t.access } });
    expectJson(r, 401, BAD_JWT, 'access token as refresh');
    r = await api(srv, 'POST', '/api/v1/auth/token/refresh/', { json: { refresh: 'garbage' } });
    expectJson(r, 401, BAD_JWT, 'garbage refresh');
    r = await api(srv, 'POST', '/api/v1/auth/token/refresh/', { json: {} });
    expectJson(r, 400, { refresh: REQUIRED }, 'missing refresh');
});

test('verify accepts access and refresh tokens, refuses garbage', async () => {
    const t = await login(srv);
    let r = await api(srv, 'POST', '/api/v1/auth/token/verify/', { json: { token: t.access } });
    expectJson(r, 200, {}, 'access');
    r = await api(srv, 'POST', '/api/v1/auth/token/verify/', { json: { token: t.refresh } });
    expectJson(r, 200, {}, 'refresh');
    r = await api(srv, 'POST', '/api/v1/auth/token/verify/', { json: { token: 'a.b.c' } });
    expectJson(r, 401, BAD_JWT, 'garbage');
    r = await api(srv, 'POST', '/api/v1/auth/token/verify/', { json: {} });
    expectJson(r, 400, { token: REQUIRED }, 'missing token');
});

test('staff route without credentials: 401 with WWW-Authenticate', async () => {
    const r = await api(srv, 'GET', '/api/v1/platforms/');
    expect401(r, NO_CREDS, 'no auth');
    const t = await api(srv, 'GET', '/api/v1/tickets/');
    expect401(t, NO_CREDS, 'no auth tickets');
});

test('bad, tampered, forged, expired and refresh bearer tokens are refused', async () => {
    const t = await login(srv);
    const ok = await api(srv, 'GET', '/api/v1/platforms/', { token: t.access });
    assert.equal(ok.status, 200);

    let r = await api(srv, 'GET', '/api/v1/platforms/', { token: 'not-a-jwt' });
    expect401(r, BAD_TOKEN, 'garbage bearer');

    const { header, payload } = jwtDecode(t.access);
    const [h, , s] = t.access.split('.');
    // Payload changed, signature kept.
    const p2 = Buffer.from(JSON.stringify({ ...payload, exp: payload.exp + 3600 })).toString('base64url');
    r = await api(srv, 'GET', '/api/v1/platforms/', { token: `${h}.${p2}.${s}` });
    expect401(r, BAD_TOKEN, 'tampered payload');
    // Signature changed in its middle (not the last character, whose low bits are padding).
    const mid = Math.floor(s.length / 2);
    const s2 = s.slice(0, mid) + (s[mid] === 'A' ? 'B' : 'A') + s.slice(mid + 1);
    r = await api(srv, 'GET', '/api/v1/platforms/', { token: `${h}.${t.access.split('.')[1]}.${s2}` });
    expect401(r, BAD_TOKEN, 'tampered signature');
    // alg "none".
    const none = jwtSign(payload, SECRET, { alg: 'none', typ: 'JWT' }).split('.').slice(0, 2).join('.') + '.';
    r = await api(srv, 'GET', '/api/v1/platforms/', { token: none });
    expect401(r, BAD_TOKEN, 'alg none');
    // Signed with another key.
    r = await api(srv, 'GET', '/api/v1/platforms/', { token: jwtSign(payload, 'other-key', header) });
    expect401(r, BAD_TOKEN, 'other key');
    // Correct key but expired.
    const now = Math.floor(Date.now() / 1000);
    const expired = jwtSign({ ...payload, iat: now - 7200, exp: now - 3600 }, SECRET, header);
    r = await api(srv, 'GET', '/api/v1/platforms/', { token: expired });
    expect401(r, BAD_TOKEN, 'expired');
    // A refresh token is not an access token.
    r = await api(srv, 'GET', '/api/v1/platforms/', { token: t.refresh });
    expect401(r, BAD_TOKEN, 'refresh as bearer');
    // Correct key, valid claims: accepted (the server checks claims, not its own memory).
    const forged = jwtSign({ ...payload, jti: 'f'.repeat(32), iat: now, exp: now + 600 }, SECRET, header);
    r = await api(srv, 'GET', '/api/v1/platforms/', { token: forged });
    assert.equal(r.status, 200, 'well-signed token accepted: ' + r.text);
    // Well signed, for a user id that does not exist.
    const ghost = jwtSign({ ...payload, user_id: 987654, iat: now, exp: now + 600 }, SECRET, header);
    r = await api(srv, 'GET', '/api/v1/platforms/', { token: ghost });
    expect401(r, { detail: 'User not found', code: 'user_not_found' }, 'unknown user id');
    // Verify endpoint refuses an expired token too.
    r = await api(srv, 'POST', '/api/v1/auth/token/verify/', { json: { token: expired } });
    expectJson(r, 401, BAD_JWT, 'verify expired');
});

test('login rate limit: 5 failures, then 429 with Retry-After even for the right password', async () => {
    const rl = await startServer();
    try {
        for (let i = 0; i < 5; i++) {
            const r = await api(rl, 'POST', '/api/v1/auth/token/', {
                json: { username: 'mallory-ratelimit', password: 'guess' + i },
            });
            expectJson(r, 401, undefined, `failure ${i + 1}`);
        }
        const r = await api(rl, 'POST', '/api/v1/auth/token/', {
            json: { username: 'admin', password: rl.password },
        });
        expectJson(r, 429, undefined, '6th login');
        assert.match(r.json.detail, /^Too many failed login attempts\. Try again in \d+ seconds\.$/);
        const ra = r.headers.get('retry-after');
        assert.match(ra ?? '', /^\d+$/, 'Retry-After is whole seconds');
        assert.ok(Number(ra) > 0 && Number(ra) <= 300, `Retry-After ${ra} within the 5 minute window`);
        assert.equal(Number(r.json.detail.match(/in (\d+) seconds/)[1]), Number(ra));
        // The failures are logged with the username tried and the client address.
        const line = await waitForLine(rl, /mallory-ratelimit/);
        assert.match(line, /127\.0\.0\.1/, 'failed login log line names the client address');
    } finally {
        await stopAndCheck(rl);
    }
});

test('login rate limit: the window ends after Retry-After seconds, not before', async () => {
    // The server's wall clock is moved instead of waiting five minutes (makeClock).
    const clock = makeClock();
    const rl = await startServer({ clock });
    try {
        const attempt = (password) => api(rl, 'POST', '/api/v1/auth/token/', { json: { username: 'admin', password } });
        for (let i = 0; i < 5; i++) expectJson(await attempt('wrong-' + i), 401, undefined, `failure ${i + 1}`);
        const r = await attempt(rl.password);
        expectJson(r, 429, undefined, 'blocked');
        const ra = Number(r.headers.get('retry-after'));
        assert.ok(ra > 10 && ra <= 300, `Retry-After ${ra}`);
        clock.set(ra - 10);
        const still = await attempt(rl.password);
        expectJson(still, 429, undefined, `${ra - 10} s later: still in the window`);
        const left = Number(still.headers.get('retry-after'));
        assert.ok(left >= 1 && left <= 10, `Retry-After counts down (${left})`);
        clock.set(ra + 1);
        const ok = await attempt(rl.password);
        expectJson(ok, 200, undefined, 'the window has ended');
        assert.equal(typeof ok.json.access, 'string');
        // a fresh window: five more failures are allowed before the next block
        for (let i = 0; i < 5; i++) expectJson(await attempt('again-' + i), 401, undefined, `new failure ${i + 1}`);
        expectJson(await attempt(rl.password), 429, undefined, 'blocked again');
    } finally {
        await stopAndCheck(rl);
    }
});
