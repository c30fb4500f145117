/* test-config.c - configuration: defaults, every error path, aliases, .env files, host checks. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/config.h"
#include "core/log.h"

/* ------------------------------------------------------------- helpers -- */

struct kv {
    const char *k, *v;
};

static const char *kv_get(const char *name, void *ctx)
{
    for (const struct kv *p = ctx; p->k; p++)
        if (strcmp(p->k, name) == 0)
            return p->v;
    return NULL;
}

static struct config cfg; /* large: kept off the test's stack */
static char err[512];

static enum err load_kv(const struct kv *kv)
{
    err[0] = '\0';
    return config_load_from(&cfg, kv_get, (void *)kv, err, sizeof(err));
}

static enum err load1(const char *k, const char *v)
{
    struct kv kv[] = {{k, v}, {NULL, NULL}};
    return load_kv(kv);
}

/* Loading k=v must fail with exactly the line want. */
static void expect_error(const char *k, const char *v, const char *want)
{
    enum err e = load1(k, v);
    if (e != ERR_CONFIG || strcmp(err, want) != 0)
        fail_msg("%s=%s: got e=%d err=\"%s\", want \"%s\"", k, v, (int)e, err, want);
}

/* Loading k=v must fail with an error line that starts with "<k>: ". */
static void expect_bad(const char *k, const char *v)
{
    enum err e = load1(k, v);
    char prefix[64];
    snprintf(prefix, sizeof(prefix), "%s: ", k);
    if (e != ERR_CONFIG || strncmp(err, prefix, strlen(prefix)) != 0)
        fail_msg("%s=%s: got e=%d err=\"%s\"", k, v, (int)e, err);
}

static void expect_ok(const char *k, const char *v)
{
    enum err e = load1(k, v);
    if (e != ERR_OK)
        fail_msg("%s=%s: got e=%d err=\"%s\"", k, v, (int)e, err);
}

static const char *const all_vars[] = {
    "DATA_DIR",
    "DB_URL",
    "SECRET_KEY",
    "BIND",
    "GUNICORN_BIND",
    "THREADS",
    "GUNICORN_WORKERS",
    "IDLE_TIMEOUT",
    "GUNICORN_TIMEOUT",
    "MAX_UPLOAD_SIZE",
    "STORAGE_MIN_FREE",
    "UPLOAD_ATTEMPTS",
    "UPLOAD_TOKEN_TTL",
    "UPLOAD_RESUME_TTL",
    "ALLOWED_HOSTS",
    "CSRF_TRUSTED_ORIGINS",
    "TRUSTED_PROXIES",
    "TZ",
    "LOG_LEVEL",
    "GUNICORN_LOGLEVEL",
    "DEBUG",
    "REQUIRE_2FA",
    "ADMIN_USERNAME",
    "ADMIN_PASSWORD",
};

static void clear_env(void)
{
    for (size_t i = 0; i < sizeof(all_vars) / sizeof(all_vars[0]); i++)
        unsetenv(all_vars[i]);
}

/* ---------------------------------------------------------- defaults -- */

static void test_defaults(void **state)
{
    (void)state;
    struct kv none[] = {{NULL, NULL}};
    assert_int_equal(load_kv(none), ERR_OK);

    char cwd[PATH_MAX], want[PATH_MAX + 64];
    assert_non_null(getcwd(cwd, sizeof(cwd)));
    snprintf(want, sizeof(want), "%s/data", cwd);
    assert_string_equal(cfg.data_dir, want);
    snprintf(want, sizeof(want), "sqlite:///%s/data/db.sqlite3", cwd);
    assert_string_equal(cfg.db_url, want);
    assert_string_equal(cfg.secret_key, "");
    assert_string_equal(cfg.bind_host, "127.0.0.1");
    assert_int_equal(cfg.bind_port, 8000);
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    assert_int_equal(cfg.threads, cpus < 1 ? 1 : cpus > 256 ? 256 : cpus);
    assert_int_equal(cfg.idle_timeout, 3600);
    assert_int_equal(cfg.max_upload_size, 0);
    assert_int_equal(cfg.storage_min_free, 1024LL * 1024 * 1024);
    assert_int_equal(cfg.upload_attempts, 5);
    assert_int_equal(cfg.upload_token_ttl, 7 * 86400);
    assert_int_equal(cfg.allowed_hosts.n, 3);
    assert_string_equal(cfg.allowed_hosts.items[0], "localhost");
    assert_string_equal(cfg.allowed_hosts.items[1], "127.0.0.1");
    assert_string_equal(cfg.allowed_hosts.items[2], "::1");
    assert_int_equal(cfg.csrf_trusted_origins.n, 0);
    assert_int_equal(cfg.trusted_proxies.n, 0);
    assert_string_equal(cfg.tz, "UTC");
    assert_int_equal(cfg.log_level, LOG_INFO);
    assert_false(cfg.debug);
    assert_true(cfg.require_2fa);
    assert_string_equal(cfg.admin_username, "");
    assert_string_equal(cfg.admin_password, "");
}

