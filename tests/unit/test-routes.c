/* test-routes.c - the route table and docs/openapi.json list the same operations. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include <strings.h>

#include "core/embedded.h"
#include "http/req.h"
#include "api/api.h"
#include "http/server.h"
#include "web/web.h"

static const char *method_name(enum method m)
{
    switch (m) {
    case M_GET:
        return "get";
    case M_POST:
        return "post";
    case M_PUT:
        return "put";
    case M_PATCH:
        return "patch";
    case M_DELETE:
        return "delete";
    case M_HEAD:
        return "head";
    case M_OPTIONS:
        return "options";
    default:
        return "?";
    }
}

/* "/upload/{token}/{*filename}" is documented as "/upload/{token}/{filename}/". */
static void doc_path(const char *pattern, char *out, size_t outlen)
{
    size_t j = 0;
    for (const char *p = pattern; *p && j + 2 < outlen; p++)
        if (!(*p == '*' && p > pattern && p[-1] == '{'))
            out[j++] = *p;
    out[j++] = '/';
    out[j] = 0;
}

static json_t *load_doc(void)
{
    const struct embedded_file *f = embedded_find("openapi.json");
    assert_non_null(f);
    json_error_t e;
    json_t *doc = json_loadb((const char *)f->data, f->size, 0, &e);
    assert_non_null(doc);
    return doc;
}

/* Pages and assets of the console are not operations of the API. */
static bool is_api(const struct route *r)
{
    return r->profile != PROFILE_PAGE && r->profile != PROFILE_ASSET;
}

static void test_every_route_documented(void **state)
{
    (void)state;
    json_t *doc = load_doc();
    json_t *paths = json_object_get(doc, "paths");
    assert_non_null(paths);
    for (size_t i = 0; i < api_routes.n; i++) {
        if (!is_api(&api_routes.rows[i]))
            continue;
        char p[256];
        doc_path(api_routes.rows[i].pattern, p, sizeof(p));
        json_t *item = json_object_get(paths, p);
        if (!item || !json_object_get(item, method_name(api_routes.rows[i].method)))
            fail_msg("route %s %s is not in docs/openapi.json",
                     method_name(api_routes.rows[i].method), p);
    }
    json_decref(doc);
}

static void test_every_documented_operation_routed(void **state)
{
    (void)state;
    json_t *doc = load_doc();
    const char *path;
    json_t *item;
    json_object_foreach(json_object_get(doc, "paths"), path, item)
    {
        const char *m;
        json_t *op;
        json_object_foreach(item, m, op)
        {
            if (strcmp(m, "parameters") == 0)
                continue;
            bool found = false;
            for (size_t i = 0; i < api_routes.n && !found; i++) {
                if (!is_api(&api_routes.rows[i]))
                    continue;
                char p[256];
                doc_path(api_routes.rows[i].pattern, p, sizeof(p));
                found = strcmp(p, path) == 0 &&
                        strcasecmp(method_name(api_routes.rows[i].method), m) == 0;
            }
            if (!found)
                fail_msg("docs/openapi.json documents %s %s which the server lacks", m, path);
        }
    }
    json_decref(doc);
}

static void test_match(void **state)
{
    (void)state;
    const char *params[REQ_MAX_PARAMS];
    size_t n = 0;
    char buf[LIMIT_URL];
    unsigned allowed;
    const struct route *r = route_match(&api_routes, "/api/v1/tickets/42", M_GET, &allowed, params,
                                        &n, buf, sizeof(buf));
    assert_non_null(r);
    assert_int_equal(n, 1);
    assert_string_equal(params[0], "42");
    assert_true(allowed & M_DELETE);
    assert_true(allowed & M_HEAD);
    r = route_match(&api_routes, "/api/v1/tickets/42/token", M_POST, &allowed, params, &n, buf,
                    sizeof(buf));
    assert_non_null(r);
    assert_string_equal(params[0], "42");
    r = route_match(&api_routes, "/api/v1/tickets/42", M_HEAD, &allowed, params, &n, buf,
                    sizeof(buf));
    assert_non_null(r);
    assert_int_equal(r->method, M_GET);
    assert_null(route_match(&api_routes, "/api/v1/check/health", M_DELETE, &allowed, params, &n,
                            buf, sizeof(buf)));
    assert_true(allowed & M_GET);
    assert_null(
        route_match(&api_routes, "/api/v1/nope", M_GET, &allowed, params, &n, buf, sizeof(buf)));
    assert_int_equal(allowed, 0);
    assert_null(route_match(&api_routes, "/api/v1/tickets//token", M_POST, &allowed, params, &n,
                            buf, sizeof(buf)));
    r = route_match(&api_routes, "/upload/abc/dir/file.tgz", M_PUT, &allowed, params, &n, buf,
                    sizeof(buf));
    assert_non_null(r);
    assert_int_equal(n, 2);
    assert_string_equal(params[0], "abc");
    assert_string_equal(params[1], "dir/file.tgz");
}

