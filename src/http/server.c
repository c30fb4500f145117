/* server.c - libmicrohttpd daemon: request pipeline, auth gate, access log, graceful stop. */
#include <arpa/inet.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include "auth/principal.h"
#include "core/json.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/util.h"
#include "http/connlimit.h"
#include "http/headers.h"
#include "http/internal.h"
#include "http/req.h"
#include "http/server.h"
#include "http/work.h"

struct server {
    struct MHD_Daemon *daemon;
    struct app *app;
    const struct route_table *routes;
    atomic_int active; /* requests between first callback and completion */
    struct connlimit *per_ip;
    uint16_t port; /* the bound port (BIND may say 0: any free one) */
};

static const struct {
    enum method m;
    const char *name;
} methods[] = {
    {M_GET, "GET"},     {M_HEAD, "HEAD"},     {M_POST, "POST"},       {M_PUT, "PUT"},
    {M_PATCH, "PATCH"}, {M_DELETE, "DELETE"}, {M_OPTIONS, "OPTIONS"},
};

static enum method method_parse(const char *s)
{
    for (size_t i = 0; i < ARRAY_SIZE(methods); i++)
        if (strcmp(s, methods[i].name) == 0)
            return methods[i].m;
    return 0;
}

static void allow_header(unsigned mask, char *out, size_t outlen)
{
    out[0] = 0;
    for (size_t i = 0; i < ARRAY_SIZE(methods); i++) {
        if (!(mask & methods[i].m))
            continue;
        if (out[0])
            strncat(out, ", ", outlen - strlen(out) - 1);
        strncat(out, methods[i].name, outlen - strlen(out) - 1);
    }
}

/* Prepares the error answer for e ({"detail": ...} or the field errors) in
 * place of any answer the handler prepared, and sends it. */
static enum MHD_Result answer_error(struct req *r, enum err e)
{
    const struct err_info *info = err_info(e);
    if (r->routes && r->routes->error_page && info->status < 500) {
        struct MHD_Response *had = r->resp;
        r->resp = NULL;
        if (r->routes->error_page(r, info->status) == ERR_OK && r->resp) {
            if (had)
                MHD_destroy_response(had);
            return req_send(r);
        }
        r->resp = had;
    }
    if (info->status >= 500)
        log_error("%s %s: %s%s%s", r->method_str, r->path ? r->path : "-", info->name,
                  r->detail[0] ? ": " : "", r->detail);
    json_t *body;
    if (e == ERR_VALIDATION && r->field_errors) {
        body = r->field_errors;
        r->field_errors = NULL;
    } else {
        body = json_pack("{s:s}", "detail", r->detail[0] ? r->detail : info->detail);
        /* the "code" of simplejwt's 401s; a 500 met on the way has none */
        if (body && r->extra_code && info->status == 401)
            json_object_set_new(body, "code", json_string(r->extra_code));
    }
    if (info->status == 401)
        req_add_header(r, "WWW-Authenticate", "Bearer realm=\"api\"");
    if (r->resp) {
        MHD_destroy_response(r->resp);
        r->resp = NULL;
    }
    if (!body || req_reply_json(r, info->status, body) != ERR_OK)
        return MHD_NO;
    return req_send(r);
}

static void sockaddr_text(const struct sockaddr *sa, char *out, size_t outlen)
{
    str_copy(out, outlen, "-");
    if (sa && sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, out, (socklen_t)outlen);
    else if (sa && sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, out, (socklen_t)outlen);
}

static bool proxy_trusted(void *ctx, const char *ip)
{
    return config_proxy_trusted(ctx, ip);
}

/* Client address: the peer, or, behind trusted proxies, the address the
 * nearest untrusted hop was seen from (see http_forwarded_for). More
 * X-Forwarded-For lines than we read: the peer's own address. */
static void client_address(struct req *r)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    sockaddr_text(ci ? ci->client_addr : NULL, r->peer_ip, sizeof(r->peer_ip));
    const char *lines[REQ_FORWARDED_LINES];
    size_t n = req_header_lines(r, "X-Forwarded-For", lines, ARRAY_SIZE(lines));
    if (n > ARRAY_SIZE(lines))
        n = 0;
    http_forwarded_for(r->peer_ip, lines, n, proxy_trusted, (void *)&r->app->cfg, r->client_ip,
                       sizeof(r->client_ip));
}

