// server.mjs - harness for the black-box API tests: starts a real `logs-collector serve`
// on a free loopback port with its own temp DATA_DIR, and talks to it over HTTP.
//
// Only node built-ins. The binary is $LC_BIN (resolved against the working directory)
// or build-test/logs-collector under the repository root.
//
// Backend: SQLite (the server's default file in DATA_DIR) unless LC_DB=postgres; then
// LC_PG_ADMIN_URL (a superuser URL, e.g. from scripts/pg-test-server.sh) must be set and
// every DATA_DIR gets its own fresh PostgreSQL database (CREATE DATABASE lc_<random>),
// passed as DB_URL to servers and to runCli() commands that get that DATA_DIR, so a
// restart on the same DATA_DIR sees the same data as with SQLite. A server's own
// database is dropped by stop(); databases of caller-given DATA_DIRs at process exit.
//
// Every process this module starts (servers, CLI commands) runs in a process group of
// its own, dies with this process (PR_SET_PDEATHSIG through setpriv), carries
// LC_TEST_RUN (scripts/test.sh finds leftovers by it) and sanitizer options that make
// any report fatal; its output is scanned for sanitizer reports when it exits, and a
// report fails the test that stops it and, as a second net, this test file.
import { execFile, spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const BIN = process.env.LC_BIN
    ? path.resolve(process.env.LC_BIN)
    : path.join(ROOT, 'build-test', 'logs-collector');

export const UUID4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
// RFC 3339 with microseconds and an explicit offset (Z accepted for UTC).
export const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}(Z|[+-]\d{2}:\d{2})$/;

/* 'postgres' or 'sqlite': the metadata backend the servers of this run use. */
export const DB = process.env.LC_DB === 'postgres' ? 'postgres' : 'sqlite';
export const PG = DB === 'postgres';

const STARTUP_MS = 20000;
const STOP_MS = 35000;

/* The sanitizer options every child gets (scripts/test.sh sets the same): a report
 * stops the process with SIGABRT instead of letting it carry on. */
export const ASAN_OPTIONS = process.env.ASAN_OPTIONS ||
    'halt_on_error=1:abort_on_error=1:detect_leaks=1:print_summary=1';
export const UBSAN_OPTIONS = process.env.UBSAN_OPTIONS ||
    'halt_on_error=1:abort_on_error=1:print_stacktrace=1:print_summary=1';

// Every process this module spawned that may still run (its group is killed when this
// process exits or is told to stop), and every sanitizer report seen in any of them.
const live = new Set();
const reports = [];

function killGroup(proc, sig = 'SIGKILL') {
    try {
        process.kill(-proc.pid, sig);
    } catch {
        try {
            proc.kill(sig);
        } catch {
            /* already gone */
        }
    }
}

process.on('exit', () => {
    for (const p of live) killGroup(p);
    dropAllDatabasesSync();
    if (reports.length) {
        // The second net: a report nobody asserted on still fails this test file.
        process.stderr.write(`sanitizer reports in processes started by this file:\n${reports.join('\n')}\n`);
        process.exitCode = 1;
    }
});
for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP']) {
    process.on(sig, () => {
        for (const p of live) killGroup(p);
        process.exit(128 + { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 }[sig]);
    });
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/* Polls fn() every `interval` ms until it returns a truthy value (returned) or
 * `timeout` ms pass (throws with `what`). */
export async function waitFor(fn, { timeout = 5000, interval = 50, what = 'condition' } = {}) {
    const end = Date.now() + timeout;
    for (;;) {
        const v = await fn();
        if (v) return v;
        if (Date.now() > end) throw new Error(`timed out after ${timeout} ms waiting for ${what}`);
        await sleep(interval);
    }
}

/* A loopback port that was free a moment ago. */
export function freePort() {
    return new Promise((resolve, reject) => {
        const s = net.createServer();
        s.unref();
        s.on('error', reject);
        s.listen(0, '127.0.0.1', () => {
            const { port } = s.address();
            s.close(() => resolve(port));
        });
    });
}

/* ---- PostgreSQL databases (LC_DB=postgres) ---- */

