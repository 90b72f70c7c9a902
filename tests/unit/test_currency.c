/* test_currency.c: the currency registry (ISO 4217 exponents, crypto scales), exact amount
 * parsing and formatting with every refusal, overflow-checked arithmetic at the int64 bounds,
 * and the account and transfer code names. Includes currency.c to check its static table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../src/ledger/currency.c"

static const struct ledger_currency *must_find(const char *code)
{
    const struct ledger_currency *c = ledger_currency_find(code);
    if (c == NULL)
        fail_msg("currency %s is not in the registry", code);
    assert_string_equal(c->code, code);
    return c;
}

static void test_registry_table_is_sorted_unique_and_well_formed(void **state)
{
    (void)state;
    size_t n = PB_ARRAY_LEN(currency_table);
    for (size_t i = 0; i < n; i++) {
        const struct ledger_currency *c = &currency_table[i];
        size_t len = strlen(c->code);
        assert_in_range(len, 3, LEDGER_CURRENCY_MAX);
        for (size_t k = 0; k < len; k++)
            assert_true((c->code[k] >= 'A' && c->code[k] <= 'Z') ||
                        (c->code[k] >= '0' && c->code[k] <= '9'));
        assert_in_range(c->exponent, 0, CURRENCY_EXPONENT_MAX);
        if (i > 0 && strcmp(currency_table[i - 1].code, c->code) >= 0)
            fail_msg("table out of order at %s, %s", currency_table[i - 1].code, c->code);
        assert_ptr_equal(ledger_currency_find(c->code), c); /* bisection finds every entry */
    }
}

static void test_fiat_exponents_follow_iso_4217(void **state)
{
    (void)state;
    static const char *two[] = {
        "USD", "EUR", "GBP", "CHF", "CAD", "AUD", "NZD", "SEK", "NOK", "DKK", "PLN", "CZK",
        "HUF", "RON", "BGN", "TRY", "BRL", "MXN", "ARS", "COP", "PEN", "INR", "CNY", "HKD",
        "SGD", "THB", "PHP", "IDR", "MYR", "ZAR", "NGN", "KES", "GHS", "EGP", "MAD", "AED",
        "SAR", "QAR", "ILS", "UAH"};
    static const char *zero[] = {"CLP", "JPY", "KRW", "VND", "ISK", "UGX", "XOF", "XAF"};
    static const char *three[] = {"TND", "KWD", "BHD", "OMR", "JOD", "IQD", "LYD"};
    for (size_t i = 0; i < PB_ARRAY_LEN(two); i++)
        assert_int_equal(must_find(two[i])->exponent, 2);
    for (size_t i = 0; i < PB_ARRAY_LEN(zero); i++)
        assert_int_equal(must_find(zero[i])->exponent, 0);
    for (size_t i = 0; i < PB_ARRAY_LEN(three); i++)
        assert_int_equal(must_find(three[i])->exponent, 3);
    assert_int_equal(must_find("JPY")->exponent, 0);
    assert_int_equal(must_find("KWD")->exponent, 3);
    assert_false(must_find("EUR")->crypto);
}

static void test_crypto_scales_are_configured(void **state)
{
    (void)state;
    static const struct {
        const char *code;
        int exponent;
    } scales[] = {{"BTC", 8}, {"ETH", 9}, {"USDT", 6}, {"USDC", 6}, {"LTC", 8},
                  {"DOGE", 8}, {"TRX", 6}, {"SOL", 9}, {"XRP", 6}, {"BNB", 8}};
    for (size_t i = 0; i < PB_ARRAY_LEN(scales); i++) {
        const struct ledger_currency *c = must_find(scales[i].code);
        assert_int_equal(c->exponent, scales[i].exponent);
        assert_true(c->crypto);
    }
    assert_int_equal(must_find("BTC")->exponent, 8);
    assert_int_equal(must_find("ETH")->exponent, 9);
}

