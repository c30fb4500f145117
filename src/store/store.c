/* store.c - picks the backend from the DB_URL scheme, forwards store.h calls, shared helpers. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/log.h"
#include "store/backend.h"

/* URL schemes and the backend serving them. */
static const struct {
    const char *scheme; /* without "://" */
    const struct store_ops *ops;
} backends[] = {
    {"sqlite", &sqlite_store_ops}, /* the embedded default */
    {"postgres", &pg_store_ops},   /* libpq's URI schemes */
    {"postgresql", &pg_store_ops}, /* (the canonical one) */
    {"psql", &pg_store_ops},       /* the reference's spellings */
    {"pgsql", &pg_store_ops},      /* and its alias */
};

#define NBACKENDS (sizeof(backends) / sizeof(backends[0]))

/* The body of a store.h wrapper: ERR_INTERNAL (a caller bug) when s or one of
 * the mandatory arguments tested by nonnull is NULL, else the result of the
 * backend's entry op called with s and the remaining arguments. */
#define FORWARD(op, nonnull, ...)                                                                  \
    return (s && (nonnull)) ? s->ops->op(s, __VA_ARGS__) : ERR_INTERNAL

/* Opens the store named by url: the scheme (case-insensitive) selects the
 * backend, which parses the rest. ERR_CONFIG (logged) for a NULL/unknown URL,
 * otherwise the backend's result. */
enum err store_open(const char *url, const struct store_options *opt, struct store **ret_store)
{
    if (!url || !ret_store) {
        log_error("store: no database URL");
        return ERR_CONFIG;
    }
    const char *sep = strstr(url, "://");
    if (sep) {
        size_t len = (size_t)(sep - url);
        for (size_t i = 0; i < NBACKENDS; i++) {
            if (strlen(backends[i].scheme) != len || strncasecmp(url, backends[i].scheme, len))
                continue;
            struct store_options defaults = {0};
            return backends[i].ops->open(url, opt ? opt : &defaults, ret_store);
        }
    }
    /* The URL may carry a password: name only the scheme part. */
    log_error("store: unsupported DB_URL scheme \"%.*s\" (expected sqlite:///path or "
              "postgres://...)",
              sep ? (int)(sep - url) : 0, url);
    return ERR_CONFIG;
}

void store_close(struct store *s)
{
    if (s)
        s->ops->close(s);
}

enum err store_migrate(struct store *s, int *ret_applied)
{
    FORWARD(migrate, true, ret_applied);
}

enum err store_schema_version(struct store *s, int *ret_version)
{
    FORWARD(schema_version, ret_version, ret_version);
}

enum err store_ping(struct store *s)
{
    if (!s)
        return ERR_UNAVAILABLE;
    return s->ops->ping(s);
}

/* --- users --- */

enum err store_user_create(struct store *s, const struct user *u, int64_t *ret_id)
{
    FORWARD(user_create, u, u, ret_id);
}

enum err store_user_get(struct store *s, const char *username, struct user *ret)
{
    FORWARD(user_get, username && ret, username, ret);
}

enum err store_user_get_by_id(struct store *s, int64_t id, struct user *ret)
{
    FORWARD(user_get_by_id, ret, id, ret);
}

enum err store_user_set_password(struct store *s, const char *username, const char *hash)
{
    FORWARD(user_set_password, username && hash, username, hash);
}

enum err store_user_touch_login(struct store *s, int64_t id, int64_t now)
{
    FORWARD(user_touch_login, true, id, now);
}

enum err store_user_delete(struct store *s, const char *username)
{
    FORWARD(user_delete, username, username);
}

enum err store_user_list(struct store *s, struct user **ret_items, size_t *ret_n)
{
    FORWARD(user_list, ret_items && ret_n, ret_items, ret_n);
}

enum err store_user_count(struct store *s, int64_t *ret_n)
{
    FORWARD(user_count, ret_n, ret_n);
}

/* --- platforms --- */

enum err store_platform_list(struct store *s, struct platform **ret_items, size_t *ret_n)
{
    FORWARD(platform_list, ret_items && ret_n, ret_items, ret_n);
}

enum err store_platform_get(struct store *s, const char *name, struct platform *ret)
{
    FORWARD(platform_get, name && ret, name, ret);
}

enum err store_platform_create(struct store *s, const struct platform *p, struct platform *ret)
{
    FORWARD(platform_create, p, p, ret);
}

enum err store_platform_update(struct store *s, const char *name, const struct platform *p,
                               struct platform *ret)
{
    FORWARD(platform_update, name && p, name, p, ret);
}

enum err store_platform_delete(struct store *s, const char *name, struct path_list *ret_paths)
{
    FORWARD(platform_delete, name, name, ret_paths);
}

/* --- tickets --- */

enum err store_ticket_list(struct store *s, const struct ticket_filter *f,
                           struct ticket **ret_items, size_t *ret_n, int64_t *ret_total)
{
    FORWARD(ticket_list, f && ret_items && ret_n, f, ret_items, ret_n, ret_total);
}

