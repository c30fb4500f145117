// tus.test.mjs - resumable uploads (tus 1.0.0 at /api/v1/uploads/): the protocol as raw
// requests, the token rules, the guarantees (restart, concurrency, expiry, nothing lost or
// left behind), and tus-js-client, a client nobody here wrote, driving the server.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { createRequire } from 'node:module';
import { proxy } from './lib/proxy.mjs';
import {
    ROOT, startServer, stopAndCheck, makeDataDir, api, expectJson, login, makeClock, waitFor, rawRequest,
} from './lib/server.mjs';
import {
    setup, mkTicket, staff, attemptsOf, archives, bytes, md5, sha256, listFiles, putUpload, headOnly, rawStream,
} from './lib/upload-helpers.mjs';

const require = createRequire(path.join(ROOT, 'tests', 'package.json'));
const tus = require('tus-js-client');

const MiB = 1024 * 1024;
const TUS = { 'Tus-Resumable': '1.0.0' };
const b64 = (s) => Buffer.from(s).toString('base64');
const partialDir = (srv) => path.join(srv.dataDir, 'partial');

/* One tus request; headers merged over Tus-Resumable. */
function tusReq(srv, method, p, headers = {}, body) {
    return api(srv, method, p, { headers: { ...TUS, ...headers }, body });
}

/* Creates an upload; asserts 201; resolves its path (/api/v1/uploads/ID). */
async function create(srv, token, length, extra = {}) {
    const r = await tusReq(srv, 'POST', '/api/v1/uploads/', {
        'Upload-Token': token, 'Upload-Length': String(length),
        'Upload-Metadata': `filename ${b64('logs.tar.gz')},filetype ${b64('application/gzip')}`,
        ...extra,
    });
    assert.equal(r.status, 201, `create: ${r.text}`);
    const loc = r.headers.get('location');
    assert.match(loc, new RegExp(`^${srv.url}/api/v1/uploads/[0-9a-f]{32}$`));
    return loc.slice(srv.url.length);
}

function patch(srv, p, token, offset, body, extra = {}) {
    return tusReq(srv, 'PATCH', p, {
        'Upload-Token': token, 'Upload-Offset': String(offset),
        'Content-Type': 'application/offset+octet-stream', ...extra,
    }, body);
}

/* A PATCH on a raw socket to port: its head (Content-Length: length) and the
 * first bytes of its body sent, the rest left to the test (to hold the upload,
 * go silent or be cut off). Resolves the socket. */
async function rawPatch(port, p, token, length, first) {
    const sock = net.connect(port, '127.0.0.1');
    await new Promise((r) => sock.once('connect', r));
    sock.write(`PATCH ${p} HTTP/1.1\r\nHost: 127.0.0.1\r\nTus-Resumable: 1.0.0\r\nUpload-Token: ${token}\r\n` +
        `Upload-Offset: 0\r\nContent-Type: application/offset+octet-stream\r\nContent-Length: ${length}\r\n\r\n`);
    sock.write(first);
    return sock;
}

async function offsetOf(srv, p, token) {
    const r = await tusReq(srv, 'HEAD', p, { 'Upload-Token': token });
    assert.equal(r.status, 200, `HEAD ${p}`);
    return Number(r.headers.get('upload-offset'));
}

/* A client that goes away mid-PATCH: the first `sent` bytes of data reach the
 * upload's file, then the connection is cut. Resolves the offset the server
 * kept (what HEAD says once the request's save is done). */
async function breakOff(srv, p, token, data, sent) {
    const sock = await rawPatch(srv.port, p, token, data.length, data.subarray(0, sent));
    const file = path.join(partialDir(srv), `${p.slice(-32)}.data`);
    await waitFor(() => fs.statSync(file).size >= sent, { what: `${sent} bytes on disk` });
    sock.destroy();
    return waitFor(async () => {
        const o = await offsetOf(srv, p, token);
        return o > 0 ? o : null;
    }, { what: 'the kept offset' });
}

/* tus-js-client in Node, from a Buffer; resolves {url, archiveId, sha256, progress}. */
function tusClient(srv, data, { token, chunkSize = 8 * MiB, name = 'client.bin', retryDelays = [0, 500, 1000, 2000, 4000, 8000], onProgress, creationWithUpload = false } = {}) {
    return new Promise((resolve, reject) => {
        const got = { archiveId: null, sha256: null, progress: [] };
        const upload = new tus.Upload(data, {
            endpoint: `${srv.url}/api/v1/uploads/`,
            headers: { 'Upload-Token': token },
            metadata: { filename: name, filetype: 'application/octet-stream' },
            chunkSize,
            retryDelays,
            uploadDataDuringCreation: creationWithUpload,
            storeFingerprintForResuming: false,
            onAfterResponse(req, res) {
                if (res.getHeader('Archive-Id')) {
                    got.archiveId = Number(res.getHeader('Archive-Id'));
                    got.sha256 = res.getHeader('Archive-Sha256');
                }
            },
            onProgress(sent, total) {
                got.progress.push(sent);
                onProgress?.(sent, total, upload);
            },
            onError: reject,
            onSuccess() {
                got.url = upload.url;
                resolve(got);
            },
        });
        upload.start();
    });
}

