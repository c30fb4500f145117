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

static void int_list(query_get_fn get, void *ctx, const char *name, struct int_set *s,
                     json_t **errs)
{
    const char *v = get(ctx, name);
    if (v && *v && !query_int_list(v, s))
        add_error(errs, name, "Enter a comma-separated list of whole numbers.");
}

static void bound(query_get_fn get, void *ctx, const char *name, struct int_bound *b, json_t **errs)
{
    const char *v = get(ctx, name);
    if (!v || !*v)
        return;
    if (!parse_int64(v, &b->v)) {
        add_error(errs, name, "Enter a number.");
        return;
    }
    b->set = true;
}

static void text(query_get_fn get, void *ctx, const char *name, const char **out, json_t **errs)
{
    const char *v = get(ctx, name);
    if (!v || !*v)
        return;
    if (strlen(v) > LIMIT_FILTER_TEXT) {
        add_error(errs, name, "Ensure this value has at most 64 characters.");
        return;
    }
    *out = v;
}

enum err query_ticket_filter(query_get_fn get, void *ctx, struct ticket_filter *f,
                             json_t **ret_errors)
{
    json_t *errs = NULL;
    ticket_filter_init(f);
    int_list(get, ctx, "number", &f->number, &errs);
    int_list(get, ctx, "number__in", &f->number_in, &errs);
    text(get, ctx, "number__contains", &f->number_contains, &errs);
    bound(get, ctx, "number__lte", &f->number_lte, &errs);
    bound(get, ctx, "number__gte", &f->number_gte, &errs);
    int_list(get, ctx, "id", &f->id, &errs);
    int_list(get, ctx, "id__in", &f->id_in, &errs);
    bound(get, ctx, "id__lte", &f->id_lte, &errs);
    bound(get, ctx, "id__gte", &f->id_gte, &errs);
    const char *res = get(ctx, "resolved");
    if (res && *res) {
        bool b;
        if (query_bool(res, &b))
            f->resolved = b;
        else
            add_error(&errs, "resolved",
                      "Select a valid choice. That choice is not one of the available choices.");
    }
    text(get, ctx, "user", &f->user, &errs);
    bound(get, ctx, "year__lte", &f->year_lte, &errs);
    bound(get, ctx, "year__gte", &f->year_gte, &errs);
    bound(get, ctx, "month__lte", &f->month_lte, &errs);
    bound(get, ctx, "month__gte", &f->month_gte, &errs);
    text(get, ctx, "search", &f->search, &errs);
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

static void tighten(struct int_bound *b, int64_t v, bool upper)
{
    if (!b->set || (upper ? v < b->v : v > b->v))
        b->v = v;
    b->set = true;
}

enum err query_archive_filter(query_get_fn get, void *ctx, struct archive_filter *f,
                              json_t **ret_errors)
{
    json_t *before = *ret_errors;
    size_t nbefore = before ? json_object_size(before) : 0;
    archive_filter_init(f);
    int_list(get, ctx, "id", &f->id, ret_errors);
    int_list(get, ctx, "id__in", &f->id_in, ret_errors);
    int_list(get, ctx, "ticket", &f->ticket, ret_errors);
    int_list(get, ctx, "ticket__in", &f->ticket_in, ret_errors);
    bound(get, ctx, "id__lte", &f->id_lte, ret_errors);
    bound(get, ctx, "id__gte", &f->id_gte, ret_errors);
    bound(get, ctx, "ticket__lte", &f->ticket_lte, ret_errors);
    bound(get, ctx, "ticket__gte", &f->ticket_gte, ret_errors);
    static const char *const times[] = {"time_create", "time_create__gte", "time_create__lte"};
    for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
        const char *v = get(ctx, times[i]);
        int64_t from, to;
        if (!v || !*v)
            continue;
        if (!query_time(v, &from, &to)) {
            add_error(ret_errors, times[i], "Enter a valid date/time.");
            continue;
        }
        if (i == 0 && from == to) { /* an instant: exactly then */
            f->time_create.set = true;
            f->time_create.v = from;
            continue;
        }
        if (i != 2)
            tighten(&f->time_create_gte, from, false);
        if (i != 1)
            tighten(&f->time_create_lte, to, true);
    }
    bool grew = *ret_errors && json_object_size(*ret_errors) > nbefore;
    return grew ? ERR_VALIDATION : ERR_OK;
}
