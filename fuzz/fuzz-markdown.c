/* fuzz-markdown.c - ticket notes: any markdown renders within the limits to safe HTML. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "web/markdown.h"

/* What no tag of a rendered note may hold, whatever the input (text between
 * tags is escaped and may say anything). */
static const char *const bad[] = {"script",      "img",   "iframe", "style", "svg",
                                  "javascript:", "data:", " on",    "src"};

/* Aborts unless every tag of html is free of the above. */
static void check_tags(const char *html)
{
    for (const char *p = strchr(html, '<'); p; p = strchr(p + 1, '<')) {
        const char *end = strchr(p, '>');
        if (!end)
            abort();
        char tag[512];
        size_t n = (size_t)(end - p - 1);
        if (n >= sizeof(tag))
            n = sizeof(tag) - 1;
        memcpy(tag, p + 1, n);
        tag[n] = 0;
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
            if (strcasestr(tag, bad[i]))
                abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *html = NULL;
    size_t len = 0;
    if (markdown_html((const char *)data, size, &html, &len) != ERR_OK)
        return 0;
    if (strlen(html) != len)
        abort();
    check_tags(html);
    free(html);
    return 0;
}
