/* currency.c: the currency registry, exact decimal amounts, overflow-checked arithmetic and
 * the names of account and transfer codes. DESIGN.md section 3 (money rules); contract in
 * ledger.h ("currencies" and "codes").
 *
 * Registry: ISO 4217 fiat currencies with their ISO exponents, and crypto assets with the
 * scale pitboss keeps them in (BTC 8: satoshi; ETH 9: gwei, since wei does not fit int64 for
 * real balances; tokens at their usual on-chain precision). The table is sorted by code and
 * searched by bisection; tests/unit/test_currency.c checks the order.
 *
 * Amount text (ledger_amount_parse) is the canonical decimal form and nothing else:
 *   amount   = ["-"] integer ["." fraction]
 *   integer  = "0" / non-zero digit followed by digits      (no superfluous leading zeros)
 *   fraction = 1 to exponent digits                          (trailing zeros are fine)
 * Refused: empty text, "1." and ".5" (a digit is required on both sides of the point), a '+'
 * sign, '-' unless allow_negative, "-0" and "-0.00" (zero has no sign), leading zeros ("01"),
 * spaces anywhere, exponents ("1e3"), thousands separators, any point in a currency of
 * exponent 0, more fraction digits than the exponent (no rounding ever), and a value outside
 * int64 minor units. ledger_amount_format writes exactly this form with all exponent digits
 * ("12.30", "-0.05", "7" for JPY), so format -> parse is the identity for every int64. */
#include <string.h>

#include "base/base.h"
#include "ledger/ledger.h"

/* Sorted by code (strcmp order). */
static const struct ledger_currency currency_table[] = {
    {"AED", 2, false},  {"ARS", 2, false},  {"AUD", 2, false},  {"BGN", 2, false},
    {"BHD", 3, false},  {"BNB", 8, true},   {"BRL", 2, false},  {"BTC", 8, true},
    {"CAD", 2, false},  {"CHF", 2, false},  {"CLP", 0, false},  {"CNY", 2, false},
    {"COP", 2, false},  {"CZK", 2, false},  {"DKK", 2, false},  {"DOGE", 8, true},
    {"EGP", 2, false},  {"ETH", 9, true},   {"EUR", 2, false},  {"GBP", 2, false},
    {"GEL", 2, false},  {"GHS", 2, false},  {"HKD", 2, false},  {"HUF", 2, false},
    {"IDR", 2, false},  {"ILS", 2, false},  {"INR", 2, false},  {"IQD", 3, false},
    {"ISK", 0, false},  {"JOD", 3, false},  {"JPY", 0, false},  {"KES", 2, false},
    {"KRW", 0, false},  {"KWD", 3, false},  {"KZT", 2, false},  {"LTC", 8, true},
    {"LYD", 3, false},  {"MAD", 2, false},  {"MXN", 2, false},  {"MYR", 2, false},
    {"NGN", 2, false},  {"NOK", 2, false},  {"NZD", 2, false},  {"OMR", 3, false},
    {"PEN", 2, false},  {"PHP", 2, false},  {"PKR", 2, false},  {"PLN", 2, false},
    {"PYG", 0, false},  {"QAR", 2, false},  {"RON", 2, false},  {"RSD", 2, false},
    {"RWF", 0, false},  {"SAR", 2, false},  {"SEK", 2, false},  {"SGD", 2, false},
    {"SOL", 9, true},   {"THB", 2, false},  {"TND", 3, false},  {"TRX", 6, true},
    {"TRY", 2, false},  {"TWD", 2, false},  {"UAH", 2, false},  {"UGX", 0, false},
    {"USD", 2, false},  {"USDC", 6, true},  {"USDT", 6, true},  {"UYU", 2, false},
    {"VND", 0, false},  {"XAF", 0, false},  {"XOF", 0, false},  {"XRP", 6, true},
    {"ZAR", 2, false},
};

/* The largest exponent the registry may hold: 10^18 is the largest power of ten in int64. */
#define CURRENCY_EXPONENT_MAX 18

