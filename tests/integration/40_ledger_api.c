/* 40_ledger_api.c: the ledger's staff HTTP API against the real binary (docs/ledger.md,
 * docs/openapi.yaml): the staff token, wallets and balances, transfers (posted, two-phase,
 * linked groups refused as a whole), every problem code, idempotent replay, conflicts naming
 * the field, refusals that stay refused, history pages with cursor and filters, audited
 * adjustments, and the balance push on WebSocket topic player:<id>. */
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
#include "ws_client.h"
#include "base/buf.h"
#include "ledger/ledger.h"
#include "ledger/ledger_http.h"

#define TOKEN "staff-token-for-tests-0123456789"
#define WAIT_MS 5000

static const char *const token_env[] = {"PITBOSS_STAFF_TOKEN=" TOKEN, NULL};

/* Opens player's wallet in currency; ids[0..2]: cash, bonus, locked. */
static void open_wallet(const struct pb_server *srv, const char *player, const char *currency,
                        int64_t ids[3])
{
    char path[128], body[64];
    snprintf(path, sizeof(path), "/api/v1/players/%s/wallets", player);
    snprintf(body, sizeof(body), "{\"currency\":\"%s\"}", currency);
    json_t *doc = pb_call_json(srv, "POST", path, body, TOKEN, NULL, 201);
    json_t *accounts = json_object_get(doc, "accounts");
    assert_int_equal(json_array_size(accounts), 3);
    for (size_t i = 0; i < 3; i++)
        ids[i] = pb_int_at(json_array_get(accounts, i), "account_id");
    json_decref(doc);
}

/* A field of account_id's entry in GET .../balances. */
static int64_t balance(const struct pb_server *srv, const char *player, int64_t account_id,
                       const char *field)
{
    char path[128];
    snprintf(path, sizeof(path), "/api/v1/players/%s/balances", player);
    json_t *doc = pb_call_json(srv, "GET", path, NULL, TOKEN, NULL, 200);
    json_t *list = json_object_get(doc, "balances");
    int64_t v = INT64_MIN;
    for (size_t i = 0; i < json_array_size(list); i++)
        if (pb_int_at(json_array_get(list, i), "account_id") == account_id)
            v = pb_int_at(json_array_get(list, i), field);
    json_decref(doc);
    if (v == INT64_MIN)
        fail_msg("account %lld not in the balances of %s", (long long)account_id, player);
    return v;
}

/* One transfer as a body of POST /api/v1/ledger/transfers. */
static void posted_body(char *out, size_t len, int64_t debit, int64_t credit, int64_t amount,
                        const char *code)
{
    snprintf(out, len, "{\"transfers\":[{\"debit_account\":%lld,\"credit_account\":%lld,"
             "\"amount_minor\":%lld,\"code\":\"%s\",\"reference\":\"round:1\"}]}",
             (long long)debit, (long long)credit, (long long)amount, code);
}

/* Posts transfers body with a new key: expects status; returns the parsed answer. */
static json_t *transfer(const struct pb_server *srv, const char *body, long status)
{
    return pb_call_json(srv, "POST", "/api/v1/ledger/transfers", body, TOKEN,
                        pb_idem(pb_next_key("key")), status);
}

static int64_t history_count(const struct pb_server *srv, const char *player)
{
    char path[160];
    snprintf(path, sizeof(path), "/api/v1/players/%s/transactions?limit=200", player);
    json_t *doc = pb_call_json(srv, "GET", path, NULL, TOKEN, NULL, 200);
    int64_t n = (int64_t)json_array_size(json_object_get(doc, "transactions"));
    json_decref(doc);
    return n;
}

/* ---- the staff token ---- */

static void test_staff_routes_refuse_missing_or_wrong_token(void **state)
{
    struct pb_server *srv = *state;
    static const char *const routes[][2] = {
        {"POST", "/api/v1/players/42/wallets"},     {"GET", "/api/v1/players/42/balances"},
        {"GET", "/api/v1/players/42/transactions"}, {"POST", "/api/v1/ledger/transfers"},
        {"POST", "/api/v1/admin/adjustments"},      {"GET", "/api/v1/admin/audit"},
    };
    const char *const wrong[] = {"Authorization: Bearer staff-token-for-tests-0123456788", NULL};
    const char *const basic[] = {"Authorization: Basic c3RhZmY6cGFzcw==", NULL};
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        const char *const *variants[] = {NULL, wrong, basic};
        for (size_t v = 0; v < 3; v++) {
            struct pb_response r;
            bool post = routes[i][0][0] == 'P';
            pb_request(srv, routes[i][0], routes[i][1], post ? "application/json" : NULL,
                       post ? "{}" : NULL, post ? 2 : 0, variants[v], &r);
            pb_assert_problem(&r, 401, "unauthorized");
            char scheme[32];
            assert_true(pb_response_header(&r, "WWW-Authenticate", scheme, sizeof(scheme)));
            assert_string_equal(scheme, "Bearer");
            pb_response_release(&r);
        }
    }
}

static void test_without_configured_token_staff_routes_answer_401(void **state)
{
    (void)state;
    struct pb_server bare;
    pb_server_start(&bare, NULL);
    pb_expect_problem(&bare, "GET", "/api/v1/admin/audit", NULL, TOKEN, NULL, 401, "unauthorized",
                      NULL);
    pb_expect_problem(&bare, "POST", "/api/v1/players/1/wallets", "{\"currency\":\"EUR\"}", TOKEN,
                      NULL, 401, "unauthorized", NULL);
    pb_server_stop(&bare);
}

/* ---- wallets and balances ---- */

static void test_house_accounts_are_opened_once_and_player_types_refused(void **state)
{
    struct pb_server *srv = *state;
    const char *path = "/api/v1/admin/house-accounts/house_sportsbook/GBP";
    json_t *first = pb_call_json(srv, "PUT", path, NULL, TOKEN, NULL, 200);
    json_t *again = pb_call_json(srv, "PUT", path, NULL, TOKEN, NULL, 200);
    json_int_t id = json_integer_value(json_object_get(first, "account_id"));
    assert_true(id > 0);
    assert_int_equal(json_integer_value(json_object_get(again, "account_id")), id);
    assert_string_equal(json_string_value(json_object_get(first, "owner")), "house");
    assert_string_equal(json_string_value(json_object_get(first, "type")), "house_sportsbook");
    json_decref(first);
    json_decref(again);
    pb_expect_problem(srv, "PUT", "/api/v1/admin/house-accounts/player_cash/GBP", NULL, TOKEN, NULL,
                      400, "validation_failed", "type");
    pb_expect_problem(srv, "PUT", "/api/v1/admin/house-accounts/nonsense/GBP", NULL, TOKEN, NULL,
                      400, "validation_failed", "type");
    pb_expect_problem(srv, "PUT", "/api/v1/admin/house-accounts/house_casino/XXX", NULL, TOKEN,
                      NULL, 400, "validation_failed", "currency");
}

