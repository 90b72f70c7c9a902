/* roulette.c: provably-fair European roulette, single zero (games.h, docs/games.md).
 *
 * pocket = floor(float * 37) from the first float of the fair stream (docs/fairness.md).
 * The bet document lists the spin's bets; each bet's amount is its chips times the play's
 * stake_minor (the chip value):
 *   {"bets": [{"kind": "straight", "numbers": [17], "chips": 2},
 *             {"kind": "split", "numbers": [17, 20], "chips": 1},
 *             {"kind": "dozen", "which": 2, "chips": 1},
 *             {"kind": "red", "chips": 5}]}
 * Inside bets (straight, split, street, corner, six_line) name their pockets in "numbers",
 * which must form that bet on the layout (splits side by side or one above the other, zero
 * with 1, 2 or 3; streets a row, or the trios 0-1-2 and 0-2-3; corners a square of four, or
 * 0-1-2-3; six lines two adjacent rows); column and dozen name "which" (1..3); the even-money
 * bets (red, black, odd, even, high, low) name nothing more. Zero loses every outside bet.
 * Each winning bet pays its amount times (pays-to-one + 1), in integers; every bet returns
 * 36/37 = 97.297% of its stakes. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "games/games.h"


struct kind_info {
    const char *name;
    int32_t pays;    /* to one */
    int32_t covers;  /* pockets */
    int32_t numbers; /* how many "numbers" an inside bet names; 0: outside bet */
    bool which;      /* column and dozen name "which" */
};

static const struct kind_info kinds[ROULETTE_KINDS] = {
    [ROULETTE_STRAIGHT] = {"straight", 35, 1, 1, false},
    [ROULETTE_SPLIT] = {"split", 17, 2, 2, false},
    [ROULETTE_STREET] = {"street", 11, 3, 3, false},
    [ROULETTE_CORNER] = {"corner", 8, 4, 4, false},
    [ROULETTE_SIX_LINE] = {"six_line", 5, 6, 6, false},
    [ROULETTE_COLUMN] = {"column", 2, 12, 0, true},
    [ROULETTE_DOZEN] = {"dozen", 2, 12, 0, true},
    [ROULETTE_RED] = {"red", 1, 18, 0, false},
    [ROULETTE_BLACK] = {"black", 1, 18, 0, false},
    [ROULETTE_ODD] = {"odd", 1, 18, 0, false},
    [ROULETTE_EVEN] = {"even", 1, 18, 0, false},
    [ROULETTE_HIGH] = {"high", 1, 18, 0, false},
    [ROULETTE_LOW] = {"low", 1, 18, 0, false},
};

const char *roulette_kind_name(enum roulette_kind k)
{
    PB_ASSERT(k >= 0 && k < ROULETTE_KINDS);
    return kinds[k].name;
}

int32_t roulette_pays(enum roulette_kind k)
{
    PB_ASSERT(k >= 0 && k < ROULETTE_KINDS);
    return kinds[k].pays;
}

int32_t roulette_covers(enum roulette_kind k)
{
    PB_ASSERT(k >= 0 && k < ROULETTE_KINDS);
    return kinds[k].covers;
}

bool roulette_is_red(int32_t pocket)
{
    static const uint64_t red = (1ull << 1) | (1ull << 3) | (1ull << 5) | (1ull << 7) |
                                (1ull << 9) | (1ull << 12) | (1ull << 14) | (1ull << 16) |
                                (1ull << 18) | (1ull << 19) | (1ull << 21) | (1ull << 23) |
                                (1ull << 25) | (1ull << 27) | (1ull << 30) | (1ull << 32) |
                                (1ull << 34) | (1ull << 36);
    PB_ASSERT(pocket >= 0 && pocket < ROULETTE_POCKETS);
    return (red >> pocket) & 1;
}

int32_t roulette_pocket(struct rng_fair *f)
{
    int32_t p = (int32_t)floor(rng_fair_float(f) * ROULETTE_POCKETS);
    PB_ASSERT(p >= 0 && p < ROULETTE_POCKETS);
    return p;
}

/* ---- table limits ---- */

/* The defaults, as one initializer so the limits in force need no lazy set-up (no race
 * between the first bets of two threads). */
