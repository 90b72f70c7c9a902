/* test_store.c: unit tests of src/store/ (store.h). The same suite runs against SQLite (a
 * fresh file under $PITBOSS_TEST_TMP, else /tmp) and against PostgreSQL when
 * $PITBOSS_TEST_PG holds a libpq URL (a fresh database pb_store_test_<random> is created
 * there and dropped at the end; scripts/pg-test-server.sh starts a server). Backend-specific
 * behaviour has its own tests at the end of each group. DESIGN.md section 2.2. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/base.h"
#include "base/limits.h"
#include "base/log.h"
#include "store/store.h"
#include "store/store_int.h" /* cache limits; SQLite-only white-box checks */

#define URL_MAX 1024
#define ERR_MAX 512

struct fixture {
    enum store_backend backend;
    bool available;         /* false: PostgreSQL not configured, its tests are skipped */
    char url[URL_MAX];      /* what the tests open */
    char path[URL_MAX / 2]; /* SQLite: the database file */
    char admin[URL_MAX];    /* PostgreSQL: $PITBOSS_TEST_PG */
    char database[64];      /* PostgreSQL: the database created for this run */
};

static struct fixture sqlite_fixture = {.backend = STORE_SQLITE};
static struct fixture pg_fixture = {.backend = STORE_POSTGRES};

/* ---- helpers -------------------------------------------------------------------------- */

