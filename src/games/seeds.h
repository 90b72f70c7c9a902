/* seeds.h: the provably-fair seed pairs of players (docs/casino.md, "Provably fair"; the
 * stream itself is rng.h's rng_fair, how each game reads it docs/fairness.md).
 *
 * Each player has one active pair: a server seed drawn by the server
 * (rng_fair_new_server_seed) and committed by its hash (rng_fair_commitment) before any bet
 * uses it, a client seed the player may change at any time (a random one by default), and
 * the nonce of the next provably-fair bet (0, 1, 2, ...; taken and incremented by each bet).
 * The server seed is never shown while the pair is active. Rotating ends the pair: its server
 * seed is revealed (kept in fair_seeds_revealed with the number of bets played under it) and
 * a new pair starts with a new server seed, the same client seed and nonce 0. A player then
 * recomputes every round of the old pair from (server seed, client seed, nonce), which each
 * fair round stores in its detail.
 *
 * Changing the client seed keeps the server seed and the nonce: (server seed, client seed,
 * nonce) never repeats because the nonce only grows under one server seed.
 *
 * Threads: the writing functions run inside a writer command; reads take any connection. */
#ifndef PB_SEEDS_H
#define PB_SEEDS_H

#include <stddef.h>
#include <stdint.h>

#include "rng/rng.h"
#include "store/store.h"

#define FAIR_HASH_HEX 64
#define FAIR_CLIENT_SEED_DEFAULT_BYTES 10 /* a default client seed: 20 hex characters */
#define FAIR_REVEALED_LIST_MAX 20         /* revealed pairs listed per request */

struct fair_seeds {
    char server_seed[RNG_SERVER_SEED_HEX + 1]; /* secret while the pair is active */
    char server_hash[FAIR_HASH_HEX + 1];       /* the commitment */
    char client_seed[RNG_CLIENT_SEED_MAX + 1];
    int64_t nonce; /* the next bet's nonce (fair_seeds_take_nonce: the one taken) */
    int64_t created_ms;
};

struct fair_revealed {
    char server_seed[RNG_SERVER_SEED_HEX + 1];
    char server_hash[FAIR_HASH_HEX + 1];
    char client_seed[RNG_CLIENT_SEED_MAX + 1]; /* the client seed when it was rotated out */
    int64_t nonces; /* bets played under the pair: nonces 0 .. nonces - 1 */
    int64_t created_ms, revealed_ms;
};

/* ---- writing (inside a writer command) ---- */

/* The player's active pair, created (random server and client seeds, nonce 0) when the
 * player has none. Returns 0, PB_ERR_INVALID (bad player id) or PB_ERR_DB. */
int fair_seeds_ensure(struct store *tx, const char *player_id, int64_t now_ms,
                      struct fair_seeds *out);
/* Takes the nonce of one provably-fair bet: *out is the pair with out->nonce the nonce to
 * play with; the stored nonce becomes out->nonce + 1. Creates the pair when missing. */
int fair_seeds_take_nonce(struct store *tx, const char *player_id, int64_t now_ms,
                          struct fair_seeds *out);
/* Sets the client seed of the active pair (created when missing); PB_ERR_INVALID when
 * client_seed fails rng_fair_client_seed_ok. *out is the pair afterwards. */
int fair_seeds_set_client(struct store *tx, const char *player_id, const char *client_seed,
                          int64_t now_ms, struct fair_seeds *out);
/* Ends the active pair (created first when missing, so a rotation always reveals one):
 * *revealed is the old pair with its server seed, *next the new pair (nonce 0). */
int fair_seeds_rotate(struct store *tx, const char *player_id, int64_t now_ms,
                      struct fair_revealed *revealed, struct fair_seeds *next);

/* ---- reading (any connection) ---- */

/* The active pair: 0, PB_ERR_NOT_FOUND (none yet) or PB_ERR_DB. The caller must not show
 * out->server_seed. */
int fair_seeds_get(struct store *s, const char *player_id, struct fair_seeds *out);
/* The revealed pair whose commitment is server_hash, when it belongs to player_id. */
int fair_seeds_revealed_get(struct store *s, const char *player_id, const char *server_hash,
                            struct fair_revealed *out);
/* The player's revealed pairs, newest first, up to max (<= FAIR_REVEALED_LIST_MAX). */
int fair_seeds_revealed_list(struct store *s, const char *player_id, struct fair_revealed *out,
                             size_t max, size_t *n);

#endif
