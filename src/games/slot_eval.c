/* slot_eval.c: slot spins (the hot path: no allocation, table lookups only), rounds with
 * their free-spin features, play as the round engine calls it, and the catalogue of slot
 * games decoded from the embedded definitions (slots.h). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "base/log.h"
#include "games/slots.h"

void slot_eval(const struct slot_def *def, const struct slot_reels *reels,
               const int32_t *stops, struct slot_spin *out)
{
    const int nreels = def->reels;
    const uint8_t *col[SLOT_REELS_MAX];
    int32_t scatters = 0;
    for (int r = 0; r < nreels; r++) {
        PB_ASSERT(stops[r] >= 0 && stops[r] < reels->len[r]);
        out->stops[r] = stops[r];
        col[r] = reels->strip[r] + stops[r];
        scatters += reels->scatter_at[r][stops[r]];
    }
    int64_t units = 0;
    if (!def->ways) {
        const uint16_t *next = def->dfa_next;
        const int32_t *pay = def->dfa_pay;
        if (nreels == 5) { /* the common shape, unrolled: five dependent lookups a line */
            const uint8_t *c0 = col[0], *c1 = col[1], *c2 = col[2], *c3 = col[3], *c4 = col[4];
            for (int l = 0; l < def->nlines; l++) {
                const uint8_t *line = def->lines[l];
                unsigned st = next[c0[line[0]]];
                st = next[st * SLOT_SYMBOLS_MAX + c1[line[1]]];
                st = next[st * SLOT_SYMBOLS_MAX + c2[line[2]]];
                st = next[st * SLOT_SYMBOLS_MAX + c3[line[3]]];
                st = next[st * SLOT_SYMBOLS_MAX + c4[line[4]]];
                units += pay[st];
            }
        } else {
            for (int l = 0; l < def->nlines; l++) {
                const uint8_t *line = def->lines[l];
                unsigned st = 0;
                for (int r = 0; r < nreels; r++)
                    st = next[st * SLOT_SYMBOLS_MAX + col[r][line[r]]];
                units += pay[st];
            }
        }
    } else {
        for (int t = 0; t < def->nsymbols; t++) {
            if (t == def->wild || t == def->scatter)
                continue;
            int64_t ways = 1;
            int n = 0;
            while (n < nreels) {
                uint8_t c = reels->count_at[n][stops[n] * SLOT_SYMBOLS_MAX + t];
                if (!c)
                    break;
                ways *= c;
                n++;
            }
            if (n > 0)
                units += def->symbols[t].pays[n - 1] * ways;
        }
    }
    out->line_units = units;
    out->scatters = scatters;
    out->scatter_units = 0;
    out->awarded = 0;
    if (scatters > 0) {
        const struct slot_symbol *s = &def->symbols[def->scatter];
        out->scatter_units = (int64_t)s->pays[scatters - 1] * def->cost;
        out->awarded = s->free_spins[scatters - 1];
    }
}

void slot_spin(const struct slot_def *def, const struct slot_reels *reels, struct rng *r,
               struct slot_spin *out)
{
    int32_t stops[SLOT_REELS_MAX];
    for (int i = 0; i < def->reels; i++)
        stops[i] = (int32_t)rng_range(r, (uint32_t)reels->len[i]);
    slot_eval(def, reels, stops, out);
}

int64_t slot_round_units(const struct slot_def *def, int v, struct rng *r,
                         int32_t *feature_spins)
{
    PB_ASSERT(v >= 0 && v < def->nvariants);
    const struct slot_variant *sv = &def->variants[v];
    struct slot_spin s;
    slot_spin(def, &sv->base, r, &s);
    int64_t total = s.line_units + s.scatter_units, feature = 0;
    int32_t pending = s.awarded, played = 0;
    while (pending > 0 && played < SLOT_FEATURE_SPINS_MAX) {
        slot_spin(def, &sv->free, r, &s);
        feature += s.line_units + s.scatter_units;
        pending += s.awarded - 1;
        played++;
    }
    *feature_spins = played;
    return total + feature * def->multiplier;
}

