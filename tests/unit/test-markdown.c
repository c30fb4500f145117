/* test-markdown.c - ticket notes as HTML: hostile input stays text, links only http(s)/mailto. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/limits.h"
#include "web/buf.h"
#include "web/markdown.h"

static char *render(const char *md)
{
    char *html = NULL;
    size_t len = 0;
    assert_int_equal(markdown_html(md, strlen(md), &html, &len), ERR_OK);
    assert_non_null(html);
    assert_int_equal(strlen(html), len);
    return html;
}

/* What no tag of a rendered note may ever be or hold, whatever the input
 * (text between tags is escaped and may say anything). */
static void assert_safe(const char *html)
{
    static const char *const tags[] = {
        "a",  "p",     "em",    "strong", "code", "pre", "del", "u",          "ul",
        "ol", "li",    "h1",    "h2",     "h3",   "h4",  "h5",  "h6",         "hr",
        "br", "table", "thead", "tbody",  "tr",   "th",  "td",  "blockquote", "input"};
    static const char *const bad[] = {
        " on", "style", "javascript:", "vbscript:", "data:", "src", "href=\"/", "href=\"#"};
    for (const char *p = strchr(html, '<'); p; p = strchr(p + 1, '<')) {
        const char *end = strchr(p, '>');
        if (!end)
            fail_msg("unclosed tag in %s", html);
        char tag[256];
        size_t n =
            (size_t)(end - p - 1) < sizeof(tag) - 1 ? (size_t)(end - p - 1) : sizeof(tag) - 1;
        memcpy(tag, p + 1, n);
        tag[n] = 0;
        const char *name = tag[0] == '/' ? tag + 1 : tag;
        size_t nl = strcspn(name, " ");
        bool known = false;
        for (size_t i = 0; i < sizeof(tags) / sizeof(tags[0]); i++)
            known |= strlen(tags[i]) == nl && strncmp(name, tags[i], nl) == 0;
        if (!known)
            fail_msg("unexpected tag <%s> in %s", tag, html);
        const char *attrs = name + nl;
        if (strncmp(attrs, " href=\"", 7) == 0) { /* the target: its scheme was judged */
            attrs = strchr(attrs + 7, '"');
            if (!attrs || !(strncmp(name + nl + 7, "https://", 8) == 0 ||
                            strncmp(name + nl + 7, "http://", 7) == 0 ||
                            strncmp(name + nl + 7, "mailto:", 7) == 0))
                fail_msg("link <%s> in %s", tag, html);
        }
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
            if (strcasestr(attrs, bad[i]))
                fail_msg("tag <%s> holds \"%s\": %s", tag, bad[i], html);
    }
}

static void expect(const char *md, const char *want)
{
    char *html = render(md);
    if (strcmp(html, want) != 0)
        fail_msg("markdown %s\n  gave %s\n  want %s", md, html, want);
    assert_safe(html);
    free(html);
}

static void test_plain_markdown(void **state)
{
    (void)state;
    expect("", "");
    expect("**Backups** fail _at night_",
           "<p><strong>Backups</strong> fail <em>at night</em></p>\n");
    expect("# Title\n\n- a\n- b\n", "<h1>Title</h1>\n<ul>\n<li>a</li>\n<li>b</li>\n</ul>\n");
    expect("3. x\n", "<ol start=\"3\">\n<li>x</li>\n</ol>\n");
    expect("`a < b`", "<p><code>a &lt; b</code></p>\n");
    expect("```\n<b>x</b> & \"y\"\n```\n",
           "<pre><code>&lt;b&gt;x&lt;/b&gt; &amp; &quot;y&quot;\n</code></pre>\n");
    expect("~~gone~~", "<p><del>gone</del></p>\n");
    expect("- [x] done\n- [ ] todo\n",
           "<ul>\n<li><input type=\"checkbox\" disabled checked> done</li>\n"
           "<li><input type=\"checkbox\" disabled> todo</li>\n</ul>\n");
    expect("| a | b |\n|---|---|\n| 1 | 2 |\n",
           "<table class=\"table table-sm\">\n<thead>\n<tr><th>a</th><th>b</th></tr>\n</thead>\n"
           "<tbody>\n<tr><td>1</td><td>2</td></tr>\n</tbody>\n</table>\n");
    expect("AT&amp;T &copy; &#60;", "<p>AT&amp;T &copy; &#60;</p>\n");
}

/* Raw HTML is not HTML here: it comes out as text. */
static void test_raw_html_is_text(void **state)
{
    (void)state;
    expect("<script>alert(1)</script>", "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>\n");
    expect("<div onclick=\"x()\">hi</div>\n",
           "<p>&lt;div onclick=&quot;x()&quot;&gt;hi&lt;/div&gt;</p>\n");
    expect("a <img src=x onerror=alert(1)> b", "<p>a &lt;img src=x onerror=alert(1)&gt; b</p>\n");
    expect("<!-- c --><style>body{}</style>",
           "<p>&lt;!-- c --&gt;&lt;style&gt;body{}&lt;/style&gt;</p>\n");
    char *h = render("<iframe src=\"javascript:alert(1)\"></iframe>\n\n<svg/onload=alert(1)>");
    assert_null(strstr(h, "<iframe"));
    assert_null(strstr(h, "<svg"));
    free(h);
}

