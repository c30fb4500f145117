/* store.h - the only door to metadata: domain operations over users, platforms,
 * tickets and archives, on SQLite or PostgreSQL (store.c over the backends' db.h). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/limits.h"

/*
 * Conventions
 * - Every function returns ERR_OK or an error; results go out through ret_*
 *   parameters, written only on success.
 * - Times are int64 microseconds since the Unix epoch, UTC. 0 in an optional
 *   time field means "none" (NULL in the database).
 * - Strings inside structs are fixed arrays (always NUL-terminated) except
 *   ticket.note, which is heap memory owned by the struct: release it with
 *   store_ticket_clear() / store_ticket_list_free().
 * - Lists are returned as one malloc'ed array the caller frees with free() or,
 *   for tickets, store_ticket_list_free() (NULL-safe).
 * - A store handle is shared by all threads: SQLite keeps one connection per
 *   thread, PostgreSQL a pool. A NULL store or mandatory pointer is ERR_INTERNAL.
 * - Errors: ERR_NOT_FOUND (no such row), ERR_EXISTS (unique key taken),
 *   ERR_REFERENCE (foreign key target missing), ERR_NO_SPACE (the database's
 *   disk is full), ERR_UNAVAILABLE (the database cannot be reached or stays
 *   busy), ERR_DB (anything else; the backend logs the database's message),
 *   ERR_NOMEM.
 */

struct store;

struct user {
    int64_t id;
    char username[UTF8_BYTES(LIMIT_USERNAME) + 1];
    char password_hash[160]; /* libsodium crypto_pwhash_str output */
    bool is_admin;
    bool is_active;
    char name[UTF8_BYTES(LIMIT_USERNAME) + 1];
    char email[LIMIT_EMAIL + 1];
    int64_t created;
    int64_t last_login;                    /* 0: never */
    char totp_secret[TOTP_SECRET_MAX + 1]; /* base32; "" when none (set up or enabled) */
    bool totp_enabled;                     /* the secret was confirmed with a code */
    int64_t totp_last_counter;             /* last accepted TOTP time step; 0: none yet */
    bool upload_mail; /* mail me when an upload to a ticket I created finishes (default on) */
};

/* A console session (the id itself is never stored: its SHA-256, as hex). */
struct session {
    char id_hash[65];
    int64_t user_id;
    bool second_factor; /* the login passed a second factor (TOTP or backup code) */
    int64_t created;    /* absolute expiry counts from here */
    int64_t last_seen;  /* idle expiry counts from here (updated at most every
                           LIMIT_SESSION_TOUCH seconds) */
};

struct platform {
    int64_t id;
    char name[LIMIT_PLATFORM_NAME + 1];
    char pretty_name[UTF8_BYTES(LIMIT_PRETTY_NAME) + 1];
    int keep_days;    /* retention: archives go this many days after their ticket was
                         resolved; 0: kept */
    int resolve_days; /* retention: tickets untouched this many days are resolved; 0: never */
    char notify_emails[LIMIT_NOTIFY_EMAILS + 1]; /* extra upload mail recipients, comma list */
};

#define TOKEN_LEN 36 /* canonical UUID text */

struct ticket {
    int64_t id;
    int64_t number;
    int64_t platform_id;
    char platform[LIMIT_PLATFORM_NAME + 1];    /* platform name (joined) */
    int64_t user_id;                           /* 0: creator deleted */
    char user[UTF8_BYTES(LIMIT_USERNAME) + 1]; /* creator's username (joined), "" if none */
    bool resolved;
    char *note; /* heap, may be NULL meaning "" */
    char token[TOKEN_LEN + 1];
    int attempts;
    int64_t expires_at; /* 0: never */
    int64_t time_create;
    int64_t time_update;
    int64_t archives;    /* number of archives (aggregated) */
    int64_t size;        /* sum of archive sizes (aggregated) */
    int64_t resolved_at; /* when it was last resolved; 0: open (or resolved before this was kept) */
};

struct archive {
    int64_t id;
    int64_t ticket_id;
    int64_t ticket_number; /* joined */
    char name[LIMIT_FILENAME + 1];
    char path[512]; /* server key, relative to DATA_DIR/archives */
    int64_t size;
    char md5[33];
    char sha256[65];
    char uploader_ip[46];
    char uploader_agent[256];
    int64_t time_create;
    int64_t time_update;
};

/* A set of integers from a comma-list filter; n == 0 and !set means "no filter". */
struct int_set {
    bool set;
    size_t n;
    int64_t v[LIMIT_FILTER_IN];
};

/* An optional inclusive bound. */
struct int_bound {
    bool set;
    int64_t v;
};

