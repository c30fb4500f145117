/* webhooks.c - /api/v1/webhooks/ (administrators): targets, their delivery log, test events. */
#include <stdio.h>
#include <string.h>

#include "api/api.h"
#include "api/events.h"
#include "api/query.h"
#include "auth/token.h"
#include "core/log.h"
#include "core/util.h"
#include "jobs/jobs.h"
#include "jobs/webhook.h"

/* A webhook as the API renders it; the secret only when it was just made. */
static json_t *webhook_json(const struct webhook *w, bool with_secret)
{
    json_t *kinds = api_comma_list(w->events);
    json_t *o = json_pack("{s:I,s:s,s:o,s:b,s:o,s:I,s:I}", "id", (json_int_t)w->id, "url", w->url,
                          "events", kinds ? kinds : json_array(), "active", w->active, "created",
                          api_time(w->created), "pending", (json_int_t)w->pending, "failed",
                          (json_int_t)w->failed);
    if (o && with_secret)
        json_object_set_new(o, "secret", json_string(w->secret));
    return o;
}

/*
 * Validates r->json into *w: url (required unless partial; http(s), and its
 * host must resolve to an address webhooks may reach, see
 * webhook_resolve), events (a list of known kinds; absent, null or empty:
 * all), active (a boolean). Blocks on DNS: ROUTE_WORKER rows only.
 */
static enum err read_webhook(struct req *r, struct webhook *w, bool partial)
{
    json_t *url = json_object_get(r->json, "url");
    if (!url && !partial)
        req_invalid(r, "url", "This field is required.");
    else if (url && !json_is_string(url))
        req_invalid(r, "url", "Not a valid string.");
    else if (url) {
        struct webhook_target t;
        char ip[64], why[512];
        const char *bad = webhook_url_parse(json_string_value(url), &t);
        if (!bad)
            bad = webhook_resolve(&t, r->app->cfg.webhook_allow_private, ip, sizeof(ip), why,
                                  sizeof(why));
        if (bad)
            req_invalid(r, "url", "%s", bad);
        else
            str_copy(w->url, sizeof(w->url), json_string_value(url));
    }
    json_t *ev = json_object_get(r->json, "events");
    if (ev && !json_is_null(ev)) {
        size_t i;
        json_t *k;
        char list[sizeof(w->events)] = ","; /* ",a,b," */
        if (!json_is_array(ev))
            req_invalid(r, "events", "Expected a list of event kinds.");
        else if (json_array_size(ev) > LIMIT_WEBHOOK_EVENTS)
            req_invalid(r, "events", "Ensure this list has at most %d items.",
                        LIMIT_WEBHOOK_EVENTS);
        else
            json_array_foreach(ev, i, k)
            {
                const char *kind = json_string_value(k);
                char item[LIMIT_EVENT_KIND + 3];
                if (!kind || !api_event_kind_known(kind)) {
                    req_invalid(r, "events", "\"%.64s\" is not an event kind.",
                                kind ? kind : "(not a string)");
                    continue;
                }
                snprintf(item, sizeof(item), ",%s,", kind);
                if (!strstr(list, item)) /* once */
                    strncat(list, item + 1, sizeof(list) - strlen(list) - 1);
            }
        if (strcmp(list, ",") == 0)
            list[0] = 0;
        str_copy(w->events, sizeof(w->events), list);
    } else if (ev) {
        w->events[0] = 0;
    }
    (void)api_field_bool(r, "active", &w->active);
    return r->field_errors ? ERR_VALIDATION : ERR_OK;
}

/* The webhook named by the request's {id} into *w, its id into *ret_id. */
static enum err load_webhook(struct req *r, int64_t *ret_id, struct webhook *w)
{
    if (!parse_int64(req_param(r, 0), ret_id) || *ret_id <= 0)
        return ERR_NOT_FOUND;
    return store_webhook_get(r->app->store, *ret_id, w);
}

enum err api_webhook_list(struct req *r)
{
    struct webhook *items = NULL;
    size_t n = 0;
    enum err e = store_webhook_list(r->app->store, &items, &n);
    if (e)
        return e;
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < n; i++)
        json_array_append_new(arr, webhook_json(&items[i], false));
    free(items);
    return api_reply_list(r, arr, false, (int64_t)n, 0, 0);
}

