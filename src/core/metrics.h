/* metrics.h - the counters behind GET /metrics: relaxed atomics, no lock on the request path. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Plain counters and gauges. */
enum metric {
    MET_UPLOAD_BYTES,   /* counter: archive bytes received (every upload form) */
    MET_UPLOADS_ACTIVE, /* gauge: uploads between their start and their end */
    MET_STORE_ERRORS,   /* counter: store operations that failed with a database error */
    MET_EVENTS,         /* counter: events written through api_event's queue and directly */
    MET_EVENTS_LOST,    /* counter: events that could not be written */
    MET_MAIL_SENT,      /* counter: upload mails sent */
    MET_MAIL_FAILED,    /* counter: upload mails that failed (retried) */
    MET__MAX
};

/* What became of an upload that started (its attempt taken). */
enum upload_outcome {
    UPLOAD_STORED, /* the archive is stored */
    UPLOAD_FAILED, /* no archive: client gone, too large, storage full, error */
    UPLOAD_OUTCOME__MAX
};

/* Why an upload was refused before it started. */
enum refusal {
    REFUSE_NO_TOKEN,
    REFUSE_UNKNOWN_TOKEN,
    REFUSE_RATE_LIMITED,
    REFUSE_RESOLVED,
    REFUSE_USED_UP,
    REFUSE_EXPIRED,
    REFUSE_TOO_LARGE,
    REFUSE_NO_SPACE,
    REFUSE__MAX
};

/* The outcome of one webhook delivery attempt. */
enum delivery_outcome {
    DELIVERY_OK,      /* the receiver answered 2xx */
    DELIVERY_RETRY,   /* it failed; tried again later */
    DELIVERY_GAVE_UP, /* it failed for a day: given up */
    DELIVERY_OUTCOME__MAX
};

/* Names the routes whose requests are counted (the route table's patterns and
 * methods, which must outlive the process's metrics); requests of route n
 * (or any index >= n) count as route "" (no route). Call once before
 * serving; until then requests are not counted. */
void metrics_routes(size_t n, const char *const *patterns, const char *const *methods);
/* A finished request: its route index, answer status and duration (µs). */
void metrics_request(size_t route, int status, int64_t duration_us);

void metrics_add(enum metric m, int64_t v);
void metrics_upload(enum upload_outcome o);
void metrics_refusal(enum refusal why);
void metrics_delivery(enum delivery_outcome o);

/* What the scrape measures when it happens. A negative value: not known
 * (left out). */
struct metrics_now {
    int64_t webhook_queue; /* deliveries pending */
    int64_t storage_free;  /* bytes free for uploads on DATA_DIR's file system */
    int64_t storage_total;
    bool database_up;
};

/* The Prometheus text exposition (version 0.0.4) of every metric, as a new
 * NUL-terminated string (*ret_len without the NUL); NULL on out of memory. */
char *metrics_render(const struct metrics_now *now, size_t *ret_len);
