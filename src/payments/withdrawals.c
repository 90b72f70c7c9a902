/* withdrawals.c: the withdrawal state machine, its review rules and its ledger steps
 * (payments.h, docs/payments.md "Withdrawals"). Writing functions run in writer commands. */
#include "payments/payments.h"

#include <stdio.h>
#include <string.h>

#include "base/base.h"
#include "base/log.h"
#include "pam/kyc.h"
#include "payments/payments_int.h"

#define WITHDRAWAL_COLUMNS                                                                    \
    "id, player_id, method, psp, reference, currency, destination, amount_minor, state,"      \
    " review_reasons, reviewer, reason, batch, created_at_ms, updated_at_ms"

static void withdrawal_from_row(struct store_stmt *st, struct payments_withdrawal *w)
{
    memset(w, 0, sizeof(*w));
    pb_strlcpy(w->id, store_column_text(st, 0), sizeof(w->id));
    pb_strlcpy(w->player_id, store_column_text(st, 1), sizeof(w->player_id));
    pb_strlcpy(w->method, store_column_text(st, 2), sizeof(w->method));
    pb_strlcpy(w->psp, store_column_text(st, 3), sizeof(w->psp));
    pb_strlcpy(w->reference, store_column_text(st, 4), sizeof(w->reference));
    pb_strlcpy(w->currency, store_column_text(st, 5), sizeof(w->currency));
    pb_strlcpy(w->destination, store_column_text(st, 6), sizeof(w->destination));
    w->amount_minor = store_column_int64(st, 7);
    w->state = (enum payments_withdrawal_state)store_column_int64(st, 8);
    pb_strlcpy(w->review_reasons, store_column_text(st, 9), sizeof(w->review_reasons));
    pb_strlcpy(w->reviewer, store_column_text(st, 10), sizeof(w->reviewer));
    pb_strlcpy(w->reason, store_column_text(st, 11), sizeof(w->reason));
    pb_strlcpy(w->batch, store_column_text(st, 12), sizeof(w->batch));
    w->created_at_ms = store_column_int64(st, 13);
    w->updated_at_ms = store_column_int64(st, 14);
    PB_ASSERT(payments_withdrawal_state_name(w->state) != NULL && w->amount_minor > 0);
}

static int withdrawal_where(struct store *s, const char *column, const char *value,
                            struct payments_withdrawal *out)
{
    char sql[320];
    struct store_stmt *st;
    snprintf(sql, sizeof(sql),
             "SELECT " WITHDRAWAL_COLUMNS " FROM payment_withdrawals WHERE %s = ?", column);
    if (store_prepare(s, sql, &st) != PB_OK)
        return PB_ERR_DB;
    store_bind_text(st, 1, value, strlen(value));
    int rc = store_step(st);
    if (rc == STORE_ROW)
        withdrawal_from_row(st, out);
    store_finalize(st);
    return rc == STORE_ROW ? PB_OK : rc == STORE_DONE ? PB_ERR_NOT_FOUND : PB_ERR_DB;
}

int payments_withdrawal_get(struct store *s, const char *id, struct payments_withdrawal *out)
{
    return withdrawal_where(s, "id", id, out);
}

int payments_withdrawal_by_reference(struct store *s, const char *reference,
                                     struct payments_withdrawal *out)
{
    return withdrawal_where(s, "reference", reference, out);
}

int payments_withdrawals_list(struct store *s, enum payments_withdrawal_state state,
                              const char *method_or_null, struct payments_withdrawal *out,
                              size_t max, size_t *n)
{
    struct store_stmt *st;
    const char *method = method_or_null ? method_or_null : "";
    *n = 0;
    if (store_prepare(s, "SELECT " WITHDRAWAL_COLUMNS " FROM payment_withdrawals WHERE state = ?"
                         " AND (? = '' OR method = ?) ORDER BY created_at_ms, id LIMIT ?",
                      &st) != PB_OK)
        return PB_ERR_DB;
    store_bind_int64(st, 1, state);
    store_bind_text(st, 2, method, strlen(method));
    store_bind_text(st, 3, method, strlen(method));
    store_bind_int64(st, 4, (int64_t)max);
    int rc;
    while ((rc = store_step(st)) == STORE_ROW && *n < max)
        withdrawal_from_row(st, &out[(*n)++]);
    store_finalize(st);
    return rc < 0 ? PB_ERR_DB : PB_OK;
}

