/* upload.c - the upload service every upload form goes through (see upload.h). */
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "api/events.h"
#include "api/upload.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/util.h"

/* Free space is re-checked this often while bytes arrive. */
#define SPACE_CHECK_EVERY (64 * 1024 * 1024)

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

static enum err too_large(struct req *r)
{
    return req_fail(r, ERR_TOO_LARGE, "Upload is larger than the limit of %lld bytes.",
                    (long long)r->app->cfg.max_upload_size);
}

enum err upload_open(struct req *r, struct upload *u)
{
    const struct principal *p = &r->principal;
    if (p->kind == PRINCIPAL_UPLOAD_TOKEN) {
        u->by_token = true;
        str_copy(u->token, sizeof(u->token), p->token);
        u->ticket = p->ticket;
        u->ticket.note = NULL; /* the principal keeps the note */
    }
    int64_t declared = r->content_length;
    int64_t max = r->app->cfg.max_upload_size;
    if (max > 0 && declared > max) {
        metrics_refusal(REFUSE_TOO_LARGE);
        return too_large(r);
    }
    u->next_space_check = SPACE_CHECK_EVERY;
    enum err e = space_check(r, declared);
    if (e == ERR_NO_SPACE)
        metrics_refusal(REFUSE_NO_SPACE);
    return e;
}

enum err upload_target(struct req *r, struct upload *u, int64_t number)
{
    struct ticket t;
    enum err e = store_ticket_get(r->app->store, number, &t);
    if (e == ERR_NOT_FOUND)
        return req_invalid(r, "ticket", "Ticket %lld does not exist.", (long long)number);
    if (e)
        return e;
    store_ticket_clear(&u->ticket);
    u->ticket = t;
    return ERR_OK;
}

void upload_name(struct upload *u, const char *name, size_t len)
{
    blob_sanitize_name(name, len, "archive", u->name, sizeof(u->name));
}

