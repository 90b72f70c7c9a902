/* ledger.c: the ledger's writer side: state and snapshots (a writer participant), accounts,
 * linked transfers with two-phase and no-overdraft rules, the hash chain, hot-account deltas
 * and expiry. Design notes: ledger_int.h; contract: ledger.h. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/base.h"
#include "base/log.h"
#include "base/sha256.h"
#include "ledger/ledger_int.h"

static const char zero_hash[LEDGER_HASH_HEX + 1] =
    "0000000000000000000000000000000000000000000000000000000000000000";

int64_t ledger_posted_balance(const struct ledger_account *a)
{
    return a->credits_posted - a->debits_posted;
}

int64_t ledger_available(const struct ledger_account *a)
{
    return a->credits_posted - a->debits_posted - a->debits_pending;
}

const char *ledger_error_name(enum ledger_error e)
{
    static const char *const names[] = {
        "ok", "invalid", "account_not_found", "currency_mismatch", "insufficient_funds",
        "overflow", "pending_not_found", "pending_resolved", "pending_expired",
        "post_exceeds_pending", "refused",
    };
    PB_ASSERT((size_t)e < PB_ARRAY_LEN(names));
    return names[e];
}

/* Appends v and '|' at *p (the canonical bytes' integer fields, as "%lld|"). */
static char *put_field(char *p, int64_t v)
{
    p += pb_i64_text(v, p);
    *p++ = '|';
    return p;
}

void ledger__transfer_hash(const char *prev_hash_hex, const struct ledger__row *r,
                           char out[LEDGER_HASH_HEX + 1])
{
    /* "v1|id|ts|kind|debit|credit|amount|currency|code|pending|expires|group|" */
    char head[16 + 10 * PB_I64_TEXT_MAX + LEDGER_CURRENCY_MAX + 1];
    char *p = head;
    memcpy(p, "v1|", 3);
    p += 3;
    const int64_t before[] = {r->id, r->ts_ns, r->kind, r->debit_account, r->credit_account,
                              r->amount};
    for (size_t i = 0; i < PB_ARRAY_LEN(before); i++)
        p = put_field(p, before[i]);
    size_t clen = strlen(r->currency);
    PB_ASSERT(clen <= LEDGER_CURRENCY_MAX);
    memcpy(p, r->currency, clen);
    p += clen;
    *p++ = '|';
    const int64_t after[] = {r->code, r->pending_id, r->expires_ns, r->group_id};
    for (size_t i = 0; i < PB_ARRAY_LEN(after); i++)
        p = put_field(p, after[i]);
    PB_ASSERT((size_t)(p - head) < sizeof(head));
    /* Variable-length fields carry their length, so no separator can be forged inside one. */
    const char *vars[] = {r->idem, r->reference, r->metadata};
    char lens[PB_ARRAY_LEN(vars)][PB_I64_TEXT_MAX + 1];
    struct pb_sha256_part parts[2 + 2 * PB_ARRAY_LEN(vars)] = {
        {prev_hash_hex, LEDGER_HASH_HEX}, {head, (size_t)(p - head)}};
    for (size_t i = 0; i < PB_ARRAY_LEN(vars); i++) {
        size_t vlen = strlen(vars[i]);
        size_t m = pb_i64_text((int64_t)vlen, lens[i]);
        lens[i][m++] = ':';
        parts[2 + 2 * i] = (struct pb_sha256_part){lens[i], m};
        parts[3 + 2 * i] = (struct pb_sha256_part){vars[i], vlen};
    }
    unsigned char digest[PB_SHA256_DIGEST_LEN];
    pb_sha256_parts(parts, PB_ARRAY_LEN(parts), digest);
    pb_sha256_to_hex(digest, out);
}

/* ---- state and the writer participant ---- */

struct ledger *ledger_new(void)
{
    struct ledger *lg = pb_calloc(1, sizeof(*lg));
    lg->meta_slots = LEDGER_META_CACHE_MAX;
    lg->meta = pb_calloc(lg->meta_slots, sizeof(*lg->meta));
    return lg;
}

void ledger_free(struct ledger *lg)
{
    if (!lg)
        return;
    pb_free(lg->deltas);
    pb_free(lg->touched);
    pb_free(lg->meta);
    pb_free(lg);
}

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int load_max(struct store *tx, const char *sql, int64_t *out)
{
    struct store_stmt *st;
    if (store_prepare(tx, sql, &st) != PB_OK)
        return PB_ERR_DB;
    int rc = store_step(st);
    *out = rc == STORE_ROW ? store_column_int64(st, 0) : 0;
    store_finalize(st);
    return rc == STORE_ROW ? PB_OK : PB_ERR_DB;
}

static int load_state(struct store *tx, void *arg)
{
    struct ledger *lg = arg;
    struct ledger__state s = {0};
    int64_t max_transfer, max_account;
    if (load_max(tx, "SELECT COALESCE(MAX(id), 0) FROM ledger_transfers", &max_transfer) ||
        load_max(tx, "SELECT COALESCE(MAX(id), 0) FROM ledger_accounts", &max_account) ||
        load_max(tx, "SELECT COALESCE(MAX(ts_ns), 0) FROM ledger_transfers", &s.last_ts_ns))
        return PB_ERR_DB;
    s.next_transfer_id = max_transfer + 1;
    s.next_account_id = max_account + 1;
    pb_strlcpy(s.head_hash, zero_hash, sizeof(s.head_hash));
    if (max_transfer > 0) {
        struct store_stmt *st;
        if (store_prepare(tx, "SELECT hash FROM ledger_transfers WHERE id = ?", &st))
            return PB_ERR_DB;
        store_bind_int64(st, 1, max_transfer);
        int rc = store_step(st);
        if (rc == STORE_ROW)
            pb_strlcpy(s.head_hash, store_column_text(st, 0), sizeof(s.head_hash));
        store_finalize(st);
        if (rc != STORE_ROW)
            return PB_ERR_DB;
    }
    lg->cur = lg->cmd_start = lg->batch_start = s;
    memset(lg->meta, 0, sizeof(*lg->meta) * lg->meta_slots);
    lg->nmeta = 0;
    lg->loaded = true;
    return PB_OK;
}

/* Returns to a snapshot; accounts opened since are gone, so their cached metadata goes too. */
static struct ledger__meta *meta_find(struct ledger *lg, int64_t id);