static void test_unknown_or_miscased_codes_are_not_found(void **state)
{
    (void)state;
    static const char *bad[] = {"", "eur", "Eur", "EU", "EURO", "EUR ", " EUR", "XXX",
                                "BTCBTCBTC", "USDTUSDTUSDT", "E\xc3\x9cR"};
    for (size_t i = 0; i < PB_ARRAY_LEN(bad); i++)
        if (ledger_currency_find(bad[i]) != NULL)
            fail_msg("'%s' was found", bad[i]);
}

struct parse_case {
    const char *code;
    const char *text;
    int64_t minor;
};

static void test_parse_accepts_canonical_decimals_exactly(void **state)
{
    (void)state;
    static const struct parse_case cases[] = {
        {"EUR", "0", 0},        {"EUR", "12.34", 1234},   {"EUR", "12.3", 1230},
        {"EUR", "12", 1200},    {"EUR", "0.05", 5},       {"EUR", "0.00", 0},
        {"EUR", "-0.05", -5},   {"EUR", "-12", -1200},    {"JPY", "1500", 1500},
        {"KWD", "1.234", 1234}, {"KWD", "0.001", 1},      {"BTC", "0.00000001", 1},
        {"BTC", "21000000", 2100000000000000},            {"ETH", "1.5", 1500000000},
        {"ETH", "0.000000001", 1},                        {"USDT", "10.000001", 10000001},
        {"EUR", "10.10", 1010},
    };
    for (size_t i = 0; i < PB_ARRAY_LEN(cases); i++) {
        int64_t v = 99;
        if (ledger_amount_parse(cases[i].text, must_find(cases[i].code), true, &v) != PB_OK)
            fail_msg("%s '%s' was refused", cases[i].code, cases[i].text);
        assert_int_equal(v, cases[i].minor);
    }
}

static void test_parse_refuses_every_non_canonical_form(void **state)
{
    (void)state;
    static const struct {
        const char *code, *text, *why;
    } cases[] = {
        {"EUR", "", "empty"},
        {"EUR", "-", "sign alone"},
        {"EUR", "1.", "no digit after the point"},
        {"EUR", ".5", "no digit before the point"},
        {"EUR", "-.5", "no digit before the point, negative"},
        {"EUR", ".", "point alone"},
        {"EUR", "+1", "leading plus"},
        {"EUR", "--1", "double sign"},
        {"EUR", " 1", "leading space"},
        {"EUR", "1 ", "trailing space"},
        {"EUR", "1 000", "inner space"},
        {"EUR", "1,000", "thousands separator"},
        {"EUR", "1,5", "decimal comma"},
        {"EUR", "1e3", "exponent"},
        {"EUR", "1E3", "upper-case exponent"},
        {"EUR", "1.5e1", "exponent after decimals"},
        {"EUR", "0x10", "hex"},
        {"EUR", "01", "leading zero"},
        {"EUR", "00", "double zero"},
        {"EUR", "00.5", "leading zeros before the point"},
        {"EUR", "-0", "negative zero"},
        {"EUR", "-0.00", "negative zero with decimals"},
        {"EUR", "1.234", "more decimals than the exponent"},
        {"EUR", "1.230", "trailing zero beyond the exponent"},
        {"EUR", "1.2.3", "two points"},
        {"JPY", "1.0", "a point in a currency without minor units"},
        {"JPY", "1.", "a point in a currency without minor units"},
        {"KWD", "1.2345", "four decimals for KWD"},
        {"BTC", "0.000000001", "nine decimals for BTC"},
        {"EUR", "inf", "letters"},
        {"EUR", "NaN", "letters"},
        {"EUR", "1\n", "newline"},
        {"EUR", "\xef\xbc\x91", "full-width digit"},
    };
    for (size_t i = 0; i < PB_ARRAY_LEN(cases); i++) {
        int64_t v = 4242;
        if (ledger_amount_parse(cases[i].text, must_find(cases[i].code), true, &v) !=
            PB_ERR_INVALID)
            fail_msg("%s '%s' (%s) was accepted", cases[i].code, cases[i].text, cases[i].why);
        assert_int_equal(v, 4242); /* a refusal leaves out untouched */
    }
}

