/* test_casino.c: the round engine (src/games/casino.h) on SQLite and PostgreSQL: a dice play
 * debits the stake, stores the outcome drawn from the player's seed pair and credits exactly
 * what the game's rule pays; refusals (bad bet, disabled game, stake limits, no wallet,
 * insufficient funds) leave no round, no money moved and no nonce taken; configuration
 * checks; settlement pays once; the recovery of interrupted rounds completes them through a
 * test-only recovery function, never twice, and skips rounds whose recovery failed. Every
 * test ends with ledger_verify. */
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
#include "games/casino.h"
#include "games/games.h"
#include "ledger/ledger.h"

#define T0 1700000000000LL
#define FUNDS 50000

static struct pbt_ledger_db db;

static void start(bool pg)
{
    pbt_ledger_start(&db, pg, "pb_casino",
                     (struct pbt_schema[]){{rounds_migrations, rounds_migrations_count}}, 1);
    pbt_ledger_fund(&db, "p1", FUNDS);
}

static size_t rounds_of(const char *player)
{
    struct round_info r[ROUNDS_RECALL_MAX];
    size_t n;
    assert_int_equal(rounds_recall(db.rd, player, r, ROUNDS_RECALL_MAX, &n), 0);
    for (size_t i = 0; i < n; i++)
        round_info_release(&r[i]);
    return n;
}

struct play_args {
    struct casino_play p;
    struct casino_result res;
    struct casino_refusal ref;
};

static int play_step(struct store *tx, void *arg)
{
    struct play_args *a = arg;
    return casino_play_round(db.lg, tx, NULL, &a->p, T0, &a->res, &a->ref);
}

static void play(struct play_args *a, const char *player, const char *currency, int64_t stake,
                 const char *bet_text)
{
    memset(a, 0, sizeof(*a));
    json_t *bet = bet_text ? json_loads(bet_text, 0, NULL) : NULL;
    a->p = (struct casino_play){&dice_game, player, currency, stake, bet, false, false, NULL};
    assert_int_equal(pbt_run(db.w, play_step, a), 0);
    json_decref(bet);
}

/* What the dice rule pays for the round's stored fair inputs, recomputed from the seed. */
static int64_t dice_expected(const char *server_seed, json_t *detail, int64_t stake)
{
    json_t *fair = json_object_get(detail, "fair");
    struct rng_fair f;
    assert_int_equal(rng_fair_init(&f, server_seed,
                                   json_string_value(json_object_get(fair, "client_seed")),
                                   (uint64_t)json_integer_value(json_object_get(fair, "nonce"))),
                     0);
    int32_t roll = dice_roll(&f);
    json_t *bet = json_object_get(detail, "bet");
    int64_t target = json_integer_value(json_object_get(bet, "target"));
    bool under = strcmp(json_string_value(json_object_get(bet, "direction")), "under") == 0;
    assert_int_equal(json_integer_value(json_object_get(json_object_get(detail, "outcome"),
                                                        "roll_hundredths")),
                     roll);
    if (!(under ? roll < target : roll > target))
        return 0;
    int64_t payout;
    assert_int_equal(dice_payout(stake, (int32_t)(under ? target : 10000 - target), &payout),
                     0);
    return payout;
}

