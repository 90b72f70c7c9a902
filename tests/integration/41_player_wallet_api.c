/* 41_player_wallet_api.c: the player's own wallet routes against the real binary
 * (GET /api/v1/players/me/balances and /me/transactions, docs/web.md): a session sees its own
 * player's accounts and history only, pages with the history's cursor, bad input names the
 * field, and no session (or a revoked one) gets 401; a player's token does not open the staff
 * routes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <jansson.h>

#include "client.h"

#define PASSWORD "correct horse battery"
#define STAFF_TOKEN "player-wallet-test-token-0123456789"

static struct pb_server srv;

static json_t *call_json(const char *method, const char *path, const char *body, const char *token,
                         const char *idem, long status)
{
    char auth[160], key[160];
    const char *headers[3] = {NULL, NULL, NULL};
    size_t nh = 0;
    if (token) {
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
        headers[nh++] = auth;
    }
    if (idem) {
        snprintf(key, sizeof(key), "Idempotency-Key: %s", idem);
        headers[nh++] = key;
    }
    struct pb_response r;
    pb_request(&srv, method, path, body ? "application/json" : NULL, body, body ? strlen(body) : 0,
               headers, &r);
    if (r.status != status)
        fail_msg("%s %s answered %ld, expected %ld: %s", method, path, r.status, status, r.body);
    json_t *doc = r.body_len ? json_loads(r.body, 0, NULL) : NULL;
    if (r.body_len && !doc)
        fail_msg("not JSON: %s", r.body);
    pb_response_release(&r);
    return doc;
}

static void expect_problem(const char *path, const char *token, long status, const char *code,
                           const char *field)
{
    char auth[160];
    const char *headers[2] = {NULL, NULL};
    if (token) {
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
        headers[0] = auth;
    }
    struct pb_response r;
    pb_request(&srv, "GET", path, NULL, NULL, 0, headers, &r);
    pb_assert_problem(&r, status, code);
    if (field) {
        json_t *doc = json_loads(r.body, 0, NULL);
        const char *f = json_string_value(json_object_get(doc, "field"));
        if (!f || strcmp(f, field) != 0)
            fail_msg("expected field %s: %s", field, r.body);
        json_decref(doc);
    }
    pb_response_release(&r);
}

struct player {
    char id[64];
    char token[128];
    char session[64];
};

static void new_player(const char *email, const char *currency, struct player *p)
{
    char body[512];
    snprintf(body, sizeof(body),
             "{\"email\":\"%s\",\"password\":\"" PASSWORD "\","
             "\"date_of_birth\":\"1990-05-17\",\"country\":\"DE\",\"currency\":\"%s\","
             "\"brand\":\"demo\"}",
             email, currency);
    json_t *doc = call_json("POST", "/api/v1/players", body, NULL, NULL, 201);
    snprintf(p->id, sizeof(p->id), "%s", json_string_value(json_object_get(doc, "player_id")));
    json_decref(doc);
    snprintf(body, sizeof(body),
             "{\"brand\":\"demo\",\"email\":\"%s\",\"password\":\"" PASSWORD "\"}", email);
    doc = call_json("POST", "/api/v1/sessions", body, NULL, NULL, 201);
    snprintf(p->token, sizeof(p->token), "%s", json_string_value(json_object_get(doc, "token")));
    snprintf(p->session, sizeof(p->session), "%s",
             json_string_value(json_object_get(doc, "session_id")));
    json_decref(doc);
}

static void credit(const struct player *p, const char *currency, long long minor, int n)
{
    char body[512], key[160];
    snprintf(body, sizeof(body),
             "{\"player_id\":\"%s\",\"currency\":\"%s\",\"account\":"
             "\"cash\",\"amount_minor\":%lld,\"reason\":\"test credit\"}",
             p->id, currency, minor);
    snprintf(key, sizeof(key), "wallet-test:%s:%d", p->id, n);
    json_decref(call_json("POST", "/api/v1/admin/adjustments", body, STAFF_TOKEN, key, 201));
}

/* The cash balance in a balances answer, asserting it belongs to player_id. */
static long long cash_of(json_t *doc, const char *player_id)
{
    assert_string_equal(json_string_value(json_object_get(doc, "player_id")), player_id);
    json_t *list = json_object_get(doc, "balances");
    assert_int_equal(json_array_size(list), 3); /* cash, bonus, locked */
    for (size_t i = 0; i < json_array_size(list); i++) {
        json_t *b = json_array_get(list, i);
        if (strcmp(json_string_value(json_object_get(b, "type")), "cash") == 0)
            return json_integer_value(json_object_get(b, "posted_minor"));
    }
    fail_msg("no cash account");
    return -1;
}

