/* test-store.c - the store's contract, every test run from one fixture on a temporary SQLite file
 * and, when LC_TEST_PG_URL names a PostgreSQL server, on a fresh PostgreSQL database per test. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <libpq-fe.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/util.h"
#include "store/db.h"
#include "store/store.h"

struct fixture {
    char dir[64];
    char db[128];
    char url[512];
    struct store *s;
    sqlite3 *raw;  /* a second connection, for what the store API cannot do */
    bool pg;       /* the PostgreSQL group: pgraw instead of raw, db is the database name */
    PGconn *pgraw; /* as raw, for PostgreSQL */
};

/* --- PostgreSQL plumbing: LC_TEST_PG_URL names a server where we may create databases --- */

/* The URL of LC_TEST_PG_URL with its database replaced by db, into out. */
static void pg_url_with_db(const char *db, char *out, size_t cap)
{
    const char *base = getenv("LC_TEST_PG_URL");
    assert_non_null(base);
    const char *sep = strstr(base, "://");
    assert_non_null(sep);
    const char *rest = sep + 3;
    size_t host_end = strcspn(rest, "/?");
    const char *query = strchr(rest, '?');
    snprintf(out, cap, "%.*s/%s%s", (int)(rest - base + host_end), base, db, query ? query : "");
}

/* A libpq connection to url (any of our schemes), asserted to work. */
static PGconn *pg_connect(const char *url)
{
    const char *sep = strstr(url, "://");
    assert_non_null(sep);
    char uri[600];
    snprintf(uri, sizeof(uri), "postgresql%s", sep);
    PGconn *c = PQconnectdb(uri);
    if (PQstatus(c) != CONNECTION_OK)
        fail_msg("cannot connect to the test server: %s", PQerrorMessage(c));
    return c;
}

/* Runs sql (no parameters) on the server's maintenance connection. */
static void pg_admin(const char *sql)
{
    PGconn *c = pg_connect(getenv("LC_TEST_PG_URL"));
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        fail_msg("%s: %s", sql, PQerrorMessage(c));
    PQclear(r);
    PQfinish(c);
}

/* Creates a fresh database; its name goes to name (64 bytes), its URL to url. */
static void pg_create_db(char *name, char *url, size_t urlcap)
{
    static int counter;
    snprintf(name, 64, "lc_test_%d_%d", (int)getpid(), ++counter);
    char sql[128];
    snprintf(sql, sizeof(sql), "CREATE DATABASE %s", name);
    pg_admin(sql);
    pg_url_with_db(name, url, urlcap);
}

static void pg_drop_db(const char *name)
{
    char sql[128];
    snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH (FORCE)", name);
    pg_admin(sql);
}

static void remove_db_files(const char *db)
{
    char p[256];
    static const char *const suffixes[] = {"", "-wal", "-shm", "-journal"};
    for (size_t i = 0; i < 4; i++) {
        snprintf(p, sizeof(p), "%s%s", db, suffixes[i]);
        (void)unlink(p);
    }
}

/* A fixture on a new SQLite file, migrated when migrate is true. */
static int fixture_sqlite(void **state, bool migrate)
{
    struct fixture *fx = calloc(1, sizeof(*fx));
    assert_non_null(fx);
    strcpy(fx->dir, "/tmp/lc-test-store-XXXXXX");
    assert_non_null(mkdtemp(fx->dir));
    snprintf(fx->db, sizeof(fx->db), "%s/db.sqlite3", fx->dir);
    /* "sqlite:///" + "/tmp/..." : the absolute form "sqlite:////tmp/..." */
    snprintf(fx->url, sizeof(fx->url), "sqlite:///%s", fx->db);
    assert_int_equal(store_open(fx->url, NULL, &fx->s), ERR_OK);
    int applied = -1;
    if (migrate) {
        assert_int_equal(store_migrate(fx->s, &applied), ERR_OK);
        assert_true(applied >= 1);
    }
    assert_int_equal(sqlite3_open(fx->db, &fx->raw), SQLITE_OK);
    sqlite3_busy_timeout(fx->raw, 5000);
    assert_int_equal(sqlite3_exec(fx->raw, "PRAGMA foreign_keys = ON", NULL, NULL, NULL),
                     SQLITE_OK);
    *state = fx;
    return 0;
}

/* As fixture_sqlite, on a new PostgreSQL database. */
static int fixture_pg(void **state, bool migrate)
{
    struct fixture *fx = calloc(1, sizeof(*fx));
    assert_non_null(fx);
    fx->pg = true;
    pg_create_db(fx->db, fx->url, sizeof(fx->url));
    assert_int_equal(store_open(fx->url, NULL, &fx->s), ERR_OK);
    int applied = -1;
    if (migrate) {
        assert_int_equal(store_migrate(fx->s, &applied), ERR_OK);
        assert_true(applied >= 1);
    }
    fx->pgraw = pg_connect(fx->url);
    *state = fx;
    return 0;
}

static int setup(void **state)
{
    return fixture_sqlite(state, true);
}

/* Not migrated. */
static int setup_new(void **state)
{
    return fixture_sqlite(state, false);
}

static int setup_pg(void **state)
{
    return fixture_pg(state, true);
}

static int setup_pg_new(void **state)
{
    return fixture_pg(state, false);
}

static int teardown(void **state)
{
    struct fixture *fx = *state;
    if (fx->pg) {
        PQfinish(fx->pgraw);
        store_close(fx->s);
        pg_drop_db(fx->db);
        free(fx);
        return 0;
    }
    sqlite3_close(fx->raw);
    store_close(fx->s);
    remove_db_files(fx->db);
    assert_int_equal(rmdir(fx->dir), 0);
    free(fx);
    return 0;
}

/* PostgreSQL spelling of a microsecond time: the parameter or literal p as timestamptz. */
#define PG_TIME(p) "(timestamptz 'epoch' + " p "::bigint * interval '1 microsecond')"
#define PG_US(col) "(extract(epoch from " col ") * 1000000)::bigint"

/* raw_int on PostgreSQL: sql with ? placeholders (each becomes $n). A boolean
 * result reads as 1 or 0. */
static int64_t pg_raw_vint(struct fixture *fx, const char *sql, int nargs, va_list ap)
{
    char q[1024], vals[8][24];
    const char *values[8];
    size_t o = 0;
    int n = 0;
    for (const char *c = sql; *c && o < sizeof(q) - 8; c++) {
        if (*c == '?')
            o += (size_t)snprintf(q + o, sizeof(q) - o, "$%d", ++n);
        else
            q[o++] = *c;
    }
    q[o] = 0;
    assert_int_equal(n, nargs);
    assert_true(nargs <= 8);
    for (int i = 0; i < nargs; i++) {
        snprintf(vals[i], sizeof(vals[i]), "%lld", (long long)va_arg(ap, int64_t));
        values[i] = vals[i];
    }
    PGresult *r = PQexecParams(fx->pgraw, q, nargs, NULL, values, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK)
        fail_msg("%s: %s", q, PQerrorMessage(fx->pgraw));
    int64_t v = -1;
    if (st == PGRES_TUPLES_OK && PQntuples(r) > 0) {
        const char *t = PQgetvalue(r, 0, 0);
        v = strcmp(t, "t") == 0 ? 1 : strcmp(t, "f") == 0 ? 0 : strtoll(t, NULL, 10);
    }
    PQclear(r);
    return v;
}

/* Runs one statement on the raw connection with nargs int64_t parameters:
 * lite on SQLite, pg on PostgreSQL (the same when the dialects agree).
 * Returns the first column of the first row, or -1 when there is none. */
static int64_t raw_int2(struct fixture *fx, const char *lite, const char *pg, int nargs, ...)
{
    va_list ap;
    va_start(ap, nargs);
    if (fx->pg) {
        int64_t r = pg_raw_vint(fx, pg, nargs, ap);
        va_end(ap);
        return r;
    }
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(fx->raw, lite, -1, &st, NULL), SQLITE_OK);
    for (int i = 0; i < nargs; i++)
        assert_int_equal(sqlite3_bind_int64(st, i + 1, va_arg(ap, int64_t)), SQLITE_OK);
    va_end(ap);
    int64_t v = -1;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    else
        assert_int_equal(rc, SQLITE_DONE);
    sqlite3_finalize(st);
    return v;
}

#define raw_int(fx, sql, ...) raw_int2(fx, sql, sql, __VA_ARGS__)

/* The wall clock as the database sees it, in microseconds. */
static int64_t raw_now(struct fixture *fx)
{
    return raw_int2(fx, "SELECT CAST(unixepoch('subsec') * 1000000 AS INTEGER)",
                    "SELECT " PG_US("clock_timestamp()"), 0);
}

static void raw_archive(struct fixture *fx, int64_t ticket_id, const char *path, int64_t size)
{
    if (fx->pg) {
        char tid[24], sz[24];
        snprintf(tid, sizeof(tid), "%lld", (long long)ticket_id);
        snprintf(sz, sizeof(sz), "%lld", (long long)size);
        const char *values[4] = {tid, "logs.tar.gz", path, sz};
        PGresult *r = PQexecParams(fx->pgraw,
                                   "INSERT INTO archives (ticket_id, name, path, size,"
                                   " time_create, time_update) VALUES ($1, $2, $3, $4, " PG_TIME(
                                       "1") ", " PG_TIME("1") ")",
                                   4, NULL, values, NULL, NULL, 0);
        assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
        PQclear(r);
        return;
    }
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(fx->raw,
                                        "INSERT INTO archives (ticket_id, name, path, size,"
                                        " time_create, time_update) VALUES (?, ?, ?, ?, 1, 1)",
                                        -1, &st, NULL),
                     SQLITE_OK);
    sqlite3_bind_int64(st, 1, ticket_id);
    sqlite3_bind_text(st, 2, "logs.tar.gz", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, path, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, size);
    assert_int_equal(sqlite3_step(st), SQLITE_DONE);
    sqlite3_finalize(st);
}

static void add_platform(struct fixture *fx, const char *name)
{
    struct platform p = {0};
    snprintf(p.name, sizeof(p.name), "%s", name);
    snprintf(p.pretty_name, sizeof(p.pretty_name), "Pretty %s", name);
    assert_int_equal(store_platform_create(fx->s, &p, NULL, NULL), ERR_OK);
}

static int64_t add_user(struct fixture *fx, const char *name)
{
    struct user u = {0};
    snprintf(u.username, sizeof(u.username), "%s", name);
    snprintf(u.password_hash, sizeof(u.password_hash), "$argon2id$hash-of-%s", name);
    u.is_active = true;
    int64_t id = 0;
    assert_int_equal(store_user_create(fx->s, &u, NULL, &id), ERR_OK);
    return id;
}

static void make_ticket(struct ticket *t, int64_t number, const char *platform, int64_t user_id)
{
    memset(t, 0, sizeof(*t));
    t->number = number;
    snprintf(t->platform, sizeof(t->platform), "%s", platform);
    t->user_id = user_id;
    /* numbers stay below 10^12 here, so the token is a full 36-character UUID */
    snprintf(t->token, sizeof(t->token), "00000000-0000-4000-8000-%012llu",
             (unsigned long long)number % 1000000000000ULL);
    t->attempts = 5;
}

static int64_t add_ticket(struct fixture *fx, int64_t number, const char *platform, int64_t user_id)
{
    struct ticket t, got;
    make_ticket(&t, number, platform, user_id);
    assert_int_equal(store_ticket_create(fx->s, &t, NULL, &got), ERR_OK);
    int64_t id = got.id;
    store_ticket_clear(&got);
    return id;
}

/* Asserts that ticket number aggregates `archives` archives of `size` bytes in all. */
static void assert_ticket_archives(struct fixture *fx, int64_t number, int64_t archives,
                                   int64_t size)
{
    struct ticket t;
    assert_int_equal(store_ticket_get(fx->s, number, &t), ERR_OK);
    assert_int_equal(t.archives, archives);
    assert_int_equal(t.size, size);
    store_ticket_clear(&t);
}

/* --- open / migrate --- */

static void test_open_bad_urls(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "db.sqlite3",
        "mysql://u:p@host/db",
        "postgresql://localhost/db?nosuchparam=1", /* libpq's URI parser refuses it */
        "postgres://127.0.0.1:1/db?sslmode=bogus", /* refused before any connection */
        "pgsql://[::1/db",
        "sqlite://host/db.sqlite3",
        "sqlite:///",
        "sqlite:///:memory:",
        "sqlite:////nonexistent-dir-for-lc-tests/sub/db.sqlite3",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct store *s = (struct store *)0x1;
        assert_int_equal(store_open(bad[i], NULL, &s), ERR_CONFIG);
        assert_ptr_equal(s, (struct store *)0x1); /* untouched on failure */
    }
    struct store *s = NULL;
    assert_int_equal(store_open(NULL, NULL, &s), ERR_CONFIG);
    store_close(NULL); /* NULL-safe */
}

/* No server listens: ERR_UNAVAILABLE at once without connect_wait, after
 * retrying every 2 s with it. */
static void test_pg_unreachable(void **state)
{
    (void)state;
    static const char *const urls[] = {"postgres://u:secret@127.0.0.1:1/db",
                                       "postgresql://127.0.0.1:1/db?connect_timeout=2",
                                       "PSQL://127.0.0.1:1/db", "pgsql://127.0.0.1:1/db"};
    for (size_t i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
        struct store *s = (struct store *)0x1;
        int64_t t0 = mono_us();
        assert_int_equal(store_open(urls[i], NULL, &s), ERR_UNAVAILABLE);
        assert_ptr_equal(s, (struct store *)0x1);
        assert_true(mono_us() - t0 < 1500000);
    }
    struct store *s = (struct store *)0x1;
    int64_t t0 = mono_us();
    assert_int_equal(store_open(urls[0], &(struct store_options){.connect_wait = 3}, &s),
                     ERR_UNAVAILABLE);
    int64_t took = mono_us() - t0;
    assert_true(took >= 2000000 && took < 8000000);
    assert_ptr_equal(s, (struct store *)0x1);
}

static void test_open_relative_and_absolute(void **state)
{
    (void)state;
    char dir[64] = "/tmp/lc-test-store-rel-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char cwd[4096];
    assert_non_null(getcwd(cwd, sizeof(cwd)));
    assert_int_equal(chdir(dir), 0);
    assert_int_equal(mkdir("data", 0700), 0);

    /* Relative: the rest after sqlite:/// is the path from the working directory. */
    struct store *s = NULL;
    assert_int_equal(store_open("sqlite:///data/db.sqlite3", NULL, &s), ERR_OK);
    assert_int_equal(store_ping(s), ERR_OK);
    store_close(s);
    struct stat sb;
    assert_int_equal(stat("data/db.sqlite3", &sb), 0);
    assert_int_equal(chdir(cwd), 0);

    /* Absolute: four slashes; the scheme is case-insensitive. */
    char url[128], path[96];
    snprintf(path, sizeof(path), "%s/abs.sqlite3", dir);
    snprintf(url, sizeof(url), "SQLite:///%s", path);
    assert_int_equal(store_open(url, NULL, &s), ERR_OK);
    int v = -1;
    assert_int_equal(store_schema_version(s, &v), ERR_OK);
    assert_int_equal(v, 0);
    store_close(s);
    assert_int_equal(stat(path, &sb), 0);

    remove_db_files(path);
    char rel[128];
    snprintf(rel, sizeof(rel), "%s/data/db.sqlite3", dir);
    remove_db_files(rel);
    snprintf(rel, sizeof(rel), "%s/data", dir);
    assert_int_equal(rmdir(rel), 0);
    assert_int_equal(rmdir(dir), 0);
}

/* A new database: version 0, a database error (not a crash) before migrating. */
static void test_unmigrated(void **state)
{
    struct fixture *fx = *state;
    struct store *s = fx->s;
    int v = -1;
    assert_int_equal(store_schema_version(s, &v), ERR_OK);
    assert_int_equal(v, 0);
    /* No tables yet: a database error, not a crash. */
    int64_t n = 42;
    assert_int_equal(store_user_count(s, &n), ERR_DB);
    assert_int_equal(n, 42);
    int applied = 0;
    assert_int_equal(store_migrate(s, &applied), ERR_OK);
    assert_true(applied >= 1);
    assert_int_equal(store_schema_version(s, &v), ERR_OK);
    assert_int_equal(v, applied);
    assert_int_equal(store_user_count(s, &n), ERR_OK);
    assert_int_equal(n, 0);
    assert_int_equal(store_migrate(s, NULL), ERR_OK); /* ret_applied may be NULL */
}

#define MIGRATORS 4

struct migrator {
    const char *url;
    pthread_barrier_t *start;
    enum err result;
    int applied;
};

static void *migrator_main(void *arg)
{
    struct migrator *m = arg;
    struct store *s = NULL;
    m->result = store_open(m->url, NULL, &s);
    pthread_barrier_wait(m->start);
    if (!m->result)
        m->result = store_migrate(s, &m->applied);
    store_close(s);
    return NULL;
}

/* Stores (as separate processes would) migrating one new database at once:
 * exactly one applies each migration. */
static void test_migrate_race(void **state)
{
    struct fixture *fx = *state;
    pthread_barrier_t start;
    assert_int_equal(pthread_barrier_init(&start, NULL, MIGRATORS), 0);
    pthread_t th[MIGRATORS];
    struct migrator m[MIGRATORS];
    for (int i = 0; i < MIGRATORS; i++) {
        m[i] = (struct migrator){fx->url, &start, ERR_INTERNAL, 0};
        assert_int_equal(pthread_create(&th[i], NULL, migrator_main, &m[i]), 0);
    }
    int applied = 0;
    for (int i = 0; i < MIGRATORS; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
        assert_int_equal(m[i].result, ERR_OK);
        applied += m[i].applied;
    }
    pthread_barrier_destroy(&start);
    struct store *s = NULL;
    assert_int_equal(store_open(fx->url, NULL, &s), ERR_OK);
    int v = 0;
    assert_int_equal(store_schema_version(s, &v), ERR_OK);
    assert_int_equal(applied, v);
    assert_true(v >= 1);
    store_close(s);
}

static void test_migrate_twice(void **state)
{
    struct fixture *fx = *state;
    int version = 0;
    assert_int_equal(store_schema_version(fx->s, &version), ERR_OK);
    assert_true(version >= 1);
    int applied = -1;
    assert_int_equal(store_migrate(fx->s, &applied), ERR_OK);
    assert_int_equal(applied, 0);
    int again = 0;
    assert_int_equal(store_schema_version(fx->s, &again), ERR_OK);
    assert_int_equal(again, version);
    assert_int_equal(raw_int(fx, "SELECT count(*) FROM schema_migrations", 0), version);
    assert_int_equal(raw_int2(fx, "SELECT min(applied_at) > 0 FROM schema_migrations",
                              "SELECT min(applied_at) > now() - interval '1 hour'"
                              " FROM schema_migrations",
                              0),
                     1);

    /* The whole data model exists, with its indexes. */
    static const char *const objects[] = {
        "users",
        "platforms",
        "tickets",
        "archives",
        "tickets_time_create",
        "archives_ticket_id",
        "archives_time_create",
    };
    for (size_t i = 0; fx->pg && i < sizeof(objects) / sizeof(objects[0]); i++) {
        const char *values[1] = {objects[i]};
        PGresult *r = PQexecParams(fx->pgraw, "SELECT count(*) FROM pg_class WHERE relname = $1", 1,
                                   NULL, values, NULL, NULL, 0);
        assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
        assert_string_equal(PQgetvalue(r, 0, 0), "1");
        PQclear(r);
    }
    for (size_t i = 0; !fx->pg && i < sizeof(objects) / sizeof(objects[0]); i++) {
        sqlite3_stmt *st;
        assert_int_equal(sqlite3_prepare_v2(fx->raw,
                                            "SELECT count(*) FROM sqlite_schema WHERE name = ?", -1,
                                            &st, NULL),
                         SQLITE_OK);
        sqlite3_bind_text(st, 1, objects[i], -1, SQLITE_STATIC);
        assert_int_equal(sqlite3_step(st), SQLITE_ROW);
        assert_int_equal(sqlite3_column_int(st, 0), 1);
        sqlite3_finalize(st);
    }
    assert_int_equal(raw_int2(fx,
                              "SELECT count(*) FROM pragma_table_info('users') WHERE name IN"
                              " ('totp_secret', 'totp_enabled', 'totp_last_counter')",
                              "SELECT count(*) FROM information_schema.columns"
                              " WHERE table_name = 'users' AND column_name IN"
                              " ('totp_secret', 'totp_enabled', 'totp_last_counter')",
                              0),
                     3);

    if (fx->pg) {
        /* Native types. */
        assert_int_equal(raw_int(fx,
                                 "SELECT count(*) FROM information_schema.columns WHERE"
                                 " (table_name, column_name, data_type) IN"
                                 " (('tickets', 'token', 'uuid'),"
                                 " ('tickets', 'expires_at', 'timestamp with time zone'),"
                                 " ('tickets', 'resolved', 'boolean'),"
                                 " ('tickets', 'id', 'bigint'),"
                                 " ('archives', 'size', 'bigint'))",
                                 0),
                         5);
    } else {
        /* WAL is a property of the file: visible from any connection. */
        sqlite3_stmt *st;
        assert_int_equal(sqlite3_prepare_v2(fx->raw, "PRAGMA journal_mode", -1, &st, NULL),
                         SQLITE_OK);
        assert_int_equal(sqlite3_step(st), SQLITE_ROW);
        assert_string_equal((const char *)sqlite3_column_text(st, 0), "wal");
        sqlite3_finalize(st);
    }

    /* A database migrated by a newer program is refused. */
    raw_int2(fx, "INSERT INTO schema_migrations VALUES (?, 1)",
             "INSERT INTO schema_migrations VALUES (?, now())", 1, (int64_t)(version + 1));
    applied = -1;
    assert_int_equal(store_migrate(fx->s, &applied), ERR_DB);
    assert_int_equal(applied, -1);
    raw_int(fx, "DELETE FROM schema_migrations WHERE version = ?", 1, (int64_t)(version + 1));
    assert_int_equal(store_ping(fx->s), ERR_OK);
}

