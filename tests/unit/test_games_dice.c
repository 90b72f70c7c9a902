/* test_games_dice.c: dice bets (decoding, bounds), rolls at exactly the target, payouts
 * rounded down, and rolls against values computed independently (Python: hmac.new(server
 * seed text, b"client:nonce:0", sha256), float from the first 4 bytes, floor(f * 10001)). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <string.h>

#include <cmocka.h>

#include "base/base.h"
#include "games/games.h"

static const char *const seed_a =
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
static const char *const seed_b =
    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

static json_t *bet(const char *text)
{
    json_error_t e;
    json_t *j = json_loads(text, 0, &e);
    assert_non_null(j);
    return j;
}

/* Plays text with stake on (seed, client, nonce); returns the payout, checks the roll. */
static int64_t play(const char *text, int64_t stake, const char *seed, const char *client,
                    uint64_t nonce, int expect_roll)
{
    const struct game_type *g = games_find("dice");
    assert_non_null(g);
    json_t *b = bet(text);
    int64_t total = 0;
    struct pb_json_error err;
    assert_int_equal(g->check_bet(b, stake, &total, &err), PB_OK);
    assert_int_equal(total, stake);
    struct rng_fair f;
    assert_int_equal(rng_fair_init(&f, seed, client, nonce), PB_OK);
    struct game_draw d = {.fair = &f};
    struct game_result r = {0};
    g->play(b, 0, stake, &d, &r);
    assert_int_equal(json_integer_value(json_object_get(r.outcome, "roll_hundredths")),
                     expect_roll);
    int64_t payout = r.payout_minor;
    assert_int_equal(json_is_true(json_object_get(r.outcome, "win")), payout > 0);
    json_decref(r.outcome);
    json_decref(b);
    return payout;
}

static void test_rolls_match_independent_hmac(void **state)
{
    (void)state;
    struct rng_fair f;
    assert_int_equal(rng_fair_init(&f, seed_a, "player", 0), PB_OK);
    assert_int_equal(dice_roll(&f), 2439); /* f = 0.2439264536369592 */
    assert_int_equal(rng_fair_init(&f, seed_a, "player", 1), PB_OK);
    assert_int_equal(dice_roll(&f), 1011); /* f = 0.10114795085974038 */
    assert_int_equal(rng_fair_init(&f, seed_b, "lucky", 7), PB_OK);
    assert_int_equal(dice_roll(&f), 8979); /* f = 0.8978613617364317 */
    assert_int_equal(rng_fair_init(&f, seed_b, "lucky", 42), PB_OK);
    assert_int_equal(dice_roll(&f), 8686); /* f = 0.8685630217660218 */
}

/* The roll of (seed_a, "player", 0) is 24.39: a roll equal to the target loses both ways. */
static void test_roll_at_the_target_loses(void **state)
{
    (void)state;
    const char *p = "player";
    assert_int_equal(play("{\"target\":2439,\"direction\":\"under\"}", 100, seed_a, p, 0, 2439),
                     0);
    assert_int_equal(play("{\"target\":2439,\"direction\":\"over\"}", 100, seed_a, p, 0, 2439),
                     0);
    /* one hundredth either side wins: 9900 * 100 / 2440 = 405.7 -> 405 */
    assert_int_equal(play("{\"target\":2440,\"direction\":\"under\"}", 100, seed_a, p, 0, 2439),
                     405);
    /* over 24.38: chance 7562, 990000 / 7562 = 130.9 -> 130 */
    assert_int_equal(play("{\"target\":2438,\"direction\":\"over\"}", 100, seed_a, p, 0, 2439),
                     130);
}

static void test_payouts_round_down(void **state)
{
    (void)state;
    int64_t p;
    assert_int_equal(dice_payout(1, 9800, &p), PB_OK);
    assert_int_equal(p, 1); /* 1.0102 */
    assert_int_equal(dice_payout(3, 7, &p), PB_OK);
    assert_int_equal(p, 4242); /* 29700 / 7 = 4242.86 */
    assert_int_equal(dice_payout(100, 5000, &p), PB_OK);
    assert_int_equal(p, 198);
    assert_int_equal(dice_payout(1, 1, &p), PB_OK);
    assert_int_equal(p, 9900);
    assert_int_equal(dice_payout(INT64_MAX / 9900 + 1, 5000, &p), PB_ERR_INVALID);
}

