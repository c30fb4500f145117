/* blob.c - archives on local disk: temp file, streamed digests, fsync, no-replace rename. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

/* The low-level digest API: its contexts are plain structs, so a partial
 * upload's digest state can be saved beside its bytes and resumed in another
 * process (EVP_MD_CTX cannot be serialized). Same code paths, same speed. */
#define OPENSSL_API_COMPAT 0x10100000L
#include <openssl/md5.h>
#include <openssl/sha.h>

#include "blob/blob.h"
#include "core/limits.h"
#include "core/log.h"
#include "core/util.h"

/*
 * Durability: a finished archive is fsync'ed, then renamed (never replacing)
 * into archives/<ticket>/, then the ticket directory and archives/ are fsync'ed,
 * so after a crash either the temp file (swept at start) or the complete
 * archive exists, never a torn one under its final name.
 *
 * Streaming: every WINDOW bytes the window just completed is handed to
 * writeback (sync_file_range WRITE, which does not wait), and the window
 * before the previous one, whose writeback has had a whole window's time to
 * finish, is dropped from the page cache (POSIX_FADV_DONTNEED drops only clean
 * pages and never blocks on I/O). A 10 GiB upload thus leaves neither 10 GiB of
 * dirty pages for the final fsync nor 10 GiB of cache pushing out hot pages.
 */

#define WINDOW         ((int64_t)8 * 1024 * 1024)
#define MAX_SUFFIX     10000 /* "name (1).ext" ... "name (10000).ext" */
#define MAX_EXT        16    /* bytes of an extension after its dot */
#define KEY_MAX        511   /* bytes of a key, as promised in blob.h */
#define TMP_PREFIX     "upload-"
#define DATA_SUFFIX    ".data"  /* partial/<id>.data: a resumable upload's bytes */
#define STATE_SUFFIX   ".state" /* partial/<id>.state: its offset and digest state, durable */
#define FAST_SUFFIX    ".fast"  /* partial/<id>.fast: the same, newer, for this boot only */
#define FNAME_MAX      48
#define BLOB_STRAY_AGE 60 /* seconds before a partial's stray state file goes */
#define PLACE_RETRIES  8  /* a concurrent blob_delete may rmdir the ticket dir under us */
#define MD5_LAG        ((int64_t)1 * 1024 * 1024)  /* unhashed bytes that wake the hasher */
#define MD5_CHUNK      (256 * 1024)                /* hasher read size */
#define MD5_SLICE      ((int64_t)16 * 1024 * 1024) /* bytes per turn before requeueing */
#define MD5_SAVE_LAG   ((int64_t)16 * 1024 * 1024) /* unhashed bytes a fast save may leave */
#define BOOT_ID_LEN    36                          /* a UUID as the kernel writes it */

struct blob_store {
    char *tmp_path; /* DATA_DIR/tmp, for mkostemp */
    int archives_fd;
    int tmp_fd;
    int partial_fd; /* DATA_DIR/partial: resumable uploads */
    /* this boot of the kernel (/proc/sys/kernel/random/boot_id), read once at
     * open; "" when unknown, and then every save is durable */
    char boot_id[BOOT_ID_LEN + 1];
};

struct blob_upload {
    struct blob_store *b;
    int fd;
    int dir_fd;                   /* where the file lives: tmp/ or partial/ (not owned) */
    char fname[FNAME_MAX];        /* its name there; "" once renamed away */
    char id[BLOB_PARTIAL_ID + 1]; /* a partial upload's id, "" for a one-shot upload */
    MD5_CTX md5;
    SHA256_CTX sha256;
    int64_t size;
    int64_t max_size;
    int64_t window;  /* start of the sync window being filled */
    enum err failed; /* sticky: a failed write leaves the file in an unknown state */
    /* a partial upload's saves (owner only) */
    int64_t saved_at;   /* offset of the last save, fast or durable */
    int64_t durable_at; /* offset of the last durable save */
    uint64_t fast_seq;  /* sequence number of the last fast save (0: none) */

    /* MD5 runs behind the writer on a hasher thread, reading the bytes back
     * from the page cache, so one fast upload hashes on two cores. All fields
     * below are guarded by lock; md5 (the context) belongs to the hasher while
     * md5_queued and to the owner otherwise. */
    pthread_mutex_t lock;
    pthread_cond_t idle;
    int64_t written;          /* bytes safely in the file, published for the hasher */
    int64_t md5_done;         /* bytes hashed into md5 */
    MD5_CTX md5_at_done;      /* a copy of md5 at md5_done, for a save that does not wait */
    bool md5_queued;          /* queued for or running on the hasher */
    bool cancelled;           /* abort: the hasher stops at the next chunk */
    enum err md5_err;         /* read-back failure */
    struct blob_upload *next; /* hasher queue link */
};

/* --- helpers --- */

static enum err errno_err(int e)
{
    return (e == ENOSPC || e == EDQUOT) ? ERR_NO_SPACE : ERR_IO;
}

/* Logs an unexpected file system error (ENOSPC and the like are the caller's to
 * report: they carry their own status) and maps errno to an error code. The
 * log line is the only place the errno survives. */
static enum err fs_fail(const char *what, const char *name, int e)
{
    enum err r = errno_err(e);
    if (r == ERR_IO) {
        char buf[128];
        log_error("blob: %s %s: %s", what, name ? name : "", strerror_r(e, buf, sizeof(buf)));
    }
    return r;
}

static void hex_encode(const unsigned char *d, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[d[i] >> 4];
        out[2 * i + 1] = digits[d[i] & 15];
    }
    out[2 * n] = '\0';
}

static bool is_cont(unsigned char c)
{
    return (c & 0xC0) == 0x80;
}

/* Largest n' <= n such that s[0..n') does not end inside a UTF-8 sequence. */
static size_t utf8_cut(const char *s, size_t n)
{
    while (n > 0 && is_cont((unsigned char)s[n]))
        n--;
    return n;
}

/* Length of the extension of name (len bytes), dot included, or 0. The
 * extension is the part after the last dot when it is 1..MAX_EXT bytes and
 * something precedes the dot; a ".tar" directly before it belongs to it too
 * (".tar.gz", ".tar.zst"), so "logs.tar.gz" suffixes as "logs (1).tar.gz". */
static size_t ext_len(const char *name, size_t len)
{
    const char *dot = NULL;
    for (size_t i = len; i > 0; i--)
        if (name[i - 1] == '.') {
            dot = name + i - 1;
            break;
        }
    if (!dot || dot == name)
        return 0;
    size_t e = len - (size_t)(dot - name);
    if (e < 2 || e > MAX_EXT + 1)
        return 0;
    size_t stem = (size_t)(dot - name);
    if (stem > 4 && strncasecmp(name + stem - 4, ".tar", 4) == 0)
        e += 4;
    return e;
}

/* Writes into out (256 bytes) the n-th candidate name for `name` (<= 255
 * bytes): n == 0 is the name itself, else "stem (n).ext", the stem cut on a
 * UTF-8 boundary so the whole stays within LIMIT_FILENAME bytes. */
static void candidate(const char *name, unsigned n, char out[LIMIT_FILENAME + 1])
{
    size_t len = strnlen(name, LIMIT_FILENAME);
    if (n == 0) {
        memcpy(out, name, len);
        out[len] = '\0';
        return;
    }
    char suffix[16];
    int sl = snprintf(suffix, sizeof(suffix), " (%u)", n);
    size_t el = ext_len(name, len);
    size_t stem = len - el;
    size_t room = LIMIT_FILENAME - (size_t)sl - el;
    if (stem > room)
        stem = utf8_cut(name, room);
    memcpy(out, name, stem);
    memcpy(out + stem, suffix, (size_t)sl);
    memcpy(out + stem + (size_t)sl, name + len - el, el);
    out[stem + (size_t)sl + el] = '\0';
}

/* True when key is a relative path of non-empty components other than "." and
 * "..", at most KEY_MAX bytes: the only keys ever resolved under archives/. */
