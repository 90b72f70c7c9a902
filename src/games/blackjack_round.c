/* blackjack_round.c: blackjack rounds on the round engine (blackjack_round.h).
 *
 * blackjack_rounds  one row per blackjack round: the stored state (bj_state_encode: rules,
 *                   stake, the whole shoe, the actions taken), replaced after every action.
 *                   Kept after settlement, so staff can replay any round card by card. */
#include "games/blackjack_round.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "base/log.h"

const struct store_migration blackjack_migrations[] = {
    {"blackjack", 1, "blackjack round states",
     "CREATE TABLE blackjack_rounds (round_id BIGINT PRIMARY KEY, state TEXT NOT NULL,"
     " updated_ms BIGINT NOT NULL)",
     "CREATE TABLE blackjack_rounds (round_id BIGINT PRIMARY KEY, state TEXT NOT NULL,"
     " updated_ms BIGINT NOT NULL)"},
};
const size_t blackjack_migrations_count = PB_ARRAY_LEN(blackjack_migrations);

/* A round's stake is the initial bet: no bet object. */
static int check_bet(const json_t *bet, int64_t stake_minor, int64_t *total_stake_minor,
                     struct pb_json_error *err)
{
    static const struct game_stake_only rule = {
        BJ_STAKE_MAX, "stake_minor", "blackjack takes no bet object", "the stake is out of range"};
    return game_check_stake_only(&rule, bet, stake_minor, total_stake_minor, err);
}

const struct game_type blackjack_game = {
    .id = BJ_ROUND_GAME_ID,
    .name = "Blackjack",
    .kind = BJ_ROUND_KIND,
    .provably_fair = false,
    .nvariants = 1,
    .variants = {{"standard", BJ_ROUND_RTP_PPM}},
    .check_bet = check_bet,
    .play = NULL,
};

static int store_state(struct store *tx, int64_t round_id, const struct bj_state *s,
                       int64_t now_ms, bool insert)
{
    json_t *j = bj_state_encode(s);
    char *text = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    PB_ASSERT(text != NULL);
    struct store_stmt *st;
    const char *sql = insert ? "INSERT INTO blackjack_rounds (state, updated_ms, round_id)"
                               " VALUES (?, ?, ?)"
                             : "UPDATE blackjack_rounds SET state = ?, updated_ms = ?"
                               " WHERE round_id = ?";
    int rc = store_prepare(tx, sql, &st);
    if (rc == PB_OK) {
        store_bind_text(st, 1, text, strlen(text));
        store_bind_int64(st, 2, now_ms);
        store_bind_int64(st, 3, round_id);
        rc = store_step(st) == STORE_DONE ? PB_OK : PB_ERR_DB;
        store_finalize(st);
    }
    free(text);
    return rc == PB_OK ? PB_OK : PB_ERR_DB;
}

int bj_round_load(struct store *s, int64_t round_id, struct bj_state *out)
{
    struct store_stmt *st;
    if (store_prepare(s, "SELECT state FROM blackjack_rounds WHERE round_id = ?", &st) != PB_OK)
        return PB_ERR_DB;
    store_bind_int64(st, 1, round_id);
    int rc = store_step(st);
    if (rc != STORE_ROW) {
        store_finalize(st);
        return rc == STORE_DONE ? PB_ERR_NOT_FOUND : PB_ERR_DB;
    }
    json_error_t jerr;
    json_t *j = json_loads(store_column_text(st, 0), 0, &jerr);
    store_finalize(st);
    struct pb_json_error err = {0};
    rc = j ? bj_state_decode(j, out, &err) : PB_ERR_INVALID;
    json_decref(j);
    if (rc != PB_OK) {
        pb_log(PB_LOG_ERROR, "stored blackjack state does not decode",
               "\"round_id\":%lld,\"field\":\"%s\"", (long long)round_id, err.field);
        return PB_ERR_DB;
    }
    return PB_OK;
}

/* The round's public detail: the player's view. */
static char *view_text(const struct bj_state *s)
{
    json_t *v = bj_state_view(s);
    char *text = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(v);
    PB_ASSERT(text != NULL && strlen(text) < ROUNDS_DETAIL_MAX);
    return text;
}

/* Stores the view; settles (pays) when the state is settled. */
static int publish(struct ledger *lg, struct store *tx, struct writer_cmd *cmd, int64_t round_id,
                   const struct bj_state *s, int64_t now_ms)
{
    char *detail = view_text(s);
    int rc;
    if (s->phase == BJ_PHASE_SETTLED)
        rc = casino_round_settle(lg, tx, cmd, round_id, s->payout_minor, detail, now_ms);
    else
        rc = rounds_set_state(tx, round_id, ROUND_OUTCOME, detail, now_ms);
    free(detail);
    return rc == PB_OK ? PB_OK : PB_ERR_DB;
}

