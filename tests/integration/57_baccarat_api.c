/* 57_baccarat_api.c: baccarat coups against the real binary (docs/table-games.md, "Baccarat
 * rounds"): a funded player plays coups with every kind of bet in both variants; each round's
 * recall holds the cards and hands, and the test recomputes the totals, the winner, the pairs
 * and every payout from the cards by the published rules (Player 1:1, Banker 0.95:1 or 1:1
 * with 6 paying 1:2, ties push Player and Banker, Tie 8:1, pairs 11:1), so the money moved is
 * exact; coups at one table draw consecutive cards from one shoe; a replayed key answers the
 * same round with no second debit; bad bodies are 400 naming the field; insufficient funds
 * and a responsible-gaming wager limit refuse with the ledger's problem and change nothing;
 * and `pitboss ledger verify` holds at the end. */
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

#define STAFF "staff-token-for-tests-0123456789"
#define PASSWORD "correct horse battery"
#define FUNDS 1000000

static const char *const env[] = {"PITBOSS_STAFF_TOKEN=" STAFF, NULL};

struct fixture {
    struct pb_server srv;
    char player[32], token[128];
    char poor[32], poor_token[128];
    int64_t moved;
};

static void call_key(const struct pb_server *srv, const char *method, const char *path,
                     const char *body, const char *token, const char *key, struct pb_response *r)
{
    char auth[192], idem[192];
    const char *headers[3] = {NULL, NULL, NULL};
    int n = 0;
    if (token) {
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
        headers[n++] = auth;
    }
    if (key) {
        snprintf(idem, sizeof(idem), "Idempotency-Key: %s", key);
        headers[n++] = idem;
    }
    pb_request(srv, method, path, body ? "application/json" : NULL, body,
               body ? strlen(body) : 0, headers, r);
}

static json_t *call_json(const struct pb_server *srv, const char *method, const char *path,
                         const char *body, const char *token, const char *key, long status)
{
    struct pb_response r;
    call_key(srv, method, path, body, token, key, &r);
    if (r.status != status)
        fail_msg("%s %s answered %ld, expected %ld: %s", method, path, r.status, status, r.body);
    json_t *doc = r.body_len ? json_loads(r.body, 0, NULL) : NULL;
    if (r.body_len && !doc)
        fail_msg("not JSON: %s", r.body);
    pb_response_release(&r);
    return doc;
}

static void expect_problem(const struct pb_server *srv, const char *body, const char *token,
                           const char *key, long status, const char *code, const char *field)
{
    struct pb_response r;
    call_key(srv, "POST", "/api/v1/baccarat/rounds", body, token, key, &r);
    if (r.status != status)
        fail_msg("answered %ld, expected %ld: %s", r.status, status, r.body);
    pb_assert_problem(&r, status, code);
    json_t *doc = json_loads(r.body, 0, NULL);
    const char *f = json_string_value(json_object_get(doc, "field"));
    if (field && (!f || strcmp(f, field) != 0))
        fail_msg("expected field %s in %s", field, r.body);
    json_decref(doc);
    pb_response_release(&r);
}

static int64_t int_at(json_t *obj, const char *name)
{
    json_t *v = json_object_get(obj, name);
    if (!json_is_integer(v))
        fail_msg("%s is not an integer", name);
    return json_integer_value(v);
}

static const char *str_at(json_t *obj, const char *name)
{
    const char *v = json_string_value(json_object_get(obj, name));
    if (!v)
        fail_msg("%s is not a string", name);
    return v;
}

static const char *next_key(void)
{
    static char key[64];
    static int counter;
    snprintf(key, sizeof(key), "bac-test-%d", ++counter);
    return key;
}