static void test_each_session_sees_only_its_own_balances(void **state)
{
    (void)state;
    struct player a, b;
    new_player("wallet-a@example.org", "EUR", &a);
    new_player("wallet-b@example.org", "USD", &b);
    credit(&a, "EUR", 1234, 1);
    json_t *doc = call_json("GET", "/api/v1/players/me/balances", NULL, a.token, NULL, 200);
    assert_int_equal(cash_of(doc, a.id), 1234);
    json_decref(doc);
    doc = call_json("GET", "/api/v1/players/me/balances", NULL, b.token, NULL, 200);
    assert_int_equal(cash_of(doc, b.id), 0);
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(doc, "balances"), 0), "currency")),
                        "USD");
    json_decref(doc);
    doc = call_json("GET", "/api/v1/players/me/transactions", NULL, b.token, NULL, 200);
    assert_int_equal(json_array_size(json_object_get(doc, "transactions")), 0);
    assert_true(json_is_null(json_object_get(doc, "next_cursor")));
    json_decref(doc);
}

static void test_history_pages_newest_first(void **state)
{
    (void)state;
    struct player p;
    new_player("wallet-pages@example.org", "EUR", &p);
    for (int i = 1; i <= 5; i++)
        credit(&p, "EUR", 100 * i, i);
    json_t *doc =
        call_json("GET", "/api/v1/players/me/transactions?limit=2", NULL, p.token, NULL, 200);
    json_t *rows = json_object_get(doc, "transactions");
    assert_int_equal(json_array_size(rows), 2);
    json_t *first = json_array_get(rows, 0);
    assert_int_equal(json_integer_value(json_object_get(first, "amount_minor")), 500);
    assert_string_equal(json_string_value(json_object_get(first, "direction")), "credit");
    assert_string_equal(json_string_value(json_object_get(first, "code")), "adjustment");
    int seen = 2;
    char cursor[128];
    while (json_is_string(json_object_get(doc, "next_cursor"))) {
        char path[256];
        snprintf(cursor, sizeof(cursor), "%s",
                 json_string_value(json_object_get(doc, "next_cursor")));
        snprintf(path, sizeof(path), "/api/v1/players/me/transactions?limit=2&cursor=%s", cursor);
        json_decref(doc);
        doc = call_json("GET", path, NULL, p.token, NULL, 200);
        seen += (int)json_array_size(json_object_get(doc, "transactions"));
        assert_true(seen <= 5);
    }
    assert_int_equal(seen, 5);
    json_decref(doc);
    expect_problem("/api/v1/players/me/transactions?limit=0", p.token, 400, "validation_failed",
                   "limit");
    expect_problem("/api/v1/players/me/transactions?currency=XXX", p.token, 400,
                   "validation_failed", "currency");
}

static void test_without_a_live_session_the_answer_is_401(void **state)
{
    (void)state;
    struct player p;
    new_player("wallet-gone@example.org", "EUR", &p);
    expect_problem("/api/v1/players/me/balances", NULL, 401, "unauthorized", NULL);
    expect_problem("/api/v1/players/me/transactions", "not-a-token", 401, "unauthorized", NULL);
    expect_problem("/api/v1/players/me/balances", STAFF_TOKEN, 401, "unauthorized", NULL);
    /* Nor does the player's token open the staff route over its own id. */
    char path[128];
    snprintf(path, sizeof(path), "/api/v1/players/%s/balances", p.id);
    expect_problem(path, p.token, 401, "unauthorized", NULL);
    snprintf(path, sizeof(path), "/api/v1/sessions/%s", p.session);
    json_decref(call_json("DELETE", path, NULL, p.token, NULL, 204));
    expect_problem("/api/v1/players/me/balances", p.token, 401, "unauthorized", NULL);
}

static int setup(void **state)
{
    (void)state;
    curl_global_init(CURL_GLOBAL_ALL);
    const char *const env[] = {"PITBOSS_STAFF_TOKEN=" STAFF_TOKEN, NULL};
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
        cmocka_unit_test(test_each_session_sees_only_its_own_balances),
        cmocka_unit_test(test_history_pages_newest_first),
        cmocka_unit_test(test_without_a_live_session_the_answer_is_401),
    };
    return cmocka_run_group_tests_name("integration.player_wallet", tests, setup, teardown);
}
