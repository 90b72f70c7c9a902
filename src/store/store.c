/* store.c: the store's front: opening by URL, dispatch of every call to the SQLite or
 * PostgreSQL backend, the checks both backends share, placeholder rewriting, the reader
 * pool and migrations. Contract: store.h; design notes: store_int.h; DESIGN.md 2.2. */
#include "base/base.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/buf.h"
#include "base/limits.h"
#include "base/log.h"
#include "store/store.h"
#include "store/store_int.h"

/* ---- connections ---------------------------------------------------------------------- */

void store__set_error(struct store *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->errmsg, sizeof(s->errmsg), fmt, ap);
    va_end(ap);
}

/* Logs msg with a database message as the "error" field (escaped: it may quote input). */
static void log_store_error(enum pb_log_level level, const char *msg, const char *error)
{
    struct pb_buf b = PB_BUF_INIT;
    pb_buf_puts(&b, "\"error\":");
    pb_buf_json_string(&b, error, strlen(error));
    pb_log(level, msg, "%s", pb_buf_str(&b));
    pb_buf_release(&b);
}

static bool has_prefix(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

int store_open(const char *url, struct store **out, char *err, size_t errlen)
{
    PB_ASSERT(url != NULL && out != NULL && err != NULL && errlen > 0);
    *out = NULL;
    err[0] = '\0';
    bool postgres = has_prefix(url, "postgres://") || has_prefix(url, "postgresql://");
    const char *path = has_prefix(url, "sqlite:") ? url + strlen("sqlite:") : url;
    if (!postgres && (path[0] == '\0' || strstr(path, "://") != NULL)) {
        snprintf(err, errlen, "unsupported store url (want sqlite:PATH, PATH or postgres://)");
        return PB_ERR_DB;
    }
    struct store *s = pb_calloc(1, sizeof(*s));
    s->backend = postgres ? STORE_POSTGRES : STORE_SQLITE;
    int rc =
        postgres ? store__pg_open(s, url, err, errlen) : store__sqlite_open(s, path, err, errlen);
    if (rc != PB_OK) {
        pb_free(s);
        return rc;
    }
    *out = s;
    return PB_OK;
}

void store_close(struct store *s)
{
    if (s == NULL)
        return;
    PB_ASSERT(s->stmts_live == 0); /* statements are finalized before their connection */
    switch (s->backend) {
    case STORE_SQLITE:
        store__sqlite_close(s);
        break;
    case STORE_POSTGRES:
        store__pg_close(s);
        break;
    }
    pb_free(s);
}

enum store_backend store_backend_of(const struct store *s)
{
    return s->backend;
}

const char *store_errmsg(const struct store *s)
{
    return s->errmsg;
}

int store_exec(struct store *s, const char *sql)
{
    PB_ASSERT(s != NULL && sql != NULL);
    if (s->backend == STORE_SQLITE)
        return store__sqlite_exec(s, sql);
    return store__pg_exec(s, sql);
}

/* ---- statements ----------------------------------------------------------------------- */

int store_prepare(struct store *s, const char *sql, struct store_stmt **out)
{
    PB_ASSERT(s != NULL && sql != NULL && out != NULL);
    *out = NULL;
    struct store_stmt *st = pb_calloc(1, sizeof(*st));
    st->s = s;
    st->state = STORE__READY;
    int rc = s->backend == STORE_SQLITE ? store__sqlite_prepare(s, sql, st)
                                        : store__pg_prepare(s, sql, st);
    if (rc != PB_OK) {
        pb_free(st);
        return rc;
    }
    PB_ASSERT(st->params >= 0 && st->params <= PB_STORE_PARAMS_MAX);
    s->stmts_live++;
    *out = st;
    return PB_OK;
}

void store_finalize(struct store_stmt *st)
{
    if (st == NULL)
        return;
    PB_ASSERT(st->s->stmts_live > 0);
    if (st->s->backend == STORE_SQLITE)
        store__sqlite_finalize(st);
    else
        store__pg_finalize(st);
    st->s->stmts_live--;
    pb_free(st);
}

static void check_bind(const struct store_stmt *st, int idx)
{
    PB_ASSERT(st != NULL && st->state == STORE__READY); /* bind before stepping, or reset */
    PB_ASSERT(idx >= 1 && idx <= st->params);
}

int store_bind_int64(struct store_stmt *st, int idx, int64_t v)
{
    check_bind(st, idx);
    if (st->s->backend == STORE_SQLITE)
        return store__sqlite_bind_int64(st, idx, v);
    return store__pg_bind_int64(st, idx, v);
}

int store_bind_text(struct store_stmt *st, int idx, const char *v, size_t len)
{
    check_bind(st, idx);
    PB_ASSERT(v != NULL);
    if (memchr(v, '\0', len) != NULL) {
        store__set_error(st->s, "text parameter %d contains a NUL byte", idx);
        return PB_ERR_INVALID;
    }
    if (len > INT_MAX) {
        store__set_error(st->s, "text parameter %d is longer than %d bytes", idx, INT_MAX);
        return PB_ERR_TOO_LARGE;
    }
    if (st->s->backend == STORE_SQLITE)
        return store__sqlite_bind_text(st, idx, v, len);
    return store__pg_bind_text(st, idx, v, len);
}

int store_bind_null(struct store_stmt *st, int idx)
{
    check_bind(st, idx);
    if (st->s->backend == STORE_SQLITE)
        return store__sqlite_bind_null(st, idx);
    return store__pg_bind_null(st, idx);
}

int store_step(struct store_stmt *st)
{
    PB_ASSERT(st != NULL);
    if (st->state == STORE__DONE)
        return STORE_DONE;
    if (st->state == STORE__FAILED)
        return st->err;
    int rc = st->s->backend == STORE_SQLITE ? store__sqlite_step(st) : store__pg_step(st);
    if (rc == STORE_ROW) {
        st->state = STORE__ROWS;
    } else if (rc == STORE_DONE) {
        st->state = STORE__DONE;
    } else {
        PB_ASSERT(rc < 0);
        st->state = STORE__FAILED;
        st->err = rc;
    }
    return rc;
}

int store_reset(struct store_stmt *st)
{
    PB_ASSERT(st != NULL);
    if (st->s->backend == STORE_SQLITE)
        store__sqlite_reset(st);
    else
        store__pg_reset(st);
    st->state = STORE__READY;
    st->err = PB_OK;
    return PB_OK;
}

int64_t store_changes(const struct store_stmt *st)
{
    return st->changes;
}

int store_column_count(const struct store_stmt *st)
{
    return st->columns;
}

static void check_column(const struct store_stmt *st, int col)
{
    PB_ASSERT(st->state == STORE__ROWS); /* columns exist only while on a row */
    PB_ASSERT(col >= 0 && col < st->columns);
}

bool store_column_is_null(const struct store_stmt *st, int col)
{
    check_column(st, col);
    if (st->s->backend == STORE_SQLITE)
        return store__sqlite_column_is_null(st, col);
    return store__pg_column_is_null(st, col);
}

int64_t store_column_int64(const struct store_stmt *st, int col)
{
    check_column(st, col);
    if (st->s->backend == STORE_SQLITE)
        return store__sqlite_column_int64(st, col);
    return store__pg_column_int64(st, col);
}

const char *store_column_text(const struct store_stmt *st, int col)
{
    check_column(st, col);
    const char *text = st->s->backend == STORE_SQLITE ? store__sqlite_column_text(st, col)
                                                      : store__pg_column_text(st, col);
    return text != NULL ? text : "";
}

size_t store_column_bytes(const struct store_stmt *st, int col)
{
    check_column(st, col);
    if (st->s->backend == STORE_SQLITE)
        return store__sqlite_column_bytes(st, col);
    return store__pg_column_bytes(st, col);
}

/* ---- transactions --------------------------------------------------------------------- */

bool store__in_transaction(struct store *s)
{
    if (s->backend == STORE_SQLITE)
        return store__sqlite_in_transaction(s);
    return store__pg_in_transaction(s);
}

static int run_txn(struct store *s, const char *sql)
{
    if (s->backend == STORE_SQLITE)
        return store__sqlite_txn(s, sql);
    return store__pg_txn(s, sql);
}

static bool savepoint_name_valid(const char *name)
{
    size_t len = strnlen(name, STORE_SAVEPOINT_NAME_MAX + 1);
    if (len == 0 || len > STORE_SAVEPOINT_NAME_MAX)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
            return false;
    }
    return true;
}

