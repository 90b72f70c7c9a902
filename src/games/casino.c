/* casino.c: the round engine of in-house games (casino.h): configuration, play, settlement and
 * recovery. The lifecycle and the decisions behind it: docs/casino.md.
 *
 * Money moves only through ledger_apply. The debit and the round are opened in one savepoint
 * ("casino_play") that is rolled back when the ledger refuses the debit, so a refused bet
 * leaves no round; after a debit is applied nothing is rolled back partially (the ledger's
 * writer-side state follows command savepoints only): any later failure fails the whole
 * command. */
#include "games/casino.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "base/log.h"
#include "core/writer.h"

#define PLAYER_OWNER_PREFIX "player:"
#define PLAYER_ACCOUNTS_MAX 256 /* accounts of one owner: 3 per currency */

/* ---- configuration ---- */

void casino_limits_default(const char *currency, struct casino_limits *out)
{
    const struct ledger_currency *c = ledger_currency_find(currency);
    PB_ASSERT(c != NULL && c->exponent >= 0 && c->exponent <= 12);
    memset(out, 0, sizeof(*out));
    pb_strlcpy(out->currency, currency, sizeof(out->currency));
    int64_t unit = 1;
    for (int i = 0; i < c->exponent; i++)
        unit *= 10;
    out->min_stake_minor = CASINO_MIN_STAKE_MINOR_DEFAULT;
    out->max_stake_minor = unit * CASINO_MAX_STAKE_MAJOR_DEFAULT;
}

bool casino_rtp_offered(const struct game_type *game, int32_t rtp_ppm)
{
    return game_variant_by_rtp(game, rtp_ppm) >= 0;
}

int casino_config_get(struct store *s, const struct game_type *game,
                      struct casino_game_config *out)
{
    memset(out, 0, sizeof(*out));
    out->enabled = true;
    out->rtp_ppm = game->variants[0].rtp_ppm;
    struct store_stmt *st;
    if (store_prepare(s, "SELECT enabled, rtp_ppm, updated_ms, updated_by FROM games_config"
                         " WHERE game_id = ?", &st) != PB_OK)
        return PB_ERR_DB;
    store_bind_text(st, 1, game->id, strlen(game->id));
    int rc = store_step(st);
    if (rc == STORE_ROW) {
        out->enabled = store_column_int64(st, 0) != 0;
        out->rtp_ppm = (int32_t)store_column_int64(st, 1);
        out->updated_ms = store_column_int64(st, 2);
        pb_strlcpy(out->updated_by, store_column_text(st, 3), sizeof(out->updated_by));
    }
    store_finalize(st);
    out->variant = game_variant_by_rtp(game, out->rtp_ppm);
    return rc == STORE_ROW || rc == STORE_DONE ? PB_OK : PB_ERR_DB;
}

int casino_limits_get(struct store *s, const struct game_type *game, const char *currency,
                      struct casino_limits *out)
{
    casino_limits_default(currency, out);
    struct store_stmt *st;
    if (store_prepare(s, "SELECT min_stake_minor, max_stake_minor FROM games_limits"
                         " WHERE game_id = ? AND currency = ?", &st) != PB_OK)
        return PB_ERR_DB;
    store_bind_text(st, 1, game->id, strlen(game->id));
    store_bind_text(st, 2, currency, strlen(currency));
    int rc = store_step(st);
    if (rc == STORE_ROW) {
        out->min_stake_minor = store_column_int64(st, 0);
        out->max_stake_minor = store_column_int64(st, 1);
        PB_ASSERT(out->min_stake_minor >= 1 && out->min_stake_minor <= out->max_stake_minor);
    }
    store_finalize(st);
    return rc == STORE_ROW || rc == STORE_DONE ? PB_OK : PB_ERR_DB;
}

