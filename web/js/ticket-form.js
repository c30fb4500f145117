// ticket-form.js - create (/tickets/create/) or edit (/tickets/update/{platform}/{n}/)
// a ticket; the note has a preview rendered by the server; field errors from the
// API appear next to their fields.
import { api, canonical, get, pages, routes } from './api.js';
import { $, fill, formData, h, showErrors } from './dom.js';
import { run } from './layout.js';

const parts = location.pathname.split('/').filter(Boolean);
const editing = parts[1] === 'update' ? decodeURIComponent(parts[3] ?? '') : null;
const form = $('#ticket-form');

function setupPreview() {
    const write = $('#write');
    const preview = $('#preview');
    const show = async (on) => {
        write.classList.toggle('active', !on);
        preview.classList.toggle('active', on);
        write.setAttribute('aria-pressed', String(!on));
        preview.setAttribute('aria-pressed', String(on));
        $('#note').classList.toggle('d-none', on);
        const box = $('#note-preview');
        box.classList.toggle('d-none', !on);
        if (!on) return;
        fill(box, h('span', { class: 'text-body-secondary' }, 'Rendering…'));
        try {
            const r = await api('POST', routes.markdown, { text: $('#note').value });
            /* server-rendered, sanitised note HTML (see ticket.js) */
            if (r.html) box.innerHTML = r.html;
            else fill(box, h('span', { class: 'text-body-secondary' }, 'Nothing to preview.'));
        } catch (e) {
            fill(box, h('span', { class: 'text-danger' }, e.message));
        }
    };
    write.addEventListener('click', () => show(false));
    preview.addEventListener('click', () => show(true));
}

/* The request body from the form: only what the user can set here. */
function body() {
    const f = formData(form);
    const out = { number: f.number.trim(), platform: f.platform, note: f.note };
    if (f.attempts !== '') out.attempts = f.attempts;
    if (f.expires_at === 'never') out.expires_at = null;
    else if (/^\d+$/.test(f.expires_at)) out.expires_at = new Date(Date.now() + Number(f.expires_at) * 86400000).toISOString();
    return out;
}

run(async () => {
    const platforms = await get(routes.platforms);
    const sel = $('#platform');
    for (const p of platforms) sel.append(h('option', { value: p.name }, `${p.pretty_name} (${p.name})`));
    if (!platforms.length) {
        fill(form.querySelector('.form-alert'), 'Create a platform first (Platforms page).');
        form.querySelector('.form-alert').classList.remove('d-none');
    }
    setupPreview();
    if (editing) {
        const t = await get(routes.ticket(editing));
        canonical(pages.edit(t.platform, t.number));
        document.title = `Edit ticket ${t.number} · logs-collector`;
        fill($('#title'), `Edit ticket ${t.number}`);
        $('#number').value = t.number;
        sel.value = t.platform;
        $('#attempts').value = t.attempts;
        const keep = $('#lifetime').querySelector('[value="keep"]');
        keep.classList.remove('d-none');
        $('#lifetime').value = 'keep';
        $('#note').value = t.note ?? '';
        $('#save').textContent = 'Save';
        $('#cancel').href = pages.ticket(t.platform, t.number);
    } else {
        const want = new URLSearchParams(location.search).get('platform');
        if (want) sel.value = want;
    }
    form.addEventListener('submit', async (ev) => {
        ev.preventDefault();
        $('#save').disabled = true;
        try {
            const t = editing ? await api('PATCH', routes.ticket(editing), body())
                : await api('POST', routes.tickets, body());
            location.assign(pages.ticket(t.platform, t.number));
        } catch (e) {
            showErrors(form, e);
        } finally {
            $('#save').disabled = false;
        }
    });
});
