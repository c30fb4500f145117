/* test-session.c - session ids, their hashes, expiry, CSRF tokens and the Origin check. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sodium.h>
#include <string.h>

#include "auth/session.h"

static void test_ids(void **state)
{
    (void)state;
    char a[SESSION_ID_LEN + 1], b[SESSION_ID_LEN + 1];
    session_new_id(a);
    session_new_id(b);
    assert_int_equal(strlen(a), SESSION_ID_LEN);
    assert_string_not_equal(a, b);
    assert_true(session_id_valid(a));
    assert_false(session_id_valid(""));
    assert_false(session_id_valid(NULL));
    char bad[SESSION_ID_LEN + 1];
    memcpy(bad, a, sizeof(bad));
    bad[3] = '%';
    assert_false(session_id_valid(bad));
    bad[SESSION_ID_LEN - 1] = 0;
    assert_false(session_id_valid(bad));
    char h1[SESSION_HASH_LEN + 1], h2[SESSION_HASH_LEN + 1];
    session_hash(a, h1);
    session_hash(a, h2);
    assert_string_equal(h1, h2);
    assert_int_equal(strlen(h1), 64);
    assert_null(strstr(h1, a));
    session_hash(b, h2);
    assert_string_not_equal(h1, h2);
    /* SHA-256("abc") */
    session_hash("abc", h1);
    assert_string_equal(h1, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

/* Absolute expiry counts from creation, idle expiry from the last request. */
static void test_expiry(void **state)
{
    (void)state;
    const int64_t S = 1000000, life = 24 * 3600 * S, idle = 4 * 3600 * S;
    struct session x = {.created = 1000 * S, .last_seen = 1000 * S};
    assert_true(session_alive(&x, x.created, life, idle));
    assert_true(session_alive(&x, x.created + idle - 1, life, idle));
    assert_false(session_alive(&x, x.created + idle, life, idle));
    x.last_seen = x.created + life - S; /* kept busy: the absolute limit still holds */
    assert_true(session_alive(&x, x.created + life - 1, life, idle));
    assert_false(session_alive(&x, x.created + life, life, idle));
    assert_false(session_alive(&x, x.created - 1, life, idle)); /* from the future */
}

static void test_csrf_tokens(void **state)
{
    (void)state;
    char id[SESSION_ID_LEN + 1], id2[SESSION_ID_LEN + 1];
    session_new_id(id);
    session_new_id(id2);
    char t1[CSRF_TOKEN_LEN + 1], t2[CSRF_TOKEN_LEN + 1], t3[CSRF_TOKEN_LEN + 1];
    session_csrf_token("key-1", id, t1);
    session_csrf_token("key-1", id, t2);
    assert_string_equal(t1, t2);
    assert_int_equal(strlen(t1), CSRF_TOKEN_LEN);
    session_csrf_token("key-2", id, t3);
    assert_string_not_equal(t1, t3); /* another SECRET_KEY */
    session_csrf_token("key-1", id2, t3);
    assert_string_not_equal(t1, t3); /* another session (a new id at login) */
    assert_true(session_csrf_equal(t1, t2));
    assert_false(session_csrf_equal(t1, t3));
    assert_false(session_csrf_equal(t1, NULL));
    assert_false(session_csrf_equal(t1, ""));
    char shorter[CSRF_TOKEN_LEN];
    memcpy(shorter, t1, CSRF_TOKEN_LEN - 1);
    shorter[CSRF_TOKEN_LEN - 1] = 0;
    assert_false(session_csrf_equal(t1, shorter));
    char longer[CSRF_TOKEN_LEN + 2];
    memcpy(longer, t1, CSRF_TOKEN_LEN);
    longer[CSRF_TOKEN_LEN] = 'a';
    longer[CSRF_TOKEN_LEN + 1] = 0;
    assert_false(session_csrf_equal(t1, longer));
}

static void test_origin(void **state)
{
    (void)state;
    struct host_list trusted = {.n = 1};
    strcpy(trusted.items[0], "https://console.example.com");
    const char *host = "logs.example.com";
    /* Origin: ours (scheme and port count), trusted, or refused */
    assert_true(session_origin_ok("http://logs.example.com", NULL, false, host, &trusted));
    assert_true(session_origin_ok("https://logs.example.com", NULL, true, host, &trusted));
    assert_false(session_origin_ok("http://logs.example.com", NULL, true, host, &trusted));
    assert_false(session_origin_ok("http://logs.example.com:8080", NULL, false, host, &trusted));
    assert_true(session_origin_ok("https://console.example.com", NULL, false, host, &trusted));
    assert_false(
        session_origin_ok("https://console.example.com.evil", NULL, false, host, &trusted));
    assert_false(session_origin_ok("https://evil.example", NULL, false, host, &trusted));
    assert_false(session_origin_ok("null", NULL, false, host, &trusted));
    assert_true(session_origin_ok("http://127.0.0.1:8000", NULL, false, "127.0.0.1:8000", NULL));
    /* Origin wins over Referer */
    assert_false(session_origin_ok("https://evil.example", "http://logs.example.com/x", false, host,
                                   &trusted));
    /* no Origin: the Referer's origin, followed by a path or nothing */
    assert_true(session_origin_ok(NULL, "http://logs.example.com/tickets/", false, host, NULL));
    assert_true(session_origin_ok(NULL, "http://logs.example.com", false, host, NULL));
    assert_false(session_origin_ok(NULL, "http://logs.example.com.evil/", false, host, NULL));
    assert_false(session_origin_ok(NULL, "http://logs.example.comx/", false, host, NULL));
    assert_true(session_origin_ok(NULL, "https://console.example.com/a", true, host, &trusted));
    /* neither: fine over http (the token decides), refused over https */
    assert_true(session_origin_ok(NULL, NULL, false, host, NULL));
    assert_false(session_origin_ok(NULL, NULL, true, host, NULL));
    assert_false(session_origin_ok("http://logs.example.com", NULL, false, NULL, NULL));
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ids),
        cmocka_unit_test(test_expiry),
        cmocka_unit_test(test_csrf_tokens),
        cmocka_unit_test(test_origin),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
