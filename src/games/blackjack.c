/* blackjack.c: the blackjack state machine, its JSON forms and basic strategy (blackjack.h;
 * the rules are in docs/table-games.md). */
#include "games/blackjack.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/base.h"

static const char *const action_names[BJ_ACTION_COUNT + 1] = {
    "", "hit", "stand", "double", "split", "surrender", "insurance", "no_insurance"};

const char *bj_action_name(enum bj_action a)
{
    PB_ASSERT(a >= BJ_HIT && a <= BJ_NO_INSURANCE);
    return action_names[a];
}

int bj_action_parse(const char *name, enum bj_action *a)
{
    for (int i = BJ_HIT; i <= BJ_NO_INSURANCE; i++) {
        if (name && strcmp(name, action_names[i]) == 0) {
            *a = (enum bj_action)i;
            return PB_OK;
        }
    }
    return PB_ERR_INVALID;
}

void bj_rules_default(struct bj_rules *r)
{
    memset(r, 0, sizeof(*r));
    r->decks = BJ_DECKS_DEFAULT;
    r->hit_soft17 = false;
    r->double_after_split = true;
    r->surrender = false;
    r->max_hands = BJ_HANDS_MAX;
}

int bj_rules_check(const struct bj_rules *r, const char **field)
{
    if (r->decks < 1 || r->decks > CARDS_DECKS_MAX) {
        *field = "decks";
        return PB_ERR_INVALID;
    }
    if (r->max_hands < 1 || r->max_hands > BJ_HANDS_MAX) {
        *field = "max_hands";
        return PB_ERR_INVALID;
    }
    return PB_OK;
}

int bj_total(const uint8_t *cards, int count, bool *soft)
{
    int sum = 0;
    bool ace = false;
    for (int i = 0; i < count; i++) {
        int v = card_blackjack_value(cards[i]);
        sum += v;
        ace |= v == 1;
    }
    bool s = ace && sum + 10 <= 21;
    if (soft)
        *soft = s;
    return s ? sum + 10 : sum;
}

static bool is_blackjack(const struct bj_hand *h)
{
    return h->count == 2 && !h->from_split && bj_total(h->cards, 2, NULL) == 21;
}

static void deal_to(struct bj_state *s, struct bj_hand *h)
{
    PB_ASSERT(h->count < BJ_HAND_CARDS_MAX);
    h->cards[h->count++] = shoe_draw(&s->shoe);
}

void bj_shoe_new(const struct bj_rules *rules, struct rng *r, struct shoe *out)
{
    shoe_init(out, rules->decks);
    shoe_shuffle(out, r);
}

/* ---- settlement ---- */

static int64_t hand_payout(const struct bj_hand *h)
{
    switch (h->result) {
    case BJ_WIN: return 2 * h->stake_minor;
    case BJ_BLACKJACK: return h->stake_minor + h->stake_minor * 3 / 2;
    case BJ_PUSH: return h->stake_minor;
    case BJ_SURRENDERED: return h->stake_minor / 2;
    case BJ_LOSE: case BJ_BUST: return 0;
    case BJ_OPEN: break;
    }
    PB_ASSERT(!"hand not resolved");
    return 0;
}

static void settle(struct bj_state *s)
{
    int dealer = bj_total(s->dealer, s->dealer_count, NULL);
    s->payout_minor = 0;
    for (int i = 0; i < s->hand_count; i++) {
        struct bj_hand *h = &s->hands[i];
        if (h->result == BJ_OPEN) {
            int total = bj_total(h->cards, h->count, NULL);
            if (is_blackjack(h))
                h->result = s->dealer_blackjack ? BJ_PUSH : BJ_BLACKJACK;
            else if (s->dealer_blackjack)
                h->result = BJ_LOSE;
            else if (dealer > 21 || total > dealer)
                h->result = BJ_WIN;
            else
                h->result = total == dealer ? BJ_PUSH : BJ_LOSE;
        }
        h->payout_minor = hand_payout(h);
        h->done = true;
        PB_ASSERT(!__builtin_add_overflow(s->payout_minor, h->payout_minor, &s->payout_minor));
    }
    s->insurance_payout_minor = s->dealer_blackjack ? 3 * s->insurance_minor : 0;
    PB_ASSERT(!__builtin_add_overflow(s->payout_minor, s->insurance_payout_minor,
                                      &s->payout_minor));
    s->phase = BJ_PHASE_SETTLED;
}

