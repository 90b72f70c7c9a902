/* game.h: what an in-house single-step game (slots, roulette, dice) offers the round engine
 * (rounds.h). A game is pure maths: it checks a bet, draws an outcome from the source it is
 * given and says what the round pays. It never touches money or the database; the round
 * engine debits the stake through the wallet, stores the outcome before revealing it, and
 * credits the payout. Interactive games (blackjack) and scheduled multiplayer games (crash)
 * have their own engines on top of rounds.h.
 *
 * Money is int64_t minor units; every payout is computed in integers, overflow-checked, and
 * rounded down to the minor unit (DESIGN.md section 3). */
#ifndef PB_GAME_H
#define PB_GAME_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/json.h"
#include "rng/rng.h"

/* Where the randomness comes from: exactly one is set. Provably-fair games draw from fair
 * (the player's seed pair and this bet's nonce); the others from the CSPRNG rng. */
struct game_draw {
    struct rng *rng;
    struct rng_fair *fair;
};

struct game_result {
    int64_t payout_minor; /* paid back to the player, stake included; 0 for a loss */
    json_t *outcome;      /* what was drawn and why it pays that; the caller owns it */
};

/* RTP variants: one game offered at several theoretical returns (a slot's alternative reel
 * strips). The operator configures which one is played (casino.h); variants[0] is the
 * default. Variants differ only in the distribution of outcomes, never in the shape of a
 * bet or its stake, so check_bet takes no variant: the HTTP layer checks a bet before the
 * writer has read the configuration. */
#define GAME_VARIANTS_MAX 4      /* a few return levels: more is a different game */
#define GAME_VARIANT_ID_MAX 16   /* "94", "standard", "high-return" */

struct game_variant {
    char id[GAME_VARIANT_ID_MAX + 1]; /* lower-case letters, digits and '-'; distinct */
    int32_t rtp_ppm; /* theoretical return to player, parts per million; distinct */
};

struct game_type {
    const char *id;       /* catalog id: "dice", "roulette", "lucky-sevens", ... */
    const char *name;     /* for people */
    const char *kind;     /* "slot", "roulette", "dice": what jurisdiction rules apply to */
    bool provably_fair;
    int nvariants;        /* 1 .. GAME_VARIANTS_MAX */
    struct game_variant variants[GAME_VARIANTS_MAX];
    /* Checks the game-specific bet object (the play request's "bet"; may be NULL for games
     * without choices) for a stake of stake_minor per unit, and gives the round's total
     * stake (a slot: stake per line times lines; roulette: the sum of its bets). A refused
     * bet fills err (field relative to "bet") and returns PB_ERR_INVALID. */
    int (*check_bet)(const json_t *bet, int64_t stake_minor, int64_t *total_stake_minor,
                     struct pb_json_error *err);
    /* Draws the outcome of a checked bet in variant (0 .. nvariants - 1) and what it pays.
     * Cannot fail. */
    void (*play)(const json_t *bet, int variant, int64_t stake_minor, struct game_draw *draw,
                 struct game_result *result);
};

/* The index of the variant of game with this id / this RTP, or -1. */
int game_variant_find(const struct game_type *game, const char *id);
int game_variant_by_rtp(const struct game_type *game, int32_t rtp_ppm);

/* The check_bet of a game whose stake is the whole bet and that takes no bet object
 * (blackjack, baccarat, crash): bet must be NULL and stake_minor 1..stake_max; the total is
 * the stake. A refusal fills err (code "out_of_range", field "bet" or stake_field). */
struct game_stake_only {
    int64_t stake_max;        /* INT64_MAX: the caller bounds the stake */
    const char *stake_field;  /* the request's stake field: "stake_minor", "amount_minor" */
    const char *bet_detail;   /* a bet object given: "blackjack takes no bet object" */
    const char *stake_detail; /* the stake out of range */
};
int game_check_stake_only(const struct game_stake_only *rule, const json_t *bet,
                          int64_t stake_minor, int64_t *total_stake_minor,
                          struct pb_json_error *err);

#endif
