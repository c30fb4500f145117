/* jobs.h - the background threads of `serve`: webhook deliveries, upload mail, retention, the event
 * writer. */
#pragma once

#include <stdbool.h>

#include "app.h"
#include "store/store.h"

/*
 * Starts two threads, neither of them a request thread nor one of the short
 * worker pool's: the webhook sender (claims due deliveries from the store,
 * one at a time under a lease, and POSTs them with libcurl) and the
 * housekeeper (writes the events handed to jobs_post_event, sends the upload
 * mails that are due, removes resumable uploads that can no longer go on at
 * the start and then every LIMIT_TUS_SWEEP seconds, runs retention shortly
 * after the start and then every hour). Each process that serves runs its own; the store's leases
 * keep them from doing the same work twice. Signals stay blocked in both threads. a must outlive
 * jobs_stop().
 */
enum err jobs_start(struct app *a);
/* Stops both threads (a delivery or mail in flight finishes first, bounded by
 * its timeout) and writes the events still queued. Idempotent. */
void jobs_stop(void);

/* Hands a copy of ev to the housekeeper to be written (store_event_add).
 * False when the jobs do not run or LIMIT_EVENT_QUEUE events are waiting:
 * the caller then writes it itself. Never blocks on the database. */
bool jobs_post_event(const struct event *ev);
/* Wakes the webhook sender: an event was just written. Cheap; any thread. */
void jobs_kick(void);

/* The process's lease owner name (host, pid, random), for logs and tests. */
const char *jobs_owner(void);
