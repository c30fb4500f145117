// upload-helpers.mjs - helpers for the archive upload/download tests: tickets,
// raw PUT and multipart uploads, refusals before the body, files on disk.
//
// Builds on lib/server.mjs (startServer, api, rawRequest); only node built-ins.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { api, expectJson, login, sleep } from './server.mjs';

export const md5 = (buf) => crypto.createHash('md5').update(buf).digest('hex');
export const sha256 = (buf) => crypto.createHash('sha256').update(buf).digest('hex');

/* An archive item (staff view) has exactly these keys. */
export const ARCHIVE_KEYS = ['file', 'id', 'md5', 'name', 'sha256', 'size', 'ticket', 'time_create',
    'time_update'];

/*
 * Logs in as admin and creates one platform. Returns a context {srv, jwt, platform}
 * that the other helpers take, with a ticket-number counter of its own.
 */
export async function setup(srv, platform = 'vm6') {
    const { access } = await login(srv);
    const r = await api(srv, 'POST', '/api/v1/platforms/', {
        token: access, json: { name: platform, pretty_name: `Platform ${platform}` },
    });
    assert.equal(r.status, 201, `create platform: ${r.text}`);
    return { srv, jwt: access, platform, next: 1000 + crypto.randomInt(1000) };
}

/* Creates a ticket (body fields override the defaults); asserts 201, returns the item. */
export async function mkTicket(ctx, body = {}) {
    const json = { number: ctx.next++, platform: ctx.platform, ...body };
    const r = await api(ctx.srv, 'POST', '/api/v1/tickets/', { token: ctx.jwt, json });
    assert.equal(r.status, 201, `create ticket ${JSON.stringify(json)}: ${r.text}`);
    return r.json;
}

/* Staff call with the context's JWT. */
export function staff(ctx, method, p, json) {
    return api(ctx.srv, method, p, { token: ctx.jwt, json });
}

/* GET /api/v1/check/token/{token}/ → attempts left (asserts 200). */
export async function attemptsOf(srv, token) {
    const r = await api(srv, 'GET', `/api/v1/check/token/${token}/`);
    assert.equal(r.status, 200, `check token: ${r.text}`);
    return r.json.attempts;
}

/* The staff list of archives (plain array), optionally with a query string. */
export async function archives(ctx, query = '') {
    const r = await staff(ctx, 'GET', `/api/v1/archives/${query}`);
    expectJson(r, 200, undefined, `list archives ${query}`);
    return r.json;
}

/* PUT /upload/{token}/{rawName} with body via fetch (Content-Length set).
 * rawName goes into the URL as given (encode it yourself); null → no name. */
export function putUpload(srv, token, rawName, body, headers = {}) {
    const p = rawName === null ? `/upload/${token}` : `/upload/${token}/${rawName}`;
    return api(srv, 'PUT', p, { body, headers });
}

/*
 * Builds a multipart/form-data body. parts: [{name, filename?, data, type?}];
 * filename may be a Buffer (raw bytes, e.g. a NUL) or a string (UTF-8).
 * Returns {body: Buffer, type: the Content-Type header value}.
 */
export function multipart(parts) {
    const boundary = '----lc-test-' + crypto.randomBytes(12).toString('hex');
    const bufs = [];
    for (const p of parts) {
        let disp = Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${p.name}"`);
        if (p.filename !== undefined)
            disp = Buffer.concat([disp, Buffer.from('; filename="'), Buffer.from(p.filename), Buffer.from('"')]);
        bufs.push(disp, Buffer.from('\r\n'));
        if (p.filename !== undefined) bufs.push(Buffer.from(`Content-Type: ${p.type ?? 'application/octet-stream'}\r\n`));
        bufs.push(Buffer.from('\r\n'), Buffer.from(p.data), Buffer.from('\r\n'));
    }
    bufs.push(Buffer.from(`--${boundary}--\r\n`));
    return { body: Buffer.concat(bufs), type: `multipart/form-data; boundary=${boundary}` };
}

/* POST /api/v1/archives/ as multipart. opts: uploadToken, jwt, headers. */
export function postUpload(srv, parts, opts = {}) {
    const { body, type } = multipart(parts);
    const headers = { 'Content-Type': type, ...(opts.headers ?? {}) };
    if (opts.uploadToken !== undefined) headers['Upload-Token'] = opts.uploadToken;
    return api(srv, 'POST', '/api/v1/archives/', { body, headers, token: opts.jwt });
}

