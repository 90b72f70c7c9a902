/* test_core.c: the writer (group commit, savepoints, bounded queue) and the event outbox
 * (ordered delivery after commit, delivery after restart), on SQLite and, when
 * PITBOSS_TEST_PG names a server, on PostgreSQL. */
#include <pthread.h>
#include <semaphore.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "unit.h"

#include "base/base.h"
#include "core/outbox.h"
#include "core/writer.h"
#include "store/store.h"

static char db_url[600];

static void sleep_ms(int ms)
{
    nanosleep(&(struct timespec){ms / 1000, (long)(ms % 1000) * 1000000L}, NULL);
}

/* A fresh database: a new SQLite file, or a new PostgreSQL database. */
static void fresh_database(bool postgres)
{
    pbt_fresh_database(postgres, "pb_core", db_url, sizeof(db_url));
    pbt_migrate(db_url, outbox_migrations, outbox_migrations_count);
    struct store *s = pbt_open(db_url);
    assert_int_equal(store_exec(s, "CREATE TABLE t (k BIGINT PRIMARY KEY, v TEXT)"), 0);
    store_close(s);
}

static struct store *open_db(void)
{
    struct store *s;
    char err[256];
    assert_int_equal(store_open(db_url, &s, err, sizeof(err)), 0);
    return s;
}

static int64_t count_rows(const char *where)
{
    struct store *s = open_db();
    char sql[256];
    snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM t %s", where);
    struct store_stmt *st;
    assert_int_equal(store_prepare(s, sql, &st), 0);
    assert_int_equal(store_step(st), STORE_ROW);
    int64_t n = store_column_int64(st, 0);
    store_finalize(st);
    store_close(s);
    return n;
}

/* ---- test commands ---- */

struct test_cmd {
    struct writer_cmd cmd;
    int64_t key;
    int fail_with;      /* returned after the insert when non-zero */
    const char *event;  /* emitted when not NULL */
    bool rewound;       /* first emits two events and rewinds them (writer_emit_rewind) */
    char done_thread[16]; /* the name of the thread that ran done */
    sem_t *gate;        /* when set, run waits on it (holds the writer) */
    sem_t *done_sem;
};

static int test_run(struct store *tx, struct writer_cmd *cmd)
{
    struct test_cmd *c = (struct test_cmd *)cmd;
    if (c->gate)
        sem_wait(c->gate);
    if (c->key >= 0) {
        struct store_stmt *st;
        if (store_prepare(tx, "INSERT INTO t (k, v) VALUES (?, 'x')", &st) != 0)
            return PB_ERR_DB;
        store_bind_int64(st, 1, c->key);
        int rc = store_step(st);
        store_finalize(st);
        if (rc != STORE_DONE)
            return rc < 0 ? rc : PB_ERR_DB;
    }
    if (c->rewound) {
        int64_t mark = writer_emit_mark(cmd);
        for (int i = 0; i < 2; i++)
            if (writer_emit(tx, cmd, "test.dropped", "gone", "{\"n\":1}") != 0)
                return PB_ERR_DB;
        writer_emit_rewind(cmd, mark);
    }
    if (c->event) {
        char subject[32];
        snprintf(subject, sizeof(subject), "k%lld", (long long)c->key);
        int rc = writer_emit(tx, cmd, c->event, subject, "{\"n\":1}");
        if (rc != 0)
            return rc;
    }
    return c->fail_with;
}

static void test_done(struct writer_cmd *cmd)
{
    struct test_cmd *c = (struct test_cmd *)cmd;
    pthread_getname_np(pthread_self(), c->done_thread, sizeof(c->done_thread));
    sem_post(c->done_sem);
}

static void init_cmd(struct test_cmd *c, int64_t key, sem_t *done)
{
    memset(c, 0, sizeof(*c));
    c->cmd.run = test_run;
    c->cmd.done = test_done;
    c->key = key;
    c->done_sem = done;
}

static struct writer *start_writer(int batch_max, int queue_max, struct outbox *ob)
{
    struct writer_config cfg = {batch_max, 0, queue_max, db_url};
    struct writer *w;
    assert_int_equal(writer_start(&cfg, open_db(), ob, &w), 0);
    return w;
}