int casino_limits_list(struct store *s, const struct game_type *game, struct casino_limits *out,
                       size_t max, size_t *n)
{
    *n = 0;
    struct store_stmt *st;
    if (store_prepare(s, "SELECT currency, min_stake_minor, max_stake_minor FROM games_limits"
                         " WHERE game_id = ? ORDER BY currency", &st) != PB_OK)
        return PB_ERR_DB;
    store_bind_text(st, 1, game->id, strlen(game->id));
    int rc = STORE_DONE;
    while (*n < max && (rc = store_step(st)) == STORE_ROW) {
        struct casino_limits *l = &out[(*n)++];
        memset(l, 0, sizeof(*l));
        pb_strlcpy(l->currency, store_column_text(st, 0), sizeof(l->currency));
        l->min_stake_minor = store_column_int64(st, 1);
        l->max_stake_minor = store_column_int64(st, 2);
    }
    store_finalize(st);
    return rc == STORE_ROW || rc == STORE_DONE ? PB_OK : PB_ERR_DB;
}

static bool limits_ok(const struct casino_limits *limits, size_t n)
{
    if (n > CASINO_LIMITS_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (!ledger_currency_find(limits[i].currency) || limits[i].min_stake_minor < 1 ||
            limits[i].min_stake_minor > limits[i].max_stake_minor)
            return false;
        for (size_t k = 0; k < i; k++)
            if (strcmp(limits[k].currency, limits[i].currency) == 0)
                return false;
    }
    return true;
}

static int exec_game(struct store *tx, const char *sql, const char *game_id)
{
    struct store_stmt *st;
    if (store_prepare(tx, sql, &st) != PB_OK)
        return PB_ERR_DB;
    store_bind_text(st, 1, game_id, strlen(game_id));
    int rc = store_step(st);
    store_finalize(st);
    return rc == STORE_DONE ? PB_OK : PB_ERR_DB;
}

int casino_config_put(struct store *tx, const struct game_type *game,
                      const struct casino_game_config *cfg, const struct casino_limits *limits,
                      size_t n, int64_t now_ms)
{
    PB_ASSERT(now_ms > 0);
    if (!casino_rtp_offered(game, cfg->rtp_ppm) || !limits_ok(limits, n) ||
        strnlen(cfg->updated_by, CASINO_ACTOR_MAX + 1) > CASINO_ACTOR_MAX)
        return PB_ERR_INVALID;
    struct store_stmt *st;
    if (store_prepare(tx, "INSERT INTO games_config (game_id, enabled, rtp_ppm, updated_ms,"
                          " updated_by) VALUES (?, ?, ?, ?, ?) ON CONFLICT (game_id) DO UPDATE"
                          " SET enabled = excluded.enabled, rtp_ppm = excluded.rtp_ppm,"
                          " updated_ms = excluded.updated_ms, updated_by = excluded.updated_by",
                      &st) != PB_OK)
        return PB_ERR_DB;
    store_bind_text(st, 1, game->id, strlen(game->id));
    store_bind_int64(st, 2, cfg->enabled ? 1 : 0);
    store_bind_int64(st, 3, cfg->rtp_ppm);
    store_bind_int64(st, 4, now_ms);
    store_bind_text(st, 5, cfg->updated_by, strlen(cfg->updated_by));
    int rc = store_step(st);
    store_finalize(st);
    if (rc != STORE_DONE ||
        exec_game(tx, "DELETE FROM games_limits WHERE game_id = ?", game->id) != PB_OK)
        return PB_ERR_DB;
    for (size_t i = 0; i < n; i++) {
        if (store_prepare(tx, "INSERT INTO games_limits (game_id, currency, min_stake_minor,"
                              " max_stake_minor) VALUES (?, ?, ?, ?)", &st) != PB_OK)
            return PB_ERR_DB;
        store_bind_text(st, 1, game->id, strlen(game->id));
        store_bind_text(st, 2, limits[i].currency, strlen(limits[i].currency));
        store_bind_int64(st, 3, limits[i].min_stake_minor);
        store_bind_int64(st, 4, limits[i].max_stake_minor);
        rc = store_step(st);
        store_finalize(st);
        if (rc != STORE_DONE)
            return PB_ERR_DB;
    }
    return PB_OK;
}

/* ---- accounts ---- */

