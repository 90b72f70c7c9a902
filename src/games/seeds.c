/* seeds.c: provably-fair seed pairs per player (seeds.h) over tables fair_seeds and
 * fair_seeds_revealed (rounds_schema.c). Design: docs/casino.md, "Provably fair".
 *
 * The nonce moves with one UPDATE ... RETURNING, so two bets (or two nodes) never take the
 * same nonce; a rotation deletes the active row only when it still holds the server seed
 * that was revealed, so a bet racing it cannot use a revealed seed. */
#include "games/seeds.h"

#include <string.h>

#include "base/base.h"
#include "games/rounds.h"

static bool player_ok(const char *player_id)
{
    size_t n = player_id ? strnlen(player_id, ROUNDS_PLAYER_ID_MAX + 1) : 0;
    return n >= 1 && n <= ROUNDS_PLAYER_ID_MAX;
}

#define SEED_COLUMNS "server_seed, server_hash, client_seed, nonce, created_ms"

static void read_seeds(struct store_stmt *st, int first, struct fair_seeds *out)
{
    memset(out, 0, sizeof(*out));
    pb_strlcpy(out->server_seed, store_column_text(st, first), sizeof(out->server_seed));
    pb_strlcpy(out->server_hash, store_column_text(st, first + 1), sizeof(out->server_hash));
    pb_strlcpy(out->client_seed, store_column_text(st, first + 2), sizeof(out->client_seed));
    out->nonce = store_column_int64(st, first + 3);
    out->created_ms = store_column_int64(st, first + 4);
    /* Paired assertion: what was written is a valid pair with its own commitment. */
    char hash[FAIR_HASH_HEX + 1];
    rng_fair_commitment(out->server_seed, hash);
    PB_ASSERT(strcmp(hash, out->server_hash) == 0 && out->nonce >= 0);
}

static int read_one_seeds(struct store_stmt *st, struct fair_seeds *out)
{
    int rc = store_step(st);
    if (rc == STORE_ROW)
        read_seeds(st, 0, out);
    store_finalize(st);
    return rc == STORE_ROW ? PB_OK : rc == STORE_DONE ? PB_ERR_NOT_FOUND : PB_ERR_DB;
}

int fair_seeds_get(struct store *s, const char *player_id, struct fair_seeds *out)
{
    if (!player_ok(player_id))
        return PB_ERR_NOT_FOUND;
    struct store_stmt *st;
    if (store_prepare(s, "SELECT " SEED_COLUMNS " FROM fair_seeds WHERE player_id = ?", &st) !=
        PB_OK)
        return PB_ERR_DB;
    store_bind_text(st, 1, player_id, strlen(player_id));
    return read_one_seeds(st, out);
}

/* Inserts a new pair with client_seed (NULL: a random one) and nonce 0. */
static int insert_pair(struct store *tx, const char *player_id, const char *client_seed,
                       int64_t now_ms, struct fair_seeds *out)
{
    memset(out, 0, sizeof(*out));
    rng_fair_new_server_seed(out->server_seed);
    rng_fair_commitment(out->server_seed, out->server_hash);
    if (client_seed)
        pb_strlcpy(out->client_seed, client_seed, sizeof(out->client_seed));
    else
        pb_random_hex(out->client_seed, FAIR_CLIENT_SEED_DEFAULT_BYTES);
    PB_ASSERT(rng_fair_client_seed_ok(out->client_seed));
    out->nonce = 0;
    out->created_ms = now_ms;
    struct store_stmt *st;
    if (store_prepare(tx, "INSERT INTO fair_seeds (player_id, " SEED_COLUMNS ")"
                          " VALUES (?, ?, ?, ?, 0, ?)", &st) != PB_OK)
        return PB_ERR_DB;
    store_bind_text(st, 1, player_id, strlen(player_id));
    store_bind_text(st, 2, out->server_seed, strlen(out->server_seed));
    store_bind_text(st, 3, out->server_hash, strlen(out->server_hash));
    store_bind_text(st, 4, out->client_seed, strlen(out->client_seed));
    store_bind_int64(st, 5, now_ms);
    int rc = store_step(st);
    store_finalize(st);
    return rc == STORE_DONE ? PB_OK : rc == PB_ERR_CONFLICT ? PB_ERR_CONFLICT : PB_ERR_DB;
}

