/* store_int.h: internals shared by store.c (dispatch, placeholders, pool, migrations),
 * store_sqlite.c and store_pg.c. Public contract: store.h; design: DESIGN.md section 2.2.
 *
 * Design notes
 *
 * - A struct store is one connection: the backend tag, the last error message, the number of
 *   live statements (asserted zero when the connection is closed or returned to a pool) and
 *   the backend's own state in a union. store.c switches on the tag and calls the
 *   store__sqlite_* or store__pg_* function; a switch rather than a table of function
 *   pointers, so every call is visible to the reader and to the compiler.
 *
 * - Statements move READY (bindings may change) -> ROWS (executed; positioned before the
 *   first row or on a row) -> DONE or FAILED. store_reset is the only way back to READY;
 *   stepping a DONE statement returns STORE_DONE again and a FAILED one its error again, so
 *   neither backend silently re-runs a statement. Columns are read only on a row.
 *
 * - Behaviour the two engines do not share is made the same here: begin inside a
 *   transaction, commit outside one and a savepoint outside one are errors on both; rollback
 *   outside a transaction does nothing on both; text containing a NUL byte is refused on
 *   both; store_changes counts only the rows an INSERT/UPDATE/DELETE changed (0 for SELECT
 *   and DDL) on both.
 *
 * - SQLite: the writer wraps every command in SAVEPOINT/RELEASE (~50,000 per second), so the
 *   transaction-control statements are prepared once per connection and cached by their
 *   SQL text in a small LRU table (STORE_TXN_CACHE_MAX entries) instead of being re-parsed by
 *   sqlite3_exec. Connections are opened with SQLITE_OPEN_NOMUTEX: one thread at a time.
 *
 * - SQLite statement cache: compiling a statement costs microseconds and the writer prepares
 *   a few per command, so store_prepare keeps compiled statements per connection (prepared
 *   with SQLITE_PREPARE_PERSISTENT: they are long-lived), keyed by the exact SQL text
 *   (STORE_SQLITE_CACHE_MAX entries, found through a chained hash table of
 *   STORE_SQLITE_CACHE_BUCKETS heads). An entry is IDLE (reset, bindings
 *   cleared, no read transaction held) or handed out to exactly one live store_stmt. A
 *   prepare takes an idle entry with the same text; if every entry with that text is handed
 *   out (nested use), it compiles a fresh statement, which becomes another entry of the same
 *   text. store_finalize of a cached statement resets it, clears its bindings and makes the
 *   entry idle again instead of finalizing it. A new entry takes a free slot or evicts the
 *   least recently handed out idle entry (finalized); when every slot is handed out the
 *   statement stays outside the cache and store_finalize really finalizes it. stmts_live
 *   counts the statements callers hold (cached or not), never idle entries, so store_close
 *   still asserts that the caller finalized everything; it then finalizes the idle entries.
 *   A schema change (by any connection) makes SQLite recompile a cached statement at its
 *   next step, so the column count is read again after every step, and an error such as a
 *   dropped table surfaces at store_step rather than store_prepare, as on PostgreSQL.
 *
 * - PostgreSQL: statements are rewritten ('?' -> $n) and PQprepare'd once per connection,
 *   cached by their rewritten text (STORE_PG_PREPARED_MAX entries, unused ones evicted least
 *   recently used first with DEALLOCATE). store_stmt objects with the same text share one
 *   server statement; that is safe because PQexecPrepared returns the whole result at once.
 *   Parameters travel in text format; the server infers their types from the context, so
 *   SQL where the context does not decide (SELECT ? + 1) should say CAST(? AS BIGINT).
 *   Transaction control goes through PQexec: one round trip, the same as a prepared one.
 *   Round trips are what costs on PostgreSQL, so a RELEASE inside a healthy transaction is
 *   not sent at once: it is prefixed to the next transaction-control statement ("RELEASE
 *   cmd; SAVEPOINT cmd" is one PQexec) or sent before the next other call. It can fail only
 *   for a name that is not a savepoint (a programming error), reported by that later call.
 *
 * - PostgreSQL aborts the whole transaction on any error: until ROLLBACK or ROLLBACK TO
 *   SAVEPOINT every statement fails (SQLSTATE 25P02) and COMMIT turns into ROLLBACK, which
 *   store_commit reports as PB_ERR_DB. SQLite keeps the transaction after a failed
 *   statement. A caller that wants to continue after a failure must roll back to a savepoint
 *   taken before it; that is correct on both engines.
 */
