/* query.h - query-string parsing for list filters and pagination, independent of HTTP. */
#pragma once

#include <jansson.h>

#include "core/err.h"
#include "store/store.h"

/* Looks a query argument up by name; NULL when absent. */
typedef const char *(*query_get_fn)(void *ctx, const char *name);

/*
 * Fills f from the query arguments of GET /api/v1/tickets/ (see docs/api.md),
 * one per row of store_ticket_filters, parsed by its kind.
 * Strings in f point into the values get() returned. On a malformed value
 * returns ERR_VALIDATION and *ret_errors (a new object) holds
 * {"param": ["message"]} for every bad parameter.
 */
enum err query_ticket_filter(query_get_fn get, void *ctx, struct ticket_filter *f,
                             json_t **ret_errors);

/*
 * limit/offset pagination: *ret_paginated is true when either was given; then
 * *ret_limit is in 1..LIMIT_PAGE_MAX (default LIMIT_PAGE_DEFAULT) and
 * *ret_offset >= 0. ERR_VALIDATION for bad values, which are added to
 * *ret_errors (created when NULL), so errors of several calls add up.
 */
enum err query_page(query_get_fn get, void *ctx, bool *ret_paginated, int64_t *ret_limit,
                    int64_t *ret_offset, json_t **ret_errors);

/*
 * Fills f from the query arguments of GET /api/v1/archives/, one per row of
 * store_archive_filters: id, id__in, ticket, ticket__in (numbers), their
 * __lte/__gte bounds, and time_create with __lte/__gte (see query_time). Bad values are added to
 * *ret_errors as query_page does; ERR_VALIDATION when this call added any.
 */
enum err query_archive_filter(query_get_fn get, void *ctx, struct archive_filter *f,
                              json_t **ret_errors);

/* Fills f from the query arguments of GET /api/v1/events/, one per row of
 * store_event_filters (id, ticket, archive, actor, kind, kind__startswith,
 * time with __gte/__lte). Errors as query_archive_filter. */
enum err query_event_filter(query_get_fn get, void *ctx, struct event_filter *f,
                            json_t **ret_errors);

/* A time filter value: an RFC 3339 instant (*ret_start == *ret_end), or a date
 * YYYY-MM-DD meaning that whole day in TZ (midnight to the next midnight, so a
 * day with a DST change lasts 23 or 25 hours). False for anything else. */
bool query_time(const char *v, int64_t *ret_start, int64_t *ret_end);

/* Parses "1,2,3" (spaces allowed around items, max LIMIT_FILTER_IN items, at
 * least one) into s. False on junk. */
bool query_int_list(const char *v, struct int_set *s);

/* Parses a boolean filter value: true/True/1, false/False/0. */
bool query_bool(const char *v, bool *ret);

enum range_result {
    RANGE_NONE = 0,      /* no usable Range: send the whole file (200) */
    RANGE_OK,            /* one satisfiable range [*start, *end] (206) */
    RANGE_UNSATISFIABLE, /* 416 with Content-Range: bytes * /size */
};

/* Parses a Range header against a file of `size` bytes. Only one "bytes="
 * range is honoured; a list of several, another unit or junk gives RANGE_NONE
 * (RFC 9110 allows ignoring Range). Suffix ranges ("-500") and open ranges
 * ("100-") are supported; end is clamped to size-1. */
enum range_result query_range(const char *h, int64_t size, int64_t *start, int64_t *end);
