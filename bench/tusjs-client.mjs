// tusjs-client.mjs - one upload of a file with tus-js-client itself (its Node build, from
// npm, bench/package.json), as a customer's script would send it: an fs.ReadStream of the
// file and a chunkSize, no retries. tus-js-client streams each chunk from the file
// (fs.createReadStream of the slice, 64 KiB reads) through a progress Transform into the
// request, and waits for each answer before the next PATCH.
//
// Run by bench/tus.sh (node 20):
//   node bench/tusjs-client.mjs --url http://127.0.0.1:P/api/v1/uploads/ --file F
//       [--chunk 8388608] [--header 'Upload-Token: T']...
// Prints one JSON line: {status, seconds, mbps, patches, sha256, archive_id, cpu_ms};
// seconds runs from start() to onSuccess (creation request to the last answer); cpu_ms is
// the client process's own CPU time (user + system, all its threads) over the upload.
// Exit status 1 when the upload fails.
import fs from 'node:fs';
import * as tus from 'tus-js-client';
import { parseArgs } from './client-args.mjs';

const opt = parseArgs(process.argv);
const size = fs.statSync(opt.file).size;
let patches = 0;
let last = null;
const cpu0 = process.cpuUsage();
const t0 = performance.now();
const upload = new tus.Upload(fs.createReadStream(opt.file), {
    endpoint: opt.url,
    chunkSize: opt.chunk > 0 ? opt.chunk : Infinity,
    retryDelays: null,
    headers: opt.headers,
    metadata: { filename: 'big' },
    onAfterResponse(req, res) {
        if (req.getMethod() !== 'PATCH') return;
        patches++;
        last = res;
    },
    onError(err) {
        console.log(JSON.stringify({ status: err.originalResponse?.getStatus() ?? null, error: String(err) }));
        process.exit(1);
    },
    onSuccess() {
        const seconds = (performance.now() - t0) / 1000;
        const cpu = process.cpuUsage(cpu0);
        console.log(
            JSON.stringify({
                status: last.getStatus(),
                seconds,
                mbps: size / seconds / 1e6,
                patches,
                sha256: last.getHeader('Archive-Sha256') ?? null,
                archive_id: last.getHeader('Archive-Id') ?? null,
                cpu_ms: Math.round((cpu.user + cpu.system) / 1000),
            }),
        );
    },
});
upload.start();
