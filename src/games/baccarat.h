/* baccarat.h: punto banco, the rules, the payouts and the exact odds (docs/table-games.md).
 *
 * Pure maths: no money moves here. A coup is dealt from a struct baccarat_shoe (8 decks by
 * default, 6 configurable), prepared as in casinos: shuffled (rng_shuffle), the cut card put
 * BACCARAT_CUT_FROM_END cards before the end, then the first card is shown and as many cards
 * as its value (tens and pictures count 10) are burned face down. When the cut card comes
 * out during a coup, that coup is finished, one more coup is dealt and the shoe is done.
 *
 * Third-card rules: a natural (8 or 9 on two cards, either side) ends the coup. Otherwise the
 * Player draws on 0-5 and stands on 6-7. If the Player stood, the Banker draws on 0-5. If the
 * Player drew a third card of value p, the Banker draws on 0-2; on 3 unless p is 8; on 4 if p
 * is 2-7; on 5 if p is 4-7; on 6 if p is 6-7; stands on 7.
 *
 * Payouts (stake included, integer minor units, rounded down, overflow-checked):
 *   Player 1:1; Banker 0.95:1 (5% commission on the win, the win rounded down), or in the
 *   no-commission variant 1:1 except a Banker win with 6 pays 1:2; Player and Banker bets
 *   push (stake returned) on a tie; Tie 8:1; Player pair and Banker pair (the side's first
 *   two cards of the same rank) 11:1. */
#ifndef PB_BACCARAT_H
#define PB_BACCARAT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/buf.h"
#include "games/cards.h"

#define BACCARAT_DECKS_DEFAULT 8
#define BACCARAT_CUT_FROM_END 16 /* the cut card's usual place: leaves room for 2 more coups */
#define BACCARAT_HAND_MAX 3      /* two cards and at most one third card */

enum baccarat_variant { BACCARAT_COMMISSION = 1, BACCARAT_NO_COMMISSION = 2 };
enum baccarat_winner { BACCARAT_PLAYER = 1, BACCARAT_BANKER = 2, BACCARAT_TIE = 3 };

struct baccarat_shoe {
    struct shoe shoe;
    uint8_t burn_card; /* the card shown before burning */
    int burned;        /* cards burned face down after it */
    bool cut_out;      /* the cut card came out: one more coup */
    bool done;         /* that coup was dealt: the shoe must be replaced */
};

struct baccarat_coup {
    uint8_t player[BACCARAT_HAND_MAX], banker[BACCARAT_HAND_MAX];
    int player_count, banker_count;
    int player_total, banker_total; /* 0..9 */
    bool natural;
    bool player_pair, banker_pair;
    enum baccarat_winner winner;
};

/* Every bet's stake in minor units (0 = not placed). */
struct baccarat_bets {
    int64_t player_minor, banker_minor, tie_minor, player_pair_minor, banker_pair_minor;
};
/* What each bet pays back, stake included, and the sum. */
struct baccarat_payouts {
    int64_t player_minor, banker_minor, tie_minor, player_pair_minor, banker_pair_minor;
    int64_t total_minor;
};

/* Prepares a shoe of decks (1..CARDS_DECKS_MAX) decks: shuffle, cut card, burn. */
void baccarat_shoe_start(struct baccarat_shoe *bs, int decks, struct rng *r);
/* The same for a shoe whose card order is already set (tests, replays): cut and burn only. */
void baccarat_shoe_prepare(struct baccarat_shoe *bs);

/* Whether the Player, standing on two cards (player_third < 0) or having drawn a third card
 * of value player_third (0..9), makes the Banker with banker_total (0..9) draw. */
bool baccarat_banker_draws(int banker_total, int player_third);

/* Deals one coup by the rules above. PB_ERR_CONFLICT when the shoe is done (replace it). */
int baccarat_deal(struct baccarat_shoe *bs, struct baccarat_coup *coup);
/* Deals one coup from a plain shoe (no cut card handling): the rules alone. */
void baccarat_deal_cards(struct shoe *s, struct baccarat_coup *coup);

/* Checks the bets: every stake >= 0, at least one > 0, the total within INT64_MAX.
 * Returns 0 or PB_ERR_INVALID with *field naming the first bad bet ("player", "bets"). */
int baccarat_check_bets(const struct baccarat_bets *bets, const char **field);
/* The payouts of checked bets on a dealt coup. PB_ERR_INVALID when a payout would overflow
 * int64 (the stakes are then absurd: refuse the bet). */
int baccarat_settle(enum baccarat_variant v, const struct baccarat_bets *bets,
                    const struct baccarat_coup *coup, struct baccarat_payouts *out);
/* One round: checks the bets, deals a coup and settles it. Errors as above. */
int baccarat_round(enum baccarat_variant v, const struct baccarat_bets *bets,
                   struct baccarat_shoe *bs, struct baccarat_coup *coup,
                   struct baccarat_payouts *out, const char **field);

/* The round for game recall: {"variant", "player":{"cards":["9H",..],"total"}, "banker":..,
 * "natural", "winner", "player_pair", "banker_pair", "bets":{..}, "payouts":{..}}. The caller
 * owns the result. */
json_t *baccarat_round_json(enum baccarat_variant v, const struct baccarat_bets *bets,
                            const struct baccarat_coup *coup,
                            const struct baccarat_payouts *pay);

/* ---- exact odds (combinatorial enumeration of the shoe without replacement) ----
 * Counts are over ordered sequences of the six cards a coup may use (unused cards count
 * with every value they could take), so all counts share one denominator:
 * total = N (N-1) ... (N-5), N = decks * 52. Pairs are counted over the side's first two
 * cards: pair = 13 * 4d (4d - 1) out of pair_total = N (N - 1). */
struct baccarat_exact {
    int decks;
    uint64_t total, player, banker, tie, banker_six; /* banker_six: Banker wins on 6;
                                                   * 8 decks: total < 2^53 */
    uint64_t pair, pair_total;
    double p_player, p_banker, p_tie, p_banker_six, p_pair;
    /* House edges per unit staked (positive: the house's), ties included for every bet. */
    double edge_player, edge_banker, edge_banker_no_commission, edge_tie, edge_pair;
};
void baccarat_exact(int decks, struct baccarat_exact *out);
/* The report `pitboss games exact baccarat` prints. */
void baccarat_exact_report(const struct baccarat_exact *e, struct pb_buf *out);

#endif