static void wait_all(sem_t *done, int n)
{
    for (int i = 0; i < n; i++) {
        struct timespec deadline;
        clock_gettime(CLOCK_REALTIME, &deadline);
        deadline.tv_sec += 30;
        assert_int_equal(sem_timedwait(done, &deadline), 0);
    }
}

/* ---- writer ---- */

static void commands_commit_and_complete(bool pg)
{
    fresh_database(pg);
    sem_t done;
    sem_init(&done, 0, 0);
    struct writer *w = start_writer(64, 1024, NULL);
    enum { N = 300 };
    struct test_cmd *cmds = calloc(N, sizeof(*cmds));
    for (int i = 0; i < N; i++) {
        init_cmd(&cmds[i], i, &done);
        assert_int_equal(writer_submit(w, &cmds[i].cmd), 0);
    }
    wait_all(&done, N);
    for (int i = 0; i < N; i++)
        assert_int_equal(cmds[i].cmd.status, 0);
    assert_int_equal(count_rows(""), N);
    struct writer_stats *st = writer_stats_of(w);
    assert_int_equal(atomic_load(&st->commands_total), N);
    assert_true(atomic_load(&st->batch_size.count) <= N);
    writer_stop(w);
    free(cmds);
    sem_destroy(&done);
}

/* On a SQLite file the WAL's fsync is pipelined: the syncer thread completes the commands
 * (after the fsync covering their batch); on PostgreSQL the writer does, after COMMIT. */
static void completion_waits_for_durability_on_its_thread(bool pg)
{
    fresh_database(pg);
    sem_t done;
    sem_init(&done, 0, 0);
    struct writer *w = start_writer(16, 1024, NULL);
    enum { N = 100 };
    struct test_cmd *cmds = calloc(N, sizeof(*cmds));
    for (int i = 0; i < N; i++) {
        init_cmd(&cmds[i], i, &done);
        if (i == 7)
            cmds[i].fail_with = PB_ERR_INVALID;
        assert_int_equal(writer_submit(w, &cmds[i].cmd), 0);
    }
    wait_all(&done, N);
    for (int i = 0; i < N; i++) {
        assert_int_equal(cmds[i].cmd.status, i == 7 ? PB_ERR_INVALID : 0);
        assert_string_equal(cmds[i].done_thread, pg ? "pb-writer" : "pb-syncer");
    }
    assert_int_equal(count_rows(""), N - 1);
    writer_stop(w);
    free(cmds);
    sem_destroy(&done);
    /* Only a file has a WAL to sync later: the store refuses otherwise. */
    struct store *s = open_db();
    int fd = 0;
    assert_int_equal(store_defer_sync(s, &fd), pg ? PB_ERR_INVALID : PB_OK);
    assert_true(pg ? fd == -1 : fd >= 0);
    if (fd >= 0)
        close(fd);
    store_close(s);
    char err[256];
    assert_int_equal(store_open("sqlite::memory:", &s, err, sizeof(err)), 0);
    assert_int_equal(store_defer_sync(s, &fd), PB_ERR_INVALID);
    store_close(s);
}

/* One failing command (an error it returns, or a constraint violation) is rolled back alone;
 * the other commands of its batch commit. */
