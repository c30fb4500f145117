/* test-blob.c - blob store: streamed digests, crash-safe placement, keys, walk, sweep, names. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "blob/blob.h"
#include "core/limits.h"
#include "core/log.h"
#include "core/util.h"

/* ------------------------------------------------------------- helpers -- */

static bool no_noreplace; /* see renameat2 below */

struct fx {
    char dir[64];
    struct blob_store *b;
};

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static int setup(void **state)
{
    no_noreplace = false;
    struct fx *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    strcpy(f->dir, "/tmp/test-blob-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    assert_int_equal(blob_open(f->dir, &f->b), ERR_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    blob_close(f->b);
    nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

/* DATA_DIR/<rel> as a path. */
static void path_of(const struct fx *f, const char *rel, char *out, size_t outlen)
{
    snprintf(out, outlen, "%s/%s", f->dir, rel);
}

static bool exists(const struct fx *f, const char *rel)
{
    char p[PATH_MAX];
    path_of(f, rel, p, sizeof(p));
    struct stat st;
    return lstat(p, &st) == 0;
}

/* Number of entries in DATA_DIR/<rel> other than . and .. */
static int count_dir(const char *p)
{
    DIR *d = opendir(p);
    assert_non_null(d);
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)))
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
            n++;
    closedir(d);
    return n;
}

static int count_entries(const struct fx *f, const char *rel)
{
    char p[PATH_MAX];
    path_of(f, rel, p, sizeof(p));
    return count_dir(p);
}

static void write_file(const struct fx *f, const char *rel, const char *content)
{
    char p[PATH_MAX];
    path_of(f, rel, p, sizeof(p));
    FILE *fp = fopen(p, "w");
    assert_non_null(fp);
    fputs(content, fp);
    fclose(fp);
}

/* Reads the archive at key through blob_open_read into a malloc'd buffer. */
static char *read_key(struct blob_store *b, const char *key, int64_t *ret_size)
{
    int fd = -1;
    int64_t size = -1;
    assert_int_equal(blob_open_read(b, key, &fd, &size), ERR_OK);
    char *buf = malloc((size_t)size + 1);
    assert_non_null(buf);
    int64_t got = 0;
    while (got < size) {
        ssize_t n = read(fd, buf + got, (size_t)(size - got));
        assert_true(n > 0);
        got += n;
    }
    assert_int_equal(read(fd, buf, 1), 0); /* size was the whole file */
    close(fd);
    buf[size] = '\0';
    *ret_size = size;
    return buf;
}

struct result {
    char key[512];
    char name[256];
    char md5[33];
    char sha256[65];
};

/* Uploads content in one chunk as `name` to ticket; asserts success. */
static void upload(struct blob_store *b, int64_t ticket, const char *name, const char *content,
                   struct result *r)
{
    struct blob_upload *u = NULL;
    assert_int_equal(blob_upload_begin(b, 0, &u), ERR_OK);
    assert_int_equal(blob_upload_write(u, content, strlen(content)), ERR_OK);
    assert_int_equal(blob_upload_finish(u, ticket, name, r->key, sizeof(r->key), r->name,
                                        sizeof(r->name), r->md5, r->sha256),
                     ERR_OK);
}

static void hex(const unsigned char *d, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", d[i]);
}

static void one_shot(const char *alg, const void *data, size_t len, char *out)
{
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned int dl = 0;
    assert_int_equal(EVP_Digest(data, len, d, &dl, EVP_get_digestbyname(alg), NULL), 1);
    hex(d, dl, out);
}

/*
 * Stands in for glibc's renameat2 so a test can play a file system without
 * RENAME_NOREPLACE (EINVAL), which sends blob.c down its link + unlink path.
 */
int renameat2(int olddirfd, const char *oldpath, int newdirfd, const char *newpath,
              unsigned int flags)
{
    if (no_noreplace && (flags & RENAME_NOREPLACE)) {
        errno = EINVAL;
        return -1;
    }
    return (int)syscall(SYS_renameat2, olddirfd, oldpath, newdirfd, newpath, flags);
}

/* ------------------------------------------------------------ uploads -- */

static void test_stream_20mib(void **state)
{
    struct fx *f = *state;
    size_t total = 20u * 1024 * 1024;
    unsigned char *data = malloc(total);
    assert_non_null(data);
    uint64_t x = 0x9E3779B97F4A7C15u;
    for (size_t i = 0; i < total; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        data[i] = (unsigned char)x;
    }

    struct blob_upload *u = NULL;
    assert_int_equal(blob_upload_begin(f->b, 0, &u), ERR_OK);
    assert_int_equal(count_entries(f, "tmp"), 1);
    static const size_t chunks[] = {1, 7, 4093, 65537, 1048579, 3, 262144, 8388609, 12345};
    size_t off = 0;
    for (size_t i = 0; off < total; i++) {
        size_t n = chunks[i % ARRAY_SIZE(chunks)];
        if (n > total - off)
            n = total - off;
        assert_int_equal(blob_upload_write(u, data + off, n), ERR_OK);
        off += n;
        assert_int_equal(blob_upload_size(u), (int64_t)off);
    }
    assert_int_equal(blob_upload_write(u, data, 0), ERR_OK);

    struct result r;
    assert_int_equal(blob_upload_finish(u, 42, "logs.tar.gz", r.key, sizeof(r.key), r.name,
                                        sizeof(r.name), r.md5, r.sha256),
                     ERR_OK);
    assert_string_equal(r.key, "42/logs.tar.gz");
    assert_string_equal(r.name, "logs.tar.gz");

    char want[65];
    one_shot("MD5", data, total, want);
    assert_string_equal(r.md5, want);
    one_shot("SHA256", data, total, want);
    assert_string_equal(r.sha256, want);

    int64_t size;
    char *got = read_key(f->b, r.key, &size);
    assert_int_equal(size, (int64_t)total);
    assert_memory_equal(got, data, total);
    free(got);
    free(data);

    assert_int_equal(count_entries(f, "tmp"), 0);
    char p[PATH_MAX];
    path_of(f, "archives/42/logs.tar.gz", p, sizeof(p));
    struct stat st;
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0640);
    path_of(f, "archives/42", p, sizeof(p));
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0750);
}

