/* ledger_http_transfers.c: the body of POST /api/v1/ledger/transfers: decoding (a scanner for
 * plain bodies, jansson for the rest) and the canonical request (ledger_http_int.h). */
#include "ledger/ledger_http_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "ledger/ledger_http.h"

struct transfer_in {
    const char *kind, *code, *reference;
    int64_t debit_account, credit_account, amount_minor, pending_id, timeout_ms;
    json_t *metadata;
    bool has_kind, has_debit_account, has_credit_account, has_amount_minor, has_code,
        has_pending_id, has_timeout_ms;
};

/* Optional fields record their presence in has_<name>: which ones a kind takes is checked
 * after decoding (check_kind_fields). */
#define TF(name, kind, lo, hi)                                                                 \
    {#name, kind, PB_JSON_OPTIONAL, offsetof(struct transfer_in, name),                       \
     offsetof(struct transfer_in, has_##name), lo, hi}
static const struct pb_json_field transfer_fields[] = {
    TF(kind, PB_JSON_KIND_STRING, 1, 16),
    TF(debit_account, PB_JSON_KIND_INT, 1, INT64_MAX),
    TF(credit_account, PB_JSON_KIND_INT, 1, INT64_MAX),
    TF(amount_minor, PB_JSON_KIND_INT, 1, INT64_MAX),
    TF(code, PB_JSON_KIND_STRING, 1, 32),
    TF(pending_id, PB_JSON_KIND_INT, 1, INT64_MAX),
    TF(timeout_ms, PB_JSON_KIND_INT, 1, LEDGER_HTTP_TIMEOUT_MS_MAX),
    PB_JSON_STR(struct transfer_in, reference, PB_JSON_REQUIRED, 1, LEDGER_REFERENCE_MAX),
    PB_JSON_OBJ(struct transfer_in, metadata, PB_JSON_OPTIONAL),
};
#undef TF
#define FIELD_REFERENCE 7 /* the index of reference in transfer_fields */
#define FIELD_METADATA 8
#define STRING_FIELD_MAX 32 /* the longest kind or code the fields take */

/* Which fields each kind takes: required ones must be there, forbidden ones must not. */
enum { F_ACCOUNTS = 1, F_AMOUNT = 2, F_CODE = 4, F_PENDING = 8, F_TIMEOUT = 16 };
static const struct kind_rule {
    const char *name;
    enum ledger_kind kind;
    unsigned required, forbidden;
} kind_rules[] = {
    {"posted", LEDGER_POSTED, F_ACCOUNTS | F_AMOUNT | F_CODE, F_PENDING | F_TIMEOUT},
    {"pending", LEDGER_PENDING, F_ACCOUNTS | F_AMOUNT | F_CODE | F_TIMEOUT, F_PENDING},
    {"post", LEDGER_POST, F_PENDING, F_ACCOUNTS | F_CODE | F_TIMEOUT},
    {"void", LEDGER_VOID, F_PENDING, F_ACCOUNTS | F_AMOUNT | F_CODE | F_TIMEOUT},
};

static int field_error(struct pb_json_error *err, const char *code, const char *prefix,
                       const char *name, const char *detail)
{
    err->code = code;
    snprintf(err->field, sizeof(err->field), "%s.%s", prefix, name);
    pb_strlcpy(err->detail, detail, sizeof(err->detail));
    return PB_ERR_INVALID;
}

/* Checks that the fields present fit the kind. */
static int check_kind_fields(const struct transfer_in *in, const struct kind_rule *rule,
                             const char *prefix, struct pb_json_error *err)
{
    const struct {
        const char *name;
        unsigned flag;
        bool present;
    } f[] = {
        {"debit_account", F_ACCOUNTS, in->has_debit_account},
        {"credit_account", F_ACCOUNTS, in->has_credit_account},
        {"amount_minor", F_AMOUNT, in->has_amount_minor},
        {"code", F_CODE, in->has_code},
        {"pending_id", F_PENDING, in->has_pending_id},
        {"timeout_ms", F_TIMEOUT, in->has_timeout_ms},
    };
    char detail[96];
    for (size_t i = 0; i < PB_ARRAY_LEN(f); i++) {
        if ((rule->required & f[i].flag) && !f[i].present) {
            snprintf(detail, sizeof(detail), "is required for kind %s", rule->name);
            return field_error(err, "missing_field", prefix, f[i].name, detail);
        }
        if ((rule->forbidden & f[i].flag) && f[i].present) {
            snprintf(detail, sizeof(detail), "is not allowed for kind %s", rule->name);
            return field_error(err, "not_allowed", prefix, f[i].name, detail);
        }
    }
    return PB_OK;
}

/* The checks after the field table (the kind's rule and the code) and the ledger's view t of
 * a decoded transfer; reference and metadata are borrowed from in. */
static int transfer_finish(const struct transfer_in *in, const char *prefix,
                           struct ledger_transfer *t, struct pb_json_error *err)
{
    const struct kind_rule *rule = NULL;
    for (size_t i = 0; i < PB_ARRAY_LEN(kind_rules) && !rule; i++)
        if (strcmp(in->has_kind ? in->kind : "posted", kind_rules[i].name) == 0)
            rule = &kind_rules[i];
    if (!rule)
        return field_error(err, "out_of_range", prefix, "kind",
                           "must be one of posted, pending, post, void");
    if (check_kind_fields(in, rule, prefix, err) != PB_OK)
        return PB_ERR_INVALID;
    /* A post or void keeps its pending transfer's code; the ledger still wants a valid one. */
    *t = (struct ledger_transfer){.kind = rule->kind, .debit_account = in->debit_account,
                                  .credit_account = in->credit_account,
                                  .amount = in->amount_minor, .code = LEDGER_TX_HOLD,
                                  .pending_id = in->pending_id, .timeout_ms = in->timeout_ms,
                                  .reference = in->reference};
    if (in->has_code && ledger_transfer_code_parse(in->code, &t->code) != PB_OK)
        return field_error(err, "out_of_range", prefix, "code",
                           "is not a known transfer code (bet, win, refund, deposit, "
                           "withdrawal, bonus_grant, bonus_conversion, ...)");
    return PB_OK;
}

/* ---- through jansson ---- */

/* One decoded transfer: t gets the ledger's view (reference and metadata borrowed from the
 * json tree and *metadata_text, which the caller frees). */
static int transfer_decode(const json_t *item, const char *prefix, struct ledger_transfer *t,
                           char **metadata_text, struct pb_json_error *err)
{
    struct transfer_in in = {0};
    *metadata_text = NULL;
    if (!json_is_object(item)) {
        err->code = "wrong_type";
        pb_strlcpy(err->field, prefix, sizeof(err->field));
        pb_strlcpy(err->detail, "must be an object", sizeof(err->detail));
        return PB_ERR_INVALID;
    }
    if (pb_json_decode(item, prefix, transfer_fields, PB_ARRAY_LEN(transfer_fields), &in, err))
        return PB_ERR_INVALID;
    if (transfer_finish(&in, prefix, t, err) != PB_OK)
        return PB_ERR_INVALID;
    if (in.metadata) {
        *metadata_text = json_dumps(in.metadata, JSON_COMPACT | JSON_SORT_KEYS);
        PB_ASSERT(*metadata_text != NULL);
        if (strlen(*metadata_text) > LEDGER_METADATA_MAX)
            return field_error(err, "out_of_range", prefix, "metadata",
                               "is larger than 2048 bytes as compact JSON");
        t->metadata = *metadata_text;
    }
    return PB_OK;
}

struct transfers_body {
    json_t *transfers;
};

static void transfers_init(struct ledger_http__transfers *r)
{
    r->root = NULL;
    r->plain = false;
    r->n = 0;
    memset(r->metadata, 0, sizeof(r->metadata));
}

int ledger_http__transfers_decode_json(const char *text, size_t len,
                                       struct ledger_http__transfers *r,
                                       struct pb_json_error *err)
{
    transfers_init(r);
    if (pb_json_parse(text, len, true, &r->root, err) != PB_OK)
        return PB_ERR_INVALID;
    static const struct pb_json_field fields[] = {
        PB_JSON_ARR(struct transfers_body, transfers, PB_JSON_REQUIRED),
    };
    struct transfers_body in = {0};
    int rc = pb_json_decode(r->root, "", fields, PB_ARRAY_LEN(fields), &in, err);
    size_t n = rc == PB_OK ? json_array_size(in.transfers) : 0;
    if (rc == PB_OK && (n < 1 || n > LEDGER_LINKED_MAX)) {
        err->code = "out_of_range";
        pb_strlcpy(err->field, "transfers", sizeof(err->field));
        snprintf(err->detail, sizeof(err->detail), "must hold 1 to %d linked transfers",
                 LEDGER_LINKED_MAX);
        rc = PB_ERR_INVALID;
    }
    for (size_t i = 0; rc == PB_OK && i < n; i++) {
        char prefix[32];
        snprintf(prefix, sizeof(prefix), "transfers[%zu]", i);
        rc = transfer_decode(json_array_get(in.transfers, i), prefix, &r->t[i], &r->metadata[i],
                             err);
    }
    if (rc != PB_OK)
        return PB_ERR_INVALID;
    r->n = n;
    return PB_OK;
}

/* ---- the scanner ---- */

/* Reads what jansson would read the same way or gives up (false), never deciding an error:
 * JSON whitespace, strings of printable ASCII without escapes, integers of 1 to 18 plain
 * digits (no sign, fraction or exponent), the known fields each at most once and within their
 * bounds, no metadata. */
struct scan {
    const char *p, *end;
};

static bool scan_char(struct scan *s, char c)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
        s->p++;
    if (s->p < s->end && *s->p == c) {
        s->p++;
        return true;
    }
    return false;
}

static bool scan_string(struct scan *s, const char **start, size_t *len)
{
    if (!scan_char(s, '"'))
        return false;
    const char *b = s->p;
    for (; s->p < s->end; s->p++) {
        unsigned char c = (unsigned char)*s->p;
        if (c == '"') {
            *start = b;
            *len = (size_t)(s->p - b);
            s->p++;
            return true;
        }
        if (c < 0x20 || c > 0x7e || c == '\\')
            return false;
    }
    return false;
}

static bool scan_int(struct scan *s, int64_t *out)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
        s->p++;
    int64_t v = 0;
    int digits = 0;
    if (s->p >= s->end || *s->p < '1' || *s->p > '9')
        return false; /* also "0", "-1", "01": jansson's to decide */
    for (; s->p < s->end && *s->p >= '0' && *s->p <= '9'; s->p++) {
        if (++digits > 18)
            return false; /* 18 digits always fit an int64 */
        v = v * 10 + (*s->p - '0');
    }
    *out = v;
    return true;
}