static bool key_valid(const char *key)
{
    if (!key)
        return false;
    size_t n = strnlen(key, KEY_MAX + 1);
    if (n == 0 || n > KEY_MAX || key[0] == '/')
        return false;
    const char *p = key;
    for (;;) {
        const char *slash = strchr(p, '/');
        size_t cl = slash ? (size_t)(slash - p) : strlen(p);
        if (cl == 0 || (cl == 1 && p[0] == '.') || (cl == 2 && p[0] == '.' && p[1] == '.'))
            return false;
        if (!slash)
            return true;
        p = slash + 1;
    }
}

/* Opens (creating if needed, 0750) archives/<ticket>/ as a directory fd. */
static enum err ticket_dir_open(struct blob_store *b, const char *tdir, int *ret_fd)
{
    if (mkdirat(b->archives_fd, tdir, 0750) < 0 && errno != EEXIST)
        return fs_fail("mkdir archives/", tdir, errno);
    int fd = openat(b->archives_fd, tdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return errno == ENOENT ? ERR_NOT_FOUND : fs_fail("open archives/", tdir, errno);
    *ret_fd = fd;
    return ERR_OK;
}

/* Moves (src_dirfd, src) into archives/<ticket>/ under the first free candidate
 * of `name`, never replacing a file: renameat2(RENAME_NOREPLACE), or
 * link + unlink where the file system lacks it. Then fsyncs the ticket dir and
 * archives/. Writes the chosen name to ret_name (256 bytes).
 * ERR_NOT_FOUND when src is missing, ERR_EXISTS when every candidate is taken,
 * ERR_NO_SPACE / ERR_IO. When the final fsyncs fail the file is already in
 * place: then ret_name holds its name and *ret_tfd the ticket directory fd
 * (the caller closes it), so the caller can decide to take it back out. */
static enum err place(struct blob_store *b, int src_dirfd, const char *src, int64_t ticket,
                      const char *name, char ret_name[LIMIT_FILENAME + 1], int *ret_tfd)
{
    char tdir[24];
    snprintf(tdir, sizeof(tdir), "%" PRId64, ticket);
    char cand[LIMIT_FILENAME + 1];

    for (int attempt = 0; attempt < PLACE_RETRIES; attempt++) {
        _cleanup_close_ int tfd = -1;
        enum err e = ticket_dir_open(b, tdir, &tfd);
        if (e == ERR_NOT_FOUND)
            continue; /* removed between mkdir and open */
        if (e)
            return e;
        bool dir_gone = false;
        for (unsigned n = 0; n <= MAX_SUFFIX && !dir_gone; n++) {
            candidate(name, n, cand);
            int r = renameat2(src_dirfd, src, tfd, cand, RENAME_NOREPLACE);
            if (r < 0 && errno == EINVAL) {
                /* no RENAME_NOREPLACE here: link() refuses to replace too */
                r = linkat(src_dirfd, src, tfd, cand, 0);
                if (r == 0 && unlinkat(src_dirfd, src, 0) < 0) {
                    int saved = errno;
                    (void)unlinkat(tfd, cand, 0);
                    return fs_fail("unlink", src, saved);
                }
            }
            if (r == 0) {
                if (fsync(tfd) < 0 || fsync(b->archives_fd) < 0) {
                    int saved = errno;
                    *ret_tfd = TAKE_FD(tfd);
                    (void)str_copy(ret_name, LIMIT_FILENAME + 1, cand);
                    return fs_fail("fsync archives/", tdir, saved);
                }
                (void)str_copy(ret_name, LIMIT_FILENAME + 1, cand);
                return ERR_OK;
            }
            if (errno == EEXIST)
                continue;
            if (errno != ENOENT)
                return fs_fail("rename into archives/", tdir, errno);
            /* ENOENT: the source is gone, or the ticket dir was removed */
            struct stat st;
            if (fstatat(src_dirfd, src, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return errno == ENOENT ? ERR_NOT_FOUND : fs_fail("stat", src, errno);
            dir_gone = true;
        }
        if (!dir_gone)
            return ERR_EXISTS;
    }
    return fs_fail("rename into archives/", tdir, ENOENT);
}

/* --- store --- */

/* Creates dir (0750) when missing and opens it as an O_DIRECTORY fd. */
static int dir_open(int atfd, const char *path, const char *shown)
{
    if (mkdirat(atfd, path, 0750) < 0 && errno != EEXIST) {
        char buf[128];
        log_error("blob: cannot create %s: %s", shown, strerror_r(errno, buf, sizeof(buf)));
        return -1;
    }
    int fd = openat(atfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        char buf[128];
        log_error("blob: cannot open %s: %s", shown, strerror_r(errno, buf, sizeof(buf)));
    }
    return fd;
}

/* Reads this boot's id into out (BOOT_ID_LEN + 1 bytes); "" when the kernel
 * does not say (then a fast save could not be told from one of an earlier boot,
 * and none is made). */
static void boot_id_read(char out[BOOT_ID_LEN + 1])
{
    out[0] = '\0';
    _cleanup_close_ int fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);
    char buf[BOOT_ID_LEN + 2];
    ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf));
    if (n < BOOT_ID_LEN) {
        log_warn("blob: the kernel's boot id is unknown: every save of a resumable upload "
                 "is durable");
        return;
    }
    memcpy(out, buf, BOOT_ID_LEN);
    out[BOOT_ID_LEN] = '\0';
}

enum err blob_open(const char *data_dir, struct blob_store **ret)
{
    if (!data_dir || !*data_dir) {
        log_error("blob: empty data directory");
        return ERR_IO;
    }
    _cleanup_close_ int root = dir_open(AT_FDCWD, data_dir, data_dir);
    if (root < 0)
        return ERR_IO;
    _cleanup_close_ int afd = dir_open(root, "archives", "DATA_DIR/archives");
    if (afd < 0)
        return ERR_IO;
    _cleanup_close_ int tfd = dir_open(root, "tmp", "DATA_DIR/tmp");
    if (tfd < 0)
        return ERR_IO;
    _cleanup_close_ int pfd = dir_open(root, "partial", "DATA_DIR/partial");
    if (pfd < 0)
        return ERR_IO;
    struct blob_store *b = calloc(1, sizeof(*b));
    if (!b)
        return ERR_NOMEM;
    size_t n = strlen(data_dir);
    b->tmp_path = malloc(n + sizeof("/tmp"));
    if (!b->tmp_path) {
        free(b);
        return ERR_NOMEM;
    }
    memcpy(b->tmp_path, data_dir, n);
    memcpy(b->tmp_path + n, "/tmp", sizeof("/tmp"));
    b->archives_fd = TAKE_FD(afd);
    b->tmp_fd = TAKE_FD(tfd);
    b->partial_fd = TAKE_FD(pfd);
    boot_id_read(b->boot_id);
    *ret = b;
    return ERR_OK;
}

void blob_close(struct blob_store *b)
{
    if (!b)
        return;
    close(b->archives_fd);
    close(b->tmp_fd);
    close(b->partial_fd);
    free(b->tmp_path);
    free(b);
}

/* Opens a directory fd for reading entries; the caller closedir()s. */
static DIR *dir_list(int dirfd, const char *name)
{
    int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return NULL;
    DIR *d = fdopendir(fd);
    if (!d) {
        int saved = errno;
        close(fd);
        errno = saved;
    }
    return d;
}

static bool dot_or_dotdot(const char *n)
{
    return n[0] == '.' && (n[1] == '\0' || (n[1] == '.' && n[2] == '\0'));
}

