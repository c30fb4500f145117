/* embedded.c - look-up of the files scripts/embed.py built into the binary. */
#include <string.h>

#include "core/embedded.h"

const struct embedded_file *embedded_find(const char *name)
{
    for (const struct embedded_file *f = embedded_files; f->name; f++)
        if (strcmp(f->name, name) == 0)
            return f;
    return NULL;
}
