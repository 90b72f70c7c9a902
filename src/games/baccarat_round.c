/* baccarat_round.c: baccarat coups on the round engine (baccarat_round.h).
 *
 * baccarat_shoes  one row per table: its current shoe (cards as two hex digits each, in
 *                 dealing order), the next position, the cut card, the burn card and how
 *                 many were burned, whether the cut card came out and whether the shoe is
 *                 done, the shoe's number at the table and the coups dealt from it. */
#include "games/baccarat_round.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "base/log.h"
#include "games/rounds.h"

#define SHOE_COLUMNS "cards, pos, cut, burn_card, burned, cut_out, done, shoe_no, coups, decks"

const struct store_migration baccarat_migrations[] = {
    {"baccarat", 1, "baccarat table shoes",
     "CREATE TABLE baccarat_shoes (table_no BIGINT PRIMARY KEY, cards TEXT NOT NULL,"
     " pos BIGINT NOT NULL, cut BIGINT NOT NULL, burn_card BIGINT NOT NULL,"
     " burned BIGINT NOT NULL, cut_out BIGINT NOT NULL, done BIGINT NOT NULL,"
     " shoe_no BIGINT NOT NULL, coups BIGINT NOT NULL, decks BIGINT NOT NULL,"
     " updated_ms BIGINT NOT NULL)",
     "CREATE TABLE baccarat_shoes (table_no BIGINT PRIMARY KEY, cards TEXT NOT NULL,"
     " pos BIGINT NOT NULL, cut BIGINT NOT NULL, burn_card BIGINT NOT NULL,"
     " burned BIGINT NOT NULL, cut_out BIGINT NOT NULL, done BIGINT NOT NULL,"
     " shoe_no BIGINT NOT NULL, coups BIGINT NOT NULL, decks BIGINT NOT NULL,"
     " updated_ms BIGINT NOT NULL)"},
};
const size_t baccarat_migrations_count = PB_ARRAY_LEN(baccarat_migrations);

/* The stake is the bets' total, checked by the HTTP layer (baccarat_check_bets): no object. */
static int check_bet(const json_t *bet, int64_t stake_minor, int64_t *total_stake_minor,
                     struct pb_json_error *err)
{
    static const struct game_stake_only rule = {
        INT64_MAX, "bets", "baccarat takes the bets as fields", "at least one bet is required"};
    return game_check_stake_only(&rule, bet, stake_minor, total_stake_minor, err);
}

const struct game_type baccarat_game = {
    .id = BACCARAT_ROUND_GAME_ID,
    .name = "Baccarat",
    .kind = BACCARAT_ROUND_KIND,
    .provably_fair = false,
    .nvariants = 1,
    .variants = {{"standard", BACCARAT_ROUND_RTP_PPM}},
    .check_bet = check_bet,
    .play = NULL,
};

struct table_shoe {
    struct baccarat_shoe bs;
    int64_t shoe_no, coups;
    bool exists;
};

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Loads the table's shoe: 0 (t->exists false when the table never dealt) or PB_ERR_DB. */
static int load_shoe(struct store *tx, int table, struct table_shoe *t)
{
    memset(t, 0, sizeof(*t));
    struct store_stmt *st;
    if (store_prepare(tx, "SELECT " SHOE_COLUMNS " FROM baccarat_shoes WHERE table_no = ?",
                      &st) != PB_OK)
        return PB_ERR_DB;
    store_bind_int64(st, 1, table);
    int rc = store_step(st);
    if (rc != STORE_ROW) {
        store_finalize(st);
        return rc == STORE_DONE ? PB_OK : PB_ERR_DB;
    }
    const char *hex = store_column_text(st, 0);
    size_t n = strlen(hex) / 2;
    int64_t decks = store_column_int64(st, 9);
    struct shoe *s = &t->bs.shoe;
    bool ok = strlen(hex) % 2 == 0 && decks >= 1 && decks <= CARDS_DECKS_MAX &&
              n == (size_t)decks * CARDS_DECK;
    for (size_t i = 0; ok && i < n; i++) {
        int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
        ok = hi >= 0 && lo >= 0 && hi * 16 + lo < CARDS_DECK;
        if (ok)
            s->cards[i] = (uint8_t)(hi * 16 + lo);
    }
    int64_t pos = store_column_int64(st, 1), cut = store_column_int64(st, 2);
    ok = ok && shoe_is_complete(s->cards, n, (int)decks) && pos >= 0 && (size_t)pos <= n &&
         cut >= 0 && (size_t)cut <= n;
    s->count = (uint16_t)n;
    s->pos = (uint16_t)pos;
    s->cut = (uint16_t)cut;
    t->bs.burn_card = (uint8_t)store_column_int64(st, 3);
    t->bs.burned = (int)store_column_int64(st, 4);
    t->bs.cut_out = store_column_int64(st, 5) != 0;
    t->bs.done = store_column_int64(st, 6) != 0;
    t->shoe_no = store_column_int64(st, 7);
    t->coups = store_column_int64(st, 8);
    store_finalize(st);
    if (!ok) {
        pb_log(PB_LOG_ERROR, "stored baccarat shoe does not decode", "\"table\":%d", table);
        return PB_ERR_DB;
    }
    t->exists = true;
    return PB_OK;
}

