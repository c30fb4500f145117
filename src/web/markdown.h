/* markdown.h - ticket notes: markdown (md4c) to safe HTML. */
#pragma once

#include <stddef.h>

#include "core/err.h"

/*
 * Renders text[0..len) (CommonMark with tables, strikethrough and task lists;
 * bare URLs are not linked, <https://...> ones are)
 * as an HTML fragment that is safe to put into a page as it is: raw HTML in
 * the markdown is not recognised (it comes out as text), every text and
 * attribute is escaped, links are kept only when they go to http://,
 * https:// or mailto: (any other link, javascript: or data: ones included,
 * becomes its text), images become their alt text (no <img>: no tracking
 * pixels, no data: URLs), and nothing carries a style or event attribute.
 * *ret (heap, caller frees, NUL-terminated) and *ret_len on success;
 * ERR_TOO_LARGE past LIMIT_NOTE_HTML bytes of output (or out of memory).
 */
enum err markdown_html(const char *text, size_t len, char **ret, size_t *ret_len);