/* One field's value into in (the string copied to buf, NUL-terminated). */
static bool scan_value(struct scan *s, const struct pb_json_field *f, struct transfer_in *in,
                       char *buf, size_t cap)
{
    char *out = (char *)in + f->offset;
    if (f->kind == PB_JSON_KIND_INT) {
        int64_t v;
        if (!scan_int(s, &v) || v < f->min || v > f->max)
            return false;
        *(int64_t *)out = v;
    } else {
        PB_ASSERT(f->kind == PB_JSON_KIND_STRING && (size_t)f->max < cap);
        const char *start;
        size_t len;
        if (!scan_string(s, &start, &len) || (int64_t)len < f->min || (int64_t)len > f->max)
            return false;
        memcpy(buf, start, len);
        buf[len] = '\0';
        *(const char **)out = buf;
    }
    if (f->present != SIZE_MAX)
        *(bool *)((char *)in + f->present) = true;
    return true;
}

/* One transfer object; reference is copied to reference (LEDGER_REFERENCE_MAX + 1 bytes). */
static bool scan_transfer(struct scan *s, struct ledger_transfer *t, char *reference)
{
    struct transfer_in in = {0};
    char kind[STRING_FIELD_MAX + 1], code[STRING_FIELD_MAX + 1];
    unsigned seen = 0;
    if (!scan_char(s, '{'))
        return false;
    do {
        const char *key;
        size_t len;
        if (!scan_string(s, &key, &len) || !scan_char(s, ':'))
            return false;
        size_t i = 0;
        while (i < FIELD_METADATA &&
               !(transfer_fields[i].name[0] == key[0] && strlen(transfer_fields[i].name) == len &&
                 memcmp(transfer_fields[i].name, key, len) == 0))
            i++;
        if (i == FIELD_METADATA || (seen & (1u << i)))
            return false; /* metadata, an unknown field, a duplicate */
        seen |= 1u << i;
        const struct pb_json_field *f = &transfer_fields[i];
        bool ok;
        if (i == FIELD_REFERENCE)
            ok = scan_value(s, f, &in, reference, LEDGER_REFERENCE_MAX + 1);
        else if (f->offset == offsetof(struct transfer_in, kind))
            ok = scan_value(s, f, &in, kind, sizeof(kind));
        else /* code, or an integer (no string) */
            ok = scan_value(s, f, &in, code, sizeof(code));
        if (!ok)
            return false;
    } while (scan_char(s, ','));
    struct pb_json_error err; /* not used: jansson's path decides every error */
    return scan_char(s, '}') && (seen & (1u << FIELD_REFERENCE)) &&
           transfer_finish(&in, "", t, &err) == PB_OK;
}

