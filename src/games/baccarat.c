/* baccarat.c: punto banco dealing, settlement and exact odds (baccarat.h; the rules and the
 * figures are in docs/table-games.md). */
#include "games/baccarat.h"

#include <string.h>

#include "base/base.h"

void baccarat_shoe_prepare(struct baccarat_shoe *bs)
{
    struct shoe *s = &bs->shoe;
    PB_ASSERT(s->count >= 2 * BACCARAT_CUT_FROM_END && s->pos == 0);
    s->cut = (uint16_t)(s->count - BACCARAT_CUT_FROM_END);
    bs->burn_card = shoe_draw(s);
    bs->burned = card_blackjack_value(bs->burn_card); /* ace 1, tens and pictures 10 */
    for (int i = 0; i < bs->burned; i++)
        (void)shoe_draw(s);
    bs->cut_out = false;
    bs->done = false;
}

void baccarat_shoe_start(struct baccarat_shoe *bs, int decks, struct rng *r)
{
    memset(bs, 0, sizeof(*bs));
    shoe_init(&bs->shoe, decks);
    shoe_shuffle(&bs->shoe, r);
    baccarat_shoe_prepare(bs);
}

bool baccarat_banker_draws(int banker_total, int player_third)
{
    PB_ASSERT(banker_total >= 0 && banker_total <= 9 && player_third >= -1 && player_third <= 9);
    if (player_third < 0)
        return banker_total <= 5;
    switch (banker_total) {
    case 0: case 1: case 2: return true;
    case 3: return player_third != 8;
    case 4: return player_third >= 2 && player_third <= 7;
    case 5: return player_third >= 4 && player_third <= 7;
    case 6: return player_third >= 6 && player_third <= 7;
    default: return false;
    }
}

static int hand_total(const uint8_t *cards, int n)
{
    int t = 0;
    for (int i = 0; i < n; i++)
        t += card_baccarat_value(cards[i]);
    return t % 10;
}

void baccarat_deal_cards(struct shoe *s, struct baccarat_coup *c)
{
    PB_ASSERT(shoe_remaining(s) >= 6);
    memset(c, 0, sizeof(*c));
    c->player[0] = shoe_draw(s);
    c->banker[0] = shoe_draw(s);
    c->player[1] = shoe_draw(s);
    c->banker[1] = shoe_draw(s);
    c->player_count = c->banker_count = 2;
    c->player_pair = card_rank(c->player[0]) == card_rank(c->player[1]);
    c->banker_pair = card_rank(c->banker[0]) == card_rank(c->banker[1]);
    int pt = hand_total(c->player, 2), bt = hand_total(c->banker, 2);
    c->natural = pt >= 8 || bt >= 8;
    if (!c->natural) {
        int third = -1;
        if (pt <= 5) {
            c->player[c->player_count++] = shoe_draw(s);
            third = card_baccarat_value(c->player[2]);
        }
        if (baccarat_banker_draws(bt, third))
            c->banker[c->banker_count++] = shoe_draw(s);
    }
    c->player_total = hand_total(c->player, c->player_count);
    c->banker_total = hand_total(c->banker, c->banker_count);
    c->winner = c->player_total > c->banker_total   ? BACCARAT_PLAYER
                : c->banker_total > c->player_total ? BACCARAT_BANKER
                                                    : BACCARAT_TIE;
}

int baccarat_deal(struct baccarat_shoe *bs, struct baccarat_coup *coup)
{
    if (bs->done)
        return PB_ERR_CONFLICT;
    bool last = bs->cut_out;
    baccarat_deal_cards(&bs->shoe, coup);
    if (last)
        bs->done = true;
    else if (bs->shoe.pos >= bs->shoe.cut)
        bs->cut_out = true;
    PB_ASSERT(shoe_remaining(&bs->shoe) >= 6 || bs->done);
    return PB_OK;
}

