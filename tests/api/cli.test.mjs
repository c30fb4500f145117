// cli.test.mjs - the command line: user management, migrate, version, help, exit codes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { startServer, stopAndCheck, api, login, expectJson, runCli, makeDataDir } from './lib/server.mjs';

let srv;
let cliEnv;

before(async () => {
    srv = await startServer();
    cliEnv = { DATA_DIR: srv.dataDir };
});
after(() => stopAndCheck(srv));

const cli = (args, input = '') => runCli(args, { env: cliEnv, input });
const out = (r) => r.stdout + r.stderr;

function ok(r, what) {
    assert.equal(r.code, 0, `${what}: exit ${r.code} ${r.signal ?? ''}\n${out(r)}`);
}

test('user create (with and without --admin), list, duplicate', async () => {
    ok(await cli(['user', 'create', 'alice', '--password-stdin'], 'Alice-pass-1\n'), 'create alice');
    ok(await cli(['user', 'create', 'bob', '--admin', '--password-stdin'], 'Bob-pass-1\n'), 'create bob --admin');
    const l = await cli(['user', 'list']);
    ok(l, 'user list');
    const names = l.stdout.split(/\s+/);
    for (const n of ['admin', 'alice', 'bob']) assert.ok(names.includes(n), `list shows ${n}:\n${l.stdout}`);

    const dup = await cli(['user', 'create', 'alice', '--password-stdin'], 'Other-pass-1\n');
    assert.equal(dup.code, 1, `a taken name: exit 1 (docs/cli.md): ${out(dup)}`);
    assert.match(out(dup), /exist/i, `message says it exists: ${out(dup)}`);
    // The duplicate did not change alice's password.
    await login(srv, 'alice', 'Alice-pass-1');
});

test('created users log in through the API; the admin one can work as staff', async () => {
    const a = await login(srv, 'alice', 'Alice-pass-1');
    assert.equal(typeof a.access, 'string');
    const b = await login(srv, 'bob', 'Bob-pass-1');
    expectJson(await api(srv, 'POST', '/api/v1/platforms/', { token: b.access, json: { name: 'vm6', pretty_name: 'VM' } }), 201);
    const t = await api(srv, 'POST', '/api/v1/tickets/', { token: b.access, json: { number: 11, platform: 'vm6' } });
    expectJson(t, 201);
    assert.equal(t.json.user, 'bob');
    const tok = (await login(srv)).access;
    expectJson(await api(srv, 'POST', '/api/v1/tickets/', { token: tok, json: { number: 12, platform: 'vm6' } }), 201);
    const f = await api(srv, 'GET', '/api/v1/tickets/?user=bob', { token: tok });
    expectJson(f, 200);
    assert.deepEqual(f.json.map((x) => x.number), [11], 'user filter');
});

test('user passwd changes the password', async () => {
    ok(await cli(['user', 'passwd', 'alice', '--password-stdin'], 'Alice-pass-2\n'), 'passwd');
    await login(srv, 'alice', 'Alice-pass-2');
    const r = await api(srv, 'POST', '/api/v1/auth/token/', { json: { username: 'alice', password: 'Alice-pass-1' } });
    assert.equal(r.status, 401, 'old password refused');
    const missing = await cli(['user', 'passwd', 'nobody', '--password-stdin'], 'X-pass-123\n');
    assert.equal(missing.code, 1, `passwd of an unknown user: exit 1 (docs/cli.md): ${out(missing)}`);
});

test('user delete: login and tokens stop working, tickets stay with user null', async () => {
    const b = await login(srv, 'bob', 'Bob-pass-1');
    ok(await cli(['user', 'delete', 'bob']), 'delete bob');
    const l = await cli(['user', 'list']);
    assert.ok(!l.stdout.split(/\s+/).includes('bob'), `bob gone from list:\n${l.stdout}`);
    const r = await api(srv, 'POST', '/api/v1/auth/token/', { json: { username: 'bob', password: 'Bob-pass-1' } });
    assert.equal(r.status, 401);
    const u = await api(srv, 'GET', '/api/v1/platforms/', { token: b.access });
    expectJson(u, 401, { detail: 'User not found', code: 'user_not_found' }, 'token of a deleted user');
    const tok = (await login(srv)).access;
    const t = await api(srv, 'GET', '/api/v1/tickets/11/', { token: tok });
    expectJson(t, 200, undefined, 'ticket survives its creator');
    assert.equal(t.json.user, null);
    const again = await cli(['user', 'delete', 'bob']);
    assert.equal(again.code, 1, `deleting an unknown user: exit 1 (docs/cli.md): ${out(again)}`);
});

test('migrate exits 0 and is idempotent (fresh and in-use data dirs)', async () => {
    const dir = makeDataDir();
    try {
        ok(await runCli(['migrate'], { env: { DATA_DIR: dir } }), 'migrate fresh');
        ok(await runCli(['migrate'], { env: { DATA_DIR: dir } }), 'migrate again');
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
    ok(await cli(['migrate']), 'migrate the running server\'s dir');
    expectJson(await api(srv, 'GET', '/api/v1/check/health/'), 200, { status: 'ok', database: 'ok', storage: 'ok' });
});

test('version, help, unknown command', async () => {
    const v = await cli(['version']);
    ok(v, 'version');
    assert.match(v.stdout, /\d+\.\d+/, `version printed: ${v.stdout}`);
    const h = await cli(['--help']);
    ok(h, '--help');
    assert.match(out(h), /usage/i);
    for (const c of ['serve', 'user', 'migrate']) assert.ok(out(h).includes(c), `--help mentions ${c}`);
    const uh = await cli(['user', '--help']);
    ok(uh, 'user --help');
    assert.match(out(uh), /usage/i);
    for (const c of ['create', 'list', 'passwd', 'delete']) assert.ok(out(uh).includes(c), `user --help mentions ${c}`);
    const bad = await cli(['frobnicate']);
    assert.equal(bad.code, 2, `unknown command exit code: ${out(bad)}`);
    assert.ok(bad.stderr.length > 0, 'unknown command explained on stderr');
    const badSub = await cli(['user', 'frobnicate']);
    assert.equal(badSub.code, 2, `unknown user subcommand: ${out(badSub)}`);
});