int32_t slot_line_pay(const struct slot_def *def, const uint8_t *syms, int *symbol, int *count)
{
    int t = -1, n = 0, w = 0;
    while (w < def->reels && syms[w] == def->wild)
        w++;
    for (int r = 0; r < def->reels; r++) {
        int x = syms[r];
        if (x == def->scatter)
            break;
        if (x == def->wild) {
            n++;
            continue;
        }
        if (t < 0)
            t = x;
        if (x != t)
            break;
        n++;
    }
    int32_t best = 0;
    *symbol = -1;
    *count = 0;
    if (t >= 0 && def->symbols[t].pays[n - 1] > 0) {
        best = def->symbols[t].pays[n - 1];
        *symbol = t;
        *count = n;
    }
    if (w > 0 && def->symbols[def->wild].pays[w - 1] > best) {
        best = def->symbols[def->wild].pays[w - 1];
        *symbol = def->wild;
        *count = w;
    }
    return best;
}

/* ---- play ---- */

static int bet_fail(struct pb_json_error *err, const char *code, const char *field,
                    const char *detail)
{
    err->code = code;
    pb_strlcpy(err->field, field, sizeof(err->field));
    pb_strlcpy(err->detail, detail, sizeof(err->detail));
    return PB_ERR_INVALID;
}

static int slot_check(const struct slot_def *def, const json_t *bet, int64_t stake_minor,
                      int64_t *total_stake_minor, struct pb_json_error *err)
{
    if (bet && !(json_is_object(bet) && json_object_size(bet) == 0) && !json_is_null(bet))
        return bet_fail(err, "unknown_field", "", "a slot takes no bet choices: send {} or"
                        " nothing; the stake is per line (ways games: per unit)");
    if (stake_minor < 1)
        return bet_fail(err, "out_of_range", "", "the stake must be at least 1 minor unit");
    int64_t total, most;
    /* the most a round can pay: a top spin, then a capped feature of top spins */
    if (__builtin_mul_overflow(stake_minor, (int64_t)def->cost, &total) ||
        __builtin_mul_overflow(stake_minor, def->max_spin_units, &most) ||
        __builtin_mul_overflow(most, (int64_t)def->multiplier * (SLOT_FEATURE_SPINS_MAX + 1),
                               &most))
        return bet_fail(err, "stake_too_large", "", "the stake is too large for this game");
    *total_stake_minor = total;
    return PB_OK;
}

static json_t *stops_json(const struct slot_def *def, const struct slot_spin *s)
{
    json_t *a = json_array();
    for (int r = 0; r < def->reels; r++)
        json_array_append_new(a, json_integer(s->stops[r]));
    return a;
}

/* The window and every win of spin s, stake per unit stake_minor times mult. */
static json_t *spin_json(const struct slot_def *def, const struct slot_reels *reels,
                         const struct slot_spin *s, int64_t stake_minor, int64_t mult)
{
    json_t *window = json_array(), *wins = json_array();
    for (int r = 0; r < def->reels; r++) {
        json_t *col = json_array();
        for (int row = 0; row < def->rows; row++)
            json_array_append_new(col, json_string(
                def->symbols[reels->strip[r][s->stops[r] + row]].id));
        json_array_append_new(window, col);
    }
    if (!def->ways) {
        for (int l = 0; l < def->nlines; l++) {
            uint8_t syms[SLOT_REELS_MAX];
            for (int r = 0; r < def->reels; r++)
                syms[r] = reels->strip[r][s->stops[r] + def->lines[l][r]];
            int sym, count;
            int32_t pay = slot_line_pay(def, syms, &sym, &count);
            if (pay > 0)
                json_array_append_new(wins, json_pack("{s:i, s:s, s:i, s:I}", "line", l + 1,
                                      "symbol", def->symbols[sym].id, "count", count,
                                      "pays_minor", (json_int_t)(pay * stake_minor * mult)));
        }
    } else {
        for (int t = 0; t < def->nsymbols; t++) {
            if (t == def->wild || t == def->scatter)
                continue;
            int64_t ways = 1;
            int n = 0;
            while (n < def->reels) {
                uint8_t c = reels->count_at[n][s->stops[n] * SLOT_SYMBOLS_MAX + t];
                if (!c)
                    break;
                ways *= c;
                n++;
            }
            if (n > 0 && def->symbols[t].pays[n - 1] > 0)
                json_array_append_new(wins, json_pack("{s:s, s:i, s:I, s:I}", "symbol",
                                      def->symbols[t].id, "count", n, "ways", (json_int_t)ways,
                                      "pays_minor", (json_int_t)(def->symbols[t].pays[n - 1] *
                                                                 ways * stake_minor * mult)));
        }
    }
    json_t *o = json_pack("{s:o, s:o, s:o, s:i, s:I, s:i, s:I}", "stops", stops_json(def, s),
                          "window", window, "wins", wins, "scatters", s->scatters,
                          "scatter_pays_minor",
                          (json_int_t)(s->scatter_units * stake_minor * mult),
                          "free_spins_awarded", s->awarded, "win_minor",
                          (json_int_t)((s->line_units + s->scatter_units) * stake_minor * mult));
    PB_ASSERT(o);
    return o;
}