enum err blob_sweep_tmp(struct blob_store *b, int *ret_removed)
{
    DIR *d = dir_list(b->tmp_fd, ".");
    if (!d)
        return fs_fail("open", "DATA_DIR/tmp", errno);
    int removed = 0;
    enum err e = ERR_OK;
    for (;;) {
        errno = 0;
        struct dirent *de = readdir(d);
        if (!de) {
            if (errno)
                e = fs_fail("read", "DATA_DIR/tmp", errno);
            break;
        }
        if (dot_or_dotdot(de->d_name))
            continue;
        struct stat st;
        if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
            continue;
        /* An upload in progress holds an exclusive flock on its temp file (see
         * blob_upload_begin); the kernel drops it when its process dies. So a
         * file we can lock is stale, one we cannot belongs to another live
         * process sharing this DATA_DIR and stays. (A file created between its
         * owner's mkostemp and flock could be taken for stale; that owner's
         * upload then fails cleanly at finish. The window is a few
         * instructions, once per process start.) */
        int fd = openat(dirfd(d), de->d_name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
            continue;
        bool busy = flock(fd, LOCK_EX | LOCK_NB) != 0;
        if (busy) {
            close(fd);
            continue;
        }
        int rc = unlinkat(dirfd(d), de->d_name, 0);
        close(fd);
        if (rc < 0) {
            if (errno == ENOENT)
                continue;
            e = fs_fail("unlink tmp/", de->d_name, errno);
            break;
        }
        log_info("blob: removed stale temp file tmp/%s (%lld bytes)", de->d_name,
                 (long long)st.st_size);
        removed++;
    }
    closedir(d);
    if (e)
        return e;
    *ret_removed = removed;
    return ERR_OK;
}

enum err blob_space(struct blob_store *b, struct blob_space *ret)
{
    struct statvfs sv;
    if (fstatvfs(b->archives_fd, &sv) < 0)
        return fs_fail("statvfs", "DATA_DIR/archives", errno);
    uint64_t unit = sv.f_frsize;
    ret->total = (uint64_t)sv.f_blocks * unit;
    ret->used = ret->total - (uint64_t)sv.f_bfree * unit;
    ret->free = (uint64_t)sv.f_bavail * unit;
    return ERR_OK;
}

enum err blob_free_space(struct blob_store *b, uint64_t *ret_free)
{
    struct blob_space sp;
    enum err e = blob_space(b, &sp);
    if (!e)
        *ret_free = sp.free;
    return e;
}

/* --- the MD5 hashers: a few threads sharing a FIFO of uploads that have bytes to
 * hash. An upload is in the FIFO or on one hasher at a time (md5_queued), so its
 * context is only ever touched by one thread; hasher.lock hands it from one to the
 * next. More than one thread lets uploads on different cores hash at once: one
 * MD5 runs at ~600 MB/s on a core, and a single hasher would cap them all at that.
 * Idle hashers wait on a stack, and new work wakes the one that went idle last:
 * an upload hashed alone keeps coming back to the same thread, as with one hasher,
 * and a second upload wakes a second thread. */

#define HASHERS_MAX 64

static int hashers_wanted = 1;

void blob_set_hashers(int n)
{
    hashers_wanted = n < 1 ? 1 : n > HASHERS_MAX ? HASHERS_MAX : n;
}

struct hasher_thread {
    pthread_cond_t wake;
    bool woken;                      /* taken off the idle stack (hasher.lock) */
    struct hasher_thread *next_idle; /* idle stack link */
    unsigned char buf[MD5_CHUNK];
};

static struct {
    pthread_once_t once;
    pthread_mutex_t lock;
    struct blob_upload *head, *tail;
    struct hasher_thread *idle; /* the hasher that went idle last on top */
    bool running;
} hasher = {.once = PTHREAD_ONCE_INIT, .lock = PTHREAD_MUTEX_INITIALIZER};

/* Appends u to the FIFO (hasher.lock held). */
static void hasher_enqueue(struct blob_upload *u)
{
    u->next = NULL;
    if (hasher.tail)
        hasher.tail->next = u;
    else
        hasher.head = u;
    hasher.tail = u;
}

static void hasher_push(struct blob_upload *u)
{
    pthread_mutex_lock(&hasher.lock);
    hasher_enqueue(u);
    struct hasher_thread *t = hasher.idle;
    if (t) {
        hasher.idle = t->next_idle;
        t->woken = true;
        pthread_cond_signal(&t->wake);
    }
    pthread_mutex_unlock(&hasher.lock);
}

/* Hashes [md5_done, written) of u by reading the file back, at most MD5_SLICE
 * per turn. Returns true when u should be queued again (more to do). */
static bool hasher_turn(struct blob_upload *u, unsigned char *buf)
{
    int64_t budget = MD5_SLICE;
    for (;;) {
        pthread_mutex_lock(&u->lock);
        int64_t from = u->md5_done, to = u->written;
        bool stop = u->cancelled || u->md5_err || from >= to;
        bool more = !stop && budget <= 0;
        if (stop || more) {
            if (stop)
                u->md5_queued = false;
            pthread_cond_broadcast(&u->idle);
            pthread_mutex_unlock(&u->lock);
            return more;
        }
        pthread_mutex_unlock(&u->lock);
        size_t n = (size_t)(to - from < MD5_CHUNK ? to - from : MD5_CHUNK);
        ssize_t got = pread(u->fd, buf, n, from);
        enum err e = ERR_OK;
        if (got <= 0)
            e = got < 0 && errno == EINTR ? ERR_OK : ERR_IO;
        else if (!MD5_Update(&u->md5, buf, (size_t)got))
            e = ERR_INTERNAL;
        pthread_mutex_lock(&u->lock);
        if (e) {
            u->md5_err = e;
        } else if (got > 0) {
            u->md5_done += got;
            u->md5_at_done = u->md5;
            pthread_cond_broadcast(&u->idle); /* for hasher_wait_lag */
        }
        pthread_mutex_unlock(&u->lock);
        budget -= got > 0 ? got : 0;
    }
}

static void *hasher_main(void *arg)
{
    struct hasher_thread *self = arg;
    pthread_mutex_lock(&hasher.lock);
    for (;;) {
        while (!hasher.head) {
            self->woken = false;
            self->next_idle = hasher.idle;
            hasher.idle = self;
            while (!self->woken)
                pthread_cond_wait(&self->wake, &hasher.lock);
        }
        struct blob_upload *u = hasher.head;
        hasher.head = u->next;
        if (!hasher.head)
            hasher.tail = NULL;
        pthread_mutex_unlock(&hasher.lock);
        bool again = hasher_turn(u, self->buf);
        pthread_mutex_lock(&hasher.lock);
        /* u stays md5_queued: only a hasher touches its context. No signal: this
         * thread takes the FIFO's head next, so an upload hashed alone stays on
         * the thread (and core) it is on instead of waking another. */
        if (again)
            hasher_enqueue(u);
    }
    return NULL;
}

/* Starts the hashers (pthread_once, at the first upload). Each gets its state and
 * buffer before it starts, so a started hasher never fails; when none starts, the owner
 * of each upload hashes its MD5 at the end (md5_catch_up). */
static void hasher_start(void)
{
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    int started = 0;
    for (int i = 0; i < hashers_wanted; i++) {
        struct hasher_thread *h = calloc(1, sizeof(*h));
        pthread_t t;
        if (!h)
            break;
        pthread_cond_init(&h->wake, NULL);
        if (pthread_create(&t, &attr, hasher_main, h) != 0) {
            pthread_cond_destroy(&h->wake);
            free(h);
            break;
        }
        started++;
    }
    pthread_attr_destroy(&attr);
    if (started < hashers_wanted)
        log_warn("started %d of %d MD5 hasher threads", started, hashers_wanted);
    hasher.running = started > 0;
}

/* Waits until the hasher has let go of u. */
static void hasher_wait(struct blob_upload *u)
{
    pthread_mutex_lock(&u->lock);
    while (u->md5_queued)
        pthread_cond_wait(&u->idle, &u->lock);
    pthread_mutex_unlock(&u->lock);
}

/* Waits until the hasher has let go of u or has left at most `lag` bytes
 * unhashed. */
static void hasher_wait_lag(struct blob_upload *u, int64_t lag)
{
    pthread_mutex_lock(&u->lock);
    while (u->md5_queued && !u->md5_err && u->written - u->md5_done > lag)
        pthread_cond_wait(&u->idle, &u->lock);
    pthread_mutex_unlock(&u->lock);
}

/* Owner side: hashes whatever the hasher has not (called with the hasher idle). */
static enum err md5_catch_up(struct blob_upload *u)
{
    if (u->md5_err)
        return u->md5_err;
    unsigned char buf[64 * 1024];
    while (u->md5_done < u->size) {
        size_t n = (size_t)(u->size - u->md5_done < (int64_t)sizeof(buf) ? u->size - u->md5_done
                                                                         : (int64_t)sizeof(buf));
        ssize_t got = pread(u->fd, buf, n, u->md5_done);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            return fs_fail("read back", u->fname, got < 0 ? errno : EIO);
        if (!MD5_Update(&u->md5, buf, (size_t)got))
            return ERR_INTERNAL;
        u->md5_done += got;
    }
    u->md5_at_done = u->md5;
    return ERR_OK;
}

/* --- uploads --- */

static void upload_free(struct blob_upload *u)
{
    pthread_mutex_lock(&u->lock);
    u->cancelled = true;
    pthread_mutex_unlock(&u->lock);
    hasher_wait(u);
    pthread_mutex_destroy(&u->lock);
    pthread_cond_destroy(&u->idle);
    if (u->fd >= 0)
        close(u->fd);
    free(u);
}

/* A new upload handle with fresh digests, no file yet. */
static enum err upload_new(struct blob_store *b, int64_t max_size, struct blob_upload **ret)
{
    struct blob_upload *u = calloc(1, sizeof(*u));
    if (!u)
        return ERR_NOMEM;
    u->b = b;
    u->fd = -1;
    u->dir_fd = b->tmp_fd;
    pthread_mutex_init(&u->lock, NULL);
    pthread_cond_init(&u->idle, NULL);
    pthread_once(&hasher.once, hasher_start);
    u->max_size = max_size > 0 ? max_size : 0;
    if (!MD5_Init(&u->md5) || !SHA256_Init(&u->sha256)) {
        upload_free(u);
        return ERR_INTERNAL;
    }
    u->md5_at_done = u->md5;
    *ret = u;
    return ERR_OK;
}

enum err blob_upload_begin(struct blob_store *b, int64_t max_size, struct blob_upload **ret)
{
    struct blob_upload *u;
    enum err e = upload_new(b, max_size, &u);
    if (e)
        return e;
    size_t pl = strlen(b->tmp_path);
    _cleanup_free_ char *tmpl = malloc(pl + 1 + sizeof(TMP_PREFIX "XXXXXX"));
    if (!tmpl) {
        upload_free(u);
        return ERR_NOMEM;
    }
    memcpy(tmpl, b->tmp_path, pl);
    tmpl[pl] = '/';
    memcpy(tmpl + pl + 1, TMP_PREFIX "XXXXXX", sizeof(TMP_PREFIX "XXXXXX"));
    u->fd = mkostemp(tmpl, O_CLOEXEC);
    if (u->fd < 0) {
        e = fs_fail("create temp file in", b->tmp_path, errno);
        upload_free(u);
        return e;
    }
    str_copy(u->fname, sizeof(u->fname), tmpl + pl + 1);
    /* "in progress" for blob_sweep_tmp in any process sharing this DATA_DIR */
    if (flock(u->fd, LOCK_EX | LOCK_NB) < 0) {
        e = fs_fail("lock tmp/", u->fname, errno);
        blob_upload_abort(u);
        return e;
    }
    if (fchmod(u->fd, 0640) < 0) {
        e = fs_fail("chmod tmp/", u->fname, errno);
        blob_upload_abort(u);
        return e;
    }
    *ret = u;
    return ERR_OK;
}

enum err blob_upload_write(struct blob_upload *u, const void *buf, size_t len)
{
    if (u->failed)
        return u->failed;
    if (len > (size_t)(INT64_MAX - u->size))
        return ERR_TOO_LARGE;
    if (u->max_size > 0 && u->size + (int64_t)len > u->max_size)
        return ERR_TOO_LARGE;