struct header_scan {
    int content_length;
    int host;
    bool chunked;  /* Transfer-Encoding: chunked, alone */
    bool te_other; /* any other transfer coding (gzip, chunked / xchunked / ...) */
};

static enum MHD_Result scan_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                   const char *value)
{
    struct header_scan *hs = cls;
    (void)kind;
    if (!key)
        return MHD_YES;
    if (strcasecmp(key, "Content-Length") == 0) {
        hs->content_length++;
    } else if (strcasecmp(key, "Host") == 0) {
        hs->host++;
    } else if (strcasecmp(key, "Transfer-Encoding") == 0) {
        const char *v = value ? value : "";
        v += strspn(v, " \t");
        size_t n = strcspn(v, " \t");
        bool chunked = n == 7 && strncasecmp(v, "chunked", 7) == 0 && !v[n + strspn(v + n, " \t")];
        if (chunked && !hs->chunked && !hs->te_other)
            hs->chunked = true;
        else {
            hs->chunked = false;
            hs->te_other = true;
        }
    }
    return MHD_YES;
}

/* One Host line, well-formed (http_host_parse), naming an ALLOWED_HOSTS entry. */
static bool host_ok(struct req *r, const struct header_scan *hs)
{
    const char *host = req_header(r, "Host");
    char h[HTTP_HOST_MAX + 1];
    if (hs->host != 1 || !host || !http_host_parse(host, h, sizeof(h)))
        return false;
    return config_host_allowed(&r->app->cfg, h);
}

/* Whether Content-Type ct names media type `type` (case-insensitive; its
 * parameters, "; charset=..." or "; boundary=...", are not judged here). */
static bool media_type_is(const char *ct, const char *type)
{
    if (!ct)
        return false;
    size_t n = strlen(type);
    return strncasecmp(ct, type, n) == 0 && (ct[n] == 0 || ct[n] == ';' || ct[n] == ' ');
}

struct target_buf {
    char *buf; /* NULL: only measure */
    size_t len, cap;
};

static enum MHD_Result add_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                               const char *value)
{
    struct target_buf *t = cls;
    (void)kind;
    if (!t->buf) {
        t->len += 2 + strlen(key) + (value ? strlen(value) : 0);
        return MHD_YES;
    }
    int n = snprintf(t->buf + t->len, t->cap - t->len, "%c%s%s%s",
                     t->len && strchr(t->buf, '?') ? '&' : '?', key, value ? "=" : "",
                     value ? value : "");
    if (n > 0 && (size_t)n < t->cap - t->len)
        t->len += (size_t)n;
    return MHD_YES;
}

/*
 * Allocates the request's URL buffers in one block sized to this request:
 * path and param_buf (each as long as the URL) and target, the path as sent
 * plus the query arguments (libmicrohttpd hands them over decoded) for the
 * access log. Idle connections thus cost bytes, not pages.
 */
static enum err url_buffers(struct req *r, const char *url)
{
    size_t ulen = strlen(url);
    struct target_buf t = {NULL, ulen, 0};
    MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, add_arg, &t);
    size_t tlen = t.len < LIMIT_URL ? t.len : LIMIT_URL;
    r->urlmem = malloc(2 * (ulen + 1) + tlen + 1);
    if (!r->urlmem)
        return ERR_NOMEM;
    r->path = r->urlmem;
    r->param_buf = r->path + ulen + 1;
    r->target = r->param_buf + ulen + 1;
    memcpy(r->path, url, ulen + 1);
    t = (struct target_buf){r->target, 0, tlen + 1};
    str_copy(r->target, tlen + 1, url);
    t.len = strlen(r->target);
    MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, add_arg, &t);
    return ERR_OK;
}

/* Cuts the {token} segment in s to its first 8 characters and "...". */
static void mask_in(char *s, const char *tok, size_t n)
{
    char *at = s ? strstr(s, tok) : NULL;
    if (!at || n <= 8)
        return;
    size_t dots = n - 8 < 3 ? n - 8 : 3;
    memset(at + 8, '.', dots);
    memmove(at + 8 + dots, at + n, strlen(at + n) + 1);
}

/* Upload tokens are credentials: once the route has captured the {token}
 * segment, the path and the access-log target keep only a short prefix. */