struct ticket_filter {
    struct int_set number; /* number= and number__in= (both given: both must match) */
    struct int_set number_in;
    const char *number_contains; /* digits; NULL: none */
    struct int_bound number_lte, number_gte;
    struct int_set id;
    struct int_set id_in;
    struct int_bound id_lte, id_gte;
    int resolved;                                              /* -1: any, 0: false, 1: true */
    const char *user;                                          /* creator username; NULL: any */
    const char *platform;                                      /* platform name; NULL: any */
    struct int_bound year_lte, year_gte, month_lte, month_gte; /* of time_create in local TZ */
    const char *search; /* number contains this text; NULL: none */
    int64_t limit;      /* -1: no limit */
    int64_t offset;     /* 0: from the start */
};

/* Initializes f to "no filter, no limit". */
void store_ticket_filter_init(struct ticket_filter *f);

struct archive_filter {
    struct int_set id, id_in;
    struct int_bound id_lte, id_gte;
    struct int_set ticket, ticket_in; /* ticket numbers */
    struct int_bound ticket_lte, ticket_gte;
    struct int_bound time_create, time_create_lte, time_create_gte; /* microseconds */
    int64_t limit;
    int64_t offset;
};

void store_archive_filter_init(struct archive_filter *f);

/*
 * An event of the audit log: something that happened, who did it, from where.
 * Write operations that change what an event records take an optional
 * `const struct event *ev` (NULL: none) and insert it in their own
 * transaction, so the log holds an event exactly when the change committed.
 * The event's ticket and archive, when left 0, are filled from the row the
 * operation wrote (a new archive's id, its ticket's number). Inserting an
 * event also queues, in the same transaction, one webhook delivery for every
 * active webhook that wants its kind (ev->webhook: that webhook alone) and,
 * with ev->mail, the ticket's upload mail.
 */
struct event {
    int64_t id;                      /* read: its id; ignored on insert */
    int64_t time;                    /* µs; 0 on insert: now */
    char kind[LIMIT_EVENT_KIND + 1]; /* "upload.finished", "ticket.resolved", ... */
    char actor_type[16];             /* "user", "upload_token", "system", "" (anonymous) */
    char actor[UTF8_BYTES(LIMIT_USERNAME) +
               40]; /* username, "upload token of ticket N", "system", "" */
    char client_ip[46];
    char user_agent[256];
    int64_t ticket;                      /* ticket number; 0: none */
    int64_t archive;                     /* archive id; 0: none */
    char detail[LIMIT_EVENT_DETAIL + 1]; /* a JSON object, compact; "" reads as {} */
    bool mail;                           /* insert: an upload finished: queue its mail */
    int64_t webhook;                     /* insert: deliver to this webhook only (a test) */
};

struct event_filter {
    struct int_set id, ticket, archive;        /* ticket numbers; archive ids */
    const char *actor;                         /* exact actor text; NULL: any */
    const char *kind;                          /* exact kind; NULL: any */
    const char *kind_prefix;                   /* kind starts with it ("upload."); NULL: any */
    struct int_bound time, time_lte, time_gte; /* µs */
    struct int_bound id_gte, id_lte;
    int64_t limit;
    int64_t offset;
};

void store_event_filter_init(struct event_filter *f);

/* A webhook: where events of the kinds it names are POSTed, signed with secret. */
struct webhook {
    int64_t id;
    char url[LIMIT_WEBHOOK_URL + 1];
    char events[LIMIT_WEBHOOK_EVENTS * (LIMIT_EVENT_KIND + 1) + 2]; /* ",a,b," ; "": all */
    char secret[65];                                                /* 64 hex digits */
    bool active;
    int64_t created;
    int64_t pending; /* read: deliveries waiting */
    int64_t failed;  /* read: deliveries given up */
};

/* A delivery claimed for sending: the webhook's target and the event. */
struct delivery {
    int64_t id;
    int64_t webhook_id;
    int attempts; /* made before this one */
    int64_t created;
    char url[LIMIT_WEBHOOK_URL + 1];
    char secret[65];
    struct event ev;
};

/* One row of a webhook's delivery log: an attempt, or a delivery not tried yet
 * (attempt_id 0). */
struct delivery_log {
    int64_t delivery_id;
    int64_t event_id;
    char kind[LIMIT_EVENT_KIND + 1];
    char state[16];  /* "pending", "delivered", "failed" (given up) */
    int64_t next_at; /* pending: when it is tried next */
    int64_t attempt_id;
    int64_t time; /* of the attempt */
    int status;   /* HTTP status the receiver gave; 0: none (error) */
    char error[256];
    int64_t duration_ms;
};

