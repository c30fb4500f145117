// archives.test.mjs - staff side of archives: download (Range, ETag, HEAD,
// Content-Disposition), list filters and pagination, moving, delete cascades,
// and scripts/uploader.sh against a real server.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startServer, stopAndCheck, api, expectJson, ROOT } from './lib/server.mjs';
import {
    setup, mkTicket, staff, attemptsOf, archives, putUpload, listFiles,
    archivesDir, storedPath, digestOnDisk, rawAnswer, bytes, sha256, uploaded, ARCHIVE_KEYS,
} from './lib/upload-helpers.mjs';

let srv;
let ctx;

before(async () => {
    srv = await startServer();
    ctx = await setup(srv);
});
after(() => stopAndCheck(srv));

const NOT_FOUND = { detail: 'Not found.' };
const UNI = 'журнал-логов.tar.gz';

/* Uploads data through PUT and returns the staff item. */
async function upload(t, name, data) {
    return uploaded(ctx, await putUpload(srv, t.token, encodeURIComponent(name), data), `upload ${name}`);
}

/* GET (or another method) on a path with the staff JWT, returning the raw bytes. */
async function fetchBytes(p, headers = {}, method = 'GET') {
    const res = await fetch(srv.url + p, {
        method,
        headers: { Authorization: `Bearer ${ctx.jwt}`, ...headers },
        signal: AbortSignal.timeout(20000),
    });
    const body = Buffer.from(await res.arrayBuffer());
    return { status: res.status, headers: res.headers, body };
}

test('download: bytes, headers, HEAD without a body, 401 anonymous, 404 unknown', async () => {
    const t = await mkTicket(ctx, { attempts: 5 });
    const data = bytes(1000, 101);
    const a = await upload(t, UNI, data);
    const p = `/api/v1/archives/${a.id}/download/`;
    assert.equal(a.file, srv.url + p);

    const r = await fetchBytes(p);
    assert.equal(r.status, 200);
    assert.ok(r.body.equals(data), 'downloaded bytes equal the uploaded ones');
    assert.equal(r.headers.get('content-type'), 'application/octet-stream');
    assert.equal(r.headers.get('content-length'), '1000');
    assert.equal(r.headers.get('accept-ranges'), 'bytes');
    assert.equal(r.headers.get('etag'), `"${sha256(data)}"`);
    const cd = r.headers.get('content-disposition');
    assert.match(cd, /^attachment;/);
    assert.ok(cd.includes(`filename*=UTF-8''${encodeURIComponent(UNI)}`), cd);
    assert.match(cd, /filename="[\x20-\x7e]*"/, 'an ASCII fallback filename');
    // without the trailing slash, and HEAD
    const noSlash = await fetchBytes(p.slice(0, -1));
    assert.equal(noSlash.status, 200);
    assert.ok(noSlash.body.equals(data), 'the same bytes without the trailing slash');
    assert.equal(noSlash.headers.get('etag'), `"${sha256(data)}"`);
    const h = await fetchBytes(p, {}, 'HEAD');
    assert.equal(h.status, 200);
    assert.equal(h.headers.get('etag'), `"${sha256(data)}"`);
    assert.equal(h.headers.get('content-length'), '1000');
    const raw = await rawAnswer(srv,
        `HEAD ${p} HTTP/1.1\r\nHost: 127.0.0.1:${srv.port}\r\nAuthorization: Bearer ${ctx.jwt}\r\n` +
        'Connection: close\r\n\r\n', 5000);
    assert.equal(raw.status, 200);
    assert.equal(raw.headers['content-length'], '1000');
    assert.equal(raw.body.length, 0, 'HEAD sends no body bytes');

    const anon = await api(srv, 'GET', p);
    expectJson(anon, 401, { detail: 'Authentication credentials were not provided.' });
    assert.match(anon.headers.get('www-authenticate') ?? '', /^Bearer/);
    expectJson(await api(srv, 'GET', '/api/v1/archives/999999/download/', { token: ctx.jwt }), 404, NOT_FOUND);
    expectJson(await api(srv, 'GET', '/api/v1/archives/abc/download/', { token: ctx.jwt }), 404, NOT_FOUND);
    expectJson(await api(srv, 'GET', '/api/v1/archives/999999/', { token: ctx.jwt }), 404, NOT_FOUND);
});

