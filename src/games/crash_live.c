/* crash_live.c: live crash rounds (crash_live.h).
 *
 * crash_chains  the hash chains: the secret seed (never shown), the terminating hash (the
 *               published commitment), the length, the public salt and the next link to use.
 * crash_rounds  one row per round: the chain link (index and hash, shown once the round is
 *               over), the crash point, the phase (open, crashed, void) and its times.
 * crash_bets    one row per bet, keyed by the round engine's round id: the stake, the
 *               automatic target, the state and the cash-out (multiplier, time, payout). */
#include "games/crash_live.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "base/log.h"
#include "core/writer.h"
#include "games/rounds.h"
#include "http/ws.h"
#include "rng/rng.h"

#define CHAIN_DDL                                                                              \
    "CREATE TABLE crash_chains (id BIGINT PRIMARY KEY, seed TEXT NOT NULL,"                   \
    " terminal TEXT NOT NULL, length BIGINT NOT NULL, salt TEXT NOT NULL,"                    \
    " next_index BIGINT NOT NULL, created_ms BIGINT NOT NULL)"
#define ROUND_DDL                                                                              \
    "CREATE TABLE crash_rounds (id BIGINT PRIMARY KEY, chain_id BIGINT NOT NULL,"             \
    " chain_index BIGINT NOT NULL, hash TEXT NOT NULL, commitment TEXT NOT NULL,"             \
    " salt TEXT NOT NULL, crash_point BIGINT NOT NULL, phase BIGINT NOT NULL,"                \
    " opened_ms BIGINT NOT NULL, bets_close_ms BIGINT NOT NULL, crash_at_ms BIGINT NOT NULL," \
    " ended_ms BIGINT NOT NULL, bets BIGINT NOT NULL)"
#define BET_DDL                                                                                \
    "CREATE TABLE crash_bets (id BIGINT PRIMARY KEY, crash_round BIGINT NOT NULL,"            \
    " player_id TEXT NOT NULL, currency TEXT NOT NULL, stake_minor BIGINT NOT NULL,"          \
    " auto_target BIGINT NOT NULL, state BIGINT NOT NULL, multiplier BIGINT NOT NULL,"        \
    " cashout_ms BIGINT NOT NULL, auto_cashout BIGINT NOT NULL, payout_minor BIGINT NOT NULL," \
    " placed_ms BIGINT NOT NULL, UNIQUE (crash_round, player_id))"
#define ROUND_PHASE_DDL "CREATE INDEX crash_rounds_phase ON crash_rounds (phase)"

const struct store_migration crash_migrations[] = {
    {"crash", 1, "crash hash chains", CHAIN_DDL, CHAIN_DDL},
    {"crash", 2, "crash rounds", ROUND_DDL, ROUND_DDL},
    {"crash", 3, "crash bets", BET_DDL, BET_DDL},
    {"crash", 4, "crash rounds by phase", ROUND_PHASE_DDL, ROUND_PHASE_DDL},
};
const size_t crash_migrations_count = PB_ARRAY_LEN(crash_migrations);

/* A bet's stake is the amount: no bet object. */
static int check_bet(const json_t *bet, int64_t stake_minor, int64_t *total_stake_minor,
                     struct pb_json_error *err)
{
    static const struct game_stake_only rule = {
        CRASH_STAKE_MAX, "amount_minor", "crash takes no bet object", "the stake is out of range"};
    return game_check_stake_only(&rule, bet, stake_minor, total_stake_minor, err);
}

const struct game_type crash_game = {
    .id = CRASH_GAME_ID,
    .name = "Crash",
    .kind = CRASH_KIND,
    .provably_fair = true,
    .nvariants = 1,
    .variants = {{"standard", CRASH_ROUND_RTP_PPM}},
    .check_bet = check_bet,
    .play = NULL,
};

/* ---- the schedule ---- */

enum crash_step crash_live_step(const struct crash_schedule *s, int64_t now_ms)
{
    if (!s->loaded)
        return CRASH_STEP_RESUME;
    if (s->round_id == 0 || s->settled)
        return s->enabled && now_ms >= s->next_open_ms ? CRASH_STEP_OPEN : CRASH_STEP_WAIT;
    return now_ms >= s->crash_at_ms + CRASH_SETTLE_GRACE_MS ? CRASH_STEP_SETTLE
                                                            : CRASH_STEP_WAIT;
}

enum crash_phase crash_live_phase(const struct crash_schedule *s, int64_t now_ms)
{
    if (s->loaded && s->round_id != 0 && !s->settled) {
        if (now_ms < s->bets_close_ms)
            return CRASH_PHASE_BETTING;
        return now_ms < s->crash_at_ms ? CRASH_PHASE_RUNNING : CRASH_PHASE_CRASHED;
    }
    if (!s->enabled)
        return CRASH_PHASE_CLOSED;
    return s->round_id == 0 ? CRASH_PHASE_WAITING : CRASH_PHASE_CRASHED;
}

const char *crash_phase_name(enum crash_phase p)
{
    static const char *const names[] = {"closed", "waiting", "betting", "running", "crashed"};
    PB_ASSERT(p >= CRASH_PHASE_CLOSED && p <= CRASH_PHASE_CRASHED);
    return names[p];
}

