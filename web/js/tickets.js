// tickets.js - the ticket list: newest first, pages, search by one or several
// numbers, platform and resolved filters, resolve in place. The filters live in
// the URL (?q=&platform=&resolved=&page=), so a view can be bookmarked; the old
// /tickets/show/{platform}/ URLs preset the platform.
import { api, get, pages, routes } from './api.js';
import { $, fill, fmtRelative, fmtSize, h, toast } from './dom.js';
import { refreshStorage, run } from './layout.js';
import { pager } from './pager.js';

const PAGE = 20;
const FIELDS = ['q', 'platform', 'resolved'];

/* The old /tickets/show/{platform}/ URLs preset the platform. */
function preset() {
    const m = location.pathname.match(/^\/tickets\/show\/([^/]+)\/?$/);
    return { platform: m ? decodeURIComponent(m[1]) : '' };
}

/* The API query of a state; null (with a message) for a search that is not numbers. */
function query(s) {
    const p = new URLSearchParams({ limit: String(PAGE), offset: String((s.page - 1) * PAGE) });
    const nums = s.q.split(/[\s,;]+/).filter(Boolean);
    if (nums.some((n) => !/^\d{1,10}$/.test(n))) return null;
    if (nums.length === 1) p.set('search', nums[0]);
    else if (nums.length > 1) p.set('number', nums.join(','));
    if (s.platform) p.set('platform', s.platform);
    if (s.resolved) p.set('resolved', s.resolved);
    return p;
}

function resolvedSwitch(t) {
    const id = `resolved-${t.number}`;
    const input = h('input', { class: 'form-check-input', type: 'checkbox', role: 'switch', id, checked: t.resolved });
    input.addEventListener('change', async () => {
        input.disabled = true;
        try {
            const out = await api('PATCH', routes.ticket(t.number), { resolved: input.checked });
            t.resolved = out.resolved;
            toast(`Ticket ${t.number} ${out.resolved ? 'resolved' : 'reopened'}.`);
        } catch (e) {
            input.checked = t.resolved;
            toast(e.message, 'danger');
        } finally {
            input.disabled = false;
        }
    });
    return h('div', { class: 'form-check form-switch m-0' }, input,
        h('label', { class: 'form-check-label visually-hidden', for: id }, `Ticket ${t.number} resolved`));
}

function row(t) {
    return h('tr', null,
        h('td', null, h('a', { class: 'fw-semibold', href: pages.ticket(t.platform, t.number) }, t.number)),
        h('td', null, h('a', { class: 'badge text-bg-secondary text-decoration-none', href: pages.platformTickets(t.platform) }, t.platform)),
        h('td', { class: 'hide-sm' }, t.user ?? '—'),
        h('td', null, h('span', { class: `badge ${t.attempts > 0 ? 'text-bg-info' : 'text-bg-warning'}` }, t.attempts)),
        h('td', { class: 'hide-sm' }, t.expires_at ? h('time', { datetime: t.expires_at, title: new Date(t.expires_at).toLocaleString() }, fmtRelative(t.expires_at)) : 'never'),
        h('td', null, `${t.archives} · ${fmtSize(t.size)}`),
        h('td', null, resolvedSwitch(t)));
}

async function load(s) {
    const body = $('#rows');
    const alert = $('.form-alert');
    alert.classList.add('d-none');
    const p = query(s);
    if (!p) {
        fill(alert, 'Search by ticket numbers: digits, several separated by commas (4242, 4250).');
        alert.classList.remove('d-none');
        return null;
    }
    const data = await get(`${routes.tickets}?${p}`);
    fill(body, data.results.length ? data.results.map(row)
        : h('tr', null, h('td', { colspan: '7', class: 'text-body-secondary' }, 'No tickets match.')));
    return data;
}

run(async () => {
    const p = pager({ path: pages.tickets, fields: FIELDS, preset, load, pageSize: PAGE });
    const s = p.state;
    const platforms = await get(routes.platforms);
    const sel = $('#platform');
    for (const pl of platforms) sel.append(h('option', { value: pl.name }, `${pl.pretty_name} (${pl.name})`));
    $('#q').value = s.q;
    sel.value = s.platform;
    $('#resolved').value = s.resolved;
    if (s.platform) {
        const pl = platforms.find((x) => x.name === s.platform);
        fill($('#heading'), `Tickets · ${pl ? pl.pretty_name : s.platform}`);
    }
    $('#filters').addEventListener('submit', (ev) => {
        ev.preventDefault();
        p.go({ q: $('#q').value.trim(), platform: sel.value, resolved: $('#resolved').value })
            .catch((e) => toast(e.message, 'danger'));
    });
    await p.load();
    refreshStorage();
});
