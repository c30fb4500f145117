/* route.h - a route row: the whole contract of an endpoint, which the server's stages enforce. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

enum method {
    M_GET = 1 << 0,
    M_HEAD = 1 << 1,
    M_POST = 1 << 2,
    M_PUT = 1 << 3,
    M_PATCH = 1 << 4,
    M_DELETE = 1 << 5,
    M_OPTIONS = 1 << 6,
};

/* Who may call a route: the principal stage refuses anyone else before the body. */
enum route_auth {
    AUTH_NONE = 0,       /* nobody needed; credentials are not even read (assets, pages) */
    AUTH_OPTIONAL,       /* anyone; credentials sent are checked (a bad JWT is 401) and kept */
    AUTH_UPLOAD_TOKEN,   /* a valid upload token: the route's {token} or the Upload-Token
                            header, checked in the order of DESIGN.md 6 (401 403 429 423) */
    AUTH_TOKEN_OR_STAFF, /* an upload token when one is given, else staff */
    AUTH_STAFF,          /* an active staff user */
    AUTH_STAFF_2FA,      /* staff who passed a second factor (when REQUIRE_2FA) */
    AUTH_ADMIN,          /* an administrator */
};

/* The body a route takes; the body stage enforces kind, content type and size. */
enum body_kind {
    BODY_NONE = 0, /* a body, if any, is read and dropped (bounded by LIMIT_JSON_BODY) */
    BODY_JSON,     /* a JSON object, parsed before the handler runs */
    BODY_STREAM,   /* raw chunks handed to route->stream as they arrive */
};

/* What kind of answer a route gives: fixes CSP, caching and fixed headers. */
enum profile {
    PROFILE_API = 0, /* JSON: nothing renders or is cached */
    PROFILE_ASSET,   /* content-hashed static files: cached for a year */
    PROFILE_PAGE,    /* HTML pages: our own scripts and styles only */
    PROFILE_TUS,     /* the tus protocol: API headers plus Tus-Resumable */
    PROFILE__MAX
};

/* ROUTE_WORKER: the handler runs on the worker pool (it may block: fsync, unlink, hash). On a
 * BODY_STREAM row, the principal stage and the stream's begin() run there instead (store reads,
 * file opens), the connection suspended, and the body is read after them. */
#define ROUTE_WORKER 1u
#define ROUTE_CSRF   2u /* unsafe methods through a session cookie need the CSRF token */
#define ROUTE_BEFORE_2FA                                                                           \
    4u /* a session without a second factor may call it while REQUIRE_2FA holds (the               \
          enrolment it is sent to: who am I, log out, set up TOTP) */

struct req;
typedef enum err (*handler_fn)(struct req *r);

/* Streamed bodies (uploads). begin() runs on the first callback, before a
 * single body byte is read, so a refusal reaches `Expect: 100-continue` clients
 * before they send anything; with ROUTE_WORKER it runs on a worker (after the
 * principal stage, also there) while the connection waits, and must not
 * req_defer itself. data() gets each chunk; end() runs once the body is
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
    const char *pattern; /* "/api/v1/tickets/{number}" - no trailing slash; {*rest} takes '/' */
    enum route_auth auth;
    enum body_kind body;
    const char *types; /* accepted Content-Type (media type, parameters ignored) of a body;
                          NULL: application/json for BODY_JSON, anything for BODY_STREAM */
    int64_t max_body;  /* BODY_JSON: bytes (0: LIMIT_JSON_BODY) */
    enum profile profile;
    unsigned flags;                  /* ROUTE_* */
    handler_fn handler;              /* NULL for BODY_STREAM routes */
    const struct stream_ops *stream; /* BODY_STREAM only */
    const char *arg;                 /* the handler's argument: the page a PROFILE_PAGE row
                                        serves, the target of a redirect (NULL: none) */
};

/* A table of routes, as the API layer (src/api/routes.c) defines it. */
struct route_table {
    const struct route *rows;
    size_t n;
    /* Answers an error of status to a browser asking for a page outside the
     * API (no row, or a refused page) in the console's style; returns
     * ERR_NO_ROUTE when it has none, and the JSON answer goes out. NULL: none. */
    enum err (*error_page)(struct req *r, int status);
};

/*
 * Matches a decoded, slash-trimmed path against the table. Returns the row for
 * method (HEAD is served by a GET row), or NULL; *ret_allowed gets the mask of
 * methods the path supports (0: unknown path; OPTIONS is always allowed on a
 * known path). Captured segments go to params/nparams, copied into buf
 * (buflen >= strlen(path) + 1 is always enough).
 */
const struct route *route_match(const struct route_table *t, const char *path, int method,
                                unsigned *ret_allowed, const char **params, size_t *nparams,
                                char *buf, size_t buflen);
