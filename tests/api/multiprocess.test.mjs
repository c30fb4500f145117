// multiprocess.test.mjs - several `serve` processes on one PostgreSQL database and one
// DATA_DIR (behind a reverse proxy in production): attempts counted once across
// processes, tickets and bytes shared, concurrent first start, waiting for the database.
//
// Only under LC_DB=postgres (with LC_PG_ADMIN_URL, see scripts/pg-test-server.sh):
// on SQLite one process owns the file and these tests mean nothing.
// lc-test: postgres-only (scripts/test.sh runs this file in the PostgreSQL run alone)
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import {
    PG, startServer, startServerOn, stopAndCheck, stopAll, createDatabase, makeDataDir, randomPassword,
    api, login, expectJson, runCli, freePort, sanitizerReport, within, waitForLine, pgTestServer,
} from './lib/server.mjs';
import {
    setup, mkTicket, attemptsOf, archives, putUpload, listFiles, archivesDir, storedPath, eventually,
    bytes, sha256, digestOnDisk,
} from './lib/upload-helpers.mjs';

const skip = PG ? false : 'needs LC_DB=postgres: several processes on one SQLite file are not supported';

describe('two serve processes, one database, one DATA_DIR', { skip }, () => {
    let db;
    let dataDir;
    let a;
    let b;
    let ca; // upload-helpers context on a
    let cb; // and on b (same platform, its own login)

    before(async () => {
        db = await createDatabase();
        dataDir = makeDataDir();
        const password = randomPassword();
        a = await startServerOn({ dbUrl: db.url, dataDir, password });
        b = await startServerOn({ dbUrl: db.url, dataDir, password });
        ca = await setup(a);
        cb = { srv: b, jwt: (await login(b)).access, platform: ca.platform, next: ca.next + 500 };
    });
    after(async () => {
        try {
            await stopAll(a, b);
        } finally {
            if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
            if (db) await db.drop();
        }
    });

    test('a JWT issued by one process works on the other', async () => {
        expectJson(await api(b, 'GET', '/api/v1/platforms/', { token: ca.jwt }), 200);
        expectJson(await api(a, 'GET', '/api/v1/platforms/', { token: cb.jwt }), 200);
    });

    test('6 parallel uploads through both on a token with 3 attempts: exactly 3 succeed', async () => {
        const t = await mkTicket(ca, { attempts: 3 });
        const data = bytes(256 * 1024, 61);
        const rs = await Promise.all(Array.from({ length: 6 }, (_, i) =>
            putUpload(i % 2 ? b : a, t.token, `mp-${i}.bin`, data)
                .catch((e) => ({ status: 'error', text: String(e.cause ?? e) }))));
        const statuses = rs.map((r) => r.status).sort();
        assert.deepEqual(statuses, [201, 201, 201, 423, 423, 423], rs.map((r) => `${r.status} ${r.text}`).join('\n'));
        for (const r of rs.filter((x) => x.status === 423))
            assert.deepEqual(r.json, { detail: `token ${t.token} has no upload attempts left` });
        assert.equal(await attemptsOf(a, t.token), 0, 'attempts through a');
        assert.equal(await attemptsOf(b, t.token), 0, 'attempts through b');
        const rowsA = await archives(ca, `?ticket=${t.number}`);
        const rowsB = await archives(cb, `?ticket=${t.number}`);
        assert.equal(rowsA.length, 3);
        // the same rows; `file` is an absolute URL on the answering process's host
        const noFile = (rows) => rows.map(({ file, ...rest }) => ({ ...rest, file: new URL(file).pathname }));
        assert.deepEqual(noFile(rowsB), noFile(rowsA), 'both list the same archives');
        const files = listFiles(path.join(archivesDir(a), String(t.number)));
        assert.deepEqual(files, rowsA.map((x) => x.name).sort(), 'one file per row in the shared DATA_DIR');
        for (const x of rowsA) assert.equal(digestOnDisk('sha256sum', storedPath(a, x)), sha256(data));
    });

    test('a ticket created through one is visible, editable and deletable through the other', async () => {
        const t = await mkTicket(ca, { attempts: 2 });
        const got = await api(b, 'GET', `/api/v1/tickets/${t.number}/`, { token: cb.jwt });
        expectJson(got, 200, t, 'ticket read through b');
        const listed = await api(b, 'GET', '/api/v1/tickets/', { token: cb.jwt });
        expectJson(listed, 200);
        assert.ok(listed.json.some((x) => x.number === t.number), 'listed through b');
        assert.equal(await attemptsOf(b, t.token), 2, 'its token checks through b');
        const patched = await api(b, 'PATCH', `/api/v1/tickets/${t.number}/`, { token: cb.jwt, json: { resolved: true } });
        expectJson(patched, 200);
        const again = await api(a, 'GET', `/api/v1/tickets/${t.number}/`, { token: ca.jwt });
        expectJson(again, 200);
        assert.equal(again.json.resolved, true, 'a sees b\'s change');
        const del = await api(b, 'DELETE', `/api/v1/tickets/${t.number}/`, { token: cb.jwt });
        assert.equal(del.status, 204, del.text);
        expectJson(await api(a, 'GET', `/api/v1/tickets/${t.number}/`, { token: ca.jwt }), 404);
        expectJson(await api(a, 'DELETE', `/api/v1/tickets/${t.number}/`, { token: ca.jwt }), 404);
    });

    test('deleting through one removes the bytes the other wrote', async () => {
        const t = await mkTicket(ca, { attempts: 3 });
        const up1 = await putUpload(a, t.token, 'one.bin', bytes(10000, 62));
        const up2 = await putUpload(a, t.token, 'two.bin', bytes(20000, 63));
        assert.equal(up1.status, 201, up1.text);
        assert.equal(up2.status, 201, up2.text);
        const rows = await archives(cb, `?ticket=${t.number}`);
        assert.equal(rows.length, 2);
        const [first, second] = rows.map((x) => storedPath(a, x));
        assert.ok(fs.existsSync(first) && fs.existsSync(second), 'a wrote both files');
        // one archive through b
        const one = rows.find((x) => x.name === 'one.bin');
        const del = await api(b, 'DELETE', `/api/v1/archives/${one.id}/`, { token: cb.jwt });
        assert.equal(del.status, 204, del.text);
        const gone = storedPath(a, one);
        assert.ok(await eventually(() => !fs.existsSync(gone)), `${gone} removed`);
        expectJson(await api(a, 'GET', `/api/v1/archives/${one.id}/`, { token: ca.jwt }), 404);
        // the whole ticket through b
        const delT = await api(b, 'DELETE', `/api/v1/tickets/${t.number}/`, { token: cb.jwt });
        assert.equal(delT.status, 204, delT.text);
        const dir = path.join(archivesDir(a), String(t.number));
        assert.ok(await eventually(() => listFiles(dir).length === 0), `${dir} emptied: ${listFiles(dir)}`);
        assert.deepEqual(await archives(ca, `?ticket=${t.number}`), []);
    });

    test('a process starting on the shared DATA_DIR leaves the other one\'s upload in progress alone', async () => {
        const t = await mkTicket(ca, { attempts: 1 });
        const data = bytes(2 * 1024 * 1024, 64);
        const half = data.length / 2;
        const head = `PUT /upload/${t.token}/slow.bin HTTP/1.1\r\nHost: 127.0.0.1:${a.port}\r\n` +
            `Content-Length: ${data.length}\r\nConnection: close\r\n\r\n`;
        const sock = net.connect(a.port, '127.0.0.1');
        let answer = '';
        sock.on('data', (d) => { answer += d.toString('latin1'); });
        const closed = new Promise((resolve) => sock.on('close', resolve));
        sock.write(head);
        sock.write(data.subarray(0, half));
        const tmp = path.join(dataDir, 'tmp');
        assert.ok(await eventually(() => fs.readdirSync(tmp).length === 1), 'the upload has its temp file');
        // a third process starts on the same DATA_DIR and sweeps tmp/
        const c = await startServerOn({ dbUrl: db.url, dataDir, password: a.password });
        try {
            assert.equal(fs.readdirSync(tmp).length, 1, 'the live temp file survived the start-up sweep');
            assert.doesNotMatch(c.stderr(), /removed stale temp file/);
        } finally {
            await stopAndCheck(c);
        }
        sock.write(data.subarray(half)); // not end(): a half-closed socket reads as a client gone
        await within(closed, 30000, 'the answer to the slow upload and the close');
        assert.match(answer, /^HTTP\/1\.1 201 /, answer);
        const rows = await archives(ca, `?ticket=${t.number}`);
        assert.equal(rows.length, 1);
        assert.equal(rows[0].sha256, sha256(data));
    });
});

