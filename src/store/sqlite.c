/* sqlite.c - the SQLite store backend: WAL, one connection per thread, checkpoints off the request
 * path. */
#include <errno.h>
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
#include "core/config.h"
#include "store/db.h"

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
    /* 2: resumable uploads (tus) in progress; their bytes live in DATA_DIR/partial/. */
    "CREATE TABLE uploads ("
    " id TEXT PRIMARY KEY,"
    " ticket_id INTEGER NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,"
    " token TEXT,"
    " user_id INTEGER REFERENCES users (id) ON DELETE SET NULL,"
    " name TEXT NOT NULL,"
    " filetype TEXT NOT NULL DEFAULT '',"
    " metadata TEXT NOT NULL DEFAULT '',"
    " length INTEGER NOT NULL CHECK (length >= 0),"
    " uploader_ip TEXT NOT NULL DEFAULT '',"
    " uploader_agent TEXT NOT NULL DEFAULT '',"
    " expires_at INTEGER NOT NULL,"
    " time_create INTEGER NOT NULL,"
    " time_update INTEGER NOT NULL"
    ") STRICT;"
    "CREATE INDEX uploads_ticket_id ON uploads (ticket_id);"
    "CREATE INDEX uploads_expires_at ON uploads (expires_at);",
    /* 3: events (the audit log), webhooks and their delivery queue, the upload
     * mail queue, user and platform settings, when tickets were resolved
     * (issue 14). Events keep ticket numbers and archive ids as plain values:
     * the log outlives what it tells of. Queues reference their event, so
     * pruning old events takes their rows along. */
    "CREATE TABLE events ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " time INTEGER NOT NULL,"
    " kind TEXT NOT NULL,"
    " actor_type TEXT NOT NULL DEFAULT '',"
    " actor TEXT NOT NULL DEFAULT '',"
    " client_ip TEXT NOT NULL DEFAULT '',"
    " user_agent TEXT NOT NULL DEFAULT '',"
    " ticket INTEGER,"
    " archive INTEGER,"
    " detail TEXT NOT NULL DEFAULT '{}'"
    ") STRICT;"
    "CREATE INDEX events_time ON events (time);"
    "CREATE INDEX events_ticket ON events (ticket);"
    "CREATE INDEX events_archive ON events (archive);"
    "CREATE TABLE webhooks ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " url TEXT NOT NULL,"
    " events TEXT NOT NULL DEFAULT '',"
    " secret TEXT NOT NULL,"
    " active INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),"
    " created INTEGER NOT NULL"
    ") STRICT;"
    "CREATE TABLE webhook_deliveries ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " webhook_id INTEGER NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,"
    " event_id INTEGER NOT NULL REFERENCES events (id) ON DELETE CASCADE,"
    " state TEXT NOT NULL DEFAULT 'pending',"
    " attempts INTEGER NOT NULL DEFAULT 0,"
    " next_at INTEGER NOT NULL,"
    " lease_owner TEXT NOT NULL DEFAULT '',"
    " lease_until INTEGER,"
    " created INTEGER NOT NULL"
    ") STRICT;"
    "CREATE INDEX webhook_deliveries_due ON webhook_deliveries (state, next_at);"
    "CREATE INDEX webhook_deliveries_webhook ON webhook_deliveries (webhook_id);"
    "CREATE INDEX webhook_deliveries_event ON webhook_deliveries (event_id);"
    "CREATE TABLE webhook_attempts ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " delivery_id INTEGER NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,"
    " time INTEGER NOT NULL,"
    " status INTEGER NOT NULL DEFAULT 0,"
    " error TEXT NOT NULL DEFAULT '',"
    " duration_ms INTEGER NOT NULL DEFAULT 0"
    ") STRICT;"
    "CREATE INDEX webhook_attempts_delivery ON webhook_attempts (delivery_id);"
    "CREATE TABLE mail_queue ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " ticket INTEGER NOT NULL,"
    " event_id INTEGER NOT NULL REFERENCES events (id) ON DELETE CASCADE,"
    " created INTEGER NOT NULL,"
    " attempts INTEGER NOT NULL DEFAULT 0,"
    " lease_owner TEXT NOT NULL DEFAULT '',"
    " lease_until INTEGER"
    ") STRICT;"
    "CREATE INDEX mail_queue_ticket ON mail_queue (ticket);"
    "CREATE INDEX mail_queue_event ON mail_queue (event_id);"
    "ALTER TABLE users ADD COLUMN upload_mail INTEGER NOT NULL DEFAULT 1"
    " CHECK (upload_mail IN (0, 1));"
    "ALTER TABLE platforms ADD COLUMN keep_days INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE platforms ADD COLUMN resolve_days INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE platforms ADD COLUMN notify_emails TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE tickets ADD COLUMN resolved_at INTEGER;"
    "UPDATE tickets SET resolved_at = time_update WHERE resolved = 1;",
    /* 4: console sessions and 2FA backup codes (issue 12); both stored hashed. */
    "CREATE TABLE sessions ("
    " id_hash TEXT PRIMARY KEY,"
    " user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,"
    " second_factor INTEGER NOT NULL DEFAULT 0 CHECK (second_factor IN (0, 1)),"
    " created INTEGER NOT NULL,"
    " last_seen INTEGER NOT NULL"
    ") STRICT;"
    "CREATE INDEX sessions_user_id ON sessions (user_id);"
    "CREATE INDEX sessions_last_seen ON sessions (last_seen);"
    "CREATE TABLE backup_codes ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,"
    " code_hash TEXT NOT NULL,"
    " used_at INTEGER,"
    " UNIQUE (user_id, code_hash)"
    ") STRICT;",
    /* 5: a finished resumable upload names its archive until it expires. */
    ("ALTER TABLE uploads ADD COLUMN archive_id INTEGER REFERENCES archives (id) ON DELETE CASCADE;"
     "CREATE INDEX uploads_archive_id ON uploads (archive_id);"),
};

