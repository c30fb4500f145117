/* sqlite.c - the SQLite store backend: WAL, one connection per thread, prepared statements. */
#include <pthread.h>
#include <sched.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <strings.h>

#include "core/log.h"
#include "core/util.h"
#include "store/backend.h"

#define BUSY_TIMEOUT_MS 5000

/*
 * Migrations, applied in order, each in its own transaction together with its
 * row in schema_migrations. Never edit a released entry: append a new one.
 * Times are INTEGER microseconds since the epoch, UTC; NULL means "none".
 */
static const char *const migrations[] = {
    /* 1: the data model of DESIGN.md section 3. */
    "CREATE TABLE users ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " username TEXT NOT NULL UNIQUE,"
    " password_hash TEXT NOT NULL DEFAULT '',"
    " is_admin INTEGER NOT NULL DEFAULT 0 CHECK (is_admin IN (0, 1)),"
    " is_active INTEGER NOT NULL DEFAULT 1 CHECK (is_active IN (0, 1)),"
    " name TEXT NOT NULL DEFAULT '',"
    " email TEXT NOT NULL DEFAULT '',"
    " created INTEGER NOT NULL,"
    " last_login INTEGER,"
    " totp_secret TEXT,"
    " totp_enabled INTEGER NOT NULL DEFAULT 0 CHECK (totp_enabled IN (0, 1)),"
    " totp_last_counter INTEGER"
    ") STRICT;"
    "CREATE TABLE platforms ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " name TEXT NOT NULL UNIQUE,"
    " pretty_name TEXT NOT NULL DEFAULT ''"
    ") STRICT;"
    "CREATE TABLE tickets ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " number INTEGER NOT NULL UNIQUE CHECK (number > 0),"
    " platform_id INTEGER NOT NULL REFERENCES platforms (id) ON DELETE CASCADE,"
    " user_id INTEGER REFERENCES users (id) ON DELETE SET NULL,"
    " resolved INTEGER NOT NULL DEFAULT 0 CHECK (resolved IN (0, 1)),"
    " note TEXT NOT NULL DEFAULT '',"
    " token TEXT NOT NULL UNIQUE,"
    " attempts INTEGER NOT NULL DEFAULT 5 CHECK (attempts BETWEEN 0 AND 100),"
    " expires_at INTEGER,"
    " time_create INTEGER NOT NULL,"
    " time_update INTEGER NOT NULL"
    ") STRICT;"
    "CREATE INDEX tickets_time_create ON tickets (time_create);"
    /* Child-side indexes so that the cascades do not scan the table. */
    "CREATE INDEX tickets_platform_id ON tickets (platform_id);"
    "CREATE INDEX tickets_user_id ON tickets (user_id);"
    "CREATE TABLE archives ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " ticket_id INTEGER NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,"
    " name TEXT NOT NULL,"
    " path TEXT NOT NULL UNIQUE,"
    " size INTEGER NOT NULL DEFAULT 0 CHECK (size >= 0),"
    " md5 TEXT NOT NULL DEFAULT '',"
    " sha256 TEXT NOT NULL DEFAULT '',"
    " uploader_ip TEXT NOT NULL DEFAULT '',"
    " uploader_agent TEXT NOT NULL DEFAULT '',"
    " time_create INTEGER NOT NULL,"
    " time_update INTEGER NOT NULL"
    ") STRICT;"
    "CREATE INDEX archives_ticket_id ON archives (ticket_id);"
    "CREATE INDEX archives_time_create ON archives (time_create);",
};

#define NMIGRATIONS ((int)(sizeof(migrations) / sizeof(migrations[0])))

#define USER_COLS                                                                                  \
    "SELECT id, username, password_hash, is_admin, is_active, name, email, created,"               \
    " coalesce(last_login, 0) FROM users"

#define PLATFORM_COLS "SELECT id, name, pretty_name FROM platforms"

/* The archive count and size are correlated subqueries over the archives_ticket_id
 * index: they run only for the rows of the returned page, whereas a LEFT JOIN on
 * an aggregated subquery makes SQLite aggregate the whole archives table first. */
#define TICKET_SELECT                                                                              \
    "SELECT t.id, t.number, t.platform_id, coalesce(p.name, ''), coalesce(t.user_id, 0),"          \
    " coalesce(u.username, ''), t.resolved, t.note, t.token, t.attempts,"                          \
    " coalesce(t.expires_at, 0), t.time_create, t.time_update,"                                    \
    " (SELECT count(*) FROM archives a WHERE a.ticket_id = t.id),"                                 \
    " (SELECT coalesce(sum(a.size), 0) FROM archives a WHERE a.ticket_id = t.id)"                  \
    " FROM tickets t LEFT JOIN platforms p ON p.id = t.platform_id"                                \
    " LEFT JOIN users u ON u.id = t.user_id"

/* ticket_id is NOT NULL with a foreign key, so the join always finds the ticket. */
#define ARCHIVE_FROM " FROM archives a JOIN tickets t ON t.id = a.ticket_id"
#define ARCHIVE_SELECT                                                                             \
    "SELECT a.id, a.ticket_id, t.number, a.name, a.path, a.size, a.md5, a.sha256,"                 \
    " a.uploader_ip, a.uploader_agent, a.time_create, a.time_update" ARCHIVE_FROM

/* Rows per page of store_archive_each. */
#define ARCHIVE_EACH_PAGE 64

/* Every fixed statement; each connection prepares one lazily and keeps it. */
enum stmt_id {
    ST_BEGIN_READ,
    ST_BEGIN_WRITE,
    ST_COMMIT,
    ST_ROLLBACK,
    ST_PING,
    ST_USER_INSERT,
    ST_USER_BY_NAME,
    ST_USER_BY_ID,
    ST_USER_SET_PASSWORD,
    ST_USER_TOUCH,
    ST_USER_DELETE,
    ST_USER_LIST,
    ST_USER_COUNT,
    ST_PLATFORM_LIST,
    ST_PLATFORM_GET,
    ST_PLATFORM_ID,
    ST_PLATFORM_INSERT,
    ST_PLATFORM_UPDATE,
    ST_PLATFORM_PATHS,
    ST_PLATFORM_DELETE,
    ST_TICKET_BY_NUMBER,
    ST_TICKET_BY_TOKEN,
    ST_TICKET_BY_ID,
    ST_TICKET_ID,
    ST_TICKET_INSERT,
    ST_TICKET_UPDATE,
    ST_TICKET_SET_TOKEN,
    ST_TICKET_PATHS,
    ST_TICKET_DELETE,
    ST_TOKEN_CONSUME,
    ST_ARCHIVE_INSERT,
    ST_ARCHIVE_BY_ID,
    ST_ARCHIVE_MOVE,
    ST_ARCHIVE_DELETE,
    ST_ARCHIVE_PATH_EXISTS,
    ST_ARCHIVE_PAGE,
    ST_COUNTS,
    ST_IMPORT_USER,
    ST_IMPORT_PLATFORM,
    ST_IMPORT_TICKET,
    ST_IMPORT_ARCHIVE,
    ST__MAX
};

