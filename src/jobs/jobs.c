/* jobs.c - the background threads of `serve`: webhook sender and housekeeper (events, mail,
 * retention, stale resumable uploads). */
#include <curl/curl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "api/events.h"
#include "api/tus.h"
#include "auth/token.h"
#include "core/json.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/util.h"
#include "jobs/jobs.h"
#include "jobs/mail.h"
#include "jobs/retention.h"
#include "jobs/webhook.h"

#define SECOND          1000000LL
#define POLL_US         (1 * SECOND)        /* queues are looked at this often without a kick */
#define RETRY_FOR_US    (86400 * SECOND)    /* a delivery is retried for a day, then given up */
#define RETRY_MAX_US    (6 * 3600 * SECOND) /* longest pause between two attempts */
#define RETENTION_FIRST (10 * SECOND)       /* first retention pass after the start */
#define RETENTION_EVERY (3600 * SECOND)
#define MAIL_MAX_WAIT   10 /* a batch is sent after MAIL_QUIET * this at the latest */
#define MAIL_RETRY_US   (5 * 60 * SECOND)
#define MAIL_GIVE_UP_US (86400 * SECOND)

static struct {
    struct app *app;
    pthread_mutex_t lock;
    pthread_cond_t wake_sender, wake_house;
    pthread_t sender, house;
    bool running, have_sender, have_house, kicked;
    struct event *queue[LIMIT_EVENT_QUEUE]; /* ring of events to write */
    int head, len;
    char owner[96];
} J = {.lock = PTHREAD_MUTEX_INITIALIZER,
       .wake_sender = PTHREAD_COND_INITIALIZER,
       .wake_house = PTHREAD_COND_INITIALIZER};

/* The condition variables wait on the monotonic clock: a wall clock that
 * jumps (NTP, or the tests' clock shift) must not make a one-second wait last
 * days. */
static void conds_init(void)
{
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&J.wake_sender, &attr);
    pthread_cond_init(&J.wake_house, &attr);
    pthread_condattr_destroy(&attr);
}

const char *jobs_owner(void)
{
    return J.owner;
}

/* Waits on cond (J.lock held) until woken or `us` pass. */
static void wait_for(pthread_cond_t *cond, int64_t us)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    int64_t ns = ts.tv_nsec + (us % SECOND) * 1000;
    ts.tv_sec += (time_t)(us / SECOND + ns / 1000000000);
    ts.tv_nsec = (long)(ns % 1000000000);
    pthread_cond_timedwait(cond, &J.lock, &ts);
}

void jobs_kick(void)
{
    pthread_mutex_lock(&J.lock);
    J.kicked = true;
    pthread_cond_signal(&J.wake_sender);
    pthread_mutex_unlock(&J.lock);
}

bool jobs_post_event(const struct event *ev)
{
    struct event *copy = malloc(sizeof(*copy));
    if (!copy)
        return false;
    *copy = *ev;
    pthread_mutex_lock(&J.lock);
    bool ok = J.running && J.len < LIMIT_EVENT_QUEUE;
    if (ok) {
        J.queue[(J.head + J.len) % LIMIT_EVENT_QUEUE] = copy;
        J.len++;
        pthread_cond_signal(&J.wake_house);
    }
    pthread_mutex_unlock(&J.lock);
    if (!ok)
        free(copy);
    return ok;
}

/* --- the webhook sender --- */

/* The delay before attempt number `made` + 1 after `made` failed ones:
 * WEBHOOK_RETRY_DELAY, doubling, at most RETRY_MAX_US. */
static int64_t backoff(int made)
{
    int64_t d = J.app->cfg.webhook_retry_delay * SECOND;
    for (int i = 1; i < made && d < RETRY_MAX_US; i++)
        d *= 2;
    return d < RETRY_MAX_US ? d : RETRY_MAX_US;
}

