/* rng.c: buffered CSPRNG / seeded keystream, unbiased ranges and shuffles, and the
 * provably-fair HMAC stream. Contract and formulas: rng.h. */
#include "rng/rng.h"

#include <sodium.h>
#include <string.h>

#include "base/base.h"

static void refill(struct rng *r)
{
    if (r->mode == RNG_SEEDED) {
        uint8_t key[crypto_stream_chacha20_KEYBYTES] = {0};
        uint8_t nonce[crypto_stream_chacha20_NONCEBYTES] = {0};
        memcpy(key, &r->seed, sizeof(r->seed));
        /* The block counter goes into the nonce: 2^64 buffers before it repeats. */
        memcpy(nonce, &r->block, sizeof(r->block));
        crypto_stream_chacha20(r->buf, sizeof(r->buf), nonce, key);
        r->block++;
    } else {
        PB_ASSERT(r->mode == RNG_SYSTEM);
        randombytes_buf(r->buf, sizeof(r->buf));
    }
    r->pos = 0;
}

void rng_init_system(struct rng *r)
{
    PB_ASSERT(sodium_init() >= 0);
    memset(r, 0, sizeof(*r));
    r->mode = RNG_SYSTEM;
    r->pos = sizeof(r->buf);
}

void rng_init_seeded(struct rng *r, uint64_t seed)
{
    PB_ASSERT(sodium_init() >= 0);
    memset(r, 0, sizeof(*r));
    r->mode = RNG_SEEDED;
    r->seed = seed;
    r->pos = sizeof(r->buf);
}

void rng_bytes(struct rng *r, void *out, size_t n)
{
    uint8_t *o = out;
    while (n > 0) {
        if (r->pos == sizeof(r->buf))
            refill(r);
        size_t take = sizeof(r->buf) - r->pos;
        if (take > n)
            take = n;
        memcpy(o, r->buf + r->pos, take);
        r->pos += take;
        o += take;
        n -= take;
    }
}

uint32_t rng_u32(struct rng *r)
{
    uint32_t v;
    if (r->pos + sizeof(v) > sizeof(r->buf))
        refill(r);
    memcpy(&v, r->buf + r->pos, sizeof(v));
    r->pos += sizeof(v);
    return v;
}

uint64_t rng_u64(struct rng *r)
{
    return (uint64_t)rng_u32(r) << 32 | rng_u32(r);
}

uint32_t rng_range(struct rng *r, uint32_t n)
{
    PB_ASSERT(n >= 1);
    /* Multiply and keep the high half (Lemire, "Fast random integer generation in an
     * interval", 2019): v * n / 2^32. The low half tells whether v fell in one of the
     * 2^32 mod n values that would make some results once more likely than the others;
     * those are rejected. The division that finds them runs only when the low half is
     * below n, so a draw usually costs one multiplication. */
    uint64_t m = (uint64_t)rng_u32(r) * n;
    uint32_t low = (uint32_t)m;
    if (low < n) {
        uint32_t threshold = (uint32_t)(-n) % n;
        while (low < threshold) {
            m = (uint64_t)rng_u32(r) * n;
            low = (uint32_t)m;
        }
    }
    return (uint32_t)(m >> 32);
}

double rng_unit(struct rng *r)
{
    return (double)(rng_u64(r) >> 11) * 0x1.0p-53;
}

void rng_shuffle(struct rng *r, void *base, size_t n, size_t size)
{
    PB_ASSERT(size >= 1 && size <= 64 && n <= UINT32_MAX);
    uint8_t *a = base, tmp[64];
    for (size_t i = n; i > 1; i--) {
        size_t j = rng_range(r, (uint32_t)i);
        if (j != i - 1) {
            memcpy(tmp, a + j * size, size);
            memcpy(a + j * size, a + (i - 1) * size, size);
            memcpy(a + (i - 1) * size, tmp, size);
        }
    }
}

/* ---- provably fair ---- */

static void to_hex(const uint8_t *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}

void rng_fair_new_server_seed(char out[RNG_SERVER_SEED_HEX + 1])
{
    PB_ASSERT(sodium_init() >= 0);
    uint8_t raw[RNG_SERVER_SEED_HEX / 2];
    randombytes_buf(raw, sizeof(raw));
    to_hex(raw, sizeof(raw), out);
    sodium_memzero(raw, sizeof(raw));
}

void rng_fair_commitment(const char *server_seed, char out[65])
{
    uint8_t digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(digest, (const uint8_t *)server_seed, strlen(server_seed));
    to_hex(digest, sizeof(digest), out);
}

int rng_fair_client_seed_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > RNG_CLIENT_SEED_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e)
            return 0;
    return 1;
}

int rng_fair_init(struct rng_fair *f, const char *server_seed, const char *client_seed,
                  uint64_t nonce)
{
    if (strlen(server_seed) != RNG_SERVER_SEED_HEX || !rng_fair_client_seed_ok(client_seed))
        return PB_ERR_INVALID;
    for (size_t i = 0; i < RNG_SERVER_SEED_HEX; i++) {
        char c = server_seed[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return PB_ERR_INVALID;
    }
    memset(f, 0, sizeof(*f));
    memcpy(f->server_seed, server_seed, RNG_SERVER_SEED_HEX + 1);
    pb_strlcpy(f->client_seed, client_seed, sizeof(f->client_seed));
    f->nonce = nonce;
    f->pos = sizeof(f->block);
    return PB_OK;
}

static void fair_next_block(struct rng_fair *f)
{
    char msg[RNG_CLIENT_SEED_MAX + 48];
    int n = snprintf(msg, sizeof(msg), "%s:%llu:%u", f->client_seed,
                     (unsigned long long)f->nonce, f->round);
    PB_ASSERT(n > 0 && (size_t)n < sizeof(msg));
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, (const uint8_t *)f->server_seed, RNG_SERVER_SEED_HEX);
    crypto_auth_hmacsha256_update(&st, (const uint8_t *)msg, (size_t)n);
    crypto_auth_hmacsha256_final(&st, f->block);
    f->round++;
    f->pos = 0;
}

uint8_t rng_fair_byte(struct rng_fair *f)
{
    if (f->pos == sizeof(f->block))
        fair_next_block(f);
    return f->block[f->pos++];
}

double rng_fair_float(struct rng_fair *f)
{
    double v = 0, scale = 1.0 / 256;
    for (int i = 0; i < 4; i++, scale /= 256)
        v += rng_fair_byte(f) * scale;
    PB_ASSERT(v >= 0 && v < 1);
    return v;
}