static const char *const stmt_sql[ST__MAX] = {
    [ST_BEGIN_READ] = "BEGIN",
    /* Writers take the lock up front: a deferred transaction that reads and then
     * writes can fail with SQLITE_BUSY without the busy handler ever waiting. */
    [ST_BEGIN_WRITE] = "BEGIN IMMEDIATE",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
    [ST_PING] = "SELECT 1",
    [ST_USER_INSERT] = "INSERT INTO users (username, password_hash, is_admin, is_active, name,"
                       " email, created, last_login) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    [ST_USER_BY_NAME] = USER_COLS " WHERE username = ?",
    [ST_USER_BY_ID] = USER_COLS " WHERE id = ?",
    [ST_USER_SET_PASSWORD] = "UPDATE users SET password_hash = ? WHERE username = ?",
    [ST_USER_TOUCH] = "UPDATE users SET last_login = ? WHERE id = ?",
    [ST_USER_DELETE] = "DELETE FROM users WHERE username = ?",
    [ST_USER_LIST] = USER_COLS " ORDER BY id",
    [ST_USER_COUNT] = "SELECT count(*) FROM users",
    [ST_PLATFORM_LIST] = PLATFORM_COLS " ORDER BY id",
    [ST_PLATFORM_GET] = PLATFORM_COLS " WHERE name = ?",
    [ST_PLATFORM_ID] = "SELECT id FROM platforms WHERE name = ?",
    [ST_PLATFORM_INSERT] = "INSERT INTO platforms (name, pretty_name) VALUES (?, ?)"
                           " RETURNING id, name, pretty_name",
    [ST_PLATFORM_UPDATE] = "UPDATE platforms SET name = ?, pretty_name = ? WHERE name = ?"
                           " RETURNING id, name, pretty_name",
    [ST_PLATFORM_PATHS] = "SELECT a.path FROM archives a JOIN tickets t ON t.id = a.ticket_id"
                          " WHERE t.platform_id = ? ORDER BY a.id",
    [ST_PLATFORM_DELETE] = "DELETE FROM platforms WHERE id = ?",
    [ST_TICKET_BY_NUMBER] = TICKET_SELECT " WHERE t.number = ?",
    [ST_TICKET_BY_TOKEN] = TICKET_SELECT " WHERE t.token = ?",
    [ST_TICKET_BY_ID] = TICKET_SELECT " WHERE t.id = ?",
    [ST_TICKET_ID] = "SELECT id FROM tickets WHERE number = ?",
    [ST_TICKET_INSERT] = "INSERT INTO tickets (number, platform_id, user_id, resolved, note,"
                         " token, attempts, expires_at, time_create, time_update)"
                         " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    [ST_TICKET_UPDATE] = "UPDATE tickets SET number = ?, platform_id = ?, resolved = ?, note = ?,"
                         " attempts = ?, expires_at = ?, time_update = ? WHERE id = ?",
    [ST_TICKET_SET_TOKEN] = "UPDATE tickets SET token = ?, attempts = ?, expires_at = ?,"
                            " time_update = ? WHERE id = ?",
    [ST_TICKET_PATHS] = "SELECT path FROM archives WHERE ticket_id = ? ORDER BY id",
    [ST_TICKET_DELETE] = "DELETE FROM tickets WHERE id = ?",
    /* The whole token rule in the WHERE clause: concurrent consumers cannot
     * take more attempts than there are. */
    [ST_TOKEN_CONSUME] = "UPDATE tickets SET attempts = attempts - 1, time_update = ?"
                         " WHERE token = ? AND attempts > 0 AND resolved = 0"
                         " AND (expires_at IS NULL OR expires_at > ?) RETURNING id",
    [ST_ARCHIVE_INSERT] = "INSERT INTO archives (ticket_id, name, path, size, md5, sha256,"
                          " uploader_ip, uploader_agent, time_create, time_update)"
                          " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
    [ST_ARCHIVE_BY_ID] = ARCHIVE_SELECT " WHERE a.id = ?",
    [ST_ARCHIVE_MOVE] = "UPDATE archives SET ticket_id = ?, path = ?, name = ?, time_update = ?"
                        " WHERE id = ?",
    [ST_ARCHIVE_DELETE] = "DELETE FROM archives WHERE id = ? RETURNING path",
    [ST_ARCHIVE_PATH_EXISTS] = "SELECT EXISTS (SELECT 1 FROM archives WHERE path = ?)",
    /* Keyset paging: each page is a short read, nothing stays open between pages. */
    [ST_ARCHIVE_PAGE] = ARCHIVE_SELECT " WHERE a.id > ? ORDER BY a.id LIMIT ?",
    [ST_COUNTS] = "SELECT (SELECT count(*) FROM users), (SELECT count(*) FROM platforms),"
                  " (SELECT count(*) FROM tickets), (SELECT count(*) FROM archives)",
    /* The bulk copy: every column given, ids included. An explicit id above
     * sqlite_sequence's moves it up (AUTOINCREMENT), so nothing is reused later. */
    [ST_IMPORT_USER] = "INSERT INTO users (id, username, password_hash, is_admin, is_active, name,"
                       " email, created, last_login) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    [ST_IMPORT_PLATFORM] = "INSERT INTO platforms (id, name, pretty_name) VALUES (?, ?, ?)",
    [ST_IMPORT_TICKET] = "INSERT INTO tickets (id, number, platform_id, user_id, resolved, note,"
                         " token, attempts, expires_at, time_create, time_update)"
                         " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    [ST_IMPORT_ARCHIVE] = "INSERT INTO archives (id, ticket_id, name, path, size, md5, sha256,"
                          " uploader_ip, uploader_agent, time_create, time_update)"
                          " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
};

struct sqlite_store;

/* One thread's connection. Used only by that thread; linked into the store's
 * registry (under its lock) so that store_close can close it. */
struct conn {
    sqlite3 *db;
    struct sqlite_store *owner;
    struct conn *prev, *next;
    sqlite3_stmt *stmts[ST__MAX];
    bool importing; /* between store_import_begin and its commit/rollback */
};

struct sqlite_store {
    struct store base;      /* first: store.c sees only this */
    pthread_t checkpointer; /* see checkpoint_main */
    bool checkpointer_running;
    pthread_mutex_t stop_lock;
    pthread_cond_t stop_cond;
    bool stopping;
    char *path;
    pthread_key_t key;    /* this thread's struct conn */
    pthread_mutex_t lock; /* guards conns */
    struct conn *conns;
};

static struct sqlite_store *to_ss(struct store *s)
{
    return (struct sqlite_store *)s;
}

/* Maps an SQLite result code to an enum err; logs what is not a plain
 * constraint outcome. Call it before the statement is reset so that
 * sqlite3_errmsg still describes the failure. */
static enum err db_err(struct conn *c, int rc, const char *what)
{
    switch (rc) {
    case SQLITE_CONSTRAINT_UNIQUE:
    case SQLITE_CONSTRAINT_PRIMARYKEY:
        return ERR_EXISTS;
    case SQLITE_CONSTRAINT_FOREIGNKEY:
        return ERR_REFERENCE;
    default:
        break;
    }
    switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        log_error("sqlite: %s: database is busy: %s", what, sqlite3_errmsg(c->db));
        return ERR_UNAVAILABLE;
    case SQLITE_NOMEM:
        return ERR_NOMEM;
    default:
        log_error("sqlite: %s: %s (code %d)", what, sqlite3_errmsg(c->db), rc);
        return ERR_DB;
    }
}

/* --- connections --- */

/* Finalizes c's statements and closes its database. c must be unlinked. */
static void conn_free(struct conn *c)
{
    for (int i = 0; i < ST__MAX; i++)
        sqlite3_finalize(c->stmts[i]);
    int rc = sqlite3_close(c->db);
    if (rc != SQLITE_OK)
        log_error("sqlite: close: %s", sqlite3_errstr(rc));
    free(c);
}

/* The pthread key destructor: a thread that ends closes its own connection. */
static void conn_thread_exit(void *p)
{
    struct conn *c = p;
    struct sqlite_store *ss = c->owner;
    pthread_mutex_lock(&ss->lock);
    if (c->prev)
        c->prev->next = c->next;
    else
        ss->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    pthread_mutex_unlock(&ss->lock);
    conn_free(c);
}

/* Runs a fixed script (no values: pragmas, DDL) statement by statement. Returns
 * an SQLite result code; the connection's error message describes a failure. */
static int exec_script(sqlite3 *db, const char *sql)
{
    const char *tail = sql;
    while (tail && *tail) {
        sqlite3_stmt *st = NULL;
        int rc = sqlite3_prepare_v3(db, tail, -1, 0, &st, &tail);
        if (rc != SQLITE_OK)
            return rc;
        if (!st)
            continue; /* whitespace or a comment */
        while ((rc = sqlite3_step(st)) == SQLITE_ROW)
            ;
        if (rc != SQLITE_DONE) {
            sqlite3_finalize(st);
            return rc;
        }
        sqlite3_finalize(st);
    }
    return SQLITE_OK;
}

/*
 * Busy handler: SQLite's own (sqlite3_busy_timeout) sleeps 1, 2, 5 ... 100 ms
 * between tries, so a thread that just missed the write lock idles long after
 * it was freed; with hundreds of uploads taking their attempt at once that
 * showed as 300 ms stalls of unrelated requests. Here: spin briefly, then
 * sleep 100 us, then 1 ms, for BUSY_TIMEOUT_MS in all.
 */
static int busy_wait(void *unused, int count)
{
    (void)unused;
    struct timespec ts = {0, 0};
    if (count < 20) {
        sched_yield();
        return 1;
    }
    int64_t waited_us =
        count < 1020 ? (int64_t)(count - 20) * 100 : 100000 + (int64_t)(count - 1020) * 1000;
    if (waited_us >= (int64_t)BUSY_TIMEOUT_MS * 1000)
        return 0;
    ts.tv_nsec = count < 1020 ? 100 * 1000 : 1000 * 1000;
    nanosleep(&ts, NULL);
    return 1;
}

/* Opens a new connection for the calling thread and registers it (registry and
 * thread key). ERR_UNAVAILABLE (logged) when the database cannot be opened. */
static enum err conn_open(struct sqlite_store *ss, struct conn **ret)
{
    struct conn *c = calloc(1, sizeof(*c));
    if (!c)
        return ERR_NOMEM;
    c->owner = ss;
    /* NOMUTEX: the connection never leaves its thread. */
    int rc = sqlite3_open_v2(
        ss->path, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_extended_result_codes(c->db, 1);
        rc = sqlite3_busy_handler(c->db, busy_wait, NULL);
    }
    if (rc == SQLITE_OK)
        rc = exec_script(c->db, "PRAGMA journal_mode = WAL;"
                                "PRAGMA foreign_keys = ON;"
                                "PRAGMA synchronous = NORMAL;"
                                /* checkpoints (and their fsyncs) run on the
                                 * checkpointer thread, never inside a request */
                                "PRAGMA wal_autocheckpoint = 0;");
    if (rc != SQLITE_OK) {
        log_error("sqlite: cannot open %s: %s", ss->path,
                  c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc));
        sqlite3_close(c->db);
        free(c);
        return rc == SQLITE_NOMEM ? ERR_NOMEM : ERR_UNAVAILABLE;
    }
    if (pthread_setspecific(ss->key, c) != 0) {
        conn_free(c);
        return ERR_NOMEM;
    }
    pthread_mutex_lock(&ss->lock);
    c->next = ss->conns;
    if (c->next)
        c->next->prev = c;
    ss->conns = c;
    pthread_mutex_unlock(&ss->lock);
    *ret = c;
    return ERR_OK;
}

/* The calling thread's connection, opened on first use. */
static enum err conn_get(struct store *s, struct conn **ret)
{
    struct sqlite_store *ss = to_ss(s);
    struct conn *c = pthread_getspecific(ss->key);
    if (c) {
        *ret = c;
        return ERR_OK;
    }
    return conn_open(ss, ret);
}

/* --- statements --- */

/* The connection's prepared statement id, prepared on first use. The caller
 * must release() it before returning. */
static enum err stmt(struct conn *c, enum stmt_id id, sqlite3_stmt **ret)
{
    if (!c->stmts[id]) {
        int rc = sqlite3_prepare_v3(c->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT,
                                    &c->stmts[id], NULL);
        if (rc != SQLITE_OK)
            return db_err(c, rc, "prepare");
    }
    *ret = c->stmts[id];
    return ERR_OK;
}

/* Resets st (ending its read of the database) and drops its bindings. NULL-safe. */
static void release(sqlite3_stmt *st)
{
    if (st) {
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
    }
}

/* Binds parameters left to right; the first failure sticks in rc. */
struct binder {
    sqlite3_stmt *st;
    int i;
    int rc;
};

static void bind_int(struct binder *b, int64_t v)
{
    if (b->rc == SQLITE_OK)
        b->rc = sqlite3_bind_int64(b->st, ++b->i, v);
}

/* Binds 0 as NULL: optional times and references. */
static void bind_opt(struct binder *b, int64_t v)
{
    if (b->rc == SQLITE_OK)
        b->rc = v ? sqlite3_bind_int64(b->st, ++b->i, v) : sqlite3_bind_null(b->st, ++b->i);
}

/* s (NULL: "") must live until the statement is released. */
static void bind_text(struct binder *b, const char *s)
{
    if (b->rc == SQLITE_OK)
        b->rc = sqlite3_bind_text(b->st, ++b->i, s ? s : "", -1, SQLITE_STATIC);
}

/* Steps st once: ERR_OK on a row, ERR_NOT_FOUND when there is none. */
static enum err step_row(struct conn *c, sqlite3_stmt *st, const char *what)
{
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        return ERR_OK;
    if (rc == SQLITE_DONE)
        return ERR_NOT_FOUND;
    return db_err(c, rc, what);
}

