// cleanup.test.mjs - `logs-collector cleanup [--dry-run]` against the DATA_DIR of a
// running server: files without rows (recent ones kept), rows without files.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startServer, stopAndCheck, runCli } from './lib/server.mjs';
import {
    setup, mkTicket, putUpload, archives, archivesDir, storedPath, listFiles, bytes, uploaded,
} from './lib/upload-helpers.mjs';

let srv;
let ctx;

before(async () => {
    srv = await startServer();
    ctx = await setup(srv);
});
after(() => stopAndCheck(srv));

const cleanup = (...args) => runCli(['cleanup', ...args], { env: srv.env });

test('cleanup on a consistent store: nothing to report, exit 0', async () => {
    const t = await mkTicket(ctx, { attempts: 3 });
    await uploaded(ctx, await putUpload(srv, t.token, 'fine.log', bytes(100, 301)));
    for (const args of [['--dry-run'], []]) {
        const r = await cleanup(...args);
        assert.equal(r.code, 0, r.stderr);
        assert.doesNotMatch(r.stdout, /without row:|row without file:/, r.stdout);
        assert.match(r.stdout, /^0 file\(s\) without row.*0 removed; 0 row\(s\) without file$/m, r.stdout);
    }
    assert.deepEqual(listFiles(path.join(archivesDir(srv), String(t.number))), ['fine.log']);
});

test('cleanup --dry-run reports a planted recent file as kept and a row whose file is gone', async () => {
    const t = await mkTicket(ctx, { attempts: 5 });
    const keep = await uploaded(ctx, await putUpload(srv, t.token, 'keep.log', bytes(1000, 302)));
    const lost = await uploaded(ctx, await putUpload(srv, t.token, 'lost.log', bytes(500, 303)));
    // a file no row points to, in a ticket directory and in a directory of no ticket
    const planted = path.join(archivesDir(srv), String(t.number), 'planted.bin');
    fs.writeFileSync(planted, bytes(777, 304));
    fs.mkdirSync(path.join(archivesDir(srv), '424242'), { recursive: true });
    const stray = path.join(archivesDir(srv), '424242', 'stray.log');
    fs.writeFileSync(stray, 'stray');
    // a row whose file was removed by hand
    fs.unlinkSync(storedPath(srv, lost));

    const dry = await cleanup('--dry-run');
    assert.equal(dry.code, 0, dry.stderr);
    const out = dry.stdout;
    assert.match(out, new RegExp(`recent, kept\\): ${t.number}/planted\\.bin \\(777 bytes\\)`), out);
    assert.match(out, /recent, kept\): 424242\/stray\.log \(5 bytes\)/, out);
    assert.match(out, new RegExp(`row without file: archive ${lost.id} of ticket ${t.number}\\b.*lost\\.log`), out);
    assert.doesNotMatch(out, /keep\.log/, 'a healthy archive is not mentioned');
    assert.match(out, /^2 file\(s\) without row \(dry run\), 0 removed; 1 row\(s\) without file$/m, out);
    assert.ok(fs.existsSync(planted) && fs.existsSync(stray), 'a dry run removes nothing');

    // a real run keeps files younger than an hour as well, and never touches rows
    const real = await cleanup();
    assert.equal(real.code, 0, real.stderr);
    assert.match(real.stdout, /recent, kept\): 424242\/stray\.log/, real.stdout);
    assert.match(real.stdout, /^2 file\(s\) without row, 0 removed; 1 row\(s\) without file$/m, real.stdout);
    assert.ok(fs.existsSync(planted) && fs.existsSync(stray));
    assert.ok(fs.existsSync(storedPath(srv, keep)));
    assert.deepEqual((await archives(ctx, `?ticket=${t.number}`)).map((a) => a.id).sort(), [keep.id, lost.id].sort());

    // after the row is deleted, the row is no longer reported
    fs.unlinkSync(planted);
    fs.rmSync(path.join(archivesDir(srv), '424242'), { recursive: true });
    const del = await fetch(`${srv.url}/api/v1/archives/${lost.id}/`, {
        method: 'DELETE', headers: { Authorization: `Bearer ${ctx.jwt}` },
    });
    assert.equal(del.status, 204, 'deleting a row whose file is missing works');
    const again = await cleanup('--dry-run');
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /^0 file\(s\) without row \(dry run\), 0 removed; 0 row\(s\) without file$/m, again.stdout);
});

test('cleanup usage: --help exit 0, unknown argument exit 2', async () => {
    const help = await cleanup('--help');
    assert.equal(help.code, 0);
    assert.match(help.stdout, /Usage: logs-collector cleanup \[--dry-run\]/);
    const bad = await cleanup('--bogus');
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--bogus/);
});