static void dice_play_moves_money_by_the_rule(bool pg)
{
    start(pg);
    int64_t balance = FUNDS;
    for (int i = 0; i < 12; i++) {
        struct play_args a;
        play(&a, "p1", "EUR", 100, "{\"target\":5000,\"direction\":\"under\"}");
        assert_int_equal(a.ref.status, 0);
        struct round_info *r = &a.res.round;
        assert_int_equal(r->state, ROUND_CLOSED);
        assert_int_equal(r->stake_minor, 100);
        assert_string_equal(r->provider, CASINO_PROVIDER);
        assert_string_equal(r->game_kind, "dice");
        json_t *detail = json_loads(r->detail, 0, NULL);
        json_t *fair = json_object_get(detail, "fair");
        assert_int_equal(json_integer_value(json_object_get(fair, "nonce")), i);
        struct fair_seeds seeds;
        assert_int_equal(fair_seeds_get(db.rd, "p1", &seeds), 0);
        assert_string_equal(json_string_value(json_object_get(fair, "server_seed_hash")),
                            seeds.server_hash);
        int64_t expected = dice_expected(seeds.server_seed, detail, 100);
        assert_int_equal(r->payout_minor, expected);
        balance += expected - 100;
        assert_int_equal(pbt_cash(&db, "p1"), balance);
        assert_int_equal(a.res.balance_posted_minor, balance);
        json_decref(detail);
        round_info_release(r);
    }
    assert_int_equal(rounds_of("p1"), 12);
    pbt_ledger_stop(&db);
}
PBT_BOTH(dice_play_moves_money_by_the_rule)

static void expect_refused(const char *player, const char *currency, int64_t stake,
                           const char *bet, int status, const char *code, const char *field)
{
    struct fair_seeds before, after;
    int had = fair_seeds_get(db.rd, player, &before);
    int64_t funds = pbt_cash(&db, player);
    struct play_args a;
    play(&a, player, currency, stake, bet);
    assert_int_equal(a.ref.status, status);
    assert_string_equal(a.ref.code, code);
    assert_string_equal(a.ref.field, field);
    assert_int_equal(pbt_cash(&db, player), funds);
    assert_int_equal(rounds_of(player), 0);
    if (had == PB_OK) {
        assert_int_equal(fair_seeds_get(db.rd, player, &after), 0);
        assert_int_equal(after.nonce, before.nonce); /* no nonce taken */
    }
}

struct config_args {
    struct casino_game_config cfg;
    struct casino_limits limits[4];
    size_t n;
    const struct game_type *game; /* NULL: dice */
};

static int config_step(struct store *tx, void *arg)
{
    struct config_args *a = arg;
    return casino_config_put(tx, a->game ? a->game : &dice_game, &a->cfg, a->limits, a->n, T0);
}

static void refusals_change_nothing(bool pg)
{
    start(pg);
    const char *bet = "{\"target\":5000,\"direction\":\"under\"}";
    expect_refused("p1", "EUR", 100, "{\"target\":5000}", 400, "validation_failed", "bet");
    expect_refused("p1", "EUR", 100, NULL, 400, "validation_failed", "bet");
    expect_refused("p1", "EUR", FUNDS + 1, bet, 422, "ledger", "stake_minor");
    expect_refused("p1", "USD", 100, bet, 422, "no_wallet", "currency");
    pbt_ledger_fund(&db, "p2", 0);
    expect_refused("p2", "EUR", 1, bet, 422, "ledger", "stake_minor");
    struct play_args a;
    play(&a, "p2", "EUR", 1, bet);
    assert_int_equal(a.ref.ledger.error, LEDGER_E_INSUFFICIENT_FUNDS);
    /* configuration: limits, then disabled */
    struct config_args c = {.cfg = {true, dice_game.variants[0].rtp_ppm, 0, "staff"},
                            .limits = {{"EUR", 50, 500}}, .n = 1};
    assert_int_equal(pbt_run(db.w, config_step, &c), 0);
    expect_refused("p1", "EUR", 49, bet, 422, "stake_out_of_range", "stake_minor");
    expect_refused("p1", "EUR", 501, bet, 422, "stake_out_of_range", "stake_minor");
    c.cfg.enabled = false;
    assert_int_equal(pbt_run(db.w, config_step, &c), 0);
    expect_refused("p1", "EUR", 100, bet, 403, "game_disabled", "game_id");
    assert_int_equal(pbt_cash(&db, "p1"), FUNDS);
    pbt_ledger_stop(&db);
}
PBT_BOTH(refusals_change_nothing)

/* A guard like the responsible-gaming one: it sees the play's context on the debit and
 * refuses automatic spins. */
static struct {
    char product[16], kind[16], game[16];
    bool turbo;
    int bets;
} seen;