/* Returns to a snapshot; accounts opened since are gone, so their cached metadata goes too,
 * and the cached totals of accounts changed since are dropped (reloaded on next use). */
static void restore(struct ledger *lg, const struct ledger__state *snap)
{
    if (lg->cur.next_account_id != snap->next_account_id) {
        memset(lg->meta, 0, sizeof(*lg->meta) * lg->meta_slots);
        lg->nmeta = 0;
    }
    PB_ASSERT(snap->ntouched <= lg->cur.ntouched);
    for (size_t i = snap->ntouched; i < lg->cur.ntouched; i++) {
        struct ledger__meta *m = meta_find(lg, lg->touched[i]);
        if (m)
            m->has_totals = false;
    }
    lg->cur = *snap;
}

static void command_begin(void *arg)
{
    struct ledger *lg = arg;
    lg->cmd_start = lg->cur;
}

static void command_end(bool kept, void *arg)
{
    struct ledger *lg = arg;
    if (!kept)
        restore(lg, &lg->cmd_start);
}

static int by_account(const void *a, const void *b)
{
    const struct ledger__delta *x = a, *y = b;
    return x->account < y->account ? -1 : x->account > y->account;
}

/* Sums the delta log per account (sorted, so runs are adjacent) and writes each hot account
 * once. The log is discarded after the batch either way, so sorting it in place is fine. */
static int flush_deltas(struct store *tx, void *arg)
{
    struct ledger *lg = arg;
    size_t n = lg->cur.ndeltas;
    if (n == 0)
        return PB_OK;
    qsort(lg->deltas, n, sizeof(*lg->deltas), by_account);
    int rc = PB_OK;
    struct store_stmt *st = NULL;
    for (size_t i = 0; i < n && rc == PB_OK;) {
        struct ledger__delta sum = lg->deltas[i++];
        for (; i < n && lg->deltas[i].account == sum.account && rc == PB_OK; i++) {
            const struct ledger__delta *d = &lg->deltas[i];
            if (ledger_add(sum.debits_posted, d->debits_posted, &sum.debits_posted) ||
                ledger_add(sum.credits_posted, d->credits_posted, &sum.credits_posted) ||
                ledger_add(sum.debits_pending, d->debits_pending, &sum.debits_pending) ||
                ledger_add(sum.credits_pending, d->credits_pending, &sum.credits_pending))
                rc = PB_ERR_DB;
        }
        if (rc == PB_OK && ledger__update_totals(tx, &st, &sum, false, 0, -1, NULL) != PB_OK)
            rc = PB_ERR_DB; /* 1: a bound refused it, a house total would overflow */
    }
    store_finalize(st);
    if (rc != PB_OK)
        pb_log(PB_LOG_ERROR, "ledger cannot write hot account totals", NULL);
    return rc;
}

static void batch_end(bool committed, void *arg)
{
    struct ledger *lg = arg;
    if (committed) {
        lg->cur.ndeltas = 0;
        lg->cur.ntouched = 0;
        lg->batch_start = lg->cur;
    } else {
        restore(lg, &lg->batch_start);
    }
    lg->cmd_start = lg->cur;
}

struct writer_participant ledger_participant(struct ledger *lg)
{
    return (struct writer_participant){.arg = lg, .load = load_state,
                                       .command_begin = command_begin,
                                       .command_end = command_end,
                                       .before_commit = flush_deltas, .batch_end = batch_end};
}

/* ---- account totals ---- */

/* The rules of ledger__update_totals' statement: every total stays in range, and available
 * covers the need when the account has no overdraft. */
#define UPDATE_TOTALS_CHECKS                                                                   \
    " AND debits_posted BETWEEN ? AND ? AND credits_posted BETWEEN ? AND ?"                    \
    " AND debits_pending BETWEEN ? AND ? AND credits_pending BETWEEN ? AND ?"                  \
    " AND (? = 0 OR credits_posted - debits_posted - debits_pending >= ?)"                     \
    " RETURNING debits_posted, credits_posted, debits_pending, credits_pending"

static void bounds(int64_t delta, int64_t *lo, int64_t *hi)
{
    *lo = delta < 0 ? -delta : 0;
    *hi = delta > 0 ? INT64_MAX - delta : INT64_MAX;
}

int ledger__update_totals(struct store *tx, struct store_stmt **cached,
                          const struct ledger__delta *d, bool no_overdraft, int64_t need,
                          int64_t last_transfer, struct ledger__totals *after)
{
    if (!*cached &&
        store_prepare(tx, last_transfer >= 0
                              ? "UPDATE ledger_accounts SET debits_posted = debits_posted + ?,"
                                " credits_posted = credits_posted + ?,"
                                " debits_pending = debits_pending + ?,"
                                " credits_pending = credits_pending + ?, last_transfer = ?"
                                " WHERE id = ?" UPDATE_TOTALS_CHECKS
                              : "UPDATE ledger_accounts SET debits_posted = debits_posted + ?,"
                                " credits_posted = credits_posted + ?,"
                                " debits_pending = debits_pending + ?,"
                                " credits_pending = credits_pending + ?"
                                " WHERE id = ?" UPDATE_TOTALS_CHECKS,
                      cached) != PB_OK)
        return PB_ERR_DB;
    struct store_stmt *st = *cached;
    const int64_t deltas[4] = {d->debits_posted, d->credits_posted, d->debits_pending,
                               d->credits_pending};
    int idx = 1, rc = PB_OK;
    for (int i = 0; i < 4 && rc == PB_OK; i++)
        rc = store_bind_int64(st, idx++, deltas[i]);
    if (last_transfer >= 0)
        rc = rc ? rc : store_bind_int64(st, idx++, last_transfer);
    rc = rc ? rc : store_bind_int64(st, idx++, d->account);
    for (int i = 0; i < 4 && rc == PB_OK; i++) {
        int64_t lo, hi;
        bounds(deltas[i], &lo, &hi);
        rc = store_bind_int64(st, idx++, lo);
        rc = rc ? rc : store_bind_int64(st, idx++, hi);
    }
    rc = rc ? rc : store_bind_int64(st, idx++, no_overdraft ? 1 : 0);
    rc = rc ? rc : store_bind_int64(st, idx++, need);
    int step = rc == PB_OK ? store_step(st) : PB_ERR_DB;
    if (step == STORE_ROW && after)
        *after = (struct ledger__totals){store_column_int64(st, 0), store_column_int64(st, 1),
                                         store_column_int64(st, 2), store_column_int64(st, 3)};
    if (step == STORE_ROW) /* one row at most: the id is the key */
        step = store_step(st) == STORE_DONE ? STORE_ROW : PB_ERR_DB;
    store_reset(st);
    if (step < 0)
        return PB_ERR_DB;
    return step == STORE_ROW ? 0 : 1;
}

