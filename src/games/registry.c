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