const char *crash_live_cashout(uint64_t crash_point, int64_t bets_close_ms, int64_t stake_minor,
                               uint64_t auto_target, int64_t received_ms,
                               struct crash_cashout *out)
{
    PB_ASSERT(stake_minor >= 1 && stake_minor <= CRASH_STAKE_MAX);
    memset(out, 0, sizeof(*out));
    if (received_ms < bets_close_ms)
        return "round_not_started";
    int64_t t = received_ms - bets_close_ms;
    /* Cash-outs pay at most CRASH_TARGET_MAX: past it, a request counts at its time. */
    int64_t cap = crash_time_ms(CRASH_TARGET_MAX);
    if (t >= crash_time_ms(crash_point))
        return "round_crashed";
    int rc = crash_resolve(crash_point, stake_minor, auto_target, t < cap ? t : cap, out);
    PB_ASSERT(rc == PB_OK && out->won); /* bounded stake and multiplier; before the crash */
    return NULL;
}

/* ---- rows ---- */

#define ROUND_COLS                                                                             \
    "id, chain_id, chain_index, hash, commitment, salt, crash_point, phase, opened_ms,"       \
    " bets_close_ms, crash_at_ms, ended_ms, bets"
#define BET_COLS                                                                               \
    "id, crash_round, player_id, currency, stake_minor, auto_target, state, multiplier,"      \
    " cashout_ms, auto_cashout, payout_minor, placed_ms"

static void read_round(struct store_stmt *st, struct crash_round_row *r)
{
    memset(r, 0, sizeof(*r));
    r->id = store_column_int64(st, 0);
    r->chain_id = store_column_int64(st, 1);
    r->chain_index = store_column_int64(st, 2);
    pb_strlcpy(r->hash, store_column_text(st, 3), sizeof(r->hash));
    pb_strlcpy(r->commitment, store_column_text(st, 4), sizeof(r->commitment));
    pb_strlcpy(r->salt, store_column_text(st, 5), sizeof(r->salt));
    r->crash_point = (uint64_t)store_column_int64(st, 6);
    int64_t phase = store_column_int64(st, 7);
    PB_ASSERT(phase >= CRASH_ROUND_OPEN && phase <= CRASH_ROUND_VOID); /* written here only */
    r->phase = (enum crash_round_phase)phase;
    r->opened_ms = store_column_int64(st, 8);
    r->bets_close_ms = store_column_int64(st, 9);
    r->crash_at_ms = store_column_int64(st, 10);
    r->ended_ms = store_column_int64(st, 11);
    r->bets = store_column_int64(st, 12);
}

static void read_bet(struct store_stmt *st, struct crash_bet_row *b)
{
    memset(b, 0, sizeof(*b));
    b->id = store_column_int64(st, 0);
    b->crash_round = store_column_int64(st, 1);
    pb_strlcpy(b->player_id, store_column_text(st, 2), sizeof(b->player_id));
    pb_strlcpy(b->currency, store_column_text(st, 3), sizeof(b->currency));
    b->stake_minor = store_column_int64(st, 4);
    b->auto_target = (uint64_t)store_column_int64(st, 5);
    int64_t state = store_column_int64(st, 6);
    PB_ASSERT(state >= CRASH_BET_OPEN && state <= CRASH_BET_REFUNDED);
    b->state = (enum crash_bet_state)state;
    b->multiplier = (uint64_t)store_column_int64(st, 7);
    b->cashout_ms = store_column_int64(st, 8);
    b->auto_cashout = store_column_int64(st, 9) != 0;
    b->payout_minor = store_column_int64(st, 10);
    b->placed_ms = store_column_int64(st, 11);
}

/* One row of sql (bound to id, or nothing when id < 0) into a round: 0, NOT_FOUND, DB. */
static int round_query(struct store *s, const char *sql, int64_t id, struct crash_round_row *out)
{
    struct store_stmt *st;
    if (store_prepare(s, sql, &st) != PB_OK)
        return PB_ERR_DB;
    if (id >= 0)
        store_bind_int64(st, 1, id);
    int rc = store_step(st);
    if (rc == STORE_ROW)
        read_round(st, out);
    store_finalize(st);
    return rc == STORE_ROW ? PB_OK : rc == STORE_DONE ? PB_ERR_NOT_FOUND : PB_ERR_DB;
}

int crash_round_get(struct store *s, int64_t id, struct crash_round_row *out)
{
    return round_query(s, "SELECT " ROUND_COLS " FROM crash_rounds WHERE id = ?", id, out);
}

int crash_bet_get(struct store *s, int64_t bet_id, struct crash_bet_row *out)
{
    struct store_stmt *st;
    if (store_prepare(s, "SELECT " BET_COLS " FROM crash_bets WHERE id = ?", &st) != PB_OK)
        return PB_ERR_DB;
    store_bind_int64(st, 1, bet_id);
    int rc = store_step(st);
    if (rc == STORE_ROW)
        read_bet(st, out);
    store_finalize(st);
    return rc == STORE_ROW ? PB_OK : rc == STORE_DONE ? PB_ERR_NOT_FOUND : PB_ERR_DB;
}

static json_t *multiplier_json(uint64_t m)
{
    char text[32];
    crash_format(m, text);
    return json_string(text);
}

static const char *round_phase_name(enum crash_round_phase p)
{
    return p == CRASH_ROUND_OPEN ? "open" : p == CRASH_ROUND_CRASHED ? "crashed" : "void";
}

