/* registry.c: the provider registry and game catalog tables, sealed secrets, CIDR ranges and
 * request signatures (providers.h; decisions in docs/providers.md). */
#include "providers/providers.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/base.h"
#include "base/sign.h"
#include "games/games.h"

#define NAME_CHARS "abcdefghijklmnopqrstuvwxyz0123456789_-"

bool providers_name_ok(const char *name)
{
    size_t n = strlen(name);
    return n >= 1 && n <= PROVIDERS_NAME_MAX && strspn(name, NAME_CHARS) == n;
}

bool providers_list_has(const char *list, const char *item)
{
    size_t n = strlen(item);
    for (const char *p = list; *p;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if ((len == 1 && p[0] == '*') || (len == n && strncmp(p, item, n) == 0))
            return true;
        if (!end)
            break;
        p = end + 1;
    }
    return false;
}

/* ---- CIDR ranges ---- */

struct cidr {
    unsigned char addr[16]; /* v4 as v4-mapped v6 */
    int bits;               /* of the 128 */
};

static bool parse_ip(const char *text, unsigned char out[16])
{
    struct in_addr v4;
    if (inet_pton(AF_INET, text, &v4) == 1) {
        memset(out, 0, 10);
        out[10] = out[11] = 0xff;
        memcpy(out + 12, &v4, 4);
        return true;
    }
    return inet_pton(AF_INET6, text, out) == 1;
}

static bool parse_cidr(const char *text, size_t len, struct cidr *out)
{
    char buf[64];
    if (len == 0 || len >= sizeof(buf))
        return false;
    memcpy(buf, text, len);
    buf[len] = '\0';
    char *slash = strchr(buf, '/');
    int bits = -1;
    if (slash) {
        *slash = '\0';
        size_t d = strspn(slash + 1, "0123456789");
        if (d < 1 || d > 3 || slash[1 + d] != '\0')
            return false;
        bits = atoi(slash + 1);
    }
    bool v4 = strchr(buf, ':') == NULL;
    if (!parse_ip(buf, out->addr))
        return false;
    int max = v4 ? 32 : 128;
    if (bits < 0)
        bits = max;
    if (bits > max)
        return false;
    out->bits = v4 ? bits + 96 : bits;
    return true;
}

static bool cidr_contains(const struct cidr *c, const unsigned char ip[16])
{
    int full = c->bits / 8, rest = c->bits % 8;
    if (memcmp(c->addr, ip, (size_t)full) != 0)
        return false;
    if (rest == 0)
        return true;
    unsigned char mask = (unsigned char)(0xff << (8 - rest));
    return (c->addr[full] & mask) == (ip[full] & mask);
}

/* Calls each range of ranges; false when one is malformed or there are too many. */
static bool ranges_each(const char *ranges, const unsigned char *ip, bool *hit)
{
    size_t count = 0;
    *hit = false;
    for (const char *p = ranges; *p;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        struct cidr c;
        if (++count > PROVIDERS_RANGES_MAX || !parse_cidr(p, len, &c))
            return false;
        if (ip && cidr_contains(&c, ip))
            *hit = true;
        if (!end)
            break;
        p = end + 1;
        if (!*p)
            return false; /* trailing comma */
    }
    return true;
}

int providers_ranges_check(const char *ranges)
{
    bool hit;
    if (strlen(ranges) > PROVIDERS_RANGES_TEXT_MAX)
        return PB_ERR_INVALID;
    return ranges_each(ranges, NULL, &hit) ? PB_OK : PB_ERR_INVALID;
}

bool providers_ip_allowed(const char *ranges, const char *ip)
{
    unsigned char addr[16];
    bool hit = false;
    if (!parse_ip(ip, addr))
        return false;
    return ranges_each(ranges, addr, &hit) && hit;
}

/* ---- sealed secrets ---- */

static int seal_key(unsigned char key[crypto_secretbox_KEYBYTES])
{
    const char *hex = getenv(PROVIDERS_SEAL_KEY_ENV);
    size_t n = 0;
    if (!hex || strlen(hex) != 2 * crypto_secretbox_KEYBYTES ||
        sodium_hex2bin(key, crypto_secretbox_KEYBYTES, hex, strlen(hex), NULL, &n, NULL) != 0 ||
        n != crypto_secretbox_KEYBYTES)
        return PB_ERR_INVALID;
    return PB_OK;
}

