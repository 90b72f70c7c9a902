/* ledger_http_int.h: internals of the ledger's HTTP layer shared with its tests: the body of
 * POST /api/v1/ledger/transfers (ledger_http_transfers.c).
 *
 * Decoding takes two paths with one result. A plain body (only the fields the API takes,
 * ASCII strings without escapes, integers as plain digits, no metadata) is read by a small
 * scanner straight into the structs: this is every request of a game server and the request
 * path's largest cost otherwise. Anything else, and every body the scanner would refuse, goes
 * through jansson (pb_json_parse + pb_json_decode), which alone decides the errors: a bad
 * request gets exactly the problem it always got. tests/unit/test_ledger_http.c checks that
 * both paths agree on generated and mutated bodies.
 *
 * The canonical request (the idempotency record's request) is formatted directly, byte for
 * byte what json_dumps(JSON_COMPACT | JSON_SORT_KEYS) gives for the flat object
 * {"transfers": n, "transfers[i].<field>": value, ...} with every field of every transfer and
 * defaults explicit (null); the same test compares it with jansson's. */
#ifndef PB_LEDGER_HTTP_INT_H
#define PB_LEDGER_HTTP_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "base/json.h"
#include "ledger/ledger.h"

/* The decoded body of POST /api/v1/ledger/transfers. */
struct ledger_http__transfers {
    json_t *root; /* the parsed document when jansson decoded it (t[] borrows from it), or NULL */
    bool plain;   /* the scanner decoded it */
    size_t n;
    struct ledger_transfer t[LEDGER_LINKED_MAX];
    char *metadata[LEDGER_LINKED_MAX]; /* canonical metadata text (free()), or NULL */
    char references[LEDGER_LINKED_MAX][LEDGER_REFERENCE_MAX + 1]; /* the scanner's strings */
};

/* Decodes the body (text, len bytes, not necessarily NUL-terminated) into r: the scanner,
 * then jansson when the scanner does not take it. Returns 0, or PB_ERR_INVALID with err
 * filled (answered as a 400 by http_problem_json). r must be released either way. */
int ledger_http__transfers_decode(const char *text, size_t len,
                                  struct ledger_http__transfers *r, struct pb_json_error *err);
/* The same through jansson alone (the reference the scanner is tested against). */
int ledger_http__transfers_decode_json(const char *text, size_t len,
                                       struct ledger_http__transfers *r,
                                       struct pb_json_error *err);
void ledger_http__transfers_release(struct ledger_http__transfers *r);
/* The canonical request of a decoded body and a NUL into text (cap bytes, more than
 * ledger_http__transfers_canonical_max(r)); returns its length. Written in place so that
 * the request's command allocation holds it without a copy. */
size_t ledger_http__transfers_canonical_max(const struct ledger_http__transfers *r);
size_t ledger_http__transfers_canonical(const struct ledger_http__transfers *r, char *text,
                                        size_t cap);

/* RFC 3339 UTC with nanoseconds ("2026-11-20T23:59:01.123456789Z") of ns (>= 0) since the
 * epoch, as the API writes times. */
#define LEDGER_HTTP_TIME_TEXT_MAX 40
void ledger_http__format_time_ns(int64_t ns, char out[LEDGER_HTTP_TIME_TEXT_MAX]);

#endif