/* Runs "VERB name" for a savepoint; names were checked, so the text always fits. */
static int run_savepoint_sql(struct store *s, const char *verb, const char *name)
{
    PB_ASSERT(s != NULL && name != NULL);
    PB_ASSERT(savepoint_name_valid(name));
    char sql[STORE_TXN_SQL_MAX];
    int n = snprintf(sql, sizeof(sql), "%s %s", verb, name);
    PB_ASSERT(n > 0 && (size_t)n < sizeof(sql));
    return run_txn(s, sql);
}

int store_begin(struct store *s)
{
    PB_ASSERT(s != NULL);
    if (store__in_transaction(s)) {
        store__set_error(s, "store_begin: a transaction is already open");
        return PB_ERR_DB;
    }
    return run_txn(s, "BEGIN");
}

int store_commit(struct store *s)
{
    PB_ASSERT(s != NULL);
    if (!store__in_transaction(s)) {
        bool lost = s->backend == STORE_POSTGRES && store__pg_broken(s);
        store__set_error(s, lost ? "postgres: the connection was lost; the transaction is gone"
                                 : "store_commit: no transaction is open");
        return PB_ERR_DB;
    }
    return run_txn(s, "COMMIT");
}

int store_rollback(struct store *s)
{
    PB_ASSERT(s != NULL);
    if (!store__in_transaction(s))
        return PB_OK;
    return run_txn(s, "ROLLBACK");
}