    const char *p = buf;
    size_t left = len;
    while (left > 0) {
        ssize_t n = write(u->fd, p, left);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            u->failed = fs_fail("write", u->fname, errno);
            return u->failed;
        }
        p += n;
        left -= (size_t)n;
    }
    if (!SHA256_Update(&u->sha256, buf, len)) {
        u->failed = ERR_INTERNAL;
        return u->failed;
    }
    u->size += (int64_t)len;

    pthread_mutex_lock(&u->lock);
    u->written = u->size;
    int64_t hashed = u->md5_done;
    bool wake = hasher.running && !u->md5_queued && u->size - hashed >= MD5_LAG;
    if (wake)
        u->md5_queued = true;
    pthread_mutex_unlock(&u->lock);
    if (wake)
        hasher_push(u);

    while (u->size - u->window >= WINDOW) {
        /* Advisory only: an I/O error here shows up again at the final fsync. */
        (void)sync_file_range(u->fd, u->window, WINDOW, SYNC_FILE_RANGE_WRITE);
        /* drop cached pages only once MD5 has read them back */
        int64_t old = u->window - 2 * WINDOW;
        if (old >= 0 && old + WINDOW <= hashed)
            (void)posix_fadvise(u->fd, old, WINDOW, POSIX_FADV_DONTNEED);
        u->window += WINDOW;
    }
    return ERR_OK;
}

int64_t blob_upload_size(const struct blob_upload *u)
{
    return u->size;
}

void blob_upload_abort(struct blob_upload *u)
{
    if (!u)
        return;
    if (u->fname[0])
        (void)unlinkat(u->dir_fd, u->fname, 0); /* the sweeps catch a failure */
    if (u->id[0]) {
        char state[FNAME_MAX];
        snprintf(state, sizeof(state), "%s" STATE_SUFFIX, u->id);
        (void)unlinkat(u->dir_fd, state, 0);
        snprintf(state, sizeof(state), "%s" FAST_SUFFIX, u->id);
        (void)unlinkat(u->dir_fd, state, 0);
    }
    upload_free(u);
}

/*
 * The name is sanitized once more here (idempotent for an already sanitized
 * name), so no caller can make it escape archives/<ticket>/. ticket_number
 * must be positive and the out buffers at least as large as blob.h says,
 * else ERR_INTERNAL. ERR_EXISTS when all MAX_SUFFIX suffixes are taken.
 */
enum err blob_upload_finish(struct blob_upload *u, int64_t ticket_number, const char *name,
                            char *ret_key, size_t keylen, char *ret_name, size_t namelen,
                            char md5[33], char sha256[65])
{
    if (!u)
        return ERR_INTERNAL;
    struct blob_store *b = u->b;
    enum err e = u->failed;
    if (!e && (ticket_number <= 0 || !name || !ret_key || keylen < KEY_MAX + 1 || !ret_name ||
               namelen < LIMIT_FILENAME + 1))
        e = ERR_INTERNAL;
    if (!e) {
        hasher_wait(u);
        e = md5_catch_up(u);
    }
    if (!e && fsync(u->fd) < 0)
        e = fs_fail("fsync", u->fname, errno);
    unsigned char d5[MD5_DIGEST_LENGTH], d256[SHA256_DIGEST_LENGTH];
    if (!e && (!MD5_Final(d5, &u->md5) || !SHA256_Final(d256, &u->sha256)))
        e = ERR_INTERNAL;
    if (e) {
        blob_upload_abort(u);
        return e;
    }

    char clean[LIMIT_FILENAME + 1], final[LIMIT_FILENAME + 1];
    blob_sanitize_name(name, strlen(name), "archive", clean, sizeof(clean));
    int tfd = -1;
    e = place(b, u->dir_fd, u->fname, ticket_number, clean, final, &tfd);
    if (e) {
        if (tfd >= 0) { /* in place but not durable: take it out again */
            (void)unlinkat(tfd, final, 0);
            close(tfd);
        }
        blob_upload_abort(u);
        return e;
    }
    u->fname[0] = '\0'; /* renamed away: nothing left to remove but a partial's state */
    blob_upload_abort(u);

    snprintf(ret_key, keylen, "%" PRId64 "/%s", ticket_number, final);
    (void)str_copy(ret_name, namelen, final);
    hex_encode(d5, 16, md5);
    hex_encode(d256, 32, sha256);
    return ERR_OK;
}

/* --- resumable uploads --- */

