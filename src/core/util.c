/* util.c - time and string helpers shared by every layer. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/util.h"

int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void time_format(int64_t t, char out[40])
{
    time_t secs = (time_t)(t >= 0 ? t / 1000000 : (t - 999999) / 1000000);
    int usec = (int)(t - (int64_t)secs * 1000000);
    struct tm tm;
    localtime_r(&secs, &tm);
    /* RFC 3339 offsets are whole minutes; a zone's local mean time before
     * standard time (Moscow until 1919: +02:30:17) is not: show such a time
     * in UTC rather than an offset that reads back as another instant */
    if (tm.tm_gmtoff % 60 != 0)
        gmtime_r(&secs, &tm);
    long off = tm.tm_gmtoff;
    char sign = off < 0 ? '-' : '+';
    if (off < 0)
        off = -off;
    char buf[128];
    snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%06d%c%02ld:%02ld", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, usec, sign, off / 3600,
             (off % 3600) / 60);
    str_copy(out, 40, buf);
}

static bool digits(const char **p, int n, int *ret)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*p)[i]))
            return false;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *ret = v;
    return true;
}

bool time_parse(const char *s, int64_t *ret)
{
    int Y, M, D, h, m, sec, usec = 0, off = 0;
    const char *p = s;
    if (!s || !digits(&p, 4, &Y) || *p++ != '-' || !digits(&p, 2, &M) || *p++ != '-' ||
        !digits(&p, 2, &D) || (*p != 'T' && *p != 't' && *p != ' '))
        return false;
    p++;
    if (!digits(&p, 2, &h) || *p++ != ':' || !digits(&p, 2, &m) || *p++ != ':' ||
        !digits(&p, 2, &sec))
        return false;
    if (*p == '.') {
        p++;
        int n = 0;
        while (isdigit((unsigned char)*p)) {
            if (n < 6) {
                usec = usec * 10 + (*p - '0');
                n++;
            }
            p++;
        }
        if (n == 0)
            return false;
        for (; n < 6; n++)
            usec *= 10;
    }
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int sign = *p == '-' ? -1 : 1, oh, om;
        p++;
        if (!digits(&p, 2, &oh) || *p++ != ':' || !digits(&p, 2, &om) || oh > 23 || om > 59)
            return false;
        off = sign * (oh * 3600 + om * 60);
    } else {
        return false;
    }
    if (*p || M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || m > 59 || sec > 60)
        return false;
    struct tm tm = {.tm_year = Y - 1900,
                    .tm_mon = M - 1,
                    .tm_mday = D,
                    .tm_hour = h,
                    .tm_min = m,
                    .tm_sec = sec};
    time_t t = timegm(&tm);
    if (tm.tm_mday != D) /* 31 February and friends */
        return false;
    *ret = ((int64_t)t - off) * 1000000 + usec;
    return true;
}

bool str_copy(char *dst, size_t dstlen, const char *src)
{
    if (dstlen == 0)
        return false;
    size_t n = strlen(src);
    bool fits = n < dstlen;
    if (!fits)
        n = dstlen - 1;
    memcpy(dst, src, n);
    dst[n] = 0;
    return fits;
}

bool parse_int64(const char *s, int64_t *ret)
{
    if (!s || !*s || isspace((unsigned char)*s))
        return false;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end)
        return false;
    *ret = v;
    return true;
}

size_t utf8_chars(const char *s, size_t n)
{
    size_t chars = 0;
    for (size_t i = 0; i < n; i++)
        chars += ((unsigned char)s[i] & 0xC0) != 0x80;
    return chars;
}
