/* routes.c - the route table: every endpoint's whole contract, one row each. */
#include "api/api.h"
#include "api/tus.h"

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
/*   method    pattern                              auth                 body         types      max profile      flags                    handler                  stream */
    {M_POST,   "/api/v1/auth/token",                AUTH_OPTIONAL,       BODY_JSON,   NULL,      0,  PROFILE_API, ROUTE_WORKER,            api_auth_token,          NULL},
    {M_POST,   "/api/v1/auth/token/refresh",        AUTH_OPTIONAL,       BODY_JSON,   NULL,      0,  PROFILE_API, 0,                       api_auth_refresh,        NULL},
    {M_POST,   "/api/v1/auth/token/verify",         AUTH_OPTIONAL,       BODY_JSON,   NULL,      0,  PROFILE_API, 0,                       api_auth_verify,         NULL},
    {M_GET,    "/api/v1/platforms",                 AUTH_STAFF,          BODY_NONE,   NULL,      0,  PROFILE_API, 0,                       api_platform_list,       NULL},
    {M_POST,   "/api/v1/platforms",                 AUTH_STAFF,          BODY_JSON,   NULL,      0,  PROFILE_API, ROUTE_CSRF,              api_platform_create,     NULL},
    {M_GET,    "/api/v1/platforms/{name}",          AUTH_STAFF,          BODY_NONE,   NULL,      0,  PROFILE_API, 0,                       api_platform_get,        NULL},
    {M_PUT,    "/api/v1/platforms/{name}",          AUTH_STAFF,          BODY_JSON,   NULL,      0,  PROFILE_API, ROUTE_CSRF,              api_platform_put,        NULL},
    {M_PATCH,  "/api/v1/platforms/{name}",          AUTH_STAFF,          BODY_JSON,   NULL,      0,  PROFILE_API, ROUTE_CSRF,              api_platform_patch,      NULL},
    {M_DELETE, "/api/v1/platforms/{name}",          AUTH_STAFF,          BODY_NONE,   NULL,      0,  PROFILE_API, ROUTE_CSRF|ROUTE_WORKER, api_platform_delete,     NULL},
    {M_GET,    "/api/v1/tickets",                   AUTH_STAFF,          BODY_NONE,   NULL,      0,  PROFILE_API, 0,                       api_ticket_list,         NULL},
    {M_POST,   "/api/v1/tickets",                   AUTH_STAFF,          BODY_JSON,   NULL,      0,  PROFILE_API, ROUTE_CSRF,              api_ticket_create,       NULL},
    {M_GET,    "/api/v1/tickets/{number}",          AUTH_STAFF,          BODY_NONE,   NULL,      0,  PROFILE_API, 0,                       api_ticket_get,          NULL},
    {M_PUT,    "/api/v1/tickets/{number}",          AUTH_STAFF,          BODY_JSON,   NULL,      0,  PROFILE_API, ROUTE_CSRF,              api_ticket_put,          NULL},
    {M_PATCH,  "/api/v1/tickets/{number}",          AUTH_STAFF,          BODY_JSON,   NULL,      0,  PROFILE_API, ROUTE_CSRF,              api_ticket_patch,        NULL},
    {M_DELETE, "/api/v1/tickets/{number}",          AUTH_STAFF,          BODY_NONE,   NULL,      0,  PROFILE_API, ROUTE_CSRF|ROUTE_WORKER, api_ticket_delete,       NULL},
    {M_POST,   "/api/v1/tickets/{number}/token",    AUTH_STAFF,          BODY_JSON,   NULL,      0,  PROFILE_API, ROUTE_CSRF,              api_ticket_new_token,    NULL},
    {M_POST,   "/api/v1/archives",                  AUTH_TOKEN_OR_STAFF, BODY_STREAM, MULTIPART, 0,  PROFILE_API, ROUTE_CSRF,              NULL,                    &api_upload_post_ops},
    {M_GET,    "/api/v1/archives",                  AUTH_STAFF,          BODY_NONE,   NULL,      0,  PROFILE_API, 0,                       api_archive_list,        NULL},
    {M_GET,    "/api/v1/archives/{id}",             AUTH_STAFF,          BODY_NONE,   NULL,      0,  PROFILE_API, 0,                       api_archive_get,         NULL},
    {M_PATCH,  "/api/v1/archives/{id}",             AUTH_STAFF,          BODY_JSON,   NULL,      0,  PROFILE_API, ROUTE_CSRF|ROUTE_WORKER, api_archive_patch,       NULL},
    {M_DELETE, "/api/v1/archives/{id}",             AUTH_STAFF,          BODY_NONE,   NULL,      0,  PROFILE_API, ROUTE_CSRF|ROUTE_WORKER, api_archive_delete,      NULL},
    {M_GET,    "/api/v1/archives/{id}/download",    AUTH_STAFF,          BODY_NONE,   NULL,      0,  PROFILE_API, 0,                       api_archive_download,    NULL},
    {M_PUT,    "/upload/{token}/{*filename}",       AUTH_UPLOAD_TOKEN,   BODY_STREAM, NULL,      0,  PROFILE_API, 0,                       NULL,                    &api_upload_put_ops},
    {M_PUT,    "/upload/{token}",                   AUTH_UPLOAD_TOKEN,   BODY_STREAM, NULL,      0,  PROFILE_API, 0,                       NULL,                    &api_upload_put_ops},
    /* resumable uploads (tus 1.0.0, src/api/tus.c): creation takes an attempt by the
     * rules of every upload; an upload's own URL is its creator's (token or staff),
     * checked by tus.c with the upload in hand, so that a ticket resolved or a token
     * replaced meanwhile removes its bytes */
    {M_OPTIONS,"/api/v1/uploads",                   AUTH_NONE,           BODY_NONE,   NULL,      0,  PROFILE_TUS, 0,                       api_tus_options,         NULL},
    {M_POST,   "/api/v1/uploads",                   AUTH_TOKEN_OR_STAFF, BODY_STREAM, OFFSET,    0,  PROFILE_TUS, ROUTE_CSRF,              NULL,                    &api_tus_create_ops},
    {M_OPTIONS,"/api/v1/uploads/{id}",              AUTH_NONE,           BODY_NONE,   NULL,      0,  PROFILE_TUS, 0,                       api_tus_options,         NULL},
    {M_HEAD,   "/api/v1/uploads/{id}",              AUTH_OPTIONAL,       BODY_NONE,   NULL,      0,  PROFILE_TUS, 0,                       api_tus_head,            NULL},
    {M_PATCH,  "/api/v1/uploads/{id}",              AUTH_OPTIONAL,       BODY_STREAM, OFFSET,    0,  PROFILE_TUS, ROUTE_CSRF,              NULL,                    &api_tus_patch_ops},
    {M_DELETE, "/api/v1/uploads/{id}",              AUTH_OPTIONAL,       BODY_NONE,   NULL,      0,  PROFILE_TUS, ROUTE_CSRF|ROUTE_WORKER, api_tus_delete,          NULL},
    {M_GET,    "/api/v1/check/health",              AUTH_OPTIONAL,       BODY_NONE,   NULL,      0,  PROFILE_API, 0,                       api_check_health,        NULL},
    {M_GET,    "/api/v1/check/storage",             AUTH_STAFF,          BODY_NONE,   NULL,      0,  PROFILE_API, 0,                       api_check_storage,       NULL},
    {M_GET,    "/api/v1/check/token",               AUTH_OPTIONAL,       BODY_NONE,   NULL,      0,  PROFILE_API, 0,                       api_check_token_hint,    NULL},
    {M_GET,    "/api/v1/check/token/{token}",       AUTH_OPTIONAL,       BODY_NONE,   NULL,      0,  PROFILE_API, 0,                       api_check_token,         NULL},
    {M_GET,    "/api/v1/schema",                    AUTH_STAFF,          BODY_NONE,   NULL,      0,  PROFILE_API, 0,                       api_schema,              NULL},
    {M_GET,    "/api/v1/events",                    AUTH_STAFF,          BODY_NONE,   NULL,      0,  PROFILE_API, 0,                       api_event_list,          NULL},
    {M_GET,    "/api/v1/webhooks",                  AUTH_ADMIN,          BODY_NONE,   NULL,      0,  PROFILE_API, 0,                       api_webhook_list,        NULL},
    {M_POST,   "/api/v1/webhooks",                  AUTH_ADMIN,          BODY_JSON,   NULL,      0,  PROFILE_API, ROUTE_CSRF|ROUTE_WORKER, api_webhook_create,      NULL},
    {M_GET,    "/api/v1/webhooks/{id}",             AUTH_ADMIN,          BODY_NONE,   NULL,      0,  PROFILE_API, 0,                       api_webhook_get,         NULL},
    {M_PATCH,  "/api/v1/webhooks/{id}",             AUTH_ADMIN,          BODY_JSON,   NULL,      0,  PROFILE_API, ROUTE_CSRF|ROUTE_WORKER, api_webhook_patch,       NULL},
    {M_DELETE, "/api/v1/webhooks/{id}",             AUTH_ADMIN,          BODY_NONE,   NULL,      0,  PROFILE_API, ROUTE_CSRF|ROUTE_WORKER, api_webhook_delete,      NULL},
    {M_GET,    "/api/v1/webhooks/{id}/deliveries",  AUTH_ADMIN,          BODY_NONE,   NULL,      0,  PROFILE_API, 0,                       api_webhook_deliveries,  NULL},
    {M_POST,   "/api/v1/webhooks/{id}/test",        AUTH_ADMIN,          BODY_NONE,   NULL,      0,  PROFILE_API, ROUTE_CSRF,              api_webhook_test,        NULL},
    {M_GET,    "/api/v1/profile",                   AUTH_STAFF,          BODY_NONE,   NULL,      0,  PROFILE_API, 0,                       api_profile_get,         NULL},
    {M_PATCH,  "/api/v1/profile",                   AUTH_STAFF,          BODY_JSON,   NULL,      0,  PROFILE_API, ROUTE_CSRF,              api_profile_patch,       NULL},
    {M_GET,    "/metrics",                          AUTH_NONE,           BODY_NONE,   NULL,      0,  PROFILE_API, ROUTE_WORKER,            api_metrics,             NULL},
};
/* clang-format on */

const struct route_table api_routes = {rows, sizeof(rows) / sizeof(rows[0])};
