/* app.c - process set-up shared by every subcommand: data dir, secret key, store. */
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "app.h"
#include "api/events.h"
#include "auth/password.h"
#include "auth/totp.h"
#include "auth/token.h"
#include "core/limits.h"
#include "core/log.h"
#include "core/util.h"

/* mkdir -p with mode for the last component and its missing parents. */
static int mkdir_p(const char *path, mode_t mode)
{
    char buf[1024];
    if (!str_copy(buf, sizeof(buf), path))
        return -1;
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = 0;
        if (mkdir(buf, mode) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    if (mkdir(buf, mode) != 0 && errno != EEXIST)
        return -1;
    return 0;
}

/* Said when a maintenance command finds no data where it looked. */
static void not_here(const char *what, const char *path)
{
    char cwd[1024];
    log_error("DATA_DIR: %s %s does not exist (working directory %s). Run the command where "
              "the server runs, or point at its data: DATA_DIR=/path/to/data logs-collector ...",
              what, path, getcwd(cwd, sizeof(cwd)) ? cwd : "?");
}

static enum err prepare_data_dir(const char *dir, bool create)
{
    struct stat st;
    if (!create && stat(dir, &st) != 0) {
        not_here("the data directory", dir);
        return ERR_CONFIG;
    }
    if (mkdir_p(dir, 0750) != 0) {
        log_error("DATA_DIR: cannot create %s: %s", dir, strerror(errno));
        return ERR_CONFIG;
    }
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        log_error("DATA_DIR: %s is not a directory", dir);
        return ERR_CONFIG;
    }
    if (st.st_mode & S_IWOTH) {
        log_error("DATA_DIR: %s is world-writable; refusing to start (chmod o-w %s)", dir, dir);
        return ERR_CONFIG;
    }
    return ERR_OK;
}

/* Flushes a directory's entries (a file just created or linked in it) to disk. */
static bool fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return false;
    bool ok = fsync(fd) == 0;
    close(fd);
    return ok;
}

/* Reads DATA_DIR/secret_key (the key on its first line) into a->secret_key. */
static enum err read_secret(struct app *a, const char *path, bool *ret_missing)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) {
            *ret_missing = true;
            return ERR_OK;
        }
        log_error("SECRET_KEY: cannot read %s: %s", path, strerror(errno));
        return ERR_CONFIG;
    }
    ssize_t n = read(fd, a->secret_key, sizeof(a->secret_key) - 1);
    close(fd);
    if (n <= 0) {
        log_error("SECRET_KEY: %s is empty or unreadable", path);
        return ERR_CONFIG;
    }
    a->secret_key[n] = 0;
    a->secret_key[strcspn(a->secret_key, "\r\n")] = 0;
    if (strlen(a->secret_key) < 32) {
        log_error("SECRET_KEY: %s holds fewer than 32 characters", path);
        return ERR_CONFIG;
    }
    *ret_missing = false;
    return ERR_OK;
}

/*
 * Reads DATA_DIR/secret_key, creating it (0600, 256 random bits) on first start.
 * The key is written to a temp file, fsynced, then link()ed into place: link
 * never replaces, so of several processes starting together on one DATA_DIR
 * exactly one key wins, and nobody ever reads a half-written file.
 */
static enum err load_secret(struct app *a, bool create)
{
    if (a->cfg.secret_key[0]) {
        if (strlen(a->cfg.secret_key) < 32)
            log_warn("SECRET_KEY is shorter than 32 characters; use a long random value");
        str_copy(a->secret_key, sizeof(a->secret_key), a->cfg.secret_key);
        return ERR_OK;
    }
    char path[1200], tmp[1300];
    snprintf(path, sizeof(path), "%s/secret_key", a->cfg.data_dir);
    bool missing = false;
    enum err e = read_secret(a, path, &missing);
    if (e || !missing)
        return e;
    if (!create)
        return ERR_OK; /* maintenance commands sign nothing; serve makes the key */

    snprintf(tmp, sizeof(tmp), "%s/.secret_key.XXXXXX", a->cfg.data_dir);
    int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) {
        log_error("SECRET_KEY: cannot create a file in %s: %s", a->cfg.data_dir, strerror(errno));
        return ERR_CONFIG;
    }
    char key[66];
    token_hex(key, 32);
    key[64] = '\n';
    bool ok = fchmod(fd, 0600) == 0 && write(fd, key, 65) == 65 && fsync(fd) == 0;
    close(fd);
    sodium_memzero(key, sizeof(key));
    bool mine = ok && link(tmp, path) == 0;
    if (!mine && (!ok || errno != EEXIST)) {
        log_error("SECRET_KEY: cannot write %s: %s", path, strerror(errno));
        unlink(tmp);
        return ERR_IO;
    }
    unlink(tmp);
    /* the link must survive a crash, or the next start makes a new key and
     * every token issued with this one dies */
    if (mine && !fsync_dir(a->cfg.data_dir)) {
        log_error("SECRET_KEY: cannot flush %s: %s", a->cfg.data_dir, strerror(errno));
        return ERR_IO;
    }
    e = read_secret(a, path, &missing); /* ours, or the one another process linked first */
    if (!e && missing) {
        log_error("SECRET_KEY: %s vanished while starting", path);
        return ERR_IO;
    }
    if (!e)
        log_info("%s the secret key in %s", mine ? "generated" : "using", path);
    return e;
}

/* Without APP_CREATE, the default SQLite file must be there: a command run
 * from the wrong directory would otherwise make an empty database. */