static void test_empty_is_unset(void **state)
{
    (void)state;
    struct kv kv[] = {{"THREADS", ""}, {"BIND", ""}, {"GUNICORN_BIND", "0.0.0.0:81"},
                      {"DEBUG", ""},   {"TZ", ""},   {NULL, NULL}};
    assert_int_equal(load_kv(kv), ERR_OK);
    assert_string_equal(cfg.bind_host, "0.0.0.0");
    assert_int_equal(cfg.bind_port, 81);
    assert_false(cfg.debug);
    assert_string_equal(cfg.tz, "UTC");
}

static void test_ret_untouched_on_error(void **state)
{
    (void)state;
    memset(&cfg, 0xab, sizeof(cfg));
    assert_int_equal(load1("THREADS", "0"), ERR_CONFIG);
    for (size_t i = 0; i < sizeof(cfg); i++)
        assert_int_equal(((unsigned char *)&cfg)[i], 0xab);
    /* a NULL error buffer is allowed */
    struct kv kv[] = {{"THREADS", "0"}, {NULL, NULL}};
    assert_int_equal(config_load_from(&cfg, kv_get, kv, NULL, 0), ERR_CONFIG);
}

/* ---------------------------------------------------------- DATA_DIR -- */

static void test_data_dir(void **state)
{
    (void)state;
    char cwd[PATH_MAX], want[PATH_MAX + 64];
    assert_non_null(getcwd(cwd, sizeof(cwd)));

    expect_ok("DATA_DIR", "/srv/lc/");
    assert_string_equal(cfg.data_dir, "/srv/lc");
    assert_string_equal(cfg.db_url, "sqlite:////srv/lc/db.sqlite3");

    expect_ok("DATA_DIR", "./x/y");
    snprintf(want, sizeof(want), "%s/x/y", cwd);
    assert_string_equal(cfg.data_dir, want);

    expect_ok("DATA_DIR", "rel");
    snprintf(want, sizeof(want), "%s/rel", cwd);
    assert_string_equal(cfg.data_dir, want);

    expect_ok("DATA_DIR", ".");
    assert_string_equal(cfg.data_dir, cwd);

    char big[2100];
    memset(big, 'd', sizeof(big) - 1);
    big[0] = '/';
    big[sizeof(big) - 1] = '\0';
    expect_bad("DATA_DIR", big);
}

/* ------------------------------------------------------------ DB_URL -- */

static void test_db_url(void **state)
{
    (void)state;
    expect_ok("DB_URL", "postgres://u:p@db:5432/lc");
    assert_string_equal(cfg.db_url, "postgres://u:p@db:5432/lc");
    expect_ok("DB_URL", "postgresql://localhost/lc");
    expect_ok("DB_URL", "psql://u:p@localhost/lc");
    expect_ok("DB_URL", "pgsql://u:p@localhost/lc"); /* refused at start-up before */
    expect_ok("DB_URL", "PGSQL://localhost/lc");
    assert_int_equal(config_db_kind("pgsql://x/y"), DB_POSTGRES);
    assert_int_equal(config_db_kind("SQLite:///x"), DB_SQLITE);
    assert_int_equal(config_db_kind("mysql://x"), DB_UNKNOWN);
    const char *path = NULL;
    assert_true(config_sqlite_path("sqlite:///data/db.sqlite3", &path));
    assert_string_equal(path, "data/db.sqlite3");
    assert_true(config_sqlite_path("sqlite:////abs/db", &path));
    assert_string_equal(path, "/abs/db");
    assert_false(config_sqlite_path("postgres://h/db", &path));
    expect_ok("DB_URL", "sqlite:////var/lib/lc/db.sqlite3");
    assert_string_equal(cfg.db_url, "sqlite:////var/lib/lc/db.sqlite3");

    expect_error("DB_URL", "mysql://u:secret@h/db",
                 "DB_URL: unknown scheme \"mysql\" (use sqlite:///path or postgres://...)");
    assert_null(strstr(err, "secret"));
    expect_bad("DB_URL", "db.sqlite3");
    expect_bad("DB_URL", "://x");
    expect_bad("DB_URL", "sqlite://");
    expect_bad("DB_URL", "sqlite:///");
    expect_bad("DB_URL", "postgres://");

    char big[2100];
    memcpy(big, "postgres://", 11);
    memset(big + 11, 'h', sizeof(big) - 12);
    big[sizeof(big) - 1] = '\0';
    expect_bad("DB_URL", big);
}

/* -------------------------------------------------------------- BIND -- */

static void test_bind_ok(void **state)
{
    (void)state;
    expect_ok("BIND", "8000");
    assert_string_equal(cfg.bind_host, "127.0.0.1");
    assert_int_equal(cfg.bind_port, 8000);
    expect_ok("BIND", "0.0.0.0:80");
    assert_string_equal(cfg.bind_host, "0.0.0.0");
    assert_int_equal(cfg.bind_port, 80);
    expect_ok("BIND", "[::1]:8000");
    assert_string_equal(cfg.bind_host, "::1");
    assert_int_equal(cfg.bind_port, 8000);
    expect_ok("BIND", ":9000");
    assert_string_equal(cfg.bind_host, "0.0.0.0");
    assert_int_equal(cfg.bind_port, 9000);
    expect_ok("BIND", "localhost:65535");
    assert_string_equal(cfg.bind_host, "localhost");
    assert_int_equal(cfg.bind_port, 65535);
}

