/* test_games_roulette.c: every bet kind pays right on every pocket (the pockets come from
 * nonces whose first float was computed independently: Python's hmac over
 * ("aaa...a", "roulette:<nonce>:0"), floor(f * 37)); layouts that do not form a bet, limits
 * and malformed documents are refused with the field named. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "base/base.h"
#include "games/games.h"

static const char *const seed_a =
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
/* nonce_for[p]: a nonce of (seed_a, "roulette") whose pocket is p (Python, independently) */
static const int nonce_for[37] = {1,  66, 51, 2,  32, 28,  21, 106, 36, 39, 24, 29, 12,
                                  104, 42, 22, 68, 15, 20, 35, 17,  0,  3,  71, 4,  8,
                                  38, 79, 129, 23, 5, 43, 6,  26, 143, 18, 14};

static json_t *doc(const char *text)
{
    json_error_t e;
    json_t *j = json_loads(text, 0, &e);
    if (!j)
        fail_msg("bad test JSON %s: %s", text, e.text);
    return j;
}

static int64_t spin(const char *text, int64_t stake, int pocket, int64_t *total)
{
    const struct game_type *g = games_find("roulette");
    assert_non_null(g);
    json_t *b = doc(text);
    struct pb_json_error err;
    if (g->check_bet(b, stake, total, &err) != PB_OK)
        fail_msg("%s refused: %s %s %s", text, err.code, err.field, err.detail);
    struct rng_fair f;
    assert_int_equal(rng_fair_init(&f, seed_a, "roulette", (uint64_t)nonce_for[pocket]), PB_OK);
    struct game_draw d = {.fair = &f};
    struct game_result r = {0};
    g->play(b, 0, stake, &d, &r);
    assert_int_equal(json_integer_value(json_object_get(r.outcome, "pocket")), pocket);
    json_decref(r.outcome);
    json_decref(b);
    return r.payout_minor;
}

struct case_ {
    const char *bet;  /* one bet object */
    int pays;         /* to one */
    int covered[19];  /* pockets, ended by -1 */
};

static const struct case_ cases[] = {
    {"{\"kind\":\"straight\",\"numbers\":[17],\"chips\":1}", 35, {17, -1}},
    {"{\"kind\":\"straight\",\"numbers\":[0],\"chips\":1}", 35, {0, -1}},
    {"{\"kind\":\"split\",\"numbers\":[20,17],\"chips\":1}", 17, {17, 20, -1}},
    {"{\"kind\":\"split\",\"numbers\":[2,3],\"chips\":1}", 17, {2, 3, -1}},
    {"{\"kind\":\"split\",\"numbers\":[0,2],\"chips\":1}", 17, {0, 2, -1}},
    {"{\"kind\":\"street\",\"numbers\":[13,14,15],\"chips\":1}", 11, {13, 14, 15, -1}},
    {"{\"kind\":\"street\",\"numbers\":[2,0,1],\"chips\":1}", 11, {0, 1, 2, -1}},
    {"{\"kind\":\"street\",\"numbers\":[0,2,3],\"chips\":1}", 11, {0, 2, 3, -1}},
    {"{\"kind\":\"corner\",\"numbers\":[17,18,20,21],\"chips\":1}", 8, {17, 18, 20, 21, -1}},
    {"{\"kind\":\"corner\",\"numbers\":[32,33,35,36],\"chips\":1}", 8, {32, 33, 35, 36, -1}},
    {"{\"kind\":\"corner\",\"numbers\":[0,1,2,3],\"chips\":1}", 8, {0, 1, 2, 3, -1}},
    {"{\"kind\":\"six_line\",\"numbers\":[31,32,33,34,35,36],\"chips\":1}", 5,
     {31, 32, 33, 34, 35, 36, -1}},
    {"{\"kind\":\"six_line\",\"numbers\":[1,2,3,4,5,6],\"chips\":1}", 5, {1, 2, 3, 4, 5, 6, -1}},
    {"{\"kind\":\"column\",\"which\":1,\"chips\":1}", 2,
     {1, 4, 7, 10, 13, 16, 19, 22, 25, 28, 31, 34, -1}},
    {"{\"kind\":\"column\",\"which\":3,\"chips\":1}", 2,
     {3, 6, 9, 12, 15, 18, 21, 24, 27, 30, 33, 36, -1}},
    {"{\"kind\":\"dozen\",\"which\":2,\"chips\":1}", 2,
     {13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, -1}},
    {"{\"kind\":\"red\",\"chips\":1}", 1,
     {1, 3, 5, 7, 9, 12, 14, 16, 18, 19, 21, 23, 25, 27, 30, 32, 34, 36, -1}},
    {"{\"kind\":\"black\",\"chips\":1}", 1,
     {2, 4, 6, 8, 10, 11, 13, 15, 17, 20, 22, 24, 26, 28, 29, 31, 33, 35, -1}},
    {"{\"kind\":\"odd\",\"chips\":1}", 1,
     {1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31, 33, 35, -1}},
    {"{\"kind\":\"even\",\"chips\":1}", 1,
     {2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30, 32, 34, 36, -1}},
    {"{\"kind\":\"low\",\"chips\":1}", 1,
     {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, -1}},
    {"{\"kind\":\"high\",\"chips\":1}", 1,
     {19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, -1}},
};