/* Runs scripts/pg-test-server.sh cmd dir (start|stop|url|admin-url) with extra env
 * (e.g. PG_TEST_PORT); resolves its stdout, rejects with its stderr. 90 s at most. */
export function pgTestServer(cmd, dir, env = {}) {
    const script = path.join(ROOT, 'scripts', 'pg-test-server.sh');
    return new Promise((resolve, reject) => {
        execFile(script, [cmd, dir], { env: { ...process.env, ...env }, timeout: 90000 },
            (err, stdout, stderr) => (err ? reject(new Error(`pg-test-server.sh ${cmd}: ${stderr || err.message}`)) : resolve(stdout.trim())));
    });
}

/* The superuser URL; throws (the test fails, never skips) when it is missing. */
function pgAdminUrl() {
    const u = process.env.LC_PG_ADMIN_URL;
    if (!u)
        throw new Error('LC_DB=postgres needs LC_PG_ADMIN_URL (see scripts/pg-test-server.sh)');
    return u;
}

/* The URL of database `name` on the admin URL's server (same user, host, port, options). */
export function pgUrlFor(name) {
    const u = new URL(pgAdminUrl());
    u.pathname = '/' + name;
    return u.toString();
}

/* Runs SQL through psql on `url` (default: the admin URL). Resolves with the rows
 * (arrays of strings, NULL as ''); rejects with psql's message on any error. */
export function psql(sql, url = pgAdminUrl()) {
    return new Promise((resolve, reject) => {
        execFile(
            'psql',
            [url, '-X', '-q', '-A', '-t', '-F', '\x1f', '-v', 'ON_ERROR_STOP=1', '-c', sql],
            { env: { PATH: process.env.PATH, PGCONNECT_TIMEOUT: '10' }, timeout: 30000 },
            (err, stdout, stderr) => {
                if (err) reject(new Error(`psql: ${sql}: ${stderr || err.message}`));
                else resolve(splitRows(stdout));
            },
        );
    });
}

function splitRows(text) {
    return text
        .split('\n')
        .filter((l) => l.length)
        .map((l) => l.split('\x1f'));
}

// Databases this process created and has not dropped yet: name -> true.
const databases = new Set();
// DATA_DIR -> Promise of the DB_URL of its database.
const dirDatabases = new Map();

/* Creates a fresh empty database lc_<random>; resolves {name, url, drop()}. drop()
 * removes it (DROP DATABASE ... WITH (FORCE): open connections are cut). */
export async function createDatabase() {
    const name = 'lc_' + crypto.randomBytes(8).toString('hex');
    await psql(`CREATE DATABASE ${name}`);
    databases.add(name);
    return { name, url: pgUrlFor(name), drop: () => dropDatabase(name) };
}