static void test_opening_a_wallet_is_201_then_200_with_the_same_ids(void **state)
{
    struct pb_server *srv = *state;
    int64_t ids[3];
    open_wallet(srv, "w-1", "EUR", ids);
    json_t *again = pb_call_json(srv, "POST", "/api/v1/players/w-1/wallets",
                                 "{\"currency\":\"EUR\"}", TOKEN, NULL, 200);
    json_t *accounts = json_object_get(again, "accounts");
    static const char *const types[] = {"cash", "bonus", "locked"};
    for (size_t i = 0; i < 3; i++) {
        json_t *a = json_array_get(accounts, i);
        assert_int_equal(pb_int_at(a, "account_id"), ids[i]);
        assert_string_equal(json_string_value(json_object_get(a, "type")), types[i]);
    }
    assert_string_equal(json_string_value(json_object_get(again, "player_id")), "w-1");
    json_decref(again);
    int64_t usd[3];
    open_wallet(srv, "w-1", "USD", usd); /* another currency: new accounts */
    assert_true(usd[0] != ids[0]);
    assert_int_equal(balance(srv, "w-1", usd[0], "exponent"), 2);
    assert_int_equal(balance(srv, "w-1", ids[0], "posted_minor"), 0);
}

static void test_wallet_and_balance_input_errors(void **state)
{
    struct pb_server *srv = *state;
    const char *eur = "{\"currency\":\"EUR\"}";
    pb_expect_problem(srv, "POST", "/api/v1/players/bad%20id/wallets", eur, TOKEN, NULL, 400,
                      "validation_failed", "player_id");
    pb_expect_problem(srv, "POST", "/api/v1/players/w-2/wallets", "{\"currency\":\"XXX\"}", TOKEN,
                      NULL, 400, "validation_failed", "currency");
    pb_expect_problem(srv, "POST", "/api/v1/players/w-2/wallets", "{\"currency\":1}", TOKEN, NULL,
                      400, "validation_failed", "currency");
    pb_expect_problem(srv, "POST", "/api/v1/players/w-2/wallets", "{}", TOKEN, NULL, 400,
                      "validation_failed", "currency");
    pb_expect_problem(srv, "POST", "/api/v1/players/w-2/wallets",
                      "{\"currency\":\"EUR\",\"colour\":\"red\"}", TOKEN, NULL, 400,
                      "validation_failed", "colour");
    char long_id[100];
    memset(long_id, 'a', 65);
    long_id[65] = '\0';
    char path[200];
    snprintf(path, sizeof(path), "/api/v1/players/%s/balances", long_id);
    pb_expect_problem(srv, "GET", path, NULL, TOKEN, NULL, 400, "validation_failed", "player_id");
    pb_expect_problem(srv, "GET", "/api/v1/players/nobody/balances", NULL, TOKEN, NULL, 404,
                      "not_found", NULL);
    pb_expect_problem(srv, "GET", "/api/v1/players/nobody/transactions", NULL, TOKEN, NULL, 404,
                      "not_found", NULL);
    pb_expect_problem(srv, "GET", "/api/v1/players/w-2/balances", NULL, TOKEN, NULL, 404,
                      "not_found", NULL); /* nothing above opened it */
    struct pb_response r;
    const char *const auth[] = {"Authorization: Bearer " TOKEN, NULL};
    pb_request(srv, "POST", "/api/v1/players/w-2/wallets", "text/plain", eur, strlen(eur), auth,
               &r);
    pb_assert_problem(&r, 415, "unsupported_media_type");
    pb_response_release(&r);
}

/* ---- transfers ---- */

static void test_posted_transfer_moves_money_and_answers_new_balances(void **state)
{
    struct pb_server *srv = *state;
    int64_t a[3], b[3];
    open_wallet(srv, "t-a", "EUR", a);
    open_wallet(srv, "t-b", "EUR", b);
    pb_adjust(srv, TOKEN, "t-a", "EUR", 1000);
    char body[512];
    posted_body(body, sizeof(body), a[0], b[0], 250, "transfer");
    json_t *doc = transfer(srv, body, 201);
    json_t *t = json_array_get(json_object_get(doc, "transfers"), 0);
    assert_true(pb_int_at(t, "id") > 0);
    assert_int_equal(pb_int_at(t, "amount_minor"), 250);
    assert_int_equal(strlen(json_string_value(json_object_get(t, "hash"))), 64);
    assert_int_equal(strlen(json_string_value(json_object_get(t, "time"))), 30);
    json_t *balances = json_object_get(doc, "balances");
    assert_int_equal(json_array_size(balances), 2);
    assert_int_equal(pb_int_at(json_array_get(balances, 0), "account_id"), a[0]);
    assert_int_equal(pb_int_at(json_array_get(balances, 0), "posted_minor"), 750);
    assert_int_equal(pb_int_at(json_array_get(balances, 1), "posted_minor"), 250);
    json_decref(doc);
    assert_int_equal(balance(srv, "t-a", a[0], "available_minor"), 750);
    assert_int_equal(balance(srv, "t-b", b[0], "posted_minor"), 250);
}

/* The house adjustments account of currency: the counterparty of player's last adjustment. */
static int64_t house_account(const struct pb_server *srv, const char *player)
{
    char path[160];
    snprintf(path, sizeof(path), "/api/v1/players/%s/transactions?code=adjustment&limit=1",
             player);
    json_t *doc = pb_call_json(srv, "GET", path, NULL, TOKEN, NULL, 200);
    json_t *row = json_array_get(json_object_get(doc, "transactions"), 0);
    assert_non_null(row);
    int64_t id = pb_int_at(row, "counterparty_account_id");
    json_decref(doc);
    return id;
}

static void test_transfer_to_a_house_account_answers_only_player_balances(void **state)
{
    struct pb_server *srv = *state;
    int64_t a[3];
    open_wallet(srv, "h-a", "EUR", a);
    pb_adjust(srv, TOKEN, "h-a", "EUR", 500);
    int64_t house = house_account(srv, "h-a");
    char body[512];
    posted_body(body, sizeof(body), a[0], house, 200, "bet");
    json_t *doc = transfer(srv, body, 201);
    json_t *balances = json_object_get(doc, "balances");
    assert_int_equal(json_array_size(balances), 1);
    assert_int_equal(pb_int_at(json_array_get(balances, 0), "account_id"), a[0]);
    assert_int_equal(pb_int_at(json_array_get(balances, 0), "posted_minor"), 300);
    json_decref(doc);
}

static void test_transfer_requires_a_valid_idempotency_key(void **state)
{
    struct pb_server *srv = *state;
    char body[512];
    posted_body(body, sizeof(body), 1, 2, 1, "bet");
    pb_expect_problem(srv, "POST", "/api/v1/ledger/transfers", body, TOKEN, NULL, 400,
                      "validation_failed", "Idempotency-Key");
    pb_expect_problem(srv, "POST", "/api/v1/ledger/transfers", body, TOKEN, pb_idem("has space"),
                      400, "validation_failed", "Idempotency-Key");
    char long_key[200];
    memset(long_key, 'k', 129);
    long_key[129] = '\0';
    pb_expect_problem(srv, "POST", "/api/v1/ledger/transfers", body, TOKEN, pb_idem(long_key), 400,
                      "validation_failed", "Idempotency-Key");
    pb_expect_problem(srv, "POST", "/api/v1/admin/adjustments", "{}", TOKEN, NULL, 400,
                      "validation_failed", "Idempotency-Key");
}

