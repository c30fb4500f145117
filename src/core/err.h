/* err.h - the one error enum of the server and its table of HTTP status and message. */
#pragma once

/*
 * Every fallible function returns an enum err. ERR_OK is zero so that
 * `if (e) return e;` reads naturally. The table in err.c maps each code to the
 * HTTP status and the default `detail` message sent to API clients; adding an
 * error means one enum entry and one table row.
 */
enum err {
    ERR_OK = 0,
    ERR_NOMEM,           /* 500: out of memory */
    ERR_INTERNAL,        /* 500: a bug or an unexpected library failure */
    ERR_IO,              /* 500: file system error */
    ERR_DB,              /* 500: database error */
    ERR_UNAVAILABLE,     /* 503: a dependency (database) does not answer */
    ERR_BUSY,            /* 503: a bounded queue is full */
    ERR_BAD_REQUEST,     /* 400: generic malformed request */
    ERR_BAD_JSON,        /* 400: body is not valid JSON or is nested too deep */
    ERR_VALIDATION,      /* 400: field errors, body prepared by the handler */
    ERR_BAD_HOST,        /* 400: Host header not in ALLOWED_HOSTS */
    ERR_UNAUTHENTICATED, /* 401: no credentials */
    ERR_TOKEN_INVALID,   /* 401: bearer token bad, tampered or expired */
    ERR_USER_NOT_FOUND,  /* 401: token of a deleted or inactive user */
    ERR_BAD_CREDENTIALS, /* 401: wrong username or password */
    ERR_JWT_INVALID,     /* 401: refresh / verify of a bad token */
    ERR_FORBIDDEN,       /* 403 */
    ERR_NOT_FOUND,       /* 404: object not found */
    ERR_NO_ROUTE,        /* 404: no such route */
    ERR_METHOD,          /* 405 */
    ERR_CONFLICT,        /* 409: the request does not fit the resource's state (tus offset) */
    ERR_PRECONDITION,    /* 412: a protocol version the request must name (tus) */
    ERR_EXISTS,          /* 400 in the API: unique constraint (store level) */
    ERR_REFERENCE,       /* 400 in the API: referenced row missing (store level) */
    ERR_TOO_LARGE,       /* 413 */
    ERR_HEADERS_TOO_BIG, /* 431: request head over LIMIT_CONN_MEMORY */
    ERR_MEDIA_TYPE,      /* 415 */
    ERR_RANGE,           /* 416: Range not satisfiable */
    ERR_LOCKED,          /* 423 */
    ERR_RATE_LIMITED,    /* 429 */
    ERR_CHECKSUM,        /* 460: tus checksum mismatch */
    ERR_NO_SPACE,        /* 507 */
    ERR_NOT_IMPLEMENTED, /* 501: a Transfer-Encoding other than chunked */
    ERR_HTTP_VERSION,    /* 505 */
    ERR_CONFIG,          /* start-up: bad configuration value */
    ERR__MAX
};

struct err_info {
    int status;         /* HTTP status */
    const char *name;   /* stable identifier, for logs */
    const char *detail; /* default client-facing message */
};

/* Returns the table row of e; never NULL (out-of-range codes map to ERR_INTERNAL). */
const struct err_info *err_info(enum err e);

/* The error whose table row has HTTP status `status` (the first such row; 500
 * gives ERR_INTERNAL); ERR_INTERNAL when no row has it. For answers we did not
 * make ourselves (the HTTP engine's own refusals). */
enum err err_for_status(int status);

static inline int err_status(enum err e)
{
    return err_info(e)->status;
}
