/* check.c - /api/v1/check/: health, storage and upload-token look-ups. */
#include <pthread.h>
#include <string.h>

#include "api/api.h"
#include "auth/token.h"
#include "core/json.h"
#include "core/log.h"
#include "core/util.h"

/* How long the health check's storage state is reused. */
#define HEALTH_STORAGE_TTL_US 1000000

enum storage_state { STORAGE_OK, STORAGE_LOW, STORAGE_DOWN };

/*
 * The archives' file system against STORAGE_MIN_FREE, measured at most once
 * per HEALTH_STORAGE_TTL_US: orchestrators and load balancers poll the health
 * check many times a second over many connections, on the polling threads,
 * and a statvfs per answer cost more than the rest of it. One atomic word
 * holds the state and the monotonic time it was measured ((us << 2) | state);
 * threads that find it stale at the same moment each measure, harmlessly.
 * Uploads never use it: their 507 is decided by a fresh measure.
 */
static enum storage_state storage_state(struct req *r)
{
    int64_t now = r->start_mono;
    int64_t c = atomic_load_explicit(&r->app->health_storage, memory_order_relaxed);
    if (c && now - (c >> 2) < HEALTH_STORAGE_TTL_US)
        return (enum storage_state)(c & 3);
    struct blob_space sp;
    enum storage_state st = STORAGE_OK;
    if (blob_space(r->app->blobs, &sp) != ERR_OK)
        st = STORAGE_DOWN;
    else if (sp.free < (uint64_t)r->app->cfg.storage_min_free)
        st = STORAGE_LOW;
    atomic_store_explicit(&r->app->health_storage, now << 2 | st, memory_order_relaxed);
    return st;
}

/* The health check's body for a database state and a storage state. */
static json_t *health_json(bool db, enum storage_state st)
{
    static const char *const storage_names[] = {
        [STORAGE_OK] = "ok", [STORAGE_LOW] = "low", [STORAGE_DOWN] = "down"};
    const char *status = !db || st == STORAGE_DOWN ? "error" : st != STORAGE_OK ? "degraded" : "ok";
    json_t *body = json_pack("{s:s,s:s,s:s}", "status", status, "database", db ? "ok" : "down",
                             "storage", storage_names[st]);
    if (body && !db)
        json_object_set_new(body, "detail", json_string("The database does not answer."));
    else if (body && st == STORAGE_DOWN)
        json_object_set_new(body, "detail", json_string("The archive directory cannot be read."));
    return body;
}

/* The six possible answers, serialized once (health_json, then the same
 * dump as req_reply_json) and sent as they are: a health check polled many
 * times a second needs no JSON built per request. A NULL body (out of memory
 * at the first health check) is built per request instead. Read-only after
 * health_once. */
static struct {
    char *body;
    size_t len;
} health_bodies[2][STORAGE_DOWN + 1];
static pthread_once_t health_once = PTHREAD_ONCE_INIT;

static void health_bodies_build(void)
{
    for (int db = 0; db < 2; db++)
        for (int st = STORAGE_OK; st <= STORAGE_DOWN; st++) {
            json_t *j = health_json(db, (enum storage_state)st);
            if (j)
                health_bodies[db][st].body = json_dump_compact(j, &health_bodies[db][st].len);
            json_decref(j);
        }
}

/*
 * The database and the archive directory, each "ok" or not, for
 * orchestrators: "status" is "ok" (the reference's field), "degraded" (200:
 * the archives' file system is below STORAGE_MIN_FREE, so uploads are
 * refused with 507, but everything else works) or "error" (503: the
 * database does not answer or the archives' file system cannot be measured).
 * The storage state may be up to a second old (storage_state).
 */
enum err api_check_health(struct req *r)
{
    bool db = store_ping(r->app->store) == ERR_OK;
    enum storage_state st = storage_state(r);
    int status = !db || st == STORAGE_DOWN ? 503 : 200;
    pthread_once(&health_once, health_bodies_build);
    if (health_bodies[db][st].body)
        return req_reply_static(r, status, "application/json", health_bodies[db][st].body,
                                health_bodies[db][st].len);
    return req_reply_json(r, status, health_json(db, st));
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
