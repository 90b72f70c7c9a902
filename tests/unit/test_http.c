/* test_http.c: the route matcher, problem+json rendering, and the static file server's path
 * checks and content types. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "base/base.h"
#include "http/http.h"
#include "http/http_int.h"

static enum http_result nop(struct http_request *req, struct http_response *resp)
{
    (void)req;
    (void)resp;
    return HTTP_DONE;
}

static const struct http_route table[] = {
    {HTTP_GET, "/healthz", nop, 0},
    {HTTP_GET, "/api/v1/players/{id}", nop, 0},
    {HTTP_PATCH, "/api/v1/players/{id}", nop, 0},
    {HTTP_GET, "/api/v1/players/{id}/sessions/{sid}", nop, 0},
    {HTTP_POST, "/api/v1/players", nop, 0},
};

static int match(enum http_method m, const char *path, const char **params, size_t *np,
                 unsigned *allowed)
{
    const struct http_route *routes[PB_ARRAY_LEN(table)];
    for (size_t i = 0; i < PB_ARRAY_LEN(table); i++)
        routes[i] = &table[i];
    static char storage[PB_HTTP_PATH_MAX];
    return http_route_match(routes, PB_ARRAY_LEN(table), m, path, params, np, storage,
                            sizeof(storage), allowed);
}

static void test_router_matches_static_and_parameter_segments(void **state)
{
    (void)state;
    const char *params[PB_HTTP_PATH_PARAMS_MAX];
    size_t np;
    unsigned allowed;
    assert_int_equal(match(HTTP_GET, "/healthz", params, &np, &allowed), 0);
    assert_int_equal(np, 0);
    assert_int_equal(match(HTTP_GET, "/api/v1/players/42", params, &np, &allowed), 1);
    assert_int_equal(np, 1);
    assert_string_equal(params[0], "42");
    assert_int_equal(match(HTTP_PATCH, "/api/v1/players/42", params, &np, &allowed), 2);
    assert_int_equal(match(HTTP_GET, "/api/v1/players/p-1/sessions/s9", params, &np, &allowed),
                     3);
    assert_int_equal(np, 2);
    assert_string_equal(params[0], "p-1");
    assert_string_equal(params[1], "s9");
    assert_int_equal(match(HTTP_POST, "/api/v1/players", params, &np, &allowed), 4);
}

static void test_router_404_and_405(void **state)
{
    (void)state;
    const char *params[PB_HTTP_PATH_PARAMS_MAX];
    size_t np;
    unsigned allowed;
    assert_int_equal(match(HTTP_GET, "/nothing", params, &np, &allowed), -1);
    assert_int_equal(match(HTTP_GET, "/healthz/", params, &np, &allowed), -1);
    assert_int_equal(match(HTTP_GET, "/api/v1/players/", params, &np, &allowed), -1);
    assert_int_equal(match(HTTP_GET, "/api/v1/players/1/2", params, &np, &allowed), -1);
    assert_int_equal(match(HTTP_DELETE, "/api/v1/players/7", params, &np, &allowed), -2);
    assert_int_equal(allowed, HTTP_GET | HTTP_PATCH);
    assert_int_equal(match(HTTP_GET, "/api/v1/players", params, &np, &allowed), -2);
    assert_int_equal(allowed, HTTP_POST);
}

static void test_method_names(void **state)
{
    (void)state;
    assert_int_equal(http_method_parse("GET"), HTTP_GET);
    assert_int_equal(http_method_parse("DELETE"), HTTP_DELETE);
    assert_int_equal(http_method_parse("get"), 0);
    assert_int_equal(http_method_parse("BREW"), 0);
}

static void test_problem_json_has_stable_members(void **state)
{
    (void)state;
    struct http_response resp;
    http_response_init(&resp);
    http_problem(&resp, 400, "validation_failed", "Bad \"input\"", "x is wrong", "x");
    assert_int_equal(resp.status, 400);
    assert_string_equal(resp.content_type, "application/problem+json");
    json_t *doc = json_loads(resp.body.data, 0, NULL);
    assert_non_null(doc);
    assert_string_equal(json_string_value(json_object_get(doc, "code")), "validation_failed");
    assert_string_equal(json_string_value(json_object_get(doc, "title")), "Bad \"input\"");
    assert_string_equal(json_string_value(json_object_get(doc, "field")), "x");
    assert_int_equal(json_integer_value(json_object_get(doc, "status")), 400);
    assert_non_null(json_object_get(doc, "type"));
    json_decref(doc);
    http_response_release(&resp);
}

static void test_static_path_checks_every_segment(void **state)
{
    (void)state;
    static const char *const ok[] = {"/", "/index.html", "/admin", "/admin/", "/admin/players/ab-12_x",
                                     "/assets/app-3f2a9c.js", "/a~b", "/history"};
    static const char *const bad[] = {"", "index.html", "//", "/..", "/../x", "/a/../b", "/.",
                                      "/./a", "/.env", "/assets/.hidden", "/a//b", "/a\\b",
                                      "/a%2e", "/a b", "/a?b", "/admin//", "/\x01"};
    for (size_t i = 0; i < PB_ARRAY_LEN(ok); i++)
        if (!http_static_path_ok(ok[i]))
            fail_msg("refused %s", ok[i]);
    for (size_t i = 0; i < PB_ARRAY_LEN(bad); i++)
        if (http_static_path_ok(bad[i]))
            fail_msg("accepted %s", bad[i]);
}

static void test_static_content_types_by_extension(void **state)
{
    (void)state;
    assert_string_equal(http_static_content_type("index.html"), "text/html; charset=utf-8");
    assert_string_equal(http_static_content_type("assets/a-1.JS"), "text/javascript; charset=utf-8");
    assert_string_equal(http_static_content_type("assets/a-1.css"), "text/css; charset=utf-8");
    assert_string_equal(http_static_content_type("x.svg"), "image/svg+xml");
    assert_string_equal(http_static_content_type("x.woff2"), "font/woff2");
    assert_string_equal(http_static_content_type("x.tar.gz"), "application/octet-stream");
    assert_string_equal(http_static_content_type("dir.d/noext"), "application/octet-stream");
    assert_string_equal(http_static_content_type("x."), "application/octet-stream");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_router_matches_static_and_parameter_segments),
        cmocka_unit_test(test_router_404_and_405),
        cmocka_unit_test(test_method_names),
        cmocka_unit_test(test_problem_json_has_stable_members),
        cmocka_unit_test(test_static_path_checks_every_segment),
        cmocka_unit_test(test_static_content_types_by_extension),
    };
    return cmocka_run_group_tests_name("unit.http", tests, NULL, NULL);
}
