/* download.c - GET/HEAD /api/v1/archives/{id}/download/: sendfile with Range and ETag. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "api/api.h"
#include "api/events.h"
#include "api/query.h"
#include "core/log.h"
#include "core/util.h"

/* attachment; filename="ascii fallback"; filename*=UTF-8''percent-encoded (RFC 6266). */
static void content_disposition(const char *name, char *out, size_t outlen)
{
    static const char hex[] = "0123456789ABCDEF";
    char ascii[LIMIT_FILENAME + 1], enc[LIMIT_FILENAME * 3 + 1];
    size_t ai = 0, ei = 0;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
        unsigned char c = *p;
        if (ai < sizeof(ascii) - 1)
            ascii[ai++] = (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') ? '_' : (char)c;
        bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                     strchr("!#$&+-.^_`|~", c);
        if (ei + 3 >= sizeof(enc))
            break;
        if (plain) {
            enc[ei++] = (char)c;
        } else {
            enc[ei++] = '%';
            enc[ei++] = hex[c >> 4];
            enc[ei++] = hex[c & 15];
        }
    }
    ascii[ai] = 0;
    enc[ei] = 0;
    snprintf(out, outlen, "attachment; filename=\"%s\"; filename*=UTF-8''%s", ascii, enc);
}

enum err api_archive_download(struct req *r)
{
    struct archive a;
    enum err e = api_archive_load(r, &a);
    if (e)
        return e;
    int fd;
    int64_t size;
    e = blob_open_read(r->app->blobs, a.path, &fd, &size);
    if (e == ERR_NOT_FOUND) {
        log_error("archive %lld: row without bytes at %s", (long long)a.id, a.path);
        return req_fail(r, ERR_NOT_FOUND, "The archive's file is missing from storage.");
    }
    if (e)
        return e;

    char etag[72];
    snprintf(etag, sizeof(etag), "\"%s\"", a.sha256);
    const char *inm = req_header(r, "If-None-Match");
    if (inm && (strstr(inm, etag) || strcmp(inm, "*") == 0)) {
        close(fd);
        req_add_header(r, "ETag", "%s", etag);
        return req_reply_empty(r, 304);
    }

    int64_t start = 0, end = size - 1;
    int status = 200;
    const char *range = req_header(r, "Range");
    const char *if_range = req_header(r, "If-Range");
    if (range && (!if_range || strcmp(if_range, etag) == 0)) {
        switch (query_range(range, size, &start, &end)) {
        case RANGE_OK:
            status = 206;
            break;
        case RANGE_UNSATISFIABLE:
            close(fd);
            req_add_header(r, "Content-Range", "bytes */%lld", (long long)size);
            return req_fail(r, ERR_RANGE, "Requested range not satisfiable.");
        case RANGE_NONE:
            start = 0;
            end = size - 1;
            break;
        }
    }
    uint64_t len = size ? (uint64_t)(end - start + 1) : 0;
    char cd[LIMIT_FILENAME * 4 + 128]; /* ascii fallback + percent-encoded form */
    content_disposition(a.name, cd, sizeof(cd));
    req_add_header(r, "Content-Type", "application/octet-stream");
    req_add_header(r, "Content-Disposition", "%s", cd);
    req_add_header(r, "ETag", "%s", etag);
    req_add_header(r, "Accept-Ranges", "bytes");
    if (status == 206)
        req_add_header(r, "Content-Range", "bytes %lld-%lld/%lld", (long long)start, (long long)end,
                       (long long)size);
    /* one event per download, not per piece of a resumed one */
    if (r->method == M_GET && start == 0)
        api_event(r, "archive.downloaded", a.ticket_number, a.id,
                  json_pack("{s:s,s:I}", "name", a.name, "bytes", (json_int_t)len));
    return req_reply_file(r, status, fd, (uint64_t)start, len);
}
