/* rounds.c: the round records of every game (rounds.h) on SQLite and PostgreSQL, and the
 * registry of interrupted-round recoveries. Tables in rounds_schema.c; the lifecycle and the
 * decisions behind it in docs/casino.md.
 *
 * Every change is one conditional statement, so two nodes racing on a round cannot both move
 * it: a state change carries "state <= new state AND state not final" in its WHERE, a total
 * change the totals it read. */
#include "games/rounds.h"

#include <jansson.h>
#include <string.h>

#include "base/base.h"
#include "ledger/ledger.h"

static const char *const state_names[] = {
    [ROUND_OPEN] = "open",         [ROUND_DEBITED] = "debited", [ROUND_OUTCOME] = "outcome",
    [ROUND_SETTLED] = "settled",   [ROUND_CLOSED] = "closed",   [ROUND_CANCELLED] = "cancelled",
};

const char *round_state_name(enum round_state s)
{
    PB_ASSERT(s >= ROUND_OPEN && s <= ROUND_CANCELLED);
    return state_names[s];
}

int round_state_parse(const char *name, enum round_state *out)
{
    for (int s = ROUND_OPEN; s <= ROUND_CANCELLED; s++) {
        if (name && strcmp(name, state_names[s]) == 0) {
            *out = (enum round_state)s;
            return PB_OK;
        }
    }
    return PB_ERR_INVALID;
}

static bool state_final(enum round_state s)
{
    return s == ROUND_CLOSED || s == ROUND_CANCELLED;
}

bool round_state_move_ok(enum round_state from, enum round_state to)
{
    PB_ASSERT(from >= ROUND_OPEN && from <= ROUND_CANCELLED);
    PB_ASSERT(to >= ROUND_OPEN && to <= ROUND_CANCELLED);
    return !state_final(from) && to >= from;
}

void round_info_release(struct round_info *r)
{
    pb_free(r->detail);
    r->detail = NULL;
}

/* ---- checks ---- */

static bool text_ok(const char *s, size_t min, size_t max)
{
    if (!s)
        return false;
    size_t n = strnlen(s, max + 1);
    return n >= min && n <= max;
}

/* A JSON object as text, at most ROUNDS_DETAIL_MAX bytes. */
static bool detail_ok(const char *detail)
{
    size_t n = strnlen(detail, ROUNDS_DETAIL_MAX + 1);
    if (n == 0 || n > ROUNDS_DETAIL_MAX)
        return false;
    json_t *doc = json_loadb(detail, n, JSON_REJECT_DUPLICATES, NULL);
    bool ok = json_is_object(doc);
    json_decref(doc);
    return ok;
}

/* ---- reading rows ---- */

#define ROUND_COLUMNS                                                                          \
    "id, player_id, game_id, provider, external_id, currency, stake_minor, payout_minor,"     \
    " state, opened_ms, updated_ms, detail, game_kind"

static void read_row(struct store_stmt *st, struct round_info *out)
{
    memset(out, 0, sizeof(*out));
    out->id = store_column_int64(st, 0);
    pb_strlcpy(out->player_id, store_column_text(st, 1), sizeof(out->player_id));
    pb_strlcpy(out->game_id, store_column_text(st, 2), sizeof(out->game_id));
    pb_strlcpy(out->provider, store_column_text(st, 3), sizeof(out->provider));
    pb_strlcpy(out->external_id, store_column_text(st, 4), sizeof(out->external_id));
    pb_strlcpy(out->currency, store_column_text(st, 5), sizeof(out->currency));
    out->stake_minor = store_column_int64(st, 6);
    out->payout_minor = store_column_int64(st, 7);
    int64_t state = store_column_int64(st, 8);
    PB_ASSERT(state >= ROUND_OPEN && state <= ROUND_CANCELLED); /* written by this file only */
    out->state = (enum round_state)state;
    out->opened_ms = store_column_int64(st, 9);
    out->updated_ms = store_column_int64(st, 10);
    out->detail = store_column_is_null(st, 11) ? NULL : pb_strdup(store_column_text(st, 11));
    pb_strlcpy(out->game_kind, store_column_text(st, 12), sizeof(out->game_kind));
    PB_ASSERT(out->id > 0 && out->stake_minor >= 0 && out->payout_minor >= 0);
}

