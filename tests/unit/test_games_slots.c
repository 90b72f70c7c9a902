/* test_games_slots.c: slot definitions (strict decoding), line and ways evaluation on tiny
 * definitions with hand-computed answers (wild substitution, wild runs, scatters anywhere,
 * free spins with retriggers and multipliers), the line automaton against the obvious
 * evaluation, exact figures against an independent computation (a hand-checkable game: see
 * HAND below), exact against simulated, and the shipped games (decode, declared RTP = exact,
 * 94% .. 97%). */
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
#include "games/slots.h"

static struct slot_def *decode_ok(const char *text)
{
    struct slot_def *d = NULL;
    struct pb_json_error err;
    if (slot_def_decode(text, strlen(text), &d, &err) != PB_OK)
        fail_msg("definition refused: %s: %s (%s)", err.field, err.detail, err.code);
    return d;
}

/* Five reels, one row, one line. Every reel is A B W S C: stop 0 shows A, 1 B, 2 W (wild),
 * 3 S (scatter), 4 C (pays nothing). */
static const char *const LINE5 =
    "{\"id\":\"t-line\",\"name\":\"T\",\"rtp_ppm\":0,\"rows\":1,"
    "\"symbols\":[{\"id\":\"A\",\"pays\":[0,0,5,10,50]},{\"id\":\"B\",\"pays\":[0,0,2,4,8]},"
    "{\"id\":\"W\",\"wild\":true,\"pays\":[0,0,20,100,500]},"
    "{\"id\":\"S\",\"scatter\":true,\"pays\":[0,1,2,3,4],\"free_spins\":[0,0,0,0,1]},"
    "{\"id\":\"C\",\"pays\":[0,0,0,0,0]}],"
    "\"reels\":[[\"A\",\"B\",\"W\",\"S\",\"C\"],[\"A\",\"B\",\"W\",\"S\",\"C\"],"
    "[\"A\",\"B\",\"W\",\"S\",\"C\"],[\"A\",\"B\",\"W\",\"S\",\"C\"],"
    "[\"A\",\"B\",\"W\",\"S\",\"C\"]],"
    "\"lines\":[[0,0,0,0,0]],\"free_spins\":{\"multiplier\":3}}";

enum { A, B, W, S, C };

static void expect_spin(const struct slot_def *d, int32_t s0, int32_t s1, int32_t s2, int32_t s3,
                        int32_t s4, int64_t line_units, int64_t scatter_units, int32_t awarded)
{
    int32_t stops[5] = {s0, s1, s2, s3, s4};
    struct slot_spin s;
    slot_eval(d, &d->variants[0].base, stops, &s);
    if (s.line_units != line_units || s.scatter_units != scatter_units || s.awarded != awarded)
        fail_msg("%d %d %d %d %d: line %lld scatter %lld awarded %d", s0, s1, s2, s3, s4,
                 (long long)s.line_units, (long long)s.scatter_units, s.awarded);
}

static void test_line_evaluation_by_hand(void **state)
{
    (void)state;
    struct slot_def *d = decode_ok(LINE5);
    expect_spin(d, A, A, A, B, B, 5, 0, 0);   /* three A */
    expect_spin(d, W, A, A, A, C, 10, 0, 0);  /* the wild substitutes: four A */
    expect_spin(d, W, W, W, A, C, 20, 0, 0);  /* four A (10) < three wilds (20) */
    expect_spin(d, W, W, W, W, W, 500, 0, 0); /* five wilds */
    expect_spin(d, W, W, B, B, B, 8, 0, 0);   /* five B (8) > two wilds (0) */
    expect_spin(d, B, W, W, W, W, 8, 0, 0);   /* five B: wilds after B substitute */
    expect_spin(d, A, W, B, B, B, 0, 0, 0);   /* two A: nothing */
    expect_spin(d, A, A, C, A, A, 0, 0, 0);   /* not from the left: nothing */
    expect_spin(d, C, A, A, A, A, 0, 0, 0);
    /* the scatter is not substituted and breaks the line; it pays anywhere, once per reel */
    expect_spin(d, W, W, S, A, A, 0, 0, 0);   /* two wilds pay 0; one scatter pays 0 */
    expect_spin(d, W, S, W, A, S, 0, 1, 0);   /* two scatters pay 1 wherever they are */
    expect_spin(d, S, A, S, A, S, 0, 2, 0);   /* three scatters, not adjacent: 2 x 1 line */
    expect_spin(d, A, A, A, S, S, 5, 1, 0);   /* three A and two scatters */
    expect_spin(d, S, S, S, S, S, 0, 4, 1);   /* five scatters: 4 and a free spin */
    slot_def_free(d);
}

