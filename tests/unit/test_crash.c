/* test_crash.c: crash points against values computed independently (Python's hashlib and
 * hmac: r = int(first 13 hex digits of d), max(100, 99 * 2^52 // (2^52 - r))), the chain
 * (terminal, round numbers, a broken link), the curve and its inverse, and cash-outs
 * decided by the server clock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "base/base.h"
#include "games/crash.h"
#include "rng/rng.h"

static const char *const zero_seed =
    "0000000000000000000000000000000000000000000000000000000000000000";
static const char *const block_salt =
    "0000000000000000000fa3b65e43e4240d71762a5bf397d5304b2596d116859c";

static void parse(const char *hex, uint8_t h[CRASH_HASH_BYTES])
{
    assert_int_equal(crash_hash_parse(hex, h), PB_OK);
}

static void test_crash_points_match_independent_values(void **state)
{
    (void)state;
    static const struct { const char *hash; uint64_t plain, salted; const char *salt; } v[] = {
        {"fe15c0d3ebe314fad720a08b839a004c2e6386f5aecc19ec74807d1920cb6aeb", 13234, 506, NULL},
        {"12771355e46cd47c71ed1721fd5319b383cca3a1f9fce3aa1c8cd3bd37af20d7", 106, 108, NULL},
        {"2b32db6c2c0a6235fb1397e8225ea85e0f0e6e8c7b126d0016ccbde0e667151e", 119, 181, NULL},
        {"66687aadf862bd776c8fc18b8e9f8e20089714856ee233b3902a591d0d5f2925", 165, 204, NULL},
        {"0000000000000000000000000000000000000000000000000000000000000000", 100, 399, NULL},
        {"2b52ffa01295f9783eab7759e4b1640f335117fdc71bac476d97d5a2d136529d", 119, 135,
         "public salt"},
        {"51ecc2735d2325d1b34f1e21769311996b1772ee2c2e20117e4d91f0cbed7489", 145, 399,
         "public salt"},
        {"0c1d588b00f6cdbd1b47a34a35784b251d5315e805704b18176d3ac188ccd982", 103, 203,
         "public salt"},
        {"a759bae738e1fe28be91db02a3ff101c91a310116d85cb82403b4c960a447d50", 285, 131,
         "public salt"},
    };
    for (size_t i = 0; i < PB_ARRAY_LEN(v); i++) {
        uint8_t h[CRASH_HASH_BYTES];
        parse(v[i].hash, h);
        assert_int_equal(crash_point(h, NULL), v[i].plain);
        assert_int_equal(crash_point(h, v[i].salt ? v[i].salt : block_salt), v[i].salted);
    }
    uint8_t h[CRASH_HASH_BYTES];
    parse("fffffffffffff000000000000000000000000000000000000000000000000000", h);
    assert_int_equal(crash_point(h, NULL), 445856363109679104ULL); /* r = 2^52 - 1 */
    parse("8000000000000fffffffffffffffffffffffffffffffffffffffffffffffffff", h);
    assert_int_equal(crash_point(h, NULL), 198); /* r = 2^51: 99 * 2 = 198 */
    char text[32];
    crash_format(13234, text);
    assert_string_equal(text, "132.34");
    crash_format(100, text);
    assert_string_equal(text, "1.00");
    assert_int_equal(crash_hash_parse("00", h), PB_ERR_INVALID);
    assert_int_equal(crash_hash_parse(
                         "g000000000000000000000000000000000000000000000000000000000000000", h),
                     PB_ERR_INVALID);
}

