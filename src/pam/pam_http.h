/* pam_http.h: the player side of player account management over HTTP: registration, login
 * with throttling and lock-out, sessions, TOTP, account status and closure (docs/pam.md;
 * path items in docs/pam.openapi-fragment.yaml), and pam_authenticate for other modules'
 * player routes.
 *
 * Threads: handlers run on HTTP threads (argon2id hashing and verification happen there,
 * never on the writer); every state change is one writer command. */
#ifndef PB_PAM_HTTP_H
#define PB_PAM_HTTP_H

#include <stddef.h>

#include "http/http.h"
#include "pam/pam.h"

struct ledger;
struct store_pool;
struct writer;

#define PAM_HTTP_READER_WAIT_MS 1000 /* wait for a reader connection, then 503 */

/* The routes, for http_server_add_routes (static storage). */
extern const struct http_route pam_routes[];
extern const size_t pam_routes_count;

/* Who a player request comes from. */
struct pam_principal {
    char player_id[PAM_PLAYER_ID_SIZE];
    char session_id[PAM_SESSION_ID_SIZE];
    unsigned blocks; /* enum pam_block bits at the time of the request */
};

/* Authenticates req by its "Authorization: Bearer <token>" header against the live sessions
 * (not revoked, before the absolute expiry, within the idle timeout); a player with a login
 * block is refused too. Moves the session's last-seen time through the writer at most once
 * per policy.session_touch_s (fire and forget). Returns 0 with *out filled, PB_ERR_INVALID
 * (answer 401), PB_ERR_TIMEOUT (no reader connection: 503) or PB_ERR_DB (500);
 * pam_http_auth_problem writes the matching answer. app is req->app. */
int pam_authenticate(void *app, struct http_request *req, struct pam_principal *out);
/* The same for a token given otherwise (a WebSocket's access_token query parameter). */
int pam_authenticate_token(void *app, const char *token, struct pam_principal *out);
void pam_http_auth_problem(struct http_response *resp, int rc);

/* Provided by the application (src/core/app.c); app is req->app. Pointers are borrowed. The
 * first three are the accessors ledger_http.h declares, repeated here. */
struct ledger *app_ledger(void *app);
struct writer *app_writer(void *app);
struct store_pool *app_readers(void *app);
/* The brands, jurisdictions and policy loaded at start-up with pam_config_load. */
const struct pam_config *app_pam_config(void *app);
/* The peer address of req's connection as text ("127.0.0.1", "::1"), or "unknown". */
void app_peer_address(const struct http_request *req, char *out, size_t outlen);

#endif
