/* 56_blackjack_api.c: blackjack rounds against the real binary (docs/table-games.md): a funded
 * player deals rounds and plays them to the end through the actions route, taking only the
 * actions the view lists, with seq in turn; the money moved equals every round's stake and
 * payout; the view never shows the shoe and hides the hole card while the round is open; a
 * replayed deal gives the same answer and no second debit, another body under its key is 409;
 * bad bodies are 400 naming the field; an action out of turn, an illegal action and another
 * player's round change nothing; and `pitboss ledger verify` holds at the end. */
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
#include <sodium.h>

#include "client.h"
#include "fixtures.h"

#define STAFF "staff-token-for-tests-0123456789"
#define FUNDS 100000

static const char *const env[] = {"PITBOSS_STAFF_TOKEN=" STAFF, NULL};

struct fixture {
    struct pb_server srv;
    char player[32], token[128];
    char other[32], other_token[128];
    int64_t moved; /* the player's net result over every round so far */
};

static bool legal(json_t *detail, const char *action)
{
    json_t *list = json_object_get(detail, "actions");
    for (size_t i = 0; i < json_array_size(list); i++)
        if (strcmp(json_string_value(json_array_get(list, i)), action) == 0)
            return true;
    return false;
}

/* A simple player: decline insurance, double on 10-11, hit below 17, stand. */
static const char *choose(json_t *detail)
{
    if (legal(detail, "no_insurance"))
        return "no_insurance";
    json_t *hands = json_object_get(detail, "hands");
    json_t *h = json_array_get(hands, (size_t)pb_int_at(detail, "active_hand"));
    int64_t total = pb_int_at(h, "total");
    if ((total == 10 || total == 11) && legal(detail, "double"))
        return "double";
    return total < 17 ? "hit" : "stand";
}

/* Plays round (its first answer doc) to the end; returns the closed round. */
static json_t *play_out(struct fixture *f, json_t *doc)
{
    json_t *round = json_object_get(doc, "round");
    int64_t id = pb_int_at(round, "round_id");
    char path[96];
    snprintf(path, sizeof(path), "/api/v1/blackjack/rounds/%lld/actions", (long long)id);
    for (int guard = 0; strcmp(pb_str_at(round, "state"), "closed") != 0; guard++) {
        assert_true(guard < 40);
        json_t *detail = json_object_get(round, "detail");
        assert_string_equal(pb_str_at(round, "state"), "outcome");
        assert_int_equal(json_array_size(json_object_get(json_object_get(detail, "dealer"),
                                                         "cards")), 1);
        char body[96];
        snprintf(body, sizeof(body), "{\"action\":\"%s\",\"seq\":%lld}", choose(detail),
                 (long long)pb_int_at(detail, "seq"));
        json_t *next = pb_call_json(&f->srv, "POST", path, body, f->token, NULL, 200);
        json_decref(doc);
        doc = next;
        round = json_object_get(doc, "round");
    }
    json_t *detail = json_object_get(round, "detail");
    assert_string_equal(pb_str_at(detail, "phase"), "settled");
    assert_int_equal(pb_int_at(detail, "payout_minor"), pb_int_at(round, "payout_minor"));
    assert_int_equal(pb_int_at(detail, "staked_minor"), pb_int_at(round, "stake_minor"));
    assert_true(json_array_size(json_object_get(json_object_get(detail, "dealer"), "cards")) >= 2);
    f->moved += pb_int_at(round, "payout_minor") - pb_int_at(round, "stake_minor");
    return doc;
}

