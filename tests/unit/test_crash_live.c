/* test_crash_live.c: live crash (src/games/crash_live.h). The schedule and the cash-out rule
 * driven by a test clock (pure); then rounds on the round engine on SQLite and PostgreSQL:
 * a round takes the next link of the chain (the hash and crash point the chain's maths
 * give), bets are refused after betting closes or twice in a round, a cash-out before the
 * start or at the crash time is refused and changes nothing, a cash-out in time pays
 * floor(stake * m(t) / 100) once (a repeat answers the same bet), the settle pays automatic
 * targets and loses the rest, every bet's round is closed with the revealed hash; an
 * interrupted round is void at resume: open bets refunded, cash-outs kept, never paid twice.
 * Every database test ends with ledger_verify. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "unit.h"

#include "base/base.h"
#include "core/outbox.h"
#include "games/crash_http.h"
#include "games/crash_live.h"
#include "ledger/ledger.h"

#define T0 1700000000000LL
#define BETTING 5000
#define FUNDS 100000

/* ---- the schedule with a test clock ---- */

static void test_schedule_follows_the_clock(void **state)
{
    (void)state;
    struct crash_schedule s = {.enabled = true};
    assert_int_equal(crash_live_step(&s, T0), CRASH_STEP_RESUME);
    s.loaded = true;
    s.next_open_ms = T0 + 100;
    assert_int_equal(crash_live_phase(&s, T0), CRASH_PHASE_WAITING);
    assert_int_equal(crash_live_step(&s, T0 + 99), CRASH_STEP_WAIT);
    assert_int_equal(crash_live_step(&s, T0 + 100), CRASH_STEP_OPEN);
    /* opened at T0 + 100: betting until T0 + 5100, crash point 2.00x */
    s.round_id = 1;
    s.settled = false;
    s.bets_close_ms = T0 + 100 + BETTING;
    s.crash_at_ms = s.bets_close_ms + crash_time_ms(200);
    assert_int_equal(crash_live_phase(&s, T0 + 100), CRASH_PHASE_BETTING);
    assert_int_equal(crash_live_phase(&s, s.bets_close_ms - 1), CRASH_PHASE_BETTING);
    assert_int_equal(crash_live_phase(&s, s.bets_close_ms), CRASH_PHASE_RUNNING);
    assert_int_equal(crash_live_phase(&s, s.crash_at_ms - 1), CRASH_PHASE_RUNNING);
    assert_int_equal(crash_live_phase(&s, s.crash_at_ms), CRASH_PHASE_CRASHED);
    assert_int_equal(crash_live_step(&s, s.crash_at_ms), CRASH_STEP_WAIT);
    assert_int_equal(crash_live_step(&s, s.crash_at_ms + CRASH_SETTLE_GRACE_MS - 1),
                     CRASH_STEP_WAIT);
    assert_int_equal(crash_live_step(&s, s.crash_at_ms + CRASH_SETTLE_GRACE_MS),
                     CRASH_STEP_SETTLE);
    s.settled = true;
    s.next_open_ms = s.crash_at_ms + 3000;
    assert_int_equal(crash_live_phase(&s, s.crash_at_ms + 10), CRASH_PHASE_CRASHED);
    assert_int_equal(crash_live_step(&s, s.next_open_ms - 1), CRASH_STEP_WAIT);
    assert_int_equal(crash_live_step(&s, s.next_open_ms), CRASH_STEP_OPEN);
    /* a node that does not run rounds resumes and then waits */
    s.enabled = false;
    assert_int_equal(crash_live_step(&s, s.next_open_ms + 1000000), CRASH_STEP_WAIT);
    assert_int_equal(crash_live_phase(&s, s.next_open_ms), CRASH_PHASE_CLOSED);
    assert_string_equal(crash_phase_name(CRASH_PHASE_RUNNING), "running");
}