test('download: ranges, 416, several ranges, ETag / If-None-Match / If-Range', async () => {
    const t = await mkTicket(ctx, { attempts: 5 });
    const data = bytes(1000, 102);
    const a = await upload(t, 'range.bin', data);
    const p = `/api/v1/archives/${a.id}/download/`;
    const size = data.length;
    const etag = `"${sha256(data)}"`;
    const cases = [
        ['bytes=0-0', 0, 0],
        ['bytes=-1', size - 1, size - 1],
        ['bytes=10-19', 10, 19],
        ['bytes=5-', 5, size - 1],
        [`bytes=-${size + 500}`, 0, size - 1],
        [`bytes=990-5000`, 990, size - 1],
    ];
    for (const [range, from, to] of cases) {
        const r = await fetchBytes(p, { Range: range });
        assert.equal(r.status, 206, range);
        assert.equal(r.headers.get('content-range'), `bytes ${from}-${to}/${size}`, range);
        assert.equal(r.headers.get('content-length'), String(to - from + 1), range);
        assert.ok(r.body.equals(data.subarray(from, to + 1)), `${range} bytes`);
    }
    for (const range of [`bytes=${size}-`, `bytes=${size + 10}-${size + 20}`]) {
        const r = await fetchBytes(p, { Range: range });
        assert.equal(r.status, 416, range);
        assert.equal(r.headers.get('content-range'), `bytes */${size}`, range);
    }
    const multi = await fetchBytes(p, { Range: 'bytes=0-1,5-6' });
    assert.equal(multi.status, 200, 'several ranges: the whole file');
    assert.equal(multi.headers.get('content-range'), null);
    assert.ok(multi.body.equals(data));

    const nm = await fetchBytes(p, { 'If-None-Match': etag });
    assert.equal(nm.status, 304);
    assert.equal(nm.body.length, 0);
    assert.equal(nm.headers.get('etag'), etag);
    const other = await fetchBytes(p, { 'If-None-Match': '"0000"' });
    assert.equal(other.status, 200);
    assert.ok(other.body.equals(data));

    const ir = await fetchBytes(p, { Range: 'bytes=10-19', 'If-Range': etag });
    assert.equal(ir.status, 206, 'If-Range with the current ETag: the range');
    assert.ok(ir.body.equals(data.subarray(10, 20)));
    const stale = await fetchBytes(p, { Range: 'bytes=10-19', 'If-Range': '"stale"' });
    assert.equal(stale.status, 200, 'If-Range with another ETag: the whole file');
    assert.ok(stale.body.equals(data));
});

test('download: Content-Disposition of a name with quotes and spaces', async () => {
    const t = await mkTicket(ctx, { attempts: 2 });
    const name = 'a "quoted" name.txt';
    const a = await upload(t, name, Buffer.from('q'));
    assert.equal(a.name, name);
    const r = await fetchBytes(`/api/v1/archives/${a.id}/download/`);
    assert.equal(r.status, 200);
    const cd = r.headers.get('content-disposition');
    assert.match(cd, /^attachment; filename="[^"\\]*"; filename\*=UTF-8''/, cd);
    assert.ok(cd.endsWith(`filename*=UTF-8''${encodeURIComponent(name)}`), cd);
});

