// webhooks.js - administrators: the webhooks (URL, event kinds, active), create (the
// signing secret shown once), edit, delete, a test event, and each one's delivery log
// (every attempt: state, status, time, error, next try), kept fresh while it is open.
import { api, get, routes } from './api.js';
import { $, confirmDialog, copy, createForm, fill, fmtRelative, fmtTime, h, icon, showErrors, toast } from './dom.js';
import { GROUPS, kindLabel } from './event-text.js';
import { run } from './layout.js';
import { every } from './poll.js';

const LOG_PAGE = 20;
const LOG_POLL_MS = 2000;
const STATE_BADGE = { delivered: 'text-bg-success', pending: 'text-bg-secondary', failed: 'text-bg-danger' };
const logs = new Map(); /* webhook id -> the poller of its open delivery log */

/* The event kinds as checkboxes (name "events"), grouped; `checked` the kinds chosen. */
function kindPicker(idPrefix, checked = []) {
    const on = new Set(checked);
    return h('fieldset', { class: 'mb-3' },
        h('legend', { class: 'form-label fs-6 mb-1' }, 'Events'),
        h('p', { class: 'form-text mt-0' }, 'Leave all unchecked for every event.'),
        h('div', { class: 'kind-groups' }, GROUPS.map((g) => h('div', { class: 'kind-group mb-2' },
            h('div', { class: 'small fw-semibold' }, g.name),
            g.kinds.map((k) => {
                const id = `${idPrefix}-${k.replace('.', '-')}`;
                return h('div', { class: 'form-check' },
                    h('input', { class: 'form-check-input', type: 'checkbox', name: 'events', value: k, id, checked: on.has(k) }),
                    h('label', { class: 'form-check-label small', for: id }, kindLabel(k), ' ', h('code', { class: 'kind-code' }, k)));
            })))));
}

const chosenKinds = (form) => [...form.querySelectorAll('input[name="events"]:checked')].map((c) => c.value);
const kindsText = (w) => (w.events.length ? w.events.map(kindLabel).join(', ') : 'all events');

function deliveryItem(d) {
    const tried = d.attempt !== null && d.attempt !== undefined;
    const answer = d.status ? `HTTP ${d.status}` : 'no answer';
    return h('li', { class: 'list-group-item small', 'data-delivery': d.delivery, 'data-attempt': d.attempt ?? '' },
        h('div', { class: 'd-flex flex-wrap align-items-center gap-2' },
            h('span', { class: `badge ${STATE_BADGE[d.state] ?? 'text-bg-secondary'}` }, d.state),
            h('span', { class: 'fw-semibold' }, kindLabel(d.kind)),
            h('span', { class: 'text-body-secondary' }, `event ${d.event} · delivery ${d.delivery}`)),
        h('div', { class: 'text-body-secondary' }, tried
            ? [h('time', { datetime: d.time }, fmtTime(d.time)), ' · ', h('span', { class: 'delivery-status', 'data-status': d.status ?? '' }, answer), ` · ${d.duration_ms} ms`]
            : 'Not tried yet.'),
        d.error ? h('div', { class: 'text-danger-emphasis text-break' }, d.error) : null,
        d.state === 'pending' && d.next_at
            ? h('div', { class: 'text-body-secondary' }, `Next try ${fmtRelative(d.next_at)} (${fmtTime(d.next_at)}).`) : null);
}

/* The delivery log of w in box; refreshed every LOG_POLL_MS while open. */
function openLog(w, box, toggle) {
    let limit = LOG_PAGE;
    const list = h('ol', { class: 'list-group list-group-flush deliveries', 'aria-label': `Deliveries to ${w.url}` });
    const more = h('button', { type: 'button', class: 'btn btn-sm btn-outline-body' }, 'Show more');
    const info = h('span', { class: 'small text-body-secondary' });
    const foot = h('div', { class: 'card-body py-2 d-flex justify-content-between align-items-center gap-2 d-none' }, info, more);
    fill(box, h('div', { class: 'border-top' }, list), foot);
    async function refresh() {
        const page = await get(`${routes.webhookDeliveries(w.id)}?${new URLSearchParams({ limit: String(limit), offset: '0' })}`);
        fill(list, page.results.length ? page.results.map(deliveryItem)
            : h('li', { class: 'list-group-item small text-body-secondary' }, 'Nothing delivered yet. Send a test event to try the receiver.'));
        fill(info, `The newest ${page.results.length} of ${page.count}`);
        foot.classList.toggle('d-none', page.results.length >= page.count);
    }
    more.addEventListener('click', () => {
        limit += LOG_PAGE;
        logs.get(w.id)?.now();
    });
    box.classList.remove('d-none');
    toggle.setAttribute('aria-expanded', 'true');
    fill(toggle, 'Hide the delivery log');
    logs.set(w.id, every(refresh, { ms: LOG_POLL_MS }));
    return refresh();
}

function closeLog(w, box, toggle) {
    logs.get(w.id)?.stop();
    logs.delete(w.id);
    box.classList.add('d-none');
    fill(box);
    toggle.setAttribute('aria-expanded', 'false');
    fill(toggle, 'Delivery log');
}