/* The outcome of one attempt, for store_delivery_finish. */
struct delivery_result {
    int64_t time;
    int status;
    char error[256];
    int64_t duration_ms;
    const char *state; /* "delivered", "pending" (try again at next_at), "failed" */
    int64_t next_at;
};

/* An archive of an upload mail waiting for its ticket's batch. */
struct mail_item {
    int64_t id;
    int64_t ticket;
    int attempts;
    int64_t created;
    struct event ev; /* the upload.finished event: detail has name, size, sha256 */
};

/* An archive that retention deletes, with why. */
struct retention_item {
    int64_t archive_id;
    int64_t ticket;
    char platform[LIMIT_PLATFORM_NAME + 1];
    char name[LIMIT_FILENAME + 1];
    int64_t size;
    int64_t resolved_at; /* or the ticket's last change when not known */
};

/*
 * Every list filter, described once as data: the query parameter that sets
 * it (api/query.c parses it by kind), the field of the filter struct it
 * fills, and the SQL column it is matched against (store.c builds the WHERE
 * clause from the same rows for both backends).
 */
enum store_filter_kind {
    FILTER_IN,       /* struct int_set, "1,2,3": the column is one of them */
    FILTER_INT,      /* struct int_bound, a whole number, compared by op */
    FILTER_YEAR,     /* struct int_bound: the local year of the time column, by op */
    FILTER_MONTH,    /* struct int_bound: its local month (1-12), by op */
    FILTER_TIME,     /* struct int_bound (microseconds), an RFC 3339 instant or a local
                      * date; as FILTER_EQ a date means that whole day, so it sets the
                      * FILTER_GTE and FILTER_LTE fields of the same column instead */
    FILTER_BOOL,     /* int (-1: any, 0: false, 1: true): the column equals it */
    FILTER_CONTAINS, /* const char *: the column's decimal text contains it literally */
    FILTER_TEXT,     /* const char *: the column equals it */
    FILTER_PREFIX, /* const char *: the column starts with it (LIKE's wildcards taken literally) */
    FILTER_REF,    /* const char *: `column` is a whole condition with one "?" for it
                    * (the id of the user or platform so named) */
};

enum store_filter_op {
    FILTER_EQ,
    FILTER_LTE,
    FILTER_GTE,
};

struct store_filter_field {
    const char *param;           /* query parameter */
    enum store_filter_kind kind; /* how its value is parsed and matched */
    enum store_filter_op op;     /* for FILTER_INT, _YEAR, _MONTH, _TIME */
    const char *column;          /* SQL expression matched (used by store/ only) */
    size_t offset;               /* of the field in its filter struct */
};

struct store_filter_table {
    const struct store_filter_field *fields;
    size_t n;
};

/* The filters of struct ticket_filter and of struct archive_filter. */
extern const struct store_filter_table store_ticket_filters;
extern const struct store_filter_table store_archive_filters;
extern const struct store_filter_table store_event_filters;

/* A list of archive paths removed by a cascading delete; the caller deletes the
 * bytes after the rows are gone (a crash in between leaves files without rows,
 * which `cleanup` finds, never rows without files). */
struct path_list {
    size_t n;
    char **paths;
};
void store_path_list_free(struct path_list *l);

/* --- lifecycle --- */

/* How a store connects; NULL options mean the defaults (no waiting, pool sized
 * by the backend). */
struct store_options {
    int connect_wait; /* seconds to keep retrying an unreachable database at open, 0: try once */
    int pool_size;    /* connections a server backend may keep open (>= 1), 0: backend default */
    int archive_wait; /* seconds store_archive_create waits for an unavailable database,
                         0: LIMIT_ARCHIVE_ROW_WAIT, < 0: none */
};

/* Opens the store named by url ("sqlite:///abs/or/rel/path", "postgres://...").
 * Does not migrate. ERR_CONFIG for an unknown scheme or a bad URL,
 * ERR_UNAVAILABLE when the database cannot be reached within
 * opt->connect_wait seconds (each try logged). */
enum err store_open(const char *url, const struct store_options *opt, struct store **ret_store);
/* Closes every per-thread connection and frees s. NULL-safe. */
void store_close(struct store *s);
/* Applies pending migrations in order inside transactions; *ret_applied (may be
 * NULL) gets how many were applied. Safe to call on an up-to-date database. */
enum err store_migrate(struct store *s, int *ret_applied);
/* Current schema version (number of applied migrations). */
enum err store_schema_version(struct store *s, int *ret_version);
/* A trivial query: ERR_OK when the database answers, ERR_UNAVAILABLE otherwise. */
enum err store_ping(struct store *s);