static int test_guard(void *arg, struct store *tx, struct writer_cmd *cmd,
                      const struct ledger_guard_item *items, size_t n,
                      struct ledger_refusal *refusal)
{
    (void)arg;
    (void)tx;
    (void)cmd;
    for (size_t i = 0; i < n; i++) {
        const struct ledger_context *ctx = items[i].transfer->context;
        if (items[i].code != LEDGER_TX_BET || !ctx)
            continue;
        seen.bets++;
        snprintf(seen.product, sizeof(seen.product), "%s", ctx->product);
        snprintf(seen.kind, sizeof(seen.kind), "%s", ctx->game_kind);
        snprintf(seen.game, sizeof(seen.game), "%s", ctx->game_id);
        seen.turbo = ctx->turbo;
        if (ctx->autoplay) {
            refusal->status = 403;
            snprintf(refusal->code, sizeof(refusal->code), "autoplay_forbidden");
            return LEDGER_E_REFUSED;
        }
    }
    return PB_OK;
}

static void guard_sees_the_context_and_its_refusal_leaves_nothing(bool pg)
{
    start(pg);
    memset(&seen, 0, sizeof(seen));
    struct ledger_guard g = {test_guard, NULL, NULL};
    ledger_set_guard(db.lg, &g);
    json_t *bet = json_loads("{\"target\":5000,\"direction\":\"under\"}", 0, NULL);
    struct play_args a;
    memset(&a, 0, sizeof(a));
    a.p = (struct casino_play){&dice_game, "p1", "EUR", 100, bet, true, false, NULL};
    assert_int_equal(pbt_run(db.w, play_step, &a), 0);
    assert_int_equal(a.ref.status, 422);
    assert_string_equal(a.ref.code, "ledger");
    assert_int_equal(a.ref.ledger.error, LEDGER_E_REFUSED);
    assert_string_equal(a.ref.ledger.refusal.code, "autoplay_forbidden");
    assert_int_equal(seen.bets, 1);
    assert_int_equal(pbt_cash(&db, "p1"), FUNDS);
    assert_int_equal(rounds_of("p1"), 0);
    struct fair_seeds seeds;
    assert_int_equal(fair_seeds_get(db.rd, "p1", &seeds), PB_ERR_NOT_FOUND); /* no nonce taken */
    memset(&a, 0, sizeof(a));
    a.p = (struct casino_play){&dice_game, "p1", "EUR", 100, bet, false, true, NULL};
    assert_int_equal(pbt_run(db.w, play_step, &a), 0);
    assert_int_equal(a.ref.status, 0);
    round_info_release(&a.res.round);
    assert_int_equal(seen.bets, 2);
    assert_string_equal(seen.product, "casino");
    assert_string_equal(seen.kind, "dice");
    assert_string_equal(seen.game, "dice");
    assert_true(seen.turbo);
    json_decref(bet);
    pbt_ledger_stop(&db);
}
PBT_BOTH(guard_sees_the_context_and_its_refusal_leaves_nothing)

