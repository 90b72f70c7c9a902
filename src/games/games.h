/* games.h: the catalogue of in-house single-step games (game.h contract) and the pieces of
 * their maths other modules and the command line use: the provably-fair verifiers, dice and
 * roulette helpers. Slot machines have their own header (slots.h).
 *
 * The catalogue is built once, on first use (thread-safe), from the built-in games (dice,
 * roulette) and the slot definitions embedded into the binary at build time
 * (the JSON files in games/slots/, docs/games.md). Every pointer returned lives as long as the
 * process. */
#ifndef PB_GAMES_H
#define PB_GAMES_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "base/json.h"
#include "games/game.h"
#include "rng/rng.h"

/* The game with catalogue id id, or NULL. */
const struct game_type *games_find(const char *id);
/* How many games the catalogue holds, and the i-th (i < games_count()), in a stable order:
 * dice, roulette, then the slots sorted by id. */
size_t games_count(void);
const struct game_type *games_at(size_t i);

/* Exact figures of a game, per unit of total stake: return to player, the probability that a
 * round pays anything, and the standard deviation of a round's return. */
struct game_figures {
    double rtp, hit_frequency, sd;
};

/* ---- provably fair verification (docs/fairness.md) ----
 * One verifier per provably-fair game: it draws the game's outcome from the stream of
 * (server seed, client seed, nonce) exactly as play does and describes it as JSON. To add a
 * game (crash, ...), add a row to the table in fair.c. */
struct fair_verifier {
    const char *game_id;
    /* Returns a new JSON object describing the outcome (caller decrefs). */
    json_t *(*outcome)(struct rng_fair *f);
};
const struct fair_verifier *fair_verifier_find(const char *game_id);
size_t fair_verifier_count(void);
const struct fair_verifier *fair_verifier_at(size_t i);

/* ---- dice (dice.c) ----
 * roll = floor(float * 10001), in hundredths: 0 (0.00) .. 10000 (100.00), from the first
 * float of the fair stream. A bet {"target": T, "direction": "under"|"over"} with T in
 * hundredths wins when roll < T (under) or roll > T (over); its win chance in hundredths of
 * a percent is T (under) or 10000 - T (over), between DICE_CHANCE_MIN and DICE_CHANCE_MAX,
 * and it pays stake * 9900 / chance, rounded down (99 / chance-in-percent: 1% house edge). */
#define DICE_ROLL_OUTCOMES 10001
#define DICE_CHANCE_MIN 1     /* 0.01%: the smallest chance the roll's resolution allows */
#define DICE_CHANCE_MAX 9800  /* 98%: a payout below 1.0102x is not a bet worth offering */
#define DICE_MULTIPLIER_NUM 9900 /* payout = stake * 9900 / chance (chance in 1/100 %) */
/* The roll from the stream's next float. */
int32_t dice_roll(struct rng_fair *f);
/* The payout of stake_minor on a bet of chance (hundredths of a percent) when it wins:
 * floor(stake * 9900 / chance). PB_ERR_INVALID if it would overflow. */
int dice_payout(int64_t stake_minor, int32_t chance, int64_t *payout_minor);
/* Exact figures of a bet of the given chance (the house edge is the same for every chance,
 * the spread is not). */
void dice_figures(int32_t chance, struct game_figures *out);
extern const struct game_type dice_game;

/* ---- European roulette (roulette.c) ----
 * pocket = floor(float * 37) from the first float of the fair stream. See roulette.c for the
 * bet document and docs/games.md for the table limits. */
#define ROULETTE_POCKETS 37
#define ROULETTE_BETS_MAX 64 /* bets in one spin: more than a full layout of chips needs */
#define ROULETTE_CHIPS_MAX 1000000 /* chips on one bet: the table limits bind long before */
enum roulette_kind {
    ROULETTE_STRAIGHT, ROULETTE_SPLIT, ROULETTE_STREET, ROULETTE_CORNER, ROULETTE_SIX_LINE,
    ROULETTE_COLUMN, ROULETTE_DOZEN, ROULETTE_RED, ROULETTE_BLACK, ROULETTE_ODD,
    ROULETTE_EVEN, ROULETTE_HIGH, ROULETTE_LOW, ROULETTE_KINDS
};
/* Table limits in minor units of the round's currency: per bet of each kind and for the
 * whole spin. Defaults (roulette_limits_default) are documented in docs/games.md; an
 * operator may change them with roulette_set_limits before serving. */
struct roulette_limits {
    int64_t min_minor[ROULETTE_KINDS], max_minor[ROULETTE_KINDS];
    int64_t max_total_minor;
};
#define ROULETTE_LIMIT_MINOR_MAX 1000000000000000LL /* 10^15: far past any table, and a
                                                     * bet times 36 cannot overflow */
void roulette_limits_default(struct roulette_limits *out);
/* Replaces the limits check_bet and play use (process-wide, not synchronised: call before
 * serving; the server applies the configuration's "roulette_limits" at start).
 * PB_ERR_INVALID if a minimum is below 1 or above its maximum, or a value above
 * ROULETTE_LIMIT_MINOR_MAX. */
int roulette_set_limits(const struct roulette_limits *l);
/* The limits in force. */
void roulette_limits_get(struct roulette_limits *out);
/* Decodes a limits document over the defaults: {"max_total_minor": N, "bets": {"straight":
 * {"min_minor": N, "max_minor": N}, ...}}, every key optional, every value 1 ..
 * ROULETTE_LIMIT_MINOR_MAX, a kind's minimum at most its maximum. PB_ERR_INVALID with err
 * naming the field ("bets.split.min_minor"); nothing is applied (see roulette_set_limits). */
int roulette_limits_decode(const json_t *doc, struct roulette_limits *out,
                           struct pb_json_error *err);
/* The limits as the document roulette_limits_decode reads (caller decrefs). */
json_t *roulette_limits_json(const struct roulette_limits *l);
const char *roulette_kind_name(enum roulette_kind k);
/* Pays-to-one of each kind (35 for a straight, 1 for red, ...). */
int32_t roulette_pays(enum roulette_kind k);
/* How many pockets a bet of kind k covers. */
int32_t roulette_covers(enum roulette_kind k);
int32_t roulette_pocket(struct rng_fair *f);
bool roulette_is_red(int32_t pocket);
extern const struct game_type roulette_game;

/* Formats value / 10^decimals as a decimal ("50.50" for 5050 with 2 decimals; decimals
 * 0..9). */
void games_format_fixed(int64_t value, int decimals, char *out, size_t len);

/* ---- command line (games_cli.c) ----
 * pitboss games list | games rtp GAME [--exact] [--simulate N] [--seed S] [--variant V]
 *   [--def FILE];
 * pitboss rng dump --bytes N | rng sample --range K --count N;
 * pitboss fair verify --game G --server-seed S --client-seed C --nonce N.
 * argv holds the words after the command's name; returns the exit status (2: usage). */
int games_cli_games(int argc, char **argv);
int games_cli_rng(int argc, char **argv);
int games_cli_fair(int argc, char **argv);

#endif