/* --- users --- */

/* Inserts u (id, created ignored; created = now; upload_mail on), with ev.
 * ERR_EXISTS on a taken username. */
enum err store_user_create(struct store *s, const struct user *u, const struct event *ev,
                           int64_t *ret_id);
enum err store_user_get(struct store *s, const char *username, struct user *ret);
enum err store_user_get_by_id(struct store *s, int64_t id, struct user *ret);
/* Sets the password hash of the user, with ev. ERR_NOT_FOUND. */
enum err store_user_set_password(struct store *s, const char *username, const char *hash,
                                 const struct event *ev);
/* last_login = now, with ev (a login) in the same transaction. */
enum err store_user_touch_login(struct store *s, int64_t id, int64_t now, const struct event *ev);
/* Deletes the user, with ev; tickets they created keep existing with user_id NULL. */
enum err store_user_delete(struct store *s, const char *username, const struct event *ev);
/* Sets name, email, is_admin, is_active and upload_mail of user id from u,
 * with ev. ERR_NOT_FOUND. */
enum err store_user_update(struct store *s, int64_t id, const struct user *u,
                           const struct event *ev);
/* Stores a new TOTP secret (base32) for user id, not yet enabled (enrolment
 * started); ERR_NOT_FOUND when there is no such user or 2FA is enabled. */
enum err store_user_totp_begin(struct store *s, int64_t id, const char *secret);
/* Enables the secret stored by store_user_totp_begin with the accepted time
 * step `counter` and replaces the user's backup codes by the n SHA-256 hashes
 * (hex) given, in one transaction. ERR_NOT_FOUND when no secret is pending. */
enum err store_user_totp_enable(struct store *s, int64_t id, int64_t counter,
                                const char (*hashes)[65], size_t n, const struct event *ev);
/* Turns 2FA off for user id: secret, counter and backup codes gone, in one
 * transaction. ERR_NOT_FOUND when there is no such user. */
enum err store_user_totp_disable(struct store *s, int64_t id, const struct event *ev);
/* Accepts TOTP time step `counter` for user id only when it is later than the
 * last one accepted (one statement: no code is taken twice, whatever process
 * sees it). ERR_NOT_FOUND when it is not (a replay) or 2FA is off. */
enum err store_user_totp_accept(struct store *s, int64_t id, int64_t counter);
/* Replaces the user's backup codes by the n hashes given (n == 0: none), with ev. */
enum err store_backup_codes_set(struct store *s, int64_t user_id, const char (*hashes)[65],
                                size_t n, const struct event *ev);
/* Marks the unused backup code with this hash as used (one statement).
 * ERR_NOT_FOUND when the user has no such unused code. */
enum err store_backup_code_use(struct store *s, int64_t user_id, const char *hash, int64_t now);
/* How many unused backup codes the user has. */
enum err store_backup_codes_left(struct store *s, int64_t user_id, int64_t *ret_n);

/* All users ordered by id. */
enum err store_user_list(struct store *s, struct user **ret_items, size_t *ret_n);
enum err store_user_count(struct store *s, int64_t *ret_n);

/* --- sessions --- */

/* Inserts x (created and last_seen as given). ERR_EXISTS on a taken hash,
 * ERR_REFERENCE when the user is gone. */
enum err store_session_create(struct store *s, const struct session *x);
/* The session with this id hash and its user, in one statement. ERR_NOT_FOUND. */
enum err store_session_get(struct store *s, const char *id_hash, struct session *ret,
                           struct user *ret_user);
/* Replaces the session old_hash (may be NULL or unknown) by x in one
 * transaction: a new id at login and at each privilege change. */
enum err store_session_rotate(struct store *s, const char *old_hash, const struct session *x);
/* Sets last_seen. ERR_NOT_FOUND when the session is gone. */
enum err store_session_touch(struct store *s, const char *id_hash, int64_t now);
/* Deletes one session. ERR_NOT_FOUND when it is gone already. */
enum err store_session_delete(struct store *s, const char *id_hash);
/* Deletes every session of the user except keep_hash (NULL: all of them). */
enum err store_session_delete_user(struct store *s, int64_t user_id, const char *keep_hash);
/* Deletes the sessions created before created_before or last seen before
 * seen_before (expired ones). */
enum err store_session_purge(struct store *s, int64_t created_before, int64_t seen_before);

/* --- platforms --- */

enum err store_platform_list(struct store *s, struct platform **ret_items, size_t *ret_n);
enum err store_platform_get(struct store *s, const char *name, struct platform *ret);
/* Inserts p (p->id ignored); *ret (may be NULL) gets the stored row. ERR_EXISTS on taken name. */
enum err store_platform_create(struct store *s, const struct platform *p, const struct event *ev,
                               struct platform *ret);