static void test_every_kind_pays_right_on_every_pocket(void **state)
{
    (void)state;
    for (size_t c = 0; c < PB_ARRAY_LEN(cases); c++) {
        char text[256];
        snprintf(text, sizeof(text), "{\"bets\":[%s]}", cases[c].bet);
        int wins = 0;
        for (int p = 0; p < 37; p++) {
            bool covered = false;
            for (int i = 0; cases[c].covered[i] >= 0; i++)
                covered |= cases[c].covered[i] == p;
            int64_t total;
            int64_t payout = spin(text, 50, p, &total);
            assert_int_equal(total, 50);
            if (payout != (covered ? 50 * (cases[c].pays + 1) : 0))
                fail_msg("%s on pocket %d paid %lld", text, p, (long long)payout);
            wins += covered;
        }
        /* every bet returns 36/37: wins * (pays + 1) = 36 */
        assert_int_equal(wins * (cases[c].pays + 1), 36);
    }
}

static void test_several_bets_add_up(void **state)
{
    (void)state;
    int64_t total;
    /* 17 is black, in the second dozen */
    int64_t payout = spin("{\"bets\":[{\"kind\":\"straight\",\"numbers\":[17],\"chips\":2},"
                          "{\"kind\":\"red\",\"chips\":1},{\"kind\":\"black\",\"chips\":3},"
                          "{\"kind\":\"dozen\",\"which\":2,\"chips\":1}]}",
                          100, 17, &total);
    assert_int_equal(total, 700);
    assert_int_equal(payout, 200 * 36 + 300 * 2 + 100 * 3);
    /* zero: every outside bet loses, the straight on zero wins */
    payout = spin("{\"bets\":[{\"kind\":\"straight\",\"numbers\":[0],\"chips\":1},"
                  "{\"kind\":\"even\",\"chips\":1},{\"kind\":\"low\",\"chips\":1}]}",
                  100, 0, &total);
    assert_int_equal(total, 300);
    assert_int_equal(payout, 3600);
}

static void refused(const char *text, int64_t stake, const char *code, const char *field)
{
    const struct game_type *g = games_find("roulette");
    json_t *b = text ? doc(text) : NULL;
    int64_t total = -1;
    struct pb_json_error err;
    memset(&err, 0, sizeof(err));
    if (g->check_bet(b, stake, &total, &err) != PB_ERR_INVALID)
        fail_msg("%s was accepted", text);
    if (strcmp(err.code, code) != 0 || strcmp(err.field, field) != 0)
        fail_msg("%s: got %s at '%s' (%s), want %s at '%s'", text, err.code, err.field,
                 err.detail, code, field);
    assert_int_equal(total, -1);
    json_decref(b);
}

