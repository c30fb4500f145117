/* query.c - list filters and pagination from query arguments. */
#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "api/query.h"
#include "core/limits.h"
#include "core/util.h"

static void add_error(json_t **errs, const char *name, const char *msg)
{
    if (!*errs)
        *errs = json_object();
    if (*errs)
        json_object_set_new(*errs, name, json_pack("[s]", msg));
}

bool query_int_list(const char *v, struct int_set *s)
{
    s->n = 0;
    s->set = false;
    const char *p = v;
    while (*p) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        char item[32];
        while (len && *p == ' ') {
            p++;
            len--;
        }
        while (len && p[len - 1] == ' ')
            len--;
        if (len == 0 || len >= sizeof(item) || s->n == LIMIT_FILTER_IN)
            return false;
        memcpy(item, p, len);
        item[len] = 0;
        if (!parse_int64(item, &s->v[s->n]))
            return false;
        s->n++;
        if (!e)
            break;
        p = e + 1;
        if (!*p)
            return false; /* trailing comma */
    }
    if (s->n == 0)
        return false;
    s->set = true;
    return true;
}

bool query_bool(const char *v, bool *ret)
{
    if (strcasecmp(v, "true") == 0 || strcmp(v, "1") == 0) {
        *ret = true;
        return true;
    }
    if (strcasecmp(v, "false") == 0 || strcmp(v, "0") == 0) {
        *ret = false;
        return true;
    }
    return false;
}

/* Sets the bound b to v unless it already is tighter (upper: a maximum). */
static void tighten(struct int_bound *b, int64_t v, bool upper)
{
    if (!b->set || (upper ? v < b->v : v > b->v))
        b->v = v;
    b->set = true;
}

/* A FILTER_TIME value of field f: an instant sets its own field (for FILTER_EQ
 * exactly that time); a date is that whole day in TZ, so it tightens the
 * start bound (FILTER_GTE fields of the column) and the end bound (FILTER_LTE
 * fields), as the field's op says, FILTER_EQ both. */
static void parse_time(const struct store_filter_table *t, const struct store_filter_field *f,
                       const char *v, void *filter, json_t **errs)
{
    int64_t from, to;
    if (!query_time(v, &from, &to)) {
        add_error(errs, f->param, "Enter a valid date/time.");
        return;
    }
    if (f->op == FILTER_EQ && from == to) {
        struct int_bound *b = (struct int_bound *)((char *)filter + f->offset);
        b->set = true;
        b->v = from;
        return;
    }
    for (size_t i = 0; i < t->n; i++) {
        const struct store_filter_field *g = &t->fields[i];
        struct int_bound *b = (struct int_bound *)((char *)filter + g->offset);
        if (g->kind != FILTER_TIME || strcmp(g->column, f->column) != 0)
            continue;
        if (g->op == FILTER_GTE && f->op != FILTER_LTE)
            tighten(b, from, false);
        if (g->op == FILTER_LTE && f->op != FILTER_GTE)
            tighten(b, to, true);
    }
}

/* Parses every parameter of table t that get() finds (empty values are
 * ignored) into its field of filter, by kind; each bad value adds its message
 * to *errs (created when NULL). */
static void parse_filters(const struct store_filter_table *t, query_get_fn get, void *ctx,
                          void *filter, json_t **errs)
{
    for (size_t i = 0; i < t->n; i++) {
        const struct store_filter_field *f = &t->fields[i];
        void *field = (char *)filter + f->offset;
        const char *v = get(ctx, f->param);
        bool b;
        if (!v || !*v)
            continue;
        switch (f->kind) {
        case FILTER_IN:
            if (!query_int_list(v, field))
                add_error(errs, f->param, "Enter a comma-separated list of whole numbers.");
            break;
        case FILTER_INT:
        case FILTER_YEAR:
        case FILTER_MONTH:
            if (parse_int64(v, &((struct int_bound *)field)->v))
                ((struct int_bound *)field)->set = true;
            else
                add_error(errs, f->param, "Enter a number.");
            break;
        case FILTER_TIME:
            parse_time(t, f, v, filter, errs);
            break;
        case FILTER_BOOL:
            if (query_bool(v, &b))
                *(int *)field = b;
            else
                add_error(
                    errs, f->param,
                    "Select a valid choice. That choice is not one of the available choices.");
            break;
        case FILTER_CONTAINS:
        case FILTER_TEXT:
        case FILTER_PREFIX:
        case FILTER_REF:
            if (strlen(v) > LIMIT_FILTER_TEXT)
                add_error(errs, f->param, "Ensure this value has at most 64 characters.");
            else
                *(const char **)field = v;
            break;
        }
    }
}