static void configuration_defaults_and_checks(bool pg)
{
    start(pg);
    struct casino_game_config cfg;
    struct casino_limits lim;
    assert_int_equal(casino_config_get(db.rd, &dice_game, &cfg), 0);
    assert_true(cfg.enabled);
    assert_int_equal(cfg.rtp_ppm, dice_game.variants[0].rtp_ppm);
    assert_int_equal(cfg.updated_ms, 0);
    assert_int_equal(casino_limits_get(db.rd, &dice_game, "EUR", &lim), 0);
    assert_int_equal(lim.min_stake_minor, 1);
    assert_int_equal(lim.max_stake_minor, 100000); /* 1000 EUR */
    assert_int_equal(casino_limits_get(db.rd, &dice_game, "BTC", &lim), 0);
    assert_int_equal(lim.max_stake_minor, 100000000000LL);
    struct config_args bad[] = {
        {.cfg = {true, dice_game.variants[0].rtp_ppm + 1, 0, "s"}, .n = 0},
        {.cfg = {true, dice_game.variants[0].rtp_ppm, 0, "s"}, .limits = {{"EUR", 0, 5}}, .n = 1},
        {.cfg = {true, dice_game.variants[0].rtp_ppm, 0, "s"}, .limits = {{"EUR", 6, 5}}, .n = 1},
        {.cfg = {true, dice_game.variants[0].rtp_ppm, 0, "s"}, .limits = {{"XXX", 1, 5}}, .n = 1},
        {.cfg = {true, dice_game.variants[0].rtp_ppm, 0, "s"}, .limits = {{"EUR", 1, 5}, {"EUR", 1, 6}},
         .n = 2},
    };
    for (size_t i = 0; i < PB_ARRAY_LEN(bad); i++)
        if (pbt_run(db.w, config_step, &bad[i]) != PB_ERR_INVALID)
            fail_msg("bad configuration %zu accepted", i);
    struct config_args good = {.cfg = {false, dice_game.variants[0].rtp_ppm, 0, "staff:7"},
                               .limits = {{"USD", 10, 20}, {"EUR", 5, 50}}, .n = 2};
    assert_int_equal(pbt_run(db.w, config_step, &good), 0);
    assert_int_equal(casino_config_get(db.rd, &dice_game, &cfg), 0);
    assert_false(cfg.enabled);
    assert_int_equal(cfg.updated_ms, T0);
    assert_string_equal(cfg.updated_by, "staff:7");
    struct casino_limits list[CASINO_LIMITS_MAX];
    size_t n;
    assert_int_equal(casino_limits_list(db.rd, &dice_game, list, CASINO_LIMITS_MAX, &n), 0);
    assert_int_equal(n, 2);
    assert_string_equal(list[0].currency, "EUR");
    assert_int_equal(list[1].max_stake_minor, 20);
    /* a put replaces the whole set */
    good.n = 0;
    good.cfg.enabled = true;
    assert_int_equal(pbt_run(db.w, config_step, &good), 0);
    assert_int_equal(casino_limits_list(db.rd, &dice_game, list, CASINO_LIMITS_MAX, &n), 0);
    assert_int_equal(n, 0);
    pbt_ledger_stop(&db);
}
PBT_BOTH(configuration_defaults_and_checks)

/* ---- a game whose outcome is as large as its stake says (bytes) ---- */

static int big_check(const json_t *bet, int64_t stake_minor, int64_t *total,
                     struct pb_json_error *err)
{
    (void)bet;
    (void)err;
    *total = stake_minor;
    return PB_OK;
}

static void big_play(const json_t *bet, int variant, int64_t stake_minor,
                     struct game_draw *draw, struct game_result *result)
{
    (void)bet;
    PB_ASSERT(variant == 0);
    PB_ASSERT(draw->rng && !draw->fair);
    char *text = pb_malloc((size_t)stake_minor + 1);
    memset(text, 'x', (size_t)stake_minor);
    text[stake_minor] = '\0';
    result->payout_minor = 0;
    result->outcome = json_pack("{s:s}", "filler", text);
    pb_free(text);
}

static const struct game_type big_game = {"big", "Big", "slot", false, 1, {{"standard", 900000}},
                                          big_check, big_play};

static int fund_btc_step(struct store *tx, void *arg)
{
    (void)arg;
    int64_t ids[3], adj;
    if (ledger_open_player_accounts(db.lg, tx, "p1", "BTC", ids) != PB_OK ||
        ledger_open_account(db.lg, tx, "house", LEDGER_ACC_ADJUSTMENTS, "BTC", &adj) != PB_OK)
        return PB_ERR_DB;
    struct ledger_transfer t = {.kind = LEDGER_POSTED, .debit_account = adj,
                                .credit_account = ids[0], .amount = 10000000,
                                .code = LEDGER_TX_DEPOSIT, .reference = "test:funds"};
    struct ledger_outcome out;
    int rc = ledger_apply(db.lg, tx, NULL, NULL, &t, 1, &out);
    return rc == PB_OK && out.error == LEDGER_OK ? PB_OK : PB_ERR_DB;
}

