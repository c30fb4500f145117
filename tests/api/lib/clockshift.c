/* clockshift.c - an LD_PRELOAD object for the API tests: moves the wall clock of the
 * process it is loaded into by the number of seconds in the file named by
 * LC_CLOCK_SHIFT_FILE, read again at every call, so that a test lets hours pass (a
 * rate-limit window, cleanup's one-hour age) without waiting for them. Only the wall
 * clock moves (clock_gettime of CLOCK_REALTIME*, time, gettimeofday); monotonic clocks,
 * and so every timeout, run on. Built with the tests (meson.build); the harness loads
 * it after the sanitizer runtime (tests/api/lib/server.mjs, makeClock). */
#include <dlfcn.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

/* The shift in seconds: 0 when the file is missing, empty or unreadable. */
static long long shift(void)
{
    const char *f = getenv("LC_CLOCK_SHIFT_FILE");
    if (!f)
        return 0;
    int fd = open(f, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    char buf[32];
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    return strtoll(buf, NULL, 10);
}

int clock_gettime(clockid_t id, struct timespec *ts)
{
    static int (*real)(clockid_t, struct timespec *);
    if (!real)
        *(void **)&real = dlsym(RTLD_NEXT, "clock_gettime");
    int rc = real(id, ts);
    if (rc == 0 && (id == CLOCK_REALTIME || id == CLOCK_REALTIME_COARSE))
        ts->tv_sec += (time_t)shift();
    return rc;
}

time_t time(time_t *ret)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
        return (time_t)-1;
    if (ret)
        *ret = ts.tv_sec;
    return ts.tv_sec;
}

int gettimeofday(struct timeval *restrict tv, void *restrict tz)
{
    static int (*real)(struct timeval *, void *);
    if (!real)
        *(void **)&real = dlsym(RTLD_NEXT, "gettimeofday");
    int rc = real(tv, tz);
    if (rc == 0)
        tv->tv_sec += (time_t)shift();
    return rc;
}
