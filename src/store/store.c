/* store.c - every store.h operation, written once over the backends' db.h layer. */
#include <stddef.h>
#include <stdio.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/config.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/util.h"
#include "store/db.h"

/* Rows per page of store_archive_each. */
#define ARCHIVE_EACH_PAGE 64

/* The backend of each kind of DB_URL (the schemes are listed once, in
 * core/config.c: config_db_kind). */
static const struct db_ops *backend_of(enum db_kind kind)
{
    switch (kind) {
    case DB_SQLITE:
        return &sqlite_db_ops;
    case DB_POSTGRES:
        return &pg_db_ops;
    case DB_UNKNOWN:
        break;
    }
    return NULL;
}

/* --- the statements: portable SQL, "?" placeholders --- */

/* Times are plain columns: each backend reads them with col_time (SQLite
 * stores integer microseconds, PostgreSQL timestamptz). */
#define USER_COLUMNS(u)                                                                            \
    u "id, " u "username, " u "password_hash, " u "is_admin, " u "is_active, " u "name, " u        \
      "email, " u "created, " u "last_login, " u "totp_secret, " u "totp_enabled, " u              \
      "totp_last_counter, " u "upload_mail"
#define USER_SELECT "SELECT " USER_COLUMNS("") " FROM users"

#define PLATFORM_COLS   "id, name, pretty_name, keep_days, resolve_days, notify_emails"
#define PLATFORM_SELECT "SELECT " PLATFORM_COLS " FROM platforms"

/* The archive count and size are correlated subqueries over the archives_ticket_id
 * index: they run only for the rows of the returned page, whereas a LEFT JOIN on
 * an aggregated subquery makes SQLite aggregate the whole archives table first. */
#define TICKET_SELECT                                                                              \
    "SELECT t.id, t.number, t.platform_id, coalesce(p.name, ''), t.user_id,"                       \
    " coalesce(u.username, ''), t.resolved, t.note, t.token, t.attempts, t.expires_at,"            \
    " t.time_create, t.time_update,"                                                               \
    " (SELECT count(*) FROM archives a WHERE a.ticket_id = t.id),"                                 \
    " (SELECT CAST(coalesce(sum(a.size), 0) AS bigint) FROM archives a WHERE a.ticket_id = t.id)," \
    " t.resolved_at FROM tickets t LEFT JOIN platforms p ON p.id = t.platform_id"                  \
    " LEFT JOIN users u ON u.id = t.user_id"

/* ticket_id is NOT NULL with a foreign key, so the join always finds the ticket. */
#define ARCHIVE_FROM " FROM archives a JOIN tickets t ON t.id = a.ticket_id"
#define ARCHIVE_SELECT                                                                             \
    "SELECT a.id, a.ticket_id, t.number, a.name, a.path, a.size, a.md5, a.sha256,"                 \
    " a.uploader_ip, a.uploader_agent, a.time_create, a.time_update" ARCHIVE_FROM

/* The columns read_event reads, from col on. */
#define EVENT_COLS                                                                                 \
    "e.id, e.time, e.kind, e.actor_type, e.actor, e.client_ip, e.user_agent, e.ticket, e.archive," \
    " e.detail"
#define EVENT_NCOLS 10

#define WEBHOOK_SELECT                                                                             \
    "SELECT w.id, w.url, w.events, w.secret, w.active, w.created,"                                 \
    " (SELECT count(*) FROM webhook_deliveries d WHERE d.webhook_id = w.id"                        \
    " AND d.state = 'pending'),"                                                                   \
    " (SELECT count(*) FROM webhook_deliveries d WHERE d.webhook_id = w.id"                        \
    " AND d.state = 'failed') FROM webhooks w"

/* Microseconds in a day, for the retention days of a platform (SQLite: times
 * are integers; PostgreSQL overrides with intervals). */
#define DAY_US "86400000000"

#define PLATFORM_ID_SQL "SELECT id FROM platforms WHERE name = ?"

#define UPLOAD_SELECT                                                                              \
    "SELECT u.id, u.ticket_id, t.number, coalesce(CAST(u.token AS text), ''),"                     \
    " coalesce(u.user_id, 0), u.name,"                                                             \
    " u.filetype, u.metadata, u.length, u.uploader_ip, u.uploader_agent, u.expires_at,"            \
    " u.time_create, u.time_update, coalesce(u.archive_id, 0), coalesce(a.sha256, '')"             \
    " FROM uploads u JOIN tickets t ON t.id = u.ticket_id"                                         \
    " LEFT JOIN archives a ON a.id = u.archive_id"
#define TICKET_ID_SQL "SELECT id FROM tickets WHERE number = ?"

const struct db_stmt db_stmts[ST__MAX] = {
    [ST_PING] = {"ping", "SELECT 1"},
    [ST_SCHEMA_EXISTS] = {"schema version", NULL},
    [ST_SCHEMA_CREATE] = {"migrate", NULL},
    [ST_MIGRATE_LOCK] = {"migrate lock", NULL},
    [ST_SCHEMA_COUNT] = {"schema version", "SELECT count(*) FROM schema_migrations"},
    [ST_MIGRATION_PRESENT] = {"migrate",
                              "SELECT count(*) FROM schema_migrations WHERE version = ?"},
    [ST_MIGRATION_DONE] = {"migrate",
                           "INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)"},
    [ST_USER_INSERT] =
        {"user create",
         "INSERT INTO users (username, password_hash, is_admin, is_active, name,"
         " email, created, last_login) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id"},
    [ST_USER_BY_NAME] = {"user get", USER_SELECT " WHERE username = ?"},
    [ST_USER_BY_ID] = {"user get", USER_SELECT " WHERE id = ?"},
    [ST_USER_SET_PASSWORD] = {"user set password",
                              "UPDATE users SET password_hash = ? WHERE username = ?"},
    [ST_USER_TOUCH] = {"user touch login", "UPDATE users SET last_login = ? WHERE id = ?"},
    [ST_USER_DELETE] = {"user delete", "DELETE FROM users WHERE username = ?"},
    [ST_USER_LIST] = {"user list", USER_SELECT " ORDER BY id"},
    [ST_USER_COUNT] = {"user count", "SELECT count(*) FROM users"},
    [ST_USER_UPDATE] = {"user update", "UPDATE users SET name = ?, email = ?, is_admin = ?,"
                                       " is_active = ?, upload_mail = ? WHERE id = ?"},
    [ST_USER_TOTP_BEGIN] = {"user totp begin",
                            "UPDATE users SET totp_secret = ?, totp_last_counter = NULL"
                            " WHERE id = ? AND NOT totp_enabled"},
    [ST_USER_TOTP_ENABLE] = {"user totp enable",
                             "UPDATE users SET totp_enabled = ?, totp_last_counter = ?"
                             " WHERE id = ? AND totp_secret IS NOT NULL AND NOT totp_enabled"},
    [ST_USER_TOTP_DISABLE] = {"user totp disable",
                              "UPDATE users SET totp_secret = NULL, totp_enabled = ?,"
                              " totp_last_counter = NULL WHERE id = ?"},
    /* The replay rule in the WHERE clause: one code (time step) is taken once. */
    [ST_USER_TOTP_ACCEPT] = {"user totp accept",
                             "UPDATE users SET totp_last_counter = ? WHERE id = ? AND totp_enabled"
                             " AND (totp_last_counter IS NULL OR totp_last_counter < ?)"},
    [ST_BACKUP_DELETE] = {"backup codes delete", "DELETE FROM backup_codes WHERE user_id = ?"},
    [ST_BACKUP_INSERT] = {"backup codes create",
                          "INSERT INTO backup_codes (user_id, code_hash) VALUES (?, ?)"},
    [ST_BACKUP_USE] = {"backup code use",
                       "UPDATE backup_codes SET used_at = ? WHERE user_id = ? AND code_hash = ?"
                       " AND used_at IS NULL"},
    [ST_BACKUP_LEFT] = {"backup codes left", "SELECT count(*) FROM backup_codes"
                                             " WHERE user_id = ? AND used_at IS NULL"},
    [ST_SESSION_INSERT] = {"session create",
                           "INSERT INTO sessions (id_hash, user_id, second_factor, created,"
                           " last_seen) VALUES (?, ?, ?, ?, ?)"},
    [ST_SESSION_GET] =
        {"session get",
         "SELECT s.id_hash, s.user_id, s.second_factor, s.created, s.last_seen, " USER_COLUMNS(
             "u.") " FROM sessions s JOIN users u ON u.id = s.user_id"
                   " WHERE s.id_hash = ?"},
    [ST_SESSION_TOUCH] = {"session touch", "UPDATE sessions SET last_seen = ? WHERE id_hash = ?"},
    [ST_SESSION_DELETE] = {"session delete", "DELETE FROM sessions WHERE id_hash = ?"},
    [ST_SESSION_DELETE_USER] = {"session delete user",
                                "DELETE FROM sessions WHERE user_id = ? AND id_hash <> ?"},
    [ST_SESSION_PURGE] = {"session purge",
                          "DELETE FROM sessions WHERE created < ? OR last_seen < ?"},
    [ST_PLATFORM_LIST] = {"platform list", PLATFORM_SELECT " ORDER BY id"},
    [ST_PLATFORM_GET] = {"platform get", PLATFORM_SELECT " WHERE name = ?"},
    [ST_PLATFORM_ID] = {"platform id", PLATFORM_ID_SQL},
    [ST_PLATFORM_LOCK] = {"platform lock", PLATFORM_ID_SQL},
    /* Where the write transaction locks the whole database there is nothing to lock. */
    [ST_PLATFORM_LOCK_TICKETS] = {"platform lock tickets", DB_SKIP},
    [ST_PLATFORM_INSERT] = {"platform create",
                            "INSERT INTO platforms (name, pretty_name, keep_days, resolve_days,"
                            " notify_emails) VALUES (?, ?, ?, ?, ?) RETURNING " PLATFORM_COLS},
    [ST_PLATFORM_UPDATE] = {"platform update",
                            "UPDATE platforms SET name = ?, pretty_name = ?, keep_days = ?,"
                            " resolve_days = ?, notify_emails = ? WHERE name = ?"
                            " RETURNING " PLATFORM_COLS},
    [ST_PLATFORM_PATHS] = {"platform paths",
                           "SELECT a.path" ARCHIVE_FROM " WHERE t.platform_id = ? ORDER BY a.id"},
    [ST_PLATFORM_DELETE] = {"platform delete", "DELETE FROM platforms WHERE id = ?"},
    [ST_PLATFORM_COUNTS] = {"platform counts",
                            "SELECT (SELECT count(*) FROM tickets t WHERE t.platform_id = p.id),"
                            " (SELECT count(*)" ARCHIVE_FROM " WHERE t.platform_id = p.id),"
                            " (SELECT CAST(coalesce(sum(a.size), 0) AS bigint)" ARCHIVE_FROM
                            " WHERE t.platform_id = p.id) FROM platforms p WHERE p.name = ?"},
    [ST_TICKET_BY_NUMBER] = {"ticket get", TICKET_SELECT " WHERE t.number = ?"},
    [ST_TICKET_BY_TOKEN] = {"ticket get", TICKET_SELECT " WHERE t.token = ?"},
    [ST_TICKET_BY_ID] = {"ticket get", TICKET_SELECT " WHERE t.id = ?"},
    [ST_TICKET_ID] = {"ticket id", TICKET_ID_SQL},
    [ST_TICKET_LOCK] = {"ticket lock", TICKET_ID_SQL},
    [ST_TICKET_INSERT] =
        {"ticket create",
         "INSERT INTO tickets (number, platform_id, user_id, resolved, note, token,"
         " attempts, expires_at, time_create, time_update, resolved_at)"
         " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id"},
    /* resolved_at: set when the ticket becomes resolved, kept while it stays so */
    [ST_TICKET_UPDATE] = {"ticket update",
                          "UPDATE tickets SET number = ?, platform_id = ?, resolved = ?, note = ?,"
                          " attempts = ?, expires_at = ?, time_update = ?,"
                          " resolved_at = CASE WHEN ? THEN coalesce(resolved_at, ?) ELSE NULL END"
                          " WHERE id = ?"},
    [ST_TICKET_SET_TOKEN] = {"ticket set token",
                             "UPDATE tickets SET token = ?, attempts = ?, expires_at = ?,"
                             " time_update = ? WHERE id = ?"},
    [ST_TICKET_PATHS] = {"ticket paths",
                         "SELECT path FROM archives WHERE ticket_id = ? ORDER BY id"},
    [ST_TICKET_DELETE] = {"ticket delete", "DELETE FROM tickets WHERE id = ?"},
    /* The whole token rule in the WHERE clause: concurrent consumers (in any
     * process) serialize on the row, and each one re-checks the condition on
     * the row as the previous one left it. */
    [ST_TOKEN_CONSUME] = {"token consume",
                          "UPDATE tickets SET attempts = attempts - 1, time_update = ?"
                          " WHERE token = ? AND attempts > 0 AND NOT resolved"
                          " AND (expires_at IS NULL OR expires_at > ?) RETURNING id"},
    [ST_TOKEN_REFUND] = {"token refund",
                         "UPDATE tickets SET attempts = CASE WHEN attempts < ? THEN attempts + 1"
                         " ELSE attempts END, time_update = ? WHERE token = ?"},
    [ST_ARCHIVE_INSERT] = {"archive create",
                           "INSERT INTO archives (ticket_id, name, path, size, md5, sha256,"
                           " uploader_ip, uploader_agent, time_create, time_update)"
                           " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id"},
    [ST_ARCHIVE_BY_ID] = {"archive get", ARCHIVE_SELECT " WHERE a.id = ?"},
    [ST_ARCHIVE_BY_PATH] = {"archive get", ARCHIVE_SELECT " WHERE a.path = ?"},
    [ST_ARCHIVE_MOVE] = {"archive move",
                         "UPDATE archives SET ticket_id = ?, path = ?, name = ?, time_update = ?"
                         " WHERE id = ?"},
    [ST_ARCHIVE_DELETE] = {"archive delete", "DELETE FROM archives WHERE id = ? RETURNING path"},
    [ST_ARCHIVE_PATH_EXISTS] = {"archive path exists",
                                "SELECT EXISTS (SELECT 1 FROM archives WHERE path = ?)"},
    /* Keyset paging: each page is a short read, nothing stays open between pages. */
    [ST_ARCHIVE_PAGE] = {"archive each", ARCHIVE_SELECT " WHERE a.id > ? ORDER BY a.id LIMIT ?"},
    [ST_COUNTS] = {"counts",
                   "SELECT (SELECT count(*) FROM users), (SELECT count(*) FROM platforms),"
                   " (SELECT count(*) FROM tickets), (SELECT count(*) FROM archives)"},
    /* The bulk copy: every column given, ids included. */
    [ST_IMPORT_USER] = {"import user",
                        "INSERT INTO users (id, username, password_hash, is_admin, is_active,"
                        " name, email, created, last_login, totp_secret, totp_enabled,"
                        " totp_last_counter) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"},
    [ST_IMPORT_PLATFORM] = {"import platform",
                            "INSERT INTO platforms (id, name, pretty_name) VALUES (?, ?, ?)"},
    [ST_IMPORT_TICKET] = {"import ticket",
                          "INSERT INTO tickets (id, number, platform_id, user_id, resolved, note,"
                          " token, attempts, expires_at, time_create, time_update)"
                          " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"},
    [ST_IMPORT_ARCHIVE] = {"import archive",
                           "INSERT INTO archives (id, ticket_id, name, path, size, md5, sha256,"
                           " uploader_ip, uploader_agent, time_create, time_update)"
                           " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"},
    /* Where an explicit id moves the generator itself there is nothing to do. */
    [ST_IMPORT_FINISH] = {"import finish", DB_SKIP},
    [ST_UPLOAD_INSERT] =
        {"upload create",
         "INSERT INTO uploads (id, ticket_id, token, user_id, name, filetype,"
         " metadata, length, uploader_ip, uploader_agent, expires_at,"
         " time_create, time_update) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"},
    [ST_UPLOAD_BY_ID] = {"upload get", UPLOAD_SELECT " WHERE u.id = ?"},
    [ST_UPLOAD_TOUCH] = {"upload touch",
                         "UPDATE uploads SET expires_at = ?, time_update = ? WHERE id = ?"},
    [ST_UPLOAD_DELETE] = {"upload delete", "DELETE FROM uploads WHERE id = ?"},
    [ST_UPLOAD_FINISHED] = {"upload finish", "UPDATE uploads SET archive_id = ?, time_update = ?"
                                             " WHERE id = ? AND archive_id IS NULL"},
    /* staff uploads (token NULL) do not depend on the token's state */
    [ST_UPLOAD_STALE] = {"upload stale",
                         "SELECT u.id FROM uploads u JOIN tickets t ON t.id = u.ticket_id"
                         " WHERE u.expires_at <= ? OR (u.archive_id IS NULL AND (t.resolved"
                         " OR (u.token IS NOT NULL AND (u.token <> t.token"
                         " OR (t.expires_at IS NOT NULL AND t.expires_at <= ?)))))"
                         " ORDER BY u.expires_at LIMIT ?"},
    [ST_UPLOAD_EXISTS] = {"upload exists", "SELECT EXISTS (SELECT 1 FROM uploads WHERE id = ?)"},
    [ST_EVENT_INSERT] =
        {"event add", "INSERT INTO events (time, kind, actor_type, actor, client_ip, user_agent,"
                      " ticket, archive, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id"},
    /* Kinds are matched in the ",a,b," list with LIKE's wildcards escaped; a
     * test event (a webhook id given) goes to that webhook alone, active or not. */
    [ST_EVENT_FANOUT] = {"event deliveries",
                         "INSERT INTO webhook_deliveries (webhook_id, event_id, next_at, created)"
                         " SELECT id, CAST(? AS BIGINT), ?, ? FROM webhooks WHERE"
                         " CASE WHEN CAST(? AS BIGINT) > 0 THEN id = CAST(? AS BIGINT)"
                         " ELSE active AND (events = ''"
                         " OR events LIKE '%,' || CAST(? AS TEXT) || ',%' ESCAPE '\\') END"},
    [ST_MAIL_QUEUE] = {"mail queue",
                       "INSERT INTO mail_queue (ticket, event_id, created) VALUES (?, ?, ?)"},
    [ST_EVENT_PRUNE] = {"event prune", "DELETE FROM events WHERE time < ?"},
    [ST_WEBHOOK_INSERT] = {"webhook create",
                           "INSERT INTO webhooks (url, events, secret, active, created)"
                           " VALUES (?, ?, ?, ?, ?) RETURNING id"},
    [ST_WEBHOOK_COUNT] = {"webhook count", "SELECT count(*) FROM webhooks"},
    [ST_WEBHOOK_BY_ID] = {"webhook get", WEBHOOK_SELECT " WHERE w.id = ?"},
    [ST_WEBHOOK_LIST] = {"webhook list", WEBHOOK_SELECT " ORDER BY w.id"},
    [ST_WEBHOOK_UPDATE] = {"webhook update",
                           "UPDATE webhooks SET url = ?, events = ?, active = ? WHERE id = ?"},
    [ST_WEBHOOK_DELETE] = {"webhook delete", "DELETE FROM webhooks WHERE id = ?"},
    /* The outer conditions are checked again on the row as a concurrent
     * claimer left it, so a row is never leased twice. */
    [ST_DELIVERY_CLAIM] = {"delivery claim",
                           "UPDATE webhook_deliveries SET lease_owner = ?, lease_until = ?"
                           " WHERE id = (SELECT id FROM webhook_deliveries WHERE state = 'pending'"
                           " AND next_at <= ? AND (lease_until IS NULL OR lease_until < ?)"
                           " ORDER BY next_at, id LIMIT 1)"
                           " AND state = 'pending' AND (lease_until IS NULL OR lease_until < ?)"
                           " RETURNING id"},
    [ST_DELIVERY_BY_ID] =
        {"delivery get",
         "SELECT d.id, d.webhook_id, d.attempts, d.created, w.url, w.secret, " EVENT_COLS
         " FROM webhook_deliveries d"
         " JOIN webhooks w ON w.id = d.webhook_id"
         " JOIN events e ON e.id = d.event_id WHERE d.id = ?"},
    [ST_ATTEMPT_INSERT] = {"delivery attempt",
                           "INSERT INTO webhook_attempts (delivery_id, time, status, error,"
                           " duration_ms) VALUES (?, ?, ?, ?, ?)"},
    [ST_DELIVERY_UPDATE] = {"delivery finish",
                            "UPDATE webhook_deliveries SET state = ?, attempts = attempts + 1,"
                            " next_at = ?, lease_owner = '', lease_until = NULL"
                            " WHERE id = ? AND lease_owner = ?"},
    [ST_DELIVERY_LOG] = {"delivery log",
                         "SELECT d.id, d.event_id, e.kind, d.state, d.next_at, coalesce(a.id, 0),"
                         " a.time, coalesce(a.status, 0), coalesce(a.error, ''),"
                         " coalesce(a.duration_ms, 0) FROM webhook_deliveries d"
                         " JOIN events e ON e.id = d.event_id"
                         " LEFT JOIN webhook_attempts a ON a.delivery_id = d.id"
                         " WHERE d.webhook_id = ? ORDER BY d.id DESC, a.id DESC LIMIT ? OFFSET ?"},
    [ST_DELIVERY_LOG_COUNT] = {"delivery log count",
                               "SELECT count(*) FROM webhook_deliveries d"
                               " LEFT JOIN webhook_attempts a ON a.delivery_id = d.id"
                               " WHERE d.webhook_id = ?"},
    [ST_DELIVERY_PENDING] = {"delivery pending",
                             "SELECT count(*) FROM webhook_deliveries WHERE state = 'pending'"},
    /* The first ticket whose mail is due; the outer condition is checked again
     * on rows a concurrent claimer changed. */
    [ST_MAIL_CLAIM] = {"mail claim",
                       "UPDATE mail_queue SET lease_owner = ?, lease_until = ?"
                       " WHERE ticket = (SELECT ticket FROM mail_queue"
                       " WHERE lease_until IS NULL OR lease_until < ? GROUP BY ticket"
                       " HAVING max(created) <= ? OR min(created) <= ? ORDER BY min(id) LIMIT 1)"
                       " AND (lease_until IS NULL OR lease_until < ?) RETURNING ticket"},
    [ST_MAIL_ROWS] = {"mail rows", "SELECT m.id, m.ticket, m.attempts, m.created, " EVENT_COLS
                                   " FROM mail_queue m JOIN events e ON e.id = m.event_id"
                                   " WHERE m.lease_owner = ? AND m.ticket = ? ORDER BY m.id"},
    [ST_MAIL_DONE] = {"mail done", "DELETE FROM mail_queue WHERE lease_owner = ? AND ticket = ?"},
    [ST_MAIL_RETRY] = {"mail retry",
                       "UPDATE mail_queue SET lease_until = ?, attempts = attempts + 1"
                       " WHERE lease_owner = ? AND ticket = ?"},
    [ST_RETENTION_ARCHIVES] =
        {"retention archives",
         "SELECT a.id, t.number, p.name, a.name, a.size,"
         " coalesce(t.resolved_at, t.time_update) FROM archives a"
         " JOIN tickets t ON t.id = a.ticket_id"
         " JOIN platforms p ON p.id = t.platform_id"
         " WHERE p.keep_days > 0 AND t.resolved AND"
         " coalesce(t.resolved_at, t.time_update) <= ? - p.keep_days * " DAY_US " ORDER BY a.id"},
    [ST_RETENTION_TICKETS] = {"retention tickets",
                              "SELECT t.number FROM tickets t"
                              " JOIN platforms p ON p.id = t.platform_id"
                              " WHERE p.resolve_days > 0 AND NOT t.resolved AND"
                              " t.time_update <= ? - p.resolve_days * " DAY_US
                              " ORDER BY t.number"},
};