static void test_parse_refuses_negative_unless_allowed(void **state)
{
    (void)state;
    const struct ledger_currency *eur = must_find("EUR");
    int64_t v = 7;
    assert_int_equal(ledger_amount_parse("-1.00", eur, false, &v), PB_ERR_INVALID);
    assert_int_equal(v, 7);
    assert_int_equal(ledger_amount_parse("-1.00", eur, true, &v), PB_OK);
    assert_int_equal(v, -100);
    assert_int_equal(ledger_amount_parse("1.00", eur, false, &v), PB_OK);
    assert_int_equal(v, 100);
}

static void test_parse_reaches_int64_bounds_and_refuses_beyond(void **state)
{
    (void)state;
    static const struct {
        const char *code, *max, *above_max, *min, *below_min;
    } cases[] = {
        {"EUR", "92233720368547758.07", "92233720368547758.08", "-92233720368547758.08",
         "-92233720368547758.09"},
        {"JPY", "9223372036854775807", "9223372036854775808", "-9223372036854775808",
         "-9223372036854775809"},
        {"BTC", "92233720368.54775807", "92233720368.54775808", "-92233720368.54775808",
         "-92233720368.54775809"},
        {"ETH", "9223372036.854775807", "9223372036.854775808", "-9223372036.854775808",
         "-9223372036.854775809"},
        {"KWD", "9223372036854775.807", "9223372036854775.808", "-9223372036854775.808",
         "-9223372036854775.809"},
    };
    for (size_t i = 0; i < PB_ARRAY_LEN(cases); i++) {
        const struct ledger_currency *c = must_find(cases[i].code);
        int64_t v = 0;
        assert_int_equal(ledger_amount_parse(cases[i].max, c, true, &v), PB_OK);
        assert_int_equal(v, INT64_MAX);
        assert_int_equal(ledger_amount_parse(cases[i].min, c, true, &v), PB_OK);
        assert_true(v == INT64_MIN);
        v = 1;
        assert_int_equal(ledger_amount_parse(cases[i].above_max, c, true, &v), PB_ERR_INVALID);
        assert_int_equal(ledger_amount_parse(cases[i].below_min, c, true, &v), PB_ERR_INVALID);
        assert_int_equal(v, 1);
    }
    int64_t v = 1;
    const struct ledger_currency *eur = must_find("EUR");
    /* overflow found while padding the fraction, and far beyond the range */
    assert_int_equal(ledger_amount_parse("92233720368547759", eur, false, &v), PB_ERR_INVALID);
    assert_int_equal(ledger_amount_parse("100000000000000000000000000000", eur, false, &v),
                     PB_ERR_INVALID);
    assert_int_equal(v, 1);
}

static void test_format_writes_every_exponent_digit(void **state)
{
    (void)state;
    static const struct parse_case cases[] = {
        {"EUR", "0.00", 0},         {"EUR", "-0.05", -5},     {"EUR", "12.30", 1230},
        {"EUR", "1.00", 100},       {"JPY", "7", 7},          {"JPY", "-7", -7},
        {"JPY", "0", 0},            {"KWD", "1.234", 1234},   {"BTC", "0.00000001", 1},
        {"ETH", "0.000000001", 1},  {"ETH", "-1.000000000", -1000000000},
        {"EUR", "92233720368547758.07", INT64_MAX},
        {"EUR", "-92233720368547758.08", INT64_MIN},
        {"JPY", "-9223372036854775808", INT64_MIN},
    };
    for (size_t i = 0; i < PB_ARRAY_LEN(cases); i++) {
        char out[32];
        ledger_amount_format(cases[i].minor, must_find(cases[i].code), out, sizeof(out));
        assert_string_equal(out, cases[i].text);
    }
    char tight[22]; /* the longest text: sign, 19 digits, point, NUL */
    ledger_amount_format(INT64_MIN, must_find("ETH"), tight, sizeof(tight));
    assert_string_equal(tight, "-9223372036.854775808");
}