/* Multipart parts for one file. */
export const filePart = (data, filename = 'logs.tar.gz') => [{ name: 'file', filename, data }];

/*
 * Sends only the request head with `Expect: 100-continue` and a declared
 * Content-Length over a raw socket, never the body, and returns the answer
 * {status, headers, json, raw}. Asserts that no "100 Continue" came first: the
 * refusal must be the server's first and only answer.
 */
export async function headOnly(srv, method, p, headers = {}, length = 1000) {
    let head = `${method} ${p} HTTP/1.1\r\nHost: 127.0.0.1:${srv.port}\r\n` +
        `Content-Length: ${length}\r\nExpect: 100-continue\r\n`;
    for (const [k, v] of Object.entries(headers)) head += `${k}: ${v}\r\n`;
    head += '\r\n';
    const r = await rawAnswer(srv, head, 5000);
    const text = r.raw.toString('latin1');
    assert.doesNotMatch(text, /HTTP\/1\.[01] 100/, `no 100 Continue before the refusal: ${text}`);
    return r;
}

/*
 * Writes `head` on a fresh connection and reads one response (complete by
 * Content-Length, or at close). Resolves {status, headers, body, json, raw};
 * rejects after `timeout` ms without a complete answer.
 */
export function rawAnswer(srv, head, timeout = 5000) {
    return new Promise((resolve, reject) => {
        const sock = net.connect(srv.port, '127.0.0.1');
        let buf = Buffer.alloc(0);
        let done = false;
        const timer = setTimeout(() => finish(true), timeout);
        function parse() {
            const i = buf.indexOf('\r\n\r\n');
            if (i < 0) return null;
            const lines = buf.subarray(0, i).toString('latin1').split('\r\n');
            const m = lines[0].match(/^HTTP\/1\.[01] (\d{3})/);
            if (!m) return null;
            const headers = {};
            for (const l of lines.slice(1)) {
                const c = l.indexOf(':');
                headers[l.slice(0, c).trim().toLowerCase()] = l.slice(c + 1).trim();
            }
            const body = buf.subarray(i + 4);
            let json = null;
            try {
                json = JSON.parse(body.toString('utf8'));
            } catch {
                /* not JSON */
            }
            return { status: Number(m[1]), headers, body, json, raw: buf };
        }
        function finish(timedOut = false) {
            if (done) return;
            done = true;
            clearTimeout(timer);
            sock.destroy();
            const r = parse();
            if (r) resolve(r);
            else reject(new Error(`no HTTP answer${timedOut ? ` in ${timeout} ms` : ''}: ${JSON.stringify(buf.toString('latin1'))}`));
        }
        sock.on('data', (d) => {
            buf = Buffer.concat([buf, d]);
            const r = parse();
            if (r && r.status !== 100 && r.headers['content-length'] !== undefined &&
                r.body.length >= Number(r.headers['content-length']))
                finish();
        });
        sock.on('close', () => finish());
        sock.on('error', () => finish());
        sock.write(head);
    });
}

/*
 * A streaming request on a raw socket that the test controls: returns
 * {sock, write(buf) (resolves when flushed or the socket is gone), response
 * (promise of {status, headers, body, json} or null when the connection closed
 * without an answer), closed (promise)}.
 */
export function rawStream(srv, head) {
    const sock = net.connect(srv.port, '127.0.0.1');
    let buf = Buffer.alloc(0);
    let resolveResp;
    const response = new Promise((r) => { resolveResp = r; });
    let answered = false;
    const closed = new Promise((r) => sock.on('close', r));
    function check(final) {
        if (answered) return;
        const i = buf.indexOf('\r\n\r\n');
        if (i >= 0) {
            const lines = buf.subarray(0, i).toString('latin1').split('\r\n');
            const m = lines[0].match(/^HTTP\/1\.[01] (\d{3})/);
            const headers = {};
            for (const l of lines.slice(1)) {
                const c = l.indexOf(':');
                headers[l.slice(0, c).trim().toLowerCase()] = l.slice(c + 1).trim();
            }
            const body = buf.subarray(i + 4);
            const status = m ? Number(m[1]) : 0;
            if (status === 100) {
                buf = body; // interim answer: wait for the final one
                return check(final);
            }
            const cl = headers['content-length'];
            if (final || (cl !== undefined && body.length >= Number(cl))) {
                let json = null;
                try {
                    json = JSON.parse(body.toString('utf8'));
                } catch {
                    /* not JSON */
                }
                answered = true;
                resolveResp({ status, headers, body, json, raw: buf });
                return;
            }
        }
        if (final) {
            answered = true;
            resolveResp(null);
        }
    }
    let sawContinue = false;
    sock.on('data', (d) => {
        if (/^HTTP\/1\.[01] 100/.test(Buffer.concat([buf, d]).toString('latin1'))) sawContinue = true;
        buf = Buffer.concat([buf, d]);
        check(false);
    });
    sock.on('close', () => check(true));
    sock.on('error', () => {});
    sock.write(head);
    return {
        sock,
        response,
        closed,
        get sawContinue() {
            return sawContinue;
        },
        write(data) {
            return new Promise((resolve) => {
                if (sock.destroyed || answered) return resolve(false);
                sock.write(data, () => resolve(true));
            });
        },
    };
}