/* Runs a prepared statement expected to give at most one row into out. */
static int read_one(struct store_stmt *st, struct round_info *out)
{
    int rc = store_step(st);
    if (rc == STORE_ROW) {
        read_row(st, out);
        rc = PB_OK;
    } else if (rc == STORE_DONE) {
        rc = PB_ERR_NOT_FOUND;
    } else {
        rc = PB_ERR_DB;
    }
    store_finalize(st);
    return rc;
}

/* Reads up to max rows; on error releases what was read. */
static int read_many(struct store_stmt *st, struct round_info *out, size_t max, size_t *n)
{
    int rc = STORE_DONE;
    *n = 0;
    while (*n < max && (rc = store_step(st)) == STORE_ROW)
        read_row(st, &out[(*n)++]);
    if (*n < max && rc != STORE_DONE) {
        for (size_t i = 0; i < *n; i++)
            round_info_release(&out[i]);
        *n = 0;
        store_finalize(st);
        return PB_ERR_DB;
    }
    store_finalize(st);
    return PB_OK;
}

/* ---- writing ---- */

int rounds_open_game(struct store *tx, const char *player_id, const char *game_id,
                     const char *game_kind, const char *provider, const char *external_id,
                     const char *currency, int64_t now_ms, int64_t *round_id)
{
    PB_ASSERT(now_ms > 0 && round_id != NULL);
    if (!text_ok(player_id, 1, ROUNDS_PLAYER_ID_MAX) ||
        !text_ok(game_id, 1, ROUNDS_GAME_ID_MAX) ||
        !text_ok(game_kind, 0, ROUNDS_GAME_KIND_MAX) ||
        !text_ok(provider, 1, ROUNDS_PROVIDER_MAX) ||
        !text_ok(external_id, 0, ROUNDS_EXTERNAL_ID_MAX) || !text_ok(currency, 1, 8) ||
        !ledger_currency_find(currency))
        return PB_ERR_INVALID;
    struct store_stmt *st;
    if (store_prepare(tx,
                      "INSERT INTO rounds (player_id, game_id, game_kind, provider, external_id,"
                      " currency, stake_minor, payout_minor, state, opened_ms, updated_ms,"
                      " detail) VALUES (?, ?, ?, ?, ?, ?, 0, 0, ?, ?, ?, NULL) RETURNING id",
                      &st) != PB_OK)
        return PB_ERR_DB;
    store_bind_text(st, 1, player_id, strlen(player_id));
    store_bind_text(st, 2, game_id, strlen(game_id));
    store_bind_text(st, 3, game_kind, strlen(game_kind));
    store_bind_text(st, 4, provider, strlen(provider));
    store_bind_text(st, 5, external_id, strlen(external_id));
    store_bind_text(st, 6, currency, strlen(currency));
    store_bind_int64(st, 7, ROUND_OPEN);
    store_bind_int64(st, 8, now_ms);
    store_bind_int64(st, 9, now_ms);
    int rc = store_step(st);
    if (rc == STORE_ROW) {
        *round_id = store_column_int64(st, 0);
        PB_ASSERT(*round_id > 0);
        rc = PB_OK;
    } else if (rc != PB_ERR_CONFLICT) {
        rc = PB_ERR_DB;
    }
    store_finalize(st);
    return rc;
}

int rounds_open(struct store *tx, const char *player_id, const char *game_id,
                const char *provider, const char *external_id, const char *currency,
                int64_t now_ms, int64_t *round_id)
{
    return rounds_open_game(tx, player_id, game_id, "", provider, external_id, currency,
                            now_ms, round_id);
}

