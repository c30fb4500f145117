// upload.js - the customer's upload page (/upload/TOKEN/, /upload/, /archives/upload/):
// the token's ticket, uploads left and expiry before a byte is sent (or a sentence
// saying what to do), files queued from a drop or the picker and sent through
// tus-js-client (window.tus, the package's browser build) to /api/v1/uploads/ with
// the token in Upload-Token: retries with back-off, a reload resumes the same file
// when it is picked again (the URL storage, keyed by the token and the file), pause,
// resume, cancel, the server's SHA-256 at the end; the curl and uploader.sh commands.
// Every string comes from the language's catalogue (i18n.js); server data only
// ever becomes text (dom.js).
import { api, ApiError, pages, routes } from './api.js';
import { $, copy, fill, h, icon } from './dom.js';
import { setupTheme } from './layout.js';
import { chooseLang, currentLang, fmtDate, fmtDuration, fmtRelative, fmtSize, LANGS, setLang, t } from './i18n.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const ACTIVE = 2; /* files sending at once; the others wait their turn */
/* pauses between tries after a dropped connection: a weak link gets minutes */
const RETRY_DELAYS = [0, 1000, 3000, 5000, 10000, 20000, 30000, 60000, 60000, 60000];
/* bytes a PATCH carries: the server saves the offset and the digest state at the
 * end of each, so a crash of the server loses at most this much, and proxies that
 * cap a request's body are no obstacle */
const CHUNK_SIZE = 16 * 1024 * 1024;
const SPEED_WINDOW_MS = 5000;
const REDRAW_MS = 250;
const STORAGE_PREFIX = 'tus::';

const state = {
    token: null, /* from the URL; null: the page asks for it */
    info: null, /* GET /api/v1/check/token/{token}/ */
    problem: null, /* why the link cannot be used: unknown, limited, offline, error */
    items: [],
    notice: null, /* {key, vars}: the too-many-files warning */
};
let seq = 0;
let relabelTheme = () => {};

/* The token in /upload/TOKEN/, '' for a malformed path segment, null for none. */
function tokenFromPath() {
    const m = location.pathname.match(/^\/upload\/([^/]+)\/?$/);
    if (!m) return null;
    try {
        return decodeURIComponent(m[1]);
    } catch {
        return '';
    }
}

const fingerprintOf = (file) => ['lc', state.token, file.name, file.type, file.size, file.lastModified].join('/');

/* Unfinished uploads of this token that tus-js-client remembered (a reload, a
 * closed tab), less the files already in the list. */
function unfinished() {
    const out = [];
    const prefix = `${STORAGE_PREFIX}lc/${state.token}/`;
    try {
        for (let i = 0; i < localStorage.length; i++) {
            const key = localStorage.key(i);
            if (!key?.startsWith(prefix)) continue;
            const u = JSON.parse(localStorage.getItem(key));
            const name = typeof u?.metadata?.filename === 'string' ? u.metadata.filename : '?';
            const size = Number(u?.size) || 0;
            if (state.items.some((it) => it.file.name === name && it.file.size === size && it.status !== 'cancelled')) continue;
            if (!out.some((o) => o.name === name && o.size === size)) out.push({ name, size });
        }
    } catch {
        /* storage off or an entry not ours: nothing to show */
    }
    return out;
}

/* Whether files may be dropped: the link takes uploads, or it took its last one
 * and an interrupted upload of it may still be finished. */
function canUpload() {
    const s = state.info?.state;
    return s === 'open' || (s === 'used_up' && unfinished().length > 0);
}

/* --- the page's frame: language, theme, titles --- */

function translateFrame() {
    const ticket = state.info?.ticket;
    document.title = `${ticket ? t('title.ticket', { ticket }) : t('title')} · logs-collector`;
    const skip = $('.skip-link');
    if (skip) fill(skip, t('skip'));
    $('#langs').setAttribute('aria-label', t('lang.label'));
    for (const b of document.querySelectorAll('[data-lang]')) {
        b.setAttribute('aria-pressed', String(b.dataset.lang === currentLang()));
        b.classList.toggle('active', b.dataset.lang === currentLang());
    }
    relabelTheme();
}

function setupLangs() {
    for (const b of document.querySelectorAll('[data-lang]')) {
        if (!LANGS.includes(b.dataset.lang)) continue;
        b.addEventListener('click', () => {
            setLang(b.dataset.lang, true);
            render();
        });
    }
}

/* --- the sections --- */