static void mask_token(struct req *r)
{
    const char *pat = r->route->pattern, *tp = strstr(pat, "{token}");
    if (!tp)
        return;
    size_t idx = 0;
    for (const char *p = pat; p < tp; p++)
        idx += *p == '{';
    const char *tok = req_param(r, idx);
    size_t n = strlen(tok);
    mask_in(r->target, tok, n);
    mask_in(r->path, tok, n);
}

/* Stage 1, framing: one Content-Length or chunked, nothing else. */
static enum err stage_framing(struct req *r, const struct header_scan *hs)
{
    if (hs->content_length > 1 || (hs->content_length && (hs->chunked || hs->te_other)))
        return req_fail(r, ERR_BAD_REQUEST,
                        "Conflicting Content-Length / Transfer-Encoding headers.");
    if (hs->te_other)
        return req_fail(r, ERR_NOT_IMPLEMENTED,
                        "Only the chunked transfer coding is supported; send the body with "
                        "Content-Length or Transfer-Encoding: chunked.");
    const char *cl = req_header(r, "Content-Length");
    r->content_length = -1;
    if (cl && !parse_int64(cl, &r->content_length))
        return req_fail(r, ERR_BAD_REQUEST, "Invalid Content-Length.");
    r->chunked = hs->chunked;
    return ERR_OK;
}

/* Stage 3, route: the row for path and method. OPTIONS on a path without a
 * row of its own is answered here with Allow; a protocol that answers OPTIONS
 * itself (tus) has an OPTIONS row. */
static enum err stage_route(struct server *srv, struct req *r, size_t buflen)
{
    unsigned allowed = 0;
    r->method = method_parse(r->method_str);
    r->route = route_match(srv->routes, r->path, r->method, &allowed, r->params, &r->nparams,
                           r->param_buf, buflen);
    if (!allowed)
        return ERR_NO_ROUTE;
    if (r->route) {
        r->profile = r->route->profile;
        mask_token(r);
        return ERR_OK;
    }
    char allow[128];
    allow_header(allowed, allow, sizeof(allow));
    req_add_header(r, "Allow", "%s", allow);
    if (r->method == M_OPTIONS)
        return req_reply_empty(r, 200);
    return req_fail(r, ERR_METHOD, "Method \"%s\" not allowed.", r->method_str);
}

/* Stage 5, body: what the row takes, by content type and declared size. */
static enum err stage_body(struct req *r)
{
    const struct route *rt = r->route;
    int64_t declared = r->content_length;
    bool has_body = declared > 0 || r->chunked;
    const char *ct = req_header(r, "Content-Type");
    const char *want = rt->types ? rt->types : rt->body == BODY_JSON ? "application/json" : NULL;
    if (has_body && want && rt->body != BODY_NONE && !media_type_is(ct, want))
        return req_fail(r, ERR_MEDIA_TYPE, "Unsupported media type \"%s\" in request.",
                        ct ? ct : "");
    int64_t cap = rt->body == BODY_JSON && rt->max_body ? rt->max_body : LIMIT_JSON_BODY;
    if (rt->body != BODY_STREAM && declared > cap)
        return ERR_TOO_LARGE;
    if (rt->body == BODY_STREAM)
        return rt->stream->begin(r);
    return ERR_OK;
}

/* Stages 4 and 5, principal and body: they may read the store (a token, a
 * session, a resumable upload) and open files (a stream's begin). */
static enum err head_stages(struct req *r)
{
    enum err e = auth_resolve(r);
    return e ? e : stage_body(r);
}

/* Worker thread: the head stages of a stream row with ROUTE_WORKER. */
static void head_work(struct req *r)
{
    enum err e = head_stages(r);
    if (e)
        r->work_err = e;
}

/* Everything decided from the request head, before any body byte: the
 * stages framing, host, route, principal (auth_resolve) and body, in this
 * order; the handler runs once the body is in (complete). A stream row with
 * ROUTE_WORKER leaves principal and body to head_work (r->head_on_worker):
 * the caller suspends the connection for it. */
