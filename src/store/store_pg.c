/* store_pg.c: the PostgreSQL backend of the store (store.h) over libpq: '?' rewritten to $n,
 * statements prepared once per connection and cached by text, text-format parameters,
 * whole results fetched by PQexecPrepared. Design notes: store_int.h. */
#include "base/base.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/limits.h"
#include "base/log.h"
#include "store/store_int.h"

/* Seconds libpq waits for a server to answer a connect; its default is forever. */
#define STORE_PG_CONNECT_TIMEOUT_S "10"
/* "pb_" plus a 64-bit number. */
#define STORE_PG_NAME_MAX 32

/* Copies a libpq message into dst as one line: newlines and tabs become spaces, trailing
 * blanks go. */
static void one_line(char *dst, size_t dstlen, const char *msg)
{
    pb_strlcpy(dst, msg, dstlen);
    size_t len = strlen(dst);
    for (size_t i = 0; i < len; i++) {
        if (dst[i] == '\n' || dst[i] == '\t' || dst[i] == '\r')
            dst[i] = ' ';
    }
    while (len > 0 && dst[len - 1] == ' ')
        dst[--len] = '\0';
}

static void connection_error(struct store *s)
{
    char line[STORE_ERRMSG_MAX];
    one_line(line, sizeof(line), PQerrorMessage(s->u.pg.conn));
    store__set_error(s, "postgres: %s", line);
}

/* Records the error of r (may be NULL when the connection failed) and maps SQLSTATE class
 * 23 (integrity constraint violation) to PB_ERR_CONFLICT. */
static int result_error(struct store *s, const PGresult *r)
{
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    const char *primary = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    const char *detail = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_DETAIL) : NULL;
    if (primary != NULL) {
        store__set_error(s, "postgres: %s%s%s (SQLSTATE %s)", primary, detail ? ": " : "",
                         detail ? detail : "", state ? state : "unknown");
    } else {
        connection_error(s);
    }
    return state != NULL && strncmp(state, "23", 2) == 0 ? PB_ERR_CONFLICT : PB_ERR_DB;
}

/* PB_OK if r is a success of any kind; otherwise the error, recorded. */
static int result_check(struct store *s, const PGresult *r)
{
    ExecStatusType status = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK || status == PGRES_EMPTY_QUERY)
        return PB_OK;
    return result_error(s, r);
}

/* Server messages below error (we ask for warnings and up) go to the log, not stderr. */
static void notice_to_log(void *arg, const char *message)
{
    PB_UNUSED(arg);
    char line[STORE_ERRMSG_MAX];
    one_line(line, sizeof(line), message);
    struct pb_buf b = PB_BUF_INIT;
    pb_buf_puts(&b, "\"message\":");
    pb_buf_json_string(&b, line, strlen(line));
    pb_log(PB_LOG_WARN, "postgres notice", "%s", pb_buf_str(&b));
    pb_buf_release(&b);
}

int store__pg_open(struct store *s, const char *url, char *err, size_t errlen)
{
    PB_ASSERT(s->backend == STORE_POSTGRES);
    /* Our defaults come first: settings in the URL (expanded from dbname) override them. */
    const char *const keys[] = {"connect_timeout", "application_name", "options", "dbname", NULL};
    const char *const values[] = {STORE_PG_CONNECT_TIMEOUT_S, "pitboss",
                                  "-c client_min_messages=warning", url, NULL};
    PGconn *conn = PQconnectdbParams(keys, values, 1);
    PB_ASSERT(conn != NULL); /* NULL only when libpq cannot allocate */
    if (PQstatus(conn) != CONNECTION_OK) {
        char line[STORE_ERRMSG_MAX];
        one_line(line, sizeof(line), PQerrorMessage(conn));
        snprintf(err, errlen, "postgres: %s", line);
        PQfinish(conn);
        return PB_ERR_DB;
    }
    PQsetNoticeProcessor(conn, notice_to_log, NULL);
    s->u.pg.conn = conn;
    return PB_OK;
}

void store__pg_close(struct store *s)
{
    struct store__pg *g = &s->u.pg;
    for (int i = 0; i < STORE_PG_PREPARED_MAX; i++) {
        PB_ASSERT(g->prepared[i].refs == 0);
        pb_free(g->prepared[i].sql); /* server statements end with the session */
    }
    PQfinish(g->conn);
    g->conn = NULL;
}

bool store__pg_broken(const struct store *s)
{
    return PQstatus(s->u.pg.conn) != CONNECTION_OK;
}

/* Sends the statements store__pg_txn held back, if any. */
static int flush_deferred(struct store *s)
{
    struct store__pg *g = &s->u.pg;
    if (g->deferred[0] == '\0')
        return PB_OK;
    PGresult *r = PQexec(g->conn, g->deferred);
    g->deferred[0] = '\0';
    int rc = result_check(s, r);
    PQclear(r);
    return rc;
}