static uint64_t next_random(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static void check_round_trip(int64_t v, const struct ledger_currency *c)
{
    char text[32], again[32];
    ledger_amount_format(v, c, text, sizeof(text));
    int64_t back = v ^ 1;
    if (ledger_amount_parse(text, c, true, &back) != PB_OK)
        fail_msg("%s: formatted %lld as '%s', which parse refused", c->code, (long long)v, text);
    assert_true(back == v);
    ledger_amount_format(back, c, again, sizeof(again));
    assert_string_equal(text, again);
}

static void test_format_then_parse_is_identity_for_every_currency(void **state)
{
    (void)state;
    static const int64_t edges[] = {0, 1, -1, 9, 10, 99, 100, 101, 999999999, 1000000000,
                                    INT64_MAX, INT64_MIN, INT64_MAX - 1, INT64_MIN + 1};
    uint64_t seed = 0x9e3779b97f4a7c15ull;
    for (size_t ci = 0; ci < PB_ARRAY_LEN(currency_table); ci++) {
        const struct ledger_currency *c = &currency_table[ci];
        for (size_t i = 0; i < PB_ARRAY_LEN(edges); i++)
            check_round_trip(edges[i], c);
        for (int i = 0; i < 2000; i++) {
            uint64_t r = next_random(&seed);
            int64_t v = (int64_t)(r >> (r % 64)); /* every magnitude, both signs */
            check_round_trip((r & 1) ? v : -(v & INT64_MAX), c);
        }
    }
}

static void test_add_and_sub_refuse_overflow_at_int64_bounds(void **state)
{
    (void)state;
    int64_t v = 5;
    assert_int_equal(ledger_add(INT64_MAX, 1, &v), PB_ERR_INVALID);
    assert_int_equal(ledger_add(INT64_MIN, -1, &v), PB_ERR_INVALID);
    assert_int_equal(ledger_add(INT64_MAX, INT64_MAX, &v), PB_ERR_INVALID);
    assert_int_equal(ledger_sub(INT64_MIN, 1, &v), PB_ERR_INVALID);
    assert_int_equal(ledger_sub(0, INT64_MIN, &v), PB_ERR_INVALID);
    assert_int_equal(ledger_sub(INT64_MAX, -1, &v), PB_ERR_INVALID);
    assert_int_equal(v, 5); /* a refusal leaves out untouched */
    assert_int_equal(ledger_add(INT64_MAX - 1, 1, &v), PB_OK);
    assert_int_equal(v, INT64_MAX);
    assert_int_equal(ledger_add(INT64_MAX, INT64_MIN, &v), PB_OK);
    assert_int_equal(v, -1);
    assert_int_equal(ledger_sub(INT64_MIN + 1, 1, &v), PB_OK);
    assert_true(v == INT64_MIN);
    assert_int_equal(ledger_sub(-1, INT64_MIN, &v), PB_OK);
    assert_int_equal(v, INT64_MAX);
    assert_int_equal(ledger_sub(1234, 1234, &v), PB_OK);
    assert_int_equal(v, 0);
}

static void check_names_both_ways(const char *(*name_of_code)(int),
                                  int (*parse)(const char *, int *), const int *codes,
                                  const char **names, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const char *name = name_of_code(codes[i]);
        assert_non_null(name);
        assert_string_equal(name, names[i]);
        int code = -1;
        assert_int_equal(parse(names[i], &code), PB_OK);
        assert_int_equal(code, codes[i]);
    }
    static const int bad_codes[] = {0, -1, 4, 9, 12, 17, 100};
    for (size_t i = 0; i < PB_ARRAY_LEN(bad_codes); i++) {
        bool listed = false;
        for (size_t k = 0; k < n; k++)
            listed = listed || codes[k] == bad_codes[i];
        if (!listed)
            assert_null(name_of_code(bad_codes[i]));
    }
    static const char *bad_names[] = {"", "BET", "Player_cash", "bet ", "unknown", "house"};
    for (size_t i = 0; i < PB_ARRAY_LEN(bad_names); i++) {
        int code = 77;
        assert_int_equal(parse(bad_names[i], &code), PB_ERR_INVALID);
        assert_int_equal(code, 77);
    }
    int code = 77;
    assert_int_equal(parse(NULL, &code), PB_ERR_INVALID);
}

