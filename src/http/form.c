/* form.c - multipart/form-data through libmicrohttpd's post processor (see form.h). */
#include <microhttpd.h>
#include <stdlib.h>

#include "http/form.h"
#include "http/req.h"

struct req_form {
    struct MHD_PostProcessor *pp;
    form_part_fn fn;
    void *ctx;
    enum err err; /* the part callback's, when it stopped the parse */
};

/* libmicrohttpd hands over NULL for a field name it could not read; the
 * callback always gets a string. */
static enum MHD_Result iterate(void *cls, enum MHD_ValueKind kind, const char *key,
                               const char *filename, const char *content_type,
                               const char *transfer_encoding, const char *data, uint64_t off,
                               size_t size)
{
    struct req_form *f = cls;
    (void)kind;
    (void)content_type;
    (void)transfer_encoding;
    enum err e = f->fn(f->ctx, key ? key : "", filename, size ? data : NULL, off, size);
    if (e) {
        f->err = e;
        return MHD_NO;
    }
    return MHD_YES;
}

enum err req_form_new(struct req *r, size_t buffer, form_part_fn fn, void *ctx,
                      struct req_form **ret)
{
    struct req_form *f = calloc(1, sizeof(*f));
    if (!f)
        return ERR_NOMEM;
    f->fn = fn;
    f->ctx = ctx;
    f->pp = MHD_create_post_processor(r->conn, buffer < 256 ? 256 : buffer, iterate, f);
    if (!f->pp) {
        free(f);
        return ERR_BAD_REQUEST;
    }
    *ret = f;
    return ERR_OK;
}

enum err req_form_feed(struct req_form *f, const char *data, size_t len)
{
    if (f->err)
        return f->err;
    if (MHD_post_process(f->pp, data, len) != MHD_YES)
        return f->err ? f->err : ERR_BAD_REQUEST;
    return ERR_OK;
}

enum err req_form_end(struct req_form *f)
{
    enum MHD_Result ok = MHD_destroy_post_processor(f->pp);
    enum err e = f->err;
    free(f);
    if (e)
        return e;
    return ok == MHD_YES ? ERR_OK : ERR_BAD_REQUEST;
}

void req_form_free(struct req_form *f)
{
    if (!f)
        return;
    MHD_destroy_post_processor(f->pp);
    free(f);
}