static void test_rounds_play_to_the_end_and_move_exact_money(void **state)
{
    struct fixture *f = *state;
    for (int i = 0; i < 25; i++) {
        json_t *doc = pb_call_json(&f->srv, "POST", "/api/v1/blackjack/rounds",
                                   "{\"currency\":\"EUR\",\"stake_minor\":200}", f->token,
                                   pb_idem(pb_next_key("bj-test")), 201);
        json_t *round = json_object_get(doc, "round");
        assert_string_equal(pb_str_at(round, "game_id"), "blackjack");
        char *text = json_dumps(doc, 0);
        assert_null(strstr(text, "shoe"));
        free(text);
        doc = play_out(f, doc);
        char path[64];
        snprintf(path, sizeof(path), "/api/v1/rounds/%lld",
                 (long long)pb_int_at(json_object_get(doc, "round"), "round_id"));
        json_t *again = pb_call_json(&f->srv, "GET", path, NULL, f->token, NULL, 200);
        assert_string_equal(pb_str_at(again, "state"), "closed");
        json_decref(again);
        json_decref(doc);
    }
    assert_int_equal(pb_balance(&f->srv, STAFF, f->player, "cash", "EUR", "posted_minor"),
                     FUNDS + f->moved);
}

static void test_deal_replays_and_conflicts(void **state)
{
    struct fixture *f = *state;
    int64_t before = pb_balance(&f->srv, STAFF, f->player, "cash", "EUR", "posted_minor");
    const char *key = "bj-replay-1";
    json_t *a =
        pb_call_json(&f->srv, "POST", "/api/v1/blackjack/rounds",
                     "{\"currency\":\"EUR\",\"stake_minor\":300}", f->token, pb_idem(key), 201);
    json_t *b =
        pb_call_json(&f->srv, "POST", "/api/v1/blackjack/rounds",
                     "{\"currency\":\"EUR\",\"stake_minor\":300}", f->token, pb_idem(key), 201);
    assert_int_equal(pb_int_at(json_object_get(a, "round"), "round_id"),
                     pb_int_at(json_object_get(b, "round"), "round_id"));
    bool closed = strcmp(pb_str_at(json_object_get(a, "round"), "state"), "closed") == 0;
    int64_t payout = pb_int_at(json_object_get(a, "round"), "payout_minor");
    assert_int_equal(pb_balance(&f->srv, STAFF, f->player, "cash", "EUR", "posted_minor"),
                     before - 300 + (closed ? payout : 0));
    pb_expect_problem(&f->srv, "POST", "/api/v1/blackjack/rounds",
                      "{\"currency\":\"EUR\",\"stake_minor\":301}", f->token, pb_idem(key), 409,
                      "idempotency_conflict", NULL);
    json_decref(b);
    if (closed)
        f->moved += payout - 300;
    else
        json_decref(play_out(f, json_incref(a)));
    json_decref(a);
    assert_int_equal(pb_balance(&f->srv, STAFF, f->player, "cash", "EUR", "posted_minor"),
                     FUNDS + f->moved);
}

