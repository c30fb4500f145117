/* platforms.c - /api/v1/platforms/: the vendor's products, looked up by name. */
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "api/events.h"
#include "api/query.h"
#include "core/log.h"
#include "core/util.h"
#include "jobs/mail.h"

static json_t *platform_json(const struct platform *p)
{
    json_t *emails = api_comma_list(p->notify_emails);
    return json_pack("{s:I,s:s,s:s,s:i,s:i,s:o}", "id", (json_int_t)p->id, "name", p->name,
                     "pretty_name", p->pretty_name, "archives_keep_days", p->keep_days,
                     "resolve_after_days", p->resolve_days, "notify_emails",
                     emails ? emails : json_array());
}

/* A whole number of days in 0..LIMIT_RETENTION_DAYS into *out (absent: kept). */
static void days_field(struct req *r, const char *name, int *out)
{
    json_t *v = json_object_get(r->json, name);
    if (!v)
        return;
    if (!json_is_integer(v) || json_integer_value(v) < 0 ||
        json_integer_value(v) > LIMIT_RETENTION_DAYS)
        req_invalid(r, name, "Ensure this value is a whole number of days from 0 (off) to %d.",
                    LIMIT_RETENTION_DAYS);
    else
        *out = (int)json_integer_value(v);
}

/* notify_emails: a list of addresses, kept as "a,b" (absent: kept). */
static void emails_field(struct req *r, struct platform *p)
{
    json_t *v = json_object_get(r->json, "notify_emails");
    if (!v)
        return;
    char list[sizeof(p->notify_emails)] = "";
    size_t i;
    json_t *a;
    if (!json_is_array(v)) {
        req_invalid(r, "notify_emails", "Expected a list of email addresses.");
        return;
    }
    json_array_foreach(v, i, a)
    {
        const char *s = json_string_value(a);
        if (!s || !mail_address_ok(s)) {
            req_invalid(r, "notify_emails", "Enter a valid email address.");
            return;
        }
        if (strlen(list) + strlen(s) + 2 > sizeof(list)) {
            req_invalid(r, "notify_emails", "Ensure the addresses take at most %d bytes.",
                        LIMIT_NOTIFY_EMAILS);
            return;
        }
        if (list[0])
            strcat(list, ",");
        strcat(list, s);
    }
    str_copy(p->notify_emails, sizeof(p->notify_emails), list);
}

static bool slug_ok(const char *s)
{
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_' || *s == '-'))
            return false;
    return true;
}

/*
 * Validates r->json into *p. `partial` (PATCH) makes every field optional;
 * fields absent from the body keep p's current values.
 */
static enum err read_platform(struct req *r, struct platform *p, bool partial)
{
    int n = api_field_string(r, "name", p->name, sizeof(p->name), LIMIT_PLATFORM_NAME, false);
    if (n == 0 && !partial)
        req_invalid(r, "name", "This field is required.");
    if (n > 0 && !slug_ok(p->name))
        req_invalid(r, "name",
                    "Enter a valid \"slug\" consisting of lowercase letters, numbers, "
                    "underscores or hyphens.");
    int pn = api_field_string(r, "pretty_name", p->pretty_name, sizeof(p->pretty_name),
                              LIMIT_PRETTY_NAME, false);
    if (pn == 0 && !partial)
        req_invalid(r, "pretty_name", "This field is required.");
    days_field(r, "archives_keep_days", &p->keep_days);
    days_field(r, "resolve_after_days", &p->resolve_days);
    emails_field(r, p);
    return r->field_errors ? ERR_VALIDATION : ERR_OK;
}

static enum err store_error(struct req *r, enum err e)
{
    if (e == ERR_EXISTS)
        return req_invalid(r, "name", "platform with this name already exists.");
    return e;
}

