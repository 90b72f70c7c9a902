/* protocol.c: the wire protocols providers speak, decoded into struct provider_op and encoded
 * from the generic answer (providers.h; docs/providers.md, "Protocols" and "Adapters").
 *
 * generic  one route per operation, snake_case fields, integer amounts in minor units,
 *          answers are the generic documents and RFC 9457 problems with real statuses.
 * alt      one endpoint, the operation in "action" (auth, balance, debit, credit, rollback,
 *          endround, promo_credit), short field names (txn, round, ref_txn, promo), amounts
 *          as decimal strings in major units, HTTP 200 with {"status","error"} where error is
 *          a number, balances as decimal strings. Its signature travels in the query.
 * Every decoder is strict (unknown, missing and mistyped fields refused and named) and a
 * pure function of its input. */
#include "providers/providers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "ledger/ledger.h"

/* Identifiers providers send: printable ASCII without space or quote characters. */
static bool id_ok(const char *s)
{
    if (!s)
        return true;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p <= 0x20 || *p >= 0x7f || *p == '"' || *p == '\\')
            return false;
    return true;
}

static int field_error(struct pb_json_error *err, const char *field, const char *detail)
{
    err->code = "out_of_range";
    pb_strlcpy(err->field, field, sizeof(err->field));
    pb_strlcpy(err->detail, detail, sizeof(err->detail));
    return PB_ERR_INVALID;
}

static int ids_check(const struct provider_op *op, const char *const names[4],
                     struct pb_json_error *err)
{
    const char *values[4] = {op->transaction_id, op->round_id, op->reference_transaction_id,
                             op->campaign_id};
    for (int i = 0; i < 4; i++)
        if (!id_ok(values[i]))
            return field_error(err, names[i], "must be printable ASCII without spaces or quotes");
    return PB_OK;
}

/* ---- generic ---- */

struct generic_body {
    const char *token, *session_token, *transaction_id, *round_id, *reference_transaction_id,
        *campaign_id;
    int64_t amount_minor;
};

#define G_TOKEN PB_JSON_STR(struct generic_body, token, PB_JSON_REQUIRED, 1, 64)
#define G_SESSION PB_JSON_STR(struct generic_body, session_token, PB_JSON_REQUIRED, 1, 64)
#define G_TX                                                                               \
    PB_JSON_STR(struct generic_body, transaction_id, PB_JSON_REQUIRED, 1, PROVIDERS_TX_ID_MAX)
#define G_ROUND(req)                                                                       \
    PB_JSON_STR(struct generic_body, round_id, req, 1, PROVIDERS_ROUND_ID_MAX)
#define G_REF                                                                              \
    PB_JSON_STR(struct generic_body, reference_transaction_id, PB_JSON_REQUIRED, 1,        \
                PROVIDERS_TX_ID_MAX)
#define G_CAMPAIGN                                                                         \
    PB_JSON_STR(struct generic_body, campaign_id, PB_JSON_REQUIRED, 1, PROVIDERS_CAMPAIGN_MAX)
#define G_AMOUNT(lo)                                                                       \
    PB_JSON_INT(struct generic_body, amount_minor, PB_JSON_REQUIRED, lo, INT64_MAX)

static const struct pb_json_field g_auth[] = {G_TOKEN};
static const struct pb_json_field g_balance[] = {G_SESSION};
static const struct pb_json_field g_bet[] = {G_SESSION, G_TX, G_ROUND(PB_JSON_REQUIRED),
                                             G_AMOUNT(1)};
static const struct pb_json_field g_win[] = {G_SESSION, G_TX, G_ROUND(PB_JSON_REQUIRED),
                                             G_AMOUNT(0)};
static const struct pb_json_field g_rollback[] = {G_SESSION, G_TX, G_REF,
                                                  G_ROUND(PB_JSON_OPTIONAL)};
static const struct pb_json_field g_end[] = {G_SESSION, G_ROUND(PB_JSON_REQUIRED)};
static const struct pb_json_field g_free[] = {G_SESSION, G_TX, G_ROUND(PB_JSON_REQUIRED),
                                              G_AMOUNT(0), G_CAMPAIGN};

static const struct {
    const struct pb_json_field *fields;
    size_t n;
} generic_tables[] = {
    [PROVIDER_OP_AUTHENTICATE] = {g_auth, PB_ARRAY_LEN(g_auth)},
    [PROVIDER_OP_BALANCE] = {g_balance, PB_ARRAY_LEN(g_balance)},
    [PROVIDER_OP_BET] = {g_bet, PB_ARRAY_LEN(g_bet)},
    [PROVIDER_OP_WIN] = {g_win, PB_ARRAY_LEN(g_win)},
    [PROVIDER_OP_ROLLBACK] = {g_rollback, PB_ARRAY_LEN(g_rollback)},
    [PROVIDER_OP_END_ROUND] = {g_end, PB_ARRAY_LEN(g_end)},
    [PROVIDER_OP_FREE_ROUND_WIN] = {g_free, PB_ARRAY_LEN(g_free)},
};

