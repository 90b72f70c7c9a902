/* rng.h: the random numbers every game draws (DESIGN.md section 4, src/rng).
 *
 * One generator type, three ways to feed it:
 *   - rng_init_system: libsodium's CSPRNG (randombytes_buf), what real-money play uses;
 *   - rng_init_seeded: a ChaCha20 keystream from a 64-bit seed, reproducible, for
 *     simulations, benchmarks and tests (never for play: the seed is guessable);
 *   - the provably-fair stream (struct rng_fair), below, whose output a player can recompute.
 * Output is read from a 256-byte buffer refilled in bulk, so a draw costs a few instructions.
 *
 * Ranges are unbiased: rng_range maps a 32-bit draw by multiplication (Lemire's method) and
 * rejects the 2^32 mod n draws that would make some results more likely than others.
 * Shuffles are Fisher-Yates over rng_range.
 *
 * Ownership: the caller owns struct rng and struct rng_fair (stack or embedded); nothing is
 * allocated. A struct rng is used by one thread at a time. */
#ifndef PB_RNG_H
#define PB_RNG_H

#include <stddef.h>
#include <stdint.h>

#define RNG_BUFFER_BYTES 256

enum rng_mode { RNG_SYSTEM = 1, RNG_SEEDED = 2 };

struct rng {
    enum rng_mode mode;
    uint64_t seed, block; /* RNG_SEEDED: the key's seed and the next keystream block */
    size_t pos;           /* next unread byte of buf */
    uint8_t buf[RNG_BUFFER_BYTES];
};

void rng_init_system(struct rng *r);
void rng_init_seeded(struct rng *r, uint64_t seed);

/* Fills out with n bytes of the generator's output. */
void rng_bytes(struct rng *r, void *out, size_t n);
uint32_t rng_u32(struct rng *r);
uint64_t rng_u64(struct rng *r);
/* A uniform integer in [0, n), n >= 1, without modulo bias (rejection sampling). */
uint32_t rng_range(struct rng *r, uint32_t n);
/* A uniform double in [0, 1) with 53 random bits. */
double rng_unit(struct rng *r);
/* Shuffles n elements of size bytes at base in place (Fisher-Yates; size <= 64). */
void rng_shuffle(struct rng *r, void *base, size_t n, size_t size);

/* ---- provably fair ----
 * The scheme most crypto casinos publish, so existing public verifiers agree with pitboss:
 *   server_seed: 64 lower-case hex characters (32 random bytes), committed before play by
 *                hash = hex(SHA-256(server_seed as text));
 *   client_seed: chosen by the player (1..RNG_CLIENT_SEED_MAX printable ASCII bytes);
 *   nonce:       the bet's number under this seed pair (0, 1, 2, ...);
 *   bytes(round) = HMAC-SHA256(key = server_seed as text,
 *                              message = "<client_seed>:<nonce>:<round>"), round = 0, 1, ...;
 *   each 4 consecutive bytes b0..b3 give the float b0/256 + b1/256^2 + b2/256^3 + b3/256^4,
 *   in [0, 1); a round's 32 bytes give 8 floats, then the next round's bytes follow.
 * How each game turns floats into an outcome is documented per game in docs/fairness.md. */

#define RNG_SERVER_SEED_HEX 64
#define RNG_CLIENT_SEED_MAX 64

struct rng_fair {
    char server_seed[RNG_SERVER_SEED_HEX + 1];
    char client_seed[RNG_CLIENT_SEED_MAX + 1];
    uint64_t nonce;
    uint32_t round; /* the next HMAC round to compute */
    size_t pos;     /* next unread byte of block (32: compute the next round) */
    uint8_t block[32];
};

/* A new random server seed (RNG_SERVER_SEED_HEX hex characters and a NUL). */
void rng_fair_new_server_seed(char out[RNG_SERVER_SEED_HEX + 1]);
/* The commitment: hex(SHA-256(server_seed as text)), 64 characters and a NUL. */
void rng_fair_commitment(const char *server_seed, char out[65]);
/* Whether s is a valid client seed: 1..RNG_CLIENT_SEED_MAX bytes of printable ASCII
 * (0x21..0x7e, so ':' separators stay unambiguous only by position; ':' is allowed). */
int rng_fair_client_seed_ok(const char *s);
/* Starts the stream of (server_seed, client_seed, nonce). Returns 0 or PB_ERR_INVALID when a
 * seed is malformed (server seed not 64 hex characters, client seed refused above). */
int rng_fair_init(struct rng_fair *f, const char *server_seed, const char *client_seed,
                  uint64_t nonce);
/* The next 4 bytes of the stream as a float in [0, 1) (the formula above). */
double rng_fair_float(struct rng_fair *f);
/* The next raw byte of the stream. */
uint8_t rng_fair_byte(struct rng_fair *f);

#endif