test('list: newest first, filters, pagination envelope', async () => {
    const A = await mkTicket(ctx, { attempts: 10 });
    const B = await mkTicket(ctx, { attempts: 10 });
    const a1 = await upload(A, 'a1.log', Buffer.from('a1'));
    const a2 = await upload(A, 'a2.log', Buffer.from('a2'));
    const b1 = await upload(B, 'b1.log', Buffer.from('b1'));
    // one after the other, so their times (microseconds) increase: the filters below use them
    assert.ok(a1.time_create < a2.time_create && a2.time_create < b1.time_create,
        `increasing times: ${a1.time_create} ${a2.time_create} ${b1.time_create}`);
    for (const x of [a1, a2, b1]) assert.deepEqual(Object.keys(x).sort(), ARCHIVE_KEYS);
    const ids = (list) => list.map((x) => x.id);

    const all = await archives(ctx);
    assert.ok(Array.isArray(all));
    const times = all.map((x) => x.time_create);
    assert.deepEqual(times, [...times].sort().reverse(), 'newest first');
    assert.deepEqual(ids(all).slice(0, 3), [b1.id, a2.id, a1.id]);
    assert.deepEqual(all[0], b1);
    assert.deepEqual((await staff(ctx, 'GET', '/api/v1/archives')).json, all, 'without the trailing slash');

    assert.deepEqual(ids(await archives(ctx, `?ticket=${A.number}`)), [a2.id, a1.id]);
    assert.deepEqual(ids(await archives(ctx, `?ticket=${B.number}`)), [b1.id]);
    assert.deepEqual(ids(await archives(ctx, `?ticket__in=${A.number},${B.number}`)), [b1.id, a2.id, a1.id]);
    assert.deepEqual(ids(await archives(ctx, `?id=${a1.id}`)), [a1.id]);
    assert.deepEqual(ids(await archives(ctx, `?id__in=${a1.id},${b1.id}`)), [b1.id, a1.id]);
    assert.deepEqual(ids(await archives(ctx, `?id__gte=${a2.id}&id__lte=${b1.id}`)), [b1.id, a2.id]);
    assert.deepEqual(ids(await archives(ctx, `?ticket=${A.number}&id=${b1.id}`)), [], 'filters combine with AND');
    assert.deepEqual(await archives(ctx, '?ticket=987654321'), []);
    const enc = encodeURIComponent;
    assert.deepEqual(ids(await archives(ctx, `?ticket__in=${A.number},${B.number}&time_create__gte=${enc(a2.time_create)}`)),
        [b1.id, a2.id]);
    assert.deepEqual(ids(await archives(ctx, `?ticket__in=${A.number},${B.number}&time_create__lte=${enc(a2.time_create)}`)),
        [a2.id, a1.id]);
    assert.deepEqual(ids(await archives(ctx, `?time_create=${enc(a2.time_create)}`)), [a2.id]);
    // A date means that whole day in TZ (UTC here); the days are the uploads' own, so
    // this holds across midnight too.
    const day = (x) => x.time_create.slice(0, 10);
    assert.deepEqual(ids(await archives(ctx, `?ticket=${A.number}&time_create__gte=${day(a1)}`)), [a2.id, a1.id]);
    assert.deepEqual(ids(await archives(ctx, `?ticket=${A.number}&time_create__lte=${day(a2)}`)), [a2.id, a1.id]);
    assert.deepEqual(ids(await archives(ctx, `?ticket=${A.number}&time_create__gte=${day(a2)}`)),
        [a2, a1].filter((x) => day(x) >= day(a2)).map((x) => x.id));
    assert.deepEqual(await archives(ctx, `?ticket=${A.number}&time_create__lte=2000-01-01`), []);
    assert.deepEqual(await archives(ctx, `?ticket=${A.number}&time_create__gte=2999-01-01T00:00:00Z`), []);

    for (const [q, field] of [['id=abc', 'id'], ['ticket=x', 'ticket'], ['id__in=1,x', 'id__in'],
        ['id__gte=z', 'id__gte'], ['time_create__gte=yesterday', 'time_create__gte'], ['limit=-1', 'limit']]) {
        const r = await staff(ctx, 'GET', `/api/v1/archives/?${q}`);
        assert.equal(r.status, 400, `${q}: ${r.text}`);
        assert.deepEqual(Object.keys(r.json), [field], `${q}: ${r.text}`);
    }

    const page = await staff(ctx, 'GET', `/api/v1/archives/?ticket__in=${A.number},${B.number}&limit=2`);
    expectJson(page, 200);
    assert.deepEqual(Object.keys(page.json).sort(), ['count', 'next', 'previous', 'results']);
    assert.equal(page.json.count, 3);
    assert.equal(page.json.previous, null);
    assert.equal(typeof page.json.next, 'string');
    assert.match(page.json.next, /offset=2/);
    assert.deepEqual(ids(page.json.results), [b1.id, a2.id]);
    const next = await fetch(page.json.next, { headers: { Authorization: `Bearer ${ctx.jwt}` } });
    const nj = await next.json();
    assert.equal(nj.count, 3);
    assert.equal(nj.next, null);
    assert.equal(typeof nj.previous, 'string');
    assert.deepEqual(ids(nj.results), [a1.id]);
    const off = (await staff(ctx, 'GET', `/api/v1/archives/?ticket=${A.number}&offset=1`)).json;
    assert.equal(off.count, 2);
    assert.deepEqual(ids(off.results), [a1.id]);
    expectJson(await api(srv, 'GET', '/api/v1/archives/'), 401,
        { detail: 'Authentication credentials were not provided.' });
    // docs/api.md: a plain date "YYYY-MM-DD" means that day in TZ, for time_create too
    assert.deepEqual(ids(await archives(ctx, `?ticket=${A.number}&time_create=${day(a2)}`)),
        [a2, a1].filter((x) => day(x) === day(a2)).map((x) => x.id),
        'time_create=<date> matches the uploads of that day');
});

