/* check.c - /api/v1/check/: health, storage and upload-token look-ups. */
#include <sys/statvfs.h>

#include "api/api.h"
#include "auth/token.h"
#include "core/log.h"
#include "core/util.h"

enum err api_check_health(struct req *r)
{
    enum err e = store_ping(r->app->store);
    if (e)
        return req_reply_json(
            r, 503,
            json_pack("{s:s,s:s}", "status", "error", "detail", "The database does not answer."));
    return req_reply_json(r, 200, json_pack("{s:s}", "status", "ok"));
}

enum err api_check_storage(struct req *r)
{
    struct statvfs st;
    if (statvfs(r->app->cfg.data_dir, &st) != 0) {
        log_error("statvfs %s failed", r->app->cfg.data_dir);
        return req_reply_json(r, 200,
                              json_pack("{s:i,s:i,s:i,s:f,s:s}", "total", 0, "used", 0, "free", 0,
                                        "used_percent", 0.0, "status", "error"));
    }
    uint64_t total = (uint64_t)st.f_blocks * st.f_frsize;
    uint64_t avail = (uint64_t)st.f_bavail * st.f_frsize;
    uint64_t used = total - (uint64_t)st.f_bfree * st.f_frsize;
    /* as df does: used / (used + available) */
    double pct = used + avail ? (double)used * 100.0 / (double)(used + avail) : 0.0;
    pct = (double)(int64_t)(pct * 10.0 + 0.5) / 10.0;
    return req_reply_json(r, 200,
                          json_pack("{s:I,s:I,s:I,s:f,s:s}", "total", (json_int_t)total, "used",
                                    (json_int_t)used, "free", (json_int_t)avail, "used_percent",
                                    pct, "status", "mount"));
}

enum err api_check_token_hint(struct req *r)
{
    return req_reply_json(
        r, 303,
        json_pack("{s:s}", "detail",
                  "Put the upload token in the URL: /api/v1/check/token/<token>/"));
}

enum err api_check_token(struct req *r)
{
    enum err ge = api_token_guard(r);
    if (ge)
        return ge;
    const char *token = req_param(r, 0);
    struct ticket t;
    enum err e =
        token_is_uuid(token) ? store_ticket_get_by_token(r->app->store, token, &t) : ERR_NOT_FOUND;
    if (e == ERR_NOT_FOUND)
        api_token_miss(r, "look-up");
    if (e)
        return e;
    json_t *j = json_pack("{s:s,s:i,s:b,s:o}", "token", t.token, "attempts", t.attempts, "resolved",
                          t.resolved, "expires_at", api_time(t.expires_at));
    store_ticket_clear(&t);
    return req_reply_json(r, 200, j);
}
