/* test_blackjack_round.c: blackjack rounds on the round engine (src/games/blackjack_round.h)
 * on SQLite and PostgreSQL: a start debits the stake and stores the state while the round's
 * detail shows only the player's view; a double debits its stake and the settled round pays
 * what the state machine says; a blackjack settles at the deal; refusals (turn, illegal
 * action, someone else's round, insufficient funds for a double, stake limits, no wallet,
 * settled round) change nothing; an abandoned round is finished by the default action by the
 * recovery task. Every test ends with ledger_verify. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "unit.h"

#include "base/base.h"
#include "core/outbox.h"
#include "games/blackjack_round.h"
#include "ledger/ledger.h"

#define T0 1700000000000LL
#define FUNDS 50000

static struct pbt_ledger_db db;

static void start_db(bool pg)
{
    assert_int_equal(bj_round_register_recovery(), 0);
    pbt_ledger_start(&db, pg, "pb_bjround",
                     (struct pbt_schema[]){{rounds_migrations, rounds_migrations_count},
                                           {blackjack_migrations, blackjack_migrations_count}},
                     2);
    pbt_ledger_fund(&db, "p1", FUNDS);
    pbt_ledger_fund(&db, "p2", 150);
}

/* A 6-deck shoe whose first cards have the ranks of deal, in deal order. */
static void stack(struct shoe *s, const char *deal)
{
    shoe_init(s, 6);
    for (int i = 0; deal[i]; i++) {
        int want = (int)(strchr("A23456789TJQK", deal[i]) - "A23456789TJQK") + 1, j = i;
        while (card_rank(s->cards[j]) != want)
            j++;
        uint8_t t = s->cards[i];
        s->cards[i] = s->cards[j];
        s->cards[j] = t;
    }
}

struct start_args {
    const char *player, *currency, *idem;
    int64_t stake;
    struct shoe shoe;
    int64_t round_id;
    struct casino_refusal ref;
};

static int start_step(struct store *tx, void *arg)
{
    struct start_args *a = arg;
    struct bj_rules rules;
    bj_rules_default(&rules);
    return bj_round_start(db.lg, tx, NULL, a->player, a->currency, a->stake, a->idem, &rules,
                          &a->shoe, T0, &a->round_id, &a->ref);
}

static int64_t start_round(const char *player, const char *deal, int64_t stake,
                           struct casino_refusal *ref)
{
    static int n;
    char idem[64];
    snprintf(idem, sizeof(idem), "test:start-%d", ++n);
    struct start_args a = {.player = player, .currency = "EUR", .idem = idem, .stake = stake};
    stack(&a.shoe, deal);
    assert_int_equal(pbt_run(db.w, start_step, &a), 0);
    if (ref)
        *ref = a.ref;
    else
        assert_int_equal(a.ref.status, 0);
    return a.round_id;
}

struct act_args {
    const char *player;
    int64_t round_id, seq;
    enum bj_action action;
    int64_t now_ms;
    struct casino_refusal ref;
};

static int act_step(struct store *tx, void *arg)
{
    struct act_args *a = arg;
    return bj_round_act(db.lg, tx, NULL, a->player, a->round_id, a->seq, a->action, a->now_ms,
                        &a->ref);
}

static struct casino_refusal act(const char *player, int64_t round_id, int64_t seq,
                                 enum bj_action action)
{
    struct act_args a = {player, round_id, seq, action, T0 + 1000, {0}};
    assert_int_equal(pbt_run(db.w, act_step, &a), 0);
    return a.ref;
}

static struct round_info round_of(int64_t id)
{
    struct round_info r;
    assert_int_equal(rounds_get(db.rd, id, &r), 0);
    return r;
}

