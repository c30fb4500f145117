// uploads.test.mjs - archive uploads: token rules before the body, success through PUT,
// multipart and real curl, MAX_UPLOAD_SIZE on the stream, parallel attempts, hostile
// file names, client abort.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
    startServer, startAll, stopAndCheck, stopAll, expectJson, within, waitFor, httpGet, RFC3339,
} from './lib/server.mjs';
import {
    setup, mkTicket, staff, attemptsOf, archives, putUpload, postUpload, filePart, multipart,
    headOnly, rawStream, listFiles, archivesDir, tmpDir, digestOnDisk, eventually, storedPath,
    assertInside, bytes, md5, sha256, uploaded, ARCHIVE_KEYS,
} from './lib/upload-helpers.mjs';

const LIMIT = 1024 * 1024; // MAX_UPLOAD_SIZE=1M
let srv; // MAX_UPLOAD_SIZE=1M
let ctx;
let full; // STORAGE_MIN_FREE=1000T: every upload is refused for space
let fctx;

before(async () => {
    [srv, full] = await startAll({ env: { MAX_UPLOAD_SIZE: '1M' } }, { env: { STORAGE_MIN_FREE: '1000T' } });
    [ctx, fctx] = await Promise.all([setup(srv), setup(full)]);
});
after(() => stopAll(srv, full));

const FILE_URL = /^http:\/\/127\.0\.0\.1:\d+\/api\/v1\/archives\/(\d+)\/download\/$/;
const randomToken = () => crypto.randomUUID();

/* Asserts the shape of an archive item and that it describes `data` stored as `name`
 * on ticket `number`. */
function checkItem(s, a, { number, name, data }) {
    assert.deepEqual(Object.keys(a).sort(), ARCHIVE_KEYS, `archive keys: ${JSON.stringify(a)}`);
    assert.ok(Number.isInteger(a.id) && a.id > 0);
    assert.equal(a.file, `${s.url}/api/v1/archives/${a.id}/download/`);
    assert.equal(a.ticket, number);
    assert.match(a.time_create, RFC3339);
    assert.match(a.time_update, RFC3339);
    assert.equal(a.name, name);
    assert.equal(a.size, data.length);
    assert.equal(a.md5, md5(data));
    assert.equal(a.sha256, sha256(data));
}

/* The refusal both upload routes give for one token, asked without sending a body. */
async function refusedBoth(s, token, status, detail, length = 1000) {
    const put = await headOnly(s, 'PUT', `/upload/${token}/x.log`, {}, length);
    assert.equal(put.status, status, `PUT ${token}: ${put.raw}`);
    assert.deepEqual(put.json, { detail }, `PUT ${token} body`);
    const post = await headOnly(s, 'POST', '/api/v1/archives/', {
        'Upload-Token': token,
        'Content-Type': 'multipart/form-data; boundary=xyz',
    }, length);
    assert.equal(post.status, status, `POST ${token}: ${post.raw}`);
    assert.deepEqual(post.json, { detail }, `POST ${token} body`);
}

test('multipart without Upload-Token: 401 before the body', async () => {
    const r = await headOnly(srv, 'POST', '/api/v1/archives/', {
        'Content-Type': 'multipart/form-data; boundary=xyz',
    });
    assert.equal(r.status, 401, String(r.raw));
    assert.deepEqual(r.json, { detail: 'Header Upload-Token is required' });
    // and with a body sent
    const b = await postUpload(srv, filePart(Buffer.from('hello')));
    expectJson(b, 401, { detail: 'Header Upload-Token is required' });
});

test('unknown and malformed tokens: 403 before the body', async () => {
    const unknown = randomToken();
    await refusedBoth(srv, unknown, 403, `token ${unknown} is not valid`);
    for (const bad of ['not-a-token', '0f0c5d1e8a1b4c539a7e3d2f1c0b9a88', 'ZZZZZZZZ-8a1b-4c53-9a7e-3d2f1c0b9a88'])
        await refusedBoth(srv, bad, 403, `token ${bad} is not valid`);
    // with the body actually sent
    const p = await putUpload(srv, unknown, 'x.log', Buffer.from('data'));
    expectJson(p, 403, { detail: `token ${unknown} is not valid` });
    const m = await postUpload(srv, filePart(Buffer.from('data')), { uploadToken: unknown });
    expectJson(m, 403, { detail: `token ${unknown} is not valid` });
    // an unknown token is refused as unknown even when the declared size is too large
    await refusedBoth(srv, unknown, 403, `token ${unknown} is not valid`, 10 * LIMIT);
    assert.deepEqual(await archives(ctx), []);
});

