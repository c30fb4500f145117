/* archives.c - archive uploads (multipart and raw PUT), listing, moving, deleting. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/api.h"
#include "api/events.h"
#include "api/query.h"
#include "api/upload.h"
#include "auth/token.h"
#include "http/form.h"
#include "core/log.h"
#include "core/util.h"

/* Buffer of the multipart parser. */
#define POST_BUFFER 65536

json_t *api_archive_json(struct req *r, const struct archive *a)
{
    char base[512], url[1024];
    req_base_url(r, base, sizeof(base));
    snprintf(url, sizeof(url), "%s/api/v1/archives/%lld/download/", base, (long long)a->id);
    json_t *o = json_object();
    if (!o)
        return NULL;
    json_object_set_new(o, "id", json_integer(a->id));
    json_object_set_new(o, "file", json_string(url));
    json_object_set_new(o, "ticket", json_integer(a->ticket_number));
    json_object_set_new(o, "time_create", api_time(a->time_create));
    json_object_set_new(o, "time_update", api_time(a->time_update));
    json_object_set_new(o, "name", json_string(a->name));
    json_object_set_new(o, "size", json_integer(a->size));
    json_object_set_new(o, "md5", json_string(a->md5));
    json_object_set_new(o, "sha256", json_string(a->sha256));
    return o;
}

static void upload_state_free(void *p)
{
    upload_clear(p);
    free(p);
}

/* --- PUT /upload/{token}/{filename}: the raw body is the file --- */

static enum err put_begin(struct req *r)
{
    struct upload *u = calloc(1, sizeof(*u));
    if (!u)
        return ERR_NOMEM;
    r->state = u;
    r->state_free = upload_state_free;
    u->raw = true; /* put_data hands over the body as it came */
    enum err e = upload_open(r, u, r->content_length);
    if (e)
        return e;
    const char *fname = r->nparams > 1 ? req_param(r, 1) : "";
    upload_name(u, fname, strlen(fname));
    return ERR_OK;
}

static enum err put_data(struct req *r, const char *buf, size_t len)
{
    return upload_write(r, r->state, buf, len);
}

/* The whole archive, as for staff. */
static enum err put_reply(struct req *r)
{
    struct upload *u = r->state;
    return req_reply_json(r, 201, api_archive_json(r, &u->out));
}

static enum err put_end(struct req *r)
{
    struct upload *u = r->state;
    if (upload_size(u) == 0)
        return req_fail(r, ERR_BAD_REQUEST, "The submitted file is empty.");
    return upload_end(r, u, put_reply);
}

static void put_abort(struct req *r)
{
    upload_abort(r, r->state);
}

const struct stream_ops api_upload_put_ops = {put_begin, put_data, put_end, put_abort};

/* --- POST /api/v1/archives/: multipart/form-data, field "file" --- */

struct form_upload {
    struct upload up; /* first: upload_state_free frees it as an upload */
    struct req *r;
    struct req_form *form;
    bool saw_file;
    bool file_closed;
    char field_ticket[24]; /* value of the "ticket" form field (staff) */
    size_t field_ticket_len;
};

static void form_upload_free(void *p)
{
    struct form_upload *f = p;
    if (f)
        req_form_free(f->form);
    upload_state_free(p);
}

/* One piece of a form part: the "file" part streams into the upload, a staff
 * upload's "ticket" field names the target, other fields are ignored. */