/* ---- account metadata ---- */

static size_t meta_slot(const struct ledger *lg, int64_t id)
{
    uint64_t h = (uint64_t)id * UINT64_C(0x9E3779B97F4A7C15);
    return (size_t)(h >> 20) % lg->meta_slots;
}

void ledger__set_meta_slots(struct ledger *lg, size_t slots)
{
    PB_ASSERT(slots >= 8 && slots <= LEDGER_META_CACHE_MAX);
    lg->meta_slots = slots;
    memset(lg->meta, 0, sizeof(*lg->meta) * LEDGER_META_CACHE_MAX);
    lg->nmeta = 0;
}

static void meta_put(struct ledger *lg, const struct ledger__meta *m)
{
    if (lg->nmeta >= lg->meta_slots / 2) { /* keep probes short: start over */
        memset(lg->meta, 0, sizeof(*lg->meta) * lg->meta_slots);
        lg->nmeta = 0;
    }
    size_t i = meta_slot(lg, m->id);
    while (lg->meta[i].id != 0 && lg->meta[i].id != m->id)
        i = (i + 1) % lg->meta_slots;
    if (lg->meta[i].id == 0)
        lg->nmeta++;
    lg->meta[i] = *m;
}

/* The cache slot of account id, or NULL. The pointer is valid until the next meta_put. */
static struct ledger__meta *meta_find(struct ledger *lg, int64_t id)
{
    for (size_t i = meta_slot(lg, id); lg->meta[i].id != 0; i = (i + 1) % lg->meta_slots)
        if (lg->meta[i].id == id)
            return &lg->meta[i];
    return NULL;
}

/* Finds account id's metadata (cache, then database; a row read from the database brings its
 * totals into the cache too). 0, PB_ERR_NOT_FOUND or PB_ERR_DB. */
static int meta_get(struct ledger *lg, struct store *tx, int64_t id, struct ledger__meta *out)
{
    if (id <= 0)
        return PB_ERR_NOT_FOUND;
    const struct ledger__meta *hit = meta_find(lg, id);
    if (hit) {
        *out = *hit;
        return PB_OK;
    }
    struct store_stmt *st;
    if (store_prepare(tx, "SELECT currency, code, flags, owner, debits_posted, credits_posted,"
                          " debits_pending, credits_pending, last_transfer FROM ledger_accounts"
                          " WHERE id = ?", &st) != PB_OK)
        return PB_ERR_DB;
    store_bind_int64(st, 1, id);
    int rc = store_step(st);
    if (rc == STORE_ROW) {
        out->id = id;
        pb_strlcpy(out->currency, store_column_text(st, 0), sizeof(out->currency));
        out->code = (int)store_column_int64(st, 1);
        out->flags = (uint32_t)store_column_int64(st, 2);
        pb_strlcpy(out->owner, store_column_text(st, 3), sizeof(out->owner));
        out->totals = (struct ledger__totals){store_column_int64(st, 4),
                                              store_column_int64(st, 5),
                                              store_column_int64(st, 6),
                                              store_column_int64(st, 7)};
        out->last_transfer = store_column_int64(st, 8);
        out->has_totals = true;
        meta_put(lg, out);
    }
    store_finalize(st);
    return rc == STORE_ROW ? PB_OK : rc == STORE_DONE ? PB_ERR_NOT_FOUND : PB_ERR_DB;
}

/* Account m's current totals and chain head from its row (after a rollback dropped them). */
static int load_totals(struct store *tx, struct ledger__meta *m)
{
    struct store_stmt *st;
    if (store_prepare(tx, "SELECT debits_posted, credits_posted, debits_pending,"
                          " credits_pending, last_transfer FROM ledger_accounts WHERE id = ?",
                      &st) != PB_OK)
        return PB_ERR_DB;
    store_bind_int64(st, 1, m->id);
    int rc = store_step(st);
    if (rc == STORE_ROW) {
        m->totals = (struct ledger__totals){store_column_int64(st, 0), store_column_int64(st, 1),
                                            store_column_int64(st, 2), store_column_int64(st, 3)};
        m->last_transfer = store_column_int64(st, 4);
        m->has_totals = true;
    }
    store_finalize(st);
    return rc == STORE_ROW ? PB_OK : PB_ERR_DB;
}

/* ---- opening accounts ---- */

static bool owner_ok(const char *owner)
{
    size_t n = strlen(owner);
    if (n == 0 || n > LEDGER_OWNER_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)owner[i] <= ' ' || (unsigned char)owner[i] >= 0x7f)
            return false;
    return true;
}

static int find_account(struct store *tx, const char *owner, int code, const char *currency,
                        int64_t *id_out)
{
    struct store_stmt *st;
    if (store_prepare(tx, "SELECT id FROM ledger_accounts WHERE owner = ? AND code = ?"
                          " AND currency = ?", &st) != PB_OK)
        return PB_ERR_DB;
    store_bind_text(st, 1, owner, strlen(owner));
    store_bind_int64(st, 2, code);
    store_bind_text(st, 3, currency, strlen(currency));
    int rc = store_step(st);
    if (rc == STORE_ROW)
        *id_out = store_column_int64(st, 0);
    store_finalize(st);
    return rc == STORE_ROW ? PB_OK : rc == STORE_DONE ? PB_ERR_NOT_FOUND : PB_ERR_DB;
}