int baccarat_check_bets(const struct baccarat_bets *b, const char **field)
{
    const int64_t v[5] = {b->player_minor, b->banker_minor, b->tie_minor, b->player_pair_minor,
                          b->banker_pair_minor};
    static const char *const names[5] = {"player", "banker", "tie", "player_pair",
                                         "banker_pair"};
    int64_t sum = 0;
    for (int i = 0; i < 5; i++) {
        if (v[i] < 0 || __builtin_add_overflow(sum, v[i], &sum)) {
            *field = names[i];
            return PB_ERR_INVALID;
        }
    }
    if (sum == 0) {
        *field = "bets";
        return PB_ERR_INVALID;
    }
    return PB_OK;
}

/* stake * num / den rounded down, plus the stake: what a win at num:den pays back. */
static int pays(int64_t stake, int64_t num, int64_t den, int64_t *out)
{
    int64_t win;
    if (__builtin_mul_overflow(stake, num, &win))
        return PB_ERR_INVALID;
    win /= den;
    if (__builtin_add_overflow(stake, win, out))
        return PB_ERR_INVALID;
    return PB_OK;
}

int baccarat_settle(enum baccarat_variant v, const struct baccarat_bets *b,
                    const struct baccarat_coup *c, struct baccarat_payouts *out)
{
    PB_ASSERT(v == BACCARAT_COMMISSION || v == BACCARAT_NO_COMMISSION);
    memset(out, 0, sizeof(*out));
    int rc = PB_OK;
    if (c->winner == BACCARAT_TIE) {
        out->player_minor = b->player_minor; /* push */
        out->banker_minor = b->banker_minor;
        rc |= pays(b->tie_minor, 8, 1, &out->tie_minor);
    } else if (c->winner == BACCARAT_PLAYER) {
        rc |= pays(b->player_minor, 1, 1, &out->player_minor);
    } else if (v == BACCARAT_COMMISSION) {
        rc |= pays(b->banker_minor, 95, 100, &out->banker_minor);
    } else if (c->banker_total == 6) {
        rc |= pays(b->banker_minor, 1, 2, &out->banker_minor);
    } else {
        rc |= pays(b->banker_minor, 1, 1, &out->banker_minor);
    }
    if (c->player_pair)
        rc |= pays(b->player_pair_minor, 11, 1, &out->player_pair_minor);
    if (c->banker_pair)
        rc |= pays(b->banker_pair_minor, 11, 1, &out->banker_pair_minor);
    const int64_t parts[5] = {out->player_minor, out->banker_minor, out->tie_minor,
                              out->player_pair_minor, out->banker_pair_minor};
    for (int i = 0; i < 5 && rc == PB_OK; i++) {
        PB_ASSERT(parts[i] >= 0);
        if (__builtin_add_overflow(out->total_minor, parts[i], &out->total_minor))
            rc = PB_ERR_INVALID;
    }
    if (rc != PB_OK) {
        memset(out, 0, sizeof(*out));
        return PB_ERR_INVALID;
    }
    return PB_OK;
}

int baccarat_round(enum baccarat_variant v, const struct baccarat_bets *bets,
                   struct baccarat_shoe *bs, struct baccarat_coup *coup,
                   struct baccarat_payouts *out, const char **field)
{
    int rc = baccarat_check_bets(bets, field);
    if (rc != PB_OK)
        return rc;
    /* Refuse overflowing bets before any card is dealt: settle against a coup where every
     * bet wins its largest multiple (a tie with both pairs: 9x tie, 12x each pair). */
    struct baccarat_coup worst = {.winner = BACCARAT_TIE, .player_pair = true,
                                  .banker_pair = true};
    struct baccarat_payouts probe;
    if (baccarat_settle(v, bets, &worst, &probe) != PB_OK) {
        *field = "bets";
        return PB_ERR_INVALID;
    }
    rc = baccarat_deal(bs, coup);
    if (rc != PB_OK)
        return rc;
    rc = baccarat_settle(v, bets, coup, out);
    PB_ASSERT(rc == PB_OK); /* the probe above paid at least as much on every bet */
    return PB_OK;
}

static json_t *hand_json(const uint8_t *cards, int n, int total)
{
    json_t *arr = json_array();
    for (int i = 0; i < n; i++) {
        char t[CARDS_TEXT_MAX];
        card_text(cards[i], t);
        json_array_append_new(arr, json_string(t));
    }
    return json_pack("{s:o, s:i}", "cards", arr, "total", total);
}