/* Why a test that mounts file systems cannot run here (not root), or false: for
 * {skip}. scripts/test.sh prints every skip, and counts it as failed under CI=true. */
export const needsRoot = process.getuid?.() === 0 ? false : 'needs root to mount a file system (CI runs as root)';

/* Runs mount(8) or umount(8) with args; throws with its message when it fails. */
export function mountCmd(cmd, ...args) {
    const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 20000 });
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr || r.error?.message || r.status}`);
}

/* Every regular file under dir, as paths relative to dir (sorted); [] if dir is missing. */
export function listFiles(dir) {
    const out = [];
    const walk = (d, rel) => {
        let entries;
        try {
            entries = fs.readdirSync(d, { withFileTypes: true });
        } catch (e) {
            if (e.code === 'ENOENT') return;
            throw e;
        }
        for (const e of entries) {
            const r = rel ? `${rel}/${e.name}` : e.name;
            if (e.isDirectory()) walk(path.join(d, e.name), r);
            else out.push(r);
        }
    };
    walk(dir, '');
    return out.sort();
}

export const archivesDir = (srv) => path.join(srv.dataDir, 'archives');
export const tmpDir = (srv) => path.join(srv.dataDir, 'tmp');

/* Runs `cmd file` (md5sum / sha256sum) and returns the hex digest it prints. */
export function digestOnDisk(cmd, file) {
    const r = spawnSync(cmd, [file], { encoding: 'utf8' });
    assert.equal(r.status, 0, `${cmd} ${file}: ${r.stderr}`);
    return r.stdout.split(/\s+/)[0];
}

/* Polls fn every 50 ms for up to ms; resolves fn's last value once truthy, else the last value. */
export async function eventually(fn, ms = 5000) {
    const end = Date.now() + ms;
    for (;;) {
        const v = await fn();
        if (v || Date.now() > end) return v;
        await sleep(50);
    }
}

/* The archive's file on disk (absolute path) from its ticket number and name. */
export const storedPath = (srv, a) => path.join(archivesDir(srv), String(a.ticket), a.name);

/* Asserts `p` resolves (symlinks included) to a place inside `dir`. */
export function assertInside(dir, p) {
    const real = fs.realpathSync(p);
    const base = fs.realpathSync(dir) + path.sep;
    assert.ok(real.startsWith(base), `${real} is inside ${base}`);
}

/* Deterministic pseudo-random bytes (seeded), so failures are reproducible. */
export function bytes(n, seed = 1) {
    const out = Buffer.alloc(n);
    let x = seed >>> 0 || 1;
    for (let i = 0; i < n; i++) {
        x ^= x << 13;
        x >>>= 0;
        x ^= x >>> 17;
        x ^= x << 5;
        x >>>= 0;
        out[i] = x & 0xff;
    }
    return out;
}

/*
 * For a 201 upload answer (full item or {file, ticket}): asserts the status and
 * returns the staff view of the stored archive, found through its `file` URL.
 */
export async function uploaded(ctx, r, msg = '') {
    assert.equal(r.status, 201, `${msg} upload status (body ${r.text})`);
    const m = /\/api\/v1\/archives\/(\d+)\/download\/$/.exec(r.json?.file ?? '');
    assert.ok(m, `${msg} file URL in ${r.text}`);
    const g = await staff(ctx, 'GET', `/api/v1/archives/${m[1]}/`);
    assert.equal(g.status, 200, `${msg} GET archive ${m[1]}: ${g.text}`);
    return g.json;
}