static void slot_play(const struct slot_def *def, const json_t *bet, int v,
                      int64_t stake_minor, struct game_draw *draw, struct game_result *result)
{
    PB_ASSERT(draw->rng && !draw->fair && v >= 0 && v < def->nvariants);
    const struct slot_variant *sv = &def->variants[v];
    int64_t total;
    struct pb_json_error err;
    PB_ASSERT(slot_check(def, bet, stake_minor, &total, &err) == PB_OK); /* checked */
    struct slot_spin s;
    slot_spin(def, &sv->base, draw->rng, &s);
    int64_t units = s.line_units + s.scatter_units;
    json_t *outcome = spin_json(def, &sv->base, &s, stake_minor, 1);
    int32_t pending = s.awarded, played = 0;
    if (pending > 0) {
        json_t *spins = json_array();
        int64_t feature = 0;
        while (pending > 0 && played < SLOT_FEATURE_SPINS_MAX) {
            slot_spin(def, &sv->free, draw->rng, &s);
            feature += s.line_units + s.scatter_units;
            json_array_append_new(spins, spin_json(def, &sv->free, &s, stake_minor,
                                                   def->multiplier));
            pending += s.awarded - 1;
            played++;
        }
        units += feature * def->multiplier;
        json_object_set_new(outcome, "free_spins",
                            json_pack("{s:i, s:i, s:o, s:I}", "multiplier", def->multiplier,
                                      "played", played, "spins", spins, "win_minor",
                                      (json_int_t)(feature * def->multiplier * stake_minor)));
    }
    int64_t payout;
    PB_ASSERT(!__builtin_mul_overflow(units, stake_minor, &payout)); /* bounded by check */
    PB_ASSERT(payout >= 0);
    json_object_set_new(outcome, "stake_minor", json_integer(total));
    json_object_set_new(outcome, "payout_minor", json_integer(payout));
    result->payout_minor = payout;
    result->outcome = outcome;
}

/* ---- the catalogue ---- */

static struct slot_def *defs[SLOT_GAMES_MAX];
static struct game_type types[SLOT_GAMES_MAX];
static size_t ndefs;
static pthread_once_t once = PTHREAD_ONCE_INIT;

/* game_type has no context pointer: one pair of entry points per catalogue slot. */
#define SLOT_ENTRY(i)                                                                          \
    static int check_##i(const json_t *bet, int64_t stake_minor, int64_t *total,               \
                         struct pb_json_error *err)                                            \
    {                                                                                          \
        return slot_check(defs[i], bet, stake_minor, total, err);                              \
    }                                                                                          \
    static void play_##i(const json_t *bet, int variant, int64_t stake_minor,                 \
                         struct game_draw *draw, struct game_result *result)                   \
    {                                                                                          \
        slot_play(defs[i], bet, variant, stake_minor, draw, result);                           \
    }
