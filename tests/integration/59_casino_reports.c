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

#define STAFF "staff-token-for-tests-0123456789"
#define PASSWORD "correct horse battery"

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

static json_t *call_json(const struct pb_server *srv, const char *method, const char *path,
                         const char *body, const char *token, const char *key, long status)
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
    struct pb_response r;
    pb_request(srv, method, path, body ? "application/json" : NULL, body, body ? strlen(body) : 0,
               headers, &r);
    if (r.status != status)
        fail_msg("%s %s answered %ld, expected %ld: %s", method, path, r.status, status, r.body);
    json_t *doc = r.body_len ? json_loads(r.body, 0, NULL) : NULL;
    if (r.body_len && !doc)
        fail_msg("not JSON: %s", r.body);
    pb_response_release(&r);
    return doc;
}

static int64_t int_at(json_t *obj, const char *name)
{
    json_t *v = json_object_get(obj, name);
    if (!json_is_integer(v))
        fail_msg("%s is not an integer", name);
    return json_integer_value(v);
}

static const char *next_key(void)
{
    static char key[64];
    static int counter;
    snprintf(key, sizeof(key), "report-test-%d", ++counter);
    return key;
}

static void make_player(const struct pb_server *srv, const char *email, const char *currency,
                        struct player *p)
{
    char body[512], path[128];
    snprintf(body, sizeof(body),
             "{\"email\":\"%s\",\"password\":\"" PASSWORD "\","
             "\"date_of_birth\":\"1990-05-17\",\"country\":\"DE\",\"currency\":\"%s\","
             "\"brand\":\"demo\"}",
             email, currency);
    json_t *doc = call_json(srv, "POST", "/api/v1/players", body, NULL, NULL, 201);
    snprintf(p->id, sizeof(p->id), "%s", json_string_value(json_object_get(doc, "player_id")));
    json_decref(doc);
    snprintf(body, sizeof(body),
             "{\"brand\":\"demo\",\"email\":\"%s\",\"password\":\"" PASSWORD "\"}", email);
    doc = call_json(srv, "POST", "/api/v1/sessions", body, NULL, NULL, 201);
    snprintf(p->token, sizeof(p->token), "%s", json_string_value(json_object_get(doc, "token")));
    json_decref(doc);
    snprintf(p->currency, sizeof(p->currency), "%s", currency);
    snprintf(path, sizeof(path), "/api/v1/players/%s/wallets", p->id);
    snprintf(body, sizeof(body), "{\"currency\":\"%s\"}", currency);
    json_decref(call_json(srv, "POST", path, body, STAFF, NULL, 200));
    snprintf(body, sizeof(body),
             "{\"player_id\":\"%s\",\"currency\":\"%s\",\"account\":"
             "\"cash\",\"amount_minor\":100000,\"reason\":\"test funding\"}",
             p->id, currency);
    json_decref(call_json(srv, "POST", "/api/v1/admin/adjustments", body, STAFF, next_key(), 201));
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
        json_t *doc =
            call_json(srv, "POST", "/api/v1/games/dice/play", body, p->token, next_key(), 201);
        json_t *round = json_object_get(doc, "round");
        *rounds += 1;
        *stakes += int_at(round, "stake_minor");
        *payouts += int_at(round, "payout_minor");
        json_decref(doc);
    }
}

static json_t *report(const struct pb_server *srv, const char *query)
{
    char path[256];
    snprintf(path, sizeof(path), "/api/v1/admin/reports/casino-daily?%s", query);
    return call_json(srv, "GET", path, NULL, STAFF, NULL, 200);
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
    assert_int_equal(int_at(doc, "exponent"), 2);
    assert_string_equal(json_string_value(json_object_get(doc, "to")), day);
    json_t *days = json_object_get(doc, "days");
    assert_int_equal(json_array_size(days), 1);
    json_t *row = json_array_get(days, 0);
    assert_string_equal(json_string_value(json_object_get(row, "day")), day);
    assert_int_equal(int_at(row, "rounds"), rounds);
    assert_int_equal(int_at(row, "stakes_minor"), stakes);
    assert_int_equal(int_at(row, "payouts_minor"), payouts);
    assert_int_equal(int_at(row, "ggr_minor"), stakes - payouts);
    json_t *totals = json_object_get(doc, "totals");
    assert_int_equal(int_at(totals, "rounds"), rounds);
    assert_int_equal(int_at(totals, "stakes_minor"), stakes);
    assert_int_equal(int_at(totals, "payouts_minor"), payouts);
    assert_int_equal(int_at(totals, "ggr_minor"), stakes - payouts);
}

static void test_empty_report(void **state)
{
    struct fixture *f = *state;
    json_t *doc = report(&f->srv, "currency=EUR&days=7");
    assert_int_equal(json_array_size(json_object_get(doc, "days")), 0);
    assert_int_equal(int_at(json_object_get(doc, "totals"), "rounds"), 0);
    assert_int_equal(int_at(json_object_get(doc, "totals"), "ggr_minor"), 0);
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

static void test_open_rounds_count_once_closed(void **state)
{
    struct fixture *f = *state;
    /* Deal blackjack until a round stays open (a deal can settle at once: a blackjack). */
    json_t *open = NULL;
    for (int i = 0; i < 20 && !open; i++) {
        json_t *doc =
            call_json(&f->srv, "POST", "/api/v1/blackjack/rounds",
                      "{\"currency\":\"EUR\",\"stake_minor\":500}", f->eur1.token, next_key(), 201);
        json_t *round = json_object_get(doc, "round");
        if (strcmp(json_string_value(json_object_get(round, "state")), "closed") == 0) {
            f->eur_rounds += 1;
            f->eur_stakes += int_at(round, "stake_minor");
            f->eur_payouts += int_at(round, "payout_minor");
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
    int64_t id = int_at(round, "round_id");
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
                 (long long)int_at(detail, "seq"));
        json_t *next = call_json(&f->srv, "POST", path, body, f->eur1.token, NULL, 200);
        json_decref(open);
        open = next;
        round = json_object_get(open, "round");
        if (strcmp(json_string_value(json_object_get(round, "state")), "closed") == 0)
            closed = round;
    }
    assert_non_null(closed);
    f->eur_rounds += 1;
    f->eur_stakes += int_at(closed, "stake_minor");
    f->eur_payouts += int_at(closed, "payout_minor");
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
        cmocka_unit_test(test_empty_report),
        cmocka_unit_test(test_days_sum_the_rounds_per_currency),
        cmocka_unit_test(test_open_rounds_count_once_closed),
        cmocka_unit_test(test_bad_queries),
    };
    return cmocka_run_group_tests_name("integration.casino_reports", tests, setup, teardown);
}
