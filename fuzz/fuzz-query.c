/* fuzz-query.c - list filters and pagination from a hostile query string ("k=v&k=v"). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/query.h"
#include "store/store.h"

#define MAX_ARGS 32

struct args {
    const char *k[MAX_ARGS], *v[MAX_ARGS];
    size_t n;
};

static const char *get(void *ctx, const char *name)
{
    struct args *a = ctx;
    for (size_t i = 0; i < a->n; i++)
        if (strcmp(a->k[i], name) == 0)
            return a->v[i];
    return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = 0;
    struct args a = {.n = 0};
    for (char *save = NULL, *kv = strtok_r(s, "&", &save); kv && a.n < MAX_ARGS;
         kv = strtok_r(NULL, "&", &save)) {
        char *eq = strchr(kv, '=');
        a.k[a.n] = kv;
        a.v[a.n] = eq ? eq + 1 : "";
        if (eq)
            *eq = 0;
        a.n++;
    }
    struct ticket_filter tf;
    struct archive_filter af;
    json_t *errs = NULL;
    (void)query_ticket_filter(get, &a, &tf, &errs);
    json_decref(errs);
    errs = NULL;
    (void)query_archive_filter(get, &a, &af, &errs);
    json_decref(errs);
    errs = NULL;
    bool paginated;
    int64_t limit = 0, offset = 0;
    if (query_page(get, &a, &paginated, &limit, &offset, &errs) == ERR_OK && paginated &&
        (limit < 0 || limit > LIMIT_PAGE_MAX || offset < 0))
        abort();
    json_decref(errs);
    free(s);
    return 0;
}