int providers_generic_decode(enum provider_op_kind kind, const char *body, size_t len,
                             struct provider_op *op, json_t **root, struct pb_json_error *err)
{
    PB_ASSERT(kind >= PROVIDER_OP_AUTHENTICATE && kind <= PROVIDER_OP_FREE_ROUND_WIN);
    struct generic_body b = {0};
    memset(op, 0, sizeof(*op));
    *root = NULL;
    if (pb_json_parse(body, len, true, root, err) != PB_OK ||
        pb_json_decode(*root, "", generic_tables[kind].fields, generic_tables[kind].n, &b,
                       err) != PB_OK)
        return PB_ERR_INVALID;
    op->kind = kind;
    op->token = kind == PROVIDER_OP_AUTHENTICATE ? b.token : b.session_token;
    op->transaction_id = b.transaction_id;
    op->round_id = b.round_id;
    op->reference_transaction_id = b.reference_transaction_id;
    op->campaign_id = b.campaign_id;
    op->amount_minor = b.amount_minor;
    static const char *const names[4] = {"transaction_id", "round_id",
                                         "reference_transaction_id", "campaign_id"};
    if (!id_ok(op->token))
        return field_error(err, kind == PROVIDER_OP_AUTHENTICATE ? "token" : "session_token",
                           "must be printable ASCII without spaces or quotes");
    return ids_check(op, names, err);
}

/* ---- alt ---- */

struct alt_body {
    const char *action, *token, *txn, *round, *ref_txn, *promo, *amount, *currency;
};

#define A_ACTION PB_JSON_STR(struct alt_body, action, PB_JSON_REQUIRED, 1, 16)
#define A_TOKEN PB_JSON_STR(struct alt_body, token, PB_JSON_REQUIRED, 1, 64)
#define A_TXN PB_JSON_STR(struct alt_body, txn, PB_JSON_REQUIRED, 1, PROVIDERS_TX_ID_MAX)
#define A_ROUND(req) PB_JSON_STR(struct alt_body, round, req, 1, PROVIDERS_ROUND_ID_MAX)
#define A_REF PB_JSON_STR(struct alt_body, ref_txn, PB_JSON_REQUIRED, 1, PROVIDERS_TX_ID_MAX)
#define A_PROMO PB_JSON_STR(struct alt_body, promo, PB_JSON_REQUIRED, 1, PROVIDERS_CAMPAIGN_MAX)
#define A_AMOUNT PB_JSON_STR(struct alt_body, amount, PB_JSON_REQUIRED, 1, 24)
#define A_CURRENCY PB_JSON_STR(struct alt_body, currency, PB_JSON_REQUIRED, 1, LEDGER_CURRENCY_MAX)

static const struct pb_json_field a_action_only[] = {
    {"action", PB_JSON_KIND_STRING, PB_JSON_REQUIRED, offsetof(struct alt_body, action),
     SIZE_MAX, 1, 16},
};
static const struct pb_json_field a_auth[] = {A_ACTION, A_TOKEN};
static const struct pb_json_field a_balance[] = {A_ACTION, A_TOKEN};
static const struct pb_json_field a_debit[] = {A_ACTION, A_TOKEN, A_TXN, A_ROUND(PB_JSON_REQUIRED),
                                               A_AMOUNT, A_CURRENCY};
static const struct pb_json_field a_rollback[] = {A_ACTION, A_TOKEN, A_TXN, A_REF,
                                                  A_ROUND(PB_JSON_OPTIONAL)};
static const struct pb_json_field a_end[] = {A_ACTION, A_TOKEN, A_ROUND(PB_JSON_REQUIRED)};
static const struct pb_json_field a_promo[] = {A_ACTION, A_TOKEN, A_TXN,
                                               A_ROUND(PB_JSON_REQUIRED), A_AMOUNT, A_CURRENCY,
                                               A_PROMO};

static const struct {
    const char *action;
    enum provider_op_kind kind;
    const struct pb_json_field *fields;
    size_t n;
} alt_actions[] = {
    {"auth", PROVIDER_OP_AUTHENTICATE, a_auth, PB_ARRAY_LEN(a_auth)},
    {"balance", PROVIDER_OP_BALANCE, a_balance, PB_ARRAY_LEN(a_balance)},
    {"debit", PROVIDER_OP_BET, a_debit, PB_ARRAY_LEN(a_debit)},
    {"credit", PROVIDER_OP_WIN, a_debit, PB_ARRAY_LEN(a_debit)},
    {"rollback", PROVIDER_OP_ROLLBACK, a_rollback, PB_ARRAY_LEN(a_rollback)},
    {"endround", PROVIDER_OP_END_ROUND, a_end, PB_ARRAY_LEN(a_end)},
    {"promo_credit", PROVIDER_OP_FREE_ROUND_WIN, a_promo, PB_ARRAY_LEN(a_promo)},
};