/* The dealer draws if some hand still waits for the comparison. */
static void dealer_play(struct bj_state *s)
{
    bool live = false;
    for (int i = 0; i < s->hand_count; i++)
        live |= s->hands[i].result == BJ_OPEN;
    for (;;) {
        bool soft;
        int t = bj_total(s->dealer, s->dealer_count, &soft);
        if (!live || t > 17 || (t == 17 && !(soft && s->rules.hit_soft17)))
            break;
        PB_ASSERT(s->dealer_count < BJ_HAND_CARDS_MAX);
        s->dealer[s->dealer_count++] = shoe_draw(&s->shoe);
    }
    settle(s);
}

/* Moves to the next hand needing a decision, dealing the second card of split hands; when
 * none is left, the dealer plays. */
static void advance(struct bj_state *s)
{
    while (s->active < s->hand_count) {
        struct bj_hand *h = &s->hands[s->active];
        if (h->count == 1) {
            deal_to(s, h);
            if (h->split_aces || bj_total(h->cards, h->count, NULL) == 21)
                h->done = true;
        }
        if (!h->done)
            return;
        s->active++;
    }
    dealer_play(s);
}

/* After insurance is settled or was never offered: the peek, then blackjacks. */
static void after_insurance(struct bj_state *s)
{
    int up = card_blackjack_value(s->dealer[0]);
    if (up == 1 || up == 10)
        s->dealer_blackjack = bj_total(s->dealer, 2, NULL) == 21;
    if (s->dealer_blackjack || is_blackjack(&s->hands[0])) {
        settle(s);
        return;
    }
    s->phase = BJ_PHASE_PLAYER;
    advance(s);
}

void bj_start(struct bj_state *s, const struct bj_rules *rules, int64_t stake_minor,
              const struct shoe *shoe)
{
    const char *field;
    PB_ASSERT(bj_rules_check(rules, &field) == PB_OK);
    PB_ASSERT(stake_minor >= 1 && stake_minor <= BJ_STAKE_MAX);
    PB_ASSERT(shoe->count == rules->decks * CARDS_DECK && shoe->pos == 0);
    memset(s, 0, sizeof(*s));
    s->rules = *rules;
    s->shoe = *shoe;
    s->stake_minor = s->staked_minor = stake_minor;
    s->hand_count = 1;
    struct bj_hand *h = &s->hands[0];
    h->stake_minor = stake_minor;
    deal_to(s, h);
    s->dealer[s->dealer_count++] = shoe_draw(&s->shoe);
    deal_to(s, h);
    s->dealer[s->dealer_count++] = shoe_draw(&s->shoe);
    if (card_rank(s->dealer[0]) == 1) {
        s->phase = BJ_PHASE_INSURANCE;
        return;
    }
    s->insurance_decided = true;
    after_insurance(s);
}

/* ---- actions ---- */

static int refuse(struct bj_refusal *why, const char *code, const char *detail)
{
    if (why) {
        why->code = code;
        why->detail = detail;
    }
    return PB_ERR_CONFLICT;
}

int bj_check(const struct bj_state *s, enum bj_action a, struct bj_refusal *why)
{
    PB_ASSERT(a >= BJ_HIT && a <= BJ_NO_INSURANCE);
    if (s->phase == BJ_PHASE_SETTLED)
        return refuse(why, "round_settled", "the round is over");
    bool insurance = a == BJ_INSURANCE || a == BJ_NO_INSURANCE;
    if (s->phase == BJ_PHASE_INSURANCE) {
        if (!insurance)
            return refuse(why, "insurance_pending", "take or decline insurance first");
        if (a == BJ_INSURANCE && s->stake_minor / 2 == 0)
            return refuse(why, "insurance_not_offered", "the stake is too small to insure");
        return PB_OK;
    }
    PB_ASSERT(s->phase == BJ_PHASE_PLAYER && s->active < s->hand_count);
    if (insurance)
        return refuse(why, "insurance_not_offered", "insurance is offered only before play, "
                                                    "when the dealer shows an ace");
    const struct bj_hand *h = &s->hands[s->active];
    PB_ASSERT(!h->done && h->count >= 2);
    switch (a) {
    case BJ_HIT:
    case BJ_STAND:
        return PB_OK;
    case BJ_DOUBLE:
        if (h->count != 2)
            return refuse(why, "cannot_double", "double only on the first two cards");
        if (h->from_split && !s->rules.double_after_split)
            return refuse(why, "cannot_double", "no double after a split");
        return PB_OK;
    case BJ_SPLIT:
        if (h->count != 2 ||
            card_blackjack_value(h->cards[0]) != card_blackjack_value(h->cards[1]))
            return refuse(why, "cannot_split", "split only two cards of the same value");
        if (s->hand_count >= s->rules.max_hands)
            return refuse(why, "split_limit", "no more hands can be split");
        return PB_OK;
    case BJ_SURRENDER:
        if (!s->rules.surrender)
            return refuse(why, "surrender_not_offered", "surrender is not offered");
        if (h->count != 2 || s->hand_count != 1)
            return refuse(why, "cannot_surrender", "surrender only the first two cards, "
                                                   "before any split");
        return PB_OK;
    default:
        break;
    }
    PB_ASSERT(!"unreachable action");
    return PB_ERR_CONFLICT;
}

