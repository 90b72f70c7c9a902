/* 48_rg_api.c: responsible gaming against the real binary (docs/rg.md): limits set over
 * HTTP stop bets moved by the ledger API; many concurrent bets racing one limit never
 * overshoot it; an increase is pending; bad input names the field and changes nothing; a
 * time-out and a self-exclusion block bets and deposits while the session, history and
 * withdrawals stay; the reality check reports the session's net position; staff read a
 * player's status; RG events reach the player's WebSocket; staff changes, a restart and
 * another connection's write reach the guard's cached inputs at the next bet. The server
 * runs with PITBOSS_RG_CACHE_CHECK=1: every cached input the guard uses is compared with the
 * database (a difference stops it). */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "client.h"
#include "fixtures.h"
#include "pam/auth.h"
#include "pam/pam.h"
#include "store/store.h"
#include "ws_client.h"

#define STAFF "staff-token-for-rg-tests-0123456789"
#define RACERS 16
#define BETS_EACH 5
#define STAKE_MINOR 300

static const char *const env[] = {
    "PITBOSS_STAFF_TOKEN=" STAFF,
    "PITBOSS_PROVIDER_SEAL_KEY=00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
    "PITBOSS_RG_CACHE_CHECK=1",
    NULL};

struct fixture {
    struct pb_server srv;
    char id[PAM_PLAYER_ID_SIZE], token[PAM_TOKEN_TEXT_SIZE];
    long long cash, psp, house;
};

static long long account_id(json_t *doc, const char *key)
{
    return (long long)json_integer_value(json_object_get(doc, key));
}

/* A player of brand demo with a EUR wallet funded with 1000.00 by a deposit. */
static void setup(struct fixture *f, const char *email)
{
    char path[160];
    pb_player_new(&f->srv, "demo", email, "EUR", f->id, sizeof(f->id), f->token, sizeof(f->token));
    snprintf(path, sizeof(path), "/api/v1/players/%s/wallets", f->id);
    /* Registration opened the wallet in the player's currency already: 200. */
    json_t *doc = pb_call_json(&f->srv, "POST", path, "{\"currency\":\"EUR\"}", STAFF, NULL, 200);
    json_t *accounts = json_object_get(doc, "accounts");
    for (size_t i = 0; i < json_array_size(accounts); i++) {
        json_t *a = json_array_get(accounts, i);
        if (strcmp(json_string_value(json_object_get(a, "type")), "cash") == 0)
            f->cash = account_id(a, "account_id");
    }
    json_decref(doc);
    doc = pb_call_json(&f->srv, "PUT", "/api/v1/admin/house-accounts/psp_clearing/EUR", NULL,
                       STAFF, NULL, 200);
    f->psp = account_id(doc, "account_id");
    json_decref(doc);
    doc = pb_call_json(&f->srv, "PUT", "/api/v1/admin/house-accounts/house_casino/EUR", NULL,
                       STAFF, NULL, 200);
    f->house = account_id(doc, "account_id");
    json_decref(doc);
    assert_true(f->cash > 0 && f->psp > 0 && f->house > 0);
}

/* POST /api/v1/ledger/transfers with one posted transfer; returns the response. */
static void transfer(const struct fixture *f, long long debit, long long credit,
                     long long amount, const char *code, struct pb_response *r)
{
    char body[512];
    snprintf(body, sizeof(body), "{\"transfers\":[{\"debit_account\":%lld,\"credit_account\":"
             "%lld,\"amount_minor\":%lld,\"code\":\"%s\",\"reference\":\"round:1\"}]}",
             debit, credit, amount, code);
    pb_call(&f->srv, "POST", "/api/v1/ledger/transfers", body, STAFF, pb_idem(pb_next_key("rg")),
            r);
}

static long bet(const struct fixture *f, long long amount, char *code_out, size_t len)
{
    struct pb_response r;
    transfer(f, f->cash, f->house, amount, "bet", &r);
    if (code_out) {
        json_t *doc = json_loads(r.body, 0, NULL);
        snprintf(code_out, len, "%s", json_string_value(json_object_get(doc, "code")) ?: "");
        json_decref(doc);
    }
    long status = r.status;
    pb_response_release(&r);
    return status;
}

static long long available(const struct fixture *f)
{
    return pb_balance(&f->srv, STAFF, f->id, "cash", "EUR", "available_minor");
}

struct racer {
    const struct fixture *f;
    int accepted, limited, other;
};