describe('tus on one server', () => {
    let srv;
    let ctx;
    before(async () => {
        srv = await startServer({ env: { MAX_UPLOAD_SIZE: '64M', CSRF_TRUSTED_ORIGINS: 'https://portal.example.com' } });
        ctx = await setup(srv);
    });
    after(() => stopAndCheck(srv));

    test('OPTIONS tells the version, extensions, checksums and maximum size', async () => {
        for (const p of ['/api/v1/uploads/', '/api/v1/uploads/0123456789abcdef0123456789abcdef']) {
            const r = await api(srv, 'OPTIONS', p);
            assert.equal(r.status, 204, p);
            assert.equal(r.headers.get('tus-resumable'), '1.0.0');
            assert.equal(r.headers.get('tus-version'), '1.0.0');
            assert.deepEqual(r.headers.get('tus-extension').split(','),
                ['creation', 'creation-with-upload', 'termination', 'expiration', 'checksum']);
            assert.equal(r.headers.get('tus-checksum-algorithm'), 'md5,sha1,sha256');
            assert.equal(r.headers.get('tus-max-size'), String(64 * MiB));
        }
    });

    test('CORS: a trusted origin gets its preflight and can read the answers; others do not', async () => {
        const pre = await api(srv, 'OPTIONS', '/api/v1/uploads/', {
            headers: { Origin: 'https://portal.example.com', 'Access-Control-Request-Method': 'POST',
                'Access-Control-Request-Headers': 'upload-token,tus-resumable,upload-length' },
        });
        assert.equal(pre.status, 204);
        assert.equal(pre.headers.get('access-control-allow-origin'), 'https://portal.example.com');
        assert.match(pre.headers.get('access-control-allow-methods'), /PATCH/);
        assert.match(pre.headers.get('access-control-allow-headers'), /Upload-Token/);
        const t = await mkTicket(ctx);
        const r = await tusReq(srv, 'POST', '/api/v1/uploads/', {
            Origin: 'https://portal.example.com', 'Upload-Token': t.token, 'Upload-Length': '10',
        });
        assert.equal(r.status, 201);
        assert.equal(r.headers.get('access-control-allow-origin'), 'https://portal.example.com');
        assert.match(r.headers.get('access-control-expose-headers'), /Location.*Upload-Offset/);
        const other = await api(srv, 'OPTIONS', '/api/v1/uploads/', {
            headers: { Origin: 'https://evil.example.com', 'Access-Control-Request-Method': 'POST' },
        });
        assert.equal(other.headers.get('access-control-allow-origin'), null);
        assert.equal(other.headers.get('access-control-allow-methods'), null);
    });

    test('creation follows the token rules in order, before anything is taken', async () => {
        const post = (headers) => tusReq(srv, 'POST', '/api/v1/uploads/', { 'Upload-Length': '100', ...headers });
        expectJson(await post({}), 401, { detail: 'Header Upload-Token is required' });
        const unknown = '00000000-0000-4000-8000-000000000000';
        expectJson(await post({ 'Upload-Token': unknown }), 403, { detail: `token ${unknown} is not valid` });
        const resolved = await mkTicket(ctx, { resolved: true });
        expectJson(await post({ 'Upload-Token': resolved.token }), 423, { detail: `ticket of token ${resolved.token} already resolved` });
        const none = await mkTicket(ctx, { attempts: 0 });
        expectJson(await post({ 'Upload-Token': none.token }), 423, { detail: `token ${none.token} has no upload attempts left` });
        const expired = await mkTicket(ctx, { expires_at: new Date(Date.now() - 3600e3).toISOString() });
        expectJson(await post({ 'Upload-Token': expired.token }), 423, { detail: `token ${expired.token} expired` });
        const t = await mkTicket(ctx, { attempts: 2 });
        const noVersion = await api(srv, 'POST', '/api/v1/uploads/', { headers: { 'Upload-Token': t.token, 'Upload-Length': '10' } });
        expectJson(noVersion, 412, { detail: 'Tus-Resumable: 1.0.0 is required.' });
        assert.equal(noVersion.headers.get('tus-version'), '1.0.0');
        expectJson(await tusReq(srv, 'POST', '/api/v1/uploads/', { 'Upload-Token': t.token }), 400, { detail: 'Upload-Length is required.' });
        expectJson(await post({ 'Upload-Token': t.token, 'Upload-Length': '0' }), 400, { detail: 'The file is empty.' });
        expectJson(await post({ 'Upload-Token': t.token, 'Upload-Length': String(64 * MiB + 1) }), 413,
            { detail: `Upload is larger than the limit of ${64 * MiB} bytes.` });
        for (const bad of ['filename', 'filename !!!', `filename ${b64('a')},filename ${b64('b')}`, ` ,`, 'k v w', 'x'.repeat(5000)]) {
            const r = await post({ 'Upload-Token': t.token, 'Upload-Metadata': bad });
            assert.equal(r.status, bad === 'filename' ? 201 : 400, `metadata ${bad.slice(0, 20)}: ${r.text}`);
            if (r.status === 201) await tusReq(srv, 'DELETE', r.headers.get('location').slice(srv.url.length), { 'Upload-Token': t.token });
        }
        assert.equal(await attemptsOf(srv, t.token), 1, 'only the valid creation took an attempt');
    });

    test('creation and PATCH refuse before the body, though their checks run on a worker', async () => {
        // POST and PATCH check the token, the upload and its files on the worker pool
        // (ROUTE_WORKER stream rows) while the connection waits: a client that asked
        // for 100-continue still gets the refusal instead of "100 Continue", and one
        // that was let in gets "100 Continue" and its 204
        const t = await mkTicket(ctx);
        const other = await mkTicket(ctx);
        const p = await create(srv, t.token, 100);
        const unknown = '00000000-0000-4000-8000-000000000000';
        const stream = { ...TUS, 'Content-Type': 'application/offset+octet-stream' };
        let r = await headOnly(srv, 'POST', '/api/v1/uploads/', { ...stream, 'Upload-Token': unknown, 'Upload-Length': '100' }, 100);
        assert.equal(r.status, 403);
        assert.deepEqual(r.json, { detail: `token ${unknown} is not valid` });
        r = await headOnly(srv, 'PATCH', p, { ...stream, 'Upload-Token': other.token, 'Upload-Offset': '0' }, 100);
        assert.equal(r.status, 403);
        r = await headOnly(srv, 'PATCH', p, { ...stream, 'Upload-Token': t.token, 'Upload-Offset': '7' }, 100);
        assert.equal(r.status, 409);
        assert.equal(r.headers['upload-offset'], '0');
        // a client that sends its body at once is answered after it (drained)
        const late = await rawRequest(srv, [{ data: Buffer.concat([Buffer.from(`PATCH ${p} HTTP/1.1\r\nHost: 127.0.0.1\r\n` +
            `Tus-Resumable: 1.0.0\r\nUpload-Token: ${other.token}\r\nUpload-Offset: 0\r\n` +
            'Content-Type: application/offset+octet-stream\r\nContent-Length: 100\r\n\r\n'), bytes(100)]), delay: 0 }]);
        assert.equal(late.status, 403);
        const s = rawStream(srv, `PATCH ${p} HTTP/1.1\r\nHost: 127.0.0.1\r\nTus-Resumable: 1.0.0\r\n` +
            `Upload-Token: ${t.token}\r\nUpload-Offset: 0\r\nContent-Type: application/offset+octet-stream\r\n` +
            'Content-Length: 100\r\nExpect: 100-continue\r\n\r\n');
        await waitFor(() => s.sawContinue, { what: '100 Continue' });
        await s.write(bytes(100, 3));
        r = await s.response;
        assert.equal(r.status, 204, `${r.body}`);
        assert.ok(r.headers['archive-id']);
        assert.equal(await attemptsOf(srv, t.token), 4);
    });

    test('clients that hang up while their request waits for a worker leave no row, no file, no lock', async () => {
        // Logins (argon2, on the worker pool) keep the workers busy, so that the
        // checks of these creations and PATCHes run after their clients have gone.
        const t = await mkTicket(ctx, { attempts: 10 });
        const p = await create(srv, t.token, 100);
        const files = listFiles(partialDir(srv)).length;
        const head = (method, target, extra) => `${method} ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\n` +
            `Tus-Resumable: 1.0.0\r\nUpload-Token: ${t.token}\r\n${extra}` +
            'Content-Type: application/offset+octet-stream\r\n';
        for (let round = 0; round < 4; round++) {
            const busy = [login(srv), login(srv), login(srv)];
            await new Promise((resolve) => setTimeout(resolve, 20));
            const gone = [
                head('PATCH', p, 'Upload-Offset: 0\r\n') + 'Content-Length: 100\r\n\r\n',
                head('PATCH', p, 'Upload-Offset: 0\r\n') + 'Content-Length: 100\r\nExpect: 100-continue\r\n\r\n',
                head('POST', '/api/v1/uploads/', 'Upload-Length: 100\r\n') + '\r\n',
                head('POST', '/api/v1/uploads/', 'Upload-Length: 100\r\n') + 'Content-Length: 100\r\nExpect: 100-continue\r\n\r\n',
            ];
            await Promise.all(gone.map((h) => new Promise((resolve) => {
                const sock = net.connect(srv.port, '127.0.0.1', () => sock.end(h, () => {
                    sock.destroy();
                    resolve();
                }));
                sock.on('error', resolve);
            })));
            await Promise.all(busy);
        }
        // nothing created, no attempt taken, the upload free and at 0, nothing receiving
        await waitFor(async () => {
            const m = await api(srv, 'GET', '/metrics');
            return /^lc_uploads_in_progress 0$/m.test(m.text);
        }, { what: 'no upload in progress' });
        assert.equal(await attemptsOf(srv, t.token), 9);
        assert.equal(listFiles(partialDir(srv)).length, files);
        assert.equal(await offsetOf(srv, p, t.token), 0);
        const r = await patch(srv, p, t.token, 0, bytes(100, 4));
        assert.equal(r.status, 204, r.text);
        assert.ok(r.headers.get('archive-id'));
    });

    test('a whole upload in PATCHes becomes the archive a PUT of the same bytes would', async () => {
        const t = await mkTicket(ctx, { attempts: 3 });
        const data = bytes(3 * MiB + 17, 31);
        const p = await create(srv, t.token, data.length);
        assert.equal(await attemptsOf(srv, t.token), 2, 'creation took one attempt');
        assert.equal(await offsetOf(srv, p, t.token), 0);
        let r = await patch(srv, p, t.token, 0, data.subarray(0, MiB));
        assert.equal(r.status, 204, r.text);
        assert.equal(r.headers.get('upload-offset'), String(MiB));
        assert.match(r.headers.get('upload-expires'), /^\w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} GMT$/);
        const head = await tusReq(srv, 'HEAD', p, { 'Upload-Token': t.token });
        assert.equal(head.headers.get('upload-offset'), String(MiB));
        assert.equal(head.headers.get('upload-length'), String(data.length));
        assert.equal(head.headers.get('upload-metadata'), `filename ${b64('logs.tar.gz')},filetype ${b64('application/gzip')}`);
        assert.equal(head.headers.get('cache-control'), 'no-store');
        // wrong offset, wrong type, past the length: refused, nothing kept
        r = await patch(srv, p, t.token, 5, data.subarray(5, 10));
        expectJson(r, 409, { detail: `Upload-Offset 5 does not match the upload's ${MiB}.` });
        assert.equal(r.headers.get('upload-offset'), String(MiB));
        r = await patch(srv, p, t.token, MiB, data.subarray(MiB, MiB + 10), { 'Content-Type': 'application/octet-stream' });
        expectJson(r, 415, { detail: 'Unsupported media type "application/octet-stream" in request.' });
        r = await patch(srv, p, t.token, MiB, Buffer.concat([data.subarray(MiB), Buffer.from('extra')]));
        expectJson(r, 413, { detail: `More bytes than the Upload-Length of ${data.length}.` });
        assert.equal(await offsetOf(srv, p, t.token), MiB);
        r = await patch(srv, p, t.token, MiB, data.subarray(MiB));
        assert.equal(r.status, 204, r.text);
        assert.equal(r.headers.get('upload-offset'), String(data.length));
        const id = Number(r.headers.get('archive-id'));
        assert.equal(r.headers.get('archive-sha256'), sha256(data));
        const a = await staff(ctx, 'GET', `/api/v1/archives/${id}/`);
        assert.equal(a.json.sha256, sha256(data));
        assert.equal(a.json.md5, md5(data));
        assert.equal(a.json.size, data.length);
        assert.equal(a.json.name, 'logs.tar.gz');
        assert.equal(a.json.ticket, t.number);
        // the same bytes through PUT: the same digests
        const put = await putUpload(srv, t.token, 'same.bin', data);
        assert.equal(put.json.sha256, a.json.sha256);
        assert.equal(put.json.md5, a.json.md5);
        // no partial files left; a client whose last answer was lost asks and learns
        // that the upload is complete, and which archive it became
        assert.deepEqual(listFiles(partialDir(srv)).filter((f) => f.startsWith(p.slice(-32))), []);
        let h = await tusReq(srv, 'HEAD', p, { 'Upload-Token': t.token });
        assert.equal(h.status, 200);
        assert.equal(h.headers.get('upload-offset'), String(data.length));
        assert.equal(h.headers.get('upload-length'), String(data.length));
        assert.equal(h.headers.get('archive-id'), String(id));
        assert.equal(h.headers.get('archive-sha256'), sha256(data));
        r = await patch(srv, p, t.token, data.length, Buffer.alloc(0));
        expectJson(r, 409, { detail: `The upload is complete: it is archive ${id}.` });
        assert.equal(r.headers.get('upload-offset'), String(data.length));
        assert.equal(r.headers.get('archive-id'), String(id));
        assert.equal(await attemptsOf(srv, t.token), 1, 'resuming took no attempt; the PUT took one');
        // so it does after the ticket is resolved; only its own token learns it
        assert.equal((await staff(ctx, 'PATCH', `/api/v1/tickets/${t.number}/`, { resolved: true })).status, 200);
        h = await tusReq(srv, 'HEAD', p, { 'Upload-Token': t.token });
        assert.equal(h.status, 200);
        assert.equal(h.headers.get('archive-id'), String(id));
        const other = await mkTicket(ctx);
        assert.equal((await tusReq(srv, 'HEAD', p, { 'Upload-Token': other.token })).status, 403);
        // terminating it forgets the upload, not its archive
        assert.equal((await tusReq(srv, 'DELETE', p, { 'Upload-Token': t.token })).status, 204);
        assert.equal((await tusReq(srv, 'HEAD', p, { 'Upload-Token': t.token })).status, 404);
        assert.equal((await staff(ctx, 'GET', `/api/v1/archives/${id}/`)).status, 200);
    });

    test('checksums: a match is kept, a mismatch keeps nothing (460), an unknown algorithm is 400', async () => {
        const t = await mkTicket(ctx);
        const data = bytes(200000, 41);
        const p = await create(srv, t.token, data.length);
        const half = data.subarray(0, 100000);
        const sum = (alg, b) => `${alg} ${crypto.createHash(alg).update(b).digest('base64')}`;
        let r = await patch(srv, p, t.token, 0, half, { 'Upload-Checksum': sum('sha1', data.subarray(0, 99999)) });
        expectJson(r, 460, { detail: 'Upload-Checksum does not match the bytes received.' });
        assert.equal(await offsetOf(srv, p, t.token), 0);
        r = await patch(srv, p, t.token, 0, half, { 'Upload-Checksum': 'crc32 AAAA' });
        assert.equal(r.status, 400);
        assert.equal(r.headers.get('tus-checksum-algorithm'), 'md5,sha1,sha256');
        r = await patch(srv, p, t.token, 0, half, { 'Upload-Checksum': 'sha256 not-base64!' });
        assert.equal(r.status, 400);
        for (const [alg, from, to] of [['md5', 0, 50000], ['sha1', 50000, 100000], ['sha256', 100000, 200000]]) {
            r = await patch(srv, p, t.token, from, data.subarray(from, to), { 'Upload-Checksum': sum(alg, data.subarray(from, to)) });
            assert.equal(r.status, 204, `${alg}: ${r.text}`);
        }
        assert.equal(r.headers.get('archive-sha256'), sha256(data));
    });

    test('termination: 204, the bytes go, the attempt stays used; unknown ids are 404', async () => {
        const t = await mkTicket(ctx, { attempts: 2 });
        const p = await create(srv, t.token, 1000);
        assert.equal((await patch(srv, p, t.token, 0, bytes(400, 3))).status, 204);
        const id = p.slice(-32);
        assert.ok(listFiles(partialDir(srv)).includes(`${id}.data`));
        const r = await tusReq(srv, 'DELETE', p, { 'Upload-Token': t.token });
        assert.equal(r.status, 204, r.text);
        assert.ok(!listFiles(partialDir(srv)).some((f) => f.startsWith(id)), 'bytes and state gone');
        assert.equal((await tusReq(srv, 'HEAD', p, { 'Upload-Token': t.token })).status, 404);
        expectJson(await patch(srv, p, t.token, 400, bytes(10)), 404,
            { detail: 'No such upload (finished, terminated or expired).' });
        assert.equal(await attemptsOf(srv, t.token), 1, 'no refund');
        assert.equal((await tusReq(srv, 'HEAD', '/api/v1/uploads/ffffffffffffffffffffffffffffffff', { 'Upload-Token': t.token })).status, 404);
        // another ticket's token cannot touch this ticket's upload
        const mine = await create(srv, t.token, 10);
        const other = await mkTicket(ctx);
        expectJson(await tusReq(srv, 'DELETE', mine, { 'Upload-Token': other.token }), 403,
            { detail: `token ${other.token} is not the token of this upload` });
        const anon = await tusReq(srv, 'HEAD', mine, {});
        assert.equal(anon.status, 401); // a HEAD answer has no body
        expectJson(await tusReq(srv, 'DELETE', mine, {}), 401, { detail: 'Header Upload-Token is required' });
        assert.equal(await offsetOf(srv, mine, t.token), 0, 'still there');
    });

    test('a resolved ticket, a replaced or expired token stops the upload and removes its bytes', async () => {
        const cases = [
            ['resolved', (t) => staff(ctx, 'PATCH', `/api/v1/tickets/${t.number}/`, { resolved: true }), 423],
            ['replaced', (t) => staff(ctx, 'POST', `/api/v1/tickets/${t.number}/token/`, {}), 403],
            ['expired', (t) => staff(ctx, 'PATCH', `/api/v1/tickets/${t.number}/`, { expires_at: new Date(Date.now() - 1000).toISOString() }), 423],
        ];
        for (const [what, change, status] of cases) {
            const t = await mkTicket(ctx);
            const p = await create(srv, t.token, 1000);
            assert.equal((await patch(srv, p, t.token, 0, bytes(300, 5))).status, 204);
            const r0 = await change(t);
            assert.ok(r0.status < 300, `${what}: ${r0.text}`);
            const r = await patch(srv, p, t.token, 300, bytes(300, 6));
            assert.equal(r.status, status, `${what}: ${r.text}`);
            assert.ok(!listFiles(partialDir(srv)).some((f) => f.startsWith(p.slice(-32))), `${what}: bytes removed`);
            assert.equal((await tusReq(srv, 'HEAD', p, { 'Upload-Token': t.token })).status, 404, `${what}: gone`);
        }
    });

    test('the last attempt may still finish its upload', async () => {
        const t = await mkTicket(ctx, { attempts: 1 });
        const data = bytes(5000, 9);
        const p = await create(srv, t.token, data.length);
        assert.equal(await attemptsOf(srv, t.token), 0);
        expectJson(await tusReq(srv, 'POST', '/api/v1/uploads/', { 'Upload-Token': t.token, 'Upload-Length': '5' }), 423,
            { detail: `token ${t.token} has no upload attempts left` });
        assert.equal((await patch(srv, p, t.token, 0, data.subarray(0, 2000))).status, 204);
        const r = await patch(srv, p, t.token, 2000, data.subarray(2000));
        assert.equal(r.status, 204);
        assert.equal(r.headers.get('archive-sha256'), sha256(data));
    });

    test('exactly k creations on a token with k attempts, however many at once', async () => {
        const t = await mkTicket(ctx, { attempts: 3 });
        const all = await Promise.all(Array.from({ length: 12 }, () =>
            tusReq(srv, 'POST', '/api/v1/uploads/', { 'Upload-Token': t.token, 'Upload-Length': '10' })));
        const codes = all.map((r) => r.status).sort();
        assert.deepEqual(codes, [201, 201, 201, ...Array(9).fill(423)]);
        assert.equal(await attemptsOf(srv, t.token), 0);
    });

    test('staff create with a JWT and the ticket in the metadata, without an attempt', async () => {
        const t = await mkTicket(ctx, { attempts: 1 });
        const data = bytes(1000, 13);
        const r = await api(srv, 'POST', '/api/v1/uploads/', {
            token: ctx.jwt,
            headers: { ...TUS, 'Upload-Length': String(data.length), 'Upload-Metadata': `ticket ${b64(String(t.number))},filename ${b64('staff.log')}`,
                'Content-Type': 'application/offset+octet-stream' },
            body: data,
        });
        assert.equal(r.status, 201, r.text);
        assert.equal(r.headers.get('upload-offset'), String(data.length));
        const a = await staff(ctx, 'GET', `/api/v1/archives/${r.headers.get('archive-id')}/`);
        assert.equal(a.json.name, 'staff.log');
        assert.equal(a.json.ticket, t.number);
        assert.equal(await attemptsOf(srv, t.token), 1);
        const noTicket = await api(srv, 'POST', '/api/v1/uploads/', { token: ctx.jwt, headers: { ...TUS, 'Upload-Length': '5' } });
        expectJson(noTicket, 400, { ticket: ['Staff uploads name their ticket in Upload-Metadata (ticket).'] });
    });

    test('two PATCHes to one upload at once: one proceeds, the other gets 409; nothing written twice', async () => {
        const t = await mkTicket(ctx);
        const data = bytes(2 * MiB, 17);
        const p = await create(srv, t.token, data.length);
        // the first holds the upload: its head and part of its body, the rest later
        const sock = await rawPatch(srv.port, p, t.token, MiB, data.subarray(0, MiB / 2));
        let answer = '';
        sock.on('data', (d) => { answer += d; });
        await waitFor(() => fs.existsSync(path.join(partialDir(srv), `${p.slice(-32)}.data`)) &&
            fs.statSync(path.join(partialDir(srv), `${p.slice(-32)}.data`)).size > 0, { what: 'the first PATCH writing' });
        const second = await patch(srv, p, t.token, 0, data.subarray(0, MiB));
        expectJson(second, 409, { detail: 'Another request is sending bytes to this upload.' });
        sock.write(data.subarray(MiB / 2, MiB));
        await waitFor(() => /HTTP\/1\.1 204/.test(answer), { what: 'the first PATCH answered' });
        sock.destroy();
        assert.equal(await offsetOf(srv, p, t.token), MiB);
        const r = await patch(srv, p, t.token, MiB, data.subarray(MiB));
        assert.equal(r.headers.get('archive-sha256'), sha256(data));
    });

    test('many uploads at once, each request on a new connection the moment an answer arrives: no 409', async () => {
        // the same promise as the test below, under load: with 40 clients at once the time
        // between an answer and the end of its request is long enough that the old race
        // (the upload held until the request was freed) showed every run, while one
        // client alone rarely met it
        const tickets = [await mkTicket(ctx, { attempts: 100 }), await mkTicket(ctx, { attempts: 100 })];
        const K = 4096;
        const one = async (i) => {
            const t = tickets[i % 2];
            const head = (method, p, extra) => `${method} ${p} HTTP/1.1\r\nHost: 127.0.0.1\r\n` +
                `Tus-Resumable: 1.0.0\r\nUpload-Token: ${t.token}\r\n${extra}Connection: close\r\n`;
            const data = bytes(4 * K, 40 + i);
            const c = await rawRequest(srv, head('POST', '/api/v1/uploads/', `Upload-Length: ${data.length}\r\n`) +
                'Content-Length: 0\r\n\r\n');
            assert.equal(c.status, 201, `creation ${i}: ${c.body}`);
            const p = new URL(c.headers.location[0]).pathname;
            for (let k = 0; k < 4; k++) {
                const r = await rawRequest(srv, [
                    { data: head('PATCH', p, `Upload-Offset: ${k * K}\r\nContent-Type: application/offset+octet-stream\r\n`) +
                        `Content-Length: ${K}\r\n\r\n`, delay: 0 },
                    { data: data.subarray(k * K, (k + 1) * K), delay: 0 },
                ]);
                assert.equal(r.status, 204, `upload ${i}, PATCH ${k}: ${r.body}`);
            }
        };
        for (let round = 0; round < 3; round++) // 40 at once: under the 100 connections per address
            await Promise.all(Array.from({ length: 40 }, (_, i) => one(40 * round + i)));
    });

    test('tus answers close their connection (a kept one would hold its whole pool resident), but for a PATCH that leaves more to send', async () => {
        const t = await mkTicket(ctx);
        const c = await rawRequest(srv, `POST /api/v1/uploads/ HTTP/1.1\r\nHost: 127.0.0.1\r\nTus-Resumable: 1.0.0\r\n` +
            `Upload-Token: ${t.token}\r\nUpload-Length: 10\r\nContent-Length: 0\r\n\r\n`);
        assert.equal(c.status, 201);
        assert.deepEqual(c.headers.connection, ['close']);
        const p = new URL(c.headers.location[0]).pathname;
        for (const method of ['HEAD', 'OPTIONS']) {
            const r = await rawRequest(srv, `${method} ${p} HTTP/1.1\r\nHost: 127.0.0.1\r\nTus-Resumable: 1.0.0\r\n` +
                `Upload-Token: ${t.token}\r\n\r\n`);
            assert.deepEqual(r.headers.connection, ['close'], method);
        }
        // two PATCHes on one connection: the first leaves 5 bytes to send and keeps it, the
        // second completes the upload and closes it
        const sock = net.connect(srv.port, '127.0.0.1');
        let got = '';
        let closed = false;
        sock.on('data', (d) => { got += d.toString('latin1'); });
        sock.on('close', () => { closed = true; });
        const send = (offset, data) => sock.write(Buffer.concat([Buffer.from(`PATCH ${p} HTTP/1.1\r\nHost: 127.0.0.1\r\n` +
            `Tus-Resumable: 1.0.0\r\nUpload-Token: ${t.token}\r\nUpload-Offset: ${offset}\r\n` +
            `Content-Type: application/offset+octet-stream\r\nContent-Length: ${data.length}\r\n\r\n`), data]));
        const all = bytes(10, 5);
        send(0, all.subarray(0, 5));
        await waitFor(() => got.includes('\r\n\r\n'), { what: 'the first answer' });
        assert.match(got, /^HTTP\/1\.1 204 /);
        assert.match(got, /\r\nUpload-Offset: 5\r\n/i);
        assert.doesNotMatch(got, /\r\nConnection: close\r\n/i, 'kept for the next PATCH');
        assert.equal(closed, false);
        got = '';
        send(5, all.subarray(5));
        await waitFor(() => closed, { what: 'the connection closed after the last PATCH' });
        assert.match(got, /^HTTP\/1\.1 204 /);
        assert.match(got, /\r\nUpload-Offset: 10\r\n/i);
        assert.match(got, /\r\nConnection: close\r\n/i);
        // a client that keeps its connection (tus-js-client, curl) simply opens another
        const t2 = await mkTicket(ctx);
        const p2 = await create(srv, t2.token, 10);
        const r = await patch(srv, p2, t2.token, 0, bytes(10, 5));
        assert.equal(r.status, 204, r.text);
    });

    test('a client that goes away mid-PATCH keeps what arrived; the resume finishes it', async () => {
        const t = await mkTicket(ctx);
        const data = bytes(3 * MiB, 19);
        const p = await create(srv, t.token, data.length);
        const kept = await breakOff(srv, p, t.token, data, 2 * MiB);
        assert.ok(kept <= 2 * MiB && kept > 0, `offset ${kept}`);
        const r = await patch(srv, p, t.token, kept, data.subarray(kept));
        assert.equal(r.status, 204, r.text);
        assert.equal(r.headers.get('archive-sha256'), sha256(data));
        assert.equal(await attemptsOf(srv, t.token), 4);
    });

    test('the upload is free the moment an answer arrives: the next request on a new connection never gets 409', async () => {
        // the answer used to go out while the request still held the upload, so a
        // client quick to send its next PATCH (as tus-js-client is) could meet 409
        const t = await mkTicket(ctx);
        const piece = 10000;
        const data = bytes(40 * piece, 61);
        const p = await create(srv, t.token, data.length);
        for (let i = 0; i < 40; i++) {
            const head = `PATCH ${p} HTTP/1.1\r\nHost: 127.0.0.1\r\nTus-Resumable: 1.0.0\r\nUpload-Token: ${t.token}\r\n` +
                `Upload-Offset: ${i * piece}\r\nContent-Type: application/offset+octet-stream\r\n` +
                `Content-Length: ${piece}\r\nConnection: close\r\n\r\n`;
            const r = await rawRequest(srv, [{ data: Buffer.concat([Buffer.from(head), data.subarray(i * piece, (i + 1) * piece)]), delay: 0 }]);
            assert.equal(r.status, 204, `PATCH ${i}: ${r.body}`);
        }
        const q = await create(srv, t.token, 100);
        const one = await rawRequest(srv, [{ data: Buffer.concat([Buffer.from(`PATCH ${q} HTTP/1.1\r\nHost: 127.0.0.1\r\n` +
            `Tus-Resumable: 1.0.0\r\nUpload-Token: ${t.token}\r\nUpload-Offset: 0\r\n` +
            'Content-Type: application/offset+octet-stream\r\nContent-Length: 50\r\nConnection: close\r\n\r\n'), bytes(50)]), delay: 0 }]);
        assert.equal(one.status, 204);
        const del = await rawRequest(srv, `DELETE ${q} HTTP/1.1\r\nHost: 127.0.0.1\r\nTus-Resumable: 1.0.0\r\n` +
            `Upload-Token: ${t.token}\r\nConnection: close\r\n\r\n`);
        assert.equal(del.status, 204, `${del.body}`);
    });

    test('tus-js-client whose last answer is lost asks, learns the upload is complete, and sends nothing again', async () => {
        const t = await mkTicket(ctx);
        const data = bytes(3 * MiB + 5, 61);
        const p = await proxy(srv.port, { loseAnswer: (answer) => answer.includes('Archive-Id') });
        try {
            const got = await tusClient({ url: p.url }, data, { token: t.token, chunkSize: MiB, name: 'lost.tar.gz' });
            assert.equal(p.cuts, 1, 'the answer to the last PATCH was lost');
            assert.equal(got.sha256, sha256(data), 'the HEAD after it named the archive');
            const list = await staff(ctx, 'GET', `/api/v1/archives/?ticket=${t.number}`);
            assert.deepEqual(list.json.map((a) => [a.id, a.name, a.sha256]), [[got.archiveId, 'lost.tar.gz', sha256(data)]], 'one archive');
            assert.equal(await attemptsOf(srv, t.token), 4, 'one attempt');
        } finally {
            await p.close();
        }
    });

    test('tus-js-client uploads in 1 MiB PATCHes and with creation-with-upload', async () => {
        for (const creationWithUpload of [false, true]) {
            const t = await mkTicket(ctx);
            const data = bytes(5 * MiB + 123, creationWithUpload ? 23 : 29);
            const got = await tusClient(srv, data, { token: t.token, chunkSize: MiB, creationWithUpload, name: 'client.tar.gz' });
            assert.equal(got.sha256, sha256(data));
            const a = await staff(ctx, 'GET', `/api/v1/archives/${got.archiveId}/`);
            assert.equal(a.json.name, 'client.tar.gz');
            assert.equal(a.json.md5, md5(data));
            assert.equal(await attemptsOf(srv, t.token), 4, 'one attempt for the whole upload');
        }
    });
});

