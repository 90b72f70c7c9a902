/* blackjack_strategy.c: basic strategy for the rules of blackjack.h and the seeded simulation
 * behind `pitboss games rtp blackjack` (docs/table-games.md).
 *
 * Tables are the standard multi-deck basic strategy (4-8 decks) with late surrender, S17 or
 * H17, with or without double after split. Columns: dealer up card 2,3,4,5,6,7,8,9,T,A.
 * Letters: H hit, S stand, D double (else hit), X double (else stand), P split, R surrender
 * (else the hard total's play). */
#include <math.h>
#include <string.h>

#include "base/base.h"
#include "games/blackjack.h"

/* Hard totals 4..21 (rows 0..17); index 7 is hard 11. */
static const char *const hard_s17[18] = {
    "HHHHHHHHHH", "HHHHHHHHHH", "HHHHHHHHHH", "HHHHHHHHHH", "HHHHHHHHHH", /* 4-8 */
    "HDDDDHHHHH",                                                          /* 9 */
    "DDDDDDDDHH",                                                          /* 10 */
    "DDDDDDDDDH",                                                          /* 11 */
    "HHSSSHHHHH",                                                          /* 12 */
    "SSSSSHHHHH", "SSSSSHHHHH", "SSSSSHHHRH", "SSSSSHHRRR",                 /* 13-16 */
    "SSSSSSSSSS", "SSSSSSSSSS", "SSSSSSSSSS", "SSSSSSSSSS", "SSSSSSSSSS",   /* 17-21 */
};
static const char *const hard_h17[18] = {
    "HHHHHHHHHH", "HHHHHHHHHH", "HHHHHHHHHH", "HHHHHHHHHH", "HHHHHHHHHH",
    "HDDDDHHHHH", "DDDDDDDDHH", "DDDDDDDDDD", "HHSSSHHHHH",
    "SSSSSHHHHH", "SSSSSHHHHH", "SSSSSHHHRR", "SSSSSHHRRR",
    "SSSSSSSSSR", "SSSSSSSSSS", "SSSSSSSSSS", "SSSSSSSSSS", "SSSSSSSSSS",
};
/* Soft totals 12..21 (rows 0..9). */
static const char *const soft_s17[10] = {
    "HHHHHHHHHH",                                                          /* A,A unsplit */
    "HHHDDHHHHH", "HHHDDHHHHH", "HHDDDHHHHH", "HHDDDHHHHH", "HDDDDHHHHH",  /* 13-17 */
    "SXXXXSSHHH", "SSSSSSSSSS", "SSSSSSSSSS", "SSSSSSSSSS",                /* 18-21 */
};
static const char *const soft_h17[10] = {
    "HHHHHHHHHH", "HHHDDHHHHH", "HHHDDHHHHH", "HHDDDHHHHH", "HHDDDHHHHH",
    "HDDDDHHHHH", "XXXXXSSHHH", "SSSSXSSSSS", "SSSSSSSSSS", "SSSSSSSSSS",
};
/* Pairs by value 1 (aces) .. 10; '-' plays the total. */
static const char *const pairs_das[11] = {
    NULL,         "PPPPPPPPPP", "PPPPPPHHHH", "PPPPPPHHHH", "HHHPPHHHHH", "----------",
    "PPPPPHHHHH", "PPPPPPHHHH", "PPPPPPPPPP", "PPPPPSPPSS", "----------",
};
static const char *const pairs_nodas[11] = {
    NULL,         "PPPPPPPPPP", "HHPPPPHHHH", "HHPPPPHHHH", "----------", "----------",
    "HPPPPHHHHH", "PPPPPPHHHH", "PPPPPPPPPP", "PPPPPSPPSS", "----------",
};

static bool legal(const struct bj_state *s, enum bj_action a)
{
    return bj_check(s, a, NULL) == PB_OK;
}

enum bj_action bj_basic_strategy(const struct bj_state *s)
{
    PB_ASSERT(s->phase == BJ_PHASE_PLAYER);
    const struct bj_hand *h = &s->hands[s->active];
    int up = card_blackjack_value(s->dealer[0]);
    int col = up == 1 ? 9 : up - 2;
    bool h17 = s->rules.hit_soft17;
    if (h->count == 2 && card_blackjack_value(h->cards[0]) == card_blackjack_value(h->cards[1])) {
        int v = card_blackjack_value(h->cards[0]);
        char p = (s->rules.double_after_split ? pairs_das : pairs_nodas)[v][col];
        /* 8,8 against an ace under H17: surrender when offered, else split. */
        if (v == 8 && h17 && up == 1 && legal(s, BJ_SURRENDER))
            return BJ_SURRENDER;
        if (p == 'P' && legal(s, BJ_SPLIT))
            return BJ_SPLIT;
    }
    bool soft;
    int total = bj_total(h->cards, h->count, &soft);
    PB_ASSERT(total >= 4 && total <= 21);
    /* One table lookup per branch (a select between tables of different sizes trips
     * UBSan's object-size check under -O1). */
    const char *row;
    if (soft) {
        PB_ASSERT(total >= 12);
        row = h17 ? soft_h17[total - 12] : soft_s17[total - 12];
    } else {
        row = h17 ? hard_h17[total - 4] : hard_s17[total - 4];
    }
    char c = row[col];
    if (c == 'R') {
        if (legal(s, BJ_SURRENDER))
            return BJ_SURRENDER;
        c = total >= 17 ? 'S' : 'H';
    }
    if (c == 'D')
        return legal(s, BJ_DOUBLE) ? BJ_DOUBLE : BJ_HIT;
    if (c == 'X')
        return legal(s, BJ_DOUBLE) ? BJ_DOUBLE : BJ_STAND;
    return c == 'S' ? BJ_STAND : BJ_HIT;
}

#define BJ_SIM_STAKE 1000 /* minor units per round: 3:2 and halves stay exact */

void bj_simulate(const struct bj_rules *rules, uint64_t rounds, uint64_t seed,
                 struct bj_rtp *out)
{
    struct rng r;
    rng_init_seeded(&r, seed);
    struct shoe shoe;
    shoe_init(&shoe, rules->decks);
    shoe.draw_rng = &r;
    struct bj_state s;
    double sum = 0, sumsq = 0, staked = 0;
    for (uint64_t i = 0; i < rounds; i++) {
        shoe.pos = 0;
        bj_start(&s, rules, BJ_SIM_STAKE, &shoe);
        while (s.phase != BJ_PHASE_SETTLED) {
            enum bj_action a = s.phase == BJ_PHASE_INSURANCE ? BJ_NO_INSURANCE
                                                             : bj_basic_strategy(&s);
            PB_ASSERT(bj_act(&s, a, NULL, NULL) == PB_OK);
        }
        double net = (double)(s.payout_minor - s.staked_minor) / BJ_SIM_STAKE;
        sum += net;
        sumsq += net * net;
        staked += (double)s.staked_minor / BJ_SIM_STAKE;
    }
    memset(out, 0, sizeof(*out));
    out->rounds = rounds;
    out->staked_units = staked;
    out->returned_units = staked + sum;
    double n = (double)rounds, mean = sum / n;
    double var = rounds > 1 ? (sumsq - n * mean * mean) / (n - 1) : 0;
    out->edge = -mean;
    out->ci99 = 2.5758 * sqrt(var / n);
}
