/* hash.c - throughput of MD5, SHA-256 and a whole blob upload (write + hash + fsync + rename).
 *
 * Built by hand, not by meson:
 *   gcc -std=c17 -O2 -D_GNU_SOURCE -Isrc bench/hash.c src/blob/blob.c src/core/err.c \
 *       src/core/util.c src/core/log.c $(pkg-config --cflags --libs libcrypto) -lpthread \
 *       -o /tmp/bench-hash
 *   /tmp/bench-hash [MiB] [dir]     (default 1024 MiB in 256 KiB chunks, temp dir under /tmp)
 */
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "blob/blob.h"

#define CHUNK (256 * 1024)

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

/* MB/s (10^6 bytes) of one digest over total bytes of buf, fed CHUNK at a time. */
static double digest_rate(const char *alg, const unsigned char *buf, long long total)
{
    EVP_MD *md = EVP_MD_fetch(NULL, alg, NULL);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!md || !ctx || !EVP_DigestInit_ex2(ctx, md, NULL))
        exit(1);
    double t = now();
    for (long long off = 0; off < total; off += CHUNK)
        EVP_DigestUpdate(ctx, buf, CHUNK);
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned int dl;
    EVP_DigestFinal_ex(ctx, d, &dl);
    t = now() - t;
    EVP_MD_CTX_free(ctx);
    EVP_MD_free(md);
    return (double)total / t / 1e6;
}

int main(int argc, char **argv)
{
    long long mib = argc > 1 ? atoll(argv[1]) : 1024;
    long long total = mib * 1024 * 1024;
    char dir[256];
    snprintf(dir, sizeof(dir), "%s/bench-blob-XXXXXX", argc > 2 ? argv[2] : "/tmp");
    if (!mkdtemp(dir))
        return 1;

    unsigned char *buf = malloc(CHUNK);
    if (!buf)
        return 1;
    for (int i = 0; i < CHUNK; i++)
        buf[i] = (unsigned char)(i * 2654435761u >> 13);

    printf("stream: %lld MiB in %d KiB chunks\n", mib, CHUNK / 1024);
    printf("MD5 alone:     %8.0f MB/s\n", digest_rate("MD5", buf, total));
    printf("SHA-256 alone: %8.0f MB/s\n", digest_rate("SHA256", buf, total));

    /* baseline: the same bytes through write(2) + fsync, no hashing */
    char p[300];
    snprintf(p, sizeof(p), "%s/raw", dir);
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    double t = now();
    for (long long off = 0; off < total; off += CHUNK)
        if (write(fd, buf, CHUNK) != CHUNK)
            return 1;
    double tw = now() - t;
    if (fsync(fd) < 0)
        return 1;
    t = now() - t;
    close(fd);
    unlink(p);
    printf("write+fsync (no hash, no sync_file_range): %6.0f MB/s (fsync %.2f s)\n",
           (double)total / t / 1e6, t - tw);

    struct blob_store *b;
    if (blob_open(dir, &b))
        return 1;
    struct blob_upload *u;
    if (blob_upload_begin(b, 0, &u))
        return 1;
    t = now();
    for (long long off = 0; off < total; off += CHUNK)
        if (blob_upload_write(u, buf, CHUNK))
            return 1;
    tw = now() - t;
    char key[512], name[256], md5[33], sha[65];
    if (blob_upload_finish(u, 1, "bench.bin", key, sizeof(key), name, sizeof(name), md5, sha))
        return 1;
    t = now() - t;
    printf("blob upload (write+md5+sha256, finish incl. fsync): %6.0f MB/s (finish %.2f s)\n",
           (double)total / t / 1e6, t - tw);
    blob_close(b);
    free(buf);
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    return 0;
}
