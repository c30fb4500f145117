/* tus.c - tus 1.0.0 (core, creation, creation-with-upload, termination, expiration, checksum). */
#include <openssl/evp.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "api/api.h"
#include "api/events.h"
#include "api/tus.h"
#include "api/upload.h"
#include "auth/token.h"
#include "core/log.h"
#include "core/util.h"

#define TUS_VERSION    "1.0.0"
#define TUS_EXTENSIONS "creation,creation-with-upload,termination,expiration,checksum"
#define TUS_ALGORITHMS "md5,sha1,sha256"
#define META_KEY_MAX   64

/* --- Upload-Metadata --- */

static bool key_char(char c)
{
    return c > ' ' && c < 0x7f && c != ',';
}

/* Decodes base64 (padding optional) of len bytes into out (cap bytes, NUL
 * added); *ret_len gets the decoded length. */
static bool b64_decode(const char *in, size_t len, char *out, size_t cap, size_t *ret_len)
{
    size_t n = 0;
    const char *end;
    if (cap == 0)
        return false;
    if (sodium_base642bin((unsigned char *)out, cap - 1, in, len, NULL, &n, &end,
                          sodium_base64_VARIANT_ORIGINAL) != 0 ||
        end != in + len) {
        if (sodium_base642bin((unsigned char *)out, cap - 1, in, len, NULL, &n, &end,
                              sodium_base64_VARIANT_ORIGINAL_NO_PADDING) != 0 ||
            end != in + len)
            return false;
    }
    out[n] = 0;
    *ret_len = n;
    return true;
}

bool tus_metadata_parse(const char *header, struct tus_meta *ret, char *why, size_t whylen)
{
    memset(ret, 0, sizeof(*ret));
    if (strlen(header) > LIMIT_TUS_METADATA) {
        snprintf(why, whylen, "Upload-Metadata is longer than %d bytes.", LIMIT_TUS_METADATA);
        return false;
    }
    /* where each key seen so far starts, and its length: a key has at least
     * one byte and is followed by a comma, so there are at most half as many */
    uint16_t seen_at[LIMIT_TUS_METADATA / 2 + 1], seen_len[LIMIT_TUS_METADATA / 2 + 1];
    size_t nseen = 0;
    const char *p = header;
    while (*p == ' ')
        p++;
    while (*p) {
        const char *k = p;
        while (key_char(*p))
            p++;
        size_t klen = (size_t)(p - k);
        if (klen == 0 || klen > META_KEY_MAX) {
            snprintf(why, whylen, "Upload-Metadata: a key is empty or too long.");
            return false;
        }
        for (size_t i = 0; i < nseen; i++)
            if (seen_len[i] == klen && memcmp(header + seen_at[i], k, klen) == 0) {
                snprintf(why, whylen, "Upload-Metadata: the key \"%.*s\" appears twice.", (int)klen,
                         k);
                return false;
            }
        seen_at[nseen] = (uint16_t)(k - header);
        seen_len[nseen++] = (uint16_t)klen;
        const char *v = p;
        size_t vlen = 0;
        if (*p == ' ') {
            v = ++p;
            while (*p && *p != ',' && *p != ' ')
                p++;
            vlen = (size_t)(p - v);
        }
        while (*p == ' ')
            p++;
        if (*p == ',') {
            p++;
            while (*p == ' ')
                p++;
            if (!*p) {
                snprintf(why, whylen, "Upload-Metadata: a pair is missing after a comma.");
                return false;
            }
        } else if (*p) {
            snprintf(why, whylen, "Upload-Metadata: expected \"key base64value\" pairs.");
            return false;
        }
        char *dst = NULL;
        size_t cap = 0, *dlen = NULL, ignored = 0;
        if (klen == 8 && memcmp(k, "filename", 8) == 0) {
            dst = ret->filename;
            cap = sizeof(ret->filename);
            dlen = &ret->filename_len;
        } else if (klen == 8 && memcmp(k, "filetype", 8) == 0) {
            dst = ret->filetype;
            cap = sizeof(ret->filetype);
        } else if (klen == 6 && memcmp(k, "ticket", 6) == 0) {
            dst = ret->ticket;
            cap = sizeof(ret->ticket);
        }
        char scratch[LIMIT_TUS_METADATA + 1];
        if (!dst) { /* a key we do not use: its value must still be base64 */
            dst = scratch;
            cap = sizeof(scratch);
        }
        if (!b64_decode(v, vlen, dst, cap, dlen ? dlen : &ignored)) {
            snprintf(why, whylen,
                     "Upload-Metadata: the value of \"%.*s\" is not base64 or too long.", (int)klen,
                     k);
            return false;
        }
    }
    return true;
}

