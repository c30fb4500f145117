/* config.h - the server's configuration, read from the environment and .env. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"
#include "core/limits.h"

#define CONFIG_LIST_MAX 32 /* entries in ALLOWED_HOSTS, CSRF_TRUSTED_ORIGINS, TRUSTED_PROXIES */

struct host_list {
    int n;
    char items[CONFIG_LIST_MAX][256];
};

struct config {
    char data_dir[1024];            /* DATA_DIR [./data], made absolute */
    char db_url[2048];              /* DB_URL [sqlite:///$DATA_DIR/db.sqlite3] */
    int max_conn_per_ip;            /* MAX_CONNECTIONS_PER_IP [100], 0 = unlimited */
    int64_t db_wait;                /* DB_WAIT seconds to wait for the database at start [60] */
    char secret_key[256];           /* SECRET_KEY; "" = load/generate in DATA_DIR/secret_key */
    char bind_host[256];            /* BIND / GUNICORN_BIND host part [127.0.0.1] */
    int bind_port;                  /* BIND port [8000] */
    int threads;                    /* THREADS / GUNICORN_WORKERS [cores] */
    int idle_timeout;               /* IDLE_TIMEOUT / GUNICORN_TIMEOUT seconds [3600] */
    int64_t max_upload_size;        /* MAX_UPLOAD_SIZE bytes [0 = no limit] */
    int64_t storage_min_free;       /* STORAGE_MIN_FREE bytes [1 GiB] */
    int upload_attempts;            /* UPLOAD_ATTEMPTS [5], 0..100 */
    int64_t upload_token_ttl;       /* UPLOAD_TOKEN_TTL seconds [7d]; 0 = never expires */
    int64_t upload_resume_ttl;      /* UPLOAD_RESUME_TTL seconds [24h]: a resumable upload
                                       without progress for this long is removed */
    struct host_list allowed_hosts; /* ALLOWED_HOSTS [localhost,127.0.0.1,::1]; "*" = any */
    struct host_list csrf_trusted_origins; /* CSRF_TRUSTED_ORIGINS [] */
    struct host_list trusted_proxies;      /* TRUSTED_PROXIES [] : IPs or CIDRs */
    char tz[128];                          /* TZ [UTC] */
    int log_level;             /* LOG_LEVEL / GUNICORN_LOGLEVEL [info], enum log_level */
    bool debug;                /* DEBUG [false] */
    bool require_2fa;          /* REQUIRE_2FA [true] */
    int64_t session_lifetime;  /* SESSION_LIFETIME seconds [24h]: absolute expiry of a session */
    int64_t session_idle;      /* SESSION_IDLE_TIMEOUT seconds [4h]: expiry without requests */
    char admin_username[151];  /* ADMIN_USERNAME [""] */
    char admin_password[4097]; /* ADMIN_PASSWORD [""] */

    /* events, notifications, metrics (issue 14) */
    int64_t events_keep;         /* EVENTS_KEEP seconds [365d]; 0 = forever */
    bool webhook_allow_private;  /* WEBHOOK_ALLOW_PRIVATE [false] */
    int64_t webhook_timeout;     /* WEBHOOK_TIMEOUT seconds [10], 1..300 */
    int64_t webhook_retry_delay; /* WEBHOOK_RETRY_DELAY seconds [10]: first retry, doubling */
    char smtp_url[1024]; /* SMTP_URL [""]: smtp://host:587 or smtps://host:465; "" = no mail */
    char smtp_from[LIMIT_EMAIL + 1]; /* SMTP_FROM [""]: required with SMTP_URL */
    char smtp_user[256];             /* SMTP_USER [""] */
    char smtp_password[1024];        /* SMTP_PASSWORD [""] */
    bool smtp_starttls;              /* SMTP_STARTTLS [true]: smtp:// must upgrade to TLS */
    int64_t mail_quiet;      /* MAIL_QUIET seconds [60]: no upload for this long, then mail */
    char public_url[512];    /* PUBLIC_URL [""]: the console's base URL in mails */
    char metrics_token[256]; /* METRICS_TOKEN [""]: bearer token GET /metrics needs */
};

/*
 * Fills *ret from the process environment, after loading KEY=VALUE lines from
 * `.env` in the working directory and then `$DATA_DIR/.env` (variables already
 * in the environment win; the first file wins over the second). Applies the
 * reference's aliases (GUNICORN_BIND, GUNICORN_WORKERS, GUNICORN_TIMEOUT,
 * GUNICORN_LOGLEVEL) when the primary name is unset.
 * On a bad value returns ERR_CONFIG and writes one line naming the variable
 * into errbuf, e.g. "BIND: port must be 1..65535, got \"99999\"".
 * Does not touch the file system except reading the .env files.
 */
enum err config_load(struct config *ret, char *errbuf, size_t errlen);

/* Same, from an explicit getenv-like lookup (for tests); no .env files read. */
enum err config_load_from(struct config *ret, const char *(*get)(const char *name, void *ctx),
                          void *ctx, char *errbuf, size_t errlen);

/* Parsers shared with the rest of the program. Each returns false on a bad value. */
bool config_parse_bool(const char *s, bool *ret);
/* "1024", "10K", "10KiB", "5M", "5MB", "1G", "1GiB", "2T" (binary multiples), >= 0. */
bool config_parse_size(const char *s, int64_t *ret);
/* "3600", "90s", "15m", "12h", "7d", "2w" -> seconds, >= 0. */
bool config_parse_duration(const char *s, int64_t *ret);
/* "host:port", "[v6]:port", ":port", "port", "unix:" is refused. */
bool config_parse_bind(const char *s, char *host, size_t hostlen, int *port);

/* The kinds of database a DB_URL can name, by its scheme. */
enum db_kind {
    DB_UNKNOWN = 0,
    DB_SQLITE,   /* sqlite:///relative/path, sqlite:////absolute/path */
    DB_POSTGRES, /* postgres://, postgresql://, and the reference's psql:// and pgsql:// */
};
/* The kind of database url names (case-insensitive scheme); DB_UNKNOWN for a
 * scheme no backend takes or a string without "://". The one list of schemes. */
enum db_kind config_db_kind(const char *url);
/* For a sqlite URL, true with *ret_path pointing at its file path inside url. */
bool config_sqlite_path(const char *url, const char **ret_path);

/* True when host (port already stripped) matches an ALLOWED_HOSTS entry:
 * exact (case-insensitive), ".example.com" for the domain and subdomains, "*". */
bool config_host_allowed(const struct config *c, const char *host);
/* True when origin (an Origin header: scheme://host[:port]) is listed in
 * CSRF_TRUSTED_ORIGINS (case-insensitive, exact). */
bool config_origin_trusted(const struct config *c, const char *origin);
/* True when ip (text) is in TRUSTED_PROXIES (exact address or CIDR). */
bool config_proxy_trusted(const struct config *c, const char *ip);
