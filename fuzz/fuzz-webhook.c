/* fuzz-webhook.c - webhook URL rules and address rules: no crash, and the invariants hold. */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jobs/webhook.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* an address: the first 16 bytes as IPv6, the first 4 as IPv4 */
    if (size >= 16) {
        struct sockaddr_in6 a6 = {.sin6_family = AF_INET6};
        memcpy(&a6.sin6_addr, data, 16);
        bool pub6 = webhook_addr_public((const struct sockaddr *)&a6);
        struct sockaddr_in a4 = {.sin_family = AF_INET};
        memcpy(&a4.sin_addr, data, 4);
        bool pub4 = webhook_addr_public((const struct sockaddr *)&a4);
        /* an IPv4-mapped IPv6 address is judged as the IPv4 address */
        static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        memcpy(&a6.sin6_addr, mapped, 12);
        memcpy((unsigned char *)&a6.sin6_addr + 12, data, 4);
        if (webhook_addr_public((const struct sockaddr *)&a6) != pub4)
            abort();
        (void)pub6;
    }
    /* a URL */
    char *url = malloc(size + 1);
    if (!url)
        return 0;
    memcpy(url, data, size);
    url[size] = 0;
    struct webhook_target t;
    if (!webhook_url_parse(url, &t)) {
        /* what passed has a host, a port and neither spaces nor controls */
        if (!t.host[0] || t.port < 1 || t.port > 65535)
            abort();
        for (const char *p = url; *p; p++)
            if ((unsigned char)*p <= ' ' || *p == 0x7f)
                abort();
        /* a literal address as host is judged like any resolved address */
        struct sockaddr_in6 a6 = {.sin6_family = AF_INET6};
        if (inet_pton(AF_INET6, t.host, &a6.sin6_addr) == 1)
            (void)webhook_addr_public((const struct sockaddr *)&a6);
    }
    free(url);
    return 0;
}
