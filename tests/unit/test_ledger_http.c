/* test_ledger_http.c: the body of POST /api/v1/ledger/transfers (ledger_http_int.h): the
 * scanner for plain bodies agrees with the jansson path on every body, the answer and the
 * error alike, and the canonical request is byte for byte what jansson's json_dumps of the
 * flat object gives. Bodies are generated (valid ones, near misses, and random mutations).
 * And the API's time text is what strftime gives. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "base/base.h"
#include "base/buf.h"
#include "ledger/ledger.h"
#include "ledger/ledger_http.h"
#include "ledger/ledger_http_int.h"

/* ---- the reference: the canonical request as it was built with jansson ---- */

static const char *const kind_names[] = {"posted", "pending", "post", "void"};

static json_t *int_or_null(int64_t v)
{
    return v ? json_integer((json_int_t)v) : json_null();
}

static void flat_set(json_t *flat, size_t i, const char *name, json_t *value)
{
    char key[64];
    snprintf(key, sizeof(key), "transfers[%zu].%s", i, name);
    assert_non_null(value);
    json_object_set_new(flat, key, value);
}

static char *reference_canonical(const struct ledger_http__transfers *r)
{
    json_t *flat = json_object();
    json_object_set_new(flat, "transfers", json_integer((json_int_t)r->n));
    for (size_t i = 0; i < r->n; i++) {
        const struct ledger_transfer *t = &r->t[i];
        bool has_code = t->kind == LEDGER_POSTED || t->kind == LEDGER_PENDING;
        flat_set(flat, i, "kind", json_string(kind_names[t->kind]));
        flat_set(flat, i, "debit_account", int_or_null(t->debit_account));
        flat_set(flat, i, "credit_account", int_or_null(t->credit_account));
        flat_set(flat, i, "amount_minor", int_or_null(t->amount));
        flat_set(flat, i, "code", has_code ? json_string(ledger_transfer_code_name(t->code))
                                           : json_null());
        flat_set(flat, i, "pending_id", int_or_null(t->pending_id));
        flat_set(flat, i, "timeout_ms", int_or_null(t->timeout_ms));
        flat_set(flat, i, "reference", json_string(t->reference));
        flat_set(flat, i, "metadata", t->metadata ? json_loads(t->metadata, 0, NULL)
                                                  : json_object());
    }
    char *text = json_dumps(flat, JSON_COMPACT | JSON_SORT_KEYS);
    assert_non_null(text);
    json_decref(flat);
    return text;
}

/* ---- generated bodies ---- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static size_t pick(size_t n)
{
    return (size_t)(rnd() % n);
}

static bool noisy; /* this body may hold odd values (half of them) */

static bool odd_one(size_t one_in)
{
    return noisy && pick(one_in) == 0;
}

static void ws(struct pb_buf *b)
{
    static const char *const spaces[] = {"", "", "", " ", "\n", "\t", "\r\n  "};
    pb_buf_puts(b, spaces[pick(PB_ARRAY_LEN(spaces))]);
}

static void gen_int(struct pb_buf *b)
{
    static const char *const odd[] = {"0", "-1", "01", "1.0", "1e3", "\"5\"", "null", "true",
                                      "9223372036854775807", "9223372036854775808",
                                      "123456789012345678", "1234567890123456789",
                                      "99999999999999999999", "-0", "31536000000",
                                      "31536000001", "[]", "{}"};
    if (odd_one(5))
        pb_buf_puts(b, odd[pick(PB_ARRAY_LEN(odd))]);
    else
        pb_buf_put_i64(b, (int64_t)(1 + pick(pick(2) ? 1000 : 1000000000)));
}

