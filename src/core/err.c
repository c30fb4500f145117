/* err.c - the table mapping every enum err to its HTTP status and message. */
#include "core/err.h"

static const struct err_info table[ERR__MAX] = {
    [ERR_OK] = {200, "ok", "OK."},
    [ERR_NOMEM] = {500, "nomem", "Out of memory."},
    [ERR_INTERNAL] = {500, "internal", "Internal server error."},
    [ERR_IO] = {500, "io", "Storage error."},
    [ERR_DB] = {500, "db", "Database error."},
    [ERR_UNAVAILABLE] = {503, "unavailable", "Service temporarily unavailable."},
    [ERR_BUSY] = {503, "busy", "Server is busy, try again later."},
    [ERR_BAD_REQUEST] = {400, "bad_request", "Bad request."},
    [ERR_BAD_JSON] = {400, "bad_json", "JSON parse error."},
    [ERR_VALIDATION] = {400, "validation", "Invalid input."},
    [ERR_BAD_HOST] = {400, "bad_host", "Invalid Host header."},
    [ERR_UNAUTHENTICATED] = {401, "not_authenticated",
                             "Authentication credentials were not provided."},
    [ERR_TOKEN_INVALID] = {401, "token_not_valid", "Given token not valid for any token type"},
    [ERR_USER_NOT_FOUND] = {401, "user_not_found", "User not found"},
    [ERR_BAD_CREDENTIALS] = {401, "no_active_account",
                             "No active account found with the given credentials"},
    [ERR_JWT_INVALID] = {401, "token_not_valid", "Token is invalid or expired"},
    [ERR_FORBIDDEN] = {403, "forbidden", "You do not have permission to perform this action."},
    [ERR_NOT_FOUND] = {404, "not_found", "Not found."},
    [ERR_NO_ROUTE] = {404, "not_found", "Not found."},
    [ERR_METHOD] = {405, "method_not_allowed", "Method not allowed."},
    [ERR_CONFLICT] = {409, "conflict", "Conflict."},
    [ERR_PRECONDITION] = {412, "precondition_failed", "Precondition failed."},
    [ERR_EXISTS] = {400, "exists", "Object already exists."},
    [ERR_REFERENCE] = {400, "reference", "Referenced object does not exist."},
    [ERR_TOO_LARGE] = {413, "too_large", "Request body is too large."},
    [ERR_HEADERS_TOO_BIG] = {431, "headers_too_large", "Request header fields too large."},
    [ERR_MEDIA_TYPE] = {415, "unsupported_media_type", "Unsupported media type in request."},
    [ERR_RANGE] = {416, "range_not_satisfiable", "Requested range not satisfiable."},
    [ERR_LOCKED] = {423, "locked", "Locked."},
    [ERR_RATE_LIMITED] = {429, "throttled", "Request was throttled."},
    [ERR_CHECKSUM] = {460, "checksum_mismatch", "Checksum mismatch."},
    [ERR_NO_SPACE] = {507, "insufficient_storage", "Not enough free space in storage."},
    [ERR_NOT_IMPLEMENTED] = {501, "not_implemented", "Not implemented."},
    [ERR_HTTP_VERSION] = {505, "http_version", "HTTP version not supported."},
    [ERR_CONFIG] = {500, "config", "Invalid configuration."},
};

const struct err_info *err_info(enum err e)
{
    if ((unsigned)e >= ERR__MAX || table[e].name == 0)
        return &table[ERR_INTERNAL];
    return &table[e];
}

enum err err_for_status(int status)
{
    if (status == 500)
        return ERR_INTERNAL;
    for (int e = ERR_OK + 1; e < ERR__MAX; e++)
        if (table[e].status == status)
            return (enum err)e;
    return ERR_INTERNAL;
}
