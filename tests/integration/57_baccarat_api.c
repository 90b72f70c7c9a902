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
#include "fixtures.h"

#define STAFF "staff-token-for-tests-0123456789"
#define FUNDS 1000000

static const char *const env[] = {"PITBOSS_STAFF_TOKEN=" STAFF, NULL};

struct fixture {
    struct pb_server srv;
    char player[32], token[128];
    char poor[32], poor_token[128];
    int64_t moved;
};

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
    assert_int_equal(pb_int_at(hand, "total"), t % 10);
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
    json_t *doc = pb_call_json(&f->srv, "POST", "/api/v1/baccarat/rounds", body, f->token,
                               pb_idem(pb_next_key("bac-test")), 201);
    json_t *round = json_object_get(doc, "round");
    assert_string_equal(pb_str_at(round, "game_id"), "baccarat");
    assert_string_equal(pb_str_at(round, "state"), "closed");
    json_t *d = json_object_get(round, "detail");
    bool ppair, bpair;
    int p = hand_total(json_object_get(d, "player"), &ppair);
    int b = hand_total(json_object_get(d, "banker"), &bpair);
    const char *winner = p > b ? "player" : b > p ? "banker" : "tie";
    assert_string_equal(pb_str_at(d, "winner"), winner);
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
    assert_int_equal(pb_int_at(round, "stake_minor"), pl + bk + tie + pp + bp);
    assert_int_equal(pb_int_at(round, "payout_minor"), want);
    assert_int_equal(pb_int_at(json_object_get(d, "payouts"), "total"), want);
    assert_int_equal(pb_int_at(d, "table"), 1);
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
        int64_t shoe = pb_int_at(d, "shoe"), n = pb_int_at(d, "coup");
        if (shoe == last_shoe)
            assert_int_equal(n, last_coup + 1); /* one shoe, coups in turn */
        else
            assert_int_equal(n, 1);
        last_shoe = shoe;
        last_coup = n;
        json_decref(doc);
    }
    assert_int_equal(pb_balance(&f->srv, STAFF, f->player, "cash", "EUR", "posted_minor"),
                     FUNDS + f->moved);
}

static void test_replay_and_conflict(void **state)
{
    struct fixture *f = *state;
    const char *body = "{\"currency\":\"EUR\",\"banker_minor\":500}";
    json_t *a = pb_call_json(&f->srv, "POST", "/api/v1/baccarat/rounds", body, f->token,
                             pb_idem("bac-replay"), 201);
    json_t *b = pb_call_json(&f->srv, "POST", "/api/v1/baccarat/rounds", body, f->token,
                             pb_idem("bac-replay"), 201);
    json_t *ra = json_object_get(a, "round"), *rb = json_object_get(b, "round");
    assert_int_equal(pb_int_at(ra, "round_id"), pb_int_at(rb, "round_id"));
    f->moved += pb_int_at(ra, "payout_minor") - 500;
    assert_int_equal(pb_balance(&f->srv, STAFF, f->player, "cash", "EUR", "posted_minor"),
                     FUNDS + f->moved);
    pb_expect_problem(&f->srv, "POST", "/api/v1/baccarat/rounds",
                      "{\"currency\":\"EUR\",\"banker_minor\":501}", f->token,
                      pb_idem("bac-replay"), 409, "idempotency_conflict", NULL);
    /* The recall shows the same cards. */
    char path[64];
    snprintf(path, sizeof(path), "/api/v1/rounds/%lld", (long long)pb_int_at(ra, "round_id"));
    json_t *g = pb_call_json(&f->srv, "GET", path, NULL, f->token, NULL, 200);
    assert_true(json_equal(json_object_get(json_object_get(g, "detail"), "player"),
                           json_object_get(json_object_get(ra, "detail"), "player")));
    json_decref(g);
    json_decref(a);
    json_decref(b);
}