/* The automaton and the obvious evaluation agree on every window of LINE5 (5^5). */
static void test_automaton_matches_obvious_evaluation(void **state)
{
    (void)state;
    struct slot_def *d = decode_ok(LINE5);
    for (int i = 0; i < 3125; i++) {
        int32_t stops[5];
        uint8_t syms[5];
        for (int r = 0, v = i; r < 5; r++, v /= 5) {
            stops[r] = v % 5;
            syms[r] = d->variants[0].base.strip[r][stops[r]];
        }
        struct slot_spin s;
        slot_eval(d, &d->variants[0].base, stops, &s);
        int sym, count;
        assert_int_equal(s.line_units, slot_line_pay(d, syms, &sym, &count));
    }
    slot_def_free(d);
}

/* Three reels, two rows, ways, cost 10: reel 1 shows A B, reel 2 A W, reel 3 A A (stops 0),
 * or B B / W S / C A at stops 1 (the strips wrap). */
static const char *const WAYS3 =
    "{\"id\":\"t-ways\",\"name\":\"T\",\"rtp_ppm\":0,\"rows\":2,\"ways\":true,\"cost\":10,"
    "\"symbols\":[{\"id\":\"A\",\"pays\":[0,1,3]},{\"id\":\"B\",\"pays\":[0,2,7]},"
    "{\"id\":\"W\",\"wild\":true,\"pays\":[0,0,0]},{\"id\":\"S\",\"scatter\":true,"
    "\"pays\":[0,0,5]},{\"id\":\"C\",\"pays\":[0,0,0]}],"
    "\"reels\":[[\"A\",\"B\",\"B\"],[\"A\",\"W\",\"S\"],[\"A\",\"A\",\"C\"]]}";

static void test_ways_evaluation_by_hand(void **state)
{
    (void)state;
    struct slot_def *d = decode_ok(WAYS3);
    struct slot_spin s;
    /* stops 0,0,0: reel 1 {A,B}, reel 2 {A,W}, reel 3 {A,A}.
     * A: 1 x 2 x 2 = 4 ways of three (3 each) = 12; B: 1 x 1 (wild) then none: 1 way of two
     * (2) = 2. Total 14 unit stakes. */
    int32_t st0[3] = {0, 0, 0};
    slot_eval(d, &d->variants[0].base, st0, &s);
    assert_int_equal(s.line_units, 14);
    assert_int_equal(s.scatter_units, 0);
    /* stops 1,1,1: reel 1 {B,B}, reel 2 {W,S}, reel 3 {A,C}.
     * B: 2 x 1 = 2 ways of two (2 each) = 4; A: none on reel 1. One scatter pays nothing. */
    int32_t st1[3] = {1, 1, 1};
    slot_eval(d, &d->variants[0].base, st1, &s);
    assert_int_equal(s.line_units, 4);
    assert_int_equal(s.scatters, 1);
    /* stops 2,1,0: reel 1 {B,A} (wraps), reel 2 {W,S}, reel 3 {A,A}.
     * A: 1 x 1 x 2 = 2 ways of three = 6; B: 1 x 1 x 0 -> two: 2. Total 8. */
    int32_t st2[3] = {2, 1, 0};
    slot_eval(d, &d->variants[0].base, st2, &s);
    assert_int_equal(s.line_units, 8);
    slot_def_free(d);
}