test('PATCH {"ticket": M} moves the row and the file; unknown ticket 400', async () => {
    const A = await mkTicket(ctx, { attempts: 5 });
    const B = await mkTicket(ctx, { attempts: 5 });
    const data = bytes(4096, 103);
    const a = await upload(A, 'move-me.tar.gz', data);
    const oldPath = storedPath(srv, a);
    assert.ok(fs.existsSync(oldPath));

    const bad = await staff(ctx, 'PATCH', `/api/v1/archives/${a.id}/`, { ticket: 987654321 });
    expectJson(bad, 400, { ticket: ['Ticket 987654321 does not exist.'] });
    assert.ok(fs.existsSync(oldPath), 'a refused move leaves the file');

    const r = await staff(ctx, 'PATCH', `/api/v1/archives/${a.id}/`, { ticket: B.number });
    expectJson(r, 200);
    assert.equal(r.json.id, a.id);
    assert.equal(r.json.ticket, B.number);
    assert.equal(r.json.name, 'move-me.tar.gz');
    assert.equal(r.json.sha256, a.sha256);
    const newPath = storedPath(srv, r.json);
    assert.equal(path.dirname(newPath), path.join(archivesDir(srv), String(B.number)));
    assert.ok(!fs.existsSync(oldPath), 'old path gone');
    assert.ok(fs.existsSync(newPath), 'new path under archives/<M>/');
    assert.equal(digestOnDisk('sha256sum', newPath), sha256(data));
    assert.deepEqual(listFiles(path.join(archivesDir(srv), String(A.number))), []);
    assert.deepEqual((await archives(ctx, `?ticket=${B.number}`)).map((x) => x.id), [a.id]);
    assert.deepEqual(await archives(ctx, `?ticket=${A.number}`), []);
    const dl = await fetchBytes(`/api/v1/archives/${a.id}/download/`);
    assert.equal(dl.status, 200);
    assert.ok(dl.body.equals(data));
    const tb = (await staff(ctx, 'GET', `/api/v1/tickets/${B.number}/`)).json;
    assert.equal(tb.archives, 1);
    assert.equal(tb.size, data.length);

    expectJson(await staff(ctx, 'PATCH', '/api/v1/archives/999999/', { ticket: B.number }), 404, NOT_FOUND);
    const typ = await staff(ctx, 'PATCH', `/api/v1/archives/${a.id}/`, { ticket: 'abc' });
    assert.equal(typ.status, 400, typ.text);
    assert.deepEqual(Object.keys(typ.json), ['ticket']);

    // moving onto a ticket that has a file of the same name never replaces it
    const other = bytes(100, 104);
    const c = await upload(A, 'move-me.tar.gz', other);
    const m = await staff(ctx, 'PATCH', `/api/v1/archives/${c.id}/`, { ticket: B.number });
    expectJson(m, 200);
    assert.equal(m.json.ticket, B.number);
    assert.equal(digestOnDisk('sha256sum', newPath), sha256(data), 'the first file is untouched');
    const dirB = path.join(archivesDir(srv), String(B.number));
    const filesB = listFiles(dirB);
    assert.equal(filesB.length, 2, `files of B: ${filesB}`);
    assert.deepEqual(filesB.map((f) => digestOnDisk('sha256sum', path.join(dirB, f))).sort(),
        [sha256(data), sha256(other)].sort());
    const dc = await fetchBytes(`/api/v1/archives/${c.id}/download/`);
    assert.ok(dc.body.equals(other), 'the moved archive downloads its own bytes');
    // names stay unique on a ticket ("A name already used on the ticket gets a suffix")
    assert.equal(m.json.name, 'move-me (1).tar.gz', 'the moved archive takes the suffixed name of its file');
    assert.ok(filesB.includes(m.json.name), `row name ${m.json.name} is its file (${filesB})`);

});

