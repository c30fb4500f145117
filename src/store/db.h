/* db.h - the thin layer under store.c: a backend gives transactions, numbered statements with typed
 * arguments and typed row reads. */
#pragma once

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

/*
 * store.c writes every store.h operation once, over this interface. A backend
 * (sqlite.c, pg.c) keeps only what really differs: its connections (and how
 * it retries), how it binds arguments and reads columns, the text of the
 * statements where its SQL differs, its migrations.
 *
 * A backend defines its handle with a struct store FIRST, its connection with
 * a struct db_conn first and its row with a struct db_row first, so that
 * store.c reaches the ops through them and the backend casts back.
 */

struct db_ops;

/* --- statements --- */

/*
 * Every fixed statement. store.c holds the portable text of each (db_stmts,
 * "?" placeholders; PostgreSQL's backend numbers them); a backend replaces the
 * text of an id where its dialect differs (db_ops.sql). Adding a statement:
 * one id here, its text in store.c, an override only where the SQL differs.
 */
enum stmt_id {
    ST_PING,
    ST_SCHEMA_EXISTS,     /* one row, one column: non-zero when schema_migrations exists */
    ST_SCHEMA_CREATE,     /* CREATE TABLE IF NOT EXISTS schema_migrations */
    ST_MIGRATE_LOCK,      /* serializes migrating processes until the transaction ends */
    ST_SCHEMA_COUNT,      /* the number of applied migrations */
    ST_MIGRATION_PRESENT, /* version: applied? */
    ST_MIGRATION_DONE,    /* version, time: records it */
    ST_USER_INSERT,
    ST_USER_BY_NAME,
    ST_USER_BY_ID,
    ST_USER_SET_PASSWORD,
    ST_USER_TOUCH,
    ST_USER_DELETE,
    ST_USER_LIST,
    ST_USER_COUNT,
    ST_USER_UPDATE,
    ST_USER_TOTP_BEGIN,
    ST_USER_TOTP_ENABLE,
    ST_USER_TOTP_DISABLE,
    ST_USER_TOTP_ACCEPT,
    ST_BACKUP_DELETE,
    ST_BACKUP_INSERT,
    ST_BACKUP_USE,
    ST_BACKUP_LEFT,
    ST_SESSION_INSERT,
    ST_SESSION_GET,
    ST_SESSION_TOUCH,
    ST_SESSION_DELETE,
    ST_SESSION_DELETE_USER,
    ST_SESSION_PURGE,
    ST_PLATFORM_LIST,
    ST_PLATFORM_GET,
    ST_PLATFORM_ID,
    ST_PLATFORM_LOCK,         /* as ST_PLATFORM_ID, locking the row where rows are locked */
    ST_PLATFORM_LOCK_TICKETS, /* locks the platform's tickets where rows are locked */
    ST_PLATFORM_INSERT,
    ST_PLATFORM_UPDATE,
    ST_PLATFORM_PATHS,
    ST_PLATFORM_DELETE,
    ST_PLATFORM_COUNTS,
    ST_TICKET_BY_NUMBER,
    ST_TICKET_BY_TOKEN,
    ST_TICKET_BY_ID,
    ST_TICKET_ID,
    ST_TICKET_LOCK, /* as ST_TICKET_ID, locking the row where rows are locked */
    ST_TICKET_INSERT,
    ST_TICKET_UPDATE,
    ST_TICKET_SET_TOKEN,
    ST_TICKET_PATHS,
    ST_TICKET_DELETE,
    ST_TOKEN_CONSUME,
    ST_TOKEN_REFUND,
    ST_ARCHIVE_INSERT,
    ST_ARCHIVE_BY_ID,
    ST_ARCHIVE_BY_PATH,
    ST_ARCHIVE_MOVE,
    ST_ARCHIVE_DELETE,
    ST_ARCHIVE_PATH_EXISTS,
    ST_ARCHIVE_PAGE,
    ST_COUNTS,
    ST_IMPORT_USER,
    ST_IMPORT_PLATFORM,
    ST_IMPORT_TICKET,
    ST_IMPORT_ARCHIVE,
    ST_IMPORT_FINISH, /* moves the id generators past the imported ids */
    /* resumable uploads */
    ST_UPLOAD_INSERT,
    ST_UPLOAD_BY_ID,
    ST_UPLOAD_TOUCH,
    ST_UPLOAD_DELETE,
    ST_UPLOAD_STALE,
    ST_UPLOAD_EXISTS,
    ST_UPLOAD_FINISHED,
    ST_EVENT_INSERT,
    ST_EVENT_FANOUT, /* one delivery per webhook that wants the event */
    ST_MAIL_QUEUE,
    ST_EVENT_PRUNE,
    ST_WEBHOOK_INSERT,
    ST_WEBHOOK_COUNT,
    ST_WEBHOOK_BY_ID,
    ST_WEBHOOK_LIST,
    ST_WEBHOOK_UPDATE,
    ST_WEBHOOK_DELETE,
    ST_DELIVERY_CLAIM, /* the next due delivery, leased; skipping rows others lock */
    ST_DELIVERY_BY_ID,
    ST_ATTEMPT_INSERT,
    ST_DELIVERY_UPDATE,
    ST_DELIVERY_LOG,
    ST_DELIVERY_LOG_COUNT,
    ST_DELIVERY_PENDING,
    ST_MAIL_CLAIM,
    ST_MAIL_ROWS,
    ST_MAIL_DONE,
    ST_MAIL_RETRY,
    ST_RETENTION_ARCHIVES, /* time arithmetic: each backend's own */
    ST_RETENTION_TICKETS,
    ST__MAX
};

