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
#include "fixtures.h"

#define STAFF_TOKEN "player-wallet-test-token-0123456789"

static struct pb_server srv;

struct player {
    char id[64];
    char token[128];
    char session[64];
};

static void new_player(const char *email, const char *currency, struct player *p)
{
    pb_player_new(&srv, "demo", email, currency, p->id, sizeof(p->id), NULL, 0);
    pb_player_login(&srv, "demo", email, p->token, sizeof(p->token), p->session,
                    sizeof(p->session));
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
    pb_adjust(&srv, STAFF_TOKEN, a.id, "EUR", 1234);
    json_t *doc =
        pb_call_json(&srv, "GET", "/api/v1/players/me/balances", NULL, a.token, NULL, 200);
    assert_int_equal(cash_of(doc, a.id), 1234);
    json_decref(doc);
    doc = pb_call_json(&srv, "GET", "/api/v1/players/me/balances", NULL, b.token, NULL, 200);
    assert_int_equal(cash_of(doc, b.id), 0);
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(doc, "balances"), 0), "currency")),
                        "USD");
    json_decref(doc);
    doc = pb_call_json(&srv, "GET", "/api/v1/players/me/transactions", NULL, b.token, NULL, 200);
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
        pb_adjust(&srv, STAFF_TOKEN, p.id, "EUR", 100 * i);
    json_t *doc = pb_call_json(&srv, "GET", "/api/v1/players/me/transactions?limit=2", NULL,
                               p.token, NULL, 200);
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
        doc = pb_call_json(&srv, "GET", path, NULL, p.token, NULL, 200);
        seen += (int)json_array_size(json_object_get(doc, "transactions"));
        assert_true(seen <= 5);
    }
    assert_int_equal(seen, 5);
    json_decref(doc);
    pb_expect_problem(&srv, "GET", "/api/v1/players/me/transactions?limit=0", NULL, p.token, NULL,
                      400, "validation_failed", "limit");
    pb_expect_problem(&srv, "GET", "/api/v1/players/me/transactions?currency=XXX", NULL, p.token,
                      NULL, 400, "validation_failed", "currency");
}

static void test_without_a_live_session_the_answer_is_401(void **state)
{
    (void)state;
    struct player p;
    new_player("wallet-gone@example.org", "EUR", &p);
    pb_expect_problem(&srv, "GET", "/api/v1/players/me/balances", NULL, NULL, NULL, 401,
                      "unauthorized", NULL);
    pb_expect_problem(&srv, "GET", "/api/v1/players/me/transactions", NULL, "not-a-token", NULL,
                      401, "unauthorized", NULL);
    pb_expect_problem(&srv, "GET", "/api/v1/players/me/balances", NULL, STAFF_TOKEN, NULL, 401,
                      "unauthorized", NULL);
    /* Nor does the player's token open the staff route over its own id. */
    char path[128];
    snprintf(path, sizeof(path), "/api/v1/players/%s/balances", p.id);
    pb_expect_problem(&srv, "GET", path, NULL, p.token, NULL, 401, "unauthorized", NULL);
    snprintf(path, sizeof(path), "/api/v1/sessions/%s", p.session);
    pb_call_status(&srv, "DELETE", path, NULL, p.token, NULL, 204);
    pb_expect_problem(&srv, "GET", "/api/v1/players/me/balances", NULL, p.token, NULL, 401,
                      "unauthorized", NULL);
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
