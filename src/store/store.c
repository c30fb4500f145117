/* store.c - picks the backend from the DB_URL scheme, forwards store.h calls, shared helpers. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/log.h"
#include "store/backend.h"

/* URL schemes and the backend serving them; ops NULL: known but not built. */
static const struct {
    const char *scheme; /* without "://" */
    const struct store_ops *ops;
} backends[] = {
    {"sqlite", &sqlite_store_ops},
    {"postgres", NULL},
    {"postgresql", NULL},
    {"psql", NULL},
    {"pgsql", NULL},
};

#define NBACKENDS (sizeof(backends) / sizeof(backends[0]))

/* Opens the store named by url: the scheme (case-insensitive) selects the
 * backend, which parses the rest. ERR_CONFIG (logged) for a NULL/unknown URL or
 * a backend that is not built; otherwise the backend's result. */
enum err store_open(const char *url, struct store **ret_store)
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
            if (!backends[i].ops) {
                log_error("store: the PostgreSQL backend is not built yet (DB_URL scheme "
                          "\"%.*s\"); use sqlite:///path",
                          (int)len, url);
                return ERR_CONFIG;
            }
            return backends[i].ops->open(url, ret_store);
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
    if (!s)
        return ERR_INTERNAL;
    return s->ops->migrate(s, ret_applied);
}

enum err store_schema_version(struct store *s, int *ret_version)
{
    if (!s || !ret_version)
        return ERR_INTERNAL;
    return s->ops->schema_version(s, ret_version);
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
    if (!s || !u)
        return ERR_INTERNAL;
    return s->ops->user_create(s, u, ret_id);
}

enum err store_user_get(struct store *s, const char *username, struct user *ret)
{
    if (!s || !username || !ret)
        return ERR_INTERNAL;
    return s->ops->user_get(s, username, ret);
}

enum err store_user_get_by_id(struct store *s, int64_t id, struct user *ret)
{
    if (!s || !ret)
        return ERR_INTERNAL;
    return s->ops->user_get_by_id(s, id, ret);
}

enum err store_user_set_password(struct store *s, const char *username, const char *hash)
{
    if (!s || !username || !hash)
        return ERR_INTERNAL;
    return s->ops->user_set_password(s, username, hash);
}

enum err store_user_touch_login(struct store *s, int64_t id, int64_t now)
{
    if (!s)
        return ERR_INTERNAL;
    return s->ops->user_touch_login(s, id, now);
}

enum err store_user_delete(struct store *s, const char *username)
{
    if (!s || !username)
        return ERR_INTERNAL;
    return s->ops->user_delete(s, username);
}

enum err store_user_list(struct store *s, struct user **ret_items, size_t *ret_n)
{
    if (!s || !ret_items || !ret_n)
        return ERR_INTERNAL;
    return s->ops->user_list(s, ret_items, ret_n);
}

enum err store_user_count(struct store *s, int64_t *ret_n)
{
    if (!s || !ret_n)
        return ERR_INTERNAL;
    return s->ops->user_count(s, ret_n);
}

/* --- platforms --- */

enum err store_platform_list(struct store *s, struct platform **ret_items, size_t *ret_n)
{
    if (!s || !ret_items || !ret_n)
        return ERR_INTERNAL;
    return s->ops->platform_list(s, ret_items, ret_n);
}

enum err store_platform_get(struct store *s, const char *name, struct platform *ret)
{
    if (!s || !name || !ret)
        return ERR_INTERNAL;
    return s->ops->platform_get(s, name, ret);
}

enum err store_platform_create(struct store *s, const struct platform *p, struct platform *ret)
{
    if (!s || !p)
        return ERR_INTERNAL;
    return s->ops->platform_create(s, p, ret);
}

enum err store_platform_update(struct store *s, const char *name, const struct platform *p,
                               struct platform *ret)
{
    if (!s || !name || !p)
        return ERR_INTERNAL;
    return s->ops->platform_update(s, name, p, ret);
}

enum err store_platform_delete(struct store *s, const char *name, struct path_list *ret_paths)
{
    if (!s || !name)
        return ERR_INTERNAL;
    return s->ops->platform_delete(s, name, ret_paths);
}

