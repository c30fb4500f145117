/* mail.c - the upload mail: recipients, the message (text, UTF-8, base64) and SMTP through libcurl.
 */
#include <curl/curl.h>
#include <jansson.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "auth/token.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/util.h"
#include "jobs/mail.h"

#define MAIL_TIMEOUT_S 30 /* also bounds how long a stopping server waits for a mail */
#define MAX_RCPT       16

bool mail_address_ok(const char *s)
{
    size_t n = strlen(s);
    const char *at = strchr(s, '@');
    if (!n || n > LIMIT_EMAIL || !at || at == s || !at[1] || strchr(at + 1, '@'))
        return false;
    for (const char *p = s; *p; p++)
        if ((unsigned char)*p <= ' ' || *p == 0x7f || strchr("<>,;\"()[]\\", *p))
            return false;
    return true;
}

/* A growing message; failed after out of memory. */
struct msg {
    char *buf;
    size_t len, cap, sent;
    bool failed;
};

__attribute__((format(printf, 2, 3))) static void add(struct msg *m, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    int n = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (n < 0 || m->failed) {
        m->failed = true;
        if (n >= 0)
            free(s);
        return;
    }
    if (m->len + (size_t)n + 1 > m->cap) {
        size_t cap = m->cap ? m->cap : 4096;
        while (cap < m->len + (size_t)n + 1)
            cap *= 2;
        char *nb = realloc(m->buf, cap);
        if (!nb) {
            m->failed = true;
            free(s);
            return;
        }
        m->buf = nb;
        m->cap = cap;
    }
    memcpy(m->buf + m->len, s, (size_t)n + 1);
    m->len += (size_t)n;
    free(s);
}

/* Adds addr to the recipients unless it is there, malformed or the list is full. */
static void rcpt_add(char list[][LIMIT_EMAIL + 1], int *n, const char *addr)
{
    if (!mail_address_ok(addr) || *n >= MAX_RCPT)
        return;
    for (int i = 0; i < *n; i++)
        if (strcasecmp(list[i], addr) == 0)
            return;
    str_copy(list[(*n)++], LIMIT_EMAIL + 1, addr);
}

/* The ticket's creator (when they want it) and the platform's extra addresses. */
static enum err recipients(struct app *a, int64_t number, char list[][LIMIT_EMAIL + 1], int *n,
                           char *platform, size_t plen)
{
    struct ticket t;
    enum err e = store_ticket_get(a->store, number, &t);
    if (e)
        return e;
    str_copy(platform, plen, t.platform);
    int64_t uid = t.user_id;
    store_ticket_clear(&t);
    struct user u;
    if (uid && !(e = store_user_get_by_id(a->store, uid, &u)) && u.is_active && u.email[0] &&
        u.upload_mail)
        rcpt_add(list, n, u.email);
    if (e && e != ERR_NOT_FOUND)
        return e;
    struct platform p;
    e = store_platform_get(a->store, platform, &p);
    if (e == ERR_NOT_FOUND)
        return ERR_OK;
    if (e)
        return e;
    char *save = NULL;
    for (char *tok = strtok_r(p.notify_emails, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save))
        rcpt_add(list, n, tok);
    return ERR_OK;
}

/* Human size: "1.5 MiB". */
static void human(int64_t v, char out[32])
{
    static const char *const units[] = {"bytes", "KiB", "MiB", "GiB", "TiB"};
    double d = (double)v;
    int u = 0;
    while (d >= 1024 && u < 4) {
        d /= 1024;
        u++;
    }
    if (u == 0)
        snprintf(out, 32, "%lld bytes", (long long)v);
    else
        snprintf(out, 32, "%.1f %s", d, units[u]);
}