static int withdrawal_insert(struct store *tx, const struct payments_withdrawal *w)
{
    struct store_stmt *st;
    if (store_prepare(tx, "INSERT INTO payment_withdrawals (" WITHDRAWAL_COLUMNS ") VALUES"
                          " (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", &st) != PB_OK)
        return PB_ERR_DB;
    const char *texts[] = {w->id, w->player_id, w->method, w->psp, w->reference, w->currency,
                           w->destination};
    for (int i = 0; i < 7; i++)
        store_bind_text(st, i + 1, texts[i], strlen(texts[i]));
    store_bind_int64(st, 8, w->amount_minor);
    store_bind_int64(st, 9, w->state);
    store_bind_text(st, 10, w->review_reasons, strlen(w->review_reasons));
    store_bind_text(st, 11, w->reviewer, strlen(w->reviewer));
    store_bind_text(st, 12, w->reason, strlen(w->reason));
    store_bind_text(st, 13, w->batch, strlen(w->batch));
    store_bind_int64(st, 14, w->created_at_ms);
    store_bind_int64(st, 15, w->updated_at_ms);
    int rc = store_step(st);
    store_finalize(st);
    return rc == STORE_DONE ? PB_OK : PB_ERR_DB;
}

/* The player's cash, bonus and locked account ids in currency (0 when absent). */
static int player_accounts(struct store *s, const char *player_id, const char *currency,
                           struct ledger_account acc[3])
{
    char owner[LEDGER_OWNER_MAX + 1];
    struct ledger_account *all = pb_calloc(PAYMENTS_PLAYER_ACCOUNTS_MAX, sizeof(*all));
    size_t n = 0;
    memset(acc, 0, 3 * sizeof(*acc));
    snprintf(owner, sizeof(owner), "player:%s", player_id);
    int rc = ledger_balances(s, owner, all, PAYMENTS_PLAYER_ACCOUNTS_MAX, &n);
    for (size_t i = 0; rc == PB_OK && i < n; i++) {
        if (strcmp(all[i].currency, currency) != 0)
            continue;
        if (all[i].code == LEDGER_ACC_PLAYER_CASH)
            acc[0] = all[i];
        else if (all[i].code == LEDGER_ACC_PLAYER_BONUS)
            acc[1] = all[i];
        else if (all[i].code == LEDGER_ACC_PLAYER_LOCKED)
            acc[2] = all[i];
    }
    pb_free(all);
    return rc;
}

int payments_withdrawable(struct store *s, const char *player_id, const char *currency,
                          int64_t *out)
{
    struct ledger_account acc[3];
    struct store_stmt *st;
    *out = 0;
    int rc = player_accounts(s, player_id, currency, acc);
    if (rc != PB_OK)
        return PB_ERR_DB;
    if (acc[0].id == 0)
        return PB_OK;
    if (store_prepare(s, "SELECT COALESCE(SUM(amount_minor), 0) FROM payment_crypto_outputs"
                         " WHERE player_id = ? AND asset = ? AND state = ?", &st) != PB_OK)
        return PB_ERR_DB;
    store_bind_text(st, 1, player_id, strlen(player_id));
    store_bind_text(st, 2, currency, strlen(currency));
    store_bind_int64(st, 3, PAYMENTS_CRYPTO_CREDITED);
    rc = store_step(st);
    int64_t held = rc == STORE_ROW ? store_column_int64(st, 0) : 0;
    store_finalize(st);
    if (rc != STORE_ROW)
        return PB_ERR_DB;
    int64_t avail = ledger_available(&acc[0]);
    *out = avail > held ? avail - held : 0;
    return PB_OK;
}

/* Bets since the player's last successful deposit in currency, against wagering_percent of
 * that deposit: true when the rule fires (too little wagered). No deposit: never fires. */