static void test_bad_requests_and_refusals_change_nothing(void **state)
{
    struct fixture *f = *state;
    pb_expect_problem(&f->srv, "POST", "/api/v1/baccarat/rounds",
                      "{\"currency\":\"EUR\",\"player_minor\":100}", f->token, NULL, 400,
                      "validation_failed", "Idempotency-Key");
    pb_expect_problem(&f->srv, "POST", "/api/v1/baccarat/rounds", "{\"currency\":\"EUR\"}",
                      f->token, pb_idem(pb_next_key("bac-test")), 400, "validation_failed",
                      "player_minor");
    pb_expect_problem(&f->srv, "POST", "/api/v1/baccarat/rounds",
                      "{\"currency\":\"EUR\",\"tie_minor\":-1}", f->token,
                      pb_idem(pb_next_key("bac-test")), 400, "validation_failed", "tie_minor");
    pb_expect_problem(&f->srv, "POST", "/api/v1/baccarat/rounds",
                      "{\"currency\":\"EUR\",\"player_minor\":1,\"variant\":\"ez\"}", f->token,
                      pb_idem(pb_next_key("bac-test")), 400, "validation_failed", "variant");
    pb_expect_problem(&f->srv, "POST", "/api/v1/baccarat/rounds",
                      "{\"currency\":\"EUR\",\"player_minor\":1,\"table\":9}", f->token,
                      pb_idem(pb_next_key("bac-test")), 400, "validation_failed", "table");
    pb_expect_problem(&f->srv, "POST", "/api/v1/baccarat/rounds",
                      "{\"currency\":\"XXX\",\"player_minor\":1}", f->token,
                      pb_idem(pb_next_key("bac-test")), 400, "validation_failed", "currency");
    pb_expect_problem(&f->srv, "POST", "/api/v1/baccarat/rounds",
                      "{\"currency\":\"EUR\",\"player_minor\":1,\"x\":1}", f->token,
                      pb_idem(pb_next_key("bac-test")), 400, "validation_failed", "x");
    pb_expect_problem(&f->srv, "POST", "/api/v1/baccarat/rounds",
                      "{\"currency\":\"EUR\",\"player_minor\":1}", NULL,
                      pb_idem(pb_next_key("bac-test")), 401, "unauthorized", NULL);
    pb_expect_problem(&f->srv, "POST", "/api/v1/baccarat/rounds",
                      "{\"currency\":\"EUR\",\"player_minor\":100000000}", f->token,
                      pb_idem(pb_next_key("bac-test")), 422, "stake_out_of_range", "stake_minor");
    assert_int_equal(pb_balance(&f->srv, STAFF, f->player, "cash", "EUR", "posted_minor"),
                     FUNDS + f->moved);
    /* The poor player: insufficient funds, then a wager limit of the responsible-gaming
     * guard in the ledger's debit path. */
    pb_expect_problem(&f->srv, "POST", "/api/v1/baccarat/rounds",
                      "{\"currency\":\"EUR\",\"player_minor\":1001}", f->poor_token,
                      pb_idem(pb_next_key("bac-test")), 422, "insufficient_funds", NULL);
    json_decref(pb_call_json(&f->srv, "PUT", "/api/v1/rg/limits/wager/24h",
                             "{\"currency\":\"EUR\",\"amount\":\"3.00\"}", f->poor_token, NULL,
                             200));
    json_t *doc = pb_call_json(&f->srv, "POST", "/api/v1/baccarat/rounds",
                               "{\"currency\":\"EUR\",\"tie_minor\":200}", f->poor_token,
                               pb_idem(pb_next_key("bac-test")), 201);
    int64_t paid = pb_int_at(json_object_get(doc, "round"), "payout_minor");
    json_decref(doc);
    pb_expect_problem(&f->srv, "POST", "/api/v1/baccarat/rounds",
                      "{\"currency\":\"EUR\",\"tie_minor\":200}", f->poor_token,
                      pb_idem(pb_next_key("bac-test")), 422, "limit_exceeded", NULL);
    assert_int_equal(pb_balance(&f->srv, STAFF, f->poor, "cash", "EUR", "posted_minor"),
                     1000 - 200 + paid);
}

static void test_ledger_verify_holds(void **state)
{
    struct fixture *f = *state;
    pb_ledger_verify_ok(&f->srv);
}

static int setup(void **state)
{
    static struct fixture f;
    curl_global_init(CURL_GLOBAL_ALL);
    pb_server_start(&f.srv, env);
    pb_player_new(&f.srv, "demo", "player@example.com", "EUR", f.player, sizeof(f.player), f.token,
                  sizeof(f.token));
    pb_player_new(&f.srv, "demo", "poor@example.com", "EUR", f.poor, sizeof(f.poor), f.poor_token,
                  sizeof(f.poor_token));
    pb_wallet_fund(&f.srv, STAFF, f.player, "EUR", FUNDS);
    pb_wallet_fund(&f.srv, STAFF, f.poor, "EUR", 1000);
    *state = &f;
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
    return cmocka_run_group_tests_name("integration.baccarat_api", tests, setup, pb_teardown_server);
}