test('kill -9 in the middle of a PATCH, restart: the offset is what is safely on disk, the client resumes', async () => {
    const dataDir = makeDataDir();
    let s1;
    let s2;
    try {
        s1 = await startServer({ dataDir });
        const port = s1.port;
        const ctx = await setup(s1);
        const t = await mkTicket(ctx);
        const data = bytes(24 * MiB, 37);
        let killed = false;
        let restarting = null;
        const client = tusClient(s1, data, {
            token: t.token,
            chunkSize: 8 * MiB,
            retryDelays: [200, 500, 1000, 2000, 3000, 5000, 8000],
            onProgress(sent) {
                if (!killed && sent > 10 * MiB) {
                    killed = true;
                    s1.proc.kill('SIGKILL');
                    restarting = s1.exited.then(() => startServer({ dataDir, port, env: { ADMIN_PASSWORD: s1.password } }))
                        .then((s) => { s2 = s; });
                }
            },
        });
        const got = await client;
        await restarting;
        assert.ok(killed, 'the server was killed mid-upload');
        assert.equal(got.sha256, sha256(data));
        const jwt = (await login(s2, 'admin', s1.password)).access;
        const a = await api(s2, 'GET', `/api/v1/archives/${got.archiveId}/`, { token: jwt });
        assert.equal(a.json.sha256, sha256(data));
        assert.equal(a.json.md5, md5(data));
        assert.equal(await attemptsOf(s2, t.token), 4, 'one attempt, however many PATCHes and restarts');
        assert.deepEqual(listFiles(path.join(dataDir, 'partial')), []);
    } finally {
        if (s1 && !s1.stopped) await s1.stop().catch(() => {});
        if (s2) await stopAndCheck(s2);
        fs.rmSync(dataDir, { recursive: true, force: true });
    }
});