json_t *crash_round_json(const struct crash_round_row *r)
{
    json_t *j = json_pack("{s:I,s:s,s:I,s:I,s:s,s:I,s:I,s:I}", "round_id", (json_int_t)r->id,
                          "phase", round_phase_name(r->phase), "chain_id",
                          (json_int_t)r->chain_id, "chain_index", (json_int_t)r->chain_index,
                          "commitment", r->commitment, "opened_ms", (json_int_t)r->opened_ms,
                          "bets_close_ms", (json_int_t)r->bets_close_ms, "bets",
                          (json_int_t)r->bets);
    PB_ASSERT(j != NULL);
    json_object_set_new(j, "salt", r->salt[0] ? json_string(r->salt) : json_null());
    bool over = r->phase != CRASH_ROUND_OPEN;
    json_object_set_new(j, "ended_ms", over ? json_integer(r->ended_ms) : json_null());
    json_object_set_new(j, "hash", over ? json_string(r->hash) : json_null());
    json_object_set_new(j, "crash_point", over ? multiplier_json(r->crash_point) : json_null());
    json_object_set_new(j, "crash_point_x100",
                        over ? json_integer((json_int_t)r->crash_point) : json_null());
    json_object_set_new(j, "crash_at_ms", over ? json_integer(r->crash_at_ms) : json_null());
    return j;
}

static const char *bet_state_name(enum crash_bet_state s)
{
    static const char *const names[] = {"", "open", "cashed", "lost", "refunded"};
    return names[s];
}

json_t *crash_bet_json(const struct crash_bet_row *b, const struct crash_round_row *r)
{
    json_t *j = json_pack("{s:I,s:I,s:s,s:s,s:I,s:s,s:I,s:I}", "bet_id", (json_int_t)b->id,
                          "round_id", (json_int_t)b->crash_round, "player_id", b->player_id,
                          "currency", b->currency, "amount_minor", (json_int_t)b->stake_minor,
                          "status", bet_state_name(b->state), "payout_minor",
                          (json_int_t)b->payout_minor, "placed_ms", (json_int_t)b->placed_ms);
    PB_ASSERT(j != NULL);
    json_object_set_new(j, "auto_cashout",
                        b->auto_target ? multiplier_json(b->auto_target) : json_null());
    json_object_set_new(j, "auto_cashout_x100",
                        b->auto_target ? json_integer((json_int_t)b->auto_target) : json_null());
    json_t *c = json_null();
    if (b->state == CRASH_BET_CASHED)
        c = json_pack("{s:o,s:I,s:I,s:b}", "multiplier", multiplier_json(b->multiplier),
                      "multiplier_x100", (json_int_t)b->multiplier, "at_ms",
                      (json_int_t)b->cashout_ms, "automatic", b->auto_cashout);
    json_object_set_new(j, "cashout", c);
    json_t *round = json_pack("{s:I,s:s,s:I}", "commitment_chain_index",
                              (json_int_t)r->chain_index, "commitment", r->commitment,
                              "bets_close_ms", (json_int_t)r->bets_close_ms);
    bool over = r->phase != CRASH_ROUND_OPEN;
    json_object_set_new(round, "phase", json_string(round_phase_name(r->phase)));
    json_object_set_new(round, "hash", over ? json_string(r->hash) : json_null());
    json_object_set_new(round, "crash_point", over ? multiplier_json(r->crash_point)
                                                   : json_null());
    json_object_set_new(round, "crash_point_x100",
                        over ? json_integer((json_int_t)r->crash_point) : json_null());
    json_object_set_new(round, "salt", r->salt[0] ? json_string(r->salt) : json_null());
    json_object_set_new(j, "round", round);
    return j;
}

/* The bet's round detail (the bet's view) as text; the caller frees. */
static char *bet_detail(const struct crash_bet_row *b, const struct crash_round_row *r)
{
    json_t *j = crash_bet_json(b, r);
    char *text = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(j);
    PB_ASSERT(text != NULL && strlen(text) < ROUNDS_DETAIL_MAX);
    return text;
}

static int bet_update(struct store *tx, const struct crash_bet_row *b)
{
    struct store_stmt *st;
    if (store_prepare(tx, "UPDATE crash_bets SET state = ?, multiplier = ?, cashout_ms = ?,"
                          " auto_cashout = ?, payout_minor = ? WHERE id = ?", &st) != PB_OK)
        return PB_ERR_DB;
    store_bind_int64(st, 1, b->state);
    store_bind_int64(st, 2, (int64_t)b->multiplier);
    store_bind_int64(st, 3, b->cashout_ms);
    store_bind_int64(st, 4, b->auto_cashout);
    store_bind_int64(st, 5, b->payout_minor);
    store_bind_int64(st, 6, b->id);
    int rc = store_step(st) == STORE_DONE ? PB_OK : PB_ERR_DB;
    store_finalize(st);
    return rc;
}

static int round_end(struct store *tx, const struct crash_round_row *r)
{
    struct store_stmt *st;
    if (store_prepare(tx, "UPDATE crash_rounds SET phase = ?, ended_ms = ? WHERE id = ?"
                          " AND phase = ?", &st) != PB_OK)
        return PB_ERR_DB;
    store_bind_int64(st, 1, r->phase);
    store_bind_int64(st, 2, r->ended_ms);
    store_bind_int64(st, 3, r->id);
    store_bind_int64(st, 4, CRASH_ROUND_OPEN);
    int rc = store_step(st) == STORE_DONE && store_changes(st) == 1 ? PB_OK : PB_ERR_DB;
    store_finalize(st);
    return rc;
}

