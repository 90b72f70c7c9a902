/* payments_int.h: what the payments files share (design notes in payments.h and
 * docs/payments.md). */
#ifndef PB_PAYMENTS_INT_H
#define PB_PAYMENTS_INT_H

#include <stdarg.h>

#include "payments/payments.h"

#define PAYMENTS_HOUSE "house"              /* owner of the PSP and chain clearing accounts */
#define PAYMENTS_FEES_OWNER "payments:fees" /* owner of the operator-borne fee account */
#define PAYMENTS_CHAIN_PSP "chain"          /* the "PSP" of crypto withdrawals: batches */
#define PAYMENTS_PLAYER_ACCOUNTS_MAX 256      /* accounts per player read (3 per currency) */

/* Sets the refusal; returns PB_OK (the command goes on to answer it). */
int payments__refuse(struct payments_refusal *r, int status, const char *code,
                     const char *detail, const char *field);
/* writer_emit with a printf-formatted data object; nothing when cmd is NULL. */
int payments__emit(struct store *tx, struct writer_cmd *cmd, const char *type,
                   const char *subject, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* Exists, not blocked for block (enum pam_block), KYC allows action (enum kyc_action). */
int payments__player_check(struct store *tx, const struct pam_config *cfg,
                           const char *player_id, unsigned block, int action,
                           struct pam_player *p, struct payments_refusal *r);

#endif