static void expect_refused(const char *text, int64_t stake, const char *code, const char *field)
{
    const struct game_type *g = games_find("dice");
    json_t *b = text ? bet(text) : NULL;
    int64_t total = -1;
    struct pb_json_error err;
    memset(&err, 0, sizeof(err));
    assert_int_equal(g->check_bet(b, stake, &total, &err), PB_ERR_INVALID);
    assert_string_equal(err.code, code);
    assert_string_equal(err.field, field);
    assert_int_equal(total, -1);
    json_decref(b);
}

static void test_bad_bets_are_refused(void **state)
{
    (void)state;
    expect_refused(NULL, 100, "wrong_type", "");
    expect_refused("[1]", 100, "wrong_type", "");
    expect_refused("{\"direction\":\"under\"}", 100, "missing_field", "target");
    expect_refused("{\"target\":5000}", 100, "missing_field", "direction");
    expect_refused("{\"target\":\"50.00\",\"direction\":\"under\"}", 100, "wrong_type",
                   "target");
    expect_refused("{\"target\":50.5,\"direction\":\"under\"}", 100, "wrong_type", "target");
    expect_refused("{\"target\":5000,\"direction\":\"sideways\"}", 100, "out_of_range",
                   "direction");
    expect_refused("{\"target\":5000,\"direction\":\"under\",\"x\":1}", 100, "unknown_field",
                   "x");
    /* chance bounds: under 0 (0%), under 98.01, over 1.99 (98.01%), over 100.00 (0%) */
    expect_refused("{\"target\":0,\"direction\":\"under\"}", 100, "out_of_range", "target");
    expect_refused("{\"target\":9801,\"direction\":\"under\"}", 100, "out_of_range", "target");
    expect_refused("{\"target\":199,\"direction\":\"over\"}", 100, "out_of_range", "target");
    expect_refused("{\"target\":10000,\"direction\":\"over\"}", 100, "out_of_range", "target");
    expect_refused("{\"target\":-1,\"direction\":\"over\"}", 100, "out_of_range", "target");
    expect_refused("{\"target\":5000,\"direction\":\"under\"}", 0, "out_of_range", "");
    expect_refused("{\"target\":5000,\"direction\":\"under\"}", INT64_MAX / 9000,
                   "stake_too_large", "");
}

static void test_bounds_are_accepted(void **state)
{
    (void)state;
    const struct game_type *g = games_find("dice");
    const char *ok[] = {"{\"target\":1,\"direction\":\"under\"}",
                        "{\"target\":9800,\"direction\":\"under\"}",
                        "{\"target\":200,\"direction\":\"over\"}",
                        "{\"target\":9999,\"direction\":\"over\"}"};
    for (size_t i = 0; i < PB_ARRAY_LEN(ok); i++) {
        json_t *b = bet(ok[i]);
        int64_t total;
        struct pb_json_error err;
        assert_int_equal(g->check_bet(b, 1, &total, &err), PB_OK);
        json_decref(b);
    }
}

/* Every roll, counted: under 50.00 wins on 5000 of 10001 rolls. */
static void test_figures(void **state)
{
    (void)state;
    struct game_figures fig;
    dice_figures(5000, &fig);
    assert_true(fabs(fig.rtp - 9900.0 / 10001) < 1e-12);
    assert_true(fabs(fig.hit_frequency - 5000.0 / 10001) < 1e-12);
    /* E[X^2] = p * 1.98^2; sd = sqrt(E[X^2] - rtp^2) */
    double p = 5000.0 / 10001, e2 = p * 1.98 * 1.98, rtp = 9900.0 / 10001;
    assert_true(fabs(fig.sd - sqrt(e2 - rtp * rtp)) < 1e-12);
    assert_int_equal(dice_game.variants[0].rtp_ppm, 989901);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rolls_match_independent_hmac),
        cmocka_unit_test(test_roll_at_the_target_loses),
        cmocka_unit_test(test_payouts_round_down),
        cmocka_unit_test(test_bad_bets_are_refused),
        cmocka_unit_test(test_bounds_are_accepted),
        cmocka_unit_test(test_figures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