static void test_empty_upload(void **state)
{
    struct fx *f = *state;
    struct result r;
    upload(f->b, 1, "empty.log", "", &r);
    assert_string_equal(r.md5, "d41d8cd98f00b204e9800998ecf8427e");
    assert_string_equal(r.sha256,
                        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    int64_t size;
    free(read_key(f->b, "1/empty.log", &size));
    assert_int_equal(size, 0);
}

static void test_abort_removes_temp(void **state)
{
    struct fx *f = *state;
    struct blob_upload *u = NULL;
    assert_int_equal(blob_upload_begin(f->b, 0, &u), ERR_OK);
    assert_int_equal(blob_upload_write(u, "partial", 7), ERR_OK);
    assert_int_equal(count_entries(f, "tmp"), 1);
    blob_upload_abort(u);
    assert_int_equal(count_entries(f, "tmp"), 0);
    assert_int_equal(count_entries(f, "archives"), 0);
    blob_upload_abort(NULL);
}

static void test_name_clash(void **state)
{
    struct fx *f = *state;
    struct result r;
    upload(f->b, 7, "logs.tar.gz", "first", &r);
    assert_string_equal(r.key, "7/logs.tar.gz");
    upload(f->b, 7, "logs.tar.gz", "second", &r);
    assert_string_equal(r.key, "7/logs (1).tar.gz");
    assert_string_equal(r.name, "logs (1).tar.gz");
    upload(f->b, 7, "logs.tar.gz", "third", &r);
    assert_string_equal(r.key, "7/logs (2).tar.gz");
    upload(f->b, 7, "noext", "x", &r);
    upload(f->b, 7, "noext", "y", &r);
    assert_string_equal(r.key, "7/noext (1)");
    upload(f->b, 7, "a.b.log", "x", &r);
    upload(f->b, 7, "a.b.log", "y", &r);
    assert_string_equal(r.key, "7/a.b (1).log");
    upload(f->b, 7, "x.averyveryverylongext", "x", &r);
    upload(f->b, 7, "x.averyveryverylongext", "y", &r);
    assert_string_equal(r.key, "7/x.averyveryverylongext (1)");
    /* another ticket has its own namespace */
    upload(f->b, 8, "logs.tar.gz", "other", &r);
    assert_string_equal(r.key, "8/logs.tar.gz");

    /* nothing was overwritten */
    int64_t size;
    char *c = read_key(f->b, "7/logs.tar.gz", &size);
    assert_string_equal(c, "first");
    free(c);
    c = read_key(f->b, "7/logs (1).tar.gz", &size);
    assert_string_equal(c, "second");
    free(c);
    c = read_key(f->b, "7/logs (2).tar.gz", &size);
    assert_string_equal(c, "third");
    free(c);
    assert_int_equal(count_entries(f, "tmp"), 0);
}

static void test_link_fallback(void **state)
{
    struct fx *f = *state;
    no_noreplace = true;
    struct result r;
    char key[512];
    upload(f->b, 12, "f.log", "one", &r);
    assert_string_equal(r.key, "12/f.log");
    upload(f->b, 12, "f.log", "two", &r);
    assert_string_equal(r.key, "12/f (1).log");
    upload(f->b, 13, "f.log", "three", &r);
    assert_int_equal(blob_move(f->b, "13/f.log", 12, key, sizeof(key)), ERR_OK);
    no_noreplace = false;
    assert_string_equal(key, "12/f (2).log");
    assert_false(exists(f, "archives/13"));
    assert_int_equal(count_entries(f, "tmp"), 0);
    assert_int_equal(count_entries(f, "archives/12"), 3);
    int64_t size;
    char *c = read_key(f->b, "12/f.log", &size);
    assert_string_equal(c, "one");
    free(c);
    c = read_key(f->b, "12/f (2).log", &size);
    assert_string_equal(c, "three");
    free(c);
}

static void test_name_clash_long_name(void **state)
{
    struct fx *f = *state;
    char name[256];
    memset(name, 'a', 251);
    memcpy(name + 251, ".log", 5); /* 255 bytes */
    struct result r;
    upload(f->b, 3, name, "1", &r);
    assert_string_equal(r.name, name);
    upload(f->b, 3, name, "2", &r);
    assert_int_equal(strlen(r.name), 255);
    assert_string_equal(r.name + 255 - 8, " (1).log");
    assert_memory_equal(r.name, name, 243);

    /* multi-byte stem: the cut must not split a character */
    char wide[256];
    size_t n = 0;
    while (n + 2 <= 251) {
        memcpy(wide + n, "\xd0\xb6", 2); /* ж */
        n += 2;
    }
    memcpy(wide + n, ".log", 5);
    upload(f->b, 3, wide, "1", &r);
    upload(f->b, 3, wide, "2", &r);
    size_t len = strlen(r.name);
    assert_true(len <= 255);
    assert_string_equal(r.name + len - 8, " (1).log");
    assert_int_equal((len - 8) % 2, 0); /* whole ж's only */
}

static void test_name_is_sanitized_again(void **state)
{
    struct fx *f = *state;
    struct result r;
    upload(f->b, 5, "../../escape.log", "x", &r);
    assert_string_equal(r.key, "5/escape.log");
    upload(f->b, 5, "..", "x", &r);
    assert_string_equal(r.key, "5/archive");
    assert_false(exists(f, "escape.log"));
}

static void test_max_size(void **state)
{
    struct fx *f = *state;
    struct blob_upload *u = NULL;
    assert_int_equal(blob_upload_begin(f->b, 10, &u), ERR_OK);
    assert_int_equal(blob_upload_write(u, "123456", 6), ERR_OK);
    assert_int_equal(blob_upload_write(u, "78901", 5), ERR_TOO_LARGE);
    assert_int_equal(blob_upload_size(u), 6);
    assert_int_equal(blob_upload_write(u, "7890", 4), ERR_OK);
    assert_int_equal(blob_upload_write(u, "x", 1), ERR_TOO_LARGE);
    assert_int_equal(blob_upload_size(u), 10);
    struct result r;
    assert_int_equal(blob_upload_finish(u, 1, "ten", r.key, sizeof(r.key), r.name, sizeof(r.name),
                                        r.md5, r.sha256),
                     ERR_OK);
    int64_t size;
    char *c = read_key(f->b, r.key, &size);
    assert_string_equal(c, "1234567890"); /* the refused chunks were not written */
    free(c);

    /* the caller aborts after ERR_TOO_LARGE: no partial file remains */
    assert_int_equal(blob_upload_begin(f->b, 3, &u), ERR_OK);
    assert_int_equal(blob_upload_write(u, "abcd", 4), ERR_TOO_LARGE);
    blob_upload_abort(u);
    assert_int_equal(count_entries(f, "tmp"), 0);

    /* negative max_size means unlimited, as 0 */
    assert_int_equal(blob_upload_begin(f->b, -1, &u), ERR_OK);
    assert_int_equal(blob_upload_write(u, "abcd", 4), ERR_OK);
    blob_upload_abort(u);
}

static void test_finish_bad_arguments(void **state)
{
    struct fx *f = *state;
    struct result r;
    struct blob_upload *u = NULL;
    assert_int_equal(blob_upload_begin(f->b, 0, &u), ERR_OK);
    assert_int_equal(blob_upload_write(u, "x", 1), ERR_OK);
    assert_int_equal(blob_upload_finish(u, 0, "a", r.key, sizeof(r.key), r.name, sizeof(r.name),
                                        r.md5, r.sha256),
                     ERR_INTERNAL);
    assert_int_equal(count_entries(f, "tmp"), 0); /* u freed, temp removed */

    assert_int_equal(blob_upload_begin(f->b, 0, &u), ERR_OK);
    assert_int_equal(
        blob_upload_finish(u, 1, "a", r.key, 100, r.name, sizeof(r.name), r.md5, r.sha256),
        ERR_INTERNAL);
    assert_int_equal(blob_upload_begin(f->b, 0, &u), ERR_OK);
    assert_int_equal(blob_upload_finish(u, 1, NULL, r.key, sizeof(r.key), r.name, sizeof(r.name),
                                        r.md5, r.sha256),
                     ERR_INTERNAL);
    assert_int_equal(count_entries(f, "tmp"), 0);
    assert_int_equal(count_entries(f, "archives"), 0);
    assert_int_equal(blob_upload_finish(NULL, 1, "a", r.key, sizeof(r.key), r.name, sizeof(r.name),
                                        r.md5, r.sha256),
                     ERR_INTERNAL);
}

/* RLIMIT_FSIZE makes write(2) fail with EFBIG: an I/O error that sticks. */
static void test_write_error_is_sticky(void **state)
{
    struct fx *f = *state;
    struct rlimit old, lim;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    void (*oldsig)(int) = signal(SIGXFSZ, SIG_IGN);
    lim = old;
    lim.rlim_cur = 64 * 1024;
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);

    struct blob_upload *u = NULL;
    char buf[48 * 1024];
    memset(buf, 'z', sizeof(buf));
    assert_int_equal(blob_upload_begin(f->b, 0, &u), ERR_OK);
    assert_int_equal(blob_upload_write(u, buf, sizeof(buf)), ERR_OK);
    enum err e = blob_upload_write(u, buf, sizeof(buf));
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    signal(SIGXFSZ, oldsig);
    assert_int_equal(e, ERR_IO);
    assert_int_equal(blob_upload_write(u, "x", 1), ERR_IO);
    struct result r;
    assert_int_equal(blob_upload_finish(u, 1, "a", r.key, sizeof(r.key), r.name, sizeof(r.name),
                                        r.md5, r.sha256),
                     ERR_IO);
    assert_int_equal(count_entries(f, "tmp"), 0);
    assert_int_equal(count_entries(f, "archives"), 0);
}