static void expect_transfer_400(const struct pb_server *srv, const char *items,
                                const char *field)
{
    char body[4096];
    snprintf(body, sizeof(body), "{\"transfers\":[%s]}", items);
    pb_expect_problem(srv, "POST", "/api/v1/ledger/transfers", body, TOKEN,
                      pb_idem(pb_next_key("key")), 400, "validation_failed", field);
}

static void test_transfer_validation_names_the_field_and_changes_nothing(void **state)
{
    struct pb_server *srv = *state;
    int64_t a[3], b[3];
    open_wallet(srv, "v-a", "EUR", a);
    open_wallet(srv, "v-b", "EUR", b);
    pb_adjust(srv, TOKEN, "v-a", "EUR", 100);
    char ok[256], item[512];
    snprintf(ok, sizeof(ok), "\"debit_account\":%lld,\"credit_account\":%lld,"
             "\"reference\":\"r\"", (long long)a[0], (long long)b[0]);
#define ITEM(...) (snprintf(item, sizeof(item), __VA_ARGS__), item)
    expect_transfer_400(srv, ITEM("{%s,\"amount_minor\":5,\"code\":\"bet\",\"colour\":1}", ok),
                        "transfers[0].colour");
    expect_transfer_400(srv, ITEM("{%s,\"amount_minor\":\"5\",\"code\":\"bet\"}", ok),
                        "transfers[0].amount_minor");
    expect_transfer_400(srv, ITEM("{%s,\"amount_minor\":0,\"code\":\"bet\"}", ok),
                        "transfers[0].amount_minor");
    expect_transfer_400(srv, ITEM("{%s,\"amount_minor\":5}", ok), "transfers[0].code");
    expect_transfer_400(srv, ITEM("{%s,\"amount_minor\":5,\"code\":\"jackpot\"}", ok),
                        "transfers[0].code");
    expect_transfer_400(srv, ITEM("{%s,\"amount_minor\":5,\"code\":\"bet\",\"kind\":\"x\"}", ok),
                        "transfers[0].kind");
    expect_transfer_400(srv, ITEM("{%s,\"amount_minor\":5,\"code\":\"bet\",\"pending_id\":1}",
                                  ok), "transfers[0].pending_id");
    expect_transfer_400(srv, ITEM("{%s,\"amount_minor\":5,\"code\":\"bet\","
                                  "\"kind\":\"pending\"}", ok), "transfers[0].timeout_ms");
    expect_transfer_400(srv, "{\"kind\":\"void\",\"pending_id\":1,\"amount_minor\":5,"
                             "\"reference\":\"r\"}", "transfers[0].amount_minor");
    expect_transfer_400(srv, "{\"kind\":\"post\",\"reference\":\"r\"}", "transfers[0].pending_id");
    expect_transfer_400(srv, "{\"kind\":\"post\",\"pending_id\":1,\"debit_account\":1,"
                             "\"reference\":\"r\"}", "transfers[0].debit_account");
    expect_transfer_400(srv, ITEM("{%s,\"amount_minor\":5,\"code\":\"bet\"},7", ok),
                        "transfers[1]");
    expect_transfer_400(srv, "", "transfers");
#undef ITEM
    char big[3000] = "{\"transfers\":[{\"debit_account\":1,\"credit_account\":2,"
                     "\"amount_minor\":1,\"code\":\"bet\",\"reference\":\"r\","
                     "\"metadata\":{\"x\":\"";
    size_t n = strlen(big);
    memset(big + n, 'y', 2100);
    strcpy(big + n + 2100, "\"}}]}");
    pb_expect_problem(srv, "POST", "/api/v1/ledger/transfers", big, TOKEN,
                      pb_idem(pb_next_key("key")), 400, "validation_failed",
                      "transfers[0].metadata");
    pb_expect_problem(srv, "POST", "/api/v1/ledger/transfers", "{\"transfers\":", TOKEN,
                      pb_idem(pb_next_key("key")), 400, "validation_failed", NULL);
    assert_int_equal(balance(srv, "v-a", a[0], "posted_minor"), 100);
    assert_int_equal(history_count(srv, "v-b"), 0);
}

static void test_seventeen_linked_transfers_are_refused(void **state)
{
    struct pb_server *srv = *state;
    char body[4096] = "{\"transfers\":[";
    for (int i = 0; i < 17; i++)
        strcat(body, i ? ",{\"debit_account\":1,\"credit_account\":2,\"amount_minor\":1,"
                         "\"code\":\"bet\",\"reference\":\"r\"}"
                       : "{\"debit_account\":1,\"credit_account\":2,\"amount_minor\":1,"
                         "\"code\":\"bet\",\"reference\":\"r\"}");
    strcat(body, "]}");
    pb_expect_problem(srv, "POST", "/api/v1/ledger/transfers", body, TOKEN,
                      pb_idem(pb_next_key("key")), 400, "validation_failed", "transfers");
}

static void test_replay_returns_the_same_status_and_body_with_header(void **state)
{
    struct pb_server *srv = *state;
    int64_t a[3], b[3];
    open_wallet(srv, "r-a", "EUR", a);
    open_wallet(srv, "r-b", "EUR", b);
    pb_adjust(srv, TOKEN, "r-a", "EUR", 1000);
    char body[512], flag[16];
    posted_body(body, sizeof(body), a[0], b[0], 100, "bet");
    struct pb_response first, second;
    pb_call(srv, "POST", "/api/v1/ledger/transfers", body, TOKEN, pb_idem("replay-1"), &first);
    pb_call(srv, "POST", "/api/v1/ledger/transfers", body, TOKEN, pb_idem("replay-1"), &second);
    assert_int_equal(first.status, 201);
    assert_int_equal(second.status, 201);
    assert_string_equal(first.body, second.body);
    assert_false(pb_response_header(&first, "Idempotent-Replayed", flag, sizeof(flag)));
    assert_true(pb_response_header(&second, "Idempotent-Replayed", flag, sizeof(flag)));
    assert_string_equal(flag, "true");
    pb_response_release(&first);
    pb_response_release(&second);
    assert_int_equal(balance(srv, "r-a", a[0], "posted_minor"), 900); /* applied once */
    /* The same key in another scope is another request. */
    char adj[256];
    snprintf(adj, sizeof(adj), "{\"player_id\":\"r-b\",\"currency\":\"EUR\",\"account\":\"cash\","
             "\"amount_minor\":5,\"reason\":\"scope test\"}");
    json_decref(pb_call_json(srv, "POST", "/api/v1/admin/adjustments", adj, TOKEN,
                             pb_idem("replay-1"), 201));
    assert_int_equal(balance(srv, "r-b", b[0], "posted_minor"), 105);
}

