/* schema.c - GET /api/v1/schema/: the OpenAPI document built into the binary. */
#include "api/api.h"
#include "core/embedded.h"

enum err api_schema(struct req *r)
{
    const struct embedded_file *f = embedded_find("openapi.json");
    if (!f)
        return req_fail(r, ERR_INTERNAL, "OpenAPI document missing from the build");
    return req_reply_bytes(r, 200, "application/json", f->data, f->size);
}