const char *db_stmt_sql(const struct db_ops *ops, enum stmt_id id)
{
    const char *own = ops->sql ? ops->sql[id] : NULL;
    return own ? own : db_stmts[id].sql;
}

/* --- running work: transactions, statements, rows --- */

/*
 * Runs fn on a connection of s in a transaction of that mode. When the
 * backend finds that the connection was lost before anything could have been
 * applied, fn runs once more on another connection; so fn resets its outputs
 * when it starts, frees what it allocated when it fails, and the caller hands
 * its outputs on only when this returns ERR_OK.
 */
static enum err tx(struct store *s, enum db_mode mode, db_fn *fn, void *ctx)
{
    const struct db_ops *ops = s->ops;
    for (int attempt = 0;; attempt++) {
        struct db_conn *c;
        enum err e = ops->take(s, &c);
        if (e) {
            metrics_add(MET_STORE_ERRORS, 1);
            return e;
        }
        e = ops->begin(c, mode);
        if (!e)
            e = ops->end(c, mode, fn(c, ctx));
        bool again = attempt == 0 && e && ops->retryable(c, e);
        ops->give(s, c);
        if (!again && (e == ERR_DB || e == ERR_UNAVAILABLE || e == ERR_NO_SPACE))
            metrics_add(MET_STORE_ERRORS, 1);
        if (!again)
            return e;
        log_info("%s: retrying once after the lost connection", ops->name);
    }
}

/* Runs statement id on c; see db_ops.exec. */
static enum err run(struct db_conn *c, enum stmt_id id, const struct db_arg *args, size_t nargs,
                    db_row_fn *fn, void *ctx, int64_t *ret_n)
{
    return c->ops->exec(c, id, args, nargs, fn, ctx, ret_n);
}

static int64_t col_int(const struct db_row *r, int col)
{
    return r->ops->col_int64(r, col);
}

static bool col_bool(const struct db_row *r, int col)
{
    return r->ops->col_bool(r, col);
}

static int64_t col_time(const struct db_row *r, int col)
{
    return r->ops->col_time(r, col);
}

/* Copies column col into dst (cap bytes, truncated). */
static void col_text(const struct db_row *r, int col, char *dst, size_t cap)
{
    char buf[DB_TEXT_BUF];
    (void)str_copy(dst, cap, r->ops->col_text(r, col, buf));
}

/* A heap copy of column col into *ret; ERR_NOMEM. */
static enum err col_dup(const struct db_row *r, int col, char **ret)
{
    char buf[DB_TEXT_BUF];
    char *dup = strdup(r->ops->col_text(r, col, buf));
    if (!dup)
        return ERR_NOMEM;
    *ret = dup;
    return ERR_OK;
}

/* One kind of result row: its size, how it is read (dst written only on
 * success; ERR_NOMEM) and how what it holds is released (NULL: nothing). */
struct row_type {
    size_t size;
    enum err (*read)(const struct db_row *r, void *dst);
    void (*clear)(void *item);
};

/* The USER_COLUMNS of a row, from column `at` on. */
static void read_user_at(const struct db_row *r, int at, struct user *u)
{
    memset(u, 0, sizeof(*u));
    u->id = col_int(r, at);
    col_text(r, at + 1, u->username, sizeof(u->username));
    col_text(r, at + 2, u->password_hash, sizeof(u->password_hash));
    u->is_admin = col_bool(r, at + 3);
    u->is_active = col_bool(r, at + 4);
    col_text(r, at + 5, u->name, sizeof(u->name));
    col_text(r, at + 6, u->email, sizeof(u->email));
    u->created = col_time(r, at + 7);
    u->last_login = col_time(r, at + 8);
    col_text(r, at + 9, u->totp_secret, sizeof(u->totp_secret));
    u->totp_enabled = col_bool(r, at + 10);
    u->totp_last_counter = col_int(r, at + 11);
    u->upload_mail = col_bool(r, at + 12);
}

/* The rows of USER_SELECT. */
static enum err read_user(const struct db_row *r, void *dst)
{
    read_user_at(r, 0, dst);
    return ERR_OK;
}

/* A session with its user (ST_SESSION_GET). */
struct session_user {
    struct session s;
    struct user u;
};

static enum err read_session_user(const struct db_row *r, void *dst)
{
    struct session_user *x = dst;
    memset(&x->s, 0, sizeof(x->s));
    col_text(r, 0, x->s.id_hash, sizeof(x->s.id_hash));
    x->s.user_id = col_int(r, 1);
    x->s.second_factor = col_bool(r, 2);
    x->s.created = col_time(r, 3);
    x->s.last_seen = col_time(r, 4);
    read_user_at(r, 5, &x->u);
    return ERR_OK;
}

/* The rows of PLATFORM_SELECT and of RETURNING id, name, pretty_name. */
static enum err read_platform(const struct db_row *r, void *dst)
{
    struct platform *p = dst;
    memset(p, 0, sizeof(*p));
    p->id = col_int(r, 0);
    col_text(r, 1, p->name, sizeof(p->name));
    col_text(r, 2, p->pretty_name, sizeof(p->pretty_name));
    p->keep_days = (int)col_int(r, 3);
    p->resolve_days = (int)col_int(r, 4);
    col_text(r, 5, p->notify_emails, sizeof(p->notify_emails));
    return ERR_OK;
}

/* The rows of TICKET_SELECT; the ticket then owns its note. */
static enum err read_ticket(const struct db_row *r, void *dst)
{
    char *note;
    enum err e = col_dup(r, 7, &note);
    if (e)
        return e;
    struct ticket *t = dst;
    memset(t, 0, sizeof(*t));
    t->note = note;
    t->id = col_int(r, 0);
    t->number = col_int(r, 1);
    t->platform_id = col_int(r, 2);
    col_text(r, 3, t->platform, sizeof(t->platform));
    t->user_id = col_int(r, 4);
    col_text(r, 5, t->user, sizeof(t->user));
    t->resolved = col_bool(r, 6);
    col_text(r, 8, t->token, sizeof(t->token));
    t->attempts = (int)col_int(r, 9);
    t->expires_at = col_time(r, 10);
    t->time_create = col_time(r, 11);
    t->time_update = col_time(r, 12);
    t->archives = col_int(r, 13);
    t->size = col_int(r, 14);
    t->resolved_at = col_time(r, 15);
    return ERR_OK;
}

static void clear_ticket(void *item)
{
    store_ticket_clear(item);
}

/* The rows of ARCHIVE_SELECT. */
static enum err read_archive(const struct db_row *r, void *dst)
{
    struct archive *a = dst;
    memset(a, 0, sizeof(*a));
    a->id = col_int(r, 0);
    a->ticket_id = col_int(r, 1);
    a->ticket_number = col_int(r, 2);
    col_text(r, 3, a->name, sizeof(a->name));
    col_text(r, 4, a->path, sizeof(a->path));
    a->size = col_int(r, 5);
    col_text(r, 6, a->md5, sizeof(a->md5));
    col_text(r, 7, a->sha256, sizeof(a->sha256));
    col_text(r, 8, a->uploader_ip, sizeof(a->uploader_ip));
    col_text(r, 9, a->uploader_agent, sizeof(a->uploader_agent));
    a->time_create = col_time(r, 10);
    a->time_update = col_time(r, 11);
    return ERR_OK;
}

static enum err read_upload(const struct db_row *r, void *dst)
{
    struct upload_row *u = dst;
    memset(u, 0, sizeof(*u));
    col_text(r, 0, u->id, sizeof(u->id));
    u->ticket_id = col_int(r, 1);
    u->ticket_number = col_int(r, 2);
    col_text(r, 3, u->token, sizeof(u->token));
    u->user_id = col_int(r, 4);
    col_text(r, 5, u->name, sizeof(u->name));
    col_text(r, 6, u->filetype, sizeof(u->filetype));
    col_text(r, 7, u->metadata, sizeof(u->metadata));
    u->length = col_int(r, 8);
    col_text(r, 9, u->uploader_ip, sizeof(u->uploader_ip));
    col_text(r, 10, u->uploader_agent, sizeof(u->uploader_agent));
    u->expires_at = col_time(r, 11);
    u->time_create = col_time(r, 12);
    u->time_update = col_time(r, 13);
    u->archive_id = col_int(r, 14);
    col_text(r, 15, u->archive_sha256, sizeof(u->archive_sha256));
    return ERR_OK;
}