test('resolved ticket, no attempts, expired token: 423, no attempt used', async () => {
    const past = new Date(Date.now() - 3600 * 1000).toISOString();
    const resolved = await mkTicket(ctx, { resolved: true, attempts: 3 });
    await refusedBoth(srv, resolved.token, 423, `ticket of token ${resolved.token} already resolved`);
    const m = await postUpload(srv, filePart(Buffer.from('data')), { uploadToken: resolved.token });
    expectJson(m, 423, { detail: `ticket of token ${resolved.token} already resolved` });
    assert.equal(await attemptsOf(srv, resolved.token), 3);

    const none = await mkTicket(ctx, { attempts: 0 });
    await refusedBoth(srv, none.token, 423, `token ${none.token} has no upload attempts left`);
    const p = await putUpload(srv, none.token, 'x.log', Buffer.from('data'));
    expectJson(p, 423, { detail: `token ${none.token} has no upload attempts left` });
    assert.equal(await attemptsOf(srv, none.token), 0);

    const expired = await mkTicket(ctx, { attempts: 2, expires_at: past });
    await refusedBoth(srv, expired.token, 423, `token ${expired.token} expired`);
    const e = await putUpload(srv, expired.token, 'x.log', Buffer.from('data'));
    expectJson(e, 423, { detail: `token ${expired.token} expired` });
    assert.equal(await attemptsOf(srv, expired.token), 2);

    // the order of the rules: resolved before attempts before expiry
    const all3 = await mkTicket(ctx, { resolved: true, attempts: 0, expires_at: past });
    await refusedBoth(srv, all3.token, 423, `ticket of token ${all3.token} already resolved`);
    const noneExpired = await mkTicket(ctx, { attempts: 0, expires_at: past });
    await refusedBoth(srv, noneExpired.token, 423, `token ${noneExpired.token} has no upload attempts left`);
    // expiry before the declared size
    await refusedBoth(srv, expired.token, 423, `token ${expired.token} expired`, 10 * LIMIT);

    // resolving an open ticket locks its token at once
    const open = await mkTicket(ctx, { attempts: 2 });
    const r = await staff(ctx, 'PATCH', `/api/v1/tickets/${open.number}/`, { resolved: true });
    assert.equal(r.status, 200, r.text);
    await refusedBoth(srv, open.token, 423, `ticket of token ${open.token} already resolved`);
    assert.equal(await attemptsOf(srv, open.token), 2);
    assert.deepEqual(await archives(ctx), []);
    assert.deepEqual(listFiles(tmpDir(srv)), []);
});

test('declared Content-Length over MAX_UPLOAD_SIZE: 413 before the body, no attempt used', async () => {
    const t = await mkTicket(ctx, { attempts: 2 });
    const detail = `Upload is larger than the limit of ${LIMIT} bytes.`;
    await refusedBoth(srv, t.token, 413, detail, 2 * LIMIT);
    await refusedBoth(srv, t.token, 413, detail, LIMIT + 1);
    assert.equal(await attemptsOf(srv, t.token), 2);
    // exactly the limit is accepted
    const data = bytes(LIMIT, 7);
    const ok = await uploaded(ctx, await putUpload(srv, t.token, 'limit.bin', data));
    checkItem(srv, ok, { number: t.number, name: 'limit.bin', data });
    assert.equal(await attemptsOf(srv, t.token), 1);
});

test('free space under STORAGE_MIN_FREE: 507 before the body, no attempt used', async () => {
    const t = await mkTicket(fctx, { attempts: 2 });
    const detail = 'Not enough free space in storage for this upload.';
    await refusedBoth(full, t.token, 507, detail, 1000);
    const p = await putUpload(full, t.token, 'x.log', Buffer.from('some bytes'));
    expectJson(p, 507, { detail });
    const m = await postUpload(full, filePart(Buffer.from('some bytes')), { uploadToken: t.token });
    expectJson(m, 507, { detail });
    assert.equal(await attemptsOf(full, t.token), 2);
    // token rules come first
    const resolved = await mkTicket(fctx, { resolved: true });
    await refusedBoth(full, resolved.token, 423, `ticket of token ${resolved.token} already resolved`);
    assert.deepEqual(await archives(fctx), []);
    assert.deepEqual(listFiles(archivesDir(full)), []);
    assert.deepEqual(listFiles(tmpDir(full)), []);
});

test('multipart without a file part, empty files: 400, no attempt used', async () => {
    const t = await mkTicket(ctx, { attempts: 3 });
    const nofile = await postUpload(srv, [{ name: 'comment', data: 'no file here' }], { uploadToken: t.token });
    expectJson(nofile, 400, { file: ['No file was submitted.'] });
    const empty = await postUpload(srv, filePart(Buffer.alloc(0), 'empty.log'), { uploadToken: t.token });
    expectJson(empty, 400, { file: ['The submitted file is empty.'] });
    const put = await putUpload(srv, t.token, 'empty.log', Buffer.alloc(0));
    expectJson(put, 400, { detail: 'The submitted file is empty.' });
    assert.equal(await attemptsOf(srv, t.token), 3);
    assert.deepEqual(await archives(ctx, `?ticket=${t.number}`), []);
    assert.deepEqual(listFiles(path.join(archivesDir(srv), String(t.number))), []);
    assert.deepEqual(listFiles(tmpDir(srv)), []);
});

