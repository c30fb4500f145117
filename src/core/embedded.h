/* embedded.h - files built into the binary (OpenAPI document, later the web UI). */
#pragma once

#include <stddef.h>

struct embedded_file {
    const char *name;
    const unsigned char *data; /* NUL-terminated for convenience; size excludes it */
    size_t size;
};

/* Terminated by an entry whose name is NULL. */
extern const struct embedded_file embedded_files[];

/* The file with that base name, or NULL. */
const struct embedded_file *embedded_find(const char *name);
