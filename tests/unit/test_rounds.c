/* test_rounds.c: the round records (src/games/rounds.h) on SQLite and PostgreSQL: opening
 * in-house and third-party rounds with (provider, external_id) uniqueness, the totals with
 * overflow checks, states that only move forwards and never leave a final state, detail
 * replacement, recall of the newest ROUNDS_RECALL_MAX rounds of one player, the stale
 * rounds recovery takes, and the recovery registry. */
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
#include "games/rounds.h"

#define T0 1700000000000LL

/* ---- pure ---- */

static void test_state_names_round_trip(void **state)
{
    (void)state;
    for (int s = ROUND_OPEN; s <= ROUND_CANCELLED; s++) {
        enum round_state back;
        assert_int_equal(round_state_parse(round_state_name((enum round_state)s), &back), 0);
        assert_int_equal(back, s);
    }
    enum round_state x;
    assert_int_equal(round_state_parse("paid", &x), PB_ERR_INVALID);
    assert_int_equal(round_state_parse(NULL, &x), PB_ERR_INVALID);
    assert_string_equal(round_state_name(ROUND_OUTCOME), "outcome");
}

static void test_states_move_forwards_only(void **state)
{
    (void)state;
    for (int from = ROUND_OPEN; from <= ROUND_CANCELLED; from++) {
        for (int to = ROUND_OPEN; to <= ROUND_CANCELLED; to++) {
            bool final = from == ROUND_CLOSED || from == ROUND_CANCELLED;
            bool want = !final && to >= from;
            if (round_state_move_ok((enum round_state)from, (enum round_state)to) != want)
                fail_msg("%s -> %s", round_state_name((enum round_state)from),
                         round_state_name((enum round_state)to));
        }
    }
}

static int recovery_a(const struct rounds_recovery_ctx *ctx, const struct round_info *r)
{
    (void)ctx;
    (void)r;
    return 1;
}

static int recovery_b(const struct rounds_recovery_ctx *ctx, const struct round_info *r)
{
    (void)ctx;
    (void)r;
    return 2;
}

static void test_recovery_registry(void **state)
{
    (void)state;
    assert_null(rounds_recovery_find("test-kind"));
    assert_int_equal(rounds_register_recovery("test-kind", recovery_a), 0);
    assert_ptr_equal(rounds_recovery_find("test-kind"), recovery_a);
    assert_int_equal(rounds_register_recovery("test-kind", recovery_b), 0); /* replaces */
    assert_ptr_equal(rounds_recovery_find("test-kind"), recovery_b);
    assert_null(rounds_recovery_find("other"));
    assert_null(rounds_recovery_find(NULL));
    static char keys[ROUNDS_RECOVERY_MAX][16];
    int rc = 0;
    for (int i = 0; i < ROUNDS_RECOVERY_MAX && rc == 0; i++) {
        snprintf(keys[i], sizeof(keys[i]), "k%d", i);
        rc = rounds_register_recovery(keys[i], recovery_a);
    }
    assert_int_equal(rc, PB_ERR_FULL); /* "test-kind" took one of the slots */
}

/* ---- storage ---- */

static char db_url[600];
static struct writer *w;
static struct store *rd;

static void start(bool pg)
{
    pbt_fresh_database(pg, "pb_rounds", db_url, sizeof(db_url));
    pbt_migrate(db_url, rounds_migrations, rounds_migrations_count);
    rd = pbt_open(db_url);
    w = pbt_start_writer(db_url, NULL);
}

static void stop(void)
{
    writer_stop(w);
    store_close(rd);
}

struct open_args {
    const char *player, *game, *kind, *provider, *external, *currency;
    int64_t now_ms;
    int64_t id;
};

static int open_step(struct store *tx, void *arg)
{
    struct open_args *a = arg;
    if (a->kind)
        return rounds_open_game(tx, a->player, a->game, a->kind, a->provider, a->external,
                                a->currency, a->now_ms, &a->id);
    return rounds_open(tx, a->player, a->game, a->provider, a->external, a->currency,
                       a->now_ms, &a->id);
}

static int open_round(const char *player, const char *provider, const char *external,
                      int64_t now_ms, int64_t *id)
{
    struct open_args a = {player, "dice", NULL, provider, external, "EUR", now_ms, 0};
    int rc = pbt_run(w, open_step, &a);
    *id = a.id;
    return rc;
}

struct state_args {
    int64_t id;
    enum round_state state;
    const char *detail;
    int64_t now_ms;
};