test('multipart with two file parts: 400, nothing stored', async () => {
    const t = await mkTicket(ctx, { attempts: 3 });
    let two;
    try {
        two = await postUpload(srv, [
            { name: 'file', filename: 'a.log', data: 'aaa' },
            { name: 'file', filename: 'b.log', data: 'bbb' },
        ], { uploadToken: t.token });
    } catch (e) {
        assert.fail(`two file parts: no HTTP answer (${e.cause?.message ?? e.message})`);
    }
    assert.equal(two.status, 400, `two file parts: ${two.text}`);
    assert.match(two.headers.get('content-type') ?? '', /^application\/json/);
    assert.deepEqual(Object.keys(two.json), ['file']);
    assert.ok(await eventually(() => listFiles(tmpDir(srv)).length === 0), 'tmp/ empty');
    assert.deepEqual(await archives(ctx, `?ticket=${t.number}`), []);
    assert.deepEqual(listFiles(path.join(archivesDir(srv), String(t.number))), []);
});

test('PUT like curl: 100 Continue, 201 item, digests equal the bytes and the stored file', async () => {
    const t = await mkTicket(ctx, { attempts: 5 });
    const data = bytes(300 * 1024 + 17, 11);
    const up = rawStream(srv,
        `PUT /upload/${t.token}/logs.tar.gz HTTP/1.1\r\nHost: 127.0.0.1:${srv.port}\r\n` +
        `User-Agent: curl/7.88.1\r\nAccept: */*\r\nContent-Length: ${data.length}\r\n` +
        'Expect: 100-continue\r\n\r\n');
    await waitFor(() => up.sawContinue, { timeout: 10000, what: 'the 100 Continue of an acceptable upload' });
    await up.write(data);
    const r = await within(up.response, 20000, 'the answer to the upload');
    assert.ok(r, 'an answer');
    assert.equal(r.status, 201, String(r.raw));
    assert.match(r.headers['content-type'], /^application\/json/);
    up.sock.destroy();
    const a = await uploaded(ctx, { status: r.status, json: r.json, text: String(r.body) });
    checkItem(srv, a, { number: t.number, name: 'logs.tar.gz', data });
    const file = storedPath(srv, a);
    assert.equal(fs.statSync(file).size, data.length);
    assert.equal(digestOnDisk('md5sum', file), md5(data));
    assert.equal(digestOnDisk('sha256sum', file), sha256(data));
    assert.deepEqual(listFiles(path.join(archivesDir(srv), String(t.number))), ['logs.tar.gz']);
    assert.equal(await attemptsOf(srv, t.token), 4);
    let tk = (await staff(ctx, 'GET', `/api/v1/tickets/${t.number}/`)).json;
    assert.equal(tk.archives, 1);
    assert.equal(tk.size, data.length);

    // the same through fetch, and without a name: "archive"
    const d2 = bytes(5000, 12);
    const r2 = await putUpload(srv, t.token, null, d2);
    const a2 = await uploaded(ctx, r2);
    checkItem(srv, a2, { number: t.number, name: 'archive', data: d2 });
    assert.equal(digestOnDisk('sha256sum', storedPath(srv, a2)), sha256(d2));
    assert.equal(await attemptsOf(srv, t.token), 3);
    tk = (await staff(ctx, 'GET', `/api/v1/tickets/${t.number}/`)).json;
    assert.equal(tk.archives, 2);
    assert.equal(tk.size, data.length + d2.length);
    // PUT answers with the full archive item (docs/api.md: "Answer: 201 with the archive item")
    assert.deepEqual(r.json, a, 'PUT /upload answer is the archive item');
    assert.deepEqual(r2.json, a2, 'PUT /upload answer is the archive item');
    assert.deepEqual(listFiles(tmpDir(srv)), []);
});

