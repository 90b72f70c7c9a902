/* client.c: start/stop the real pitboss binary and talk HTTP to it (client.h). */
#include "client.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <cmocka.h>
#include <curl/curl.h>
#include <jansson.h>
#include <libpq-fe.h>

void pb_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static const char *test_tmp(void)
{
    const char *t = getenv("PITBOSS_TEST_TMP");
    return t && t[0] ? t : "/tmp/pitboss-test";
}

static void mkdir_p(const char *path)
{
    char tmp[512];
    snprintf(tmp, sizeof(tmp), "%s", path);
    for (char *p = tmp + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            mkdir(tmp, 0755);
            *p = '/';
        }
    }
    mkdir(tmp, 0755);
}

/* A fresh PostgreSQL database on the test server; returns its URL in out. */
static void create_pg_database(const char *base_url, char *out, size_t outlen)
{
    PGconn *c = PQconnectdb(base_url);
    assert_int_equal(PQstatus(c), CONNECTION_OK);
    static int counter;
    char name[64], sql[128];
    snprintf(name, sizeof(name), "pbt_%d_%d_%ld", (int)getpid(), ++counter, (long)time(NULL));
    snprintf(sql, sizeof(sql), "CREATE DATABASE %s", name);
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        fprintf(stderr, "%s: %s\n", sql, PQerrorMessage(c));
    assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
    PQclear(r);
    PQfinish(c);
    const char *slash = strrchr(base_url, '/');
    assert_non_null(slash);
    snprintf(out, outlen, "%.*s/%s", (int)(slash - base_url), base_url, name);
}

void pb_fresh_database(const char *dir, const char *name, char *url, size_t len)
{
    const char *backend = getenv("PITBOSS_TEST_BACKEND");
    if (backend && strcmp(backend, "postgres") == 0) {
        const char *pg = getenv("PITBOSS_TEST_PG");
        assert_non_null(pg);
        create_pg_database(pg, url, len);
    } else {
        snprintf(url, len, "sqlite:%s/%s.db", dir, name);
    }
}

static void spawn(struct pb_server *srv, const char *const *env)
{
    const char *bin = getenv("PITBOSS_BIN");
    assert_non_null(bin);
    char out_path[700];
    snprintf(out_path, sizeof(out_path), "%s/stdout", srv->dir);
    unlink(out_path);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        setenv("PITBOSS_LISTEN", "127.0.0.1:0", 1);
        setenv("PITBOSS_DB", srv->db_url, 1);
        setenv("PITBOSS_ACCESS_LOG", "1", 1);
        /* The live crash game runs rounds in the background; only the tests about it (which
         * set PITBOSS_CRASH_ENABLED=1 in env) want them. */
        setenv("PITBOSS_CRASH_ENABLED", "0", 1);
        for (size_t i = 0; env && env[i]; i++)
            putenv((char *)env[i]);
        int out = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int err = open(srv->log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (out < 0 || err < 0)
            _exit(127);
        dup2(out, 1);
        dup2(err, 2);
        execl(bin, "pitboss", "serve", "--migrate", (char *)NULL);
        _exit(127);
    }
    srv->pid = pid;
}

/* Reads the port from the "listening on http://127.0.0.1:PORT" line. */
static int wait_listening(struct pb_server *srv)
{
    char out_path[700], line[256];
    snprintf(out_path, sizeof(out_path), "%s/stdout", srv->dir);
    for (int i = 0; i < 400; i++) {
        int status;
        if (waitpid(srv->pid, &status, WNOHANG) == srv->pid) {
            fprintf(stderr, "pitboss exited early (status %d); log: %s\n", status,
                    srv->log_path);
            return -1;
        }
        FILE *f = fopen(out_path, "r");
        if (f) {
            char *p = NULL;
            while (fgets(line, sizeof(line), f))
                if ((p = strstr(line, "listening on http://127.0.0.1:")))
                    break;
            fclose(f);
            if (p)
                return atoi(p + strlen("listening on http://127.0.0.1:"));
        }
        pb_sleep_ms(50);
    }
    return -1;
}

static void start(struct pb_server *srv, const char *const *env)
{
    spawn(srv, env);
    srv->port = wait_listening(srv);
    assert_true(srv->port > 0);
    struct pb_response r;
    pb_request(srv, "GET", "/healthz", NULL, NULL, 0, NULL, &r);
    assert_int_equal(r.status, 200);
    pb_response_release(&r);
}

void pb_server_start(struct pb_server *srv, const char *const *env)
{
    memset(srv, 0, sizeof(*srv));
    char base[300];
    snprintf(base, sizeof(base), "%s", test_tmp());
    mkdir_p(base);
    snprintf(srv->dir, sizeof(srv->dir), "%s/srv-XXXXXX", base);
    assert_non_null(mkdtemp(srv->dir));
    snprintf(srv->log_path, sizeof(srv->log_path), "%s/server.log", srv->dir);
    pb_fresh_database(srv->dir, "pitboss", srv->db_url, sizeof(srv->db_url));
    start(srv, env);
}

void pb_server_restart(struct pb_server *srv, const char *const *env)
{
    assert_int_equal(srv->pid, 0); /* stopped or killed first: two servers on one database */
    start(srv, env);
}

static int wait_exit(pid_t pid, int timeout_ms)
{
    for (int waited = 0; waited < timeout_ms; waited += 10) {
        int status;
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            return status;
        pb_sleep_ms(10);
    }
    return -1;
}