/* The plain text of the mail. */
static void compose_body(struct app *a, const struct mail_item *items, size_t n,
                         const char *platform, struct msg *b)
{
    int64_t ticket = items[0].ticket;
    add(b, "%zu file%s uploaded to ticket %lld (platform %s):\n\n", n, n == 1 ? " was" : "s were",
        (long long)ticket, platform);
    int64_t total = 0;
    for (size_t i = 0; i < n; i++) {
        json_error_t jerr;
        json_t *d = json_loads(items[i].ev.detail, 0, &jerr);
        const char *name = json_string_value(json_object_get(d, "name"));
        const char *sha = json_string_value(json_object_get(d, "sha256"));
        int64_t size = json_integer_value(json_object_get(d, "size"));
        total += size;
        if (i < LIMIT_MAIL_FILES) {
            char h[32];
            human(size, h);
            add(b, "  %s\n    size:    %lld bytes (%s)\n    SHA-256: %s\n\n", name ? name : "?",
                (long long)size, h, sha ? sha : "?");
        }
        json_decref(d);
    }
    if (n > LIMIT_MAIL_FILES)
        add(b, "  ... and %zu more\n\n", n - LIMIT_MAIL_FILES);
    char h[32];
    human(total, h);
    add(b, "In all: %lld bytes (%s).\n\n", (long long)total, h);
    char base[600];
    if (a->cfg.public_url[0])
        snprintf(base, sizeof(base), "%s", a->cfg.public_url);
    else
        snprintf(base, sizeof(base), "http://%s:%d", a->cfg.bind_host, a->cfg.bind_port);
    /* the console's ticket page; platform names are slugs: nothing to escape */
    add(b, "Open the ticket: %s/tickets/show/%s/%lld/\n", base, platform, (long long)ticket);
    add(b, "\n-- \nlogs-collector. Switch these mails off in your profile.\n");
}

/* The whole message: headers, then the body in base64 lines of 76. */
static void compose(struct app *a, const struct mail_item *items, size_t n, const char *platform,
                    char rcpt[][LIMIT_EMAIL + 1], int nrcpt, struct msg *m)
{
    struct msg body = {0};
    compose_body(a, items, n, platform, &body);
    if (body.failed) {
        m->failed = true;
        return;
    }
    char date[64], id[33];
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
    token_hex(id, 16);
    const char *domain = strchr(a->cfg.smtp_from, '@') + 1;
    add(m, "Date: %s\r\nFrom: logs-collector <%s>\r\nTo: ", date, a->cfg.smtp_from);
    for (int i = 0; i < nrcpt; i++)
        add(m, "%s%s", i ? ", " : "", rcpt[i]);
    add(m,
        "\r\nSubject: Ticket %lld: %zu file%s uploaded\r\nMessage-ID: <%s@%s>\r\n"
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: base64\r\nAuto-Submitted: auto-generated\r\n\r\n",
        (long long)items[0].ticket, n, n == 1 ? "" : "s", id, domain);
    size_t b64len = sodium_base64_encoded_len(body.len, sodium_base64_VARIANT_ORIGINAL);
    char *b64 = malloc(b64len);
    if (!b64) {
        m->failed = true;
        free(body.buf);
        return;
    }
    sodium_bin2base64(b64, b64len, (const unsigned char *)body.buf, body.len,
                      sodium_base64_VARIANT_ORIGINAL);
    size_t blen = strlen(b64);
    for (size_t i = 0; i < blen; i += 76)
        add(m, "%.*s\r\n", (int)(blen - i < 76 ? blen - i : 76), b64 + i);
    free(b64);
    free(body.buf);
}

static size_t read_msg(char *out, size_t size, size_t nitems, void *ctx)
{
    struct msg *m = ctx;
    size_t room = size * nitems, left = m->len - m->sent;
    size_t k = left < room ? left : room;
    memcpy(out, m->buf + m->sent, k);
    m->sent += k;
    return k;
}

