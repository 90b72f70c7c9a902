/* store.h: the database behind one small interface, with two backends: SQLite (embedded
 * default; WAL, synchronous=FULL) and PostgreSQL (libpq). DESIGN.md section 2.2.
 *
 * SQL is written once in the portable subset both engines accept, with '?' placeholders; the
 * PostgreSQL backend rewrites them to $1..$n (outside string literals). Types used in schemas:
 * BIGINT, INTEGER, TEXT, BOOLEAN is avoided (use INTEGER 0/1), no BLOB (hex TEXT instead).
 * Parameters carry no type: PostgreSQL infers it from the context, so where the context does
 * not decide (SELECT ? + 1 would be a 32-bit integer) write CAST(? AS BIGINT). A comparison
 * read with store_column_int64 gives 1 or 0 on both engines.
 *
 * Threads: a struct store (one connection) is used by one thread at a time. The writer owns
 * the only connection that writes; readers borrow connections from a store_pool.
 *
 * Ownership: store_open returns a connection the caller closes with store_close; statements
 * belong to their connection and must be finalized before it is closed. Text returned by
 * store_column_text is borrowed and valid until the next step, reset or finalize. */
#ifndef PB_STORE_H
#define PB_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum store_backend { STORE_SQLITE = 1, STORE_POSTGRES = 2 };

/* Results of store_step beyond the pb_err values. */
#define STORE_ROW 1
#define STORE_DONE 0

/* Error detail beyond PB_ERR_DB: a constraint (unique, check, not null) was violated. The
 * functions return PB_ERR_CONFLICT for that case, PB_ERR_DB for every other database error. */

struct store;
struct store_stmt;

/* Opens a connection. url is "sqlite:PATH", a plain PATH (SQLite), or "postgres://..." /
 * "postgresql://..." (libpq connection URI). For SQLite the file is created if missing and
 * WAL mode, synchronous=FULL, foreign keys and a busy timeout are set. On failure returns
 * PB_ERR_DB and writes a message into err (errlen bytes). */
int store_open(const char *url, struct store **out, char *err, size_t errlen);
/* Closes s (NULL is ignored); every statement of s must have been finalized. */
void store_close(struct store *s);
enum store_backend store_backend_of(const struct store *s);
/* SQLite: copies committed WAL frames into the database file without blocking the writer
 * (PRAGMA wal_checkpoint(PASSIVE)); run it from a connection other than the writer's, often.
 * *wal_frames (may be NULL) gets the WAL's length in frames (0 on PostgreSQL, where there is
 * nothing to do). Returns 0 or PB_ERR_DB. */
int store_checkpoint(struct store *s, int64_t *wal_frames);
/* The background checkpointer's policy (limits.h), for a task run every
 * PB_STORE_CHECKPOINT_CATCH_UP_MS: is a checkpoint due at now_ns, given the WAL's length at the
 * last one (wal_frames) and when that ran (last_ns; 0: never)? */
bool store_checkpoint_due(int64_t wal_frames, uint64_t last_ns, uint64_t now_ns);
/* SQLite: lets COMMIT return before the WAL is synced (synchronous=NORMAL, which still syncs
 * the WAL around checkpoints, so the file never goes inconsistent) and gives *fd, a
 * descriptor of the WAL file: once fdatasync(*fd) returns, every transaction this connection
 * committed before the call is durable. Durability is then the caller's job: it must
 * acknowledge nothing committed before such a sync (the writer syncs batch N on another
 * thread while it runs batch N+1). The caller closes *fd. Returns 0, or PB_ERR_INVALID when
 * the store cannot (PostgreSQL, an in-memory database): commits stay synchronous. Call
 * outside a transaction. */
int store_defer_sync(struct store *s, int *fd);
/* True when the connection to the server is lost (PostgreSQL); it must be closed and opened
 * again. A SQLite connection never breaks this way. */
bool store_broken(const struct store *s);
/* The last error message on this connection (borrowed). */
const char *store_errmsg(const struct store *s);

/* Runs SQL without parameters or results; several statements separated by ';' are allowed. */
int store_exec(struct store *s, const char *sql);

/* Prepares sql ('?' placeholders; more than PB_STORE_PARAMS_MAX returns PB_ERR_TOO_LARGE).
 * *out is freed with store_finalize. Both backends keep compiled statements per connection,
 * keyed by the exact text, so preparing the same text again is cheap: pass values as
 * parameters, never built into the text (each distinct text takes a cache slot). Several
 * statements with the same text may be live at once; each is independent. Because of the
 * cache, an object that was dropped after the text was first prepared on this connection
 * may be reported by store_step rather than store_prepare. Name the columns rather than
 * SELECT *: on PostgreSQL a cached statement whose result columns changed (ALTER TABLE)
 * fails with "cached plan must not change result type" (SQLite recompiles it). */
int store_prepare(struct store *s, const char *sql, struct store_stmt **out);
/* Ends st (NULL is ignored). A cached statement is reset, its bindings cleared and kept for
 * the next store_prepare of its text; for the caller it is gone either way. */
