// tus-client.mjs - one upload of a file over raw HTTP/1.1, as a tus client sends it: a
// creation POST, then PATCHes of --chunk bytes one after the other on one keep-alive
// connection (the requests tus-js-client sends when given a chunkSize), each body read from
// the file into one reused buffer: the cheapest Node client of that pattern (tus-js-client's
// own Node build streams each chunk through 64 KiB reads and a Transform, and costs more
// CPU: bench/tusjs-client.mjs runs it). Or, with --put, one plain PUT of the whole file from the
// same code, so a comparison with PUT does not compare two clients.
//
// Run by bench/tus.sh (node 20, built-ins and bench/client-args.mjs only):
//   node bench/tus-client.mjs --url http://127.0.0.1:P/api/v1/uploads/ --file F
//       [--chunk 8388608] [--header 'Upload-Token: T']... [--put]
// --chunk 0 sends the file in one PATCH. --header may be given several times.
// With --put, --url is the PUT URL (e.g. http://127.0.0.1:P/upload/TOKEN/name).
// Prints one JSON line: {status, seconds, mbps, patches, offset, location, sha256,
// create_ms, first_patch_ms, read_ms, cpu_ms}; seconds runs from the creation request to the
// last answer; read_ms is the part of it spent reading chunks from the file (the server waits
// meanwhile: a client that reads each chunk before it sends it has this gap on any server);
// cpu_ms is the client process's own CPU time (user + system) over the upload.
// Exit status 1 when an answer is not the expected one (201 for POST and PUT, 204 for
// PATCH) or the final offset is not the file's size.
import fs from 'node:fs';
import http from 'node:http';
import { parseArgs } from './client-args.mjs';

const opt = parseArgs(process.argv, ['put']);
const size = fs.statSync(opt.file).size;
const base = new URL(opt.url);
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const now = () => performance.now();

/* One request; body is a Buffer, a readable stream or undefined. Resolves
 * {status, headers, body}. */
function request(method, path, headers, body, length) {
    return new Promise((resolve, reject) => {
        const req = http.request(
            {
                host: base.hostname,
                port: base.port,
                method,
                path,
                agent,
                headers: { ...opt.headers, ...headers, 'Content-Length': String(length ?? 0) },
            },
            (res) => {
                const parts = [];
                res.on('data', (d) => parts.push(d));
                res.on('end', () =>
                    resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(parts).toString() }),
                );
                res.on('error', reject);
            },
        );
        req.on('error', reject);
        if (body === undefined) req.end();
        else if (Buffer.isBuffer(body)) req.end(body);
        else body.pipe(req);
    });
}

function fail(what, r) {
    console.log(JSON.stringify({ status: r.status, error: `${what} answered ${r.status}`, body: r.body.slice(0, 300) }));
    process.exit(1);
}

const cpu0 = process.cpuUsage();
const t0 = now();
let createMs = null;
let firstPatchMs = null;
let readMs = 0;
let patches = 0;
let offset = 0;
let last = null;
let location = null;

if (opt.put) {
    last = await request('PUT', base.pathname, { 'Content-Type': 'application/octet-stream' },
        fs.createReadStream(opt.file, { highWaterMark: 1024 * 1024 }), size);
    if (last.status !== 201) fail('PUT', last);
    offset = size;
} else {
    const created = await request('POST', base.pathname, { 'Tus-Resumable': '1.0.0', 'Upload-Length': String(size) });
    if (created.status !== 201) fail('POST', created);
    createMs = now() - t0;
    location = created.headers.location;
    const path = new URL(location, base).pathname;
    const fd = fs.openSync(opt.file, 'r');
    const chunk = opt.chunk > 0 ? Math.min(opt.chunk, size) : size;
    // One PATCH of the whole file streams it; chunks are read into one buffer, as a
    // browser client slices a File.
    const buf = opt.chunk > 0 ? Buffer.allocUnsafe(chunk) : null;
    while (offset < size) {
        const n = Math.min(chunk, size - offset);
        const tp = now();
        let body;
        if (buf) {
            let got = 0;
            while (got < n) got += fs.readSync(fd, buf, got, n - got, offset + got);
            body = buf.subarray(0, n);
            readMs += now() - tp;
        } else {
            body = fs.createReadStream(opt.file, { start: offset, end: offset + n - 1, highWaterMark: 1024 * 1024 });
        }
        last = await request(
            'PATCH',
            path,
            { 'Tus-Resumable': '1.0.0', 'Upload-Offset': String(offset), 'Content-Type': 'application/offset+octet-stream' },
            body,
            n,
        );
        if (last.status !== 204) fail('PATCH', last);
        if (firstPatchMs === null) firstPatchMs = now() - tp;
        patches++;
        offset = Number(last.headers['upload-offset']);
        if (Number.isNaN(offset) || offset <= 0) fail('PATCH without Upload-Offset', last);
    }
    fs.closeSync(fd);
}
const seconds = (now() - t0) / 1000;
const cpu = process.cpuUsage(cpu0);
agent.destroy();
console.log(
    JSON.stringify({
        status: last.status,
        seconds,
        mbps: size / seconds / 1e6,
        patches,
        offset,
        location,
        sha256: last.headers['archive-sha256'] ?? (last.body.match(/"sha256":\s*"([0-9a-f]{64})"/) || [])[1] ?? null,
        archive_id: last.headers['archive-id'] ?? (last.body.match(/"id":\s*(\d+)/) || [])[1] ?? null,
        create_ms: createMs,
        first_patch_ms: firstPatchMs,
        read_ms: Math.round(readMs),
        cpu_ms: Math.round((cpu.user + cpu.system) / 1000),
    }),
);
process.exit(offset === size ? 0 : 1);
