/* game.c: what the games share (game.h). */
#include "games/game.h"

#include <stdio.h>

#include "base/base.h"

int game_check_stake_only(const struct game_stake_only *rule, const json_t *bet,
                          int64_t stake_minor, int64_t *total_stake_minor,
                          struct pb_json_error *err)
{
    if (bet != NULL || stake_minor < 1 || stake_minor > rule->stake_max) {
        err->code = "out_of_range";
        snprintf(err->field, sizeof(err->field), "%s", bet ? "bet" : rule->stake_field);
        snprintf(err->detail, sizeof(err->detail), "%s",
                 bet ? rule->bet_detail : rule->stake_detail);
        return PB_ERR_INVALID;
    }
    *total_stake_minor = stake_minor;
    return PB_OK;
}