/* The player's cash account in currency: 0, PB_ERR_NOT_FOUND (no wallet) or PB_ERR_DB. */
static int player_cash(struct store *tx, const char *player_id, const char *currency,
                       struct ledger_account *out)
{
    char owner[LEDGER_OWNER_MAX + 1];
    snprintf(owner, sizeof(owner), PLAYER_OWNER_PREFIX "%s", player_id);
    struct ledger_account *acc = pb_calloc(PLAYER_ACCOUNTS_MAX, sizeof(*acc));
    size_t n;
    int rc = ledger_balances(tx, owner, acc, PLAYER_ACCOUNTS_MAX, &n);
    if (rc == PB_OK)
        rc = PB_ERR_NOT_FOUND;
    for (size_t i = 0; rc == PB_ERR_NOT_FOUND && i < n; i++) {
        if (acc[i].code == LEDGER_ACC_PLAYER_CASH && strcmp(acc[i].currency, currency) == 0) {
            *out = acc[i];
            rc = PB_OK;
        }
    }
    pb_free(acc);
    return rc;
}

/* ---- the round's public view ---- */

static json_t *time_json(int64_t ms)
{
    char text[PB_TIME_TEXT_MAX];
    pb_format_time_ms(ms, text);
    return json_string(text);
}

static json_t *amount_json(int64_t minor, const struct ledger_currency *c)
{
    char text[48];
    ledger_amount_format(minor, c, text, sizeof(text));
    return json_string(text);
}

json_t *casino_round_json(const struct round_info *r)
{
    const struct ledger_currency *c = ledger_currency_find(r->currency);
    PB_ASSERT(c != NULL); /* rounds_open checked it */
    json_t *detail = r->detail ? json_loads(r->detail, 0, NULL) : json_object();
    PB_ASSERT(json_is_object(detail)); /* rounds_set_state checked it */
    json_t *doc = json_pack("{s:I,s:s,s:s,s:s,s:s,s:i,s:I,s:o,s:I,s:o,s:s,s:o,s:o,s:o}",
                            "round_id", (json_int_t)r->id, "player_id", r->player_id,
                            "game_id", r->game_id, "provider", r->provider, "currency",
                            r->currency, "exponent", c->exponent, "stake_minor",
                            (json_int_t)r->stake_minor, "stake", amount_json(r->stake_minor, c),
                            "payout_minor", (json_int_t)r->payout_minor, "payout",
                            amount_json(r->payout_minor, c), "state", round_state_name(r->state),
                            "opened_at", time_json(r->opened_ms), "updated_at",
                            time_json(r->updated_ms), "detail", detail);
    PB_ASSERT(doc != NULL);
    if (r->external_id[0])
        json_object_set_new(doc, "external_id", json_string(r->external_id));
    return doc;
}

/* ---- settlement ---- */

static int emit_settled(struct store *tx, struct writer_cmd *cmd, const struct round_info *r)
{
    if (!cmd)
        return PB_OK;
    json_t *round = casino_round_json(r);
    json_t *data = json_pack("{s:s,s:o}", "player_id", r->player_id, "round", round);
    char *text = json_dumps(data, JSON_COMPACT);
    PB_ASSERT(text != NULL);
    if (strlen(text) > CASINO_EVENT_DATA_MAX) {
        free(text);
        json_object_del(round, "detail");
        json_object_set_new(round, "detail_omitted", json_true());
        text = json_dumps(data, JSON_COMPACT);
        PB_ASSERT(text != NULL);
    }
    char subject[LEDGER_OWNER_MAX + 1];
    snprintf(subject, sizeof(subject), PLAYER_OWNER_PREFIX "%s", r->player_id);
    int rc = writer_emit(tx, cmd, CASINO_EVENT_ROUND_SETTLED, subject, text);
    free(text);
    json_decref(data);
    return rc;
}

