/* deposits.c: the deposit state machine over the ledger (payments.h, docs/payments.md
 * "Deposits"). Every function that writes runs inside a writer command. */
#include "payments/payments.h"

#include <stdio.h>
#include <string.h>

#include "base/base.h"
#include "base/log.h"
#include "pam/kyc.h"
#include "payments/payments_int.h"

#define DEPOSIT_COLUMNS                                                                       \
    "id, player_id, method, psp, reference, currency, amount_minor, fee_minor, fee_bearer,"   \
    " state, scenario, pending_transfer_id, created_at_ms, updated_at_ms, expires_at_ms"

static void deposit_from_row(struct store_stmt *st, struct payments_deposit *d)
{
    memset(d, 0, sizeof(*d));
    pb_strlcpy(d->id, store_column_text(st, 0), sizeof(d->id));
    pb_strlcpy(d->player_id, store_column_text(st, 1), sizeof(d->player_id));
    pb_strlcpy(d->method, store_column_text(st, 2), sizeof(d->method));
    pb_strlcpy(d->psp, store_column_text(st, 3), sizeof(d->psp));
    pb_strlcpy(d->reference, store_column_text(st, 4), sizeof(d->reference));
    pb_strlcpy(d->currency, store_column_text(st, 5), sizeof(d->currency));
    d->amount_minor = store_column_int64(st, 6);
    d->fee_minor = store_column_int64(st, 7);
    d->fee_bearer = (enum payments_fee_bearer)store_column_int64(st, 8);
    d->state = (enum payments_deposit_state)store_column_int64(st, 9);
    pb_strlcpy(d->scenario, store_column_text(st, 10), sizeof(d->scenario));
    d->pending_transfer_id = store_column_int64(st, 11);
    d->created_at_ms = store_column_int64(st, 12);
    d->updated_at_ms = store_column_int64(st, 13);
    d->expires_at_ms = store_column_int64(st, 14);
    PB_ASSERT(payments_deposit_state_name(d->state) != NULL && d->amount_minor > 0);
}

static int deposit_where(struct store *s, const char *column, const char *value,
                         struct payments_deposit *out)
{
    char sql[256];
    struct store_stmt *st;
    snprintf(sql, sizeof(sql), "SELECT " DEPOSIT_COLUMNS " FROM payment_deposits WHERE %s = ?",
             column);
    if (store_prepare(s, sql, &st) != PB_OK)
        return PB_ERR_DB;
    store_bind_text(st, 1, value, strlen(value));
    int rc = store_step(st);
    if (rc == STORE_ROW)
        deposit_from_row(st, out);
    store_finalize(st);
    return rc == STORE_ROW ? PB_OK : rc == STORE_DONE ? PB_ERR_NOT_FOUND : PB_ERR_DB;
}

int payments_deposit_get(struct store *s, const char *id, struct payments_deposit *out)
{
    return deposit_where(s, "id", id, out);
}

int payments_deposit_by_reference(struct store *s, const char *reference,
                                  struct payments_deposit *out)
{
    return deposit_where(s, "reference", reference, out);
}

static int deposit_insert(struct store *tx, const struct payments_deposit *d)
{
    struct store_stmt *st;
    if (store_prepare(tx, "INSERT INTO payment_deposits (" DEPOSIT_COLUMNS ") VALUES"
                          " (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", &st) != PB_OK)
        return PB_ERR_DB;
    const char *texts[] = {d->id, d->player_id, d->method, d->psp, d->reference, d->currency};
    for (int i = 0; i < 6; i++)
        store_bind_text(st, i + 1, texts[i], strlen(texts[i]));
    store_bind_int64(st, 7, d->amount_minor);
    store_bind_int64(st, 8, d->fee_minor);
    store_bind_int64(st, 9, d->fee_bearer);
    store_bind_int64(st, 10, d->state);
    store_bind_text(st, 11, d->scenario, strlen(d->scenario));
    store_bind_int64(st, 12, d->pending_transfer_id);
    store_bind_int64(st, 13, d->created_at_ms);
    store_bind_int64(st, 14, d->updated_at_ms);
    store_bind_int64(st, 15, d->expires_at_ms);
    int rc = store_step(st);
    store_finalize(st);
    return rc == STORE_DONE ? PB_OK : PB_ERR_DB;
}

int payments__refuse(struct payments_refusal *r, int status, const char *code,
                     const char *detail, const char *field)
{
    r->status = status;
    r->code = code;
    r->detail = detail;
    r->field = field;
    return PB_OK;
}