#ifndef PB_STORE_INT_H
#define PB_STORE_INT_H

#include <libpq-fe.h>
#include <sqlite3.h>
#include <stdarg.h>

#include "base/buf.h"
#include "base/limits.h"
#include "store/store.h"

/* Longest message kept by store_errmsg; database messages are one line. */
#define STORE_ERRMSG_MAX 512
/* Distinct transaction-control statements cached per SQLite connection: BEGIN, COMMIT,
 * ROLLBACK plus three per savepoint name; the writer uses one or two names. */
#define STORE_TXN_CACHE_MAX 16
/* Compiled statements kept per SQLite connection by store_prepare: every distinct statement
 * of the application fits (the same reasoning as STORE_PG_PREPARED_MAX), so a warm
 * connection never parses again; each idle entry costs a few KiB of SQLite memory. */
#define STORE_SQLITE_CACHE_MAX 256
/* Hash heads of that cache: a power of two, twice the entries, so chains stay short. */
#define STORE_SQLITE_CACHE_BUCKETS (2 * STORE_SQLITE_CACHE_MAX)
/* "ROLLBACK TO " plus the longest savepoint name, plus the terminator. */
#define STORE_TXN_SQL_MAX (16 + STORE_SAVEPOINT_NAME_MAX)
/* SAVEPOINT and RELEASE statements a PostgreSQL connection holds back to send with the next
 * round trip (the writer's RELEASE of one command and SAVEPOINT of the next travel with that
 * command's first statement, pipelined). */
#define STORE_PG_DEFERRED_MAX (4 * STORE_TXN_SQL_MAX)
/* Prepared statements kept per PostgreSQL connection: every distinct statement of the
 * application fits, so a warm connection never parses again. */
#define STORE_PG_PREPARED_MAX 256

struct store__txn_stmt {
    char sql[STORE_TXN_SQL_MAX]; /* the key; "" when the slot is empty */
    sqlite3_stmt *stmt;
    uint64_t last_used; /* 0 when empty: the LRU victim is the smallest */
};

/* One compiled statement of the store_prepare cache (design notes above). */
struct store__sqlite_cached {
    char *sql; /* the key, owned; NULL when the slot is empty */
    size_t sql_len;
    uint64_t hash;
    sqlite3_stmt *stmt; /* owned by the cache, lent to one store_stmt while in_use */
    uint64_t last_used; /* when last handed out: the LRU victim is the smallest idle one */
    int next;           /* next entry of the same bucket, as index + 1; 0 ends the chain */
    bool in_use;
};

struct store__sqlite {
    sqlite3 *db;
    uint64_t clock; /* ticks once per cache lookup */
    struct store__txn_stmt txn[STORE_TXN_CACHE_MAX];
    uint64_t cache_clock; /* ticks once per statement handed out */
    int cache_used;       /* slots filled so far; slots never empty again until close */
    int cache_in_use;     /* entries handed out; <= the connection's stmts_live */
    int cache_buckets[STORE_SQLITE_CACHE_BUCKETS]; /* first entry as index + 1; 0: empty */
    struct store__sqlite_cached cache[STORE_SQLITE_CACHE_MAX];
};

struct store__pg_prepared {
    char *sql; /* rewritten text, owned; NULL when the slot is empty */
    uint64_t hash;
    uint64_t id;        /* server-side name is "pb_<id>" */
    uint64_t last_used; /* 0 when empty */
    int params;
    int refs; /* live statements using it; only refs == 0 may be evicted */
};

