/* verify.c: ledger_verify, the ledger's invariants proven from the database alone (DESIGN.md
 * section 3, "Invariants"; design notes in ledger_int.h). `pitboss ledger verify` runs it, and
 * the tests run it after every randomized workload and every crash.
 *
 * Everything is read in one transaction (REPEATABLE READ on PostgreSQL), so the report
 * describes one consistent state. Memory is bounded: the chain and the accounts are read in
 * pages of VERIFY_PAGE_ROWS rows (PostgreSQL results arrive whole), and every other check is
 * a query that returns only offending rows, at most VERIFY_ROWS_PER_CHECK_MAX of them.
 *
 * Account totals are replayed from their transfers: a hot (house) account's while the hash
 * chain is streamed (hot accounts are few: one per house code and currency), every other
 * account's by walking its own chain of transfers down from its last_transfer (schema.c), one
 * lookup by id per step. Each step checks that the transfer touches the account and that the
 * chain leads down. The walks together must meet every non-hot side of every transfer once:
 * the stream counts those sides and the walks count their steps; a difference means a
 * transfer that its account's chain skips.
 *
 * Sums in SQL are split: SUM(x / 2^32) and SUM(x % 2^32) cannot overflow for fewer than 2^31
 * rows per group; they are joined here with overflow-checked arithmetic, so a total past
 * INT64_MAX becomes a finding, not a database error (SQLite) or a silent numeric
 * (PostgreSQL). Both engines truncate integer division toward zero, so x = hi * 2^32 + lo.
 *
 * The report is one line per finding, then one verdict line: "ledger verify: OK (N transfers,
 * M accounts)", "ledger verify: FAILED (K findings)" or "ledger verify: could not read the
 * ledger: ..." (PB_ERR_DB). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/base.h"
#include "ledger/ledger_int.h"

#define VERIFY_PAGE_ROWS 512            /* transfers or accounts read per query */
#define VERIFY_ROWS_PER_CHECK_MAX 1000  /* offending rows listed per check; a ledger this
                                          broken needs a person, not a longer list */
#define VERIFY_FINDINGS_LISTED_MAX 10000 /* report lines; beyond, findings are only counted */
#define VERIFY_SPLIT ((int64_t)1 << 32) /* see "Sums in SQL are split" above */

enum { DEBITS_POSTED, CREDITS_POSTED, DEBITS_PENDING, CREDITS_PENDING, TOTALS };
static const char *const total_names[TOTALS] = {"debits_posted", "credits_posted",
                                                "debits_pending", "credits_pending"};

/* The replayed totals of one account; overflow[i] when total i passed the int64 range. */
struct replay {
    int64_t totals[TOTALS];
    bool overflow[TOTALS];
};

struct verify {
    struct store *s;
    struct pb_buf *out;
    int64_t findings, transfers, accounts;
    int64_t *hot;          /* the hot accounts' ids, ascending */
    struct replay *hot_replay;
    size_t nhot;
    int64_t chained_sides; /* sides of non-hot accounts met in the stream */
    int64_t walked_sides;  /* steps of the accounts' chain walks */
};

__attribute__((format(printf, 2, 3))) static void finding(struct verify *v, const char *fmt,
                                                          ...)
{
    if (v->findings++ >= VERIFY_FINDINGS_LISTED_MAX)
        return;
    va_list ap;
    va_start(ap, fmt);
    pb_buf_vprintf(v->out, fmt, ap);
    va_end(ap);
    pb_buf_putc(v->out, '\n');
}

static const char *kind_name(int64_t kind)
{
    static const char *const names[] = {"posted", "pending", "post", "void"};
    return kind >= 0 && kind < (int64_t)PB_ARRAY_LEN(names) ? names[kind] : "unknown kind";
}

/* Joins a split sum read from columns col (high part) and col + 1 (low part). */
static bool split_sum(const struct store_stmt *st, int col, int64_t *out)
{
    int64_t high;
    if (__builtin_mul_overflow(store_column_int64(st, col), VERIFY_SPLIT, &high))
        return false;
    return ledger_add(high, store_column_int64(st, col + 1), out) == PB_OK;
}

/* Runs a check whose query returns only offending rows (its one parameter is the row limit)
 * and reports each through report. */
