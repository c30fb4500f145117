// upload-stress.test.mjs - a crash mid-upload (kill -9, restart on the same DATA_DIR),
// a disk that fills mid-upload (a small tmpfs: needs root), and a big streamed upload
// (2 GiB by default, UPLOAD_BIG_GIB) whose server memory must stay flat.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import { startServer, stopAndCheck, makeDataDir, login, api, expectJson, within } from './lib/server.mjs';
import {
    setup, mkTicket, staff, attemptsOf, archives, rawStream, listFiles, tmpDir, archivesDir,
    eventually, bytes, uploaded, storedPath, needsRoot, mountCmd,
} from './lib/upload-helpers.mjs';

const MiB = 1024 * 1024;

test('kill -9 mid-upload, restart on the same DATA_DIR: temp file swept, no row', async () => {
    const dataDir = makeDataDir();
    let s1;
    let s2;
    try {
        s1 = await startServer({ dataDir });
        const ctx = await setup(s1);
        const t = await mkTicket(ctx, { attempts: 5 });
        const up = rawStream(s1,
            `PUT /upload/${t.token}/crash.bin HTTP/1.1\r\nHost: 127.0.0.1:${s1.port}\r\n` +
            `Content-Length: ${4 * MiB}\r\n\r\n`);
        await up.write(bytes(MiB, 201));
        assert.ok(await eventually(() => listFiles(tmpDir(s1)).length === 1, 5000), 'a temp file while streaming');
        // the partial bytes reached the temp file
        assert.ok(await eventually(() => {
            const [f] = listFiles(tmpDir(s1));
            return f && fs.statSync(`${tmpDir(s1)}/${f}`).size > 0;
        }, 5000), 'bytes in the temp file');
        const [leftover] = listFiles(tmpDir(s1));
        s1.proc.kill('SIGKILL');
        assert.deepEqual(await s1.exited, { code: null, signal: 'SIGKILL' });
        up.sock.destroy();
        assert.deepEqual(listFiles(tmpDir(s1)), [leftover], 'the crash left the temp file');

        s2 = await startServer({ dataDir });
        assert.deepEqual(listFiles(tmpDir(s2)), [], 'no temp file after the restart');
        const log = s2.output();
        const line = log.split('\n').find((l) => l.includes(leftover));
        assert.ok(line && /remov/i.test(line), `the start-up log names the removed temp file ${leftover}:\n${log}`);
        // the first start created the admin; the restart's other ADMIN_PASSWORD changes
        // nothing (ADMIN_* is ignored once a user exists: docs/configuration.md)
        assert.notEqual(s2.password, s1.password);
        const jwt = (await login(s2, 'admin', s1.password)).access;
        expectJson(await api(s2, 'POST', '/api/v1/auth/token/', { json: { username: 'admin', password: s2.password } }),
            401, { detail: 'No active account found with the given credentials' });
        const ctx2 = { srv: s2, jwt };
        assert.deepEqual(await archives(ctx2), []);
        assert.deepEqual(listFiles(archivesDir(s2)), []);
        assert.equal(await attemptsOf(s2, t.token), 4, 'the attempt was taken at the first byte');
        // the token still works
        const ok = await uploaded(ctx2, await api(s2, 'PUT', `/upload/${t.token}/after.bin`, { body: Buffer.from('after') }));
        assert.equal(ok.name, 'after.bin');
        await stopAndCheck(s2);
    } finally {
        if (s1 && !s1.stopped) await s1.stop();
        if (s2 && !s2.stopped) await s2.stop();
        fs.rmSync(dataDir, { recursive: true, force: true });
    }
});

test('the disk fills mid-upload: 507, partial file removed, attempt used, no row', { skip: needsRoot }, async () => {
    // DATA_DIR on an 8 MiB tmpfs; no reserve, and a chunked body declares no length,
    // so only the write itself can find the disk full.
    const dataDir = makeDataDir();
    mountCmd('mount', '-t', 'tmpfs', '-o', 'size=8m,mode=0750', 'tmpfs', dataDir);
    let srv;
    try {
        srv = await startServer({ dataDir, env: { STORAGE_MIN_FREE: '0' } });
        const ctx = await setup(srv);
        const t = await mkTicket(ctx, { attempts: 3 });
        const up = rawStream(srv,
            `PUT /upload/${t.token}/too-big.bin HTTP/1.1\r\nHost: 127.0.0.1:${srv.port}\r\n` +
            'Transfer-Encoding: chunked\r\n\r\n');
        const chunk = bytes(256 * 1024, 211);
        const frame = Buffer.concat([Buffer.from(chunk.length.toString(16) + '\r\n'), chunk, Buffer.from('\r\n')]);
        for (let sent = 0; sent < 16 * MiB; sent += chunk.length)
            if (!(await up.write(frame))) break;
        await up.write('0\r\n\r\n');
        const r = await within(up.response, 30000, 'the answer to the upload that filled the disk');
        up.sock.destroy();
        assert.ok(r, 'an HTTP answer, not a reset');
        assert.equal(r.status, 507, String(r.raw).slice(0, 500));
        assert.match(r.headers['content-type'] ?? '', /^application\/json/);
        assert.equal(typeof r.json?.detail, 'string', String(r.body));
        assert.ok(await eventually(() => listFiles(tmpDir(srv)).length === 0), `partial file removed: ${listFiles(tmpDir(srv))}`);
        assert.deepEqual(listFiles(archivesDir(srv)), []);
        assert.deepEqual(await archives(ctx, `?ticket=${t.number}`), []);
        assert.equal(await attemptsOf(srv, t.token), 2, 'the attempt was used');
        // the space is back: a small upload goes through
        const small = await uploaded(ctx, await api(srv, 'PUT', `/upload/${t.token}/small.bin`, { body: bytes(1000, 212) }));
        assert.equal(small.size, 1000);
        await stopAndCheck(srv);
    } finally {
        if (srv && !srv.stopped) await srv.stop({ keepDataDir: true });
        mountCmd('umount', dataDir);
        fs.rmSync(dataDir, { recursive: true, force: true });
    }
});

