/* form.h - a streaming multipart/form-data parser over the request's body (libmicrohttpd's). */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

struct req;
struct req_form;

/*
 * Called for each piece of a part's value as it arrives: name is the part's
 * field name ("" when the part has none: a Content-Disposition without a
 * quoted name, or none at all), filename NULL for a plain field, data/size the
 * piece (size may be 0, then data may be NULL), off its offset in the value.
 * Return ERR_OK to go on; any error stops the parse and comes back from
 * req_form_feed.
 */
typedef enum err (*form_part_fn)(void *ctx, const char *name, const char *filename,
                                 const char *data, uint64_t off, size_t size);

/* Starts parsing r's body as multipart/form-data (boundary from its
 * Content-Type) with a buffer of `buffer` bytes (>= 256). ERR_BAD_REQUEST when
 * the Content-Type has no usable boundary. */
enum err req_form_new(struct req *r, size_t buffer, form_part_fn fn, void *ctx,
                      struct req_form **ret);
/* Feeds len body bytes. The part callback's error, or ERR_BAD_REQUEST for a
 * malformed body. */
enum err req_form_feed(struct req_form *f, const char *data, size_t len);
/* The body has ended: ERR_BAD_REQUEST when it ended inside a part. Frees f. */
enum err req_form_end(struct req_form *f);
/* Frees f without judging the end. NULL-safe. */
void req_form_free(struct req_form *f);