/* The ids of the bets of a round (at most CRASH_BETS_MAX), read before any is changed. */
static int bet_ids(struct store *tx, int64_t round_id, int64_t **ids, size_t *n)
{
    *ids = NULL;
    *n = 0;
    struct store_stmt *st;
    if (store_prepare(tx, "SELECT id FROM crash_bets WHERE crash_round = ? ORDER BY id",
                      &st) != PB_OK)
        return PB_ERR_DB;
    store_bind_int64(st, 1, round_id);
    int64_t *list = pb_malloc(sizeof(*list) * CRASH_BETS_MAX);
    int rc;
    while ((rc = store_step(st)) == STORE_ROW && *n < CRASH_BETS_MAX)
        list[(*n)++] = store_column_int64(st, 0);
    store_finalize(st);
    if (rc != STORE_DONE && rc != STORE_ROW) {
        pb_free(list);
        *n = 0;
        return PB_ERR_DB;
    }
    *ids = list;
    return PB_OK;
}

/* ---- writer commands ---- */

static int void_round(struct ledger *lg, struct store *tx, struct writer_cmd *cmd,
                      struct crash_round_row *r, int64_t now_ms)
{
    r->phase = CRASH_ROUND_VOID;
    r->ended_ms = now_ms;
    int64_t *ids;
    size_t n;
    int rc = bet_ids(tx, r->id, &ids, &n);
    for (size_t i = 0; rc == PB_OK && i < n; i++) {
        struct crash_bet_row b;
        rc = crash_bet_get(tx, ids[i], &b);
        if (rc != PB_OK)
            break;
        int64_t pay = 0;
        if (b.state == CRASH_BET_OPEN) {
            b.state = CRASH_BET_REFUNDED;
            b.payout_minor = pay = b.stake_minor;
            rc = bet_update(tx, &b);
        } else {
            PB_ASSERT(b.state == CRASH_BET_CASHED); /* an open round has no lost bet */
        }
        if (rc == PB_OK) {
            char *detail = bet_detail(&b, r);
            rc = casino_round_settle(lg, tx, cmd, b.id, pay, detail, now_ms);
            free(detail);
        }
    }
    pb_free(ids);
    if (rc == PB_OK)
        rc = round_end(tx, r);
    return rc == PB_OK ? PB_OK : PB_ERR_DB;
}

int crash_live_resume(struct ledger *lg, struct store *tx, struct writer_cmd *cmd,
                      int64_t now_ms, int *voided, struct crash_round_row *last)
{
    *voided = 0;
    memset(last, 0, sizeof(*last));
    for (;;) {
        struct crash_round_row r;
        int rc = round_query(tx, "SELECT " ROUND_COLS " FROM crash_rounds WHERE phase = 1"
                                 " ORDER BY id LIMIT 1", -1, &r);
        if (rc == PB_ERR_NOT_FOUND)
            break;
        if (rc != PB_OK || void_round(lg, tx, cmd, &r, now_ms) != PB_OK)
            return PB_ERR_DB;
        pb_log(PB_LOG_WARN, "crash round interrupted before its crash: void, open bets"
                            " refunded", "\"round_id\":%lld,\"bets\":%lld", (long long)r.id,
               (long long)r.bets);
        (*voided)++;
    }
    int rc = round_query(tx, "SELECT " ROUND_COLS " FROM crash_rounds ORDER BY id DESC"
                             " LIMIT 1", -1, last);
    return rc == PB_ERR_NOT_FOUND ? PB_OK : rc;
}

struct chain_row {
    int64_t id, length, next_index;
    uint8_t seed[CRASH_HASH_BYTES];
    char terminal[CRASH_HASH_HEX + 1];
    char salt[CRASH_SALT_MAX + 1];
};

static int chain_latest(struct store *tx, struct chain_row *c)
{
    struct store_stmt *st;
    if (store_prepare(tx, "SELECT id, seed, terminal, length, salt, next_index FROM"
                          " crash_chains ORDER BY id DESC LIMIT 1", &st) != PB_OK)
        return PB_ERR_DB;
    int rc = store_step(st);
    if (rc == STORE_ROW) {
        c->id = store_column_int64(st, 0);
        rc = crash_hash_parse(store_column_text(st, 1), c->seed) == PB_OK ? STORE_ROW
                                                                          : PB_ERR_DB;
        pb_strlcpy(c->terminal, store_column_text(st, 2), sizeof(c->terminal));
        c->length = store_column_int64(st, 3);
        pb_strlcpy(c->salt, store_column_text(st, 4), sizeof(c->salt));
        c->next_index = store_column_int64(st, 5);
    }
    store_finalize(st);
    return rc == STORE_ROW ? PB_OK : rc == STORE_DONE ? PB_ERR_NOT_FOUND : PB_ERR_DB;
}

