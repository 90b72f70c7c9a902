/* outbox.c: the event outbox and its relay thread (outbox.h). */
#include "core/outbox.h"

#include <pthread.h>
#include <stdio.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "base/base.h"
#include "base/limits.h"
#include "base/log.h"
#include "core/writer.h"

#define OUTBOX_SUBSCRIBERS_MAX 16
#define OUTBOX_IDLE_POLL_MS 1000 /* the relay looks anyway this often (missed wake-ups) */
#define OUTBOX_CURSOR_INTERVAL_MS 200 /* delivery progress is recorded at most this often */

const struct store_migration outbox_migrations[] = {
    {"core", 1, "outbox",
     "CREATE TABLE outbox (node TEXT NOT NULL, seq BIGINT NOT NULL, id TEXT NOT NULL UNIQUE,"
     " type TEXT NOT NULL, time_ms BIGINT NOT NULL, subject TEXT NOT NULL, data TEXT NOT NULL,"
     " PRIMARY KEY (node, seq));"
     "CREATE TABLE outbox_cursor (node TEXT PRIMARY KEY, seq BIGINT NOT NULL);",
     NULL},
};
const size_t outbox_migrations_count = PB_ARRAY_LEN(outbox_migrations);

struct subscriber {
    const char *name;
    outbox_subscriber_fn fn;
    void *arg;
};

struct cursor_cmd {
    struct writer_cmd cmd;
    struct outbox *ob;
    int64_t seq;
};

/* An event emitted in the open batch: the row it becomes at the batch's end. type, subject
 * and data share one allocation, which type points to. */
struct queued_event {
    int64_t seq, time_ms;
    char *type, *subject, *data;
    size_t size; /* bytes of the allocation */
};

/* A committed batch's events handed to the relay in memory (outbox.h, "Relay"). */
struct memory_batch {
    struct memory_batch *next;
    size_t n, bytes;
    struct queued_event ev[];
};

struct outbox {
    char node[33]; /* config node names are at most 31 bytes */
    struct subscriber subs[OUTBOX_SUBSCRIBERS_MAX];
    size_t nsubs;
    /* Writer thread only. */
    struct queued_event *queued; /* events of the open batch, written before its COMMIT */
    size_t nqueued, queued_cap;
    int64_t next_seq;
    int64_t batch_start_seq;
    int64_t command_start_seq;
    /* Relay. */
    struct store_pool *readers;
    struct writer *writer;
    pthread_t thread;
    bool started;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    bool pending;  /* guarded by lock: a batch with events committed since the last look */
    bool stopping; /* guarded by lock */
    /* Committed batches handed over in memory, oldest first; guarded by lock. */
    struct memory_batch *memory_head, *memory_tail;
    size_t memory_events, memory_bytes;
    size_t memory_events_max, memory_bytes_max;
    atomic_bool relay_running; /* between outbox_start and the relay's end: hand over */
    bool cursor_loaded;          /* relay thread only */
    int64_t delivered_seq;       /* relay thread only */
    uint64_t cursor_submitted_ns; /* relay thread only */
    struct cursor_cmd cursor;    /* owned by the relay; in flight while cursor_busy */
    atomic_bool cursor_busy;
    _Atomic uint64_t delivered_total;
    _Atomic uint64_t read_total; /* delivered events read back from the outbox table */
    _Atomic int64_t committed_seq; /* highest committed seq, for the lag gauge */
    _Atomic int64_t durable_seq;   /* highest seq the relay may deliver (outbox__durable) */
};

struct outbox *outbox_new(const char *node)
{
    struct outbox *ob = pb_calloc(1, sizeof(*ob));
    PB_ASSERT(pb_strlcpy(ob->node, node, sizeof(ob->node)));
    pthread_mutex_init(&ob->lock, NULL);
    pthread_cond_init(&ob->wake, NULL);
    ob->next_seq = 1;
    ob->memory_events_max = PB_OUTBOX_MEMORY_EVENTS_MAX;
    ob->memory_bytes_max = PB_OUTBOX_MEMORY_BYTES_MAX;
    return ob;
}

