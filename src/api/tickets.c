/* tickets.c - /api/v1/tickets/: help-desk tickets and their upload tokens. */
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "api/events.h"
#include "api/query.h"
#include "auth/token.h"
#include "core/log.h"
#include "core/util.h"

#define NUMBER_MAX 2147483647

static json_t *ticket_json(const struct ticket *t)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    json_object_set_new(o, "id", json_integer(t->id));
    json_object_set_new(o, "number", json_integer(t->number));
    json_object_set_new(o, "resolved", json_boolean(t->resolved));
    json_object_set_new(o, "token", json_string(t->token));
    json_object_set_new(o, "attempts", json_integer(t->attempts));
    json_object_set_new(o, "platform", json_string(t->platform));
    json_object_set_new(o, "time_create", api_time(t->time_create));
    json_object_set_new(o, "time_update", api_time(t->time_update));
    json_object_set_new(o, "user", t->user[0] ? json_string(t->user) : json_null());
    json_object_set_new(o, "note", json_string(t->note ? t->note : ""));
    json_object_set_new(o, "expires_at", api_time(t->expires_at));
    json_object_set_new(o, "archives", json_integer(t->archives));
    json_object_set_new(o, "size", json_integer(t->size));
    return o;
}

/* An integer field given as a JSON integer or a decimal string (as DRF accepts).
 * 1: read, 0: absent, -1: error recorded. */
static int int_field(struct req *r, const char *name, int64_t min, int64_t max, int64_t *out)
{
    json_t *v = json_object_get(r->json, name);
    if (!v)
        return 0;
    int64_t n;
    if (json_is_integer(v))
        n = json_integer_value(v);
    else if (json_is_real(v) && json_real_value(v) == (double)(int64_t)json_real_value(v))
        n = (int64_t)json_real_value(v);
    else if (!json_is_string(v) || !parse_int64(json_string_value(v), &n)) {
        req_invalid(r, name, "A valid integer is required.");
        return -1;
    }
    if (n < min) {
        req_invalid(r, name, "Ensure this value is greater than or equal to %lld.", (long long)min);
        return -1;
    }
    if (n > max) {
        req_invalid(r, name, "Ensure this value is less than or equal to %lld.", (long long)max);
        return -1;
    }
    *out = n;
    return 1;
}

/*
 * Validates r->json into *t. Without `partial`, number and platform are
 * required; fields absent from the body keep t's current values (DRF
 * semantics for PUT as well as PATCH).
 */
static enum err read_ticket(struct req *r, struct ticket *t, bool partial)
{
    int64_t v;
    int rc = int_field(r, "number", 1, NUMBER_MAX, &v);
    if (rc > 0)
        t->number = v;
    else if (rc == 0 && !partial)
        req_invalid(r, "number", "This field is required.");

    rc = api_field_string(r, "platform", t->platform, sizeof(t->platform), LIMIT_PLATFORM_NAME,
                          false);
    if (rc == 0 && !partial)
        req_invalid(r, "platform", "This field is required.");
    if (rc < 0) { /* an over-long or wrong name is simply an unknown platform */
        json_t *pv = json_object_get(r->json, "platform");
        if (json_is_string(pv)) {
            json_object_del(r->field_errors, "platform");
            req_invalid(r, "platform", "Invalid pk \"%.64s\" - object does not exist.",
                        json_string_value(pv));
        }
    }

    if (int_field(r, "attempts", 0, LIMIT_ATTEMPTS, &v) > 0)
        t->attempts = (int)v;
    bool b;
    if (api_field_bool(r, "resolved", &b) > 0)
        t->resolved = b;

    json_t *note = json_object_get(r->json, "note");
    if (note && !json_is_null(note)) {
        if (!json_is_string(note))
            req_invalid(r, "note", "Not a valid string.");
        else if (json_string_length(note) > LIMIT_NOTE)
            req_invalid(r, "note", "Ensure this field has no more than %d characters.", LIMIT_NOTE);
        else {
            char *copy = strdup(json_string_value(note));
            if (!copy)
                return ERR_NOMEM;
            free(t->note);
            t->note = copy;
        }
    } else if (note) {
        free(t->note);
        t->note = NULL;
    }