/* Drops database `name` (cutting its connections) if it exists. */
export async function dropDatabase(name) {
    await psql(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    databases.delete(name);
}

function dropAllDatabasesSync() {
    if (!databases.size || !process.env.LC_PG_ADMIN_URL) return;
    const args = [process.env.LC_PG_ADMIN_URL, '-X', '-q'];
    for (const n of databases) args.push('-c', `DROP DATABASE IF EXISTS ${n} WITH (FORCE)`);
    spawnSync('psql', args, { stdio: 'ignore', timeout: 20000 });
    databases.clear();
}

/* The database belonging to dataDir under LC_DB=postgres (created on first use):
 * resolves {name, url}. */
function databaseForDir(dataDir) {
    const key = path.resolve(dataDir);
    let p = dirDatabases.get(key);
    if (!p) {
        p = createDatabase();
        dirDatabases.set(key, p);
        p.catch(() => dirDatabases.delete(key));
    }
    return p;
}

/* The DB_URL a process on dataDir gets: undefined for SQLite (the server's default
 * file in DATA_DIR), else the URL of dataDir's PostgreSQL database. */
export async function dbUrlFor(dataDir) {
    return PG ? (await databaseForDir(dataDir)).url : undefined;
}

/*
 * Runs SQL on srv's metadata database, whichever the backend, without the sqlite3
 * tool: psql for PostgreSQL, python3's sqlite3 module for SQLite (DATA_DIR/db.sqlite3
 * or the file of a sqlite:// DB_URL). Resolves with the rows (arrays of strings,
 * NULL as ''). One statement; keep the SQL portable.
 */
export function dbQuery(srv, sql) {
    const url = srv.env.DB_URL;
    if (url && !/^sqlite:/i.test(url)) return psql(sql, url);
    let file = path.join(srv.dataDir, 'db.sqlite3');
    if (url) {
        const rest = url.replace(/^sqlite:\/\/\//i, '');
        file = path.isAbsolute(rest) ? rest : path.resolve(srv.dataDir, rest);
    }
    const py = [
        'import sqlite3, sys',
        'c = sqlite3.connect(sys.argv[1], timeout=10)',
        'for r in c.execute(sys.argv[2]).fetchall():',
        "    print('\\x1f'.join('' if v is None else str(v) for v in r))",
        'c.commit()',
    ].join('\n');
    return new Promise((resolve, reject) => {
        execFile('python3', ['-c', py, file, sql], { timeout: 30000 }, (err, stdout, stderr) => {
            if (err) reject(new Error(`sqlite: ${sql}: ${stderr || err.message}`));
            else resolve(splitRows(stdout));
        });
    });
}

export function makeDataDir() {
    return fs.mkdtempSync(path.join(os.tmpdir(), 'lc-api-'));
}

export function randomPassword() {
    return 'pw-' + crypto.randomBytes(12).toString('hex');
}

/* The environment a child gets: PATH, sanitizer options, LC_TEST_RUN and `extra`;
 * keys whose value is undefined or null are left out. */
function childEnv(extra) {
    const env = { PATH: process.env.PATH, ASAN_OPTIONS, UBSAN_OPTIONS };
    if (process.env.LC_TEST_RUN) env.LC_TEST_RUN = process.env.LC_TEST_RUN;
    for (const [k, v] of Object.entries(extra)) {
        if (v === undefined || v === null) delete env[k];
        else env[k] = String(v);
    }
    return env;
}

/* Sanitizer reports (ASan, LSan, UBSan) in a text: the first line of one, or null. */
export function findSanitizerReport(text) {
    const m = text.match(/ERROR: (Address|Leak|Undefined|Thread|Memory)Sanitizer.*|.*runtime error:.*|SUMMARY: \w+Sanitizer.*/);
    return m ? m[0] : null;
}

/*
 * Spawns `cmd args` in a process group of its own that dies with this process
 * (setpriv --pdeathsig KILL execs cmd in place, so the pid is cmd's), tracked in
 * `live` until it exits. opts as for spawn; preload: LD_PRELOAD for cmd. Returns the ChildProcess with
 * .output() (stdout + stderr so far) and .exited (promise of {code, signal}, after
 * the output was scanned for sanitizer reports).
 */
function spawnTracked(cmd, args, opts, preload = null) {
    // env(1) sets LD_PRELOAD for cmd alone, not for setpriv; both exec in place.
    const pre = preload ? ['env', `LD_PRELOAD=${preload}`] : [];
    const proc = spawn('setpriv', ['--pdeathsig', 'KILL', '--', ...pre, cmd, ...args], { ...opts, detached: true });
    live.add(proc);
    const out = [];
    const err = [];
    proc.stdout?.on('data', (b) => out.push(b));
    proc.stderr?.on('data', (b) => err.push(b));
    proc.stdoutText = () => Buffer.concat(out).toString('utf8');
    proc.stderrText = () => Buffer.concat(err).toString('utf8');
    proc.output = () => proc.stdoutText() + proc.stderrText();
    proc.exited = new Promise((resolve) => {
        proc.once('close', (code, signal) => {
            live.delete(proc);
            const rep = findSanitizerReport(proc.output());
            if (rep) reports.push(`${path.basename(cmd)} ${args.join(' ')} (pid ${proc.pid}): ${rep}`);
            resolve({ code, signal });
        });
        proc.once('error', () => {
            live.delete(proc);
            resolve({ code: null, signal: null, error: true });
        });
    });
    return proc;
}

/*
 * Resolves with `promise`'s value, or rejects after ms with "timed out after ms ms
 * waiting for <what>" (the timer does not outlive the wait).
 */
export function within(promise, ms, what = 'an answer') {
    let t;
    return Promise.race([
        promise,
        new Promise((_, reject) => {
            t = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
        }),
    ]).finally(() => clearTimeout(t));
}

/*
 * A wall clock for the processes started with it (startServer / runCli option
 * `clock`): tests/api/lib/clockshift.c, preloaded into them, reads the shift from a
 * file at every call, so set(seconds) moves their time at once, running or not.
 * Only the wall clock moves (rate-limit windows, file ages, token expiry); timeouts
 * run on the monotonic clock. Returns {file, set(seconds), preload, env}.
 */
export function makeClock() {
    const shim = path.join(path.dirname(BIN), 'lc-clockshift.so');
    if (!fs.existsSync(shim)) throw new Error(`no ${shim}: build the tests (make build-test)`);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lc-clock-'));
    const file = path.join(dir, 'shift');
    fs.writeFileSync(file, '0\n');
    process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
    return {
        file,
        preload: [sanitizerRuntime(), shim].filter(Boolean).join(' '),
        env: { LC_CLOCK_SHIFT_FILE: file },
        /* Moves the clock to `seconds` ahead of the real one (replaces the file in one
         * rename: a reader never sees it half written). */
        set(seconds) {
            const tmp = `${file}.${process.pid}`;
            fs.writeFileSync(tmp, `${Math.trunc(seconds)}\n`);
            fs.renameSync(tmp, file);
        },
    };
}

// The ASan runtime BIN links (it must come first among preloaded objects), or null.
let asanRuntime;
function sanitizerRuntime() {
    if (asanRuntime === undefined) {
        const r = spawnSync('ldd', [BIN], { encoding: 'utf8' });
        const m = /^\s*libasan\.so[.\d]* => (\S+)/m.exec(r.stdout ?? '');
        asanRuntime = m ? m[1] : null;
    }
    return asanRuntime;
}

/* Resolves with promise's value, or null after ms. */
function withTimeout(promise, ms) {
    let t;
    return Promise.race([
        promise,
        new Promise((resolve) => {
            t = setTimeout(() => resolve(null), ms);
        }),
    ]).finally(() => clearTimeout(t));
}

/* The inodes of the TCP sockets listening on loopback/any `port` (IPv4 and IPv6). */
function listeningInodes(port) {
    const inodes = [];
    for (const f of ['/proc/net/tcp', '/proc/net/tcp6']) {
        let text;
        try {
            text = fs.readFileSync(f, 'utf8');
        } catch {
            continue;
        }
        for (const line of text.split('\n').slice(1)) {
            const c = line.trim().split(/\s+/);
            if (c.length < 10 || c[3] !== '0A') continue; // 0A: LISTEN
            if (parseInt(c[1].split(':')[1], 16) === port) inodes.push(c[9]);
        }
    }
    return inodes;
}

/*
 * The proof that `port` is served by process `pid` and nobody else: exactly one
 * listening socket on that port, and it is one of pid's open files. Throws otherwise.
 * (A health answer alone proves nothing: any process on the port would give it.)
 */
export function assertOwnsPort(pid, port) {
    const inodes = listeningInodes(port);
    assert.equal(inodes.length, 1, `one listening socket on port ${port}, found ${inodes.length}`);
    let fds = [];
    try {
        fds = fs.readdirSync(`/proc/${pid}/fd`);
    } catch (e) {
        assert.fail(`cannot read /proc/${pid}/fd: ${e.message}`);
    }
    const want = `socket:[${inodes[0]}]`;
    const owned = fds.some((fd) => {
        try {
            return fs.readlinkSync(`/proc/${pid}/fd/${fd}`) === want;
        } catch {
            return false;
        }
    });
    assert.ok(owned, `the socket listening on port ${port} belongs to process ${pid}, not to another one`);
}

/* GET /api/v1/check/health/ on a connection of its own (no idle keep-alive left
 * behind); resolves the status, or 0 when nothing answered within ms. */
function healthStatus(port, ms = 1000) {
    return new Promise((resolve) => {
        const req = http.request({ host: '127.0.0.1', port, path: '/api/v1/check/health/', agent: false }, (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode));
            res.on('error', () => resolve(0));
        });
        req.setTimeout(ms, () => req.destroy());
        req.on('error', () => resolve(0));
        req.end();
    });
}