/* Credits payout to the round's player (cash_id: the player's cash account, 0: look it up). */
static int credit_payout(struct ledger *lg, struct store *tx, struct writer_cmd *cmd,
                         const struct round_info *r, int64_t cash_id, int64_t payout_minor)
{
    PB_ASSERT(payout_minor > 0);
    char idem[64], reference[40], metadata[96];
    snprintf(idem, sizeof(idem), "round:%lld:payout", (long long)r->id);
    snprintf(reference, sizeof(reference), "round:%lld", (long long)r->id);
    snprintf(metadata, sizeof(metadata), "{\"round_id\":%lld,\"game_id\":\"%s\"}",
             (long long)r->id, r->game_id);
    int64_t house;
    if (cash_id == 0) {
        struct ledger_account cash;
        int rc = player_cash(tx, r->player_id, r->currency, &cash);
        if (rc != PB_OK)
            return rc == PB_ERR_NOT_FOUND ? PB_ERR_INVALID : rc;
        cash_id = cash.id;
    }
    if (ledger_open_account(lg, tx, CASINO_HOUSE_OWNER, LEDGER_ACC_HOUSE_CASINO, r->currency,
                            &house) != PB_OK)
        return PB_ERR_DB;
    struct ledger_transfer t = {.kind = LEDGER_POSTED, .debit_account = house,
                                .credit_account = cash_id, .amount = payout_minor,
                                .code = LEDGER_TX_WIN, .reference = reference,
                                .metadata = metadata};
    struct ledger_outcome out;
    if (ledger_apply(lg, tx, cmd, idem, &t, 1, &out) != PB_OK)
        return PB_ERR_DB;
    if (out.error != LEDGER_OK) {
        pb_log(PB_LOG_ERROR, "round payout refused by the ledger",
               "\"round_id\":%lld,\"error\":\"%s\"", (long long)r->id,
               ledger_error_name(out.error));
        return PB_ERR_INVALID;
    }
    PB_ASSERT(out.n == 1 && out.applied[0].amount == payout_minor);
    return PB_OK;
}

/* Settles round r (DEBITED or OUTCOME): the conditional close first (a second settlement,
 * here or on another node, finds the round closed and changes nothing: PB_ERR_CONFLICT),
 * then the credit, then the event; *after (may be NULL) gets the round as stored. */
static int settle(struct ledger *lg, struct store *tx, struct writer_cmd *cmd,
                  const struct round_info *r, int64_t cash_id, int64_t payout_minor,
                  const char *detail, int64_t now_ms, struct round_info *after)
{
    PB_ASSERT(r->state == ROUND_DEBITED || r->state == ROUND_OUTCOME);
    int rc = rounds_update(tx, r->id, 0, payout_minor, ROUND_CLOSED, detail, now_ms);
    if (rc == PB_OK && payout_minor > 0)
        rc = credit_payout(lg, tx, cmd, r, cash_id, payout_minor);
    struct round_info closed;
    if (rc == PB_OK && (rc = rounds_get(tx, r->id, &closed)) == PB_OK) {
        PB_ASSERT(closed.state == ROUND_CLOSED && closed.payout_minor >= payout_minor);
        rc = emit_settled(tx, cmd, &closed);
        if (after && rc == PB_OK)
            *after = closed;
        else
            round_info_release(&closed);
    }
    return rc;
}

int casino_round_settle(struct ledger *lg, struct store *tx, struct writer_cmd *cmd,
                        int64_t round_id, int64_t payout_minor, const char *detail,
                        int64_t now_ms)
{
    PB_ASSERT(round_id > 0 && payout_minor >= 0);
    struct round_info r;
    int rc = rounds_get(tx, round_id, &r);
    if (rc != PB_OK)
        return rc == PB_ERR_NOT_FOUND ? PB_ERR_CONFLICT : rc;
    round_info_release(&r);
    if (r.state != ROUND_DEBITED && r.state != ROUND_OUTCOME)
        return PB_ERR_CONFLICT;
    return settle(lg, tx, cmd, &r, 0, payout_minor, detail, now_ms, NULL);
}

int casino_round_pay(struct ledger *lg, struct store *tx, struct writer_cmd *cmd,
                     int64_t round_id, int64_t payout_minor, const char *detail, int64_t now_ms)
{
    PB_ASSERT(round_id > 0 && payout_minor > 0);
    struct round_info r;
    int rc = rounds_get(tx, round_id, &r);
    if (rc != PB_OK)
        return rc == PB_ERR_NOT_FOUND ? PB_ERR_CONFLICT : rc;
    round_info_release(&r);
    if (r.state != ROUND_DEBITED && r.state != ROUND_OUTCOME)
        return PB_ERR_CONFLICT;
    rc = credit_payout(lg, tx, cmd, &r, 0, payout_minor);
    if (rc == PB_OK)
        rc = rounds_add(tx, round_id, 0, payout_minor, now_ms);
    if (rc == PB_OK)
        rc = rounds_set_state(tx, round_id, ROUND_OUTCOME, detail, now_ms);
    return rc;
}

