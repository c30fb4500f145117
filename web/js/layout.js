// layout.js - what every console page shares: who is logged in, the navigation,
// the storage bar, the theme switch, and the error view (403, 404, 500).
import { api, ApiError, get, pages, routes, setCsrf } from './api.js';
import { $, fill, fmtSize, h, icon } from './dom.js';

const THEME_KEY = 'lc-theme';

const THEME_LABELS = (dark) => (dark ? 'Switch to the light theme' : 'Switch to the dark theme');

/* The theme switch(es): flips light/dark and remembers the choice. text(dark)
 * gives the button's label (the upload page's languages). Returns the function
 * that labels the switches again (after a change of language). */
export function setupTheme(text = THEME_LABELS) {
    const label = () => {
        const dark = document.documentElement.getAttribute('data-bs-theme') === 'dark';
        for (const b of document.querySelectorAll('[data-theme-toggle]')) {
            b.setAttribute('aria-label', text(dark));
            b.setAttribute('title', b.getAttribute('aria-label'));
            b.replaceChildren(icon(dark ? 'sun' : 'moon-stars'));
        }
    };
    for (const b of document.querySelectorAll('[data-theme-toggle]')) {
        b.addEventListener('click', () => {
            const dark = document.documentElement.getAttribute('data-bs-theme') === 'dark';
            const next = dark ? 'light' : 'dark';
            try {
                localStorage.setItem(THEME_KEY, next);
            } catch {
                /* private mode: for this page only */
            }
            document.documentElement.setAttribute('data-bs-theme', next);
            label();
        });
    }
    matchMedia('(prefers-color-scheme: dark)').addEventListener('change', () => setTimeout(label));
    label();
    return label;
}

function setupNav() {
    const toggler = $('#nav-toggler');
    const menu = $('#nav-main');
    toggler?.addEventListener('click', () => {
        const open = menu.classList.toggle('show');
        toggler.setAttribute('aria-expanded', String(open));
    });
    const current = document.body.dataset.nav;
    for (const a of document.querySelectorAll('.nav-link[data-nav]')) {
        if (a.dataset.nav === current) {
            a.classList.add('active');
            a.setAttribute('aria-current', 'page');
        }
    }
}

/* The storage indicator: used %, total/used/free, green/amber/red. */
export async function refreshStorage() {
    const bar = $('#storage-bar');
    if (!bar) return;
    try {
        const s = await get(routes.storage);
        const pct = Math.max(0, Math.min(100, Number(s.used_percent) || 0));
        const fillEl = $('#storage-fill');
        fillEl.style.width = `${pct}%`;
        fillEl.className = `progress-bar ${pct >= 90 ? 'bg-danger' : pct >= 75 ? 'bg-warning' : 'bg-success'}`;
        bar.setAttribute('aria-valuenow', String(Math.round(pct)));
        bar.setAttribute('aria-valuetext', `${pct}% used`);
        fill($('#storage-text'), s.status === 'mount' ? `${pct}% used · ${fmtSize(s.free)} free` : 'Storage: error');
        $('#storage').title = `Total ${fmtSize(s.total)}, used ${fmtSize(s.used)}, free ${fmtSize(s.free)}`;
    } catch {
        fill($('#storage-text'), 'Storage: unknown');
    }
}

const MESSAGES = {
    0: ['Offline', 'The server cannot be reached. Check your connection and reload the page.'],
    403: ['Forbidden', 'You do not have permission to see this page.'],
    404: ['Not found', 'There is nothing here: the page or the object was not found.'],
    500: ['Server error', 'The server could not do this. Try again; if it keeps failing, tell an administrator.'],
};

/* Replaces the page's content with an error view in the console's style;
 * `own` ({title, text}) says it in other words than the status's usual ones. */
export function showError(err, own = null) {
    const status = err instanceof ApiError ? err.status : typeof err === 'number' ? err : 500;
    const [usualTitle, usualText] = MESSAGES[status] ?? MESSAGES[status >= 500 ? 500 : 403];
    const title = own?.title ?? usualTitle;
    const text = own?.text ?? usualText;
    const detail = err instanceof ApiError && err.body?.detail ? err.body.detail : null;
    if (!(err instanceof ApiError) && typeof err !== 'number') console.error(err);
    document.title = `${title} · logs-collector`;
    fill($('#main'),
        h('div', { class: 'text-center py-5' },
            h('p', { class: 'error-code text-body-secondary' }, status || '!'),
            h('h1', { class: 'h3' }, title),
            h('p', { class: 'text-body-secondary' }, text),
            detail && detail !== text ? h('p', { class: 'small text-body-secondary' }, detail) : null,
            h('a', { class: 'btn btn-primary', href: pages.tickets }, 'Back to the tickets')));
}

/*
 * Starts a console page: the caller's session (401: off to the login page), the
 * enrolment REQUIRE_2FA sends users to first, the navigation and the storage bar.
 * Then page(session) runs; whatever it throws is shown as an error view.
 * admin: the page is for administrators (others get 403). enrol: the enrolment
 * page itself.
 */
export async function run(page, { admin = false, enrol = false } = {}) {
    setupTheme();
    setupNav();
    try {
        const s = await api('GET', routes.session);
        setCsrf(s.csrf_token);
        if (s.must_enrol && !enrol) {
            location.replace(pages.enrol);
            return;
        }
        fill($('#nav-username'), s.user.name || s.user.username);
        if (s.must_enrol) {
            /* nothing but the enrolment is open to this session yet */
            $('#nav-main .navbar-nav')?.classList.add('d-none');
            $('#storage')?.classList.add('d-none');
        } else {
            if (s.user.is_admin) for (const li of document.querySelectorAll('[data-admin]')) li.classList.remove('d-none');
            refreshStorage();
        }
        if (admin && !s.user.is_admin) {
            showError(403, { title: 'Administrators only', text: 'This page is for administrators only. Ask one if you need what it shows.' });
            return;
        }
        await page(s);
    } catch (e) {
        if (e instanceof ApiError && e.status === 401) return; /* on its way to the login page */
        showError(e);
    }
}