static void register_and_login(const struct pb_server *srv, const char *email, char *id,
                               char *token)
{
    char body[512];
    snprintf(body, sizeof(body), "{\"email\":\"%s\",\"password\":\"" PASSWORD "\","
             "\"date_of_birth\":\"1990-05-17\",\"country\":\"DE\",\"currency\":\"EUR\","
             "\"brand\":\"demo\"}", email);
    json_t *doc = call_json(srv, "POST", "/api/v1/players", body, NULL, NULL, 201);
    snprintf(id, 32, "%s", str_at(doc, "player_id"));
    json_decref(doc);
    snprintf(body, sizeof(body), "{\"brand\":\"demo\",\"email\":\"%s\",\"password\":\""
             PASSWORD "\"}", email);
    doc = call_json(srv, "POST", "/api/v1/sessions", body, NULL, NULL, 201);
    snprintf(token, 128, "%s", str_at(doc, "token"));
    json_decref(doc);
}

static void open_and_fund(const struct pb_server *srv, const char *player, int64_t amount)
{
    char path[128], body[256];
    snprintf(path, sizeof(path), "/api/v1/players/%s/wallets", player);
    json_decref(call_json(srv, "POST", path, "{\"currency\":\"EUR\"}", STAFF, NULL, 200));
    snprintf(body, sizeof(body), "{\"player_id\":\"%s\",\"currency\":\"EUR\",\"account\":"
             "\"cash\",\"amount_minor\":%lld,\"reason\":\"test funding\"}", player,
             (long long)amount);
    json_decref(call_json(srv, "POST", "/api/v1/admin/adjustments", body, STAFF, next_key(),
                          201));
}

static int64_t cash(const struct pb_server *srv, const char *player)
{
    char path[128];
    snprintf(path, sizeof(path), "/api/v1/players/%s/balances", player);
    json_t *doc = call_json(srv, "GET", path, NULL, STAFF, NULL, 200);
    json_t *list = json_object_get(doc, "balances");
    int64_t v = INT64_MIN;
    for (size_t i = 0; i < json_array_size(list); i++) {
        json_t *b = json_array_get(list, i);
        if (strcmp(str_at(b, "type"), "cash") == 0 && strcmp(str_at(b, "currency"), "EUR") == 0)
            v = int_at(b, "posted_minor");
    }
    json_decref(doc);
    if (v == INT64_MIN)
        fail_msg("no EUR cash account for %s", player);
    return v;
}

/* Baccarat value of "9H", "TD", "KC", "AS". */
static int value_of(const char *card)
{
    const char *ranks = "A23456789TJQK";
    const char *p = strchr(ranks, card[0]);
    assert_non_null(p);
    int rank = (int)(p - ranks) + 1;
    return rank >= 10 ? 0 : rank;
}

/* Checks a hand's total and returns it; *pair when its first two cards share a rank. */
static int hand_total(json_t *hand, bool *pair)
{
    json_t *cards = json_object_get(hand, "cards");
    size_t n = json_array_size(cards);
    assert_true(n == 2 || n == 3);
    int t = 0;
    for (size_t i = 0; i < n; i++)
        t += value_of(json_string_value(json_array_get(cards, i)));
    *pair = json_string_value(json_array_get(cards, 0))[0] ==
            json_string_value(json_array_get(cards, 1))[0];
    assert_int_equal(int_at(hand, "total"), t % 10);
    return t % 10;
}