test('a PATCH that goes silent is dropped after IDLE_TIMEOUT; what arrived is kept for the resume', async () => {
    const srv = await startServer({ env: { IDLE_TIMEOUT: '2' } });
    try {
        const ctx = await setup(srv);
        const t = await mkTicket(ctx);
        const data = bytes(2 * MiB, 59);
        const p = await create(srv, t.token, data.length);
        const sock = await rawPatch(srv.port, p, t.token, data.length, data.subarray(0, MiB));
        let closed = false;
        sock.on('close', () => { closed = true; });
        sock.on('error', () => {});
        await waitFor(() => closed, { timeout: 15000, what: 'the silent connection dropped' });
        // From here on one connection a request: after two idle seconds the server
        // also closes pooled keep-alive connections, racing a request sent on one.
        const head = `Host: 127.0.0.1\r\nTus-Resumable: 1.0.0\r\nUpload-Token: ${t.token}\r\nConnection: close\r\n`;
        const kept = await waitFor(async () => {
            const h = await rawRequest(srv, `HEAD ${p} HTTP/1.1\r\n${head}\r\n`);
            const o = Number(h.headers['upload-offset']?.[0] ?? 0);
            return o > 0 ? o : null;
        }, { what: 'the kept offset' });
        assert.ok(kept > 0 && kept <= MiB, `offset ${kept}`);
        const r = await rawRequest(srv, [{
            data: Buffer.concat([Buffer.from(`PATCH ${p} HTTP/1.1\r\n${head}Upload-Offset: ${kept}\r\n` +
                `Content-Type: application/offset+octet-stream\r\nContent-Length: ${data.length - kept}\r\n\r\n`),
            data.subarray(kept)]),
            delay: 0,
        }]);
        assert.equal(r.status, 204);
        assert.equal(r.headers['archive-sha256']?.[0], sha256(data));
    } finally {
        await stopAndCheck(srv);
    }
});

