/* writer.c: the single writer with group commit (writer.h). */
#include "core/writer.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>
#include <pthread.h>
#include <stdbool.h>
#include <time.h>

#include "base/base.h"
#include "base/limits.h"
#include "base/log.h"
#include "core/outbox.h"
#include "store/store.h"

struct writer {
    struct writer_config cfg;
    struct store *tx;
    struct outbox *outbox;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t nonempty;
    struct writer_cmd *head, *tail; /* the queue, guarded by lock */
    int count;
    bool stopping;
    struct writer_stats stats;
    /* Pipelined durability (SQLite, store_defer_sync): the writer commits batch N without
     * waiting for the WAL's fsync and runs batch N+1 while the syncer thread fsyncs and then
     * completes N's commands. sync_fd is -1 when commits are synchronous (the writer
     * completes its commands itself). */
    int sync_fd;
    pthread_t syncer;
    pthread_mutex_t sync_lock;
    pthread_cond_t sync_wake;
    struct writer_cmd *sync_head, *sync_tail; /* committed or failed, not yet completed */
    int64_t sync_events_seq; /* the outbox's committed seq when the queued batches ended */
    bool sync_stop;
};

int writer_submit(struct writer *w, struct writer_cmd *cmd)
{
    PB_ASSERT(cmd->run && cmd->done);
    cmd->writer = w;
    cmd->next = NULL;
    cmd->submitted_ns = pb_mono_ns();
    pthread_mutex_lock(&w->lock);
    int rc = PB_OK;
    if (w->stopping) {
        rc = PB_ERR_CLOSED;
    } else if (w->count >= w->cfg.queue_max) {
        rc = PB_ERR_FULL;
    } else {
        if (w->tail)
            w->tail->next = cmd;
        else
            w->head = cmd;
        w->tail = cmd;
        w->count++;
        atomic_store_explicit(&w->stats.queue_depth, w->count, memory_order_relaxed);
        if (w->count == 1)
            pthread_cond_signal(&w->nonempty);
    }
    pthread_mutex_unlock(&w->lock);
    if (rc == PB_ERR_FULL)
        atomic_fetch_add_explicit(&w->stats.rejected_full_total, 1, memory_order_relaxed);
    return rc;
}

/* Moves up to max commands from the queue to the batch list. Called with lock held. */
static int take(struct writer *w, struct writer_cmd **first, struct writer_cmd **last, int max)
{
    int n = 0;
    while (w->head && n < max) {
        struct writer_cmd *c = w->head;
        w->head = c->next;
        if (!w->head)
            w->tail = NULL;
        c->next = NULL;
        if (*last)
            (*last)->next = c;
        else
            *first = c;
        *last = c;
        n++;
    }
    w->count -= n;
    atomic_store_explicit(&w->stats.queue_depth, w->count, memory_order_relaxed);
    return n;
}

/* Waits for the next batch; returns its size, 0 when stopping with an empty queue. */
static int next_batch(struct writer *w, struct writer_cmd **first)
{
    struct writer_cmd *last = NULL;
    *first = NULL;
    pthread_mutex_lock(&w->lock);
    while (w->count == 0 && !w->stopping)
        pthread_cond_wait(&w->nonempty, &w->lock);
    int n = take(w, first, &last, w->cfg.batch_max);
    if (n > 0 && n < w->cfg.batch_max && w->cfg.wait_us > 0 && !w->stopping) {
        struct timespec deadline;
        clock_gettime(CLOCK_REALTIME, &deadline);
        deadline.tv_nsec += (long)w->cfg.wait_us * 1000;
        deadline.tv_sec += deadline.tv_nsec / 1000000000;
        deadline.tv_nsec %= 1000000000;
        while (n < w->cfg.batch_max) {
            if (w->count == 0 &&
                pthread_cond_timedwait(&w->nonempty, &w->lock, &deadline) == ETIMEDOUT)
                break;
            n += take(w, first, &last, w->cfg.batch_max - n);
        }
    }
    pthread_mutex_unlock(&w->lock);
    return n;
}

#define EACH_PARTICIPANT(w, p)                                                                 \
    for (const struct writer_participant *p = (w)->cfg.participants;                          \
         p < (w)->cfg.participants + (w)->cfg.nparticipants; p++)