json_t *baccarat_round_json(enum baccarat_variant v, const struct baccarat_bets *b,
                            const struct baccarat_coup *c, const struct baccarat_payouts *p)
{
    static const char *const winners[] = {"", "player", "banker", "tie"};
    json_t *bets = json_pack("{s:I, s:I, s:I, s:I, s:I}", "player", (json_int_t)b->player_minor,
                             "banker", (json_int_t)b->banker_minor, "tie",
                             (json_int_t)b->tie_minor, "player_pair",
                             (json_int_t)b->player_pair_minor, "banker_pair",
                             (json_int_t)b->banker_pair_minor);
    json_t *pay = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}", "player",
                            (json_int_t)p->player_minor, "banker", (json_int_t)p->banker_minor,
                            "tie", (json_int_t)p->tie_minor, "player_pair",
                            (json_int_t)p->player_pair_minor, "banker_pair",
                            (json_int_t)p->banker_pair_minor, "total",
                            (json_int_t)p->total_minor);
    json_t *j = json_pack("{s:s, s:o, s:o, s:b, s:s, s:b, s:b, s:o, s:o}", "variant",
                          v == BACCARAT_COMMISSION ? "commission" : "no_commission", "player",
                          hand_json(c->player, c->player_count, c->player_total), "banker",
                          hand_json(c->banker, c->banker_count, c->banker_total), "natural",
                          c->natural, "winner", winners[c->winner], "player_pair",
                          c->player_pair, "banker_pair", c->banker_pair, "bets", bets,
                          "payouts", pay);
    PB_ASSERT(j != NULL);
    return j;
}

/* ---- exact odds ----
 * The coup is a function of at most six cards (P, B, P, B, then third cards), and only their
 * values matter, so the enumeration walks values 0..9 with the counts left in the shoe: at most
 * 10^4 two-card deals times 10^2 third cards, about a million leaves, a few milliseconds. A
 * memo by remaining counts would not pay for itself at this size (every path removes a
 * different multiset of values), so there is none. A coup that uses k < 6 cards stands for
 * every way to fill the remaining 6 - k positions: weight times (N-k)(N-k-1)...(N-5). */
struct enumeration {
    uint64_t left[10];
    uint64_t n;     /* cards in the full shoe */
    uint64_t player, banker, tie, banker_six;
};

static uint64_t falling(uint64_t from, int count)
{
    uint64_t r = 1;
    for (int i = 0; i < count; i++)
        r *= from - (uint64_t)i;
    return r;
}

static void record(struct enumeration *e, int pt, int bt, uint64_t weight, int used)
{
    uint64_t w = weight * falling(e->n - (uint64_t)used, 6 - used);
    if (pt > bt) {
        e->player += w;
    } else if (bt > pt) {
        e->banker += w;
        if (bt == 6)
            e->banker_six += w;
    } else {
        e->tie += w;
    }
}

static void banker_third(struct enumeration *e, int pt, int bt, int third, uint64_t w, int used)
{
    if (!baccarat_banker_draws(bt, third)) {
        record(e, pt, bt, w, used);
        return;
    }
    for (int v = 0; v < 10; v++) {
        if (e->left[v] == 0)
            continue;
        record(e, pt, (bt + v) % 10, w * e->left[v], used + 1);
    }
}

static void after_deal(struct enumeration *e, int pt, int bt, uint64_t w)
{
    if (pt >= 8 || bt >= 8) {
        record(e, pt, bt, w, 4);
        return;
    }
    if (pt >= 6) {
        banker_third(e, pt, bt, -1, w, 4);
        return;
    }
    for (int v = 0; v < 10; v++) {
        if (e->left[v] == 0)
            continue;
        uint64_t w3 = w * e->left[v];
        e->left[v]--;
        banker_third(e, (pt + v) % 10, bt, v, w3, 5);
        e->left[v]++;
    }
}

