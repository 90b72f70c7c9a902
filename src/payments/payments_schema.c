/* payments_schema.c: the payments tables (module "payments" migrations). docs/payments.md.
 *
 * payment_deposits        one row per deposit; reference unique (what the PSP reports);
 *                         state changed only by conditional updates (payments_deposit_settle).
 * payment_withdrawals     one row per withdrawal; reference unique (the PSP's idempotency key).
 * payment_webhook_events  (psp, event_id) of every webhook applied: a repeat is ignored.
 * payment_crypto_addresses the imported pool; player_id '' until assigned; one address per
 *                         (player, chain, asset).
 * payment_crypto_outputs  (chain, txid, vout) unique: one credit per output, ever. */
#include "base/base.h"
#include "payments/payments.h"

const struct store_migration payments_migrations[] = {
    {"payments", 1, "deposits, withdrawals, webhook events, crypto addresses and outputs",
     "CREATE TABLE payment_deposits ("
     " id TEXT PRIMARY KEY, player_id TEXT NOT NULL, method TEXT NOT NULL, psp TEXT NOT NULL,"
     " reference TEXT NOT NULL UNIQUE, currency TEXT NOT NULL, amount_minor BIGINT NOT NULL,"
     " fee_minor BIGINT NOT NULL, fee_bearer INTEGER NOT NULL, state INTEGER NOT NULL,"
     " scenario TEXT NOT NULL, pending_transfer_id BIGINT NOT NULL,"
     " created_at_ms BIGINT NOT NULL, updated_at_ms BIGINT NOT NULL,"
     " expires_at_ms BIGINT NOT NULL);"
     "CREATE INDEX payment_deposits_player ON payment_deposits (player_id, created_at_ms);"
     "CREATE INDEX payment_deposits_open ON payment_deposits (state, expires_at_ms);"
     "CREATE TABLE payment_withdrawals ("
     " id TEXT PRIMARY KEY, player_id TEXT NOT NULL, method TEXT NOT NULL, psp TEXT NOT NULL,"
     " reference TEXT NOT NULL UNIQUE, currency TEXT NOT NULL, destination TEXT NOT NULL,"
     " amount_minor BIGINT NOT NULL, state INTEGER NOT NULL, review_reasons TEXT NOT NULL,"
     " reviewer TEXT NOT NULL, reason TEXT NOT NULL, batch TEXT NOT NULL,"
     " created_at_ms BIGINT NOT NULL, updated_at_ms BIGINT NOT NULL);"
     "CREATE INDEX payment_withdrawals_state ON payment_withdrawals (state, created_at_ms);"
     "CREATE TABLE payment_webhook_events ("
     " psp TEXT NOT NULL, event_id TEXT NOT NULL, received_at_ms BIGINT NOT NULL,"
     " PRIMARY KEY (psp, event_id));"
     "CREATE TABLE payment_crypto_addresses ("
     " chain TEXT NOT NULL, asset TEXT NOT NULL, address TEXT NOT NULL,"
     " player_id TEXT NOT NULL, imported_at_ms BIGINT NOT NULL, assigned_at_ms BIGINT NOT NULL,"
     " PRIMARY KEY (chain, address));"
     "CREATE INDEX payment_crypto_addresses_player ON payment_crypto_addresses"
     " (player_id, chain, asset);"
     "CREATE TABLE payment_crypto_outputs ("
     " chain TEXT NOT NULL, txid TEXT NOT NULL, vout BIGINT NOT NULL, asset TEXT NOT NULL,"
     " address TEXT NOT NULL, player_id TEXT NOT NULL, amount_minor BIGINT NOT NULL,"
     " confirmations BIGINT NOT NULL, state INTEGER NOT NULL, transfer_id BIGINT NOT NULL,"
     " created_at_ms BIGINT NOT NULL, updated_at_ms BIGINT NOT NULL,"
     " PRIMARY KEY (chain, txid, vout));"
     "CREATE INDEX payment_crypto_outputs_player ON payment_crypto_outputs"
     " (player_id, asset, state);",
     NULL},
};
const size_t payments_migrations_count = PB_ARRAY_LEN(payments_migrations);