static void test_cashout_is_decided_by_the_server_time(void **state)
{
    (void)state;
    struct crash_cashout co;
    const int64_t start = T0;
    const uint64_t crash = 250;
    const int64_t crash_at = crash_time_ms(crash);
    assert_string_equal(crash_live_cashout(crash, start, 1000, 0, start - 1, &co),
                        "round_not_started");
    assert_null(crash_live_cashout(crash, start, 1000, 0, start, &co));
    assert_int_equal(co.multiplier, 100);
    assert_int_equal(co.payout_minor, 1000);
    assert_null(crash_live_cashout(crash, start, 1000, 0, start + crash_at - 1, &co));
    assert_int_equal(co.multiplier, crash_multiplier_at(crash_at - 1));
    assert_true(co.multiplier < crash);
    assert_int_equal(co.payout_minor, 1000 * (int64_t)co.multiplier / 100);
    assert_string_equal(crash_live_cashout(crash, start, 1000, 0, start + crash_at, &co),
                        "round_crashed");
    /* an automatic target reached before the manual request wins the target */
    assert_null(crash_live_cashout(crash, start, 333, 150, start + crash_at - 1, &co));
    assert_int_equal(co.multiplier, 150);
    assert_int_equal(co.payout_minor, 333 * 150 / 100);
    /* players whose requests carry the same server time get the same multiplier */
    struct crash_cashout a, b;
    assert_null(crash_live_cashout(crash, start, 7, 0, start + 9000, &a));
    assert_null(crash_live_cashout(crash, start, 7000, 0, start + 9000, &b));
    assert_int_equal(a.multiplier, b.multiplier);
    assert_int_equal(b.payout_minor, 7000 * (int64_t)b.multiplier / 100);
}

static void test_multiplier_parsing(void **state)
{
    (void)state;
    uint64_t m;
    assert_int_equal(crash_http_parse_multiplier("2", &m), 0);
    assert_int_equal(m, 200);
    assert_int_equal(crash_http_parse_multiplier("2.5", &m), 0);
    assert_int_equal(m, 250);
    assert_int_equal(crash_http_parse_multiplier("1000000.00", &m), 0);
    assert_int_equal(m, 100000000);
    const char *bad[] = {"", "2.", ".5", "2.555", "-1", "02", "1e3", "2,5", "12345678901"};
    for (size_t i = 0; i < PB_ARRAY_LEN(bad); i++)
        assert_int_not_equal(crash_http_parse_multiplier(bad[i], &m), 0);
}

/* ---- rounds on the engine ---- */

static struct pbt_ledger_db db;
static struct crash_settings set;

/* A seed whose first round crashes at 2.00x or more (found deterministically). */
static void pick_seed(void)
{
    memset(&set, 0, sizeof(set));
    set.betting_ms = BETTING;
    set.chain_length = 10;
    set.have_seed = true;
    for (uint8_t i = 0;; i++) {
        memset(set.seed, i, sizeof(set.seed));
        uint8_t h[CRASH_HASH_BYTES];
        crash_chain_round(set.seed, 10, 1, h);
        if (crash_point(h, NULL) >= 200)
            return;
    }
}

static void start_db(bool pg)
{
    pbt_ledger_start(&db, pg, "pb_crashlive",
                     (struct pbt_schema[]){{rounds_migrations, rounds_migrations_count},
                                           {crash_migrations, crash_migrations_count}},
                     2);
    pick_seed();
    const char *players[] = {"p1", "p2", "p3"};
    for (int i = 0; i < 3; i++)
        pbt_ledger_fund(&db, players[i], FUNDS);
}

struct op_args {
    int64_t now, id;
    struct crash_round_row round;
    int voided;
};

static int open_step(struct store *tx, void *arg)
{
    struct op_args *a = arg;
    return crash_live_open(tx, &set, a->now, &a->round);
}

static int settle_step(struct store *tx, void *arg)
{
    struct op_args *a = arg;
    return crash_live_settle(db.lg, tx, NULL, a->id, a->now, &a->round);
}

static int resume_step(struct store *tx, void *arg)
{
    struct op_args *a = arg;
    return crash_live_resume(db.lg, tx, NULL, a->now, &a->voided, &a->round);
}

struct bet_args {
    struct crash_bet_request q;
    int64_t bet_id;
    struct crash_bet_row bet;
    struct casino_refusal ref;
};

static int bet_step(struct store *tx, void *arg)
{
    struct bet_args *a = arg;
    return crash_live_bet(db.lg, tx, NULL, &a->q, &a->bet, &a->ref);
}

static int cashout_step(struct store *tx, void *arg)
{
    struct bet_args *a = arg;
    return crash_live_cashout_bet(db.lg, tx, NULL, a->q.player_id, a->bet_id, a->q.received_ms,
                                  &a->bet, &a->ref);
}

static struct bet_args bet(const char *player, int64_t stake, uint64_t target, int64_t at,
                           const char *expect_refusal)
{
    static int n;
    static char idem[32][64];
    n++;
    snprintf(idem[n % 32], sizeof(idem[0]), "test:crash-%d", n);
    struct bet_args a = {.q = {player, "EUR", idem[n % 32], stake, target, at}};
    assert_int_equal(pbt_run(db.w, bet_step, &a), 0);
    if (expect_refusal)
        assert_string_equal(a.ref.code ? a.ref.code : "(none)", expect_refusal);
    else
        assert_int_equal(a.ref.status, 0);
    return a;
}