/* ---- play ---- */

static int refuse(struct casino_refusal *f, int status, const char *code, const char *field,
                  const char *detail)
{
    f->status = status;
    f->code = code;
    f->field = field;
    pb_strlcpy(f->detail, detail, sizeof(f->detail));
    return PB_OK;
}

/* The configuration and stake checks; *total the round's total stake. */
static int play_checks(struct store *tx, const struct casino_play *p, int64_t *total,
                       struct casino_game_config *cfg, struct casino_refusal *f)
{
    struct pb_json_error err;
    memset(&err, 0, sizeof(err));
    if (p->game->check_bet(p->bet, p->stake_minor, total, &err) != PB_OK)
        return refuse(f, 400, "validation_failed", "bet", err.detail);
    PB_ASSERT(*total >= p->stake_minor && *total > 0);
    struct casino_limits lim;
    if (casino_config_get(tx, p->game, cfg) != PB_OK ||
        casino_limits_get(tx, p->game, p->currency, &lim) != PB_OK)
        return PB_ERR_DB;
    if (!cfg->enabled)
        return refuse(f, 403, "game_disabled", "game_id", "this game is not open for play");
    if (cfg->variant < 0)
        return refuse(f, 403, "variant_unavailable", "game_id", "the configured RTP variant is"
                      " no longer offered: staff must choose one");
    if (*total < lim.min_stake_minor || *total > lim.max_stake_minor) {
        char detail[160];
        snprintf(detail, sizeof(detail),
                 "the round's total stake must be from %lld to %lld minor units of %s",
                 (long long)lim.min_stake_minor, (long long)lim.max_stake_minor, p->currency);
        return refuse(f, 422, "stake_out_of_range", "stake_minor", detail);
    }
    return PB_OK;
}

/* Opens the round and takes the stake, or refuses with no round left. */
static int open_and_debit(struct ledger *lg, struct store *tx, struct writer_cmd *cmd,
                          const struct casino_play *p, int64_t total, int64_t now_ms,
                          int64_t *round_id, int64_t *cash_id, struct casino_refusal *f)
{
    struct ledger_account cash;
    int64_t house;
    int rc = player_cash(tx, p->player_id, p->currency, &cash);
    if (rc == PB_ERR_NOT_FOUND)
        return refuse(f, 422, "no_wallet", "currency", "the player has no wallet in this"
                                                       " currency");
    if (rc != PB_OK || ledger_open_account(lg, tx, CASINO_HOUSE_OWNER, LEDGER_ACC_HOUSE_CASINO,
                                           p->currency, &house) != PB_OK)
        return PB_ERR_DB;
    *cash_id = cash.id;
    if (store_savepoint(tx, "casino_play") != PB_OK)
        return PB_ERR_DB;
    rc = rounds_open_game(tx, p->player_id, p->game->id, p->game->kind, CASINO_PROVIDER, "",
                          p->currency, now_ms, round_id);
    PB_ASSERT(rc != PB_ERR_INVALID && rc != PB_ERR_CONFLICT); /* checked ids, no external id */
    if (rc != PB_OK)
        return PB_ERR_DB;
    char reference[40], metadata[96];
    snprintf(reference, sizeof(reference), "round:%lld", (long long)*round_id);
    snprintf(metadata, sizeof(metadata), "{\"round_id\":%lld,\"game_id\":\"%s\"}",
             (long long)*round_id, p->game->id);
    struct ledger_context ctx = {.product = "casino", .game_kind = p->game->kind,
                                 .game_id = p->game->id, .autoplay = p->autoplay,
                                 .turbo = p->turbo};
    struct ledger_transfer t = {.kind = LEDGER_POSTED, .debit_account = cash.id,
                                .credit_account = house, .amount = total,
                                .code = LEDGER_TX_BET, .reference = reference,
                                .metadata = metadata, .context = &ctx};
    if (ledger_apply(lg, tx, cmd, p->idem, &t, 1, &f->ledger) != PB_OK)
        return PB_ERR_DB;
    if (f->ledger.error != LEDGER_OK) {
        /* Refused: the ledger changed nothing; the round goes too. */
        if (store_rollback_to(tx, "casino_play") != PB_OK ||
            store_release(tx, "casino_play") != PB_OK)
            return PB_ERR_DB;
        *round_id = 0;
        return refuse(f, 422, "ledger", "stake_minor", ledger_error_name(f->ledger.error));
    }
    return store_release(tx, "casino_play") == PB_OK ? PB_OK : PB_ERR_DB;
}

