/* jwt.h - HS256 access and refresh tokens compatible with djangorestframework-simplejwt. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

#define JWT_ACCESS_TTL  (60 * 60)      /* seconds */
#define JWT_REFRESH_TTL (24 * 60 * 60) /* seconds */
#define JWT_MAX         1024           /* longest token we issue or accept, bytes */

enum jwt_kind { JWT_ANY = 0, JWT_ACCESS, JWT_REFRESH };

/* Claims beyond simplejwt's, as flags. */
#define JWT_CLAIM_2FA 1u /* "2fa": true - issued after a one-time code (REQUIRE_2FA downloads) */

/* Issues a token of kind (ACCESS or REFRESH) for user_id at time now (seconds),
 * with claims token_type, exp, iat, jti (random hex), user_id, and "2fa":
 * true when claims has JWT_CLAIM_2FA. Writes it NUL-terminated into out
 * (outlen >= JWT_MAX). */
enum err jwt_issue(const char *key, enum jwt_kind kind, int64_t user_id, int64_t now,
                   unsigned claims, char *out, size_t outlen);

/* Verifies signature (HS256 only: "none" and other algorithms are refused),
 * expiry against now (exp must be present and > now) and kind (JWT_ANY accepts
 * both). On success writes the user_id claim to *ret_user_id and the
 * JWT_CLAIM_* flags found to *ret_claims (may be NULL).
 * ERR_TOKEN_INVALID for anything wrong. */
enum err jwt_verify(const char *key, const char *token, enum jwt_kind kind, int64_t now,
                    int64_t *ret_user_id, unsigned *ret_claims);
