// http.test.mjs - protocol-level rules: routing, methods, bodies, limits, Host, access log,
// reverse proxies (TRUSTED_PROXIES: X-Forwarded-For and -Proto).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import http from 'node:http';
import {
    startServer, startAll, stopAndCheck, stopAll, api, login, expectJson, rawRequest, httpGet, waitForLine,
} from './lib/server.mjs';
import { setup, mkTicket, putUpload, uploaded } from './lib/upload-helpers.mjs';

let srv;
let token;

before(async () => {
    srv = await startServer();
    token = (await login(srv)).access;
});
after(() => stopAndCheck(srv));

const NOT_FOUND = { detail: 'Not found.' };
const post = (p, body, headers) => api(srv, 'POST', p, { token, body, headers });

test('trailing slash is optional on every kind of route', async () => {
    for (const p of ['/api/v1/platforms', '/api/v1/platforms/']) {
        expectJson(await api(srv, 'GET', p, { token }), 200, undefined, p);
    }
    expectJson(await api(srv, 'POST', '/api/v1/platforms', { token, json: { name: 'noslash', pretty_name: 'N' } }), 201);
    expectJson(await api(srv, 'GET', '/api/v1/platforms/noslash', { token }), 200);
    expectJson(await api(srv, 'GET', '/api/v1/platforms/noslash/', { token }), 200);
    const r = await api(srv, 'POST', '/api/v1/auth/token', { json: { username: 'admin', password: srv.password } });
    expectJson(r, 200, undefined, 'token without slash');
    expectJson(await api(srv, 'POST', '/api/v1/auth/token/verify', { json: { token: r.json.access } }), 200, {});
});

test('unknown routes: 404 JSON', async () => {
    for (const p of ['/api/v1/nope/', '/api/v1/', '/api/v2/platforms/', '/api/v1/platforms/a/b/c/',
        '/api/v1/tickets/1/token/extra/']) {
        expectJson(await api(srv, 'GET', p, { token }), 404, NOT_FOUND, p);
    }
    expectJson(await api(srv, 'POST', '/api/v1/nope/', { json: {} }), 404, NOT_FOUND, 'POST unknown');
});

test('wrong method: 405 JSON with Allow; OPTIONS answers Allow', async () => {
    let r = await api(srv, 'DELETE', '/api/v1/platforms/', { token });
    expectJson(r, 405, { detail: 'Method "DELETE" not allowed.' });
    const allow = (r.headers.get('allow') ?? '').split(',').map((s) => s.trim()).sort();
    for (const m of ['GET', 'POST']) assert.ok(allow.includes(m), `Allow ${allow} has ${m}`);
    assert.ok(!allow.includes('DELETE'));

    r = await api(srv, 'GET', '/api/v1/auth/token/');
    expectJson(r, 405, { detail: 'Method "GET" not allowed.' }, 'GET on token');
    assert.match(r.headers.get('allow') ?? '', /POST/);
    r = await api(srv, 'PUT', '/api/v1/check/health/');
    expectJson(r, 405, { detail: 'Method "PUT" not allowed.' }, 'PUT on health');
    assert.match(r.headers.get('allow') ?? '', /GET/);

    r = await api(srv, 'OPTIONS', '/api/v1/tickets/', { token });
    assert.equal(r.status, 200, `OPTIONS: ${r.text}`);
    const oa = (r.headers.get('allow') ?? '').split(',').map((s) => s.trim());
    for (const m of ['GET', 'POST']) assert.ok(oa.includes(m), `OPTIONS Allow ${oa} has ${m}`);
});

test('HEAD is answered where GET is, without a body', async () => {
    const g = await api(srv, 'GET', '/api/v1/check/health/');
    const h = await api(srv, 'HEAD', '/api/v1/check/health/');
    assert.equal(h.status, 200);
    assert.equal(h.text, '');
    assert.match(h.headers.get('content-type') ?? '', /^application\/json/);
    // On the wire: no body bytes after the headers.
    const raw = await rawRequest(srv, `HEAD /api/v1/check/health/ HTTP/1.1\r\nHost: 127.0.0.1:${srv.port}\r\nConnection: close\r\n\r\n`);
    assert.equal(raw.status, 200);
    assert.equal(raw.body.length, 0, 'HEAD body is empty');
    if (raw.headers['content-length'])
        assert.equal(Number(raw.headers['content-length'][0]), Buffer.byteLength(g.text));
    const hp = await api(srv, 'HEAD', '/api/v1/platforms/', { token });
    assert.equal(hp.status, 200);
    assert.equal(hp.text, '');
});