#define ONE(b) "{\"bets\":[" b "]}"

static void test_bets_not_on_the_layout_are_refused(void **state)
{
    (void)state;
    const char *f = "bets[0].numbers";
    refused(ONE("{\"kind\":\"split\",\"numbers\":[1,5],\"chips\":1}"), 10, "invalid_bet", f);
    refused(ONE("{\"kind\":\"split\",\"numbers\":[3,4],\"chips\":1}"), 10, "invalid_bet", f);
    refused(ONE("{\"kind\":\"split\",\"numbers\":[0,4],\"chips\":1}"), 10, "invalid_bet", f);
    refused(ONE("{\"kind\":\"split\",\"numbers\":[36,39],\"chips\":1}"), 10, "out_of_range", f);
    refused(ONE("{\"kind\":\"split\",\"numbers\":[5,5],\"chips\":1}"), 10, "invalid_bet", f);
    refused(ONE("{\"kind\":\"split\",\"numbers\":[5],\"chips\":1}"), 10, "invalid_bet", f);
    refused(ONE("{\"kind\":\"street\",\"numbers\":[2,3,4],\"chips\":1}"), 10, "invalid_bet", f);
    refused(ONE("{\"kind\":\"street\",\"numbers\":[0,1,3],\"chips\":1}"), 10, "invalid_bet", f);
    refused(ONE("{\"kind\":\"corner\",\"numbers\":[3,4,6,7],\"chips\":1}"), 10, "invalid_bet",
            f);
    refused(ONE("{\"kind\":\"corner\",\"numbers\":[1,2,4,6],\"chips\":1}"), 10, "invalid_bet",
            f);
    refused(ONE("{\"kind\":\"corner\",\"numbers\":[34,35,37,38],\"chips\":1}"), 10,
            "out_of_range", f);
    refused(ONE("{\"kind\":\"six_line\",\"numbers\":[2,3,4,5,6,7],\"chips\":1}"), 10,
            "invalid_bet", f);
    refused(ONE("{\"kind\":\"six_line\",\"numbers\":[34,35,36,0,1,2],\"chips\":1}"), 10,
            "invalid_bet", f);
    refused(ONE("{\"kind\":\"straight\",\"numbers\":[37],\"chips\":1}"), 10, "out_of_range", f);
    refused(ONE("{\"kind\":\"straight\",\"numbers\":[-1],\"chips\":1}"), 10, "out_of_range", f);
    refused(ONE("{\"kind\":\"straight\",\"numbers\":[\"7\"],\"chips\":1}"), 10, "wrong_type", f);
    refused(ONE("{\"kind\":\"straight\",\"chips\":1}"), 10, "missing_field", f);
    refused(ONE("{\"kind\":\"red\",\"numbers\":[1],\"chips\":1}"), 10, "unknown_field", f);
}