static enum err begin(struct server *srv, struct req *r, const char *url)
{
    client_address(r);
    struct header_scan hs = {0};
    MHD_get_connection_values(r->conn, MHD_HEADER_KIND, scan_header, &hs);
    if (strlen(url) >= LIMIT_URL)
        return req_fail(r, ERR_BAD_REQUEST, "Request URL is too long.");
    enum err e = url_buffers(r, url);
    if (e)
        return e;
    size_t n = strlen(r->path);
    while (n > 1 && r->path[n - 1] == '/')
        r->path[--n] = 0;

    e = stage_framing(r, &hs);
    if (!e && !host_ok(r, &hs))
        e = ERR_BAD_HOST;
    if (!e)
        e = stage_route(srv, r, strlen(url) + 1);
    if (e || r->resp)
        return e;
    if (r->route->body == BODY_STREAM && (r->route->flags & ROUTE_WORKER)) {
        r->head_on_worker = true;
        return req_defer(r, head_work, NULL);
    }
    return head_stages(r);
}

static enum err consume(struct req *r, const char *data, size_t len)
{
    switch (r->route->body) {
    case BODY_STREAM:
        return r->route->stream->data(r, data, len);
    case BODY_NONE:
        r->body_len += len;
        return r->body_len > LIMIT_JSON_BODY ? ERR_TOO_LARGE : ERR_OK;
    case BODY_JSON:
        break;
    }
    int64_t cap = r->route->max_body ? r->route->max_body : LIMIT_JSON_BODY;
    if ((int64_t)(r->body_len + len) > cap)
        return ERR_TOO_LARGE;
    if (r->body_len + len + 1 > r->body_cap) {
        size_t bcap = r->body_cap ? r->body_cap : 4096;
        while (bcap < r->body_len + len + 1)
            bcap *= 2;
        char *nb = realloc(r->body, bcap);
        if (!nb)
            return ERR_NOMEM;
        r->body = nb;
        r->body_cap = bcap;
    }
    memcpy(r->body + r->body_len, data, len);
    r->body_len += len;
    r->body[r->body_len] = 0;
    return ERR_OK;
}

/* Worker thread: a ROUTE_WORKER handler, run whole off the polling threads. */
static void handler_work(struct req *r)
{
    enum err e = r->route->handler(r);
    if (e)
        r->work_err = e;
}

/* Stage 6: the body is complete: parse it and run the handler (on the worker
 * pool for ROUTE_WORKER rows). */
static enum err complete(struct req *r)
{
    if (r->route->body == BODY_STREAM)
        return r->route->stream->end(r);
    if (r->route->body == BODY_JSON) {
        enum err e = json_parse_body(r->body ? r->body : "", r->body_len, &r->json, r->detail,
                                     sizeof(r->detail));
        if (e)
            return e;
        if (!json_is_object(r->json))
            return req_fail(r, ERR_BAD_REQUEST, "Invalid data. Expected a dictionary, but got %s.",
                            json_type_pyname(r->json));
    }
    if (r->route->flags & ROUTE_WORKER)
        return req_defer(r, handler_work, NULL);
    return r->route->handler(r);
}

/*
 * Whether a refusal decided before the body must wait for the body. A client
 * that sent `Expect: 100-continue` has sent nothing yet and gets the answer at
 * once. Any other client (and every reverse proxy: nginx answers 100 itself)
 * is already sending; libmicrohttpd can only answer early by closing with
 * unread bytes, which resets the connection and loses the answer (nginx turns
 * it into 502). So the body is read and dropped, up to LIMIT_DRAIN, and the
 * answer follows it. Bodies declared larger than that are answered at once.
 */
static bool must_drain(struct req *r)
{
    const char *expect = req_header(r, "Expect");
    if (expect && strcasecmp(expect, "100-continue") == 0)
        return false;
    if (r->content_length >= 0)
        return r->content_length > 0 && r->content_length <= LIMIT_DRAIN;
    return r->chunked;
}

static void run_job(void *arg)
{
    struct req *r = arg;
    r->work(r);
    r->work_done = true;
    MHD_resume_connection(r->conn);
}

/* Suspends the connection and queues r->work on the worker pool (the head
 * stages ahead of slow jobs); a full queue resumes at once with r->work_err =
 * ERR_BUSY, answered like the work's error. */
