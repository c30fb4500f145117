/* test-jwt.c - HS256 tokens: round trips, expiry, kinds, tampering, alg none, crafted claims. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "auth/jwt.h"

#define KEY "test-secret-key-0123456789abcdef"
#define NOW ((int64_t)1700000000)

static void b64url(const void *in, size_t n, char *out, size_t outlen)
{
    sodium_bin2base64(out, outlen, in, n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

/* Builds "b64(header).b64(payload).b64(HMAC-SHA256)" by hand; alg "none" style
 * tokens when key is NULL (empty signature part). */
static void craft(const char *header, const char *payload, const char *key, char *out,
                  size_t outlen)
{
    char h[512], p[2048];
    b64url(header, strlen(header), h, sizeof(h));
    b64url(payload, strlen(payload), p, sizeof(p));
    int n = snprintf(out, outlen, "%s.%s.", h, p);
    assert_true(n > 0 && (size_t)n < outlen);
    if (!key)
        return;
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, (const unsigned char *)key, strlen(key));
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)out, (size_t)n - 1);
    crypto_auth_hmacsha256_final(&st, mac);
    b64url(mac, sizeof(mac), out + n, outlen - (size_t)n);
}

static const char *HS256 = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";

/* The decoded payload of a token (caller json_decref's). */
static json_t *payload_of(const char *tok)
{
    const char *a = strchr(tok, '.');
    assert_non_null(a);
    const char *b = strchr(a + 1, '.');
    assert_non_null(b);
    unsigned char bin[1024];
    size_t n;
    assert_int_equal(sodium_base642bin(bin, sizeof(bin), a + 1, (size_t)(b - a - 1), NULL, &n, NULL,
                                       sodium_base64_VARIANT_URLSAFE_NO_PADDING),
                     0);
    json_t *j = json_loadb((const char *)bin, n, 0, NULL);
    assert_non_null(j);
    return j;
}

static void expect_invalid(const char *tok, enum jwt_kind kind)
{
    int64_t uid = -7;
    enum err e = jwt_verify(KEY, tok, kind, NOW, &uid, NULL);
    if (e != ERR_TOKEN_INVALID || uid != -7)
        fail_msg("accepted (e=%d uid=%lld): %s", (int)e, (long long)uid, tok ? tok : "(null)");
}

static void test_roundtrip(void **state)
{
    (void)state;
    char tok[JWT_MAX + 1];
    int64_t uid = 0;
    assert_int_equal(jwt_issue(KEY, JWT_ACCESS, 42, NOW, 0, tok, sizeof(tok)), ERR_OK);
    assert_true(strlen(tok) < JWT_MAX);
    assert_int_equal(jwt_verify(KEY, tok, JWT_ACCESS, NOW, &uid, NULL), ERR_OK);
    assert_int_equal(uid, 42);
    uid = 0;
    assert_int_equal(jwt_verify(KEY, tok, JWT_ANY, NOW + 10, &uid, NULL), ERR_OK);
    assert_int_equal(uid, 42);

    json_t *p = payload_of(tok);
    assert_string_equal(json_string_value(json_object_get(p, "token_type")), "access");
    assert_int_equal(json_integer_value(json_object_get(p, "exp")), NOW + JWT_ACCESS_TTL);
    assert_int_equal(json_integer_value(json_object_get(p, "iat")), NOW);
    assert_int_equal(json_integer_value(json_object_get(p, "user_id")), 42);
    const char *jti = json_string_value(json_object_get(p, "jti"));
    assert_non_null(jti);
    assert_int_equal(strlen(jti), 32);
    assert_int_equal(strspn(jti, "0123456789abcdef"), 32);
    json_decref(p);

    char tok2[JWT_MAX + 1];
    assert_int_equal(jwt_issue(KEY, JWT_REFRESH, 7, NOW, 0, tok2, sizeof(tok2)), ERR_OK);
    assert_int_equal(jwt_verify(KEY, tok2, JWT_REFRESH, NOW + JWT_ACCESS_TTL * 2, &uid, NULL),
                     ERR_OK);
    assert_int_equal(uid, 7);
    assert_int_equal(jwt_verify(KEY, tok2, JWT_ANY, NOW, &uid, NULL), ERR_OK);
    p = payload_of(tok2);
    assert_string_equal(json_string_value(json_object_get(p, "token_type")), "refresh");
    assert_int_equal(json_integer_value(json_object_get(p, "exp")), NOW + JWT_REFRESH_TTL);
    json_decref(p);

    /* jti differs between two tokens issued in the same second */
    char tok3[JWT_MAX + 1];
    assert_int_equal(jwt_issue(KEY, JWT_ACCESS, 42, NOW, 0, tok3, sizeof(tok3)), ERR_OK);
    assert_string_not_equal(tok, tok3);
}

