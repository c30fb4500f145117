/* test-work.c - the worker pool (http/work.c): quick jobs go ahead of slow ones, queues are
 * bounded. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdbool.h>
#include <string.h>

#include "http/work.h"

/* One worker held by a gate job while the others queue up behind it. */
static struct {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool open;
    bool inside;
    char order[16];
    int n;
} g = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};

static void gate(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&g.lock);
    g.inside = true;
    pthread_cond_broadcast(&g.cond);
    while (!g.open)
        pthread_cond_wait(&g.cond, &g.lock);
    pthread_mutex_unlock(&g.lock);
}

static void record(void *arg)
{
    pthread_mutex_lock(&g.lock);
    g.order[g.n++] = *(const char *)arg;
    pthread_mutex_unlock(&g.lock);
}

static void hold_worker(void)
{
    g.open = g.inside = false;
    g.n = 0;
    memset(g.order, 0, sizeof(g.order));
    assert_int_equal(work_submit(gate, NULL), ERR_OK);
    pthread_mutex_lock(&g.lock);
    while (!g.inside)
        pthread_cond_wait(&g.cond, &g.lock);
    pthread_mutex_unlock(&g.lock);
}

static void release_worker(void)
{
    pthread_mutex_lock(&g.lock);
    g.open = true;
    pthread_cond_broadcast(&g.cond);
    pthread_mutex_unlock(&g.lock);
}

static void test_quick_first(void **state)
{
    (void)state;
    assert_int_equal(work_start(1, 8), ERR_OK);
    hold_worker();
    static const char a = 'a', b = 'b', c = 'C', d = 'D';
    assert_int_equal(work_submit(record, (void *)&a), ERR_OK);
    assert_int_equal(work_submit(record, (void *)&b), ERR_OK);
    assert_int_equal(work_submit_quick(record, (void *)&c), ERR_OK);
    assert_int_equal(work_submit_quick(record, (void *)&d), ERR_OK);
    release_worker();
    work_stop(); /* runs every queued job to the end */
    assert_string_equal(g.order, "CDab");
}

static void test_bounded(void **state)
{
    (void)state;
    assert_int_equal(work_start(1, 2), ERR_OK);
    hold_worker();
    static const char x = 'x', q = 'q';
    assert_int_equal(work_submit(record, (void *)&x), ERR_OK);
    assert_int_equal(work_submit(record, (void *)&x), ERR_OK);
    assert_int_equal(work_submit(record, (void *)&x), ERR_BUSY);
    /* a full slow queue does not stop quick jobs: each queue has its own room */
    assert_int_equal(work_submit_quick(record, (void *)&q), ERR_OK);
    assert_int_equal(work_submit_quick(record, (void *)&q), ERR_OK);
    assert_int_equal(work_submit_quick(record, (void *)&q), ERR_BUSY);
    release_worker();
    work_stop();
    assert_string_equal(g.order, "qqxx");
    assert_int_equal(work_submit_quick(record, (void *)&q), ERR_INTERNAL); /* stopped */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quick_first),
        cmocka_unit_test(test_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