/* HAND: three reels, one row, one line, free spins x2. Base reels A W S X / A W S X / A A S X
 * (64 combinations), free reels A S X / W S X / A S X (27). By hand: the base line pays 10 on
 * the 8 combinations {A,W} x {A,W} x {A,A}; S S S pays 5 and awards 3 spins (1/64). A free
 * spin pays 10 on A W A and 5 on S S S (E[u] = 15/27), doubled (E[w] = 10/9), and retriggers 3
 * spins with 1/27 (E[a] = 1/9), so a free spin is worth (10/9) / (1 - 1/9) = 1.25 and
 * RTP = 85/64 + 3 * 1.25 / 64 = 1.38671875. Hit frequency 9/64. The SD, 3.583492068538, was
 * computed independently (Python: value iteration over the number of pending free spins,
 * not the closed form slot_exact uses). */
static const char *const HAND =
    "{\"id\":\"t-hand\",\"name\":\"T\",\"rtp_ppm\":0,\"rows\":1,"
    "\"symbols\":[{\"id\":\"A\",\"pays\":[0,0,10]},{\"id\":\"W\",\"wild\":true,\"pays\":[0,0,50]},"
    "{\"id\":\"S\",\"scatter\":true,\"pays\":[0,0,5],\"free_spins\":[0,0,3]},"
    "{\"id\":\"X\",\"pays\":[0,0,0]}],"
    "\"reels\":[[\"A\",\"W\",\"S\",\"X\"],[\"A\",\"W\",\"S\",\"X\"],[\"A\",\"A\",\"S\",\"X\"]],"
    "\"free_reels\":[[\"A\",\"S\",\"X\"],[\"W\",\"S\",\"X\"],[\"A\",\"S\",\"X\"]],"
    "\"lines\":[[0,0,0]],\"free_spins\":{\"multiplier\":2}}";

static void test_exact_figures_match_an_independent_computation(void **state)
{
    (void)state;
    struct slot_def *d = decode_ok(HAND);
    struct slot_exact e;
    slot_exact(d, 0, &e);
    assert_true(fabs(e.fig.rtp - 1.38671875) < 1e-12);
    assert_true(fabs(e.base_rtp - 85.0 / 64) < 1e-12);
    assert_true(fabs(e.feature_rtp - 3 * 1.25 / 64) < 1e-12);
    assert_true(fabs(e.fig.hit_frequency - 9.0 / 64) < 1e-12);
    assert_true(fabs(e.fig.sd - 3.583492068538) < 1e-9);
    assert_true(fabs(e.retrigger_rate - 1.0 / 9) < 1e-12);
    assert_true(fabs(e.trigger_probability - 1.0 / 64) < 1e-12);
    assert_int_equal(e.combinations, 64 + 27);
    slot_def_free(d);
}

static void test_exact_lies_in_the_simulated_interval(void **state)
{
    (void)state;
    struct slot_def *d = decode_ok(HAND);
    struct slot_exact e;
    struct slot_sim s;
    slot_exact(d, 0, &e);
    slot_simulate(d, 0, 2000000, 42, &s);
    if (!(e.fig.rtp >= s.ci_low && e.fig.rtp <= s.ci_high))
        fail_msg("exact %.6f outside [%.6f, %.6f]", e.fig.rtp, s.ci_low, s.ci_high);
    assert_true(fabs(s.hit_frequency - e.fig.hit_frequency) < 0.002);
    assert_true(fabs(s.sd - e.fig.sd) / e.fig.sd < 0.02);
    slot_def_free(d); /* the shipped games' variants: test_shipped_games_... */
}

/* Free spins: base reels that always show three scatters (3 spins), free reels that
 * retrigger with 1/8. The outcome's spins must add up, with the multiplier, to the payout. */
static const char *const RETRIGGER =
    "{\"id\":\"t-retrigger\",\"name\":\"T\",\"rtp_ppm\":0,\"rows\":1,"
    "\"symbols\":[{\"id\":\"A\",\"pays\":[0,0,4]},"
    "{\"id\":\"S\",\"scatter\":true,\"pays\":[0,0,1],\"free_spins\":[0,0,2]}],"
    "\"reels\":[[\"S\"],[\"S\"],[\"S\"]],"
    "\"free_reels\":[[\"A\",\"S\"],[\"A\",\"S\"],[\"A\",\"S\"]],"
    "\"lines\":[[0,0,0]],\"free_spins\":{\"multiplier\":5}}";