static void test_chain_terminal_rounds_and_verification(void **state)
{
    (void)state;
    uint8_t seed[CRASH_HASH_BYTES], terminal[CRASH_HASH_BYTES], round[CRASH_HASH_BYTES];
    parse(zero_seed, seed);
    crash_chain_terminal(seed, 5, terminal);
    char hex[CRASH_HASH_HEX + 1];
    crash_hash_hex(terminal, hex);
    assert_string_equal(hex, "376da11fe3ab3d0eaaddb418ccb49b5426d5c2504f526f7766580f6e45984e3b");
    crash_chain_round(seed, 5, 1, round);
    crash_hash_hex(round, hex);
    assert_string_equal(hex, "fe15c0d3ebe314fad720a08b839a004c2e6386f5aecc19ec74807d1920cb6aeb");
    for (uint64_t k = 1; k <= 5; k++) {
        uint64_t found = 0;
        crash_chain_round(seed, 5, k, round);
        assert_int_equal(crash_chain_verify(round, terminal, 10, &found), PB_OK);
        assert_int_equal(found, k);
    }
    crash_chain_round(seed, 5, 5, round);
    uint64_t found;
    assert_int_equal(crash_chain_verify(round, terminal, 4, &found), PB_ERR_NOT_FOUND);
    round[0] ^= 1;
    assert_int_equal(crash_chain_verify(round, terminal, 100, &found), PB_ERR_NOT_FOUND);
}

static void test_chain_check_finds_the_broken_link(void **state)
{
    (void)state;
    uint8_t seed[CRASH_HASH_BYTES], hashes[8][CRASH_HASH_BYTES];
    memset(seed, 7, sizeof(seed));
    for (uint64_t k = 1; k <= 8; k++)
        crash_chain_round(seed, 8, k, hashes[k - 1]);
    assert_int_equal(crash_chain_check_links((const uint8_t(*)[CRASH_HASH_BYTES])hashes, 8), -1);
    hashes[5][31] ^= 0x80; /* round 6 replaced: the link 5 -> 6 breaks */
    assert_int_equal(crash_chain_check_links((const uint8_t(*)[CRASH_HASH_BYTES])hashes, 8), 4);
}

static void test_curve_and_inverse_agree(void **state)
{
    (void)state;
    assert_int_equal(crash_multiplier_at(0), 100);
    assert_int_equal(crash_multiplier_at(11552), 199); /* e^0.69312 = 1.99995 */
    assert_int_equal(crash_multiplier_at(11553), 200); /* e^0.69318 = 2.00007 */
    assert_int_equal(crash_time_ms(100), 0);
    assert_int_equal(crash_time_ms(200), 11553);
    assert_int_equal(crash_time_ms(1000), 38377);
    uint64_t prev = 100;
    for (int64_t t = 0; t < 200000; t += 7) {
        uint64_t m = crash_multiplier_at(t);
        assert_true(m >= prev);
        prev = m;
    }
    for (uint64_t x = 101; x <= 20000; x++) {
        int64_t t = crash_time_ms(x);
        assert_true(crash_multiplier_at(t) >= x);
        assert_true(crash_multiplier_at(t - 1) < x);
    }
    int64_t t = crash_time_ms(445856363109679104ULL); /* the largest crash point */
    assert_true(t > 0 && t < 1000000);
}

static void test_auto_cashout_wins_at_or_below_the_crash(void **state)
{
    (void)state;
    struct crash_cashout c;
    assert_int_equal(crash_resolve(250, 1000, 200, -1, &c), PB_OK);
    assert_true(c.won);
    assert_int_equal(c.multiplier, 200);
    assert_int_equal(c.payout_minor, 2000);
    assert_int_equal(c.at_ms, crash_time_ms(200));
    assert_int_equal(crash_resolve(250, 1000, 250, -1, &c), PB_OK); /* at the crash point */
    assert_true(c.won);
    assert_int_equal(c.payout_minor, 2500);
    assert_int_equal(crash_resolve(250, 1000, 251, -1, &c), PB_OK);
    assert_false(c.won);
    assert_int_equal(c.payout_minor, 0);
    assert_int_equal(crash_resolve(100, 1000, 101, -1, &c), PB_OK); /* instant crash */
    assert_false(c.won);
    assert_int_equal(crash_resolve(250, 999, 133, -1, &c), PB_OK); /* 1328.67 rounded down */
    assert_int_equal(c.payout_minor, 1328);
    assert_int_equal(crash_resolve(250, 1000, 100, -1, &c), PB_ERR_INVALID);
    assert_int_equal(crash_resolve(250, 1000, CRASH_TARGET_MAX + 1, -1, &c), PB_ERR_INVALID);
    assert_int_equal(crash_resolve(CRASH_TARGET_MAX, INT64_MAX / 2, CRASH_TARGET_MAX, -1, &c),
                     PB_ERR_INVALID); /* the payout would overflow */
    assert_false(c.won);
}

