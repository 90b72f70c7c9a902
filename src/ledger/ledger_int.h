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
 * the copy as each transfer is applied, and each account the group moved is written once,
 * with a plain UPDATE by id, when the group's transfers are done (before the guard runs), so
 * the row is exact whenever ledger_apply is not running (readers inside the batch see it) and
 * a bet and its win cost one row write. Each change appends the account's id to the touched
 * log (part of the state, so snapshots truncate it); rolling back to a snapshot drops the
 * cached totals of the accounts touched since, and the next use reloads them from the
 * rolled-back row. This saves the conditional statement's RETURNING (an ephemeral table per
 * statement on SQLite) and a SELECT when a rule refuses.
 *
 * Account metadata (currency, code, flags, owner) never changes after opening, so the writer
 * caches it (bounded, cleared when full) and skips a SELECT per transfer.
 *
 * Chains (schema.c, version 2): each transfer row names, per non-hot side, the previous
 * transfer of that account (the account row's last_transfer, read with its totals and
 * written by the same UPDATE), so an account's history is a walk down the chain and no
 * history index is maintained. Hot accounts have no chain (their side's pointer is NULL and
 * their last_transfer stays 0): a house account's history is the transfer log itself. The
 * head comes from the writer's copy of the row (cached with the totals, dropped on rollback
 * like them); one writer per database, as the ids and the hash chain already require.
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

/* Migration 2's backfill of the chains of existing rows (schema.c; also run by the tests on a
 * ledger whose chains they wiped): every non-hot side's previous transfer of its account, and
 * every non-hot account's last transfer. While it runs the history indexes still exist, so
 * each lookup is one index probe. 2 = LEDGER_FLAG_HOT. */
#define LEDGER__CHAIN_BACKFILL_SQL                                                             \
    "UPDATE ledger_transfers SET debit_prev = COALESCE((SELECT MAX(p.id) FROM"                 \
    " ledger_transfers p WHERE p.id < ledger_transfers.id AND"                                 \
    " (p.debit_account = ledger_transfers.debit_account"                                       \
    " OR p.credit_account = ledger_transfers.debit_account)), 0)"                              \
    " WHERE debit_account IN (SELECT id FROM ledger_accounts WHERE (flags & 2) = 0);"          \
    "UPDATE ledger_transfers SET credit_prev = COALESCE((SELECT MAX(p.id) FROM"                \
    " ledger_transfers p WHERE p.id < ledger_transfers.id AND"                                 \
    " (p.debit_account = ledger_transfers.credit_account"                                      \
    " OR p.credit_account = ledger_transfers.credit_account)), 0)"                             \
    " WHERE credit_account IN (SELECT id FROM ledger_accounts WHERE (flags & 2) = 0);"         \
    "UPDATE ledger_accounts SET last_transfer = COALESCE((SELECT MAX(t.id) FROM"               \
    " ledger_transfers t WHERE t.debit_account = ledger_accounts.id"                           \
    " OR t.credit_account = ledger_accounts.id), 0) WHERE (flags & 2) = 0;"

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
    bool has_totals;               /* totals and last_transfer are the row's current values */
    struct ledger__totals totals;  /* SQLite: authoritative (PostgreSQL: as last written) */
    int64_t last_transfer;         /* non-hot: the head of the account's chain (0: none) */
};

struct ledger {
    struct ledger__state cur, cmd_start, batch_start;
    struct ledger__delta *deltas; /* grows to at most LEDGER_DELTA_LOG_MAX entries */
    size_t deltas_cap;
    struct ledger__meta *meta;    /* meta_slots slots, open addressing */
    size_t meta_slots;            /* LEDGER_META_CACHE_MAX (tests: fewer) */
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
 * (*cached holds the statement across calls; the caller finalizes it, and uses one statement
 * per kind of call: with or without a chain head). When no_overdraft, the account's
 * credits_posted - debits_posted - debits_pending must be >= need before the change. Every
 * total must stay within 0..INT64_MAX. last_transfer >= 0 becomes the account's chain head;
 * < 0 leaves it (hot accounts). Returns 0 (changed; *after, when not NULL, gets the new
 * totals), 1 (a rule refused it: nothing changed) or PB_ERR_DB. */
int ledger__update_totals(struct store *tx, struct store_stmt **cached,
                          const struct ledger__delta *d, bool no_overdraft, int64_t need,
                          int64_t last_transfer, struct ledger__totals *after);

/* Tests: shrinks the metadata cache to slots (8..LEDGER_META_CACHE_MAX; cleared at half full)
 * so that a few accounts exercise its clearing; empties it. */
void ledger__set_meta_slots(struct ledger *lg, size_t slots);

/* hex SHA-256 over prev_hash_hex and the canonical bytes of row (out: 65 bytes). */
void ledger__transfer_hash(const char *prev_hash_hex, const struct ledger__row *row,
                           char out[LEDGER_HASH_HEX + 1]);

#endif
