// health-probe.mjs - the health probe of bench/slow-uploads.mjs, in a worker thread of its
// own: GET /api/v1/check/health/ every `interval` ms on one keep-alive connection, each
// latency measured from the timer to the end of the answer and posted to the parent as
// {ms, status} (or {error}). In its own thread, so that the 1000 uploads the parent
// drives (its event loop busy with their sockets, above all in the first second) do
// not add their delays to the server's.
import http from 'node:http';
import { parentPort, workerData } from 'node:worker_threads';

const { port, interval } = workerData;
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const now = () => performance.now();

function probe() {
    const t0 = now();
    const req = http.get(
        { host: '127.0.0.1', port, path: '/api/v1/check/health/', agent, timeout: 30000 },
        (res) => {
            res.resume();
            res.on('end', () => parentPort.postMessage({ ms: now() - t0, status: res.statusCode }));
        },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (e) => parentPort.postMessage({ error: e.message }));
}

const timer = setInterval(probe, interval);
parentPort.on('message', (m) => {
    if (m === 'stop') {
        clearInterval(timer);
        agent.destroy();
        parentPort.close();
    }
});