test('JSON bodies: content type, malformed, non-object, too deep, too large', async () => {
    let r = await post('/api/v1/platforms/', JSON.stringify({ name: 'ct', pretty_name: 'x' }), { 'Content-Type': 'text/plain' });
    expectJson(r, 415, { detail: 'Unsupported media type "text/plain" in request.' });
    r = await post('/api/v1/platforms/', JSON.stringify({ name: 'ct', pretty_name: 'x' }), { 'Content-Type': 'application/json; charset=utf-8' });
    expectJson(r, 201, undefined, 'charset parameter allowed');
    // No Content-Type at all (a Buffer body makes fetch send none): "another content
    // type" than JSON, so 415 (as the reference: DRF names the empty type).
    r = await post('/api/v1/platforms/', Buffer.from(JSON.stringify({ name: 'ct2', pretty_name: 'x' })));
    expectJson(r, 415, { detail: 'Unsupported media type "" in request.' }, 'no content type');
    expectJson(await api(srv, 'GET', '/api/v1/platforms/ct2/', { token }), 404, NOT_FOUND, 'ct2 not stored');

    for (const body of ['{"name": ', '{name: 1}', '{"a":1}}', '\u0000', '{"a":"\\x"}', 'nul']) {
        r = await post('/api/v1/platforms/', body, { 'Content-Type': 'application/json' });
        expectJson(r, 400, undefined, `malformed ${JSON.stringify(body)}`);
        assert.equal(typeof r.json.detail, 'string');
        assert.match(r.json.detail, /^JSON parse error/);
    }
    const kinds = [['[1, 2]', 'list'], ['"s"', 'str'], ['1', 'int'], ['1.5', 'float'], ['true', 'bool'], ['null', 'NoneType']];
    for (const [body, kind] of kinds) {
        r = await post('/api/v1/platforms/', body, { 'Content-Type': 'application/json' });
        expectJson(r, 400, { detail: `Invalid data. Expected a dictionary, but got ${kind}.` }, body);
    }
    const deep = '{"name": "deep", "pretty_name": "d", "x": ' + '['.repeat(100) + ']'.repeat(100) + '}';
    r = await post('/api/v1/platforms/', deep, { 'Content-Type': 'application/json' });
    expectJson(r, 400, undefined, '100 levels');
    assert.match(r.json.detail, /^JSON parse error/);
    const shallow = '{"name": "shallow", "pretty_name": "d", "x": ' + '['.repeat(20) + ']'.repeat(20) + '}';
    r = await post('/api/v1/platforms/', shallow, { 'Content-Type': 'application/json' });
    expectJson(r, 201, undefined, '21 levels is fine');

    // Just over 1 MiB, sent raw so an early answer cannot break the client.
    const big = '{"name": "big", "pretty_name": "' + 'x'.repeat(1024 * 1024) + '"}';
    const res = await rawRequest(srv,
        `POST /api/v1/platforms/ HTTP/1.1\r\nHost: 127.0.0.1:${srv.port}\r\nAuthorization: Bearer ${token}\r\n` +
        `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(big)}\r\nConnection: close\r\n\r\n` + big);
    assert.equal(res.status, 413);
    assert.deepEqual(JSON.parse(res.body.toString()), { detail: 'Request body is too large.' });
    expectJson(await api(srv, 'GET', '/api/v1/platforms/big/', { token }), 404, NOT_FOUND, 'nothing stored');
    // The same without a Content-Length: chunked, counted on the stream.
    const chunks = [{ data: `POST /api/v1/platforms/ HTTP/1.1\r\nHost: 127.0.0.1:${srv.port}\r\nAuthorization: Bearer ${token}\r\n` +
        'Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n' }];
    for (let off = 0; off < big.length; off += 65536) {
        const part = big.slice(off, off + 65536);
        chunks.push({ data: `${Buffer.byteLength(part).toString(16)}\r\n${part}\r\n` });
    }
    chunks.push({ data: '0\r\n\r\n' });
    const ch = await rawRequest(srv, chunks);
    assert.equal(ch.status, 413, 'chunked body over 1 MiB');
    assert.deepEqual(JSON.parse(ch.body.toString()), { detail: 'Request body is too large.' });
    expectJson(await api(srv, 'GET', '/api/v1/platforms/big/', { token }), 404, NOT_FOUND, 'nothing stored (chunked)');
    // Exactly 1 MiB of JSON is read (and refused on its merits, not its size).
    const pad = 1024 * 1024 - '{"name": "ok1m", "pretty_name": "p", "pad": ""}'.length;
    const exact = '{"name": "ok1m", "pretty_name": "p", "pad": "' + ' '.repeat(pad) + '"}';
    assert.equal(Buffer.byteLength(exact), 1024 * 1024);
    r = await post('/api/v1/platforms/', exact, { 'Content-Type': 'application/json' });
    expectJson(r, 201, undefined, '1 MiB body accepted');
    assert.deepEqual({ name: r.json.name, pretty_name: r.json.pretty_name }, { name: 'ok1m', pretty_name: 'p' });
    expectJson(await api(srv, 'GET', '/api/v1/platforms/ok1m/', { token }), 200, r.json, 'stored as answered');
});

