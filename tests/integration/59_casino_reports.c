/* 59_casino_reports.c: the back office's daily casino report against the real binary
 * (GET /api/v1/admin/reports/casino-daily, docs/casino.md "Reports"): after dice rounds in EUR
 * by two players and in USD by a third, the EUR report has one row for today whose count,
 * stakes, payouts and GGR equal the sums of the play answers, the totals equal the row, USD
 * rounds stay in the USD report, an open blackjack round is not counted until it closes, and
 * bad queries are 400 naming the field; no staff session is 401. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <jansson.h>
#include <sodium.h>

#include "client.h"
#include "fixtures.h"

#define STAFF "staff-token-for-tests-0123456789"

static const char *const env[] = {"PITBOSS_STAFF_TOKEN=" STAFF, NULL};

struct player {
    char id[32], token[128], currency[4];
};

struct fixture {
    struct pb_server srv;
    struct player eur1, eur2, usd;
    int64_t eur_rounds, eur_stakes, eur_payouts;
    int64_t usd_rounds, usd_stakes, usd_payouts;
};

static void make_player(const struct pb_server *srv, const char *email, const char *currency,
                        struct player *p)
{
    pb_player_new(srv, "demo", email, currency, p->id, sizeof(p->id), p->token, sizeof(p->token));
    snprintf(p->currency, sizeof(p->currency), "%s", currency);
    pb_wallet_fund(srv, STAFF, p->id, currency, 100000);
}

/* Plays count dice rounds with varied stakes and targets; adds to the sums. */
static void play_dice(const struct pb_server *srv, const struct player *p, int count,
                      int64_t *rounds, int64_t *stakes, int64_t *payouts)
{
    for (int i = 0; i < count; i++) {
        char body[256];
        snprintf(body, sizeof(body),
                 "{\"currency\":\"%s\",\"stake_minor\":%d,\"bet\":"
                 "{\"target\":%d,\"direction\":\"under\"}}",
                 p->currency, 100 + 37 * i, 3000 + 500 * (i % 7));
        json_t *doc = pb_call_json(srv, "POST", "/api/v1/games/dice/play", body, p->token,
                                   pb_idem(pb_next_key("report-test")), 201);
        json_t *round = json_object_get(doc, "round");
        *rounds += 1;
        *stakes += pb_int_at(round, "stake_minor");
        *payouts += pb_int_at(round, "payout_minor");
        json_decref(doc);
    }
}

static json_t *report(const struct pb_server *srv, const char *query)
{
    char path[256];
    snprintf(path, sizeof(path), "/api/v1/admin/reports/casino-daily?%s", query);
    return pb_call_json(srv, "GET", path, NULL, STAFF, NULL, 200);
}

static void today(char out[16])
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 16, "%Y-%m-%d", &tm);
}

static void expect_one_day(json_t *doc, const char *currency, int64_t rounds, int64_t stakes,
                           int64_t payouts)
{
    char day[16];
    today(day);
    assert_string_equal(json_string_value(json_object_get(doc, "currency")), currency);
    assert_int_equal(pb_int_at(doc, "exponent"), 2);
    assert_string_equal(json_string_value(json_object_get(doc, "to")), day);
    json_t *days = json_object_get(doc, "days");
    assert_int_equal(json_array_size(days), 1);
    json_t *row = json_array_get(days, 0);
    assert_string_equal(json_string_value(json_object_get(row, "day")), day);
    assert_int_equal(pb_int_at(row, "rounds"), rounds);
    assert_int_equal(pb_int_at(row, "stakes_minor"), stakes);
    assert_int_equal(pb_int_at(row, "payouts_minor"), payouts);
    assert_int_equal(pb_int_at(row, "ggr_minor"), stakes - payouts);
    json_t *totals = json_object_get(doc, "totals");
    assert_int_equal(pb_int_at(totals, "rounds"), rounds);
    assert_int_equal(pb_int_at(totals, "stakes_minor"), stakes);
    assert_int_equal(pb_int_at(totals, "payouts_minor"), payouts);
    assert_int_equal(pb_int_at(totals, "ggr_minor"), stakes - payouts);
}