/* --- users --- */

static void test_users(void **state)
{
    struct fixture *fx = *state;
    struct user u = {0};
    strcpy(u.username, "admin");
    strcpy(u.password_hash, "$argon2id$v=19$m=65536,t=2,p=1$abc$def");
    u.is_admin = true;
    u.is_active = true;
    strcpy(u.name, "Ad Min");
    strcpy(u.email, "admin@example.com");
    int64_t id = 0;
    assert_int_equal(store_user_create(fx->s, &u, NULL, &id), ERR_OK);
    assert_true(id > 0);

    int64_t id2 = 777;
    assert_int_equal(store_user_create(fx->s, &u, NULL, &id2), ERR_EXISTS);
    assert_int_equal(id2, 777);

    struct user got;
    assert_int_equal(store_user_get(fx->s, "admin", &got), ERR_OK);
    assert_int_equal(got.id, id);
    assert_string_equal(got.username, "admin");
    assert_string_equal(got.password_hash, u.password_hash);
    assert_true(got.is_admin);
    assert_true(got.is_active);
    assert_string_equal(got.name, "Ad Min");
    assert_string_equal(got.email, "admin@example.com");
    assert_true(got.created > 1600000000LL * 1000000);
    assert_int_equal(got.last_login, 0);

    memset(&got, 0x5a, sizeof(got));
    assert_int_equal(store_user_get(fx->s, "nobody", &got), ERR_NOT_FOUND);
    assert_int_equal(got.id, 0x5a5a5a5a5a5a5a5aLL); /* untouched */
    assert_int_equal(store_user_get(fx->s, "ADMIN", &got), ERR_NOT_FOUND);
    assert_int_equal(store_user_get_by_id(fx->s, id + 100, &got), ERR_NOT_FOUND);
    assert_int_equal(store_user_get_by_id(fx->s, id, &got), ERR_OK);
    assert_string_equal(got.username, "admin");

    assert_int_equal(store_user_set_password(fx->s, "admin", "$new", NULL), ERR_OK);
    assert_int_equal(store_user_get(fx->s, "admin", &got), ERR_OK);
    assert_string_equal(got.password_hash, "$new");
    assert_int_equal(store_user_set_password(fx->s, "nobody", "$x", NULL), ERR_NOT_FOUND);

    assert_int_equal(store_user_touch_login(fx->s, id, 1700000000123456LL, NULL), ERR_OK);
    assert_int_equal(store_user_get_by_id(fx->s, id, &got), ERR_OK);
    assert_int_equal(got.last_login, 1700000000123456LL);
    assert_int_equal(store_user_touch_login(fx->s, id + 100, 1, NULL), ERR_NOT_FOUND);

    int64_t bob = add_user(fx, "bob");
    int64_t n = 0;
    assert_int_equal(store_user_count(fx->s, &n), ERR_OK);
    assert_int_equal(n, 2);
    struct user *items = NULL;
    size_t count = 0;
    assert_int_equal(store_user_list(fx->s, &items, &count), ERR_OK);
    assert_int_equal(count, 2);
    assert_int_equal(items[0].id, id);
    assert_int_equal(items[1].id, bob);
    assert_string_equal(items[1].username, "bob");
    assert_false(items[1].is_admin);
    free(items);

    /* Deleting a user keeps their tickets, now without a creator. */
    add_platform(fx, "vm6");
    add_ticket(fx, 4242, "vm6", bob);
    struct ticket t;
    assert_int_equal(store_ticket_get(fx->s, 4242, &t), ERR_OK);
    assert_int_equal(t.user_id, bob);
    assert_string_equal(t.user, "bob");
    store_ticket_clear(&t);
    assert_int_equal(store_user_delete(fx->s, "bob", NULL), ERR_OK);
    assert_int_equal(store_user_delete(fx->s, "bob", NULL), ERR_NOT_FOUND);
    assert_int_equal(store_user_get(fx->s, "bob", &got), ERR_NOT_FOUND);
    assert_int_equal(store_ticket_get(fx->s, 4242, &t), ERR_OK);
    assert_int_equal(t.user_id, 0);
    assert_string_equal(t.user, "");
    store_ticket_clear(&t);
    assert_int_equal(store_user_count(fx->s, &n), ERR_OK);
    assert_int_equal(n, 1);
}

/* --- platforms --- */

static void test_platforms(void **state)
{
    struct fixture *fx = *state;
    struct platform *items = NULL;
    size_t n = 99;
    assert_int_equal(store_platform_list(fx->s, &items, &n), ERR_OK);
    assert_int_equal(n, 0);
    free(items);

    struct platform p = {0}, got;
    strcpy(p.name, "vm6");
    strcpy(p.pretty_name, "VMmanager 6");
    assert_int_equal(store_platform_create(fx->s, &p, NULL, &got), ERR_OK);
    assert_true(got.id > 0);
    assert_string_equal(got.name, "vm6");
    assert_string_equal(got.pretty_name, "VMmanager 6");
    int64_t vm6 = got.id;

    memset(&got, 0x5a, sizeof(got));
    assert_int_equal(store_platform_create(fx->s, &p, NULL, &got), ERR_EXISTS);
    assert_int_equal(got.id, 0x5a5a5a5a5a5a5a5aLL);
    add_platform(fx, "dci6");

    assert_int_equal(store_platform_get(fx->s, "vm6", &got), ERR_OK);
    assert_int_equal(got.id, vm6);
    assert_string_equal(got.pretty_name, "VMmanager 6");
    assert_int_equal(store_platform_get(fx->s, "nope", &got), ERR_NOT_FOUND);

    assert_int_equal(store_platform_list(fx->s, &items, &n), ERR_OK);
    assert_int_equal(n, 2);
    assert_string_equal(items[0].name, "vm6");
    assert_string_equal(items[1].name, "dci6");
    free(items);

    /* Rename: the tickets follow the platform. */
    add_ticket(fx, 10, "vm6", 0);
    struct platform q = {0};
    strcpy(q.name, "vm7");
    strcpy(q.pretty_name, "VMmanager 7");
    assert_int_equal(store_platform_update(fx->s, "vm6", &q, NULL, &got), ERR_OK);
    assert_int_equal(got.id, vm6);
    assert_string_equal(got.name, "vm7");
    assert_string_equal(got.pretty_name, "VMmanager 7");
    assert_int_equal(store_platform_get(fx->s, "vm6", &got), ERR_NOT_FOUND);
    struct ticket t;
    assert_int_equal(store_ticket_get(fx->s, 10, &t), ERR_OK);
    assert_string_equal(t.platform, "vm7");
    assert_int_equal(t.platform_id, vm6);
    store_ticket_clear(&t);

    assert_int_equal(store_platform_update(fx->s, "vm6", &q, NULL, NULL), ERR_NOT_FOUND);
    strcpy(q.name, "dci6");
    assert_int_equal(store_platform_update(fx->s, "vm7", &q, NULL, &got), ERR_EXISTS);
    assert_int_equal(store_platform_get(fx->s, "vm7", &got), ERR_OK);
    assert_string_equal(got.pretty_name, "VMmanager 7");
    /* Same name, new pretty name. */
    strcpy(q.name, "vm7");
    strcpy(q.pretty_name, "VM 7");
    assert_int_equal(store_platform_update(fx->s, "vm7", &q, NULL, NULL), ERR_OK);
    assert_int_equal(store_platform_get(fx->s, "vm7", &got), ERR_OK);
    assert_string_equal(got.pretty_name, "VM 7");

    struct path_list paths = {7, (char **)0x1};
    assert_int_equal(store_platform_delete(fx->s, "nope", NULL, &paths), ERR_NOT_FOUND);
    assert_int_equal(paths.n, 7);
    assert_int_equal(store_platform_delete(fx->s, "dci6", NULL, NULL), ERR_OK);
    assert_int_equal(store_platform_get(fx->s, "dci6", &got), ERR_NOT_FOUND);
}

/* --- tickets --- */

static void test_tickets(void **state)
{
    struct fixture *fx = *state;
    add_platform(fx, "vm6");
    add_platform(fx, "bill");
    int64_t alice = add_user(fx, "alice");

    struct ticket t, got;
    make_ticket(&t, 1234, "vm6", alice);
    t.note = "# markdown note";
    t.expires_at = 1900000000000000LL;
    t.attempts = 3;
    int64_t before = raw_now(fx);
    assert_int_equal(store_ticket_create(fx->s, &t, NULL, &got), ERR_OK);
    assert_true(got.id > 0);
    assert_int_equal(got.number, 1234);
    assert_string_equal(got.platform, "vm6");
    assert_true(got.platform_id > 0);
    assert_int_equal(got.user_id, alice);
    assert_string_equal(got.user, "alice");
    assert_false(got.resolved);
    assert_string_equal(got.note, "# markdown note");
    assert_string_equal(got.token, t.token);
    assert_int_equal(got.attempts, 3);
    assert_int_equal(got.expires_at, 1900000000000000LL);
    assert_true(got.time_create >= before - 1000000);
    assert_int_equal(got.time_update, got.time_create);
    assert_int_equal(got.archives, 0);
    assert_int_equal(got.size, 0);
    int64_t id = got.id, created = got.time_create;
    store_ticket_clear(&got);
    assert_null(got.note);
    store_ticket_clear(NULL);

    /* The row as stored: NULL for "no expiry", no user. */
    struct ticket t2;
    make_ticket(&t2, 99, "bill", 0);
    assert_int_equal(store_ticket_create(fx->s, &t2, NULL, NULL), ERR_OK);
    assert_int_equal(raw_int(fx,
                             "SELECT expires_at IS NULL AND user_id IS NULL FROM tickets"
                             " WHERE number = ?",
                             1, (int64_t)99),
                     1);
    assert_int_equal(store_ticket_get(fx->s, 99, &got), ERR_OK);
    assert_string_equal(got.note, ""); /* NULL note stored as "" */
    assert_int_equal(got.expires_at, 0);
    assert_int_equal(got.user_id, 0);
    assert_string_equal(got.user, "");
    store_ticket_clear(&got);

    /* Errors on create; ret untouched. */
    memset(&got, 0x5a, sizeof(got));
    make_ticket(&t2, 1234, "vm6", 0);
    strcpy(t2.token, "00000000-0000-4000-8000-999999999999");
    assert_int_equal(store_ticket_create(fx->s, &t2, NULL, &got), ERR_EXISTS); /* number */
    make_ticket(&t2, 5555, "vm6", 0);
    strcpy(t2.token, t.token);
    assert_int_equal(store_ticket_create(fx->s, &t2, NULL, &got), ERR_EXISTS); /* token */
    make_ticket(&t2, 5555, "nope", 0);
    assert_int_equal(store_ticket_create(fx->s, &t2, NULL, &got), ERR_REFERENCE);
    make_ticket(&t2, 5555, "vm6", alice + 1000);
    assert_int_equal(store_ticket_create(fx->s, &t2, NULL, &got), ERR_REFERENCE); /* user */
    make_ticket(&t2, 5555, "vm6", 0);
    t2.attempts = 101;
    assert_int_equal(store_ticket_create(fx->s, &t2, NULL, &got), ERR_DB); /* CHECK 0..100 */
    assert_int_equal(got.id, 0x5a5a5a5a5a5a5a5aLL);
    assert_int_equal(raw_int(fx, "SELECT count(*) FROM tickets WHERE number = 5555", 0), 0);

    /* Get / by token. */
    assert_int_equal(store_ticket_get(fx->s, 1234, &got), ERR_OK);
    assert_int_equal(got.id, id);
    store_ticket_clear(&got);
    assert_int_equal(store_ticket_get_by_token(fx->s, t.token, &got), ERR_OK);
    assert_int_equal(got.number, 1234);
    store_ticket_clear(&got);
    memset(&got, 0x5a, sizeof(got));
    assert_int_equal(store_ticket_get(fx->s, 4321, &got), ERR_NOT_FOUND);
    assert_int_equal(store_ticket_get_by_token(fx->s, "no-such-token", &got), ERR_NOT_FOUND);
    assert_int_equal(got.id, 0x5a5a5a5a5a5a5a5aLL);

    /* Update: number, platform, resolved, note, attempts, expires_at; not token/user/created. */
    struct ticket u;
    make_ticket(&u, 4321, "bill", 0);
    strcpy(u.token, "ignored");
    u.resolved = true;
    u.note = "updated";
    u.attempts = 0;
    u.expires_at = 0;
    assert_int_equal(store_ticket_update(fx->s, 1234, &u, NULL, &got), ERR_OK);
    assert_int_equal(got.id, id);
    assert_int_equal(got.number, 4321);
    assert_string_equal(got.platform, "bill");
    assert_true(got.resolved);
    assert_string_equal(got.note, "updated");
    assert_int_equal(got.attempts, 0);
    assert_int_equal(got.expires_at, 0);
    assert_string_equal(got.token, t.token);
    assert_int_equal(got.user_id, alice);
    assert_int_equal(got.time_create, created);
    assert_true(got.time_update >= created);
    store_ticket_clear(&got);
    assert_int_equal(store_ticket_get(fx->s, 1234, &got), ERR_NOT_FOUND);

    memset(&got, 0x5a, sizeof(got));
    assert_int_equal(store_ticket_update(fx->s, 1234, &u, NULL, &got), ERR_NOT_FOUND);
    u.number = 99;
    assert_int_equal(store_ticket_update(fx->s, 4321, &u, NULL, &got), ERR_EXISTS);
    u.number = 4321;
    strcpy(u.platform, "nope");
    assert_int_equal(store_ticket_update(fx->s, 4321, &u, NULL, &got), ERR_REFERENCE);
    assert_int_equal(got.id, 0x5a5a5a5a5a5a5a5aLL);
    strcpy(u.platform, "bill");
    assert_int_equal(store_ticket_update(fx->s, 4321, &u, NULL, NULL), ERR_OK);

    /* New token. */
    assert_int_equal(store_ticket_set_token(fx->s, 4321, "11111111-2222-4333-8444-555555555555", 5,
                                            2000000000000000LL, NULL, &got),
                     ERR_OK);
    assert_string_equal(got.token, "11111111-2222-4333-8444-555555555555");
    assert_int_equal(got.attempts, 5);
    assert_int_equal(got.expires_at, 2000000000000000LL);
    assert_int_equal(got.number, 4321);
    store_ticket_clear(&got);
    assert_int_equal(store_ticket_get_by_token(fx->s, t.token, &got), ERR_NOT_FOUND);
    assert_int_equal(store_ticket_set_token(fx->s, 1, "x", 5, 0, NULL, &got), ERR_NOT_FOUND);
    /* The token of ticket 99 is taken. */
    make_ticket(&t2, 99, "bill", 0);
    assert_int_equal(store_ticket_set_token(fx->s, 4321, t2.token, 5, 0, NULL, &got), ERR_EXISTS);
    assert_int_equal(store_ticket_set_token(fx->s, 4321, "00000000-0000-4000-8000-00000000beef", 1,
                                            0, NULL, NULL),
                     ERR_OK);
    assert_int_equal(store_ticket_get_by_token(fx->s, "00000000-0000-4000-8000-00000000beef", &got),
                     ERR_OK);
    assert_int_equal(got.expires_at, 0);
    store_ticket_clear(&got);

    /* Delete. */
    struct path_list paths = {0, NULL};
    assert_int_equal(store_ticket_delete(fx->s, 4321, NULL, &paths), ERR_OK);
    assert_int_equal(paths.n, 0);
    store_path_list_free(&paths);
    assert_int_equal(store_ticket_delete(fx->s, 4321, NULL, &paths), ERR_NOT_FOUND);
    assert_int_equal(store_ticket_delete(fx->s, 99, NULL, NULL), ERR_OK);
    assert_int_equal(raw_int(fx, "SELECT count(*) FROM tickets", 0), 0);
}

/* --- ticket list --- */

#define NLIST 20

struct model {
    int64_t number;
    int64_t id;
    const char *user;
    bool resolved;
    int64_t time_create;
    int year, month; /* local */
};

static int64_t local_time(int year, int month, int day, int hour)
{
    struct tm tm = {0};
    tm.tm_year = year - 1900;
    tm.tm_mon = month - 1;
    tm.tm_mday = day;
    tm.tm_hour = hour;
    tm.tm_isdst = -1;
    return (int64_t)mktime(&tm) * 1000000;
}

/* Creates NLIST tickets with varied numbers, users, states and local dates. */
static void list_fixture(struct fixture *fx, struct model *m)
{
    add_platform(fx, "vm6");
    int64_t alice = add_user(fx, "alice");
    int64_t bob = add_user(fx, "bob");
    static const int64_t numbers[NLIST] = {5,    17,     100, 123,  1234, 2023, 3141,
                                           4000, 42,     999, 1001, 777,  8080, 1212,
                                           31,   123456, 55,  606,  7070, 11};
    for (int i = 0; i < NLIST; i++) {
        int64_t uid = 0;
        const char *user = "";
        if (i % 3 == 1) {
            uid = alice, user = "alice";
        } else if (i % 3 == 2) {
            uid = bob, user = "bob";
        }
        m[i].number = numbers[i];
        m[i].user = user;
        m[i].resolved = i % 4 == 0;
        m[i].year = 2021 + i % 4;
        m[i].month = 1 + (i * 5) % 12;
        m[i].time_create = local_time(m[i].year, m[i].month, 10 + i % 5, 12) + i;
        m[i].id = add_ticket(fx, numbers[i], "vm6", uid);
        if (m[i].resolved)
            raw_int2(fx, "UPDATE tickets SET resolved = 1 WHERE id = ?",
                     "UPDATE tickets SET resolved = true WHERE id = ?", 1, m[i].id);
        raw_int2(fx, "UPDATE tickets SET time_create = ? WHERE id = ?",
                 "UPDATE tickets SET time_create = " PG_TIME("?") " WHERE id = ?", 2,
                 m[i].time_create, m[i].id);
    }
    /* Two tickets created in the same microsecond: id breaks the tie. */
    m[NLIST - 1].time_create = m[NLIST - 2].time_create;
    m[NLIST - 1].year = m[NLIST - 2].year;
    m[NLIST - 1].month = m[NLIST - 2].month;
    raw_int2(fx, "UPDATE tickets SET time_create = ? WHERE id = ?",
             "UPDATE tickets SET time_create = " PG_TIME("?") " WHERE id = ?", 2,
             m[NLIST - 1].time_create, m[NLIST - 1].id);
}

static bool in_set(const struct int_set *s, int64_t v)
{
    if (!s->set && s->n == 0)
        return true;
    for (size_t i = 0; i < s->n; i++)
        if (s->v[i] == v)
            return true;
    return false;
}