test('Host header must be allowed', async () => {
    const BAD_HOST = { detail: 'Invalid Host header.' };
    let r = await httpGet(srv, '/api/v1/check/health/', { Host: 'evil.example' });
    assert.equal(r.status, 400);
    assert.deepEqual(r.json, BAD_HOST);
    r = await httpGet(srv, '/api/v1/check/health/', { Host: `evil.example:${srv.port}` });
    assert.equal(r.status, 400);
    assert.deepEqual(r.json, BAD_HOST);
    for (const host of [`localhost:${srv.port}`, 'LOCALHOST', '127.0.0.1']) {
        r = await httpGet(srv, '/api/v1/check/health/', { Host: host });
        assert.equal(r.status, 200, `Host: ${host}`);
        assert.deepEqual(r.json, { status: 'ok', database: 'ok', storage: 'ok' }, `Host: ${host}`);
    }
});

test('ambiguous framing is refused: two Content-Length, Content-Length with chunked', async () => {
    // A login that succeeds when it is framed well, so a 400 can only be the framing's.
    const body = JSON.stringify({ username: 'admin', password: srv.password });
    const n = Buffer.byteLength(body);
    const head = `POST /api/v1/auth/token/ HTTP/1.1\r\nHost: 127.0.0.1:${srv.port}\r\nContent-Type: application/json\r\n`;
    const REFUSED = { detail: 'Conflicting Content-Length / Transfer-Encoding headers.' };
    const chunked = `${n.toString(16)}\r\n${body}\r\n0\r\n\r\n`;
    // the control: each framing alone logs in
    for (const [what, req] of [
        ['Content-Length', head + `Content-Length: ${n}\r\nConnection: close\r\n\r\n` + body],
        ['chunked', head + 'Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n' + chunked],
    ]) {
        const ok = await rawRequest(srv, req);
        assert.equal(ok.status, 200, `${what} alone: ${ok.raw}`);
        assert.equal(typeof JSON.parse(ok.body.toString()).access, 'string', what);
    }
    for (const [what, req] of [
        ['two equal Content-Length', head + `Content-Length: ${n}\r\nContent-Length: ${n}\r\nConnection: close\r\n\r\n` + body],
        ['two different Content-Length', head + `Content-Length: ${n}\r\nContent-Length: ${n + 40}\r\nConnection: close\r\n\r\n` + body],
        ['Content-Length with chunked', head + `Content-Length: ${n}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n` + chunked],
    ]) {
        const r = await rawRequest(srv, req);
        assert.equal(r.status, 400, `${what}: ${r.raw}`);
        assert.deepEqual(JSON.parse(r.body.toString()), REFUSED, what);
    }
    // The server is fine afterwards.
    expectJson(await api(srv, 'GET', '/api/v1/check/health/'), 200, { status: 'ok', database: 'ok', storage: 'ok' });
});

