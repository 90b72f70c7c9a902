/* crypto.c: deposit addresses from an imported pool and the chain watcher's reports:
 * confirmations, credit at N1, withdrawable at N2, reorganisations (payments.h,
 * docs/payments.md "Crypto"). Writing functions run inside writer commands. */
#include "payments/payments.h"

#include <stdio.h>
#include <string.h>

#include "base/base.h"
#include "base/log.h"
#include "payments/payments_int.h"

int payments_crypto_address(struct store *tx, const char *player_id, const char *chain,
                            const char *asset, char out[PAYMENTS_ADDRESS_MAX + 1],
                            int64_t now_ms)
{
    struct store_stmt *st;
    if (store_prepare(tx, "SELECT address FROM payment_crypto_addresses WHERE player_id = ?"
                          " AND chain = ? AND asset = ?", &st) != PB_OK)
        return PB_ERR_DB;
    store_bind_text(st, 1, player_id, strlen(player_id));
    store_bind_text(st, 2, chain, strlen(chain));
    store_bind_text(st, 3, asset, strlen(asset));
    int rc = store_step(st);
    if (rc == STORE_ROW)
        pb_strlcpy(out, store_column_text(st, 0), PAYMENTS_ADDRESS_MAX + 1);
    store_finalize(st);
    if (rc != STORE_DONE)
        return rc == STORE_ROW ? PB_OK : PB_ERR_DB;
    if (store_prepare(tx, "SELECT address FROM payment_crypto_addresses WHERE chain = ?"
                          " AND asset = ? AND player_id = '' ORDER BY imported_at_ms, address"
                          " LIMIT 1", &st) != PB_OK)
        return PB_ERR_DB;
    store_bind_text(st, 1, chain, strlen(chain));
    store_bind_text(st, 2, asset, strlen(asset));
    rc = store_step(st);
    if (rc == STORE_ROW)
        pb_strlcpy(out, store_column_text(st, 0), PAYMENTS_ADDRESS_MAX + 1);
    store_finalize(st);
    if (rc != STORE_ROW)
        return rc == STORE_DONE ? PB_ERR_NOT_FOUND : PB_ERR_DB;
    if (store_prepare(tx, "UPDATE payment_crypto_addresses SET player_id = ?,"
                          " assigned_at_ms = ? WHERE chain = ? AND address = ?"
                          " AND player_id = ''", &st) != PB_OK)
        return PB_ERR_DB;
    store_bind_text(st, 1, player_id, strlen(player_id));
    store_bind_int64(st, 2, now_ms);
    store_bind_text(st, 3, chain, strlen(chain));
    store_bind_text(st, 4, out, strlen(out));
    rc = store_step(st);
    bool taken = rc == STORE_DONE && store_changes(st) == 1;
    store_finalize(st);
    if (rc != STORE_DONE)
        return PB_ERR_DB;
    return taken ? PB_OK : PB_ERR_CONFLICT; /* another node took it: the caller retries */
}

int payments_crypto_import(struct store *tx, const char *chain, const char *asset,
                           const char *const *addresses, size_t n, int64_t now_ms, int *added)
{
    struct store_stmt *st;
    *added = 0;
    PB_ASSERT(n <= PAYMENTS_ADDRESS_IMPORT_MAX);
    if (store_prepare(tx, "INSERT INTO payment_crypto_addresses (chain, asset, address,"
                          " player_id, imported_at_ms, assigned_at_ms) VALUES (?, ?, ?, '', ?, 0)"
                          " ON CONFLICT DO NOTHING", &st) != PB_OK)
        return PB_ERR_DB;
    int rc = STORE_DONE;
    for (size_t i = 0; i < n && rc == STORE_DONE; i++) {
        store_reset(st);
        store_bind_text(st, 1, chain, strlen(chain));
        store_bind_text(st, 2, asset, strlen(asset));
        store_bind_text(st, 3, addresses[i], strlen(addresses[i]));
        store_bind_int64(st, 4, now_ms);
        rc = store_step(st);
        if (rc == STORE_DONE)
            *added += (int)store_changes(st);
    }
    store_finalize(st);
    return rc == STORE_DONE ? PB_OK : PB_ERR_DB;
}