void baccarat_exact(int decks, struct baccarat_exact *out)
{
    PB_ASSERT(decks >= 1 && decks <= CARDS_DECKS_MAX);
    struct enumeration e;
    memset(&e, 0, sizeof(e));
    e.n = (uint64_t)decks * CARDS_DECK;
    for (int v = 0; v < 10; v++)
        e.left[v] = (uint64_t)decks * (v == 0 ? 16 : 4);
    int order[4];
    uint64_t w[5] = {1};
    /* Four nested draws P, B, P, B written as one loop over a 4-digit base-10 counter. */
    for (int code = 0; code < 10000; code++) {
        int c = code, ok = 1;
        for (int i = 3; i >= 0; i--, c /= 10)
            order[i] = c % 10;
        for (int i = 0; i < 4; i++) {
            if (e.left[order[i]] == 0) {
                for (int j = 0; j < i; j++)
                    e.left[order[j]]++;
                ok = 0;
                break;
            }
            w[i + 1] = w[i] * e.left[order[i]];
            e.left[order[i]]--;
        }
        if (!ok)
            continue;
        after_deal(&e, (order[0] + order[2]) % 10, (order[1] + order[3]) % 10, w[4]);
        for (int i = 0; i < 4; i++)
            e.left[order[i]]++;
    }
    memset(out, 0, sizeof(*out));
    out->decks = decks;
    out->total = falling(e.n, 6);
    out->player = e.player;
    out->banker = e.banker;
    out->tie = e.tie;
    out->banker_six = e.banker_six;
    PB_ASSERT(out->player + out->banker + out->tie == out->total);
    uint64_t per_rank = (uint64_t)decks * 4;
    out->pair = 13 * per_rank * (per_rank - 1);
    out->pair_total = e.n * (e.n - 1);
    double t = (double)out->total;
    out->p_player = (double)out->player / t;
    out->p_banker = (double)out->banker / t;
    out->p_tie = (double)out->tie / t;
    out->p_banker_six = (double)out->banker_six / t;
    out->p_pair = (double)out->pair / (double)out->pair_total;
    out->edge_player = out->p_banker - out->p_player;
    out->edge_banker = out->p_player - 0.95 * out->p_banker;
    out->edge_banker_no_commission =
        out->p_player - (out->p_banker - out->p_banker_six) - 0.5 * out->p_banker_six;
    out->edge_tie = 1.0 - 9.0 * out->p_tie;
    out->edge_pair = 1.0 - 12.0 * out->p_pair;
}

void baccarat_exact_report(const struct baccarat_exact *e, struct pb_buf *out)
{
    pb_buf_printf(out,
                  "baccarat (punto banco), %d decks: exact enumeration without replacement\n"
                  "denominator: %llu ordered sequences of the six cards a coup may use\n\n",
                  e->decks, (unsigned long long)e->total);
    pb_buf_printf(out, "%-22s %20s  %s\n", "outcome", "count", "probability");
    const struct { const char *name; uint64_t count; double p; } rows[] = {
        {"banker wins", e->banker, e->p_banker},
        {"player wins", e->player, e->p_player},
        {"tie", e->tie, e->p_tie},
        {"banker wins with 6", e->banker_six, e->p_banker_six},
    };
    for (size_t i = 0; i < PB_ARRAY_LEN(rows); i++)
        pb_buf_printf(out, "%-22s %20llu  %.6f\n", rows[i].name,
                      (unsigned long long)rows[i].count, rows[i].p);
    pb_buf_printf(out, "%-22s %20llu  %.6f  (of %llu ordered first two cards)\n",
                  "pair (each side)", (unsigned long long)e->pair, e->p_pair,
                  (unsigned long long)e->pair_total);
    pb_buf_printf(out, "\n%-36s %s\n", "bet", "house edge");
    pb_buf_printf(out, "%-36s %.4f%%\n", "player 1:1", 100 * e->edge_player);
    pb_buf_printf(out, "%-36s %.4f%%\n", "banker 0.95:1 (5% commission)", 100 * e->edge_banker);
    pb_buf_printf(out, "%-36s %.4f%%\n", "banker no commission (6 pays 1:2)",
                  100 * e->edge_banker_no_commission);
    pb_buf_printf(out, "%-36s %.4f%%\n", "tie 8:1", 100 * e->edge_tie);
    pb_buf_printf(out, "%-36s %.4f%%\n", "player pair 11:1", 100 * e->edge_pair);
    pb_buf_printf(out, "%-36s %.4f%%\n", "banker pair 11:1", 100 * e->edge_pair);
}
