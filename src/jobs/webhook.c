/* webhook.c - webhook targets: URL rules, address rules against SSRF, signatures, sending with
 * libcurl. */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/log.h"
#include "core/util.h"
#include "jobs/webhook.h"

const char *webhook_url_parse(const char *url, struct webhook_target *ret)
{
    if (!url || !*url)
        return "Enter a URL.";
    size_t n = strlen(url);
    if (n > LIMIT_WEBHOOK_URL)
        return "The URL is too long.";
    for (const unsigned char *p = (const unsigned char *)url; *p; p++)
        if (*p <= ' ' || *p == 0x7f)
            return "The URL may not contain spaces or control characters.";
    if (strncasecmp(url, "http://", 7) != 0 && strncasecmp(url, "https://", 8) != 0)
        return "Only http:// and https:// URLs are allowed.";
    if (strstr(url, "://")[3] == '/') /* libcurl would take "http:///x" as host x */
        return "The URL needs a host.";
    CURLU *h = curl_url();
    if (!h)
        return "Out of memory.";
    const char *why = NULL;
    char *scheme = NULL, *host = NULL, *port = NULL, *user = NULL, *pass = NULL, *zone = NULL;
    if (curl_url_set(h, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME) != CURLUE_OK)
        why = "Enter a valid URL.";
    else if (curl_url_get(h, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
             curl_url_get(h, CURLUPART_HOST, &host, 0) != CURLUE_OK || !host || !*host)
        why = "The URL needs a host.";
    else if (curl_url_get(h, CURLUPART_USER, &user, 0) == CURLUE_OK ||
             curl_url_get(h, CURLUPART_PASSWORD, &pass, 0) == CURLUE_OK)
        why = "The URL may not carry a user name or password.";
    else if (curl_url_get(h, CURLUPART_ZONEID, &zone, 0) == CURLUE_OK)
        why = "The URL's host is not valid.";
    else if (curl_url_get(h, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK)
        why = "Enter a valid URL.";
    struct webhook_target t = {0};
    if (!why) {
        t.https = strcasecmp(scheme, "https") == 0;
        const char *hs = host;
        size_t hl = strlen(hs);
        if (hs[0] == '[' && hl > 2 && hs[hl - 1] == ']') {
            hs++;
            hl -= 2;
        }
        if (hl == 0 || hl >= sizeof(t.host) || memchr(hs, '%', hl))
            why = "The URL's host is not valid.";
        else {
            memcpy(t.host, hs, hl);
            t.host[hl] = 0;
            int64_t p;
            if (!parse_int64(port, &p) || p < 1 || p > 65535)
                why = "The URL's port is not valid.";
            t.port = (int)p;
        }
    }
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_free(user);
    curl_free(pass);
    curl_free(zone);
    curl_url_cleanup(h);
    if (!why && ret)
        *ret = t;
    return why;
}

/* An IPv4 address (host order) in prefix/bits. */
static bool in4(uint32_t a, uint32_t prefix, int bits)
{
    uint32_t mask = bits ? ~(uint32_t)0 << (32 - bits) : 0;
    return (a & mask) == (prefix & mask);
}

static bool v4_public(uint32_t a)
{
    static const struct {
        uint32_t prefix;
        int bits;
    } refused[] = {
        {0x00000000, 8},  /* "this network" */
        {0x0a000000, 8},  /* 10/8 private */
        {0x64400000, 10}, /* 100.64/10 CGNAT */
        {0x7f000000, 8},  /* loopback */
        {0xa9fe0000, 16}, /* 169.254/16 link-local (cloud metadata) */
        {0xac100000, 12}, /* 172.16/12 private */
        {0xc0000000, 24}, /* 192.0.0/24 protocol assignments */
        {0xc0000200, 24}, /* 192.0.2/24 documentation */
        {0xc0586300, 24}, /* 192.88.99/24 6to4 relay */
        {0xc0a80000, 16}, /* 192.168/16 private */
        {0xc6120000, 15}, /* 198.18/15 benchmarking */
        {0xc6336400, 24}, /* 198.51.100/24 documentation */
        {0xcb007100, 24}, /* 203.0.113/24 documentation */
        {0xe0000000, 4},  /* multicast */
        {0xf0000000, 4},  /* reserved, broadcast */
    };
    for (size_t i = 0; i < ARRAY_SIZE(refused); i++)
        if (in4(a, refused[i].prefix, refused[i].bits))
            return false;
    return true;
}

static uint32_t be32_at(const unsigned char *b)
{
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static bool v6_public(const unsigned char *b)
{
    static const unsigned char zero[16] = {0};
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    static const unsigned char nat64[12] = {0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0};
    if (memcmp(b, zero, 15) == 0) /* :: and ::1 */
        return false;
    if (memcmp(b, mapped, 12) == 0 || memcmp(b, nat64, 12) == 0 || memcmp(b, zero, 12) == 0)
        return v4_public(be32_at(b + 12)); /* mapped, NAT64, compatible */
    if (b[0] == 0x20 && b[1] == 0x02)
        return v4_public(be32_at(b + 2)); /* 6to4 */
    if ((b[0] & 0xfe) == 0xfc)
        return false; /* fc00::/7 unique local */
    if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80)
        return false; /* fe80::/10 link-local */
    if (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0)
        return false; /* fec0::/10 site-local (deprecated) */
    if (b[0] == 0xff)
        return false; /* multicast */
    if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8)
        return false; /* 2001:db8::/32 documentation */
    if (b[0] == 0x01 && b[1] == 0x00 && memcmp(b + 2, zero, 6) == 0)
        return false; /* 100::/64 discard */
    return true;
}

bool webhook_addr_public(const struct sockaddr *sa)
{
    if (!sa)
        return false;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        return v4_public(ntohl(in->sin_addr.s_addr));
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        return v6_public(in6->sin6_addr.s6_addr);
    }
    return false;
}

