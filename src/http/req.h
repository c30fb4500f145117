/* req.h - one HTTP request as handlers see it, and the helpers they answer with. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "app.h"
#include "auth/principal.h"
#include "core/err.h"
#include "core/limits.h"
#include "http/route.h"
#include "store/store.h"

/* The HTTP engine's own types stay opaque outside src/http/. */
struct MHD_Connection;
struct MHD_Response;

#define REQ_MAX_PARAMS      4
#define REQ_FORWARDED_LINES 16 /* X-Forwarded-* lines read; more: the peer's own address */

/* A response header added by req_add_header; value is heap memory. */
struct req_header {
    const char *name; /* static string */
    char *value;
};

/* Memory that lives as long as the request (trimmed header copies). */
struct req_mem {
    struct req_mem *next;
    char data[];
};

struct req {
    struct MHD_Connection *conn;
    struct app *app;
    const struct route_table *routes; /* the server's table (for its error_page) */
    const struct route *route;
    enum profile profile; /* headers of the answer: the route's, PROFILE_API before one */
    enum method method;
    const char *method_str; /* as sent, owned by MHD */
    const char *version;    /* "HTTP/1.1", owned by MHD */
    char *path;             /* decoded path, trailing slash removed (NULL before parsing) */
    char *target;           /* path as sent (decoded) + query, for the access log */
    const char *params[REQ_MAX_PARAMS]; /* captured {segments}, point into param_buf */
    size_t nparams;
    char *param_buf;
    char *urlmem;       /* one allocation holding path, param_buf and target, sized to the URL */
    char client_ip[64]; /* peer, or X-Forwarded-For from a trusted proxy */
    char peer_ip[64];   /* the TCP peer */
    int64_t start_mono;
    int64_t now; /* wall clock when the request began (µs): one time per request */

    /* framing, read once from the head */
    int64_t content_length; /* declared Content-Length, -1: none (or chunked) */
    bool chunked;           /* Transfer-Encoding: chunked */

    /* body (BODY_JSON) */
    char *body;
    size_t body_len, body_cap;
    json_t *json; /* parsed body; an object for BODY_JSON routes */

    /* who is calling (the principal stage; see auth/principal.h) */
    struct principal principal;

    /* answer: prepared by the req_reply_* helpers (on any thread), sent by the server */
    struct MHD_Response *resp; /* prepared, not yet queued */
    int resp_status;
    int status;                 /* sent status, for the access log */
    uint64_t resp_bytes;        /* body bytes of the answer */
    bool answered;              /* the answer is queued (req_send) */
    bool keep_alive;            /* tus: the answer keeps the connection (req_send) */
    char detail[512];           /* custom detail for the error being returned, "" = table default */
    json_t *field_errors;       /* ERR_VALIDATION body */
    const char *extra_code;     /* "code" member added to an error body (simplejwt style) */
    struct req_header *headers; /* response headers, any number (see req_add_header) */
    size_t nheaders, headers_cap;
    struct req_mem *mem; /* freed with the request */

    /* slow work on the worker pool (see req_defer) */
    void (*work)(struct req *r);
    enum err (*done)(struct req *r);
    bool retake; /* req_defer_retake: data() left its bytes to come again */
    size_t held; /* body bytes handed over again after such work (counted once) */
    bool suspended;
    bool head_on_worker; /* the principal and body stages run on a worker (stream
                            rows with ROUTE_WORKER), before any body byte */
    bool work_done;
    enum err work_err;
    void *work_data;

    /* handler state (streams), released with state_free on completion */
    void *state;
    void (*state_free)(void *state);
    bool stream_failed;
    const char *ended;    /* why the connection ended before an answer went out, for logs
                             ("client went away", "idle timeout", ...); NULL otherwise */
    enum err pending_err; /* error found mid-body, answered when the body ends */
    uint64_t drained;     /* body bytes dropped since */
    bool too_large;
};

/* --- reading the request --- */

/* Request header value (case-insensitive name) or NULL; surrounding spaces and
 * tabs are not part of it (RFC 9110 5.5). Valid until the request ends. With
 * several lines of the same name, the first. */
const char *req_header(struct req *r, const char *name);
/* Every line of header `name`, in order, into out (at most cap, untrimmed).
 * Returns how many lines there are, which may exceed cap. */
