/* blob.h - archive bytes on the local file system: streamed, hashed, crash-safe. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

/*
 * Layout under DATA_DIR:
 *   archives/<ticket-number>/<stored-name>   finished archives ("keys" are the
 *                                            path relative to archives/)
 *   tmp/upload-XXXXXX                         one-shot uploads in progress
 *   partial/<id>.data, partial/<id>.state,    resumable uploads: the bytes so far,
 *   partial/<id>.fast                         and the offset and digest state
 *                                            they were last saved at (durably;
 *                                            and fast, for this boot only)
 * Every path is built here and nowhere else. Keys handed in from the database
 * are checked (no "..", no absolute paths, no NUL) before use.
 */

struct blob_store;
struct blob_upload;

/* Opens the blob store rooted at data_dir, creating archives/, tmp/ and partial/ (0750).
 * ERR_IO with a logged reason when that fails. */
enum err blob_open(const char *data_dir, struct blob_store **ret);
void blob_close(struct blob_store *b);

/* How many threads hash MD5 behind the uploads of this process (1 unless set; 1..64).
 * Call before the first upload: the hashers start with it. */
void blob_set_hashers(int n);

/* Removes every file left in tmp/ by a crashed process; logs each and returns
 * how many went in *ret_removed. Call before serving. */
enum err blob_sweep_tmp(struct blob_store *b, int *ret_removed);

/* The file system holding the archives, as df shows it. */
struct blob_space {
    uint64_t total; /* bytes */
    uint64_t used;  /* bytes in use (total minus free, root's reserve included) */
    uint64_t free;  /* bytes an unprivileged writer may still use (f_bavail) */
};
/* Measures the archives' file system: the one measure behind the 507 of
 * uploads and /api/v1/check/storage/. */
enum err blob_space(struct blob_store *b, struct blob_space *ret);
/* Free bytes for an unprivileged writer on the store's file system. */
enum err blob_free_space(struct blob_store *b, uint64_t *ret_free);

/* --- uploads --- */

/* Starts an upload: a new temp file in tmp/. max_size 0 = unlimited. */
enum err blob_upload_begin(struct blob_store *b, int64_t max_size, struct blob_upload **ret);
/*
 * Appends len bytes: updates MD5 and SHA-256, writes them, and every few MiB
 * asks the kernel to start writeback (sync_file_range) so the final fsync is
 * short. ERR_TOO_LARGE past max_size, ERR_NO_SPACE on ENOSPC/EDQUOT, ERR_IO
 * otherwise. Memory use is constant whatever the size.
 */
enum err blob_upload_write(struct blob_upload *u, const void *buf, size_t len);
/* Bytes written so far. */
int64_t blob_upload_size(const struct blob_upload *u);
/*
 * Finishes: fsync the file, choose a free name under archives/<ticket_number>/
 * from `name` (already sanitized; on a clash "name (1).ext", "name (2).ext"...,
 * never replacing a file), rename into place, fsync the directory. Slow (fsync):
 * call from a worker thread. On success writes the key (relative path, <= 511
 * bytes) to ret_key, the final base name to ret_name (>= 256 bytes), the hex
 * digests to md5 (33 bytes) and sha256 (65 bytes), and frees u. On failure the
 * temp file is removed and u freed as well.
 */
enum err blob_upload_finish(struct blob_upload *u, int64_t ticket_number, const char *name,
                            char *ret_key, size_t keylen, char *ret_name, size_t namelen,
                            char md5[33], char sha256[65]);
/* Removes the upload's file (a partial upload's state too) and frees u.
 * NULL-safe. */
void blob_upload_abort(struct blob_upload *u);

/* --- resumable uploads ---
 * A partial upload lives under partial/ across requests, restarts and
 * processes sharing DATA_DIR. Its state holds the offset it was saved at and
 * the MD5 and SHA-256 state there, so resuming costs a file open, not a re-read
 * of what arrived. A save is durable (the bytes and the state flushed: it
 * survives a crash of the machine) or fast (nothing flushed or waited for: it
 * survives the server process, a kill -9 and a restart, and is seen by every
 * process on this machine, but is believed only until the kernel reboots; then
 * the upload goes on from its last durable save). One request at a time holds
 * it (an exclusive flock, dropped by the kernel if its process dies). The
 * state is in the binary layout of this build: every process sharing DATA_DIR
 * runs the same build. */

