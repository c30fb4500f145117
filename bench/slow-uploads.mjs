// slow-uploads.mjs - many concurrent, slow uploads (PUT, or tus) against a running
// logs-collector, with the server's memory and the latency of a health check watched
// meanwhile.
//
// Run by bench/upload.sh and bench/tus.sh (node 20, built-ins only):
//   node bench/slow-uploads.mjs --port P --tokens FILE --pid SERVER_PID --tmpdir DATA_DIR/tmp \
//       --out result.json [--clients 1000] [--size 1572864] [--chunk 16384] [--interval 100]
//       [--timeout 120] [--mode put|tus]
//
// Every client opens its own TCP connection from 127.0.0.1 and sends one upload of
// `size` bytes, one `chunk` every `interval` ms (setInterval, each client started at a
// random phase so the load is spread), and waits for the answer. Tokens (one per line
// in FILE) are handed out round-robin.
//   --mode put (default): `PUT /upload/TOKEN/slowN` with Content-Length `size`; success
//     is 201. --tmpdir is DATA_DIR/tmp.
//   --mode tus: a creation `POST /api/v1/uploads/` (Upload-Token, Upload-Length `size`,
//     no body), then one paced `PATCH` of the whole file at offset 0, on the same
//     connection or, when the server answered `Connection: close`, on a new one;
//     success is 204 with the archive's id. --tmpdir is DATA_DIR/partial (only its
//     *.data files are watched).
// Measured while the uploads run:
//   - per client: status of the answer and the time from the first request line to the
//     final answer; in tus mode also the creation's latency;
//   - open uploads (request sent, no answer yet), sampled every 100 ms: the maximum;
//   - uploads progressing on the server: files in --tmpdir that grew during
//     each 1 s interval (what the server actually wrote, not what loopback buffered);
//   - clients whose writes were accepted (write() returned true or 'drain' fired) in
//     each 1 s interval;
//   - VmRSS of the server every 200 ms: idle before the run, maximum during it;
//   - GET /api/v1/check/health/ every 50 ms on its own keep-alive connection: latency
//     from the timer to the end of the answer (a request still waiting delays the next),
//     from a worker thread of its own (bench/health-probe.mjs), so that the event loop
//     of the 1000 uploads does not add its delays (client_loop_delay_ms says how long
//     that loop was held up).
// The result is written as JSON to --out and a short summary goes to stdout.
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';

function parseArgs(argv) {
    const o = {
        clients: 1000,
        size: 1536 * 1024,
        chunk: 16 * 1024,
        interval: 100,
        timeout: 120,
        mode: 'put',
    };
    for (let i = 2; i < argv.length; i += 2) {
        const k = argv[i].replace(/^--/, '');
        const v = argv[i + 1];
        if (v === undefined) throw new Error(`missing value for ${argv[i]}`);
        o[k] = ['port', 'pid', 'clients', 'size', 'chunk', 'interval', 'timeout'].includes(k)
            ? Number(v)
            : v;
    }
    for (const k of ['port', 'tokens', 'pid', 'tmpdir', 'out'])
        if (o[k] === undefined) throw new Error(`--${k} is required`);
    if (o.mode !== 'put' && o.mode !== 'tus') throw new Error('--mode is put or tus');
    return o;
}

const opt = parseArgs(process.argv);
const TUS = opt.mode === 'tus';
const OK_STATUS = TUS ? 204 : 201;
const tokens = fs
    .readFileSync(opt.tokens, 'utf8')
    .split('\n')
    .map((s) => s.trim())
    .filter(Boolean);
if (tokens.length === 0) throw new Error('no tokens');

const now = () => performance.now();

function pct(sorted, p) {
    if (sorted.length === 0) return null;
    const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
    return sorted[i];
}

function rssKiB(pid) {
    try {
        const m = /VmRSS:\s+(\d+)\s+kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
        return m ? Number(m[1]) : null;
    } catch {
        return null;
    }
}

/* --- health probe: one keep-alive connection, a GET every 50 ms, from a worker thread
 * (bench/health-probe.mjs) whose event loop the uploads' sockets do not hold up --- */