/*
 * Starts `BIN serve`. opts.env overrides/extends the environment (a null/undefined
 * value removes a variable, e.g. {ADMIN_USERNAME: null}); opts.dataDir reuses a
 * directory (which stop() then keeps); opts.onSpawn(srv) is called as soon as the
 * process runs (to watch its output while it starts); opts.startupMs (default 20 s)
 * bounds the start; opts.clock (makeClock()) gives it a wall clock the test moves;
 * opts.port binds that port (a restart where clients expect it). Resolves once the
 * server is up and proven to be the process this
 * call started: its own start-up line "listening on http://127.0.0.1:PORT" came
 * through its stderr pipe, GET /api/v1/check/health/ answers 200, and the one socket
 * listening on PORT is among that process's open files (see tests/api/README.md).
 * Rejects with the server's output if it exits or is not up in time.
 */
export async function startServer(opts = {}) {
    for (let attempt = 0; ; attempt++) {
        try {
            return await startOnce(opts);
        } catch (e) {
            // Another process may have taken the port between freePort() and bind
            // (a port the caller chose is not changed).
            if (attempt < 2 && e.portTaken && !opts.port) continue;
            throw e;
        }
    }
}

async function startOnce(opts) {
    const port = opts.port ?? (await freePort());
    const ownDir = !opts.dataDir;
    const dataDir = opts.dataDir ?? makeDataDir();
    const given = opts.env?.ADMIN_PASSWORD;
    const password = typeof given === 'string' ? given : randomPassword();
    const startupMs = opts.startupMs ?? STARTUP_MS;
    // Under PostgreSQL each DATA_DIR has its database unless the caller names one.
    let dbUrl;
    if (PG && !(opts.env && 'DB_URL' in opts.env)) {
        try {
            dbUrl = await dbUrlFor(dataDir);
        } catch (e) {
            if (ownDir) fs.rmSync(dataDir, { recursive: true, force: true });
            throw e;
        }
    }
    // Removes what this server owns: its temp DATA_DIR and that dir's database.
    const cleanup = async () => {
        if (!ownDir) return;
        fs.rmSync(dataDir, { recursive: true, force: true });
        if (!dbUrl) return;
        const db = await databaseForDir(dataDir);
        dirDatabases.delete(path.resolve(dataDir));
        await dropDatabase(db.name);
    };
    const env = childEnv({
        DATA_DIR: dataDir,
        BIND: `127.0.0.1:${port}`,
        ADMIN_USERNAME: 'admin',
        ADMIN_PASSWORD: password,
        ALLOWED_HOSTS: '127.0.0.1,localhost',
        LOG_LEVEL: 'debug',
        // The bootstrap admin has no second factor: tests of the API's other rules
        // download with password-only tokens. The 2FA rules (the default,
        // REQUIRE_2FA=true) are tested where a test asks for them (console.test.mjs).
        REQUIRE_2FA: 'false',
        DB_URL: dbUrl,
        ...(opts.env ?? {}),
    });
    if (!fs.existsSync(BIN)) throw new Error(`no server binary at ${BIN} (build it: make build-test)`);
    if (opts.clock) Object.assign(env, opts.clock.env);
    const proc = spawnTracked(BIN, ['serve'], { env, cwd: dataDir, stdio: ['ignore', 'pipe', 'pipe'] },
        opts.clock?.preload);
    let stopping = false;
    const exited = proc.exited.then((r) => {
        // Exiting on its own (crash, or a signal from outside the test) is worth a report.
        if (!stopping) srv.exitedEarly = r;
        return r;
    });
    const url = `http://127.0.0.1:${port}`;
    const srv = {
        url,
        port,
        dataDir,
        proc,
        env,
        password,
        exited,
        stdout: () => proc.stdoutText(),
        stderr: () => proc.stderrText(),
        output: () => proc.output(),
        stopped: false,
        exitedEarly: null, // {code, signal} when the process exited before stop()
        /* SIGTERM, wait for exit (35 s, then SIGKILL and throw), remove the data dir
         * unless it was given or keepDataDir. Resolves {code, signal}; throws when
         * the process's output holds a sanitizer report (whatever its exit). */
        async stop({ keepDataDir = false } = {}) {
            let r;
            stopping = true;
            if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
            r = await withTimeout(exited, STOP_MS);
            if (!r) {
                killGroup(proc);
                await exited;
            }
            killGroup(proc); // anything the server left in its group
            srv.stopped = true;
            if (!keepDataDir) await cleanup();
            if (!r) throw new Error(`server did not exit within ${STOP_MS} ms of SIGTERM`);
            const rep = findSanitizerReport(srv.output());
            if (rep) throw new Error(`sanitizer report in the server's output: ${rep}\n${srv.stderr().slice(-4000)}`);
            return r;
        },
    };
    if (opts.onSpawn) opts.onSpawn(srv);

    const listening = new RegExp(`listening on http://127\\.0\\.0\\.1:${port} `);
    const end = Date.now() + startupMs;
    for (;;) {
        if (proc.exitCode !== null || proc.signalCode !== null) {
            await exited;
            const text = srv.output();
            await cleanup();
            const e = new Error(
                `server exited during start-up (code ${proc.exitCode}, signal ${proc.signalCode}):\n${text}`,
            );
            e.portTaken = /in use|EADDRINUSE/i.test(text);
            throw e;
        }
        if (listening.test(srv.stderr()) && (await healthStatus(port)) === 200) {
            try {
                assertOwnsPort(proc.pid, port);
            } catch (e) {
                stopping = true;
                killGroup(proc);
                await exited;
                await cleanup();
                throw e;
            }
            return srv;
        }
        if (Date.now() > end) {
            stopping = true;
            killGroup(proc);
            await exited;
            await cleanup();
            throw new Error(`server not up within ${startupMs} ms:\n${srv.output()}`);
        }
        await sleep(50);
    }
}