static void addr_text(const struct sockaddr *sa, char *out, size_t cap)
{
    const void *a = sa->sa_family == AF_INET
                        ? (const void *)&((const struct sockaddr_in *)sa)->sin_addr
                        : (const void *)&((const struct sockaddr_in6 *)sa)->sin6_addr;
    if (!inet_ntop(sa->sa_family, a, out, (socklen_t)cap))
        str_copy(out, cap, "?");
}

const char *webhook_resolve(const struct webhook_target *t, bool allow_private, char *ret_ip,
                            size_t cap, char *why, size_t whylen)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *res = NULL;
    int rc = getaddrinfo(t->host, NULL, &hints, &res);
    if (rc != 0 || !res) {
        snprintf(why, whylen, "Cannot resolve the host \"%.200s\": %s.", t->host, gai_strerror(rc));
        return why;
    }
    char refused[64] = "";
    bool found = false;
    for (struct addrinfo *ai = res; ai && !found; ai = ai->ai_next) {
        if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6)
            continue;
        if (allow_private || webhook_addr_public(ai->ai_addr)) {
            addr_text(ai->ai_addr, ret_ip, cap);
            found = true;
        } else if (!refused[0]) {
            addr_text(ai->ai_addr, refused, sizeof(refused));
        }
    }
    freeaddrinfo(res);
    if (found)
        return NULL;
    snprintf(why, whylen,
             "The host \"%.200s\" resolves to %s, a loopback, private or reserved address "
             "(allowed only with WEBHOOK_ALLOW_PRIVATE=true).",
             t->host, refused[0] ? refused : "no usable address");
    return why;
}

void webhook_sign(const char *secret, int64_t timestamp, const char *body, size_t len, char out[72])
{
    crypto_auth_hmacsha256_state st;
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    char ts[32];
    int tl = snprintf(ts, sizeof(ts), "%lld.", (long long)timestamp);
    crypto_auth_hmacsha256_init(&st, (const unsigned char *)secret, strlen(secret));
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)ts, (unsigned long long)tl);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)body, len);
    crypto_auth_hmacsha256_final(&st, mac);
    memcpy(out, "sha256=", 7);
    sodium_bin2hex(out + 7, 65, mac, sizeof(mac));
    sodium_memzero(&st, sizeof(st));
}

/* CURLOPT_OPENSOCKETFUNCTION: the address actually connected to must be
 * allowed too (a name pinned by CURLOPT_RESOLVE cannot change meanwhile; this
 * is the second net). */
