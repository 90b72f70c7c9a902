/* sha1.c: SHA-1 as specified in FIPS 180-4 sections 5.1.1, 5.3.1 and 6.1 (sha1.h). One-shot:
 * the inputs we hash (a WebSocket key plus a GUID) are short, so no streaming interface. */
#include "base/sha1.h"

#include <stdint.h>
#include <string.h>

#include "base/base.h"

#define SHA1_BLOCK_LEN 64

static uint32_t rotl32(uint32_t x, unsigned n)
{
    return (x << n) | (x >> (32 - n));
}

static uint32_t load_be32(const unsigned char *p)
{
    uint32_t hi = ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16);
    return hi | ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}

static void store_be32(unsigned char *p, uint32_t x)
{
    p[0] = (unsigned char)(x >> 24);
    p[1] = (unsigned char)(x >> 16);
    p[2] = (unsigned char)(x >> 8);
    p[3] = (unsigned char)x;
}

/* Processes one 64-byte block (FIPS 180-4 section 6.1.2). */
static void sha1_block(uint32_t h[5], const unsigned char block[SHA1_BLOCK_LEN])
{
    uint32_t w[80];
    for (int t = 0; t < 16; t++)
        w[t] = load_be32(block + 4 * t);
    for (int t = 16; t < 80; t++)
        w[t] = rotl32(w[t - 3] ^ w[t - 8] ^ w[t - 14] ^ w[t - 16], 1);

    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
    for (int t = 0; t < 80; t++) {
        uint32_t f, k;
        if (t < 20) {
            f = (b & c) | (~b & d);
            k = 0x5a827999u;
        } else if (t < 40) {
            f = b ^ c ^ d;
            k = 0x6ed9eba1u;
        } else if (t < 60) {
            f = (b & c) | (b & d) | (c & d);
            k = 0x8f1bbcdcu;
        } else {
            f = b ^ c ^ d;
            k = 0xca62c1d6u;
        }
        uint32_t temp = rotl32(a, 5) + f + e + k + w[t];
        e = d;
        d = c;
        c = rotl32(b, 30);
        b = a;
        a = temp;
    }
    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
    h[4] += e;
}

void pb_sha1(const void *data, size_t len, unsigned char out[PB_SHA1_DIGEST_LEN])
{
    PB_ASSERT(data != NULL || len == 0);
    PB_ASSERT(len < ((size_t)1 << 61)); /* the bit length must fit 64 bits */
    uint32_t h[5] = {0x67452301u, 0xefcdab89u, 0x98badcfeu, 0x10325476u, 0xc3d2e1f0u};
    const unsigned char *p = data;
    size_t full = len / SHA1_BLOCK_LEN;
    for (size_t i = 0; i < full; i++)
        sha1_block(h, p + i * SHA1_BLOCK_LEN);

    /* Padding (section 5.1.1): 0x80, zeros, then the message length in bits, big-endian;
     * one or two final blocks. */
    unsigned char tail[2 * SHA1_BLOCK_LEN];
    size_t rest = len % SHA1_BLOCK_LEN;
    memset(tail, 0, sizeof(tail));
    if (rest > 0)
        memcpy(tail, p + full * SHA1_BLOCK_LEN, rest);
    tail[rest] = 0x80;
    size_t tail_len = rest + 1 + 8 <= SHA1_BLOCK_LEN ? SHA1_BLOCK_LEN : 2 * SHA1_BLOCK_LEN;
    uint64_t bits = (uint64_t)len * 8u;
    store_be32(tail + tail_len - 8, (uint32_t)(bits >> 32));
    store_be32(tail + tail_len - 4, (uint32_t)bits);
    for (size_t off = 0; off < tail_len; off += SHA1_BLOCK_LEN)
        sha1_block(h, tail + off);

    for (int i = 0; i < 5; i++)
        store_be32(out + 4 * i, h[i]);
}