/* Sixteen linked transfers between sixteen players: a 201 answer longer than any command's
 * room for it, sent and replayed whole. */
static void test_sixteen_transfers_answer_and_replay_in_full(void **state)
{
    struct pb_server *srv = *state;
    int64_t acc[LEDGER_LINKED_MAX + 1][3];
    char player[32];
    for (int i = 0; i <= LEDGER_LINKED_MAX; i++) {
        snprintf(player, sizeof(player), "sixteen-%d", i);
        open_wallet(srv, player, "EUR", acc[i]);
    }
    pb_adjust(srv, TOKEN, "sixteen-0", "EUR", 1000);
    struct pb_buf body = PB_BUF_INIT;
    pb_buf_puts(&body, "{\"transfers\":[");
    for (int i = 0; i < LEDGER_LINKED_MAX; i++)
        pb_buf_printf(&body, "%s{\"debit_account\":%lld,\"credit_account\":%lld,"
                             "\"amount_minor\":%d,\"code\":\"bet\",\"reference\":\"chain:%d\"}",
                      i ? "," : "", (long long)acc[i][0], (long long)acc[i + 1][0],
                      1000 - i, i);
    pb_buf_puts(&body, "]}");
    struct pb_response first, second;
    char flag[16];
    pb_call(srv, "POST", "/api/v1/ledger/transfers", body.data, TOKEN, pb_idem("sixteen-1"),
            &first);
    pb_call(srv, "POST", "/api/v1/ledger/transfers", body.data, TOKEN, pb_idem("sixteen-1"),
            &second);
    assert_int_equal(first.status, 201);
    assert_int_equal(second.status, 201);
    assert_true(strlen(first.body) > LEDGER_HTTP_ANSWER_ROOM_MIN);
    assert_string_equal(first.body, second.body);
    assert_true(pb_response_header(&second, "Idempotent-Replayed", flag, sizeof(flag)));
    json_t *doc = json_loads(first.body, 0, NULL);
    assert_int_equal(json_array_size(json_object_get(doc, "transfers")), LEDGER_LINKED_MAX);
    assert_int_equal(json_array_size(json_object_get(doc, "balances")), LEDGER_LINKED_MAX + 1);
    json_decref(doc);
    pb_response_release(&first);
    pb_response_release(&second);
    pb_buf_release(&body);
    assert_int_equal(balance(srv, "sixteen-16", acc[LEDGER_LINKED_MAX][0], "posted_minor"), 985);
}

static void test_same_key_with_different_content_is_409_naming_the_field(void **state)
{
    struct pb_server *srv = *state;
    int64_t a[3], b[3];
    open_wallet(srv, "c-a", "EUR", a);
    open_wallet(srv, "c-b", "EUR", b);
    pb_adjust(srv, TOKEN, "c-a", "EUR", 1000);
    char body[512];
    posted_body(body, sizeof(body), a[0], b[0], 100, "bet");
    json_decref(pb_call_json(srv, "POST", "/api/v1/ledger/transfers", body, TOKEN,
                             pb_idem("conflict-1"), 201));
    posted_body(body, sizeof(body), a[0], b[0], 101, "bet");
    pb_expect_problem(srv, "POST", "/api/v1/ledger/transfers", body, TOKEN, pb_idem("conflict-1"),
                      409, "idempotency_conflict", "transfers[0].amount_minor");
    posted_body(body, sizeof(body), a[0], b[0], 100, "win");
    pb_expect_problem(srv, "POST", "/api/v1/ledger/transfers", body, TOKEN, pb_idem("conflict-1"),
                      409, "idempotency_conflict", "transfers[0].code");
    const char *adj = "{\"player_id\":\"c-a\",\"currency\":\"EUR\",\"account\":\"cash\","
                      "\"amount_minor\":7,\"reason\":\"first\"}";
    json_decref(pb_call_json(srv, "POST", "/api/v1/admin/adjustments", adj, TOKEN,
                             pb_idem("conflict-2"), 201));
    const char *adj2 = "{\"player_id\":\"c-a\",\"currency\":\"EUR\",\"account\":\"cash\","
                       "\"amount_minor\":7,\"reason\":\"second\"}";
    pb_expect_problem(srv, "POST", "/api/v1/admin/adjustments", adj2, TOKEN, pb_idem("conflict-2"),
                      409, "idempotency_conflict", "reason");
    assert_int_equal(balance(srv, "c-a", a[0], "posted_minor"), 907);
}

static void test_refusal_stays_refused_for_its_key(void **state)
{
    struct pb_server *srv = *state;
    int64_t a[3], b[3];
    open_wallet(srv, "s-a", "EUR", a);
    open_wallet(srv, "s-b", "EUR", b);
    char body[512], flag[16];
    posted_body(body, sizeof(body), a[0], b[0], 500, "bet");
    pb_expect_problem(srv, "POST", "/api/v1/ledger/transfers", body, TOKEN, pb_idem("refused-1"),
                      422, "insufficient_funds", "transfers[0]");
    pb_adjust(srv, TOKEN, "s-a", "EUR", 1000); /* now it would succeed, but not with this key */
    struct pb_response r;
    pb_call(srv, "POST", "/api/v1/ledger/transfers", body, TOKEN, pb_idem("refused-1"), &r);
    pb_assert_problem(&r, 422, "insufficient_funds");
    assert_true(pb_response_header(&r, "Idempotent-Replayed", flag, sizeof(flag)));
    pb_response_release(&r);
    assert_int_equal(balance(srv, "s-a", a[0], "posted_minor"), 1000);
    json_decref(pb_call_json(srv, "POST", "/api/v1/ledger/transfers", body, TOKEN,
                             pb_idem("refused-2"), 201));
    assert_int_equal(balance(srv, "s-a", a[0], "posted_minor"), 500);
}

static void test_linked_group_is_refused_as_a_whole(void **state)
{
    struct pb_server *srv = *state;
    int64_t a[3], b[3];
    open_wallet(srv, "l-a", "EUR", a);
    open_wallet(srv, "l-b", "EUR", b);
    pb_adjust(srv, TOKEN, "l-a", "EUR", 300);
    char body[1024];
    snprintf(body, sizeof(body), "{\"transfers\":["
             "{\"debit_account\":%lld,\"credit_account\":%lld,\"amount_minor\":200,"
             "\"code\":\"bet\",\"reference\":\"slip:1\"},"
             "{\"debit_account\":%lld,\"credit_account\":%lld,\"amount_minor\":200,"
             "\"code\":\"bet\",\"reference\":\"slip:1\"}]}",
             (long long)a[0], (long long)b[0], (long long)a[0], (long long)b[0]);
    pb_expect_problem(srv, "POST", "/api/v1/ledger/transfers", body, TOKEN,
                      pb_idem(pb_next_key("key")), 422, "insufficient_funds", "transfers[1]");
    assert_int_equal(balance(srv, "l-a", a[0], "posted_minor"), 300);
    assert_int_equal(balance(srv, "l-b", b[0], "posted_minor"), 0);
    assert_int_equal(history_count(srv, "l-b"), 0);
    /* The same group within the funds: both applied. */
    snprintf(body, sizeof(body), "{\"transfers\":["
             "{\"debit_account\":%lld,\"credit_account\":%lld,\"amount_minor\":100,"
             "\"code\":\"bet\",\"reference\":\"slip:2\"},"
             "{\"debit_account\":%lld,\"credit_account\":%lld,\"amount_minor\":200,"
             "\"code\":\"bet\",\"reference\":\"slip:2\"}]}",
             (long long)a[0], (long long)b[0], (long long)a[0], (long long)b[0]);
    json_t *doc = transfer(srv, body, 201);
    assert_int_equal(json_array_size(json_object_get(doc, "transfers")), 2);
    json_decref(doc);
    assert_int_equal(balance(srv, "l-b", b[0], "posted_minor"), 300);
    assert_int_equal(history_count(srv, "l-b"), 2);
}

