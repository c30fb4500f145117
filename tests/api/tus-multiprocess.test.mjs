// tus-multiprocess.test.mjs - resumable uploads across three `serve` processes on one
// PostgreSQL database and one DATA_DIR (docs/deployment.md): creation on one, PATCHes
// alternating between two, HEAD on a third; creations counted once across processes;
// two PATCHes to one upload on two processes at once.
// lc-test: postgres-only (scripts/test.sh runs this file in the PostgreSQL run alone)
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import {
    PG, startServerOn, stopAll, createDatabase, makeDataDir, randomPassword, api, login, waitFor,
} from './lib/server.mjs';
import { setup, mkTicket, attemptsOf, bytes, md5, sha256 } from './lib/upload-helpers.mjs';

const skip = PG ? false : 'needs LC_DB=postgres: several processes on one SQLite file are not supported';
const MiB = 1024 * 1024;
const TUS = { 'Tus-Resumable': '1.0.0' };

describe('three serve processes, one database, one DATA_DIR', { skip }, () => {
    let db;
    let dataDir;
    let a;
    let b;
    let c;
    let ctx;

    before(async () => {
        db = await createDatabase();
        dataDir = makeDataDir();
        const password = randomPassword();
        a = await startServerOn({ dbUrl: db.url, dataDir, password });
        b = await startServerOn({ dbUrl: db.url, dataDir, password });
        c = await startServerOn({ dbUrl: db.url, dataDir, password });
        ctx = await setup(a);
    });
    after(async () => {
        try {
            await stopAll(a, b, c);
        } finally {
            if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
            if (db) await db.drop();
        }
    });

    const tus = (srv, method, p, headers, body) => api(srv, method, p, { headers: { ...TUS, ...headers }, body });

    test('created on one, PATCHed on two in turn, HEAD on the third: one archive, one attempt', async () => {
        const t = await mkTicket(ctx, { attempts: 2 });
        const data = bytes(4 * MiB + 99, 71);
        const r = await tus(a, 'POST', '/api/v1/uploads/', { 'Upload-Token': t.token, 'Upload-Length': String(data.length) });
        assert.equal(r.status, 201, r.text);
        const p = new URL(r.headers.get('location')).pathname;
        let offset = 0;
        const parts = [MiB, MiB, MiB, MiB + 99];
        for (let i = 0; i < parts.length; i++) {
            const srv = i % 2 ? b : a;
            const chunk = data.subarray(offset, offset + parts[i]);
            const pr = await tus(srv, 'PATCH', p, {
                'Upload-Token': t.token, 'Upload-Offset': String(offset), 'Content-Type': 'application/offset+octet-stream',
            }, chunk);
            assert.equal(pr.status, 204, `PATCH ${i} on ${srv === a ? 'a' : 'b'}: ${pr.text}`);
            offset += parts[i];
            if (offset < data.length) {
                const h = await tus(c, 'HEAD', p, { 'Upload-Token': t.token });
                assert.equal(h.headers.get('upload-offset'), String(offset), 'HEAD on the third process');
            } else {
                assert.equal(pr.headers.get('archive-sha256'), sha256(data));
                const arch = await api(c, 'GET', `/api/v1/archives/${pr.headers.get('archive-id')}/`, { token: ctx.jwt });
                assert.equal(arch.json.md5, md5(data));
            }
        }
        assert.equal(await attemptsOf(c, t.token), 1);
    });

    test('creations through all three at once: exactly k on a token with k attempts', async () => {
        const t = await mkTicket(ctx, { attempts: 4 });
        const all = await Promise.all(Array.from({ length: 15 }, (_, i) =>
            tus([a, b, c][i % 3], 'POST', '/api/v1/uploads/', { 'Upload-Token': t.token, 'Upload-Length': '10' })));
        assert.deepEqual(all.map((x) => x.status).sort(), [201, 201, 201, 201, ...Array(11).fill(423)]);
        assert.equal(await attemptsOf(a, t.token), 0);
    });

    test('two PATCHes to one upload on two processes at the same moment: one proceeds, the other 409', async () => {
        const t = await mkTicket(ctx);
        const data = bytes(2 * MiB, 73);
        const r = await tus(a, 'POST', '/api/v1/uploads/', { 'Upload-Token': t.token, 'Upload-Length': String(data.length) });
        const p = new URL(r.headers.get('location')).pathname;
        const sock = net.connect(a.port, '127.0.0.1');
        await new Promise((res) => sock.once('connect', res));
        let answer = '';
        sock.on('data', (d) => { answer += d; });
        sock.write(`PATCH ${p} HTTP/1.1\r\nHost: 127.0.0.1\r\nTus-Resumable: 1.0.0\r\nUpload-Token: ${t.token}\r\n` +
            `Upload-Offset: 0\r\nContent-Type: application/offset+octet-stream\r\nContent-Length: ${MiB}\r\n\r\n`);
        sock.write(data.subarray(0, MiB / 4));
        const file = path.join(dataDir, 'partial', `${p.slice(-32)}.data`);
        await waitFor(() => fs.existsSync(file) && fs.statSync(file).size > 0, { what: 'the PATCH on a writing' });
        const second = await tus(b, 'PATCH', p, {
            'Upload-Token': t.token, 'Upload-Offset': '0', 'Content-Type': 'application/offset+octet-stream',
        }, data.subarray(0, MiB));
        assert.equal(second.status, 409, second.text);
        sock.write(data.subarray(MiB / 4, MiB));
        await waitFor(() => /HTTP\/1\.1 204/.test(answer), { what: 'the first PATCH answered' });
        sock.destroy();
        const h = await tus(c, 'HEAD', p, { 'Upload-Token': t.token });
        assert.equal(h.headers.get('upload-offset'), String(MiB), 'the bytes once, not twice');
        const last = await tus(b, 'PATCH', p, {
            'Upload-Token': t.token, 'Upload-Offset': String(MiB), 'Content-Type': 'application/offset+octet-stream',
        }, data.subarray(MiB));
        assert.equal(last.headers.get('archive-sha256'), sha256(data));
    });
});