/* Links: http(s) and mailto kept (attribute escaped), anything else is its text. */
static void test_links(void **state)
{
    (void)state;
    expect("[docs](https://example.com/a?b=1&c=\"2\")",
           "<p><a href=\"https://example.com/a?b=1&amp;c=&quot;2&quot;\" "
           "rel=\"nofollow noopener noreferrer\">docs</a></p>\n");
    expect("[mail](mailto:support@example.com)",
           "<p><a href=\"mailto:support@example.com\" rel=\"nofollow noopener noreferrer\">mail</a>"
           "</p>\n");
    expect("[x](javascript:alert(1))", "<p>x</p>\n");
    expect("[x](JaVaScRiPt:alert(1))", "<p>x</p>\n");
    expect("[x](data:text/html;base64,PHNjcmlwdD4=)", "<p>x</p>\n");
    expect("[x](vbscript:msgbox)", "<p>x</p>\n");
    expect("[x](/relative)", "<p>x</p>\n");
    expect("[x](//evil.example/)", "<p>x</p>\n");
    expect("[x](java&#115;cript:alert(1))", "<p>x</p>\n");
    expect("<javascript:alert(1)>", "<p>javascript:alert(1)</p>\n"); /* an autolink, unlinked */
    expect("[x](https://a.example \"t\\\" onmouseover=\\\"alert(1)\")",
           "<p><a href=\"https://a.example\" rel=\"nofollow noopener noreferrer\">x</a></p>\n");
    /* found by fuzz-markdown: a kept link may well say "style" */
    expect("<https://a.b/style.c> &?",
           "<p><a href=\"https://a.b/style.c\" "
           "rel=\"nofollow noopener noreferrer\">https://a.b/style.c</a> "
           "&amp;?</p>\n");
    char *h = render("see https://example.com/x and <https://b.example> or <a@b.example>");
    assert_null(strstr(h, "<a href=\"https://example.com/x\"")); /* bare: not linked */
    assert_non_null(strstr(h, "<a href=\"https://b.example\""));
    assert_non_null(strstr(h, "<a href=\"mailto:a@b.example\""));
    assert_safe(h);
    free(h);
}

/* Images become their alt text: no <img>, no tracking, no data: URLs. */
static void test_images(void **state)
{
    (void)state;
    expect("![a *cat*](https://example.com/cat.png)", "<p>a cat</p>\n");
    expect("![x](data:image/svg+xml,<svg onload=alert(1)>)",
           "<p>![x](data:image/svg+xml,&lt;svg onload=alert(1)&gt;)</p>\n"); /* not even an image */
    expect("![x](data:image/png;base64,iVBORw0KGgo=)", "<p>x</p>\n");
    expect("[![alt](https://i.example/p.png)](javascript:x)", "<p>alt</p>\n");
}

/* Input no markdown can make harmful: NULs, long runs, deep nesting. */
static void test_odd_input(void **state)
{
    (void)state;
    const char nul[] = "a\0<b>";
    char *html = NULL;
    size_t len = 0;
    assert_int_equal(markdown_html(nul, sizeof(nul) - 1, &html, &len), ERR_OK);
    assert_non_null(strstr(html, "\xEF\xBF\xBD&lt;b&gt;"));
    free(html);
    char deep[2001];
    memset(deep, '>', 2000);
    deep[2000] = 0;
    html = render(deep);
    free(html);
    char *big = malloc(LIMIT_NOTE + 1);
    memset(big, '<', LIMIT_NOTE);
    big[LIMIT_NOTE] = 0;
    html = render(big);
    assert_safe(html);
    free(html);
    free(big);
    assert_int_equal(markdown_html("x", (size_t)LIMIT_NOTE * 5, &html, &len), ERR_TOO_LARGE);
}

/* The one escaper, against & < > " ' (cgit's lesson). */
static void test_escaper(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 100);
    buf_html(&b, "a&b<c>d\"e'f", 11);
    assert_string_equal(b.data, "a&amp;b&lt;c&gt;d&quot;e&#39;f");
    buf_free(&b);
    buf_init(&b, 8);
    buf_str(&b, "1234567");
    assert_false(b.failed);
    buf_str(&b, "8");
    assert_true(b.failed);
    buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_markdown), cmocka_unit_test(test_raw_html_is_text),
        cmocka_unit_test(test_links),          cmocka_unit_test(test_images),
        cmocka_unit_test(test_odd_input),      cmocka_unit_test(test_escaper),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
