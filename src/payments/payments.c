/* payments.c: methods and fees, the state machines' rule books, settings, webhook event
 * records, the HMAC signature scheme and the sandbox webhook decoder (payments.h). */
#include "payments/payments.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "base/sign.h"


/* ---- methods ---- */

/* Amounts in minor units of the 2-decimal currencies the methods serve (EUR, USD, GBP). */
static const struct payments_method methods[] = {
    {"card", "sandbox", 1000, 500000, 25, 150, PAYMENTS_FEE_PLAYER},
    {"bank_transfer", "sandbox", 2000, 5000000, 50, 0, PAYMENTS_FEE_OPERATOR},
    /* Withdrawals only (deposits arrive at the player's address): minor units of the asset. */
    {"crypto", "chain", 1, 1000000000000000000, 0, 0, PAYMENTS_FEE_OPERATOR},
};

const struct payments_method *payments_method_find(const char *name)
{
    for (size_t i = 0; i < PB_ARRAY_LEN(methods); i++)
        if (strcmp(methods[i].name, name) == 0)
            return &methods[i];
    return NULL;
}

const struct payments_method *payments_method_at(size_t i)
{
    return i < PB_ARRAY_LEN(methods) ? &methods[i] : NULL;
}

int payments_fee(const struct payments_method *m, int64_t amount_minor, int64_t *fee_minor)
{
    int64_t prop;
    PB_ASSERT(amount_minor > 0 && m->fee_basis_points >= 0 && m->fee_fixed_minor >= 0);
    if (__builtin_mul_overflow(amount_minor, m->fee_basis_points, &prop))
        return PB_ERR_INVALID;
    return ledger_add(m->fee_fixed_minor, prop / 10000, fee_minor);
}

/* ---- names and transitions ---- */

static const char *const deposit_states[] = {NULL, "initiated", "pending", "succeeded",
                                             "failed", "expired"};
static const char *const withdrawal_states[] = {NULL,       "requested", "review",
                                                "approved", "processing", "completed",
                                                "failed",   "rejected",  "cancelled"};

const char *payments_deposit_state_name(enum payments_deposit_state s)
{
    return s >= 1 && (size_t)s < PB_ARRAY_LEN(deposit_states) ? deposit_states[s] : NULL;
}

int payments_deposit_state_parse(const char *name, enum payments_deposit_state *out)
{
    for (size_t i = 1; i < PB_ARRAY_LEN(deposit_states); i++)
        if (strcmp(deposit_states[i], name) == 0)
            return *out = (enum payments_deposit_state)i, PB_OK;
    return PB_ERR_INVALID;
}

const char *payments_withdrawal_state_name(enum payments_withdrawal_state s)
{
    return s >= 1 && (size_t)s < PB_ARRAY_LEN(withdrawal_states) ? withdrawal_states[s] : NULL;
}

int payments_withdrawal_state_parse(const char *name, enum payments_withdrawal_state *out)
{
    for (size_t i = 1; i < PB_ARRAY_LEN(withdrawal_states); i++)
        if (strcmp(withdrawal_states[i], name) == 0)
            return *out = (enum payments_withdrawal_state)i, PB_OK;
    return PB_ERR_INVALID;
}

bool payments_deposit_transition_ok(enum payments_deposit_state from,
                                    enum payments_deposit_state to)
{
    switch (from) {
    case PAYMENTS_DEP_INITIATED:
        return to == PAYMENTS_DEP_PENDING || to == PAYMENTS_DEP_SUCCEEDED ||
               to == PAYMENTS_DEP_FAILED || to == PAYMENTS_DEP_EXPIRED;
    case PAYMENTS_DEP_PENDING:
        return to == PAYMENTS_DEP_SUCCEEDED || to == PAYMENTS_DEP_FAILED ||
               to == PAYMENTS_DEP_EXPIRED;
    default:
        return false; /* terminal */
    }
}

bool payments_withdrawal_transition_ok(enum payments_withdrawal_state from,
                                       enum payments_withdrawal_state to)
{
    switch (from) {
    case PAYMENTS_WDR_REQUESTED:
        return to == PAYMENTS_WDR_REVIEW || to == PAYMENTS_WDR_APPROVED ||
               to == PAYMENTS_WDR_CANCELLED;
    case PAYMENTS_WDR_REVIEW:
        return to == PAYMENTS_WDR_APPROVED || to == PAYMENTS_WDR_REJECTED ||
               to == PAYMENTS_WDR_CANCELLED;
    case PAYMENTS_WDR_APPROVED:
        return to == PAYMENTS_WDR_PROCESSING || to == PAYMENTS_WDR_CANCELLED;
    case PAYMENTS_WDR_PROCESSING:
        return to == PAYMENTS_WDR_COMPLETED || to == PAYMENTS_WDR_FAILED;
    default:
        return false; /* terminal */
    }
}

const char *payments_event_type_name(enum payments_event_type t)
{
    static const char *const names[] = {NULL, "deposit.pending", "deposit.succeeded",
                                        "deposit.failed", "payout.succeeded", "payout.failed"};
    return t >= 1 && (size_t)t < PB_ARRAY_LEN(names) ? names[t] : NULL;
}