test('uploads without progress for UPLOAD_RESUME_TTL are removed with their bytes', async () => {
    const dataDir = makeDataDir();
    const clock = makeClock();
    let srv;
    try {
        srv = await startServer({ dataDir, clock, env: { UPLOAD_RESUME_TTL: '1h' } });
        const ctx = await setup(srv);
        const t = await mkTicket(ctx, { expires_at: new Date(Date.now() + 30 * 86400e3).toISOString() });
        const old = await create(srv, t.token, 1000);
        assert.equal((await patch(srv, old, t.token, 0, bytes(100))).status, 204);
        const h = await tusReq(srv, 'HEAD', old, { 'Upload-Token': t.token });
        const expires = Date.parse(h.headers.get('upload-expires'));
        assert.ok(Math.abs(expires - (Date.now() + 3600e3)) < 120e3, `Upload-Expires ${h.headers.get('upload-expires')}`);
        const password = srv.password;
        await srv.stop({ keepDataDir: true });
        clock.set(2 * 3600); // two hours later: the start-up sweep removes it
        srv = await startServer({ dataDir, clock, env: { UPLOAD_RESUME_TTL: '1h', ADMIN_PASSWORD: password } });
        await waitFor(() => !listFiles(path.join(dataDir, 'partial')).length, { what: 'the partial files swept' });
        assert.equal((await tusReq(srv, 'HEAD', old, { 'Upload-Token': t.token })).status, 404);
    } finally {
        if (srv) await stopAndCheck(srv);
        fs.rmSync(dataDir, { recursive: true, force: true });
    }
});