/* Starts one server per options object, all at once; when any of them fails, stops
 * the others and throws. Resolves the servers in order. */
export async function startAll(...optsList) {
    const results = await Promise.allSettled(optsList.map((o) => startServer(o)));
    const failed = results.find((r) => r.status === 'rejected');
    if (!failed) return results.map((r) => r.value);
    await Promise.allSettled(results.filter((r) => r.status === 'fulfilled').map((r) => r.value.stop()));
    throw failed.reason;
}

/*
 * Starts a server on an existing database and DATA_DIR, both left in place by
 * stop(): for several processes sharing one database. dbUrl undefined means the
 * SQLite default in dataDir. password becomes ADMIN_PASSWORD (and srv.password):
 * give every process of one database the same one.
 */
export function startServerOn({ dbUrl, dataDir, password, env = {} }) {
    return startServer({
        dataDir,
        env: { DB_URL: dbUrl, ...(password ? { ADMIN_PASSWORD: password } : {}), ...env },
    });
}

/* A sanitizer report in the server's output (its first line), or null. */
export function sanitizerReport(srv) {
    return findSanitizerReport(srv.output());
}

/* Stops srv (if started) and asserts it left no sanitizer report, had not exited
 * before, and exited 0. For after() hooks; see stopAll for several servers. */
