/* 12_static.c: the static file server for the web app (src/http/static.c, docs/web.md)
 * against the real binary with a web directory built by the test: files with their content
 * types and cache headers, the single-page fallback for / and /admin, API routes unaffected,
 * and no way out of the directory (.., encoded .., hidden files, symbolic links). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "client.h"

#define SECRET "top-secret-outside-web-dir"

static struct pb_server srv;
static char webdir[512], outside[512];

static void write_file(const char *dir, const char *name, const char *text)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* One request written verbatim on a socket (no client-side path normalisation); returns the
 * whole answer (status line, headers, body) in out. */
static void raw_get(const char *target, char *out, size_t outlen)
{
    int fd = pb_connect(srv.port);
    char req[1024];
    int n = snprintf(req, sizeof(req),
                     "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", target);
    assert_int_equal(send(fd, req, (size_t)n, 0), n);
    size_t used = 0;
    for (;;) {
        ssize_t got = recv(fd, out + used, outlen - 1 - used, 0);
        if (got <= 0)
            break;
        used += (size_t)got;
        if (used == outlen - 1)
            break;
    }
    out[used] = '\0';
    close(fd);
}

static void get(const char *path, const char *accept, struct pb_response *r)
{
    char hdr[128];
    snprintf(hdr, sizeof(hdr), "Accept: %s", accept ? accept : "*/*");
    const char *const headers[] = {hdr, NULL};
    pb_request(&srv, "GET", path, NULL, NULL, 0, headers, r);
}

static void assert_header(const struct pb_response *r, const char *name, const char *want)
{
    char v[256];
    assert_true(pb_response_header(r, name, v, sizeof(v)));
    assert_string_equal(v, want);
}

static void test_root_serves_player_app_to_browsers_and_json_to_api_clients(void **state)
{
    (void)state;
    struct pb_response r;
    get("/", "text/html,application/xhtml+xml,*/*;q=0.8", &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "<html>player</html>");
    assert_header(&r, "Content-Type", "text/html; charset=utf-8");
    assert_header(&r, "Cache-Control", "no-cache");
    assert_header(&r, "X-Content-Type-Options", "nosniff");
    char csp[512];
    assert_true(pb_response_header(&r, "Content-Security-Policy", csp, sizeof(csp)));
    assert_non_null(strstr(csp, "script-src 'self'"));
    assert_non_null(strstr(csp, "frame-ancestors 'none'"));
    pb_response_release(&r);
    get("/", "application/json", &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "\"version\""));
    pb_response_release(&r);
}

