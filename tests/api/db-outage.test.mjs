// db-outage.test.mjs - an upload whose row cannot be written gives the attempt back and
// leaves no file (the outage itself: db-outage-pg.test.mjs).
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

test('an upload whose row cannot be written gives its attempt back and leaves no file', async () => {
    const srv = await startServer();
    try {
        const ctx = await setup(srv);
        const t = await mkTicket(ctx, { attempts: 2 });
        // From now on the database refuses every archive row (not an outage: no wait).
        await dbQuery(srv, PG
            ? 'ALTER TABLE archives ADD CONSTRAINT lc_test_refuse CHECK (size < 0) NOT VALID'
            : "CREATE TRIGGER lc_test_refuse BEFORE INSERT ON archives BEGIN SELECT RAISE(ABORT, 'refused by the test'); END");
        const r = await putUpload(srv, t.token, 'logs.tar.gz', crypto.randomBytes(100000));
        assert.equal(r.status, 500, r.text);
        assert.equal(typeof r.json?.detail, 'string');
        assert.equal(await attemptsOf(srv, t.token), 2, 'the attempt was given back');
        assert.deepEqual(listFiles(path.join(srv.dataDir, 'archives')), [], 'no file');
        assert.deepEqual(await archives(ctx), [], 'no row');
        assert.match(srv.output(), /not stored: attempt given back/);
    } finally {
        await stopAndCheck(srv);
    }
});
