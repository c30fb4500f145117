/* principal.c - the principal stage: credentials -> one principal, refused as the route says. */
#include <string.h>
#include <strings.h>

#include "auth/jwt.h"
#include "auth/principal.h"
#include "auth/ratelimit.h"
#include "auth/session.h"
#include "auth/token.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/util.h"
#include "http/req.h"

void principal_clear(struct principal *p)
{
    store_ticket_clear(&p->ticket);
}

enum err auth_token_guard(struct req *r)
{
    int retry = 0;
    if (!ratelimit_blocked(r->app->token_rl, r->client_ip, r->now / 1000000, &retry))
        return ERR_OK;
    req_add_header(r, "Retry-After", "%d", retry);
    return req_fail(r, ERR_RATE_LIMITED, "Too many unknown tokens tried. Try again in %d seconds.",
                    retry);
}

void auth_token_miss(struct req *r, const char *what)
{
    ratelimit_hit(r->app->token_rl, r->client_ip, r->now / 1000000);
    log_info("unknown upload token (%s) from %s", what, r->client_ip);
}

enum err auth_check_upload_token(struct req *r, const char *token, struct ticket *ret)
{
    enum err e = auth_token_guard(r);
    if (e) {
        metrics_refusal(REFUSE_RATE_LIMITED);
        return e;
    }
    enum token_state st = TOKEN_UNKNOWN;
    struct ticket t = {0};
    if (token_is_uuid(token)) {
        e = store_token_check(r->app->store, token, r->now, &st, &t);
        if (e)
            return e;
    }
    switch (st) {
    case TOKEN_OK:
        *ret = t;
        return ERR_OK;
    case TOKEN_UNKNOWN:
        metrics_refusal(REFUSE_UNKNOWN_TOKEN);
        auth_token_miss(r, "upload");
        e = req_fail(r, ERR_FORBIDDEN, "token %.36s is not valid", token);
        break;
    case TOKEN_RESOLVED:
        metrics_refusal(REFUSE_RESOLVED);
        e = req_fail(r, ERR_LOCKED, "ticket of token %.36s already resolved", token);
        break;
    case TOKEN_USED_UP:
        metrics_refusal(REFUSE_USED_UP);
        e = req_fail(r, ERR_LOCKED, "token %.36s has no upload attempts left", token);
        break;
    case TOKEN_EXPIRED:
        metrics_refusal(REFUSE_EXPIRED);
        e = req_fail(r, ERR_LOCKED, "token %.36s expired", token);
        break;
    }
    store_ticket_clear(&t);
    return e;
}

/* A bearer JWT -> the staff user it names. ERR_OK without credentials. The
 * reference answers a bad token with "code": "token_not_valid" and a deleted
 * or deactivated user with "user_not_found". */
static enum err staff_from_jwt(struct req *r, struct principal *p)
{
    const char *h = req_header(r, "Authorization");
    if (!h)
        return ERR_OK;
    if (strncasecmp(h, "Bearer ", 7) != 0) {
        r->extra_code = "token_not_valid";
        return ERR_TOKEN_INVALID;
    }
    const char *tok = h + 7;
    while (*tok == ' ')
        tok++;
    int64_t uid;
    unsigned claims = 0;
    if (jwt_verify(r->app->secret_key, tok, JWT_ACCESS, r->now / 1000000, &uid, &claims) !=
        ERR_OK) {
        r->extra_code = "token_not_valid";
        return ERR_TOKEN_INVALID;
    }
    enum err e = store_user_get_by_id(r->app->store, uid, &p->user);
    if (e == ERR_NOT_FOUND || (e == ERR_OK && !p->user.is_active)) {
        r->extra_code = "user_not_found";
        return ERR_USER_NOT_FOUND;
    }
    if (e)
        return e;
    p->staff = true;
    p->via = VIA_JWT;
    p->second_factor = (claims & JWT_CLAIM_2FA) != 0;
    return ERR_OK;
}

/*
 * The session cookie -> the staff user of a live session. ERR_OK without
 * credentials: no cookie, an id of the wrong form, an unknown, expired (then
 * deleted) or deactivated user's session all leave the request anonymous, so
 * a staff route answers 401 and the console goes to its login page. The CSRF
 * token (header) and the Origin are judged here, refused later only where the
 * route asks for them. last_seen is written at most every LIMIT_SESSION_TOUCH
 * seconds.
 */