/* The stake (in satoshi) is the outcome's size in bytes. */
static void outcomes_up_to_the_detail_limit_are_stored(bool pg)
{
    start(pg);
    assert_int_equal(pbt_run(db.w, fund_btc_step, NULL), 0);
    struct play_args a;
    memset(&a, 0, sizeof(a));
    a.p = (struct casino_play){&big_game, "p1", "BTC", 200000, NULL, false, false, NULL};
    assert_int_equal(pbt_run(db.w, play_step, &a), 0);
    assert_int_equal(a.ref.status, 0);
    assert_true(strlen(a.res.round.detail) > 200000);
    assert_null(strstr(a.res.round.detail, "\"fair\"")); /* a CSPRNG game: no fair inputs */
    assert_int_equal(a.res.balance_posted_minor, 10000000 - 200000);
    round_info_release(&a.res.round);
    /* past ROUNDS_DETAIL_MAX the play is undone as a whole */
    memset(&a, 0, sizeof(a));
    a.p = (struct casino_play){&big_game, "p1", "BTC", ROUNDS_DETAIL_MAX + 1, NULL, false,
                               false, NULL};
    assert_int_equal(pbt_run(db.w, play_step, &a), PB_ERR_DB);
    assert_int_equal(rounds_of("p1"), 1);
    pbt_ledger_stop(&db);
}
PBT_BOTH(outcomes_up_to_the_detail_limit_are_stored)

/* ---- recovery ---- */

static int recovery_calls;

/* The test game's rule: an interrupted round pays its stake back twice over. */
static int test_recovery(const struct rounds_recovery_ctx *ctx, const struct round_info *r)
{
    recovery_calls++;
    return casino_round_settle(ctx->lg, ctx->tx, ctx->cmd, r->id, 2 * r->stake_minor,
                               "{\"recovered\":true}", ctx->now_ms);
}

static int failing_recovery(const struct rounds_recovery_ctx *ctx, const struct round_info *r)
{
    (void)ctx;
    (void)r;
    recovery_calls++;
    return PB_ERR_INVALID;
}

struct interrupted_args {
    const char *kind;
    int64_t stake, at_ms, id;
};

/* An interactive round left after its debit, as a crash between requests leaves it. */
static int interrupted_step(struct store *tx, void *arg)
{
    struct interrupted_args *a = arg;
    int64_t ids[3], house;
    if (ledger_open_player_accounts(db.lg, tx, "p1", "EUR", ids) != PB_OK ||
        ledger_open_account(db.lg, tx, "house", LEDGER_ACC_HOUSE_CASINO, "EUR", &house) != PB_OK ||
        rounds_open_game(tx, "p1", a->kind, a->kind, CASINO_PROVIDER, "", "EUR", a->at_ms,
                         &a->id) != PB_OK)
        return PB_ERR_DB;
    char ref[32];
    snprintf(ref, sizeof(ref), "round:%lld", (long long)a->id);
    struct ledger_transfer t = {.kind = LEDGER_POSTED, .debit_account = ids[0],
                                .credit_account = house, .amount = a->stake,
                                .code = LEDGER_TX_BET, .reference = ref};
    struct ledger_outcome out;
    if (ledger_apply(db.lg, tx, NULL, NULL, &t, 1, &out) != PB_OK || out.error != LEDGER_OK)
        return PB_ERR_DB;
    if (rounds_add(tx, a->id, a->stake, 0, a->at_ms) != PB_OK)
        return PB_ERR_DB;
    return rounds_set_state(tx, a->id, ROUND_DEBITED, "{\"hand\":[10,6]}", a->at_ms);
}

struct recover_args {
    int64_t now_ms;
    int64_t skip[4];
    size_t nskip;
    int recovered;
    int64_t failed;
};

