// limits.test.mjs - MAX_CONNECTIONS_PER_IP (a client cannot hold more sockets than allowed),
// refusals before the body (drained up to 1 GiB, answered at once past it), hang-ups.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import fs from 'node:fs';
import path from 'node:path';
import { startServer, stopAndCheck, api, login, expectJson, waitFor, sleep, rawRequest } from './lib/server.mjs';

// The held connections come from their own loopback address, so that the harness's
// own connections (fetch keeps idle ones open) from 127.0.0.1 do not count with them.
const CLIENT = '127.0.0.2';

/*
 * Opens a keep-alive connection from CLIENT and completes one request on it, so that
 * the server has accepted (and counted) it before this resolves; the socket then
 * stays open, idle, until the test destroys it.
 */
function holdOpen(srv) {
    return new Promise((resolve, reject) => {
        const s = net.connect({ port: srv.port, host: '127.0.0.1', localAddress: CLIENT }, () => {
            s.write(`GET /api/v1/check/health/ HTTP/1.1\r\nHost: 127.0.0.1:${srv.port}\r\n\r\n`);
        });
        let got = '';
        const onData = (d) => {
            got += d.toString('latin1');
            if (/^HTTP\/1\.1 200 /.test(got) && got.includes('{"status":"ok","database":"ok","storage":"ok"}')) {
                s.off('data', onData);
                s.setTimeout(0);
                resolve(s);
            }
        };
        s.on('data', onData);
        s.on('error', reject);
        s.on('close', () => reject(new Error(`connection closed before its answer: ${JSON.stringify(got)}`)));
        s.setTimeout(10000, () => s.destroy(new Error('no answer within 10 s')));
    });
}

/* Resolves true when the server closes the socket within ms, false otherwise. */
function closedWithin(sock, ms) {
    return new Promise((resolve) => {
        const t = setTimeout(() => resolve(false), ms);
        sock.on('close', () => {
            clearTimeout(t);
            resolve(true);
        });
        sock.on('error', () => {});
    });
}

test('connections beyond MAX_CONNECTIONS_PER_IP are refused, freed slots are reused', async () => {
    const srv = await startServer({ env: { MAX_CONNECTIONS_PER_IP: '3' } });
    const held = [];
    try {
        for (let i = 0; i < 3; i++) held.push(await holdOpen(srv));
        // each held connection was answered, so it was accepted and counted
        const extra = net.connect({ port: srv.port, host: '127.0.0.1', localAddress: CLIENT }, () =>
            extra.write(`GET /api/v1/check/health/ HTTP/1.1\r\nHost: 127.0.0.1:${srv.port}\r\n\r\n`));
        let answer = '';
        extra.on('data', (d) => { answer += d.toString('latin1'); });
        assert.equal(await closedWithin(extra, 5000), true, 'fourth connection is closed');
        assert.equal(answer, '', 'closed at accept, without an answer');
        const log = srv.stderr();
        assert.match(log, /refusing a connection from 127\.0\.0\.2: 3 already open/);
        // Other addresses are not affected.
        expectJson(await api(srv, 'GET', '/api/v1/check/health/'), 200, { status: 'ok', database: 'ok', storage: 'ok' });
        // Closing one frees its place (once the server has seen the close).
        held.pop().destroy();
        held.push(await waitFor(() => holdOpen(srv).catch(() => null),
            { what: 'a connection accepted after a slot was freed', timeout: 10000 }));
    } finally {
        held.forEach((s) => s.destroy());
        await stopAndCheck(srv);
    }
});

test('trusted proxies are exempt from MAX_CONNECTIONS_PER_IP', async () => {
    const srv = await startServer({ env: { MAX_CONNECTIONS_PER_IP: '2', TRUSTED_PROXIES: CLIENT } });
    const held = [];
    try {
        for (let i = 0; i < 4; i++) held.push(await holdOpen(srv));
        assert.doesNotMatch(srv.stderr(), /refusing a connection/);
        expectJson(await api(srv, 'GET', '/api/v1/check/health/'), 200, { status: 'ok', database: 'ok', storage: 'ok' });
    } finally {
        held.forEach((s) => s.destroy());
        await stopAndCheck(srv);
    }
});