enum err query_ticket_filter(query_get_fn get, void *ctx, struct ticket_filter *f,
                             json_t **ret_errors)
{
    json_t *errs = NULL;
    store_ticket_filter_init(f);
    parse_filters(&store_ticket_filters, get, ctx, f, &errs);
    if (errs) {
        *ret_errors = errs;
        return ERR_VALIDATION;
    }
    return ERR_OK;
}

enum err query_page(query_get_fn get, void *ctx, bool *ret_paginated, int64_t *ret_limit,
                    int64_t *ret_offset, json_t **ret_errors)
{
    const char *l = get(ctx, "limit"), *o = get(ctx, "offset");
    int64_t limit = LIMIT_PAGE_DEFAULT, offset = 0;
    bool bad = false;
    if (l && (!parse_int64(l, &limit) || limit < 1)) {
        add_error(ret_errors, "limit", "Ensure this value is a positive integer.");
        bad = true;
    }
    if (o && (!parse_int64(o, &offset) || offset < 0)) {
        add_error(ret_errors, "offset", "Ensure this value is a non-negative integer.");
        bad = true;
    }
    if (bad)
        return ERR_VALIDATION;
    if (limit > LIMIT_PAGE_MAX)
        limit = LIMIT_PAGE_MAX;
    *ret_paginated = l || o;
    *ret_limit = limit;
    *ret_offset = offset;
    return ERR_OK;
}

/* Reads a run of digits at *p as a non-negative number that saturates at
 * INT64_MAX (a position past any file is as good as the largest one); moves
 * *p past it. False when there is no digit. */
static bool range_number(const char **p, int64_t *ret)
{
    const char *s = *p;
    int64_t v = 0;
    if (*s < '0' || *s > '9')
        return false;
    for (; *s >= '0' && *s <= '9'; s++) {
        int d = *s - '0';
        v = v > (INT64_MAX - d) / 10 ? INT64_MAX : v * 10 + d;
    }
    *p = s;
    *ret = v;
    return true;
}

enum range_result query_range(const char *h, int64_t size, int64_t *start, int64_t *end)
{
    if (!h || strncasecmp(h, "bytes=", 6) != 0)
        return RANGE_NONE;
    const char *p = h + 6;
    while (*p == ' ')
        p++;
    if (strchr(p, ','))
        return RANGE_NONE; /* several ranges: the whole file, as RFC 9110 allows */
    int64_t s = -1, e = -1;
    bool has_s = range_number(&p, &s);
    if (*p++ != '-')
        return RANGE_NONE;
    bool has_e = range_number(&p, &e);
    while (*p == ' ')
        p++;
    if (*p || (!has_s && !has_e) || (has_s && has_e && e < s))
        return RANGE_NONE;
    if (!has_s) { /* suffix: the last e bytes */
        if (e == 0 || size == 0)
            return RANGE_UNSATISFIABLE;
        *start = e >= size ? 0 : size - e;
        *end = size - 1;
        return RANGE_OK;
    }
    if (s >= size)
        return RANGE_UNSATISFIABLE;
    *start = s;
    *end = !has_e || e >= size ? size - 1 : e;
    return RANGE_OK;
}

bool query_time(const char *v, int64_t *ret_start, int64_t *ret_end)
{
    if (time_parse(v, ret_start)) {
        *ret_end = *ret_start;
        return true;
    }
    int y, m, d;
    char tail;
    if (strlen(v) != 10 || sscanf(v, "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3)
        return false;
    struct tm tm = {.tm_year = y - 1900, .tm_mon = m - 1, .tm_mday = d, .tm_isdst = -1};
    time_t from = mktime(&tm);
    if (from == (time_t)-1 || tm.tm_mday != d)
        return false;
    struct tm next = {.tm_year = y - 1900, .tm_mon = m - 1, .tm_mday = d + 1, .tm_isdst = -1};
    time_t to = mktime(&next);
    *ret_start = (int64_t)from * 1000000;
    *ret_end = (int64_t)to * 1000000 - 1;
    return true;
}

/* parse_filters adding to *ret_errors: ERR_VALIDATION when this call added any. */
static enum err add_filters(const struct store_filter_table *t, query_get_fn get, void *ctx,
                            void *filter, json_t **ret_errors)
{
    size_t before = *ret_errors ? json_object_size(*ret_errors) : 0;
    parse_filters(t, get, ctx, filter, ret_errors);
    bool grew = *ret_errors && json_object_size(*ret_errors) > before;
    return grew ? ERR_VALIDATION : ERR_OK;
}

enum err query_event_filter(query_get_fn get, void *ctx, struct event_filter *f,
                            json_t **ret_errors)
{
    store_event_filter_init(f);
    return add_filters(&store_event_filters, get, ctx, f, ret_errors);
}

enum err query_archive_filter(query_get_fn get, void *ctx, struct archive_filter *f,
                              json_t **ret_errors)
{
    store_archive_filter_init(f);
    return add_filters(&store_archive_filters, get, ctx, f, ret_errors);
}
