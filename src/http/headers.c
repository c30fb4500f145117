/* headers.c - strict parsers of Host and X-Forwarded-For/-Proto (see headers.h). */
#include <arpa/inet.h>
#include <string.h>
#include <strings.h>

#include "core/util.h"
#include "http/headers.h"

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool is_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '.' ||
           c == '-' || c == '_';
}

static bool is_ows(char c)
{
    return c == ' ' || c == '\t';
}

bool http_host_parse(const char *value, char *ret_host, size_t cap)
{
    size_t len = strlen(value);
    if (len == 0 || len > HTTP_HOST_MAX)
        return false;
    const char *p = value, *host_end;
    if (*p == '[') {
        const char *close = strchr(p, ']');
        if (!close || close - p - 1 >= HTTP_IP_MAX)
            return false;
        char ip[HTTP_IP_MAX];
        memcpy(ip, p + 1, (size_t)(close - p - 1));
        ip[close - p - 1] = 0;
        unsigned char tmp[16];
        if (inet_pton(AF_INET6, ip, tmp) != 1)
            return false;
        host_end = close + 1;
    } else {
        host_end = p;
        while (is_name_char(*host_end))
            host_end++;
        if (host_end == p)
            return false;
    }
    if (*host_end == ':') {
        const char *d = host_end + 1;
        size_t n = 0;
        unsigned port = 0;
        for (; is_digit(d[n]); n++) {
            if (n == 5)
                return false;
            port = port * 10 + (unsigned)(d[n] - '0');
        }
        if (n == 0 || d[n] != 0 || port > 65535)
            return false;
    } else if (*host_end != 0) {
        return false;
    }
    size_t hl = (size_t)(host_end - value);
    if (hl + 1 > cap)
        return false;
    memcpy(ret_host, value, hl);
    ret_host[hl] = 0;
    return true;
}

/* The comma-separated entry of line that ends at end (exclusive), without its
 * surrounding spaces: [*ret_s, *ret_e). Returns where the line goes on to the
 * left (the comma before the entry), or NULL when the entry is the first. */
static const char *entry_before(const char *line, const char *end, const char **ret_s,
                                const char **ret_e)
{
    const char *s = end, *e = end;
    while (s > line && s[-1] != ',')
        s--;
    const char *left = s > line ? s - 1 : NULL;
    while (s < e && is_ows(*s))
        s++;
    while (e > s && is_ows(e[-1]))
        e--;
    *ret_s = s;
    *ret_e = e;
    return left;
}

/* The entry of line that ends at *end into out; moves *end to the comma before
 * it and sets *ret_more when there is one. False when the entry is no IP address. */
static bool prev_entry(const char *line, const char **end, bool *ret_more, char *out, size_t cap)
{
    const char *s, *e;
    const char *left = entry_before(line, *end, &s, &e);
    *ret_more = left != NULL;
    *end = left ? left : line;
    size_t n = (size_t)(e - s);
    if (n == 0 || n >= cap || n >= HTTP_IP_MAX)
        return false;
    memcpy(out, s, n);
    out[n] = 0;
    unsigned char tmp[16];
    return inet_pton(AF_INET, out, tmp) == 1 || inet_pton(AF_INET6, out, tmp) == 1;
}

void http_forwarded_for(const char *peer, const char *const *lines, size_t nlines,
                        http_trust_fn trusted, void *ctx, char *ret_ip, size_t cap)
{
    str_copy(ret_ip, cap, peer);
    if (!trusted(ctx, peer))
        return;
    for (size_t li = nlines; li-- > 0;) {
        const char *line = lines[li];
        const char *end = line + strlen(line);
        bool more = true;
        while (more) {
            char entry[HTTP_IP_MAX];
            if (!prev_entry(line, &end, &more, entry, sizeof(entry)))
                return; /* garbage: keep the last address believed */
            str_copy(ret_ip, cap, entry);
            if (!trusted(ctx, entry))
                return;
        }
    }
}

bool http_forwarded_https(const char *const *lines, size_t nlines, bool *ret_https)
{
    if (nlines == 0)
        return false;
    const char *line = lines[nlines - 1], *s, *e;
    (void)entry_before(line, line + strlen(line), &s, &e);
    size_t n = (size_t)(e - s);
    if (n == 5 && strncasecmp(s, "https", 5) == 0) {
        *ret_https = true;
        return true;
    }
    if (n == 4 && strncasecmp(s, "http", 4) == 0) {
        *ret_https = false;
        return true;
    }
    return false;
}

bool http_accepts(const char *value, const char *token)
{
    size_t tn = strlen(token);
    const char *p = value;
    while (p && *p) {
        p += strspn(p, " \t,");
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        size_t name = strcspn(p, " \t;,");
        if (name > len)
            name = len;
        if (name == tn && strncasecmp(p, token, tn) == 0) {
            const char *q = p + name;
            const char *qv = NULL;
            for (; q < p + len; q++)
                if ((*q == 'q' || *q == 'Q') && q[1] == '=') {
                    qv = q + 2;
                    break;
                }
            /* q=0, q=0.0, q=0.000: refused */
            if (!qv)
                return true;
            bool zero = *qv == '0';
            for (const char *d = qv + 1; zero && d < p + len && *d != ';' && *d != ' '; d++)
                zero = *d == '.' || *d == '0';
            return !zero;
        }
        p = end ? end + 1 : NULL;
    }
    return false;
}
