/* test-query.c - list filter and pagination parsing (api/query.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "api/query.h"

/* A fake query string: NULL-terminated name/value pairs. */
static const char *get(void *ctx, const char *name)
{
    const char **kv = ctx;
    for (; kv[0]; kv += 2)
        if (strcmp(kv[0], name) == 0)
            return kv[1];
    return NULL;
}

static void test_int_list(void **state)
{
    (void)state;
    struct int_set s;
    assert_true(query_int_list("1,2, 3", &s));
    assert_int_equal(s.n, 3);
    assert_int_equal(s.v[2], 3);
    assert_true(s.set);
    assert_false(query_int_list("", &s));
    assert_false(query_int_list("1,,2", &s));
    assert_false(query_int_list("1,", &s));
    assert_false(query_int_list("a", &s));
    assert_false(query_int_list("99999999999999999999", &s));
    char many[1024] = "";
    for (int i = 0; i < 101; i++)
        strcat(many, i ? ",1" : "1");
    assert_false(query_int_list(many, &s));
}

static void test_bool(void **state)
{
    (void)state;
    bool b;
    assert_true(query_bool("true", &b) && b);
    assert_true(query_bool("True", &b) && b);
    assert_true(query_bool("1", &b) && b);
    assert_true(query_bool("false", &b) && !b);
    assert_true(query_bool("0", &b) && !b);
    assert_false(query_bool("yes please", &b));
}

static void test_ticket_filter_all(void **state)
{
    (void)state;
    const char *q[] = {"number", "1,2",         "number__in", "3",           "number__contains",
                       "42",     "number__lte", "100",        "number__gte", "-5",
                       "id",     "7",           "id__in",     "8,9",         "id__lte",
                       "10",     "id__gte",     "1",          "resolved",    "false",
                       "user",   "admin",       "year__lte",  "2030",        "year__gte",
                       "2020",   "month__lte",  "12",         "month__gte",  "1",
                       "search", "4",           "unknown",    "ignored",     NULL};
    struct ticket_filter f;
    json_t *errs = NULL;
    assert_int_equal(query_ticket_filter(get, q, &f, &errs), ERR_OK);
    assert_null(errs);
    assert_int_equal(f.number.n, 2);
    assert_int_equal(f.number_in.v[0], 3);
    assert_string_equal(f.number_contains, "42");
    assert_true(f.number_lte.set && f.number_lte.v == 100);
    assert_true(f.number_gte.set && f.number_gte.v == -5);
    assert_int_equal(f.id.v[0], 7);
    assert_int_equal(f.id_in.n, 2);
    assert_int_equal(f.resolved, 0);
    assert_string_equal(f.user, "admin");
    assert_int_equal(f.year_lte.v, 2030);
    assert_int_equal(f.month_gte.v, 1);
    assert_string_equal(f.search, "4");
    assert_int_equal(f.limit, -1);
}

static void test_ticket_filter_errors(void **state)
{
    (void)state;
    const char *q[] = {"number", "x",      "number__lte", "1.5", "resolved",
                       "maybe",  "id__in", "1,a",         NULL};
    struct ticket_filter f;
    json_t *errs = NULL;
    assert_int_equal(query_ticket_filter(get, q, &f, &errs), ERR_VALIDATION);
    assert_non_null(errs);
    assert_non_null(json_object_get(errs, "number"));
    assert_non_null(json_object_get(errs, "number__lte"));
    assert_non_null(json_object_get(errs, "resolved"));
    assert_non_null(json_object_get(errs, "id__in"));
    assert_true(json_is_array(json_object_get(errs, "number")));
    json_decref(errs);
}

static void test_ticket_filter_empty_values_ignored(void **state)
{
    (void)state;
    const char *q[] = {"number", "", "resolved", "", "search", "", NULL};
    struct ticket_filter f;
    json_t *errs = NULL;
    assert_int_equal(query_ticket_filter(get, q, &f, &errs), ERR_OK);
    assert_false(f.number.set);
    assert_int_equal(f.resolved, -1);
    assert_null(f.search);
}

static void test_text_too_long(void **state)
{
    (void)state;
    char longv[200];
    memset(longv, 'a', sizeof(longv) - 1);
    longv[sizeof(longv) - 1] = 0;
    const char *q[] = {"search", longv, NULL};
    struct ticket_filter f;
    json_t *errs = NULL;
    assert_int_equal(query_ticket_filter(get, q, &f, &errs), ERR_VALIDATION);
    json_decref(errs);
}

static void test_page(void **state)
{
    (void)state;
    bool pag;
    int64_t limit, offset;
    json_t *errs = NULL;
    const char *none[] = {NULL};
    assert_int_equal(query_page(get, none, &pag, &limit, &offset, &errs), ERR_OK);
    assert_false(pag);
    const char *lo[] = {"limit", "5", "offset", "10", NULL};
    assert_int_equal(query_page(get, lo, &pag, &limit, &offset, &errs), ERR_OK);
    assert_true(pag);
    assert_int_equal(limit, 5);
    assert_int_equal(offset, 10);
    const char *only_off[] = {"offset", "3", NULL};
    assert_int_equal(query_page(get, only_off, &pag, &limit, &offset, &errs), ERR_OK);
    assert_int_equal(limit, 100);
    const char *huge[] = {"limit", "100000", NULL};
    assert_int_equal(query_page(get, huge, &pag, &limit, &offset, &errs), ERR_OK);
    assert_int_equal(limit, 1000);
    const char *bad[] = {"limit", "-1", "offset", "x", NULL};
    assert_int_equal(query_page(get, bad, &pag, &limit, &offset, &errs), ERR_VALIDATION);
    assert_non_null(json_object_get(errs, "limit"));
    assert_non_null(json_object_get(errs, "offset"));
    json_decref(errs);
    errs = NULL;
    const char *zero[] = {"limit", "0", NULL};
    assert_int_equal(query_page(get, zero, &pag, &limit, &offset, &errs), ERR_VALIDATION);
    json_decref(errs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_int_list),
        cmocka_unit_test(test_bool),
        cmocka_unit_test(test_ticket_filter_all),
        cmocka_unit_test(test_ticket_filter_errors),
        cmocka_unit_test(test_ticket_filter_empty_values_ignored),
        cmocka_unit_test(test_text_too_long),
        cmocka_unit_test(test_page),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