/* The table's contract where it matters: rows that delete or move bytes, or
 * hash passwords, run on the workers; unsafe staff rows need the CSRF token;
 * uploads take tokens. */
static void test_table_contract(void **state)
{
    (void)state;
    for (size_t i = 0; i < api_routes.n; i++) {
        const struct route *r = &api_routes.rows[i];
        bool deletes = r->method == M_DELETE;
        bool moves = r->method == M_PATCH && strcmp(r->pattern, "/api/v1/archives/{id}") == 0;
        static const char *const hashing[] = {
            "/api/v1/auth/token",          "/api/v1/auth/session",
            "/api/v1/account/password",    "/api/v1/account/2fa/backup-codes",
            "/api/v1/account/2fa/disable", "/api/v1/users"};
        bool hashes = false;
        for (size_t k = 0; k < sizeof(hashing) / sizeof(hashing[0]); k++)
            hashes |= r->method == M_POST && strcmp(r->pattern, hashing[k]) == 0;
        if ((deletes || moves || hashes) && !(r->flags & ROUTE_WORKER))
            fail_msg("%s must run on a worker (ROUTE_WORKER)", r->pattern);
        bool unsafe = !(r->method & (M_GET | M_HEAD | M_OPTIONS));
        if (unsafe && r->auth >= AUTH_STAFF && !(r->flags & ROUTE_CSRF))
            fail_msg("%s: an unsafe staff route needs ROUTE_CSRF", r->pattern);
        if ((r->body == BODY_STREAM) != (r->stream != NULL) || (r->handler == NULL) == !r->stream)
            fail_msg("%s: a stream row has stream ops and no handler, others the reverse",
                     r->pattern);
        /* under /upload/: the uploads (every method but GET) take the token; a GET
         * is the customer's upload page, which reads no credentials (its script
         * asks the API) */
        bool under_upload = strncmp(r->pattern, "/upload/", 8) == 0;
        if (under_upload && r->method != M_GET && r->auth != AUTH_UPLOAD_TOKEN)
            fail_msg("%s: uploads need the token", r->pattern);
        if (under_upload && r->method == M_GET &&
            (r->profile != PROFILE_PAGE || r->handler != web_page || !r->arg ||
             strcmp(r->arg, "upload.html") != 0))
            fail_msg("%s: a GET under /upload/ is the upload page", r->pattern);
        /* pages and assets: GET, no credentials read (the page's script asks the
         * API), and the page a row names is in the build */
        if (!is_api(r) && (r->method != M_GET || r->auth != AUTH_NONE || r->body != BODY_NONE))
            fail_msg("%s: a page or asset row is a GET for anyone without a body", r->pattern);
        if (r->profile == PROFILE_PAGE && r->handler == web_page && (!r->arg || !web_find(r->arg)))
            fail_msg("%s: page %s is not in the build", r->pattern, r->arg ? r->arg : "(none)");
        if (r->handler == web_redirect && (!r->arg || r->arg[0] != '/'))
            fail_msg("%s: a redirect needs a local target", r->pattern);
        /* /metrics: where Prometheus looks by default */
        if (is_api(r) && strncmp(r->pattern, "/api/", 5) != 0 &&
            strncmp(r->pattern, "/upload/", 8) != 0 && strcmp(r->pattern, "/metrics") != 0)
            fail_msg("%s: an API row outside /api/, /upload/ and /metrics", r->pattern);
    }
}

