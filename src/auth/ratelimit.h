/* ratelimit.h - fixed-window counters per client address, bounded memory. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

struct ratelimit;

/* A limiter allowing `max` events per `window` seconds per key, tracking at most
 * `slots` keys (oldest entries are recycled). NULL on out of memory. */
struct ratelimit *ratelimit_new(int max, int window, int slots);
void ratelimit_free(struct ratelimit *rl);

/* True when key has reached its limit in the current window at time now
 * (seconds); *ret_retry_after (may be NULL) gets seconds until it resets. */
bool ratelimit_blocked(struct ratelimit *rl, const char *key, int64_t now, int *ret_retry_after);
/* Counts one event for key. */
void ratelimit_hit(struct ratelimit *rl, const char *key, int64_t now);
/* Forgets key (e.g. after a successful login). */
void ratelimit_reset(struct ratelimit *rl, const char *key);