static enum err form_part(void *ctx, const char *name, const char *filename, const char *data,
                          uint64_t off, size_t size)
{
    struct form_upload *f = ctx;
    struct req *r = f->r;
    struct upload *u = &f->up;
    if (strcmp(name, "file") == 0) {
        if (f->file_closed || (f->saw_file && off == 0))
            return req_invalid(r, "file", "Only one file per request.");
        if (!f->saw_file) {
            f->saw_file = true;
            const char *fn = filename ? filename : "";
            upload_name(u, fn, strlen(fn));
            if (!u->by_token) {
                int64_t number;
                if (!parse_int64(f->field_ticket, &number))
                    return req_invalid(r, "ticket", "This field is required before the file.");
                enum err e = upload_target(r, u, number);
                if (e)
                    return e;
            }
        }
        return upload_write(r, u, data, size);
    }
    if (f->saw_file)
        f->file_closed = true;
    if (strcmp(name, "ticket") == 0 && !u->by_token && size > 0) {
        if (f->field_ticket_len + size >= sizeof(f->field_ticket))
            return req_invalid(r, "ticket", "A valid integer is required.");
        memcpy(f->field_ticket + f->field_ticket_len, data, size);
        f->field_ticket_len += size;
        f->field_ticket[f->field_ticket_len] = 0;
    }
    return ERR_OK;
}

static enum err post_begin(struct req *r)
{
    struct form_upload *f = calloc(1, sizeof(*f));
    if (!f)
        return ERR_NOMEM;
    f->r = r;
    r->state = f;
    r->state_free = form_upload_free;
    enum err e = upload_open(r, &f->up, r->content_length);
    if (e)
        return e;
    if (req_form_new(r, POST_BUFFER, form_part, f, &f->form) != ERR_OK)
        return req_fail(r, ERR_BAD_REQUEST, "Malformed multipart/form-data request.");
    return ERR_OK;
}

static enum err post_data(struct req *r, const char *buf, size_t len)
{
    struct form_upload *f = r->state;
    enum err e = req_form_feed(f->form, buf, len);
    if (e == ERR_BAD_REQUEST && !r->detail[0])
        return req_fail(r, ERR_BAD_REQUEST, "Malformed multipart/form-data body.");
    return e;
}

/* The reference's multipart form answers a token upload with {file, ticket};
 * staff get the whole archive. */
static enum err post_reply(struct req *r)
{
    struct form_upload *f = r->state;
    json_t *full = api_archive_json(r, &f->up.out);
    if (!full || req_staff(r))
        return req_reply_json(r, 201, full);
    json_t *body = json_pack("{s:O,s:O}", "file", json_object_get(full, "file"), "ticket",
                             json_object_get(full, "ticket"));
    json_decref(full);
    return req_reply_json(r, 201, body);
}

static enum err post_end(struct req *r)
{
    struct form_upload *f = r->state;
    enum err e = req_form_end(TAKE_PTR(f->form));
    if (e == ERR_BAD_REQUEST && !r->detail[0])
        return req_fail(r, ERR_BAD_REQUEST, "Malformed multipart/form-data body.");
    if (e)
        return e;
    if (!f->saw_file)
        return req_invalid(r, "file", "No file was submitted.");
    if (upload_size(&f->up) == 0)
        return req_invalid(r, "file", "The submitted file is empty.");
    return upload_end(r, &f->up, post_reply);
}

static void post_abort(struct req *r)
{
    struct form_upload *f = r->state;
    upload_abort(r, f ? &f->up : NULL);
}

const struct stream_ops api_upload_post_ops = {post_begin, post_data, post_end, post_abort};

/* --- staff routes --- */

static bool path_id(struct req *r, int64_t *id)
{
    return parse_int64(req_param(r, 0), id) && *id > 0;
}

enum err api_archive_load(struct req *r, struct archive *ret)
{
    int64_t id;
    if (!path_id(r, &id))
        return ERR_NOT_FOUND;
    return store_archive_get(r->app->store, id, ret);
}

enum err api_archive_list(struct req *r)
{
    struct archive_filter f;
    bool paginated;
    int64_t limit, offset;
    json_t *errs = NULL;
    /* both parsed, so that every bad parameter is reported at once */
    (void)query_archive_filter(api_query_get, r, &f, &errs);
    (void)query_page(api_query_get, r, &paginated, &limit, &offset, &errs);
    if (errs) {
        r->field_errors = errs;
        return ERR_VALIDATION;
    }
    if (paginated) {
        f.limit = limit;
        f.offset = offset;
    }
    struct archive *items = NULL;
    size_t n = 0;
    int64_t total = 0;
    enum err e = store_archive_list(r->app->store, &f, &items, &n, &total);
    if (e)
        return e;
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < n; i++)
        json_array_append_new(arr, api_archive_json(r, &items[i]));
    free(items);
    return api_reply_list(r, arr, paginated, total, limit, offset);
}

