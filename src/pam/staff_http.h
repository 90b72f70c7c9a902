/* staff_http.h: the staff (back-office) side over HTTP: staff login with mandatory TOTP and
 * logout, staff users, player search and profile (PII masked by permission), blocks and
 * unlock, and the audit export as CSV (docs/staff.md; path items in
 * docs/staff.openapi-fragment.yaml). staff_authenticate is the authenticate step other
 * modules' staff routes call.
 *
 *   POST   /api/v1/admin/sessions                                 staff login
 *   DELETE /api/v1/admin/sessions                                 logout
 *   POST   /api/v1/admin/staff                                    staff.manage
 *   GET    /api/v1/admin/players?email=&limit=&cursor=            players.read
 *   GET    /api/v1/admin/players/{player_id}                      players.read (+read_pii)
 *   POST   /api/v1/admin/players/{player_id}/blocks               players.block
 *   DELETE /api/v1/admin/players/{player_id}/blocks/{block}       players.block
 *   POST   /api/v1/admin/players/{player_id}/unlock               players.unlock
 *   GET    /api/v1/admin/audit/export?from=&to=                   audit.export
 *
 * Threads: handlers run on HTTP threads (argon2id there, never on the writer); every state
 * change is one writer command, and every staff action writes its audit row in that same
 * command. */
#ifndef PB_PAM_STAFF_HTTP_H
#define PB_PAM_STAFF_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include "http/http.h"
#include "ledger/audit.h"
#include "pam/staff.h"

#define STAFF_HTTP_PAGE_DEFAULT 50
#define STAFF_HTTP_PAGE_MAX 100
#define STAFF_HTTP_EXPORT_ROWS_MAX 100000 /* rows per CSV export; narrow the range beyond */
#define STAFF_HTTP_REASON_MAX 200         /* == PAM_BLOCK_REASON_MAX */

/* The routes, for http_server_add_routes (static storage). */
extern const struct http_route staff_routes[];
extern const size_t staff_routes_count;

/* Who a staff request comes from. */
struct staff_principal {
    bool service; /* the static staff token (a service credential): every permission */
    char staff_id[STAFF_ID_SIZE];  /* "" for the service credential */
    char email[PAM_EMAIL_SIZE];    /* "" for the service credential */
    char session_id[STAFF_ID_SIZE];
    enum staff_role role;          /* 0 for the service credential */
    unsigned permissions;          /* enum staff_permission bits */
    char actor[AUDIT_ACTOR_MAX + 1]; /* for audit rows: "staff" or "staff:<id>" */
};

/* The authenticate step of staff routes: req's "Authorization: Bearer <token>" is either the
 * configured static staff token (app_staff_token; all permissions) or a live staff session
 * (8 h absolute, 15 min idle) of an active user. permission (e.g. "players.read"; NULL: any
 * authenticated staff) must be held by the user's role. Returns 0 with *out filled, or
 * PB_ERR_INVALID (401 in resp), PB_ERR_CONFLICT (403 in resp, naming the permission in
 * detail and in a "permission" member) or another error (503/500 in resp). Moves the
 * session's last-seen time through the writer at most once a minute. app is req->app. */
int staff_authenticate(void *app, struct http_request *req, const char *permission,
                       struct staff_principal *out, struct http_response *resp);

/* Provided by the application (src/core/app.c), all already there: app_writer, app_readers,
 * app_pam_config, app_peer_address (pam_http.h) and app_staff_token (ledger_http.h). */

#endif