/* Sends m to the recipients through SMTP_URL. */
static enum err smtp_send(const struct config *c, char rcpt[][LIMIT_EMAIL + 1], int nrcpt,
                          struct msg *m)
{
    CURL *h = curl_easy_init();
    struct curl_slist *to = NULL;
    char from[LIMIT_EMAIL + 3], errbuf[CURL_ERROR_SIZE] = "";
    snprintf(from, sizeof(from), "<%.*s>", LIMIT_EMAIL, c->smtp_from);
    for (int i = 0; i < nrcpt; i++) {
        char a[LIMIT_EMAIL + 3];
        snprintf(a, sizeof(a), "<%.*s>", LIMIT_EMAIL, rcpt[i]);
        struct curl_slist *nl = curl_slist_append(to, a);
        if (!nl) {
            curl_slist_free_all(to);
            curl_easy_cleanup(h);
            return ERR_NOMEM;
        }
        to = nl;
    }
    bool implicit = strncasecmp(c->smtp_url, "smtps://", 8) == 0;
    CURLcode rc = h ? CURLE_OK : CURLE_OUT_OF_MEMORY;
#define SET(opt, val)                                                                              \
    if (!rc)                                                                                       \
    rc = curl_easy_setopt(h, opt, val)
    SET(CURLOPT_URL, c->smtp_url);
    SET(CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    SET(CURLOPT_USE_SSL,
        implicit || c->smtp_starttls ? (long)CURLUSESSL_ALL : (long)CURLUSESSL_NONE);
    SET(CURLOPT_MAIL_FROM, from);
    SET(CURLOPT_MAIL_RCPT, to);
    SET(CURLOPT_READFUNCTION, read_msg);
    SET(CURLOPT_READDATA, m);
    SET(CURLOPT_UPLOAD, 1L);
    SET(CURLOPT_INFILESIZE_LARGE, (curl_off_t)m->len);
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_TIMEOUT, (long)MAIL_TIMEOUT_S);
    SET(CURLOPT_ERRORBUFFER, errbuf);
    if (c->smtp_user[0])
        SET(CURLOPT_USERNAME, c->smtp_user);
    if (c->smtp_password[0])
        SET(CURLOPT_PASSWORD, c->smtp_password);
#undef SET
    if (!rc)
        rc = curl_easy_perform(h);
    curl_slist_free_all(to);
    curl_easy_cleanup(h);
    if (rc) {
        log_warn("mail: SMTP failed: %s", errbuf[0] ? errbuf : curl_easy_strerror(rc));
        return ERR_UNAVAILABLE;
    }
    return ERR_OK;
}

enum err mail_send_batch(struct app *a, const struct mail_item *items, size_t n)
{
    if (!n)
        return ERR_OK;
    char rcpt[MAX_RCPT][LIMIT_EMAIL + 1], platform[LIMIT_PLATFORM_NAME + 1] = "";
    int nrcpt = 0;
    enum err e = recipients(a, items[0].ticket, rcpt, &nrcpt, platform, sizeof(platform));
    if (e == ERR_NOT_FOUND) {
        log_info("mail: ticket %lld is gone; %zu upload(s) not mailed", (long long)items[0].ticket,
                 n);
        return ERR_OK;
    }
    if (e)
        return ERR_UNAVAILABLE;
    if (!nrcpt) {
        log_debug("mail: nobody to tell about %zu upload(s) to ticket %lld", n,
                  (long long)items[0].ticket);
        return ERR_OK;
    }
    struct msg m = {0};
    compose(a, items, n, platform, rcpt, nrcpt, &m);
    if (m.failed) {
        free(m.buf);
        return ERR_NOMEM;
    }
    e = smtp_send(&a->cfg, rcpt, nrcpt, &m);
    free(m.buf);
    if (!e) {
        metrics_add(MET_MAIL_SENT, 1);
        log_info("mail: %zu upload(s) to ticket %lld mailed to %d recipient(s)", n,
                 (long long)items[0].ticket, nrcpt);
    }
    return e;
}
