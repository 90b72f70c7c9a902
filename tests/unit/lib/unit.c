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
