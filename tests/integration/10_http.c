/* 10_http.c: the HTTP pipeline against the real binary: system routes, request ids, problem
 * responses for bad input (which change nothing), the writer behind suspended requests, a full
 * queue answering 503, and 512 keep-alive connections served without a stall. */
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "client.h"
#include "fixtures.h"

static const char *const diag_env[] = {"PITBOSS_DIAGNOSTICS=1", NULL};

static void test_health_ready_and_request_id(void **state)
{
    struct pb_server *srv = *state;
    struct pb_response r;
    char rid[128];
    pb_request(srv, "GET", "/healthz", NULL, NULL, 0, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_true(pb_response_header(&r, "X-Request-Id", rid, sizeof(rid)));
    assert_int_equal(strlen(rid), 24); /* 12 random bytes in hex */
    assert_int_equal(strspn(rid, "0123456789abcdef"), 24);
    pb_response_release(&r);
    char again[128];
    pb_request(srv, "GET", "/healthz", NULL, NULL, 0, NULL, &r);
    assert_true(pb_response_header(&r, "X-Request-Id", again, sizeof(again)));
    assert_string_not_equal(again, rid); /* each request its own */
    pb_response_release(&r);

    const char *const hdr[] = {"X-Request-Id: trace-abc.123", NULL};
    pb_request(srv, "GET", "/readyz", NULL, NULL, 0, hdr, &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "\"ready\""));
    assert_true(pb_response_header(&r, "X-Request-Id", rid, sizeof(rid)));
    assert_string_equal(rid, "trace-abc.123");
    pb_response_release(&r);

    const char *const bad[] = {"X-Request-Id: has spaces and {braces}", NULL};
    pb_request(srv, "GET", "/healthz", NULL, NULL, 0, bad, &r);
    assert_true(pb_response_header(&r, "X-Request-Id", rid, sizeof(rid)));
    assert_string_not_equal(rid, "has spaces and {braces}");
    pb_response_release(&r);
}

static void test_metrics_exposes_routes_and_writer(void **state)
{
    struct pb_server *srv = *state;
    struct pb_response r;
    pb_request(srv, "GET", "/healthz", NULL, NULL, 0, NULL, &r);
    pb_response_release(&r);
    pb_request(srv, "GET", "/metrics", NULL, NULL, 0, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "pitboss_http_requests_total{method=\"GET\",route=\"/healthz\""
                                   ",status=\"2xx\"}"));
    assert_non_null(strstr(r.body, "pitboss_http_request_seconds_bucket{method=\"GET\","
                                   "route=\"/healthz\",le=\"0.0001\"}"));
    assert_non_null(strstr(r.body, "pitboss_writer_batch_size_bucket"));
    assert_non_null(strstr(r.body, "pitboss_writer_commit_seconds_count"));
    assert_non_null(strstr(r.body, "pitboss_writer_sync_seconds_count"));
    assert_non_null(strstr(r.body, "pitboss_writer_queue_depth "));
    assert_non_null(strstr(r.body, "pitboss_ws_connections"));
    pb_response_release(&r);
}

static void test_unknown_route_is_404_problem(void **state)
{
    struct pb_response r;
    pb_request(*state, "GET", "/api/v1/nothing-here", NULL, NULL, 0, NULL, &r);
    pb_assert_problem(&r, 404, "not_found");
    pb_response_release(&r);
}

static void test_wrong_method_is_405_with_allow(void **state)
{
    struct pb_response r;
    char allow[64];
    pb_request(*state, "DELETE", "/healthz", NULL, NULL, 0, NULL, &r);
    pb_assert_problem(&r, 405, "method_not_allowed");
    assert_true(pb_response_header(&r, "Allow", allow, sizeof(allow)));
    assert_string_equal(allow, "GET");
    pb_response_release(&r);
}

static void test_writer_command_commits(void **state)
{
    struct pb_server *srv = *state;
    long long before = pb_metric(srv, "pitboss_writer_commands_total");
    struct pb_response r;
    pb_request(srv, "POST", "/api/v1/diagnostics/noop", "application/json", "{}", 2, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "committed"));
    pb_response_release(&r);
    assert_true(pb_metric(srv, "pitboss_writer_commands_total") >= before + 1);
}