/* --- tickets --- */

enum err store_ticket_list(struct store *s, const struct ticket_filter *f,
                           struct ticket **ret_items, size_t *ret_n, int64_t *ret_total)
{
    if (!s || !f || !ret_items || !ret_n)
        return ERR_INTERNAL;
    return s->ops->ticket_list(s, f, ret_items, ret_n, ret_total);
}

enum err store_ticket_get(struct store *s, int64_t number, struct ticket *ret)
{
    if (!s || !ret)
        return ERR_INTERNAL;
    return s->ops->ticket_get(s, number, ret);
}

enum err store_ticket_get_by_token(struct store *s, const char *token, struct ticket *ret)
{
    if (!s || !token || !ret)
        return ERR_INTERNAL;
    return s->ops->ticket_get_by_token(s, token, ret);
}

enum err store_ticket_create(struct store *s, const struct ticket *t, struct ticket *ret)
{
    if (!s || !t)
        return ERR_INTERNAL;
    return s->ops->ticket_create(s, t, ret);
}

enum err store_ticket_update(struct store *s, int64_t number, const struct ticket *t,
                             struct ticket *ret)
{
    if (!s || !t)
        return ERR_INTERNAL;
    return s->ops->ticket_update(s, number, t, ret);
}

enum err store_ticket_set_token(struct store *s, int64_t number, const char *token, int attempts,
                                int64_t expires_at, struct ticket *ret)
{
    if (!s || !token)
        return ERR_INTERNAL;
    return s->ops->ticket_set_token(s, number, token, attempts, expires_at, ret);
}

enum err store_ticket_delete(struct store *s, int64_t number, struct path_list *ret_paths)
{
    if (!s)
        return ERR_INTERNAL;
    return s->ops->ticket_delete(s, number, ret_paths);
}

/* --- upload tokens and archives --- */

enum err store_token_check(struct store *s, const char *token, int64_t now,
                           enum token_state *ret_state, struct ticket *ret)
{
    if (!s || !token || !ret_state)
        return ERR_INTERNAL;
    return s->ops->token_check(s, token, now, ret_state, ret);
}

enum err store_token_consume(struct store *s, const char *token, int64_t now,
                             enum token_state *ret_state, struct ticket *ret)
{
    if (!s || !token || !ret_state)
        return ERR_INTERNAL;
    return s->ops->token_consume(s, token, now, ret_state, ret);
}

enum err store_archive_create(struct store *s, const struct archive *a, struct archive *ret)
{
    if (!s || !a)
        return ERR_INTERNAL;
    return s->ops->archive_create(s, a, ret);
}

enum err store_archive_get(struct store *s, int64_t id, struct archive *ret)
{
    if (!s || !ret)
        return ERR_INTERNAL;
    return s->ops->archive_get(s, id, ret);
}

enum err store_archive_list(struct store *s, const struct archive_filter *f,
                            struct archive **ret_items, size_t *ret_n, int64_t *ret_total)
{
    if (!s || !f || !ret_items || !ret_n)
        return ERR_INTERNAL;
    return s->ops->archive_list(s, f, ret_items, ret_n, ret_total);
}

enum err store_archive_move(struct store *s, int64_t id, int64_t new_ticket_number,
                            const char *new_path, struct archive *ret)
{
    if (!s || !new_path)
        return ERR_INTERNAL;
    return s->ops->archive_move(s, id, new_ticket_number, new_path, ret);
}

enum err store_archive_delete(struct store *s, int64_t id, char *ret_path)
{
    if (!s)
        return ERR_INTERNAL;
    return s->ops->archive_delete(s, id, ret_path);
}

enum err store_archive_path_exists(struct store *s, const char *path, bool *ret)
{
    if (!s || !path || !ret)
        return ERR_INTERNAL;
    return s->ops->archive_path_exists(s, path, ret);
}

enum err store_archive_each(struct store *s, void (*fn)(const struct archive *a, void *ctx),
                            void *ctx)
{
    if (!s || !fn)
        return ERR_INTERNAL;
    return s->ops->archive_each(s, fn, ctx);
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