static enum err read_upload_id(const struct db_row *r, void *dst)
{
    col_text(r, 0, dst, UPLOAD_ID_LEN + 1);
    return ERR_OK;
}

/* EVENT_COLS from column `at` on. */
static void read_event_at(const struct db_row *r, int at, struct event *ev)
{
    memset(ev, 0, sizeof(*ev));
    ev->id = col_int(r, at);
    ev->time = col_time(r, at + 1);
    col_text(r, at + 2, ev->kind, sizeof(ev->kind));
    col_text(r, at + 3, ev->actor_type, sizeof(ev->actor_type));
    col_text(r, at + 4, ev->actor, sizeof(ev->actor));
    col_text(r, at + 5, ev->client_ip, sizeof(ev->client_ip));
    col_text(r, at + 6, ev->user_agent, sizeof(ev->user_agent));
    ev->ticket = col_int(r, at + 7);
    ev->archive = col_int(r, at + 8);
    col_text(r, at + 9, ev->detail, sizeof(ev->detail));
}

static enum err read_event(const struct db_row *r, void *dst)
{
    read_event_at(r, 0, dst);
    return ERR_OK;
}

/* The rows of WEBHOOK_SELECT. */
static enum err read_webhook(const struct db_row *r, void *dst)
{
    struct webhook *w = dst;
    memset(w, 0, sizeof(*w));
    w->id = col_int(r, 0);
    col_text(r, 1, w->url, sizeof(w->url));
    col_text(r, 2, w->events, sizeof(w->events));
    col_text(r, 3, w->secret, sizeof(w->secret));
    w->active = col_bool(r, 4);
    w->created = col_time(r, 5);
    w->pending = col_int(r, 6);
    w->failed = col_int(r, 7);
    return ERR_OK;
}

/* The row of ST_DELIVERY_BY_ID. */
static enum err read_delivery(const struct db_row *r, void *dst)
{
    struct delivery *d = dst;
    memset(d, 0, sizeof(*d));
    d->id = col_int(r, 0);
    d->webhook_id = col_int(r, 1);
    d->attempts = (int)col_int(r, 2);
    d->created = col_time(r, 3);
    col_text(r, 4, d->url, sizeof(d->url));
    col_text(r, 5, d->secret, sizeof(d->secret));
    read_event_at(r, 6, &d->ev);
    return ERR_OK;
}

/* The rows of ST_DELIVERY_LOG. */
static enum err read_delivery_log(const struct db_row *r, void *dst)
{
    struct delivery_log *l = dst;
    memset(l, 0, sizeof(*l));
    l->delivery_id = col_int(r, 0);
    l->event_id = col_int(r, 1);
    col_text(r, 2, l->kind, sizeof(l->kind));
    col_text(r, 3, l->state, sizeof(l->state));
    l->next_at = col_time(r, 4);
    l->attempt_id = col_int(r, 5);
    l->time = col_time(r, 6);
    l->status = (int)col_int(r, 7);
    col_text(r, 8, l->error, sizeof(l->error));
    l->duration_ms = col_int(r, 9);
    return ERR_OK;
}

/* The rows of ST_MAIL_ROWS. */
static enum err read_mail_item(const struct db_row *r, void *dst)
{
    struct mail_item *m = dst;
    memset(m, 0, sizeof(*m));
    m->id = col_int(r, 0);
    m->ticket = col_int(r, 1);
    m->attempts = (int)col_int(r, 2);
    m->created = col_time(r, 3);
    read_event_at(r, 4, &m->ev);
    return ERR_OK;
}

/* The rows of ST_RETENTION_ARCHIVES. */
static enum err read_retention(const struct db_row *r, void *dst)
{
    struct retention_item *it = dst;
    memset(it, 0, sizeof(*it));
    it->archive_id = col_int(r, 0);
    it->ticket = col_int(r, 1);
    col_text(r, 2, it->platform, sizeof(it->platform));
    col_text(r, 3, it->name, sizeof(it->name));
    it->size = col_int(r, 4);
    it->resolved_at = col_time(r, 5);
    return ERR_OK;
}

static enum err read_int64(const struct db_row *r, void *dst)
{
    *(int64_t *)dst = col_int(r, 0);
    return ERR_OK;
}

static enum err read_bool(const struct db_row *r, void *dst)
{
    *(bool *)dst = col_bool(r, 0);
    return ERR_OK;
}

static enum err read_counts(const struct db_row *r, void *dst)
{
    struct store_counts *n = dst;
    n->users = col_int(r, 0);
    n->platforms = col_int(r, 1);
    n->tickets = col_int(r, 2);
    n->archives = col_int(r, 3);
    return ERR_OK;
}

/* Columns 0, 1 and 2 into an int64_t[3]. */
static enum err read_int64x3(const struct db_row *r, void *dst)
{
    int64_t *v = dst;
    for (int i = 0; i < 3; i++)
        v[i] = col_int(r, i);
    return ERR_OK;
}

/* Column 0, a path, into a char[sizeof(struct archive.path)]. */
static enum err read_path(const struct db_row *r, void *dst)
{
    col_text(r, 0, dst, sizeof(((struct archive *)0)->path));
    return ERR_OK;
}

/* Column 0, a path, as a new heap string into a char *. */
static enum err read_path_dup(const struct db_row *r, void *dst)
{
    return col_dup(r, 0, dst);
}

static void clear_path_dup(void *item)
{
    free(*(char **)item);
}

static const struct row_type USER_ROW = {sizeof(struct user), read_user, NULL};
static const struct row_type SESSION_USER_ROW = {sizeof(struct session_user), read_session_user,
                                                 NULL};
static const struct row_type PLATFORM_ROW = {sizeof(struct platform), read_platform, NULL};
static const struct row_type TICKET_ROW = {sizeof(struct ticket), read_ticket, clear_ticket};
static const struct row_type ARCHIVE_ROW = {sizeof(struct archive), read_archive, NULL};
static const struct row_type UPLOAD_ROW = {sizeof(struct upload_row), read_upload, NULL};
static const struct row_type UPLOAD_ID_ROW = {UPLOAD_ID_LEN + 1, read_upload_id, NULL};
static const struct row_type INT64_ROW = {sizeof(int64_t), read_int64, NULL};
static const struct row_type INT64X3_ROW = {3 * sizeof(int64_t), read_int64x3, NULL};
static const struct row_type BOOL_ROW = {sizeof(bool), read_bool, NULL};
static const struct row_type COUNTS_ROW = {sizeof(struct store_counts), read_counts, NULL};
static const struct row_type PATH_ROW = {sizeof(((struct archive *)0)->path), read_path, NULL};
static const struct row_type PATH_DUP_ROW = {sizeof(char *), read_path_dup, clear_path_dup};
static const struct row_type EVENT_ROW = {sizeof(struct event), read_event, NULL};
static const struct row_type WEBHOOK_ROW = {sizeof(struct webhook), read_webhook, NULL};
static const struct row_type DELIVERY_ROW = {sizeof(struct delivery), read_delivery, NULL};
static const struct row_type DELIVERY_LOG_ROW = {sizeof(struct delivery_log), read_delivery_log,
                                                 NULL};
static const struct row_type MAIL_ROW = {sizeof(struct mail_item), read_mail_item, NULL};
static const struct row_type RETENTION_ROW = {sizeof(struct retention_item), read_retention, NULL};

/* Room for one row of any type. */
union row_buf {
    struct upload_row up;
    struct user u;
    struct session_user su;
    struct platform p;
    struct ticket t;
    struct archive a;
    struct store_counts n;
    struct webhook w;
    struct delivery d;
    int64_t i, i3[3];
    bool b;
    char path[sizeof(((struct archive *)0)->path)];
};

/* The first row of a statement, read into dst. */
struct first {
    const struct row_type *type;
    void *dst;
    bool got;
};

static enum err first_row(const struct db_row *r, void *ctx)
{
    struct first *f = ctx;
    if (f->got)
        return ERR_OK;
    enum err e = f->type->read(r, f->dst);
    f->got = !e;
    return e;
}

/* Runs id on c and reads its first row into dst. ERR_NOT_FOUND when it
 * returns none; on any error dst holds nothing to release. */
static enum err get_in(struct db_conn *c, enum stmt_id id, const struct db_arg *args, size_t nargs,
                       const struct row_type *type, void *dst)
{
    struct first f = {type, dst, false};
    enum err e = run(c, id, args, nargs, first_row, &f, NULL);
    if (e && f.got && type->clear)
        type->clear(dst);
    return e ? e : f.got ? ERR_OK : ERR_NOT_FOUND;
}

/* Runs the write id on c; ERR_NOT_FOUND when it changed no row. */
static enum err write_in(struct db_conn *c, enum stmt_id id, const struct db_arg *args,
                         size_t nargs)
{
    int64_t changed = 0;
    enum err e = run(c, id, args, nargs, NULL, NULL, &changed);
    return e ? e : changed ? ERR_OK : ERR_NOT_FOUND;
}

/* After a write in the same transaction: when want, reads row id with the
 * statement by_id into out; the row must be there. */
static enum err written(struct db_conn *c, enum stmt_id by_id, const struct row_type *type,
                        int64_t id, bool want, void *out)
{
    if (!want)
        return ERR_OK;
    struct db_arg args[] = {arg_int(id)};
    enum err e = get_in(c, by_id, args, 1, type, out);
    return e == ERR_NOT_FOUND ? ERR_DB : e;
}

/* Rows collected into a growing array of type->size entries. */
struct collect {
    const struct row_type *type;
    char *items;
    size_t n, cap;
};

static enum err collect_row(const struct db_row *r, void *ctx)
{
    struct collect *k = ctx;
    if (k->n == k->cap) {
        size_t cap = k->cap ? 2 * k->cap : 16;
        char *p = reallocarray(k->items, cap, k->type->size);
        if (!p)
            return ERR_NOMEM;
        k->items = p;
        k->cap = cap;
    }
    enum err e = k->type->read(r, k->items + k->n * k->type->size);
    if (!e)
        k->n++;
    return e;
}

/* Frees the collected rows and empties k. */
static void collect_free(struct collect *k)
{
    for (size_t i = 0; k->type->clear && i < k->n; i++)
        k->type->clear(k->items + i * k->type->size);
    free(k->items);
    k->items = NULL;
    k->n = k->cap = 0;
}

/* Runs statement id or (when sql is not NULL) the one-off text sql, named
 * what, on c and collects every row into k (emptied first). Never leaves
 * k->items NULL on success, even without rows. */
static enum err collect_in(struct db_conn *c, enum stmt_id id, const char *what, const char *sql,
                           const struct db_arg *args, size_t nargs, struct collect *k)
{
    collect_free(k);
    enum err e = sql ? c->ops->exec_sql(c, what, sql, args, nargs, collect_row, k, NULL)
                     : run(c, id, args, nargs, collect_row, k, NULL);
    if (!e && !k->items && !(k->items = calloc(1, k->type->size)))
        e = ERR_NOMEM;
    if (e)
        collect_free(k);
    return e;
}

/* --- events, written in the transaction of the change they record --- */

/* `kind` with LIKE's wildcards escaped (\\ as the escape) into out. */
static void like_escape(const char *kind, char *out, size_t cap)
{
    size_t o = 0;
    for (const char *p = kind; *p && o + 2 < cap; p++) {
        if (*p == '%' || *p == '_' || *p == '\\')
            out[o++] = '\\';
        out[o++] = *p;
    }
    out[o] = 0;
}

/*
 * Inserts ev (nothing when NULL) on c, inside the caller's transaction: its
 * ticket and archive default to the given ones (those of the row just
 * written), then one delivery per webhook that wants it and, with ev->mail,
 * its row in the mail queue. *ret_id (may be NULL) gets the event's id.
 */
static enum err event_in(struct db_conn *c, const struct event *ev, int64_t ticket, int64_t archive,
                         int64_t *ret_id)
{
    if (!ev)
        return ERR_OK;
    int64_t id, now = now_us(), when = ev->time ? ev->time : now;
    int64_t tk = ev->ticket ? ev->ticket : ticket;
    struct db_arg args[] = {
        arg_time(when),
        arg_text(ev->kind),
        arg_text(ev->actor_type),
        arg_text(ev->actor),
        arg_text(ev->client_ip),
        arg_text(ev->user_agent),
        arg_opt_int(tk),
        arg_opt_int(ev->archive ? ev->archive : archive),
        arg_text(ev->detail[0] ? ev->detail : "{}"),
    };
    enum err e = get_in(c, ST_EVENT_INSERT, args, ARRAY_SIZE(args), &INT64_ROW, &id);
    if (e)
        return e == ERR_NOT_FOUND ? ERR_DB : e;
    char kind[2 * LIMIT_EVENT_KIND + 1];
    like_escape(ev->kind, kind, sizeof(kind));
    struct db_arg fan[] = {arg_int(id),          arg_time(now),        arg_time(now),
                           arg_int(ev->webhook), arg_int(ev->webhook), arg_text(kind)};
    e = run(c, ST_EVENT_FANOUT, fan, ARRAY_SIZE(fan), NULL, NULL, NULL);
    if (!e && ev->mail && tk) {
        struct db_arg mail[] = {arg_int(tk), arg_int(id), arg_time(now)};
        e = run(c, ST_MAIL_QUEUE, mail, ARRAY_SIZE(mail), NULL, NULL, NULL);
    }
    if (!e && ret_id)
        *ret_id = id;
    return e;
}

/* One statement as a whole piece of work: a query (or a write ... RETURNING)
 * whose first row goes to dst, a write (type NULL) that must change a row, or
 * a list collected into k. */
struct one {
    enum stmt_id id;
    const struct db_arg *args;
    size_t nargs;
    const struct row_type *type;
    void *dst;
    struct collect k;
    const struct event *ev; /* inserted after the statement, in its transaction */
};

static enum err one_get(struct db_conn *c, void *ctx)
{
    struct one *o = ctx;
    enum err e = o->type ? get_in(c, o->id, o->args, o->nargs, o->type, o->dst)
                         : write_in(c, o->id, o->args, o->nargs);
    if (!e && (e = event_in(c, o->ev, 0, 0, NULL)) && o->type && o->type->clear)
        o->type->clear(o->dst);
    return e;
}

static enum err one_list(struct db_conn *c, void *ctx)
{
    struct one *o = ctx;
    return collect_in(c, o->id, NULL, NULL, o->args, o->nargs, &o->k);
}

/* Runs the one-statement query id and reads its first row into *ret (may be
 * NULL), written only on success. ERR_NOT_FOUND when there is no row. With an
 * event ev (a write ... RETURNING), both in one transaction. */
static enum err get_row_ev(struct store *s, enum stmt_id id, const struct db_arg *args,
                           size_t nargs, const struct row_type *type, const struct event *ev,
                           void *ret)
{
    union row_buf buf;
    struct one o = {id, args, nargs, type, &buf, {0}, ev};
    enum err e = tx(s, ev ? DB_WRITE : DB_AUTO, one_get, &o);
    if (!e && ret)
        memcpy(ret, &buf, type->size);
    else if (!e && type->clear)
        type->clear(&buf);
    return e;
}

static enum err get_row(struct store *s, enum stmt_id id, const struct db_arg *args, size_t nargs,
                        const struct row_type *type, void *ret)
{
    return get_row_ev(s, id, args, nargs, type, NULL, ret);
}

/* Runs the one-statement write id (and the event ev, when given, in its
 * transaction); ERR_NOT_FOUND when it changed no row. */
static enum err write_row_ev(struct store *s, enum stmt_id id, const struct db_arg *args,
                             size_t nargs, const struct event *ev)
{
    struct one o = {id, args, nargs, NULL, NULL, {0}, ev};
    return tx(s, ev ? DB_WRITE : DB_AUTO, one_get, &o);
}

static enum err write_row(struct store *s, enum stmt_id id, const struct db_arg *args, size_t nargs)
{
    return write_row_ev(s, id, args, nargs, NULL);
}