static curl_socket_t open_socket(void *clientp, curlsocktype purpose, struct curl_sockaddr *a)
{
    bool allow_private = *(bool *)clientp;
    (void)purpose;
    if (!allow_private && !webhook_addr_public(&a->addr)) {
        char ip[64];
        addr_text(&a->addr, ip, sizeof(ip));
        log_warn("webhook: refusing to connect to %s (not a public address)", ip);
        return CURL_SOCKET_BAD;
    }
    return socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
}

/* The receiver's answer is read and dropped (the status is what counts). */
static size_t drop_body(char *data, size_t size, size_t n, void *ctx)
{
    (void)data;
    (void)ctx;
    return size * n;
}

void webhook_send(const struct config *cfg, const struct delivery *d, const char *body, size_t len,
                  struct delivery_result *res)
{
    int64_t start = mono_us();
    res->time = now_us();
    res->status = 0;
    res->error[0] = 0;
    struct webhook_target t;
    char ip[64], why[512], resolve_line[400], errbuf[CURL_ERROR_SIZE] = "";
    const char *bad = webhook_url_parse(d->url, &t);
    if (!bad)
        bad = webhook_resolve(&t, cfg->webhook_allow_private, ip, sizeof(ip), why, sizeof(why));
    if (bad) {
        str_copy(res->error, sizeof(res->error), bad);
        res->duration_ms = (mono_us() - start) / 1000;
        return;
    }
    bool v6 = strchr(ip, ':') != NULL, allow_private = cfg->webhook_allow_private;
    snprintf(resolve_line, sizeof(resolve_line), "%s:%d:%s%s%s", t.host, t.port, v6 ? "[" : "", ip,
             v6 ? "]" : "");
    char h_event[80], h_delivery[64], h_ts[64], h_sig[100], sig[72], agent[64];
    int64_t ts = res->time / 1000000;
    webhook_sign(d->secret, ts, body, len, sig);
    snprintf(h_event, sizeof(h_event), "X-LC-Event: %s", d->ev.kind);
    snprintf(h_delivery, sizeof(h_delivery), "X-LC-Delivery: %lld", (long long)d->id);
    snprintf(h_ts, sizeof(h_ts), "X-LC-Timestamp: %lld", (long long)ts);
    snprintf(h_sig, sizeof(h_sig), "X-LC-Signature: %s", sig);
    snprintf(agent, sizeof(agent), "logs-collector/%s", LC_VERSION);

    CURL *c = curl_easy_init();
    struct curl_slist *hdrs = NULL, *pins = curl_slist_append(NULL, resolve_line);
    const char *lines[] = {
        "Content-Type: application/json", "Expect:", h_event, h_delivery, h_ts, h_sig};
    for (size_t i = 0; i < ARRAY_SIZE(lines); i++)
        hdrs = curl_slist_append(hdrs, lines[i]);
    CURLcode rc = c && hdrs && pins ? CURLE_OK : CURLE_OUT_OF_MEMORY;
    long ms = (long)cfg->webhook_timeout * 1000;
#define SET(opt, val)                                                                              \
    if (!rc)                                                                                       \
    rc = curl_easy_setopt(c, opt, val)
    SET(CURLOPT_URL, d->url);
    SET(CURLOPT_RESOLVE, pins);
    SET(CURLOPT_OPENSOCKETFUNCTION, open_socket);
    SET(CURLOPT_OPENSOCKETDATA, &allow_private);
    SET(CURLOPT_PROTOCOLS_STR, "http,https");
    SET(CURLOPT_FOLLOWLOCATION, 0L);
    SET(CURLOPT_PROXY, "");
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_TIMEOUT_MS, ms);
    SET(CURLOPT_CONNECTTIMEOUT_MS, ms);
    SET(CURLOPT_HTTPHEADER, hdrs);
    SET(CURLOPT_USERAGENT, agent);
    SET(CURLOPT_POSTFIELDS, body);
    SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    SET(CURLOPT_WRITEFUNCTION, drop_body);
    SET(CURLOPT_ERRORBUFFER, errbuf);
#undef SET
    if (!rc)
        rc = curl_easy_perform(c);
    if (!rc) {
        long status = 0;
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        res->status = (int)status;
    } else {
        snprintf(res->error, sizeof(res->error), "%s", errbuf[0] ? errbuf : curl_easy_strerror(rc));
    }
    curl_easy_cleanup(c);
    curl_slist_free_all(hdrs);
    curl_slist_free_all(pins);
    res->duration_ms = (mono_us() - start) / 1000;
}
