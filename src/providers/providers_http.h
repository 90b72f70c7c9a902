/* providers_http.h: the provider routes (docs/providers.md; schemas in docs/openapi.yaml).
 *
 *   POST  /api/v1/admin/providers                               providers.manage (audited)
 *   GET   /api/v1/admin/providers                               providers.manage
 *   PATCH /api/v1/admin/providers/{provider}                    providers.manage (audited)
 *   POST  /api/v1/admin/providers/{provider}/secret             rotate (audited)
 *   PUT   /api/v1/admin/providers/{provider}/games/{external_id} catalog entry (audited)
 *   GET   /api/v1/admin/catalog                                 every game, disabled too
 *   GET   /api/v1/catalog                                       the player's (or brand's)
 *   POST  /api/v1/catalog/{game_id}/launch                      player session
 *   POST  /api/v1/providers/{provider}/wallet/{operation}       generic protocol, signed
 *   POST  /api/v1/providers/{provider}/alt                      alt protocol, signed
 *
 * Threads: handlers and finish functions on HTTP threads, commands on the writer. */
#ifndef PB_PROVIDERS_HTTP_H
#define PB_PROVIDERS_HTTP_H

#include <stddef.h>

#include "http/http.h"
#include "providers/providers.h"

#define PROVIDERS_PERMISSION "providers.manage"
#define PROVIDERS_TIMESTAMP_HEADER "X-Provider-Timestamp"  /* unix seconds */
#define PROVIDERS_SIGNATURE_HEADER "X-Provider-Signature"  /* hex HMAC-SHA256 */
#define PROVIDERS_LIST_MAX 256 /* providers listed by GET /admin/providers */

extern const struct http_route providers_routes[];
extern const size_t providers_routes_count;

#endif
