// retention.test.mjs - per platform: archives deleted N days after their ticket was
// resolved, untouched tickets resolved after M days; `logs-collector retention
// --dry-run` shows what would go, the run and the background job delete it, each
// deletion an event of actor "system". The wall clock is moved, not waited for.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { startServer, stopAndCheck, runCli, makeClock, expectJson, waitFor } from './lib/server.mjs';
import { setup, mkTicket, putUpload, staff, bytes, storedPath } from './lib/upload-helpers.mjs';

const DAY = 86400;
let srv;
let ctx;
let clock;
before(async () => {
    clock = makeClock(); // the CLI's: the server keeps the real time (its JWTs stay valid)
    srv = await startServer();
    ctx = await setup(srv);
});
after(() => stopAndCheck(srv));

test('off by default; then keep_days and resolve_days: dry run, run, events', async () => {
    const old = await mkTicket(ctx, { attempts: 2 });
    const up = await putUpload(srv, old.token, 'old.log', bytes(3000, 2));
    assert.equal(up.status, 201, up.text);
    expectJson(await staff(ctx, 'PATCH', `/api/v1/tickets/${old.number}/`, { resolved: true }), 200);
    const open = await mkTicket(ctx);
    const env = { DATA_DIR: srv.dataDir };

    clock.set(400 * DAY);
    let r = await runCli(['retention', '--dry-run'], { env, clock });
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stdout, /would (delete|resolve) (archive|ticket)/, 'nothing while the platform keeps all');

    const p = await staff(ctx, 'PATCH', `/api/v1/platforms/${ctx.platform}/`, { archives_keep_days: 30, resolve_after_days: 10 });
    expectJson(p, 200);
    assert.equal(p.json.archives_keep_days, 30);
    assert.equal(p.json.resolve_after_days, 10);
    expectJson(await staff(ctx, 'PATCH', `/api/v1/platforms/${ctx.platform}/`, { archives_keep_days: -1 }), 400);

    clock.set(5 * DAY);
    r = await runCli(['retention'], { env, clock });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /0 ticket\(s\) resolved, 0 archive\(s\)/);

    clock.set(31 * DAY);
    r = await runCli(['retention', '--dry-run'], { env, clock });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`would resolve ticket ${open.number} `));
    assert.match(r.stdout, new RegExp(`would delete archive ${up.json.id} "old.log" of ticket ${old.number} .*3000 bytes`));
    assert.ok(fs.existsSync(storedPath(srv, up.json)), 'a dry run deletes nothing');
    expectJson(await staff(ctx, 'GET', `/api/v1/archives/${up.json.id}/`), 200);

    r = await runCli(['retention'], { env, clock });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`deleted archive ${up.json.id} "old.log"`));
    assert.match(r.stdout, /1 ticket\(s\) resolved, 1 archive\(s\) \(3000 bytes\) deleted/);
    assert.ok(!fs.existsSync(storedPath(srv, up.json)), 'the bytes are gone');
    expectJson(await staff(ctx, 'GET', `/api/v1/archives/${up.json.id}/`), 404);
    const t = await staff(ctx, 'GET', `/api/v1/tickets/${open.number}/`);
    assert.equal(t.json.resolved, true);
    // the system's events but the first administrator's creation at the first start
    const ev = await staff(ctx, 'GET', '/api/v1/events/?actor=system');
    ev.json = ev.json.filter((e) => e.kind !== 'user.created');
    assert.deepEqual(ev.json.map((e) => [e.kind, e.ticket, e.detail.reason]).sort(),
        [['archive.deleted', old.number, 'retention'], ['ticket.resolved', open.number, 'retention']].sort());
    assert.equal(ev.json.find((e) => e.kind === 'archive.deleted').archive, up.json.id);
    // again: nothing left to do
    r = await runCli(['retention'], { env, clock });
    assert.match(r.stdout, /0 ticket\(s\) resolved, 0 archive\(s\)/);
    assert.equal((await runCli(['retention', '--bogus'], { env })).code, 2);
});

test('the background job of serve does the same shortly after start; EVENTS_KEEP prunes the log', async () => {
    const c2 = makeClock();
    const s2 = await startServer({ clock: c2, env: { EVENTS_KEEP: '7d' } });
    try {
        const x = await setup(s2, 'bg');
        expectJson(await staff(x, 'PATCH', '/api/v1/platforms/bg/', { archives_keep_days: 1 }), 200);
        const t = await mkTicket(x, { attempts: 1 });
        const up = await putUpload(s2, t.token, 'bg.log', bytes(100, 3));
        assert.equal(up.status, 201);
        expectJson(await staff(x, 'PATCH', `/api/v1/tickets/${t.number}/`, { resolved: true }), 200);
        await s2.stop({ keepDataDir: true });
        c2.set(8 * DAY);
        const s3 = await startServer({ clock: c2, dataDir: s2.dataDir, env: { EVENTS_KEEP: '7d', ADMIN_PASSWORD: s2.password } });
        try {
            const y = { ...x, srv: s3, jwt: (await (await import('./lib/server.mjs')).login(s3)).access };
            await waitFor(async () => (await staff(y, 'GET', `/api/v1/archives/${up.json.id}/`)).status === 404,
                { timeout: 30000, interval: 250, what: 'the background retention pass' });
            assert.ok(!fs.existsSync(storedPath(s3, up.json)));
            const ev = await staff(y, 'GET', '/api/v1/events/?limit=1000');
            // the events of eight days ago went with EVENTS_KEEP=7d; the new ones stay
            assert.ok(!ev.json.results.some((e) => e.kind === 'upload.finished'), 'old events pruned');
            assert.ok(ev.json.results.some((e) => e.kind === 'archive.deleted' && e.actor === 'system'));
        } finally {
            await stopAndCheck(s3);
            fs.rmSync(s2.dataDir, { recursive: true, force: true });
        }
    } finally {
        if (!s2.stopped) await stopAndCheck(s2);
    }
});