int ledger_open_account(struct ledger *lg, struct store *tx, const char *owner, int code,
                        const char *currency, int64_t *id_out)
{
    PB_ASSERT(lg->loaded);
    if (!owner_ok(owner) || !ledger_account_code_name(code) || !ledger_currency_find(currency))
        return PB_ERR_INVALID;
    int rc = find_account(tx, owner, code, currency, id_out);
    if (rc != PB_ERR_NOT_FOUND)
        return rc;
    bool player = code == LEDGER_ACC_PLAYER_CASH || code == LEDGER_ACC_PLAYER_BONUS ||
                  code == LEDGER_ACC_PLAYER_LOCKED;
    struct ledger__meta m = {.id = lg->cur.next_account_id, .code = code,
                             .flags = player ? LEDGER_FLAG_NO_OVERDRAFT : LEDGER_FLAG_HOT};
    pb_strlcpy(m.currency, currency, sizeof(m.currency));
    pb_strlcpy(m.owner, owner, sizeof(m.owner));
    struct store_stmt *st;
    if (store_prepare(tx, "INSERT INTO ledger_accounts (id, currency, code, owner, flags,"
                          " debits_posted, credits_posted, debits_pending, credits_pending,"
                          " created_ns) VALUES (?, ?, ?, ?, ?, 0, 0, 0, 0, ?)", &st) != PB_OK)
        return PB_ERR_DB;
    store_bind_int64(st, 1, m.id);
    store_bind_text(st, 2, currency, strlen(currency));
    store_bind_int64(st, 3, code);
    store_bind_text(st, 4, owner, strlen(owner));
    store_bind_int64(st, 5, m.flags);
    store_bind_int64(st, 6, now_ns());
    rc = store_step(st) == STORE_DONE ? PB_OK : PB_ERR_DB;
    store_finalize(st);
    if (rc != PB_OK)
        return rc;
    lg->cur.next_account_id++;
    meta_put(lg, &m);
    *id_out = m.id;
    return PB_OK;
}

int ledger_open_player_accounts(struct ledger *lg, struct store *tx, const char *player_id,
                                const char *currency, int64_t ids_out[3])
{
    char owner[LEDGER_OWNER_MAX + 1];
    if (snprintf(owner, sizeof(owner), "player:%s", player_id) >= (int)sizeof(owner))
        return PB_ERR_INVALID;
    static const int codes[3] = {LEDGER_ACC_PLAYER_CASH, LEDGER_ACC_PLAYER_BONUS,
                                 LEDGER_ACC_PLAYER_LOCKED};
    for (int i = 0; i < 3; i++) {
        int rc = ledger_open_account(lg, tx, owner, codes[i], currency, &ids_out[i]);
        if (rc != PB_OK)
            return rc;
    }
    return PB_OK;
}

/* ---- applying transfers ---- */

/* Statements reused across the transfers of one group. */
struct group {
    struct store_stmt *update;
    int64_t group_id;
    const char *idem;
    /* Non-hot accounts the group changed, with their latest totals and chain heads: for the
     * event, and on SQLite the rows write_accounts writes at the group's end. */
    struct ledger__meta touched[2 * LEDGER_LINKED_MAX];
    struct ledger__totals totals[2 * LEDGER_LINKED_MAX];
    size_t ntouched;
    /* What the guard sees: each applied transfer and its accounts' metadata. */
    struct ledger_guard_item items[LEDGER_LINKED_MAX];
    struct ledger__meta sides[LEDGER_LINKED_MAX][2];
    bool player; /* a non-house account was touched: the guard runs */
    const struct ledger_applied *out_base;
};

struct pending {
    int64_t debit, credit, amount, expires_ns;
    char currency[LEDGER_CURRENCY_MAX + 1];
    int code;
};

static enum ledger_error check_static(const struct ledger_transfer *t)
{
    size_t rlen = t->reference ? strlen(t->reference) : 0;
    size_t mlen = t->metadata ? strlen(t->metadata) : 2;
    if (rlen == 0 || rlen > LEDGER_REFERENCE_MAX || mlen > LEDGER_METADATA_MAX ||
        (t->metadata && t->metadata[0] != '{') || !ledger_transfer_code_name(t->code))
        return LEDGER_E_INVALID;
    switch (t->kind) {
    case LEDGER_POSTED:
    case LEDGER_PENDING:
        if (t->amount <= 0 || t->debit_account == t->credit_account || t->pending_id != 0)
            return LEDGER_E_INVALID;
        if ((t->kind == LEDGER_PENDING) != (t->timeout_ms > 0))
            return LEDGER_E_INVALID;
        return LEDGER_OK;
    case LEDGER_POST:
    case LEDGER_VOID:
        if (t->pending_id <= 0 || t->amount < 0 || t->timeout_ms != 0 ||
            (t->kind == LEDGER_VOID && t->amount != 0))
            return LEDGER_E_INVALID;
        return LEDGER_OK;
    }
    return LEDGER_E_INVALID;
}

/* Loads pending transfer id, refusing one that is not pending or already resolved. */
static int load_pending(struct store *tx, int64_t id, struct pending *p, enum ledger_error *err)
{
    struct store_stmt *st;
    if (store_prepare(tx, "SELECT p.kind, p.debit_account, p.credit_account, p.amount,"
                          " p.currency, p.code, p.expires_ns,"
                          " (SELECT COUNT(*) FROM ledger_transfers r WHERE r.pending_id = p.id)"
                          " FROM ledger_transfers p WHERE p.id = ?", &st) != PB_OK)
        return PB_ERR_DB;
    store_bind_int64(st, 1, id);
    int rc = store_step(st);
    if (rc == STORE_ROW) {
        if (store_column_int64(st, 0) != LEDGER_PENDING)
            *err = LEDGER_E_PENDING_NOT_FOUND;
        else if (store_column_int64(st, 7) != 0)
            *err = LEDGER_E_PENDING_RESOLVED;
        p->debit = store_column_int64(st, 1);
        p->credit = store_column_int64(st, 2);
        p->amount = store_column_int64(st, 3);
        pb_strlcpy(p->currency, store_column_text(st, 4), sizeof(p->currency));
        p->code = (int)store_column_int64(st, 5);
        p->expires_ns = store_column_int64(st, 6);
    } else if (rc == STORE_DONE) {
        *err = LEDGER_E_PENDING_NOT_FOUND;
    }
    store_finalize(st);
    return rc < 0 ? PB_ERR_DB : PB_OK;
}

