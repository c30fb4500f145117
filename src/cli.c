/* cli.c - subcommands: serve (default), migrate, version, user create|passwd|list|delete. */
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "app.h"
#include "auth/password.h"
#include "auth/rules.h"
#include "cli.h"
#include "core/log.h"
#include "core/util.h"
#include "api/api.h"
#include "api/events.h"
#include "http/server.h"
#include "jobs/jobs.h"
#include "jobs/retention.h"

#define EXIT_USAGE 2

static const char usage_main[] =
    "Usage: logs-collector [COMMAND] [OPTIONS]\n"
    "\n"
    "Collects log archives from customers through upload tokens.\n"
    "\n"
    "Commands:\n"
    "  serve                  run the HTTP server (the default)\n"
    "  migrate                apply pending database migrations and exit\n"
    "  user create NAME [--admin] [--password-stdin]\n"
    "                         create a staff user\n"
    "  user passwd NAME [--password-stdin]\n"
    "                         set a user's password\n"
    "  user list              list users\n"
    "  user delete NAME       delete a user (their tickets are kept)\n"
    "  cleanup [--dry-run]    remove archive files that have no database row, report\n"
    "                         rows whose file is missing\n"
    "  retention [--dry-run]  resolve untouched tickets and delete the archives and\n"
    "                         events kept long enough (the platforms' settings)\n"
    "  migrate-data --from URL --to URL\n"
    "                         copy all metadata to another database (SQLite -> PostgreSQL)\n"
    "  version                print the version\n"
    "\n"
    "Configuration comes from the environment and .env (see docs/configuration.md).\n"
    "Commands other than serve and migrate work on an existing DATA_DIR only.\n"
    "Run 'logs-collector COMMAND --help' for a command's options.\n";

static const char usage_serve[] =
    "Usage: logs-collector serve\n"
    "\n"
    "Runs the HTTP server on BIND (default 127.0.0.1:8000) until SIGTERM or SIGINT.\n"
    "Creates DATA_DIR and migrates the database first. With no users, creates the\n"
    "first administrator (ADMIN_USERNAME/ADMIN_PASSWORD, or 'admin' with a random\n"
    "password printed once and kept in DATA_DIR/initial-admin-password).\n";

static const char usage_migrate[] =
    "Usage: logs-collector migrate\n"
    "\n"
    "Applies pending database migrations to DB_URL and exits (creating DATA_DIR\n"
    "and the SQLite file when missing).\n";

static const char usage_version[] = "Usage: logs-collector version\n"
                                    "\n"
                                    "Prints the version and exits.\n";

static const char usage_user[] =
    "Usage: logs-collector user COMMAND\n"
    "\n"
    "  create NAME [--admin] [--password-stdin]   create a user\n"
    "  passwd NAME [--password-stdin]             set a new password\n"
    "  list                                       list users\n"
    "  delete NAME                                delete a user; their tickets are kept\n"
    "\n"
    "Run 'logs-collector user COMMAND --help' for the details of one.\n";

#define PASSWORD_HELP                                                                              \
    "The password is asked twice on the terminal, or read from the first line of\n"                \
    "standard input with --password-stdin. It has at least 8 characters and at most\n"             \
    "4096 bytes.\n"

static const char usage_user_create[] =
    "Usage: logs-collector user create NAME [--admin] [--password-stdin]\n"
    "\n"
    "Creates a staff user; --admin makes an administrator.\n"
    "NAME has 1 to 150 characters: letters, digits and @ . + - _\n" PASSWORD_HELP
    "Exit code 0 when created, 1 when the user exists or the database fails, 2 for\n"
    "a bad name, password or argument.\n";

static const char usage_user_passwd[] =
    "Usage: logs-collector user passwd NAME [--password-stdin]\n"
    "\n"
    "Sets a new password for NAME.\n" PASSWORD_HELP
    "Exit code 0 when changed, 1 when there is no such user, 2 for a bad password or\n"
    "argument.\n";

static const char usage_user_list[] = "Usage: logs-collector user list\n"
                                      "\n"
                                      "Lists the users: id, name, admin, active, last login.\n";

static const char usage_user_delete[] =
    "Usage: logs-collector user delete NAME\n"
    "\n"
    "Deletes the user NAME. The tickets they created are kept (their creator\n"
    "becomes empty).\n";