static void failing_command_rolls_back_alone(bool pg)
{
    fresh_database(pg);
    sem_t done, gate;
    sem_init(&done, 0, 0);
    sem_init(&gate, 0, 0);
    struct writer *w = start_writer(64, 1024, NULL);
    struct test_cmd hold, a, b, dup, c;
    init_cmd(&hold, -1, &done);
    hold.gate = &gate;
    init_cmd(&a, 1, &done);
    init_cmd(&b, 2, &done);
    b.fail_with = PB_ERR_INVALID;
    init_cmd(&dup, 1, &done); /* the same key as a: unique violation */
    init_cmd(&c, 3, &done);
    assert_int_equal(writer_submit(w, &hold.cmd), 0);
    sleep_ms(50); /* hold is running: the rest queue up into one batch */
    struct test_cmd *rest[] = {&a, &b, &dup, &c};
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(writer_submit(w, &rest[i]->cmd), 0);
    sem_post(&gate);
    wait_all(&done, 5);
    assert_int_equal(a.cmd.status, 0);
    assert_int_equal(b.cmd.status, PB_ERR_INVALID);
    assert_int_equal(dup.cmd.status, PB_ERR_CONFLICT);
    assert_int_equal(c.cmd.status, 0);
    assert_int_equal(count_rows("WHERE k IN (1, 3)"), 2);
    assert_int_equal(count_rows("WHERE k = 2"), 0);
    assert_int_equal(count_rows(""), 2);
    writer_stop(w);
}

static void full_queue_is_refused(bool pg)
{
    fresh_database(pg);
    sem_t done, gate;
    sem_init(&done, 0, 0);
    sem_init(&gate, 0, 0);
    struct writer *w = start_writer(8, 2, NULL);
    struct test_cmd hold, q1, q2, over;
    init_cmd(&hold, -1, &done);
    hold.gate = &gate;
    init_cmd(&q1, 1, &done);
    init_cmd(&q2, 2, &done);
    init_cmd(&over, 3, &done);
    assert_int_equal(writer_submit(w, &hold.cmd), 0);
    sleep_ms(50);
    assert_int_equal(writer_submit(w, &q1.cmd), 0);
    assert_int_equal(writer_submit(w, &q2.cmd), 0);
    assert_int_equal(writer_submit(w, &over.cmd), PB_ERR_FULL);
    assert_int_equal(atomic_load(&writer_stats_of(w)->rejected_full_total), 1);
    sem_post(&gate);
    wait_all(&done, 3);
    assert_int_equal(count_rows(""), 2);
    writer_stop(w);
}

static void batches_respect_batch_max(bool pg)
{
    fresh_database(pg);
    sem_t done, gate;
    sem_init(&done, 0, 0);
    sem_init(&gate, 0, 0);
    struct writer *w = start_writer(4, 1024, NULL);
    struct test_cmd hold, cmds[10];
    init_cmd(&hold, -1, &done);
    hold.gate = &gate;
    assert_int_equal(writer_submit(w, &hold.cmd), 0);
    sleep_ms(50);
    for (int i = 0; i < 10; i++) {
        init_cmd(&cmds[i], i, &done);
        assert_int_equal(writer_submit(w, &cmds[i].cmd), 0);
    }
    sem_post(&gate);
    wait_all(&done, 11);
    struct pb_histogram *h = &writer_stats_of(w)->batch_size;
    /* hold alone, then 4 + 4 + 2: nothing above 4, and exactly 4 batches. */
    assert_int_equal(atomic_load(&h->count), 4);
    assert_int_equal(pb_histogram_quantile(h, 1.0), 4);
    writer_stop(w);
}

/* ---- outbox ---- */

struct seen {
    pthread_mutex_t lock;
    int n;
    int64_t seqs[64];
    char types[64][32];
    char subjects[64][32];
    /* When set, the first delivery posts entered and waits for release: the relay is held
     * inside a delivery while the test commits more. */
    sem_t *entered, *release;
};

static int seen_count(struct seen *s)
{
    pthread_mutex_lock(&s->lock);
    int n = s->n;
    pthread_mutex_unlock(&s->lock);
    return n;
}

static bool seen_first(struct seen *s)
{
    return seen_count(s) == 0;
}

static void record(const struct pb_event *ev, void *arg)
{
    struct seen *s = arg;
    if (s->entered && seen_first(s)) {
        sem_post(s->entered);
        sem_wait(s->release);
    }
    pthread_mutex_lock(&s->lock);
    assert_true(s->n < 64);
    s->seqs[s->n] = ev->seq;
    snprintf(s->types[s->n], 32, "%s", ev->type);
    snprintf(s->subjects[s->n], 32, "%s", ev->subject);
    assert_true(strncmp(ev->id, "test-", 5) == 0 && strlen(ev->id) == 25);
    assert_string_equal(ev->data, "{\"n\":1}");
    s->n++;
    pthread_mutex_unlock(&s->lock);
}