/* Every kind of bad input gets its problem response and no writer command runs. */
static void test_bad_input_gets_problem_and_changes_nothing(void **state)
{
    struct pb_server *srv = *state;
    const char *path = "/api/v1/diagnostics/publish";
    long long before = pb_metric(srv, "pitboss_writer_commands_total");
    struct pb_response r;

    pb_request(srv, "POST", path, "application/json", "{\"topic\": ", 10, NULL, &r);
    pb_assert_problem(&r, 400, "validation_failed");
    assert_non_null(strstr(r.body, "malformed_json"));
    pb_response_release(&r);

    const char *unknown = "{\"topic\":\"t\",\"data\":{},\"bogus\":1}";
    pb_request(srv, "POST", path, "application/json", unknown, strlen(unknown), NULL, &r);
    pb_assert_problem(&r, 400, "validation_failed");
    assert_non_null(strstr(r.body, "\"field\":\"bogus\""));
    pb_response_release(&r);

    const char *missing = "{\"data\":{}}";
    pb_request(srv, "POST", path, "application/json", missing, strlen(missing), NULL, &r);
    pb_assert_problem(&r, 400, "validation_failed");
    assert_non_null(strstr(r.body, "\"field\":\"topic\""));
    pb_response_release(&r);

    const char *mistyped = "{\"topic\":7,\"data\":{}}";
    pb_request(srv, "POST", path, "application/json", mistyped, strlen(mistyped), NULL, &r);
    pb_assert_problem(&r, 400, "validation_failed");
    assert_non_null(strstr(r.body, "\"field\":\"topic\""));
    pb_response_release(&r);

    char deep[200];
    memset(deep, '[', 100);
    deep[100] = '\0';
    pb_request(srv, "POST", path, "application/json", deep, 100, NULL, &r);
    pb_assert_problem(&r, 400, "validation_failed");
    assert_non_null(strstr(r.body, "too_deep"));
    pb_response_release(&r);

    pb_request(srv, "POST", path, "text/plain", "{}", 2, NULL, &r);
    pb_assert_problem(&r, 415, "unsupported_media_type");
    pb_response_release(&r);

    size_t big_len = 70 * 1024;
    char *big = malloc(big_len);
    memset(big, ' ', big_len);
    big[0] = '{';
    big[big_len - 1] = '}';
    pb_request(srv, "POST", "/api/v1/diagnostics/noop", "application/json", big, big_len, NULL,
               &r);
    pb_assert_problem(&r, 413, "body_too_large");
    pb_response_release(&r);
    free(big);

    const char *bad_noop = "{\"emit_event\":\"yes\"}";
    pb_request(srv, "POST", "/api/v1/diagnostics/noop", "application/json", bad_noop,
               strlen(bad_noop), NULL, &r);
    pb_assert_problem(&r, 400, "validation_failed");
    assert_non_null(strstr(r.body, "\"field\":\"emit_event\""));
    pb_response_release(&r);

    assert_int_equal(pb_metric(srv, "pitboss_writer_commands_total"), before);
    /* And the server is still fine. */
    pb_request(srv, "GET", "/healthz", NULL, NULL, 0, NULL, &r);
    assert_int_equal(r.status, 200);
    pb_response_release(&r);
}

/* Sends one keep-alive GET on each socket and reads every response within the deadline. */
static void round_trip_all(int *fds, int n)
{
    const char req[] = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    for (int i = 0; i < n; i++)
        assert_int_equal(send(fds[i], req, sizeof(req) - 1, 0), (ssize_t)sizeof(req) - 1);
    struct pollfd *pfd = calloc((size_t)n, sizeof(*pfd));
    int answered = 0;
    bool *done = calloc((size_t)n, sizeof(bool));
    time_t deadline = time(NULL) + 20;
    while (answered < n && time(NULL) < deadline) {
        for (int i = 0; i < n; i++)
            pfd[i] = (struct pollfd){.fd = done[i] ? -1 : fds[i], .events = POLLIN};
        if (poll(pfd, (nfds_t)n, 1000) <= 0)
            continue;
        for (int i = 0; i < n; i++) {
            if (done[i] || !(pfd[i].revents & POLLIN))
                continue;
            char buf[2048];
            ssize_t got = recv(fds[i], buf, sizeof(buf) - 1, 0);
            assert_true(got > 0);
            buf[got] = '\0';
            assert_non_null(strstr(buf, "HTTP/1.1 200"));
            assert_non_null(strstr(buf, "\"ok\"")); /* whole small response in one read */
            done[i] = true;
            answered++;
        }
    }
    assert_int_equal(answered, n);
    free(done);
    free(pfd);
}

