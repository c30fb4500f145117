// pipeline.test.mjs - fixes that came with the request pipeline rework (issue 9): error
// bodies, one free-space measure, durable secret key, refusal order of the stages.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
    BIN, startServer, stopAndCheck, api, login, expectJson, dbQuery, makeDataDir,
} from './lib/server.mjs';
import { setup, mkTicket, postUpload, filePart } from './lib/upload-helpers.mjs';

const run = (cmd, args, opts = {}) =>
    new Promise((resolve) => {
        execFile(cmd, args, { timeout: 60000, ...opts }, (err, stdout, stderr) =>
            resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr }));
    });

const root = process.getuid?.() === 0;

describe('one server', () => {
    let srv;
    let ctx;
    before(async () => {
        srv = await startServer();
        ctx = await setup(srv);
    });
    after(() => stopAndCheck(srv));

    test('a database failure during refresh is a 500 without simplejwt\'s "code"', async () => {
        const { refresh } = await login(srv);
        await dbQuery(srv, 'ALTER TABLE users RENAME TO users_away');
        try {
            const r = await api(srv, 'POST', '/api/v1/auth/token/refresh/', { json: { refresh } });
            assert.equal(r.status, 500, r.text);
            assert.equal(r.json.code, undefined, r.text);
            assert.equal(typeof r.json.detail, 'string');
        } finally {
            await dbQuery(srv, 'ALTER TABLE users_away RENAME TO users');
        }
        const ok = await api(srv, 'POST', '/api/v1/auth/token/refresh/', { json: { refresh } });
        assert.equal(ok.status, 200);
        const bad = await api(srv, 'POST', '/api/v1/auth/token/refresh/', { json: { refresh: 'x.y.z' } });
        expectJson(bad, 401, { detail: 'Token is invalid or expired', code: 'token_not_valid' });
    });

    test('every JSON answer carries the API profile headers, errors included', async () => {
        for (const [method, p, opts] of [
            ['GET', '/api/v1/check/health/', {}],
            ['GET', '/api/v1/tickets/', { token: ctx.jwt }],
            ['GET', '/api/v1/tickets/', {}],
            ['DELETE', '/api/v1/check/health/', {}],
            ['OPTIONS', '/api/v1/tickets/', {}],
        ]) {
            const r = await api(srv, method, p, opts);
            assert.equal(r.headers.get('content-security-policy'), "default-src 'none'; frame-ancestors 'none'", `${method} ${p}`);
            assert.equal(r.headers.get('cache-control'), 'no-store');
            assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
        }
    });

    test('stages refuse in order: credentials before the body\'s content type', async () => {
        // an unknown token with a wrong content type: who is calling is decided first
        const r = await api(srv, 'POST', '/api/v1/archives/', {
            body: 'x', headers: { 'Content-Type': 'text/plain', 'Upload-Token': '00000000-0000-4000-8000-000000000000' },
        });
        expectJson(r, 403, { detail: 'token 00000000-0000-4000-8000-000000000000 is not valid' });
        const t = await mkTicket(ctx);
        const m = await api(srv, 'POST', '/api/v1/archives/', {
            body: 'x', headers: { 'Content-Type': 'text/plain', 'Upload-Token': t.token },
        });
        expectJson(m, 415, { detail: 'Unsupported media type "text/plain" in request.' });
        const ok = await postUpload(srv, filePart('data'), { uploadToken: t.token });
        assert.equal(ok.status, 201);
    });
});

test('storage is measured where the archives are, as the 507 is', { skip: !root && 'needs root to mount a tmpfs' }, async () => {
    const dataDir = makeDataDir();
    const archives = path.join(dataDir, 'archives');
    fs.mkdirSync(archives, { mode: 0o750 });
    const mounted = await run('mount', ['-t', 'tmpfs', '-o', 'size=64m', 'tmpfs', archives]);
    assert.equal(mounted.code, 0, mounted.stderr);
    let srv;
    try {
        srv = await startServer({ dataDir });
        const { access } = await login(srv);
        const r = await api(srv, 'GET', '/api/v1/check/storage/', { token: access });
        assert.equal(r.status, 200);
        assert.equal(r.json.total, 64 * 1024 * 1024, 'the tmpfs under archives/, not DATA_DIR\'s disk');
        assert.equal(r.json.status, 'mount');
    } finally {
        if (srv) await stopAndCheck(srv);
        await run('umount', [archives]);
        fs.rmSync(dataDir, { recursive: true, force: true });
    }
});

test('the generated secret key is flushed with its directory before it is used', async () => {
    const dataDir = makeDataDir();
    try {
        const log = path.join(os.tmpdir(), `lc-strace-${process.pid}.txt`);
        const r = await run('strace', ['-f', '-qq', '-e', 'trace=openat,linkat,link,fsync', '-o', log, BIN, 'migrate'], {
            env: { PATH: process.env.PATH, DATA_DIR: dataDir, ASAN_OPTIONS: 'detect_leaks=0' },
        });
        assert.equal(r.code, 0, r.stderr);
        const lines = fs.readFileSync(log, 'utf8').split('\n');
        fs.rmSync(log, { force: true });
        const linked = lines.findIndex((l) => /link(at)?\(.*secret_key/.test(l));
        assert.ok(linked >= 0, 'the key is linked into place');
        // the data directory opened as a directory after the link, then fsynced
        const dirOpen = lines.slice(linked).find((l) => new RegExp(`openat\\(.*"${dataDir}".*O_DIRECTORY.*= (\\d+)`).test(l));
        assert.ok(dirOpen, `DATA_DIR opened for fsync after the link:\n${lines.slice(linked, linked + 10).join('\n')}`);
        const fd = dirOpen.match(/= (\d+)$/)[1];
        assert.ok(lines.slice(linked).some((l) => l.includes(`fsync(${fd})`)), 'and fsynced');
    } finally {
        fs.rmSync(dataDir, { recursive: true, force: true });
    }
});