int rounds_add(struct store *tx, int64_t round_id, int64_t stake_minor, int64_t payout_minor,
               int64_t now_ms)
{
    PB_ASSERT(round_id > 0 && now_ms > 0);
    if (stake_minor < 0 || payout_minor < 0)
        return PB_ERR_INVALID;
    struct round_info r;
    int rc = rounds_get(tx, round_id, &r);
    if (rc != PB_OK)
        return rc;
    round_info_release(&r);
    if (state_final(r.state))
        return PB_ERR_CONFLICT;
    int64_t stake, payout;
    if (ledger_add(r.stake_minor, stake_minor, &stake) != PB_OK ||
        ledger_add(r.payout_minor, payout_minor, &payout) != PB_OK)
        return PB_ERR_INVALID;
    struct store_stmt *st;
    if (store_prepare(tx,
                      "UPDATE rounds SET stake_minor = ?, payout_minor = ?, updated_ms = ?"
                      " WHERE id = ? AND stake_minor = ? AND payout_minor = ? AND state = ?",
                      &st) != PB_OK)
        return PB_ERR_DB;
    store_bind_int64(st, 1, stake);
    store_bind_int64(st, 2, payout);
    store_bind_int64(st, 3, now_ms > r.updated_ms ? now_ms : r.updated_ms);
    store_bind_int64(st, 4, round_id);
    store_bind_int64(st, 5, r.stake_minor);
    store_bind_int64(st, 6, r.payout_minor);
    store_bind_int64(st, 7, r.state);
    rc = store_step(st);
    int64_t changed = store_changes(st);
    store_finalize(st);
    if (rc != STORE_DONE)
        return PB_ERR_DB;
    return changed == 1 ? PB_OK : PB_ERR_CONFLICT; /* changed by another node meanwhile */
}

int rounds_set_state(struct store *tx, int64_t round_id, enum round_state state,
                     const char *detail, int64_t now_ms)
{
    /* Nothing added: the totals' bounds always hold, so a refusal is the move's. */
    return rounds_update(tx, round_id, 0, 0, state, detail, now_ms);
}

int rounds_update(struct store *tx, int64_t round_id, int64_t stake_minor, int64_t payout_minor,
                  enum round_state state, const char *detail, int64_t now_ms)
{
    PB_ASSERT(round_id > 0 && now_ms > 0);
    PB_ASSERT(state >= ROUND_OPEN && state <= ROUND_CANCELLED);
    if (stake_minor < 0 || payout_minor < 0 || (detail && !detail_ok(detail)))
        return PB_ERR_INVALID;
    struct store_stmt *st;
    /* The totals' bounds in the WHERE keep the sums below INT64_MAX on both engines. */
    if (store_prepare(tx,
                      "UPDATE rounds SET stake_minor = stake_minor + ?,"
                      " payout_minor = payout_minor + ?, state = ?,"
                      " detail = COALESCE(?, detail),"
                      " updated_ms = CASE WHEN updated_ms > ? THEN updated_ms ELSE ? END"
                      " WHERE id = ? AND state <= ? AND state NOT IN (?, ?)"
                      " AND stake_minor <= ? AND payout_minor <= ?",
                      &st) != PB_OK)
        return PB_ERR_DB;
    store_bind_int64(st, 1, stake_minor);
    store_bind_int64(st, 2, payout_minor);
    store_bind_int64(st, 3, state);
    if (detail)
        store_bind_text(st, 4, detail, strlen(detail));
    else
        store_bind_null(st, 4);
    store_bind_int64(st, 5, now_ms);
    store_bind_int64(st, 6, now_ms);
    store_bind_int64(st, 7, round_id);
    store_bind_int64(st, 8, state);
    store_bind_int64(st, 9, ROUND_CLOSED);
    store_bind_int64(st, 10, ROUND_CANCELLED);
    store_bind_int64(st, 11, INT64_MAX - stake_minor);
    store_bind_int64(st, 12, INT64_MAX - payout_minor);
    int rc = store_step(st);
    int64_t changed = store_changes(st);
    store_finalize(st);
    if (rc != STORE_DONE)
        return PB_ERR_DB;
    if (changed == 1)
        return PB_OK;
    struct round_info r; /* refused: say why */
    rc = rounds_get(tx, round_id, &r);
    if (rc != PB_OK)
        return rc;
    round_info_release(&r);
    if (!round_state_move_ok(r.state, state))
        return PB_ERR_CONFLICT;
    return PB_ERR_INVALID; /* a total would pass INT64_MAX */
}

