/* api.h - the JSON API handlers (one .c per resource) and the helpers they share. */
#pragma once

#include <jansson.h>

#include "auth/session.h"
#include "http/req.h"

/* auth.c */
enum err api_auth_token(struct req *r);
enum err api_auth_refresh(struct req *r);
enum err api_auth_verify(struct req *r);
/*
 * The one login check of the JWT and the session logins: fields username,
 * password and optionally "otp" (a TOTP code) or "backup_code". Counted
 * against the login rate limit first (api_login_take); the password hash is
 * verified even for unknown users. A code for a user without 2FA is a field
 * error; a wrong or replayed one is ERR_BAD_CREDENTIALS (counted). On ERR_OK
 * *ret is the user, *ret_second_factor whether a code passed and
 * *ret_code_missing whether the user has 2FA but sent no code. Blocks (argon2):
 * ROUTE_WORKER rows only.
 */
void api_login_record(struct req *r, const struct user *u, const char *via, bool second_factor);
enum err api_login(struct req *r, struct user *ret, bool *ret_second_factor,
                   bool *ret_code_missing);
/* Counts a password attempt against the client address and the username
 * before it is checked: ERR_RATE_LIMITED (with Retry-After) when either is
 * used up. The caller gives the counts back on success (ratelimit_untake). */
enum err api_login_take(struct req *r, const char *username);

/* session.c */
enum err api_session_login(struct req *r);
enum err api_session_get(struct req *r);
enum err api_session_logout(struct req *r);
/* Gives the request's session (when it came with one) a new id with
 * second_factor: at each privilege change. The new cookie goes out with the
 * answer and its CSRF token into csrf ("" without a session). */
enum err api_session_renew(struct req *r, bool second_factor, char csrf[CSRF_TOKEN_LEN + 1]);

/* account.c */
enum err api_account_get(struct req *r);
enum err api_account_patch(struct req *r);
enum err api_account_password(struct req *r);
enum err api_account_2fa_setup(struct req *r);
enum err api_account_2fa_confirm(struct req *r);
enum err api_account_2fa_codes(struct req *r);
enum err api_account_2fa_disable(struct req *r);

/* users.c */
enum err api_user_list(struct req *r);
enum err api_user_create(struct req *r);
enum err api_user_get(struct req *r);
enum err api_user_patch(struct req *r);
enum err api_user_reset_2fa(struct req *r);
/* A user as the API renders it (never the password hash or TOTP secret). */
json_t *api_user_json(const struct user *u);
/* Reads the optional fields name and email of r->json into u: 0, or -1
 * after recording field errors. */
int api_read_profile(struct req *r, struct user *u);

/* markdown.c */
enum err api_markdown(struct req *r);
/* The note rendered as HTML (src/web/markdown.c), or JSON null when it cannot be. */
json_t *api_note_html(const char *note);

/* platforms.c */
enum err api_platform_list(struct req *r);
enum err api_platform_create(struct req *r);
enum err api_platform_get(struct req *r);
enum err api_platform_put(struct req *r);
enum err api_platform_patch(struct req *r);
enum err api_platform_delete(struct req *r);
enum err api_platform_stats(struct req *r);

/* tickets.c */
enum err api_ticket_list(struct req *r);
enum err api_ticket_create(struct req *r);
enum err api_ticket_get(struct req *r);
enum err api_ticket_put(struct req *r);
enum err api_ticket_patch(struct req *r);
enum err api_ticket_delete(struct req *r);
enum err api_ticket_new_token(struct req *r);
enum err api_ticket_note(struct req *r);

/* routes.c: the route table */
extern const struct route_table api_routes;

/* archives.c, download.c */
extern const struct stream_ops api_upload_put_ops;
extern const struct stream_ops api_upload_post_ops;
enum err api_archive_list(struct req *r);
enum err api_archive_get(struct req *r);
enum err api_archive_patch(struct req *r);
enum err api_archive_delete(struct req *r);
enum err api_archive_download(struct req *r);
/* An archive as the API renders it (the staff view). NULL on out of memory. */
json_t *api_archive_json(struct req *r, const struct archive *a);
/* The archive named by the request's {id}: ERR_NOT_FOUND for a bad id. */
enum err api_archive_load(struct req *r, struct archive *ret);
/* Deletes the bytes of archives whose rows a cascade removed; frees paths. */
void api_delete_blobs(struct req *r, struct path_list *paths);

/* check.c */
enum err api_check_health(struct req *r);
enum err api_check_storage(struct req *r);
enum err api_check_token_hint(struct req *r);
enum err api_check_token(struct req *r);

/* schema.c */
enum err api_schema(struct req *r);

/* events.c (the helpers handlers record events with: api/events.h) */
enum err api_event_list(struct req *r);

/* webhooks.c */
enum err api_webhook_list(struct req *r);
enum err api_webhook_create(struct req *r);
enum err api_webhook_get(struct req *r);
enum err api_webhook_patch(struct req *r);
enum err api_webhook_delete(struct req *r);
enum err api_webhook_deliveries(struct req *r);
enum err api_webhook_test(struct req *r);

/* metrics.c */
enum err api_metrics(struct req *r);

/* common.c */

/* A time as the API renders it (RFC 3339 in TZ), or JSON null for 0. New reference. */
json_t *api_time(int64_t t);

/* A boolean field as Django REST framework reads one (true/false, 1/0,
 * "true"/"false", "1"/"0", ...): 1 read into *out, 0 absent, -1 error
 * recorded ("Must be a valid boolean."). */
int api_field_bool(struct req *r, const char *name, bool *out);
/* The changes from `was` to `now` that the user.updated event tells
 * ({"username", "changed": [field names]}). */
json_t *api_user_changes(const struct user *was, const struct user *now);

/* As api_field_string, for a required, non-blank field ("This field is
 * required." when absent). */
int api_field_required(struct req *r, const char *name, char *out, size_t outlen, size_t maxlen);

/* Reads the optional string field `name` of r->json into out (size outlen).
 * Returns 1 when present and valid, 0 when absent, -1 after recording a field
 * error (wrong type, empty when !allow_empty, more than maxlen characters, or
 * more bytes than out holds). */
int api_field_string(struct req *r, const char *name, char *out, size_t outlen, size_t maxlen,
                     bool allow_empty);

/* Answers a list: a plain array, or the paginated envelope {count, next,
 * previous, results} when the request gave limit/offset. Takes `items`. */
enum err api_reply_list(struct req *r, json_t *items, bool paginated, int64_t total, int64_t limit,
                        int64_t offset);

/* The items of a comma-separated list ("a,b"; "" and ",a,b," too) as a JSON
 * array of strings; NULL on out of memory. */
json_t *api_comma_list(const char *list);

/* query_get_fn over a request's query arguments (ctx is the struct req). */
const char *api_query_get(void *ctx, const char *name);
