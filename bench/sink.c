/* sink.c - the upload ceiling: a minimal HTTP/1.1 server that reads one request and
 * throws its body away.
 *
 * Built and run by bench/upload.sh:
 *   cc -O2 -o /tmp/sink bench/sink.c
 *   /tmp/sink [count]
 * It listens on 127.0.0.1 on a free port, prints that port on stdout, then serves
 * `count` connections (default 1) one after the other: reads the headers, answers
 * `100 Continue` when asked, reads and discards Content-Length body bytes, answers
 * 201 and closes. No hashing, no disk: what curl can push through loopback.
 *
 * With --tus (bench/tus.sh), each connection is kept for as many requests as the client
 * sends, and answered as a tus server would answer the requests of one upload: a POST
 * with 201 and a Location, a PATCH (its body discarded) with 204 and the Upload-Offset
 * it reaches. Nothing is checked or kept: the ceiling of a tus client's PATCHes on this
 * box, what no tus server can beat with that client.
 *   /tmp/sink --tus [count]
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define HEAD_MAX (16 * 1024)
#define BODY_BUF (1024 * 1024)

/* Reads from fd until the end of the headers ("\r\n\r\n"). head receives up to
 * HEAD_MAX - 1 bytes, NUL-terminated; *ret_len is the header length (through the blank
 * line), *ret_got all bytes read (body bytes may follow the headers). Returns 0, or -1
 * on a read error, EOF or headers longer than HEAD_MAX - 1. */
static int read_head(int fd, char *head, size_t *ret_len, size_t *ret_got)
{
    size_t got = 0;
    *ret_got = 0;
    for (;;) {
        if (got >= HEAD_MAX - 1)
            return -1;
        ssize_t n = read(fd, head + got, HEAD_MAX - 1 - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        got += (size_t)n;
        *ret_got = got;
        head[got] = 0;
        char *end = strstr(head, "\r\n\r\n");
        if (end) {
            *ret_len = (size_t)(end - head) + 4;
            *ret_got = got;
            return 0;
        }
    }
}

/* The value of header `name` (case-insensitive) in head, or NULL. Points into head,
 * which must be NUL-terminated; the value ends at the next "\r\n". */
static const char *header(const char *head, const char *name)
{
    size_t len = strlen(name);
    for (const char *p = strstr(head, "\r\n"); p; p = strstr(p, "\r\n")) {
        p += 2;
        if (strncasecmp(p, name, len) == 0 && p[len] == ':') {
            p += len + 1;
            while (*p == ' ' || *p == '\t')
                p++;
            return p;
        }
    }
    return NULL;
}

/* Writes all len bytes of buf to fd. Returns 0, or -1 on a write error. */
static int write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Serves one request on fd (which the caller closes): headers, optional 100 Continue,
 * Content-Length body bytes discarded into buf (BODY_BUF bytes), 201 (or, with tus, the
 * answer a tus server gives, the connection kept). Returns 0, 1 when the client closed
 * the connection before a request, or -1 when the request is malformed or the
 * connection fails. */
static int serve(int fd, char *head, char *buf, bool tus)
{
    size_t hlen, got;
    if (read_head(fd, head, &hlen, &got) != 0)
        return got == 0 ? 1 : -1;
    const char *cl = header(head, "Content-Length");
    if (!cl)
        return -1;
    char *endp;
    errno = 0;
    long long want = strtoll(cl, &endp, 10);
    if (errno || endp == cl || want < 0)
        return -1;
    const char *expect = header(head, "Expect");
    if (expect && strncasecmp(expect, "100-continue", 12) == 0) {
        static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
        if (write_all(fd, cont, sizeof(cont) - 1) != 0)
            return -1;
    }
    long long left = want - (long long)(got - hlen);
    while (left > 0) {
        ssize_t n = read(fd, buf, left < BODY_BUF ? (size_t)left : BODY_BUF);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        left -= n;
    }
    char answer[256];
    int alen;
    if (tus && strncmp(head, "POST ", 5) == 0) {
        alen = snprintf(answer, sizeof(answer),
                        "HTTP/1.1 201 Created\r\nTus-Resumable: 1.0.0\r\n"
                        "Location: /files/sink\r\nContent-Length: 0\r\n\r\n");
        return write_all(fd, answer, (size_t)alen);
    }
    if (tus) {
        const char *off = header(head, "Upload-Offset");
        long long at = off ? strtoll(off, NULL, 10) : 0;
        alen = snprintf(answer, sizeof(answer),
                        "HTTP/1.1 204 No Content\r\nTus-Resumable: 1.0.0\r\n"
                        "Upload-Offset: %lld\r\n\r\n",
                        at + want);
        return write_all(fd, answer, (size_t)alen);
    }
    alen = snprintf(answer, sizeof(answer),
                    "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\n"
                    "Content-Length: %d\r\nConnection: close\r\n\r\n{\"size\":%lld}",
                    snprintf(NULL, 0, "{\"size\":%lld}", want), want);
    return write_all(fd, answer, (size_t)alen);
}

int main(int argc, char **argv)
{
    bool tus = argc > 1 && strcmp(argv[1], "--tus") == 0;
    if (tus) {
        argc--;
        argv++;
    }
    int count = argc > 1 ? atoi(argv[1]) : 1;
    int ls = socket(AF_INET, SOCK_STREAM, 0);
    if (ls < 0) {
        perror("sink: socket");
        return 1;
    }
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t salen = sizeof(sa);
    if (bind(ls, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(ls, 8) != 0 ||
        getsockname(ls, (struct sockaddr *)&sa, &salen) != 0) {
        perror("sink: bind/listen");
        return 1;
    }
    printf("%d\n", ntohs(sa.sin_port));
    fflush(stdout);

    char *head = malloc(HEAD_MAX);
    char *buf = malloc(BODY_BUF);
    if (!head || !buf) {
        fputs("sink: out of memory\n", stderr);
        return 1;
    }
    int rc = 0;
    for (int i = 0; i < count; i++) {
        int fd = accept(ls, NULL, NULL);
        if (fd < 0) {
            perror("sink: accept");
            rc = 1;
            break;
        }
        int r;
        do
            r = serve(fd, head, buf, tus);
        while (tus && r == 0);
        if (r < 0 || (!tus && r != 0)) {
            fputs("sink: bad request or connection lost\n", stderr);
            rc = 1;
        }
        close(fd);
    }
    free(head);
    free(buf);
    close(ls);
    return rc;
}