/* Times are INTEGER microseconds: a year or month of the process time zone
 * comes from strftime over whole seconds. */
#define LOCAL_PART(fmt)                                                                            \
    "CAST(strftime('" fmt "', ", " / 1000000, 'unixepoch', 'localtime') AS INTEGER)"

/* Where SQLite's SQL differs from the portable text of store.c. */
static const char *const dialect[ST__MAX] = {
    [ST_SCHEMA_EXISTS] = "SELECT count(*) FROM sqlite_schema"
                         " WHERE type = 'table' AND name = 'schema_migrations'",
    [ST_SCHEMA_CREATE] = "CREATE TABLE IF NOT EXISTS schema_migrations ("
                         " version INTEGER PRIMARY KEY,"
                         " applied_at INTEGER NOT NULL) STRICT",
    /* BEGIN IMMEDIATE already serializes the migrating processes. */
    [ST_MIGRATE_LOCK] = DB_SKIP,
};

/* Transaction control, prepared once per connection like the statements. */
enum ctl { CTL_BEGIN_READ, CTL_BEGIN_WRITE, CTL_COMMIT, CTL_ROLLBACK, CTL__MAX };

static const char *const ctl_sql[CTL__MAX] = {
    [CTL_BEGIN_READ] = "BEGIN",
    /* Writers take the lock up front: a deferred transaction that reads and then
     * writes can fail with SQLITE_BUSY without the busy handler ever waiting. */
    [CTL_BEGIN_WRITE] = "BEGIN IMMEDIATE",
    [CTL_COMMIT] = "COMMIT",
    [CTL_ROLLBACK] = "ROLLBACK",
};

struct sqlite_store;

/* One-off statements each connection keeps prepared. */
#define RECENT 4

/* One thread's connection. Used only by that thread; linked into the store's
 * registry (under its lock) so that store_close can close it. */