static void play_moves_money_by_the_state_machine(bool pg)
{
    start_db(pg);
    /* 5,6 vs 6 (hole 7): double, draws 9 = 20; dealer 13 + T = 23. */
    int64_t id = start_round("p1", "5667" "9" "T", 100, NULL);
    assert_int_equal(pbt_cash(&db, "p1"), FUNDS - 100);
    struct round_info r = round_of(id);
    assert_int_equal(r.state, ROUND_OUTCOME);
    assert_string_equal(r.game_kind, BJ_ROUND_KIND);
    assert_int_equal(r.stake_minor, 100);
    json_t *detail = json_loads(r.detail, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(detail, "phase")), "player");
    assert_int_equal(json_integer_value(json_object_get(detail, "seq")), 0);
    assert_int_equal(json_array_size(json_object_get(json_object_get(detail, "dealer"),
                                                     "cards")), 1); /* hole card hidden */
    assert_null(strstr(r.detail, "shoe"));
    json_decref(detail);
    round_info_release(&r);
    struct casino_refusal ref = act("p1", id, 0, BJ_DOUBLE);
    assert_int_equal(ref.status, 0);
    r = round_of(id);
    assert_int_equal(r.state, ROUND_CLOSED);
    assert_int_equal(r.stake_minor, 200);
    assert_int_equal(r.payout_minor, 400);
    round_info_release(&r);
    assert_int_equal(pbt_cash(&db, "p1"), FUNDS + 200);
    struct bj_state s;
    assert_int_equal(bj_round_load(db.rd, id, &s), 0); /* kept for audit, replays to the end */
    assert_int_equal(s.phase, BJ_PHASE_SETTLED);
    assert_int_equal(s.payout_minor, 400);
    /* A blackjack settles at the deal: 3:2. */
    id = start_round("p1", "A9K5", 100, NULL);
    r = round_of(id);
    assert_int_equal(r.state, ROUND_CLOSED);
    assert_int_equal(r.payout_minor, 250);
    round_info_release(&r);
    assert_int_equal(pbt_cash(&db, "p1"), FUNDS + 350);
    /* Split then stand twice: two stakes, two hands settled. */
    id = start_round("p1", "8T87" "3" "2", 100, NULL);
    assert_int_equal(act("p1", id, 0, BJ_SPLIT).status, 0);
    assert_int_equal(act("p1", id, 1, BJ_STAND).status, 0);
    assert_int_equal(act("p1", id, 2, BJ_STAND).status, 0);
    r = round_of(id);
    assert_int_equal(r.state, ROUND_CLOSED);
    assert_int_equal(r.stake_minor, 200);
    assert_int_equal(bj_round_load(db.rd, id, &s), 0);
    assert_int_equal(r.payout_minor, s.payout_minor);
    assert_int_equal(pbt_cash(&db, "p1"), FUNDS + 350 - 200 + s.payout_minor);
    round_info_release(&r);
    pbt_ledger_stop(&db);
}
PBT_BOTH(play_moves_money_by_the_state_machine)

static void expect_act_refused(const char *player, int64_t id, int64_t seq,
                               enum bj_action action, int status, const char *code)
{
    int64_t funds1 = pbt_cash(&db, "p1"), funds2 = pbt_cash(&db, "p2");
    struct round_info before = round_of(id);
    struct casino_refusal ref = act(player, id, seq, action);
    assert_int_equal(ref.status, status);
    assert_string_equal(ref.code, code);
    struct round_info after = round_of(id);
    assert_int_equal(after.stake_minor, before.stake_minor);
    assert_int_equal(after.state, before.state);
    assert_string_equal(after.detail, before.detail);
    assert_int_equal(pbt_cash(&db, "p1"), funds1);
    assert_int_equal(pbt_cash(&db, "p2"), funds2);
    round_info_release(&before);
    round_info_release(&after);
}