void pb_server_stop(struct pb_server *srv)
{
    assert_true(srv->pid > 0);
    kill(srv->pid, SIGTERM);
    int status = wait_exit(srv->pid, 20000);
    if (status == -1) {
        kill(srv->pid, SIGKILL);
        wait_exit(srv->pid, 5000);
    }
    srv->pid = 0;
    if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0))
        fprintf(stderr, "pitboss did not stop cleanly (status %d); log: %s\n", status,
                srv->log_path);
    assert_true(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

void pb_server_kill(struct pb_server *srv)
{
    kill(srv->pid, SIGKILL);
    wait_exit(srv->pid, 10000);
    srv->pid = 0;
}

static size_t collect(char *data, size_t size, size_t nmemb, void *arg)
{
    char **buf = arg;
    size_t old = *buf ? strlen(*buf) : 0, n = size * nmemb;
    *buf = realloc(*buf, old + n + 1);
    memcpy(*buf + old, data, n);
    (*buf)[old + n] = '\0';
    return n;
}

void pb_request(const struct pb_server *srv, const char *method, const char *path,
                const char *content_type, const char *body, size_t body_len,
                const char *const *headers, struct pb_response *out)
{
    memset(out, 0, sizeof(*out));
    CURL *c = curl_easy_init();
    assert_non_null(c);
    char url[1200], ct[256];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", srv->port, path);
    struct curl_slist *hl = NULL;
    if (content_type) {
        snprintf(ct, sizeof(ct), "Content-Type: %s", content_type);
        hl = curl_slist_append(hl, ct);
    }
    hl = curl_slist_append(hl, "Expect:");
    for (size_t i = 0; headers && headers[i]; i++)
        hl = curl_slist_append(hl, headers[i]);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (strcmp(method, "HEAD") == 0)
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &out->body);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &out->headers);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
    CURLcode rc = curl_easy_perform(c);
    if (rc != CURLE_OK)
        fprintf(stderr, "%s %s: %s\n", method, path, curl_easy_strerror(rc));
    assert_int_equal(rc, CURLE_OK);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
    curl_slist_free_all(hl);
    curl_easy_cleanup(c);
    if (!out->body)
        out->body = strdup("");
    if (!out->headers)
        out->headers = strdup("");
    out->body_len = strlen(out->body);
}

bool pb_response_header(const struct pb_response *r, const char *name, char *out,
                        size_t outlen)
{
    size_t n = strlen(name);
    for (const char *line = r->headers; line && *line;) {
        const char *eol = strstr(line, "\r\n");
        size_t len = eol ? (size_t)(eol - line) : strlen(line);
        if (len > n && strncasecmp(line, name, n) == 0 && line[n] == ':') {
            const char *v = line + n + 1;
            while (*v == ' ')
                v++;
            snprintf(out, outlen, "%.*s", (int)(len - (size_t)(v - line)), v);
            return true;
        }
        line = eol ? eol + 2 : line + len;
    }
    return false;
}

void pb_response_release(struct pb_response *r)
{
    free(r->body);
    free(r->headers);
    memset(r, 0, sizeof(*r));
}

int pb_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    return fd;
}

void pb_assert_problem(const struct pb_response *r, long status, const char *code)
{
    char ct[128], needle[96];
    assert_int_equal(r->status, status);
    assert_true(pb_response_header(r, "Content-Type", ct, sizeof(ct)));
    assert_string_equal(ct, "application/problem+json");
    snprintf(needle, sizeof(needle), "\"code\":\"%s\"", code);
    if (!strstr(r->body, needle))
        fail_msg("expected %s in %s", needle, r->body);
}

long long pb_metric(const struct pb_server *srv, const char *name)
{
    struct pb_response r;
    pb_request(srv, "GET", "/metrics", NULL, NULL, 0, NULL, &r);
    assert_int_equal(r.status, 200);
    long long v = -1;
    size_t n = strlen(name);
    for (const char *p = r.body; (p = strstr(p, name)); p += n) {
        if ((p == r.body || p[-1] == '\n') && p[n] == ' ') {
            v = atoll(p + n + 1);
            break;
        }
    }
    pb_response_release(&r);
    return v;
}

void pb_call(const struct pb_server *srv, const char *method, const char *path,
             const char *body, const char *token, const char *extra, struct pb_response *r)
{
    char auth[256];
    const char *headers[3] = {NULL, NULL, NULL};
    size_t n = 0;
    if (token) {
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
        headers[n++] = auth;
    }
    if (extra)
        headers[n++] = extra;
    pb_request(srv, method, path, body ? "application/json" : NULL, body,
               body ? strlen(body) : 0, headers, r);
}

json_t *pb_call_json(const struct pb_server *srv, const char *method, const char *path,
                     const char *body, const char *token, const char *extra, long status)
{
    struct pb_response r;
    json_error_t err;
    pb_call(srv, method, path, body, token, extra, &r);
    if (r.status != status)
        fail_msg("%s %s answered %ld, expected %ld: %s", method, path, r.status, status, r.body);
    json_t *doc = json_loads(r.body, 0, &err);
    if (!doc)
        fail_msg("%s %s: not JSON (%s): %s", method, path, err.text, r.body);
    pb_response_release(&r);
    return doc;
}

void pb_expect_problem(const struct pb_server *srv, const char *method, const char *path,
                       const char *body, const char *token, const char *extra, long status,
                       const char *code, const char *field)
{
    struct pb_response r;
    pb_call(srv, method, path, body, token, extra, &r);
    pb_assert_problem(&r, status, code);
    json_t *doc = json_loads(r.body, 0, NULL);
    const char *f = json_string_value(json_object_get(doc, "field"));
    if (field && (!f || strcmp(f, field) != 0))
        fail_msg("%s %s: expected field %s in %s", method, path, field, r.body);
    json_decref(doc);
    pb_response_release(&r);
}
