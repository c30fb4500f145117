/* fuzz-tusmeta.c - tus Upload-Metadata: parsed within its limits or refused with a sentence. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/tus.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = 0;
    struct tus_meta m;
    char why[160] = "";
    if (tus_metadata_parse(s, &m, why, sizeof(why))) {
        if (m.filename_len >= sizeof(m.filename) || m.filename[m.filename_len] != 0 ||
            strlen(m.filetype) >= sizeof(m.filetype) || strlen(m.ticket) >= sizeof(m.ticket))
            abort();
    } else if (!why[0]) {
        abort(); /* a refusal says why */
    }
    free(s);
    return 0;
}