/* clang-format off */
#define EXPECT_OK(s, call)                                                                        \
    do {                                                                                          \
        int rc_ = (call);                                                                         \
        if (rc_ != 0)                                                                             \
            fail_msg("%s returned %d: %s", #call, rc_, store_errmsg(s));                          \
    } while (0)
/* clang-format on */

static struct fixture *fixture_of(void **state)
{
    struct fixture *fx = *state;
    if (!fx->available)
        skip(); /* only when PITBOSS_TEST_PG is unset; announced in main */
    return fx;
}

static struct store *open_url(const char *url)
{
    struct store *s = NULL;
    char err[ERR_MAX];
    int rc = store_open(url, &s, err, sizeof(err));
    if (rc != 0)
        fail_msg("store_open(%s) returned %d: %s", url, rc, err);
    assert_non_null(s);
    return s;
}

static struct store *open_store(void **state)
{
    return open_url(fixture_of(state)->url);
}

/* The first column of the first row of sql, which must return a row. */
static int64_t query_int64(struct store *s, const char *sql)
{
    struct store_stmt *st = NULL;
    EXPECT_OK(s, store_prepare(s, sql, &st));
    int rc = store_step(st);
    if (rc != STORE_ROW)
        fail_msg("%s: step returned %d: %s", sql, rc, store_errmsg(s));
    int64_t v = store_column_int64(st, 0);
    store_finalize(st);
    return v;
}

static bool table_exists(struct store *s, const char *table)
{
    char sql[256];
    snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM %s", table);
    struct store_stmt *st = NULL;
    int rc = store_prepare(s, sql, &st);
    if (rc == 0)
        rc = store_step(st);
    store_finalize(st);
    return rc == STORE_ROW;
}

static void insert_int(struct store *s, const char *sql, int64_t v)
{
    struct store_stmt *st = NULL;
    EXPECT_OK(s, store_prepare(s, sql, &st));
    EXPECT_OK(s, store_bind_int64(st, 1, v));
    assert_int_equal(store_step(st), STORE_DONE);
    store_finalize(st);
}

static double elapsed_ms(uint64_t since_ns)
{
    return (double)(pb_mono_ns() - since_ns) / 1e6;
}

/* ---- open, close, exec ---------------------------------------------------------------- */

static void test_open_returns_connection_of_the_url_backend(void **state)
{
    struct store *s = open_store(state);
    assert_int_equal(store_backend_of(s), fixture_of(state)->backend);
    assert_int_equal(query_int64(s, "SELECT 1"), 1);
    store_close(s);
}

static void expect_open_fails(const char *url)
{
    struct store *s = (struct store *)&s; /* must be reset to NULL */
    char err[ERR_MAX] = "";
    int rc = store_open(url, &s, err, sizeof(err));
    if (rc != PB_ERR_DB)
        fail_msg("store_open(%s) returned %d, want PB_ERR_DB", url, rc);
    assert_null(s);
    if (err[0] == '\0')
        fail_msg("store_open(%s) gave no message", url);
}

static void test_open_rejects_bad_urls_with_a_message(void **state)
{
    struct fixture *fx = fixture_of(state);
    expect_open_fails("");
    expect_open_fails("sqlite:");
    expect_open_fails("mysql://localhost/pitboss");
    expect_open_fails("sqlite:/nonexistent-pitboss-dir/sub/x.db");
    if (fx->backend == STORE_SQLITE) {
        char path[URL_MAX + 16];
        snprintf(path, sizeof(path), "%s.notadb", fx->path);
        FILE *f = fopen(path, "w");
        assert_non_null(f);
        for (int i = 0; i < 64; i++)
            fputs("this is not an SQLite database file at all. ", f);
        fclose(f);
        expect_open_fails(path);
        unlink(path);
    } else {
        expect_open_fails("postgresql://postgres@127.0.0.1:1/postgres");
        char url[URL_MAX + 64];
        snprintf(url, sizeof(url), "%s", fx->url);
        char *slash = strrchr(url, '/');
        assert_non_null(slash);
        snprintf(slash, sizeof(url) - (size_t)(slash - url), "/pb_no_such_database");
        expect_open_fails(url);
    }
}

static void test_exec_runs_several_statements(void **state)
{
    struct store *s = open_store(state);
    EXPECT_OK(s, store_exec(s, "CREATE TABLE t_exec (a INTEGER); INSERT INTO t_exec VALUES "
                               "(1); INSERT INTO t_exec VALUES (2)"));
    assert_int_equal(query_int64(s, "SELECT SUM(a) FROM t_exec"), 3);
    store_close(s);
}

static void test_exec_reports_syntax_error_with_message(void **state)
{
    struct store *s = open_store(state);
    assert_int_equal(store_exec(s, "SELEC 1"), PB_ERR_DB);
    assert_non_null(strstr(store_errmsg(s), "syntax error"));
    store_close(s);
}

/* ---- statements ----------------------------------------------------------------------- */

static void test_int64_extremes_round_trip(void **state)
{
    struct store *s = open_store(state);
    EXPECT_OK(s, store_exec(s, "CREATE TABLE t_int (k INTEGER PRIMARY KEY, v BIGINT)"));
    const int64_t values[] = {INT64_MIN, INT64_MIN + 1, -1, 0, 1, INT64_MAX - 1, INT64_MAX};
    struct store_stmt *ins = NULL;
    EXPECT_OK(s, store_prepare(s, "INSERT INTO t_int (k, v) VALUES (?, ?)", &ins));
    for (size_t i = 0; i < PB_ARRAY_LEN(values); i++) {
        EXPECT_OK(s, store_bind_int64(ins, 1, (int64_t)i));
        EXPECT_OK(s, store_bind_int64(ins, 2, values[i]));
        assert_int_equal(store_step(ins), STORE_DONE);
        EXPECT_OK(s, store_reset(ins));
    }
    store_finalize(ins);
    struct store_stmt *sel = NULL;
    EXPECT_OK(s, store_prepare(s, "SELECT v FROM t_int ORDER BY k", &sel));
    for (size_t i = 0; i < PB_ARRAY_LEN(values); i++) {
        assert_int_equal(store_step(sel), STORE_ROW);
        assert_false(store_column_is_null(sel, 0));
        assert_int_equal(store_column_int64(sel, 0), values[i]);
    }
    assert_int_equal(store_step(sel), STORE_DONE);
    store_finalize(sel);
    store_close(s);
}

static void test_int64_parameter_cast_in_expression(void **state)
{
    struct store *s = open_store(state);
    struct store_stmt *st = NULL;
    EXPECT_OK(s, store_prepare(s, "SELECT CAST(? AS BIGINT) - 1", &st));
    EXPECT_OK(s, store_bind_int64(st, 1, INT64_MAX));
    assert_int_equal(store_step(st), STORE_ROW);
    assert_int_equal(store_column_int64(st, 0), INT64_MAX - 1);
    store_finalize(st);
    store_close(s);
}

static void test_text_with_quotes_and_utf8_round_trips(void **state)
{
    struct store *s = open_store(state);
    EXPECT_OK(s, store_exec(s, "CREATE TABLE t_text (k INTEGER PRIMARY KEY, v TEXT)"));
    const char *text = "it's \"quoted\" ? -- not a comment /* nor this */ "
                       "ünïcødé € 漢字 🎲";
    struct store_stmt *st = NULL;
    EXPECT_OK(s, store_prepare(s, "INSERT INTO t_text (k, v) VALUES (?, ?)", &st));
    EXPECT_OK(s, store_bind_int64(st, 1, 1));
    EXPECT_OK(s, store_bind_text(st, 2, text, strlen(text)));
    assert_int_equal(store_step(st), STORE_DONE);
    EXPECT_OK(s, store_reset(st));
    EXPECT_OK(s, store_bind_int64(st, 1, 2));
    EXPECT_OK(s, store_bind_text(st, 2, "abcdef", 3)); /* only len bytes are taken */
    assert_int_equal(store_step(st), STORE_DONE);
    store_finalize(st);
    EXPECT_OK(s, store_prepare(s, "SELECT v FROM t_text ORDER BY k", &st));
    assert_int_equal(store_step(st), STORE_ROW);
    assert_string_equal(store_column_text(st, 0), text);
    assert_int_equal(store_column_bytes(st, 0), strlen(text));
    assert_int_equal(store_step(st), STORE_ROW);
    assert_string_equal(store_column_text(st, 0), "abc");
    assert_int_equal(store_column_bytes(st, 0), 3);
    store_finalize(st);
    store_close(s);
}

static void test_null_reads_as_null_zero_and_empty_text(void **state)
{
    struct store *s = open_store(state);
    EXPECT_OK(s, store_exec(s, "CREATE TABLE t_null (k INTEGER PRIMARY KEY, v BIGINT, w TEXT)"));
    struct store_stmt *st = NULL;
    EXPECT_OK(s, store_prepare(s, "INSERT INTO t_null (k, v, w) VALUES (?, ?, ?)", &st));
    EXPECT_OK(s, store_bind_int64(st, 1, 1));
    EXPECT_OK(s, store_bind_null(st, 2));
    /* parameter 3 left unbound: NULL as well */
    assert_int_equal(store_step(st), STORE_DONE);
    store_finalize(st);
    EXPECT_OK(s, store_prepare(s, "SELECT v, w FROM t_null", &st));
    assert_int_equal(store_step(st), STORE_ROW);
    for (int col = 0; col < 2; col++) {
        assert_true(store_column_is_null(st, col));
        assert_int_equal(store_column_int64(st, col), 0);
        assert_string_equal(store_column_text(st, col), "");
        assert_int_equal(store_column_bytes(st, col), 0);
    }
    store_finalize(st);
    store_close(s);
}

static void test_text_with_nul_byte_is_refused(void **state)
{
    struct store *s = open_store(state);
    struct store_stmt *st = NULL;
    EXPECT_OK(s, store_prepare(s, "SELECT ?", &st));
    assert_int_equal(store_bind_text(st, 1, "a\0b", 3), PB_ERR_INVALID);
    assert_non_null(strstr(store_errmsg(s), "NUL"));
    store_finalize(st);
    store_close(s);
}

static void test_column_count_and_bytes_describe_the_row(void **state)
{
    struct store *s = open_store(state);
    struct store_stmt *st = NULL;
    EXPECT_OK(s, store_prepare(s, "SELECT 42, 'abc', NULL", &st));
    assert_int_equal(store_step(st), STORE_ROW);
    assert_int_equal(store_column_count(st), 3);
    assert_int_equal(store_column_int64(st, 0), 42);
    assert_string_equal(store_column_text(st, 0), "42");
    assert_int_equal(store_column_bytes(st, 1), 3);
    assert_true(store_column_is_null(st, 2));
    assert_int_equal(store_step(st), STORE_DONE);
    store_finalize(st);
    store_close(s);
}

static void placeholders_sql(char *out, size_t outlen, int count)
{
    size_t used = (size_t)snprintf(out, outlen, "SELECT ?");
    for (int i = 1; i < count; i++)
        used += (size_t)snprintf(out + used, outlen - used, " + ?");
}

static void test_prepare_refuses_more_parameters_than_the_limit(void **state)
{
    struct store *s = open_store(state);
    char sql[512];
    placeholders_sql(sql, sizeof(sql), PB_STORE_PARAMS_MAX + 1);
    struct store_stmt *st = (struct store_stmt *)&st;
    assert_int_equal(store_prepare(s, sql, &st), PB_ERR_TOO_LARGE);
    assert_null(st);
    /* CAST: PostgreSQL needs a type for each parameter of a sum */
    char cast[1024] = "SELECT CAST(? AS BIGINT)";
    for (int i = 1; i < PB_STORE_PARAMS_MAX; i++)
        strcat(cast, " + CAST(? AS BIGINT)");
    EXPECT_OK(s, store_prepare(s, cast, &st));
    for (int i = 1; i <= PB_STORE_PARAMS_MAX; i++)
        EXPECT_OK(s, store_bind_int64(st, i, i));
    assert_int_equal(store_step(st), STORE_ROW);
    int64_t sum = PB_STORE_PARAMS_MAX * (PB_STORE_PARAMS_MAX + 1) / 2;
    assert_int_equal(store_column_int64(st, 0), sum);
    store_finalize(st);
    store_close(s);
}

static void test_prepare_reports_unknown_table(void **state)
{
    struct store *s = open_store(state);
    struct store_stmt *st = NULL;
    assert_int_equal(store_prepare(s, "SELECT * FROM t_does_not_exist", &st), PB_ERR_DB);
    assert_null(st);
    assert_non_null(strstr(store_errmsg(s), "t_does_not_exist"));
    store_close(s);
}

static void test_question_mark_in_literal_is_not_a_parameter(void **state)
{
    struct store *s = open_store(state);
    struct store_stmt *st = NULL;
    EXPECT_OK(s, store_prepare(s, "SELECT '?', 'it''s ?', ? /* ? */ -- ?\n", &st));
    EXPECT_OK(s, store_bind_text(st, 1, "x", 1));
    assert_int_equal(store_step(st), STORE_ROW);
    assert_string_equal(store_column_text(st, 0), "?");
    assert_string_equal(store_column_text(st, 1), "it's ?");
    assert_string_equal(store_column_text(st, 2), "x");
    store_finalize(st);
    store_close(s);
}

/* ---- placeholder rewriting (no database) ---------------------------------------------- */

static void expect_rewrite(const char *sql, const char *want, int count)
{
    char out[1024];
    int n = store_rewrite_placeholders(sql, out, sizeof(out));
    assert_int_equal(n, count);
    assert_string_equal(out, want);
}

static void test_rewrite_placeholders_numbers_them_in_order(void **state)
{
    PB_UNUSED(state);
    expect_rewrite("SELECT ?, ? FROM t WHERE a = ?", "SELECT $1, $2 FROM t WHERE a = $3", 3);
    expect_rewrite("SELECT 1", "SELECT 1", 0);
    expect_rewrite("", "", 0);
    expect_rewrite("?", "$1", 1);
}

static void test_rewrite_placeholders_skips_literals_identifiers_and_comments(void **state)
{
    PB_UNUSED(state);
    expect_rewrite("SELECT '?', 'it''s ?', \"col?\", \"a\"\"?\", ?",
                   "SELECT '?', 'it''s ?', \"col?\", \"a\"\"?\", $1", 1);
    expect_rewrite("SELECT ? -- what?\n, ?", "SELECT $1 -- what?\n, $2", 2);
    expect_rewrite("SELECT /* ? */ ? /*/ ? */ ?", "SELECT /* ? */ $1 /*/ ? */ $2", 2);
    expect_rewrite("SELECT 'unterminated ?", "SELECT 'unterminated ?", 0);
    expect_rewrite("SELECT 5-?, 6/?", "SELECT 5-$1, 6/$2", 2);
}

static void test_rewrite_placeholders_refuses_more_than_the_limit(void **state)
{
    PB_UNUSED(state);
    char sql[512];
    char out[1024];
    placeholders_sql(sql, sizeof(sql), PB_STORE_PARAMS_MAX + 1);
    assert_int_equal(store_rewrite_placeholders(sql, out, sizeof(out)), -1);
    placeholders_sql(sql, sizeof(sql), PB_STORE_PARAMS_MAX);
    assert_int_equal(store_rewrite_placeholders(sql, out, sizeof(out)), PB_STORE_PARAMS_MAX);
    char last[16];
    snprintf(last, sizeof(last), " + $%d", PB_STORE_PARAMS_MAX);
    assert_string_equal(out + strlen(out) - strlen(last), last);
}

static void test_rewrite_placeholders_refuses_a_too_small_buffer(void **state)
{
    PB_UNUSED(state);
    char out[10];
    assert_int_equal(store_rewrite_placeholders("SELECT ?", out, 10), 1); /* "SELECT $1" */
    assert_string_equal(out, "SELECT $1");
    assert_int_equal(store_rewrite_placeholders("SELECT ?", out, 9), -1);
    assert_int_equal(store_rewrite_placeholders("SELECT 1234", out, 10), -1);
}

/* ---- constraint violations ------------------------------------------------------------ */

static void test_unique_violation_is_conflict(void **state)
{
    struct store *s = open_store(state);
    EXPECT_OK(s, store_exec(s, "CREATE TABLE t_unique (k TEXT PRIMARY KEY)"));
    struct store_stmt *st = NULL;
    EXPECT_OK(s, store_prepare(s, "INSERT INTO t_unique (k) VALUES (?)", &st));
    EXPECT_OK(s, store_bind_text(st, 1, "key-1", 5));
    assert_int_equal(store_step(st), STORE_DONE);
    EXPECT_OK(s, store_reset(st));
    EXPECT_OK(s, store_bind_text(st, 1, "key-1", 5));
    assert_int_equal(store_step(st), PB_ERR_CONFLICT);
    assert_true(strlen(store_errmsg(s)) > 0);
    store_finalize(st);
    assert_int_equal(store_exec(s, "INSERT INTO t_unique (k) VALUES ('key-1')"), PB_ERR_CONFLICT);
    store_close(s);
}

static void test_not_null_violation_is_conflict(void **state)
{
    struct store *s = open_store(state);
    EXPECT_OK(s, store_exec(s, "CREATE TABLE t_notnull (k INTEGER NOT NULL)"));
    struct store_stmt *st = NULL;
    EXPECT_OK(s, store_prepare(s, "INSERT INTO t_notnull (k) VALUES (?)", &st));
    EXPECT_OK(s, store_bind_null(st, 1));
    assert_int_equal(store_step(st), PB_ERR_CONFLICT);
    store_finalize(st);
    store_close(s);
}

static void test_step_after_error_returns_the_same_error(void **state)
{
    struct store *s = open_store(state);
    EXPECT_OK(s, store_exec(s, "CREATE TABLE t_again (k INTEGER PRIMARY KEY)"));
    EXPECT_OK(s, store_exec(s, "INSERT INTO t_again (k) VALUES (1)"));
    struct store_stmt *st = NULL;
    EXPECT_OK(s, store_prepare(s, "INSERT INTO t_again (k) VALUES (1)", &st));
    assert_int_equal(store_step(st), PB_ERR_CONFLICT);
    assert_int_equal(store_step(st), PB_ERR_CONFLICT);
    store_finalize(st);
    store_close(s);
}

/* ---- transactions --------------------------------------------------------------------- */

static void test_commit_makes_writes_visible_to_another_connection(void **state)
{
    struct store *w = open_store(state);
    struct store *r = open_store(state);
    EXPECT_OK(w, store_exec(w, "CREATE TABLE t_commit (k INTEGER)"));
    EXPECT_OK(w, store_begin(w));
    insert_int(w, "INSERT INTO t_commit (k) VALUES (?)", 7);
    assert_int_equal(query_int64(r, "SELECT COUNT(*) FROM t_commit"), 0);
    EXPECT_OK(w, store_commit(w));
    assert_int_equal(query_int64(r, "SELECT COUNT(*) FROM t_commit"), 1);
    store_close(r);
    store_close(w);
}

static void test_rollback_discards_writes(void **state)
{
    struct store *s = open_store(state);
    EXPECT_OK(s, store_exec(s, "CREATE TABLE t_rollback (k INTEGER)"));
    EXPECT_OK(s, store_begin(s));
    insert_int(s, "INSERT INTO t_rollback (k) VALUES (?)", 1);
    assert_int_equal(query_int64(s, "SELECT COUNT(*) FROM t_rollback"), 1);
    EXPECT_OK(s, store_rollback(s));
    assert_int_equal(query_int64(s, "SELECT COUNT(*) FROM t_rollback"), 0);
    store_close(s);
}

static void test_begin_inside_a_transaction_is_an_error(void **state)
{
    struct store *s = open_store(state);
    EXPECT_OK(s, store_begin(s));
    assert_int_equal(store_begin(s), PB_ERR_DB);
    EXPECT_OK(s, store_commit(s));
    store_close(s);
}

static void test_commit_without_a_transaction_is_an_error(void **state)
{
    struct store *s = open_store(state);
    assert_int_equal(store_commit(s), PB_ERR_DB);
    assert_true(strlen(store_errmsg(s)) > 0);
    store_close(s);
}

static void test_rollback_without_a_transaction_does_nothing(void **state)
{
    struct store *s = open_store(state);
    EXPECT_OK(s, store_rollback(s));
    EXPECT_OK(s, store_rollback(s));
    store_close(s);
}

static void test_savepoint_outside_a_transaction_is_an_error(void **state)
{
    struct store *s = open_store(state);
    assert_int_equal(store_savepoint(s, "cmd"), PB_ERR_DB);
    EXPECT_OK(s, store_begin(s)); /* and no transaction was opened by it */
    EXPECT_OK(s, store_commit(s));
    store_close(s);
}

static void test_savepoint_release_keeps_inner_writes(void **state)
{
    struct store *s = open_store(state);
    EXPECT_OK(s, store_exec(s, "CREATE TABLE t_release (k INTEGER)"));
    EXPECT_OK(s, store_begin(s));
    EXPECT_OK(s, store_savepoint(s, "cmd_1"));
    insert_int(s, "INSERT INTO t_release (k) VALUES (?)", 1);
    EXPECT_OK(s, store_release(s, "cmd_1"));
    EXPECT_OK(s, store_commit(s));
    assert_int_equal(query_int64(s, "SELECT COUNT(*) FROM t_release"), 1);
    store_close(s);
}

static void test_rollback_to_savepoint_discards_only_inner_writes(void **state)
{
    struct store *s = open_store(state);
    EXPECT_OK(s, store_exec(s, "CREATE TABLE t_rollback_to (k INTEGER)"));
    EXPECT_OK(s, store_begin(s));
    insert_int(s, "INSERT INTO t_rollback_to (k) VALUES (?)", 1);
    EXPECT_OK(s, store_savepoint(s, "cmd"));
    insert_int(s, "INSERT INTO t_rollback_to (k) VALUES (?)", 2);
    EXPECT_OK(s, store_rollback_to(s, "cmd"));
    EXPECT_OK(s, store_release(s, "cmd"));
    EXPECT_OK(s, store_commit(s));
    assert_int_equal(query_int64(s, "SELECT SUM(k) FROM t_rollback_to"), 1);
    store_close(s);
}

static void test_rollback_to_outer_savepoint_undoes_released_inner_one(void **state)
{
    struct store *s = open_store(state);
    EXPECT_OK(s, store_exec(s, "CREATE TABLE t_nested (k INTEGER)"));
    EXPECT_OK(s, store_begin(s));
    EXPECT_OK(s, store_savepoint(s, "outer_sp"));
    insert_int(s, "INSERT INTO t_nested (k) VALUES (?)", 1);
    EXPECT_OK(s, store_savepoint(s, "inner_sp"));
    insert_int(s, "INSERT INTO t_nested (k) VALUES (?)", 2);
    EXPECT_OK(s, store_release(s, "inner_sp"));
    EXPECT_OK(s, store_rollback_to(s, "outer_sp"));
    insert_int(s, "INSERT INTO t_nested (k) VALUES (?)", 4);
    EXPECT_OK(s, store_release(s, "outer_sp"));
    EXPECT_OK(s, store_commit(s));
    assert_int_equal(query_int64(s, "SELECT SUM(k) FROM t_nested"), 4);
    store_close(s);
}

/* PostgreSQL sends RELEASE with the next call, so the error may surface there. */
static void test_release_of_unknown_savepoint_fails_by_commit_at_the_latest(void **state)
{
    struct store *s = open_store(state);
    EXPECT_OK(s, store_begin(s));
    int rc = store_release(s, "no_such_savepoint");
    if (rc == PB_OK)
        rc = store_commit(s);
    assert_int_equal(rc, PB_ERR_DB);
    assert_non_null(strstr(store_errmsg(s), "no_such_savepoint"));
    EXPECT_OK(s, store_rollback(s));
    EXPECT_OK(s, store_begin(s));
    EXPECT_OK(s, store_commit(s));
    store_close(s);
}

/* ... or by the next statement: PostgreSQL sends the held-back RELEASE in the same pipeline,
 * and the statement after it is not run. */
static void test_release_of_unknown_savepoint_fails_by_next_statement(void **state)
{
    struct store *s = open_store(state);
    EXPECT_OK(s, store_exec(s, "CREATE TABLE t_rel_next (k INTEGER)"));
    EXPECT_OK(s, store_begin(s));
    struct store_stmt *st = NULL; /* prepared first: the step is the next call */
    EXPECT_OK(s, store_prepare(s, "INSERT INTO t_rel_next (k) VALUES (?)", &st));
    EXPECT_OK(s, store_bind_int64(st, 1, 1));
    int rc = store_release(s, "no_such_savepoint");
    if (rc == PB_OK)
        rc = store_step(st);
    store_finalize(st);
    assert_int_equal(rc, PB_ERR_DB);
    assert_non_null(strstr(store_errmsg(s), "no_such_savepoint"));
    EXPECT_OK(s, store_rollback(s));
    assert_int_equal(query_int64(s, "SELECT COUNT(*) FROM t_rel_next"), 0);
    store_close(s);
}

/* The writer's pattern: a command fails inside its savepoint, the batch goes on. */
static void test_failed_statement_in_savepoint_then_rollback_to_lets_commit(void **state)
{
    struct store *s = open_store(state);
    EXPECT_OK(s, store_exec(s, "CREATE TABLE t_cmd (k INTEGER PRIMARY KEY)"));
    EXPECT_OK(s, store_begin(s));
    insert_int(s, "INSERT INTO t_cmd (k) VALUES (?)", 1);
    EXPECT_OK(s, store_savepoint(s, "cmd"));
    struct store_stmt *st = NULL;
    EXPECT_OK(s, store_prepare(s, "INSERT INTO t_cmd (k) VALUES (?)", &st));
    EXPECT_OK(s, store_bind_int64(st, 1, 1));
    assert_int_equal(store_step(st), PB_ERR_CONFLICT);
    store_finalize(st);
    if (store_backend_of(s) == STORE_POSTGRES) /* aborted until the rollback_to */
        assert_int_equal(store_exec(s, "SELECT 1"), PB_ERR_DB);
    EXPECT_OK(s, store_rollback_to(s, "cmd"));
    EXPECT_OK(s, store_release(s, "cmd"));
    insert_int(s, "INSERT INTO t_cmd (k) VALUES (?)", 2);
    EXPECT_OK(s, store_commit(s));
    assert_int_equal(query_int64(s, "SELECT SUM(k) FROM t_cmd"), 3);
    store_close(s);
}

/* More distinct savepoint names than the SQLite statement cache holds, many times. */
static void test_many_savepoints_with_many_names_all_work(void **state)
{
    struct store *s = open_store(state);
    EXPECT_OK(s, store_exec(s, "CREATE TABLE t_many_sp (k INTEGER)"));
    EXPECT_OK(s, store_begin(s));
    struct store_stmt *st = NULL;
    EXPECT_OK(s, store_prepare(s, "INSERT INTO t_many_sp (k) VALUES (?)", &st));
    for (int i = 0; i < 2000; i++) {
        char name[16];
        snprintf(name, sizeof(name), "sp_%d", i % 40);
        EXPECT_OK(s, store_savepoint(s, name));
        EXPECT_OK(s, store_bind_int64(st, 1, i));
        assert_int_equal(store_step(st), STORE_DONE);
        EXPECT_OK(s, store_reset(st));
        if (i % 3 == 0)
            EXPECT_OK(s, store_rollback_to(s, name));
        EXPECT_OK(s, store_release(s, name));
    }
    store_finalize(st);
    EXPECT_OK(s, store_commit(s));
    assert_int_equal(query_int64(s, "SELECT COUNT(*) FROM t_many_sp"), 2000 - 667);
    store_close(s);
}

static void test_statement_prepared_in_rolled_back_transaction_still_works(void **state)
{
    struct store *s = open_store(state);
    EXPECT_OK(s, store_exec(s, "CREATE TABLE t_prep_rb (k INTEGER)"));
    EXPECT_OK(s, store_begin(s));
    struct store_stmt *st = NULL;
    EXPECT_OK(s, store_prepare(s, "INSERT INTO t_prep_rb (k) VALUES (?)", &st));
    EXPECT_OK(s, store_rollback(s));
    EXPECT_OK(s, store_bind_int64(st, 1, 5));
    assert_int_equal(store_step(st), STORE_DONE);
    store_finalize(st);
    assert_int_equal(query_int64(s, "SELECT SUM(k) FROM t_prep_rb"), 5);
    store_close(s);
}

/* ---- changes, reset, re-running -------------------------------------------------------- */

static int64_t changes_of(struct store *s, const char *sql)
{
    struct store_stmt *st = NULL;
    EXPECT_OK(s, store_prepare(s, sql, &st));
    int rc = STORE_ROW;
    for (int i = 0; i < 100 && rc == STORE_ROW; i++)
        rc = store_step(st);
    assert_int_equal(rc, STORE_DONE);
    int64_t n = store_changes(st);
    store_finalize(st);
    return n;
}

static void test_changes_counts_rows_of_insert_update_delete(void **state)
{
    struct store *s = open_store(state);
    EXPECT_OK(s, store_exec(s, "CREATE TABLE t_changes (k INTEGER)"));
    assert_int_equal(changes_of(s, "INSERT INTO t_changes (k) VALUES (1), (2), (3)"), 3);
    assert_int_equal(changes_of(s, "UPDATE t_changes SET k = k + 10"), 3);
    assert_int_equal(changes_of(s, "UPDATE t_changes SET k = 0 WHERE k < 0"), 0);
    assert_int_equal(changes_of(s, "DELETE FROM t_changes WHERE k = 11"), 1);
    assert_int_equal(changes_of(s, "SELECT k FROM t_changes"), 0);
    assert_int_equal(changes_of(s, "CREATE TABLE t_changes_2 (k INTEGER)"), 0);
    assert_int_equal(changes_of(s, "INSERT INTO t_changes (k) VALUES (4), (5) RETURNING k"), 2);
    store_close(s);
}

static void test_reset_reruns_with_new_bindings_and_clears_old_ones(void **state)
{
    struct store *s = open_store(state);
    EXPECT_OK(s, store_exec(s, "CREATE TABLE t_reset (k BIGINT)"));
    struct store_stmt *st = NULL;
    EXPECT_OK(s, store_prepare(s, "INSERT INTO t_reset (k) VALUES (?)", &st));
    EXPECT_OK(s, store_bind_int64(st, 1, 1));
    assert_int_equal(store_step(st), STORE_DONE);
    assert_int_equal(store_changes(st), 1);
    EXPECT_OK(s, store_reset(st));
    EXPECT_OK(s, store_bind_int64(st, 1, 2));
    assert_int_equal(store_step(st), STORE_DONE);
    EXPECT_OK(s, store_reset(st));
    assert_int_equal(store_step(st), STORE_DONE); /* binding cleared: NULL */
    store_finalize(st);
    assert_int_equal(query_int64(s, "SELECT COUNT(*) FROM t_reset"), 3);
    assert_int_equal(query_int64(s, "SELECT SUM(k) FROM t_reset"), 3);
    assert_int_equal(query_int64(s, "SELECT COUNT(*) FROM t_reset WHERE k IS NULL"), 1);
    store_close(s);
}

static void test_reset_in_the_middle_of_rows_restarts_the_query(void **state)
{
    struct store *s = open_store(state);
    EXPECT_OK(s, store_exec(s, "CREATE TABLE t_restart (k INTEGER); INSERT INTO t_restart "
                               "(k) VALUES (1), (2), (3)"));
    struct store_stmt *st = NULL;
    EXPECT_OK(s, store_prepare(s, "SELECT k FROM t_restart WHERE k >= ? ORDER BY k", &st));
    EXPECT_OK(s, store_bind_int64(st, 1, 1));
    assert_int_equal(store_step(st), STORE_ROW);
    assert_int_equal(store_column_int64(st, 0), 1);
    EXPECT_OK(s, store_reset(st));
    EXPECT_OK(s, store_bind_int64(st, 1, 2));
    assert_int_equal(store_step(st), STORE_ROW);
    assert_int_equal(store_column_int64(st, 0), 2);
    assert_int_equal(store_step(st), STORE_ROW);
    assert_int_equal(store_column_int64(st, 0), 3);
    assert_int_equal(store_step(st), STORE_DONE);
    store_finalize(st);
    store_close(s);
}

static void test_step_after_done_returns_done_without_rerunning(void **state)
{
    struct store *s = open_store(state);
    EXPECT_OK(s, store_exec(s, "CREATE TABLE t_done (k INTEGER)"));
    struct store_stmt *st = NULL;
    EXPECT_OK(s, store_prepare(s, "INSERT INTO t_done (k) VALUES (1)", &st));
    assert_int_equal(store_step(st), STORE_DONE);
    assert_int_equal(store_step(st), STORE_DONE);
    store_finalize(st);
    assert_int_equal(query_int64(s, "SELECT COUNT(*) FROM t_done"), 1);
    store_close(s);
}

static void test_statements_with_the_same_sql_run_independently(void **state)
{
    struct store *s = open_store(state);
    struct store_stmt *a = NULL;
    struct store_stmt *b = NULL;
    EXPECT_OK(s, store_prepare(s, "SELECT CAST(? AS BIGINT)", &a));
    EXPECT_OK(s, store_prepare(s, "SELECT CAST(? AS BIGINT)", &b));
    EXPECT_OK(s, store_bind_int64(a, 1, 10));
    EXPECT_OK(s, store_bind_int64(b, 1, 20));
    assert_int_equal(store_step(a), STORE_ROW);
    assert_int_equal(store_step(b), STORE_ROW);
    assert_int_equal(store_column_int64(a, 0), 10);
    assert_int_equal(store_column_int64(b, 0), 20);
    store_finalize(a);
    assert_int_equal(store_step(b), STORE_DONE);
    store_finalize(b);
    store_close(s);
}

/* More distinct statements than the PostgreSQL cache holds: old ones are evicted. */
static void test_many_distinct_statements_prepare_and_finalize(void **state)
{
    struct store *s = open_store(state);
    for (int i = 0; i < 600; i++) {
        char sql[64];
        snprintf(sql, sizeof(sql), "SELECT CAST(? AS BIGINT) + %d", i % 300);
        struct store_stmt *st = NULL;
        EXPECT_OK(s, store_prepare(s, sql, &st));
        EXPECT_OK(s, store_bind_int64(st, 1, 1000));
        assert_int_equal(store_step(st), STORE_ROW);
        assert_int_equal(store_column_int64(st, 0), 1000 + i % 300);
        store_finalize(st);
    }
    store_close(s);
}

/* ---- statement cache (same text prepared again) ---------------------------------------- */

/* Creates table (k INTEGER) holding 1..rows. */
static void make_numbers(struct store *s, const char *table, int rows)
{
    char sql[128];
    snprintf(sql, sizeof(sql), "CREATE TABLE %s (k INTEGER)", table);
    EXPECT_OK(s, store_exec(s, sql));
    snprintf(sql, sizeof(sql), "INSERT INTO %s (k) VALUES (?)", table);
    for (int i = 1; i <= rows; i++)
        insert_int(s, sql, i);
}

static void expect_rows(struct store_stmt *st, int64_t first, int64_t last)
{
    for (int64_t k = first; k <= last; k++) {
        assert_int_equal(store_step(st), STORE_ROW);
        assert_int_equal(store_column_int64(st, 0), k);
    }
    assert_int_equal(store_step(st), STORE_DONE);
}

#define SQL_FROM_ROWS "SELECT k FROM t_again_rows WHERE k >= ? ORDER BY k"

/* Finalized in the middle of its rows, the text prepared again starts from the first row,
 * with no binding left over (NULL: k >= NULL matches nothing). */
static void test_prepare_again_after_finalize_mid_rows_starts_fresh(void **state)
{
    struct store *s = open_store(state);
    make_numbers(s, "t_again_rows", 3);
    struct store_stmt *st = NULL;
    EXPECT_OK(s, store_prepare(s, SQL_FROM_ROWS, &st));
    EXPECT_OK(s, store_bind_int64(st, 1, 1));
    assert_int_equal(store_step(st), STORE_ROW);
    assert_int_equal(store_column_int64(st, 0), 1);
    store_finalize(st);
    EXPECT_OK(s, store_prepare(s, SQL_FROM_ROWS, &st));
    assert_int_equal(store_step(st), STORE_DONE); /* unbound: NULL */
    assert_int_equal(store_column_count(st), 1);
    store_finalize(st);
    EXPECT_OK(s, store_prepare(s, SQL_FROM_ROWS, &st));
    EXPECT_OK(s, store_bind_int64(st, 1, 1));
    expect_rows(st, 1, 3);
    store_finalize(st);
    EXPECT_OK(s, store_prepare(s, SQL_FROM_ROWS, &st));
    EXPECT_OK(s, store_bind_int64(st, 1, 2));
    expect_rows(st, 2, 3);
    store_finalize(st);
    assert_int_equal(query_int64(s, "SELECT COUNT(*) FROM t_again_rows"), 3);
    store_close(s);
}

/* store_changes, a failure and bound text do not carry over to the next prepare. */
static void test_prepare_again_has_no_changes_error_or_text_left_over(void **state)
{
    struct store *s = open_store(state);
    EXPECT_OK(s, store_exec(s, "CREATE TABLE t_again_state (k INTEGER PRIMARY KEY, v TEXT)"));
    const char *insert = "INSERT INTO t_again_state (k, v) VALUES (?, ?)";
    struct store_stmt *st = NULL;
    char text[8] = "first";
    EXPECT_OK(s, store_prepare(s, insert, &st));
    EXPECT_OK(s, store_bind_int64(st, 1, 1));
    EXPECT_OK(s, store_bind_text(st, 2, text, strlen(text)));
    memcpy(text, "XXXXX", 5); /* the text was copied at bind time */
    assert_int_equal(store_step(st), STORE_DONE);
    assert_int_equal(store_changes(st), 1);
    store_finalize(st);
    EXPECT_OK(s, store_prepare(s, insert, &st));
    assert_int_equal(store_changes(st), 0);
    EXPECT_OK(s, store_bind_int64(st, 1, 1));
    assert_int_equal(store_step(st), PB_ERR_CONFLICT);
    store_finalize(st);
    EXPECT_OK(s, store_prepare(s, insert, &st));
    EXPECT_OK(s, store_bind_int64(st, 1, 2)); /* v left unbound: NULL, not "first" */
    assert_int_equal(store_step(st), STORE_DONE);
    assert_int_equal(store_changes(st), 1);
    store_finalize(st);
    const char *update = "UPDATE t_again_state SET v = 'u' WHERE k = ?";
    EXPECT_OK(s, store_prepare(s, update, &st));
    EXPECT_OK(s, store_bind_int64(st, 1, 1));
    assert_int_equal(store_step(st), STORE_DONE);
    assert_int_equal(store_changes(st), 1);
    store_finalize(st);
    EXPECT_OK(s, store_prepare(s, update, &st));
    EXPECT_OK(s, store_bind_int64(st, 1, 99));
    assert_int_equal(store_step(st), STORE_DONE);
    assert_int_equal(store_changes(st), 0);
    store_finalize(st);
    EXPECT_OK(s, store_prepare(s, "SELECT v FROM t_again_state WHERE k = 1", &st));
    assert_int_equal(store_step(st), STORE_ROW);
    assert_string_equal(store_column_text(st, 0), "u");
    store_finalize(st);
    assert_int_equal(query_int64(s, "SELECT COUNT(*) FROM t_again_state WHERE v IS NULL"), 1);
    store_close(s);
}

/* A statement finalized on a row keeps no read snapshot: the connection's next query sees
 * what another connection committed since (SQLite would not while the statement ran). */
static void test_finalize_mid_rows_releases_the_snapshot(void **state)
{
    struct store *r = open_store(state);
    struct store *w = open_store(state);
    make_numbers(w, "t_again_snap", 2);
    struct store_stmt *st = NULL;
    EXPECT_OK(r, store_prepare(r, "SELECT k FROM t_again_snap ORDER BY k", &st));
    assert_int_equal(store_step(st), STORE_ROW);
    store_finalize(st);
    insert_int(w, "INSERT INTO t_again_snap (k) VALUES (?)", 3);
    EXPECT_OK(r, store_prepare(r, "SELECT k FROM t_again_snap ORDER BY k", &st));
    expect_rows(st, 1, 3);
    store_finalize(st);
    store_close(w);
    store_close(r);
}

/* Nested use: while one statement iterates, the same text is prepared and run to the end,
 * several times; afterwards two live statements of that text are still independent. */
static void test_nested_statements_with_the_same_sql_are_independent(void **state)
{
    struct store *s = open_store(state);
    make_numbers(s, "t_again_nested", 3);
    const char *sql = "SELECT k FROM t_again_nested WHERE k >= ? ORDER BY k";
    struct store_stmt *outer = NULL;
    EXPECT_OK(s, store_prepare(s, sql, &outer));
    EXPECT_OK(s, store_bind_int64(outer, 1, 1));
    for (int64_t k = 1; k <= 3; k++) {
        assert_int_equal(store_step(outer), STORE_ROW);
        struct store_stmt *inner = NULL;
        EXPECT_OK(s, store_prepare(s, sql, &inner));
        assert_ptr_not_equal(inner, outer);
        EXPECT_OK(s, store_bind_int64(inner, 1, k));
        expect_rows(inner, k, 3);
        store_finalize(inner);
        assert_int_equal(store_column_int64(outer, 0), k); /* still on its row */
    }
    assert_int_equal(store_step(outer), STORE_DONE);
    store_finalize(outer);
    struct store_stmt *a = NULL;
    struct store_stmt *b = NULL;
    EXPECT_OK(s, store_prepare(s, sql, &a));
    EXPECT_OK(s, store_prepare(s, sql, &b));
    EXPECT_OK(s, store_bind_int64(a, 1, 3));
    EXPECT_OK(s, store_bind_int64(b, 1, 2));
    assert_int_equal(store_step(b), STORE_ROW);
    expect_rows(a, 3, 3);
    store_finalize(a);
    assert_int_equal(store_column_int64(b, 0), 2);
    expect_rows(b, 3, 3);
    store_finalize(b);
    store_close(s);
}

/* More distinct texts than either cache holds, twice over, while a few statements stay
 * live throughout (eviction must pass them over); then everything still works. */
static void test_more_texts_than_the_cache_holds_evict_only_idle_ones(void **state)
{
    struct store *s = open_store(state);
    enum { LIVE = 4 };
    int texts = STORE_SQLITE_CACHE_MAX + 40;
    if (texts < STORE_PG_PREPARED_MAX + 40)
        texts = STORE_PG_PREPARED_MAX + 40;
    struct store_stmt *live[LIVE];
    char sql[96];
    for (int i = 0; i < LIVE; i++) {
        snprintf(sql, sizeof(sql), "SELECT CAST(? AS BIGINT) * %d", i + 2);
        EXPECT_OK(s, store_prepare(s, sql, &live[i]));
    }
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < texts; i++) {
            snprintf(sql, sizeof(sql), "SELECT CAST(? AS BIGINT) + %d", i);
            struct store_stmt *st = NULL;
            EXPECT_OK(s, store_prepare(s, sql, &st));
            EXPECT_OK(s, store_bind_int64(st, 1, 1000 * round));
            assert_int_equal(store_step(st), STORE_ROW);
            assert_int_equal(store_column_int64(st, 0), 1000 * round + i);
            store_finalize(st);
        }
    }
    for (int i = 0; i < LIVE; i++) {
        EXPECT_OK(s, store_bind_int64(live[i], 1, 10));
        assert_int_equal(store_step(live[i]), STORE_ROW);
        assert_int_equal(store_column_int64(live[i], 0), 10 * (i + 2));
        store_finalize(live[i]);
    }
    store_close(s);
}

