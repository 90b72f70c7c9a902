/* fuzz_casino_play.c: libFuzzer target for the play request decoder (casino_play_decode and
 * casino_play_canonical, src/games/casino_http.h) against every game of the catalogue: any
 * input decodes or is refused with a named field; never a crash, leak or overread.
 * Properties: a decoded play has a known currency, a stake of at least one minor unit and a
 * bet the game's check_bet accepts; its canonical request is a JSON object that names the
 * game and the stake, and is the same text when computed again. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "games/casino_http.h"
#include "games/games.h"
#include "ledger/ledger.h"

static void check_game(const struct game_type *g, const char *text, size_t size)
{
    struct casino_play_body b;
    struct pb_json_error err;
    json_t *root = NULL;
    if (casino_play_decode(g, text, size, &b, &root, &err) != PB_OK) {
        PB_ASSERT(err.code != NULL && err.detail[0] != '\0');
        json_decref(root);
        return;
    }
    PB_ASSERT(ledger_currency_find(b.currency) != NULL && b.stake_minor >= 1);
    int64_t total = 0;
    struct pb_json_error again;
    PB_ASSERT(g->check_bet(b.bet, b.stake_minor, &total, &again) == PB_OK);
    PB_ASSERT(total >= b.stake_minor);
    char *canonical = casino_play_canonical(g, &b), *twice = casino_play_canonical(g, &b);
    PB_ASSERT(strcmp(canonical, twice) == 0);
    json_t *doc = json_loads(canonical, 0, NULL);
    PB_ASSERT(json_is_object(doc));
    PB_ASSERT(strcmp(json_string_value(json_object_get(doc, "game_id")), g->id) == 0);
    PB_ASSERT(json_integer_value(json_object_get(doc, "stake_minor")) == b.stake_minor);
    json_decref(doc);
    free(canonical);
    free(twice);
    json_decref(root);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = pb_malloc(size ? size : 1); /* exactly the input: an overread is reported */
    memcpy(text, data, size);
    for (size_t i = 0; i < games_count(); i++)
        check_game(games_at(i), text, size);
    pb_free(text);
    return 0;
}
