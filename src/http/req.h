/* req.h - one HTTP request as handlers see it, and the helpers they answer with. */
#pragma once

#include <jansson.h>
#include <microhttpd.h>
#include <stdbool.h>
#include <stdint.h>

#include "app.h"
#include "core/err.h"
#include "core/limits.h"
#include "store/store.h"

enum method {
    M_GET = 1 << 0,
    M_HEAD = 1 << 1,
    M_POST = 1 << 2,
    M_PUT = 1 << 3,
    M_PATCH = 1 << 4,
    M_DELETE = 1 << 5,
    M_OPTIONS = 1 << 6,
};

enum body_kind {
    BODY_NONE = 0, /* a body, if any, is read and ignored (bounded by LIMIT_JSON_BODY) */
    BODY_JSON,     /* application/json up to LIMIT_JSON_BODY, parsed before the handler */
    BODY_STREAM,   /* raw chunks handed to route->stream as they arrive */
};

#define ROUTE_AUTH 1u /* staff only: a valid access JWT (or, later, a session) */

struct req;
typedef enum err (*handler_fn)(struct req *r);

/* Streamed bodies (archive uploads). begin() runs on the first callback, before a
 * single body byte is read, so a refusal reaches `Expect: 100-continue` clients
 * before they send anything; data() gets each chunk; end() runs once the body is
 * complete and answers like a handler; abort() runs when the connection ends
 * without end() having answered (client gone, idle timeout, error), and must
 * leave nothing behind. */
struct stream_ops {
    enum err (*begin)(struct req *r);
    enum err (*data)(struct req *r, const char *buf, size_t len);
    enum err (*end)(struct req *r);
    void (*abort)(struct req *r);
};

struct route {
    enum method method;
    const char *pattern; /* "/api/v1/tickets/{number}" - no trailing slash */
    handler_fn handler;  /* NULL for BODY_STREAM routes */
    unsigned flags;      /* ROUTE_* */
    enum body_kind body;
    const struct stream_ops *stream;
};

extern const struct route routes[];
extern const size_t routes_count;

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
    const struct route *route;
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

    /* authentication */
    bool authed;
    struct user user;

    /* answer */
    int status;                 /* sent status, for the access log */
    uint64_t resp_bytes;        /* body bytes of the answer */
    bool answered;              /* a response is queued */
    char detail[512];           /* custom detail for the error being returned, "" = table default */
    json_t *field_errors;       /* ERR_VALIDATION body */
    const char *extra_code;     /* "code" member added to an error body (simplejwt style) */
    struct req_header *headers; /* response headers, any number (see req_add_header) */
    size_t nheaders, headers_cap;
    struct req_mem *mem; /* freed with the request */

    /* slow work on the worker pool (see req_defer) */
    void (*work)(struct req *r);
    enum err (*done)(struct req *r);
    bool suspended;
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
/* "http" or "https" (X-Forwarded-Proto from a trusted proxy) + "://" + Host. */
void req_base_url(struct req *r, char *out, size_t outlen);

/* --- answering --- */

/* Queues status with body as JSON; takes ownership of body (NULL: empty body). */
enum err req_reply_json(struct req *r, int status, json_t *body);
/* Queues an empty answer (204 and the like). */
enum err req_reply_empty(struct req *r, int status);
/* Queues raw bytes with a content type (copied). */
enum err req_reply_bytes(struct req *r, int status, const char *content_type, const void *data,
                         size_t len);
/* Queues a prepared libmicrohttpd response (takes it); len is for the access log. */
enum err req_reply_response(struct req *r, int status, struct MHD_Response *resp, uint64_t len);
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
 * Runs work(r) on the worker pool with the connection suspended, then done(r) on
 * a server thread to answer. From a stream's data() (done NULL): data() takes
 * none of the bytes it was given; after work(r) libmicrohttpd hands the same
 * bytes to data() again, and an error work() left in r->work_err fails the
 * stream as if data() had returned it. For slow, blocking work (password hashing, fsync)
 * so no polling thread stalls. work() must only touch r's own fields and
 * thread-safe modules (store, password). Returns ERR_BUSY when the queue is
 * full. The handler returns ERR_OK after a successful req_defer.
 */
enum err req_defer(struct req *r, void (*work)(struct req *r), enum err (*done)(struct req *r));

/* What became of the request, for a log line: "refused with 507
 * insufficient_storage (detail)", "answered 201", "client went away", ...
 * Written into out (size outlen); returns out. */
const char *req_outcome(const struct req *r, char *out, size_t outlen);

/* Frees what the request holds for its answer and its header copies. */
void req_release(struct req *r);
