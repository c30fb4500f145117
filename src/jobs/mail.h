/* mail.h - the upload mail: one message per ticket and batch, sent over SMTP with libcurl. */
#pragma once

#include <stddef.h>

#include "app.h"
#include "store/store.h"

/*
 * Sends the mail for the n queued archives of one ticket (items, as
 * store_mail_claim returns them) to the ticket's creator (unless they switched
 * it off or have no address) and the platform's extra addresses: the ticket,
 * each file's name, size and SHA-256, and a link to the ticket in the console
 * (PUBLIC_URL). ERR_OK when sent or when nobody is to get it (the batch is
 * done); ERR_UNAVAILABLE (logged) when the SMTP server or the database failed
 * (try again later). Blocks up to half a minute: a background thread only.
 */
enum err mail_send_batch(struct app *a, const struct mail_item *items, size_t n);

/* True when s is an address this program sends to: one addr-spec without
 * spaces, quotes, angle brackets, commas or control characters. */
bool mail_address_ok(const char *s);