int providers_seal(const char *secret, char *out, size_t outlen)
{
    unsigned char key[crypto_secretbox_KEYBYTES];
    unsigned char box[crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES +
                      PROVIDERS_SECRET_TEXT];
    size_t len = strlen(secret);
    PB_ASSERT(len < PROVIDERS_SECRET_TEXT);
    PB_ASSERT(outlen >= 2 * (crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + len) + 1);
    if (seal_key(key) != PB_OK)
        return PB_ERR_INVALID;
    randombytes_buf(box, crypto_secretbox_NONCEBYTES);
    crypto_secretbox_easy(box + crypto_secretbox_NONCEBYTES, (const unsigned char *)secret,
                          len, box, key);
    sodium_bin2hex(out, outlen, box,
                   crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + len);
    sodium_memzero(key, sizeof(key));
    return PB_OK;
}

int providers_unseal(const char *sealed, char out[PROVIDERS_SECRET_TEXT])
{
    unsigned char key[crypto_secretbox_KEYBYTES];
    unsigned char box[crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES +
                      PROVIDERS_SECRET_TEXT];
    size_t n = 0;
    if (seal_key(key) != PB_OK)
        return PB_ERR_INVALID;
    int rc = PB_ERR_CONFLICT;
    if (sodium_hex2bin(box, sizeof(box), sealed, strlen(sealed), NULL, &n, NULL) == 0 &&
        n > crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES) {
        size_t len = n - crypto_secretbox_NONCEBYTES - crypto_secretbox_MACBYTES;
        if (crypto_secretbox_open_easy((unsigned char *)out, box + crypto_secretbox_NONCEBYTES,
                                       n - crypto_secretbox_NONCEBYTES, box, key) == 0) {
            out[len] = '\0';
            rc = PB_OK;
        }
    }
    sodium_memzero(key, sizeof(key));
    return rc;
}

/* ---- signatures ---- */

_Static_assert(PROVIDERS_SIGNATURE_HEX == PB_SIGN_HEX, "providers sign with base/sign.h");

void providers_sign(const char *secret, int64_t timestamp_s, const char *body, size_t len,
                    char out[PROVIDERS_SIGNATURE_HEX + 1])
{
    pb_sign_hex(secret, timestamp_s, body, len, out);
}

int providers_verify(const char *secret, const char *timestamp, const char *signature,
                     const char *body, size_t len, int64_t now_s)
{
    return pb_sign_verify(secret, timestamp, signature, body, len, now_s,
                          PROVIDERS_SIGNATURE_WINDOW_S);
}

/* ---- providers ---- */

#define PROVIDER_COLUMNS                                                                   \
    "name, protocol, base_url, ip_ranges, currencies, accept_unknown_round_wins, enabled,"  \
    " session_ttl_s, secret_sealed, created_at_ms, updated_at_ms"

static int bind_provider(struct store_stmt *st, const struct provider *p)
{
    int rc = store_bind_text(st, 1, p->name, strlen(p->name));
    rc = rc ? rc : store_bind_text(st, 2, p->protocol, strlen(p->protocol));
    rc = rc ? rc : store_bind_text(st, 3, p->base_url, strlen(p->base_url));
    rc = rc ? rc : store_bind_text(st, 4, p->ip_ranges, strlen(p->ip_ranges));
    rc = rc ? rc : store_bind_text(st, 5, p->currencies, strlen(p->currencies));
    rc = rc ? rc : store_bind_int64(st, 6, p->accept_unknown_round_wins);
    rc = rc ? rc : store_bind_int64(st, 7, p->enabled);
    rc = rc ? rc : store_bind_int64(st, 8, p->session_ttl_s);
    rc = rc ? rc : store_bind_text(st, 9, p->secret_sealed, strlen(p->secret_sealed));
    rc = rc ? rc : store_bind_int64(st, 10, p->created_at_ms);
    rc = rc ? rc : store_bind_int64(st, 11, p->updated_at_ms);
    return rc;
}

