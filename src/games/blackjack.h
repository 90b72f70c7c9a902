/* blackjack.h: blackjack as an explicit state machine (docs/table-games.md).
 *
 * Rules (struct bj_rules, defaults in bj_rules_default): 6 decks, a fresh shuffled shoe each
 * round (continuous shuffle), dealer stands on soft 17 (hit_soft17 configurable), dealer
 * peeks under an ace or a ten for blackjack (a dealer blackjack takes only the original
 * stake), double on any first two cards, double after split, split equal values up to
 * 4 hands, split aces get one card each and cannot be resplit, 21 after a split is not a
 * blackjack, blackjack pays 3:2, insurance 2:1 offered when the dealer shows an ace (half the
 * stake, rounded down), late surrender configurable (first two cards, no split, after the
 * peek: half the stake back, rounded down). A hand reaching 21 stands by itself.
 *
 * State machine: bj_start deals P, D(up), P, D(hole) from the shoe; phase INSURANCE while an
 * ace shows and insurance is undecided, then PLAYER (acting on hands[active]) unless the
 * peek or a player blackjack ends the round, then the dealer plays and the round is
 * SETTLED with every payout known. bj_act applies one action after checking it is legal in
 * the current state; an illegal action changes nothing and is explained by a stable code.
 *
 * Persistence: bj_state_encode writes the source of truth only: rules, stake, the whole shoe
 * order and the actions taken. bj_state_decode checks it strictly (unknown, missing or
 * mistyped fields, a shoe that is not a permutation of full decks, an action that was not
 * legal at its turn) and rebuilds the state by replaying the actions through bj_act, so a
 * resumed round is exactly the round that was stored. bj_state_view is what the player may
 * see: no undealt cards, the hole card hidden until the dealer plays.
 *
 * Abandonment (bj_abandon): insurance is declined and every open hand stands; the dealer then
 * plays and the round settles. Money: stakes and payouts are int64 minor units; a payout
 * includes the stake; doubles, splits and insurance add stakes that bj_action_cost reports
 * so the round engine can debit them before applying the action.
 *
 * Ownership: struct bj_state is a plain value (about 1 KiB) owned by the caller. */
#ifndef PB_BLACKJACK_H
#define PB_BLACKJACK_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/json.h"
#include "games/cards.h"

#define BJ_DECKS_DEFAULT 6
#define BJ_HANDS_MAX 4       /* split up to 4 hands */
#define BJ_HAND_CARDS_MAX 22 /* 21 aces make 21 (a hand at 21 stands), the dealer fewer */
/* Actions one round can take: per hand at most 21 hits, so 4 hands * 22 + insurance. */
#define BJ_ACTIONS_MAX 96
#define BJ_STAKE_MAX ((int64_t)1 << 52) /* stakes beyond it would overflow 4 doubled hands */

enum bj_phase { BJ_PHASE_INSURANCE = 1, BJ_PHASE_PLAYER = 2, BJ_PHASE_SETTLED = 3 };

enum bj_action {
    BJ_HIT = 1,
    BJ_STAND,
    BJ_DOUBLE,
    BJ_SPLIT,
    BJ_SURRENDER,
    BJ_INSURANCE,    /* take insurance */
    BJ_NO_INSURANCE, /* decline it */
};
#define BJ_ACTION_COUNT 7

struct bj_rules {
    int decks;               /* 1..CARDS_DECKS_MAX */
    bool hit_soft17;         /* H17 instead of S17 */
    bool double_after_split;
    bool surrender;          /* late surrender offered */
    int max_hands;           /* 1..BJ_HANDS_MAX */
};
void bj_rules_default(struct bj_rules *r);

enum bj_result { BJ_OPEN = 0, BJ_WIN, BJ_BLACKJACK, BJ_PUSH, BJ_LOSE, BJ_BUST, BJ_SURRENDERED };

struct bj_hand {
    uint8_t cards[BJ_HAND_CARDS_MAX];
    int count;
    int64_t stake_minor;
    bool doubled, from_split, split_aces, done;
    enum bj_result result;
    int64_t payout_minor; /* stake included; valid once SETTLED */
};

