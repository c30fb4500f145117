/* app.h - the process-wide state every request can reach: config, store, limiters. */
#pragma once

#include <stdint.h>

#include "auth/ratelimit.h"
#include "blob/blob.h"
#include "core/config.h"
#include "store/store.h"

struct app {
    struct config cfg;
    struct store *store;
    struct blob_store *blobs;   /* archive bytes under DATA_DIR */
    char secret_key[256];       /* effective SECRET_KEY (from env or DATA_DIR/secret_key) */
    struct ratelimit *login_rl; /* failed logins per client */
    struct ratelimit *token_rl; /* unknown upload-token look-ups per client */
};

/*
 * Prepares the data directory (created 0750 if missing; refused when world-
 * writable), sets TZ, loads or generates the secret key, opens the store and
 * migrates it. Logs the reason and returns an error on failure; `app_close`
 * releases whatever was set up (NULL-safe members).
 */
enum err app_open(struct app *a, const struct config *cfg, int migrate);
void app_close(struct app *a);

/* Ensures there is a first administrator when the user table is empty (see
 * README: ADMIN_USERNAME/ADMIN_PASSWORD, else a random password printed once and
 * written to DATA_DIR/initial-admin-password). */
enum err app_bootstrap_admin(struct app *a);

/* Path of DATA_DIR/initial-admin-password into out. */
void app_initial_password_path(const struct app *a, char *out, size_t outlen);
