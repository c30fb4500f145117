/* archives.c - archive uploads (multipart and raw PUT), listing, moving, deleting. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/api.h"
#include "api/query.h"
#include "auth/token.h"
#include "core/log.h"
#include "core/util.h"

/* Free space is re-checked this often on uploads of unknown length. */
#define SPACE_CHECK_EVERY (64 * 1024 * 1024)
/* Buffer of libmicrohttpd's multipart parser. */
#define POST_BUFFER 65536

/*
 * One upload in flight. Lives in r->state from the first callback to the
 * completion callback. The blob temp file exists from the first file byte until
 * finish (renamed into place) or abort (removed).
 */
struct upload {
    bool staff;    /* authenticated staff without a token */
    bool consumed; /* an attempt was taken from the token */
    bool deferred; /* the start (attempt, temp file) went to a worker */
    char token[TOKEN_LEN + 1];
    struct ticket ticket;  /* the target ticket (note freed with state) */
    int64_t ticket_number; /* staff: from the "ticket" field */
    struct blob_upload *blob;
    char name[LIMIT_FILENAME + 1];
    int64_t next_space_check;
    struct MHD_PostProcessor *pp;
    bool saw_file;
    bool file_closed;
    enum err err; /* error raised inside the multipart iterator */
    char detail[256];
    char field_ticket[24]; /* value of the "ticket" form field */
    size_t field_ticket_len;
    struct archive out; /* the stored row, for the answer */
};

static void upload_free(void *p)
{
    struct upload *u = p;
    if (!u)
        return;
    if (u->pp)
        MHD_destroy_post_processor(u->pp);
    blob_upload_abort(u->blob);
    store_ticket_clear(&u->ticket);
    free(u);
}

static json_t *archive_json(struct req *r, const struct archive *a)
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

/* Maps a token state to the answer of DESIGN.md section 6. */
static enum err token_refusal(struct req *r, enum token_state st, const char *token)
{
    switch (st) {
    case TOKEN_OK:
        return ERR_OK;
    case TOKEN_UNKNOWN:
        api_token_miss(r, "upload");
        return req_fail(r, ERR_FORBIDDEN, "token %.36s is not valid", token);
    case TOKEN_RESOLVED:
        return req_fail(r, ERR_LOCKED, "ticket of token %.36s already resolved", token);
    case TOKEN_USED_UP:
        return req_fail(r, ERR_LOCKED, "token %.36s has no upload attempts left", token);
    case TOKEN_EXPIRED:
        return req_fail(r, ERR_LOCKED, "token %.36s expired", token);
    }
    return ERR_INTERNAL;
}

/* Checks that `declared` more bytes (-1: unknown) leave STORAGE_MIN_FREE. */
static enum err space_check(struct req *r, int64_t declared)
{
    uint64_t free_bytes;
    enum err e = blob_free_space(r->app->blobs, &free_bytes);
    if (e)
        return e;
    uint64_t need =
        (uint64_t)r->app->cfg.storage_min_free + (declared > 0 ? (uint64_t)declared : 0);
    if (free_bytes < need) {
        log_warn("upload from %s refused: %llu bytes free, %llu needed", r->client_ip,
                 (unsigned long long)free_bytes, (unsigned long long)need);
        return req_fail(r, ERR_NO_SPACE, "Not enough free space in storage for this upload.");
    }
    return ERR_OK;
}

/*
 * Everything known before the body: token rules in order (401, 403, 423), then
 * declared size (413) and free space (507). Consumes nothing.
 */
static enum err upload_begin(struct req *r, const char *token)
{
    struct upload *u = calloc(1, sizeof(*u));
    if (!u)
        return ERR_NOMEM;
    r->state = u;
    r->state_free = upload_free;

    if (token) {
        enum err ge = api_token_guard(r);
        if (ge)
            return ge;
        enum token_state st = TOKEN_UNKNOWN;
        enum err e = ERR_OK;
        if (token_is_uuid(token))
            e = store_token_check(r->app->store, token, now_us(), &st, &u->ticket);
        if (e)
            return e;
        e = token_refusal(r, st, token);
        if (e)
            return e;
        str_copy(u->token, sizeof(u->token), token);
    } else {
        u->staff = true;
    }