test('multipart upload: anonymous gets exactly {file, ticket}; staff gets the item', async () => {
    const t = await mkTicket(ctx, { attempts: 4 });
    const data = bytes(70000, 21);
    const r = await postUpload(srv, [
        { name: 'comment', data: 'before the file' },
        { name: 'file', filename: 'form.tar.gz', data },
    ], { uploadToken: t.token });
    expectJson(r, 201);
    assert.deepEqual(Object.keys(r.json).sort(), ['file', 'ticket']);
    assert.equal(r.json.ticket, t.number);
    const m = r.json.file.match(FILE_URL);
    assert.ok(m, `file URL ${r.json.file}`);
    const item = (await staff(ctx, 'GET', `/api/v1/archives/${m[1]}/`)).json;
    checkItem(srv, item, { number: t.number, name: 'form.tar.gz', data });
    assert.equal(digestOnDisk('md5sum', storedPath(srv, item)), md5(data));
    assert.equal(await attemptsOf(srv, t.token), 3);

    // token and a staff JWT: the full item
    const d2 = bytes(1234, 22);
    const r2 = await postUpload(srv, filePart(d2, 'staff.log'), { uploadToken: t.token, jwt: ctx.jwt });
    expectJson(r2, 201);
    checkItem(srv, r2.json, { number: t.number, name: 'staff.log', data: d2 });
    assert.equal(await attemptsOf(srv, t.token), 2);

    // staff without a token: "ticket" field before the file, no attempt used
    const d3 = bytes(999, 23);
    const r3 = await postUpload(srv, [
        { name: 'ticket', data: String(t.number) },
        { name: 'file', filename: 'bystaff.log', data: d3 },
    ], { jwt: ctx.jwt });
    expectJson(r3, 201);
    checkItem(srv, r3.json, { number: t.number, name: 'bystaff.log', data: d3 });
    assert.equal(await attemptsOf(srv, t.token), 2);
    const tk = (await staff(ctx, 'GET', `/api/v1/tickets/${t.number}/`)).json;
    assert.equal(tk.archives, 3);
    assert.equal(tk.size, data.length + d2.length + d3.length);
});

test('real curl -T file URL/: 201, the name is the file base name', async () => {
    const t = await mkTicket(ctx, { attempts: 2 });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lc-curl-'));
    try {
        const data = bytes(200 * 1024, 31);
        const file = path.join(dir, 'real-logs.tar.gz');
        fs.writeFileSync(file, data);
        const out = await new Promise((resolve, reject) => {
            execFile('curl', ['-sS', '-T', file, '-w', '\n%{http_code}', `${srv.url}/upload/${t.token}/`],
                { timeout: 20000 }, (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout)));
        });
        const lines = out.trimEnd().split('\n');
        assert.equal(lines.at(-1), '201', out);
        const item = await uploaded(ctx, { status: 201, json: JSON.parse(lines.slice(0, -1).join('\n')), text: out });
        checkItem(srv, item, { number: t.number, name: 'real-logs.tar.gz', data });
        assert.equal(digestOnDisk('sha256sum', storedPath(srv, item)), sha256(data));
        assert.equal(await attemptsOf(srv, t.token), 1);
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
});

/* Streams `total` bytes as a chunked body (no Content-Length) in 64 KiB chunks;
 * stops writing once the server answered or closed. Resolves the answer. */
async function chunkedUpload(s, head, total, prefix = Buffer.alloc(0), suffix = Buffer.alloc(0)) {
    const up = rawStream(s, head);
    const chunk = bytes(64 * 1024, 41);
    const frame = (b) => Buffer.concat([Buffer.from(b.length.toString(16) + '\r\n'), b, Buffer.from('\r\n')]);
    let answered = false;
    up.response.then(() => { answered = true; });
    if (prefix.length) await up.write(frame(prefix));
    for (let sent = 0; sent < total && !answered; sent += chunk.length)
        if (!(await up.write(frame(chunk)))) break;
    if (!answered) {
        if (suffix.length) await up.write(frame(suffix));
        await up.write('0\r\n\r\n');
    }
    const r = await within(up.response, 20000, 'the answer to a chunked upload');
    up.sock.destroy();
    return r;
}

test('chunked uploads without a Content-Length: PUT and multipart stored whole, 201', async () => {
    const t = await mkTicket(ctx, { attempts: 3 });
    const chunk = bytes(64 * 1024, 41); // what chunkedUpload sends, 10 times here
    const data = Buffer.concat(Array(10).fill(chunk));
    const r = await chunkedUpload(srv,
        `PUT /upload/${t.token}/chunked.bin HTTP/1.1\r\nHost: 127.0.0.1:${srv.port}\r\n` +
        'Transfer-Encoding: chunked\r\n\r\n', data.length);
    assert.ok(r, 'an HTTP answer');
    const a = await uploaded(ctx, { status: r.status, json: r.json, text: String(r.raw) }, 'chunked PUT');
    checkItem(srv, a, { number: t.number, name: 'chunked.bin', data });
    assert.deepEqual(r.json, a, 'PUT answers with the archive item');
    assert.equal(digestOnDisk('sha256sum', storedPath(srv, a)), sha256(data));
    assert.equal(await attemptsOf(srv, t.token), 2);
    // multipart, chunked as well
    const { body, type } = multipart(filePart(Buffer.alloc(0), 'chunked-form.bin'));
    const cut = body.indexOf('\r\n\r\n') + 4; // after the part's headers
    const r2 = await chunkedUpload(srv,
        `POST /api/v1/archives/ HTTP/1.1\r\nHost: 127.0.0.1:${srv.port}\r\nUpload-Token: ${t.token}\r\n` +
        `Content-Type: ${type}\r\nTransfer-Encoding: chunked\r\n\r\n`, data.length,
        body.subarray(0, cut), body.subarray(cut));
    assert.ok(r2, 'an HTTP answer');
    const a2 = await uploaded(ctx, { status: r2.status, json: r2.json, text: String(r2.raw) }, 'chunked multipart');
    checkItem(srv, a2, { number: t.number, name: 'chunked-form.bin', data });
    assert.equal(digestOnDisk('md5sum', storedPath(srv, a2)), md5(data));
    assert.equal(await attemptsOf(srv, t.token), 1);
    assert.deepEqual(listFiles(tmpDir(srv)), []);
});

