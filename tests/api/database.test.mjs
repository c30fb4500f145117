// database.test.mjs - the database going away under a running server: health says so
// (503) and comes back when the database does, with the data intact.
//
// Needs PostgreSQL (LC_DB=postgres with LC_PG_ADMIN_URL): the test takes a server's own
// database away (no new connections, the open ones cut) and gives it back. A SQLite
// file cannot go away under an open connection.
// lc-test: postgres-only (scripts/test.sh runs this file in the PostgreSQL run alone)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PG, startServer, stopAndCheck, api, login, expectJson, psql, waitFor } from './lib/server.mjs';

const skip = PG ? false : 'needs LC_DB=postgres (and LC_PG_ADMIN_URL): it takes a PostgreSQL database away';

/* Forbids or allows new connections to database `name` (cutting the open ones when
 * forbidding), through the admin URL. */
async function databaseUp(name, up) {
    await psql(`ALTER DATABASE ${name} WITH ALLOW_CONNECTIONS ${up ? 'true' : 'false'}`);
    if (!up)
        await psql(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '${name}'`);
}

test('health: 503 {"status": "error"} while the database does not answer, 200 again after', { skip }, async () => {
    const s = await startServer();
    const name = new URL(s.env.DB_URL).pathname.slice(1);
    let down = false;
    try {
        const token = (await login(s)).access;
        expectJson(await api(s, 'POST', '/api/v1/platforms/', { token, json: { name: 'kept', pretty_name: 'Kept' } }), 201);
        expectJson(await api(s, 'GET', '/api/v1/check/health/'), 200, { status: 'ok', database: 'ok', storage: 'ok' });

        await databaseUp(name, false);
        down = true;
        const r = await waitFor(async () => {
            const h = await api(s, 'GET', '/api/v1/check/health/');
            return h.status === 503 ? h : null;
        }, { timeout: 30000, interval: 200, what: 'health to say the database is down' });
        expectJson(r, 503);
        assert.deepEqual(Object.keys(r.json).sort(), ['database', 'detail', 'status', 'storage']);
        assert.equal(r.json.status, 'error');
        assert.equal(r.json.database, 'down', 'the database is named as what is down');
        assert.equal(r.json.storage, 'ok', 'the archive directory is reported apart');
        assert.equal(typeof r.json.detail, 'string');
        // still 503 on the next look: not a one-off
        expectJson(await api(s, 'GET', '/api/v1/check/health/'), 503);

        await databaseUp(name, true);
        down = false;
        await waitFor(async () => (await api(s, 'GET', '/api/v1/check/health/')).status === 200,
            { timeout: 30000, interval: 200, what: 'health to recover with the database' });
        const p = await api(s, 'GET', '/api/v1/platforms/kept/', { token });
        expectJson(p, 200, undefined, 'the data is there after the outage');
        assert.equal(p.json.pretty_name, 'Kept');
        await stopAndCheck(s);
    } finally {
        if (down) await databaseUp(name, true);
        if (!s.stopped) await s.stop();
    }
});
