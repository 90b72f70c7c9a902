/* store_sqlite.c: the SQLite backend of the store (store.h): WAL, synchronous=FULL, foreign
 * keys, a busy timeout, and cached transaction-control statements for the writer's
 * savepoint per command. Design notes: store_int.h. */
#include "base/base.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "base/limits.h"
#include "store/store_int.h"

/* Records the connection's error message and maps the code to a pb_err. */
static int sqlite_error(struct store *s, int rc)
{
    store__set_error(s, "sqlite: %s", sqlite3_errmsg(s->u.sqlite.db));
    return (rc & 0xff) == SQLITE_CONSTRAINT ? PB_ERR_CONFLICT : PB_ERR_DB;
}

/* Sets journal_mode=WAL and checks that the engine accepted it (an in-memory database
 * keeps "memory", which is fine). */
static int set_wal(struct store *s, const char *path)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->u.sqlite.db, "PRAGMA journal_mode=WAL", -1, &st, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        rc = sqlite_error(s, rc);
        sqlite3_finalize(st);
        return rc;
    }
    const char *mode = (const char *)sqlite3_column_text(st, 0);
    bool ok = mode != NULL && (strcasecmp(mode, "wal") == 0 || strcmp(path, ":memory:") == 0);
    if (!ok)
        store__set_error(s, "sqlite: journal_mode is %s, not wal", mode ? mode : "unknown");
    sqlite3_finalize(st);
    return ok ? PB_OK : PB_ERR_DB;
}

int store__sqlite_open(struct store *s, const char *path, char *err, size_t errlen)
{
    PB_ASSERT(s->backend == STORE_SQLITE && path[0] != '\0');
    struct store__sqlite *q = &s->u.sqlite;
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    int rc = sqlite3_open_v2(path, &q->db, flags, NULL);
    if (rc != SQLITE_OK) {
        snprintf(err, errlen, "sqlite: cannot open %s: %s", path,
                 q->db ? sqlite3_errmsg(q->db) : sqlite3_errstr(rc));
        sqlite3_close(q->db);
        q->db = NULL;
        return PB_ERR_DB;
    }
    sqlite3_extended_result_codes(q->db, 1);
    sqlite3_busy_timeout(q->db, PB_STORE_BUSY_TIMEOUT_MS);
    rc = set_wal(s, path);
    if (rc == PB_OK)
        rc = store__sqlite_exec(s, "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON");
    if (rc != PB_OK) {
        snprintf(err, errlen, "%s (opening %s)", s->errmsg, path);
        store__sqlite_close(s);
        return PB_ERR_DB;
    }
    return PB_OK;
}

void store__sqlite_close(struct store *s)
{
    struct store__sqlite *q = &s->u.sqlite;
    for (int i = 0; i < STORE_TXN_CACHE_MAX; i++)
        sqlite3_finalize(q->txn[i].stmt); /* NULL is a no-op */
    memset(q->txn, 0, sizeof(q->txn));
    int rc = sqlite3_close(q->db);
    PB_ASSERT(rc == SQLITE_OK); /* every statement was finalized */
    q->db = NULL;
}

int store__sqlite_exec(struct store *s, const char *sql)
{
    char *msg = NULL;
    int rc = sqlite3_exec(s->u.sqlite.db, sql, NULL, NULL, &msg);
    if (rc == SQLITE_OK)
        return PB_OK;
    store__set_error(s, "sqlite: %s", msg ? msg : sqlite3_errstr(rc));
    sqlite3_free(msg);
    return (rc & 0xff) == SQLITE_CONSTRAINT ? PB_ERR_CONFLICT : PB_ERR_DB;
}

/* The cached statement for sql, prepared on first use; the least recently used entry makes
 * room when the cache is full. Returns NULL (error recorded) if sql does not prepare. */
static sqlite3_stmt *txn_statement(struct store *s, const char *sql)
{
    struct store__sqlite *q = &s->u.sqlite;
    struct store__txn_stmt *victim = &q->txn[0];
    q->clock++;
    for (int i = 0; i < STORE_TXN_CACHE_MAX; i++) {
        struct store__txn_stmt *e = &q->txn[i];
        if (e->stmt != NULL && strcmp(e->sql, sql) == 0) {
            e->last_used = q->clock;
            return e->stmt;
        }
        if (e->last_used < victim->last_used)
            victim = e;
    }
    sqlite3_finalize(victim->stmt);
    memset(victim, 0, sizeof(*victim));
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v3(q->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL);
    if (rc != SQLITE_OK) {
        sqlite_error(s, rc);
        return NULL;
    }
    PB_ASSERT(pb_strlcpy(victim->sql, sql, sizeof(victim->sql)));
    victim->stmt = st;
    victim->last_used = q->clock;
    return st;
}