/*
 * Two records say where a partial upload stands, each with an offset, the
 * SHA-256 state at it and an MD5 state:
 *   <id>.state  durable: written once the MD5 has caught up and the bytes are
 *               flushed (fdatasync), to a temp file that is fsync'ed and renamed
 *               over it, then the directory fsync'ed. Made at the creation,
 *               every LIMIT_TUS_CHECKPOINT bytes, and for a request that ends
 *               without its answer (the client went away, the server stops).
 *   <id>.fast   fast: made at the end of every other request that stored bytes,
 *               with nothing flushed and nothing waited for: the MD5 state is
 *               the hasher's copy at the offset it has reached (md5_offset, at
 *               most MD5_SAVE_LAG behind). The file has two slots written in
 *               turn in place (slot = seq % 2): a torn or half-read slot fails
 *               its check and the other one stands. Its bytes and the data's
 *               are in the page cache, where every process on this machine sees
 *               them until the machine restarts; so the record carries the
 *               kernel's boot id and is believed only during the boot that
 *               wrote it. After a reboot the durable state stands and the bytes
 *               after it are cut off.
 * Offsets only grow, so the newer record is the one with the larger offset
 * (the durable one on a tie). A resume from a fast record hashes the MD5 lag
 * again from the file, on the hasher thread, while the request's bytes come.
 */

#define STATE_MAGIC   "lc-part"
#define STATE_VERSION 1
#define FAST_MAGIC    "lc-fast"
#define FAST_VERSION  1

/* The state file: plain bytes of this build's layout, checked on reading by
 * magic, version, sizes, the byte counts inside the digest contexts and a
 * SHA-256 over everything before it. */
struct partial_state {
    char magic[8];
    uint32_t version;
    uint32_t md5_size, sha256_size; /* sizeof the contexts: another build's layout is refused */
    int64_t offset;
    MD5_CTX md5;
    SHA256_CTX sha256;
    unsigned char check[SHA256_DIGEST_LENGTH];
};

/* One slot of the fast file, checked the same way and against the boot id.
 * `size` is the slot's size; boot_id is text at a fixed place, so a test can
 * make a record look like another boot's. */
struct fast_state {
    char magic[8];
    uint32_t version;
    uint32_t size; /* sizeof(struct fast_state) */
    uint32_t md5_size, sha256_size;
    uint64_t seq;                  /* 1, 2, ... per upload; the larger is newer */
    char boot_id[BOOT_ID_LEN + 4]; /* NUL padded */
    int64_t offset;                /* the bytes so far; sha256 is at this offset */
    int64_t md5_offset;            /* <= offset; md5 is at this offset */
    MD5_CTX md5;
    SHA256_CTX sha256;
    uint32_t reserved; /* 0: no padding after check */
    unsigned char check[SHA256_DIGEST_LENGTH];
};
/* check ends the slot: a slot is "SHA-256 of its bytes before the last 32" */
_Static_assert(offsetof(struct fast_state, check) + SHA256_DIGEST_LENGTH ==
                   sizeof(struct fast_state),
               "struct fast_state has padding after its check");

/* Where a partial upload stands, from its records. */
struct partial_pick {
    int64_t offset, md5_offset, durable_offset;
    MD5_CTX md5;
    SHA256_CTX sha256;
    bool fast;         /* from the fast record */
    bool fast_file;    /* a fast file exists */
    uint64_t fast_seq; /* the largest sequence number in it */
};

static bool id_valid(const char *id)
{
    if (!id || strlen(id) != BLOB_PARTIAL_ID)
        return false;
    for (const char *p = id; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
            return false;
    return true;
}

/* Bytes a digest context has taken in (its bit count). */
static int64_t md5_count(const MD5_CTX *c)
{
    return (int64_t)((((uint64_t)c->Nh << 32) | c->Nl) >> 3);
}

static int64_t sha256_count(const SHA256_CTX *c)
{
    return (int64_t)((((uint64_t)c->Nh << 32) | c->Nl) >> 3);
}

/* Writes all of len bytes at `at`; fs_fail's error otherwise. */
static enum err write_all_at(int fd, const void *buf, size_t len, off_t at, const char *name)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t n = pwrite(fd, p, len, at);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return fs_fail("write partial/", name, errno);
        p += n;
        len -= (size_t)n;
        at += n;
    }
    return ERR_OK;
}

/* Writes u's state at u->size into partial/<id>.state, durably. Caller has
 * made the MD5 catch up and flushed the bytes. */
static enum err state_write(struct blob_upload *u)
{
    struct partial_state st;
    memset(&st, 0, sizeof(st));
    memcpy(st.magic, STATE_MAGIC, sizeof(STATE_MAGIC));
    st.version = STATE_VERSION;
    st.md5_size = sizeof(MD5_CTX);
    st.sha256_size = sizeof(SHA256_CTX);
    st.offset = u->size;
    st.md5 = u->md5;
    st.sha256 = u->sha256;
    SHA256((const unsigned char *)&st, offsetof(struct partial_state, check), st.check);
    char tmp[FNAME_MAX], name[FNAME_MAX];
    snprintf(tmp, sizeof(tmp), "%s.tmp", u->id);
    snprintf(name, sizeof(name), "%s" STATE_SUFFIX, u->id);
    _cleanup_close_ int fd =
        openat(u->dir_fd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0640);
    if (fd < 0)
        return fs_fail("create partial/", tmp, errno);
    enum err e = write_all_at(fd, &st, sizeof(st), 0, tmp);
    if (e) {
        (void)unlinkat(u->dir_fd, tmp, 0);
        return e;
    }
    if (fsync(fd) < 0 || renameat(u->dir_fd, tmp, u->dir_fd, name) < 0 || fsync(u->dir_fd) < 0) {
        e = fs_fail("save partial/", name, errno);
        (void)unlinkat(u->dir_fd, tmp, 0);
        return e;
    }
    return ERR_OK;
}

/* Reads and checks partial/<id>.state. ERR_NOT_FOUND when missing or not ours. */
static enum err state_read(struct blob_store *b, const char *id, struct partial_state *st)
{
    char name[FNAME_MAX];
    snprintf(name, sizeof(name), "%s" STATE_SUFFIX, id);
    _cleanup_close_ int fd = openat(b->partial_fd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return errno == ENOENT ? ERR_NOT_FOUND : fs_fail("open partial/", name, errno);
    ssize_t n = pread(fd, st, sizeof(*st), 0);
    unsigned char check[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)st, offsetof(struct partial_state, check), check);
    if (n != (ssize_t)sizeof(*st) || memcmp(st->magic, STATE_MAGIC, sizeof(STATE_MAGIC)) != 0 ||
        st->version != STATE_VERSION || st->md5_size != sizeof(MD5_CTX) ||
        st->sha256_size != sizeof(SHA256_CTX) || memcmp(check, st->check, sizeof(check)) != 0 ||
        st->offset < 0 || md5_count(&st->md5) != st->offset ||
        sha256_count(&st->sha256) != st->offset) {
        log_error("blob: partial/%s is not a state file of this build; the upload cannot resume",
                  name);
        return ERR_NOT_FOUND;
    }
    return ERR_OK;
}

/* Writes u's state into the next slot of partial/<id>.fast: the SHA-256 at
 * u->size, the MD5 where the hasher stands. Nothing is flushed. */
