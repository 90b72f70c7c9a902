/* registry.c: the catalogue of in-house single-step games (games.h): the built-in games,
 * then the slots decoded from the definitions embedded at build time (slots.h). */
#include <string.h>

#include "base/base.h"
#include "games/games.h"
#include "games/slots.h"

static const struct game_type *const builtin[] = {&dice_game, &roulette_game};

size_t games_count(void)
{
    return PB_ARRAY_LEN(builtin) + slots_count();
}

const struct game_type *games_at(size_t i)
{
    PB_ASSERT(i < games_count());
    if (i < PB_ARRAY_LEN(builtin))
        return builtin[i];
    return slots_game_at(i - PB_ARRAY_LEN(builtin));
}

const struct game_type *games_find(const char *id)
{
    for (size_t i = 0; i < games_count(); i++)
        if (strcmp(games_at(i)->id, id) == 0)
            return games_at(i);
    return NULL;
}

int game_variant_find(const struct game_type *game, const char *id)
{
    PB_ASSERT(game->nvariants >= 1 && game->nvariants <= GAME_VARIANTS_MAX);
    for (int i = 0; i < game->nvariants; i++)
        if (strcmp(game->variants[i].id, id) == 0)
            return i;
    return -1;
}

int game_variant_by_rtp(const struct game_type *game, int32_t rtp_ppm)
{
    PB_ASSERT(game->nvariants >= 1 && game->nvariants <= GAME_VARIANTS_MAX);
    for (int i = 0; i < game->nvariants; i++)
        if (game->variants[i].rtp_ppm == rtp_ppm)
            return i;
    return -1;
}