static int run_one(struct writer *w, struct writer_cmd *cmd)
{
    if (store_savepoint(w->tx, "cmd") != PB_OK)
        return PB_ERR_DB;
    EACH_PARTICIPANT(w, p) if (p->command_begin) p->command_begin(p->arg);
    int status = cmd->run(w->tx, cmd);
    PB_ASSERT(status <= 0);
    if (status == PB_OK && store_release(w->tx, "cmd") == PB_OK) {
        EACH_PARTICIPANT(w, p) if (p->command_end) p->command_end(true, p->arg);
        return PB_OK;
    }
    if (status == PB_OK)
        status = PB_ERR_DB;
    /* Undo this command only; the batch goes on. */
    if (store_rollback_to(w->tx, "cmd") != PB_OK || store_release(w->tx, "cmd") != PB_OK)
        pb_log(PB_LOG_ERROR, "writer savepoint rollback failed", "\"error\":\"%s\"",
               store_errmsg(w->tx));
    EACH_PARTICIPANT(w, p) if (p->command_end) p->command_end(false, p->arg);
    return status;
}

static int before_commit(struct writer *w)
{
    EACH_PARTICIPANT(w, p) {
        if (p->before_commit && p->before_commit(w->tx, p->arg) != PB_OK)
            return PB_ERR_DB;
    }
    return PB_OK;
}

static int load_participants(struct writer *w)
{
    EACH_PARTICIPANT(w, p) {
        if (p->load && p->load(w->tx, p->arg) != PB_OK)
            return PB_ERR_DB;
    }
    return PB_OK;
}

static bool run_batch(struct writer *w, struct writer_cmd *first, int n)
{
    bool committed = false;
    if (store_begin(w->tx) != PB_OK) {
        pb_log(PB_LOG_ERROR, "writer begin failed", "\"error\":\"%s\"", store_errmsg(w->tx));
        for (struct writer_cmd *c = first; c; c = c->next)
            c->status = PB_ERR_DB;
        return false;
    }
    for (struct writer_cmd *c = first; c; c = c->next) {
        c->status = run_one(w, c);
        if (c->status != PB_OK)
            atomic_fetch_add_explicit(&w->stats.commands_failed_total, 1, memory_order_relaxed);
    }
    uint64_t t0 = pb_mono_ns();
    if (before_commit(w) == PB_OK && store_commit(w->tx) == PB_OK) {
        committed = true;
    } else {
        pb_log(PB_LOG_ERROR, "writer commit failed", "\"error\":\"%s\",\"commands\":%d",
               store_errmsg(w->tx), n);
        store_rollback(w->tx);
        atomic_fetch_add_explicit(&w->stats.commit_failures_total, 1, memory_order_relaxed);
        for (struct writer_cmd *c = first; c; c = c->next)
            c->status = PB_ERR_DB;
    }
    pb_histogram_observe(&w->stats.commit_latency, pb_mono_ns() - t0);
    pb_histogram_observe(&w->stats.batch_size, (uint64_t)n);
    return committed;
}

static bool stopping(struct writer *w)
{
    pthread_mutex_lock(&w->lock);
    bool s = w->stopping;
    pthread_mutex_unlock(&w->lock);
    return s;
}

/* The connection broke (the database server restarted or the network failed): reopen it,
 * once a second, until it works or the writer stops. Commands queued meanwhile wait; callers
 * beyond the queue's bound get PB_ERR_FULL. */
static void reconnect(struct writer *w)
{
    char err[256];
    pb_log(PB_LOG_ERROR, "writer connection lost; reconnecting", NULL);
    for (int attempt = 1; !stopping(w); attempt++) {
        struct store *fresh;
        if (store_open(w->cfg.url, &fresh, err, sizeof(err)) == PB_OK) {
            store_close(w->tx);
            w->tx = fresh;
            if (load_participants(w) == PB_OK) {
                atomic_fetch_add(&w->stats.reconnects_total, 1);
                pb_log(PB_LOG_INFO, "writer reconnected", "\"attempts\":%d", attempt);
                return;
            }
        }
        nanosleep(&(struct timespec){1, 0}, NULL);
    }
}

/* Completes the commands of list (submit-to-done latency). */
static void complete(struct writer *w, struct writer_cmd *list)
{
    uint64_t now = pb_mono_ns();
    for (struct writer_cmd *c = list, *next; c; c = next) {
        next = c->next; /* done may free c */
        pb_histogram_observe(&w->stats.command_latency, now - c->submitted_ns);
        c->done(c);
    }
}

/* The syncer: takes every batch the writer has finished, makes them durable with one
 * fdatasync of the WAL (it covers every COMMIT that returned before it), then completes
 * their commands. A failed fsync leaves the file's state unknown: the process stops. */