/* Creates a pending transfer debit -> credit; returns its id. */
static int64_t pending(const struct pb_server *srv, int64_t debit, int64_t credit, int64_t amount,
                       int64_t timeout_ms)
{
    char body[512];
    snprintf(body, sizeof(body), "{\"transfers\":[{\"kind\":\"pending\",\"debit_account\":%lld,"
             "\"credit_account\":%lld,\"amount_minor\":%lld,\"code\":\"withdrawal\","
             "\"timeout_ms\":%lld,\"reference\":\"payment:1\"}]}", (long long)debit,
             (long long)credit, (long long)amount, (long long)timeout_ms);
    json_t *doc = transfer(srv, body, 201);
    int64_t id = pb_int_at(json_array_get(json_object_get(doc, "transfers"), 0), "id");
    json_decref(doc);
    return id;
}

static void resolve_body(char *out, size_t len, const char *kind, int64_t pending_id,
                         int64_t amount)
{
    char amount_field[48] = "";
    if (amount > 0)
        snprintf(amount_field, sizeof(amount_field), ",\"amount_minor\":%lld", (long long)amount);
    snprintf(out, len, "{\"transfers\":[{\"kind\":\"%s\",\"pending_id\":%lld%s,"
             "\"reference\":\"payment:1\"}]}", kind, (long long)pending_id, amount_field);
}

static void test_two_phase_pending_post_and_void(void **state)
{
    struct pb_server *srv = *state;
    int64_t a[3], b[3];
    open_wallet(srv, "p-a", "EUR", a);
    open_wallet(srv, "p-b", "EUR", b);
    pb_adjust(srv, TOKEN, "p-a", "EUR", 1000);
    int64_t p1 = pending(srv, a[0], b[0], 300, 60000);
    assert_int_equal(balance(srv, "p-a", a[0], "pending_debits_minor"), 300);
    assert_int_equal(balance(srv, "p-a", a[0], "available_minor"), 700);
    assert_int_equal(balance(srv, "p-a", a[0], "posted_minor"), 1000);
    assert_int_equal(balance(srv, "p-b", b[0], "pending_credits_minor"), 300);
    char body[512];
    resolve_body(body, sizeof(body), "post", p1, 120); /* partial: the rest is released */
    json_t *doc = transfer(srv, body, 201);
    assert_int_equal(
        pb_int_at(json_array_get(json_object_get(doc, "transfers"), 0), "amount_minor"), 120);
    json_decref(doc);
    assert_int_equal(balance(srv, "p-a", a[0], "posted_minor"), 880);
    assert_int_equal(balance(srv, "p-a", a[0], "pending_debits_minor"), 0);
    assert_int_equal(balance(srv, "p-b", b[0], "posted_minor"), 120);
    pb_expect_problem(srv, "POST", "/api/v1/ledger/transfers", body, TOKEN,
                      pb_idem(pb_next_key("key")), 422, "pending_resolved", "transfers[0]");
    int64_t p2 = pending(srv, a[0], b[0], 400, 60000);
    assert_int_equal(balance(srv, "p-a", a[0], "available_minor"), 480);
    resolve_body(body, sizeof(body), "void", p2, 0);
    json_decref(transfer(srv, body, 201));
    assert_int_equal(balance(srv, "p-a", a[0], "available_minor"), 880);
    assert_int_equal(balance(srv, "p-b", b[0], "pending_credits_minor"), 0);
    char path[160];
    snprintf(path, sizeof(path), "/api/v1/players/p-a/transactions?limit=1");
    doc = pb_call_json(srv, "GET", path, NULL, TOKEN, NULL, 200);
    json_t *row = json_array_get(json_object_get(doc, "transactions"), 0);
    assert_string_equal(json_string_value(json_object_get(row, "kind")), "void");
    assert_int_equal(pb_int_at(row, "pending_id"), p2);
    assert_string_equal(json_string_value(json_object_get(row, "code")), "withdrawal");
    json_decref(doc);
}

static void test_ledger_rules_map_to_422_codes(void **state)
{
    struct pb_server *srv = *state;
    int64_t a[3], b[3], u[3];
    open_wallet(srv, "e-a", "EUR", a);
    open_wallet(srv, "e-b", "EUR", b);
    open_wallet(srv, "e-u", "USD", u);
    pb_adjust(srv, TOKEN, "e-a", "EUR", 1000);
    char body[512];
    const char *path = "/api/v1/ledger/transfers";
    posted_body(body, sizeof(body), a[0], 999999, 1, "bet");
    pb_expect_problem(srv, "POST", path, body, TOKEN, pb_idem(pb_next_key("key")), 422,
                      "account_not_found", "transfers[0]");
    posted_body(body, sizeof(body), a[0], u[0], 1, "bet");
    pb_expect_problem(srv, "POST", path, body, TOKEN, pb_idem(pb_next_key("key")), 422,
                      "currency_mismatch", NULL);
    posted_body(body, sizeof(body), a[0], a[0], 1, "bet");
    pb_expect_problem(srv, "POST", path, body, TOKEN, pb_idem(pb_next_key("key")), 422, "invalid",
                      "transfers[0]");
    resolve_body(body, sizeof(body), "post", 999999, 0);
    pb_expect_problem(srv, "POST", path, body, TOKEN, pb_idem(pb_next_key("key")), 422,
                      "pending_not_found", NULL);
    int64_t p = pending(srv, a[0], b[0], 100, 60000);
    resolve_body(body, sizeof(body), "post", p, 101);
    pb_expect_problem(srv, "POST", path, body, TOKEN, pb_idem(pb_next_key("key")), 422,
                      "post_exceeds_pending", NULL);
    resolve_body(body, sizeof(body), "void", p, 0);
    json_decref(transfer(srv, body, 201));
    pb_expect_problem(srv, "POST", path, body, TOKEN, pb_idem(pb_next_key("key")), 422,
                      "pending_resolved", NULL);
    assert_int_equal(balance(srv, "e-a", a[0], "available_minor"), 1000);
}