/* A full file system is ERR_NO_SPACE (needs a tmpfs mount: skipped without root). */
static void test_no_space(void **state)
{
    struct fx *f = *state;
    char mnt[PATH_MAX];
    path_of(f, "small", mnt, sizeof(mnt));
    assert_int_equal(mkdir(mnt, 0700), 0);
    if (mount("tmpfs", mnt, "tmpfs", 0, "size=256k") < 0) {
        skip();
        return;
    }
    struct blob_store *b = NULL;
    enum err e = blob_open(mnt, &b);
    struct blob_upload *u = NULL;
    enum err e1 = ERR_OK, e2 = ERR_OK;
    if (e == ERR_OK) {
        e1 = blob_upload_begin(b, 0, &u);
        char buf[64 * 1024];
        memset(buf, 1, sizeof(buf));
        for (int i = 0; i < 8 && e1 == ERR_OK && e2 == ERR_OK; i++)
            e2 = blob_upload_write(u, buf, sizeof(buf));
        blob_upload_abort(u);
        blob_close(b);
    }
    umount(mnt);
    assert_int_equal(e, ERR_OK);
    assert_int_equal(e1, ERR_OK);
    assert_int_equal(e2, ERR_NO_SPACE);
}

/* One upload from a thread of its own: data in writes of `chunk` bytes (the last
 * one shorter), finished as `name` in ticket `ticket`. */
struct racer {
    struct blob_store *b;
    int64_t ticket;
    const char *name;
    const unsigned char *data;
    size_t len, chunk;
    struct result r;
    enum err e;
};

static void *race(void *arg)
{
    struct racer *x = arg;
    struct blob_upload *u = NULL;
    x->e = blob_upload_begin(x->b, 0, &u);
    for (size_t off = 0, n; !x->e && off < x->len; off += n) {
        n = x->len - off < x->chunk ? x->len - off : x->chunk;
        x->e = blob_upload_write(u, x->data + off, n);
    }
    if (!x->e)
        x->e = blob_upload_finish(u, x->ticket, x->name, x->r.key, sizeof(x->r.key), x->r.name,
                                  sizeof(x->r.name), x->r.md5, x->r.sha256);
    else
        blob_upload_abort(u);
    return NULL;
}

enum { RACERS_MAX = 8 };

static void run_racers(struct racer *rs, int n)
{
    pthread_t th[RACERS_MAX];
    assert_true(n <= RACERS_MAX);
    for (int i = 0; i < n; i++)
        assert_int_equal(pthread_create(&th[i], NULL, race, &rs[i]), 0);
    for (int i = 0; i < n; i++)
        pthread_join(th[i], NULL);
}

static void test_concurrent_same_name(void **state)
{
    struct fx *f = *state;
    enum { N = 8 };
    struct racer rs[N];
    char bodies[N][32 * 50];
    size_t lens[N];
    for (int i = 0; i < N; i++) {
        char body[32];
        int bl = snprintf(body, sizeof(body), "body %d", i);
        for (int k = 0; k < 50; k++)
            memcpy(bodies[i] + k * bl, body, (size_t)bl);
        lens[i] = (size_t)bl * 50;
        rs[i] = (struct racer){.b = f->b,
                               .ticket = 9,
                               .name = "same.zip",
                               .data = (const unsigned char *)bodies[i],
                               .len = lens[i],
                               .chunk = (size_t)bl};
    }
    run_racers(rs, N);
    for (int i = 0; i < N; i++) {
        assert_int_equal(rs[i].e, ERR_OK);
        for (int j = 0; j < i; j++)
            assert_string_not_equal(rs[i].r.key, rs[j].r.key);
        int64_t size;
        char *c = read_key(f->b, rs[i].r.key, &size);
        assert_int_equal(size, (int64_t)lens[i]);
        assert_memory_equal(c, bodies[i], lens[i]);
        free(c);
    }
    assert_int_equal(count_entries(f, "archives/9"), N);
    assert_int_equal(count_entries(f, "tmp"), 0);
}

/* main() asks for four hashers: they start with the first upload, hash several
 * uploads at once, and each upload's MD5 comes out right however its turns were
 * spread over them. */
static void test_hashers_in_parallel(void **state)
{
    struct fx *f = *state;
    enum { N = 6 };
    size_t len = 12u * 1024 * 1024 + 777;
    struct racer rs[N];
    unsigned char *data[N];
    char names[N][16];
    for (int i = 0; i < N; i++) {
        data[i] = malloc(len);
        assert_non_null(data[i]);
        uint64_t x = 0x9E3779B97F4A7C15u * (uint64_t)(i + 1);
        for (size_t k = 0; k < len; k++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            data[i][k] = (unsigned char)x;
        }
        snprintf(names[i], sizeof(names[i]), "p%d.bin", i);
        rs[i] = (struct racer){.b = f->b,
                               .ticket = 11,
                               .name = names[i],
                               .data = data[i],
                               .len = len,
                               .chunk = 65536 + 4099 * (size_t)i};
    }
    run_racers(rs, N);
    /* this thread and the four hashers (started by this test or an earlier one) */
    assert_true(count_dir("/proc/self/task") >= 5);
    for (int i = 0; i < N; i++) {
        assert_int_equal(rs[i].e, ERR_OK);
        char want[65];
        one_shot("MD5", data[i], len, want);
        assert_string_equal(rs[i].r.md5, want);
        one_shot("SHA256", data[i], len, want);
        assert_string_equal(rs[i].r.sha256, want);
        free(data[i]);
    }
    assert_int_equal(count_entries(f, "archives/11"), N);
    assert_int_equal(count_entries(f, "tmp"), 0);
}

/* ------------------------------------------------------ finished files -- */

static void test_open_read(void **state)
{
    struct fx *f = *state;
    struct result r;
    upload(f->b, 11, "a.log", "hello", &r);
    int fd = -1;
    int64_t size = -1;
    assert_int_equal(blob_open_read(f->b, "11/a.log", &fd, &size), ERR_OK);
    assert_int_equal(size, 5);
    assert_true(fd >= 0);
    assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
    close(fd);

    fd = -7;
    size = -7;
    assert_int_equal(blob_open_read(f->b, "11/missing.log", &fd, &size), ERR_NOT_FOUND);
    assert_int_equal(blob_open_read(f->b, "12/a.log", &fd, &size), ERR_NOT_FOUND);
    assert_int_equal(blob_open_read(f->b, "11", &fd, &size), ERR_NOT_FOUND); /* a directory */
    assert_int_equal(blob_open_read(f->b, "11/a.log/x", &fd, &size), ERR_NOT_FOUND);
    assert_int_equal(fd, -7); /* out-parameters untouched on failure */
    assert_int_equal(size, -7);

    /* a symlink planted inside archives/ is not followed */
    char target[PATH_MAX], link[PATH_MAX];
    path_of(f, "secret", target, sizeof(target));
    write_file(f, "secret", "s3cret");
    path_of(f, "archives/11/link", link, sizeof(link));
    assert_int_equal(symlink(target, link), 0);
    assert_int_equal(blob_open_read(f->b, "11/link", &fd, &size), ERR_NOT_FOUND);
}

