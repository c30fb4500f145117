/* fuzz-filename.c - file name sanitising: the result is always a safe single name. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "blob/blob.h"
#include "core/limits.h"

/* Valid UTF-8 without control characters. */
static int clean_utf8(const unsigned char *s)
{
    while (*s) {
        if (*s < 0x20 || *s == 0x7f)
            return 0;
        size_t n = *s < 0x80 ? 1 : (*s & 0xE0) == 0xC0 ? 2 : (*s & 0xF0) == 0xE0 ? 3 : 4;
        if (*s >= 0xF8 || (*s & 0xC0) == 0x80)
            return 0;
        for (size_t i = 1; i < n; i++)
            if ((s[i] & 0xC0) != 0x80)
                return 0;
        s += n;
    }
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char out[LIMIT_FILENAME + 1];
    blob_sanitize_name((const char *)data, size, "archive", out, sizeof(out));
    size_t n = strlen(out);
    if (n == 0 || n > LIMIT_FILENAME || strchr(out, '/') || strchr(out, '\\') || out[0] == '.' ||
        out[0] == ' ' || out[n - 1] == '.' || out[n - 1] == ' ' ||
        !clean_utf8((const unsigned char *)out))
        abort();
    /* sanitising a sanitized name changes nothing */
    char again[LIMIT_FILENAME + 1];
    blob_sanitize_name(out, n, "archive", again, sizeof(again));
    if (strcmp(out, again) != 0)
        abort();
    return 0;
}
