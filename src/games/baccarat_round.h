/* baccarat_round.h: punto banco as a round of the round engine (baccarat.h, casino.h,
 * rounds.h; docs/table-games.md, "Baccarat rounds").
 *
 * Tables: BACCARAT_TABLES numbered tables, each dealing from its own persisted 8-deck shoe
 * (baccarat_shoes: the whole card order, the position, the cut card, the burn), shuffled with
 * rng_shuffle from the system CSPRNG when the table first deals and again when the previous
 * shoe is done (the cut card came out and one more coup was dealt). Every player at a table
 * draws from the same shoe, one coup after the other: each coup is one writer command.
 *
 * A coup (one writer command): casino_round_begin (configuration, stake limits of the total,
 * the wallet debit with the responsible-gaming guard: transfer context game_kind "baccarat")
 * -> the table's shoe is loaded (or a new one shuffled) -> baccarat_deal -> baccarat_settle ->
 * the shoe stored -> casino_round_settle with the payouts and the recall detail (cards, hands,
 * totals, bets, payouts, table, shoe number, coup number in the shoe).
 *
 * Threads: every function taking tx runs inside a writer command. */
#ifndef PB_BACCARAT_ROUND_H
#define PB_BACCARAT_ROUND_H

#include <stdint.h>

#include "games/baccarat.h"
#include "games/casino.h"
#include "games/game.h"

#define BACCARAT_ROUND_GAME_ID "baccarat"
#define BACCARAT_ROUND_KIND "baccarat"
#define BACCARAT_TABLES 8 /* tables a deployment deals at; a shoe row (~1 KiB) each */
#define BACCARAT_STAKE_MAX ((int64_t)1 << 52) /* per bet: 12x of five such bets stays in int64 */
#define BACCARAT_ROUND_RTP_PPM 989421 /* the Banker bet's 1 - 1.0579% (docs/table-games.md) */

/* The game's entry for configuration and stake limits (not in the single-step catalogue). */
extern const struct game_type baccarat_game;

extern const struct store_migration baccarat_migrations[];
extern const size_t baccarat_migrations_count;

/* Deals one coup at table (1..BACCARAT_TABLES) for player_id with checked bets (the total is
 * the round's stake), ledger idempotency idem. rng shuffles a new shoe when one is needed.
 * Returns 0 with *round_id (settled and closed), 0 with refusal->status != 0 (nothing
 * written), or PB_ERR_DB. */
int baccarat_round_play(struct ledger *lg, struct store *tx, struct writer_cmd *cmd,
                        const char *player_id, const char *currency, int table,
                        enum baccarat_variant variant, const struct baccarat_bets *bets,
                        const char *idem, struct rng *rng, int64_t now_ms, int64_t *round_id,
                        struct casino_refusal *refusal);

#endif