int store_savepoint(struct store *s, const char *name)
{
    PB_ASSERT(s != NULL);
    if (!store__in_transaction(s)) {
        store__set_error(s, "store_savepoint: no transaction is open");
        return PB_ERR_DB;
    }
    return run_savepoint_sql(s, "SAVEPOINT", name);
}

int store_release(struct store *s, const char *name)
{
    return run_savepoint_sql(s, "RELEASE", name);
}

int store_rollback_to(struct store *s, const char *name)
{
    return run_savepoint_sql(s, "ROLLBACK TO", name);
}

/* ---- placeholders --------------------------------------------------------------------- */

enum lex { LEX_CODE, LEX_SINGLE, LEX_DOUBLE, LEX_LINE_COMMENT, LEX_BLOCK_COMMENT };

/* Lexes the token at p (not at its end) in *state: updates the state and returns how many
 * characters (1 or 2) belong to the token. A doubled quote inside a literal closes it and
 * opens a new one, which lexes the same as an escaped quote. */
static size_t lex_step(enum lex *state, const char *p)
{
    switch (*state) {
    case LEX_CODE:
        if (p[0] == '\'')
            *state = LEX_SINGLE;
        else if (p[0] == '"')
            *state = LEX_DOUBLE;
        else if (p[0] == '-' && p[1] == '-')
            *state = LEX_LINE_COMMENT;
        else if (p[0] == '/' && p[1] == '*')
            *state = LEX_BLOCK_COMMENT;
        else
            return 1;
        return *state == LEX_SINGLE || *state == LEX_DOUBLE ? 1 : 2;
    case LEX_SINGLE:
        *state = p[0] == '\'' ? LEX_CODE : LEX_SINGLE;
        return 1;
    case LEX_DOUBLE:
        *state = p[0] == '"' ? LEX_CODE : LEX_DOUBLE;
        return 1;
    case LEX_LINE_COMMENT:
        *state = p[0] == '\n' ? LEX_CODE : LEX_LINE_COMMENT;
        return 1;
    case LEX_BLOCK_COMMENT:
        if (p[0] == '*' && p[1] == '/') {
            *state = LEX_CODE;
            return 2;
        }
        return 1;
    }
    pb_assert_fail("unknown lexical state", __FILE__, __LINE__);
}

int store_rewrite_placeholders(const char *sql, char *out, size_t outlen)
{
    PB_ASSERT(sql != NULL && out != NULL && outlen > 0);
    out[0] = '\0'; /* what a caller sees after a refusal */
    size_t used = 0;
    int count = 0;
    enum lex state = LEX_CODE;
    const char *p = sql;
    while (*p != '\0') { /* bounded: p advances by 1 or 2 up to the terminator */
        if (state == LEX_CODE && *p == '?') {
            if (++count > PB_STORE_PARAMS_MAX)
                return -1;
            int n = snprintf(out + used, outlen - used, "$%d", count);
            if (n < 0 || (size_t)n >= outlen - used)
                return -1;
            used += (size_t)n;
            p++;
            continue;
        }
        size_t len = lex_step(&state, p);
        if (used + len >= outlen)
            return -1;
        memcpy(out + used, p, len);
        used += len;
        p += len;
    }
    out[used] = '\0';
    PB_ASSERT(used < outlen);
    return count;
}

/* ---- reader pool ---------------------------------------------------------------------- */

