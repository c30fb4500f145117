// account.js - the user's own profile, password and second factor (new backup
// codes, turning 2FA off; turning it on is the enrolment page).
import { api, pages, routes } from './api.js';
import { $, fill, formData, h, icon, showErrors, toast } from './dom.js';
import { run } from './layout.js';
import { backupCodesView } from './codes.js';

/* A form asking for the password before fn(password) runs. */
function passwordForm(label, btnClass, fn) {
    const form = h('form', { class: 'mt-3', novalidate: true },
        h('div', { class: 'alert alert-danger d-none form-alert', role: 'alert', tabindex: '-1' }),
        h('label', { class: 'form-label small', for: `pw-${label}` }, 'Your password'),
        h('div', { class: 'input-group' },
            h('input', { class: 'form-control', type: 'password', name: 'password', id: `pw-${label}`, autocomplete: 'current-password', required: true }),
            h('button', { class: `btn ${btnClass}`, type: 'submit' }, label)));
    form.addEventListener('submit', async (ev) => {
        ev.preventDefault();
        try {
            await fn(formData(form).password, form);
        } catch (e) {
            showErrors(form, e);
        }
    });
    return form;
}

function renderTfa(me, left) {
    const box = $('#tfa');
    const state = $('#tfa-state');
    state.className = `badge ${me.totp_enabled ? 'text-bg-success' : 'text-bg-warning'}`;
    fill(state, me.totp_enabled ? 'On' : 'Off');
    if (!me.totp_enabled) {
        fill(box, h('p', null, 'Protect your account with an authenticator app (a code that changes every 30 seconds). Downloads need it.'),
            h('a', { class: 'btn btn-primary', href: pages.enrol }, icon('shield-lock'), ' Set up two-factor authentication'));
        return;
    }
    const out = h('div', { id: 'tfa-out' });
    fill(box,
        h('p', null, `Logins ask for a code from your authenticator app. Backup codes left: ${left}.`),
        out,
        h('h3', { class: 'h6 mt-3' }, 'New backup codes'),
        h('p', { class: 'small text-body-secondary' }, 'Replaces your current backup codes.'),
        passwordForm('Make new codes', 'btn-outline-primary', async (password, form) => {
            const r = await api('POST', routes.backupCodes, { password });
            form.reset();
            fill(out, backupCodesView(r.backup_codes));
            toast('New backup codes made.');
        }),
        h('h3', { class: 'h6 mt-4' }, 'Turn off'),
        h('p', { class: 'small text-body-secondary' }, 'While the server requires two-factor authentication you will be asked to set it up again.'),
        passwordForm('Turn off', 'btn-outline-danger', async (password) => {
            await api('POST', routes.totpDisable, { password });
            location.assign(pages.enrol);
        }));
}

run(async (session) => {
    const me = await api('GET', routes.account);
    fill($('#username'), me.username);
    $('#pw-username').value = me.username;
    $('#name').value = me.name;
    $('#email').value = me.email;
    $('#upload_mail').checked = me.upload_mail;
    renderTfa(me, session.backup_codes_left);
    if (location.hash) document.getElementById(location.hash.slice(1))?.scrollIntoView();
    const profile = $('#profile');
    profile.addEventListener('submit', async (ev) => {
        ev.preventDefault();
        try {
            const u = await api('PATCH', routes.account, {
                name: $('#name').value,
                email: $('#email').value,
                upload_mail: $('#upload_mail').checked,
            });
            showErrors(profile, null);
            fill($('#nav-username'), u.name || u.username);
            toast('Profile saved.');
        } catch (e) {
            showErrors(profile, e);
        }
    });
    const pw = $('#password-form');
    pw.addEventListener('submit', async (ev) => {
        ev.preventDefault();
        const f = formData(pw);
        if (f.new_password !== f.confirm_password) {
            showErrors(pw, { fields: { confirm_password: ['The two passwords differ.'] } });
            return;
        }
        try {
            await api('POST', routes.password, { current_password: f.current_password, new_password: f.new_password });
            pw.reset();
            showErrors(pw, null);
            toast('Password changed; your other sessions have ended.');
        } catch (e) {
            showErrors(pw, e);
        }
    });
});
