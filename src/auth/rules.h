/* rules.h - what a username and a password may be: one rule set for the CLI, the API and the
 * console. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#define PASSWORD_MIN 8 /* characters */

/* True when name is 1..LIMIT_USERNAME characters of valid UTF-8 made of
 * letters, digits and @ . + - _ (as Django's username validator). Otherwise
 * false with a sentence for the user in why (cap bytes). */
bool auth_username_valid(const char *name, char *why, size_t cap);

/* True when password has PASSWORD_MIN characters or more and at most
 * LIMIT_PASSWORD bytes; otherwise false with a sentence in why. */
bool auth_password_valid(const char *password, char *why, size_t cap);

/* The rules above in one line each, for usage texts. */
extern const char auth_username_rule[];
extern const char auth_password_rule[];
