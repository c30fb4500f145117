/* test-webhook.c - webhook URL rules, the address rules against SSRF, the signature. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <string.h>

#include "jobs/mail.h"
#include "jobs/webhook.h"

static bool pub(const char *ip)
{
    struct sockaddr_in a4 = {.sin_family = AF_INET};
    struct sockaddr_in6 a6 = {.sin6_family = AF_INET6};
    if (inet_pton(AF_INET, ip, &a4.sin_addr) == 1)
        return webhook_addr_public((struct sockaddr *)&a4);
    assert_int_equal(inet_pton(AF_INET6, ip, &a6.sin6_addr), 1);
    return webhook_addr_public((struct sockaddr *)&a6);
}

static void test_addresses(void **state)
{
    (void)state;
    const char *refused[] = {"127.0.0.1",
                             "127.255.0.9",
                             "10.1.2.3",
                             "172.16.0.1",
                             "172.31.255.255",
                             "192.168.1.1",
                             "169.254.169.254",
                             "100.64.0.1",
                             "100.127.255.254",
                             "0.0.0.0",
                             "224.0.0.1",
                             "255.255.255.255",
                             "::",
                             "::1",
                             "fe80::1",
                             "fc00::1",
                             "fd12:3456::1",
                             "ff02::1",
                             "::ffff:127.0.0.1",
                             "::ffff:10.0.0.1",
                             "64:ff9b::a9fe:a9fe",
                             "2002:7f00:1::",
                             "::127.0.0.1",
                             "2001:db8::1"};
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
        if (pub(refused[i]))
            fail_msg("%s must be refused", refused[i]);
    const char *allowed[] = {"8.8.8.8",        "1.1.1.1",          "100.63.255.255",
                             "100.128.0.1",    "172.32.0.1",       "2606:4700::1111",
                             "::ffff:8.8.8.8", "2002:0808:0808::1"};
    for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
        if (!pub(allowed[i]))
            fail_msg("%s must be allowed", allowed[i]);
    struct sockaddr unix_sa = {.sa_family = AF_UNIX};
    assert_false(webhook_addr_public(&unix_sa));
}

static void test_urls(void **state)
{
    (void)state;
    struct webhook_target t;
    assert_null(webhook_url_parse("https://hooks.example.com/lc?a=1", &t));
    assert_true(t.https);
    assert_string_equal(t.host, "hooks.example.com");
    assert_int_equal(t.port, 443);
    assert_null(webhook_url_parse("http://[::1]:8080/x", &t));
    assert_string_equal(t.host, "::1");
    assert_int_equal(t.port, 8080);
    assert_false(t.https);
    const char *bad[] = {"",
                         "ftp://example.com/",
                         "file:///etc/passwd",
                         "gopher://x/",
                         "http://user:pw@example.com/",
                         "http://user@example.com/",
                         "http://exa mple.com/",
                         "http://example.com/\r\nX: y",
                         "http:///x",
                         "http://[fe80::1%25eth0]/",
                         "http://example.com:0/",
                         "http://example.com:70000/",
                         "javascript:alert(1)"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (!webhook_url_parse(bad[i], &t))
            fail_msg("\"%s\" must be refused", bad[i]);
    char longer[LIMIT_WEBHOOK_URL + 32] = "https://example.com/";
    memset(longer + strlen(longer), 'a', LIMIT_WEBHOOK_URL);
    longer[LIMIT_WEBHOOK_URL + 1] = 0;
    assert_non_null(webhook_url_parse(longer, &t));
}

/* The documented check (docs/webhooks.md): HMAC-SHA256 of "<timestamp>.<body>". */
static void test_signature(void **state)
{
    (void)state;
    char sig[72];
    webhook_sign("key", 1700000000, "{}", 2, sig);
    /* printf '1700000000.{}' | openssl dgst -sha256 -hmac key */
    assert_string_equal(sig,
                        "sha256=9d713ed406bb7076d4123f0dc2c39d2df5c654ed4b0cd56b52c8b4c940bd63ae");
}

static void test_mail_addresses(void **state)
{
    (void)state;
    assert_true(mail_address_ok("a@example.com"));
    assert_true(mail_address_ok("first.last+tag@sub.example.org"));
    const char *bad[] = {
        "",        "a",           "@x",       "a@", "a@b@c", "a b@c.d", "a@c.d\r\nBcc: x@y.z",
        "<a@b.c>", "a@b.c,d@e.f", "\"a\"@b.c"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (mail_address_ok(bad[i]))
            fail_msg("\"%s\" must be refused", bad[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_addresses),
        cmocka_unit_test(test_urls),
        cmocka_unit_test(test_signature),
        cmocka_unit_test(test_mail_addresses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