static void test_empty_report(void **state)
{
    struct fixture *f = *state;
    json_t *doc = report(&f->srv, "currency=EUR&days=7");
    assert_int_equal(json_array_size(json_object_get(doc, "days")), 0);
    assert_int_equal(pb_int_at(json_object_get(doc, "totals"), "rounds"), 0);
    assert_int_equal(pb_int_at(json_object_get(doc, "totals"), "ggr_minor"), 0);
    json_decref(doc);
}

static void test_days_sum_the_rounds_per_currency(void **state)
{
    struct fixture *f = *state;
    play_dice(&f->srv, &f->eur1, 12, &f->eur_rounds, &f->eur_stakes, &f->eur_payouts);
    play_dice(&f->srv, &f->eur2, 9, &f->eur_rounds, &f->eur_stakes, &f->eur_payouts);
    play_dice(&f->srv, &f->usd, 5, &f->usd_rounds, &f->usd_stakes, &f->usd_payouts);
    json_t *doc = report(&f->srv, "currency=EUR");
    expect_one_day(doc, "EUR", f->eur_rounds, f->eur_stakes, f->eur_payouts);
    /* two EUR players played today */
    assert_int_equal(pb_int_at(json_array_get(json_object_get(doc, "days"), 0), "active_players"),
                     2);
    json_decref(doc);
    doc = report(&f->srv, "currency=USD&days=1");
    expect_one_day(doc, "USD", f->usd_rounds, f->usd_stakes, f->usd_payouts);
    assert_string_equal(json_string_value(json_object_get(doc, "from")),
                        json_string_value(json_object_get(doc, "to")));
    json_decref(doc);
    doc = report(&f->srv, "currency=GBP&days=366");
    assert_int_equal(json_array_size(json_object_get(doc, "days")), 0);
    json_decref(doc);
}

/* Bets per minute: every round opened in the last hour, in whichever minute it fell. */
static void test_bets_per_minute(void **state)
{
    struct fixture *f = *state;
    json_t *doc = pb_call_json(&f->srv, "GET", "/api/v1/admin/reports/casino-minutes", NULL,
                               STAFF, NULL, 200);
    json_t *minutes = json_object_get(doc, "minutes");
    int64_t rounds = 0, players_max = 0;
    assert_true(json_array_size(minutes) >= 1);
    for (size_t i = 0; i < json_array_size(minutes); i++) {
        json_t *m = json_array_get(minutes, i);
        rounds += pb_int_at(m, "rounds");
        if (pb_int_at(m, "players") > players_max)
            players_max = pb_int_at(m, "players");
        assert_true(pb_int_at(m, "players") <= pb_int_at(m, "rounds"));
    }
    assert_int_equal(rounds, f->eur_rounds + f->usd_rounds);
    assert_true(players_max >= 1 && players_max <= 3);
    json_decref(doc);
    static const char *const bad[] = {"minutes=0", "minutes=1441", "minutes=abc", "minutes=-5"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char path[128];
        snprintf(path, sizeof(path), "/api/v1/admin/reports/casino-minutes?%s", bad[i]);
        pb_expect_problem(&f->srv, "GET", path, NULL, STAFF, NULL, 400, "validation_failed",
                          "minutes");
    }
    pb_expect_problem(&f->srv, "GET", "/api/v1/admin/reports/casino-minutes", NULL, NULL, NULL,
                      401, "unauthorized", NULL);
}

