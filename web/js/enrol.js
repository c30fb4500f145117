// enrol.js - TOTP enrolment: the QR code (an SVG the server draws) and the secret
// in text, confirmed with a code; then the ten backup codes, shown once.
import { api, pages, routes } from './api.js';
import { $, fill, formData, showErrors } from './dom.js';
import { run } from './layout.js';
import { backupCodesView } from './codes.js';

run(async (session) => {
    if (session.user.totp_enabled) {
        location.replace('/account/show/');
        return;
    }
    if (session.must_enrol) $('#required').classList.remove('d-none');
    const s = await api('POST', routes.totpSetup, {});
    /* the QR code as an image (data: URL): the SVG is never put into the DOM */
    $('#qr').src = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(s.qr_svg)}`;
    fill($('#secret'), s.secret.replace(/(.{4})/g, '$1 ').trim());
    $('#secret').dataset.secret = s.secret;
    const form = $('#confirm');
    form.addEventListener('submit', async (ev) => {
        ev.preventDefault();
        try {
            const r = await api('POST', routes.totpConfirm, { code: formData(form).code });
            $('#enrol-card').classList.add('d-none');
            fill($('#codes'), backupCodesView(r.backup_codes));
            $('#done').classList.remove('d-none');
            $('#continue').href = pages.tickets;
            $('#continue').focus();
        } catch (e) {
            showErrors(form, e);
        }
    });
}, { enrol: true });
