/* req.c - request accessors and the answer helpers handlers use. */
#include <dlfcn.h>
#include <unistd.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/json.h"
#include "core/log.h"
#include "core/util.h"
#include "http/headers.h"
#include "http/internal.h"
#include "http/req.h"
#include "http/work.h"

static bool is_ows(char c)
{
    return c == ' ' || c == '\t';
}

/* A copy of s[0..n) that lives until the request ends; NULL on out of memory. */
static const char *req_keep(struct req *r, const char *s, size_t n)
{
    struct req_mem *m = malloc(sizeof(*m) + n + 1);
    if (!m)
        return NULL;
    memcpy(m->data, s, n);
    m->data[n] = 0;
    m->next = r->mem;
    r->mem = m;
    return m->data;
}

const char *req_header(struct req *r, const char *name)
{
    const char *v = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
    if (!v)
        return NULL;
    while (is_ows(*v))
        v++;
    size_t n = strlen(v);
    if (n == 0 || !is_ows(v[n - 1]))
        return v; /* the common case: nothing to trim, no copy */
    while (n && is_ows(v[n - 1]))
        n--;
    return req_keep(r, v, n);
}

struct lines {
    const char *name;
    const char **out;
    size_t cap, n;
};

static enum MHD_Result collect_line(void *cls, enum MHD_ValueKind kind, const char *key,
                                    const char *value)
{
    struct lines *l = cls;
    (void)kind;
    if (!key || strcasecmp(key, l->name) != 0)
        return MHD_YES;
    if (l->n < l->cap)
        l->out[l->n] = value ? value : "";
    l->n++;
    return MHD_YES;
}

size_t req_header_lines(struct req *r, const char *name, const char **out, size_t cap)
{
    struct lines l = {name, out, cap, 0};
    MHD_get_connection_values(r->conn, MHD_HEADER_KIND, collect_line, &l);
    return l.n;
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

struct each_arg {
    bool (*fn)(void *ctx, const char *name, const char *value);
    void *ctx;
};

static enum MHD_Result each_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                const char *value)
{
    struct each_arg *ea = cls;
    (void)kind;
    return ea->fn(ea->ctx, key ? key : "", value ? value : "") ? MHD_YES : MHD_NO;
}

void req_query_each(struct req *r, bool (*fn)(void *ctx, const char *name, const char *value),
                    void *ctx)
{
    struct each_arg ea = {fn, ctx};
    MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, each_arg, &ea);
}

const char *req_param(struct req *r, size_t i)
{
    return i < r->nparams ? r->params[i] : "";
}

const char *req_cookie(struct req *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_COOKIE_KIND, name);
}

bool req_https(struct req *r)
{
    if (!config_proxy_trusted(&r->app->cfg, r->peer_ip))
        return false;
    const char *lines[REQ_FORWARDED_LINES];
    size_t n = req_header_lines(r, "X-Forwarded-Proto", lines, ARRAY_SIZE(lines));
    bool https;
    return n <= ARRAY_SIZE(lines) && http_forwarded_https(lines, n, &https) && https;
}

bool req_accepts_encoding(struct req *r, const char *coding)
{
    const char *lines[8];
    size_t n = req_header_lines(r, "Accept-Encoding", lines, ARRAY_SIZE(lines));
    for (size_t i = 0; i < n && i < ARRAY_SIZE(lines); i++)
        if (http_accepts(lines[i], coding))
            return true;
    return false;
}

void req_base_url(struct req *r, char *out, size_t outlen)
{
    const char *host = req_header(r, "Host"); /* checked by http_host_parse in begin() */
    snprintf(out, outlen, "%s://%s", req_https(r) ? "https" : "http", host ? host : "localhost");
}

void req_add_header(struct req *r, const char *name, const char *fmt, ...)
{
    if (r->nheaders == r->headers_cap) {
        size_t cap = r->headers_cap ? r->headers_cap * 2 : 4;
        struct req_header *nh = realloc(r->headers, cap * sizeof(*nh));
        if (!nh) {
            log_error("out of memory adding response header %s", name);
            return;
        }
        r->headers = nh;
        r->headers_cap = cap;
    }
    char *value = NULL;
    va_list ap;
    va_start(ap, fmt);
    int n = vasprintf(&value, fmt, ap);
    va_end(ap);
    if (n < 0) {
        log_error("out of memory adding response header %s", name);
        return;
    }
    r->headers[r->nheaders++] = (struct req_header){name, value};
}