/* Replaces name, pretty_name, the retention days and notify_emails of the
 * platform called `name`. ERR_NOT_FOUND, ERR_EXISTS. */
enum err store_platform_update(struct store *s, const char *name, const struct platform *p,
                               const struct event *ev, struct platform *ret);
/* Deletes the platform, its tickets and their archives in one transaction; the
 * archives' paths go to *ret_paths (may be NULL). ERR_NOT_FOUND. */
enum err store_platform_delete(struct store *s, const char *name, const struct event *ev,
                               struct path_list *ret_paths);
/* What deleting the platform `name` would take with it (the console's delete
 * warning): its tickets, their archives and the archives' bytes, counted in
 * one statement. ERR_NOT_FOUND when there is no such platform. */
enum err store_platform_counts(struct store *s, const char *name, int64_t *ret_tickets,
                               int64_t *ret_archives, int64_t *ret_bytes);

/* --- tickets --- */

/* Tickets matching f, newest first (time_create desc, id desc), in ONE query
 * including the platform name, creator username, archive count and size.
 * *ret_total (may be NULL) gets the count ignoring limit/offset. */
enum err store_ticket_list(struct store *s, const struct ticket_filter *f,
                           struct ticket **ret_items, size_t *ret_n, int64_t *ret_total);
void store_ticket_list_free(struct ticket *items, size_t n);
/* Frees t->note and zeroes it. NULL-safe. */
void store_ticket_clear(struct ticket *t);

enum err store_ticket_get(struct store *s, int64_t number, struct ticket *ret);
enum err store_ticket_get_by_token(struct store *s, const char *token, struct ticket *ret);
/* Inserts a ticket from t: number, platform (by NAME, t->platform), user_id
 * (0 = NULL), resolved, note, token, attempts, expires_at. time_create =
 * time_update = t->time_create when set (the request's clock, from which the
 * caller also computed expires_at), else now. *ret gets the stored row as
 * store_ticket_get returns it.
 * ERR_EXISTS: number or token taken; ERR_REFERENCE: no such platform. */
enum err store_ticket_create(struct store *s, const struct ticket *t, const struct event *ev,
                             struct ticket *ret);
/* Updates the ticket currently numbered `number` with t's number, platform (by
 * name), resolved, note, attempts, expires_at; time_update = now; resolved_at
 * = now when it becomes resolved, none when it is reopened. Token, user and
 * time_create are not touched. ERR_NOT_FOUND, ERR_EXISTS, ERR_REFERENCE. */
enum err store_ticket_update(struct store *s, int64_t number, const struct ticket *t,
                             const struct event *ev, struct ticket *ret);
/* Sets a new token, attempts and expires_at; time_update = now. */
enum err store_ticket_set_token(struct store *s, int64_t number, const char *token, int attempts,
                                int64_t expires_at, const struct event *ev, struct ticket *ret);
/* Deletes the ticket and its archives; paths as for platforms. ERR_NOT_FOUND. */
enum err store_ticket_delete(struct store *s, int64_t number, const struct event *ev,
                             struct path_list *ret_paths);

/* --- upload tokens and archives --- */

/* Result of looking a token up before an upload starts. */
enum token_state {
    TOKEN_OK = 0,   /* usable: the ticket is in *ret */
    TOKEN_UNKNOWN,  /* no ticket has this token (403) */
    TOKEN_RESOLVED, /* the ticket is resolved (423) */
    TOKEN_USED_UP,  /* attempts == 0 (423) */
    TOKEN_EXPIRED,  /* expires_at passed (423) */
};

/* The token rules of DESIGN.md 6 after "unknown", in their order, for a ticket
 * in hand: resolved, used up (attempts 0), expired (expires_at <= now, µs);
 * else TOKEN_OK. The one place they are decided (the upload-token check of the
 * API reports the same state the uploads would meet). */
enum token_state store_token_classify(const struct ticket *t, int64_t now);

/* Reads the ticket of token and classifies it, in the order of DESIGN.md 6:
 * unknown, resolved, used up, expired. Nothing is consumed. ret may be NULL;
 * it is written (and owns its note) only when *ret_state is TOKEN_OK. */
enum err store_token_check(struct store *s, const char *token, int64_t now,
                           enum token_state *ret_state, struct ticket *ret);

