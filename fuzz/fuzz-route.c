/* fuzz-route.c - route matching: any path, every method; captured segments stay inside the path. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "http/route.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *path = malloc(size + 1);
    char *buf = malloc(size + 1);
    if (!path || !buf) {
        free(path);
        free(buf);
        return 0;
    }
    memcpy(path, data, size);
    path[size] = 0;
    size_t len = strlen(path);
    static const int methods[] = {M_GET, M_HEAD, M_POST, M_PUT, M_PATCH, M_DELETE, M_OPTIONS};
    for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
        const char *params[REQ_MAX_PARAMS];
        size_t n = 0;
        unsigned allowed = 0;
        const struct route *r =
            route_match(&api_routes, path, methods[i], &allowed, params, &n, buf, len + 1);
        if (r && (n > REQ_MAX_PARAMS || !allowed))
            abort();
        for (size_t k = 0; r && k < n; k++)
            if (!*params[k] || strlen(params[k]) > len) /* a segment is never empty */
                abort();
    }
    free(path);
    free(buf);
    return 0;
}