static void gen_string(struct pb_buf *b, const char *const *good, size_t ngood)
{
    static const char *const odd[] = {"\"\"", "\"a\\nb\"", "\"caf\xc3\xa9\"",
                                      "\"\\u00e9t\xc3\xa9\"", "\"tab\\there\"", "\"q\\\"uote\"",
                                      "\"back\\\\slash\"",
                                      "\"ctl\\u0001\"", "\"del\x7f\"", "\"sl\\/ash\"", "12",
                                      "null", "\"\\ud83d\\ude00\"", "\"\\u0000\""};
    size_t k = noisy ? pick(10) : 2;
    if (k == 0) {
        pb_buf_puts(b, odd[pick(PB_ARRAY_LEN(odd))]);
    } else if (k == 1) { /* around the 128-byte reference limit */
        size_t n = 120 + pick(16);
        pb_buf_putc(b, '"');
        for (size_t i = 0; i < n; i++)
            pb_buf_putc(b, (char)('a' + (char)pick(26)));
        pb_buf_putc(b, '"');
    } else {
        pb_buf_printf(b, "\"%s\"", good[pick(noisy ? ngood : ngood - 1)]);
    }
}

static void gen_metadata(struct pb_buf *b)
{
    static const char *const docs[] = {
        "{}", "{\"b\":1,\"a\":[1,2.5,\"x\"]}", "{\"z\":{\"y\":null,\"x\":true}}",
        "{\"r\":0.1,\"e\":1e300,\"n\":-0.0}", "{\"s\":\"\\u00e9\\n\\\"\"}", "[]", "\"m\"",
        "{\"a\":1,\"a\":2}"};
    pb_buf_puts(b, docs[pick(noisy ? PB_ARRAY_LEN(docs) : 5)]); /* the first five are good */
}

static void gen_transfer(struct pb_buf *b)
{
    static const char *const kinds[] = {"posted", "pending", "post", "void", "other"};
    static const char *const codes[] = {"bet", "win", "refund", "deposit", "bonus_grant",
                                        "nope"};
    static const char *const refs[] = {"round:1", "round:r1-0-17", "x", "payment:abc-DEF_9",
                                       "a b c", "{}[],:", "~"};
    static const char *const names[] = {"kind", "debit_account", "credit_account",
                                        "amount_minor", "code", "pending_id", "timeout_ms",
                                        "reference", "metadata", "extra"};
    if (odd_one(40)) {
        pb_buf_puts(b, pick(2) ? "[]" : "42");
        return;
    }
    pb_buf_putc(b, '{');
    /* Usually a well-formed transfer of one kind, sometimes any fields. */
    bool any = odd_one(4);
    size_t kind = pick(4);
    static const unsigned wanted[] = {0x9f, 0xdf, 0xa1, 0xa1}; /* by kind, bit i: names[i] */
    bool first = true;
    for (size_t f = 0; f < PB_ARRAY_LEN(names); f++) {
        bool want = any ? pick(2) == 0 : ((wanted[kind] >> f) & 1u) != 0;
        if (f == 0 && !any)
            want = kind != 0 || pick(2) == 0; /* kind posted is the default */
        if (f == 6 && !any)
            want = kind == 1;
        if (f == 8)
            want = pick(8) == 0;
        if (f == 9)
            want = odd_one(30);
        for (size_t rep = 0; want && rep < (odd_one(30) ? 2u : 1u); rep++) {
            if (!first)
                pb_buf_putc(b, ',');
            first = false;
            ws(b);
            pb_buf_printf(b, "\"%s\"", names[f]);
            ws(b);
            pb_buf_putc(b, ':');
            ws(b);
            if (f == 0)
                odd_one(8) ? gen_string(b, kinds, PB_ARRAY_LEN(kinds))
                           : pb_buf_printf(b, "\"%s\"", kind_names[kind]);
            else if (f == 4)
                gen_string(b, codes, PB_ARRAY_LEN(codes));
            else if (f == 7)
                gen_string(b, refs, PB_ARRAY_LEN(refs));
            else if (f == 8)
                gen_metadata(b);
            else if (f == 9)
                pb_buf_puts(b, "1");
            else
                gen_int(b);
            ws(b);
        }
    }
    pb_buf_putc(b, '}');
}

