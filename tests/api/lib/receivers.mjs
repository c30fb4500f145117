// receivers.mjs - real receivers the notification tests start on 127.0.0.1: an HTTP server
// for webhooks (checks every signature, answers as told: 200, 500, or too late) and an
// SMTP server (smtp-server from npm, tests/package.json) that parses what arrives
// (mailparser).
import crypto from 'node:crypto';
import http from 'node:http';
import { SMTPServer } from 'smtp-server';
import { simpleParser } from 'mailparser';

/*
 * A webhook receiver. `behave(n, body)` (n: this request's number, from 1) says how to
 * answer: a status (200, 500, ...) or {delay: ms, status}. Every request is kept in
 * `requests` as {headers, body, json, signed} where signed tells whether X-LC-Signature
 * verifies with `secret` (set it once the webhook exists) over timestamp + "." + body.
 * `delivered(eventId)` counts the 2xx answers given for an event. close() stops it.
 */
export async function webhookReceiver(behave = () => 200) {
    const rec = {
        secret: null,
        behave,
        requests: [],
        answered: [], // {event, delivery, status}
        url: null,
        delivered(eventId) {
            return rec.answered.filter((a) => a.event === eventId && a.status >= 200 && a.status < 300).length;
        },
    };
    const server = http.createServer((req, res) => {
        const parts = [];
        req.on('data', (d) => parts.push(d));
        req.on('end', () => {
            const body = Buffer.concat(parts).toString('utf8');
            let json = null;
            try {
                json = JSON.parse(body);
            } catch {
                /* kept as text */
            }
            const ts = req.headers['x-lc-timestamp'];
            const want = rec.secret
                ? 'sha256=' + crypto.createHmac('sha256', rec.secret).update(`${ts}.${body}`).digest('hex')
                : null;
            const got = req.headers['x-lc-signature'] ?? '';
            const signed = !!want && got.length === want.length &&
                crypto.timingSafeEqual(Buffer.from(got), Buffer.from(want));
            const entry = { method: req.method, path: req.url, headers: req.headers, body, json, signed };
            rec.requests.push(entry);
            const how = rec.behave(rec.requests.length, entry);
            const status = typeof how === 'number' ? how : how.status ?? 200;
            const answer = () => {
                if (res.destroyed) return;
                res.writeHead(status, { 'Content-Type': 'text/plain' });
                res.end('ok');
                rec.answered.push({ event: json?.event?.id, delivery: json?.delivery, status, signed });
            };
            if (typeof how === 'object' && how.delay) setTimeout(answer, how.delay);
            else answer();
        });
    });
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    rec.port = server.address().port;
    rec.url = `http://127.0.0.1:${rec.port}/hook`;
    rec.close = () => new Promise((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
    });
    return rec;
}

/*
 * An SMTP receiver that wants AUTH (user/pass) without TLS (the test server sets
 * SMTP_STARTTLS=false) and parses every message into `mails`: {parsed, from, to}.
 */
export async function smtpReceiver({ user = 'lc', pass = 'mail-pw' } = {}) {
    const rec = { mails: [], authFailures: 0 };
    const server = new SMTPServer({
        secure: false,
        disabledCommands: ['STARTTLS'],
        allowInsecureAuth: true,
        authOptional: false,
        logger: false,
        onAuth(auth, session, cb) {
            if (auth.username === user && auth.password === pass) return cb(null, { user });
            rec.authFailures++;
            return cb(new Error('Invalid username or password'));
        },
        onData(stream, session, cb) {
            simpleParser(stream)
                .then((parsed) => {
                    rec.mails.push({
                        parsed,
                        from: session.envelope.mailFrom?.address,
                        to: session.envelope.rcptTo.map((r) => r.address).sort(),
                    });
                    cb();
                })
                .catch(cb);
        },
    });
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    rec.port = server.server.address().port;
    rec.url = `smtp://127.0.0.1:${rec.port}`;
    rec.user = user;
    rec.pass = pass;
    rec.close = () => new Promise((resolve) => server.close(() => resolve()));
    return rec;
}
