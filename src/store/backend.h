/* backend.h - the vtable a store backend fills in; store.c dispatches every store.h call to it. */
#pragma once

#include "store/store.h"

/*
 * A backend defines its own handle type whose FIRST member is a struct store,
 * so that store.c can reach the vtable and the backend can cast back:
 *
 *     struct sqlite_store { struct store base; ... };
 *
 * Every entry has exactly the contract of the store.h function of the same name
 * (without the store_ prefix); store.c has already checked that s and the
 * mandatory pointers are not NULL. Adding a backend means one new
 * `const struct store_ops` and one row in store.c's scheme table.
 */
struct store_ops {
    const char *name; /* for logs: "sqlite", "postgresql" */

    /* Opens the store named by url (the whole URL, scheme included). ERR_CONFIG
     * for a malformed URL, ERR_UNAVAILABLE when the database cannot be reached;
     * both logged. */
    enum err (*open)(const char *url, const struct store_options *opt, struct store **ret_store);
    void (*close)(struct store *s);
    enum err (*migrate)(struct store *s, int *ret_applied);
    enum err (*schema_version)(struct store *s, int *ret_version);
    enum err (*ping)(struct store *s);

    enum err (*user_create)(struct store *s, const struct user *u, int64_t *ret_id);
    enum err (*user_get)(struct store *s, const char *username, struct user *ret);
    enum err (*user_get_by_id)(struct store *s, int64_t id, struct user *ret);
    enum err (*user_set_password)(struct store *s, const char *username, const char *hash);
    enum err (*user_touch_login)(struct store *s, int64_t id, int64_t now);
    enum err (*user_delete)(struct store *s, const char *username);
    enum err (*user_list)(struct store *s, struct user **ret_items, size_t *ret_n);
    enum err (*user_count)(struct store *s, int64_t *ret_n);

    enum err (*platform_list)(struct store *s, struct platform **ret_items, size_t *ret_n);
    enum err (*platform_get)(struct store *s, const char *name, struct platform *ret);
    enum err (*platform_create)(struct store *s, const struct platform *p, struct platform *ret);
    enum err (*platform_update)(struct store *s, const char *name, const struct platform *p,
                                struct platform *ret);
    enum err (*platform_delete)(struct store *s, const char *name, struct path_list *ret_paths);

    enum err (*ticket_list)(struct store *s, const struct ticket_filter *f,
                            struct ticket **ret_items, size_t *ret_n, int64_t *ret_total);
    enum err (*ticket_get)(struct store *s, int64_t number, struct ticket *ret);
    enum err (*ticket_get_by_token)(struct store *s, const char *token, struct ticket *ret);
    enum err (*ticket_create)(struct store *s, const struct ticket *t, struct ticket *ret);
    enum err (*ticket_update)(struct store *s, int64_t number, const struct ticket *t,
                              struct ticket *ret);
    enum err (*ticket_set_token)(struct store *s, int64_t number, const char *token, int attempts,
                                 int64_t expires_at, struct ticket *ret);
    enum err (*ticket_delete)(struct store *s, int64_t number, struct path_list *ret_paths);

    enum err (*token_check)(struct store *s, const char *token, int64_t now,
                            enum token_state *ret_state, struct ticket *ret);
    enum err (*token_consume)(struct store *s, const char *token, int64_t now,
                              enum token_state *ret_state, struct ticket *ret);

    enum err (*archive_create)(struct store *s, const struct archive *a, struct archive *ret);
    enum err (*archive_get)(struct store *s, int64_t id, struct archive *ret);
    enum err (*archive_list)(struct store *s, const struct archive_filter *f,
                             struct archive **ret_items, size_t *ret_n, int64_t *ret_total);
    enum err (*archive_move)(struct store *s, int64_t id, int64_t new_ticket_number,
                             const char *new_path, const char *new_name, struct archive *ret);
    enum err (*archive_delete)(struct store *s, int64_t id, char *ret_path);
    enum err (*archive_path_exists)(struct store *s, const char *path, bool *ret);
    enum err (*archive_each)(struct store *s, void (*fn)(const struct archive *a, void *ctx),
                             void *ctx);

    enum err (*counts)(struct store *s, struct store_counts *ret);
    enum err (*import_begin)(struct store *s);
    enum err (*import_commit)(struct store *s);
    void (*import_rollback)(struct store *s);
    enum err (*import_user)(struct store *s, const struct user *u);
    enum err (*import_platform)(struct store *s, const struct platform *p);
    enum err (*import_ticket)(struct store *s, const struct ticket *t);
    enum err (*import_archive)(struct store *s, const struct archive *a);
    enum err (*import_finish)(struct store *s);
};

/* Helpers shared by the backends (store.c). */

/* The state of a ticket's token at time now, in the order of DESIGN.md 6:
 * resolved, used up, expired (an unknown token has no ticket to ask). */
enum token_state store_token_classify(const struct ticket *t, int64_t now);

/* The common head of every backend's handle. */
struct store {
    const struct store_ops *ops;
};

extern const struct store_ops sqlite_store_ops;
extern const struct store_ops pg_store_ops;