static int low_wagering(struct store *tx, const char *player_id, const char *currency,
                        int64_t percent, bool *fires)
{
    struct store_stmt *st;
    *fires = false;
    if (store_prepare(tx, "SELECT amount_minor, updated_at_ms FROM payment_deposits"
                          " WHERE player_id = ? AND currency = ? AND state = ?"
                          " ORDER BY updated_at_ms DESC LIMIT 1", &st) != PB_OK)
        return PB_ERR_DB;
    store_bind_text(st, 1, player_id, strlen(player_id));
    store_bind_text(st, 2, currency, strlen(currency));
    store_bind_int64(st, 3, PAYMENTS_DEP_SUCCEEDED);
    int rc = store_step(st);
    int64_t deposit = rc == STORE_ROW ? store_column_int64(st, 0) : 0;
    int64_t since_ms = rc == STORE_ROW ? store_column_int64(st, 1) : 0;
    store_finalize(st);
    if (rc < 0)
        return PB_ERR_DB;
    if (deposit == 0)
        return PB_OK;
    int64_t required;
    if (__builtin_mul_overflow(deposit, percent, &required))
        required = INT64_MAX;
    required /= 100;
    struct ledger_account acc[3];
    if (player_accounts(tx, player_id, currency, acc) != PB_OK)
        return PB_ERR_DB;
    char owner[LEDGER_OWNER_MAX + 1];
    snprintf(owner, sizeof(owner), "player:%s", player_id);
    struct ledger_history_row *rows = pb_calloc(LEDGER_HISTORY_PAGE_MAX, sizeof(*rows));
    struct ledger_history_filter f = {.owner = owner, .currency = currency,
                                      .code = LEDGER_TX_BET, .from_ns = since_ms * 1000000,
                                      .limit = LEDGER_HISTORY_PAGE_MAX};
    int64_t wagered = 0;
    rc = PB_OK;
    for (int page = 0; page < PAYMENTS_WAGERING_PAGES_MAX && wagered < required; page++) {
        size_t n = 0;
        int64_t next = 0;
        rc = ledger_history(tx, &f, rows, &n, &next);
        for (size_t i = 0; i < n; i++) {
            bool stake = rows[i].debit_account == acc[0].id || rows[i].debit_account == acc[1].id;
            if (stake && ledger_add(wagered, rows[i].amount, &wagered) != PB_OK)
                wagered = INT64_MAX;
            pb_free(rows[i].metadata);
        }
        if (rc != PB_OK || next == 0)
            break;
        f.before_id = next;
        if (page + 1 == PAYMENTS_WAGERING_PAGES_MAX)
            wagered = required; /* bounded scan: that many bets count as enough */
    }
    pb_free(rows);
    *fires = rc == PB_OK && wagered < required;
    return rc;
}

static void reason_add(char *list, const char *name)
{
    size_t n = strlen(list);
    snprintf(list + n, PAYMENTS_REASONS_MAX + 1 - n, "%s%s", n ? "," : "", name);
}

/* The automatic review rules: each that fires adds its name to w->review_reasons. */
static int review_rules(struct store *tx, const struct payments_settings *set,
                        struct payments_withdrawal *w)
{
    struct kyc_status ks;
    unsigned blocks = 0;
    bool fires = false;
    struct store_stmt *st;
    w->review_reasons[0] = '\0';
    if (w->amount_minor >= set->review_threshold_minor)
        reason_add(w->review_reasons, "amount_threshold");
    if (kyc_status_get(tx, w->player_id, &ks) != PB_OK)
        return PB_ERR_DB;
    if (ks.state != KYC_VERIFIED)
        reason_add(w->review_reasons, "kyc_unverified");
    if (low_wagering(tx, w->player_id, w->currency, set->wagering_percent, &fires) != PB_OK)
        return PB_ERR_DB;
    if (fires)
        reason_add(w->review_reasons, "low_wagering");
    if (pam_player_blocks(tx, w->player_id, &blocks) != PB_OK)
        return PB_ERR_DB;
    if (store_prepare(tx, "SELECT COUNT(*) FROM payment_crypto_outputs WHERE player_id = ?"
                          " AND state = ?", &st) != PB_OK)
        return PB_ERR_DB;
    store_bind_text(st, 1, w->player_id, strlen(w->player_id));
    store_bind_int64(st, 2, PAYMENTS_CRYPTO_HELD);
    int rc = store_step(st);
    int64_t held = rc == STORE_ROW ? store_column_int64(st, 0) : 0;
    store_finalize(st);
    if (rc != STORE_ROW)
        return PB_ERR_DB;
    if (blocks != 0 || held > 0)
        reason_add(w->review_reasons, "risk_flag");
    return PB_OK;
}