function render() {
    translateFrame();
    const app = $('#app');
    fill(app, summary(), dropSection(), listSection(), cliSection());
    for (const item of state.items) drawItem(item);
    app.classList.remove('upload-pending');
    app.removeAttribute('aria-busy');
}

function tokenForm() {
    const input = h('input', {
        class: 'form-control mono', id: 'token', name: 'token', autocomplete: 'off', spellcheck: 'false',
        required: true, 'aria-describedby': 'token-help',
    });
    const error = h('div', { class: 'invalid-feedback', id: 'token-error' }, t('form.invalid'));
    const form = h('form', { class: 'card card-body mt-3', id: 'token-form', novalidate: true },
        h('label', { class: 'form-label', for: 'token' }, t('form.label')),
        h('div', { class: 'd-flex flex-wrap gap-2' },
            h('div', { class: 'flex-grow-1' }, input, error),
            h('button', { class: 'btn btn-primary align-self-start', type: 'submit' }, t('form.submit'))),
        h('p', { class: 'form-text mb-0', id: 'token-help' }, t('form.intro')));
    form.addEventListener('submit', (ev) => {
        ev.preventDefault();
        /* the token alone, or the whole link pasted */
        const m = input.value.trim().match(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i);
        if (!m) {
            input.classList.add('is-invalid');
            input.setAttribute('aria-describedby', 'token-error token-help');
            input.focus();
            return;
        }
        location.assign(pages.upload(m[0].toLowerCase()));
    });
    return form;
}

function summary() {
    const info = state.info;
    if (state.token === null)
        return h('section', { id: 'summary' }, h('h1', { class: 'h3' }, t('form.heading')), tokenForm());
    if (!info && !state.problem)
        return h('section', { id: 'summary' },
            h('p', { class: 'd-flex align-items-center gap-2' },
                h('span', { class: 'spinner-border spinner-border-sm', 'aria-hidden': 'true' }), t('loading')));
    if (!info)
        return h('section', { id: 'summary' },
            h('h1', { class: 'h3' }, t('form.heading')),
            h('div', { class: 'alert alert-warning d-flex gap-2 mt-3', id: 'state', 'data-state': state.problem },
                icon('exclamation-triangle'), h('span', {}, t(`state.${state.problem}`))),
            state.problem === 'unknown' ? tokenForm() : null);
    const ticket = info.ticket;
    const expires = info.expires_at
        ? [h('dd', { class: 'fact-value fact-date', id: 'fact-expires' }, fmtDate(info.expires_at)),
            h('dd', { class: 'small text-body-secondary mb-0' }, fmtRelative(info.expires_at))]
        : h('dd', { class: 'fact-value fact-date', id: 'fact-expires' }, t('fact.never'));
    const open = info.state === 'open';
    return h('section', { id: 'summary' },
        h('h1', { class: 'h3' }, t('heading', { ticket })),
        open ? h('p', { class: 'text-body-secondary' }, t('intro', { ticket })) : null,
        h('dl', { class: 'facts' },
            h('div', { class: 'fact' }, h('dt', {}, t('fact.ticket')), h('dd', { class: 'fact-value', id: 'fact-ticket' }, String(ticket))),
            h('div', { class: 'fact' }, h('dt', {}, t('fact.left')), h('dd', { class: 'fact-value', id: 'fact-left' }, String(info.attempts))),
            h('div', { class: 'fact fact-wide' }, h('dt', {}, t('fact.expires')), expires)),
        open ? h('p', { class: 'small', id: 'left-note' }, t('fact.leftNote', { n: info.attempts })) : null,
        open ? null : h('div', { class: 'alert alert-warning d-flex gap-2', id: 'state', 'data-state': info.state },
            icon('exclamation-triangle'),
            h('div', {},
                h('p', { class: 'mb-0' }, t(`state.${info.state}`, { ticket, date: info.expires_at ? fmtDate(info.expires_at) : '' })),
                canUpload() ? h('p', { class: 'mb-0 mt-2' }, t('state.finishOnly')) : null)));
}

