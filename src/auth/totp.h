/* totp.h - TOTP second factor (RFC 6238, liboath) and single-use backup codes. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

#define TOTP_SECRET_BYTES 20 /* 160 bits, as RFC 4226 recommends */
#define TOTP_SECRET_B32   32 /* its base32 text */
#define TOTP_DIGITS       6
#define TOTP_STEP         30 /* seconds */
#define TOTP_WINDOW       1  /* steps accepted either side of now (clock drift) */
#define BACKUP_CODE_LEN   14 /* "xxxx-xxxx-xxxx": 12 characters of 31, 59 bits */
#define BACKUP_HASH_LEN   64

enum totp_hash { TOTP_SHA1, TOTP_SHA256, TOTP_SHA512 };

/* liboath's global set-up; once, before any other call. */
enum err totp_init(void);

/* A new random secret (libsodium's RNG) as base32 (TOTP_SECRET_B32 characters). */
enum err totp_new_secret(char out[TOTP_SECRET_B32 + 1]);

/* The code of raw key at time now (seconds), `digits` long, with hash h, into
 * out (digits + 1 bytes). For the RFC 6238 test vectors and the tests. */
enum err totp_generate(const unsigned char *key, size_t keylen, int64_t now, unsigned digits,
                       enum totp_hash h, char *out);

/*
 * Checks a 6-digit code (spaces allowed between digits) against the base32
 * secret at now, TOTP_WINDOW steps either side, comparing in constant time.
 * ERR_OK with *ret_counter = the time step it belongs to (the caller makes
 * sure a step is accepted once: store_user_totp_accept); ERR_BAD_CREDENTIALS
 * for a wrong or malformed code; ERR_INTERNAL for a bad secret.
 */
enum err totp_check(const char *secret_b32, const char *code, int64_t now, int64_t *ret_counter);

/* The otpauth:// URI authenticator apps read from the QR code, issuer and
 * account percent-encoded; false when it does not fit. */
bool totp_uri(const char *issuer, const char *account, const char *secret_b32, char *out,
              size_t outlen);

/* A new backup code, "xxxx-xxxx-xxxx" from an unambiguous 31-letter alphabet. */
void backup_code_new(char out[BACKUP_CODE_LEN + 1]);

/* The hash the store keeps of a backup code as typed: case, spaces and dashes
 * do not matter. False (out untouched) when it cannot be a backup code. */
bool backup_code_hash(const char *typed, char out[BACKUP_HASH_LEN + 1]);