#define BLOB_PARTIAL_ID 32 /* id: 32 lower-case hex characters, chosen by the caller */

/* Creates partial upload `id` (empty, saved at offset 0) and returns it held
 * by the caller. ERR_EXISTS when the id is taken, ERR_INTERNAL for a bad id. */
enum err blob_partial_create(struct blob_store *b, const char *id, int64_t max_size,
                             struct blob_upload **ret);
/* Takes up partial upload `id` where it was last saved (the fast save when it
 * is newer and of this boot, else the durable one): the bytes after the saved
 * offset (a crash in the middle of a write, or a reboot) are cut off and the
 * digests restored (an MD5 that lagged is hashed up from the file on the
 * hasher thread); *ret_offset gets the offset. ERR_NOT_FOUND when there is no
 * such upload (or its durable state is unreadable), ERR_LOCKED while another
 * request or process holds it. */
enum err blob_partial_open(struct blob_store *b, const char *id, int64_t max_size,
                           struct blob_upload **ret, int64_t *ret_offset);
/* Saves u's progress at the end of a request: fast (the state written beside
 * the bytes, nothing flushed, the MD5 state where the hasher stands, at most a
 * few MiB behind), or durable as blob_partial_sync when LIMIT_TUS_CHECKPOINT
 * bytes came since the last durable save, or when this machine's boot cannot
 * be told. Call from a worker (it may be the slow kind). */
enum err blob_partial_save(struct blob_upload *u);
/* Saves u's progress durably: the MD5 catches up, the bytes are flushed
 * (fdatasync), then the state is written beside them (temp file, fsync,
 * rename, directory fsync). Slow: call from a worker. */
enum err blob_partial_sync(struct blob_upload *u);
/* Lets go of a partial upload, keeping it on disk as last saved (not what came
 * after: save first). NULL-safe. */
void blob_partial_close(struct blob_upload *u);
/* The offset partial upload `id` was last saved at (as open would choose),
 * without taking it (a request may be adding to it right now).
 * ERR_NOT_FOUND as for open. */
enum err blob_partial_offset(struct blob_store *b, const char *id, int64_t *ret_offset);
/* Removes partial upload `id` (bytes and both states). ERR_LOCKED while a request
 * holds it; a missing upload is ERR_OK. */
enum err blob_partial_remove(struct blob_store *b, const char *id);
/* Removes every partial upload that keep(id, ctx) does not want any more (the
 * store decides: no row, expired, refused) and that nobody holds, and the stray
 * state files of finished or half-removed ones; *ret_removed counts uploads
 * removed. */
enum err blob_partial_sweep(struct blob_store *b, bool (*keep)(const char *id, void *ctx),
                            void *ctx, int *ret_removed);

/* --- finished archives --- */

/* Opens the archive for reading (O_RDONLY|O_CLOEXEC); *ret_size gets its size.
 * ERR_NOT_FOUND when the file is missing. */
enum err blob_open_read(struct blob_store *b, const char *key, int *ret_fd, int64_t *ret_size);
/* Deletes the archive; a missing file is ERR_OK. Removes the ticket directory
 * when it becomes empty. */
enum err blob_delete(struct blob_store *b, const char *key);
/* Moves an archive to archives/<ticket_number>/, keeping (or suffixing) its
 * name; writes the new key. */
enum err blob_move(struct blob_store *b, const char *key, int64_t ticket_number, char *ret_key,
                   size_t keylen);
/* Seconds since the archive file last changed (ctime: a rename counts). */
enum err blob_age(struct blob_store *b, const char *key, int64_t *ret_seconds);
/* Calls fn(key, size, ctx) for every file under archives/ (for `cleanup`). */
enum err blob_walk(struct blob_store *b, void (*fn)(const char *key, int64_t size, void *ctx),
                   void *ctx);

/* --- names --- */

/*
 * Sanitizes a client file name into out (outlen >= 256): keeps the last path
 * component (after '/' or '\\'), drops control characters and invalid UTF-8,
 * strips leading dots and spaces and trailing dots/spaces, caps the result at
 * 255 bytes on a UTF-8 boundary keeping the extension, and falls back to
 * `fallback` ("archive") when nothing is left.
 */
void blob_sanitize_name(const char *in, size_t inlen, const char *fallback, char *out,
                        size_t outlen);
