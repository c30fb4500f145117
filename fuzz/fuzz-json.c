/* fuzz-json.c - JSON request bodies: parsed within the limits or refused, never more. */
#include <stdint.h>
#include <stdlib.h>

#include "core/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *j = NULL;
    char err[256];
    if (json_parse_body((const char *)data, size, &j, err, sizeof(err)) == ERR_OK) {
        if (!j)
            abort();
        size_t len;
        char *out = json_dump_compact(j, &len);
        free(out);
        json_decref(j);
    }
    return 0;
}