static void test_account_code_names_both_ways(void **state)
{
    (void)state;
    static const int codes[] = {
        LEDGER_ACC_PLAYER_CASH, LEDGER_ACC_PLAYER_BONUS, LEDGER_ACC_PLAYER_LOCKED,
        LEDGER_ACC_HOUSE_CASINO, LEDGER_ACC_HOUSE_SPORTSBOOK, LEDGER_ACC_PROVIDER_CLEARING,
        LEDGER_ACC_PSP_CLEARING, LEDGER_ACC_BONUS_EXPENSE, LEDGER_ACC_COMMISSION_PAYABLE,
        LEDGER_ACC_ADJUSTMENTS};
    static const char *names[] = {
        "player_cash", "player_bonus", "player_locked", "house_casino", "house_sportsbook",
        "provider_clearing", "psp_clearing", "bonus_expense", "commission_payable",
        "adjustments"};
    check_names_both_ways(ledger_account_code_name, ledger_account_code_parse, codes, names,
                          PB_ARRAY_LEN(codes));
    int code;
    assert_int_equal(ledger_account_code_parse("bet", &code), PB_ERR_INVALID);
}

static void test_transfer_code_names_both_ways(void **state)
{
    (void)state;
    static const int codes[] = {
        LEDGER_TX_BET, LEDGER_TX_WIN, LEDGER_TX_REFUND, LEDGER_TX_DEPOSIT,
        LEDGER_TX_WITHDRAWAL, LEDGER_TX_BONUS_GRANT, LEDGER_TX_BONUS_CONVERSION,
        LEDGER_TX_COMMISSION, LEDGER_TX_ADJUSTMENT, LEDGER_TX_HOLD, LEDGER_TX_TRANSFER};
    static const char *names[] = {
        "bet", "win", "refund", "deposit", "withdrawal", "bonus_grant", "bonus_conversion",
        "commission", "adjustment", "hold", "transfer"};
    check_names_both_ways(ledger_transfer_code_name, ledger_transfer_code_parse, codes, names,
                          PB_ARRAY_LEN(codes));
    int code;
    assert_int_equal(ledger_transfer_code_parse("player_cash", &code), PB_ERR_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_registry_table_is_sorted_unique_and_well_formed),
        cmocka_unit_test(test_fiat_exponents_follow_iso_4217),
        cmocka_unit_test(test_crypto_scales_are_configured),
        cmocka_unit_test(test_unknown_or_miscased_codes_are_not_found),
        cmocka_unit_test(test_parse_accepts_canonical_decimals_exactly),
        cmocka_unit_test(test_parse_refuses_every_non_canonical_form),
        cmocka_unit_test(test_parse_refuses_negative_unless_allowed),
        cmocka_unit_test(test_parse_reaches_int64_bounds_and_refuses_beyond),
        cmocka_unit_test(test_format_writes_every_exponent_digit),
        cmocka_unit_test(test_format_then_parse_is_identity_for_every_currency),
        cmocka_unit_test(test_add_and_sub_refuse_overflow_at_int64_bounds),
        cmocka_unit_test(test_account_code_names_both_ways),
        cmocka_unit_test(test_transfer_code_names_both_ways),
    };
    return cmocka_run_group_tests_name("unit.currency", tests, NULL, NULL);
}