static bool scan_body(const char *text, size_t len, struct ledger_http__transfers *r)
{
    struct scan s = {text, text + len};
    const char *key;
    size_t key_len, n = 0;
    if (!scan_char(&s, '{') || !scan_string(&s, &key, &key_len) || key_len != 9 ||
        memcmp(key, "transfers", 9) != 0 || !scan_char(&s, ':') || !scan_char(&s, '['))
        return false;
    do {
        if (n == LEDGER_LINKED_MAX || !scan_transfer(&s, &r->t[n], r->references[n]))
            return false;
        r->t[n].reference = r->references[n];
        n++;
    } while (scan_char(&s, ','));
    if (!scan_char(&s, ']') || !scan_char(&s, '}'))
        return false;
    while (s.p < s.end && (*s.p == ' ' || *s.p == '\t' || *s.p == '\n' || *s.p == '\r'))
        s.p++;
    if (s.p != s.end)
        return false;
    r->n = n;
    return true;
}

int ledger_http__transfers_decode(const char *text, size_t len,
                                  struct ledger_http__transfers *r, struct pb_json_error *err)
{
    transfers_init(r);
    if (scan_body(text, len, r)) {
        r->plain = true;
        PB_ASSERT(r->n >= 1 && r->n <= LEDGER_LINKED_MAX);
        return PB_OK;
    }
    return ledger_http__transfers_decode_json(text, len, r, err);
}

