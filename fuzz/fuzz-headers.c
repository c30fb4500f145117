/* fuzz-headers.c - Host and X-Forwarded-For/-Proto: input lines are header lines. */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/headers.h"

static bool trusted(void *ctx, const char *ip)
{
    (void)ctx;
    return strncmp(ip, "10.", 3) == 0 || strcmp(ip, "::1") == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = 0;
    const char *lines[16];
    size_t n = 0;
    for (char *save = NULL, *l = strtok_r(s, "\n", &save); l && n < 16;
         l = strtok_r(NULL, "\n", &save))
        lines[n++] = l;
    char host[HTTP_HOST_MAX + 1];
    for (size_t i = 0; i < n; i++)
        if (http_host_parse(lines[i], host, sizeof(host)) &&
            (strlen(host) > strlen(lines[i]) || (strpbrk(host, "@/?#:") && host[0] != '[')))
            abort();
    char ip[HTTP_IP_MAX];
    http_forwarded_for("10.0.0.1", lines, n, trusted, NULL, ip, sizeof(ip));
    unsigned char bin[16];
    if (inet_pton(AF_INET, ip, bin) != 1 && inet_pton(AF_INET6, ip, bin) != 1)
        abort(); /* always an address, never text from the header */
    bool https;
    (void)http_forwarded_https(lines, n, &https);
    free(s);
    return 0;
}
