/* client.h: helpers for black-box tests: start the real pitboss binary on a free loopback
 * port with a fresh database, talk HTTP to it (libcurl), stop it.
 *
 * Backend: SQLite in a fresh directory under $PITBOSS_TEST_TMP by default; when
 * PITBOSS_TEST_BACKEND=postgres and PITBOSS_TEST_PG is a libpq URL of a running server, a fresh
 * database is created on that server for each started pitboss. */
#ifndef PB_TEST_CLIENT_H
#define PB_TEST_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct pb_server {
    pid_t pid;
    int port;
    char dir[400];      /* scratch directory of this server (database, log, config) */
    char db_url[600];   /* what PITBOSS_DB was set to */
    char log_path[600]; /* the server's stderr */
};

/* Starts `$PITBOSS_BIN serve` with PITBOSS_LISTEN=127.0.0.1:<free port>, PITBOSS_DB set to a
 * fresh database and the extra environment entries env ("NAME=value", NULL-terminated, may
 * be NULL); waits until /healthz answers 200 (asserts within 20 s). */
void pb_server_start(struct pb_server *srv, const char *const *env);
/* Same, but keeps srv->dir and srv->db_url (for restart tests); the server must have been
 * stopped or killed (pb_server_stop, pb_server_kill). */
void pb_server_restart(struct pb_server *srv, const char *const *env);
/* A new empty database of the backend under test: a SQLite file dir/name.db, or a new
 * PostgreSQL database on $PITBOSS_TEST_PG. Its URL goes to url (len bytes). */
void pb_fresh_database(const char *dir, const char *name, char *url, size_t len);
/* SIGTERM and wait (asserts a clean exit 0 within 20 s). */
void pb_server_stop(struct pb_server *srv);
/* SIGKILL and wait. */
void pb_server_kill(struct pb_server *srv);

struct pb_response {
    long status;
    char *body;        /* NUL-terminated */
    size_t body_len;
    char *headers;     /* raw header block, NUL-terminated */
};

/* One HTTP request on a new connection. content_type and body may be NULL. Extra request
 * headers: "Name: value" strings, NULL-terminated, may be NULL. Asserts the transfer worked. */
void pb_request(const struct pb_server *srv, const char *method, const char *path,
                const char *content_type, const char *body, size_t body_len,
                const char *const *headers, struct pb_response *out);
/* The value of response header name (case-insensitive), copied into out; false if absent. */
bool pb_response_header(const struct pb_response *r, const char *name, char *out,
                        size_t outlen);
void pb_response_release(struct pb_response *r);

/* Connects a TCP socket to 127.0.0.1:port (blocking); returns the fd (asserts success). */
int pb_connect(int port);

/* method path with an optional JSON body (NULL: none), "Authorization: Bearer <token>" when
 * token is not NULL, and one extra header line when extra is not NULL. */
void pb_call(const struct pb_server *srv, const char *method, const char *path,
             const char *body, const char *token, const char *extra, struct pb_response *r);
/* pb_call expecting status; returns the parsed JSON answer (caller json_decref's it). */
struct json_t;
struct json_t *pb_call_json(const struct pb_server *srv, const char *method, const char *path,
                            const char *body, const char *token, const char *extra,
                            long status);
/* pb_call expecting a problem with status and code and, when field is not NULL, that field. */
void pb_expect_problem(const struct pb_server *srv, const char *method, const char *path,
                       const char *body, const char *token, const char *extra, long status,
                       const char *code, const char *field);
/* Asserts a problem+json response with this status and code. */
void pb_assert_problem(const struct pb_response *r, long status, const char *code);
/* The value of the first metric line "name value" at /metrics, or -1 when absent. */
long long pb_metric(const struct pb_server *srv, const char *name);
void pb_sleep_ms(int ms);

#endif