enum err api_webhook_create(struct req *r)
{
    struct webhook *w = calloc(1, sizeof(*w)), *out = calloc(1, sizeof(*out));
    enum err e = w && out ? ERR_OK : ERR_NOMEM;
    if (!e) {
        w->active = true;
        e = read_webhook(r, w, false);
    }
    if (!e) {
        token_hex(w->secret, 32);
        struct event ev;
        api_event_make(r, &ev, "webhook.created", 0, 0, json_pack("{s:s}", "url", w->url));
        e = store_webhook_create(r->app->store, w, &ev, out);
        if (e == ERR_EXISTS)
            e = req_invalid(r, "url", "There are %d webhooks already, the most allowed.",
                            LIMIT_WEBHOOKS);
    }
    if (!e) {
        log_info("webhook %lld to %s created by %s", (long long)out->id, out->url,
                 r->principal.user.username);
        e = req_reply_json(r, 201, webhook_json(out, true));
    }
    free(w);
    free(out);
    return e;
}

enum err api_webhook_get(struct req *r)
{
    int64_t id;
    struct webhook w;
    enum err e = load_webhook(r, &id, &w);
    return e ? e : req_reply_json(r, 200, webhook_json(&w, false));
}

enum err api_webhook_patch(struct req *r)
{
    int64_t id;
    struct webhook w, out;
    enum err e = load_webhook(r, &id, &w);
    if (!e)
        e = read_webhook(r, &w, true);
    if (e)
        return e;
    struct event ev;
    api_event_make(
        r, &ev, "webhook.updated", 0, 0,
        json_pack("{s:I,s:s,s:b}", "webhook", (json_int_t)id, "url", w.url, "active", w.active));
    e = store_webhook_update(r->app->store, id, &w, &ev, &out);
    return e ? e : req_reply_json(r, 200, webhook_json(&out, false));
}

enum err api_webhook_delete(struct req *r)
{
    int64_t id;
    struct webhook w;
    enum err e = load_webhook(r, &id, &w);
    if (e)
        return e;
    struct event ev;
    api_event_make(r, &ev, "webhook.deleted", 0, 0,
                   json_pack("{s:I,s:s}", "webhook", (json_int_t)id, "url", w.url));
    e = store_webhook_delete(r->app->store, id, &ev);
    return e ? e : req_reply_empty(r, 204);
}

/* GET .../deliveries/: every attempt, and deliveries not tried yet, newest first. */
enum err api_webhook_deliveries(struct req *r)
{
    int64_t id, limit, offset;
    bool paginated;
    json_t *errs = NULL;
    struct webhook w;
    enum err e = load_webhook(r, &id, &w);
    if (e)
        return e;
    if (query_page(api_query_get, r, &paginated, &limit, &offset, &errs)) {
        r->field_errors = errs;
        return ERR_VALIDATION;
    }
    struct delivery_log *items = NULL;
    size_t n = 0;
    int64_t total = 0;
    e = store_delivery_log(r->app->store, id, limit, offset, &items, &n, &total);
    if (e)
        return e;
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < n; i++) {
        const struct delivery_log *l = &items[i];
        json_t *o =
            json_pack("{s:I,s:I,s:s,s:s,s:o}", "delivery", (json_int_t)l->delivery_id, "event",
                      (json_int_t)l->event_id, "kind", l->kind, "state", l->state, "next_at",
                      strcmp(l->state, "pending") == 0 ? api_time(l->next_at) : json_null());
        if (o && l->attempt_id)
            json_object_update_missing_new(
                o, json_pack("{s:I,s:o,s:o,s:s,s:I}", "attempt", (json_int_t)l->attempt_id, "time",
                             api_time(l->time), "status",
                             l->status ? json_integer(l->status) : json_null(), "error", l->error,
                             "duration_ms", (json_int_t)l->duration_ms));
        else if (o)
            json_object_set_new(o, "attempt", json_null());
        json_array_append_new(arr, o);
    }
    free(items);
    return api_reply_list(r, arr, paginated, total, limit, offset);
}

/* POST .../test/: a "webhook.test" event delivered to this webhook alone. */
enum err api_webhook_test(struct req *r)
{
    int64_t id;
    struct webhook w;
    enum err e = load_webhook(r, &id, &w);
    if (e)
        return e;
    struct event ev;
    api_event_make(r, &ev, "webhook.test", 0, 0,
                   json_pack("{s:I,s:s}", "webhook", (json_int_t)id, "message",
                             "A test event from logs-collector."));
    ev.webhook = id;
    e = store_event_add(r->app->store, &ev);
    if (e)
        return e;
    jobs_kick();
    return req_reply_json(r, 202, json_pack("{s:s}", "detail", "A test event is on its way."));
}