test('access log: one line with client, user, request line, status and agent', async () => {
    const ua = `api-test-agent/${process.pid}-${Date.now()}`;
    const r = await api(srv, 'GET', '/api/v1/check/health/', { headers: { 'User-Agent': ua, 'X-Forwarded-For': '203.0.113.9' } });
    assert.equal(r.status, 200);
    const line = await waitForLine(srv, new RegExp(ua.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')));
    assert.match(line, /"GET \/api\/v1\/check\/health\/ HTTP\/1\.1" 200 /);
    assert.ok(line.includes(`"${ua}"`), `agent quoted in ${line}`);
    assert.equal(line.split(' ')[0], '127.0.0.1', `X-Forwarded-For ignored without TRUSTED_PROXIES: ${line}`);
    assert.ok(!line.includes('203.0.113.9'), line);

    const ua2 = ua + '-staff';
    await api(srv, 'GET', '/api/v1/platforms/?x=1', { token, headers: { 'User-Agent': ua2 } });
    const line2 = await waitForLine(srv, new RegExp(ua2.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')));
    assert.match(line2, /"GET \/api\/v1\/platforms\/\?x=1 HTTP\/1\.1" 200 /);
    const beforeReq = line2.slice(0, line2.indexOf('"GET'));
    assert.ok(beforeReq.split(/\s+/).includes('admin'), `user in ${line2}`);

    const ua3 = ua + '-404';
    await api(srv, 'GET', '/api/v1/nope/', { headers: { 'User-Agent': ua3 } });
    const line3 = await waitForLine(srv, new RegExp(ua3.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')));
    assert.match(line3, /"GET \/api\/v1\/nope\/ HTTP\/1\.1" 404 /);
});

test('X-Forwarded-For is believed only from TRUSTED_PROXIES', async () => {
    const s = await startServer({ env: { TRUSTED_PROXIES: '127.0.0.1' } });
    try {
        const ua = `api-test-proxy/${process.pid}-${Date.now()}`;
        await api(s, 'GET', '/api/v1/check/health/', { headers: { 'User-Agent': ua, 'X-Forwarded-For': '203.0.113.9' } });
        const line = await waitForLine(s, new RegExp(ua.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')));
        assert.equal(line.split(' ')[0], '203.0.113.9', line);
    } finally {
        await stopAndCheck(s);
    }
});

test('TRUSTED_PROXIES: the forwarded client is the one the rate limits count', async () => {
    const [s, plain] = await startAll({ env: { TRUSTED_PROXIES: '127.0.0.1' } }, {});
    try {
        const miss = (srv, xff) => httpGet(srv, `/api/v1/check/token/${crypto.randomUUID()}/`,
            xff ? { 'X-Forwarded-For': xff } : {});
        // 30 misses (the limit a minute) from 203.0.113.7 behind the proxy; half of them
        // through a longer chain: the client is the right-most address not a trusted proxy
        for (let i = 0; i < 30; i++) {
            const r = await miss(s, i % 2 ? '203.0.113.7' : '198.51.100.1, 203.0.113.7, 127.0.0.1');
            assert.equal(r.status, 404, `miss ${i + 1}: ${r.text}`);
        }
        const blocked = await miss(s, '203.0.113.7');
        assert.equal(blocked.status, 429, blocked.text);
        assert.match(String(blocked.headers['retry-after']), /^[1-9]\d*$/);
        // another client behind the same proxy, and the proxy's own requests, are not limited
        assert.equal((await miss(s, '203.0.113.8')).status, 404);
        assert.equal((await miss(s, null)).status, 404);
        const line = await waitForLine(s, /^203\.0\.113\.7 .*"GET \/api\/v1\/check\/token\/.* 429 /);
        assert.ok(line, 'the access log names the forwarded client');

        // Without TRUSTED_PROXIES the header is ignored: all misses count for 127.0.0.1.
        for (let i = 0; i < 30; i++) {
            const r = await miss(plain, `203.0.113.${i + 1}`);
            assert.equal(r.status, 404, `miss ${i + 1}: ${r.text}`);
        }
        assert.equal((await miss(plain, '203.0.113.200')).status, 429, 'a forged address does not escape the limit');
        assert.equal((await miss(plain, null)).status, 429);
    } finally {
        await stopAll(s, plain);
    }
});

test('X-Forwarded-Proto: https from a trusted proxy makes https URLs; from anyone else it is ignored', async () => {
    const hosts = 'logs.example.com,127.0.0.1';
    const [s, plain] = await startAll({ env: { TRUSTED_PROXIES: '127.0.0.1', ALLOWED_HOSTS: hosts } },
        { env: { ALLOWED_HOSTS: hosts } });
    try {
        for (const [srv, scheme] of [[s, 'https'], [plain, 'http']]) {
            const c = await setup(srv);
            const t = await mkTicket(c, { attempts: 3 });
            const ids = [];
            for (const name of ['one.log', 'two.log'])
                ids.push((await uploaded(c, await putUpload(srv, t.token, name, Buffer.from(name)))).id);
            const base = `${scheme}://logs.example.com`;
            const via = { Host: 'logs.example.com', 'X-Forwarded-Proto': 'https', Authorization: `Bearer ${c.jwt}` };
            const r = await httpGet(srv, `/api/v1/archives/?ticket=${t.number}&limit=1`, via);
            assert.equal(r.status, 200, r.text);
            assert.equal(r.json.results[0].file, `${base}/api/v1/archives/${ids[1]}/download/`, scheme);
            assert.equal(new URL(r.json.next).origin, base, `next: ${r.json.next}`);
            const one = await httpGet(srv, `/api/v1/archives/${ids[0]}/`, via);
            assert.equal(one.json.file, `${base}/api/v1/archives/${ids[0]}/download/`, scheme);
            // the upload answer too
            const up = await new Promise((resolve, reject) => {
                const req = http.request({ host: '127.0.0.1', port: srv.port, method: 'PUT', agent: false,
                    path: `/upload/${t.token}/three.log`,
                    headers: { Host: 'logs.example.com', 'X-Forwarded-Proto': 'https', 'Content-Length': '5' } }, (res) => {
                    const parts = [];
                    res.on('data', (d) => parts.push(d));
                    res.on('end', () => resolve({ status: res.statusCode, json: JSON.parse(Buffer.concat(parts)) }));
                });
                req.on('error', reject);
                req.end('three');
            });
            assert.equal(up.status, 201);
            assert.equal(up.json.file, `${base}/api/v1/archives/${up.json.id}/download/`, `${scheme} upload answer`);
        }
    } finally {
        await stopAll(s, plain);
    }
});

test('OpenAPI schema: staff only, OpenAPI 3 JSON with every route', async () => {
    expectJson(await api(srv, 'GET', '/api/v1/schema/'), 401, { detail: 'Authentication credentials were not provided.' });
    const r = await api(srv, 'GET', '/api/v1/schema/', { token, headers: { Accept: 'application/yaml' } });
    expectJson(r, 200);
    assert.match(r.json.openapi, /^3\.\d+\.\d+$/);
    assert.equal(typeof r.json.info?.title, 'string');
    const paths = Object.keys(r.json.paths ?? {});
    for (const [p, methods] of [
        ['/api/v1/auth/token/', ['post']],
        ['/api/v1/auth/token/refresh/', ['post']],
        ['/api/v1/auth/token/verify/', ['post']],
        ['/api/v1/platforms/', ['get', 'post']],
        ['/api/v1/platforms/{name}/', ['get', 'put', 'patch', 'delete']],
        ['/api/v1/tickets/', ['get', 'post']],
        ['/api/v1/tickets/{number}/', ['get', 'put', 'patch', 'delete']],
        ['/api/v1/tickets/{number}/token/', ['post']],
        ['/api/v1/check/health/', ['get']],
        ['/api/v1/check/storage/', ['get']],
        ['/api/v1/check/token/', ['get']],
        ['/api/v1/check/token/{token}/', ['get']],
        ['/api/v1/schema/', ['get']],
    ]) {
        assert.ok(paths.includes(p), `schema has ${p} (has ${paths.join(' ')})`);
        for (const m of methods) assert.ok(r.json.paths[p][m], `schema has ${m.toUpperCase()} ${p}`);
    }
});
