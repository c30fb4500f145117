/* server.h - the HTTP server: libmicrohttpd daemon, dispatch, access log, graceful stop. */
#pragma once

#include "app.h"
#include "core/err.h"

/*
 * Serves until SIGTERM or SIGINT, then stops accepting, lets in-flight requests
 * finish for up to LIMIT_SHUTDOWN_GRACE seconds and returns. ERR_* when the
 * daemon cannot start (port taken...), logged.
 */
enum err server_run(struct app *a);

/* Matches a decoded, slash-trimmed path against the route table.
 * Returns the route for method, or NULL; *ret_allowed gets the mask of methods
 * the path supports (0: unknown path). Captured segments go to params/nparams,
 * copied into buf (buflen >= strlen(path) + 1 is always enough). */
const struct route *route_match(const char *path, int method, unsigned *ret_allowed,
                                const char **params, size_t *nparams, char *buf, size_t buflen);