static void *syncer_main(void *arg)
{
    struct writer *w = arg;
    for (;;) {
        pthread_mutex_lock(&w->sync_lock);
        while (!w->sync_head && !w->sync_stop)
            pthread_cond_wait(&w->sync_wake, &w->sync_lock);
        struct writer_cmd *list = w->sync_head;
        w->sync_head = w->sync_tail = NULL;
        int64_t events_seq = w->sync_events_seq;
        bool stop = w->sync_stop;
        pthread_mutex_unlock(&w->sync_lock);
        if (!list && stop)
            break;
        uint64_t t0 = pb_mono_ns();
        int synced = fdatasync(w->sync_fd);
        pb_histogram_observe(&w->stats.sync_latency, pb_mono_ns() - t0);
        if (synced != 0) {
            pb_log(PB_LOG_ERROR, "writer cannot fsync the WAL; stopping", "\"errno\":%d", errno);
            abort();
        }
        if (w->outbox)
            outbox__durable(w->outbox, events_seq); /* events reach the world once durable */
        complete(w, list);
    }
    return NULL;
}

/* Hands a finished batch to the syncer (pipelined) or completes it now (synchronous). */
static void finish_batch(struct writer *w, struct writer_cmd *batch)
{
    int64_t events_seq = w->outbox ? outbox__committed(w->outbox) : 0;
    if (w->sync_fd < 0) {
        if (w->outbox)
            outbox__durable(w->outbox, events_seq);
        complete(w, batch);
        return;
    }
    struct writer_cmd *last = batch;
    while (last->next)
        last = last->next;
    pthread_mutex_lock(&w->sync_lock);
    if (w->sync_tail)
        w->sync_tail->next = batch;
    else
        w->sync_head = batch;
    w->sync_tail = last;
    w->sync_events_seq = events_seq;
    pthread_cond_signal(&w->sync_wake);
    pthread_mutex_unlock(&w->sync_lock);
}

static void start_syncer(struct writer *w)
{
    int fd;
    if (store_defer_sync(w->tx, &fd) != PB_OK)
        return; /* PostgreSQL, an in-memory database: synchronous commits */
    w->sync_fd = fd;
    if (pthread_create(&w->syncer, NULL, syncer_main, w) != 0) {
        pb_log(PB_LOG_ERROR, "writer cannot start its syncer thread", NULL);
        abort(); /* the connection no longer syncs on commit: never run without it */
    }
    pthread_setname_np(w->syncer, "pb-syncer");
}

static void stop_syncer(struct writer *w)
{
    if (w->sync_fd < 0)
        return;
    pthread_mutex_lock(&w->sync_lock);
    w->sync_stop = true;
    pthread_cond_signal(&w->sync_wake);
    pthread_mutex_unlock(&w->sync_lock);
    pthread_join(w->syncer, NULL);
    close(w->sync_fd);
    w->sync_fd = -1;
}

static void *writer_main(void *arg)
{
    struct writer *w = arg;
    start_syncer(w);
    if (load_participants(w) != PB_OK)
        pb_log(PB_LOG_ERROR, "writer cannot load its state", "\"error\":\"%s\"",
               store_errmsg(w->tx));
    for (;;) {
        struct writer_cmd *batch;
        int n = next_batch(w, &batch);
        if (n == 0)
            break;
        bool committed = run_batch(w, batch, n);
        EACH_PARTICIPANT(w, p) if (p->batch_end) p->batch_end(committed, p->arg);
        if (!committed && w->cfg.url && store_broken(w->tx))
            reconnect(w);
        atomic_fetch_add_explicit(&w->stats.commands_total, (uint64_t)n, memory_order_relaxed);
        finish_batch(w, batch);
    }
    stop_syncer(w); /* completes what is still waiting for its fsync */
    return NULL;
}