struct conn {
    struct db_conn base; /* first: store.c sees only this */
    sqlite3 *db;
    struct sqlite_store *owner;
    struct conn *prev, *next;
    sqlite3_stmt *stmts[ST__MAX]; /* prepared on first use */
    sqlite3_stmt *ctl[CTL__MAX];
    /* The last one-off statements (filtered lists), kept prepared: the same
     * filters give the same text. Round robin. */
    struct {
        char *sql;
        sqlite3_stmt *st;
    } recent[RECENT];
    unsigned next_recent;
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

/* The current row of a statement. */
struct row {
    struct db_row base;
    sqlite3_stmt *st;
};

static struct sqlite_store *to_ss(struct store *s)
{
    return (struct sqlite_store *)s;
}

/* Maps an SQLite result code to an enum err (a full disk, as SQLITE_FULL or an
 * I/O error from ENOSPC, is ERR_NO_SPACE); logs what is not a plain
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
    int sys = sqlite3_system_errno(c->db);
    if ((rc & 0xff) == SQLITE_FULL ||
        ((rc & 0xff) == SQLITE_IOERR && (sys == ENOSPC || sys == EDQUOT))) {
        log_error("sqlite: %s: the disk is full: %s", what, sqlite3_errmsg(c->db));
        return ERR_NO_SPACE;
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
    for (int i = 0; i < CTL__MAX; i++)
        sqlite3_finalize(c->ctl[i]);
    for (int i = 0; i < RECENT; i++) {
        sqlite3_finalize(c->recent[i].st);
        free(c->recent[i].sql);
    }
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
    c->base.ops = &sqlite_db_ops;
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

/* Binds args to st's parameters, left to right. */
static int bind_args(sqlite3_stmt *st, const struct db_arg *args, size_t nargs)
{
    int rc = SQLITE_OK;
    for (size_t i = 0; i < nargs && rc == SQLITE_OK; i++) {
        int at = (int)i + 1;
        const struct db_arg *a = &args[i];
        switch (a->kind) {
        case ARG_NULL:
            rc = sqlite3_bind_null(st, at);
            break;
        case ARG_INT64:
        case ARG_TIME: /* INTEGER microseconds */
            rc = sqlite3_bind_int64(st, at, a->i);
            break;
        case ARG_TEXT:
            rc = sqlite3_bind_text(st, at, a->s, -1, SQLITE_STATIC);
            break;
        case ARG_BOOL:
            rc = sqlite3_bind_int(st, at, a->b);
            break;
        }
    }
    return rc;
}

/* Binds args to st, steps it through its rows (fn for each), and resets it. */
static enum err step_all(struct conn *c, sqlite3_stmt *st, const struct db_arg *args, size_t nargs,
                         db_row_fn *fn, void *ctx, int64_t *ret_n, const char *what)
{
    struct row r = {{&sqlite_db_ops}, st};
    int64_t n = 0;
    enum err e = ERR_OK;
    int rc = bind_args(st, args, nargs);
    while (rc == SQLITE_OK || rc == SQLITE_ROW) {
        rc = sqlite3_step(st);
        if (rc != SQLITE_ROW)
            break;
        n++;
        if (fn && (e = fn(&r.base, ctx)))
            break;
    }
    if (!e && rc != SQLITE_DONE)
        e = db_err(c, rc, what);
    if (!e && sqlite3_column_count(st) == 0)
        n = sqlite3_changes64(c->db);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (!e && ret_n)
        *ret_n = n;
    return e;
}

static enum err sqlite_exec(struct db_conn *dc, enum stmt_id id, const struct db_arg *args,
                            size_t nargs, db_row_fn *fn, void *ctx, int64_t *ret_n)
{
    struct conn *c = (struct conn *)dc;
    const char *sql = db_stmt_sql(&sqlite_db_ops, id);
    if (!*sql) { /* DB_SKIP */
        if (ret_n)
            *ret_n = 0;
        return ERR_OK;
    }
    if (!c->stmts[id]) {
        int rc = sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &c->stmts[id], NULL);
        if (rc != SQLITE_OK)
            return db_err(c, rc, db_stmts[id].name);
    }
    return step_all(c, c->stmts[id], args, nargs, fn, ctx, ret_n, db_stmts[id].name);
}

static enum err sqlite_exec_sql(struct db_conn *dc, const char *what, const char *sql,
                                const struct db_arg *args, size_t nargs, db_row_fn *fn, void *ctx,
                                int64_t *ret_n)
{
    struct conn *c = (struct conn *)dc;
    for (unsigned i = 0; i < RECENT; i++)
        if (c->recent[i].sql && strcmp(c->recent[i].sql, sql) == 0)
            return step_all(c, c->recent[i].st, args, nargs, fn, ctx, ret_n, what);
    sqlite3_stmt *st = NULL;
    char *copy = strdup(sql);
    if (!copy)
        return ERR_NOMEM;
    int rc = sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL);
    if (rc != SQLITE_OK) {
        free(copy);
        return db_err(c, rc, what);
    }
    unsigned slot = c->next_recent++ % RECENT;
    sqlite3_finalize(c->recent[slot].st);
    free(c->recent[slot].sql);
    c->recent[slot].sql = copy;
    c->recent[slot].st = st;
    return step_all(c, st, args, nargs, fn, ctx, ret_n, what);
}

