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

/* The tags of the blocks written the same way every time (NULL: none or special). */
static const struct {
    const char *open, *close;
} blocks[] = {
    [MD_BLOCK_DOC] = {"", ""},
    [MD_BLOCK_QUOTE] = {"<blockquote>\n", "</blockquote>\n"},
    [MD_BLOCK_UL] = {"<ul>\n", "</ul>\n"},
    [MD_BLOCK_OL] = {NULL, "</ol>\n"},
    [MD_BLOCK_LI] = {NULL, "</li>\n"},
    [MD_BLOCK_HR] = {"<hr>\n", ""},
    [MD_BLOCK_H] = {NULL, NULL},
    [MD_BLOCK_CODE] = {"<pre><code>", "</code></pre>\n"},
    /* not recognised with MD_FLAG_NOHTML; its text is escaped if it ever comes */
    [MD_BLOCK_HTML] = {"<pre>", "</pre>\n"},
    [MD_BLOCK_P] = {"<p>", "</p>\n"},
    [MD_BLOCK_TABLE] = {"<table class=\"table table-sm\">\n", "</table>\n"},
    [MD_BLOCK_THEAD] = {"<thead>\n", "</thead>\n"},
    [MD_BLOCK_TBODY] = {"<tbody>\n", "</tbody>\n"},
    [MD_BLOCK_TR] = {"<tr>", "</tr>\n"},
    [MD_BLOCK_TH] = {"<th>", "</th>"},
    [MD_BLOCK_TD] = {"<td>", "</td>"},
};

/* <hN> or </hN>\n for a heading's detail. */
static void heading(struct render *x, const void *detail, bool open)
{
    unsigned level = ((const MD_BLOCK_H_DETAIL *)detail)->level;
    buf_str(&x->out, open ? "<h" : "</h");
    buf_int(&x->out, level >= 1 && level <= 6 ? level : 6);
    buf_str(&x->out, open ? ">" : ">\n");
}

static int enter_block(MD_BLOCKTYPE type, void *detail, void *ud)
{
    struct render *x = ud;
    if ((size_t)type < sizeof(blocks) / sizeof(blocks[0]) && blocks[type].open) {
        buf_str(&x->out, blocks[type].open);
    } else if (type == MD_BLOCK_OL) {
        unsigned start = ((const MD_BLOCK_OL_DETAIL *)detail)->start;
        buf_str(&x->out, "<ol");
        if (start != 1) {
            buf_str(&x->out, " start=\"");
            buf_int(&x->out, start);
            buf_str(&x->out, "\"");
        }
        buf_str(&x->out, ">\n");
    } else if (type == MD_BLOCK_LI) {
        const MD_BLOCK_LI_DETAIL *li = detail;
        buf_str(&x->out, "<li>");
        if (li->is_task)
            buf_str(&x->out, li->task_mark == ' ' ? "<input type=\"checkbox\" disabled> "
                                                  : "<input type=\"checkbox\" disabled checked> ");
    } else if (type == MD_BLOCK_H) {
        heading(x, detail, true);
    }
    return x->out.failed ? -1 : 0;
}

static int leave_block(MD_BLOCKTYPE type, void *detail, void *ud)
{
    struct render *x = ud;
    if ((size_t)type < sizeof(blocks) / sizeof(blocks[0]) && blocks[type].close)
        buf_str(&x->out, blocks[type].close);
    else if (type == MD_BLOCK_H)
        heading(x, detail, false);
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
        /* no permissive (bare) autolinks: md4c 0.4.8 reads a byte past the
         * text there (found by fuzz-markdown); <https://...> links work */
        .flags = MD_FLAG_NOHTML | MD_FLAG_TABLES | MD_FLAG_STRIKETHROUGH | MD_FLAG_TASKLISTS,
        .enter_block = enter_block,
        .leave_block = leave_block,
        .enter_span = enter_span,
        .leave_span = leave_span,
        .text = text,
    };
    /* md4c gets a copy with NUL padding: should it ever read past the end
     * again, it reads ours, not the caller's neighbours */
    char *copy = calloc(1, len + 16);
    if (!copy)
        return ERR_TOO_LARGE;
    if (len)
        memcpy(copy, src, len);
    struct render x = {0};
    buf_init(&x.out, LIMIT_NOTE_HTML);
    buf_add(&x.out, "", 0); /* an empty note still gives "" */
    int rc = md_parse(copy, (MD_SIZE)len, &parser, &x);
    free(copy);
    if (x.out.failed || rc != 0 || !x.out.data) {
        buf_free(&x.out);
        return ERR_TOO_LARGE;
    }
    *ret = x.out.data;
    *ret_len = x.out.len;
    return ERR_OK;
}
