/* schema.c: the ledger's tables (module "ledger" migrations). Design: ledger_int.h.
 *
 * ledger_accounts     one row per account; totals are the only columns ever updated.
 * ledger_transfers    append-only; id is dense and increasing (assigned by the writer), so the
 *                     hash chain follows id order. kind: 0 posted, 1 pending, 2 post, 3 void.
 *                     pending_id is set on post/void rows and unique: a pending transfer is
 *                     resolved at most once. group_id is the id of the first transfer of its
 *                     linked group. idem is "scope:key" of the request that applied it
 *                     (not indexed: only verification reads it, in one pass).
 * ledger_idempotency  one row per (scope, key): the canonical request and the recorded result.
 *
 * Version 2 replaces the two history indexes (debit_account, id) and (credit_account, id) by
 * per-account chains: every transfer row carries, per side, the id of the previous transfer
 * of that side's account (debit_prev, credit_prev; 0 for the account's first transfer, NULL
 * on the side of a hot account, which has no chain), and each non-hot account row its last
 * transfer (last_transfer). An index entry per side was a B-tree insert at a random position
 * on every commit; the chain costs nothing beyond the row, which is appended. History and
 * verification walk the chains (read.c, verify.c).
 *
 * Version 3 drops ledger_idempotency.fingerprint: the SHA-256 of the canonical request, which
 * the stored request itself answers (idempotency.c). */
#include "base/base.h"
#include "ledger/ledger_int.h"

const struct store_migration ledger_migrations[] = {
    {"ledger", 1, "accounts, transfers, idempotency",
     "CREATE TABLE ledger_accounts ("
     " id BIGINT PRIMARY KEY, currency TEXT NOT NULL, code INTEGER NOT NULL,"
     " owner TEXT NOT NULL, flags INTEGER NOT NULL,"
     " debits_posted BIGINT NOT NULL, credits_posted BIGINT NOT NULL,"
     " debits_pending BIGINT NOT NULL, credits_pending BIGINT NOT NULL,"
     " created_ns BIGINT NOT NULL, UNIQUE (owner, code, currency));"
     "CREATE TABLE ledger_transfers ("
     " id BIGINT PRIMARY KEY, ts_ns BIGINT NOT NULL, kind INTEGER NOT NULL,"
     " debit_account BIGINT NOT NULL, credit_account BIGINT NOT NULL,"
     " amount BIGINT NOT NULL, currency TEXT NOT NULL, code INTEGER NOT NULL,"
     " pending_id BIGINT, expires_ns BIGINT, group_id BIGINT NOT NULL, idem TEXT,"
     " reference TEXT NOT NULL, metadata TEXT NOT NULL,"
     " prev_hash TEXT NOT NULL, hash TEXT NOT NULL);"
     "CREATE UNIQUE INDEX ledger_transfers_resolution ON ledger_transfers (pending_id)"
     " WHERE pending_id IS NOT NULL;"
     "CREATE INDEX ledger_transfers_debit ON ledger_transfers (debit_account, id);"
     "CREATE INDEX ledger_transfers_credit ON ledger_transfers (credit_account, id);"
     "CREATE INDEX ledger_transfers_open ON ledger_transfers (expires_ns) WHERE kind = 1;"
     "CREATE TABLE ledger_idempotency ("
     " scope TEXT NOT NULL, key TEXT NOT NULL, fingerprint TEXT NOT NULL,"
     " request TEXT NOT NULL, status INTEGER NOT NULL, body TEXT NOT NULL,"
     " created_ns BIGINT NOT NULL, PRIMARY KEY (scope, key));",
     NULL},
    {"ledger", 2, "per-account transfer chains instead of history indexes",
     "ALTER TABLE ledger_transfers ADD COLUMN debit_prev BIGINT;"
     "ALTER TABLE ledger_transfers ADD COLUMN credit_prev BIGINT;"
     "ALTER TABLE ledger_accounts ADD COLUMN last_transfer BIGINT NOT NULL DEFAULT 0;"
     LEDGER__CHAIN_BACKFILL_SQL
     "DROP INDEX ledger_transfers_debit;"
     "DROP INDEX ledger_transfers_credit;",
     NULL},
    {"ledger", 3, "idempotency records without the request fingerprint",
     "ALTER TABLE ledger_idempotency DROP COLUMN fingerprint;", NULL},
};
const size_t ledger_migrations_count = PB_ARRAY_LEN(ledger_migrations);
