/* req.c - request accessors and the answer helpers handlers use. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/json.h"
#include "core/log.h"
#include "core/util.h"
#include "http/req.h"
#include "http/work.h"

const char *req_header(struct req *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

const char *req_query(struct req *r, const char *name)
{
    const char *v = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
    if (!v) {
        /* "?resolved" without '=' is reported by MHD as present with a NULL value */
        const char *val = NULL;
        if (MHD_lookup_connection_value_n(r->conn, MHD_GET_ARGUMENT_KIND, name, strlen(name), &val,
                                          NULL) == MHD_YES)
            return val ? val : "";
    }
    return v;
}

const char *req_param(struct req *r, size_t i)
{
    return i < r->nparams ? r->params[i] : "";
}

void req_base_url(struct req *r, char *out, size_t outlen)
{
    const char *scheme = "http";
    if (config_proxy_trusted(&r->app->cfg, r->peer_ip)) {
        const char *p = req_header(r, "X-Forwarded-Proto");
        if (p && strcasecmp(p, "https") == 0)
            scheme = "https";
    }
    const char *host = req_header(r, "Host");
    snprintf(out, outlen, "%s://%s", scheme, host ? host : "localhost");
}

void req_add_header(struct req *r, const char *name, const char *fmt, ...)
{
    if (r->nheaders == REQ_MAX_HEADERS)
        return;
    r->headers[r->nheaders].name = name;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->headers[r->nheaders].value, sizeof(r->headers[0].value), fmt, ap);
    va_end(ap);
    r->nheaders++;
}

enum err req_fail(struct req *r, enum err e, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->detail, sizeof(r->detail), fmt, ap);
    va_end(ap);
    return e;
}

enum err req_invalid(struct req *r, const char *field, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (!r->field_errors)
        r->field_errors = json_object();
    if (!r->field_errors)
        return ERR_NOMEM;
    json_t *list = json_object_get(r->field_errors, field);
    if (!list) {
        list = json_array();
        json_object_set_new(r->field_errors, field, list);
    }
    json_array_append_new(list, json_string(msg));
    return ERR_VALIDATION;
}

/* Security headers on every answer: JSON never renders, never frames, never sniffs. */
static void add_common_headers(struct req *r, struct MHD_Response *resp)
{
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, "X-Frame-Options", "DENY");
    MHD_add_response_header(resp, "Referrer-Policy", "same-origin");
    MHD_add_response_header(resp, "Content-Security-Policy",
                            "default-src 'none'; frame-ancestors 'none'");
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    for (size_t i = 0; i < r->nheaders; i++)
        MHD_add_response_header(resp, r->headers[i].name, r->headers[i].value);
}

static enum err queue(struct req *r, int status, struct MHD_Response *resp, uint64_t len)
{
    add_common_headers(r, resp);
    enum MHD_Result ok = MHD_queue_response(r->conn, (unsigned)status, resp);
    MHD_destroy_response(resp);
    if (ok != MHD_YES)
        return ERR_INTERNAL;
    r->status = status;
    r->resp_bytes = len;
    r->answered = true;
    return ERR_OK;
}

enum err req_reply_response(struct req *r, int status, struct MHD_Response *resp, uint64_t len)
{
    return queue(r, status, resp, len);
}

enum err req_reply_bytes(struct req *r, int status, const char *content_type, const void *data,
                         size_t len)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(len, (void *)data, MHD_RESPMEM_MUST_COPY);
    if (!resp)
        return ERR_NOMEM;
    if (content_type)
        MHD_add_response_header(resp, "Content-Type", content_type);
    return queue(r, status, resp, len);
}

enum err req_reply_json(struct req *r, int status, json_t *body)
{
    if (!body)
        return req_reply_empty(r, status);
    size_t len;
    char *s = json_dump_compact(body, &len);
    json_decref(body);
    if (!s)
        return ERR_NOMEM;
    struct MHD_Response *resp = MHD_create_response_from_buffer(len, s, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(s);
        return ERR_NOMEM;
    }
    MHD_add_response_header(resp, "Content-Type", "application/json");
    return queue(r, status, resp, len);
}

enum err req_reply_empty(struct req *r, int status)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
    if (!resp)
        return ERR_NOMEM;
    return queue(r, status, resp, 0);
}

enum err req_defer(struct req *r, void (*work)(struct req *r), enum err (*done)(struct req *r))
{
    r->work = work;
    r->done = done;
    return ERR_OK;
}
