/* test-ratelimit.c - fixed windows, reset, bounded slots and recycling, threads. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "auth/ratelimit.h"

static void test_new_args(void **state)
{
    (void)state;
    assert_null(ratelimit_new(0, 60, 16));
    assert_null(ratelimit_new(5, 0, 16));
    assert_null(ratelimit_new(5, 60, 0));
    assert_null(ratelimit_new(-1, 60, 16));
    struct ratelimit *rl = ratelimit_new(5, 60, 16);
    assert_non_null(rl);
    ratelimit_free(rl);
    ratelimit_free(NULL);
}

static void test_window(void **state)
{
    (void)state;
    struct ratelimit *rl = ratelimit_new(3, 60, 64);
    assert_non_null(rl);
    int retry = -1;
    assert_false(ratelimit_blocked(rl, "1.2.3.4", 1000, &retry));
    assert_int_equal(retry, -1); /* written only when blocked */
    ratelimit_hit(rl, "1.2.3.4", 1000);
    ratelimit_hit(rl, "1.2.3.4", 1010);
    assert_false(ratelimit_blocked(rl, "1.2.3.4", 1010, &retry));
    ratelimit_hit(rl, "1.2.3.4", 1020);
    assert_true(ratelimit_blocked(rl, "1.2.3.4", 1020, &retry));
    assert_int_equal(retry, 40); /* the window started at 1000 */
    assert_true(ratelimit_blocked(rl, "1.2.3.4", 1059, &retry));
    assert_int_equal(retry, 1);
    assert_true(ratelimit_blocked(rl, "1.2.3.4", 1059, NULL));
    /* other keys are not affected */
    assert_false(ratelimit_blocked(rl, "1.2.3.5", 1020, NULL));
    assert_false(ratelimit_blocked(rl, "::1", 1020, NULL));
    /* the window ends: a fresh one starts */
    assert_false(ratelimit_blocked(rl, "1.2.3.4", 1060, NULL));
    ratelimit_hit(rl, "1.2.3.4", 1060);
    assert_false(ratelimit_blocked(rl, "1.2.3.4", 1061, NULL));
    ratelimit_hit(rl, "1.2.3.4", 1061);
    ratelimit_hit(rl, "1.2.3.4", 1062);
    assert_true(ratelimit_blocked(rl, "1.2.3.4", 1062, &retry));
    assert_int_equal(retry, 58);
    /* more hits while blocked keep it blocked, the window does not move */
    for (int i = 0; i < 100; i++)
        ratelimit_hit(rl, "1.2.3.4", 1070);
    assert_true(ratelimit_blocked(rl, "1.2.3.4", 1070, &retry));
    assert_int_equal(retry, 50);
    assert_false(ratelimit_blocked(rl, "1.2.3.4", 1120, NULL));
    ratelimit_free(rl);
}

static void test_reset(void **state)
{
    (void)state;
    struct ratelimit *rl = ratelimit_new(2, 300, 64);
    assert_non_null(rl);
    ratelimit_hit(rl, "alice@10.0.0.1", 5);
    ratelimit_hit(rl, "alice@10.0.0.1", 6);
    ratelimit_hit(rl, "bob@10.0.0.1", 6);
    ratelimit_hit(rl, "bob@10.0.0.1", 6);
    assert_true(ratelimit_blocked(rl, "alice@10.0.0.1", 7, NULL));
    ratelimit_reset(rl, "alice@10.0.0.1");
    assert_false(ratelimit_blocked(rl, "alice@10.0.0.1", 7, NULL));
    assert_true(ratelimit_blocked(rl, "bob@10.0.0.1", 7, NULL));
    ratelimit_reset(rl, "nobody"); /* unknown key: no effect */
    assert_true(ratelimit_blocked(rl, "bob@10.0.0.1", 7, NULL));
    ratelimit_hit(rl, "alice@10.0.0.1", 8);
    assert_false(ratelimit_blocked(rl, "alice@10.0.0.1", 8, NULL));
    ratelimit_free(rl);
}

static void test_long_keys(void **state)
{
    (void)state;
    struct ratelimit *rl = ratelimit_new(1, 60, 64);
    assert_non_null(rl);
    char a[200], b[200];
    memset(a, 'a', sizeof(a) - 1);
    a[sizeof(a) - 1] = '\0';
    memcpy(b, a, sizeof(b));
    b[10] = 'b';
    ratelimit_hit(rl, a, 0);
    assert_true(ratelimit_blocked(rl, a, 0, NULL));
    assert_false(ratelimit_blocked(rl, b, 0, NULL));
    /* a 64-byte key and its 63-byte prefix are different keys */
    a[64] = '\0';
    char p[64];
    memcpy(p, a, 63);
    p[63] = '\0';
    assert_false(ratelimit_blocked(rl, p, 0, NULL));
    ratelimit_free(rl);
}

