/* webhook.h - webhook targets (URL rules, address rules against SSRF), signing and sending with
 * libcurl. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "core/config.h"
#include "store/store.h"

/* What a webhook URL names, from webhook_url_parse. */
struct webhook_target {
    bool https;
    char host[256]; /* a name, or an address (IPv6 without brackets) */
    int port;
};

/*
 * Parses a webhook URL (hostile input: an administrator's, but one that the
 * server then calls): http or https, a host, an optional port, no user or
 * password, no control characters or spaces, at most LIMIT_WEBHOOK_URL bytes.
 * Returns NULL and fills *ret (may be NULL) when it is acceptable, else the
 * reason (a static string for the API's field error). Resolves nothing.
 */
const char *webhook_url_parse(const char *url, struct webhook_target *ret);

/*
 * True when a webhook may connect to the address sa (AF_INET or AF_INET6)
 * without WEBHOOK_ALLOW_PRIVATE: a public unicast address. Refused: loopback,
 * private (RFC 1918), link-local, unique-local (fc00::/7), CGNAT
 * (100.64.0.0/10), unspecified, multicast, broadcast, reserved and
 * documentation ranges, and IPv4 addresses inside IPv6 forms (mapped,
 * compatible, NAT64, 6to4) that are any of these. Other families: false.
 */
bool webhook_addr_public(const struct sockaddr *sa);

/*
 * Resolves t->host (getaddrinfo; blocks) and picks the first address a
 * webhook may reach (any, with allow_private) into ret_ip (text, size cap).
 * NULL on success, else why not ("resolves to a private address ...",
 * "cannot resolve ..."), written into why (size whylen) and returned.
 */
const char *webhook_resolve(const struct webhook_target *t, bool allow_private, char *ret_ip,
                            size_t cap, char *why, size_t whylen);

/* The signature header value "sha256=<64 hex>": HMAC-SHA256 with key secret
 * over "<timestamp>.<body>" (see docs/webhooks.md). out holds 72 bytes. */
void webhook_sign(const char *secret, int64_t timestamp, const char *body, size_t len,
                  char out[72]);

/*
 * POSTs body (JSON) for delivery d once, from a background thread: the host
 * resolved and checked here and pinned (CURLOPT_RESOLVE), every socket's
 * address checked again as it opens (so DNS rebinding cannot reach a refused
 * address), no redirects, no proxy, WEBHOOK_TIMEOUT for the whole exchange.
 * Fills res's time, status (0 when none came), error ("" when a status came)
 * and duration_ms; the caller decides the state.
 */
void webhook_send(const struct config *cfg, const struct delivery *d, const char *body, size_t len,
                  struct delivery_result *res);