static enum err sqlite_script(struct db_conn *dc, const char *sql)
{
    struct conn *c = (struct conn *)dc;
    int rc = exec_script(c->db, sql);
    return rc == SQLITE_OK ? ERR_OK : db_err(c, rc, "script");
}

/* Runs a transaction control statement. */
static enum err control(struct conn *c, enum ctl id)
{
    if (!c->ctl[id]) {
        int rc = sqlite3_prepare_v3(c->db, ctl_sql[id], -1, SQLITE_PREPARE_PERSISTENT, &c->ctl[id],
                                    NULL);
        if (rc != SQLITE_OK)
            return db_err(c, rc, ctl_sql[id]);
    }
    return step_all(c, c->ctl[id], NULL, 0, NULL, NULL, NULL, ctl_sql[id]);
}

/* Rolls back the open transaction, if SQLite has not already done so. */
static void rollback(struct conn *c)
{
    if (!sqlite3_get_autocommit(c->db))
        (void)control(c, CTL_ROLLBACK);
}

static enum err sqlite_take(struct store *s, struct db_conn **ret)
{
    struct conn *c;
    enum err e = conn_get(s, &c);
    if (!e)
        *ret = &c->base;
    return e;
}

static void sqlite_give(struct store *s, struct db_conn *dc)
{
    (void)s;
    rollback((struct conn *)dc);
}

static enum err sqlite_begin(struct db_conn *dc, enum db_mode mode)
{
    struct conn *c = (struct conn *)dc;
    if (mode == DB_AUTO)
        return ERR_OK;
    return control(c, mode == DB_WRITE ? CTL_BEGIN_WRITE : CTL_BEGIN_READ);
}

static enum err sqlite_end(struct db_conn *dc, enum db_mode mode, enum err e)
{
    struct conn *c = (struct conn *)dc;
    if (mode == DB_AUTO)
        return e;
    if (!e && !(e = control(c, CTL_COMMIT)))
        return ERR_OK;
    rollback(c);
    return e;
}

/* One connection per thread, nothing to reconnect: the busy handler is the retry. */
static bool sqlite_retryable(struct db_conn *dc, enum err e)
{
    (void)dc;
    (void)e;
    return false;
}

static int64_t sqlite_col_int64(const struct db_row *r, int col)
{
    return sqlite3_column_int64(((const struct row *)r)->st, col);
}

/* INTEGER microseconds. */
static int64_t sqlite_col_time(const struct db_row *r, int col)
{
    return sqlite3_column_int64(((const struct row *)r)->st, col);
}

static bool sqlite_col_bool(const struct db_row *r, int col)
{
    return sqlite3_column_int(((const struct row *)r)->st, col) != 0;
}

static const char *sqlite_col_text(const struct db_row *r, int col, char buf[DB_TEXT_BUF])
{
    (void)buf;
    const unsigned char *t = sqlite3_column_text(((const struct row *)r)->st, col);
    return t ? (const char *)t : "";
}

/* --- lifecycle --- */

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

/* Stops the checkpointer, closes every thread's connection and frees s.
 * Precondition: no other thread uses s any more (the server's threads are
 * stopped first). */
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
    for (struct conn *c = ss->conns, *next; c; c = next) {
        next = c->next;
        conn_free(c);
    }
    ss->conns = NULL;
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
    const char *path;
    if (!config_sqlite_path(url, &path)) {
        log_error("store: DB_URL must look like sqlite:///path (relative) or "
                  "sqlite:////abs/path, got \"%s\"",
                  url);
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
    ss->base.ops = &sqlite_db_ops;
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

const struct db_ops sqlite_db_ops = {
    .name = "sqlite",
    DB_OPS(sqlite),
    .local_year = {LOCAL_PART("%Y")},
    .local_month = {LOCAL_PART("%m")},
};
