// ticket.js - one ticket: note, token (copy, curl one-liner, upload link, new
// token), archives (download, delete) and its history that both grow without a
// reload, resolve, edit and delete.
import { api, canonical, get, pages, routes } from './api.js';
import { $, confirmDialog, copy, fill, fmtRelative, fmtSize, fmtTime, h, icon, toast } from './dom.js';
import { refreshStorage, run } from './layout.js';
import { every } from './poll.js';
import { ticketHistory } from './ticket-history.js';

const POLL_MS = 3000;
const number = decodeURIComponent(location.pathname.split('/').filter(Boolean)[3] ?? '');
let ticket = null;
let seen = null; /* ids of the archives shown, null before the first look */
let checks = null; /* the page's polling (poll.js): archives and history */

function renderNote(n) {
    /* The one place server HTML enters a page: the note as md4c rendered it on the
     * server, raw HTML off, links only http(s)/mailto (src/web/markdown.c). */
    const note = $('#note');
    if (n.html) note.innerHTML = n.html;
    else fill(note, h('span', { class: 'text-body-secondary' }, n.note ? 'The note cannot be shown.' : 'No note.'));
}

function renderTicket(t) {
    ticket = t;
    canonical(pages.ticket(t.platform, t.number));
    document.title = `Ticket ${t.number} · logs-collector`;
    fill($('#title'), `Ticket ${t.number}`);
    fill($('#crumb-platform'), h('a', { href: pages.platformTickets(t.platform) }, t.platform));
    fill($('#crumb-ticket'), String(t.number));
    $('#resolved').checked = t.resolved;
    $('#edit').href = pages.edit(t.platform, t.number);
    fill($('#token'), t.token);
    const usable = !t.resolved && t.attempts > 0 && (!t.expires_at || new Date(t.expires_at) > new Date());
    const att = $('#attempts');
    att.className = `badge ${usable ? 'text-bg-info' : 'text-bg-warning'}`;
    fill(att, t.resolved ? 'locked: resolved' : `${t.attempts} attempt${t.attempts === 1 ? '' : 's'} left`);
    fill($('#expires'), t.expires_at ? `Expires ${fmtRelative(t.expires_at)} (${fmtTime(t.expires_at)}).` : 'Never expires.');
    const base = location.origin;
    $('#curl').value = `curl -T logs.tar.gz ${base}/upload/${t.token}/`;
    $('#link').value = `${base}/upload/${t.token}/`;
    fill($('#meta'), `Created ${fmtTime(t.time_create)}${t.user ? ` by ${t.user}` : ''} · updated ${fmtTime(t.time_update)}`);
}

function archiveItem(a) {
    const del = h('button', { type: 'button', class: 'btn btn-sm btn-outline-danger', 'aria-label': `Delete ${a.name}` }, icon('trash'));
    del.addEventListener('click', async () => {
        const ok = await confirmDialog({ title: 'Delete this archive?', body: h('p', null, 'The file ', h('strong', null, a.name), ` (${fmtSize(a.size)}) is removed from storage. This cannot be undone.`) });
        if (!ok) return;
        try {
            await api('DELETE', routes.archive(a.id));
            toast(`${a.name} deleted.`);
            checks.now();
            refreshStorage();
        } catch (e) {
            toast(e.message, 'danger');
        }
    });
    return h('li', { class: 'list-group-item', 'data-archive': a.id },
        h('div', { class: 'd-flex flex-wrap justify-content-between align-items-start gap-2' },
            h('div', { class: 'flex-grow-1 text-break' },
                h('div', { class: 'fw-semibold' }, a.name),
                h('div', { class: 'small text-body-secondary' }, `${fmtSize(a.size)} · ${fmtTime(a.time_create)}`)),
            h('div', { class: 'd-flex gap-2' },
                h('a', { class: 'btn btn-sm btn-outline-primary d-flex align-items-center gap-1', href: routes.download(a.id), download: a.name }, icon('download'), 'Download'),
                del)),
        h('dl', { class: 'row small mb-0 mt-2' },
            h('dt', { class: 'col-sm-2 text-body-secondary fw-normal' }, 'MD5'), h('dd', { class: 'col-sm-10 hash mb-1' }, a.md5),
            h('dt', { class: 'col-sm-2 text-body-secondary fw-normal' }, 'SHA-256'), h('dd', { class: 'col-sm-10 hash mb-0' }, a.sha256)));
}

/* The archives; re-rendered (with the ticket, whose attempts changed) only when they did. */
async function poll() {
    const list = await get(`${routes.archives}?ticket=${encodeURIComponent(number)}`);
    const key = list.map((a) => a.id).join(',');
    if (key === seen) return;
    const grew = seen !== null && list.length > seen.split(',').filter(Boolean).length;
    seen = key;
    fill($('#archives'), list.length ? list.map(archiveItem)
        : h('li', { class: 'list-group-item text-body-secondary' }, 'No archives yet. They appear here as soon as they arrive.'));
    const total = list.reduce((n, a) => n + a.size, 0);
    fill($('#archives-sum'), `${list.length} · ${fmtSize(total)}`);
    if (grew) {
        toast('A new archive arrived.');
        renderTicket(await get(routes.ticket(number)));
        refreshStorage();
    }
}

run(async () => {
    renderTicket(await get(routes.ticket(number)));
    renderNote(await get(routes.ticketNote(number)));
    await poll();
    const history = await ticketHistory({ list: $('#history'), more: $('#history-more'), moreBox: $('#history-more-row'), count: $('#history-count'), number });
    checks = every(async () => {
        await poll();
        await history.check();
    }, { ms: POLL_MS });
    $('#copy-token').addEventListener('click', () => copy(ticket.token, 'Token copied'));
    $('#copy-curl').addEventListener('click', () => copy($('#curl').value, 'Command copied'));
    $('#copy-link').addEventListener('click', () => copy($('#link').value, 'Link copied'));
    $('#resolved').addEventListener('change', async (ev) => {
        try {
            renderTicket(await api('PATCH', routes.ticket(number), { resolved: ev.target.checked }));
            toast(ticket.resolved ? 'Resolved: the token is locked.' : 'Reopened: the token works again.');
            checks.now();
        } catch (e) {
            ev.target.checked = ticket.resolved;
            toast(e.message, 'danger');
        }
    });
    $('#regenerate').addEventListener('click', async () => {
        const ok = await confirmDialog({ title: 'Issue a new token?', body: h('p', null, 'The current token stops working at once; attempts and lifetime start again.'), confirm: 'New token', danger: false });
        if (!ok) return;
        try {
            const t = await api('POST', routes.ticketToken(number), {});
            renderTicket(await get(routes.ticket(t.number)));
            toast('New token issued.');
            checks.now();
        } catch (e) {
            toast(e.message, 'danger');
        }
    });
    $('#delete').addEventListener('click', async () => {
        const n = seen ? seen.split(',').length : 0;
        const ok = await confirmDialog({ title: `Delete ticket ${number}?`, body: h('p', null, `The ticket and its ${n} archive${n === 1 ? '' : 's'} are deleted. This cannot be undone.`) });
        if (!ok) return;
        try {
            await api('DELETE', routes.ticket(number));
            location.assign(pages.tickets);
        } catch (e) {
            toast(e.message, 'danger');
        }
    });
});