int64_t bj_action_cost(const struct bj_state *s, enum bj_action a)
{
    if (bj_check(s, a, NULL) != PB_OK)
        return 0;
    if (a == BJ_DOUBLE || a == BJ_SPLIT)
        return s->hands[s->active].stake_minor;
    if (a == BJ_INSURANCE)
        return s->stake_minor / 2;
    return 0;
}

static void split_hand(struct bj_state *s)
{
    struct bj_hand *h = &s->hands[s->active];
    PB_ASSERT(s->hand_count < BJ_HANDS_MAX);
    for (int i = s->hand_count; i > s->active + 1; i--)
        s->hands[i] = s->hands[i - 1];
    s->hand_count++;
    struct bj_hand *n = &s->hands[s->active + 1];
    memset(n, 0, sizeof(*n));
    n->cards[0] = h->cards[1];
    n->count = 1;
    n->stake_minor = h->stake_minor;
    n->from_split = h->from_split = true;
    n->split_aces = h->split_aces = card_rank(h->cards[0]) == 1;
    h->count = 1;
}

int bj_act(struct bj_state *s, enum bj_action a, int64_t *added_stake_minor,
           struct bj_refusal *why)
{
    int rc = bj_check(s, a, why);
    if (rc != PB_OK)
        return rc;
    int64_t cost = bj_action_cost(s, a);
    PB_ASSERT(s->action_count < BJ_ACTIONS_MAX); /* 4 hands x 20 + 3 splits + 1: 84 */
    s->actions[s->action_count++] = (uint8_t)a;
    PB_ASSERT(!__builtin_add_overflow(s->staked_minor, cost, &s->staked_minor));
    if (added_stake_minor)
        *added_stake_minor = cost;
    struct bj_hand *h = &s->hands[s->active];
    switch (a) {
    case BJ_INSURANCE:
        s->insurance_minor = cost;
        /* fallthrough */
    case BJ_NO_INSURANCE:
        s->insurance_decided = true;
        after_insurance(s);
        return PB_OK;
    case BJ_HIT:
        deal_to(s, h);
        break;
    case BJ_STAND:
        h->done = true;
        break;
    case BJ_DOUBLE:
        h->stake_minor += cost;
        h->doubled = true;
        deal_to(s, h);
        h->done = true;
        break;
    case BJ_SPLIT:
        split_hand(s);
        deal_to(s, h);
        if (h->split_aces || bj_total(h->cards, h->count, NULL) == 21)
            h->done = true;
        break;
    case BJ_SURRENDER:
        h->result = BJ_SURRENDERED;
        h->done = true;
        break;
    }
    int t = bj_total(h->cards, h->count, NULL);
    if (t > 21) {
        h->result = BJ_BUST;
        h->done = true;
    } else if (t == 21) {
        h->done = true;
    }
    advance(s);
    PB_ASSERT(s->phase == BJ_PHASE_SETTLED || !s->hands[s->active].done);
    return PB_OK;
}

void bj_abandon(struct bj_state *s)
{
    for (int guard = 0; s->phase != BJ_PHASE_SETTLED; guard++) {
        PB_ASSERT(guard <= BJ_HANDS_MAX + 1);
        enum bj_action a = s->phase == BJ_PHASE_INSURANCE ? BJ_NO_INSURANCE : BJ_STAND;
        PB_ASSERT(bj_act(s, a, NULL, NULL) == PB_OK);
    }
}
