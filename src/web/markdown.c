/* markdown.c - ticket notes through md4c's parser and our own escaping HTML writer. */
#include <md4c.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/limits.h"
#include "web/buf.h"
#include "web/markdown.h"

#define LINK_DEPTH 32 /* nested spans we track whether their <a> was opened */

struct render {
    struct buf out;
    int code;                   /* inside a code block (verbatim text) */
    unsigned links;             /* depth of MD_SPAN_A */
    bool link_open[LINK_DEPTH]; /* whether each level wrote an <a> */
    unsigned images;            /* inside MD_SPAN_IMG: alt text only */
};

/* Link targets we keep. */
static const char *const schemes[] = {"http://", "https://", "mailto:"};

/* The attribute as one plain string in b; false when it holds anything but
 * plain text (an entity or a NUL: not worth decoding for a link). */
static bool attr_plain(const MD_ATTRIBUTE *a, struct buf *b)
{
    for (unsigned i = 0; a->substr_offsets[i] < a->size; i++) {
        if (a->substr_types[i] != MD_TEXT_NORMAL)
            return false;
        buf_add(b, a->text + a->substr_offsets[i], a->substr_offsets[i + 1] - a->substr_offsets[i]);
    }
    return !b->failed;
}

static bool href_allowed(const char *href)
{
    for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
        size_t n = strlen(schemes[i]);
        if (strncasecmp(href, schemes[i], n) == 0 && href[n])
            return true;
    }
    return false;
}

/* Writes <a href=...> for an allowed target; false when none was written. */
static bool open_link(struct render *x, const MD_SPAN_A_DETAIL *d)
{
    struct buf href;
    buf_init(&href, LIMIT_URL);
    bool ok = attr_plain(&d->href, &href) && href.data && href_allowed(href.data);
    if (ok) {
        buf_str(&x->out, "<a href=\"");
        buf_html(&x->out, href.data, href.len);
        buf_str(&x->out, "\" rel=\"nofollow noopener noreferrer\">");
    }
    buf_free(&href);
    return ok;
}

static int enter_block(MD_BLOCKTYPE type, void *detail, void *ud)
{
    struct render *x = ud;
    static const char *const h[] = {"<h1>", "<h2>", "<h3>", "<h4>", "<h5>", "<h6>"};
    switch (type) {
    case MD_BLOCK_DOC:
        break;
    case MD_BLOCK_QUOTE:
        buf_str(&x->out, "<blockquote>\n");
        break;
    case MD_BLOCK_UL:
        buf_str(&x->out, "<ul>\n");
        break;
    case MD_BLOCK_OL: {
        unsigned start = ((const MD_BLOCK_OL_DETAIL *)detail)->start;
        if (start == 1) {
            buf_str(&x->out, "<ol>\n");
        } else {
            buf_str(&x->out, "<ol start=\"");
            buf_int(&x->out, start);
            buf_str(&x->out, "\">\n");
        }
        break;
    }
    case MD_BLOCK_LI: {
        const MD_BLOCK_LI_DETAIL *li = detail;
        buf_str(&x->out, "<li>");
        if (li->is_task)
            buf_str(&x->out, li->task_mark == ' ' ? "<input type=\"checkbox\" disabled> "
                                                  : "<input type=\"checkbox\" disabled checked> ");
        break;
    }
    case MD_BLOCK_HR:
        buf_str(&x->out, "<hr>\n");
        break;
    case MD_BLOCK_H: {
        unsigned level = ((const MD_BLOCK_H_DETAIL *)detail)->level;
        buf_str(&x->out, h[level >= 1 && level <= 6 ? level - 1 : 5]);
        break;
    }
    case MD_BLOCK_CODE:
        buf_str(&x->out, "<pre><code>");
        x->code++;
        break;
    case MD_BLOCK_HTML: /* not recognised with MD_FLAG_NOHTML; text if ever */
        buf_str(&x->out, "<pre>");
        x->code++;
        break;
    case MD_BLOCK_P:
        buf_str(&x->out, "<p>");
        break;
    case MD_BLOCK_TABLE:
        buf_str(&x->out, "<table class=\"table table-sm\">\n");
        break;
    case MD_BLOCK_THEAD:
        buf_str(&x->out, "<thead>\n");
        break;
    case MD_BLOCK_TBODY:
        buf_str(&x->out, "<tbody>\n");
        break;
    case MD_BLOCK_TR:
        buf_str(&x->out, "<tr>");
        break;
    case MD_BLOCK_TH:
        buf_str(&x->out, "<th>");
        break;
    case MD_BLOCK_TD:
        buf_str(&x->out, "<td>");
        break;
    }
    return x->out.failed ? -1 : 0;
}

