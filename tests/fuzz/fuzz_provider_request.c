/* fuzz_provider_request.c: libFuzzer target for the provider request decoders
 * (src/providers/protocol.c: the generic operations and the alt adapter), the signature
 * check and the CIDR range parser (src/providers/registry.c). The first byte chooses the
 * decoder, the rest is the request body, read from a heap copy of exactly its size, so any
 * overread is an ASan report. Properties: a decoded request names an operation and has the
 * fields its operation needs within their limits; a refused one names an error; a signature
 * made for the input verifies and one byte off does not. */
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "providers/providers.h"

static void check_op(const struct provider_op *op)
{
    PB_ASSERT(op->kind >= PROVIDER_OP_AUTHENTICATE && op->kind <= PROVIDER_OP_FREE_ROUND_WIN);
    PB_ASSERT(op->token && strlen(op->token) >= 1 && strlen(op->token) <= 64);
    bool money = op->kind == PROVIDER_OP_BET || op->kind == PROVIDER_OP_WIN ||
                 op->kind == PROVIDER_OP_ROLLBACK || op->kind == PROVIDER_OP_FREE_ROUND_WIN;
    PB_ASSERT(!money || (op->transaction_id && strlen(op->transaction_id) <= PROVIDERS_TX_ID_MAX));
    PB_ASSERT(op->kind != PROVIDER_OP_ROLLBACK || op->reference_transaction_id);
    PB_ASSERT(op->kind != PROVIDER_OP_END_ROUND || op->round_id);
    PB_ASSERT(op->amount_decimal || op->kind != PROVIDER_OP_BET || op->amount_minor >= 1);
    PB_ASSERT(op->amount_minor >= 0);
    PB_ASSERT(!op->round_id || strlen(op->round_id) <= PROVIDERS_ROUND_ID_MAX);
}

static void check_signature(const char *body, size_t len)
{
    char sig[PROVIDERS_SIGNATURE_HEX + 1];
    providers_sign("fuzz-secret", 1700000000, body, len, sig);
    PB_ASSERT(providers_verify("fuzz-secret", "1700000000", sig, body, len, 1700000000) == PB_OK);
    if (len > 0)
        PB_ASSERT(providers_verify("fuzz-secret", "1700000000", sig, body, len - 1,
                                   1700000000) == PB_ERR_INVALID);
    /* the input as a signature or timestamp never crashes and never passes by accident */
    char text[80];
    size_t n = len < sizeof(text) - 1 ? len : sizeof(text) - 1;
    memcpy(text, body, n);
    text[n] = '\0';
    PB_ASSERT(providers_verify("fuzz-secret", "1700000000", text, body, len, 1700000000) !=
                  PB_OK || strcmp(text, sig) == 0);
    (void)providers_verify("fuzz-secret", text, sig, body, len, 1700000000);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool ready;
    if (!ready) {
        PB_ASSERT(sodium_init() >= 0);
        ready = true;
    }
    if (size < 1)
        return 0;
    unsigned mode = data[0] % 10;
    size_t len = size - 1;
    char *body = malloc(len + 1); /* NUL only for the text-taking range functions */
    memcpy(body, data + 1, len);
    body[len] = '\0';
    struct provider_op op;
    struct pb_json_error err;
    json_t *root = NULL;
    int rc;
    if (mode <= 6) {
        rc = providers_generic_decode((enum provider_op_kind)(mode + 1), body, len, &op, &root,
                                      &err);
    } else if (mode == 7) {
        rc = providers_alt_decode(body, len, &op, &root, &err);
    } else if (mode == 8) {
        if (strlen(body) == len && providers_ranges_check(body) == PB_OK) {
            (void)providers_ip_allowed(body, "192.0.2.1");
            (void)providers_ip_allowed(body, "2001:db8::1");
        }
        free(body);
        return 0;
    } else {
        check_signature(body, len);
        free(body);
        return 0;
    }
    if (rc == PB_OK)
        check_op(&op);
    else
        PB_ASSERT(err.code != NULL && err.detail[0] != '\0');
    json_decref(root);
    free(body);
    return 0;
}
