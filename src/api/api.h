/* api.h - the JSON API handlers (one .c per resource) and the helpers they share. */
#pragma once

#include <jansson.h>

#include "http/req.h"

/* auth.c */
enum err api_auth_token(struct req *r);
enum err api_auth_refresh(struct req *r);
enum err api_auth_verify(struct req *r);

/* platforms.c */
enum err api_platform_list(struct req *r);
enum err api_platform_create(struct req *r);
enum err api_platform_get(struct req *r);
enum err api_platform_put(struct req *r);
enum err api_platform_patch(struct req *r);
enum err api_platform_delete(struct req *r);

/* tickets.c */
enum err api_ticket_list(struct req *r);
enum err api_ticket_create(struct req *r);
enum err api_ticket_get(struct req *r);
enum err api_ticket_put(struct req *r);
enum err api_ticket_patch(struct req *r);
enum err api_ticket_delete(struct req *r);
enum err api_ticket_new_token(struct req *r);

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

/* profile.c */
enum err api_profile_get(struct req *r);
enum err api_profile_patch(struct req *r);

/* metrics.c */
enum err api_metrics(struct req *r);

/* common.c */

/* A time as the API renders it (RFC 3339 in TZ), or JSON null for 0. New reference. */
json_t *api_time(int64_t t);

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
