/* work.h - a small pool of worker threads for slow jobs (hashing, fsync), bounded queues. */
#pragma once

#include <stdbool.h>

#include "core/err.h"

/* Starts the process-wide pool with nthreads workers and room for queue_max
 * waiting jobs. */
enum err work_start(int nthreads, int queue_max);
/* Queues fn(arg). ERR_BUSY when the queue is full, ERR_INTERNAL when stopped. */
enum err work_submit(void (*fn)(void *arg), void *arg);
/* The same, ahead of every job work_submit queued (a queue of its own, of
 * queue_max jobs): for short jobs a client waits on before it sends its body
 * (the checks of a request head: store reads, file opens), which must not wait
 * behind fsyncs and password hashes. While the client waits, its bytes pile up
 * in the socket, and libmicrohttpd reads them at once into the connection's
 * pool, whose pages then stay resident. */
enum err work_submit_quick(void (*fn)(void *arg), void *arg);
/* True on a thread of the pool (where work may block on the database or disk). */
bool work_is_worker(void);
/* Runs every queued job to the end, then joins the workers. Idempotent. */
void work_stop(void);
