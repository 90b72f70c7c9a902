/* crash.h: crash points from a pre-committed hash chain, the multiplier curve and cash-outs
 * decided by the server clock (docs/table-games.md).
 *
 * Chain: the operator draws a secret 32-byte seed h[N] and computes h[i] = SHA-256(h[i+1])
 * for i = N-1 .. 0, hashing the previous hash's 32 raw bytes (not its hex text). h[0], the
 * terminating hash, is published before the first round. Round k (k = 1, 2, ...) uses h[k],
 * so the chain is consumed backwards: anyone can check a revealed h[k] by hashing it k times
 * to reach h[0], and nobody can compute h[k+1] from what was revealed.
 *
 * Crash point (the public formula of the widely used scheme, with a 1% house edge):
 *   with a salt:    d = HMAC-SHA256(key = salt as ASCII text, message = h[k]'s 32 raw bytes)
 *   without a salt: d = h[k]
 *   r = the first 52 bits of d (its first 13 hex digits), big-endian
 *   crash = max(100, floor(99 * 2^52 / (2^52 - r))) hundredths   (1.00x .. )
 * so P(crash >= x) = 0.99 / x for every x > 1.00 on the hundredths grid: a cash-out at any
 * target returns 99%. The salt (chosen after the chain is published, e.g. a future public
 * block hash) proves the operator could not pick a favourable chain.
 *
 * Curve: m(t) = floor(100 * e^(CRASH_GROWTH_PER_MS * t)) hundredths, t in ms since the round
 * started (1.00x at 0, 2.00x after 11553 ms). The round crashes at crash_time_ms(crash), the
 * first ms at which m(t) >= crash. A manual cash-out received by the server at t wins
 * m(t) if t < crash time (so m(t) < crash), else loses; an automatic cash-out at target x
 * wins x if x <= crash, taking effect at crash_time_ms(x) if that is before the manual one.
 * Only the server's clock counts: every player whose request carries the same server time
 * gets the same multiplier. */
#ifndef PB_CRASH_H
#define PB_CRASH_H

#include <stdbool.h>
#include <stdint.h>

#include "base/buf.h"

#define CRASH_HASH_BYTES 32
#define CRASH_HASH_HEX 64
#define CRASH_SALT_MAX 128                     /* a block hash or a sentence fits */
#define CRASH_CHAIN_LENGTH_MAX 100000000       /* 1e8 rounds: years of play, ~40 s to hash */
#define CRASH_TARGET_MIN 101                   /* 1.01x: below it an auto cash-out is void */
#define CRASH_TARGET_MAX 100000000             /* 1,000,000.00x: bounds payouts and time */
#define CRASH_GROWTH_PER_MS 0.00006

/* Parses 64 hex digits (either case) into 32 bytes. 0 or PB_ERR_INVALID. */
int crash_hash_parse(const char *hex, uint8_t out[CRASH_HASH_BYTES]);
void crash_hash_hex(const uint8_t h[CRASH_HASH_BYTES], char out[CRASH_HASH_HEX + 1]);
/* The previous link: out = SHA-256(h) (out may be h). */
void crash_chain_step(const uint8_t h[CRASH_HASH_BYTES], uint8_t out[CRASH_HASH_BYTES]);
/* The terminating hash h[0] of the chain whose secret seed h[length] is seed. */
void crash_chain_terminal(const uint8_t seed[CRASH_HASH_BYTES], uint64_t length,
                          uint8_t out[CRASH_HASH_BYTES]);
/* The hash of round k (1..length) of the chain of seed: h[k] (hashes length - k times). */
void crash_chain_round(const uint8_t seed[CRASH_HASH_BYTES], uint64_t length, uint64_t k,
                       uint8_t out[CRASH_HASH_BYTES]);
/* Checks that hashing h up to max_steps times reaches terminal; *round gets the number of
 * steps (h's round number). 0, or PB_ERR_NOT_FOUND when it does not. */
int crash_chain_verify(const uint8_t h[CRASH_HASH_BYTES],
                       const uint8_t terminal[CRASH_HASH_BYTES], uint64_t max_steps,
                       uint64_t *round);
/* Checks consecutive revealed hashes, hashes[0] = h[k], hashes[1] = h[k+1], ...: each link
 * SHA-256(hashes[i+1]) == hashes[i]. Returns -1 if all hold, else the first broken i. */
int64_t crash_chain_check_links(const uint8_t (*hashes)[CRASH_HASH_BYTES], uint64_t n);

/* The crash point of a round hash, in hundredths (100 = 1.00x). salt may be NULL (none). */
uint64_t crash_point(const uint8_t h[CRASH_HASH_BYTES], const char *salt);

/* m(t) in hundredths for t >= 0 ms; saturates at UINT64_MAX / 2 (never reached in play). */
uint64_t crash_multiplier_at(int64_t t_ms);
/* The first ms at which m(t) >= multiplier (hundredths, >= 100): 0 for 1.00x. */
int64_t crash_time_ms(uint64_t multiplier);

struct crash_cashout {
    bool won;
    uint64_t multiplier; /* hundredths, when won */
    int64_t at_ms;       /* when it took effect, when won */
    int64_t payout_minor;
};
/* Decides one bet: crash point crash, automatic target auto_target (0 = none, else
 * CRASH_TARGET_MIN..CRASH_TARGET_MAX), manual request time request_ms (< 0 = none), by the
 * rules above; payout = floor(stake * multiplier / 100). PB_ERR_INVALID when a target is out
 * of range or the payout would overflow int64. */
int crash_resolve(uint64_t crash, int64_t stake_minor, uint64_t auto_target, int64_t request_ms,
                  struct crash_cashout *out);

/* Formats hundredths as "2.35". */
void crash_format(uint64_t multiplier, char out[32]);

#endif
