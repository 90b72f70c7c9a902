/* fixtures.c: see fixtures.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "fixtures.h"

#define RING 8
#define RING_TEXT 256

/* Per-thread rings of texts: one for pb_header, one for pb_next_key. */
static _Thread_local char header_ring[RING][RING_TEXT], key_ring[RING][RING_TEXT];
static _Thread_local unsigned header_next, key_next;

const char *pb_header(const char *name, const char *value)
{
    if (!value)
        return NULL;
    char *out = header_ring[header_next++ % RING];
    int n = snprintf(out, RING_TEXT, "%s: %s", name, value);
    assert_true(n > 0 && n < RING_TEXT);
    return out;
}

const char *pb_idem(const char *key)
{
    return pb_header("Idempotency-Key", key);
}

const char *pb_next_key(const char *prefix)
{
    static int counter;
    char *out = key_ring[key_next++ % RING];
    int n = snprintf(out, RING_TEXT, "%s-%d", prefix,
                     __atomic_add_fetch(&counter, 1, __ATOMIC_SEQ_CST));
    assert_true(n > 0 && n < RING_TEXT);
    return out;
}

void pb_call_status(const struct pb_server *srv, const char *method, const char *path,
                    const char *body, const char *token, const char *extra, long status)
{
    struct pb_response r;
    pb_call(srv, method, path, body, token, extra, &r);
    if (r.status != status)
        fail_msg("%s %s answered %ld, expected %ld: %s", method, path, r.status, status, r.body);
    json_t *doc = r.body_len ? json_loads(r.body, 0, NULL) : NULL;
    if (r.body_len && !doc)
        fail_msg("%s %s: not JSON: %s", method, path, r.body);
    json_decref(doc);
    pb_response_release(&r);
}

const char *pb_str_at(const json_t *obj, const char *name)
{
    const char *v = json_string_value(json_object_get(obj, name));
    if (!v)
        fail_msg("%s is not a string", name);
    return v;
}

int64_t pb_int_at(const json_t *obj, const char *name)
{
    json_t *v = json_object_get(obj, name);
    if (!json_is_integer(v))
        fail_msg("%s is not an integer", name);
    return (int64_t)json_integer_value(v);
}

void pb_player_new(const struct pb_server *srv, const char *brand, const char *email,
                   const char *currency, char *id, size_t id_len, char *token, size_t token_len)
{
    char body[512];
    snprintf(body, sizeof(body),
             "{\"email\":\"%s\",\"password\":\"" PB_PLAYER_PASSWORD "\","
             "\"date_of_birth\":\"1990-05-17\",\"country\":\"DE\",\"currency\":\"%s\","
             "\"brand\":\"%s\"}",
             email, currency, brand);
    json_t *doc = pb_call_json(srv, "POST", "/api/v1/players", body, NULL, NULL, 201);
    if (id)
        snprintf(id, id_len, "%s", pb_str_at(doc, "player_id"));
    else
        pb_str_at(doc, "player_id");
    json_decref(doc);
    if (token)
        pb_player_login(srv, brand, email, token, token_len, NULL, 0);
}

void pb_player_login(const struct pb_server *srv, const char *brand, const char *email, char *token,
                     size_t token_len, char *session, size_t session_len)
{
    char body[512];
    snprintf(body, sizeof(body),
             "{\"brand\":\"%s\",\"email\":\"%s\",\"password\":\"" PB_PLAYER_PASSWORD "\"}", brand,
             email);
    json_t *doc = pb_call_json(srv, "POST", "/api/v1/sessions", body, NULL, NULL, 201);
    snprintf(token, token_len, "%s", pb_str_at(doc, "token"));
    if (session)
        snprintf(session, session_len, "%s", pb_str_at(doc, "session_id"));
    json_decref(doc);
}

void pb_wallet_fund(const struct pb_server *srv, const char *staff_token, const char *player,
                    const char *currency, int64_t amount)
{
    char path[160], body[320];
    snprintf(path, sizeof(path), "/api/v1/players/%s/wallets", player);
    snprintf(body, sizeof(body), "{\"currency\":\"%s\"}", currency);
    json_decref(pb_call_json(srv, "POST", path, body, staff_token, NULL, 200));
    if (amount > 0)
        pb_adjust(srv, staff_token, player, currency, amount);
}

void pb_adjust(const struct pb_server *srv, const char *staff_token, const char *player,
               const char *currency, int64_t amount)
{
    char body[320];
    snprintf(body, sizeof(body),
             "{\"player_id\":\"%s\",\"currency\":\"%s\",\"account\":"
             "\"cash\",\"amount_minor\":%lld,\"reason\":\"test funding\"}",
             player, currency, (long long)amount);
    json_decref(pb_call_json(srv, "POST", "/api/v1/admin/adjustments", body, staff_token,
                             pb_idem(pb_next_key("test-funding")), 201));
}

/* Looks field of the account up; false when it is not listed. */
static bool balance_find(const struct pb_server *srv, const char *staff_token, const char *player,
                         const char *type, const char *currency, const char *field, int64_t *out)
{
    char path[160];
    snprintf(path, sizeof(path), "/api/v1/players/%s/balances", player);
    json_t *doc = pb_call_json(srv, "GET", path, NULL, staff_token, NULL, 200);
    json_t *list = json_object_get(doc, "balances");
    bool found = false;
    for (size_t i = 0; i < json_array_size(list); i++) {
        json_t *b = json_array_get(list, i);
        if (strcmp(pb_str_at(b, "type"), type) == 0 &&
            strcmp(pb_str_at(b, "currency"), currency) == 0) {
            *out = pb_int_at(b, field);
            found = true;
        }
    }
    json_decref(doc);
    return found;
}

int64_t pb_balance(const struct pb_server *srv, const char *staff_token, const char *player,
                   const char *type, const char *currency, const char *field)
{
    int64_t v = 0;
    if (!balance_find(srv, staff_token, player, type, currency, field, &v))
        fail_msg("no %s %s account for %s", currency, type, player);
    return v;
}

int64_t pb_balance_or(const struct pb_server *srv, const char *staff_token, const char *player,
                      const char *type, const char *currency, const char *field, int64_t absent)
{
    int64_t v = absent;
    balance_find(srv, staff_token, player, type, currency, field, &v);
    return v;
}

int pb_teardown_server(void **state)
{
    struct pb_server *srv = *state;
    if (srv)
        pb_server_stop(srv);
    return 0;
}

int pb_ledger_verify(const char *db_url, char *out, size_t len)
{
    int fds[2];
    assert_true(len > 0);
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        setenv("PITBOSS_DB", db_url, 1);
        setenv("PITBOSS_LOG_LEVEL", "error", 1);
        execl(getenv("PITBOSS_BIN"), "pitboss", "ledger", "verify", (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    size_t used = 0;
    ssize_t got;
    while (used + 1 < len && (got = read(fds[0], out + used, len - 1 - used)) > 0)
        used += (size_t)got;
    out[used] = '\0';
    char sink[4096];
    while (read(fds[0], sink, sizeof(sink)) > 0) {
    }
    close(fds[0]);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    return WEXITSTATUS(status);
}

void pb_ledger_verify_ok(const struct pb_server *srv)
{
    char out[8192];
    int rc = pb_ledger_verify(srv->db_url, out, sizeof(out));
    size_t n = strlen(out);
    while (n > 0 && out[n - 1] == '\n')
        out[--n] = '\0';
    const char *last = strrchr(out, '\n');
    last = last ? last + 1 : out;
    if (rc != 0 || !strstr(last, "ledger verify: OK"))
        fail_msg("ledger verify exited with %d:\n%s", rc, out);
}