void outbox__memory_limit(struct outbox *ob, size_t events, size_t bytes)
{
    pthread_mutex_lock(&ob->lock);
    ob->memory_events_max = events;
    ob->memory_bytes_max = bytes;
    pthread_mutex_unlock(&ob->lock);
}

void outbox_subscribe(struct outbox *ob, const char *name, outbox_subscriber_fn fn, void *arg)
{
    PB_ASSERT(!ob->started && ob->nsubs < OUTBOX_SUBSCRIBERS_MAX);
    ob->subs[ob->nsubs++] = (struct subscriber){name, fn, arg};
}

/* ---- writer side ---- */

static int load_seq(struct store *tx, void *arg)
{
    struct outbox *ob = arg;
    struct store_stmt *st;
    if (store_prepare(tx, "SELECT COALESCE(MAX(seq), 0) FROM outbox WHERE node = ?", &st))
        return PB_ERR_DB;
    store_bind_text(st, 1, ob->node, strlen(ob->node));
    int rc = store_step(st);
    if (rc == STORE_ROW) {
        ob->next_seq = store_column_int64(st, 0) + 1;
        atomic_store(&ob->committed_seq, ob->next_seq - 1);
        atomic_store(&ob->durable_seq, ob->next_seq - 1); /* what survived is durable */
        rc = PB_OK;
    } else {
        rc = PB_ERR_DB;
    }
    store_finalize(st);
    ob->batch_start_seq = ob->next_seq;
    return rc;
}

/* Well-formed UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing past U+10FFFF), as
 * PostgreSQL demands of text: checked when the event is emitted, so a bad one fails its own
 * command rather than the batch's write of the queue. */
static bool utf8_ok(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        unsigned c = *p++;
        if (c < 0x80)
            continue;
        int more;
        unsigned min;
        if (c >= 0xc2 && c <= 0xdf) {
            more = 1, min = 0x80;
        } else if (c >= 0xe0 && c <= 0xef) {
            more = 2, min = 0x800;
            c &= 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            more = 3, min = 0x10000;
            c &= 0x07;
        } else {
            return false;
        }
        if (more == 1)
            c &= 0x1f;
        for (int i = 0; i < more; i++, p++) {
            if ((*p & 0xc0) != 0x80)
                return false;
            c = (c << 6) | (*p & 0x3f);
        }
        if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
            return false;
    }
    return true;
}

static void free_queued(struct outbox *ob, size_t from)
{
    for (size_t i = from; i < ob->nqueued; i++)
        pb_free(ob->queued[i].type);
    ob->nqueued = from;
}

/* Queues the event; the row is written by write_queued before the batch's COMMIT. */
int outbox__insert(struct outbox *ob, struct store *tx, const char *type, const char *subject,
                   const char *data_json)
{
    PB_UNUSED(tx);
    PB_ASSERT(strlen(type) <= PB_EVENT_TYPE_MAX && strlen(subject) <= PB_EVENT_SUBJECT_MAX);
    if (!utf8_ok(type) || !utf8_ok(subject) || !utf8_ok(data_json))
        return PB_ERR_INVALID;
    if (ob->nqueued == ob->queued_cap) {
        ob->queued_cap = ob->queued_cap ? 2 * ob->queued_cap : 256;
        ob->queued = pb_realloc(ob->queued, ob->queued_cap * sizeof(*ob->queued));
    }
    size_t type_len = strlen(type), subject_len = strlen(subject), data_len = strlen(data_json);
    size_t size = type_len + subject_len + data_len + 3;
    char *block = pb_malloc(size);
    struct queued_event *e = &ob->queued[ob->nqueued++];
    *e = (struct queued_event){ob->next_seq, pb_wall_ms(), block, block + type_len + 1,
                               block + type_len + 1 + subject_len + 1, size};
    memcpy(e->type, type, type_len + 1);
    memcpy(e->subject, subject, subject_len + 1);
    memcpy(e->data, data_json, data_len + 1);
    ob->next_seq++;
    return PB_OK;
}

