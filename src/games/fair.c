/* fair.c: the provably-fair verifiers, one per game (games.h, docs/fairness.md). Each draws
 * its game's outcome from the stream exactly as the game's play does. */
#include <string.h>

#include "base/base.h"
#include "games/games.h"

static json_t *dice_outcome(struct rng_fair *f)
{
    int32_t roll = dice_roll(f);
    char text[32];
    games_format_fixed(roll, 2, text, sizeof(text));
    json_t *o = json_pack("{s:s, s:i}", "roll", text, "roll_hundredths", (int)roll);
    PB_ASSERT(o);
    return o;
}

static json_t *roulette_outcome(struct rng_fair *f)
{
    int32_t pocket = roulette_pocket(f);
    const char *color = pocket == 0 ? "green" : roulette_is_red(pocket) ? "red" : "black";
    json_t *o = json_pack("{s:i, s:s}", "pocket", (int)pocket, "color", color);
    PB_ASSERT(o);
    return o;
}

static const struct fair_verifier verifiers[] = {
    {"dice", dice_outcome},
    {"roulette", roulette_outcome},
};

size_t fair_verifier_count(void)
{
    return PB_ARRAY_LEN(verifiers);
}

const struct fair_verifier *fair_verifier_at(size_t i)
{
    PB_ASSERT(i < fair_verifier_count());
    return &verifiers[i];
}

const struct fair_verifier *fair_verifier_find(const char *game_id)
{
    for (size_t i = 0; i < fair_verifier_count(); i++)
        if (strcmp(verifiers[i].game_id, game_id) == 0)
            return &verifiers[i];
    return NULL;
}