static enum err staff_from_session(struct req *r, struct principal *p)
{
    const char *id = req_cookie(r, SESSION_COOKIE);
    if (!id || !session_id_valid(id))
        return ERR_OK;
    char hash[SESSION_HASH_LEN + 1];
    session_hash(id, hash);
    struct session x;
    enum err e = store_session_get(r->app->store, hash, &x, &p->user);
    if (e == ERR_NOT_FOUND)
        return ERR_OK;
    if (e)
        return e;
    const struct config *c = &r->app->cfg;
    if (!session_alive(&x, r->now, c->session_lifetime * 1000000, c->session_idle * 1000000) ||
        !p->user.is_active) {
        (void)store_session_delete(r->app->store, hash);
        memset(&p->user, 0, sizeof(p->user));
        return ERR_OK;
    }
    if (r->now - x.last_seen >= (int64_t)LIMIT_SESSION_TOUCH * 1000000)
        (void)store_session_touch(r->app->store, hash, r->now);
    p->staff = true;
    p->via = VIA_SESSION;
    p->second_factor = x.second_factor;
    str_copy(p->session_hash, sizeof(p->session_hash), hash);
    session_csrf_token(r->app->secret_key, id, p->csrf_token);
    p->csrf_ok = session_csrf_equal(p->csrf_token, req_header(r, CSRF_HEADER)) &&
                 session_origin_ok(req_header(r, "Origin"), req_header(r, "Referer"), req_https(r),
                                   req_header(r, "Host"), &c->csrf_trusted_origins);
    return ERR_OK;
}

/* The upload token the route takes: its {token} segment, else the header. */
static const char *route_token(struct req *r)
{
    const char *tp = strstr(r->route->pattern, "{token}");
    if (!tp)
        return req_header(r, "Upload-Token");
    size_t idx = 0;
    for (const char *q = r->route->pattern; q < tp; q++)
        idx += *q == '{';
    return req_param(r, idx);
}

static bool unsafe_method(enum method m)
{
    return !(m & (M_GET | M_HEAD | M_OPTIONS));
}

enum err auth_resolve(struct req *r)
{
    struct principal *p = &r->principal;
    enum route_auth need = r->route->auth;
    if (need == AUTH_NONE)
        return ERR_OK;
    /* A bearer JWT wins; the session cookie counts only without one. */
    enum err e = staff_from_jwt(r, p);
    if (!e && !p->staff && !req_header(r, "Authorization"))
        e = staff_from_session(r, p);
    if (e)
        return e;
    if (p->staff)
        p->kind = PRINCIPAL_STAFF;
    /* Unsafe requests through a session must carry the CSRF token and come
     * from our own (or a trusted) origin wherever the route asks for it. */
    if (p->via == VIA_SESSION && unsafe_method(r->method) && (r->route->flags & ROUTE_CSRF) &&
        !p->csrf_ok)
        return req_fail(r, ERR_FORBIDDEN, "CSRF token missing or incorrect.");

    switch (need) {
    case AUTH_NONE:
    case AUTH_OPTIONAL:
        return ERR_OK;
    case AUTH_UPLOAD_TOKEN:
    case AUTH_TOKEN_OR_STAFF: {
        const char *token = route_token(r);
        if (!token || !*token) {
            if (need == AUTH_TOKEN_OR_STAFF && p->staff)
                return ERR_OK;
            metrics_refusal(REFUSE_NO_TOKEN);
            return req_fail(r, ERR_UNAUTHENTICATED, "Header Upload-Token is required");
        }
        e = auth_check_upload_token(r, token, &p->ticket);
        if (e)
            return e;
        str_copy(p->token, sizeof(p->token), token);
        p->kind = PRINCIPAL_UPLOAD_TOKEN;
        return ERR_OK;
    }
    case AUTH_STAFF:
    case AUTH_STAFF_2FA:
    case AUTH_ADMIN:
        if (!p->staff)
            return ERR_UNAUTHENTICATED;
        /* A session of a user without 2FA is sent to enrolment first. */
        if (p->via == VIA_SESSION && r->app->cfg.require_2fa && !p->second_factor &&
            !(r->route->flags & ROUTE_BEFORE_2FA))
            return req_fail(r, ERR_FORBIDDEN,
                            "Set up two-factor authentication first (REQUIRE_2FA).");
        if (need == AUTH_STAFF_2FA && r->app->cfg.require_2fa && !p->second_factor)
            return req_fail(r, ERR_FORBIDDEN,
                            "This needs a second factor: log in with your one-time code.");
        if (need == AUTH_ADMIN && !p->user.is_admin)
            return ERR_FORBIDDEN;
        return ERR_OK;
    }
    return ERR_INTERNAL;
}
