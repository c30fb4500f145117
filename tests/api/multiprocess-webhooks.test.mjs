// multiprocess-webhooks.test.mjs - several `serve` processes on one PostgreSQL database
// share one delivery queue: each event is delivered exactly once, whichever process
// claims it (leases, FOR UPDATE SKIP LOCKED), also while the receiver fails at first.
//
// lc-test: postgres-only (scripts/test.sh runs this file in the PostgreSQL run alone)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { PG, startServerOn, stopAll, createDatabase, makeDataDir, randomPassword, login, waitFor } from './lib/server.mjs';
import { staff } from './lib/upload-helpers.mjs';
import { webhookReceiver } from './lib/receivers.mjs';

const skip = PG ? false : 'needs LC_DB=postgres: several processes on one SQLite file are not supported';

test('three processes, one queue: 30 events, each delivered exactly once', { skip }, async () => {
    const db = await createDatabase();
    const dataDir = makeDataDir();
    const password = randomPassword();
    // every third answer fails: retries are claimed by any process
    // (slowly, so that the processes' senders overlap)
    const rec = await webhookReceiver((n) => ({ delay: 150, status: n % 3 === 0 ? 500 : 200 }));
    const env = { WEBHOOK_ALLOW_PRIVATE: 'true', WEBHOOK_RETRY_DELAY: '1', WEBHOOK_TIMEOUT: '5' };
    const servers = [];
    try {
        for (let i = 0; i < 3; i++) servers.push(await startServerOn({ dbUrl: db.url, dataDir, password, env }));
        const ctxs = [];
        for (const s of servers) ctxs.push({ srv: s, jwt: (await login(s)).access });
        const p = await staff(ctxs[0], 'POST', '/api/v1/platforms/', { name: 'mp', pretty_name: 'MP' });
        assert.equal(p.status, 201, p.text);
        const h = await staff(ctxs[0], 'POST', '/api/v1/webhooks/', { url: rec.url, events: ['ticket.created'] });
        assert.equal(h.status, 201, h.text);
        rec.secret = h.json.secret;
        await Promise.all(Array.from({ length: 30 }, (_, i) =>
            staff(ctxs[i % 3], 'POST', '/api/v1/tickets/', { number: 7000 + i, platform: 'mp' })
                .then((r) => assert.equal(r.status, 201, r.text))));
        await waitFor(() => new Set(rec.answered.filter((a) => a.status === 200).map((a) => a.event)).size === 30,
            { timeout: 60000, what: '30 events delivered' });
        await new Promise((r) => setTimeout(r, 3000)); // nothing more comes
        const events = [...new Set(rec.requests.map((q) => q.json.event.id))];
        assert.equal(events.length, 30);
        for (const id of events) assert.equal(rec.delivered(id), 1, `event ${id} delivered once`);
        assert.ok(rec.requests.every((q) => q.signed), 'every request signed');
        const tickets = rec.requests.map((q) => q.json.event.ticket);
        assert.deepEqual([...new Set(tickets)].sort(), Array.from({ length: 30 }, (_, i) => 7000 + i));
        // the senders of several processes took part (their lease owners differ in the logs)
        const senders = servers.filter((s) => /webhook \d+: delivered/.test(s.output()));
        assert.ok(senders.length >= 2, `deliveries by ${senders.length} process(es)`);
    } finally {
        await stopAll(...servers);
        await rec.close();
        fs.rmSync(dataDir, { recursive: true, force: true });
        await db.drop();
    }
});