int providers_alt_decode(const char *body, size_t len, struct provider_op *op, json_t **root,
                         struct pb_json_error *err)
{
    struct alt_body b = {0};
    memset(op, 0, sizeof(*op));
    *root = NULL;
    if (pb_json_parse(body, len, true, root, err) != PB_OK)
        return PB_ERR_INVALID;
    const json_t *action = json_object_get(*root, "action");
    if (!json_is_string(action))
        return pb_json_decode(*root, "", a_action_only, 1, &b, err) == PB_OK
                   ? field_error(err, "action", "must be a string")
                   : PB_ERR_INVALID;
    size_t i = 0;
    while (i < PB_ARRAY_LEN(alt_actions) &&
           strcmp(alt_actions[i].action, json_string_value(action)) != 0)
        i++;
    if (i == PB_ARRAY_LEN(alt_actions))
        return field_error(err, "action", "must be auth, balance, debit, credit, rollback, "
                                          "endround or promo_credit");
    if (pb_json_decode(*root, "", alt_actions[i].fields, alt_actions[i].n, &b, err) != PB_OK)
        return PB_ERR_INVALID;
    op->kind = alt_actions[i].kind;
    op->token = b.token;
    op->transaction_id = b.txn;
    op->round_id = b.round;
    op->reference_transaction_id = b.ref_txn;
    op->campaign_id = b.promo;
    op->currency = b.currency;
    op->amount_decimal = b.amount != NULL;
    op->amount_text = b.amount;
    if (b.amount && (b.amount[0] == '-' || b.amount[0] == '+'))
        return field_error(err, "amount", "must be a decimal amount without a sign");
    if (b.currency && !ledger_currency_find(b.currency))
        return field_error(err, "currency", "is not a known currency code");
    static const char *const names[4] = {"txn", "round", "ref_txn", "promo"};
    if (!id_ok(op->token))
        return field_error(err, "token", "must be printable ASCII without spaces or quotes");
    return ids_check(op, names, err);
}

static const char *const alt_codes[] = {
    NULL,
    PROVIDER_E_INSUFFICIENT_FUNDS,  /* 1 */
    PROVIDER_E_SESSION_EXPIRED,     /* 2 */
    PROVIDER_E_INVALID_TOKEN,       /* 3 */
    PROVIDER_E_PLAYER_BLOCKED,      /* 4 */
    PROVIDER_E_LIMIT_EXCEEDED,      /* 5 */
    PROVIDER_E_DUPLICATE,           /* 6 */
    PROVIDER_E_BET_NOT_FOUND,       /* 7 */
    PROVIDER_E_ROLLED_BACK,         /* 8 */
    PROVIDER_E_ROUND_CLOSED,        /* 9 */
    PROVIDER_E_INVALID_SIGNATURE,   /* 10 */
    PROVIDER_E_IP_NOT_ALLOWED,      /* 11 */
    PROVIDER_E_VALIDATION,          /* 12 */
};
#define ALT_ERROR_OTHER 99

int providers_alt_error_code(const char *code)
{
    if (!code)
        return 0;
    for (size_t i = 1; i < PB_ARRAY_LEN(alt_codes); i++)
        if (strcmp(alt_codes[i], code) == 0)
            return (int)i;
    return ALT_ERROR_OTHER;
}

void providers_alt_encode(const struct provider_answer *ans, struct pb_buf *out)
{
    json_t *in = json_loads(ans->body, 0, NULL);
    PB_ASSERT(json_is_object(in)); /* answers are built by wallet.c or the HTTP layer */
    json_t *doc = json_object();
    bool ok = ans->status == 200;
    const char *code = json_string_value(json_object_get(in, "code"));
    json_object_set_new(doc, "status", json_string(ok ? "OK" : "ERROR"));
    json_object_set_new(doc, "error", json_integer(ok ? 0 : providers_alt_error_code(code)));
    if (!ok) {
        json_object_set_new(doc, "message", json_string(code ? code : "error"));
        const char *field = json_string_value(json_object_get(in, "field"));
        if (field)
            json_object_set_new(doc, "field", json_string(field));
    }
    const char *currency = json_string_value(json_object_get(in, "currency"));
    const json_t *balance = json_object_get(in, "balance_minor");
    const struct ledger_currency *c = currency ? ledger_currency_find(currency) : NULL;
    if (c && json_is_integer(balance)) {
        char text[48];
        ledger_amount_format(json_integer_value(balance), c, text, sizeof(text));
        json_object_set_new(doc, "balance", json_string(text));
        json_object_set_new(doc, "currency", json_string(currency));
    }
    static const char *const copied[][2] = {
        {"transaction_id", "txn"}, {"round_id", "round"}, {"session_token", "token"},
        {"player_id", "player"}, {"external_game_id", "game"}, {"transfer_id", "ref"},
    };
    for (size_t i = 0; ok && i < PB_ARRAY_LEN(copied); i++) {
        json_t *v = json_object_get(in, copied[i][0]);
        if (v)
            json_object_set(doc, copied[i][1], v);
    }
    char *text = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
    PB_ASSERT(text != NULL);
    pb_buf_append(out, text, strlen(text));
    free(text);
    json_decref(doc);
    json_decref(in);
}
