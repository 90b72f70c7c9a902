/* unit.c: shared unit-test helpers (unit.h). */
#include "unit.h"

#include <semaphore.h>
#include <setjmp.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <libpq-fe.h>

#include "base/base.h"
#include "core/outbox.h"
#include "ledger/ledger.h"

void pbt_fresh_database(bool postgres, const char *prefix, char *url, size_t len)
{
    static int counter;
    char name[96];
    snprintf(name, sizeof(name), "%s_%d_%d", prefix, (int)getpid(), ++counter);
    if (postgres) {
        const char *base = getenv("PITBOSS_TEST_PG");
        assert_non_null(base);
        PGconn *c = PQconnectdb(base);
        assert_int_equal(PQstatus(c), CONNECTION_OK);
        char sql[160];
        snprintf(sql, sizeof(sql), "CREATE DATABASE %s", name);
        PGresult *r = PQexec(c, sql);
        assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
        PQclear(r);
        PQfinish(c);
        const char *slash = strrchr(base, '/');
        assert_non_null(slash);
        snprintf(url, len, "%.*s/%s", (int)(slash - base), base, name);
    } else {
        const char *tmp = getenv("PITBOSS_TEST_TMP");
        char dir[400];
        snprintf(dir, sizeof(dir), "%s", tmp && tmp[0] ? tmp : "/tmp");
        mkdir(dir, 0755);
        snprintf(url, len, "sqlite:%s/%s.db", dir, name);
    }
}

struct store *pbt_open(const char *url)
{
    struct store *s;
    char err[256];
    if (store_open(url, &s, err, sizeof(err)) != 0)
        fail_msg("cannot open %s: %s", url, err);
    return s;
}

void pbt_migrate(const char *url, const struct store_migration *list, size_t count)
{
    struct store *s = pbt_open(url);
    assert_int_equal(store_migrate(s, list, count, NULL), 0);
    store_close(s);
}

struct writer *pbt_start_writer(const char *url, const struct writer_participant *p)
{
    struct writer_config cfg = {64, 0, 1024, url, {{0}}, 0};
    if (p) {
        cfg.participants[0] = *p;
        cfg.nparticipants = 1;
    }
    struct writer *w;
    assert_int_equal(writer_start(&cfg, pbt_open(url), NULL, &w), 0);
    return w;
}

struct step_cmd {
    struct writer_cmd cmd;
    pbt_step_fn fn;
    void *arg;
    sem_t done;
};

static int step_run(struct store *tx, struct writer_cmd *cmd)
{
    struct step_cmd *c = (struct step_cmd *)cmd;
    return c->fn(tx, c->arg);
}

static void step_done(struct writer_cmd *cmd)
{
    sem_post(&((struct step_cmd *)cmd)->done);
}

int pbt_run(struct writer *w, pbt_step_fn fn, void *arg)
{
    struct step_cmd c = {.cmd = {.run = step_run, .done = step_done}, .fn = fn, .arg = arg};
    sem_init(&c.done, 0, 0);
    assert_int_equal(writer_submit(w, &c.cmd), 0);
    sem_wait(&c.done);
    sem_destroy(&c.done);
    return c.cmd.status;
}

void pbt_ledger_start(struct pbt_ledger_db *db, bool postgres, const char *prefix,
                      const struct pbt_schema *extra, size_t n)
{
    pbt_fresh_database(postgres, prefix, db->url, sizeof(db->url));
    pbt_migrate(db->url, outbox_migrations, outbox_migrations_count);
    pbt_migrate(db->url, ledger_migrations, ledger_migrations_count);
    for (size_t i = 0; i < n; i++)
        pbt_migrate(db->url, extra[i].list, extra[i].count);
    db->lg = ledger_new();
    assert_non_null(db->lg);
    struct writer_participant p = ledger_participant(db->lg);
    db->w = pbt_start_writer(db->url, &p);
    db->rd = pbt_open(db->url);
}

struct fund_args {
    struct ledger *lg;
    const char *player;
    int64_t amount;
};

static int fund_step(struct store *tx, void *arg)
{
    struct fund_args *a = arg;
    int64_t ids[3], adj;
    if (ledger_open_player_accounts(a->lg, tx, a->player, "EUR", ids) != PB_OK ||
        ledger_open_account(a->lg, tx, "house", LEDGER_ACC_ADJUSTMENTS, "EUR", &adj) != PB_OK)
        return PB_ERR_DB;
    if (a->amount <= 0)
        return PB_OK;
    struct ledger_transfer t = {.kind = LEDGER_POSTED,
                                .debit_account = adj,
                                .credit_account = ids[0],
                                .amount = a->amount,
                                .code = LEDGER_TX_DEPOSIT,
                                .reference = "test:funds"};
    struct ledger_outcome out;
    int rc = ledger_apply(a->lg, tx, NULL, NULL, &t, 1, &out);
    return rc == PB_OK && out.error == LEDGER_OK ? PB_OK : PB_ERR_DB;
}

void pbt_ledger_fund(struct pbt_ledger_db *db, const char *player, int64_t amount)
{
    struct fund_args a = {db->lg, player, amount};
    assert_int_equal(pbt_run(db->w, fund_step, &a), 0);
}

int64_t pbt_cash(const struct pbt_ledger_db *db, const char *player)
{
    char owner[80];
    snprintf(owner, sizeof(owner), "player:%s", player);
    struct ledger_account acc[8];
    size_t n;
    assert_int_equal(ledger_balances(db->rd, owner, acc, 8, &n), 0);
    for (size_t i = 0; i < n; i++)
        if (acc[i].code == LEDGER_ACC_PLAYER_CASH)
            return ledger_posted_balance(&acc[i]);
    fail_msg("no cash account for %s", player);
    return -1;
}

void pbt_ledger_stop(struct pbt_ledger_db *db)
{
    struct pb_buf report = PB_BUF_INIT;
    int rc = ledger_verify(db->rd, &report);
    if (rc != PB_OK)
        fail_msg("ledger verify: %s", report.data);
    pb_buf_release(&report);
    store_close(db->rd);
    writer_stop(db->w);
    ledger_free(db->lg);
    memset(db, 0, sizeof(*db));
}
