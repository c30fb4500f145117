/* web.h - the staff console and the customer's upload page: pages and assets built into the
 * binary (scripts/assets.py). */
#pragma once

#include <stddef.h>

#include "http/req.h"

/* A file of the console as scripts/assets.py embedded it. */
struct web_file {
    const char *name; /* a page ("tickets.html") or a content-hashed asset ("app.3f2a9c1d.js") */
    const char *type; /* Content-Type */
    const unsigned char *data;
    size_t size;
    const unsigned char *gz; /* gzip of data, NULL when it would not be smaller */
    size_t gz_size;
    const char *etag; /* quoted */
};

/* Terminated by an entry whose name is NULL (generated: web_assets.c). */
extern const struct web_file web_files[];

/* The embedded file called name, or NULL. */
const struct web_file *web_find(const char *name);

/* GET /assets/{name}: a content-hashed asset (PROFILE_ASSET: cached for a
 * year), gzip-compressed when the client accepts it. */
enum err web_asset(struct req *r);
/* GET of a page (or a file with a URL of its own, uploader.sh): the file the row
 * names (route->arg), PROFILE_PAGE. */
enum err web_page(struct req *r);
/* GET of an old URL: 302 to route->arg. */
enum err web_redirect(struct req *r);
/* The route table's error_page: a 404 page in the console's style for a
 * browser (Accept: text/html) that asked for a missing page outside /api/
 * and /upload/; ERR_NO_ROUTE otherwise (the JSON answer goes out). */
enum err web_error_page(struct req *r, int status);
