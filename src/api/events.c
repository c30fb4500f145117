/* events.c - GET /api/v1/events/ and the helpers every handler records events with. */
#include <stdio.h>
#include <string.h>

#include "api/api.h"
#include "api/events.h"
#include "api/query.h"
#include "core/json.h"
#include "core/log.h"
#include "core/util.h"
#include "http/work.h"
#include "jobs/jobs.h"

const char *const api_event_kinds[] = {
    "upload.started",
    "upload.finished",
    "upload.failed",
    "upload.resumed",
    "archive.downloaded",
    "archive.moved",
    "archive.deleted",
    "ticket.created",
    "ticket.updated",
    "ticket.resolved",
    "ticket.reopened",
    "ticket.deleted",
    "ticket.token_regenerated",
    "platform.created",
    "platform.updated",
    "platform.deleted",
    "auth.login",
    "auth.login_failed",
    "auth.2fa_changed",
    "user.created",
    "user.updated",
    "user.password_changed",
    "user.deleted",
    "webhook.created",
    "webhook.updated",
    "webhook.deleted",
    "webhook.test",
    NULL,
};

bool api_event_kind_known(const char *kind)
{
    for (const char *const *k = api_event_kinds; *k; k++)
        if (strcmp(*k, kind) == 0)
            return true;
    return false;
}

void api_event_detail(struct event *ev, json_t *detail)
{
    ev->detail[0] = 0;
    if (!detail)
        return;
    size_t len = 0;
    char *text = json_is_object(detail) ? json_dump_compact(detail, &len) : NULL;
    json_decref(detail);
    if (text && len <= LIMIT_EVENT_DETAIL)
        memcpy(ev->detail, text, len + 1);
    else
        str_copy(ev->detail, sizeof(ev->detail), "{\"truncated\":true}");
    free(text);
}

/* The kind, references and detail every event has. */
static void event_base(struct event *ev, const char *kind, int64_t ticket, int64_t archive,
                       json_t *detail)
{
    memset(ev, 0, sizeof(*ev));
    if (!api_event_kind_known(kind))
        log_error("event kind \"%s\" is not in api_event_kinds", kind);
    str_copy(ev->kind, sizeof(ev->kind), kind);
    ev->ticket = ticket;
    ev->archive = archive;
    api_event_detail(ev, detail);
}

void api_event_make(struct req *r, struct event *ev, const char *kind, int64_t ticket,
                    int64_t archive, json_t *detail)
{
    event_base(ev, kind, ticket, archive, detail);
    ev->time = now_us(); /* when it happened: the end of a long upload, not its start */
    const struct principal *p = &r->principal;
    if (p->staff) {
        str_copy(ev->actor_type, sizeof(ev->actor_type), "user");
        str_copy(ev->actor, sizeof(ev->actor), p->user.username);
    } else if (p->kind == PRINCIPAL_UPLOAD_TOKEN) {
        str_copy(ev->actor_type, sizeof(ev->actor_type), "upload_token");
        snprintf(ev->actor, sizeof(ev->actor), "upload token of ticket %lld",
                 (long long)p->ticket.number);
    }
    str_copy(ev->client_ip, sizeof(ev->client_ip), r->client_ip);
    const char *agent = r->conn ? req_header(r, "User-Agent") : NULL;
    str_copy(ev->user_agent, sizeof(ev->user_agent), agent ? agent : "");
}

void api_event_system(struct event *ev, const char *kind, int64_t ticket, int64_t archive,
                      json_t *detail)
{
    event_base(ev, kind, ticket, archive, detail);
    ev->time = now_us();
    str_copy(ev->actor_type, sizeof(ev->actor_type), "system");
    str_copy(ev->actor, sizeof(ev->actor), "system");
}

void api_event(struct req *r, const char *kind, int64_t ticket, int64_t archive, json_t *detail)
{
    struct event *ev = malloc(sizeof(*ev));
    if (!ev) {
        json_decref(detail);
        log_error("event %s of ticket %lld lost: out of memory", kind, (long long)ticket);
        return;
    }
    api_event_make(r, ev, kind, ticket, archive, detail);
    if (work_is_worker() || !jobs_post_event(ev)) {
        enum err e = store_event_add(r->app->store, ev);
        if (e)
            log_error("event %s of ticket %lld not recorded: %s", kind, (long long)ticket,
                      err_info(e)->name);
        else
            jobs_kick();
    }
    free(ev);
}

json_t *api_event_json(const struct event *ev)
{
    json_error_t jerr;
    json_t *detail = ev->detail[0] ? json_loads(ev->detail, 0, &jerr) : NULL;
    if (!detail)
        detail = json_object();
    json_t *o = json_object();
    if (!o) {
        json_decref(detail);
        return NULL;
    }
    json_object_set_new(o, "id", json_integer(ev->id));
    json_object_set_new(o, "time", api_time(ev->time));
    json_object_set_new(o, "kind", json_string(ev->kind));
    json_object_set_new(o, "actor", ev->actor[0] ? json_string(ev->actor) : json_null());
    json_object_set_new(o, "actor_type",
                        json_string(ev->actor_type[0] ? ev->actor_type : "anonymous"));
    json_object_set_new(o, "client_ip",
                        ev->client_ip[0] ? json_string(ev->client_ip) : json_null());
    json_object_set_new(o, "user_agent", json_string(ev->user_agent));
    json_object_set_new(o, "ticket", ev->ticket ? json_integer(ev->ticket) : json_null());
    json_object_set_new(o, "archive", ev->archive ? json_integer(ev->archive) : json_null());
    json_object_set_new(o, "detail", detail);
    return o;
}

/* GET /api/v1/events/: filtered as store_event_filters says, newest first. */
enum err api_event_list(struct req *r)
{
    struct event_filter f;
    bool paginated;
    int64_t limit, offset;
    json_t *errs = NULL;
    (void)query_event_filter(api_query_get, r, &f, &errs);
    (void)query_page(api_query_get, r, &paginated, &limit, &offset, &errs);
    if (errs) {
        r->field_errors = errs;
        return ERR_VALIDATION;
    }
    /* the log grows without bound: a page always (the default page when none is asked) */
    f.limit = limit;
    f.offset = offset;
    struct event *items = NULL;
    size_t n = 0;
    int64_t total = 0;
    enum err e = store_event_list(r->app->store, &f, &items, &n, &total);
    if (e)
        return e;
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < n; i++)
        json_array_append_new(arr, api_event_json(&items[i]));
    free(items);
    return api_reply_list(r, arr, paginated, total, limit, offset);
}