static bool in_bounds(const struct int_bound *lte, const struct int_bound *gte, int64_t v)
{
    return (!lte->set || v <= lte->v) && (!gte->set || v >= gte->v);
}

static bool contains(int64_t number, const char *needle)
{
    char buf[32];
    snprintf(buf, sizeof(buf), "%lld", (long long)number);
    return !needle || strstr(buf, needle) != NULL;
}

/* The filter's meaning, evaluated on the model. */
static bool matches(const struct model *m, const struct ticket_filter *f)
{
    return in_set(&f->number, m->number) && in_set(&f->number_in, m->number) &&
           contains(m->number, f->number_contains) &&
           in_bounds(&f->number_lte, &f->number_gte, m->number) && in_set(&f->id, m->id) &&
           in_set(&f->id_in, m->id) && in_bounds(&f->id_lte, &f->id_gte, m->id) &&
           (f->resolved < 0 || m->resolved == (f->resolved != 0)) &&
           (!f->user || strcmp(f->user, m->user) == 0) &&
           in_bounds(&f->year_lte, &f->year_gte, m->year) &&
           in_bounds(&f->month_lte, &f->month_gte, m->month) && contains(m->number, f->search);
}

/* The store's list order: time_create descending, then id descending. */
static int newest(int64_t time_x, int64_t id_x, int64_t time_y, int64_t id_y)
{
    if (time_x != time_y)
        return time_x < time_y ? 1 : -1;
    return id_x < id_y ? 1 : id_x > id_y ? -1 : 0;
}

static int newest_first(const void *a, const void *b)
{
    const struct model *x = a, *y = b;
    return newest(x->time_create, x->id, y->time_create, y->id);
}

/* Asserts that a listed page of n rows with the given total fits nwant
 * expected rows paged by limit (< 0: none) and offset; returns the index of
 * the expected row the page starts at. */
static size_t check_page(size_t nwant, int64_t limit, int64_t offset, int64_t total, size_t n)
{
    size_t from = (size_t)(offset < (int64_t)nwant ? offset : (int64_t)nwant);
    size_t upto = limit < 0 || from + (size_t)limit > nwant ? nwant : from + (size_t)limit;
    assert_int_equal(total, nwant);
    assert_int_equal(n, upto - from);
    return from;
}

/* Lists with f and compares with the model: same tickets, same order, same total.
 * Returns the total, so callers can assert that the case is not vacuous. */
static int64_t check_list(struct fixture *fx, const struct model *m, const struct ticket_filter *f)
{
    struct model want[NLIST];
    size_t nwant = 0;
    for (size_t i = 0; i < NLIST; i++)
        if (matches(&m[i], f))
            want[nwant++] = m[i];
    qsort(want, nwant, sizeof(want[0]), newest_first);
    struct ticket *items = NULL;
    size_t n = 0;
    int64_t total = -1;
    assert_int_equal(store_ticket_list(fx->s, f, &items, &n, &total), ERR_OK);
    size_t from = check_page(nwant, f->limit, f->offset, total, n);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(items[i].number, want[from + i].number);
        assert_int_equal(items[i].id, want[from + i].id);
        assert_string_equal(items[i].user, want[from + i].user);
        assert_string_equal(items[i].platform, "vm6");
        assert_non_null(items[i].note);
    }
    store_ticket_list_free(items, n);
    return total;
}

static void test_ticket_list_filters(void **state)
{
    struct fixture *fx = *state;
    struct model m[NLIST];
    list_fixture(fx, m);
    struct ticket_filter f;

    store_ticket_filter_init(&f);
    assert_int_equal(f.resolved, -1);
    assert_int_equal(f.limit, -1);
    assert_int_equal(f.offset, 0);
    assert_int_equal(check_list(fx, m, &f), NLIST);

    /* number= and number__in= (both: both must match) */
    store_ticket_filter_init(&f);
    f.number = (struct int_set){.set = true, .n = 3, .v = {5, 123, 9999}};
    assert_int_equal(check_list(fx, m, &f), 2);
    f.number_in = (struct int_set){.set = true, .n = 2, .v = {123, 42}};
    assert_int_equal(check_list(fx, m, &f), 1);
    store_ticket_filter_init(&f);
    f.number_in = (struct int_set){.set = true, .n = 0};
    assert_int_equal(check_list(fx, m, &f), 0); /* an empty set matches nothing */
    store_ticket_filter_init(&f);
    f.number.set = true;
    f.number.n = LIMIT_FILTER_IN;
    for (size_t i = 0; i < LIMIT_FILTER_IN; i++)
        f.number.v[i] = (int64_t)i * 10 + 1; /* ... 11, 31, 1001 ... */
    assert_true(check_list(fx, m, &f) >= 2);

    /* number__contains and search, with LIKE wildcards taken literally */
    static const char *const needles[] = {"12", "0", "123", "7", "9999", "%", "_", "1%", "\\", ""};
    for (size_t i = 0; i < sizeof(needles) / sizeof(needles[0]); i++) {
        store_ticket_filter_init(&f);
        f.number_contains = needles[i];
        int64_t a = check_list(fx, m, &f);
        store_ticket_filter_init(&f);
        f.search = needles[i];
        assert_int_equal(check_list(fx, m, &f), a);
    }
    store_ticket_filter_init(&f);
    f.number_contains = "12";
    assert_int_equal(check_list(fx, m, &f), 4); /* 123 1234 1212 123456 */
    store_ticket_filter_init(&f);
    f.search = "%";
    assert_int_equal(check_list(fx, m, &f), 0);
    f.number_contains = "1";
    f.search = "2";
    assert_true(check_list(fx, m, &f) > 0);

    /* bounds on number and id */
    store_ticket_filter_init(&f);
    f.number_lte = (struct int_bound){true, 1000};
    f.number_gte = (struct int_bound){true, 42};
    assert_true(check_list(fx, m, &f) > 0);
    store_ticket_filter_init(&f);
    f.id = (struct int_set){.set = true, .n = 2, .v = {m[3].id, m[4].id}};
    assert_int_equal(check_list(fx, m, &f), 2);
    f.id_in = (struct int_set){.set = true, .n = 1, .v = {m[4].id}};
    assert_int_equal(check_list(fx, m, &f), 1);
    store_ticket_filter_init(&f);
    f.id_gte = (struct int_bound){true, m[5].id};
    f.id_lte = (struct int_bound){true, m[9].id};
    assert_int_equal(check_list(fx, m, &f), 5);

    /* resolved tri-state */
    store_ticket_filter_init(&f);
    f.resolved = 1;
    assert_int_equal(check_list(fx, m, &f), 5);
    f.resolved = 0;
    assert_int_equal(check_list(fx, m, &f), 15);

    /* creator */
    store_ticket_filter_init(&f);
    f.user = "alice";
    assert_int_equal(check_list(fx, m, &f), 7);
    f.user = "bob";
    assert_true(check_list(fx, m, &f) > 0);
    f.user = "nobody";
    assert_int_equal(check_list(fx, m, &f), 0);

    /* year / month of time_create in the local zone */
    for (int y = 2020; y <= 2025; y++) {
        store_ticket_filter_init(&f);
        f.year_gte = (struct int_bound){true, y};
        check_list(fx, m, &f);
        store_ticket_filter_init(&f);
        f.year_lte = (struct int_bound){true, y};
        check_list(fx, m, &f);
    }
    for (int mo = 1; mo <= 12; mo++) {
        store_ticket_filter_init(&f);
        f.month_gte = (struct int_bound){true, mo};
        f.month_lte = (struct int_bound){true, mo};
        check_list(fx, m, &f);
    }
    store_ticket_filter_init(&f);
    f.year_gte = (struct int_bound){true, 2022};
    f.year_lte = (struct int_bound){true, 2023};
    f.month_gte = (struct int_bound){true, 3};
    f.month_lte = (struct int_bound){true, 9};
    assert_true(check_list(fx, m, &f) > 0);

    /* Everything at once. */
    store_ticket_filter_init(&f);
    f.resolved = 0;
    f.user = "bob";
    f.number_gte = (struct int_bound){true, 10};
    f.year_gte = (struct int_bound){true, 2022};
    check_list(fx, m, &f);

    /* limit / offset / total */
    for (int64_t limit = -1; limit <= NLIST + 1; limit += 3) {
        for (int64_t offset = 0; offset <= NLIST + 2; offset += 4) {
            store_ticket_filter_init(&f);
            f.limit = limit;
            f.offset = offset;
            assert_int_equal(check_list(fx, m, &f), NLIST);
            f.resolved = 0;
            assert_int_equal(check_list(fx, m, &f), 15);
        }
    }
    /* ret_total may be NULL. */
    store_ticket_filter_init(&f);
    f.limit = 2;
    struct ticket *items = NULL;
    size_t n = 0;
    assert_int_equal(store_ticket_list(fx->s, &f, &items, &n, NULL), ERR_OK);
    assert_int_equal(n, 2);
    store_ticket_list_free(items, n);
    store_ticket_list_free(NULL, 0);
}

/* Lists with f (ERR_OK asserted) and returns the number of rows; *ret_total
 * gets the total. */
static size_t list_size(struct fixture *fx, const struct ticket_filter *f, int64_t *ret_total)
{
    struct ticket *items = NULL;
    size_t n = 0;
    assert_int_equal(store_ticket_list(fx->s, f, &items, &n, ret_total), ERR_OK);
    store_ticket_list_free(items, n);
    return n;
}

/* TZ=JST-9 (set in main): a ticket created at 2023-12-31 20:00 UTC belongs to
 * January 2024 locally. */
static void test_ticket_list_local_time(void **state)
{
    struct fixture *fx = *state;
    add_platform(fx, "vm6");
    int64_t id = add_ticket(fx, 1, "vm6", 0);
    raw_int2(fx, "UPDATE tickets SET time_create = ? WHERE id = ?",
             "UPDATE tickets SET time_create = " PG_TIME("?") " WHERE id = ?", 2,
             (int64_t)1704052800 * 1000000, id);
    struct ticket_filter f;
    int64_t total = -1;

    store_ticket_filter_init(&f);
    f.year_gte = (struct int_bound){true, 2024};
    f.year_lte = (struct int_bound){true, 2024};
    f.month_lte = (struct int_bound){true, 1};
    assert_int_equal(list_size(fx, &f, &total), 1);
    assert_int_equal(total, 1);

    store_ticket_filter_init(&f);
    f.year_lte = (struct int_bound){true, 2023};
    assert_int_equal(list_size(fx, &f, &total), 0);
    assert_int_equal(total, 0);

    store_ticket_filter_init(&f);
    f.month_gte = (struct int_bound){true, 12};
    assert_int_equal(list_size(fx, &f, &total), 0);
    assert_int_equal(total, 0);
}

/* --- archives: aggregation and cascades --- */

static void test_archives_cascade(void **state)
{
    struct fixture *fx = *state;
    add_platform(fx, "vm6");
    add_platform(fx, "bill");
    int64_t t1 = add_ticket(fx, 1, "vm6", 0);
    int64_t t2 = add_ticket(fx, 2, "vm6", 0);
    int64_t t3 = add_ticket(fx, 3, "bill", 0);
    add_ticket(fx, 4, "bill", 0);
    raw_archive(fx, t1, "1/a-first.tar.gz", 10);
    raw_archive(fx, t2, "2/b.log", 5);
    raw_archive(fx, t1, "1/c-second.zip", 32);
    raw_archive(fx, t3, "3/d.txt", 7);

    assert_ticket_archives(fx, 1, 2, 42);

    struct ticket_filter f;
    store_ticket_filter_init(&f);
    struct ticket *items = NULL;
    size_t n = 0;
    assert_int_equal(store_ticket_list(fx->s, &f, &items, &n, NULL), ERR_OK);
    assert_int_equal(n, 4);
    static const int64_t want_count[4] = {0, 1, 1, 2}, want_size[4] = {0, 7, 5, 42};
    for (size_t i = 0; i < 4; i++) { /* newest first: 4, 3, 2, 1 */
        assert_int_equal(items[i].number, 4 - (int64_t)i);
        assert_int_equal(items[i].archives, want_count[i]);
        assert_int_equal(items[i].size, want_size[i]);
    }
    store_ticket_list_free(items, n);

    /* Deleting a ticket returns its archives' paths, in upload order. */
    struct path_list paths = {0, NULL};
    assert_int_equal(store_ticket_delete(fx->s, 1, NULL, &paths), ERR_OK);
    assert_int_equal(paths.n, 2);
    assert_string_equal(paths.paths[0], "1/a-first.tar.gz");
    assert_string_equal(paths.paths[1], "1/c-second.zip");
    store_path_list_free(&paths);
    assert_int_equal(paths.n, 0);
    assert_null(paths.paths);
    store_path_list_free(&paths); /* twice is fine */
    store_path_list_free(NULL);
    assert_int_equal(raw_int(fx, "SELECT count(*) FROM archives WHERE ticket_id = ?", 1, t1), 0);

    /* Deleting a platform removes its tickets and their archives, nothing else. */
    assert_int_equal(store_platform_delete(fx->s, "vm6", NULL, &paths), ERR_OK);
    assert_int_equal(paths.n, 1);
    assert_string_equal(paths.paths[0], "2/b.log");
    store_path_list_free(&paths);
    struct ticket got;
    assert_int_equal(store_ticket_get(fx->s, 2, &got), ERR_NOT_FOUND);
    assert_int_equal(raw_int(fx, "SELECT count(*) FROM tickets", 0), 2);
    assert_int_equal(raw_int(fx, "SELECT count(*) FROM archives", 0), 1);

    /* Without a path list the cascade still happens. */
    assert_int_equal(store_platform_delete(fx->s, "bill", NULL, NULL), ERR_OK);
    assert_int_equal(raw_int(fx, "SELECT count(*) FROM tickets", 0), 0);
    assert_int_equal(raw_int(fx, "SELECT count(*) FROM archives", 0), 0);
}

/* --- concurrency --- */

#define NTHREADS   4
#define PER_THREAD 25

struct worker {
    struct store *s;
    int index;
    enum err result;
};

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    w->result = ERR_OK;
    for (int i = 0; i < PER_THREAD && !w->result; i++) {
        struct ticket t, got;
        make_ticket(&t, (int64_t)(w->index + 1) * 1000 + i, "vm6", 0);
        w->result = store_ticket_create(w->s, &t, NULL, &got);
        if (!w->result) {
            store_ticket_clear(&got);
            w->result = store_ticket_get(w->s, t.number, &got);
            if (!w->result && got.number != t.number)
                w->result = ERR_INTERNAL;
            store_ticket_clear(&got);
        }
        if (!w->result) {
            struct ticket_filter f;
            struct ticket *items = NULL;
            size_t n = 0;
            store_ticket_filter_init(&f);
            f.limit = 5;
            w->result = store_ticket_list(w->s, &f, &items, &n, NULL);
            store_ticket_list_free(items, n);
        }
    }
    return NULL;
}

static void test_threads(void **state)
{
    struct fixture *fx = *state;
    add_platform(fx, "vm6");
    pthread_t th[NTHREADS];
    struct worker w[NTHREADS];
    for (int i = 0; i < NTHREADS; i++) {
        w[i] = (struct worker){fx->s, i, ERR_INTERNAL};
        assert_int_equal(pthread_create(&th[i], NULL, worker_main, &w[i]), 0);
    }
    for (int i = 0; i < NTHREADS; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
        assert_int_equal(w[i].result, ERR_OK);
    }
    struct ticket_filter f;
    store_ticket_filter_init(&f);
    f.limit = 0;
    struct ticket *items = NULL;
    size_t n = 9;
    int64_t total = 0;
    assert_int_equal(store_ticket_list(fx->s, &f, &items, &n, &total), ERR_OK);
    assert_int_equal(n, 0);
    assert_int_equal(total, NTHREADS * PER_THREAD);
    store_ticket_list_free(items, n);

    /* A second round: the threads' connections were closed at their exit and
     * new threads open new ones. */
    for (int i = 0; i < NTHREADS; i++) {
        w[i] = (struct worker){fx->s, i + NTHREADS, ERR_INTERNAL};
        assert_int_equal(pthread_create(&th[i], NULL, worker_main, &w[i]), 0);
    }
    for (int i = 0; i < NTHREADS; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
        assert_int_equal(w[i].result, ERR_OK);
    }
    assert_int_equal(raw_int(fx, "SELECT count(*) FROM tickets", 0), 2 * NTHREADS * PER_THREAD);
}

/* A writer that holds the lock longer than busy_timeout: ERR_UNAVAILABLE for
 * writes, while reads keep working (WAL). */
