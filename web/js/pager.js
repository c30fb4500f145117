// pager.js - a list page whose filters and page number live in the URL, so that a
// view can be bookmarked and the browser's back button works: the state read from
// the URL, going to another view, and the page's navigation (#pager): the
// "1–20 of 57" line (#page-info) and the Newer/Older buttons (#prev, #next).
import { $, fill, h, icon } from './dom.js';

/*
 * fields: the names of the filters (query parameters); preset(): values the URL's
 * path gives when its query does not (called at each read); load(state): shows the
 * view, resolves the list's page ({count, next, previous, results}) or null when it
 * showed a problem instead. Returns {state, go(state), load()}: go() takes new
 * filters (page 1 unless state.page says otherwise) and pushes the URL.
 */
export function pager({ path, fields, preset = () => ({}), load, pageSize }) {
    const read = () => {
        const q = new URLSearchParams(location.search);
        const given = preset();
        const s = Object.fromEntries(fields.map((f) => [f, q.get(f) ?? given[f] ?? '']));
        s.page = Math.max(1, parseInt(q.get('page') ?? '1', 10) || 1);
        return s;
    };
    const state = read();
    fill($('#pager'),
        h('span', { class: 'text-body-secondary small', id: 'page-info', 'aria-live': 'polite' }),
        h('div', { class: 'btn-group' },
            h('button', { class: 'btn btn-outline-body', type: 'button', id: 'prev' }, icon('chevron-left'), ' Newer'),
            h('button', { class: 'btn btn-outline-body', type: 'button', id: 'next' }, 'Older ', icon('chevron-right'))));

    async function show() {
        const data = await load(state);
        if (!data) return;
        const first = (state.page - 1) * pageSize;
        fill($('#page-info'), `${data.count ? first + 1 : 0}–${first + data.results.length} of ${data.count}`);
        $('#prev').disabled = !data.previous;
        $('#next').disabled = !data.next;
    }
    function go(next) {
        Object.assign(state, { page: 1 }, next);
        const p = new URLSearchParams();
        for (const f of fields) if (state[f]) p.set(f, state[f]);
        if (state.page > 1) p.set('page', String(state.page));
        history.pushState(null, '', `${path}${p.size ? `?${p}` : ''}`);
        return show();
    }
    $('#prev').addEventListener('click', () => go({ page: state.page - 1 }));
    $('#next').addEventListener('click', () => go({ page: state.page + 1 }));
    window.addEventListener('popstate', () => {
        Object.assign(state, read());
        show();
    });
    return { state, go, load: show };
}