static void test_512_keepalive_connections_do_not_stall(void **state)
{
    struct pb_server *srv = *state;
    enum { N = 512 };
    int *fds = calloc(N, sizeof(int));
    for (int i = 0; i < N; i++)
        fds[i] = pb_connect(srv->port);
    round_trip_all(fds, N);
    round_trip_all(fds, N); /* the same connections again: kept alive */
    for (int i = 0; i < N; i++)
        close(fds[i]);
    free(fds);
}

static size_t discard(char *d, size_t s, size_t n, void *arg)
{
    (void)d;
    (void)arg;
    return s * n;
}

static size_t find_retry_after(char *d, size_t s, size_t n, void *arg)
{
    if (strncasecmp(d, "Retry-After: 1", 14) == 0)
        (*(int *)arg)++;
    return s * n;
}

/* With a queue of one command, a burst of concurrent writes overflows it: the overflow is
 * answered 503 with Retry-After, and everything else commits. */
static void test_full_writer_queue_answers_503(void **state)
{
    (void)state;
    const char *const env[] = {"PITBOSS_DIAGNOSTICS=1", "PITBOSS_WRITER_QUEUE_MAX=1",
                               "PITBOSS_WRITER_BATCH_MAX=1", "PITBOSS_ACCESS_LOG=0", NULL};
    struct pb_server srv;
    pb_server_start(&srv, env);
    enum { N = 200 };
    CURLM *m = curl_multi_init();
    CURL *h[N];
    int retry_after = 0;
    char url[128];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/api/v1/diagnostics/noop", srv.port);
    for (int i = 0; i < N; i++) {
        h[i] = curl_easy_init();
        curl_easy_setopt(h[i], CURLOPT_URL, url);
        curl_easy_setopt(h[i], CURLOPT_POSTFIELDS, "");
        curl_easy_setopt(h[i], CURLOPT_WRITEFUNCTION, discard);
        curl_easy_setopt(h[i], CURLOPT_HEADERFUNCTION, find_retry_after);
        curl_easy_setopt(h[i], CURLOPT_HEADERDATA, &retry_after);
        curl_easy_setopt(h[i], CURLOPT_TIMEOUT, 30L);
        curl_multi_add_handle(m, h[i]);
    }
    int running = N;
    for (int turns = 0; running > 0 && turns < 100000; turns++) {
        curl_multi_perform(m, &running);
        curl_multi_poll(m, NULL, 0, 100, NULL);
    }
    int ok = 0, busy = 0;
    for (int i = 0; i < N; i++) {
        long status = 0;
        curl_easy_getinfo(h[i], CURLINFO_RESPONSE_CODE, &status);
        ok += status == 200;
        busy += status == 503;
        curl_multi_remove_handle(m, h[i]);
        curl_easy_cleanup(h[i]);
    }
    curl_multi_cleanup(m);
    printf("# queue of 1: %d committed, %d answered 503\n", ok, busy);
    assert_int_equal(ok + busy, N);
    assert_true(busy > 0 && ok > 0);
    assert_int_equal(retry_after, busy);
    assert_int_equal(pb_metric(&srv, "pitboss_writer_rejected_full_total"), busy);
    pb_server_stop(&srv);
}