test('MAX_UPLOAD_SIZE on the stream: chunked 2 MiB → 413, no row, no file', async () => {
    const t = await mkTicket(ctx, { attempts: 3 });
    const detail = `Upload is larger than the limit of ${LIMIT} bytes.`;
    const r = await chunkedUpload(srv,
        `PUT /upload/${t.token}/big.bin HTTP/1.1\r\nHost: 127.0.0.1:${srv.port}\r\n` +
        'Transfer-Encoding: chunked\r\n\r\n', 2 * LIMIT);
    assert.ok(r, 'an HTTP answer before the connection closed');
    assert.equal(r.status, 413, String(r.raw));
    assert.deepEqual(r.json, { detail });
    // multipart, no Content-Length either
    const { body, type } = multipart(filePart(Buffer.alloc(0), 'big2.bin'));
    const cut = body.indexOf('\r\n\r\n') + 4; // after the part's headers
    const r2 = await chunkedUpload(srv,
        `POST /api/v1/archives/ HTTP/1.1\r\nHost: 127.0.0.1:${srv.port}\r\nUpload-Token: ${t.token}\r\n` +
        `Content-Type: ${type}\r\nTransfer-Encoding: chunked\r\n\r\n`, 2 * LIMIT,
        body.subarray(0, cut), body.subarray(cut));
    assert.ok(r2, 'an HTTP answer before the connection closed');
    assert.equal(r2.status, 413, String(r2.raw));
    assert.deepEqual(r2.json, { detail });
    assert.ok(await eventually(() => listFiles(tmpDir(srv)).length === 0), `tmp/ empty: ${listFiles(tmpDir(srv))}`);
    assert.deepEqual(await archives(ctx, `?ticket=${t.number}`), []);
    assert.deepEqual(listFiles(path.join(archivesDir(srv), String(t.number))), []);
    // the attempts were used (documented: a failure after the first byte uses its attempt)
    assert.equal(await attemptsOf(srv, t.token), 1);
});

test('10 parallel uploads on a token with 3 attempts: exactly 3 succeed', async () => {
    const t = await mkTicket(ctx, { attempts: 3 });
    const data = bytes(64 * 1024, 51);
    const rs = await Promise.all(Array.from({ length: 10 }, (_, i) =>
        putUpload(srv, t.token, `par-${i}.bin`, data).catch((e) => ({ status: 'error', text: String(e.cause ?? e) }))));
    const statuses = rs.map((r) => r.status).sort();
    assert.deepEqual(statuses, [201, 201, 201, 423, 423, 423, 423, 423, 423, 423],
        rs.map((r) => `${r.status} ${r.text}`).join('\n'));
    for (const r of rs.filter((x) => x.status === 423))
        assert.deepEqual(r.json, { detail: `token ${t.token} has no upload attempts left` });
    assert.equal(await attemptsOf(srv, t.token), 0);
    const rows = await archives(ctx, `?ticket=${t.number}`);
    assert.equal(rows.length, 3);
    const files = listFiles(path.join(archivesDir(srv), String(t.number)));
    assert.deepEqual(files, rows.map((a) => a.name).sort());
    for (const a of rows) assert.equal(digestOnDisk('sha256sum', storedPath(srv, a)), sha256(data));
    assert.ok(await eventually(() => listFiles(tmpDir(srv)).length === 0), 'tmp/ empty');
});

