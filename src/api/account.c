/* account.c - /api/v1/account/: the caller's own profile, password and second factor. */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "api/events.h"
#include "auth/password.h"
#include "auth/rules.h"
#include "auth/session.h"
#include "auth/totp.h"
#include "core/log.h"
#include "core/util.h"
#include "web/qr.h"

#define TOTP_ISSUER "logs-collector"

/* The caller's row as it is now (the principal's copy was read at the start). */
static enum err me(struct req *r, struct user *ret)
{
    return store_user_get_by_id(r->app->store, r->principal.user.id, ret);
}

enum err api_account_get(struct req *r)
{
    struct user u;
    enum err e = me(r, &u);
    return e ? e : req_reply_json(r, 200, api_user_json(&u));
}

/* PATCH /api/v1/account/: name, e-mail ("" clears it) and upload_mail (mail
 * me when an upload to a ticket I created finishes); nothing else is the
 * user's to change here. */
enum err api_account_patch(struct req *r)
{
    struct user u;
    enum err e = me(r, &u);
    if (e)
        return e;
    const struct user was = u;
    (void)api_read_profile(r, &u);
    (void)api_field_bool(r, "upload_mail", &u.upload_mail);
    if (r->field_errors)
        return ERR_VALIDATION;
    struct event ev;
    api_event_make(r, &ev, "user.updated", 0, 0, api_user_changes(&was, &u));
    e = store_user_update(r->app->store, u.id, &u, &ev);
    return e ? e : req_reply_json(r, 200, api_user_json(&u));
}

/* Checks field `name` (the current password) against u, counted like a login
 * (api_login_take): a stolen session cannot guess it at will. */
static enum err check_password(struct req *r, const struct user *u, const char *name)
{
    char pw[LIMIT_PASSWORD + 1];
    if (api_field_required(r, name, pw, sizeof(pw), LIMIT_PASSWORD) < 0)
        return ERR_VALIDATION;
    enum err e = api_login_take(r, u->username);
    bool ok = !e && password_verify(pw, u->password_hash);
    sodium_memzero(pw, sizeof(pw));
    if (e)
        return e;
    if (!ok) {
        log_warn("wrong password from user \"%s\" (%s) at %s", u->username, name, r->client_ip);
        return req_invalid(r, name, "Your password was entered incorrectly.");
    }
    ratelimit_untake(r->app->login_rl, r->client_ip);
    ratelimit_untake(r->app->login_user_rl, u->username);
    return ERR_OK;
}

/* After a change of the user's rights or secrets: every other session of the
 * user ends, this one (if the request came with one) gets a new id with
 * second_factor; its CSRF token into csrf ("" without a session). */
static enum err renew_sessions(struct req *r, int64_t user_id, bool second_factor,
                               char csrf[CSRF_TOKEN_LEN + 1])
{
    const char *keep = r->principal.via == VIA_SESSION ? r->principal.session_hash : NULL;
    enum err e = store_session_delete_user(r->app->store, user_id, keep);
    return e ? e : api_session_renew(r, second_factor, csrf);
}

/* Answers {"csrf_token": ...} (null outside a session) with extra members of obj (taken). */
static enum err reply_with_csrf(struct req *r, int status, json_t *obj, const char *csrf)
{
    if (!obj)
        return ERR_NOMEM;
    json_object_set_new(obj, "csrf_token", *csrf ? json_string(csrf) : json_null());
    return req_reply_json(r, status, obj);
}

/* POST /api/v1/account/password/ (worker): current_password, new_password.
 * Every other session of the user ends; this one gets a new id. */
enum err api_account_password(struct req *r)
{
    struct user u;
    enum err e = me(r, &u);
    if (e)
        return e;
    char pw[LIMIT_PASSWORD + 1], why[160], hash[PASSWORD_HASH_MAX];
    int n = api_field_required(r, "new_password", pw, sizeof(pw), LIMIT_PASSWORD);
    if (n > 0 && !auth_password_valid(pw, why, sizeof(why)))
        req_invalid(r, "new_password", "%s", why);
    e = r->field_errors ? ERR_VALIDATION : check_password(r, &u, "current_password");
    if (!e)
        e = password_hash(pw, hash, sizeof(hash));
    sodium_memzero(pw, sizeof(pw));
    struct event ev;
    api_event_make(r, &ev, "user.password_changed", 0, 0,
                   json_pack("{s:s}", "username", u.username));
    if (!e)
        e = store_user_set_password(r->app->store, u.username, hash, &ev);
    char csrf[CSRF_TOKEN_LEN + 1] = "";
    if (!e)
        e = renew_sessions(r, u.id, r->principal.second_factor, csrf);
    if (e)
        return e;
    char path[1200];
    if (app_forget_initial_password(r->app, u.username, path, sizeof(path)))
        log_info("removed %s", path);
    log_info("user \"%s\" changed their password; their other sessions ended", u.username);
    return reply_with_csrf(r, 200, json_object(), csrf);
}

/* POST /api/v1/account/2fa/setup/: a new secret, pending until confirmed;
 * {secret, otpauth_url, qr_svg} (the QR code as an SVG document). */
