/* token.c - random identifiers (UUID v4 upload tokens, hex secrets) from libsodium's RNG. */
#include <sodium.h>
#include <string.h>

#include "auth/token.h"

/*
 * Fills out with a random UUID v4: 16 random bytes with the version nibble set
 * to 4 and the variant bits to 10xx (RFC 4122), formatted in lower case.
 * Needs sodium_init() to have been called (libsodium's RNG).
 */
void token_uuid4(char out[37])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char b[16];
    randombytes_buf(b, sizeof(b));
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    size_t o = 0;
    for (size_t i = 0; i < sizeof(b); i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[o++] = '-';
        out[o++] = hex[b[i] >> 4];
        out[o++] = hex[b[i] & 0x0f];
    }
    out[o] = '\0';
    sodium_memzero(b, sizeof(b));
}

/* Canonical 8-4-4-4-12 form only: no braces, no "urn:uuid:", no missing dashes. */
bool token_is_uuid(const char *s)
{
    if (!s)
        return false;
    for (size_t i = 0; i < 36; i++) {
        char c = s[i];
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (c != '-')
                return false;
        } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
            return false; /* also stops at an early NUL */
        }
    }
    return s[36] == '\0';
}

/* Writes 2*nbytes hex digits + NUL into out, drawing randomness in small blocks
 * so that no buffer proportional to nbytes lives on the stack. */
void token_hex(char *out, size_t nbytes)
{
    unsigned char b[32];
    size_t done = 0;
    while (done < nbytes) {
        size_t n = nbytes - done < sizeof(b) ? nbytes - done : sizeof(b);
        randombytes_buf(b, n);
        sodium_bin2hex(out + 2 * done, 2 * n + 1, b, n);
        done += n;
    }
    out[2 * nbytes] = '\0';
    sodium_memzero(b, sizeof(b));
}

/* Constant time over the common length; different lengths (or a NULL) are unequal
 * at once, which leaks only the length. */
bool token_equal(const char *a, const char *b)
{
    if (!a || !b)
        return false;
    size_t la = strlen(a), lb = strlen(b);
    if (la != lb)
        return false;
    return sodium_memcmp(a, b, la) == 0;
}
