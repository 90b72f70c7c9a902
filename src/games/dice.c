/* dice.c: provably-fair dice, roll over or under a target (games.h, docs/games.md).
 *
 * The roll is floor(float * 10001) / 100, 0.00 .. 100.00, from the first float of the fair
 * stream (docs/fairness.md). A bet names a target in hundredths and a direction; its win
 * chance in hundredths of a percent is the number of rolls that win except that "over"
 * counts from the target up to 10000: under T wins on T rolls (0 .. T-1), over T wins on
 * 10000 - T rolls (T+1 .. 10000), out of 10001. The multiplier is 99 / chance (percent), so
 * the return is 0.99 * 10000 / 10001 = 98.990% for every target, before payouts are rounded
 * down to the minor unit. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/base.h"
#include "games/games.h"

void games_format_fixed(int64_t value, int decimals, char *out, size_t len)
{
    PB_ASSERT(decimals >= 0 && decimals <= 9);
    int64_t scale = 1;
    for (int i = 0; i < decimals; i++)
        scale *= 10;
    const char *sign = value < 0 ? "-" : "";
    uint64_t v = value < 0 ? -(uint64_t)value : (uint64_t)value;
    if (decimals == 0)
        snprintf(out, len, "%s%llu", sign, (unsigned long long)v);
    else
        snprintf(out, len, "%s%llu.%0*llu", sign, (unsigned long long)(v / (uint64_t)scale),
                 decimals, (unsigned long long)(v % (uint64_t)scale));
}

int32_t dice_roll(struct rng_fair *f)
{
    int32_t roll = (int32_t)floor(rng_fair_float(f) * DICE_ROLL_OUTCOMES);
    PB_ASSERT(roll >= 0 && roll < DICE_ROLL_OUTCOMES);
    return roll;
}

int dice_payout(int64_t stake_minor, int32_t chance, int64_t *payout_minor)
{
    PB_ASSERT(chance >= DICE_CHANCE_MIN && chance <= DICE_CHANCE_MAX && stake_minor >= 0);
    int64_t product;
    if (__builtin_mul_overflow(stake_minor, (int64_t)DICE_MULTIPLIER_NUM, &product))
        return PB_ERR_INVALID;
    *payout_minor = product / chance; /* non-negative: division rounds down */
    PB_ASSERT(*payout_minor >= stake_minor);
    return PB_OK;
}

void dice_figures(int32_t chance, struct game_figures *out)
{
    PB_ASSERT(chance >= DICE_CHANCE_MIN && chance <= DICE_CHANCE_MAX);
    double p = (double)chance / DICE_ROLL_OUTCOMES;
    double m = (double)DICE_MULTIPLIER_NUM / chance;
    out->rtp = p * m;
    out->hit_frequency = p;
    out->sd = sqrt(p * m * m - out->rtp * out->rtp);
}

struct dice_bet {
    int64_t target;
    const char *direction;
};

static const struct pb_json_field dice_fields[] = {
    PB_JSON_INT(struct dice_bet, target, PB_JSON_REQUIRED, 0, DICE_ROLL_OUTCOMES - 1),
    PB_JSON_STR(struct dice_bet, direction, PB_JSON_REQUIRED, 4, 5),
};

static int bet_fail(struct pb_json_error *err, const char *code, const char *field,
                    const char *detail)
{
    err->code = code;
    pb_strlcpy(err->field, field, sizeof(err->field));
    pb_strlcpy(err->detail, detail, sizeof(err->detail));
    return PB_ERR_INVALID;
}

/* Decodes a dice bet: *under and *chance. */
static int dice_decode(const json_t *bet, bool *under, int32_t *chance, int64_t *target,
                       struct pb_json_error *err)
{
    if (!bet || !json_is_object(bet))
        return bet_fail(err, "wrong_type", "", "the bet must be an object with target and"
                                               " direction");
    struct dice_bet b = {0};
    if (pb_json_decode(bet, "", dice_fields, PB_ARRAY_LEN(dice_fields), &b, err) != PB_OK)
        return PB_ERR_INVALID;
    if (strcmp(b.direction, "under") == 0)
        *under = true;
    else if (strcmp(b.direction, "over") == 0)
        *under = false;
    else
        return bet_fail(err, "out_of_range", "direction", "must be \"under\" or \"over\"");
    int64_t c = *under ? b.target : 10000 - b.target;
    if (c < DICE_CHANCE_MIN || c > DICE_CHANCE_MAX)
        return bet_fail(err, "out_of_range", "target",
                        "gives a win chance outside 0.01% .. 98% (under: target 1 .. 9800;"
                        " over: target 200 .. 9999, in hundredths)");
    *chance = (int32_t)c;
    *target = b.target;
    return PB_OK;
}

static int dice_check_bet(const json_t *bet, int64_t stake_minor, int64_t *total_stake_minor,
                          struct pb_json_error *err)
{
    bool under;
    int32_t chance;
    int64_t target, payout;
    if (dice_decode(bet, &under, &chance, &target, err) != PB_OK)
        return PB_ERR_INVALID;
    if (stake_minor < 1)
        return bet_fail(err, "out_of_range", "", "the stake must be at least 1 minor unit");
    if (dice_payout(stake_minor, chance, &payout) != PB_OK)
        return bet_fail(err, "stake_too_large", "", "the stake is too large for this chance");
    *total_stake_minor = stake_minor;
    return PB_OK;
}

static void dice_play(const json_t *bet, int variant, int64_t stake_minor,
                      struct game_draw *draw, struct game_result *result)
{
    PB_ASSERT(variant == 0);
    PB_ASSERT(draw->fair && !draw->rng);
    bool under;
    int32_t chance;
    int64_t target, payout = 0;
    struct pb_json_error err;
    PB_ASSERT(dice_decode(bet, &under, &chance, &target, &err) == PB_OK); /* checked */
    int32_t roll = dice_roll(draw->fair);
    bool win = under ? roll < target : roll > target;
    if (win)
        PB_ASSERT(dice_payout(stake_minor, chance, &payout) == PB_OK);
    char roll_text[32], multiplier[32], chance_text[32];
    games_format_fixed(roll, 2, roll_text, sizeof(roll_text));
    games_format_fixed(DICE_MULTIPLIER_NUM * 10000LL / chance, 4, multiplier,
                       sizeof(multiplier));
    games_format_fixed(chance, 2, chance_text, sizeof(chance_text));
    result->payout_minor = payout;
    result->outcome = json_pack("{s:s, s:i, s:I, s:s, s:s, s:s, s:b}", "roll", roll_text,
                                "roll_hundredths", (int)roll, "target", (json_int_t)target,
                                "direction", under ? "under" : "over", "chance", chance_text,
                                "multiplier", multiplier, "win", (int)win);
    PB_ASSERT(result->outcome);
}

const struct game_type dice_game = {
    .id = "dice",
    .name = "Dice",
    .kind = "dice",
    .provably_fair = true,
    .nvariants = 1, /* 0.99 * 10000 / 10001, before rounding payouts down */
    .variants = {{"standard", 989901}},
    .check_bet = dice_check_bet,
    .play = dice_play,
};