struct store_pool {
    pthread_mutex_t lock;
    pthread_cond_t returned; /* signalled when a connection comes back or a slot frees up */
    char *url;
    int size;   /* most connections open at once */
    int opened; /* open, or being opened by an acquirer */
    int idle_count;
    struct store **idle; /* size entries; the first idle_count are free connections */
};

int store_pool_open(const char *url, int size, struct store_pool **out, char *err, size_t errlen)
{
    PB_ASSERT(url != NULL && out != NULL);
    PB_ASSERT(size >= 1 && size <= PB_STORE_READERS_CEILING);
    *out = NULL;
    struct store *first = NULL;
    int rc = store_open(url, &first, err, errlen);
    if (rc != PB_OK)
        return rc;
    struct store_pool *p = pb_calloc(1, sizeof(*p));
    pthread_condattr_t attr;
    PB_ASSERT(pthread_condattr_init(&attr) == 0);
    PB_ASSERT(pthread_condattr_setclock(&attr, CLOCK_MONOTONIC) == 0);
    PB_ASSERT(pthread_cond_init(&p->returned, &attr) == 0);
    pthread_condattr_destroy(&attr);
    PB_ASSERT(pthread_mutex_init(&p->lock, NULL) == 0);
    p->url = pb_strdup(url);
    p->size = size;
    p->idle = pb_calloc((size_t)size, sizeof(p->idle[0]));
    p->idle[0] = first;
    p->idle_count = 1;
    p->opened = 1;
    *out = p;
    return PB_OK;
}

void store_pool_close(struct store_pool *p)
{
    if (p == NULL)
        return;
    PB_ASSERT(p->idle_count == p->opened); /* every connection was released */
    for (int i = 0; i < p->idle_count; i++)
        store_close(p->idle[i]);
    pthread_cond_destroy(&p->returned);
    pthread_mutex_destroy(&p->lock);
    pb_free(p->idle);
    pb_free(p->url);
    pb_free(p);
}

static struct timespec deadline_after(int timeout_ms)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    t.tv_sec += timeout_ms / 1000;
    t.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (t.tv_nsec >= 1000000000L) {
        t.tv_sec++;
        t.tv_nsec -= 1000000000L;
    }
    return t;
}

/* Opens a connection for a slot the caller reserved (p->opened already counts it). */
static int pool_open_reserved(struct store_pool *p, struct store **out)
{
    char err[STORE_ERRMSG_MAX];
    int rc = store_open(p->url, out, err, sizeof(err));
    if (rc == PB_OK)
        return PB_OK;
    log_store_error(PB_LOG_WARN, "store pool cannot open a connection", err);
    pthread_mutex_lock(&p->lock);
    p->opened--;
    pthread_cond_signal(&p->returned); /* another waiter may try the freed slot */
    pthread_mutex_unlock(&p->lock);
    return rc;
}

int store_pool_acquire(struct store_pool *p, int timeout_ms, struct store **out)
{
    PB_ASSERT(p != NULL && out != NULL && timeout_ms >= 0);
    *out = NULL;
    struct timespec deadline = deadline_after(timeout_ms);
    pthread_mutex_lock(&p->lock);
    int wait_rc = 0;
    /* Bounded by the deadline: each wait returns by then with ETIMEDOUT at the latest. */
    while (p->idle_count == 0 && p->opened >= p->size && wait_rc == 0) {
        wait_rc = pthread_cond_timedwait(&p->returned, &p->lock, &deadline);
        PB_ASSERT(wait_rc == 0 || wait_rc == ETIMEDOUT);
    }
    if (p->idle_count > 0) {
        *out = p->idle[--p->idle_count];
        pthread_mutex_unlock(&p->lock);
        PB_ASSERT(*out != NULL && (*out)->stmts_live == 0);
        return PB_OK;
    }
    if (p->opened < p->size) {
        p->opened++;
        pthread_mutex_unlock(&p->lock);
        return pool_open_reserved(p, out); /* outside the lock: a connect may be slow */
    }
    pthread_mutex_unlock(&p->lock);
    return PB_ERR_TIMEOUT;
}

/* Whether s can serve the next borrower: rolls back what the last one left open. */
int store_checkpoint(struct store *s, int64_t *wal_frames)
{
    if (wal_frames)
        *wal_frames = 0;
    if (s->backend != STORE_SQLITE)
        return PB_OK;
    struct store_stmt *st; /* one row: busy, frames in the WAL, frames checkpointed */
    if (store_prepare(s, "PRAGMA wal_checkpoint(PASSIVE)", &st) != PB_OK)
        return PB_ERR_DB;
    int rc = store_step(st);
    if (rc == STORE_ROW && wal_frames)
        *wal_frames = store_column_int64(st, 1);
    store_finalize(st);
    return rc == STORE_ROW ? PB_OK : PB_ERR_DB;
}