const char *req_outcome(const struct req *r, char *out, size_t outlen)
{
    if (r->pending_err) {
        const struct err_info *info = err_info(r->pending_err);
        snprintf(out, outlen, "refused with %d %s%s%s%s", info->status, info->name,
                 r->detail[0] ? " (" : "", r->detail, r->detail[0] ? ")" : "");
    } else if (r->ended) {
        snprintf(out, outlen, "%s", r->ended);
    } else if (r->status) {
        snprintf(out, outlen, "answered %d", r->status);
    } else {
        snprintf(out, outlen, "not answered");
    }
    return out;
}

void req_release(struct req *r)
{
    if (r->resp)
        MHD_destroy_response(r->resp);
    r->resp = NULL;
    principal_clear(&r->principal);
    for (size_t i = 0; i < r->nheaders; i++)
        free(r->headers[i].value);
    free(r->headers);
    r->headers = NULL;
    r->nheaders = r->headers_cap = 0;
    while (r->mem) {
        struct req_mem *next = r->mem->next;
        free(r->mem);
        r->mem = next;
    }
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

/* The fixed headers of each response profile (route.h). Every answer is
 * nosniff and unframeable; the profile decides what may render and be cached. */
static const struct {
    const char *csp;
    const char *cache;
    const char *extra_name, *extra_value;
} profiles[PROFILE__MAX] = {
    [PROFILE_API] = {"default-src 'none'; frame-ancestors 'none'", "no-store", NULL, NULL},
    [PROFILE_ASSET] = {"default-src 'none'; frame-ancestors 'none'",
                       "public, max-age=31536000, immutable", NULL, NULL},
    [PROFILE_PAGE] = {"default-src 'none'; script-src 'self'; style-src 'self'; "
                      "img-src 'self' data:; font-src 'self'; connect-src 'self'; "
                      "form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
                      "no-cache", NULL, NULL},
    [PROFILE_TUS] = {"default-src 'none'; frame-ancestors 'none'", "no-store", "Tus-Resumable",
                     "1.0.0"},
};

static void add_profile_headers(struct MHD_Response *resp, enum profile p)
{
    if ((unsigned)p >= PROFILE__MAX)
        p = PROFILE_API;
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, "X-Frame-Options", "DENY");
    MHD_add_response_header(resp, "Referrer-Policy", "same-origin");
    MHD_add_response_header(resp, "Content-Security-Policy", profiles[p].csp);
    MHD_add_response_header(resp, "Cache-Control", profiles[p].cache);
    if (profiles[p].extra_name)
        MHD_add_response_header(resp, profiles[p].extra_name, profiles[p].extra_value);
}

/* A page from another origin listed in CSRF_TRUSTED_ORIGINS may use the
 * protocol routes (tus clients in the browser): it gets to read the answer and
 * the protocol's headers. Same-origin requests need none of this. */
static void add_cors_headers(struct req *r, struct MHD_Response *resp)
{
    const char *origin = req_header(r, "Origin");
    if (!origin || !config_origin_trusted(&r->app->cfg, origin))
        return;
    MHD_add_response_header(resp, "Access-Control-Allow-Origin", origin);
    MHD_add_response_header(resp, "Vary", "Origin");
    MHD_add_response_header(resp, "Access-Control-Expose-Headers",
                            "Location, Upload-Offset, Upload-Length, Upload-Metadata, "
                            "Upload-Expires, Tus-Resumable, Tus-Version, Tus-Extension, "
                            "Tus-Max-Size, Tus-Checksum-Algorithm, Archive-Id, Archive-Sha256");
}

typedef enum MHD_Result (*queue_fn)(struct MHD_Connection *, unsigned int, struct MHD_Response *);
static queue_fn mhd_queue;
static pthread_once_t mhd_queue_once = PTHREAD_ONCE_INIT;

static void find_mhd_queue(void)
{
    mhd_queue = (queue_fn)dlsym(RTLD_NEXT, "MHD_queue_response");
}

/* libmicrohttpd's own MHD_queue_response: every answer of ours goes through it. */
static enum MHD_Result real_queue(struct MHD_Connection *c, unsigned status,
                                  struct MHD_Response *resp)
{
    pthread_once(&mhd_queue_once, find_mhd_queue);
    if (!mhd_queue) {
        log_error("libmicrohttpd's MHD_queue_response not found");
        return MHD_NO;
    }
    return mhd_queue(c, status, resp);
}