static int state_step(struct store *tx, void *arg)
{
    struct state_args *a = arg;
    return rounds_set_state(tx, a->id, a->state, a->detail, a->now_ms);
}

static int set_state(int64_t id, enum round_state s, const char *detail, int64_t now_ms)
{
    struct state_args a = {id, s, detail, now_ms};
    return pbt_run(w, state_step, &a);
}

struct add_args {
    int64_t id, stake, payout, now_ms;
};

static int add_step(struct store *tx, void *arg)
{
    struct add_args *a = arg;
    return rounds_add(tx, a->id, a->stake, a->payout, a->now_ms);
}

static int add(int64_t id, int64_t stake, int64_t payout)
{
    struct add_args a = {id, stake, payout, T0 + 10};
    return pbt_run(w, add_step, &a);
}

static void open_and_read(bool pg)
{
    start(pg);
    int64_t a, b;
    assert_int_equal(open_round("p1", "pitboss", "", T0, &a), 0);
    assert_int_equal(open_round("p1", "pitboss", "", T0 + 1, &b), 0);
    assert_true(a > 0 && b > a);
    struct round_info r;
    assert_int_equal(rounds_get(rd, a, &r), 0);
    assert_int_equal(r.id, a);
    assert_string_equal(r.player_id, "p1");
    assert_string_equal(r.game_id, "dice");
    assert_string_equal(r.game_kind, "");
    assert_string_equal(r.provider, "pitboss");
    assert_string_equal(r.external_id, "");
    assert_string_equal(r.currency, "EUR");
    assert_int_equal(r.state, ROUND_OPEN);
    assert_int_equal(r.stake_minor, 0);
    assert_int_equal(r.payout_minor, 0);
    assert_int_equal(r.opened_ms, T0);
    assert_int_equal(r.updated_ms, T0);
    assert_null(r.detail);
    round_info_release(&r);
    assert_int_equal(rounds_get(rd, b + 100, &r), PB_ERR_NOT_FOUND);
    struct open_args k = {"p2", "blackjack", "blackjack", "pitboss", "", "USD", T0, 0};
    assert_int_equal(pbt_run(w, open_step, &k), 0);
    assert_int_equal(rounds_get(rd, k.id, &r), 0);
    assert_string_equal(r.game_kind, "blackjack");
    round_info_release(&r);
    stop();
}
PBT_BOTH(open_and_read)

static void open_refuses_bad_input(bool pg)
{
    start(pg);
    char longid[ROUNDS_PLAYER_ID_MAX + 2];
    memset(longid, 'x', sizeof(longid) - 1);
    longid[sizeof(longid) - 1] = '\0';
    char longext[ROUNDS_EXTERNAL_ID_MAX + 2];
    memset(longext, 'e', sizeof(longext) - 1);
    longext[sizeof(longext) - 1] = '\0';
    struct open_args bad[] = {
        {"", "dice", NULL, "pitboss", "", "EUR", T0, 0},
        {longid, "dice", NULL, "pitboss", "", "EUR", T0, 0},
        {"p1", "", NULL, "pitboss", "", "EUR", T0, 0},
        {"p1", "dice", NULL, "", "", "EUR", T0, 0},
        {"p1", "dice", NULL, "acme", longext, "EUR", T0, 0},
        {"p1", "dice", NULL, "pitboss", "", "XXX", T0, 0},
        {"p1", "dice", NULL, "pitboss", "", "", T0, 0},
    };
    for (size_t i = 0; i < PB_ARRAY_LEN(bad); i++)
        if (pbt_run(w, open_step, &bad[i]) != PB_ERR_INVALID)
            fail_msg("bad open %zu accepted", i);
    size_t n;
    struct round_info out[4];
    assert_int_equal(rounds_recall(rd, "p1", out, 4, &n), 0);
    assert_int_equal(n, 0);
    stop();
}
PBT_BOTH(open_refuses_bad_input)

