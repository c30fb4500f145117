/* harness.c - starts app + server on 127.0.0.1:<any port> with SQLite in a temp dir (see
 * harness.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "app.h"
#include "auth/jwt.h"
#include "auth/password.h"
#include "auth/token.h"
#include "core/log.h"
#include "core/util.h"
#include "fuzz/harness.h"
#include "api/api.h"
#include "http/server.h"

static struct harness h;
static struct app app;
static struct server *srv;
static char dir[] = "/tmp/lc-fuzz-XXXXXX";

static void die(const char *what)
{
    fprintf(stderr, "fuzz harness: %s: %s\n", what, strerror(errno));
    abort();
}

static void stop(void)
{
    server_stop(srv);
    app_close(&app);
    char cmd[64];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "fuzz harness: could not remove %s\n", dir);
}

const struct harness *harness_get(void)
{
    if (srv)
        return &h;
    signal(SIGPIPE, SIG_IGN);
    if (!mkdtemp(dir))
        die("mkdtemp");
    setenv("DATA_DIR", dir, 1);
    setenv("BIND", "127.0.0.1:1", 1); /* replaced by port 0 below */
    setenv("THREADS", "2", 1);
    setenv("LOG_LEVEL", "critical", 1);
    struct config cfg;
    char err[256];
    if (config_load(&cfg, err, sizeof(err)) != ERR_OK)
        die(err);
    cfg.bind_port = 0;
    int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
    log_set_fd(devnull); /* the access log of a million requests helps nobody */
    if (app_open(&app, &cfg, APP_MIGRATE | APP_CREATE) != ERR_OK)
        die("app_open");

    struct user u = {.is_admin = true, .is_active = true};
    str_copy(u.username, sizeof(u.username), "fuzz");
    int64_t uid = 0;
    if (password_hash("fuzz-password", u.password_hash, sizeof(u.password_hash)) != ERR_OK ||
        store_user_create(app.store, &u, NULL, &uid) != ERR_OK)
        die("user");
    struct platform p = {0}, pout;
    str_copy(p.name, sizeof(p.name), "fuzz");
    str_copy(p.pretty_name, sizeof(p.pretty_name), "Fuzz");
    if (store_platform_create(app.store, &p, NULL, &pout) != ERR_OK)
        die("platform");
    struct ticket t = {.number = 1, .user_id = uid, .attempts = LIMIT_ATTEMPTS}, tout;
    str_copy(t.platform, sizeof(t.platform), "fuzz");
    token_uuid4(t.token);
    if (store_ticket_create(app.store, &t, NULL, &tout) != ERR_OK)
        die("ticket");
    store_ticket_clear(&tout);
    str_copy(h.token, sizeof(h.token), t.token);
    if (jwt_issue(app.secret_key, JWT_ACCESS, uid, now_us() / 1000000, 0, h.jwt, sizeof(h.jwt)) !=
        ERR_OK)
        die("jwt");
    if (server_start(&app, &api_routes, &srv) != ERR_OK)
        die("server_start");
    h.port = server_port(srv);
    atexit(stop);
    return &h;
}

/* Connects fd to the harness's server. libFuzzer's timers (SIGALRM) interrupt
 * system calls: a connect() cut short by one goes on in the background, and is
 * waited for here rather than taken for a failure. */
static void connect_loopback(int fd)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(h.port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
        return;
    if (errno != EINTR)
        die("connect");
    struct pollfd pfd = {.fd = fd, .events = POLLOUT};
    int n;
    while ((n = poll(&pfd, 1, 5000)) < 0 && errno == EINTR)
        ;
    int soerr = 0;
    socklen_t slen = sizeof(soerr);
    if (n != 1 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &slen) != 0 || soerr != 0) {
        errno = n == 0 ? ETIMEDOUT : soerr ? soerr : errno;
        die("connect (after EINTR)");
    }
}

void harness_exchange(const void *req, size_t len)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        die("socket");
    connect_loopback(fd);
    const char *p = req;
    while (len > 0) {
        ssize_t w = send(fd, p, len, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break; /* the server answered early and closed: fine */
        p += w;
        len -= (size_t)w;
    }
    shutdown(fd, SHUT_WR);
    /* the answer, until the server closes (or says nothing for 5 s) */
    char buf[65536];
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    for (;;) {
        int n = poll(&pfd, 1, 5000);
        if (n < 0 && errno == EINTR)
            continue;
        if (n != 1)
            break;
        ssize_t got = recv(fd, buf, sizeof(buf), 0);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            break;
    }
    close(fd);
}