/* Why update_totals refused account id: a bound (overflow) or the balance. */
static int refusal_reason(struct store *tx, int64_t id, const struct ledger__delta *d,
                          enum ledger_error *err)
{
    struct ledger_account a;
    int rc = ledger_account_get(tx, id, &a);
    if (rc != PB_OK)
        return PB_ERR_DB;
    const int64_t totals[4] = {a.debits_posted, a.credits_posted, a.debits_pending,
                               a.credits_pending};
    const int64_t deltas[4] = {d->debits_posted, d->credits_posted, d->debits_pending,
                               d->credits_pending};
    *err = LEDGER_E_INSUFFICIENT_FUNDS;
    for (int i = 0; i < 4; i++) {
        int64_t sum;
        if (ledger_add(totals[i], deltas[i], &sum) != PB_OK || sum < 0)
            *err = LEDGER_E_OVERFLOW;
    }
    return PB_OK;
}

/* The rules of ledger__update_totals, checked in C on totals t: every total plus its delta
 * stays within 0..INT64_MAX (else LEDGER_E_OVERFLOW), and, when no_overdraft, available
 * before the change is >= need (else LEDGER_E_INSUFFICIENT_FUNDS). *after gets the totals. */
static enum ledger_error check_totals(const struct ledger__totals *t,
                                      const struct ledger__delta *d, bool no_overdraft,
                                      int64_t need, struct ledger__totals *after)
{
    const int64_t totals[4] = {t->debits_posted, t->credits_posted, t->debits_pending,
                               t->credits_pending};
    const int64_t deltas[4] = {d->debits_posted, d->credits_posted, d->debits_pending,
                               d->credits_pending};
    int64_t sums[4];
    for (int i = 0; i < 4; i++)
        if (totals[i] < 0 || ledger_add(totals[i], deltas[i], &sums[i]) != PB_OK || sums[i] < 0)
            return LEDGER_E_OVERFLOW;
    __int128 available = (__int128)t->credits_posted - t->debits_posted - t->debits_pending;
    if (no_overdraft && available < need)
        return LEDGER_E_INSUFFICIENT_FUNDS;
    *after = (struct ledger__totals){sums[0], sums[1], sums[2], sums[3]};
    return LEDGER_OK;
}

/* The cache slot of non-hot account meta, with the row's totals and chain head loaded. The
 * pointer is valid until the next meta_put. When the group already moved the account, the
 * group's copy is the truth (on SQLite its row is written only at the group's end): the cache
 * may have been cleared (full) since and refilled from the row, so the copy is filed again. */
static int row_state(struct ledger *lg, struct store *tx, const struct group *g,
                     const struct ledger__meta *meta, struct ledger__meta **out, size_t *slot)
{
    size_t k = 0;
    while (k < g->ntouched && g->touched[k].id != meta->id)
        k++;
    *slot = k; /* the account's place in g->touched (g->ntouched: not moved yet) */
    const struct ledger__meta *mine = k < g->ntouched ? &g->touched[k] : NULL;
    struct ledger__meta *m = meta_find(lg, meta->id);
    if (m && mine) {
        *m = *mine;
    } else if (!m) {
        struct ledger__meta again = mine ? *mine : *meta;
        again.has_totals = mine != NULL;
        meta_put(lg, &again);
        m = meta_find(lg, meta->id);
        PB_ASSERT(m != NULL);
    }
    if (!m->has_totals && load_totals(tx, m) != PB_OK)
        return PB_ERR_DB;
    *out = m;
    return PB_OK;
}

/* SQLite: writes the group's non-hot accounts (their final totals and chain heads) once
 * each, after its transfers: the writer's copies are authoritative (the writer is the only
 * writer of the file), so the rules were checked in C as each transfer was applied, and an
 * account a group moves twice (a bet and its win) is written once. The rows are exact when
 * ledger_apply returns, and before the guard runs. */
static int write_accounts(struct store *tx, struct group *g)
{
    if (!g->update &&
        store_prepare(tx, "UPDATE ledger_accounts SET debits_posted = ?, credits_posted = ?,"
                          " debits_pending = ?, credits_pending = ?, last_transfer = ?"
                          " WHERE id = ?", &g->update) != PB_OK)
        return PB_ERR_DB;
    int rc = PB_OK;
    for (size_t k = 0; k < g->ntouched && rc == PB_OK; k++) {
        const struct ledger__totals *t = &g->totals[k];
        const int64_t v[6] = {t->debits_posted, t->credits_posted, t->debits_pending,
                              t->credits_pending, g->touched[k].last_transfer,
                              g->touched[k].id};
        for (int i = 0; i < 6 && rc == PB_OK; i++)
            rc = store_bind_int64(g->update, i + 1, v[i]);
        if (rc == PB_OK)
            rc = store_step(g->update) == STORE_DONE && store_changes(g->update) == 1
                     ? PB_OK : PB_ERR_DB;
        store_reset(g->update);
    }
    return rc;
}

/* Applies delta d of transfer transfer_id to one side's account (meta mm): hot accounts to the
 * batch's log (*prev = -1: no chain), others now (*prev = the account's previous chain head,
 * 0 for its first transfer). */
static int apply_side(struct ledger *lg, struct store *tx, struct group *g,
                      const struct ledger__meta *mm, const struct ledger__delta *d,
                      int64_t transfer_id, int64_t *prev, enum ledger_error *err)
{
    PB_ASSERT(d->account == mm->id);
    *prev = -1;
    if (mm->flags & LEDGER_FLAG_HOT) {
        PB_ASSERT(lg->cur.ndeltas < LEDGER_DELTA_LOG_MAX);
        if (lg->cur.ndeltas == lg->deltas_cap) {
            lg->deltas_cap = lg->deltas_cap ? 2 * lg->deltas_cap : 1024;
            lg->deltas = pb_realloc(lg->deltas, lg->deltas_cap * sizeof(*lg->deltas));
        }
        lg->deltas[lg->cur.ndeltas++] = *d;
        return PB_OK;
    }
    int64_t need = 0;
    bool no_overdraft = (mm->flags & LEDGER_FLAG_NO_OVERDRAFT) != 0;
    if (ledger_add(d->debits_posted, d->debits_pending, &need) != PB_OK ||
        ledger_sub(need, d->credits_posted, &need) != PB_OK) {
        *err = LEDGER_E_OVERFLOW;
        return PB_OK;
    }
    struct ledger__meta *m;
    size_t i;
    int rc = row_state(lg, tx, g, mm, &m, &i);
    if (rc != PB_OK)
        return rc;
    struct ledger__totals after;
    if (store_backend_of(tx) == STORE_SQLITE) /* the row is written by write_accounts */
        *err = check_totals(&m->totals, d, no_overdraft, need, &after);
    else
        rc = ledger__update_totals(tx, &g->update, d, no_overdraft, need, transfer_id, &after);
    if (rc == 1)
        return refusal_reason(tx, m->id, d, err);
    if (rc != PB_OK || *err != LEDGER_OK)
        return rc;
    if (lg->cur.ntouched == lg->touched_cap) {
        lg->touched_cap = lg->touched_cap ? 2 * lg->touched_cap : 1024;
        lg->touched = pb_realloc(lg->touched, lg->touched_cap * sizeof(*lg->touched));
    }
    lg->touched[lg->cur.ntouched++] = m->id;
    *prev = m->last_transfer;
    m->totals = after;
    m->last_transfer = transfer_id;
    PB_ASSERT(i < PB_ARRAY_LEN(g->touched));
    g->touched[i] = *m;
    g->totals[i] = after;
    g->ntouched += i == g->ntouched;
    return PB_OK;
}

