// db-outage-pg.test.mjs - an upload whose bytes arrived is not lost to a short PostgreSQL
// outage: its row waits for the database (reconnecting).
// lc-test: postgres-only (scripts/test.sh runs this file in the PostgreSQL run alone)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { ROOT, PG, startServer, stopAndCheck, psql, dbQuery, waitFor, sleep } from './lib/server.mjs';
import { setup, mkTicket, attemptsOf, archives, putUpload, listFiles, rawStream, sha256 } from './lib/upload-helpers.mjs';

const run = promisify(execFile);
const PGSERVER = path.join(ROOT, 'scripts', 'pg-test-server.sh');

/* pg-test-server.sh COMMAND DIR; resolves with its output. */
async function pgServer(command, dir) {
    const { stdout } = await run(PGSERVER, [command, dir], { timeout: 60000 });
    return stdout.trim();
}

test('PostgreSQL away for a few seconds while three uploads finish: all three stored, once each',
    { skip: PG ? false : 'needs LC_DB=postgres: it stops and starts a PostgreSQL server', timeout: 120000 },
    async () => {
        // A server of our own: stopping the suite's would fail the tests running beside this one.
        const pgdir = fs.mkdtempSync(path.join(os.tmpdir(), 'lc-pg-outage-'));
        let srv;
        try {
            const admin = await pgServer('start', pgdir);
            await psql('CREATE DATABASE lc_outage', admin);
            const dbUrl = admin.replace(/\/postgres$/, '/lc_outage');
            srv = await startServer({ env: { DB_URL: dbUrl } });
            const ctx = await setup(srv);
            const t = await mkTicket(ctx, { attempts: 3 });

            const size = 3 * 1024 * 1024;
            const bodies = [0, 1, 2].map(() => crypto.randomBytes(size));
            const ups = bodies.map((_, i) => rawStream(srv,
                `PUT /upload/${t.token}/part${i}.bin HTTP/1.1\r\nHost: 127.0.0.1:${srv.port}\r\n` +
                `Content-Length: ${size}\r\nConnection: close\r\n\r\n`));
            // The first megabyte of each: the attempts are taken.
            for (let i = 0; i < 3; i++) await ups[i].write(bodies[i].subarray(0, 1 << 20));
            await waitFor(async () => (await psql('SELECT attempts FROM tickets', dbUrl))[0][0] === '0',
                { what: 'three attempts taken', timeout: 10000 });

            await pgServer('pause', pgdir);
            for (let i = 0; i < 3; i++) await ups[i].write(bodies[i].subarray(1 << 20));
            await sleep(3000); // the rows wait meanwhile
            await pgServer('resume', pgdir);

            const answers = await Promise.all(ups.map((u) => u.response));
            for (let i = 0; i < 3; i++) {
                assert.ok(answers[i], `upload ${i}: an answer`);
                assert.equal(answers[i].status, 201, `upload ${i}: ${answers[i].body}`);
                assert.equal(answers[i].json.sha256, sha256(bodies[i]));
            }
            assert.equal(new Set(answers.map((a) => a.json.id)).size, 3, 'three rows');
            assert.equal(await attemptsOf(srv, t.token), 0, 'one attempt each');
            const list = await archives(ctx, `?ticket=${t.number}`);
            assert.deepEqual(list.map((a) => a.name).sort(), ['part0.bin', 'part1.bin', 'part2.bin']);
            assert.equal(listFiles(path.join(srv.dataDir, 'archives')).length, 3, 'three files');
            assert.match(srv.output(), /the row of archive "[^"]*" was stored after the wait/);
        } finally {
            if (srv) await stopAndCheck(srv);
            await pgServer('stop', pgdir).catch(() => {});
        }
    });

