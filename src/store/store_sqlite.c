/* store_sqlite.c: the SQLite backend of the store (store.h): WAL, synchronous=FULL, foreign
 * keys, a busy timeout, cached transaction-control statements for the writer's savepoint per
 * command, and a per-connection cache of compiled statements behind store_prepare. Design
 * notes: store_int.h. */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "base/base.h"
#include "base/limits.h"
#include "base/log.h"
#include "store/store_int.h"

_Static_assert((STORE_SQLITE_CACHE_BUCKETS & (STORE_SQLITE_CACHE_BUCKETS - 1)) == 0,
               "the bucket of a hash is taken by masking");

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

/* Process-wide settings, before the library's first use: no allocation statistics (they take
 * a global mutex on every malloc, ~10% of the writer's time). */
static void sqlite_configure(void)
{
    int rc = sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    if (rc == SQLITE_OK)
        rc = sqlite3_config(SQLITE_CONFIG_STMTJRNL_SPILL, PB_STORE_SQLITE_SUBJOURNAL_SPILL);
    if (rc != SQLITE_OK) /* the library was initialised before us: keep its defaults */
        pb_log(PB_LOG_WARN, "sqlite: allocation statistics stay on", NULL);
}

int store__sqlite_open(struct store *s, const char *path, char *err, size_t errlen)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, sqlite_configure);
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
        rc = store__sqlite_exec(s, "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;"
                                   " PRAGMA cache_size=-"
                                   PB_STR(PB_STORE_SQLITE_CACHE_KIB) "; PRAGMA wal_autocheckpoint="
                                   PB_STR(PB_STORE_WAL_AUTOCHECKPOINT_PAGES));
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
    PB_ASSERT(q->cache_in_use == 0); /* store_close checked that stmts_live is 0 */
    for (int i = 0; i < q->cache_used; i++) {
        PB_ASSERT(!q->cache[i].in_use && q->cache[i].stmt != NULL);
        sqlite3_finalize(q->cache[i].stmt);
        pb_free(q->cache[i].sql);
    }
    memset(q->cache, 0, sizeof(q->cache));
    memset(q->cache_buckets, 0, sizeof(q->cache_buckets));
    q->cache_used = 0;
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

int store__sqlite_defer_sync(struct store *s, int *fd)
{
    sqlite3 *db = s->u.sqlite.db;
    const char *main_file = sqlite3_db_filename(db, "main");
    if (main_file == NULL || main_file[0] == '\0') { /* in memory: nothing to sync */
        store__set_error(s, "sqlite: an in-memory database has no WAL to sync");
        return PB_ERR_INVALID;
    }
    /* The WAL file exists once the connection has read in WAL mode: read something. */
    if (store__sqlite_exec(s, "SELECT COUNT(*) FROM sqlite_schema") != PB_OK)
        return PB_ERR_DB;
    const char *wal = sqlite3_filename_wal(main_file);
    int walfd = wal ? open(wal, O_RDONLY | O_CLOEXEC) : -1;
    if (walfd < 0) {
        store__set_error(s, "sqlite: cannot open the WAL file %s", wal ? wal : "(none)");
        return PB_ERR_INVALID;
    }
    if (store__sqlite_exec(s, "PRAGMA synchronous=NORMAL") != PB_OK) {
        close(walfd);
        return PB_ERR_DB;
    }
    *fd = walfd;
    return PB_OK;
}

bool store__sqlite_in_transaction(struct store *s)
{
    return sqlite3_get_autocommit(s->u.sqlite.db) == 0;
}

/* ---- statement cache ------------------------------------------------------------------ */

/* A hash of the SQL text taken 8 bytes at a time: every store_prepare hashes its text, so
 * this is on the hit path. Collisions only lengthen a chain; keys are compared in full. */
static uint64_t sql_hash(const char *sql, size_t len)
{
    const uint64_t mul = 0xff51afd7ed558ccdull; /* MurmurHash3's fmix64 multiplier */
    uint64_t h = 0x9e3779b97f4a7c15ull ^ len;
    size_t i = 0;
    for (; i + sizeof(uint64_t) <= len; i += sizeof(uint64_t)) {
        uint64_t word;
        memcpy(&word, sql + i, sizeof(word));
        h = (h ^ word) * mul;
        h ^= h >> 32;
    }
    uint64_t tail = 0;
    memcpy(&tail, sql + i, len - i);
    h = (h ^ tail) * mul;
    return h ^ (h >> 29);
}

static int *bucket_of(struct store__sqlite *q, uint64_t hash)
{
    return &q->cache_buckets[hash & (STORE_SQLITE_CACHE_BUCKETS - 1)];
}

/* An idle entry whose text is sql (len bytes, hashed to hash), or NULL. */
static struct store__sqlite_cached *cache_find_idle(struct store__sqlite *q, const char *sql,
                                                    size_t len, uint64_t hash)
{
    int steps = 0;
    for (int i = *bucket_of(q, hash); i != 0; i = q->cache[i - 1].next) {
        struct store__sqlite_cached *e = &q->cache[i - 1];
        if (!e->in_use && e->hash == hash && e->sql_len == len && memcmp(e->sql, sql, len) == 0)
            return e;
        PB_ASSERT(++steps <= STORE_SQLITE_CACHE_MAX); /* a chain never loops */
    }
    return NULL;
}

