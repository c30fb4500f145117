/* cli_migrate.c - `migrate-data`: copies all metadata to another database (SQLite, PostgreSQL). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "cli.h"
#include "core/config.h"
#include "core/log.h"
#include "store/store.h"

#define EXIT_USAGE 2

static const char usage_migrate_data[] =
    "Usage: logs-collector migrate-data --from URL --to URL\n"
    "\n"
    "Copies all metadata (users with their password hashes, platforms, tickets with\n"
    "their tokens and attempts, archives' rows) from the database at --from to the\n"
    "database at --to, keeping every id and time, in one transaction, then compares\n"
    "the number of rows of every table. URLs as for DB_URL, e.g.\n"
    "  --from sqlite:///data/db.sqlite3 --to postgres://user:pass@host:5432/db\n"
    "Both schemas are migrated first. The target must hold no rows (create it\n"
    "afresh, or drop and recreate it, to start over). Stop every server first.\n"
    "The archive files are not touched: keep DATA_DIR (and its secret_key) and\n"
    "point DB_URL at the new database.\n"
    "Exit code 0 when every count matches, 1 on any failure (nothing is copied\n"
    "then), 2 for bad arguments or configuration.\n";

/* Writes url into out without what may be secret: for "scheme://user:pass@host/db?opts"
 * only "scheme://host/db" (the query may hold password=...). */
static void url_redact(const char *url, char *out, size_t cap)
{
    const char *sep = strstr(url, "://");
    if (!sep || strncasecmp(url, "sqlite", 6) == 0) {
        /* A file path holds no secret; a URL without "://" is printed by scheme only. */
        snprintf(out, cap, "%s", sep ? url : "(unparsable URL)");
        return;
    }
    const char *auth = sep + 3;
    size_t auth_len = strcspn(auth, "/?#");
    const char *host = auth;
    for (size_t i = 0; i < auth_len; i++)
        if (auth[i] == '@')
            host = auth + i + 1; /* the last '@' ends the user information */
    const char *path = auth + auth_len;
    size_t path_len = *path == '/' ? strcspn(path, "?#") : 0;
    snprintf(out, cap, "%.*s%.*s%.*s", (int)(auth - url), url, (int)(auth + auth_len - host), host,
             (int)path_len, path);
}

/* Opens and migrates the store at url; `role` ("source", "target") names it in
 * messages. Returns 0 or an exit code (message printed). */
static int open_store(const char *role, const char *url, const char *shown,
                      const struct store_options *opt, struct store **ret)
{
    struct store *s = NULL;
    enum err e = store_open(url, opt, &s);
    if (e) {
        fprintf(stderr, "logs-collector: migrate-data: cannot open the %s database %s: %s\n", role,
                shown, err_info(e)->detail);
        return e == ERR_CONFIG ? EXIT_USAGE : 1;
    }
    int applied = 0;
    e = store_migrate(s, &applied);
    if (e) {
        fprintf(stderr, "logs-collector: migrate-data: cannot migrate the %s database %s: %s\n",
                role, shown, err_info(e)->detail);
        store_close(s);
        return 1;
    }
    if (applied)
        printf("%s: applied %d migration(s)\n", role, applied);
    *ret = s;
    return 0;
}

/* State of the archive walk: store_archive_each's callback cannot return an error. */
struct archive_copy {
    struct store *to;
    enum err e;   /* the first failure; later rows are skipped */
    int64_t id;   /* the archive that failed */
    int64_t done; /* rows copied */
};

static void copy_archive(const struct archive *a, void *ctx)
{
    struct archive_copy *x = ctx;
    if (x->e)
        return;
    x->e = store_import_archive(x->to, a);
    if (x->e)
        x->id = a->id;
    else
        x->done++;
}

/* Copies every row of from into to, inside the import transaction the caller
 * opened on to. On failure prints what failed and returns the error. */
static enum err copy_all(struct store *from, struct store *to)
{
    struct user *users = NULL;
    struct platform *platforms = NULL;
    struct ticket *tickets = NULL;
    size_t nusers = 0, nplatforms = 0, ntickets = 0;
    const char *what = "read users";
    int64_t id = 0;

