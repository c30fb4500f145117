/* test-password.c - argon2id hashing, dummy verification, the concurrency cap, random passwords. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dlfcn.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h> /* nanosleep */

#include "auth/password.h"
#include "core/limits.h"

/*
 * libsodium's two entry points are interposed (this executable's definitions win
 * over the shared library's) to observe how many calls run at once; with `slow`
 * set each call lingers 20 ms so that waiting callers pile up at the gate.
 */
static atomic_int active, peak;
static atomic_bool slow;

static void enter(void)
{
    int a = atomic_fetch_add(&active, 1) + 1;
    int p = atomic_load(&peak);
    while (a > p && !atomic_compare_exchange_weak(&peak, &p, a))
        ;
    if (atomic_load(&slow)) {
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

int crypto_pwhash_str(char out[crypto_pwhash_STRBYTES], const char *const passwd,
                      unsigned long long passwdlen, unsigned long long opslimit, size_t memlimit)
{
    int (*real)(char *, const char *, unsigned long long, unsigned long long, size_t);
    *(void **)&real = dlsym(RTLD_NEXT, "crypto_pwhash_str");
    assert_non_null(real);
    enter();
    int rc = real(out, passwd, passwdlen, opslimit, memlimit);
    atomic_fetch_sub(&active, 1);
    return rc;
}

/* Verifications that reached argon2id, and the hash the last one checked against. */
static atomic_int verify_calls;
static char last_verified[crypto_pwhash_STRBYTES];

int crypto_pwhash_str_verify(const char str[crypto_pwhash_STRBYTES], const char *const passwd,
                             unsigned long long passwdlen)
{
    int (*real)(const char *, const char *, unsigned long long);
    *(void **)&real = dlsym(RTLD_NEXT, "crypto_pwhash_str_verify");
    assert_non_null(real);
    atomic_fetch_add(&verify_calls, 1);
    snprintf(last_verified, sizeof(last_verified), "%s", str);
    enter();
    int rc = real(str, passwd, passwdlen);
    atomic_fetch_sub(&active, 1);
    return rc;
}

static void test_init_args(void **state)
{
    (void)state;
    assert_int_equal(password_init(0), ERR_INTERNAL);
    assert_int_equal(password_init(-1), ERR_INTERNAL);
    assert_int_equal(password_init(2), ERR_OK);
    assert_int_equal(password_init(2), ERR_OK); /* again: fine */
}

static void test_hash_verify(void **state)
{
    (void)state;
    char h1[PASSWORD_HASH_MAX], h2[PASSWORD_HASH_MAX];
    assert_int_equal(password_hash("correct horse", h1, sizeof(h1)), ERR_OK);
    assert_memory_equal(h1, "$argon2id$", 10);
    assert_true(password_verify("correct horse", h1));
    assert_false(password_verify("correct hors", h1));
    assert_false(password_verify("Correct horse", h1));
    assert_false(password_verify("", h1));
    assert_false(password_verify(NULL, h1));
    /* a fresh salt every time */
    assert_int_equal(password_hash("correct horse", h2, sizeof(h2)), ERR_OK);
    assert_string_not_equal(h1, h2);
    assert_true(password_verify("correct horse", h2));

    assert_int_equal(password_hash("", h1, sizeof(h1)), ERR_OK);
    assert_true(password_verify("", h1));
    assert_false(password_verify("x", h1));
}

static void test_bad_input(void **state)
{
    (void)state;
    char h[PASSWORD_HASH_MAX] = "untouched";
    assert_int_equal(password_hash(NULL, h, sizeof(h)), ERR_BAD_REQUEST);
    assert_int_equal(password_hash("pw", h, 64), ERR_INTERNAL);
    assert_string_equal(h, "untouched");

    char *big = malloc(LIMIT_PASSWORD + 2);
    assert_non_null(big);
    memset(big, 'p', LIMIT_PASSWORD + 1);
    big[LIMIT_PASSWORD + 1] = '\0';
    assert_int_equal(password_hash(big, h, sizeof(h)), ERR_BAD_REQUEST);
    assert_string_equal(h, "untouched");
    big[LIMIT_PASSWORD] = '\0'; /* exactly the limit is accepted */
    assert_int_equal(password_hash(big, h, sizeof(h)), ERR_OK);
    assert_true(password_verify(big, h));
    big[LIMIT_PASSWORD] = 'p';
    assert_false(password_verify(big, h)); /* over the limit: refused without hashing */
    free(big);

    assert_false(password_verify("pw", "not a hash"));
    assert_false(password_verify("pw", "$argon2id$v=19$m=65536,t=2,p=1$garbage"));
    char longh[300];
    memset(longh, 'a', sizeof(longh) - 1);
    longh[sizeof(longh) - 1] = '\0';
    assert_false(password_verify("pw", longh));
    /* a Django hash from the reference is not ours: false, no crash */
    assert_false(password_verify("pw", "pbkdf2_sha256$600000$salt$abcdef="));
}

/* The cost parameters of an argon2id string: "$argon2id$v=19$m=65536,t=2,p=1$". */
static void params_of(const char *hash, char *out, size_t cap)
{
    size_t n = 0;
    int dollars = 0;
    while (hash[n] && n + 1 < cap) {
        out[n] = hash[n];
        if (hash[n++] == '$' && ++dollars == 4)
            break;
    }
    out[n] = '\0';
}

/* A missing hash (no such user) is checked all the same, by argon2id against a dummy
 * hash with the parameters of a real one: the same work, so the answer's timing does
 * not tell whether the user exists. Asserted on the calls, not on a clock. */
static void test_missing_hash_costs_time(void **state)
{
    (void)state;
    char h[PASSWORD_HASH_MAX], want[64], got[64];
    assert_int_equal(password_hash("pw", h, sizeof(h)), ERR_OK);
    params_of(h, want, sizeof(want));
    assert_memory_equal(want, "$argon2id$v=19$m=", 17);

    int n = atomic_load(&verify_calls);
    assert_false(password_verify("pw2", h));
    assert_int_equal(atomic_load(&verify_calls), n + 1);
    assert_string_equal(last_verified, h);

    const char *missing[] = {NULL, ""};
    for (size_t i = 0; i < 2; i++) {
        n = atomic_load(&verify_calls);
        last_verified[0] = '\0';
        assert_false(password_verify("pw", missing[i]));
        assert_int_equal(atomic_load(&verify_calls), n + 1); /* argon2id ran */
        params_of(last_verified, got, sizeof(got));
        assert_string_equal(got, want);                    /* with a real hash's cost */
        assert_string_not_equal(last_verified, h);         /* against the dummy hash */
        assert_true(strlen(last_verified) > strlen(want)); /* which has salt and digest */
    }
}

static char stored[PASSWORD_HASH_MAX];

static void *hash_thread(void *arg)
{
    char h[PASSWORD_HASH_MAX];
    *(enum err *)arg = password_hash("parallel", h, sizeof(h));
    return NULL;
}

static void *verify_thread(void *arg)
{
    *(bool *)arg = password_verify("parallel", stored);
    return NULL;
}

/* Runs n hashes (or verifications) on n threads and returns the most that ran at once. */
static int run_parallel(int n, bool verify)
{
    pthread_t th[8];
    enum err res[8];
    bool ok[8];
    assert_true(n <= 8);
    atomic_store(&peak, 0);
    atomic_store(&slow, true);
    for (int i = 0; i < n; i++)
        assert_int_equal(pthread_create(&th[i], NULL, verify ? verify_thread : hash_thread,
                                        verify ? (void *)&ok[i] : (void *)&res[i]),
                         0);
    for (int i = 0; i < n; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
        if (verify)
            assert_true(ok[i]);
        else
            assert_int_equal(res[i], ERR_OK);
    }
    atomic_store(&slow, false);
    return atomic_load(&peak);
}

static void test_concurrency_cap(void **state)
{
    (void)state;
    assert_int_equal(password_hash("parallel", stored, sizeof(stored)), ERR_OK);
    assert_int_equal(password_init(1), ERR_OK);
    assert_int_equal(run_parallel(4, false), 1);
    assert_int_equal(run_parallel(4, true), 1);
    assert_int_equal(password_init(3), ERR_OK);
    assert_int_equal(run_parallel(6, false), 3);
    assert_int_equal(run_parallel(6, true), 3);
    assert_int_equal(password_init(2), ERR_OK);
}

static void test_random(void **state)
{
    (void)state;
    char a[21], b[21];
    memset(a, 'x', sizeof(a));
    password_random(a, 20);
    password_random(b, 20);
    assert_int_equal(strlen(a), 20);
    assert_string_not_equal(a, b);
    for (int n = 0; n < 200; n++) {
        char p[65];
        password_random(p, 64);
        assert_int_equal(strlen(p), 64);
        for (int i = 0; i < 64; i++) {
            assert_null(strchr("0O1lI", p[i]));
            assert_true((p[i] >= 'a' && p[i] <= 'z') || (p[i] >= 'A' && p[i] <= 'Z') ||
                        (p[i] >= '2' && p[i] <= '9'));
        }
    }
    char z[1] = {'x'};
    password_random(z, 0);
    assert_int_equal(z[0], '\0');
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_args),       cmocka_unit_test(test_hash_verify),
        cmocka_unit_test(test_bad_input),       cmocka_unit_test(test_missing_hash_costs_time),
        cmocka_unit_test(test_concurrency_cap), cmocka_unit_test(test_random),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
