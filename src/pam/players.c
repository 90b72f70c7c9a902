/* players.c: player rows, account blocks and closure (pam.h; tables in schema.c, design in
 * docs/pam.md). Writers run inside writer commands; readers take any connection. */
#include <stdatomic.h>
#include <string.h>

#include "base/base.h"
#include "pam/pam.h"

static const char *const block_names[] = {"login", "deposit", "withdraw", "bet", "read_only"};

const char *pam_block_name(unsigned block)
{
    for (size_t i = 0; i < PB_ARRAY_LEN(block_names); i++)
        if (block == (1u << i))
            return block_names[i];
    return NULL;
}

unsigned pam_block_parse(const char *name)
{
    for (size_t i = 0; i < PB_ARRAY_LEN(block_names); i++)
        if (strcmp(name, block_names[i]) == 0)
            return 1u << i;
    return 0;
}

static int bind_text(struct store_stmt *st, int idx, const char *v)
{
    return store_bind_text(st, idx, v, strlen(v));
}

/* ---- change generations ---- */

static _Atomic uint64_t generations[PAM_GENERATION_STRIPES];

static _Atomic uint64_t *generation_of(const char *player_id)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (const unsigned char *c = (const unsigned char *)player_id; *c; c++)
        h = (h ^ *c) * 16777619u;
    return &generations[h % PAM_GENERATION_STRIPES];
}

uint64_t pam_player_generation(const char *player_id)
{
    return atomic_load_explicit(generation_of(player_id), memory_order_acquire);
}

void pam_player_changed(const char *player_id)
{
    atomic_fetch_add_explicit(generation_of(player_id), 1, memory_order_release);
}

/* Runs a statement without result rows; the store's PB_ERR_CONFLICT passes through. */
static int step_done(struct store_stmt *st, int rc)
{
    if (rc == PB_OK) {
        rc = store_step(st);
        rc = rc == STORE_DONE ? PB_OK : rc == STORE_ROW ? PB_ERR_DB : rc;
    }
    store_finalize(st);
    return rc;
}

int pam_player_insert(struct store *tx, const struct pam_player *p)
{
    PB_ASSERT(p->id[0] && p->brand[0] && p->email[0] && p->password_hash[0]);
    struct store_stmt *st;
    int rc = store_prepare(tx,
                           "INSERT INTO pam_players (id, brand, email, password_hash,"
                           " date_of_birth, country, currency, referral_code, status,"
                           " created_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                           " ON CONFLICT (brand, email) DO NOTHING",
                           &st);
    if (rc != PB_OK)
        return rc;
    rc = bind_text(st, 1, p->id);
    rc = rc ? rc : bind_text(st, 2, p->brand);
    rc = rc ? rc : bind_text(st, 3, p->email);
    rc = rc ? rc : bind_text(st, 4, p->password_hash);
    rc = rc ? rc : bind_text(st, 5, p->date_of_birth);
    rc = rc ? rc : bind_text(st, 6, p->country);
    rc = rc ? rc : bind_text(st, 7, p->currency);
    rc = rc ? rc : bind_text(st, 8, p->referral_code);
    rc = rc ? rc : bind_text(st, 9, p->closed ? "closed" : "active");
    rc = rc ? rc : store_bind_int64(st, 10, p->created_at_ms);
    rc = rc ? rc : store_step(st);
    int64_t changes = rc == STORE_DONE ? store_changes(st) : 0;
    store_finalize(st);
    pam_player_changed(p->id);
    if (rc != STORE_DONE)
        return rc == STORE_ROW ? PB_ERR_DB : rc;
    return changes == 1 ? PB_OK : PB_ERR_CONFLICT; /* DO NOTHING: the e-mail is taken */
}

#define PLAYER_COLUMNS                                                                         \
    "SELECT id, brand, email, password_hash, date_of_birth, country, currency,"               \
    " referral_code, status, created_at_ms FROM pam_players "

static int read_player(struct store_stmt *st, int rc, struct pam_player *out)
{
    if (rc == PB_OK)
        rc = store_step(st);
    if (rc == STORE_ROW) {
        memset(out, 0, sizeof(*out));
        pb_strlcpy(out->id, store_column_text(st, 0), sizeof(out->id));
        pb_strlcpy(out->brand, store_column_text(st, 1), sizeof(out->brand));
        pb_strlcpy(out->email, store_column_text(st, 2), sizeof(out->email));
        pb_strlcpy(out->password_hash, store_column_text(st, 3), sizeof(out->password_hash));
        pb_strlcpy(out->date_of_birth, store_column_text(st, 4), sizeof(out->date_of_birth));
        pb_strlcpy(out->country, store_column_text(st, 5), sizeof(out->country));
        pb_strlcpy(out->currency, store_column_text(st, 6), sizeof(out->currency));
        pb_strlcpy(out->referral_code, store_column_text(st, 7), sizeof(out->referral_code));
        out->closed = strcmp(store_column_text(st, 8), "closed") == 0;
        out->created_at_ms = store_column_int64(st, 9);
        PB_ASSERT(out->id[0] && out->email[0]); /* NOT NULL columns */
        rc = PB_OK;
    } else if (rc == STORE_DONE) {
        rc = PB_ERR_NOT_FOUND;
    }
    store_finalize(st);
    return rc;
}