    json_t *exp = json_object_get(r->json, "expires_at");
    if (exp) {
        int64_t when;
        if (json_is_null(exp))
            t->expires_at = 0;
        else if (json_is_string(exp) && time_parse(json_string_value(exp), &when)) {
            /* 0 (the epoch) stands for "never" in the store, and no token was
             * made before 1970; a time in the past is fine: it expires the
             * token at once, which staff use to stop uploads now. */
            if (when <= 0)
                req_invalid(r, "expires_at", "Ensure this time is after 1970-01-01T00:00:00Z.");
            else
                t->expires_at = when;
        } else
            req_invalid(r, "expires_at", "Datetime has wrong format. Use RFC 3339.");
    }
    return r->field_errors ? ERR_VALIDATION : ERR_OK;
}

/* Maps store errors of create/update to the reference's field errors. */
static enum err store_error(struct req *r, enum err e, const struct ticket *t)
{
    if (e == ERR_EXISTS)
        return req_invalid(r, "number", "ticket with this number already exists.");
    if (e == ERR_REFERENCE)
        return req_invalid(r, "platform", "Invalid pk \"%s\" - object does not exist.",
                           t->platform);
    return e;
}

static bool path_number(struct req *r, int64_t *out)
{
    return parse_int64(req_param(r, 0), out) && *out >= 1 && *out <= NUMBER_MAX;
}

/* The ticket named by the request's {number}; *ret_number gets the number. */
static enum err load_ticket(struct req *r, int64_t *ret_number, struct ticket *ret)
{
    if (!path_number(r, ret_number))
        return ERR_NOT_FOUND;
    return store_ticket_get(r->app->store, *ret_number, ret);
}

static enum err reply_ticket(struct req *r, int status, struct ticket *t)
{
    json_t *j = ticket_json(t);
    store_ticket_clear(t);
    if (!j)
        return ERR_NOMEM;
    return req_reply_json(r, status, j);
}

enum err api_ticket_list(struct req *r)
{
    struct ticket_filter f;
    json_t *errs = NULL;
    bool paginated;
    int64_t limit, offset;
    enum err e = query_ticket_filter(api_query_get, r, &f, &errs);
    if (!e)
        e = query_page(api_query_get, r, &paginated, &limit, &offset, &errs);
    if (e) {
        json_decref(r->field_errors);
        r->field_errors = errs;
        return e;
    }
    if (paginated) {
        f.limit = limit;
        f.offset = offset;
    }
    struct ticket *items = NULL;
    size_t n = 0;
    int64_t total = 0;
    e = store_ticket_list(r->app->store, &f, &items, &n, &total);
    if (e)
        return e;
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < n; i++)
        json_array_append_new(arr, ticket_json(&items[i]));
    store_ticket_list_free(items, n);
    return api_reply_list(r, arr, paginated, total, limit, offset);
}

enum err api_ticket_create(struct req *r)
{
    struct ticket t = {0}, out = {0};
    const struct config *c = &r->app->cfg;
    t.attempts = c->upload_attempts;
    t.time_create = r->now;
    t.expires_at = c->upload_token_ttl ? r->now + c->upload_token_ttl * 1000000 : 0;
    enum err e = read_ticket(r, &t, false);
    if (e) {
        store_ticket_clear(&t);
        return e;
    }
    t.user_id = r->principal.user.id;
    token_uuid4(t.token);
    struct event ev;
    api_event_make(r, &ev, "ticket.created", t.number, 0,
                   json_pack("{s:s,s:b}", "platform", t.platform, "resolved", t.resolved));
    e = store_ticket_create(r->app->store, &t, &ev, &out);
    if (e) {
        e = store_error(r, e, &t);
        store_ticket_clear(&t);
        return e;
    }
    store_ticket_clear(&t);
    log_info("ticket %lld created by %s", (long long)out.number, r->principal.user.username);
    return reply_ticket(r, 201, &out);
}

enum err api_ticket_get(struct req *r)
{
    int64_t number;
    struct ticket t;
    enum err e = load_ticket(r, &number, &t);
    if (e)
        return e;
    return reply_ticket(r, 200, &t);
}

/* GET /api/v1/tickets/{number}/note/: the note and its rendering for the
 * console ({"note", "html"}; html null when it cannot be rendered). */