int providers_insert(struct store *tx, const struct provider *p)
{
    PB_ASSERT(providers_name_ok(p->name) && p->secret_sealed[0]);
    struct store_stmt *st;
    int rc = store_prepare(tx, "INSERT INTO provider_registry (" PROVIDER_COLUMNS ")"
                               " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", &st);
    if (rc != PB_OK)
        return rc;
    rc = bind_provider(st, p);
    rc = rc ? rc : store_step(st);
    store_finalize(st);
    return rc == STORE_DONE ? PB_OK : rc;
}

int providers_update(struct store *tx, const struct provider *p)
{
    PB_ASSERT(providers_name_ok(p->name) && p->secret_sealed[0]);
    struct store_stmt *st;
    int rc = store_prepare(tx, "UPDATE provider_registry SET name = ?, protocol = ?,"
                               " base_url = ?, ip_ranges = ?, currencies = ?,"
                               " accept_unknown_round_wins = ?, enabled = ?, session_ttl_s = ?,"
                               " secret_sealed = ?, created_at_ms = ?, updated_at_ms = ?"
                               " WHERE name = ?", &st);
    if (rc != PB_OK)
        return rc;
    rc = bind_provider(st, p);
    rc = rc ? rc : store_bind_text(st, 12, p->name, strlen(p->name));
    rc = rc ? rc : store_step(st);
    if (rc == STORE_DONE)
        rc = store_changes(st) == 1 ? PB_OK : PB_ERR_NOT_FOUND;
    store_finalize(st);
    return rc;
}

static void read_provider(struct store_stmt *st, struct provider *p)
{
    memset(p, 0, sizeof(*p));
    pb_strlcpy(p->name, store_column_text(st, 0), sizeof(p->name));
    pb_strlcpy(p->protocol, store_column_text(st, 1), sizeof(p->protocol));
    pb_strlcpy(p->base_url, store_column_text(st, 2), sizeof(p->base_url));
    pb_strlcpy(p->ip_ranges, store_column_text(st, 3), sizeof(p->ip_ranges));
    pb_strlcpy(p->currencies, store_column_text(st, 4), sizeof(p->currencies));
    p->accept_unknown_round_wins = store_column_int64(st, 5) != 0;
    p->enabled = store_column_int64(st, 6) != 0;
    p->session_ttl_s = store_column_int64(st, 7);
    pb_strlcpy(p->secret_sealed, store_column_text(st, 8), sizeof(p->secret_sealed));
    p->created_at_ms = store_column_int64(st, 9);
    p->updated_at_ms = store_column_int64(st, 10);
    PB_ASSERT(providers_name_ok(p->name) && p->session_ttl_s >= PROVIDERS_SESSION_TTL_S_MIN);
}

int providers_get(struct store *s, const char *name, struct provider *out)
{
    struct store_stmt *st;
    int rc = store_prepare(s, "SELECT " PROVIDER_COLUMNS " FROM provider_registry"
                              " WHERE name = ?", &st);
    if (rc != PB_OK)
        return rc;
    rc = store_bind_text(st, 1, name, strlen(name));
    rc = rc ? rc : store_step(st);
    if (rc == STORE_ROW)
        read_provider(st, out);
    store_finalize(st);
    return rc == STORE_ROW ? PB_OK : rc == STORE_DONE ? PB_ERR_NOT_FOUND : rc;
}

int providers_list(struct store *s, struct provider *out, size_t max, size_t *n)
{
    struct store_stmt *st;
    *n = 0;
    int rc = store_prepare(s, "SELECT " PROVIDER_COLUMNS " FROM provider_registry"
                              " ORDER BY name", &st);
    if (rc != PB_OK)
        return rc;
    while (*n < max && (rc = store_step(st)) == STORE_ROW)
        read_provider(st, &out[(*n)++]);
    store_finalize(st);
    return rc < 0 ? rc : PB_OK;
}

/* ---- catalog ---- */

#define GAME_COLUMNS                                                                       \
    "game_id, provider, external_id, name, category, tags, rtp_bp, volatility,"            \
    " jurisdictions, brands, enabled, ordering, updated_at_ms"