static void test_wrong_kind(void **state)
{
    (void)state;
    char a[JWT_MAX + 1], r[JWT_MAX + 1];
    assert_int_equal(jwt_issue(KEY, JWT_ACCESS, 1, NOW, 0, a, sizeof(a)), ERR_OK);
    assert_int_equal(jwt_issue(KEY, JWT_REFRESH, 1, NOW, 0, r, sizeof(r)), ERR_OK);
    expect_invalid(a, JWT_REFRESH);
    expect_invalid(r, JWT_ACCESS);
}

static void test_expiry(void **state)
{
    (void)state;
    char tok[JWT_MAX + 1];
    int64_t uid;
    /* issued in the past: expired at NOW - 1 */
    assert_int_equal(jwt_issue(KEY, JWT_ACCESS, 1, NOW - JWT_ACCESS_TTL - 1, 0, tok, sizeof(tok)),
                     ERR_OK);
    expect_invalid(tok, JWT_ACCESS);
    /* exp == now is expired, one second before is valid */
    assert_int_equal(jwt_issue(KEY, JWT_ACCESS, 1, NOW - JWT_ACCESS_TTL, 0, tok, sizeof(tok)),
                     ERR_OK);
    expect_invalid(tok, JWT_ACCESS);
    assert_int_equal(jwt_issue(KEY, JWT_ACCESS, 1, NOW - JWT_ACCESS_TTL + 1, 0, tok, sizeof(tok)),
                     ERR_OK);
    assert_int_equal(jwt_verify(KEY, tok, JWT_ACCESS, NOW, &uid, NULL), ERR_OK);
}

static void test_tampered(void **state)
{
    (void)state;
    char tok[JWT_MAX + 1], bad[JWT_MAX + 1];
    assert_int_equal(jwt_issue(KEY, JWT_ACCESS, 5, NOW, 0, tok, sizeof(tok)), ERR_OK);
    char *dot1 = strchr(tok, '.'), *dot2 = strrchr(tok, '.');

    /* payload swapped for one claiming another user, signature kept */
    char forged[JWT_MAX + 1];
    craft(HS256,
          "{\"token_type\":\"access\",\"exp\":1700003600,\"iat\":1700000000,\"jti\":\"x\","
          "\"user_id\":1}",
          KEY, forged, sizeof(forged));
    snprintf(bad, sizeof(bad), "%.*s%.*s%s", (int)(dot1 - tok), tok,
             (int)(strrchr(forged, '.') - strchr(forged, '.')), strchr(forged, '.'), dot2);
    expect_invalid(bad, JWT_ACCESS);

    /* one character of the payload changed */
    strcpy(bad, tok);
    size_t i = (size_t)(dot1 - tok) + 5;
    bad[i] = bad[i] == 'A' ? 'B' : 'A';
    expect_invalid(bad, JWT_ACCESS);

    /* one character of the signature changed */
    strcpy(bad, tok);
    i = (size_t)(dot2 - tok) + 3;
    bad[i] = bad[i] == 'A' ? 'B' : 'A';
    expect_invalid(bad, JWT_ACCESS);

    /* signature removed */
    strcpy(bad, tok);
    bad[dot2 - tok + 1] = '\0';
    expect_invalid(bad, JWT_ACCESS);
    bad[dot2 - tok] = '\0';
    expect_invalid(bad, JWT_ACCESS);
}

static void test_wrong_key(void **state)
{
    (void)state;
    char tok[JWT_MAX + 1];
    int64_t uid = -7;
    assert_int_equal(jwt_issue("another-key", JWT_ACCESS, 5, NOW, 0, tok, sizeof(tok)), ERR_OK);
    expect_invalid(tok, JWT_ACCESS);
    assert_int_equal(jwt_verify("another-key", tok, JWT_ACCESS, NOW, &uid, NULL), ERR_OK);
    assert_int_equal(jwt_verify("", tok, JWT_ACCESS, NOW, &uid, NULL), ERR_TOKEN_INVALID);
    assert_int_equal(jwt_verify(NULL, tok, JWT_ACCESS, NOW, &uid, NULL), ERR_TOKEN_INVALID);
}

