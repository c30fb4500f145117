/* events.h - the audit log as handlers write it (api_event) and as the API and webhooks render it.
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "store/store.h"

struct req;

/*
 * How to record an event (see docs/events.md for the kinds and their details).
 *
 * An event that goes with a change in the store is written in the same
 * transaction as the change: fill it with api_event_make and hand it to the
 * store operation that makes the change (every write operation of store.h
 * takes `const struct event *ev`):
 *
 *     struct event ev;
 *     api_event_make(r, &ev, "ticket.deleted", number, 0, NULL);
 *     e = store_ticket_delete(r->app->store, number, &ev, &paths);
 *
 * An event that changes nothing else (a failed login, a download, an upload
 * that failed) is one line:
 *
 *     api_event(r, "upload.failed", ticket, 0, json_pack("{s:s}", "reason", why));
 *
 * kind is one of api_event_kinds (a new kind: add it there and to
 * docs/events.md). The actor, client address (r->client_ip: trusted proxies
 * only), user agent and time come from the request. ticket is a ticket
 * number, archive an archive id, 0 for none (a store write fills them from
 * the row it writes when left 0). detail is a JSON object the call takes
 * (NULL: {}); one larger than LIMIT_EVENT_DETAIL bytes is replaced by
 * {"truncated": true}. Neither call fails the request: an event that cannot
 * be written is logged.
 */
void api_event_make(struct req *r, struct event *ev, const char *kind, int64_t ticket,
                    int64_t archive, json_t *detail);

/* Records an event that goes with no store change (see above). On a worker
 * thread (ROUTE_WORKER handlers, req_defer work) it is written at once; on a
 * polling thread it is handed to the background writer (jobs_post_event), so
 * that no polling thread waits on the database; written within a moment. */
void api_event(struct req *r, const char *kind, int64_t ticket, int64_t archive, json_t *detail);

/* Fills ev as api_event_make does for the server itself (retention): actor
 * "system". */
void api_event_system(struct event *ev, const char *kind, int64_t ticket, int64_t archive,
                      json_t *detail);

/* Sets ev's detail from the object detail (taken; NULL: {}). */
void api_event_detail(struct event *ev, json_t *detail);

/* Every event kind, NULL-terminated (webhooks name kinds from it). */
extern const char *const api_event_kinds[];
/* True when kind is one of api_event_kinds. */
bool api_event_kind_known(const char *kind);

/* An event as the API and webhook deliveries render it. NULL on out of memory. */
json_t *api_event_json(const struct event *ev);