static int chain_create(struct store *tx, const struct crash_settings *set, int64_t id,
                        bool first, int64_t now_ms, struct chain_row *c)
{
    memset(c, 0, sizeof(*c));
    if (first && set->have_seed) {
        memcpy(c->seed, set->seed, CRASH_HASH_BYTES);
    } else {
        struct rng r;
        rng_init_system(&r);
        rng_bytes(&r, c->seed, CRASH_HASH_BYTES);
    }
    uint8_t terminal[CRASH_HASH_BYTES];
    crash_chain_terminal(c->seed, set->chain_length, terminal);
    crash_hash_hex(terminal, c->terminal);
    c->id = id;
    c->length = (int64_t)set->chain_length;
    c->next_index = 1;
    pb_strlcpy(c->salt, set->salt, sizeof(c->salt));
    char seed_hex[CRASH_HASH_HEX + 1];
    crash_hash_hex(c->seed, seed_hex);
    struct store_stmt *st;
    if (store_prepare(tx, "INSERT INTO crash_chains (id, seed, terminal, length, salt,"
                          " next_index, created_ms) VALUES (?, ?, ?, ?, ?, 1, ?)", &st) != PB_OK)
        return PB_ERR_DB;
    store_bind_int64(st, 1, id);
    store_bind_text(st, 2, seed_hex, CRASH_HASH_HEX);
    store_bind_text(st, 3, c->terminal, CRASH_HASH_HEX);
    store_bind_int64(st, 4, c->length);
    store_bind_text(st, 5, c->salt, strlen(c->salt));
    store_bind_int64(st, 6, now_ms);
    int rc = store_step(st) == STORE_DONE ? PB_OK : PB_ERR_DB;
    store_finalize(st);
    memset(seed_hex, 0, sizeof(seed_hex));
    if (rc == PB_OK)
        pb_log(PB_LOG_INFO, "crash hash chain created: publish its terminating hash",
               "\"chain_id\":%lld,\"length\":%lld,\"terminal\":\"%s\"", (long long)id,
               (long long)c->length, c->terminal);
    return rc;
}

int crash_live_open(struct store *tx, const struct crash_settings *set, int64_t now_ms,
                    struct crash_round_row *out)
{
    PB_ASSERT(set->betting_ms > 0 && set->chain_length >= 1 &&
              set->chain_length <= CRASH_CHAIN_LENGTH_MAX);
    struct chain_row c;
    int rc = chain_latest(tx, &c);
    if (rc == PB_ERR_NOT_FOUND)
        rc = chain_create(tx, set, 1, true, now_ms, &c);
    else if (rc == PB_OK && c.next_index > c.length)
        rc = chain_create(tx, set, c.id + 1, false, now_ms, &c);
    if (rc != PB_OK)
        return PB_ERR_DB;
    uint8_t h[CRASH_HASH_BYTES];
    crash_chain_round(c.seed, (uint64_t)c.length, (uint64_t)c.next_index, h);
    memset(out, 0, sizeof(*out));
    struct store_stmt *st;
    if (store_prepare(tx, "SELECT COALESCE(MAX(id), 0) FROM crash_rounds", &st) != PB_OK)
        return PB_ERR_DB;
    rc = store_step(st);
    out->id = rc == STORE_ROW ? store_column_int64(st, 0) + 1 : 0;
    store_finalize(st);
    if (out->id <= 0)
        return PB_ERR_DB;
    out->chain_id = c.id;
    out->chain_index = c.next_index;
    crash_hash_hex(h, out->hash);
    pb_strlcpy(out->commitment, c.terminal, sizeof(out->commitment));
    pb_strlcpy(out->salt, c.salt, sizeof(out->salt));
    out->crash_point = crash_point(h, c.salt[0] ? c.salt : NULL);
    out->phase = CRASH_ROUND_OPEN;
    out->opened_ms = now_ms;
    out->bets_close_ms = now_ms + set->betting_ms;
    out->crash_at_ms = out->bets_close_ms + crash_time_ms(out->crash_point);
    if (store_prepare(tx, "INSERT INTO crash_rounds (" ROUND_COLS ") VALUES (?, ?, ?, ?, ?, ?,"
                          " ?, ?, ?, ?, ?, 0, 0)", &st) != PB_OK)
        return PB_ERR_DB;
    store_bind_int64(st, 1, out->id);
    store_bind_int64(st, 2, out->chain_id);
    store_bind_int64(st, 3, out->chain_index);
    store_bind_text(st, 4, out->hash, CRASH_HASH_HEX);
    store_bind_text(st, 5, out->commitment, CRASH_HASH_HEX);
    store_bind_text(st, 6, out->salt, strlen(out->salt));
    store_bind_int64(st, 7, (int64_t)out->crash_point);
    store_bind_int64(st, 8, out->phase);
    store_bind_int64(st, 9, out->opened_ms);
    store_bind_int64(st, 10, out->bets_close_ms);
    store_bind_int64(st, 11, out->crash_at_ms);
    rc = store_step(st) == STORE_DONE ? PB_OK : PB_ERR_DB;
    store_finalize(st);
    if (rc != PB_OK ||
        store_prepare(tx, "UPDATE crash_chains SET next_index = ? WHERE id = ?", &st) != PB_OK)
        return PB_ERR_DB;
    store_bind_int64(st, 1, c.next_index + 1);
    store_bind_int64(st, 2, c.id);
    rc = store_step(st) == STORE_DONE ? PB_OK : PB_ERR_DB;
    store_finalize(st);
    return rc;
}

