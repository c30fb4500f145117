/* router.c - matches a request path against a route table, capturing {segments}. */
#include <string.h>

#include "http/req.h"
#include "http/route.h"

/* Compares one pattern against a path (pathlen bytes), capturing {param}
 * segments. The literal head of the pattern (up to its first '{') is
 * compared at once: every request is tried against every row, and most rows
 * differ from the path a few bytes after a long shared "/api/v1/". */
static bool match_one(const char *pattern, const char *path, size_t pathlen, const char **params,
                      size_t *nparams, char *buf, size_t buflen)
{
    const char *head_end = strchrnul(pattern, '{');
    size_t head = (size_t)(head_end - pattern);
    if (*head_end == 0 ? head != pathlen : head > pathlen)
        return false;
    if (memcmp(pattern, path, head) != 0)
        return false;
    size_t n = 0, bi = 0;
    const char *p = head_end, *s = path + head;
    while (*p && *s) {
        if (*p == '{') {
            const char *pe = strchr(p, '}');
            /* "{*name}" takes the rest of the path, slashes included */
            const char *se = p[1] == '*' ? NULL : strchr(s, '/');
            size_t len = se ? (size_t)(se - s) : strlen(s);
            if (len == 0 || n == REQ_MAX_PARAMS || bi + len + 1 > buflen)
                return false;
            memcpy(buf + bi, s, len);
            buf[bi + len] = 0;
            params[n++] = buf + bi;
            bi += len + 1;
            p = pe + 1;
            s += len;
            continue;
        }
        if (*p != *s)
            return false;
        p++;
        s++;
    }
    if (*p || *s)
        return false;
    *nparams = n;
    return true;
}

const struct route *route_match(const struct route_table *t, const char *path, int method,
                                unsigned *ret_allowed, const char **params, size_t *nparams,
                                char *buf, size_t buflen)
{
    const struct route *found = NULL;
    unsigned allowed = 0;
    size_t pathlen = strlen(path);
    for (size_t i = 0; i < t->n; i++) {
        const struct route *row = &t->rows[i];
        const char *tmp[REQ_MAX_PARAMS];
        size_t tn = 0;
        if (!match_one(row->pattern, path, pathlen, tmp, &tn, buf, buflen))
            continue;
        allowed |= row->method;
        if (row->method & M_GET)
            allowed |= M_HEAD;
        if (!found && ((int)row->method == method || (method == M_HEAD && row->method == M_GET))) {
            found = row;
            memcpy(params, tmp, sizeof(tmp[0]) * tn);
            *nparams = tn;
        }
    }
    if (allowed)
        allowed |= M_OPTIONS;
    *ret_allowed = allowed;
    /* buf may have been overwritten by a later candidate: re-capture */
    if (found)
        match_one(found->pattern, path, pathlen, params, nparams, buf, buflen);
    return found;
}