/* Binds v, or NULL when v is 0 (an absent pending id or expiry). */
static int bind_optional(struct store_stmt *st, int idx, int64_t v)
{
    return v ? store_bind_int64(st, idx, v) : store_bind_null(st, idx);
}

/* Appends row r with its chain pointers (prev[side] < 0: a hot side, stored as NULL). */
static int insert_row(struct ledger *lg, struct store *tx, const struct ledger__row *r,
                      const int64_t prev[2], char hash[LEDGER_HASH_HEX + 1])
{
    ledger__transfer_hash(lg->cur.head_hash, r, hash);
    struct store_stmt *st;
    if (store_prepare(tx, "INSERT INTO ledger_transfers (id, ts_ns, kind, debit_account,"
                          " credit_account, amount, currency, code, pending_id, expires_ns,"
                          " group_id, idem, reference, metadata, prev_hash, hash, debit_prev,"
                          " credit_prev) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,"
                          " ?, ?)",
                      &st) != PB_OK)
        return PB_ERR_DB;
    int i = 1, rc = PB_OK;
    const int64_t ints[] = {r->id, r->ts_ns, r->kind, r->debit_account, r->credit_account,
                            r->amount};
    for (size_t k = 0; k < PB_ARRAY_LEN(ints) && rc == PB_OK; k++)
        rc = store_bind_int64(st, i++, ints[k]);
    rc = rc ? rc : store_bind_text(st, i++, r->currency, strlen(r->currency));
    rc = rc ? rc : store_bind_int64(st, i++, r->code);
    rc = rc ? rc : bind_optional(st, i++, r->pending_id);
    rc = rc ? rc : bind_optional(st, i++, r->expires_ns);
    rc = rc ? rc : store_bind_int64(st, i++, r->group_id);
    rc = rc ? rc : (r->idem[0] ? store_bind_text(st, i, r->idem, strlen(r->idem))
                               : store_bind_null(st, i));
    i++;
    const char *texts[] = {r->reference, r->metadata, lg->cur.head_hash, hash};
    for (size_t k = 0; k < PB_ARRAY_LEN(texts) && rc == PB_OK; k++)
        rc = store_bind_text(st, i++, texts[k], strlen(texts[k]));
    for (int side = 0; side < 2 && rc == PB_OK; side++)
        rc = prev[side] >= 0 ? store_bind_int64(st, i++, prev[side]) : store_bind_null(st, i++);
    if (rc == PB_OK)
        rc = store_step(st);
    store_finalize(st);
    if (rc == STORE_DONE) {
        pb_strlcpy(lg->cur.head_hash, hash, sizeof(lg->cur.head_hash));
        return PB_OK;
    }
    return rc == PB_ERR_CONFLICT ? PB_ERR_CONFLICT : PB_ERR_DB;
}

/* The four deltas of each side for transfer t (pending p for POST/VOID) and amount a. */
static void side_deltas(const struct ledger_transfer *t, const struct pending *p, int64_t a,
                        struct ledger__delta *dr, struct ledger__delta *cr)
{
    switch (t->kind) {
    case LEDGER_POSTED:
        dr->debits_posted = a;
        cr->credits_posted = a;
        break;
    case LEDGER_PENDING:
        dr->debits_pending = a;
        cr->credits_pending = a;
        break;
    case LEDGER_POST:
        dr->debits_pending = -p->amount;
        dr->debits_posted = a;
        cr->credits_pending = -p->amount;
        cr->credits_posted = a;
        break;
    case LEDGER_VOID:
        dr->debits_pending = -p->amount;
        cr->credits_pending = -p->amount;
        break;
    }
}

/* Fills the row's accounts, amount and currency from t (and p); refuses by *err. */
static int resolve(struct ledger *lg, struct store *tx, const struct ledger_transfer *t,
                   int64_t ts, struct ledger__row *r, struct pending *p, struct ledger__meta m[2],
                   enum ledger_error *err)
{
    if (t->kind == LEDGER_POST || t->kind == LEDGER_VOID) {
        if (load_pending(tx, t->pending_id, p, err) != PB_OK)
            return PB_ERR_DB;
        if (*err != LEDGER_OK)
            return PB_OK;
        if (t->kind == LEDGER_POST && ts > p->expires_ns)
            *err = LEDGER_E_PENDING_EXPIRED;
        else if (t->amount > p->amount)
            *err = LEDGER_E_POST_EXCEEDS_PENDING;
        r->debit_account = p->debit;
        r->credit_account = p->credit;
        r->amount = t->kind == LEDGER_VOID ? p->amount : t->amount ? t->amount : p->amount;
        r->pending_id = t->pending_id;
    } else {
        r->debit_account = t->debit_account;
        r->credit_account = t->credit_account;
        r->amount = t->amount;
        if (t->kind == LEDGER_PENDING &&
            (t->timeout_ms > INT64_MAX / 1000000 ||
             ledger_add(ts, t->timeout_ms * 1000000, &r->expires_ns) != PB_OK))
            *err = LEDGER_E_OVERFLOW;
    }
    for (int i = 0; i < 2 && *err == LEDGER_OK; i++) {
        int rc = meta_get(lg, tx, i ? r->credit_account : r->debit_account, &m[i]);
        if (rc == PB_ERR_NOT_FOUND)
            *err = LEDGER_E_ACCOUNT_NOT_FOUND;
        else if (rc != PB_OK)
            return rc;
    }
    if (*err == LEDGER_OK && strcmp(m[0].currency, m[1].currency) != 0)
        *err = LEDGER_E_CURRENCY_MISMATCH;
    return PB_OK;
}