static void *race(void *arg)
{
    struct racer *r = arg;
    for (int i = 0; i < BETS_EACH; i++) {
        char code[64];
        long status = bet(r->f, STAKE_MINOR, code, sizeof(code));
        if (status == 201)
            r->accepted++;
        else if (status == 422 && strcmp(code, "limit_exceeded") == 0)
            r->limited++;
        else
            r->other++;
    }
    return NULL;
}

static void test_limits_hold_under_concurrent_bets(void **state)
{
    (void)state;
    struct fixture f;
    pb_server_start(&f.srv, env);
    setup(&f, "racer@example.com");
    struct pb_response r;
    transfer(&f, f.psp, f.cash, 100000, "deposit", &r);
    assert_int_equal(r.status, 201);
    pb_response_release(&r);
    json_t *doc = pb_call_json(&f.srv, "PUT", "/api/v1/rg/limits/wager/24h",
                               "{\"currency\":\"EUR\",\"amount\":\"100.00\"}", f.token, NULL,
                               200);
    assert_true(json_is_true(json_object_get(doc, "effective_now")));
    json_decref(doc);
    /* 80 bets of 3.00 race a 100.00 limit: exactly 33 fit (99.00), none beyond. */
    pthread_t th[RACERS];
    struct racer rs[RACERS];
    for (int i = 0; i < RACERS; i++) {
        rs[i] = (struct racer){.f = &f};
        assert_int_equal(pthread_create(&th[i], NULL, race, &rs[i]), 0);
    }
    int accepted = 0, limited = 0, other = 0;
    for (int i = 0; i < RACERS; i++) {
        pthread_join(th[i], NULL);
        accepted += rs[i].accepted;
        limited += rs[i].limited;
        other += rs[i].other;
    }
    assert_int_equal(other, 0);
    assert_int_equal(accepted, 10000 / STAKE_MINOR);
    assert_int_equal(limited, RACERS * BETS_EACH - 10000 / STAKE_MINOR);
    assert_int_equal(available(&f), 100000 - accepted * STAKE_MINOR);
    /* The limit as the player sees it. */
    doc = pb_call_json(&f.srv, "GET", "/api/v1/rg/limits", NULL, f.token, NULL, 200);
    json_t *l = json_array_get(json_object_get(doc, "limits"), 0);
    assert_string_equal(json_string_value(json_object_get(l, "limit")), "wager");
    assert_int_equal(json_integer_value(json_object_get(l, "used_minor")), 9900);
    assert_int_equal(json_integer_value(json_object_get(l, "remaining_minor")), 100);
    json_decref(doc);
    /* The refusal's details. */
    transfer(&f, f.cash, f.house, 101, "bet", &r);
    pb_assert_problem(&r, 422, "limit_exceeded");
    doc = json_loads(r.body, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(doc, "window")), "24h");
    assert_int_equal(json_integer_value(json_object_get(doc, "remaining_minor")), 100);
    assert_true(json_is_string(json_object_get(doc, "resets_at")));
    json_decref(doc);
    pb_response_release(&r);
    /* An increase is pending for 24 hours; the old value holds meanwhile. */
    doc = pb_call_json(&f.srv, "PUT", "/api/v1/rg/limits/wager/24h",
                       "{\"currency\":\"EUR\",\"amount\":\"500.00\"}", f.token, NULL, 200);
    assert_true(json_is_false(json_object_get(doc, "effective_now")));
    json_decref(doc);
    doc = pb_call_json(&f.srv, "GET", "/api/v1/rg/limits", NULL, f.token, NULL, 200);
    l = json_array_get(json_object_get(doc, "limits"), 0);
    assert_int_equal(json_integer_value(json_object_get(l, "value_minor")), 10000);
    json_t *pending = json_object_get(l, "pending");
    assert_int_equal(json_integer_value(json_object_get(pending, "value_minor")), 50000);
    assert_true(json_is_string(json_object_get(pending, "effective_at")));
    json_decref(doc);
    assert_int_equal(bet(&f, 101, NULL, 0), 422);
    pb_server_stop(&f.srv);
}