static void wait_seen(struct seen *s, int n)
{
    for (int i = 0; i < 1000 && seen_count(s) < n; i++)
        sleep_ms(10);
    assert_int_equal(seen_count(s), n);
}

/* A running node: outbox relay (optional), writer, readers. */
struct node {
    struct store_pool *readers;
    struct outbox *ob;
    struct writer *w;
};

static void node_start(struct node *n, struct seen *seen, bool relay)
{
    char err[256];
    assert_int_equal(store_pool_open(db_url, 2, &n->readers, err, sizeof(err)), 0);
    n->ob = outbox_new("test");
    outbox_subscribe(n->ob, "record", record, seen);
    n->w = start_writer(64, 1024, n->ob);
    if (relay)
        assert_int_equal(outbox_start(n->ob, n->readers, n->w), 0);
}

static void node_stop(struct node *n)
{
    outbox_stop(n->ob);
    writer_stop(n->w);
    outbox_free(n->ob);
    store_pool_close(n->readers);
}

static void emit_all(struct node *n, struct test_cmd *cmds, int count, int first_key)
{
    sem_t done;
    sem_init(&done, 0, 0);
    for (int i = 0; i < count; i++) {
        init_cmd(&cmds[i], first_key + i, &done);
        cmds[i].event = "test.happened";
        assert_int_equal(writer_submit(n->w, &cmds[i].cmd), 0);
    }
    wait_all(&done, count);
    sem_destroy(&done);
}

static void events_delivered_in_order_after_commit(bool pg)
{
    fresh_database(pg);
    struct seen seen = {.lock = PTHREAD_MUTEX_INITIALIZER};
    struct node n;
    node_start(&n, &seen, true);
    struct test_cmd cmds[6];
    sem_t done;
    sem_init(&done, 0, 0);
    for (int i = 0; i < 6; i++) {
        init_cmd(&cmds[i], i, &done);
        cmds[i].event = "test.happened";
        if (i == 2)
            cmds[i].fail_with = PB_ERR_INVALID; /* its event must vanish with it */
        assert_int_equal(writer_submit(n.w, &cmds[i].cmd), 0);
    }
    wait_all(&done, 6);
    wait_seen(&seen, 5);
    sleep_ms(100);
    assert_int_equal(seen_count(&seen), 5);
    const char *want[] = {"k0", "k1", "k3", "k4", "k5"};
    for (int i = 0; i < 5; i++) {
        assert_string_equal(seen.subjects[i], want[i]);
        assert_string_equal(seen.types[i], "test.happened");
        if (i > 0)
            assert_true(seen.seqs[i] == seen.seqs[i - 1] + 1); /* no gap left by the rollback */
    }
    node_stop(&n);
}

/* pitboss_events_read_total: delivered events the relay read back from the table. */
static long long events_read(struct outbox *ob)
{
    struct pb_buf m = PB_BUF_INIT;
    outbox_metrics(ob, &m);
    const char *at = strstr(pb_buf_str(&m), "\npitboss_events_read_total ");
    assert_non_null(at);
    long long v = strtoll(at + strlen("\npitboss_events_read_total "), NULL, 10);
    pb_buf_release(&m);
    return v;
}

static void assert_dense(struct seen *seen, int n)
{
    for (int i = 0; i < n; i++)
        assert_true(seen->seqs[i] == i + 1); /* each once, in order, from the first */
}

/* With the relay running, committed events reach it in memory: none is read back. */
static void events_reach_the_relay_in_memory(bool pg)
{
    fresh_database(pg);
    struct seen seen = {.lock = PTHREAD_MUTEX_INITIALIZER};
    struct node n;
    struct test_cmd cmds[8];
    node_start(&n, &seen, true);
    emit_all(&n, cmds, 8, 0);
    wait_seen(&seen, 8);
    assert_dense(&seen, 8);
    assert_int_equal(events_read(n.ob), 0);
    node_stop(&n);
}