#define LIMITS_DEFAULT                                                                         \
    {                                                                                          \
        .min_minor = {10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10},                     \
        .max_minor = {[ROULETTE_STRAIGHT] = 10000, [ROULETTE_SPLIT] = 20000,                   \
                      [ROULETTE_STREET] = 30000, [ROULETTE_CORNER] = 40000,                    \
                      [ROULETTE_SIX_LINE] = 60000, [ROULETTE_COLUMN] = 200000,                 \
                      [ROULETTE_DOZEN] = 200000, [ROULETTE_RED] = 500000,                      \
                      [ROULETTE_BLACK] = 500000, [ROULETTE_ODD] = 500000,                      \
                      [ROULETTE_EVEN] = 500000, [ROULETTE_HIGH] = 500000,                      \
                      [ROULETTE_LOW] = 500000},                                                \
        .max_total_minor = 2000000,                                                            \
    }
_Static_assert(ROULETTE_KINDS == 13, "LIMITS_DEFAULT lists a minimum per kind");

static struct roulette_limits limits = LIMITS_DEFAULT;

void roulette_limits_default(struct roulette_limits *out)
{
    *out = (struct roulette_limits)LIMITS_DEFAULT;
}

static bool roulette_set_limits_check(const struct roulette_limits *l)
{
    for (int k = 0; k < ROULETTE_KINDS; k++)
        if (l->min_minor[k] < 1 || l->min_minor[k] > l->max_minor[k] ||
            l->max_minor[k] > ROULETTE_LIMIT_MINOR_MAX)
            return false;
    return l->max_total_minor >= 1 && l->max_total_minor <= ROULETTE_LIMIT_MINOR_MAX;
}

int roulette_set_limits(const struct roulette_limits *l)
{
    if (!roulette_set_limits_check(l))
        return PB_ERR_INVALID;
    limits = *l;
    return PB_OK;
}

static const struct roulette_limits *current_limits(void)
{
    return &limits;
}

void roulette_limits_get(struct roulette_limits *out)
{
    *out = *current_limits();
}

static int limit_fail(struct pb_json_error *err, const char *field, const char *detail)
{
    err->code = "out_of_range";
    pb_strlcpy(err->field, field, sizeof(err->field));
    pb_strlcpy(err->detail, detail, sizeof(err->detail));
    return PB_ERR_INVALID;
}

/* An integer of doc at name, 1 .. ROULETTE_LIMIT_MINOR_MAX, into *out (kept when absent). */
static int limit_int(const json_t *doc, const char *name, const char *field, int64_t *out,
                     struct pb_json_error *err)
{
    const json_t *v = json_object_get(doc, name);
    if (!v)
        return PB_OK;
    if (!json_is_integer(v) || json_integer_value(v) < 1 ||
        json_integer_value(v) > ROULETTE_LIMIT_MINOR_MAX)
        return limit_fail(err, field, "must be an integer from 1 to 10^15 (minor units)");
    *out = (int64_t)json_integer_value(v);
    return PB_OK;
}

int roulette_limits_decode(const json_t *doc, struct roulette_limits *out,
                           struct pb_json_error *err)
{
    memset(err, 0, sizeof(*err));
    roulette_limits_default(out);
    if (!json_is_object(doc))
        return limit_fail(err, "", "must be an object");
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)doc, key, v) {
        if (strcmp(key, "max_total_minor") != 0 && strcmp(key, "bets") != 0) {
            limit_fail(err, key, "is not a table limit (max_total_minor, bets)");
            err->code = "unknown_field";
            return PB_ERR_INVALID;
        }
    }
    if (limit_int(doc, "max_total_minor", "max_total_minor", &out->max_total_minor, err) !=
        PB_OK)
        return PB_ERR_INVALID;
    const json_t *bets = json_object_get(doc, "bets");
    if (bets && !json_is_object(bets))
        return limit_fail(err, "bets", "must be an object of bet kinds");
    json_object_foreach((json_t *)bets, key, v) {
        char field[64];
        int k = 0;
        while (k < ROULETTE_KINDS && strcmp(kinds[k].name, key) != 0)
            k++;
        snprintf(field, sizeof(field), "bets.%.40s", key);
        if (k == ROULETTE_KINDS) {
            limit_fail(err, field, "is not a bet kind");
            err->code = "unknown_field";
            return PB_ERR_INVALID;
        }
        if (!json_is_object(v))
            return limit_fail(err, field, "must be {\"min_minor\": N, \"max_minor\": N}");
        const char *name;
        json_t *x;
        json_object_foreach(v, name, x) {
            if (strcmp(name, "min_minor") != 0 && strcmp(name, "max_minor") != 0) {
                snprintf(field, sizeof(field), "bets.%s.%.16s", kinds[k].name, name);
                limit_fail(err, field, "is not a limit (min_minor, max_minor)");
                err->code = "unknown_field";
                return PB_ERR_INVALID;
            }
        }
        char max_field[64];
        snprintf(field, sizeof(field), "bets.%s.min_minor", kinds[k].name);
        snprintf(max_field, sizeof(max_field), "bets.%s.max_minor", kinds[k].name);
        if (limit_int(v, "min_minor", field, &out->min_minor[k], err) != PB_OK ||
            limit_int(v, "max_minor", max_field, &out->max_minor[k], err) != PB_OK)
            return PB_ERR_INVALID;
        if (out->min_minor[k] > out->max_minor[k])
            return limit_fail(err, field, "must not exceed the kind's max_minor");
    }
    PB_ASSERT(roulette_set_limits_check(out));
    return PB_OK;
}