static void read_game(struct store_stmt *st, struct catalog_game *g)
{
    memset(g, 0, sizeof(*g));
    pb_strlcpy(g->game_id, store_column_text(st, 0), sizeof(g->game_id));
    pb_strlcpy(g->provider, store_column_text(st, 1), sizeof(g->provider));
    pb_strlcpy(g->external_id, store_column_text(st, 2), sizeof(g->external_id));
    pb_strlcpy(g->name, store_column_text(st, 3), sizeof(g->name));
    pb_strlcpy(g->category, store_column_text(st, 4), sizeof(g->category));
    pb_strlcpy(g->tags, store_column_text(st, 5), sizeof(g->tags));
    g->rtp_bp = store_column_int64(st, 6);
    pb_strlcpy(g->volatility, store_column_text(st, 7), sizeof(g->volatility));
    pb_strlcpy(g->jurisdictions, store_column_text(st, 8), sizeof(g->jurisdictions));
    pb_strlcpy(g->brands, store_column_text(st, 9), sizeof(g->brands));
    g->enabled = store_column_int64(st, 10) != 0;
    g->ordering = store_column_int64(st, 11);
    g->updated_at_ms = store_column_int64(st, 12);
}

int catalog_upsert(struct store *tx, const struct catalog_game *g, bool *created)
{
    PB_ASSERT(g->game_id[0] && providers_name_ok(g->provider));
    struct store_stmt *st;
    struct catalog_game old;
    int rc = catalog_get(tx, g->game_id, &old);
    if (rc != PB_OK && rc != PB_ERR_NOT_FOUND)
        return rc;
    *created = rc == PB_ERR_NOT_FOUND;
    rc = store_prepare(tx, *created ? "INSERT INTO provider_games (" GAME_COLUMNS ") VALUES"
                                      " (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                                    : "UPDATE provider_games SET game_id = ?, provider = ?,"
                                      " external_id = ?, name = ?, category = ?, tags = ?,"
                                      " rtp_bp = ?, volatility = ?, jurisdictions = ?,"
                                      " brands = ?, enabled = ?, ordering = ?,"
                                      " updated_at_ms = ? WHERE game_id = ?", &st);
    if (rc != PB_OK)
        return rc;
    const char *texts[] = {g->game_id, g->provider, g->external_id, g->name, g->category,
                           g->tags};
    for (int i = 0; rc == PB_OK && i < 6; i++)
        rc = store_bind_text(st, i + 1, texts[i], strlen(texts[i]));
    rc = rc ? rc : store_bind_int64(st, 7, g->rtp_bp);
    rc = rc ? rc : store_bind_text(st, 8, g->volatility, strlen(g->volatility));
    rc = rc ? rc : store_bind_text(st, 9, g->jurisdictions, strlen(g->jurisdictions));
    rc = rc ? rc : store_bind_text(st, 10, g->brands, strlen(g->brands));
    rc = rc ? rc : store_bind_int64(st, 11, g->enabled);
    rc = rc ? rc : store_bind_int64(st, 12, g->ordering);
    rc = rc ? rc : store_bind_int64(st, 13, g->updated_at_ms);
    if (rc == PB_OK && !*created)
        rc = store_bind_text(st, 14, g->game_id, strlen(g->game_id));
    rc = rc ? rc : store_step(st);
    store_finalize(st);
    return rc == STORE_DONE ? PB_OK : rc;
}

int catalog_get(struct store *s, const char *game_id, struct catalog_game *out)
{
    struct store_stmt *st;
    int rc = store_prepare(s, "SELECT " GAME_COLUMNS " FROM provider_games WHERE game_id = ?",
                           &st);
    if (rc != PB_OK)
        return rc;
    rc = store_bind_text(st, 1, game_id, strlen(game_id));
    rc = rc ? rc : store_step(st);
    if (rc == STORE_ROW)
        read_game(st, out);
    store_finalize(st);
    return rc == STORE_ROW ? PB_OK : rc == STORE_DONE ? PB_ERR_NOT_FOUND : rc;
}

