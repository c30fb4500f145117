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

/* The parts of server_run, for harnesses that drive the real pipeline in-process
 * (fuzz/): server_start listens on BIND (port 0: any free port, see
 * server_port) and returns at once; server_stop waits for in-flight requests
 * like a SIGTERM would, then frees srv (NULL-safe). */
struct server;
enum err server_start(struct app *a, struct server **ret);
uint16_t server_port(const struct server *srv);
void server_stop(struct server *srv);

/* Matches a decoded, slash-trimmed path against the route table.
 * Returns the route for method, or NULL; *ret_allowed gets the mask of methods
 * the path supports (0: unknown path). Captured segments go to params/nparams,
 * copied into buf (buflen >= strlen(path) + 1 is always enough). */
const struct route *route_match(const char *path, int method, unsigned *ret_allowed,
                                const char **params, size_t *nparams, char *buf, size_t buflen);
