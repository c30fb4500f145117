// events.js - the event log (administrators): every event, newest first, filtered by
// kind or group of kinds, actor, ticket and days; pages of 50. The filters live in
// the URL (?kind=&actor=&ticket=&from=&to=&page=), so a view can be bookmarked; an
// event of a ticket links to the ticket's page while the ticket exists.
import { ApiError, get, pages, routes } from './api.js';
import { $, fill, h, showErrors, toast } from './dom.js';
import { eventItem, GROUPS, kindLabel } from './event-text.js';
import { run } from './layout.js';
import { pager } from './pager.js';

const PAGE = 50;
const FIELDS = ['kind', 'actor', 'ticket', 'from', 'to'];
/* the API's names of the filters, for its field errors */
const PARAM_FIELD = { kind: 'kind', kind__startswith: 'kind', actor: 'actor', ticket: 'ticket', time__gte: 'from', time__lte: 'to' };

/* The API query of a state: "upload.*" is a group (kind__startswith). */
function query(s) {
    const p = new URLSearchParams({ limit: String(PAGE), offset: String((s.page - 1) * PAGE) });
    if (s.kind.endsWith('.*')) p.set('kind__startswith', s.kind.slice(0, -1));
    else if (s.kind) p.set('kind', s.kind);
    if (s.actor) p.set('actor', s.actor);
    if (s.ticket) p.set('ticket', s.ticket.replace(/\s+/g, ''));
    if (s.from) p.set('time__gte', s.from);
    if (s.to) p.set('time__lte', s.to);
    return p;
}

/* number -> platform of the tickets of these events that still exist. */
async function platformsOf(events) {
    const numbers = [...new Set(events.map((e) => e.ticket).filter(Boolean))];
    if (!numbers.length) return new Map();
    const list = await get(`${routes.tickets}?${new URLSearchParams({ number: numbers.join(',') })}`);
    return new Map(list.map((t) => [t.number, t.platform]));
}

function fillKinds(sel) {
    for (const g of GROUPS) {
        sel.append(h('optgroup', { label: g.name },
            h('option', { value: `${g.prefix}.*` }, `${g.name}: all (${g.prefix}.*)`),
            g.kinds.map((k) => h('option', { value: k }, `${kindLabel(k)} (${k})`))));
    }
}

run(async () => {
    const form = $('#filters');
    fillKinds($('#kind'));
    /* who may be asked for: the users (this page is for administrators, who may list them) */
    get(routes.users).then((users) => fill($('#actors'), ['system', ...users.map((u) => u.username)]
        .map((name) => h('option', { value: name })))).catch(() => {});

    const p = pager({
        path: pages.events,
        fields: FIELDS,
        async load(s) {
            for (const f of FIELDS) $(`#${f}`).value = s[f]; /* back and forward too */
            if (s.ticket && !/^[\d,\s]+$/.test(s.ticket)) {
                showErrors(form, new ApiError(400, { ticket: ['Ticket numbers: digits, several separated by commas.'] }));
                return null;
            }
            let data;
            try {
                data = await get(`${routes.events}?${query(s)}`);
            } catch (e) {
                if (e.fields) e.fields = Object.fromEntries(Object.entries(e.fields).map(([k, v]) => [PARAM_FIELD[k] ?? k, v]));
                showErrors(form, e);
                return null;
            }
            showErrors(form, null);
            const platforms = await platformsOf(data.results).catch(() => new Map());
            const href = (n) => (platforms.has(n) ? pages.ticket(platforms.get(n), n) : null);
            fill($('#events'), data.results.length ? data.results.map((e) => eventItem(e, { ticketHref: href, agent: true }))
                : h('li', { class: 'list-group-item text-body-secondary' }, 'No events match.'));
            return data;
        },
        pageSize: PAGE,
    });
    form.addEventListener('submit', (ev) => {
        ev.preventDefault();
        const s = Object.fromEntries(FIELDS.map((f) => [f, $(`#${f}`).value.trim()]));
        p.go(s).catch((e) => toast(e.message, 'danger'));
    });
    await p.load();
}, { admin: true });