/* The fast record of upload p (partial/ID.fast, two slots of the size its u32 at byte 12
 * says, each ending in the SHA-256 of the bytes before its last 32), every written slot
 * passed through mutate(slot); with recheck its check is made right again. */
function rewriteFast(dataDir, p, mutate, recheck) {
    const file = path.join(dataDir, 'partial', `${p.slice(-32)}.fast`);
    const buf = fs.readFileSync(file);
    const size = buf.readUInt32LE(buf.indexOf('lc-fast') + 12);
    let slots = 0;
    for (let at = 0; at + size <= buf.length; at += size) {
        const slot = buf.subarray(at, at + size);
        if (slot.subarray(0, 7).toString() !== 'lc-fast') continue; // never written
        mutate(slot);
        if (recheck) crypto.createHash('sha256').update(slot.subarray(0, size - 32)).digest().copy(slot, size - 32);
        slots++;
    }
    assert.ok(slots > 0, 'a fast record was written');
    fs.writeFileSync(file, buf);
}

const bootId = () => fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();

/* The fast record as another boot of the kernel wrote it. */
function otherBoot(slot) {
    const at = slot.indexOf(bootId());
    assert.ok(at > 0, 'the boot id is in the record');
    slot.write('00000000-1111-2222-3333-444444444444', at);
}