/* Events past the memory bound are dropped from memory, not lost: the relay reads what does
 * not follow on from the table, then takes memory again. The relay is held inside its first
 * delivery while the test commits, so what memory holds at its next turn is known. */
static void events_beyond_memory_are_read_from_the_table(bool pg)
{
    sem_t entered, release;
    sem_init(&entered, 0, 0);
    sem_init(&release, 0, 0);
    struct test_cmd cmds[5];
    struct node n;
    for (int round = 0; round < 2; round++) {
        fresh_database(pg);
        struct seen seen = {.entered = &entered, .release = &release};
        pthread_mutex_init(&seen.lock, NULL);
        node_start(&n, &seen, true);
        if (round == 0) {
            /* Memory holds a few after the first: it continues, then the table. */
            emit_all(&n, cmds, 1, 0);
            sem_wait(&entered);
            outbox__memory_limit(n.ob, 3, 1 << 20);
            for (int i = 0; i < 5; i++) /* one a batch: three kept, two dropped */
                emit_all(&n, &cmds[i], 1, 1 + i);
        } else {
            /* Memory starts past the cursor: the table fills the gap, memory is not
             * delivered twice. */
            outbox__memory_limit(n.ob, 0, 0);
            emit_all(&n, cmds, 1, 0); /* read from the table, up to seq 1 */
            sem_wait(&entered);
            emit_all(&n, cmds, 2, 1); /* dropped */
            outbox__memory_limit(n.ob, 100, 1 << 20);
            emit_all(&n, cmds, 3, 3); /* held: seqs 4..6 */
        }
        sem_post(&release);
        wait_seen(&seen, 6);
        sleep_ms(100);
        assert_int_equal(seen_count(&seen), 6);
        assert_dense(&seen, 6);
        assert_string_equal(seen.subjects[5], "k5");
        long long read = events_read(n.ob);
        if (round == 0)
            assert_int_equal(read, 2);
        else
            assert_int_equal(read, 6);
        emit_all(&n, cmds, 1, 10);
        wait_seen(&seen, 7);
        assert_int_equal(events_read(n.ob), read); /* memory again */
        node_stop(&n);
    }
    sem_destroy(&entered);
    sem_destroy(&release);
}

/* Events rewound inside a command (a rolled-back group of the ledger) are never written, and
 * an event whose text is not UTF-8 fails its own command only; seqs stay dense. */
static void rewound_and_malformed_events_are_not_written(bool pg)
{
    fresh_database(pg);
    struct seen seen = {.lock = PTHREAD_MUTEX_INITIALIZER};
    struct node n;
    node_start(&n, &seen, true);
    struct test_cmd cmds[4];
    sem_t done;
    sem_init(&done, 0, 0);
    for (int i = 0; i < 4; i++) {
        init_cmd(&cmds[i], i, &done);
        cmds[i].event = "test.happened";
    }
    cmds[1].rewound = true;
    cmds[2].event = "test.\xc3\x28"; /* an invalid two-byte sequence */
    for (int i = 0; i < 4; i++)
        assert_int_equal(writer_submit(n.w, &cmds[i].cmd), 0);
    wait_all(&done, 4);
    assert_int_equal(cmds[1].cmd.status, 0);
    assert_int_equal(cmds[2].cmd.status, PB_ERR_INVALID);
    assert_int_equal(cmds[3].cmd.status, 0);
    wait_seen(&seen, 3);
    sleep_ms(100);
    assert_int_equal(seen_count(&seen), 3);
    const char *want[] = {"k0", "k1", "k3"};
    for (int i = 0; i < 3; i++) {
        assert_string_equal(seen.subjects[i], want[i]);
        assert_string_equal(seen.types[i], "test.happened");
        if (i > 0)
            assert_true(seen.seqs[i] == seen.seqs[i - 1] + 1);
    }
    assert_int_equal(count_rows("WHERE k = 2"), 0);
    node_stop(&n);
}

/* Events committed while nothing delivered them (a crash between commit and delivery) are
 * delivered by the next start; delivered ones are not delivered again. */
