/* fuzz_amount.c: libFuzzer target for ledger_amount_parse. The first input byte picks the
 * currency (and whether a sign is allowed); the rest is the amount text. Whatever parses must
 * format and parse back to the same minor units, and formatting must be canonical (format ->
 * parse -> format gives the same text). The raw bytes read as an int64 must survive
 * format -> parse too. */
#include <stdint.h>
#include <string.h>

#include "base/base.h"
#include "ledger/ledger.h"

static const char *const fuzz_currencies[] = {"EUR", "JPY", "KWD", "BTC", "ETH", "USDT",
                                              "CLP", "TND"};

static void check_format_parses_back(int64_t v, const struct ledger_currency *c)
{
    char text[32], again[32];
    int64_t back = 0;
    ledger_amount_format(v, c, text, sizeof(text));
    PB_ASSERT(ledger_amount_parse(text, c, true, &back) == PB_OK);
    PB_ASSERT(back == v);
    ledger_amount_format(back, c, again, sizeof(again));
    PB_ASSERT(strcmp(text, again) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 256)
        return 0;
    const struct ledger_currency *c =
        ledger_currency_find(fuzz_currencies[data[0] % PB_ARRAY_LEN(fuzz_currencies)]);
    PB_ASSERT(c != NULL);
    bool allow_negative = (data[0] & 0x80) != 0;
    char text[257];
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';
    int64_t v = 0;
    if (ledger_amount_parse(text, c, allow_negative, &v) == PB_OK) {
        PB_ASSERT(allow_negative || v >= 0);
        check_format_parses_back(v, c);
    }
    if (size - 1 >= sizeof(int64_t)) {
        int64_t raw;
        memcpy(&raw, data + 1, sizeof(raw));
        check_format_parses_back(raw, c);
    }
    return 0;
}
