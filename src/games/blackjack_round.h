/* blackjack_round.h: blackjack as an interactive round of the round engine (casino.h,
 * rounds.h; docs/table-games.md, "Blackjack rounds").
 *
 * Start (one writer command): the configuration and stake checks and the debit of
 * casino_round_begin, then the shuffled shoe is dealt (bj_start) and the whole state is
 * stored in blackjack_rounds (never shown: it holds the undealt cards) while the round's
 * public detail is the player's view (bj_state_view); the round is OUTCOME (drawn and stored)
 * until it settles. A round decided by the deal (a blackjack, a dealer blackjack) settles in
 * the same command.
 * Action (one writer command each): the round must be the player's and open; seq must equal
 * the number of actions taken (so a retried or reordered request cannot act twice); the
 * action must be legal (bj_check); its added stake (double, split, insurance) is debited
 * first with ledger idempotency "blackjack-action:<round>:<seq>" (a refusal changes nothing);
 * then the state and the view are stored, and a settled round is paid (casino_round_settle).
 * Recovery: a round untouched for CASINO_RECOVERY_TIMEOUT_MS is finished by bj_abandon
 * (insurance declined, every open hand stands) and settled.
 *
 * Threads: every function taking tx runs inside a writer command. */
#ifndef PB_BLACKJACK_ROUND_H
#define PB_BLACKJACK_ROUND_H

#include <stdint.h>

#include "games/blackjack.h"
#include "games/casino.h"
#include "games/game.h"
#include "games/rounds.h"

#define BJ_ROUND_GAME_ID "blackjack"
#define BJ_ROUND_KIND "blackjack"
#define BJ_ROUND_RTP_PPM 995970 /* 1 - 0.4028% (docs/table-games.md, 20M simulated rounds) */

/* The game's entry for configuration and stake limits (casino_config_get, games_limits). It
 * is not in the single-step catalogue: play is NULL, rounds start through bj_round_start. */
extern const struct game_type blackjack_game;

extern const struct store_migration blackjack_migrations[];
extern const size_t blackjack_migrations_count;

/* Registers bj_round_recover for the kind "blackjack" (before serving). 0 or PB_ERR_FULL. */
int bj_round_register_recovery(void);

/* Starts a round for player_id: stake_minor in currency, dealt from shoe (a freshly shuffled
 * shoe of rules->decks decks), ledger idempotency idem. Returns 0 with *round_id, 0 with
 * refusal->status != 0 (nothing written), or PB_ERR_DB. */
int bj_round_start(struct ledger *lg, struct store *tx, struct writer_cmd *cmd,
                   const char *player_id, const char *currency, int64_t stake_minor,
                   const char *idem, const struct bj_rules *rules, const struct shoe *shoe,
                   int64_t now_ms, int64_t *round_id, struct casino_refusal *refusal);

/* Applies action number seq of round_id for player_id. Returns 0, 0 with refusal->status
 * != 0 (404 not_found, 409 round_settled / action_out_of_turn / bj_check's code, 422 ledger;
 * nothing changed), or PB_ERR_DB. */
int bj_round_act(struct ledger *lg, struct store *tx, struct writer_cmd *cmd,
                 const char *player_id, int64_t round_id, int64_t seq, enum bj_action action,
                 int64_t now_ms, struct casino_refusal *refusal);

/* The stored state of round_id: 0, PB_ERR_NOT_FOUND, or PB_ERR_DB (also when what is stored
 * does not decode: logged). */
int bj_round_load(struct store *s, int64_t round_id, struct bj_state *out);

/* The recovery of an abandoned round (rounds_recovery_fn). */
int bj_round_recover(const struct rounds_recovery_ctx *ctx, const struct round_info *round);

#endif
