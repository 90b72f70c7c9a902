/* payments_http.h: payments over HTTP and the payments service (docs/payments.md; routes in
 * docs/openapi.yaml).
 *
 *   GET  /api/v1/payments/methods                           public
 *   POST /api/v1/payments/deposits                          player, Idempotency-Key
 *   GET  /api/v1/payments/deposits/{deposit_id}             player (own)
 *   POST /api/v1/payments/webhooks/{psp}                    PSP, HMAC signature
 *   POST /api/v1/payments/withdrawals                       player, Idempotency-Key
 *   GET  /api/v1/payments/withdrawals/{withdrawal_id}       player (own)
 *   POST /api/v1/payments/withdrawals/{withdrawal_id}/cancel player (own)
 *   POST /api/v1/payments/crypto/addresses                  player: the deposit address
 *   POST /api/v1/payments/chain/{chain}/reports             chain watcher, HMAC signature
 *   POST /api/v1/payments/chain/{chain}/batches/{batch}     chain watcher, HMAC signature
 *   GET  /api/v1/admin/withdrawals?state=review             payments.review
 *   POST /api/v1/admin/withdrawals/{id}/approve|reject      payments.review, reason, audited
 *   POST /api/v1/admin/payments/crypto/addresses            payments.review (pool import)
 *   GET  /api/v1/admin/payments/statements/{psp}            payments.review
 *   GET  /api/v1/admin/payments/reconciliation?psp=         payments.review
 *
 * The service: the sandbox PSP's thread and a worker thread (pb-payments) that expires
 * deposits, sends approved withdrawals to their PSP and batches approved crypto withdrawals,
 * every PAYMENTS_WORKER_INTERVAL_MS, each step one writer command.
 *
 * Threads: handlers and finish functions on HTTP threads, commands on the writer. */
#ifndef PB_PAYMENTS_HTTP_H
#define PB_PAYMENTS_HTTP_H

#include <stddef.h>

#include "base/config.h"
#include "http/http.h"
#include "payments/payments.h"

struct ledger;
struct store_pool;
struct writer;

#define PAYMENTS_WORKER_INTERVAL_MS 200 /* expiry and payout latency bound */
#define PAYMENTS_EXPIRE_BATCH_MAX 256   /* deposits expired per command */
#define PAYMENTS_PAYOUT_BATCH_MAX 100   /* withdrawals sent / crypto withdrawals batched per turn */
#define PAYMENTS_RESULT_MAX 4096        /* a recorded answer (one deposit or withdrawal) */
#define PAYMENTS_REQUEST_JSON_MAX 512   /* a request's canonical text (bounded fields) */

extern const struct http_route payments_routes[];
extern const size_t payments_routes_count;

struct payments_service;

/* Starts the sandbox PSP (when cfg has a sandbox secret) and the worker. callback_base is
 * "http://host:port" of this process, used when cfg names no callback_url. */
int payments_service_start(const struct pb_config *cfg, const char *callback_base,
                           struct writer *w, struct store_pool *readers, struct ledger *lg,
                           struct payments_service **out);
/* Stops the worker and the sandbox; NULL is ignored. Call before the writer stops. */
void payments_service_stop(struct payments_service *ps);

/* Provided by the application (src/core/app.c); app is req->app. */
struct payments_service *app_payments(void *app);

#endif