static const char usage_cleanup[] =
    "Usage: logs-collector cleanup [--dry-run]\n"
    "\n"
    "Compares DATA_DIR/archives with the database. Files no row points to are\n"
    "removed (only when older than an hour, so uploads finishing right now are\n"
    "safe); rows whose file is missing are reported. --dry-run only reports.\n"
    "Exit code 0 unless the check itself failed.\n";

static const char usage_retention[] =
    "Usage: logs-collector retention [--dry-run]\n"
    "\n"
    "Runs the retention pass that `serve` runs every hour: resolves the open tickets\n"
    "of platforms with resolve_days that nobody touched for that many days, deletes\n"
    "the archives of platforms with keep_days whose ticket was resolved longer ago\n"
    "than that (each deletion an event of actor \"system\"), and deletes events older\n"
    "than EVENTS_KEEP. Prints one line per ticket and archive. --dry-run prints\n"
    "what would go and changes nothing. Off unless a platform sets its days.\n"
    "Exit code 0 unless the pass failed.\n";

static bool wants_help(int argc, char **argv)
{
    for (int i = 0; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return true;
    return false;
}

/* Loads the configuration; prints the one-line error and returns false on a bad value. */
static bool load_config(struct config *c)
{
    char err[512];
    if (config_load(c, err, sizeof(err)) != ERR_OK) {
        fprintf(stderr, "logs-collector: %s\n", err);
        return false;
    }
    return true;
}

/* 0 ok, else an exit code; the reason is already logged. flags: APP_*. */
static int open_app(struct app *a, unsigned flags)
{
    struct config c;
    if (!load_config(&c))
        return EXIT_USAGE;
    enum err e = app_open(a, &c, flags);
    if (e) {
        app_close(a);
        return e == ERR_CONFIG ? EXIT_USAGE : 1;
    }
    return 0;
}

static int cmd_serve(int argc, char **argv)
{
    (void)argv;
    if (argc) {
        fprintf(stderr, "logs-collector: serve takes no arguments\n%s", usage_serve);
        return EXIT_USAGE;
    }
    struct app a;
    int rc = open_app(&a, APP_MIGRATE | APP_CREATE);
    if (rc)
        return rc;
    int swept = 0;
    enum err e = blob_sweep_tmp(a.blobs, &swept);
    if (!e && swept)
        log_warn("removed %d unfinished upload(s) left by an earlier run", swept);
    if (!e)
        e = app_bootstrap_admin(&a);
    if (!e)
        e = jobs_start(&a);
    if (!e)
        e = server_run(&a, &api_routes);
    jobs_stop(); /* after the last request: it may have handed events over */
    app_close(&a);
    if (e)
        return e == ERR_CONFIG ? EXIT_USAGE : 1;
    return 0;
}

static int cmd_migrate(int argc, char **argv)
{
    (void)argv;
    if (argc) {
        fprintf(stderr, "logs-collector: migrate takes no arguments\n%s", usage_migrate);
        return EXIT_USAGE;
    }
    struct app a;
    int rc = open_app(&a, APP_MIGRATE | APP_CREATE);
    if (rc)
        return rc;
    int version = 0;
    if (store_schema_version(a.store, &version) == ERR_OK)
        printf("database is at schema version %d\n", version);
    app_close(&a);
    return 0;
}

/* Reads a password: the first line of stdin, or twice from the terminal without echo. */
static bool read_password(bool from_stdin, char *out, size_t outlen)
{
    if (from_stdin) {
        if (!fgets(out, (int)outlen, stdin)) {
            fprintf(stderr, "logs-collector: no password on standard input\n");
            return false;
        }
        out[strcspn(out, "\r\n")] = 0;
        return true;
    }
    FILE *tty = fopen("/dev/tty", "r+");
    if (!tty) {
        fprintf(stderr, "logs-collector: no terminal to ask for a password; use "
                        "--password-stdin\n");
        return false;
    }
    struct termios old, quiet;
    bool restore = tcgetattr(fileno(tty), &old) == 0;
    if (restore) {
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        tcsetattr(fileno(tty), TCSAFLUSH, &quiet);
    }
    char again[LIMIT_PASSWORD + 2];
    bool ok = false;
    fputs("Password: ", tty);
    fflush(tty);
    if (fgets(out, (int)outlen, tty)) {
        fputs("\nPassword (again): ", tty);
        fflush(tty);
        if (fgets(again, sizeof(again), tty)) {
            out[strcspn(out, "\r\n")] = 0;
            again[strcspn(again, "\r\n")] = 0;
            ok = strcmp(out, again) == 0;
            if (!ok)
                fputs("\nPasswords do not match.", tty);
        }
    }
    fputs("\n", tty);
    if (restore)
        tcsetattr(fileno(tty), TCSAFLUSH, &old);
    fclose(tty);
    sodium_memzero(again, sizeof(again));
    return ok;
}

/* Checks a password against the rules of src/auth/rules.c; prints why not. */
static bool password_acceptable(const char *pw)
{
    char why[160];
    if (auth_password_valid(pw, why, sizeof(why)))
        return true;
    fprintf(stderr, "logs-collector: %s\n", why);
    return false;
}

/* The initial-admin-password file describes the bootstrap admin's password:
 * once that changes (or the user goes) the file is stale and removed. */
static void forget_initial_password(struct app *a, const char *username)
{
    char path[1200];
    if (app_forget_initial_password(a, username, path, sizeof(path)))
        printf("removed %s\n", path);
}

/* The password for create/passwd: 0, or an exit code (2 when it breaks the
 * rules, 1 when none could be read). */
static int get_password(bool from_stdin, char *pw, size_t cap)
{
    if (!read_password(from_stdin, pw, cap))
        return 1;
    if (!password_acceptable(pw)) {
        sodium_memzero(pw, cap);
        return EXIT_USAGE;
    }
    return 0;
}

/* What `user SUB` was given. */
struct user_args {
    const char *name;
    bool admin;      /* --admin */
    bool from_stdin; /* --password-stdin */
};

static int user_create(struct app *a, const struct user_args *ua)
{
    const char *name = ua->name;
    bool admin = ua->admin, from_stdin = ua->from_stdin;
    char pw[LIMIT_PASSWORD + 2], why[160];
    struct user u = {.is_admin = admin, .is_active = true};
    if (!auth_username_valid(name, why, sizeof(why))) {
        fprintf(stderr, "logs-collector: %s\n", why);
        return EXIT_USAGE;
    }
    int rc = get_password(from_stdin, pw, sizeof(pw));
    if (rc)
        return rc;
    str_copy(u.username, sizeof(u.username), name);
    enum err e = password_hash(pw, u.password_hash, sizeof(u.password_hash));
    sodium_memzero(pw, sizeof(pw));
    struct event ev;
    api_event_system(
        &ev, "user.created", 0, 0,
        json_pack("{s:s,s:b,s:s}", "username", name, "is_admin", admin, "via", "command line"));
    int64_t id;
    if (!e)
        e = store_user_create(a->store, &u, &ev, &id);
    if (e == ERR_EXISTS) {
        fprintf(stderr, "logs-collector: user \"%s\" already exists\n", name);
        return 1;
    }
    if (e) {
        fprintf(stderr, "logs-collector: cannot create user: %s\n", err_info(e)->detail);
        return 1;
    }
    printf("created %s \"%s\" (id %lld)\n", admin ? "administrator" : "user", name, (long long)id);
    return 0;
}

static int user_passwd(struct app *a, const struct user_args *ua)
{
    const char *name = ua->name;
    bool from_stdin = ua->from_stdin;
    struct user u;
    enum err e = store_user_get(a->store, name, &u);
    if (e == ERR_NOT_FOUND) {
        fprintf(stderr, "logs-collector: no user \"%s\"\n", name);
        return 1;
    }
    if (e) {
        fprintf(stderr, "logs-collector: cannot read user: %s\n", err_info(e)->detail);
        return 1;
    }
    char pw[LIMIT_PASSWORD + 2], hash[PASSWORD_HASH_MAX];
    int rc = get_password(from_stdin, pw, sizeof(pw));
    if (rc)
        return rc;
    e = password_hash(pw, hash, sizeof(hash));
    sodium_memzero(pw, sizeof(pw));
    struct event ev;
    api_event_system(&ev, "user.password_changed", 0, 0,
                     json_pack("{s:s,s:s}", "username", name, "via", "command line"));
    if (!e)
        e = store_user_set_password(a->store, name, hash, &ev);
    if (e) {
        fprintf(stderr, "logs-collector: cannot set password: %s\n", err_info(e)->detail);
        return 1;
    }
    printf("password of \"%s\" changed\n", name);
    forget_initial_password(a, name);
    return 0;
}

static int user_list(struct app *a, const struct user_args *ua)
{
    (void)ua;
    struct user *users = NULL;
    size_t n = 0;
    if (store_user_list(a->store, &users, &n) != ERR_OK) {
        fprintf(stderr, "logs-collector: cannot list users\n");
        return 1;
    }
    printf("%-6s %-24s %-6s %-7s %s\n", "ID", "USERNAME", "ADMIN", "ACTIVE", "LAST LOGIN");
    for (size_t i = 0; i < n; i++) {
        char last[40] = "never";
        if (users[i].last_login)
            time_format(users[i].last_login, last);
        printf("%-6lld %-24s %-6s %-7s %s\n", (long long)users[i].id, users[i].username,
               users[i].is_admin ? "yes" : "no", users[i].is_active ? "yes" : "no", last);
    }
    free(users);
    return 0;
}

static int user_delete(struct app *a, const struct user_args *ua)
{
    const char *name = ua->name;
    struct event ev;
    api_event_system(&ev, "user.deleted", 0, 0,
                     json_pack("{s:s,s:s}", "username", name, "via", "command line"));
    enum err e = store_user_delete(a->store, name, &ev);
    if (e == ERR_NOT_FOUND) {
        fprintf(stderr, "logs-collector: no user \"%s\"\n", name);
        return 1;
    }
    if (e) {
        fprintf(stderr, "logs-collector: cannot delete user: %s\n", err_info(e)->detail);
        return 1;
    }
    printf("deleted user \"%s\"\n", name);
    forget_initial_password(a, name);
    return 0;
}

struct cleanup {
    struct app *a;
    bool dry_run;
    int orphans, removed, missing, errors;
};

/* A file under archives/: keep it when a row points to it. */
static void cleanup_file(const char *key, int64_t size, void *ctx)
{
    struct cleanup *c = ctx;
    bool exists = true;
    if (store_archive_path_exists(c->a->store, key, &exists) != ERR_OK) {
        c->errors++;
        return;
    }
    if (exists)
        return;
    c->orphans++;
    int64_t age;
    if (blob_age(c->a->blobs, key, &age) == ERR_OK && age < 3600) {
        printf("file without row (recent, kept): %s (%lld bytes)\n", key, (long long)size);
        return;
    }
    if (c->dry_run) {
        printf("file without row: %s (%lld bytes)\n", key, (long long)size);
        return;
    }
    if (blob_delete(c->a->blobs, key) == ERR_OK) {
        printf("removed file without row: %s (%lld bytes)\n", key, (long long)size);
        c->removed++;
    } else {
        c->errors++;
    }
}

static void cleanup_row(const struct archive *ar, void *ctx)
{
    struct cleanup *c = ctx;
    int fd;
    int64_t size;
    if (blob_open_read(c->a->blobs, ar->path, &fd, &size) == ERR_OK) {
        close(fd);
        return;
    }
    c->missing++;
    printf("row without file: archive %lld of ticket %lld, %s\n", (long long)ar->id,
           (long long)ar->ticket_number, ar->path);
}

static int cmd_cleanup(int argc, char **argv)
{
    struct cleanup c = {0};
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--dry-run") == 0) {
            c.dry_run = true;
        } else {
            fprintf(stderr, "logs-collector: cleanup: unexpected argument \"%s\"\n%s", argv[i],
                    usage_cleanup);
            return EXIT_USAGE;
        }
    }
    struct app a;
    int rc = open_app(&a, APP_MIGRATE);
    if (rc)
        return rc;
    c.a = &a;
    enum err e = blob_walk(a.blobs, cleanup_file, &c);
    if (!e)
        e = store_archive_each(a.store, cleanup_row, &c);
    app_close(&a);
    if (e || c.errors) {
        fprintf(stderr, "logs-collector: cleanup failed part-way (%d error(s))\n", c.errors);
        return 1;
    }
    printf("%d file(s) without row%s, %d removed; %d row(s) without file\n", c.orphans,
           c.dry_run ? " (dry run)" : "", c.removed, c.missing);
    return 0;
}