static const char *GOOD = "{\"token_type\":\"access\",\"exp\":1700003600,\"iat\":1700000000,"
                          "\"jti\":\"0123456789abcdef0123456789abcdef\",\"user_id\":9}";

static void test_alg_none(void **state)
{
    (void)state;
    char tok[JWT_MAX + 1];
    /* the crafting helper itself produces accepted tokens when signed properly */
    craft(HS256, GOOD, KEY, tok, sizeof(tok));
    int64_t uid = 0;
    assert_int_equal(jwt_verify(KEY, tok, JWT_ACCESS, NOW, &uid, NULL), ERR_OK);
    assert_int_equal(uid, 9);

    craft("{\"alg\":\"none\",\"typ\":\"JWT\"}", GOOD, NULL, tok, sizeof(tok));
    expect_invalid(tok, JWT_ACCESS);
    expect_invalid(tok, JWT_ANY);
    tok[strlen(tok) - 1] = '\0'; /* without the trailing dot */
    expect_invalid(tok, JWT_ACCESS);
    craft("{\"alg\":\"None\",\"typ\":\"JWT\"}", GOOD, NULL, tok, sizeof(tok));
    expect_invalid(tok, JWT_ACCESS);
    /* a none header carrying a valid HS256 MAC is still refused */
    craft("{\"alg\":\"none\",\"typ\":\"JWT\"}", GOOD, KEY, tok, sizeof(tok));
    expect_invalid(tok, JWT_ACCESS);
    /* no alg at all */
    craft("{\"typ\":\"JWT\"}", GOOD, KEY, tok, sizeof(tok));
    expect_invalid(tok, JWT_ACCESS);
}

static void test_other_alg(void **state)
{
    (void)state;
    /* correctly MACed with HMAC-SHA512 under the right key, but not HS256 */
    char h[128], p[512], tok[JWT_MAX + 1];
    const char *hdr = "{\"alg\":\"HS512\",\"typ\":\"JWT\"}";
    b64url(hdr, strlen(hdr), h, sizeof(h));
    b64url(GOOD, strlen(GOOD), p, sizeof(p));
    int n = snprintf(tok, sizeof(tok), "%s.%s.", h, p);
    unsigned char mac[crypto_auth_hmacsha512_BYTES];
    crypto_auth_hmacsha512_state st;
    crypto_auth_hmacsha512_init(&st, (const unsigned char *)KEY, strlen(KEY));
    crypto_auth_hmacsha512_update(&st, (const unsigned char *)tok, (size_t)n - 1);
    crypto_auth_hmacsha512_final(&st, mac);
    b64url(mac, sizeof(mac), tok + n, sizeof(tok) - (size_t)n);
    expect_invalid(tok, JWT_ACCESS);
}

static void test_claims(void **state)
{
    (void)state;
    static const char *const bad[] = {
        /* no user_id */
        "{\"token_type\":\"access\",\"exp\":1700003600}",
        /* user_id not an integer, zero, negative */
        "{\"token_type\":\"access\",\"exp\":1700003600,\"user_id\":\"9\"}",
        "{\"token_type\":\"access\",\"exp\":1700003600,\"user_id\":0}",
        "{\"token_type\":\"access\",\"exp\":1700003600,\"user_id\":-3}",
        "{\"token_type\":\"access\",\"exp\":1700003600,\"user_id\":9.5}",
        "{\"token_type\":\"access\",\"exp\":1700003600,\"user_id\":null}",
        /* no exp, exp a string, exp a float */
        "{\"token_type\":\"access\",\"user_id\":9}",
        "{\"token_type\":\"access\",\"exp\":\"1700003600\",\"user_id\":9}",
        "{\"token_type\":\"access\",\"exp\":1700003600.5,\"user_id\":9}",
        /* token_type missing, unknown, not a string */
        "{\"exp\":1700003600,\"user_id\":9}",
        "{\"token_type\":\"sliding\",\"exp\":1700003600,\"user_id\":9}",
        "{\"token_type\":1,\"exp\":1700003600,\"user_id\":9}",
        /* not an object */
        "[1,2,3]",
        "not json",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char tok[JWT_MAX + 1];
        craft(HS256, bad[i], KEY, tok, sizeof(tok));
        expect_invalid(tok, JWT_ANY);
        expect_invalid(tok, JWT_ACCESS);
    }
}