static void test_bad_input_names_the_field_and_changes_nothing(void **state)
{
    (void)state;
    struct fixture f;
    pb_server_start(&f.srv, env);
    setup(&f, "bad@example.com");
    struct {
        const char *method, *path, *body, *field;
    } cases[] = {
        {"PUT", "/api/v1/rg/limits/luck/24h", "{\"currency\":\"EUR\",\"amount\":\"1\"}", "kind"},
        {"PUT", "/api/v1/rg/limits/loss/1h", "{\"currency\":\"EUR\",\"amount\":\"1\"}", "window"},
        {"PUT", "/api/v1/rg/limits/loss/24h", "{\"currency\":\"XXX\",\"amount\":\"1\"}",
         "currency"},
        {"PUT", "/api/v1/rg/limits/loss/24h", "{\"currency\":\"EUR\",\"amount\":\"-1\"}",
         "amount"},
        {"PUT", "/api/v1/rg/limits/loss/24h", "{\"currency\":\"EUR\",\"amount\":\"1.001\"}",
         "amount"},
        {"PUT", "/api/v1/rg/limits/loss/24h", "{\"currency\":\"EUR\",\"amount\":\"1\",\"x\":1}",
         "x"},
        {"PUT", "/api/v1/rg/limits/session_time/24h", "{\"seconds\":59}", "seconds"},
        {"PUT", "/api/v1/rg/limits/session_time/24h", "{\"seconds\":600,\"currency\":\"EUR\"}",
         "seconds"},
        {"DELETE", "/api/v1/rg/limits/loss/24h", NULL, "currency"},
        {"POST", "/api/v1/rg/time-out", "{\"hours\":23}", "hours"},
        {"POST", "/api/v1/rg/time-out", "{\"hours\":1009}", "hours"},
        {"POST", "/api/v1/rg/self-exclusion", "{\"months\":5}", "months"},
        {"POST", "/api/v1/rg/self-exclusion", "{\"months\":6,\"permanent\":true}", "permanent"},
        {"PUT", "/api/v1/rg/reality-check", "{\"interval_minutes\":3}", "interval_minutes"},
        {"POST", "/api/v1/rg/reality-check/ack", "{\"action\":\"maybe\"}", "action"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        pb_expect_problem(&f.srv, cases[i].method, cases[i].path, cases[i].body, f.token, NULL,
                          400, "validation_failed", cases[i].field);
    pb_expect_problem(&f.srv, "GET", "/api/v1/rg/status", NULL, NULL, NULL, 401,
                      "unauthorized", NULL);
    json_t *doc = pb_call_json(&f.srv, "GET", "/api/v1/rg/status", NULL, f.token, NULL, 200);
    assert_int_equal(json_array_size(json_object_get(doc, "limits")), 0);
    assert_true(json_is_null(json_object_get(doc, "exclusion")));
    assert_true(json_is_true(json_object_get(doc, "marketing_allowed")));
    assert_string_equal(json_string_value(json_object_get(doc, "rule_set")), "permissive");
    json_decref(doc);
    pb_server_stop(&f.srv);
}

static void test_exclusion_blocks_money_in_and_keeps_the_rest(void **state)
{
    (void)state;
    struct fixture f;
    pb_server_start(&f.srv, env);
    setup(&f, "excluded@example.com");
    struct pb_response r;
    transfer(&f, f.psp, f.cash, 5000, "deposit", &r);
    pb_response_release(&r);
    assert_int_equal(bet(&f, 1000, NULL, 0), 201);
    /* The WebSocket sees the player's RG events. */
    struct ws_client ws;
    char path[256];
    snprintf(path, sizeof(path), "/api/v1/ws?access_token=%s", f.token);
    struct ws_client_options opt = {.path = path};
    assert_int_equal(ws_client_connect(&ws, f.srv.port, &opt), 0);
    char topic[64];
    snprintf(topic, sizeof(topic), "player:%s", f.id);
    ws_client_subscribe(&ws, topic, 5000);
    json_t *doc = pb_call_json(&f.srv, "POST", "/api/v1/rg/time-out", "{\"hours\":24}", f.token,
                               NULL, 200);
    json_decref(doc);
    char *msg = ws_client_read_until(&ws, "\"kind\":\"rg.time_out\"", 5000);
    assert_non_null(msg);
    free(msg);
    ws_client_close(&ws);
    char code[64];
    assert_int_equal(bet(&f, 100, code, sizeof(code)), 403);
    assert_string_equal(code, "self_excluded");
    transfer(&f, f.psp, f.cash, 100, "deposit", &r);
    pb_assert_problem(&r, 403, "self_excluded");
    pb_response_release(&r);
    /* Every product's money path meets the same guard: a casino play and a cashier deposit. */
    pb_expect_problem(&f.srv, "POST", "/api/v1/games/dice/play",
                      "{\"currency\":\"EUR\",\"stake_minor\":100,"
                      "\"bet\":{\"target\":5000,\"direction\":\"over\"}}",
                      f.token, "Idempotency-Key: rg-excluded-play", 403, "self_excluded", NULL);
    pb_expect_problem(&f.srv, "POST", "/api/v1/payments/deposits",
                      "{\"method\":\"card\",\"amount_minor\":5000,\"currency\":\"EUR\"}",
                      f.token, "Idempotency-Key: rg-excluded-deposit", 403, "self_excluded",
                      NULL);
    /* A third-party game cannot be launched either. */
    doc = pb_call_json(&f.srv, "POST", "/api/v1/admin/providers",
                       "{\"name\":\"studio\",\"base_url\":\"https://games.example/studio\","
                       "\"ip_ranges\":[],\"currencies\":[\"EUR\"],\"reason\":\"onboarding\"}",
                       STAFF, NULL, 201);
    json_decref(doc);
    doc = pb_call_json(&f.srv, "PUT", "/api/v1/admin/providers/studio/games/g1",
                       "{\"name\":\"Reels\",\"category\":\"slot\",\"rtp_bp\":9600,"
                       "\"volatility\":\"low\",\"jurisdictions\":[\"demo\"],\"brands\":[\"*\"],"
                       "\"enabled\":true,\"reason\":\"catalog\"}",
                       STAFF, NULL, 201);
    json_decref(doc);
    pb_expect_problem(&f.srv, "POST", "/api/v1/catalog/studio:g1/launch", "{\"mode\":\"real\"}",
                      f.token, NULL, 403, "self_excluded", NULL);
    /* A win settles, money can leave, the session and history still work. */
    transfer(&f, f.house, f.cash, 1500, "win", &r);
    assert_int_equal(r.status, 201);
    pb_response_release(&r);
    transfer(&f, f.cash, f.psp, 2000, "withdrawal", &r);
    assert_int_equal(r.status, 201);
    pb_response_release(&r);
    assert_int_equal(available(&f), 5000 - 1000 + 1500 - 2000);
    doc = pb_call_json(&f.srv, "GET", "/api/v1/rg/status", NULL, f.token, NULL, 200);
    json_t *ex = json_object_get(doc, "exclusion");
    assert_string_equal(json_string_value(json_object_get(ex, "kind")), "time_out");
    assert_true(json_is_false(json_object_get(doc, "marketing_allowed")));
    json_decref(doc);
    /* The reality check: the session's stakes and wins. */
    doc = pb_call_json(&f.srv, "GET", "/api/v1/rg/reality-check", NULL, f.token, NULL, 200);
    json_t *net = json_array_get(json_object_get(doc, "net"), 0);
    assert_string_equal(json_string_value(json_object_get(net, "currency")), "EUR");
    assert_int_equal(json_integer_value(json_object_get(net, "stakes_minor")), 1000);
    assert_int_equal(json_integer_value(json_object_get(net, "wins_minor")), 1500);
    assert_int_equal(json_integer_value(json_object_get(net, "net_minor")), 500);
    assert_true(json_integer_value(json_object_get(doc, "elapsed_s")) >= 0);
    json_decref(doc);
    /* Not shortened; extended into a permanent self-exclusion. */
    doc = pb_call_json(&f.srv, "POST", "/api/v1/rg/self-exclusion", "{\"permanent\":true}",
                       f.token, NULL, 200);
    json_decref(doc);
    pb_expect_problem(&f.srv, "POST", "/api/v1/rg/time-out", "{\"hours\":24}", f.token, NULL,
                      409, "exclusion_cannot_be_shortened", NULL);
    /* Staff see it; a staff change needs a reason. */
    snprintf(path, sizeof(path), "/api/v1/admin/players/%s/rg", f.id);
    doc = pb_call_json(&f.srv, "GET", path, NULL, STAFF, NULL, 200);
    ex = json_object_get(doc, "exclusion");
    assert_true(json_is_true(json_object_get(ex, "permanent")));
    json_decref(doc);
    snprintf(path, sizeof(path), "/api/v1/admin/players/%s/rg/limits/loss/7d", f.id);
    pb_expect_problem(&f.srv, "PUT", path, "{\"currency\":\"EUR\",\"amount\":\"50.00\"}", STAFF,
                      NULL, 400, "validation_failed", "reason");
    doc = pb_call_json(&f.srv, "PUT", path,
                       "{\"currency\":\"EUR\",\"amount\":\"50.00\",\"reason\":\"affordability\"}",
                       STAFF, NULL, 200);
    json_decref(doc);
    doc = pb_call_json(&f.srv, "GET", "/api/v1/admin/audit", NULL, STAFF, NULL, 200);
    char *audit = json_dumps(doc, 0);
    assert_non_null(strstr(audit, "rg.limit_set"));
    free(audit);
    json_decref(doc);
    pb_server_stop(&f.srv);
}

/* Runs sql on a connection of this process (not the server's): another writer. */
static void exec_elsewhere(const struct fixture *f, const char *sql)
{
    struct store *s;
    char err[256];
    assert_int_equal(store_open(f->srv.db_url, &s, err, sizeof(err)), 0);
    assert_int_equal(store_exec(s, sql), 0);
    store_close(s);
}

static void test_changes_reach_the_cached_guard_at_once(void **state)
{
    (void)state;
    struct fixture f;
    pb_server_start(&f.srv, env);
    setup(&f, "cached@example.com");
    struct pb_response r;
    transfer(&f, f.psp, f.cash, 10000, "deposit", &r);
    assert_int_equal(r.status, 201);
    pb_response_release(&r);
    assert_int_equal(bet(&f, 1000, NULL, 0), 201); /* the guard has the player's inputs now */
    char path[256], code[64];
    snprintf(path, sizeof(path), "/api/v1/admin/players/%s/blocks", f.id);
    json_t *doc = pb_call_json(&f.srv, "POST", path,
                               "{\"block\":\"bet\",\"reason\":\"risk review\"}", STAFF, NULL,
                               200);
    json_decref(doc);
    assert_int_equal(bet(&f, 100, code, sizeof(code)), 403);
    assert_string_equal(code, "player_blocked");
    snprintf(path, sizeof(path), "/api/v1/admin/players/%s/blocks/bet", f.id);
    doc = pb_call_json(&f.srv, "DELETE", path, "{\"reason\":\"review done\"}", STAFF, NULL,
                       200);
    json_decref(doc);
    assert_int_equal(bet(&f, 100, NULL, 0), 201);
    /* A staff limit counts the losses before it: 11.00 lost of 20.00. */
    snprintf(path, sizeof(path), "/api/v1/admin/players/%s/rg/limits/loss/24h", f.id);
    doc = pb_call_json(&f.srv, "PUT", path,
                       "{\"currency\":\"EUR\",\"amount\":\"20.00\",\"reason\":\"affordability\"}",
                       STAFF, NULL, 200);
    json_decref(doc);
    assert_int_equal(bet(&f, 901, code, sizeof(code)), 422);
    assert_string_equal(code, "limit_exceeded");
    assert_int_equal(bet(&f, 900, NULL, 0), 201);
    assert_int_equal(bet(&f, 1, NULL, 0), 422);
    /* After a restart the usage is still there. */
    pb_server_stop(&f.srv);
    pb_server_restart(&f.srv, env);
    assert_int_equal(bet(&f, 1, code, sizeof(code)), 422);
    assert_string_equal(code, "limit_exceeded");
    transfer(&f, f.house, f.cash, 500, "win", &r);
    assert_int_equal(r.status, 201);
    pb_response_release(&r);
    assert_int_equal(bet(&f, 500, NULL, 0), 201); /* the win made room */
    /* Another connection's commit (a tool, another process): seen at the next bet. */
    char sql[512];
    snprintf(sql, sizeof(sql),
             "INSERT INTO rg_exclusions (player_id, seq, kind, from_ms, until_ms, actor)"
             " VALUES ('%s', 99, 1, 0, 9000000000000000000, 'test')",
             f.id);
    exec_elsewhere(&f, sql);
    assert_int_equal(bet(&f, 1, code, sizeof(code)), 403);
    assert_string_equal(code, "self_excluded");
    pb_server_stop(&f.srv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_limits_hold_under_concurrent_bets),
        cmocka_unit_test(test_bad_input_names_the_field_and_changes_nothing),
        cmocka_unit_test(test_exclusion_blocks_money_in_and_keeps_the_rest),
        cmocka_unit_test(test_changes_reach_the_cached_guard_at_once),
    };
    return cmocka_run_group_tests_name("integration.rg_api", tests, NULL, NULL);
}
