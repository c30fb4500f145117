/* upload.h - the one upload service: limits, the attempt, the temp file's life, the archive row. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http/req.h"

/*
 * One upload in flight, whatever the form the bytes come in (PUT, multipart,
 * tus). Its life:
 *   upload_open    before the body: the target ticket (the principal's upload
 *                  token, or a staff user's choice) and the declared size
 *                  against MAX_UPLOAD_SIZE (413) and STORAGE_MIN_FREE (507);
 *                  nothing is taken yet.
 *   upload_write   the file's bytes. The first ones start the upload on a
 *                  worker (the attempt, atomically; the temp file) while the
 *                  connection waits; the rest stream into the blob, hashed
 *                  as they go, with the size and free space checked again.
 *   upload_end     the body is complete (the front end has refused an empty
 *                  file in its own words): fsync, rename without replacing and
 *                  the row, on a worker, then the front end's answer.
 *   upload_abort   the upload ends otherwise: the temp file goes and the log
 *                  says what the client got.
 * The attempt, once taken, stays used unless the archive row cannot be
 * written after the bytes were safe (then it is given back).
 */
struct upload {
    struct ticket ticket;      /* the target; its note is owned (upload_clear) */
    bool by_token;             /* an upload token's upload: one attempt at the first byte */
    char token[TOKEN_LEN + 1]; /* by_token: the token */
    bool consumed;             /* the attempt was taken */
    bool started;              /* the blob exists (and the attempt is taken when due) */
    bool aborted;              /* upload_abort ran */
    bool ended;                /* counted as stored or failed (metrics, events) */
    bool active;               /* counted in the uploads-in-progress gauge */
    struct blob_upload *blob;
    char name[LIMIT_FILENAME + 1]; /* sanitized file name */
    int64_t next_space_check;
    int64_t size; /* bytes of the file received */
    /* The bytes that came before the start. The request body itself (u->raw)
     * is left to the HTTP engine, which hands it over again after the start
     * (`ahead` bytes of it already counted); bytes out of a parser (multipart)
     * are copied into `pending`, exactly as many as came, and written by it. */
    bool raw;
    size_t ahead;
    char *pending;
    size_t pending_len;
    struct archive out; /* the stored row, for the answer */

    /* resumable uploads (tus): the bytes go to a partial blob that outlives the
     * request; the metadata is the store's upload row, held by the front end
     * (a PUT or a form carries none) */
    bool resumable;
    struct upload_row *row; /* created by the first bytes, or loaded (upload_resume) */
    int64_t offset;         /* bytes stored before this request */
    int64_t next_save;      /* a long request saves its progress at these offsets */
    bool no_saves;          /* a checksum is pending: nothing is saved mid-request */
    bool saved;             /* this request's bytes are saved (or finished) */
};

/* Before the body (see above): `declared` bytes are to come (-1: unknown).
 * Token uploads take the ticket from the principal; staff uploads name it
 * later with upload_target. */
enum err upload_open(struct req *r, struct upload *u, int64_t declared);
/* A staff upload's ticket, by number: ERR_VALIDATION ("ticket") when there is
 * no such ticket. */
enum err upload_target(struct req *r, struct upload *u, int64_t number);
/* A resumable upload starts with its first bytes (or at upload_end without
 * any): the attempt and the upload row in one transaction, and the partial
 * blob. row (the caller's, outliving u) holds what to create (id, length,
 * metadata...); the upload fills in the rest. */
void upload_resumable(struct upload *u, struct upload_row *row);
/* Takes up the resumable upload of row (the caller's, outliving u; already
 * checked against the caller) for more bytes: ERR_LOCKED while another
 * request holds it, ERR_NOT_FOUND when its bytes are gone. u->offset gets
 * where it stands. */
enum err upload_resume(struct req *r, struct upload *u, struct upload_row *row);
/* Sanitizes and keeps the client's file name (len bytes, any content). */
void upload_name(struct upload *u, const char *name, size_t len);
/* Bytes of the file (see above). May defer slow work with req_defer: the
 * bytes are taken either way, except the first ones of a raw upload (u->raw:
 * data is the request body as it came), which wait in the HTTP engine for
 * the start (req_defer_retake) and come again. */
enum err upload_write(struct req *r, struct upload *u, const char *data, size_t len);
/* Bytes of the file so far. */
int64_t upload_size(const struct upload *u);
/* The body is complete: stores the archive on a worker, then reply(r)
 * answers on the server thread with u->out. A resumable upload that is not
 * complete yet saves its progress instead (u->out.id stays 0). */
enum err upload_end(struct req *r, struct upload *u, enum err (*reply)(struct req *r));
/* The upload ends without an archive (see above). A resumable upload keeps what
 * arrived (saved off the polling thread) unless u->no_saves (a checksum that
 * did not match): its next request goes on from there. NULL-safe, idempotent. */
void upload_abort(struct req *r, struct upload *u);
/* Frees what u holds (after upload_abort or a stored archive). NULL-safe. */
void upload_clear(struct upload *u);
