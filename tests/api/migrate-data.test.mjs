// migrate-data.test.mjs - `logs-collector migrate-data`: a SQLite installation moved to
// PostgreSQL keeps its tickets (ids, tokens, attempts, times), archives (rows and bytes),
// users (passwords) and JWTs; a non-empty target is refused.
//
// Needs a PostgreSQL server: LC_PG_ADMIN_URL (see scripts/pg-test-server.sh), which
// LC_DB=postgres runs set anyway. The source is always a SQLite server, whatever LC_DB says.
// lc-test: postgres-only (scripts/test.sh runs this file in the PostgreSQL run alone)
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {
    PG, startServerOn, stopAndCheck, createDatabase, makeDataDir, randomPassword, api, login,
    expectJson, runCli, dbQuery,
} from './lib/server.mjs';
import { setup, mkTicket, attemptsOf, archives, putUpload, staff, bytes } from './lib/upload-helpers.mjs';

const skip = PG || process.env.LC_PG_ADMIN_URL
    ? false
    : 'needs a PostgreSQL server: set LC_PG_ADMIN_URL (scripts/pg-test-server.sh) or LC_DB=postgres';

/* An archive item without `file`, whose origin is the answering server's. */
const rowOf = ({ file, ...rest }) => rest;

describe('migrate-data from SQLite to PostgreSQL', { skip }, () => {
    let dataDir;
    let sqliteUrl;
    let password;
    let a; // the SQLite server (stopped before the copy)
    let b; // the PostgreSQL server on the same DATA_DIR
    let db; // the target database
    let spare; // an empty database for the refusals
    let ctx;
    let staffPassword;
    let tokens; // JWTs issued by a
    let before_ = {}; // what a served: tickets, archives, bytes by archive id, attempts by token

    before(async () => {
        dataDir = makeDataDir();
        sqliteUrl = `sqlite:///${path.join(dataDir, 'db.sqlite3')}`; // absolute: sqlite:////tmp/...
        password = randomPassword();
        a = await startServerOn({ dbUrl: sqliteUrl, dataDir, password });
        ctx = await setup(a, 'vm-src');
        tokens = await login(a);
        expectJson(await staff(ctx, 'POST', '/api/v1/platforms/', { name: 'vm-two', pretty_name: 'Two' }), 201);

        staffPassword = randomPassword();
        const u = await runCli(['user', 'create', 'staffer', '--password-stdin'], {
            env: { DATA_DIR: dataDir, DB_URL: sqliteUrl }, input: staffPassword + '\n',
        });
        assert.equal(u.code, 0, u.stderr);

        const t1 = await mkTicket(ctx, { attempts: 3, note: 'first\nticket' });
        const t2 = await mkTicket(ctx, { attempts: 1, platform: 'vm-two', expires_at: null });
        const t3 = await mkTicket(ctx, { attempts: 0, resolved: true });
        before_.bytes = new Map();
        for (const [t, name, seed] of [[t1, 'one.tar.gz', 1], [t1, 'two.log', 2], [t2, 'three.bin', 3]]) {
            const data = bytes(70000 + seed, seed);
            const r = await putUpload(a, t.token, name, data);
            assert.equal(r.status, 201, r.text);
            before_.bytes.set(r.json.id, data);
        }
        const r = await staff(ctx, 'GET', '/api/v1/tickets/');
        expectJson(r, 200);
        before_.tickets = r.json;
        before_.archives = (await archives(ctx)).map(rowOf);
        before_.attempts = {};
        for (const t of [t1, t2]) before_.attempts[t.token] = await attemptsOf(a, t.token);
        assert.deepEqual(Object.values(before_.attempts), [1, 0]);
        before_.users = await dbQuery(a, 'SELECT id, username, password_hash, '
            + 'CASE WHEN is_admin THEN 1 ELSE 0 END, CASE WHEN is_active THEN 1 ELSE 0 END, email '
            + 'FROM users ORDER BY id');
        assert.equal(before_.users.length, 2);
        await stopAndCheck(a);

        db = await createDatabase();
        spare = await createDatabase();
    });

    after(async () => {
        try {
            await stopAndCheck(b);
        } finally {
            if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
            if (db) await db.drop();
            if (spare) await spare.drop();
        }
    });

    /* migrate-data with the given arguments; DB_URL removed so that only --from/--to count. */
    const migrateData = (args) => runCli(['migrate-data', ...args], {
        env: { DATA_DIR: dataDir, DB_URL: undefined, LOG_LEVEL: 'warning' }, timeout: 60000,
    });

    test('bad arguments: exit 2 with the usage', async () => {
        for (const args of [[], ['--from', sqliteUrl], ['--to', db.url], ['--from', sqliteUrl, '--to'],
            ['--from', sqliteUrl, '--to', db.url, '--force'], ['--from', sqliteUrl, '--to', sqliteUrl]]) {
            const r = await migrateData(args);
            assert.equal(r.code, 2, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
            assert.match(r.stderr, /migrate-data/);
        }
        const h = await migrateData(['--help']);
        assert.equal(h.code, 0);
        assert.match(h.stdout, /^Usage: logs-collector migrate-data --from URL --to URL/);
    });

    test('an empty source (a mistyped SQLite path) is refused', async () => {
        const r = await migrateData(['--from', `sqlite:///${path.join(dataDir, 'typo.sqlite3')}`,
            '--to', spare.url]);
        assert.equal(r.code, 1, r.stdout + r.stderr);
        assert.match(r.stderr, /source database holds no rows/);
        assert.deepEqual(await dbQuery({ env: { DB_URL: spare.url } }, 'SELECT count(*) FROM users'), [['0']]);
    });

    test('a row the target rejects mid-copy: exit 1, nothing copied', async () => {
        // A copy of the source whose last ticket has a token PostgreSQL's uuid refuses:
        // users and platforms are in by then, and must be rolled back.
        const copy = path.join(dataDir, 'broken.sqlite3');
        fs.copyFileSync(path.join(dataDir, 'db.sqlite3'), copy);
        const broken = { env: { DB_URL: `sqlite:///${copy}` }, dataDir };
        await dbQuery(broken, "UPDATE tickets SET token = 'not-a-uuid' WHERE id = (SELECT max(id) FROM tickets)");
        const r = await migrateData(['--from', `sqlite:///${copy}`, '--to', spare.url]);
        assert.equal(r.code, 1, r.stdout + r.stderr);
        assert.match(r.stderr, /copying ticket \d+ failed/);
        assert.match(r.stderr, /nothing was copied \(rolled back\)/);
        const spareSrv = { env: { DB_URL: spare.url } };
        assert.deepEqual(await dbQuery(spareSrv, 'SELECT (SELECT count(*) FROM users), '
            + '(SELECT count(*) FROM platforms), (SELECT count(*) FROM tickets)'), [['0', '0', '0']]);
        fs.rmSync(copy);
    });

    test('copies everything, prints matching counts, never the password', async () => {
        const u = new URL(db.url);
        u.password = 'hunter2-not-to-be-shown'; // the test server trusts every connection
        const r = await migrateData(['--from', sqliteUrl, '--to', u.toString()]);
        assert.equal(r.code, 0, r.stdout + r.stderr);
        for (const [table, n] of [['users', 2], ['platforms', 2], ['tickets', 3], ['archives', 3]])
            assert.match(r.stdout, new RegExp(`${table}\\s+${n} → ${n} ok`), r.stdout);
        assert.match(r.stdout, /archive files were not copied/);
        assert.doesNotMatch(r.stdout + r.stderr, /hunter2/);
        assert.match(r.stdout, new RegExp(`target: postgres://127\\.0\\.0\\.1:${u.port}/${db.name}\\n`));
    });

    test('the PostgreSQL server serves the same data', async () => {
        b = await startServerOn({ dbUrl: db.url, dataDir, password });
        // The old JWTs still verify (same secret_key in DATA_DIR, same user id).
        expectJson(await api(b, 'POST', '/api/v1/auth/token/verify/', { json: { token: tokens.access } }), 200, {});
        expectJson(await api(b, 'POST', '/api/v1/auth/token/refresh/', { json: { refresh: tokens.refresh } }), 200);
        const r = await api(b, 'GET', '/api/v1/tickets/', { token: tokens.access });
        expectJson(r, 200);
        assert.deepEqual(r.json, before_.tickets);
        const arch = await api(b, 'GET', '/api/v1/archives/', { token: tokens.access });
        expectJson(arch, 200);
        assert.deepEqual(arch.json.map(rowOf), before_.archives);
        for (const [id, data] of before_.bytes) {
            const d = await fetch(`${b.url}/api/v1/archives/${id}/download/`, {
                headers: { Authorization: `Bearer ${tokens.access}` },
            });
            assert.equal(d.status, 200);
            assert.ok(Buffer.from(await d.arrayBuffer()).equals(data), `bytes of archive ${id}`);
        }
        for (const [token, n] of Object.entries(before_.attempts)) assert.equal(await attemptsOf(b, token), n);
        const users = await dbQuery(b, 'SELECT id, username, password_hash, '
            + 'CASE WHEN is_admin THEN 1 ELSE 0 END, CASE WHEN is_active THEN 1 ELSE 0 END, email '
            + 'FROM users ORDER BY id');
        assert.deepEqual(users, before_.users);
    });

    test('the old passwords log in', async () => {
        await login(b, 'admin', password);
        await login(b, 'staffer', staffPassword);
    });

    test('new rows get fresh ids', async () => {
        const cb = { srv: b, jwt: (await login(b)).access, platform: 'vm-src', next: ctx.next + 100 };
        const t = await mkTicket(cb, { attempts: 2 });
        assert.ok(t.id > Math.max(...before_.tickets.map((x) => x.id)), `new ticket id ${t.id}`);
        const up = await putUpload(b, t.token, 'new.bin', bytes(1000, 9));
        assert.equal(up.status, 201, up.text);
        assert.ok(up.json.id > Math.max(...before_.bytes.keys()), `new archive id ${up.json.id}`);
        expectJson(await staff(cb, 'POST', '/api/v1/platforms/', { name: 'vm-new', pretty_name: 'New' }), 201);
    });

    test('migrating into the now non-empty database is refused and changes nothing', async () => {
        const count = () => dbQuery(b, 'SELECT (SELECT count(*) FROM tickets), (SELECT count(*) FROM archives)');
        const was = await count();
        const r = await migrateData(['--from', sqliteUrl, '--to', db.url]);
        assert.equal(r.code, 1, r.stdout + r.stderr);
        assert.match(r.stderr, /is not empty/);
        assert.match(r.stderr, /drop and recreate/);
        assert.deepEqual(await count(), was);
    });
});