static void external_ids_are_unique_per_provider(bool pg)
{
    start(pg);
    int64_t a, b, c, d, e;
    assert_int_equal(open_round("p1", "acme", "r-1", T0, &a), 0);
    assert_int_equal(open_round("p2", "acme", "r-1", T0, &b), PB_ERR_CONFLICT);
    assert_int_equal(open_round("p1", "other", "r-1", T0, &c), 0);
    assert_int_equal(open_round("p1", "pitboss", "", T0, &d), 0);
    assert_int_equal(open_round("p1", "pitboss", "", T0, &e), 0); /* "" is not an id */
    assert_true(c != a && d != e);
    struct round_info r;
    assert_int_equal(rounds_find_external(rd, "acme", "r-1", &r), 0);
    assert_int_equal(r.id, a);
    assert_string_equal(r.player_id, "p1");
    round_info_release(&r);
    assert_int_equal(rounds_find_external(rd, "other", "r-1", &r), 0);
    assert_int_equal(r.id, c);
    round_info_release(&r);
    assert_int_equal(rounds_find_external(rd, "acme", "r-2", &r), PB_ERR_NOT_FOUND);
    assert_int_equal(rounds_find_external(rd, "pitboss", "", &r), PB_ERR_NOT_FOUND);
    stop();
}
PBT_BOTH(external_ids_are_unique_per_provider)

static void totals_add_up_and_refuse_overflow(bool pg)
{
    start(pg);
    int64_t id;
    assert_int_equal(open_round("p1", "pitboss", "", T0, &id), 0);
    assert_int_equal(add(id, 100, 0), 0);
    assert_int_equal(add(id, 50, 400), 0);
    assert_int_equal(add(id, -1, 0), PB_ERR_INVALID);
    assert_int_equal(add(id, 0, -1), PB_ERR_INVALID);
    assert_int_equal(add(id, INT64_MAX, 0), PB_ERR_INVALID);
    assert_int_equal(add(id, 0, INT64_MAX), PB_ERR_INVALID);
    assert_int_equal(add(id + 1000, 1, 0), PB_ERR_NOT_FOUND);
    struct round_info r;
    assert_int_equal(rounds_get(rd, id, &r), 0);
    assert_int_equal(r.stake_minor, 150);
    assert_int_equal(r.payout_minor, 400);
    assert_int_equal(r.updated_ms, T0 + 10);
    round_info_release(&r);
    assert_int_equal(set_state(id, ROUND_CLOSED, NULL, T0 + 20), 0);
    assert_int_equal(add(id, 1, 0), PB_ERR_CONFLICT); /* a closed round's totals are final */
    assert_int_equal(rounds_get(rd, id, &r), 0);
    assert_int_equal(r.stake_minor, 150);
    round_info_release(&r);
    stop();
}
PBT_BOTH(totals_add_up_and_refuse_overflow)

static void states_never_go_backwards(bool pg)
{
    start(pg);
    int64_t id, c;
    assert_int_equal(open_round("p1", "pitboss", "", T0, &id), 0);
    assert_int_equal(set_state(id, ROUND_DEBITED, NULL, T0 + 1), 0);
    assert_int_equal(set_state(id, ROUND_OPEN, NULL, T0 + 2), PB_ERR_CONFLICT);
    assert_int_equal(set_state(id, ROUND_OUTCOME, "{\"roll\":42}", T0 + 3), 0);
    /* staying in a non-final state updates the detail */
    assert_int_equal(set_state(id, ROUND_OUTCOME, "{\"roll\":42,\"seen\":true}", T0 + 4), 0);
    assert_int_equal(set_state(id, ROUND_DEBITED, NULL, T0 + 5), PB_ERR_CONFLICT);
    assert_int_equal(set_state(id, ROUND_SETTLED, NULL, T0 + 6), 0); /* detail kept */
    assert_int_equal(set_state(id, ROUND_CLOSED, NULL, T0 + 7), 0);
    assert_int_equal(set_state(id, ROUND_CLOSED, NULL, T0 + 8), PB_ERR_CONFLICT);
    assert_int_equal(set_state(id, ROUND_CANCELLED, NULL, T0 + 8), PB_ERR_CONFLICT);
    assert_int_equal(set_state(id + 100, ROUND_CLOSED, NULL, T0 + 8), PB_ERR_NOT_FOUND);
    struct round_info r;
    assert_int_equal(rounds_get(rd, id, &r), 0);
    assert_int_equal(r.state, ROUND_CLOSED);
    assert_int_equal(r.updated_ms, T0 + 7);
    assert_string_equal(r.detail, "{\"roll\":42,\"seen\":true}");
    round_info_release(&r);
    /* cancelled is final too; skipping states forwards is allowed */
    assert_int_equal(open_round("p1", "pitboss", "", T0, &c), 0);
    assert_int_equal(set_state(c, ROUND_CANCELLED, "{\"reason\":\"rollback\"}", T0 + 1), 0);
    assert_int_equal(set_state(c, ROUND_CLOSED, NULL, T0 + 2), PB_ERR_CONFLICT);
    assert_int_equal(rounds_get(rd, c, &r), 0);
    assert_int_equal(r.state, ROUND_CANCELLED);
    round_info_release(&r);
    stop();
}
PBT_BOTH(states_never_go_backwards)

