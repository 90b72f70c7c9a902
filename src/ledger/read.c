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

int ledger_history(struct store *s, const struct ledger_history_filter *f,
                   struct ledger_history_row *rows, size_t *n, int64_t *next_before_id)
{
    PB_ASSERT(f->owner && f->limit >= 1 && f->limit <= LEDGER_HISTORY_PAGE_MAX);
    *n = 0;
    *next_before_id = 0;
    struct store_stmt *st;
    /* One text for every filter combination: unused filters are neutralised by their flags. */
    if (store_prepare(s, "SELECT t.id, t.ts_ns, t.kind, t.debit_account, t.credit_account,"
                         " t.amount, t.currency, t.code, t.pending_id, t.reference, t.metadata"
                         " FROM ledger_transfers t WHERE (t.debit_account IN (SELECT id FROM"
                         " ledger_accounts WHERE owner = ?) OR t.credit_account IN (SELECT id"
                         " FROM ledger_accounts WHERE owner = ?))"
                         " AND t.id < ? AND (? = '' OR t.currency = ?) AND (? = 0 OR t.code = ?)"
                         " AND t.ts_ns >= ? AND t.ts_ns < ? ORDER BY t.id DESC LIMIT ?", &st))
        return PB_ERR_DB;
    const char *cur = f->currency ? f->currency : "";
    int i = 1;
    store_bind_text(st, i++, f->owner, strlen(f->owner));
    store_bind_text(st, i++, f->owner, strlen(f->owner));
    store_bind_int64(st, i++, f->before_id > 0 ? f->before_id : INT64_MAX);
    store_bind_text(st, i++, cur, strlen(cur));
    store_bind_text(st, i++, cur, strlen(cur));
    store_bind_int64(st, i++, f->code);
    store_bind_int64(st, i++, f->code);
    store_bind_int64(st, i++, f->from_ns);
    store_bind_int64(st, i++, f->to_ns > 0 ? f->to_ns : INT64_MAX);
    store_bind_int64(st, i++, f->limit + 1); /* one more tells whether a next page exists */
    int rc;
    while ((rc = store_step(st)) == STORE_ROW) {
        if (*n == (size_t)f->limit) {
            *next_before_id = rows[*n - 1].id;
            break;
        }
        history_from_row(st, &rows[(*n)++]);
    }
    store_finalize(st);
    return rc < 0 ? PB_ERR_DB : PB_OK;
}