test('DELETE cascades: archive, ticket, platform remove the bytes', async () => {
    const T = await mkTicket(ctx, { attempts: 5 });
    const a = await upload(T, 'del.bin', bytes(2000, 105));
    const b = await upload(T, 'keep.bin', bytes(2000, 106));
    const r = await staff(ctx, 'DELETE', `/api/v1/archives/${a.id}/`);
    assert.equal(r.status, 204);
    assert.equal(r.text, '');
    assert.ok(!fs.existsSync(storedPath(srv, a)), 'file gone');
    assert.ok(fs.existsSync(storedPath(srv, b)), 'other file kept');
    expectJson(await staff(ctx, 'GET', `/api/v1/archives/${a.id}/`), 404, NOT_FOUND);
    expectJson(await staff(ctx, 'GET', `/api/v1/archives/${a.id}/download/`), 404, NOT_FOUND);
    expectJson(await staff(ctx, 'DELETE', `/api/v1/archives/${a.id}/`), 404, NOT_FOUND);
    let tk = (await staff(ctx, 'GET', `/api/v1/tickets/${T.number}/`)).json;
    assert.equal(tk.archives, 1);
    assert.equal(tk.size, 2000);

    // ticket
    await upload(T, 'more.bin', bytes(10, 107));
    assert.equal(listFiles(path.join(archivesDir(srv), String(T.number))).length, 2);
    assert.equal((await staff(ctx, 'DELETE', `/api/v1/tickets/${T.number}/`)).status, 204);
    assert.deepEqual(listFiles(path.join(archivesDir(srv), String(T.number))), [], 'ticket files gone');
    assert.deepEqual(await archives(ctx, `?ticket=${T.number}`), []);
    expectJson(await staff(ctx, 'GET', `/api/v1/archives/${b.id}/`), 404, NOT_FOUND);

    // platform with two tickets
    const pr = await staff(ctx, 'POST', '/api/v1/platforms/', { name: 'gone', pretty_name: 'Gone soon' });
    assert.equal(pr.status, 201, pr.text);
    const pctx = { ...ctx, platform: 'gone' };
    const P1 = await mkTicket(pctx, { attempts: 3, number: 900001 });
    const P2 = await mkTicket(pctx, { attempts: 3, number: 900002 });
    const keepT = await mkTicket(ctx, { attempts: 3 });
    const x1 = await upload(P1, 'p1.log', Buffer.from('p1'));
    await upload(P1, 'p1b.log', Buffer.from('p1b'));
    const x2 = await upload(P2, 'p2.log', Buffer.from('p2'));
    const kept = await upload(keepT, 'other-platform.log', Buffer.from('k'));
    assert.equal((await staff(ctx, 'DELETE', '/api/v1/platforms/gone/')).status, 204);
    assert.deepEqual(listFiles(path.join(archivesDir(srv), '900001')), []);
    assert.deepEqual(listFiles(path.join(archivesDir(srv), '900002')), []);
    assert.deepEqual(await archives(ctx, '?ticket__in=900001,900002'), []);
    expectJson(await staff(ctx, 'GET', `/api/v1/archives/${x1.id}/`), 404, NOT_FOUND);
    expectJson(await staff(ctx, 'GET', `/api/v1/archives/${x2.id}/`), 404, NOT_FOUND);
    assert.ok(fs.existsSync(storedPath(srv, kept)), 'another platform keeps its files');
    expectJson(await staff(ctx, 'GET', `/api/v1/archives/${kept.id}/`), 200, kept);
});

