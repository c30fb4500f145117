/* rules.c - username and password rules (see rules.h). */
#include <stdio.h>
#include <string.h>

#include "auth/rules.h"
#include "core/limits.h"
#include "core/util.h"

#define STR_(x) #x
#define STR(x)  STR_(x)

const char auth_username_rule[] =
    "a username has 1 to " STR(LIMIT_USERNAME) " characters: letters, digits and @ . + - _";
const char auth_password_rule[] = "a password has at least " STR(
    PASSWORD_MIN) " characters and at most " STR(LIMIT_PASSWORD) " bytes";

/* Length of the UTF-8 sequence starting at s (1..4), 0 when it is malformed
 * (bad lead byte, missing continuation, overlong form, surrogate, > U+10FFFF). */
static size_t utf8_seq(const unsigned char *s)
{
    if (s[0] < 0x80)
        return 1;
    size_t n = s[0] >= 0xF0 ? 4 : s[0] >= 0xE0 ? 3 : s[0] >= 0xC2 ? 2 : 0;
    if (n == 0 || s[0] > 0xF4)
        return 0;
    for (size_t i = 1; i < n; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    if ((s[0] == 0xE0 && s[1] < 0xA0) || (s[0] == 0xED && s[1] >= 0xA0) ||
        (s[0] == 0xF0 && s[1] < 0x90) || (s[0] == 0xF4 && s[1] >= 0x90))
        return 0;
    return n;
}

bool auth_username_valid(const char *name, char *why, size_t cap)
{
    size_t chars = 0;
    for (const unsigned char *p = (const unsigned char *)name; *p; chars++) {
        size_t n = utf8_seq(p);
        if (n == 0) {
            snprintf(why, cap, "a username must be valid UTF-8 text");
            return false;
        }
        /* ASCII: only letters, digits and @ . + - _; beyond ASCII: letters of
         * other scripts, which we do not classify further */
        if (n == 1 && !((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                        (*p >= '0' && *p <= '9') || strchr("@.+-_", *p))) {
            snprintf(why, cap, "%s", auth_username_rule);
            return false;
        }
        p += n;
    }
    if (chars == 0 || chars > LIMIT_USERNAME) {
        snprintf(why, cap, "%s", auth_username_rule);
        return false;
    }
    return true;
}

bool auth_password_valid(const char *password, char *why, size_t cap)
{
    size_t bytes = strlen(password);
    if (utf8_chars(password, bytes) < PASSWORD_MIN || bytes > LIMIT_PASSWORD) {
        snprintf(why, cap, "%s", auth_password_rule);
        return false;
    }
    return true;
}