enum err api_platform_list(struct req *r)
{
    bool paginated;
    int64_t limit, offset;
    json_t *errs = NULL;
    enum err e = query_page(api_query_get, r, &paginated, &limit, &offset, &errs);
    if (e) {
        r->field_errors = errs;
        return e;
    }
    struct platform *items = NULL;
    size_t n = 0;
    e = store_platform_list(r->app->store, &items, &n);
    if (e)
        return e;
    /* platforms are few (one per product): page in memory */
    size_t from = paginated ? (size_t)(offset < (int64_t)n ? offset : (int64_t)n) : 0;
    size_t to = paginated && (int64_t)(n - from) > limit ? from + (size_t)limit : n;
    json_t *arr = json_array();
    for (size_t i = from; arr && i < to; i++)
        json_array_append_new(arr, platform_json(&items[i]));
    free(items);
    return api_reply_list(r, arr, paginated, (int64_t)n, limit, offset);
}

enum err api_platform_create(struct req *r)
{
    struct platform p = {0}, out;
    enum err e = read_platform(r, &p, false);
    if (e)
        return e;
    struct event ev;
    api_event_make(r, &ev, "platform.created", 0, 0, json_pack("{s:s}", "name", p.name));
    e = store_platform_create(r->app->store, &p, &ev, &out);
    if (e)
        return store_error(r, e);
    log_info("platform \"%s\" created by %s", out.name, r->principal.user.username);
    return req_reply_json(r, 201, platform_json(&out));
}

enum err api_platform_get(struct req *r)
{
    struct platform p;
    enum err e = store_platform_get(r->app->store, req_param(r, 0), &p);
    if (e)
        return e;
    return req_reply_json(r, 200, platform_json(&p));
}

static enum err update(struct req *r, bool partial)
{
    struct platform p;
    enum err e = store_platform_get(r->app->store, req_param(r, 0), &p);
    if (e)
        return e;
    const struct platform was = p;
    e = read_platform(r, &p, partial);
    if (e)
        return e;
    json_t *changed = json_array();
    if (strcmp(p.name, was.name) != 0)
        json_array_append_new(changed, json_string("name"));
    if (strcmp(p.pretty_name, was.pretty_name) != 0)
        json_array_append_new(changed, json_string("pretty_name"));
    if (p.keep_days != was.keep_days)
        json_array_append_new(changed, json_string("archives_keep_days"));
    if (p.resolve_days != was.resolve_days)
        json_array_append_new(changed, json_string("resolve_after_days"));
    if (strcmp(p.notify_emails, was.notify_emails) != 0)
        json_array_append_new(changed, json_string("notify_emails"));
    struct platform out;
    struct event ev;
    api_event_make(
        r, &ev, "platform.updated", 0, 0,
        json_pack("{s:s,s:s,s:o}", "name", p.name, "previous_name", was.name, "changed", changed));
    e = store_platform_update(r->app->store, req_param(r, 0), &p, &ev, &out);
    if (e)
        return store_error(r, e);
    return req_reply_json(r, 200, platform_json(&out));
}

enum err api_platform_put(struct req *r)
{
    return update(r, false);
}

enum err api_platform_patch(struct req *r)
{
    return update(r, true);
}

enum err api_platform_delete(struct req *r)
{
    struct path_list paths = {0};
    struct event ev;
    api_event_make(r, &ev, "platform.deleted", 0, 0, json_pack("{s:s}", "name", req_param(r, 0)));
    enum err e = store_platform_delete(r->app->store, req_param(r, 0), &ev, &paths);
    if (e)
        return e;
    api_delete_blobs(r, &paths);
    log_info("platform \"%s\" deleted by %s", req_param(r, 0), r->principal.user.username);
    return req_reply_empty(r, 204);
}

/* GET /api/v1/platforms/{name}/stats/: what deleting it would take along
 * (the console's warning) and its ticket count. */
enum err api_platform_stats(struct req *r)
{
    int64_t tickets, archives, bytes;
    enum err e = store_platform_counts(r->app->store, req_param(r, 0), &tickets, &archives, &bytes);
    if (e)
        return e;
    return req_reply_json(r, 200,
                          json_pack("{s:I,s:I,s:I}", "tickets", (json_int_t)tickets, "archives",
                                    (json_int_t)archives, "size", (json_int_t)bytes));
}