/* Steps st to its end (rows, e.g. of RETURNING, are skipped). */
static enum err step_done(struct conn *c, sqlite3_stmt *st, const char *what)
{
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        ;
    return rc == SQLITE_DONE ? ERR_OK : db_err(c, rc, what);
}

/* Runs a fixed statement without parameters or rows (BEGIN, COMMIT). */
static enum err run(struct conn *c, enum stmt_id id, const char *what)
{
    sqlite3_stmt *st = NULL;
    enum err e = stmt(c, id, &st);
    if (!e)
        e = step_done(c, st, what);
    release(st);
    return e;
}

static enum err tx_read(struct conn *c)
{
    return run(c, ST_BEGIN_READ, "begin");
}

static enum err tx_write(struct conn *c)
{
    return run(c, ST_BEGIN_WRITE, "begin");
}

static enum err tx_commit(struct conn *c)
{
    return run(c, ST_COMMIT, "commit");
}

/* Rolls back the open transaction, if SQLite has not already done so. */
static void tx_rollback(struct conn *c)
{
    if (!sqlite3_get_autocommit(c->db))
        (void)run(c, ST_ROLLBACK, "rollback");
}

/* Ends a transaction: commits when e is ERR_OK (and returns the commit's
 * result), otherwise rolls back and returns e. */
static enum err tx_end(struct conn *c, enum err e)
{
    if (!e) {
        e = tx_commit(c);
        if (!e)
            return ERR_OK;
    }
    tx_rollback(c);
    return e;
}

static void col_text(sqlite3_stmt *st, int i, char *dst, size_t cap)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    (void)str_copy(dst, cap, t ? (const char *)t : "");
}

/* Grows *items (of elem-sized entries) so that it has room for n + 1. */
static bool grow(void **items, size_t *cap, size_t n, size_t elem)
{
    if (n < *cap)
        return true;
    size_t ncap = *cap ? *cap * 2 : 16;
    void *p = reallocarray(*items, ncap, elem);
    if (!p)
        return false;
    *items = p;
    *cap = ncap;
    return true;
}

/* Reads the current row of st into dst (a struct or a scalar, as the reader
 * says). Writes dst only on success; ERR_NOMEM when a copy cannot be made. */
typedef enum err row_reader(sqlite3_stmt *st, void *dst);

/* Column 0 into an int64_t. */
static enum err read_int64(sqlite3_stmt *st, void *dst)
{
    *(int64_t *)dst = sqlite3_column_int64(st, 0);
    return ERR_OK;
}

/* Column 0 into a bool (non-zero: true). */
static enum err read_bool(sqlite3_stmt *st, void *dst)
{
    *(bool *)dst = sqlite3_column_int(st, 0) != 0;
    return ERR_OK;
}

/* Steps st, whose parameters were bound with the result bind_rc, to its first
 * row and reads that row into dst. ERR_NOT_FOUND when there is no row. Does not
 * release st. */
static enum err step_one(struct conn *c, sqlite3_stmt *st, int bind_rc, row_reader *read, void *dst,
                         const char *what)
{
    enum err e = bind_rc ? db_err(c, bind_rc, what) : step_row(c, st, what);
    return e ? e : read(st, dst);
}

/* As step_one for a write whose RETURNING clause yields one row, then steps st
 * to its end; dst may be written even when that last step fails. */
static enum err step_returning(struct conn *c, sqlite3_stmt *st, int bind_rc, row_reader *read,
                               void *dst, const char *what)
{
    enum err e = step_one(c, st, bind_rc, read, dst, what);
    return e ? e : step_done(c, st, what);
}

/* Runs the fixed single-row query id and reads its row into dst. The statement
 * takes no parameter or one: text when text is not NULL, else num.
 * ERR_NOT_FOUND when there is no row. */
static enum err get_one(struct conn *c, enum stmt_id id, const char *text, int64_t num,
                        row_reader *read, void *dst, const char *what)
{
    sqlite3_stmt *st = NULL;
    enum err e = stmt(c, id, &st);
    if (e)
        return e;
    int rc = SQLITE_OK;
    if (sqlite3_bind_parameter_count(st) > 0)
        rc = text ? sqlite3_bind_text(st, 1, text, -1, SQLITE_STATIC)
                  : sqlite3_bind_int64(st, 1, num);
    e = step_one(c, st, rc, read, dst, what);
    release(st);
    return e;
}

/* get_one on the calling thread's connection. */
static enum err fetch(struct store *s, enum stmt_id id, const char *text, int64_t num,
                      row_reader *read, void *dst, const char *what)
{
    struct conn *c;
    enum err e = conn_get(s, &c);
    if (e)
        return e;
    return get_one(c, id, text, num, read, dst, what);
}

/* Frees n entries collected by collect_rows, and the array. */
typedef void items_free(void *items, size_t n);

static void free_plain(void *items, size_t n)
{
    (void)n;
    free(items);
}

/* Steps st (parameters already bound) through all its rows, reading each with
 * read into a malloc'ed array of elem-sized entries: *ret_items (not NULL even
 * for no rows) and *ret_n, which the caller frees with free_items. On error
 * what was read is freed with free_items. Does not release st. */
static enum err collect_rows(struct conn *c, sqlite3_stmt *st, size_t elem, row_reader *read,
                             items_free *free_items, const char *what, void **ret_items,
                             size_t *ret_n)
{
    void *items = NULL;
    size_t n = 0, cap = 0;
    int rc;
    enum err e = ERR_OK;
    if (!grow(&items, &cap, 0, elem))
        return ERR_NOMEM;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (!grow(&items, &cap, n, elem)) {
            e = ERR_NOMEM;
            break;
        }
        e = read(st, (char *)items + n * elem);
        if (e)
            break;
        n++;
    }
    if (!e && rc != SQLITE_DONE)
        e = db_err(c, rc, what);
    if (e) {
        free_items(items, n);
        return e;
    }
    *ret_items = items;
    *ret_n = n;
    return ERR_OK;
}

/* The calling thread's connection and its prepared statement id; the caller
 * must release() *ret_st. */
static enum err conn_stmt(struct store *s, enum stmt_id id, struct conn **ret_c,
                          sqlite3_stmt **ret_st)
{
    struct conn *c;
    enum err e = conn_get(s, &c);
    if (!e)
        e = stmt(c, id, ret_st);
    if (!e)
        *ret_c = c;
    return e;
}

/* The calling thread's connection with a write transaction begun; the caller
 * ends it with tx_end(). */
static enum err conn_begin(struct store *s, struct conn **ret_c)
{
    struct conn *c;
    enum err e = conn_get(s, &c);
    if (!e)
        e = tx_write(c);
    if (!e)
        *ret_c = c;
    return e;
}

/* All the rows of the fixed statement id (no parameters), as collect_rows
 * with a plain free. */
static enum err list_fixed(struct store *s, enum stmt_id id, size_t elem, row_reader *read,
                           const char *what, void **ret_items, size_t *ret_n)
{
    struct conn *c;
    sqlite3_stmt *st = NULL;
    enum err e = conn_stmt(s, id, &c, &st);
    if (e)
        return e;
    e = collect_rows(c, st, elem, read, free_plain, what, ret_items, ret_n);
    release(st);
    return e;
}

/* --- lifecycle --- */

/* Closes every thread's connection and frees s. Precondition: no other thread
 * uses s any more (the server's threads are stopped first). */
/*
 * WAL checkpoints copy committed pages back into the database file and fsync
 * it: tens of milliseconds on a busy disk. SQLite's default runs one inside
 * whichever commit crosses 1000 WAL pages, i.e. inside some request on a
 * polling thread. Instead request connections have wal_autocheckpoint off and
 * this thread, with a connection of its own, runs a PASSIVE checkpoint (which
 * never blocks readers or writers) every CHECKPOINT_EVERY_MS.
 */
#define CHECKPOINT_EVERY_MS 500

static void *checkpoint_main(void *arg)
{
    struct sqlite_store *ss = arg;
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(ss->path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
        SQLITE_OK) {
        log_error("sqlite: checkpointer cannot open %s: %s", ss->path, sqlite3_errmsg(db));
        sqlite3_close(db);
        return NULL;
    }
    sqlite3_busy_timeout(db, 100);
    pthread_mutex_lock(&ss->stop_lock);
    while (!ss->stopping) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += (long)CHECKPOINT_EVERY_MS * 1000000L;
        ts.tv_sec += ts.tv_nsec / 1000000000L;
        ts.tv_nsec %= 1000000000L;
        pthread_cond_timedwait(&ss->stop_cond, &ss->stop_lock, &ts);
        if (ss->stopping)
            break;
        pthread_mutex_unlock(&ss->stop_lock);
        int log_frames = 0, done = 0;
        int rc = sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_PASSIVE, &log_frames, &done);
        if (rc != SQLITE_OK && rc != SQLITE_BUSY && rc != SQLITE_LOCKED)
            log_warn("sqlite: checkpoint: %s", sqlite3_errmsg(db));
        pthread_mutex_lock(&ss->stop_lock);
    }
    pthread_mutex_unlock(&ss->stop_lock);
    /* a last checkpoint that also empties the WAL, so the database file is
     * complete on its own after a clean stop */
    (void)sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
    sqlite3_close(db);
    return NULL;
}

static void sqlite_close(struct store *s)
{
    struct sqlite_store *ss = to_ss(s);
    if (ss->checkpointer_running) {
        pthread_mutex_lock(&ss->stop_lock);
        ss->stopping = true;
        pthread_cond_signal(&ss->stop_cond);
        pthread_mutex_unlock(&ss->stop_lock);
        pthread_join(ss->checkpointer, NULL);
    }
    pthread_mutex_destroy(&ss->stop_lock);
    pthread_cond_destroy(&ss->stop_cond);
    pthread_mutex_lock(&ss->lock);
    while (ss->conns) {
        struct conn *c = ss->conns;
        ss->conns = c->next;
        conn_free(c);
    }
    pthread_mutex_unlock(&ss->lock);
    /* After this no destructor runs for the key, so no thread touches the
     * connections freed above. */
    pthread_key_delete(ss->key);
    pthread_mutex_destroy(&ss->lock);
    free(ss->path);
    free(ss);
}