static void suspend_for_work(struct req *r)
{
    r->suspended = true;
    MHD_suspend_connection(r->conn);
    enum err se = r->head_on_worker ? work_submit_quick(run_job, r) : work_submit(run_job, r);
    if (se) {
        r->work_err = se;
        r->work_done = true;
        MHD_resume_connection(r->conn);
    }
}

/* After a handler step: send the error or the answer, or hand deferred work
 * to the pool. */
static enum MHD_Result finish(struct req *r, enum err e)
{
    if (e)
        return answer_error(r, e);
    if (r->resp)
        return req_send(r);
    if (r->work && !r->suspended && !r->work_done) {
        suspend_for_work(r);
        return MHD_YES;
    }
    return answer_error(r, req_fail(r, ERR_INTERNAL, "handler produced no answer"));
}

/* Records an error found in the middle of a body (answered when the body
 * ends) and lets a stream free what it holds at once. */
static void stream_failed(struct req *r, enum err e)
{
    r->pending_err = e;
    if (r->route->body == BODY_STREAM) {
        r->stream_failed = true;
        if (r->route->stream->abort)
            r->route->stream->abort(r); /* free the temp file now, not at the end */
    }
}

/* A stream's slow work (req_defer from data()) is done: the stream goes on,
 * or fails with the work's error. */
static void resumed_stream(struct req *r)
{
    r->suspended = r->work_done = false;
    r->work = NULL;
    if (r->work_err && !r->pending_err)
        stream_failed(r, r->work_err);
    r->work_err = ERR_OK;
}

/* The verdict on the request head, before any body byte: a refusal (sent
 * now, or once a draining client's body is in), an answer of the head alone
 * (OPTIONS), or nothing yet (the body follows). */
static enum MHD_Result head_decided(struct req *r, enum err e)
{
    if (e && must_drain(r)) {
        r->pending_err = e; /* answered once the body is in */
        return MHD_YES;
    }
    if (e)
        return answer_error(r, e);
    return req_send(r);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    struct server *srv = cls;
    struct req *r = *con_cls;
    if (!r) {
        r = calloc(1, sizeof(*r));
        if (!r)
            return MHD_NO;
        *con_cls = r;
        atomic_fetch_add(&srv->active, 1);
        r->conn = conn;
        r->app = srv->app;
        r->routes = srv->routes;
        r->start_mono = mono_us();
        r->now = now_us();
        r->method_str = method;
        r->version = version;
        enum err e = begin(srv, r, url);
        if (!e && r->head_on_worker) {
            suspend_for_work(r); /* libmicrohttpd calls again once it resumes */
            return MHD_YES;
        }
        return head_decided(r, e);
    }
    if (r->head_on_worker) {
        /* The head stages ran on a worker: libmicrohttpd repeats its first
         * call (no body byte read yet), and the request goes on as if they
         * had run in it. */
        if (!r->work_done)
            return MHD_YES;
        enum err e = r->work_err;
        r->head_on_worker = r->suspended = r->work_done = false;
        r->work = NULL;
        r->work_err = ERR_OK;
        return head_decided(r, e);
    }
    if (r->answered) {
        *upload_data_size = 0; /* answer already queued: drop the rest of the body */
        return MHD_YES;
    }
    if (*upload_data_size) {
        size_t n = *upload_data_size;
        if (r->suspended) {
            /* back from slow work a stream asked for after its last bytes, or
             * before taking these (req_defer_retake) */
            if (!r->work_done)
                return MHD_YES;
            resumed_stream(r);
        }
        size_t again = r->held < n ? r->held : n; /* bytes handed over again */
        r->held = 0;
        if (r->pending_err) {
            /* libmicrohttpd cannot answer in the middle of a body: read and drop
             * the rest (bounded), answer once it is in */
            *upload_data_size = 0;
            r->drained += n - again;
            if (r->drained > (uint64_t)LIMIT_DRAIN) {
                log_info("%s %s: closing after %s, client kept sending", r->method_str, r->path,
                         err_info(r->pending_err)->name);
                return MHD_NO;
            }
            return MHD_YES;
        }
        enum err e = consume(r, upload_data, n);
        if (!e && r->work) {
            /* The stream wants slow work done (database, file system) before
             * the next bytes, or before these (req_defer_retake: libmicrohttpd
             * keeps them and hands them over again after the resume): the
             * connection waits. */
            if (r->retake)
                r->held = n;
            else
                *upload_data_size = 0;
            r->retake = false;
            suspend_for_work(r);
            return MHD_YES;
        }
        *upload_data_size = 0;
        if (e)
            stream_failed(r, e);
        return MHD_YES;
    }
    if (r->suspended && !r->work_done)
        return MHD_YES;
    if (r->suspended && !r->done && r->route->body == BODY_STREAM)
        resumed_stream(r); /* the body ended while the stream's work ran */
    if (r->pending_err)
        return answer_error(r, r->pending_err);
    if (r->suspended) {
        r->suspended = false;
        if (r->work_err)
            return answer_error(r, r->work_err);
        return finish(r, r->done ? r->done(r) : ERR_OK);
    }
    return finish(r, complete(r));
}

