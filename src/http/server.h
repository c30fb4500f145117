/* server.h - the HTTP server: libmicrohttpd daemon, dispatch, access log, graceful stop. */
#pragma once

#include "app.h"
#include "core/err.h"
#include "http/route.h"

/*
 * Serves until SIGTERM or SIGINT, then stops accepting, lets in-flight requests
 * finish for up to LIMIT_SHUTDOWN_GRACE seconds and returns. ERR_* when the
 * daemon cannot start (port taken...), logged.
 */
enum err server_run(struct app *a, const struct route_table *routes);

/* The parts of server_run, for harnesses that drive the real pipeline in-process
 * (fuzz/): server_start listens on BIND (port 0: any free port, see
 * server_port) and returns at once; server_stop waits for in-flight requests
 * like a SIGTERM would, then frees srv (NULL-safe). */
struct server;
enum err server_start(struct app *a, const struct route_table *routes, struct server **ret);
uint16_t server_port(const struct server *srv);
void server_stop(struct server *srv);