static void test_malformed_documents_and_limits_are_refused(void **state)
{
    (void)state;
    refused(NULL, 10, "wrong_type", "");
    refused("{}", 10, "missing_field", "bets");
    refused("{\"bets\":{}}", 10, "wrong_type", "bets");
    refused("{\"bets\":[]}", 10, "invalid_bet", "bets");
    refused("{\"bets\":[1]}", 10, "wrong_type", "bets[0]");
    refused("{\"bets\":[],\"x\":1}", 10, "unknown_field", "x");
    refused(ONE("{\"kind\":\"red\",\"chips\":1},{\"kind\":\"purple\",\"chips\":1}"), 10,
            "out_of_range", "bets[1].kind");
    refused(ONE("{\"kind\":\"red\"}"), 10, "missing_field", "bets[0].chips");
    refused(ONE("{\"kind\":\"red\",\"chips\":0}"), 10, "out_of_range", "bets[0].chips");
    refused(ONE("{\"kind\":\"red\",\"chips\":1,\"colour\":1}"), 10, "unknown_field",
            "bets[0].colour");
    refused(ONE("{\"kind\":\"dozen\",\"chips\":1}"), 10, "missing_field", "bets[0].which");
    refused(ONE("{\"kind\":\"dozen\",\"which\":4,\"chips\":1}"), 10, "out_of_range",
            "bets[0].which");
    refused(ONE("{\"kind\":\"odd\",\"which\":1,\"chips\":1}"), 10, "unknown_field",
            "bets[0].which");
    /* limits (defaults): straight 10 .. 10000, red up to 500000, 2000000 per spin */
    refused(ONE("{\"kind\":\"straight\",\"numbers\":[1],\"chips\":1}"), 9, "below_table_limit",
            "bets[0].chips");
    refused(ONE("{\"kind\":\"straight\",\"numbers\":[1],\"chips\":101}"), 100,
            "above_table_limit", "bets[0].chips");
    refused(ONE("{\"kind\":\"red\",\"chips\":1000000}"), INT64_MAX / 1000, "above_table_limit",
            "bets[0].chips");
    refused(ONE("{\"kind\":\"red\",\"chips\":5000},{\"kind\":\"black\",\"chips\":5000},"
                "{\"kind\":\"odd\",\"chips\":5000},{\"kind\":\"even\",\"chips\":5000},"
                "{\"kind\":\"low\",\"chips\":1}"), 100, "above_table_limit", "bets");
    refused("{\"bets\":[1]}", 0, "out_of_range", "");
    char many[8192] = "{\"bets\":[";
    for (int i = 0; i < ROULETTE_BETS_MAX + 1; i++)
        strcat(many, i ? ",{\"kind\":\"red\",\"chips\":1}" : "{\"kind\":\"red\",\"chips\":1}");
    strcat(many, "]}");
    refused(many, 10, "too_many_bets", "bets");
    /* at the limits: accepted */
    int64_t total;
    spin(ONE("{\"kind\":\"straight\",\"numbers\":[1],\"chips\":100}"), 100, 1, &total);
    assert_int_equal(total, 10000);
}

static void test_changed_limits_apply(void **state)
{
    (void)state;
    struct roulette_limits l;
    roulette_limits_default(&l);
    l.max_minor[ROULETTE_STRAIGHT] = 50;
    assert_int_equal(roulette_set_limits(&l), PB_OK);
    refused(ONE("{\"kind\":\"straight\",\"numbers\":[1],\"chips\":6}"), 10, "above_table_limit",
            "bets[0].chips");
    l.min_minor[ROULETTE_RED] = 0;
    assert_int_equal(roulette_set_limits(&l), PB_ERR_INVALID);
    roulette_limits_default(&l);
    assert_int_equal(roulette_set_limits(&l), PB_OK);
}

