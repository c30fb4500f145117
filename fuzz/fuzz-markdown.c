/* fuzz-markdown.c - ticket notes: any markdown renders within the limits to safe HTML. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "web/markdown.h"

/* Tags a rendered note may hold; links only to these. */
static const char *const tags[] = {"a",     "p",  "em", "strong", "code",       "pre",   "del",
                                   "u",     "ul", "ol", "li",     "h1",         "h2",    "h3",
                                   "h4",    "h5", "h6", "hr",     "br",         "table", "thead",
                                   "tbody", "tr", "th", "td",     "blockquote", "input"};
static const char *const schemes[] = {"http://", "https://", "mailto:"};
/* What the attributes of a tag (a link's target aside) may never hold. */
static const char *const bad[] = {" on", "style", "src", "javascript:", "data:"};

/* Aborts unless every tag of html is an expected one, a link goes to an
 * allowed scheme and no attribute holds the above. Text between tags is
 * escaped and may say anything. */
static void check_tags(const char *html)
{
    for (const char *p = strchr(html, '<'); p; p = strchr(p + 1, '<')) {
        const char *end = strchr(p, '>');
        if (!end)
            abort();
        char tag[4096];
        size_t n = (size_t)(end - p - 1);
        if (n >= sizeof(tag))
            abort();
        memcpy(tag, p + 1, n);
        tag[n] = 0;
        char *name = tag[0] == '/' ? tag + 1 : tag;
        size_t nl = strcspn(name, " ");
        bool known = false;
        for (size_t i = 0; i < sizeof(tags) / sizeof(tags[0]); i++)
            known |= strlen(tags[i]) == nl && strncmp(name, tags[i], nl) == 0;
        if (!known)
            abort();
        char *attrs = name + nl;
        if (strncmp(attrs, " href=\"", 7) == 0) {
            char *v = attrs + 7, *q = strchr(v, '"');
            bool ok = false;
            for (size_t i = 0; q && i < sizeof(schemes) / sizeof(schemes[0]); i++)
                ok |= strncasecmp(v, schemes[i], strlen(schemes[i])) == 0;
            if (!ok)
                abort();
            attrs = q + 1;
        }
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
            if (strcasestr(attrs, bad[i]))
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
