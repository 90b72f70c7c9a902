/* fuzz_payments_webhook.c: libFuzzer target for what payments decodes from outside
 * (src/payments/payments.h): the sandbox PSP's webhook body (payments_sandbox_parse), the
 * X-Pitboss-Signature header (payments_verify_signature) and PSP statements, JSON or CSV
 * (payments_reconcile over an empty in-memory database). The first input byte picks the
 * decoder. Every call reads from a heap copy of exactly the input's size (plus the NUL where
 * a C string is taken), so any overread is an ASan report.
 * Properties: a decoded event has a known type, an amount > 0, a known currency and
 * references of token characters only; a refused one names its error; a header is accepted
 * only when it is the signature of the body; a body signed by payments_sign verifies; a
 * statement either reconciles (against no payments: every row is missing_in_ledger) or is
 * refused with a reason. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "base/buf.h"
#include "payments/payments.h"
#include "store/store.h"

#define SECRET "fuzz-secret"
#define NOW_S 1700000000

static struct store *db;

static void setup_once(void)
{
    char err[256];
    if (db)
        return;
    PB_ASSERT(store_open("sqlite::memory:", &db, err, sizeof(err)) == PB_OK);
    PB_ASSERT(store_migrate(db, payments_migrations, payments_migrations_count, NULL) == PB_OK);
}

static bool token(const char *s)
{
    return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:-") ==
           strlen(s);
}

static void check_webhook(const char *bytes, size_t size)
{
    struct payments_event ev;
    struct pb_json_error err;
    memset(&err, 0, sizeof(err));
    if (payments_sandbox_parse(bytes, size, &ev, &err) != PB_OK) {
        PB_ASSERT(err.code != NULL && err.detail[0] != '\0');
        return;
    }
    PB_ASSERT(payments_event_type_name(ev.type) != NULL);
    PB_ASSERT(ev.amount_minor > 0 && ledger_currency_find(ev.currency) != NULL);
    PB_ASSERT(ev.event_id[0] && ev.reference[0] && token(ev.event_id) && token(ev.reference));
}

static void check_signature(const char *bytes, size_t size, const char *text)
{
    char header[PAYMENTS_SIGNATURE_HEADER_MAX];
    /* the input as a header over a fixed body: almost always refused, never a crash */
    int rc = payments_verify_signature(SECRET, text, "{}", 2, NOW_S);
    if (rc == PB_OK) {
        payments_sign(SECRET, strtoll(text + 2, NULL, 10), "{}", 2, header);
        PB_ASSERT(strcmp(header, text) == 0);
    }
    /* the input as a body: its own signature verifies, a stale one is out of the window */
    payments_sign(SECRET, NOW_S, bytes, size, header);
    PB_ASSERT(payments_verify_signature(SECRET, header, bytes, size, NOW_S) == PB_OK);
    PB_ASSERT(payments_verify_signature(SECRET, header, bytes, size, NOW_S + 3600) ==
              PB_ERR_TIMEOUT);
    if (size > 0)
        PB_ASSERT(payments_verify_signature(SECRET, header, bytes, size - 1, NOW_S) ==
                  PB_ERR_INVALID);
}

static void check_statement(const char *bytes, size_t size)
{
    struct pb_buf out = PB_BUF_INIT;
    int mismatches = -1;
    int rc = payments_reconcile(db, "sandbox", bytes, size, &out, &mismatches);
    PB_ASSERT(rc == PB_OK || rc == PB_ERR_INVALID);
    PB_ASSERT(out.len > 0);
    if (rc == PB_OK)
        PB_ASSERT(mismatches >= 0 && strstr(pb_buf_str(&out), "statement rows") != NULL);
    pb_buf_release(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 8192)
        return 0;
    setup_once();
    size--;
    char *bytes = pb_malloc(size > 0 ? size : 1); /* exactly size bytes, no terminator */
    memcpy(bytes, data + 1, size);
    char *text = pb_malloc(size + 1);
    memcpy(text, data + 1, size);
    text[size] = '\0';
    switch (data[0] % 3) {
    case 0: check_webhook(bytes, size); break;
    case 1: check_signature(bytes, size, text); break;
    default: check_statement(text, strlen(text)); break;
    }
    pb_free(text);
    pb_free(bytes);
    return 0;
}
