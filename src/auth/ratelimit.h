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
/* Check and count in one step: when key is below its limit, counts one event
 * and returns true; else returns false with *ret_retry_after (may be NULL) as
 * ratelimit_blocked gives it. Concurrent callers can never together pass more
 * than `max` events in a window. */
bool ratelimit_take(struct ratelimit *rl, const char *key, int64_t now, int *ret_retry_after);
/* Gives back one event counted by ratelimit_take (an attempt that turned out
 * fine). Does nothing when key is not tracked or has no events. */
void ratelimit_untake(struct ratelimit *rl, const char *key);
/* Forgets key (e.g. after a successful login). */
void ratelimit_reset(struct ratelimit *rl, const char *key);