/* Starts n servers on one fresh database and DATA_DIR at the same moment. */
async function startTogether(n, env) {
    const db = await createDatabase();
    const dataDir = makeDataDir();
    const results = await Promise.allSettled(
        Array.from({ length: n }, () => startServerOn({ dbUrl: db.url, dataDir, env })));
    return { db, dataDir, results, servers: results.filter((r) => r.status === 'fulfilled').map((r) => r.value) };
}

async function cleanupTogether({ db, dataDir, servers }) {
    try {
        await stopAll(...servers);
    } finally {
        fs.rmSync(dataDir, { recursive: true, force: true });
        await db.drop();
    }
}

test('three processes started together on an empty database: all up, one admin from ADMIN_*', { skip }, async () => {
    const password = randomPassword();
    const run = await startTogether(3, { ADMIN_USERNAME: 'admin', ADMIN_PASSWORD: password, SECRET_KEY: 'k'.repeat(40) });
    try {
        for (const r of run.results)
            assert.equal(r.status, 'fulfilled', `every process starts: ${r.reason?.message}`);
        const created = run.servers.filter((s) => /created administrator "admin"/.test(s.output()));
        assert.equal(created.length, 1, 'exactly one process created the administrator');
        for (const s of run.servers) {
            const t = await login(s, 'admin', password);
            expectJson(await api(s, 'GET', '/api/v1/platforms/', { token: t.access }), 200, []);
        }
        const l = await runCli(['user', 'list'], { env: { DATA_DIR: run.dataDir, DB_URL: run.db.url } });
        assert.equal(l.code, 0, l.stderr);
        assert.equal(l.stdout.split(/\s+/).filter((w) => w === 'admin').length, 1, `one admin:\n${l.stdout}`);
    } finally {
        await cleanupTogether(run);
    }
});