/* Sends the claimed delivery d and records the attempt and what follows. */
static void deliver(struct delivery *d)
{
    json_t *ej = api_event_json(&d->ev);
    json_t *body = ej ? json_pack("{s:I,s:I,s:o}", "delivery", (json_int_t)d->id, "webhook",
                                  (json_int_t)d->webhook_id, "event", ej)
                      : NULL;
    size_t len = 0;
    char *text = body ? json_dump_compact(body, &len) : NULL;
    json_decref(body);
    struct delivery_result res = {0};
    if (text)
        webhook_send(&J.app->cfg, d, text, len, &res);
    else
        str_copy(res.error, sizeof(res.error), "out of memory");
    free(text);
    int64_t now = now_us();
    int made = d->attempts + 1;
    if (res.status >= 200 && res.status < 300) {
        res.state = "delivered";
        res.next_at = now;
        metrics_delivery(DELIVERY_OK);
    } else if (now - d->created + backoff(made) > RETRY_FOR_US) {
        res.state = "failed";
        res.next_at = now;
        metrics_delivery(DELIVERY_GAVE_UP);
    } else {
        res.state = "pending";
        res.next_at = now + backoff(made);
        metrics_delivery(DELIVERY_RETRY);
    }
    if (!res.status && !res.error[0])
        str_copy(res.error, sizeof(res.error), "no answer");
    if (res.status && (res.status < 200 || res.status >= 300))
        snprintf(res.error, sizeof(res.error), "HTTP %d%s", res.status,
                 res.status >= 300 && res.status < 400 ? " (redirects are not followed)" : "");
    log_info("webhook %lld: %s of delivery %lld (event %lld %s) attempt %d: %s",
             (long long)d->webhook_id, res.state, (long long)d->id, (long long)d->ev.id, d->ev.kind,
             made, res.error[0] ? res.error : "ok");
    enum err e = store_delivery_finish(J.app->store, d->id, J.owner, &res);
    if (e == ERR_NOT_FOUND)
        log_warn("webhook delivery %lld: the lease ran out during the attempt; another process "
                 "has it now",
                 (long long)d->id);
    else if (e)
        log_error("webhook delivery %lld: attempt not recorded: %s", (long long)d->id,
                  err_info(e)->name);
}

static void *sender_main(void *unused)
{
    (void)unused;
    struct delivery *d = malloc(sizeof(*d));
    if (!d) {
        log_error("webhook sender: out of memory");
        return NULL;
    }
    pthread_mutex_lock(&J.lock);
    while (J.running) {
        J.kicked = false;
        pthread_mutex_unlock(&J.lock);
        int64_t now = now_us();
        int64_t lease = now + (J.app->cfg.webhook_timeout + 30) * SECOND;
        enum err e = store_delivery_claim(J.app->store, J.owner, now, lease, d);
        if (!e)
            deliver(d);
        else if (e != ERR_NOT_FOUND)
            log_warn("webhook sender: cannot read the queue: %s", err_info(e)->name);
        pthread_mutex_lock(&J.lock);
        if (!e)
            continue; /* more may be due */
        if (J.running && !J.kicked)
            wait_for(&J.wake_sender, POLL_US);
    }
    pthread_mutex_unlock(&J.lock);
    free(d);
    return NULL;
}

/* --- the housekeeper --- */

/* Writes the queued events; one that fails for want of the database stays
 * for the next round. Returns after the queue is empty or the database failed. */
static void write_events(void)
{
    for (;;) {
        pthread_mutex_lock(&J.lock);
        struct event *ev = J.len ? J.queue[J.head] : NULL;
        pthread_mutex_unlock(&J.lock);
        if (!ev)
            return;
        enum err e = store_event_add(J.app->store, ev);
        if (e == ERR_UNAVAILABLE && J.running)
            return;
        if (e) {
            metrics_add(MET_EVENTS_LOST, 1);
            log_error("event %s of ticket %lld lost: %s", ev->kind, (long long)ev->ticket,
                      err_info(e)->name);
        } else {
            metrics_add(MET_EVENTS, 1);
        }
        pthread_mutex_lock(&J.lock);
        J.head = (J.head + 1) % LIMIT_EVENT_QUEUE;
        J.len--;
        pthread_mutex_unlock(&J.lock);
        free(ev);
        if (!e)
            jobs_kick();
    }
}