/* One access-log line, in the spirit of the reference's gunicorn format plus duration:
 * client - user [time] "METHOD PATH VERSION" status bytes "referer" "agent" seconds */
static void access_log(struct req *r, enum MHD_RequestTerminationCode toe)
{
    char when[64];
    time_t t = time(NULL);
    struct tm tm;
    localtime_r(&t, &tm);
    strftime(when, sizeof(when), "%d/%b/%Y:%H:%M:%S %z", &tm);
    const char *ref = req_header(r, "Referer");
    const char *agent = req_header(r, "User-Agent");
    char line[3072];
    double secs = (double)(mono_us() - r->start_mono) / 1e6;
    int status = r->status;
    if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK && !status)
        status = 499; /* client went away before an answer */
    snprintf(
        line, sizeof(line), "%s - %s [%s] \"%s %.1024s %s\" %d %llu \"%.256s\" \"%.256s\" %.6f",
        r->client_ip[0] ? r->client_ip : "-", r->principal.staff ? r->principal.user.username : "-",
        when, r->method_str ? r->method_str : "-", r->target ? r->target : "-",
        r->version ? r->version : "-", status, (unsigned long long)r->resp_bytes, ref ? ref : "-",
        agent ? agent : "-", secs);
    for (char *p = line; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = '?';
    if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK && log_get_level() <= LOG_INFO)
        log_info("connection ended early (%d): %s %s", (int)toe, r->method_str,
                 r->path ? r->path : "-");
    log_raw(line);
}

static const char *termination_text(enum MHD_RequestTerminationCode toe)
{
    switch (toe) {
    case MHD_REQUEST_TERMINATED_COMPLETED_OK:
        return "completed";
    case MHD_REQUEST_TERMINATED_TIMEOUT_REACHED:
        return "dropped after IDLE_TIMEOUT without a byte";
    case MHD_REQUEST_TERMINATED_DAEMON_SHUTDOWN:
        return "cut by the server shutting down";
    case MHD_REQUEST_TERMINATED_CLIENT_ABORT:
    case MHD_REQUEST_TERMINATED_READ_ERROR:
        return "client went away";
    case MHD_REQUEST_TERMINATED_WITH_ERROR:
    default:
        return "ended by a connection error";
    }
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct server *srv = cls;
    struct req *r = *con_cls;
    (void)conn;
    if (!r)
        return;
    access_log(r, toe);
    /* counted by the row that answered (none: 404s, bad hosts, framing) */
    metrics_request(r->route ? (size_t)(r->route - srv->routes->rows) : srv->routes->n,
                    r->status ? r->status : 499, mono_us() - r->start_mono);
    if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK && !r->answered)
        r->ended = termination_text(toe);
    if (r->route && r->route->body == BODY_STREAM && r->route->stream->abort &&
        (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK || r->stream_failed || r->status >= 400))
        r->route->stream->abort(r);
    if (r->state_free)
        r->state_free(r->state);
    req_release(r);
    json_decref(r->json);
    json_decref(r->field_errors);
    free(r->body);
    free(r->urlmem);
    free(r);
    *con_cls = NULL;
    atomic_fetch_sub(&srv->active, 1);
}

/* MAX_CONNECTIONS_PER_IP, checked and counted in one step when a connection is
 * accepted (on_connection uncounts it at close). Trusted proxies are exempt:
 * every client behind them shares their address. */
