/* work.h - a small pool of worker threads for slow jobs (hashing, fsync), bounded queue. */
#pragma once

#include <stdbool.h>

#include "core/err.h"

/* Starts the process-wide pool with nthreads workers and room for queue_max
 * waiting jobs. */
enum err work_start(int nthreads, int queue_max);
/* Queues fn(arg). ERR_BUSY when the queue is full, ERR_INTERNAL when stopped. */
enum err work_submit(void (*fn)(void *arg), void *arg);
/* True on a thread of the pool (where work may block on the database or disk). */
bool work_is_worker(void);
/* Runs every queued job to the end, then joins the workers. Idempotent. */
void work_stop(void);