static void test_free_spins_retrigger_and_multiply(void **state)
{
    (void)state;
    struct slot_def *d = decode_ok(RETRIGGER);
    bool retriggered = false;
    for (uint64_t seed = 1; seed < 200; seed++) {
        int32_t spins;
        struct rng r;
        rng_init_seeded(&r, seed);
        int64_t units = slot_round_units(d, 0, &r, &spins);
        /* every free spin pays 4 (A A A) or 1 (S S S, which retriggers 2) or 0; base pays 1 */
        assert_true(spins >= 2 && spins % 2 == 0);
        int retriggers = (spins - 2) / 2;
        /* units = 1 (base scatter) + 5 * (4 * AAA + 1 * retriggers) */
        int64_t rest = units - 1 - 5 * retriggers;
        assert_true(rest >= 0 && rest % 20 == 0);
        assert_true(rest / 20 <= spins - retriggers);
        retriggered |= retriggers > 0;
    }
    assert_true(retriggered);
    slot_def_free(d);
}

/* The same through a shipped game's play entry point: the outcome adds up to the payout. */
static void test_play_outcome_adds_up(void **state)
{
    (void)state;
    const struct game_type *g = games_find("golden-reef");
    assert_non_null(g);
    assert_string_equal(g->kind, "slot");
    const struct slot_def *d = slots_find("golden-reef");
    json_t *bet = json_object();
    int64_t total;
    struct pb_json_error err;
    assert_int_equal(g->check_bet(bet, 3, &total, &err), PB_OK);
    assert_int_equal(total, 60); /* 20 lines x 3 */
    int features = 0;
    for (uint64_t seed = 1; seed <= 3000; seed++) {
        struct rng r;
        rng_init_seeded(&r, seed);
        struct game_draw draw = {.rng = &r};
        struct game_result res = {0};
        g->play(bet, 0, 3, &draw, &res);
        int64_t sum = json_integer_value(json_object_get(res.outcome, "win_minor"));
        json_t *fs = json_object_get(res.outcome, "free_spins");
        if (fs) {
            features++;
            int64_t fsum = 0;
            size_t i;
            json_t *spin;
            json_array_foreach(json_object_get(fs, "spins"), i, spin)
                fsum += json_integer_value(json_object_get(spin, "win_minor"));
            assert_int_equal(fsum, json_integer_value(json_object_get(fs, "win_minor")));
            assert_int_equal(fsum % (3 * d->multiplier), 0);
            sum += fsum;
        }
        /* the line wins listed add up to the spin's win less its scatter pay */
        int64_t lines = 0;
        size_t i;
        json_t *win;
        json_array_foreach(json_object_get(res.outcome, "wins"), i, win)
            lines += json_integer_value(json_object_get(win, "pays_minor"));
        assert_int_equal(lines + json_integer_value(json_object_get(res.outcome,
                                                                    "scatter_pays_minor")),
                         json_integer_value(json_object_get(res.outcome, "win_minor")));
        assert_int_equal(sum, res.payout_minor);
        assert_int_equal(sum % 3, 0);
        json_decref(res.outcome);
    }
    assert_true(features > 0);
    /* bets: nothing to choose, stake bounds */
    json_t *bad = json_pack("{s:i}", "lines", 10);
    assert_int_equal(g->check_bet(bad, 3, &total, &err), PB_ERR_INVALID);
    assert_string_equal(err.code, "unknown_field");
    assert_int_equal(g->check_bet(NULL, 0, &total, &err), PB_ERR_INVALID);
    assert_int_equal(g->check_bet(NULL, INT64_MAX / 20, &total, &err), PB_ERR_INVALID);
    assert_string_equal(err.code, "stake_too_large");
    assert_int_equal(g->check_bet(NULL, 1, &total, &err), PB_OK);
    json_decref(bad);
    json_decref(bet);
}