/* The detail stored with the outcome: bet, stakes, RTP variant, outcome, fair inputs. */
static char *outcome_detail(const struct casino_play *p, int64_t total, int variant,
                            json_t *outcome, const struct fair_seeds *seeds)
{
    const struct game_variant *v = &p->game->variants[variant];
    json_t *doc = json_pack("{s:O?,s:I,s:I,s:s,s:i,s:O}", "bet", p->bet, "stake_minor",
                            (json_int_t)p->stake_minor, "total_stake_minor", (json_int_t)total,
                            "variant", v->id, "rtp_ppm", (int)v->rtp_ppm, "outcome", outcome);
    PB_ASSERT(doc != NULL);
    if (seeds)
        json_object_set_new(doc, "fair", json_pack("{s:s,s:s,s:I}", "server_seed_hash",
                                                   seeds->server_hash, "client_seed",
                                                   seeds->client_seed, "nonce",
                                                   (json_int_t)seeds->nonce));
    char *text = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
    PB_ASSERT(text != NULL);
    json_decref(doc);
    return text;
}

/* Draws the outcome in the configured variant and stores it (OUTCOME); *payout what the
 * round pays. */
static int draw_and_store(struct store *tx, const struct casino_play *p, int64_t round_id,
                          int64_t total, int variant, int64_t now_ms, int64_t *payout)
{
    PB_ASSERT(variant >= 0 && variant < p->game->nvariants);
    struct fair_seeds seeds;
    struct rng_fair fair;
    struct rng rng;
    struct game_draw draw = {0};
    if (p->game->provably_fair) {
        int rc = fair_seeds_take_nonce(tx, p->player_id, now_ms, &seeds);
        if (rc != PB_OK)
            return PB_ERR_DB;
        PB_ASSERT(rng_fair_init(&fair, seeds.server_seed, seeds.client_seed,
                                (uint64_t)seeds.nonce) == PB_OK);
        draw.fair = &fair;
    } else {
        rng_init_system(&rng);
        draw.rng = &rng;
    }
    struct game_result res = {0};
    p->game->play(p->bet, variant, p->stake_minor, &draw, &res);
    PB_ASSERT(res.payout_minor >= 0 && res.outcome != NULL);
    *payout = res.payout_minor;
    char *detail = outcome_detail(p, total, variant, res.outcome,
                                  p->game->provably_fair ? &seeds : NULL);
    json_decref(res.outcome);
    int rc = rounds_update(tx, round_id, total, 0, ROUND_OUTCOME, detail, now_ms);
    if (rc == PB_ERR_INVALID) /* an object we built, so: larger than ROUNDS_DETAIL_MAX */
        pb_log(PB_LOG_ERROR, "round outcome too large to store; the play is undone",
               "\"game_id\":\"%s\",\"bytes\":%zu", p->game->id, strlen(detail));
    free(detail);
    return rc == PB_OK ? PB_OK : PB_ERR_DB;
}