json_t *roulette_limits_json(const struct roulette_limits *l)
{
    json_t *bets = json_object();
    for (int k = 0; k < ROULETTE_KINDS; k++)
        json_object_set_new(bets, kinds[k].name,
                            json_pack("{s:I,s:I}", "min_minor", (json_int_t)l->min_minor[k],
                                      "max_minor", (json_int_t)l->max_minor[k]));
    json_t *doc = json_pack("{s:I,s:o}", "max_total_minor", (json_int_t)l->max_total_minor,
                            "bets", bets);
    PB_ASSERT(doc != NULL);
    return doc;
}

/* ---- bets ---- */

struct decoded_bet {
    enum roulette_kind kind;
    uint64_t mask; /* bit p: the bet wins on pocket p */
    int64_t amount_minor;
};

static int bet_fail(struct pb_json_error *err, const char *code, const char *field,
                    const char *detail)
{
    err->code = code;
    pb_strlcpy(err->field, field, sizeof(err->field));
    pb_strlcpy(err->detail, detail, sizeof(err->detail));
    return PB_ERR_INVALID;
}

static int cmp_int(const void *a, const void *b)
{
    return *(const int *)a - *(const int *)b;
}

static bool same(const int *n, const int *want, int count)
{
    return memcmp(n, want, sizeof(int) * (size_t)count) == 0;
}

/* Whether the sorted pockets n[0..count) form a bet of kind k on the layout. */
static bool layout_ok(enum roulette_kind k, const int *n)
{
    int a = n[0];
    switch (k) {
    case ROULETTE_STRAIGHT:
        return true;
    case ROULETTE_SPLIT:
        if (a == 0)
            return n[1] >= 1 && n[1] <= 3;
        return (n[1] == a + 1 && a % 3 != 0) || n[1] == a + 3;
    case ROULETTE_STREET: {
        static const int trio1[] = {0, 1, 2}, trio2[] = {0, 2, 3};
        if (same(n, trio1, 3) || same(n, trio2, 3))
            return true;
        return a % 3 == 1 && n[1] == a + 1 && n[2] == a + 2;
    }
    case ROULETTE_CORNER: {
        static const int first_four[] = {0, 1, 2, 3};
        if (same(n, first_four, 4))
            return true;
        return a >= 1 && a % 3 != 0 && n[1] == a + 1 && n[2] == a + 3 && n[3] == a + 4;
    }
    case ROULETTE_SIX_LINE:
        if (a % 3 != 1 || a > 31)
            return false;
        for (int i = 1; i < 6; i++)
            if (n[i] != a + i)
                return false;
        return true;
    default:
        PB_ASSERT(!"not an inside bet");
    }
    return false;
}

static uint64_t outside_mask(enum roulette_kind k, int which)
{
    uint64_t m = 0;
    for (int p = 1; p < ROULETTE_POCKETS; p++) {
        bool in = false;
        switch (k) {
        case ROULETTE_COLUMN: in = (p - 1) % 3 == which - 1; break;
        case ROULETTE_DOZEN: in = (p - 1) / 12 == which - 1; break;
        case ROULETTE_RED: in = roulette_is_red(p); break;
        case ROULETTE_BLACK: in = !roulette_is_red(p); break;
        case ROULETTE_ODD: in = p % 2 == 1; break;
        case ROULETTE_EVEN: in = p % 2 == 0; break;
        case ROULETTE_HIGH: in = p >= 19; break;
        case ROULETTE_LOW: in = p <= 18; break;
        default: PB_ASSERT(!"not an outside bet");
        }
        if (in)
            m |= 1ull << p;
    }
    return m;
}

struct bet_fields {
    const char *kind;
    int64_t chips, which;
    const json_t *numbers;
    bool has_which;
};