/* Sends every upload mail that is due. */
static void send_mail(void)
{
    const struct config *c = &J.app->cfg;
    for (int round = 0; round < 100 && J.running; round++) {
        int64_t now = now_us(), quiet = c->mail_quiet * SECOND;
        struct mail_item *items = NULL;
        size_t n = 0;
        enum err e = store_mail_claim(J.app->store, J.owner, now, now - quiet,
                                      now - quiet * MAIL_MAX_WAIT - SECOND, now + 10 * 60 * SECOND,
                                      &items, &n);
        if (e) {
            if (e != ERR_NOT_FOUND)
                log_warn("mail: cannot read the queue: %s", err_info(e)->name);
            return;
        }
        int64_t ticket = items[0].ticket;
        e = mail_send_batch(J.app, items, n);
        bool give_up = e && now - items[0].created > MAIL_GIVE_UP_US;
        if (!e || give_up) {
            if (give_up)
                log_error("mail for ticket %lld: giving up after a day of failures",
                          (long long)ticket);
            e = store_mail_done(J.app->store, J.owner, ticket);
        } else {
            metrics_add(MET_MAIL_FAILED, 1);
            e = store_mail_retry(J.app->store, J.owner, ticket, now + MAIL_RETRY_US);
        }
        if (e)
            log_warn("mail for ticket %lld: queue not updated: %s", (long long)ticket,
                     err_info(e)->name);
        free(items);
    }
}

static void *house_main(void *unused)
{
    (void)unused;
    int64_t next_retention = mono_us() + RETENTION_FIRST, next_sweep = 0;
    pthread_mutex_lock(&J.lock);
    while (J.running) {
        pthread_mutex_unlock(&J.lock);
        write_events();
        if (J.app->cfg.smtp_url[0])
            send_mail();
        if (mono_us() >= next_sweep) { /* resumable uploads that can no longer go on */
            tus_sweep(J.app);
            next_sweep = mono_us() + (int64_t)LIMIT_TUS_SWEEP * SECOND;
        }
        if (mono_us() >= next_retention) {
            struct retention_stats st;
            enum err e = retention_run(J.app, now_us(), false, NULL, &st);
            if (e)
                log_warn("retention: %s", err_info(e)->name);
            else if (st.resolved || st.archives || st.events)
                log_info("retention: %lld ticket(s) resolved, %lld archive(s) (%lld bytes) and "
                         "%lld event(s) deleted",
                         (long long)st.resolved, (long long)st.archives, (long long)st.bytes,
                         (long long)st.events);
            next_retention = mono_us() + RETENTION_EVERY;
        }
        pthread_mutex_lock(&J.lock);
        if (J.running && !J.len)
            wait_for(&J.wake_house, POLL_US);
    }
    pthread_mutex_unlock(&J.lock);
    write_events(); /* what came last, before the process ends */
    return NULL;
}

enum err jobs_start(struct app *a)
{
    if (J.running)
        return ERR_OK;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        log_error("libcurl failed to initialize");
        return ERR_INTERNAL;
    }
    char host[64] = "host", rnd[9];
    (void)gethostname(host, sizeof(host) - 1);
    host[sizeof(host) - 1] = 0;
    token_hex(rnd, 4);
    snprintf(J.owner, sizeof(J.owner), "%.60s-%d-%s", host, (int)getpid(), rnd);
    J.app = a;
    conds_init();
    J.running = true;
    /* the threads take no signal: serve's main thread waits for SIGTERM */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    J.have_sender = pthread_create(&J.sender, NULL, sender_main, NULL) == 0;
    J.have_house = pthread_create(&J.house, NULL, house_main, NULL) == 0;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (!J.have_sender || !J.have_house) {
        log_error("cannot start the background threads");
        jobs_stop();
        return ERR_INTERNAL;
    }
    log_info("background jobs started (lease owner %s)", J.owner);
    return ERR_OK;
}

void jobs_stop(void)
{
    pthread_mutex_lock(&J.lock);
    bool was = J.running;
    J.running = false;
    pthread_cond_broadcast(&J.wake_sender);
    pthread_cond_broadcast(&J.wake_house);
    pthread_mutex_unlock(&J.lock);
    if (J.have_sender)
        pthread_join(J.sender, NULL);
    if (J.have_house)
        pthread_join(J.house, NULL);
    J.have_sender = J.have_house = false;
    for (; J.len; J.len--) { /* the housekeeper could not write them */
        free(J.queue[J.head]);
        J.head = (J.head + 1) % LIMIT_EVENT_QUEUE;
        metrics_add(MET_EVENTS_LOST, 1);
    }
    if (was)
        curl_global_cleanup();
}
