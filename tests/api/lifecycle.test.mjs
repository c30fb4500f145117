// lifecycle.test.mjs - graceful stop, first admin, configuration errors, secret key, TZ.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import {
    startServer, stopAndCheck, api, login, expectJson, runCli, freePort, makeDataDir,
    sanitizerReport, waitFor, waitForLine, within, assertOwnsPort, RFC3339,
} from './lib/server.mjs';
import { rawStream } from './lib/upload-helpers.mjs';

/* Resolves {code, signal} when srv's process exits, or null after ms. */
function exitWithin(srv, ms) {
    let t;
    return Promise.race([srv.exited, new Promise((r) => { t = setTimeout(() => r(null), ms); })])
        .finally(() => clearTimeout(t));
}

/* Resolves 'refused' when a TCP connect to port is refused, 'open' when it connects. */
function probe(port) {
    return new Promise((resolve) => {
        const s = net.connect(port, '127.0.0.1');
        s.once('connect', () => { s.destroy(); resolve('open'); });
        s.once('error', (e) => resolve(e.code === 'ECONNREFUSED' ? 'refused' : `error ${e.code}`));
    });
}

test('SIGTERM: in-flight request completes, new connections are refused, exit 0', async () => {
    const s = await startServer();
    try {
        const body = JSON.stringify({ username: 'admin', password: s.password });
        const half = Math.ceil(body.length / 2);
        // A login whose body the test holds back: in flight for as long as the test wants.
        // Its "100 Continue" shows the server has taken the request up.
        const inflight = rawStream(s, `POST /api/v1/auth/token/ HTTP/1.1\r\nHost: 127.0.0.1:${s.port}\r\n` +
            `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
            'Expect: 100-continue\r\n\r\n');
        await waitFor(() => inflight.sawContinue, { timeout: 10000, what: 'the 100 Continue of the login' });
        await inflight.write(body.slice(0, half));
        s.proc.kill('SIGTERM');
        const signalled = Date.now();
        await waitForLine(s, /received SIGTERM/, 10000);
        // The listening socket closes while the request is still in flight.
        const state = await waitFor(async () => ((await probe(s.port)) === 'refused' ? 'refused' : null), {
            timeout: 10000, interval: 50, what: 'new connections to be refused after SIGTERM',
        });
        assert.equal(state, 'refused');
        assert.equal(s.proc.exitCode, null, 'still running: the request is in flight');
        // Now the rest of the body: the request completes.
        await inflight.write(body.slice(half));
        const res = await within(inflight.response, 20000, 'the in-flight login');
        assert.ok(res, 'the in-flight request was answered');
        assert.equal(res.status, 200, `in-flight login answered: ${res.raw}`);
        assert.equal(typeof res.json.access, 'string');
        inflight.sock.destroy();
        // Exits once nothing is in flight, not when the 30 s grace runs out (which
        // would log "stopping with N request(s) still in flight").
        const ex = await exitWithin(s, 40000);
        assert.ok(ex, 'process exits');
        assert.deepEqual(ex, { code: 0, signal: null }, s.stderr().slice(-2000));
        assert.doesNotMatch(s.stderr(), /still in flight/);
        assert.ok(Date.now() - signalled < 30000, 'exited before the grace period ran out');
        assert.equal(sanitizerReport(s), null, s.stderr().slice(-4000));
    } finally {
        await s.stop();
    }
});

test('SIGTERM with idle keep-alive connections open: exits promptly', async () => {
    const s = await startServer();
    const socks = [];
    try {
        // Two idle keep-alive connections that already had a request.
        for (let i = 0; i < 2; i++) {
            const sock = net.connect(s.port, '127.0.0.1');
            socks.push(sock);
            await new Promise((resolve, reject) => {
                sock.once('error', reject);
                sock.once('data', () => resolve());
                sock.write(`GET /api/v1/check/health/ HTTP/1.1\r\nHost: 127.0.0.1:${s.port}\r\n\r\n`);
            });
        }
        const t0 = Date.now();
        s.proc.kill('SIGTERM');
        const ex = await exitWithin(s, 40000);
        assert.deepEqual(ex, { code: 0, signal: null });
        // Held by them, it would wait out the 30 s grace and say so.
        assert.doesNotMatch(s.stderr(), /still in flight/);
        assert.ok(Date.now() - t0 < 30000, `idle connections do not hold the stop (${Date.now() - t0} ms)`);
    } finally {
        for (const k of socks) k.destroy();
        await s.stop();
    }
});

test('SIGINT exits 0', async () => {
    const s = await startServer();
    try {
        s.proc.kill('SIGINT');
        const ex = await exitWithin(s, 30000);
        assert.deepEqual(ex, { code: 0, signal: null }, s.stderr().slice(-2000));
        assert.equal(sanitizerReport(s), null, s.stderr().slice(-4000));
    } finally {
        await s.stop();
    }
});

test('a second server on a port already taken exits 1 with its BIND line; the first keeps it', async () => {
    const s = await startServer();
    const dir = makeDataDir();
    try {
        const r = await runCli(['serve'], {
            env: { DATA_DIR: dir, BIND: `127.0.0.1:${s.port}`, ADMIN_USERNAME: 'admin', ADMIN_PASSWORD: 'x-pass-1234' },
            timeout: 30000,
        });
        assert.equal(r.code, 1, `exit code 1: the port is taken (docs/cli.md):\n${r.stderr}`);
        assert.match(r.stderr, new RegExp(`ERROR BIND: cannot listen on 127\\.0\\.0\\.1:${s.port} `));
        // Still exactly one listener on the port, and it is the first server.
        assertOwnsPort(s.proc.pid, s.port);
        expectJson(await api(s, 'GET', '/api/v1/check/health/'), 200, { status: 'ok', database: 'ok', storage: 'ok' });
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
        await stopAndCheck(s);
    }
});

test('the harness proves a server is its own: a port another process listens on is refused', async () => {
    // What startServer checks before it trusts a port (tests/api/README.md).
    const s = await startServer();
    const other = net.createServer();
    try {
        await new Promise((resolve) => other.listen(0, '127.0.0.1', resolve));
        const { port } = other.address();
        assert.throws(() => assertOwnsPort(s.proc.pid, port), /belongs to process/);
        assertOwnsPort(process.pid, port);
        assert.throws(() => assertOwnsPort(process.pid, s.port), /belongs to process/);
        assertOwnsPort(s.proc.pid, s.port);
    } finally {
        other.close();
        await stopAndCheck(s);
    }
});

test('first start without ADMIN_*: a generated admin password, 0600 file, removed by passwd', async () => {
    const dir = makeDataDir();
    try {
        let s = await startServer({ dataDir: dir, env: { ADMIN_USERNAME: null, ADMIN_PASSWORD: null } });
        const file = path.join(dir, 'initial-admin-password');
        try {
            assert.ok(fs.existsSync(file), 'DATA_DIR/initial-admin-password exists');
            assert.equal(fs.statSync(file).mode & 0o777, 0o600, 'mode 0600');
            const pw = fs.readFileSync(file, 'utf8').trim();
            assert.ok(pw.length >= 12, `generated password is long enough (${pw.length})`);
            assert.ok(s.output().includes(pw), 'password printed on start-up');
            await login(s, 'admin', pw);

            const r = await runCli(['user', 'passwd', 'admin', '--password-stdin'], {
                env: { DATA_DIR: dir }, input: 'changed-Pass-123\n',
            });
            assert.equal(r.code, 0, `user passwd: ${r.stdout}${r.stderr}`);
            assert.ok(!fs.existsSync(file), 'initial-admin-password removed after passwd');
            await login(s, 'admin', 'changed-Pass-123');
            const old = await api(s, 'POST', '/api/v1/auth/token/', { json: { username: 'admin', password: pw } });
            assert.equal(old.status, 401, 'old password refused');
        } finally {
            await stopAndCheck(s);
        }
        // A second start generates nothing new.
        s = await startServer({ dataDir: dir, env: { ADMIN_USERNAME: null, ADMIN_PASSWORD: null } });
        try {
            assert.ok(!fs.existsSync(file), 'no new initial password once a user exists');
            await login(s, 'admin', 'changed-Pass-123');
        } finally {
            await stopAndCheck(s);
        }
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
});

test('ADMIN_USERNAME / ADMIN_PASSWORD create that admin', async () => {
    const s = await startServer({ env: { ADMIN_USERNAME: 'boss', ADMIN_PASSWORD: 'Boss-pass-42' } });
    try {
        const t = await login(s, 'boss', 'Boss-pass-42');
        expectJson(await api(s, 'GET', '/api/v1/platforms/', { token: t.access }), 200, []);
        assert.ok(!fs.existsSync(path.join(s.dataDir, 'initial-admin-password')));
        const r = await api(s, 'POST', '/api/v1/auth/token/', { json: { username: 'admin', password: 'Boss-pass-42' } });
        assert.equal(r.status, 401, 'no "admin" user was made');
    } finally {
        await stopAndCheck(s);
    }
});

test('ADMIN_USERNAME / ADMIN_PASSWORD are ignored once a user exists', async () => {
    const dir = makeDataDir();
    try {
        let s = await startServer({ dataDir: dir, env: { ADMIN_USERNAME: 'boss', ADMIN_PASSWORD: 'Boss-pass-42' } });
        await stopAndCheck(s);
        // a restart with other values: no new user, no changed password
        s = await startServer({ dataDir: dir, env: { ADMIN_USERNAME: 'other', ADMIN_PASSWORD: 'Other-pass-43' } });
        try {
            await login(s, 'boss', 'Boss-pass-42');
            const NO = { detail: 'No active account found with the given credentials' };
            expectJson(await api(s, 'POST', '/api/v1/auth/token/', { json: { username: 'boss', password: 'Other-pass-43' } }),
                401, NO, 'the old admin keeps the old password');
            expectJson(await api(s, 'POST', '/api/v1/auth/token/', { json: { username: 'other', password: 'Other-pass-43' } }),
                401, NO, 'no user "other"');
            assert.doesNotMatch(s.output(), /created administrator/);
        } finally {
            await stopAndCheck(s);
        }
        const l = await runCli(['user', 'list'], { env: { DATA_DIR: dir } });
        assert.equal(l.code, 0, l.stderr);
        const names = l.stdout.split('\n').slice(1).filter(Boolean).map((x) => x.trim().split(/\s+/)[1]);
        assert.deepEqual(names, ['boss'], l.stdout);
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
});

test('configuration errors: exit 2 with one line naming the variable', async () => {
    const cases = [
        ['BIND', '127.0.0.1:99999'],
        ['DB_URL', 'mysql://x'],
        ['UPLOAD_ATTEMPTS', '-1'],
        ['UPLOAD_ATTEMPTS', '101'],
        ['TZ', 'Mars/Base'],
        ['THREADS', '0'],
        ['UPLOAD_TOKEN_TTL', 'soon'],
        ['LOG_LEVEL', 'loud'],
    ];
    for (const [name, value] of cases) {
        const dir = makeDataDir();
        try {
            const port = await freePort();
            const env = {
                DATA_DIR: dir, BIND: `127.0.0.1:${port}`, ADMIN_USERNAME: 'admin', ADMIN_PASSWORD: 'x-pass-123',
                [name]: value,
            };
            const r = await runCli(['serve'], { env, timeout: 15000 });
            assert.equal(r.code, 2, `${name}=${value}: exit code (stderr ${r.stderr})`);
            const lines = r.stderr.split('\n').filter((l) => l.trim());
            assert.equal(lines.length, 1, `${name}=${value}: one stderr line, got ${JSON.stringify(lines)}`);
            assert.ok(lines[0].includes(name), `${name}=${value}: line names the variable: ${lines[0]}`);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    }
});

test('a world-writable DATA_DIR is refused', async () => {
    const dir = makeDataDir();
    try {
        fs.chmodSync(dir, 0o777);
        const port = await freePort();
        const r = await runCli(['serve'], {
            env: { DATA_DIR: dir, BIND: `127.0.0.1:${port}`, ADMIN_USERNAME: 'admin', ADMIN_PASSWORD: 'x-pass-123' },
            timeout: 15000,
        });
        assert.equal(r.code, 2, `exit code 2 (docs/configuration.md): ${r.stderr}`);
        assert.match(r.stderr, /DATA_DIR: .* is world-writable; refusing to start/);
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
});

test('SECRET_KEY is generated once into DATA_DIR/secret_key and survives a restart', async () => {
    const dir = makeDataDir();
    try {
        let s = await startServer({ dataDir: dir });
        const file = path.join(dir, 'secret_key');
        let tokens;
        let key;
        try {
            assert.ok(fs.existsSync(file), 'secret_key written');
            assert.equal(fs.statSync(file).mode & 0o777, 0o600, 'mode 0600');
            key = fs.readFileSync(file);
            assert.ok(key.toString().trim().length >= 32, 'a long key');
            tokens = await login(s);
        } finally {
            await stopAndCheck(s);
        }
        s = await startServer({ dataDir: dir });
        try {
            assert.deepEqual(fs.readFileSync(file), key, 'key reused, not regenerated');
            expectJson(await api(s, 'POST', '/api/v1/auth/token/verify/', { json: { token: tokens.access } }), 200, {});
            expectJson(await api(s, 'GET', '/api/v1/platforms/', { token: tokens.access }), 200, [], 'old access token works');
            expectJson(await api(s, 'POST', '/api/v1/auth/token/refresh/', { json: { refresh: tokens.refresh } }), 200);
        } finally {
            await stopAndCheck(s);
        }
        // SECRET_KEY in the environment wins: the old tokens no longer verify.
        s = await startServer({ dataDir: dir, env: { SECRET_KEY: 'another-secret-key-0123456789abcdef' } });
        try {
            const r = await api(s, 'POST', '/api/v1/auth/token/verify/', { json: { token: tokens.access } });
            expectJson(r, 401, { detail: 'Token is invalid or expired', code: 'token_not_valid' });
        } finally {
            await stopAndCheck(s);
        }
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
});

test('TZ=Europe/Moscow: times carry +03:00', async () => {
    const s = await startServer({ env: { TZ: 'Europe/Moscow' } });
    try {
        const token = (await login(s)).access;
        expectJson(await api(s, 'POST', '/api/v1/platforms/', { token, json: { name: 'p', pretty_name: 'P' } }), 201);
        const before = Date.now();
        const r = await api(s, 'POST', '/api/v1/tickets/', { token, json: { number: 1, platform: 'p' } });
        expectJson(r, 201);
        for (const k of ['time_create', 'time_update', 'expires_at']) {
            assert.match(r.json[k], RFC3339, k);
            assert.ok(r.json[k].endsWith('+03:00'), `${k} = ${r.json[k]}`);
        }
        assert.ok(Math.abs(Date.parse(r.json.time_create) - before) < 60000, 'the instant is right');
        // An explicit UTC expiry comes back as the same instant in Moscow time.
        const p = await api(s, 'PATCH', '/api/v1/tickets/1/', { token, json: { expires_at: '2030-01-01T00:00:00Z' } });
        expectJson(p, 200);
        assert.equal(p.json.expires_at, '2030-01-01T03:00:00.000000+03:00');
    } finally {
        await stopAndCheck(s);
    }
});