int fair_seeds_ensure(struct store *tx, const char *player_id, int64_t now_ms,
                      struct fair_seeds *out)
{
    PB_ASSERT(now_ms > 0);
    if (!player_ok(player_id))
        return PB_ERR_INVALID;
    int rc = fair_seeds_get(tx, player_id, out);
    if (rc == PB_ERR_NOT_FOUND)
        rc = insert_pair(tx, player_id, NULL, now_ms, out);
    return rc;
}

/* Takes the stored nonce of an existing pair: PB_ERR_NOT_FOUND when there is none. */
static int take_existing(struct store *tx, const char *player_id, struct fair_seeds *out)
{
    struct store_stmt *st;
    if (store_prepare(tx, "UPDATE fair_seeds SET nonce = nonce + 1 WHERE player_id = ?"
                          " RETURNING " SEED_COLUMNS, &st) != PB_OK)
        return PB_ERR_DB;
    store_bind_text(st, 1, player_id, strlen(player_id));
    int rc = read_one_seeds(st, out);
    if (rc != PB_OK)
        return rc;
    out->nonce -= 1; /* RETURNING gives the new value: the bet uses the one before */
    PB_ASSERT(out->nonce >= 0);
    return PB_OK;
}

int fair_seeds_take_nonce(struct store *tx, const char *player_id, int64_t now_ms,
                          struct fair_seeds *out)
{
    PB_ASSERT(now_ms > 0);
    if (!player_ok(player_id))
        return PB_ERR_INVALID;
    int rc = take_existing(tx, player_id, out); /* one statement once the pair exists */
    if (rc != PB_ERR_NOT_FOUND)
        return rc;
    rc = insert_pair(tx, player_id, NULL, now_ms, out);
    if (rc == PB_OK)
        rc = take_existing(tx, player_id, out);
    return rc == PB_ERR_NOT_FOUND ? PB_ERR_DB : rc;
}

int fair_seeds_set_client(struct store *tx, const char *player_id, const char *client_seed,
                          int64_t now_ms, struct fair_seeds *out)
{
    if (!client_seed || !rng_fair_client_seed_ok(client_seed))
        return PB_ERR_INVALID;
    int rc = fair_seeds_ensure(tx, player_id, now_ms, out);
    if (rc != PB_OK)
        return rc;
    struct store_stmt *st;
    if (store_prepare(tx, "UPDATE fair_seeds SET client_seed = ? WHERE player_id = ?"
                          " RETURNING " SEED_COLUMNS, &st) != PB_OK)
        return PB_ERR_DB;
    store_bind_text(st, 1, client_seed, strlen(client_seed));
    store_bind_text(st, 2, player_id, strlen(player_id));
    rc = read_one_seeds(st, out);
    PB_ASSERT(rc != PB_OK || strcmp(out->client_seed, client_seed) == 0);
    return rc == PB_ERR_NOT_FOUND ? PB_ERR_DB : rc;
}