int writer_start(const struct writer_config *cfg, struct store *tx, struct outbox *outbox,
                 struct writer **out)
{
    PB_ASSERT(cfg->batch_max >= 1 && cfg->queue_max >= 1 && cfg->wait_us >= 0);
    struct writer *w = pb_calloc(1, sizeof(*w));
    w->cfg = *cfg;
    w->tx = tx;
    w->outbox = outbox;
    if (outbox) {
        PB_ASSERT(w->cfg.nparticipants < WRITER_PARTICIPANTS_MAX);
        /* First, so its state is loaded before modules that emit events. */
        memmove(&w->cfg.participants[1], &w->cfg.participants[0],
                sizeof(w->cfg.participants[0]) * (size_t)w->cfg.nparticipants);
        w->cfg.participants[0] = outbox_participant(outbox);
        w->cfg.nparticipants++;
    }
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->nonempty, NULL);
    w->sync_fd = -1;
    pthread_mutex_init(&w->sync_lock, NULL);
    pthread_cond_init(&w->sync_wake, NULL);
    pb_histogram_init_size(&w->stats.batch_size);
    pb_histogram_init_latency(&w->stats.commit_latency);
    pb_histogram_init_latency(&w->stats.sync_latency);
    pb_histogram_init_latency(&w->stats.command_latency);
    if (pthread_create(&w->thread, NULL, writer_main, w) != 0) {
        pb_free(w);
        return PB_ERR_IO;
    }
    pthread_setname_np(w->thread, "pb-writer");
    *out = w;
    return PB_OK;
}

void writer_stop(struct writer *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->lock);
    w->stopping = true;
    pthread_cond_signal(&w->nonempty);
    pthread_mutex_unlock(&w->lock);
    pthread_join(w->thread, NULL);
    PB_ASSERT(w->count == 0);
    store_close(w->tx);
    pthread_mutex_destroy(&w->lock);
    pthread_cond_destroy(&w->nonempty);
    pthread_mutex_destroy(&w->sync_lock);
    pthread_cond_destroy(&w->sync_wake);
    pb_free(w);
}

int writer_emit(struct store *tx, struct writer_cmd *cmd, const char *type, const char *subject,
                const char *data_json)
{
    struct writer *w = cmd->writer;
    PB_ASSERT(w && w->outbox && tx == w->tx);
    return outbox__insert(w->outbox, tx, type, subject, data_json);
}

int64_t writer_emit_mark(struct writer_cmd *cmd)
{
    struct writer *w = cmd->writer;
    PB_ASSERT(w != NULL);
    return w->outbox ? outbox__mark(w->outbox) : 0;
}

void writer_emit_rewind(struct writer_cmd *cmd, int64_t mark)
{
    struct writer *w = cmd->writer;
    PB_ASSERT(w != NULL);
    if (w->outbox)
        outbox__rewind(w->outbox, mark);
}

struct writer_stats *writer_stats_of(struct writer *w)
{
    return &w->stats;
}

void writer_metrics(struct writer *w, struct pb_buf *out)
{
    struct writer_stats *s = &w->stats;
    pb_metric_type(out, "pitboss_writer_batch_size", "histogram");
    pb_histogram_render(&s->batch_size, "pitboss_writer_batch_size", "", out);
    pb_metric_type(out, "pitboss_writer_commit_seconds", "histogram");
    pb_histogram_render(&s->commit_latency, "pitboss_writer_commit_seconds", "", out);
    pb_metric_type(out, "pitboss_writer_sync_seconds", "histogram");
    pb_histogram_render(&s->sync_latency, "pitboss_writer_sync_seconds", "", out);
    pb_metric_type(out, "pitboss_writer_command_seconds", "histogram");
    pb_histogram_render(&s->command_latency, "pitboss_writer_command_seconds", "", out);
    pb_buf_printf(out,
                  "# TYPE pitboss_writer_commands_total counter\n"
                  "pitboss_writer_commands_total %llu\n"
                  "# TYPE pitboss_writer_commands_failed_total counter\n"
                  "pitboss_writer_commands_failed_total %llu\n"
                  "# TYPE pitboss_writer_commit_failures_total counter\n"
                  "pitboss_writer_commit_failures_total %llu\n"
                  "# TYPE pitboss_writer_rejected_full_total counter\n"
                  "pitboss_writer_rejected_full_total %llu\n"
                  "# TYPE pitboss_writer_queue_depth gauge\n"
                  "pitboss_writer_queue_depth %lld\n"
                  "# TYPE pitboss_writer_reconnects_total counter\n"
                  "pitboss_writer_reconnects_total %llu\n",
                  (unsigned long long)atomic_load(&s->commands_total),
                  (unsigned long long)atomic_load(&s->commands_failed_total),
                  (unsigned long long)atomic_load(&s->commit_failures_total),
                  (unsigned long long)atomic_load(&s->rejected_full_total),
                  (long long)atomic_load(&s->queue_depth),
                  (unsigned long long)atomic_load(&s->reconnects_total));
}