static void test_garbage(void **state)
{
    (void)state;
    expect_invalid(NULL, JWT_ANY);
    expect_invalid("", JWT_ANY);
    expect_invalid("abc", JWT_ANY);
    expect_invalid("a.b.c", JWT_ANY);
    expect_invalid("..", JWT_ANY);
    expect_invalid("....", JWT_ANY);
    expect_invalid("Bearer x.y.z", JWT_ANY);
    expect_invalid("eyJhbGciOiJIUzI1NiJ9.%%%%.abc", JWT_ANY);
}

static void test_oversize(void **state)
{
    (void)state;
    /* a correctly signed token that is simply too long */
    char payload[1200];
    int n = snprintf(payload, sizeof(payload),
                     "{\"token_type\":\"access\",\"exp\":1700003600,\"user_id\":9,\"pad\":\"");
    memset(payload + n, 'p', 800);
    strcpy(payload + n + 800, "\"}");
    char tok[4096];
    craft(HS256, payload, KEY, tok, sizeof(tok));
    assert_true(strlen(tok) > JWT_MAX);
    expect_invalid(tok, JWT_ANY);

    char big[JWT_MAX * 4];
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    expect_invalid(big, JWT_ANY);
}

static void test_issue_errors(void **state)
{
    (void)state;
    char tok[JWT_MAX + 1] = "untouched";
    assert_int_equal(jwt_issue(KEY, JWT_ANY, 1, NOW, 0, tok, sizeof(tok)), ERR_INTERNAL);
    assert_int_equal(jwt_issue(KEY, JWT_ACCESS, 0, NOW, 0, tok, sizeof(tok)), ERR_INTERNAL);
    assert_int_equal(jwt_issue(KEY, JWT_ACCESS, -1, NOW, 0, tok, sizeof(tok)), ERR_INTERNAL);
    assert_int_equal(jwt_issue("", JWT_ACCESS, 1, NOW, 0, tok, sizeof(tok)), ERR_INTERNAL);
    assert_int_equal(jwt_issue(NULL, JWT_ACCESS, 1, NOW, 0, tok, sizeof(tok)), ERR_INTERNAL);
    assert_int_equal(jwt_issue(KEY, JWT_ACCESS, 1, NOW, 0, tok, 20), ERR_INTERNAL);
    assert_string_equal(tok, "untouched");
}

/* The "2fa" claim: set only when asked, read back as JWT_CLAIM_2FA; a token
 * without it (or with "2fa": false) has no second factor. */
static void test_2fa_claim(void **state)
{
    (void)state;
    char tok[JWT_MAX + 1];
    int64_t uid = 0;
    unsigned claims = 99;
    assert_int_equal(jwt_issue(KEY, JWT_ACCESS, 3, NOW, JWT_CLAIM_2FA, tok, sizeof(tok)), ERR_OK);
    assert_int_equal(jwt_verify(KEY, tok, JWT_ACCESS, NOW, &uid, &claims), ERR_OK);
    assert_int_equal(claims, JWT_CLAIM_2FA);
    json_t *p = payload_of(tok);
    assert_true(json_is_true(json_object_get(p, "2fa")));
    json_decref(p);
    assert_int_equal(jwt_issue(KEY, JWT_ACCESS, 3, NOW, 0, tok, sizeof(tok)), ERR_OK);
    assert_int_equal(jwt_verify(KEY, tok, JWT_ACCESS, NOW, &uid, &claims), ERR_OK);
    assert_int_equal(claims, 0);
    p = payload_of(tok);
    assert_null(json_object_get(p, "2fa"));
    json_decref(p);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip),    cmocka_unit_test(test_wrong_kind),
        cmocka_unit_test(test_expiry),       cmocka_unit_test(test_tampered),
        cmocka_unit_test(test_wrong_key),    cmocka_unit_test(test_alg_none),
        cmocka_unit_test(test_other_alg),    cmocka_unit_test(test_claims),
        cmocka_unit_test(test_garbage),      cmocka_unit_test(test_oversize),
        cmocka_unit_test(test_issue_errors), cmocka_unit_test(test_2fa_claim),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
