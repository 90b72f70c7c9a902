/* blackjack_http.h: the HTTP API of blackjack rounds (blackjack_round.h; docs/table-games.md
 * and docs/openapi.yaml).
 *
 *   POST /api/v1/blackjack/rounds                      player: deal a round (Idempotency-Key)
 *   POST /api/v1/blackjack/rounds/{round_id}/actions   player: {"action": "hit", "seq": 0}
 *
 * A round is read back with GET /api/v1/rounds/{round_id} (its detail is the player's view)
 * and listed by GET /api/v1/players/me/rounds. Threads: handlers and finish functions on HTTP
 * threads, commands on the writer thread. */
#ifndef PB_BLACKJACK_HTTP_H
#define PB_BLACKJACK_HTTP_H

#include <stddef.h>

#include "http/http.h"

/* An answer: the round with its view (4 hands of at most 22 cards, the dealer, the legal
 * actions: under 8 KiB) or a problem. */
#define BJ_HTTP_ANSWER_MAX (16 * 1024)

extern const struct http_route blackjack_routes[];
extern const size_t blackjack_routes_count;

#endif