/* The table behind a cached statement is dropped and created again, by this connection and
 * then by another one: the same text prepared again reads the new table. */
static void test_prepare_again_after_the_table_was_recreated(void **state)
{
    struct store *s = open_store(state);
    struct store *other = open_store(state);
    const char *sql = "SELECT k FROM t_again_schema ORDER BY k";
    make_numbers(s, "t_again_schema", 2);
    struct store_stmt *st = NULL;
    EXPECT_OK(s, store_prepare(s, sql, &st));
    expect_rows(st, 1, 2);
    store_finalize(st);
    EXPECT_OK(s, store_exec(s, "DROP TABLE t_again_schema"));
    make_numbers(s, "t_again_schema", 3);
    EXPECT_OK(s, store_prepare(s, sql, &st));
    expect_rows(st, 1, 3);
    store_finalize(st);
    EXPECT_OK(other, store_exec(other, "DROP TABLE t_again_schema"));
    make_numbers(other, "t_again_schema", 1);
    EXPECT_OK(s, store_prepare(s, sql, &st));
    expect_rows(st, 1, 1);
    store_finalize(st);
    store_close(other);
    store_close(s);
}

/* A dropped table is reported by store_prepare or, for a text prepared before, by
 * store_step; either way with its name, and the text works again once the table is back. */