int64_t outbox__mark(struct outbox *ob)
{
    return ob->next_seq;
}

void outbox__rewind(struct outbox *ob, int64_t mark)
{
    PB_ASSERT(mark >= ob->batch_start_seq && mark <= ob->next_seq);
    size_t keep = ob->nqueued;
    while (keep > 0 && ob->queued[keep - 1].seq >= mark)
        keep--;
    free_queued(ob, keep);
    ob->next_seq = mark; /* the rows never existed: their seqs are reused, no gap */
}

#define OUTBOX_ROW_SQL "(?, ?, ?, ?, ?, ?, ?)"
#define OUTBOX_INSERT_SQL "INSERT INTO outbox (node, seq, id, type, time_ms, subject, data) VALUES "
#define OUTBOX_ROWS_PER_INSERT 4 /* 7 parameters a row, PB_STORE_PARAMS_MAX per statement */
_Static_assert(7 * OUTBOX_ROWS_PER_INSERT <= PB_STORE_PARAMS_MAX, "parameters per statement");

/* Binds event e as row k (0-based) of a multi-row INSERT. */
static int bind_row(struct outbox *ob, struct store_stmt *st, int k, const struct queued_event *e)
{
    /* node and seq name the event uniquely; zero-padding keeps ids in insertion order, so
     * the id index grows at its end instead of taking a random page per insert. */
    char id[PB_EVENT_ID_MAX + 1];
    int idlen = snprintf(id, sizeof(id), "%s-%020lld", ob->node, (long long)e->seq);
    PB_ASSERT(idlen > 0 && (size_t)idlen < sizeof(id));
    int base = 7 * k;
    int rc = store_bind_text(st, base + 1, ob->node, strlen(ob->node));
    rc = rc ? rc : store_bind_int64(st, base + 2, e->seq);
    rc = rc ? rc : store_bind_text(st, base + 3, id, (size_t)idlen);
    rc = rc ? rc : store_bind_text(st, base + 4, e->type, strlen(e->type));
    rc = rc ? rc : store_bind_int64(st, base + 5, e->time_ms);
    rc = rc ? rc : store_bind_text(st, base + 6, e->subject, strlen(e->subject));
    return rc ? rc : store_bind_text(st, base + 7, e->data, strlen(e->data));
}

/* Writes the batch's queued events, in seq order, OUTBOX_ROWS_PER_INSERT rows a statement
 * (one round trip each on PostgreSQL), outside every savepoint and inside the transaction,
 * so they commit exactly with the batch. */
static int write_queued(struct store *tx, void *arg)
{
    struct outbox *ob = arg;
    static const char *const sql[OUTBOX_ROWS_PER_INSERT] = {
        OUTBOX_INSERT_SQL OUTBOX_ROW_SQL,
        OUTBOX_INSERT_SQL OUTBOX_ROW_SQL ", " OUTBOX_ROW_SQL,
        OUTBOX_INSERT_SQL OUTBOX_ROW_SQL ", " OUTBOX_ROW_SQL ", " OUTBOX_ROW_SQL,
        OUTBOX_INSERT_SQL OUTBOX_ROW_SQL ", " OUTBOX_ROW_SQL ", " OUTBOX_ROW_SQL ", "
            OUTBOX_ROW_SQL,
    };
    int rc = PB_OK;
    for (size_t i = 0; i < ob->nqueued && rc == PB_OK;) {
        size_t rows = ob->nqueued - i;
        if (rows > OUTBOX_ROWS_PER_INSERT)
            rows = OUTBOX_ROWS_PER_INSERT;
        struct store_stmt *st;
        if (store_prepare(tx, sql[rows - 1], &st) != PB_OK) {
            rc = PB_ERR_DB;
            break;
        }
        for (size_t k = 0; k < rows && rc == PB_OK; k++)
            rc = bind_row(ob, st, (int)k, &ob->queued[i + k]);
        if (rc == PB_OK)
            rc = store_step(st) == STORE_DONE ? PB_OK : PB_ERR_DB;
        store_finalize(st);
        i += rows;
    }
    if (rc != PB_OK)
        pb_log(PB_LOG_ERROR, "outbox cannot write the batch's events", "\"error\":\"%s\"",
               store_errmsg(tx));
    return rc == PB_OK ? PB_OK : PB_ERR_DB;
}

