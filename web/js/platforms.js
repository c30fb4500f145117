// platforms.js - platforms with their ticket counts: create, rename, delete (the
// warning says how many tickets and archives go with it).
import { api, get, pages, routes } from './api.js';
import { $, confirmDialog, createForm, fill, fmtSize, h, icon, showErrors, toast } from './dom.js';
import { refreshStorage, run } from './layout.js';

async function renameForm(p, cell) {
    const input = h('input', { class: 'form-control form-control-sm', name: 'pretty_name', value: p.pretty_name, 'aria-label': `Display name of ${p.name}` });
    const form = h('form', { class: 'd-flex gap-2', novalidate: true },
        h('div', { class: 'flex-grow-1' }, input, h('div', { class: 'alert alert-danger d-none form-alert small p-1 mt-1' })),
        h('button', { class: 'btn btn-sm btn-primary', type: 'submit' }, 'Save'));
    form.addEventListener('submit', async (ev) => {
        ev.preventDefault();
        try {
            await api('PATCH', routes.platform(p.name), { pretty_name: input.value });
            toast('Platform renamed.');
            await load();
        } catch (e) {
            showErrors(form, e);
        }
    });
    fill(cell, form);
    input.focus();
}

function row(p, stats) {
    const name = h('td', null, h('a', { href: pages.platformTickets(p.name) }, p.name));
    const pretty = h('td', null, p.pretty_name);
    const edit = h('button', { class: 'btn btn-sm btn-outline-body', type: 'button', 'aria-label': `Rename ${p.name}` }, icon('pencil'));
    const del = h('button', { class: 'btn btn-sm btn-outline-danger', type: 'button', 'aria-label': `Delete ${p.name}` }, icon('trash'));
    edit.addEventListener('click', () => renameForm(p, pretty));
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
            await load();
            refreshStorage();
        } catch (e) {
            toast(e.message, 'danger');
        }
    });
    return h('tr', null, name, pretty, h('td', null, stats ? stats.tickets : '—'),
        h('td', { class: 'text-end text-nowrap' }, h('div', { class: 'd-inline-flex gap-2' }, edit, del)));
}

async function load() {
    const list = await get(routes.platforms);
    const stats = await Promise.all(list.map((p) => get(routes.platformStats(p.name)).catch(() => null)));
    fill($('#rows'), list.length ? list.map((p, i) => row(p, stats[i]))
        : h('tr', null, h('td', { colspan: '4', class: 'text-body-secondary' }, 'No platforms yet: create the first one.')));
}

run(async () => {
    await load();
    createForm($('#create'), async (fields) => {
        const p = await api('POST', routes.platforms, fields);
        toast(`Platform ${p.name} created.`);
        await load();
    });
});