static enum err fast_write(struct blob_upload *u)
{
    struct fast_state st;
    memset(&st, 0, sizeof(st));
    memcpy(st.magic, FAST_MAGIC, sizeof(FAST_MAGIC));
    st.version = FAST_VERSION;
    st.size = sizeof(st);
    st.md5_size = sizeof(MD5_CTX);
    st.sha256_size = sizeof(SHA256_CTX);
    st.seq = u->fast_seq + 1;
    memcpy(st.boot_id, u->b->boot_id, BOOT_ID_LEN);
    st.offset = u->size;
    st.sha256 = u->sha256;
    pthread_mutex_lock(&u->lock);
    enum err e = u->md5_err;
    st.md5_offset = u->md5_done;
    st.md5 = u->md5_at_done;
    pthread_mutex_unlock(&u->lock);
    if (e)
        return e;
    SHA256((const unsigned char *)&st, offsetof(struct fast_state, check), st.check);
    char name[FNAME_MAX];
    snprintf(name, sizeof(name), "%s" FAST_SUFFIX, u->id);
    _cleanup_close_ int fd =
        openat(u->dir_fd, name, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
    if (fd < 0)
        return fs_fail("create partial/", name, errno);
    e = write_all_at(fd, &st, sizeof(st), (off_t)(st.seq % 2) * (off_t)sizeof(st), name);
    if (!e)
        u->fast_seq = st.seq;
    return e;
}

static bool fast_valid(const struct fast_state *s)
{
    unsigned char check[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)s, offsetof(struct fast_state, check), check);
    return memcmp(s->magic, FAST_MAGIC, sizeof(FAST_MAGIC)) == 0 && s->version == FAST_VERSION &&
           s->size == sizeof(*s) && s->md5_size == sizeof(MD5_CTX) &&
           s->sha256_size == sizeof(SHA256_CTX) && memcmp(check, s->check, sizeof(check)) == 0 &&
           s->seq > 0 && s->offset >= 0 && s->md5_offset >= 0 && s->md5_offset <= s->offset &&
           md5_count(&s->md5) == s->md5_offset && sha256_count(&s->sha256) == s->offset;
}

/* Reads partial/<id>.fast into pk: the newest slot that passes its check, was
 * written in this boot and whose offset is within data_size (the data file's
 * size; -1 believes none), when it is newer than pk's durable offset. `held`:
 * the caller holds the upload, so nobody is writing it; then a newer slot of
 * this boot beyond the data means the data was cut behind our back, and no
 * slot is believed. (Without the hold, a slot may be newer than the size read
 * just before it.) */
