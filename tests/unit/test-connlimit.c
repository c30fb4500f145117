/* test-connlimit.c - per-address connection counting (http/connlimit.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <stdatomic.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "http/connlimit.h"

static struct sockaddr_in v4(const char *ip)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    inet_pton(AF_INET, ip, &sa.sin_addr);
    return sa;
}

static struct sockaddr_in6 v6(const char *ip)
{
    struct sockaddr_in6 sa = {.sin6_family = AF_INET6};
    inet_pton(AF_INET6, ip, &sa.sin6_addr);
    return sa;
}

#define SA(x) ((const struct sockaddr *)&(x))

static void test_limit(void **state)
{
    (void)state;
    struct connlimit *cl = connlimit_new(2, 64);
    struct sockaddr_in a = v4("10.0.0.1"), b = v4("10.0.0.2");
    assert_true(connlimit_try_open(cl, SA(a)));
    assert_int_equal(connlimit_count(cl, SA(a)), 1); /* counted where it is checked */
    assert_true(connlimit_try_open(cl, SA(a)));
    assert_false(connlimit_try_open(cl, SA(a)));
    assert_int_equal(connlimit_count(cl, SA(a)), 2); /* a refusal counts nothing */
    assert_true(connlimit_try_open(cl, SA(b)));
    connlimit_close(cl, SA(a));
    assert_int_equal(connlimit_count(cl, SA(a)), 1);
    assert_true(connlimit_try_open(cl, SA(a)));
    connlimit_close(cl, SA(a));
    connlimit_close(cl, SA(a));
    connlimit_close(cl, SA(a)); /* unpaired close is harmless */
    assert_int_equal(connlimit_count(cl, SA(a)), 0);
    /* an exempt address is counted past the limit, and uncounted by its closes */
    for (int i = 0; i < 4; i++)
        connlimit_open(cl, SA(b));
    assert_int_equal(connlimit_count(cl, SA(b)), 5);
    assert_false(connlimit_try_open(cl, SA(b)));
    for (int i = 0; i < 5; i++)
        connlimit_close(cl, SA(b));
    assert_int_equal(connlimit_count(cl, SA(b)), 0);
    connlimit_free(cl);
}

static void test_v4_mapped_is_same_client(void **state)
{
    (void)state;
    struct connlimit *cl = connlimit_new(1, 64);
    struct sockaddr_in a = v4("192.0.2.7");
    struct sockaddr_in6 m = v6("::ffff:192.0.2.7"), other = v6("2001:db8::1");
    assert_true(connlimit_try_open(cl, SA(a)));
    assert_false(connlimit_try_open(cl, SA(m)));
    assert_true(connlimit_try_open(cl, SA(other)));
    connlimit_free(cl);
}

struct race {
    struct connlimit *cl;
    atomic_int admitted;
};

static void *try_many(void *arg)
{
    struct race *r = arg;
    struct sockaddr_in a = v4("198.51.100.1");
    for (int i = 0; i < 200; i++)
        if (connlimit_try_open(r->cl, SA(a)))
            atomic_fetch_add(&r->admitted, 1);
    return NULL;
}

/* Parallel accepts from one address never admit more than the limit. */
static void test_parallel_accepts(void **state)
{
    (void)state;
    struct race r = {connlimit_new(7, 64), 0};
    pthread_t th[4];
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&th[i], NULL, try_many, &r), 0);
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_join(th[i], NULL), 0);
    struct sockaddr_in a = v4("198.51.100.1");
    assert_int_equal(atomic_load(&r.admitted), 7);
    assert_int_equal(connlimit_count(r.cl, SA(a)), 7);
    connlimit_free(r.cl);
}

static void test_unlimited(void **state)
{
    (void)state;
    struct connlimit *cl = connlimit_new(0, 8);
    struct sockaddr_in a = v4("10.0.0.1");
    for (int i = 0; i < 100; i++)
        assert_true(connlimit_try_open(cl, SA(a)));
    assert_int_equal(connlimit_count(cl, SA(a)), 0);
    connlimit_free(cl);
    assert_true(connlimit_try_open(NULL, SA(a)));
}

/* Tombstones: addresses come and go far more often than the table has slots,
 * and counts stay exact. */
static void test_churn(void **state)
{
    (void)state;
    struct connlimit *cl = connlimit_new(3, 16);
    char ip[32];
    for (int round = 0; round < 50; round++) {
        for (int i = 0; i < 12; i++) {
            snprintf(ip, sizeof(ip), "10.1.%d.%d", round, i);
            struct sockaddr_in a = v4(ip);
            assert_true(connlimit_try_open(cl, SA(a)));
            assert_true(connlimit_try_open(cl, SA(a)));
            assert_int_equal(connlimit_count(cl, SA(a)), 2);
        }
        for (int i = 0; i < 12; i++) {
            snprintf(ip, sizeof(ip), "10.1.%d.%d", round, i);
            struct sockaddr_in a = v4(ip);
            connlimit_close(cl, SA(a));
            connlimit_close(cl, SA(a));
            assert_int_equal(connlimit_count(cl, SA(a)), 0);
        }
    }
    /* a full table fails open */
    for (int i = 0; i < 20; i++) {
        snprintf(ip, sizeof(ip), "10.2.0.%d", i);
        struct sockaddr_in a = v4(ip);
        assert_true(connlimit_try_open(cl, SA(a)));
        assert_true(connlimit_try_open(cl, SA(a)));
    }
    connlimit_free(cl);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_limit),
        cmocka_unit_test(test_v4_mapped_is_same_client),
        cmocka_unit_test(test_unlimited),
        cmocka_unit_test(test_churn),
        cmocka_unit_test(test_parallel_accepts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
