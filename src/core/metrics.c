/* metrics.c - the counters behind GET /metrics and their Prometheus text exposition. */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/metrics.h"
#include "core/util.h"

/* Statuses counted one by one; any other counts in its class ("2xx" ...). */
static const int statuses[] = {200, 201, 204, 206, 301, 302, 303, 304, 400, 401,
                               403, 404, 405, 409, 412, 413, 415, 416, 423, 429,
                               431, 499, 500, 501, 502, 503, 504, 505, 507};
#define NSTATUS (ARRAY_SIZE(statuses) + 5) /* + the classes 1xx..5xx */

/* Request duration buckets (seconds): uploads last minutes, so the top is high. */
static const double buckets[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                                 1,     2.5,  5,     10,   30,  60,   300};
#define NBUCKET (ARRAY_SIZE(buckets) + 1) /* + Inf */

struct route_stats {
    atomic_uint_fast64_t status[NSTATUS];
    atomic_uint_fast64_t bucket[NBUCKET]; /* not cumulative: rendering sums them */
    atomic_uint_fast64_t sum_us;
};

static struct {
    size_t n; /* routes named; stats has n + 1 entries (the last: no route) */
    const char *const *patterns, *const *methods;
    struct route_stats *stats;
    atomic_int_fast64_t plain[MET__MAX];
    atomic_uint_fast64_t uploads[UPLOAD_OUTCOME__MAX];
    atomic_uint_fast64_t refusals[REFUSE__MAX];
    atomic_uint_fast64_t deliveries[DELIVERY_OUTCOME__MAX];
    int64_t start; /* process start, µs */
} M;

void metrics_routes(size_t n, const char *const *patterns, const char *const *methods)
{
    if (M.stats)
        return;
    M.stats = calloc(n + 1, sizeof(*M.stats));
    if (!M.stats)
        return;
    M.patterns = patterns;
    M.methods = methods;
    M.start = now_us();
    M.n = n;
}

static size_t status_index(int status)
{
    for (size_t i = 0; i < ARRAY_SIZE(statuses); i++)
        if (statuses[i] == status)
            return i;
    int cls = status / 100;
    return ARRAY_SIZE(statuses) + (size_t)(cls >= 1 && cls <= 5 ? cls - 1 : 4);
}

void metrics_request(size_t route, int status, int64_t duration_us)
{
    if (!M.stats)
        return;
    struct route_stats *rs = &M.stats[route < M.n ? route : M.n];
    atomic_fetch_add_explicit(&rs->status[status_index(status)], 1, memory_order_relaxed);
    double secs = (double)duration_us / 1e6;
    size_t b = 0;
    while (b < ARRAY_SIZE(buckets) && secs > buckets[b])
        b++;
    atomic_fetch_add_explicit(&rs->bucket[b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&rs->sum_us, (uint64_t)(duration_us > 0 ? duration_us : 0),
                              memory_order_relaxed);
}

void metrics_add(enum metric m, int64_t v)
{
    if ((unsigned)m < MET__MAX)
        atomic_fetch_add_explicit(&M.plain[m], v, memory_order_relaxed);
}

void metrics_upload(enum upload_outcome o)
{
    if ((unsigned)o < UPLOAD_OUTCOME__MAX)
        atomic_fetch_add_explicit(&M.uploads[o], 1, memory_order_relaxed);
}

void metrics_refusal(enum refusal why)
{
    if ((unsigned)why < REFUSE__MAX)
        atomic_fetch_add_explicit(&M.refusals[why], 1, memory_order_relaxed);
}

void metrics_delivery(enum delivery_outcome o)
{
    if ((unsigned)o < DELIVERY_OUTCOME__MAX)
        atomic_fetch_add_explicit(&M.deliveries[o], 1, memory_order_relaxed);
}

/* A growing text; on out of memory it stays failed and the render returns NULL. */
struct text {
    char *buf;
    size_t len, cap;
    bool failed;
};

__attribute__((format(printf, 2, 3))) static void put(struct text *t, const char *fmt, ...)
{
    for (int pass = 0; pass < 2 && !t->failed; pass++) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(t->buf ? t->buf + t->len : NULL, t->buf ? t->cap - t->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0) {
            t->failed = true;
            return;
        }
        if (t->buf && t->len + (size_t)n < t->cap) {
            t->len += (size_t)n;
            return;
        }
        size_t cap = t->cap ? t->cap : 16384;
        while (cap <= t->len + (size_t)n)
            cap *= 2;
        char *nb = realloc(t->buf, cap);
        if (!nb) {
            t->failed = true;
            return;
        }
        t->buf = nb;
        t->cap = cap;
    }
}