int fair_seeds_rotate(struct store *tx, const char *player_id, int64_t now_ms,
                      struct fair_revealed *revealed, struct fair_seeds *next)
{
    struct fair_seeds old;
    int rc = fair_seeds_ensure(tx, player_id, now_ms, &old);
    if (rc != PB_OK)
        return rc;
    struct store_stmt *st;
    if (store_prepare(tx, "DELETE FROM fair_seeds WHERE player_id = ? AND server_hash = ?"
                          " AND nonce = ?", &st) != PB_OK)
        return PB_ERR_DB;
    store_bind_text(st, 1, player_id, strlen(player_id));
    store_bind_text(st, 2, old.server_hash, strlen(old.server_hash));
    store_bind_int64(st, 3, old.nonce);
    rc = store_step(st);
    int64_t changed = store_changes(st);
    store_finalize(st);
    if (rc != STORE_DONE)
        return PB_ERR_DB;
    if (changed != 1)
        return PB_ERR_CONFLICT; /* a bet of another node took a nonce meanwhile: retry */
    memset(revealed, 0, sizeof(*revealed));
    memcpy(revealed->server_seed, old.server_seed, sizeof(old.server_seed));
    memcpy(revealed->server_hash, old.server_hash, sizeof(old.server_hash));
    memcpy(revealed->client_seed, old.client_seed, sizeof(old.client_seed));
    revealed->nonces = old.nonce;
    revealed->created_ms = old.created_ms;
    revealed->revealed_ms = now_ms;
    if (store_prepare(tx, "INSERT INTO fair_seeds_revealed (server_hash, player_id,"
                          " server_seed, client_seed, nonces, created_ms, revealed_ms)"
                          " VALUES (?, ?, ?, ?, ?, ?, ?)", &st) != PB_OK)
        return PB_ERR_DB;
    store_bind_text(st, 1, old.server_hash, strlen(old.server_hash));
    store_bind_text(st, 2, player_id, strlen(player_id));
    store_bind_text(st, 3, old.server_seed, strlen(old.server_seed));
    store_bind_text(st, 4, old.client_seed, strlen(old.client_seed));
    store_bind_int64(st, 5, old.nonce);
    store_bind_int64(st, 6, old.created_ms);
    store_bind_int64(st, 7, now_ms);
    rc = store_step(st);
    store_finalize(st);
    if (rc != STORE_DONE)
        return PB_ERR_DB;
    rc = insert_pair(tx, player_id, old.client_seed, now_ms, next);
    PB_ASSERT(rc != PB_OK || strcmp(next->server_hash, old.server_hash) != 0);
    return rc;
}

#define REVEALED_COLUMNS                                                                       \
    "server_seed, server_hash, client_seed, nonces, created_ms, revealed_ms"

static void read_revealed(struct store_stmt *st, struct fair_revealed *out)
{
    memset(out, 0, sizeof(*out));
    pb_strlcpy(out->server_seed, store_column_text(st, 0), sizeof(out->server_seed));
    pb_strlcpy(out->server_hash, store_column_text(st, 1), sizeof(out->server_hash));
    pb_strlcpy(out->client_seed, store_column_text(st, 2), sizeof(out->client_seed));
    out->nonces = store_column_int64(st, 3);
    out->created_ms = store_column_int64(st, 4);
    out->revealed_ms = store_column_int64(st, 5);
    char hash[FAIR_HASH_HEX + 1];
    rng_fair_commitment(out->server_seed, hash);
    PB_ASSERT(strcmp(hash, out->server_hash) == 0 && out->nonces >= 0);
}

int fair_seeds_revealed_get(struct store *s, const char *player_id, const char *server_hash,
                            struct fair_revealed *out)
{
    if (!player_ok(player_id) || !server_hash)
        return PB_ERR_NOT_FOUND;
    struct store_stmt *st;
    if (store_prepare(s, "SELECT " REVEALED_COLUMNS " FROM fair_seeds_revealed"
                         " WHERE server_hash = ? AND player_id = ?", &st) != PB_OK)
        return PB_ERR_DB;
    store_bind_text(st, 1, server_hash, strlen(server_hash));
    store_bind_text(st, 2, player_id, strlen(player_id));
    int rc = store_step(st);
    if (rc == STORE_ROW)
        read_revealed(st, out);
    store_finalize(st);
    return rc == STORE_ROW ? PB_OK : rc == STORE_DONE ? PB_ERR_NOT_FOUND : PB_ERR_DB;
}

int fair_seeds_revealed_list(struct store *s, const char *player_id, struct fair_revealed *out,
                             size_t max, size_t *n)
{
    PB_ASSERT(max <= FAIR_REVEALED_LIST_MAX);
    *n = 0;
    if (!player_ok(player_id) || max == 0)
        return PB_OK;
    struct store_stmt *st;
    if (store_prepare(s, "SELECT " REVEALED_COLUMNS " FROM fair_seeds_revealed"
                         " WHERE player_id = ? ORDER BY revealed_ms DESC, server_hash"
                         " LIMIT ?", &st) != PB_OK)
        return PB_ERR_DB;
    store_bind_text(st, 1, player_id, strlen(player_id));
    store_bind_int64(st, 2, (int64_t)max);
    int rc = STORE_DONE;
    while (*n < max && (rc = store_step(st)) == STORE_ROW)
        read_revealed(st, &out[(*n)++]);
    store_finalize(st);
    if (*n < max && rc != STORE_DONE) {
        *n = 0;
        return PB_ERR_DB;
    }
    return PB_OK;
}