/* Every row of the query id, as a new array the caller frees. */
static enum err list_rows(struct store *s, enum stmt_id id, const struct row_type *type,
                          void **ret_items, size_t *ret_n)
{
    struct one o = {id, NULL, 0, type, NULL, {type, NULL, 0, 0}, NULL};
    enum err e = tx(s, DB_AUTO, one_list, &o);
    if (e)
        return e;
    *ret_items = o.k.items;
    *ret_n = o.k.n;
    return ERR_OK;
}

/* --- lifecycle --- */

enum err store_open(const char *url, const struct store_options *opt, struct store **ret_store)
{
    if (!url || !ret_store) {
        log_error("store: no database URL");
        return ERR_CONFIG;
    }
    const struct db_ops *ops = backend_of(config_db_kind(url));
    if (!ops) {
        /* The URL may carry a password: name only the scheme part. */
        const char *sep = strstr(url, "://");
        log_error("store: unsupported DB_URL scheme \"%.*s\" (expected sqlite:///path or "
                  "postgres://...)",
                  sep ? (int)(sep - url) : 0, url);
        return ERR_CONFIG;
    }
    struct store_options defaults = {0};
    struct store *s;
    enum err e = ops->open(url, opt ? opt : &defaults, &s);
    if (e)
        return e;
    pthread_mutex_init(&s->lock, NULL);
    int wait = opt ? opt->archive_wait : 0;
    s->archive_wait = wait < 0 ? 0 : wait ? wait : LIMIT_ARCHIVE_ROW_WAIT;
    *ret_store = s;
    return ERR_OK;
}

void store_close(struct store *s)
{
    if (!s)
        return;
    if (s->import) { /* an import never ended: roll it back */
        (void)s->ops->end(s->import, DB_WRITE, ERR_INTERNAL);
        s->ops->give(s, s->import);
    }
    pthread_mutex_destroy(&s->lock);
    s->ops->close(s);
}

/* Reads the number of applied migrations (0 before the first) into *(int *)ctx. */
static enum err applied_count(struct db_conn *c, void *ctx)
{
    bool exists = false;
    int64_t n = 0;
    enum err e = get_in(c, ST_SCHEMA_EXISTS, NULL, 0, &BOOL_ROW, &exists);
    if (!e && exists)
        e = get_in(c, ST_SCHEMA_COUNT, NULL, 0, &INT64_ROW, &n);
    if (e)
        return e == ERR_NOT_FOUND ? ERR_DB : e;
    *(int *)ctx = (int)n;
    return ERR_OK;
}

enum err store_schema_version(struct store *s, int *ret_version)
{
    if (!s || !ret_version)
        return ERR_INTERNAL;
    int v = 0;
    enum err e = tx(s, DB_AUTO, applied_count, &v);
    if (!e)
        *ret_version = v;
    return e;
}

/* One migration: version in, whether it ran here out. */
struct migration {
    int version;
    bool done;
};

/* Applies the migration unless it already is, with its schema_migrations row,
 * under the backend's migration lock: processes migrating together apply each
 * migration once (the later ones find it done). */
static enum err migrate_one(struct db_conn *c, void *ctx)
{
    struct migration *m = ctx;
    struct db_arg args[] = {arg_int(m->version), arg_time(now_us())};
    int64_t present = 0;
    m->done = false;
    enum err e = run(c, ST_MIGRATE_LOCK, NULL, 0, NULL, NULL, NULL);
    if (!e)
        e = run(c, ST_SCHEMA_CREATE, NULL, 0, NULL, NULL, NULL);
    if (!e)
        e = get_in(c, ST_MIGRATION_PRESENT, args, 1, &INT64_ROW, &present);
    if (e || present)
        return e;
    e = c->ops->script(c, c->ops->migrations[m->version - 1]);
    if (e) {
        log_error("%s: migration %d failed", c->ops->name, m->version);
        return e;
    }
    e = run(c, ST_MIGRATION_DONE, args, 2, NULL, NULL, NULL);
    m->done = !e;
    return e;
}

enum err store_migrate(struct store *s, int *ret_applied)
{
    if (!s)
        return ERR_INTERNAL;
    int have = 0, applied = 0, latest = s->ops->nmigrations;
    enum err e = tx(s, DB_AUTO, applied_count, &have);
    if (e)
        return e;
    if (have > latest) {
        log_error("%s: the database schema (version %d) is newer than this program (%d)",
                  s->ops->name, have, latest);
        return ERR_DB;
    }
    for (int v = have + 1; v <= latest; v++) {
        struct migration m = {v, false};
        e = tx(s, DB_WRITE, migrate_one, &m);
        if (e)
            return e;
        applied += m.done;
    }
    if (ret_applied)
        *ret_applied = applied;
    return ERR_OK;
}

enum err store_ping(struct store *s)
{
    if (!s)
        return ERR_UNAVAILABLE;
    int64_t one;
    return get_row(s, ST_PING, NULL, 0, &INT64_ROW, &one) ? ERR_UNAVAILABLE : ERR_OK;
}

/* --- users --- */

enum err store_user_create(struct store *s, const struct user *u, const struct event *ev,
                           int64_t *ret_id)
{
    if (!s || !u)
        return ERR_INTERNAL;
    struct db_arg args[] = {
        arg_text(u->username),  arg_text(u->password_hash),  arg_bool(u->is_admin),
        arg_bool(u->is_active), arg_text(u->name),           arg_text(u->email),
        arg_time(now_us()),     arg_opt_time(u->last_login),
    };
    enum err e = get_row_ev(s, ST_USER_INSERT, args, ARRAY_SIZE(args), &INT64_ROW, ev, ret_id);
    return e == ERR_NOT_FOUND ? ERR_DB : e;
}

enum err store_user_get(struct store *s, const char *username, struct user *ret)
{
    if (!s || !username || !ret)
        return ERR_INTERNAL;
    struct db_arg args[] = {arg_text(username)};
    return get_row(s, ST_USER_BY_NAME, args, 1, &USER_ROW, ret);
}

enum err store_user_get_by_id(struct store *s, int64_t id, struct user *ret)
{
    if (!s || !ret)
        return ERR_INTERNAL;
    struct db_arg args[] = {arg_int(id)};
    return get_row(s, ST_USER_BY_ID, args, 1, &USER_ROW, ret);
}

enum err store_user_set_password(struct store *s, const char *username, const char *hash,
                                 const struct event *ev)
{
    if (!s || !username || !hash)
        return ERR_INTERNAL;
    struct db_arg args[] = {arg_text(hash), arg_text(username)};
    return write_row_ev(s, ST_USER_SET_PASSWORD, args, 2, ev);
}

enum err store_user_touch_login(struct store *s, int64_t id, int64_t now, const struct event *ev)
{
    if (!s)
        return ERR_INTERNAL;
    struct db_arg args[] = {arg_opt_time(now), arg_int(id)};
    return write_row_ev(s, ST_USER_TOUCH, args, 2, ev);
}

enum err store_user_delete(struct store *s, const char *username, const struct event *ev)
{
    if (!s || !username)
        return ERR_INTERNAL;
    struct db_arg args[] = {arg_text(username)};
    return write_row_ev(s, ST_USER_DELETE, args, 1, ev);
}

enum err store_user_list(struct store *s, struct user **ret_items, size_t *ret_n)
{
    if (!s || !ret_items || !ret_n)
        return ERR_INTERNAL;
    return list_rows(s, ST_USER_LIST, &USER_ROW, (void **)ret_items, ret_n);
}

enum err store_user_count(struct store *s, int64_t *ret_n)
{
    if (!s || !ret_n)
        return ERR_INTERNAL;
    enum err e = get_row(s, ST_USER_COUNT, NULL, 0, &INT64_ROW, ret_n);
    return e == ERR_NOT_FOUND ? ERR_DB : e;
}

enum err store_user_update(struct store *s, int64_t id, const struct user *u,
                           const struct event *ev)
{
    if (!s || !u)
        return ERR_INTERNAL;
    struct db_arg args[] = {arg_text(u->name),      arg_text(u->email),       arg_bool(u->is_admin),
                            arg_bool(u->is_active), arg_bool(u->upload_mail), arg_int(id)};
    return write_row_ev(s, ST_USER_UPDATE, args, ARRAY_SIZE(args), ev);
}

enum err store_user_totp_begin(struct store *s, int64_t id, const char *secret)
{
    if (!s || !secret || !*secret)
        return ERR_INTERNAL;
    struct db_arg args[] = {arg_text(secret), arg_int(id)};
    return write_row(s, ST_USER_TOTP_BEGIN, args, ARRAY_SIZE(args));
}

/* A user's 2FA change: the user row's statement, then its backup codes
 * replaced by `hashes` (n of them; none with n == 0). */
struct totp_change {
    enum stmt_id id;
    const struct db_arg *args;
    size_t nargs;
    int64_t user_id;
    const char (*hashes)[65];
    size_t n;
    const struct event *ev;
};

/* Replaces the backup codes of the user by the hashes given, on c. */
static enum err codes_replace(struct db_conn *c, int64_t user_id, const char (*hashes)[65],
                              size_t n)
{
    struct db_arg del[] = {arg_int(user_id)};
    enum err e = run(c, ST_BACKUP_DELETE, del, 1, NULL, NULL, NULL);
    for (size_t i = 0; !e && i < n; i++) {
        struct db_arg ins[] = {arg_int(user_id), arg_text(hashes[i])};
        e = run(c, ST_BACKUP_INSERT, ins, 2, NULL, NULL, NULL);
    }
    return e;
}

static enum err totp_change_run(struct db_conn *c, void *ctx)
{
    struct totp_change *x = ctx;
    enum err e = x->id == ST__MAX ? ERR_OK : write_in(c, x->id, x->args, x->nargs);
    if (!e)
        e = codes_replace(c, x->user_id, x->hashes, x->n);
    return e ? e : event_in(c, x->ev, 0, 0, NULL);
}

enum err store_user_totp_enable(struct store *s, int64_t id, int64_t counter,
                                const char (*hashes)[65], size_t n, const struct event *ev)
{
    if (!s || (n && !hashes))
        return ERR_INTERNAL;
    struct db_arg args[] = {arg_bool(true), arg_opt_int(counter), arg_int(id)};
    struct totp_change x = {ST_USER_TOTP_ENABLE, args, ARRAY_SIZE(args), id, hashes, n, ev};
    return tx(s, DB_WRITE, totp_change_run, &x);
}

enum err store_user_totp_disable(struct store *s, int64_t id, const struct event *ev)
{
    if (!s)
        return ERR_INTERNAL;
    struct db_arg args[] = {arg_bool(false), arg_int(id)};
    struct totp_change x = {ST_USER_TOTP_DISABLE, args, ARRAY_SIZE(args), id, NULL, 0, ev};
    return tx(s, DB_WRITE, totp_change_run, &x);
}

enum err store_user_totp_accept(struct store *s, int64_t id, int64_t counter)
{
    if (!s)
        return ERR_INTERNAL;
    struct db_arg args[] = {arg_int(counter), arg_int(id), arg_int(counter)};
    return write_row(s, ST_USER_TOTP_ACCEPT, args, ARRAY_SIZE(args));
}

enum err store_backup_codes_set(struct store *s, int64_t user_id, const char (*hashes)[65],
                                size_t n, const struct event *ev)
{
    if (!s || (n && !hashes))
        return ERR_INTERNAL;
    struct totp_change x = {ST__MAX, NULL, 0, user_id, hashes, n, ev};
    return tx(s, DB_WRITE, totp_change_run, &x);
}

enum err store_backup_code_use(struct store *s, int64_t user_id, const char *hash, int64_t now)
{
    if (!s || !hash)
        return ERR_INTERNAL;
    struct db_arg args[] = {arg_time(now), arg_int(user_id), arg_text(hash)};
    return write_row(s, ST_BACKUP_USE, args, ARRAY_SIZE(args));
}

enum err store_backup_codes_left(struct store *s, int64_t user_id, int64_t *ret_n)
{
    if (!s || !ret_n)
        return ERR_INTERNAL;
    struct db_arg args[] = {arg_int(user_id)};
    enum err e = get_row(s, ST_BACKUP_LEFT, args, 1, &INT64_ROW, ret_n);
    return e == ERR_NOT_FOUND ? ERR_DB : e;
}

/* --- sessions --- */

static enum err session_insert(struct db_conn *c, const struct session *x)
{
    struct db_arg args[] = {arg_text(x->id_hash), arg_int(x->user_id), arg_bool(x->second_factor),
                            arg_time(x->created), arg_time(x->last_seen)};
    return run(c, ST_SESSION_INSERT, args, ARRAY_SIZE(args), NULL, NULL, NULL);
}

/* A session replacing another (old may be NULL). */
struct session_swap {
    const char *old;
    const struct session *x;
};

static enum err session_swap_run(struct db_conn *c, void *ctx)
{
    struct session_swap *w = ctx;
    if (w->old) {
        struct db_arg args[] = {arg_text(w->old)};
        enum err e = run(c, ST_SESSION_DELETE, args, 1, NULL, NULL, NULL);
        if (e)
            return e;
    }
    return session_insert(c, w->x);
}

enum err store_session_create(struct store *s, const struct session *x)
{
    return store_session_rotate(s, NULL, x);
}

enum err store_session_rotate(struct store *s, const char *old_hash, const struct session *x)
{
    if (!s || !x)
        return ERR_INTERNAL;
    struct session_swap w = {old_hash, x};
    return tx(s, old_hash ? DB_WRITE : DB_AUTO, session_swap_run, &w);
}

enum err store_session_get(struct store *s, const char *id_hash, struct session *ret,
                           struct user *ret_user)
{
    if (!s || !id_hash || !ret || !ret_user)
        return ERR_INTERNAL;
    struct db_arg args[] = {arg_text(id_hash)};
    struct session_user x;
    enum err e = get_row(s, ST_SESSION_GET, args, 1, &SESSION_USER_ROW, &x);
    if (e)
        return e;
    *ret = x.s;
    *ret_user = x.u;
    return ERR_OK;
}

enum err store_session_touch(struct store *s, const char *id_hash, int64_t now)
{
    if (!s || !id_hash)
        return ERR_INTERNAL;
    struct db_arg args[] = {arg_time(now), arg_text(id_hash)};
    return write_row(s, ST_SESSION_TOUCH, args, ARRAY_SIZE(args));
}

enum err store_session_delete(struct store *s, const char *id_hash)
{
    if (!s || !id_hash)
        return ERR_INTERNAL;
    struct db_arg args[] = {arg_text(id_hash)};
    return write_row(s, ST_SESSION_DELETE, args, 1);
}

enum err store_session_delete_user(struct store *s, int64_t user_id, const char *keep_hash)
{
    if (!s)
        return ERR_INTERNAL;
    struct db_arg args[] = {arg_int(user_id), arg_text(keep_hash ? keep_hash : "")};
    enum err e = write_row(s, ST_SESSION_DELETE_USER, args, ARRAY_SIZE(args));
    return e == ERR_NOT_FOUND ? ERR_OK : e;
}

enum err store_session_purge(struct store *s, int64_t created_before, int64_t seen_before)
{
    if (!s)
        return ERR_INTERNAL;
    struct db_arg args[] = {arg_time(created_before), arg_time(seen_before)};
    enum err e = write_row(s, ST_SESSION_PURGE, args, ARRAY_SIZE(args));
    return e == ERR_NOT_FOUND ? ERR_OK : e;
}

/* --- platforms --- */

enum err store_platform_list(struct store *s, struct platform **ret_items, size_t *ret_n)
{
    if (!s || !ret_items || !ret_n)
        return ERR_INTERNAL;
    return list_rows(s, ST_PLATFORM_LIST, &PLATFORM_ROW, (void **)ret_items, ret_n);
}

enum err store_platform_get(struct store *s, const char *name, struct platform *ret)
{
    if (!s || !name || !ret)
        return ERR_INTERNAL;
    struct db_arg args[] = {arg_text(name)};
    return get_row(s, ST_PLATFORM_GET, args, 1, &PLATFORM_ROW, ret);
}