    enum err e = store_user_list(from, &users, &nusers);
    for (size_t i = 0; !e && i < nusers; i++) {
        what = "user";
        id = users[i].id;
        e = store_import_user(to, &users[i]);
    }
    if (!e) {
        what = "read platforms";
        e = store_platform_list(from, &platforms, &nplatforms);
    }
    for (size_t i = 0; !e && i < nplatforms; i++) {
        what = "platform";
        id = platforms[i].id;
        e = store_import_platform(to, &platforms[i]);
    }
    if (!e) {
        struct ticket_filter f;
        store_ticket_filter_init(&f); /* all of them */
        what = "read tickets";
        e = store_ticket_list(from, &f, &tickets, &ntickets, NULL);
    }
    for (size_t i = 0; !e && i < ntickets; i++) {
        what = "ticket";
        id = tickets[i].id;
        e = store_import_ticket(to, &tickets[i]);
    }
    if (!e) {
        struct archive_copy x = {to, ERR_OK, 0, 0};
        what = "read archives";
        e = store_archive_each(from, copy_archive, &x);
        if (!e && x.e) {
            e = x.e;
            what = "archive";
            id = x.id;
        }
    }
    if (!e) {
        what = "id sequences";
        id = 0;
        e = store_import_finish(to);
    }
    if (e) {
        if (id)
            fprintf(stderr, "logs-collector: migrate-data: copying %s %lld failed: %s\n", what,
                    (long long)id, err_info(e)->detail);
        else
            fprintf(stderr, "logs-collector: migrate-data: %s failed: %s\n", what,
                    err_info(e)->detail);
    }
    free(users);
    free(platforms);
    store_ticket_list_free(tickets, ntickets);
    return e;
}

/* Prints one line per table and returns true when every count matches. */
static bool counts_match(const struct store_counts *a, const struct store_counts *b)
{
    const struct {
        const char *name;
        int64_t from, to;
    } rows[] = {
        {"users", a->users, b->users},
        {"platforms", a->platforms, b->platforms},
        {"tickets", a->tickets, b->tickets},
        {"archives", a->archives, b->archives},
    };
    bool ok = true;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        bool same = rows[i].from == rows[i].to;
        printf("  %-10s %lld → %lld %s\n", rows[i].name, (long long)rows[i].from,
               (long long)rows[i].to, same ? "ok" : "MISMATCH");
        ok &= same;
    }
    return ok;
}

/* The copy itself, once both stores are open and migrated: 0 or an exit code. */
static int migrate(struct store *from, struct store *to, const char *to_shown)
{
    struct store_counts src, dst;
    enum err e = store_counts(to, &dst);
    if (e) {
        fprintf(stderr, "logs-collector: migrate-data: cannot count the target's rows: %s\n",
                err_info(e)->detail);
        return 1;
    }
    if (dst.users || dst.platforms || dst.tickets || dst.archives) {
        fprintf(stderr,
                "logs-collector: migrate-data: the target database %s is not empty (%lld "
                "user(s), %lld platform(s), %lld ticket(s), %lld archive(s)); refusing to mix "
                "two installations. To start over, drop and recreate the target database "
                "(for PostgreSQL: DROP DATABASE ...; CREATE DATABASE ...) and run this again.\n",
                to_shown, (long long)dst.users, (long long)dst.platforms, (long long)dst.tickets,
                (long long)dst.archives);
        return 1;
    }
    /* A mistyped SQLite path opens (and creates) an empty database: say so
     * rather than "copy" nothing successfully. */
    e = store_counts(from, &src);
    if (e) {
        fprintf(stderr, "logs-collector: migrate-data: cannot count the source's rows: %s\n",
                err_info(e)->detail);
        return 1;
    }
    if (!src.users && !src.platforms && !src.tickets && !src.archives) {
        fprintf(stderr, "logs-collector: migrate-data: the source database holds no rows; "
                        "check --from (nothing to copy)\n");
        return 1;
    }

    e = store_import_begin(to);
    if (e) {
        fprintf(stderr, "logs-collector: migrate-data: cannot begin the copy: %s\n",
                err_info(e)->detail);
        return 1;
    }
    e = copy_all(from, to);
    /* Counted after the copy: a source that changed meanwhile shows as a mismatch. */
    if (!e)
        e = store_counts(from, &src);
    if (!e)
        e = store_counts(to, &dst); /* inside the import: its own rows */
    if (e) {
        store_import_rollback(to);
        fprintf(stderr, "logs-collector: migrate-data: nothing was copied (rolled back)\n");
        return 1;
    }
    printf("rows (source → target, before commit):\n");
    if (!counts_match(&src, &dst)) {
        store_import_rollback(to);
        fprintf(stderr, "logs-collector: migrate-data: the counts differ (was a server still "
                        "writing to the source?); nothing was copied (rolled back)\n");
        return 1;
    }
    e = store_import_commit(to);
    if (e) {
        fprintf(stderr, "logs-collector: migrate-data: commit failed: %s; nothing was copied\n",
                err_info(e)->detail);
        return 1;
    }
    /* Once more from outside the transaction: what another process now sees. */
    e = store_counts(to, &dst);
    if (!e)
        e = store_counts(from, &src);
    if (e) {
        fprintf(stderr, "logs-collector: migrate-data: cannot count the rows after the copy: %s\n",
                err_info(e)->detail);
        return 1;
    }
    printf("rows (source → target, committed):\n");
    if (!counts_match(&src, &dst)) {
        fprintf(stderr, "logs-collector: migrate-data: the counts differ after the commit\n");
        return 1;
    }
    return 0;
}