function dropSection() {
    if (!canUpload()) return h('section', { id: 'drop' });
    const input = h('input', { type: 'file', multiple: true, class: 'd-none', id: 'files-input', tabindex: '-1', 'aria-hidden': 'true' });
    input.addEventListener('change', () => {
        addFiles(input.files);
        input.value = '';
    });
    const choose = h('button', { class: 'btn btn-primary', type: 'button', id: 'choose' }, icon('file-earmark-zip'), ' ', t('drop.choose'));
    choose.addEventListener('click', () => input.click());
    const zone = h('div', { class: 'dropzone', id: 'dropzone' },
        h('div', { class: 'dropzone-icon text-primary' }, icon('cloud-arrow-up')),
        h('p', { class: 'h5 mb-2' }, t('drop.title')),
        h('p', { class: 'text-body-secondary mb-2' }, t('drop.or')),
        choose, input,
        h('p', { class: 'small text-body-secondary mt-3 mb-0' }, t('drop.hint')));
    let depth = 0;
    zone.addEventListener('dragenter', () => {
        depth++;
        zone.classList.add('over');
    });
    zone.addEventListener('dragleave', () => {
        depth = Math.max(0, depth - 1);
        if (!depth) zone.classList.remove('over');
    });
    zone.addEventListener('drop', () => {
        depth = 0;
        zone.classList.remove('over');
    });
    const pending = unfinished();
    return h('section', { id: 'drop', class: 'mt-4' },
        pending.length
            ? h('div', { class: 'alert alert-info', id: 'unfinished' },
                h('p', { class: 'fw-semibold mb-1' }, t('pending.title')),
                h('ul', { class: 'mb-0' }, pending.map((p) => h('li', {}, t('pending.item', { name: p.name, size: fmtSize(p.size) })))))
            : null,
        zone,
        h('p', { class: 'small text-body-secondary mt-2 d-flex gap-2' }, icon('info-circle'), h('span', {}, t('drop.resumeHint'))));
}

function listSection() {
    const n = state.notice;
    return h('section', { id: 'list', class: `mt-4${state.items.length ? '' : ' d-none'}` },
        h('h2', { class: 'h5' }, t('list.title')),
        n ? h('div', { class: 'alert alert-warning', id: 'too-many', role: 'alert' }, t(n.key, n.vars)) : null,
        h('ul', { class: 'list-group', id: 'files' }, state.items.map((it) => it.el)));
}

/* A command with its copy button. */
function command(id, text, what) {
    const btn = h('button', { class: 'btn btn-sm btn-outline-body copy-btn', type: 'button', 'aria-label': t('btn.copyWhat', { what }) },
        icon('clipboard'), ' ', t('btn.copy'));
    btn.addEventListener('click', () => copy(text, undefined, { done: t('copy.done'), failed: t('copy.failed') }));
    return h('div', { class: 'cmd-box' }, h('pre', { class: 'cmd mb-0', id, tabindex: '0' }, h('code', {}, text)), btn);
}

function cliSection() {
    if (state.info?.state !== 'open') return h('section', { id: 'cli' });
    const origin = location.origin;
    const curl = `curl -T logs.tar.gz ${origin}${pages.upload(state.token)}`;
    const uploader = `curl -fsSLO ${origin}${pages.uploader} && bash uploader.sh -f logs.tar.gz -t ${state.token} -d ${origin}`;
    return h('section', { id: 'cli', class: 'mt-5' },
        h('h2', { class: 'h5 d-flex align-items-center gap-2' }, icon('terminal'), t('cli.title')),
        h('p', { class: 'mb-1' }, t('cli.curl')),
        command('cmd-curl', curl, t('cli.curlWhat')),
        h('p', { class: 'mb-1 mt-3' }, t('cli.uploader')),
        command('cmd-uploader', uploader, t('cli.uploaderWhat')),
        h('p', { class: 'small text-body-secondary mt-2' }, t('cli.file'), ' ',
            h('a', { href: pages.uploader, rel: 'noreferrer', download: 'uploader.sh' }, t('cli.download'))));
}

/* --- one file --- */

const statusOf = (err) => {
    const res = err?.originalResponse;
    return res && typeof res.getStatus === 'function' ? res.getStatus() : 0;
};

function announce(text) {
    fill($('#announce'), text);
}

