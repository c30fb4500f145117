/* totp.c - TOTP (RFC 6238) over liboath, and backup codes (stored as SHA-256). */
#include <liboath/oath.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/totp.h"

/* No 0/o, 1/i/l: nothing to confuse when typed from paper. */
static const char backup_alphabet[] = "abcdefghjkmnpqrstuvwxyz23456789";

enum err totp_init(void)
{
    return oath_init() == OATH_OK ? ERR_OK : ERR_INTERNAL;
}

enum err totp_new_secret(char out[TOTP_SECRET_B32 + 1])
{
    char raw[TOTP_SECRET_BYTES];
    randombytes_buf(raw, sizeof(raw));
    char *b32 = NULL;
    size_t len = 0;
    int rc = oath_base32_encode(raw, sizeof(raw), &b32, &len);
    sodium_memzero(raw, sizeof(raw));
    if (rc != OATH_OK || !b32 || len != TOTP_SECRET_B32) {
        free(b32);
        return ERR_INTERNAL;
    }
    memcpy(out, b32, len + 1);
    sodium_memzero(b32, len);
    free(b32);
    return ERR_OK;
}

static int oath_flags(enum totp_hash h)
{
    return h == TOTP_SHA256 ? OATH_TOTP_HMAC_SHA256 : h == TOTP_SHA512 ? OATH_TOTP_HMAC_SHA512 : 0;
}

enum err totp_generate(const unsigned char *key, size_t keylen, int64_t now, unsigned digits,
                       enum totp_hash h, char *out)
{
    if (!key || !out || now < 0 || digits < 6 || digits > 8)
        return ERR_INTERNAL;
    int rc = oath_totp_generate2((const char *)key, keylen, (time_t)now, TOTP_STEP, 0, digits,
                                 oath_flags(h), out);
    return rc == OATH_OK ? ERR_OK : ERR_INTERNAL;
}

/* liboath's comparison hook: 0 when the candidate equals the code given
 * (handle), in constant time. */
static int code_cmp(void *handle, const char *candidate)
{
    const char *given = handle;
    if (strlen(candidate) != TOTP_DIGITS)
        return 1;
    return sodium_memcmp(given, candidate, TOTP_DIGITS) == 0 ? 0 : 1;
}

enum err totp_check(const char *secret_b32, const char *code, int64_t now, int64_t *ret_counter)
{
    char digits[TOTP_DIGITS + 1];
    size_t n = 0;
    if (!secret_b32 || !*secret_b32 || !code || now < 0)
        return ERR_BAD_CREDENTIALS;
    for (const char *p = code; *p; p++) {
        if (*p == ' ')
            continue;
        if (*p < '0' || *p > '9' || n == TOTP_DIGITS)
            return ERR_BAD_CREDENTIALS;
        digits[n++] = *p;
    }
    if (n != TOTP_DIGITS)
        return ERR_BAD_CREDENTIALS;
    digits[n] = 0;
    char *key = NULL;
    size_t keylen = 0;
    if (oath_base32_decode(secret_b32, strlen(secret_b32), &key, &keylen) != OATH_OK || !key)
        return ERR_INTERNAL;
    int pos = 0;
    uint64_t counter = 0;
    int rc = oath_totp_validate4_callback(key, keylen, (time_t)now, TOTP_STEP, 0, TOTP_DIGITS,
                                          TOTP_WINDOW, &pos, &counter, 0, code_cmp, digits);
    sodium_memzero(key, keylen);
    free(key);
    if (rc < 0)
        return ERR_BAD_CREDENTIALS;
    *ret_counter = (int64_t)counter;
    return ERR_OK;
}

/* Percent-encodes s (unreserved characters stay) into out at *j; false when full. */
static bool pct(const char *s, char *out, size_t outlen, size_t *j)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        bool plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                     (*p >= '0' && *p <= '9') || strchr("-._~", *p);
        if (*j + (plain ? 1 : 3) >= outlen)
            return false;
        if (plain) {
            out[(*j)++] = (char)*p;
        } else {
            out[(*j)++] = '%';
            out[(*j)++] = hex[*p >> 4];
            out[(*j)++] = hex[*p & 15];
        }
    }
    out[*j] = 0;
    return true;
}

bool totp_uri(const char *issuer, const char *account, const char *secret_b32, char *out,
              size_t outlen)
{
    size_t j = 0;
    int n = snprintf(out, outlen, "otpauth://totp/");
    if (n < 0 || (size_t)n >= outlen)
        return false;
    j = (size_t)n;
    if (!pct(issuer, out, outlen, &j) || !pct(":", out, outlen, &j) ||
        !pct(account, out, outlen, &j))
        return false;
    n = snprintf(out + j, outlen - j, "?secret=%s&digits=%d&period=%d&issuer=", secret_b32,
                 TOTP_DIGITS, TOTP_STEP);
    if (n < 0 || (size_t)n >= outlen - j)
        return false;
    j += (size_t)n;
    return pct(issuer, out, outlen, &j);
}

void backup_code_new(char out[BACKUP_CODE_LEN + 1])
{
    size_t j = 0;
    for (int i = 0; i < 12; i++) {
        if (i && i % 4 == 0)
            out[j++] = '-';
        out[j++] = backup_alphabet[randombytes_uniform(sizeof(backup_alphabet) - 1)];
    }
    out[j] = 0;
}

bool backup_code_hash(const char *typed, char out[BACKUP_HASH_LEN + 1])
{
    char norm[13];
    size_t n = 0;
    if (!typed)
        return false;
    for (const char *p = typed; *p; p++) {
        if (*p == '-' || *p == ' ')
            continue;
        char c = (*p >= 'A' && *p <= 'Z') ? (char)(*p - 'A' + 'a') : *p;
        if (n == 12 || !strchr(backup_alphabet, c))
            return false;
        norm[n++] = c;
    }
    if (n != 12)
        return false;
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(h, (const unsigned char *)norm, n);
    sodium_bin2hex(out, BACKUP_HASH_LEN + 1, h, sizeof(h));
    return true;
}