/* One posted transfer of the withdrawal's amount, step naming its idempotency key. */
static int withdrawal_transfer(struct ledger *lg, struct store *tx, struct writer_cmd *cmd,
                               const struct payments_withdrawal *w, int64_t debit,
                               int64_t credit, int code, const char *step,
                               struct ledger_outcome *out)
{
    char ref[LEDGER_REFERENCE_MAX + 1], idem[160];
    snprintf(ref, sizeof(ref), "withdrawal:%s", w->id);
    snprintf(idem, sizeof(idem), "payments:withdrawal:%s:%s", w->id, step);
    struct ledger_transfer t = {.kind = LEDGER_POSTED, .debit_account = debit,
                                .credit_account = credit, .amount = w->amount_minor,
                                .code = code, .reference = ref,
                                .context = &(struct ledger_context){.product = "payments"}};
    return ledger_apply(lg, tx, cmd, idem, &t, 1, out);
}

int payments_withdrawal_request(struct ledger *lg, struct store *tx, struct writer_cmd *cmd,
                                const struct pam_config *cfg,
                                const struct payments_settings *set,
                                struct payments_withdrawal *w, struct payments_refusal *r)
{
    struct pam_player p;
    int64_t accounts[3], withdrawable = 0;
    memset(r, 0, sizeof(*r));
    const struct payments_method *m = payments_method_find(w->method);
    PB_ASSERT(m != NULL && w->amount_minor > 0);
    int rc = payments__player_check(tx, cfg, w->player_id, PAM_BLOCK_WITHDRAW,
                                    KYC_ACTION_WITHDRAWAL, &p, r);
    if (rc != PB_OK || r->status)
        return rc;
    bool crypto = strcmp(m->psp, PAYMENTS_CHAIN_PSP) == 0;
    const struct ledger_currency *cur = ledger_currency_find(w->currency);
    if (crypto ? !cur || !cur->crypto : strcmp(p.currency, w->currency) != 0)
        return payments__refuse(r, 422, "currency_not_allowed",
                                crypto ? "crypto withdrawals are made in a crypto currency"
                                       : "withdrawals are made in the account currency",
                                "currency");
    if (w->amount_minor < m->min_minor || w->amount_minor > m->max_minor)
        return payments__refuse(r, 422, "amount_out_of_range",
                                "the amount is outside the method's minimum and maximum",
                                "amount_minor");
    if (payments_withdrawable(tx, w->player_id, w->currency, &withdrawable) != PB_OK)
        return PB_ERR_DB;
    if (w->amount_minor > withdrawable)
        return payments__refuse(r, 422, "insufficient_funds",
                                "the amount exceeds what may be withdrawn now (unconfirmed "
                                "crypto deposits are held back)", "amount_minor");
    rc = ledger_open_player_accounts(lg, tx, w->player_id, w->currency, accounts);
    if (rc != PB_OK)
        return PB_ERR_DB;
    rc = withdrawal_transfer(lg, tx, cmd, w, accounts[0], accounts[2], LEDGER_TX_HOLD, "lock",
                             &r->ledger);
    if (rc != PB_OK)
        return rc;
    if (r->ledger.error != LEDGER_OK) {
        r->status = 422;
        return PB_OK;
    }
    rc = review_rules(tx, set, w);
    if (rc != PB_OK)
        return rc;
    w->state = w->review_reasons[0] ? PAYMENTS_WDR_REVIEW : PAYMENTS_WDR_APPROVED;
    PB_ASSERT(payments_withdrawal_transition_ok(PAYMENTS_WDR_REQUESTED, w->state));
    w->updated_at_ms = w->created_at_ms;
    rc = withdrawal_insert(tx, w);
    return rc ? rc : payments__emit(tx, cmd, "payments.withdrawal_requested", w->player_id,
                                    "{\"withdrawal_id\":\"%s\",\"state\":\"%s\","
                                    "\"amount_minor\":%lld,\"currency\":\"%s\"}", w->id,
                                    payments_withdrawal_state_name(w->state),
                                    (long long)w->amount_minor, w->currency);
}