static int cmd_retention(int argc, char **argv)
{
    bool dry_run = false;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--dry-run") == 0) {
            dry_run = true;
        } else {
            fprintf(stderr, "logs-collector: retention: unexpected argument \"%s\"\n%s", argv[i],
                    usage_retention);
            return EXIT_USAGE;
        }
    }
    struct app a;
    int rc = open_app(&a, APP_MIGRATE);
    if (rc)
        return rc;
    struct retention_stats st = {0};
    enum err e = retention_run(&a, now_us(), dry_run, stdout, &st);
    app_close(&a);
    if (e || st.errors) {
        fprintf(stderr, "logs-collector: retention failed%s (%d error(s))\n", e ? "" : " part-way",
                st.errors);
        return 1;
    }
    printf("%lld ticket(s) %sresolved, %lld archive(s) (%lld bytes) %sdeleted, %lld event(s) "
           "deleted\n",
           (long long)st.resolved, dry_run ? "to be " : "", (long long)st.archives,
           (long long)st.bytes, dry_run ? "to be " : "", (long long)st.events);
    return 0;
}

static int cmd_version(int argc, char **argv)
{
    (void)argv;
    if (argc) {
        fprintf(stderr, "logs-collector: version takes no arguments\n%s", usage_version);
        return EXIT_USAGE;
    }
    printf("logs-collector %s\n", LC_VERSION);
    return 0;
}