const struct ledger_currency *ledger_currency_find(const char *code)
{
    PB_ASSERT(code != NULL);
    if (strnlen(code, LEDGER_CURRENCY_MAX + 1) > LEDGER_CURRENCY_MAX)
        return NULL;
    size_t lo = 0, hi = PB_ARRAY_LEN(currency_table);
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int cmp = strcmp(code, currency_table[mid].code);
        if (cmp == 0) {
            PB_ASSERT(currency_table[mid].exponent >= 0);
            PB_ASSERT(currency_table[mid].exponent <= CURRENCY_EXPONENT_MAX);
            return &currency_table[mid];
        }
        if (cmp < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

static bool is_digit(char ch)
{
    return ch >= '0' && ch <= '9';
}

/* Appends digit d to *acc (negative accumulates downwards, so INT64_MIN is reachable). */
static int accumulate_digit(int64_t *acc, int d, bool negative)
{
    int64_t shifted;
    if (__builtin_mul_overflow(*acc, 10, &shifted))
        return PB_ERR_INVALID;
    if (negative)
        return __builtin_sub_overflow(shifted, d, acc) ? PB_ERR_INVALID : PB_OK;
    return __builtin_add_overflow(shifted, d, acc) ? PB_ERR_INVALID : PB_OK;
}

/* Reads the integer part at *p (canonical: "0" or no leading zero) into *acc. */
static int parse_integer_part(const char **p, bool negative, int64_t *acc)
{
    const char *s = *p;
    if (!is_digit(*s))
        return PB_ERR_INVALID;
    if (s[0] == '0' && is_digit(s[1]))
        return PB_ERR_INVALID; /* "01" */
    for (; is_digit(*s); s++)
        if (accumulate_digit(acc, *s - '0', negative) != PB_OK)
            return PB_ERR_INVALID;
    *p = s;
    return PB_OK;
}

/* Reads "." and 1..exponent digits at *p (if a point is there), then pads to exponent
 * digits: the result is *acc in minor units. */
static int parse_fraction_part(const char **p, int exponent, bool negative, int64_t *acc)
{
    const char *s = *p;
    int digits = 0;
    if (*s == '.') {
        s++;
        if (!is_digit(*s))
            return PB_ERR_INVALID; /* "1." */
        for (; is_digit(*s); s++, digits++) {
            if (digits == exponent)
                return PB_ERR_INVALID; /* more decimals than the currency has */
            if (accumulate_digit(acc, *s - '0', negative) != PB_OK)
                return PB_ERR_INVALID;
        }
    }
    for (; digits < exponent; digits++)
        if (accumulate_digit(acc, 0, negative) != PB_OK)
            return PB_ERR_INVALID;
    *p = s;
    return PB_OK;
}

int ledger_amount_parse(const char *text, const struct ledger_currency *c, bool allow_negative,
                        int64_t *out)
{
    PB_ASSERT(text != NULL && c != NULL && out != NULL);
    PB_ASSERT(c->exponent >= 0 && c->exponent <= CURRENCY_EXPONENT_MAX);
    const char *p = text;
    bool negative = false;
    if (*p == '-') {
        if (!allow_negative)
            return PB_ERR_INVALID;
        negative = true;
        p++;
    }
    int64_t acc = 0;
    if (parse_integer_part(&p, negative, &acc) != PB_OK)
        return PB_ERR_INVALID;
    if (parse_fraction_part(&p, c->exponent, negative, &acc) != PB_OK)
        return PB_ERR_INVALID;
    if (*p != '\0')
        return PB_ERR_INVALID; /* spaces, exponents, separators, anything after */
    if (negative && acc == 0)
        return PB_ERR_INVALID; /* "-0" */
    PB_ASSERT(negative ? acc < 0 : acc >= 0);
    *out = acc;
    return PB_OK;
}

void ledger_amount_format(int64_t minor, const struct ledger_currency *c, char *out,
                          size_t outlen)
{
    PB_ASSERT(c != NULL && out != NULL);
    PB_ASSERT(c->exponent >= 0 && c->exponent <= CURRENCY_EXPONENT_MAX);
    /* The magnitude as unsigned, so INT64_MIN has one; its digits, least significant first. */
    uint64_t magnitude = minor < 0 ? 0 - (uint64_t)minor : (uint64_t)minor;
    char digits[24];
    int n = 0;
    do {
        digits[n++] = (char)('0' + magnitude % 10);
        magnitude /= 10;
    } while (magnitude > 0);
    while (n <= c->exponent)
        digits[n++] = '0'; /* at least one integer digit: "0.05" */
    size_t need = (minor < 0) + (size_t)n + (c->exponent > 0) + 1;
    PB_ASSERT(outlen >= need); /* 23 bytes always suffice */
    size_t w = 0;
    if (minor < 0)
        out[w++] = '-';
    for (int i = n - 1; i >= 0; i--) {
        out[w++] = digits[i];
        if (i == c->exponent && i > 0)
            out[w++] = '.';
    }
    out[w] = '\0';
    PB_ASSERT(w + 1 == need);
}

int ledger_add(int64_t a, int64_t b, int64_t *out)
{
    PB_ASSERT(out != NULL);
    int64_t sum;
    if (__builtin_add_overflow(a, b, &sum))
        return PB_ERR_INVALID;
    *out = sum;
    return PB_OK;
}

int ledger_sub(int64_t a, int64_t b, int64_t *out)
{
    PB_ASSERT(out != NULL);
    int64_t difference;
    if (__builtin_sub_overflow(a, b, &difference))
        return PB_ERR_INVALID;
    *out = difference;
    return PB_OK;
}

/* ---- code names ---- */

struct code_name {
    int code;
    const char *name;
};

static const struct code_name account_code_names[] = {
    {LEDGER_ACC_PLAYER_CASH, "player_cash"},
    {LEDGER_ACC_PLAYER_BONUS, "player_bonus"},
    {LEDGER_ACC_PLAYER_LOCKED, "player_locked"},
    {LEDGER_ACC_HOUSE_CASINO, "house_casino"},
    {LEDGER_ACC_HOUSE_SPORTSBOOK, "house_sportsbook"},
    {LEDGER_ACC_PROVIDER_CLEARING, "provider_clearing"},
    {LEDGER_ACC_PSP_CLEARING, "psp_clearing"},
    {LEDGER_ACC_BONUS_EXPENSE, "bonus_expense"},
    {LEDGER_ACC_COMMISSION_PAYABLE, "commission_payable"},
    {LEDGER_ACC_ADJUSTMENTS, "adjustments"},
};

static const struct code_name transfer_code_names[] = {
    {LEDGER_TX_BET, "bet"},
    {LEDGER_TX_WIN, "win"},
    {LEDGER_TX_REFUND, "refund"},
    {LEDGER_TX_DEPOSIT, "deposit"},
    {LEDGER_TX_WITHDRAWAL, "withdrawal"},
    {LEDGER_TX_BONUS_GRANT, "bonus_grant"},
    {LEDGER_TX_BONUS_CONVERSION, "bonus_conversion"},
    {LEDGER_TX_COMMISSION, "commission"},
    {LEDGER_TX_ADJUSTMENT, "adjustment"},
    {LEDGER_TX_HOLD, "hold"},
    {LEDGER_TX_TRANSFER, "transfer"},
};

static const char *name_of(const struct code_name *table, size_t n, int code)
{
    for (size_t i = 0; i < n; i++)
        if (table[i].code == code)
            return table[i].name;
    return NULL;
}

static int code_of(const struct code_name *table, size_t n, const char *name, int *out)
{
    PB_ASSERT(out != NULL);
    if (name == NULL)
        return PB_ERR_INVALID;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(table[i].name, name) == 0) {
            *out = table[i].code;
            return PB_OK;
        }
    }
    return PB_ERR_INVALID;
}

const char *ledger_account_code_name(int code)
{
    return name_of(account_code_names, PB_ARRAY_LEN(account_code_names), code);
}

int ledger_account_code_parse(const char *name, int *out)
{
    return code_of(account_code_names, PB_ARRAY_LEN(account_code_names), name, out);
}

const char *ledger_transfer_code_name(int code)
{
    return name_of(transfer_code_names, PB_ARRAY_LEN(transfer_code_names), code);
}

int ledger_transfer_code_parse(const char *name, int *out)
{
    return code_of(transfer_code_names, PB_ARRAY_LEN(transfer_code_names), name, out);
}