static void test_delete(void **state)
{
    struct fx *f = *state;
    struct result r;
    upload(f->b, 20, "a.log", "a", &r);
    upload(f->b, 20, "b.log", "b", &r);
    assert_int_equal(blob_delete(f->b, "20/a.log"), ERR_OK);
    assert_false(exists(f, "archives/20/a.log"));
    assert_true(exists(f, "archives/20"));                   /* b.log still there */
    assert_int_equal(blob_delete(f->b, "20/a.log"), ERR_OK); /* missing is fine */
    assert_int_equal(blob_delete(f->b, "20/b.log"), ERR_OK);
    assert_false(exists(f, "archives/20"));
    assert_int_equal(blob_delete(f->b, "20/b.log"), ERR_OK); /* dir gone too */
    assert_int_equal(count_entries(f, "archives"), 0);

    upload(f->b, 21, "c.log", "c", &r);
    assert_int_equal(blob_delete(f->b, "21"), ERR_NOT_FOUND); /* a directory is no archive */
    assert_true(exists(f, "archives/21/c.log"));
}

static void test_move(void **state)
{
    struct fx *f = *state;
    struct result r;
    char key[512];
    upload(f->b, 30, "m.log", "moved", &r);
    assert_int_equal(blob_move(f->b, "30/m.log", 31, key, sizeof(key)), ERR_OK);
    assert_string_equal(key, "31/m.log");
    assert_false(exists(f, "archives/30")); /* emptied ticket dir removed */
    int64_t size;
    char *c = read_key(f->b, key, &size);
    assert_string_equal(c, "moved");
    free(c);

    /* clash in the target: suffixed, nothing replaced */
    upload(f->b, 30, "m.log", "second", &r);
    upload(f->b, 30, "other.log", "stays", &r);
    assert_int_equal(blob_move(f->b, "30/m.log", 31, key, sizeof(key)), ERR_OK);
    assert_string_equal(key, "31/m (1).log");
    c = read_key(f->b, "31/m.log", &size);
    assert_string_equal(c, "moved");
    free(c);
    c = read_key(f->b, "31/m (1).log", &size);
    assert_string_equal(c, "second");
    free(c);
    assert_true(exists(f, "archives/30/other.log"));

    /* same ticket: unchanged */
    assert_int_equal(blob_move(f->b, "31/m.log", 31, key, sizeof(key)), ERR_OK);
    assert_string_equal(key, "31/m.log");
    assert_true(exists(f, "archives/31/m.log"));

    strcpy(key, "untouched");
    assert_int_equal(blob_move(f->b, "30/nope.log", 31, key, sizeof(key)), ERR_NOT_FOUND);
    assert_int_equal(blob_move(f->b, "31/nope.log", 31, key, sizeof(key)), ERR_NOT_FOUND);
    assert_string_equal(key, "untouched");
    assert_false(exists(f, "archives/31/nope.log"));
    assert_int_equal(count_entries(f, "tmp"), 0);
}

struct seen {
    char keys[16][512];
    int64_t sizes[16];
    int n;
};

static void collect(const char *key, int64_t size, void *ctx)
{
    struct seen *s = ctx;
    assert_true(s->n < 16);
    snprintf(s->keys[s->n], sizeof(s->keys[0]), "%s", key);
    s->sizes[s->n++] = size;
}

static int64_t seen_size(const struct seen *s, const char *key)
{
    for (int i = 0; i < s->n; i++)
        if (strcmp(s->keys[i], key) == 0)
            return s->sizes[i];
    return -1;
}

static void test_walk(void **state)
{
    struct fx *f = *state;
    struct result r;
    upload(f->b, 40, "a.log", "aa", &r);
    upload(f->b, 40, "b.log", "bbb", &r);
    upload(f->b, 41, "c.log", "c", &r);
    write_file(f, "archives/toplevel", "not in a ticket dir");
    char p[PATH_MAX], t[PATH_MAX];
    path_of(f, "archives/40/sub", p, sizeof(p));
    assert_int_equal(mkdir(p, 0700), 0);
    path_of(f, "archives/40/link", p, sizeof(p));
    path_of(f, "archives/40/a.log", t, sizeof(t));
    assert_int_equal(symlink(t, p), 0);
    struct blob_upload *u = NULL; /* in progress: not an archive */
    assert_int_equal(blob_upload_begin(f->b, 0, &u), ERR_OK);

    struct seen s = {.n = 0};
    assert_int_equal(blob_walk(f->b, collect, &s), ERR_OK);
    assert_int_equal(s.n, 3);
    assert_int_equal(seen_size(&s, "40/a.log"), 2);
    assert_int_equal(seen_size(&s, "40/b.log"), 3);
    assert_int_equal(seen_size(&s, "41/c.log"), 1);
    blob_upload_abort(u);
}

static void delete_all(const char *key, int64_t size, void *ctx)
{
    (void)size;
    assert_int_equal(blob_delete(ctx, key), ERR_OK);
}

static void test_walk_may_delete(void **state)
{
    struct fx *f = *state;
    struct result r;
    for (int i = 0; i < 5; i++)
        upload(f->b, 50 + i % 2, "x.log", "x", &r);
    assert_int_equal(blob_walk(f->b, delete_all, f->b), ERR_OK);
    assert_int_equal(count_entries(f, "archives"), 0);
    struct seen s = {.n = 0};
    assert_int_equal(blob_walk(f->b, collect, &s), ERR_OK);
    assert_int_equal(s.n, 0);
}

static void test_sweep(void **state)
{
    struct fx *f = *state;
    write_file(f, "tmp/upload-abc123", "left by a crash");
    write_file(f, "tmp/upload-def456", "");
    write_file(f, "tmp/stray", "x");
    char p[PATH_MAX];
    path_of(f, "tmp/adir", p, sizeof(p));
    assert_int_equal(mkdir(p, 0700), 0);
    struct result r;
    upload(f->b, 60, "kept.log", "kept", &r);
    /* an upload in progress (here or in another process on this DATA_DIR) is kept */
    struct blob_upload *live = NULL;
    assert_int_equal(blob_upload_begin(f->b, 0, &live), ERR_OK);
    assert_int_equal(blob_upload_write(live, "abc", 3), ERR_OK);

    int removed = -1;
    assert_int_equal(blob_sweep_tmp(f->b, &removed), ERR_OK);
    assert_int_equal(removed, 3);
    assert_int_equal(count_entries(f, "tmp"), 2); /* the directory and the live upload */
    char key[512], name[256], md5[33], sha[65];
    assert_int_equal(
        blob_upload_finish(live, 61, "live.log", key, sizeof(key), name, sizeof(name), md5, sha),
        ERR_OK);
    assert_true(exists(f, "archives/61/live.log"));
    assert_int_equal(count_entries(f, "tmp"), 1); /* the directory stays */
    assert_true(exists(f, "archives/60/kept.log"));
    assert_int_equal(blob_sweep_tmp(f->b, &removed), ERR_OK);
    assert_int_equal(removed, 0);
}

