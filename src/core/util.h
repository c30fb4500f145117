/* util.h - cleanup attributes, ownership macros, time and string helpers. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

static inline void freep(void *p)
{
    free(*(void **)p);
}
static inline void closep(int *fd)
{
    if (*fd >= 0)
        close(*fd);
}

#define _cleanup_(f)    __attribute__((cleanup(f)))
#define _cleanup_free_  _cleanup_(freep)
#define _cleanup_close_ _cleanup_(closep)

/* Hand ownership out of a cleanup variable: the variable becomes NULL / -1. */
#define TAKE_PTR(p)                                                                                \
    ({                                                                                             \
        __typeof__(p) _p = (p);                                                                    \
        (p) = NULL;                                                                                \
        _p;                                                                                        \
    })
#define TAKE_FD(fd)                                                                                \
    ({                                                                                             \
        int _fd = (fd);                                                                            \
        (fd) = -1;                                                                                 \
        _fd;                                                                                       \
    })

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Wall clock, microseconds since the epoch. */
int64_t now_us(void);
/* Monotonic clock, microseconds. */
int64_t mono_us(void);

/* Formats t (µs since epoch, UTC) as RFC 3339 in the process time zone with
 * microseconds: "2026-11-26T13:35:40.123456+03:00". out must hold 40 bytes. */
void time_format(int64_t t, char out[40]);
/* Parses RFC 3339 ("2026-11-26T10:00:00Z", "...T10:00:00.5+03:00", also a space
 * instead of T). False on anything else. */
bool time_parse(const char *s, int64_t *ret);

/* Copies src into dst (size dstlen), always NUL-terminating. Returns false when
 * src did not fit (dst then holds a truncated copy). */
bool str_copy(char *dst, size_t dstlen, const char *src);

/* Characters (code points) in the UTF-8 text s[0..n): bytes that do not
 * continue a sequence. */
size_t utf8_chars(const char *s, size_t n);

/* Parses a whole decimal int64 (optional leading '-'); false on junk/overflow. */
bool parse_int64(const char *s, int64_t *ret);
