/* users.c - /api/v1/users/ (administrators): staff accounts, their rights and 2FA. */
#include <sodium.h>
#include <string.h>

#include "api/api.h"
#include "api/events.h"
#include "auth/password.h"
#include "auth/rules.h"
#include "core/log.h"
#include "core/util.h"
#include "jobs/mail.h"

json_t *api_user_json(const struct user *u)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    json_object_set_new(o, "id", json_integer(u->id));
    json_object_set_new(o, "username", json_string(u->username));
    json_object_set_new(o, "name", json_string(u->name));
    json_object_set_new(o, "email", json_string(u->email));
    json_object_set_new(o, "is_admin", json_boolean(u->is_admin));
    json_object_set_new(o, "is_active", json_boolean(u->is_active));
    json_object_set_new(o, "totp_enabled", json_boolean(u->totp_enabled));
    json_object_set_new(o, "upload_mail", json_boolean(u->upload_mail));
    json_object_set_new(o, "created", api_time(u->created));
    json_object_set_new(o, "last_login", api_time(u->last_login));
    return o;
}

json_t *api_user_changes(const struct user *was, const struct user *now)
{
    json_t *changed = json_array();
    if (strcmp(was->name, now->name) != 0)
        json_array_append_new(changed, json_string("name"));
    if (strcmp(was->email, now->email) != 0)
        json_array_append_new(changed, json_string("email"));
    if (was->is_admin != now->is_admin)
        json_array_append_new(changed, json_string("is_admin"));
    if (was->is_active != now->is_active)
        json_array_append_new(changed, json_string("is_active"));
    if (was->upload_mail != now->upload_mail)
        json_array_append_new(changed, json_string("upload_mail"));
    return json_pack("{s:s,s:o}", "username", now->username, "changed", changed);
}

int api_read_profile(struct req *r, struct user *u)
{
    int n = api_field_string(r, "name", u->name, sizeof(u->name), LIMIT_USERNAME, true);
    int m = api_field_string(r, "email", u->email, sizeof(u->email), LIMIT_EMAIL, true);
    if (m > 0 && u->email[0] && !mail_address_ok(u->email))
        return req_invalid(r, "email", "Enter a valid email address."), -1;
    return n < 0 || m < 0 ? -1 : 0;
}

/* The user named by the request's {id}. */
static enum err load_user(struct req *r, struct user *ret)
{
    int64_t id;
    if (!parse_int64(req_param(r, 0), &id) || id <= 0)
        return ERR_NOT_FOUND;
    return store_user_get_by_id(r->app->store, id, ret);
}

enum err api_user_list(struct req *r)
{
    struct user *items = NULL;
    size_t n = 0;
    enum err e = store_user_list(r->app->store, &items, &n);
    if (e)
        return e;
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < n; i++)
        json_array_append_new(arr, api_user_json(&items[i]));
    sodium_memzero(items, n * sizeof(*items)); /* password hashes, TOTP secrets */
    free(items);
    return req_reply_json(r, 200, arr);
}

/* POST /api/v1/users/ (worker: argon2): username and password by the rules
 * of src/auth/rules.c, name, email, is_admin. */
enum err api_user_create(struct req *r)
{
    struct user u = {.is_active = true};
    char password[LIMIT_PASSWORD + 1] = "", why[160];
    int a = api_field_required(r, "username", u.username, sizeof(u.username), LIMIT_USERNAME);
    int b = api_field_required(r, "password", password, sizeof(password), LIMIT_PASSWORD);
    if (a > 0 && !auth_username_valid(u.username, why, sizeof(why)))
        req_invalid(r, "username", "%s", why);
    if (b > 0 && !auth_password_valid(password, why, sizeof(why)))
        req_invalid(r, "password", "%s", why);
    (void)api_read_profile(r, &u);
    (void)api_field_bool(r, "is_admin", &u.is_admin);
    if (r->field_errors) {
        sodium_memzero(password, sizeof(password));
        return ERR_VALIDATION;
    }
    enum err e = password_hash(password, u.password_hash, sizeof(u.password_hash));
    sodium_memzero(password, sizeof(password));
    int64_t id;
    struct event ev;
    api_event_make(r, &ev, "user.created", 0, 0,
                   json_pack("{s:s,s:b}", "username", u.username, "is_admin", u.is_admin));
    if (!e)
        e = store_user_create(r->app->store, &u, &ev, &id);
    if (e == ERR_EXISTS)
        return req_invalid(r, "username", "A user with that username already exists.");
    if (!e)
        e = store_user_get_by_id(r->app->store, id, &u);
    if (e)
        return e;
    log_info("user \"%s\" created by %s%s", u.username, r->principal.user.username,
             u.is_admin ? " (administrator)" : "");
    return req_reply_json(r, 201, api_user_json(&u));
}

enum err api_user_get(struct req *r)
{
    struct user u;
    enum err e = load_user(r, &u);
    return e ? e : req_reply_json(r, 200, api_user_json(&u));
}

/* PATCH /api/v1/users/{id}/: name, email, is_admin, is_active. Administrators
 * cannot take their own rights or account away (someone must stay able to
 * give them back). A change of rights ends the user's sessions: they log in
 * again with what they now may do. */
enum err api_user_patch(struct req *r)
{
    struct user u;
    enum err e = load_user(r, &u);
    if (e)
        return e;
    const struct user was = u;
    bool was_admin = u.is_admin, was_active = u.is_active;
    (void)api_read_profile(r, &u);
    (void)api_field_bool(r, "is_admin", &u.is_admin);
    (void)api_field_bool(r, "is_active", &u.is_active);
    bool self = u.id == r->principal.user.id;
    if (self && !u.is_admin)
        req_invalid(r, "is_admin", "You cannot remove your own administrator rights.");
    if (self && !u.is_active)
        req_invalid(r, "is_active", "You cannot deactivate your own account.");
    if (r->field_errors)
        return ERR_VALIDATION;
    struct event ev;
    api_event_make(r, &ev, "user.updated", 0, 0, api_user_changes(&was, &u));
    e = store_user_update(r->app->store, u.id, &u, &ev);
    if (!e && (u.is_admin != was_admin || u.is_active != was_active))
        e = store_session_delete_user(r->app->store, u.id, NULL);
    if (e)
        return e;
    if (u.is_admin != was_admin || u.is_active != was_active)
        log_info("user \"%s\" %s%s by %s", u.username,
                 u.is_active != was_active ? (u.is_active ? "activated" : "deactivated") : "",
                 u.is_admin != was_admin ? (u.is_admin ? " made admin" : " no longer admin") : "",
                 r->principal.user.username);
    return req_reply_json(r, 200, api_user_json(&u));
}

/* DELETE /api/v1/users/{id}/2fa/: the user lost their device. 2FA off, backup
 * codes gone, sessions ended; they enrol again at their next login. */
enum err api_user_reset_2fa(struct req *r)
{
    struct user u;
    enum err e = load_user(r, &u);
    struct event ev;
    if (!e) {
        api_event_make(r, &ev, "auth.2fa_changed", 0, 0,
                       json_pack("{s:s,s:s}", "username", u.username, "change", "reset"));
        e = store_user_totp_disable(r->app->store, u.id, &ev);
    }
    if (!e)
        e = store_session_delete_user(r->app->store, u.id, NULL);
    if (e)
        return e;
    log_info("two-factor authentication of user \"%s\" reset by %s", u.username,
             r->principal.user.username);
    return req_reply_empty(r, 204);
}