static void command_begin(void *arg)
{
    struct outbox *ob = arg;
    ob->command_start_seq = ob->next_seq;
}

static void command_end(bool kept, void *arg)
{
    struct outbox *ob = arg;
    if (!kept)
        outbox__rewind(ob, ob->command_start_seq);
    PB_ASSERT(ob->next_seq - ob->command_start_seq <= PB_WRITER_EVENTS_PER_COMMAND_MAX);
}

/* Hands the committed batch's events to the relay in memory, or drops them (they are in the
 * table) when the relay holds too many already. */
static void hand_over(struct outbox *ob)
{
    if (!atomic_load(&ob->relay_running)) { /* nobody to take them (tools, benches) */
        free_queued(ob, 0);
        return;
    }
    struct memory_batch *b = pb_malloc(sizeof(*b) + ob->nqueued * sizeof(b->ev[0]));
    b->next = NULL;
    b->n = ob->nqueued;
    b->bytes = 0;
    for (size_t i = 0; i < ob->nqueued; i++)
        b->bytes += ob->queued[i].size;
    pthread_mutex_lock(&ob->lock);
    bool room = ob->memory_events + b->n <= ob->memory_events_max &&
                ob->memory_bytes + b->bytes <= ob->memory_bytes_max;
    if (room) {
        memcpy(b->ev, ob->queued, b->n * sizeof(b->ev[0])); /* the strings go with them */
        ob->memory_events += b->n;
        ob->memory_bytes += b->bytes;
        if (ob->memory_tail)
            ob->memory_tail->next = b;
        else
            ob->memory_head = b;
        ob->memory_tail = b;
    }
    pthread_mutex_unlock(&ob->lock);
    if (room) {
        ob->nqueued = 0;
    } else {
        free_queued(ob, 0);
        pb_free(b);
    }
}

static void batch_end(bool committed, void *arg)
{
    struct outbox *ob = arg;
    if (!committed) {
        free_queued(ob, 0);
        ob->next_seq = ob->batch_start_seq;
        return;
    }
    bool had_events = ob->next_seq > ob->batch_start_seq;
    ob->batch_start_seq = ob->next_seq;
    if (!had_events)
        return;
    PB_ASSERT(ob->nqueued > 0 && ob->queued[ob->nqueued - 1].seq == ob->next_seq - 1);
    /* Before committed_seq moves: whatever the relay may deliver is then in memory or was
     * dropped from it (a gap the relay fills from the table). */
    hand_over(ob);
    atomic_store(&ob->committed_seq, ob->next_seq - 1);
    /* The relay is woken by outbox__durable, once the writer knows the batch is durable. */
}

int64_t outbox__committed(struct outbox *ob)
{
    return atomic_load(&ob->committed_seq);
}

void outbox__durable(struct outbox *ob, int64_t seq)
{
    if (seq <= atomic_load(&ob->durable_seq))
        return;
    atomic_store(&ob->durable_seq, seq);
    pthread_mutex_lock(&ob->lock);
    ob->pending = true;
    pthread_cond_signal(&ob->wake);
    pthread_mutex_unlock(&ob->lock);
}

struct writer_participant outbox_participant(struct outbox *ob)
{
    return (struct writer_participant){.arg = ob, .load = load_seq,
                                       .command_begin = command_begin,
                                       .command_end = command_end,
                                       .before_commit = write_queued, .batch_end = batch_end};
}

/* ---- relay ---- */

static int cursor_run(struct store *tx, struct writer_cmd *cmd)
{
    struct cursor_cmd *c = (struct cursor_cmd *)cmd;
    struct store_stmt *st;
    if (store_prepare(tx, "INSERT INTO outbox_cursor (node, seq) VALUES (?, ?)"
                          " ON CONFLICT (node) DO UPDATE SET seq = excluded.seq", &st))
        return PB_ERR_DB;
    store_bind_text(st, 1, c->ob->node, strlen(c->ob->node));
    store_bind_int64(st, 2, c->seq);
    int rc = store_step(st) == STORE_DONE ? PB_OK : PB_ERR_DB;
    store_finalize(st);
    return rc;
}