/* Parses "--name VALUE" or "--name=VALUE" at argv[*i]; true when it was that option. */
static bool option(int argc, char **argv, int *i, const char *name, const char **ret, bool *ret_bad)
{
    size_t n = strlen(name);
    if (strncmp(argv[*i], name, n) != 0)
        return false;
    if (argv[*i][n] == '=') {
        *ret = argv[*i] + n + 1;
    } else if (argv[*i][n] == 0 && *i + 1 < argc) {
        *ret = argv[++*i];
    } else if (argv[*i][n] == 0) {
        *ret_bad = true;
    } else {
        return false;
    }
    return true;
}

/* migrate-data --from URL --to URL: see usage_migrate_data. Returns the exit code. */
int cli_migrate_data(int argc, char **argv)
{
    const char *from_url = NULL, *to_url = NULL;
    for (int i = 0; i < argc; i++) {
        bool bad = false;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(usage_migrate_data, stdout);
            return 0;
        }
        if (option(argc, argv, &i, "--from", &from_url, &bad) ||
            option(argc, argv, &i, "--to", &to_url, &bad)) {
            if (!bad)
                continue;
            fprintf(stderr, "logs-collector: migrate-data: %s needs a URL\n%s", argv[i],
                    usage_migrate_data);
            return EXIT_USAGE;
        }
        fprintf(stderr, "logs-collector: migrate-data: unexpected argument \"%s\"\n%s", argv[i],
                usage_migrate_data);
        return EXIT_USAGE;
    }
    if (!from_url || !*from_url || !to_url || !*to_url) {
        fprintf(stderr, "logs-collector: migrate-data: --from and --to are required\n%s",
                usage_migrate_data);
        return EXIT_USAGE;
    }
    if (strcmp(from_url, to_url) == 0) {
        fprintf(stderr, "logs-collector: migrate-data: --from and --to name the same database\n");
        return EXIT_USAGE;
    }

    /* The environment still decides LOG_LEVEL, TZ and DB_WAIT; --from/--to replace DB_URL. */
    struct config cfg;
    char err[512];
    if (config_load(&cfg, err, sizeof(err)) != ERR_OK) {
        fprintf(stderr, "logs-collector: %s\n", err);
        return EXIT_USAGE;
    }
    log_set_level((enum log_level)cfg.log_level);
    setenv("TZ", cfg.tz, 1);
    tzset();

    char from_shown[512], to_shown[512];
    url_redact(from_url, from_shown, sizeof(from_shown));
    url_redact(to_url, to_shown, sizeof(to_shown));
    printf("source: %s\ntarget: %s\n", from_shown, to_shown);
    fflush(stdout);

    /* One thread: one connection each is all the copy uses. */
    struct store_options opt = {.connect_wait = (int)cfg.db_wait, .pool_size = 2};
    struct store *from = NULL, *to = NULL;
    int rc = open_store("source", from_url, from_shown, &opt, &from);
    if (!rc)
        rc = open_store("target", to_url, to_shown, &opt, &to);
    if (!rc)
        rc = migrate(from, to, to_shown);
    store_close(to);
    store_close(from);
    if (!rc)
        printf("done: the metadata is in %s. The archive files were not copied: keep DATA_DIR "
               "(and its secret_key) as it is and set DB_URL to the new database.\n",
               to_shown);
    return rc;
}