/* Plays one coup and checks every payout from the cards; returns the round. */
static json_t *coup(struct fixture *f, const char *variant, int64_t pl, int64_t bk, int64_t tie,
                    int64_t pp, int64_t bp)
{
    char body[320];
    snprintf(body, sizeof(body), "{\"currency\":\"EUR\",\"variant\":\"%s\",\"player_minor\":"
             "%lld,\"banker_minor\":%lld,\"tie_minor\":%lld,\"player_pair_minor\":%lld,"
             "\"banker_pair_minor\":%lld}", variant, (long long)pl, (long long)bk,
             (long long)tie, (long long)pp, (long long)bp);
    json_t *doc = call_json(&f->srv, "POST", "/api/v1/baccarat/rounds", body, f->token,
                            next_key(), 201);
    json_t *round = json_object_get(doc, "round");
    assert_string_equal(str_at(round, "game_id"), "baccarat");
    assert_string_equal(str_at(round, "state"), "closed");
    json_t *d = json_object_get(round, "detail");
    bool ppair, bpair;
    int p = hand_total(json_object_get(d, "player"), &ppair);
    int b = hand_total(json_object_get(d, "banker"), &bpair);
    const char *winner = p > b ? "player" : b > p ? "banker" : "tie";
    assert_string_equal(str_at(d, "winner"), winner);
    assert_true(json_is_true(json_object_get(d, "player_pair")) == ppair);
    size_t bcards = json_array_size(json_object_get(json_object_get(d, "banker"), "cards"));
    bool nocomm = strcmp(variant, "no_commission") == 0;
    int64_t want = 0;
    if (p > b)
        want += 2 * pl;
    else if (b > p)
        want += nocomm ? (b == 6 ? bk + bk / 2 : 2 * bk) : bk + bk * 95 / 100;
    else
        want += pl + bk + 9 * tie;
    want += (ppair ? 12 * pp : 0) + (bpair ? 12 * bp : 0);
    (void)bcards;
    assert_int_equal(int_at(round, "stake_minor"), pl + bk + tie + pp + bp);
    assert_int_equal(int_at(round, "payout_minor"), want);
    assert_int_equal(int_at(json_object_get(d, "payouts"), "total"), want);
    assert_int_equal(int_at(d, "table"), 1);
    f->moved += want - (pl + bk + tie + pp + bp);
    return doc;
}

static void test_coups_pay_exactly_by_the_rules(void **state)
{
    struct fixture *f = *state;
    int64_t last_shoe = 0, last_coup = 0;
    for (int i = 0; i < 60; i++) {
        json_t *doc = coup(f, i % 2 ? "no_commission" : "commission", 100 + i, 201 + i, 10,
                           7, 5);
        json_t *d = json_object_get(json_object_get(doc, "round"), "detail");
        int64_t shoe = int_at(d, "shoe"), n = int_at(d, "coup");
        if (shoe == last_shoe)
            assert_int_equal(n, last_coup + 1); /* one shoe, coups in turn */
        else
            assert_int_equal(n, 1);
        last_shoe = shoe;
        last_coup = n;
        json_decref(doc);
    }
    assert_int_equal(cash(&f->srv, f->player), FUNDS + f->moved);
}

static void test_replay_and_conflict(void **state)
{
    struct fixture *f = *state;
    const char *body = "{\"currency\":\"EUR\",\"banker_minor\":500}";
    json_t *a = call_json(&f->srv, "POST", "/api/v1/baccarat/rounds", body, f->token,
                          "bac-replay", 201);
    json_t *b = call_json(&f->srv, "POST", "/api/v1/baccarat/rounds", body, f->token,
                          "bac-replay", 201);
    json_t *ra = json_object_get(a, "round"), *rb = json_object_get(b, "round");
    assert_int_equal(int_at(ra, "round_id"), int_at(rb, "round_id"));
    f->moved += int_at(ra, "payout_minor") - 500;
    assert_int_equal(cash(&f->srv, f->player), FUNDS + f->moved);
    expect_problem(&f->srv, "{\"currency\":\"EUR\",\"banker_minor\":501}", f->token,
                   "bac-replay", 409, "idempotency_conflict", NULL);
    /* The recall shows the same cards. */
    char path[64];
    snprintf(path, sizeof(path), "/api/v1/rounds/%lld", (long long)int_at(ra, "round_id"));
    json_t *g = call_json(&f->srv, "GET", path, NULL, f->token, NULL, 200);
    assert_true(json_equal(json_object_get(json_object_get(g, "detail"), "player"),
                           json_object_get(json_object_get(ra, "detail"), "player")));
    json_decref(g);
    json_decref(a);
    json_decref(b);
}

