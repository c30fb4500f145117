// ticket-history.js - a ticket's events on its page, newest first: a page of them,
// "show more" for older ones (below the oldest shown: new events do not shift the
// pages), and the new ones on top each time check() runs.
import { get, routes } from './api.js';
import { fill, h } from './dom.js';
import { eventItem } from './event-text.js';

const PAGE = 10;

/*
 * Shows the events of ticket `number` in `list` (an <ol>/<ul>); `more` is the button
 * that fetches older ones, shown (with its box `moreBox`) while there are any;
 * `count` an element that tells how many there are.
 * Resolves once the first page is shown, with {check()}: check() adds the events
 * that came since (id__gte), or starts again when too many came at once.
 */
export async function ticketHistory({ list, more, moreBox = more, count, number }) {
    let newest = 0; /* the highest id shown */
    let oldest = 0; /* the lowest id shown */
    let total = 0;

    const query = (extra) => `${routes.events}?${new URLSearchParams({ ticket: String(number), ...extra })}`;
    const showCount = () => {
        const shown = list.querySelectorAll('[data-event]').length;
        fill(count, total ? `${shown} of ${total}` : '');
        moreBox.classList.toggle('d-none', shown >= total);
    };

    async function first() {
        const page = await get(query({ limit: String(PAGE), offset: '0' }));
        total = page.count;
        fill(list, page.results.length ? page.results.map((e) => eventItem(e))
            : h('li', { class: 'list-group-item text-body-secondary', 'data-empty': '' }, 'Nothing has happened yet.'));
        newest = page.results[0]?.id ?? 0;
        oldest = page.results.at(-1)?.id ?? 0;
        showCount();
    }

    more.addEventListener('click', async () => {
        more.disabled = true;
        try {
            const page = await get(query({ id__lte: String(oldest - 1), limit: String(PAGE), offset: '0' }));
            list.append(...page.results.map((e) => eventItem(e)));
            oldest = page.results.at(-1)?.id ?? oldest;
            /* the older ones left, plus those shown */
            total = list.querySelectorAll('[data-event]').length + page.count - page.results.length;
            showCount();
        } finally {
            more.disabled = false;
        }
    });

    await first();
    return {
        async check() {
            const page = await get(query({ id__gte: String(newest + 1), limit: String(PAGE), offset: '0' }));
            if (!page.results.length) return false;
            if (page.count > page.results.length || !newest) {
                await first(); /* a gap, or the first events at all: the newest page again */
                return true;
            }
            list.prepend(...page.results.map((e) => eventItem(e)));
            newest = page.results[0].id;
            total += page.results.length;
            showCount();
            return true;
        },
    };
}