enum err api_ticket_note(struct req *r)
{
    int64_t number;
    struct ticket t;
    enum err e = load_ticket(r, &number, &t);
    if (e)
        return e;
    json_t *j = json_pack("{s:s,s:o}", "note", t.note ? t.note : "", "html", api_note_html(t.note));
    store_ticket_clear(&t);
    return req_reply_json(r, 200, j);
}

/* The detail of a ticket's change event: the fields that changed from `was`
 * (whose note is was_note) to t, and the number it had when renumbered. */
static json_t *ticket_changes(const struct ticket *was, const char *was_note,
                              const struct ticket *t)
{
    json_t *changed = json_array();
    if (t->number != was->number)
        json_array_append_new(changed, json_string("number"));
    if (strcmp(t->platform, was->platform) != 0)
        json_array_append_new(changed, json_string("platform"));
    if (t->resolved != was->resolved)
        json_array_append_new(changed, json_string("resolved"));
    if (t->attempts != was->attempts)
        json_array_append_new(changed, json_string("attempts"));
    if (strcmp(t->note ? t->note : "", was_note ? was_note : "") != 0)
        json_array_append_new(changed, json_string("note"));
    json_t *d = json_pack("{s:o}", "changed", changed);
    if (d && t->number != was->number)
        json_object_set_new(d, "renumbered_from", json_integer(was->number));
    return d;
}

static enum err update(struct req *r, bool partial)
{
    int64_t number;
    struct ticket t, out;
    enum err e = load_ticket(r, &number, &t);
    if (e)
        return e;
    struct ticket was = t; /* its scalars; the note (which read_ticket may free) apart */
    char *was_note = t.note ? strdup(t.note) : NULL;
    if (t.note && !was_note) {
        store_ticket_clear(&t);
        return ERR_NOMEM;
    }
    e = read_ticket(r, &t, partial);
    struct event ev;
    if (!e) {
        const char *kind = t.resolved == was.resolved ? "ticket.updated"
                           : t.resolved               ? "ticket.resolved"
                                                      : "ticket.reopened";
        api_event_make(r, &ev, kind, t.number, 0, ticket_changes(&was, was_note, &t));
        e = store_ticket_update(r->app->store, number, &t, &ev, &out);
    }
    free(was_note);
    if (e) {
        e = store_error(r, e, &t);
        store_ticket_clear(&t);
        return e;
    }
    store_ticket_clear(&t);
    return reply_ticket(r, 200, &out);
}

enum err api_ticket_put(struct req *r)
{
    return update(r, false);
}

enum err api_ticket_patch(struct req *r)
{
    return update(r, true);
}

enum err api_ticket_delete(struct req *r)
{
    int64_t number;
    if (!path_number(r, &number))
        return ERR_NOT_FOUND;
    struct path_list paths = {0};
    struct event ev;
    api_event_make(r, &ev, "ticket.deleted", number, 0, NULL);
    enum err e = store_ticket_delete(r->app->store, number, &ev, &paths);
    if (e)
        return e;
    api_delete_blobs(r, &paths);
    log_info("ticket %lld deleted by %s", (long long)number, r->principal.user.username);
    return req_reply_empty(r, 204);
}

enum err api_ticket_new_token(struct req *r)
{
    int64_t number, attempts = r->app->cfg.upload_attempts;
    if (!path_number(r, &number))
        return ERR_NOT_FOUND;
    if (int_field(r, "attempts", 0, LIMIT_ATTEMPTS, &attempts) < 0)
        return ERR_VALIDATION;
    char token[TOKEN_LEN + 1];
    token_uuid4(token);
    int64_t ttl = r->app->cfg.upload_token_ttl;
    struct ticket out;
    struct event ev;
    api_event_make(r, &ev, "ticket.token_regenerated", number, 0,
                   json_pack("{s:I}", "attempts", (json_int_t)attempts));
    enum err e = store_ticket_set_token(r->app->store, number, token, (int)attempts,
                                        ttl ? r->now + ttl * 1000000 : 0, &ev, &out);
    if (e)
        return e;
    log_info("ticket %lld: new upload token issued by %s", (long long)number,
             r->principal.user.username);
    return reply_ticket(r, 200, &out);
}
