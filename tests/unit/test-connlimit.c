/* test-connlimit.c - per-address connection counting (http/connlimit.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
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
    assert_true(connlimit_allow(cl, SA(a)));
    connlimit_open(cl, SA(a));
    connlimit_open(cl, SA(a));
    assert_false(connlimit_allow(cl, SA(a)));
    assert_true(connlimit_allow(cl, SA(b)));
    connlimit_close(cl, SA(a));
    assert_true(connlimit_allow(cl, SA(a)));
    assert_int_equal(connlimit_count(cl, SA(a)), 1);
    connlimit_close(cl, SA(a));
    connlimit_close(cl, SA(a)); /* unpaired close is harmless */
    assert_int_equal(connlimit_count(cl, SA(a)), 0);
    connlimit_free(cl);
}

static void test_v4_mapped_is_same_client(void **state)
{
    (void)state;
    struct connlimit *cl = connlimit_new(1, 64);
    struct sockaddr_in a = v4("192.0.2.7");
    struct sockaddr_in6 m = v6("::ffff:192.0.2.7"), other = v6("2001:db8::1");
    connlimit_open(cl, SA(a));
    assert_false(connlimit_allow(cl, SA(m)));
    assert_true(connlimit_allow(cl, SA(other)));
    connlimit_free(cl);
}

static void test_unlimited(void **state)
{
    (void)state;
    struct connlimit *cl = connlimit_new(0, 8);
    struct sockaddr_in a = v4("10.0.0.1");
    for (int i = 0; i < 100; i++)
        connlimit_open(cl, SA(a));
    assert_true(connlimit_allow(cl, SA(a)));
    connlimit_free(cl);
    assert_true(connlimit_allow(NULL, SA(a)));
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
            connlimit_open(cl, SA(a));
            connlimit_open(cl, SA(a));
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
        connlimit_open(cl, SA(a));
        assert_true(connlimit_allow(cl, SA(a)));
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
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