int casino_play_round(struct ledger *lg, struct store *tx, struct writer_cmd *cmd,
                      const struct casino_play *p, int64_t now_ms,
                      struct casino_result *out, struct casino_refusal *refusal)
{
    PB_ASSERT(p->game && p->player_id && p->currency && now_ms > 0);
    memset(refusal, 0, sizeof(*refusal));
    memset(out, 0, sizeof(*out));
    int64_t total = 0, round_id = 0, payout = 0, cash_id = 0;
    struct casino_game_config cfg;
    int rc = play_checks(tx, p, &total, &cfg, refusal);
    if (rc == PB_OK && refusal->status == 0)
        rc = open_and_debit(lg, tx, cmd, p, total, now_ms, &round_id, &cash_id, refusal);
    if (rc != PB_OK || refusal->status != 0)
        return rc;
    /* Between the debit and the stored outcome the round is DEBITED in effect; the one
     * statement that stores the outcome moves it there and to OUTCOME together. */
    if (draw_and_store(tx, p, round_id, total, cfg.variant, now_ms, &payout) != PB_OK)
        return PB_ERR_DB;
    struct round_info r = {.id = round_id, .state = ROUND_OUTCOME};
    pb_strlcpy(r.player_id, p->player_id, sizeof(r.player_id));
    pb_strlcpy(r.game_id, p->game->id, sizeof(r.game_id));
    pb_strlcpy(r.currency, p->currency, sizeof(r.currency));
    if (settle(lg, tx, cmd, &r, cash_id, payout, NULL, now_ms, &out->round) != PB_OK)
        return PB_ERR_DB; /* a fresh round cannot conflict; a refused win fails the bet */
    struct ledger_account cash;
    if (ledger_account_get(tx, cash_id, &cash) != PB_OK)
        return PB_ERR_DB;
    PB_ASSERT(out->round.state == ROUND_CLOSED && out->round.stake_minor == total &&
              out->round.payout_minor == payout);
    out->balance_available_minor = ledger_available(&cash);
    out->balance_posted_minor = ledger_posted_balance(&cash);
    return PB_OK;
}

/* ---- recovery ---- */

static bool skipped(const int64_t *skip, size_t nskip, int64_t id)
{
    for (size_t i = 0; i < nskip; i++)
        if (skip[i] == id)
            return true;
    return false;
}

int casino_recover(struct ledger *lg, struct store *tx, struct writer_cmd *cmd, int64_t now_ms,
                   int64_t timeout_ms, const int64_t *skip, size_t nskip, int *recovered,
                   int64_t *failed_round)
{
    PB_ASSERT(timeout_ms >= 0 && now_ms > timeout_ms);
    struct round_info list[ROUNDS_STALE_MAX];
    size_t n;
    *recovered = 0;
    *failed_round = 0;
    int rc = rounds_stale(tx, now_ms - timeout_ms, list, ROUNDS_STALE_MAX, &n);
    if (rc != PB_OK)
        return rc;
    struct rounds_recovery_ctx ctx = {tx, cmd, lg, now_ms};
    for (size_t i = 0; i < n && rc == PB_OK; i++) {
        const struct round_info *r = &list[i];
        rounds_recovery_fn fn = rounds_recovery_find(r->game_kind[0] ? r->game_kind
                                                                     : r->game_id);
        if (!fn || skipped(skip, nskip, r->id))
            continue;
        rc = fn(&ctx, r);
        struct round_info after;
        if (rc == PB_OK && (rc = rounds_get(tx, r->id, &after)) == PB_OK) {
            round_info_release(&after);
            if (after.state == ROUND_DEBITED || after.state == ROUND_OUTCOME)
                rc = PB_ERR_CONFLICT; /* the game's recovery left it unfinished */
        }
        if (rc != PB_OK)
            *failed_round = r->id;
        else
            (*recovered)++;
    }
    for (size_t i = 0; i < n; i++)
        round_info_release(&list[i]);
    return rc;
}

struct casino_recovery {
    struct writer_cmd cmd;
    struct writer *w;
    struct ledger *lg;
    atomic_bool busy;
    int64_t skip[CASINO_RECOVERY_SKIP_MAX];
    size_t nskip;
};

static int recovery_run(struct store *tx, struct writer_cmd *cmd)
{
    struct casino_recovery *r = (struct casino_recovery *)cmd;
    int recovered = 0;
    int64_t failed = 0;
    int rc = casino_recover(r->lg, tx, cmd, pb_wall_ms(), CASINO_RECOVERY_TIMEOUT_MS, r->skip,
                            r->nskip, &recovered, &failed);
    if (rc == PB_OK && recovered > 0)
        pb_log(PB_LOG_INFO, "interrupted rounds completed", "\"count\":%d", recovered);
    if (rc != PB_OK && failed > 0) {
        pb_log(PB_LOG_ERROR, "round recovery failed; the round is skipped until restart",
               "\"round_id\":%lld,\"error\":\"%s\"", (long long)failed, pb_err_name(rc));
        if (r->nskip < CASINO_RECOVERY_SKIP_MAX)
            r->skip[r->nskip++] = failed;
    }
    return rc;
}