static int apply_one(struct ledger *lg, struct store *tx, struct group *g,
                     const struct ledger_transfer *t, struct ledger_applied *out,
                     enum ledger_error *err)
{
    *err = check_static(t);
    if (*err != LEDGER_OK)
        return PB_OK;
    int64_t ts = now_ns();
    if (ts <= lg->cur.last_ts_ns)
        ts = lg->cur.last_ts_ns + 1;
    struct ledger__row r = {.id = lg->cur.next_transfer_id, .ts_ns = ts, .kind = t->kind,
                            .code = t->code, .group_id = g->group_id ? g->group_id
                                                                     : lg->cur.next_transfer_id,
                            .idem = g->idem ? g->idem : "", .reference = t->reference,
                            .metadata = t->metadata ? t->metadata : "{}"};
    struct pending p = {0};
    struct ledger__meta m[2];
    int rc = resolve(lg, tx, t, ts, &r, &p, m, err);
    if (rc != PB_OK || *err != LEDGER_OK)
        return rc;
    r.currency = m[0].currency;
    if (t->kind == LEDGER_POST || t->kind == LEDGER_VOID)
        r.code = p.code; /* a resolution keeps the pending transfer's code */
    struct ledger__delta dr = {.account = m[0].id}, cr = {.account = m[1].id};
    side_deltas(t, &p, r.amount, &dr, &cr);
    int64_t prev[2];
    rc = apply_side(lg, tx, g, &m[0], &dr, r.id, &prev[0], err);
    if (rc == PB_OK && *err == LEDGER_OK)
        rc = apply_side(lg, tx, g, &m[1], &cr, r.id, &prev[1], err);
    if (rc != PB_OK || *err != LEDGER_OK)
        return rc;
    rc = insert_row(lg, tx, &r, prev, out->hash);
    if (rc == PB_ERR_CONFLICT) { /* the resolution index: resolved meanwhile */
        *err = LEDGER_E_PENDING_RESOLVED;
        return PB_OK;
    }
    if (rc != PB_OK)
        return rc;
    size_t k = (size_t)(out - g->out_base);
    PB_ASSERT(k < LEDGER_LINKED_MAX);
    g->sides[k][0] = m[0];
    g->sides[k][1] = m[1];
    g->items[k] = (struct ledger_guard_item){
        .transfer = t, .kind = t->kind, .code = r.code,
        .amount = t->kind == LEDGER_VOID ? 0 : r.amount,
        .released = t->kind == LEDGER_VOID ? p.amount
                    : t->kind == LEDGER_POST ? p.amount - r.amount : 0,
        .ts_ns = ts,
        .currency = g->sides[k][0].currency, .debit_owner = g->sides[k][0].owner,
        .credit_owner = g->sides[k][1].owner, .debit_code = m[0].code, .credit_code = m[1].code};
    g->player |= !(m[0].flags & LEDGER_FLAG_HOT) || !(m[1].flags & LEDGER_FLAG_HOT);
    g->group_id = r.group_id;
    lg->cur.next_transfer_id++;
    lg->cur.last_ts_ns = ts;
    *out = (struct ledger_applied){r.id, ts, r.amount, r.debit_account, r.credit_account, ""};
    pb_strlcpy(out->hash, lg->cur.head_hash, sizeof(out->hash));
    return PB_OK;
}

static const char *const kind_names[] = {"posted", "pending", "post", "void"};

/* The "ledger.transfers" event: the transfers and the touched accounts' new balances. */
static int emit_event(struct store *tx, struct writer_cmd *cmd, const struct group *g,
                      const struct ledger_transfer *t, const struct ledger_outcome *out)
{
    struct pb_buf b = PB_BUF_INIT;
    char subject[LEDGER_OWNER_MAX + 1] = "house";
    pb_buf_grow(&b, 256 + 256 * out->n + 320 * g->ntouched);
    pb_buf_puts(&b, "{\"transfers\":[");
    for (size_t i = 0; i < out->n; i++) {
        const struct ledger_applied *a = &out->applied[i];
        pb_buf_puts(&b, i ? ",{\"id\":" : "{\"id\":");
        pb_buf_put_i64(&b, a->id);
        pb_buf_puts(&b, ",\"kind\":\"");
        pb_buf_puts(&b, kind_names[t[i].kind]);
        pb_buf_puts(&b, "\",\"debit_account\":");
        pb_buf_put_i64(&b, a->debit_account);
        pb_buf_puts(&b, ",\"credit_account\":");
        pb_buf_put_i64(&b, a->credit_account);
        pb_buf_puts(&b, ",\"amount_minor\":");
        pb_buf_put_i64(&b, a->amount);
        pb_buf_puts(&b, ",\"reference\":");
        pb_buf_json_string(&b, t[i].reference, strlen(t[i].reference));
        pb_buf_putc(&b, '}');
    }
    pb_buf_puts(&b, "],\"balances\":[");
    for (size_t i = 0; i < g->ntouched; i++) {
        const struct ledger__meta *m = &g->touched[i];
        const struct ledger__totals *tot = &g->totals[i];
        struct ledger_account a = {.debits_posted = tot->debits_posted,
                                   .credits_posted = tot->credits_posted,
                                   .debits_pending = tot->debits_pending};
        if (i == 0)
            pb_strlcpy(subject, m->owner, sizeof(subject));
        pb_buf_puts(&b, i ? ",{\"account_id\":" : "{\"account_id\":");
        pb_buf_put_i64(&b, m->id);
        pb_buf_puts(&b, ",\"owner\":");
        pb_buf_json_string(&b, m->owner, strlen(m->owner));
        pb_buf_puts(&b, ",\"type\":\"");
        pb_buf_puts(&b, ledger_account_code_name(m->code));
        pb_buf_puts(&b, "\",\"currency\":\"");
        pb_buf_puts(&b, m->currency);
        pb_buf_puts(&b, "\",\"posted_minor\":");
        pb_buf_put_i64(&b, ledger_posted_balance(&a));
        pb_buf_puts(&b, ",\"available_minor\":");
        pb_buf_put_i64(&b, ledger_available(&a));
        pb_buf_puts(&b, ",\"pending_debits_minor\":");
        pb_buf_put_i64(&b, tot->debits_pending);
        pb_buf_puts(&b, ",\"pending_credits_minor\":");
        pb_buf_put_i64(&b, tot->credits_pending);
        pb_buf_putc(&b, '}');
    }
    pb_buf_puts(&b, "]}");
    int rc = writer_emit(tx, cmd, "ledger.transfers", subject, b.data);
    pb_buf_release(&b);
    return rc == PB_OK ? PB_OK : PB_ERR_DB;
}