static int recover_step(struct store *tx, void *arg)
{
    struct recover_args *a = arg;
    return casino_recover(db.lg, tx, NULL, a->now_ms, CASINO_RECOVERY_TIMEOUT_MS, a->skip, a->nskip,
                          &a->recovered, &a->failed);
}

struct settle_args {
    int64_t id, payout;
};

static int settle_step(struct store *tx, void *arg)
{
    struct settle_args *a = arg;
    return casino_round_settle(db.lg, tx, NULL, a->id, a->payout, NULL, T0);
}

static void interrupted_rounds_are_completed_once(bool pg)
{
    start(pg);
    assert_int_equal(rounds_register_recovery("test-cards", test_recovery), 0);
    assert_int_equal(rounds_register_recovery("test-broken", failing_recovery), 0);
    struct interrupted_args a = {"test-cards", 300, T0, 0};
    assert_int_equal(pbt_run(db.w, interrupted_step, &a), 0);
    struct interrupted_args fresh = {"test-cards", 100, T0 + CASINO_RECOVERY_TIMEOUT_MS, 0};
    assert_int_equal(pbt_run(db.w, interrupted_step, &fresh), 0);
    struct interrupted_args orphan = {"no-recovery", 100, T0, 0};
    assert_int_equal(pbt_run(db.w, interrupted_step, &orphan), 0);
    assert_int_equal(pbt_cash(&db, "p1"), FUNDS - 500);
    recovery_calls = 0;
    struct recover_args r = {.now_ms = T0 + CASINO_RECOVERY_TIMEOUT_MS + 1};
    assert_int_equal(pbt_run(db.w, recover_step, &r), 0);
    assert_int_equal(r.recovered, 1); /* the fresh one waits, the orphan has no recovery */
    assert_int_equal(recovery_calls, 1);
    assert_int_equal(pbt_cash(&db, "p1"), FUNDS - 500 + 600);
    struct round_info got;
    assert_int_equal(rounds_get(db.rd, a.id, &got), 0);
    assert_int_equal(got.state, ROUND_CLOSED);
    assert_int_equal(got.payout_minor, 600);
    assert_string_equal(got.detail, "{\"recovered\":true}");
    round_info_release(&got);
    /* never twice: the next pass finds nothing, a direct settle is refused */
    assert_int_equal(pbt_run(db.w, recover_step, &r), 0);
    assert_int_equal(r.recovered, 0);
    assert_int_equal(recovery_calls, 1);
    struct settle_args s = {a.id, 600};
    assert_int_equal(pbt_run(db.w, settle_step, &s), PB_ERR_CONFLICT);
    assert_int_equal(pbt_cash(&db, "p1"), FUNDS + 100);
    /* a failing recovery fails the pass, names its round, and is skipped when told */
    struct interrupted_args broken = {"test-broken", 100, T0, 0};
    assert_int_equal(pbt_run(db.w, interrupted_step, &broken), 0);
    r.now_ms = T0 + 3 * CASINO_RECOVERY_TIMEOUT_MS;
    assert_int_equal(pbt_run(db.w, recover_step, &r), PB_ERR_INVALID);
    assert_int_equal(r.failed, broken.id);
    assert_int_equal(rounds_get(db.rd, fresh.id, &got), 0);
    assert_int_equal(got.state, ROUND_DEBITED); /* the failed pass rolled back */
    round_info_release(&got);
    r.skip[0] = broken.id;
    r.nskip = 1;
    assert_int_equal(pbt_run(db.w, recover_step, &r), 0);
    assert_int_equal(r.recovered, 1);
    assert_int_equal(r.failed, 0);
    assert_int_equal(rounds_get(db.rd, fresh.id, &got), 0);
    assert_int_equal(got.state, ROUND_CLOSED);
    assert_int_equal(got.payout_minor, 200);
    round_info_release(&got);
    assert_int_equal(pbt_cash(&db, "p1"), FUNDS + 100 - 100 + 200);
    pbt_ledger_stop(&db);
}
PBT_BOTH(interrupted_rounds_are_completed_once)