test('10 uploads past the token check at once, then their bodies: exactly 3 succeed, 7 × 423', async () => {
    const t = await mkTicket(ctx, { attempts: 3 });
    const data = bytes(64 * 1024, 52);
    // every request passes the header-time check (3 attempts left) before any body byte:
    // its "100 Continue" says so
    const ups = Array.from({ length: 10 }, (_, i) => rawStream(srv,
        `PUT /upload/${t.token}/race-${i}.bin HTTP/1.1\r\nHost: 127.0.0.1:${srv.port}\r\n` +
        `Content-Length: ${data.length}\r\nExpect: 100-continue\r\n\r\n`));
    await waitFor(() => ups.every((u) => u.sawContinue),
        { timeout: 10000, what: `100 Continue on all 10 (${ups.filter((u) => u.sawContinue).length} so far)` });
    assert.equal(await attemptsOf(srv, t.token), 3, 'no attempt taken before a body byte');
    await Promise.all(ups.map((u) => u.write(data)));
    const rs = await Promise.all(ups.map((u) => within(u.response, 20000, 'the answer to an upload')));
    for (const u of ups) u.sock.destroy();
    const statuses = rs.map((r) => (r ? r.status : String(r))).sort();
    assert.deepEqual(statuses, [201, 201, 201, 423, 423, 423, 423, 423, 423, 423],
        'statuses (null: connection closed without an answer)');
    for (const r of rs.filter((x) => x.status === 423))
        assert.deepEqual(r.json, { detail: `token ${t.token} has no upload attempts left` });
    assert.equal(await attemptsOf(srv, t.token), 0);
    assert.ok(await eventually(() => listFiles(tmpDir(srv)).length === 0), 'tmp/ empty');
    const rows = await archives(ctx, `?ticket=${t.number}`);
    assert.equal(rows.length, 3);
    assert.deepEqual(listFiles(path.join(archivesDir(srv), String(t.number))), rows.map((a) => a.name).sort());
});

const UNI = 'журнал-логов.tar.gz';
const LONG = 'x'.repeat(293) + '.tar.gz'; // 300 bytes

/* Asserts a stored name is harmless and its file sits directly in archives/<ticket>/. */
function checkSafe(s, a) {
    assert.ok(a.name.length > 0);
    assert.doesNotMatch(a.name, /[\x00-\x1f\x7f/\\]/, `name ${JSON.stringify(a.name)}`);
    assert.ok(!a.name.startsWith('.'), `name ${JSON.stringify(a.name)}`);
    assert.ok(Buffer.byteLength(a.name) <= 255);
    const dir = path.join(archivesDir(s), String(a.ticket));
    const file = storedPath(s, a);
    assert.ok(fs.existsSync(file), `${file} exists`);
    assertInside(dir, file);
    assert.equal(path.dirname(file), dir);
}

test('hostile names through the PUT URL', async () => {
    const t = await mkTicket(ctx, { attempts: 20 });
    const cases = [
        [encodeURIComponent('../../etc/passwd'), 'passwd'],
        ['a/b', 'b'],
        ['%2E%2E%2F%2E%2E%2Fsecret.txt', 'secret.txt'],
        [encodeURIComponent('.htaccess'), 'htaccess'],
        [encodeURIComponent(UNI), UNI],
        [encodeURIComponent(LONG), null],
        ['ctl%01name%1F.log', 'ctlname.log'],
        ['%FF%FEbad-utf8.log', 'bad-utf8.log'],
        ['...', 'archive'],
    ];
    for (const [raw, expected] of cases) {
        const data = Buffer.from(`content of ${raw}`);
        const a = await uploaded(ctx, await putUpload(srv, t.token, raw, data), `PUT name ${raw}`);
        checkSafe(srv, a);
        if (expected !== null) assert.equal(a.name, expected, `PUT name ${raw}`);
        assert.equal(digestOnDisk('sha256sum', storedPath(srv, a)), sha256(data));
    }
    const long = (await archives(ctx, `?ticket=${t.number}`)).find((a) => a.name.startsWith('xxx'));
    assert.equal(Buffer.byteLength(long.name), 255);
    assert.ok(long.name.endsWith('.tar.gz'), long.name);
    // a NUL byte
    const nul = await uploaded(ctx, await putUpload(srv, t.token, 'nul%00byte.txt', Buffer.from('nul')), 'PUT name with %00');
    checkSafe(srv, nul);
    // nothing escaped DATA_DIR/archives/<ticket>/
    assert.ok(!fs.existsSync(path.join(srv.dataDir, 'etc')));
    for (const f of listFiles(archivesDir(srv))) assert.equal(f.split('/').length, 2, f);
});