bool store_checkpoint_due(int64_t wal_frames, uint64_t last_ns, uint64_t now_ns)
{
    if (wal_frames * 100 >= (int64_t)PB_STORE_WAL_AUTOCHECKPOINT_PAGES *
                                PB_STORE_CHECKPOINT_CATCH_UP_PCT)
        return true; /* the writer's own checkpoint is near: leave it little to copy */
    return last_ns == 0 || now_ns - last_ns >= (uint64_t)PB_STORE_CHECKPOINT_INTERVAL_MS * 1000000u;
}

int store_defer_sync(struct store *s, int *fd)
{
    *fd = -1;
    if (s->backend != STORE_SQLITE || store__sqlite_in_transaction(s))
        return PB_ERR_INVALID;
    return store__sqlite_defer_sync(s, fd);
}

bool store_broken(const struct store *s)
{
    return s->backend == STORE_POSTGRES && store__pg_broken(s);
}

static bool pool_reusable(struct store *s)
{
    if (store_broken(s))
        return false;
    if (store__in_transaction(s)) {
        pb_log(PB_LOG_WARN, "store pool connection returned inside a transaction", NULL);
        if (store_rollback(s) != PB_OK)
            return false;
    }
    return true;
}

void store_pool_release(struct store_pool *p, struct store *s)
{
    PB_ASSERT(p != NULL && s != NULL);
    PB_ASSERT(s->stmts_live == 0); /* statements are finalized before release */
    bool keep = pool_reusable(s);
    if (!keep)
        store_close(s);
    pthread_mutex_lock(&p->lock);
    if (keep) {
        PB_ASSERT(p->idle_count < p->opened);
        p->idle[p->idle_count++] = s;
    } else {
        p->opened--;
    }
    PB_ASSERT(p->opened >= p->idle_count && p->opened <= p->size);
    pthread_cond_signal(&p->returned);
    pthread_mutex_unlock(&p->lock);
}

/* ---- migrations ----------------------------------------------------------------------- */

static void migration_log(enum pb_log_level level, const char *msg,
                          const struct store_migration *migration, const char *error)
{
    const struct store_migration *m = migration;
    struct pb_buf b = PB_BUF_INIT;
    pb_buf_puts(&b, "\"module\":");
    pb_buf_json_string(&b, m->module ? m->module : "", m->module ? strlen(m->module) : 0);
    pb_buf_printf(&b, ",\"version\":%d,\"name\":", m->version);
    pb_buf_json_string(&b, m->name ? m->name : "", m->name ? strlen(m->name) : 0);
    if (error != NULL) {
        pb_buf_puts(&b, ",\"error\":");
        pb_buf_json_string(&b, error, strlen(error));
    }
    pb_log(level, msg, "%s", pb_buf_str(&b));
    pb_buf_release(&b);
}

/* Every migration is complete and each module's versions are 1..n in list order. */
static int migrations_check(const struct store_migration *list, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        const struct store_migration *m = &list[i];
        if (m->module == NULL || m->module[0] == '\0' || m->name == NULL || m->sql == NULL) {
            migration_log(PB_LOG_ERROR, "migration list refused", m, "incomplete migration");
            return PB_ERR_INVALID;
        }
        int expected = 1;
        for (size_t j = 0; j < i; j++)
            expected += strcmp(list[j].module, m->module) == 0;
        if (m->version != expected) {
            migration_log(PB_LOG_ERROR, "migration list refused", m,
                          "versions of a module must be 1, 2, 3, ... in list order");
            return PB_ERR_INVALID;
        }
    }
    return PB_OK;
}

/* Opens the migration's transaction holding the lock that serialises migrators: SQLite's
 * write lock (BEGIN IMMEDIATE), a table lock on PostgreSQL (several nodes may start). */
static int migration_begin(struct store *s)
{
    if (s->backend == STORE_SQLITE)
        return store_exec(s, "BEGIN IMMEDIATE");
    int rc = store_begin(s);
    if (rc == PB_OK)
        rc = store_exec(s, "LOCK TABLE schema_migrations IN SHARE ROW EXCLUSIVE MODE");
    return rc;
}

