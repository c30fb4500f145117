/* upload.c - the upload service every upload form goes through (see upload.h). */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/api.h"
#include "api/events.h"
#include "api/upload.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/util.h"
#include "http/work.h"

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

enum err upload_open(struct req *r, struct upload *u, int64_t declared)
{
    const struct principal *p = &r->principal;
    if (p->kind == PRINCIPAL_UPLOAD_TOKEN) {
        u->by_token = true;
        str_copy(u->token, sizeof(u->token), p->token);
        u->ticket = p->ticket;
        u->ticket.note = NULL; /* the principal keeps the note */
    }
    int64_t max = r->app->cfg.max_upload_size;
    if (max > 0 && declared > max) {
        metrics_refusal(REFUSE_TOO_LARGE);
        return too_large(r);
    }
    /* counted from where the upload stands: a resumed one is at u->offset */
    u->next_space_check = u->offset + SPACE_CHECK_EVERY;
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
    if (u->resumable && blob_upload_size(u->blob) + (int64_t)len > u->row->length)
        return req_fail(r, ERR_TOO_LARGE, "More bytes than the Upload-Length of %lld.",
                        (long long)u->row->length);
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

/* The bytes kept for the start (a form's), now that the blob exists. */
static enum err write_pending(struct req *r, struct upload *u)
{
    return u->pending_len ? write_blob(r, u, u->pending, u->pending_len) : ERR_OK;
}

/* The uploads-in-progress gauge counts requests that are sending bytes into
 * an upload (a resumable upload counts once per request). */
static void set_active(struct upload *u, bool on)
{
    if (u->active == on)
        return;
    u->active = on;
    metrics_add(MET_UPLOADS_ACTIVE, on ? 1 : -1);
}

/* The upload ends without an archive: counted, and recorded as an
 * "upload.failed" event saying why (once). */
static void upload_failed(struct req *r, struct upload *u, const char *why)
{
    set_active(u, false);
    if (u->ended || !u->started)
        return;
    u->ended = true;
    metrics_upload(UPLOAD_FAILED);
    api_event(r, "upload.failed", u->ticket.number, 0,
              json_pack("{s:s,s:s,s:I}", "name", u->name, "reason", why, "bytes",
                        (json_int_t)(u->offset + upload_size(u))));
}

/* Worker thread: a resumable upload's row (with its attempt and the
 * "upload.started" event, in one transaction) and its partial blob. */
static enum err create_resumable(struct req *r, struct upload *u, const struct event *ev)
{
    enum token_state st = TOKEN_OK;
    struct upload_row *w = u->row;
    w->ticket_id = u->ticket.id;
    str_copy(w->token, sizeof(w->token), u->by_token ? u->ticket.token : "");
    w->user_id = u->by_token ? 0 : r->principal.user.id;
    str_copy(w->name, sizeof(w->name), u->name);
    str_copy(w->uploader_ip, sizeof(w->uploader_ip), r->client_ip);
    const char *agent = req_header(r, "User-Agent");
    str_copy(w->uploader_agent, sizeof(w->uploader_agent), agent ? agent : "");
    w->expires_at = r->now + r->app->cfg.upload_resume_ttl * 1000000;
    enum err e = store_upload_create(r->app->store, w, u->by_token, r->now, ev, &st, NULL);
    if (!e && st != TOKEN_OK) {
        /* the attempts went to parallel uploads since the principal stage */
        struct ticket t;
        e = auth_check_upload_token(r, u->token, &t);
        if (!e) {
            store_ticket_clear(&t);
            e = req_fail(r, ERR_LOCKED, "token %.36s has no upload attempts left", u->token);
        }
    }
    if (e)
        return e;
    u->consumed = u->by_token;
    e = blob_partial_create(r->app->blobs, w->id, r->app->cfg.max_upload_size, &u->blob);
    if (e) {
        /* no bytes can come: the row goes, and the attempt with it is given back */
        (void)store_upload_delete(r->app->store, w->id);
        if (u->consumed)
            (void)store_token_refund(r->app->store, u->token);
        u->consumed = false;
    }
    return e;
}

/* Worker thread, at the first bytes: the attempt (an atomic store write, with
 * the "upload.started" event) and the temp file, which can each wait on a
 * busy disk or database, then the bytes that came so far. */
static void start_work(struct req *r)
{
    struct upload *u = r->work_data;
    enum err e = ERR_OK;
    struct event ev;
    api_event_make(r, &ev, "upload.started", u->ticket.number, 0,
                   json_pack("{s:s,s:I,s:b}", "name", u->name, "declared",
                             (json_int_t)(u->resumable ? u->row->length : r->content_length),
                             "resumable", u->resumable));
    if (u->resumable) {
        e = create_resumable(r, u, &ev);
        if (!e) {
            u->started = true;
            set_active(u, true);
            e = write_pending(r, u);
        }
        goto out;
    }
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
    } else if (!u->by_token) {
        e = store_event_add(r->app->store, &ev); /* a staff upload takes no attempt */
    }
    if (!e)
        e = blob_upload_begin(r->app->blobs, r->app->cfg.max_upload_size, &u->blob);
    if (!e) {
        u->started = true;
        set_active(u, true);
        e = write_pending(r, u);
    }
out:
    free(u->pending);
    u->pending = NULL;
    u->pending_len = 0;
    if (e)
        r->work_err = e;
}

