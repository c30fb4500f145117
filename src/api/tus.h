/* tus.h - resumable uploads: the tus 1.0.0 protocol at /api/v1/uploads/, over the upload service.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "app.h"
#include "core/err.h"
#include "core/limits.h"
#include "http/req.h"

/* The Upload-Metadata values the server uses (the rest is kept as sent). */
struct tus_meta {
    char filename[LIMIT_FILENAME * 4 + 1]; /* decoded, not yet sanitized; "" when absent */
    size_t filename_len;
    char filetype[LIMIT_FILETYPE + 1];
    char ticket[24]; /* a staff upload's ticket number, as text */
};

/*
 * Parses an Upload-Metadata header: comma-separated pairs "key base64value"
 * (the value may be absent); keys are 1..64 printable ASCII characters other
 * than space and comma, each at most once; values standard base64. Fills ret
 * with the keys the server uses. False (with why, a sentence for the client)
 * for anything malformed or too long (LIMIT_TUS_METADATA bytes).
 */
bool tus_metadata_parse(const char *header, struct tus_meta *ret, char *why, size_t whylen);

/* The handlers of src/api/routes.c's /api/v1/uploads rows. */
enum err api_tus_options(struct req *r);
enum err api_tus_head(struct req *r);
enum err api_tus_delete(struct req *r);
extern const struct stream_ops api_tus_create_ops;
extern const struct stream_ops api_tus_patch_ops;

/*
 * One sweep (the housekeeper's every LIMIT_TUS_SWEEP seconds, src/jobs/):
 * removes resumable uploads that can no longer go on (expired without
 * progress, ticket resolved, token replaced or expired: store_upload_stale)
 * with their bytes, and partial files without a row. Each serving process
 * sweeps; they tolerate each other.
 */
void tus_sweep(struct app *a);