static void refusals_change_nothing(bool pg)
{
    start_db(pg);
    int64_t id = start_round("p1", "5667" "9" "T", 100, NULL);
    expect_act_refused("p1", id, 1, BJ_HIT, 409, "action_out_of_turn");
    expect_act_refused("p1", id, 0, BJ_INSURANCE, 409, "insurance_not_offered");
    expect_act_refused("p1", id, 0, BJ_SURRENDER, 409, "surrender_not_offered");
    expect_act_refused("p2", id, 0, BJ_HIT, 404, "not_found");
    struct casino_refusal none = act("p1", id + 100, 0, BJ_HIT);
    assert_int_equal(none.status, 404);
    assert_string_equal(none.field, "round_id");
    /* p2 has 150: a 100 stake leaves 50, too little to double. */
    int64_t id2 = start_round("p2", "5667" "9" "T", 100, NULL);
    assert_int_equal(pbt_cash(&db, "p2"), 50);
    expect_act_refused("p2", id2, 0, BJ_DOUBLE, 422, "ledger");
    struct bj_state s;
    assert_int_equal(bj_round_load(db.rd, id2, &s), 0);
    assert_int_equal(s.action_count, 0);
    assert_int_equal(act("p2", id2, 0, BJ_STAND).status, 0); /* 11 vs 13 + T = 23: wins */
    assert_int_equal(pbt_cash(&db, "p2"), 250);
    expect_act_refused("p2", id2, 1, BJ_HIT, 409, "round_settled");
    /* Start refusals leave no round and move no money. */
    struct casino_refusal ref;
    start_round("p1", "T967", 200000, &ref); /* above the 1000.00 default maximum */
    assert_int_equal(ref.status, 422);
    assert_string_equal(ref.code, "stake_out_of_range");
    start_round("p2", "T967", 251, &ref);
    assert_int_equal(ref.status, 422);
    assert_string_equal(ref.code, "ledger");
    assert_int_equal(pbt_cash(&db, "p2"), 250);
    struct round_info list[ROUNDS_RECALL_MAX];
    size_t n;
    assert_int_equal(rounds_recall(db.rd, "p2", list, ROUNDS_RECALL_MAX, &n), 0);
    assert_int_equal(n, 1);
    for (size_t i = 0; i < n; i++)
        round_info_release(&list[i]);
    pbt_ledger_stop(&db);
}
PBT_BOTH(refusals_change_nothing)

struct recover_args {
    int64_t now_ms;
    int recovered;
    int64_t failed;
};

static int recover_step(struct store *tx, void *arg)
{
    struct recover_args *a = arg;
    return casino_recover(db.lg, tx, NULL, a->now_ms, CASINO_RECOVERY_TIMEOUT_MS, NULL, 0,
                          &a->recovered, &a->failed);
}

static void abandoned_rounds_stand_and_settle(bool pg)
{
    start_db(pg);
    /* Ace up: insurance pending; the default declines it and stands on 16. */
    int64_t id = start_round("p1", "9A77" "T", 100, NULL);
    int64_t id2 = start_round("p1", "8T87" "3" "2", 100, NULL);
    assert_int_equal(act("p1", id2, 0, BJ_SPLIT).status, 0);
    struct recover_args early = {T0 + 1000 + CASINO_RECOVERY_TIMEOUT_MS - 1, 0, 0};
    assert_int_equal(pbt_run(db.w, recover_step, &early), 0);
    assert_int_equal(early.recovered, 1); /* only the round untouched since T0 */
    struct recover_args later = {T0 + 1000 + CASINO_RECOVERY_TIMEOUT_MS + 1, 0, 0};
    assert_int_equal(pbt_run(db.w, recover_step, &later), 0);
    assert_int_equal(later.recovered, 1);
    int64_t expected = FUNDS - 100 - 200;
    const int64_t ids[2] = {id, id2};
    for (int i = 0; i < 2; i++) {
        struct bj_state s;
        assert_int_equal(bj_round_load(db.rd, ids[i], &s), 0);
        assert_int_equal(s.phase, BJ_PHASE_SETTLED);
        struct round_info r = round_of(ids[i]);
        assert_int_equal(r.state, ROUND_CLOSED);
        assert_int_equal(r.payout_minor, s.payout_minor);
        expected += s.payout_minor;
        round_info_release(&r);
    }
    struct bj_state s;
    assert_int_equal(bj_round_load(db.rd, id, &s), 0);
    assert_int_equal(s.actions[0], BJ_NO_INSURANCE);
    assert_int_equal(s.actions[1], BJ_STAND);
    assert_int_equal(s.insurance_minor, 0);
    assert_int_equal(pbt_cash(&db, "p1"), expected);
    struct recover_args again = {T0 + 10 * CASINO_RECOVERY_TIMEOUT_MS, 0, 0};
    assert_int_equal(pbt_run(db.w, recover_step, &again), 0);
    assert_int_equal(again.recovered, 0); /* never twice */
    assert_int_equal(pbt_cash(&db, "p1"), expected);
    pbt_ledger_stop(&db);
}
PBT_BOTH(abandoned_rounds_stand_and_settle)

int main(void)
{
    const struct CMUnitTest tests[] = {
        PBT_PAIR(play_moves_money_by_the_state_machine),
        PBT_PAIR(refusals_change_nothing),
        PBT_PAIR(abandoned_rounds_stand_and_settle),
    };
    return cmocka_run_group_tests_name("unit.blackjack_round", tests, NULL, NULL);
}