/* Decodes bet element v (bets[i]) for a chip value of stake_minor into *out. */
static int decode_bet(const json_t *v, size_t i, int64_t stake_minor, struct decoded_bet *out,
                      struct pb_json_error *err)
{
    char prefix[48], field[PB_JSON_FIELD_PATH_MAX];
    snprintf(prefix, sizeof(prefix), "bets[%zu]", i);
    if (!json_is_object(v))
        return bet_fail(err, "wrong_type", prefix, "each bet must be an object");
    struct pb_json_field fields[] = {
        PB_JSON_STR(struct bet_fields, kind, PB_JSON_REQUIRED, 1, 16),
        PB_JSON_INT(struct bet_fields, chips, PB_JSON_REQUIRED, 1, ROULETTE_CHIPS_MAX),
        PB_JSON_ARR(struct bet_fields, numbers, PB_JSON_OPTIONAL),
        PB_JSON_INT(struct bet_fields, which, PB_JSON_OPTIONAL, 1, 3),
    };
    fields[3].present = offsetof(struct bet_fields, has_which);
    struct bet_fields b = {0};
    if (pb_json_decode(v, prefix, fields, PB_ARRAY_LEN(fields), &b, err) != PB_OK)
        return PB_ERR_INVALID;
    int k = 0;
    while (k < ROULETTE_KINDS && strcmp(kinds[k].name, b.kind) != 0)
        k++;
    snprintf(field, sizeof(field), "%s.kind", prefix);
    if (k == ROULETTE_KINDS)
        return bet_fail(err, "out_of_range", field,
                        "must be straight, split, street, corner, six_line, column, dozen,"
                        " red, black, odd, even, high or low");
    const struct kind_info *ki = &kinds[k];
    out->kind = (enum roulette_kind)k;
    snprintf(field, sizeof(field), "%s.numbers", prefix);
    if (ki->numbers > 0) {
        if (!b.numbers)
            return bet_fail(err, "missing_field", field, "an inside bet names its numbers");
        if (json_array_size(b.numbers) != (size_t)ki->numbers)
            return bet_fail(err, "invalid_bet", field,
                            "has the wrong count of numbers for this kind of bet");
        int n[6];
        for (int j = 0; j < ki->numbers; j++) {
            const json_t *x = json_array_get(b.numbers, (size_t)j);
            if (!json_is_integer(x))
                return bet_fail(err, "wrong_type", field, "numbers must be integers");
            json_int_t p = json_integer_value(x);
            if (p < 0 || p >= ROULETTE_POCKETS)
                return bet_fail(err, "out_of_range", field, "numbers must be 0 .. 36");
            n[j] = (int)p;
        }
        qsort(n, (size_t)ki->numbers, sizeof(int), cmp_int);
        for (int j = 1; j < ki->numbers; j++)
            if (n[j] == n[j - 1])
                return bet_fail(err, "invalid_bet", field, "numbers must differ");
        if (!layout_ok(out->kind, n))
            return bet_fail(err, "invalid_bet", field,
                            "these numbers do not form this bet on the layout");
        out->mask = 0;
        for (int j = 0; j < ki->numbers; j++)
            out->mask |= 1ull << n[j];
    } else if (b.numbers) {
        return bet_fail(err, "unknown_field", field, "only inside bets name numbers");
    }
    snprintf(field, sizeof(field), "%s.which", prefix);
    if (ki->which && !b.has_which)
        return bet_fail(err, "missing_field", field, "column and dozen bets name which (1..3)");
    if (!ki->which && b.has_which)
        return bet_fail(err, "unknown_field", field, "only column and dozen bets name which");
    if (ki->numbers == 0)
        out->mask = outside_mask(out->kind, ki->which ? (int)b.which : 0);
    PB_ASSERT(__builtin_popcountll(out->mask) == ki->covers);
    snprintf(field, sizeof(field), "%s.chips", prefix);
    const struct roulette_limits *l = current_limits();
    if (__builtin_mul_overflow(b.chips, stake_minor, &out->amount_minor) ||
        out->amount_minor > l->max_minor[k])
        return bet_fail(err, "above_table_limit", field,
                        "the bet is above the table's maximum for its kind");
    if (out->amount_minor < l->min_minor[k])
        return bet_fail(err, "below_table_limit", field,
                        "the bet is below the table's minimum for its kind");
    return PB_OK;
}

