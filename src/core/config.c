/* config.c - the server's configuration: environment, .env files, validation, host checks. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/config.h"
#include "core/limits.h"
#include "core/log.h"

#define ENV_FILE_MAX  (64 * 1024) /* bytes of one .env file */
#define SHOWN_MAX     64          /* bytes of a bad value quoted in an error line */
#define ZONEINFO_DIR  "/usr/share/zoneinfo"
#define DEFAULT_HOSTS "localhost,127.0.0.1,::1"
#define DEFAULT_PORT  8000

/* ---------------------------------------------------------------- errors -- */

/* Writes one formatted line into err (which may be NULL/0) and returns ERR_CONFIG. */
__attribute__((format(printf, 3, 4))) static enum err fail(char *err, size_t errlen,
                                                           const char *fmt, ...)
{
    if (err && errlen > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return ERR_CONFIG;
}

/* Copies at most SHOWN_MAX bytes of v into out (>= SHOWN_MAX + 4), control
 * characters made '?', "..." appended when cut: the error line stays one line. */
static void shown(const char *v, char out[SHOWN_MAX + 4])
{
    size_t i = 0;
    for (; v[i] && i < SHOWN_MAX; i++)
        out[i] = (unsigned char)v[i] < 0x20 || v[i] == 0x7f ? '?' : v[i];
    if (v[i]) {
        memcpy(out + i, "...", 3);
        i += 3;
    }
    out[i] = '\0';
}

/* "<VAR>: <what>, got \"<value>\"" */
static enum err bad(char *err, size_t errlen, const char *var, const char *what, const char *v)
{
    char s[SHOWN_MAX + 4];
    shown(v, s);
    return fail(err, errlen, "%s: %s, got \"%s\"", var, what, s);
}

/* --------------------------------------------------------------- parsers -- */

/* Accepts true/false, 1/0, yes/no, on/off in any case. */
bool config_parse_bool(const char *s, bool *ret)
{
    static const char *const yes[] = {"true", "1", "yes", "on"};
    static const char *const no[] = {"false", "0", "no", "off"};
    if (!s)
        return false;
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        if (strcasecmp(s, yes[i]) == 0) {
            *ret = true;
            return true;
        }
        if (strcasecmp(s, no[i]) == 0) {
            *ret = false;
            return true;
        }
    }
    return false;
}

/* Reads one or more decimal digits at *p into *ret without overflowing int64;
 * advances *p. False when there is no digit or on overflow. */
