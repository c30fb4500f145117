/* password.c - argon2id hashing (libsodium) behind a counting semaphore. */
#include <pthread.h>
#include <sodium.h>
#include <string.h>

#include "auth/password.h"
#include "core/limits.h"

/* The gate: at most `slots_max` hashes or verifications run at once, because
 * each one takes ~64 MiB and ~0.1-0.3 s of one core. */
static pthread_mutex_t gate_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cv = PTHREAD_COND_INITIALIZER;
static int slots_max = 1;
static int slots_used;

/* A real hash of a random password, computed once: verifying against it makes a
 * look-up of a missing user take as long as one of an existing user. Written
 * once under pthread_once, read-only afterwards. */
static pthread_once_t dummy_once = PTHREAD_ONCE_INIT;
static char dummy_hash[crypto_pwhash_STRBYTES];
static bool dummy_ok;

static void gate_enter(void)
{
    pthread_mutex_lock(&gate_mu);
    while (slots_used >= slots_max)
        pthread_cond_wait(&gate_cv, &gate_mu);
    slots_used++;
    pthread_mutex_unlock(&gate_mu);
}

static void gate_leave(void)
{
    pthread_mutex_lock(&gate_mu);
    slots_used--;
    pthread_cond_signal(&gate_cv);
    pthread_mutex_unlock(&gate_mu);
}

static void dummy_make(void)
{
    char pw[33];
    unsigned char r[16];
    randombytes_buf(r, sizeof(r));
    sodium_bin2hex(pw, sizeof(pw), r, sizeof(r));
    dummy_ok = crypto_pwhash_str(dummy_hash, pw, strlen(pw), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                                 crypto_pwhash_MEMLIMIT_INTERACTIVE) == 0;
    sodium_memzero(pw, sizeof(pw));
}

/*
 * Sets the concurrency cap (>= 1, else ERR_INTERNAL) and computes the dummy
 * hash. Calls sodium_init itself (idempotent). ERR_NOMEM when the dummy hash
 * cannot get its memory. May be called again to change the cap.
 */
enum err password_init(int max_concurrent)
{
    if (max_concurrent < 1 || sodium_init() < 0)
        return ERR_INTERNAL;
    pthread_mutex_lock(&gate_mu);
    slots_max = max_concurrent;
    pthread_cond_broadcast(&gate_cv);
    pthread_mutex_unlock(&gate_mu);
    pthread_once(&dummy_once, dummy_make);
    return dummy_ok ? ERR_OK : ERR_NOMEM;
}

/*
 * Hashes password into out as an "$argon2id$..." string (NUL-terminated).
 * ERR_BAD_REQUEST for NULL or a password longer than LIMIT_PASSWORD bytes,
 * ERR_INTERNAL when out is shorter than crypto_pwhash_STRBYTES, ERR_NOMEM when
 * libsodium cannot allocate. Waits for a free slot of the gate first.
 */
enum err password_hash(const char *password, char *out, size_t outlen)
{
    if (!password || strnlen(password, LIMIT_PASSWORD + 1) > LIMIT_PASSWORD)
        return ERR_BAD_REQUEST;
    if (!out || outlen < crypto_pwhash_STRBYTES)
        return ERR_INTERNAL;
    char h[crypto_pwhash_STRBYTES];
    gate_enter();
    int rc = crypto_pwhash_str(h, password, strlen(password), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                               crypto_pwhash_MEMLIMIT_INTERACTIVE);
    gate_leave();
    if (rc != 0)
        return ERR_NOMEM;
    memcpy(out, h, strlen(h) + 1);
    return ERR_OK;
}

/*
 * True when password matches hash. A NULL/empty hash, or one too long to be a
 * libsodium string, is checked against the dummy hash (same cost) and gives
 * false. A NULL or over-long password is false without hashing: its length is
 * the caller's own input and reveals nothing about accounts.
 */
bool password_verify(const char *password, const char *hash)
{
    if (!password || strnlen(password, LIMIT_PASSWORD + 1) > LIMIT_PASSWORD)
        return false;
    bool real = hash && *hash && strnlen(hash, crypto_pwhash_STRBYTES) < crypto_pwhash_STRBYTES;
    if (!real)
        pthread_once(&dummy_once, dummy_make);
    gate_enter();
    int rc = crypto_pwhash_str_verify(real ? hash : dummy_hash, password, strlen(password));
    gate_leave();
    return real && rc == 0;
}

/*
 * Writes len characters drawn uniformly from an alphabet without the look-alikes
 * 0 O 1 l I, then a NUL (out must hold len + 1 bytes).
 */
void password_random(char *out, size_t len)
{
    static const char alphabet[] = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    for (size_t i = 0; i < len; i++)
        out[i] = alphabet[randombytes_uniform((uint32_t)(sizeof(alphabet) - 1))];
    out[len] = '\0';
}
