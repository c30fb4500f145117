/* retention.h - deleting what platforms keep no longer, and old events: the job and its CLI twin.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "app.h"

struct retention_stats {
    int64_t resolved; /* tickets resolved for being untouched */
    int64_t archives; /* archives deleted */
    int64_t bytes;    /* their bytes */
    int64_t events;   /* events older than EVENTS_KEEP deleted */
    int errors;
};

/*
 * One pass at time now: resolves the open tickets of platforms with
 * resolve_days that nobody touched for that long, deletes the archives of
 * platforms with keep_days whose ticket was resolved longer ago than that
 * (row with its "archive.deleted" event, then the bytes), and deletes events
 * older than EVENTS_KEEP. Each resolution and deletion is an event of actor
 * "system". With dry_run nothing changes. out (may be NULL) gets one line per
 * ticket or archive (what goes, or would). Another process doing the same at
 * once is harmless (what it took first is skipped). Blocks: a background
 * thread or the CLI.
 */
enum err retention_run(struct app *a, int64_t now, bool dry_run, FILE *out,
                       struct retention_stats *ret);
