/* audit.h: the audit trail of staff actions (module "audit" migrations). Every manual change
 * a member of staff makes (today: ledger adjustments) writes one row in the same writer
 * command, hence the same transaction, as the change itself: the row exists exactly when the
 * change does. Rows are never updated or deleted. docs/ledger.md ("Adjustments and audit").
 *
 * Table audit_log(id, time_ns, actor, action, subject, reason, before_json, after_json, ref):
 * id is dense and increasing (assigned by the writer: MAX(id) + 1 inside its transaction);
 * before_json and after_json are JSON documents (the state before and after the change).
 *
 * Threads: audit_next_id and audit_insert run inside a writer command; audit_list takes any
 * connection (a reader from the pool). */
#ifndef PB_AUDIT_H
#define PB_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

#define AUDIT_ACTOR_MAX 64
#define AUDIT_ACTION_MAX 64
#define AUDIT_SUBJECT_MAX 128
#define AUDIT_REASON_MAX 500
#define AUDIT_REF_MAX 64
#define AUDIT_PAGE_MAX 200 /* rows per page of audit_list: a screen, not an export */

extern const struct store_migration audit_migrations[];
extern const size_t audit_migrations_count;

/* One row as written: strings are borrowed for the call. */
struct audit_record {
    int64_t id;      /* from audit_next_id */
    int64_t time_ns; /* when the change happened (the ledger's transfer timestamp) */
    const char *actor;       /* who: "staff" (the holder of the staff token) */
    const char *action;      /* what: "ledger.adjustment" */
    const char *subject;     /* on what: "player:42" */
    const char *reason;      /* why, as the actor wrote it */
    const char *before_json; /* JSON document: the state before */
    const char *after_json;  /* JSON document: the state after */
    const char *ref;         /* the change itself: "transfer:17" */
};

/* One row as read: every string is pb_malloc'ed; audit_row_release frees them. */
struct audit_row {
    int64_t id, time_ns;
    char *actor, *action, *subject, *reason, *before_json, *after_json, *ref;
};

/* Inside a writer command: the id the next audit_insert should use (MAX(id) + 1; the writer
 * is the only inserter, so no other transaction can take it). Returns 0 or PB_ERR_DB. */
int audit_next_id(struct store *tx, int64_t *id_out);
/* Inside a writer command: inserts r. Every string must be set (at most the *_MAX lengths
 * above; a programming error otherwise). Returns 0, PB_ERR_CONFLICT (the id is taken) or
 * PB_ERR_DB. */
int audit_insert(struct store *tx, const struct audit_record *r);

/* Newest first: up to limit (1..AUDIT_PAGE_MAX) rows with id < before_id (0: from the
 * newest) into rows; *n gets how many; *next_before_id the cursor of the next page (0 when
 * this page is the last). The caller releases each row. Returns 0 or PB_ERR_DB. */
int audit_list(struct store *s, int64_t before_id, int limit, struct audit_row *rows, size_t *n,
               int64_t *next_before_id);
void audit_row_release(struct audit_row *row);

#endif