export async function stopAndCheck(srv) {
    if (!srv || srv.stopped) return;
    const early = srv.exitedEarly;
    const r = await srv.stop();
    assert.equal(early, null, `server exited before the tests stopped it (${JSON.stringify(early)}):\n${srv.stderr().slice(-3000)}`);
    assert.deepEqual(r, { code: 0, signal: null }, `server exit after SIGTERM:\n${srv.stderr().slice(-2000)}`);
}

/* stopAndCheck on every server given (null/undefined skipped), all of them stopped
 * whatever one of them shows; then throws one error naming every failed check. */
export async function stopAll(...servers) {
    const results = await Promise.allSettled(servers.filter(Boolean).map((s) => stopAndCheck(s)));
    const errors = results.filter((r) => r.status === 'rejected').map((r) => r.reason);
    if (errors.length === 1) throw errors[0];
    if (errors.length) throw new Error(errors.map((e, i) => `${i + 1}: ${e.message}`).join('\n'));
}

/*
 * One request through fetch (never follows redirects). opts: token (Bearer),
 * json (serialized, Content-Type application/json), body (raw), headers.
 * Resolves {status, headers, json (parsed body or null), text}.
 */
export async function api(srv, method, p, opts = {}) {
    const headers = { ...(opts.headers ?? {}) };
    let body = opts.body;
    if (opts.json !== undefined) {
        body = JSON.stringify(opts.json);
        if (!Object.keys(headers).some((h) => h.toLowerCase() === 'content-type'))
            headers['Content-Type'] = 'application/json';
    }
    if (opts.token) headers.Authorization = `Bearer ${opts.token}`;
    const res = await fetch(srv.url + p, {
        method,
        headers,
        body,
        redirect: 'manual',
        signal: AbortSignal.timeout(opts.timeout ?? 30000),
    });
    const text = await res.text();
    let json = null;
    if (text.length) {
        try {
            json = JSON.parse(text);
        } catch {
            json = null;
        }
    }
    return { status: res.status, headers: res.headers, json, text };
}