static void test_dropped_table_is_reported_by_step_at_the_latest(void **state)
{
    struct store *s = open_store(state);
    const char *sql = "SELECT k FROM t_again_gone ORDER BY k";
    make_numbers(s, "t_again_gone", 1);
    struct store_stmt *st = NULL;
    EXPECT_OK(s, store_prepare(s, sql, &st));
    expect_rows(st, 1, 1);
    store_finalize(st);
    EXPECT_OK(s, store_exec(s, "DROP TABLE t_again_gone"));
    int rc = store_prepare(s, sql, &st);
    if (rc == PB_OK) {
        rc = store_step(st);
        store_finalize(st);
    }
    assert_int_equal(rc, PB_ERR_DB);
    assert_non_null(strstr(store_errmsg(s), "t_again_gone"));
    make_numbers(s, "t_again_gone", 2);
    EXPECT_OK(s, store_prepare(s, sql, &st));
    expect_rows(st, 1, 2);
    store_finalize(st);
    store_close(s);
}

/* ---- migrations ----------------------------------------------------------------------- */

static int64_t recorded_count(struct store *s, const char *module)
{
    struct store_stmt *st = NULL;
    EXPECT_OK(s, store_prepare(s, "SELECT COUNT(*) FROM schema_migrations WHERE module = ?", &st));
    EXPECT_OK(s, store_bind_text(st, 1, module, strlen(module)));
    assert_int_equal(store_step(st), STORE_ROW);
    int64_t n = store_column_int64(st, 0);
    store_finalize(st);
    return n;
}