/* Runs pitboss with args and env; returns the exit status and the stderr text in err. */
static int run_pitboss(const char *const *args, const char *const *env, char *err, size_t len)
{
    int pipefd[2];
    assert_int_equal(pipe(pipefd), 0);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(pipefd[1], 2);
        close(pipefd[0]);
        setenv("PITBOSS_LISTEN", "127.0.0.1:0", 1);
        for (size_t i = 0; env && env[i]; i++)
            putenv((char *)env[i]);
        execv(getenv("PITBOSS_BIN"), (char *const *)args);
        _exit(127);
    }
    close(pipefd[1]);
    size_t used = 0;
    ssize_t got;
    while (used + 1 < len && (got = read(pipefd[0], err + used, len - 1 - used)) > 0)
        used += (size_t)got;
    err[used] = '\0';
    close(pipefd[0]);
    int status;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void test_bad_configuration_names_key_and_exits_2(void **state)
{
    struct pb_server *srv = *state;
    char err[2048], path[600];
    snprintf(path, sizeof(path), "%s/bad.json", srv->dir);
    FILE *f = fopen(path, "w");
    fputs("{\"writer\": {\"batch_max\": 0}}", f);
    fclose(f);
    const char *const args[] = {"pitboss", "--config", path, "serve", NULL};
    assert_int_equal(run_pitboss(args, NULL, err, sizeof(err)), 2);
    assert_non_null(strstr(err, "writer.batch_max"));

    f = fopen(path, "w");
    fputs("{\"http\": {\"thread\": 4}}", f);
    fclose(f);
    assert_int_equal(run_pitboss(args, NULL, err, sizeof(err)), 2);
    assert_non_null(strstr(err, "http.thread"));
    assert_non_null(strstr(err, "not a known setting"));

    f = fopen(path, "w");
    fputs("{\"listen\": ", f);
    fclose(f);
    assert_int_equal(run_pitboss(args, NULL, err, sizeof(err)), 2);
    assert_non_null(strstr(err, "--config"));

    const char *const serve[] = {"pitboss", "serve", NULL};
    const char *const env[] = {"PITBOSS_HTTP_THREADS=1", NULL};
    assert_int_equal(run_pitboss(serve, env, err, sizeof(err)), 2);
    assert_non_null(strstr(err, "PITBOSS_HTTP_THREADS"));
    const char *const env2[] = {"PITBOSS_LISTEN=nowhere", NULL};
    assert_int_equal(run_pitboss(serve, env2, err, sizeof(err)), 2);
    assert_non_null(strstr(err, "PITBOSS_LISTEN"));
}

/* serve refuses a database without the schema; migrate applies it once. */
static void test_serve_requires_migrations_and_migrate_applies_once(void **state)
{
    struct pb_server *srv = *state;
    char err[4096], db[700], env_db[720];
    pb_fresh_database(srv->dir, "unmigrated", db, sizeof(db));
    snprintf(env_db, sizeof(env_db), "PITBOSS_DB=%s", db);
    const char *const env[] = {env_db, NULL};
    const char *const serve[] = {"pitboss", "serve", NULL};
    assert_int_equal(run_pitboss(serve, env, err, sizeof(err)), 1);
    assert_non_null(strstr(err, "schema is not current"));
    const char *const migrate[] = {"pitboss", "migrate", NULL};
    assert_int_equal(run_pitboss(migrate, env, err, sizeof(err)), 0);
    assert_non_null(strstr(err, "migration applied"));
    assert_int_equal(run_pitboss(migrate, env, err, sizeof(err)), 0);
    assert_null(strstr(err, "migration applied"));
}

static int setup(void **state)
{
    static struct pb_server srv;
    curl_global_init(CURL_GLOBAL_ALL);
    pb_server_start(&srv, diag_env);
    *state = &srv;
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_health_ready_and_request_id),
        cmocka_unit_test(test_metrics_exposes_routes_and_writer),
        cmocka_unit_test(test_unknown_route_is_404_problem),
        cmocka_unit_test(test_wrong_method_is_405_with_allow),
        cmocka_unit_test(test_bad_input_gets_problem_and_changes_nothing),
        cmocka_unit_test(test_writer_command_commits),
        cmocka_unit_test(test_512_keepalive_connections_do_not_stall),
        cmocka_unit_test(test_full_writer_queue_answers_503),
        cmocka_unit_test(test_bad_configuration_names_key_and_exits_2),
        cmocka_unit_test(test_serve_requires_migrations_and_migrate_applies_once),
    };
    return cmocka_run_group_tests_name("integration.http", tests, setup, pb_teardown_server);
}
