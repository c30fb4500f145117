/* test-headers.c - Host, X-Forwarded-For/-Proto parsing (http/headers.c), Range, account rules. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "api/query.h"
#include "auth/rules.h"
#include "core/err.h"
#include "core/util.h"
#include "http/headers.h"

static void test_host_valid(void **state)
{
    (void)state;
    static const struct {
        const char *in, *host;
    } ok[] = {
        {"localhost", "localhost"},
        {"localhost:8000", "localhost"},
        {"127.0.0.1:1", "127.0.0.1"},
        {"logs.example.com", "logs.example.com"},
        {"Logs-1.Example_x.COM:65535", "Logs-1.Example_x.COM"},
        {"[::1]", "[::1]"},
        {"[::1]:8000", "[::1]"},
        {"[fd00::1:2]:443", "[fd00::1:2]"},
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        char h[HTTP_HOST_MAX + 1] = "";
        assert_true(http_host_parse(ok[i].in, h, sizeof(h)));
        assert_string_equal(h, ok[i].host);
    }
}

static void test_host_invalid(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "localhost:@evil.com",
        "localhost:",
        "localhost:80:80",
        "localhost:65536",
        "localhost:123456",
        "localhost:8x",
        "user@localhost",
        "local host",
        "localhost/x",
        "localhost ",
        "[::1",
        "[::1]x",
        "[::1]:",
        "[nothex]:80",
        "[127.0.0.1]",
        ":80",
        "evil.com#@localhost",
        "localhost\r\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char h[HTTP_HOST_MAX + 1] = "untouched";
        assert_false(http_host_parse(bad[i], h, sizeof(h)));
        assert_string_equal(h, "untouched");
    }
    char longname[HTTP_HOST_MAX + 2];
    memset(longname, 'a', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = 0;
    char h[HTTP_HOST_MAX + 1];
    assert_false(http_host_parse(longname, h, sizeof(h)));
}

/* Trusts 10.0.0.0/8 (written out for the test) and the given peer. */
static bool trust_tens(void *ctx, const char *ip)
{
    (void)ctx;
    return strncmp(ip, "10.", 3) == 0;
}

static const char *xff(const char *peer, const char *const *lines, size_t n, char *out)
{
    http_forwarded_for(peer, lines, n, trust_tens, NULL, out, HTTP_IP_MAX);
    return out;
}

static void test_forwarded_for(void **state)
{
    (void)state;
    char ip[HTTP_IP_MAX];
    /* from an untrusted peer, the header is ignored */
    const char *one[] = {"1.2.3.4"};
    assert_string_equal(xff("203.0.113.9", one, 1, ip), "203.0.113.9");
    /* trusted proxy: the right-most untrusted entry */
    assert_string_equal(xff("10.0.0.1", one, 1, ip), "1.2.3.4");
    const char *chain[] = {"6.6.6.6, 1.2.3.4, 10.0.0.7"};
    assert_string_equal(xff("10.0.0.1", chain, 1, ip), "1.2.3.4");
    /* several lines read as one list, the last line last */
    const char *lines[] = {"6.6.6.6", "1.2.3.4 , 10.0.0.9"};
    assert_string_equal(xff("10.0.0.1", lines, 2, ip), "1.2.3.4");
    /* all trusted: the left-most */
    const char *alltrusted[] = {"10.1.1.1,10.2.2.2"};
    assert_string_equal(xff("10.0.0.1", alltrusted, 1, ip), "10.1.1.1");
    /* garbage in the proxy's entry: the proxy's own address */
    const char *garbage[] = {"1.2.3.4, nonsense"};
    assert_string_equal(xff("10.0.0.1", garbage, 1, ip), "10.0.0.1");
    const char *empty[] = {"1.2.3.4,"};
    assert_string_equal(xff("10.0.0.1", empty, 1, ip), "10.0.0.1");
    /* IPv6 */
    const char *v6[] = {"2001:db8::1"};
    assert_string_equal(xff("10.0.0.1", v6, 1, ip), "2001:db8::1");
}

/* A header far longer than any buffer: the right-most entry (the proxy's) is
 * still what counts, never a value from the padding. */
static void test_forwarded_for_long(void **state)
{
    (void)state;
    size_t pad = 100000;
    char *h = malloc(pad + 64);
    assert_non_null(h);
    for (size_t i = 0; i < pad; i += 8)
        memcpy(h + i, "6.6.6.6,", 8);
    strcpy(h + pad, "1.2.3.4");
    const char *lines[] = {h};
    char ip[HTTP_IP_MAX];
    assert_string_equal(xff("10.0.0.1", lines, 1, ip), "1.2.3.4");
    /* 1023 bytes of padding, then the real entry: the cut of the old 1024-byte copy */
    memset(h, ' ', 1100);
    memcpy(h + 1020, "6.6.6.6,", 8);
    strcpy(h + 1100, "1.2.3.4");
    assert_string_equal(xff("10.0.0.1", lines, 1, ip), "1.2.3.4");
    free(h);
}