int crash_live_settle(struct ledger *lg, struct store *tx, struct writer_cmd *cmd,
                      int64_t round_id, int64_t now_ms, struct crash_round_row *out)
{
    int rc = crash_round_get(tx, round_id, out);
    if (rc != PB_OK)
        return rc == PB_ERR_NOT_FOUND ? PB_ERR_CONFLICT : rc;
    if (out->phase != CRASH_ROUND_OPEN)
        return PB_ERR_CONFLICT;
    out->phase = CRASH_ROUND_CRASHED;
    out->ended_ms = now_ms;
    int64_t *ids;
    size_t n;
    rc = bet_ids(tx, round_id, &ids, &n);
    for (size_t i = 0; rc == PB_OK && i < n; i++) {
        struct crash_bet_row b;
        rc = crash_bet_get(tx, ids[i], &b);
        if (rc != PB_OK)
            break;
        PB_ASSERT(b.state == CRASH_BET_OPEN || b.state == CRASH_BET_CASHED);
        char *detail = NULL;
        if (b.state == CRASH_BET_OPEN) {
            struct crash_cashout co;
            PB_ASSERT(crash_resolve(out->crash_point, b.stake_minor, b.auto_target, -1, &co) ==
                      PB_OK);
            b.state = co.won ? CRASH_BET_CASHED : CRASH_BET_LOST;
            if (co.won) {
                b.multiplier = co.multiplier;
                b.cashout_ms = co.at_ms;
                b.auto_cashout = true;
                b.payout_minor = co.payout_minor;
            }
            rc = bet_update(tx, &b);
            detail = bet_detail(&b, out);
            if (rc == PB_OK && co.won)
                rc = casino_round_pay(lg, tx, cmd, b.id, co.payout_minor, detail, now_ms);
        } else {
            detail = bet_detail(&b, out);
        }
        if (rc == PB_OK)
            rc = casino_round_settle(lg, tx, cmd, b.id, 0, detail, now_ms);
        free(detail);
    }
    pb_free(ids);
    if (rc == PB_OK)
        rc = round_end(tx, out);
    return rc == PB_OK ? PB_OK : PB_ERR_DB;
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

int crash_live_bet(struct ledger *lg, struct store *tx, struct writer_cmd *cmd,
                   const struct crash_bet_request *q, struct crash_bet_row *out,
                   struct casino_refusal *refusal)
{
    PB_ASSERT(q->stake_minor >= 1 && q->stake_minor <= CRASH_STAKE_MAX);
    PB_ASSERT(q->auto_target == 0 ||
              (q->auto_target >= CRASH_TARGET_MIN && q->auto_target <= CRASH_TARGET_MAX));
    memset(refusal, 0, sizeof(*refusal));
    struct crash_round_row r;
    int rc = round_query(tx, "SELECT " ROUND_COLS " FROM crash_rounds WHERE phase = 1"
                             " ORDER BY id DESC LIMIT 1", -1, &r);
    if (rc == PB_ERR_NOT_FOUND || (rc == PB_OK && (q->received_ms >= r.bets_close_ms ||
                                                   q->received_ms < r.opened_ms)))
        return refuse(refusal, 409, "betting_closed", NULL,
                      "no round is taking bets: wait for the next betting phase");
    if (rc != PB_OK)
        return PB_ERR_DB;
    if (r.bets >= CRASH_BETS_MAX)
        return refuse(refusal, 409, "round_full", NULL, "this round takes no more bets");
    struct store_stmt *st;
    if (store_prepare(tx, "SELECT id FROM crash_bets WHERE crash_round = ? AND player_id = ?",
                      &st) != PB_OK)
        return PB_ERR_DB;
    store_bind_int64(st, 1, r.id);
    store_bind_text(st, 2, q->player_id, strlen(q->player_id));
    rc = store_step(st);
    store_finalize(st);
    if (rc == STORE_ROW)
        return refuse(refusal, 409, "bet_exists", NULL, "you already have a bet in this round");
    if (rc != STORE_DONE)
        return PB_ERR_DB;
    struct casino_play p = {&crash_game, q->player_id, q->currency, q->stake_minor, NULL,
                            false, false, q->idem};
    int64_t round_id = 0;
    rc = casino_round_begin(lg, tx, cmd, &p, q->received_ms, &round_id, refusal);
    if (rc != PB_OK || refusal->status != 0)
        return rc;
    memset(out, 0, sizeof(*out));
    out->id = round_id;
    out->crash_round = r.id;
    pb_strlcpy(out->player_id, q->player_id, sizeof(out->player_id));
    pb_strlcpy(out->currency, q->currency, sizeof(out->currency));
    out->stake_minor = q->stake_minor;
    out->auto_target = q->auto_target;
    out->state = CRASH_BET_OPEN;
    out->placed_ms = q->received_ms;
    if (store_prepare(tx, "INSERT INTO crash_bets (" BET_COLS ") VALUES (?, ?, ?, ?, ?, ?, ?,"
                          " 0, 0, 0, 0, ?)", &st) != PB_OK)
        return PB_ERR_DB;
    store_bind_int64(st, 1, out->id);
    store_bind_int64(st, 2, out->crash_round);
    store_bind_text(st, 3, out->player_id, strlen(out->player_id));
    store_bind_text(st, 4, out->currency, strlen(out->currency));
    store_bind_int64(st, 5, out->stake_minor);
    store_bind_int64(st, 6, (int64_t)out->auto_target);
    store_bind_int64(st, 7, CRASH_BET_OPEN);
    store_bind_int64(st, 8, out->placed_ms);
    rc = store_step(st) == STORE_DONE ? PB_OK : PB_ERR_DB;
    store_finalize(st);
    if (rc != PB_OK ||
        store_prepare(tx, "UPDATE crash_rounds SET bets = bets + 1 WHERE id = ?", &st) != PB_OK)
        return PB_ERR_DB;
    store_bind_int64(st, 1, r.id);
    rc = store_step(st) == STORE_DONE ? PB_OK : PB_ERR_DB;
    store_finalize(st);
    if (rc != PB_OK)
        return rc;
    r.bets++;
    char *detail = bet_detail(out, &r);
    rc = rounds_set_state(tx, round_id, ROUND_OUTCOME, detail, q->received_ms);
    free(detail);
    return rc == PB_OK ? PB_OK : PB_ERR_DB;
}

int crash_live_cashout_bet(struct ledger *lg, struct store *tx, struct writer_cmd *cmd,
                           const char *player_id, int64_t bet_id, int64_t received_ms,
                           struct crash_bet_row *out, struct casino_refusal *refusal)
{
    memset(refusal, 0, sizeof(*refusal));
    int rc = crash_bet_get(tx, bet_id, out);
    if (rc == PB_ERR_NOT_FOUND || (rc == PB_OK && strcmp(out->player_id, player_id) != 0))
        return refuse(refusal, 404, "not_found", "bet_id", "no crash bet of yours has this id");
    if (rc != PB_OK)
        return PB_ERR_DB;
    if (out->state == CRASH_BET_CASHED)
        return PB_OK; /* a repeated cash-out: the bet as it stands */
    if (out->state == CRASH_BET_LOST)
        return refuse(refusal, 409, "round_crashed", NULL, "the round crashed before the"
                                                           " cash-out");
    if (out->state == CRASH_BET_REFUNDED)
        return refuse(refusal, 409, "round_void", NULL, "the round was void: the bet was"
                                                        " refunded");
    struct crash_round_row r;
    if (crash_round_get(tx, out->crash_round, &r) != PB_OK || r.phase != CRASH_ROUND_OPEN)
        return PB_ERR_DB; /* an open bet's round is open */
    struct crash_cashout co;
    const char *why = crash_live_cashout(r.crash_point, r.bets_close_ms, out->stake_minor,
                                         out->auto_target, received_ms, &co);
    if (why)
        return refuse(refusal, 409, why, NULL,
                      strcmp(why, "round_crashed") == 0
                          ? "the round crashed before the cash-out was received"
                          : "the multiplier has not started: the round is still betting");
    out->state = CRASH_BET_CASHED;
    out->multiplier = co.multiplier;
    out->cashout_ms = co.at_ms;
    out->auto_cashout = out->auto_target != 0 && out->auto_target <= r.crash_point &&
                        co.multiplier == out->auto_target &&
                        co.at_ms == crash_time_ms(out->auto_target);
    out->payout_minor = co.payout_minor;
    rc = bet_update(tx, out);
    char *detail = bet_detail(out, &r);
    if (rc == PB_OK)
        rc = casino_round_pay(lg, tx, cmd, out->id, co.payout_minor, detail, received_ms);
    free(detail);
    return rc == PB_OK ? PB_OK : PB_ERR_DB;
}

/* ---- the engine ---- */

struct crash_engine {
    struct writer_cmd cmd; /* the engine's one command in flight */
    struct writer *w;
    struct ledger *lg;
    struct ws_hub *hub;
    struct crash_settings set;
    int64_t pause_ms;
    atomic_bool busy;
    enum crash_step op;
    int64_t op_now;
    int voided;
    struct crash_round_row result;
    pthread_mutex_t mu; /* guards the fields below */
    struct crash_schedule sched;
    struct crash_round_row current; /* the round sched names (secret fields never shown
                                     * before it is over) */
    struct crash_round_row previous; /* the last round over (id 0: none) */
};

static void publish(struct crash_engine *e, json_t *msg)
{
    char *text = json_dumps(msg, JSON_COMPACT);
    json_decref(msg);
    PB_ASSERT(text != NULL);
    if (e->hub)
        (void)ws_hub_publish(e->hub, CRASH_TOPIC, text, strlen(text)); /* full: a tick lost */
    free(text);
}

static int engine_run(struct store *tx, struct writer_cmd *cmd)
{
    struct crash_engine *e = (struct crash_engine *)cmd;
    switch (e->op) {
    case CRASH_STEP_RESUME:
        return crash_live_resume(e->lg, tx, cmd, e->op_now, &e->voided, &e->result);
    case CRASH_STEP_OPEN:
        return crash_live_open(tx, &e->set, e->op_now, &e->result);
    case CRASH_STEP_SETTLE: {
        pthread_mutex_lock(&e->mu);
        int64_t id = e->sched.round_id;
        pthread_mutex_unlock(&e->mu);
        return crash_live_settle(e->lg, tx, cmd, id, e->op_now, &e->result);
    }
    default:
        PB_ASSERT(false);
        return PB_ERR_INVALID;
    }
}

static json_t *reveal_json(const struct crash_round_row *r)
{
    json_t *j = crash_round_json(r);
    json_object_set_new(j, "type", json_string(r->phase == CRASH_ROUND_VOID ? "void"
                                                                            : "crashed"));
    return j;
}

static void engine_done(struct writer_cmd *cmd)
{
    struct crash_engine *e = (struct crash_engine *)cmd;
    json_t *msg = NULL;
    pthread_mutex_lock(&e->mu);
    if (cmd->status != PB_OK) {
        pb_log(PB_LOG_ERROR, "crash round command failed; retried",
               "\"step\":%d,\"error\":\"%s\"", (int)e->op, pb_err_name(cmd->status));
        if (e->op == CRASH_STEP_OPEN)
            e->sched.next_open_ms = e->op_now + 1000;
    } else if (e->op == CRASH_STEP_RESUME) {
        e->sched.loaded = true;
        e->sched.round_id = e->result.id;
        e->sched.settled = true;
        e->sched.next_open_ms = e->op_now;
        e->previous = e->result;
        e->current = e->result;
        if (e->voided > 0)
            msg = reveal_json(&e->result);
    } else if (e->op == CRASH_STEP_OPEN) {
        e->current = e->result;
        e->sched.round_id = e->result.id;
        e->sched.settled = false;
        e->sched.bets_close_ms = e->result.bets_close_ms;
        e->sched.crash_at_ms = e->result.crash_at_ms;
        msg = json_pack("{s:s,s:I,s:I,s:I,s:s,s:I}", "type", "betting", "round_id",
                        (json_int_t)e->result.id, "bets_close_ms",
                        (json_int_t)e->result.bets_close_ms, "chain_index",
                        (json_int_t)e->result.chain_index, "commitment", e->result.commitment,
                        "opened_ms", (json_int_t)e->result.opened_ms);
    } else {
        e->current = e->result;
        e->previous = e->result;
        e->sched.settled = true;
        e->sched.next_open_ms = e->op_now + e->pause_ms;
        msg = reveal_json(&e->result);
    }
    pthread_mutex_unlock(&e->mu);
    if (msg)
        publish(e, msg);
    atomic_store(&e->busy, false);
}

void crash_engine_tick(void *arg)
{
    struct crash_engine *e = arg;
    int64_t now = pb_wall_ms();
    pthread_mutex_lock(&e->mu);
    struct crash_schedule s = e->sched;
    pthread_mutex_unlock(&e->mu);
    if (crash_live_phase(&s, now) == CRASH_PHASE_RUNNING) {
        int64_t t = now - s.bets_close_ms;
        uint64_t m = crash_multiplier_at(t);
        json_t *msg = json_pack("{s:s,s:I,s:I,s:o,s:I}", "type", "tick", "round_id",
                                (json_int_t)s.round_id, "elapsed_ms", (json_int_t)t,
                                "multiplier", multiplier_json(m), "multiplier_x100",
                                (json_int_t)m);
        publish(e, msg);
    }
    enum crash_step step = crash_live_step(&s, now);
    if (step == CRASH_STEP_WAIT || atomic_exchange(&e->busy, true))
        return;
    e->op = step;
    e->op_now = now;
    e->voided = 0;
    e->cmd = (struct writer_cmd){.run = engine_run, .done = engine_done};
    if (writer_submit(e->w, &e->cmd) != PB_OK)
        atomic_store(&e->busy, false);
}

int crash_engine_new(const struct pb_config *cfg, struct writer *w, struct ledger *lg,
                     struct ws_hub *hub, struct crash_engine **out)
{
    struct crash_engine *e = pb_calloc(1, sizeof(*e));
    if (cfg->crash_chain_seed[0]) {
        if (crash_hash_parse(cfg->crash_chain_seed, e->set.seed) != PB_OK) {
            pb_free(e);
            return PB_ERR_INVALID;
        }
        e->set.have_seed = true;
    }
    e->w = w;
    e->lg = lg;
    e->hub = hub;
    e->set.betting_ms = cfg->crash_betting_ms;
    e->set.chain_length = (uint64_t)cfg->crash_chain_length;
    pb_strlcpy(e->set.salt, cfg->crash_salt, sizeof(e->set.salt));
    e->pause_ms = cfg->crash_pause_ms;
    e->sched.enabled = cfg->crash_enabled != 0;
    atomic_init(&e->busy, false);
    pthread_mutex_init(&e->mu, NULL);
    *out = e;
    return PB_OK;
}

json_t *crash_engine_state(struct crash_engine *e, int64_t now_ms)
{
    pthread_mutex_lock(&e->mu);
    struct crash_schedule s = e->sched;
    struct crash_round_row cur = e->current, prev = e->previous;
    pthread_mutex_unlock(&e->mu);
    enum crash_phase phase = crash_live_phase(&s, now_ms);
    json_t *j = json_pack("{s:s,s:I,s:I}", "phase", crash_phase_name(phase), "server_ms",
                          (json_int_t)now_ms, "betting_ms", (json_int_t)e->set.betting_ms);
    bool live = s.round_id != 0 && !s.settled;
    json_object_set_new(j, "round_id", s.round_id ? json_integer(s.round_id) : json_null());
    json_object_set_new(j, "commitment", cur.id ? json_string(cur.commitment) : json_null());
    json_object_set_new(j, "chain_index", cur.id ? json_integer(cur.chain_index) : json_null());
    json_object_set_new(j, "bets_close_ms", live ? json_integer(s.bets_close_ms) : json_null());
    json_object_set_new(j, "next_round_ms", !live && s.enabled && s.loaded
                                                ? json_integer(s.next_open_ms)
                                                : json_null());
    if (phase == CRASH_PHASE_RUNNING) {
        int64_t t = now_ms - s.bets_close_ms;
        json_object_set_new(j, "elapsed_ms", json_integer(t));
        json_object_set_new(j, "multiplier", multiplier_json(crash_multiplier_at(t)));
    }
    json_object_set_new(j, "previous", prev.id && prev.phase != CRASH_ROUND_OPEN
                                           ? crash_round_json(&prev)
                                           : json_null());
    return j;
}

void crash_engine_free(struct crash_engine *e)
{
    if (!e)
        return;
    pthread_mutex_destroy(&e->mu);
    pb_free(e);
}
