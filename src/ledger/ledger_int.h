/* ledger_int.h: the ledger's internals and design notes. Public contract: ledger.h.
 *
 * Writer-thread state. The writer is the only thread that writes, so the ledger keeps, in
 * struct ledger__state, the next transfer id, the next account id, the last timestamp and the
 * head of the hash chain, loaded from the database at start (writer participant "load").
 * A snapshot of the state is taken when a command begins and when a linked group begins;
 * rolling back the command's (or group's) savepoint restores the snapshot, so ids stay dense
 * and the chain never skips. A failed COMMIT restores the batch-start snapshot.
 *
 * Hot accounts (house accounts, LEDGER_FLAG_HOT) are not updated per transfer: each change
 * is appended to the batch's delta log (part of the state, so snapshots truncate it), and
 * before COMMIT the log is summed per account and written with one UPDATE per account. A
 * hot account's row therefore lags inside a batch and is exact after every commit. No rule
 * reads a hot account's balance (house accounts may go negative), so nothing depends on the
 * lag. On PostgreSQL with several nodes the same UPDATE (balance = balance + delta) is
 * commutative, so it stays correct there too.
 *
 * Player accounts are updated per transfer. On PostgreSQL (where several nodes may write one
 * database) with a conditional UPDATE ... RETURNING whose WHERE clause enforces no-overdraft
 * and the int64 bounds of every total: zero rows changed means the rule refused it. On SQLite
 * the writer is the only writer of the file, so its cached copy of an account's totals (in
 * the metadata cache, loaded on first use) is authoritative: the rules are checked in C on
 * the copy and the row is written through with a plain UPDATE by id, so the row is exact
 * after every transfer (readers inside the batch, such as the guard, see it). Each change
 * appends the account's id to the touched log (part of the state, so snapshots truncate
 * it); rolling back to a snapshot drops the cached totals of the accounts touched since,
 * and the next use reloads them from the rolled-back row. This saves the conditional
 * statement's RETURNING (an ephemeral table per statement on SQLite) and a SELECT when a
 * rule refuses.
 *
 * Account metadata (currency, code, flags, owner) never changes after opening, so the writer
 * caches it (bounded, cleared when full) and skips a SELECT per transfer.
 *
 * The hash chain: hash = hex(SHA-256(prev_hash_hex || canonical bytes)); the canonical bytes
 * are the transfer's fields as text joined by '|' in a fixed order (ledger__transfer_hash).
 * The first transfer's prev_hash is 64 '0'. One chain per database: ids come from one writer,
 * so several nodes writing one PostgreSQL ledger need per-node chains (not built yet).
 *
 * Timestamps are nanoseconds since the epoch, max(now, last + 1): strictly increasing. */
#ifndef PB_LEDGER_INT_H
#define PB_LEDGER_INT_H

#include "base/limits.h"
#include "ledger/ledger.h"

#define LEDGER_META_CACHE_MAX 32768 /* slots; cleared at half full: 16384 accounts, ~2 MiB */
#define LEDGER_DELTA_LOG_MAX (PB_WRITER_BATCH_MAX_CEILING * 2 * LEDGER_LINKED_MAX)

/* One change to a hot account's totals, waiting for the batch's flush. */
struct ledger__delta {
    int64_t account;
    int64_t debits_posted, credits_posted, debits_pending, credits_pending;
};

struct ledger__state {
    int64_t next_transfer_id;
    int64_t next_account_id;
    int64_t last_ts_ns;
    char head_hash[LEDGER_HASH_HEX + 1];
    size_t ndeltas; /* entries of the delta log that belong to the state */
    size_t ntouched; /* entries of the touched log (SQLite totals) that belong to the state */
};

/* An account's four totals. */
struct ledger__totals {
    int64_t debits_posted, credits_posted, debits_pending, credits_pending;
};

struct ledger__meta {
    int64_t id; /* 0: empty slot */
    char currency[LEDGER_CURRENCY_MAX + 1];
    int code;
    uint32_t flags;
    char owner[LEDGER_OWNER_MAX + 1];
    bool has_totals;               /* SQLite: totals is the account row's current value */
    struct ledger__totals totals;
};

struct ledger {
    struct ledger__state cur, cmd_start, batch_start;
    struct ledger__delta *deltas; /* grows to at most LEDGER_DELTA_LOG_MAX entries */
    size_t deltas_cap;
    struct ledger__meta *meta;    /* LEDGER_META_CACHE_MAX slots, open addressing */
    size_t nmeta;
    int64_t *touched;             /* SQLite: accounts whose cached totals changed this batch */
    size_t touched_cap;
    bool loaded;
    struct ledger_guard guard; /* ledger_set_guard; check NULL: none */
};

/* The fields that the hash covers, in canonical order. */
struct ledger__row {
    int64_t id, ts_ns;
    int kind;
    int64_t debit_account, credit_account, amount;
    const char *currency;
    int code;
    int64_t pending_id, expires_ns; /* 0 when absent */
    int64_t group_id;
    const char *idem;               /* "" when absent */
    const char *reference, *metadata;
};

/* Adds d's four deltas to account d->account with one conditional UPDATE ... RETURNING
 * (*cached holds the statement across calls; the caller finalizes it). When no_overdraft,
 * the account's credits_posted - debits_posted - debits_pending must be >= need before the
 * change. Every total must stay within 0..INT64_MAX. Returns 0 (changed; *after, when not
 * NULL, gets the new totals), 1 (a rule refused it: nothing changed) or PB_ERR_DB. */
int ledger__update_totals(struct store *tx, struct store_stmt **cached,
                          const struct ledger__delta *d, bool no_overdraft, int64_t need,
                          struct ledger__totals *after);

/* hex SHA-256 over prev_hash_hex and the canonical bytes of row (out: 65 bytes). */
void ledger__transfer_hash(const char *prev_hash_hex, const struct ledger__row *row,
                           char out[LEDGER_HASH_HEX + 1]);

#endif