/* POST /api/v1/auth/token/; asserts 200 and returns {access, refresh}. */
export async function login(srv, user = 'admin', pass = srv.password) {
    const r = await api(srv, 'POST', '/api/v1/auth/token/', { json: { username: user, password: pass } });
    assert.equal(r.status, 200, `login ${user}: ${r.text}`);
    return r.json;
}

/* Asserts an error/answer is JSON with that status and exactly that body. */
export function expectJson(r, status, body, msg = '') {
    assert.equal(r.status, status, `${msg} status (body ${r.text})`);
    assert.match(r.headers.get('content-type') ?? '', /^application\/json/, `${msg} content type`);
    if (body !== undefined) assert.deepEqual(r.json, body, `${msg} body`);
}

/* Asserts a 400 whose body has exactly these field keys, each a non-empty list of strings. */
export function expectFields(r, keys, msg = '') {
    assert.equal(r.status, 400, `${msg} status (body ${r.text})`);
    assert.ok(r.json && typeof r.json === 'object' && !Array.isArray(r.json), `${msg} JSON object`);
    assert.deepEqual(Object.keys(r.json).sort(), [...keys].sort(), `${msg} keys of ${r.text}`);
    for (const k of keys) {
        assert.ok(Array.isArray(r.json[k]) && r.json[k].length > 0, `${msg} ${k} is a list`);
        for (const m of r.json[k]) assert.equal(typeof m, 'string');
    }
}

/*
 * Sends raw bytes on a fresh TCP connection and reads one HTTP response.
 * `chunks` is a string/Buffer, or an array of {data, delay} sent in order with
 * delay ms before each. Resolves {status, headers (lower-case name -> [values]),
 * body, raw} once a complete response (Content-Length) arrived or the peer closed.
 */
export function rawRequest(srv, chunks, { timeout = 10000, onSocket } = {}) {
    const list = Array.isArray(chunks) ? chunks : [{ data: chunks, delay: 0 }];
    return new Promise((resolve, reject) => {
        const sock = net.connect(srv.port, '127.0.0.1');
        if (onSocket) onSocket(sock);
        let buf = Buffer.alloc(0);
        let done = false;
        const timer = setTimeout(() => finish(new Error(`raw request: no complete answer in ${timeout} ms: ${buf}`)), timeout);
        function parse() {
            const i = buf.indexOf('\r\n\r\n');
            if (i < 0) return null;
            const head = buf.subarray(0, i).toString('latin1').split('\r\n');
            const m = head[0].match(/^HTTP\/1\.[01] (\d{3})/);
            if (!m) return null;
            const headers = {};
            for (const line of head.slice(1)) {
                const c = line.indexOf(':');
                const k = line.slice(0, c).trim().toLowerCase();
                (headers[k] ??= []).push(line.slice(c + 1).trim());
            }
            return { status: Number(m[1]), headers, body: buf.subarray(i + 4), raw: buf };
        }
        function finish(err) {
            if (done) return;
            done = true;
            clearTimeout(timer);
            sock.destroy();
            const r = parse();
            if (r) resolve(r);
            else reject(err ?? new Error(`raw request: no HTTP answer: ${JSON.stringify(buf.toString('latin1'))}`));
        }
        sock.on('data', (d) => {
            buf = Buffer.concat([buf, d]);
            const r = parse();
            if (r && r.headers['content-length'] && r.body.length >= Number(r.headers['content-length'][0]))
                finish();
        });
        sock.on('end', () => finish());
        sock.on('close', () => finish());
        sock.on('error', (e) => finish(e));
        (async () => {
            for (const c of list) {
                if (c.delay) await sleep(c.delay);
                if (done) return;
                sock.write(c.data);
            }
        })().catch((e) => finish(e));
    });
}