/* VmRSS of pid in bytes. */
function rss(pid) {
    const m = fs.readFileSync(`/proc/${pid}/status`, 'utf8').match(/^VmRSS:\s+(\d+) kB/m);
    return Number(m[1]) * 1024;
}

test('big streamed upload: sha256 matches, server memory stays flat', async (t) => {
    const gib = Number(process.env.UPLOAD_BIG_GIB ?? 2);
    const total = Math.round(gib * 1024 * MiB);
    const srv = await startServer();
    try {
        const ctx = await setup(srv);
        const tk = await mkTicket(ctx, { attempts: 2 });
        const block = crypto.randomBytes(MiB); // repeated: the body is generated, never held whole
        const hash = crypto.createHash('sha256');
        // warm the upload path once so that lazily allocated pools count in the baseline
        const warm = await api(srv, 'PUT', `/upload/${tk.token}/warm.bin`, { body: block });
        assert.equal(warm.status, 201, warm.text);
        const pid = srv.proc.pid;
        const before = rss(pid);
        let peak = before;
        let samples = 0;
        const sampler = setInterval(() => {
            try {
                peak = Math.max(peak, rss(pid));
                samples++;
            } catch {
                /* process gone: the upload fails below */
            }
        }, 200);
        const started = Date.now();
        let res;
        try {
            res = await new Promise((resolve, reject) => {
                const req = http.request({
                    host: '127.0.0.1', port: srv.port, method: 'PUT', path: `/upload/${tk.token}/big.bin`,
                    headers: { 'Content-Length': String(total), 'Content-Type': 'application/octet-stream' },
                    agent: false,
                }, (r) => {
                    const parts = [];
                    r.on('data', (d) => parts.push(d));
                    r.on('end', () => {
                        const text = Buffer.concat(parts).toString('utf8');
                        let json = null;
                        try {
                            json = JSON.parse(text);
                        } catch {
                            /* not JSON */
                        }
                        resolve({ status: r.statusCode, json, text });
                    });
                });
                req.setTimeout(60000, () => req.destroy(new Error('no progress for 60 s')));
                req.on('error', reject);
                let sent = 0;
                const pump = () => {
                    while (sent < total) {
                        const n = Math.min(MiB, total - sent);
                        const chunk = n === MiB ? block : block.subarray(0, n);
                        hash.update(chunk);
                        sent += n;
                        if (!req.write(chunk)) {
                            req.once('drain', pump);
                            return;
                        }
                    }
                    req.end();
                };
                pump();
            });
        } finally {
            clearInterval(sampler);
        }
        peak = Math.max(peak, rss(pid));
        const secs = (Date.now() - started) / 1000;
        const growth = peak - before;
        t.diagnostic(`${gib} GiB in ${secs.toFixed(1)} s (${(total / MiB / secs).toFixed(0)} MiB/s); ` +
            `RSS ${(before / MiB).toFixed(1)} MiB before, peak ${(peak / MiB).toFixed(1)} MiB (+${(growth / MiB).toFixed(1)} MiB), ${samples} samples`);
        assert.ok(samples >= Math.min(5, Math.floor(secs * 5) - 1), `RSS sampled during the upload (${samples} samples)`);
        const a = await uploaded(ctx, res, 'big upload');
        const digest = hash.digest('hex');
        assert.equal(a.size, total);
        assert.equal(a.sha256, digest);
        assert.equal(fs.statSync(storedPath(srv, a)).size, total);
        assert.ok(growth < 64 * MiB, `server RSS grew by ${(growth / MiB).toFixed(1)} MiB during the upload (limit 64 MiB)`);
        assert.deepEqual(listFiles(tmpDir(srv)), []);
        const del = await staff(ctx, 'DELETE', `/api/v1/archives/${a.id}/`);
        assert.equal(del.status, 204);
        assert.ok(!fs.existsSync(storedPath(srv, a)), 'the big file is deleted');
    } finally {
        await stopAndCheck(srv);
    }
});
