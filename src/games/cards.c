/* cards.c: cards and shoes (cards.h; docs/table-games.md). */
#include "games/cards.h"

#include <string.h>

#include "base/base.h"

static const char ranks[] = "A23456789TJQK";
static const char suits[] = "CDHS";

void card_text(uint8_t card, char out[CARDS_TEXT_MAX])
{
    PB_ASSERT(card < CARDS_DECK);
    out[0] = ranks[card_rank(card) - 1];
    out[1] = suits[card_suit(card)];
    out[2] = '\0';
}

int card_parse(const char *text, uint8_t *card)
{
    if (!text || strlen(text) != 2)
        return PB_ERR_INVALID;
    const char *r = strchr(ranks, text[0]), *s = strchr(suits, text[1]);
    if (!r || !s || text[0] == '\0' || text[1] == '\0')
        return PB_ERR_INVALID;
    *card = card_make((int)(r - ranks) + 1, (int)(s - suits));
    return PB_OK;
}

void shoe_init(struct shoe *s, int decks)
{
    PB_ASSERT(decks >= 1 && decks <= CARDS_DECKS_MAX);
    memset(s, 0, sizeof(*s));
    s->count = (uint16_t)(decks * CARDS_DECK);
    for (int i = 0; i < s->count; i++)
        s->cards[i] = (uint8_t)(i % CARDS_DECK);
    s->cut = s->count;
}

void shoe_shuffle(struct shoe *s, struct rng *r)
{
    PB_ASSERT(s->pos <= s->count);
    rng_shuffle(r, s->cards + s->pos, (size_t)(s->count - s->pos), 1);
}

uint8_t shoe_draw(struct shoe *s)
{
    PB_ASSERT(s->pos < s->count);
    if (s->draw_rng) { /* the next Fisher-Yates step, taken as the card is dealt */
        uint32_t j = s->pos + rng_range(s->draw_rng, (uint32_t)(s->count - s->pos));
        uint8_t t = s->cards[s->pos];
        s->cards[s->pos] = s->cards[j];
        s->cards[j] = t;
    }
    uint8_t c = s->cards[s->pos++];
    PB_ASSERT(c < CARDS_DECK);
    return c;
}

bool shoe_is_complete(const uint8_t *cards, size_t n, int decks)
{
    if (decks < 1 || decks > CARDS_DECKS_MAX || n != (size_t)decks * CARDS_DECK)
        return false;
    int seen[CARDS_DECK] = {0};
    for (size_t i = 0; i < n; i++) {
        if (cards[i] >= CARDS_DECK || ++seen[cards[i]] > decks)
            return false;
    }
    return true;
}