const health = { lat: [], errors: 0, statuses: {}, maxThisSecond: 0, maxPerSecond: [] };
let prober = null;
function startProbe() {
    prober = new Worker(new URL('./health-probe.mjs', import.meta.url), {
        workerData: { port: opt.port, interval: 50 },
    });
    prober.on('message', (m) => {
        if (m.error !== undefined) {
            health.errors++;
            return;
        }
        health.lat.push(m.ms);
        health.maxThisSecond = Math.max(health.maxThisSecond, m.ms);
        health.statuses[m.status] = (health.statuses[m.status] ?? 0) + 1;
    });
}

/* --- server memory --- */
// max: over the whole run; streaming: only while every upload is sending its body and no
// client has sent its last byte yet (what 1000 uploads in progress cost, before they all
// finish).
let bodySent = false;
const rss = { idle: rssKiB(opt.pid), max: 0, streaming: 0, samples: 0, perSecond: [] };
function sampleRss() {
    const v = rssKiB(opt.pid);
    if (v !== null) {
        rss.max = Math.max(rss.max, v);
        if (streaming === opt.clients && !bodySent) rss.streaming = Math.max(rss.streaming, v);
        rss.samples++;
    }
}

/* --- server-side progress: temp files (tus: partial/*.data) that grew --- */
let lastSizes = new Map();
const serverProgress = []; // per 1 s: temp files that grew
function sampleTmp() {
    const sizes = new Map();
    let grew = 0;
    let names = [];
    try {
        names = fs.readdirSync(opt.tmpdir);
    } catch {
        /* not there yet */
    }
    for (const n of names) {
        if (TUS && !n.endsWith('.data')) continue; /* partial/: .state and .tmp beside */
        try {
            const s = fs.statSync(path.join(opt.tmpdir, n)).size;
            sizes.set(n, s);
            const before = lastSizes.get(n);
            if (s > 0 && (before === undefined || s > before)) grew++;
        } catch {
            /* renamed away between readdir and stat: it finished */
        }
    }
    lastSizes = sizes;
    serverProgress.push(grew);
}

/* --- the uploads --- */
const clients = [];
let open = 0;
let maxOpen = 0;
let streaming = 0; // clients sending their body (PUT: from the start; tus: the PATCH)
let finished = 0;
const drainedThisSecond = new Set();
const clientProgress = []; // per 1 s: clients whose writes were accepted
const answeredPerSecond = []; // per 1 s: answers received
let answeredThisSecond = 0;
const payload = Buffer.alloc(opt.chunk, 0x61);

