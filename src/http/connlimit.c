/* connlimit.c - per-address connection counters: an open-addressing table under a mutex. */
#include <netinet/in.h>
#include <stdbool.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/connlimit.h"

struct slot {
    unsigned char addr[16]; /* IPv4 mapped into ::ffff:a.b.c.d */
    int count;              /* open connections; 0: free (or a tombstone when used) */
    bool used;              /* ever held an address */
};

struct connlimit {
    pthread_mutex_t lock;
    int max;
    int nslots;
    struct slot *slots;
};

struct connlimit *connlimit_new(int max, int slots)
{
    struct connlimit *cl = calloc(1, sizeof(*cl));
    if (!cl)
        return NULL;
    cl->slots = calloc((size_t)slots, sizeof(*cl->slots));
    if (!cl->slots) {
        free(cl);
        return NULL;
    }
    pthread_mutex_init(&cl->lock, NULL);
    cl->max = max;
    cl->nslots = slots;
    return cl;
}

void connlimit_free(struct connlimit *cl)
{
    if (!cl)
        return;
    pthread_mutex_destroy(&cl->lock);
    free(cl->slots);
    free(cl);
}

/* The 16-byte key of an address; false for families other than IPv4/IPv6. */
static bool key_of(const struct sockaddr *sa, unsigned char key[16])
{
    if (!sa)
        return false;
    if (sa->sa_family == AF_INET6) {
        memcpy(key, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
        return true;
    }
    if (sa->sa_family == AF_INET) {
        memset(key, 0, 10);
        key[10] = key[11] = 0xff;
        memcpy(key + 12, &((const struct sockaddr_in *)sa)->sin_addr, 4);
        return true;
    }
    return false;
}

static uint32_t hash(const unsigned char key[16])
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (int i = 0; i < 16; i++)
        h = (h ^ key[i]) * 16777619u;
    return h;
}

/*
 * The live slot holding key, or (create) a slot for it; NULL when absent or the
 * table is full. Linear probing with tombstones: a slot whose count dropped to
 * 0 stays "used" so that lookups keep walking past it; they stop only at a slot
 * never used. create reuses the first free or tombstone slot of the run.
 */
static struct slot *find(struct connlimit *cl, const unsigned char key[16], bool create)
{
    uint32_t start = hash(key) % (uint32_t)cl->nslots;
    struct slot *reuse = NULL;
    for (int i = 0; i < cl->nslots; i++) {
        struct slot *s = &cl->slots[(start + (uint32_t)i) % (uint32_t)cl->nslots];
        if (s->count > 0 && memcmp(s->addr, key, 16) == 0)
            return s;
        if (s->count == 0 && !reuse)
            reuse = s;
        if (!s->used)
            break;
    }
    if (!create || !reuse)
        return NULL;
    memcpy(reuse->addr, key, 16);
    reuse->used = true;
    return reuse;
}

bool connlimit_try_open(struct connlimit *cl, const struct sockaddr *sa)
{
    unsigned char key[16];
    if (!cl || cl->max <= 0 || !key_of(sa, key))
        return true;
    pthread_mutex_lock(&cl->lock);
    struct slot *s = find(cl, key, true);
    bool ok = !s || s->count < cl->max;
    if (s && ok)
        s->count++;
    pthread_mutex_unlock(&cl->lock);
    return ok;
}

void connlimit_open(struct connlimit *cl, const struct sockaddr *sa)
{
    unsigned char key[16];
    if (!cl || cl->max <= 0 || !key_of(sa, key))
        return;
    pthread_mutex_lock(&cl->lock);
    struct slot *s = find(cl, key, true);
    if (s)
        s->count++; /* a full table counts nothing: fail open rather than refuse everyone */
    pthread_mutex_unlock(&cl->lock);
}

void connlimit_close(struct connlimit *cl, const struct sockaddr *sa)
{
    unsigned char key[16];
    if (!cl || cl->max <= 0 || !key_of(sa, key))
        return;
    pthread_mutex_lock(&cl->lock);
    struct slot *s = find(cl, key, false);
    if (s && s->count > 0)
        s->count--;
    pthread_mutex_unlock(&cl->lock);
}

int connlimit_count(struct connlimit *cl, const struct sockaddr *sa)
{
    unsigned char key[16];
    if (!cl || !key_of(sa, key))
        return 0;
    pthread_mutex_lock(&cl->lock);
    struct slot *s = find(cl, key, false);
    int n = s ? s->count : 0;
    pthread_mutex_unlock(&cl->lock);
    return n;
}