static void test_shipped_games_decode_and_declare_their_exact_rtp(void **state)
{
    (void)state;
    static const char *const ids[] = {"lucky-sevens", "golden-reef", "desert-ways"};
    assert_int_equal(slots_count(), slot_sources_count);
    assert_true(slots_count() >= 3);
    for (size_t i = 0; i < PB_ARRAY_LEN(ids); i++)
        assert_non_null(slots_find(ids[i]));
    assert_int_equal(slots_find("lucky-sevens")->nlines, 5);
    assert_int_equal(slots_find("lucky-sevens")->reels, 3);
    assert_int_equal(slots_find("golden-reef")->nlines, 20);
    assert_true(slots_find("golden-reef")->has_free_spins);
    assert_true(slots_find("desert-ways")->ways);
    /* every variant of every shipped game: declared = exact, in the documented 94 .. 97%,
     * and inside the 99% interval of a simulation from a fixed seed (features included) */
    for (size_t i = 0; i < slots_count(); i++) {
        const struct slot_def *d = slots_def_at(i);
        const struct game_type *g = games_find(d->id);
        if (d->nvariants < 2)
            fail_msg("%s offers %d RTP variant(s): every shipped slot offers 2 or more", d->id,
                     d->nvariants);
        assert_int_equal(g->nvariants, d->nvariants);
        for (int v = 0; v < d->nvariants; v++) {
            const struct slot_variant *sv = &d->variants[v];
            struct slot_exact e;
            struct slot_sim s;
            slot_exact(d, v, &e);
            long long ppm = llround(e.fig.rtp * 1e6);
            if (ppm != sv->rtp_ppm)
                fail_msg("%s/%s declares rtp_ppm %d, exact %lld", d->id, sv->id, sv->rtp_ppm,
                         ppm);
            if (e.fig.rtp < 0.94 || e.fig.rtp > 0.97)
                fail_msg("%s/%s: exact rtp %.4f outside 94%% .. 97%%", d->id, sv->id, e.fig.rtp);
            assert_string_equal(g->variants[v].id, sv->id);
            assert_int_equal(g->variants[v].rtp_ppm, sv->rtp_ppm);
            assert_int_equal(game_variant_find(g, sv->id), v);
            assert_int_equal(game_variant_by_rtp(g, sv->rtp_ppm), v);
            /* Fixed seeds: nine 99% intervals miss together about one seed in eleven (seeds
             * 1000 + v miss lucky-sevens/94 by 0.008 points); any miss here after a change
             * of reels or of the evaluator is a defect to look at, not to reseed away. */
            slot_simulate(d, v, 1000000, 2000 + (uint64_t)v, &s);
            if (!(e.fig.rtp >= s.ci_low && e.fig.rtp <= s.ci_high))
                fail_msg("%s/%s: exact %.6f outside simulated [%.6f, %.6f]", d->id, sv->id,
                         e.fig.rtp, s.ci_low, s.ci_high);
            assert_true(fabs(s.hit_frequency - e.fig.hit_frequency) < 0.003);
        }
    }
}

struct bad_def {
    const char *text, *code, *field;
};

#define SYMS "\"symbols\":[{\"id\":\"A\",\"pays\":[0,0,5]},{\"id\":\"B\",\"pays\":[0,0,2]}]"
#define REELS "\"reels\":[[\"A\",\"B\"],[\"A\",\"B\"],[\"A\",\"B\"]]"
#define HEAD "\"id\":\"t\",\"name\":\"T\",\"rtp_ppm\":0,\"rows\":1,"

