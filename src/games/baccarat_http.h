/* baccarat_http.h: the HTTP API of baccarat rounds (baccarat_round.h; docs/table-games.md and
 * docs/openapi.yaml).
 *
 *   POST /api/v1/baccarat/rounds   player: one coup (Idempotency-Key), body
 *     {"currency":"EUR","table":1,"variant":"commission","player_minor":100,"banker_minor":0,
 *      "tie_minor":0,"player_pair_minor":0,"banker_pair_minor":0}
 *
 * The round is read back with GET /api/v1/rounds/{round_id} (cards, hands, bets, payouts) and
 * listed by GET /api/v1/players/me/rounds. Threads: handlers and finish on HTTP threads, the
 * command on the writer thread. */
#ifndef PB_BACCARAT_HTTP_H
#define PB_BACCARAT_HTTP_H

#include <stddef.h>

#include "http/http.h"

#define BACCARAT_HTTP_ANSWER_MAX (8 * 1024) /* a round with six cards: under 2 KiB */

extern const struct http_route baccarat_routes[];
extern const size_t baccarat_routes_count;

#endif