static void cursor_done(struct writer_cmd *cmd)
{
    struct cursor_cmd *c = (struct cursor_cmd *)cmd;
    atomic_store(&c->ob->cursor_busy, false);
}

/* Records delivery progress through the writer: at most one update in flight, and (unless
 * forced) at most one per OUTBOX_CURSOR_INTERVAL_MS, so the cursor does not double the
 * writer's commits under load. A crash redelivers at most that window's events. */
static void advance_cursor(struct outbox *ob, bool force)
{
    uint64_t now = pb_mono_ns();
    if (ob->cursor.seq == ob->delivered_seq)
        return;
    if (!force && now - ob->cursor_submitted_ns < OUTBOX_CURSOR_INTERVAL_MS * 1000000ull)
        return;
    if (atomic_exchange(&ob->cursor_busy, true))
        return;
    ob->cursor_submitted_ns = now;
    ob->cursor.cmd = (struct writer_cmd){.run = cursor_run, .done = cursor_done};
    ob->cursor.ob = ob;
    ob->cursor.seq = ob->delivered_seq;
    if (writer_submit(ob->writer, &ob->cursor.cmd) != PB_OK)
        atomic_store(&ob->cursor_busy, false); /* retried on the next turn */
}

static int load_cursor(struct outbox *ob, struct store *s)
{
    struct store_stmt *st;
    if (store_prepare(s, "SELECT seq FROM outbox_cursor WHERE node = ?", &st))
        return PB_ERR_DB;
    store_bind_text(st, 1, ob->node, strlen(ob->node));
    int rc = store_step(st);
    ob->delivered_seq = rc == STORE_ROW ? store_column_int64(st, 0) : 0;
    store_finalize(st);
    ob->cursor.seq = ob->delivered_seq;
    return rc < 0 ? PB_ERR_DB : PB_OK;
}

static void deliver(struct outbox *ob, const struct pb_event *ev)
{
    for (size_t i = 0; i < ob->nsubs; i++)
        ob->subs[i].fn(ev, ob->subs[i].arg);
    ob->delivered_seq = ev->seq;
    atomic_fetch_add_explicit(&ob->delivered_total, 1, memory_order_relaxed);
}

static void free_memory_batches(struct memory_batch *b)
{
    while (b) {
        struct memory_batch *next = b->next;
        for (size_t i = 0; i < b->n; i++)
            pb_free(b->ev[i].type);
        pb_free(b);
        b = next;
    }
}

/* Takes the batches in memory that are durable (a batch's events are durable together). */
static struct memory_batch *take_durable_batches(struct outbox *ob)
{
    int64_t durable = atomic_load(&ob->durable_seq);
    pthread_mutex_lock(&ob->lock);
    struct memory_batch *first = ob->memory_head, *last = NULL;
    for (struct memory_batch *b = first; b && b->ev[b->n - 1].seq <= durable; b = b->next) {
        last = b;
        ob->memory_events -= b->n;
        ob->memory_bytes -= b->bytes;
    }
    if (last) {
        ob->memory_head = last->next;
        if (!ob->memory_head)
            ob->memory_tail = NULL;
        last->next = NULL;
    }
    pthread_mutex_unlock(&ob->lock);
    return last ? first : NULL;
}

/* Whether the oldest batch in memory continues what was delivered and is durable. */
static bool memory_continues(struct outbox *ob)
{
    int64_t durable = atomic_load(&ob->durable_seq);
    pthread_mutex_lock(&ob->lock);
    const struct memory_batch *b = ob->memory_head;
    bool yes = b && b->ev[0].seq == ob->delivered_seq + 1 && b->ev[b->n - 1].seq <= durable;
    pthread_mutex_unlock(&ob->lock);
    return yes;
}

