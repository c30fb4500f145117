/* web.c - serves the web pages (console, upload page) and their assets from the binary. */
#include <string.h>
#include <strings.h>

#include "core/util.h"
#include "web/web.h"

const struct web_file *web_find(const char *name)
{
    for (const struct web_file *f = web_files; f->name; f++)
        if (strcmp(f->name, name) == 0)
            return f;
    return NULL;
}

/* Whether a file served at a URL of its own (a page, uploader.sh), not a
 * content-hashed asset: those are never under /assets/ with a year of caching. */
static bool is_page(const struct web_file *f)
{
    size_t n = strlen(f->name);
    return (n > 5 && strcmp(f->name + n - 5, ".html") == 0) ||
           (n > 3 && strcmp(f->name + n - 3, ".sh") == 0);
}

/* Answers f with status: 304 when If-None-Match names its ETag, the gzip
 * form when the client takes it (Vary: Accept-Encoding either way). */
static enum err serve(struct req *r, const struct web_file *f, int status)
{
    req_add_header(r, "ETag", "%s", f->etag);
    req_add_header(r, "Vary", "Accept-Encoding");
    const char *inm = req_header(r, "If-None-Match");
    if (status == 200 && inm && strstr(inm, f->etag))
        return req_reply_empty(r, 304);
    if (f->gz && req_accepts_encoding(r, "gzip")) {
        req_add_header(r, "Content-Encoding", "gzip");
        return req_reply_static(r, status, f->type, f->gz, f->gz_size);
    }
    return req_reply_static(r, status, f->type, f->data, f->size);
}

enum err web_asset(struct req *r)
{
    const struct web_file *f = web_find(req_param(r, 0));
    if (!f || is_page(f))
        return ERR_NOT_FOUND;
    return serve(r, f, 200);
}

enum err web_page(struct req *r)
{
    const struct web_file *f = r->route->arg ? web_find(r->route->arg) : NULL;
    if (!f)
        return req_fail(r, ERR_INTERNAL, "page %s missing from the build",
                        r->route->arg ? r->route->arg : "(none)");
    return serve(r, f, 200);
}

enum err web_redirect(struct req *r)
{
    req_add_header(r, "Location", "%s", r->route->arg ? r->route->arg : "/");
    return req_reply_empty(r, 302);
}

enum err web_error_page(struct req *r, int status)
{
    const char *accept = req_header(r, "Accept");
    const char *path = r->path ? r->path : "";
    if (status != 404 || !(r->method & (M_GET | M_HEAD)) || !accept ||
        !strstr(accept, "text/html") || strncmp(path, "/api/", 5) == 0 ||
        strcmp(path, "/api") == 0 || strncmp(path, "/upload", 7) == 0)
        return ERR_NO_ROUTE;
    const struct web_file *f = web_find("404.html");
    if (!f)
        return ERR_NO_ROUTE;
    r->profile = PROFILE_PAGE;
    return serve(r, f, 404);
}