void ledger_http__transfers_release(struct ledger_http__transfers *r)
{
    for (size_t i = 0; i < LEDGER_LINKED_MAX; i++) {
        free(r->metadata[i]);
        r->metadata[i] = NULL;
    }
    json_decref(r->root);
    r->root = NULL;
}

/* ---- the canonical request ---- */

/* Appending to room measured beforehand (ledger_http__transfers_canonical_max). */
struct out {
    char *p;
};

#define PUT_LITERAL(o, s) put_bytes(o, s, sizeof(s) - 1)

static void put_bytes(struct out *o, const char *s, size_t n)
{
    memcpy(o->p, s, n);
    o->p += n;
}

/* s as json_dumps writes a string: quotes, backslash and control characters escaped (the
 * short forms, else \u00XX in upper case), everything else (UTF-8, DEL) as it is. At most
 * 2 + 6 * strlen(s) bytes. */
static void canonical_string(struct out *o, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    *o->p++ = '"';
    for (const char *run = s;; s++) {
        unsigned char c = (unsigned char)*s;
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        put_bytes(o, run, (size_t)(s - run));
        run = s + 1;
        if (c == '\0')
            break;
        *o->p++ = '\\';
        switch (c) {
        case '"': case '\\': *o->p++ = (char)c; break;
        case '\b': *o->p++ = 'b'; break;
        case '\f': *o->p++ = 'f'; break;
        case '\n': *o->p++ = 'n'; break;
        case '\r': *o->p++ = 'r'; break;
        case '\t': *o->p++ = 't'; break;
        default:
            PUT_LITERAL(o, "u00");
            *o->p++ = hex[c >> 4];
            *o->p++ = hex[c & 15];
        }
    }
    *o->p++ = '"';
}

/* An integer, or null for 0 (the field was absent): at most 20 bytes. */
static void canonical_int(struct out *o, int64_t v)
{
    if (v)
        o->p += pb_i64_text(v, o->p);
    else
        PUT_LITERAL(o, "null");
}

/* ",\"transfers[<index>].<name>\":": at most 18 + strlen(name) bytes (index < 100). */
#define CANONICAL_KEY(o, index, index_len, name)                                              \
    do {                                                                                       \
        PUT_LITERAL(o, ",\"transfers[");                                                       \
        put_bytes(o, index, index_len);                                                        \
        PUT_LITERAL(o, "]." name "\":");                                                       \
    } while (0)

