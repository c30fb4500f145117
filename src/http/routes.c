/* routes.c - the route table: adding an endpoint is one handler and one row here. */
#include <string.h>

#include "api/api.h"
#include "http/req.h"
#include "http/server.h"

/* clang-format off */
const struct route routes[] = {
    {M_POST,   "/api/v1/auth/token",                api_auth_token,         0,          BODY_JSON, NULL},
    {M_POST,   "/api/v1/auth/token/refresh",        api_auth_refresh,       0,          BODY_JSON, NULL},
    {M_POST,   "/api/v1/auth/token/verify",         api_auth_verify,        0,          BODY_JSON, NULL},
    {M_GET,    "/api/v1/platforms",                 api_platform_list,      ROUTE_AUTH, BODY_NONE, NULL},
    {M_POST,   "/api/v1/platforms",                 api_platform_create,    ROUTE_AUTH, BODY_JSON, NULL},
    {M_GET,    "/api/v1/platforms/{name}",          api_platform_get,       ROUTE_AUTH, BODY_NONE, NULL},
    {M_PUT,    "/api/v1/platforms/{name}",          api_platform_put,       ROUTE_AUTH, BODY_JSON, NULL},
    {M_PATCH,  "/api/v1/platforms/{name}",          api_platform_patch,     ROUTE_AUTH, BODY_JSON, NULL},
    {M_DELETE, "/api/v1/platforms/{name}",          api_platform_delete,    ROUTE_AUTH, BODY_NONE, NULL},
    {M_GET,    "/api/v1/tickets",                   api_ticket_list,        ROUTE_AUTH, BODY_NONE, NULL},
    {M_POST,   "/api/v1/tickets",                   api_ticket_create,      ROUTE_AUTH, BODY_JSON, NULL},
    {M_GET,    "/api/v1/tickets/{number}",          api_ticket_get,         ROUTE_AUTH, BODY_NONE, NULL},
    {M_PUT,    "/api/v1/tickets/{number}",          api_ticket_put,         ROUTE_AUTH, BODY_JSON, NULL},
    {M_PATCH,  "/api/v1/tickets/{number}",          api_ticket_patch,       ROUTE_AUTH, BODY_JSON, NULL},
    {M_DELETE, "/api/v1/tickets/{number}",          api_ticket_delete,      ROUTE_AUTH, BODY_NONE, NULL},
    {M_POST,   "/api/v1/tickets/{number}/token",    api_ticket_new_token,   ROUTE_AUTH, BODY_JSON, NULL},
    {M_POST,   "/api/v1/archives",                  NULL,                   0,          BODY_STREAM, &api_upload_post_ops},
    {M_GET,    "/api/v1/archives",                  api_archive_list,       ROUTE_AUTH, BODY_NONE, NULL},
    {M_GET,    "/api/v1/archives/{id}",             api_archive_get,        ROUTE_AUTH, BODY_NONE, NULL},
    {M_PATCH,  "/api/v1/archives/{id}",             api_archive_patch,      ROUTE_AUTH, BODY_JSON, NULL},
    {M_DELETE, "/api/v1/archives/{id}",             api_archive_delete,     ROUTE_AUTH, BODY_NONE, NULL},
    {M_GET,    "/api/v1/archives/{id}/download",    api_archive_download,   ROUTE_AUTH, BODY_NONE, NULL},
    {M_PUT,    "/upload/{token}/{*filename}",       NULL,                   0,          BODY_STREAM, &api_upload_put_ops},
    {M_PUT,    "/upload/{token}",                   NULL,                   0,          BODY_STREAM, &api_upload_put_ops},
    {M_GET,    "/api/v1/check/health",              api_check_health,       0,          BODY_NONE, NULL},
    {M_GET,    "/api/v1/check/storage",             api_check_storage,      ROUTE_AUTH, BODY_NONE, NULL},
    {M_GET,    "/api/v1/check/token",               api_check_token_hint,   0,          BODY_NONE, NULL},
    {M_GET,    "/api/v1/check/token/{token}",       api_check_token,        0,          BODY_NONE, NULL},
    {M_GET,    "/api/v1/schema",                    api_schema,             ROUTE_AUTH, BODY_NONE, NULL},
};
/* clang-format on */
const size_t routes_count = sizeof(routes) / sizeof(routes[0]);

/* Compares one pattern against a path, capturing {param} segments. */
static bool match_one(const char *pattern, const char *path, const char **params, size_t *nparams,
                      char *buf, size_t buflen)
{
    size_t n = 0, bi = 0;
    const char *p = pattern, *s = path;
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

const struct route *route_match(const char *path, int method, unsigned *ret_allowed,
                                const char **params, size_t *nparams, char *buf, size_t buflen)
{
    const struct route *found = NULL;
    unsigned allowed = 0;
    for (size_t i = 0; i < routes_count; i++) {
        const char *tmp[REQ_MAX_PARAMS];
        size_t tn = 0;
        if (!match_one(routes[i].pattern, path, tmp, &tn, buf, buflen))
            continue;
        allowed |= routes[i].method;
        if (routes[i].method & M_GET)
            allowed |= M_HEAD;
        if (!found &&
            ((int)routes[i].method == method || (method == M_HEAD && routes[i].method == M_GET))) {
            found = &routes[i];
            memcpy(params, tmp, sizeof(tmp[0]) * tn);
            *nparams = tn;
        }
    }
    if (allowed)
        allowed |= M_OPTIONS;
    *ret_allowed = allowed;
    /* buf may have been overwritten by a later candidate: re-capture */
    if (found)
        match_one(found->pattern, path, params, nparams, buf, buflen);
    return found;
}
