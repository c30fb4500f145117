/* work.c - the worker pool: two mutex-protected rings of jobs (quick ones first) and a few threads.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include "http/work.h"

struct job {
    void (*fn)(void *);
    void *arg;
};

/* A bounded FIFO of jobs. */
struct ring {
    struct job *jobs;
    int cap, head, len;
};

static struct {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    pthread_t *threads;
    int nthreads;
    struct ring quick; /* taken first (work_submit_quick) */
    struct ring slow;
    bool running;
} pool = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};

static bool ring_put(struct ring *q, struct job j)
{
    if (q->len == q->cap)
        return false;
    q->jobs[(q->head + q->len) % q->cap] = j;
    q->len++;
    return true;
}

static struct job ring_take(struct ring *q)
{
    struct job j = q->jobs[q->head];
    q->head = (q->head + 1) % q->cap;
    q->len--;
    return j;
}

/* Set on the pool's own threads. */
static _Thread_local bool on_worker;

bool work_is_worker(void)
{
    return on_worker;
}

static void *worker(void *unused)
{
    (void)unused;
    on_worker = true;
    pthread_mutex_lock(&pool.lock);
    for (;;) {
        while (pool.quick.len == 0 && pool.slow.len == 0 && pool.running)
            pthread_cond_wait(&pool.cond, &pool.lock);
        if (pool.quick.len == 0 && pool.slow.len == 0 && !pool.running)
            break;
        struct job j = ring_take(pool.quick.len ? &pool.quick : &pool.slow);
        pthread_mutex_unlock(&pool.lock);
        j.fn(j.arg);
        pthread_mutex_lock(&pool.lock);
    }
    pthread_mutex_unlock(&pool.lock);
    return NULL;
}

enum err work_start(int nthreads, int queue_max)
{
    pool.quick = (struct ring){calloc((size_t)queue_max, sizeof(struct job)), queue_max, 0, 0};
    pool.slow = (struct ring){calloc((size_t)queue_max, sizeof(struct job)), queue_max, 0, 0};
    pool.threads = calloc((size_t)nthreads, sizeof(*pool.threads));
    if (!pool.quick.jobs || !pool.slow.jobs || !pool.threads) {
        free(pool.quick.jobs);
        free(pool.slow.jobs);
        free(pool.threads);
        pool.quick.jobs = pool.slow.jobs = NULL;
        return ERR_NOMEM;
    }
    pool.running = true;
    for (int i = 0; i < nthreads; i++) {
        if (pthread_create(&pool.threads[i], NULL, worker, NULL) != 0) {
            pool.nthreads = i;
            work_stop();
            return ERR_INTERNAL;
        }
    }
    pool.nthreads = nthreads;
    return ERR_OK;
}

static enum err submit(struct ring *q, void (*fn)(void *), void *arg)
{
    enum err e = ERR_OK;
    pthread_mutex_lock(&pool.lock);
    if (!pool.running)
        e = ERR_INTERNAL;
    else if (!ring_put(q, (struct job){fn, arg}))
        e = ERR_BUSY;
    else
        pthread_cond_signal(&pool.cond);
    pthread_mutex_unlock(&pool.lock);
    return e;
}

enum err work_submit(void (*fn)(void *), void *arg)
{
    return submit(&pool.slow, fn, arg);
}

enum err work_submit_quick(void (*fn)(void *), void *arg)
{
    return submit(&pool.quick, fn, arg);
}

void work_stop(void)
{
    pthread_mutex_lock(&pool.lock);
    bool was = pool.running;
    pool.running = false;
    pthread_cond_broadcast(&pool.cond);
    pthread_mutex_unlock(&pool.lock);
    if (!was && !pool.threads)
        return;
    for (int i = 0; i < pool.nthreads; i++)
        pthread_join(pool.threads[i], NULL);
    free(pool.threads);
    free(pool.quick.jobs);
    free(pool.slow.jobs);
    pool.threads = NULL;
    pool.quick = pool.slow = (struct ring){0};
    pool.nthreads = 0;
}
