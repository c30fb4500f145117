/* fuzz-range.c - Range headers: any answer stays inside the file. Input: 8 bytes of size, then the
 * header. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/query.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 8)
        return 0;
    uint64_t raw;
    memcpy(&raw, data, 8);
    int64_t fsize = (int64_t)(raw >> 1); /* 0 .. INT64_MAX */
    char *h = malloc(size - 8 + 1);
    if (!h)
        return 0;
    memcpy(h, data + 8, size - 8);
    h[size - 8] = 0;
    int64_t s = -1, e = -1;
    if (query_range(h, fsize, &s, &e) == RANGE_OK && (s < 0 || e < s || e >= fsize))
        abort();
    free(h);
    return 0;
}