int rounds_find_external(struct store *tx, const char *provider, const char *external_id,
                         struct round_info *out)
{
    if (!text_ok(provider, 1, ROUNDS_PROVIDER_MAX) ||
        !text_ok(external_id, 1, ROUNDS_EXTERNAL_ID_MAX))
        return PB_ERR_NOT_FOUND;
    struct store_stmt *st;
    if (store_prepare(tx, "SELECT " ROUND_COLUMNS " FROM rounds"
                          " WHERE provider = ? AND external_id = ?", &st) != PB_OK)
        return PB_ERR_DB;
    store_bind_text(st, 1, provider, strlen(provider));
    store_bind_text(st, 2, external_id, strlen(external_id));
    return read_one(st, out);
}

/* ---- reading ---- */

int rounds_get(struct store *s, int64_t round_id, struct round_info *out)
{
    struct store_stmt *st;
    if (store_prepare(s, "SELECT " ROUND_COLUMNS " FROM rounds WHERE id = ?", &st) != PB_OK)
        return PB_ERR_DB;
    store_bind_int64(st, 1, round_id);
    return read_one(st, out);
}

int rounds_recall(struct store *s, const char *player_id, struct round_info *out, size_t max,
                  size_t *n)
{
    PB_ASSERT(max <= ROUNDS_RECALL_MAX);
    *n = 0;
    if (!text_ok(player_id, 1, ROUNDS_PLAYER_ID_MAX) || max == 0)
        return PB_OK;
    struct store_stmt *st;
    if (store_prepare(s, "SELECT " ROUND_COLUMNS " FROM rounds WHERE player_id = ?"
                         " ORDER BY id DESC LIMIT ?", &st) != PB_OK)
        return PB_ERR_DB;
    store_bind_text(st, 1, player_id, strlen(player_id));
    store_bind_int64(st, 2, (int64_t)max);
    return read_many(st, out, max, n);
}

int rounds_stale(struct store *s, int64_t older_than_ms, struct round_info *out, size_t max,
                 size_t *n)
{
    PB_ASSERT(max <= ROUNDS_STALE_MAX);
    *n = 0;
    if (max == 0)
        return PB_OK;
    struct store_stmt *st;
    /* "state IN (2, 3)" as the partial index's predicate says it, so both engines use it. */
    if (store_prepare(s, "SELECT " ROUND_COLUMNS " FROM rounds WHERE state IN (2, 3)"
                         " AND updated_ms < ? ORDER BY updated_ms, id LIMIT ?", &st) != PB_OK)
        return PB_ERR_DB;
    store_bind_int64(st, 1, older_than_ms);
    store_bind_int64(st, 2, (int64_t)max);
    int rc = read_many(st, out, max, n);
    for (size_t i = 0; rc == PB_OK && i < *n; i++)
        PB_ASSERT(out[i].state == ROUND_DEBITED || out[i].state == ROUND_OUTCOME);
    return rc;
}

_Static_assert(ROUND_CLOSED == 5, "rounds_daily's SQL names the closed state as 5");
#define DAILY_SPLIT ((int64_t)1 << 32) /* SUM(x / 2^32), SUM(x % 2^32): see rounds_daily */
#define DAY_MS ((int64_t)86400000)

/* hi * 2^32 + lo, overflow-checked. */
static int join_split(int64_t hi, int64_t lo, int64_t *out)
{
    int64_t v;
    if (__builtin_mul_overflow(hi, DAILY_SPLIT, &v) || __builtin_add_overflow(v, lo, out))
        return PB_ERR_INVALID;
    return PB_OK;
}