struct update_args {
    int64_t id, stake, payout;
    enum round_state state;
    const char *detail;
};

static int update_step(struct store *tx, void *arg)
{
    struct update_args *a = arg;
    return rounds_update(tx, a->id, a->stake, a->payout, a->state, a->detail, T0 + 50);
}

static int update(int64_t id, int64_t stake, int64_t payout, enum round_state s,
                  const char *detail)
{
    struct update_args a = {id, stake, payout, s, detail};
    return pbt_run(w, update_step, &a);
}

static void update_moves_totals_and_state_together(bool pg)
{
    start(pg);
    int64_t id;
    assert_int_equal(open_round("p1", "pitboss", "", T0, &id), 0);
    assert_int_equal(update(id, 100, 0, ROUND_OUTCOME, "{\"roll\":7}"), 0);
    assert_int_equal(update(id, 0, 0, ROUND_DEBITED, NULL), PB_ERR_CONFLICT); /* backwards */
    assert_int_equal(update(id, -1, 0, ROUND_OUTCOME, NULL), PB_ERR_INVALID);
    assert_int_equal(update(id, INT64_MAX, 0, ROUND_OUTCOME, NULL), PB_ERR_INVALID);
    assert_int_equal(update(id, 0, 0, ROUND_OUTCOME, "[]"), PB_ERR_INVALID);
    assert_int_equal(update(id + 99, 0, 0, ROUND_OUTCOME, NULL), PB_ERR_NOT_FOUND);
    assert_int_equal(update(id, 0, 250, ROUND_CLOSED, NULL), 0);
    /* a second settlement finds the round closed: nothing changes */
    assert_int_equal(update(id, 0, 250, ROUND_CLOSED, NULL), PB_ERR_CONFLICT);
    struct round_info r;
    assert_int_equal(rounds_get(rd, id, &r), 0);
    assert_int_equal(r.stake_minor, 100);
    assert_int_equal(r.payout_minor, 250);
    assert_int_equal(r.state, ROUND_CLOSED);
    assert_int_equal(r.updated_ms, T0 + 50);
    assert_string_equal(r.detail, "{\"roll\":7}");
    round_info_release(&r);
    stop();
}
PBT_BOTH(update_moves_totals_and_state_together)

static void detail_must_be_an_object(bool pg)
{
    start(pg);
    int64_t id;
    assert_int_equal(open_round("p1", "pitboss", "", T0, &id), 0);
    static const char *const bad[] = {"", "[1]", "42", "{\"a\":", "{\"a\":1,\"a\":2}"};
    for (size_t i = 0; i < PB_ARRAY_LEN(bad); i++)
        if (set_state(id, ROUND_DEBITED, bad[i], T0 + 1) != PB_ERR_INVALID)
            fail_msg("detail %s accepted", bad[i]);
    char *huge = pb_malloc(ROUNDS_DETAIL_MAX + 16);
    memset(huge, ' ', ROUNDS_DETAIL_MAX + 15);
    memcpy(huge, "{}", 2);
    huge[ROUNDS_DETAIL_MAX + 15] = '\0';
    assert_int_equal(set_state(id, ROUND_DEBITED, huge, T0 + 1), PB_ERR_INVALID);
    pb_free(huge);
    struct round_info r;
    assert_int_equal(rounds_get(rd, id, &r), 0);
    assert_int_equal(r.state, ROUND_OPEN); /* nothing changed */
    assert_null(r.detail);
    round_info_release(&r);
    stop();
}
PBT_BOTH(detail_must_be_an_object)