/* A statement text meaning "nothing to do in this dialect": exec succeeds
 * without rows (e.g. row locks where the write transaction locks the file). */
#define DB_SKIP ""

struct db_stmt {
    const char *name; /* for logs */
    const char *sql;  /* portable text; NULL: every backend gives its own */
};

/* The portable statements, indexed by stmt_id (store.c). */
extern const struct db_stmt db_stmts[ST__MAX];

/* The text ops runs for id: its override, else the portable text. Never NULL
 * for a complete backend (test-store checks every id of both). */
const char *db_stmt_sql(const struct db_ops *ops, enum stmt_id id);

/* --- arguments --- */

enum db_arg_kind {
    ARG_NULL,
    ARG_INT64,
    ARG_TEXT, /* the string must live until exec returns */
    ARG_BOOL,
    ARG_TIME, /* int64 microseconds since the Unix epoch, UTC */
};

struct db_arg {
    enum db_arg_kind kind;
    union {
        int64_t i; /* ARG_INT64, ARG_TIME */
        const char *s;
        bool b;
    };
};

static inline struct db_arg arg_int(int64_t v)
{
    return (struct db_arg){.kind = ARG_INT64, .i = v};
}

/* 0 as NULL: optional references. */
static inline struct db_arg arg_opt_int(int64_t v)
{
    return v ? arg_int(v) : (struct db_arg){.kind = ARG_NULL};
}

/* NULL as "". */
static inline struct db_arg arg_text(const char *s)
{
    return (struct db_arg){.kind = ARG_TEXT, .s = s ? s : ""};
}

/* NULL as NULL: an optional text. */
static inline struct db_arg arg_opt_text(const char *s)
{
    return s ? arg_text(s) : (struct db_arg){.kind = ARG_NULL};
}

static inline struct db_arg arg_bool(bool b)
{
    return (struct db_arg){.kind = ARG_BOOL, .b = b};
}

static inline struct db_arg arg_time(int64_t us)
{
    return (struct db_arg){.kind = ARG_TIME, .i = us};
}

/* 0 as NULL: "no time". */
static inline struct db_arg arg_opt_time(int64_t us)
{
    return us ? arg_time(us) : (struct db_arg){.kind = ARG_NULL};
}

/* --- rows, connections, transactions --- */

/* The current row of a statement, valid while the row callback runs. */
struct db_row {
    const struct db_ops *ops;
};

/* Called for every result row; an error stops the statement and is returned by exec. */
typedef enum err db_row_fn(const struct db_row *row, void *ctx);

/* A connection, used by one thread between take and give. */
struct db_conn {
    const struct db_ops *ops;
};

enum db_mode {
    DB_AUTO,  /* no transaction: each statement commits on its own (one-statement work) */
    DB_READ,  /* one read-only snapshot for every statement */
    DB_WRITE, /* a writing transaction that takes its lock up front */
};

/* Work run on one connection; see db_tx for why it may run twice. */
typedef enum err db_fn(struct db_conn *c, void *ctx);

/* Text columns are read through a buffer of this size (values that need
 * formatting, such as PostgreSQL's uuid). */
#define DB_TEXT_BUF 40

struct db_ops {
    const char *name; /* for logs: "sqlite", "postgresql" */

