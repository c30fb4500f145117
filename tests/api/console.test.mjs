// console.test.mjs - the staff console's server side (issue 12): sessions (cookie,
// expiry, a new id at login and privilege changes), CSRF refusals, TOTP enrolment,
// backup codes, the REQUIRE_2FA rules for downloads through sessions and JWTs, the
// users API and its permissions, pages and assets. Runs on SQLite and PostgreSQL.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';

import { api, dbQuery, expectFields, jwtDecode, login, makeClock, startServer, stopAll } from './lib/server.mjs';
import { SessionClient } from './lib/session.mjs';
import { totp } from './lib/totp.mjs';

/* Enrols the session's user: setup, confirm with the current code; returns {secret, codes, step}. */
async function enrol(s) {
    const setup = await s.req('POST', '/api/v1/account/2fa/setup/', { json: {} });
    assert.equal(setup.status, 200, setup.text);
    assert.match(setup.json.secret, /^[A-Z2-7]{32}$/);
    assert.ok(setup.json.otpauth_url.startsWith('otpauth://totp/logs-collector%3A'));
    assert.ok(setup.json.otpauth_url.includes(`secret=${setup.json.secret}`));
    assert.match(setup.json.qr_svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg" viewBox="0 0 \d+ \d+"/);
    const now = Date.now() / 1000;
    const c = await s.req('POST', '/api/v1/account/2fa/confirm/', { json: { code: totp(setup.json.secret, now) } });
    assert.equal(c.status, 200, c.text);
    assert.equal(c.json.backup_codes.length, 10);
    return { secret: setup.json.secret, codes: c.json.backup_codes, step: Math.floor(now / 30) };
}

/* A code of a time step later than `step` that the server still accepts (one step ahead at most). */
function nextCode(secret, step) {
    return totp(secret, (step + 1) * 30);
}

async function newTicket(srv, access, number) {
    let r = await api(srv, 'POST', '/api/v1/platforms/', { token: access, json: { name: 'p' + number, pretty_name: 'P' } });
    assert.equal(r.status, 201, r.text);
    r = await api(srv, 'POST', '/api/v1/tickets/', { token: access, json: { number, platform: 'p' + number, note: '**hi** <script>x</script> [j](javascript:alert(1))' } });
    assert.equal(r.status, 201, r.text);
    const up = await fetch(`${srv.url}/upload/${r.json.token}/a.txt`, { method: 'PUT', body: 'hello archive' });
    assert.equal(up.status, 201);
    return { ticket: r.json, archive: await up.json() };
}

describe('console sessions and 2FA (REQUIRE_2FA=true)', () => {
    let srv;
    let access;
    before(async () => {
        srv = await startServer({ env: { REQUIRE_2FA: 'true', CSRF_TRUSTED_ORIGINS: 'https://console.example.com' } });
        access = (await login(srv)).access;
    });
    after(() => stopAll(srv));

    test('login sets an HttpOnly SameSite=Strict cookie; the id is stored hashed; a new id at each login', async () => {
        const s = new SessionClient(srv);
        const r = await s.login('admin', srv.password);
        assert.match(r.setCookie, /^lc_session=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Strict; Max-Age=86400$/);
        assert.equal(r.json.user.username, 'admin');
        assert.equal(r.json.second_factor, false);
        assert.equal(r.json.must_enrol, true);
        assert.match(r.json.csrf_token, /^[0-9a-f]{64}$/);
        const id = s.cookie.split('=')[1];
        const rows = await dbQuery(srv, 'SELECT id_hash FROM sessions');
        const hash = crypto.createHash('sha256').update(id).digest('hex');
        assert.ok(rows.some((row) => row[0] === hash), 'the SHA-256 of the id is stored');
        assert.ok(!rows.some((row) => row[0] === id), 'the id itself is not');
        const old = s.cookie;
        await s.login('admin', srv.password);
        assert.notEqual(s.cookie, old, 'a new id at login');
        const gone = await new SessionClient(srv).req('GET', '/api/v1/auth/session/', { headers: { Cookie: old } });
        assert.equal(gone.status, 401, 'the old id is gone');
        /* behind a trusted proxy saying https: Secure */
        const p = await startServer({ env: { TRUSTED_PROXIES: '127.0.0.1', REQUIRE_2FA: 'true' } });
        try {
            const sp = new SessionClient(p);
            const rp = await sp.req('POST', '/api/v1/auth/session/', { json: { username: 'admin', password: p.password }, headers: { 'X-Forwarded-Proto': 'https' }, origin: p.url.replace('http:', 'https:') });
            assert.equal(rp.status, 200, rp.text);
            assert.match(rp.setCookie, /; Secure$/);
        } finally {
            await stopAll(p);
        }
    });

    test('wrong password and unknown users: 401; failures share the login rate limit', async () => {
        const s = new SessionClient(srv);
        const r = await s.login('admin', 'wrong-password', {}, 401);
        assert.equal(r.json.detail, 'No active account found with the given credentials');
        assert.equal(s.cookie, null);
        const fresh = await startServer({ env: { REQUIRE_2FA: 'true' } });
        try {
            const c = new SessionClient(fresh);
            for (let i = 0; i < 5; i++) await c.login('admin', 'nope-nope', {}, 401);
            const limited = await c.login('admin', fresh.password, {}, 429);
            assert.ok(limited.headers.get('retry-after'));
            const jwt = await api(fresh, 'POST', '/api/v1/auth/token/', { json: { username: 'admin', password: fresh.password } });
            assert.equal(jwt.status, 429, 'the JWT login shares the count');
        } finally {
            await stopAll(fresh);
        }
    });

    test('until the user enrols, a session reaches only the enrolment (403 elsewhere)', async () => {
        const s = new SessionClient(srv);
        await s.login('admin', srv.password);
        assert.equal((await s.req('GET', '/api/v1/tickets/')).status, 403);
        assert.equal((await s.req('GET', '/api/v1/auth/session/')).status, 200);
        assert.equal((await s.req('GET', '/api/v1/account/')).status, 200);
        /* a JWT of the same user keeps working for everything but downloads */
        assert.equal((await api(srv, 'GET', '/api/v1/tickets/', { token: access })).status, 200);
    });

    test('CSRF: unsafe session requests need the token and our (or a trusted) Origin', async () => {
        const s = new SessionClient(srv);
        await s.login('admin', srv.password);
        const url = '/api/v1/account/2fa/setup/';
        let r = await s.req('POST', url, { json: {}, csrf: false });
        assert.equal(r.status, 403);
        assert.equal(r.json.detail, 'CSRF token missing or incorrect.');
        r = await s.req('POST', url, { json: {}, csrf: 'f'.repeat(64) });
        assert.equal(r.status, 403);
        r = await s.req('POST', url, { json: {}, origin: 'https://evil.example' });
        assert.equal(r.status, 403, 'a foreign Origin with the right token');
        r = await s.req('POST', url, { json: {}, origin: null, headers: { Referer: 'https://evil.example/x' } });
        assert.equal(r.status, 403, 'a foreign Referer');
        r = await s.req('POST', url, { json: {}, origin: 'https://console.example.com' });
        assert.equal(r.status, 200, `CSRF_TRUSTED_ORIGINS: ${r.text}`);
        r = await s.req('POST', url, { json: {} });
        assert.equal(r.status, 200, r.text);
        /* a login from a foreign origin is refused too (login CSRF) */
        r = await new SessionClient(srv).req('POST', '/api/v1/auth/session/', { json: { username: 'admin', password: srv.password }, origin: 'https://evil.example' });
        assert.equal(r.status, 403);
        /* logout is unsafe as well */
        r = await s.req('DELETE', '/api/v1/auth/session/', { csrf: false });
        assert.equal(r.status, 403);
    });

    test('enrolment, login with the code, replays refused, backup codes once, 2FA downloads for sessions and JWTs', async () => {
        /* a server of its own: the refused codes below count against the login rate limit */
        const srv = await startServer({ env: { REQUIRE_2FA: 'true' } });
        try {
            await enrolment(srv, (await login(srv)).access);
        } finally {
            await stopAll(srv);
        }
    });
    async function enrolment(srv, access) {
        const { archive } = await newTicket(srv, access, 7001);
        const dl = `/api/v1/archives/${archive.id}/download/`;
        const s = new SessionClient(srv);
        await s.login('admin', srv.password);
        const before = s.cookie;
        const { secret, codes, step } = await enrol(s);
        assert.notEqual(s.cookie, before, 'a new session id with the second factor');
        let r = await s.req('GET', '/api/v1/auth/session/');
        assert.equal(r.json.second_factor, true);
        assert.equal(r.json.must_enrol, false);
        assert.equal(r.json.backup_codes_left, 10);
        r = await s.req('GET', dl);
        assert.equal(r.status, 200, 'a 2FA session downloads');
        assert.equal(r.text, 'hello archive');
        const hashes = await dbQuery(srv, 'SELECT code_hash FROM backup_codes');
        assert.equal(hashes.length, 10);
        assert.ok(!hashes.some((h) => codes.includes(h[0])), 'codes are stored hashed');

        /* now a password alone is not enough for a session */
        const t = new SessionClient(srv);
        r = await t.login('admin', srv.password, {}, 401);
        assert.equal(r.json.code, 'otp_required');
        assert.equal(t.cookie, null);
        r = await t.login('admin', srv.password, { otp: totp(secret, step * 30) }, 401);
        assert.equal(r.json.code, 'otp_invalid', 'the code used to confirm cannot be replayed');
        const code = nextCode(secret, step);
        r = await t.login('admin', srv.password, { otp: code });
        assert.equal(r.json.second_factor, true);
        r = await new SessionClient(srv).login('admin', srv.password, { otp: code }, 401);
        assert.equal(r.json.detail, 'This one-time code was used already.');
        /* a backup code works once */
        r = await new SessionClient(srv).login('admin', srv.password, { backup_code: codes[0].toUpperCase() });
        assert.equal(r.json.second_factor, true);
        r = await new SessionClient(srv).login('admin', srv.password, { backup_code: codes[0] }, 401);
        assert.equal(r.json.code, 'otp_invalid');
        assert.equal((await s.req('GET', '/api/v1/auth/session/')).json.backup_codes_left, 9);

        /* JWTs: password-only tokens still work, but not for downloads */
        const plain = await api(srv, 'POST', '/api/v1/auth/token/', { json: { username: 'admin', password: srv.password } });
        assert.equal(plain.status, 200);
        assert.equal(jwtDecode(plain.json.access).payload['2fa'], undefined);
        assert.equal((await api(srv, 'GET', '/api/v1/tickets/', { token: plain.json.access })).status, 200);
        r = await api(srv, 'GET', dl, { token: plain.json.access });
        assert.equal(r.status, 403);
        assert.match(r.json.detail, /second factor/);
        const two = await api(srv, 'POST', '/api/v1/auth/token/', { json: { username: 'admin', password: srv.password, backup_code: codes[1] } });
        assert.equal(two.status, 200, two.text);
        assert.equal(jwtDecode(two.json.access).payload['2fa'], true);
        r = await api(srv, 'GET', dl, { token: two.json.access });
        assert.equal(r.status, 200);
        /* a refresh token that passed 2FA gives access tokens that did */
        const ref = await api(srv, 'POST', '/api/v1/auth/token/refresh/', { json: { refresh: two.json.refresh } });
        assert.equal(jwtDecode(ref.json.access).payload['2fa'], true);
        assert.equal((await api(srv, 'GET', dl, { token: ref.json.access })).status, 200);
        /* (each refused code above counted as a failed login: four of the five allowed) */

        /* new backup codes need the password; turning 2FA off too */
        r = await s.req('POST', '/api/v1/account/2fa/backup-codes/', { json: { password: 'wrong-password' } });
        expectFields(r, ['password']);
        r = await s.req('POST', '/api/v1/account/2fa/backup-codes/', { json: { password: srv.password } });
        assert.equal(r.json.backup_codes.length, 10);
        r = await s.req('POST', '/api/v1/account/2fa/disable/', { json: { password: srv.password } });
        assert.equal(r.status, 200, r.text);
        r = await s.req('GET', '/api/v1/auth/session/');
        assert.equal(r.json.second_factor, false);
        assert.equal(r.json.must_enrol, true);
        assert.equal((await s.req('GET', dl)).status, 403);
        assert.equal((await t.req('GET', '/api/v1/auth/session/')).status, 401, 'other sessions ended');
    }

    test('logout ends the session and clears the cookie', async () => {
        const s = new SessionClient(srv);
        await s.login('admin', srv.password);
        const id = s.cookie;
        const r = await s.req('DELETE', '/api/v1/auth/session/');
        assert.equal(r.status, 204);
        assert.match(r.setCookie, /^lc_session=; Path=\/; HttpOnly; SameSite=Strict; Max-Age=0/);
        const again = await new SessionClient(srv).req('GET', '/api/v1/auth/session/', { headers: { Cookie: id } });
        assert.equal(again.status, 401);
    });
});

describe('sessions: expiry and password changes', () => {
    let srv;
    let clock;
    before(async () => {
        clock = makeClock();
        srv = await startServer({ clock, env: { REQUIRE_2FA: 'false', SESSION_IDLE_TIMEOUT: '10m', SESSION_LIFETIME: '1h' } });
    });
    after(() => stopAll(srv));

    test('idle and absolute expiry', async () => {
        clock.set(0);
        const s = new SessionClient(srv);
        await s.login('admin', srv.password);
        for (const t of [300, 600, 900, 1200, 1500, 1800, 2100, 2400, 2700, 3000, 3300]) {
            clock.set(t); /* busy every 5 minutes: never idle for 10 */
            assert.equal((await s.req('GET', '/api/v1/tickets/')).status, 200, `at +${t} s`);
        }
        clock.set(3601);
        assert.equal((await s.req('GET', '/api/v1/tickets/')).status, 401, 'past SESSION_LIFETIME');
        clock.set(0);
        const idle = new SessionClient(srv);
        await idle.login('admin', srv.password);
        clock.set(601);
        assert.equal((await idle.req('GET', '/api/v1/tickets/')).status, 401, 'past SESSION_IDLE_TIMEOUT');
        clock.set(0);
    });

    test('a password change ends the other sessions and renews this one', async () => {
        const a = new SessionClient(srv);
        const b = new SessionClient(srv);
        await a.login('admin', srv.password);
        await b.login('admin', srv.password);
        let r = await a.req('POST', '/api/v1/account/password/', { json: { current_password: 'nope-nope', new_password: 'a-new-password' } });
        expectFields(r, ['current_password']);
        r = await a.req('POST', '/api/v1/account/password/', { json: { current_password: srv.password, new_password: 'short' } });
        expectFields(r, ['new_password']);
        const old = a.cookie;
        r = await a.req('POST', '/api/v1/account/password/', { json: { current_password: srv.password, new_password: 'a-new-password' } });
        assert.equal(r.status, 200, r.text);
        assert.notEqual(a.cookie, old);
        assert.equal((await a.req('GET', '/api/v1/tickets/')).status, 200);
        assert.equal((await b.req('GET', '/api/v1/tickets/')).status, 401);
        await a.login('admin', 'a-new-password');
        await login(srv, 'admin', 'a-new-password');
        r = await a.req('PATCH', '/api/v1/account/', { json: { name: 'Ada Admin', email: 'not-an-address' } });
        expectFields(r, ['email']);
        r = await a.req('PATCH', '/api/v1/account/', { json: { name: 'Ada Admin', email: 'ada@example.com' } });
        assert.equal(r.json.name, 'Ada Admin');
        /* without REQUIRE_2FA, a password-only session downloads */
        const tok = (await login(srv, 'admin', 'a-new-password')).access;
        const { archive } = await newTicket(srv, tok, 7002);
        assert.equal((await a.req('GET', `/api/v1/archives/${archive.id}/download/`)).status, 200);
    });
});

describe('users API (administrators only)', () => {
    let srv;
    let admin;
    before(async () => {
        srv = await startServer({ env: { REQUIRE_2FA: 'false' } });
        admin = (await login(srv)).access;
    });
    after(() => stopAll(srv));

    test('create, list, patch, deactivate, make admin, reset 2FA; staff get 403', async () => {
        let r = await api(srv, 'POST', '/api/v1/users/', { token: admin, json: { username: 'bob smith', password: 'short' } });
        expectFields(r, ['username', 'password']);
        r = await api(srv, 'POST', '/api/v1/users/', { token: admin, json: { username: 'bob', password: 'bob-password', name: 'Bob', email: 'bob@example.com' } });
        assert.equal(r.status, 201, r.text);
        const bob = r.json;
        assert.deepEqual(Object.keys(bob).sort(), ['created', 'email', 'id', 'is_active', 'is_admin', 'last_login', 'name', 'totp_enabled', 'upload_mail', 'username']);
        assert.equal(bob.is_admin, false);
        r = await api(srv, 'POST', '/api/v1/users/', { token: admin, json: { username: 'bob', password: 'bob-password' } });
        expectFields(r, ['username']);
        r = await api(srv, 'GET', '/api/v1/users/', { token: admin });
        assert.deepEqual(r.json.map((u) => u.username), ['admin', 'bob']);
        assert.ok(!r.text.includes('argon2'), 'no password hashes');

        const bobTok = (await login(srv, 'bob', 'bob-password')).access;
        for (const [m, p] of [['GET', '/api/v1/users/'], ['POST', '/api/v1/users/'], ['GET', `/api/v1/users/${bob.id}/`], ['PATCH', `/api/v1/users/${bob.id}/`], ['DELETE', `/api/v1/users/${bob.id}/2fa/`]]) {
            r = await api(srv, m, p, { token: bobTok, json: m === 'POST' || m === 'PATCH' ? {} : undefined });
            assert.equal(r.status, 403, `${m} ${p} as staff`);
        }
        assert.equal((await api(srv, 'GET', '/api/v1/users/')).status, 401);
        const bs = new SessionClient(srv);
        await bs.login('bob', 'bob-password');
        assert.equal((await bs.req('GET', '/api/v1/users/')).status, 403);

        /* bob enrols; the admin resets it: his sessions end, 2FA is off */
        const { secret } = await enrol(bs);
        assert.ok(secret);
        r = await api(srv, 'GET', `/api/v1/users/${bob.id}/`, { token: admin });
        assert.equal(r.json.totp_enabled, true);
        r = await api(srv, 'DELETE', `/api/v1/users/${bob.id}/2fa/`, { token: admin });
        assert.equal(r.status, 204);
        assert.equal((await bs.req('GET', '/api/v1/auth/session/')).status, 401);
        r = await api(srv, 'GET', `/api/v1/users/${bob.id}/`, { token: admin });
        assert.equal(r.json.totp_enabled, false);
        assert.equal((await dbQuery(srv, `SELECT count(*) FROM backup_codes WHERE user_id = ${bob.id}`))[0][0], '0');

        /* make admin: his sessions end (a privilege change), then he is an admin */
        await bs.login('bob', 'bob-password');
        r = await api(srv, 'PATCH', `/api/v1/users/${bob.id}/`, { token: admin, json: { is_admin: true } });
        assert.equal(r.json.is_admin, true);
        assert.equal((await bs.req('GET', '/api/v1/auth/session/')).status, 401);
        assert.equal((await api(srv, 'GET', '/api/v1/users/', { token: bobTok })).status, 200);
        /* deactivate: no login, no JWT, no session */
        await bs.login('bob', 'bob-password');
        r = await api(srv, 'PATCH', `/api/v1/users/${bob.id}/`, { token: admin, json: { is_active: false } });
        assert.equal(r.json.is_active, false);
        assert.equal((await bs.req('GET', '/api/v1/auth/session/')).status, 401);
        await new SessionClient(srv).login('bob', 'bob-password', {}, 401);
        assert.equal((await api(srv, 'GET', '/api/v1/tickets/', { token: bobTok })).status, 401);
        /* an admin cannot lock themselves out */
        const me = (await api(srv, 'GET', '/api/v1/account/', { token: admin })).json;
        r = await api(srv, 'PATCH', `/api/v1/users/${me.id}/`, { token: admin, json: { is_admin: false, is_active: false } });
        expectFields(r, ['is_admin', 'is_active']);
        r = await api(srv, 'GET', '/api/v1/users/999999/', { token: admin });
        assert.equal(r.status, 404);

        /* each change is in the audit log, by whom, about whom */
        const ev = async (kind) => (await api(srv, 'GET', `/api/v1/events/?kind=${kind}`, { token: admin })).json;
        const created = await ev('user.created');
        assert.deepEqual(created.map((e) => [e.actor, e.detail]), [['admin', { username: 'bob', is_admin: false }],
            ['system', { username: 'admin', is_admin: true, via: 'first start' }]]);
        const tfa = await ev('auth.2fa_changed');
        assert.deepEqual(tfa.map((e) => [e.actor, e.detail]), [['admin', { username: 'bob', change: 'reset' }],
            ['bob', { username: 'bob', change: 'enabled' }]]);
        const upd = await ev('user.updated');
        assert.deepEqual(upd.map((e) => e.detail), [{ username: 'bob', changed: ['is_active'] }, { username: 'bob', changed: ['is_admin'] }]);
        assert.ok(upd.every((e) => e.actor === 'admin'));
    });

    test('the account: name, e-mail and the upload mail, a password change; each an event', async () => {
        let r = await api(srv, 'POST', '/api/v1/users/', { token: admin, json: { username: 'carol', password: 'carol-password', email: 'carol@example.com' } });
        assert.equal(r.status, 201, r.text);
        assert.equal(r.json.upload_mail, true);
        const carol = new SessionClient(srv);
        await carol.login('carol', 'carol-password');
        r = await carol.req('PATCH', '/api/v1/account/', { json: { email: 'not an address' } });
        expectFields(r, ['email']);
        r = await carol.req('PATCH', '/api/v1/account/', { json: { upload_mail: 'maybe' } });
        expectFields(r, ['upload_mail']);
        r = await carol.req('PATCH', '/api/v1/account/', { json: { email: '', upload_mail: false, name: 'Carol' } });
        assert.equal(r.status, 200, r.text);
        assert.equal(r.json.email, '');
        assert.equal(r.json.upload_mail, false);
        assert.equal(r.json.name, 'Carol');
        assert.equal((await carol.req('GET', '/api/v1/account/')).json.upload_mail, false);
        r = await carol.req('POST', '/api/v1/account/password/', { json: { current_password: 'carol-password', new_password: 'carol-password-2' } });
        assert.equal(r.status, 200, r.text);
        const ev = async (kind) => (await api(srv, 'GET', `/api/v1/events/?kind=${kind}&actor=carol`, { token: admin })).json;
        assert.deepEqual((await ev('user.updated')).map((e) => e.detail), [{ username: 'carol', changed: ['name', 'email', 'upload_mail'] }]);
        assert.deepEqual((await ev('user.password_changed')).map((e) => e.detail), [{ username: 'carol' }]);
        const logins = await ev('auth.login');
        assert.deepEqual(logins[0].detail, { via: 'session', second_factor: false });
    });
});

describe('pages, assets and notes', () => {
    let srv;
    let admin;
    before(async () => {
        srv = await startServer();
        admin = (await login(srv)).access;
    });
    after(() => stopAll(srv));

    test('pages: CSP without inline script or style, security headers, the old URLs', async () => {
        for (const p of ['/tickets/', '/tickets/show/vm6/', '/tickets/show/vm6/42/', '/tickets/create/', '/tickets/update/vm6/42/', '/account/login/', '/account/logout/', '/account/show/', '/account/update/', '/account/password-change/', '/account/two_factor/', '/account/two_factor/setup/', '/account/two_factor/backup/tokens/', '/platforms/', '/users/', '/api/v1/schema/swagger/']) {
            const r = await fetch(srv.url + p, { redirect: 'manual' });
            assert.equal(r.status, 200, p);
            assert.match(r.headers.get('content-type'), /^text\/html; charset=utf-8/);
            const csp = r.headers.get('content-security-policy');
            assert.match(csp, /script-src 'self'/);
            assert.match(csp, /style-src 'self'/);
            assert.match(csp, /frame-ancestors 'none'/);
            assert.ok(!csp.includes('unsafe-inline') && !csp.includes('unsafe-eval'), csp);
            assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
            assert.equal(r.headers.get('referrer-policy'), 'same-origin');
            const html = await r.text();
            assert.ok(!/<script(?![^>]*\bsrc=)/.test(html), `${p}: an inline script`);
            assert.ok(!/\sstyle=|<style/.test(html), `${p}: an inline style`);
            assert.ok(!/\son[a-z]+=/.test(html), `${p}: an event attribute`);
        }
        for (const [from, to] of [['/', '/tickets/'], ['/admin/', '/users/'], ['/account/password-change/done/', '/account/show/']]) {
            const r = await fetch(srv.url + from, { redirect: 'manual' });
            assert.equal(r.status, 302, from);
            assert.equal(r.headers.get('location'), to);
        }
        let r = await fetch(`${srv.url}/no/such/page/`, { headers: { Accept: 'text/html' } });
        assert.equal(r.status, 404);
        assert.match(r.headers.get('content-type'), /text\/html/);
        assert.match(r.headers.get('content-security-policy'), /script-src 'self'/);
        r = await fetch(`${srv.url}/api/v1/nope/`, { headers: { Accept: 'text/html' } });
        assert.equal(r.status, 404);
        assert.deepEqual(await r.json(), { detail: 'Not found.' }, 'never HTML under /api/');
    });

    test('assets: content-hashed names, a year of caching, gzip when accepted, ETag', async () => {
        const html = await (await fetch(`${srv.url}/tickets/`)).text();
        const names = [...html.matchAll(/\/assets\/([a-z0-9.-]+?\.[0-9a-f]{10}\.(?:js|css|svg))/g)].map((m) => m[1]);
        assert.ok(names.some((n) => n.startsWith('bootstrap.min.')), 'bootstrap from npm');
        assert.ok(names.some((n) => n.startsWith('tickets.')));
        for (const n of names) {
            const gz = await fetch(`${srv.url}/assets/${n}`, { headers: { 'Accept-Encoding': 'gzip' } });
            assert.equal(gz.status, 200, n);
            assert.equal(gz.headers.get('cache-control'), 'public, max-age=31536000, immutable');
            assert.match(gz.headers.get('vary'), /Accept-Encoding/);
            const body = Buffer.from(await gz.arrayBuffer());
            const hash = n.split('.').slice(-2, -1)[0];
            if (n.endsWith('.js') || n.endsWith('.css')) {
                const raw = await new Promise((resolve, reject) => {
                    import('node:http').then(({ default: http }) => http.get(`${srv.url}/assets/${n}`, { headers: { 'Accept-Encoding': 'gzip' } }, (res) => {
                        const parts = [];
                        res.on('data', (d) => parts.push(d));
                        res.on('end', () => resolve({ enc: res.headers['content-encoding'], body: Buffer.concat(parts) }));
                    }).on('error', reject));
                });
                assert.equal(raw.enc, 'gzip', `${n} is sent compressed`);
                const plain = await import('node:http').then(({ default: http }) => new Promise((resolve) => http.get(`${srv.url}/assets/${n}`, (res) => {
                    const parts = [];
                    res.on('data', (d) => parts.push(d));
                    res.on('end', () => resolve({ enc: res.headers['content-encoding'], body: Buffer.concat(parts) }));
                })));
                assert.equal(plain.enc, undefined, 'identity without Accept-Encoding');
                assert.ok(raw.body.length < plain.body.length);
                assert.ok(body.length === plain.body.length);
            }
            assert.match(hash, /^[0-9a-f]{10}$/);
            const etag = gz.headers.get('etag');
            const again = await fetch(`${srv.url}/assets/${n}`, { headers: { 'If-None-Match': etag } });
            assert.equal(again.status, 304);
        }
        assert.equal((await fetch(`${srv.url}/assets/tickets.0000000000.js`)).status, 404);
        assert.equal((await fetch(`${srv.url}/assets/tickets.html`)).status, 404, 'pages are not assets');
    });

    test('ticket notes are rendered safely (GET .../note/, POST /api/v1/markdown/)', async () => {
        await newTicket(srv, admin, 7003);
        let r = await api(srv, 'GET', '/api/v1/tickets/7003/note/', { token: admin });
        assert.deepEqual(r.json, {
            note: '**hi** <script>x</script> [j](javascript:alert(1))',
            html: '<p><strong>hi</strong> &lt;script&gt;x&lt;/script&gt; j</p>\n',
        });
        r = await api(srv, 'GET', '/api/v1/tickets/?platform=p7003', { token: admin });
        assert.equal(r.json.length, 1);
        assert.equal(r.json[0].number, 7003);
        r = await api(srv, 'GET', '/api/v1/tickets/?platform=nope', { token: admin });
        assert.deepEqual(r.json, []);
        r = await api(srv, 'POST', '/api/v1/markdown/', { token: admin, json: { text: '[x](data:text/html,hi) <img src=x onerror=alert(1)> [ok](https://example.com)' } });
        assert.equal(r.json.html, '<p>x &lt;img src=x onerror=alert(1)&gt; <a href="https://example.com" rel="nofollow noopener noreferrer">ok</a></p>\n');
        r = await api(srv, 'POST', '/api/v1/markdown/', { token: admin, json: { text: 'x'.repeat(65537) } });
        expectFields(r, ['text']);
        r = await api(srv, 'GET', '/api/v1/platforms/p7003/stats/', { token: admin });
        assert.deepEqual(r.json, { tickets: 1, archives: 1, size: 13 });
    });
});