enum err store_ticket_get(struct store *s, int64_t number, struct ticket *ret)
{
    FORWARD(ticket_get, ret, number, ret);
}

enum err store_ticket_get_by_token(struct store *s, const char *token, struct ticket *ret)
{
    FORWARD(ticket_get_by_token, token && ret, token, ret);
}

enum err store_ticket_create(struct store *s, const struct ticket *t, struct ticket *ret)
{
    FORWARD(ticket_create, t, t, ret);
}

enum err store_ticket_update(struct store *s, int64_t number, const struct ticket *t,
                             struct ticket *ret)
{
    FORWARD(ticket_update, t, number, t, ret);
}

enum err store_ticket_set_token(struct store *s, int64_t number, const char *token, int attempts,
                                int64_t expires_at, struct ticket *ret)
{
    FORWARD(ticket_set_token, token, number, token, attempts, expires_at, ret);
}

enum err store_ticket_delete(struct store *s, int64_t number, struct path_list *ret_paths)
{
    FORWARD(ticket_delete, true, number, ret_paths);
}

/* --- upload tokens and archives --- */

enum err store_token_check(struct store *s, const char *token, int64_t now,
                           enum token_state *ret_state, struct ticket *ret)
{
    FORWARD(token_check, token && ret_state, token, now, ret_state, ret);
}

enum err store_token_consume(struct store *s, const char *token, int64_t now,
                             enum token_state *ret_state, struct ticket *ret)
{
    FORWARD(token_consume, token && ret_state, token, now, ret_state, ret);
}

enum err store_archive_create(struct store *s, const struct archive *a, struct archive *ret)
{
    FORWARD(archive_create, a, a, ret);
}

enum err store_archive_get(struct store *s, int64_t id, struct archive *ret)
{
    FORWARD(archive_get, ret, id, ret);
}

enum err store_archive_list(struct store *s, const struct archive_filter *f,
                            struct archive **ret_items, size_t *ret_n, int64_t *ret_total)
{
    FORWARD(archive_list, f && ret_items && ret_n, f, ret_items, ret_n, ret_total);
}

enum err store_archive_move(struct store *s, int64_t id, int64_t new_ticket_number,
                            const char *new_path, const char *new_name, struct archive *ret)
{
    FORWARD(archive_move, new_path && new_name, id, new_ticket_number, new_path, new_name, ret);
}

enum err store_archive_delete(struct store *s, int64_t id, char *ret_path)
{
    FORWARD(archive_delete, true, id, ret_path);
}

enum err store_archive_path_exists(struct store *s, const char *path, bool *ret)
{
    FORWARD(archive_path_exists, path && ret, path, ret);
}

enum err store_archive_each(struct store *s, void (*fn)(const struct archive *a, void *ctx),
                            void *ctx)
{
    FORWARD(archive_each, fn, fn, ctx);
}

/* --- bulk copy --- */

enum err store_counts(struct store *s, struct store_counts *ret)
{
    FORWARD(counts, ret, ret);
}

enum err store_import_begin(struct store *s)
{
    return s ? s->ops->import_begin(s) : ERR_INTERNAL;
}

enum err store_import_commit(struct store *s)
{
    return s ? s->ops->import_commit(s) : ERR_INTERNAL;
}

void store_import_rollback(struct store *s)
{
    if (s)
        s->ops->import_rollback(s);
}

enum err store_import_user(struct store *s, const struct user *u)
{
    FORWARD(import_user, u, u);
}

enum err store_import_platform(struct store *s, const struct platform *p)
{
    FORWARD(import_platform, p, p);
}

enum err store_import_ticket(struct store *s, const struct ticket *t)
{
    FORWARD(import_ticket, t, t);
}

enum err store_import_archive(struct store *s, const struct archive *a)
{
    FORWARD(import_archive, a, a);
}

enum err store_import_finish(struct store *s)
{
    return s ? s->ops->import_finish(s) : ERR_INTERNAL;
}

/* --- shared helpers --- */

void ticket_filter_init(struct ticket_filter *f)
{
    memset(f, 0, sizeof(*f));
    f->resolved = -1;
    f->limit = -1;
}

void archive_filter_init(struct archive_filter *f)
{
    memset(f, 0, sizeof(*f));
    f->limit = -1;
}

void path_list_free(struct path_list *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->n; i++)
        free(l->paths[i]);
    free(l->paths);
    l->paths = NULL;
    l->n = 0;
}

void ticket_clear(struct ticket *t)
{
    if (!t)
        return;
    free(t->note);
    t->note = NULL;
}

void ticket_list_free(struct ticket *items, size_t n)
{
    if (!items)
        return;
    for (size_t i = 0; i < n; i++)
        free(items[i].note);
    free(items);
}

enum token_state store_token_classify(const struct ticket *t, int64_t now)
{
    if (t->resolved)
        return TOKEN_RESOLVED;
    if (t->attempts <= 0)
        return TOKEN_USED_UP;
    if (t->expires_at && t->expires_at <= now)
        return TOKEN_EXPIRED;
    return TOKEN_OK;
}
