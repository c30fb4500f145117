// poll.js - the one way a console page asks the server again and again: at a fixed
// interval while the tab is visible, never two checks at once, longer waits after
// failures, nothing while the tab is hidden and a check at once when it shows again.

/*
 * Runs fn() every `ms` milliseconds (after the first `ms`). A failing fn() doubles
 * the wait, up to `max`; a success returns to `ms`. Returns {now(), stop()}: now()
 * checks at once (or right after the check under way), stop() ends it.
 */
export function every(fn, { ms = 3000, max = 60000 } = {}) {
    let timer = null;
    let wait = ms;
    let running = false;
    let again = false;
    let stopped = false;

    const schedule = (delay) => {
        clearTimeout(timer);
        timer = stopped || document.hidden ? null : setTimeout(tick, delay);
    };
    async function tick() {
        timer = null;
        if (running) {
            again = true;
            return;
        }
        running = true;
        try {
            await fn();
            wait = ms;
        } catch {
            wait = Math.min(wait * 2, max);
        }
        running = false;
        const now = again;
        again = false;
        schedule(now ? 0 : wait);
    }
    const onVisibility = () => {
        if (document.hidden) {
            clearTimeout(timer);
            timer = null;
        } else {
            schedule(0);
        }
    };
    document.addEventListener('visibilitychange', onVisibility);
    schedule(ms);
    return {
        now: () => (running ? (again = true) : schedule(0)),
        stop() {
            stopped = true;
            clearTimeout(timer);
            document.removeEventListener('visibilitychange', onVisibility);
        },
    };
}