int rounds_daily(struct store *s, const char *currency, int64_t from_ms, struct rounds_day *out,
                 size_t max, size_t *n)
{
    PB_ASSERT(max <= ROUNDS_DAILY_DAYS_MAX);
    *n = 0;
    if (!text_ok(currency, 1, 16) || max == 0)
        return PB_OK;
    struct store_stmt *st;
    /* Both engines divide integers truncating toward zero; opened_ms is never negative. */
    if (store_prepare(s,
                      "SELECT opened_ms / 86400000 AS d, COUNT(*),"
                      " SUM(stake_minor / 4294967296), SUM(stake_minor % 4294967296),"
                      " SUM(payout_minor / 4294967296), SUM(payout_minor % 4294967296),"
                      " COUNT(DISTINCT player_id)"
                      " FROM rounds WHERE currency = ? AND state = 5 AND opened_ms >= ?"
                      " GROUP BY opened_ms / 86400000 ORDER BY d LIMIT ?",
                      &st) != PB_OK)
        return PB_ERR_DB;
    store_bind_text(st, 1, currency, strlen(currency));
    store_bind_int64(st, 2, from_ms);
    store_bind_int64(st, 3, (int64_t)max);
    int rc;
    while ((rc = store_step(st)) == STORE_ROW) {
        struct rounds_day *d = &out[*n];
        d->day = store_column_int64(st, 0);
        d->rounds = store_column_int64(st, 1);
        d->active_players = store_column_int64(st, 6);
        if (join_split(store_column_int64(st, 2), store_column_int64(st, 3), &d->stakes_minor) !=
                PB_OK ||
            join_split(store_column_int64(st, 4), store_column_int64(st, 5), &d->payouts_minor) !=
                PB_OK) {
            store_finalize(st);
            return PB_ERR_INVALID;
        }
        if (++*n == max)
            break;
    }
    store_finalize(st);
    return rc == STORE_ROW || rc == STORE_DONE ? PB_OK : PB_ERR_DB;
}

int rounds_per_minute(struct store *s, int64_t from_ms, struct rounds_minute *out, size_t max,
                      size_t *n)
{
    PB_ASSERT(max <= ROUNDS_MINUTES_MAX && from_ms >= 0);
    *n = 0;
    struct store_stmt *st;
    if (store_prepare(s,
                      "SELECT opened_ms / 60000 AS m, COUNT(*), COUNT(DISTINCT player_id)"
                      " FROM rounds WHERE opened_ms >= ? GROUP BY opened_ms / 60000"
                      " ORDER BY m LIMIT ?",
                      &st) != PB_OK)
        return PB_ERR_DB;
    store_bind_int64(st, 1, from_ms);
    store_bind_int64(st, 2, (int64_t)max);
    int rc = STORE_DONE;
    while (*n < max && (rc = store_step(st)) == STORE_ROW) {
        out[*n] = (struct rounds_minute){store_column_int64(st, 0), store_column_int64(st, 1),
                                         store_column_int64(st, 2)};
        PB_ASSERT(out[*n].rounds >= 1 && out[*n].players >= 1);
        ++*n;
    }
    if (*n == max)
        rc = STORE_DONE;
    store_finalize(st);
    return rc == STORE_ROW || rc == STORE_DONE ? PB_OK : PB_ERR_DB;
}

/* ---- recovery registry ---- */

static struct {
    const char *key;
    rounds_recovery_fn fn;
} recoveries[ROUNDS_RECOVERY_MAX];
static size_t recoveries_count;

int rounds_register_recovery(const char *game_kind, rounds_recovery_fn fn)
{
    PB_ASSERT(game_kind && game_kind[0] && fn);
    for (size_t i = 0; i < recoveries_count; i++) {
        if (strcmp(recoveries[i].key, game_kind) == 0) {
            recoveries[i].fn = fn;
            return PB_OK;
        }
    }
    if (recoveries_count == ROUNDS_RECOVERY_MAX)
        return PB_ERR_FULL;
    recoveries[recoveries_count].key = game_kind;
    recoveries[recoveries_count].fn = fn;
    recoveries_count++;
    return PB_OK;
}

rounds_recovery_fn rounds_recovery_find(const char *game_kind)
{
    for (size_t i = 0; game_kind && i < recoveries_count; i++)
        if (strcmp(recoveries[i].key, game_kind) == 0)
            return recoveries[i].fn;
    return NULL;
}