static void gen_body(struct pb_buf *b)
{
    pb_buf_reset(b);
    noisy = pick(2) == 0;
    ws(b);
    if (odd_one(50)) {
        pb_buf_puts(b, pick(2) ? "[]" : "{\"other\":1}");
        return;
    }
    pb_buf_putc(b, '{');
    ws(b);
    pb_buf_puts(b, odd_one(60) ? "\"transfer\"" : "\"transfers\"");
    ws(b);
    pb_buf_puts(b, ":");
    ws(b);
    pb_buf_putc(b, '[');
    size_t n = odd_one(10) ? pick(19) : 1 + pick(pick(10) ? 3 : LEDGER_LINKED_MAX);
    for (size_t i = 0; i < n; i++) {
        if (i)
            pb_buf_putc(b, ',');
        ws(b);
        gen_transfer(b);
        ws(b);
    }
    pb_buf_putc(b, ']');
    ws(b);
    if (odd_one(40))
        pb_buf_puts(b, ",\"transfers\":[]");
    pb_buf_putc(b, '}');
    ws(b);
    if (odd_one(60))
        pb_buf_puts(b, pick(2) ? "x" : "{}");
}

/* Flips, drops or inserts a few bytes. */
static void mutate(struct pb_buf *b)
{
    static const char alphabet[] = "{}[]:,\"\\ 0123456789-.eE\x01\x80\xc3\xa9tnul";
    size_t edits = 1 + pick(3);
    for (size_t e = 0; e < edits && b->len > 0; e++) {
        size_t at = pick(b->len);
        size_t what = pick(3);
        if (what == 0) {
            b->data[at] = alphabet[pick(sizeof(alphabet) - 1)];
        } else if (what == 1) {
            memmove(b->data + at, b->data + at + 1, b->len - at);
            b->len--;
        } else {
            pb_buf_putc(b, ' ');
            memmove(b->data + at + 1, b->data + at, b->len - at - 1);
            b->data[at] = alphabet[pick(sizeof(alphabet) - 1)];
        }
    }
}

/* ---- comparing the two paths ---- */

/* The canonical request in room of exactly the bound it promises (ASan sees an overrun). */
static char *canonical(const struct ledger_http__transfers *r)
{
    size_t cap = ledger_http__transfers_canonical_max(r) + 1;
    char *text = malloc(cap);
    assert_non_null(text);
    size_t len = ledger_http__transfers_canonical(r, text, cap);
    assert_int_equal(strlen(text), len);
    return text;
}

struct tally {
    size_t plain, decoded, refused;
};

static void check_same(const char *text, size_t len, struct tally *tally)
{
    struct ledger_http__transfers a, b;
    struct pb_json_error ea, eb;
    memset(&ea, 0, sizeof(ea));
    memset(&eb, 0, sizeof(eb));
    int ra = ledger_http__transfers_decode(text, len, &a, &ea);
    int rb = ledger_http__transfers_decode_json(text, len, &b, &eb);
    if (ra != rb)
        fail_msg("paths disagree (%d, %d) on: %.*s", ra, rb, (int)len, text);
    assert_false(b.plain);
    if (ra != PB_OK) {
        assert_false(a.plain);
        assert_string_equal(ea.code, eb.code);
        assert_string_equal(ea.field, eb.field);
        assert_string_equal(ea.detail, eb.detail);
        tally->refused++;
    } else {
        assert_int_equal(a.n, b.n);
        for (size_t i = 0; i < a.n; i++) {
            const struct ledger_transfer *x = &a.t[i], *y = &b.t[i];
            assert_int_equal(x->kind, y->kind);
            assert_int_equal(x->debit_account, y->debit_account);
            assert_int_equal(x->credit_account, y->credit_account);
            assert_int_equal(x->amount, y->amount);
            assert_int_equal(x->code, y->code);
            assert_int_equal(x->pending_id, y->pending_id);
            assert_int_equal(x->timeout_ms, y->timeout_ms);
            assert_string_equal(x->reference, y->reference);
            assert_true((x->metadata == NULL) == (y->metadata == NULL));
            if (x->metadata)
                assert_string_equal(x->metadata, y->metadata);
            assert_null(x->context);
        }
        char *ca = canonical(&a), *cb = canonical(&b);
        char *ref = reference_canonical(&b);
        assert_string_equal(ca, ref);
        assert_string_equal(cb, ref);
        free(ref);
        free(ca);
        free(cb);
        tally->plain += a.plain;
        tally->decoded++;
    }
    ledger_http__transfers_release(&a);
    ledger_http__transfers_release(&b);
}