static void test_bad_requests_and_refusals_change_nothing(void **state)
{
    struct fixture *f = *state;
    expect_problem(&f->srv, "{\"currency\":\"EUR\",\"player_minor\":100}", f->token, NULL, 400,
                   "validation_failed", "Idempotency-Key");
    expect_problem(&f->srv, "{\"currency\":\"EUR\"}", f->token, next_key(), 400,
                   "validation_failed", "player_minor");
    expect_problem(&f->srv, "{\"currency\":\"EUR\",\"tie_minor\":-1}", f->token, next_key(),
                   400, "validation_failed", "tie_minor");
    expect_problem(&f->srv, "{\"currency\":\"EUR\",\"player_minor\":1,\"variant\":\"ez\"}",
                   f->token, next_key(), 400, "validation_failed", "variant");
    expect_problem(&f->srv, "{\"currency\":\"EUR\",\"player_minor\":1,\"table\":9}", f->token,
                   next_key(), 400, "validation_failed", "table");
    expect_problem(&f->srv, "{\"currency\":\"XXX\",\"player_minor\":1}", f->token, next_key(),
                   400, "validation_failed", "currency");
    expect_problem(&f->srv, "{\"currency\":\"EUR\",\"player_minor\":1,\"x\":1}", f->token,
                   next_key(), 400, "validation_failed", "x");
    expect_problem(&f->srv, "{\"currency\":\"EUR\",\"player_minor\":1}", NULL, next_key(), 401,
                   "unauthorized", NULL);
    expect_problem(&f->srv, "{\"currency\":\"EUR\",\"player_minor\":100000000}", f->token,
                   next_key(), 422, "stake_out_of_range", "stake_minor");
    assert_int_equal(cash(&f->srv, f->player), FUNDS + f->moved);
    /* The poor player: insufficient funds, then a wager limit of the responsible-gaming
     * guard in the ledger's debit path. */
    expect_problem(&f->srv, "{\"currency\":\"EUR\",\"player_minor\":1001}", f->poor_token,
                   next_key(), 422, "insufficient_funds", NULL);
    json_decref(call_json(&f->srv, "PUT", "/api/v1/rg/limits/wager/24h",
                          "{\"currency\":\"EUR\",\"amount\":\"3.00\"}", f->poor_token, NULL,
                          200));
    json_t *doc = call_json(&f->srv, "POST", "/api/v1/baccarat/rounds",
                            "{\"currency\":\"EUR\",\"tie_minor\":200}", f->poor_token,
                            next_key(), 201);
    int64_t paid = int_at(json_object_get(doc, "round"), "payout_minor");
    json_decref(doc);
    expect_problem(&f->srv, "{\"currency\":\"EUR\",\"tie_minor\":200}", f->poor_token,
                   next_key(), 422, "limit_exceeded", NULL);
    assert_int_equal(cash(&f->srv, f->poor), 1000 - 200 + paid);
}

static void test_ledger_verify_holds(void **state)
{
    struct fixture *f = *state;
    char cmd[1600], line[512], last[512] = "";
    snprintf(cmd, sizeof(cmd), "PITBOSS_DB='%s' '%s' ledger verify 2>&1", f->srv.db_url,
             getenv("PITBOSS_BIN"));
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    while (fgets(line, sizeof(line), p)) {
        if (!strstr(line, "ledger verify: OK"))
            fputs(line, stderr);
        snprintf(last, sizeof(last), "%s", line);
    }
    int status = pclose(p);
    if (status != 0 || !strstr(last, "ledger verify: OK"))
        fail_msg("ledger verify exited with %d: %s", status, last);
}

static int setup(void **state)
{
    static struct fixture f;
    curl_global_init(CURL_GLOBAL_ALL);
    pb_server_start(&f.srv, env);
    register_and_login(&f.srv, "player@example.com", f.player, f.token);
    register_and_login(&f.srv, "poor@example.com", f.poor, f.poor_token);
    open_and_fund(&f.srv, f.player, FUNDS);
    open_and_fund(&f.srv, f.poor, 1000);
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    if (f)
        pb_server_stop(&f->srv);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_coups_pay_exactly_by_the_rules),
        cmocka_unit_test(test_replay_and_conflict),
        cmocka_unit_test(test_bad_requests_and_refusals_change_nothing),
        cmocka_unit_test(test_ledger_verify_holds),
    };
    return cmocka_run_group_tests_name("integration.baccarat_api", tests, setup, teardown);
}