    int64_t declared = r->content_length;
    int64_t max = r->app->cfg.max_upload_size;
    if (max > 0 && declared > max)
        return req_fail(r, ERR_TOO_LARGE, "Upload is larger than the limit of %lld bytes.",
                        (long long)max);
    enum err e = space_check(r, declared);
    if (e)
        return e;
    u->next_space_check = SPACE_CHECK_EVERY;
    return ERR_OK;
}

/* The first byte of the file: the upload has started, take the attempt. */
static enum err upload_start(struct req *r, struct upload *u)
{
    if (!u->staff && !u->consumed) {
        enum token_state st;
        struct ticket t = {0};
        enum err e = store_token_consume(r->app->store, u->token, now_us(), &st, &t);
        if (e)
            return e;
        if (st != TOKEN_OK)
            return token_refusal(r, st, u->token);
        store_ticket_clear(&u->ticket);
        u->ticket = t;
        u->consumed = true;
    }
    if (u->blob)
        return ERR_OK;
    return blob_upload_begin(r->app->blobs, r->app->cfg.max_upload_size, &u->blob);
}

/* Worker thread, before the first body byte is taken (see req_defer with no
 * done callback): the database write of the attempt and the temp file's
 * creation, which can each wait on a busy disk, stay off the polling threads. */
static void start_work(struct req *r)
{
    struct upload *u = r->state;
    enum err e = upload_start(r, u);
    if (e)
        r->work_err = e;
}

/* Worker thread, multipart: only the temp file. The attempt is taken when the
 * first byte of the "file" part arrives, since a form without one must not
 * cost an attempt. */
static void prepare_work(struct req *r)
{
    struct upload *u = r->state;
    enum err e = blob_upload_begin(r->app->blobs, r->app->cfg.max_upload_size, &u->blob);
    if (e)
        r->work_err = e;
}

static enum err upload_write(struct req *r, struct upload *u, const char *data, size_t len)
{
    if (!u->blob || (!u->staff && !u->consumed)) {
        enum err e = upload_start(r, u);
        if (e)
            return e;
    }
    enum err e = blob_upload_write(u->blob, data, len);
    if (e == ERR_TOO_LARGE)
        return req_fail(r, ERR_TOO_LARGE, "Upload is larger than the limit of %lld bytes.",
                        (long long)r->app->cfg.max_upload_size);
    if (e == ERR_NO_SPACE)
        return req_fail(r, ERR_NO_SPACE, "The storage is full.");
    if (e)
        return e;
    if (blob_upload_size(u->blob) >= u->next_space_check) {
        u->next_space_check += SPACE_CHECK_EVERY;
        return space_check(r, 0);
    }
    return ERR_OK;
}

/* Worker thread: fsync + rename + row. On any failure nothing stays behind. */
static void finish_work(struct req *r)
{
    struct upload *u = r->state;
    struct archive a = {0};
    int64_t size = blob_upload_size(u->blob);
    char key[512], name[LIMIT_FILENAME + 1];
    enum err e = blob_upload_finish(TAKE_PTR(u->blob), u->ticket.number, u->name, key, sizeof(key),
                                    name, sizeof(name), a.md5, a.sha256);
    if (e) {
        r->work_err = e;
        return;
    }
    a.ticket_id = u->ticket.id;
    a.size = size;
    str_copy(a.path, sizeof(a.path), key);
    str_copy(a.name, sizeof(a.name), name);
    str_copy(a.uploader_ip, sizeof(a.uploader_ip), r->client_ip);
    const char *agent = req_header(r, "User-Agent");
    str_copy(a.uploader_agent, sizeof(a.uploader_agent), agent ? agent : "");
    e = store_archive_create(r->app->store, &a, &u->out);
    if (e) {
        (void)blob_delete(r->app->blobs, key);
        /* the bytes came but cannot be kept: the attempt was not really used */
        if (u->consumed && e != ERR_REFERENCE &&
            store_token_refund(r->app->store, u->token) == ERR_OK)
            log_info("upload to ticket %lld not stored: attempt given back",
                     (long long)u->ticket.number);
        r->work_err = e == ERR_REFERENCE ? ERR_NOT_FOUND : e;
        if (e == ERR_REFERENCE)
            str_copy(r->detail, sizeof(r->detail), "The ticket was deleted during the upload.");
    }
}

