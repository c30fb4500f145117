/* principal.h - who is calling: one principal per request, resolved from its credentials. */
#pragma once

#include <stdbool.h>

#include "core/err.h"
#include "store/store.h"

struct req;

enum principal_kind {
    PRINCIPAL_ANONYMOUS = 0,
    PRINCIPAL_UPLOAD_TOKEN, /* a customer holding a ticket's upload token */
    PRINCIPAL_STAFF,        /* a staff user (is_admin tells administrators) */
};

/* How a staff user proved who they are. */
enum principal_via {
    VIA_NONE = 0,
    VIA_JWT,     /* Authorization: Bearer <access JWT> */
    VIA_SESSION, /* the console's session cookie (with its CSRF token on unsafe methods) */
};

struct principal {
    enum principal_kind kind;
    enum principal_via via;    /* staff credentials, also kept when a token authorises */
    bool staff;                /* a valid staff user is known (user is set) */
    struct user user;          /* when staff */
    bool second_factor;        /* staff: the session or JWT passed a second factor */
    bool csrf_ok;              /* VIA_SESSION: the request carried the session's CSRF token
                                  and its Origin (or Referer) is ours or trusted */
    char session_hash[65];     /* VIA_SESSION: the session's id hash (for logout, rotation) */
    char csrf_token[65];       /* VIA_SESSION: the session's CSRF token */
    char token[TOKEN_LEN + 1]; /* PRINCIPAL_UPLOAD_TOKEN: the token given */
    struct ticket ticket;      /* PRINCIPAL_UPLOAD_TOKEN: its ticket, as checked; note owned */
};

/*
 * The principal stage of the pipeline: reads the request's credentials as its
 * route says (r->route->auth) into r->principal and refuses the request when
 * they do not allow the route, with the error and detail of DESIGN.md 6:
 * 401 (no or bad credentials; "Header Upload-Token is required"), 403 (unknown
 * upload token, not an administrator, missing CSRF token), 423 (ticket
 * resolved, attempts used up, token expired), 429 (too many unknown tokens
 * from this client). Blocks only on one indexed store read.
 */
enum err auth_resolve(struct req *r);

/*
 * Checks an upload token against the rules, in their order (guessing guard,
 * unknown, resolved, used up, expired), for the principal stage and for routes
 * that re-check a token on every request (tus). On ERR_OK *ret holds the
 * ticket (release its note with store_ticket_clear); otherwise the request's
 * error detail is set.
 */
enum err auth_check_upload_token(struct req *r, const char *token, struct ticket *ret);

/* ERR_RATE_LIMITED (429 with Retry-After) when this client has tried too many
 * unknown upload tokens lately (LIMIT_TOKEN_MISSES per LIMIT_TOKEN_WINDOW), so
 * tokens cannot be guessed; ERR_OK otherwise. */
enum err auth_token_guard(struct req *r);
/* Counts (and logs) an unknown upload token tried by this client; `what` says
 * where ("upload", "look-up"). */
void auth_token_miss(struct req *r, const char *what);

/* Releases what a principal holds (the ticket's note). */
void principal_clear(struct principal *p);