static void test_key_validation(void **state)
{
    struct fx *f = *state;
    write_file(f, "x", "outside archives/");
    write_file(f, "tmp/upload-zzz", "temp");
    struct result r;
    upload(f->b, 70, "in.log", "in", &r);

    char longkey[600];
    memset(longkey, 'k', sizeof(longkey) - 1);
    longkey[sizeof(longkey) - 1] = '\0';
    longkey[3] = '/';
    const char *bad[] = {"../x",
                         "/etc/passwd",
                         "a//b",
                         "a/../b",
                         "",
                         "70/",
                         "./70/in.log",
                         "70/./in.log",
                         "..",
                         "70/..",
                         "../tmp/upload-zzz",
                         "70//in.log",
                         longkey};
    for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
        int fd = -1;
        int64_t size;
        char key[512];
        if (blob_open_read(f->b, bad[i], &fd, &size) != ERR_NOT_FOUND)
            fail_msg("open_read accepted \"%s\"", bad[i]);
        if (blob_delete(f->b, bad[i]) != ERR_NOT_FOUND)
            fail_msg("delete accepted \"%s\"", bad[i]);
        if (blob_move(f->b, bad[i], 71, key, sizeof(key)) != ERR_NOT_FOUND)
            fail_msg("move accepted \"%s\"", bad[i]);
    }
    int fd;
    int64_t size;
    assert_int_equal(blob_open_read(f->b, NULL, &fd, &size), ERR_NOT_FOUND);
    assert_true(exists(f, "x"));
    assert_true(exists(f, "tmp/upload-zzz"));
    assert_true(exists(f, "archives/70/in.log"));
    assert_false(exists(f, "archives/71"));

    /* 511 bytes is allowed (and simply missing) */
    char ok[512];
    memset(ok, 'k', 511);
    ok[511] = '\0';
    ok[3] = '/';
    assert_int_equal(blob_delete(f->b, ok), ERR_OK);
    assert_int_equal(blob_open_read(f->b, ok, &fd, &size), ERR_NOT_FOUND);
}

/* ------------------------------------------------------------- store -- */

static void test_open_errors(void **state)
{
    struct fx *f = *state;
    char p[PATH_MAX];
    path_of(f, "plainfile", p, sizeof(p));
    write_file(f, "plainfile", "x");
    struct blob_store *b = (void *)1;
    assert_int_equal(blob_open(p, &b), ERR_IO);
    assert_ptr_equal(b, (void *)1);
    assert_int_equal(blob_open("", &b), ERR_IO);
    assert_int_equal(blob_open(NULL, &b), ERR_IO);

    /* archives/ a file instead of a directory */
    path_of(f, "d2", p, sizeof(p));
    assert_int_equal(mkdir(p, 0700), 0);
    write_file(f, "d2/archives", "x");
    assert_int_equal(blob_open(p, &b), ERR_IO);

    /* a fresh DATA_DIR is created with archives/ and tmp/ */
    path_of(f, "fresh", p, sizeof(p));
    assert_int_equal(blob_open(p, &b), ERR_OK);
    assert_true(exists(f, "fresh/archives"));
    assert_true(exists(f, "fresh/tmp"));
    struct stat st;
    path_of(f, "fresh/tmp", p, sizeof(p));
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0750);
    blob_close(b);
    blob_close(NULL);
}

static void test_free_space(void **state)
{
    struct fx *f = *state;
    uint64_t free_bytes = 0;
    assert_int_equal(blob_free_space(f->b, &free_bytes), ERR_OK);
    assert_true(free_bytes > 0);
}

/* ------------------------------------------------------------- names -- */

static void expect_name(const char *in, size_t inlen, const char *want)
{
    char out[256];
    memset(out, 'Z', sizeof(out));
    blob_sanitize_name(in, inlen, "archive", out, sizeof(out));
    if (strcmp(out, want) != 0)
        fail_msg("sanitize(\"%.*s\") = \"%s\", want \"%s\"", (int)inlen, in, out, want);
}

#define NAME(in, want) expect_name(in, sizeof(in) - 1, want)

static bool valid_utf8(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        int n = *p < 0x80 ? 1 : (*p >> 5) == 6 ? 2 : (*p >> 4) == 14 ? 3 : (*p >> 3) == 30 ? 4 : 0;
        if (n == 0)
            return false;
        for (int i = 1; i < n; i++)
            if ((p[i] & 0xC0) != 0x80)
                return false;
        p += n;
    }
    return true;
}

static void test_sanitize(void **state)
{
    (void)state;
    NAME("logs.tar.gz", "logs.tar.gz");
    NAME("../../etc/passwd", "passwd");
    NAME("a/b", "b");
    NAME("C:\\x\\y.zip", "y.zip");
    NAME("a\0b.log", "ab.log"); /* NUL inside, inlen covers it */
    NAME("a\x01\x1f\x7f"
         "b\tc\n.log",
         "abc.log");
    NAME("\xc2\x85x\xc2\x9f.log", "x.log");               /* C1 controls */
    NAME("invoice\xe2\x80\xaegpj.exe", "invoicegpj.exe"); /* RLO */
    NAME(".htaccess", "htaccess");
    NAME(" . .hidden. . ", "hidden");
    NAME("...", "archive");
    NAME("", "archive");
    NAME("dir/", "archive");
    NAME("dir\\..", "archive");
    NAME("\x01\x02", "archive");
    NAME("журнал.log", "журнал.log");
    NAME("日本語 ログ.txt", "日本語 ログ.txt");
    NAME("emoji \xf0\x9f\x93\xa6.zip", "emoji \xf0\x9f\x93\xa6.zip");
    NAME("a\xff"
         "b\xc3.log",
         "ab.log"); /* stray bytes */
    NAME("\xc0\xaf"
         "x\xe0\x80\xaf",
         "x"); /* overlong '/' */
    NAME("s\xed\xa0\x80"
         "t",
         "st");                         /* surrogate */
    NAME("big\xf4\x90\x80\x80", "big"); /* > U+10FFFF */
    NAME("trunc\xe2\x82", "trunc");     /* cut sequence */
    NAME("name with spaces.log", "name with spaces.log");

    char out[256];
    blob_sanitize_name("..", 2, NULL, out, sizeof(out));
    assert_string_equal(out, "archive");
    blob_sanitize_name(NULL, 0, "fb", out, sizeof(out));
    assert_string_equal(out, "fb");

    /* 300 bytes with a .tar.gz: 255 bytes, extension kept */
    char in[400];
    memset(in, 'a', 293);
    memcpy(in + 293, ".tar.gz", 7);
    blob_sanitize_name(in, 300, "archive", out, sizeof(out));
    assert_int_equal(strlen(out), 255);
    assert_string_equal(out + 248, ".tar.gz");
    assert_memory_equal(out, in, 248);

    /* 300 bytes, last dot too far back to be an extension: plain cut */
    memset(in, 'b', 300);
    in[10] = '.';
    blob_sanitize_name(in, 300, "archive", out, sizeof(out));
    assert_int_equal(strlen(out), 255);
    assert_memory_equal(out, in, 255);

    /* a cut that ends in dots/spaces drops them */
    memset(in, 'c', 300);
    memset(in + 250, ' ', 10);
    blob_sanitize_name(in, 300, "archive", out, sizeof(out));
    assert_int_equal(strlen(out), 250);

    /* 300 bytes of 2-byte characters: cut on a boundary */
    for (int i = 0; i < 150; i++)
        memcpy(in + 2 * i, "\xd0\xb6", 2);
    blob_sanitize_name(in, 300, "archive", out, sizeof(out));
    assert_int_equal(strlen(out), 254);
    assert_true(valid_utf8(out));

    /* 3-byte characters plus .log: boundary cut, extension kept */
    for (int i = 0; i < 100; i++)
        memcpy(in + 3 * i, "\xe6\x97\xa5", 3);
    memcpy(in + 300, ".log", 4);
    blob_sanitize_name(in, 304, "archive", out, sizeof(out));
    assert_int_equal(strlen(out), 253);
    assert_string_equal(out + 249, ".log");
    assert_true(valid_utf8(out));

    /* a long run of trailing dots is all stripped */
    memset(in, '.', 400);
    memcpy(in, "abc", 3);
    blob_sanitize_name(in, 400, "archive", out, sizeof(out));
    assert_string_equal(out, "abc");

    /* long path before the name */
    memset(in, 'p', 390);
    memcpy(in + 390, "/short.gz", 9);
    blob_sanitize_name(in, 399, "archive", out, sizeof(out));
    assert_string_equal(out, "short.gz");

    /* idempotent */
    char again[256];
    blob_sanitize_name(out, strlen(out), "archive", again, sizeof(again));
    assert_string_equal(again, out);
}