struct output {
    char player_id[PAM_PLAYER_ID_SIZE];
    char asset[LEDGER_CURRENCY_MAX + 1];
    int64_t amount_minor, confirmations;
    enum payments_crypto_state state;
};

static int output_get(struct store *tx, const struct payments_chain_report *rep,
                      struct output *o)
{
    struct store_stmt *st;
    if (store_prepare(tx, "SELECT player_id, asset, amount_minor, confirmations, state FROM"
                          " payment_crypto_outputs WHERE chain = ? AND txid = ? AND vout = ?",
                      &st) != PB_OK)
        return PB_ERR_DB;
    store_bind_text(st, 1, rep->chain, strlen(rep->chain));
    store_bind_text(st, 2, rep->txid, strlen(rep->txid));
    store_bind_int64(st, 3, rep->vout);
    int rc = store_step(st);
    if (rc == STORE_ROW) {
        pb_strlcpy(o->player_id, store_column_text(st, 0), sizeof(o->player_id));
        pb_strlcpy(o->asset, store_column_text(st, 1), sizeof(o->asset));
        o->amount_minor = store_column_int64(st, 2);
        o->confirmations = store_column_int64(st, 3);
        o->state = (enum payments_crypto_state)store_column_int64(st, 4);
        PB_ASSERT(payments_crypto_state_name(o->state) != NULL && o->amount_minor > 0);
    }
    store_finalize(st);
    return rc == STORE_ROW ? PB_OK : rc == STORE_DONE ? PB_ERR_NOT_FOUND : PB_ERR_DB;
}

/* First sight: the address's owner gets the output in state seen. */
static int output_insert(struct store *tx, const struct payments_chain_report *rep,
                         int64_t now_ms, struct output *o, bool *unknown)
{
    struct store_stmt *st;
    *unknown = false;
    if (store_prepare(tx, "SELECT player_id FROM payment_crypto_addresses WHERE chain = ?"
                          " AND address = ? AND asset = ? AND player_id <> ''", &st) != PB_OK)
        return PB_ERR_DB;
    store_bind_text(st, 1, rep->chain, strlen(rep->chain));
    store_bind_text(st, 2, rep->address, strlen(rep->address));
    store_bind_text(st, 3, rep->asset, strlen(rep->asset));
    int rc = store_step(st);
    if (rc == STORE_ROW)
        pb_strlcpy(o->player_id, store_column_text(st, 0), sizeof(o->player_id));
    store_finalize(st);
    if (rc == STORE_DONE)
        return *unknown = true, PB_OK;
    if (rc != STORE_ROW)
        return PB_ERR_DB;
    pb_strlcpy(o->asset, rep->asset, sizeof(o->asset));
    o->amount_minor = rep->amount_minor;
    o->confirmations = rep->confirmations;
    o->state = PAYMENTS_CRYPTO_SEEN;
    if (store_prepare(tx, "INSERT INTO payment_crypto_outputs (chain, txid, vout, asset,"
                          " address, player_id, amount_minor, confirmations, state, transfer_id,"
                          " created_at_ms, updated_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0,"
                          " ?, ?)", &st) != PB_OK)
        return PB_ERR_DB;
    store_bind_text(st, 1, rep->chain, strlen(rep->chain));
    store_bind_text(st, 2, rep->txid, strlen(rep->txid));
    store_bind_int64(st, 3, rep->vout);
    store_bind_text(st, 4, rep->asset, strlen(rep->asset));
    store_bind_text(st, 5, rep->address, strlen(rep->address));
    store_bind_text(st, 6, o->player_id, strlen(o->player_id));
    store_bind_int64(st, 7, rep->amount_minor);
    store_bind_int64(st, 8, rep->confirmations);
    store_bind_int64(st, 9, o->state);
    store_bind_int64(st, 10, now_ms);
    store_bind_int64(st, 11, now_ms);
    rc = store_step(st);
    store_finalize(st);
    return rc == STORE_DONE ? PB_OK : PB_ERR_DB;
}