static void recall_lists_the_newest_fifty(bool pg)
{
    start(pg);
    int64_t ids[ROUNDS_RECALL_MAX + 10], other;
    for (size_t i = 0; i < PB_ARRAY_LEN(ids); i++) {
        assert_int_equal(open_round("p1", "pitboss", "", T0 + (int64_t)i, &ids[i]), 0);
        char detail[64];
        snprintf(detail, sizeof(detail), "{\"n\":%zu}", i);
        assert_int_equal(set_state(ids[i], ROUND_CLOSED, detail, T0 + (int64_t)i), 0);
        if (i == 5)
            assert_int_equal(open_round("p2", "pitboss", "", T0, &other), 0);
    }
    struct round_info out[ROUNDS_RECALL_MAX];
    size_t n;
    assert_int_equal(rounds_recall(rd, "p1", out, ROUNDS_RECALL_MAX, &n), 0);
    assert_int_equal(n, ROUNDS_RECALL_MAX);
    for (size_t i = 0; i < n; i++) {
        size_t k = PB_ARRAY_LEN(ids) - 1 - i; /* newest first */
        assert_int_equal(out[i].id, ids[k]);
        assert_string_equal(out[i].player_id, "p1");
        char detail[64];
        snprintf(detail, sizeof(detail), "{\"n\":%zu}", k);
        assert_string_equal(out[i].detail, detail);
        round_info_release(&out[i]);
    }
    assert_int_equal(rounds_recall(rd, "p1", out, 3, &n), 0);
    assert_int_equal(n, 3);
    assert_int_equal(out[0].id, ids[PB_ARRAY_LEN(ids) - 1]);
    for (size_t i = 0; i < n; i++)
        round_info_release(&out[i]);
    assert_int_equal(rounds_recall(rd, "p2", out, ROUNDS_RECALL_MAX, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(out[0].id, other);
    round_info_release(&out[0]);
    assert_int_equal(rounds_recall(rd, "nobody", out, ROUNDS_RECALL_MAX, &n), 0);
    assert_int_equal(n, 0);
    stop();
}
PBT_BOTH(recall_lists_the_newest_fifty)

static void stale_lists_unfinished_rounds_past_the_cutoff(bool pg)
{
    start(pg);
    int64_t open, debited, outcome, settled, fresh, closed;
    assert_int_equal(open_round("p1", "pitboss", "", T0, &open), 0);
    assert_int_equal(open_round("p1", "pitboss", "", T0, &debited), 0);
    assert_int_equal(set_state(debited, ROUND_DEBITED, NULL, T0 + 20), 0);
    assert_int_equal(open_round("p1", "pitboss", "", T0, &outcome), 0);
    assert_int_equal(set_state(outcome, ROUND_OUTCOME, "{}", T0 + 10), 0);
    assert_int_equal(open_round("p1", "pitboss", "", T0, &settled), 0);
    assert_int_equal(set_state(settled, ROUND_SETTLED, NULL, T0 + 5), 0);
    assert_int_equal(open_round("p1", "pitboss", "", T0, &fresh), 0);
    assert_int_equal(set_state(fresh, ROUND_DEBITED, NULL, T0 + 1000), 0);
    assert_int_equal(open_round("p1", "pitboss", "", T0, &closed), 0);
    assert_int_equal(set_state(closed, ROUND_CLOSED, NULL, T0 + 1), 0);
    struct round_info out[ROUNDS_STALE_MAX];
    size_t n;
    assert_int_equal(rounds_stale(rd, T0 + 500, out, ROUNDS_STALE_MAX, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(out[0].id, outcome); /* oldest change first */
    assert_int_equal(out[1].id, debited);
    for (size_t i = 0; i < n; i++)
        round_info_release(&out[i]);
    assert_int_equal(rounds_stale(rd, T0 + 500, out, 1, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(out[0].id, outcome);
    round_info_release(&out[0]);
    assert_int_equal(rounds_stale(rd, T0 + 20, out, ROUNDS_STALE_MAX, &n), 0);
    assert_int_equal(n, 1); /* updated_ms < cutoff, strictly */
    round_info_release(&out[0]);
    assert_int_equal(rounds_stale(rd, T0 + 2000, out, ROUNDS_STALE_MAX, &n), 0);
    assert_int_equal(n, 3);
    for (size_t i = 0; i < n; i++)
        round_info_release(&out[i]);
    stop();
}
PBT_BOTH(stale_lists_unfinished_rounds_past_the_cutoff)

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_state_names_round_trip),
        cmocka_unit_test(test_states_move_forwards_only),
        cmocka_unit_test(test_recovery_registry),
        PBT_PAIR(open_and_read),
        PBT_PAIR(open_refuses_bad_input),
        PBT_PAIR(external_ids_are_unique_per_provider),
        PBT_PAIR(totals_add_up_and_refuse_overflow),
        PBT_PAIR(states_never_go_backwards),
        PBT_PAIR(update_moves_totals_and_state_together),
        PBT_PAIR(detail_must_be_an_object),
        PBT_PAIR(recall_lists_the_newest_fifty),
        PBT_PAIR(stale_lists_unfinished_rounds_past_the_cutoff),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