/* The edit form of w (URL, kinds, active) in box. */
function editForm(w, box) {
    const id = `edit-${w.id}`;
    const form = h('form', { class: 'card-body border-top', novalidate: true },
        h('div', { class: 'alert alert-danger d-none form-alert', role: 'alert', tabindex: '-1' }),
        h('div', { class: 'mb-3' },
            h('label', { class: 'form-label', for: `${id}-url` }, 'URL'),
            h('input', { class: 'form-control', id: `${id}-url`, name: 'url', type: 'url', value: w.url, maxlength: '2048', required: true })),
        kindPicker(id, w.events),
        h('div', { class: 'form-check form-switch mb-3' },
            h('input', { class: 'form-check-input', type: 'checkbox', role: 'switch', id: `${id}-active`, name: 'active', checked: w.active }),
            h('label', { class: 'form-check-label', for: `${id}-active` }, 'Active (an inactive webhook gets no new deliveries)')),
        h('div', { class: 'd-flex gap-2' },
            h('button', { class: 'btn btn-primary', type: 'submit' }, 'Save'),
            h('button', { class: 'btn btn-outline-body', type: 'button', onclick: () => fill(box) }, 'Cancel')));
    form.addEventListener('submit', async (ev) => {
        ev.preventDefault();
        try {
            await api('PATCH', routes.webhook(w.id), { url: form.elements.url.value.trim(), events: chosenKinds(form), active: form.elements.active.checked });
            toast('Webhook saved.');
            await load();
        } catch (e) {
            showErrors(form, e);
        }
    });
    fill(box, form);
    form.elements.url.focus();
}

function hookCard(w) {
    const logBox = h('div', { class: 'd-none', id: `log-${w.id}` });
    const editBox = h('div');
    const test = h('button', { type: 'button', class: 'btn btn-sm btn-outline-primary d-flex align-items-center gap-1 hook-test' }, icon('braces'), 'Send a test event');
    const logBtn = h('button', { type: 'button', class: 'btn btn-sm btn-outline-body hook-log', 'aria-expanded': 'false', 'aria-controls': `log-${w.id}` }, 'Delivery log');
    const edit = h('button', { type: 'button', class: 'btn btn-sm btn-outline-body hook-edit', 'aria-label': `Edit the webhook to ${w.url}` }, icon('pencil'));
    const del = h('button', { type: 'button', class: 'btn btn-sm btn-outline-danger hook-delete', 'aria-label': `Delete the webhook to ${w.url}` }, icon('trash'));
    test.addEventListener('click', async () => {
        test.disabled = true;
        try {
            await api('POST', routes.webhookTest(w.id));
            toast('A test event is on its way: see the delivery log.');
            if (logs.has(w.id)) logs.get(w.id).now();
            else await openLog(w, logBox, logBtn);
        } catch (e) {
            toast(e.message, 'danger');
        } finally {
            test.disabled = false;
        }
    });
    logBtn.addEventListener('click', () => (logs.has(w.id) ? closeLog(w, logBox, logBtn)
        : openLog(w, logBox, logBtn).catch((e) => toast(e.message, 'danger'))));
    edit.addEventListener('click', () => editForm(w, editBox));
    del.addEventListener('click', async () => {
        const ok = await confirmDialog({ title: 'Delete this webhook?', body: h('p', { class: 'text-break' }, 'Events stop going to ', h('strong', null, w.url), '; its delivery log is deleted with it. This cannot be undone.') });
        if (!ok) return;
        try {
            await api('DELETE', routes.webhook(w.id));
            toast('Webhook deleted.');
            await load();
        } catch (e) {
            toast(e.message, 'danger');
        }
    });
    return h('section', { class: 'card mb-3', 'data-hook': w.id, 'aria-label': `Webhook to ${w.url}` },
        h('div', { class: 'card-header d-flex justify-content-between align-items-start gap-2' },
            h('code', { class: 'hook-url text-break' }, w.url),
            h('span', { class: `badge ${w.active ? 'text-bg-success' : 'text-bg-secondary'}` }, w.active ? 'active' : 'paused')),
        h('div', { class: 'card-body' },
            h('dl', { class: 'row small mb-2' },
                h('dt', { class: 'col-sm-3 fw-normal text-body-secondary' }, 'Events'), h('dd', { class: 'col-sm-9 mb-1 hook-events' }, kindsText(w)),
                h('dt', { class: 'col-sm-3 fw-normal text-body-secondary' }, 'Created'), h('dd', { class: 'col-sm-9 mb-1' }, fmtTime(w.created)),
                h('dt', { class: 'col-sm-3 fw-normal text-body-secondary' }, 'Deliveries'),
                h('dd', { class: 'col-sm-9 mb-0' }, `${w.pending} waiting · ${w.failed} given up`)),
            h('div', { class: 'd-flex flex-wrap gap-2' }, test, logBtn, edit, del)),
        editBox, logBox);
}

async function load() {
    for (const p of logs.values()) p.stop();
    logs.clear();
    const list = await get(routes.webhooks);
    fill($('#hooks'), list.length ? list.map(hookCard)
        : h('p', { class: 'text-body-secondary' }, 'No webhooks yet. Create one to have events POSTed to a URL.'));
}

function showSecret(w) {
    fill($('#secret'), w.secret);
    fill($('#secret-url'), w.url);
    const box = $('#secret-box');
    box.classList.remove('d-none');
    box.focus();
}

run(async () => {
    const form = $('#create');
    fill($('#create-kinds'), kindPicker('new'));
    $('#copy-secret').addEventListener('click', () => copy($('#secret').textContent, 'Secret copied'));
    $('#secret-done').addEventListener('click', () => {
        fill($('#secret'));
        $('#secret-box').classList.add('d-none');
    });
    createForm(form, async (fields) => {
        const w = await api('POST', routes.webhooks, { url: fields.url.trim(), events: chosenKinds(form) });
        showSecret(w);
        toast('Webhook created.');
        await load();
    });
    await load();
}, { admin: true });
