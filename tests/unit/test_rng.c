/* test_rng.c: the generator (seeded reproducibility, unbiased ranges, uniform shuffles) and
 * the provably-fair stream against values computed independently (Python's hmac module:
 * HMAC-SHA256(key = server seed text, message = "client:nonce:round")). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "base/base.h"
#include "rng/rng.h"

static const char *const seed_a = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

static void test_seeded_streams_repeat_and_differ_by_seed(void **state)
{
    (void)state;
    struct rng a, b, c;
    rng_init_seeded(&a, 42);
    rng_init_seeded(&b, 42);
    rng_init_seeded(&c, 43);
    int same_c = 0;
    for (int i = 0; i < 1000; i++) {
        uint32_t va = rng_u32(&a), vb = rng_u32(&b), vc = rng_u32(&c);
        assert_int_equal(va, vb);
        same_c += va == vc;
    }
    assert_true(same_c < 3);
}

/* A chi-square test of rng_range over a range that a plain modulo would bias (n = 3 * 2^30
 * makes 2^32 mod n = 2^30: the low quarter would be drawn twice as often). Bucket by thirds. */
static void test_range_is_unbiased_where_modulo_would_not_be(void **state)
{
    (void)state;
    struct rng r;
    rng_init_seeded(&r, 7);
    const uint32_t n = 3u << 30;
    long counts[3] = {0};
    const long draws = 300000;
    for (long i = 0; i < draws; i++) {
        uint32_t v = rng_range(&r, n);
        assert_true(v < n);
        counts[v / (1u << 30)]++;
    }
    double expected = draws / 3.0, chi = 0;
    for (int k = 0; k < 3; k++)
        chi += (counts[k] - expected) * (counts[k] - expected) / expected;
    /* 2 degrees of freedom: P(chi > 13.8) = 0.001. A modulo would give ~ 25000. */
    assert_true(chi < 13.8);
    for (uint32_t k = 1; k < 50; k++)
        assert_true(rng_range(&r, k) < k);
    assert_int_equal(rng_range(&r, 1), 0);
}

/* Every one of the 24 orders of 4 elements comes out about equally often. */
static void test_shuffle_gives_every_permutation_uniformly(void **state)
{
    (void)state;
    struct rng r;
    rng_init_seeded(&r, 99);
    long counts[256] = {0};
    const long draws = 240000;
    for (long i = 0; i < draws; i++) {
        uint8_t a[4] = {0, 1, 2, 3};
        rng_shuffle(&r, a, 4, 1);
        counts[a[0] << 6 | a[1] << 4 | a[2] << 2 | a[3]]++;
    }
    int seen = 0;
    double expected = draws / 24.0, chi = 0;
    for (int k = 0; k < 256; k++) {
        if (counts[k] == 0)
            continue;
        seen++;
        chi += (counts[k] - expected) * (counts[k] - expected) / expected;
    }
    assert_int_equal(seen, 24);
    assert_true(chi < 49.7); /* 23 degrees of freedom, P = 0.001 */
}

static void test_system_generator_fills_and_unit_is_in_range(void **state)
{
    (void)state;
    struct rng r;
    rng_init_system(&r);
    uint8_t big[1000] = {0};
    rng_bytes(&r, big, sizeof(big));
    int zeros = 0;
    for (size_t i = 0; i < sizeof(big); i++)
        zeros += big[i] == 0;
    assert_true(zeros < 20);
    for (int i = 0; i < 10000; i++) {
        double u = rng_unit(&r);
        assert_true(u >= 0 && u < 1);
    }
}

static void test_fair_stream_matches_independent_hmac(void **state)
{
    (void)state;
    struct rng_fair f;
    assert_int_equal(rng_fair_init(&f, seed_a, "client", 0), PB_OK);
    /* First block 7dc12425...: bytes 7d c1 24 25 -> 0.49122835067100823 */
    assert_true(rng_fair_float(&f) == 0.49122835067100823);
    assert_int_equal(rng_fair_byte(&f), 0x00);
    assert_int_equal(rng_fair_byte(&f), 0xf3);
    /* Nonce 7, round 1 starts after 32 bytes of round 0: 30a11986 -> 0.18995818635448813 */
    assert_int_equal(rng_fair_init(&f, seed_a, "client", 7), PB_OK);
    for (int i = 0; i < 8; i++)
        (void)rng_fair_float(&f);
    assert_true(rng_fair_float(&f) == 0.18995818635448813);
    char commit[65];
    rng_fair_commitment(seed_a, commit);
    assert_string_equal(commit, "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb");
}

static void test_fair_refuses_malformed_seeds(void **state)
{
    (void)state;
    struct rng_fair f;
    assert_int_equal(rng_fair_init(&f, "abc", "client", 0), PB_ERR_INVALID);
    char upper[65];
    memcpy(upper, seed_a, 65);
    upper[3] = 'A';
    assert_int_equal(rng_fair_init(&f, upper, "client", 0), PB_ERR_INVALID);
    assert_int_equal(rng_fair_init(&f, seed_a, "", 0), PB_ERR_INVALID);
    assert_int_equal(rng_fair_init(&f, seed_a, "has space", 0), PB_ERR_INVALID);
    char longseed[RNG_CLIENT_SEED_MAX + 2];
    memset(longseed, 'x', sizeof(longseed) - 1);
    longseed[sizeof(longseed) - 1] = '\0';
    assert_int_equal(rng_fair_init(&f, seed_a, longseed, 0), PB_ERR_INVALID);
    char fresh[RNG_SERVER_SEED_HEX + 1], other[RNG_SERVER_SEED_HEX + 1];
    rng_fair_new_server_seed(fresh);
    rng_fair_new_server_seed(other);
    assert_int_equal(rng_fair_init(&f, fresh, "x:y", UINT64_MAX), PB_OK);
    assert_string_not_equal(fresh, other);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seeded_streams_repeat_and_differ_by_seed),
        cmocka_unit_test(test_range_is_unbiased_where_modulo_would_not_be),
        cmocka_unit_test(test_shuffle_gives_every_permutation_uniformly),
        cmocka_unit_test(test_system_generator_fills_and_unit_is_in_range),
        cmocka_unit_test(test_fair_stream_matches_independent_hmac),
        cmocka_unit_test(test_fair_refuses_malformed_seeds),
    };
    return cmocka_run_group_tests_name("unit.rng", tests, NULL, NULL);
}