enum err api_account_2fa_setup(struct req *r)
{
    struct user u;
    enum err e = me(r, &u);
    if (e)
        return e;
    if (u.totp_enabled)
        return req_fail(r, ERR_BAD_REQUEST,
                        "Two-factor authentication is already on; turn it off first.");
    char secret[TOTP_SECRET_B32 + 1], uri[512];
    e = totp_new_secret(secret);
    if (!e && !totp_uri(TOTP_ISSUER, u.username, secret, uri, sizeof(uri)))
        e = ERR_INTERNAL;
    if (!e)
        e = store_user_totp_begin(r->app->store, u.id, secret);
    char *svg = NULL;
    if (!e)
        e = qr_svg(uri, &svg);
    if (e) {
        sodium_memzero(secret, sizeof(secret));
        return e;
    }
    json_t *j = json_pack("{s:s,s:s,s:s}", "secret", secret, "otpauth_url", uri, "qr_svg", svg);
    free(svg);
    sodium_memzero(secret, sizeof(secret));
    return req_reply_json(r, 200, j);
}

/* New backup codes for user id: the codes (shown once) into a JSON array,
 * their hashes into the store. */
static enum err new_backup_codes(struct req *r, const struct user *u, int64_t counter, bool enable,
                                 json_t **ret)
{
    char codes[LIMIT_BACKUP_CODES][BACKUP_CODE_LEN + 1];
    char hashes[LIMIT_BACKUP_CODES][BACKUP_HASH_LEN + 1];
    json_t *arr = json_array();
    if (!arr)
        return ERR_NOMEM;
    for (int i = 0; i < LIMIT_BACKUP_CODES; i++) {
        backup_code_new(codes[i]);
        (void)backup_code_hash(codes[i], hashes[i]);
        json_array_append_new(arr, json_string(codes[i]));
    }
    struct event ev;
    api_event_make(r, &ev, "auth.2fa_changed", 0, 0,
                   json_pack("{s:s,s:s}", "username", u->username, "change",
                             enable ? "enabled" : "backup_codes_renewed"));
    const char(*h)[65] = (const char(*)[65])hashes;
    enum err e =
        enable ? store_user_totp_enable(r->app->store, u->id, counter, h, LIMIT_BACKUP_CODES, &ev)
               : store_backup_codes_set(r->app->store, u->id, h, LIMIT_BACKUP_CODES, &ev);
    sodium_memzero(codes, sizeof(codes));
    if (e) {
        json_decref(arr);
        return e;
    }
    *ret = arr;
    return ERR_OK;
}

/* POST /api/v1/account/2fa/confirm/: {code} from the app proves the pending
 * secret; 2FA is on, 10 backup codes are issued (shown this once) and the
 * session, now with a second factor, gets a new id. */
enum err api_account_2fa_confirm(struct req *r)
{
    struct user u;
    enum err e = me(r, &u);
    if (e)
        return e;
    char code[LIMIT_OTP + 1];
    if (api_field_required(r, "code", code, sizeof(code), LIMIT_OTP) < 0)
        return ERR_VALIDATION;
    if (u.totp_enabled || !u.totp_secret[0])
        return req_fail(r, ERR_BAD_REQUEST, "Start the set-up first (no pending secret).");
    int64_t counter;
    if (totp_check(u.totp_secret, code, r->now / 1000000, &counter) != ERR_OK)
        return req_invalid(r, "code", "Invalid code: check the time on your phone and try again.");
    json_t *codes = NULL;
    e = new_backup_codes(r, &u, counter, true, &codes);
    char csrf[CSRF_TOKEN_LEN + 1] = "";
    if (!e)
        e = renew_sessions(r, u.id, true, csrf);
    if (e) {
        json_decref(codes);
        return e;
    }
    log_info("user \"%s\" turned on two-factor authentication", u.username);
    return reply_with_csrf(r, 200, json_pack("{s:o}", "backup_codes", codes), csrf);
}

/* POST /api/v1/account/2fa/backup-codes/ (worker): {password}; ten new codes
 * replace the old ones. */
enum err api_account_2fa_codes(struct req *r)
{
    struct user u;
    enum err e = me(r, &u);
    if (!e && !u.totp_enabled)
        e = req_fail(r, ERR_BAD_REQUEST, "Two-factor authentication is off.");
    if (!e)
        e = check_password(r, &u, "password");
    json_t *codes = NULL;
    if (!e)
        e = new_backup_codes(r, &u, 0, false, &codes);
    if (e)
        return e;
    log_info("user \"%s\" made new backup codes", u.username);
    return req_reply_json(r, 200, json_pack("{s:o}", "backup_codes", codes));
}

/* POST /api/v1/account/2fa/disable/ (worker): {password}; 2FA off, backup
 * codes gone, other sessions ended, this one without a second factor (and
 * sent to enrolment again while REQUIRE_2FA holds). */
enum err api_account_2fa_disable(struct req *r)
{
    struct user u;
    enum err e = me(r, &u);
    if (!e)
        e = check_password(r, &u, "password");
    struct event ev;
    api_event_make(r, &ev, "auth.2fa_changed", 0, 0,
                   json_pack("{s:s,s:s}", "username", u.username, "change", "disabled"));
    if (!e)
        e = store_user_totp_disable(r->app->store, u.id, &ev);
    char csrf[CSRF_TOKEN_LEN + 1] = "";
    if (!e)
        e = renew_sessions(r, u.id, false, csrf);
    if (e)
        return e;
    log_info("user \"%s\" turned off two-factor authentication", u.username);
    return reply_with_csrf(r, 200, json_object(), csrf);
}