/* --- common parts --- */

/* Every request but OPTIONS names the protocol version: 412 otherwise. */
static enum err version_ok(struct req *r)
{
    const char *v = req_header(r, "Tus-Resumable");
    if (v && strcmp(v, TUS_VERSION) == 0)
        return ERR_OK;
    req_add_header(r, "Tus-Version", TUS_VERSION);
    return req_fail(r, ERR_PRECONDITION, "Tus-Resumable: %s is required.", TUS_VERSION);
}

/* Upload-Expires: when the upload goes without progress (RFC 9110 date). */
static void add_expires(struct req *r, int64_t expires_at)
{
    time_t t = (time_t)(expires_at / 1000000);
    struct tm tm;
    char buf[64];
    gmtime_r(&t, &tm);
    strftime(buf, sizeof(buf), "%a, %d %b %Y %H:%M:%S GMT", &tm);
    req_add_header(r, "Upload-Expires", "%s", buf);
}

/* The archive a complete upload became, in the headers of its last PATCH's
 * answer and of every HEAD after. */
static void add_archive(struct req *r, int64_t id, const char *sha256)
{
    req_add_header(r, "Archive-Id", "%lld", (long long)id);
    req_add_header(r, "Archive-Sha256", "%s", sha256);
}

/* Removes an upload that can no longer go on: its bytes (unless a request
 * holds them: then the sweeper does) and its row. */
static void drop(struct req *r, const struct upload_row *row, const char *why)
{
    enum err e = blob_partial_remove(r->app->blobs, row->id);
    if (e == ERR_OK)
        (void)store_upload_delete(r->app->store, row->id);
    api_event(r, "upload.failed", row->ticket_number, 0,
              json_pack("{s:s,s:s,s:b}", "name", row->name, "reason", why, "resumable", 1));
    log_info("resumable upload %.8s... of ticket %lld removed: %s", row->id,
             (long long)row->ticket_number, why);
}

/*
 * The upload named by the URL, for the caller: its creator's upload token in
 * Upload-Token (by the rules of every upload, except that a used-up token may
 * finish what it began), or staff. A ticket resolved, a token replaced or
 * expired stops the upload: its bytes go (423 / 403). Unknown ids are counted
 * against the client like unknown tokens.
 */
static enum err load(struct req *r, struct upload_row *ret)
{
    const char *token = req_header(r, "Upload-Token");
    if (!token && !req_staff(r))
        return req_fail(r, ERR_UNAUTHENTICATED, "Header Upload-Token is required");
    enum err e = auth_token_guard(r);
    if (e)
        return e;
    const char *id = req_param(r, 0);
    e = strlen(id) == UPLOAD_ID_LEN ? store_upload_get(r->app->store, id, ret) : ERR_NOT_FOUND;
    if (e == ERR_NOT_FOUND) {
        auth_token_miss(r, "resumable upload");
        return req_fail(r, ERR_NOT_FOUND, "No such upload (finished, terminated or expired).");
    }
    if (e || !token)
        return e; /* staff: any upload */
    if (!ret->token[0] || !token_equal(token, ret->token))
        return req_fail(r, ERR_FORBIDDEN, "token %.36s is not the token of this upload", token);
    if (ret->archive_id)
        return ERR_OK; /* complete: it may say so to its creator whatever befell the ticket since */
    enum token_state st;
    struct ticket t;
    e = store_token_check(r->app->store, ret->token, r->now, &st, &t);
    if (e)
        return e;
    if (st == TOKEN_OK)
        store_ticket_clear(&t);
    switch (st) {
    case TOKEN_OK:
    case TOKEN_USED_UP: /* the attempt of this upload was its last one */
        return ERR_OK;
    case TOKEN_UNKNOWN:
        drop(r, ret, "its token was replaced");
        return req_fail(r, ERR_FORBIDDEN, "token %.36s is not valid", token);
    case TOKEN_RESOLVED:
        drop(r, ret, "its ticket was resolved");
        return req_fail(r, ERR_LOCKED, "ticket of token %.36s already resolved", token);
    case TOKEN_EXPIRED:
        drop(r, ret, "its token expired");
        return req_fail(r, ERR_LOCKED, "token %.36s expired", token);
    }
    return ERR_INTERNAL;
}

