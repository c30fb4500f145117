// event-text.js - events of the audit log as people read them: the known kinds and
// their groups (for filters and webhook forms), one sentence per event, and the list
// item that shows one (the ticket history and the event log both use it).
// Every kind of api_event_kinds (src/api/events.c) has its entry here
// (tests/unit/test-console.c checks it).
import { fmtSize, fmtTime, h, icon } from './dom.js';

const plural = (n, one, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
const size = (n) => (Number.isFinite(n) && n >= 0 ? fmtSize(n) : null);
const paren = (s) => (s ? ` (${s})` : '');
const retention = (d) => (d.reason === 'retention' ? ' by retention' : '');

const LOGIN_FAILED = {
    bad_credentials: 'wrong password or unknown user',
    inactive: 'the account is deactivated',
    rate_limited: 'too many failed attempts',
};
const TFA_CHANGE = {
    enabled: 'turned on',
    disabled: 'turned off',
    reset: 'reset by an administrator',
    backup_codes_renewed: 'new backup codes',
};
const FIELD = {
    name: 'name', email: 'e-mail', is_admin: 'administrator', is_active: 'active', upload_mail: 'upload mail',
    number: 'number', platform: 'platform', resolved: 'resolved', attempts: 'attempts', note: 'note',
    pretty_name: 'title', archives_keep_days: 'archive retention', resolve_after_days: 'auto-resolve',
    notify_emails: 'mail recipients',
};
/* "note, attempts" for a change's `changed` fields; null when it names none. */
const changedFields = (d) => (Array.isArray(d.changed) && d.changed.length ? d.changed.map((f) => FIELD[f] ?? f).join(', ') : null);
/* A ticket change: its fields but `resolved` (the kind says it), and a renumbering. */
const ticketChange = (d) => {
    const fields = changedFields({ changed: (d.changed ?? []).filter((f) => f !== 'resolved' && f !== 'number') });
    const parts = [d.renumbered_from ? `renumbered from ${d.renumbered_from}` : null, fields].filter(Boolean);
    return parts.length ? parts.join('; ') : null;
};

/* kind -> [label, icon, detail(d, e) -> text or null]. */
const TEXT = {
    'upload.started': ['Upload started', 'cloud-arrow-up', (d) =>
        `${d.name ?? '?'}${paren(d.declared >= 0 ? size(d.declared) : 'size not declared')}`],
    'upload.finished': ['Upload finished', 'cloud-arrow-up', (d) => `${d.name ?? '?'}${paren(size(d.size))}`],
    'upload.failed': ['Upload failed', 'exclamation-triangle', (d) =>
        `${d.name ?? '?'}${paren(size(d.bytes) && `${size(d.bytes)} received`)}${d.reason ? `: ${d.reason}` : ''}`],
    'upload.resumed': ['Upload resumed', 'cloud-arrow-up', (d) =>
        `${d.name ?? '?'}${d.offset >= 0 && d.length >= 0 ? ` at ${size(d.offset)} of ${size(d.length)}` : ''}`],
    'archive.downloaded': ['Archive downloaded', 'download', (d) => `${d.name ?? '?'}${paren(size(d.bytes))}`],
    'archive.moved': ['Archive moved', 'archive', (d) => `${d.name ?? '?'} from ticket ${d.from} to ticket ${d.to}`],
    'archive.deleted': ['Archive deleted', 'trash', (d) => `${d.name ?? '?'}${paren(size(d.size))}${retention(d)}`],
    'ticket.created': ['Ticket created', 'tag', (d) =>
        `${d.platform ? `on platform ${d.platform}` : ''}${d.resolved ? ', resolved' : ''}` || null],
    'ticket.updated': ['Ticket changed', 'pencil', ticketChange],
    'ticket.resolved': ['Ticket resolved', 'check-circle', (d) => (d.reason === 'retention' ? 'by retention: untouched too long' : ticketChange(d))],
    'ticket.reopened': ['Ticket reopened', 'arrow-clockwise', ticketChange],
    'ticket.deleted': ['Ticket deleted', 'trash', () => null],
    'ticket.token_regenerated': ['New upload token', 'key', (d) => (d.attempts >= 0 ? plural(d.attempts, 'attempt') : null)],
    'platform.created': ['Platform created', 'hdd', (d) => d.name ?? null],
    'platform.updated': ['Platform changed', 'hdd', (d) =>
        `${d.name ?? '?'}${d.previous_name && d.previous_name !== d.name ? ` (was ${d.previous_name})` : ''}${paren(changedFields(d))}`],
    'platform.deleted': ['Platform deleted', 'trash', (d) => d.name ?? null],
    'auth.login': ['Logged in', 'box-arrow-right', (d) =>
        `${d.via === 'token' ? 'API token' : 'console'}${d.second_factor ? ', with a second factor' : ''}`],
    'auth.login_failed': ['Login failed', 'exclamation-circle', (d) =>
        `as ${d.username ?? '?'}${d.reason ? `: ${LOGIN_FAILED[d.reason] ?? d.reason}` : ''}`],
    'auth.2fa_changed': ['Two-factor authentication', 'shield-lock', (d) =>
        `${TFA_CHANGE[d.change] ?? d.change ?? 'changed'} for ${d.username ?? '?'}`],
    'user.created': ['User created', 'person-circle', (d) =>
        `${d.username ?? '?'}${d.is_admin ? ', administrator' : ''}${d.via ? ` (${d.via})` : ''}`],
    'user.updated': ['User changed', 'person-circle', (d) =>
        `${d.username ?? '?'}${paren(changedFields(d))}`],
    'user.password_changed': ['Password changed', 'key', (d) => `${d.username ?? '?'}${d.via ? ` (${d.via})` : ''}`],
    'user.deleted': ['User deleted', 'trash', (d) => `${d.username ?? '?'}${d.via ? ` (${d.via})` : ''}`],
    'webhook.created': ['Webhook created', 'link-45deg', (d) => d.url ?? null],
    'webhook.updated': ['Webhook changed', 'link-45deg', (d) =>
        `${d.url ?? '?'}${d.active === false ? ' (paused)' : ''}`],
    'webhook.deleted': ['Webhook deleted', 'link-45deg', (d) => d.url ?? null],
    'webhook.test': ['Test event', 'braces', (d) => (d.webhook ? `for webhook ${d.webhook}` : null)],
};

/* The groups of kinds (the part before the dot), in the order above, with a name. */
const GROUP_NAMES = { upload: 'Uploads', archive: 'Archives', ticket: 'Tickets', platform: 'Platforms', auth: 'Logins and 2FA', user: 'Users', webhook: 'Webhooks' };
export const KINDS = Object.keys(TEXT);
export const GROUPS = Object.entries(GROUP_NAMES).map(([prefix, name]) => ({
    prefix,
    name,
    kinds: KINDS.filter((k) => k.startsWith(`${prefix}.`)),
}));

/* "Upload finished" for upload.finished; the kind itself when it is not known. */
export const kindLabel = (kind) => TEXT[kind]?.[0] ?? kind;

/* Who did it, and from where: "upload token of ticket 42 from 203.0.113.9". */
export function actorText(e) {
    let who = e.actor;
    if (e.actor_type === 'system') who = 'the server';
    else if (!who) who = 'someone unknown';
    return e.client_ip ? `${who} from ${e.client_ip}` : who;
}

/* {label, icon, detail, who} of an event (detail may be null). */
export function describe(e) {
    const [label, ic, fn] = TEXT[e.kind] ?? [e.kind, 'list', () => null];
    let detail = null;
    try {
        detail = fn(e.detail && typeof e.detail === 'object' ? e.detail : {}, e) || null;
    } catch {
        detail = null;
    }
    return { label, icon: ic, detail, who: actorText(e) };
}

/* One sentence: "Upload finished: app.log (12.3 MiB) — upload token of ticket 42 from 203.0.113.9". */
export function sentence(e) {
    const d = describe(e);
    return `${d.label}${d.detail ? `: ${d.detail}` : ''} — ${d.who}`;
}

/*
 * The list item of an event: its sentence, its time in the user's locale and, when
 * ticketHref(number) gives a URL, a link to its ticket (a string: plain text; null:
 * nothing); with `agent`, the user agent in small print.
 */
export function eventItem(e, { ticketHref = null, agent = false } = {}) {
    const d = describe(e);
    let ticket = null;
    if (e.ticket && ticketHref) {
        const href = ticketHref(e.ticket);
        ticket = href ? h('a', { href }, `Ticket ${e.ticket}`) : `Ticket ${e.ticket}`;
    }
    const meta = [h('time', { datetime: e.time }, fmtTime(e.time)), ticket].filter(Boolean)
        .flatMap((x, i) => (i ? [' · ', x] : [x]));
    return h('li', { class: 'list-group-item event d-flex gap-2 py-2', 'data-event': e.id, 'data-kind': e.kind },
        h('span', { class: `event-icon event-${e.kind.split('.')[0]}` }, icon(d.icon)),
        h('div', { class: 'flex-grow-1 min-w-0' },
            h('div', { class: 'text-break' }, h('span', { class: 'fw-semibold' }, d.label),
                d.detail ? `: ${d.detail}` : '', h('span', { class: 'text-body-secondary' }, ` — ${d.who}`)),
            h('div', { class: 'small text-body-secondary text-break' }, meta),
            agent && e.user_agent ? h('div', { class: 'event-agent text-body-secondary text-truncate', title: e.user_agent }, e.user_agent) : null));
}