static void test_limits_from_a_document(void **state)
{
    (void)state;
    struct roulette_limits l, def;
    struct pb_json_error err;
    roulette_limits_default(&def);
    json_t *d = doc("{}");
    assert_int_equal(roulette_limits_decode(d, &l, &err), PB_OK);
    assert_memory_equal(&l, &def, sizeof(l));
    json_decref(d);
    d = doc("{\"max_total_minor\":500,\"bets\":{\"straight\":{\"min_minor\":5,"
            "\"max_minor\":60},\"red\":{\"max_minor\":400}}}");
    assert_int_equal(roulette_limits_decode(d, &l, &err), PB_OK);
    json_decref(d);
    assert_int_equal(l.max_total_minor, 500);
    assert_int_equal(l.min_minor[ROULETTE_STRAIGHT], 5);
    assert_int_equal(l.max_minor[ROULETTE_STRAIGHT], 60);
    assert_int_equal(l.min_minor[ROULETTE_RED], def.min_minor[ROULETTE_RED]);
    assert_int_equal(l.max_minor[ROULETTE_RED], 400);
    assert_int_equal(l.max_minor[ROULETTE_SPLIT], def.max_minor[ROULETTE_SPLIT]);
    /* the round trip through the document form */
    json_t *back = roulette_limits_json(&l);
    struct roulette_limits again;
    assert_int_equal(roulette_limits_decode(back, &again, &err), PB_OK);
    assert_memory_equal(&again, &l, sizeof(l));
    json_decref(back);
    /* in force: a straight of 7 chips of 10 is above 60, 6 chips pass; the total binds */
    assert_int_equal(roulette_set_limits(&l), PB_OK);
    struct roulette_limits now;
    roulette_limits_get(&now);
    assert_memory_equal(&now, &l, sizeof(l));
    refused(ONE("{\"kind\":\"straight\",\"numbers\":[1],\"chips\":7}"), 10, "above_table_limit",
            "bets[0].chips");
    int64_t total;
    assert_int_equal(spin(ONE("{\"kind\":\"straight\",\"numbers\":[1],\"chips\":6}"), 10, 1,
                          &total), 60 * 36);
    assert_int_equal(total, 60);
    refused(ONE("{\"kind\":\"red\",\"chips\":41}"), 10, "above_table_limit", "bets[0].chips");
    assert_int_equal(roulette_set_limits(&def), PB_OK);
    /* refusals name the field */
    static const struct {
        const char *text, *code, *field;
    } bad[] = {
        {"[]", "out_of_range", ""},
        {"{\"max_total\":5}", "unknown_field", "max_total"},
        {"{\"max_total_minor\":0}", "out_of_range", "max_total_minor"},
        {"{\"max_total_minor\":\"5\"}", "out_of_range", "max_total_minor"},
        {"{\"max_total_minor\":1000000000000001}", "out_of_range", "max_total_minor"},
        {"{\"bets\":[]}", "out_of_range", "bets"},
        {"{\"bets\":{\"trio\":{}}}", "unknown_field", "bets.trio"},
        {"{\"bets\":{\"split\":5}}", "out_of_range", "bets.split"},
        {"{\"bets\":{\"split\":{\"min\":5}}}", "unknown_field", "bets.split.min"},
        {"{\"bets\":{\"split\":{\"min_minor\":0}}}", "out_of_range", "bets.split.min_minor"},
        {"{\"bets\":{\"split\":{\"max_minor\":-1}}}", "out_of_range", "bets.split.max_minor"},
        {"{\"bets\":{\"split\":{\"min_minor\":50,\"max_minor\":40}}}", "out_of_range",
         "bets.split.min_minor"},
        {"{\"bets\":{\"dozen\":{\"min_minor\":300000}}}", "out_of_range", "bets.dozen.min_minor"},
    };
    for (size_t i = 0; i < PB_ARRAY_LEN(bad); i++) {
        d = doc(bad[i].text);
        if (roulette_limits_decode(d, &l, &err) != PB_ERR_INVALID)
            fail_msg("limits %zu accepted", i);
        if (strcmp(err.code, bad[i].code) != 0 || strcmp(err.field, bad[i].field) != 0)
            fail_msg("limits %zu: got %s at '%s', want %s at '%s'", i, err.code, err.field,
                     bad[i].code, bad[i].field);
        json_decref(d);
    }
    roulette_limits_get(&now);
    assert_memory_equal(&now, &def, sizeof(def));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_kind_pays_right_on_every_pocket),
        cmocka_unit_test(test_several_bets_add_up),
        cmocka_unit_test(test_bets_not_on_the_layout_are_refused),
        cmocka_unit_test(test_malformed_documents_and_limits_are_refused),
        cmocka_unit_test(test_changed_limits_apply),
        cmocka_unit_test(test_limits_from_a_document),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