/* Appends sql to the deferred statements; false (nothing changed) if it does not fit. */
static bool defer(struct store__pg *g, const char *sql)
{
    size_t used = strlen(g->deferred);
    size_t room = sizeof(g->deferred) - used;
    int n = snprintf(g->deferred + used, room, "%s%s", used ? "; " : "", sql);
    if (n < 0 || (size_t)n >= room) {
        g->deferred[used] = '\0';
        return false;
    }
    return true;
}

int store__pg_exec(struct store *s, const char *sql)
{
    int rc = flush_deferred(s);
    if (rc != PB_OK)
        return rc;
    PGresult *r = PQexec(s->u.pg.conn, sql);
    rc = result_check(s, r);
    PQclear(r);
    return rc;
}

/* RELEASE and SAVEPOINT in a healthy transaction are deferred: they travel with the next
 * statement (a prepared one in the same pipeline, see exec_after_deferred); anything else goes
 * out at once, after the deferred statements in the same round trip (ROLLBACK drops them: it
 * undoes them all). */
int store__pg_txn(struct store *s, const char *sql)
{
    struct store__pg *g = &s->u.pg;
    if ((strncmp(sql, "RELEASE ", 8) == 0 || strncmp(sql, "SAVEPOINT ", 10) == 0) &&
        PQtransactionStatus(g->conn) == PQTRANS_INTRANS) {
        if (defer(g, sql))
            return PB_OK;
        int rc = flush_deferred(s);
        PB_ASSERT(rc != PB_OK || defer(g, sql));
        return rc;
    }
    if (strcmp(sql, "ROLLBACK") == 0)
        g->deferred[0] = '\0';
    char text[STORE_PG_DEFERRED_MAX + STORE_TXN_SQL_MAX];
    int n = snprintf(text, sizeof(text), "%s%s%s", g->deferred, g->deferred[0] ? "; " : "", sql);
    PB_ASSERT(n > 0 && (size_t)n < sizeof(text));
    g->deferred[0] = '\0';
    PGresult *r = PQexec(g->conn, text);
    int rc = result_check(s, r);
    /* COMMIT of a transaction that an error aborted succeeds as a ROLLBACK. */
    if (rc == PB_OK && strcmp(sql, "COMMIT") == 0 && strcmp(PQcmdStatus(r), "ROLLBACK") == 0) {
        store__set_error(s, "postgres: the transaction was aborted by an earlier error and "
                            "has been rolled back");
        rc = PB_ERR_DB;
    }
    PQclear(r);
    return rc;
}

bool store__pg_in_transaction(struct store *s)
{
    PGTransactionStatusType t = PQtransactionStatus(s->u.pg.conn);
    PB_ASSERT(t != PQTRANS_ACTIVE); /* synchronous use: nothing is in flight between calls */
    return t == PQTRANS_INTRANS || t == PQTRANS_INERROR;
}

/* ---- prepared statement cache --------------------------------------------------------- */

static uint64_t text_hash(const char *text)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)text; *p != '\0'; p++)
        h = (h ^ *p) * 1099511628211ull;
    return h;
}

static void statement_name(char *out, uint64_t id)
{
    snprintf(out, STORE_PG_NAME_MAX, "pb_%" PRIu64, id);
}

static struct store__pg_prepared *cache_find(struct store__pg *g, const char *text, uint64_t hash)
{
    for (int i = 0; i < STORE_PG_PREPARED_MAX; i++) {
        struct store__pg_prepared *p = &g->prepared[i];
        if (p->sql != NULL && p->hash == hash && strcmp(p->sql, text) == 0)
            return p;
    }
    return NULL;
}

/* An empty slot, or the least recently used unreferenced one emptied (its server statement
 * deallocated); NULL when every slot is in use by a live statement. */
static struct store__pg_prepared *cache_slot(struct store *s)
{
    struct store__pg *g = &s->u.pg;
    struct store__pg_prepared *victim = NULL;
    for (int i = 0; i < STORE_PG_PREPARED_MAX; i++) {
        struct store__pg_prepared *p = &g->prepared[i];
        if (p->refs == 0 && (victim == NULL || p->last_used < victim->last_used))
            victim = p;
    }
    if (victim == NULL || victim->sql == NULL)
        return victim;
    char sql[STORE_PG_NAME_MAX + 16];
    char name[STORE_PG_NAME_MAX];
    statement_name(name, victim->id);
    snprintf(sql, sizeof(sql), "DEALLOCATE %s", name);
    PGresult *r = PQexec(g->conn, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) /* e.g. in an aborted transaction */
        pb_log(PB_LOG_DEBUG, "postgres statement left allocated", "\"name\":\"%s\"", name);
    PQclear(r);
    pb_free(victim->sql);
    memset(victim, 0, sizeof(*victim));
    return victim;
}

