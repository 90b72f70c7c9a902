/* kyc_http.h: KYC over HTTP (docs/kyc.md; path items in docs/kyc.openapi-fragment.yaml):
 * players submit document metadata and read their KYC state; providers post signed webhooks;
 * staff review the pending queue and decide.
 *
 * Authentication: player routes use pam_authenticate (Bearer session token); staff routes use
 * the static staff token (app_staff_token) until staff roles exist, checked in one place in
 * kyc_http.c (staff_authorize) where the permission check "kyc.review" goes; webhooks are
 * authenticated by their HMAC signature (secret from PITBOSS_KYC_SANDBOX_SECRET). */
#ifndef PB_PAM_KYC_HTTP_H
#define PB_PAM_KYC_HTTP_H

#include <stddef.h>

#include "http/http.h"

/* The routes, for http_server_add_routes (static storage). */
extern const struct http_route kyc_routes[];
extern const size_t kyc_routes_count;

/* Environment variable holding the sandbox provider's webhook secret; unset or empty: the
 * sandbox webhook answers 503. Read at each request. */
#define KYC_SANDBOX_SECRET_ENV "PITBOSS_KYC_SANDBOX_SECRET"

/* Provided by the application (src/core/app.c), as declared in ledger_http.h; repeated here.
 * app_writer, app_readers and app_pam_config come from pam_http.h. */
const char *app_staff_token(void *app);

#endif