/* Delivers the durable events handed over in memory, as long as they follow what was
 * delivered; at a gap (events dropped from memory, or a cursor behind them after a start)
 * the rest is left to the table. Returns how many were delivered. */
static int deliver_from_memory(struct outbox *ob)
{
    struct memory_batch *batches = take_durable_batches(ob);
    int n = 0;
    bool gap = false;
    char id[PB_EVENT_ID_MAX + 1];
    for (struct memory_batch *b = batches; b && !gap; b = b->next) {
        for (size_t i = 0; i < b->n && !gap; i++) {
            const struct queued_event *e = &b->ev[i];
            if (e->seq <= ob->delivered_seq)
                continue; /* read from the table already */
            gap = e->seq != ob->delivered_seq + 1;
            if (gap)
                break;
            int idlen = snprintf(id, sizeof(id), "%s-%020lld", ob->node, (long long)e->seq);
            PB_ASSERT(idlen > 0 && (size_t)idlen < sizeof(id)); /* as bind_row wrote it */
            struct pb_event ev = {e->seq, id, e->type, e->time_ms, e->subject, e->data};
            deliver(ob, &ev);
            n++;
        }
    }
    free_memory_batches(batches);
    return n;
}

/* Delivers up to PB_OUTBOX_FETCH_MAX durable events read from the table; returns how many,
 * or < 0. */
static int deliver_from_table(struct outbox *ob, struct store *s)
{
    struct store_stmt *st;
    int n = 0;
    int rc = store_prepare(s, "SELECT seq, id, type, time_ms, subject, data FROM outbox"
                              " WHERE node = ? AND seq > ? AND seq <= ? ORDER BY seq LIMIT ?",
                           &st);
    if (rc == PB_OK) {
        store_bind_text(st, 1, ob->node, strlen(ob->node));
        store_bind_int64(st, 2, ob->delivered_seq);
        store_bind_int64(st, 3, atomic_load(&ob->durable_seq));
        store_bind_int64(st, 4, PB_OUTBOX_FETCH_MAX);
        while ((rc = store_step(st)) == STORE_ROW) {
            struct pb_event ev = {
                store_column_int64(st, 0), store_column_text(st, 1), store_column_text(st, 2),
                store_column_int64(st, 3), store_column_text(st, 4), store_column_text(st, 5)};
            PB_ASSERT(ev.seq > ob->delivered_seq);
            deliver(ob, &ev);
            n++;
        }
        store_finalize(st);
    }
    atomic_fetch_add_explicit(&ob->read_total, (uint64_t)n, memory_order_relaxed);
    return rc < 0 ? rc : n;
}

/* One turn: the durable events in memory, then (when delivery is still behind the durable
 * seq) up to PB_OUTBOX_FETCH_MAX from the table. Returns PB_OUTBOX_FETCH_MAX when the table
 * may hold more, another count otherwise, or < 0. */
static int relay_turn(struct outbox *ob)
{
    struct store *s = NULL;
    int rc = PB_OK;
    if (!ob->cursor_loaded) { /* first turn: where did delivery stop? */
        rc = store_pool_acquire(ob->readers, 5000, &s);
        if (rc != PB_OK)
            return rc;
        rc = load_cursor(ob, s);
        if (rc != PB_OK) {
            store_pool_release(ob->readers, s);
            return PB_ERR_DB;
        }
        ob->cursor_loaded = true;
    }
    int n = 0;
    /* Memory while it continues the sequence (batches becoming durable meanwhile included),
     * the table for what it does not hold. */
    do {
        n += deliver_from_memory(ob);
    } while (ob->delivered_seq < atomic_load(&ob->durable_seq) && memory_continues(ob));
    if (ob->delivered_seq < atomic_load(&ob->durable_seq)) {
        if (!s)
            rc = store_pool_acquire(ob->readers, 5000, &s);
        if (rc == PB_OK)
            rc = n = deliver_from_table(ob, s);
    }
    if (s)
        store_pool_release(ob->readers, s);
    advance_cursor(ob, false);
    return rc < 0 ? rc : n;
}