/* Worker thread: a request's progress saved so far: in the middle of a long
 * request and at its end; durably every LIMIT_TUS_CHECKPOINT bytes, else fast
 * (blob.h). The row's expiry moves with it, written at most every
 * LIMIT_TUS_TOUCH seconds (a commit each: on PostgreSQL a WAL flush);
 * u->row->expires_at says where it stands. */
static void save_work(struct req *r)
{
    struct upload *u = r->work_data;
    enum err e = blob_partial_save(u->blob);
    int64_t expires = r->now + r->app->cfg.upload_resume_ttl * 1000000;
    if (!e && expires - u->row->expires_at >= (int64_t)LIMIT_TUS_TOUCH * 1000000 &&
        store_upload_touch(r->app->store, u->row->id, expires) == ERR_OK)
        u->row->expires_at = expires;
    if (e)
        r->work_err = e;
}

enum err upload_write(struct req *r, struct upload *u, const char *data, size_t len)
{
    if (len == 0)
        return ERR_OK;
    /* a raw upload's first bytes were counted when they first came */
    size_t again = u->ahead < len ? u->ahead : len;
    u->ahead = 0;
    u->size += (int64_t)(len - again);
    metrics_add(MET_UPLOAD_BYTES, (int64_t)(len - again));
    if (u->started) {
        enum err e = write_blob(r, u, data, len);
        if (e || !u->resumable || u->no_saves || blob_upload_size(u->blob) < u->next_save)
            return e;
        u->next_save = blob_upload_size(u->blob) + LIMIT_TUS_CHECKPOINT;
        r->work_data = u;
        return req_defer(r, save_work, NULL);
    }
    r->work_data = u;
    if (u->raw) {
        /* Not started: the body's bytes stay where they are (the connection
         * waits meanwhile) and come again once start_work has run; a copy
         * would cost every upload starting at once its first chunk again. */
        u->ahead = len;
        return req_defer_retake(r, start_work);
    }
    /* Not started: keep the parser's bytes for start_work, which runs once
     * this chunk of the body has been taken (the connection waits meanwhile). */
    char *np = realloc(u->pending, u->pending_len + len);
    if (!np)
        return ERR_NOMEM;
    u->pending = np;
    memcpy(u->pending + u->pending_len, data, len);
    u->pending_len += len;
    return req_defer(r, start_work, NULL);
}

void upload_resumable(struct upload *u, struct upload_row *row)
{
    u->resumable = true;
    u->row = row;
    u->next_save = LIMIT_TUS_CHECKPOINT;
}

