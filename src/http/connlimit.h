/* connlimit.h - simultaneous connections per client address, bounded memory. */
#pragma once

#include <stdbool.h>
#include <sys/socket.h>

struct connlimit;

/* A table allowing `max` open connections per address (0: unlimited), tracking
 * up to `slots` addresses at once. NULL on out of memory. */
struct connlimit *connlimit_new(int max, int slots);
void connlimit_free(struct connlimit *cl);

/* True when one more connection from sa is within the limit. Does not count it. */
bool connlimit_allow(struct connlimit *cl, const struct sockaddr *sa);
/* Counts a connection from sa as opened / closed. Calls must pair up. */
void connlimit_open(struct connlimit *cl, const struct sockaddr *sa);
void connlimit_close(struct connlimit *cl, const struct sockaddr *sa);
/* Open connections counted for sa (for tests). */
int connlimit_count(struct connlimit *cl, const struct sockaddr *sa);
