/* idempotency.c: request keys (ledger.h, "idempotency"). A key's first attempt is recorded
 * with its canonical request and its result; a repeat with the same request gets the recorded
 * result, a repeat with a different request is refused naming the first field that differs.
 * A first attempt refused by a state-dependent rule (insufficient funds, say) is recorded too,
 * so it stays refused even if the state changes later: the client must use a new key.
 * Requests are canonical JSON (sorted keys, no spaces), so "the same request" is the same
 * text: the stored request is compared as it is (schema version 3 dropped the SHA-256
 * fingerprint column, which only repeated that comparison at the cost of a hash per key). */
#include <jansson.h>
#include <string.h>
#include <time.h>

#include "base/base.h"
#include "ledger/ledger.h"

/* The first field (in sorted order) whose value differs between two JSON objects. */
static void first_difference(const char *a_text, const char *b_text, char *field, size_t len)
{
    json_t *a = json_loads(a_text, 0, NULL), *b = json_loads(b_text, 0, NULL);
    const char *best = NULL;
    const char *key;
    json_t *v;
    if (json_is_object(a) && json_is_object(b)) {
        json_t *sides[2] = {a, b};
        for (int s = 0; s < 2; s++) {
            json_object_foreach(sides[s], key, v) {
                if (!json_equal(v, json_object_get(sides[1 - s], key)) &&
                    (!best || strcmp(key, best) < 0))
                    best = key;
            }
        }
    }
    pb_strlcpy(field, best ? best : "request", len);
    json_decref(a);
    json_decref(b);
}

int ledger_idem_check(struct store *tx, const char *scope, const char *key,
                      const char *request_json, enum ledger_idem_state *state,
                      struct ledger_idem_hit *hit)
{
    memset(hit, 0, sizeof(*hit));
    *state = LEDGER_IDEM_NEW;
    struct store_stmt *st;
    if (store_prepare(tx, "SELECT request, status, body FROM ledger_idempotency"
                          " WHERE scope = ? AND key = ?", &st) != PB_OK)
        return PB_ERR_DB;
    store_bind_text(st, 1, scope, strlen(scope));
    store_bind_text(st, 2, key, strlen(key));
    int rc = store_step(st);
    if (rc == STORE_ROW) {
        if (strcmp(request_json, store_column_text(st, 0)) == 0) {
            *state = LEDGER_IDEM_REPLAY;
            hit->status = (int)store_column_int64(st, 1);
            hit->body = pb_strdup(store_column_text(st, 2));
        } else {
            *state = LEDGER_IDEM_CONFLICT;
            first_difference(store_column_text(st, 0), request_json, hit->field,
                             sizeof(hit->field));
        }
    }
    store_finalize(st);
    return rc < 0 ? PB_ERR_DB : PB_OK;
}

int ledger_idem_record(struct store *tx, const char *scope, const char *key,
                       const char *request_json, int status, const char *body)
{
    struct store_stmt *st;
    if (store_prepare(tx, "INSERT INTO ledger_idempotency (scope, key, request, status, body,"
                          " created_ns) VALUES (?, ?, ?, ?, ?, ?)", &st) != PB_OK)
        return PB_ERR_DB;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int rc = store_bind_text(st, 1, scope, strlen(scope));
    rc = rc ? rc : store_bind_text(st, 2, key, strlen(key));
    rc = rc ? rc : store_bind_text(st, 3, request_json, strlen(request_json));
    rc = rc ? rc : store_bind_int64(st, 4, status);
    rc = rc ? rc : store_bind_text(st, 5, body, strlen(body));
    rc = rc ? rc : store_bind_int64(st, 6, (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec);
    if (rc == PB_OK)
        rc = store_step(st) == STORE_DONE ? PB_OK : PB_ERR_DB;
    store_finalize(st);
    return rc == PB_OK ? PB_OK : PB_ERR_DB;
}
