/* markdown.c - POST /api/v1/markdown/: a note's preview, rendered as the ticket page shows it. */
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "web/markdown.h"

json_t *api_note_html(const char *note)
{
    char *html = NULL;
    size_t len = 0;
    if (markdown_html(note ? note : "", note ? strlen(note) : 0, &html, &len) != ERR_OK)
        return json_null();
    json_t *j = json_stringn(html, len);
    free(html);
    return j ? j : json_null();
}

/* {"text": markdown} -> {"html": safe HTML} (src/web/markdown.c says what is kept). */
enum err api_markdown(struct req *r)
{
    json_t *t = json_object_get(r->json, "text");
    if (!t || !json_is_string(t))
        return req_invalid(r, "text", "This field is required.");
    if (json_string_length(t) > LIMIT_NOTE)
        return req_invalid(r, "text", "Ensure this field has no more than %d characters.",
                           LIMIT_NOTE);
    char *html = NULL;
    size_t len = 0;
    enum err e = markdown_html(json_string_value(t), json_string_length(t), &html, &len);
    if (e)
        return e;
    json_t *j = json_stringn(html, len);
    free(html);
    return req_reply_json(r, 200, j ? json_pack("{s:o}", "html", j) : NULL);
}