static enum err check_database(const struct config *cfg)
{
    const char *path;
    if (!config_sqlite_path(cfg->db_url, &path))
        return ERR_OK;
    struct stat st;
    if (stat(path, &st) != 0) {
        not_here("the database", path);
        return ERR_CONFIG;
    }
    return ERR_OK;
}

enum err app_open(struct app *a, const struct config *cfg, unsigned flags)
{
    memset(a, 0, sizeof(*a));
    a->cfg = *cfg;
    umask(027); /* the database and keys are nobody else's business */
    log_set_level((enum log_level)cfg->log_level);
    setenv("TZ", cfg->tz, 1);
    tzset();
    if (sodium_init() < 0) {
        log_error("libsodium failed to initialize");
        return ERR_INTERNAL;
    }
    enum err e = password_init(LIMIT_WORKERS);
    if (!e && (e = totp_init()))
        log_error("liboath failed to initialize");
    if (!e)
        e = prepare_data_dir(cfg->data_dir, flags & APP_CREATE);
    if (!e && !(flags & APP_CREATE))
        e = check_database(cfg);
    if (!e)
        e = load_secret(a, flags & APP_CREATE);
    if (!e) {
        blob_set_hashers(cfg->threads); /* one per polling thread: each feeds ~one MD5 */
        e = blob_open(cfg->data_dir, &a->blobs);
    }
    if (!e)
        e = store_open(cfg->db_url,
                       &(struct store_options){.connect_wait = (int)cfg->db_wait,
                                               .pool_size = cfg->threads + LIMIT_WORKERS},
                       &a->store);
    if (!e && (flags & APP_MIGRATE)) {
        int applied = 0;
        e = store_migrate(a->store, &applied);
        if (!e && applied)
            log_info("applied %d database migration(s)", applied);
    }
    if (e)
        return e;
    a->login_rl = ratelimit_new(LIMIT_LOGIN_FAILS, LIMIT_LOGIN_WINDOW, LIMIT_RATE_SLOTS);
    a->login_user_rl = ratelimit_new(LIMIT_LOGIN_USER_FAILS, LIMIT_LOGIN_WINDOW, LIMIT_RATE_SLOTS);
    a->token_rl = ratelimit_new(LIMIT_TOKEN_MISSES, LIMIT_TOKEN_WINDOW, LIMIT_RATE_SLOTS);
    if (!a->login_rl || !a->login_user_rl || !a->token_rl)
        return ERR_NOMEM;
    return ERR_OK;
}

void app_close(struct app *a)
{
    store_close(a->store);
    blob_close(a->blobs);
    a->blobs = NULL;
    ratelimit_free(a->login_rl);
    ratelimit_free(a->login_user_rl);
    ratelimit_free(a->token_rl);
    sodium_memzero(a->secret_key, sizeof(a->secret_key));
    a->store = NULL;
    a->login_rl = a->login_user_rl = a->token_rl = NULL;
}

void app_initial_password_path(const struct app *a, char *out, size_t outlen)
{
    snprintf(out, outlen, "%s/initial-admin-password", a->cfg.data_dir);
}

static enum err create_admin(struct app *a, const char *username, const char *password)
{
    struct user u = {.is_admin = true, .is_active = true};
    str_copy(u.username, sizeof(u.username), username);
    enum err e = password_hash(password, u.password_hash, sizeof(u.password_hash));
    if (e)
        return e;
    struct event ev;
    api_event_system(
        &ev, "user.created", 0, 0,
        json_pack("{s:s,s:b,s:s}", "username", username, "is_admin", true, "via", "first start"));
    int64_t id;
    return store_user_create(a->store, &u, &ev, &id);
}

enum err app_bootstrap_admin(struct app *a)
{
    int64_t n;
    enum err e = store_user_count(a->store, &n);
    if (e || n > 0)
        return e;
    const struct config *c = &a->cfg;
    if (c->admin_username[0] || c->admin_password[0]) {
        if (!c->admin_username[0] || !c->admin_password[0]) {
            log_error("%s: set ADMIN_USERNAME and ADMIN_PASSWORD together",
                      c->admin_username[0] ? "ADMIN_PASSWORD" : "ADMIN_USERNAME");
            return ERR_CONFIG;
        }
        e = create_admin(a, c->admin_username, c->admin_password);
        if (e == ERR_EXISTS) /* another process created it first */
            return ERR_OK;
        if (!e)
            log_info("created administrator \"%s\" from ADMIN_USERNAME/ADMIN_PASSWORD",
                     c->admin_username);
        return e;
    }
    char password[21], path[1200];
    password_random(password, 20);
    e = create_admin(a, "admin", password);
    if (e == ERR_EXISTS)
        return ERR_OK;
    if (e)
        return e;
    app_initial_password_path(a, path, sizeof(path));
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd >= 0) {
        char line[32];
        int len = snprintf(line, sizeof(line), "%s\n", password);
        if (write(fd, line, (size_t)len) != len || fsync(fd) != 0)
            log_warn("could not write %s", path);
        close(fd);
        if (!fsync_dir(a->cfg.data_dir))
            log_warn("could not flush %s", a->cfg.data_dir);
    } else {
        log_warn("could not create %s: %s", path, strerror(errno));
    }
    printf("\n"
           "  First start: created administrator \"admin\" with password: %s\n"
           "  (also saved in %s until the password is changed:\n"
           "   logs-collector user passwd admin)\n\n",
           password, path);
    fflush(stdout);
    sodium_memzero(password, sizeof(password));
    return ERR_OK;
}

bool app_forget_initial_password(const struct app *a, const char *username, char *out,
                                 size_t outlen)
{
    if (strcmp(username, "admin") != 0)
        return false;
    app_initial_password_path(a, out, outlen);
    return unlink(out) == 0;
}
