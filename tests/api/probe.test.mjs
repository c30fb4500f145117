// probe.test.mjs - regressions of the security probe and of a newcomer's walk through
// the README (issue 8): each test failed before its fix.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
    ROOT, startServer, stopAndCheck, api, login, expectJson, expectFields, rawRequest, httpGet,
    waitForLine, runCli, makeDataDir,
} from './lib/server.mjs';
import {
    setup, mkTicket, attemptsOf, putUpload, postUpload, filePart, sha256, bytes,
} from './lib/upload-helpers.mjs';

const run = (cmd, args, opts = {}) =>
    new Promise((resolve) => {
        execFile(cmd, args, { timeout: 60000, ...opts }, (err, stdout, stderr) =>
            resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr }));
    });

/* A multipart body by hand, so that its part heads can be anything. */
const rawMultipart = (head) =>
    Buffer.from(`--XX\r\n${head}\r\n\r\nhi\r\n--XX--\r\n`);

describe('one server', () => {
    let srv;
    let ctx;
    before(async () => {
        srv = await startServer({ env: { TRUSTED_PROXIES: '10.9.9.9' } });
        ctx = await setup(srv);
    });
    after(() => stopAndCheck(srv));

    test('multipart parts without a quoted name are skipped, never a crash (item 1)', async () => {
        const t = await mkTicket(ctx);
        const heads = [
            'Content-Disposition: form-data; name=file',
            'Content-Disposition: form-data',
            'Content-Disposition: form-data; filename="x.log"',
            'Content-Type: text/plain',
        ];
        for (const head of heads) {
            for (const auth of [{ 'Upload-Token': t.token }, { Authorization: `Bearer ${ctx.jwt}` }]) {
                const r = await api(srv, 'POST', '/api/v1/archives/', {
                    body: rawMultipart(head),
                    headers: { 'Content-Type': 'multipart/form-data; boundary=XX', ...auth },
                });
                expectJson(r, 400, { file: ['No file was submitted.'] }, head);
            }
        }
        expectJson(await api(srv, 'GET', '/api/v1/check/health/'), 200, { status: 'ok', database: 'ok', storage: 'ok' });
        assert.equal(await attemptsOf(srv, t.token), 5, 'no attempt used');
    });

    test('Upload-Token with a trailing space, as the original uploader.sh sends it (item 7)', async () => {
        const t = await mkTicket(ctx);
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lc-probe-'));
        try {
            const file = path.join(dir, 'logs.tar.gz');
            const data = bytes(5000, 7);
            fs.writeFileSync(file, data);
            // exactly the shape of the reference's script: -F file=@... -H "Upload-Token: T "
            const r = await run('curl', ['-s', '-o', '-', '-w', '\n%{http_code}', '-F', `file=@${file}`,
                '-H', `Upload-Token: ${t.token} `, `${srv.url}/api/v1/archives/`]);
            const [body, code] = r.stdout.trim().split('\n');
            assert.equal(code, '201', `curl: ${r.stdout} ${r.stderr}`);
            assert.equal(JSON.parse(body).ticket, t.number);
            assert.equal(await attemptsOf(srv, t.token), 4);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    test('Host is parsed strictly; the raw Host never builds URLs (item 5)', async () => {
        for (const host of ['localhost:@evil.com', 'localhost:', 'localhost:80:80', '127.0.0.1:8x',
            'user@localhost', 'localhost/x', '[::1', 'localhost:123456']) {
            const r = await httpGet(srv, '/api/v1/check/health/', { Host: host });
            assert.equal(r.status, 400, `Host ${host}: ${r.text}`);
            assert.deepEqual(r.json, { detail: 'Invalid Host header.' }, host);
        }
        const ok = await httpGet(srv, '/api/v1/check/health/', { Host: `localhost:${srv.port}` });
        assert.equal(ok.status, 200);
        // two Host lines
        const two = await rawRequest(srv,
            `GET /api/v1/check/health/ HTTP/1.1\r\nHost: localhost\r\nHost: evil.com\r\nConnection: close\r\n\r\n`);
        assert.equal(two.status, 400);
    });

    test('X-Forwarded-For from a peer that is no trusted proxy is ignored, however long (item 4)', async () => {
        const padding = Array(400).fill('6.6.6.6').join(', ');
        for (const xff of [`${padding}, 1.2.3.4`, `${' '.repeat(1016)}6.6.6.6, 1.2.3.4`]) {
            const marker = `/api/v1/probe-${Math.random().toString(36).slice(2)}`;
            await rawRequest(srv, `GET ${marker} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Forwarded-For: ${xff}\r\nConnection: close\r\n\r\n`);
            const line = await waitForLine(srv, new RegExp(marker.replace(/[/.]/g, '\\$&')));
            assert.match(line, /^127\.0\.0\.1 /, line); // TRUSTED_PROXIES is 10.9.9.9 only
        }
    });

    test('expires_at at or before the epoch is refused, never stored as "never" (item 6)', async () => {
        const t = await mkTicket(ctx);
        for (const when of ['1970-01-01T00:00:00Z', '1970-01-01T03:00:00+03:00', '1969-12-31T23:59:59Z']) {
            const r = await api(srv, 'PATCH', `/api/v1/tickets/${t.number}/`, { token: ctx.jwt, json: { expires_at: when } });
            expectJson(r, 400, { expires_at: ['Ensure this time is after 1970-01-01T00:00:00Z.'] }, when);
        }
        const r = await api(srv, 'POST', '/api/v1/tickets/', {
            token: ctx.jwt, json: { number: ctx.next++, platform: ctx.platform, expires_at: '1970-01-01T00:00:00Z' },
        });
        expectFields(r, ['expires_at']);
        // just after the epoch: stored as given, so the token is expired (423), not eternal
        const early = await api(srv, 'PATCH', `/api/v1/tickets/${t.number}/`, {
            token: ctx.jwt, json: { expires_at: '1970-01-01T00:00:00.000001Z' },
        });
        assert.equal(early.status, 200, early.text);
        assert.notEqual(early.json.expires_at, null);
        const up = await putUpload(srv, t.token, 'x.log', 'x');
        expectJson(up, 423, { detail: `token ${t.token} expired` });
        const future = new Date(Date.now() + 86400e3).toISOString();
        const ok = await api(srv, 'PATCH', `/api/v1/tickets/${t.number}/`, { token: ctx.jwt, json: { expires_at: future } });
        assert.equal(ok.status, 200, ok.text);
        assert.equal(Date.parse(ok.json.expires_at), Date.parse(future));
    });

    test('character limits count characters, not bytes (item 6)', async () => {
        let r = await api(srv, 'POST', '/api/v1/platforms/', {
            token: ctx.jwt, json: { name: 'utf8', pretty_name: 'é'.repeat(100) },
        });
        assert.equal(r.status, 201, r.text);
        assert.equal(r.json.pretty_name, 'é'.repeat(100));
        r = await api(srv, 'GET', '/api/v1/platforms/utf8/', { token: ctx.jwt });
        assert.equal(r.json.pretty_name, 'é'.repeat(100), 'stored and read back whole');
        r = await api(srv, 'PATCH', '/api/v1/platforms/utf8/', { token: ctx.jwt, json: { pretty_name: '😀'.repeat(101) } });
        expectJson(r, 400, { pretty_name: ['Ensure this field has no more than 100 characters.'] });
    });

    test('%00 in a PUT file name is dropped, not a cut (item 6)', async () => {
        const t = await mkTicket(ctx);
        const r = await putUpload(srv, t.token, 'a%00b.txt', 'data');
        assert.equal(r.status, 201, r.text);
        assert.equal(r.json.name, 'ab.txt');
    });

    test('transfer codings other than chunked: 501 at once (item 6)', async () => {
        for (const te of ['gzip, chunked', 'xchunked', 'chunked, chunked', 'identity']) {
            const t0 = Date.now();
            const r = await rawRequest(srv,
                `POST /api/v1/auth/token/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: ${te}\r\n\r\n2\r\n{}\r\n`,
                { timeout: 5000 });
            assert.equal(r.status, 501, te);
            assert.match(r.body.toString(), /Only the chunked transfer coding is supported/);
            assert.ok(Date.now() - t0 < 4000, `${te}: answered at once`);
        }
        // plain chunked still works
        const ok = await rawRequest(srv,
            `POST /api/v1/auth/token/verify/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\nd\r\n{"token":"x"}\r\n0\r\n\r\n`);
        assert.equal(ok.status, 401);
    });

    test('the 303 of /api/v1/check/token/ has a Location (item 6)', async () => {
        const r = await api(srv, 'GET', '/api/v1/check/token/');
        assert.equal(r.status, 303);
        assert.equal(r.headers.get('location'), '/upload/');
        assert.match(r.json.detail, /Put the upload token in the URL/);
    });

    test('upload tokens are cut to a prefix in the access log (item 6)', async () => {
        const t = await mkTicket(ctx);
        await putUpload(srv, t.token, 'tok.log', 'x');
        await api(srv, 'GET', `/api/v1/check/token/${t.token}/`);
        const prefix = t.token.slice(0, 8);
        await waitForLine(srv, new RegExp(`"PUT /upload/${prefix}\\.\\.\\./tok\\.log HTTP`));
        await waitForLine(srv, new RegExp(`"GET /api/v1/check/token/${prefix}\\.\\.\\./ HTTP`));
        assert.ok(!srv.output().includes(t.token), 'the whole token is nowhere in the log');
    });

    test("libmicrohttpd's own refusals are JSON with our security headers (item 6)", async () => {
        const cases = [
            [`GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ${'a'.repeat(200000)}\r\n\r\n`, 431,
                'Request header fields too large.'],
            ['GET / HTTP/7.1\r\nHost: 127.0.0.1\r\n\r\n', 505, 'HTTP version not supported.'],
            ['POST /api/v1/auth/token/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n\r\n',
                400, 'Bad request.'],
        ];
        for (const [req, status, detail] of cases) {
            const r = await rawRequest(srv, req);
            assert.equal(r.status, status, req.slice(0, 40));
            assert.equal(r.headers['content-type']?.[0], 'application/json');
            assert.deepEqual(JSON.parse(r.body.toString()), { detail });
            assert.equal(r.headers['x-content-type-options']?.[0], 'nosniff');
            assert.match(r.headers['content-security-policy']?.[0] ?? '', /frame-ancestors 'none'/);
        }
    });

    test('a request head of 16 KiB of headers and more is taken, as nginx and browsers may send (LIMIT_CONN_MEMORY)', async () => {
        // header lines of `line` bytes each until the head has at least `size` bytes
        const head = (size, line) => {
            let h = 'GET /api/v1/check/health/ HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n';
            for (let i = 0; h.length < size; i++) {
                const name = `X-Pad-${i}: `;
                h += `${name}${'a'.repeat(line - name.length - 2)}\r\n`;
            }
            return `${h}\r\n`;
        };
        for (const [size, line] of [[16 * 1024, 40], [16 * 1024, 8000], [32 * 1024, 100], [48 * 1024, 16000]]) {
            const req = head(size, line);
            assert.ok(req.length >= size);
            const r = await rawRequest(srv, req);
            assert.equal(r.status, 200, `a head of ${req.length} bytes in ${line}-byte lines`);
        }
    });

    test('a Range end past the file is clamped: 206 (item 6)', async () => {
        const t = await mkTicket(ctx);
        const data = bytes(1000, 3);
        const up = await putUpload(srv, t.token, 'r.bin', data);
        assert.equal(up.status, 201);
        for (const range of ['bytes=0-99999999999999999999', 'bytes=10-999999999999999999999999999999']) {
            const res = await fetch(`${srv.url}/api/v1/archives/${up.json.id}/download/`, {
                headers: { Authorization: `Bearer ${ctx.jwt}`, Range: range },
            });
            const got = Buffer.from(await res.arrayBuffer());
            assert.equal(res.status, 206, range);
            const start = Number(range.match(/=(\d+)-/)[1]);
            assert.equal(res.headers.get('content-range'), `bytes ${start}-999/1000`);
            assert.deepEqual(got, data.subarray(start));
        }
    });

    test('an unknown ticket in a move or a staff upload is named as a ticket (item 8)', async () => {
        const t = await mkTicket(ctx);
        const up = await putUpload(srv, t.token, 'm.log', 'x');
        const r = await api(srv, 'PATCH', `/api/v1/archives/${up.json.id}/`, { token: ctx.jwt, json: { ticket: 987654 } });
        expectJson(r, 400, { ticket: ['Ticket 987654 does not exist.'] });
        const s = await postUpload(srv, [{ name: 'ticket', data: '987654' }, ...filePart('x')], { jwt: ctx.jwt });
        expectJson(s, 400, { ticket: ['Ticket 987654 does not exist.'] });
    });

    test('uploads that end without an archive are logged as the client saw them (items 13, 17)', async () => {
        // a staff form with the file before the ticket
        const s = await postUpload(srv, [...filePart('x'), { name: 'ticket', data: '1' }], { jwt: ctx.jwt });
        expectFields(s, ['ticket']);
        await waitForLine(srv, /upload \(ticket not given\) from 127\.0\.0\.1 refused with 400 validation/);
        assert.ok(!/upload to ticket 0 /.test(srv.output()));
    });
});

test('expires_at is time_create plus UPLOAD_TOKEN_TTL exactly: one clock per request (item 14)', async () => {
    const srv = await startServer({ env: { UPLOAD_TOKEN_TTL: '7d' } });
    try {
        const ctx = await setup(srv);
        for (let i = 0; i < 3; i++) {
            const t = await mkTicket(ctx);
            const us = (s) => BigInt(Date.parse(s)) * 1000n + BigInt(s.match(/\.\d{3}(\d{3})/)[1]);
            assert.equal(us(t.expires_at) - us(t.time_create), 7n * 86400n * 1000000n, JSON.stringify(t));
        }
    } finally {
        await stopAndCheck(srv);
    }
});

describe('login limits', () => {
    let srv;
    before(async () => {
        srv = await startServer({ env: { TRUSTED_PROXIES: '127.0.0.1' } });
        for (const name of ['bob', 'carol']) {
            const made = await runCli(['user', 'create', name, '--password-stdin'],
                { env: srv.env, input: `${name}-password-1\n` });
            assert.equal(made.code, 0, made.stderr);
        }
    });
    after(() => stopAndCheck(srv));

    const attempt = (user, password, ip) => api(srv, 'POST', '/api/v1/auth/token/', {
        json: { username: user, password }, headers: ip ? { 'X-Forwarded-For': ip } : {},
    });

    test('40 parallel wrong passwords: at most 5 get to try (item 2)', async () => {
        const all = await Promise.all(Array.from({ length: 40 }, () => attempt('admin', 'wrong-password', '192.0.2.1')));
        const counts = {};
        for (const r of all) counts[r.status] = (counts[r.status] ?? 0) + 1;
        assert.deepEqual(counts, { 401: 5, 429: 35 }, JSON.stringify(counts));
        for (const r of all.filter((x) => x.status === 429)) assert.ok(Number(r.headers.get('retry-after')) >= 1);
    });

    test('a good password clears only its own username (item 3)', async () => {
        const ip = '192.0.2.2';
        // 4 wrong guesses at admin, then bob logs in from the same address
        for (let i = 0; i < 4; i++) assert.equal((await attempt('admin', `guess-${i}`, ip)).status, 401);
        assert.equal((await attempt('bob', 'bob-password-1', ip)).status, 200);
        // the address has one failure left, not five
        assert.equal((await attempt('admin', 'guess-4', ip)).status, 401);
        assert.equal((await attempt('admin', 'guess-5', ip)).status, 429);
        assert.equal((await attempt('bob', 'bob-password-1', ip)).status, 429, 'the address is blocked for everybody');
        assert.equal((await attempt('bob', 'bob-password-1', '192.0.2.3')).status, 200, 'another address is not');
    });

    test('failures count per username across addresses (item 3)', async () => {
        for (let i = 0; i < 10; i++)
            assert.equal((await attempt('bob', `wrong-${i}`, `198.51.100.${i + 1}`)).status, 401, `try ${i}`);
        const r = await attempt('bob', 'bob-password-1', '198.51.100.200');
        assert.equal(r.status, 429, 'bob is locked for the window whatever the address');
        assert.match(r.json.detail, /Too many failed login attempts/);
        assert.equal((await attempt('carol', 'carol-password-1', '198.51.100.201')).status, 200, 'carol is not');
    });

    test('X-Forwarded-For padded past any buffer: the proxy-added entry is the client (item 4)', async () => {
        // 127.0.0.1 is a trusted proxy here; the attacker pads, the proxy appends 203.0.113.77
        const padding = Array(600).fill('6.6.6.6').join(', ');
        const marker = `/api/v1/xff-${Date.now()}`;
        await api(srv, 'GET', marker, { headers: { 'X-Forwarded-For': `${padding}, 203.0.113.77` } });
        const line = await waitForLine(srv, new RegExp(marker.replace(/[/.]/g, '\\$&')));
        assert.match(line, /^203\.0\.113\.77 /, line);
        const spaces = `${' '.repeat(1016)}6.6.6.6, 203.0.113.78`;
        const m2 = `${marker}-2`;
        await api(srv, 'GET', m2, { headers: { 'X-Forwarded-For': spaces } });
        assert.match(await waitForLine(srv, new RegExp(m2.replace(/[/.]/g, '\\$&'))), /^203\.0\.113\.78 /);
    });
});

describe('command line and docs', () => {
    test('commands other than serve/migrate never create a data directory (item 9)', async () => {
        const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'lc-cwd-'));
        try {
            for (const args of [['user', 'list'], ['user', 'passwd', 'admin', '--password-stdin'], ['cleanup']]) {
                const r = await runCli(args, { env: {}, cwd, input: 'long-enough-pw\n' });
                assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
                assert.match(r.stderr, new RegExp(`DATA_DIR: the data directory ${cwd}/data does not exist`));
                assert.match(r.stderr, /DATA_DIR=\/path\/to\/data/);
                assert.ok(!fs.existsSync(path.join(cwd, 'data')), `${args.join(' ')} made ./data`);
            }
        } finally {
            fs.rmSync(cwd, { recursive: true, force: true });
        }
    });

    test('every subcommand has its own usage; a short password is a usage error (item 10)', async () => {
        const v = await runCli(['version', '--help']);
        assert.equal(v.code, 0);
        assert.match(v.stdout, /^Usage: logs-collector version/);
        for (const sub of ['create', 'passwd', 'list', 'delete']) {
            const r = await runCli(['user', sub, '--help']);
            assert.equal(r.code, 0, sub);
            assert.match(r.stdout, new RegExp(`^Usage: logs-collector user ${sub}`), sub);
        }
        assert.match((await runCli(['user', 'create', '--help'])).stdout, /at least 8 characters/);
        const dir = makeDataDir();
        try {
            const mig = await runCli(['migrate'], { env: { DATA_DIR: dir } });
            assert.equal(mig.code, 0, mig.stderr);
            const short = await runCli(['user', 'create', 'carol', '--password-stdin'], { env: { DATA_DIR: dir }, input: 'short\n' });
            assert.equal(short.code, 2, short.stderr);
            assert.match(short.stderr, /a password has at least 8 characters/);
            const badname = await runCli(['user', 'create', 'a b', '--password-stdin'], { env: { DATA_DIR: dir }, input: 'long-enough\n' });
            assert.equal(badname.code, 2);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    test("docs/configuration.md's BIND example is the real message (item 13)", async () => {
        const doc = fs.readFileSync(path.join(ROOT, 'docs/configuration.md'), 'utf8');
        const shown = doc.match(/^logs-collector: BIND: .*$/m)[0];
        const value = shown.match(/got "([^"]*)"/)[1];
        const r = await runCli(['serve'], { env: { BIND: value, DATA_DIR: '/nonexistent' }, cwd: os.tmpdir() });
        assert.equal(r.code, 2);
        assert.equal(r.stderr.trim(), shown);
    });

    test('uploader.sh: plain HTTP behind https://, and the SHA-256 of a form upload (item 11)', async () => {
        const srv = await startServer();
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lc-upl-'));
        try {
            const ctx = await setup(srv);
            const t = await mkTicket(ctx);
            const file = path.join(dir, 'logs.tar.gz');
            const data = bytes(3000, 9);
            fs.writeFileSync(file, data);
            const sh = path.join(ROOT, 'scripts', 'uploader.sh');
            const tls = await run('bash', [sh, '-f', file, '-t', t.token, '-d', `https://127.0.0.1:${srv.port}`]);
            assert.equal(tls.code, 1);
            assert.match(tls.stderr, /may speak plain HTTP/);
            assert.match(tls.stderr, new RegExp(`-d http://127\\.0\\.0\\.1:${srv.port}`));
            const form = await run('bash', [sh, '-f', file, '-t', t.token, '-u', `${srv.url}/api/v1/archives/`]);
            assert.equal(form.code, 0, form.stderr);
            assert.match(form.stdout, new RegExp(`SHA-256 of the file sent: ${sha256(data)}`));
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
            await stopAndCheck(srv);
        }
    });

    test('README: the walk, the uploads and the management examples run as written (items 8, 13)', async () => {
        const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
        const blocks = [...readme.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]);
        const walk = blocks.find((b) => b.includes('# 1. Log in'));
        const oneLiner = blocks.find((b) => b.startsWith('curl -T logs.tar.gz'));
        const form = blocks.find((b) => b.startsWith('curl -H "Upload-Token: TOKEN" -F'));
        const manage = blocks.find((b) => b.includes('# All archives, or those of one ticket'));
        assert.ok(walk && oneLiner && form && manage, 'README code blocks found');

        const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'lc-readme-'));
        fs.mkdirSync(path.join(cwd, 'data'), { mode: 0o750 });
        fs.mkdirSync(path.join(cwd, 'customer'));
        fs.writeFileSync(path.join(cwd, 'customer', 'logs.tar.gz'), bytes(4096, 11));
        // the README's first start: generated admin password in ./data
        const srv = await startServer({
            dataDir: path.join(cwd, 'data'),
            env: { ADMIN_USERNAME: null, ADMIN_PASSWORD: null },
        });
        try {
            // the customer's commands run in their own directory, as on their machine
            const customer = (b) => `(cd customer && ${b.replaceAll('https://HOST', '$BASE').replaceAll('TOKEN', '$TOKEN')})`;
            const script = [
                'set -u',
                walk.replace(/^BASE=.*$/m, `BASE=${srv.url}`),
                'echo "== one-liner"', customer(oneLiner),
                'echo; echo "== form"', customer(form),
                'echo; echo "== manage"', manage,
            ].join('\n');
            const r = await run('bash', ['-c', script], { cwd });
            assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
            assert.doesNotMatch(r.stderr, /Traceback|error:|curl: \(/, r.stderr);
            const [, afterOne] = r.stdout.split('== one-liner');
            assert.match(afterOne, /"name":"logs.tar.gz"/, 'the one-liner stored the file');
            assert.doesNotMatch(r.stdout, /"detail"|does not exist/, `no refusal anywhere:\n${r.stdout}`);
            assert.match(r.stdout, /(^|\})204$/m, 'the delete answered 204');
            assert.deepEqual(fs.readFileSync(path.join(cwd, 'logs.tar.gz')),
                fs.readFileSync(path.join(cwd, 'customer', 'logs.tar.gz')), 'the download is the upload');
            const ctx = { jwt: (await login(srv, 'admin', fs.readFileSync(path.join(cwd, 'data/initial-admin-password'), 'utf8').trim())).access };
            const t = await api(srv, 'GET', '/api/v1/tickets/4242/', { token: ctx.jwt });
            assert.equal(t.json.resolved, false, 'reopened at the end');
            const moved = await api(srv, 'GET', '/api/v1/archives/?ticket=4243', { token: ctx.jwt });
            assert.equal(moved.status, 200);

            // the json helper on a failed login says what went wrong, not a traceback
            const bad = await run('bash', ['-c', `${walk.match(/^json\(\) \{[\s\S]*?\n\}$/m)[0]}
echo '{"detail": "No active account found with the given credentials"}' | json access`]);
            assert.notEqual(bad.code, 0);
            assert.match(bad.stderr, /^error: the server said: \{"detail": "No active account/);
            assert.doesNotMatch(bad.stderr, /Traceback/);
        } finally {
            await stopAndCheck(srv);
            fs.rmSync(cwd, { recursive: true, force: true });
        }
    });
});