int store__sqlite_txn(struct store *s, const char *sql)
{
    sqlite3_stmt *st = txn_statement(s, sql);
    if (st == NULL)
        return PB_ERR_DB;
    int rc = sqlite3_step(st);
    int result = rc == SQLITE_DONE ? PB_OK : sqlite_error(s, rc);
    sqlite3_reset(st);
    return result;
}

bool store__sqlite_in_transaction(struct store *s)
{
    return sqlite3_get_autocommit(s->u.sqlite.db) == 0;
}

int store__sqlite_prepare(struct store *s, const char *sql, struct store_stmt *st)
{
    sqlite3_stmt *stmt = NULL;
    int rc = sqlite3_prepare_v2(s->u.sqlite.db, sql, -1, &stmt, NULL);
    if (rc != SQLITE_OK)
        return sqlite_error(s, rc);
    if (stmt == NULL) {
        store__set_error(s, "sqlite: empty statement");
        return PB_ERR_DB;
    }
    int params = sqlite3_bind_parameter_count(stmt);
    if (params > PB_STORE_PARAMS_MAX) {
        store__set_error(s, "statement has %d parameters, more than %d", params,
                         PB_STORE_PARAMS_MAX);
        sqlite3_finalize(stmt);
        return PB_ERR_TOO_LARGE;
    }
    st->u.sqlite.stmt = stmt;
    st->params = params;
    st->columns = sqlite3_column_count(stmt);
    return PB_OK;
}

void store__sqlite_finalize(struct store_stmt *st)
{
    sqlite3_finalize(st->u.sqlite.stmt);
    st->u.sqlite.stmt = NULL;
}

static int bind_result(struct store_stmt *st, int rc)
{
    return rc == SQLITE_OK ? PB_OK : sqlite_error(st->s, rc);
}

int store__sqlite_bind_int64(struct store_stmt *st, int idx, int64_t v)
{
    return bind_result(st, sqlite3_bind_int64(st->u.sqlite.stmt, idx, v));
}

int store__sqlite_bind_text(struct store_stmt *st, int idx, const char *v, size_t len)
{
    int rc = sqlite3_bind_text(st->u.sqlite.stmt, idx, v, (int)len, SQLITE_TRANSIENT);
    return bind_result(st, rc);
}

int store__sqlite_bind_null(struct store_stmt *st, int idx)
{
    return bind_result(st, sqlite3_bind_null(st->u.sqlite.stmt, idx));
}

int store__sqlite_step(struct store_stmt *st)
{
    sqlite3 *db = st->s->u.sqlite.db;
    if (st->state == STORE__READY)
        st->u.sqlite.total_before = sqlite3_total_changes64(db);
    int rc = sqlite3_step(st->u.sqlite.stmt);
    if (rc == SQLITE_ROW)
        return STORE_ROW;
    if (rc == SQLITE_DONE) {
        /* A statement that changed nothing (SELECT, DDL, a WHERE matching no row) leaves
         * the total alone; sqlite3_changes64 would still hold an older statement's count. */
        bool changed = sqlite3_total_changes64(db) != st->u.sqlite.total_before;
        st->changes = changed ? sqlite3_changes64(db) : 0;
        return STORE_DONE;
    }
    return sqlite_error(st->s, rc);
}

void store__sqlite_reset(struct store_stmt *st)
{
    sqlite3_reset(st->u.sqlite.stmt); /* returns the last step's error, already reported */
    sqlite3_clear_bindings(st->u.sqlite.stmt);
}

bool store__sqlite_column_is_null(const struct store_stmt *st, int col)
{
    return sqlite3_column_type(st->u.sqlite.stmt, col) == SQLITE_NULL;
}

int64_t store__sqlite_column_int64(const struct store_stmt *st, int col)
{
    return sqlite3_column_int64(st->u.sqlite.stmt, col);
}

const char *store__sqlite_column_text(const struct store_stmt *st, int col)
{
    return (const char *)sqlite3_column_text(st->u.sqlite.stmt, col);
}

size_t store__sqlite_column_bytes(const struct store_stmt *st, int col)
{
    sqlite3_column_text(st->u.sqlite.stmt, col); /* the length of the UTF-8 text form */
    return (size_t)sqlite3_column_bytes(st->u.sqlite.stmt, col);
}
