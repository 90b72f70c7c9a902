/* cards.h: playing cards and shoes shared by baccarat and blackjack (docs/table-games.md).
 *
 * A card is one byte, suit * 13 + (rank - 1): rank 1 (ace) .. 13 (king), suit 0..3 for
 * clubs, diamonds, hearts, spades. A shoe holds decks * 52 cards in the order they will be
 * dealt and the position of the next card. Shoes are shuffled with rng_shuffle (Fisher-Yates)
 * before play, so the whole order is fixed (and can be stored) before the first card is
 * seen. Simulations may instead set draw_rng: each draw then performs the next Fisher-Yates
 * step (swap the next position with a uniformly chosen later one), which gives the same
 * distribution without shuffling cards that are never dealt.
 *
 * Ownership: struct shoe is a plain value owned by the caller; nothing is allocated. */
#ifndef PB_CARDS_H
#define PB_CARDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rng/rng.h"

#define CARDS_DECK 52
#define CARDS_DECKS_MAX 8 /* the largest shoe dealt in casinos (punto banco, 8 decks) */
#define CARDS_SHOE_MAX (CARDS_DECK * CARDS_DECKS_MAX)
#define CARDS_TEXT_MAX 3 /* "TS" and a NUL */

struct shoe {
    uint8_t cards[CARDS_SHOE_MAX];
    uint16_t count;         /* decks * 52 */
    uint16_t pos;           /* the next card to deal */
    uint16_t cut;           /* position of the cut card (count when none) */
    struct rng *draw_rng;   /* simulations only: shuffle as dealt (borrowed; NULL in play) */
};

static inline int card_rank(uint8_t card) { return card % 13 + 1; }
static inline int card_suit(uint8_t card) { return card / 13; }
static inline uint8_t card_make(int rank, int suit) { return (uint8_t)(suit * 13 + rank - 1); }
/* Baccarat value: ace 1, 2..9 face value, tens and pictures 0. */
static inline int card_baccarat_value(uint8_t card)
{
    int r = card_rank(card);
    return r >= 10 ? 0 : r;
}
/* Blackjack value: ace 1 (the hand decides 11), 2..9 face value, tens and pictures 10. */
static inline int card_blackjack_value(uint8_t card)
{
    int r = card_rank(card);
    return r >= 10 ? 10 : r;
}

/* The card as two characters: rank (A23456789TJQK) then suit (CDHS): "AS", "TD". */
void card_text(uint8_t card, char out[CARDS_TEXT_MAX]);
/* Parses card_text's form. Returns 0 or PB_ERR_INVALID. */
int card_parse(const char *text, uint8_t *card);

/* A fresh, ordered shoe of decks (1..CARDS_DECKS_MAX) decks; pos 0, no cut card. */
void shoe_init(struct shoe *s, int decks);
/* Shuffles the undealt cards (all of them after shoe_init) with rng_shuffle. */
void shoe_shuffle(struct shoe *s, struct rng *r);
/* Cards left to deal. */
static inline int shoe_remaining(const struct shoe *s) { return s->count - s->pos; }
/* Deals the next card. The caller guarantees a card is left (PB_ASSERT). */
uint8_t shoe_draw(struct shoe *s);
/* Whether cards is a permutation of decks full decks (each of the 52 cards decks times):
 * what a stored shoe must be. */
bool shoe_is_complete(const uint8_t *cards, size_t n, int decks);

#endif