/* The keys of one transfer with 2-digit indexes (nine keys, 84 bytes of names), the five
 * integers, and the quotes and escapes of kind: what a transfer takes besides its code,
 * reference and metadata. */
#define CANONICAL_TRANSFER_FIXED (9 * 18 + 84 + 5 * 20 + 2 + 6 * 7)

/* Orders transfer indexes as their keys sort: by the text "<i>]". */
static int index_cmp(const void *a, const void *b)
{
    char x[PB_I64_TEXT_MAX + 1], y[PB_I64_TEXT_MAX + 1];
    size_t nx = pb_i64_text((int64_t)*(const size_t *)a, x);
    size_t ny = pb_i64_text((int64_t)*(const size_t *)b, y);
    memcpy(x + nx, "]", 2);
    memcpy(y + ny, "]", 2);
    return strcmp(x, y);
}

size_t ledger_http__transfers_canonical_max(const struct ledger_http__transfers *r)
{
    PB_ASSERT(r->n >= 1 && r->n <= LEDGER_LINKED_MAX && LEDGER_LINKED_MAX <= 100);
    size_t max = 14 + 20 + 1; /* {"transfers":<n>} */
    for (size_t i = 0; i < r->n; i++) {
        const struct ledger_transfer *t = &r->t[i];
        const char *code = ledger_transfer_code_name(t->code);
        max += CANONICAL_TRANSFER_FIXED + 2 + 6 * (code ? strlen(code) : 0) + 2 +
               6 * strlen(t->reference) + (t->metadata ? strlen(t->metadata) : 2);
    }
    return max;
}

/* Keys sort as strings: "transfers" first, then by "<i>]" ("transfers[10]..." comes before
 * "transfers[1]..."), then the fields' names in order. The metadata text is already
 * json_dumps's compact sorted form of the object, which dumping it again reproduces. */
size_t ledger_http__transfers_canonical(const struct ledger_http__transfers *r, char *text,
                                        size_t cap)
{
    size_t order[LEDGER_LINKED_MAX];
    for (size_t i = 0; i < r->n; i++)
        order[i] = i;
    if (r->n > 10) /* up to ten, "0]" < "1]" < ... < "9]" */
        qsort(order, r->n, sizeof(order[0]), index_cmp);
    struct out o = {text};
    PUT_LITERAL(&o, "{\"transfers\":");
    o.p += pb_i64_text((int64_t)r->n, o.p);
    for (size_t k = 0; k < r->n; k++) {
        size_t i = order[k];
        char index[PB_I64_TEXT_MAX];
        size_t index_len = pb_i64_text((int64_t)i, index);
        const struct ledger_transfer *t = &r->t[i];
        PB_ASSERT(kind_rules[t->kind].kind == t->kind);
        bool has_code = t->kind == LEDGER_POSTED || t->kind == LEDGER_PENDING;
        CANONICAL_KEY(&o, index, index_len, "amount_minor");
        canonical_int(&o, t->amount);
        CANONICAL_KEY(&o, index, index_len, "code");
        if (has_code)
            canonical_string(&o, ledger_transfer_code_name(t->code));
        else
            PUT_LITERAL(&o, "null");
        CANONICAL_KEY(&o, index, index_len, "credit_account");
        canonical_int(&o, t->credit_account);
        CANONICAL_KEY(&o, index, index_len, "debit_account");
        canonical_int(&o, t->debit_account);
        CANONICAL_KEY(&o, index, index_len, "kind");
        canonical_string(&o, kind_rules[t->kind].name);
        CANONICAL_KEY(&o, index, index_len, "metadata");
        if (t->metadata)
            put_bytes(&o, t->metadata, strlen(t->metadata));
        else
            PUT_LITERAL(&o, "{}");
        CANONICAL_KEY(&o, index, index_len, "pending_id");
        canonical_int(&o, t->pending_id);
        CANONICAL_KEY(&o, index, index_len, "reference");
        canonical_string(&o, t->reference);
        CANONICAL_KEY(&o, index, index_len, "timeout_ms");
        canonical_int(&o, t->timeout_ms);
    }
    *o.p++ = '}';
    *o.p = '\0';
    size_t len = (size_t)(o.p - text);
    PB_ASSERT(len < cap); /* cap > canonical_max(r): the bound held */
    return len;
}
