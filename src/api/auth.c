/* auth.c - POST /api/v1/auth/token/{,refresh/,verify/}: JWTs as simplejwt issues them. */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "api/events.h"
#include "auth/jwt.h"
#include "auth/password.h"
#include "core/log.h"
#include "core/util.h"

/* Reads a required string field; records "required"/"blank" errors. */
static int required_string(struct req *r, const char *name, char *out, size_t outlen, size_t maxlen)
{
    int rc = api_field_string(r, name, out, outlen, maxlen, false);
    if (rc == 0) {
        req_invalid(r, name, "This field is required.");
        return -1;
    }
    return rc;
}

static enum err issue_pair(struct req *r, int64_t user_id)
{
    char access[JWT_MAX], refresh[JWT_MAX];
    int64_t now = r->now / 1000000;
    enum err e = jwt_issue(r->app->secret_key, JWT_REFRESH, user_id, now, refresh, sizeof(refresh));
    if (!e)
        e = jwt_issue(r->app->secret_key, JWT_ACCESS, user_id, now, access, sizeof(access));
    if (e)
        return e;
    return req_reply_json(r, 200, json_pack("{s:s,s:s}", "refresh", refresh, "access", access));
}

/* Counts the attempt now, before the password is checked, against the client
 * address and the username: parallel guesses cannot all pass the check before
 * any failure is counted. ERR_RATE_LIMITED (with Retry-After) when either is
 * used up; then nothing is counted. */
static enum err login_take(struct req *r, const char *username)
{
    int64_t now = r->now / 1000000;
    int retry = 0;
    const char *why = "this address";
    if (ratelimit_take(r->app->login_rl, r->client_ip, now, &retry)) {
        if (ratelimit_take(r->app->login_user_rl, username, now, &retry))
            return ERR_OK;
        ratelimit_untake(r->app->login_rl, r->client_ip);
        why = "this user";
    }
    req_add_header(r, "Retry-After", "%d", retry);
    log_warn("login refused for user \"%s\" from %s: too many failures for %s", username,
             r->client_ip, why);
    api_event(r, "auth.login_failed", 0, 0,
              json_pack("{s:s,s:s}", "username", username, "reason", "rate_limited"));
    return req_fail(r, ERR_RATE_LIMITED, "Too many failed login attempts. Try again in %d seconds.",
                    retry);
}

/*
 * POST /api/v1/auth/token/ on a worker thread (ROUTE_WORKER: the argon2
 * verify takes ~0.1-0.3 s). The attempt is counted against the address and
 * the username when it starts (login_take); a failure leaves both counts, a
 * success gives the address its attempt back and clears that username's
 * failures only, so one good password does not buy guesses at other accounts.
 */
enum err api_auth_token(struct req *r)
{
    char username[UTF8_BYTES(LIMIT_USERNAME) + 1];
    char password[LIMIT_PASSWORD + 1];
    int u = required_string(r, "username", username, sizeof(username), LIMIT_USERNAME);
    int p = required_string(r, "password", password, sizeof(password), LIMIT_PASSWORD);
    if (u < 0 || p < 0) {
        sodium_memzero(password, sizeof(password));
        return ERR_VALIDATION;
    }
    enum err e = login_take(r, username);
    struct user user;
    if (!e) {
        e = store_user_get(r->app->store, username, &user);
        if (e == ERR_NOT_FOUND)
            e = ERR_BAD_CREDENTIALS;
    }
    /* the hash is verified even for an unknown user, so time tells nothing */
    bool ok = e != ERR_RATE_LIMITED &&
              password_verify(password, e == ERR_OK ? user.password_hash : NULL) && e == ERR_OK &&
              user.is_active;
    sodium_memzero(password, sizeof(password));
    if (e == ERR_RATE_LIMITED || (e && e != ERR_BAD_CREDENTIALS))
        return e;
    if (!ok) {
        log_warn("failed login for user \"%s\" from %s", username, r->client_ip);
        api_event(r, "auth.login_failed", 0, 0,
                  json_pack("{s:s,s:s}", "username", username, "reason",
                            e == ERR_OK && !user.is_active ? "inactive" : "bad_credentials"));
        return ERR_BAD_CREDENTIALS;
    }
    ratelimit_untake(r->app->login_rl, r->client_ip);
    ratelimit_reset(r->app->login_user_rl, user.username);
    struct event ev;
    api_event_make(r, &ev, "auth.login", 0, 0, json_pack("{s:s}", "via", "password"));
    str_copy(ev.actor_type, sizeof(ev.actor_type), "user"); /* who logged in */
    str_copy(ev.actor, sizeof(ev.actor), user.username);
    enum err te = store_user_touch_login(r->app->store, user.id, r->now, &ev);
    if (te)
        log_warn("login of \"%s\": last login and its event not recorded: %s", user.username,
                 err_info(te)->name);
    log_info("user \"%s\" logged in from %s", user.username, r->client_ip);
    return issue_pair(r, user.id);
}

static enum err token_field(struct req *r, const char *name, char *out, size_t outlen)
{
    int rc = required_string(r, name, out, outlen, JWT_MAX - 1);
    if (rc < 0) {
        /* an over-long token is simply invalid, not a field error */
        json_t *v = json_object_get(r->json, name);
        if (v && json_is_string(v) && json_string_length(v) >= JWT_MAX) {
            json_decref(r->field_errors);
            r->field_errors = NULL;
            r->extra_code = "token_not_valid";
            return ERR_JWT_INVALID;
        }
        return ERR_VALIDATION;
    }
    return ERR_OK;
}

enum err api_auth_refresh(struct req *r)
{
    char tok[JWT_MAX];
    enum err e = token_field(r, "refresh", tok, sizeof(tok));
    if (e)
        return e;
    int64_t uid;
    struct user u;
    r->extra_code = "token_not_valid";
    if (jwt_verify(r->app->secret_key, tok, JWT_REFRESH, r->now / 1000000, &uid) != ERR_OK)
        return ERR_JWT_INVALID;
    e = store_user_get_by_id(r->app->store, uid, &u);
    if (e == ERR_NOT_FOUND || (e == ERR_OK && !u.is_active))
        return ERR_JWT_INVALID;
    if (e)
        return e;
    r->extra_code = NULL;
    char access[JWT_MAX];
    e = jwt_issue(r->app->secret_key, JWT_ACCESS, uid, r->now / 1000000, access, sizeof(access));
    if (e)
        return e;
    return req_reply_json(r, 200, json_pack("{s:s}", "access", access));
}

enum err api_auth_verify(struct req *r)
{
    char tok[JWT_MAX];
    enum err e = token_field(r, "token", tok, sizeof(tok));
    if (e)
        return e;
    int64_t uid;
    if (jwt_verify(r->app->secret_key, tok, JWT_ANY, r->now / 1000000, &uid) != ERR_OK) {
        r->extra_code = "token_not_valid";
        return ERR_JWT_INVALID;
    }
    return req_reply_json(r, 200, json_object());
}