static void test_bind_errors(void **state)
{
    (void)state;
    expect_error("BIND", "99999", "BIND: port must be 1..65535, got \"99999\"");
    expect_error("BIND", "0.0.0.0:99999", "BIND: port must be 1..65535, got \"0.0.0.0:99999\"");
    expect_error("BIND", "0.0.0.0:0", "BIND: port must be 1..65535, got \"0.0.0.0:0\"");
    expect_error("BIND", "0", "BIND: port must be 1..65535, got \"0\"");
    expect_error("BIND", "host:abc", "BIND: port must be 1..65535, got \"host:abc\"");
    expect_error("BIND", "host:-1", "BIND: port must be 1..65535, got \"host:-1\"");
    expect_error("BIND", "host:", "BIND: port must be 1..65535, got \"host:\"");
    expect_bad("BIND", "localhost");
    expect_bad("BIND", "::1:8000");
    expect_bad("BIND", "[::1]8000");
    expect_bad("BIND", "[::1");
    expect_bad("BIND", "[nope]:80");
    expect_bad("BIND", "bad host:80");
    expect_bad("BIND", "unix:/run/lc.sock");
}

static void test_parse_bind_api(void **state)
{
    (void)state;
    char host[16] = "untouched";
    int port = -1;
    assert_false(config_parse_bind(NULL, host, sizeof(host), &port));
    assert_false(config_parse_bind("", host, sizeof(host), &port));
    /* does not fit the caller's buffer: refused, outputs untouched */
    assert_false(
        config_parse_bind("a-very-long-host-name.example.com:80", host, sizeof(host), &port));
    assert_string_equal(host, "untouched");
    assert_int_equal(port, -1);
    assert_true(config_parse_bind("[2001:db8::1]:443", host, sizeof(host), &port));
    assert_string_equal(host, "2001:db8::1");
    assert_int_equal(port, 443);
}

/* ----------------------------------------------------------- aliases -- */

static void test_aliases(void **state)
{
    (void)state;
    struct kv alias[] = {{"GUNICORN_BIND", "0.0.0.0:8080"},
                         {"GUNICORN_WORKERS", "3"},
                         {"GUNICORN_TIMEOUT", "120"},
                         {"GUNICORN_LOGLEVEL", "debug"},
                         {NULL, NULL}};
    assert_int_equal(load_kv(alias), ERR_OK);
    assert_string_equal(cfg.bind_host, "0.0.0.0");
    assert_int_equal(cfg.bind_port, 8080);
    assert_int_equal(cfg.threads, 3);
    assert_int_equal(cfg.idle_timeout, 120);
    assert_int_equal(cfg.log_level, LOG_DEBUG);

    struct kv both[] = {{"GUNICORN_BIND", "0.0.0.0:8080"},
                        {"BIND", "127.0.0.1:9"},
                        {"GUNICORN_WORKERS", "3"},
                        {"THREADS", "7"},
                        {"GUNICORN_TIMEOUT", "120"},
                        {"IDLE_TIMEOUT", "2h"},
                        {"GUNICORN_LOGLEVEL", "debug"},
                        {"LOG_LEVEL", "error"},
                        {NULL, NULL}};
    assert_int_equal(load_kv(both), ERR_OK);
    assert_string_equal(cfg.bind_host, "127.0.0.1");
    assert_int_equal(cfg.bind_port, 9);
    assert_int_equal(cfg.threads, 7);
    assert_int_equal(cfg.idle_timeout, 7200);
    assert_int_equal(cfg.log_level, LOG_ERROR);

    /* the error names the variable that was actually used */
    expect_error("GUNICORN_BIND", "1.2.3.4:0",
                 "GUNICORN_BIND: port must be 1..65535, got \"1.2.3.4:0\"");
    expect_bad("GUNICORN_WORKERS", "0");
    expect_bad("GUNICORN_TIMEOUT", "0");
    expect_bad("GUNICORN_LOGLEVEL", "loud");
}

/* ------------------------------------------------------------ numbers -- */

static void test_threads(void **state)
{
    (void)state;
    expect_ok("THREADS", "1");
    assert_int_equal(cfg.threads, 1);
    expect_ok("THREADS", "256");
    assert_int_equal(cfg.threads, 256);
    expect_error("THREADS", "0", "THREADS: must be an integer 1..256, got \"0\"");
    expect_bad("THREADS", "257");
    expect_bad("THREADS", "-1");
    expect_bad("THREADS", "four");
    expect_bad("THREADS", "4 ");
    expect_bad("THREADS", "+4");
    expect_bad("THREADS", "99999999999999999999999");
}

static void test_idle_timeout(void **state)
{
    (void)state;
    expect_ok("IDLE_TIMEOUT", "90");
    assert_int_equal(cfg.idle_timeout, 90);
    expect_ok("IDLE_TIMEOUT", "1h");
    assert_int_equal(cfg.idle_timeout, 3600);
    expect_ok("IDLE_TIMEOUT", "7d");
    assert_int_equal(cfg.idle_timeout, 604800);
    expect_bad("IDLE_TIMEOUT", "0");
    expect_bad("IDLE_TIMEOUT", "604801");
    expect_bad("IDLE_TIMEOUT", "8d");
    expect_bad("IDLE_TIMEOUT", "-5");
    expect_bad("IDLE_TIMEOUT", "1y");
}