struct bj_state {
    struct bj_rules rules;
    enum bj_phase phase;
    struct shoe shoe;
    struct bj_hand hands[BJ_HANDS_MAX];
    int hand_count, active;
    uint8_t dealer[BJ_HAND_CARDS_MAX];
    int dealer_count;
    bool dealer_blackjack;
    int64_t stake_minor;           /* the original stake */
    int64_t insurance_minor;       /* taken insurance stake, 0 if none */
    int64_t insurance_payout_minor;
    bool insurance_decided;
    int64_t staked_minor;          /* every stake taken: original + doubles + splits + ins. */
    int64_t payout_minor;          /* the round's total payout; valid once SETTLED */
    uint8_t actions[BJ_ACTIONS_MAX];
    int action_count;
};

/* Why an action is refused: a stable code and a sentence. */
struct bj_refusal {
    const char *code; /* "round_settled", "insurance_pending", "insurance_not_offered",
                         "cannot_hit", "cannot_double", "cannot_split", "split_limit",
                         "cannot_surrender", "surrender_not_offered" */
    const char *detail;
};

const char *bj_action_name(enum bj_action a); /* "hit", "stand", ..., "no_insurance" */
/* Parses an action name. Returns 0 or PB_ERR_INVALID. */
int bj_action_parse(const char *name, enum bj_action *a);

/* Hand values: the best total (aces 11 where that stays <= 21) and whether an ace counts 11. */
int bj_total(const uint8_t *cards, int count, bool *soft);

/* A fresh shuffled shoe for one round. */
void bj_shoe_new(const struct bj_rules *rules, struct rng *r, struct shoe *out);
/* Starts a round: stake_minor (1..BJ_STAKE_MAX) taken, the initial deal from shoe (copied;
 * its order is the round's), the peek and blackjacks resolved. Rules must be valid
 * (bj_rules_check). */
void bj_start(struct bj_state *s, const struct bj_rules *rules, int64_t stake_minor,
              const struct shoe *shoe);
/* Whether rules are within their bounds: 0 or PB_ERR_INVALID with *field set. */
int bj_rules_check(const struct bj_rules *r, const char **field);

/* Whether action is legal now: 0, or PB_ERR_CONFLICT with why filled. */
int bj_check(const struct bj_state *s, enum bj_action a, struct bj_refusal *why);
/* The stake a legal action adds (double and split: the hand's stake; insurance: half the
 * original stake, rounded down; others 0). */
int64_t bj_action_cost(const struct bj_state *s, enum bj_action a);
/* Applies action: 0 (and *added_stake_minor = bj_action_cost's value, when not NULL) or
 * PB_ERR_CONFLICT with why filled and the state unchanged. */
int bj_act(struct bj_state *s, enum bj_action a, int64_t *added_stake_minor,
           struct bj_refusal *why);
/* Ends an abandoned round by the default actions (decline insurance, stand on every open
 * hand). Adds no stake. Afterwards the phase is SETTLED. */
void bj_abandon(struct bj_state *s);

/* ---- JSON ---- */
/* The stored state (source of truth, contains the shoe: never show it to the player). */
json_t *bj_state_encode(const struct bj_state *s);
/* Rebuilds a state from bj_state_encode's form. 0 or PB_ERR_INVALID with err filled (field
 * path relative to the document). */
int bj_state_decode(const json_t *doc, struct bj_state *s, struct pb_json_error *err);
/* What the player sees: phase, hands (cards, totals, stakes, results, payouts), the dealer's
 * up card (all cards once settled), insurance, the legal actions and seq (the number of the
 * next action). Caller owns it. */
json_t *bj_state_view(const struct bj_state *s);

/* ---- basic strategy and return ---- */
/* The basic-strategy action for the active hand (for the rules in s), never insurance. */
enum bj_action bj_basic_strategy(const struct bj_state *s);

struct bj_rtp {
    uint64_t rounds;
    double staked_units, returned_units; /* per unit of original stake */
    double edge, ci99;                   /* house edge per original stake, 99% half-width */
};
/* Plays rounds by basic strategy from seed (a fresh shoe each round, dealt with the lazy
 * Fisher-Yates of cards.h), stake 1 unit each. */
void bj_simulate(const struct bj_rules *rules, uint64_t rounds, uint64_t seed,
                 struct bj_rtp *out);

#endif