test('a refusal before the body waits for the body when the client did not ask for 100-continue', async () => {
    // Proxies such as nginx answer "100 Continue" themselves and stream the body
    // at once; the answer must survive (no reset, which nginx turns into 502).
    const srv = await startServer();
    try {
        const body = Buffer.alloc(4 * 1024 * 1024, 0x61);
        const head = `PUT /upload/00000000-0000-4000-8000-000000000000/x.bin HTTP/1.1\r\n` +
            `Host: 127.0.0.1:${srv.port}\r\nContent-Length: ${body.length}\r\n\r\n`;
        for (let i = 0; i < 5; i++) {
            const r = await rawRequest(srv, [{ data: head }, { data: body }]);
            assert.equal(r.status, 403, `try ${i}`);
            assert.deepEqual(JSON.parse(r.body.toString()), {
                detail: 'token 00000000-0000-4000-8000-000000000000 is not valid',
            });
        }
        // With Expect: 100-continue the answer comes at once and no body is read.
        const r = await rawRequest(srv, `PUT /upload/00000000-0000-4000-8000-000000000000/x.bin HTTP/1.1\r\n` +
            `Host: 127.0.0.1:${srv.port}\r\nContent-Length: ${body.length}\r\nExpect: 100-continue\r\n\r\n`);
        assert.equal(r.status, 403);
        assert.ok(!r.raw.toString('latin1').includes('100 Continue'));
    } finally {
        await stopAndCheck(srv);
    }
});

test('a refused request declaring a body over the 1 GiB drain limit is answered at once, body unsent', async () => {
    const srv = await startServer();
    try {
        const tok = '00000000-0000-4000-8000-000000000000';
        const detail = `token ${tok} is not valid`;
        for (const length of [2 ** 30 + 1, 5 * 2 ** 30]) {
            // no Expect: 100-continue, and not a byte of the body: the answer must come anyway
            const r = await rawRequest(srv, `PUT /upload/${tok}/x.bin HTTP/1.1\r\nHost: 127.0.0.1:${srv.port}\r\n` +
                `Content-Length: ${length}\r\n\r\n`, { timeout: 10000 });
            assert.equal(r.status, 403, `Content-Length ${length}`);
            assert.deepEqual(JSON.parse(r.body.toString()), { detail }, `Content-Length ${length}`);
        }
        // the same for multipart
        const r = await rawRequest(srv, `POST /api/v1/archives/ HTTP/1.1\r\nHost: 127.0.0.1:${srv.port}\r\n` +
            `Upload-Token: ${tok}\r\nContent-Type: multipart/form-data; boundary=xyz\r\n` +
            `Content-Length: ${2 ** 31}\r\n\r\n`, { timeout: 10000 });
        assert.equal(r.status, 403);
        assert.deepEqual(JSON.parse(r.body.toString()), { detail });
    } finally {
        await stopAndCheck(srv);
    }
});

test('clients that hang up mid-upload, even while their upload is starting, leave nothing behind', async () => {
    // Regression: with edge-triggered epoll, a client that closed while its
    // connection was suspended (the upload's start runs on a worker) was never
    // noticed, and its temp file stayed until IDLE_TIMEOUT.
    const srv = await startServer();
    try {
        const token = (await login(srv)).access;
        expectJson(await api(srv, 'POST', '/api/v1/platforms/', { token, json: { name: 'hang', pretty_name: 'Hang up' } }), 201);
        const t = await api(srv, 'POST', '/api/v1/tickets/', { token, json: { number: 77, platform: 'hang', attempts: 100 } });
        expectJson(t, 201);
        const body = Buffer.alloc(512 * 1024, 0x62);
        for (let i = 0; i < 30; i++) {
            await new Promise((resolve) => {
                const s = net.connect(srv.port, '127.0.0.1', async () => {
                    s.write(`PUT /upload/${t.json.token}/gone-${i}.bin HTTP/1.1\r\nHost: 127.0.0.1:${srv.port}\r\n` +
                        `Content-Length: ${body.length}\r\n\r\n`);
                    s.write(body.subarray(0, body.length / 2));
                    await sleep(i % 4);
                    s.destroy();
                    resolve();
                });
                s.on('error', () => resolve());
            });
        }
        const tmp = path.join(srv.dataDir, 'tmp');
        await waitFor(() => fs.readdirSync(tmp).length === 0,
            { what: `temp files removed (left: ${fs.readdirSync(tmp)})`, timeout: 10000 });
        const list = await api(srv, 'GET', '/api/v1/archives/?ticket=77', { token });
        expectJson(list, 200, []);
    } finally {
        await stopAndCheck(srv);
    }
});