static const struct store_migration once_migrations[] = {
    {"m_once", 1, "create", "CREATE TABLE m_once (k INTEGER)", NULL},
    {"m_once", 2, "seed",
     "INSERT INTO m_once (k) VALUES (1); INSERT INTO m_once (k) VALUES "
     "(2)",
     NULL},
    {"m_once_b", 1, "create", "CREATE TABLE m_once_b (k INTEGER)", NULL},
};

static void test_migrate_applies_pending_migrations_and_records_them(void **state)
{
    struct store *s = open_store(state);
    int applied = -1;
    int64_t before_ms = pb_wall_ms();
    EXPECT_OK(s, store_migrate(s, once_migrations, PB_ARRAY_LEN(once_migrations), &applied));
    assert_int_equal(applied, 3);
    assert_int_equal(query_int64(s, "SELECT SUM(k) FROM m_once"), 3);
    assert_true(table_exists(s, "m_once_b"));
    assert_int_equal(recorded_count(s, "m_once"), 2);
    assert_int_equal(recorded_count(s, "m_once_b"), 1);
    struct store_stmt *st = NULL;
    EXPECT_OK(s, store_prepare(s,
                               "SELECT name, applied_at_ms FROM schema_migrations WHERE "
                               "module = 'm_once' AND version = 2",
                               &st));
    assert_int_equal(store_step(st), STORE_ROW);
    assert_string_equal(store_column_text(st, 0), "seed");
    assert_in_range(store_column_int64(st, 1), before_ms, pb_wall_ms());
    store_finalize(st);
    store_close(s);
}

static void test_migrate_second_run_applies_none_and_new_ones_later(void **state)
{
    struct store *s = open_store(state);
    const struct store_migration list[] = {
        {"m_rerun", 1, "create", "CREATE TABLE m_rerun (k INTEGER)", NULL},
        {"m_rerun", 2, "seed", "INSERT INTO m_rerun (k) VALUES (1)", NULL},
    };
    int applied = -1;
    EXPECT_OK(s, store_migrate(s, list, 1, &applied));
    assert_int_equal(applied, 1);
    EXPECT_OK(s, store_migrate(s, list, 1, &applied));
    assert_int_equal(applied, 0);
    EXPECT_OK(s, store_migrate(s, list, 2, &applied));
    assert_int_equal(applied, 1);
    EXPECT_OK(s, store_migrate(s, list, 2, NULL));
    assert_int_equal(query_int64(s, "SELECT COUNT(*) FROM m_rerun"), 1);
    assert_int_equal(recorded_count(s, "m_rerun"), 2);
    store_close(s);
}

static void test_migrate_failing_migration_leaves_nothing_applied(void **state)
{
    struct store *s = open_store(state);
    const struct store_migration list[] = {
        {"m_bad", 1, "half",
         "CREATE TABLE m_bad_half (k INTEGER); INSERT INTO "
         "m_bad_nonexistent (k) VALUES (1)",
         NULL},
    };
    int applied = -1;
    assert_int_equal(store_migrate(s, list, 1, &applied), PB_ERR_DB);
    assert_int_equal(applied, 0);
    assert_non_null(strstr(store_errmsg(s), "m_bad_nonexistent"));
    assert_false(table_exists(s, "m_bad_half"));
    assert_int_equal(recorded_count(s, "m_bad"), 0);
    EXPECT_OK(s, store_begin(s)); /* no transaction was left open */
    EXPECT_OK(s, store_rollback(s));
    store_close(s);
}

static void test_migrate_failure_keeps_the_earlier_migrations(void **state)
{
    struct store *s = open_store(state);
    const struct store_migration list[] = {
        {"m_partial", 1, "good", "CREATE TABLE m_partial_good (k INTEGER)", NULL},
        {"m_partial", 2, "bad", "CREATE TABLE m_partial_bad (k INTEGER); SELEC", NULL},
    };
    int applied = -1;
    assert_int_equal(store_migrate(s, list, 2, &applied), PB_ERR_DB);
    assert_int_equal(applied, 1);
    assert_true(table_exists(s, "m_partial_good"));
    assert_false(table_exists(s, "m_partial_bad"));
    assert_int_equal(recorded_count(s, "m_partial"), 1);
    store_close(s);
}

static void expect_migrations_refused(struct store *s, const struct store_migration *list,
                                      size_t count, const char *module)
{
    int applied = -1;
    assert_int_equal(store_migrate(s, list, count, &applied), PB_ERR_INVALID);
    assert_int_equal(applied, 0);
    if (table_exists(s, "schema_migrations"))
        assert_int_equal(recorded_count(s, module), 0);
}

static void test_migrate_refuses_version_gaps_and_disorder(void **state)
{
    struct store *s = open_store(state);
    const struct store_migration gap[] = {
        {"m_gap", 1, "one", "CREATE TABLE m_gap_1 (k INTEGER)", NULL},
        {"m_gap", 3, "three", "CREATE TABLE m_gap_3 (k INTEGER)", NULL},
    };
    expect_migrations_refused(s, gap, 2, "m_gap");
    assert_false(table_exists(s, "m_gap_1")); /* refused before anything ran */
    const struct store_migration from_two[] = {
        {"m_gap", 2, "two", "CREATE TABLE m_gap_2 (k INTEGER)", NULL},
    };
    expect_migrations_refused(s, from_two, 1, "m_gap");
    const struct store_migration descending[] = {
        {"m_gap", 2, "two", "CREATE TABLE m_gap_2 (k INTEGER)", NULL},
        {"m_gap", 1, "one", "CREATE TABLE m_gap_1 (k INTEGER)", NULL},
    };
    expect_migrations_refused(s, descending, 2, "m_gap");
    const struct store_migration twice[] = {
        {"m_gap", 1, "one", "CREATE TABLE m_gap_1 (k INTEGER)", NULL},
        {"m_gap", 1, "one again", "CREATE TABLE m_gap_1b (k INTEGER)", NULL},
    };
    expect_migrations_refused(s, twice, 2, "m_gap");
    const struct store_migration nameless[] = {{"m_gap", 1, NULL, "SELECT 1", NULL}};
    expect_migrations_refused(s, nameless, 1, "m_gap");
    store_close(s);
}

