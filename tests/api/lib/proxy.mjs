// proxy.mjs - a TCP proxy to a test server on 127.0.0.1 that breaks connections the way
// poor links do, for the resumable-upload tests (uploader.test.mjs, tus.test.mjs).
import net from 'node:net';

/*
 * A proxy to 127.0.0.1:port. p.mode: 'pass', or 'refuse' (every new connection is
 * closed at once). cutPatchAfter: the first PATCH connection is cut after that many
 * bytes from the client. loseAnswer(chunk): the first PATCH connection whose answer
 * (a chunk of it from the server) matches is cut there, the answer not passed on.
 * After a cut p.mode becomes p.afterCut (default 'pass'); p.cuts counts them.
 * Resolves p with p.url and p.close().
 */
export function proxy(port, { cutPatchAfter = Infinity, loseAnswer = null } = {}) {
    const p = { mode: 'pass', cuts: 0, sockets: new Set() };
    let cut = false;
    p.server = net.createServer((client) => {
        p.sockets.add(client);
        client.on('close', () => p.sockets.delete(client));
        if (p.mode === 'refuse') {
            client.destroy();
            return;
        }
        const upstream = net.connect(port, '127.0.0.1');
        p.sockets.add(upstream);
        upstream.on('close', () => p.sockets.delete(upstream));
        let seen = 0;
        let isPatch = null;
        const breakOff = () => {
            cut = true;
            p.cuts++;
            p.mode = p.afterCut ?? 'pass';
            client.destroy();
            upstream.destroy();
        };
        client.on('data', (d) => {
            if (isPatch === null) isPatch = d.toString('latin1').startsWith('PATCH');
            seen += d.length;
            if (isPatch && !cut && seen > cutPatchAfter) return breakOff();
            upstream.write(d);
        });
        upstream.on('data', (d) => {
            if (isPatch && !cut && loseAnswer?.(d.toString('latin1'))) return breakOff();
            client.write(d);
        });
        client.on('error', () => upstream.destroy());
        upstream.on('error', () => client.destroy());
        client.on('end', () => upstream.end());
        upstream.on('end', () => client.end());
    });
    return new Promise((resolve) => p.server.listen(0, '127.0.0.1', () => {
        p.url = `http://127.0.0.1:${p.server.address().port}`;
        p.close = () => {
            for (const s of p.sockets) s.destroy();
            return new Promise((r) => p.server.close(r));
        };
        resolve(p);
    }));
}