static int output_update(struct store *tx, const struct payments_chain_report *rep,
                         const struct output *o, int64_t transfer_id, int64_t now_ms)
{
    struct store_stmt *st;
    if (store_prepare(tx, "UPDATE payment_crypto_outputs SET confirmations = ?, state = ?,"
                          " transfer_id = CASE WHEN ? > 0 THEN ? ELSE transfer_id END,"
                          " updated_at_ms = ? WHERE chain = ? AND txid = ? AND vout = ?",
                      &st) != PB_OK)
        return PB_ERR_DB;
    store_bind_int64(st, 1, o->confirmations);
    store_bind_int64(st, 2, o->state);
    store_bind_int64(st, 3, transfer_id);
    store_bind_int64(st, 4, transfer_id);
    store_bind_int64(st, 5, now_ms);
    store_bind_text(st, 6, rep->chain, strlen(rep->chain));
    store_bind_text(st, 7, rep->txid, strlen(rep->txid));
    store_bind_int64(st, 8, rep->vout);
    int rc = store_step(st);
    store_finalize(st);
    return rc == STORE_DONE ? PB_OK : PB_ERR_DB;
}

/* cash <-> chain clearing for the output's amount; credit true: clearing -> cash (code
 * deposit, guarded), false: cash -> clearing (code adjustment: the reversal). */
static int crypto_transfer(struct ledger *lg, struct store *tx, struct writer_cmd *cmd,
                           const struct payments_chain_report *rep, const struct output *o,
                           bool credit, struct ledger_outcome *out)
{
    int64_t accounts[3], clearing;
    char ref[LEDGER_REFERENCE_MAX + 1], idem[400];
    int rc = ledger_open_player_accounts(lg, tx, o->player_id, o->asset, accounts);
    rc = rc ? rc : ledger_open_account(lg, tx, PAYMENTS_HOUSE, LEDGER_ACC_PSP_CLEARING,
                                       o->asset, &clearing);
    if (rc != PB_OK)
        return PB_ERR_DB;
    snprintf(ref, sizeof(ref), "crypto:%s:%.80s:%lld", rep->chain, rep->txid,
             (long long)rep->vout);
    snprintf(idem, sizeof(idem), "payments:crypto:%s:%s:%lld:%s", rep->chain, rep->txid,
             (long long)rep->vout, credit ? "credit" : "reverse");
    struct ledger_transfer t = {.kind = LEDGER_POSTED,
                                .debit_account = credit ? clearing : accounts[0],
                                .credit_account = credit ? accounts[0] : clearing,
                                .amount = o->amount_minor,
                                .code = credit ? LEDGER_TX_DEPOSIT : LEDGER_TX_ADJUSTMENT,
                                .reference = ref,
                                .metadata = credit ? NULL : "{\"kind\":\"chain_reorganisation\"}",
                                .context = &(struct ledger_context){.product = "payments"}};
    return ledger_apply(lg, tx, cmd, idem, &t, 1, out);
}

/* A credited output left the best chain: reverse the credit when the cash is still there,
 * otherwise block the player's withdrawals and hold. */
static int crypto_reorg(struct ledger *lg, struct store *tx, struct writer_cmd *cmd,
                        const struct payments_chain_report *rep, struct output *o,
                        int64_t now_ms)
{
    struct ledger_outcome out;
    int rc = crypto_transfer(lg, tx, cmd, rep, o, false, &out);
    if (rc != PB_OK)
        return rc;
    if (out.error == LEDGER_OK) {
        o->state = PAYMENTS_CRYPTO_REVERSED;
        return output_update(tx, rep, o, out.applied[0].id, now_ms);
    }
    char reason[PAM_BLOCK_REASON_MAX + 1];
    snprintf(reason, sizeof(reason), "crypto deposit %s:%.100s:%lld dropped by a chain"
             " reorganisation after it was played", rep->chain, rep->txid, (long long)rep->vout);
    rc = pam_player_block_set(tx, o->player_id, PAM_BLOCK_WITHDRAW, reason, now_ms);
    if (rc != PB_OK)
        return PB_ERR_DB;
    pb_log(PB_LOG_WARN, "crypto reorganisation: funds already played, withdrawals blocked",
           "\"player_id\":\"%s\",\"txid\":\"%.100s\"", o->player_id, rep->txid);
    o->state = PAYMENTS_CRYPTO_HELD;
    return output_update(tx, rep, o, 0, now_ms);
}