/* ------------------------------------------------------ partial uploads -- */

#define PID1 "0123456789abcdef0123456789abcdef"

static unsigned char *random_bytes(size_t n, uint64_t seed)
{
    unsigned char *d = malloc(n);
    assert_non_null(d);
    for (size_t i = 0; i < n; i++) {
        seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
        d[i] = (unsigned char)seed;
    }
    return d;
}

/* Finishes u (the whole of data, total bytes, written) into ticket 7 as
 * `name`; its MD5 and SHA-256 must be those of the bytes in one go. */
static void finish_as_one_shot(struct blob_upload *u, const char *name, const unsigned char *data,
                               size_t total, struct result *r)
{
    assert_int_equal(blob_upload_finish(u, 7, name, r->key, sizeof(r->key), r->name,
                                        sizeof(r->name), r->md5, r->sha256),
                     ERR_OK);
    char want[65];
    one_shot("SHA256", data, total, want);
    assert_string_equal(r->sha256, want);
    one_shot("MD5", data, total, want);
    assert_string_equal(r->md5, want);
}

/* Sent in three requests with a close (and a reopen) between them, with bytes
 * written after the last save cut off on reopen: the archive's digests equal a
 * one-shot hash of the whole, and the state made it through every step. */
static void test_partial_resume(void **state)
{
    struct fx *f = *state;
    size_t total = 9u * 1024 * 1024 + 12345;
    unsigned char *data = random_bytes(total, 42);
    struct blob_upload *u = NULL;
    assert_int_equal(blob_partial_create(f->b, PID1, 0, &u), ERR_OK);
    assert_true(exists(f, "partial/" PID1 ".data") && exists(f, "partial/" PID1 ".state"));
    int64_t off = -1;
    assert_int_equal(blob_partial_offset(f->b, PID1, &off), ERR_OK);
    assert_int_equal(off, 0);
    size_t first = 5u * 1024 * 1024 + 7;
    assert_int_equal(blob_upload_write(u, data, first), ERR_OK);
    assert_int_equal(blob_partial_save(u), ERR_OK);
    /* bytes after the save, then "a crash": they must not count */
    assert_int_equal(blob_upload_write(u, data + first, 1000), ERR_OK);
    blob_partial_close(u);
    assert_int_equal(blob_partial_offset(f->b, PID1, &off), ERR_OK);
    assert_int_equal(off, (int64_t)first);

    u = NULL;
    assert_int_equal(blob_partial_open(f->b, PID1, 0, &u, &off), ERR_OK);
    assert_int_equal(off, (int64_t)first);
    assert_int_equal(blob_upload_size(u), (int64_t)first);
    /* while held, nobody else takes it or removes it */
    struct blob_upload *other = NULL;
    int64_t o2;
    assert_int_equal(blob_partial_open(f->b, PID1, 0, &other, &o2), ERR_LOCKED);
    assert_int_equal(blob_partial_remove(f->b, PID1), ERR_LOCKED);
    size_t second = 3u * 1024 * 1024;
    assert_int_equal(blob_upload_write(u, data + first, second), ERR_OK);
    assert_int_equal(blob_partial_save(u), ERR_OK);
    blob_partial_close(u);

    assert_int_equal(blob_partial_open(f->b, PID1, 0, &u, &off), ERR_OK);
    assert_int_equal(off, (int64_t)(first + second));
    assert_int_equal(blob_upload_write(u, data + first + second, total - first - second), ERR_OK);
    struct result r;
    finish_as_one_shot(u, "big.bin", data, total, &r);
    int64_t size;
    char *back = read_key(f->b, r.key, &size);
    assert_int_equal(size, (int64_t)total);
    assert_memory_equal(back, data, total);
    free(back);
    assert_int_equal(count_entries(f, "partial"), 0); /* state gone with the bytes */
    free(data);
}

static void test_partial_errors(void **state)
{
    struct fx *f = *state;
    struct blob_upload *u = NULL;
    int64_t off;
    assert_int_equal(blob_partial_create(f->b, "not-an-id", 0, &u), ERR_INTERNAL);
    assert_int_equal(blob_partial_open(f->b, PID1, 0, &u, &off), ERR_NOT_FOUND);
    assert_int_equal(blob_partial_open(f->b, "../../etc/passwd", 0, &u, &off), ERR_NOT_FOUND);
    assert_int_equal(blob_partial_offset(f->b, PID1, &off), ERR_NOT_FOUND);
    assert_int_equal(blob_partial_create(f->b, PID1, 4, &u), ERR_OK);
    struct blob_upload *dup = NULL;
    assert_int_equal(blob_partial_create(f->b, PID1, 0, &dup), ERR_EXISTS);
    assert_int_equal(blob_upload_write(u, "12345", 5), ERR_TOO_LARGE);
    blob_partial_close(u);
    /* a state file that is not ours (another build, or damaged) */
    write_file(f, "partial/" PID1 ".state", "garbage");
    assert_int_equal(blob_partial_open(f->b, PID1, 0, &u, &off), ERR_NOT_FOUND);
    assert_int_equal(blob_partial_remove(f->b, PID1), ERR_OK);
    assert_int_equal(count_entries(f, "partial"), 0);
    assert_int_equal(blob_partial_remove(f->b, PID1), ERR_OK); /* already gone */
}

static bool keep_b(const char *id, void *ctx)
{
    (void)ctx;
    return id[0] == 'b';
}

/* Abort removes bytes and state; the tmp sweep at start leaves partials be;
 * the partial sweep removes what the store no longer wants, unless held. */