static struct bet_args cashout(const char *player, int64_t bet_id, int64_t at,
                               const char *expect_refusal)
{
    struct bet_args a = {.q = {.player_id = player, .received_ms = at}, .bet_id = bet_id};
    assert_int_equal(pbt_run(db.w, cashout_step, &a), 0);
    if (expect_refusal)
        assert_string_equal(a.ref.code ? a.ref.code : "(none)", expect_refusal);
    else
        assert_int_equal(a.ref.status, 0);
    return a;
}

static void expect_round(int64_t bet_id, enum round_state state, int64_t stake, int64_t payout,
                         bool revealed)
{
    struct round_info r;
    assert_int_equal(rounds_get(db.rd, bet_id, &r), 0);
    assert_int_equal(r.state, state);
    assert_int_equal(r.stake_minor, stake);
    assert_int_equal(r.payout_minor, payout);
    assert_string_equal(r.game_kind, "crash");
    json_t *d = json_loads(r.detail, 0, NULL);
    json_t *round = json_object_get(d, "round");
    assert_true(revealed ? json_is_string(json_object_get(round, "hash"))
                         : json_is_null(json_object_get(round, "hash")));
    assert_int_equal(json_integer_value(json_object_get(d, "payout_minor")), payout);
    json_decref(d);
    round_info_release(&r);
}

static void rounds_on_the_engine(bool pg)
{
    start_db(pg);
    struct op_args o = {.now = T0};
    assert_int_equal(pbt_run(db.w, open_step, &o), 0);
    struct crash_round_row r = o.round;
    uint8_t h[CRASH_HASH_BYTES], term[CRASH_HASH_BYTES];
    crash_chain_round(set.seed, 10, 1, h);
    crash_chain_terminal(set.seed, 10, term);
    char hex[CRASH_HASH_HEX + 1], thex[CRASH_HASH_HEX + 1];
    crash_hash_hex(h, hex);
    crash_hash_hex(term, thex);
    assert_int_equal(r.id, 1);
    assert_int_equal(r.chain_index, 1);
    assert_string_equal(r.hash, hex);
    assert_string_equal(r.commitment, thex);
    assert_int_equal(r.crash_point, crash_point(h, NULL));
    assert_true(r.crash_point >= 200);
    int64_t start = T0 + BETTING, crash_at = crash_time_ms(r.crash_point);
    assert_int_equal(r.bets_close_ms, start);
    assert_int_equal(r.crash_at_ms, start + crash_at);

    struct bet_args b1 = bet("p1", 1000, 0, T0 + 10, NULL);           /* manual */
    struct bet_args b2 = bet("p2", 777, 150, T0 + 20, NULL);          /* auto 1.50x */
    struct bet_args b3 = bet("p3", 500, r.crash_point + 1, T0 + 30, NULL); /* auto beyond */
    bet("p1", 1000, 0, T0 + 40, "bet_exists");
    bet("p1", 1000, 0, start, "betting_closed");
    assert_int_equal(pbt_cash(&db, "p1"), FUNDS - 1000);
    expect_round(b1.bet.id, ROUND_OUTCOME, 1000, 0, false);

    cashout("p1", b1.bet.id, start - 1, "round_not_started");
    cashout("p2", b1.bet.id, start + 10, "not_found"); /* another player's bet */
    int64_t t = crash_at / 2;
    struct bet_args c1 = cashout("p1", b1.bet.id, start + t, NULL);
    uint64_t m = crash_multiplier_at(t);
    assert_int_equal(c1.bet.state, CRASH_BET_CASHED);
    assert_int_equal(c1.bet.multiplier, m);
    assert_int_equal(c1.bet.payout_minor, 1000 * (int64_t)m / 100);
    assert_int_equal(pbt_cash(&db, "p1"), FUNDS - 1000 + 1000 * (int64_t)m / 100);
    /* a repeat answers the same bet and pays nothing more */
    struct bet_args again = cashout("p1", b1.bet.id, start + t + 500, NULL);
    assert_int_equal(again.bet.payout_minor, c1.bet.payout_minor);
    assert_int_equal(pbt_cash(&db, "p1"), FUNDS - 1000 + 1000 * (int64_t)m / 100);
    expect_round(b1.bet.id, ROUND_OUTCOME, 1000, c1.bet.payout_minor, false);
    /* p3 asks at the crash time: too late, nothing changes */
    cashout("p3", b3.bet.id, start + crash_at, "round_crashed");
    assert_int_equal(pbt_cash(&db, "p3"), FUNDS - 500);

    o = (struct op_args){.now = start + crash_at + 300, .id = 1};
    assert_int_equal(pbt_run(db.w, settle_step, &o), 0);
    assert_int_equal(o.round.phase, CRASH_ROUND_CRASHED);
    assert_int_equal(pbt_run(db.w, settle_step, &o), PB_ERR_CONFLICT); /* once */
    int64_t p2 = 777 * 150 / 100;
    assert_int_equal(pbt_cash(&db, "p1"), FUNDS - 1000 + c1.bet.payout_minor);
    assert_int_equal(pbt_cash(&db, "p2"), FUNDS - 777 + p2);
    assert_int_equal(pbt_cash(&db, "p3"), FUNDS - 500);
    expect_round(b1.bet.id, ROUND_CLOSED, 1000, c1.bet.payout_minor, true);
    expect_round(b2.bet.id, ROUND_CLOSED, 777, p2, true);
    expect_round(b3.bet.id, ROUND_CLOSED, 500, 0, true);
    cashout("p3", b3.bet.id, start + 1, "round_crashed"); /* lost stays lost */
    struct crash_bet_row row;
    assert_int_equal(crash_bet_get(db.rd, b2.bet.id, &row), 0);
    assert_int_equal(row.state, CRASH_BET_CASHED);
    assert_true(row.auto_cashout);
    assert_int_equal(row.multiplier, 150);
    /* the next round takes the next link */
    o = (struct op_args){.now = start + crash_at + 4000};
    assert_int_equal(pbt_run(db.w, open_step, &o), 0);
    crash_chain_round(set.seed, 10, 2, h);
    crash_hash_hex(h, hex);
    assert_int_equal(o.round.id, 2);
    assert_string_equal(o.round.hash, hex);
    pbt_ledger_stop(&db);
}
PBT_BOTH(rounds_on_the_engine)