static void test_client_side_routes_get_their_apps_index(void **state)
{
    (void)state;
    static const struct {
        const char *path, *body;
    } cases[] = {
        {"/history", "<html>player</html>"},
        {"/account/sessions", "<html>player</html>"},
        {"/admin", "<html>admin</html>"},
        {"/admin/", "<html>admin</html>"},
        {"/admin/players/abc123", "<html>admin</html>"},
        {"/administrator", "<html>player</html>"}, /* not the /admin app */
        {"/index.html", "<html>player</html>"},
        {"/admin/index.html", "<html>admin</html>"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct pb_response r;
        get(cases[i].path, NULL, &r);
        if (r.status != 200 || strcmp(r.body, cases[i].body) != 0)
            fail_msg("%s: %ld %s", cases[i].path, r.status, r.body);
        assert_header(&r, "Content-Type", "text/html; charset=utf-8");
        assert_header(&r, "Cache-Control", "no-cache");
        pb_response_release(&r);
    }
}

static void test_assets_have_content_types_and_immutable_caching(void **state)
{
    (void)state;
    static const struct {
        const char *path, *type;
    } cases[] = {
        {"/assets/app-3f2a9c.js", "text/javascript; charset=utf-8"},
        {"/assets/app-3f2a9c.css", "text/css; charset=utf-8"},
        {"/assets/logo-77aa.svg", "image/svg+xml"},
        {"/assets/blob-1.bin", "application/octet-stream"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct pb_response r;
        get(cases[i].path, NULL, &r);
        assert_int_equal(r.status, 200);
        assert_header(&r, "Content-Type", cases[i].type);
        assert_header(&r, "Cache-Control", "public, max-age=31536000, immutable");
        pb_response_release(&r);
    }
    struct pb_response r;
    get("/assets/app-3f2a9c.js", NULL, &r);
    assert_string_equal(r.body, "console.log(1);");
    pb_response_release(&r);
    get("/favicon.svg", NULL, &r); /* outside /assets/: revalidated */
    assert_int_equal(r.status, 200);
    assert_header(&r, "Cache-Control", "no-cache");
    pb_response_release(&r);
}

static void test_missing_files_are_404_problems_not_the_app(void **state)
{
    (void)state;
    struct pb_response r;
    get("/assets/missing-123.js", NULL, &r);
    pb_assert_problem(&r, 404, "not_found");
    pb_response_release(&r);
    get("/admin/missing.css", NULL, &r);
    pb_assert_problem(&r, 404, "not_found");
    pb_response_release(&r);
}

static void test_api_routes_are_unaffected(void **state)
{
    (void)state;
    struct pb_response r;
    get("/api/v1/no-such-route", "text/html", &r);
    pb_assert_problem(&r, 404, "not_found");
    pb_response_release(&r);
    get("/api/v1/players/me", "text/html", &r);
    pb_assert_problem(&r, 401, "unauthorized");
    pb_response_release(&r);
    get("/healthz", "text/html", &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "ok"));
    pb_response_release(&r);
    pb_request(&srv, "POST", "/history", "application/json", "{}", 2, NULL, &r);
    pb_assert_problem(&r, 404, "not_found"); /* only GET and HEAD reach the files */
    pb_response_release(&r);
}

static void test_head_answers_headers_without_body(void **state)
{
    (void)state;
    char out[4096];
    int fd = pb_connect(srv.port);
    const char req[] =
        "HEAD /assets/app-3f2a9c.js HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    assert_int_equal(send(fd, req, sizeof(req) - 1, 0), (ssize_t)(sizeof(req) - 1));
    size_t used = 0;
    ssize_t got;
    while ((got = recv(fd, out + used, sizeof(out) - 1 - used, 0)) > 0)
        used += (size_t)got;
    out[used] = '\0';
    close(fd);
    assert_non_null(strstr(out, "HTTP/1.1 200"));
    assert_non_null(strstr(out, "Content-Length: 15\r\n"));
    assert_null(strstr(out, "console.log"));
}

static void test_no_path_leaves_the_web_directory(void **state)
{
    (void)state;
    static const char *const targets[] = {
        "/../outside/secret.txt",
        "/assets/../../outside/secret.txt",
        "/%2e%2e/outside/secret.txt",
        "/%2E%2E%2Foutside%2Fsecret.txt",
        "/assets/%2e%2e/%2e%2e/outside/secret.txt",
        "/..%2f..%2foutside%2fsecret.txt",
        "/escape/secret.txt", /* a symbolic link inside the web dir to the outside */
        "/escape-file.txt",   /* a symbolic link to the outside file itself */
        "/.env",              /* hidden files */
        "/assets/.hidden.txt",
        "/assets//app-3f2a9c.js",
        "/./index.html",
        "/assets/app\\..\\..\\outside\\secret.txt",
    };
    for (size_t i = 0; i < sizeof(targets) / sizeof(targets[0]); i++) {
        char out[8192];
        raw_get(targets[i], out, sizeof(out));
        if (strstr(out, SECRET) || strstr(out, "DOTENV") || strstr(out, "HIDDEN"))
            fail_msg("%s leaked: %s", targets[i], out);
        if (strncmp(out, "HTTP/1.1 404", 12) != 0 && strncmp(out, "HTTP/1.1 400", 12) != 0)
            fail_msg("%s: expected 404 (or 400), got %.40s", targets[i], out);
    }
}

static int setup(void **state)
{
    (void)state;
    curl_global_init(CURL_GLOBAL_ALL);
    const char *tmp = getenv("PITBOSS_TEST_TMP");
    char base[400];
    snprintf(base, sizeof(base), "%s/static.XXXXXX", tmp ? tmp : "/tmp");
    mkdir(tmp ? tmp : "/tmp", 0700);
    assert_non_null(mkdtemp(base));
    snprintf(webdir, sizeof(webdir), "%s/web", base);
    snprintf(outside, sizeof(outside), "%s/outside", base);
    char path[1024];
    assert_int_equal(mkdir(webdir, 0700), 0);
    assert_int_equal(mkdir(outside, 0700), 0);
    snprintf(path, sizeof(path), "%s/admin", webdir);
    assert_int_equal(mkdir(path, 0700), 0);
    snprintf(path, sizeof(path), "%s/assets", webdir);
    assert_int_equal(mkdir(path, 0700), 0);
    write_file(webdir, "index.html", "<html>player</html>");
    write_file(webdir, "admin/index.html", "<html>admin</html>");
    write_file(webdir, "assets/app-3f2a9c.js", "console.log(1);");
    write_file(webdir, "assets/app-3f2a9c.css", "body{}");
    write_file(webdir, "assets/logo-77aa.svg", "<svg/>");
    write_file(webdir, "assets/blob-1.bin", "x");
    write_file(webdir, "assets/.hidden.txt", "HIDDEN");
    write_file(webdir, "favicon.svg", "<svg/>");
    write_file(webdir, ".env", "DOTENV");
    write_file(outside, "secret.txt", SECRET);
    char link[1024];
    snprintf(link, sizeof(link), "%s/escape", webdir);
    assert_int_equal(symlink(outside, link), 0);
    snprintf(path, sizeof(path), "%s/secret.txt", outside);
    snprintf(link, sizeof(link), "%s/escape-file.txt", webdir);
    assert_int_equal(symlink(path, link), 0);
    char env_dir[600];
    snprintf(env_dir, sizeof(env_dir), "PITBOSS_WEB_DIR=%s", webdir);
    const char *const env[] = {env_dir, NULL};
    pb_server_start(&srv, env);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    pb_server_stop(&srv);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_root_serves_player_app_to_browsers_and_json_to_api_clients),
        cmocka_unit_test(test_client_side_routes_get_their_apps_index),
        cmocka_unit_test(test_assets_have_content_types_and_immutable_caching),
        cmocka_unit_test(test_missing_files_are_404_problems_not_the_app),
        cmocka_unit_test(test_api_routes_are_unaffected),
        cmocka_unit_test(test_head_answers_headers_without_body),
        cmocka_unit_test(test_no_path_leaves_the_web_directory),
    };
    return cmocka_run_group_tests_name("integration.static", tests, setup, teardown);
}