bool catalog_visible(const struct catalog_game *g, const char *brand, const char *jurisdiction)
{
    return (!brand || providers_list_has(g->brands, brand)) &&
           (!jurisdiction || providers_list_has(g->jurisdictions, jurisdiction));
}

static bool contains_nocase(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (const char *p = hay; *p; p++)
        if (strncasecmp(p, needle, n) == 0)
            return true;
    return n == 0;
}

static bool catalog_match(const struct catalog_game *g, const struct catalog_filter *f)
{
    if (!f->include_disabled && !g->enabled)
        return false;
    if (!catalog_visible(g, f->brand, f->jurisdiction))
        return false;
    if (f->category && strcmp(g->category, f->category) != 0)
        return false;
    if (f->provider && strcmp(g->provider, f->provider) != 0)
        return false;
    return !f->search || contains_nocase(g->name, f->search) ||
           contains_nocase(g->tags, f->search);
}

/* In-house games (the games registry) as catalog entries; none before it exists. */
static size_t in_house_games(struct catalog_game *out, size_t max);

int catalog_list(struct store *s, const struct catalog_filter *f, struct catalog_game *out,
                 size_t max, size_t *n, bool *more)
{
    struct store_stmt *st;
    struct catalog_game g;
    *n = 0;
    *more = false;
    size_t house = in_house_games(out, max);
    for (size_t i = 0; i < house; i++)
        if (catalog_match(&out[i], f))
            out[(*n)++] = out[i];
    int rc = store_prepare(s, "SELECT " GAME_COLUMNS " FROM provider_games"
                              " ORDER BY ordering, name, game_id", &st);
    if (rc != PB_OK)
        return rc;
    while ((rc = store_step(st)) == STORE_ROW) {
        read_game(st, &g);
        if (!catalog_match(&g, f))
            continue;
        if (*n == max) {
            *more = true;
            break;
        }
        out[(*n)++] = g;
    }
    store_finalize(st);
    return rc < 0 ? rc : PB_OK;
}

static size_t in_house_games(struct catalog_game *out, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < games_count() && n < max; i++) {
        const struct game_type *t = games_at(i);
        struct catalog_game *g = &out[n++];
        memset(g, 0, sizeof(*g));
        snprintf(g->game_id, sizeof(g->game_id), PROVIDERS_IN_HOUSE ":%s", t->id);
        pb_strlcpy(g->provider, PROVIDERS_IN_HOUSE, sizeof(g->provider));
        pb_strlcpy(g->external_id, t->id, sizeof(g->external_id));
        pb_strlcpy(g->name, t->name, sizeof(g->name));
        pb_strlcpy(g->category, t->kind, sizeof(g->category));
        pb_strlcpy(g->tags, t->provably_fair ? "in-house,provably-fair" : "in-house",
                   sizeof(g->tags));
        g->rtp_bp = t->variants[0].rtp_ppm / 100; /* the default variant */
        pb_strlcpy(g->jurisdictions, "*", sizeof(g->jurisdictions));
        pb_strlcpy(g->brands, "*", sizeof(g->brands));
        g->enabled = true;
    }
    return n;
}

/* ---- launch tokens ---- */

int providers_launch_insert(struct store *tx, const char *token_hash,
                            const struct provider_session *b, int64_t now_ms)
{
    struct store_stmt *st;
    int rc = store_prepare(tx, "INSERT INTO provider_launch (token_hash, provider, game_id,"
                               " player_id, currency, player_session_id, expires_at_ms,"
                               " used_at_ms, created_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?)",
                           &st);
    if (rc != PB_OK)
        return rc;
    const char *texts[] = {token_hash, b->provider, b->game_id, b->player_id, b->currency,
                           b->player_session_id};
    for (int i = 0; rc == PB_OK && i < 6; i++)
        rc = store_bind_text(st, i + 1, texts[i], strlen(texts[i]));
    rc = rc ? rc : store_bind_int64(st, 7, now_ms + PROVIDERS_LAUNCH_TTL_S * 1000);
    rc = rc ? rc : store_bind_int64(st, 8, now_ms);
    rc = rc ? rc : store_step(st);
    store_finalize(st);
    return rc == STORE_DONE ? PB_OK : rc;
}