enum err store_platform_create(struct store *s, const struct platform *p, const struct event *ev,
                               struct platform *ret)
{
    if (!s || !p)
        return ERR_INTERNAL;
    struct db_arg args[] = {arg_text(p->name), arg_text(p->pretty_name), arg_int(p->keep_days),
                            arg_int(p->resolve_days), arg_text(p->notify_emails)};
    enum err e = get_row_ev(s, ST_PLATFORM_INSERT, args, ARRAY_SIZE(args), &PLATFORM_ROW, ev, ret);
    return e == ERR_NOT_FOUND ? ERR_DB : e;
}

enum err store_platform_update(struct store *s, const char *name, const struct platform *p,
                               const struct event *ev, struct platform *ret)
{
    if (!s || !name || !p)
        return ERR_INTERNAL;
    struct db_arg args[] = {arg_text(p->name),          arg_text(p->pretty_name),
                            arg_int(p->keep_days),      arg_int(p->resolve_days),
                            arg_text(p->notify_emails), arg_text(name)};
    return get_row_ev(s, ST_PLATFORM_UPDATE, args, ARRAY_SIZE(args), &PLATFORM_ROW, ev, ret);
}

/*
 * A cascading delete of a platform or a ticket: find and lock the row (lock,
 * one argument: key), lock the rows below it (children; ST__MAX: none),
 * collect the paths of the archives that go with it (paths, when wanted), then
 * delete it (del) and let the schema cascade. The locks make an archive insert
 * under it wait and then fail its foreign key, so that the list holds every
 * path the cascade removes.
 */
struct tree {
    enum stmt_id lock, children, paths, del;
    struct db_arg key;
    bool want;
    struct collect k;       /* out: the paths (char *) */
    const struct event *ev; /* recorded with the delete */
};

static enum err tree_delete(struct db_conn *c, void *ctx)
{
    struct tree *t = ctx;
    int64_t id = 0;
    collect_free(&t->k);
    enum err e = get_in(c, t->lock, &t->key, 1, &INT64_ROW, &id);
    struct db_arg args[] = {arg_int(id)};
    if (!e && t->children != ST__MAX)
        e = run(c, t->children, args, 1, NULL, NULL, NULL);
    if (!e && t->want)
        e = collect_in(c, t->paths, NULL, NULL, args, 1, &t->k);
    if (!e)
        e = write_in(c, t->del, args, 1);
    if (!e)
        e = event_in(c, t->ev, 0, 0, NULL);
    if (e)
        collect_free(&t->k);
    return e;
}

/* Runs t in a write transaction; the paths go to *ret_paths (may be NULL). */
static enum err delete_tree(struct store *s, struct tree *t, struct path_list *ret_paths)
{
    t->k.type = &PATH_DUP_ROW;
    t->want = ret_paths != NULL;
    enum err e = tx(s, DB_WRITE, tree_delete, t);
    if (e) {
        collect_free(&t->k);
        return e;
    }
    if (!ret_paths)
        return ERR_OK;
    ret_paths->n = t->k.n;
    ret_paths->paths = t->k.n ? (char **)t->k.items : NULL;
    if (!t->k.n)
        free(t->k.items);
    return ERR_OK;
}

enum err store_platform_delete(struct store *s, const char *name, const struct event *ev,
                               struct path_list *ret_paths)
{
    if (!s || !name)
        return ERR_INTERNAL;
    struct tree t = {.lock = ST_PLATFORM_LOCK,
                     .children = ST_PLATFORM_LOCK_TICKETS,
                     .paths = ST_PLATFORM_PATHS,
                     .del = ST_PLATFORM_DELETE,
                     .key = arg_text(name),
                     .ev = ev};
    return delete_tree(s, &t, ret_paths);
}

enum err store_platform_counts(struct store *s, const char *name, int64_t *ret_tickets,
                               int64_t *ret_archives, int64_t *ret_bytes)
{
    if (!s || !name || !ret_tickets || !ret_archives || !ret_bytes)
        return ERR_INTERNAL;
    struct db_arg args[] = {arg_text(name)};
    int64_t n[3];
    enum err e = get_row(s, ST_PLATFORM_COUNTS, args, 1, &INT64X3_ROW, n);
    if (e)
        return e;
    *ret_tickets = n[0];
    *ret_archives = n[1];
    *ret_bytes = n[2];
    return ERR_OK;
}

/* --- tickets --- */

enum err store_ticket_get(struct store *s, int64_t number, struct ticket *ret)
{
    if (!s || !ret)
        return ERR_INTERNAL;
    struct db_arg args[] = {arg_int(number)};
    return get_row(s, ST_TICKET_BY_NUMBER, args, 1, &TICKET_ROW, ret);
}

/* True when s is a token as the store writes them, a canonical lower-case
 * UUID: anything else names no ticket (and would not parse as PostgreSQL's uuid). */
