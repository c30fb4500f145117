/* buf.c - growing text buffer with a cap and the one HTML escaper. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "web/buf.h"

void buf_init(struct buf *b, size_t max)
{
    *b = (struct buf){NULL, 0, 0, max, false};
}

void buf_add(struct buf *b, const char *s, size_t n)
{
    if (b->failed)
        return;
    if (b->len + n + 1 > b->max) {
        b->failed = true;
        return;
    }
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        if (cap > b->max)
            cap = b->max;
        char *d = realloc(b->data, cap);
        if (!d) {
            b->failed = true;
            return;
        }
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = 0;
}

void buf_str(struct buf *b, const char *s)
{
    buf_add(b, s, strlen(s));
}

void buf_int(struct buf *b, long long v)
{
    char t[24];
    int n = snprintf(t, sizeof(t), "%lld", v);
    buf_add(b, t, (size_t)n);
}

void buf_html(struct buf *b, const char *s, size_t n)
{
    size_t from = 0;
    for (size_t i = 0; i < n; i++) {
        const char *rep = NULL;
        switch (s[i]) {
        case '&':
            rep = "&amp;";
            break;
        case '<':
            rep = "&lt;";
            break;
        case '>':
            rep = "&gt;";
            break;
        case '"':
            rep = "&quot;";
            break;
        case '\'':
            rep = "&#39;";
            break;
        case '\0':
            rep = "\xEF\xBF\xBD"; /* U+FFFD */
            break;
        default:
            continue;
        }
        buf_add(b, s + from, i - from);
        buf_str(b, rep);
        from = i + 1;
    }
    buf_add(b, s + from, n - from);
}

void buf_free(struct buf *b)
{
    free(b->data);
    buf_init(b, b->max);
}