/* Consumes one attempt atomically: UPDATE ... SET attempts = attempts - 1 WHERE
 * token = ? AND attempts > 0 AND NOT resolved AND (expires_at IS NULL OR
 * expires_at > now) RETURNING ...; N concurrent callers on k attempts get
 * exactly k TOKEN_OK. Otherwise *ret_state says why (as store_token_check) and
 * ret (may be NULL) is untouched; on TOKEN_OK it holds the ticket after the decrement, and ev
 * (may be NULL: an upload started) is inserted with the decrement. */
enum err store_token_consume(struct store *s, const char *token, int64_t now,
                             const struct event *ev, enum token_state *ret_state,
                             struct ticket *ret);

/* Gives back one attempt that store_token_consume took, to the ticket that
 * has this token now (attempts + 1, at most LIMIT_ATTEMPTS; time_update =
 * now): for an upload whose bytes arrived but could not be stored. Resolved
 * and expiry are not touched. ERR_NOT_FOUND when no ticket has the token (it
 * was replaced, or the ticket deleted). */
enum err store_token_refund(struct store *s, const char *token);

/* Inserts an archive row (id, times and ticket_number ignored; time_create =
 * time_update = now) for a->ticket_id. ERR_REFERENCE when the ticket is gone
 * (deleted during the upload); ERR_EXISTS when path is taken.
 * The archive's bytes are on disk by then, so while the database is
 * unavailable (ERR_UNAVAILABLE: unreachable, or busy) this keeps trying, with
 * the backend's reconnect, for store_options.archive_wait seconds: the calling
 * thread blocks meanwhile, call it from a worker. A try after one whose commit
 * may have gone through unanswered takes the row it finds with the same path,
 * ticket, size and SHA-256 as its own. */
enum err store_archive_create(struct store *s, const struct archive *a, const struct event *ev,
                              struct archive *ret);
enum err store_archive_get(struct store *s, int64_t id, struct archive *ret);
/* Archives matching f, newest first (time_create desc, id desc). */
enum err store_archive_list(struct store *s, const struct archive_filter *f,
                            struct archive **ret_items, size_t *ret_n, int64_t *ret_total);
/* Moves the archive to the ticket numbered new_ticket_number and sets its path
 * and name (the bytes were moved by the caller, which may have had to suffix
 * the name); time_update = now. ERR_NOT_FOUND for the archive, ERR_REFERENCE
 * for the ticket, ERR_EXISTS when new_path is taken. */
enum err store_archive_move(struct store *s, int64_t id, int64_t new_ticket_number,
                            const char *new_path, const char *new_name, const struct event *ev,
                            struct archive *ret);
/* Deletes the row; *ret_path (size 512, may be NULL) gets the path. ERR_NOT_FOUND. */
enum err store_archive_delete(struct store *s, int64_t id, const struct event *ev, char *ret_path);
/* True in *ret when some archive row has this path (for `cleanup`). */
enum err store_archive_path_exists(struct store *s, const char *path, bool *ret);
/* Calls fn for every archive row (for `cleanup`), in id order. No statement or
 * transaction is open while fn runs, so fn may call the store (even delete). */
enum err store_archive_each(struct store *s, void (*fn)(const struct archive *a, void *ctx),
                            void *ctx);

/* --- events (the audit log), webhooks, mail, retention --- */

/* Inserts ev on its own (an event that records no change: a failed login, a
 * download), with its deliveries and mail as described at struct event. */
enum err store_event_add(struct store *s, const struct event *ev);
/* Events matching f, newest first (time desc, id desc); *ret_total (may be
 * NULL) gets the count ignoring limit/offset. Free the array with free(). */
enum err store_event_list(struct store *s, const struct event_filter *f, struct event **ret_items,
                          size_t *ret_n, int64_t *ret_total);
/* Deletes the events older than `before` (with their deliveries and mail);
 * *ret_n (may be NULL) gets how many. */
enum err store_event_prune(struct store *s, int64_t before, int64_t *ret_n);

/* Webhooks by id; ERR_NOT_FOUND. Creating one past LIMIT_WEBHOOKS is ERR_EXISTS. */
enum err store_webhook_create(struct store *s, const struct webhook *w, const struct event *ev,
                              struct webhook *ret);
enum err store_webhook_get(struct store *s, int64_t id, struct webhook *ret);
/* All webhooks by id, with their pending and failed counts. */
enum err store_webhook_list(struct store *s, struct webhook **ret_items, size_t *ret_n);
/* Sets url, events and active (the secret stays). */
enum err store_webhook_update(struct store *s, int64_t id, const struct webhook *w,
                              const struct event *ev, struct webhook *ret);
/* Deletes the webhook with its deliveries and their attempts. */
enum err store_webhook_delete(struct store *s, int64_t id, const struct event *ev);