static void test_bad_definitions_are_refused(void **state)
{
    (void)state;
    static const struct bad_def bad[] = {
        {"not json", "malformed_json", ""},
        {"[]", "wrong_type", ""},
        {"{" HEAD SYMS "," REELS "}", "missing_field", "lines"},
        {"{" HEAD SYMS "," REELS ",\"lines\":[[0,0,0]],\"extra\":1}", "unknown_field", "extra"},
        {"{\"id\":\"Bad Id\",\"name\":\"T\",\"rtp_ppm\":0,\"rows\":1," SYMS "," REELS
         ",\"lines\":[[0,0,0]]}", "out_of_range", "id"},
        {"{" HEAD SYMS ",\"reels\":[[\"A\",\"B\"],[\"A\",\"B\"]],\"lines\":[[0,0]]}",
         "out_of_range", "reels"},
        {"{" HEAD SYMS ",\"reels\":[[\"A\",\"B\"],[\"A\",\"Z\"],[\"A\"]],\"lines\":[[0,0,0]]}",
         "unknown_symbol", "reels[1][1]"},
        {"{" HEAD SYMS ",\"reels\":[[\"A\",\"B\"],[\"A\",\"B\"],[]],\"lines\":[[0,0,0]]}",
         "out_of_range", "reels[2]"},
        {"{" HEAD SYMS "," REELS ",\"lines\":[[0,0,1]]}", "out_of_range", "lines[0]"},
        {"{" HEAD SYMS "," REELS ",\"lines\":[[0,0]]}", "out_of_range", "lines[0]"},
        {"{" HEAD SYMS "," REELS ",\"lines\":[[0,0,0],[0,0,0]]}", "duplicate", "lines[1]"},
        {"{" HEAD "\"symbols\":[{\"id\":\"A\",\"pays\":[0,5]},{\"id\":\"B\",\"pays\":[0,0,2]}],"
         REELS ",\"lines\":[[0,0,0]]}", "out_of_range", "symbols[0].pays"},
        {"{" HEAD "\"symbols\":[{\"id\":\"A\",\"pays\":[0,0,-1]},{\"id\":\"B\",\"pays\":[0,0,2]}],"
         REELS ",\"lines\":[[0,0,0]]}", "out_of_range", "symbols[0].pays"},
        {"{" HEAD "\"symbols\":[{\"id\":\"A\",\"pays\":[0,0,5]},{\"id\":\"A\",\"pays\":[0,0,2]}],"
         REELS ",\"lines\":[[0,0,0]]}", "duplicate", "symbols[1].id"},
        {"{" HEAD "\"symbols\":[{\"id\":\"A\",\"pays\":[0,0,5],\"wild\":true},"
         "{\"id\":\"B\",\"wild\":true,\"pays\":[0,0,2]}]," REELS ",\"lines\":[[0,0,0]]}",
         "invalid_definition", "symbols[1]"},
        {"{" HEAD "\"symbols\":[{\"id\":\"A\",\"pays\":[0,0,5],\"free_spins\":[0,0,1]},"
         "{\"id\":\"B\",\"pays\":[0,0,2]}]," REELS ",\"lines\":[[0,0,0]]}",
         "invalid_definition", "symbols[0].free_spins"},
        /* a scatter awarding spins needs the free_spins block */
        {"{" HEAD "\"symbols\":[{\"id\":\"A\",\"pays\":[0,0,5]},{\"id\":\"B\",\"scatter\":true,"
         "\"pays\":[0,0,2],\"free_spins\":[0,0,5]}]," REELS ",\"lines\":[[0,0,0]]}",
         "missing_field", "free_spins"},
        /* a feature that would never end: every free spin retriggers 5 */
        {"{" HEAD "\"symbols\":[{\"id\":\"A\",\"pays\":[0,0,5]},{\"id\":\"B\",\"scatter\":true,"
         "\"pays\":[0,0,2],\"free_spins\":[0,0,5]}],\"reels\":[[\"B\"],[\"B\"],[\"B\"]],"
         "\"lines\":[[0,0,0]],\"free_spins\":{\"multiplier\":1}}", "invalid_definition",
         "free_reels"},
        {"{" HEAD SYMS "," REELS ",\"lines\":[[0,0,0]],\"free_spins\":{\"multiplier\":2}}",
         "invalid_definition", "free_spins"},
        {"{" HEAD SYMS "," REELS ",\"ways\":true}", "missing_field", "cost"},
        {"{" HEAD SYMS "," REELS ",\"ways\":true,\"cost\":5,\"lines\":[[0,0,0]]}",
         "invalid_definition", "lines"},
        {"{" HEAD SYMS "," REELS ",\"lines\":[[0,0,0]],\"cost\":5}", "invalid_definition",
         "cost"},
        {"{" HEAD SYMS "," REELS ",\"lines\":[[0,0,0]],\"cost\":0}", "out_of_range", "cost"},
        {"{" HEAD SYMS "," REELS ",\"ways\":true,\"cost\":0}", "out_of_range", "cost"},
        {"{" HEAD SYMS "," REELS ",\"lines\":[[0,0,0]],\"free_reels\":[[\"A\"],[\"A\"],[\"A\"]]}",
         "invalid_definition", "free_reels"},
        {"{" HEAD "\"symbols\":[{\"id\":\"A\",\"pays\":[0,0,5]},{\"id\":\"B\",\"wild\":true,"
         "\"pays\":[0,0,2]}]," REELS ",\"ways\":true,\"cost\":5}", "invalid_definition",
         "symbols"},
        {"{\"id\":\"t\",\"name\":\"T\",\"rtp_ppm\":0,\"rows\":5," SYMS "," REELS
         ",\"lines\":[[0,0,0]]}", "out_of_range", "rows"},
    };
    for (size_t i = 0; i < PB_ARRAY_LEN(bad); i++) {
        struct slot_def *d = NULL;
        struct pb_json_error err;
        int rc = slot_def_decode(bad[i].text, strlen(bad[i].text), &d, &err);
        if (rc != PB_ERR_INVALID)
            fail_msg("definition %zu accepted", i);
        if (strcmp(err.code, bad[i].code) != 0 || strcmp(err.field, bad[i].field) != 0)
            fail_msg("definition %zu: got %s at '%s' (%s), want %s at '%s'", i, err.code,
                     err.field, err.detail, bad[i].code, bad[i].field);
        assert_null(d);
    }
}