static void test_posting_an_expired_pending_transfer_is_refused(void **state)
{
    struct pb_server *srv = *state;
    int64_t a[3], b[3];
    open_wallet(srv, "x-a", "EUR", a);
    open_wallet(srv, "x-b", "EUR", b);
    pb_adjust(srv, TOKEN, "x-a", "EUR", 1000);
    /* The expiry task may void it first (then: pending_resolved); a few tries see expiry. */
    int expired = 0;
    for (int i = 0; i < 5 && !expired; i++) {
        int64_t p = pending(srv, a[0], b[0], 10, 1);
        pb_sleep_ms(5);
        char body[512];
        resolve_body(body, sizeof(body), "post", p, 0);
        struct pb_response r;
        pb_call(srv, "POST", "/api/v1/ledger/transfers", body, TOKEN, pb_idem(pb_next_key("key")),
                &r);
        assert_int_equal(r.status, 422);
        expired = strstr(r.body, "\"code\":\"pending_expired\"") != NULL;
        if (!expired)
            pb_assert_problem(&r, 422, "pending_resolved");
        pb_response_release(&r);
    }
    assert_true(expired);
    assert_int_equal(balance(srv, "x-b", b[0], "posted_minor"), 0);
}

static void test_credit_past_int64_is_refused_as_overflow(void **state)
{
    (void)state;
    /* Its own server: totals near INT64_MAX make the currency's sums unverifiable, and the
     * last test verifies the shared server's ledger. */
    struct pb_server own;
    pb_server_start(&own, token_env);
    int64_t a[3], b[3];
    open_wallet(&own, "o-a", "JPY", a);
    open_wallet(&own, "o-b", "JPY", b);
    pb_adjust(&own, TOKEN, "o-a", "JPY", INT64_MAX);
    char body[512];
    posted_body(body, sizeof(body), a[0], b[0], 1, "transfer");
    json_decref(transfer(&own, body, 201));
    posted_body(body, sizeof(body), b[0], a[0], 1, "transfer");
    pb_expect_problem(&own, "POST", "/api/v1/ledger/transfers", body, TOKEN,
                      pb_idem(pb_next_key("key")), 422, "overflow", "transfers[0]");
    assert_int_equal(balance(&own, "o-b", b[0], "posted_minor"), 1);
    pb_server_stop(&own);
}

/* ---- history ---- */

static json_t *history_page(const struct pb_server *srv, const char *query)
{
    char path[600];
    snprintf(path, sizeof(path), "/api/v1/players/hist/transactions?%s", query);
    return pb_call_json(srv, "GET", path, NULL, TOKEN, NULL, 200);
}

/* Walks every page of query (limit 3): asserts newest first, returns how many rows. */
static int walk_pages(const struct pb_server *srv, const char *query, const char *code)
{
    char q[512], cursor[64] = "";
    int rows = 0, pages = 0;
    int64_t last = INT64_MAX;
    do {
        snprintf(q, sizeof(q), "%s&limit=3%s%s", query, cursor[0] ? "&cursor=" : "", cursor);
        json_t *doc = history_page(srv, q);
        json_t *list = json_object_get(doc, "transactions");
        assert_true(json_array_size(list) <= 3);
        for (size_t i = 0; i < json_array_size(list); i++, rows++) {
            json_t *row = json_array_get(list, i);
            assert_true(pb_int_at(row, "id") < last);
            last = pb_int_at(row, "id");
            if (code)
                assert_string_equal(json_string_value(json_object_get(row, "code")), code);
        }
        json_t *next = json_object_get(doc, "next_cursor");
        cursor[0] = '\0';
        if (json_is_string(next))
            snprintf(cursor, sizeof(cursor), "%s", json_string_value(next));
        else
            assert_true(json_is_null(next));
        json_decref(doc);
        pages++;
    } while (cursor[0] && pages < 20);
    return rows;
}

static void test_history_pages_with_cursor_and_filters(void **state)
{
    struct pb_server *srv = *state;
    int64_t h[3], o[3];
    open_wallet(srv, "hist", "EUR", h);
    open_wallet(srv, "hist-other", "EUR", o);
    pb_adjust(srv, TOKEN, "hist", "EUR", 10000);
    char body[512];
    for (int i = 0; i < 7; i++) {
        posted_body(body, sizeof(body), h[0], o[0], 10 + i, "bet");
        json_decref(transfer(srv, body, 201));
    }
    for (int i = 0; i < 3; i++) {
        posted_body(body, sizeof(body), o[0], h[0], 5, "win");
        json_decref(transfer(srv, body, 201));
    }
    assert_int_equal(walk_pages(srv, "code=bet", "bet"), 7);
    assert_int_equal(walk_pages(srv, "code=win", "win"), 3);
    assert_int_equal(walk_pages(srv, "currency=EUR", NULL), 11); /* with the funding */
    assert_int_equal(walk_pages(srv, "currency=USD", NULL), 0);
    json_t *doc = history_page(srv, "code=win&limit=1");
    json_t *row = json_array_get(json_object_get(doc, "transactions"), 0);
    assert_string_equal(json_string_value(json_object_get(row, "direction")), "credit");
    assert_int_equal(pb_int_at(row, "account_id"), h[0]);
    assert_int_equal(pb_int_at(row, "counterparty_account_id"), o[0]);
    assert_true(json_is_null(json_object_get(row, "pending_id")));
    assert_true(json_is_object(json_object_get(row, "metadata")));
    json_decref(doc);
    /* from (inclusive) .. to (exclusive): the bets from the 3rd newest on. */
    doc = history_page(srv, "code=bet&limit=3");
    char from[64], q[256];
    json_t *third = json_array_get(json_object_get(doc, "transactions"), 2);
    snprintf(from, sizeof(from), "%s", json_string_value(json_object_get(third, "time")));
    json_decref(doc);
    snprintf(q, sizeof(q), "code=bet&from=%s", from);
    assert_int_equal(walk_pages(srv, q, "bet"), 3);
    snprintf(q, sizeof(q), "code=bet&to=%s", from);
    assert_int_equal(walk_pages(srv, q, "bet"), 4);
}