static int leave_block(MD_BLOCKTYPE type, void *detail, void *ud)
{
    struct render *x = ud;
    static const char *const h[] = {"</h1>\n", "</h2>\n", "</h3>\n",
                                    "</h4>\n", "</h5>\n", "</h6>\n"};
    switch (type) {
    case MD_BLOCK_DOC:
    case MD_BLOCK_HR:
        break;
    case MD_BLOCK_QUOTE:
        buf_str(&x->out, "</blockquote>\n");
        break;
    case MD_BLOCK_UL:
        buf_str(&x->out, "</ul>\n");
        break;
    case MD_BLOCK_OL:
        buf_str(&x->out, "</ol>\n");
        break;
    case MD_BLOCK_LI:
        buf_str(&x->out, "</li>\n");
        break;
    case MD_BLOCK_H: {
        unsigned level = ((const MD_BLOCK_H_DETAIL *)detail)->level;
        buf_str(&x->out, h[level >= 1 && level <= 6 ? level - 1 : 5]);
        break;
    }
    case MD_BLOCK_CODE:
        buf_str(&x->out, "</code></pre>\n");
        x->code--;
        break;
    case MD_BLOCK_HTML:
        buf_str(&x->out, "</pre>\n");
        x->code--;
        break;
    case MD_BLOCK_P:
        buf_str(&x->out, "</p>\n");
        break;
    case MD_BLOCK_TABLE:
        buf_str(&x->out, "</table>\n");
        break;
    case MD_BLOCK_THEAD:
        buf_str(&x->out, "</thead>\n");
        break;
    case MD_BLOCK_TBODY:
        buf_str(&x->out, "</tbody>\n");
        break;
    case MD_BLOCK_TR:
        buf_str(&x->out, "</tr>\n");
        break;
    case MD_BLOCK_TH:
        buf_str(&x->out, "</th>");
        break;
    case MD_BLOCK_TD:
        buf_str(&x->out, "</td>");
        break;
    }
    return x->out.failed ? -1 : 0;
}

/* The tag of a plain span, or NULL. */
static const char *span_tag(MD_SPANTYPE type, bool open)
{
    switch (type) {
    case MD_SPAN_EM:
        return open ? "<em>" : "</em>";
    case MD_SPAN_STRONG:
        return open ? "<strong>" : "</strong>";
    case MD_SPAN_CODE:
        return open ? "<code>" : "</code>";
    case MD_SPAN_DEL:
        return open ? "<del>" : "</del>";
    case MD_SPAN_U:
        return open ? "<u>" : "</u>";
    default:
        return NULL;
    }
}

static int enter_span(MD_SPANTYPE type, void *detail, void *ud)
{
    struct render *x = ud;
    if (type == MD_SPAN_IMG) {
        x->images++;
    } else if (type == MD_SPAN_A) {
        bool open = !x->images && open_link(x, detail);
        if (x->links < LINK_DEPTH)
            x->link_open[x->links] = open;
        x->links++;
    } else if (!x->images && span_tag(type, true)) {
        buf_str(&x->out, span_tag(type, true));
    }
    return x->out.failed ? -1 : 0;
}

static int leave_span(MD_SPANTYPE type, void *detail, void *ud)
{
    struct render *x = ud;
    (void)detail;
    if (type == MD_SPAN_IMG) {
        x->images--;
    } else if (type == MD_SPAN_A) {
        x->links--;
        if (x->links < LINK_DEPTH && x->link_open[x->links])
            buf_str(&x->out, "</a>");
    } else if (!x->images && span_tag(type, false)) {
        buf_str(&x->out, span_tag(type, false));
    }
    return x->out.failed ? -1 : 0;
}

/* An entity as md4c reports it, kept only in its strict forms. */
static bool entity_ok(const char *s, size_t n)
{
    if (n < 3 || n > 34 || s[0] != '&' || s[n - 1] != ';')
        return false;
    size_t i = 1;
    bool hex = false;
    if (s[i] == '#') {
        i++;
        if (s[i] == 'x' || s[i] == 'X') {
            hex = true;
            i++;
        }
        if (i >= n - 1)
            return false;
        for (; i < n - 1; i++)
            if (!(s[i] >= '0' && s[i] <= '9') &&
                !(hex && ((s[i] >= 'a' && s[i] <= 'f') || (s[i] >= 'A' && s[i] <= 'F'))))
                return false;
        return true;
    }
    for (; i < n - 1; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
              (s[i] >= '0' && s[i] <= '9')))
            return false;
    return true;
}

static int text(MD_TEXTTYPE type, const MD_CHAR *t, MD_SIZE size, void *ud)
{
    struct render *x = ud;
    switch (type) {
    case MD_TEXT_NULLCHAR:
        buf_str(&x->out, "\xEF\xBF\xBD");
        break;
    case MD_TEXT_BR:
        buf_str(&x->out, x->images ? " " : "<br>\n");
        break;
    case MD_TEXT_SOFTBR:
        buf_str(&x->out, x->images ? " " : "\n");
        break;
    case MD_TEXT_ENTITY:
        if (entity_ok(t, size))
            buf_add(&x->out, t, size);
        else
            buf_html(&x->out, t, size);
        break;
    default: /* NORMAL, CODE, HTML (only ever as text here), LATEXMATH */
        buf_html(&x->out, t, size);
        break;
    }
    return x->out.failed ? -1 : 0;
}

enum err markdown_html(const char *src, size_t len, char **ret, size_t *ret_len)
{
    if (len > LIMIT_NOTE * 4)
        return ERR_TOO_LARGE;
    MD_PARSER parser = {
        .abi_version = 0,
        .flags = MD_FLAG_NOHTML | MD_FLAG_TABLES | MD_FLAG_STRIKETHROUGH | MD_FLAG_TASKLISTS |
                 MD_FLAG_PERMISSIVEURLAUTOLINKS | MD_FLAG_PERMISSIVEEMAILAUTOLINKS,
        .enter_block = enter_block,
        .leave_block = leave_block,
        .enter_span = enter_span,
        .leave_span = leave_span,
        .text = text,
    };
    struct render x = {0};
    buf_init(&x.out, LIMIT_NOTE_HTML);
    buf_add(&x.out, "", 0); /* an empty note still gives "" */
    int rc = md_parse(src ? src : "", (MD_SIZE)len, &parser, &x);
    if (x.out.failed || rc != 0 || !x.out.data) {
        buf_free(&x.out);
        return ERR_TOO_LARGE;
    }
    *ret = x.out.data;
    *ret_len = x.out.len;
    return ERR_OK;
}
