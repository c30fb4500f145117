/* metrics.c - GET /metrics: the Prometheus text format, behind METRICS_TOKEN when it is set. */
#include <sodium.h>
#include <string.h>
#include <strings.h>

#include "api/api.h"
#include "core/metrics.h"

/* Constant-time: the digests of the two tokens are compared, so neither
 * their bytes nor their lengths show in the time taken. */
static bool token_matches(const char *given, const char *want)
{
    unsigned char a[crypto_hash_sha256_BYTES], b[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(a, (const unsigned char *)given, strlen(given));
    crypto_hash_sha256(b, (const unsigned char *)want, strlen(want));
    return sodium_memcmp(a, b, sizeof(a)) == 0;
}

enum err api_metrics(struct req *r)
{
    const char *want = r->app->cfg.metrics_token;
    if (want[0]) {
        const char *h = req_header(r, "Authorization");
        if (!h || strncasecmp(h, "Bearer ", 7) != 0)
            return req_fail(r, ERR_UNAUTHENTICATED,
                            "The metrics need METRICS_TOKEN as a bearer token.");
        const char *tok = h + 7;
        while (*tok == ' ')
            tok++;
        if (!token_matches(tok, want))
            return req_fail(r, ERR_TOKEN_INVALID, "Wrong metrics token.");
    }
    struct metrics_now now = {-1, -1, -1, store_ping(r->app->store) == ERR_OK};
    if (now.database_up && store_delivery_pending(r->app->store, &now.webhook_queue) != ERR_OK)
        now.webhook_queue = -1;
    struct blob_space sp;
    if (blob_space(r->app->blobs, &sp) == ERR_OK) {
        now.storage_free = (int64_t)sp.free;
        now.storage_total = (int64_t)sp.total;
    }
    size_t len = 0;
    char *text = metrics_render(&now, &len);
    if (!text)
        return ERR_NOMEM;
    enum err e = req_reply_bytes(r, 200, "text/plain; version=0.0.4; charset=utf-8", text, len);
    free(text);
    return e;
}