/*
 * libmicrohttpd answers some requests itself, before any callback of ours: a
 * request head over LIMIT_CONN_MEMORY (431), a malformed request line or
 * header or chunked framing (400), an HTTP version it does not speak (505). Its
 * page is HTML without a content type or our security headers. Its internal
 * calls to MHD_queue_response go through the PLT, so this definition in our
 * binary takes them: the page becomes our JSON error, with the same headers as
 * every other answer. Our own answers call real_queue and never come here.
 * tests/api/http.test.mjs checks that the substitution holds.
 */
enum MHD_Result MHD_queue_response(struct MHD_Connection *connection, unsigned int status_code,
                                   struct MHD_Response *response)
{
    const struct err_info *info = err_info(err_for_status((int)status_code));
    json_t *body = json_pack("{s:s}", "detail", info->detail);
    size_t len = 0;
    char *text = body ? json_dump_compact(body, &len) : NULL;
    json_decref(body);
    struct MHD_Response *mine =
        text ? MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE) : NULL;
    if (!mine) {
        free(text);
        add_profile_headers(response, PROFILE_API); /* at least the headers, on its page */
        return real_queue(connection, status_code, response);
    }
    MHD_add_response_header(mine, "Content-Type", "application/json");
    add_profile_headers(mine, PROFILE_API);
    enum MHD_Result ok = real_queue(connection, status_code, mine);
    MHD_destroy_response(mine);
    return ok;
}

/* Keeps resp as the request's one answer (req_send queues it). */
static enum err keep(struct req *r, int status, struct MHD_Response *resp, uint64_t len)
{
    if (r->resp) {
        MHD_destroy_response(resp);
        log_error("%s %s: a second answer (%d after %d)", r->method_str, r->path ? r->path : "-",
                  status, r->resp_status);
        return ERR_INTERNAL;
    }
    r->resp = resp;
    r->resp_status = status;
    r->resp_bytes = len;
    return ERR_OK;
}

enum MHD_Result req_send(struct req *r)
{
    struct MHD_Response *resp = r->resp;
    if (!resp)
        return MHD_YES;
    r->resp = NULL;
    add_profile_headers(resp, r->profile);
    if (r->profile == PROFILE_TUS) {
        add_cors_headers(r, resp);
        /* libmicrohttpd (0.9.75) zeroes the whole connection pool when a
         * connection is kept for another request, so a kept idle connection
         * holds LIMIT_CONN_MEMORY resident. A tus connection is kept only
         * after a PATCH that left its upload incomplete, when the client's
         * next PATCH follows at once; every other tus answer closes it
         * (docs/performance.md, "Connection memory"). */
        if (!r->keep_alive)
            MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
    }
    for (size_t i = 0; i < r->nheaders; i++)
        MHD_add_response_header(resp, r->headers[i].name, r->headers[i].value);
    enum MHD_Result ok = real_queue(r->conn, (unsigned)r->resp_status, resp);
    MHD_destroy_response(resp);
    if (ok == MHD_YES) {
        r->status = r->resp_status;
        r->answered = true;
    }
    return ok;
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
    return keep(r, status, resp, len);
}

enum err req_reply_static(struct req *r, int status, const char *content_type, const void *data,
                          size_t len)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(len, (void *)data, MHD_RESPMEM_PERSISTENT);
    if (!resp)
        return ERR_NOMEM;
    if (content_type)
        MHD_add_response_header(resp, "Content-Type", content_type);
    return keep(r, status, resp, len);
}

enum err req_reply_file(struct req *r, int status, int fd, uint64_t offset, uint64_t len)
{
    struct MHD_Response *resp = MHD_create_response_from_fd_at_offset64(len, fd, offset);
    if (!resp) {
        close(fd);
        return ERR_NOMEM;
    }
    return keep(r, status, resp, len);
}

enum err req_reply_json(struct req *r, int status, json_t *body)
{
    if (!body)
        return ERR_NOMEM; /* a json_pack that failed: never an empty 200 */
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
    return keep(r, status, resp, len);
}

enum err req_reply_empty(struct req *r, int status)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
    if (!resp)
        return ERR_NOMEM;
    return keep(r, status, resp, 0);
}

enum err req_defer(struct req *r, void (*work)(struct req *r), enum err (*done)(struct req *r))
{
    r->work = work;
    r->done = done;
    r->retake = false;
    return ERR_OK;
}

enum err req_defer_retake(struct req *r, void (*work)(struct req *r))
{
    r->work = work;
    r->done = NULL;
    r->retake = true;
    return ERR_OK;
}