static bool read_digits(const char **p, int64_t *ret)
{
    const char *s = *p;
    int64_t v = 0;
    if (!isdigit((unsigned char)*s))
        return false;
    for (; isdigit((unsigned char)*s); s++) {
        int d = *s - '0';
        if (v > (INT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *p = s;
    *ret = v;
    return true;
}

/* Digits, optional blanks, optional unit K/M/G/T (each optionally followed by B
 * or iB) or B, any case; every multiple is binary. No sign, no fraction. */
bool config_parse_size(const char *s, int64_t *ret)
{
    static const struct {
        const char *unit;
        int shift;
    } units[] = {
        {"", 0},     {"b", 0},  {"k", 10},  {"kb", 10},  {"kib", 10}, {"m", 20},  {"mb", 20},
        {"mib", 20}, {"g", 30}, {"gb", 30}, {"gib", 30}, {"t", 40},   {"tb", 40}, {"tib", 40},
    };
    int64_t v;
    if (!s || !read_digits(&s, &v))
        return false;
    while (*s == ' ')
        s++;
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (strcasecmp(s, units[i].unit) != 0)
            continue;
        if (v > (INT64_MAX >> units[i].shift))
            return false;
        *ret = v << units[i].shift;
        return true;
    }
    return false;
}

/* Digits with an optional unit s, m, h, d or w (any case); plain digits are seconds. */
bool config_parse_duration(const char *s, int64_t *ret)
{
    int64_t v, mult;
    if (!s || !read_digits(&s, &v))
        return false;
    switch (tolower((unsigned char)*s)) {
    case '\0':
    case 's':
        mult = 1;
        break;
    case 'm':
        mult = 60;
        break;
    case 'h':
        mult = 3600;
        break;
    case 'd':
        mult = 86400;
        break;
    case 'w':
        mult = 7 * 86400;
        break;
    default:
        return false;
    }
    if (*s && s[1])
        return false;
    if (v > INT64_MAX / mult)
        return false;
    *ret = v * mult;
    return true;
}

static bool parse_port(const char *s, int *ret)
{
    int64_t v;
    const char *p = s;
    if (!read_digits(&p, &v) || *p || v < 1 || v > 65535)
        return false;
    *ret = (int)v;
    return true;
}

static bool host_char(char c)
{
    return isalnum((unsigned char)c) || c == '.' || c == '-' || c == '_';
}

/*
 * The bind parser, explaining a refusal through *why (a static string):
 * "port" (no host) means 127.0.0.1:port, ":port" means 0.0.0.0:port (all IPv4
 * interfaces, as gunicorn and Go read it), "[v6]:port" keeps the address
 * without brackets, "name:port" keeps the name. Outputs written only on success.
 */
static bool parse_bind(const char *s, char *host, size_t hostlen, int *port, const char **why)
{
    char h[256];
    const char *ps;
    *why = "expected host:port, [ipv6]:port or port";
    if (!s || !*s)
        return false;
    if (strncasecmp(s, "unix:", 5) == 0) {
        *why = "unix sockets are not supported";
        return false;
    }
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (!close || close[1] != ':')
            return false;
        size_t n = (size_t)(close - s - 1);
        unsigned char a[16];
        if (n == 0 || n >= sizeof(h))
            return false;
        memcpy(h, s + 1, n);
        h[n] = '\0';
        if (inet_pton(AF_INET6, h, a) != 1) {
            *why = "not an IPv6 address in brackets";
            return false;
        }
        ps = close + 2;
    } else {
        const char *colon = strrchr(s, ':');
        if (!colon) {
            strcpy(h, "127.0.0.1");
            ps = s;
            if (!isdigit((unsigned char)*s))
                return false; /* a bare name: refuse rather than guess a port */
        } else {
            size_t n = (size_t)(colon - s);
            if (memchr(s, ':', n)) {
                *why = "an IPv6 address needs brackets: [::1]:8000";
                return false;
            }
            if (n >= sizeof(h) || n > 253) {
                *why = "host too long";
                return false;
            }
            memcpy(h, s, n);
            h[n] = '\0';
            if (n == 0)
                strcpy(h, "0.0.0.0");
            for (size_t i = 0; i < n; i++)
                if (!host_char(h[i]))
                    return false;
            ps = colon + 1;
        }
    }
    int p;
    if (!parse_port(ps, &p)) {
        *why = "port must be 1..65535";
        return false;
    }
    if (strlen(h) >= hostlen) {
        *why = "host too long";
        return false;
    }
    strcpy(host, h);
    *port = p;
    return true;
}

bool config_parse_bind(const char *s, char *host, size_t hostlen, int *port)
{
    const char *why;
    return parse_bind(s, host, hostlen, port, &why);
}

/* "addr" or "addr/prefix" for IPv4 or IPv6 into family, 16 address bytes and a
 * prefix length (the full length when absent). False on anything else. */
static bool parse_cidr(const char *s, int *family, unsigned char addr[16], int *prefix)
{
    char a[64];
    const char *slash = strchr(s, '/');
    size_t n = slash ? (size_t)(slash - s) : strlen(s);
    if (n == 0 || n >= sizeof(a))
        return false;
    memcpy(a, s, n);
    a[n] = '\0';
    memset(addr, 0, 16);
    int fam, bits;
    if (inet_pton(AF_INET, a, addr) == 1) {
        fam = AF_INET;
        bits = 32;
    } else if (inet_pton(AF_INET6, a, addr) == 1) {
        fam = AF_INET6;
        bits = 128;
    } else {
        return false;
    }
    int pfx = bits;
    if (slash) {
        int64_t v;
        const char *p = slash + 1;
        if (!read_digits(&p, &v) || *p || v > bits)
            return false;
        pfx = (int)v;
    }
    *family = fam;
    *prefix = pfx;
    return true;
}

/* True when the first `bits` bits of a and b agree. */
static bool prefix_equal(const unsigned char *a, const unsigned char *b, int bits)
{
    int whole = bits / 8, rest = bits % 8;
    if (memcmp(a, b, (size_t)whole) != 0)
        return false;
    if (rest == 0)
        return true;
    unsigned char mask = (unsigned char)(0xff << (8 - rest));
    return (a[whole] & mask) == (b[whole] & mask);
}

/* A zone name is "UTC" or names a TZif file under /usr/share/zoneinfo, reached
 * without "..", an absolute path or unusual characters. */
static bool tz_valid(const char *tz)
{
    if (strcmp(tz, "UTC") == 0)
        return true;
    if (!*tz || tz[0] == '/' || strstr(tz, "..") || strlen(tz) > 100)
        return false;
    for (const char *p = tz; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr("/_+-.", *p))
            return false;
    char path[160];
    snprintf(path, sizeof(path), "%s/%s", ZONEINFO_DIR, tz);
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return false;
    struct stat st;
    char magic[4];
    bool ok = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
              read(fd, magic, sizeof(magic)) == (ssize_t)sizeof(magic) &&
              memcmp(magic, "TZif", 4) == 0;
    close(fd);
    return ok;
}

/* ----------------------------------------------------------- the loader -- */

struct src {
    const char *(*get)(const char *name, void *ctx);
    void *ctx;
    char *err;
    size_t errlen;
};

/* The value of name, NULL when unset or empty. */
static const char *look(const struct src *s, const char *name)
{
    const char *v = s->get(name, s->ctx);
    return v && *v ? v : NULL;
}

/* The value of name, else of alias; *ret_var gets the name that was used. */
static const char *look2(const struct src *s, const char *name, const char *alias,
                         const char **ret_var)
{
    const char *v = look(s, name);
    *ret_var = name;
    if (!v && (v = look(s, alias)))
        *ret_var = alias;
    return v;
}

/* Copies an optional string variable; secrets are never echoed. */
static enum err get_string(const struct src *s, const char *var, char *out, size_t outlen,
                           bool secret)
{
    const char *v = look(s, var);
    if (!v)
        return ERR_OK;
    if (strlen(v) >= outlen) {
        if (secret)
            return fail(s->err, s->errlen, "%s: value too long (max %zu bytes)", var, outlen - 1);
        char what[64];
        snprintf(what, sizeof(what), "value too long (max %zu bytes)", outlen - 1);
        return bad(s->err, s->errlen, var, what, v);
    }
    strcpy(out, v);
    return ERR_OK;
}

/* An integer variable in lo..hi (plain decimal; durations when `duration`). */
static enum err get_int(const struct src *s, const char *var, const char *alias, int64_t lo,
                        int64_t hi, bool duration, int64_t *out)
{
    const char *used;
    const char *v = alias ? look2(s, var, alias, &used) : (used = var, look(s, var));
    if (!v)
        return ERR_OK;
    int64_t n;
    bool ok;
    if (duration) {
        ok = config_parse_duration(v, &n);
    } else {
        const char *p = v;
        ok = read_digits(&p, &n) && !*p;
    }
    if (!ok || n < lo || n > hi) {
        char what[96];
        snprintf(what, sizeof(what), "must be %s %lld..%lld%s",
                 duration ? "a duration of" : "an integer", (long long)lo, (long long)hi,
                 duration ? " seconds (e.g. 3600, 90m, 12h)" : "");
        return bad(s->err, s->errlen, used, what, v);
    }
    *out = n;
    return ERR_OK;
}

static void strip_brackets(const char *in, char *out, size_t outlen)
{
    size_t n = strlen(in);
    if (n >= 2 && in[0] == '[' && in[n - 1] == ']') {
        in++;
        n -= 2;
    }
    if (n >= outlen)
        n = outlen - 1;
    memcpy(out, in, n);
    out[n] = '\0';
}

/* Splits v on commas and white space into out, trimming and skipping empty
 * entries; every entry is then checked by check (may be NULL), which returns the
 * reason for a refusal or NULL. */
static enum err get_list(const struct src *s, const char *var, const char *v,
                         const char *(*check)(const char *entry), struct host_list *out)
{
    out->n = 0;
    const char *p = v;
    while (*p) {
        while (*p == ',' || isspace((unsigned char)*p))
            p++;
        if (!*p)
            break;
        const char *start = p;
        while (*p && *p != ',' && !isspace((unsigned char)*p))
            p++;
        size_t n = (size_t)(p - start);
        if (out->n >= CONFIG_LIST_MAX) {
            char what[48];
            snprintf(what, sizeof(what), "too many entries (max %d)", CONFIG_LIST_MAX);
            return bad(s->err, s->errlen, var, what, v);
        }
        char entry[sizeof(out->items[0]) + 1];
        if (n >= sizeof(out->items[0])) {
            memcpy(entry, start, sizeof(entry) - 1);
            entry[sizeof(entry) - 1] = '\0';
            return bad(s->err, s->errlen, var, "entry too long (max 255 bytes)", entry);
        }
        memcpy(entry, start, n);
        entry[n] = '\0';
        const char *why = check ? check(entry) : NULL;
        if (why)
            return bad(s->err, s->errlen, var, why, entry);
        memcpy(out->items[out->n], entry, n + 1);
        out->n++;
    }
    return ERR_OK;
}

static const char *check_host(const char *e)
{
    return strstr(e, "://") || strchr(e, '/') ? "expected a host name (no scheme or path)" : NULL;
}

static const char *check_origin(const char *e)
{
    bool ok =
        (strncasecmp(e, "https://", 8) == 0 && e[8]) || (strncasecmp(e, "http://", 7) == 0 && e[7]);
    return ok ? NULL : "origin must start with http:// or https://";
}

static const char *check_proxy(const char *e)
{
    int fam, pfx;
    unsigned char a[16];
    return parse_cidr(e, &fam, a, &pfx) ? NULL : "not an IP address or CIDR";
}

/* DATA_DIR made absolute against the working directory, "./" prefixes and
 * trailing slashes removed. Does not resolve symlinks or touch the directory. */
static enum err get_data_dir(const struct src *s, char *out, size_t outlen)
{
    const char *v = look(s, "DATA_DIR");
    if (!v)
        v = "./data";
    char buf[PATH_MAX + 1024];
    if (v[0] == '/') {
        if (strlen(v) >= sizeof(buf))
            return bad(s->err, s->errlen, "DATA_DIR", "value too long", v);
        strcpy(buf, v);
    } else {
        char cwd[PATH_MAX];
        if (!getcwd(cwd, sizeof(cwd)))
            return fail(s->err, s->errlen, "DATA_DIR: cannot get the working directory: %s",
                        strerror(errno));
        const char *rel = v;
        while (rel[0] == '.' && rel[1] == '/') {
            rel += 2;
            while (*rel == '/')
                rel++;
        }
        if (strcmp(rel, ".") == 0)
            rel = "";
        int n = snprintf(buf, sizeof(buf), "%s%s%s", cwd, *rel && strcmp(cwd, "/") != 0 ? "/" : "",
                         rel);
        if (n < 0 || (size_t)n >= sizeof(buf))
            return bad(s->err, s->errlen, "DATA_DIR", "value too long", v);
    }
    size_t n = strlen(buf);
    while (n > 1 && buf[n - 1] == '/')
        buf[--n] = '\0';
    if (n >= outlen) {
        char what[64];
        snprintf(what, sizeof(what), "path too long (max %zu bytes)", outlen - 1);
        return bad(s->err, s->errlen, "DATA_DIR", what, v);
    }
    memcpy(out, buf, n + 1);
    return ERR_OK;
}

static const struct {
    const char *scheme;
    enum db_kind kind;
} db_schemes[] = {
    {"sqlite", DB_SQLITE}, {"postgres", DB_POSTGRES}, {"postgresql", DB_POSTGRES},
    {"psql", DB_POSTGRES}, {"pgsql", DB_POSTGRES},
};

enum db_kind config_db_kind(const char *url)
{
    const char *sep = url ? strstr(url, "://") : NULL;
    if (!sep)
        return DB_UNKNOWN;
    size_t n = (size_t)(sep - url);
    for (size_t i = 0; i < sizeof(db_schemes) / sizeof(db_schemes[0]); i++)
        if (strlen(db_schemes[i].scheme) == n && strncasecmp(url, db_schemes[i].scheme, n) == 0)
            return db_schemes[i].kind;
    return DB_UNKNOWN;
}

bool config_sqlite_path(const char *url, const char **ret_path)
{
    if (config_db_kind(url) != DB_SQLITE)
        return false;
    const char *p = strstr(url, "://") + 3;
    if (*p != '/' || !p[1])
        return false;
    *ret_path = p + 1; /* sqlite:///rel -> "rel", sqlite:////abs -> "/abs" */
    return true;
}

/* DB_URL: the default SQLite file in data_dir, or a checked sqlite/postgres URL.
 * The URL may carry a password: only its scheme is ever echoed. */
static enum err get_db_url(const struct src *s, const char *data_dir, char *out, size_t outlen)
{
    const char *v = look(s, "DB_URL");
    if (!v) {
        int n = snprintf(out, outlen, "sqlite:///%s/db.sqlite3", data_dir);
        if (n < 0 || (size_t)n >= outlen)
            return fail(s->err, s->errlen, "DB_URL: default path under DATA_DIR too long");
        return ERR_OK;
    }
    if (strlen(v) >= outlen)
        return fail(s->err, s->errlen, "DB_URL: value too long (max %zu bytes)", outlen - 1);
    const char *sep = strstr(v, "://");
    if (!sep || sep == v || sep - v > 32)
        return fail(s->err, s->errlen, "DB_URL: expected sqlite:///path or postgres://...");
    size_t n = (size_t)(sep - v);
    enum db_kind kind = config_db_kind(v);
    if (kind == DB_UNKNOWN) {
        char scheme[33];
        memcpy(scheme, v, n);
        scheme[n] = '\0';
        char sh[SHOWN_MAX + 4];
        shown(scheme, sh);
        return fail(s->err, s->errlen,
                    "DB_URL: unknown scheme \"%s\" (use sqlite:///path or postgres://...)", sh);
    }
    const char *path;
    if (kind == DB_SQLITE && !config_sqlite_path(v, &path))
        return fail(s->err, s->errlen, "DB_URL: sqlite needs a path: sqlite:///path/db.sqlite3");
    if (kind == DB_POSTGRES && !sep[3])
        return fail(s->err, s->errlen, "DB_URL: postgres needs a host or database");
    strcpy(out, v);
    return ERR_OK;
}

static enum err get_bool(const struct src *s, const char *var, bool *out)
{
    const char *v = look(s, var);
    if (!v)
        return ERR_OK;
    if (!config_parse_bool(v, out))
        return bad(s->err, s->errlen, var, "must be true or false (also 1/0, yes/no, on/off)", v);
    return ERR_OK;
}

static enum err get_size(const struct src *s, const char *var, int64_t *out)
{
    const char *v = look(s, var);
    if (!v)
        return ERR_OK;
    if (!config_parse_size(v, out))
        return bad(s->err, s->errlen, var, "must be a size >= 0 like 1024, 500M or 2GiB", v);
    return ERR_OK;
}

/* An e-mail address as mail headers take it: one addr-spec, no spaces, quotes,
 * angle brackets, commas or control characters. */
static const char *check_address(const char *v)
{
    const char *at = strchr(v, '@');
    if (!at || at == v || !at[1] || strchr(at + 1, '@'))
        return "expected an address like logs@example.com";
    for (const char *p = v; *p; p++)
        if ((unsigned char)*p <= ' ' || strchr("<>,;\"()[]\\", *p) || *p == 0x7f)
            return "expected an address like logs@example.com";
    return NULL;
}

/* The variables of events, webhooks, mail and metrics. */
static enum err load_notify(const struct src *s, struct config *c)
{
    enum err e;
    const char *v;
    c->events_keep = 365 * 86400;
    if ((e = get_int(s, "EVENTS_KEEP", NULL, 0, INT64_MAX / 1000000, true, &c->events_keep)))
        return e;
    c->webhook_allow_private = false;
    if ((e = get_bool(s, "WEBHOOK_ALLOW_PRIVATE", &c->webhook_allow_private)))
        return e;
    c->webhook_timeout = 10;
    if ((e = get_int(s, "WEBHOOK_TIMEOUT", NULL, 1, 300, true, &c->webhook_timeout)))
        return e;
    c->webhook_retry_delay = 10;
    if ((e = get_int(s, "WEBHOOK_RETRY_DELAY", NULL, 1, 3600, true, &c->webhook_retry_delay)))
        return e;
    if ((e = get_string(s, "SMTP_URL", c->smtp_url, sizeof(c->smtp_url), true)))
        return e;
    if (c->smtp_url[0] && strncasecmp(c->smtp_url, "smtp://", 7) != 0 &&
        strncasecmp(c->smtp_url, "smtps://", 8) != 0)
        return fail(s->err, s->errlen,
                    "SMTP_URL: expected smtp://host[:port] or smtps://host[:port]");
    if ((e = get_string(s, "SMTP_FROM", c->smtp_from, sizeof(c->smtp_from), false)))
        return e;
    if (c->smtp_from[0] && (v = check_address(c->smtp_from)))
        return bad(s->err, s->errlen, "SMTP_FROM", v, c->smtp_from);
    if (c->smtp_url[0] && !c->smtp_from[0])
        return fail(s->err, s->errlen, "SMTP_FROM: required with SMTP_URL (the sender address)");
    if ((e = get_string(s, "SMTP_USER", c->smtp_user, sizeof(c->smtp_user), false)))
        return e;
    if ((e = get_string(s, "SMTP_PASSWORD", c->smtp_password, sizeof(c->smtp_password), true)))
        return e;
    c->smtp_starttls = true;
    if ((e = get_bool(s, "SMTP_STARTTLS", &c->smtp_starttls)))
        return e;
    c->mail_quiet = 60;
    if ((e = get_int(s, "MAIL_QUIET", NULL, 0, 86400, true, &c->mail_quiet)))
        return e;
    if ((e = get_string(s, "PUBLIC_URL", c->public_url, sizeof(c->public_url), false)))
        return e;
    if (c->public_url[0] && (v = check_origin(c->public_url)))
        return bad(s->err, s->errlen, "PUBLIC_URL", v, c->public_url);
    size_t n = strlen(c->public_url);
    while (n && c->public_url[n - 1] == '/')
        c->public_url[--n] = 0;
    return get_string(s, "METRICS_TOKEN", c->metrics_token, sizeof(c->metrics_token), true);
}

/* Every variable, in the order of config.h; the first bad one stops. */
static enum err load(const struct src *s, struct config *c)
{
    enum err e;
    const char *v, *var;

    if ((e = get_data_dir(s, c->data_dir, sizeof(c->data_dir))))
        return e;
    if ((e = get_db_url(s, c->data_dir, c->db_url, sizeof(c->db_url))))
        return e;
    if ((e = get_string(s, "SECRET_KEY", c->secret_key, sizeof(c->secret_key), true)))
        return e;

    strcpy(c->bind_host, "127.0.0.1");
    c->bind_port = DEFAULT_PORT;
    if ((v = look2(s, "BIND", "GUNICORN_BIND", &var))) {
        const char *why;
        if (!parse_bind(v, c->bind_host, sizeof(c->bind_host), &c->bind_port, &why))
            return bad(s->err, s->errlen, var, why, v);
    }

    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    int64_t n = cpus < 1 ? 1 : cpus > 256 ? 256 : cpus;
    if ((e = get_int(s, "THREADS", "GUNICORN_WORKERS", 1, 256, false, &n)))
        return e;
    c->threads = (int)n;

    n = 3600;
    if ((e = get_int(s, "IDLE_TIMEOUT", "GUNICORN_TIMEOUT", 1, 604800, true, &n)))
        return e;
    c->idle_timeout = (int)n;

    c->max_upload_size = 0;
    if ((e = get_size(s, "MAX_UPLOAD_SIZE", &c->max_upload_size)))
        return e;
    c->storage_min_free = (int64_t)1 << 30;
    if ((e = get_size(s, "STORAGE_MIN_FREE", &c->storage_min_free)))
        return e;

    n = 5;
    if ((e = get_int(s, "UPLOAD_ATTEMPTS", NULL, 0, 100, false, &n)))
        return e;
    c->upload_attempts = (int)n;

    n = LIMIT_CONN_PER_IP;
    if ((e = get_int(s, "MAX_CONNECTIONS_PER_IP", NULL, 0, 1000000, false, &n)))
        return e;
    c->max_conn_per_ip = (int)n;

    c->db_wait = 60;
    if ((e = get_int(s, "DB_WAIT", NULL, 0, 3600, true, &c->db_wait)))
        return e;

    c->upload_token_ttl = 7 * 86400;
    if ((e = get_int(s, "UPLOAD_TOKEN_TTL", NULL, 0, INT64_MAX / 1000000, true,
                     &c->upload_token_ttl)))
        return e;

    c->upload_resume_ttl = 24 * 3600;
    if ((e = get_int(s, "UPLOAD_RESUME_TTL", NULL, 60, 365 * 86400, true, &c->upload_resume_ttl)))
        return e;

    v = look(s, "ALLOWED_HOSTS");
    if ((e = get_list(s, "ALLOWED_HOSTS", v ? v : DEFAULT_HOSTS, check_host, &c->allowed_hosts)))
        return e;
    for (int i = 0; i < c->allowed_hosts.n; i++) {
        char tmp[sizeof(c->allowed_hosts.items[0])];
        strip_brackets(c->allowed_hosts.items[i], tmp, sizeof(tmp));
        strcpy(c->allowed_hosts.items[i], tmp);
    }
    v = look(s, "CSRF_TRUSTED_ORIGINS");
    if ((e = get_list(s, "CSRF_TRUSTED_ORIGINS", v ? v : "", check_origin,
                      &c->csrf_trusted_origins)))
        return e;
    v = look(s, "TRUSTED_PROXIES");
    if ((e = get_list(s, "TRUSTED_PROXIES", v ? v : "", check_proxy, &c->trusted_proxies)))
        return e;

    strcpy(c->tz, "UTC");
    if ((v = look(s, "TZ"))) {
        const char *name = v[0] == ':' ? v + 1 : v; /* POSIX ":Area/City" */
        if (strlen(name) >= sizeof(c->tz) || !tz_valid(name)) {
            char sh[SHOWN_MAX + 4];
            shown(v, sh);
            return fail(s->err, s->errlen, "TZ: unknown time zone \"%s\"", sh);
        }
        strcpy(c->tz, name);
    }

    c->log_level = LOG_INFO;
    if ((v = look2(s, "LOG_LEVEL", "GUNICORN_LOGLEVEL", &var))) {
        int lvl = log_level_parse(v);
        if (lvl < 0)
            return bad(s->err, s->errlen, var, "must be debug, info, warning, error or critical",
                       v);
        c->log_level = lvl;
    }

    c->debug = false;
    if ((e = get_bool(s, "DEBUG", &c->debug)))
        return e;
    c->require_2fa = true;
    if ((e = get_bool(s, "REQUIRE_2FA", &c->require_2fa)))
        return e;
    c->session_lifetime = 24 * 3600;
    if ((e = get_int(s, "SESSION_LIFETIME", NULL, 300, 30 * 86400, true, &c->session_lifetime)))
        return e;
    c->session_idle = 4 * 3600;
    if ((e = get_int(s, "SESSION_IDLE_TIMEOUT", NULL, 60, 30 * 86400, true, &c->session_idle)))
        return e;

    if ((e = get_string(s, "ADMIN_USERNAME", c->admin_username, sizeof(c->admin_username), false)))
        return e;
    if ((e = get_string(s, "ADMIN_PASSWORD", c->admin_password, sizeof(c->admin_password), true)))
        return e;
    return load_notify(s, c);
}

/*
 * See config.h. Builds the configuration in a heap copy so that *ret is written
 * only on success; ERR_NOMEM when that copy cannot be allocated.
 */
enum err config_load_from(struct config *ret, const char *(*get)(const char *name, void *ctx),
                          void *ctx, char *errbuf, size_t errlen)
{
    struct src s = {get, ctx, errbuf, errlen};
    struct config *c = calloc(1, sizeof(*c));
    if (!c)
        return ERR_NOMEM;
    enum err e = load(&s, c);
    if (!e)
        memcpy(ret, c, sizeof(*c));
    explicit_bzero(c, sizeof(*c)); /* held the secret key and admin password */
    free(c);
    return e;
}

/* ------------------------------------------------------------ .env files -- */

struct env_entry {
    const char *key;
    const char *value;
};

struct env_file {
    char *buf; /* the file, keys and values decoded in place */
    struct env_entry *entries;
    size_t n;
};

static void env_file_free(struct env_file *f)
{
    if (f->buf)
        explicit_bzero(f->buf, ENV_FILE_MAX + 1); /* may have held secrets */
    free(f->buf);
    free(f->entries);
    f->buf = NULL;
    f->entries = NULL;
    f->n = 0;
}

/* Decodes the value starting at p (blanks already skipped) in place; returns
 * its start, or NULL when the line is malformed (unterminated quote, junk after
 * the closing quote). */
static char *env_value(char *p)
{
    if (*p == '"' || *p == '\'') {
        char q = *p++;
        char *start = p, *w = p;
        for (;; p++) {
            if (!*p)
                return NULL;
            if (*p == q)
                break;
            if (q == '"' && *p == '\\' && p[1]) {
                p++;
                switch (*p) {
                case 'n':
                    *w++ = '\n';
                    break;
                case 't':
                    *w++ = '\t';
                    break;
                case 'r':
                    *w++ = '\r';
                    break;
                case '"':
                case '\\':
                    *w++ = *p;
                    break;
                default: /* unknown escapes stay as written */
                    *w++ = '\\';
                    *w++ = *p;
                }
                continue;
            }
            *w++ = *p;
        }
        p++;
        *w = '\0';
        while (*p == ' ' || *p == '\t')
            p++;
        return *p == '\0' || *p == '#' ? start : NULL;
    }
    /* unquoted: up to a " #" comment, trailing blanks trimmed */
    char *start = p;
    for (; *p; p++)
        if (*p == '#' && p > start && (p[-1] == ' ' || p[-1] == '\t'))
            break;
    *p = '\0';
    while (p > start && (p[-1] == ' ' || p[-1] == '\t'))
        *--p = '\0';
    return start;
}

/* Parses one line (NUL-terminated, no newline) into *ret; false when malformed.
 * A blank or comment line gives true with ret->key NULL. */
static bool env_line(char *line, struct env_entry *ret)
{
    char *p = line;
    ret->key = NULL;
    while (*p == ' ' || *p == '\t')
        p++;
    if (!*p || *p == '#')
        return true;
    if (strncmp(p, "export", 6) == 0 && (p[6] == ' ' || p[6] == '\t')) {
        p += 6;
        while (*p == ' ' || *p == '\t')
            p++;
    }
    char *key = p;
    if (!isalpha((unsigned char)*p) && *p != '_')
        return false;
    while (isalnum((unsigned char)*p) || *p == '_')
        p++;
    char *key_end = p;
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p != '=')
        return false;
    p++;
    while (*p == ' ' || *p == '\t')
        p++;
    char *value = env_value(p);
    if (!value)
        return false;
    *key_end = '\0';
    ret->key = key;
    ret->value = value;
    return true;
}

