/* app.h - the process-wide state every request can reach: config, store, limiters. */
#pragma once

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth/ratelimit.h"
#include "blob/blob.h"
#include "core/config.h"
#include "store/store.h"

struct app {
    struct config cfg;
    struct store *store;
    struct blob_store *blobs;        /* archive bytes under DATA_DIR */
    char secret_key[256];            /* effective SECRET_KEY (from env or DATA_DIR/secret_key) */
    struct ratelimit *login_rl;      /* failed (and in-flight) logins per client address */
    struct ratelimit *login_user_rl; /* failed (and in-flight) logins per username */
    struct ratelimit *token_rl;      /* unknown upload-token look-ups per client */
    _Atomic int64_t health_storage;  /* the health check's last storage state (api/check.c) */
};

enum app_flags {
    APP_MIGRATE = 1 << 0, /* apply pending migrations */
    APP_CREATE = 1 << 1,  /* a missing DATA_DIR, secret key or SQLite file is made */
};

/*
 * Prepares the data directory (refused when world-writable), sets TZ, loads
 * the secret key, opens the store (migrating it with APP_MIGRATE). With
 * APP_CREATE (serve, migrate) a missing DATA_DIR is created 0750, the secret
 * key generated and the SQLite file made; without it (the maintenance
 * commands) they must exist: ERR_CONFIG with a line saying which DATA_DIR was
 * looked at and how to point at the right one. Logs the reason and returns an
 * error on failure; `app_close` releases whatever was set up (NULL-safe).
 */
enum err app_open(struct app *a, const struct config *cfg, unsigned flags);
void app_close(struct app *a);

/* Ensures there is a first administrator when the user table is empty (see
 * README: ADMIN_USERNAME/ADMIN_PASSWORD, else a random password printed once and
 * written to DATA_DIR/initial-admin-password). */
enum err app_bootstrap_admin(struct app *a);

/* Path of DATA_DIR/initial-admin-password into out. */
void app_initial_password_path(const struct app *a, char *out, size_t outlen);

/* The initial-admin-password file describes the bootstrap admin's password:
 * once that changes (or the user goes) the file is stale. Removes it when
 * username is "admin"; true (with its path in out) when a file was removed. */
bool app_forget_initial_password(const struct app *a, const char *username, char *out,
                                 size_t outlen);
