/* fuzz-time.c - RFC 3339 times and date filters: a parsed time formats and parses back to itself.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/query.h"
#include "core/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int once;
    if (!once++) {
        setenv("TZ", "Europe/Moscow", 1);
        tzset();
    }
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = 0;
    int64_t t, a, b;
    if (time_parse(s, &t) && t > -62135596800LL * 1000000 && t < 253402300799LL * 1000000) {
        char out[40], again[40];
        time_format(t, out);
        int64_t t2;
        if (!time_parse(out, &t2) || t2 != t)
            abort();
        time_format(t2, again);
        if (strcmp(out, again) != 0)
            abort();
    }
    if (query_time(s, &a, &b) && b < a)
        abort();
    free(s);
    return 0;
}
