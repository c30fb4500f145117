/* buf.h - a growing text buffer with a cap, for the markup writers of src/web/. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct buf {
    char *data; /* NUL-terminated; heap */
    size_t len, cap, max;
    bool failed; /* out of memory or over max: everything after is dropped */
};

/* An empty buffer that refuses to grow past max bytes. */
void buf_init(struct buf *b, size_t max);
/* Appends n bytes of s. */
void buf_add(struct buf *b, const char *s, size_t n);
/* Appends a NUL-terminated string. */
void buf_str(struct buf *b, const char *s);
/* Appends a decimal number. */
void buf_int(struct buf *b, long long v);
/* Appends s[0..n) escaped for HTML text and attribute values: & < > " ' */
void buf_html(struct buf *b, const char *s, size_t n);
/* Frees the data. */
void buf_free(struct buf *b);