static void test_sizes(void **state)
{
    (void)state;
    expect_ok("MAX_UPLOAD_SIZE", "10K");
    assert_int_equal(cfg.max_upload_size, 10240);
    expect_ok("STORAGE_MIN_FREE", "0");
    assert_int_equal(cfg.storage_min_free, 0);
    expect_ok("STORAGE_MIN_FREE", "2GiB");
    assert_int_equal(cfg.storage_min_free, 2LL << 30);
    expect_error("MAX_UPLOAD_SIZE", "-5",
                 "MAX_UPLOAD_SIZE: must be a size >= 0 like 1024, 500M or 2GiB, got \"-5\"");
    expect_bad("MAX_UPLOAD_SIZE", "5X");
    expect_bad("MAX_UPLOAD_SIZE", "1.5G");
    expect_bad("STORAGE_MIN_FREE", "lots");
    expect_bad("STORAGE_MIN_FREE", "9999999999T");
}

static void test_parse_size(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        int64_t v;
    } ok[] = {
        {"0", 0},          {"1024", 1024},      {"10K", 10240},    {"10KiB", 10240},
        {"10kb", 10240},   {"5M", 5 << 20},     {"5MB", 5 << 20},  {"5 MiB", 5 << 20},
        {"1G", 1LL << 30}, {"1GiB", 1LL << 30}, {"2T", 2LL << 40}, {"7B", 7},
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        int64_t v = -1;
        if (!config_parse_size(ok[i].s, &v) || v != ok[i].v)
            fail_msg("size \"%s\": got %lld", ok[i].s, (long long)v);
    }
    static const char *const no[] = {"",
                                     "K",
                                     "-1",
                                     "+1",
                                     "1.5M",
                                     "5X",
                                     "5 M B",
                                     "1KK",
                                     " 5",
                                     "9223372036854775807K",
                                     "99999999999999999999"};
    for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
        int64_t v = 42;
        if (config_parse_size(no[i], &v) || v != 42)
            fail_msg("size \"%s\" accepted", no[i]);
    }
    int64_t v;
    assert_false(config_parse_size(NULL, &v));
    assert_true(config_parse_size("8589934591G", &v)); /* (2^63-1) >> 30: just fits */
}

static void test_parse_duration(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        int64_t v;
    } ok[] = {{"0", 0},       {"3600", 3600}, {"90s", 90},     {"15m", 900},
              {"12h", 43200}, {"7d", 604800}, {"2w", 1209600}, {"1H", 3600}};
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        int64_t v = -1;
        if (!config_parse_duration(ok[i].s, &v) || v != ok[i].v)
            fail_msg("duration \"%s\": got %lld", ok[i].s, (long long)v);
    }
    static const char *const no[] = {"",
                                     "h",
                                     "-5",
                                     "5hh",
                                     "1y",
                                     "1.5h",
                                     "5 h",
                                     "1h30m",
                                     "99999999999999999999",
                                     "9223372036854775807w"};
    for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
        int64_t v = 42;
        if (config_parse_duration(no[i], &v) || v != 42)
            fail_msg("duration \"%s\" accepted", no[i]);
    }
    int64_t v;
    assert_false(config_parse_duration(NULL, &v));
}

static void test_attempts_and_ttl(void **state)
{
    (void)state;
    expect_ok("UPLOAD_ATTEMPTS", "0");
    assert_int_equal(cfg.upload_attempts, 0);
    expect_ok("UPLOAD_ATTEMPTS", "100");
    assert_int_equal(cfg.upload_attempts, 100);
    expect_error("UPLOAD_ATTEMPTS", "101",
                 "UPLOAD_ATTEMPTS: must be an integer 0..100, got \"101\"");
    expect_bad("UPLOAD_ATTEMPTS", "-1");
    expect_bad("UPLOAD_ATTEMPTS", "many");

    expect_ok("UPLOAD_TOKEN_TTL", "0");
    assert_int_equal(cfg.upload_token_ttl, 0);
    expect_ok("UPLOAD_TOKEN_TTL", "30d");
    assert_int_equal(cfg.upload_token_ttl, 30 * 86400);
    expect_bad("UPLOAD_TOKEN_TTL", "forever");
    expect_bad("UPLOAD_TOKEN_TTL", "-1d");
    expect_bad("UPLOAD_TOKEN_TTL", "9999999999999w");

    assert_int_equal(load1("UPLOAD_RESUME_TTL", NULL), ERR_OK);
    assert_int_equal(cfg.upload_resume_ttl, 24 * 3600);
    expect_ok("UPLOAD_RESUME_TTL", "2h");
    assert_int_equal(cfg.upload_resume_ttl, 7200);
    expect_error("UPLOAD_RESUME_TTL", "30s",
                 "UPLOAD_RESUME_TTL: must be a duration of 60..31536000 seconds (e.g. 3600, 90m, "
                 "12h), got \"30s\"");
    expect_bad("UPLOAD_RESUME_TTL", "0");
    expect_bad("UPLOAD_RESUME_TTL", "soon");
}

/* ------------------------------------------------------------- lists -- */