int payments__emit(struct store *tx, struct writer_cmd *cmd, const char *type,
                   const char *subject, const char *fmt, ...)
{
    if (!cmd)
        return PB_OK;
    struct pb_buf b = PB_BUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    pb_buf_vprintf(&b, fmt, ap);
    va_end(ap);
    int rc = writer_emit(tx, cmd, type, subject, pb_buf_str(&b));
    pb_buf_release(&b);
    return rc;
}

/* Player checks shared by deposits and withdrawals: exists, not blocked for `block`, KYC
 * allows `action`. */
int payments__player_check(struct store *tx, const struct pam_config *cfg,
                           const char *player_id, unsigned block, int action,
                           struct pam_player *p, struct payments_refusal *r)
{
    unsigned blocks = 0;
    bool allowed = false;
    int rc = pam_player_get(tx, player_id, p);
    if (rc == PB_ERR_NOT_FOUND)
        return payments__refuse(r, 404, "player_not_found", "no player has this id", NULL);
    rc = rc ? rc : pam_player_blocks(tx, player_id, &blocks);
    if (rc != PB_OK)
        return PB_ERR_DB;
    if (blocks & block)
        return payments__refuse(r, 403, block == PAM_BLOCK_DEPOSIT ? "deposit_blocked"
                                                                   : "withdrawal_blocked",
                                "the account is blocked for this operation", NULL);
    rc = kyc_allows(tx, cfg, player_id, (enum kyc_action)action, &allowed);
    if (rc == PB_ERR_NOT_FOUND)
        return payments__refuse(r, 404, "player_not_found", "the player's brand is unknown",
                                NULL);
    if (rc != PB_OK)
        return PB_ERR_DB;
    if (!allowed)
        return payments__refuse(r, 403, "kyc_required",
                                "the jurisdiction requires verified identity (KYC) first", NULL);
    return PB_OK;
}

int payments_deposit_start(struct ledger *lg, struct store *tx, struct writer_cmd *cmd,
                           const struct pam_config *cfg, struct payments_deposit *d,
                           struct payments_refusal *r)
{
    struct pam_player p;
    int64_t accounts[3], clearing;
    PB_ASSERT(d->amount_minor > 0 && d->expires_at_ms > d->created_at_ms);
    memset(r, 0, sizeof(*r));
    const struct payments_method *m = payments_method_find(d->method);
    PB_ASSERT(m != NULL);
    int rc = payments__player_check(tx, cfg, d->player_id, PAM_BLOCK_DEPOSIT,
                                    KYC_ACTION_DEPOSIT, &p, r);
    if (rc != PB_OK || r->status)
        return rc;
    if (strcmp(p.currency, d->currency) != 0)
        return payments__refuse(r, 422, "currency_not_allowed",
                                "deposits are made in the player's account currency",
                                "currency");
    if (d->amount_minor < m->min_minor || d->amount_minor > m->max_minor)
        return payments__refuse(r, 422, "amount_out_of_range",
                                "the amount is outside the method's minimum and maximum",
                                "amount_minor");
    if (payments_fee(m, d->amount_minor, &d->fee_minor) != PB_OK ||
        d->fee_minor >= d->amount_minor)
        return payments__refuse(r, 422, "amount_out_of_range", "the fee exceeds the amount",
                                "amount_minor");
    d->fee_bearer = m->fee_bearer;
    d->state = PAYMENTS_DEP_INITIATED;
    d->updated_at_ms = d->created_at_ms;
    rc = ledger_open_player_accounts(lg, tx, d->player_id, d->currency, accounts);
    rc = rc ? rc : ledger_open_account(lg, tx, PAYMENTS_HOUSE, LEDGER_ACC_PSP_CLEARING,
                                       d->currency, &clearing);
    if (rc != PB_OK)
        return PB_ERR_DB;
    char ref[LEDGER_REFERENCE_MAX + 1], idem[160];
    snprintf(ref, sizeof(ref), "deposit:%s", d->id);
    snprintf(idem, sizeof(idem), "payments:deposit:%s:start", d->id);
    struct ledger_transfer t = {
        .kind = LEDGER_PENDING, .debit_account = clearing, .credit_account = accounts[0],
        .amount = d->amount_minor, .code = LEDGER_TX_DEPOSIT,
        .timeout_ms = d->expires_at_ms - d->created_at_ms, .reference = ref,
        .context = &(struct ledger_context){.product = "payments"}};
    rc = ledger_apply(lg, tx, cmd, idem, &t, 1, &r->ledger);
    if (rc != PB_OK)
        return rc;
    if (r->ledger.error != LEDGER_OK) {
        r->status = 422; /* answered with ledger_http_refusal */
        return PB_OK;
    }
    d->pending_transfer_id = r->ledger.applied[0].id;
    rc = deposit_insert(tx, d);
    return rc ? rc : payments__emit(tx, cmd, "payments.deposit_initiated", d->player_id,
                                    "{\"deposit_id\":\"%s\",\"amount_minor\":%lld,"
                                    "\"currency\":\"%s\"}", d->id, (long long)d->amount_minor,
                                    d->currency);
}