/* A label value with \, " and newline escaped as the format wants. */
static void put_label(struct text *t, const char *v)
{
    for (const char *p = v; *p; p++) {
        if (*p == '\\' || *p == '"')
            put(t, "\\%c", *p);
        else if (*p == '\n')
            put(t, "\\n");
        else
            put(t, "%c", *p);
    }
}

static void head(struct text *t, const char *name, const char *type, const char *help)
{
    put(t, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void route_labels(struct text *t, size_t i)
{
    put(t, "route=\"");
    put_label(t, i < M.n ? M.patterns[i] : "");
    put(t, "\",method=\"%s\"", i < M.n ? M.methods[i] : "");
}

static void render_requests(struct text *t)
{
    head(t, "lc_http_requests_total", "counter",
         "HTTP requests answered, by route pattern and status.");
    for (size_t i = 0; M.stats && i <= M.n; i++)
        for (size_t s = 0; s < NSTATUS; s++) {
            uint64_t v = atomic_load_explicit(&M.stats[i].status[s], memory_order_relaxed);
            if (!v)
                continue;
            put(t, "lc_http_requests_total{");
            route_labels(t, i);
            if (s < ARRAY_SIZE(statuses))
                put(t, ",status=\"%d\"} %llu\n", statuses[s], (unsigned long long)v);
            else
                put(t, ",status=\"%dxx\"} %llu\n", (int)(s - ARRAY_SIZE(statuses)) + 1,
                    (unsigned long long)v);
        }
    head(t, "lc_http_request_duration_seconds", "histogram",
         "Time from a request's first byte to its last answer byte, by route pattern.");
    for (size_t i = 0; M.stats && i <= M.n; i++) {
        uint64_t total = 0, seen = 0;
        for (size_t b = 0; b < NBUCKET; b++)
            total += atomic_load_explicit(&M.stats[i].bucket[b], memory_order_relaxed);
        if (!total)
            continue;
        for (size_t b = 0; b < NBUCKET; b++) {
            seen += atomic_load_explicit(&M.stats[i].bucket[b], memory_order_relaxed);
            put(t, "lc_http_request_duration_seconds_bucket{");
            route_labels(t, i);
            if (b < ARRAY_SIZE(buckets))
                put(t, ",le=\"%g\"} %llu\n", buckets[b], (unsigned long long)seen);
            else
                put(t, ",le=\"+Inf\"} %llu\n", (unsigned long long)seen);
        }
        put(t, "lc_http_request_duration_seconds_sum{");
        route_labels(t, i);
        put(t, "} %.6f\n",
            (double)atomic_load_explicit(&M.stats[i].sum_us, memory_order_relaxed) / 1e6);
        put(t, "lc_http_request_duration_seconds_count{");
        route_labels(t, i);
        put(t, "} %llu\n", (unsigned long long)seen);
    }
}

static int64_t plain(enum metric m)
{
    return atomic_load_explicit(&M.plain[m], memory_order_relaxed);
}

char *metrics_render(const struct metrics_now *now, size_t *ret_len)
{
    static const char *const outcomes[] = {"stored", "failed"};
    static const char *const reasons[] = {"no_token", "unknown_token", "rate_limited", "resolved",
                                          "used_up",  "expired",       "too_large",    "no_space"};
    static const char *const deliveries[] = {"delivered", "retry", "gave_up"};
    struct text t = {0};
    head(&t, "lc_build_info", "gauge", "The running version.");
    put(&t, "lc_build_info{version=\"%s\"} 1\n", LC_VERSION);
    head(&t, "lc_process_start_time_seconds", "gauge", "When this process started (Unix time).");
    put(&t, "lc_process_start_time_seconds %.3f\n", (double)M.start / 1e6);
    render_requests(&t);
    head(&t, "lc_uploads_in_progress", "gauge", "Uploads receiving bytes now.");
    put(&t, "lc_uploads_in_progress %lld\n", (long long)plain(MET_UPLOADS_ACTIVE));
    head(&t, "lc_upload_received_bytes_total", "counter", "Archive bytes received by uploads.");
    put(&t, "lc_upload_received_bytes_total %lld\n", (long long)plain(MET_UPLOAD_BYTES));
    head(&t, "lc_uploads_total", "counter", "Uploads that started, by outcome.");
    for (size_t i = 0; i < UPLOAD_OUTCOME__MAX; i++)
        put(&t, "lc_uploads_total{outcome=\"%s\"} %llu\n", outcomes[i],
            (unsigned long long)atomic_load_explicit(&M.uploads[i], memory_order_relaxed));
    head(&t, "lc_upload_refusals_total", "counter",
         "Uploads refused before they started, by reason.");
    for (size_t i = 0; i < REFUSE__MAX; i++)
        put(&t, "lc_upload_refusals_total{reason=\"%s\"} %llu\n", reasons[i],
            (unsigned long long)atomic_load_explicit(&M.refusals[i], memory_order_relaxed));
    head(&t, "lc_webhook_deliveries_total", "counter",
         "Webhook delivery attempts made by this process, by outcome.");
    for (size_t i = 0; i < DELIVERY_OUTCOME__MAX; i++)
        put(&t, "lc_webhook_deliveries_total{outcome=\"%s\"} %llu\n", deliveries[i],
            (unsigned long long)atomic_load_explicit(&M.deliveries[i], memory_order_relaxed));
    if (now->webhook_queue >= 0) {
        head(&t, "lc_webhook_queue_length", "gauge", "Webhook deliveries waiting (all processes).");
        put(&t, "lc_webhook_queue_length %lld\n", (long long)now->webhook_queue);
    }
    head(&t, "lc_mails_total", "counter", "Upload mails, by outcome.");
    put(&t, "lc_mails_total{outcome=\"sent\"} %lld\n", (long long)plain(MET_MAIL_SENT));
    put(&t, "lc_mails_total{outcome=\"failed\"} %lld\n", (long long)plain(MET_MAIL_FAILED));
    head(&t, "lc_events_total", "counter",
         "Events handed to the audit log by this process, by outcome.");
    put(&t, "lc_events_total{outcome=\"written\"} %lld\n", (long long)plain(MET_EVENTS));
    put(&t, "lc_events_total{outcome=\"lost\"} %lld\n", (long long)plain(MET_EVENTS_LOST));
    head(&t, "lc_store_errors_total", "counter",
         "Store operations that failed in the database (unreachable, busy, full, other).");
    put(&t, "lc_store_errors_total %lld\n", (long long)plain(MET_STORE_ERRORS));
    head(&t, "lc_database_up", "gauge", "1 when the database answered the scrape's ping.");
    put(&t, "lc_database_up %d\n", now->database_up ? 1 : 0);
    if (now->storage_free >= 0) {
        head(&t, "lc_storage_free_bytes", "gauge",
             "Bytes free for uploads on the archives' file system.");
        put(&t, "lc_storage_free_bytes %lld\n", (long long)now->storage_free);
        head(&t, "lc_storage_size_bytes", "gauge", "Size of the archives' file system.");
        put(&t, "lc_storage_size_bytes %lld\n", (long long)now->storage_total);
    }
    if (t.failed) {
        free(t.buf);
        return NULL;
    }
    *ret_len = t.len;
    return t.buf;
}