/* Decodes the whole bet document into bets[*n] and the total. */
static int decode_bets(const json_t *bet, int64_t stake_minor,
                       struct decoded_bet bets[ROULETTE_BETS_MAX], size_t *n, int64_t *total,
                       struct pb_json_error *err)
{
    if (!bet || !json_is_object(bet))
        return bet_fail(err, "wrong_type", "", "the bet must be an object with bets");
    if (stake_minor < 1)
        return bet_fail(err, "out_of_range", "", "the chip value must be at least 1 minor unit");
    struct {
        const json_t *bets;
    } doc = {0};
    static const struct pb_json_field fields[] = {
        {"bets", PB_JSON_KIND_ARRAY, PB_JSON_REQUIRED, 0, SIZE_MAX, 0, 0},
    };
    if (pb_json_decode(bet, "", fields, PB_ARRAY_LEN(fields), &doc, err) != PB_OK)
        return PB_ERR_INVALID;
    size_t count = json_array_size(doc.bets);
    if (count == 0)
        return bet_fail(err, "invalid_bet", "bets", "at least one bet is needed");
    if (count > ROULETTE_BETS_MAX)
        return bet_fail(err, "too_many_bets", "bets", "at most " PB_STR(ROULETTE_BETS_MAX)
                        " bets per spin");
    *total = 0;
    for (size_t i = 0; i < count; i++) {
        if (decode_bet(json_array_get(doc.bets, i), i, stake_minor, &bets[i], err) != PB_OK)
            return PB_ERR_INVALID;
        if (__builtin_add_overflow(*total, bets[i].amount_minor, total) ||
            *total > current_limits()->max_total_minor)
            return bet_fail(err, "above_table_limit", "bets",
                            "the bets add up to more than the table's maximum per spin");
    }
    *n = count;
    return PB_OK;
}

static int roulette_check_bet(const json_t *bet, int64_t stake_minor,
                              int64_t *total_stake_minor, struct pb_json_error *err)
{
    struct decoded_bet bets[ROULETTE_BETS_MAX];
    size_t n;
    int64_t total;
    if (decode_bets(bet, stake_minor, bets, &n, &total, err) != PB_OK)
        return PB_ERR_INVALID;
    /* the largest possible payout must fit: every bet winning at its pays */
    int64_t most = 0;
    for (size_t i = 0; i < n; i++) {
        int64_t p;
        if (__builtin_mul_overflow(bets[i].amount_minor, kinds[bets[i].kind].pays + 1, &p) ||
            __builtin_add_overflow(most, p, &most))
            return bet_fail(err, "stake_too_large", "bets", "the payout could overflow");
    }
    *total_stake_minor = total;
    return PB_OK;
}

static void roulette_play(const json_t *bet, int variant, int64_t stake_minor,
                          struct game_draw *draw, struct game_result *result)
{
    PB_ASSERT(variant == 0);
    PB_ASSERT(draw->fair && !draw->rng);
    struct decoded_bet bets[ROULETTE_BETS_MAX];
    size_t n;
    int64_t total, payout = 0;
    struct pb_json_error err;
    PB_ASSERT(decode_bets(bet, stake_minor, bets, &n, &total, &err) == PB_OK); /* checked */
    int32_t pocket = roulette_pocket(draw->fair);
    json_t *list = json_array();
    for (size_t i = 0; i < n; i++) {
        int64_t pays = 0;
        if ((bets[i].mask >> pocket) & 1) {
            PB_ASSERT(!__builtin_mul_overflow(bets[i].amount_minor,
                                              kinds[bets[i].kind].pays + 1, &pays));
            PB_ASSERT(!__builtin_add_overflow(payout, pays, &payout));
        }
        json_array_append_new(list, json_pack("{s:s, s:I, s:I}", "kind",
                                              kinds[bets[i].kind].name, "amount_minor",
                                              (json_int_t)bets[i].amount_minor, "payout_minor",
                                              (json_int_t)pays));
    }
    result->payout_minor = payout;
    const char *color = pocket == 0 ? "green" : roulette_is_red(pocket) ? "red" : "black";
    result->outcome = json_pack("{s:i, s:s, s:o}", "pocket", (int)pocket, "color", color,
                                "bets", list);
    PB_ASSERT(result->outcome);
}

const struct game_type roulette_game = {
    .id = "roulette",
    .name = "European Roulette",
    .kind = "roulette",
    .provably_fair = true,
    .nvariants = 1,
    .variants = {{"standard", 972973}}, /* 36/37 */
    .check_bet = roulette_check_bet,
    .play = roulette_play,
};