static void test_history_query_errors_name_the_parameter(void **state)
{
    struct pb_server *srv = *state;
    int64_t q[3];
    open_wallet(srv, "hq", "EUR", q);
    static const char *const bad[][2] = {
        {"limit=0", "limit"},       {"limit=201", "limit"},     {"limit=x", "limit"},
        {"cursor=abc", "cursor"},   {"cursor=-5", "cursor"},    {"code=jackpot", "code"},
        {"currency=EURO", "currency"}, {"from=yesterday", "from"},
        {"from=2026-02-30T00:00:00Z", "from"},
        {"from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z", "to"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char path[256];
        snprintf(path, sizeof(path), "/api/v1/players/hq/transactions?%s", bad[i][0]);
        pb_expect_problem(srv, "GET", path, NULL, TOKEN, NULL, 400, "validation_failed", bad[i][1]);
    }
    json_t *doc = pb_call_json(srv, "GET",
                               "/api/v1/players/hq/transactions?"
                               "from=2026-01-01T00:00:00.5%2B01:00&limit=200",
                               NULL, TOKEN, NULL, 200);
    assert_true(json_is_null(json_object_get(doc, "next_cursor")));
    json_decref(doc);
}

/* ---- adjustments and audit ---- */

static json_t *audit_newest(const struct pb_server *srv)
{
    json_t *doc = pb_call_json(srv, "GET", "/api/v1/admin/audit?limit=1", NULL, TOKEN, NULL, 200);
    json_t *entry = json_incref(json_array_get(json_object_get(doc, "entries"), 0));
    json_decref(doc);
    return entry;
}

static void test_adjustment_is_applied_and_audited(void **state)
{
    struct pb_server *srv = *state;
    int64_t a[3];
    open_wallet(srv, "adj", "EUR", a);
    pb_adjust(srv, TOKEN, "adj", "EUR", 400);
    const char *body = "{\"player_id\":\"adj\",\"currency\":\"EUR\",\"account\":\"cash\","
                       "\"amount_minor\":-150,\"reason\":\"duplicate deposit reversed\"}";
    json_t *doc = pb_call_json(srv, "POST", "/api/v1/admin/adjustments", body, TOKEN,
                               pb_idem(pb_next_key("key")), 201);
    int64_t transfer_id = pb_int_at(doc, "transfer_id"), audit_id = pb_int_at(doc, "audit_id");
    json_t *bal = json_object_get(doc, "balance");
    assert_int_equal(pb_int_at(bal, "account_id"), a[0]);
    assert_int_equal(pb_int_at(bal, "posted_minor"), 250);
    json_decref(doc);
    json_t *entry = audit_newest(srv);
    assert_int_equal(pb_int_at(entry, "id"), audit_id);
    assert_string_equal(json_string_value(json_object_get(entry, "actor")), "staff");
    assert_string_equal(json_string_value(json_object_get(entry, "action")), "ledger.adjustment");
    assert_string_equal(json_string_value(json_object_get(entry, "subject")), "player:adj");
    assert_string_equal(json_string_value(json_object_get(entry, "reason")),
                        "duplicate deposit reversed");
    assert_int_equal(pb_int_at(json_object_get(entry, "before"), "posted_minor"), 400);
    assert_int_equal(pb_int_at(json_object_get(entry, "after"), "posted_minor"), 250);
    char ref[64];
    snprintf(ref, sizeof(ref), "transfer:%lld", (long long)transfer_id);
    assert_string_equal(json_string_value(json_object_get(entry, "ref")), ref);
    json_decref(entry);
    doc = pb_call_json(srv, "GET", "/api/v1/players/adj/transactions?limit=1", NULL, TOKEN, NULL,
                       200);
    json_t *row = json_array_get(json_object_get(doc, "transactions"), 0);
    assert_int_equal(pb_int_at(row, "id"), transfer_id);
    assert_string_equal(json_string_value(json_object_get(row, "code")), "adjustment");
    assert_string_equal(json_string_value(json_object_get(row, "direction")), "debit");
    json_decref(doc);
}

static void test_refused_or_invalid_adjustment_writes_no_audit_row(void **state)
{
    struct pb_server *srv = *state;
    int64_t a[3];
    open_wallet(srv, "adj-r", "EUR", a);
    pb_adjust(srv, TOKEN, "adj-r", "EUR", 100);
    json_t *before = audit_newest(srv);
    const char *path = "/api/v1/admin/adjustments";
    pb_expect_problem(srv, "POST", path,
                      "{\"player_id\":\"adj-r\",\"currency\":\"EUR\","
                      "\"account\":\"bonus\",\"amount_minor\":-1,\"reason\":\"too much\"}",
                      TOKEN, pb_idem(pb_next_key("key")), 422, "insufficient_funds",
                      "amount_minor");
    pb_expect_problem(srv, "POST", path,
                      "{\"player_id\":\"adj-r\",\"currency\":\"EUR\","
                      "\"account\":\"cash\",\"amount_minor\":0,\"reason\":\"zero\"}",
                      TOKEN, pb_idem(pb_next_key("key")), 400, "validation_failed", "amount_minor");
    pb_expect_problem(srv, "POST", path,
                      "{\"player_id\":\"adj-r\",\"currency\":\"EUR\","
                      "\"account\":\"locked\",\"amount_minor\":1,\"reason\":\"locked\"}",
                      TOKEN, pb_idem(pb_next_key("key")), 400, "validation_failed", "account");
    pb_expect_problem(srv, "POST", path,
                      "{\"player_id\":\"adj-r\",\"currency\":\"EUR\","
                      "\"account\":\"cash\",\"amount_minor\":1,\"reason\":\"no\"}",
                      TOKEN, pb_idem(pb_next_key("key")), 400, "validation_failed", "reason");
    pb_expect_problem(srv, "POST", path,
                      "{\"player_id\":\"adj-r\",\"currency\":\"EUR\","
                      "\"account\":\"cash\",\"amount_minor\":1}",
                      TOKEN, pb_idem(pb_next_key("key")), 400, "validation_failed", "reason");
    pb_expect_problem(srv, "POST", path,
                      "{\"player_id\":\"a b\",\"currency\":\"EUR\","
                      "\"account\":\"cash\",\"amount_minor\":1,\"reason\":\"bad id\"}",
                      TOKEN, pb_idem(pb_next_key("key")), 400, "validation_failed", "player_id");
    pb_expect_problem(srv, "POST", path,
                      "{\"player_id\":\"adj-r\",\"currency\":\"GBP\","
                      "\"account\":\"cash\",\"amount_minor\":1,\"reason\":\"no wallet\"}",
                      TOKEN, pb_idem(pb_next_key("key")), 404, "not_found", "player_id");
    json_t *after = audit_newest(srv);
    assert_int_equal(pb_int_at(after, "id"), pb_int_at(before, "id"));
    json_decref(before);
    json_decref(after);
    assert_int_equal(balance(srv, "adj-r", a[0], "posted_minor"), 100);
}

static void test_adjustment_for_a_missing_wallet_stays_404_for_its_key(void **state)
{
    struct pb_server *srv = *state;
    const char *body = "{\"player_id\":\"late\",\"currency\":\"EUR\",\"account\":\"cash\","
                       "\"amount_minor\":50,\"reason\":\"welcome\"}";
    pb_expect_problem(srv, "POST", "/api/v1/admin/adjustments", body, TOKEN, pb_idem("late-1"), 404,
                      "not_found", "player_id");
    int64_t ids[3];
    open_wallet(srv, "late", "EUR", ids);
    struct pb_response r;
    char flag[16];
    pb_call(srv, "POST", "/api/v1/admin/adjustments", body, TOKEN, pb_idem("late-1"), &r);
    pb_assert_problem(&r, 404, "not_found");
    assert_true(pb_response_header(&r, "Idempotent-Replayed", flag, sizeof(flag)));
    pb_response_release(&r);
    assert_int_equal(balance(srv, "late", ids[0], "posted_minor"), 0);
}

static void test_audit_pages_newest_first(void **state)
{
    struct pb_server *srv = *state;
    int64_t a[3];
    open_wallet(srv, "aud", "EUR", a);
    for (int i = 0; i < 3; i++)
        pb_adjust(srv, TOKEN, "aud", "EUR", 1);
    json_t *doc = pb_call_json(srv, "GET", "/api/v1/admin/audit?limit=2", NULL, TOKEN, NULL, 200);
    json_t *entries = json_object_get(doc, "entries");
    assert_int_equal(json_array_size(entries), 2);
    int64_t first = pb_int_at(json_array_get(entries, 0), "id");
    assert_true(pb_int_at(json_array_get(entries, 1), "id") == first - 1);
    char path[128];
    snprintf(path, sizeof(path), "/api/v1/admin/audit?limit=2&cursor=%s",
             json_string_value(json_object_get(doc, "next_cursor")));
    json_decref(doc);
    doc = pb_call_json(srv, "GET", path, NULL, TOKEN, NULL, 200);
    assert_int_equal(pb_int_at(json_array_get(json_object_get(doc, "entries"), 0), "id"),
                     first - 2);
    json_decref(doc);
    pb_expect_problem(srv, "GET", "/api/v1/admin/audit?limit=500", NULL, TOKEN, NULL, 400,
                      "validation_failed", "limit");
}

/* ---- WebSocket ---- */

static void test_balances_are_pushed_on_the_player_topic(void **state)
{
    struct pb_server *srv = *state;
    int64_t a[3], b[3];
    open_wallet(srv, "ws-a", "EUR", a);
    open_wallet(srv, "ws-b", "EUR", b);
    pb_adjust(srv, TOKEN, "ws-a", "EUR", 1000);
    /* Anonymous connections may not watch a player; staff may. */
    struct ws_client anon;
    if (ws_client_connect(&anon, srv->port, NULL) != 0)
        fail_msg("handshake failed: %d", anon.handshake_status);
    const char *sub_b = "{\"type\":\"subscribe\",\"topic\":\"player:ws-b\"}";
    assert_int_equal(ws_client_send_text(&anon, sub_b), 0);
    char *refusal = ws_client_read_text(&anon, WAIT_MS, NULL);
    assert_non_null(refusal);
    assert_non_null(strstr(refusal, "\"code\":\"forbidden\""));
    free(refusal);
    ws_client_close(&anon);
    struct ws_client bad;
    struct ws_client_options bad_opt = {.authorization = "Bearer not-a-valid-token"};
    assert_int_equal(ws_client_connect(&bad, srv->port, &bad_opt), -1);
    assert_int_equal(bad.handshake_status, 401);
    ws_client_close(&bad);
    struct ws_client c;
    struct ws_client_options opt = {.authorization = "Bearer " TOKEN};
    if (ws_client_connect(&c, srv->port, &opt) != 0)
        fail_msg("handshake failed: %d", c.handshake_status);
    ws_client_subscribe(&c, "player:ws-b", WAIT_MS);
    char body[512];
    posted_body(body, sizeof(body), a[0], b[0], 321, "transfer");
    json_decref(transfer(srv, body, 201));
    char *text = ws_client_read_until(&c, "\"kind\":\"balances\"", WAIT_MS);
    if (!text)
        fail_msg("no balances message on player:ws-b");
    json_t *msg = json_loads(text, 0, NULL);
    free(text);
    assert_non_null(msg);
    assert_string_equal(json_string_value(json_object_get(msg, "topic")), "player:ws-b");
    json_t *data = json_object_get(msg, "data");
    assert_string_equal(json_string_value(json_object_get(data, "player_id")), "ws-b");
    json_t *list = json_object_get(data, "balances");
    assert_int_equal(json_array_size(list), 1); /* only ws-b's account: ws-a has its topic */
    json_t *bal = json_array_get(list, 0);
    assert_int_equal(pb_int_at(bal, "account_id"), b[0]);
    assert_string_equal(json_string_value(json_object_get(bal, "type")), "cash");
    assert_int_equal(pb_int_at(bal, "posted_minor"), 321);
    assert_int_equal(pb_int_at(bal, "exponent"), 2);
    json_decref(msg);
    ws_client_close(&c);
    for (int i = 0; i < 100 && pb_metric(srv, "pitboss_ws_connections") != 0; i++)
        pb_sleep_ms(50);
}

/* ---- the invariants after everything above ---- */

static void test_ledger_verify_holds_after_the_api_workload(void **state)
{
    struct pb_server *srv = *state;
    pb_ledger_verify_ok(srv);
}

static int setup(void **state)
{
    static struct pb_server srv;
    curl_global_init(CURL_GLOBAL_ALL);
    pb_server_start(&srv, token_env);
    *state = &srv;
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_staff_routes_refuse_missing_or_wrong_token),
        cmocka_unit_test(test_without_configured_token_staff_routes_answer_401),
        cmocka_unit_test(test_opening_a_wallet_is_201_then_200_with_the_same_ids),
        cmocka_unit_test(test_house_accounts_are_opened_once_and_player_types_refused),
        cmocka_unit_test(test_wallet_and_balance_input_errors),
        cmocka_unit_test(test_posted_transfer_moves_money_and_answers_new_balances),
        cmocka_unit_test(test_transfer_to_a_house_account_answers_only_player_balances),
        cmocka_unit_test(test_transfer_requires_a_valid_idempotency_key),
        cmocka_unit_test(test_transfer_validation_names_the_field_and_changes_nothing),
        cmocka_unit_test(test_seventeen_linked_transfers_are_refused),
        cmocka_unit_test(test_replay_returns_the_same_status_and_body_with_header),
        cmocka_unit_test(test_sixteen_transfers_answer_and_replay_in_full),
        cmocka_unit_test(test_same_key_with_different_content_is_409_naming_the_field),
        cmocka_unit_test(test_refusal_stays_refused_for_its_key),
        cmocka_unit_test(test_linked_group_is_refused_as_a_whole),
        cmocka_unit_test(test_two_phase_pending_post_and_void),
        cmocka_unit_test(test_ledger_rules_map_to_422_codes),
        cmocka_unit_test(test_posting_an_expired_pending_transfer_is_refused),
        cmocka_unit_test(test_credit_past_int64_is_refused_as_overflow),
        cmocka_unit_test(test_history_pages_with_cursor_and_filters),
        cmocka_unit_test(test_history_query_errors_name_the_parameter),
        cmocka_unit_test(test_adjustment_is_applied_and_audited),
        cmocka_unit_test(test_refused_or_invalid_adjustment_writes_no_audit_row),
        cmocka_unit_test(test_adjustment_for_a_missing_wallet_stays_404_for_its_key),
        cmocka_unit_test(test_audit_pages_newest_first),
        cmocka_unit_test(test_balances_are_pushed_on_the_player_topic),
        cmocka_unit_test(test_ledger_verify_holds_after_the_api_workload),
    };
    return cmocka_run_group_tests_name("integration.ledger_api", tests, setup, pb_teardown_server);
}