static void test_migrate_accepts_interleaved_modules(void **state)
{
    struct store *s = open_store(state);
    const struct store_migration list[] = {
        {"m_mix_a", 1, "a1", "CREATE TABLE m_mix_a (k INTEGER)", NULL},
        {"m_mix_b", 1, "b1", "CREATE TABLE m_mix_b (k INTEGER)", NULL},
        {"m_mix_a", 2, "a2", "INSERT INTO m_mix_a (k) VALUES (1)", NULL},
        {"m_mix_b", 2, "b2", "INSERT INTO m_mix_b (k) VALUES (2)", NULL},
    };
    int applied = -1;
    EXPECT_OK(s, store_migrate(s, list, PB_ARRAY_LEN(list), &applied));
    assert_int_equal(applied, 4);
    assert_int_equal(query_int64(s, "SELECT SUM(k) FROM m_mix_b"), 2);
    store_close(s);
}

static void test_migrate_uses_the_postgres_variant_only_on_postgres(void **state)
{
    struct store *s = open_store(state);
    const struct store_migration list[] = {
        {"m_variant", 1, "variant", "CREATE TABLE m_variant_portable (k INTEGER)",
         "CREATE TABLE m_variant_pg (k BIGSERIAL)"},
    };
    EXPECT_OK(s, store_migrate(s, list, 1, NULL));
    bool pg = store_backend_of(s) == STORE_POSTGRES;
    assert_int_equal(table_exists(s, "m_variant_pg"), pg);
    assert_int_equal(table_exists(s, "m_variant_portable"), !pg);
    store_close(s);
}

static void test_migrate_empty_list_creates_the_schema_table(void **state)
{
    struct store *s = open_store(state);
    int applied = -1;
    EXPECT_OK(s, store_migrate(s, NULL, 0, &applied));
    assert_int_equal(applied, 0);
    assert_true(table_exists(s, "schema_migrations"));
    store_close(s);
}

/* ---- reader pool ---------------------------------------------------------------------- */

static struct store_pool *open_pool(void **state, int size)
{
    struct store_pool *p = NULL;
    char err[ERR_MAX];
    int rc = store_pool_open(fixture_of(state)->url, size, &p, err, sizeof(err));
    if (rc != 0)
        fail_msg("store_pool_open returned %d: %s", rc, err);
    return p;
}

static void test_pool_acquire_and_release_reuses_the_connection(void **state)
{
    struct store_pool *p = open_pool(state, 2);
    struct store *a = NULL;
    struct store *b = NULL;
    EXPECT_OK(a, store_pool_acquire(p, 1000, &a));
    assert_int_equal(query_int64(a, "SELECT 1"), 1);
    store_pool_release(p, a);
    EXPECT_OK(b, store_pool_acquire(p, 1000, &b));
    assert_ptr_equal(a, b);
    store_pool_release(p, b);
    store_pool_close(p);
}

static void test_pool_times_out_when_exhausted(void **state)
{
    struct store_pool *p = open_pool(state, 2);
    struct store *a = NULL;
    struct store *b = NULL;
    struct store *c = (struct store *)&c;
    EXPECT_OK(a, store_pool_acquire(p, 1000, &a));
    EXPECT_OK(b, store_pool_acquire(p, 1000, &b)); /* opened lazily */
    assert_ptr_not_equal(a, b);
    uint64_t start = pb_mono_ns();
    assert_int_equal(store_pool_acquire(p, 100, &c), PB_ERR_TIMEOUT);
    assert_null(c);
    double waited = elapsed_ms(start);
    if (waited < 95 || waited > 2000)
        fail_msg("waited %.1f ms for a 100 ms timeout", waited);
    assert_int_equal(store_pool_acquire(p, 0, &c), PB_ERR_TIMEOUT);
    store_pool_release(p, a);
    EXPECT_OK(c, store_pool_acquire(p, 0, &c));
    assert_ptr_equal(c, a);
    store_pool_release(p, b);
    store_pool_release(p, c);
    store_pool_close(p);
}

struct releaser {
    struct store_pool *p;
    struct store *s;
};

static void *release_later(void *arg)
{
    struct releaser *r = arg;
    usleep(50 * 1000);
    store_pool_release(r->p, r->s);
    return NULL;
}

static void test_pool_acquire_waits_for_a_release(void **state)
{
    struct store_pool *p = open_pool(state, 1);
    struct releaser r = {.p = p};
    EXPECT_OK(r.s, store_pool_acquire(p, 1000, &r.s));
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, release_later, &r), 0);
    struct store *s = NULL;
    uint64_t start = pb_mono_ns();
    EXPECT_OK(s, store_pool_acquire(p, 5000, &s));
    assert_true(elapsed_ms(start) >= 40);
    assert_ptr_equal(s, r.s);
    assert_int_equal(pthread_join(t, NULL), 0);
    store_pool_release(p, s);
    store_pool_close(p);
}

#define POOL_THREADS 8
#define POOL_ROUNDS 40
#define POOL_SIZE 3

struct pool_worker {
    struct store_pool *p;
    atomic_int *in_use;
    atomic_int *max_in_use;
    atomic_int *failures;
};

static void *pool_worker_run(void *arg)
{
    struct pool_worker *w = arg;
    for (int i = 0; i < POOL_ROUNDS; i++) {
        struct store *s = NULL;
        if (store_pool_acquire(w->p, 10000, &s) != 0) {
            atomic_fetch_add(w->failures, 1);
            continue;
        }
        int now = atomic_fetch_add(w->in_use, 1) + 1;
        int seen = atomic_load(w->max_in_use);
        while (now > seen && !atomic_compare_exchange_weak(w->max_in_use, &seen, now))
            ;
        struct store_stmt *st = NULL;
        if (store_prepare(s, "SELECT COUNT(*) FROM t_pool", &st) != 0 ||
            store_step(st) != STORE_ROW || store_column_int64(st, 0) != 3)
            atomic_fetch_add(w->failures, 1);
        store_finalize(st);
        atomic_fetch_sub(w->in_use, 1);
        store_pool_release(w->p, s);
    }
    return NULL;
}

static void test_pool_concurrent_acquire_never_exceeds_its_size(void **state)
{
    struct store *w = open_store(state);
    EXPECT_OK(w, store_exec(w, "CREATE TABLE t_pool (k INTEGER); INSERT INTO t_pool (k) "
                               "VALUES (1), (2), (3)"));
    store_close(w);
    struct store_pool *p = open_pool(state, POOL_SIZE);
    atomic_int in_use = 0;
    atomic_int max_in_use = 0;
    atomic_int failures = 0;
    struct pool_worker worker = {p, &in_use, &max_in_use, &failures};
    pthread_t threads[POOL_THREADS];
    for (int i = 0; i < POOL_THREADS; i++)
        assert_int_equal(pthread_create(&threads[i], NULL, pool_worker_run, &worker), 0);
    for (int i = 0; i < POOL_THREADS; i++)
        assert_int_equal(pthread_join(threads[i], NULL), 0);
    assert_int_equal(atomic_load(&failures), 0);
    assert_in_range(atomic_load(&max_in_use), 1, POOL_SIZE);
    store_pool_close(p);
}

static void test_pool_release_rolls_back_an_open_transaction(void **state)
{
    struct store *w = open_store(state);
    EXPECT_OK(w, store_exec(w, "CREATE TABLE t_pool_rb (k INTEGER)"));
    store_close(w);
    struct store_pool *p = open_pool(state, 1);
    struct store *s = NULL;
    EXPECT_OK(s, store_pool_acquire(p, 1000, &s));
    EXPECT_OK(s, store_begin(s));
    insert_int(s, "INSERT INTO t_pool_rb (k) VALUES (?)", 1);
    store_pool_release(p, s);
    EXPECT_OK(s, store_pool_acquire(p, 1000, &s));
    EXPECT_OK(s, store_begin(s)); /* not inside the old transaction any more */
    assert_int_equal(query_int64(s, "SELECT COUNT(*) FROM t_pool_rb"), 0);
    EXPECT_OK(s, store_rollback(s));
    store_pool_release(p, s);
    store_pool_close(p);
}

static void test_pool_open_rejects_a_bad_url(void **state)
{
    struct fixture *fx = fixture_of(state);
    const char *url = fx->backend == STORE_SQLITE ? "sqlite:/nonexistent-pitboss-dir/x.db"
                                                  : "postgresql://postgres@127.0.0.1:1/x";
    struct store_pool *p = (struct store_pool *)&p;
    char err[ERR_MAX] = "";
    assert_int_equal(store_pool_open(url, 2, &p, err, sizeof(err)), PB_ERR_DB);
    assert_null(p);
    assert_true(strlen(err) > 0);
}

/* ---- SQLite only ---------------------------------------------------------------------- */

static void test_sqlite_open_sets_wal_full_sync_and_foreign_keys(void **state)
{
    struct store *s = open_store(state);
    struct store_stmt *st = NULL;
    EXPECT_OK(s, store_prepare(s, "PRAGMA journal_mode", &st));
    assert_int_equal(store_step(st), STORE_ROW);
    assert_string_equal(store_column_text(st, 0), "wal");
    store_finalize(st);
    assert_int_equal(query_int64(s, "PRAGMA synchronous"), 2); /* FULL */
    assert_int_equal(query_int64(s, "PRAGMA foreign_keys"), 1);
    assert_int_equal(query_int64(s, "PRAGMA busy_timeout"), PB_STORE_BUSY_TIMEOUT_MS);
    store_close(s);
}

/* WAL: a reader inside a read transaction does not block the writer's commit and keeps
 * its snapshot; its next transaction sees the write. */
static void test_sqlite_wal_reader_sees_committed_writes_after_its_snapshot(void **state)
{
    struct store *w = open_store(state);
    struct store *r = open_store(state);
    EXPECT_OK(w, store_exec(w, "CREATE TABLE t_wal (k INTEGER)"));
    EXPECT_OK(r, store_begin(r));
    assert_int_equal(query_int64(r, "SELECT COUNT(*) FROM t_wal"), 0);
    uint64_t start = pb_mono_ns();
    EXPECT_OK(w, store_begin(w));
    insert_int(w, "INSERT INTO t_wal (k) VALUES (?)", 1);
    EXPECT_OK(w, store_commit(w));
    assert_true(elapsed_ms(start) < 1000); /* not waiting out the busy timeout */
    assert_int_equal(query_int64(r, "SELECT COUNT(*) FROM t_wal"), 0);
    EXPECT_OK(r, store_commit(r));
    assert_int_equal(query_int64(r, "SELECT COUNT(*) FROM t_wal"), 1);
    store_close(r);
    store_close(w);
}

static void test_sqlite_failed_statement_keeps_the_transaction(void **state)
{
    struct store *s = open_store(state);
    EXPECT_OK(s, store_exec(s, "CREATE TABLE t_keep (k INTEGER PRIMARY KEY)"));
    EXPECT_OK(s, store_begin(s));
    insert_int(s, "INSERT INTO t_keep (k) VALUES (?)", 1);
    assert_int_equal(store_exec(s, "INSERT INTO t_keep (k) VALUES (1)"), PB_ERR_CONFLICT);
    EXPECT_OK(s, store_commit(s));
    assert_int_equal(query_int64(s, "SELECT COUNT(*) FROM t_keep"), 1);
    store_close(s);
}

/* White box: the cache really hands the same compiled statement out again, never one that
 * is live, and counts what is lent (store_int.h). */
