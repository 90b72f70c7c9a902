/* crash.c: the crash hash chain, crash points, the multiplier curve and cash-outs (crash.h). */
#include "games/crash.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "base/base.h"

int crash_hash_parse(const char *hex, uint8_t out[CRASH_HASH_BYTES])
{
    if (!hex || strlen(hex) != CRASH_HASH_HEX)
        return PB_ERR_INVALID;
    for (int i = 0; i < CRASH_HASH_BYTES; i++) {
        unsigned v = 0;
        for (int k = 0; k < 2; k++) {
            char c = hex[2 * i + k];
            int d = c >= '0' && c <= '9'   ? c - '0'
                    : c >= 'a' && c <= 'f' ? c - 'a' + 10
                    : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                           : -1;
            if (d < 0)
                return PB_ERR_INVALID;
            v = v * 16 + (unsigned)d;
        }
        out[i] = (uint8_t)v;
    }
    return PB_OK;
}

void crash_hash_hex(const uint8_t h[CRASH_HASH_BYTES], char out[CRASH_HASH_HEX + 1])
{
    for (int i = 0; i < CRASH_HASH_BYTES; i++)
        snprintf(out + 2 * i, 3, "%02x", h[i]);
}

void crash_chain_step(const uint8_t h[CRASH_HASH_BYTES], uint8_t out[CRASH_HASH_BYTES])
{
    uint8_t tmp[CRASH_HASH_BYTES];
    crypto_hash_sha256(tmp, h, CRASH_HASH_BYTES);
    memcpy(out, tmp, CRASH_HASH_BYTES);
}

void crash_chain_round(const uint8_t seed[CRASH_HASH_BYTES], uint64_t length, uint64_t k,
                       uint8_t out[CRASH_HASH_BYTES])
{
    PB_ASSERT(length >= 1 && length <= CRASH_CHAIN_LENGTH_MAX && k <= length);
    memcpy(out, seed, CRASH_HASH_BYTES);
    for (uint64_t i = length; i > k; i--)
        crash_chain_step(out, out);
}

void crash_chain_terminal(const uint8_t seed[CRASH_HASH_BYTES], uint64_t length,
                          uint8_t out[CRASH_HASH_BYTES])
{
    crash_chain_round(seed, length, 0, out);
}

int crash_chain_verify(const uint8_t h[CRASH_HASH_BYTES],
                       const uint8_t terminal[CRASH_HASH_BYTES], uint64_t max_steps,
                       uint64_t *round)
{
    uint8_t cur[CRASH_HASH_BYTES];
    memcpy(cur, h, CRASH_HASH_BYTES);
    for (uint64_t i = 1; i <= max_steps; i++) {
        crash_chain_step(cur, cur);
        if (sodium_memcmp(cur, terminal, CRASH_HASH_BYTES) == 0) {
            *round = i;
            return PB_OK;
        }
    }
    return PB_ERR_NOT_FOUND;
}

int64_t crash_chain_check_links(const uint8_t (*hashes)[CRASH_HASH_BYTES], uint64_t n)
{
    for (uint64_t i = 0; i + 1 < n; i++) {
        uint8_t prev[CRASH_HASH_BYTES];
        crash_chain_step(hashes[i + 1], prev);
        if (memcmp(prev, hashes[i], CRASH_HASH_BYTES) != 0)
            return (int64_t)i;
    }
    return -1;
}

uint64_t crash_point(const uint8_t h[CRASH_HASH_BYTES], const char *salt)
{
    uint8_t d[CRASH_HASH_BYTES];
    if (salt) {
        crypto_auth_hmacsha256_state st;
        crypto_auth_hmacsha256_init(&st, (const uint8_t *)salt, strlen(salt));
        crypto_auth_hmacsha256_update(&st, h, CRASH_HASH_BYTES);
        crypto_auth_hmacsha256_final(&st, d);
    } else {
        memcpy(d, h, CRASH_HASH_BYTES);
    }
    uint64_t r = 0;
    for (int i = 0; i < 7; i++)
        r = r << 8 | d[i];
    r >>= 4; /* 56 bits -> the first 52 */
    const uint64_t e = (uint64_t)1 << 52;
    PB_ASSERT(r < e);
    uint64_t x = 99 * e / (e - r); /* 99 * 2^52 < 2^59: no overflow */
    return x < 100 ? 100 : x;
}

uint64_t crash_multiplier_at(int64_t t_ms)
{
    PB_ASSERT(t_ms >= 0);
    double m = floor(100.0 * exp(CRASH_GROWTH_PER_MS * (double)t_ms));
    if (m >= (double)(UINT64_MAX / 2))
        return UINT64_MAX / 2;
    return m < 100 ? 100 : (uint64_t)m;
}

int64_t crash_time_ms(uint64_t multiplier)
{
    PB_ASSERT(multiplier >= 100);
    if (multiplier == 100)
        return 0;
    /* Start from the real-valued inverse, then settle on the exact first ms by m itself, so
     * the two functions agree at every boundary whatever the rounding of exp and log. */
    double t = ceil(log((double)multiplier / 100.0) / CRASH_GROWTH_PER_MS);
    int64_t ms = t < 0 ? 0 : (int64_t)t;
    while (ms > 0 && crash_multiplier_at(ms - 1) >= multiplier)
        ms--;
    while (crash_multiplier_at(ms) < multiplier)
        ms++;
    return ms;
}

int crash_resolve(uint64_t crash, int64_t stake_minor, uint64_t auto_target, int64_t request_ms,
                  struct crash_cashout *out)
{
    PB_ASSERT(crash >= 100 && stake_minor >= 0);
    memset(out, 0, sizeof(*out));
    if (auto_target != 0 && (auto_target < CRASH_TARGET_MIN || auto_target > CRASH_TARGET_MAX))
        return PB_ERR_INVALID;
    int64_t crash_at = crash_time_ms(crash);
    int64_t auto_at = auto_target ? crash_time_ms(auto_target) : INT64_MAX;
    if (auto_target && auto_target <= crash && (request_ms < 0 || auto_at <= request_ms)) {
        out->won = true;
        out->multiplier = auto_target;
        out->at_ms = auto_at;
    } else if (request_ms >= 0 && request_ms < crash_at) {
        out->won = true;
        out->multiplier = crash_multiplier_at(request_ms);
        out->at_ms = request_ms;
        PB_ASSERT(out->multiplier < crash);
    }
    if (!out->won)
        return PB_OK;
    __int128 p = (__int128)stake_minor * out->multiplier / 100;
    if (p > INT64_MAX) {
        memset(out, 0, sizeof(*out));
        return PB_ERR_INVALID;
    }
    out->payout_minor = (int64_t)p;
    return PB_OK;
}

void crash_format(uint64_t multiplier, char out[32])
{
    snprintf(out, 32, "%llu.%02llu", (unsigned long long)(multiplier / 100),
             (unsigned long long)(multiplier % 100));
}