static void undelivered_events_delivered_after_restart(bool pg)
{
    fresh_database(pg);
    struct seen seen = {.lock = PTHREAD_MUTEX_INITIALIZER};
    struct node n;
    struct test_cmd cmds[5];
    node_start(&n, &seen, false); /* no relay: events stay undelivered */
    emit_all(&n, cmds, 5, 0);
    node_stop(&n);
    assert_int_equal(seen_count(&seen), 0);

    node_start(&n, &seen, true);
    wait_seen(&seen, 5);
    node_stop(&n);

    node_start(&n, &seen, true);
    sleep_ms(300);
    assert_int_equal(seen_count(&seen), 5); /* nothing twice after a clean stop */
    emit_all(&n, cmds, 1, 100);
    wait_seen(&seen, 6);
    assert_string_equal(seen.subjects[5], "k100");
    assert_true(seen.seqs[5] == seen.seqs[4] + 1);
    node_stop(&n);
}

/* The write connection to PostgreSQL is killed server-side: the batch in flight fails, the
 * writer reconnects, and later commands commit. */
static void test_postgres_writer_reconnects_after_connection_loss(void **state)
{
    (void)state;
    if (!getenv("PITBOSS_TEST_PG")) {
        printf("# PITBOSS_TEST_PG is not set: the PostgreSQL test was not run\n");
        skip();
    }
    fresh_database(true);
    sem_t done;
    sem_init(&done, 0, 0);
    struct writer *w = start_writer(8, 64, NULL);
    struct test_cmd first, second, third;
    init_cmd(&first, 1, &done);
    assert_int_equal(writer_submit(w, &first.cmd), 0);
    wait_all(&done, 1);
    assert_int_equal(first.cmd.status, 0);
    /* Kill every other backend of this database: the writer's connection among them. */
    struct store *admin = open_db();
    assert_int_equal(store_exec(admin, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                                       " WHERE datname = current_database()"
                                       " AND pid <> pg_backend_pid()"), 0);
    store_close(admin);
    init_cmd(&second, 2, &done);
    assert_int_equal(writer_submit(w, &second.cmd), 0);
    wait_all(&done, 1);
    assert_int_equal(second.cmd.status, PB_ERR_DB);
    init_cmd(&third, 3, &done);
    assert_int_equal(writer_submit(w, &third.cmd), 0);
    wait_all(&done, 1);
    assert_int_equal(third.cmd.status, 0);
    assert_int_equal(atomic_load(&writer_stats_of(w)->reconnects_total), 1);
    assert_int_equal(count_rows("WHERE k IN (1, 3)"), 2);
    assert_int_equal(count_rows(""), 2);
    writer_stop(w);
}

#define BOTH PBT_BOTH

BOTH(commands_commit_and_complete)
BOTH(failing_command_rolls_back_alone)
BOTH(completion_waits_for_durability_on_its_thread)
BOTH(full_queue_is_refused)
BOTH(batches_respect_batch_max)
BOTH(events_delivered_in_order_after_commit)
BOTH(rewound_and_malformed_events_are_not_written)
BOTH(undelivered_events_delivered_after_restart)
BOTH(events_reach_the_relay_in_memory)
BOTH(events_beyond_memory_are_read_from_the_table)

#define PAIR PBT_PAIR

int main(void)
{
    const struct CMUnitTest tests[] = {
        PAIR(commands_commit_and_complete),
        PAIR(failing_command_rolls_back_alone),
        PAIR(completion_waits_for_durability_on_its_thread),
        PAIR(full_queue_is_refused),
        PAIR(batches_respect_batch_max),
        PAIR(events_delivered_in_order_after_commit),
        PAIR(rewound_and_malformed_events_are_not_written),
        PAIR(undelivered_events_delivered_after_restart),
        PAIR(events_reach_the_relay_in_memory),
        PAIR(events_beyond_memory_are_read_from_the_table),
        cmocka_unit_test(test_postgres_writer_reconnects_after_connection_loss),
    };
    return cmocka_run_group_tests_name("unit.core", tests, NULL, NULL);
}
