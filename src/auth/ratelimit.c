/* ratelimit.c - fixed-window event counters per key in a bounded, keyed-hash table. */
#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "auth/ratelimit.h"

#define KEY_MAX 64 /* bytes of a key kept; longer keys share an entry with their prefix */
#define WAYS    4  /* slots probed per key: a few colliding keys do not evict each other */

struct slot {
    bool used;
    char key[KEY_MAX + 1];
    int64_t window_start;
    int count;
};

struct ratelimit {
    int max;
    int window;
    int nslots;
    pthread_mutex_t mu;
    unsigned char hkey[crypto_shorthash_KEYBYTES]; /* random: clients cannot aim collisions */
    struct slot *slots;
};

/*
 * Allocates a limiter. NULL when out of memory, when libsodium cannot start, or
 * for non-positive max, window or slots. Free with ratelimit_free.
 */
struct ratelimit *ratelimit_new(int max, int window, int slots)
{
    if (max < 1 || window < 1 || slots < 1 || sodium_init() < 0)
        return NULL;
    struct ratelimit *rl = calloc(1, sizeof(*rl));
    if (!rl)
        return NULL;
    rl->slots = calloc((size_t)slots, sizeof(*rl->slots));
    if (!rl->slots || pthread_mutex_init(&rl->mu, NULL) != 0) {
        free(rl->slots);
        free(rl);
        return NULL;
    }
    rl->max = max;
    rl->window = window;
    rl->nslots = slots;
    crypto_shorthash_keygen(rl->hkey);
    return rl;
}

/* Accepts NULL. */
void ratelimit_free(struct ratelimit *rl)
{
    if (!rl)
        return;
    pthread_mutex_destroy(&rl->mu);
    free(rl->slots);
    free(rl);
}

static size_t key_len(const char *key)
{
    return strnlen(key, KEY_MAX);
}

static size_t home_of(const struct ratelimit *rl, const char *key)
{
    unsigned char h[crypto_shorthash_BYTES];
    crypto_shorthash(h, (const unsigned char *)key, key_len(key), rl->hkey);
    uint64_t v = 0;
    for (size_t i = 0; i < sizeof(h); i++)
        v = (v << 8) | h[i];
    return (size_t)(v % (uint64_t)rl->nslots);
}

static bool expired(const struct ratelimit *rl, const struct slot *s, int64_t now)
{
    return now >= s->window_start + rl->window || now < s->window_start;
}

/* The slot holding key, or NULL. Caller holds rl->mu. */
static struct slot *find(struct ratelimit *rl, const char *key)
{
    size_t home = home_of(rl, key), n = key_len(key);
    int ways = rl->nslots < WAYS ? rl->nslots : WAYS;
    for (int i = 0; i < ways; i++) {
        struct slot *s = &rl->slots[(home + (size_t)i) % (size_t)rl->nslots];
        if (s->used && strncmp(s->key, key, n) == 0 && s->key[n] == '\0')
            return s;
    }
    return NULL;
}

/* The slot for key, claiming one when absent: a free or expired slot of the
 * probe set, else the one whose window started first. Caller holds rl->mu. */
static struct slot *claim(struct ratelimit *rl, const char *key, int64_t now)
{
    struct slot *s = find(rl, key);
    if (s)
        return s;
    size_t home = home_of(rl, key);
    int ways = rl->nslots < WAYS ? rl->nslots : WAYS;
    struct slot *victim = NULL;
    for (int i = 0; i < ways; i++) {
        struct slot *c = &rl->slots[(home + (size_t)i) % (size_t)rl->nslots];
        if (!c->used || expired(rl, c, now)) {
            victim = c;
            break;
        }
        if (!victim || c->window_start < victim->window_start)
            victim = c;
    }
    size_t n = key_len(key);
    memcpy(victim->key, key, n);
    victim->key[n] = '\0';
    victim->used = true;
    victim->window_start = now;
    victim->count = 0;
    return victim;
}

/* Whether s is at its limit at now; *ret_retry gets the seconds left (>= 1).
 * Caller holds rl->mu. */
static bool at_limit(const struct ratelimit *rl, const struct slot *s, int64_t now, int *ret_retry)
{
    if (!s || expired(rl, s, now) || s->count < rl->max)
        return false;
    int64_t left = s->window_start + rl->window - now;
    *ret_retry = left < 1 ? 1 : (int)left;
    return true;
}

/* See ratelimit.h. Retry-after is at least 1 second while blocked. */
bool ratelimit_blocked(struct ratelimit *rl, const char *key, int64_t now, int *ret_retry_after)
{
    int retry = 0;
    pthread_mutex_lock(&rl->mu);
    bool blocked = at_limit(rl, find(rl, key), now, &retry);
    pthread_mutex_unlock(&rl->mu);
    if (blocked && ret_retry_after)
        *ret_retry_after = retry;
    return blocked;
}

/* Counts one event in s; a window that has run out starts afresh at now.
 * Caller holds rl->mu. */
static void add_event(struct ratelimit *rl, struct slot *s, int64_t now)
{
    if (expired(rl, s, now)) {
        s->window_start = now;
        s->count = 0;
    }
    if (s->count < rl->max)
        s->count++;
}

bool ratelimit_take(struct ratelimit *rl, const char *key, int64_t now, int *ret_retry_after)
{
    int retry = 0;
    pthread_mutex_lock(&rl->mu);
    bool blocked = at_limit(rl, find(rl, key), now, &retry);
    if (!blocked)
        add_event(rl, claim(rl, key, now), now);
    pthread_mutex_unlock(&rl->mu);
    if (blocked && ret_retry_after)
        *ret_retry_after = retry;
    return !blocked;
}

void ratelimit_untake(struct ratelimit *rl, const char *key)
{
    pthread_mutex_lock(&rl->mu);
    struct slot *s = find(rl, key);
    if (s && s->count > 0)
        s->count--;
    pthread_mutex_unlock(&rl->mu);
}

void ratelimit_hit(struct ratelimit *rl, const char *key, int64_t now)
{
    pthread_mutex_lock(&rl->mu);
    add_event(rl, claim(rl, key, now), now);
    pthread_mutex_unlock(&rl->mu);
}

void ratelimit_reset(struct ratelimit *rl, const char *key)
{
    pthread_mutex_lock(&rl->mu);
    struct slot *s = find(rl, key);
    if (s)
        memset(s, 0, sizeof(*s));
    pthread_mutex_unlock(&rl->mu);
}
