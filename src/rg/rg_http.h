/* rg_http.h: the responsible-gaming routes and the WebSocket push of RG events. API in
 * docs/openapi.yaml, rules in docs/rg.md.
 *
 * Player (session):
 *   GET  /api/v1/rg/status                      exclusion, marketing, prompt, rule set
 *   GET  /api/v1/rg/limits                      limits, pending changes, usage, remaining
 *   PUT  /api/v1/rg/limits/{kind}/{window}      set: {"currency","amount"} or {"seconds"}
 *   DELETE /api/v1/rg/limits/{kind}/{window}    remove (after the cooling period); ?currency=
 *   POST /api/v1/rg/time-out                    {"hours"}
 *   POST /api/v1/rg/self-exclusion              {"months"} or {"permanent": true}
 *   POST /api/v1/rg/deposit-limit-prompt/decline
 *   GET  /api/v1/rg/reality-check               elapsed time and net position this session
 *   PUT  /api/v1/rg/reality-check               {"interval_minutes"}
 *   POST /api/v1/rg/reality-check/ack           {"action": "continue" | "stop"}
 * Staff:
 *   GET  /api/v1/admin/players/{player_id}/rg   (players.read)
 *   PUT  /api/v1/admin/players/{player_id}/rg/limits/{kind}/{window}  (players.block;
 *        {"currency","amount"|"seconds","reason"}; audited)
 *   POST /api/v1/admin/players/{player_id}/rg/exclusion  (players.block; {"kind","hours"|
 *        "months"|"permanent","reason"}; audited)
 *
 * Threads: handlers on HTTP threads, commands on the writer, rg_http_on_event on the relay. */
#ifndef PB_RG_HTTP_H
#define PB_RG_HTTP_H

#include <stddef.h>

#include "core/outbox.h"
#include "http/http.h"

struct rg;

extern const struct http_route rg_routes[];
extern const size_t rg_routes_count;

/* Outbox subscriber: every "rg.*" event whose subject is "player:<id>" goes to that player's
 * WebSocket topic as {"kind": "<event type>", ...event data}. */
void rg_http_on_event(const struct pb_event *ev, void *app);

/* Provided by the application (src/core/app.c). */
struct rg *app_rg(void *app);

#endif