/* A fast record torn half-way. */
function torn(slot) {
    slot.fill(0, slot.length / 2);
}

/* One server on dataDir, killed with SIGKILL after fn(srv, ctx), then started again. */
async function killedBetween(dataDir, before, after) {
    let s1;
    let s2;
    try {
        s1 = await startServer({ dataDir });
        const ctx = await setup(s1);
        const state = await before(s1, ctx);
        s1.proc.kill('SIGKILL');
        await s1.exited;
        await state.meanwhile?.();
        s2 = await startServer({ dataDir, port: s1.port, env: { ADMIN_PASSWORD: s1.password } });
        const jwt = (await login(s2, 'admin', s1.password)).access;
        await after(s2, jwt, state);
    } finally {
        if (s1 && !s1.stopped) await s1.stop({ keepDataDir: true }).catch(() => {});
        if (s2) await stopAndCheck(s2);
        fs.rmSync(dataDir, { recursive: true, force: true });
    }
}

/* PATCHes the rest of data from offset; the archive has data's SHA-256 and MD5. */
async function finishUpload(srv, jwt, p, token, offset, data) {
    const r = await patch(srv, p, token, offset, data.subarray(offset));
    assert.equal(r.status, 204, r.text);
    assert.equal(r.headers.get('archive-sha256'), sha256(data));
    const a = await api(srv, 'GET', `/api/v1/archives/${r.headers.get('archive-id')}/`, { token: jwt });
    assert.equal(a.json.sha256, sha256(data));
    assert.equal(a.json.md5, md5(data));
    assert.equal(a.json.size, data.length);
}