static int check_rows(struct verify *v, const char *sql,
                      void (*report)(struct verify *v, const struct store_stmt *st))
{
    struct store_stmt *st;
    if (store_prepare(v->s, sql, &st) != PB_OK)
        return PB_ERR_DB;
    store_bind_int64(st, 1, VERIFY_ROWS_PER_CHECK_MAX + 1);
    int rc, rows = 0;
    while ((rc = store_step(st)) == STORE_ROW) {
        if (++rows > VERIFY_ROWS_PER_CHECK_MAX) {
            pb_buf_printf(v->out, "(more than %d such findings; the rest are not listed)\n",
                          VERIFY_ROWS_PER_CHECK_MAX);
            break;
        }
        report(v, st);
    }
    store_finalize(st);
    return rc < 0 ? PB_ERR_DB : PB_OK;
}

/* ---- (a) the hash chain, streamed in id order ---- */

struct chain {
    int64_t last_id, last_ts_ns;
    char last_hash[LEDGER_HASH_HEX + 1];
};

#define CHAIN_SQL                                                                              \
    "SELECT t.id, t.ts_ns, t.kind, t.debit_account, t.credit_account, t.amount, t.currency,"   \
    " t.code, t.pending_id, t.expires_ns, t.group_id, t.idem, t.reference, t.metadata,"        \
    " t.prev_hash, t.hash, t.debit_prev, t.credit_prev," RELEASED_SQL                          \
    " FROM ledger_transfers t WHERE t.id > ? ORDER BY t.id LIMIT ?"

/* What a post or void of row t releases from the pending totals: its pending transfer's
 * amount (NULL when that is not a pending transfer, which check_relations reports). */
#define RELEASED_SQL                                                                           \
    " (SELECT p.amount FROM ledger_transfers p WHERE p.id = t.pending_id AND p.kind = 1"       \
    " AND t.kind IN (2, 3))"

static struct ledger__row row_of(const struct store_stmt *st)
{
    return (struct ledger__row){
        .id = store_column_int64(st, 0), .ts_ns = store_column_int64(st, 1),
        .kind = (int)store_column_int64(st, 2), .debit_account = store_column_int64(st, 3),
        .credit_account = store_column_int64(st, 4), .amount = store_column_int64(st, 5),
        .currency = store_column_text(st, 6), .code = (int)store_column_int64(st, 7),
        .pending_id = store_column_int64(st, 8), .expires_ns = store_column_int64(st, 9),
        .group_id = store_column_int64(st, 10), .idem = store_column_text(st, 11),
        .reference = store_column_text(st, 12), .metadata = store_column_text(st, 13)};
}

/* The row's own fields: kind known, amount positive where it must be, time increasing. */
static void check_row_fields(struct verify *v, const struct chain *c, const struct ledger__row *r)
{
    if (r->kind < LEDGER_POSTED || r->kind > LEDGER_VOID)
        finding(v, "transfer %lld: kind %d is unknown", (long long)r->id, r->kind);
    else if (r->kind != LEDGER_VOID && r->amount <= 0)
        finding(v, "transfer %lld (%s): amount %lld is not positive", (long long)r->id,
                kind_name(r->kind), (long long)r->amount);
    if (c->last_id > 0 && r->ts_ns <= c->last_ts_ns)
        finding(v, "transfer %lld: ts_ns %lld is not after transfer %lld's %lld",
                (long long)r->id, (long long)r->ts_ns, (long long)c->last_id,
                (long long)c->last_ts_ns);
}

static void stream_sides(struct verify *v, const struct store_stmt *st,
                         const struct ledger__row *r);

static void check_chain_row(struct verify *v, struct chain *c, const struct store_stmt *st)
{
    struct ledger__row r = row_of(st);
    const char *prev_hash = store_column_text(st, 14), *hash = store_column_text(st, 15);
    if (r.id != c->last_id + 1) {
        if (c->last_id == 0)
            finding(v, "transfer %lld: the first transfer, but ids start at 1", (long long)r.id);
        else if (r.id == c->last_id + 2)
            finding(v, "transfer %lld: follows transfer %lld (transfer %lld is missing)",
                    (long long)r.id, (long long)c->last_id, (long long)c->last_id + 1);
        else
            finding(v, "transfer %lld: follows transfer %lld (transfers %lld to %lld missing)",
                    (long long)r.id, (long long)c->last_id, (long long)c->last_id + 1,
                    (long long)r.id - 1);
    }
    if (strcmp(prev_hash, c->last_hash) != 0)
        finding(v, "transfer %lld: prev_hash %s but the previous transfer's hash is %s",
                (long long)r.id, prev_hash, c->last_hash);
    /* The hash covers the stored prev_hash, so one altered row is reported on that row. */
    char computed[LEDGER_HASH_HEX + 1];
    ledger__transfer_hash(strlen(prev_hash) == LEDGER_HASH_HEX ? prev_hash : c->last_hash, &r,
                          computed);
    if (strcmp(hash, computed) != 0)
        finding(v, "transfer %lld: hash %s but its contents hash to %s", (long long)r.id, hash,
                computed);
    check_row_fields(v, c, &r);
    stream_sides(v, st, &r);
    c->last_id = r.id;
    c->last_ts_ns = r.ts_ns;
    pb_strlcpy(c->last_hash, hash, sizeof(c->last_hash));
}