/*
 * Reads and parses the .env file at path (named `name` in error lines). A
 * missing file gives an empty *ret and ERR_OK. ERR_CONFIG (with a line in err)
 * for an unreadable, oversized or malformed file; ERR_NOMEM. *ret is written
 * only on success and must be released with env_file_free.
 */
static enum err env_file_read(const char *path, const char *name, struct env_file *ret, char *err,
                              size_t errlen)
{
    struct env_file f = {0};
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        if (errno == ENOENT || errno == ENOTDIR) {
            *ret = f;
            return ERR_OK;
        }
        return fail(err, errlen, "%s: cannot open: %s", name, strerror(errno));
    }
    enum err e;
    f.buf = malloc(ENV_FILE_MAX + 1);
    if (!f.buf) {
        close(fd);
        return ERR_NOMEM;
    }
    size_t len = 0;
    for (;;) {
        ssize_t r = read(fd, f.buf + len, ENV_FILE_MAX + 1 - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            e = fail(err, errlen, "%s: cannot read: %s", name, strerror(errno));
            close(fd);
            goto out;
        }
        if (r == 0)
            break;
        len += (size_t)r;
        if (len > ENV_FILE_MAX) {
            e = fail(err, errlen, "%s: file larger than %d KiB", name, ENV_FILE_MAX / 1024);
            close(fd);
            goto out;
        }
    }
    close(fd);
    f.buf[len] = '\0';
    if (memchr(f.buf, '\0', len)) {
        e = fail(err, errlen, "%s: contains a NUL byte", name);
        goto out;
    }
    size_t lines = 1;
    for (size_t i = 0; i < len; i++)
        lines += f.buf[i] == '\n';
    f.entries = calloc(lines, sizeof(*f.entries));
    if (!f.entries) {
        e = ERR_NOMEM;
        goto out;
    }
    char *line = f.buf;
    for (size_t no = 1; line; no++) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        size_t ll = strlen(line);
        if (ll > 0 && line[ll - 1] == '\r')
            line[ll - 1] = '\0';
        struct env_entry ent;
        if (!env_line(line, &ent)) {
            e = fail(err, errlen, "%s:%zu: expected KEY=VALUE", name, no);
            goto out;
        }
        if (ent.key)
            f.entries[f.n++] = ent;
        line = nl ? nl + 1 : NULL;
    }
    *ret = f;
    return ERR_OK;
