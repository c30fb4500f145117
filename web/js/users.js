// users.js - administrators: staff accounts, making admins, deactivating, resetting 2FA.
import { api, get, routes } from './api.js';
import { $, confirmDialog, createForm, fill, fmtRelative, h, icon, toast } from './dom.js';
import { run } from './layout.js';

let self = null;

function toggle(u, field, label) {
    const id = `${field}-${u.id}`;
    const input = h('input', { class: 'form-check-input', type: 'checkbox', role: 'switch', id, checked: u[field], disabled: u.id === self });
    input.addEventListener('change', async () => {
        try {
            const out = await api('PATCH', routes.user(u.id), { [field]: input.checked });
            Object.assign(u, out);
            toast(`${u.username}: ${label.toLowerCase()} ${out[field] ? 'on' : 'off'}.`);
        } catch (e) {
            input.checked = u[field];
            toast(e.message, 'danger');
        }
    });
    return h('div', { class: 'form-check form-switch m-0' }, input,
        h('label', { class: 'form-check-label visually-hidden', for: id }, `${label}: ${u.username}`));
}

function row(u) {
    const reset = h('button', { class: 'btn btn-sm btn-outline-warning', type: 'button', disabled: !u.totp_enabled, 'aria-label': `Reset two-factor authentication of ${u.username}` }, icon('key'), ' Reset 2FA');
    reset.addEventListener('click', async () => {
        const ok = await confirmDialog({ title: `Reset 2FA of ${u.username}?`, body: h('p', null, 'Their authenticator and backup codes stop working and their sessions end; they set up 2FA again at their next login.'), confirm: 'Reset' });
        if (!ok) return;
        try {
            await api('DELETE', routes.user2fa(u.id));
            toast(`2FA of ${u.username} reset.`);
            await load();
        } catch (e) {
            toast(e.message, 'danger');
        }
    });
    return h('tr', null,
        h('td', null, h('div', { class: 'fw-semibold' }, u.username), h('div', { class: 'small text-body-secondary' }, [u.name, u.email].filter(Boolean).join(' · '))),
        h('td', null, toggle(u, 'is_admin', 'Administrator')),
        h('td', null, toggle(u, 'is_active', 'Active')),
        h('td', null, h('span', { class: `badge ${u.totp_enabled ? 'text-bg-success' : 'text-bg-secondary'}` }, u.totp_enabled ? 'on' : 'off')),
        h('td', { class: 'hide-sm' }, u.last_login ? fmtRelative(u.last_login) : 'never'),
        h('td', { class: 'text-end text-nowrap' }, reset));
}

async function load() {
    const list = await get(routes.users);
    fill($('#rows'), list.map(row));
}

run(async (session) => {
    self = session.user.id;
    await load();
    createForm($('#create'), async (f) => {
        const u = await api('POST', routes.users, { username: f.username, password: f.password, name: f.name, email: f.email, is_admin: f.is_admin === 'on' });
        toast(`User ${u.username} created.`);
        await load();
    });
}, { admin: true });
