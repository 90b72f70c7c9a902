/* crash_http.h: the HTTP API of live crash (crash_live.h; docs/table-games.md, "Live crash",
 * and docs/openapi.yaml).
 *
 *   GET  /api/v1/crash/state                   public: phase, round, commitment, times
 *   POST /api/v1/crash/bets                    player: a bet (Idempotency-Key), body
 *        {"currency":"EUR","amount_minor":100,"auto_cashout":"2.00"}
 *   POST /api/v1/crash/bets/{bet_id}/cashout   player: cash out now (the server's time)
 *   GET  /api/v1/crash/rounds/{round_id}       public: a round, its hash once over
 *
 * A bet is a round of the round engine: GET /api/v1/rounds/{bet_id} shows it with the crash
 * point and hash once the round is over. Threads: handlers on HTTP threads, commands on the
 * writer thread. */
#ifndef PB_CRASH_HTTP_H
#define PB_CRASH_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "http/http.h"

#define CRASH_HTTP_ANSWER_MAX (8 * 1024) /* a bet with its round: under 2 KiB */

extern const struct http_route crash_routes[];
extern const size_t crash_routes_count;

/* Provided by the application (src/core/app.c): the live crash engine. */
struct crash_engine *app_crash(void *app);

/* Parses a multiplier "2", "2.5", "2.50" (at most two decimals) into hundredths. 0 or
 * PB_ERR_INVALID. */
int crash_http_parse_multiplier(const char *text, uint64_t *out);

#endif