function startClient(i) {
    const token = tokens[i % tokens.length];
    const c = { i, status: null, start: null, done: null, sent: 0, error: null, created: null, streaming: false };
    clients.push(c);
    let sock = null;
    let timer = null;
    let answer = '';
    const finish = (err) => {
        if (c.done !== null) return;
        c.done = now();
        if (err) c.error = err;
        if (c.status !== null) answeredThisSecond++;
        if (timer) clearInterval(timer);
        if (c.start !== null) open--;
        if (c.streaming) streaming--;
        finished++;
        sock.destroy();
    };
    const sendChunk = () => {
        const n = Math.min(opt.chunk, opt.size - c.sent);
        if (n <= 0) {
            clearInterval(timer);
            timer = null;
            return;
        }
        c.sent += n;
        if (c.sent === opt.size) bodySent = true;
        const ok = sock.write(n === opt.chunk ? payload : payload.subarray(0, n));
        if (ok) drainedThisSecond.add(i);
    };
    // The paced body: headers already sent; a random phase so the 1000 clients do not
    // all write in the same tick.
    const startBody = () => {
        c.streaming = true;
        streaming++;
        setTimeout(
            () => {
                if (c.done !== null) return;
                sendChunk();
                timer = setInterval(sendChunk, opt.interval);
            },
            Math.random() * opt.interval,
        );
    };
    const putHead = () =>
        `PUT /upload/${token}/slow${i} HTTP/1.1\r\nHost: 127.0.0.1:${opt.port}\r\n` +
        `Content-Type: application/octet-stream\r\nContent-Length: ${opt.size}\r\n\r\n`;
    const createHead = () =>
        `POST /api/v1/uploads/ HTTP/1.1\r\nHost: 127.0.0.1:${opt.port}\r\n` +
        `Tus-Resumable: 1.0.0\r\nUpload-Token: ${token}\r\nUpload-Length: ${opt.size}\r\n` +
        `Upload-Metadata: filename ${Buffer.from(`slow${i}`).toString('base64')}\r\nContent-Length: 0\r\n\r\n`;
    const patchHead = (p) =>
        `PATCH ${p} HTTP/1.1\r\nHost: 127.0.0.1:${opt.port}\r\n` +
        `Tus-Resumable: 1.0.0\r\nUpload-Token: ${token}\r\nUpload-Offset: 0\r\n` +
        `Content-Type: application/offset+octet-stream\r\nContent-Length: ${opt.size}\r\n\r\n`;
    let creating = TUS; // tus: the creation's answer comes first

    // Sends head on a new connection; with a body, the paced bytes follow.
    const connect = (head, body) => {
        const s = net.connect({ host: '127.0.0.1', port: opt.port, localAddress: '127.0.0.1' });
        sock = s;
        s.setNoDelay(true);
        s.on('drain', () => drainedThisSecond.add(i));
        s.on('connect', () => {
            s.write(head);
            if (c.start === null) {
                c.start = now();
                open++;
                maxOpen = Math.max(maxOpen, open);
            }
            if (body) startBody();
        });
        s.on('data', (b) => {
            answer += b.toString('latin1');
            const m = /^HTTP\/1\.[01] (\d{3})/.exec(answer);
            if (!m || m[1] === '100') return;
            c.status = Number(m[1]);
            const end = answer.indexOf('\r\n\r\n');
            if (end < 0) return;
            const cl = /\r\ncontent-length:\s*(\d+)/i.exec(answer);
            const bodyLen = answer.length - end - 4;
            if (cl && bodyLen < Number(cl[1])) return;
            const loc = creating && c.status === 201 && /\r\nlocation:\s*(\S+)/i.exec(answer);
            if (loc) {
                // created: the one PATCH of the whole file, paced like a PUT, on the same
                // connection unless the server closes it (then on a new one, as any
                // HTTP client does)
                creating = false;
                c.created = now();
                c.status = null;
                const close = /\r\nconnection:\s*close/i.test(answer.slice(0, end));
                answer = '';
                const head = patchHead(new URL(loc[1]).pathname);
                if (close) {
                    connect(head, true); // sock is the new one: the old one's close is ignored
                    s.destroy();
                } else {
                    s.write(head);
                    startBody();
                }
                return;
            }
            if (c.status !== OK_STATUS) c.body = answer.slice(end + 4, end + 4 + 300);
            if (creating) c.body = `creation: ${c.body ?? ''}`;
            finish(null);
        });
        s.on('error', (e) => {
            if (s === sock) finish(e.code ?? e.message);
        });
        s.on('close', () => {
            if (s === sock) finish(c.status === null ? 'closed without an answer' : null);
        });
    };
    if (TUS) connect(createHead(), false);
    else connect(putHead(), true);
}

const loopDelay = monitorEventLoopDelay({ resolution: 10 });
loopDelay.enable();

const t0 = now();
sampleTmp();
startProbe();
const rssTimer = setInterval(sampleRss, 200);
const openSamples = [];
const openTimer = setInterval(() => openSamples.push(open), 100);
const secTimer = setInterval(() => {
    sampleTmp();
    clientProgress.push(drainedThisSecond.size);
    drainedThisSecond.clear();
    rss.perSecond.push(rssKiB(opt.pid));
    health.maxPerSecond.push(Math.round(health.maxThisSecond * 10) / 10);
    health.maxThisSecond = 0;
    answeredPerSecond.push(answeredThisSecond);
    answeredThisSecond = 0;
}, 1000);
for (let i = 0; i < opt.clients; i++) startClient(i);

await new Promise((resolve) => {
    const check = setInterval(() => {
        if (finished === opt.clients || now() - t0 > opt.timeout * 1000) {
            clearInterval(check);
            resolve();
        }
    }, 20);
});
const wall = (now() - t0) / 1000;
prober.postMessage('stop');
clearInterval(rssTimer);
clearInterval(openTimer);
clearInterval(secTimer);
sampleRss();
loopDelay.disable();
// Whatever is still running after the timeout is cut off and counted as unfinished.
for (const c of clients) if (c.done === null) c.error = 'timeout';
await new Promise((resolve) => prober.once('exit', resolve));

const ok = clients.filter((c) => c.status === OK_STATUS);
const createTimes = clients
    .filter((c) => c.created !== null)
    .map((c) => c.created - c.start)
    .sort((a, b) => a - b);
const times = ok.map((c) => (c.done - c.start) / 1000).sort((a, b) => a - b);
const failTimes = clients
    .filter((c) => c.status !== OK_STATUS && c.start !== null && c.error !== 'timeout')
    .map((c) => (c.done - c.start) / 1000)
    .sort((a, b) => a - b);