int ledger_apply(struct ledger *lg, struct store *tx, struct writer_cmd *cmd,
                 const char *idem, const struct ledger_transfer *t, size_t n,
                 struct ledger_outcome *out)
{
    PB_ASSERT(lg->loaded && n >= 1 && n <= LEDGER_LINKED_MAX);
    memset(out, 0, offsetof(struct ledger_outcome, balances)); /* balances: nbalances = 0 */
    out->failed_index = -1;
    struct ledger__state snap = lg->cur;
    struct group g; /* ~9 KiB: only the scalars are set; arrays are filled before use */
    g.update = NULL;
    g.group_id = 0;
    g.idem = idem;
    g.ntouched = 0;
    g.player = false;
    g.out_base = out->applied;
    int64_t events_mark = cmd ? writer_emit_mark(cmd) : 0; /* the guard may emit events */
    if (store_savepoint(tx, "grp") != PB_OK)
        return PB_ERR_DB;
    int rc = PB_OK;
    enum ledger_error err = LEDGER_OK;
    size_t i = 0;
    for (; i < n && rc == PB_OK && err == LEDGER_OK; i++)
        rc = apply_one(lg, tx, &g, &t[i], &out->applied[i], &err);
    if (rc == PB_OK && err == LEDGER_OK && store_backend_of(tx) == STORE_SQLITE)
        rc = write_accounts(tx, &g);
    store_finalize(g.update);
    if (rc == PB_OK && err == LEDGER_OK && g.player && lg->guard.check) {
        rc = lg->guard.check(lg->guard.arg, tx, cmd, g.items, n, &out->refusal);
        if (rc == LEDGER_E_REFUSED) {
            PB_ASSERT(out->refusal.code[0] != '\0');
            err = LEDGER_E_REFUSED;
            i = 1; /* the group as a whole: reported at its first transfer */
            rc = PB_OK;
        }
    }
    if (rc == PB_OK && err == LEDGER_OK) {
        out->n = n;
        out->nbalances = g.ntouched;
        for (size_t k = 0; k < g.ntouched; k++) {
            const struct ledger__meta *m = &g.touched[k];
            struct ledger_account *a = &out->balances[k];
            a->id = m->id;
            memcpy(a->currency, m->currency, sizeof(a->currency));
            a->code = m->code;
            memcpy(a->owner, m->owner, sizeof(a->owner));
            a->flags = m->flags;
            a->debits_posted = g.totals[k].debits_posted;
            a->credits_posted = g.totals[k].credits_posted;
            a->debits_pending = g.totals[k].debits_pending;
            a->credits_pending = g.totals[k].credits_pending;
        }
        if (store_release(tx, "grp") != PB_OK)
            rc = PB_ERR_DB;
        else if (cmd)
            rc = emit_event(tx, cmd, &g, t, out);
        return rc;
    }
    /* Refused (or failed): nothing of the group stays. */
    if (store_rollback_to(tx, "grp") != PB_OK || store_release(tx, "grp") != PB_OK)
        rc = PB_ERR_DB;
    if (cmd)
        writer_emit_rewind(cmd, events_mark);
    restore(lg, &snap);
    memset(out->applied, 0, sizeof(out->applied));
    if (err != LEDGER_E_REFUSED)
        memset(&out->refusal, 0, sizeof(out->refusal));
    else if (rc == PB_OK && lg->guard.refused)
        rc = lg->guard.refused(lg->guard.arg, tx, cmd, g.items, n, &out->refusal);
    out->error = err;
    out->failed_index = err != LEDGER_OK ? (int)i - 1 : -1;
    return rc;
}

void ledger_set_guard(struct ledger *lg, const struct ledger_guard *guard)
{
    PB_ASSERT(!guard || guard->check != NULL);
    if (guard)
        lg->guard = *guard;
    else
        memset(&lg->guard, 0, sizeof(lg->guard));
}

int ledger_expire(struct ledger *lg, struct store *tx, struct writer_cmd *cmd, int64_t now,
                  int max, int *voided)
{
    *voided = 0;
    struct store_stmt *st;
    if (store_prepare(tx, "SELECT p.id FROM ledger_transfers p WHERE p.kind = 1"
                          " AND p.expires_ns < ? AND NOT EXISTS (SELECT 1 FROM"
                          " ledger_transfers r WHERE r.pending_id = p.id)"
                          " ORDER BY p.expires_ns LIMIT ?", &st) != PB_OK)
        return PB_ERR_DB;
    store_bind_int64(st, 1, now);
    store_bind_int64(st, 2, max);
    int64_t ids[256];
    int n = 0, rc = STORE_DONE;
    PB_ASSERT(max >= 1 && max <= (int)PB_ARRAY_LEN(ids));
    while (n < max && (rc = store_step(st)) == STORE_ROW)
        ids[n++] = store_column_int64(st, 0);
    store_finalize(st);
    if (rc < 0)
        return PB_ERR_DB;
    for (int i = 0; i < n; i++) {
        char reference[32];
        snprintf(reference, sizeof(reference), "expiry:%lld", (long long)ids[i]);
        struct ledger_transfer v = {.kind = LEDGER_VOID, .pending_id = ids[i],
                                    .code = LEDGER_TX_HOLD, .reference = reference,
                                    .metadata = "{\"reason\":\"expired\"}"};
        struct ledger_outcome out;
        rc = ledger_apply(lg, tx, cmd, NULL, &v, 1, &out);
        if (rc != PB_OK)
            return rc;
        *voided += out.error == LEDGER_OK;
    }
    return PB_OK;
}