static void recovery_done(struct writer_cmd *cmd)
{
    atomic_store(&((struct casino_recovery *)cmd)->busy, false);
}

struct casino_recovery *casino_recovery_new(struct writer *w, struct ledger *lg)
{
    struct casino_recovery *r = pb_calloc(1, sizeof(*r));
    r->w = w;
    r->lg = lg;
    atomic_init(&r->busy, false);
    return r;
}

void casino_recovery_tick(void *arg)
{
    struct casino_recovery *r = arg;
    if (atomic_exchange(&r->busy, true))
        return;
    r->cmd = (struct writer_cmd){.run = recovery_run, .done = recovery_done};
    if (writer_submit(r->w, &r->cmd) != PB_OK)
        atomic_store(&r->busy, false);
}

void casino_recovery_free(struct casino_recovery *r)
{
    pb_free(r);
}

/* ---- rounds that span several requests ---- */

int casino_round_begin(struct ledger *lg, struct store *tx, struct writer_cmd *cmd,
                       const struct casino_play *p, int64_t now_ms, int64_t *round_id,
                       struct casino_refusal *refusal)
{
    PB_ASSERT(p->game && p->player_id && p->currency && now_ms > 0);
    memset(refusal, 0, sizeof(*refusal));
    *round_id = 0;
    int64_t total = 0, cash_id = 0;
    struct casino_game_config cfg;
    int rc = play_checks(tx, p, &total, &cfg, refusal);
    if (rc == PB_OK && refusal->status == 0)
        rc = open_and_debit(lg, tx, cmd, p, total, now_ms, round_id, &cash_id, refusal);
    if (rc != PB_OK || refusal->status != 0)
        return rc;
    PB_ASSERT(*round_id > 0);
    /* The single-step play records its stake with the outcome; a multi-step round now. */
    if (rounds_add(tx, *round_id, total, 0, now_ms) != PB_OK)
        return PB_ERR_DB;
    return rounds_set_state(tx, *round_id, ROUND_DEBITED, NULL, now_ms) == PB_OK ? PB_OK
                                                                                 : PB_ERR_DB;
}

int casino_round_stake_more(struct ledger *lg, struct store *tx, struct writer_cmd *cmd,
                            const struct round_info *round, const char *game_kind,
                            int64_t amount_minor, const char *idem, int64_t now_ms,
                            struct casino_refusal *refusal)
{
    PB_ASSERT(amount_minor > 0 && idem != NULL);
    PB_ASSERT(round->state == ROUND_DEBITED || round->state == ROUND_OUTCOME);
    memset(refusal, 0, sizeof(*refusal));
    struct ledger_account cash;
    int64_t house;
    int rc = player_cash(tx, round->player_id, round->currency, &cash);
    if (rc == PB_ERR_NOT_FOUND)
        return refuse(refusal, 422, "no_wallet", "currency", "the player has no wallet in this"
                                                             " currency");
    if (rc != PB_OK || ledger_open_account(lg, tx, CASINO_HOUSE_OWNER, LEDGER_ACC_HOUSE_CASINO,
                                           round->currency, &house) != PB_OK)
        return PB_ERR_DB;
    char reference[40], metadata[96];
    snprintf(reference, sizeof(reference), "round:%lld", (long long)round->id);
    snprintf(metadata, sizeof(metadata), "{\"round_id\":%lld,\"game_id\":\"%s\"}",
             (long long)round->id, round->game_id);
    struct ledger_context ctx = {.product = "casino", .game_kind = game_kind,
                                 .game_id = round->game_id};
    struct ledger_transfer t = {.kind = LEDGER_POSTED, .debit_account = cash.id,
                                .credit_account = house, .amount = amount_minor,
                                .code = LEDGER_TX_BET, .reference = reference,
                                .metadata = metadata, .context = &ctx};
    if (ledger_apply(lg, tx, cmd, idem, &t, 1, &refusal->ledger) != PB_OK)
        return PB_ERR_DB;
    if (refusal->ledger.error != LEDGER_OK)
        return refuse(refusal, 422, "ledger", "action", ledger_error_name(refusal->ledger.error));
    return rounds_add(tx, round->id, amount_minor, 0, now_ms) == PB_OK ? PB_OK : PB_ERR_DB;
}