/* The item's whole view; focus stays on the item's buttons across a redraw. */
function drawItem(item) {
    const hadFocus = item.el.contains(document.activeElement);
    const busy = ['starting', 'uploading', 'retrying'].includes(item.status);
    const nameId = `file-${item.id}-name`;
    const actions = [];
    const button = (action, iconName, label, kind = 'btn-outline-body') => {
        const b = h('button', { class: `btn btn-sm ${kind}`, type: 'button', 'data-action': action, 'aria-describedby': nameId },
            icon(iconName), h('span', { class: 'ms-1' }, label));
        b.addEventListener('click', () => act(item, action));
        actions.push(b);
    };
    if (busy) button('pause', 'pause-fill', t('btn.pause'));
    if (item.status === 'paused') button('resume', 'play-fill', t('btn.resume'));
    if (item.status === 'error' && item.retryable) button('retry', 'arrow-clockwise', t('btn.retry'));
    if (busy || item.status === 'queued' || item.status === 'paused' || (item.status === 'error' && item.retryable))
        button('cancel', 'x-lg', t('btn.cancel'), 'btn-outline-danger');

    const showBar = item.status !== 'done' && item.status !== 'cancelled' && !(item.status === 'error' && !item.sent);
    const bar = showBar
        ? h('div', {
            class: 'progress mt-2', role: 'progressbar', 'aria-label': t('file.progressLabel', { name: item.file.name }),
            'aria-valuemin': '0', 'aria-valuemax': '100', 'aria-valuenow': '0',
        }, h('div', { class: `progress-bar${item.status === 'error' ? ' bg-danger' : item.status === 'paused' ? ' bg-secondary' : ''}` }))
        : null;
    const done = item.status === 'done' && item.sha256
        ? h('div', { class: 'mt-2' },
            h('div', { class: 'small text-body-secondary' }, t('file.sha')),
            h('div', { class: 'd-flex flex-wrap align-items-center gap-2' },
                h('code', { class: 'hash sha256' }, item.sha256),
                (() => {
                    const b = h('button', { class: 'btn btn-sm btn-outline-body', type: 'button', 'aria-label': t('btn.copyWhat', { what: 'SHA-256' }), 'aria-describedby': nameId },
                        icon('clipboard'), h('span', { class: 'ms-1' }, t('btn.copy')));
                    b.addEventListener('click', () => copy(item.sha256, undefined, { done: t('copy.done'), failed: t('copy.failed') }));
                    return b;
                })()),
            h('p', { class: 'small text-body-secondary mb-0 mt-1' }, t('file.shaHint')))
        : null;
    fill(item.el,
        h('div', { class: 'd-flex flex-wrap align-items-center gap-2' },
            h('span', { class: `file-icon ${item.status === 'done' ? 'text-success' : item.status === 'error' ? 'text-danger' : 'text-body-secondary'}` },
                icon(item.status === 'done' ? 'check-circle' : item.status === 'error' ? 'exclamation-circle' : 'file-earmark-zip')),
            h('span', { class: 'file-name fw-semibold text-break', id: nameId }, item.file.name),
            h('span', { class: 'small text-body-secondary' }, fmtSize(item.file.size)),
            h('div', { class: 'file-actions ms-auto d-flex gap-1' }, actions)),
        item.resumed && item.status !== 'done' ? h('p', { class: 'small text-info-emphasis mb-0 mt-1 file-resumed' }, t('file.resuming')) : null,
        item.resumed && item.status === 'done' ? h('p', { class: 'small text-body-secondary mb-0 mt-1 file-resumed' }, t('file.resuming')) : null,
        bar,
        h('div', { class: 'small mt-1 d-flex flex-wrap gap-3 file-status', 'data-status': item.status }),
        done,
        item.status === 'error' ? h('div', { class: 'alert alert-danger small py-2 mt-2 mb-0 file-error' }, t(item.error)) : null);
    item.el.dataset.status = item.status;
    drawProgress(item);
    if (hadFocus) (item.el.querySelector('.file-actions button') ?? item.el.querySelector('button'))?.focus();
}

/* The bar and the status line: bytes, speed, time left. */
function drawProgress(item) {
    const pct = item.total ? Math.floor((item.sent / item.total) * 100) : 0;
    const barBox = item.el.querySelector('.progress');
    if (barBox) {
        barBox.setAttribute('aria-valuenow', String(pct));
        barBox.setAttribute('aria-valuetext', `${pct}% · ${t('file.progress', { sent: fmtSize(item.sent), total: fmtSize(item.total) })}`);
        barBox.firstChild.style.width = `${pct}%`;
    }
    const line = item.el.querySelector('.file-status');
    const parts = [];
    const s = item.status;
    if (s === 'queued') parts.push(t('file.queued'));
    else if (s === 'starting') parts.push(t('file.starting'));
    else if (s === 'retrying') parts.push(t('file.retrying'));
    else if (s === 'done') parts.push(t('file.done'));
    else if (s === 'cancelled') parts.push(t('file.cancelled'));
    if (['uploading', 'paused', 'retrying'].includes(s)) parts.push(t('file.progress', { sent: fmtSize(item.sent), total: fmtSize(item.total) }));
    if (s === 'paused') parts.push(t('file.paused'));
    if (s === 'uploading') {
        const speed = speedOf(item);
        if (speed) {
            parts.push(t('file.speed', { size: fmtSize(speed) }));
            parts.push(t('file.timeLeft', { time: fmtDuration((item.total - item.sent) / speed) }));
        }
    }
    fill(line, parts.map((p) => h('span', {}, p)));
}