/* Variants share the paytable and lines and play their own reels. */
#define VARIANTS_DEF                                                                           \
    "{\"id\":\"t-var\",\"name\":\"T\",\"rtp_ppm\":875000,\"rows\":1,\"variant\":\"low\","            \
    "\"symbols\":[{\"id\":\"A\",\"pays\":[0,0,5]},{\"id\":\"B\",\"pays\":[0,0,2]}],"                 \
    "\"reels\":[[\"A\",\"B\"],[\"A\",\"B\"],[\"A\",\"B\"]],\"lines\":[[0,0,0]],"                     \
    "\"variants\":[{\"id\":\"all-a\",\"rtp_ppm\":999999,\"reels\":[[\"A\"],[\"A\"],[\"A\"]]},"      \
    "{\"id\":\"all-b\",\"rtp_ppm\":999998,\"reels\":[[\"B\"],[\"B\"],[\"B\",\"B\"]]}]}"

static void test_variants_play_their_own_reels(void **state)
{
    (void)state;
    struct slot_def *d = decode_ok(VARIANTS_DEF);
    assert_int_equal(d->nvariants, 3);
    assert_string_equal(d->variants[0].id, "low");
    assert_int_equal(slot_variant_find(d, "all-a"), 1);
    assert_int_equal(slot_variant_find(d, "all-b"), 2);
    assert_int_equal(slot_variant_find(d, "standard"), -1);
    struct slot_exact e;
    slot_exact(d, 0, &e);
    assert_true(fabs(e.fig.rtp - 7.0 / 8) < 1e-12); /* AAA 5 + BBB 2, one in 8 each */
    slot_exact(d, 1, &e);
    assert_true(fabs(e.fig.rtp - 5.0) < 1e-12);
    slot_exact(d, 2, &e);
    assert_true(fabs(e.fig.rtp - 2.0) < 1e-12);
    struct rng r;
    rng_init_seeded(&r, 3);
    int32_t spins;
    for (int i = 0; i < 100; i++) {
        assert_int_equal(slot_round_units(d, 1, &r, &spins), 5);
        assert_int_equal(slot_round_units(d, 2, &r, &spins), 2);
    }
    slot_def_free(d);
    /* a definition without "variant" names its one variant "standard" */
    d = decode_ok(HAND);
    assert_int_equal(d->nvariants, 1);
    assert_string_equal(d->variants[0].id, SLOT_VARIANT_DEFAULT);
    slot_def_free(d);
}

