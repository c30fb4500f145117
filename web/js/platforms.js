// platforms.js - platforms with their ticket counts, retention and upload-mail
// settings: create, edit (one form for both), delete (the warning says how many
// tickets and archives go with it).
import { api, get, pages, routes } from './api.js';
import { $, confirmDialog, fill, fmtSize, formData, h, icon, showErrors, toast } from './dom.js';
import { refreshStorage, run } from './layout.js';

let editing = null; /* the platform the form edits; null: it creates one */

const days = (n) => `${n} day${n === 1 ? '' : 's'}`;

function retentionText(p) {
    const parts = [];
    if (p.archives_keep_days) parts.push(`archives deleted ${days(p.archives_keep_days)} after resolving`);
    if (p.resolve_after_days) parts.push(`resolved after ${days(p.resolve_after_days)} untouched`);
    return parts.length ? parts.join('; ') : 'off';
}

/* A whole number of days as a number; anything else as typed (the API names the mistake). */
const daysValue = (v) => (/^\d+$/.test(v.trim()) ? Number(v) : v.trim() === '' ? 0 : v);

/* The form's fields as the API's platform. */
function platformBody(f) {
    return {
        name: f.name,
        pretty_name: f.pretty_name,
        archives_keep_days: daysValue(f.archives_keep_days),
        resolve_after_days: daysValue(f.resolve_after_days),
        notify_emails: f.notify_emails.split(/[\s,;]+/).filter(Boolean),
    };
}

/* Puts p into the form (null: an empty form that creates). */
function setForm(p) {
    editing = p;
    const form = $('#platform-form');
    form.reset();
    showErrors(form, null);
    fill($('#form-title'), p ? `Edit platform ${p.name}` : 'New platform');
    fill($('#save'), p ? 'Save' : 'Create platform');
    $('#cancel').classList.toggle('d-none', !p);
    if (!p) return;
    for (const f of ['name', 'pretty_name', 'archives_keep_days', 'resolve_after_days']) form.elements[f].value = p[f];
    form.elements.notify_emails.value = p.notify_emails.join('\n');
    form.scrollIntoView({ block: 'nearest' });
    form.elements.pretty_name.focus();
}

function row(p, stats) {
    const name = h('td', null, h('a', { href: pages.platformTickets(p.name) }, p.name));
    const edit = h('button', { class: 'btn btn-sm btn-outline-body', type: 'button', 'aria-label': `Edit ${p.name}` }, icon('pencil'));
    const del = h('button', { class: 'btn btn-sm btn-outline-danger', type: 'button', 'aria-label': `Delete ${p.name}` }, icon('trash'));
    edit.addEventListener('click', () => setForm(p));
    del.addEventListener('click', async () => {
        const s = await get(routes.platformStats(p.name));
        const ok = await confirmDialog({
            title: `Delete platform ${p.name}?`,
            body: h('p', null, `Its ${s.tickets} ticket${s.tickets === 1 ? '' : 's'} and ${s.archives} archive${s.archives === 1 ? '' : 's'} (${fmtSize(s.size)}) are deleted with it. This cannot be undone.`),
        });
        if (!ok) return;
        try {
            await api('DELETE', routes.platform(p.name));
            toast(`Platform ${p.name} deleted.`);
            if (editing?.name === p.name) setForm(null);
            await load();
            refreshStorage();
        } catch (e) {
            toast(e.message, 'danger');
        }
    });
    return h('tr', { 'data-platform': p.name }, name, h('td', null, p.pretty_name), h('td', null, stats ? stats.tickets : '—'),
        h('td', { class: 'hide-sm small retention' }, retentionText(p)),
        h('td', { class: 'hide-sm small notify' }, p.notify_emails.length ? p.notify_emails.map((a) => h('div', null, a)) : '—'),
        h('td', { class: 'text-end text-nowrap' }, h('div', { class: 'd-inline-flex gap-2' }, edit, del)));
}

async function load() {
    const list = await get(routes.platforms);
    const stats = await Promise.all(list.map((p) => get(routes.platformStats(p.name)).catch(() => null)));
    fill($('#rows'), list.length ? list.map((p, i) => row(p, stats[i]))
        : h('tr', null, h('td', { colspan: '6', class: 'text-body-secondary' }, 'No platforms yet: create the first one.')));
}

run(async () => {
    await load();
    const form = $('#platform-form');
    $('#cancel').addEventListener('click', () => setForm(null));
    form.addEventListener('submit', async (ev) => {
        ev.preventDefault();
        const body = platformBody(formData(form));
        try {
            const p = editing ? await api('PATCH', routes.platform(editing.name), body) : await api('POST', routes.platforms, body);
            toast(editing ? `Platform ${p.name} saved.` : `Platform ${p.name} created.`);
            setForm(null);
            await load();
        } catch (e) {
            showErrors(form, e);
        }
    });
});