static int verify_chain(struct verify *v)
{
    struct chain c = {0};
    memset(c.last_hash, '0', LEDGER_HASH_HEX);
    for (;;) {
        struct store_stmt *st;
        if (store_prepare(v->s, CHAIN_SQL, &st) != PB_OK)
            return PB_ERR_DB;
        store_bind_int64(st, 1, c.last_id);
        store_bind_int64(st, 2, VERIFY_PAGE_ROWS);
        int rc, rows = 0;
        while ((rc = store_step(st)) == STORE_ROW) {
            check_chain_row(v, &c, st);
            rows++;
        }
        store_finalize(st);
        if (rc < 0)
            return PB_ERR_DB;
        v->transfers += rows;
        if (rows < VERIFY_PAGE_ROWS)
            return PB_OK;
    }
}

/* ---- (c), (d) accounts against the replay of their transfers ---- */

/* Adds (or, for a release, subtracts) sum to total i of r, remembering an overflow. */
static void replay_add(struct replay *r, int i, int64_t sum, bool release)
{
    if (r->overflow[i])
        return;
    int rc = release ? ledger_sub(r->totals[i], sum, &r->totals[i])
                     : ledger_add(r->totals[i], sum, &r->totals[i]);
    if (rc != PB_OK)
        r->overflow[i] = true;
}

/* Which total a kind moves on a side: posted and post rows move posted totals, pending rows
 * pending totals; a void moves nothing itself (only its release). */
static int total_moved(int64_t kind, int side)
{
    if (kind == LEDGER_POSTED || kind == LEDGER_POST)
        return side == 0 ? DEBITS_POSTED : CREDITS_POSTED;
    if (kind == LEDGER_PENDING)
        return side == 0 ? DEBITS_PENDING : CREDITS_PENDING;
    return -1;
}

/* Replays one transfer on one side (0 debit, 1 credit) of r: what its kind moves, and for a
 * post or void the release of its pending transfer's amount (col: the RELEASED_SQL column of
 * st, NULL when there is none). */
static void replay_transfer(struct replay *r, int64_t kind, int side, int64_t amount,
                            const struct store_stmt *st, int col)
{
    int i = total_moved(kind, side);
    if (i >= 0)
        replay_add(r, i, amount, false);
    if ((kind == LEDGER_POST || kind == LEDGER_VOID) && !store_column_is_null(st, col))
        replay_add(r, side == 0 ? DEBITS_PENDING : CREDITS_PENDING,
                   store_column_int64(st, col), true);
}

static const char *const side_names[2] = {"debit", "credit"};

static int load_hot(struct verify *v)
{
    struct store_stmt *st;
    if (store_prepare(v->s, "SELECT id FROM ledger_accounts WHERE (flags & 2) <> 0 ORDER BY id",
                      &st) != PB_OK)
        return PB_ERR_DB;
    _Static_assert(LEDGER_FLAG_HOT == 2u, "the query names the flag");
    size_t cap = 0;
    int rc;
    while ((rc = store_step(st)) == STORE_ROW) {
        if (v->nhot == cap) {
            cap = cap ? 2 * cap : 64;
            v->hot = pb_realloc(v->hot, cap * sizeof(*v->hot));
        }
        v->hot[v->nhot++] = store_column_int64(st, 0);
    }
    store_finalize(st);
    v->hot_replay = pb_calloc(v->nhot ? v->nhot : 1, sizeof(*v->hot_replay));
    return rc < 0 ? PB_ERR_DB : PB_OK;
}

