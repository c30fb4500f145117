/* test-console.c - the console as built into the binary knows what the server records. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "api/events.h"
#include "web/web.h"

/* The built asset of web/js/STEM.js (named STEM.<hash>.js), or NULL. */
static const struct web_file *script(const char *stem)
{
    size_t n = strlen(stem);
    for (const struct web_file *f = web_files; f->name; f++) {
        size_t len = strlen(f->name);
        if (strncmp(f->name, stem, n) == 0 && f->name[n] == '.' && len > 3 &&
            strcmp(f->name + len - 3, ".js") == 0 && !strchr(f->name + n + 1, '/'))
            return f;
    }
    return NULL;
}

/* Every kind the server records has its sentence, its filter and its webhook
 * checkbox: web/js/event-text.js has an entry 'KIND': [...] for it. */
static void test_every_event_kind_has_its_text(void **state)
{
    (void)state;
    const struct web_file *f = script("event-text");
    assert_non_null(f);
    for (const char *const *k = api_event_kinds; *k; k++) {
        char entry[96];
        int len = snprintf(entry, sizeof(entry), "'%s': [", *k);
        assert_true(len > 0 && (size_t)len < sizeof(entry));
        if (!memmem(f->data, f->size, entry, (size_t)len))
            fail_msg("web/js/event-text.js has no entry for the event kind %s", *k);
    }
}

/* ... and no entry for a kind the server does not know (a typo would show a filter
 * that finds nothing and a checkbox the API refuses). */
static void test_every_event_text_is_a_kind(void **state)
{
    (void)state;
    const struct web_file *f = script("event-text");
    assert_non_null(f);
    const char *text = (const char *)f->data;
    const char *end = text + f->size;
    size_t entries = 0;
    for (const char *p = text; (p = memmem(p, (size_t)(end - p), "': [", 4)) != NULL; p += 4) {
        const char *q = p;
        while (q > text && q[-1] != '\'' && q[-1] != '\n')
            q--;
        if (q == text || q[-1] != '\'' || p - q > 64)
            continue;
        char kind[72];
        snprintf(kind, sizeof(kind), "%.*s", (int)(p - q), q);
        if (!strchr(kind, '.'))
            continue;
        entries++;
        if (!api_event_kind_known(kind))
            fail_msg("web/js/event-text.js names \"%s\", which is not an event kind", kind);
    }
    size_t kinds = 0;
    for (const char *const *k = api_event_kinds; *k; k++)
        kinds++;
    assert_int_equal(entries, kinds);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_event_kind_has_its_text),
        cmocka_unit_test(test_every_event_text_is_a_kind),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
