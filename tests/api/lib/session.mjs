// session.mjs - a browser-like client of the console's session: keeps the cookie,
// sends the CSRF token (and an Origin) on unsafe requests, as web/js/api.js does.
import assert from 'node:assert/strict';

export class SessionClient {
    constructor(srv) {
        this.srv = srv;
        this.cookie = null; /* "lc_session=..." */
        this.csrf = null;
        this.origin = srv.url;
    }

    /* One request; opts: json, headers, csrf (false: leave it out), origin (null: none). */
    async req(method, path, opts = {}) {
        const headers = { ...(opts.headers ?? {}) };
        if (this.cookie) headers.Cookie = this.cookie;
        const unsafe = !['GET', 'HEAD'].includes(method);
        if (unsafe && opts.csrf !== false && this.csrf) headers['X-CSRFToken'] = opts.csrf ?? this.csrf;
        const origin = 'origin' in opts ? opts.origin : this.origin;
        if (unsafe && origin) headers.Origin = origin;
        let body;
        if (opts.json !== undefined) {
            body = JSON.stringify(opts.json);
            headers['Content-Type'] = 'application/json';
        }
        const res = await fetch(this.srv.url + path, { method, headers, body, redirect: 'manual', signal: AbortSignal.timeout(30000) });
        const setCookie = res.headers.get('set-cookie');
        if (setCookie) {
            const m = /lc_session=([^;]*)/.exec(setCookie);
            if (m) this.cookie = m[1] ? `lc_session=${m[1]}` : null;
        }
        const text = await res.text();
        let json = null;
        try {
            json = text ? JSON.parse(text) : null;
        } catch {
            json = null;
        }
        if (json && typeof json === 'object' && typeof json.csrf_token === 'string') this.csrf = json.csrf_token;
        return { status: res.status, headers: res.headers, json, text, setCookie };
    }

    /* POST /api/v1/auth/session/; asserts the status (200 by default). */
    async login(username, password, extra = {}, status = 200) {
        const r = await this.req('POST', '/api/v1/auth/session/', { json: { username, password, ...extra } });
        assert.equal(r.status, status, `session login ${username}: ${r.text}`);
        return r;
    }
}