static void test_partial_abort_and_sweep(void **state)
{
    struct fx *f = *state;
    struct blob_upload *u = NULL;
    assert_int_equal(blob_partial_create(f->b, PID1, 0, &u), ERR_OK);
    blob_upload_abort(u);
    assert_int_equal(count_entries(f, "partial"), 0);

    static const char *const ids[] = {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
                                      "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"};
    for (int i = 0; i < 2; i++) {
        assert_int_equal(blob_partial_create(f->b, ids[i], 0, &u), ERR_OK);
        assert_int_equal(blob_upload_write(u, "abc", 3), ERR_OK);
        assert_int_equal(blob_partial_save(u), ERR_OK);
        blob_partial_close(u);
    }
    int removed = -1;
    assert_int_equal(blob_sweep_tmp(f->b, &removed), ERR_OK);
    assert_int_equal(count_entries(f, "partial"), 6); /* data, durable and fast state each */
    /* the store wants only the second one */
    int64_t off;
    char p[PATH_MAX];
    struct timespec old[2] = {{.tv_sec = 1000}, {.tv_sec = 1000}};
    /* held: not swept whatever the store says */
    assert_int_equal(blob_partial_open(f->b, ids[0], 0, &u, &off), ERR_OK);
    assert_int_equal(blob_partial_sweep(f->b, keep_b, NULL, &removed), ERR_OK);
    assert_int_equal(removed, 0);
    blob_partial_close(u);
    assert_int_equal(blob_partial_sweep(f->b, keep_b, NULL, &removed), ERR_OK);
    assert_int_equal(removed, 1);
    assert_false(exists(f, "partial/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.data"));
    assert_false(exists(f, "partial/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.state"));
    assert_false(exists(f, "partial/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.fast"));
    assert_true(exists(f, "partial/bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb.data"));
    assert_true(exists(f, "partial/bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb.fast"));
    /* a stray state without its bytes goes once it is a minute old */
    write_file(f, "partial/cccccccccccccccccccccccccccccccc.state", "x");
    write_file(f, "partial/cccccccccccccccccccccccccccccccc.fast", "x");
    assert_int_equal(blob_partial_sweep(f->b, keep_b, NULL, &removed), ERR_OK);
    assert_true(exists(f, "partial/cccccccccccccccccccccccccccccccc.state"));
    path_of(f, "partial/cccccccccccccccccccccccccccccccc.state", p, sizeof(p));
    assert_int_equal(utimensat(AT_FDCWD, p, old, 0), 0);
    path_of(f, "partial/cccccccccccccccccccccccccccccccc.fast", p, sizeof(p));
    assert_int_equal(utimensat(AT_FDCWD, p, old, 0), 0);
    assert_int_equal(blob_partial_sweep(f->b, keep_b, NULL, &removed), ERR_OK);
    assert_false(exists(f, "partial/cccccccccccccccccccccccccccccccc.state"));
    assert_false(exists(f, "partial/cccccccccccccccccccccccccccccccc.fast"));
    /* termination takes both states */
    assert_int_equal(blob_partial_remove(f->b, ids[1]), ERR_OK);
    assert_int_equal(count_entries(f, "partial"), 0);
}

/* --- fast saves --- */

/* The offset the durable state alone says (the fast one set aside). */
static int64_t durable_offset(struct fx *f, const char *id)
{
    char rel[64], fast[PATH_MAX], aside[PATH_MAX];
    snprintf(rel, sizeof(rel), "partial/%s.fast", id);
    path_of(f, rel, fast, sizeof(fast));
    snprintf(rel, sizeof(rel), "partial/%s.aside", id);
    path_of(f, rel, aside, sizeof(aside));
    bool had = rename(fast, aside) == 0;
    int64_t off = -1;
    assert_int_equal(blob_partial_offset(f->b, id, &off), ERR_OK);
    if (had)
        assert_int_equal(rename(aside, fast), 0);
    return off;
}

/* Rewrites every slot of partial/<id>.fast with mutate(slot, size) applied,
 * then (when recheck) its check (the SHA-256 of the slot before its last 32
 * bytes) made right again: a record that is whole, only different. The slot's
 * size is the u32 after its magic and version. */
static void fast_rewrite(struct fx *f, const char *id, void (*mutate)(unsigned char *, size_t),
                         bool recheck)
{
    char rel[64], p[PATH_MAX];
    snprintf(rel, sizeof(rel), "partial/%s.fast", id);
    path_of(f, rel, p, sizeof(p));
    FILE *fp = fopen(p, "r+b");
    assert_non_null(fp);
    unsigned char buf[4096];
    size_t n = fread(buf, 1, sizeof(buf), fp);
    assert_true(n >= 16);
    const unsigned char *any = memmem(buf, n, "lc-fast", 8);
    assert_non_null(any);
    uint32_t size;
    memcpy(&size, any + 12, sizeof(size));
    assert_true(size > 64);
    for (size_t at = 0; at + size <= n; at += size) {
        if (memcmp(buf + at, "lc-fast", 8) != 0)
            continue; /* a slot never written */
        mutate(buf + at, size);
        if (recheck) {
            unsigned int dl = 0;
            assert_int_equal(
                EVP_Digest(buf + at, size - 32, buf + at + size - 32, &dl, EVP_sha256(), NULL), 1);
        }
    }
    assert_int_equal(fseek(fp, 0, SEEK_SET), 0);
    assert_int_equal(fwrite(buf, 1, n, fp), n);
    fclose(fp);
}

/* Another boot's record: the boot id (text) replaced. */
static void other_boot(unsigned char *slot, size_t size)
{
    char boot[64] = {0};
    FILE *fp = fopen("/proc/sys/kernel/random/boot_id", "r");
    assert_non_null(fp);
    assert_non_null(fgets(boot, sizeof(boot), fp));
    fclose(fp);
    unsigned char *at = memmem(slot, size, boot, 36);
    assert_non_null(at);
    memcpy(at, "00000000-1111-2222-3333-444444444444", 36);
}

/* The record as it was (fast_rewrite's own check). */
static void unchanged(unsigned char *slot, size_t size)
{
    (void)slot, (void)size;
}

/* A torn record: its second half never made it. */
static void torn(unsigned char *slot, size_t size)
{
    memset(slot + size / 2, 0, size - size / 2);
}

/* A fast save leaves the durable state where it was and is what a resume
 * (after a "kill -9": close without a save) takes up, to the byte, with the
 * MD5 that lagged at the save hashed up from the file. */
static void test_partial_fast_save(void **state)
{
    struct fx *f = *state;
    size_t total = 40u * 1024 * 1024 + 321;
    unsigned char *data = random_bytes(total, 7);
    struct blob_upload *u = NULL;
    assert_int_equal(blob_partial_create(f->b, PID1, 0, &u), ERR_OK);
    /* one write of 24 MiB: the MD5 hasher starts after it, so the save finds it
     * behind (it waits only until at most 16 MiB are left) */
    size_t first = 24u * 1024 * 1024 + 5;
    assert_int_equal(blob_upload_write(u, data, first), ERR_OK);
    assert_int_equal(blob_partial_save(u), ERR_OK);
    assert_true(exists(f, "partial/" PID1 ".fast"));
    assert_int_equal(durable_offset(f, PID1), 0);
    int64_t off = -1;
    assert_int_equal(blob_partial_offset(f->b, PID1, &off), ERR_OK);
    assert_int_equal(off, (int64_t)first);
    assert_int_equal(blob_upload_write(u, data + first, 4096), ERR_OK); /* not saved */
    blob_partial_close(u);

    assert_int_equal(blob_partial_open(f->b, PID1, 0, &u, &off), ERR_OK);
    assert_int_equal(off, (int64_t)first);
    size_t second = 8u * 1024 * 1024;
    assert_int_equal(blob_upload_write(u, data + first, second), ERR_OK);
    assert_int_equal(blob_partial_save(u), ERR_OK); /* the other slot */
    blob_partial_close(u);
    /* a durable save on the way out (the client went away) */
    assert_int_equal(blob_partial_open(f->b, PID1, 0, &u, &off), ERR_OK);
    assert_int_equal(off, (int64_t)(first + second));
    assert_int_equal(blob_upload_write(u, data + first + second, 1000), ERR_OK);
    assert_int_equal(blob_partial_sync(u), ERR_OK);
    blob_partial_close(u);
    assert_int_equal(durable_offset(f, PID1), (int64_t)(first + second + 1000));
    size_t done = first + second + 1000;

    assert_int_equal(blob_partial_open(f->b, PID1, 0, &u, &off), ERR_OK);
    assert_int_equal(off, (int64_t)done);
    assert_int_equal(blob_upload_write(u, data + done, total - done), ERR_OK);
    struct result r;
    finish_as_one_shot(u, "big.bin", data, total, &r);
    assert_int_equal(count_entries(f, "partial"), 0); /* both states gone with the bytes */
    free(data);
}

/* A fast record of another boot, or a torn one, is not believed: the upload
 * goes on from its durable save (the bytes after it cut off, the fast record
 * removed) and still ends with the right digests. */