/* The link the console hands out is both the page (GET, HEAD) and the target of
 * `curl -T` (PUT, with the token); the page also answers without a token and at
 * the old product's URL. */
static void test_upload_page_rows(void **state)
{
    (void)state;
    const char *params[REQ_MAX_PARAMS];
    size_t n = 0;
    char buf[LIMIT_URL];
    unsigned allowed;
    const char *tok = "/upload/0f0c5d1e-8a1b-4c53-9a7e-3d2f1c0b9a88";
    const struct route *r =
        route_match(&api_routes, tok, M_GET, &allowed, params, &n, buf, sizeof(buf));
    assert_non_null(r);
    assert_int_equal(r->profile, PROFILE_PAGE);
    assert_int_equal(r->auth, AUTH_NONE);
    assert_string_equal(r->arg, "upload.html");
    assert_true(allowed & M_PUT);
    assert_ptr_equal(route_match(&api_routes, tok, M_HEAD, &allowed, params, &n, buf, sizeof(buf)),
                     r);
    r = route_match(&api_routes, tok, M_PUT, &allowed, params, &n, buf, sizeof(buf));
    assert_non_null(r);
    assert_int_equal(r->auth, AUTH_UPLOAD_TOKEN);
    assert_int_equal(r->body, BODY_STREAM);
    /* a file name after the token is an upload only */
    assert_null(route_match(&api_routes, "/upload/0f0c5d1e-8a1b-4c53-9a7e-3d2f1c0b9a88/x.log",
                            M_GET, &allowed, params, &n, buf, sizeof(buf)));
    assert_true(allowed & M_PUT);
    for (size_t i = 0; i < 2; i++) {
        const char *p = i ? "/archives/upload" : "/upload";
        r = route_match(&api_routes, p, M_GET, &allowed, params, &n, buf, sizeof(buf));
        assert_non_null(r);
        assert_string_equal(r->arg, "upload.html");
        assert_int_equal(r->auth, AUTH_NONE);
    }
    r = route_match(&api_routes, "/uploader.sh", M_GET, &allowed, params, &n, buf, sizeof(buf));
    assert_non_null(r);
    assert_non_null(web_find(r->arg));
}

static enum err noop(struct req *r)
{
    (void)r;
    return ERR_OK;
}

/* A protocol that answers OPTIONS itself has an OPTIONS row, found before the
 * generic Allow answer (the server answers only when no row matches). */
static void test_options_row(void **state)
{
    (void)state;
    static const struct route rows[] = {
        {M_POST, "/x", AUTH_OPTIONAL, BODY_NONE, NULL, 0, PROFILE_TUS, 0, noop, NULL, NULL},
        {M_OPTIONS, "/x", AUTH_NONE, BODY_NONE, NULL, 0, PROFILE_TUS, 0, noop, NULL, NULL},
    };
    const struct route_table t = {rows, 2, NULL};
    const char *params[REQ_MAX_PARAMS];
    size_t n;
    char buf[16];
    unsigned allowed;
    const struct route *r =
        route_match(&t, "/x", M_OPTIONS, &allowed, params, &n, buf, sizeof(buf));
    assert_ptr_equal(r, &rows[1]);
    assert_true(allowed & M_POST);
    assert_null(route_match(&api_routes, "/api/v1/tickets", M_OPTIONS, &allowed, params, &n, buf,
                            sizeof(buf)));
    assert_true(allowed & M_OPTIONS);
}

/* A json_pack that failed for lack of memory hands NULL to req_reply_json:
 * that is an error, never an empty 200. */
static void test_reply_null_json(void **state)
{
    (void)state;
    struct req r = {0};
    assert_int_equal(req_reply_json(&r, 200, NULL), ERR_NOMEM);
    assert_null(r.resp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_route_documented),
        cmocka_unit_test(test_table_contract),
        cmocka_unit_test(test_options_row),
        cmocka_unit_test(test_reply_null_json),
        cmocka_unit_test(test_every_documented_operation_routed),
        cmocka_unit_test(test_match),
        cmocka_unit_test(test_upload_page_rows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