static void interrupted_round_is_void(bool pg)
{
    start_db(pg);
    struct op_args o = {.now = T0};
    assert_int_equal(pbt_run(db.w, open_step, &o), 0);
    struct crash_round_row r = o.round;
    int64_t start = r.bets_close_ms;
    struct bet_args b1 = bet("p1", 1000, 0, T0 + 1, NULL);
    struct bet_args b2 = bet("p2", 400, 0, T0 + 2, NULL);
    struct bet_args c1 = cashout("p1", b1.bet.id, start + 100, NULL);
    int64_t paid = c1.bet.payout_minor;
    /* the process stops here; the next start resumes */
    o = (struct op_args){.now = start + 600000};
    assert_int_equal(pbt_run(db.w, resume_step, &o), 0);
    assert_int_equal(o.voided, 1);
    assert_int_equal(o.round.id, 1);
    assert_int_equal(o.round.phase, CRASH_ROUND_VOID);
    assert_int_equal(pbt_cash(&db, "p1"), FUNDS - 1000 + paid);
    assert_int_equal(pbt_cash(&db, "p2"), FUNDS);
    expect_round(b1.bet.id, ROUND_CLOSED, 1000, paid, true);
    expect_round(b2.bet.id, ROUND_CLOSED, 400, 400, true);
    cashout("p2", b2.bet.id, start + 1, "round_void");
    /* resuming again changes nothing; the void round cannot be settled */
    assert_int_equal(pbt_run(db.w, resume_step, &o), 0);
    assert_int_equal(o.voided, 0);
    o.id = 1;
    assert_int_equal(pbt_run(db.w, settle_step, &o), PB_ERR_CONFLICT);
    assert_int_equal(pbt_cash(&db, "p1"), FUNDS - 1000 + paid);
    assert_int_equal(pbt_cash(&db, "p2"), FUNDS);
    struct crash_round_row after;
    assert_int_equal(crash_round_get(db.rd, 1, &after), 0);
    assert_int_equal(after.phase, CRASH_ROUND_VOID);
    pbt_ledger_stop(&db);
}
PBT_BOTH(interrupted_round_is_void)

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_schedule_follows_the_clock),
        cmocka_unit_test(test_cashout_is_decided_by_the_server_time),
        cmocka_unit_test(test_multiplier_parsing),
        PBT_PAIR(rounds_on_the_engine),
        PBT_PAIR(interrupted_round_is_void),
    };
    return cmocka_run_group_tests_name("unit.crash_live", tests, NULL, NULL);
}