test('two processes started together without ADMIN_*: one generated password, valid on both', { skip }, async () => {
    const run = await startTogether(2, { ADMIN_USERNAME: null, ADMIN_PASSWORD: null });
    try {
        for (const r of run.results)
            assert.equal(r.status, 'fulfilled', `every process starts: ${r.reason?.message}`);
        const banners = run.servers.filter((s) => /First start: created administrator/.test(s.output()));
        assert.equal(banners.length, 1, 'exactly one process generated the password');
        const pw = fs.readFileSync(path.join(run.dataDir, 'initial-admin-password'), 'utf8').trim();
        assert.ok(banners[0].output().includes(pw), 'the file holds the printed password');
        const [s1, s2] = run.servers;
        const t = await login(s1, 'admin', pw);
        await login(s2, 'admin', pw);
        // the secret key was generated once in the shared DATA_DIR
        expectJson(await api(s2, 'GET', '/api/v1/platforms/', { token: t.access }), 200, []);
    } finally {
        await cleanupTogether(run);
    }
});

test('start-up waits for the database (DB_WAIT) and logs each try', { skip }, async () => {
    const port = await freePort();
    const pgDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lc-pgwait-'));
    let s;
    let spawned;
    try {
        const starting = startServer({
            env: { DB_URL: `postgres://postgres@127.0.0.1:${port}/postgres`, DB_WAIT: '60' },
            onSpawn: (srv) => { spawned = srv; },
            startupMs: 90000,
        });
        starting.catch(() => {}); // awaited below
        // The server is waiting (it said so) before the database comes up.
        await waitForLine({ output: () => spawned?.output() ?? '' }, /retry/i, 30000);
        await pgTestServer('start', pgDir, { PG_TEST_PORT: String(port) });
        s = await starting;
        const tries = s.output().split('\n').filter((l) => /retry/i.test(l));
        assert.ok(tries.length >= 1, `"retrying" lines while the database was down:\n${s.output()}`);
        expectJson(await api(s, 'GET', '/api/v1/check/health/'), 200, { status: 'ok', database: 'ok', storage: 'ok' });
        await login(s);
        await stopAndCheck(s);
    } finally {
        if (s && !s.stopped) await s.stop();
        else if (spawned && !spawned.stopped) await spawned.stop().catch(() => {});
        await pgTestServer('stop', pgDir);
    }
});

test('start-up gives up after DB_WAIT seconds with a clear line', { skip }, async () => {
    const port = await freePort();
    const dir = makeDataDir();
    try {
        const bind = await freePort();
        const t0 = Date.now();
        const r = await runCli(['serve'], {
            env: {
                DATA_DIR: dir, BIND: `127.0.0.1:${bind}`, ADMIN_USERNAME: 'admin', ADMIN_PASSWORD: 'x-pass-123',
                DB_URL: `postgres://postgres@127.0.0.1:${port}/postgres`, DB_WAIT: '2',
            },
            timeout: 30000,
        });
        const secs = (Date.now() - t0) / 1000;
        assert.equal(r.code, 1, `exit code 1 (docs/configuration.md, DB_WAIT): ${r.stderr}`);
        assert.equal(r.signal, null);
        assert.ok(secs >= 1.5 && secs < 20, `gave up after about DB_WAIT=2 s (took ${secs} s)`);
        const lines = r.stderr.split('\n').filter((l) => l.trim());
        assert.ok(lines.some((l) => /retry/i.test(l)), `a line per try:\n${r.stderr}`);
        const last = lines[lines.length - 1] ?? '';
        assert.match(last, /database|postgres/i, `the last line says what failed: ${last}`);
        assert.ok(!r.stderr.includes('password='), 'no credentials printed');
        assert.equal(sanitizerReport({ output: () => r.stderr }), null, r.stderr);
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
});