/* Prepares text on the server in a cache slot; takes ownership of text. */
static int cache_add(struct store *s, char *text, uint64_t hash, int params,
                     struct store__pg_prepared **out)
{
    struct store__pg *g = &s->u.pg;
    struct store__pg_prepared *p = cache_slot(s);
    if (p == NULL) {
        pb_free(text);
        store__set_error(s, "more than %d live statements on one connection",
                         STORE_PG_PREPARED_MAX);
        return PB_ERR_FULL;
    }
    int rc = flush_deferred(s);
    if (rc != PB_OK) {
        pb_free(text);
        return rc;
    }
    uint64_t id = ++g->next_id;
    char name[STORE_PG_NAME_MAX];
    statement_name(name, id);
    PGresult *r = PQprepare(g->conn, name, text, 0, NULL);
    rc = result_check(s, r);
    PQclear(r);
    if (rc != PB_OK) {
        pb_free(text);
        return rc;
    }
    p->sql = text;
    p->hash = hash;
    p->id = id;
    p->params = params;
    *out = p;
    return PB_OK;
}

/* ---- statements ----------------------------------------------------------------------- */

int store__pg_prepare(struct store *s, const char *sql, struct store_stmt *st)
{
    struct store__pg *g = &s->u.pg;
    size_t cap = strlen(sql) + 2 * PB_STORE_PARAMS_MAX + 1;
    char *text = pb_malloc(cap);
    int params = store_rewrite_placeholders(sql, text, cap);
    if (params < 0) {
        pb_free(text);
        store__set_error(s, "statement has more than %d parameters", PB_STORE_PARAMS_MAX);
        return PB_ERR_TOO_LARGE;
    }
    uint64_t hash = text_hash(text);
    struct store__pg_prepared *p = cache_find(g, text, hash);
    if (p != NULL) {
        pb_free(text);
    } else {
        int rc = cache_add(s, text, hash, params, &p);
        if (rc != PB_OK)
            return rc;
    }
    PB_ASSERT(p->params == params && p->refs >= 0);
    p->refs++;
    p->last_used = ++g->clock;
    st->u.pg.prepared = p;
    st->u.pg.row = -1;
    st->params = params;
    return PB_OK;
}

void store__pg_finalize(struct store_stmt *st)
{
    struct store__pg_stmt *q = &st->u.pg;
    PQclear(q->result);
    q->result = NULL;
    for (int i = 0; i < PB_STORE_PARAMS_MAX; i++)
        pb_buf_release(&q->values[i]);
    PB_ASSERT(q->prepared->refs > 0);
    q->prepared->refs--;
}

static void bind_value(struct store_stmt *st, int idx, const char *v, size_t len)
{
    struct pb_buf *b = &st->u.pg.values[idx - 1];
    pb_buf_reset(b);
    pb_buf_append(b, v, len);
    st->u.pg.is_set[idx - 1] = true;
}

int store__pg_bind_int64(struct store_stmt *st, int idx, int64_t v)
{
    char text[24];
    int n = snprintf(text, sizeof(text), "%" PRId64, v);
    PB_ASSERT(n > 0 && (size_t)n < sizeof(text));
    bind_value(st, idx, text, (size_t)n);
    return PB_OK;
}

int store__pg_bind_text(struct store_stmt *st, int idx, const char *v, size_t len)
{
    bind_value(st, idx, v, len);
    return PB_OK;
}

int store__pg_bind_null(struct store_stmt *st, int idx)
{
    st->u.pg.is_set[idx - 1] = false;
    return PB_OK;
}

/* Rows changed according to the command tag ("INSERT 0 3", "UPDATE 2", "DELETE 1"). */
static int64_t command_changes(const PGresult *r)
{
    const char *tag = PQcmdStatus((PGresult *)r);
    bool dml = strncmp(tag, "INSERT", 6) == 0 || strncmp(tag, "UPDATE", 6) == 0 ||
               strncmp(tag, "DELETE", 6) == 0 || strncmp(tag, "MERGE", 5) == 0;
    return dml ? strtoll(PQcmdTuples((PGresult *)r), NULL, 10) : 0;
}

/* Runs the deferred transaction statements and then prepared statement name in one round
 * trip (libpq pipeline mode: each deferred statement and the prepared one are sent, then one
 * Sync). Returns the prepared statement's result in *out (the caller checks it), or an error
 * of a deferred statement (the server then skipped the prepared one) or of the connection. */