static int withdrawal_update(struct store *tx, const struct payments_withdrawal *w,
                             enum payments_withdrawal_state from, bool *changed)
{
    struct store_stmt *st;
    if (store_prepare(tx, "UPDATE payment_withdrawals SET state = ?, reviewer = ?, reason = ?,"
                          " batch = ?, updated_at_ms = ? WHERE id = ? AND state = ?",
                      &st) != PB_OK)
        return PB_ERR_DB;
    store_bind_int64(st, 1, w->state);
    store_bind_text(st, 2, w->reviewer, strlen(w->reviewer));
    store_bind_text(st, 3, w->reason, strlen(w->reason));
    store_bind_text(st, 4, w->batch, strlen(w->batch));
    store_bind_int64(st, 5, w->updated_at_ms);
    store_bind_text(st, 6, w->id, strlen(w->id));
    store_bind_int64(st, 7, from);
    int rc = store_step(st);
    *changed = rc == STORE_DONE && store_changes(st) == 1;
    store_finalize(st);
    return rc == STORE_DONE ? PB_OK : PB_ERR_DB;
}

/* The ledger step that goes with entering state to. */
static int move_money(struct ledger *lg, struct store *tx, struct writer_cmd *cmd,
                      const struct payments_withdrawal *w, enum payments_withdrawal_state to)
{
    int64_t accounts[3], clearing;
    struct ledger_outcome out;
    bool release = to == PAYMENTS_WDR_REJECTED || to == PAYMENTS_WDR_CANCELLED ||
                   to == PAYMENTS_WDR_FAILED;
    if (!release && to != PAYMENTS_WDR_COMPLETED)
        return PB_OK;
    int rc = ledger_open_player_accounts(lg, tx, w->player_id, w->currency, accounts);
    rc = rc ? rc : ledger_open_account(lg, tx, PAYMENTS_HOUSE, LEDGER_ACC_PSP_CLEARING,
                                       w->currency, &clearing);
    if (rc != PB_OK)
        return PB_ERR_DB;
    if (release)
        rc = withdrawal_transfer(lg, tx, cmd, w, accounts[2], accounts[0], LEDGER_TX_REFUND,
                                 "release", &out);
    else
        rc = withdrawal_transfer(lg, tx, cmd, w, accounts[2], clearing, LEDGER_TX_WITHDRAWAL,
                                 "complete", &out);
    if (rc == PB_OK && out.error != LEDGER_OK) {
        /* The locked account holds exactly the withdrawals in flight: a programming error. */
        pb_log(PB_LOG_ERROR, "withdrawal ledger step refused",
               "\"withdrawal_id\":\"%s\",\"error\":\"%s\"", w->id, ledger_error_name(out.error));
        return PB_ERR_DB;
    }
    return rc;
}

int payments_withdrawal_move(struct ledger *lg, struct store *tx, struct writer_cmd *cmd,
                             const char *id, enum payments_withdrawal_state to,
                             const char *actor, const char *reason, const char *batch,
                             int64_t now_ms, struct payments_withdrawal *w,
                             struct payments_refusal *r)
{
    bool changed = false;
    memset(r, 0, sizeof(*r));
    int rc = payments_withdrawal_get(tx, id, w);
    if (rc == PB_ERR_NOT_FOUND)
        return payments__refuse(r, 404, "withdrawal_not_found", "no withdrawal has this id",
                                NULL);
    if (rc != PB_OK)
        return rc;
    enum payments_withdrawal_state from = w->state;
    if (!payments_withdrawal_transition_ok(from, to))
        return payments__refuse(r, 409, "withdrawal_state_illegal",
                                "the withdrawal's state does not allow this", NULL);
    w->state = to;
    w->updated_at_ms = now_ms;
    if (actor)
        pb_strlcpy(w->reviewer, actor, sizeof(w->reviewer));
    if (reason)
        pb_strlcpy(w->reason, reason, sizeof(w->reason));
    if (batch)
        pb_strlcpy(w->batch, batch, sizeof(w->batch));
    rc = withdrawal_update(tx, w, from, &changed);
    if (rc == PB_OK && !changed)
        return payments__refuse(r, 409, "withdrawal_state_illegal",
                                "the withdrawal changed state meanwhile", NULL);
    rc = rc ? rc : move_money(lg, tx, cmd, w, to);
    if (rc != PB_OK)
        return rc;
    char type[64];
    snprintf(type, sizeof(type), "payments.withdrawal_%s", payments_withdrawal_state_name(to));
    return payments__emit(tx, cmd, type, w->player_id,
                          "{\"withdrawal_id\":\"%s\",\"from\":\"%s\",\"amount_minor\":%lld,"
                          "\"currency\":\"%s\"}", w->id, payments_withdrawal_state_name(from),
                          (long long)w->amount_minor, w->currency);
}