/* The ledger step of a successful deposit: POST the pending transfer and book the fee
 * (player: cash -> clearing; operator: fee account -> clearing), linked. */
static int deposit_post(struct ledger *lg, struct store *tx, struct writer_cmd *cmd,
                        const struct payments_deposit *d, struct ledger_outcome *out)
{
    struct ledger_transfer t[2];
    char ref[LEDGER_REFERENCE_MAX + 1], idem[160];
    int64_t accounts[3], clearing, fees;
    size_t n = 1;
    snprintf(ref, sizeof(ref), "deposit:%s", d->id);
    snprintf(idem, sizeof(idem), "payments:deposit:%s:settle", d->id);
    t[0] = (struct ledger_transfer){.kind = LEDGER_POST, .pending_id = d->pending_transfer_id,
                                    .code = LEDGER_TX_DEPOSIT, .reference = ref,
                                    .context = &(struct ledger_context){.product = "payments"}};
    if (d->fee_minor > 0) {
        int rc = ledger_open_player_accounts(lg, tx, d->player_id, d->currency, accounts);
        rc = rc ? rc : ledger_open_account(lg, tx, PAYMENTS_HOUSE, LEDGER_ACC_PSP_CLEARING,
                                           d->currency, &clearing);
        rc = rc ? rc : ledger_open_account(lg, tx, PAYMENTS_FEES_OWNER, LEDGER_ACC_ADJUSTMENTS,
                                           d->currency, &fees);
        if (rc != PB_OK)
            return PB_ERR_DB;
        t[1] = (struct ledger_transfer){
            .kind = LEDGER_POSTED,
            .debit_account = d->fee_bearer == PAYMENTS_FEE_PLAYER ? accounts[0] : fees,
            .credit_account = clearing, .amount = d->fee_minor, .code = LEDGER_TX_TRANSFER,
            .reference = ref, .metadata = "{\"kind\":\"deposit_fee\"}",
            .context = &(struct ledger_context){.product = "payments"}};
        n = 2;
    }
    return ledger_apply(lg, tx, cmd, idem, t, n, out);
}

static int deposit_void(struct ledger *lg, struct store *tx, struct writer_cmd *cmd,
                        const struct payments_deposit *d, struct ledger_outcome *out)
{
    char ref[LEDGER_REFERENCE_MAX + 1], idem[160];
    snprintf(ref, sizeof(ref), "deposit:%s", d->id);
    snprintf(idem, sizeof(idem), "payments:deposit:%s:settle", d->id);
    struct ledger_transfer t = {.kind = LEDGER_VOID, .pending_id = d->pending_transfer_id,
                                .code = LEDGER_TX_DEPOSIT, .reference = ref,
                                .context = &(struct ledger_context){.product = "payments"}};
    return ledger_apply(lg, tx, cmd, idem, &t, 1, out);
}

static int deposit_update_state(struct store *tx, const char *id,
                                enum payments_deposit_state from,
                                enum payments_deposit_state to, int64_t now_ms, bool *changed)
{
    struct store_stmt *st;
    if (store_prepare(tx, "UPDATE payment_deposits SET state = ?, updated_at_ms = ?"
                          " WHERE id = ? AND state = ?", &st) != PB_OK)
        return PB_ERR_DB;
    store_bind_int64(st, 1, to);
    store_bind_int64(st, 2, now_ms);
    store_bind_text(st, 3, id, strlen(id));
    store_bind_int64(st, 4, from);
    int rc = store_step(st);
    *changed = rc == STORE_DONE && store_changes(st) == 1;
    store_finalize(st);
    return rc == STORE_DONE ? PB_OK : PB_ERR_DB;
}

/* The pending transfer is already resolved (the ledger's own expiry voided it): a VOID is
 * then a no-op, a POST impossible. */