static void fast_read(struct blob_store *b, const char *id, int64_t data_size, bool held,
                      struct partial_pick *pk)
{
    char name[FNAME_MAX];
    snprintf(name, sizeof(name), "%s" FAST_SUFFIX, id);
    _cleanup_close_ int fd = openat(b->partial_fd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return;
    pk->fast_file = true;
    struct fast_state slot[2];
    ssize_t n = pread(fd, slot, sizeof(slot), 0);
    const struct fast_state *best = NULL, *newest = NULL;
    for (size_t i = 0; i < 2 && n >= (ssize_t)((i + 1) * sizeof(slot[0])); i++) {
        const struct fast_state *s = &slot[i];
        if (!fast_valid(s))
            continue; /* torn, damaged, or never written */
        if (s->seq > pk->fast_seq)
            pk->fast_seq = s->seq;
        if (!b->boot_id[0] || memcmp(s->boot_id, b->boot_id, BOOT_ID_LEN + 1) != 0)
            continue;
        if (!newest || s->seq > newest->seq)
            newest = s;
        if (s->offset <= data_size && (!best || s->seq > best->seq))
            best = s;
    }
    if (!best || best->offset <= pk->durable_offset || (held && best != newest))
        return;
    pk->fast = true;
    pk->offset = best->offset;
    pk->md5_offset = best->md5_offset;
    pk->md5 = best->md5;
    pk->sha256 = best->sha256;
}

/* Where partial upload `id` stands: its durable state (which must be there),
 * or the fast one when that is newer and believable (see above). data_size:
 * the data file's size, -1 when unknown; held as for fast_read. ERR_NOT_FOUND
 * as state_read. */
static enum err partial_pick(struct blob_store *b, const char *id, int64_t data_size, bool held,
                             struct partial_pick *ret)
{
    struct partial_state st;
    enum err e = state_read(b, id, &st);
    if (e)
        return e;
    memset(ret, 0, sizeof(*ret));
    ret->offset = ret->md5_offset = ret->durable_offset = st.offset;
    ret->md5 = st.md5;
    ret->sha256 = st.sha256;
    fast_read(b, id, data_size, held, ret);
    return ERR_OK;
}

enum err blob_partial_create(struct blob_store *b, const char *id, int64_t max_size,
                             struct blob_upload **ret)
{
    if (!id_valid(id))
        return ERR_INTERNAL;
    struct blob_upload *u;
    enum err e = upload_new(b, max_size, &u);
    if (e)
        return e;
    u->dir_fd = b->partial_fd;
    snprintf(u->fname, sizeof(u->fname), "%s" DATA_SUFFIX, id);
    u->fd =
        openat(b->partial_fd, u->fname, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0640);
    if (u->fd < 0) {
        e = errno == EEXIST ? ERR_EXISTS : fs_fail("create partial/", u->fname, errno);
        u->fname[0] = '\0'; /* not ours to remove */
        upload_free(u);
        return e;
    }
    str_copy(u->id, sizeof(u->id), id);
    if (flock(u->fd, LOCK_EX | LOCK_NB) < 0) {
        e = fs_fail("lock partial/", u->fname, errno);
        blob_upload_abort(u);
        return e;
    }
    e = state_write(u);
    if (e) {
        blob_upload_abort(u);
        return e;
    }
    *ret = u;
    return ERR_OK;
}

enum err blob_partial_open(struct blob_store *b, const char *id, int64_t max_size,
                           struct blob_upload **ret, int64_t *ret_offset)
{
    if (!id_valid(id))
        return ERR_NOT_FOUND;
    struct blob_upload *u;
    enum err e = upload_new(b, max_size, &u);
    if (e)
        return e;
    u->dir_fd = b->partial_fd;
    char name[FNAME_MAX];
    snprintf(name, sizeof(name), "%s" DATA_SUFFIX, id);
    u->fd = openat(b->partial_fd, name, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
    if (u->fd < 0) {
        e = errno == ENOENT ? ERR_NOT_FOUND : fs_fail("open partial/", name, errno);
        upload_free(u);
        return e;
    }
    if (flock(u->fd, LOCK_EX | LOCK_NB) < 0) {
        e = errno == EWOULDBLOCK ? ERR_LOCKED : fs_fail("lock partial/", name, errno);
        upload_free(u);
        return e;
    }
    struct stat sb;
    struct partial_pick pk;
    if (fstat(u->fd, &sb) < 0)
        e = fs_fail("stat partial/", name, errno);
    if (!e)
        e = partial_pick(b, id, sb.st_size, true, &pk);
    if (!e && sb.st_size < pk.offset) {
        log_error("blob: partial/%s holds %lld bytes, its state says %lld", name,
                  (long long)sb.st_size, (long long)pk.offset);
        e = ERR_NOT_FOUND;
    }
    if (!e && pk.fast_file && !pk.fast) {
        /* an earlier boot's (or an older) fast record: gone before the bytes
         * after the durable offset are, so it is never believed again */
        char fast[FNAME_MAX];
        snprintf(fast, sizeof(fast), "%s" FAST_SUFFIX, id);
        if (unlinkat(b->partial_fd, fast, 0) < 0 && errno != ENOENT)
            e = fs_fail("unlink partial/", fast, errno);
        pk.fast_seq = 0;
    }
    /* bytes written after the last save have no digest state: cut them */
    if (!e && sb.st_size > pk.offset && ftruncate(u->fd, pk.offset) < 0)
        e = fs_fail("truncate partial/", name, errno);
    if (!e && lseek(u->fd, pk.offset, SEEK_SET) < 0)
        e = fs_fail("seek partial/", name, errno);
    if (e) {
        upload_free(u);
        return e;
    }
    str_copy(u->fname, sizeof(u->fname), name);
    str_copy(u->id, sizeof(u->id), id);
    u->md5 = u->md5_at_done = pk.md5;
    u->sha256 = pk.sha256;
    u->size = u->written = pk.offset;
    u->md5_done = pk.md5_offset;
    u->saved_at = pk.offset;
    u->durable_at = pk.durable_offset;
    u->fast_seq = pk.fast_seq;
    u->window = pk.offset - pk.offset % WINDOW;
    if (u->max_size > 0 && u->size > u->max_size) {
        upload_free(u);
        return ERR_TOO_LARGE;
    }
    if (u->md5_done < u->size) {
        /* the MD5 lag of a fast record: hashed again from the file meanwhile */
        if (hasher.running) {
            u->md5_queued = true; /* nobody else knows u yet */
            hasher_push(u);
        } else if ((e = md5_catch_up(u)) != ERR_OK) {
            upload_free(u);
            return e;
        }
    }
    *ret = u;
    *ret_offset = pk.offset;
    return ERR_OK;
}

/* The durable save: the MD5 catches up, the bytes are flushed, then the state
 * is written beside them. */
static enum err durable_save(struct blob_upload *u)
{
    hasher_wait(u);
    enum err e = md5_catch_up(u);
    if (!e && fdatasync(u->fd) < 0)
        e = fs_fail("fdatasync partial/", u->fname, errno);
    if (!e)
        e = state_write(u);
    if (!e)
        u->saved_at = u->durable_at = u->size;
    return e;
}

/* A save: durable when asked, due or the only kind there is, else fast. */
static enum err partial_save(struct blob_upload *u, bool durable)
{
    if (!u || !u->id[0])
        return ERR_INTERNAL;
    if (u->failed)
        return u->failed;
    if (durable || !u->b->boot_id[0] || u->size - u->durable_at >= LIMIT_TUS_CHECKPOINT)
        return u->size == u->durable_at ? ERR_OK : durable_save(u);
    if (u->size == u->saved_at)
        return ERR_OK;
    /* the MD5 may lag, but not by much: a resume hashes the lag again */
    hasher_wait_lag(u, MD5_SAVE_LAG);
    pthread_mutex_lock(&u->lock);
    bool behind = !u->md5_queued && u->written - u->md5_done > MD5_SAVE_LAG;
    pthread_mutex_unlock(&u->lock);
    enum err e = behind ? md5_catch_up(u) : ERR_OK; /* no hasher thread */
    if (!e)
        e = fast_write(u);
    if (e == ERR_NO_SPACE || e == ERR_IO)
        return durable_save(u); /* the durable state stands in (and says why it cannot) */
    if (!e)
        u->saved_at = u->size;
    return e;
}

enum err blob_partial_save(struct blob_upload *u)
{
    return partial_save(u, false);
}

enum err blob_partial_sync(struct blob_upload *u)
{
    return partial_save(u, true);
}

void blob_partial_close(struct blob_upload *u)
{
    if (u)
        upload_free(u);
}

enum err blob_partial_offset(struct blob_store *b, const char *id, int64_t *ret_offset)
{
    if (!id_valid(id))
        return ERR_NOT_FOUND;
    /* the data's size first: it only grows while the records are written */
    char data[FNAME_MAX];
    snprintf(data, sizeof(data), "%s" DATA_SUFFIX, id);
    struct stat sb;
    int64_t size = fstatat(b->partial_fd, data, &sb, AT_SYMLINK_NOFOLLOW) == 0 ? sb.st_size : -1;
    struct partial_pick pk;
    enum err e = partial_pick(b, id, size, false, &pk);
    if (!e)
        *ret_offset = pk.offset;
    return e;
}

/* Removes <id>.data and its records unless someone holds the upload. */
static enum err partial_unlink(struct blob_store *b, const char *id)
{
    char data[FNAME_MAX], state[FNAME_MAX], fast[FNAME_MAX];
    snprintf(data, sizeof(data), "%s" DATA_SUFFIX, id);
    snprintf(state, sizeof(state), "%s" STATE_SUFFIX, id);
    snprintf(fast, sizeof(fast), "%s" FAST_SUFFIX, id);
    _cleanup_close_ int fd = openat(b->partial_fd, data, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) < 0)
        return ERR_LOCKED;
    if (fd >= 0 && unlinkat(b->partial_fd, data, 0) < 0 && errno != ENOENT)
        return fs_fail("unlink partial/", data, errno);
    if (unlinkat(b->partial_fd, state, 0) < 0 && errno != ENOENT)
        return fs_fail("unlink partial/", state, errno);
    if (unlinkat(b->partial_fd, fast, 0) < 0 && errno != ENOENT)
        return fs_fail("unlink partial/", fast, errno);
    return ERR_OK;
}

enum err blob_partial_remove(struct blob_store *b, const char *id)
{
    if (!id_valid(id))
        return ERR_OK;
    return partial_unlink(b, id);
}

enum err blob_partial_sweep(struct blob_store *b, bool (*keep)(const char *id, void *ctx),
                            void *ctx, int *ret_removed)
{
    DIR *d = dir_list(b->partial_fd, ".");
    if (!d)
        return fs_fail("open", "DATA_DIR/partial", errno);
    int removed = 0;
    enum err e = ERR_OK;
    int64_t now = (int64_t)time(NULL);
    for (;;) {
        errno = 0;
        struct dirent *de = readdir(d);
        if (!de) {
            if (errno)
                e = fs_fail("read", "DATA_DIR/partial", errno);
            break;
        }
        const char *dot = strchr(de->d_name, '.');
        if (dot_or_dotdot(de->d_name) || !dot || dot - de->d_name != BLOB_PARTIAL_ID)
            continue;
        char id[BLOB_PARTIAL_ID + 1];
        memcpy(id, de->d_name, BLOB_PARTIAL_ID);
        id[BLOB_PARTIAL_ID] = '\0';
        if (!id_valid(id))
            continue;
        if (strcmp(dot, DATA_SUFFIX) != 0) {
            /* a state whose bytes are gone (finished, removed half-way) or a
             * leftover temp state: stray once it is a minute old */
            char data[FNAME_MAX];
            snprintf(data, sizeof(data), "%s" DATA_SUFFIX, id);
            struct stat st;
            if (faccessat(dirfd(d), data, F_OK, AT_SYMLINK_NOFOLLOW) != 0 &&
                fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
                now - (int64_t)st.st_mtime >= BLOB_STRAY_AGE)
                (void)unlinkat(dirfd(d), de->d_name, 0);
            continue;
        }
        if (keep(id, ctx))
            continue;
        if (partial_unlink(b, id) == ERR_OK) {
            log_info("blob: removed partial upload %s", id);
            removed++;
        }
    }
    closedir(d);
    if (e)
        return e;
    *ret_removed = removed;
    return ERR_OK;
}

/* --- finished archives --- */

enum err blob_open_read(struct blob_store *b, const char *key, int *ret_fd, int64_t *ret_size)
{
    if (!key_valid(key))
        return ERR_NOT_FOUND;
    _cleanup_close_ int fd = openat(b->archives_fd, key, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP)
            return ERR_NOT_FOUND;
        return fs_fail("open archives/", key, errno);
    }
    struct stat st;
    if (fstat(fd, &st) < 0)
        return fs_fail("stat archives/", key, errno);
    if (!S_ISREG(st.st_mode))
        return ERR_NOT_FOUND;
    *ret_fd = TAKE_FD(fd);
    *ret_size = st.st_size;
    return ERR_OK;
}

