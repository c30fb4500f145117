/* routes.c - the route table: every endpoint's whole contract, one row each. */
#include "api/api.h"
#include "api/tus.h"
#include "web/web.h"

#define MULTIPART "multipart/form-data"
#define OFFSET    "application/offset+octet-stream" /* tus bodies */

/*
 * A row says who may call the route, what body it takes, how its answers are
 * served and where its handler runs; the server's stages enforce all of it
 * before the handler sees the request (see http/route.h and docs/pipeline.md).
 * Adding an endpoint is one handler and one row here (and its operation in
 * docs/openapi.json: tests/unit/test-routes.c holds the two together).
 */
/* clang-format off */
static const struct route rows[] = {
/*   method     pattern                                auth                 body         types      max profile        flags                                     handler                  stream                arg */
    {M_POST,    "/api/v1/auth/token",                  AUTH_OPTIONAL,       BODY_JSON,   NULL,      0,  PROFILE_API,   ROUTE_WORKER,                             api_auth_token,          NULL,                 NULL},
    {M_POST,    "/api/v1/auth/token/refresh",          AUTH_OPTIONAL,       BODY_JSON,   NULL,      0,  PROFILE_API,   0,                                        api_auth_refresh,        NULL,                 NULL},
    {M_POST,    "/api/v1/auth/token/verify",           AUTH_OPTIONAL,       BODY_JSON,   NULL,      0,  PROFILE_API,   0,                                        api_auth_verify,         NULL,                 NULL},
    {M_GET,     "/api/v1/platforms",                   AUTH_STAFF,          BODY_NONE,   NULL,      0,  PROFILE_API,   0,                                        api_platform_list,       NULL,                 NULL},
    {M_POST,    "/api/v1/platforms",                   AUTH_STAFF,          BODY_JSON,   NULL,      0,  PROFILE_API,   ROUTE_CSRF,                               api_platform_create,     NULL,                 NULL},
    {M_GET,     "/api/v1/platforms/{name}",            AUTH_STAFF,          BODY_NONE,   NULL,      0,  PROFILE_API,   0,                                        api_platform_get,        NULL,                 NULL},
    {M_PUT,     "/api/v1/platforms/{name}",            AUTH_STAFF,          BODY_JSON,   NULL,      0,  PROFILE_API,   ROUTE_CSRF,                               api_platform_put,        NULL,                 NULL},
    {M_PATCH,   "/api/v1/platforms/{name}",            AUTH_STAFF,          BODY_JSON,   NULL,      0,  PROFILE_API,   ROUTE_CSRF,                               api_platform_patch,      NULL,                 NULL},
    {M_DELETE,  "/api/v1/platforms/{name}",            AUTH_STAFF,          BODY_NONE,   NULL,      0,  PROFILE_API,   ROUTE_CSRF|ROUTE_WORKER,                  api_platform_delete,     NULL,                 NULL},
    {M_GET,     "/api/v1/tickets",                     AUTH_STAFF,          BODY_NONE,   NULL,      0,  PROFILE_API,   0,                                        api_ticket_list,         NULL,                 NULL},
    {M_POST,    "/api/v1/tickets",                     AUTH_STAFF,          BODY_JSON,   NULL,      0,  PROFILE_API,   ROUTE_CSRF,                               api_ticket_create,       NULL,                 NULL},
    {M_GET,     "/api/v1/tickets/{number}",            AUTH_STAFF,          BODY_NONE,   NULL,      0,  PROFILE_API,   0,                                        api_ticket_get,          NULL,                 NULL},
    {M_PUT,     "/api/v1/tickets/{number}",            AUTH_STAFF,          BODY_JSON,   NULL,      0,  PROFILE_API,   ROUTE_CSRF,                               api_ticket_put,          NULL,                 NULL},
    {M_PATCH,   "/api/v1/tickets/{number}",            AUTH_STAFF,          BODY_JSON,   NULL,      0,  PROFILE_API,   ROUTE_CSRF,                               api_ticket_patch,        NULL,                 NULL},
    {M_DELETE,  "/api/v1/tickets/{number}",            AUTH_STAFF,          BODY_NONE,   NULL,      0,  PROFILE_API,   ROUTE_CSRF|ROUTE_WORKER,                  api_ticket_delete,       NULL,                 NULL},
    {M_POST,    "/api/v1/tickets/{number}/token",      AUTH_STAFF,          BODY_JSON,   NULL,      0,  PROFILE_API,   ROUTE_CSRF,                               api_ticket_new_token,    NULL,                 NULL},
    {M_GET,     "/api/v1/tickets/{number}/note",       AUTH_STAFF,          BODY_NONE,   NULL,      0,  PROFILE_API,   0,                                        api_ticket_note,         NULL,                 NULL},
    {M_POST,    "/api/v1/archives",                    AUTH_TOKEN_OR_STAFF, BODY_STREAM, MULTIPART, 0,  PROFILE_API,   ROUTE_CSRF,                               NULL,                    &api_upload_post_ops, NULL},
    {M_GET,     "/api/v1/archives",                    AUTH_STAFF,          BODY_NONE,   NULL,      0,  PROFILE_API,   0,                                        api_archive_list,        NULL,                 NULL},
    {M_GET,     "/api/v1/archives/{id}",               AUTH_STAFF,          BODY_NONE,   NULL,      0,  PROFILE_API,   0,                                        api_archive_get,         NULL,                 NULL},
    {M_PATCH,   "/api/v1/archives/{id}",               AUTH_STAFF,          BODY_JSON,   NULL,      0,  PROFILE_API,   ROUTE_CSRF|ROUTE_WORKER,                  api_archive_patch,       NULL,                 NULL},
    {M_DELETE,  "/api/v1/archives/{id}",               AUTH_STAFF,          BODY_NONE,   NULL,      0,  PROFILE_API,   ROUTE_CSRF|ROUTE_WORKER,                  api_archive_delete,      NULL,                 NULL},
    {M_GET,     "/api/v1/archives/{id}/download",      AUTH_STAFF_2FA,      BODY_NONE,   NULL,      0,  PROFILE_API,   0,                                        api_archive_download,    NULL,                 NULL},
    {M_PUT,     "/upload/{token}/{*filename}",         AUTH_UPLOAD_TOKEN,   BODY_STREAM, NULL,      0,  PROFILE_API,   0,                                        NULL,                    &api_upload_put_ops,  NULL},
    {M_PUT,     "/upload/{token}",                     AUTH_UPLOAD_TOKEN,   BODY_STREAM, NULL,      0,  PROFILE_API,   0,                                        NULL,                    &api_upload_put_ops,  NULL},
    /* resumable uploads (tus 1.0.0, src/api/tus.c): creation takes an attempt by the
     * rules of every upload; an upload's own URL is its creator's (token or staff),
     * checked by tus.c with the upload in hand, so that a ticket resolved or a token
     * replaced meanwhile removes its bytes */
    {M_OPTIONS, "/api/v1/uploads",                     AUTH_NONE,           BODY_NONE,   NULL,      0,  PROFILE_TUS,   0,                                        api_tus_options,         NULL,                 NULL},
    {M_POST,    "/api/v1/uploads",                     AUTH_TOKEN_OR_STAFF, BODY_STREAM, OFFSET,    0,  PROFILE_TUS,   ROUTE_CSRF|ROUTE_WORKER,                  NULL,                    &api_tus_create_ops,  NULL},
    {M_OPTIONS, "/api/v1/uploads/{id}",                AUTH_NONE,           BODY_NONE,   NULL,      0,  PROFILE_TUS,   0,                                        api_tus_options,         NULL,                 NULL},
    {M_HEAD,    "/api/v1/uploads/{id}",                AUTH_OPTIONAL,       BODY_NONE,   NULL,      0,  PROFILE_TUS,   ROUTE_WORKER,                             api_tus_head,            NULL,                 NULL},
    {M_PATCH,   "/api/v1/uploads/{id}",                AUTH_OPTIONAL,       BODY_STREAM, OFFSET,    0,  PROFILE_TUS,   ROUTE_CSRF|ROUTE_WORKER,                  NULL,                    &api_tus_patch_ops,   NULL},
    {M_DELETE,  "/api/v1/uploads/{id}",                AUTH_OPTIONAL,       BODY_NONE,   NULL,      0,  PROFILE_TUS,   ROUTE_CSRF|ROUTE_WORKER,                  api_tus_delete,          NULL,                 NULL},
    {M_GET,     "/api/v1/check/health",                AUTH_OPTIONAL,       BODY_NONE,   NULL,      0,  PROFILE_API,   0,                                        api_check_health,        NULL,                 NULL},
    {M_GET,     "/api/v1/check/storage",               AUTH_STAFF,          BODY_NONE,   NULL,      0,  PROFILE_API,   0,                                        api_check_storage,       NULL,                 NULL},
    {M_GET,     "/api/v1/check/token",                 AUTH_OPTIONAL,       BODY_NONE,   NULL,      0,  PROFILE_API,   0,                                        api_check_token_hint,    NULL,                 NULL},
    {M_GET,     "/api/v1/check/token/{token}",         AUTH_OPTIONAL,       BODY_NONE,   NULL,      0,  PROFILE_API,   0,                                        api_check_token,         NULL,                 NULL},
    {M_GET,     "/api/v1/schema",                      AUTH_STAFF,          BODY_NONE,   NULL,      0,  PROFILE_API,   0,                                        api_schema,              NULL,                 NULL},
    {M_GET,     "/api/v1/events",                      AUTH_STAFF,          BODY_NONE,   NULL,      0,  PROFILE_API,   0,                                        api_event_list,          NULL,                 NULL},
    {M_GET,     "/api/v1/webhooks",                    AUTH_ADMIN,          BODY_NONE,   NULL,      0,  PROFILE_API,   0,                                        api_webhook_list,        NULL,                 NULL},
    {M_POST,    "/api/v1/webhooks",                    AUTH_ADMIN,          BODY_JSON,   NULL,      0,  PROFILE_API,   ROUTE_CSRF|ROUTE_WORKER,                  api_webhook_create,      NULL,                 NULL},
    {M_GET,     "/api/v1/webhooks/{id}",               AUTH_ADMIN,          BODY_NONE,   NULL,      0,  PROFILE_API,   0,                                        api_webhook_get,         NULL,                 NULL},
    {M_PATCH,   "/api/v1/webhooks/{id}",               AUTH_ADMIN,          BODY_JSON,   NULL,      0,  PROFILE_API,   ROUTE_CSRF|ROUTE_WORKER,                  api_webhook_patch,       NULL,                 NULL},
    {M_DELETE,  "/api/v1/webhooks/{id}",               AUTH_ADMIN,          BODY_NONE,   NULL,      0,  PROFILE_API,   ROUTE_CSRF|ROUTE_WORKER,                  api_webhook_delete,      NULL,                 NULL},
    {M_GET,     "/api/v1/webhooks/{id}/deliveries",    AUTH_ADMIN,          BODY_NONE,   NULL,      0,  PROFILE_API,   0,                                        api_webhook_deliveries,  NULL,                 NULL},
    {M_POST,    "/api/v1/webhooks/{id}/test",          AUTH_ADMIN,          BODY_NONE,   NULL,      0,  PROFILE_API,   ROUTE_CSRF,                               api_webhook_test,        NULL,                 NULL},
    {M_GET,     "/metrics",                            AUTH_NONE,           BODY_NONE,   NULL,      0,  PROFILE_API,   ROUTE_WORKER,                             api_metrics,             NULL,                 NULL},
    {M_POST,    "/api/v1/auth/session",                AUTH_OPTIONAL,       BODY_JSON,   NULL,      0,  PROFILE_API,   ROUTE_WORKER,                             api_session_login,       NULL,                 NULL},
    {M_GET,     "/api/v1/auth/session",                AUTH_STAFF,          BODY_NONE,   NULL,      0,  PROFILE_API,   ROUTE_BEFORE_2FA,                         api_session_get,         NULL,                 NULL},
    {M_DELETE,  "/api/v1/auth/session",                AUTH_OPTIONAL,       BODY_NONE,   NULL,      0,  PROFILE_API,   ROUTE_CSRF|ROUTE_BEFORE_2FA|ROUTE_WORKER, api_session_logout,      NULL,                 NULL},
    {M_GET,     "/api/v1/account",                     AUTH_STAFF,          BODY_NONE,   NULL,      0,  PROFILE_API,   ROUTE_BEFORE_2FA,                         api_account_get,         NULL,                 NULL},
    {M_PATCH,   "/api/v1/account",                     AUTH_STAFF,          BODY_JSON,   NULL,      0,  PROFILE_API,   ROUTE_CSRF,                               api_account_patch,       NULL,                 NULL},
    {M_POST,    "/api/v1/account/password",            AUTH_STAFF,          BODY_JSON,   NULL,      0,  PROFILE_API,   ROUTE_CSRF|ROUTE_WORKER,                  api_account_password,    NULL,                 NULL},
    {M_POST,    "/api/v1/account/2fa/setup",           AUTH_STAFF,          BODY_JSON,   NULL,      0,  PROFILE_API,   ROUTE_CSRF|ROUTE_BEFORE_2FA,              api_account_2fa_setup,   NULL,                 NULL},
    {M_POST,    "/api/v1/account/2fa/confirm",         AUTH_STAFF,          BODY_JSON,   NULL,      0,  PROFILE_API,   ROUTE_CSRF|ROUTE_BEFORE_2FA,              api_account_2fa_confirm, NULL,                 NULL},
    {M_POST,    "/api/v1/account/2fa/backup-codes",    AUTH_STAFF,          BODY_JSON,   NULL,      0,  PROFILE_API,   ROUTE_CSRF|ROUTE_WORKER,                  api_account_2fa_codes,   NULL,                 NULL},
    {M_POST,    "/api/v1/account/2fa/disable",         AUTH_STAFF,          BODY_JSON,   NULL,      0,  PROFILE_API,   ROUTE_CSRF|ROUTE_WORKER,                  api_account_2fa_disable, NULL,                 NULL},
    {M_GET,     "/api/v1/users",                       AUTH_ADMIN,          BODY_NONE,   NULL,      0,  PROFILE_API,   0,                                        api_user_list,           NULL,                 NULL},
    {M_POST,    "/api/v1/users",                       AUTH_ADMIN,          BODY_JSON,   NULL,      0,  PROFILE_API,   ROUTE_CSRF|ROUTE_WORKER,                  api_user_create,         NULL,                 NULL},
    {M_GET,     "/api/v1/users/{id}",                  AUTH_ADMIN,          BODY_NONE,   NULL,      0,  PROFILE_API,   0,                                        api_user_get,            NULL,                 NULL},
    {M_PATCH,   "/api/v1/users/{id}",                  AUTH_ADMIN,          BODY_JSON,   NULL,      0,  PROFILE_API,   ROUTE_CSRF,                               api_user_patch,          NULL,                 NULL},
    {M_DELETE,  "/api/v1/users/{id}/2fa",              AUTH_ADMIN,          BODY_NONE,   NULL,      0,  PROFILE_API,   ROUTE_CSRF|ROUTE_WORKER,                  api_user_reset_2fa,      NULL,                 NULL},
    {M_POST,    "/api/v1/markdown",                    AUTH_STAFF,          BODY_JSON,   NULL,      0,  PROFILE_API,   ROUTE_CSRF,                               api_markdown,            NULL,                 NULL},
    {M_GET,     "/api/v1/platforms/{name}/stats",      AUTH_STAFF,          BODY_NONE,   NULL,      0,  PROFILE_API,   0,                                        api_platform_stats,      NULL,                 NULL},
    /* the customer's upload page: the link the console hands out (the same URL the
     * PUT rows above take), the page without a token (a field for it), the old
     * product's URL; uploader.sh for the command the page shows */
    {M_GET,     "/upload",                             AUTH_NONE,           BODY_NONE,   NULL,      0,  PROFILE_PAGE,  0,                                        web_page,                NULL,                 "upload.html"},
    {M_GET,     "/upload/{token}",                     AUTH_NONE,           BODY_NONE,   NULL,      0,  PROFILE_PAGE,  0,                                        web_page,                NULL,                 "upload.html"},
    {M_GET,     "/archives/upload",                    AUTH_NONE,           BODY_NONE,   NULL,      0,  PROFILE_PAGE,  0,                                        web_page,                NULL,                 "upload.html"},
    {M_GET,     "/uploader.sh",                        AUTH_NONE,           BODY_NONE,   NULL,      0,  PROFILE_PAGE,  0,                                        web_page,                NULL,                 "uploader.sh"},
    /* the console: content-hashed assets, pages, the old product's URLs */
    {M_GET,     "/assets/{name}",                      AUTH_NONE,           BODY_NONE,   NULL,      0,  PROFILE_ASSET, 0,                                        web_asset,               NULL,                 NULL},
    {M_GET,     "/api/v1/schema/swagger",              AUTH_NONE,           BODY_NONE,   NULL,      0,  PROFILE_PAGE,  0,                                        web_page,                NULL,                 "swagger.html"},
    {M_GET,     "/",                                   AUTH_NONE,           BODY_NONE,   NULL,      0,  PROFILE_PAGE,  0,                                        web_redirect,            NULL,                 "/tickets/"},
    {M_GET,     "/tickets",                            AUTH_NONE,           BODY_NONE,   NULL,      0,  PROFILE_PAGE,  0,                                        web_page,                NULL,                 "tickets.html"},
    {M_GET,     "/tickets/show/{platform}",            AUTH_NONE,           BODY_NONE,   NULL,      0,  PROFILE_PAGE,  0,                                        web_page,                NULL,                 "tickets.html"},
    {M_GET,     "/tickets/show/{platform}/{number}",   AUTH_NONE,           BODY_NONE,   NULL,      0,  PROFILE_PAGE,  0,                                        web_page,                NULL,                 "ticket.html"},
    {M_GET,     "/tickets/create",                     AUTH_NONE,           BODY_NONE,   NULL,      0,  PROFILE_PAGE,  0,                                        web_page,                NULL,                 "ticket-form.html"},
    {M_GET,     "/tickets/update/{platform}/{number}", AUTH_NONE,           BODY_NONE,   NULL,      0,  PROFILE_PAGE,  0,                                        web_page,                NULL,                 "ticket-form.html"},
    {M_GET,     "/platforms",                          AUTH_NONE,           BODY_NONE,   NULL,      0,  PROFILE_PAGE,  0,                                        web_page,                NULL,                 "platforms.html"},
    {M_GET,     "/users",                              AUTH_NONE,           BODY_NONE,   NULL,      0,  PROFILE_PAGE,  0,                                        web_page,                NULL,                 "users.html"},
    {M_GET,     "/events",                             AUTH_NONE,           BODY_NONE,   NULL,      0,  PROFILE_PAGE,  0,                                        web_page,                NULL,                 "events.html"},
    {M_GET,     "/webhooks",                           AUTH_NONE,           BODY_NONE,   NULL,      0,  PROFILE_PAGE,  0,                                        web_page,                NULL,                 "webhooks.html"},
    {M_GET,     "/admin",                              AUTH_NONE,           BODY_NONE,   NULL,      0,  PROFILE_PAGE,  0,                                        web_redirect,            NULL,                 "/users/"},
    {M_GET,     "/account/login",                      AUTH_NONE,           BODY_NONE,   NULL,      0,  PROFILE_PAGE,  0,                                        web_page,                NULL,                 "login.html"},
    {M_GET,     "/account/logout",                     AUTH_NONE,           BODY_NONE,   NULL,      0,  PROFILE_PAGE,  0,                                        web_page,                NULL,                 "logout.html"},
    {M_GET,     "/account/show",                       AUTH_NONE,           BODY_NONE,   NULL,      0,  PROFILE_PAGE,  0,                                        web_page,                NULL,                 "account.html"},
    {M_GET,     "/account/update",                     AUTH_NONE,           BODY_NONE,   NULL,      0,  PROFILE_PAGE,  0,                                        web_page,                NULL,                 "account.html"},
    {M_GET,     "/account/password-change",            AUTH_NONE,           BODY_NONE,   NULL,      0,  PROFILE_PAGE,  0,                                        web_page,                NULL,                 "account.html"},
    {M_GET,     "/account/password-change/done",       AUTH_NONE,           BODY_NONE,   NULL,      0,  PROFILE_PAGE,  0,                                        web_redirect,            NULL,                 "/account/show/"},
    {M_GET,     "/account/two_factor",                 AUTH_NONE,           BODY_NONE,   NULL,      0,  PROFILE_PAGE,  0,                                        web_page,                NULL,                 "account.html"},
    {M_GET,     "/account/two_factor/setup",           AUTH_NONE,           BODY_NONE,   NULL,      0,  PROFILE_PAGE,  0,                                        web_page,                NULL,                 "enrol.html"},
    {M_GET,     "/account/two_factor/backup/tokens",   AUTH_NONE,           BODY_NONE,   NULL,      0,  PROFILE_PAGE,  0,                                        web_page,                NULL,                 "account.html"},
};
/* clang-format on */

const struct route_table api_routes = {rows, sizeof(rows) / sizeof(rows[0]), web_error_page};