static int emit_output(struct store *tx, struct writer_cmd *cmd,
                       const struct payments_chain_report *rep, const struct output *o)
{
    char type[64];
    snprintf(type, sizeof(type), "payments.crypto_%s", payments_crypto_state_name(o->state));
    return payments__emit(tx, cmd, type, o->player_id,
                          "{\"chain\":\"%s\",\"txid\":\"%.128s\",\"vout\":%lld,"
                          "\"amount_minor\":%lld,\"asset\":\"%s\",\"confirmations\":%lld}",
                          rep->chain, rep->txid, (long long)rep->vout,
                          (long long)o->amount_minor, o->asset, (long long)o->confirmations);
}

int payments_crypto_report(struct ledger *lg, struct store *tx, struct writer_cmd *cmd,
                           const struct payments_settings *set,
                           const struct payments_chain_report *rep, int64_t now_ms,
                           struct payments_crypto_result *res)
{
    struct output o;
    memset(res, 0, sizeof(*res));
    memset(&o, 0, sizeof(o));
    PB_ASSERT(rep->vout >= 0 && rep->confirmations >= 0 && rep->amount_minor > 0);
    int rc = output_get(tx, rep, &o);
    if (rc == PB_ERR_NOT_FOUND) {
        if (rep->dropped)
            return PB_OK; /* never seen, now gone: nothing to do */
        rc = output_insert(tx, rep, now_ms, &o, &res->unknown_address);
        if (rc != PB_OK || res->unknown_address)
            return rc;
        res->changed = true;
    } else if (rc != PB_OK) {
        return rc;
    }
    pb_strlcpy(res->player_id, o.player_id, sizeof(res->player_id));
    enum payments_crypto_state before = o.state;
    res->state = o.state;
    if (o.state == PAYMENTS_CRYPTO_REVERSED || o.state == PAYMENTS_CRYPTO_HELD ||
        o.state == PAYMENTS_CRYPTO_DROPPED)
        return PB_OK; /* final: a late or repeated report changes nothing */
    if (rep->dropped || rep->amount_minor != o.amount_minor) {
        if (o.state == PAYMENTS_CRYPTO_SEEN) {
            o.state = PAYMENTS_CRYPTO_DROPPED;
            rc = output_update(tx, rep, &o, 0, now_ms);
        } else {
            rc = crypto_reorg(lg, tx, cmd, rep, &o, now_ms);
        }
    } else {
        int64_t transfer_id = 0;
        o.confirmations = rep->confirmations;
        if (o.state == PAYMENTS_CRYPTO_SEEN && o.confirmations >= set->confirmations_play) {
            struct ledger_outcome out;
            rc = crypto_transfer(lg, tx, cmd, rep, &o, true, &out);
            if (rc == PB_OK && out.error != LEDGER_OK) {
                /* Refused by the guard (self-exclusion, deposit limit): stays seen, for staff
                 * to return the funds; the report is answered all the same. */
                pb_log(PB_LOG_WARN, "crypto credit refused", "\"player_id\":\"%s\","
                       "\"error\":\"%s\",\"code\":\"%s\"", o.player_id,
                       ledger_error_name(out.error), out.refusal.code);
            } else if (rc == PB_OK) {
                o.state = PAYMENTS_CRYPTO_CREDITED;
                transfer_id = out.applied[0].id;
            }
        }
        if (rc == PB_OK && o.state == PAYMENTS_CRYPTO_CREDITED &&
            o.confirmations >= set->confirmations_withdraw)
            o.state = PAYMENTS_CRYPTO_SETTLED;
        rc = rc ? rc : output_update(tx, rep, &o, transfer_id, now_ms);
    }
    if (rc != PB_OK)
        return rc;
    res->state = o.state;
    bool first = res->changed; /* inserted by this report */
    res->changed = first || o.state != before;
    return first || o.state != before ? emit_output(tx, cmd, rep, &o) : PB_OK;
}