static int exec_after_deferred(struct store *s, const char *name, int nparams,
                               const char *const *values, PGresult **out)
{
    struct store__pg *g = &s->u.pg;
    *out = NULL;
    char text[STORE_PG_DEFERRED_MAX];
    PB_ASSERT(pb_strlcpy(text, g->deferred, sizeof(text)));
    g->deferred[0] = '\0';
    if (PQenterPipelineMode(g->conn) != 1)
        return connection_error(s), PB_ERR_DB;
    int sent = 0;
    bool ok = true;
    for (char *p = text, *next; p && ok; p = next) { /* "RELEASE a; SAVEPOINT b" */
        next = strstr(p, "; ");
        if (next) {
            *next = '\0';
            next += 2;
        }
        ok = PQsendQueryParams(g->conn, p, 0, NULL, NULL, NULL, NULL, 0) == 1;
        sent += ok;
    }
    ok = ok && PQsendQueryPrepared(g->conn, name, nparams, values, NULL, NULL, 0) == 1;
    ok = ok && PQpipelineSync(g->conn) == 1;
    if (!ok) { /* the connection failed: the writer reconnects */
        connection_error(s);
        PQexitPipelineMode(g->conn);
        return PB_ERR_DB;
    }
    int rc = PB_OK;
    for (int i = 0; i < sent; i++) {
        PGresult *r = PQgetResult(g->conn);
        if (rc == PB_OK && PQresultStatus(r) != PGRES_COMMAND_OK)
            rc = result_error(s, r);
        PQclear(r);
        PQclear(PQgetResult(g->conn)); /* the NULL that ends each statement's results */
    }
    PGresult *main = PQgetResult(g->conn);
    PQclear(PQgetResult(g->conn));
    PGresult *sync = PQgetResult(g->conn);
    bool synced = sync && PQresultStatus(sync) == PGRES_PIPELINE_SYNC;
    PQclear(sync);
    if (!synced || PQexitPipelineMode(g->conn) != 1) {
        PQclear(main);
        connection_error(s);
        return PB_ERR_DB;
    }
    if (rc != PB_OK) {
        PQclear(main); /* skipped (PGRES_PIPELINE_ABORTED) after the deferred error */
        return rc;
    }
    *out = main;
    return PB_OK;
}

static int execute(struct store_stmt *st)
{
    struct store__pg_stmt *q = &st->u.pg;
    const char *values[PB_STORE_PARAMS_MAX];
    for (int i = 0; i < st->params; i++)
        values[i] = q->is_set[i] ? pb_buf_str(&q->values[i]) : NULL;
    char name[STORE_PG_NAME_MAX];
    statement_name(name, q->prepared->id);
    PGresult *r = NULL;
    if (st->s->u.pg.deferred[0] != '\0') {
        int rc = exec_after_deferred(st->s, name, st->params, values, &r);
        if (rc != PB_OK)
            return rc;
    } else {
        r = PQexecPrepared(st->s->u.pg.conn, name, st->params, values, NULL, NULL, 0);
    }
    ExecStatusType status = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) {
        int rc = result_error(st->s, r);
        PQclear(r);
        return rc;
    }
    PB_ASSERT(q->result == NULL);
    q->result = r;
    q->rows = PQntuples(r);
    q->row = -1;
    st->columns = PQnfields(r);
    st->changes = command_changes(r);
    return PB_OK;
}

int store__pg_step(struct store_stmt *st)
{
    struct store__pg_stmt *q = &st->u.pg;
    if (st->state == STORE__READY) {
        int rc = execute(st);
        if (rc != PB_OK)
            return rc;
    }
    PB_ASSERT(q->result != NULL && q->row < q->rows);
    q->row++;
    if (q->row < q->rows)
        return STORE_ROW;
    PQclear(q->result); /* nothing more to read: free the rows now */
    q->result = NULL;
    return STORE_DONE;
}

void store__pg_reset(struct store_stmt *st)
{
    struct store__pg_stmt *q = &st->u.pg;
    PQclear(q->result);
    q->result = NULL;
    q->rows = 0;
    q->row = -1;
    memset(q->is_set, 0, sizeof(q->is_set));
}

bool store__pg_column_is_null(const struct store_stmt *st, int col)
{
    return PQgetisnull(st->u.pg.result, st->u.pg.row, col) != 0;
}

/* Integers arrive as text; booleans (from comparisons, EXISTS) as "t"/"f". */
int64_t store__pg_column_int64(const struct store_stmt *st, int col)
{
    const char *v = PQgetvalue(st->u.pg.result, st->u.pg.row, col);
    if (v[0] == 't' && v[1] == '\0')
        return 1;
    return strtoll(v, NULL, 10);
}

const char *store__pg_column_text(const struct store_stmt *st, int col)
{
    return PQgetvalue(st->u.pg.result, st->u.pg.row, col);
}

size_t store__pg_column_bytes(const struct store_stmt *st, int col)
{
    return (size_t)PQgetlength(st->u.pg.result, st->u.pg.row, col);
}
