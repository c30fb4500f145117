/* connlimit.h - simultaneous connections per client address, bounded memory. */
#pragma once

#include <stdbool.h>
#include <sys/socket.h>

struct connlimit;

/* A table allowing `max` open connections per address (0: unlimited), tracking
 * up to `slots` addresses at once. NULL on out of memory. */
struct connlimit *connlimit_new(int max, int slots);
void connlimit_free(struct connlimit *cl);

/* Counts one more connection from sa and returns true when it is within the limit
 * (checked and counted under one lock, so parallel accepts cannot overshoot);
 * false, counting nothing, when sa already has `max`. A full table counts nothing
 * and allows (fail open). A true result pairs with one connlimit_close. */
bool connlimit_try_open(struct connlimit *cl, const struct sockaddr *sa);
/* Counts a connection from sa as opened whatever the limit (an exempt address) /
 * as closed. Every open or successful try_open pairs with one close. */
void connlimit_open(struct connlimit *cl, const struct sockaddr *sa);
void connlimit_close(struct connlimit *cl, const struct sockaddr *sa);
/* Open connections counted for sa (for tests). */
int connlimit_count(struct connlimit *cl, const struct sockaddr *sa);