test('hostile names through the multipart filename', async () => {
    const t = await mkTicket(ctx, { attempts: 20 });
    const cases = [
        ['../../etc/passwd', 'passwd'],
        ['a/b', 'b'],
        ['C:\\Users\\me\\..\\evil.exe', 'evil.exe'],
        ['.htaccess', 'htaccess'],
        [UNI, UNI],
        [LONG, null],
        [Buffer.from('ctl\x01name\x1f.log'), 'ctlname.log'],
        [Buffer.from([0xff, 0xfe, ...Buffer.from('bad-utf8.log')]), 'bad-utf8.log'],
        ['', 'archive'],
    ];
    for (const [fname, expected] of cases) {
        const data = Buffer.from(`content of ${fname}`);
        const r = await postUpload(srv, filePart(data, fname), { uploadToken: t.token, jwt: ctx.jwt });
        expectJson(r, 201, undefined, `multipart name ${JSON.stringify(String(fname))}`);
        checkSafe(srv, r.json);
        if (expected !== null) assert.equal(r.json.name, expected, `multipart name ${JSON.stringify(String(fname))}`);
        if (expected === null) {
            assert.equal(Buffer.byteLength(r.json.name), 255);
            assert.ok(r.json.name.endsWith('.tar.gz'), r.json.name);
        }
        assert.equal(digestOnDisk('md5sum', storedPath(srv, r.json)), md5(data));
    }
    const nul = await postUpload(srv, filePart(Buffer.from('nul'), Buffer.from('nul\x00byte.txt')),
        { uploadToken: t.token, jwt: ctx.jwt });
    expectJson(nul, 201, undefined, 'multipart name with NUL');
    checkSafe(srv, nul.json);
    assert.ok(!fs.existsSync(path.join(srv.dataDir, 'etc')));
    for (const f of listFiles(archivesDir(srv))) assert.equal(f.split('/').length, 2, f);
});

test('the same name twice on a ticket: "name (1).ext", never replacing', async () => {
    const t = await mkTicket(ctx, { attempts: 5 });
    const names = [];
    for (let i = 0; i < 3; i++) {
        const data = bytes(100 + i, 60 + i);
        const a = await uploaded(ctx, i === 1
            ? await postUpload(srv, filePart(data, 'dup.tar.gz'), { uploadToken: t.token })
            : await putUpload(srv, t.token, 'dup.tar.gz', data));
        names.push(a.name);
        assert.equal(digestOnDisk('sha256sum', storedPath(srv, a)), sha256(data));
    }
    assert.deepEqual(names, ['dup.tar.gz', 'dup (1).tar.gz', 'dup (2).tar.gz']);
    const r = await uploaded(ctx, await putUpload(srv, t.token, 'plain', Buffer.from('p')));
    const r2 = await uploaded(ctx, await putUpload(srv, t.token, 'plain', Buffer.from('q')));
    assert.equal(r.name, 'plain');
    assert.equal(r2.name, 'plain (1)');
    assert.deepEqual(listFiles(path.join(archivesDir(srv), String(t.number))),
        ['dup (1).tar.gz', 'dup (2).tar.gz', 'dup.tar.gz', 'plain', 'plain (1)']);
    // the first file still holds the first bytes
    assert.equal(digestOnDisk('sha256sum', path.join(archivesDir(srv), String(t.number), 'dup.tar.gz')),
        sha256(bytes(100, 60)));
});

test('client gone mid-upload: temp file removed, no row, the attempt is used', async () => {
    const t = await mkTicket(ctx, { attempts: 5 });
    const total = 512 * 1024;
    const up = rawStream(srv,
        `PUT /upload/${t.token}/gone.bin HTTP/1.1\r\nHost: 127.0.0.1:${srv.port}\r\n` +
        `Content-Length: ${total}\r\n\r\n`);
    await up.write(bytes(total / 2, 71));
    assert.ok(await eventually(() => listFiles(tmpDir(srv)).length === 1, 5000), 'a temp file while streaming');
    assert.equal(await attemptsOf(srv, t.token), 4, 'the attempt is taken at the first byte');
    up.sock.destroy();
    assert.ok(await eventually(() => listFiles(tmpDir(srv)).length === 0, 5000),
        `temp file removed within 5 s: ${listFiles(tmpDir(srv))}`);
    assert.deepEqual(await archives(ctx, `?ticket=${t.number}`), []);
    assert.deepEqual(listFiles(path.join(archivesDir(srv), String(t.number))), []);
    assert.equal(await attemptsOf(srv, t.token), 4);

    // multipart too
    const { body, type } = multipart(filePart(bytes(total, 72), 'gone2.bin'));
    const up2 = rawStream(srv,
        `POST /api/v1/archives/ HTTP/1.1\r\nHost: 127.0.0.1:${srv.port}\r\nUpload-Token: ${t.token}\r\n` +
        `Content-Type: ${type}\r\nContent-Length: ${body.length}\r\n\r\n`);
    await up2.write(body.subarray(0, body.length / 2));
    assert.ok(await eventually(() => listFiles(tmpDir(srv)).length === 1, 5000), 'a temp file while streaming');
    up2.sock.destroy();
    assert.ok(await eventually(() => listFiles(tmpDir(srv)).length === 0, 5000), 'temp file removed within 5 s');
    assert.deepEqual(await archives(ctx, `?ticket=${t.number}`), []);
    assert.equal(await attemptsOf(srv, t.token), 3);
});

