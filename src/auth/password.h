/* password.h - argon2id password hashing (libsodium), with a cap on concurrent hashes. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "core/err.h"

#define PASSWORD_HASH_MAX 160

/* Must be called once before use (after sodium_init). max_concurrent caps how
 * many hashes run at once; callers beyond it wait. */
enum err password_init(int max_concurrent);

/* Hashes password (interactive ops/mem limits) into out (>= PASSWORD_HASH_MAX).
 * ERR_NOMEM when libsodium cannot get the memory. Blocks ~0.1-0.3 s. */
enum err password_hash(const char *password, char *out, size_t outlen);

/* True when password matches hash (constant time). A malformed hash is false.
 * When hash is NULL or empty a dummy hash is verified anyway so the time taken
 * does not reveal whether the user exists. */
bool password_verify(const char *password, const char *hash);

/* Random password of `len` characters from an unambiguous alphabet into out
 * (outlen > len). */
void password_random(char *out, size_t len);
