/* harness.h - the real server in-process for fuzz targets: a temp DATA_DIR, a staff user, a ticket.
 */
#pragma once

#include <stddef.h>

struct harness {
    char jwt[1024]; /* access token of the staff user "fuzz" */
    char token[37]; /* upload token of ticket 1 (100 attempts) */
    unsigned short port;
};

/* Starts once per process (later calls return the same harness); aborts on
 * any failure. Removes its DATA_DIR at exit. */
const struct harness *harness_get(void);

/* Sends req (a whole HTTP request, "Connection: close" expected) on a fresh
 * loopback connection and reads the answer until the server closes it, at most
 * a few seconds. */
void harness_exchange(const void *req, size_t len);
