/* test-totp.c - TOTP against the RFC 6238 test vectors, code checks, backup codes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <liboath/oath.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "auth/totp.h"

/* RFC 6238 appendix B: 8-digit codes of the ASCII keys "1234567890" repeated to
 * 20 (SHA-1), 32 (SHA-256) and 64 (SHA-512) bytes. */
static const struct {
    int64_t t;
    const char *sha1, *sha256, *sha512;
} vectors[] = {
    {59, "94287082", "46119246", "90693936"},
    {1111111109, "07081804", "68084774", "25091201"},
    {1111111111, "14050471", "67062674", "99943326"},
    {1234567890, "89005924", "91819424", "93441116"},
    {2000000000, "69279037", "90698825", "38618901"},
    {20000000000LL, "65353130", "77737706", "47863826"},
};

static void key_of(unsigned char *k, size_t n)
{
    for (size_t i = 0; i < n; i++)
        k[i] = (unsigned char)('0' + (i + 1) % 10);
}

static void test_rfc6238_vectors(void **state)
{
    (void)state;
    unsigned char k20[20], k32[32], k64[64];
    key_of(k20, 20);
    key_of(k32, 32);
    key_of(k64, 64);
    assert_memory_equal(k20, "12345678901234567890", 20);
    for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
        char out[9];
        assert_int_equal(totp_generate(k20, 20, vectors[i].t, 8, TOTP_SHA1, out), ERR_OK);
        assert_string_equal(out, vectors[i].sha1);
        assert_int_equal(totp_generate(k32, 32, vectors[i].t, 8, TOTP_SHA256, out), ERR_OK);
        assert_string_equal(out, vectors[i].sha256);
        assert_int_equal(totp_generate(k64, 64, vectors[i].t, 8, TOTP_SHA512, out), ERR_OK);
        assert_string_equal(out, vectors[i].sha512);
    }
}

/* The raw key of a base32 secret. */
static size_t raw_key(const char *b32, unsigned char *out)
{
    char *k = NULL;
    size_t n = 0;
    assert_int_equal(oath_base32_decode(b32, strlen(b32), &k, &n), OATH_OK);
    memcpy(out, k, n);
    free(k);
    return n;
}

/* A code is accepted within one step of now (either side) and tells its step,
 * two steps away it is refused, as is anything not six digits. */
static void test_check_window(void **state)
{
    (void)state;
    char secret[TOTP_SECRET_B32 + 1];
    assert_int_equal(totp_new_secret(secret), ERR_OK);
    assert_int_equal(strlen(secret), TOTP_SECRET_B32);
    unsigned char key[64];
    size_t n = raw_key(secret, key);
    assert_int_equal(n, TOTP_SECRET_BYTES);
    int64_t now = 1700000015; /* step 56666667 */
    char code[7];
    int64_t counter = 0;
    assert_int_equal(totp_generate(key, n, now, 6, TOTP_SHA1, code), ERR_OK);
    assert_int_equal(totp_check(secret, code, now, &counter), ERR_OK);
    assert_int_equal(counter, now / TOTP_STEP);
    assert_int_equal(totp_check(secret, code, now + TOTP_STEP, &counter), ERR_OK);
    assert_int_equal(counter, now / TOTP_STEP);
    assert_int_equal(totp_check(secret, code, now - TOTP_STEP, &counter), ERR_OK);
    assert_int_equal(totp_check(secret, code, now + 2 * TOTP_STEP, &counter), ERR_BAD_CREDENTIALS);
    char spaced[8] = {code[0], code[1], code[2], ' ', code[3], code[4], code[5], 0};
    assert_int_equal(totp_check(secret, spaced, now, &counter), ERR_OK);
    char wrong[7];
    memcpy(wrong, code, 7);
    wrong[5] = wrong[5] == '9' ? '0' : (char)(wrong[5] + 1);
    assert_int_equal(totp_check(secret, wrong, now, &counter), ERR_BAD_CREDENTIALS);
    assert_int_equal(totp_check(secret, "", now, &counter), ERR_BAD_CREDENTIALS);
    assert_int_equal(totp_check(secret, "12345", now, &counter), ERR_BAD_CREDENTIALS);
    assert_int_equal(totp_check(secret, "1234567", now, &counter), ERR_BAD_CREDENTIALS);
    assert_int_equal(totp_check(secret, "12a456", now, &counter), ERR_BAD_CREDENTIALS);
    assert_int_equal(totp_check("", code, now, &counter), ERR_BAD_CREDENTIALS);
    assert_int_equal(totp_check(secret, NULL, now, &counter), ERR_BAD_CREDENTIALS);
}

static void test_uri(void **state)
{
    (void)state;
    char out[256];
    assert_true(totp_uri("logs-collector", "al ice@x", "ABCDEFGH", out, sizeof(out)));
    assert_string_equal(out, "otpauth://totp/logs-collector%3Aal%20ice%40x?secret=ABCDEFGH"
                             "&digits=6&period=30&issuer=logs-collector");
    assert_false(totp_uri("logs-collector", "x", "ABCDEFGH", out, 20));
}

/* Ten codes: distinct, of the documented form; their hashes ignore case, spaces
 * and dashes; anything else is no code. */
static void test_backup_codes(void **state)
{
    (void)state;
    char codes[10][BACKUP_CODE_LEN + 1];
    for (int i = 0; i < 10; i++) {
        backup_code_new(codes[i]);
        assert_int_equal(strlen(codes[i]), BACKUP_CODE_LEN);
        assert_int_equal(codes[i][4], '-');
        assert_int_equal(codes[i][9], '-');
        for (int j = 0; j < i; j++)
            assert_string_not_equal(codes[i], codes[j]);
    }
    char h1[BACKUP_HASH_LEN + 1], h2[BACKUP_HASH_LEN + 1], h3[BACKUP_HASH_LEN + 1];
    assert_true(backup_code_hash("abcd-efgh-jkmn", h1));
    assert_true(backup_code_hash("ABCD EFGH JKMN", h2));
    assert_true(backup_code_hash("abcdefghjkmn", h3));
    assert_string_equal(h1, h2);
    assert_string_equal(h1, h3);
    assert_int_equal(strlen(h1), 64);
    assert_true(backup_code_hash("abcd-efgh-jkmp", h2));
    assert_string_not_equal(h1, h2);
    assert_false(backup_code_hash("abcd-efgh-jkm", h2));   /* too short */
    assert_false(backup_code_hash("abcd-efgh-jkmnp", h2)); /* too long */
    assert_false(backup_code_hash("abcd-efgh-jkm0", h2));  /* 0 is not in the alphabet */
    assert_false(backup_code_hash("abcd-efgh-jkm!", h2));
    assert_false(backup_code_hash(NULL, h2));
}

int main(void)
{
    if (sodium_init() < 0 || totp_init() != ERR_OK)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc6238_vectors),
        cmocka_unit_test(test_check_window),
        cmocka_unit_test(test_uri),
        cmocka_unit_test(test_backup_codes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