out:
    free(f.entries);
    explicit_bzero(f.buf, ENV_FILE_MAX + 1);
    free(f.buf);
    return e;
}

/* The working directory's .env, then $DATA_DIR/.env. */
struct env_ctx {
    struct env_file files[2];
    int nfiles;
};

/* getenv first; then each file, the last assignment of a key winning within a
 * file. Empty values count as unset. DATA_DIR is never taken from the file
 * inside DATA_DIR: that file was found through it. */
static const char *env_get(const char *name, void *ctx)
{
    const struct env_ctx *ec = ctx;
    const char *v = getenv(name);
    if (v && *v)
        return v;
    for (int i = 0; i < ec->nfiles; i++) {
        if (i == 1 && strcmp(name, "DATA_DIR") == 0)
            continue;
        const struct env_file *f = &ec->files[i];
        for (size_t j = f->n; j-- > 0;) {
            if (strcmp(f->entries[j].key, name) == 0) {
                if (*f->entries[j].value)
                    return f->entries[j].value;
                break;
            }
        }
    }
    return NULL;
}

/* See config.h. Nothing is written to the environment (no setenv). */
enum err config_load(struct config *ret, char *errbuf, size_t errlen)
{
    struct env_ctx ec = {0};
    enum err e = env_file_read(".env", ".env", &ec.files[0], errbuf, errlen);
    if (e)
        return e;
    ec.nfiles = 1;
    const char *dd = env_get("DATA_DIR", &ec);
    char path[PATH_MAX];
    int n = snprintf(path, sizeof(path), "%s/.env", dd ? dd : "./data");
    if (n < 0 || (size_t)n >= sizeof(path)) {
        e = fail(errbuf, errlen, "DATA_DIR: path too long");
        goto out;
    }
    if ((e = env_file_read(path, path, &ec.files[1], errbuf, errlen)))
        goto out;
    ec.nfiles = 2;
    e = config_load_from(ret, env_get, &ec, errbuf, errlen);
out:
    for (int i = 0; i < 2; i++)
        env_file_free(&ec.files[i]);
    return e;
}

