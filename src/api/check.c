/* check.c - /api/v1/check/: health, storage and upload-token look-ups. */
#include <string.h>

#include "api/api.h"
#include "auth/token.h"
#include "core/log.h"
#include "core/util.h"

/*
 * The database and the archive directory, each "ok" or not, for
 * orchestrators: "status" is "ok" (the reference's field), "degraded" (200:
 * the archives' file system is below STORAGE_MIN_FREE, so uploads are
 * refused with 507, but everything else works) or "error" (503: the
 * database does not answer or the archives' file system cannot be measured).
 */
enum err api_check_health(struct req *r)
{
    bool db = store_ping(r->app->store) == ERR_OK;
    struct blob_space sp;
    const char *storage = "ok";
    if (blob_space(r->app->blobs, &sp) != ERR_OK)
        storage = "down";
    else if (sp.free < (uint64_t)r->app->cfg.storage_min_free)
        storage = "low";
    const char *status = !db || strcmp(storage, "down") == 0 ? "error"
                         : strcmp(storage, "ok") != 0        ? "degraded"
                                                             : "ok";
    json_t *body = json_pack("{s:s,s:s,s:s}", "status", status, "database", db ? "ok" : "down",
                             "storage", storage);
    if (body && !db)
        json_object_set_new(body, "detail", json_string("The database does not answer."));
    else if (body && strcmp(storage, "down") == 0)
        json_object_set_new(body, "detail", json_string("The archive directory cannot be read."));
    return req_reply_json(r, strcmp(status, "error") == 0 ? 503 : 200, body);
}

/* The archives' file system: the same measure the uploads' 507 is decided by. */
enum err api_check_storage(struct req *r)
{
    struct blob_space sp;
    if (blob_space(r->app->blobs, &sp) != ERR_OK)
        return req_reply_json(r, 200,
                              json_pack("{s:i,s:i,s:i,s:f,s:s}", "total", 0, "used", 0, "free", 0,
                                        "used_percent", 0.0, "status", "error"));
    /* as df does: used / (used + available) */
    double pct = sp.used + sp.free ? (double)sp.used * 100.0 / (double)(sp.used + sp.free) : 0.0;
    pct = (double)(int64_t)(pct * 10.0 + 0.5) / 10.0;
    return req_reply_json(r, 200,
                          json_pack("{s:I,s:I,s:I,s:f,s:s}", "total", (json_int_t)sp.total, "used",
                                    (json_int_t)sp.used, "free", (json_int_t)sp.free,
                                    "used_percent", pct, "status", "mount"));
}

/* 303 to the customer's upload page, where a token can be typed in; the body
 * says how to ask the API. */
enum err api_check_token_hint(struct req *r)
{
    req_add_header(r, "Location", "/upload/");
    return req_reply_json(
        r, 303,
        json_pack("{s:s}", "detail",
                  "Put the upload token in the URL: /api/v1/check/token/<token>/"));
}

/* The token's state by the rules an upload would meet now (store_token_classify),
 * for the upload page: it tells the customer before a byte is sent. */
static const char *const token_states[] = {
    [TOKEN_OK] = "open",           [TOKEN_UNKNOWN] = "unknown", /* not answered: a miss is 404 */
    [TOKEN_RESOLVED] = "resolved", [TOKEN_USED_UP] = "used_up", [TOKEN_EXPIRED] = "expired",
};

/* The reference's {token, attempts, resolved} plus expires_at, the ticket's
 * number and the state; nothing of any other ticket. */
enum err api_check_token(struct req *r)
{
    enum err ge = auth_token_guard(r);
    if (ge)
        return ge;
    const char *token = req_param(r, 0);
    struct ticket t;
    enum err e =
        token_is_uuid(token) ? store_ticket_get_by_token(r->app->store, token, &t) : ERR_NOT_FOUND;
    if (e == ERR_NOT_FOUND)
        auth_token_miss(r, "look-up");
    if (e)
        return e;
    json_t *j =
        json_pack("{s:s,s:i,s:b,s:o,s:I,s:s}", "token", t.token, "attempts", t.attempts, "resolved",
                  t.resolved, "expires_at", api_time(t.expires_at), "ticket", (json_int_t)t.number,
                  "state", token_states[store_token_classify(&t, r->now)]);
    store_ticket_clear(&t);
    return req_reply_json(r, 200, j);
}
