/* session.h - console sessions: ids, their hashes, CSRF tokens, expiry and the Origin check. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "store/store.h"

#define SESSION_COOKIE   "lc_session"
#define SESSION_ID_LEN   43 /* 32 random bytes, base64url without padding */
#define SESSION_HASH_LEN 64 /* SHA-256 of the id, hex */
#define CSRF_TOKEN_LEN   64 /* HMAC-SHA256, hex */
#define CSRF_HEADER      "X-CSRFToken"

/* A fresh session id from libsodium's RNG into out. */
void session_new_id(char out[SESSION_ID_LEN + 1]);

/* True when id has the form of an id session_new_id makes (anything else is
 * not looked up). */
bool session_id_valid(const char *id);

/* The SHA-256 of id as hex: what the store keeps instead of the id. */
void session_hash(const char *id, char out[SESSION_HASH_LEN + 1]);

/* The CSRF token of session id under key: HMAC-SHA256(key, "csrf:" id) as
 * hex. Nothing to store; a new session id gives a new token. */
void session_csrf_token(const char *key, const char *id, char out[CSRF_TOKEN_LEN + 1]);

/* Compares a CSRF token given by the client with the expected one in
 * constant time (sodium_memcmp); NULL or a wrong length is false. */
bool session_csrf_equal(const char *expected, const char *given);

/* True while session x is alive at now: less than lifetime since it was
 * created and less than idle since it was last seen (all microseconds). */
bool session_alive(const struct session *x, int64_t now, int64_t lifetime, int64_t idle);

/*
 * The Origin check of an unsafe request made with a session cookie. The
 * request's own origin is scheme "://" host (host as sent in Host, with its
 * port). origin (the Origin header) must equal it or an entry of trusted
 * (CSRF_TRUSTED_ORIGINS, case-insensitive); without Origin, referer (the
 * Referer header) must start with one of them followed by '/' or end there;
 * without either the request passes over http and fails over https (as
 * Django: a browser always sends one of them there). "null" never matches.
 */
bool session_origin_ok(const char *origin, const char *referer, bool https, const char *host,
                       const struct host_list *trusted);
