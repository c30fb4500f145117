/* test-json.c - JSON body limits (core/json.c) and time formatting (core/util.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/json.h"
#include "core/limits.h"
#include "core/util.h"

static void test_parse_ok(void **state)
{
    (void)state;
    char err[256];
    json_t *j = NULL;
    assert_int_equal(json_parse_body("{\"a\": [1, {\"b\": \"x\"}]}", 22, &j, err, sizeof(err)),
                     ERR_OK);
    assert_true(json_is_object(j));
    json_decref(j);
}

static void test_empty_is_object(void **state)
{
    (void)state;
    char err[256];
    json_t *j = NULL;
    assert_int_equal(json_parse_body(" \n", 2, &j, err, sizeof(err)), ERR_OK);
    assert_true(json_is_object(j));
    assert_int_equal(json_object_size(j), 0);
    json_decref(j);
}

static void test_malformed(void **state)
{
    (void)state;
    char err[256];
    json_t *j = NULL;
    const char *bad[] = {"{", "{\"a\":}", "[1,]", "nul", "{\"a\":1,\"a\":2}", "\"\\u0000\""};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(json_parse_body(bad[i], strlen(bad[i]), &j, err, sizeof(err)),
                         ERR_BAD_JSON);
        assert_non_null(strstr(err, "JSON parse error"));
    }
    assert_int_equal(json_parse_body("{\"a\":\0}", 7, &j, err, sizeof(err)), ERR_BAD_JSON);
}

static void test_depth(void **state)
{
    (void)state;
    char buf[256];
    char err[256];
    json_t *j = NULL;
    int n = LIMIT_JSON_DEPTH;
    for (int i = 0; i < n; i++)
        buf[i] = '[';
    for (int i = 0; i < n; i++)
        buf[n + i] = ']';
    buf[2 * n] = 0;
    assert_int_equal(json_parse_body(buf, strlen(buf), &j, err, sizeof(err)), ERR_OK);
    json_decref(j);
    n = LIMIT_JSON_DEPTH + 1;
    for (int i = 0; i < n; i++)
        buf[i] = '[';
    for (int i = 0; i < n; i++)
        buf[n + i] = ']';
    buf[2 * n] = 0;
    assert_int_equal(json_parse_body(buf, strlen(buf), &j, err, sizeof(err)), ERR_BAD_JSON);
    /* brackets inside strings do not count */
    assert_true(json_depth_ok("[\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\\\"[[[\"]", 48, 2));
}

static void test_too_large(void **state)
{
    (void)state;
    size_t n = LIMIT_JSON_BODY + 1;
    char *buf = malloc(n);
    memset(buf, ' ', n);
    char err[256];
    json_t *j = NULL;
    assert_int_equal(json_parse_body(buf, n, &j, err, sizeof(err)), ERR_TOO_LARGE);
    free(buf);
}

static void test_pyname(void **state)
{
    (void)state;
    json_t *a = json_array(), *s = json_string("x"), *i = json_integer(1), *r = json_real(1.5);
    assert_string_equal(json_type_pyname(a), "list");
    assert_string_equal(json_type_pyname(s), "str");
    assert_string_equal(json_type_pyname(i), "int");
    assert_string_equal(json_type_pyname(r), "float");
    assert_string_equal(json_type_pyname(json_true()), "bool");
    assert_string_equal(json_type_pyname(json_null()), "NoneType");
    json_decref(a);
    json_decref(s);
    json_decref(i);
    json_decref(r);
}

static void test_time_roundtrip(void **state)
{
    (void)state;
    setenv("TZ", "Europe/Moscow", 1);
    tzset();
    char buf[40];
    int64_t t = 1764153340123456LL; /* 2025-11-26T10:35:40.123456Z */
    time_format(t, buf);
    assert_string_equal(buf, "2025-11-26T13:35:40.123456+03:00");
    int64_t back;
    assert_true(time_parse(buf, &back));
    assert_int_equal(back, t);
    assert_true(time_parse("2025-11-26T10:35:40Z", &back));
    assert_int_equal(back, 1764153340000000LL);
    assert_true(time_parse("2025-11-26 10:35:40.5-01:30", &back));
    assert_int_equal(back, 1764153340500000LL + 5400000000LL);
    assert_false(time_parse("2025-02-31T00:00:00Z", &back));
    assert_false(time_parse("2025-11-26T10:35:40", &back));
    assert_false(time_parse("yesterday", &back));
    assert_false(time_parse("2025-11-26T25:00:00Z", &back));
    setenv("TZ", "UTC", 1);
    tzset();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_ok),       cmocka_unit_test(test_empty_is_object),
        cmocka_unit_test(test_malformed),      cmocka_unit_test(test_depth),
        cmocka_unit_test(test_too_large),      cmocka_unit_test(test_pyname),
        cmocka_unit_test(test_time_roundtrip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