struct store__pg {
    PGconn *conn;
    char deferred[STORE_PG_DEFERRED_MAX]; /* "RELEASE a; RELEASE b" not sent yet, or "" */
    uint64_t next_id;
    uint64_t clock;
    struct store__pg_prepared prepared[STORE_PG_PREPARED_MAX];
};

struct store {
    enum store_backend backend;
    int stmts_live;
    char errmsg[STORE_ERRMSG_MAX];
    union {
        struct store__sqlite sqlite;
        struct store__pg pg;
    } u;
};

enum store__state { STORE__READY, STORE__ROWS, STORE__DONE, STORE__FAILED };

struct store__sqlite_stmt {
    sqlite3_stmt *stmt;
    /* The cache entry lent (stmt is its statement), or NULL: finalize stmt for real. */
    struct store__sqlite_cached *cached;
    int64_t total_before; /* sqlite3_total_changes64 when the statement started */
};

struct store__pg_stmt {
    struct store__pg_prepared *prepared; /* borrowed from the connection's cache */
    bool is_set[PB_STORE_PARAMS_MAX];    /* false: unbound or NULL */
    struct pb_buf values[PB_STORE_PARAMS_MAX];
    PGresult *result; /* owned while ROWS */
    int rows;
    int row; /* -1 before the first */
    int columns;
};

struct store_stmt {
    struct store *s;
    enum store__state state;
    int err; /* what a FAILED statement returns */
    int params;
    int columns; /* known after the first step */
    int64_t changes;
    union {
        struct store__sqlite_stmt sqlite;
        struct store__pg_stmt pg;
    } u;
};

/* store.c */
__attribute__((format(printf, 2, 3))) void store__set_error(struct store *s, const char *fmt, ...);
bool store__in_transaction(struct store *s);

/* store_sqlite.c: path is a file name (no "sqlite:" prefix). */
int store__sqlite_open(struct store *s, const char *path, char *err, size_t errlen);
void store__sqlite_close(struct store *s);
int store__sqlite_exec(struct store *s, const char *sql);
int store__sqlite_txn(struct store *s, const char *sql);
int store__sqlite_defer_sync(struct store *s, int *fd);
bool store__sqlite_in_transaction(struct store *s);
int store__sqlite_prepare(struct store *s, const char *sql, struct store_stmt *st);
void store__sqlite_finalize(struct store_stmt *st);
int store__sqlite_bind_int64(struct store_stmt *st, int idx, int64_t v);
int store__sqlite_bind_text(struct store_stmt *st, int idx, const char *v, size_t len);
int store__sqlite_bind_null(struct store_stmt *st, int idx);
int store__sqlite_step(struct store_stmt *st);
void store__sqlite_reset(struct store_stmt *st);
bool store__sqlite_column_is_null(const struct store_stmt *st, int col);
int64_t store__sqlite_column_int64(const struct store_stmt *st, int col);
const char *store__sqlite_column_text(const struct store_stmt *st, int col);
size_t store__sqlite_column_bytes(const struct store_stmt *st, int col);

/* store_pg.c: url is a libpq connection URI. */
int store__pg_open(struct store *s, const char *url, char *err, size_t errlen);
void store__pg_close(struct store *s);
bool store__pg_broken(const struct store *s);
int store__pg_exec(struct store *s, const char *sql);
int store__pg_txn(struct store *s, const char *sql);
bool store__pg_in_transaction(struct store *s);
int store__pg_prepare(struct store *s, const char *sql, struct store_stmt *st);
void store__pg_finalize(struct store_stmt *st);
int store__pg_bind_int64(struct store_stmt *st, int idx, int64_t v);
int store__pg_bind_text(struct store_stmt *st, int idx, const char *v, size_t len);
int store__pg_bind_null(struct store_stmt *st, int idx);
int store__pg_step(struct store_stmt *st);
void store__pg_reset(struct store_stmt *st);
bool store__pg_column_is_null(const struct store_stmt *st, int col);
int64_t store__pg_column_int64(const struct store_stmt *st, int col);
const char *store__pg_column_text(const struct store_stmt *st, int col);
size_t store__pg_column_bytes(const struct store_stmt *st, int col);

#endif