/* Parses "sqlite:///<path>" (Django's convention: "sqlite:///data/db.sqlite3" is
 * relative, "sqlite:////abs/db.sqlite3" absolute) and opens a first connection
 * in the calling thread so that a bad path fails at start. ERR_CONFIG (logged)
 * for a bad URL or a database that cannot be opened. */
static enum err sqlite_open(const char *url, const struct store_options *opt,
                            struct store **ret_store)
{
    (void)opt; /* an embedded file: nothing to wait for, one connection per thread */
    static const char prefix[] = "sqlite://";
    if (strncasecmp(url, prefix, sizeof(prefix) - 1) != 0 || url[sizeof(prefix) - 1] != '/') {
        log_error("store: DB_URL must look like sqlite:///path (relative) or "
                  "sqlite:////abs/path, got \"%s\"",
                  url);
        return ERR_CONFIG;
    }
    const char *path = url + sizeof(prefix);
    if (!*path) {
        log_error("store: DB_URL \"%s\" names no database file", url);
        return ERR_CONFIG;
    }
    if (strcmp(path, ":memory:") == 0) {
        /* Each thread's connection would see its own empty database. */
        log_error("store: an in-memory SQLite database is not supported; name a file");
        return ERR_CONFIG;
    }
    if (!sqlite3_threadsafe()) {
        log_error("sqlite: the SQLite library is built without thread support");
        return ERR_CONFIG;
    }

    struct sqlite_store *ss = calloc(1, sizeof(*ss));
    if (!ss)
        return ERR_NOMEM;
    ss->base.ops = &sqlite_store_ops;
    ss->path = strdup(path);
    if (!ss->path) {
        free(ss);
        return ERR_NOMEM;
    }
    if (pthread_key_create(&ss->key, conn_thread_exit) != 0) {
        free(ss->path);
        free(ss);
        return ERR_NOMEM;
    }
    pthread_mutex_init(&ss->lock, NULL);
    pthread_mutex_init(&ss->stop_lock, NULL);
    pthread_cond_init(&ss->stop_cond, NULL);

    struct conn *c;
    enum err e = conn_open(ss, &c);
    if (e) {
        sqlite_close(&ss->base);
        return e == ERR_UNAVAILABLE ? ERR_CONFIG : e;
    }
    ss->checkpointer_running = pthread_create(&ss->checkpointer, NULL, checkpoint_main, ss) == 0;
    if (!ss->checkpointer_running) {
        log_error("sqlite: cannot start the checkpointer thread");
        sqlite_close(&ss->base);
        return ERR_NOMEM;
    }
    *ret_store = &ss->base;
    return ERR_OK;
}

/* Number of rows in schema_migrations; 0 when the table does not exist yet. */
static enum err applied_count(struct conn *c, int *ret)
{
    static const char *const sql[] = {
        "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'schema_migrations'",
        "SELECT count(*) FROM schema_migrations",
    };
    int64_t n = 0;
    for (size_t i = 0; i < 2; i++) {
        sqlite3_stmt *st = NULL;
        int rc = sqlite3_prepare_v3(c->db, sql[i], -1, 0, &st, NULL);
        if (rc != SQLITE_OK)
            return db_err(c, rc, "schema version");
        enum err e = step_row(c, st, "schema version");
        if (!e)
            n = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
        if (e)
            return e == ERR_NOT_FOUND ? ERR_DB : e;
        if (n == 0)
            break;
    }
    *ret = (int)n;
    return ERR_OK;
}

static enum err sqlite_schema_version(struct store *s, int *ret_version)
{
    struct conn *c;
    enum err e = conn_get(s, &c);
    if (e)
        return e;
    return applied_count(c, ret_version);
}

/* Applies migration v (1-based) unless it already is, in one write transaction
 * with its schema_migrations row (another process may be migrating too).
 * *ret_done tells whether it ran here. */