static void test_bad_requests_change_nothing(void **state)
{
    struct fixture *f = *state;
    const char *path = "/api/v1/blackjack/rounds";
    pb_expect_problem(&f->srv, "POST", path, "{\"currency\":\"EUR\",\"stake_minor\":100}", f->token,
                      NULL, 400, "validation_failed", "Idempotency-Key");
    pb_expect_problem(&f->srv, "POST", path, "{\"currency\":\"EUR\",\"stake_minor\":0}", f->token,
                      pb_idem(pb_next_key("bj-test")), 400, "validation_failed", "stake_minor");
    pb_expect_problem(&f->srv, "POST", path, "{\"currency\":\"EUR\",\"stake_minor\":100,\"x\":1}",
                      f->token, pb_idem(pb_next_key("bj-test")), 400, "validation_failed", "x");
    pb_expect_problem(&f->srv, "POST", path, "{\"currency\":\"XXX\",\"stake_minor\":100}", f->token,
                      pb_idem(pb_next_key("bj-test")), 400, "validation_failed", "currency");
    pb_expect_problem(&f->srv, "POST", path, "{\"currency\":\"EUR\",\"stake_minor\":100}", NULL,
                      pb_idem(pb_next_key("bj-test")), 401, "unauthorized", NULL);
    pb_expect_problem(&f->srv, "POST", path, "{\"currency\":\"EUR\",\"stake_minor\":100000000}",
                      f->token, pb_idem(pb_next_key("bj-test")), 422, "stake_out_of_range",
                      "stake_minor");
    assert_int_equal(pb_balance(&f->srv, STAFF, f->player, "cash", "EUR", "posted_minor"),
                     FUNDS + f->moved);
    /* Deal until a round stays open, then refuse actions around it. */
    json_t *doc = NULL;
    for (int i = 0; i < 20; i++) {
        doc = pb_call_json(&f->srv, "POST", path, "{\"currency\":\"EUR\",\"stake_minor\":100}",
                           f->token, pb_idem(pb_next_key("bj-test")), 201);
        if (strcmp(pb_str_at(json_object_get(doc, "round"), "state"), "outcome") == 0)
            break;
        f->moved += pb_int_at(json_object_get(doc, "round"), "payout_minor") - 100;
        json_decref(doc);
        doc = NULL;
    }
    assert_non_null(doc);
    json_t *round = json_object_get(doc, "round");
    json_t *detail = json_object_get(round, "detail");
    char apath[96], body[96];
    snprintf(apath, sizeof(apath), "/api/v1/blackjack/rounds/%lld/actions",
             (long long)pb_int_at(round, "round_id"));
    bool insurance = strcmp(pb_str_at(detail, "phase"), "insurance") == 0;
    pb_expect_problem(&f->srv, "POST", apath, "{\"action\":\"stand\",\"seq\":5}", f->token, NULL,
                      409, "action_out_of_turn", "seq");
    snprintf(body, sizeof(body), "{\"action\":\"%s\",\"seq\":0}",
             insurance ? "hit" : "insurance");
    pb_expect_problem(&f->srv, "POST", apath, body, f->token, NULL, 409,
                      insurance ? "insurance_pending" : "insurance_not_offered", "action");
    pb_expect_problem(&f->srv, "POST", apath, "{\"action\":\"fold\",\"seq\":0}", f->token, NULL,
                      400, "validation_failed", "action");
    pb_expect_problem(&f->srv, "POST", apath, "{\"action\":\"stand\"}", f->token, NULL, 400,
                      "validation_failed", "seq");
    pb_expect_problem(&f->srv, "POST", apath, "{\"action\":\"stand\",\"seq\":0}", f->other_token,
                      NULL, 404, "not_found", "round_id");
    pb_expect_problem(&f->srv, "POST", "/api/v1/blackjack/rounds/abc/actions",
                      "{\"action\":\"stand\",\"seq\":0}", f->token, NULL, 400, "validation_failed",
                      "round_id");
    assert_int_equal(pb_balance(&f->srv, STAFF, f->player, "cash", "EUR", "posted_minor"),
                     FUNDS + f->moved - 100);
    doc = play_out(f, doc);
    json_decref(doc);
    assert_int_equal(pb_balance(&f->srv, STAFF, f->player, "cash", "EUR", "posted_minor"),
                     FUNDS + f->moved);
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
    if (sodium_init() < 0)
        return -1;
    pb_server_start(&f.srv, env);
    pb_player_new(&f.srv, "demo", "player@example.com", "EUR", f.player, sizeof(f.player), f.token,
                  sizeof(f.token));
    pb_player_new(&f.srv, "demo", "other@example.com", "EUR", f.other, sizeof(f.other),
                  f.other_token, sizeof(f.other_token));
    pb_wallet_fund(&f.srv, STAFF, f.player, "EUR", FUNDS);
    pb_wallet_fund(&f.srv, STAFF, f.other, "EUR", 0);
    *state = &f;
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rounds_play_to_the_end_and_move_exact_money),
        cmocka_unit_test(test_deal_replays_and_conflicts),
        cmocka_unit_test(test_bad_requests_change_nothing),
        cmocka_unit_test(test_ledger_verify_holds),
    };
    return cmocka_run_group_tests_name("integration.blackjack_api", tests, setup, pb_teardown_server);
}