/* Bytes a second over the last few seconds, or null while there is too little to tell. */
function speedOf(item) {
    const s = item.samples;
    if (s.length < 2) return null;
    const [t0, b0] = s[0];
    const [t1, b1] = s[s.length - 1];
    return t1 - t0 >= 500 ? ((b1 - b0) * 1000) / (t1 - t0) : null;
}

function setStatus(item, status) {
    if (item.status === status) return;
    if (status !== 'uploading') item.samples = [];
    item.status = status;
    drawItem(item);
}

function onProgress(item, sent, total) {
    const now = performance.now();
    item.sent = sent;
    item.total = total;
    item.samples.push([now, sent]);
    while (item.samples.length > 2 && now - item.samples[0][0] > SPEED_WINDOW_MS) item.samples.shift();
    if (item.status !== 'uploading' && item.status !== 'paused') {
        setStatus(item, 'uploading');
        return;
    }
    if (now - (item.drawn ?? 0) < REDRAW_MS && sent < total) return;
    item.drawn = now;
    drawProgress(item);
}

/* What failed, in the customer's words; a refusal of the token says why by the
 * token's state now. */
async function onError(item, err) {
    const status = statusOf(err);
    let key = 'error.other';
    let retryable = false;
    if (status === 0) [key, retryable] = ['error.network', true];
    else if (status === 401 || status === 403) key = 'error.token';
    else if (status === 404 || status === 410) key = 'error.gone';
    else if (status === 413) key = 'error.tooLarge';
    else if (status === 429) [key, retryable] = ['error.limited', true];
    else if (status === 507) key = 'error.space';
    else if (status === 423) {
        await refresh();
        const s = state.info?.state;
        if (s === 'resolved' || s === 'used_up' || s === 'expired') key = `error.${s}`;
    } else if (status >= 500) retryable = true;
    item.error = key;
    item.retryable = retryable;
    setStatus(item, 'error');
    drawItem(item);
    announce(t('announce.error', { name: item.file.name, why: t(key) }));
    pump();
}

function onSuccess(item) {
    item.sent = item.total;
    setStatus(item, 'done');
    announce(t('announce.done', { name: item.file.name }));
    refresh();
    pump();
}

function newUpload(item) {
    return new window.tus.Upload(item.file, {
        endpoint: routes.uploads,
        headers: { 'Upload-Token': state.token },
        metadata: { filename: item.file.name, filetype: item.file.type || 'application/octet-stream' },
        /* the token is part of the key: a file picked on another ticket's page is another upload */
        fingerprint: (file) => Promise.resolve(fingerprintOf(file)),
        chunkSize: CHUNK_SIZE,
        retryDelays: RETRY_DELAYS,
        removeFingerprintOnSuccess: true,
        /* a dropped connection, a server restarting, another request still on the
         * upload (409): again, after a pause; a refusal (4xx) is final */
        onShouldRetry: (err) => {
            const s = statusOf(err);
            const again = (s === 0 || s === 409 || (s >= 500 && s !== 507)) && navigator.onLine !== false;
            if (again) setStatus(item, 'retrying');
            return again;
        },
        onUploadUrlAvailable: () => {
            if (!item.counted) {
                item.counted = true;
                refresh(); /* a new upload took an attempt */
            }
        },
        onProgress: (sent, total) => onProgress(item, sent, total),
        onAfterResponse: (req, res) => {
            const sha = res.getHeader('Archive-Sha256');
            if (sha && /^[0-9a-f]{64}$/.test(sha)) item.sha256 = sha;
        },
        onSuccess: () => onSuccess(item),
        onError: (err) => onError(item, err),
    });
}

async function start(item) {
    setStatus(item, 'starting');
    const up = newUpload(item);
    item.upload = up;
    try {
        const previous = await up.findPreviousUploads();
        if (previous.length) {
            previous.sort((a, b) => new Date(b.creationTime) - new Date(a.creationTime));
            up.resumeFromPreviousUpload(previous[0]);
            item.resumed = true;
            drawItem(item);
        }
    } catch {
        /* no storage: a new upload */
    }
    if (item.status !== 'starting') return; /* cancelled meanwhile */
    up.start();
}

