/* session.c - /api/v1/auth/session/: the console's login, who-am-I and logout. */
#include <sodium.h>
#include <string.h>

#include "api/api.h"
#include "auth/session.h"
#include "core/log.h"
#include "core/util.h"

/* Set-Cookie for session id (NULL: one that removes the cookie): HttpOnly,
 * SameSite=Strict, Secure when the request came over HTTPS. */
static void set_cookie(struct req *r, const char *id)
{
    req_add_header(r, "Set-Cookie", "%s=%s; Path=/; HttpOnly; SameSite=Strict; Max-Age=%lld%s",
                   SESSION_COOKIE, id ? id : "", id ? (long long)r->app->cfg.session_lifetime : 0LL,
                   req_https(r) ? "; Secure" : "");
}

/* A new session for user u in place of the request's own (if any): its id
 * goes out in the cookie, its CSRF token into csrf. */
static enum err new_session(struct req *r, int64_t user_id, bool second_factor,
                            char csrf[CSRF_TOKEN_LEN + 1])
{
    char id[SESSION_ID_LEN + 1];
    struct session x = {
        .user_id = user_id, .second_factor = second_factor, .created = r->now, .last_seen = r->now};
    session_new_id(id);
    session_hash(id, x.id_hash);
    const char *old = r->principal.via == VIA_SESSION ? r->principal.session_hash : NULL;
    char old_hash[SESSION_HASH_LEN + 1];
    const char *cookie = req_cookie(r, SESSION_COOKIE);
    if (!old && cookie && session_id_valid(cookie)) {
        session_hash(cookie, old_hash); /* a stale cookie sent to the login */
        old = old_hash;
    }
    enum err e = store_session_rotate(r->app->store, old, &x);
    if (e) {
        sodium_memzero(id, sizeof(id));
        return e;
    }
    set_cookie(r, id);
    session_csrf_token(r->app->secret_key, id, csrf);
    if (r->principal.via == VIA_SESSION) {
        str_copy(r->principal.session_hash, sizeof(r->principal.session_hash), x.id_hash);
        str_copy(r->principal.csrf_token, sizeof(r->principal.csrf_token), csrf);
        r->principal.second_factor = second_factor;
    }
    sodium_memzero(id, sizeof(id));
    return ERR_OK;
}

enum err api_session_renew(struct req *r, bool second_factor, char csrf[CSRF_TOKEN_LEN + 1])
{
    csrf[0] = 0;
    if (r->principal.via != VIA_SESSION)
        return ERR_OK;
    return new_session(r, r->principal.user.id, second_factor, csrf);
}

/* What the console needs to know about who is logged in. */
static enum err reply_session(struct req *r, int status, const struct user *u, bool sf,
                              const char *csrf)
{
    int64_t left = 0;
    enum err e = store_backup_codes_left(r->app->store, u->id, &left);
    if (e)
        return e;
    bool require = r->app->cfg.require_2fa;
    return req_reply_json(r, status,
                          json_pack("{s:o,s:b,s:o,s:b,s:b,s:I}", "user", api_user_json(u),
                                    "second_factor", sf, "csrf_token",
                                    csrf && *csrf ? json_string(csrf) : json_null(), "require_2fa",
                                    require, "must_enrol", require && !u->totp_enabled && !sf,
                                    "backup_codes_left", (json_int_t)left));
}

/*
 * POST /api/v1/auth/session/ (worker: argon2): username, password and, for a
 * user with 2FA, "otp" or "backup_code". The same checks and rate limit as
 * the JWT login (api_login). Without the code a 2FA user gets 401 with
 * "code": "otp_required" and no session. A success makes a new session (the
 * cookie's old one, if any, is gone) and purges expired ones.
 */
enum err api_session_login(struct req *r)
{
    const struct config *c = &r->app->cfg;
    const char *origin = req_header(r, "Origin");
    if (origin && !session_origin_ok(origin, NULL, req_https(r), req_header(r, "Host"),
                                     &c->csrf_trusted_origins))
        return req_fail(r, ERR_FORBIDDEN, "Origin checking failed - %.100s does not match.",
                        origin);
    struct user u;
    bool sf = false, missing = false;
    enum err e = api_login(r, &u, &sf, &missing);
    if (e)
        return e;
    if (missing) {
        r->extra_code = "otp_required";
        return req_fail(r, ERR_BAD_CREDENTIALS,
                        "Enter the code from your authenticator app (or a backup code).");
    }
    (void)store_session_purge(r->app->store, r->now - c->session_lifetime * 1000000,
                              r->now - c->session_idle * 1000000);
    char csrf[CSRF_TOKEN_LEN + 1];
    e = new_session(r, u.id, sf, csrf);
    if (e)
        return e;
    api_login_record(r, &u, "session", sf);
    return reply_session(r, 200, &u, sf, csrf);
}

/* GET /api/v1/auth/session/: the caller (session or JWT) and its CSRF token. */
enum err api_session_get(struct req *r)
{
    const struct principal *p = &r->principal;
    return reply_session(r, 200, &p->user, p->second_factor,
                         p->via == VIA_SESSION ? p->csrf_token : NULL);
}

/* DELETE /api/v1/auth/session/: ends the session (if any) and clears the cookie. */
enum err api_session_logout(struct req *r)
{
    if (r->principal.via == VIA_SESSION) {
        enum err e = store_session_delete(r->app->store, r->principal.session_hash);
        if (e && e != ERR_NOT_FOUND)
            return e;
        log_info("user \"%s\" logged out", r->principal.user.username);
    }
    set_cookie(r, NULL);
    return req_reply_empty(r, 204);
}