/* ----------------------------------------------------------- run time -- */

/* See config.h. Brackets around an IPv6 host and one trailing dot (FQDN form)
 * are ignored; NULL, empty and over-long hosts are refused. */
bool config_host_allowed(const struct config *c, const char *host)
{
    char h[256];
    if (!host || strlen(host) >= sizeof(h))
        return false;
    strip_brackets(host, h, sizeof(h));
    size_t hl = strlen(h);
    if (hl > 0 && h[hl - 1] == '.')
        h[--hl] = '\0';
    if (hl == 0)
        return false;
    for (int i = 0; i < c->allowed_hosts.n; i++) {
        char ent[256];
        strip_brackets(c->allowed_hosts.items[i], ent, sizeof(ent));
        size_t el = strlen(ent);
        if (strcmp(ent, "*") == 0)
            return true;
        if (ent[0] == '.' && el > 1) {
            if (strcasecmp(h, ent + 1) == 0)
                return true;
            if (hl > el && strcasecmp(h + hl - el, ent) == 0)
                return true;
            continue;
        }
        if (strcasecmp(h, ent) == 0)
            return true;
    }
    return false;
}

/* See config.h. An IPv4-mapped IPv6 address (::ffff:a.b.c.d, as a dual-stack
 * socket reports IPv4 clients) is compared as the IPv4 address. */
bool config_origin_trusted(const struct config *c, const char *origin)
{
    if (!origin)
        return false;
    for (int i = 0; i < c->csrf_trusted_origins.n; i++)
        if (strcasecmp(c->csrf_trusted_origins.items[i], origin) == 0)
            return true;
    return false;
}

bool config_proxy_trusted(const struct config *c, const char *ip)
{
    unsigned char a[16] = {0};
    int fam;
    if (!ip)
        return false;
    if (inet_pton(AF_INET, ip, a) == 1) {
        fam = AF_INET;
    } else if (inet_pton(AF_INET6, ip, a) == 1) {
        static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        fam = AF_INET6;
        if (memcmp(a, mapped, sizeof(mapped)) == 0) {
            memmove(a, a + 12, 4);
            memset(a + 4, 0, 12);
            fam = AF_INET;
        }
    } else {
        return false;
    }
    for (int i = 0; i < c->trusted_proxies.n; i++) {
        int efam, pfx;
        unsigned char ea[16];
        if (!parse_cidr(c->trusted_proxies.items[i], &efam, ea, &pfx))
            continue;
        if (efam == fam && prefix_equal(a, ea, pfx))
            return true;
    }
    return false;
}