/* The checks every request on an upload's own URL begins with. */
static enum err open_upload(struct req *r, struct upload_row *ret)
{
    enum err e = version_ok(r);
    return e ? e : load(r, ret);
}

/* --- checksums of a PATCH (the checksum extension) --- */

struct checksum {
    EVP_MD_CTX *ctx;
    unsigned char want[EVP_MAX_MD_SIZE];
    unsigned int want_len;
};

/* Reads Upload-Checksum ("sha1 <base64>"); ERR_OK without one. */
static enum err checksum_begin(struct req *r, struct checksum *c)
{
    const char *h = req_header(r, "Upload-Checksum");
    if (!h)
        return ERR_OK;
    const char *sp = strchr(h, ' ');
    static const struct {
        const char *name;
        const char *evp;
    } algs[] = {{"md5", "MD5"}, {"sha1", "SHA1"}, {"sha256", "SHA256"}};
    const EVP_MD *md = NULL;
    for (size_t i = 0; sp && i < ARRAY_SIZE(algs); i++)
        if ((size_t)(sp - h) == strlen(algs[i].name) &&
            strncmp(h, algs[i].name, (size_t)(sp - h)) == 0)
            md = EVP_get_digestbyname(algs[i].evp);
    if (!md) {
        req_add_header(r, "Tus-Checksum-Algorithm", TUS_ALGORITHMS);
        return req_fail(r, ERR_BAD_REQUEST, "Upload-Checksum: use one of %s.", TUS_ALGORITHMS);
    }
    char digest[EVP_MAX_MD_SIZE + 1];
    size_t n = 0;
    if (!b64_decode(sp + 1, strlen(sp + 1), digest, sizeof(digest), &n) ||
        n != (size_t)EVP_MD_get_size(md))
        return req_fail(r, ERR_BAD_REQUEST,
                        "Upload-Checksum: the digest is not base64 of the "
                        "algorithm's length.");
    c->ctx = EVP_MD_CTX_new();
    if (!c->ctx || !EVP_DigestInit_ex(c->ctx, md, NULL))
        return ERR_NOMEM;
    memcpy(c->want, digest, n);
    c->want_len = (unsigned)n;
    return ERR_OK;
}

