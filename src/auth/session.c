/* session.c - console sessions: ids, hashes, CSRF tokens, expiry, the Origin check. */
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "auth/session.h"

void session_new_id(char out[SESSION_ID_LEN + 1])
{
    unsigned char raw[32];
    randombytes_buf(raw, sizeof(raw));
    sodium_bin2base64(out, SESSION_ID_LEN + 1, raw, sizeof(raw),
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(raw, sizeof(raw));
}

bool session_id_valid(const char *id)
{
    if (!id || strlen(id) != SESSION_ID_LEN)
        return false;
    for (const char *p = id; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '-' || *p == '_'))
            return false;
    return true;
}

void session_hash(const char *id, char out[SESSION_HASH_LEN + 1])
{
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(h, (const unsigned char *)id, strlen(id));
    sodium_bin2hex(out, SESSION_HASH_LEN + 1, h, sizeof(h));
}

void session_csrf_token(const char *key, const char *id, char out[CSRF_TOKEN_LEN + 1])
{
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, (const unsigned char *)key, strlen(key));
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)"csrf:", 5);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)id, strlen(id));
    crypto_auth_hmacsha256_final(&st, mac);
    sodium_bin2hex(out, CSRF_TOKEN_LEN + 1, mac, sizeof(mac));
    sodium_memzero(&st, sizeof(st));
}

bool session_csrf_equal(const char *expected, const char *given)
{
    if (!expected || !given || strlen(expected) != CSRF_TOKEN_LEN ||
        strnlen(given, CSRF_TOKEN_LEN + 1) != CSRF_TOKEN_LEN)
        return false;
    return sodium_memcmp(expected, given, CSRF_TOKEN_LEN) == 0;
}

bool session_alive(const struct session *x, int64_t now, int64_t lifetime, int64_t idle)
{
    return now >= x->created && now - x->created < lifetime && now - x->last_seen < idle;
}

/* Whether url names origin o exactly (origin) or begins with it and then
 * '/' or ends (a referer). */
static bool matches(const char *url, const char *o, bool prefix)
{
    size_t n = strlen(o);
    if (strncasecmp(url, o, n) != 0)
        return false;
    return url[n] == 0 || (prefix && url[n] == '/');
}

static bool origin_known(const char *url, bool prefix, const char *self,
                         const struct host_list *trusted)
{
    if (matches(url, self, prefix))
        return true;
    for (int i = 0; trusted && i < trusted->n; i++)
        if (matches(url, trusted->items[i], prefix))
            return true;
    return false;
}

bool session_origin_ok(const char *origin, const char *referer, bool https, const char *host,
                       const struct host_list *trusted)
{
    char self[300];
    if (!host || snprintf(self, sizeof(self), "%s://%s", https ? "https" : "http", host) >=
                     (int)sizeof(self))
        return false;
    if (origin && *origin)
        return strcmp(origin, "null") != 0 && origin_known(origin, false, self, trusted);
    if (referer && *referer)
        return origin_known(referer, true, self, trusted);
    return !https;
}