    /* Opens the store named by url (the whole URL, scheme included): a
     * backend handle whose struct store is zeroed but for ops (store.c fills
     * the rest). ERR_CONFIG for a malformed URL, ERR_UNAVAILABLE when the
     * database cannot be reached; both logged. */
    enum err (*open)(const char *url, const struct store_options *opt, struct store **ret_store);
    /* Closes every connection and frees s. No other thread uses s any more. */
    void (*close)(struct store *s);

    /* A connection for the calling thread alone until give(). ERR_UNAVAILABLE
     * (logged) when none can be had. */
    enum err (*take)(struct store *s, struct db_conn **ret);
    /* Gives c back; an open transaction on it is rolled back. */
    void (*give)(struct store *s, struct db_conn *c);
    /* Begins a transaction of that mode on c (nothing for DB_AUTO). */
    enum err (*begin)(struct db_conn *c, enum db_mode mode);
    /* Ends what begin started: commits when e is ERR_OK (returning the
     * commit's result), else rolls back and returns e. */
    enum err (*end)(struct db_conn *c, enum db_mode mode, enum err e);
    /* True when work that failed with e on c may run once more on another
     * connection: the connection was lost before any change could have been
     * applied. */
    bool (*retryable)(struct db_conn *c, enum err e);

    /*
     * Runs statement id with nargs args, calling fn (may be NULL) for every
     * result row. *ret_n (may be NULL) gets the number of rows returned, or
     * of rows changed by a statement that returns none. Errors: ERR_EXISTS,
     * ERR_REFERENCE (constraints), ERR_NO_SPACE (disk full), ERR_UNAVAILABLE
     * (busy, connection lost), ERR_DB (logged with the database's message),
     * or fn's error.
     */
    enum err (*exec)(struct db_conn *c, enum stmt_id id, const struct db_arg *args, size_t nargs,
                     db_row_fn *fn, void *ctx, int64_t *ret_n);
    /* As exec, for the one-off text sql ("?" placeholders) named what in logs. */
    enum err (*exec_sql)(struct db_conn *c, const char *what, const char *sql,
                         const struct db_arg *args, size_t nargs, db_row_fn *fn, void *ctx,
                         int64_t *ret_n);
    /* Runs a script of statements without parameters or rows (migrations). */
    enum err (*script)(struct db_conn *c, const char *sql);

    /* Typed reads of column col of a row; NULL reads as 0, false or "". */
    int64_t (*col_int64)(const struct db_row *r, int col);
    bool (*col_bool)(const struct db_row *r, int col);
    int64_t (*col_time)(const struct db_row *r, int col); /* microseconds, UTC */
    /* The text of the column, valid while the row callback runs: the
     * database's own memory or buf, which the backend may format into. */
    const char *(*col_text)(const struct db_row *r, int col, char buf[DB_TEXT_BUF]);

    /* The dialect. */
    const char *const *sql;        /* ST__MAX overrides of db_stmts; NULL entries: portable */
    const char *const *migrations; /* applied in order; never edit a released entry */
    int nmigrations;
    /* An expression of a time column is wrapped as part[0] column part[1]: its
     * year, its month (1-12), in the process time zone. */
    const char *local_year[2], *local_month[2];
};

/* The part of every store handle that store.c owns. */
struct store {
    const struct db_ops *ops;
    int archive_wait; /* seconds store_archive_create waits for the database (>= 0) */
    /* The bulk copy (store_import_*), guarded by lock: while importing, the
     * connection import (NULL while being taken) belongs to import_owner. */
    pthread_mutex_t lock;
    bool importing;
    pthread_t import_owner;
    struct db_conn *import;
};

extern const struct db_ops sqlite_db_ops;
extern const struct db_ops pg_db_ops;

/* The entries every backend fills alike, named after its prefix p: p_open,
 * p_close, ... p_col_text, and its tables `dialect` and `migrations`. */
#define DB_OPS(p)                                                                                  \
    .open = p##_open, .close = p##_close, .take = p##_take, .give = p##_give, .begin = p##_begin,  \
    .end = p##_end, .retryable = p##_retryable, .exec = p##_exec, .exec_sql = p##_exec_sql,        \
    .script = p##_script, .col_int64 = p##_col_int64, .col_bool = p##_col_bool,                    \
    .col_time = p##_col_time, .col_text = p##_col_text, .sql = dialect, .migrations = migrations,  \
    .nmigrations = (int)(sizeof(migrations) / sizeof(migrations[0]))
