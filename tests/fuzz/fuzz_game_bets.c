/* fuzz_game_bets.c: libFuzzer target for the bet decoders of every catalogue game. Byte 0
 * picks the game, byte 1 the stake (1 .. 255, or a huge one when byte 1 is 0), the rest is
 * the bet JSON. Any bet is either refused with a code or plays to a payout that is not
 * negative, with an outcome. */
#include <stdint.h>
#include <string.h>

#include "base/base.h"
#include "games/games.h"

static const char *const server_seed =
    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    const struct game_type *g = games_at(data[0] % games_count());
    int64_t stake = data[1] ? data[1] : INT64_MAX / 3;
    json_t *bet = NULL;
    struct pb_json_error err;
    memset(&err, 0, sizeof(err));
    if (pb_json_parse((const char *)data + 2, size - 2, false, &bet, &err) != PB_OK)
        return 0;
    int64_t total = -1;
    if (g->check_bet(bet, stake, &total, &err) != PB_OK) {
        PB_ASSERT(err.code && err.detail[0] != '\0' && total == -1);
        json_decref(bet);
        return 0;
    }
    PB_ASSERT(total >= stake);
    struct rng r;
    struct rng_fair f;
    struct game_draw draw = {0};
    if (g->provably_fair) {
        PB_ASSERT(rng_fair_init(&f, server_seed, "fuzz", size) == PB_OK);
        draw.fair = &f;
    } else {
        rng_init_seeded(&r, size);
        draw.rng = &r;
    }
    struct game_result res = {0};
    g->play(bet, 0, stake, &draw, &res);
    PB_ASSERT(res.payout_minor >= 0 && res.outcome != NULL);
    json_decref(res.outcome);
    json_decref(bet);
    return 0;
}