static bool already_resolved(enum ledger_error e)
{
    return e == LEDGER_E_PENDING_RESOLVED || e == LEDGER_E_PENDING_EXPIRED;
}

int payments_deposit_settle(struct ledger *lg, struct store *tx, struct writer_cmd *cmd,
                            const char *reference, enum payments_deposit_state to,
                            int64_t amount_minor, const char *currency, int64_t now_ms,
                            bool *changed, struct payments_deposit *d_out)
{
    struct payments_deposit d;
    struct ledger_outcome out;
    *changed = false;
    int rc = payments_deposit_by_reference(tx, reference, &d);
    if (rc != PB_OK)
        return rc;
    if (amount_minor > 0 && (amount_minor != d.amount_minor || strcmp(currency, d.currency)))
        return PB_ERR_CONFLICT;
    if (!payments_deposit_transition_ok(d.state, to)) {
        if (d_out)
            *d_out = d;
        return PB_OK; /* a repeat or a late report: never backwards */
    }
    /* The conditional update first: of two racing reports only one moves the row, and only
     * that one does the ledger step. */
    rc = deposit_update_state(tx, d.id, d.state, to, now_ms, changed);
    if (rc != PB_OK || !*changed) {
        if (d_out)
            *d_out = d;
        return rc;
    }
    if (to == PAYMENTS_DEP_SUCCEEDED) {
        rc = deposit_post(lg, tx, cmd, &d, &out);
        if (rc == PB_OK && already_resolved(out.error)) {
            pb_log(PB_LOG_ERROR, "deposit success after its expiry: not credited",
                   "\"deposit_id\":\"%s\"", d.id);
            to = PAYMENTS_DEP_EXPIRED;
            rc = deposit_update_state(tx, d.id, PAYMENTS_DEP_SUCCEEDED, to, now_ms, changed);
        } else if (rc == PB_OK && out.error != LEDGER_OK) {
            pb_log(PB_LOG_ERROR, "deposit post refused by the ledger",
                   "\"deposit_id\":\"%s\",\"error\":\"%s\"", d.id,
                   ledger_error_name(out.error));
            return PB_ERR_CONFLICT;
        }
    } else if (to == PAYMENTS_DEP_FAILED || to == PAYMENTS_DEP_EXPIRED) {
        rc = deposit_void(lg, tx, cmd, &d, &out);
        if (rc == PB_OK && out.error != LEDGER_OK && !already_resolved(out.error))
            return PB_ERR_CONFLICT;
    }
    if (rc != PB_OK)
        return rc;
    PB_ASSERT(*changed);
    d.state = to;
    d.updated_at_ms = now_ms;
    if (d_out)
        *d_out = d;
    char type[64];
    snprintf(type, sizeof(type), "payments.deposit_%s", payments_deposit_state_name(to));
    return payments__emit(tx, cmd, type, d.player_id,
                          "{\"deposit_id\":\"%s\",\"amount_minor\":%lld,\"currency\":\"%s\"}",
                          d.id, (long long)d.amount_minor, d.currency);
}

int payments_deposits_expire(struct ledger *lg, struct store *tx, struct writer_cmd *cmd,
                             int64_t now_ms, int max, int *n)
{
    struct store_stmt *st;
    char (*refs)[PAYMENTS_REFERENCE_MAX + 1] = pb_calloc((size_t)max, sizeof(*refs));
    int count = 0, rc = PB_OK;
    *n = 0;
    if (store_prepare(tx, "SELECT reference FROM payment_deposits WHERE state IN (1, 2)"
                          " AND expires_at_ms <= ? ORDER BY expires_at_ms LIMIT ?", &st) != PB_OK) {
        pb_free(refs);
        return PB_ERR_DB;
    }
    store_bind_int64(st, 1, now_ms);
    store_bind_int64(st, 2, max);
    while ((rc = store_step(st)) == STORE_ROW && count < max)
        pb_strlcpy(refs[count++], store_column_text(st, 0), sizeof(refs[0]));
    store_finalize(st);
    rc = rc == STORE_DONE || rc == STORE_ROW ? PB_OK : PB_ERR_DB;
    for (int i = 0; i < count && rc == PB_OK; i++) {
        bool changed = false;
        rc = payments_deposit_settle(lg, tx, cmd, refs[i], PAYMENTS_DEP_EXPIRED, 0, "", now_ms,
                                     &changed, NULL);
        *n += changed;
    }
    pb_free(refs);
    return rc;
}