/* Writes into the blob, with the size limit and the free space on the way. */
static enum err write_blob(struct req *r, struct upload *u, const char *data, size_t len)
{
    enum err e = blob_upload_write(u->blob, data, len);
    if (e == ERR_TOO_LARGE)
        return too_large(r);
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

/* The upload ends without an archive: counted, and recorded as an
 * "upload.failed" event saying why (once). */
static void upload_failed(struct req *r, struct upload *u, const char *why)
{
    if (u->ended || !u->started)
        return;
    u->ended = true;
    metrics_upload(UPLOAD_FAILED);
    metrics_add(MET_UPLOADS_ACTIVE, -1);
    api_event(r, "upload.failed", u->ticket.number, 0,
              json_pack("{s:s,s:s,s:I}", "name", u->name, "reason", why, "bytes",
                        (json_int_t)upload_size(u)));
}

/* Worker thread, at the first bytes: the attempt (an atomic store write, with
 * the "upload.started" event) and the temp file, which can each wait on a
 * busy disk or database, then the bytes that came so far. */
static void start_work(struct req *r)
{
    struct upload *u = r->work_data;
    enum err e = ERR_OK;
    struct event ev;
    api_event_make(
        r, &ev, "upload.started", u->ticket.number, 0,
        json_pack("{s:s,s:I}", "name", u->name, "declared", (json_int_t)r->content_length));
    if (u->by_token && !u->consumed) {
        enum token_state st;
        struct ticket t = {0};
        e = store_token_consume(r->app->store, u->token, r->now, &ev, &st, &t);
        if (!e && st != TOKEN_OK) {
            /* the attempts went to parallel uploads since the principal stage */
            e = auth_check_upload_token(r, u->token, &t);
            if (!e)
                e = req_fail(r, ERR_LOCKED, "token %.36s has no upload attempts left", u->token);
        }
        if (!e) {
            store_ticket_clear(&u->ticket);
            u->ticket = t;
            u->consumed = true;
        } else {
            store_ticket_clear(&t);
        }
    } else if (!u->by_token)
        e = store_event_add(r->app->store, &ev); /* a staff upload takes no attempt */
    if (!e)
        e = blob_upload_begin(r->app->blobs, r->app->cfg.max_upload_size, &u->blob);
    if (!e) {
        u->started = true;
        metrics_add(MET_UPLOADS_ACTIVE, 1);
        e = write_blob(r, u, u->pending, u->pending_len);
    }
    free(u->pending);
    u->pending = NULL;
    u->pending_len = u->pending_cap = 0;
    if (e)
        r->work_err = e;
}

enum err upload_write(struct req *r, struct upload *u, const char *data, size_t len)
{
    if (len == 0)
        return ERR_OK;
    u->size += (int64_t)len;
    metrics_add(MET_UPLOAD_BYTES, (int64_t)len);
    if (u->started)
        return write_blob(r, u, data, len);
    /* Not started: keep the bytes for start_work, which runs once this chunk
     * of the body has been taken (the connection waits meanwhile). */
    if (u->pending_len + len > u->pending_cap) {
        size_t cap = u->pending_cap ? u->pending_cap : 65536;
        while (cap < u->pending_len + len)
            cap *= 2;
        char *np = realloc(u->pending, cap);
        if (!np)
            return ERR_NOMEM;
        u->pending = np;
        u->pending_cap = cap;
    }
    memcpy(u->pending + u->pending_len, data, len);
    u->pending_len += len;
    r->work_data = u;
    return req_defer(r, start_work, NULL);
}

int64_t upload_size(const struct upload *u)
{
    return u->size;
}

/* Worker thread: fsync + rename + row. On any failure nothing stays behind. */
static void finish_work(struct req *r)
{
    struct upload *u = r->work_data;
    struct archive a = {0};
    int64_t size = blob_upload_size(u->blob);
    char key[512], name[LIMIT_FILENAME + 1];
    enum err e = blob_upload_finish(TAKE_PTR(u->blob), u->ticket.number, u->name, key, sizeof(key),
                                    name, sizeof(name), a.md5, a.sha256);
    if (e) {
        r->work_err = e == ERR_NO_SPACE ? req_fail(r, e, "The storage is full.") : e;
        upload_failed(r, u, err_info(e)->name);
        return;
    }
    a.ticket_id = u->ticket.id;
    a.size = size;
    str_copy(a.path, sizeof(a.path), key);
    str_copy(a.name, sizeof(a.name), name);
    str_copy(a.uploader_ip, sizeof(a.uploader_ip), r->client_ip);
    const char *agent = req_header(r, "User-Agent");
    str_copy(a.uploader_agent, sizeof(a.uploader_agent), agent ? agent : "");
    /* the store waits for the database for a while (store_options.archive_wait) */
    struct event ev;
    api_event_make(r, &ev, "upload.finished", u->ticket.number, 0,
                   json_pack("{s:s,s:I,s:s,s:s}", "name", a.name, "size", (json_int_t)a.size, "md5",
                             a.md5, "sha256", a.sha256));
    ev.mail = r->app->cfg.smtp_url[0] != 0; /* the ticket's upload mail */
    e = store_archive_create(r->app->store, &a, &ev, &u->out);
    if (e) {
        upload_failed(r, u, e == ERR_REFERENCE ? "ticket deleted" : err_info(e)->name);
        (void)blob_delete(r->app->blobs, key);
        /* the bytes came but cannot be kept: the attempt was not really used */
        if (u->consumed && e != ERR_REFERENCE &&
            store_token_refund(r->app->store, u->token) == ERR_OK)
            log_info("upload to ticket %lld not stored: attempt given back",
                     (long long)u->ticket.number);
        r->work_err = e == ERR_REFERENCE ? ERR_NOT_FOUND : e;
        if (e == ERR_REFERENCE)
            str_copy(r->detail, sizeof(r->detail), "The ticket was deleted during the upload.");
        return;
    }
    u->ended = true;
    metrics_upload(UPLOAD_STORED);
    metrics_add(MET_UPLOADS_ACTIVE, -1);
    log_info("archive %lld \"%s\" (%lld bytes, sha256 %s) uploaded to ticket %lld from %s",
             (long long)u->out.id, u->out.name, (long long)u->out.size, u->out.sha256,
             (long long)u->out.ticket_number, r->client_ip);
}

enum err upload_end(struct req *r, struct upload *u, enum err (*reply)(struct req *r))
{
    if (!u->started)
        return req_fail(r, ERR_INTERNAL, "upload ended before it started");
    r->work_data = u;
    return req_defer(r, finish_work, reply);
}

void upload_abort(struct req *r, struct upload *u)
{
    if (!u || u->aborted)
        return;
    /* worth a line once the body began: bytes came, or it was refused mid-way */
    bool began = u->blob || u->pending_len || r->pending_err;
    u->aborted = true;
    if (began) {
        char ticket[32] = "(ticket not given)", outcome[640];
        if (u->ticket.number)
            snprintf(ticket, sizeof(ticket), "to ticket %lld", (long long)u->ticket.number);
        log_warn("upload %s from %s %s after %lld bytes%s", ticket, r->client_ip,
                 req_outcome(r, outcome, sizeof(outcome)), (long long)upload_size(u),
                 u->blob ? "; temp file removed" : "");
        upload_failed(r, u, outcome);
    }
    blob_upload_abort(TAKE_PTR(u->blob));
    free(u->pending);
    u->pending = NULL;
    u->pending_len = u->pending_cap = 0;
}

void upload_clear(struct upload *u)
{
    if (!u)
        return;
    blob_upload_abort(u->blob);
    u->blob = NULL;
    free(u->pending);
    u->pending = NULL;
    store_ticket_clear(&u->ticket);
}