/* Starts waiting files while fewer than ACTIVE are sending. */
function pump() {
    let active = state.items.filter((i) => ['starting', 'uploading', 'retrying'].includes(i.status)).length;
    for (const item of state.items) {
        if (active >= ACTIVE) break;
        if (item.status !== 'queued') continue;
        active++;
        start(item);
    }
}

function act(item, action) {
    if (action === 'pause') {
        item.upload?.abort();
        setStatus(item, 'paused');
        pump();
    } else if (action === 'resume' || action === 'retry') {
        if (!item.upload) return start(item);
        setStatus(item, 'starting');
        item.upload.start();
    } else if (action === 'cancel') {
        const up = item.upload;
        setStatus(item, 'cancelled');
        /* terminate: the server removes what arrived (the attempt stays used) */
        up?.abort(true).catch(() => {});
        pump();
        setTimeout(() => drawDrop(), 1000);
    }
    return undefined;
}

function addFiles(fileList) {
    if (!canUpload()) return;
    const files = [...fileList];
    if (!files.length) return;
    for (const file of files) {
        const item = { id: ++seq, file, status: 'queued', sent: 0, total: file.size, samples: [], resumed: false, sha256: null, error: null, upload: null };
        item.el = h('li', { class: 'list-group-item file-item', 'data-file': String(item.id) });
        if (file.size === 0) {
            item.status = 'error';
            item.error = 'error.empty';
        }
        state.items.push(item);
    }
    const waiting = state.items.filter((i) => i.status === 'queued').length;
    const left = state.info?.attempts ?? 0;
    state.notice = waiting > left && state.info?.state === 'open'
        ? { key: 'tooMany', vars: { files: t('files.count', { n: waiting }), uploads: t('uploads.count', { n: left }) } }
        : null;
    const list = listSection();
    $('#list').replaceWith(list);
    for (const item of state.items) drawItem(item);
    drawDrop();
    pump();
}

/* The drop section again (the unfinished uploads it lists change). */
function drawDrop() {
    const old = $('#drop');
    if (old && !old.contains(document.activeElement)) old.replaceWith(dropSection());
}

/* The token's state from the server; redraws the summary (and what depends on it). */
async function refresh() {
    try {
        const info = await api('GET', routes.checkToken(state.token), undefined, { login401: false });
        if (!info || typeof info !== 'object' || !Number.isInteger(info.ticket) || !Number.isInteger(info.attempts) ||
            !['open', 'resolved', 'used_up', 'expired'].includes(info.state))
            throw new ApiError(500, null);
        state.info = info;
        state.problem = null;
    } catch (e) {
        const status = e instanceof ApiError ? e.status : 500;
        if (state.info && status !== 404) return; /* keep what is shown; the uploads say what failed */
        state.info = null;
        state.problem = status === 404 ? 'unknown' : status === 429 ? 'limited' : status === 0 ? 'offline' : 'error';
    }
    if (!$('#summary')) return;
    translateFrame();
    $('#summary').replaceWith(summary());
    const drop = $('#drop');
    if (drop && !drop.contains(document.activeElement)) drop.replaceWith(dropSection());
    $('#cli').replaceWith(cliSection());
}

/* A file dropped anywhere on the page is taken (and never opened by the browser,
 * which would leave the page and stop the uploads). */
function setupWindowDrop() {
    window.addEventListener('dragover', (ev) => {
        ev.preventDefault();
        if (ev.dataTransfer) ev.dataTransfer.dropEffect = canUpload() ? 'copy' : 'none';
    });
    window.addEventListener('drop', (ev) => {
        ev.preventDefault();
        if (ev.dataTransfer?.files?.length) addFiles(ev.dataTransfer.files);
    });
    /* leaving while a file is sending: the browser asks first */
    window.addEventListener('beforeunload', (ev) => {
        if (state.items.some((i) => ['starting', 'uploading', 'retrying'].includes(i.status))) ev.preventDefault();
    });
}

async function main() {
    setLang(chooseLang());
    relabelTheme = setupTheme((dark) => t(dark ? 'theme.toLight' : 'theme.toDark'));
    setupLangs();
    setupWindowDrop();
    const raw = tokenFromPath();
    if (raw !== null) {
        state.token = raw.toLowerCase();
        if (!UUID.test(raw)) state.problem = 'unknown';
    }
    render();
    if (state.token && !state.problem) await refresh();
}

main();
