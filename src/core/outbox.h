/* outbox.h: domain events, written in the same transaction as the change they describe and
 * delivered after commit, in order, to in-process subscribers (reactors, the WebSocket hub).
 * DESIGN.md sections 2.1 ("The event relay") and 5 ("Events").
 *
 * Table outbox(node, seq, id, type, time_ms, subject, data): seq is assigned by the writer,
 * strictly increasing per node (one writer per node, so commit order is seq order). Table
 * outbox_cursor(node, seq) records how far delivery has got. The relay thread hands each
 * durable event past the cursor to every subscriber, in seq order, and then advances the
 * cursor through the writer. While the relay runs, the writer hands each committed batch's
 * events to it in memory (up to PB_OUTBOX_MEMORY_EVENTS_MAX / _BYTES_MAX held), so the relay
 * does not read back what it was just given; where memory does not continue the delivered
 * sequence (after a start, or past those bounds) the relay reads the events from the table
 * with its own reader connection (pitboss_events_read_total counts them). Events committed but not
 * delivered when the process dies are delivered after restart; an event may be delivered
 * twice around a crash, so subscribers are idempotent by event id.
 *
 * Envelope (CloudEvents style): {"id","type","time","subject","data"}. */
#ifndef PB_OUTBOX_H
#define PB_OUTBOX_H

#include <stdint.h>

#include "base/buf.h"
#include "core/writer.h"
#include "store/store.h"

struct writer;

struct pb_event {
    int64_t seq;
    const char *id;      /* "<node>-<seq, 20 digits>": unique, in commit order */
    const char *type;
    int64_t time_ms;
    const char *subject;
    const char *data;    /* JSON object text */
};

/* Called on the relay thread, in seq order. Must not block for long. */
typedef void (*outbox_subscriber_fn)(const struct pb_event *ev, void *arg);

struct outbox;

extern const struct store_migration outbox_migrations[];
extern const size_t outbox_migrations_count;

/* Creates the outbox for node (the name in the outbox table). Subscribers are added before
 * outbox_start. */
struct outbox *outbox_new(const char *node);
void outbox_subscribe(struct outbox *ob, const char *name, outbox_subscriber_fn fn, void *arg);
/* Starts the relay thread: reads with readers, advances the cursor through w. */
int outbox_start(struct outbox *ob, struct store_pool *readers, struct writer *w);
/* Stops the relay after delivering what is committed; the writer must still be running so the
 * last cursor update lands (bounded wait). */
void outbox_stop(struct outbox *ob);
/* Frees the outbox; after outbox_stop and after the writer has stopped. */
void outbox_free(struct outbox *ob);

/* Writer side. The outbox is a writer participant (its sequence follows savepoints and
 * batches); outbox__insert is called through writer_emit. Events are queued in memory and
 * written, in seq order, just before the batch's COMMIT (before_commit), outside every
 * savepoint: a command's rollback drops its queued events, a failed batch drops them all. */
struct writer_participant outbox_participant(struct outbox *ob);
/* Queues one event row; returns 0 or PB_ERR_INVALID (text that is not UTF-8). */
int outbox__insert(struct outbox *ob, struct store *tx, const char *type, const char *subject,
                   const char *data_json);
/* The position after the last queued event, and a return to it (dropping what was queued
 * since), for writer_emit_mark / writer_emit_rewind. */
/* The writer, once the batches committed so far are durable (after the WAL's fsync when
 * commits are pipelined, at once otherwise): the relay may deliver events up to the
 * highest committed seq. Events of a batch that a power loss could still undo are never
 * delivered. Any thread. */
void outbox__durable(struct outbox *ob, int64_t seq);
/* The highest committed seq (writer thread, after batch_end). */
int64_t outbox__committed(struct outbox *ob);
int64_t outbox__mark(struct outbox *ob);
void outbox__rewind(struct outbox *ob, int64_t mark);

/* For tests: the bounds of the events held in memory for the relay (events, bytes). */
void outbox__memory_limit(struct outbox *ob, size_t events, size_t bytes);

/* Renders an event envelope as JSON into out. */
void outbox_envelope(const struct pb_event *ev, struct pb_buf *out);

/* Delivered events (and those of them read from the table) and the relay's lag, Prometheus
 * text. */
void outbox_metrics(struct outbox *ob, struct pb_buf *out);

#endif
