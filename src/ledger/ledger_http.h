/* ledger_http.h: the ledger's HTTP API (staff routes) and the WebSocket push of balances.
 * The API is documented in docs/openapi.yaml and docs/ledger.md ("HTTP API").
 *
 *   POST /api/v1/players/{player_id}/wallets       open the cash, bonus, locked accounts
 *   GET  /api/v1/players/{player_id}/balances      the player's accounts and totals
 *   GET  /api/v1/players/{player_id}/transactions  history, newest first, filters, cursor
 *   POST /api/v1/ledger/transfers                  1..16 linked transfers (Idempotency-Key)
 *   POST /api/v1/admin/adjustments                 a manual correction, audited (idem. key)
 *   GET  /api/v1/admin/audit                       the audit trail, newest first
 *
 * Every route needs "Authorization: Bearer <staff_token>". The layer maps requests to ledger
 * calls and ledger results to statuses; it holds no money rule of its own. Each money-moving
 * request is one writer command: idempotency check, ledger_apply, record of the answer (201
 * and 4xx refusals alike), all in the command's savepoint. Reads use the reader pool.
 *
 * Threads: handlers and finish functions run on HTTP threads, the commands on the writer
 * thread, ledger_http_on_event on the event relay thread. */
#ifndef PB_LEDGER_HTTP_H
#define PB_LEDGER_HTTP_H

#include <stddef.h>

#include "core/outbox.h"
#include "http/http.h"

struct ledger;
struct store_pool;
struct writer;

#define LEDGER_HTTP_IDEM_KEY_MAX 128       /* Idempotency-Key: 1..128 of [A-Za-z0-9._:-] */
#define LEDGER_HTTP_PAGE_DEFAULT 50        /* rows per page when the request names no limit */
#define LEDGER_HTTP_ACCOUNTS_MAX 256       /* accounts per owner: 3 per currency, 73 today */
#define LEDGER_HTTP_RESULT_MAX (32 * 1024) /* a recorded answer; 16 transfers need < 10 KiB */
/* A money-moving command's allocation: the command, its strings and room for the answer,
 * reused through a cache (a few transfers' command and 201 answer take under 6 KiB). A
 * larger command gets an allocation of its own; a longer answer, its own room. */
#define LEDGER_HTTP_BLOCK_SIZE (8 * 1024)
#define LEDGER_HTTP_BLOCK_CACHE_MAX 256    /* blocks kept for reuse: 2 MiB, > in-flight requests */
#define LEDGER_HTTP_ANSWER_ROOM_MIN 2048   /* the least answer room in the allocation */
#define LEDGER_HTTP_TIMEOUT_MS_MAX 31536000000LL /* a pending transfer's timeout: a year */
#define LEDGER_HTTP_READER_WAIT_MS 1000    /* wait for a reader connection, then 503 */
#define LEDGER_HTTP_REASON_MIN 3           /* an adjustment's reason, bytes */
#define LEDGER_HTTP_REASON_MAX 500

/* The routes, for http_server_add_routes (static storage). */
extern const struct http_route ledger_routes[];
extern const size_t ledger_routes_count;

/* Outbox subscriber (relay thread): turns each committed "ledger.transfers" event into one
 * WebSocket message per player whose balances it changed, on topic "player:<player_id>":
 * {"kind":"balances","player_id":"42","balances":[...as GET .../balances...]}. Other events
 * are ignored. app is the application context (the hub is found with ws_hub_of). */
void ledger_http_on_event(const struct pb_event *ev, void *app);

/* The problem for a refused ledger_apply outcome (out->error != LEDGER_OK): the guard's own
 * status, code, detail and members for LEDGER_E_REFUSED (limit_exceeded, self_excluded, ...),
 * 422 with the rule's name (insufficient_funds, ...) otherwise. field names the request
 * field the refusal is about, or NULL. Every product answers refusals with this. */
struct ledger_outcome;
void ledger_http_refusal(struct http_response *resp, const struct ledger_outcome *out,
                         const char *field);

/* The Idempotency-Key header (1..LEDGER_HTTP_IDEM_KEY_MAX of [A-Za-z0-9._:-]), or NULL with
 * a 400 validation_failed naming "Idempotency-Key" in resp; missing is the detail when the
 * header is absent ("this request moves money: an Idempotency-Key header is required"). Every
 * route that moves money takes its key with this. */
const char *ledger_http_idempotency_key(struct http_request *req, struct http_response *resp,
                                        const char *missing);

/* Provided by the application (src/core/app.c); app is req->app. Pointers are borrowed. */
struct ledger *app_ledger(void *app);
struct writer *app_writer(void *app);
struct store_pool *app_readers(void *app);
/* The configured staff token, or "" when none is configured (staff routes then answer 401). */
const char *app_staff_token(void *app);

#endif
