/* work.c - the worker pool: a mutex-protected ring of jobs and a few threads. */
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include "http/work.h"

struct job {
    void (*fn)(void *);
    void *arg;
};

static struct {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    pthread_t *threads;
    int nthreads;
    struct job *ring;
    int cap, head, len;
    bool running;
} pool = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};

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
        while (pool.len == 0 && pool.running)
            pthread_cond_wait(&pool.cond, &pool.lock);
        if (pool.len == 0 && !pool.running)
            break;
        struct job j = pool.ring[pool.head];
        pool.head = (pool.head + 1) % pool.cap;
        pool.len--;
        pthread_mutex_unlock(&pool.lock);
        j.fn(j.arg);
        pthread_mutex_lock(&pool.lock);
    }
    pthread_mutex_unlock(&pool.lock);
    return NULL;
}

enum err work_start(int nthreads, int queue_max)
{
    pool.ring = calloc((size_t)queue_max, sizeof(*pool.ring));
    pool.threads = calloc((size_t)nthreads, sizeof(*pool.threads));
    if (!pool.ring || !pool.threads) {
        free(pool.ring);
        free(pool.threads);
        return ERR_NOMEM;
    }
    pool.cap = queue_max;
    pool.head = pool.len = 0;
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

enum err work_submit(void (*fn)(void *), void *arg)
{
    enum err e = ERR_OK;
    pthread_mutex_lock(&pool.lock);
    if (!pool.running)
        e = ERR_INTERNAL;
    else if (pool.len == pool.cap)
        e = ERR_BUSY;
    else {
        pool.ring[(pool.head + pool.len) % pool.cap] = (struct job){fn, arg};
        pool.len++;
        pthread_cond_signal(&pool.cond);
    }
    pthread_mutex_unlock(&pool.lock);
    return e;
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
    free(pool.ring);
    pool.threads = NULL;
    pool.ring = NULL;
    pool.nthreads = 0;
}
