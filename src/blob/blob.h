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
 *   tmp/upload-XXXXXX                         uploads in progress
 * Every path is built here and nowhere else. Keys handed in from the database
 * are checked (no "..", no absolute paths, no NUL) before use.
 */

struct blob_store;
struct blob_upload;

/* Opens the blob store rooted at data_dir, creating archives/ and tmp/ (0750).
 * ERR_IO with a logged reason when that fails. */
enum err blob_open(const char *data_dir, struct blob_store **ret);
void blob_close(struct blob_store *b);

/* Removes every file left in tmp/ by a crashed process; logs each and returns
 * how many went in *ret_removed. Call before serving. */
enum err blob_sweep_tmp(struct blob_store *b, int *ret_removed);

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
/* Removes the temp file and frees u. NULL-safe. */
void blob_upload_abort(struct blob_upload *u);

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