enum err upload_resume(struct req *r, struct upload *u, struct upload_row *row)
{
    u->resumable = true;
    u->row = row;
    str_copy(u->name, sizeof(u->name), row->name);
    /* The save of a request that ended without its answer (save_job_run) makes
     * its offset visible (HEAD) a moment before it lets go: a client that asks
     * and sends at once waits that moment out instead of getting 409. On a
     * worker (the tus rows are ROUTE_WORKER); a request really sending holds
     * it far longer. */
    enum err e;
    for (int waited = 0;; waited += 5) {
        e = blob_partial_open(r->app->blobs, row->id, r->app->cfg.max_upload_size, &u->blob,
                              &u->offset);
        if (e != ERR_LOCKED || waited >= LIMIT_TUS_LOCK_WAIT)
            break;
        nanosleep(&(struct timespec){0, 5000000}, NULL);
    }
    if (e)
        return e;
    u->started = true;
    set_active(u, true);
    u->next_save = u->offset + LIMIT_TUS_CHECKPOINT;
    return ERR_OK;
}

int64_t upload_size(const struct upload *u)
{
    return u->size;
}

/* Worker thread: a resumable upload that is not complete is created (no body
 * came with its creation) or saves its progress, and is let go before the
 * answer goes out: the client's next request, which may come on another
 * connection the moment it reads the answer, finds it free. */
static void save_progress_work(struct req *r)
{
    struct upload *u = r->work_data;
    if (!u->started) {
        start_work(r); /* created and saved at offset 0 */
    } else {
        save_work(r);
        u->saved = r->work_err == ERR_OK;
    }
    set_active(u, false);
    blob_partial_close(TAKE_PTR(u->blob)); /* on failure the last save stands */
}

/* Worker thread: fsync + rename + row. On any failure nothing stays behind
 * (a resumable upload: its bytes stay resumable unless its row is gone). */
