/* jwt.c - HS256 access/refresh tokens (libjwt 1.10) with simplejwt's claims. */
#include <errno.h>
#include <jwt.h>
#include <limits.h>
#include <stdlib.h>
#include <sodium.h>
#include <stdbool.h>
#include <string.h>

#include "auth/jwt.h"
#include "auth/token.h"

static const char *kind_name(enum jwt_kind kind)
{
    switch (kind) {
    case JWT_ACCESS:
        return "access";
    case JWT_REFRESH:
        return "refresh";
    default:
        return NULL;
    }
}

/*
 * Builds and signs the token: claims token_type, exp = now + TTL of the kind,
 * iat = now, jti (32 random hex digits), user_id. ERR_INTERNAL for a caller bug
 * (no key, kind JWT_ANY, user_id <= 0, out shorter than the token), ERR_NOMEM
 * when libjwt fails to allocate. out is written only on success.
 */
enum err jwt_issue(const char *key, enum jwt_kind kind, int64_t user_id, int64_t now,
                   unsigned claims, char *out, size_t outlen)
{
    const char *type = kind_name(kind);
    if (!key || !*key || !type || user_id <= 0 || user_id > LONG_MAX || !out)
        return ERR_INTERNAL;
    size_t keylen = strlen(key);
    if (keylen > INT_MAX)
        return ERR_INTERNAL;
    int64_t ttl = kind == JWT_ACCESS ? JWT_ACCESS_TTL : JWT_REFRESH_TTL;
    if (now < 0 || now > LONG_MAX - ttl)
        return ERR_INTERNAL;

    char jti[33];
    token_hex(jti, 16);

    jwt_t *jwt = NULL;
    if (jwt_new(&jwt) != 0)
        return ERR_NOMEM;
    enum err e = ERR_NOMEM;
    char *s = NULL;
    if (jwt_add_grant(jwt, "token_type", type) != 0 ||
        jwt_add_grant_int(jwt, "exp", (long)(now + ttl)) != 0 ||
        jwt_add_grant_int(jwt, "iat", (long)now) != 0 || jwt_add_grant(jwt, "jti", jti) != 0 ||
        jwt_add_grant_int(jwt, "user_id", (long)user_id) != 0 ||
        ((claims & JWT_CLAIM_2FA) && jwt_add_grant_bool(jwt, "2fa", 1) != 0))
        goto out;
    if (jwt_set_alg(jwt, JWT_ALG_HS256, (const unsigned char *)key, (int)keylen) != 0)
        goto out;
    s = jwt_encode_str(jwt);
    if (!s)
        goto out;
    size_t n = strlen(s);
    if (n > JWT_MAX || n >= outlen) {
        e = ERR_INTERNAL;
        goto out;
    }
    memcpy(out, s, n + 1);
    e = ERR_OK;
out:
    free(s); /* libjwt 1.10 allocates with malloc unless jwt_set_alloc was called */
    jwt_free(jwt);
    return e;
}

/*
 * HS256 signature check in constant time, before libjwt sees the token: the
 * HMAC-SHA256 of "header.payload" under key is compared with the decoded third
 * part by sodium_memcmp, so the time taken says nothing about how much of a
 * forged signature was right (whatever comparison the installed libjwt uses).
 */
static bool signature_ok(const char *key, size_t keylen, const char *token)
{
    const char *dot1 = strchr(token, '.');
    const char *dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;
    if (!dot2 || strchr(dot2 + 1, '.'))
        return false;
    unsigned char sig[crypto_auth_hmacsha256_BYTES], mac[crypto_auth_hmacsha256_BYTES];
    size_t siglen = 0;
    const char *b64 = dot2 + 1;
    if (sodium_base642bin(sig, sizeof(sig), b64, strlen(b64), NULL, &siglen, NULL,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
        siglen != sizeof(sig))
        return false;
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, (const unsigned char *)key, keylen);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)token, (size_t)(dot2 - token));
    crypto_auth_hmacsha256_final(&st, mac);
    bool ok = sodium_memcmp(mac, sig, sizeof(mac)) == 0;
    sodium_memzero(&st, sizeof(st));
    return ok;
}

/*
 * Checks, in order: length <= JWT_MAX, a valid HS256 signature with key (the
 * algorithm is checked explicitly: libjwt would decode an unsigned "none" token),
 * an integer exp > now, token_type matching kind (any of the two for JWT_ANY)
 * and a positive integer user_id. ERR_TOKEN_INVALID for any failure;
 * *ret_user_id is written only on success.
 */
enum err jwt_verify(const char *key, const char *token, enum jwt_kind kind, int64_t now,
                    int64_t *ret_user_id, unsigned *ret_claims)
{
    if (!key || !*key || !token)
        return ERR_TOKEN_INVALID;
    size_t keylen = strlen(key);
    if (keylen > INT_MAX || strnlen(token, JWT_MAX + 1) > JWT_MAX)
        return ERR_TOKEN_INVALID;

    if (!signature_ok(key, keylen, token))
        return ERR_TOKEN_INVALID;
    jwt_t *jwt = NULL;
    if (jwt_decode(&jwt, token, (const unsigned char *)key, (int)keylen) != 0 || !jwt)
        return ERR_TOKEN_INVALID;

    enum err e = ERR_TOKEN_INVALID;
    if (jwt_get_alg(jwt) != JWT_ALG_HS256)
        goto out;

    errno = 0;
    long exp = jwt_get_grant_int(jwt, "exp");
    if (errno != 0 || exp <= now)
        goto out;

    const char *type = jwt_get_grant(jwt, "token_type");
    if (!type)
        goto out;
    if (kind == JWT_ANY) {
        if (strcmp(type, "access") != 0 && strcmp(type, "refresh") != 0)
            goto out;
    } else {
        const char *want = kind_name(kind);
        if (!want || strcmp(type, want) != 0)
            goto out;
    }

    errno = 0;
    long uid = jwt_get_grant_int(jwt, "user_id");
    if (errno != 0 || uid <= 0)
        goto out;

    errno = 0;
    int twofa = jwt_get_grant_bool(jwt, "2fa");
    *ret_user_id = (int64_t)uid;
    if (ret_claims)
        *ret_claims = errno == 0 && twofa == 1 ? JWT_CLAIM_2FA : 0;
    e = ERR_OK;
out:
    jwt_free(jwt);
    return e;
}