static enum err finish_done(struct req *r)
{
    struct upload *u = r->state;
    log_info("archive %lld \"%s\" (%lld bytes, sha256 %s) uploaded to ticket %lld from %s",
             (long long)u->out.id, u->out.name, (long long)u->out.size, u->out.sha256,
             (long long)u->out.ticket_number, r->client_ip);
    json_t *body;
    /* the reference's multipart form answers a token upload with {file, ticket};
     * PUT and staff uploads get the whole archive */
    if (u->staff || r->authed || r->route->method == M_PUT) {
        body = archive_json(r, &u->out);
    } else {
        json_t *full = archive_json(r, &u->out);
        body = full ? json_pack("{s:O,s:O}", "file", json_object_get(full, "file"), "ticket",
                                json_object_get(full, "ticket"))
                    : NULL;
        json_decref(full);
    }
    if (!body)
        return ERR_NOMEM;
    return req_reply_json(r, 201, body);
}

/* The body is complete: refuse an empty upload, else finish on a worker. */
static enum err upload_end(struct req *r, struct upload *u)
{
    if (!u->blob || blob_upload_size(u->blob) == 0) {
        if (r->route->method == M_POST)
            return req_invalid(r, "file", "The submitted file is empty.");
        return req_fail(r, ERR_BAD_REQUEST, "The submitted file is empty.");
    }
    return req_defer(r, finish_work, finish_done);
}

static void upload_abort(struct req *r)
{
    struct upload *u = r->state;
    if (!u || !u->blob)
        return;
    log_warn("upload to ticket %lld from %s ended after %lld bytes without completing "
             "(status %d); temp file removed",
             (long long)u->ticket.number, r->client_ip, (long long)blob_upload_size(u->blob),
             r->status);
    blob_upload_abort(TAKE_PTR(u->blob));
}

/* --- PUT /upload/{token}/{filename}: the raw body is the file --- */

static enum err put_begin(struct req *r)
{
    enum err e = upload_begin(r, req_param(r, 0));
    if (e)
        return e;
    struct upload *u = r->state;
    const char *fname = r->nparams > 1 ? req_param(r, 1) : "";
    blob_sanitize_name(fname, strlen(fname), "archive", u->name, sizeof(u->name));
    return ERR_OK;
}

static enum err put_data(struct req *r, const char *buf, size_t len)
{
    struct upload *u = r->state;
    if (!u->deferred) {
        u->deferred = true;
        return req_defer(r, start_work, NULL); /* these bytes come again afterwards */
    }
    return upload_write(r, u, buf, len);
}

static enum err put_end(struct req *r)
{
    return upload_end(r, r->state);
}

const struct stream_ops api_upload_put_ops = {put_begin, put_data, put_end, upload_abort};

/* --- POST /api/v1/archives/: multipart/form-data, field "file" --- */

static enum MHD_Result post_iter(void *cls, enum MHD_ValueKind kind, const char *key,
                                 const char *filename, const char *content_type,
                                 const char *transfer_encoding, const char *data, uint64_t off,
                                 size_t size)
{
    struct req *r = cls;
    struct upload *u = r->state;
    (void)kind;
    (void)content_type;
    (void)transfer_encoding;
    if (strcmp(key, "file") == 0) {
        if (u->file_closed || (u->saw_file && off == 0)) {
            u->err = ERR_VALIDATION;
            req_invalid(r, "file", "Only one file per request.");
            return MHD_NO;
        }
        if (!u->saw_file) {
            u->saw_file = true;
            const char *fn = filename ? filename : "";
            blob_sanitize_name(fn, strlen(fn), "archive", u->name, sizeof(u->name));
            if (u->staff) {
                enum err e = ERR_OK;
                int64_t number;
                if (!parse_int64(u->field_ticket, &number))
                    e = req_invalid(r, "ticket", "This field is required before the file.");
                else if ((e = store_ticket_get(r->app->store, number, &u->ticket)) == ERR_NOT_FOUND)
                    e = req_invalid(r, "ticket", "Invalid pk \"%lld\" - object does not exist.",
                                    (long long)number);
                if (e) {
                    u->err = e;
                    return MHD_NO;
                }
            }
        }
        if (size == 0)
            return MHD_YES;
        enum err e = upload_write(r, u, data, size);
        if (e) {
            u->err = e;
            return MHD_NO;
        }
        return MHD_YES;
    }
    if (u->saw_file)
        u->file_closed = true;
    if (strcmp(key, "ticket") == 0 && u->staff) {
        if (u->field_ticket_len + size >= sizeof(u->field_ticket)) {
            u->err = req_invalid(r, "ticket", "A valid integer is required.");
            return MHD_NO;
        }
        memcpy(u->field_ticket + u->field_ticket_len, data, size);
        u->field_ticket_len += size;
        u->field_ticket[u->field_ticket_len] = 0;
    }
    return MHD_YES; /* other fields are ignored */
}

