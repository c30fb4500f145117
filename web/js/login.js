// login.js - username and password, then the one-time code (or a backup code)
// when the account has two-factor authentication.
import { api, ApiError, pages, routes } from './api.js';
import { $, formData, showErrors } from './dom.js';
import { setupTheme } from './layout.js';

setupTheme();
const form = $('#login');
let step = 'password';
let backup = false;

/* Only local paths: ?next= must not send anyone to another site. */
function next() {
    const n = new URLSearchParams(location.search).get('next');
    return n && n.startsWith('/') && !n.startsWith('//') && !n.startsWith('/\\') ? n : pages.tickets;
}

function showCodeStep() {
    step = 'code';
    $('#step-password').classList.add('d-none');
    $('#step-code').classList.remove('d-none');
    $('#login-title').textContent = 'Two-factor authentication';
    $('#submit').textContent = 'Verify';
    $('#otp').focus();
}

$('#use-backup').addEventListener('click', () => {
    backup = !backup;
    $('#otp-field').classList.toggle('d-none', backup);
    $('#backup-field').classList.toggle('d-none', !backup);
    $('#use-backup').textContent = backup ? 'Use the authenticator app instead' : 'Use a backup code instead';
    $('#code-help').textContent = backup
        ? 'Enter one of your backup codes. Each works once.'
        : 'Enter the 6-digit code from your authenticator app.';
    (backup ? $('#backup_code') : $('#otp')).focus();
});

form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const f = formData(form);
    const body = { username: f.username, password: f.password };
    if (step === 'code') {
        if (backup) body.backup_code = f.backup_code;
        else body.otp = f.otp;
    }
    $('#submit').disabled = true;
    try {
        const s = await api('POST', routes.session, body, { login401: false });
        location.assign(s.must_enrol ? pages.enrol : next());
    } catch (e) {
        if (e instanceof ApiError && e.code === 'otp_required') {
            showErrors(form, null);
            showCodeStep();
        } else {
            showErrors(form, e);
        }
    } finally {
        $('#submit').disabled = false;
    }
});