static bool is_token(const char *s)
{
    if (strlen(s) != TOKEN_LEN)
        return false;
    for (int i = 0; i < TOKEN_LEN; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        char ch = s[i];
        if (dash ? ch != '-' : !((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f')))
            return false;
    }
    return true;
}

enum err store_ticket_get_by_token(struct store *s, const char *token, struct ticket *ret)
{
    if (!s || !token || !ret)
        return ERR_INTERNAL;
    if (!is_token(token))
        return ERR_NOT_FOUND;
    struct db_arg args[] = {arg_text(token)};
    return get_row(s, ST_TICKET_BY_TOKEN, args, 1, &TICKET_ROW, ret);
}

/* The arguments and the result of the ticket writes. */
struct ticket_write {
    int64_t number; /* of the ticket to change */
    const struct ticket *t;
    const char *token;
    int attempts;
    int64_t expires_at;
    bool want;
    struct ticket out;
    const struct event *ev; /* recorded with the write */
};

/* Looks up the id of the platform called name; ERR_REFERENCE when there is none. */
static enum err platform_ref(struct db_conn *c, const char *name, int64_t *ret_id)
{
    struct db_arg args[] = {arg_text(name)};
    enum err e = get_in(c, ST_PLATFORM_ID, args, 1, &INT64_ROW, ret_id);
    return e == ERR_NOT_FOUND ? ERR_REFERENCE : e;
}

/* The id of the ticket numbered number. */
static enum err ticket_id(struct db_conn *c, int64_t number, int64_t *ret_id)
{
    struct db_arg args[] = {arg_int(number)};
    return get_in(c, ST_TICKET_ID, args, 1, &INT64_ROW, ret_id);
}

static enum err ticket_insert(struct db_conn *c, void *ctx)
{
    struct ticket_write *w = ctx;
    const struct ticket *t = w->t;
    /* the caller's time, when given, so that expires_at and time_create
     * come from one clock reading */
    int64_t platform_id, id, now = t->time_create ? t->time_create : now_us();
    store_ticket_clear(&w->out);
    enum err e = platform_ref(c, t->platform, &platform_id);
    if (e)
        return e;
    struct db_arg args[] = {
        arg_int(t->number),
        arg_int(platform_id),
        arg_opt_int(t->user_id),
        arg_bool(t->resolved),
        arg_text(t->note),
        arg_text(t->token),
        arg_int(t->attempts),
        arg_opt_time(t->expires_at),
        arg_time(now),
        arg_time(now),
        arg_opt_time(t->resolved ? now : 0),
    };
    e = get_in(c, ST_TICKET_INSERT, args, ARRAY_SIZE(args), &INT64_ROW, &id);
    if (!e)
        e = event_in(c, w->ev, t->number, 0, NULL);
    if (e)
        return e == ERR_NOT_FOUND ? ERR_DB : e;
    return written(c, ST_TICKET_BY_ID, &TICKET_ROW, id, w->want, &w->out);
}

static enum err ticket_change(struct db_conn *c, void *ctx)
{
    struct ticket_write *w = ctx;
    const struct ticket *t = w->t;
    int64_t id, platform_id;
    store_ticket_clear(&w->out);
    enum err e = ticket_id(c, w->number, &id);
    if (!e)
        e = platform_ref(c, t->platform, &platform_id);
    if (e)
        return e;
    int64_t now = now_us();
    struct db_arg args[] = {
        arg_int(t->number), arg_int(platform_id),  arg_bool(t->resolved),
        arg_text(t->note),  arg_int(t->attempts),  arg_opt_time(t->expires_at),
        arg_time(now),      arg_bool(t->resolved), arg_time(now),
        arg_int(id),
    };
    e = write_in(c, ST_TICKET_UPDATE, args, ARRAY_SIZE(args));
    if (!e)
        e = event_in(c, w->ev, t->number, 0, NULL);
    return e ? e : written(c, ST_TICKET_BY_ID, &TICKET_ROW, id, w->want, &w->out);
}

static enum err ticket_new_token(struct db_conn *c, void *ctx)
{
    struct ticket_write *w = ctx;
    int64_t id;
    store_ticket_clear(&w->out);
    enum err e = ticket_id(c, w->number, &id);
    if (e)
        return e;
    struct db_arg args[] = {arg_text(w->token), arg_int(w->attempts), arg_opt_time(w->expires_at),
                            arg_time(now_us()), arg_int(id)};
    e = write_in(c, ST_TICKET_SET_TOKEN, args, ARRAY_SIZE(args));
    if (!e)
        e = event_in(c, w->ev, w->number, 0, NULL);
    return e ? e : written(c, ST_TICKET_BY_ID, &TICKET_ROW, id, w->want, &w->out);
}

/* Runs the ticket write fn in a write transaction; *ret (may be NULL) gets the ticket after it. */
static enum err ticket_write(struct store *s, db_fn *fn, struct ticket_write *w, struct ticket *ret)
{
    w->want = ret != NULL;
    enum err e = tx(s, DB_WRITE, fn, w);
    if (e) {
        store_ticket_clear(&w->out);
        return e;
    }
    if (ret)
        *ret = w->out;
    return ERR_OK;
}

enum err store_ticket_create(struct store *s, const struct ticket *t, const struct event *ev,
                             struct ticket *ret)
{
    if (!s || !t)
        return ERR_INTERNAL;
    struct ticket_write w = {.t = t, .ev = ev};
    return ticket_write(s, ticket_insert, &w, ret);
}

enum err store_ticket_update(struct store *s, int64_t number, const struct ticket *t,
                             const struct event *ev, struct ticket *ret)
{
    if (!s || !t)
        return ERR_INTERNAL;
    struct ticket_write w = {.number = number, .t = t, .ev = ev};
    return ticket_write(s, ticket_change, &w, ret);
}

enum err store_ticket_set_token(struct store *s, int64_t number, const char *token, int attempts,
                                int64_t expires_at, const struct event *ev, struct ticket *ret)
{
    if (!s || !token)
        return ERR_INTERNAL;
    struct ticket_write w = {
        .number = number, .token = token, .attempts = attempts, .expires_at = expires_at, .ev = ev};
    return ticket_write(s, ticket_new_token, &w, ret);
}

enum err store_ticket_delete(struct store *s, int64_t number, const struct event *ev,
                             struct path_list *ret_paths)
{
    if (!s)
        return ERR_INTERNAL;
    struct tree t = {.lock = ST_TICKET_LOCK,
                     .children = ST__MAX,
                     .paths = ST_TICKET_PATHS,
                     .del = ST_TICKET_DELETE,
                     .key = arg_int(number),
                     .ev = ev};
    return delete_tree(s, &t, ret_paths);
}

/* --- upload tokens --- */

enum token_state store_token_classify(const struct ticket *t, int64_t now)
{
    if (t->resolved)
        return TOKEN_RESOLVED;
    if (t->attempts <= 0)
        return TOKEN_USED_UP;
    if (t->expires_at && t->expires_at <= now)
        return TOKEN_EXPIRED;
    return TOKEN_OK;
}

/* A token operation: the token and "now" in, its state and ticket out. */
struct token_op {
    const char *token;
    int64_t now;
    bool want; /* the ticket of a successful consume is wanted */
    enum token_state state;
    struct ticket t;        /* the ticket read, whatever its state */
    const struct event *ev; /* consume: recorded with the decrement */
};

/* Reads the ticket of x->token and classifies it (DESIGN.md 6). */
static enum err token_lookup(struct db_conn *c, void *ctx)
{
    struct token_op *x = ctx;
    struct db_arg args[] = {arg_text(x->token)};
    store_ticket_clear(&x->t);
    enum err e = get_in(c, ST_TICKET_BY_TOKEN, args, 1, &TICKET_ROW, &x->t);
    if (e == ERR_NOT_FOUND) {
        x->state = TOKEN_UNKNOWN;
        return ERR_OK;
    }
    if (!e)
        x->state = store_token_classify(&x->t, x->now);
    return e;
}

/* The conditional UPDATE is the whole decision; a refusal is then classified
 * from the row as the UPDATE left it (a write transaction: concurrent
 * consumers queue on the lock), and a success reads the ticket after the
 * decrement, in the same transaction. */
static enum err token_take(struct db_conn *c, void *ctx)
{
    struct token_op *x = ctx;
    struct db_arg args[] = {arg_time(now_us()), arg_text(x->token), arg_time(x->now)};
    int64_t id;
    store_ticket_clear(&x->t);
    enum err e = get_in(c, ST_TOKEN_CONSUME, args, 3, &INT64_ROW, &id);
    if (!e) {
        x->state = TOKEN_OK;
        e = event_in(c, x->ev, 0, 0, NULL);
        return e ? e : written(c, ST_TICKET_BY_ID, &TICKET_ROW, id, x->want, &x->t);
    }
    if (e != ERR_NOT_FOUND)
        return e;
    e = token_lookup(c, x);
    if (!e && x->state == TOKEN_OK) {
        /* The UPDATE and the rules disagree: a row the store could not have
         * written (expires_at 0 instead of NULL). */
        log_error("%s: token consume: ticket %lld refused but usable", c->ops->name,
                  (long long)x->t.number);
        store_ticket_clear(&x->t);
        e = ERR_DB;
    }
    return e;
}

/* Runs the token operation fn; *ret (may be NULL) gets the ticket only when
 * the state is TOKEN_OK. A token the store cannot have written is unknown. */
static enum err token_run(struct store *s, enum db_mode mode, db_fn *fn, const char *token,
                          int64_t now, const struct event *ev, enum token_state *ret_state,
                          struct ticket *ret)
{
    if (!s || !token || !ret_state)
        return ERR_INTERNAL;
    if (!is_token(token)) {
        *ret_state = TOKEN_UNKNOWN;
        return ERR_OK;
    }
    struct token_op x = {token, now, ret != NULL, TOKEN_UNKNOWN, {0}, ev};
    enum err e = tx(s, mode, fn, &x);
    if (!e && x.state == TOKEN_OK && ret)
        *ret = x.t;
    else
        store_ticket_clear(&x.t);
    if (!e)
        *ret_state = x.state;
    return e;
}

enum err store_token_check(struct store *s, const char *token, int64_t now,
                           enum token_state *ret_state, struct ticket *ret)
{
    return token_run(s, DB_AUTO, token_lookup, token, now, NULL, ret_state, ret);
}

enum err store_token_consume(struct store *s, const char *token, int64_t now,
                             const struct event *ev, enum token_state *ret_state,
                             struct ticket *ret)
{
    return token_run(s, DB_WRITE, token_take, token, now, ev, ret_state, ret);
}

enum err store_token_refund(struct store *s, const char *token)
{
    if (!s || !token)
        return ERR_INTERNAL;
    if (!is_token(token))
        return ERR_NOT_FOUND;
    struct db_arg args[] = {arg_int(LIMIT_ATTEMPTS), arg_time(now_us()), arg_text(token)};
    return write_row(s, ST_TOKEN_REFUND, args, ARRAY_SIZE(args));
}

/* --- archives --- */

enum err store_archive_get(struct store *s, int64_t id, struct archive *ret)
{
    if (!s || !ret)
        return ERR_INTERNAL;
    struct db_arg args[] = {arg_int(id)};
    return get_row(s, ST_ARCHIVE_BY_ID, args, 1, &ARCHIVE_ROW, ret);
}

/* The arguments and the result of the archive writes. */
struct archive_write {
    const struct archive *a; /* create */
    const char *upload_id;   /* create: the finished resumable upload whose row goes */
    bool again;              /* create: an earlier try failed, unavailable */
    int64_t id, ticket_number;
    const char *path, *name; /* move */
    bool want;
    struct archive out;
    const struct event *ev; /* recorded with the write */
};

static enum err archive_insert(struct db_conn *c, void *ctx)
{
    struct archive_write *w = ctx;
    const struct archive *a = w->a;
    int64_t id, now = now_us();
    struct db_arg args[] = {
        arg_int(a->ticket_id),
        arg_text(a->name),
        arg_text(a->path),
        arg_int(a->size),
        arg_text(a->md5),
        arg_text(a->sha256),
        arg_text(a->uploader_ip),
        arg_text(a->uploader_agent),
        arg_time(now),
        arg_time(now),
    };
    if (w->again) {
        /* The earlier try may have committed with its answer lost: its row is ours. */
        struct archive had;
        struct db_arg path[] = {arg_text(a->path)};
        enum err e = get_in(c, ST_ARCHIVE_BY_PATH, path, 1, &ARCHIVE_ROW, &had);
        if (!e && had.ticket_id == a->ticket_id && had.size == a->size &&
            strcmp(had.sha256, a->sha256) == 0) {
            w->out = had;
            return ERR_OK;
        }
        if (e && e != ERR_NOT_FOUND)
            return e;
    }
    enum err e = get_in(c, ST_ARCHIVE_INSERT, args, ARRAY_SIZE(args), &INT64_ROW, &id);
    if (!e)
        e = event_in(c, w->ev, 0, id, NULL);
    if (e)
        return e == ERR_NOT_FOUND ? ERR_DB : e;
    return written(c, ST_ARCHIVE_BY_ID, &ARCHIVE_ROW, id, w->want, &w->out);
}

static enum err archive_relink(struct db_conn *c, void *ctx)
{
    struct archive_write *w = ctx;
    int64_t ticket;
    enum err e = ticket_id(c, w->ticket_number, &ticket);
    if (e)
        return e == ERR_NOT_FOUND ? ERR_REFERENCE : e;
    struct db_arg args[] = {arg_int(ticket), arg_text(w->path), arg_text(w->name),
                            arg_time(now_us()), arg_int(w->id)};
    e = write_in(c, ST_ARCHIVE_MOVE, args, ARRAY_SIZE(args));
    if (!e)
        e = event_in(c, w->ev, w->ticket_number, w->id, NULL);
    return e ? e : written(c, ST_ARCHIVE_BY_ID, &ARCHIVE_ROW, w->id, w->want, &w->out);
}

/* Runs the archive write fn in a write transaction; *ret (may be NULL) gets the row after it. */
static enum err archive_write(struct store *s, db_fn *fn, struct archive_write *w,
                              struct archive *ret)
{
    w->want = ret != NULL || w->upload_id; /* a finished upload records its archive's id */
    enum err e = tx(s, DB_WRITE, fn, w);
    if (!e && ret)
        *ret = w->out;
    return e;
}

/* Waits us microseconds (< 0: none). */
static void pause_us(int64_t us)
{
    struct timespec ts = {(time_t)(us / 1000000), (long)(us % 1000000) * 1000};
    while (us > 0 && nanosleep(&ts, &ts) != 0)
        ;
}

/* Runs the archive write fn, trying again while the database is unavailable,
 * for s->archive_wait seconds: after 0.1 s, then twice as long each time up to
 * 1 s, a last try at the end. fn sees w->again on the tries after the first. */
static enum err archive_write_waiting(struct store *s, db_fn *fn, struct archive_write *w,
                                      struct archive *ret)
{
    const struct archive *a = w->a;
    int64_t deadline = mono_us() + (int64_t)s->archive_wait * 1000000, pause = 100000;
    for (;;) {
        enum err e = archive_write(s, fn, w, ret);
        int64_t left = deadline - mono_us();
        if (e != ERR_UNAVAILABLE || left <= 0) {
            if (w->again)
                log_info("%s: the row of archive \"%s\" %s", s->ops->name, a->path,
                         e ? "was not stored in time" : "was stored after the wait");
            return e;
        }
        if (!w->again)
            log_warn("%s: the database is unavailable: the row of archive \"%s\" waits up to %d s",
                     s->ops->name, a->path, s->archive_wait);
        w->again = true;
        pause_us(pause < left ? pause : left);
        pause = pause * 2 < 1000000 ? pause * 2 : 1000000;
    }
}

enum err store_archive_create(struct store *s, const struct archive *a, const struct event *ev,
                              struct archive *ret)
{
    if (!s || !a)
        return ERR_INTERNAL;
    struct archive_write w = {.a = a, .ev = ev};
    return archive_write_waiting(s, archive_insert, &w, ret);
}

/* --- resumable uploads --- */

struct upload_write {
    const struct upload_row *u;
    bool take_attempt;
    struct token_op x;
    bool want;
    struct upload_row out;
};

static enum err upload_insert(struct db_conn *c, void *ctx)
{
    struct upload_write *w = ctx;
    const struct upload_row *u = w->u;
    if (w->take_attempt) {
        enum err e = token_take(c, &w->x); /* records w->x.ev with the attempt */
        if (e || w->x.state != TOKEN_OK)
            return e; /* refused: nothing changed, nothing inserted */
    } else {
        enum err e = event_in(c, w->x.ev, 0, 0, NULL);
        if (e)
            return e;
    }
    int64_t now = w->x.now;
    struct db_arg args[] = {
        arg_text(u->id),
        arg_int(u->ticket_id),
        arg_opt_text(u->token[0] ? u->token : NULL),
        arg_opt_int(u->user_id),
        arg_text(u->name),
        arg_text(u->filetype),
        arg_text(u->metadata),
        arg_int(u->length),
        arg_text(u->uploader_ip),
        arg_text(u->uploader_agent),
        arg_time(u->expires_at),
        arg_time(now),
        arg_time(now),
    };
    enum err e = write_in(c, ST_UPLOAD_INSERT, args, ARRAY_SIZE(args));
    if (e || !w->want)
        return e == ERR_NOT_FOUND ? ERR_DB : e;
    struct db_arg id[] = {arg_text(u->id)};
    e = get_in(c, ST_UPLOAD_BY_ID, id, 1, &UPLOAD_ROW, &w->out);
    return e == ERR_NOT_FOUND ? ERR_DB : e;
}

enum err store_upload_create(struct store *s, const struct upload_row *u, bool take_attempt,
                             int64_t now, const struct event *ev, enum token_state *ret_state,
                             struct upload_row *ret)
{
    if (!s || !u || !ret_state || (take_attempt && !is_token(u->token)))
        return ERR_INTERNAL;
    struct upload_write w = {.u = u, .take_attempt = take_attempt, .want = ret != NULL};
    w.x.token = u->token;
    w.x.now = now;
    w.x.ev = ev;
    w.x.state = TOKEN_OK;
    enum err e = tx(s, DB_WRITE, upload_insert, &w);
    store_ticket_clear(&w.x.t);
    if (e)
        return e;
    *ret_state = w.x.state;
    if (w.x.state == TOKEN_OK && ret)
        *ret = w.out;
    return ERR_OK;
}

enum err store_upload_get(struct store *s, const char *id, struct upload_row *ret)
{
    if (!s || !id || !ret)
        return ERR_INTERNAL;
    struct db_arg args[] = {arg_text(id)};
    return get_row(s, ST_UPLOAD_BY_ID, args, 1, &UPLOAD_ROW, ret);
}

enum err store_upload_touch(struct store *s, const char *id, int64_t expires_at)
{
    if (!s || !id)
        return ERR_INTERNAL;
    struct db_arg args[] = {arg_time(expires_at), arg_time(now_us()), arg_text(id)};
    return write_row(s, ST_UPLOAD_TOUCH, args, ARRAY_SIZE(args));
}

enum err store_upload_delete(struct store *s, const char *id)
{
    if (!s || !id)
        return ERR_INTERNAL;
    struct db_arg args[] = {arg_text(id)};
    return write_row(s, ST_UPLOAD_DELETE, args, 1);
}

/* The archive row, then the upload's row names it: a client whose last answer
 * was lost asks (HEAD) and learns that its upload is complete, instead of
 * sending the file again. A try after one whose commit may have gone through
 * unanswered finds both done. */
static enum err upload_to_archive(struct db_conn *c, void *ctx)
{
    struct archive_write *w = ctx;
    enum err e = archive_insert(c, w);
    if (e)
        return e;
    struct db_arg args[] = {arg_int(w->out.id), arg_time(now_us()), arg_text(w->upload_id)};
    e = write_in(c, ST_UPLOAD_FINISHED, args, ARRAY_SIZE(args));
    if (e == ERR_NOT_FOUND && w->again)
        return ERR_OK;
    return e; /* ERR_NOT_FOUND: terminated or finished meanwhile, the archive row rolls back */
}

enum err store_upload_finish(struct store *s, const char *id, const struct archive *a,
                             const struct event *ev, struct archive *ret)
{
    if (!s || !id || !a)
        return ERR_INTERNAL;
    struct archive_write w = {.a = a, .upload_id = id, .ev = ev};
    return archive_write_waiting(s, upload_to_archive, &w, ret);
}

enum err store_upload_stale(struct store *s, int64_t now, size_t max,
                            char (**ret_ids)[UPLOAD_ID_LEN + 1], size_t *ret_n)
{
    if (!s || !ret_ids || !ret_n)
        return ERR_INTERNAL;
    struct db_arg args[] = {arg_time(now), arg_time(now), arg_int((int64_t)max)};
    struct one o = {.id = ST_UPLOAD_STALE,
                    .args = args,
                    .nargs = ARRAY_SIZE(args),
                    .type = &UPLOAD_ID_ROW,
                    .k = {&UPLOAD_ID_ROW, NULL, 0, 0}};
    enum err e = tx(s, DB_AUTO, one_list, &o);
    if (e)
        return e;
    *ret_ids = (char(*)[UPLOAD_ID_LEN + 1]) o.k.items;
    *ret_n = o.k.n;
    return ERR_OK;
}

enum err store_upload_exists(struct store *s, const char *id, bool *ret)
{
    if (!s || !id || !ret)
        return ERR_INTERNAL;
    struct db_arg args[] = {arg_text(id)};
    enum err e = get_row(s, ST_UPLOAD_EXISTS, args, 1, &BOOL_ROW, ret);
    return e == ERR_NOT_FOUND ? ERR_DB : e;
}

enum err store_archive_move(struct store *s, int64_t id, int64_t new_ticket_number,
                            const char *new_path, const char *new_name, const struct event *ev,
                            struct archive *ret)
{
    if (!s || !new_path || !new_name)
        return ERR_INTERNAL;
    struct archive_write w = {
        .id = id, .ticket_number = new_ticket_number, .path = new_path, .name = new_name, .ev = ev};
    return archive_write(s, archive_relink, &w, ret);
}

enum err store_archive_delete(struct store *s, int64_t id, const struct event *ev, char *ret_path)
{
    if (!s)
        return ERR_INTERNAL;
    struct db_arg args[] = {arg_int(id)};
    return get_row_ev(s, ST_ARCHIVE_DELETE, args, 1, &PATH_ROW, ev, ret_path);
}

enum err store_archive_path_exists(struct store *s, const char *path, bool *ret)
{
    if (!s || !path || !ret)
        return ERR_INTERNAL;
    struct db_arg args[] = {arg_text(path)};
    enum err e = get_row(s, ST_ARCHIVE_PATH_EXISTS, args, 1, &BOOL_ROW, ret);
    return e == ERR_NOT_FOUND ? ERR_DB : e;
}

/* One page of store_archive_each: the rows after `after`. */
struct page {
    int64_t after;
    struct collect k;
};

static enum err archive_page(struct db_conn *c, void *ctx)
{
    struct page *p = ctx;
    struct db_arg args[] = {arg_int(p->after), arg_int(ARCHIVE_EACH_PAGE)};
    return collect_in(c, ST_ARCHIVE_PAGE, NULL, NULL, args, 2, &p->k);
}

/* Calls fn for every archive in id order, a page at a time after the last id
 * seen: memory stays bounded, no transaction (or pooled connection) is held
 * while fn runs, so fn may call the store, and every row that exists during
 * the whole walk is seen exactly once. */
enum err store_archive_each(struct store *s, void (*fn)(const struct archive *a, void *ctx),
                            void *ctx)
{
    if (!s || !fn)
        return ERR_INTERNAL;
    struct page p = {0, {&ARCHIVE_ROW, NULL, 0, 0}};
    enum err e;
    for (;;) {
        e = tx(s, DB_AUTO, archive_page, &p);
        if (e)
            break;
        const struct archive *rows = (const struct archive *)p.k.items;
        for (size_t i = 0; i < p.k.n; i++)
            fn(&rows[i], ctx);
        if (p.k.n < ARCHIVE_EACH_PAGE)
            break;
        p.after = rows[p.k.n - 1].id;
    }
    collect_free(&p.k);
    return e;
}

/* --- filtered lists: the WHERE clause built from the filter tables --- */

#define F(type, field) offsetof(struct type, field)

static const struct store_filter_field ticket_fields[] = {
    {"number", FILTER_IN, FILTER_EQ, "t.number", F(ticket_filter, number)},
    {"number__in", FILTER_IN, FILTER_EQ, "t.number", F(ticket_filter, number_in)},
    {"number__contains", FILTER_CONTAINS, FILTER_EQ, "t.number", F(ticket_filter, number_contains)},
    {"number__lte", FILTER_INT, FILTER_LTE, "t.number", F(ticket_filter, number_lte)},
    {"number__gte", FILTER_INT, FILTER_GTE, "t.number", F(ticket_filter, number_gte)},
    {"id", FILTER_IN, FILTER_EQ, "t.id", F(ticket_filter, id)},
    {"id__in", FILTER_IN, FILTER_EQ, "t.id", F(ticket_filter, id_in)},
    {"id__lte", FILTER_INT, FILTER_LTE, "t.id", F(ticket_filter, id_lte)},
    {"id__gte", FILTER_INT, FILTER_GTE, "t.id", F(ticket_filter, id_gte)},
    {"resolved", FILTER_BOOL, FILTER_EQ, "t.resolved", F(ticket_filter, resolved)},
    {"user", FILTER_REF, FILTER_EQ, "t.user_id = (SELECT id FROM users WHERE username = ?)",
     F(ticket_filter, user)},
    {"platform", FILTER_REF, FILTER_EQ, "t.platform_id = (SELECT id FROM platforms WHERE name = ?)",
     F(ticket_filter, platform)},
    {"year__lte", FILTER_YEAR, FILTER_LTE, "t.time_create", F(ticket_filter, year_lte)},
    {"year__gte", FILTER_YEAR, FILTER_GTE, "t.time_create", F(ticket_filter, year_gte)},
    {"month__lte", FILTER_MONTH, FILTER_LTE, "t.time_create", F(ticket_filter, month_lte)},
    {"month__gte", FILTER_MONTH, FILTER_GTE, "t.time_create", F(ticket_filter, month_gte)},
    {"search", FILTER_CONTAINS, FILTER_EQ, "t.number", F(ticket_filter, search)},
};

static const struct store_filter_field archive_fields[] = {
    {"id", FILTER_IN, FILTER_EQ, "a.id", F(archive_filter, id)},
    {"id__in", FILTER_IN, FILTER_EQ, "a.id", F(archive_filter, id_in)},
    {"ticket", FILTER_IN, FILTER_EQ, "t.number", F(archive_filter, ticket)},
    {"ticket__in", FILTER_IN, FILTER_EQ, "t.number", F(archive_filter, ticket_in)},
    {"id__lte", FILTER_INT, FILTER_LTE, "a.id", F(archive_filter, id_lte)},
    {"id__gte", FILTER_INT, FILTER_GTE, "a.id", F(archive_filter, id_gte)},
    {"ticket__lte", FILTER_INT, FILTER_LTE, "t.number", F(archive_filter, ticket_lte)},
    {"ticket__gte", FILTER_INT, FILTER_GTE, "t.number", F(archive_filter, ticket_gte)},
    {"time_create", FILTER_TIME, FILTER_EQ, "a.time_create", F(archive_filter, time_create)},
    {"time_create__gte", FILTER_TIME, FILTER_GTE, "a.time_create",
     F(archive_filter, time_create_gte)},
    {"time_create__lte", FILTER_TIME, FILTER_LTE, "a.time_create",
     F(archive_filter, time_create_lte)},
};

static const struct store_filter_field event_fields[] = {
    {"id", FILTER_IN, FILTER_EQ, "e.id", F(event_filter, id)},
    {"id__gte", FILTER_INT, FILTER_GTE, "e.id", F(event_filter, id_gte)},
    {"id__lte", FILTER_INT, FILTER_LTE, "e.id", F(event_filter, id_lte)},
    {"ticket", FILTER_IN, FILTER_EQ, "e.ticket", F(event_filter, ticket)},
    {"archive", FILTER_IN, FILTER_EQ, "e.archive", F(event_filter, archive)},
    {"actor", FILTER_TEXT, FILTER_EQ, "e.actor", F(event_filter, actor)},
    {"kind", FILTER_TEXT, FILTER_EQ, "e.kind", F(event_filter, kind)},
    {"kind__startswith", FILTER_PREFIX, FILTER_EQ, "e.kind", F(event_filter, kind_prefix)},
    {"time", FILTER_TIME, FILTER_EQ, "e.time", F(event_filter, time)},
    {"time__gte", FILTER_TIME, FILTER_GTE, "e.time", F(event_filter, time_gte)},
    {"time__lte", FILTER_TIME, FILTER_LTE, "e.time", F(event_filter, time_lte)},
};

#undef F

const struct store_filter_table store_event_filters = {event_fields, ARRAY_SIZE(event_fields)};
const struct store_filter_table store_ticket_filters = {ticket_fields, ARRAY_SIZE(ticket_fields)};
const struct store_filter_table store_archive_filters = {archive_fields,
                                                         ARRAY_SIZE(archive_fields)};

#define QUERY_SQL  8192
#define QUERY_ARGS (4 * LIMIT_FILTER_IN + 32)

/* A WHERE clause with its arguments. */
struct query {
    char where[QUERY_SQL];
    size_t len;
    bool overflow; /* did not fit: a bug (QUERY_SQL bounds every filter) or a set too large */
    struct db_arg args[QUERY_ARGS + 2]; /* + limit and offset */
    size_t nargs;
    char *texts[4]; /* escaped LIKE patterns, owned */
    size_t ntexts;
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

static void q_arg(struct query *q, struct db_arg a)
{
    if (q->nargs >= QUERY_ARGS) {
        q->overflow = true;
        return;
    }
    q->args[q->nargs++] = a;
}

/* Starts a condition: " WHERE " for the first, " AND " after. */
static void q_and(struct query *q)
{
    q_cat(q, q->len ? " AND " : " WHERE ");
}

/* "lhs <op> ?" for the bound b of kind k. */
static void q_bound(struct query *q, const struct db_ops *ops, const struct store_filter_field *f,
                    const struct int_bound *b)
{
    static const char *const ops_sql[] = {
        [FILTER_EQ] = " = ?", [FILTER_LTE] = " <= ?", [FILTER_GTE] = " >= ?"};
    const char *const *part = f->kind == FILTER_YEAR    ? ops->local_year
                              : f->kind == FILTER_MONTH ? ops->local_month
                                                        : NULL;
    if (!b->set)
        return;
    q_and(q);
    q_cat(q, part ? part[0] : "");
    q_cat(q, f->column);
    q_cat(q, part ? part[1] : "");
    q_cat(q, ops_sql[f->op]);
    q_arg(q, f->kind == FILTER_TIME ? arg_time(b->v) : arg_int(b->v));
}

/* "column IN (?, ...)"; a set given with no values matches nothing. */
static void q_set(struct query *q, const char *column, const struct int_set *set)
{
    if (!set->set && set->n == 0)
        return;
    q_and(q);
    if (set->n == 0 || set->n > LIMIT_FILTER_IN) {
        q_cat(q, "1 = 0");
        q->overflow |= set->n > LIMIT_FILTER_IN;
        return;
    }
    q_cat(q, column);
    q_cat(q, " IN (");
    for (size_t i = 0; i < set->n; i++) {
        q_cat(q, i ? ", ?" : "?");
        q_arg(q, arg_int(set->v[i]));
    }
    q_cat(q, ")");
}

/* "the decimal column contains s" (or, with prefix, "the text column starts
 * with s"), with LIKE's wildcards in s escaped. */
static enum err q_like(struct query *q, const char *column, const char *s, bool prefix)
{
    if (q->ntexts == ARRAY_SIZE(q->texts)) {
        q->overflow = true;
        return ERR_OK;
    }
    char *pat = malloc(2 * strlen(s) + 1), *o = pat;
    if (!pat)
        return ERR_NOMEM;
    for (const char *p = s; *p; p++) {
        if (*p == '%' || *p == '_' || *p == '\\')
            *o++ = '\\';
        *o++ = *p;
    }
    *o = 0;
    q->texts[q->ntexts++] = pat;
    q_and(q);
    q_cat(q, prefix ? "" : "CAST(");
    q_cat(q, column);
    q_cat(q, prefix ? " LIKE CAST(? AS TEXT) || '%' ESCAPE '\\'"
                    : " AS TEXT) LIKE '%' || CAST(? AS TEXT) || '%' ESCAPE '\\'");
    q_arg(q, arg_text(pat));
    return ERR_OK;
}

/* Builds the WHERE clause of filter (a struct of table t) into q. ERR_INTERNAL
 * (logged) for a filter that does not fit, which no parsed query gives. */
static enum err q_build(struct query *q, const struct db_ops *ops,
                        const struct store_filter_table *t, const void *filter)
{
    for (size_t i = 0; i < t->n; i++) {
        const struct store_filter_field *f = &t->fields[i];
        const void *field = (const char *)filter + f->offset;
        const char *text = NULL;
        enum err e = ERR_OK;
        switch (f->kind) {
        case FILTER_IN:
            q_set(q, f->column, field);
            break;
        case FILTER_INT:
        case FILTER_YEAR:
        case FILTER_MONTH:
        case FILTER_TIME:
            q_bound(q, ops, f, field);
            break;
        case FILTER_BOOL:
            if (*(const int *)field < 0)
                break;
            q_and(q);
            q_cat(q, f->column);
            q_cat(q, " = ?");
            q_arg(q, arg_bool(*(const int *)field != 0));
            break;
        case FILTER_CONTAINS:
        case FILTER_PREFIX:
            text = *(const char *const *)field;
            e = text ? q_like(q, f->column, text, f->kind == FILTER_PREFIX) : ERR_OK;
            break;
        case FILTER_TEXT:
            text = *(const char *const *)field;
            if (!text)
                break;
            q_and(q);
            q_cat(q, f->column);
            q_cat(q, " = ?");
            q_arg(q, arg_text(text));
            break;
        case FILTER_REF:
            text = *(const char *const *)field;
            if (!text)
                break;
            q_and(q);
            q_cat(q, f->column);
            q_arg(q, arg_text(text));
            break;
        }
        if (e)
            return e;
    }
    if (q->overflow) {
        log_error("store: list filter too large");
        return ERR_INTERNAL;
    }
    return ERR_OK;
}

/* What differs between the filtered lists (tickets, archives). */
struct list_kind {
    const struct store_filter_table *filters;
    const char *select; /* the page query up to its WHERE clause */
    const char *order;  /* after it */
    const char *count;  /* "SELECT count(*) FROM ..." up to the WHERE clause */
    const struct row_type *type;
    const char *what, *what_count; /* for logs */
};

static const struct list_kind ticket_list = {
    &store_ticket_filters,
    TICKET_SELECT,
    " ORDER BY t.time_create DESC, t.id DESC",
    "SELECT count(*) FROM tickets t",
    &TICKET_ROW,
    "ticket list",
    "ticket count",
};

static const struct list_kind event_list = {
    &store_event_filters,
    "SELECT " EVENT_COLS " FROM events e",
    " ORDER BY e.time DESC, e.id DESC",
    "SELECT count(*) FROM events e",
    &EVENT_ROW,
    "event list",
    "event count",
};

static const struct list_kind archive_list = {
    &store_archive_filters,
    ARCHIVE_SELECT,
    " ORDER BY a.time_create DESC, a.id DESC",
    "SELECT count(*)" ARCHIVE_FROM,
    &ARCHIVE_ROW,
    "archive list",
    "archive count",
};

/* A filtered list in the making. */
struct listing {
    const struct list_kind *kind;
    struct query *q;
    char *page_sql, *count_sql;
    bool want_total;
    struct collect k; /* out */
    int64_t total;    /* out */
};

/* The page (the WHERE clause's arguments, then limit and offset) and, when
 * wanted, the count with the same arguments, in one snapshot. */
static enum err list_page(struct db_conn *c, void *ctx)
{
    struct listing *l = ctx;
    struct query *q = l->q;
    enum err e = collect_in(c, ST__MAX, l->kind->what, l->page_sql, q->args, q->nargs + 2, &l->k);
    if (e || !l->want_total)
        return e;
    struct first f = {&INT64_ROW, &l->total, false};
    e = c->ops->exec_sql(c, l->kind->what_count, l->count_sql, q->args, q->nargs, first_row, &f,
                         NULL);
    if (!e && !f.got)
        e = ERR_DB;
    if (e)
        collect_free(&l->k);
    return e;
}

/* The rows of kind k matching filter, page limit (< 0: no limit) from offset,
 * as a new array; *ret_total (may be NULL) gets the count ignoring the page. */
static enum err list_filtered(struct store *s, const struct list_kind *k, const void *filter,
                              int64_t limit, int64_t offset, void **ret_items, size_t *ret_n,
                              int64_t *ret_total)
{
    struct listing l = {
        k, calloc(1, sizeof(struct query)), NULL, NULL, ret_total != NULL, {k->type, NULL, 0, 0},
        0};
    if (!l.q)
        return ERR_NOMEM;
    enum err e = q_build(l.q, s->ops, k->filters, filter);
    if (!e) {
        if (asprintf(&l.page_sql, "%s%s%s LIMIT ? OFFSET ?", k->select, l.q->where, k->order) < 0)
            l.page_sql = NULL;
        if (asprintf(&l.count_sql, "%s%s", k->count, l.q->where) < 0)
            l.count_sql = NULL;
        e = l.page_sql && l.count_sql ? ERR_OK : ERR_NOMEM;
    }
    if (!e) {
        /* after the filter's: room was left for these two */
        l.q->args[l.q->nargs] = arg_int(limit < 0 ? INT64_MAX : limit);
        l.q->args[l.q->nargs + 1] = arg_int(offset < 0 ? 0 : offset);
        e = tx(s, ret_total ? DB_READ : DB_AUTO, list_page, &l);
    }
    free(l.page_sql);
    free(l.count_sql);
    for (size_t i = 0; i < l.q->ntexts; i++)
        free(l.q->texts[i]);
    free(l.q);
    if (e)
        return e;
    *ret_items = l.k.items;
    *ret_n = l.k.n;
    if (ret_total)
        *ret_total = l.total;
    return ERR_OK;
}

enum err store_ticket_list(struct store *s, const struct ticket_filter *f,
                           struct ticket **ret_items, size_t *ret_n, int64_t *ret_total)
{
    if (!s || !f || !ret_items || !ret_n)
        return ERR_INTERNAL;
    return list_filtered(s, &ticket_list, f, f->limit, f->offset, (void **)ret_items, ret_n,
                         ret_total);
}

enum err store_archive_list(struct store *s, const struct archive_filter *f,
                            struct archive **ret_items, size_t *ret_n, int64_t *ret_total)
{
    if (!s || !f || !ret_items || !ret_n)
        return ERR_INTERNAL;
    return list_filtered(s, &archive_list, f, f->limit, f->offset, (void **)ret_items, ret_n,
                         ret_total);
}

/* --- events, webhooks, mail, retention --- */

static enum err event_one(struct db_conn *c, void *ctx)
{
    return event_in(c, ctx, 0, 0, NULL);
}

enum err store_event_add(struct store *s, const struct event *ev)
{
    if (!s || !ev)
        return ERR_INTERNAL;
    return tx(s, DB_WRITE, event_one, (void *)ev);
}

enum err store_event_list(struct store *s, const struct event_filter *f, struct event **ret_items,
                          size_t *ret_n, int64_t *ret_total)
{
    if (!s || !f || !ret_items || !ret_n)
        return ERR_INTERNAL;
    return list_filtered(s, &event_list, f, f->limit, f->offset, (void **)ret_items, ret_n,
                         ret_total);
}

/* Old events and, through the schema's cascades, their queue rows. */
struct prune {
    int64_t before, n;
};

static enum err event_prune(struct db_conn *c, void *ctx)
{
    struct prune *p = ctx;
    struct db_arg args[] = {arg_time(p->before)};
    return run(c, ST_EVENT_PRUNE, args, 1, NULL, NULL, &p->n);
}

enum err store_event_prune(struct store *s, int64_t before, int64_t *ret_n)
{
    if (!s)
        return ERR_INTERNAL;
    struct prune p = {before, 0};
    enum err e = tx(s, DB_WRITE, event_prune, &p);
    if (!e && ret_n)
        *ret_n = p.n;
    return e;
}

/* The webhook writes: create (under LIMIT_WEBHOOKS), update, delete, each with its event. */
struct webhook_write {
    int64_t id;
    const struct webhook *w;
    const struct event *ev;
    bool want;
    struct webhook out;
};

static enum err webhook_insert(struct db_conn *c, void *ctx)
{
    struct webhook_write *x = ctx;
    const struct webhook *w = x->w;
    int64_t n = 0, id;
    enum err e = get_in(c, ST_WEBHOOK_COUNT, NULL, 0, &INT64_ROW, &n);
    if (e)
        return e == ERR_NOT_FOUND ? ERR_DB : e;
    if (n >= LIMIT_WEBHOOKS)
        return ERR_EXISTS;
    struct db_arg args[] = {arg_text(w->url), arg_text(w->events), arg_text(w->secret),
                            arg_bool(w->active), arg_time(now_us())};
    e = get_in(c, ST_WEBHOOK_INSERT, args, ARRAY_SIZE(args), &INT64_ROW, &id);
    if (!e)
        e = event_in(c, x->ev, 0, 0, NULL);
    if (e)
        return e == ERR_NOT_FOUND ? ERR_DB : e;
    return written(c, ST_WEBHOOK_BY_ID, &WEBHOOK_ROW, id, x->want, &x->out);
}

static enum err webhook_change(struct db_conn *c, void *ctx)
{
    struct webhook_write *x = ctx;
    const struct webhook *w = x->w;
    struct db_arg args[] = {arg_text(w->url), arg_text(w->events), arg_bool(w->active),
                            arg_int(x->id)};
    enum err e = write_in(c, ST_WEBHOOK_UPDATE, args, ARRAY_SIZE(args));
    if (!e)
        e = event_in(c, x->ev, 0, 0, NULL);
    return e ? e : written(c, ST_WEBHOOK_BY_ID, &WEBHOOK_ROW, x->id, x->want, &x->out);
}

static enum err webhook_remove(struct db_conn *c, void *ctx)
{
    struct webhook_write *x = ctx;
    struct db_arg args[] = {arg_int(x->id)};
    enum err e = write_in(c, ST_WEBHOOK_DELETE, args, 1);
    return e ? e : event_in(c, x->ev, 0, 0, NULL);
}

/* Runs the webhook write fn in a write transaction; *ret (may be NULL) gets the row after it. */
static enum err webhook_write(struct store *s, db_fn *fn, struct webhook_write *x,
                              struct webhook *ret)
{
    x->want = ret != NULL;
    enum err e = tx(s, DB_WRITE, fn, x);
    if (!e && ret)
        *ret = x->out;
    return e;
}

enum err store_webhook_create(struct store *s, const struct webhook *w, const struct event *ev,
                              struct webhook *ret)
{
    if (!s || !w)
        return ERR_INTERNAL;
    struct webhook_write x = {.w = w, .ev = ev};
    return webhook_write(s, webhook_insert, &x, ret);
}

enum err store_webhook_get(struct store *s, int64_t id, struct webhook *ret)
{
    if (!s || !ret)
        return ERR_INTERNAL;
    struct db_arg args[] = {arg_int(id)};
    return get_row(s, ST_WEBHOOK_BY_ID, args, 1, &WEBHOOK_ROW, ret);
}

enum err store_webhook_list(struct store *s, struct webhook **ret_items, size_t *ret_n)
{
    if (!s || !ret_items || !ret_n)
        return ERR_INTERNAL;
    return list_rows(s, ST_WEBHOOK_LIST, &WEBHOOK_ROW, (void **)ret_items, ret_n);
}

enum err store_webhook_update(struct store *s, int64_t id, const struct webhook *w,
                              const struct event *ev, struct webhook *ret)
{
    if (!s || !w)
        return ERR_INTERNAL;
    struct webhook_write x = {.id = id, .w = w, .ev = ev};
    return webhook_write(s, webhook_change, &x, ret);
}

enum err store_webhook_delete(struct store *s, int64_t id, const struct event *ev)
{
    if (!s)
        return ERR_INTERNAL;
    struct webhook_write x = {.id = id, .ev = ev};
    return webhook_write(s, webhook_remove, &x, NULL);
}

/* A claim: owner and times in, the claimed delivery out. */
struct claim {
    const char *owner;
    int64_t now, lease_until;
    struct delivery out;
};

static enum err delivery_take(struct db_conn *c, void *ctx)
{
    struct claim *k = ctx;
    int64_t id;
    struct db_arg args[] = {arg_text(k->owner), arg_time(k->lease_until), arg_time(k->now),
                            arg_time(k->now), arg_time(k->now)};
    enum err e = get_in(c, ST_DELIVERY_CLAIM, args, ARRAY_SIZE(args), &INT64_ROW, &id);
    if (e)
        return e;
    struct db_arg by[] = {arg_int(id)};
    e = get_in(c, ST_DELIVERY_BY_ID, by, 1, &DELIVERY_ROW, &k->out);
    return e == ERR_NOT_FOUND ? ERR_DB : e;
}

enum err store_delivery_claim(struct store *s, const char *owner, int64_t now, int64_t lease_until,
                              struct delivery *ret)
{
    if (!s || !owner || !ret)
        return ERR_INTERNAL;
    struct claim *k = calloc(1, sizeof(*k)); /* a delivery holds a URL and an event: heap */
    if (!k)
        return ERR_NOMEM;
    k->owner = owner;
    k->now = now;
    k->lease_until = lease_until;
    enum err e = tx(s, DB_WRITE, delivery_take, k);
    if (!e)
        *ret = k->out;
    free(k);
    return e;
}

struct finish {
    int64_t id;
    const char *owner;
    const struct delivery_result *res;
};

static enum err delivery_done(struct db_conn *c, void *ctx)
{
    struct finish *f = ctx;
    const struct delivery_result *r = f->res;
    struct db_arg att[] = {arg_int(f->id), arg_time(r->time ? r->time : now_us()),
                           arg_int(r->status), arg_text(r->error), arg_int(r->duration_ms)};
    enum err e = run(c, ST_ATTEMPT_INSERT, att, ARRAY_SIZE(att), NULL, NULL, NULL);
    if (e)
        return e;
    struct db_arg upd[] = {arg_text(r->state), arg_time(r->next_at ? r->next_at : now_us()),
                           arg_int(f->id), arg_text(f->owner)};
    int64_t changed = 0;
    e = run(c, ST_DELIVERY_UPDATE, upd, ARRAY_SIZE(upd), NULL, NULL, &changed);
    /* a lease lost to another process: keep the attempt, leave the delivery to it */
    return e ? e : changed ? ERR_OK : ERR_NOT_FOUND;
}

enum err store_delivery_finish(struct store *s, int64_t id, const char *owner,
                               const struct delivery_result *res)
{
    if (!s || !owner || !res || !res->state)
        return ERR_INTERNAL;
    struct finish f = {id, owner, res};
    enum err e = tx(s, DB_WRITE, delivery_done, &f);
    return e;
}

/* A page of the delivery log with its count, in one snapshot. */
struct log_page {
    struct db_arg args[3];
    struct collect k;
    int64_t total;
};

static enum err delivery_page(struct db_conn *c, void *ctx)
{
    struct log_page *p = ctx;
    enum err e = collect_in(c, ST_DELIVERY_LOG, NULL, NULL, p->args, 3, &p->k);
    if (!e)
        e = get_in(c, ST_DELIVERY_LOG_COUNT, p->args, 1, &INT64_ROW, &p->total);
    if (e)
        collect_free(&p->k);
    return e == ERR_NOT_FOUND ? ERR_DB : e;
}

enum err store_delivery_log(struct store *s, int64_t webhook_id, int64_t limit, int64_t offset,
                            struct delivery_log **ret_items, size_t *ret_n, int64_t *ret_total)
{
    if (!s || !ret_items || !ret_n)
        return ERR_INTERNAL;
    struct log_page p = {{arg_int(webhook_id), arg_int(limit < 0 ? INT64_MAX : limit),
                          arg_int(offset < 0 ? 0 : offset)},
                         {&DELIVERY_LOG_ROW, NULL, 0, 0},
                         0};
    enum err e = tx(s, DB_READ, delivery_page, &p);
    if (e)
        return e;
    *ret_items = (struct delivery_log *)p.k.items;
    *ret_n = p.k.n;
    if (ret_total)
        *ret_total = p.total;
    return ERR_OK;
}

enum err store_delivery_pending(struct store *s, int64_t *ret_n)
{
    if (!s || !ret_n)
        return ERR_INTERNAL;
    enum err e = get_row(s, ST_DELIVERY_PENDING, NULL, 0, &INT64_ROW, ret_n);
    return e == ERR_NOT_FOUND ? ERR_DB : e;
}

/* A mail claim: the ticket claimed, then its rows. */
struct mail_claim {
    const char *owner;
    int64_t now, quiet_before, max_before, lease_until;
    struct collect k;
};

static enum err mail_take(struct db_conn *c, void *ctx)
{
    struct mail_claim *m = ctx;
    int64_t ticket = 0;
    collect_free(&m->k);
    struct db_arg args[] = {arg_text(m->owner),        arg_time(m->lease_until), arg_time(m->now),
                            arg_time(m->quiet_before), arg_time(m->max_before),  arg_time(m->now)};
    enum err e = get_in(c, ST_MAIL_CLAIM, args, ARRAY_SIZE(args), &INT64_ROW, &ticket);
    if (e)
        return e;
    struct db_arg rows[] = {arg_text(m->owner), arg_int(ticket)};
    e = collect_in(c, ST_MAIL_ROWS, NULL, NULL, rows, 2, &m->k);
    if (!e && m->k.n == 0)
        e = ERR_NOT_FOUND;
    if (e)
        collect_free(&m->k);
    return e;
}

enum err store_mail_claim(struct store *s, const char *owner, int64_t now, int64_t quiet_before,
                          int64_t max_before, int64_t lease_until, struct mail_item **ret_items,
                          size_t *ret_n)
{
    if (!s || !owner || !ret_items || !ret_n)
        return ERR_INTERNAL;
    struct mail_claim m = {owner,      now,         quiet_before,
                           max_before, lease_until, {&MAIL_ROW, NULL, 0, 0}};
    enum err e = tx(s, DB_WRITE, mail_take, &m);
    if (e)
        return e;
    *ret_items = (struct mail_item *)m.k.items;
    *ret_n = m.k.n;
    return ERR_OK;
}

enum err store_mail_done(struct store *s, const char *owner, int64_t ticket)
{
    if (!s || !owner)
        return ERR_INTERNAL;
    struct db_arg args[] = {arg_text(owner), arg_int(ticket)};
    enum err e = write_row(s, ST_MAIL_DONE, args, 2);
    return e == ERR_NOT_FOUND ? ERR_OK : e;
}

enum err store_mail_retry(struct store *s, const char *owner, int64_t ticket, int64_t retry_at)
{
    if (!s || !owner)
        return ERR_INTERNAL;
    struct db_arg args[] = {arg_time(retry_at), arg_text(owner), arg_int(ticket)};
    enum err e = write_row(s, ST_MAIL_RETRY, args, 3);
    return e == ERR_NOT_FOUND ? ERR_OK : e;
}

enum err store_retention_archives(struct store *s, int64_t now, struct retention_item **ret_items,
                                  size_t *ret_n)
{
    if (!s || !ret_items || !ret_n)
        return ERR_INTERNAL;
    struct db_arg args[] = {arg_time(now)};
    struct one o = {ST_RETENTION_ARCHIVES,        args, 1, &RETENTION_ROW, NULL,
                    {&RETENTION_ROW, NULL, 0, 0}, NULL};
    enum err e = tx(s, DB_AUTO, one_list, &o);
    if (e)
        return e;
    *ret_items = (struct retention_item *)o.k.items;
    *ret_n = o.k.n;
    return ERR_OK;
}

enum err store_retention_tickets(struct store *s, int64_t now, int64_t **ret_numbers, size_t *ret_n)
{
    if (!s || !ret_numbers || !ret_n)
        return ERR_INTERNAL;
    struct db_arg args[] = {arg_time(now)};
    struct one o = {ST_RETENTION_TICKETS,     args, 1, &INT64_ROW, NULL,
                    {&INT64_ROW, NULL, 0, 0}, NULL};
    enum err e = tx(s, DB_AUTO, one_list, &o);
    if (e)
        return e;
    *ret_numbers = (int64_t *)o.k.items;
    *ret_n = o.k.n;
    return ERR_OK;
}

/* --- bulk copy --- */

/* The calling thread's import connection; NULL when it has no import open. */
static struct db_conn *import_conn(struct store *s)
{
    struct db_conn *c = NULL;
    pthread_mutex_lock(&s->lock);
    if (s->importing && s->import && pthread_equal(s->import_owner, pthread_self()))
        c = s->import;
    pthread_mutex_unlock(&s->lock);
    return c;
}

/* One statement, so one snapshot; on the importing thread it runs on the
 * import's connection, inside its transaction, and sees its rows. */
enum err store_counts(struct store *s, struct store_counts *ret)
{
    if (!s || !ret)
        return ERR_INTERNAL;
    struct db_conn *c = import_conn(s);
    struct store_counts n;
    enum err e = c ? get_in(c, ST_COUNTS, NULL, 0, &COUNTS_ROW, &n)
                   : get_row(s, ST_COUNTS, NULL, 0, &COUNTS_ROW, &n);
    if (!e)
        *ret = n;
    return e == ERR_NOT_FOUND ? ERR_DB : e;
}

/* Takes a connection for the calling thread and begins the import's write
 * transaction on it. Not retried: the caller starts over. */
enum err store_import_begin(struct store *s)
{
    if (!s)
        return ERR_INTERNAL;
    pthread_mutex_lock(&s->lock);
    bool busy = s->importing;
    if (!busy) {
        s->importing = true;
        s->import_owner = pthread_self();
    }
    pthread_mutex_unlock(&s->lock);
    if (busy)
        return ERR_INTERNAL;
    struct db_conn *c;
    enum err e = s->ops->take(s, &c);
    if (!e && (e = s->ops->begin(c, DB_WRITE)))
        s->ops->give(s, c);
    pthread_mutex_lock(&s->lock);
    if (e)
        s->importing = false;
    else
        s->import = c;
    pthread_mutex_unlock(&s->lock);
    return e;
}

/* Ends the import with e (ERR_OK: commit, else roll back) and gives its connection back. */
static enum err import_end(struct store *s, enum err e)
{
    struct db_conn *c = import_conn(s);
    if (!c)
        return ERR_INTERNAL;
    e = s->ops->end(c, DB_WRITE, e);
    pthread_mutex_lock(&s->lock);
    s->importing = false;
    s->import = NULL;
    pthread_mutex_unlock(&s->lock);
    s->ops->give(s, c);
    return e;
}

enum err store_import_commit(struct store *s)
{
    return s ? import_end(s, ERR_OK) : ERR_INTERNAL;
}

void store_import_rollback(struct store *s)
{
    if (s)
        (void)import_end(s, ERR_INTERNAL);
}

/* Runs the import statement id on the import's connection. */
static enum err import_row(struct store *s, enum stmt_id id, const struct db_arg *args,
                           size_t nargs)
{
    struct db_conn *c = import_conn(s);
    return c ? run(c, id, args, nargs, NULL, NULL, NULL) : ERR_INTERNAL;
}

enum err store_import_user(struct store *s, const struct user *u)
{
    if (!s || !u)
        return ERR_INTERNAL;
    struct db_arg args[] = {
        arg_int(u->id),
        arg_text(u->username),
        arg_text(u->password_hash),
        arg_bool(u->is_admin),
        arg_bool(u->is_active),
        arg_text(u->name),
        arg_text(u->email),
        arg_time(u->created),
        arg_opt_time(u->last_login),
        arg_opt_text(u->totp_secret[0] ? u->totp_secret : NULL),
        arg_bool(u->totp_enabled),
        arg_opt_int(u->totp_last_counter),
    };
    return import_row(s, ST_IMPORT_USER, args, ARRAY_SIZE(args));
}

enum err store_import_platform(struct store *s, const struct platform *p)
{
    if (!s || !p)
        return ERR_INTERNAL;
    struct db_arg args[] = {arg_int(p->id), arg_text(p->name), arg_text(p->pretty_name)};
    return import_row(s, ST_IMPORT_PLATFORM, args, ARRAY_SIZE(args));
}

enum err store_import_ticket(struct store *s, const struct ticket *t)
{
    if (!s || !t)
        return ERR_INTERNAL;
    struct db_arg args[] = {
        arg_int(t->id),           arg_int(t->number),       arg_int(t->platform_id),
        arg_opt_int(t->user_id),  arg_bool(t->resolved),    arg_text(t->note),
        arg_text(t->token),       arg_int(t->attempts),     arg_opt_time(t->expires_at),
        arg_time(t->time_create), arg_time(t->time_update),
    };
    return import_row(s, ST_IMPORT_TICKET, args, ARRAY_SIZE(args));
}

enum err store_import_archive(struct store *s, const struct archive *a)
{
    if (!s || !a)
        return ERR_INTERNAL;
    struct db_arg args[] = {
        arg_int(a->id),           arg_int(a->ticket_id),    arg_text(a->name),
        arg_text(a->path),        arg_int(a->size),         arg_text(a->md5),
        arg_text(a->sha256),      arg_text(a->uploader_ip), arg_text(a->uploader_agent),
        arg_time(a->time_create), arg_time(a->time_update),
    };
    return import_row(s, ST_IMPORT_ARCHIVE, args, ARRAY_SIZE(args));
}

enum err store_import_finish(struct store *s)
{
    return s ? import_row(s, ST_IMPORT_FINISH, NULL, 0) : ERR_INTERNAL;
}

/* --- values --- */

void store_ticket_filter_init(struct ticket_filter *f)
{
    memset(f, 0, sizeof(*f));
    f->resolved = -1;
    f->limit = -1;
}

void store_archive_filter_init(struct archive_filter *f)
{
    memset(f, 0, sizeof(*f));
    f->limit = -1;
}

void store_event_filter_init(struct event_filter *f)
{
    memset(f, 0, sizeof(*f));
    f->limit = -1;
}

void store_path_list_free(struct path_list *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->n; i++)
        free(l->paths[i]);
    free(l->paths);
    l->paths = NULL;
    l->n = 0;
}

void store_ticket_clear(struct ticket *t)
{
    if (!t)
        return;
    free(t->note);
    t->note = NULL;
}

void store_ticket_list_free(struct ticket *items, size_t n)
{
    if (!items)
        return;
    for (size_t i = 0; i < n; i++)
        free(items[i].note);
    free(items);
}