test('IDLE_TIMEOUT drops a silent upload (file removed, attempt used), not a slow one that keeps sending', async () => {
    const s = await startServer({ env: { IDLE_TIMEOUT: '2' } });
    try {
        const c = await setup(s);
        const t = await mkTicket(c, { attempts: 5 });
        // After two idle seconds the server also closes fetch's pooled keep-alive
        // connections, racing a request sent on one: from here on, one connection a request.
        const get = async (p) => {
            const r = await httpGet(s, p, { Authorization: `Bearer ${c.jwt}` });
            assert.equal(r.status, 200, `GET ${p}: ${r.text}`);
            return r.json;
        };
        const total = 1024 * 1024;
        const silent = rawStream(s,
            `PUT /upload/${t.token}/silent.bin HTTP/1.1\r\nHost: 127.0.0.1:${s.port}\r\n` +
            `Content-Length: ${total}\r\n\r\n`);
        await silent.write(bytes(100 * 1024, 81));
        await waitFor(() => listFiles(tmpDir(s)).length === 1, { timeout: 10000, what: 'the temp file of the upload' });
        const lastByte = Date.now();
        // then nothing: the server hangs up on its own
        await within(silent.closed, 30000, 'the server to drop the silent upload');
        const idle = Date.now() - lastByte;
        assert.ok(idle >= 1000, `dropped after being silent for IDLE_TIMEOUT=2 s, not before (${idle} ms)`);
        await waitFor(() => listFiles(tmpDir(s)).length === 0, { timeout: 10000, what: 'the partial file removed' });
        assert.deepEqual(await get(`/api/v1/archives/?ticket=${t.number}`), []);
        assert.deepEqual(listFiles(archivesDir(s)), []);
        assert.equal((await get(`/api/v1/check/token/${t.token}/`)).attempts, 4, 'the attempt was used');

        // An idle timeout, not a limit on the whole request: 8 parts 0.5 s apart, 4 s in
        // all, twice IDLE_TIMEOUT, arrive whole.
        const data = bytes(8 * 32 * 1024, 82);
        const slow = rawStream(s,
            `PUT /upload/${t.token}/slow.bin HTTP/1.1\r\nHost: 127.0.0.1:${s.port}\r\n` +
            `Content-Length: ${data.length}\r\n\r\n`);
        const started = Date.now();
        for (let i = 0; i < 8; i++) {
            if (i) await new Promise((resolve) => setTimeout(resolve, 500));
            assert.ok(await slow.write(data.subarray(i * 32 * 1024, (i + 1) * 32 * 1024)), `part ${i} sent`);
        }
        const r = await within(slow.response, 20000, 'the answer to the slow upload');
        slow.sock.destroy();
        assert.ok(Date.now() - started > 2000, 'the upload took longer than IDLE_TIMEOUT');
        assert.ok(r, 'an answer');
        assert.equal(r.status, 201, String(r.raw));
        checkItem(s, r.json, { number: t.number, name: 'slow.bin', data });
        assert.deepEqual(await get(`/api/v1/archives/${r.json.id}/`), r.json);
        assert.equal(digestOnDisk('sha256sum', storedPath(s, r.json)), sha256(data));
        await stopAndCheck(s);
    } finally {
        if (!s.stopped) await s.stop();
    }
});

test('too many unknown tokens from one client: 429 with Retry-After, before the body', async () => {
    const s = await startServer();
    try {
        for (let i = 0; i < 30; i++) {
            const tok = randomToken();
            const r = await headOnly(s, i % 2 ? 'PUT' : 'POST', i % 2 ? `/upload/${tok}/x.log` : '/api/v1/archives/', {
                'Upload-Token': tok, 'Content-Type': 'multipart/form-data; boundary=xyz',
            });
            assert.equal(r.status, 403, `miss ${i + 1}: ${r.raw}`);
        }
        for (const [method, p, tok] of [['PUT', `/upload/${randomToken()}/x.log`], ['POST', '/api/v1/archives/', randomToken()]]) {
            const headers = { 'Content-Type': 'multipart/form-data; boundary=xyz' };
            if (tok) headers['Upload-Token'] = tok;
            const r = await headOnly(s, method, p, headers);
            assert.equal(r.status, 429, `${method} after 30 misses: ${r.raw}`);
            assert.match(r.headers['retry-after'] ?? '', /^[1-9]\d*$/, 'Retry-After in seconds');
            assert.equal(typeof r.json?.detail, 'string');
        }
    } finally {
        await stopAndCheck(s);
    }
});
