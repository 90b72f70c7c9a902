/* casino_http.h: the casino's HTTP API (in-house games, rounds, provably-fair seeds, game
 * configuration) and the WebSocket push of settled rounds. Documented in docs/casino.md and
 * docs/openapi.yaml.
 *
 *   GET  /api/v1/games                           the catalogue (public)
 *   POST /api/v1/games/{game_id}/play            player: one round (Idempotency-Key)
 *   GET  /api/v1/rounds/{round_id}               player (own rounds) or staff (ledger.read)
 *   GET  /api/v1/players/me/rounds               player: recall, newest first (50)
 *   GET  /api/v1/fair/seeds                      player: commitment, client seed, nonce
 *   POST /api/v1/fair/seeds                      player: set the client seed
 *   POST /api/v1/fair/seeds/rotate               player: reveal the server seed, new pair
 *   GET  /api/v1/admin/games/{game_id}/config    staff (games.manage)
 *   PUT  /api/v1/admin/games/{game_id}/config    staff (games.manage), audited
 *   GET  /api/v1/admin/reports/casino-daily      staff (ledger.read): closed rounds per UTC day
 *
 * Threads: handlers and finish functions on HTTP threads, commands on the writer thread,
 * casino_http_on_event on the event relay thread. */
#ifndef PB_CASINO_HTTP_H
#define PB_CASINO_HTTP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/json.h"
#include "core/outbox.h"
#include "games/game.h"
#include "games/rounds.h"
#include "http/http.h"
#include "ledger/ledger.h"

#define CASINO_HTTP_IDEM_KEY_MAX 128     /* Idempotency-Key: 1..128 of [A-Za-z0-9._:-] */
#define CASINO_HTTP_ANSWER_MAX (64 * 1024) /* a play's answer: the round with its detail
                                            * and the balance (200k simulated slot rounds:
                                            * 11 KiB at most); a longer one is answered
                                            * without the detail ("detail_omitted": true),
                                            * which GET /rounds/{id} gives */
#define CASINO_HTTP_READER_WAIT_MS 1000  /* wait for a reader connection, then 503 */
#define CASINO_HTTP_REASON_MIN 3         /* a configuration change's reason, bytes */
#define CASINO_HTTP_REASON_MAX 500

extern const struct http_route casino_routes[];
extern const size_t casino_routes_count;

/* A decoded play request body:
 *   {"currency": "EUR", "stake_minor": 100 | "stake": "1.00", "bet": {...},
 *    "autoplay": false, "turbo": false}
 * exactly one of stake_minor (integer minor units, >= 1) and stake (a decimal string in the
 * currency's exponent); bet is the game's bet object (required when the game takes one). */
struct casino_play_body {
    const char *currency;
    int64_t stake_minor;
    const json_t *bet; /* borrowed from the root document */
    bool autoplay, turbo;
};

/* Decodes and checks body (len bytes) for game: JSON, fields, currency, stake, and the
 * game's check_bet. Returns 0 with *out (strings borrow from *root, which the caller
 * decrefs either way), or PB_ERR_INVALID with err's field naming the offending field
 * ("stake_minor", "bet.target"). Pure: no database. */
int casino_play_decode(const struct game_type *game, const char *body, size_t len,
                       struct casino_play_body *out, json_t **root, struct pb_json_error *err);
/* The canonical request of a decoded play for idempotency: a flat object, one key per field
 * ("bet.target"), sorted (caller frees with free()). */
char *casino_play_canonical(const struct game_type *game, const struct casino_play_body *b);

/* Outbox subscriber: each "round.settled" event becomes one WebSocket message on topic
 * "player:<id>": {"kind":"round","player_id":"..","round":{...as GET /rounds/{id}...}}. */
void casino_http_on_event(const struct pb_event *ev, void *app);

#endif
