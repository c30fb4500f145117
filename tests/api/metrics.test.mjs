// metrics.test.mjs - GET /metrics: Debian's `promtool check metrics` accepts it, the
// counters move with requests and uploads, METRICS_TOKEN guards it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { startServer, stopAndCheck, api, expectJson } from './lib/server.mjs';
import { setup, mkTicket, putUpload, bytes } from './lib/upload-helpers.mjs';

let srv;
let ctx;
before(async () => {
    srv = await startServer({ env: { METRICS_TOKEN: 'scrape-me-please' } });
    ctx = await setup(srv);
});
after(() => stopAndCheck(srv));

const scrape = () => api(srv, 'GET', '/metrics', { token: 'scrape-me-please' });

/* The value of the sample `name{labels}` (exact text), or undefined. */
function sample(text, series) {
    const line = text.split('\n').find((l) => l.startsWith(series + ' '));
    return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

test('METRICS_TOKEN: 401 without it or with another, 200 with it (text format)', async () => {
    expectJson(await api(srv, 'GET', '/metrics'), 401);
    expectJson(await api(srv, 'GET', '/metrics', { token: 'scrape-me-pleasE' }), 401);
    const r = await scrape();
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type'), /^text\/plain; version=0\.0\.4/);
});

test('promtool check metrics accepts the output, after traffic of every kind', async () => {
    const t = await mkTicket(ctx, { attempts: 3 });
    assert.equal((await putUpload(srv, t.token, 'm.bin', bytes(12345, 9))).status, 201);
    assert.equal((await putUpload(srv, '00000000-0000-4000-8000-000000000000', 'x.bin', bytes(10, 1))).status, 403);
    assert.equal((await api(srv, 'GET', '/nope/')).status, 404);
    const r = await scrape();
    const p = spawnSync('promtool', ['check', 'metrics'], { input: r.text, encoding: 'utf8' });
    assert.equal(p.error, undefined, `promtool must be installed (deps.sh test installs prometheus): ${p.error}`);
    assert.equal(p.status, 0, `promtool check metrics:\n${p.stdout}${p.stderr}`);
    const text = r.text;
    assert.equal(sample(text, 'lc_upload_received_bytes_total'), 12345 + 0);
    assert.equal(sample(text, 'lc_uploads_total{outcome="stored"}'), 1);
    assert.equal(sample(text, 'lc_upload_refusals_total{reason="unknown_token"}'), 1);
    assert.equal(sample(text, 'lc_uploads_in_progress'), 0);
    assert.equal(sample(text, 'lc_http_requests_total{route="/upload/{token}/{*filename}",method="PUT",status="201"}'), 1);
    assert.equal(sample(text, 'lc_http_requests_total{route="",method="",status="404"}'), 1);
    assert.equal(sample(text, 'lc_http_request_duration_seconds_count{route="/api/v1/tickets",method="POST"}'), 1);
    assert.ok(sample(text, 'lc_http_request_duration_seconds_bucket{route="/api/v1/tickets",method="POST",le="+Inf"}') === 1);
    assert.equal(sample(text, 'lc_webhook_queue_length'), 0);
    assert.equal(sample(text, 'lc_database_up'), 1);
    assert.ok(sample(text, 'lc_storage_free_bytes') > 0);
    assert.equal(sample(text, 'lc_store_errors_total'), 0);
    for (const name of ['lc_webhook_deliveries_total{outcome="delivered"}', 'lc_mails_total{outcome="sent"}'])
        assert.equal(sample(text, name), 0, name);
});