/*
 * Claims the next due delivery (pending, next_at <= now, no live lease) for
 * owner until lease_until, atomically: of several processes claiming at once
 * each gets another delivery (PostgreSQL: SKIP LOCKED; SQLite: the write
 * lock), and a lease that ran out (its process died) is taken over.
 * ERR_NOT_FOUND when nothing is due.
 */
enum err store_delivery_claim(struct store *s, const char *owner, int64_t now, int64_t lease_until,
                              struct delivery *ret);
/* Records the attempt res of delivery id (claimed by owner) and moves the
 * delivery to res->state, releasing the lease, in one transaction.
 * ERR_NOT_FOUND when owner no longer holds it (the attempt is recorded all the same). */
enum err store_delivery_finish(struct store *s, int64_t id, const char *owner,
                               const struct delivery_result *res);
/* The delivery log of webhook id, newest first, page limit (< 0: all) from offset. */
enum err store_delivery_log(struct store *s, int64_t webhook_id, int64_t limit, int64_t offset,
                            struct delivery_log **ret_items, size_t *ret_n, int64_t *ret_total);
/* Deliveries waiting (pending) over all webhooks. */
enum err store_delivery_pending(struct store *s, int64_t *ret_n);

/*
 * Claims the upload mail of one ticket for owner until lease_until: every
 * queued archive of the first ticket whose newest one is older than
 * quiet_before or whose oldest one is older than max_before, not leased by a
 * live owner (at most LIMIT_MAIL_FILES; the rest stays for the next mail).
 * ERR_NOT_FOUND when no ticket's mail is due.
 */
enum err store_mail_claim(struct store *s, const char *owner, int64_t now, int64_t quiet_before,
                          int64_t max_before, int64_t lease_until, struct mail_item **ret_items,
                          size_t *ret_n);
/* The claimed mail of ticket was sent (or dropped): its rows go. */
enum err store_mail_done(struct store *s, const char *owner, int64_t ticket);
/* Sending failed: the claimed rows wait until retry_at, one attempt more. */
enum err store_mail_retry(struct store *s, const char *owner, int64_t ticket, int64_t retry_at);

/* The archives whose platform keeps archives keep_days and whose ticket was
 * resolved longer ago than that at `now`, oldest first. */
enum err store_retention_archives(struct store *s, int64_t now, struct retention_item **ret_items,
                                  size_t *ret_n);
/* The numbers of open tickets whose platform resolves tickets untouched for
 * resolve_days and which are, at `now`. */
enum err store_retention_tickets(struct store *s, int64_t now, int64_t **ret_numbers,
                                 size_t *ret_n);

/* --- bulk copy (migrate-data) --- */

/*
 * Copying one store into another keeps every id, number, token, time and hash,
 * so that URLs, upload links, JWTs (user ids) and archive paths stay valid.
 * Protocol, on one thread of the TARGET store:
 *
 *     store_import_begin(t);
 *     store_import_user(t, u) ...       users first,
 *     store_import_platform(t, p) ...   then platforms,
 *     store_import_ticket(t, k) ...     tickets (they reference both),
 *     store_import_archive(t, a) ...    archives (they reference tickets);
 *     store_import_finish(t);           id sequences past the largest id;
 *     store_counts(t, &n);              (optional) sees the rows imported so far;
 *     store_import_commit(t);           or store_import_rollback(t) on any error.
 *
 * Everything between begin and commit is one transaction on one connection
 * owned by the calling thread: a failure leaves the target as it was. One
 * import per store at a time; other threads (and the calling thread's
 * ordinary store calls, which start their own transactions) must not use the
 * store meanwhile. The import_* calls return ERR_INTERNAL when no import was
 * begun on this thread; otherwise the usual ERR_EXISTS (a taken id or unique
 * key), ERR_REFERENCE (a missing platform, user or ticket), ERR_DB.
 *
 * Not copied: sessions (everybody logs in again) and backup codes (users
 * with 2FA make new ones on their profile page); the users' TOTP secrets are
 * copied with them. Aggregates and joined names
 * (ticket.platform, ticket.user, archives, size, archive.ticket_number) are
 * ignored: the ids are what is stored.
 */

/* --- resumable uploads (tus): the metadata of an upload in progress; its
 * bytes and digest state are the blob store's partial upload of the same id --- */

#define UPLOAD_ID_LEN 32 /* lower-case hex, as blob.h's BLOB_PARTIAL_ID */