/* GET via node:http so that the Host header can be anything. Resolves
 * {status, headers, json, text}. */
export function httpGet(srv, p, headers = {}) {
    return new Promise((resolve, reject) => {
        const req = http.request(
            { host: '127.0.0.1', port: srv.port, path: p, method: 'GET', headers, agent: false },
            (res) => {
                const parts = [];
                res.on('data', (d) => parts.push(d));
                res.on('end', () => {
                    const text = Buffer.concat(parts).toString('utf8');
                    let json = null;
                    try {
                        json = JSON.parse(text);
                    } catch {
                        /* not JSON */
                    }
                    resolve({ status: res.statusCode, headers: res.headers, json, text });
                });
            },
        );
        req.setTimeout(10000, () => req.destroy(new Error('timeout')));
        req.on('error', reject);
        req.end();
    });
}

/* Waits (max `timeout` ms) for a line of the server's output matching re. */
export function waitForLine(srv, re, timeout = 5000) {
    return waitFor(() => srv.output().split('\n').find((l) => re.test(l)), {
        timeout,
        what: `a log line matching ${re}`,
    });
}

/*
 * Runs `BIN ...args` to completion (timeout ms, then SIGKILL and throw). env as
 * for startServer (DATA_DIR etc. must be given); input is written to stdin.
 * Under LC_DB=postgres an env with DATA_DIR and without a DB_URL key gets the
 * DB_URL of that DATA_DIR's database (the one its servers use). clock: a
 * makeClock() whose time the command runs on.
 * Resolves {code, signal, stdout, stderr}; rejects when the output holds a
 * sanitizer report, whatever the exit status.
 */
export async function runCli(args, { env = {}, input = '', timeout = 20000, cwd, clock } = {}) {
    if (PG && env.DATA_DIR && !('DB_URL' in env)) env = { ...env, DB_URL: await dbUrlFor(env.DATA_DIR) };
    if (!fs.existsSync(BIN)) throw new Error(`no binary at ${BIN} (build it: make build-test)`);
    const proc = spawnTracked(BIN, args, {
        env: childEnv({ ...env, ...(clock?.env ?? {}) }),
        cwd: cwd ?? env.DATA_DIR ?? os.tmpdir(),
        stdio: ['pipe', 'pipe', 'pipe'],
    }, clock?.preload);
    proc.stdin.on('error', () => {}); // the program may not read stdin
    proc.stdin.end(input);
    const r = await withTimeout(proc.exited, timeout);
    const what = `${path.basename(BIN)} ${args.join(' ')}`;
    if (!r) {
        killGroup(proc);
        await proc.exited;
        throw new Error(`${what}: no exit within ${timeout} ms\n${proc.stderrText()}`);
    }
    if (r.error) throw new Error(`cannot run ${what}`);
    const rep = findSanitizerReport(proc.output());
    if (rep) throw new Error(`${what}: sanitizer report: ${rep}\n${proc.stderrText().slice(-4000)}`);
    return { code: r.code, signal: r.signal, stdout: proc.stdoutText(), stderr: proc.stderrText() };
}

/* Base64url helpers and an HS256 signer for hand-made JWTs. */
export const b64url = (buf) => Buffer.from(buf).toString('base64url');
export function jwtDecode(token) {
    const [h, p] = token.split('.');
    return {
        header: JSON.parse(Buffer.from(h, 'base64url').toString('utf8')),
        payload: JSON.parse(Buffer.from(p, 'base64url').toString('utf8')),
    };
}
export function jwtSign(payload, key, header = { alg: 'HS256', typ: 'JWT' }) {
    const input = b64url(JSON.stringify(header)) + '.' + b64url(JSON.stringify(payload));
    const sig = crypto.createHmac('sha256', key).update(input).digest();
    return input + '.' + b64url(sig);
}
