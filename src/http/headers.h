/* headers.h - parsers of the request headers the server itself acts on: Host, X-Forwarded-*. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#define HTTP_HOST_MAX 255 /* longest Host value accepted, bytes */
#define HTTP_IP_MAX   46  /* longest textual IP address + NUL (INET6_ADDRSTRLEN) */

/*
 * Parses a Host header value strictly (RFC 9110 7.2, RFC 3986 3.2.2): a name
 * of letters, digits, '.', '-' and '_', an IPv4 address, or an IPv6 address in
 * brackets, then optionally ':' and a port of 1 to 5 digits (at most 65535).
 * Nothing else: no userinfo, no path, no spaces, no empty port. On success the
 * host part without the port goes to ret_host (cap bytes, brackets kept) and
 * true is returned; ret_host is untouched on failure.
 */
bool http_host_parse(const char *value, char *ret_host, size_t cap);

/* Decides whether an address (text) is a trusted proxy. */
typedef bool (*http_trust_fn)(void *ctx, const char *ip);

/*
 * The client address behind trusted proxies: walks the X-Forwarded-For entries
 * right to left (the last header line first) starting from `peer`, and stops
 * at the first entry that is not itself trusted. Each proxy appends the
 * address it saw, so only entries right of the first untrusted one were
 * written by proxies we trust; anything left of it is the client's own words.
 * An entry that is not an IP address (empty, too long, garbage) ends the walk
 * with the last address believed so far. The header is read in place: its
 * length does not matter. ret_ip (cap >= HTTP_IP_MAX) gets the result.
 */
void http_forwarded_for(const char *peer, const char *const *lines, size_t nlines,
                        http_trust_fn trusted, void *ctx, char *ret_ip, size_t cap);

/* The scheme a trusted proxy reports in X-Forwarded-Proto lines: the right-
 * most entry of the last line, "https" or "http" (case-insensitive); false for
 * anything else (then the connection's own scheme holds). */
bool http_forwarded_https(const char *const *lines, size_t nlines, bool *ret_https);

/* Whether a list header value (Accept-Encoding: "gzip, br;q=0.5") names
 * token (case-insensitive) without q=0. */
bool http_accepts(const char *value, const char *token);
