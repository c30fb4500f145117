/* auth.c - POST /api/v1/auth/token/{,refresh/,verify/}: JWTs as simplejwt issues them. */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "api/events.h"
#include "auth/jwt.h"
#include "auth/password.h"
#include "auth/totp.h"
#include "core/log.h"
#include "core/util.h"

static enum err issue_pair(struct req *r, int64_t user_id, unsigned claims)
{
    char access[JWT_MAX], refresh[JWT_MAX];
    int64_t now = r->now / 1000000;
    enum err e =
        jwt_issue(r->app->secret_key, JWT_REFRESH, user_id, now, claims, refresh, sizeof(refresh));
    if (!e)
        e = jwt_issue(r->app->secret_key, JWT_ACCESS, user_id, now, claims, access, sizeof(access));
    if (e)
        return e;
    return req_reply_json(r, 200, json_pack("{s:s,s:s}", "refresh", refresh, "access", access));
}

/* Counts the attempt now, before the password is checked, against the client
 * address and the username: parallel guesses cannot all pass the check before
 * any failure is counted. ERR_RATE_LIMITED (with Retry-After) when either is
 * used up; then nothing is counted. */
enum err api_login_take(struct req *r, const char *username)
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

/* The second factor sent with a login: a TOTP code (field "otp") taken once
 * (a replay within its window is refused), or an unused backup code (field
 * "backup_code"), used up here. ERR_OK, ERR_BAD_CREDENTIALS (counted by the
 * caller's api_login_take), ERR_VALIDATION, or a store error. */
static enum err second_factor(struct req *r, const struct user *u, const char *otp,
                              const char *backup)
{
    r->extra_code = "otp_invalid";
    if (*otp) {
        int64_t counter;
        enum err e = totp_check(u->totp_secret, otp, r->now / 1000000, &counter);
        if (e == ERR_BAD_CREDENTIALS)
            return req_fail(r, e, "Invalid one-time code.");
        if (!e && (e = store_user_totp_accept(r->app->store, u->id, counter)) == ERR_NOT_FOUND)
            return req_fail(r, ERR_BAD_CREDENTIALS, "This one-time code was used already.");
        return e;
    }
    char hash[BACKUP_HASH_LEN + 1];
    if (!backup_code_hash(backup, hash))
        return req_fail(r, ERR_BAD_CREDENTIALS, "Invalid backup code.");
    enum err e = store_backup_code_use(r->app->store, u->id, hash, r->now);
    if (e == ERR_NOT_FOUND)
        return req_fail(r, ERR_BAD_CREDENTIALS, "Invalid or used backup code.");
    if (!e)
        log_info("user \"%s\" used a backup code", u->username);
    return e;
}

enum err api_login(struct req *r, struct user *ret, bool *ret_second_factor, bool *ret_code_missing)
{
    char username[UTF8_BYTES(LIMIT_USERNAME) + 1];
    char password[LIMIT_PASSWORD + 1];
    char otp[LIMIT_OTP + 1] = "", backup[LIMIT_OTP + 1] = "";
    int u = api_field_required(r, "username", username, sizeof(username), LIMIT_USERNAME);
    int p = api_field_required(r, "password", password, sizeof(password), LIMIT_PASSWORD);
    int o = api_field_string(r, "otp", otp, sizeof(otp), LIMIT_OTP, true);
    int b = api_field_string(r, "backup_code", backup, sizeof(backup), LIMIT_OTP, true);
    if (u < 0 || p < 0 || o < 0 || b < 0) {
        sodium_memzero(password, sizeof(password));
        return ERR_VALIDATION;
    }
    enum err e = api_login_take(r, username);
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
    bool code_given = *otp || *backup;
    if (code_given && !user.totp_enabled)
        return req_invalid(r, *otp ? "otp" : "backup_code",
                           "Two-factor authentication is not enabled for this account.");
    if (code_given && (e = second_factor(r, &user, otp, backup))) {
        if (e == ERR_BAD_CREDENTIALS)
            log_warn("failed second factor for user \"%s\" from %s", username, r->client_ip);
        return e;
    }
    r->extra_code = NULL;
    /* This attempt's counts go back; the user's earlier failures are cleared
     * only by a login that passed every factor the user has, so that correct
     * passwords do not buy more guesses at the one-time code. */
    ratelimit_untake(r->app->login_rl, r->client_ip);
    ratelimit_untake(r->app->login_user_rl, user.username);
    if (!user.totp_enabled || code_given)
        ratelimit_reset(r->app->login_user_rl, user.username);
    *ret = user;
    *ret_second_factor = user.totp_enabled && code_given;
    *ret_code_missing = user.totp_enabled && !code_given;
    return ERR_OK;
}

/* A login that passed: its time on the user and its "auth.login" event in
 * one write (a failure of either is logged; the login itself stands). */
void api_login_record(struct req *r, const struct user *u, const char *via, bool second_factor)
{
    struct event ev;
    api_event_make(r, &ev, "auth.login", 0, 0,
                   json_pack("{s:s,s:b}", "via", via, "second_factor", second_factor));
    str_copy(ev.actor_type, sizeof(ev.actor_type), "user"); /* who logged in */
    str_copy(ev.actor, sizeof(ev.actor), u->username);
    enum err e = store_user_touch_login(r->app->store, u->id, r->now, &ev);
    if (e)
        log_warn("login of \"%s\": last login and its event not recorded: %s", u->username,
                 err_info(e)->name);
    log_info("user \"%s\" logged in (%s) from %s%s", u->username, via, r->client_ip,
             second_factor ? " with a second factor" : "");
}

/*
 * POST /api/v1/auth/token/ on a worker thread (ROUTE_WORKER: the argon2
 * verify takes ~0.1-0.3 s), with the login rules of api_login. With a valid
 * "otp" (or "backup_code") the tokens carry the "2fa" claim that archive
 * downloads need under REQUIRE_2FA; without one, password-only tokens as
 * before, for existing scripts.
 */
enum err api_auth_token(struct req *r)
{
    struct user user;
    bool sf = false, missing = false;
    enum err e = api_login(r, &user, &sf, &missing);
    if (e)
        return e;
    api_login_record(r, &user, "token", sf);
    return issue_pair(r, user.id, sf ? JWT_CLAIM_2FA : 0);
}

static enum err token_field(struct req *r, const char *name, char *out, size_t outlen)
{
    int rc = api_field_required(r, name, out, outlen, JWT_MAX - 1);
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
    unsigned claims = 0;
    struct user u;
    r->extra_code = "token_not_valid";
    if (jwt_verify(r->app->secret_key, tok, JWT_REFRESH, r->now / 1000000, &uid, &claims) != ERR_OK)
        return ERR_JWT_INVALID;
    e = store_user_get_by_id(r->app->store, uid, &u);
    if (e == ERR_NOT_FOUND || (e == ERR_OK && !u.is_active))
        return ERR_JWT_INVALID;
    if (e)
        return e;
    r->extra_code = NULL;
    char access[JWT_MAX];
    /* a refresh token that passed 2FA gives access tokens that did */
    e = jwt_issue(r->app->secret_key, JWT_ACCESS, uid, r->now / 1000000, claims & JWT_CLAIM_2FA,
                  access, sizeof(access));
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
    if (jwt_verify(r->app->secret_key, tok, JWT_ANY, r->now / 1000000, &uid, NULL) != ERR_OK) {
        r->extra_code = "token_not_valid";
        return ERR_JWT_INVALID;
    }
    return req_reply_json(r, 200, json_object());
}