static bool relay_wait(struct outbox *ob)
{
    pthread_mutex_lock(&ob->lock);
    if (!ob->pending && !ob->stopping) {
        struct timespec deadline;
        clock_gettime(CLOCK_REALTIME, &deadline);
        deadline.tv_sec += OUTBOX_IDLE_POLL_MS / 1000;
        pthread_cond_timedwait(&ob->wake, &ob->lock, &deadline);
    }
    bool stopping = ob->stopping;
    ob->pending = false;
    pthread_mutex_unlock(&ob->lock);
    return !stopping;
}

static void *relay_main(void *arg)
{
    struct outbox *ob = arg;
    bool running = true;
    while (running) {
        int n = relay_turn(ob);
        if (n < 0)
            pb_log(PB_LOG_ERROR, "event relay cannot read the outbox", "\"error\":\"%s\"",
                   pb_err_name(n));
        if (n == PB_OUTBOX_FETCH_MAX)
            continue; /* more are waiting */
        running = relay_wait(ob);
    }
    atomic_store(&ob->relay_running, false); /* later batches stay in the table only */
    relay_turn(ob); /* what committed before the stop */
    return NULL;
}

int outbox_start(struct outbox *ob, struct store_pool *readers, struct writer *w)
{
    PB_ASSERT(!ob->started);
    ob->readers = readers;
    ob->writer = w;
    atomic_store(&ob->relay_running, true);
    if (pthread_create(&ob->thread, NULL, relay_main, ob) != 0) {
        atomic_store(&ob->relay_running, false);
        return PB_ERR_IO;
    }
    pthread_setname_np(ob->thread, "pb-relay"); /* names show in top -H, perf, gdb */
    ob->started = true;
    return PB_OK;
}

static void wait_cursor(struct outbox *ob)
{
    for (int i = 0; i < 5000 && atomic_load(&ob->cursor_busy); i++)
        nanosleep(&(struct timespec){0, 1000000}, NULL);
}

void outbox_stop(struct outbox *ob)
{
    if (!ob || !ob->started)
        return;
    pthread_mutex_lock(&ob->lock);
    ob->stopping = true;
    pthread_cond_signal(&ob->wake);
    pthread_mutex_unlock(&ob->lock);
    pthread_join(ob->thread, NULL);
    ob->started = false;
    wait_cursor(ob);
    advance_cursor(ob, true);
    wait_cursor(ob);
}

void outbox_free(struct outbox *ob)
{
    if (!ob)
        return;
    PB_ASSERT(!ob->started);
    free_queued(ob, 0);
    pb_free(ob->queued);
    free_memory_batches(ob->memory_head);
    pthread_mutex_destroy(&ob->lock);
    pthread_cond_destroy(&ob->wake);
    pb_free(ob);
}

void outbox_envelope(const struct pb_event *ev, struct pb_buf *out)
{
    char when[PB_TIME_TEXT_MAX];
    pb_format_time_ms(ev->time_ms, when);
    pb_buf_printf(out, "{\"id\":\"%s\",\"seq\":%lld,\"type\":", ev->id, (long long)ev->seq);
    pb_buf_json_string(out, ev->type, strlen(ev->type));
    pb_buf_printf(out, ",\"time\":\"%s\",\"subject\":", when);
    pb_buf_json_string(out, ev->subject, strlen(ev->subject));
    pb_buf_puts(out, ",\"data\":");
    pb_buf_puts(out, ev->data);
    pb_buf_putc(out, '}');
}

void outbox_metrics(struct outbox *ob, struct pb_buf *out)
{
    pb_buf_printf(out,
                  "# TYPE pitboss_events_delivered_total counter\n"
                  "pitboss_events_delivered_total %llu\n"
                  "# TYPE pitboss_events_read_total counter\n"
                  "pitboss_events_read_total %llu\n"
                  "# TYPE pitboss_events_committed_seq gauge\n"
                  "pitboss_events_committed_seq %lld\n",
                  (unsigned long long)atomic_load(&ob->delivered_total),
                  (unsigned long long)atomic_load(&ob->read_total),
                  (long long)atomic_load(&ob->committed_seq));
}