size_t req_header_lines(struct req *r, const char *name, const char **out, size_t cap);
/* Query argument value or NULL. A present-but-empty argument gives "". */
const char *req_query(struct req *r, const char *name);
/* The i-th captured path parameter (0-based). */
const char *req_param(struct req *r, size_t i);
/* The value of cookie `name` or NULL. Valid until the request ends. */
const char *req_cookie(struct req *r, const char *name);
/* True when the request came over HTTPS: X-Forwarded-Proto from a trusted
 * proxy says so (the server itself speaks plain HTTP). */
bool req_https(struct req *r);
/* True when the client accepts `coding` (Accept-Encoding, q=0 refuses). */
bool req_accepts_encoding(struct req *r, const char *coding);
/* "http" or "https" (X-Forwarded-Proto from a trusted proxy) + "://" + Host. */
void req_base_url(struct req *r, char *out, size_t outlen);

/* Calls fn(ctx, name, value) for every query argument in order (value "" when
 * absent); stops early when fn returns false. */
void req_query_each(struct req *r, bool (*fn)(void *ctx, const char *name, const char *value),
                    void *ctx);

/* True when the caller is a staff user (via JWT or session), whatever
 * authorised the request. */
static inline bool req_staff(const struct req *r)
{
    return r->principal.staff;
}

/* --- answering ---
 * Each reply_* prepares the one answer of the request (a second one is
 * ERR_INTERNAL); the server sends it with the headers of the route's profile
 * once the handler returns. They may run on a worker thread. */

/* Answers status with body as JSON; takes ownership of body. A NULL body (a
 * json_pack that failed) is ERR_NOMEM, never an empty answer. */
enum err req_reply_json(struct req *r, int status, json_t *body);
/* Answers with no body (204 and the like). */
enum err req_reply_empty(struct req *r, int status);
/* Answers raw bytes with a content type; the bytes are copied. */
enum err req_reply_bytes(struct req *r, int status, const char *content_type, const void *data,
                         size_t len);
/* Answers bytes that outlive the request (static assets); not copied. */
enum err req_reply_static(struct req *r, int status, const char *content_type, const void *data,
                          size_t len);
/* Answers len bytes of the open file fd from offset, sent with sendfile();
 * takes fd (closed when sent, or now on failure). Headers (Content-Type,
 * Content-Range...) via req_add_header. */
enum err req_reply_file(struct req *r, int status, int fd, uint64_t offset, uint64_t len);
/* Adds a response header to whatever answer follows (error or success). The
 * value is formatted into heap memory of any length; on out of memory the
 * header is dropped and logged. */
void req_add_header(struct req *r, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Returns e, with a custom detail message for the error answer. */
enum err req_fail(struct req *r, enum err e, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Records a field error ({"field": ["msg"]}) and returns ERR_VALIDATION. Several
 * calls accumulate. */
enum err req_invalid(struct req *r, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * Runs work(r) on the worker pool with the connection suspended, then done(r)
 * on a server thread to answer. From a stream's data() (done NULL): data() has
 * taken its bytes; the stream goes on (next data() or end()) after work(r),
 * and an error work() left in r->work_err fails the stream as if data() had
 * returned it. For slow, blocking work (password hashing, fsync) so no polling
 * thread stalls. work() must only touch r's own fields and thread-safe modules
 * (store, blob, password); it may answer with req_reply_*. Returns ERR_OK; the
 * handler returns ERR_OK after it. A full queue fails the request with
 * ERR_BUSY. Handlers of ROUTE_WORKER rows (and begin() of such stream rows)
 * already run on a worker and must not defer.
 */
enum err req_defer(struct req *r, void (*work)(struct req *r), enum err (*done)(struct req *r));
/*
 * From a stream's data() only, instead of req_defer: work(r) runs (as above)
 * before data() takes this chunk, which stays in the HTTP engine's buffer
 * while the connection waits and is handed to data() again afterwards (with
 * any bytes that came meanwhile), so nothing is copied. An error work() left
 * in r->work_err fails the stream, and the chunk is dropped with the rest of
 * the body without counting twice against LIMIT_DRAIN. Returns ERR_OK.
 */
enum err req_defer_retake(struct req *r, void (*work)(struct req *r));

/* What became of the request, for a log line: "refused with 507
 * insufficient_storage (detail)", "answered 201", "client went away", ...
 * Written into out (size outlen); returns out. */
const char *req_outcome(const struct req *r, char *out, size_t outlen);

/* Frees what the request holds for its answer and its header copies. */
void req_release(struct req *r);
