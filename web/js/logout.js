// logout.js - ends the session (the old product's GET /account/logout/ URL keeps working).
import { api, setCsrf, routes } from './api.js';
import { $ } from './dom.js';
import { setupTheme } from './layout.js';

setupTheme();
try {
    const s = await api('GET', routes.session, undefined, { login401: false });
    setCsrf(s.csrf_token);
    await api('DELETE', routes.session, undefined, { login401: false });
} catch {
    /* not logged in (any more): nothing to end */
}
$('#logout-title').textContent = 'You are logged out';
$('#logout-text').textContent = 'Your session has ended on this browser.';