static void finish_work(struct req *r)
{
    struct upload *u = r->work_data;
    struct archive a = {0};
    int64_t size = blob_upload_size(u->blob);
    char key[512], name[LIMIT_FILENAME + 1];
    enum err e = blob_upload_finish(TAKE_PTR(u->blob), u->ticket.number, u->name, key, sizeof(key),
                                    name, sizeof(name), a.md5, a.sha256);
    if (e) {
        upload_failed(r, u, err_info(e)->name);
        r->work_err = e == ERR_NO_SPACE ? req_fail(r, e, "The storage is full.") : e;
        return;
    }
    a.ticket_id = u->resumable ? u->row->ticket_id : u->ticket.id;
    a.size = size;
    str_copy(a.path, sizeof(a.path), key);
    str_copy(a.name, sizeof(a.name), name);
    str_copy(a.uploader_ip, sizeof(a.uploader_ip), r->client_ip);
    const char *agent = req_header(r, "User-Agent");
    str_copy(a.uploader_agent, sizeof(a.uploader_agent), agent ? agent : "");
    struct event ev;
    api_event_make(r, &ev, "upload.finished", u->ticket.number, 0,
                   json_pack("{s:s,s:I,s:s,s:s}", "name", a.name, "size", (json_int_t)a.size, "md5",
                             a.md5, "sha256", a.sha256));
    ev.mail = r->app->cfg.smtp_url[0] != 0; /* the ticket's upload mail */
    /* the store waits for the database for a while (store_options.archive_wait) */
    e = u->resumable ? store_upload_finish(r->app->store, u->row->id, &a, &ev, &u->out)
                     : store_archive_create(r->app->store, &a, &ev, &u->out);
    u->saved = true; /* the bytes are in the archive, or gone with it */
    if (e == ERR_NOT_FOUND && u->resumable) {
        (void)blob_delete(r->app->blobs, key);
        upload_failed(r, u, "terminated or expired");
        r->work_err = req_fail(r, ERR_NOT_FOUND, "The upload was terminated or expired.");
        return;
    }
    if (e) {
        (void)blob_delete(r->app->blobs, key);
        upload_failed(r, u, e == ERR_REFERENCE ? "ticket deleted" : err_info(e)->name);
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
    set_active(u, false);
    log_info("archive %lld \"%s\" (%lld bytes, sha256 %s) uploaded to ticket %lld from %s",
             (long long)u->out.id, u->out.name, (long long)u->out.size, u->out.sha256,
             (long long)u->out.ticket_number, r->client_ip);
}

enum err upload_end(struct req *r, struct upload *u, enum err (*reply)(struct req *r))
{
    r->work_data = u;
    if (!u->started && !u->resumable)
        return req_fail(r, ERR_INTERNAL, "upload ended before it started");
    if (u->resumable && (!u->started || blob_upload_size(u->blob) < u->row->length))
        return req_defer(r, save_progress_work, reply);
    return req_defer(r, finish_work, reply);
}

/* What a resumable upload's abort hands to a worker: its progress is saved
 * there, off the polling thread, and the upload let go. */
struct save_job {
    struct blob_upload *blob;
    struct store *store;
    char id[UPLOAD_ID_LEN + 1];
    int64_t expires_at;
};

static void save_job_run(void *arg)
{
    struct save_job *j = arg;
    /* durable: the client went away or the server stops, maybe for a reboot;
     * the expiry first, so that the upload is let go as soon as its offset
     * shows (a client may be asking to resume right now) */
    (void)store_upload_touch(j->store, j->id, j->expires_at);
    (void)blob_partial_sync(j->blob);
    blob_partial_close(j->blob);
    free(j);
}

/* Keeps what a resumable upload received in this request for its next one. */
static void keep_resumable(struct req *r, struct upload *u)
{
    struct save_job *j = NULL;
    if (u->size > 0 && !u->no_saves && !u->saved)
        j = calloc(1, sizeof(*j));
    if (!j) {
        blob_partial_close(TAKE_PTR(u->blob)); /* the last save stands */
        return;
    }
    j->blob = TAKE_PTR(u->blob);
    j->store = r->app->store;
    str_copy(j->id, sizeof(j->id), u->row->id);
    j->expires_at = r->now + r->app->cfg.upload_resume_ttl * 1000000;
    if (work_submit(save_job_run, j) != ERR_OK)
        save_job_run(j); /* the pool is full or stopping: here, once */
}

void upload_abort(struct req *r, struct upload *u)
{
    if (!u || u->aborted)
        return;
    /* worth a line once the body began: bytes came, or it was refused mid-way */
    bool began = u->blob || u->pending_len || u->ahead || r->pending_err;
    u->aborted = true;
    if (began) {
        char ticket[32] = "(ticket not given)", outcome[640];
        if (u->ticket.number)
            snprintf(ticket, sizeof(ticket), "to ticket %lld", (long long)u->ticket.number);
        else if (u->row && u->row->ticket_number)
            snprintf(ticket, sizeof(ticket), "to ticket %lld", (long long)u->row->ticket_number);
        const char *after = !u->blob        ? ""
                            : !u->resumable ? "; temp file removed"
                            : u->no_saves   ? "; kept as it was before this request"
                                            : "; kept for resuming";
        log_warn("upload %s from %s %s after %lld bytes%s", ticket, r->client_ip,
                 req_outcome(r, outcome, sizeof(outcome)), (long long)upload_size(u), after);
    }
    if (u->resumable) {
        set_active(u, false); /* the upload goes on with its next request */
        if (u->blob)
            keep_resumable(r, u);
    } else if (began) {
        char why[640];
        upload_failed(r, u, req_outcome(r, why, sizeof(why)));
    }
    blob_upload_abort(TAKE_PTR(u->blob));
    free(u->pending);
    u->pending = NULL;
    u->pending_len = 0;
}

void upload_clear(struct upload *u)
{
    if (!u)
        return;
    if (u->resumable)
        blob_partial_close(u->blob); /* saved or finished: the files are the store's */
    else
        blob_upload_abort(u->blob);
    u->blob = NULL;
    free(u->pending);
    u->pending = NULL;
    store_ticket_clear(&u->ticket);
}