static enum err post_begin(struct req *r)
{
    const char *token = req_header(r, "Upload-Token");
    if (!token && !r->authed)
        return req_fail(r, ERR_UNAUTHENTICATED, "Header Upload-Token is required");
    const char *ct = req_header(r, "Content-Type");
    if (!ct || strncasecmp(ct, "multipart/form-data", 19) != 0)
        return req_fail(r, ERR_MEDIA_TYPE, "Unsupported media type \"%s\" in request.",
                        ct ? ct : "");
    enum err e = upload_begin(r, token);
    if (e)
        return e;
    struct upload *u = r->state;
    u->pp = MHD_create_post_processor(r->conn, POST_BUFFER, post_iter, r);
    if (!u->pp)
        return req_fail(r, ERR_BAD_REQUEST, "Malformed multipart/form-data request.");
    return ERR_OK;
}

static enum err post_data(struct req *r, const char *buf, size_t len)
{
    struct upload *u = r->state;
    if (!u->deferred) {
        u->deferred = true;
        return req_defer(r, prepare_work, NULL); /* these bytes come again afterwards */
    }
    if (MHD_post_process(u->pp, buf, len) != MHD_YES)
        return u->err ? u->err
                      : req_fail(r, ERR_BAD_REQUEST, "Malformed multipart/form-data body.");
    return ERR_OK;
}

static enum err post_end(struct req *r)
{
    struct upload *u = r->state;
    enum MHD_Result ok = MHD_destroy_post_processor(u->pp);
    u->pp = NULL;
    if (u->err)
        return u->err;
    if (ok != MHD_YES)
        return req_fail(r, ERR_BAD_REQUEST, "Malformed multipart/form-data body.");
    if (!u->saw_file)
        return req_invalid(r, "file", "No file was submitted.");
    return upload_end(r, u);
}

const struct stream_ops api_upload_post_ops = {post_begin, post_data, post_end, upload_abort};

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
        json_array_append_new(arr, archive_json(r, &items[i]));
    free(items);
    return api_reply_list(r, arr, paginated, total, limit, offset);
}

enum err api_archive_get(struct req *r)
{
    struct archive a;
    enum err e = api_archive_load(r, &a);
    if (e)
        return e;
    return req_reply_json(r, 200, archive_json(r, &a));
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
        return req_reply_json(r, 200, archive_json(r, &a));
    int64_t number;
    if (!(json_is_integer(tv) && (number = json_integer_value(tv)) > 0) &&
        !(json_is_string(tv) && parse_int64(json_string_value(tv), &number) && number > 0))
        return req_invalid(r, "ticket", "A valid integer is required.");
    if (number == a.ticket_number)
        return req_reply_json(r, 200, archive_json(r, &a));
    struct ticket t;
    e = store_ticket_get(r->app->store, number, &t);
    if (e == ERR_NOT_FOUND)
        return req_invalid(r, "ticket", "Invalid pk \"%lld\" - object does not exist.",
                           (long long)number);
    if (e)
        return e;
    store_ticket_clear(&t);
    char key[512];
    e = blob_move(r->app->blobs, a.path, number, key, sizeof(key));
    if (e)
        return e;
    struct archive out;
    const char *slash = strrchr(key, '/');
    e = store_archive_move(r->app->store, id, number, key, slash ? slash + 1 : key, &out);
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
             (long long)a.ticket_number, (long long)number, r->user.username);
    return req_reply_json(r, 200, archive_json(r, &out));
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
    int64_t id;
    char path[512];
    if (!path_id(r, &id))
        return ERR_NOT_FOUND;
    enum err e = store_archive_delete(r->app->store, id, path);
    if (e)
        return e;
    if (blob_delete(r->app->blobs, path) != ERR_OK)
        log_error("could not delete %s; `logs-collector cleanup` will", path);
    log_info("archive %lld deleted by %s", (long long)id, r->user.username);
    return req_reply_empty(r, 204);
}
