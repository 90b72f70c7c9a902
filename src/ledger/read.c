/* read.c: reading accounts, balances and history (ledger.h, "reading"); any connection. */
#include <string.h>

#include "base/base.h"
#include "ledger/ledger.h"

#define ACCOUNT_COLUMNS                                                                        \
    "id, currency, code, owner, flags, debits_posted, credits_posted, debits_pending,"         \
    " credits_pending"

static void account_from_row(struct store_stmt *st, struct ledger_account *a)
{
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

int ledger_account_get(struct store *s, int64_t id, struct ledger_account *out)
{
    struct store_stmt *st;
    if (store_prepare(s, "SELECT " ACCOUNT_COLUMNS " FROM ledger_accounts WHERE id = ?", &st))
        return PB_ERR_DB;
    store_bind_int64(st, 1, id);
    int rc = store_step(st);
    if (rc == STORE_ROW)
        account_from_row(st, out);
    store_finalize(st);
    return rc == STORE_ROW ? PB_OK : rc == STORE_DONE ? PB_ERR_NOT_FOUND : PB_ERR_DB;
}

int ledger_balances(struct store *s, const char *owner, struct ledger_account *out, size_t max,
                    size_t *n)
{
    *n = 0;
    struct store_stmt *st;
    if (store_prepare(s, "SELECT " ACCOUNT_COLUMNS " FROM ledger_accounts WHERE owner = ?"
                         " ORDER BY currency, code", &st))
        return PB_ERR_DB;
    store_bind_text(st, 1, owner, strlen(owner));
    int rc = STORE_DONE;
    while (*n < max && (rc = store_step(st)) == STORE_ROW)
        account_from_row(st, &out[(*n)++]);
    store_finalize(st);
    return rc < 0 ? PB_ERR_DB : PB_OK;
}

static void history_from_row(struct store_stmt *st, struct ledger_history_row *r)
{
    r->id = store_column_int64(st, 0);
    r->timestamp_ns = store_column_int64(st, 1);
    r->kind = (enum ledger_kind)store_column_int64(st, 2);
    r->debit_account = store_column_int64(st, 3);
    r->credit_account = store_column_int64(st, 4);
    r->amount = store_column_int64(st, 5);
    pb_strlcpy(r->currency, store_column_text(st, 6), sizeof(r->currency));
    r->code = (int)store_column_int64(st, 7);
    r->pending_id = store_column_is_null(st, 8) ? 0 : store_column_int64(st, 8);
    pb_strlcpy(r->reference, store_column_text(st, 9), sizeof(r->reference));
    r->metadata = pb_strdup(store_column_text(st, 10));
}

/* The owner's accounts walked by ledger_history: id and chain head (currency-filtered). */
struct chain_head {
    int64_t account, next;
};

static int history_heads(struct store *s, const struct ledger_history_filter *f,
                         struct chain_head **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    struct store_stmt *st;
    if (store_prepare(s, "SELECT id, flags, last_transfer FROM ledger_accounts WHERE owner = ?"
                         " AND (? = '' OR currency = ?) ORDER BY id", &st))
        return PB_ERR_DB;
    const char *cur = f->currency ? f->currency : "";
    store_bind_text(st, 1, f->owner, strlen(f->owner));
    store_bind_text(st, 2, cur, strlen(cur));
    store_bind_text(st, 3, cur, strlen(cur));
    size_t cap = 0;
    int rc;
    while ((rc = store_step(st)) == STORE_ROW) {
        if ((uint32_t)store_column_int64(st, 1) & LEDGER_FLAG_HOT) {
            rc = PB_ERR_INVALID; /* no chain: a house account's history is the transfer log */
            break;
        }
        if (*n == cap) {
            cap = cap ? 2 * cap : 8;
            *out = pb_realloc(*out, cap * sizeof(**out));
        }
        (*out)[(*n)++] = (struct chain_head){store_column_int64(st, 0), store_column_int64(st, 2)};
    }
    store_finalize(st);
    if (rc == STORE_DONE)
        return PB_OK;
    pb_free(*out);
    *out = NULL;
    *n = 0;
    return rc == PB_ERR_INVALID ? PB_ERR_INVALID : PB_ERR_DB;
}

#define HISTORY_ROW_SQL                                                                        \
    "SELECT id, ts_ns, kind, debit_account, credit_account, amount, currency, code,"           \
    " pending_id, reference, metadata, debit_prev, credit_prev FROM ledger_transfers"          \
    " WHERE id = ?"

/* Moves every head at transfer id (row st) down its account's chain. PB_ERR_DB when the
 * chain is broken (the row does not touch the account, or does not lead down). */
static int advance_heads(struct chain_head *h, size_t nh, int64_t id, struct store_stmt *st)
{
    int64_t debit = store_column_int64(st, 3), credit = store_column_int64(st, 4);
    for (size_t k = 0; k < nh; k++) {
        if (h[k].next != id)
            continue;
        int col = h[k].account == debit ? 11 : h[k].account == credit ? 12 : -1;
        if (col < 0 || store_column_is_null(st, col))
            return PB_ERR_DB;
        h[k].next = store_column_int64(st, col);
        if (h[k].next < 0 || h[k].next >= id)
            return PB_ERR_DB;
    }
    return PB_OK;
}

/* Walks the owner's accounts' chains down from their heads, merged by id (newest first); a
 * transfer between two of the owner's accounts is met on both chains at once and listed once.
 * The walk stops at the page's end or below from_ns (ids and times rise together); rows at or
 * above the cursor or to_ns are walked past, so a page deep in a long history costs the walk
 * down to it. */
int ledger_history(struct store *s, const struct ledger_history_filter *f,
                   struct ledger_history_row *rows, size_t *n, int64_t *next_before_id)
{
    PB_ASSERT(f->owner && f->limit >= 1 && f->limit <= LEDGER_HISTORY_PAGE_MAX);
    *n = 0;
    *next_before_id = 0;
    struct chain_head *h;
    size_t nh;
    int rc = history_heads(s, f, &h, &nh);
    if (rc != PB_OK)
        return rc;
    struct store_stmt *st = NULL;
    if (nh > 0 && store_prepare(s, HISTORY_ROW_SQL, &st) != PB_OK)
        rc = PB_ERR_DB;
    int64_t before = f->before_id > 0 ? f->before_id : INT64_MAX;
    int64_t to = f->to_ns > 0 ? f->to_ns : INT64_MAX;
    while (rc == PB_OK) {
        int64_t id = 0;
        for (size_t k = 0; k < nh; k++)
            id = h[k].next > id ? h[k].next : id;
        if (id <= 0)
            break;
        store_reset(st);
        store_bind_int64(st, 1, id);
        if (store_step(st) != STORE_ROW || advance_heads(h, nh, id, st) != PB_OK) {
            rc = PB_ERR_DB; /* a chain names a missing transfer, or is broken */
            break;
        }
        int64_t ts = store_column_int64(st, 1);
        if (ts < f->from_ns)
            break;
        if (id >= before || ts >= to || (f->code != 0 && store_column_int64(st, 7) != f->code))
            continue;
        if (*n == (size_t)f->limit) { /* one more exists: the page ends before it */
            *next_before_id = rows[*n - 1].id;
            break;
        }
        history_from_row(st, &rows[(*n)++]);
    }
    store_finalize(st);
    pb_free(h);
    if (rc != PB_OK) {
        for (size_t i = 0; i < *n; i++)
            pb_free(rows[i].metadata);
        *n = 0;
    }
    return rc;
}
