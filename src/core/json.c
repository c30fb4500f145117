/* json.c - JSON request parsing with size and depth limits. */
#include <stdio.h>
#include <string.h>

#include "core/json.h"
#include "core/limits.h"

bool json_depth_ok(const char *buf, size_t len, int max_depth)
{
    int depth = 0;
    bool in_str = false;
    for (size_t i = 0; i < len; i++) {
        char c = buf[i];
        if (in_str) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_str = false;
            continue;
        }
        if (c == '"') {
            in_str = true;
        } else if (c == '[' || c == '{') {
            if (++depth > max_depth)
                return false;
        } else if (c == ']' || c == '}') {
            depth--;
        }
    }
    return true;
}

enum err json_parse_body(const char *buf, size_t len, json_t **ret, char *errbuf, size_t errlen)
{
    if (len > LIMIT_JSON_BODY) {
        snprintf(errbuf, errlen, "Request body is too large.");
        return ERR_TOO_LARGE;
    }
    size_t i = 0;
    while (i < len && (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\r' || buf[i] == '\n'))
        i++;
    if (i == len) {
        json_t *o = json_object();
        if (!o)
            return ERR_NOMEM;
        *ret = o;
        return ERR_OK;
    }
    if (memchr(buf, 0, len)) {
        snprintf(errbuf, errlen, "JSON parse error - NUL byte in input");
        return ERR_BAD_JSON;
    }
    if (!json_depth_ok(buf, len, LIMIT_JSON_DEPTH)) {
        snprintf(errbuf, errlen, "JSON parse error - nesting deeper than %d levels",
                 LIMIT_JSON_DEPTH);
        return ERR_BAD_JSON;
    }
    json_error_t jerr;
    json_t *j = json_loadb(buf, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
    if (!j) {
        snprintf(errbuf, errlen, "JSON parse error - %s (line %d, column %d)", jerr.text, jerr.line,
                 jerr.column);
        return ERR_BAD_JSON;
    }
    *ret = j;
    return ERR_OK;
}

const char *json_type_pyname(const json_t *j)
{
    switch (json_typeof(j)) {
    case JSON_OBJECT:
        return "dict";
    case JSON_ARRAY:
        return "list";
    case JSON_STRING:
        return "str";
    case JSON_INTEGER:
        return "int";
    case JSON_REAL:
        return "float";
    case JSON_TRUE:
    case JSON_FALSE:
        return "bool";
    case JSON_NULL:
        return "NoneType";
    }
    return "unknown";
}

char *json_dump_compact(const json_t *j, size_t *ret_len)
{
    char *s = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(12));
    if (s && ret_len)
        *ret_len = strlen(s);
    return s;
}