struct upload_row {
    char id[UPLOAD_ID_LEN + 1];
    int64_t ticket_id;
    int64_t ticket_number;     /* joined */
    char token[TOKEN_LEN + 1]; /* the token that created it; "" when staff did */
    int64_t user_id;           /* the staff user who created it; 0 when a token did */
    char name[LIMIT_FILENAME + 1];
    char filetype[LIMIT_FILETYPE + 1];
    char metadata[LIMIT_TUS_METADATA + 1]; /* Upload-Metadata as the client sent it */
    int64_t length;                        /* Upload-Length */
    char uploader_ip[46];
    char uploader_agent[256];
    int64_t expires_at; /* removed after this without progress */
    int64_t time_create;
    int64_t time_update;
    /* complete: the archive it became (0 while bytes are still to come), whose
     * SHA-256 is joined; the row stays until it expires, so that a client whose
     * last answer was lost learns that it is done */
    int64_t archive_id;
    char archive_sha256[65];
};

/*
 * Inserts upload u (id, ticket_id, token or user_id, name, filetype, metadata,
 * length, uploader, expires_at; times = now). With take_attempt, one attempt of
 * u->token is consumed in the same transaction by the rules of
 * store_token_consume: *ret_state gets the token's state, and the row is
 * inserted only when it is TOKEN_OK (so exactly k creations succeed on k
 * attempts, whatever the concurrency); ev (may be NULL) is recorded with it.
 * ret (may be NULL) gets the row.
 * ERR_EXISTS (id taken), ERR_REFERENCE (no such ticket or user).
 */
enum err store_upload_create(struct store *s, const struct upload_row *u, bool take_attempt,
                             int64_t now, const struct event *ev, enum token_state *ret_state,
                             struct upload_row *ret);
/* The upload `id`; ERR_NOT_FOUND. */
enum err store_upload_get(struct store *s, const char *id, struct upload_row *ret);
/* Progress: expires_at moves to `expires_at`, time_update to now. ERR_NOT_FOUND. */
enum err store_upload_touch(struct store *s, const char *id, int64_t expires_at);
/* Removes the row (not the bytes: the caller does). ERR_NOT_FOUND. */
enum err store_upload_delete(struct store *s, const char *id);
/* The upload is complete: in one transaction the archive row a is inserted
 * (with ev, as store_archive_create) and the upload's row names it
 * (archive_id; the row goes with the archive, or when it expires or is swept
 * like any other); waits for the database like store_archive_create. *ret
 * (may be NULL) gets the archive. ERR_NOT_FOUND when the upload row is gone
 * (terminated, swept, its ticket deleted) or already finished. */
enum err store_upload_finish(struct store *s, const char *id, const struct archive *a,
                             const struct event *ev, struct archive *ret);
/* Ids (a malloc'ed array of UPLOAD_ID_LEN + 1 strings, the caller frees) of at
 * most `max` uploads that can no longer go on at time now: expired without
 * progress, ticket resolved, or created with a token that was replaced or has
 * expired. */
enum err store_upload_stale(struct store *s, int64_t now, size_t max,
                            char (**ret_ids)[UPLOAD_ID_LEN + 1], size_t *ret_n);
/* Whether upload `id` has a row. */
enum err store_upload_exists(struct store *s, const char *id, bool *ret);

/* Number of rows per table. */
struct store_counts {
    int64_t users, platforms, tickets, archives;
};

/* Counts the rows of every table in one statement (one snapshot). On the
 * thread that has an import open, the import's uncommitted rows are counted. */
enum err store_counts(struct store *s, struct store_counts *ret);

/* Begins the import transaction on the calling thread. ERR_INTERNAL when an
 * import is already open on s; ERR_UNAVAILABLE / ERR_DB from the database. */
enum err store_import_begin(struct store *s);
/* Commits and ends the import. On failure the import is rolled back and ended. */
enum err store_import_commit(struct store *s);
/* Rolls back and ends the import; nothing when none is open on this thread. */
void store_import_rollback(struct store *s);

/* Inserts u as it is: id, username, password_hash, flags, name, email,
 * created, last_login (0: NULL), the TOTP secret, enabled flag and counter. */
enum err store_import_user(struct store *s, const struct user *u);
/* Inserts p with its id. */
enum err store_import_platform(struct store *s, const struct platform *p);
/* Inserts t with its id, number, platform_id, user_id (0: NULL), resolved,
 * note (NULL: ""), token, attempts, expires_at (0: NULL), time_create and
 * time_update. */
enum err store_import_ticket(struct store *s, const struct ticket *t);
/* Inserts a with its id, ticket_id, name, path, size, digests, uploader,
 * time_create and time_update. */
enum err store_import_archive(struct store *s, const struct archive *a);
/* Moves every table's id generator past its largest id, so that rows created
 * after the import get new ids. Call it inside the import, before commit. */
enum err store_import_finish(struct store *s);