static void test_lists(void **state)
{
    (void)state;
    expect_ok("ALLOWED_HOSTS", "  a.example.com, b.example.com  c.example.com,,[::1] ");
    assert_int_equal(cfg.allowed_hosts.n, 4);
    assert_string_equal(cfg.allowed_hosts.items[0], "a.example.com");
    assert_string_equal(cfg.allowed_hosts.items[1], "b.example.com");
    assert_string_equal(cfg.allowed_hosts.items[2], "c.example.com");
    assert_string_equal(cfg.allowed_hosts.items[3], "::1");

    char many[CONFIG_LIST_MAX * 8 + 16] = "";
    for (int i = 0; i <= CONFIG_LIST_MAX; i++) {
        char one[16];
        snprintf(one, sizeof(one), "h%d,", i);
        strcat(many, one);
    }
    expect_bad("ALLOWED_HOSTS", many);
    assert_non_null(strstr(err, "too many entries"));
    many[strlen(many) - 5] = '\0'; /* drop the 33rd entry: exactly 32 fit */
    expect_ok("ALLOWED_HOSTS", many);
    assert_int_equal(cfg.allowed_hosts.n, CONFIG_LIST_MAX);

    char longe[300];
    memset(longe, 'a', sizeof(longe) - 1);
    longe[sizeof(longe) - 1] = '\0';
    expect_bad("ALLOWED_HOSTS", longe);
    assert_non_null(strstr(err, "entry too long"));
    expect_bad("ALLOWED_HOSTS", "https://example.com");

    expect_ok("CSRF_TRUSTED_ORIGINS", "https://logs.example.com http://localhost:8000");
    assert_int_equal(cfg.csrf_trusted_origins.n, 2);
    assert_string_equal(cfg.csrf_trusted_origins.items[1], "http://localhost:8000");
    expect_error("CSRF_TRUSTED_ORIGINS", "https://ok.example.com,logs.example.com",
                 "CSRF_TRUSTED_ORIGINS: origin must start with http:// or https://, got "
                 "\"logs.example.com\"");
}

static void test_trusted_proxies(void **state)
{
    (void)state;
    expect_ok("TRUSTED_PROXIES", "10.0.0.0/8, 192.168.1.1 ::1,fd00::/8");
    assert_int_equal(cfg.trusted_proxies.n, 4);
    expect_error("TRUSTED_PROXIES", "10.0.0.1,10.0.0.0/33",
                 "TRUSTED_PROXIES: not an IP address or CIDR, got \"10.0.0.0/33\"");
    expect_bad("TRUSTED_PROXIES", "proxy.example.com");
    expect_bad("TRUSTED_PROXIES", "10.0.0.0/");
    expect_bad("TRUSTED_PROXIES", "10.0.0.0/-1");
    expect_bad("TRUSTED_PROXIES", "::1/129");
    expect_bad("TRUSTED_PROXIES", "10.0.0.256");
    expect_bad("TRUSTED_PROXIES", "/8");
}

/* ------------------------------------------------------- TZ, levels -- */

static bool file_exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0;
}

static void test_tz(void **state)
{
    (void)state;
    expect_ok("TZ", "UTC");
    assert_string_equal(cfg.tz, "UTC");
    expect_error("TZ", "Mars/Base", "TZ: unknown time zone \"Mars/Base\"");
    expect_error("TZ", "../etc/passwd", "TZ: unknown time zone \"../etc/passwd\"");
    expect_bad("TZ", "Europe/../../../../etc/passwd");
    expect_bad("TZ", "/etc/localtime");
    expect_bad("TZ", "Europe/Mos cow");
    expect_bad("TZ", "UTC+3");
    if (file_exists("/usr/share/zoneinfo/Europe/Moscow")) {
        expect_ok("TZ", "Europe/Moscow");
        assert_string_equal(cfg.tz, "Europe/Moscow");
        expect_ok("TZ", ":Europe/Moscow");
        assert_string_equal(cfg.tz, "Europe/Moscow");
        expect_bad("TZ", "Europe"); /* a directory */
    }
    if (file_exists("/usr/share/zoneinfo/zone.tab"))
        expect_bad("TZ", "zone.tab"); /* a file, but not a zone */
}

static void test_log_level(void **state)
{
    (void)state;
    expect_ok("LOG_LEVEL", "DEBUG");
    assert_int_equal(cfg.log_level, LOG_DEBUG);
    expect_ok("LOG_LEVEL", "warn");
    assert_int_equal(cfg.log_level, LOG_WARNING);
    expect_ok("LOG_LEVEL", "critical");
    assert_int_equal(cfg.log_level, LOG_CRITICAL);
    expect_error("LOG_LEVEL", "verbose",
                 "LOG_LEVEL: must be debug, info, warning, error or critical, got \"verbose\"");
}

static void test_bools(void **state)
{
    (void)state;
    static const char *const yes[] = {"true", "TRUE", "1", "yes", "Yes", "on", "ON"};
    static const char *const no[] = {"false", "False", "0", "no", "NO", "off", "Off"};
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        bool b = false;
        assert_true(config_parse_bool(yes[i], &b));
        assert_true(b);
        b = true;
        assert_true(config_parse_bool(no[i], &b));
        assert_false(b);
    }
    bool b = true;
    assert_false(config_parse_bool("maybe", &b));
    assert_false(config_parse_bool("", &b));
    assert_false(config_parse_bool("2", &b));
    assert_false(config_parse_bool(NULL, &b));
    assert_true(b);

    expect_ok("DEBUG", "yes");
    assert_true(cfg.debug);
    expect_ok("REQUIRE_2FA", "off");
    assert_false(cfg.require_2fa);
    expect_error("DEBUG", "maybe",
                 "DEBUG: must be true or false (also 1/0, yes/no, on/off), got \"maybe\"");
    expect_bad("REQUIRE_2FA", "nope");
}