/* Runs scripts/uploader.sh with args; resolves {code, stdout, stderr}. */
function uploader(args) {
    return new Promise((resolve) => {
        execFile('bash', [path.join(ROOT, 'scripts', 'uploader.sh'), ...args], { timeout: 30000 },
            (err, stdout, stderr) => resolve({ code: err ? err.code : 0, stdout, stderr }));
    });
}

test('scripts/uploader.sh: success, bad token, usage error, --url form', async () => {
    const T = await mkTicket(ctx, { attempts: 5 });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lc-uploader-'));
    try {
        const data = bytes(50000, 108);
        const file = path.join(dir, 'customer-logs.tar.gz');
        fs.writeFileSync(file, data);

        const ok = await uploader(['-f', file, '-t', T.token, '-d', srv.url]);
        assert.equal(ok.code, 0, `${ok.stdout}\n${ok.stderr}`);
        assert.match(ok.stdout, /Done/);
        let rows = await archives(ctx, `?ticket=${T.number}`);
        assert.equal(rows.length, 1);
        assert.equal(rows[0].name, 'customer-logs.tar.gz');
        assert.equal(rows[0].sha256, sha256(data));
        assert.equal(await attemptsOf(srv, T.token), 4);

        const bad = await uploader(['--file', file, '--token', '00000000-0000-4000-8000-000000000000', '--dst', srv.url]);
        assert.equal(bad.code, 1, `${bad.stdout}\n${bad.stderr}`);
        assert.match(bad.stderr, /token is not valid/);
        assert.doesNotMatch(bad.stdout, /Done/);

        const usage = await uploader(['-t', T.token, '-d', srv.url]);
        assert.equal(usage.code, 2, `${usage.stdout}\n${usage.stderr}`);
        assert.match(usage.stderr, /--file/);

        const form = await uploader(['-f', file, '-t', T.token, '-u', `${srv.url}/api/v1/archives/`]);
        assert.equal(form.code, 0, `${form.stdout}\n${form.stderr}`);
        assert.match(form.stdout, /Done/);
        rows = await archives(ctx, `?ticket=${T.number}`);
        assert.equal(rows.length, 2);
        assert.deepEqual(rows.map((x) => x.name).sort(), ['customer-logs (1).tar.gz', 'customer-logs.tar.gz']);
        for (const x of rows) assert.equal(digestOnDisk('sha256sum', storedPath(srv, x)), sha256(data));
        assert.equal(await attemptsOf(srv, T.token), 3);

        // a used-up token: exit 1 with the reason in plain words
        const none = await mkTicket(ctx, { attempts: 0 });
        const locked = await uploader(['-f', file, '-t', none.token, '-d', srv.url]);
        assert.equal(locked.code, 1);
        assert.match(locked.stderr, /can no longer be used/);
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
});