static void test_bounded_recycling(void **state)
{
    (void)state;
    /* 4 slots, all in one probe set: recycling is observable */
    struct ratelimit *rl = ratelimit_new(1, 60, 4);
    assert_non_null(rl);
    ratelimit_hit(rl, "b", 0);
    ratelimit_hit(rl, "c", 0);
    ratelimit_hit(rl, "d", 0);
    ratelimit_hit(rl, "a", 100);
    ratelimit_hit(rl, "e", 100); /* takes an expired slot, not a's */
    assert_true(ratelimit_blocked(rl, "a", 100, NULL));
    assert_true(ratelimit_blocked(rl, "e", 100, NULL));

    /* every slot live: the oldest window is recycled */
    ratelimit_hit(rl, "f", 110);
    ratelimit_hit(rl, "g", 120); /* table now: a(100) e(100) f(110) g(120) */
    assert_true(ratelimit_blocked(rl, "a", 120, NULL) && ratelimit_blocked(rl, "e", 120, NULL));
    ratelimit_hit(rl, "h", 130);
    int live = ratelimit_blocked(rl, "a", 130, NULL) + ratelimit_blocked(rl, "e", 130, NULL);
    assert_int_equal(live, 1); /* one of the two oldest went */
    assert_true(ratelimit_blocked(rl, "f", 130, NULL));
    assert_true(ratelimit_blocked(rl, "g", 130, NULL));
    assert_true(ratelimit_blocked(rl, "h", 130, NULL));
    ratelimit_free(rl);

    /* many keys through a small table: memory stays bounded, the newest is tracked */
    rl = ratelimit_new(1, 60, 8);
    assert_non_null(rl);
    char key[32];
    for (int i = 0; i < 10000; i++) {
        snprintf(key, sizeof(key), "10.0.%d.%d", i / 256, i % 256);
        ratelimit_hit(rl, key, 1000 + i / 100);
        assert_true(ratelimit_blocked(rl, key, 1000 + i / 100, NULL));
    }
    ratelimit_free(rl);

    /* a single slot: a second key recycles it */
    rl = ratelimit_new(1, 60, 1);
    assert_non_null(rl);
    ratelimit_hit(rl, "x", 0);
    assert_true(ratelimit_blocked(rl, "x", 1, NULL));
    ratelimit_hit(rl, "y", 1);
    assert_true(ratelimit_blocked(rl, "y", 1, NULL));
    assert_false(ratelimit_blocked(rl, "x", 1, NULL));
    ratelimit_free(rl);
}

static void test_clock_backwards(void **state)
{
    (void)state;
    struct ratelimit *rl = ratelimit_new(1, 60, 16);
    assert_non_null(rl);
    ratelimit_hit(rl, "k", 1000);
    assert_true(ratelimit_blocked(rl, "k", 1000, NULL));
    /* the wall clock stepped back: the window is treated as over rather than eternal */
    assert_false(ratelimit_blocked(rl, "k", 500, NULL));
    ratelimit_free(rl);
}

struct hitter {
    struct ratelimit *rl;
    const char *key;
};

static void *hit_many(void *arg)
{
    struct hitter *h = arg;
    for (int i = 0; i < 5000; i++)
        ratelimit_hit(h->rl, h->key, 10);
    return NULL;
}

static void test_threads(void **state)
{
    (void)state;
    /* 4 threads x 5000 hits: exactly 20000 counted, none lost */
    struct ratelimit *rl = ratelimit_new(20001, 60, 64);
    assert_non_null(rl);
    pthread_t th[4];
    struct hitter h = {rl, "shared"};
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&th[i], NULL, hit_many, &h), 0);
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_join(th[i], NULL), 0);
    assert_false(ratelimit_blocked(rl, "shared", 10, NULL));
    ratelimit_hit(rl, "shared", 10);
    assert_true(ratelimit_blocked(rl, "shared", 10, NULL));
    ratelimit_free(rl);
}

/* ratelimit_take: check and count in one step, so concurrent takers can never
 * pass more than max in a window; untake gives one back. */
static void test_take(void **state)
{
    (void)state;
    struct ratelimit *rl = ratelimit_new(3, 60, 64);
    assert_non_null(rl);
    int retry = 0;
    assert_true(ratelimit_take(rl, "k", 100, &retry));
    assert_true(ratelimit_take(rl, "k", 100, &retry));
    assert_true(ratelimit_take(rl, "k", 100, &retry));
    assert_false(ratelimit_take(rl, "k", 110, &retry));
    assert_int_equal(retry, 50);
    ratelimit_untake(rl, "k");
    assert_true(ratelimit_take(rl, "k", 110, NULL));
    assert_false(ratelimit_take(rl, "k", 110, NULL));
    assert_true(ratelimit_take(rl, "k", 160, NULL)); /* a new window */
    ratelimit_untake(rl, "absent");                  /* harmless */
    ratelimit_free(rl);
}

struct taker {
    struct ratelimit *rl;
    int passed;
};

static void *take_many(void *arg)
{
    struct taker *t = arg;
    for (int i = 0; i < 1000; i++)
        if (ratelimit_take(t->rl, "shared", 10, NULL))
            t->passed++;
    return NULL;
}

static void test_take_threads(void **state)
{
    (void)state;
    struct ratelimit *rl = ratelimit_new(5, 60, 64);
    assert_non_null(rl);
    pthread_t th[4];
    struct taker t[4];
    for (int i = 0; i < 4; i++) {
        t[i] = (struct taker){rl, 0};
        assert_int_equal(pthread_create(&th[i], NULL, take_many, &t[i]), 0);
    }
    int passed = 0;
    for (int i = 0; i < 4; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
        passed += t[i].passed;
    }
    assert_int_equal(passed, 5);
    ratelimit_free(rl);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_new_args),
        cmocka_unit_test(test_window),
        cmocka_unit_test(test_reset),
        cmocka_unit_test(test_long_keys),
        cmocka_unit_test(test_bounded_recycling),
        cmocka_unit_test(test_clock_backwards),
        cmocka_unit_test(test_threads),
        cmocka_unit_test(test_take),
        cmocka_unit_test(test_take_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