static void cache_unlink(struct store__sqlite *q, struct store__sqlite_cached *e)
{
    int index = (int)(e - q->cache) + 1;
    int *link = bucket_of(q, e->hash);
    while (*link != index) { /* bounded: e is on this chain */
        PB_ASSERT(*link != 0);
        link = &q->cache[*link - 1].next;
    }
    *link = e->next;
    e->next = 0;
}

/* A slot for a new entry: one never used, else the least recently handed out idle entry,
 * emptied (its statement finalized). NULL when every entry is handed out. */
static struct store__sqlite_cached *cache_slot(struct store__sqlite *q)
{
    if (q->cache_used < STORE_SQLITE_CACHE_MAX)
        return &q->cache[q->cache_used++];
    struct store__sqlite_cached *victim = NULL;
    for (int i = 0; i < STORE_SQLITE_CACHE_MAX; i++) {
        struct store__sqlite_cached *e = &q->cache[i];
        if (!e->in_use && (victim == NULL || e->last_used < victim->last_used))
            victim = e;
    }
    if (victim == NULL)
        return NULL;
    PB_ASSERT(victim->stmt != NULL && !sqlite3_stmt_busy(victim->stmt));
    cache_unlink(q, victim);
    sqlite3_finalize(victim->stmt);
    pb_free(victim->sql);
    memset(victim, 0, sizeof(*victim));
    return victim;
}

/* Files stmt under sql in the empty slot e, at the head of its chain. */
static void cache_insert(struct store__sqlite *q, struct store__sqlite_cached *e, const char *sql,
                         size_t len, uint64_t hash, sqlite3_stmt *stmt)
{
    PB_ASSERT(e->sql == NULL && e->stmt == NULL && !e->in_use);
    e->sql = pb_malloc(len + 1);
    memcpy(e->sql, sql, len + 1);
    e->sql_len = len;
    e->hash = hash;
    e->stmt = stmt;
    int *head = bucket_of(q, hash);
    e->next = *head;
    *head = (int)(e - q->cache) + 1;
}

/* Compiles the first statement of sql into *out; refuses an empty text and more than
 * PB_STORE_PARAMS_MAX parameters (error recorded). */
static int compile(struct store *s, const char *sql, sqlite3_stmt **out)
{
    *out = NULL;
    sqlite3_stmt *stmt = NULL;
    int rc = sqlite3_prepare_v3(s->u.sqlite.db, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, NULL);
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
    *out = stmt;
    return PB_OK;
}

/* ---- statements ----------------------------------------------------------------------- */

/* Reuses an idle compiled statement with exactly this text, or compiles one and files it in
 * the cache (outside it when every entry is handed out). Never lends an entry twice. */
int store__sqlite_prepare(struct store *s, const char *sql, struct store_stmt *st)
{
    struct store__sqlite *q = &s->u.sqlite;
    size_t len = strlen(sql);
    uint64_t hash = sql_hash(sql, len);
    struct store__sqlite_cached *e = cache_find_idle(q, sql, len, hash);
    sqlite3_stmt *stmt = e != NULL ? e->stmt : NULL;
    if (e == NULL) {
        int rc = compile(s, sql, &stmt);
        if (rc != PB_OK)
            return rc;
        e = cache_slot(q);
        if (e != NULL)
            cache_insert(q, e, sql, len, hash, stmt);
    }
    if (e != NULL) {
        PB_ASSERT(!e->in_use && e->stmt == stmt);
        e->in_use = true;
        e->last_used = ++q->cache_clock;
        q->cache_in_use++;
    }
    PB_ASSERT(!sqlite3_stmt_busy(stmt)); /* idle entries hold no read transaction */
    st->u.sqlite.stmt = stmt;
    st->u.sqlite.cached = e;
    st->params = sqlite3_bind_parameter_count(stmt);
    st->columns = sqlite3_column_count(stmt);
    return PB_OK;
}

/* A cached statement goes back to the cache reset, its bindings (our copies of the caller's
 * text) freed; one outside the cache is finalized. */
void store__sqlite_finalize(struct store_stmt *st)
{
    struct store__sqlite *q = &st->s->u.sqlite;
    struct store__sqlite_cached *e = st->u.sqlite.cached;
    if (e == NULL) {
        sqlite3_finalize(st->u.sqlite.stmt);
    } else {
        PB_ASSERT(e->in_use && e->stmt == st->u.sqlite.stmt);
        PB_ASSERT(q->cache_in_use > 0 && q->cache_in_use <= st->s->stmts_live);
        sqlite3_reset(e->stmt); /* returns the last step's error, already reported */
        sqlite3_clear_bindings(e->stmt);
        PB_ASSERT(!sqlite3_stmt_busy(e->stmt));
        e->in_use = false;
        q->cache_in_use--;
    }
    st->u.sqlite.stmt = NULL;
    st->u.sqlite.cached = NULL;
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
    if (rc == SQLITE_ROW || rc == SQLITE_DONE) /* recompiled after a schema change? */
        st->columns = sqlite3_column_count(st->u.sqlite.stmt);
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
