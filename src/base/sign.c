/* sign.c: HMAC-SHA256 signatures over "<t>.<body>" (sign.h). */
#include "base/sign.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"

static void mac_of(const char *secret, int64_t t_s, const char *body, size_t len,
                   unsigned char mac[PB_SIGN_MAC_BYTES])
{
    crypto_auth_hmacsha256_state st;
    char prefix[32];
    int n = snprintf(prefix, sizeof(prefix), "%lld.", (long long)t_s);
    PB_ASSERT(n > 0 && (size_t)n < sizeof(prefix) && secret != NULL);
    crypto_auth_hmacsha256_init(&st, (const unsigned char *)secret, strlen(secret));
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)prefix, (unsigned long long)n);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)body, len);
    crypto_auth_hmacsha256_final(&st, mac);
}

void pb_sign_hex(const char *secret, int64_t t_s, const char *body, size_t len,
                 char out[PB_SIGN_HEX + 1])
{
    unsigned char mac[PB_SIGN_MAC_BYTES];
    mac_of(secret, t_s, body, len, mac);
    sodium_bin2hex(out, PB_SIGN_HEX + 1, mac, sizeof(mac));
}

void pb_sign_header(const char *secret, int64_t t_s, const char *body, size_t len, char *out,
                    size_t outlen)
{
    PB_ASSERT(outlen >= PB_SIGN_HEADER_MAX);
    char hex[PB_SIGN_HEX + 1];
    pb_sign_hex(secret, t_s, body, len, hex);
    snprintf(out, outlen, "t=%lld,v1=%s", (long long)t_s, hex);
}

/* Checks digits[0..ndigits) and hex[0..nhex), both taken as they are (no terminator
 * needed after them). */
static int verify(const char *secret, const char *digits, size_t ndigits, const char *hex,
                  size_t nhex, const char *body, size_t len, int64_t now_s, int64_t window_s)
{
    unsigned char given[PB_SIGN_MAC_BYTES], want[PB_SIGN_MAC_BYTES];
    size_t bin_len = 0;
    if (ndigits < 1 || ndigits > PB_SIGN_TIMESTAMP_DIGITS_MAX ||
        strspn(digits, "0123456789") < ndigits || nhex != PB_SIGN_HEX ||
        sodium_hex2bin(given, sizeof(given), hex, nhex, NULL, &bin_len, NULL) != 0 ||
        bin_len != sizeof(given))
        return PB_ERR_INVALID;
    int64_t t_s = strtoll(digits, NULL, 10);
    mac_of(secret, t_s, body, len, want);
    if (sodium_memcmp(given, want, sizeof(want)) != 0)
        return PB_ERR_INVALID;
    return t_s < now_s - window_s || t_s > now_s + window_s ? PB_ERR_TIMEOUT : PB_OK;
}

int pb_sign_verify(const char *secret, const char *timestamp, const char *signature_hex,
                   const char *body, size_t len, int64_t now_s, int64_t window_s)
{
    if (!timestamp || !signature_hex)
        return PB_ERR_INVALID;
    size_t ndigits = strlen(timestamp);
    if (strspn(timestamp, "0123456789") != ndigits)
        return PB_ERR_INVALID;
    return verify(secret, timestamp, ndigits, signature_hex, strlen(signature_hex), body, len,
                  now_s, window_s);
}

int pb_sign_verify_header(const char *secret, const char *header, const char *body, size_t len,
                          int64_t now_s, int64_t window_s)
{
    if (!header || strncmp(header, "t=", 2) != 0)
        return PB_ERR_INVALID;
    const char *digits = header + 2;
    size_t ndigits = strspn(digits, "0123456789");
    const char *v1 = digits + ndigits;
    if (strncmp(v1, ",v1=", 4) != 0)
        return PB_ERR_INVALID;
    return verify(secret, digits, ndigits, v1 + 4, strlen(v1 + 4), body, len, now_s,
                  window_s);
}
