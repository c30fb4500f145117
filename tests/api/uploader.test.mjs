// uploader.test.mjs - scripts/uploader.sh resumes (tus) through a connection that breaks:
// a TCP proxy between the script and the server cuts the first PATCH half-way, then refuses
// connections for a while; the script resumes from the server's offset, gives up when told
// to, and a second run continues the same upload; an answer lost after the last bytes sends
// nothing again. One attempt for all of it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { proxy as proxyTo } from './lib/proxy.mjs';
import { ROOT, startServer, stopAndCheck } from './lib/server.mjs';
import { setup, mkTicket, attemptsOf, staff, bytes, sha256 } from './lib/upload-helpers.mjs';

const MiB = 1024 * 1024;
let srv;
let ctx;
let dir;

before(async () => {
    srv = await startServer();
    ctx = await setup(srv);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lc-uploader-'));
});
after(async () => {
    fs.rmSync(dir, { recursive: true, force: true });
    await stopAndCheck(srv);
});

const proxy = (opts) => proxyTo(srv.port, opts);

function uploader(args, env = {}) {
    return new Promise((resolve) => {
        execFile('bash', [path.join(ROOT, 'scripts', 'uploader.sh'), ...args], {
            timeout: 90000, env: { PATH: process.env.PATH, XDG_CACHE_HOME: path.join(dir, 'cache'), ...env },
        }, (err, stdout, stderr) => resolve({ code: err ? err.code : 0, stdout, stderr }));
    });
}

test('a connection cut half-way: the script resumes from the server\'s offset, one attempt', async () => {
    const t = await mkTicket(ctx, { attempts: 3 });
    const file = path.join(dir, 'cut.tar.gz');
    const data = bytes(6 * MiB, 51);
    fs.writeFileSync(file, data);
    const p = await proxy({ cutPatchAfter: 2 * MiB });
    p.afterCut = 'refuse'; // and the server "away" for a moment
    setTimeout(() => { p.mode = 'pass'; }, 1500);
    try {
        const r = await uploader(['-f', file, '-t', t.token, '-d', p.url]);
        assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
        assert.equal(p.cuts, 1, 'the connection was cut once');
        assert.match(r.stderr, /The connection broke/);
        assert.match(r.stderr, /Sending bytes [1-9]\d*\.\.6291456/, 'resumed past 0');
        assert.match(r.stdout, new RegExp(`SHA-256 on the server: ${sha256(data)}`));
        assert.equal(await attemptsOf(srv, t.token), 2);
        const list = await staff(ctx, 'GET', `/api/v1/archives/?ticket=${t.number}`);
        assert.deepEqual(list.json.map((a) => [a.name, a.sha256]), [['cut.tar.gz', sha256(data)]]);
    } finally {
        await p.close();
    }
});

test('it gives up with a clear message; the same command again continues the upload', async () => {
    const t = await mkTicket(ctx, { attempts: 3 });
    const file = path.join(dir, 'later.tar.gz');
    const data = bytes(4 * MiB, 53);
    fs.writeFileSync(file, data);
    const p = await proxy({ cutPatchAfter: MiB });
    p.afterCut = 'refuse';
    try {
        const first = await uploader(['-f', file, '-t', t.token, '-d', p.url, '-r', '1']);
        assert.equal(first.code, 1, first.stderr);
        assert.match(first.stderr, /gave up after 1 attempts to resume/);
        assert.match(first.stderr, /run the same command again to continue/);
        p.mode = 'pass';
        const second = await uploader(['-f', file, '-t', t.token, '-d', p.url]);
        assert.equal(second.code, 0, `${second.stdout}\n${second.stderr}`);
        assert.match(second.stderr, /Resuming the upload started earlier: [1-9]\d* of 4194304 bytes are on the server/);
        assert.match(second.stdout, new RegExp(`SHA-256 on the server: ${sha256(data)}`));
        assert.equal(await attemptsOf(srv, t.token), 2, 'one attempt for both runs');
        assert.deepEqual(fs.readdirSync(path.join(dir, 'cache', 'logs-collector-uploader')), [],
            'nothing remembered once done');
    } finally {
        await p.close();
    }
});

test('the answer to the last bytes is lost: the script asks, learns the upload is complete, sends nothing again', async () => {
    const t = await mkTicket(ctx, { attempts: 3 });
    const file = path.join(dir, 'lost.tar.gz');
    const data = bytes(3 * MiB, 57);
    fs.writeFileSync(file, data);
    const p = await proxy({ loseAnswer: (answer) => answer.includes('Archive-Id') });
    try {
        const r = await uploader(['-f', file, '-t', t.token, '-d', p.url]);
        assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
        assert.equal(p.cuts, 1, 'the answer was lost once');
        assert.match(r.stderr, /The connection broke/);
        assert.doesNotMatch(r.stderr, /Sending bytes/, 'no byte sent twice');
        assert.match(r.stdout, new RegExp(`SHA-256 on the server: ${sha256(data)}`));
        assert.equal(await attemptsOf(srv, t.token), 2, 'one attempt');
        const list = await staff(ctx, 'GET', `/api/v1/archives/?ticket=${t.number}`);
        assert.deepEqual(list.json.map((a) => [a.name, a.sha256]), [['lost.tar.gz', sha256(data)]], 'one archive');
        assert.deepEqual(fs.readdirSync(path.join(dir, 'cache', 'logs-collector-uploader')), [], 'nothing remembered once done');
    } finally {
        await p.close();
    }
});

test('refusals are explained in plain words, and the one-request forms still work', async () => {
    const file = path.join(dir, 'small.log');
    fs.writeFileSync(file, bytes(5000, 55));
    const resolved = await mkTicket(ctx, { resolved: true });
    const r = await uploader(['-f', file, '-t', resolved.token, '-d', srv.url]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /the upload link can no longer be used/);
    assert.match(r.stderr, /server says: ticket of token .* already resolved/);
    const t = await mkTicket(ctx);
    const put = await uploader(['-f', file, '-t', t.token, '-u', `${srv.url}/upload/${t.token}/`]);
    assert.equal(put.code, 0, put.stderr);
    assert.match(put.stdout, /SHA-256 on the server: [0-9a-f]{64}/);
    const usage = await uploader(['-f', file, '-t', t.token, '-d', srv.url, '-r', 'many']);
    assert.equal(usage.code, 2);
});
