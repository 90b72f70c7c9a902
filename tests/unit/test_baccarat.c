/* test_baccarat.c: punto banco rules (every third-card case, naturals, pairs), payouts
 * (commission rounding, the no-commission 6, ties, pairs, overflow), the casino shoe (burn,
 * cut card, one more coup), recall JSON, and the exact odds against published figures. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/base.h"
#include "games/baccarat.h"

/* Ranks for a baccarat value: 0 -> king (a picture), 1..9 -> that rank. */
static int rank_of(int value) { return value == 0 ? 13 : value; }

/* A shoe whose first cards are the given ranks in deal order (P, B, P, B, P3, B3). */
static void stack(struct shoe *s, const int *ranks, int n)
{
    shoe_init(s, 8);
    for (int i = 0; i < n; i++) {
        int j = i;
        while (card_rank(s->cards[j]) != ranks[i])
            j++;
        uint8_t t = s->cards[i];
        s->cards[i] = s->cards[j];
        s->cards[j] = t;
    }
}

/* The Banker's drawing table as printed in casinos: rows Banker total 0..7, columns "Player
 * stood" then the Player's third card 0..9; 1 = draw. */
static const int banker_table[8][11] = {
    /* st 0  1  2  3  4  5  6  7  8  9 */
    {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}, /* 0 */
    {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}, /* 1 */
    {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}, /* 2 */
    {1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1}, /* 3 */
    {1, 0, 0, 1, 1, 1, 1, 1, 1, 0, 0}, /* 4 */
    {1, 0, 0, 0, 0, 1, 1, 1, 1, 0, 0}, /* 5 */
    {0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0}, /* 6 */
    {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, /* 7 */
};

static void test_banker_drawing_table_every_case(void **state)
{
    (void)state;
    for (int b = 0; b <= 9; b++) {
        for (int p = -1; p <= 9; p++) {
            int expect = b <= 7 ? banker_table[b][p + 1] : 0;
            assert_int_equal(baccarat_banker_draws(b, p), expect);
        }
    }
}

/* The same table through real deals: Player 0 (K, K) draws a third card of every value; the
 * Banker holds every total 0..7 on two cards; and Player 6 stands. */
static void test_deals_follow_the_third_card_rules(void **state)
{
    (void)state;
    for (int b = 0; b <= 7; b++) {
        for (int p = 0; p <= 9; p++) {
            /* Banker's two cards: b = rank_of(b) + K. */
            int ranks[6] = {13, rank_of(b), 13, 13, rank_of(p), 5};
            struct shoe s;
            stack(&s, ranks, 6);
            struct baccarat_coup c;
            baccarat_deal_cards(&s, &c);
            assert_false(c.natural);
            assert_int_equal(c.player_count, 3);
            assert_int_equal(c.banker_count, 2 + banker_table[b][p + 1]);
            assert_int_equal(c.player_total, p);
            assert_int_equal(c.banker_total, banker_table[b][p + 1] ? (b + 5) % 10 : b);
        }
        int stood[5] = {3, rank_of(b), 3, 13, 5};
        struct shoe s;
        stack(&s, stood, 5);
        struct baccarat_coup c;
        baccarat_deal_cards(&s, &c);
        assert_int_equal(c.player_count, 2);
        assert_int_equal(c.player_total, 6);
        assert_int_equal(c.banker_count, b <= 5 ? 3 : 2);
    }
    /* Player 7 stands too; Player 5 draws. */
    int seven[5] = {3, 2, 4, 13, 9};
    struct shoe s;
    stack(&s, seven, 5);
    struct baccarat_coup c;
    baccarat_deal_cards(&s, &c);
    assert_int_equal(c.player_count, 2);
    assert_int_equal(c.banker_count, 3); /* Banker 2 draws */
    assert_int_equal(c.banker_total, 1);
    assert_int_equal(c.winner, BACCARAT_PLAYER);
}

static void test_naturals_end_the_coup(void **state)
{
    (void)state;
    /* Player 9 (4+5) vs Banker 8 (8+K): no draw, Player wins. */
    int a[4] = {4, 8, 5, 13};
    struct shoe s;
    stack(&s, a, 4);
    struct baccarat_coup c;
    baccarat_deal_cards(&s, &c);
    assert_true(c.natural);
    assert_int_equal(c.player_count, 2);
    assert_int_equal(c.banker_count, 2);
    assert_int_equal(c.winner, BACCARAT_PLAYER);
    /* Banker natural 8 against Player 0: the Player does not draw. */
    int b[4] = {13, 4, 12, 4};
    stack(&s, b, 4);
    baccarat_deal_cards(&s, &c);
    assert_true(c.natural);
    assert_int_equal(c.player_count, 2);
    assert_int_equal(c.winner, BACCARAT_BANKER);
    assert_true(c.banker_pair);
    assert_false(c.player_pair); /* queen and king: same value, not the same rank */
    /* Natural 8 each: a tie. */
    int t[4] = {4, 6, 4, 2};
    stack(&s, t, 4);
    baccarat_deal_cards(&s, &c);
    assert_int_equal(c.winner, BACCARAT_TIE);
    assert_true(c.player_pair);
    assert_false(c.banker_pair);
}

static struct baccarat_coup coup_of(enum baccarat_winner w, int banker_total, bool pp, bool bp)
{
    struct baccarat_coup c;
    memset(&c, 0, sizeof(c));
    c.winner = w;
    c.banker_total = banker_total;
    c.player_total = w == BACCARAT_TIE ? banker_total : w == BACCARAT_PLAYER ? 9 : 0;
    c.player_pair = pp;
    c.banker_pair = bp;
    return c;
}

static void test_payouts_and_rounding(void **state)
{
    (void)state;
    struct baccarat_bets b = {.player_minor = 100, .banker_minor = 105, .tie_minor = 10,
                              .player_pair_minor = 5, .banker_pair_minor = 3};
    struct baccarat_payouts p;
    struct baccarat_coup c = coup_of(BACCARAT_BANKER, 7, false, true);
    assert_int_equal(baccarat_settle(BACCARAT_COMMISSION, &b, &c, &p), PB_OK);
    assert_int_equal(p.banker_minor, 105 + 99); /* 99.75 rounded down */
    assert_int_equal(p.player_minor, 0);
    assert_int_equal(p.tie_minor, 0);
    assert_int_equal(p.banker_pair_minor, 36);
    assert_int_equal(p.player_pair_minor, 0);
    assert_int_equal(p.total_minor, 204 + 36);
    struct baccarat_bets one = {.banker_minor = 1};
    assert_int_equal(baccarat_settle(BACCARAT_COMMISSION, &one, &c, &p), PB_OK);
    assert_int_equal(p.banker_minor, 1); /* 0.95 rounded down: the stake back */
    /* No commission: 1:1, and 1:2 on a Banker 6. */
    assert_int_equal(baccarat_settle(BACCARAT_NO_COMMISSION, &b, &c, &p), PB_OK);
    assert_int_equal(p.banker_minor, 210);
    c = coup_of(BACCARAT_BANKER, 6, false, false);
    assert_int_equal(baccarat_settle(BACCARAT_NO_COMMISSION, &b, &c, &p), PB_OK);
    assert_int_equal(p.banker_minor, 105 + 52);
    assert_int_equal(baccarat_settle(BACCARAT_COMMISSION, &b, &c, &p), PB_OK);
    assert_int_equal(p.banker_minor, 204);
    /* Player wins 1:1. */
    c = coup_of(BACCARAT_PLAYER, 0, true, false);
    assert_int_equal(baccarat_settle(BACCARAT_COMMISSION, &b, &c, &p), PB_OK);
    assert_int_equal(p.player_minor, 200);
    assert_int_equal(p.banker_minor, 0);
    assert_int_equal(p.player_pair_minor, 60);
    assert_int_equal(p.total_minor, 260);
    /* Tie: Player and Banker push, Tie 8:1. */
    c = coup_of(BACCARAT_TIE, 6, false, false);
    assert_int_equal(baccarat_settle(BACCARAT_NO_COMMISSION, &b, &c, &p), PB_OK);
    assert_int_equal(p.player_minor, 100);
    assert_int_equal(p.banker_minor, 105);
    assert_int_equal(p.tie_minor, 90);
    assert_int_equal(p.total_minor, 295);
}

static void test_bets_checked_and_overflow_refused(void **state)
{
    (void)state;
    const char *field = NULL;
    struct baccarat_bets b = {.player_minor = -1};
    assert_int_equal(baccarat_check_bets(&b, &field), PB_ERR_INVALID);
    assert_string_equal(field, "player");
    memset(&b, 0, sizeof(b));
    assert_int_equal(baccarat_check_bets(&b, &field), PB_ERR_INVALID);
    assert_string_equal(field, "bets");
    b.tie_minor = INT64_MAX;
    b.banker_pair_minor = 1;
    assert_int_equal(baccarat_check_bets(&b, &field), PB_ERR_INVALID);
    assert_string_equal(field, "banker_pair");
    /* A bet whose win overflows is refused before a card is dealt. */
    struct baccarat_shoe bs;
    struct rng r;
    rng_init_seeded(&r, 1);
    baccarat_shoe_start(&bs, 8, &r);
    uint16_t pos = bs.shoe.pos;
    struct baccarat_bets big = {.tie_minor = INT64_MAX / 9 + 1};
    struct baccarat_coup c;
    struct baccarat_payouts p;
    assert_int_equal(baccarat_round(BACCARAT_COMMISSION, &big, &bs, &c, &p, &field),
                     PB_ERR_INVALID);
    assert_string_equal(field, "bets");
    assert_int_equal(bs.shoe.pos, pos);
    big.tie_minor = INT64_MAX / 9;
    assert_int_equal(baccarat_round(BACCARAT_COMMISSION, &big, &bs, &c, &p, &field), PB_OK);
    assert_true(p.total_minor == 0 || p.total_minor == INT64_MAX / 9 * 9);
}

/* Burn: the first card shown and as many cards burned as its value; the cut card 16 from the
 * end; one more coup after it comes out; then the shoe is done. */
static void test_shoe_burn_cut_and_last_coup(void **state)
{
    (void)state;
    struct rng r;
    for (uint64_t seed = 1; seed <= 50; seed++) {
        rng_init_seeded(&r, seed);
        struct baccarat_shoe bs;
        baccarat_shoe_start(&bs, seed % 2 ? 8 : 6, &r);
        int v = card_rank(bs.burn_card) >= 10 ? 10 : card_rank(bs.burn_card);
        assert_int_equal(bs.burned, v);
        assert_int_equal(bs.shoe.pos, 1 + v);
        assert_int_equal(bs.shoe.cut, bs.shoe.count - BACCARAT_CUT_FROM_END);
        struct baccarat_coup c;
        int coups = 0, after_cut = 0;
        for (;;) {
            bool was_cut = bs.cut_out;
            if (baccarat_deal(&bs, &c) != PB_OK)
                break;
            coups++;
            after_cut += was_cut; /* coups dealt once the cut card was out */
            assert_true(bs.shoe.pos <= bs.shoe.count);
        }
        assert_int_equal(after_cut, 1);
        assert_true(bs.shoe.pos >= bs.shoe.cut);
        assert_true(coups * 6 >= bs.shoe.cut - bs.burned - 1); /* at most 6 cards a coup */
        assert_int_equal(baccarat_deal(&bs, &c), PB_ERR_CONFLICT);
    }
}

static void test_round_json_for_recall(void **state)
{
    (void)state;
    int a[6] = {13, 1, 13, 2, 4, 9}; /* P K K + 4 = 4; B A 2 = 3 draws (p=4) 9 -> 2 */
    struct baccarat_shoe bs;
    memset(&bs, 0, sizeof(bs));
    stack(&bs.shoe, a, 6);
    bs.shoe.cut = bs.shoe.count - BACCARAT_CUT_FROM_END;
    struct baccarat_bets b = {.player_minor = 500};
    struct baccarat_coup c;
    struct baccarat_payouts p;
    const char *field;
    assert_int_equal(baccarat_round(BACCARAT_COMMISSION, &b, &bs, &c, &p, &field), PB_OK);
    assert_int_equal(c.player_total, 4);
    assert_int_equal(c.banker_total, 2);
    json_t *j = baccarat_round_json(BACCARAT_COMMISSION, &b, &c, &p);
    char *text = json_dumps(j, JSON_SORT_KEYS | JSON_COMPACT);
    assert_string_equal(text,
                        "{\"banker\":{\"cards\":[\"AC\",\"2C\",\"9C\"],\"total\":2},"
                        "\"banker_pair\":false,\"bets\":{\"banker\":0,\"banker_pair\":0,"
                        "\"player\":500,\"player_pair\":0,\"tie\":0},\"natural\":false,"
                        "\"payouts\":{\"banker\":0,\"banker_pair\":0,\"player\":1000,"
                        "\"player_pair\":0,\"tie\":0,\"total\":1000},\"player\":{\"cards\":"
                        "[\"KC\",\"KD\",\"4C\"],\"total\":4},\"player_pair\":true,"
                        "\"variant\":\"commission\",\"winner\":\"player\"}");
    free(text);
    json_decref(j);
}

static void test_exact_odds_match_published_figures(void **state)
{
    (void)state;
    struct baccarat_exact e;
    baccarat_exact(8, &e);
    assert_int_equal(e.total, 4998398275503360ULL);
    assert_int_equal(e.banker, 2292252566437888ULL);
    assert_int_equal(e.player, 2230518282592256ULL);
    assert_int_equal(e.tie, 475627426473216ULL);
    assert_float_equal(e.p_banker, 0.458597, 5e-7);
    assert_float_equal(e.p_player, 0.446247, 5e-7);
    assert_float_equal(e.p_tie, 0.095156, 5e-7);
    assert_float_equal(e.edge_banker, 0.010579, 5e-7);
    assert_float_equal(e.edge_player, 0.012351, 5e-7);
    assert_float_equal(e.edge_tie, 0.143596, 5e-7);
    assert_float_equal(e.edge_pair, 0.1036, 5e-5);
    assert_float_equal(e.edge_banker_no_commission, 0.014581, 5e-7);
    baccarat_exact(6, &e);
    assert_float_equal(e.p_banker, 0.458653, 5e-7);
    assert_float_equal(e.edge_banker, 0.010558, 5e-7);
    assert_float_equal(e.edge_player, 0.012374, 5e-7);
    assert_float_equal(e.edge_tie, 0.144382, 5e-7);
    assert_float_equal(e.edge_pair, 0.112540, 5e-7);
    struct pb_buf out = PB_BUF_INIT;
    baccarat_exact_report(&e, &out);
    assert_non_null(strstr(pb_buf_str(&out), "banker 0.95:1 (5% commission)        1.0558%"));
    pb_buf_release(&out);
}

/* The dealing code and the enumeration agree: 400k coups from shuffled 8-deck shoes land
 * within 4 standard deviations of the exact probabilities. */
static void test_dealt_frequencies_match_exact_odds(void **state)
{
    (void)state;
    struct baccarat_exact e;
    baccarat_exact(8, &e);
    struct rng r;
    rng_init_seeded(&r, 2026);
    const int n = 400000;
    int won[4] = {0}, pp = 0;
    struct shoe s;
    shoe_init(&s, 8);
    s.draw_rng = &r;
    for (int i = 0; i < n; i++) {
        s.pos = 0;
        struct baccarat_coup c;
        baccarat_deal_cards(&s, &c);
        won[c.winner]++;
        pp += c.player_pair;
    }
    double sd = 0.5 / 632.0 * 4; /* 4 sd of a proportion near 0.5 over 400k */
    assert_float_equal((double)won[BACCARAT_BANKER] / n, e.p_banker, sd);
    assert_float_equal((double)won[BACCARAT_PLAYER] / n, e.p_player, sd);
    assert_float_equal((double)won[BACCARAT_TIE] / n, e.p_tie, sd);
    assert_float_equal((double)pp / n, e.p_pair, sd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_banker_drawing_table_every_case),
        cmocka_unit_test(test_deals_follow_the_third_card_rules),
        cmocka_unit_test(test_naturals_end_the_coup),
        cmocka_unit_test(test_payouts_and_rounding),
        cmocka_unit_test(test_bets_checked_and_overflow_refused),
        cmocka_unit_test(test_shoe_burn_cut_and_last_coup),
        cmocka_unit_test(test_round_json_for_recall),
        cmocka_unit_test(test_exact_odds_match_published_figures),
        cmocka_unit_test(test_dealt_frequencies_match_exact_odds),
    };
    return cmocka_run_group_tests_name("unit.baccarat", tests, NULL, NULL);
}