static void test_bad_variants_are_refused(void **state)
{
    (void)state;
#define VHEAD "{\"id\":\"t\",\"name\":\"T\",\"rtp_ppm\":1,\"rows\":1,\"lines\":[[0,0,0]]," SYMS "," REELS
#define V(x) ",\"variants\":[{\"id\":\"b\",\"rtp_ppm\":2," REELS "}" x "]}"
    static const struct bad_def bad[] = {
        {VHEAD ",\"variant\":\"Bad\"}", "out_of_range", "variant"},
        {VHEAD ",\"variants\":[]}", "out_of_range", "variants"},
        {VHEAD ",\"variants\":[1]}", "wrong_type", "variants[0]"},
        {VHEAD V(",{\"id\":\"b\",\"rtp_ppm\":3," REELS "}"), "duplicate", "variants[1].id"},
        {VHEAD ",\"variant\":\"b\"" V(""), "duplicate", "variants[0].id"},
        {VHEAD V(",{\"id\":\"c\",\"rtp_ppm\":2," REELS "}"), "duplicate",
         "variants[1].rtp_ppm"},
        {VHEAD V(",{\"id\":\"c\",\"rtp_ppm\":1," REELS "}"), "duplicate",
         "variants[1].rtp_ppm"},
        {VHEAD V(",{\"id\":\"C\",\"rtp_ppm\":3," REELS "}"), "out_of_range",
         "variants[1].id"},
        {VHEAD V(",{\"id\":\"c\",\"rtp_ppm\":3,\"reels\":[[\"A\"],[\"A\"]]}"), "out_of_range",
         "variants[1].reels"},
        {VHEAD V(",{\"id\":\"c\",\"rtp_ppm\":3,\"reels\":[[\"A\"],[\"A\"],[\"Z\"]]}"),
         "unknown_symbol", "variants[1].reels[2][0]"},
        {VHEAD V(",{\"id\":\"c\",\"rtp_ppm\":3," REELS ",\"free_reels\":[[\"A\"],[\"A\"],[\"A\"]]}"),
         "invalid_definition", "variants[1].free_reels"},
        {VHEAD V(",{\"id\":\"c\",\"rtp_ppm\":3," REELS ",\"x\":1}"), "unknown_field",
         "variants[1].x"},
        {VHEAD V(",{\"id\":\"c\",\"rtp_ppm\":3}"), "missing_field", "variants[1].reels"},
        {VHEAD V(",{\"id\":\"c\",\"rtp_ppm\":3," REELS "},{\"id\":\"d\",\"rtp_ppm\":4," REELS
                 "},{\"id\":\"e\",\"rtp_ppm\":5," REELS "}"),
         "out_of_range", "variants"},
    };
#undef V
#undef VHEAD
    for (size_t i = 0; i < PB_ARRAY_LEN(bad); i++) {
        struct slot_def *d = NULL;
        struct pb_json_error err;
        int rc = slot_def_decode(bad[i].text, strlen(bad[i].text), &d, &err);
        if (rc != PB_ERR_INVALID)
            fail_msg("definition %zu accepted", i);
        if (strcmp(err.code, bad[i].code) != 0 || strcmp(err.field, bad[i].field) != 0)
            fail_msg("definition %zu: got %s at '%s' (%s), want %s at '%s'", i, err.code,
                     err.field, err.detail, bad[i].code, bad[i].field);
        assert_null(d);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_line_evaluation_by_hand),
        cmocka_unit_test(test_automaton_matches_obvious_evaluation),
        cmocka_unit_test(test_ways_evaluation_by_hand),
        cmocka_unit_test(test_exact_figures_match_an_independent_computation),
        cmocka_unit_test(test_free_spins_retrigger_and_multiply),
        cmocka_unit_test(test_play_outcome_adds_up),
        cmocka_unit_test(test_bad_definitions_are_refused),
        cmocka_unit_test(test_exact_lies_in_the_simulated_interval),
        cmocka_unit_test(test_shipped_games_decode_and_declare_their_exact_rtp),
        cmocka_unit_test(test_variants_play_their_own_reels),
        cmocka_unit_test(test_bad_variants_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