/* A `user` subcommand: its usage, whether it takes a NAME, which options. */
struct user_command {
    const char *name;
    const char *usage;
    int (*run)(struct app *a, const struct user_args *ua);
    bool takes_name;
    bool takes_admin;    /* --admin */
    bool takes_password; /* --password-stdin */
};

static const struct user_command user_commands[] = {
    {"create", usage_user_create, user_create, true, true, true},
    {"passwd", usage_user_passwd, user_passwd, true, false, true},
    {"list", usage_user_list, user_list, false, false, false},
    {"delete", usage_user_delete, user_delete, true, false, false},
};

static int cmd_user(int argc, char **argv)
{
    if (argc < 1) {
        fputs(usage_user, stderr);
        return EXIT_USAGE;
    }
    const struct user_command *uc = NULL;
    for (size_t i = 0; i < ARRAY_SIZE(user_commands); i++)
        if (strcmp(argv[0], user_commands[i].name) == 0)
            uc = &user_commands[i];
    if (!uc) {
        if (wants_help(argc, argv)) {
            fputs(usage_user, stdout);
            return 0;
        }
        fprintf(stderr, "logs-collector: unknown user command \"%s\"\n%s", argv[0], usage_user);
        return EXIT_USAGE;
    }
    if (wants_help(argc - 1, argv + 1)) {
        fputs(uc->usage, stdout);
        return 0;
    }
    struct user_args ua = {0};
    for (int i = 1; i < argc; i++) {
        if (uc->takes_admin && strcmp(argv[i], "--admin") == 0)
            ua.admin = true;
        else if (uc->takes_password && strcmp(argv[i], "--password-stdin") == 0)
            ua.from_stdin = true;
        else if (uc->takes_name && argv[i][0] != '-' && !ua.name)
            ua.name = argv[i];
        else {
            fprintf(stderr, "logs-collector: user %s: unexpected argument \"%s\"\n%s", uc->name,
                    argv[i], uc->usage);
            return EXIT_USAGE;
        }
    }
    if (uc->takes_name && !ua.name) {
        fprintf(stderr, "logs-collector: user %s: a user name is required\n%s", uc->name,
                uc->usage);
        return EXIT_USAGE;
    }
    struct app a;
    int rc = open_app(&a, APP_MIGRATE);
    if (rc)
        return rc;
    rc = uc->run(&a, &ua);
    app_close(&a);
    return rc;
}