enum err blob_age(struct blob_store *b, const char *key, int64_t *ret_seconds)
{
    if (!key_valid(key))
        return ERR_NOT_FOUND;
    struct stat st;
    if (fstatat(b->archives_fd, key, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return errno == ENOENT || errno == ENOTDIR ? ERR_NOT_FOUND
                                                   : fs_fail("stat archives/", key, errno);
    int64_t now = (int64_t)time(NULL);
    int64_t changed = (int64_t)(st.st_ctime > st.st_mtime ? st.st_ctime : st.st_mtime);
    *ret_seconds = now > changed ? now - changed : 0;
    return ERR_OK;
}

/* Removes the directory holding key when it is now empty; failure is harmless. */
static void remove_parent_if_empty(struct blob_store *b, const char *key)
{
    const char *slash = strrchr(key, '/');
    if (!slash)
        return;
    char dir[KEY_MAX + 1];
    size_t n = (size_t)(slash - key);
    memcpy(dir, key, n);
    dir[n] = '\0';
    (void)unlinkat(b->archives_fd, dir, AT_REMOVEDIR); /* ENOTEMPTY is the common case */
}

/* A key naming a directory (or an invalid key) is ERR_NOT_FOUND. */
enum err blob_delete(struct blob_store *b, const char *key)
{
    if (!key_valid(key))
        return ERR_NOT_FOUND;
    if (unlinkat(b->archives_fd, key, 0) < 0) {
        if (errno == ENOENT || errno == ENOTDIR)
            return ERR_OK;
        if (errno == EISDIR || errno == EPERM)
            return ERR_NOT_FOUND;
        return fs_fail("unlink archives/", key, errno);
    }
    remove_parent_if_empty(b, key);
    return ERR_OK;
}

/* Moving within the same ticket directory returns the key unchanged.
 * ERR_NOT_FOUND for a missing source or an invalid key. */
enum err blob_move(struct blob_store *b, const char *key, int64_t ticket_number, char *ret_key,
                   size_t keylen)
{
    if (!key_valid(key))
        return ERR_NOT_FOUND;
    if (ticket_number <= 0 || !ret_key || keylen < KEY_MAX + 1)
        return ERR_INTERNAL;
    const char *slash = strrchr(key, '/');
    const char *base = slash ? slash + 1 : key;
    if (strlen(base) > LIMIT_FILENAME)
        return ERR_NOT_FOUND;

    char tdir[24];
    int tl = snprintf(tdir, sizeof(tdir), "%" PRId64, ticket_number);
    if (slash && (size_t)(slash - key) == (size_t)tl && memcmp(key, tdir, (size_t)tl) == 0) {
        struct stat st;
        if (fstatat(b->archives_fd, key, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
            return ERR_NOT_FOUND;
        (void)str_copy(ret_key, keylen, key);
        return ERR_OK;
    }

    char final[LIMIT_FILENAME + 1];
    int tfd = -1;
    enum err e = place(b, b->archives_fd, key, ticket_number, base, final, &tfd);
    if (tfd >= 0) {
        /* Renamed, but the directory fsync failed (logged): the move is visible
         * already, so the caller must learn the new key. */
        close(tfd);
        e = ERR_OK;
    }
    if (e)
        return e;
    remove_parent_if_empty(b, key);
    snprintf(ret_key, keylen, "%s/%s", tdir, final);
    return ERR_OK;
}

/* Reads the depth-2 layout archives/<ticket>/<file>; non-directories at the
 * top and non-regular files below are skipped. fn may delete the key it gets. */
enum err blob_walk(struct blob_store *b, void (*fn)(const char *key, int64_t size, void *ctx),
                   void *ctx)
{
    DIR *top = dir_list(b->archives_fd, ".");
    if (!top)
        return fs_fail("open", "DATA_DIR/archives", errno);
    enum err e = ERR_OK;
    char key[KEY_MAX + 2];
    while (!e) {
        errno = 0;
        struct dirent *de = readdir(top);
        if (!de) {
            if (errno)
                e = fs_fail("read", "DATA_DIR/archives", errno);
            break;
        }
        if (dot_or_dotdot(de->d_name))
            continue;
        struct stat st;
        if (fstatat(dirfd(top), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode))
            continue;
        DIR *sub = dir_list(dirfd(top), de->d_name);
        if (!sub) {
            if (errno == ENOENT)
                continue; /* removed meanwhile */
            e = fs_fail("open archives/", de->d_name, errno);
            break;
        }
        for (;;) {
            errno = 0;
            struct dirent *fe = readdir(sub);
            if (!fe) {
                if (errno)
                    e = fs_fail("read archives/", de->d_name, errno);
                break;
            }
            if (dot_or_dotdot(fe->d_name))
                continue;
            if (fstatat(dirfd(sub), fe->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
                !S_ISREG(st.st_mode))
                continue;
            int n = snprintf(key, sizeof(key), "%s/%s", de->d_name, fe->d_name);
            if (n < 0 || n > KEY_MAX)
                continue; /* cannot be named by a key */
            fn(key, st.st_size, ctx);
        }
        closedir(sub);
    }
    closedir(top);
    return e;
}

/* --- names --- */

/* Decodes one UTF-8 sequence at s[0..n); returns its length, or 0 when it is
 * invalid (bad lead, truncated, overlong, surrogate, beyond U+10FFFF). */
static size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *ret_cp)
{
    unsigned char c = s[0];
    size_t len;
    uint32_t cp, min;
    if (c < 0x80) {
        *ret_cp = c;
        return 1;
    } else if (c >= 0xC2 && c <= 0xDF) {
        len = 2, cp = c & 0x1F, min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3, cp = c & 0x0F, min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4, cp = c & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if (!is_cont(s[i]))
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    *ret_cp = cp;
    return len;
}

/* Control characters (C0, DEL, C1) and the invisible format characters that
 * reorder or hide text ("invoice\u202Egpj.exe"), none of which belong in a
 * file name a person will read. */
static bool drop_cp(uint32_t cp)
{
    return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) || cp == 0x200E || cp == 0x200F ||
           (cp >= 0x2028 && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069) || cp == 0xFEFF;
}

static bool strip_char(char c)
{
    return c == '.' || c == ' ';
}

/* Walks the characters of a name that survive sanitizing: valid UTF-8, not
 * dropped by drop_cp, and not among the leading dots and spaces. */
struct name_iter {
    const unsigned char *s;
    size_t n;
    size_t i;
    bool started;
};

/* Returns the byte length of the next kept character (at *ret_p), 0 at the end. */
static size_t name_next(struct name_iter *it, const char **ret_p)
{
    while (it->i < it->n) {
        uint32_t cp;
        size_t len = utf8_decode(it->s + it->i, it->n - it->i, &cp);
        if (len == 0) {
            it->i++; /* invalid byte: dropped, resynchronise on the next */
            continue;
        }
        const unsigned char *p = it->s + it->i;
        it->i += len;
        if (drop_cp(cp) || (!it->started && (cp == '.' || cp == ' ')))
            continue;
        it->started = true;
        *ret_p = (const char *)p;
        return len;
    }
    return 0;
}

/*
 * Two passes over the last component, no buffer beyond out: the first finds
 * the cleaned length without trailing dots and spaces, the second copies the
 * head (at most `cap` bytes, whole characters) into out and the last bytes
 * into a small tail, enough to hold any extension ext_len accepts. A name
 * longer than 255 bytes keeps its extension (".tar.gz" counts as one) and
 * loses the end of its stem, cut on a character boundary.
 */
void blob_sanitize_name(const char *in, size_t inlen, const char *fallback, char *out,
                        size_t outlen)
{
    if (!out || outlen == 0)
        return;
    size_t cap = outlen - 1 < LIMIT_FILENAME ? outlen - 1 : LIMIT_FILENAME;
    if (!in)
        inlen = 0;

    size_t start = 0; /* last path component, either separator */
    for (size_t i = 0; i < inlen; i++)
        if (in[i] == '/' || in[i] == '\\')
            start = i + 1;

    const unsigned char *s = (const unsigned char *)in + start;
    struct name_iter it = {s, inlen - start, 0, false};
    const char *p;
    size_t n, len = 0, end = 0; /* end: cleaned length without trailing dots/spaces */
    while ((n = name_next(&it, &p)) > 0) {
        len += n;
        if (n > 1 || !strip_char(*p))
            end = len;
    }

    char tail[2 * (MAX_EXT + 5)];
    size_t tail_from = end > sizeof(tail) ? end - sizeof(tail) : 0;
    size_t tl = 0, head = 0, pos = 0;
    it = (struct name_iter){s, inlen - start, 0, false};
    while (pos < end && (n = name_next(&it, &p)) > 0) {
        if (head == pos && pos + n <= cap) {
            memcpy(out + head, p, n);
            head += n;
        }
        if (pos >= tail_from) {
            memcpy(tail + tl, p, n);
            tl += n;
        }
        pos += n;
    }

    if (end > cap) {
        size_t el = ext_len(tail, tl);
        size_t keep = cap - el;
        keep = keep >= head ? head : utf8_cut(out, keep);
        if (el == 0)
            while (keep > 0 && strip_char(out[keep - 1]))
                keep--;
        memcpy(out + keep, tail + tl - el, el);
        head = keep + el;
    }
    out[head] = '\0';
    if (head == 0)
        (void)str_copy(out, outlen, fallback && *fallback ? fallback : "archive");
}