static enum err migrate_one(struct conn *c, int v, bool *ret_done)
{
    enum err e = tx_write(c);
    if (e)
        return e;
    bool done = false;
    sqlite3_stmt *st = NULL;
    int rc = exec_script(c->db, "CREATE TABLE IF NOT EXISTS schema_migrations ("
                                " version INTEGER PRIMARY KEY,"
                                " applied_at INTEGER NOT NULL) STRICT");
    if (rc != SQLITE_OK) {
        e = db_err(c, rc, "migrate");
        goto out;
    }
    rc = sqlite3_prepare_v3(c->db, "SELECT count(*) FROM schema_migrations WHERE version = ?", -1,
                            0, &st, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int(st, 1, v);
    if (rc != SQLITE_OK) {
        e = db_err(c, rc, "migrate");
        sqlite3_finalize(st);
        goto out;
    }
    e = step_row(c, st, "migrate");
    bool present = !e && sqlite3_column_int64(st, 0) > 0;
    sqlite3_finalize(st);
    if (e || present)
        goto out;

    rc = exec_script(c->db, migrations[v - 1]);
    if (rc != SQLITE_OK) {
        log_error("sqlite: migration %d failed", v);
        e = db_err(c, rc, "migrate");
        goto out;
    }
    st = NULL;
    rc = sqlite3_prepare_v3(c->db,
                            "INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)", -1,
                            0, &st, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int(st, 1, v);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(st, 2, now_us());
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    if (rc != SQLITE_DONE)
        e = db_err(c, rc, "migrate");
    sqlite3_finalize(st);
    done = !e;
out:
    e = tx_end(c, e);
    if (!e)
        *ret_done = done;
    return e;
}

static enum err sqlite_migrate(struct store *s, int *ret_applied)
{
    struct conn *c;
    enum err e = conn_get(s, &c);
    if (e)
        return e;
    int have;
    e = applied_count(c, &have);
    if (e)
        return e;
    if (have > NMIGRATIONS) {
        log_error("sqlite: the database schema (version %d) is newer than this program (%d)", have,
                  NMIGRATIONS);
        return ERR_DB;
    }
    int applied = 0;
    for (int v = have + 1; v <= NMIGRATIONS; v++) {
        bool done = false;
        e = migrate_one(c, v, &done);
        if (e)
            return e;
        applied += done;
    }
    if (ret_applied)
        *ret_applied = applied;
    return ERR_OK;
}

static enum err sqlite_ping(struct store *s)
{
    struct conn *c;
    enum err e = conn_get(s, &c);
    if (!e)
        e = run(c, ST_PING, "ping");
    return e ? ERR_UNAVAILABLE : ERR_OK;
}

/* --- users --- */

/* Reads a USER_COLS row into a struct user. */
static enum err read_user(sqlite3_stmt *st, void *dst)
{
    struct user *u = dst;
    memset(u, 0, sizeof(*u));
    u->id = sqlite3_column_int64(st, 0);
    col_text(st, 1, u->username, sizeof(u->username));
    col_text(st, 2, u->password_hash, sizeof(u->password_hash));
    u->is_admin = sqlite3_column_int(st, 3) != 0;
    u->is_active = sqlite3_column_int(st, 4) != 0;
    col_text(st, 5, u->name, sizeof(u->name));
    col_text(st, 6, u->email, sizeof(u->email));
    u->created = sqlite3_column_int64(st, 7);
    u->last_login = sqlite3_column_int64(st, 8);
    return ERR_OK;
}

static enum err sqlite_user_create(struct store *s, const struct user *u, int64_t *ret_id)
{
    struct conn *c;
    sqlite3_stmt *st = NULL;
    enum err e = conn_stmt(s, ST_USER_INSERT, &c, &st);
    if (e)
        return e;
    struct binder b = {st, 0, SQLITE_OK};
    bind_text(&b, u->username);
    bind_text(&b, u->password_hash);
    bind_int(&b, u->is_admin);
    bind_int(&b, u->is_active);
    bind_text(&b, u->name);
    bind_text(&b, u->email);
    bind_int(&b, now_us());
    bind_opt(&b, u->last_login);
    e = b.rc ? db_err(c, b.rc, "user create") : step_done(c, st, "user create");
    release(st);
    if (!e && ret_id)
        *ret_id = sqlite3_last_insert_rowid(c->db);
    return e;
}

static enum err sqlite_user_get(struct store *s, const char *username, struct user *ret)
{
    return fetch(s, ST_USER_BY_NAME, username, 0, read_user, ret, "user get");
}

static enum err sqlite_user_get_by_id(struct store *s, int64_t id, struct user *ret)
{
    return fetch(s, ST_USER_BY_ID, NULL, id, read_user, ret, "user get");
}

/* Runs a bound single-row write; ERR_NOT_FOUND when it changed no row. */
static enum err write_one(struct conn *c, sqlite3_stmt *st, int bind_rc, const char *what)
{
    enum err e = bind_rc ? db_err(c, bind_rc, what) : step_done(c, st, what);
    if (!e && sqlite3_changes(c->db) == 0)
        e = ERR_NOT_FOUND;
    release(st);
    return e;
}

static enum err sqlite_user_set_password(struct store *s, const char *username, const char *hash)
{
    struct conn *c;
    sqlite3_stmt *st = NULL;
    enum err e = conn_stmt(s, ST_USER_SET_PASSWORD, &c, &st);
    if (e)
        return e;
    struct binder b = {st, 0, SQLITE_OK};
    bind_text(&b, hash);
    bind_text(&b, username);
    return write_one(c, st, b.rc, "user set password");
}

static enum err sqlite_user_touch_login(struct store *s, int64_t id, int64_t now)
{
    struct conn *c;
    sqlite3_stmt *st = NULL;
    enum err e = conn_stmt(s, ST_USER_TOUCH, &c, &st);
    if (e)
        return e;
    struct binder b = {st, 0, SQLITE_OK};
    bind_opt(&b, now);
    bind_int(&b, id);
    return write_one(c, st, b.rc, "user touch login");
}

static enum err sqlite_user_delete(struct store *s, const char *username)
{
    struct conn *c;
    sqlite3_stmt *st = NULL;
    enum err e = conn_stmt(s, ST_USER_DELETE, &c, &st);
    if (e)
        return e;
    return write_one(c, st, sqlite3_bind_text(st, 1, username, -1, SQLITE_STATIC), "user delete");
}

static enum err sqlite_user_list(struct store *s, struct user **ret_items, size_t *ret_n)
{
    void *items = NULL;
    enum err e =
        list_fixed(s, ST_USER_LIST, sizeof(**ret_items), read_user, "user list", &items, ret_n);
    if (!e)
        *ret_items = items;
    return e;
}

static enum err sqlite_user_count(struct store *s, int64_t *ret_n)
{
    enum err e = fetch(s, ST_USER_COUNT, NULL, 0, read_int64, ret_n, "user count");
    return e == ERR_NOT_FOUND ? ERR_DB : e;
}

/* --- platforms --- */

/* Reads a PLATFORM_COLS (or RETURNING id, name, pretty_name) row into a struct platform. */
static enum err read_platform(sqlite3_stmt *st, void *dst)
{
    struct platform *p = dst;
    memset(p, 0, sizeof(*p));
    p->id = sqlite3_column_int64(st, 0);
    col_text(st, 1, p->name, sizeof(p->name));
    col_text(st, 2, p->pretty_name, sizeof(p->pretty_name));
    return ERR_OK;
}

static enum err sqlite_platform_list(struct store *s, struct platform **ret_items, size_t *ret_n)
{
    void *items = NULL;
    enum err e = list_fixed(s, ST_PLATFORM_LIST, sizeof(**ret_items), read_platform,
                            "platform list", &items, ret_n);
    if (!e)
        *ret_items = items;
    return e;
}

static enum err sqlite_platform_get(struct store *s, const char *name, struct platform *ret)
{
    return fetch(s, ST_PLATFORM_GET, name, 0, read_platform, ret, "platform get");
}

/* Runs a bound INSERT/UPDATE ... RETURNING id, name, pretty_name to its end;
 * ERR_NOT_FOUND when it returned no row. */
static enum err platform_write(struct conn *c, sqlite3_stmt *st, int bind_rc, const char *what,
                               struct platform *ret)
{
    struct platform p;
    enum err e = step_returning(c, st, bind_rc, read_platform, &p, what);
    release(st);
    if (!e && ret)
        *ret = p;
    return e;
}

static enum err sqlite_platform_create(struct store *s, const struct platform *p,
                                       struct platform *ret)
{
    struct conn *c;
    sqlite3_stmt *st = NULL;
    enum err e = conn_stmt(s, ST_PLATFORM_INSERT, &c, &st);
    if (e)
        return e;
    struct binder b = {st, 0, SQLITE_OK};
    bind_text(&b, p->name);
    bind_text(&b, p->pretty_name);
    e = platform_write(c, st, b.rc, "platform create", ret);
    return e == ERR_NOT_FOUND ? ERR_DB : e;
}

static enum err sqlite_platform_update(struct store *s, const char *name, const struct platform *p,
                                       struct platform *ret)
{
    struct conn *c;
    sqlite3_stmt *st = NULL;
    enum err e = conn_stmt(s, ST_PLATFORM_UPDATE, &c, &st);
    if (e)
        return e;
    struct binder b = {st, 0, SQLITE_OK};
    bind_text(&b, p->name);
    bind_text(&b, p->pretty_name);
    bind_text(&b, name);
    return platform_write(c, st, b.rc, "platform update", ret);
}

/* Looks up one id with a fixed statement taking one parameter (text when text
 * is not NULL, else num). ERR_NOT_FOUND when there is no row. */
static enum err lookup_id(struct conn *c, enum stmt_id id, const char *text, int64_t num,
                          int64_t *ret)
{
    return get_one(c, id, text, num, read_int64, ret, "lookup");
}

/* Copies column 0 (a path) into a new heap string at dst (a char *). */
static enum err read_path_dup(sqlite3_stmt *st, void *dst)
{
    const unsigned char *t = sqlite3_column_text(st, 0);
    char *dup = strdup(t ? (const char *)t : "");
    if (!dup)
        return ERR_NOMEM;
    *(char **)dst = dup;
    return ERR_OK;
}

static void free_paths(void *items, size_t n)
{
    struct path_list l = {n, items};
    path_list_free(&l);
}

/* The paths returned by the fixed statement id taking one id, into *ret
 * (ret->paths NULL when there are none). */
static enum err collect_paths(struct conn *c, enum stmt_id id, int64_t key, struct path_list *ret)
{
    sqlite3_stmt *st = NULL;
    enum err e = stmt(c, id, &st);
    if (e)
        return e;
    void *paths = NULL;
    size_t n = 0;
    int rc = sqlite3_bind_int64(st, 1, key);
    e = rc ? db_err(c, rc, "archive paths")
           : collect_rows(c, st, sizeof(char *), read_path_dup, free_paths, "archive paths", &paths,
                          &n);
    release(st);
    if (e)
        return e;
    if (n == 0) {
        free(paths);
        paths = NULL;
    }
    ret->n = n;
    ret->paths = paths;
    return ERR_OK;
}

/* Deletes, in one write transaction, the row (platform or ticket) whose id the
 * fixed statement find returns (one parameter: text when not NULL, else num)
 * with the fixed statement del; the schema cascades to what lies below it. The
 * paths of the archives that go with it (the fixed statement paths, run first)
 * go to *ret_paths when it is not NULL. ERR_NOT_FOUND when find finds no row. */
static enum err delete_tree(struct store *s, enum stmt_id find, const char *text, int64_t num,
                            enum stmt_id paths, enum stmt_id del, struct path_list *ret_paths)
{
    struct conn *c;
    enum err e = conn_begin(s, &c);
    if (e)
        return e;
    struct path_list l = {0, NULL};
    int64_t id;
    sqlite3_stmt *st = NULL;
    e = lookup_id(c, find, text, num, &id);
    if (!e && ret_paths)
        e = collect_paths(c, paths, id, &l);
    if (!e)
        e = stmt(c, del, &st);
    if (!e)
        e = write_one(c, st, sqlite3_bind_int64(st, 1, id), "delete");
    e = tx_end(c, e);
    if (e) {
        path_list_free(&l);
        return e;
    }
    if (ret_paths)
        *ret_paths = l;
    return ERR_OK;
}

static enum err sqlite_platform_delete(struct store *s, const char *name,
                                       struct path_list *ret_paths)
{
    return delete_tree(s, ST_PLATFORM_ID, name, 0, ST_PLATFORM_PATHS, ST_PLATFORM_DELETE,
                       ret_paths);
}

/* --- tickets --- */

/* Reads a TICKET_SELECT row into a struct ticket, which then owns its note.
 * ERR_NOMEM when the note cannot be copied. */
static enum err read_ticket(sqlite3_stmt *st, void *dst)
{
    const unsigned char *note = sqlite3_column_text(st, 7);
    char *dup = strdup(note ? (const char *)note : "");
    if (!dup)
        return ERR_NOMEM;
    struct ticket *t = dst;
    memset(t, 0, sizeof(*t));
    t->note = dup;
    t->id = sqlite3_column_int64(st, 0);
    t->number = sqlite3_column_int64(st, 1);
    t->platform_id = sqlite3_column_int64(st, 2);
    col_text(st, 3, t->platform, sizeof(t->platform));
    t->user_id = sqlite3_column_int64(st, 4);
    col_text(st, 5, t->user, sizeof(t->user));
    t->resolved = sqlite3_column_int(st, 6) != 0;
    col_text(st, 8, t->token, sizeof(t->token));
    t->attempts = sqlite3_column_int(st, 9);
    t->expires_at = sqlite3_column_int64(st, 10);
    t->time_create = sqlite3_column_int64(st, 11);
    t->time_update = sqlite3_column_int64(st, 12);
    t->archives = sqlite3_column_int64(st, 13);
    t->size = sqlite3_column_int64(st, 14);
    return ERR_OK;
}

static void free_tickets(void *items, size_t n)
{
    ticket_list_free(items, n);
}

/* Fetches one ticket with a fixed TICKET_SELECT statement taking one parameter
 * (text when text is not NULL, else num). *ret owns its note on success. */
static enum err ticket_fetch(struct conn *c, enum stmt_id id, const char *text, int64_t num,
                             struct ticket *ret)
{
    return get_one(c, id, text, num, read_ticket, ret, "ticket get");
}

static enum err sqlite_ticket_get(struct store *s, int64_t number, struct ticket *ret)
{
    return fetch(s, ST_TICKET_BY_NUMBER, NULL, number, read_ticket, ret, "ticket get");
}

static enum err sqlite_ticket_get_by_token(struct store *s, const char *token, struct ticket *ret)
{
    return fetch(s, ST_TICKET_BY_TOKEN, token, 0, read_ticket, ret, "ticket get");
}

/* Looks up the platform named by t->platform; ERR_REFERENCE when there is none. */
static enum err platform_ref(struct conn *c, const struct ticket *t, int64_t *ret_id)
{
    enum err e = lookup_id(c, ST_PLATFORM_ID, t->platform, 0, ret_id);
    return e == ERR_NOT_FOUND ? ERR_REFERENCE : e;
}

/* Ends the caller's write transaction after fetching row id into *ret (may be
 * NULL) when e is ERR_OK. */
static enum err ticket_finish(struct conn *c, enum err e, int64_t id, struct ticket *ret)
{
    struct ticket t = {0};
    if (!e && ret) {
        e = ticket_fetch(c, ST_TICKET_BY_ID, NULL, id, &t);
        if (e == ERR_NOT_FOUND)
            e = ERR_DB;
    }
    e = tx_end(c, e);
    if (e) {
        ticket_clear(&t);
        return e;
    }
    if (ret)
        *ret = t;
    return ERR_OK;
}

static enum err sqlite_ticket_create(struct store *s, const struct ticket *t, struct ticket *ret)
{
    struct conn *c;
    enum err e = conn_begin(s, &c);
    if (e)
        return e;
    int64_t platform_id, id = 0;
    sqlite3_stmt *st = NULL;
    e = platform_ref(c, t, &platform_id);
    if (!e)
        e = stmt(c, ST_TICKET_INSERT, &st);
    if (!e) {
        int64_t now = now_us();
        struct binder b = {st, 0, SQLITE_OK};
        bind_int(&b, t->number);
        bind_int(&b, platform_id);
        bind_opt(&b, t->user_id);
        bind_int(&b, t->resolved);
        bind_text(&b, t->note);
        bind_text(&b, t->token);
        bind_int(&b, t->attempts);
        bind_opt(&b, t->expires_at);
        bind_int(&b, now);
        bind_int(&b, now);
        e = b.rc ? db_err(c, b.rc, "ticket create") : step_done(c, st, "ticket create");
        id = sqlite3_last_insert_rowid(c->db);
        release(st);
    }
    return ticket_finish(c, e, id, ret);
}

static enum err sqlite_ticket_update(struct store *s, int64_t number, const struct ticket *t,
                                     struct ticket *ret)
{
    struct conn *c;
    enum err e = conn_begin(s, &c);
    if (e)
        return e;
    int64_t id = 0, platform_id;
    sqlite3_stmt *st = NULL;
    e = lookup_id(c, ST_TICKET_ID, NULL, number, &id);
    if (!e)
        e = platform_ref(c, t, &platform_id);
    if (!e)
        e = stmt(c, ST_TICKET_UPDATE, &st);
    if (!e) {
        struct binder b = {st, 0, SQLITE_OK};
        bind_int(&b, t->number);
        bind_int(&b, platform_id);
        bind_int(&b, t->resolved);
        bind_text(&b, t->note);
        bind_int(&b, t->attempts);
        bind_opt(&b, t->expires_at);
        bind_int(&b, now_us());
        bind_int(&b, id);
        e = write_one(c, st, b.rc, "ticket update");
    }
    return ticket_finish(c, e, id, ret);
}

static enum err sqlite_ticket_set_token(struct store *s, int64_t number, const char *token,
                                        int attempts, int64_t expires_at, struct ticket *ret)
{
    struct conn *c;
    enum err e = conn_begin(s, &c);
    if (e)
        return e;
    int64_t id = 0;
    sqlite3_stmt *st = NULL;
    e = lookup_id(c, ST_TICKET_ID, NULL, number, &id);
    if (!e)
        e = stmt(c, ST_TICKET_SET_TOKEN, &st);
    if (!e) {
        struct binder b = {st, 0, SQLITE_OK};
        bind_text(&b, token);
        bind_int(&b, attempts);
        bind_opt(&b, expires_at);
        bind_int(&b, now_us());
        bind_int(&b, id);
        e = write_one(c, st, b.rc, "ticket set token");
    }
    return ticket_finish(c, e, id, ret);
}

static enum err sqlite_ticket_delete(struct store *s, int64_t number, struct path_list *ret_paths)
{
    return delete_tree(s, ST_TICKET_ID, NULL, number, ST_TICKET_PATHS, ST_TICKET_DELETE, ret_paths);
}

/* --- ticket list: a WHERE clause built from the filter, values only as ? --- */

#define QUERY_SQL   8192
#define QUERY_BINDS (4 * LIMIT_FILTER_IN + 32)

struct query {
    char where[QUERY_SQL];
    size_t len;
    bool overflow; /* where did not fit: a bug, QUERY_SQL bounds every filter */
    size_t nbind;
    struct {
        bool is_text;
        int64_t i;
        const char *s; /* the filter's string or one of texts[] */
    } binds[QUERY_BINDS];
    char *texts[2]; /* escaped LIKE patterns, owned */
};

static void q_cat(struct query *q, const char *s)
{
    size_t n = strlen(s);
    if (q->overflow || q->len + n >= sizeof(q->where)) {
        q->overflow = true;
        return;
    }
    memcpy(q->where + q->len, s, n + 1);
    q->len += n;
}

/* Starts a condition: " WHERE " for the first, " AND " after. */
static void q_and(struct query *q)
{
    q_cat(q, q->len ? " AND " : " WHERE ");
}

static void q_int(struct query *q, int64_t v)
{
    if (q->nbind >= QUERY_BINDS) {
        q->overflow = true;
        return;
    }
    q->binds[q->nbind].is_text = false;
    q->binds[q->nbind++].i = v;
}

static void q_text(struct query *q, const char *s)
{
    if (q->nbind >= QUERY_BINDS) {
        q->overflow = true;
        return;
    }
    q->binds[q->nbind].is_text = true;
    q->binds[q->nbind++].s = s;
}

/* "col IN (?, ...)"; a set given with no values matches nothing. */
static void q_set(struct query *q, const char *col, const struct int_set *set)
{
    if (!set->set && set->n == 0)
        return;
    q_and(q);
    if (set->n == 0 || set->n > LIMIT_FILTER_IN) {
        q_cat(q, "0");
        if (set->n > LIMIT_FILTER_IN)
            q->overflow = true;
        return;
    }
    q_cat(q, col);
    q_cat(q, " IN (");
    for (size_t i = 0; i < set->n; i++) {
        q_cat(q, i ? ", ?" : "?");
        q_int(q, set->v[i]);
    }
    q_cat(q, ")");
}

/* cond holds one "?" for the bound's value. */
static void q_bound(struct query *q, const char *cond, const struct int_bound *b)
{
    if (!b->set)
        return;
    q_and(q);
    q_cat(q, cond);
    q_int(q, b->v);
}

/* "the decimal number contains s", with LIKE's wildcards in s escaped. */
static enum err q_contains(struct query *q, const char *s, int slot)
{
    if (!s)
        return ERR_OK;
    size_t n = strlen(s);
    char *pat = malloc(2 * n + 1);
    if (!pat)
        return ERR_NOMEM;
    char *o = pat;
    for (const char *p = s; *p; p++) {
        if (*p == '%' || *p == '_' || *p == '\\')
            *o++ = '\\';
        *o++ = *p;
    }
    *o = 0;
    q->texts[slot] = pat;
    q_and(q);
    q_cat(q, "CAST(t.number AS TEXT) LIKE '%' || ? || '%' ESCAPE '\\'");
    q_text(q, pat);
    return ERR_OK;
}

#define LOCAL_PART(fmt)                                                                            \
    "CAST(strftime('" fmt "', t.time_create / 1000000, 'unixepoch', 'localtime') AS INTEGER)"

/* Builds the WHERE clause of a ticket list from filter (a struct ticket_filter). */
static enum err q_build(struct query *q, const void *filter)
{
    const struct ticket_filter *f = filter;
    q_set(q, "t.number", &f->number);
    q_set(q, "t.number", &f->number_in);
    enum err e = q_contains(q, f->number_contains, 0);
    if (e)
        return e;
    q_bound(q, "t.number <= ?", &f->number_lte);
    q_bound(q, "t.number >= ?", &f->number_gte);
    q_set(q, "t.id", &f->id);
    q_set(q, "t.id", &f->id_in);
    q_bound(q, "t.id <= ?", &f->id_lte);
    q_bound(q, "t.id >= ?", &f->id_gte);
    if (f->resolved >= 0) {
        q_and(q);
        q_cat(q, "t.resolved = ?");
        q_int(q, f->resolved != 0);
    }
    if (f->user) {
        q_and(q);
        q_cat(q, "t.user_id = (SELECT id FROM users WHERE username = ?)");
        q_text(q, f->user);
    }
    q_bound(q, LOCAL_PART("%Y") " <= ?", &f->year_lte);
    q_bound(q, LOCAL_PART("%Y") " >= ?", &f->year_gte);
    q_bound(q, LOCAL_PART("%m") " <= ?", &f->month_lte);
    q_bound(q, LOCAL_PART("%m") " >= ?", &f->month_gte);
    e = q_contains(q, f->search, 1);
    if (e)
        return e;
    if (q->overflow) {
        log_error("sqlite: ticket filter too large");
        return ERR_INTERNAL;
    }
    return ERR_OK;
}

/* Prepares head + q->where + tail and binds q's values, then limit (< 0: none)
 * and offset when paged. The caller finalizes *ret. */
static enum err q_prepare(struct conn *c, const struct query *q, const char *head, const char *tail,
                          bool paged, int64_t limit, int64_t offset, const char *what,
                          sqlite3_stmt **ret)
{
    size_t n = strlen(head) + q->len + strlen(tail) + 1;
    char *sql = malloc(n);
    if (!sql)
        return ERR_NOMEM;
    snprintf(sql, n, "%s%s%s", head, q->where, tail);
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v3(c->db, sql, -1, 0, &st, NULL);
    free(sql);
    if (rc != SQLITE_OK)
        return db_err(c, rc, what);
    struct binder b = {st, 0, SQLITE_OK};
    for (size_t i = 0; i < q->nbind; i++) {
        if (q->binds[i].is_text)
            bind_text(&b, q->binds[i].s);
        else
            bind_int(&b, q->binds[i].i);
    }
    if (paged) {
        bind_int(&b, limit < 0 ? -1 : limit);
        bind_int(&b, offset < 0 ? 0 : offset);
    }
    if (b.rc != SQLITE_OK) {
        enum err e = db_err(c, b.rc, what);
        sqlite3_finalize(st);
        return e;
    }
    *ret = st;
    return ERR_OK;
}

/* Counts the rows of head + q->where ("SELECT count(*) FROM ..."). */
static enum err q_count(struct conn *c, const struct query *q, const char *head, const char *what,
                        int64_t *ret)
{
    sqlite3_stmt *st = NULL;
    enum err e = q_prepare(c, q, head, "", false, 0, 0, what, &st);
    if (e)
        return e;
    e = step_one(c, st, SQLITE_OK, read_int64, ret, what);
    sqlite3_finalize(st);
    return e == ERR_NOT_FOUND ? ERR_DB : e;
}

/* What differs between the filtered lists (tickets, archives). */
struct list_kind {
    enum err (*build)(struct query *q, const void *filter); /* the WHERE clause */
    const char *select; /* the page query up to its WHERE clause */
    const char *order;  /* after it: " ORDER BY ... LIMIT ? OFFSET ?" */
    const char *count;  /* "SELECT count(*) FROM ..." up to the WHERE clause */
    size_t elem;        /* size of one item */
    row_reader *read;
    items_free *free_items;
    const char *what, *what_count; /* for logs */
};

/* Runs the page query of k and, when ret_total is wanted, its count query. The
 * caller frees *ret_items with k->free_items. */
static enum err list_run(struct conn *c, const struct query *q, const struct list_kind *k,
                         int64_t limit, int64_t offset, void **ret_items, size_t *ret_n,
                         int64_t *ret_total)
{
    sqlite3_stmt *st = NULL;
    void *items = NULL;
    size_t n = 0;
    int64_t total = 0;
    enum err e = q_prepare(c, q, k->select, k->order, true, limit, offset, k->what, &st);
    if (e)
        return e;
    e = collect_rows(c, st, k->elem, k->read, k->free_items, k->what, &items, &n);
    sqlite3_finalize(st);
    if (e)
        return e;
    if (ret_total) {
        e = q_count(c, q, k->count, k->what_count, &total);
        if (e) {
            k->free_items(items, n);
            return e;
        }
        *ret_total = total;
    }
    *ret_items = items;
    *ret_n = n;
    return ERR_OK;
}

/* Lists the rows of kind k matching filter, page limit (< 0: no limit) from
 * offset; *ret_total (may be NULL) gets the count ignoring the page. Both
 * queries run in one read transaction so that they see the same snapshot. */
static enum err list_filtered(struct store *s, const struct list_kind *k, const void *filter,
                              int64_t limit, int64_t offset, void **ret_items, size_t *ret_n,
                              int64_t *ret_total)
{
    struct conn *c;
    enum err e = conn_get(s, &c);
    if (e)
        return e;
    struct query *q = calloc(1, sizeof(*q));
    if (!q)
        return ERR_NOMEM;
    e = k->build(q, filter);
    if (!e)
        e = tx_read(c);
    if (!e) {
        e = list_run(c, q, k, limit, offset, ret_items, ret_n, ret_total);
        tx_rollback(c); /* read only: nothing to commit */
    }
    free(q->texts[0]);
    free(q->texts[1]);
    free(q);
    return e;
}

static const struct list_kind ticket_list_kind = {
    .build = q_build,
    .select = TICKET_SELECT,
    .order = " ORDER BY t.time_create DESC, t.id DESC LIMIT ? OFFSET ?",
    .count = "SELECT count(*) FROM tickets t",
    .elem = sizeof(struct ticket),
    .read = read_ticket,
    .free_items = free_tickets,
    .what = "ticket list",
    .what_count = "ticket count",
};

static enum err sqlite_ticket_list(struct store *s, const struct ticket_filter *f,
                                   struct ticket **ret_items, size_t *ret_n, int64_t *ret_total)
{
    void *items = NULL;
    enum err e =
        list_filtered(s, &ticket_list_kind, f, f->limit, f->offset, &items, ret_n, ret_total);
    if (!e)
        *ret_items = items;
    return e;
}

/* --- upload tokens --- */

/* The token rules of DESIGN.md 6 after "unknown", in their order. */
/* Reads the ticket of token and classifies it. On ERR_OK *ret_state is set and,
 * only when it is TOKEN_OK, *ret_ticket owns the ticket (its note); otherwise
 * *ret_ticket is left as it was. */
static enum err token_lookup(struct conn *c, const char *token, int64_t now,
                             enum token_state *ret_state, struct ticket *ret_ticket)
{
    struct ticket t;
    enum err e = ticket_fetch(c, ST_TICKET_BY_TOKEN, token, 0, &t);
    if (e == ERR_NOT_FOUND) {
        *ret_state = TOKEN_UNKNOWN;
        return ERR_OK;
    }
    if (e)
        return e;
    enum token_state state = store_token_classify(&t, now);
    if (state == TOKEN_OK)
        *ret_ticket = t;
    else
        ticket_clear(&t);
    *ret_state = state;
    return ERR_OK;
}

/* store_token_check. *ret (may be NULL) is written only when the state is TOKEN_OK. */
static enum err sqlite_token_check(struct store *s, const char *token, int64_t now,
                                   enum token_state *ret_state, struct ticket *ret)
{
    struct conn *c;
    enum err e = conn_get(s, &c);
    if (e)
        return e;
    struct ticket t;
    enum token_state state;
    e = token_lookup(c, token, now, &state, &t);
    if (e)
        return e;
    if (state == TOKEN_OK) {
        if (ret)
            *ret = t;
        else
            ticket_clear(&t);
    }
    *ret_state = state;
    return ERR_OK;
}

/* store_token_consume: the conditional UPDATE is the whole decision; BEGIN
 * IMMEDIATE makes concurrent consumers queue on the write lock, so that the
 * classification of a refused token and the ticket read after a consumed one
 * see the state this UPDATE left. *ret (may be NULL) is written only when the
 * state is TOKEN_OK, and then holds the ticket after the decrement. */
static enum err sqlite_token_consume(struct store *s, const char *token, int64_t now,
                                     enum token_state *ret_state, struct ticket *ret)
{
    struct conn *c;
    enum err e = conn_begin(s, &c);
    if (e)
        return e;
    struct ticket t = {0};
    enum token_state state = TOKEN_UNKNOWN;
    int64_t id = 0;
    sqlite3_stmt *st = NULL;
    e = stmt(c, ST_TOKEN_CONSUME, &st);
    if (!e) {
        struct binder b = {st, 0, SQLITE_OK};
        bind_int(&b, now_us());
        bind_text(&b, token);
        bind_int(&b, now);
        e = step_returning(c, st, b.rc, read_int64, &id, "token consume");
        release(st);
    }
    if (!e) {
        state = TOKEN_OK;
        if (ret) {
            e = ticket_fetch(c, ST_TICKET_BY_ID, NULL, id, &t);
            if (e == ERR_NOT_FOUND)
                e = ERR_DB;
        }
    } else if (e == ERR_NOT_FOUND) {
        /* Nothing consumed: say why, from the same locked snapshot. */
        e = token_lookup(c, token, now, &state, &t);
        if (!e && state == TOKEN_OK) {
            /* The UPDATE and token_classify disagree: a row the store could
             * not have written (expires_at = 0 instead of NULL). */
            log_error("sqlite: token consume: ticket %lld refused but usable", (long long)t.number);
            e = ERR_DB;
        }
    }
    e = tx_end(c, e);
    if (e) {
        ticket_clear(&t);
        return e;
    }
    if (state == TOKEN_OK && ret)
        *ret = t;
    *ret_state = state;
    return ERR_OK;
}

/* --- archives --- */

/* Reads an ARCHIVE_SELECT row into a struct archive. */
static enum err read_archive(sqlite3_stmt *st, void *dst)
{
    struct archive *a = dst;
    memset(a, 0, sizeof(*a));
    a->id = sqlite3_column_int64(st, 0);
    a->ticket_id = sqlite3_column_int64(st, 1);
    a->ticket_number = sqlite3_column_int64(st, 2);
    col_text(st, 3, a->name, sizeof(a->name));
    col_text(st, 4, a->path, sizeof(a->path));
    a->size = sqlite3_column_int64(st, 5);
    col_text(st, 6, a->md5, sizeof(a->md5));
    col_text(st, 7, a->sha256, sizeof(a->sha256));
    col_text(st, 8, a->uploader_ip, sizeof(a->uploader_ip));
    col_text(st, 9, a->uploader_agent, sizeof(a->uploader_agent));
    a->time_create = sqlite3_column_int64(st, 10);
    a->time_update = sqlite3_column_int64(st, 11);
    return ERR_OK;
}

/* Column 0 into a char[sizeof(struct archive.path)]. */
static enum err read_path(sqlite3_stmt *st, void *dst)
{
    col_text(st, 0, dst, sizeof(((struct archive *)0)->path));
    return ERR_OK;
}

static enum err sqlite_archive_get(struct store *s, int64_t id, struct archive *ret)
{
    return fetch(s, ST_ARCHIVE_BY_ID, NULL, id, read_archive, ret, "archive get");
}

/* Ends the caller's write transaction after fetching archive id into *ret (may
 * be NULL) when e is ERR_OK. */
static enum err archive_finish(struct conn *c, enum err e, int64_t id, struct archive *ret)
{
    struct archive a;
    if (!e && ret) {
        e = get_one(c, ST_ARCHIVE_BY_ID, NULL, id, read_archive, &a, "archive get");
        if (e == ERR_NOT_FOUND)
            e = ERR_DB;
    }
    e = tx_end(c, e);
    if (!e && ret)
        *ret = a;
    return e;
}

static enum err sqlite_archive_create(struct store *s, const struct archive *a, struct archive *ret)
{
    struct conn *c;
    enum err e = conn_begin(s, &c);
    if (e)
        return e;
    int64_t id = 0;
    sqlite3_stmt *st = NULL;
    e = stmt(c, ST_ARCHIVE_INSERT, &st);
    if (!e) {
        int64_t now = now_us();
        struct binder b = {st, 0, SQLITE_OK};
        bind_int(&b, a->ticket_id);
        bind_text(&b, a->name);
        bind_text(&b, a->path);
        bind_int(&b, a->size);
        bind_text(&b, a->md5);
        bind_text(&b, a->sha256);
        bind_text(&b, a->uploader_ip);
        bind_text(&b, a->uploader_agent);
        bind_int(&b, now);
        bind_int(&b, now);
        e = step_returning(c, st, b.rc, read_int64, &id, "archive create");
        if (e == ERR_NOT_FOUND)
            e = ERR_DB;
        release(st);
    }
    return archive_finish(c, e, id, ret);
}

static enum err sqlite_archive_move(struct store *s, int64_t id, int64_t new_ticket_number,
                                    const char *new_path, const char *new_name, struct archive *ret)
{
    struct conn *c;
    enum err e = conn_begin(s, &c);
    if (e)
        return e;
    int64_t ticket_id;
    sqlite3_stmt *st = NULL;
    e = lookup_id(c, ST_TICKET_ID, NULL, new_ticket_number, &ticket_id);
    if (e == ERR_NOT_FOUND)
        e = ERR_REFERENCE;
    if (!e)
        e = stmt(c, ST_ARCHIVE_MOVE, &st);
    if (!e) {
        struct binder b = {st, 0, SQLITE_OK};
        bind_int(&b, ticket_id);
        bind_text(&b, new_path);
        bind_text(&b, new_name);
        bind_int(&b, now_us());
        bind_int(&b, id);
        e = write_one(c, st, b.rc, "archive move");
    }
    return archive_finish(c, e, id, ret);
}

static enum err sqlite_archive_delete(struct store *s, int64_t id, char *ret_path)
{
    struct conn *c;
    sqlite3_stmt *st = NULL;
    enum err e = conn_stmt(s, ST_ARCHIVE_DELETE, &c, &st);
    if (e)
        return e;
    char path[sizeof(((struct archive *)0)->path)];
    e = step_returning(c, st, sqlite3_bind_int64(st, 1, id), read_path, path, "archive delete");
    release(st);
    if (!e && ret_path)
        memcpy(ret_path, path, sizeof(path));
    return e;
}

static enum err sqlite_archive_path_exists(struct store *s, const char *path, bool *ret)
{
    enum err e = fetch(s, ST_ARCHIVE_PATH_EXISTS, path, 0, read_bool, ret, "archive path exists");
    return e == ERR_NOT_FOUND ? ERR_DB : e;
}

/* Calls fn for every archive in id order, reading ARCHIVE_EACH_PAGE rows at a
 * time after the last id seen: memory stays bounded, no read transaction stays
 * open while fn runs (fn may call the store, even write to it), and every row
 * that exists during the whole walk is seen exactly once. */
static enum err sqlite_archive_each(struct store *s, void (*fn)(const struct archive *a, void *ctx),
                                    void *ctx)
{
    struct conn *c;
    enum err e = conn_get(s, &c);
    if (e)
        return e;
    struct archive *page = calloc(ARCHIVE_EACH_PAGE, sizeof(*page));
    if (!page)
        return ERR_NOMEM;
    int64_t after = 0;
    for (;;) {
        sqlite3_stmt *st = NULL;
        size_t n = 0;
        int rc;
        e = stmt(c, ST_ARCHIVE_PAGE, &st);
        if (e)
            break;
        struct binder b = {st, 0, SQLITE_OK};
        bind_int(&b, after);
        bind_int(&b, ARCHIVE_EACH_PAGE);
        if (b.rc) {
            e = db_err(c, b.rc, "archive each");
            release(st);
            break;
        }
        while ((rc = sqlite3_step(st)) == SQLITE_ROW && n < ARCHIVE_EACH_PAGE)
            (void)read_archive(st, &page[n++]);
        if (rc != SQLITE_ROW && rc != SQLITE_DONE)
            e = db_err(c, rc, "archive each");
        release(st);
        if (e)
            break;
        for (size_t i = 0; i < n; i++)
            fn(&page[i], ctx);
        if (n < ARCHIVE_EACH_PAGE)
            break;
        after = page[n - 1].id;
    }
    free(page);
    return e;
}

/* --- archive list --- */

/* Builds the WHERE clause of an archive list from filter (a struct archive_filter). */
static enum err q_build_archives(struct query *q, const void *filter)
{
    const struct archive_filter *f = filter;
    q_set(q, "a.id", &f->id);
    q_set(q, "a.id", &f->id_in);
    q_bound(q, "a.id <= ?", &f->id_lte);
    q_bound(q, "a.id >= ?", &f->id_gte);
    q_set(q, "t.number", &f->ticket);
    q_set(q, "t.number", &f->ticket_in);
    q_bound(q, "t.number <= ?", &f->ticket_lte);
    q_bound(q, "t.number >= ?", &f->ticket_gte);
    q_bound(q, "a.time_create = ?", &f->time_create);
    q_bound(q, "a.time_create <= ?", &f->time_create_lte);
    q_bound(q, "a.time_create >= ?", &f->time_create_gte);
    if (q->overflow) {
        log_error("sqlite: archive filter too large");
        return ERR_INTERNAL;
    }
    return ERR_OK;
}

static const struct list_kind archive_list_kind = {
    .build = q_build_archives,
    .select = ARCHIVE_SELECT,
    .order = " ORDER BY a.time_create DESC, a.id DESC LIMIT ? OFFSET ?",
    .count = "SELECT count(*)" ARCHIVE_FROM,
    .elem = sizeof(struct archive),
    .read = read_archive,
    .free_items = free_plain,
    .what = "archive list",
    .what_count = "archive count",
};

static enum err sqlite_archive_list(struct store *s, const struct archive_filter *f,
                                    struct archive **ret_items, size_t *ret_n, int64_t *ret_total)
{
    void *items = NULL;
    enum err e =
        list_filtered(s, &archive_list_kind, f, f->limit, f->offset, &items, ret_n, ret_total);
    if (!e)
        *ret_items = items;
    return e;
}

/* --- bulk copy --- */

/* Reads the ST_COUNTS row. */
static enum err read_counts(sqlite3_stmt *st, void *dst)
{
    struct store_counts *n = dst;
    n->users = sqlite3_column_int64(st, 0);
    n->platforms = sqlite3_column_int64(st, 1);
    n->tickets = sqlite3_column_int64(st, 2);
    n->archives = sqlite3_column_int64(st, 3);
    return ERR_OK;
}

/* One statement, so one snapshot; on the importing thread's connection it
 * sees the import's own rows. */
static enum err sqlite_counts(struct store *s, struct store_counts *ret)
{
    enum err e = fetch(s, ST_COUNTS, NULL, 0, read_counts, ret, "counts");
    return e == ERR_NOT_FOUND ? ERR_DB : e;
}

/* The calling thread's connection when it has an import open; ERR_INTERNAL otherwise. */
static enum err import_conn(struct store *s, struct conn **ret)
{
    struct conn *c;
    enum err e = conn_get(s, &c);
    if (e)
        return e;
    if (!c->importing)
        return ERR_INTERNAL;
    *ret = c;
    return ERR_OK;
}

static enum err sqlite_import_begin(struct store *s)
{
    struct conn *c;
    enum err e = conn_get(s, &c);
    if (e)
        return e;
    if (c->importing)
        return ERR_INTERNAL;
    e = tx_write(c);
    if (!e)
        c->importing = true;
    return e;
}

static enum err sqlite_import_commit(struct store *s)
{
    struct conn *c;
    enum err e = import_conn(s, &c);
    if (e)
        return e;
    c->importing = false;
    return tx_end(c, ERR_OK);
}

static void sqlite_import_rollback(struct store *s)
{
    struct conn *c;
    if (import_conn(s, &c) == ERR_OK) {
        c->importing = false;
        tx_rollback(c);
    }
}

/* Runs the import statement id, whose parameters bind() sets from row. */
static enum err import_row(struct store *s, enum stmt_id id,
                           void (*bind)(struct binder *b, const void *row), const void *row,
                           const char *what)
{
    struct conn *c;
    sqlite3_stmt *st = NULL;
    enum err e = import_conn(s, &c);
    if (!e)
        e = stmt(c, id, &st);
    if (e)
        return e;
    struct binder b = {st, 0, SQLITE_OK};
    bind(&b, row);
    e = b.rc ? db_err(c, b.rc, what) : step_done(c, st, what);
    release(st);
    return e;
}

static void bind_import_user(struct binder *b, const void *row)
{
    const struct user *u = row;
    bind_int(b, u->id);
    bind_text(b, u->username);
    bind_text(b, u->password_hash);
    bind_int(b, u->is_admin);
    bind_int(b, u->is_active);
    bind_text(b, u->name);
    bind_text(b, u->email);
    bind_int(b, u->created);
    bind_opt(b, u->last_login);
}

static void bind_import_platform(struct binder *b, const void *row)
{
    const struct platform *p = row;
    bind_int(b, p->id);
    bind_text(b, p->name);
    bind_text(b, p->pretty_name);
}

static void bind_import_ticket(struct binder *b, const void *row)
{
    const struct ticket *t = row;
    bind_int(b, t->id);
    bind_int(b, t->number);
    bind_int(b, t->platform_id);
    bind_opt(b, t->user_id);
    bind_int(b, t->resolved);
    bind_text(b, t->note);
    bind_text(b, t->token);
    bind_int(b, t->attempts);
    bind_opt(b, t->expires_at);
    bind_int(b, t->time_create);
    bind_int(b, t->time_update);
}

static void bind_import_archive(struct binder *b, const void *row)
{
    const struct archive *a = row;
    bind_int(b, a->id);
    bind_int(b, a->ticket_id);
    bind_text(b, a->name);
    bind_text(b, a->path);
    bind_int(b, a->size);
    bind_text(b, a->md5);
    bind_text(b, a->sha256);
    bind_text(b, a->uploader_ip);
    bind_text(b, a->uploader_agent);
    bind_int(b, a->time_create);
    bind_int(b, a->time_update);
}

static enum err sqlite_import_user(struct store *s, const struct user *u)
{
    return import_row(s, ST_IMPORT_USER, bind_import_user, u, "import user");
}

static enum err sqlite_import_platform(struct store *s, const struct platform *p)
{
    return import_row(s, ST_IMPORT_PLATFORM, bind_import_platform, p, "import platform");
}

static enum err sqlite_import_ticket(struct store *s, const struct ticket *t)
{
    return import_row(s, ST_IMPORT_TICKET, bind_import_ticket, t, "import ticket");
}

static enum err sqlite_import_archive(struct store *s, const struct archive *a)
{
    return import_row(s, ST_IMPORT_ARCHIVE, bind_import_archive, a, "import archive");
}

/* Nothing to move: AUTOINCREMENT keeps sqlite_sequence at the largest id ever
 * inserted, explicit ones included (within the import's transaction). */
static enum err sqlite_import_finish(struct store *s)
{
    struct conn *c;
    return import_conn(s, &c);
}

const struct store_ops sqlite_store_ops = {
    .name = "sqlite",
    .open = sqlite_open,
    .close = sqlite_close,
    .migrate = sqlite_migrate,
    .schema_version = sqlite_schema_version,
    .ping = sqlite_ping,
    .user_create = sqlite_user_create,
    .user_get = sqlite_user_get,
    .user_get_by_id = sqlite_user_get_by_id,
    .user_set_password = sqlite_user_set_password,
    .user_touch_login = sqlite_user_touch_login,
    .user_delete = sqlite_user_delete,
    .user_list = sqlite_user_list,
    .user_count = sqlite_user_count,
    .platform_list = sqlite_platform_list,
    .platform_get = sqlite_platform_get,
    .platform_create = sqlite_platform_create,
    .platform_update = sqlite_platform_update,
    .platform_delete = sqlite_platform_delete,
    .ticket_list = sqlite_ticket_list,
    .ticket_get = sqlite_ticket_get,
    .ticket_get_by_token = sqlite_ticket_get_by_token,
    .ticket_create = sqlite_ticket_create,
    .ticket_update = sqlite_ticket_update,
    .ticket_set_token = sqlite_ticket_set_token,
    .ticket_delete = sqlite_ticket_delete,
    .token_check = sqlite_token_check,
    .token_consume = sqlite_token_consume,
    .archive_create = sqlite_archive_create,
    .archive_get = sqlite_archive_get,
    .archive_list = sqlite_archive_list,
    .archive_move = sqlite_archive_move,
    .archive_delete = sqlite_archive_delete,
    .archive_path_exists = sqlite_archive_path_exists,
    .archive_each = sqlite_archive_each,
    .counts = sqlite_counts,
    .import_begin = sqlite_import_begin,
    .import_commit = sqlite_import_commit,
    .import_rollback = sqlite_import_rollback,
    .import_user = sqlite_import_user,
    .import_platform = sqlite_import_platform,
    .import_ticket = sqlite_import_ticket,
    .import_archive = sqlite_import_archive,
    .import_finish = sqlite_import_finish,
};