test('kill -9 after completed PATCHes: the upload resumes at exactly their offset (the fast save of this boot)', async () => {
    const data = bytes(9 * MiB + 77, 71);
    const cut = [MiB + 13, 5 * MiB + 13];
    await killedBetween(makeDataDir(), async (s1, ctx) => {
        const t = await mkTicket(ctx);
        const p = await create(s1, t.token, data.length);
        let off = 0;
        for (const c of cut) {
            const r = await patch(s1, p, t.token, off, data.subarray(off, c));
            assert.equal(r.status, 204, r.text);
            off = c;
        }
        assert.ok(fs.existsSync(path.join(s1.dataDir, 'partial', `${p.slice(-32)}.fast`)));
        return { p, token: t.token };
    }, async (s2, jwt, { p, token }) => {
        assert.equal(await offsetOf(s2, p, token), cut[1]);
        await finishUpload(s2, jwt, p, token, cut[1], data);
        assert.equal(await attemptsOf(s2, token), 4);
    });
});

for (const [what, damage] of [['of another boot', otherBoot], ['torn', torn]]) {
    test(`a fast save ${what} is not believed: the upload goes on from its last durable save and completes`, async () => {
        const data = bytes(6 * MiB + 5, what.length);
        await killedBetween(makeDataDir(), async (s1, ctx) => {
            const t = await mkTicket(ctx);
            const p = await create(s1, t.token, data.length);
            // a PATCH that breaks off: what arrived is saved durably (the client went away)
            const durable = await breakOff(s1, p, t.token, data, 2 * MiB);
            // then a completed PATCH: a fast save only
            const more = durable + MiB + 1;
            const r = await waitFor(async () => {
                const x = await patch(s1, p, t.token, durable, data.subarray(durable, more));
                return x.status === 409 ? null : x; // the going-away save may still hold it
            }, { what: 'the PATCH after the kept offset' });
            assert.equal(r.status, 204, r.text);
            assert.equal(await offsetOf(s1, p, t.token), more);
            rewriteFast(s1.dataDir, p, () => {}, true); // this test's own rewrite is believed
            assert.equal(await offsetOf(s1, p, t.token), more);
            return { p, token: t.token, durable, meanwhile: () => rewriteFast(s1.dataDir, p, damage, damage === otherBoot) };
        }, async (s2, jwt, { p, token, durable }) => {
            assert.equal(await offsetOf(s2, p, token), durable, 'HEAD: the durable offset');
            await finishUpload(s2, jwt, p, token, durable, data);
        });
    });
}