static int migration_recorded(struct store *s, const struct store_migration *m, bool *out)
{
    struct store_stmt *st = NULL;
    int rc = store_prepare(s,
                           "SELECT 1 FROM schema_migrations WHERE module = ? AND "
                           "version = ?",
                           &st);
    if (rc != PB_OK)
        return rc;
    rc = store_bind_text(st, 1, m->module, strlen(m->module));
    if (rc == PB_OK)
        rc = store_bind_int64(st, 2, m->version);
    if (rc == PB_OK)
        rc = store_step(st);
    *out = rc == STORE_ROW;
    store_finalize(st);
    return rc < 0 ? rc : PB_OK;
}

static int migration_record(struct store *s, const struct store_migration *m)
{
    struct store_stmt *st = NULL;
    int rc = store_prepare(s,
                           "INSERT INTO schema_migrations (module, version, name, "
                           "applied_at_ms) VALUES (?, ?, ?, ?)",
                           &st);
    if (rc != PB_OK)
        return rc;
    rc = store_bind_text(st, 1, m->module, strlen(m->module));
    if (rc == PB_OK)
        rc = store_bind_int64(st, 2, m->version);
    if (rc == PB_OK)
        rc = store_bind_text(st, 3, m->name, strlen(m->name));
    if (rc == PB_OK)
        rc = store_bind_int64(st, 4, pb_wall_ms());
    if (rc == PB_OK)
        rc = store_step(st);
    store_finalize(st);
    return rc < 0 ? rc : PB_OK;
}

/* Applies m unless it is recorded; *ran says whether it was applied now. */
static int migration_apply(struct store *s, const struct store_migration *m, bool *ran)
{
    *ran = false;
    bool recorded = false;
    int rc = migration_begin(s);
    if (rc == PB_OK)
        rc = migration_recorded(s, m, &recorded);
    if (rc == PB_OK && recorded)
        return store_rollback(s); /* nothing written: just release the lock */
    const char *sql = m->sql;
    if (s->backend == STORE_POSTGRES && m->sql_postgres != NULL)
        sql = m->sql_postgres;
    if (rc == PB_OK)
        rc = store_exec(s, sql);
    if (rc == PB_OK)
        rc = migration_record(s, m);
    if (rc == PB_OK)
        rc = store_commit(s);
    if (rc != PB_OK) {
        char error[STORE_ERRMSG_MAX];
        pb_strlcpy(error, s->errmsg, sizeof(error));
        store_rollback(s);
        migration_log(PB_LOG_ERROR, "migration failed", m, error);
        pb_strlcpy(s->errmsg, error, sizeof(s->errmsg));
        return rc;
    }
    *ran = true;
    migration_log(PB_LOG_INFO, "migration applied", m, NULL);
    return PB_OK;
}

int store_migrate(struct store *s, const struct store_migration *list, size_t count,
                  int *applied_out)
{
    PB_ASSERT(s != NULL && (list != NULL || count == 0));
    PB_ASSERT(!store__in_transaction(s));
    if (applied_out != NULL)
        *applied_out = 0;
    int rc = migrations_check(list, count);
    if (rc != PB_OK)
        return rc;
    rc = store_exec(s, "CREATE TABLE IF NOT EXISTS schema_migrations (module TEXT NOT NULL, "
                       "version INTEGER NOT NULL, name TEXT NOT NULL, applied_at_ms BIGINT "
                       "NOT NULL, PRIMARY KEY (module, version))");
    if (rc != PB_OK) {
        log_store_error(PB_LOG_ERROR, "cannot create schema_migrations", s->errmsg);
        return rc;
    }
    int applied = 0;
    for (size_t i = 0; i < count; i++) {
        bool ran = false;
        rc = migration_apply(s, &list[i], &ran);
        if (rc != PB_OK)
            break;
        applied += ran;
    }
    if (applied_out != NULL)
        *applied_out = applied;
    PB_ASSERT(!store__in_transaction(s));
    return rc;
}

int store_migrations_pending(struct store *s, const struct store_migration *list, size_t count,
                             const struct store_migration **first_out)
{
    PB_ASSERT(s != NULL && !store__in_transaction(s));
    *first_out = NULL;
    int pending = 0;
    for (size_t i = 0; i < count; i++) {
        bool recorded = false;
        /* A missing schema_migrations table fails the query: everything is pending. */
        if (migration_recorded(s, &list[i], &recorded) != PB_OK || !recorded) {
            if (!*first_out)
                *first_out = &list[i];
            pending++;
        }
    }
    return pending;
}
