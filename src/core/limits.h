/* limits.h - every limit on a resource a client controls, in one place. */
#pragma once

/* Per-connection memory of the HTTP engine (its connection pool). The request
 * head must fit in it with ~56 bytes of bookkeeping per header line, else 431
 * (with 64 KiB: 16 KiB of headers in 40-byte lines, 32 KiB in 100-byte lines,
 * ~60 KiB in one line); the first body read takes half of it. The engine
 * (0.9.75) zeroes all of it whenever it keeps a connection for another request.
 * 64 KiB rather than 128: ~4 % less PUT throughput, 17 MB less resident for
 * 1000 slow uploads, half the zeroing per kept connection; 32 KiB or less is
 * malloc'd and reads 16 KiB at a time: ~12 % slower big uploads
 * (docs/performance.md, "Connection memory"). */
#define LIMIT_CONN_MEMORY   (64 * 1024)
#define LIMIT_URL           4096              /* request target, bytes */
#define LIMIT_JSON_BODY     (1024 * 1024)     /* JSON request body, bytes */
#define LIMIT_JSON_DEPTH    32                /* nesting of arrays/objects in a JSON body */
#define LIMIT_FILENAME      255               /* stored archive name, bytes */
#define LIMIT_PAGE_DEFAULT  100               /* list page size when only offset is given */
#define LIMIT_PAGE_MAX      1000              /* largest accepted ?limit= */
#define LIMIT_FILTER_IN     100               /* values in one comma-list filter */
#define LIMIT_FILTER_TEXT   64                /* bytes of a text filter (search, user) */
#define LIMIT_CONN_PER_IP   100               /* default MAX_CONNECTIONS_PER_IP */
#define LIMIT_CONNECTIONS   4096              /* simultaneous connections in all */
#define LIMIT_NOTE          65536             /* ticket note, bytes */
#define LIMIT_NOTE_HTML     (16 * LIMIT_NOTE) /* a note rendered as HTML, bytes */
#define LIMIT_USERNAME      150               /* as Django's auth user */
#define LIMIT_PASSWORD      4096              /* longest accepted password, bytes */
#define LIMIT_PLATFORM_NAME 20
/* Text limits count characters (as Django's max_length does); a buffer for
 * one holds up to 4 UTF-8 bytes a character. */
#define UTF8_BYTES(chars)      ((chars)*4)
#define LIMIT_PRETTY_NAME      100
#define LIMIT_EMAIL            254
#define LIMIT_ATTEMPTS         100               /* ticket attempts are 0..LIMIT_ATTEMPTS */
#define LIMIT_WORK_QUEUE       LIMIT_CONNECTIONS /* waiting slow jobs: at most one per connection */
#define LIMIT_WORKERS          2    /* worker threads: also caps concurrent argon2 hashes */
#define LIMIT_LOGIN_FAILS      5    /* failed logins per client address per window ... */
#define LIMIT_LOGIN_USER_FAILS 10   /* ... and per username (from any address) ... */
#define LIMIT_LOGIN_WINDOW     300  /* ... of this many seconds */
#define LIMIT_TOKEN_MISSES     30   /* unknown-token look-ups per client per window ... */
#define LIMIT_TOKEN_WINDOW     60   /* ... of this many seconds */
#define LIMIT_RATE_SLOTS       4096 /* client addresses tracked by each rate limiter */
#define LIMIT_DRAIN                                                                                \
    ((int64_t)1 << 30)          /* body bytes read and dropped after a refusal so                  \
                                  the client (or proxy) gets the answer instead                    \
                                  of a reset; past this the connection closes */
#define LIMIT_TUS_METADATA 4096 /* bytes of a tus Upload-Metadata header */
#define LIMIT_FILETYPE     255  /* bytes of a resumable upload's declared file type */
#define LIMIT_TUS_CHECKPOINT                                                                       \
    ((int64_t)128 * 1024 * 1024) /* bytes between durable saves of a resumable upload              \
                                  */
#define LIMIT_TUS_SWEEP      60  /* seconds between sweeps of stale resumable uploads */
#define LIMIT_TUS_TOUCH      60  /* seconds between two writes of a resumable upload's expiry */
#define LIMIT_TUS_LOCK_WAIT  50  /* ms a PATCH waits for the save of the request before */
#define LIMIT_SHUTDOWN_GRACE 30  /* seconds in-flight requests get on SIGTERM */
#define LIMIT_ARCHIVE_ROW_WAIT                                                                     \
    30                         /* seconds the row of a received upload waits for an unavailable    \
                                  database (its bytes are on disk) before the upload fails */
#define LIMIT_SESSION_TOUCH 60 /* seconds between two writes of a session's last_seen */
#define LIMIT_OTP           16 /* bytes of a one-time or backup code as typed */
#define LIMIT_BACKUP_CODES  10 /* backup codes a user gets at a time */
#define TOTP_SECRET_MAX     64 /* base32 characters of a stored TOTP secret */

/* Events, notifications and retention (issue 14). */
#define LIMIT_EVENT_KIND   40   /* bytes of an event kind ("upload.finished") */
#define LIMIT_EVENT_DETAIL 2048 /* bytes of an event's detail object (compact JSON) */
#define LIMIT_EVENT_QUEUE                                                                          \
    1024 /* events waiting for the background writer (then dropped, logged)                        \
          */
#define LIMIT_NOTIFY_EMAILS  1024  /* bytes of a platform's extra mail recipients */
#define LIMIT_WEBHOOKS       100   /* registered webhooks */
#define LIMIT_WEBHOOK_URL    2048  /* bytes of a webhook URL */
#define LIMIT_WEBHOOK_EVENTS 32    /* event kinds one webhook names */
#define LIMIT_WEBHOOK_ANSWER 4096  /* bytes of a receiver's answer kept (the rest is dropped) */
#define LIMIT_MAIL_FILES     500   /* archives named in one upload mail (more: counted) */
#define LIMIT_RETENTION_DAYS 36500 /* a platform's keep_days / resolve_days */
