/* log.c - leveled logging to stderr, one write(2) per line so threads never interleave. */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"

static atomic_int min_level = LOG_INFO;
static atomic_int out_fd = STDERR_FILENO;

static const char *const level_names[] = {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"};

void log_set_level(enum log_level level)
{
    atomic_store(&min_level, (int)level);
}

enum log_level log_get_level(void)
{
    return (enum log_level)atomic_load(&min_level);
}

int log_level_parse(const char *s)
{
    if (!s)
        return -1;
    for (int i = 0; i <= LOG_CRITICAL; i++)
        if (strcasecmp(s, level_names[i]) == 0)
            return i;
    if (strcasecmp(s, "warn") == 0)
        return LOG_WARNING;
    return -1;
}

static void write_all(const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(atomic_load(&out_fd), p, n);
        if (w <= 0)
            return; /* nowhere left to report a failing stderr */
        p += w;
        n -= (size_t)w;
    }
}

void log_msg(enum log_level level, const char *fmt, ...)
{
    if ((int)level < atomic_load(&min_level))
        return;
    char line[2048];
    struct timeval tv;
    struct tm tm;
    gettimeofday(&tv, NULL);
    localtime_r(&tv.tv_sec, &tm);
    size_t n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
    int m = snprintf(line + n, sizeof(line) - n, ".%03d %s ", (int)(tv.tv_usec / 1000),
                     level_names[level]);
    n += (size_t)(m > 0 ? m : 0);
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
    va_end(ap);
    if (k < 0)
        k = 0;
    n += (size_t)k < sizeof(line) - n - 1 ? (size_t)k : sizeof(line) - n - 2;
    /* one message, one line: control characters from client data never split it */
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)line[i] < 0x20)
            line[i] = ' ';
    line[n++] = '\n';
    write_all(line, n);
}

void log_raw(const char *line)
{
    size_t n = strlen(line);
    char buf[4096];
    if (n + 1 > sizeof(buf))
        n = sizeof(buf) - 1;
    memcpy(buf, line, n);
    buf[n++] = '\n';
    write_all(buf, n);
}

void log_set_fd(int fd)
{
    atomic_store(&out_fd, fd);
}
