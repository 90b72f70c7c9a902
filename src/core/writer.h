/* writer.h: the single writer. One thread owns the only write connection; every state change
 * of the platform is a command run by it. DESIGN.md section 2.1 ("The writer").
 *
 * Commands arrive through a bounded queue (writer_submit, any thread). The writer takes up to
 * batch_max of them (waiting up to wait_us for a fuller batch when fewer are queued), runs them
 * in one transaction with a savepoint per command so one failing command does not abort the
 * others, commits once (one fsync for the batch: group commit), then completes every command
 * by calling its done function once the batch is durable. done must be short and must not
 * block: typically it resumes a suspended HTTP connection or posts to a semaphore.
 *
 * Pipelined durability (SQLite files, store_defer_sync): COMMIT returns before the WAL's
 * fsync; the writer hands the batch to its syncer thread ("pb-syncer") and runs the next
 * batch while the syncer fsyncs the WAL once for every batch committed so far and then calls
 * their done functions. So the fsync no longer stalls the writer, and a command is still
 * acknowledged only when durable. done then runs on the syncer thread (always the same one,
 * never two at once); on PostgreSQL and in-memory databases, on the writer thread. Other
 * connections may read a batch a few milliseconds before its fsync: after a power loss (not a
 * process crash, which loses nothing written) such a batch can be gone though a reader saw it;
 * no command of it was acknowledged; its events were not delivered either (the relay reads
 * only up to the durable seq: outbox__durable). A failed fsync stops the process.
 *
 * Events: a command emits domain events with writer_emit; they are queued with the command and
 * written to the outbox before the batch's COMMIT, dropped when the command rolls back, so they
 * exist exactly when the command's changes do (src/core/outbox.h).
 *
 * Ownership: the caller allocates the command and keeps it alive until done has run; the
 * writer never frees it. */
#ifndef PB_WRITER_H
#define PB_WRITER_H

#include <stdbool.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/metrics.h"

struct store;
struct writer;
struct writer_cmd;
struct outbox;

/* Runs inside the transaction, inside the command's savepoint. Returns 0 to keep the
 * command's changes, or a negative pb_err to roll them back (the value becomes cmd->status). */
typedef int (*writer_run_fn)(struct store *tx, struct writer_cmd *cmd);
typedef void (*writer_done_fn)(struct writer_cmd *cmd);

struct writer_cmd {
    writer_run_fn run;
    writer_done_fn done;
    void *arg;          /* the caller's data */
    int status;         /* after done: run's result, or PB_ERR_DB if the commit failed */
    /* Internal: */
    struct writer *writer;
    struct writer_cmd *next;
    uint64_t submitted_ns;
};

/* A module that keeps writer-thread state alongside the transaction (the outbox's sequence,
 * the ledger's hash chain and hot-account deltas) joins the writer as a participant. Every
 * callback runs on the writer thread; any may be NULL.
 *   load:           at start and after a reconnect: read the state from tx;
 *   command_begin:  before each command's run (remember where the command starts);
 *   command_end:    after it: kept=false means its savepoint was rolled back (undo its state);
 *   before_commit:  after the batch's last command, inside the transaction (flush batch-level
 *                   changes); an error fails and rolls back the whole batch;
 *   batch_end:      after COMMIT: committed=false means the batch was rolled back. */
struct writer_participant {
    void *arg;
    int (*load)(struct store *tx, void *arg);
    void (*command_begin)(void *arg);
    void (*command_end)(bool kept, void *arg);
    int (*before_commit)(struct store *tx, void *arg);
    void (*batch_end)(bool committed, void *arg);
};

#define WRITER_PARTICIPANTS_MAX 8

struct writer_config {
    int batch_max;
    int wait_us;
    int queue_max;
    const char *url; /* to reopen the connection when it breaks (borrowed; may be NULL) */
    struct writer_participant participants[WRITER_PARTICIPANTS_MAX];
    int nparticipants;
};

struct writer_stats {
    struct pb_histogram batch_size;     /* commands per committed batch */
    struct pb_histogram commit_latency; /* COMMIT call duration */
    struct pb_histogram sync_latency;   /* the syncer's WAL fsync (pipelined durability) */
    struct pb_histogram command_latency; /* submit to done */
    _Atomic uint64_t commands_total;
    _Atomic uint64_t commands_failed_total;
    _Atomic uint64_t commit_failures_total;
    _Atomic uint64_t rejected_full_total;
    _Atomic int64_t queue_depth;
    _Atomic uint64_t reconnects_total;
};

/* Starts the writer thread over connection tx (ownership passes to the writer; it is closed by
 * writer_stop). outbox may be NULL (no events); when given, it is added as a participant. */
int writer_start(const struct writer_config *cfg, struct store *tx, struct outbox *outbox,
                 struct writer **out);
/* Completes every queued command, then stops the thread and closes the connection. */
void writer_stop(struct writer *w);
/* Queues cmd. Any thread. Returns 0, PB_ERR_FULL when the queue holds queue_max commands, or
 * PB_ERR_CLOSED when the writer is stopping; done is not called in the error cases. */
int writer_submit(struct writer *w, struct writer_cmd *cmd);
/* Inside run: emits a domain event (type e.g. "ledger.transfer_posted", subject the object's
 * id, data a JSON object as text). Returns 0 or PB_ERR_DB. */
int writer_emit(struct store *tx, struct writer_cmd *cmd, const char *type, const char *subject,
                const char *data_json);
/* Events are written to the outbox at the batch's end (one pass, outside the savepoints), so
 * code that rolls back a savepoint of its own after emitting inside it (the ledger's linked
 * group) must drop those events too: take a mark before, rewind to it after the rollback.
 * Inside run only; without an outbox both do nothing. */
int64_t writer_emit_mark(struct writer_cmd *cmd);
void writer_emit_rewind(struct writer_cmd *cmd, int64_t mark);
struct writer_stats *writer_stats_of(struct writer *w);
/* Prometheus text for the writer's stats. */
void writer_metrics(struct writer *w, struct pb_buf *out);

#endif