static void test_sqlite_prepare_reuses_the_compiled_statement(void **state)
{
    struct store *s = open_store(state);
    const struct store__sqlite *q = &s->u.sqlite;
    const char *sql = "SELECT CAST(? AS BIGINT)";
    struct store_stmt *a = NULL;
    struct store_stmt *b = NULL;
    EXPECT_OK(s, store_prepare(s, sql, &a));
    sqlite3_stmt *compiled = a->u.sqlite.stmt;
    int used = q->cache_used;
    store_finalize(a);
    EXPECT_OK(s, store_prepare(s, sql, &a));
    assert_ptr_equal(a->u.sqlite.stmt, compiled);
    assert_int_equal(q->cache_used, used);
    EXPECT_OK(s, store_prepare(s, sql, &b)); /* a is live: a second compiled statement */
    assert_ptr_not_equal(b->u.sqlite.stmt, compiled);
    assert_int_equal(q->cache_used, used + 1);
    assert_int_equal(q->cache_in_use, 2);
    store_finalize(a);
    store_finalize(b);
    assert_int_equal(q->cache_in_use, 0);
    EXPECT_OK(s, store_prepare(s, sql, &a));
    EXPECT_OK(s, store_prepare(s, sql, &b));
    assert_int_equal(q->cache_used, used + 1); /* both came from the cache */
    store_finalize(b);
    store_finalize(a);
    store_close(s);
}

/* With every cache entry lent out, further statements live outside the cache, work, and are
 * finalized for real; afterwards the cache serves again. (PostgreSQL refuses more than
 * STORE_PG_PREPARED_MAX live distinct statements with PB_ERR_FULL.) */
static void test_sqlite_more_live_statements_than_the_cache_holds_all_work(void **state)
{
    struct store *s = open_store(state);
    const struct store__sqlite *q = &s->u.sqlite;
    enum { LIVE = STORE_SQLITE_CACHE_MAX + 8 };
    struct store_stmt **live = pb_calloc(LIVE, sizeof(live[0]));
    for (int i = 0; i < LIVE; i++) {
        char sql[64];
        snprintf(sql, sizeof(sql), "SELECT CAST(? AS BIGINT) - %d", i);
        EXPECT_OK(s, store_prepare(s, sql, &live[i]));
        EXPECT_OK(s, store_bind_int64(live[i], 1, 1000));
    }
    assert_int_equal(q->cache_in_use, STORE_SQLITE_CACHE_MAX);
    for (int i = LIVE - 1; i >= 0; i--) {
        assert_int_equal(store_step(live[i]), STORE_ROW);
        assert_int_equal(store_column_int64(live[i], 0), 1000 - i);
        store_finalize(live[i]);
    }
    assert_int_equal(q->cache_in_use, 0);
    assert_int_equal(query_int64(s, "SELECT CAST(? AS BIGINT) - 0"), 0); /* NULL reads 0 */
    pb_free(live);
    store_close(s);
}

/* A column added after a SELECT * was cached: SQLite recompiles it at the next step, and
 * the column count follows. */
/* store_checkpoint reports the WAL's length; a checkpoint copies it into the database file
 * (the frames stay until the writer starts the WAL over). PostgreSQL: nothing, 0 frames. */
static void test_checkpoint_reports_the_wal_length(void **state)
{
    struct store *w = open_store(state), *c = open_store(state);
    EXPECT_OK(w, store_exec(w, "CREATE TABLE t_ckpt (k INTEGER)"));
    EXPECT_OK(w, store_begin(w));
    for (int i = 0; i < 200; i++)
        insert_int(w, "INSERT INTO t_ckpt (k) VALUES (?)", i);
    EXPECT_OK(w, store_commit(w));
    int64_t frames = -1;
    EXPECT_OK(c, store_checkpoint(c, &frames));
    if (store_backend_of(c) == STORE_SQLITE)
        assert_true(frames >= 2); /* the table's pages and the schema's */
    else
        assert_int_equal(frames, 0);
    EXPECT_OK(c, store_checkpoint(c, NULL));
    assert_int_equal(query_int64(c, "SELECT COUNT(*) FROM t_ckpt"), 200);
    store_close(c);
    store_close(w);
}

/* The background checkpoint policy: every PB_STORE_CHECKPOINT_INTERVAL_MS, and at every tick
 * once the WAL reaches PB_STORE_CHECKPOINT_CATCH_UP_PCT of the writer's own threshold. */
static void test_checkpoint_due_catches_up_near_the_writers_threshold(void **state)
{
    (void)state;
    const uint64_t ms = 1000000u, t0 = 1000 * ms;
    const int64_t near = (int64_t)PB_STORE_WAL_AUTOCHECKPOINT_PAGES *
                         PB_STORE_CHECKPOINT_CATCH_UP_PCT / 100;
    assert_true(store_checkpoint_due(0, 0, t0)); /* never ran */
    assert_false(store_checkpoint_due(0, t0, t0 + 1 * ms));
    assert_false(store_checkpoint_due(near - 1, t0, t0 + PB_STORE_CHECKPOINT_INTERVAL_MS * ms - 1));
    assert_true(store_checkpoint_due(near - 1, t0, t0 + PB_STORE_CHECKPOINT_INTERVAL_MS * ms));
    assert_true(store_checkpoint_due(near, t0, t0 + 1 * ms));
    assert_true(store_checkpoint_due(PB_STORE_WAL_AUTOCHECKPOINT_PAGES, t0, t0));
}

static void test_sqlite_cached_select_star_sees_an_added_column(void **state)
{
    struct store *s = open_store(state);
    EXPECT_OK(s, store_exec(s, "CREATE TABLE t_star (a INTEGER); INSERT INTO t_star VALUES (1)"));
    struct store_stmt *st = NULL;
    EXPECT_OK(s, store_prepare(s, "SELECT * FROM t_star", &st));
    assert_int_equal(store_step(st), STORE_ROW);
    assert_int_equal(store_column_count(st), 1);
    store_finalize(st);
    EXPECT_OK(s, store_exec(s, "ALTER TABLE t_star ADD COLUMN b INTEGER DEFAULT 7"));
    EXPECT_OK(s, store_prepare(s, "SELECT * FROM t_star", &st));
    assert_int_equal(store_step(st), STORE_ROW);
    assert_int_equal(store_column_count(st), 2);
    assert_int_equal(store_column_int64(st, 1), 7);
    store_finalize(st);
    store_close(s);
}

/* ---- PostgreSQL only ------------------------------------------------------------------ */

static void test_pg_commit_after_an_error_rolls_back_and_fails(void **state)
{
    struct store *s = open_store(state);
    EXPECT_OK(s, store_exec(s, "CREATE TABLE t_pg_abort (k INTEGER PRIMARY KEY)"));
    EXPECT_OK(s, store_begin(s));
    insert_int(s, "INSERT INTO t_pg_abort (k) VALUES (?)", 1);
    assert_int_equal(store_exec(s, "INSERT INTO t_pg_abort (k) VALUES (1)"), PB_ERR_CONFLICT);
    assert_int_equal(store_commit(s), PB_ERR_DB);
    assert_non_null(strstr(store_errmsg(s), "rolled back"));
    assert_int_equal(query_int64(s, "SELECT COUNT(*) FROM t_pg_abort"), 0);
    EXPECT_OK(s, store_begin(s)); /* the connection is usable again */
    EXPECT_OK(s, store_rollback(s));
    store_close(s);
}

static void test_pg_conflict_message_names_the_constraint(void **state)
{
    struct store *s = open_store(state);
    EXPECT_OK(s, store_exec(s, "CREATE TABLE t_pg_msg (k INTEGER CONSTRAINT t_pg_msg_key "
                               "PRIMARY KEY); INSERT INTO t_pg_msg VALUES (1)"));
    assert_int_equal(store_exec(s, "INSERT INTO t_pg_msg VALUES (1)"), PB_ERR_CONFLICT);
    assert_non_null(strstr(store_errmsg(s), "t_pg_msg_key"));
    assert_non_null(strstr(store_errmsg(s), "23505"));
    store_close(s);
}

static void test_pg_open_sets_client_min_messages_to_warning(void **state)
{
    struct store *s = open_store(state);
    struct store_stmt *st = NULL;
    EXPECT_OK(s, store_prepare(s, "SHOW client_min_messages", &st));
    assert_int_equal(store_step(st), STORE_ROW);
    assert_string_equal(store_column_text(st, 0), "warning");
    store_finalize(st);
    store_close(s);
}

static void test_pg_boolean_result_reads_as_integer(void **state)
{
    struct store *s = open_store(state);
    assert_int_equal(query_int64(s, "SELECT 1 = 1"), 1);
    assert_int_equal(query_int64(s, "SELECT 1 = 2"), 0);
    store_close(s);
}

/* A reader whose server session ended fails its query; given back, it is replaced. */
static void test_pg_pool_replaces_a_connection_the_server_dropped(void **state)
{
    struct store_pool *p = open_pool(state, 1);
    struct store *s = NULL;
    EXPECT_OK(s, store_pool_acquire(p, 1000, &s));
    int64_t pid = query_int64(s, "SELECT pg_backend_pid()");
    store_pool_release(p, s);
    struct store *admin = open_store(state);
    char sql[64];
    snprintf(sql, sizeof(sql), "SELECT pg_terminate_backend(%lld)", (long long)pid);
    assert_int_equal(query_int64(admin, sql), 1);
    store_close(admin);
    EXPECT_OK(s, store_pool_acquire(p, 1000, &s));
    assert_int_equal(store_exec(s, "SELECT 1"), PB_ERR_DB);
    assert_int_equal(store_commit(s), PB_ERR_DB);
    assert_non_null(strstr(store_errmsg(s), "connection was lost"));
    store_pool_release(p, s);
    EXPECT_OK(s, store_pool_acquire(p, 1000, &s));
    assert_int_not_equal(query_int64(s, "SELECT pg_backend_pid()"), pid);
    store_pool_release(p, s);
    store_pool_close(p);
}

/* ---- fixtures ------------------------------------------------------------------------- */

static void make_dirs(const char *path)
{
    char tmp[URL_MAX];
    pb_strlcpy(tmp, path, sizeof(tmp));
    for (char *p = tmp + 1; *p != '\0'; p++) {
        if (*p == '/') {
            *p = '\0';
            mkdir(tmp, 0755);
            *p = '/';
        }
    }
    if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
        fail_msg("cannot create %s: %s", tmp, strerror(errno));
}

static int sqlite_group_setup(void **state)
{
    const char *dir = getenv("PITBOSS_TEST_TMP");
    if (dir == NULL || dir[0] == '\0')
        dir = "/tmp";
    make_dirs(dir);
    char hex[17];
    pb_random_hex(hex, 8);
    struct fixture *fx = &sqlite_fixture;
    int n = snprintf(fx->path, sizeof(fx->path), "%s/test_store_%s.db", dir, hex);
    int m = snprintf(fx->url, sizeof(fx->url), "sqlite:%s", fx->path);
    if (n < 0 || (size_t)n >= sizeof(fx->path) || m < 0 || (size_t)m >= sizeof(fx->url)) {
        fprintf(stderr, "test_store: PITBOSS_TEST_TMP is too long\n");
        return -1;
    }
    fx->available = true;
    *state = fx;
    return 0;
}