static void test_manual_cashout_by_server_clock(void **state)
{
    (void)state;
    struct crash_cashout c;
    int64_t crash_at = crash_time_ms(300);
    assert_int_equal(crash_resolve(300, 100, 0, crash_at - 1, &c), PB_OK);
    assert_true(c.won);
    assert_int_equal(c.multiplier, crash_multiplier_at(crash_at - 1));
    assert_true(c.multiplier < 300);
    assert_int_equal(crash_resolve(300, 100, 0, crash_at, &c), PB_OK); /* too late */
    assert_false(c.won);
    /* A manual request before the automatic target wins at the manual multiplier; after it,
     * the automatic target already took effect. */
    assert_int_equal(crash_resolve(300, 100, 250, 5000, &c), PB_OK);
    assert_int_equal(c.multiplier, crash_multiplier_at(5000));
    assert_int_equal(crash_resolve(300, 100, 150, crash_at - 1, &c), PB_OK);
    assert_int_equal(c.multiplier, 150);
    assert_int_equal(c.at_ms, crash_time_ms(150));
    /* The auto target is above the crash but the manual request came in time. */
    assert_int_equal(crash_resolve(300, 100, 500, 1000, &c), PB_OK);
    assert_true(c.won);
    assert_int_equal(c.multiplier, crash_multiplier_at(1000));
}

/* 1000 players whose requests carry the same server time get the same multiplier, and the
 * same request time after the crash loses for all of them. */
static void test_many_players_same_instant(void **state)
{
    (void)state;
    uint64_t crash = 517;
    int64_t t = crash_time_ms(400) + 3, late = crash_time_ms(crash);
    uint64_t m = crash_multiplier_at(t);
    for (int64_t p = 1; p <= 1000; p++) {
        struct crash_cashout c, l;
        assert_int_equal(crash_resolve(crash, p * 7, 0, t, &c), PB_OK);
        assert_true(c.won);
        assert_int_equal(c.multiplier, m);
        assert_int_equal(c.at_ms, t);
        assert_int_equal(c.payout_minor, p * 7 * (int64_t)m / 100);
        assert_int_equal(crash_resolve(crash, p * 7, 0, late, &l), PB_OK);
        assert_false(l.won);
    }
}

/* Over many random hashes, P(crash >= x) is 0.99 / x: the return of a 2.00x target is 99%. */
static void test_distribution_has_one_percent_edge(void **state)
{
    (void)state;
    struct rng r;
    rng_init_seeded(&r, 99);
    const int n = 400000;
    int at2 = 0, at10 = 0, instant = 0;
    for (int i = 0; i < n; i++) {
        uint8_t h[CRASH_HASH_BYTES];
        rng_bytes(&r, h, sizeof(h));
        uint64_t c = crash_point(h, NULL);
        at2 += c >= 200;
        at10 += c >= 1000;
        instant += c == 100;
    }
    assert_true(at2 > n * 0.4925 && at2 < n * 0.4975);      /* 0.495, sd 0.0008 */
    assert_true(at10 > n * 0.0975 && at10 < n * 0.1005);    /* 0.099, sd 0.0005 */
    assert_true(instant > n * 0.0185 && instant < n * 0.0211); /* 1 - 99/101 = 0.0198 */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crash_points_match_independent_values),
        cmocka_unit_test(test_chain_terminal_rounds_and_verification),
        cmocka_unit_test(test_chain_check_finds_the_broken_link),
        cmocka_unit_test(test_curve_and_inverse_agree),
        cmocka_unit_test(test_auto_cashout_wins_at_or_below_the_crash),
        cmocka_unit_test(test_manual_cashout_by_server_clock),
        cmocka_unit_test(test_many_players_same_instant),
        cmocka_unit_test(test_distribution_has_one_percent_edge),
    };
    return cmocka_run_group_tests_name("unit.crash", tests, NULL, NULL);
}