int pam_player_get(struct store *s, const char *player_id, struct pam_player *out)
{
    struct store_stmt *st;
    int rc = store_prepare(s, PLAYER_COLUMNS "WHERE id = ?", &st);
    if (rc != PB_OK)
        return rc;
    return read_player(st, bind_text(st, 1, player_id), out);
}

int pam_player_find(struct store *s, const char *brand, const char *email,
                    struct pam_player *out)
{
    struct store_stmt *st;
    int rc = store_prepare(s, PLAYER_COLUMNS "WHERE brand = ? AND email = ?", &st);
    if (rc != PB_OK)
        return rc;
    rc = bind_text(st, 1, brand);
    rc = rc ? rc : bind_text(st, 2, email);
    return read_player(st, rc, out);
}

int pam_player_blocks_each(struct store *s, const char *player_id, pam_block_fn fn, void *arg)
{
    struct store_stmt *st;
    int rc = store_prepare(s,
                           "SELECT block, reason, created_at_ms FROM pam_blocks"
                           " WHERE player_id = ? ORDER BY block",
                           &st);
    if (rc != PB_OK)
        return rc;
    rc = bind_text(st, 1, player_id);
    while (rc == PB_OK && (rc = store_step(st)) == STORE_ROW) {
        unsigned bit = pam_block_parse(store_column_text(st, 0));
        PB_ASSERT(bit != 0); /* only pam_player_block_set writes the column */
        fn(bit, store_column_text(st, 1), store_column_int64(st, 2), arg);
        rc = PB_OK;
    }
    store_finalize(st);
    return rc == STORE_DONE ? PB_OK : rc;
}

static void add_bit(unsigned block, const char *reason, int64_t since_ms, void *arg)
{
    PB_UNUSED(reason);
    PB_UNUSED(since_ms);
    *(unsigned *)arg |= block;
}

int pam_player_blocks(struct store *s, const char *player_id, unsigned *blocks)
{
    *blocks = 0;
    int rc = pam_player_blocks_each(s, player_id, add_bit, blocks);
    PB_ASSERT((*blocks & ~PAM_BLOCK_ALL) == 0);
    return rc;
}

int pam_player_block_set(struct store *tx, const char *player_id, unsigned block,
                         const char *reason, int64_t now_ms)
{
    const char *name = pam_block_name(block);
    PB_ASSERT(name != NULL && reason[0] && strlen(reason) <= PAM_BLOCK_REASON_MAX);
    struct store_stmt *st;
    int rc = store_prepare(tx,
                           "INSERT INTO pam_blocks (player_id, block, reason, created_at_ms)"
                           " VALUES (?, ?, ?, ?) ON CONFLICT (player_id, block) DO NOTHING",
                           &st);
    if (rc != PB_OK)
        return rc;
    rc = bind_text(st, 1, player_id);
    rc = rc ? rc : bind_text(st, 2, name);
    rc = rc ? rc : bind_text(st, 3, reason);
    rc = rc ? rc : store_bind_int64(st, 4, now_ms);
    rc = step_done(st, rc);
    pam_player_changed(player_id);
    return rc;
}

int pam_player_block_clear(struct store *tx, const char *player_id, unsigned block)
{
    const char *name = pam_block_name(block);
    PB_ASSERT(name != NULL);
    struct store_stmt *st;
    int rc = store_prepare(tx, "DELETE FROM pam_blocks WHERE player_id = ? AND block = ?", &st);
    if (rc != PB_OK)
        return rc;
    rc = bind_text(st, 1, player_id);
    rc = rc ? rc : bind_text(st, 2, name);
    rc = step_done(st, rc);
    pam_player_changed(player_id);
    return rc;
}

int pam_player_close(struct store *tx, const char *player_id, const char *reason,
                     int64_t now_ms)
{
    struct store_stmt *st;
    int rc = store_prepare(tx, "UPDATE pam_players SET status = 'closed' WHERE id = ?", &st);
    if (rc != PB_OK)
        return rc;
    rc = step_done(st, bind_text(st, 1, player_id));
    pam_player_changed(player_id);
    if (rc == PB_OK)
        rc = pam_player_block_set(tx, player_id, PAM_BLOCK_DEPOSIT, reason, now_ms);
    if (rc == PB_OK)
        rc = pam_player_block_set(tx, player_id, PAM_BLOCK_BET, reason, now_ms);
    return rc;
}