static void test_generated_bodies_decode_alike(void **state)
{
    (void)state;
    struct pb_buf body = PB_BUF_INIT;
    struct tally t = {0, 0, 0};
    for (int i = 0; i < 60000; i++) {
        gen_body(&body);
        if (i % 3 == 2)
            mutate(&body);
        check_same(body.data, body.len, &t);
    }
    pb_buf_release(&body);
    printf("generated: %zu decoded (%zu by the scanner), %zu refused\n", t.decoded, t.plain,
           t.refused);
    /* Each path is exercised in earnest: the scanner takes most good bodies. */
    assert_true(t.plain > 10000);
    assert_true(t.decoded - t.plain > 2000);
    assert_true(t.refused > 10000);
}

static void test_game_server_body_takes_the_scanner(void **state)
{
    (void)state;
    static const char body[] =
        "{\"transfers\":[{\"kind\":\"posted\",\"debit_account\":12,\"credit_account\":3,"
        "\"amount_minor\":50,\"code\":\"bet\",\"reference\":\"round:r1-0-7\"},"
        "{\"kind\":\"posted\",\"debit_account\":3,\"credit_account\":12,\"amount_minor\":80,"
        "\"code\":\"win\",\"reference\":\"round:r1-0-7\"}]}";
    struct ledger_http__transfers r;
    struct pb_json_error err;
    assert_int_equal(ledger_http__transfers_decode(body, strlen(body), &r, &err), PB_OK);
    assert_true(r.plain);
    assert_int_equal(r.n, 2);
    char *c = canonical(&r);
    assert_string_equal(
        c,
        "{\"transfers\":2,\"transfers[0].amount_minor\":50,\"transfers[0].code\":\"bet\","
        "\"transfers[0].credit_account\":3,\"transfers[0].debit_account\":12,"
        "\"transfers[0].kind\":\"posted\",\"transfers[0].metadata\":{},"
        "\"transfers[0].pending_id\":null,\"transfers[0].reference\":\"round:r1-0-7\","
        "\"transfers[0].timeout_ms\":null,\"transfers[1].amount_minor\":80,"
        "\"transfers[1].code\":\"win\",\"transfers[1].credit_account\":12,"
        "\"transfers[1].debit_account\":3,\"transfers[1].kind\":\"posted\","
        "\"transfers[1].metadata\":{},\"transfers[1].pending_id\":null,"
        "\"transfers[1].reference\":\"round:r1-0-7\",\"transfers[1].timeout_ms\":null}");
    free(c);
    ledger_http__transfers_release(&r);
    struct tally t = {0, 0, 0};
    check_same(body, strlen(body), &t);
    assert_int_equal(t.plain, 1);
}

/* Sixteen transfers: "transfers[10]..." sorts before "transfers[1]...", as jansson has it. */
static void test_sixteen_transfers_keep_jansson_key_order(void **state)
{
    (void)state;
    struct pb_buf b = PB_BUF_INIT;
    pb_buf_puts(&b, "{\"transfers\":[");
    for (int i = 0; i < LEDGER_LINKED_MAX; i++)
        pb_buf_printf(&b, "%s{\"debit_account\":%d,\"credit_account\":2,\"amount_minor\":%d,"
                          "\"code\":\"bet\",\"reference\":\"r%d\"%s}",
                      i ? "," : "", i + 3, 100 + i, i,
                      i == 5 ? ",\"metadata\":{\"b\":[1,{\"z\":0,\"a\":1}],\"a\":\"\\t\"}" : "");
    pb_buf_puts(&b, "]}");
    struct tally t = {0, 0, 0};
    check_same(b.data, b.len, &t);
    assert_int_equal(t.decoded, 1);
    assert_int_equal(t.plain, 0); /* metadata: jansson's path */
    pb_buf_reset(&b);
    pb_buf_puts(&b, "{\"transfers\":[");
    for (int i = 0; i < LEDGER_LINKED_MAX; i++)
        pb_buf_printf(&b, "%s{\"kind\":\"void\",\"pending_id\":%d,\"reference\":\"v%d\"}",
                      i ? "," : "", i + 1, i);
    pb_buf_puts(&b, "]}");
    check_same(b.data, b.len, &t);
    assert_int_equal(t.plain, 1);
    pb_buf_release(&b);
}