static void test_busy(void **state)
{
    struct fixture *fx = *state;
    assert_int_equal(sqlite3_exec(fx->raw, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
    struct platform p = {0};
    strcpy(p.name, "vm6");
    assert_int_equal(store_platform_create(fx->s, &p, NULL, NULL), ERR_UNAVAILABLE);
    assert_int_equal(store_ping(fx->s), ERR_OK);
    int64_t n = -1;
    assert_int_equal(store_user_count(fx->s, &n), ERR_OK);
    assert_int_equal(n, 0);
    assert_int_equal(sqlite3_exec(fx->raw, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(store_platform_create(fx->s, &p, NULL, NULL), ERR_OK);
}

static void test_archive_filter_init(void **state)
{
    (void)state;
    struct archive_filter f;
    memset(&f, 0x5a, sizeof(f));
    store_archive_filter_init(&f);
    assert_false(f.id.set);
    assert_int_equal(f.id.n, 0);
    assert_false(f.ticket_in.set);
    assert_false(f.time_create_gte.set);
    assert_int_equal(f.limit, -1);
    assert_int_equal(f.offset, 0);
}

/* --- upload tokens --- */

#define T_NOW     1800000000000000LL /* "now" for the token rules, microseconds */
#define T_EXPIRES (T_NOW + 1000000)

/* Creates ticket `number` on vm6 by alice with the given token state; its
 * token is make_ticket's, see token_of(). */
static void token_ticket(struct fixture *fx, int64_t number, int attempts, int64_t expires_at,
                         bool resolved)
{
    struct ticket t;
    struct user u;
    if (store_user_get(fx->s, "alice", &u) != ERR_OK)
        u.id = add_user(fx, "alice");
    make_ticket(&t, number, "vm6", u.id);
    t.attempts = attempts;
    t.expires_at = expires_at;
    t.resolved = resolved;
    t.note = "n";
    assert_int_equal(store_ticket_create(fx->s, &t, NULL, NULL), ERR_OK);
}

/* The token make_ticket gives ticket `number`; buf holds TOKEN_LEN + 1. */
static const char *token_of(int64_t number, char *buf)
{
    struct ticket t;
    make_ticket(&t, number, "vm6", 0);
    memcpy(buf, t.token, sizeof(t.token));
    return buf;
}

static int64_t attempts_of(struct fixture *fx, int64_t number)
{
    return raw_int(fx, "SELECT attempts FROM tickets WHERE number = ?", 1, number);
}

static void test_token_check(void **state)
{
    struct fixture *fx = *state;
    add_platform(fx, "vm6");
    token_ticket(fx, 1, 3, T_EXPIRES, false);
    token_ticket(fx, 2, 0, T_EXPIRES, false);
    token_ticket(fx, 3, 3, T_NOW, false);
    token_ticket(fx, 4, 3, T_EXPIRES, true);
    token_ticket(fx, 5, 1, 0, false);
    token_ticket(fx, 6, 0, T_NOW - 1, true); /* every refusal at once */
    struct ticket ok, used, got;
    token_of(1, ok.token);
    token_of(2, used.token);
    enum token_state st = (enum token_state)99;

    assert_int_equal(store_token_check(fx->s, ok.token, T_NOW, &st, &got), ERR_OK);
    assert_int_equal(st, TOKEN_OK);
    assert_int_equal(got.number, 1);
    assert_string_equal(got.platform, "vm6");
    assert_string_equal(got.user, "alice");
    assert_string_equal(got.note, "n");
    assert_string_equal(got.token, ok.token);
    assert_int_equal(got.attempts, 3);
    assert_int_equal(got.expires_at, T_EXPIRES);
    store_ticket_clear(&got);
    /* Nothing consumed; ret may be NULL. */
    assert_int_equal(store_token_check(fx->s, ok.token, T_NOW, &st, NULL), ERR_OK);
    assert_int_equal(st, TOKEN_OK);
    assert_int_equal(attempts_of(fx, 1), 3);

    /* Refusals leave ret untouched (nothing to free). */
    static const struct {
        int64_t number; /* 0: unknown token */
        int64_t now;
        enum token_state want;
    } cases[] = {
        {0, T_NOW, TOKEN_UNKNOWN},         {2, T_NOW, TOKEN_USED_UP},
        {3, T_NOW, TOKEN_EXPIRED}, /* expires_at == now: expired */
        {3, T_NOW - 1, TOKEN_OK},  /* one microsecond before */
        {1, T_EXPIRES + 1, TOKEN_EXPIRED}, {4, T_NOW, TOKEN_RESOLVED},
        {5, INT64_MAX, TOKEN_OK},   /* no expiry */
        {6, T_NOW, TOKEN_RESOLVED}, /* resolved before used up before expired */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char token[TOKEN_LEN + 1] = "ffffffff-ffff-4fff-bfff-ffffffffffff";
        if (cases[i].number)
            token_of(cases[i].number, token);
        memset(&got, 0x5a, sizeof(got));
        st = (enum token_state)99;
        assert_int_equal(store_token_check(fx->s, token, cases[i].now, &st, &got), ERR_OK);
        assert_int_equal(st, cases[i].want);
        if (st == TOKEN_OK) {
            assert_int_equal(got.number, cases[i].number);
            store_ticket_clear(&got);
        } else {
            assert_int_equal(got.id, 0x5a5a5a5a5a5a5a5aLL);
        }
    }
    /* Used up is checked before expired. */
    raw_int2(fx, "UPDATE tickets SET expires_at = ? WHERE number = 2",
             "UPDATE tickets SET expires_at = " PG_TIME("?") " WHERE number = 2", 1, T_NOW - 5);
    assert_int_equal(store_token_check(fx->s, used.token, T_NOW, &st, NULL), ERR_OK);
    assert_int_equal(st, TOKEN_USED_UP);
    assert_int_equal(store_token_check(fx->s, "", T_NOW, &st, NULL), ERR_OK);
    assert_int_equal(st, TOKEN_UNKNOWN);

    /* Mandatory arguments. */
    assert_int_equal(store_token_check(NULL, ok.token, T_NOW, &st, NULL), ERR_INTERNAL);
    assert_int_equal(store_token_check(fx->s, NULL, T_NOW, &st, NULL), ERR_INTERNAL);
    assert_int_equal(store_token_check(fx->s, ok.token, T_NOW, NULL, NULL), ERR_INTERNAL);
}

static void test_token_consume(void **state)
{
    struct fixture *fx = *state;
    add_platform(fx, "vm6");
    token_ticket(fx, 1, 2, T_EXPIRES, false);
    token_ticket(fx, 3, 3, T_NOW, false);
    token_ticket(fx, 4, 3, T_EXPIRES, true);
    token_ticket(fx, 5, 1, 0, false);
    struct ticket two, expired, resolved, forever;
    token_of(1, two.token);
    token_of(3, expired.token);
    token_of(4, resolved.token);
    token_of(5, forever.token);
    int64_t created = raw_int2(fx, "SELECT time_update FROM tickets WHERE number = 1",
                               "SELECT " PG_US("time_update") " FROM tickets WHERE number = 1", 0);
    struct ticket got;
    enum token_state st = (enum token_state)99;

    /* Each success returns the ticket after the decrement. */
    assert_int_equal(store_token_consume(fx->s, two.token, T_NOW, NULL, &st, &got), ERR_OK);
    assert_int_equal(st, TOKEN_OK);
    assert_int_equal(got.number, 1);
    assert_int_equal(got.attempts, 1);
    assert_string_equal(got.platform, "vm6");
    assert_string_equal(got.user, "alice");
    assert_string_equal(got.token, two.token);
    assert_true(got.time_update >= created);
    assert_true(got.time_update > 1600000000LL * 1000000); /* wall clock, not `now` */
    store_ticket_clear(&got);
    assert_int_equal(store_token_consume(fx->s, two.token, T_NOW, NULL, &st, NULL), ERR_OK);
    assert_int_equal(st, TOKEN_OK);
    assert_int_equal(attempts_of(fx, 1), 0);

    /* Refusals: ret untouched, nothing consumed. */
    static const struct {
        int64_t number; /* 0: unknown token */
        enum token_state want;
    } cases[] = {
        {0, TOKEN_UNKNOWN},
        {1, TOKEN_USED_UP},
        {3, TOKEN_EXPIRED},
        {4, TOKEN_RESOLVED},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char token[TOKEN_LEN + 1] = "ffffffff-ffff-4fff-bfff-ffffffffffff";
        int64_t before = 0;
        if (cases[i].number) {
            token_of(cases[i].number, token);
            before = attempts_of(fx, cases[i].number);
        }
        memset(&got, 0x5a, sizeof(got));
        st = (enum token_state)99;
        assert_int_equal(store_token_consume(fx->s, token, T_NOW, NULL, &st, &got), ERR_OK);
        assert_int_equal(st, cases[i].want);
        assert_int_equal(got.id, 0x5a5a5a5a5a5a5a5aLL);
        if (cases[i].number)
            assert_int_equal(attempts_of(fx, cases[i].number), before);
    }
    /* Expiry is judged against the caller's now: one microsecond earlier works. */
    assert_int_equal(store_token_consume(fx->s, expired.token, T_NOW - 1, NULL, &st, NULL), ERR_OK);
    assert_int_equal(st, TOKEN_OK);
    assert_int_equal(attempts_of(fx, 3), 2);
    /* No expiry. */
    assert_int_equal(store_token_consume(fx->s, forever.token, INT64_MAX, NULL, &st, NULL), ERR_OK);
    assert_int_equal(st, TOKEN_OK);
    assert_int_equal(store_token_consume(fx->s, forever.token, INT64_MAX, NULL, &st, NULL), ERR_OK);
    assert_int_equal(st, TOKEN_USED_UP);
    /* Resolved wins over used up. */
    raw_int2(fx, "UPDATE tickets SET resolved = 1 WHERE number = 1",
             "UPDATE tickets SET resolved = true WHERE number = 1", 0);
    assert_int_equal(store_token_consume(fx->s, two.token, T_NOW, NULL, &st, NULL), ERR_OK);
    assert_int_equal(st, TOKEN_RESOLVED);

    /* expires_at = 0 (never written by the store, which stores NULL) is a row the
     * UPDATE refuses but the rules accept: a database error, not a wrong answer. */
    raw_int2(fx, "UPDATE tickets SET expires_at = 0, attempts = 3 WHERE number = 4",
             "UPDATE tickets SET expires_at = " PG_TIME("0") ", attempts = 3 WHERE number = 4", 0);
    raw_int2(fx, "UPDATE tickets SET resolved = 0 WHERE number = 4",
             "UPDATE tickets SET resolved = false WHERE number = 4", 0);
    st = (enum token_state)99;
    assert_int_equal(store_token_consume(fx->s, resolved.token, T_NOW, NULL, &st, NULL), ERR_DB);
    assert_int_equal(st, 99);
    assert_int_equal(attempts_of(fx, 4), 3);
    /* The transaction was rolled back: the store still writes. */
    assert_int_equal(store_token_consume(fx->s, expired.token, T_NOW - 1, NULL, &st, NULL), ERR_OK);
    assert_int_equal(st, TOKEN_OK);

    assert_int_equal(store_token_consume(NULL, two.token, T_NOW, NULL, &st, NULL), ERR_INTERNAL);
    assert_int_equal(store_token_consume(fx->s, NULL, T_NOW, NULL, &st, NULL), ERR_INTERNAL);
    assert_int_equal(store_token_consume(fx->s, two.token, T_NOW, NULL, NULL, NULL), ERR_INTERNAL);
}

#define CONSUMERS     8
#define CONSUME_CALLS 4
#define CONSUME_HAVE  5

struct consumer {
    struct store *s;
    const char *token;
    pthread_barrier_t *start;
    enum err result;
    int ok, used_up;
    int attempts_left[CONSUME_CALLS]; /* from the returned tickets */
};

static void *consumer_main(void *arg)
{
    struct consumer *w = arg;
    pthread_barrier_wait(w->start);
    w->result = ERR_OK;
    for (int i = 0; i < CONSUME_CALLS && !w->result; i++) {
        enum token_state st;
        struct ticket t;
        w->result = store_token_consume(w->s, w->token, now_us(), NULL, &st, &t);
        if (w->result)
            break;
        if (st == TOKEN_OK) {
            w->attempts_left[w->ok++] = t.attempts;
            store_ticket_clear(&t);
        } else if (st == TOKEN_USED_UP) {
            w->used_up++;
        } else {
            w->result = ERR_INTERNAL;
        }
    }
    return NULL;
}

static void test_token_consume_threads(void **state)
{
    struct fixture *fx = *state;
    add_platform(fx, "vm6");
    token_ticket(fx, 77, CONSUME_HAVE, 0, false);
    struct ticket t;
    token_of(77, t.token);
    pthread_barrier_t start;
    assert_int_equal(pthread_barrier_init(&start, NULL, CONSUMERS), 0);
    pthread_t th[CONSUMERS];
    struct consumer w[CONSUMERS];
    for (int i = 0; i < CONSUMERS; i++) {
        w[i] = (struct consumer){
            .s = fx->s, .token = t.token, .start = &start, .result = ERR_INTERNAL};
        assert_int_equal(pthread_create(&th[i], NULL, consumer_main, &w[i]), 0);
    }
    int ok = 0, used_up = 0;
    bool seen[CONSUME_HAVE] = {false};
    for (int i = 0; i < CONSUMERS; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
        assert_int_equal(w[i].result, ERR_OK);
        ok += w[i].ok;
        used_up += w[i].used_up;
        for (int k = 0; k < w[i].ok; k++) {
            int left = w[i].attempts_left[k];
            assert_true(left >= 0 && left < CONSUME_HAVE);
            assert_false(seen[left]); /* every success saw its own decrement */
            seen[left] = true;
        }
    }
    pthread_barrier_destroy(&start);
    assert_int_equal(ok, CONSUME_HAVE);
    assert_int_equal(used_up, CONSUMERS * CONSUME_CALLS - CONSUME_HAVE);
    assert_int_equal(attempts_of(fx, 77), 0);
}

/* A refund gives one attempt back to the ticket that has the token now, up to
 * the limit, touching nothing else. */
static void test_token_refund(void **state)
{
    struct fixture *fx = *state;
    add_platform(fx, "vm6");
    token_ticket(fx, 1, 2, T_EXPIRES, false);
    token_ticket(fx, 2, LIMIT_ATTEMPTS, 0, false);
    token_ticket(fx, 3, 0, 0, true);
    char one[TOKEN_LEN + 1], full[TOKEN_LEN + 1], resolved[TOKEN_LEN + 1];
    token_of(1, one);
    token_of(2, full);
    token_of(3, resolved);
    enum token_state st;

    assert_int_equal(store_token_consume(fx->s, one, T_NOW, NULL, &st, NULL), ERR_OK);
    assert_int_equal(st, TOKEN_OK);
    assert_int_equal(attempts_of(fx, 1), 1);
    assert_int_equal(store_token_refund(fx->s, one), ERR_OK);
    assert_int_equal(attempts_of(fx, 1), 2);
    assert_int_equal(attempts_of(fx, 2), LIMIT_ATTEMPTS); /* only that token's ticket */
    assert_int_equal(attempts_of(fx, 3), 0);

    /* Never past the limit; resolved and expiry stay as they are. */
    assert_int_equal(store_token_refund(fx->s, full), ERR_OK);
    assert_int_equal(attempts_of(fx, 2), LIMIT_ATTEMPTS);
    assert_int_equal(store_token_refund(fx->s, resolved), ERR_OK);
    assert_int_equal(attempts_of(fx, 3), 1);
    assert_int_equal(store_token_check(fx->s, resolved, T_NOW, &st, NULL), ERR_OK);
    assert_int_equal(st, TOKEN_RESOLVED);
    assert_int_equal(store_token_check(fx->s, one, T_EXPIRES, &st, NULL), ERR_OK);
    assert_int_equal(st, TOKEN_EXPIRED);

    /* A replaced token, an unknown one, one of another form: nothing to give back. */
    assert_int_equal(
        store_ticket_set_token(fx->s, 1, "00000000-0000-4000-8000-00000000beef", 5, 0, NULL, NULL),
        ERR_OK);
    assert_int_equal(store_token_refund(fx->s, one), ERR_NOT_FOUND);
    assert_int_equal(attempts_of(fx, 1), 5);
    assert_int_equal(store_token_refund(fx->s, "ffffffff-ffff-4fff-bfff-ffffffffffff"),
                     ERR_NOT_FOUND);
    assert_int_equal(store_token_refund(fx->s, "x"), ERR_NOT_FOUND);
    assert_int_equal(store_token_refund(NULL, one), ERR_INTERNAL);
    assert_int_equal(store_token_refund(fx->s, NULL), ERR_INTERNAL);
}

/* --- archives --- */

static void make_archive(struct archive *a, int64_t ticket_id, const char *path, int64_t size)
{
    memset(a, 0, sizeof(*a));
    a->ticket_id = ticket_id;
    snprintf(a->name, sizeof(a->name), "logs-%lld.tar.gz", (long long)size);
    snprintf(a->path, sizeof(a->path), "%s", path);
    a->size = size;
    strcpy(a->md5, "d41d8cd98f00b204e9800998ecf8427e");
    strcpy(a->sha256, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    strcpy(a->uploader_ip, "2001:db8::1");
    strcpy(a->uploader_agent, "curl/8.0");
}

static int64_t add_archive(struct fixture *fx, int64_t ticket_id, const char *path, int64_t size)
{
    struct archive a, got;
    make_archive(&a, ticket_id, path, size);
    assert_int_equal(store_archive_create(fx->s, &a, NULL, &got), ERR_OK);
    return got.id;
}

static void assert_archive_equal(const struct archive *x, const struct archive *y)
{
    assert_int_equal(x->id, y->id);
    assert_int_equal(x->ticket_id, y->ticket_id);
    assert_int_equal(x->ticket_number, y->ticket_number);
    assert_string_equal(x->name, y->name);
    assert_string_equal(x->path, y->path);
    assert_int_equal(x->size, y->size);
    assert_string_equal(x->md5, y->md5);
    assert_string_equal(x->sha256, y->sha256);
    assert_string_equal(x->uploader_ip, y->uploader_ip);
    assert_string_equal(x->uploader_agent, y->uploader_agent);
    assert_int_equal(x->time_create, y->time_create);
    assert_int_equal(x->time_update, y->time_update);
}

/* Asserts that the stored row of want->id equals *want. */
static void assert_archive_stored(struct fixture *fx, const struct archive *want)
{
    struct archive got;
    assert_int_equal(store_archive_get(fx->s, want->id, &got), ERR_OK);
    assert_archive_equal(&got, want);
}

static void test_archive_create_get(void **state)
{
    struct fixture *fx = *state;
    add_platform(fx, "vm6");
    int64_t t1 = add_ticket(fx, 1234, "vm6", 0);

    struct archive a, got, again;
    make_archive(&a, t1, "1234/logs.tar.gz", 4096);
    a.id = 999;
    a.ticket_number = 5;
    a.time_create = a.time_update = 7; /* all ignored */
    int64_t before = raw_now(fx);
    assert_int_equal(store_archive_create(fx->s, &a, NULL, &got), ERR_OK);
    assert_true(got.id > 0 && got.id != 999);
    assert_int_equal(got.ticket_id, t1);
    assert_int_equal(got.ticket_number, 1234);
    assert_string_equal(got.name, "logs-4096.tar.gz");
    assert_string_equal(got.path, "1234/logs.tar.gz");
    assert_int_equal(got.size, 4096);
    assert_string_equal(got.md5, a.md5);
    assert_string_equal(got.sha256, a.sha256);
    assert_string_equal(got.uploader_ip, "2001:db8::1");
    assert_string_equal(got.uploader_agent, "curl/8.0");
    assert_true(got.time_create >= before - 1000000);
    assert_int_equal(got.time_update, got.time_create);

    assert_archive_stored(fx, &got);
    assert_ticket_archives(fx, 1234, 1, 4096);

    /* Empty optional fields, ret NULL. */
    struct archive bare = {0};
    bare.ticket_id = t1;
    strcpy(bare.name, "x");
    strcpy(bare.path, "1234/x");
    assert_int_equal(store_archive_create(fx->s, &bare, NULL, NULL), ERR_OK);
    assert_int_equal(raw_int(fx,
                             "SELECT count(*) FROM archives WHERE path = '1234/x'"
                             " AND md5 = '' AND uploader_agent = '' AND size = 0",
                             0),
                     1);

    /* Errors; ret untouched, no row. */
    memset(&again, 0x5a, sizeof(again));
    make_archive(&a, t1, "1234/logs.tar.gz", 1);
    assert_int_equal(store_archive_create(fx->s, &a, NULL, &again), ERR_EXISTS); /* path */
    make_archive(&a, t1 + 100, "9999/new.log", 1);
    assert_int_equal(store_archive_create(fx->s, &a, NULL, &again),
                     ERR_REFERENCE); /* ticket gone */
    make_archive(&a, t1, "1234/negative", -1);
    assert_int_equal(store_archive_create(fx->s, &a, NULL, &again), ERR_DB); /* CHECK size >= 0 */
    assert_int_equal(again.id, 0x5a5a5a5a5a5a5a5aLL);
    assert_int_equal(raw_int(fx, "SELECT count(*) FROM archives", 0), 2);

    assert_int_equal(store_archive_get(fx->s, got.id + 100, &again), ERR_NOT_FOUND);
    assert_int_equal(store_archive_get(fx->s, 0, &again), ERR_NOT_FOUND);
    assert_int_equal(again.id, 0x5a5a5a5a5a5a5a5aLL);

    assert_int_equal(store_archive_create(NULL, &a, NULL, NULL), ERR_INTERNAL);
    assert_int_equal(store_archive_create(fx->s, NULL, NULL, NULL), ERR_INTERNAL);
    assert_int_equal(store_archive_get(NULL, got.id, &again), ERR_INTERNAL);
    assert_int_equal(store_archive_get(fx->s, got.id, NULL), ERR_INTERNAL);
}

static void test_archive_move(void **state)
{
    struct fixture *fx = *state;
    add_platform(fx, "vm6");
    int64_t t1 = add_ticket(fx, 1, "vm6", 0);
    int64_t t2 = add_ticket(fx, 2, "vm6", 0);
    int64_t id = add_archive(fx, t1, "1/a.log", 10);
    add_archive(fx, t2, "2/taken.log", 20);
    raw_int2(fx, "UPDATE archives SET time_create = 5, time_update = 5 WHERE id = ?",
             "UPDATE archives SET time_create = " PG_TIME("5") ", time_update = " PG_TIME(
                 "5") " WHERE id = ?",
             1, id);

    struct archive got;
    assert_int_equal(store_archive_move(fx->s, id, 2, "2/a.log", "a.log", NULL, &got), ERR_OK);
    assert_int_equal(got.id, id);
    assert_int_equal(got.ticket_id, t2);
    assert_int_equal(got.ticket_number, 2);
    assert_string_equal(got.path, "2/a.log");
    assert_string_equal(got.name, "a.log");
    assert_int_equal(got.size, 10);
    assert_int_equal(got.time_create, 5);
    assert_true(got.time_update > 1600000000LL * 1000000);
    assert_archive_stored(fx, &got);
    assert_ticket_archives(fx, 2, 2, 30);

    /* Errors: ret and the row untouched. */
    struct archive again;
    memset(&again, 0x5a, sizeof(again));
    assert_int_equal(store_archive_move(fx->s, id, 3, "3/a.log", "a.log", NULL, &again),
                     ERR_REFERENCE);
    assert_int_equal(store_archive_move(fx->s, id + 100, 1, "1/a.log", "a.log", NULL, &again),
                     ERR_NOT_FOUND);
    assert_int_equal(store_archive_move(fx->s, id, 2, "2/taken.log", "taken.log", NULL, &again),
                     ERR_EXISTS);
    assert_int_equal(again.id, 0x5a5a5a5a5a5a5a5aLL);
    assert_archive_stored(fx, &got);

    /* Back again, ret NULL. */
    assert_int_equal(store_archive_move(fx->s, id, 1, "1/a.log", "a.log", NULL, NULL), ERR_OK);
    assert_int_equal(store_archive_get(fx->s, id, &again), ERR_OK);
    assert_int_equal(again.ticket_number, 1);
    assert_string_equal(again.path, "1/a.log");

    assert_int_equal(store_archive_move(NULL, id, 1, "x", "x", NULL, NULL), ERR_INTERNAL);
    assert_int_equal(store_archive_move(fx->s, id, 1, NULL, "x", NULL, NULL), ERR_INTERNAL);
    assert_int_equal(store_archive_move(fx->s, id, 1, "1/x", NULL, NULL, NULL), ERR_INTERNAL);
}

static void test_archive_delete_exists(void **state)
{
    struct fixture *fx = *state;
    add_platform(fx, "vm6");
    int64_t t1 = add_ticket(fx, 1, "vm6", 0);
    int64_t a = add_archive(fx, t1, "1/a.log", 1);
    int64_t b = add_archive(fx, t1, "1/b.log", 2);

    bool exists = false;
    assert_int_equal(store_archive_path_exists(fx->s, "1/a.log", &exists), ERR_OK);
    assert_true(exists);
    assert_int_equal(store_archive_path_exists(fx->s, "1/A.log", &exists), ERR_OK);
    assert_false(exists);
    exists = true;
    assert_int_equal(store_archive_path_exists(fx->s, "", &exists), ERR_OK);
    assert_false(exists);

    char path[512];
    assert_int_equal(store_archive_delete(fx->s, a, NULL, path), ERR_OK);
    assert_string_equal(path, "1/a.log");
    assert_int_equal(store_archive_path_exists(fx->s, "1/a.log", &exists), ERR_OK);
    assert_false(exists);
    memset(path, 'z', sizeof(path));
    assert_int_equal(store_archive_delete(fx->s, a, NULL, path), ERR_NOT_FOUND);
    assert_int_equal(path[0], 'z'); /* untouched */
    assert_int_equal(store_archive_delete(fx->s, b, NULL, NULL), ERR_OK);
    assert_int_equal(store_archive_delete(fx->s, b, NULL, NULL), ERR_NOT_FOUND);
    assert_int_equal(raw_int(fx, "SELECT count(*) FROM archives", 0), 0);
    /* The ticket stays. */
    assert_ticket_archives(fx, 1, 0, 0);

    /* A path of the longest size round-trips. */
    struct archive big;
    make_archive(&big, t1, "", 3);
    memset(big.path, 'p', sizeof(big.path) - 1);
    big.path[sizeof(big.path) - 1] = 0;
    struct archive got;
    assert_int_equal(store_archive_create(fx->s, &big, NULL, &got), ERR_OK);
    assert_int_equal(strlen(got.path), 511);
    assert_int_equal(store_archive_delete(fx->s, got.id, NULL, path), ERR_OK);
    assert_string_equal(path, big.path);

    assert_int_equal(store_archive_delete(NULL, 1, NULL, NULL), ERR_INTERNAL);
    assert_int_equal(store_archive_path_exists(NULL, "x", &exists), ERR_INTERNAL);
    assert_int_equal(store_archive_path_exists(fx->s, NULL, &exists), ERR_INTERNAL);
    assert_int_equal(store_archive_path_exists(fx->s, "x", NULL), ERR_INTERNAL);
}

/* --- archive list --- */

#define NARCH 16

struct amodel {
    int64_t id;
    int64_t ticket;
    int64_t time_create;
};

static bool amatches(const struct amodel *m, const struct archive_filter *f)
{
    return in_set(&f->id, m->id) && in_set(&f->id_in, m->id) &&
           in_bounds(&f->id_lte, &f->id_gte, m->id) && in_set(&f->ticket, m->ticket) &&
           in_set(&f->ticket_in, m->ticket) &&
           in_bounds(&f->ticket_lte, &f->ticket_gte, m->ticket) &&
           (!f->time_create.set || m->time_create == f->time_create.v) &&
           in_bounds(&f->time_create_lte, &f->time_create_gte, m->time_create);
}

static int anewest_first(const void *a, const void *b)
{
    const struct amodel *x = a, *y = b;
    return newest(x->time_create, x->id, y->time_create, y->id);
}

/* As check_list, for archives. */
static int64_t check_alist(struct fixture *fx, const struct amodel *m,
                           const struct archive_filter *f)
{
    struct amodel want[NARCH];
    size_t nwant = 0;
    for (size_t i = 0; i < NARCH; i++)
        if (amatches(&m[i], f))
            want[nwant++] = m[i];
    qsort(want, nwant, sizeof(want[0]), anewest_first);
    struct archive *items = NULL;
    size_t n = 0;
    int64_t total = -1;
    assert_int_equal(store_archive_list(fx->s, f, &items, &n, &total), ERR_OK);
    size_t from = check_page(nwant, f->limit, f->offset, total, n);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(items[i].id, want[from + i].id);
        assert_int_equal(items[i].ticket_number, want[from + i].ticket);
        assert_int_equal(items[i].time_create, want[from + i].time_create);
        assert_true(items[i].path[0] != 0);
    }
    free(items);
    return total;
}

static void test_archive_list(void **state)
{
    struct fixture *fx = *state;
    add_platform(fx, "vm6");
    /* Ticket numbers differ from ticket ids, so a filter on the wrong one fails. */
    static const int64_t numbers[4] = {500, 20, 7000, 31};
    int64_t tid[4];
    for (int i = 0; i < 4; i++)
        tid[i] = add_ticket(fx, numbers[i], "vm6", 0);
    struct amodel m[NARCH];
    for (int i = 0; i < NARCH; i++) {
        char path[64];
        int k = (i * 3) % 4;
        snprintf(path, sizeof(path), "%lld/file-%d", (long long)numbers[k], i);
        m[i].id = add_archive(fx, tid[k], path, i);
        m[i].ticket = numbers[k];
        /* not in id order; two pairs share a time_create */
        m[i].time_create = 1700000000000000LL + (int64_t)((i * 7) % NARCH) * 1000000;
        if (i == 5 || i == 9)
            m[i].time_create = 1700000000000000LL + 50 * 1000000LL;
        raw_int2(fx, "UPDATE archives SET time_create = ? WHERE id = ?",
                 "UPDATE archives SET time_create = " PG_TIME("?") " WHERE id = ?", 2,
                 m[i].time_create, m[i].id);
    }
    struct archive_filter f;

    store_archive_filter_init(&f);
    assert_int_equal(check_alist(fx, m, &f), NARCH);

    /* id= and id__in= (both given: both must match), empty set, bounds */
    store_archive_filter_init(&f);
    f.id = (struct int_set){.set = true, .n = 3, .v = {m[1].id, m[4].id, 99999}};
    assert_int_equal(check_alist(fx, m, &f), 2);
    f.id_in = (struct int_set){.set = true, .n = 1, .v = {m[4].id}};
    assert_int_equal(check_alist(fx, m, &f), 1);
    store_archive_filter_init(&f);
    f.id_in = (struct int_set){.set = true, .n = 0};
    assert_int_equal(check_alist(fx, m, &f), 0);
    store_archive_filter_init(&f);
    f.id_gte = (struct int_bound){true, m[3].id};
    f.id_lte = (struct int_bound){true, m[10].id};
    assert_int_equal(check_alist(fx, m, &f), 8);

    /* ticket NUMBERS */
    store_archive_filter_init(&f);
    f.ticket = (struct int_set){.set = true, .n = 1, .v = {20}};
    assert_int_equal(check_alist(fx, m, &f), NARCH / 4);
    f.ticket_in = (struct int_set){.set = true, .n = 2, .v = {20, 500}};
    assert_int_equal(check_alist(fx, m, &f), NARCH / 4);
    store_archive_filter_init(&f);
    f.ticket_in = (struct int_set){.set = true, .n = 2, .v = {7000, 31}};
    assert_int_equal(check_alist(fx, m, &f), NARCH / 2);
    store_archive_filter_init(&f);
    f.ticket = (struct int_set){.set = true, .n = 1, .v = {tid[1]}}; /* an id, not a number */
    assert_int_equal(check_alist(fx, m, &f), 0);
    store_archive_filter_init(&f);
    f.ticket_gte = (struct int_bound){true, 31};
    f.ticket_lte = (struct int_bound){true, 500};
    assert_int_equal(check_alist(fx, m, &f), NARCH / 2);
    store_archive_filter_init(&f);
    f.ticket.set = true;
    f.ticket.n = LIMIT_FILTER_IN;
    for (size_t i = 0; i < LIMIT_FILTER_IN; i++)
        f.ticket.v[i] = (int64_t)i * 10; /* 0..990: 20 and 500, not 31 or 7000 */
    assert_int_equal(check_alist(fx, m, &f), NARCH / 2);

    /* time_create exact / bounds, in microseconds */
    store_archive_filter_init(&f);
    f.time_create = (struct int_bound){true, 1700000000000000LL + 50 * 1000000LL};
    assert_int_equal(check_alist(fx, m, &f), 2);
    f.time_create.v += 1;
    assert_int_equal(check_alist(fx, m, &f), 0);
    store_archive_filter_init(&f);
    f.time_create_gte = (struct int_bound){true, 1700000000000000LL + 3 * 1000000LL};
    f.time_create_lte = (struct int_bound){true, 1700000000000000LL + 9 * 1000000LL};
    assert_true(check_alist(fx, m, &f) > 0);
    store_archive_filter_init(&f);
    f.time_create_lte = (struct int_bound){true, 1700000000000000LL - 1};
    assert_int_equal(check_alist(fx, m, &f), 0);

    /* Everything at once. */
    store_archive_filter_init(&f);
    f.ticket_in = (struct int_set){.set = true, .n = 2, .v = {500, 7000}};
    f.id_gte = (struct int_bound){true, m[2].id};
    f.time_create_gte = (struct int_bound){true, 1700000000000000LL + 2 * 1000000LL};
    f.limit = 3;
    f.offset = 1;
    check_alist(fx, m, &f);

    /* limit / offset / total */
    for (int64_t limit = -1; limit <= NARCH + 1; limit += 3) {
        for (int64_t offset = 0; offset <= NARCH + 2; offset += 5) {
            store_archive_filter_init(&f);
            f.limit = limit;
            f.offset = offset;
            assert_int_equal(check_alist(fx, m, &f), NARCH);
            f.ticket_in = (struct int_set){.set = true, .n = 1, .v = {7000}};
            assert_int_equal(check_alist(fx, m, &f), NARCH / 4);
        }
    }
    /* ret_total may be NULL; an empty page is a valid (non-NULL) array. */
    store_archive_filter_init(&f);
    f.limit = 0;
    struct archive *items = NULL;
    size_t n = 9;
    assert_int_equal(store_archive_list(fx->s, &f, &items, &n, NULL), ERR_OK);
    assert_int_equal(n, 0);
    assert_non_null(items);
    free(items);

    /* Too many values in a set: a caller bug, refused. */
    store_archive_filter_init(&f);
    f.id.set = true;
    f.id.n = LIMIT_FILTER_IN + 1;
    items = (struct archive *)0x1;
    assert_int_equal(store_archive_list(fx->s, &f, &items, &n, NULL), ERR_INTERNAL);
    assert_ptr_equal(items, (struct archive *)0x1);

    assert_int_equal(store_archive_list(NULL, &f, &items, &n, NULL), ERR_INTERNAL);
    assert_int_equal(store_archive_list(fx->s, NULL, &items, &n, NULL), ERR_INTERNAL);
    assert_int_equal(store_archive_list(fx->s, &f, NULL, &n, NULL), ERR_INTERNAL);
    assert_int_equal(store_archive_list(fx->s, &f, &items, NULL, NULL), ERR_INTERNAL);
}

/* --- archive each --- */

struct walk {
    struct store *s;
    size_t n;
    int64_t ids[200];
    bool delete_each; /* delete every row from inside the callback */
    enum err err;
};

static void walk_row(const struct archive *a, void *ctx)
{
    struct walk *w = ctx;
    if (w->n < sizeof(w->ids) / sizeof(w->ids[0]))
        w->ids[w->n] = a->id;
    w->n++;
    /* The row is complete. */
    if (a->ticket_number <= 0 || !a->path[0] || a->size != (int64_t)strtoll(a->name + 5, NULL, 10))
        w->err = ERR_INTERNAL;
    if (w->delete_each && !w->err) {
        char path[512];
        w->err = store_archive_delete(w->s, a->id, NULL, path);
        if (!w->err && strcmp(path, a->path) != 0)
            w->err = ERR_INTERNAL;
    }
}

static void test_archive_each(void **state)
{
    struct fixture *fx = *state;
    add_platform(fx, "vm6");
    int64_t t1 = add_ticket(fx, 1, "vm6", 0);
    int64_t t2 = add_ticket(fx, 2, "vm6", 0);

    /* Empty: fn is never called. */
    struct walk w = {.s = fx->s};
    assert_int_equal(store_archive_each(fx->s, walk_row, &w), ERR_OK);
    assert_int_equal(w.n, 0);

    /* Counts around the page size (64): 64 exactly, then 150 over three pages. */
    int64_t ids[150];
    size_t have = 0;
    static const size_t rounds[] = {64, 150};
    for (size_t r = 0; r < 2; r++) {
        while (have < rounds[r]) {
            char path[32];
            snprintf(path, sizeof(path), "%zu/f", have);
            ids[have] = add_archive(fx, have % 2 ? t1 : t2, path, (int64_t)have);
            have++;
        }
        w = (struct walk){.s = fx->s};
        assert_int_equal(store_archive_each(fx->s, walk_row, &w), ERR_OK);
        assert_int_equal(w.err, ERR_OK);
        assert_int_equal(w.n, have);
        for (size_t i = 0; i < have; i++)
            assert_int_equal(w.ids[i], ids[i]); /* id order */
    }

    /* fn may write to the store: remove every row while walking. */
    w = (struct walk){.s = fx->s, .delete_each = true};
    assert_int_equal(store_archive_each(fx->s, walk_row, &w), ERR_OK);
    assert_int_equal(w.err, ERR_OK);
    assert_int_equal(w.n, have);
    assert_int_equal(raw_int(fx, "SELECT count(*) FROM archives", 0), 0);

    /* A database error ends the walk. */
    raw_int(fx, "ALTER TABLE archives RENAME TO archives_gone", 0); /* referenced: not dropped */
    assert_int_equal(store_archive_each(fx->s, walk_row, &w), ERR_DB);

    assert_int_equal(store_archive_each(NULL, walk_row, &w), ERR_INTERNAL);
    assert_int_equal(store_archive_each(fx->s, NULL, &w), ERR_INTERNAL);
}

/* Cascades over rows made through store_archive_create: the path lists hold
 * exactly those paths and the rows are gone. */
static void test_archive_cascade_created(void **state)
{
    struct fixture *fx = *state;
    add_platform(fx, "vm6");
    add_platform(fx, "bill");
    int64_t t1 = add_ticket(fx, 10, "vm6", 0);
    int64_t t2 = add_ticket(fx, 20, "vm6", 0);
    int64_t t3 = add_ticket(fx, 30, "vm6", 0);
    int64_t tb = add_ticket(fx, 40, "bill", 0);
    add_archive(fx, t1, "10/one", 1);
    add_archive(fx, t2, "20/two", 2);
    add_archive(fx, t1, "10/three", 3);
    add_archive(fx, t3, "30/four", 4);
    int64_t kept = add_archive(fx, tb, "40/kept", 5);
    add_archive(fx, t2, "20/six", 6);

    struct path_list paths = {0, NULL};
    assert_int_equal(store_ticket_delete(fx->s, 10, NULL, &paths), ERR_OK);
    assert_int_equal(paths.n, 2);
    assert_string_equal(paths.paths[0], "10/one");
    assert_string_equal(paths.paths[1], "10/three");
    store_path_list_free(&paths);
    bool exists = true;
    assert_int_equal(store_archive_path_exists(fx->s, "10/one", &exists), ERR_OK);
    assert_false(exists);
    assert_int_equal(raw_int(fx, "SELECT count(*) FROM archives", 0), 4);

    assert_int_equal(store_platform_delete(fx->s, "vm6", NULL, &paths), ERR_OK);
    assert_int_equal(paths.n, 3);
    assert_string_equal(paths.paths[0], "20/two");
    assert_string_equal(paths.paths[1], "30/four");
    assert_string_equal(paths.paths[2], "20/six");
    store_path_list_free(&paths);
    assert_int_equal(raw_int(fx, "SELECT count(*) FROM archives", 0), 1);
    struct archive a;
    assert_int_equal(store_archive_get(fx->s, kept, &a), ERR_OK);
    assert_string_equal(a.path, "40/kept");
    /* The archive of a deleted ticket cannot be created any more. */
    make_archive(&a, t1, "10/late", 1);
    assert_int_equal(store_archive_create(fx->s, &a, NULL, NULL), ERR_REFERENCE);
}

/* What deleting a platform takes with it, counted before: exactly what the
 * cascade then removes. */
static void test_platform_counts(void **state)
{
    struct fixture *fx = *state;
    add_platform(fx, "vm6");
    add_platform(fx, "bill");
    add_platform(fx, "empty");
    int64_t t1 = add_ticket(fx, 1, "vm6", 0);
    int64_t t2 = add_ticket(fx, 2, "vm6", 0);
    add_ticket(fx, 3, "vm6", 0); /* no archives */
    int64_t tb = add_ticket(fx, 4, "bill", 0);
    add_archive(fx, t1, "1/a", 10);
    add_archive(fx, t1, "1/b", 20);
    add_archive(fx, t2, "2/c", 5);
    add_archive(fx, tb, "4/d", 1000);

    int64_t tickets = -1, archives = -1, bytes = -1;
    assert_int_equal(store_platform_counts(fx->s, "vm6", &tickets, &archives, &bytes), ERR_OK);
    assert_int_equal(tickets, 3);
    assert_int_equal(archives, 3);
    assert_int_equal(bytes, 35);
    assert_int_equal(store_platform_counts(fx->s, "bill", &tickets, &archives, &bytes), ERR_OK);
    assert_int_equal(tickets, 1);
    assert_int_equal(archives, 1);
    assert_int_equal(bytes, 1000);
    assert_int_equal(store_platform_counts(fx->s, "empty", &tickets, &archives, &bytes), ERR_OK);
    assert_int_equal(tickets, 0);
    assert_int_equal(archives, 0);
    assert_int_equal(bytes, 0);

    /* Unknown: nothing written. */
    tickets = archives = bytes = -7;
    assert_int_equal(store_platform_counts(fx->s, "nope", &tickets, &archives, &bytes),
                     ERR_NOT_FOUND);
    assert_int_equal(tickets, -7);
    assert_int_equal(archives, -7);
    assert_int_equal(bytes, -7);

    /* The delete takes what was counted. */
    struct path_list paths = {0, NULL};
    assert_int_equal(store_platform_delete(fx->s, "vm6", NULL, &paths), ERR_OK);
    assert_int_equal(paths.n, 3);
    store_path_list_free(&paths);
    assert_int_equal(store_platform_counts(fx->s, "vm6", &tickets, &archives, &bytes),
                     ERR_NOT_FOUND);

    assert_int_equal(store_platform_counts(NULL, "bill", &tickets, &archives, &bytes),
                     ERR_INTERNAL);
    assert_int_equal(store_platform_counts(fx->s, NULL, &tickets, &archives, &bytes), ERR_INTERNAL);
    assert_int_equal(store_platform_counts(fx->s, "bill", NULL, &archives, &bytes), ERR_INTERNAL);
    assert_int_equal(store_platform_counts(fx->s, "bill", &tickets, NULL, &bytes), ERR_INTERNAL);
    assert_int_equal(store_platform_counts(fx->s, "bill", &tickets, &archives, NULL), ERR_INTERNAL);
}

/* --- resumable uploads --- */

static void make_upload(struct upload_row *u, const char *id, int64_t ticket_id, const char *token,
                        int64_t length, int64_t expires_at)
{
    memset(u, 0, sizeof(*u));
    snprintf(u->id, sizeof(u->id), "%s", id);
    u->ticket_id = ticket_id;
    snprintf(u->token, sizeof(u->token), "%s", token ? token : "");
    snprintf(u->name, sizeof(u->name), "big.tar.gz");
    snprintf(u->filetype, sizeof(u->filetype), "application/gzip");
    snprintf(u->metadata, sizeof(u->metadata), "filename YmlnLnRhci5neg==");
    u->length = length;
    snprintf(u->uploader_ip, sizeof(u->uploader_ip), "192.0.2.7");
    snprintf(u->uploader_agent, sizeof(u->uploader_agent), "tus-js-client");
    u->expires_at = expires_at;
}

#define UP1 "11111111111111111111111111111111"
#define UP2 "22222222222222222222222222222222"
#define UP3 "33333333333333333333333333333333"

/* Creation takes the attempt and inserts the row in one transaction; a refused
 * token inserts nothing; get, touch, finish (archive in, upload out), delete. */
static void test_upload_rows(void **state)
{
    struct fixture *fx = *state;
    add_platform(fx, "vm6");
    struct ticket t, got;
    make_ticket(&t, 7, "vm6", 0);
    t.attempts = 1;
    assert_int_equal(store_ticket_create(fx->s, &t, NULL, &got), ERR_OK);
    int64_t now = now_us(), later = now + 3600 * 1000000LL;
    struct upload_row u, back;
    make_upload(&u, UP1, got.id, got.token, 5000, later);
    enum token_state st = TOKEN_UNKNOWN;
    assert_int_equal(store_upload_create(fx->s, &u, true, now, NULL, &st, &back), ERR_OK);
    assert_int_equal(st, TOKEN_OK);
    assert_string_equal(back.id, UP1);
    assert_int_equal(back.ticket_number, 7);
    assert_string_equal(back.token, got.token);
    assert_string_equal(back.metadata, "filename YmlnLnRhci5neg==");
    assert_int_equal(back.length, 5000);
    assert_int_equal(back.expires_at, later);
    /* the last attempt is gone: a second creation is refused, nothing inserted */
    make_upload(&u, UP2, got.id, got.token, 10, later);
    assert_int_equal(store_upload_create(fx->s, &u, true, now, NULL, &st, NULL), ERR_OK);
    assert_int_equal(st, TOKEN_USED_UP);
    bool exists = true;
    assert_int_equal(store_upload_exists(fx->s, UP2, &exists), ERR_OK);
    assert_false(exists);
    assert_int_equal(store_upload_get(fx->s, UP2, &back), ERR_NOT_FOUND);
    /* staff: no token, no attempt */
    int64_t uid = add_user(fx, "staff");
    make_upload(&u, UP3, got.id, NULL, 10, later);
    u.user_id = uid;
    assert_int_equal(store_upload_create(fx->s, &u, false, now, NULL, &st, &back), ERR_OK);
    assert_string_equal(back.token, "");
    assert_int_equal(back.user_id, uid);
    /* a taken id, an unknown ticket */
    assert_int_equal(store_upload_create(fx->s, &u, false, now, NULL, &st, NULL), ERR_EXISTS);
    make_upload(&u, UP2, 999999, NULL, 10, later);
    assert_int_equal(store_upload_create(fx->s, &u, false, now, NULL, &st, NULL), ERR_REFERENCE);

    assert_int_equal(store_upload_touch(fx->s, UP1, later + 1000000), ERR_OK);
    assert_int_equal(store_upload_get(fx->s, UP1, &back), ERR_OK);
    assert_int_equal(back.expires_at, later + 1000000);
    assert_int_equal(store_upload_touch(fx->s, UP2, later), ERR_NOT_FOUND);

    struct archive a, out;
    make_archive(&a, got.id, "7/big.tar.gz", 5000);
    assert_int_equal(store_upload_finish(fx->s, UP1, &a, NULL, &out), ERR_OK);
    assert_int_equal(out.size, 5000);
    /* the finished upload names its archive (for a client whose answer was lost) */
    assert_int_equal(store_upload_get(fx->s, UP1, &back), ERR_OK);
    assert_int_equal(back.archive_id, out.id);
    assert_string_equal(back.archive_sha256, a.sha256);
    assert_int_equal(back.length, 5000);
    assert_int_equal(store_upload_get(fx->s, UP3, &back), ERR_OK);
    assert_int_equal(back.archive_id, 0);
    assert_string_equal(back.archive_sha256, "");
    /* a finished or terminated upload cannot finish again: no archive row either */
    make_archive(&a, got.id, "7/again.tar.gz", 5000);
    assert_int_equal(store_upload_finish(fx->s, UP1, &a, NULL, NULL), ERR_NOT_FOUND);
    bool path = true;
    assert_int_equal(store_archive_path_exists(fx->s, "7/again.tar.gz", &path), ERR_OK);
    assert_false(path);
    assert_int_equal(store_upload_finish(fx->s, UP2, &a, NULL, NULL), ERR_NOT_FOUND);
    /* its row goes with the archive */
    char gone[sizeof(out.path)];
    assert_int_equal(store_archive_delete(fx->s, out.id, NULL, gone), ERR_OK);
    assert_int_equal(store_upload_exists(fx->s, UP1, &exists), ERR_OK);
    assert_false(exists);
    assert_int_equal(store_upload_delete(fx->s, UP3), ERR_OK);
    assert_int_equal(store_upload_delete(fx->s, UP3), ERR_NOT_FOUND);
    store_ticket_clear(&got);
}

/* Stale: expired without progress, ticket resolved, token replaced or expired;
 * staff uploads outlive their ticket's token. Deleting the ticket takes its uploads. */
static void test_upload_stale(void **state)
{
    struct fixture *fx = *state;
    add_platform(fx, "vm6");
    int64_t now = now_us(), hour = 3600 * 1000000LL;
    struct ticket t[4], got[4];
    for (int i = 0; i < 4; i++) {
        make_ticket(&t[i], 10 + i, "vm6", 0);
        assert_int_equal(store_ticket_create(fx->s, &t[i], NULL, &got[i]), ERR_OK);
    }
    enum token_state st;
    struct upload_row u;
    static const char *const ids[] = {
        "a0000000000000000000000000000000", "b0000000000000000000000000000000",
        "c0000000000000000000000000000000", "d0000000000000000000000000000000",
        "e0000000000000000000000000000000", "f0000000000000000000000000000000"};
    make_upload(&u, ids[0], got[0].id, got[0].token, 10, now - 1); /* expired */
    assert_int_equal(store_upload_create(fx->s, &u, false, now, NULL, &st, NULL), ERR_OK);
    make_upload(&u, ids[1], got[0].id, got[0].token, 10, now + hour); /* alive */
    assert_int_equal(store_upload_create(fx->s, &u, false, now, NULL, &st, NULL), ERR_OK);
    make_upload(&u, ids[2], got[1].id, got[1].token, 10, now + hour); /* resolved below */
    assert_int_equal(store_upload_create(fx->s, &u, false, now, NULL, &st, NULL), ERR_OK);
    make_upload(&u, ids[3], got[2].id, got[2].token, 10, now + hour); /* token replaced below */
    assert_int_equal(store_upload_create(fx->s, &u, false, now, NULL, &st, NULL), ERR_OK);
    make_upload(&u, ids[4], got[2].id, NULL, 10, now + hour); /* staff: survives the new token */
    assert_int_equal(store_upload_create(fx->s, &u, false, now, NULL, &st, NULL), ERR_OK);
    make_upload(&u, ids[5], got[3].id, got[3].token, 10, now + hour); /* ticket deleted below */
    assert_int_equal(store_upload_create(fx->s, &u, false, now, NULL, &st, NULL), ERR_OK);

    t[1].resolved = true;
    struct ticket changed;
    assert_int_equal(store_ticket_update(fx->s, 11, &t[1], NULL, &changed), ERR_OK);
    store_ticket_clear(&changed);
    assert_int_equal(
        store_ticket_set_token(fx->s, 12, "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee", 5, 0, NULL, NULL),
        ERR_OK);
    struct path_list paths = {0, NULL};
    assert_int_equal(store_ticket_delete(fx->s, 13, NULL, &paths), ERR_OK);
    store_path_list_free(&paths);
    bool exists = true;
    assert_int_equal(store_upload_exists(fx->s, ids[5], &exists), ERR_OK);
    assert_false(exists);

    char(*stale)[UPLOAD_ID_LEN + 1] = NULL;
    size_t n = 0;
    assert_int_equal(store_upload_stale(fx->s, now, 100, &stale, &n), ERR_OK);
    assert_int_equal(n, 3);
    bool seen[3] = {false, false, false};
    for (size_t i = 0; i < n; i++)
        for (int k = 0; k < 3; k++)
            seen[k] |= strcmp(stale[i], ids[k == 0 ? 0 : k + 1]) == 0;
    assert_true(seen[0] && seen[1] && seen[2]);
    free(stale);
    /* an hour and more later, every token upload is stale by time; the limit holds */
    assert_int_equal(store_upload_stale(fx->s, now + 2 * hour, 2, &stale, &n), ERR_OK);
    assert_int_equal(n, 2);
    free(stale);
    for (int i = 0; i < 4; i++)
        store_ticket_clear(&got[i]);
}

/* Ends the raw connection's transaction after 6.5 s: longer than SQLite's
 * busy timeout (5 s). */
static void *rollback_later(void *arg)
{
    struct fixture *fx = arg;
    struct timespec ts = {6, 500000000};
    nanosleep(&ts, NULL);
    assert_int_equal(sqlite3_exec(fx->raw, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
    return NULL;
}

/* The database stays locked past the busy timeout while a received upload's
 * row is written: the row waits for it (archive_wait), where a platform
 * create gives up with ERR_UNAVAILABLE. */
static void test_archive_create_waits(void **state)
{
    struct fixture *fx = *state;
    add_platform(fx, "vm6");
    int64_t t1 = add_ticket(fx, 1, "vm6", 0);
    assert_int_equal(sqlite3_exec(fx->raw, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, rollback_later, fx), 0);
    struct archive a, got;
    make_archive(&a, t1, "1/late.tar.gz", 7);
    int64_t t0 = mono_us();
    assert_int_equal(store_archive_create(fx->s, &a, NULL, &got), ERR_OK);
    assert_true(mono_us() - t0 >= 6000000);
    assert_int_equal(got.size, 7);
    assert_string_equal(got.path, "1/late.tar.gz");
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_archive_stored(fx, &got);
}

/* --- token forms and times --- */

/* Tokens that are not canonical lower-case UUIDs name no ticket (and are no
 * database error): the store writes no other form. */
static void test_token_forms(void **state)
{
    struct fixture *fx = *state;
    add_platform(fx, "vm6");
    token_ticket(fx, 1, 3, 0, false);
    char token[TOKEN_LEN + 1] = "abcdef01-0000-4000-8000-00000000beef"; /* has letters */
    assert_int_equal(store_ticket_set_token(fx->s, 1, token, 3, 0, NULL, NULL), ERR_OK);
    char upper[TOKEN_LEN + 1];
    for (size_t i = 0; i <= TOKEN_LEN; i++)
        upper[i] = (char)(token[i] >= 'a' && token[i] <= 'f' ? token[i] - 32 : token[i]);
    static const char *const odd[] = {"", "x", "{00000000-0000-4000-8000-000000000001}",
                                      "00000000000040008000000000000001", "' OR 1=1 --"};
    enum token_state st;
    struct ticket got;
    for (size_t i = 0; i < sizeof(odd) / sizeof(odd[0]) + 1; i++) {
        const char *t = i < sizeof(odd) / sizeof(odd[0]) ? odd[i] : upper;
        st = (enum token_state)99;
        assert_int_equal(store_token_check(fx->s, t, T_NOW, &st, NULL), ERR_OK);
        assert_int_equal(st, TOKEN_UNKNOWN);
        st = (enum token_state)99;
        assert_int_equal(store_token_consume(fx->s, t, T_NOW, NULL, &st, NULL), ERR_OK);
        assert_int_equal(st, TOKEN_UNKNOWN);
        assert_int_equal(store_ticket_get_by_token(fx->s, t, &got), ERR_NOT_FOUND);
    }
    assert_int_equal(attempts_of(fx, 1), 3);
    assert_int_equal(store_token_consume(fx->s, token, T_NOW, NULL, &st, NULL), ERR_OK);
    assert_int_equal(st, TOKEN_OK);
}

/* Times survive the round trip (PostgreSQL: through timestamptz) to the
 * microsecond, including far past and far future ones. */
static void test_times(void **state)
{
    struct fixture *fx = *state;
    add_platform(fx, "vm6");
    /* INT64_MAX itself reads back 7 µs early (PostgreSQL's extract() rounds at
     * the very top of its range); no store caller writes it. */
    static const int64_t times[] = {
        1, -1, 1700000000123457LL, 253402300799999999LL, INT64_MAX - 1, -62135596800000000LL};
    for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
        struct ticket t, got;
        make_ticket(&t, 100 + (int64_t)i, "vm6", 0);
        t.expires_at = times[i];
        assert_int_equal(store_ticket_create(fx->s, &t, NULL, &got), ERR_OK);
        assert_int_equal(got.expires_at, times[i]);
        store_ticket_clear(&got);
    }
    /* "now" far beyond any expiry: every ticket with one is expired. */
    char token[TOKEN_LEN + 1];
    enum token_state st;
    assert_int_equal(store_token_consume(fx->s, token_of(104, token), INT64_MAX, NULL, &st, NULL),
                     ERR_OK);
    assert_int_equal(st, TOKEN_EXPIRED);
    assert_int_equal(
        store_token_consume(fx->s, token_of(104, token), INT64_MAX - 2, NULL, &st, NULL), ERR_OK);
    assert_int_equal(st, TOKEN_OK);
}

/* --- PostgreSQL only --- */

/* The database refuses us (unknown database or role): ERR_CONFIG at once,
 * even with a connect wait. Every scheme spelling reaches the same server, and
 * the URL's parameters reach libpq. */
static void test_pg_open(void **state)
{
    (void)state;
    char url[512];
    struct store *s = (struct store *)0x1;
    pg_url_with_db("lc_no_such_database", url, sizeof(url));
    int64_t t0 = mono_us();
    assert_int_equal(store_open(url, &(struct store_options){.connect_wait = 10}, &s), ERR_CONFIG);
    assert_true(mono_us() - t0 < 2000000);
    assert_ptr_equal(s, (struct store *)0x1);

    char name[64];
    pg_create_db(name, url, sizeof(url));
    const char *sep = strstr(url, "://");
    static const char *const schemes[] = {"postgres", "postgresql", "psql", "pgsql", "PostgreSQL"};
    for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
        char u[600];
        snprintf(u, sizeof(u), "%s%s%sapplication_name=lc-scheme-%zu", schemes[i], sep,
                 strchr(url, '?') ? "&" : "?", i);
        s = NULL;
        assert_int_equal(store_open(u, NULL, &s), ERR_OK);
        assert_int_equal(store_ping(s), ERR_OK);
        int v = -1;
        assert_int_equal(store_schema_version(s, &v), ERR_OK);
        assert_int_equal(v, 0);
        PGconn *raw = pg_connect(url);
        char sql[160];
        snprintf(sql, sizeof(sql),
                 "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'lc-scheme-%zu'",
                 i);
        PGresult *r = PQexec(raw, sql);
        assert_string_equal(PQgetvalue(r, 0, 0), "1");
        PQclear(r);
        PQfinish(raw);
        store_close(s);
    }

    /* An unknown role on a live server: ERR_CONFIG, no waiting. */
    char bad[600];
    const char *at = strchr(sep + 3, '@');
    const char *hostpart = at ? at + 1 : sep + 3;
    snprintf(bad, sizeof(bad), "postgres://lc_no_such_role:pw@%s", hostpart);
    s = (struct store *)0x1;
    t0 = mono_us();
    assert_int_equal(store_open(bad, &(struct store_options){.connect_wait = 10}, &s), ERR_CONFIG);
    assert_true(mono_us() - t0 < 2000000);
    assert_ptr_equal(s, (struct store *)0x1);
    pg_drop_db(name);
}

/* The server ends every connection of the store (a restart, a failover):
 * the next reads and writes reconnect and succeed. */
static void test_pg_reconnect(void **state)
{
    struct fixture *fx = *state;
    add_platform(fx, "vm6");
    for (int round = 0; round < 2; round++) {
        int64_t killed = raw_int(fx,
                                 "SELECT count(pg_terminate_backend(pid, 5000))"
                                 " FROM pg_stat_activity WHERE datname = current_database()"
                                 " AND pid <> pg_backend_pid()",
                                 0);
        assert_true(killed >= 1);
        struct platform p;
        if (round == 0) {
            assert_int_equal(store_platform_get(fx->s, "vm6", &p), ERR_OK); /* a read */
        } else {
            memset(&p, 0, sizeof(p));
            strcpy(p.name, "bill"); /* a write */
            assert_int_equal(store_platform_create(fx->s, &p, NULL, NULL), ERR_OK);
        }
        assert_int_equal(store_ping(fx->s), ERR_OK);
    }
    assert_int_equal(raw_int(fx, "SELECT count(*) FROM platforms", 0), 2);
}

/* More threads than connections: they wait for one another, and at most
 * pool_size connections exist. fn of archive_each may use the store even with
 * a pool of one. */
static void test_pg_pool(void **state)
{
    struct fixture *fx = *state;
    add_platform(fx, "vm6");
    char url[600];
    snprintf(url, sizeof(url), "%s%sapplication_name=lc-pool", fx->url,
             strchr(fx->url, '?') ? "&" : "?");
    struct store *s = NULL;
    assert_int_equal(store_open(url, &(struct store_options){.pool_size = 1}, &s), ERR_OK);
    pthread_t th[NTHREADS];
    struct worker w[NTHREADS];
    for (int i = 0; i < NTHREADS; i++) {
        w[i] = (struct worker){s, i, ERR_INTERNAL};
        assert_int_equal(pthread_create(&th[i], NULL, worker_main, &w[i]), 0);
    }
    for (int i = 0; i < NTHREADS; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
        assert_int_equal(w[i].result, ERR_OK);
    }
    assert_int_equal(raw_int(fx,
                             "SELECT count(*) FROM pg_stat_activity"
                             " WHERE application_name = 'lc-pool'",
                             0),
                     1);
    int64_t t1 = add_ticket(fx, 1, "vm6", 0);
    for (int i = 0; i < 70; i++) {
        char path[32];
        snprintf(path, sizeof(path), "1/f%d", i);
        add_archive(fx, t1, path, i);
    }
    struct walk wk = {.s = s, .delete_each = true};
    assert_int_equal(store_archive_each(s, walk_row, &wk), ERR_OK);
    assert_int_equal(wk.err, ERR_OK);
    assert_int_equal(wk.n, 70);
    assert_int_equal(raw_int(fx, "SELECT count(*) FROM archives", 0), 0);
    store_close(s);
}

/* --- bulk copy (store_import_*, store_counts) --- */

static void assert_counts(struct fixture *fx, int64_t users, int64_t platforms, int64_t tickets,
                          int64_t archives)
{
    struct store_counts n = {-1, -1, -1, -1};
    assert_int_equal(store_counts(fx->s, &n), ERR_OK);
    assert_int_equal(n.users, users);
    assert_int_equal(n.platforms, platforms);
    assert_int_equal(n.tickets, tickets);
    assert_int_equal(n.archives, archives);
}

/* Times as a SQLite store would have written them (microseconds, not rounded). */
#define T_CREATED     1600000000123457LL
#define T_LOGIN       1650000000000001LL
#define T_TICKET      1700000000654321LL
#define T_UPDATED     1700000100000009LL
#define T_IMP_EXPIRES 1800000000000123LL
#define T_ARCHIVE     1700000050111111LL
#define T_ARCHIVE2    1700000060222222LL

static void import_user_row(struct user *u, int64_t id, const char *name, int64_t last_login)
{
    memset(u, 0, sizeof(*u));
    u->id = id;
    snprintf(u->username, sizeof(u->username), "%s", name);
    snprintf(u->password_hash, sizeof(u->password_hash), "$argon2id$v=19$m=65536,t=2,p=1$%s", name);
    u->is_admin = id % 2 == 1;
    u->is_active = id != 9;
    snprintf(u->name, sizeof(u->name), "Name of %s", name);
    snprintf(u->email, sizeof(u->email), "%s@example.com", name);
    u->created = T_CREATED + id;
    u->last_login = last_login;
}

static void import_platform_row(struct platform *p, int64_t id, const char *name)
{
    memset(p, 0, sizeof(*p));
    p->id = id;
    snprintf(p->name, sizeof(p->name), "%s", name);
    snprintf(p->pretty_name, sizeof(p->pretty_name), "Pretty %s", name);
}

static void import_archive_row(struct archive *a, int64_t id, int64_t ticket_id, int64_t number,
                               int64_t t)
{
    memset(a, 0, sizeof(*a));
    a->id = id;
    a->ticket_id = ticket_id;
    a->ticket_number = number;
    snprintf(a->name, sizeof(a->name), "logs-%lld.tar.gz", (long long)id);
    snprintf(a->path, sizeof(a->path), "%lld/logs-%lld.tar.gz", (long long)number, (long long)id);
    a->size = 1000 + id;
    memset(a->md5, 'a', 32);
    memset(a->sha256, 'b', 64);
    snprintf(a->uploader_ip, sizeof(a->uploader_ip), "2001:db8::%lld", (long long)id);
    snprintf(a->uploader_agent, sizeof(a->uploader_agent), "curl/8.%lld", (long long)id);
    a->time_create = t;
    a->time_update = t + 7;
}

static void assert_user_equal(const struct user *x, const struct user *y)
{
    assert_int_equal(x->id, y->id);
    assert_string_equal(x->username, y->username);
    assert_string_equal(x->password_hash, y->password_hash);
    assert_int_equal(x->is_admin, y->is_admin);
    assert_int_equal(x->is_active, y->is_active);
    assert_string_equal(x->name, y->name);
    assert_string_equal(x->email, y->email);
    assert_int_equal(x->created, y->created);
    assert_int_equal(x->last_login, y->last_login);
}

/* Every import op refuses to run outside an import (and commit has nothing to commit). */
static void test_import_outside(void **state)
{
    struct fixture *fx = *state;
    struct user u;
    struct platform p;
    struct ticket t;
    struct archive a;
    import_user_row(&u, 1, "u", 0);
    import_platform_row(&p, 1, "p");
    make_ticket(&t, 1, "p", 0);
    t.id = 1;
    t.platform_id = 1;
    import_archive_row(&a, 1, 1, 1, T_ARCHIVE);
    assert_int_equal(store_import_user(fx->s, &u), ERR_INTERNAL);
    assert_int_equal(store_import_platform(fx->s, &p), ERR_INTERNAL);
    assert_int_equal(store_import_ticket(fx->s, &t), ERR_INTERNAL);
    assert_int_equal(store_import_archive(fx->s, &a), ERR_INTERNAL);
    assert_int_equal(store_import_finish(fx->s), ERR_INTERNAL);
    assert_int_equal(store_import_commit(fx->s), ERR_INTERNAL);
    store_import_rollback(fx->s); /* nothing open: nothing happens */
    store_import_rollback(NULL);
    assert_int_equal(store_import_begin(NULL), ERR_INTERNAL);
    assert_int_equal(store_counts(fx->s, NULL), ERR_INTERNAL);
    assert_int_equal(store_import_user(fx->s, NULL), ERR_INTERNAL);
    assert_counts(fx, 0, 0, 0, 0);

    /* One import at a time. */
    assert_int_equal(store_import_begin(fx->s), ERR_OK);
    assert_int_equal(store_import_begin(fx->s), ERR_INTERNAL);
    store_import_rollback(fx->s);
    assert_int_equal(store_import_user(fx->s, &u), ERR_INTERNAL);
    assert_counts(fx, 0, 0, 0, 0);
}

/* A full import keeps every id, time, token and hash; counts see it inside the
 * transaction; new rows afterwards get ids past the imported ones. */
static void test_import_copy(void **state)
{
    struct fixture *fx = *state;
    struct user u5, u9;
    struct platform p3, p7;
    struct ticket k11, k20;
    struct archive a30, a42;
    import_user_row(&u5, 5, "alice", T_LOGIN);
    import_user_row(&u9, 9, "bob", 0);
    import_platform_row(&p3, 3, "vm3");
    import_platform_row(&p7, 7, "vm7");
    make_ticket(&k11, 500, "ignored", 5);
    k11.id = 11;
    k11.platform_id = 3;
    k11.note = "a note\nwith lines";
    k11.attempts = 2;
    k11.expires_at = T_IMP_EXPIRES;
    k11.time_create = T_TICKET;
    k11.time_update = T_UPDATED;
    make_ticket(&k20, 501, "", 0);
    k20.id = 20;
    k20.platform_id = 7;
    k20.resolved = true;
    k20.note = NULL;
    k20.attempts = 0;
    k20.time_create = T_TICKET + 1;
    k20.time_update = T_TICKET + 1;
    import_archive_row(&a30, 30, 11, 500, T_ARCHIVE);
    import_archive_row(&a42, 42, 20, 501, T_ARCHIVE2);

    assert_int_equal(store_import_begin(fx->s), ERR_OK);
    assert_int_equal(store_import_user(fx->s, &u5), ERR_OK);
    assert_int_equal(store_import_user(fx->s, &u9), ERR_OK);
    assert_int_equal(store_import_platform(fx->s, &p3), ERR_OK);
    assert_int_equal(store_import_platform(fx->s, &p7), ERR_OK);
    assert_int_equal(store_import_ticket(fx->s, &k11), ERR_OK);
    assert_int_equal(store_import_ticket(fx->s, &k20), ERR_OK);
    assert_int_equal(store_import_archive(fx->s, &a30), ERR_OK);
    assert_int_equal(store_import_archive(fx->s, &a42), ERR_OK);
    assert_int_equal(store_import_finish(fx->s), ERR_OK);
    assert_counts(fx, 2, 2, 2, 2); /* the import's own rows, before commit */
    assert_int_equal(store_import_commit(fx->s), ERR_OK);
    assert_int_equal(store_import_commit(fx->s), ERR_INTERNAL);
    assert_counts(fx, 2, 2, 2, 2);

    struct user gu;
    assert_int_equal(store_user_get_by_id(fx->s, 5, &gu), ERR_OK);
    assert_user_equal(&gu, &u5);
    assert_int_equal(store_user_get(fx->s, "bob", &gu), ERR_OK);
    assert_user_equal(&gu, &u9);

    struct platform gp;
    assert_int_equal(store_platform_get(fx->s, "vm7", &gp), ERR_OK);
    assert_int_equal(gp.id, 7);
    assert_string_equal(gp.pretty_name, "Pretty vm7");

    struct ticket gt;
    assert_int_equal(store_ticket_get(fx->s, 500, &gt), ERR_OK);
    assert_int_equal(gt.id, 11);
    assert_int_equal(gt.platform_id, 3);
    assert_string_equal(gt.platform, "vm3");
    assert_int_equal(gt.user_id, 5);
    assert_string_equal(gt.user, "alice");
    assert_false(gt.resolved);
    assert_string_equal(gt.note, "a note\nwith lines");
    assert_string_equal(gt.token, k11.token);
    assert_int_equal(gt.attempts, 2);
    assert_int_equal(gt.expires_at, T_IMP_EXPIRES);
    assert_int_equal(gt.time_create, T_TICKET);
    assert_int_equal(gt.time_update, T_UPDATED);
    assert_int_equal(gt.archives, 1);
    assert_int_equal(gt.size, 1030);
    store_ticket_clear(&gt);
    assert_int_equal(store_ticket_get_by_token(fx->s, k20.token, &gt), ERR_OK);
    assert_int_equal(gt.id, 20);
    assert_int_equal(gt.user_id, 0);
    assert_string_equal(gt.user, "");
    assert_true(gt.resolved);
    assert_string_equal(gt.note, "");
    assert_int_equal(gt.attempts, 0);
    assert_int_equal(gt.expires_at, 0);
    assert_int_equal(gt.time_create, T_TICKET + 1);
    store_ticket_clear(&gt);
    assert_archive_stored(fx, &a30);
    assert_archive_stored(fx, &a42);

    /* The id generators continue after the largest imported id. */
    struct platform np = {0}, gotp;
    snprintf(np.name, sizeof(np.name), "new");
    assert_int_equal(store_platform_create(fx->s, &np, NULL, &gotp), ERR_OK);
    assert_true(gotp.id > 7);
    int64_t uid = add_user(fx, "carol");
    assert_true(uid > 9);
    int64_t tid = add_ticket(fx, 502, "new", uid);
    assert_true(tid > 20);
    int64_t aid = add_archive(fx, tid, "502/new.tar.gz", 5);
    assert_true(aid > 42);
    assert_counts(fx, 3, 3, 3, 3);

    /* Deleting an imported user keeps its tickets (ON DELETE SET NULL survived). */
    assert_int_equal(store_user_delete(fx->s, "alice", NULL), ERR_OK);
    assert_int_equal(store_ticket_get(fx->s, 500, &gt), ERR_OK);
    assert_int_equal(gt.user_id, 0);
    store_ticket_clear(&gt);
}

/* A failed import leaves nothing behind; rollback undoes what was imported. */
static void test_import_rollback(void **state)
{
    struct fixture *fx = *state;
    add_platform(fx, "kept");
    struct user u;
    struct platform p;
    struct ticket t;
    struct archive a;

    /* Rolled back on purpose, after the counts saw the rows. */
    assert_int_equal(store_import_begin(fx->s), ERR_OK);
    import_user_row(&u, 50, "gone", 0);
    assert_int_equal(store_import_user(fx->s, &u), ERR_OK);
    import_platform_row(&p, 60, "gone");
    assert_int_equal(store_import_platform(fx->s, &p), ERR_OK);
    assert_counts(fx, 1, 2, 0, 0);
    store_import_rollback(fx->s);
    assert_counts(fx, 0, 1, 0, 0);
    assert_int_equal(store_platform_get(fx->s, "gone", &p), ERR_NOT_FOUND);
    assert_int_equal(store_user_get_by_id(fx->s, 50, &u), ERR_NOT_FOUND);

    /* A ticket whose platform does not exist. */
    assert_int_equal(store_import_begin(fx->s), ERR_OK);
    import_platform_row(&p, 61, "also-gone");
    assert_int_equal(store_import_platform(fx->s, &p), ERR_OK);
    make_ticket(&t, 700, "", 0);
    t.id = 1;
    t.platform_id = 999;
    t.time_create = t.time_update = T_TICKET;
    assert_int_equal(store_import_ticket(fx->s, &t), ERR_REFERENCE);
    store_import_rollback(fx->s);
    assert_counts(fx, 0, 1, 0, 0);

    /* A ticket whose creator does not exist. */
    assert_int_equal(store_import_begin(fx->s), ERR_OK);
    struct platform kept;
    assert_int_equal(store_platform_get(fx->s, "kept", &kept), ERR_OK);
    t.platform_id = kept.id;
    t.user_id = 12345;
    assert_int_equal(store_import_ticket(fx->s, &t), ERR_REFERENCE);
    store_import_rollback(fx->s);

    /* An archive of a missing ticket. */
    assert_int_equal(store_import_begin(fx->s), ERR_OK);
    import_archive_row(&a, 1, 4242, 4242, T_ARCHIVE);
    assert_int_equal(store_import_archive(fx->s, &a), ERR_REFERENCE);
    store_import_rollback(fx->s);

    /* A taken id, and a taken unique name. */
    assert_int_equal(store_import_begin(fx->s), ERR_OK);
    import_platform_row(&p, kept.id, "other");
    assert_int_equal(store_import_platform(fx->s, &p), ERR_EXISTS);
    store_import_rollback(fx->s);
    assert_int_equal(store_import_begin(fx->s), ERR_OK);
    import_platform_row(&p, kept.id + 100, "kept");
    assert_int_equal(store_import_platform(fx->s, &p), ERR_EXISTS);
    store_import_rollback(fx->s);
    assert_counts(fx, 0, 1, 0, 0);

    /* After all that the store works as usual, and imports again. */
    add_platform(fx, "after");
    assert_int_equal(store_import_begin(fx->s), ERR_OK);
    import_user_row(&u, 70, "late", 0);
    assert_int_equal(store_import_user(fx->s, &u), ERR_OK);
    assert_int_equal(store_import_finish(fx->s), ERR_OK);
    assert_int_equal(store_import_commit(fx->s), ERR_OK);
    assert_counts(fx, 1, 2, 0, 0);
    assert_true(add_user(fx, "later") > 70);
}

/* Every statement has a text in both backends (the portable one or their own). */
static void test_statements_complete(void **state)
{
    (void)state;
    for (int i = 0; i < ST__MAX; i++) {
        assert_non_null(db_stmt_sql(&sqlite_db_ops, (enum stmt_id)i));
        assert_non_null(db_stmt_sql(&pg_db_ops, (enum stmt_id)i));
        assert_non_null(db_stmts[i].name);
    }
}

/* --- events, webhooks, mail, retention (issue 14) --- */

static void mk_event(struct event *ev, const char *kind, int64_t ticket)
{
    memset(ev, 0, sizeof(*ev));
    snprintf(ev->kind, sizeof(ev->kind), "%s", kind);
    snprintf(ev->actor_type, sizeof(ev->actor_type), "user");
    snprintf(ev->actor, sizeof(ev->actor), "alice");
    ev->ticket = ticket;
}

static size_t count_events(struct fixture *fx, const char *kind)
{
    struct event_filter f;
    store_event_filter_init(&f);
    f.kind = kind;
    struct event *items = NULL;
    size_t n = 0;
    int64_t total = -1;
    assert_int_equal(store_event_list(fx->s, &f, &items, &n, &total), ERR_OK);
    assert_int_equal((int64_t)n, total);
    free(items);
    return n;
}

/* An event goes in exactly when the change it records commits. */
static void test_event_with_change(void **state)
{
    struct fixture *fx = *state;
    add_platform(fx, "vm6");
    struct ticket t, out;
    make_ticket(&t, 7, "vm6", 0);
    struct event ev;
    mk_event(&ev, "ticket.created", 7);
    assert_int_equal(store_ticket_create(fx->s, &t, &ev, &out), ERR_OK);
    store_ticket_clear(&out);
    assert_int_equal(count_events(fx, "ticket.created"), 1);
    /* the same number again fails: no second event */
    assert_int_equal(store_ticket_create(fx->s, &t, &ev, NULL), ERR_EXISTS);
    assert_int_equal(count_events(fx, "ticket.created"), 1);
    /* an archive: the event gets the new archive's id */
    struct archive a, ao;
    make_archive(&a, out.id, "7/x", 5);
    mk_event(&ev, "upload.finished", 7);
    assert_int_equal(store_archive_create(fx->s, &a, &ev, &ao), ERR_OK);
    struct event_filter f;
    store_event_filter_init(&f);
    f.archive.set = true;
    f.archive.n = 1;
    f.archive.v[0] = ao.id;
    struct event *items = NULL;
    size_t n = 0;
    assert_int_equal(store_event_list(fx->s, &f, &items, &n, NULL), ERR_OK);
    assert_int_equal(n, 1);
    assert_string_equal(items[0].kind, "upload.finished");
    assert_int_equal(items[0].ticket, 7);
    assert_string_equal(items[0].detail, "{}");
    free(items);
    /* resolving sets resolved_at, reopening clears it */
    t.resolved = true;
    assert_int_equal(store_ticket_update(fx->s, 7, &t, NULL, &out), ERR_OK);
    assert_true(out.resolved_at > 0);
    store_ticket_clear(&out);
    t.resolved = false;
    assert_int_equal(store_ticket_update(fx->s, 7, &t, NULL, &out), ERR_OK);
    assert_int_equal(out.resolved_at, 0);
    store_ticket_clear(&out);
    /* a delete of what is not there records nothing */
    mk_event(&ev, "archive.deleted", 7);
    assert_int_equal(store_archive_delete(fx->s, 99999, &ev, NULL), ERR_NOT_FOUND);
    assert_int_equal(count_events(fx, "archive.deleted"), 0);
    /* prefix and actor filters; pruning */
    store_event_filter_init(&f);
    f.kind_prefix = "upload.";
    f.actor = "alice";
    assert_int_equal(store_event_list(fx->s, &f, &items, &n, NULL), ERR_OK);
    assert_int_equal(n, 1);
    free(items);
    int64_t pruned = -1;
    assert_int_equal(store_event_prune(fx->s, now_us() + 1000000, &pruned), ERR_OK);
    assert_int_equal(pruned, 2);
    assert_int_equal(count_events(fx, "upload.finished"), 0);
}

static int64_t add_webhook(struct fixture *fx, const char *events)
{
    struct webhook w = {.active = true}, out;
    snprintf(w.url, sizeof(w.url), "https://hooks.example.com/x");
    snprintf(w.events, sizeof(w.events), "%s", events);
    snprintf(w.secret, sizeof(w.secret), "%064d", 7);
    assert_int_equal(store_webhook_create(fx->s, &w, NULL, &out), ERR_OK);
    return out.id;
}

/* Deliveries: queued per matching webhook with the event, claimed once, retried, logged. */
static void test_webhook_deliveries(void **state)
{
    struct fixture *fx = *state;
    int64_t all = add_webhook(fx, "");
    int64_t some = add_webhook(fx, ",upload.finished,");
    int64_t other = add_webhook(fx, ",ticket_created,"); /* '_' must not match '.' */
    struct event ev;
    mk_event(&ev, "ticket.created", 1);
    assert_int_equal(store_event_add(fx->s, &ev), ERR_OK);
    mk_event(&ev, "upload.finished", 1);
    assert_int_equal(store_event_add(fx->s, &ev), ERR_OK);
    int64_t pending = -1;
    assert_int_equal(store_delivery_pending(fx->s, &pending), ERR_OK);
    assert_int_equal(pending, 3);
    /* a test event goes to its webhook alone */
    mk_event(&ev, "webhook.test", 0);
    ev.webhook = other;
    assert_int_equal(store_event_add(fx->s, &ev), ERR_OK);
    assert_int_equal(store_delivery_pending(fx->s, &pending), ERR_OK);
    assert_int_equal(pending, 4);

    int64_t now = now_us();
    struct delivery *d = malloc(sizeof(*d)), *d2 = malloc(sizeof(*d2));
    assert_non_null(d);
    assert_non_null(d2);
    int seen_all = 0, seen_some = 0, seen_other = 0;
    int64_t first = 0;
    for (int i = 0; i < 4; i++) {
        assert_int_equal(store_delivery_claim(fx->s, "a", now, now + 60000000, d), ERR_OK);
        seen_all += d->webhook_id == all;
        seen_some += d->webhook_id == some;
        seen_other += d->webhook_id == other;
        if (!first)
            first = d->id;
        assert_string_equal(d->secret,
                            "0000000000000000000000000000000000000000000000000000000000000007");
    }
    assert_int_equal(seen_all, 2);
    assert_int_equal(seen_some, 1);
    assert_int_equal(seen_other, 1);
    /* everything is leased: nothing for another owner */
    assert_int_equal(store_delivery_claim(fx->s, "b", now, now + 60000000, d2), ERR_NOT_FOUND);
    /* a failed attempt: pending again later, the lease released */
    struct delivery_result res = {
        .time = now, .status = 500, .duration_ms = 3, .state = "pending", .next_at = now + 5000000};
    snprintf(res.error, sizeof(res.error), "HTTP 500");
    assert_int_equal(store_delivery_finish(fx->s, first, "a", &res), ERR_OK);
    assert_int_equal(store_delivery_claim(fx->s, "b", now, now + 60000000, d2), ERR_NOT_FOUND);
    assert_int_equal(store_delivery_claim(fx->s, "b", now + 6000000, now + 60000000, d2), ERR_OK);
    assert_int_equal(d2->id, first);
    assert_int_equal(d2->attempts, 1);
    /* the old owner's lease is gone: its finish is refused, its attempt kept */
    res.state = "delivered";
    assert_int_equal(store_delivery_finish(fx->s, first, "a", &res), ERR_NOT_FOUND);
    res.status = 204;
    res.error[0] = 0;
    assert_int_equal(store_delivery_finish(fx->s, first, "b", &res), ERR_OK);
    /* a lease that ran out is taken over */
    assert_int_equal(store_delivery_claim(fx->s, "c", now + 120000000, now + 180000000, d2),
                     ERR_OK);
    assert_string_equal(d2->url, "https://hooks.example.com/x");
    struct delivery_log *log = NULL;
    size_t n = 0;
    int64_t total = 0;
    assert_int_equal(
        store_delivery_log(fx->s, d->webhook_id == first ? all : all, -1, 0, &log, &n, &total),
        ERR_OK);
    assert_int_equal((int64_t)n, total);
    free(log);
    struct webhook *hooks = NULL;
    assert_int_equal(store_webhook_list(fx->s, &hooks, &n), ERR_OK);
    assert_int_equal(n, 3);
    free(hooks);
    /* deleting a webhook takes its deliveries */
    assert_int_equal(store_webhook_delete(fx->s, all, NULL), ERR_OK);
    assert_int_equal(store_webhook_delete(fx->s, all, NULL), ERR_NOT_FOUND);
    free(d);
    free(d2);
}

/* Mail: one batch per ticket once it is quiet, claimed by one owner, done or retried. */
static void test_mail_queue(void **state)
{
    struct fixture *fx = *state;
    struct event ev;
    for (int i = 0; i < 3; i++) {
        mk_event(&ev, "upload.finished", 5);
        ev.mail = true;
        snprintf(ev.detail, sizeof(ev.detail), "{\"name\":\"f%d\",\"size\":%d}", i, i);
        assert_int_equal(store_event_add(fx->s, &ev), ERR_OK);
    }
    mk_event(&ev, "upload.finished", 6);
    ev.mail = true;
    assert_int_equal(store_event_add(fx->s, &ev), ERR_OK);
    int64_t now = now_us();
    struct mail_item *items = NULL;
    size_t n = 0;
    /* not quiet yet */
    assert_int_equal(store_mail_claim(fx->s, "a", now, now - 60000000, now - 600000000,
                                      now + 60000000, &items, &n),
                     ERR_NOT_FOUND);
    assert_int_equal(
        store_mail_claim(fx->s, "a", now + 1, now + 1, now - 600000000, now + 60000000, &items, &n),
        ERR_OK);
    assert_int_equal(n, 3);
    assert_int_equal(items[0].ticket, 5);
    assert_string_equal(items[2].ev.detail, "{\"name\":\"f2\",\"size\":2}");
    free(items);
    /* the other ticket; ticket 5 is leased */
    assert_int_equal(
        store_mail_claim(fx->s, "b", now + 1, now + 1, now - 600000000, now + 60000000, &items, &n),
        ERR_OK);
    assert_int_equal(n, 1);
    assert_int_equal(items[0].ticket, 6);
    free(items);
    assert_int_equal(
        store_mail_claim(fx->s, "c", now + 1, now + 1, now - 600000000, now + 60000000, &items, &n),
        ERR_NOT_FOUND);
    assert_int_equal(store_mail_done(fx->s, "a", 5), ERR_OK);
    assert_int_equal(store_mail_retry(fx->s, "b", 6, now + 5000000), ERR_OK);
    assert_int_equal(store_mail_claim(fx->s, "c", now + 1000000, now + 1000000, now - 600000000,
                                      now + 60000000, &items, &n),
                     ERR_NOT_FOUND);
    assert_int_equal(store_mail_claim(fx->s, "c", now + 6000000, now + 6000000, now - 600000000,
                                      now + 60000000, &items, &n),
                     ERR_OK);
    assert_int_equal(n, 1);
    assert_int_equal(items[0].attempts, 1);
    free(items);
}

/* Retention finds archives of resolved tickets past keep_days and untouched open tickets. */
static void test_retention_queries(void **state)
{
    struct fixture *fx = *state;
    struct platform p = {0}, out;
    snprintf(p.name, sizeof(p.name), "keep");
    snprintf(p.pretty_name, sizeof(p.pretty_name), "Keep");
    p.keep_days = 2;
    p.resolve_days = 3;
    snprintf(p.notify_emails, sizeof(p.notify_emails), "a@example.com,b@example.com");
    assert_int_equal(store_platform_create(fx->s, &p, NULL, &out), ERR_OK);
    assert_int_equal(out.keep_days, 2);
    assert_int_equal(out.resolve_days, 3);
    assert_string_equal(out.notify_emails, "a@example.com,b@example.com");
    add_platform(fx, "forever");
    int64_t kept = add_ticket(fx, 1, "keep", 0);
    int64_t open = add_ticket(fx, 2, "keep", 0);
    int64_t other = add_ticket(fx, 3, "forever", 0);
    add_archive(fx, kept, "1/a", 10);
    add_archive(fx, open, "2/a", 10);
    add_archive(fx, other, "3/a", 10);
    struct ticket t, tout;
    assert_int_equal(store_ticket_get(fx->s, 1, &t), ERR_OK);
    t.resolved = true;
    assert_int_equal(store_ticket_update(fx->s, 1, &t, NULL, &tout), ERR_OK);
    store_ticket_clear(&t);
    store_ticket_clear(&tout);
    assert_int_equal(store_ticket_get(fx->s, 3, &t), ERR_OK);
    t.resolved = true;
    assert_int_equal(store_ticket_update(fx->s, 3, &t, NULL, NULL), ERR_OK);
    store_ticket_clear(&t);
    int64_t day = 86400LL * 1000000, now = now_us();
    struct retention_item *items = NULL;
    size_t n = 0;
    assert_int_equal(store_retention_archives(fx->s, now + day, &items, &n), ERR_OK);
    assert_int_equal(n, 0);
    free(items);
    assert_int_equal(store_retention_archives(fx->s, now + 3 * day, &items, &n), ERR_OK);
    assert_int_equal(n, 1);
    assert_int_equal(items[0].ticket, 1);
    assert_string_equal(items[0].platform, "keep");
    free(items);
    int64_t *numbers = NULL;
    assert_int_equal(store_retention_tickets(fx->s, now + 2 * day, &numbers, &n), ERR_OK);
    assert_int_equal(n, 0);
    free(numbers);
    assert_int_equal(store_retention_tickets(fx->s, now + 4 * day, &numbers, &n), ERR_OK);
    assert_int_equal(n, 1);
    assert_int_equal(numbers[0], 2);
    free(numbers);
    /* the upload mail: on for a new user, the user's own switch, with its event */
    int64_t uid = add_user(fx, "bob");
    struct user u;
    assert_int_equal(store_user_get_by_id(fx->s, uid, &u), ERR_OK);
    assert_true(u.upload_mail);
    u.upload_mail = false;
    snprintf(u.email, sizeof(u.email), "bob@example.com");
    struct event uev;
    mk_event(&uev, "user.updated", 0);
    assert_int_equal(store_user_update(fx->s, uid, &u, &uev), ERR_OK);
    assert_int_equal(store_user_get_by_id(fx->s, uid, &u), ERR_OK);
    assert_false(u.upload_mail);
    assert_string_equal(u.email, "bob@example.com");
    assert_int_equal(count_events(fx, "user.updated"), 1);
    /* no such user: no change, no event */
    assert_int_equal(store_user_update(fx->s, 999999, &u, &uev), ERR_NOT_FOUND);
    assert_int_equal(count_events(fx, "user.updated"), 1);
}

/* Sessions: stored by hash with their user, replaced in one step, touched,
 * deleted one by one, per user (but one kept) and when expired. */
static void test_sessions(void **state)
{
    struct fixture *fx = *state;
    int64_t alice = add_user(fx, "alice"), bob = add_user(fx, "bob");
    const int64_t T = 1700000000000000LL;
    struct session a = {.user_id = alice, .second_factor = true, .created = T, .last_seen = T};
    snprintf(a.id_hash, sizeof(a.id_hash), "%064d", 1);
    assert_int_equal(store_session_create(fx->s, &a), ERR_OK);
    assert_int_equal(store_session_create(fx->s, &a), ERR_EXISTS);
    struct session got;
    struct user u;
    assert_int_equal(store_session_get(fx->s, a.id_hash, &got, &u), ERR_OK);
    assert_string_equal(got.id_hash, a.id_hash);
    assert_int_equal(got.user_id, alice);
    assert_true(got.second_factor);
    assert_int_equal(got.created, T);
    assert_int_equal(got.last_seen, T);
    assert_string_equal(u.username, "alice");
    assert_int_equal(u.id, alice);
    assert_int_equal(store_session_touch(fx->s, a.id_hash, T + 5000000), ERR_OK);
    assert_int_equal(store_session_get(fx->s, a.id_hash, &got, &u), ERR_OK);
    assert_int_equal(got.last_seen, T + 5000000);
    /* a new id in place of the old, in one transaction */
    struct session b = a;
    snprintf(b.id_hash, sizeof(b.id_hash), "%064d", 2);
    b.second_factor = false;
    assert_int_equal(store_session_rotate(fx->s, a.id_hash, &b), ERR_OK);
    assert_int_equal(store_session_get(fx->s, a.id_hash, &got, &u), ERR_NOT_FOUND);
    assert_int_equal(store_session_get(fx->s, b.id_hash, &got, &u), ERR_OK);
    assert_false(got.second_factor);
    /* per user, keeping one */
    struct session c = b, d = b;
    snprintf(c.id_hash, sizeof(c.id_hash), "%064d", 3);
    snprintf(d.id_hash, sizeof(d.id_hash), "%064d", 4);
    d.user_id = bob;
    assert_int_equal(store_session_create(fx->s, &c), ERR_OK);
    assert_int_equal(store_session_create(fx->s, &d), ERR_OK);
    assert_int_equal(store_session_delete_user(fx->s, alice, c.id_hash), ERR_OK);
    assert_int_equal(store_session_get(fx->s, b.id_hash, &got, &u), ERR_NOT_FOUND);
    assert_int_equal(store_session_get(fx->s, c.id_hash, &got, &u), ERR_OK);
    assert_int_equal(store_session_get(fx->s, d.id_hash, &got, &u), ERR_OK);
    assert_int_equal(store_session_delete(fx->s, c.id_hash), ERR_OK);
    assert_int_equal(store_session_delete(fx->s, c.id_hash), ERR_NOT_FOUND);
    /* expired ones: created too long ago or idle too long */
    assert_int_equal(store_session_purge(fx->s, T - 1, T - 1), ERR_OK);
    assert_int_equal(store_session_get(fx->s, d.id_hash, &got, &u), ERR_OK);
    assert_int_equal(store_session_purge(fx->s, T - 1, T + 1), ERR_OK);
    assert_int_equal(store_session_get(fx->s, d.id_hash, &got, &u), ERR_NOT_FOUND);
    /* a deleted user's sessions go with them */
    assert_int_equal(store_session_create(fx->s, &d), ERR_OK);
    assert_int_equal(store_user_delete(fx->s, "bob", NULL), ERR_OK);
    assert_int_equal(store_session_get(fx->s, d.id_hash, &got, &u), ERR_NOT_FOUND);
    struct session x = a;
    x.user_id = 999999;
    assert_int_equal(store_session_create(fx->s, &x), ERR_REFERENCE);
}

/* TOTP: a pending secret, enabled with its first step and the backup codes in
 * one transaction; each step taken once; backup codes once; all gone when off. */
static void test_totp_and_backup_codes(void **state)
{
    struct fixture *fx = *state;
    int64_t id = add_user(fx, "carol");
    struct user u;
    assert_int_equal(store_user_get_by_id(fx->s, id, &u), ERR_OK);
    assert_false(u.totp_enabled);
    assert_string_equal(u.totp_secret, "");
    assert_int_equal(store_user_totp_accept(fx->s, id, 10), ERR_NOT_FOUND); /* off */
    char hashes[3][65];
    for (int i = 0; i < 3; i++)
        snprintf(hashes[i], sizeof(hashes[i]), "%064d", i + 1);
    struct event ev;
    mk_event(&ev, "auth.2fa_changed", 0);
    assert_int_equal(store_user_totp_enable(fx->s, id, 100, (const char(*)[65])hashes, 3, &ev),
                     ERR_NOT_FOUND); /* nothing pending: no event either */
    assert_int_equal(count_events(fx, "auth.2fa_changed"), 0);
    assert_int_equal(store_user_totp_begin(fx->s, id, "JBSWY3DPEHPK3PXP"), ERR_OK);
    assert_int_equal(store_user_get_by_id(fx->s, id, &u), ERR_OK);
    assert_string_equal(u.totp_secret, "JBSWY3DPEHPK3PXP");
    assert_false(u.totp_enabled);
    assert_int_equal(store_user_totp_enable(fx->s, id, 100, (const char(*)[65])hashes, 3, &ev),
                     ERR_OK);
    assert_int_equal(count_events(fx, "auth.2fa_changed"), 1);
    assert_int_equal(store_user_get_by_id(fx->s, id, &u), ERR_OK);
    assert_true(u.totp_enabled);
    assert_int_equal(u.totp_last_counter, 100);
    assert_int_equal(store_user_totp_begin(fx->s, id, "OTHER"), ERR_NOT_FOUND); /* on: no */
    /* each time step once, and only later ones */
    assert_int_equal(store_user_totp_accept(fx->s, id, 100), ERR_NOT_FOUND);
    assert_int_equal(store_user_totp_accept(fx->s, id, 99), ERR_NOT_FOUND);
    assert_int_equal(store_user_totp_accept(fx->s, id, 101), ERR_OK);
    assert_int_equal(store_user_totp_accept(fx->s, id, 101), ERR_NOT_FOUND);
    /* backup codes: once each */
    int64_t left = 0;
    assert_int_equal(store_backup_codes_left(fx->s, id, &left), ERR_OK);
    assert_int_equal(left, 3);
    assert_int_equal(store_backup_code_use(fx->s, id, hashes[1], now_us()), ERR_OK);
    assert_int_equal(store_backup_code_use(fx->s, id, hashes[1], now_us()), ERR_NOT_FOUND);
    assert_int_equal(store_backup_code_use(fx->s, id + 1, hashes[0], now_us()), ERR_NOT_FOUND);
    assert_int_equal(store_backup_codes_left(fx->s, id, &left), ERR_OK);
    assert_int_equal(left, 2);
    /* new codes replace the old */
    char fresh[1][65];
    snprintf(fresh[0], sizeof(fresh[0]), "%064d", 9);
    assert_int_equal(store_backup_codes_set(fx->s, id, (const char(*)[65])fresh, 1, NULL), ERR_OK);
    assert_int_equal(store_backup_code_use(fx->s, id, hashes[0], now_us()), ERR_NOT_FOUND);
    assert_int_equal(store_backup_codes_left(fx->s, id, &left), ERR_OK);
    assert_int_equal(left, 1);
    /* off: secret, counter and codes gone */
    assert_int_equal(store_user_totp_disable(fx->s, id, NULL), ERR_OK);
    assert_int_equal(store_user_get_by_id(fx->s, id, &u), ERR_OK);
    assert_false(u.totp_enabled);
    assert_string_equal(u.totp_secret, "");
    assert_int_equal(u.totp_last_counter, 0);
    assert_int_equal(store_backup_codes_left(fx->s, id, &left), ERR_OK);
    assert_int_equal(left, 0);
    /* profile and rights */
    snprintf(u.name, sizeof(u.name), "Carol C.");
    snprintf(u.email, sizeof(u.email), "carol@example.com");
    u.is_admin = true;
    u.is_active = false;
    assert_int_equal(store_user_update(fx->s, id, &u, NULL), ERR_OK);
    struct user v;
    assert_int_equal(store_user_get_by_id(fx->s, id, &v), ERR_OK);
    assert_string_equal(v.name, "Carol C.");
    assert_string_equal(v.email, "carol@example.com");
    assert_true(v.is_admin);
    assert_false(v.is_active);
    assert_int_equal(store_user_update(fx->s, 999999, &u, NULL), ERR_NOT_FOUND);
}

/* The store's contract, one list run against each backend. */
#define SHARED_TESTS(setup_fn, setup_new_fn)                                                       \
    cmocka_unit_test_setup_teardown(test_unmigrated, setup_new_fn, teardown),                      \
        cmocka_unit_test_setup_teardown(test_migrate_race, setup_new_fn, teardown),                \
        cmocka_unit_test_setup_teardown(test_migrate_twice, setup_fn, teardown),                   \
        cmocka_unit_test_setup_teardown(test_users, setup_fn, teardown),                           \
        cmocka_unit_test_setup_teardown(test_platforms, setup_fn, teardown),                       \
        cmocka_unit_test_setup_teardown(test_tickets, setup_fn, teardown),                         \
        cmocka_unit_test_setup_teardown(test_ticket_list_filters, setup_fn, teardown),             \
        cmocka_unit_test_setup_teardown(test_ticket_list_local_time, setup_fn, teardown),          \
        cmocka_unit_test_setup_teardown(test_archives_cascade, setup_fn, teardown),                \
        cmocka_unit_test_setup_teardown(test_token_check, setup_fn, teardown),                     \
        cmocka_unit_test_setup_teardown(test_token_consume, setup_fn, teardown),                   \
        cmocka_unit_test_setup_teardown(test_token_consume_threads, setup_fn, teardown),           \
        cmocka_unit_test_setup_teardown(test_token_forms, setup_fn, teardown),                     \
        cmocka_unit_test_setup_teardown(test_token_refund, setup_fn, teardown),                    \
        cmocka_unit_test_setup_teardown(test_times, setup_fn, teardown),                           \
        cmocka_unit_test_setup_teardown(test_archive_create_get, setup_fn, teardown),              \
        cmocka_unit_test_setup_teardown(test_archive_move, setup_fn, teardown),                    \
        cmocka_unit_test_setup_teardown(test_archive_delete_exists, setup_fn, teardown),           \
        cmocka_unit_test_setup_teardown(test_archive_list, setup_fn, teardown),                    \
        cmocka_unit_test_setup_teardown(test_archive_each, setup_fn, teardown),                    \
        cmocka_unit_test_setup_teardown(test_archive_cascade_created, setup_fn, teardown),         \
        cmocka_unit_test_setup_teardown(test_platform_counts, setup_fn, teardown),                 \
        cmocka_unit_test_setup_teardown(test_upload_rows, setup_fn, teardown),                     \
        cmocka_unit_test_setup_teardown(test_upload_stale, setup_fn, teardown),                    \
        cmocka_unit_test_setup_teardown(test_event_with_change, setup_fn, teardown),               \
        cmocka_unit_test_setup_teardown(test_webhook_deliveries, setup_fn, teardown),              \
        cmocka_unit_test_setup_teardown(test_mail_queue, setup_fn, teardown),                      \
        cmocka_unit_test_setup_teardown(test_retention_queries, setup_fn, teardown),               \
        cmocka_unit_test_setup_teardown(test_sessions, setup_fn, teardown),                        \
        cmocka_unit_test_setup_teardown(test_totp_and_backup_codes, setup_fn, teardown),           \
        cmocka_unit_test_setup_teardown(test_threads, setup_fn, teardown),                         \
        cmocka_unit_test_setup_teardown(test_import_outside, setup_fn, teardown),                  \
        cmocka_unit_test_setup_teardown(test_import_copy, setup_fn, teardown),                     \
        cmocka_unit_test_setup_teardown(test_import_rollback, setup_fn, teardown)

int main(void)
{
    /* A zone east of UTC with no DST, so that local dates differ from UTC ones. */
    setenv("TZ", "JST-9", 1);
    tzset();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_statements_complete),
        cmocka_unit_test(test_open_bad_urls),
        cmocka_unit_test(test_pg_unreachable),
        cmocka_unit_test(test_open_relative_and_absolute),
        cmocka_unit_test(test_archive_filter_init),
        SHARED_TESTS(setup, setup_new),
        cmocka_unit_test_setup_teardown(test_busy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_archive_create_waits, setup, teardown),
    };
    int failed = cmocka_run_group_tests_name("sqlite", tests, NULL, NULL);

    const char *pg = getenv("LC_TEST_PG_URL");
    if (!pg || !*pg) {
        printf("[  SKIPPED ] PostgreSQL store tests: set LC_TEST_PG_URL (e.g. "
               "postgres://postgres@127.0.0.1:55432/postgres) to run them\n");
        return failed;
    }
    const struct CMUnitTest pg_tests[] = {
        cmocka_unit_test(test_pg_open),
        SHARED_TESTS(setup_pg, setup_pg_new),
        cmocka_unit_test_setup_teardown(test_pg_reconnect, setup_pg, teardown),
        cmocka_unit_test_setup_teardown(test_pg_pool, setup_pg, teardown),
    };
    return failed + cmocka_run_group_tests_name("postgresql", pg_tests, NULL, NULL);
}