int bj_round_start(struct ledger *lg, struct store *tx, struct writer_cmd *cmd,
                   const char *player_id, const char *currency, int64_t stake_minor,
                   const char *idem, const struct bj_rules *rules, const struct shoe *shoe,
                   int64_t now_ms, int64_t *round_id, struct casino_refusal *refusal)
{
    const char *field;
    PB_ASSERT(bj_rules_check(rules, &field) == PB_OK && shoe->pos == 0);
    struct casino_play p = {&blackjack_game, player_id, currency, stake_minor, NULL,
                            false, false, idem};
    int rc = casino_round_begin(lg, tx, cmd, &p, now_ms, round_id, refusal);
    if (rc != PB_OK || refusal->status != 0)
        return rc;
    struct bj_state *s = pb_malloc(sizeof(*s));
    bj_start(s, rules, stake_minor, shoe);
    rc = store_state(tx, *round_id, s, now_ms, true);
    if (rc == PB_OK)
        rc = publish(lg, tx, cmd, *round_id, s, now_ms);
    pb_free(s);
    return rc;
}

static int refuse(struct casino_refusal *f, int status, const char *code, const char *field,
                  const char *detail)
{
    f->status = status;
    f->code = code;
    f->field = field;
    pb_strlcpy(f->detail, detail, sizeof(f->detail));
    return PB_OK;
}

/* The checks before an action: the round, its state, the turn, the rules. */
static int act_checks(struct store *tx, const char *player_id, int64_t round_id, int64_t seq,
                      enum bj_action action, struct round_info *r, struct bj_state *s,
                      struct casino_refusal *f)
{
    int rc = rounds_get(tx, round_id, r);
    if (rc == PB_ERR_NOT_FOUND)
        return refuse(f, 404, "not_found", "round_id", "no blackjack round of yours has this id");
    if (rc != PB_OK)
        return PB_ERR_DB;
    if (strcmp(r->player_id, player_id) != 0 || strcmp(r->game_id, BJ_ROUND_GAME_ID) != 0)
        return refuse(f, 404, "not_found", "round_id", "no blackjack round of yours has this id");
    if (r->state != ROUND_OUTCOME)
        return refuse(f, 409, "round_settled", "action", "the round is over");
    rc = bj_round_load(tx, round_id, s);
    if (rc != PB_OK)
        return PB_ERR_DB; /* an open blackjack round always has its state */
    PB_ASSERT(s->phase != BJ_PHASE_SETTLED && s->staked_minor == r->stake_minor);
    if (seq != s->action_count) {
        char detail[96];
        snprintf(detail, sizeof(detail), "this round's next action is number %d",
                 s->action_count);
        return refuse(f, 409, "action_out_of_turn", "seq", detail);
    }
    struct bj_refusal why;
    if (bj_check(s, action, &why) != PB_OK)
        return refuse(f, 409, why.code, "action", why.detail);
    return PB_OK;
}

int bj_round_act(struct ledger *lg, struct store *tx, struct writer_cmd *cmd,
                 const char *player_id, int64_t round_id, int64_t seq, enum bj_action action,
                 int64_t now_ms, struct casino_refusal *refusal)
{
    memset(refusal, 0, sizeof(*refusal));
    struct round_info r;
    memset(&r, 0, sizeof(r));
    struct bj_state *s = pb_malloc(sizeof(*s));
    int rc = act_checks(tx, player_id, round_id, seq, action, &r, s, refusal);
    int64_t cost = rc == PB_OK && refusal->status == 0 ? bj_action_cost(s, action) : 0;
    if (cost > 0) {
        char idem[64];
        snprintf(idem, sizeof(idem), "blackjack-action:%lld:%lld", (long long)round_id,
                 (long long)seq);
        rc = casino_round_stake_more(lg, tx, cmd, &r, BJ_ROUND_KIND, cost, idem, now_ms,
                                     refusal);
    }
    if (rc == PB_OK && refusal->status == 0) {
        int64_t added = 0;
        PB_ASSERT(bj_act(s, action, &added, NULL) == PB_OK && added == cost);
        PB_ASSERT(s->staked_minor == r.stake_minor + cost);
        rc = store_state(tx, round_id, s, now_ms, false);
        if (rc == PB_OK)
            rc = publish(lg, tx, cmd, round_id, s, now_ms);
    }
    round_info_release(&r);
    pb_free(s);
    return rc;
}

int bj_round_recover(const struct rounds_recovery_ctx *ctx, const struct round_info *round)
{
    PB_ASSERT(strcmp(round->game_id, BJ_ROUND_GAME_ID) == 0);
    struct bj_state *s = pb_malloc(sizeof(*s));
    int rc = bj_round_load(ctx->tx, round->id, s);
    if (rc == PB_OK) {
        PB_ASSERT(s->staked_minor == round->stake_minor);
        bj_abandon(s);
        rc = store_state(ctx->tx, round->id, s, ctx->now_ms, false);
    }
    if (rc == PB_OK)
        rc = publish(ctx->lg, ctx->tx, ctx->cmd, round->id, s, ctx->now_ms);
    pb_free(s);
    return rc;
}

int bj_round_register_recovery(void)
{
    return rounds_register_recovery(BJ_ROUND_KIND, bj_round_recover);
}