/* References with every character json_dumps escapes, and some it does not. */
static void test_canonical_strings_escape_like_jansson(void **state)
{
    (void)state;
    static const char *const refs[] = {
        "\\\"", "a\\u0001b\\u001fc", "\\b\\f\\n\\r\\t", "caf\xc3\xa9 \xf0\x9f\x98\x80",
        "\x7f/\\/", "\\u00e9\\u2028", "plain"};
    for (size_t i = 0; i < PB_ARRAY_LEN(refs); i++) {
        char body[512];
        snprintf(body, sizeof(body),
                 "{\"transfers\":[{\"kind\":\"pending\",\"debit_account\":1,"
                 "\"credit_account\":2,\"amount_minor\":3,\"code\":\"bet\","
                 "\"timeout_ms\":1000,\"reference\":\"%s\"}]}",
                 refs[i]);
        struct tally t = {0, 0, 0};
        check_same(body, strlen(body), &t);
        assert_int_equal(t.decoded, 1);
    }
}

/* The most a body can ask for: sixteen transfers, each with a 128-byte reference of control
 * characters (six bytes each once escaped) and the longest code name. */
static void test_canonical_fits_its_bound_at_the_limits(void **state)
{
    (void)state;
    const char *longest = "bet";
    for (int code = 0; code < 64; code++) {
        const char *name = ledger_transfer_code_name(code);
        if (name && strlen(name) > strlen(longest))
            longest = name;
    }
    struct pb_buf b = PB_BUF_INIT;
    pb_buf_puts(&b, "{\"transfers\":[");
    for (int i = 0; i < LEDGER_LINKED_MAX; i++) {
        pb_buf_printf(&b, "%s{\"kind\":\"pending\",\"debit_account\":9223372036854775807,"
                          "\"credit_account\":9223372036854775806,"
                          "\"amount_minor\":9223372036854775805,\"timeout_ms\":31536000000,"
                          "\"code\":\"%s\",\"reference\":\"",
                      i ? "," : "", longest);
        for (int k = 0; k < LEDGER_REFERENCE_MAX; k++)
            pb_buf_puts(&b, "\\u0001");
        pb_buf_puts(&b, "\"}");
    }
    pb_buf_puts(&b, "]}");
    struct tally t = {0, 0, 0};
    check_same(b.data, b.len, &t);
    assert_int_equal(t.decoded, 1);
    pb_buf_release(&b);
}

/* The time formatter agrees with gmtime_r and strftime over the whole range. */
static void reference_time(int64_t ns, char *out, size_t len)
{
    time_t secs = (time_t)(ns / 1000000000);
    struct tm tm;
    assert_non_null(gmtime_r(&secs, &tm));
    size_t n = strftime(out, len, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, len - n, ".%09dZ", (int)(ns % 1000000000));
}

static void test_times_format_like_strftime(void **state)
{
    (void)state;
    static const int64_t edges[] = {0, 999999999, 951782400000000000 /* 2000-02-29 */,
                                    4107542399999999999 /* 2100-02-28T23:59:59 */,
                                    4107542400000000000, 1735689599999999999, INT64_MAX};
    char got[LEDGER_HTTP_TIME_TEXT_MAX], want[LEDGER_HTTP_TIME_TEXT_MAX];
    for (size_t i = 0; i < PB_ARRAY_LEN(edges) + 200000; i++) {
        int64_t ns = i < PB_ARRAY_LEN(edges) ? edges[i] : (int64_t)(rnd() >> 1);
        if (i % 2 == 1 && i >= PB_ARRAY_LEN(edges)) /* also near now, to the second */
            ns = 1700000000000000000 + (int64_t)(rnd() % 4000000000000000000ull / 3);
        ledger_http__format_time_ns(ns, got);
        reference_time(ns, want, sizeof(want));
        assert_string_equal(got, want);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_generated_bodies_decode_alike),
        cmocka_unit_test(test_game_server_body_takes_the_scanner),
        cmocka_unit_test(test_sixteen_transfers_keep_jansson_key_order),
        cmocka_unit_test(test_canonical_strings_escape_like_jansson),
        cmocka_unit_test(test_canonical_fits_its_bound_at_the_limits),
        cmocka_unit_test(test_times_format_like_strftime),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
