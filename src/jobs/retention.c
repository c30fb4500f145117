/* retention.c - resolves untouched tickets, deletes archives kept long enough and old events. */
#include <stdlib.h>
#include <string.h>

#include "api/events.h"
#include "core/log.h"
#include "core/util.h"
#include "jobs/jobs.h"
#include "jobs/retention.h"

/* Resolves the open tickets untouched for their platform's resolve_days. */
static enum err resolve_untouched(struct app *a, int64_t now, bool dry_run, FILE *out,
                                  struct retention_stats *st)
{
    int64_t *numbers = NULL;
    size_t n = 0;
    enum err e = store_retention_tickets(a->store, now, &numbers, &n);
    if (e)
        return e;
    for (size_t i = 0; i < n; i++) {
        struct ticket t;
        enum err te = store_ticket_get(a->store, numbers[i], &t);
        if (te == ERR_NOT_FOUND)
            continue;
        if (!te && !t.resolved) {
            if (out)
                fprintf(out, "%s ticket %lld (platform %s, untouched since %lld)\n",
                        dry_run ? "would resolve" : "resolved", (long long)t.number, t.platform,
                        (long long)(t.time_update / 1000000));
            if (!dry_run) {
                struct event ev;
                api_event_system(&ev, "ticket.resolved", t.number, 0,
                                 json_pack("{s:s}", "reason", "retention"));
                t.resolved = true;
                te = store_ticket_update(a->store, t.number, &t, &ev, NULL);
            }
            if (!te)
                st->resolved++;
        }
        store_ticket_clear(&t);
        if (te && te != ERR_NOT_FOUND) {
            log_warn("retention: ticket %lld not resolved: %s", (long long)numbers[i],
                     err_info(te)->name);
            st->errors++;
        }
    }
    free(numbers);
    return ERR_OK;
}

/* Deletes the archives kept keep_days after their ticket was resolved. */
static enum err delete_kept(struct app *a, int64_t now, bool dry_run, FILE *out,
                            struct retention_stats *st)
{
    struct retention_item *items = NULL;
    size_t n = 0;
    enum err e = store_retention_archives(a->store, now, &items, &n);
    if (e)
        return e;
    for (size_t i = 0; i < n; i++) {
        const struct retention_item *it = &items[i];
        enum err de = ERR_OK;
        char path[512];
        if (!dry_run) {
            struct event ev;
            api_event_system(&ev, "archive.deleted", it->ticket, it->archive_id,
                             json_pack("{s:s,s:I,s:s}", "name", it->name, "size",
                                       (json_int_t)it->size, "reason", "retention"));
            de = store_archive_delete(a->store, it->archive_id, &ev, path);
            if (de == ERR_NOT_FOUND) /* deleted meanwhile (another process, staff) */
                continue;
            if (!de && blob_delete(a->blobs, path) != ERR_OK)
                log_error("retention: could not delete %s; `logs-collector cleanup` will", path);
        }
        if (de) {
            log_warn("retention: archive %lld not deleted: %s", (long long)it->archive_id,
                     err_info(de)->name);
            st->errors++;
            continue;
        }
        st->archives++;
        st->bytes += it->size;
        if (out)
            fprintf(out, "%s archive %lld \"%s\" of ticket %lld (platform %s, %lld bytes)\n",
                    dry_run ? "would delete" : "deleted", (long long)it->archive_id, it->name,
                    (long long)it->ticket, it->platform, (long long)it->size);
    }
    free(items);
    return ERR_OK;
}

enum err retention_run(struct app *a, int64_t now, bool dry_run, FILE *out,
                       struct retention_stats *ret)
{
    struct retention_stats st = {0};
    enum err e = resolve_untouched(a, now, dry_run, out, &st);
    if (!e)
        e = delete_kept(a, now, dry_run, out, &st);
    if (!e && a->cfg.events_keep > 0) {
        int64_t before = now - a->cfg.events_keep * 1000000;
        if (!dry_run)
            e = store_event_prune(a->store, before, &st.events);
        else if (out)
            fprintf(out, "would delete the events older than EVENTS_KEEP (%lld s)\n",
                    (long long)a->cfg.events_keep);
    }
    if (!e && ret)
        *ret = st;
    return e;
}