static void test_partial_fast_not_believed(void **state)
{
    struct fx *f = *state;
    size_t total = 6u * 1024 * 1024 + 99;
    unsigned char *data = random_bytes(total, 11);
    size_t cut[] = {1024 * 1024 + 3, 2 * 1024 * 1024, 3 * 1024 * 1024 + 17};
    void (*damage[])(unsigned char *, size_t) = {other_boot, torn};
    for (size_t k = 0; k < ARRAY_SIZE(damage); k++) {
        struct blob_upload *u = NULL;
        int64_t off = -1;
        assert_int_equal(blob_partial_create(f->b, PID1, 0, &u), ERR_OK);
        assert_int_equal(blob_upload_write(u, data, cut[0]), ERR_OK);
        assert_int_equal(blob_partial_sync(u), ERR_OK); /* durable at cut[0] */
        assert_int_equal(blob_upload_write(u, data + cut[0], cut[1] - cut[0]), ERR_OK);
        assert_int_equal(blob_partial_save(u), ERR_OK); /* fast at cut[1] */
        assert_int_equal(blob_upload_write(u, data + cut[1], cut[2] - cut[1]), ERR_OK);
        assert_int_equal(blob_partial_save(u), ERR_OK); /* fast at cut[2], other slot */
        blob_partial_close(u);
        assert_int_equal(blob_partial_offset(f->b, PID1, &off), ERR_OK);
        assert_int_equal(off, (int64_t)cut[2]);
        fast_rewrite(f, PID1, unchanged, true); /* rewritten as it was: still believed */
        assert_int_equal(blob_partial_offset(f->b, PID1, &off), ERR_OK);
        assert_int_equal(off, (int64_t)cut[2]);

        fast_rewrite(f, PID1, damage[k], damage[k] == other_boot);
        assert_int_equal(blob_partial_offset(f->b, PID1, &off), ERR_OK);
        assert_int_equal(off, (int64_t)cut[0]);
        assert_int_equal(blob_partial_open(f->b, PID1, 0, &u, &off), ERR_OK);
        assert_int_equal(off, (int64_t)cut[0]);
        assert_false(exists(f, "partial/" PID1 ".fast"));
        char p[PATH_MAX];
        struct stat st;
        path_of(f, "partial/" PID1 ".data", p, sizeof(p));
        assert_int_equal(stat(p, &st), 0);
        assert_int_equal(st.st_size, (int64_t)cut[0]);
        /* fast saves go on in this boot */
        assert_int_equal(blob_upload_write(u, data + cut[0], cut[1] - cut[0]), ERR_OK);
        assert_int_equal(blob_partial_save(u), ERR_OK);
        blob_partial_close(u);
        assert_int_equal(blob_partial_open(f->b, PID1, 0, &u, &off), ERR_OK);
        assert_int_equal(off, (int64_t)cut[1]);
        assert_int_equal(blob_upload_write(u, data + cut[1], total - cut[1]), ERR_OK);
        struct result r;
        finish_as_one_shot(u, "big.bin", data, total, &r);
        assert_int_equal(blob_delete(f->b, r.key), ERR_OK);
        assert_int_equal(count_entries(f, "partial"), 0);
    }
    free(data);
}

/* Damages the newer of two slots (sequence number 2, the u64 at byte 24),
 * leaving the other. */
static void damage_second(unsigned char *slot, size_t size)
{
    uint64_t seq;
    memcpy(&seq, slot + 24, sizeof(seq));
    if (seq == 2)
        slot[size - 1] ^= 1;
}

/* Upload PID1 of 300000 bytes of data with two fast saves, at 100000
 * (sequence number 1) and 200000 (2), then let go. */
static void two_fast_saves(struct fx *f, const unsigned char *data)
{
    struct blob_upload *u = NULL;
    assert_int_equal(blob_partial_create(f->b, PID1, 0, &u), ERR_OK);
    assert_int_equal(blob_upload_write(u, data, 100000), ERR_OK);
    assert_int_equal(blob_partial_save(u), ERR_OK);
    assert_int_equal(blob_upload_write(u, data + 100000, 100000), ERR_OK);
    assert_int_equal(blob_partial_save(u), ERR_OK);
    blob_partial_close(u);
}

/* Only the newer slot damaged: the older one stands. */
static void test_partial_fast_one_slot_torn(void **state)
{
    struct fx *f = *state;
    unsigned char *data = random_bytes(300000, 5);
    struct blob_upload *u = NULL;
    int64_t off = -1;
    two_fast_saves(f, data);
    fast_rewrite(f, PID1, damage_second, false);
    assert_int_equal(blob_partial_open(f->b, PID1, 0, &u, &off), ERR_OK);
    assert_int_equal(off, 100000);
    assert_int_equal(blob_upload_write(u, data + 100000, 200000), ERR_OK);
    struct result r;
    finish_as_one_shot(u, "x.bin", data, 300000, &r);
    free(data);
}

/* The data cut behind the upload's back, below its newest fast record: a HEAD
 * (not holding it) says the older record that still fits, a resume believes
 * no fast record and goes on from the durable one. */
static void test_partial_fast_data_cut(void **state)
{
    struct fx *f = *state;
    unsigned char *data = random_bytes(300000, 9);
    struct blob_upload *u = NULL;
    int64_t off = -1;
    two_fast_saves(f, data);
    char p[PATH_MAX];
    path_of(f, "partial/" PID1 ".data", p, sizeof(p));
    assert_int_equal(truncate(p, 150000), 0);
    assert_int_equal(blob_partial_offset(f->b, PID1, &off), ERR_OK);
    assert_int_equal(off, 100000);
    assert_int_equal(blob_partial_open(f->b, PID1, 0, &u, &off), ERR_OK);
    assert_int_equal(off, 0);
    assert_int_equal(blob_upload_write(u, data, 300000), ERR_OK);
    struct result r;
    finish_as_one_shot(u, "x.bin", data, 300000, &r);
    free(data);
}

int main(void)
{
    log_set_level(LOG_CRITICAL); /* the I/O error tests log by design */
    blob_set_hashers(4);         /* every test below runs with several hashers */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_stream_20mib, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_upload, setup, teardown),
        cmocka_unit_test_setup_teardown(test_abort_removes_temp, setup, teardown),
        cmocka_unit_test_setup_teardown(test_name_clash, setup, teardown),
        cmocka_unit_test_setup_teardown(test_link_fallback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_name_clash_long_name, setup, teardown),
        cmocka_unit_test_setup_teardown(test_name_is_sanitized_again, setup, teardown),
        cmocka_unit_test_setup_teardown(test_max_size, setup, teardown),
        cmocka_unit_test_setup_teardown(test_finish_bad_arguments, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_error_is_sticky, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_space, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_same_name, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hashers_in_parallel, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_read, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete, setup, teardown),
        cmocka_unit_test_setup_teardown(test_move, setup, teardown),
        cmocka_unit_test_setup_teardown(test_walk, setup, teardown),
        cmocka_unit_test_setup_teardown(test_walk_may_delete, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sweep, setup, teardown),
        cmocka_unit_test_setup_teardown(test_key_validation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_free_space, setup, teardown),
        cmocka_unit_test(test_sanitize),
        cmocka_unit_test_setup_teardown(test_partial_resume, setup, teardown),
        cmocka_unit_test_setup_teardown(test_partial_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_partial_abort_and_sweep, setup, teardown),
        cmocka_unit_test_setup_teardown(test_partial_fast_save, setup, teardown),
        cmocka_unit_test_setup_teardown(test_partial_fast_not_believed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_partial_fast_one_slot_torn, setup, teardown),
        cmocka_unit_test_setup_teardown(test_partial_fast_data_cut, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
