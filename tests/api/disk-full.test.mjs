// disk-full.test.mjs - DATA_DIR on a full disk (STORAGE_MIN_FREE=0): 507 with a JSON detail,
// whichever layer hits it (the database, the temp file), and no temp file or row left behind.
//
// Needs root (it mounts a small tmpfs as DATA_DIR); skipped with the reason otherwise.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startServer, stopAndCheck, waitFor, PG } from './lib/server.mjs';
import { setup, staff, listFiles, rawStream } from './lib/upload-helpers.mjs';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lc-full-'));

/* Mounts an 8 MiB tmpfs (mode 0750: the server refuses a world-writable
 * DATA_DIR) on dir; null when mounted, else why not. */
function mountSmallDisk() {
    if (typeof process.getuid !== 'function' || process.getuid() !== 0)
        return 'needs root to mount a small tmpfs as DATA_DIR';
    const r = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=8m,mode=0750', 'tmpfs', dir], {
        encoding: 'utf8',
    });
    if (r.status !== 0) return `mount -t tmpfs failed: ${(r.stderr || r.error?.message || '').trim()}`;
    return null;
}

const skip = mountSmallDisk();
const mounted = !skip;
if (!mounted) fs.rmSync(dir, { recursive: true, force: true });

function unmount() {
    spawnSync('umount', [dir]);
    fs.rmSync(dir, { recursive: true, force: true });
}
process.on('exit', () => {
    if (mounted && fs.existsSync(dir)) unmount();
});

/* Writes a file until the disk refuses more (ENOSPC), in large then small blocks. */
function fill(file) {
    const fd = fs.openSync(file, 'w');
    try {
        for (const size of [1 << 16, 4096, 512, 1]) {
            const block = Buffer.alloc(size, 0x55);
            for (;;) {
                try {
                    fs.writeSync(fd, block);
                } catch (e) {
                    if (e.code !== 'ENOSPC') throw e;
                    break;
                }
            }
        }
    } finally {
        fs.closeSync(fd);
    }
}

describe('a full DATA_DIR with STORAGE_MIN_FREE=0', () => {
    let srv, ctx, token;
    const filler = path.join(dir, 'filler');

    before(async () => {
        if (!mounted) return;
        // SQLite in the full DATA_DIR in both passes: the database that must
        // meet the full disk is the one on it
        srv = await startServer({
            dataDir: dir, env: { STORAGE_MIN_FREE: '0', DB_URL: `sqlite:///${dir}/db.sqlite3` },
        });
        ctx = await setup(srv);
        const r = await staff(ctx, 'POST', '/api/v1/tickets/', { number: 1, platform: 'vm6' });
        assert.equal(r.status, 201, r.text);
        token = r.json.token;
        fill(filler);
    });

    after(async () => {
        if (!mounted) return;
        fs.rmSync(filler, { force: true });
        await stopAndCheck(srv);
        unmount();
    });

    test('an upload of unknown length: 507 with a JSON detail, no temp file, no row', { skip: skip ?? false }, async () => {
        const up = rawStream(srv,
            `PUT /upload/${token}/logs.bin HTTP/1.1\r\nHost: 127.0.0.1:${srv.port}\r\n` +
            'Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n');
        const chunk = Buffer.alloc(256 * 1024, 0x61);
        for (let i = 0; i < 4; i++)
            if (!(await up.write(Buffer.concat([Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from('\r\n')]))))
                break;
        await up.write('0\r\n\r\n');
        const r = await up.response;
        assert.ok(r, 'an answer');
        assert.equal(r.status, 507, `status (body ${r.body})`);
        assert.match(r.headers['content-type'] ?? '', /^application\/json/);
        assert.equal(typeof r.json?.detail, 'string', `JSON detail: ${r.body}`);
        assert.match(r.json.detail, /full|space/i);
        await up.closed; // the temp file goes when the request ends
        await waitFor(() => listFiles(path.join(dir, 'tmp')).length === 0, { what: 'no temp file' });
        assert.deepEqual(listFiles(path.join(dir, 'archives')), [], 'no archive file');
        const list = await staff(ctx, 'GET', '/api/v1/archives/');
        assert.equal(list.status, 200, list.text);
        assert.deepEqual(list.json, [], 'no archive row');
    });

    test('a ticket creation: 507 with a JSON detail, no row',
        { skip: skip ?? false },
        async () => {
            const note = 'x'.repeat(60000); // a row that cannot fit in pages already there
            const r = await staff(ctx, 'POST', '/api/v1/tickets/', { number: 2, platform: 'vm6', note });
            assert.equal(r.status, 507, `status (body ${r.text})`);
            assert.match(r.headers.get('content-type') ?? '', /^application\/json/);
            assert.equal(typeof r.json?.detail, 'string', `JSON detail: ${r.text}`);
            assert.match(r.json.detail, /full|space/i);
            const got = await staff(ctx, 'GET', '/api/v1/tickets/2/');
            assert.equal(got.status, 404, 'no row');
            // Once there is room again, the same request works.
            fs.rmSync(filler);
            const again = await staff(ctx, 'POST', '/api/v1/tickets/', { number: 2, platform: 'vm6', note });
            assert.equal(again.status, 201, again.text);
            fill(filler);
        });
});