static enum MHD_Result accept_policy(void *cls, const struct sockaddr *addr, socklen_t addrlen)
{
    struct server *srv = cls;
    (void)addrlen;
    if (connlimit_try_open(srv->per_ip, addr))
        return MHD_YES;
    char ip[64];
    sockaddr_text(addr, ip, sizeof(ip));
    if (config_proxy_trusted(&srv->app->cfg, ip)) {
        connlimit_open(srv->per_ip, addr); /* counted all the same: its close uncounts */
        return MHD_YES;
    }
    log_warn("refusing a connection from %s: %d already open (MAX_CONNECTIONS_PER_IP)", ip,
             srv->app->cfg.max_conn_per_ip);
    return MHD_NO;
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    struct server *srv = cls;
    (void)socket_context;
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const struct sockaddr *sa = ci ? ci->client_addr : NULL;
    /* counted in accept_policy; a connection libmicrohttpd drops before it starts
     * (out of memory) stays counted */
    if (code == MHD_CONNECTION_NOTIFY_CLOSED)
        connlimit_close(srv->per_ip, sa);
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/*
 * Percent-decodes a URL path or query part in place, as libmicrohttpd's own
 * MHD_http_unescape does (a '%' without two hex digits stays as it is), except
 * that an encoded NUL ("%00") is dropped: a C string cannot carry it, and
 * decoding it would silently cut the rest ("a%00b.txt" would name "a"). Control
 * characters other than NUL are kept for the handlers to judge.
 */
static size_t unescape(void *cls, struct MHD_Connection *conn, char *s)
{
    (void)cls;
    (void)conn;
    char *w = s;
    for (const char *p = s; *p; p++) {
        int hi, lo;
        if (*p == '%' && (hi = hex_value(p[1])) >= 0 && (lo = hex_value(p[2])) >= 0) {
            char c = (char)(hi * 16 + lo);
            p += 2;
            if (c != 0)
                *w++ = c;
            continue;
        }
        *w++ = *p;
    }
    *w = 0;
    return (size_t)(w - s);
}

/* libmicrohttpd's own messages (its format strings are its own). */
__attribute__((format(printf, 2, 0))) static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char buf[1024];
    vsnprintf(buf, sizeof(buf), fmt, ap);
    size_t n = strlen(buf);
    while (n && buf[n - 1] == '\n')
        buf[--n] = 0;
    log_debug("libmicrohttpd: %s", buf);
}

static enum err resolve_bind(const struct config *c, struct sockaddr_storage *ss)
{
    struct addrinfo hints = {
        .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE};
    struct addrinfo *res = NULL;
    char port[16];
    snprintf(port, sizeof(port), "%d", c->bind_port);
    const char *host = c->bind_host[0] ? c->bind_host : NULL;
    int rc = getaddrinfo(host, port, &hints, &res);
    if (rc != 0 || !res) {
        log_error("BIND: cannot resolve \"%s\": %s", c->bind_host, gai_strerror(rc));
        return ERR_CONFIG;
    }
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    freeaddrinfo(res);
    return ERR_OK;
}

/* Gives the metrics the pattern and method of every row, once per process. */
static void name_routes(const struct route_table *routes)
{
    static const char **patterns, **names;
    if (patterns)
        return;
    patterns = calloc(routes->n + 1, sizeof(*patterns));
    names = calloc(routes->n + 1, sizeof(*names));
    if (!patterns || !names) {
        free(patterns);
        free(names);
        patterns = names = NULL;
        return;
    }
    for (size_t i = 0; i < routes->n; i++) {
        patterns[i] = routes->rows[i].pattern;
        names[i] = "?";
        for (size_t m = 0; m < ARRAY_SIZE(methods); m++)
            if (methods[m].m == routes->rows[i].method)
                names[i] = methods[m].name;
    }
    metrics_routes(routes->n, patterns, names);
}

/*
 * Starts the daemon on a->cfg's BIND address. Signals must already be blocked
 * by the caller if it wants them taken synchronously (server_run does): every
 * thread started here inherits the caller's mask. On success *ret owns the
 * server; release it with server_stop.
 */