/* A stored RTP no variant has any more (a definition changed under a configuration). */
static int stale_rtp_step(struct store *tx, void *arg)
{
    struct store_stmt *st;
    if (store_prepare(tx, "UPDATE games_config SET rtp_ppm = 1 WHERE game_id = ?", &st) != PB_OK)
        return PB_ERR_DB;
    store_bind_text(st, 1, (const char *)arg, strlen((const char *)arg));
    int rc = store_step(st);
    store_finalize(st);
    return rc == STORE_DONE ? PB_OK : PB_ERR_DB;
}

static void configured_variant_is_played_and_recorded(bool pg)
{
    start(pg);
    const struct game_type *g = games_find("lucky-sevens");
    assert_non_null(g);
    assert_true(g->nvariants >= 2);
    struct casino_game_config cfg;
    assert_int_equal(casino_config_get(db.rd, g, &cfg), 0);
    assert_int_equal(cfg.variant, 0); /* the default */
    assert_int_equal(cfg.rtp_ppm, g->variants[0].rtp_ppm);
    struct config_args c = {.cfg = {true, g->variants[1].rtp_ppm, 0, "staff"}, .game = g};
    assert_int_equal(pbt_run(db.w, config_step, &c), 0);
    assert_int_equal(casino_config_get(db.rd, g, &cfg), 0);
    assert_int_equal(cfg.variant, 1);
    for (int i = 0; i < 20; i++) {
        struct play_args a;
        memset(&a, 0, sizeof(a));
        a.p = (struct casino_play){g, "p1", "EUR", 2, NULL, false, false, NULL};
        assert_int_equal(pbt_run(db.w, play_step, &a), 0);
        assert_int_equal(a.ref.status, 0);
        json_t *detail = json_loads(a.res.round.detail, 0, NULL);
        assert_non_null(detail);
        assert_string_equal(json_string_value(json_object_get(detail, "variant")),
                            g->variants[1].id);
        assert_int_equal(json_integer_value(json_object_get(detail, "rtp_ppm")),
                         g->variants[1].rtp_ppm);
        json_decref(detail);
        round_info_release(&a.res.round);
    }
    /* a stored RTP that names no variant: refused, nothing written */
    assert_int_equal(pbt_run(db.w, stale_rtp_step, (void *)g->id), 0);
    assert_int_equal(casino_config_get(db.rd, g, &cfg), 0);
    assert_int_equal(cfg.variant, -1);
    size_t rounds = rounds_of("p1");
    int64_t funds = pbt_cash(&db, "p1");
    struct play_args a;
    memset(&a, 0, sizeof(a));
    a.p = (struct casino_play){g, "p1", "EUR", 2, NULL, false, false, NULL};
    assert_int_equal(pbt_run(db.w, play_step, &a), 0);
    assert_int_equal(a.ref.status, 403);
    assert_string_equal(a.ref.code, "variant_unavailable");
    assert_int_equal(rounds_of("p1"), rounds);
    assert_int_equal(pbt_cash(&db, "p1"), funds);
    /* an RTP no variant has is refused by the put */
    c.cfg.rtp_ppm = 1;
    assert_int_equal(pbt_run(db.w, config_step, &c), PB_ERR_INVALID);
    pbt_ledger_stop(&db);
}
PBT_BOTH(configured_variant_is_played_and_recorded)

int main(void)
{
    const struct CMUnitTest tests[] = {
        PBT_PAIR(dice_play_moves_money_by_the_rule),
        PBT_PAIR(refusals_change_nothing),
        PBT_PAIR(guard_sees_the_context_and_its_refusal_leaves_nothing),
        PBT_PAIR(configuration_defaults_and_checks),
        PBT_PAIR(outcomes_up_to_the_detail_limit_are_stored),
        PBT_PAIR(interrupted_rounds_are_completed_once),
        PBT_PAIR(configured_variant_is_played_and_recorded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