static int store_shoe(struct store *tx, int table, const struct table_shoe *t, bool insert,
                      int64_t now_ms)
{
    const struct shoe *s = &t->bs.shoe;
    char hex[CARDS_SHOE_MAX * 2 + 1];
    for (size_t i = 0; i < s->count; i++)
        snprintf(hex + 2 * i, 3, "%02x", s->cards[i]);
    hex[2 * s->count] = '\0';
    const char *sql = insert
        ? "INSERT INTO baccarat_shoes (cards, pos, cut, burn_card, burned, cut_out, done,"
          " shoe_no, coups, decks, updated_ms, table_no) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?,"
          " ?, ?)"
        : "UPDATE baccarat_shoes SET cards = ?, pos = ?, cut = ?, burn_card = ?, burned = ?,"
          " cut_out = ?, done = ?, shoe_no = ?, coups = ?, decks = ?, updated_ms = ?"
          " WHERE table_no = ?";
    struct store_stmt *st;
    if (store_prepare(tx, sql, &st) != PB_OK)
        return PB_ERR_DB;
    store_bind_text(st, 1, hex, strlen(hex));
    store_bind_int64(st, 2, s->pos);
    store_bind_int64(st, 3, s->cut);
    store_bind_int64(st, 4, t->bs.burn_card);
    store_bind_int64(st, 5, t->bs.burned);
    store_bind_int64(st, 6, t->bs.cut_out);
    store_bind_int64(st, 7, t->bs.done);
    store_bind_int64(st, 8, t->shoe_no);
    store_bind_int64(st, 9, t->coups);
    store_bind_int64(st, 10, s->count / CARDS_DECK);
    store_bind_int64(st, 11, now_ms);
    store_bind_int64(st, 12, table);
    int rc = store_step(st) == STORE_DONE ? PB_OK : PB_ERR_DB;
    store_finalize(st);
    return rc;
}

int baccarat_round_play(struct ledger *lg, struct store *tx, struct writer_cmd *cmd,
                        const char *player_id, const char *currency, int table,
                        enum baccarat_variant variant, const struct baccarat_bets *bets,
                        const char *idem, struct rng *rng, int64_t now_ms, int64_t *round_id,
                        struct casino_refusal *refusal)
{
    const char *field;
    PB_ASSERT(table >= 1 && table <= BACCARAT_TABLES);
    PB_ASSERT(baccarat_check_bets(bets, &field) == PB_OK);
    int64_t total = 0;
    PB_ASSERT(!__builtin_add_overflow(bets->player_minor, bets->banker_minor, &total) &&
              !__builtin_add_overflow(total, bets->tie_minor, &total) &&
              !__builtin_add_overflow(total, bets->player_pair_minor, &total) &&
              !__builtin_add_overflow(total, bets->banker_pair_minor, &total));
    struct casino_play p = {&baccarat_game, player_id, currency, total, NULL, false, false,
                            idem};
    int rc = casino_round_begin(lg, tx, cmd, &p, now_ms, round_id, refusal);
    if (rc != PB_OK || refusal->status != 0)
        return rc;
    struct table_shoe *t = pb_malloc(sizeof(*t));
    rc = load_shoe(tx, table, t);
    bool insert = rc == PB_OK && !t->exists;
    if (rc == PB_OK && (!t->exists || t->bs.done)) {
        int64_t next = t->exists ? t->shoe_no + 1 : 1;
        baccarat_shoe_start(&t->bs, BACCARAT_DECKS_DEFAULT, rng);
        t->shoe_no = next;
        t->coups = 0;
    }
    struct baccarat_coup coup;
    struct baccarat_payouts pay;
    if (rc == PB_OK) {
        PB_ASSERT(baccarat_deal(&t->bs, &coup) == PB_OK); /* a done shoe was replaced */
        t->coups++;
        if (baccarat_settle(variant, bets, &coup, &pay) != PB_OK)
            rc = PB_ERR_DB; /* unreachable: stakes are bounded by BACCARAT_STAKE_MAX */
    }
    if (rc == PB_OK)
        rc = store_shoe(tx, table, t, insert, now_ms);
    if (rc == PB_OK) {
        json_t *detail = baccarat_round_json(variant, bets, &coup, &pay);
        json_object_set_new(detail, "table", json_integer(table));
        json_object_set_new(detail, "shoe", json_integer(t->shoe_no));
        json_object_set_new(detail, "coup", json_integer(t->coups));
        char *text = json_dumps(detail, JSON_COMPACT | JSON_SORT_KEYS);
        json_decref(detail);
        PB_ASSERT(text != NULL && strlen(text) < ROUNDS_DETAIL_MAX);
        rc = rounds_set_state(tx, *round_id, ROUND_OUTCOME, text, now_ms);
        if (rc == PB_OK)
            rc = casino_round_settle(lg, tx, cmd, *round_id, pay.total_minor, NULL, now_ms);
        free(text);
    }
    pb_free(t);
    return rc == PB_OK ? PB_OK : PB_ERR_DB;
}