const char *payments_crypto_state_name(enum payments_crypto_state s)
{
    static const char *const names[] = {NULL, "seen", "credited", "settled", "reversed",
                                        "held", "dropped"};
    return s >= 1 && (size_t)s < PB_ARRAY_LEN(names) ? names[s] : NULL;
}

void payments_settings_defaults(struct payments_settings *s)
{
    s->deposit_expiry_s = 1800;
    s->review_threshold_minor = 100000;
    s->wagering_percent = 100;
    s->player_cancel = true;
    s->confirmations_play = 2;
    s->confirmations_withdraw = 6;
}

/* ---- webhook events ---- */

int payments_webhook_record(struct store *tx, const char *psp, const char *event_id,
                            int64_t now_ms, bool *seen)
{
    struct store_stmt *st;
    if (store_prepare(tx, "INSERT INTO payment_webhook_events (psp, event_id, received_at_ms)"
                          " VALUES (?, ?, ?) ON CONFLICT DO NOTHING", &st) != PB_OK)
        return PB_ERR_DB;
    store_bind_text(st, 1, psp, strlen(psp));
    store_bind_text(st, 2, event_id, strlen(event_id));
    store_bind_int64(st, 3, now_ms);
    int rc = store_step(st);
    *seen = rc == STORE_DONE && store_changes(st) == 0;
    store_finalize(st);
    return rc == STORE_DONE ? PB_OK : PB_ERR_DB;
}

/* ---- signatures ---- */

void payments_sign(const char *secret, int64_t t_s, const char *body, size_t len,
                   char out[PAYMENTS_SIGNATURE_HEADER_MAX])
{
    pb_sign_header(secret, t_s, body, len, out, PAYMENTS_SIGNATURE_HEADER_MAX);
}

int payments_verify_signature(const char *secret, const char *header, const char *body,
                              size_t len, int64_t now_s)
{
    PB_ASSERT(secret && secret[0]);
    return pb_sign_verify_header(secret, header, body, len, now_s, PAYMENTS_WEBHOOK_WINDOW_S);
}

/* ---- the sandbox webhook decoder ---- */

struct sandbox_body {
    const char *event_id;
    const char *type;
    const char *reference;
    int64_t amount_minor;
    const char *currency;
};

static void field_error(struct pb_json_error *err, const char *code, const char *field,
                        const char *detail)
{
    err->code = code;
    pb_strlcpy(err->field, field, sizeof(err->field));
    pb_strlcpy(err->detail, detail, sizeof(err->detail));
}

static bool token_ok(const char *s)
{
    static const char chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                "0123456789._:-";
    return strspn(s, chars) == strlen(s);
}

int payments_sandbox_parse(const char *body, size_t len, struct payments_event *out,
                           struct pb_json_error *err)
{
    static const struct pb_json_field fields[] = {
        PB_JSON_STR(struct sandbox_body, event_id, PB_JSON_REQUIRED, 1, PAYMENTS_EVENT_ID_MAX),
        PB_JSON_STR(struct sandbox_body, type, PB_JSON_REQUIRED, 1, 32),
        PB_JSON_STR(struct sandbox_body, reference, PB_JSON_REQUIRED, 1,
                    PAYMENTS_REFERENCE_MAX),
        PB_JSON_INT(struct sandbox_body, amount_minor, PB_JSON_REQUIRED, 1, INT64_MAX),
        PB_JSON_STR(struct sandbox_body, currency, PB_JSON_REQUIRED, 1, LEDGER_CURRENCY_MAX),
    };
    struct sandbox_body b = {0};
    json_t *root = NULL;
    memset(out, 0, sizeof(*out));
    int rc = pb_json_parse(body, len, true, &root, err);
    rc = rc ? rc : pb_json_decode(root, "", fields, PB_ARRAY_LEN(fields), &b, err);
    if (rc == PB_OK) {
        out->type = 0;
        for (int t = PAYMENTS_EV_DEPOSIT_PENDING; t <= PAYMENTS_EV_PAYOUT_FAILED; t++)
            if (strcmp(payments_event_type_name((enum payments_event_type)t), b.type) == 0)
                out->type = (enum payments_event_type)t;
        if (!out->type) {
            field_error(err, "out_of_range", "type", "is not a known event type");
            rc = PB_ERR_INVALID;
        } else if (!token_ok(b.event_id) || !token_ok(b.reference)) {
            field_error(err, "out_of_range", token_ok(b.event_id) ? "reference" : "event_id",
                        "only A-Z, a-z, 0-9 and . _ : - are allowed");
            rc = PB_ERR_INVALID;
        } else if (!ledger_currency_find(b.currency)) {
            field_error(err, "out_of_range", "currency", "is not a known currency");
            rc = PB_ERR_INVALID;
        }
    }
    if (rc == PB_OK) {
        pb_strlcpy(out->event_id, b.event_id, sizeof(out->event_id));
        pb_strlcpy(out->reference, b.reference, sizeof(out->reference));
        pb_strlcpy(out->currency, b.currency, sizeof(out->currency));
        out->amount_minor = b.amount_minor;
    }
    json_decref(root);
    return rc;
}