const lat = health.lat.slice().sort((a, b) => a - b);
const statuses = {};
for (const c of clients) {
    const k = c.status ?? `error: ${c.error}`;
    statuses[k] = (statuses[k] ?? 0) + 1;
}
const sample = clients.find((c) => c.status !== OK_STATUS);
const result = {
    mode: opt.mode,
    ok_status: OK_STATUS,
    clients: opt.clients,
    size: opt.size,
    chunk: opt.chunk,
    interval_ms: opt.interval,
    paced_seconds: Math.ceil(opt.size / opt.chunk) * (opt.interval / 1000),
    wall_s: wall,
    ok: ok.length,
    statuses,
    first_failure: sample ? { i: sample.i, status: sample.status, error: sample.error, body: sample.body } : null,
    max_open: maxOpen,
    max_server_progressing_per_s: Math.max(0, ...serverProgress),
    server_progressing_per_s: serverProgress,
    max_client_progressing_per_s: Math.max(0, ...clientProgress),
    completion_s: { p50: pct(times, 50), p99: pct(times, 99), max: times[times.length - 1] ?? null },
    // tus: from the creation POST to its 201 (null in PUT mode)
    create_ms: TUS
        ? { n: createTimes.length, p50: pct(createTimes, 50), p99: pct(createTimes, 99), max: createTimes[createTimes.length - 1] ?? null }
        : null,
    failed_after_s: { n: failTimes.length, min: failTimes[0] ?? null, p50: pct(failTimes, 50) },
    answered_per_s: answeredPerSecond,
    rss_kib: {
        idle: rss.idle,
        max: rss.max,
        streaming: rss.streaming,
        samples: rss.samples,
        per_s: rss.perSecond,
    },
    health_ms: {
        n: lat.length,
        errors: health.errors,
        statuses: health.statuses,
        p50: pct(lat, 50),
        p99: pct(lat, 99),
        max: lat[lat.length - 1] ?? null,
        max_per_s: health.maxPerSecond,
        // without the first second (1000 connects) and the last (1000 finishing)
        max_between: Math.max(0, ...health.maxPerSecond.slice(1, -1)),
    },
    client_loop_delay_ms: { p99: loopDelay.percentile(99) / 1e6, max: loopDelay.max / 1e6 },
};
fs.writeFileSync(opt.out, JSON.stringify(result, null, 1) + '\n');
const f = (x, d = 1) => (x === null || x === undefined ? 'n/a' : x.toFixed(d));
console.log(
    `  ${result.ok}/${opt.clients} answered ${OK_STATUS} in ${f(wall)} s (pacing alone: ${f(result.paced_seconds)} s); ` +
        `statuses ${JSON.stringify(statuses)}`,
);
console.log(
    `  open at once: max ${maxOpen}; progressing on the server (${TUS ? 'partial/*.data' : 'temp file'} grew in a 1 s slot): ` +
        `max ${result.max_server_progressing_per_s}`,
);
console.log(
    `  completion p50 ${f(result.completion_s.p50, 2)} s, p99 ${f(result.completion_s.p99, 2)} s, ` +
        `max ${f(result.completion_s.max, 2)} s`,
);
if (TUS)
    console.log(
        `  creation (POST to 201): ${createTimes.length} created, p50 ${f(result.create_ms.p50)} ms, ` +
            `p99 ${f(result.create_ms.p99)} ms, max ${f(result.create_ms.max)} ms`,
    );
if (failTimes.length)
    console.log(
        `  ${failTimes.length} failed, answered after ${f(failTimes[0], 2)} s at the earliest, ` +
            `p50 ${f(pct(failTimes, 50), 2)} s (the pacing sends the last byte at ${f(result.paced_seconds - opt.interval / 1000, 1)} s)`,
    );
console.log(
    `  server VmRSS idle ${f(rss.idle / 1024)} MiB, max ${f(rss.max / 1024)} MiB; ` +
        `health p50 ${f(result.health_ms.p50, 2)} ms, p99 ${f(result.health_ms.p99, 2)} ms, ` +
        `max ${f(result.health_ms.max, 2)} ms (${lat.length} probes, ${health.errors} errors); ` +
        `the client's own event loop held up at most ${f(result.client_loop_delay_ms.max)} ms`,
);
process.exit(0);