static int sqlite_group_teardown(void **state)
{
    struct fixture *fx = *state;
    const char *suffixes[] = {"", "-wal", "-shm"};
    for (size_t i = 0; i < PB_ARRAY_LEN(suffixes); i++) {
        char path[URL_MAX + 8];
        snprintf(path, sizeof(path), "%s%s", fx->path, suffixes[i]);
        unlink(path);
    }
    return 0;
}

/* url with its database name replaced by database (keeps ?parameters). */
static int url_with_database(const char *url, const char *database, char *out, size_t outlen)
{
    const char *authority = strstr(url, "://");
    if (authority == NULL)
        return -1;
    authority += 3;
    const char *query = strchr(authority, '?');
    const char *path = strchr(authority, '/');
    if (path != NULL && query != NULL && query < path)
        path = NULL;
    size_t head = path ? (size_t)(path - url) : query ? (size_t)(query - url) : strlen(url);
    int n = snprintf(out, outlen, "%.*s/%s%s", (int)head, url, database, query ? query : "");
    return n > 0 && (size_t)n < outlen ? 0 : -1;
}

static int pg_admin_exec(const char *url, const char *sql)
{
    struct store *s = NULL;
    char err[ERR_MAX];
    int rc = store_open(url, &s, err, sizeof(err));
    if (rc != 0) {
        fprintf(stderr, "test_store: cannot connect to PITBOSS_TEST_PG: %s\n", err);
        return -1;
    }
    rc = store_exec(s, sql);
    if (rc != 0)
        fprintf(stderr, "test_store: %s: %s\n", sql, store_errmsg(s));
    store_close(s);
    return rc == 0 ? 0 : -1;
}

static int pg_group_setup(void **state)
{
    struct fixture *fx = &pg_fixture;
    *state = fx;
    const char *admin = getenv("PITBOSS_TEST_PG");
    if (admin == NULL || admin[0] == '\0')
        return 0; /* announced in main; every test skips */
    pb_strlcpy(fx->admin, admin, sizeof(fx->admin));
    char hex[17];
    pb_random_hex(hex, 8);
    snprintf(fx->database, sizeof(fx->database), "pb_store_test_%s", hex);
    if (url_with_database(admin, fx->database, fx->url, sizeof(fx->url)) != 0) {
        fprintf(stderr, "test_store: cannot use PITBOSS_TEST_PG=%s\n", admin);
        return -1;
    }
    char sql[128];
    snprintf(sql, sizeof(sql), "CREATE DATABASE %s", fx->database);
    if (pg_admin_exec(admin, sql) != 0)
        return -1;
    fx->available = true;
    return 0;
}

static int pg_group_teardown(void **state)
{
    struct fixture *fx = *state;
    if (!fx->available)
        return 0;
    char sql[128];
    snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH (FORCE)", fx->database);
    return pg_admin_exec(fx->admin, sql);
}

/* ---- main ----------------------------------------------------------------------------- */

/* clang-format off */
#define COMMON_TESTS                                                                              \
    cmocka_unit_test(test_open_returns_connection_of_the_url_backend),                            \
    cmocka_unit_test(test_open_rejects_bad_urls_with_a_message),                                  \
    cmocka_unit_test(test_exec_runs_several_statements),                                          \
    cmocka_unit_test(test_exec_reports_syntax_error_with_message),                                \
    cmocka_unit_test(test_int64_extremes_round_trip),                                             \
    cmocka_unit_test(test_int64_parameter_cast_in_expression),                                    \
    cmocka_unit_test(test_text_with_quotes_and_utf8_round_trips),                                 \
    cmocka_unit_test(test_null_reads_as_null_zero_and_empty_text),                                \
    cmocka_unit_test(test_text_with_nul_byte_is_refused),                                         \
    cmocka_unit_test(test_column_count_and_bytes_describe_the_row),                               \
    cmocka_unit_test(test_prepare_refuses_more_parameters_than_the_limit),                        \
    cmocka_unit_test(test_prepare_reports_unknown_table),                                         \
    cmocka_unit_test(test_question_mark_in_literal_is_not_a_parameter),                           \
    cmocka_unit_test(test_unique_violation_is_conflict),                                          \
    cmocka_unit_test(test_not_null_violation_is_conflict),                                        \
    cmocka_unit_test(test_step_after_error_returns_the_same_error),                               \
    cmocka_unit_test(test_commit_makes_writes_visible_to_another_connection),                     \
    cmocka_unit_test(test_rollback_discards_writes),                                              \
    cmocka_unit_test(test_begin_inside_a_transaction_is_an_error),                                \
    cmocka_unit_test(test_commit_without_a_transaction_is_an_error),                              \
    cmocka_unit_test(test_rollback_without_a_transaction_does_nothing),                           \
    cmocka_unit_test(test_savepoint_outside_a_transaction_is_an_error),                           \
    cmocka_unit_test(test_savepoint_release_keeps_inner_writes),                                  \
    cmocka_unit_test(test_rollback_to_savepoint_discards_only_inner_writes),                      \
    cmocka_unit_test(test_failed_statement_in_savepoint_then_rollback_to_lets_commit),            \
    cmocka_unit_test(test_rollback_to_outer_savepoint_undoes_released_inner_one),                 \
    cmocka_unit_test(test_release_of_unknown_savepoint_fails_by_commit_at_the_latest),            \
    cmocka_unit_test(test_release_of_unknown_savepoint_fails_by_next_statement),                  \
    cmocka_unit_test(test_many_savepoints_with_many_names_all_work),                              \
    cmocka_unit_test(test_statement_prepared_in_rolled_back_transaction_still_works),             \
    cmocka_unit_test(test_changes_counts_rows_of_insert_update_delete),                           \
    cmocka_unit_test(test_reset_reruns_with_new_bindings_and_clears_old_ones),                    \
    cmocka_unit_test(test_reset_in_the_middle_of_rows_restarts_the_query),                        \
    cmocka_unit_test(test_step_after_done_returns_done_without_rerunning),                        \
    cmocka_unit_test(test_statements_with_the_same_sql_run_independently),                        \
    cmocka_unit_test(test_many_distinct_statements_prepare_and_finalize),                         \
    cmocka_unit_test(test_prepare_again_after_finalize_mid_rows_starts_fresh),                    \
    cmocka_unit_test(test_prepare_again_has_no_changes_error_or_text_left_over),                  \
    cmocka_unit_test(test_finalize_mid_rows_releases_the_snapshot),                               \
    cmocka_unit_test(test_nested_statements_with_the_same_sql_are_independent),                   \
    cmocka_unit_test(test_more_texts_than_the_cache_holds_evict_only_idle_ones),                  \
    cmocka_unit_test(test_prepare_again_after_the_table_was_recreated),                           \
    cmocka_unit_test(test_dropped_table_is_reported_by_step_at_the_latest),                       \
    cmocka_unit_test(test_migrate_applies_pending_migrations_and_records_them),                   \
    cmocka_unit_test(test_migrate_second_run_applies_none_and_new_ones_later),                    \
    cmocka_unit_test(test_migrate_failing_migration_leaves_nothing_applied),                      \
    cmocka_unit_test(test_migrate_failure_keeps_the_earlier_migrations),                          \
    cmocka_unit_test(test_migrate_refuses_version_gaps_and_disorder),                             \
    cmocka_unit_test(test_migrate_accepts_interleaved_modules),                                   \
    cmocka_unit_test(test_migrate_uses_the_postgres_variant_only_on_postgres),                    \
    cmocka_unit_test(test_migrate_empty_list_creates_the_schema_table),                           \
    cmocka_unit_test(test_pool_acquire_and_release_reuses_the_connection),                        \
    cmocka_unit_test(test_pool_times_out_when_exhausted),                                         \
    cmocka_unit_test(test_pool_acquire_waits_for_a_release),                                      \
    cmocka_unit_test(test_pool_concurrent_acquire_never_exceeds_its_size),                        \
    cmocka_unit_test(test_pool_release_rolls_back_an_open_transaction),                           \
    cmocka_unit_test(test_pool_open_rejects_a_bad_url),                                           \
    cmocka_unit_test(test_checkpoint_reports_the_wal_length)
/* clang-format on */

int main(void)
{
    pb_log_set_level(PB_LOG_WARN); /* "migration applied" lines would drown the report */
    const struct CMUnitTest sqlite_tests[] = {
        COMMON_TESTS,
        /* no database involved: run once */
        cmocka_unit_test(test_rewrite_placeholders_numbers_them_in_order),
        cmocka_unit_test(test_rewrite_placeholders_skips_literals_identifiers_and_comments),
        cmocka_unit_test(test_rewrite_placeholders_refuses_more_than_the_limit),
        cmocka_unit_test(test_rewrite_placeholders_refuses_a_too_small_buffer),
        cmocka_unit_test(test_checkpoint_due_catches_up_near_the_writers_threshold),
        cmocka_unit_test(test_sqlite_open_sets_wal_full_sync_and_foreign_keys),
        cmocka_unit_test(test_sqlite_wal_reader_sees_committed_writes_after_its_snapshot),
        cmocka_unit_test(test_sqlite_failed_statement_keeps_the_transaction),
        cmocka_unit_test(test_sqlite_prepare_reuses_the_compiled_statement),
        cmocka_unit_test(test_sqlite_more_live_statements_than_the_cache_holds_all_work),
        cmocka_unit_test(test_sqlite_cached_select_star_sees_an_added_column),
    };
    const struct CMUnitTest pg_tests[] = {
        COMMON_TESTS,
        cmocka_unit_test(test_pg_commit_after_an_error_rolls_back_and_fails),
        cmocka_unit_test(test_pg_conflict_message_names_the_constraint),
        cmocka_unit_test(test_pg_open_sets_client_min_messages_to_warning),
        cmocka_unit_test(test_pg_boolean_result_reads_as_integer),
        cmocka_unit_test(test_pg_pool_replaces_a_connection_the_server_dropped),
    };
    bool pg = getenv("PITBOSS_TEST_PG") != NULL && getenv("PITBOSS_TEST_PG")[0] != '\0';
    if (!pg)
        printf("NOTE: PITBOSS_TEST_PG is unset: the PostgreSQL half of test_store is NOT run "
               "(its tests are reported as skipped).\n");
    int failed = cmocka_run_group_tests_name("store_sqlite", sqlite_tests, sqlite_group_setup,
                                             sqlite_group_teardown);
    failed +=
        cmocka_run_group_tests_name("store_postgres", pg_tests, pg_group_setup, pg_group_teardown);
    if (!pg)
        printf("NOTE: PostgreSQL half NOT run (set PITBOSS_TEST_PG to a libpq URL, e.g. from "
               "scripts/pg-test-server.sh start DIR).\n");
    return failed == 0 ? 0 : 1;
}
