// cleanup.test.mjs - `logs-collector cleanup [--dry-run]` against the DATA_DIR of a
// running server: files without rows (recent ones kept, old ones removed), rows without
// files, a removal that fails (exit 1).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startServer, stopAndCheck, runCli, makeClock } from './lib/server.mjs';
import {
    setup, mkTicket, putUpload, archives, archivesDir, storedPath, listFiles, bytes, uploaded,
    needsRoot, mountCmd,
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

test('cleanup removes a file without row once it is an hour old; keeps the rest', async () => {
    const t = await mkTicket(ctx, { attempts: 3 });
    const keep = await uploaded(ctx, await putUpload(srv, t.token, 'keep.log', bytes(300, 311)));
    const old = path.join(archivesDir(srv), String(t.number), 'old.bin');
    fs.writeFileSync(old, bytes(4321, 312));
    // Two hours later, for cleanup (the file's change time cannot be set back; the
    // clock of the cleanup process is moved forward instead: tests/api/lib/clockshift.c).
    const clock = makeClock();
    clock.set(2 * 3600);
    const dry = await runCli(['cleanup', '--dry-run'], { env: srv.env, clock });
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, new RegExp(`^file without row: ${t.number}/old\\.bin \\(4321 bytes\\)$`, 'm'), dry.stdout);
    assert.ok(fs.existsSync(old), 'a dry run removes nothing');
    const r = await runCli(['cleanup'], { env: srv.env, clock });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^removed file without row: ${t.number}/old\\.bin \\(4321 bytes\\)$`, 'm'), r.stdout);
    assert.match(r.stdout, /^1 file\(s\) without row, 1 removed; 0 row\(s\) without file$/m, r.stdout);
    assert.ok(!fs.existsSync(old), 'the old file without row is gone from the disk');
    assert.ok(fs.existsSync(storedPath(srv, keep)), 'an archive with its row stays, however old');
    assert.deepEqual((await archives(ctx, `?ticket=${t.number}`)).map((a) => a.id), [keep.id]);
    // now consistent again
    const again = await runCli(['cleanup'], { env: srv.env, clock });
    assert.match(again.stdout, /^0 file\(s\) without row, 0 removed; 0 row\(s\) without file$/m, again.stdout);
});

test('cleanup that cannot remove a file: exit 1, says it failed part-way', { skip: needsRoot }, async () => {
    const t = await mkTicket(ctx, { attempts: 3 });
    await uploaded(ctx, await putUpload(srv, t.token, 'first.log', bytes(10, 313)));
    const dir = path.join(archivesDir(srv), String(t.number));
    const stuck = path.join(dir, 'stuck.bin');
    fs.writeFileSync(stuck, bytes(999, 314));
    // the ticket's directory read-only (as root, permissions do not stop an unlink)
    mountCmd('mount', '--bind', dir, dir);
    try {
        mountCmd('mount', '-o', 'remount,bind,ro', dir, dir);
        const clock = makeClock();
        clock.set(2 * 3600);
        const r = await runCli(['cleanup'], { env: srv.env, clock });
        assert.equal(r.code, 1, `exit 1 when a file could not be removed (docs/cli.md):\n${r.stdout}${r.stderr}`);
        assert.match(r.stderr, /^logs-collector: cleanup failed part-way \(1 error\(s\)\)$/m, r.stderr);
        assert.ok(fs.existsSync(stuck));
    } finally {
        mountCmd('umount', dir);
    }
    fs.unlinkSync(stuck);
});

test('cleanup usage: --help exit 0, unknown argument exit 2', async () => {
    const help = await cleanup('--help');
    assert.equal(help.code, 0);
    assert.match(help.stdout, /Usage: logs-collector cleanup \[--dry-run\]/);
    const bad = await cleanup('--bogus');
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--bogus/);
});
