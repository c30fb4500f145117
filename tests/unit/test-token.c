/* test-token.c - UUID v4 tokens, hex secrets, constant-time comparison. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <ctype.h>
#include <sodium.h>
#include <string.h>

#include "auth/token.h"

static void test_uuid4_format(void **state)
{
    (void)state;
    for (int i = 0; i < 200; i++) {
        char u[37];
        memset(u, 'x', sizeof(u));
        token_uuid4(u);
        assert_int_equal(strlen(u), 36);
        assert_true(token_is_uuid(u));
        assert_int_equal(u[8], '-');
        assert_int_equal(u[13], '-');
        assert_int_equal(u[14], '4');           /* version */
        assert_non_null(strchr("89ab", u[19])); /* variant 10xx */
        for (int j = 0; j < 36; j++)
            assert_false(isupper((unsigned char)u[j]));
    }
}

static void test_uuid4_random(void **state)
{
    (void)state;
    char a[37], b[37];
    token_uuid4(a);
    token_uuid4(b);
    assert_string_not_equal(a, b);
    /* every random nibble position takes more than one value over many draws */
    int seen[36][16] = {{0}};
    for (int i = 0; i < 400; i++) {
        char u[37];
        token_uuid4(u);
        for (int j = 0; j < 36; j++)
            if (u[j] != '-')
                seen[j][isdigit((unsigned char)u[j]) ? u[j] - '0' : u[j] - 'a' + 10] = 1;
    }
    for (int j = 0; j < 36; j++) {
        if (j == 8 || j == 13 || j == 18 || j == 23 || j == 14)
            continue;
        int distinct = 0;
        for (int k = 0; k < 16; k++)
            distinct += seen[j][k];
        assert_true(distinct >= (j == 19 ? 4 : 8));
    }
}

static void test_is_uuid(void **state)
{
    (void)state;
    assert_true(token_is_uuid("123e4567-e89b-12d3-a456-426614174000"));
    assert_true(token_is_uuid("123E4567-E89B-12D3-A456-426614174000"));
    assert_true(token_is_uuid("00000000-0000-0000-0000-000000000000"));
    assert_false(token_is_uuid(NULL));
    assert_false(token_is_uuid(""));
    assert_false(token_is_uuid("123e4567-e89b-12d3-a456-42661417400"));   /* short */
    assert_false(token_is_uuid("123e4567-e89b-12d3-a456-4266141740000")); /* long */
    assert_false(token_is_uuid("123e4567e89b12d3a456426614174000"));
    assert_false(token_is_uuid("{123e4567-e89b-12d3-a456-426614174000}"));
    assert_false(token_is_uuid("123e4567-e89b-12d3-a456_426614174000"));
    assert_false(token_is_uuid("123e4567-e89b-12d3-a456-42661417400g"));
    assert_false(token_is_uuid("123e4567-e89b-12d3-a456-42661417400 "));
    assert_false(token_is_uuid("../../../../etc/passwd-aaaa-aaaa-aaaa"));
}

static void test_hex(void **state)
{
    (void)state;
    char buf[130];
    memset(buf, 'x', sizeof(buf));
    token_hex(buf, 64); /* more than one internal block */
    assert_int_equal(strlen(buf), 128);
    for (int i = 0; i < 128; i++)
        assert_non_null(strchr("0123456789abcdef", buf[i]));
    assert_int_equal(buf[129], 'x'); /* nothing written past the NUL */
    char a[33], b[33];
    token_hex(a, 16);
    token_hex(b, 16);
    assert_int_equal(strlen(a), 32);
    assert_string_not_equal(a, b);
    char z[1] = {'x'};
    token_hex(z, 0);
    assert_int_equal(z[0], '\0');
}

static void test_equal(void **state)
{
    (void)state;
    assert_true(token_equal("abc", "abc"));
    assert_true(token_equal("", ""));
    assert_false(token_equal("abc", "abd"));
    assert_false(token_equal("abc", "ab"));
    assert_false(token_equal("ab", "abc"));
    assert_false(token_equal("abc", "ABC"));
    assert_false(token_equal(NULL, "abc"));
    assert_false(token_equal("abc", NULL));
    assert_false(token_equal(NULL, NULL));
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_uuid4_format), cmocka_unit_test(test_uuid4_random),
        cmocka_unit_test(test_is_uuid),      cmocka_unit_test(test_hex),
        cmocka_unit_test(test_equal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
