/* json.h - JSON request parsing with size and depth limits (jansson underneath). */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/err.h"

/* True when the nesting depth of arrays/objects in buf (strings skipped) never
 * exceeds max_depth. Does not validate the JSON otherwise. */
bool json_depth_ok(const char *buf, size_t len, int max_depth);

/*
 * Parses a request body. Empty (or all-whitespace) input gives an empty object.
 * Errors: ERR_TOO_LARGE over LIMIT_JSON_BODY; ERR_BAD_JSON for malformed input,
 * nesting deeper than LIMIT_JSON_DEPTH, or NUL bytes — errbuf then holds the
 * client-facing detail ("JSON parse error - ..."). *ret is a new reference.
 */
enum err json_parse_body(const char *buf, size_t len, json_t **ret, char *errbuf, size_t errlen);

/* The Python type name of j as DRF reports it: "dict", "list", "str", "int",
 * "float", "bool", "NoneType". */
const char *json_type_pyname(const json_t *j);

/* Compact UTF-8 serialization; caller frees. NULL on out of memory. */
char *json_dump_compact(const json_t *j, size_t *ret_len);
