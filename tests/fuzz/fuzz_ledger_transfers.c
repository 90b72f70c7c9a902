/* fuzz_ledger_transfers.c: libFuzzer target for the body of POST /api/v1/ledger/transfers
 * (ledger_http_int.h): the scanner and jansson's path agree on every input (the same answer
 * or the same error), and the canonical request stays within its bound. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "ledger/ledger_http_int.h"

static void same_transfer(const struct ledger_transfer *x, const struct ledger_transfer *y)
{
    PB_ASSERT(x->kind == y->kind && x->debit_account == y->debit_account &&
              x->credit_account == y->credit_account && x->amount == y->amount &&
              x->code == y->code && x->pending_id == y->pending_id &&
              x->timeout_ms == y->timeout_ms && strcmp(x->reference, y->reference) == 0);
    PB_ASSERT((x->metadata == NULL) == (y->metadata == NULL));
    PB_ASSERT(!x->metadata || strcmp(x->metadata, y->metadata) == 0);
}

static char *canonical(const struct ledger_http__transfers *r)
{
    size_t cap = ledger_http__transfers_canonical_max(r) + 1;
    char *text = malloc(cap); /* exactly the bound: ASan sees an overrun */
    PB_ASSERT(text != NULL);
    PB_ASSERT(ledger_http__transfers_canonical(r, text, cap) == strlen(text));
    return text;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ledger_http__transfers a, b;
    struct pb_json_error ea, eb;
    int ra = ledger_http__transfers_decode((const char *)data, size, &a, &ea);
    int rb = ledger_http__transfers_decode_json((const char *)data, size, &b, &eb);
    PB_ASSERT(ra == rb);
    if (ra != PB_OK) {
        PB_ASSERT(strcmp(ea.code, eb.code) == 0 && strcmp(ea.field, eb.field) == 0 &&
                  strcmp(ea.detail, eb.detail) == 0);
    } else {
        PB_ASSERT(a.n == b.n);
        for (size_t i = 0; i < a.n; i++)
            same_transfer(&a.t[i], &b.t[i]);
        char *ca = canonical(&a), *cb = canonical(&b);
        PB_ASSERT(strcmp(ca, cb) == 0);
        free(ca);
        free(cb);
    }
    ledger_http__transfers_release(&a);
    ledger_http__transfers_release(&b);
    return 0;
}