void store_finalize(struct store_stmt *st);
/* Binding (only before the first step or after store_reset): idx is 1-based. Text is copied;
 * text containing a NUL byte returns PB_ERR_INVALID (PostgreSQL cannot store it). */
int store_bind_int64(struct store_stmt *st, int idx, int64_t v);
int store_bind_text(struct store_stmt *st, int idx, const char *v, size_t len);
int store_bind_null(struct store_stmt *st, int idx);
/* Runs the statement (on the first call after bind/reset) and moves to the next row.
 * Returns STORE_ROW, STORE_DONE, PB_ERR_CONFLICT or PB_ERR_DB. Once it returned STORE_DONE or
 * an error it returns the same again until store_reset; it never re-runs by itself. */
int store_step(struct store_stmt *st);
/* Makes the statement ready to run again; bindings are cleared. */
int store_reset(struct store_stmt *st);
/* Rows changed by the last completed INSERT/UPDATE/DELETE of this statement (0 for other
 * statements). Columns: count known after the first step; values only while on a row. */
int64_t store_changes(const struct store_stmt *st);
int store_column_count(const struct store_stmt *st);
bool store_column_is_null(const struct store_stmt *st, int col); /* col is 0-based */
int64_t store_column_int64(const struct store_stmt *st, int col);
const char *store_column_text(const struct store_stmt *st, int col); /* "" for NULL */
size_t store_column_bytes(const struct store_stmt *st, int col);

/* Transactions and savepoints (names are [a-z0-9_]+, at most STORE_SAVEPOINT_NAME_MAX
 * characters; anything else is a programming error and crashes). store_begin inside a
 * transaction, store_commit outside one and store_savepoint outside one return PB_ERR_DB;
 * store_rollback outside a transaction does nothing. On PostgreSQL any error aborts the
 * transaction until store_rollback or store_rollback_to, and store_commit of an aborted
 * transaction rolls it back and returns PB_ERR_DB. store_rollback_to keeps the savepoint:
 * release it afterwards (both engines). On PostgreSQL store_savepoint and store_release
 * travel with the next call (a prepared statement in the same pipeline: round trips less per
 * writer command), so an error of theirs (releasing a name that is not a savepoint) is
 * reported by that call, store_commit at the latest. */
#define STORE_SAVEPOINT_NAME_MAX 63 /* PostgreSQL truncates identifiers beyond 63 bytes */
int store_begin(struct store *s);
int store_commit(struct store *s);
int store_rollback(struct store *s);
int store_savepoint(struct store *s, const char *name);
int store_release(struct store *s, const char *name);
int store_rollback_to(struct store *s, const char *name);

/* Rewrites '?' placeholders to $1..$n outside quoted literals and identifiers (and outside
 * -- and block comments). Returns the number of placeholders, or -1 if there are more than
 * PB_STORE_PARAMS_MAX or the result does not fit in out (outlen bytes; strlen(sql) +
 * 2 * PB_STORE_PARAMS_MAX + 1 always fits). Exposed for tests. */
int store_rewrite_placeholders(const char *sql, char *out, size_t outlen);

/* A bounded pool of reader connections shared by HTTP threads. store_pool_acquire blocks up
 * to timeout_ms for a free connection (opening one lazily) and returns PB_ERR_TIMEOUT after. */
struct store_pool;
int store_pool_open(const char *url, int size, struct store_pool **out, char *err,
                    size_t errlen);
void store_pool_close(struct store_pool *p);
int store_pool_acquire(struct store_pool *p, int timeout_ms, struct store **out);
/* Gives s back (its statements finalized). An open transaction is rolled back; a connection
 * that broke is closed and replaced lazily. store_pool_open opens the first connection at
 * once, so a bad url fails there (PB_ERR_DB, message in err). store_pool_close requires
 * every connection to be back. */
void store_pool_release(struct store_pool *p, struct store *s);

/* Migrations: numbered per module, applied in order, recorded in table schema_migrations
 * (module, version, name, applied_at_ms); a landed migration is never edited.
 * sql_postgres, when not NULL, replaces sql on PostgreSQL (for the rare engine difference). */
struct store_migration {
    const char *module;
    int version; /* 1, 2, 3, ... per module, no gaps */
    const char *name;
    const char *sql;
    const char *sql_postgres;
};

/* Applies every migration in list (any order of modules; versions ascending per module) not
 * yet recorded, each in its own transaction. *applied_out (may be NULL) gets how many ran.
 * Returns 0, or PB_ERR_DB with the failing migration named in the log (earlier migrations of
 * the list stay applied), or PB_ERR_INVALID without touching the database when the versions
 * of a module are not 1..n in list order. Must be called outside a transaction; migration
 * SQL must not contain BEGIN/COMMIT. */
int store_migrate(struct store *s, const struct store_migration *list, size_t count,
                  int *applied_out);

/* How many of list's migrations are not recorded in this database (all of them when it has no
 * schema_migrations table); *first_out gets the first pending one or NULL. Read-only. */
int store_migrations_pending(struct store *s, const struct store_migration *list, size_t count,
                             const struct store_migration **first_out);

#endif