static void test_forwarded_proto(void **state)
{
    (void)state;
    bool https = false;
    const char *a[] = {"https"};
    assert_true(http_forwarded_https(a, 1, &https) && https);
    const char *b[] = {"https", "http"};
    assert_true(http_forwarded_https(b, 2, &https) && !https);
    const char *c[] = {"http, HTTPS "};
    assert_true(http_forwarded_https(c, 1, &https) && https);
    const char *d[] = {"httpsx"};
    assert_false(http_forwarded_https(d, 1, &https));
    assert_false(http_forwarded_https(NULL, 0, &https));
}

static void test_range(void **state)
{
    (void)state;
    int64_t s, e;
    assert_int_equal(query_range("bytes=0-9", 100, &s, &e), RANGE_OK);
    assert_true(s == 0 && e == 9);
    assert_int_equal(query_range("bytes=90-", 100, &s, &e), RANGE_OK);
    assert_true(s == 90 && e == 99);
    assert_int_equal(query_range("bytes=-10", 100, &s, &e), RANGE_OK);
    assert_true(s == 90 && e == 99);
    /* an end past the file, however large: clamped */
    assert_int_equal(query_range("bytes=0-99999999999999999999", 100, &s, &e), RANGE_OK);
    assert_true(s == 0 && e == 99);
    assert_int_equal(query_range("bytes=5-999999999999999999999999999999", 100, &s, &e), RANGE_OK);
    assert_true(s == 5 && e == 99);
    assert_int_equal(query_range("bytes=-99999999999999999999", 100, &s, &e), RANGE_OK);
    assert_true(s == 0 && e == 99);
    assert_int_equal(query_range("bytes=99999999999999999999-", 100, &s, &e), RANGE_UNSATISFIABLE);
    assert_int_equal(query_range("bytes=100-", 100, &s, &e), RANGE_UNSATISFIABLE);
    assert_int_equal(query_range("bytes=-0", 100, &s, &e), RANGE_UNSATISFIABLE);
    assert_int_equal(query_range("bytes=9-5", 100, &s, &e), RANGE_NONE);
    assert_int_equal(query_range("bytes=-", 100, &s, &e), RANGE_NONE);
    assert_int_equal(query_range("bytes=1-2x", 100, &s, &e), RANGE_NONE);
    assert_int_equal(query_range("bytes=0-1,5-6", 100, &s, &e), RANGE_NONE);
    assert_int_equal(query_range("items=0-1", 100, &s, &e), RANGE_NONE);
}

static void test_err_for_status(void **state)
{
    (void)state;
    assert_int_equal(err_for_status(400), ERR_BAD_REQUEST);
    assert_int_equal(err_for_status(431), ERR_HEADERS_TOO_BIG);
    assert_int_equal(err_for_status(505), ERR_HTTP_VERSION);
    assert_int_equal(err_for_status(500), ERR_INTERNAL);
    assert_int_equal(err_for_status(599), ERR_INTERNAL);
}

static void test_account_rules(void **state)
{
    (void)state;
    char why[160];
    assert_true(auth_username_valid("alice", why, sizeof(why)));
    assert_true(auth_username_valid("a.b+c-d_e@x", why, sizeof(why)));
    assert_true(auth_username_valid("Дмитрий", why, sizeof(why)));
    assert_false(auth_username_valid("", why, sizeof(why)));
    assert_false(auth_username_valid("a b", why, sizeof(why)));
    assert_false(auth_username_valid("a/b", why, sizeof(why)));
    assert_false(auth_username_valid("\xff\xfe", why, sizeof(why)));
    assert_false(auth_username_valid("\xc0\xaf", why, sizeof(why))); /* overlong '/' */
    char name[200 * 2 + 1] = "";
    for (int i = 0; i < 150; i++)
        strcat(name, "é");
    assert_true(auth_username_valid(name, why, sizeof(why))); /* 150 characters, 300 bytes */
    strcat(name, "é");
    assert_false(auth_username_valid(name, why, sizeof(why)));

    assert_true(auth_password_valid("12345678", why, sizeof(why)));
    assert_false(auth_password_valid("1234567", why, sizeof(why)));
    assert_true(auth_password_valid("éééééééé", why, sizeof(why))); /* 8 characters */
    assert_non_null(strstr(why, "at least 8")); /* the last failure's sentence */
    assert_int_equal(utf8_chars("aé€😀", strlen("aé€😀")), 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_host_valid),      cmocka_unit_test(test_host_invalid),
        cmocka_unit_test(test_forwarded_for),   cmocka_unit_test(test_forwarded_for_long),
        cmocka_unit_test(test_forwarded_proto), cmocka_unit_test(test_range),
        cmocka_unit_test(test_err_for_status),  cmocka_unit_test(test_account_rules),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
