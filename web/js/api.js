// api.js - the one door to the server: routes, the session's CSRF token, errors.
let csrf = null;

export const routes = {
    session: '/api/v1/auth/session/',
    account: '/api/v1/account/',
    password: '/api/v1/account/password/',
    totpSetup: '/api/v1/account/2fa/setup/',
    totpConfirm: '/api/v1/account/2fa/confirm/',
    backupCodes: '/api/v1/account/2fa/backup-codes/',
    totpDisable: '/api/v1/account/2fa/disable/',
    users: '/api/v1/users/',
    user: (id) => `/api/v1/users/${encodeURIComponent(id)}/`,
    user2fa: (id) => `/api/v1/users/${encodeURIComponent(id)}/2fa/`,
    tickets: '/api/v1/tickets/',
    ticket: (n) => `/api/v1/tickets/${encodeURIComponent(n)}/`,
    ticketNote: (n) => `/api/v1/tickets/${encodeURIComponent(n)}/note/`,
    ticketToken: (n) => `/api/v1/tickets/${encodeURIComponent(n)}/token/`,
    platforms: '/api/v1/platforms/',
    platform: (name) => `/api/v1/platforms/${encodeURIComponent(name)}/`,
    platformStats: (name) => `/api/v1/platforms/${encodeURIComponent(name)}/stats/`,
    archives: '/api/v1/archives/',
    archive: (id) => `/api/v1/archives/${encodeURIComponent(id)}/`,
    download: (id) => `/api/v1/archives/${encodeURIComponent(id)}/download/`,
    storage: '/api/v1/check/storage/',
    checkToken: (token) => `/api/v1/check/token/${encodeURIComponent(token)}/`,
    uploads: '/api/v1/uploads/', /* tus: the upload page's client (upload.js) */
    events: '/api/v1/events/',
    webhooks: '/api/v1/webhooks/',
    webhook: (id) => `/api/v1/webhooks/${encodeURIComponent(id)}/`,
    webhookDeliveries: (id) => `/api/v1/webhooks/${encodeURIComponent(id)}/deliveries/`,
    webhookTest: (id) => `/api/v1/webhooks/${encodeURIComponent(id)}/test/`,
    markdown: '/api/v1/markdown/',
    schema: '/api/v1/schema/',
};

/* Console page URLs. */
export const pages = {
    login: '/account/login/',
    enrol: '/account/two_factor/setup/',
    tickets: '/tickets/',
    ticket: (platform, n) => `/tickets/show/${encodeURIComponent(platform)}/${encodeURIComponent(n)}/`,
    edit: (platform, n) => `/tickets/update/${encodeURIComponent(platform)}/${encodeURIComponent(n)}/`,
    platformTickets: (platform) => `/tickets/show/${encodeURIComponent(platform)}/`,
    /* the customer's upload page: the link staff hand out, and the one-liners */
    upload: (token) => `/upload/${encodeURIComponent(token)}/`,
    uploader: '/uploader.sh',
    events: '/events/',
    webhooks: '/webhooks/',
};

/* Old bookmarks may name a ticket under another platform, or without the last
 * slash (ticket numbers are unique, so the number alone finds it): once the
 * ticket is known, the address bar shows its own URL, as a redirect would. */
export function canonical(path) {
    if (location.pathname !== path) history.replaceState(history.state, '', path + location.search + location.hash);
}

/* An answer that was not 2xx: status, the body, and the field errors when the
 * body is {"field": ["msg"]}. */
export class ApiError extends Error {
    constructor(status, body) {
        const detail = body && typeof body.detail === 'string' ? body.detail : null;
        super(detail ?? (status ? `The server answered ${status}.` : 'The server cannot be reached.'));
        this.status = status;
        this.body = body;
        this.code = body?.code ?? null;
        const isFields = body && typeof body === 'object' && !detail &&
            Object.values(body).every((v) => Array.isArray(v));
        this.fields = isFields ? body : null;
    }
}

export function setCsrf(token) {
    csrf = token ?? null;
}

export const loginUrl = () =>
    `${pages.login}?next=${encodeURIComponent(location.pathname + location.search)}`;

/*
 * One request: JSON in and out, the session cookie, the CSRF header on unsafe
 * methods. A 401 sends the browser to the login page (unless login401 is false);
 * other failures throw ApiError. A new CSRF token in an answer replaces the old
 * one (the session got a new id).
 */
export async function api(method, path, body, { login401 = true } = {}) {
    const headers = { Accept: 'application/json' };
    const init = { method, headers, credentials: 'same-origin', cache: 'no-store' };
    if (body !== undefined) {
        headers['Content-Type'] = 'application/json';
        init.body = JSON.stringify(body);
    }
    if (method !== 'GET' && method !== 'HEAD' && csrf) headers['X-CSRFToken'] = csrf;
    let res;
    try {
        res = await fetch(path, init);
    } catch {
        throw new ApiError(0, null);
    }
    const text = await res.text();
    let data = null;
    if (text) {
        try {
            data = JSON.parse(text);
        } catch {
            data = null;
        }
    }
    if (res.status === 401 && login401) {
        location.assign(loginUrl());
        throw new ApiError(401, data);
    }
    if (!res.ok) throw new ApiError(res.status, data);
    if (data && typeof data === 'object' && 'csrf_token' in data) setCsrf(data.csrf_token);
    return data;
}

export const get = (path) => api('GET', path);