static void test_open_rounds_count_once_closed(void **state)
{
    struct fixture *f = *state;
    /* Deal blackjack until a round stays open (a deal can settle at once: a blackjack). */
    json_t *open = NULL;
    for (int i = 0; i < 20 && !open; i++) {
        json_t *doc = pb_call_json(&f->srv, "POST", "/api/v1/blackjack/rounds",
                                   "{\"currency\":\"EUR\",\"stake_minor\":500}", f->eur1.token,
                                   pb_idem(pb_next_key("report-test")), 201);
        json_t *round = json_object_get(doc, "round");
        if (strcmp(json_string_value(json_object_get(round, "state")), "closed") == 0) {
            f->eur_rounds += 1;
            f->eur_stakes += pb_int_at(round, "stake_minor");
            f->eur_payouts += pb_int_at(round, "payout_minor");
            json_decref(doc);
        } else {
            open = doc;
        }
    }
    assert_non_null(open);
    json_t *doc = report(&f->srv, "currency=EUR");
    expect_one_day(doc, "EUR", f->eur_rounds, f->eur_stakes, f->eur_payouts);
    json_decref(doc);
    /* Stand on every hand (declining insurance first) until the round closes. */
    json_t *round = json_object_get(open, "round");
    int64_t id = pb_int_at(round, "round_id");
    json_t *closed = NULL;
    for (int i = 0; i < 10 && !closed; i++) {
        json_t *detail = json_object_get(round, "detail");
        json_t *actions = json_object_get(detail, "actions");
        const char *action = "stand";
        for (size_t j = 0; j < json_array_size(actions); j++)
            if (strcmp(json_string_value(json_array_get(actions, j)), "no_insurance") == 0)
                action = "no_insurance";
        char path[128], body[128];
        snprintf(path, sizeof(path), "/api/v1/blackjack/rounds/%lld/actions", (long long)id);
        snprintf(body, sizeof(body), "{\"action\":\"%s\",\"seq\":%lld}", action,
                 (long long)pb_int_at(detail, "seq"));
        json_t *next = pb_call_json(&f->srv, "POST", path, body, f->eur1.token, NULL, 200);
        json_decref(open);
        open = next;
        round = json_object_get(open, "round");
        if (strcmp(json_string_value(json_object_get(round, "state")), "closed") == 0)
            closed = round;
    }
    assert_non_null(closed);
    f->eur_rounds += 1;
    f->eur_stakes += pb_int_at(closed, "stake_minor");
    f->eur_payouts += pb_int_at(closed, "payout_minor");
    json_decref(open);
    doc = report(&f->srv, "currency=EUR");
    expect_one_day(doc, "EUR", f->eur_rounds, f->eur_stakes, f->eur_payouts);
    json_decref(doc);
}

static void test_bad_queries(void **state)
{
    struct fixture *f = *state;
    static const struct {
        const char *query, *field;
    } bad[] = {
        {"days=7", "currency"},
        {"currency=XXQ", "currency"},
        {"currency=EUR&days=0", "days"},
        {"currency=EUR&days=367", "days"},
        {"currency=EUR&days=abc", "days"},
        {"currency=EUR&days=-1", "days"},
        {"currency=EUR&days=07", "days"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char path[256];
        snprintf(path, sizeof(path), "/api/v1/admin/reports/casino-daily?%s", bad[i].query);
        pb_expect_problem(&f->srv, "GET", path, NULL, STAFF, NULL, 400, "validation_failed",
                          bad[i].field);
    }
    pb_expect_problem(&f->srv, "GET", "/api/v1/admin/reports/casino-daily?currency=EUR", NULL, NULL,
                      NULL, 401, "unauthorized", NULL);
    pb_expect_problem(&f->srv, "GET", "/api/v1/admin/reports/casino-daily?currency=EUR", NULL,
                      f->eur1.token, NULL, 401, "unauthorized", NULL);
}

static int setup(void **state)
{
    static struct fixture f;
    curl_global_init(CURL_GLOBAL_ALL);
    if (sodium_init() < 0)
        return -1;
    pb_server_start(&f.srv, env);
    make_player(&f.srv, "eur1@example.com", "EUR", &f.eur1);
    make_player(&f.srv, "eur2@example.com", "EUR", &f.eur2);
    make_player(&f.srv, "usd@example.com", "USD", &f.usd);
    *state = &f;
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_report),
        cmocka_unit_test(test_days_sum_the_rounds_per_currency),
        cmocka_unit_test(test_bets_per_minute),
        cmocka_unit_test(test_open_rounds_count_once_closed),
        cmocka_unit_test(test_bad_queries),
    };
    return cmocka_run_group_tests_name("integration.casino_reports", tests, setup, pb_teardown_server);
}