/* ---------------------------------------------------------- strings -- */

static void test_strings(void **state)
{
    (void)state;
    struct kv kv[] = {{"SECRET_KEY", "s3cret"},
                      {"ADMIN_USERNAME", "admin"},
                      {"ADMIN_PASSWORD", "pw"},
                      {NULL, NULL}};
    assert_int_equal(load_kv(kv), ERR_OK);
    assert_string_equal(cfg.secret_key, "s3cret");
    assert_string_equal(cfg.admin_username, "admin");
    assert_string_equal(cfg.admin_password, "pw");

    char big[5000];
    memset(big, 'k', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    expect_error("SECRET_KEY", big, "SECRET_KEY: value too long (max 255 bytes)");
    expect_error("ADMIN_PASSWORD", big, "ADMIN_PASSWORD: value too long (max 4096 bytes)");
    big[151] = '\0';
    expect_bad("ADMIN_USERNAME", big);
    /* the shown value is cut to 64 bytes and marked */
    char want[160];
    snprintf(want, sizeof(want), "ADMIN_USERNAME: value too long (max 150 bytes), got \"%.64s...\"",
             big);
    assert_string_equal(err, want);
    big[150] = '\0';
    expect_ok("ADMIN_USERNAME", big);
}

static void test_control_chars_shown_safely(void **state)
{
    (void)state;
    expect_error("THREADS", "4\n5", "THREADS: must be an integer 1..256, got \"4?5\"");
}

/* ------------------------------------------------------------- .env -- */

static char tmpdir[64];
static char oldcwd[PATH_MAX];

static int env_setup(void **state)
{
    (void)state;
    clear_env();
    strcpy(tmpdir, "/tmp/lc-config-XXXXXX");
    if (!mkdtemp(tmpdir) || !getcwd(oldcwd, sizeof(oldcwd)) || chdir(tmpdir) != 0)
        return -1;
    return 0;
}

static int env_teardown(void **state)
{
    (void)state;
    clear_env();
    unlink(".env");
    unlink("data/.env");
    unlink("other/.env");
    rmdir("data");
    rmdir("other");
    if (chdir(oldcwd) != 0)
        return -1;
    rmdir(tmpdir);
    return 0;
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
}

static void test_env_syntax(void **state)
{
    (void)state;
    write_file(".env", "# a comment\n"
                       "\n"
                       "   \t\n"
                       "export THREADS=3\n"
                       "  BIND  =  0.0.0.0:8080   \n"
                       "SECRET_KEY=\"a \\\"quoted\\\" \\\\ value\\n\" # trailing comment\n"
                       "ADMIN_PASSWORD='single $quoted \\n # not a comment'\n"
                       "ADMIN_USERNAME=bob # comment\n"
                       "ALLOWED_HOSTS=a.example.com,b.example.com\r\n"
                       "DEBUG=yes\r\n"
                       "UPLOAD_ATTEMPTS=1\n"
                       "UPLOAD_ATTEMPTS=9\n"
                       "LOG_LEVEL=\n"
                       "TZ=UTC");
    assert_int_equal(config_load(&cfg, err, sizeof(err)), ERR_OK);
    assert_int_equal(cfg.threads, 3);
    assert_string_equal(cfg.bind_host, "0.0.0.0");
    assert_int_equal(cfg.bind_port, 8080);
    assert_string_equal(cfg.secret_key, "a \"quoted\" \\ value\n");
    assert_string_equal(cfg.admin_password, "single $quoted \\n # not a comment");
    assert_string_equal(cfg.admin_username, "bob");
    assert_int_equal(cfg.allowed_hosts.n, 2);
    assert_string_equal(cfg.allowed_hosts.items[1], "b.example.com");
    assert_true(cfg.debug);
    assert_int_equal(cfg.upload_attempts, 9); /* the last assignment wins */
    assert_int_equal(cfg.log_level, LOG_INFO);
}

static void expect_env_error(const char *text, const char *want)
{
    write_file(".env", text);
    enum err e = config_load(&cfg, err, sizeof(err));
    if (e != ERR_CONFIG || strcmp(err, want) != 0)
        fail_msg(".env %s: got e=%d err=\"%s\", want \"%s\"", text, (int)e, err, want);
}

static void test_env_malformed(void **state)
{
    (void)state;
    expect_env_error("THREADS=2\n# ok\nTHIS IS NOT VALID\n", ".env:3: expected KEY=VALUE");
    expect_env_error("NOEQUALS\n", ".env:1: expected KEY=VALUE");
    expect_env_error("A=1\nB=\"unterminated\n", ".env:2: expected KEY=VALUE");
    expect_env_error("A='x' junk\n", ".env:1: expected KEY=VALUE");
    expect_env_error("1A=2\n", ".env:1: expected KEY=VALUE");
    expect_env_error("=2\n", ".env:1: expected KEY=VALUE");
    expect_env_error("A-B=2\n", ".env:1: expected KEY=VALUE");
    expect_env_error("exportA B=1\n", ".env:1: expected KEY=VALUE");
    /* a good file with a bad value: the variable is named */
    expect_env_error("THREADS=0\n", "THREADS: must be an integer 1..256, got \"0\"");
}

static void test_env_too_big(void **state)
{
    (void)state;
    FILE *f = fopen(".env", "w");
    assert_non_null(f);
    for (int i = 0; i < 70 * 1024 / 16; i++)
        fputs("# padding 12345\n", f);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(config_load(&cfg, err, sizeof(err)), ERR_CONFIG);
    assert_string_equal(err, ".env: file larger than 64 KiB");
}

static void test_env_nul_byte(void **state)
{
    (void)state;
    FILE *f = fopen(".env", "w");
    assert_non_null(f);
    assert_int_equal(fwrite("A=1\0\nB=2\n", 1, 9, f), 9);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(config_load(&cfg, err, sizeof(err)), ERR_CONFIG);
    assert_string_equal(err, ".env: contains a NUL byte");
}

static void test_env_environment_wins(void **state)
{
    (void)state;
    write_file(".env", "THREADS=2\nUPLOAD_ATTEMPTS=7\nIDLE_TIMEOUT=60\n");
    setenv("THREADS", "3", 1);
    setenv("IDLE_TIMEOUT", "", 1); /* empty counts as unset: the file's value applies */
    assert_int_equal(config_load(&cfg, err, sizeof(err)), ERR_OK);
    assert_int_equal(cfg.threads, 3);
    assert_int_equal(cfg.upload_attempts, 7);
    assert_int_equal(cfg.idle_timeout, 60);
}

static void test_env_no_files(void **state)
{
    (void)state;
    assert_int_equal(config_load(&cfg, err, sizeof(err)), ERR_OK);
    assert_int_equal(cfg.upload_attempts, 5);
    /* the working directory made absolute (tmpdir may sit behind a symlink: compare its
     * unique name only) */
    assert_true(cfg.data_dir[0] == '/');
    assert_non_null(strstr(cfg.data_dir, strrchr(tmpdir, '/')));
    assert_string_equal(cfg.data_dir + strlen(cfg.data_dir) - 5, "/data");
}

static void test_env_data_dir_file(void **state)
{
    (void)state;
    /* ./data/.env is read when DATA_DIR is unset; cwd .env wins over it */
    assert_int_equal(mkdir("data", 0700), 0);
    write_file("data/.env", "THREADS=5\nUPLOAD_ATTEMPTS=9\nDATA_DIR=/nowhere\n");
    write_file(".env", "UPLOAD_ATTEMPTS=8\n");
    assert_int_equal(config_load(&cfg, err, sizeof(err)), ERR_OK);
    assert_int_equal(cfg.threads, 5);
    assert_int_equal(cfg.upload_attempts, 8);
    /* DATA_DIR is never taken from the file inside DATA_DIR */
    assert_string_equal(cfg.data_dir + strlen(cfg.data_dir) - 5, "/data");

    /* DATA_DIR from the cwd .env locates the second file */
    assert_int_equal(mkdir("other", 0700), 0);
    write_file("other/.env", "THREADS=6\nMAX_UPLOAD_SIZE=1K\n");
    write_file(".env", "DATA_DIR=other\nMAX_UPLOAD_SIZE=2K\n");
    assert_int_equal(config_load(&cfg, err, sizeof(err)), ERR_OK);
    assert_int_equal(cfg.threads, 6);
    assert_int_equal(cfg.max_upload_size, 2048);
    assert_string_equal(cfg.data_dir + strlen(cfg.data_dir) - 6, "/other");

    /* ... and from the environment */
    setenv("DATA_DIR", "data", 1);
    assert_int_equal(config_load(&cfg, err, sizeof(err)), ERR_OK);
    assert_int_equal(cfg.threads, 5);

    /* a malformed second file is named by its path */
    write_file("data/.env", "ok=1\nbad line\n");
    assert_int_equal(config_load(&cfg, err, sizeof(err)), ERR_CONFIG);
    assert_string_equal(err, "data/.env:2: expected KEY=VALUE");
}

static void test_env_unreadable(void **state)
{
    (void)state;
    assert_int_equal(mkdir(".env", 0700), 0); /* a directory cannot be read as a file */
    enum err e = config_load(&cfg, err, sizeof(err));
    rmdir(".env");
    assert_int_equal(e, ERR_CONFIG);
    assert_memory_equal(err, ".env: cannot read", 17);
}

/* ------------------------------------------------------ run-time checks -- */

static void set_list(struct host_list *l, const char *const *items, int n)
{
    l->n = n;
    for (int i = 0; i < n; i++)
        snprintf(l->items[i], sizeof(l->items[i]), "%s", items[i]);
}

static void test_host_allowed(void **state)
{
    (void)state;
    struct kv none[] = {{NULL, NULL}};
    assert_int_equal(load_kv(none), ERR_OK);
    assert_true(config_host_allowed(&cfg, "localhost"));
    assert_true(config_host_allowed(&cfg, "LocalHost"));
    assert_true(config_host_allowed(&cfg, "localhost."));
    assert_true(config_host_allowed(&cfg, "127.0.0.1"));
    assert_true(config_host_allowed(&cfg, "[::1]"));
    assert_true(config_host_allowed(&cfg, "::1"));
    assert_false(config_host_allowed(&cfg, "example.com"));
    assert_false(config_host_allowed(&cfg, "localhost.example.com"));
    assert_false(config_host_allowed(&cfg, ""));
    assert_false(config_host_allowed(&cfg, "[]"));
    assert_false(config_host_allowed(&cfg, NULL));

    static const char *const dom[] = {".example.com", "logs.test"};
    set_list(&cfg.allowed_hosts, dom, 2);
    assert_true(config_host_allowed(&cfg, "example.com"));
    assert_true(config_host_allowed(&cfg, "a.example.com"));
    assert_true(config_host_allowed(&cfg, "A.B.Example.COM"));
    assert_true(config_host_allowed(&cfg, "LOGS.test"));
    assert_false(config_host_allowed(&cfg, "badexample.com"));
    assert_false(config_host_allowed(&cfg, "example.com.evil.net"));
    assert_false(config_host_allowed(&cfg, "a.logs.test"));
    assert_false(config_host_allowed(&cfg, "localhost"));

    static const char *const any[] = {"*"};
    set_list(&cfg.allowed_hosts, any, 1);
    assert_true(config_host_allowed(&cfg, "anything.example.org"));
    assert_false(config_host_allowed(&cfg, ""));

    cfg.allowed_hosts.n = 0;
    assert_false(config_host_allowed(&cfg, "localhost"));
}

static void test_proxy_trusted(void **state)
{
    (void)state;
    expect_ok("TRUSTED_PROXIES", "10.0.0.0/8,192.168.1.1,172.16.0.0/12,2001:db8::/32,::1");
    assert_true(config_proxy_trusted(&cfg, "10.1.2.3"));
    assert_true(config_proxy_trusted(&cfg, "10.255.255.255"));
    assert_false(config_proxy_trusted(&cfg, "11.0.0.1"));
    assert_true(config_proxy_trusted(&cfg, "192.168.1.1"));
    assert_false(config_proxy_trusted(&cfg, "192.168.1.2"));
    assert_true(config_proxy_trusted(&cfg, "172.31.255.255"));
    assert_false(config_proxy_trusted(&cfg, "172.32.0.0"));
    assert_false(config_proxy_trusted(&cfg, "172.15.255.255"));
    assert_true(config_proxy_trusted(&cfg, "::ffff:10.9.8.7")); /* v4-mapped */
    assert_true(config_proxy_trusted(&cfg, "2001:db8::1"));
    assert_true(config_proxy_trusted(&cfg, "2001:DB8:ffff::1"));
    assert_false(config_proxy_trusted(&cfg, "2001:db9::1"));
    assert_true(config_proxy_trusted(&cfg, "::1"));
    assert_false(config_proxy_trusted(&cfg, "::2"));
    assert_false(config_proxy_trusted(&cfg, "127.0.0.1"));
    assert_false(config_proxy_trusted(&cfg, "not-an-ip"));
    assert_false(config_proxy_trusted(&cfg, ""));
    assert_false(config_proxy_trusted(&cfg, NULL));

    expect_ok("TRUSTED_PROXIES", "0.0.0.0/0");
    assert_true(config_proxy_trusted(&cfg, "203.0.113.9"));
    assert_false(config_proxy_trusted(&cfg, "2001:db8::1")); /* other family */

    struct kv none[] = {{NULL, NULL}};
    assert_int_equal(load_kv(none), ERR_OK);
    assert_false(config_proxy_trusted(&cfg, "127.0.0.1"));
}

int main(void)
{
    clear_env();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_empty_is_unset),
        cmocka_unit_test(test_ret_untouched_on_error),
        cmocka_unit_test(test_data_dir),
        cmocka_unit_test(test_db_url),
        cmocka_unit_test(test_bind_ok),
        cmocka_unit_test(test_bind_errors),
        cmocka_unit_test(test_parse_bind_api),
        cmocka_unit_test(test_aliases),
        cmocka_unit_test(test_threads),
        cmocka_unit_test(test_idle_timeout),
        cmocka_unit_test(test_sizes),
        cmocka_unit_test(test_parse_size),
        cmocka_unit_test(test_parse_duration),
        cmocka_unit_test(test_attempts_and_ttl),
        cmocka_unit_test(test_lists),
        cmocka_unit_test(test_trusted_proxies),
        cmocka_unit_test(test_tz),
        cmocka_unit_test(test_log_level),
        cmocka_unit_test(test_bools),
        cmocka_unit_test(test_strings),
        cmocka_unit_test(test_control_chars_shown_safely),
        cmocka_unit_test_setup_teardown(test_env_syntax, env_setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_env_malformed, env_setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_env_too_big, env_setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_env_nul_byte, env_setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_env_environment_wins, env_setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_env_no_files, env_setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_env_data_dir_file, env_setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_env_unreadable, env_setup, env_teardown),
        cmocka_unit_test(test_host_allowed),
        cmocka_unit_test(test_proxy_trusted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