static bool checksum_matches(struct checksum *c)
{
    unsigned char got[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    return EVP_DigestFinal_ex(c->ctx, got, &n) && n == c->want_len &&
           sodium_memcmp(got, c->want, n) == 0;
}

/* --- one request's state --- */

struct tus_req {
    struct upload up;      /* first: freed as an upload */
    struct upload_row row; /* the upload's row (up.row points here) */
    struct checksum sum;
    bool creating;
    bool with_body;
};

static void tus_req_free(void *p)
{
    struct tus_req *t = p;
    if (t)
        EVP_MD_CTX_free(t->sum.ctx);
    upload_clear(&t->up);
    free(t);
}

static enum err new_state(struct req *r, struct tus_req **ret)
{
    struct tus_req *t = calloc(1, sizeof(*t));
    if (!t)
        return ERR_NOMEM;
    r->state = t;
    r->state_free = tus_req_free;
    *ret = t;
    return ERR_OK;
}

/* The answer's headers of a request that stored bytes: where the upload stands,
 * and when it is complete, the archive it became. */
static void add_progress(struct req *r, struct tus_req *t)
{
    struct upload *u = &t->up;
    req_add_header(r, "Upload-Offset", "%lld", (long long)(u->offset + upload_size(u)));
    if (u->out.id) {
        add_archive(r, u->out.id, u->out.sha256);
    } else {
        add_expires(r, u->row->expires_at); /* as stored (upload.c, save_work) */
    }
}

static enum err data(struct req *r, const char *buf, size_t len)
{
    struct tus_req *t = r->state;
    if (t->sum.ctx && !EVP_DigestUpdate(t->sum.ctx, buf, len))
        return ERR_INTERNAL;
    return upload_write(r, &t->up, buf, len);
}

static void abort_(struct req *r)
{
    struct tus_req *t = r->state;
    upload_abort(r, t ? &t->up : NULL);
}

/* A checksum that does not match keeps nothing of this request (460). */
static enum err verify(struct req *r, struct tus_req *t)
{
    if (!t->sum.ctx || checksum_matches(&t->sum))
        return ERR_OK;
    t->up.no_saves = true;
    return req_fail(r, ERR_CHECKSUM, "Upload-Checksum does not match the bytes received.");
}

/* --- OPTIONS --- */

enum err api_tus_options(struct req *r)
{
    req_add_header(r, "Tus-Version", TUS_VERSION);
    req_add_header(r, "Tus-Extension", TUS_EXTENSIONS);
    req_add_header(r, "Tus-Checksum-Algorithm", TUS_ALGORITHMS);
    if (r->app->cfg.max_upload_size > 0)
        req_add_header(r, "Tus-Max-Size", "%lld", (long long)r->app->cfg.max_upload_size);
    /* a CORS preflight from a trusted origin (the profile adds Allow-Origin) */
    if (req_header(r, "Access-Control-Request-Method") &&
        config_origin_trusted(&r->app->cfg, req_header(r, "Origin"))) {
        req_add_header(r, "Access-Control-Allow-Methods", "POST, HEAD, PATCH, DELETE, OPTIONS");
        req_add_header(r, "Access-Control-Allow-Headers",
                       "Authorization, Content-Type, Upload-Token, Tus-Resumable, Upload-Length, "
                       "Upload-Metadata, Upload-Offset, Upload-Checksum, X-Requested-With");
        req_add_header(r, "Access-Control-Max-Age", "86400");
    }
    return req_reply_empty(r, 204);
}

/* --- POST /api/v1/uploads/: creation (with upload) --- */

static enum err create_begin(struct req *r)
{
    struct tus_req *t;
    enum err e = new_state(r, &t);
    if (!e)
        e = version_ok(r);
    if (e)
        return e;
    struct upload *u = &t->up;
    t->creating = true;
    t->with_body = r->content_length > 0 || r->chunked;
    const char *len = req_header(r, "Upload-Length");
    if (!len) {
        if (req_header(r, "Upload-Defer-Length"))
            return req_fail(r, ERR_BAD_REQUEST,
                            "Upload-Defer-Length is not supported: give "
                            "Upload-Length.");
        return req_fail(r, ERR_BAD_REQUEST, "Upload-Length is required.");
    }
    int64_t length;
    if (!parse_int64(len, &length) || length < 0)
        return req_fail(r, ERR_BAD_REQUEST, "Upload-Length must be a whole number of bytes.");
    if (length == 0)
        return req_fail(r, ERR_BAD_REQUEST, "The file is empty.");
    struct tus_meta meta;
    char why[160];
    const char *mh = req_header(r, "Upload-Metadata");
    if (mh && !tus_metadata_parse(mh, &meta, why, sizeof(why)))
        return req_fail(r, ERR_BAD_REQUEST, "%s", why);
    if (!mh)
        memset(&meta, 0, sizeof(meta));
    e = upload_open(r, u, length);
    if (e)
        return e;
    if (!u->by_token) {
        int64_t number;
        if (!meta.ticket[0] || !parse_int64(meta.ticket, &number))
            return req_invalid(r, "ticket",
                               "Staff uploads name their ticket in Upload-Metadata "
                               "(ticket).");
        e = upload_target(r, u, number);
        if (e)
            return e;
    }
    upload_name(u, meta.filename, meta.filename_len);
    upload_resumable(u, &t->row);
    token_hex(t->row.id, UPLOAD_ID_LEN / 2);
    t->row.length = length;
    str_copy(t->row.filetype, sizeof(t->row.filetype), meta.filetype);
    str_copy(t->row.metadata, sizeof(t->row.metadata), mh ? mh : "");
    if (t->with_body) {
        const char *off = req_header(r, "Upload-Offset");
        int64_t o;
        if (off && (!parse_int64(off, &o) || o != 0))
            return req_fail(r, ERR_CONFLICT, "A new upload starts at offset 0.");
        return checksum_begin(r, &t->sum);
    }
    return ERR_OK;
}

static enum err create_reply(struct req *r)
{
    struct tus_req *t = r->state;
    char base[512];
    req_base_url(r, base, sizeof(base));
    req_add_header(r, "Location", "%s/api/v1/uploads/%s", base, t->row.id);
    add_progress(r, t);
    log_info("resumable upload %.8s... of %lld bytes created for ticket %lld from %s", t->row.id,
             (long long)t->row.length, (long long)t->up.ticket.number, r->client_ip);
    return req_reply_empty(r, 201);
}

static enum err create_end(struct req *r)
{
    struct tus_req *t = r->state;
    enum err e = verify(r, t);
    if (e == ERR_CHECKSUM) {
        /* created, but nothing of the body kept: say so with 201 at offset 0
         * (creation-with-upload), once the upload exists; let it go unsaved
         * (it reopens at 0) before the answer, for the client's next request */
        t->up.size = 0;
        if (t->up.started) {
            blob_partial_close(TAKE_PTR(t->up.blob));
            return create_reply(r);
        }
    } else if (e) {
        return e;
    }
    return upload_end(r, &t->up, create_reply);
}

const struct stream_ops api_tus_create_ops = {create_begin, data, create_end, abort_};

/* --- HEAD /api/v1/uploads/{id} --- */

enum err api_tus_head(struct req *r)
{
    struct upload_row row;
    enum err e = open_upload(r, &row);
    if (e)
        return e;
    int64_t offset = row.length;
    e = row.archive_id ? ERR_OK : blob_partial_offset(r->app->blobs, row.id, &offset);
    if (e == ERR_NOT_FOUND) {
        drop(r, &row, "its bytes are gone");
        return req_fail(r, ERR_NOT_FOUND, "No such upload (finished, terminated or expired).");
    }
    if (e)
        return e;
    /* complete, though the client may not know (the last answer was lost): it
     * learns so here instead of sending the file again */
    if (row.archive_id)
        add_archive(r, row.archive_id, row.archive_sha256);
    /* a client asks where its upload stands when it comes back to it */
    else if (offset > 0)
        api_event(r, "upload.resumed", row.ticket_number, 0,
                  json_pack("{s:s,s:I,s:I}", "name", row.name, "offset", (json_int_t)offset,
                            "length", (json_int_t)row.length));
    req_add_header(r, "Upload-Offset", "%lld", (long long)offset);
    req_add_header(r, "Upload-Length", "%lld", (long long)row.length);
    if (row.metadata[0])
        req_add_header(r, "Upload-Metadata", "%s", row.metadata);
    add_expires(r, row.expires_at);
    return req_reply_empty(r, 200);
}

/* --- PATCH /api/v1/uploads/{id} --- */

static enum err patch_begin(struct req *r)
{
    struct tus_req *t;
    enum err e = new_state(r, &t);
    if (e)
        return e;
    struct upload_row *row = &t->row;
    e = open_upload(r, row);
    if (e)
        return e;
    struct upload *u = &t->up;
    const char *off = req_header(r, "Upload-Offset");
    int64_t offset;
    if (!off || !parse_int64(off, &offset) || offset < 0)
        return req_fail(r, ERR_BAD_REQUEST, "Upload-Offset is required.");
    if (row->archive_id) {
        req_add_header(r, "Upload-Offset", "%lld", (long long)row->length);
        add_archive(r, row->archive_id, row->archive_sha256);
        return req_fail(r, ERR_CONFLICT, "The upload is complete: it is archive %lld.",
                        (long long)row->archive_id);
    }
    e = checksum_begin(r, &t->sum);
    if (e)
        return e;
    u->no_saves = t->sum.ctx != NULL; /* nothing is kept before the checksum is checked */
    u->ticket.number = row->ticket_number;
    e = upload_resume(r, u, row);
    if (e == ERR_LOCKED)
        return req_fail(r, ERR_CONFLICT, "Another request is sending bytes to this upload.");
    if (e == ERR_NOT_FOUND) {
        drop(r, row, "its bytes are gone");
        return req_fail(r, ERR_NOT_FOUND, "No such upload (finished, terminated or expired).");
    }
    if (e)
        return e;
    if (offset != u->offset) {
        req_add_header(r, "Upload-Offset", "%lld", (long long)u->offset);
        e = req_fail(r, ERR_CONFLICT, "Upload-Offset %lld does not match the upload's %lld.",
                     (long long)offset, (long long)u->offset);
    } else if (r->content_length >= 0 && u->offset + r->content_length > row->length) {
        e = req_fail(r, ERR_TOO_LARGE, "More bytes than the Upload-Length of %lld.",
                     (long long)row->length);
    } else {
        int64_t left = r->content_length >= 0 ? r->content_length : row->length - u->offset;
        e = upload_open(r, u, left);
    }
    if (e) /* refused before a byte: let it go now, for the client's next request */
        blob_partial_close(TAKE_PTR(u->blob));
    return e;
}

static enum err patch_reply(struct req *r)
{
    struct tus_req *t = r->state;
    add_progress(r, t);
    /* More PATCHes follow on this connection: keep it (req_send). */
    r->keep_alive = !t->up.out.id;
    return req_reply_empty(r, 204);
}

static enum err patch_end(struct req *r)
{
    struct tus_req *t = r->state;
    enum err e = verify(r, t);
    if (e)
        return e;
    return upload_end(r, &t->up, patch_reply);
}

const struct stream_ops api_tus_patch_ops = {patch_begin, data, patch_end, abort_};

/* --- DELETE /api/v1/uploads/{id}: termination (ROUTE_WORKER: unlinks) --- */

enum err api_tus_delete(struct req *r)
{
    struct upload_row row;
    enum err e = open_upload(r, &row);
    if (e)
        return e;
    if (row.archive_id) { /* complete: the record of it goes, its archive stays */
        e = store_upload_delete(r->app->store, row.id);
        return e && e != ERR_NOT_FOUND ? e : req_reply_empty(r, 204);
    }
    e = blob_partial_remove(r->app->blobs, row.id);
    if (e == ERR_LOCKED)
        return req_fail(r, ERR_LOCKED, "The upload is receiving bytes right now; try again.");
    if (!e)
        e = store_upload_delete(r->app->store, row.id);
    if (e && e != ERR_NOT_FOUND)
        return e;
    log_info("resumable upload %.8s... of ticket %lld terminated from %s", row.id,
             (long long)row.ticket_number, r->client_ip);
    api_event(r, "upload.failed", row.ticket_number, 0,
              json_pack("{s:s,s:s,s:b}", "name", row.name, "reason", "terminated by the client",
                        "resumable", 1));
    return req_reply_empty(r, 204);
}

/* --- the sweeper --- */

/* Whether the partial upload id still has a row (else its bytes go). */
static bool has_row(const char *id, void *ctx)
{
    struct app *a = ctx;
    bool exists = true; /* when the store cannot say, keep */
    (void)store_upload_exists(a->store, id, &exists);
    return exists;
}

void tus_sweep(struct app *a)
{
    for (int round = 0; round < 100; round++) {
        char(*ids)[UPLOAD_ID_LEN + 1] = NULL;
        size_t n = 0;
        if (store_upload_stale(a->store, now_us(), 100, &ids, &n) != ERR_OK)
            break;
        size_t gone = 0;
        for (size_t i = 0; i < n; i++) {
            if (blob_partial_remove(a->blobs, ids[i]) != ERR_OK)
                continue; /* held by a request right now: next time */
            if (store_upload_delete(a->store, ids[i]) == ERR_OK)
                log_info("resumable upload %.8s... removed: expired, or its ticket or token "
                         "can no longer take it",
                         ids[i]);
            gone++;
        }
        free(ids);
        if (n < 100 || gone == 0)
            break;
    }
    int removed = 0;
    (void)blob_partial_sweep(a->blobs, has_row, a, &removed);
}
