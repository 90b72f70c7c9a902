/* audit.c: the audit trail of staff actions: its table, the insert used inside the writer
 * command that makes the change, and the newest-first reader (audit.h). */
#include "ledger/audit.h"

#include <string.h>

#include "base/base.h"

const struct store_migration audit_migrations[] = {
    {"audit", 1, "audit trail of staff actions",
     "CREATE TABLE audit_log ("
     " id BIGINT PRIMARY KEY, time_ns BIGINT NOT NULL, actor TEXT NOT NULL,"
     " action TEXT NOT NULL, subject TEXT NOT NULL, reason TEXT NOT NULL,"
     " before_json TEXT NOT NULL, after_json TEXT NOT NULL, ref TEXT NOT NULL);"
     "CREATE INDEX audit_log_subject ON audit_log (subject, id);",
     NULL},
};
const size_t audit_migrations_count = PB_ARRAY_LEN(audit_migrations);

int audit_next_id(struct store *tx, int64_t *id_out)
{
    struct store_stmt *st;
    if (store_prepare(tx, "SELECT COALESCE(MAX(id), 0) FROM audit_log", &st) != PB_OK)
        return PB_ERR_DB;
    int rc = store_step(st);
    if (rc == STORE_ROW)
        *id_out = store_column_int64(st, 0) + 1;
    store_finalize(st);
    if (rc != STORE_ROW)
        return PB_ERR_DB;
    PB_ASSERT(*id_out >= 1);
    return PB_OK;
}

static bool text_ok(const char *s, size_t max)
{
    return s != NULL && strnlen(s, max + 1) <= max;
}

int audit_insert(struct store *tx, const struct audit_record *r)
{
    PB_ASSERT(r->id >= 1 && r->time_ns > 0);
    PB_ASSERT(text_ok(r->actor, AUDIT_ACTOR_MAX) && text_ok(r->action, AUDIT_ACTION_MAX));
    PB_ASSERT(text_ok(r->subject, AUDIT_SUBJECT_MAX) && text_ok(r->reason, AUDIT_REASON_MAX));
    PB_ASSERT(text_ok(r->ref, AUDIT_REF_MAX) && r->before_json && r->after_json);
    struct store_stmt *st;
    if (store_prepare(tx, "INSERT INTO audit_log (id, time_ns, actor, action, subject, reason,"
                          " before_json, after_json, ref) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                      &st) != PB_OK)
        return PB_ERR_DB;
    int rc = store_bind_int64(st, 1, r->id);
    rc = rc ? rc : store_bind_int64(st, 2, r->time_ns);
    const char *texts[] = {r->actor, r->action, r->subject, r->reason, r->before_json,
                           r->after_json, r->ref};
    for (size_t i = 0; i < PB_ARRAY_LEN(texts) && rc == PB_OK; i++)
        rc = store_bind_text(st, (int)i + 3, texts[i], strlen(texts[i]));
    if (rc == PB_OK)
        rc = store_step(st);
    store_finalize(st);
    if (rc == STORE_DONE)
        return PB_OK;
    return rc == PB_ERR_CONFLICT ? PB_ERR_CONFLICT : PB_ERR_DB;
}

static void row_from(struct store_stmt *st, struct audit_row *r)
{
    r->id = store_column_int64(st, 0);
    r->time_ns = store_column_int64(st, 1);
    char **texts[] = {&r->actor, &r->action, &r->subject, &r->reason, &r->before_json,
                      &r->after_json, &r->ref};
    for (size_t i = 0; i < PB_ARRAY_LEN(texts); i++)
        *texts[i] = pb_strdup(store_column_text(st, (int)i + 2));
    PB_ASSERT(r->id >= 1);
}

int audit_list(struct store *s, int64_t before_id, int limit, struct audit_row *rows, size_t *n,
               int64_t *next_before_id)
{
    PB_ASSERT(limit >= 1 && limit <= AUDIT_PAGE_MAX && before_id >= 0);
    *n = 0;
    *next_before_id = 0;
    struct store_stmt *st;
    if (store_prepare(s, "SELECT id, time_ns, actor, action, subject, reason, before_json,"
                         " after_json, ref FROM audit_log WHERE id < ? ORDER BY id DESC"
                         " LIMIT ?", &st) != PB_OK)
        return PB_ERR_DB;
    store_bind_int64(st, 1, before_id > 0 ? before_id : INT64_MAX);
    store_bind_int64(st, 2, limit + 1); /* one more tells whether a next page exists */
    int rc;
    while ((rc = store_step(st)) == STORE_ROW) {
        if (*n == (size_t)limit) {
            *next_before_id = rows[*n - 1].id;
            break;
        }
        row_from(st, &rows[(*n)++]);
    }
    store_finalize(st);
    if (rc < 0) {
        for (size_t i = 0; i < *n; i++)
            audit_row_release(&rows[i]);
        *n = 0;
        return PB_ERR_DB;
    }
    return PB_OK;
}

void audit_row_release(struct audit_row *row)
{
    char *texts[] = {row->actor, row->action, row->subject, row->reason, row->before_json,
                     row->after_json, row->ref};
    for (size_t i = 0; i < PB_ARRAY_LEN(texts); i++)
        pb_free(texts[i]);
    memset(row, 0, sizeof(*row));
}