/* The commands: `COMMAND --help` prints usage; otherwise run gets the
 * arguments after the command's name and returns the exit code. `user`
 * prints its subcommands' usages itself. */
static const struct command {
    const char *name;
    const char *usage;
    int (*run)(int argc, char **argv);
} commands[] = {
    {"serve", usage_serve, cmd_serve},
    {"migrate", usage_migrate, cmd_migrate},
    {"user", NULL, cmd_user},
    {"cleanup", usage_cleanup, cmd_cleanup},
    {"retention", usage_retention, cmd_retention},
    {"migrate-data", cli_migrate_usage, cli_migrate_data},
    {"version", usage_version, cmd_version},
};

int cli_main(int argc, char **argv)
{
    const char *name = argc > 1 ? argv[1] : "serve";
    int rest = argc > 2 ? argc - 2 : 0;
    char **rargv = argv + 2;
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0 || strcmp(name, "help") == 0) {
        fputs(usage_main, stdout);
        return 0;
    }
    if (strcmp(name, "--version") == 0)
        name = "version";
    for (size_t i = 0; i < ARRAY_SIZE(commands); i++) {
        const struct command *c = &commands[i];
        if (strcmp(name, c->name) != 0)
            continue;
        if (c->usage && wants_help(rest, rargv)) {
            fputs(c->usage, stdout);
            return 0;
        }
        return c->run(rest, rargv);
    }
    fprintf(stderr, "logs-collector: unknown command \"%s\"\n\n%s", name, usage_main);
    return EXIT_USAGE;
}