static struct replay *hot_replay_of(struct verify *v, int64_t id)
{
    size_t lo = 0, hi = v->nhot;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (v->hot[mid] == id)
            return &v->hot_replay[mid];
        if (v->hot[mid] < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* The streamed row's sides: a hot side is replayed here and has no chain pointer; any other
 * side must have one (its account's walk replays it). */
static void stream_sides(struct verify *v, const struct store_stmt *st,
                         const struct ledger__row *r)
{
    const int64_t account[2] = {r->debit_account, r->credit_account};
    for (int side = 0; side < 2; side++) {
        struct replay *hr = hot_replay_of(v, account[side]);
        bool chained = !store_column_is_null(st, 16 + side);
        if (hr) {
            replay_transfer(hr, r->kind, side, r->amount, st, 18);
            if (chained)
                finding(v, "transfer %lld: %s_prev %lld on the side of hot account %lld, which"
                           " has no chain", (long long)r->id, side_names[side],
                        (long long)store_column_int64(st, 16 + side), (long long)account[side]);
            continue;
        }
        v->chained_sides++;
        if (!chained)
            finding(v, "transfer %lld: no %s_prev for account %lld", (long long)r->id,
                    side_names[side], (long long)account[side]);
    }
}

#define WALK_SQL                                                                               \
    "SELECT t.kind, t.debit_account, t.credit_account, t.amount, t.debit_prev, t.credit_prev," \
    RELEASED_SQL " FROM ledger_transfers t WHERE t.id = ?"

/* Replays account a into r by walking its chain down from head (st: WALK_SQL). */
static int walk_chain(struct verify *v, struct store_stmt *st, const struct ledger_account *a,
                      int64_t head, const char *label, struct replay *r)
{
    for (int64_t id = head; id > 0;) {
        store_reset(st);
        store_bind_int64(st, 1, id);
        int rc = store_step(st);
        if (rc < 0)
            return PB_ERR_DB;
        if (rc != STORE_ROW) {
            finding(v, "%s: its chain names transfer %lld, which does not exist", label,
                    (long long)id);
            break;
        }
        int side = store_column_int64(st, 1) == a->id ? 0
                   : store_column_int64(st, 2) == a->id ? 1 : -1;
        if (side < 0) {
            finding(v, "%s: its chain reaches transfer %lld, which does not touch it", label,
                    (long long)id);
            break;
        }
        v->walked_sides++;
        replay_transfer(r, store_column_int64(st, 0), side, store_column_int64(st, 3), st, 6);
        if (store_column_is_null(st, 4 + side))
            break; /* reported by stream_sides */
        int64_t next = store_column_int64(st, 4 + side);
        if (next < 0 || next >= id) {
            finding(v, "transfer %lld: %s_prev %lld does not lead down %s's chain",
                    (long long)id, side_names[side], (long long)next, label);
            break;
        }
        id = next;
    }
    return PB_OK;
}

#define ACCOUNTS_SQL                                                                           \
    "SELECT id, currency, code, owner, flags, debits_posted, credits_posted, debits_pending,"  \
    " credits_pending, last_transfer FROM ledger_accounts WHERE id > ? ORDER BY id LIMIT ?"

struct page {
    struct ledger_account accounts[VERIFY_PAGE_ROWS];
    int64_t heads[VERIFY_PAGE_ROWS]; /* last_transfer */
    size_t n;
};

static void account_label(const struct ledger_account *a, char *out, size_t len)
{
    const char *code = ledger_account_code_name(a->code);
    if (code)
        snprintf(out, len, "account %lld (%s %s %s)", (long long)a->id, a->owner, code,
                 a->currency);
    else
        snprintf(out, len, "account %lld (%s code %d %s)", (long long)a->id, a->owner, a->code,
                 a->currency);
}

static void check_no_overdraft(struct verify *v, const struct ledger_account *a,
                               const char *label)
{
    bool player = a->code == LEDGER_ACC_PLAYER_CASH || a->code == LEDGER_ACC_PLAYER_BONUS ||
                  a->code == LEDGER_ACC_PLAYER_LOCKED;
    if (player && !(a->flags & LEDGER_FLAG_NO_OVERDRAFT))
        finding(v, "%s: a player account without the no-overdraft flag (flags %u)", label,
                (unsigned)a->flags);
    if (!(a->flags & LEDGER_FLAG_NO_OVERDRAFT))
        return;
    int64_t available;
    if (ledger_sub(a->credits_posted, a->debits_posted, &available) != PB_OK ||
        ledger_sub(available, a->debits_pending, &available) != PB_OK)
        finding(v, "%s: no-overdraft, but credits_posted %lld - debits_posted %lld -"
                   " debits_pending %lld overflows int64", label, (long long)a->credits_posted,
                (long long)a->debits_posted, (long long)a->debits_pending);
    else if (available < 0)
        finding(v, "%s: no-overdraft, but available is %lld (credits_posted %lld -"
                   " debits_posted %lld - debits_pending %lld)", label, (long long)available,
                (long long)a->credits_posted, (long long)a->debits_posted,
                (long long)a->debits_pending);
}

static int check_account(struct verify *v, struct store_stmt *walk,
                         const struct ledger_account *a, int64_t head)
{
    char label[LEDGER_OWNER_MAX + LEDGER_CURRENCY_MAX + 80];
    account_label(a, label, sizeof(label));
    struct replay walked = {0};
    const struct replay *r = hot_replay_of(v, a->id);
    if (r && head != 0)
        finding(v, "%s: a hot account with last_transfer %lld (hot accounts have no chain)",
                label, (long long)head);
    if (!r) {
        if (walk_chain(v, walk, a, head, label, &walked) != PB_OK)
            return PB_ERR_DB;
        r = &walked;
    }
    const int64_t stored[TOTALS] = {a->debits_posted, a->credits_posted, a->debits_pending,
                                    a->credits_pending};
    for (int i = 0; i < TOTALS; i++) {
        if (stored[i] < 0)
            finding(v, "%s: %s %lld is negative", label, total_names[i], (long long)stored[i]);
        if (r->overflow[i])
            finding(v, "%s: %s %lld but the replay of its transfers overflows int64", label,
                    total_names[i], (long long)stored[i]);
        else if (stored[i] != r->totals[i])
            finding(v, "%s: %s %lld but transfers replay to %lld", label, total_names[i],
                    (long long)stored[i], (long long)r->totals[i]);
    }
    check_no_overdraft(v, a, label);
    return PB_OK;
}

static void account_of(const struct store_stmt *st, struct ledger_account *a)
{
    memset(a, 0, sizeof(*a));
    a->id = store_column_int64(st, 0);
    pb_strlcpy(a->currency, store_column_text(st, 1), sizeof(a->currency));
    a->code = (int)store_column_int64(st, 2);
    pb_strlcpy(a->owner, store_column_text(st, 3), sizeof(a->owner));
    a->flags = (uint32_t)store_column_int64(st, 4);
    a->debits_posted = store_column_int64(st, 5);
    a->credits_posted = store_column_int64(st, 6);
    a->debits_pending = store_column_int64(st, 7);
    a->credits_pending = store_column_int64(st, 8);
}

/* Reads the page of accounts after after_id; p->n gets how many. */
static int read_accounts(struct verify *v, struct page *p, int64_t after_id)
{
    struct store_stmt *st;
    if (store_prepare(v->s, ACCOUNTS_SQL, &st) != PB_OK)
        return PB_ERR_DB;
    store_bind_int64(st, 1, after_id);
    store_bind_int64(st, 2, VERIFY_PAGE_ROWS);
    int rc;
    p->n = 0;
    while ((rc = store_step(st)) == STORE_ROW) {
        PB_ASSERT(p->n < VERIFY_PAGE_ROWS);
        p->heads[p->n] = store_column_int64(st, 9);
        account_of(st, &p->accounts[p->n++]);
    }
    store_finalize(st);
    return rc < 0 ? PB_ERR_DB : PB_OK;
}

static int verify_accounts(struct verify *v)
{
    struct page *p = pb_malloc(sizeof(*p));
    struct store_stmt *walk = NULL;
    int64_t after_id = 0;
    int rc = store_prepare(v->s, WALK_SQL, &walk);
    while (rc == PB_OK) {
        rc = read_accounts(v, p, after_id);
        if (rc != PB_OK || p->n == 0)
            break;
        for (size_t i = 0; i < p->n && rc == PB_OK; i++)
            rc = check_account(v, walk, &p->accounts[i], p->heads[i]);
        v->accounts += (int64_t)p->n;
        after_id = p->accounts[p->n - 1].id;
        if (p->n < VERIFY_PAGE_ROWS)
            break;
    }
    store_finalize(walk);
    pb_free(p);
    if (rc == PB_OK && v->walked_sides != v->chained_sides)
        finding(v, "account chains: the walks met %lld transfer sides of non-hot accounts, but"
                   " the transfers have %lld (a chain skips transfers of its account)",
                (long long)v->walked_sides, (long long)v->chained_sides);
    return rc;
}

/* ---- (b) debits equal credits per currency ---- */

#define CURRENCY_SUMS_SQL                                                                      \
    "SELECT currency,"                                                                         \
    " SUM(debits_posted / 4294967296), SUM(debits_posted % 4294967296),"                       \
    " SUM(credits_posted / 4294967296), SUM(credits_posted % 4294967296),"                     \
    " SUM(debits_pending / 4294967296), SUM(debits_pending % 4294967296),"                     \
    " SUM(credits_pending / 4294967296), SUM(credits_pending % 4294967296)"                    \
    " FROM ledger_accounts GROUP BY currency ORDER BY currency"

static void check_currency(struct verify *v, const struct store_stmt *st)
{
    const char *currency = store_column_text(st, 0);
    int64_t sums[TOTALS];
    for (int i = 0; i < TOTALS; i++) {
        if (!split_sum(st, 1 + 2 * i, &sums[i])) {
            finding(v, "currency %s: the sum of %s over its accounts overflows int64",
                    currency, total_names[i]);
            return;
        }
    }
    if (sums[DEBITS_POSTED] != sums[CREDITS_POSTED])
        finding(v, "currency %s: accounts' debits_posted sum to %lld but credits_posted to %lld",
                currency, (long long)sums[DEBITS_POSTED], (long long)sums[CREDITS_POSTED]);
    if (sums[DEBITS_PENDING] != sums[CREDITS_PENDING])
        finding(v, "currency %s: accounts' debits_pending sum to %lld but credits_pending to"
                   " %lld", currency, (long long)sums[DEBITS_PENDING],
                (long long)sums[CREDITS_PENDING]);
}

static int verify_currencies(struct verify *v)
{
    struct store_stmt *st;
    if (store_prepare(v->s, CURRENCY_SUMS_SQL, &st) != PB_OK)
        return PB_ERR_DB;
    int rc;
    while ((rc = store_step(st)) == STORE_ROW)
        check_currency(v, st);
    store_finalize(st);
    return rc < 0 ? PB_ERR_DB : PB_OK;
}

/* ---- transfers name existing accounts of their currency ---- */

#define REFERENCES_SQL                                                                         \
    "SELECT t.id, t.kind, t.currency, t.debit_account, d.id, d.currency,"                      \
    " t.credit_account, c.id, c.currency"                                                      \
    " FROM ledger_transfers t"                                                                 \
    " LEFT JOIN ledger_accounts d ON d.id = t.debit_account"                                   \
    " LEFT JOIN ledger_accounts c ON c.id = t.credit_account"                                  \
    " WHERE d.id IS NULL OR c.id IS NULL OR d.currency <> t.currency"                          \
    " OR c.currency <> t.currency OR t.debit_account = t.credit_account"                       \
    " ORDER BY t.id LIMIT ?"

static void report_reference(struct verify *v, const struct store_stmt *st)
{
    long long id = (long long)store_column_int64(st, 0);
    const char *kind = kind_name(store_column_int64(st, 1)), *currency = store_column_text(st, 2);
    static const char *const sides[2] = {"debit", "credit"};
    for (int side = 0; side < 2; side++) {
        int col = 3 + 3 * side;
        long long account = (long long)store_column_int64(st, col);
        if (store_column_is_null(st, col + 1))
            finding(v, "transfer %lld (%s): %s account %lld does not exist", id, kind,
                    sides[side], account);
        else if (strcmp(store_column_text(st, col + 2), currency) != 0)
            finding(v, "transfer %lld (%s): currency %s but %s account %lld holds %s", id, kind,
                    currency, sides[side], account, store_column_text(st, col + 2));
    }
    if (store_column_int64(st, 3) == store_column_int64(st, 6))
        finding(v, "transfer %lld (%s): debits and credits the same account %lld", id, kind,
                (long long)store_column_int64(st, 3));
}

/* ---- (e) every post and void resolves one pending transfer of the same terms, once ---- */

#define RESOLVES_NOTHING_SQL                                                                   \
    "SELECT r.id, r.kind, r.pending_id, p.id, p.kind FROM ledger_transfers r"                  \
    " LEFT JOIN ledger_transfers p ON p.id = r.pending_id"                                     \
    " WHERE (r.kind IN (2, 3) AND (p.id IS NULL OR p.kind <> 1))"                              \
    " OR (r.kind IN (0, 1) AND r.pending_id IS NOT NULL)"                                      \
    " ORDER BY r.id LIMIT ?"

static void report_resolves_nothing(struct verify *v, const struct store_stmt *st)
{
    long long id = (long long)store_column_int64(st, 0);
    const char *kind = kind_name(store_column_int64(st, 1));
    long long pending_id = (long long)store_column_int64(st, 2);
    if (store_column_int64(st, 1) == LEDGER_POSTED || store_column_int64(st, 1) == LEDGER_PENDING)
        finding(v, "transfer %lld (%s): has pending_id %lld, which only post and void have", id,
                kind, pending_id);
    else if (store_column_is_null(st, 2))
        finding(v, "transfer %lld (%s): has no pending_id", id, kind);
    else if (store_column_is_null(st, 3))
        finding(v, "transfer %lld (%s): pending_id %lld does not exist", id, kind, pending_id);
    else
        finding(v, "transfer %lld (%s): pending_id %lld is a %s transfer, not a pending one", id,
                kind, pending_id, kind_name(store_column_int64(st, 4)));
}

#define RESOLUTION_TERMS_SQL                                                                   \
    "SELECT r.id, r.kind, p.id, r.debit_account, p.debit_account, r.credit_account,"           \
    " p.credit_account, r.currency, p.currency, r.code, p.code, r.amount, p.amount"            \
    " FROM ledger_transfers r JOIN ledger_transfers p ON p.id = r.pending_id"                  \
    " WHERE r.kind IN (2, 3) AND p.kind = 1 AND (r.debit_account <> p.debit_account"           \
    " OR r.credit_account <> p.credit_account OR r.currency <> p.currency"                     \
    " OR r.code <> p.code OR r.id < p.id OR (r.kind = 2 AND r.amount > p.amount))"             \
    " ORDER BY r.id LIMIT ?"

static void report_resolution_terms(struct verify *v, const struct store_stmt *st)
{
    char who[96];
    snprintf(who, sizeof(who), "transfer %lld (%s of %lld)",
             (long long)store_column_int64(st, 0), kind_name(store_column_int64(st, 1)),
             (long long)store_column_int64(st, 2));
    static const char *const accounts[] = {"debit_account", "credit_account"};
    for (int i = 0; i < 2; i++) {
        int64_t mine = store_column_int64(st, 3 + 2 * i);
        int64_t theirs = store_column_int64(st, 4 + 2 * i);
        if (mine != theirs)
            finding(v, "%s: %s %lld but the pending transfer's is %lld", who, accounts[i],
                    (long long)mine, (long long)theirs);
    }
    if (strcmp(store_column_text(st, 7), store_column_text(st, 8)) != 0)
        finding(v, "%s: currency %s but the pending transfer's is %s", who,
                store_column_text(st, 7), store_column_text(st, 8));
    if (store_column_int64(st, 9) != store_column_int64(st, 10))
        finding(v, "%s: code %lld but the pending transfer's is %lld", who,
                (long long)store_column_int64(st, 9), (long long)store_column_int64(st, 10));
    if (store_column_int64(st, 0) < store_column_int64(st, 2))
        finding(v, "%s: resolves a later transfer", who);
    if (store_column_int64(st, 1) == LEDGER_POST &&
        store_column_int64(st, 11) > store_column_int64(st, 12))
        finding(v, "%s: amount %lld exceeds the pending amount %lld", who,
                (long long)store_column_int64(st, 11), (long long)store_column_int64(st, 12));
}

#define RESOLVED_TWICE_SQL                                                                     \
    "SELECT pending_id, COUNT(*), MIN(id), MAX(id) FROM ledger_transfers"                      \
    " WHERE kind IN (2, 3) AND pending_id IS NOT NULL GROUP BY pending_id"                     \
    " HAVING COUNT(*) > 1 ORDER BY pending_id LIMIT ?"

static void report_resolved_twice(struct verify *v, const struct store_stmt *st)
{
    finding(v, "pending transfer %lld: resolved %lld times (transfers %lld to %lld)",
            (long long)store_column_int64(st, 0), (long long)store_column_int64(st, 1),
            (long long)store_column_int64(st, 2), (long long)store_column_int64(st, 3));
}

/* ---- (f) one effect per idempotency key; linked groups are whole ---- */

#define IDEM_EFFECTS_SQL                                                                       \
    "SELECT idem, COUNT(DISTINCT group_id), MIN(group_id), MAX(group_id)"                      \
    " FROM ledger_transfers WHERE idem IS NOT NULL GROUP BY idem"                              \
    " HAVING COUNT(DISTINCT group_id) > 1 ORDER BY idem LIMIT ?"

static void report_idem_effects(struct verify *v, const struct store_stmt *st)
{
    finding(v, "idempotency key '%s': %lld effects (linked groups %lld to %lld), not one",
            store_column_text(st, 0), (long long)store_column_int64(st, 1),
            (long long)store_column_int64(st, 2), (long long)store_column_int64(st, 3));
}

#define GROUPS_SQL                                                                             \
    "SELECT group_id, COUNT(*), MIN(id), MAX(id), COUNT(DISTINCT COALESCE(idem, ''))"          \
    " FROM ledger_transfers GROUP BY group_id"                                                 \
    " HAVING MIN(id) <> group_id OR COUNT(*) <> MAX(id) - MIN(id) + 1 OR COUNT(*) > 16"        \
    " OR COUNT(DISTINCT COALESCE(idem, '')) > 1 ORDER BY group_id LIMIT ?"

_Static_assert(LEDGER_LINKED_MAX == 16, "GROUPS_SQL names the bound");

static void report_group(struct verify *v, const struct store_stmt *st)
{
    long long group = (long long)store_column_int64(st, 0), n = store_column_int64(st, 1);
    long long first = store_column_int64(st, 2), last = store_column_int64(st, 3);
    if (first != group)
        finding(v, "linked group %lld: its first transfer is %lld", group, first);
    if (n != last - first + 1)
        finding(v, "linked group %lld: %lld transfers spread over ids %lld to %lld", group, n,
                first, last);
    if (n > LEDGER_LINKED_MAX)
        finding(v, "linked group %lld: %lld transfers, more than %d", group, n,
                LEDGER_LINKED_MAX);
    if (store_column_int64(st, 4) > 1)
        finding(v, "linked group %lld: its transfers carry %lld different idempotency keys",
                group, (long long)store_column_int64(st, 4));
}

static int verify_relations(struct verify *v)
{
    static const struct {
        const char *sql;
        void (*report)(struct verify *v, const struct store_stmt *st);
    } checks[] = {
        {REFERENCES_SQL, report_reference},
        {RESOLVES_NOTHING_SQL, report_resolves_nothing},
        {RESOLUTION_TERMS_SQL, report_resolution_terms},
        {RESOLVED_TWICE_SQL, report_resolved_twice},
        {IDEM_EFFECTS_SQL, report_idem_effects},
        {GROUPS_SQL, report_group},
    };
    for (size_t i = 0; i < PB_ARRAY_LEN(checks); i++)
        if (check_rows(v, checks[i].sql, checks[i].report) != PB_OK)
            return PB_ERR_DB;
    return PB_OK;
}

/* ---- the whole ---- */

static int begin_snapshot(struct store *s)
{
    if (store_begin(s) != PB_OK)
        return PB_ERR_DB;
    if (store_backend_of(s) == STORE_POSTGRES &&
        store_exec(s, "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY") != PB_OK) {
        store_rollback(s);
        return PB_ERR_DB;
    }
    return PB_OK;
}

int ledger_verify(struct store *s, struct pb_buf *out)
{
    PB_ASSERT(s != NULL && out != NULL);
    struct verify v = {.s = s, .out = out};
    int rc = begin_snapshot(s);
    if (rc == PB_OK)
        rc = load_hot(&v);
    if (rc == PB_OK)
        rc = verify_chain(&v);
    if (rc == PB_OK)
        rc = verify_accounts(&v);
    if (rc == PB_OK)
        rc = verify_currencies(&v);
    if (rc == PB_OK)
        rc = verify_relations(&v);
    pb_free(v.hot);
    pb_free(v.hot_replay);
    if (rc != PB_OK) {
        pb_buf_printf(out, "ledger verify: could not read the ledger: %s\n", store_errmsg(s));
        store_rollback(s);
        return PB_ERR_DB;
    }
    store_rollback(s);
    PB_ASSERT(v.findings >= 0 && v.transfers >= 0 && v.accounts >= 0);
    if (v.findings > VERIFY_FINDINGS_LISTED_MAX)
        pb_buf_printf(out, "(%lld more findings are not listed)\n",
                      (long long)(v.findings - VERIFY_FINDINGS_LISTED_MAX));
    if (v.findings > 0) {
        pb_buf_printf(out, "ledger verify: FAILED (%lld finding%s)\n", (long long)v.findings,
                      v.findings == 1 ? "" : "s");
        return PB_ERR_CONFLICT;
    }
    pb_buf_printf(out, "ledger verify: OK (%lld transfers, %lld accounts)\n",
                  (long long)v.transfers, (long long)v.accounts);
    return PB_OK;
}
