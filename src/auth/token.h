/* token.h - random identifiers: UUID v4 upload tokens and hex secrets (libsodium RNG). */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* Writes a fresh UUID v4 ("xxxxxxxx-xxxx-4xxx-[89ab]xxx-xxxxxxxxxxxx", lower case,
 * 122 random bits) into out, which must hold 37 bytes. */
void token_uuid4(char out[37]);

/* True when s is a canonical UUID (8-4-4-4-12 hex digits, any version, either case). */
bool token_is_uuid(const char *s);

/* Writes nbytes random bytes as 2*nbytes lower-case hex digits + NUL into out. */
void token_hex(char *out, size_t nbytes);

/* Constant-time equality of two NUL-terminated strings (length may leak). */
bool token_equal(const char *a, const char *b);