enum err server_start(struct app *a, const struct route_table *routes, struct server **ret)
{
    struct sockaddr_storage ss = {0};
    enum err e = resolve_bind(&a->cfg, &ss);
    if (e)
        return e;
    struct server *srv = calloc(1, sizeof(*srv));
    if (!srv)
        return ERR_NOMEM;
    srv->app = a;
    srv->routes = routes;
    name_routes(routes);
    srv->per_ip = connlimit_new(a->cfg.max_conn_per_ip, LIMIT_RATE_SLOTS);
    if (!srv->per_ip) {
        free(srv);
        return ERR_NOMEM;
    }
    e = work_start(LIMIT_WORKERS, LIMIT_WORK_QUEUE);
    if (e) {
        connlimit_free(srv->per_ip);
        free(srv);
        return e;
    }

    /* poll(), not epoll: libmicrohttpd 0.9.75's edge-triggered epoll loses the
     * end-of-stream of a client that hung up while its connection was suspended
     * (an upload waiting for its start on a worker), leaving the connection and
     * its temp file until IDLE_TIMEOUT. Level-triggered poll() sees it; with the
     * connections spread over THREADS pollers it measured as fast (1000 slow
     * uploads, bench/upload.sh). tests/api/limits.test.mjs holds the case. */
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL | MHD_ALLOW_SUSPEND_RESUME |
                     MHD_USE_ERROR_LOG;
    if (ss.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    /* No MHD_OPTION_LISTENING_ADDRESS_REUSE: on Linux it sets SO_REUSEPORT, and a
     * second instance would then bind the same port and silently take half the
     * connections. The default (SO_REUSEADDR) still allows a quick restart. */
    srv->daemon = MHD_start_daemon(
        flags, (uint16_t)a->cfg.bind_port, accept_policy, srv, on_request, srv,
        MHD_OPTION_NOTIFY_CONNECTION, on_connection, srv, MHD_OPTION_SOCK_ADDR,
        (const struct sockaddr *)&ss, MHD_OPTION_THREAD_POOL_SIZE, (unsigned)a->cfg.threads,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)a->cfg.idle_timeout,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)LIMIT_CONN_MEMORY, MHD_OPTION_CONNECTION_LIMIT,
        (unsigned)LIMIT_CONNECTIONS, MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv,
        MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL, MHD_OPTION_UNESCAPE_CALLBACK, unescape, NULL,
        MHD_OPTION_END);
    if (!srv->daemon) {
        log_error("BIND: cannot listen on %s:%d (address in use or not permitted)",
                  a->cfg.bind_host, a->cfg.bind_port);
        work_stop();
        connlimit_free(srv->per_ip);
        free(srv);
        return ERR_IO; /* a runtime failure (exit 1), not a bad value */
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_BIND_PORT);
    srv->port = di ? di->port : (uint16_t)a->cfg.bind_port;
    log_info("listening on http://%s%s%s:%u with %d threads", ss.ss_family == AF_INET6 ? "[" : "",
             a->cfg.bind_host, ss.ss_family == AF_INET6 ? "]" : "", (unsigned)srv->port,
             a->cfg.threads);
    *ret = srv;
    return ERR_OK;
}

uint16_t server_port(const struct server *srv)
{
    return srv->port;
}

void server_stop(struct server *srv)
{
    if (!srv)
        return;
    MHD_socket lfd = MHD_quiesce_daemon(srv->daemon);
    if (lfd != MHD_INVALID_SOCKET)
        close(lfd);
    int64_t deadline = mono_us() + (int64_t)LIMIT_SHUTDOWN_GRACE * 1000000;
    while (atomic_load(&srv->active) > 0 && mono_us() < deadline) {
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    int left = atomic_load(&srv->active);
    if (left > 0)
        log_warn("stopping with %d request(s) still in flight", left);
    work_stop();
    MHD_stop_daemon(srv->daemon);
    connlimit_free(srv->per_ip);
    free(srv);
    log_info("stopped");
}

enum err server_run(struct app *a, const struct route_table *routes)
{
    /* Signals are taken synchronously by this thread; every thread started from
     * here on (MHD's, the workers) inherits the blocked mask. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    struct server *srv;
    enum err e = server_start(a, routes, &srv);
    if (e)
        return e;
    int sig = 0;
    sigwait(&set, &sig);
    log_info("received %s: no new connections, finishing in-flight requests (up to %d s)",
             sig == SIGTERM ? "SIGTERM" : "SIGINT", LIMIT_SHUTDOWN_GRACE);
    server_stop(srv);
    return ERR_OK;
}