enum err api_archive_get(struct req *r)
{
    struct archive a;
    enum err e = api_archive_load(r, &a);
    if (e)
        return e;
    return req_reply_json(r, 200, api_archive_json(r, &a));
}

/* PATCH {"ticket": N}: moves the archive, bytes included, to another ticket. */
enum err api_archive_patch(struct req *r)
{
    struct archive a;
    enum err e = api_archive_load(r, &a);
    if (e)
        return e;
    int64_t id = a.id;
    json_t *tv = json_object_get(r->json, "ticket");
    if (!tv)
        return req_reply_json(r, 200, api_archive_json(r, &a));
    int64_t number;
    if (!(json_is_integer(tv) && (number = json_integer_value(tv)) > 0) &&
        !(json_is_string(tv) && parse_int64(json_string_value(tv), &number) && number > 0))
        return req_invalid(r, "ticket", "A valid integer is required.");
    if (number == a.ticket_number)
        return req_reply_json(r, 200, api_archive_json(r, &a));
    struct ticket t;
    e = store_ticket_get(r->app->store, number, &t);
    if (e == ERR_NOT_FOUND)
        return req_invalid(r, "ticket", "Ticket %lld does not exist.", (long long)number);
    if (e)
        return e;
    store_ticket_clear(&t);
    char key[512];
    e = blob_move(r->app->blobs, a.path, number, key, sizeof(key));
    if (e)
        return e;
    struct archive out;
    const char *slash = strrchr(key, '/');
    struct event ev;
    api_event_make(r, &ev, "archive.moved", number, id,
                   json_pack("{s:s,s:I,s:I}", "name", a.name, "from", (json_int_t)a.ticket_number,
                             "to", (json_int_t)number));
    e = store_archive_move(r->app->store, id, number, key, slash ? slash + 1 : key, &ev, &out);
    if (e) {
        /* put the bytes back where the row says they are */
        char back[512];
        if (blob_move(r->app->blobs, key, a.ticket_number, back, sizeof(back)) != ERR_OK ||
            strcmp(back, a.path) != 0)
            log_error("archive %lld: bytes at %s after a failed move (row says %s)", (long long)id,
                      key, a.path);
        return e;
    }
    log_info("archive %lld moved from ticket %lld to %lld by %s", (long long)id,
             (long long)a.ticket_number, (long long)number, r->principal.user.username);
    return req_reply_json(r, 200, api_archive_json(r, &out));
}

/* Removes the bytes of rows already deleted. A failure leaves a file without a
 * row, which `cleanup` reports and removes; never a row without a file. */
void api_delete_blobs(struct req *r, struct path_list *paths)
{
    for (size_t i = 0; i < paths->n; i++)
        if (blob_delete(r->app->blobs, paths->paths[i]) != ERR_OK)
            log_error("could not delete %s; `logs-collector cleanup` will", paths->paths[i]);
    store_path_list_free(paths);
}

enum err api_archive_delete(struct req *r)
{
    struct archive a;
    char path[512];
    enum err e = api_archive_load(r, &a);
    if (e)
        return e;
    int64_t id = a.id;
    struct event ev;
    api_event_make(r, &ev, "archive.deleted", a.ticket_number, id,
                   json_pack("{s:s,s:I}", "name", a.name, "size", (json_int_t)a.size));
    e = store_archive_delete(r->app->store, id, &ev, path);
    if (e)
        return e;
    if (blob_delete(r->app->blobs, path) != ERR_OK)
        log_error("could not delete %s; `logs-collector cleanup` will", path);
    log_info("archive %lld deleted by %s", (long long)id, r->principal.user.username);
    return req_reply_empty(r, 204);
}