#define SLOT_ENTRIES_8(a, b, c, d, e, f, g, h)                                                 \
    SLOT_ENTRY(a) SLOT_ENTRY(b) SLOT_ENTRY(c) SLOT_ENTRY(d) SLOT_ENTRY(e) SLOT_ENTRY(f)        \
    SLOT_ENTRY(g) SLOT_ENTRY(h)
SLOT_ENTRIES_8(0, 1, 2, 3, 4, 5, 6, 7)
SLOT_ENTRIES_8(8, 9, 10, 11, 12, 13, 14, 15)
SLOT_ENTRIES_8(16, 17, 18, 19, 20, 21, 22, 23)
SLOT_ENTRIES_8(24, 25, 26, 27, 28, 29, 30, 31)
#define E(i) {check_##i, play_##i}
static const struct {
    int (*check)(const json_t *, int64_t, int64_t *, struct pb_json_error *);
    void (*play)(const json_t *, int, int64_t, struct game_draw *, struct game_result *);
} entries[SLOT_GAMES_MAX] = {
    E(0),  E(1),  E(2),  E(3),  E(4),  E(5),  E(6),  E(7),  E(8),  E(9),  E(10),
    E(11), E(12), E(13), E(14), E(15), E(16), E(17), E(18), E(19), E(20), E(21),
    E(22), E(23), E(24), E(25), E(26), E(27), E(28), E(29), E(30), E(31),
};
#undef E

static int by_id(const void *a, const void *b)
{
    return strcmp((*(struct slot_def *const *)a)->id, (*(struct slot_def *const *)b)->id);
}

/* An embedded definition that does not decode is a build defect (the unit tests decode
 * every one): say which and stop. */
static void load(void)
{
    if (slot_sources_count > SLOT_GAMES_MAX) {
        fprintf(stderr, "pitboss: %zu slot definitions embedded, at most %d\n",
                slot_sources_count, SLOT_GAMES_MAX);
        abort();
    }
    for (size_t i = 0; i < slot_sources_count; i++) {
        struct pb_json_error err;
        if (slot_def_decode((const char *)slot_sources[i].text, slot_sources[i].len, &defs[i],
                            &err) != PB_OK) {
            fprintf(stderr, "pitboss: embedded slot definition %s: %s: %s (%s)\n",
                    slot_sources[i].file, err.field, err.detail, err.code);
            abort();
        }
    }
    ndefs = slot_sources_count;
    qsort(defs, ndefs, sizeof(defs[0]), by_id);
    for (size_t i = 0; i < ndefs; i++) {
        if ((i > 0 && strcmp(defs[i - 1]->id, defs[i]->id) == 0) ||
            strcmp(defs[i]->id, "dice") == 0 || strcmp(defs[i]->id, "roulette") == 0) {
            fprintf(stderr, "pitboss: two games have the id %s\n", defs[i]->id);
            abort();
        }
        types[i] = (struct game_type){
            .id = defs[i]->id,
            .name = defs[i]->name,
            .kind = "slot",
            .provably_fair = false,
            .nvariants = defs[i]->nvariants,
            .check_bet = entries[i].check,
            .play = entries[i].play,
        };
        for (int v = 0; v < defs[i]->nvariants; v++) {
            pb_strlcpy(types[i].variants[v].id, defs[i]->variants[v].id,
                       sizeof(types[i].variants[v].id));
            types[i].variants[v].rtp_ppm = defs[i]->variants[v].rtp_ppm;
        }
    }
}

size_t slots_count(void)
{
    pthread_once(&once, load);
    return ndefs;
}

const struct slot_def *slots_def_at(size_t i)
{
    PB_ASSERT(i < slots_count());
    return defs[i];
}

const struct game_type *slots_game_at(size_t i)
{
    PB_ASSERT(i < slots_count());
    return &types[i];
}

const struct slot_def *slots_find(const char *id)
{
    for (size_t i = 0; i < slots_count(); i++)
        if (strcmp(defs[i]->id, id) == 0)
            return defs[i];
    return NULL;
}
