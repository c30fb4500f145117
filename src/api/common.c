/* common.c - helpers shared by the API handlers: times, string fields, list answers. */
#include <stdio.h>
#include <string.h>

#include "api/api.h"
#include "api/query.h"
#include "core/log.h"
#include "core/util.h"

json_t *api_time(int64_t t)
{
    if (t == 0)
        return json_null();
    char buf[40];
    time_format(t, buf);
    return json_string(buf);
}

int api_field_string(struct req *r, const char *name, char *out, size_t outlen, size_t maxlen,
                     bool allow_empty)
{
    json_t *v = json_object_get(r->json, name);
    if (!v)
        return 0;
    if (!json_is_string(v)) {
        req_invalid(r, name, "Not a valid string.");
        return -1;
    }
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    if (n == 0 && !allow_empty) {
        req_invalid(r, name, "This field may not be blank.");
        return -1;
    }
    if (utf8_chars(s, n) > maxlen) {
        req_invalid(r, name, "Ensure this field has no more than %zu characters.", maxlen);
        return -1;
    }
    if (n >= outlen) {
        req_invalid(r, name, "Ensure this field has no more than %zu bytes.", outlen - 1);
        return -1;
    }
    memcpy(out, s, n);
    out[n] = 0;
    return 1;
}

json_t *api_comma_list(const char *list)
{
    json_t *arr = json_array();
    for (const char *p = list; arr && *p;) {
        size_t n = strcspn(p, ",");
        if (n)
            json_array_append_new(arr, json_stringn(p, n));
        p += n + (p[n] == ',');
    }
    return arr;
}

int api_field_bool(struct req *r, const char *name, bool *out)
{
    json_t *v = json_object_get(r->json, name);
    if (!v)
        return 0;
    if (json_is_boolean(v)) {
        *out = json_is_true(v);
        return 1;
    }
    if (json_is_integer(v) && (json_integer_value(v) == 0 || json_integer_value(v) == 1)) {
        *out = json_integer_value(v) == 1;
        return 1;
    }
    if (json_is_string(v) && query_bool(json_string_value(v), out))
        return 1;
    req_invalid(r, name, "Must be a valid boolean.");
    return -1;
}

int api_field_required(struct req *r, const char *name, char *out, size_t outlen, size_t maxlen)
{
    int rc = api_field_string(r, name, out, outlen, maxlen, false);
    if (rc == 0) {
        req_invalid(r, name, "This field is required.");
        return -1;
    }
    return rc;
}

const char *api_query_get(void *ctx, const char *name)
{
    return req_query(ctx, name);
}

struct qs {
    char *buf;
    size_t len, cap;
    bool overflow;
};

static void qs_put(struct qs *q, const char *s, bool encode)
{
    static const char hex[] = "0123456789ABCDEF";
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        bool plain = !encode || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                     (c >= '0' && c <= '9') || strchr("-_.~,", c);
        size_t need = plain ? 1 : 3;
        if (q->len + need + 1 > q->cap) {
            q->overflow = true;
            return;
        }
        if (plain) {
            q->buf[q->len++] = (char)c;
        } else {
            q->buf[q->len++] = '%';
            q->buf[q->len++] = hex[c >> 4];
            q->buf[q->len++] = hex[c & 15];
        }
    }
    q->buf[q->len] = 0;
}

static bool collect_arg(void *cls, const char *key, const char *value)
{
    struct qs *q = cls;
    if (strcmp(key, "limit") == 0 || strcmp(key, "offset") == 0)
        return true;
    qs_put(q, key, true);
    qs_put(q, "=", false);
    qs_put(q, value, true);
    qs_put(q, "&", false);
    return true;
}

/* The list URL with every other argument kept and limit/offset set (offset
 * omitted when 0, as DRF does). NULL-JSON when out of range. */
static json_t *page_url(struct req *r, int64_t limit, int64_t offset)
{
    char buf[LIMIT_URL * 2];
    struct qs q = {.buf = buf, .cap = sizeof(buf)};
    char base[512];
    req_base_url(r, base, sizeof(base));
    qs_put(&q, base, false);
    qs_put(&q, r->path, false);
    qs_put(&q, "/?", false);
    req_query_each(r, collect_arg, &q);
    char tail[64];
    if (offset > 0)
        snprintf(tail, sizeof(tail), "limit=%lld&offset=%lld", (long long)limit, (long long)offset);
    else
        snprintf(tail, sizeof(tail), "limit=%lld", (long long)limit);
    qs_put(&q, tail, false);
    if (q.overflow)
        return json_null();
    return json_string(buf);
}

enum err api_reply_list(struct req *r, json_t *items, bool paginated, int64_t total, int64_t limit,
                        int64_t offset)
{
    if (!items)
        return ERR_NOMEM;
    if (!paginated)
        return req_reply_json(r, 200, items);
    json_t *next = offset + limit < total ? page_url(r, limit, offset + limit) : json_null();
    json_t *prev = json_null();
    if (offset > 0)
        prev = page_url(r, limit, offset - limit > 0 ? offset - limit : 0);
    json_t *body = json_pack("{s:I,s:o,s:o,s:o}", "count", (json_int_t)total, "next", next,
                             "previous", prev, "results", items);
    if (!body)
        return ERR_NOMEM;
    return req_reply_json(r, 200, body);
}
