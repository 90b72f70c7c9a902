/* slot_def.c: decoding and compiling slot definitions (slots.h, docs/games.md "Definition
 * files"). Everything a file can get wrong is refused with the field named; what passes is
 * compiled into the tables the hot path reads. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/base.h"
#include "games/slots.h"

static int fail(struct pb_json_error *err, const char *code, const char *field,
                const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int fail(struct pb_json_error *err, const char *code, const char *field,
                const char *fmt, ...)
{
    err->code = code;
    pb_strlcpy(err->field, field, sizeof(err->field));
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->detail, sizeof(err->detail), fmt, ap);
    va_end(ap);
    return PB_ERR_INVALID;
}

/* An array of exactly n integers in [lo, hi] at field. */
static int int_array(const json_t *a, const char *field, size_t n, int32_t lo, int32_t hi,
                     int32_t *out, struct pb_json_error *err)
{
    if (json_array_size(a) != n)
        return fail(err, "out_of_range", field, "must list exactly %zu integers (one per reel)",
                    n);
    for (size_t i = 0; i < n; i++) {
        const json_t *v = json_array_get(a, i);
        if (!json_is_integer(v))
            return fail(err, "wrong_type", field, "must list integers");
        json_int_t x = json_integer_value(v);
        if (x < lo || x > hi)
            return fail(err, "out_of_range", field, "values must be %d .. %d", lo, hi);
        out[i] = (int32_t)x;
    }
    return PB_OK;
}

struct top {
    const char *id, *name, *variant;
    int64_t rtp_ppm, rows, cost;
    const json_t *symbols, *reels, *free_reels, *lines, *free_spins, *variants;
    bool ways;
};

struct variant_fields {
    const char *id;
    int64_t rtp_ppm;
    const json_t *reels, *free_reels;
};

struct sym_fields {
    const char *id;
    const json_t *pays, *free_spins;
    bool wild, scatter;
};

static int decode_symbols(struct slot_def *d, const json_t *arr, struct pb_json_error *err)
{
    static const struct pb_json_field fields[] = {
        PB_JSON_STR(struct sym_fields, id, PB_JSON_REQUIRED, 1, SLOT_SYMBOL_ID_MAX),
        PB_JSON_ARR(struct sym_fields, pays, PB_JSON_REQUIRED),
        PB_JSON_BOOL(struct sym_fields, wild, PB_JSON_OPTIONAL),
        PB_JSON_BOOL(struct sym_fields, scatter, PB_JSON_OPTIONAL),
        PB_JSON_ARR(struct sym_fields, free_spins, PB_JSON_OPTIONAL),
    };
    size_t n = json_array_size(arr);
    if (n < 2 || n > SLOT_SYMBOLS_MAX)
        return fail(err, "out_of_range", "symbols", "must list 2 .. %d symbols",
                    SLOT_SYMBOLS_MAX);
    d->nsymbols = (int32_t)n;
    d->wild = d->scatter = -1;
    for (size_t i = 0; i < n; i++) {
        char prefix[32], field[64];
        snprintf(prefix, sizeof(prefix), "symbols[%zu]", i);
        const json_t *v = json_array_get(arr, i);
        if (!json_is_object(v))
            return fail(err, "wrong_type", prefix, "each symbol must be an object");
        struct sym_fields s = {0};
        if (pb_json_decode(v, prefix, fields, PB_ARRAY_LEN(fields), &s, err) != PB_OK)
            return PB_ERR_INVALID;
        struct slot_symbol *sym = &d->symbols[i];
        snprintf(field, sizeof(field), "%s.id", prefix);
        for (const char *c = s.id; *c; c++)
            if (!((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') ||
                  (*c >= '0' && *c <= '9') || *c == '_' || *c == '-'))
                return fail(err, "out_of_range", field,
                            "symbol ids are letters, digits, '_' and '-'");
        for (size_t j = 0; j < i; j++)
            if (strcmp(d->symbols[j].id, s.id) == 0)
                return fail(err, "duplicate", field, "symbol '%s' is defined twice", s.id);
        pb_strlcpy(sym->id, s.id, sizeof(sym->id));
        if (s.wild && s.scatter)
            return fail(err, "invalid_definition", prefix,
                        "a symbol is wild or scatter, not both");
        sym->kind = s.wild      ? SLOT_SYMBOL_WILD
                    : s.scatter ? SLOT_SYMBOL_SCATTER
                                : SLOT_SYMBOL_NORMAL;
        if (s.wild) {
            if (d->wild >= 0)
                return fail(err, "invalid_definition", prefix, "only one symbol may be wild");
            d->wild = (int)i;
        }
        if (s.scatter) {
            if (d->scatter >= 0)
                return fail(err, "invalid_definition", prefix, "only one symbol may be scatter");
            d->scatter = (int)i;
        }
        snprintf(field, sizeof(field), "%s.pays", prefix);
        if (int_array(s.pays, field, (size_t)d->reels, 0, SLOT_PAY_MAX, sym->pays, err) != PB_OK)
            return PB_ERR_INVALID;
        snprintf(field, sizeof(field), "%s.free_spins", prefix);
        if (s.free_spins) {
            if (!s.scatter)
                return fail(err, "invalid_definition", field,
                            "only the scatter awards free spins");
            if (int_array(s.free_spins, field, (size_t)d->reels, 0, SLOT_FREE_SPINS_AWARD_MAX,
                          sym->free_spins, err) != PB_OK)
                return PB_ERR_INVALID;
            for (int k = 0; k < d->reels; k++)
                d->has_free_spins |= sym->free_spins[k] > 0;
        }
    }
    return PB_OK;
}

static int symbol_index(const struct slot_def *d, const char *id)
{
    for (int i = 0; i < d->nsymbols; i++)
        if (strcmp(d->symbols[i].id, id) == 0)
            return i;
    return -1;
}

static int decode_reels(struct slot_def *d, const json_t *arr, const char *name,
                        struct slot_reels *out, struct pb_json_error *err)
{
    if ((int32_t)json_array_size(arr) != d->reels)
        return fail(err, "out_of_range", name, "must list %d reels, as the base reels do",
                    d->reels);
    for (int r = 0; r < d->reels; r++) {
        char field[64];
        snprintf(field, sizeof(field), "%s[%d]", name, r);
        const json_t *strip = json_array_get(arr, (size_t)r);
        if (!json_is_array(strip))
            return fail(err, "wrong_type", field, "each reel is an array of symbol ids");
        size_t len = json_array_size(strip);
        if (len < (size_t)d->rows || len > SLOT_STRIP_MAX)
            return fail(err, "out_of_range", field, "a reel has %d .. %d stops", d->rows,
                        SLOT_STRIP_MAX);
        out->len[r] = (int32_t)len;
        out->strip[r] = pb_malloc(len + (size_t)d->rows);
        for (size_t i = 0; i < len; i++) {
            const json_t *v = json_array_get(strip, i);
            snprintf(field, sizeof(field), "%s[%d][%zu]", name, r, i);
            if (!json_is_string(v))
                return fail(err, "wrong_type", field, "must be a symbol id");
            int s = symbol_index(d, json_string_value(v));
            if (s < 0)
                return fail(err, "unknown_symbol", field, "'%s' is not in symbols",
                            json_string_value(v));
            out->strip[r][i] = (uint8_t)s;
        }
        for (int i = 0; i < d->rows; i++)
            out->strip[r][len + (size_t)i] = out->strip[r][i];
    }
    return PB_OK;
}

static void reels_tables(struct slot_def *d, struct slot_reels *rs)
{
    for (int r = 0; r < d->reels; r++) {
        int32_t len = rs->len[r];
        rs->scatter_at[r] = pb_calloc((size_t)len, 1);
        if (d->ways)
            rs->count_at[r] = pb_calloc((size_t)len * SLOT_SYMBOLS_MAX, 1);
        for (int32_t stop = 0; stop < len; stop++) {
            for (int row = 0; row < d->rows; row++) {
                int s = rs->strip[r][stop + row];
                if (s == d->scatter)
                    rs->scatter_at[r][stop] = 1;
                if (!d->ways)
                    continue;
                if (s == d->wild) {
                    for (int t = 0; t < d->nsymbols; t++)
                        if (t != d->scatter)
                            rs->count_at[r][stop * SLOT_SYMBOLS_MAX + t]++;
                } else {
                    rs->count_at[r][stop * SLOT_SYMBOLS_MAX + s]++;
                }
            }
        }
    }
}

static void reels_release(struct slot_reels *rs)
{
    for (int r = 0; r < SLOT_REELS_MAX; r++) {
        pb_free(rs->strip[r]);
        pb_free(rs->scatter_at[r]);
        pb_free(rs->count_at[r]);
    }
}

void slot_def_free(struct slot_def *d)
{
    if (!d)
        return;
    for (int v = 0; v < SLOT_VARIANTS_MAX; v++) {
        reels_release(&d->variants[v].base);
        if (d->variants[v].own_free_reels)
            reels_release(&d->variants[v].free);
    }
    pb_free(d->dfa_next);
    pb_free(d->dfa_pay);
    pb_free(d);
}

/* ---- the line automaton ----
 * A state is what the reels read so far say about the line: the symbol the substituted run
 * forms (t, or -1 while only wilds were read) and its length n, the wild run's length w, and
 * whether each run can still grow. Runs that can no longer grow only matter through the pay
 * they reached, so states where neither can grow collapse into one state per pay. */
struct dfa_key {
    int t, n, w;
    bool sub_alive, wild_alive, start, dead;
    int32_t pay; /* dead states: the pay */
};

static int32_t key_pay(const struct slot_def *d, const struct dfa_key *k)
{
    if (k->start)
        return 0;
    if (k->dead)
        return k->pay;
    int32_t p = 0;
    if (k->t >= 0 && k->n > 0)
        p = d->symbols[k->t].pays[k->n - 1];
    if (k->w > 0 && d->wild >= 0 && d->symbols[d->wild].pays[k->w - 1] > p)
        p = d->symbols[d->wild].pays[k->w - 1];
    return p;
}

static struct dfa_key dfa_step(const struct slot_def *d, struct dfa_key k, int x)
{
    if (k.dead)
        return k;
    bool wild = x == d->wild, scatter = x == d->scatter;
    struct dfa_key o = k;
    if (k.start) {
        o.start = false;
        if (wild) {
            o = (struct dfa_key){.t = -1, .n = 1, .w = 1, .sub_alive = true, .wild_alive = true};
        } else if (scatter) {
            o = (struct dfa_key){.dead = true, .pay = 0};
            return o;
        } else {
            o = (struct dfa_key){.t = x, .n = 1, .w = 0, .sub_alive = true};
        }
    } else {
        o.wild_alive = k.wild_alive && wild;
        if (o.wild_alive)
            o.w++;
        if (k.sub_alive) {
            if (k.t == -1) { /* only wilds so far */
                if (wild) {
                    o.n++;
                } else if (scatter) {
                    o.sub_alive = false;
                } else {
                    o.t = x;
                    o.n++;
                }
            } else if (x == k.t || wild) {
                o.n++;
            } else {
                o.sub_alive = false;
            }
        }
    }
    if (!o.sub_alive && !o.wild_alive)
        return (struct dfa_key){.dead = true, .pay = key_pay(d, &o)};
    /* A line has reels symbols: runs longer are never read, so they need no states. */
    if (o.n > d->reels || o.w > d->reels)
        return (struct dfa_key){.dead = true, .pay = 0};
    return o;
}

static bool key_eq(const struct dfa_key *a, const struct dfa_key *b)
{
    if (a->dead || b->dead)
        return a->dead == b->dead && a->pay == b->pay;
    return a->start == b->start && a->t == b->t && a->n == b->n && a->w == b->w &&
           a->sub_alive == b->sub_alive && a->wild_alive == b->wild_alive;
}

static int build_dfa(struct slot_def *d, struct pb_json_error *err)
{
    struct dfa_key *keys = pb_malloc(sizeof(*keys) * SLOT_DFA_STATES_MAX);
    d->dfa_next = pb_calloc((size_t)SLOT_DFA_STATES_MAX * SLOT_SYMBOLS_MAX, sizeof(uint16_t));
    int n = 1, rc = PB_OK;
    keys[0] = (struct dfa_key){.start = true};
    for (int i = 0; i < n && rc == PB_OK; i++) {
        for (int x = 0; x < d->nsymbols; x++) {
            struct dfa_key k = dfa_step(d, keys[i], x);
            int j = 0;
            while (j < n && !key_eq(&keys[j], &k))
                j++;
            if (j == n) {
                if (n == SLOT_DFA_STATES_MAX) {
                    rc = fail(err, "invalid_definition", "symbols", "too many line states");
                    break;
                }
                keys[n++] = k;
            }
            d->dfa_next[i * SLOT_SYMBOLS_MAX + x] = (uint16_t)j;
        }
    }
    d->dfa_states = n;
    d->dfa_pay = pb_malloc(sizeof(int32_t) * (size_t)n);
    for (int i = 0; i < n; i++)
        d->dfa_pay[i] = key_pay(d, &keys[i]);
    pb_free(keys);
    return rc;
}

/* P(k reels show a scatter) on rs, k = 0..reels. */
static void scatter_distribution(const struct slot_def *d, const struct slot_reels *rs,
                                 double p[SLOT_REELS_MAX + 1]);

static bool id_ok(const char *id)
{
    for (const char *c = id; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '-'))
            return false;
    return true;
}

/* Decodes variant v's reels (prefix "" for the top-level variant, "variants[i]." for the
 * others) and compiles them; checks that its features end. */
static int decode_variant(struct slot_def *d, int v, const char *prefix, const json_t *reels,
                          const json_t *free_reels, struct pb_json_error *err)
{
    struct slot_variant *sv = &d->variants[v];
    char field[64];
    snprintf(field, sizeof(field), "%sreels", prefix);
    if (decode_reels(d, reels, field, &sv->base, err) != PB_OK)
        return PB_ERR_INVALID;
    snprintf(field, sizeof(field), "%sfree_reels", prefix);
    if (free_reels) {
        if (!d->has_free_spins)
            return fail(err, "invalid_definition", field, "no scatter awards free spins");
        sv->own_free_reels = true;
        if (decode_reels(d, free_reels, field, &sv->free, err) != PB_OK)
            return PB_ERR_INVALID;
    }
    reels_tables(d, &sv->base);
    if (sv->own_free_reels)
        reels_tables(d, &sv->free);
    else
        sv->free = sv->base;
    if (d->has_free_spins) {
        double p[SLOT_REELS_MAX + 1], rate = 0;
        scatter_distribution(d, &sv->free, p);
        for (int k = 1; k <= d->reels; k++)
            rate += p[k] * d->symbols[d->scatter].free_spins[k - 1];
        if (rate >= SLOT_RETRIGGER_RATE_MAX)
            return fail(err, "invalid_definition", field,
                        "a free spin retriggers %.3f spins on average: at most %.2f, so"
                        " features end", rate, SLOT_RETRIGGER_RATE_MAX);
    }
    return PB_OK;
}

/* The variants after the first ("variants"): ids and RTPs distinct from every other. */
static int decode_variants(struct slot_def *d, const json_t *arr, struct pb_json_error *err)
{
    static const struct pb_json_field fields[] = {
        PB_JSON_STR(struct variant_fields, id, PB_JSON_REQUIRED, 1, GAME_VARIANT_ID_MAX),
        PB_JSON_INT(struct variant_fields, rtp_ppm, PB_JSON_REQUIRED, 0, 1000000),
        PB_JSON_ARR(struct variant_fields, reels, PB_JSON_REQUIRED),
        PB_JSON_ARR(struct variant_fields, free_reels, PB_JSON_OPTIONAL),
    };
    size_t n = json_array_size(arr);
    if (n < 1 || n > SLOT_VARIANTS_MAX - 1)
        return fail(err, "out_of_range", "variants", "lists 1 .. %d more variants",
                    SLOT_VARIANTS_MAX - 1);
    for (size_t i = 0; i < n; i++) {
        char prefix[32], field[48];
        snprintf(prefix, sizeof(prefix), "variants[%zu]", i);
        const json_t *v = json_array_get(arr, i);
        if (!json_is_object(v))
            return fail(err, "wrong_type", prefix, "each variant is an object");
        struct variant_fields f = {0};
        if (pb_json_decode(v, prefix, fields, PB_ARRAY_LEN(fields), &f, err) != PB_OK)
            return PB_ERR_INVALID;
        snprintf(field, sizeof(field), "%s.id", prefix);
        if (!id_ok(f.id))
            return fail(err, "out_of_range", field, "an id is lower-case letters, digits and"
                                                    " '-'");
        for (int k = 0; k < d->nvariants; k++) {
            if (strcmp(d->variants[k].id, f.id) == 0)
                return fail(err, "duplicate", field, "another variant has this id");
            if (d->variants[k].rtp_ppm == f.rtp_ppm) {
                snprintf(field, sizeof(field), "%s.rtp_ppm", prefix);
                return fail(err, "duplicate", field, "another variant has this RTP: the"
                                                     " configuration names a variant by it");
            }
        }
        int vi = d->nvariants++;
        pb_strlcpy(d->variants[vi].id, f.id, sizeof(d->variants[vi].id));
        d->variants[vi].rtp_ppm = (int32_t)f.rtp_ppm;
        snprintf(prefix, sizeof(prefix), "variants[%zu].", i);
        if (decode_variant(d, vi, prefix, f.reels, f.free_reels, err) != PB_OK)
            return PB_ERR_INVALID;
    }
    return PB_OK;
}

static void scatter_distribution(const struct slot_def *d, const struct slot_reels *rs,
                                 double p[SLOT_REELS_MAX + 1])
{
    memset(p, 0, sizeof(double) * (SLOT_REELS_MAX + 1));
    p[0] = 1;
    for (int r = 0; r < d->reels; r++) {
        int32_t hits = 0;
        for (int32_t s = 0; s < rs->len[r]; s++)
            hits += rs->scatter_at[r][s];
        double q = (double)hits / rs->len[r];
        for (int k = r + 1; k >= 0; k--)
            p[k] = p[k] * (1 - q) + (k > 0 ? p[k - 1] * q : 0);
    }
}

static int decode(const char *text, size_t len, struct slot_def *d, struct pb_json_error *err)
{
    if (len > SLOT_DEF_TEXT_MAX)
        return fail(err, "too_large", "", "a definition is at most %d bytes", SLOT_DEF_TEXT_MAX);
    json_t *root;
    if (pb_json_parse(text, len, true, &root, err) != PB_OK)
        return PB_ERR_INVALID;
    struct top t = {0};
    struct pb_json_field fields[] = {
        PB_JSON_STR(struct top, id, PB_JSON_REQUIRED, 1, 64),
        PB_JSON_STR(struct top, name, PB_JSON_REQUIRED, 1, 64),
        PB_JSON_INT(struct top, rtp_ppm, PB_JSON_REQUIRED, 0, 1000000),
        PB_JSON_STR(struct top, variant, PB_JSON_OPTIONAL, 1, GAME_VARIANT_ID_MAX),
        PB_JSON_ARR(struct top, variants, PB_JSON_OPTIONAL),
        PB_JSON_INT(struct top, rows, PB_JSON_REQUIRED, 1, SLOT_ROWS_MAX),
        PB_JSON_ARR(struct top, symbols, PB_JSON_REQUIRED),
        PB_JSON_ARR(struct top, reels, PB_JSON_REQUIRED),
        PB_JSON_ARR(struct top, free_reels, PB_JSON_OPTIONAL),
        PB_JSON_ARR(struct top, lines, PB_JSON_OPTIONAL),
        PB_JSON_BOOL(struct top, ways, PB_JSON_OPTIONAL),
        PB_JSON_INT(struct top, cost, PB_JSON_OPTIONAL, 1, SLOT_COST_MAX),
        PB_JSON_OBJ(struct top, free_spins, PB_JSON_OPTIONAL),
    };
    int rc = pb_json_decode(root, "", fields, PB_ARRAY_LEN(fields), &t, err);
    if (rc != PB_OK)
        goto done;
    rc = PB_ERR_INVALID;
    if (!id_ok(t.id)) {
        fail(err, "out_of_range", "id", "an id is lower-case letters, digits and '-'");
        goto done;
    }
    if (t.variant && !id_ok(t.variant)) {
        fail(err, "out_of_range", "variant", "an id is lower-case letters, digits and '-'");
        goto done;
    }
    pb_strlcpy(d->id, t.id, sizeof(d->id));
    pb_strlcpy(d->name, t.name, sizeof(d->name));
    d->nvariants = 1;
    pb_strlcpy(d->variants[0].id, t.variant ? t.variant : SLOT_VARIANT_DEFAULT,
               sizeof(d->variants[0].id));
    d->variants[0].rtp_ppm = (int32_t)t.rtp_ppm;
    d->rows = (int32_t)t.rows;
    size_t nreels = json_array_size(t.reels);
    if (nreels < SLOT_REELS_MIN || nreels > SLOT_REELS_MAX) {
        fail(err, "out_of_range", "reels", "a game has %d .. %d reels", SLOT_REELS_MIN,
             SLOT_REELS_MAX);
        goto done;
    }
    d->reels = (int32_t)nreels;
    d->ways = t.ways;
    if (decode_symbols(d, t.symbols, err) != PB_OK)
        goto done;
    if (d->ways) {
        if (t.lines) {
            fail(err, "invalid_definition", "lines", "a ways game has no lines");
            goto done;
        }
        if (t.cost == 0) { /* absent: a given cost is 1 .. SLOT_COST_MAX */
            fail(err, "missing_field", "cost",
                 "a ways game names its cost: unit stakes per spin, 1 .. %d", SLOT_COST_MAX);
            goto done;
        }
        d->cost = (int32_t)t.cost;
        if (d->wild >= 0)
            for (int k = 0; k < d->reels; k++)
                if (d->symbols[d->wild].pays[k] != 0) {
                    fail(err, "invalid_definition", "symbols", "a ways game's wild pays nothing"
                         " by itself");
                    goto done;
                }
    } else {
        if (!t.lines) {
            fail(err, "missing_field", "lines", "a game has lines, or \"ways\": true");
            goto done;
        }
        if (t.cost) {
            fail(err, "invalid_definition", "cost", "a lines game costs its lines");
            goto done;
        }
        size_t nl = json_array_size(t.lines);
        if (nl < 1 || nl > SLOT_LINES_MAX) {
            fail(err, "out_of_range", "lines", "a game has 1 .. %d lines", SLOT_LINES_MAX);
            goto done;
        }
        d->nlines = (int32_t)nl;
        d->cost = d->nlines;
        for (size_t l = 0; l < nl; l++) {
            char field[32];
            int32_t rows[SLOT_REELS_MAX];
            snprintf(field, sizeof(field), "lines[%zu]", l);
            const json_t *line = json_array_get(t.lines, l);
            if (!json_is_array(line)) {
                fail(err, "wrong_type", field, "a line lists a row per reel");
                goto done;
            }
            if (int_array(line, field, (size_t)d->reels, 0, d->rows - 1, rows, err) != PB_OK)
                goto done;
            for (int r = 0; r < d->reels; r++)
                d->lines[l][r] = (uint8_t)rows[r];
            for (size_t m = 0; m < l; m++)
                if (memcmp(d->lines[m], d->lines[l], SLOT_REELS_MAX) == 0) {
                    fail(err, "duplicate", field, "the same line as lines[%zu]", m);
                    goto done;
                }
        }
    }
    d->multiplier = 1;
    if (d->has_free_spins) {
        if (!t.free_spins) {
            fail(err, "missing_field", "free_spins", "the scatter awards free spins: name their"
                 " multiplier");
            goto done;
        }
        struct {
            int64_t multiplier;
        } fs = {0};
        static const struct pb_json_field fs_fields[] = {
            {"multiplier", PB_JSON_KIND_INT, PB_JSON_REQUIRED, 0, SIZE_MAX, 1,
             SLOT_MULTIPLIER_MAX},
        };
        if (pb_json_decode(t.free_spins, "free_spins", fs_fields, 1, &fs, err) != PB_OK)
            goto done;
        d->multiplier = (int32_t)fs.multiplier;
    } else if (t.free_spins) {
        fail(err, "invalid_definition", "free_spins", "no scatter awards free spins");
        goto done;
    }
    if (decode_variant(d, 0, "", t.reels, t.free_reels, err) != PB_OK)
        goto done;
    if (t.variants && decode_variants(d, t.variants, err) != PB_OK)
        goto done;
    if (!d->ways && build_dfa(d, err) != PB_OK)
        goto done;
    /* the most a spin can pay: every line (or every symbol's every way) at its top pay */
    int64_t top = 0, scatter_top = 0;
    for (int s = 0; s < d->nsymbols; s++)
        for (int k = 0; k < d->reels; k++) {
            int32_t p = d->symbols[s].pays[k];
            if (s == d->scatter)
                scatter_top = p > scatter_top ? p : scatter_top;
            else if (d->ways) {
                int64_t ways = 1;
                for (int r = 0; r <= k; r++)
                    ways *= d->rows;
                top += p * ways;
            } else if (p > top)
                top = p;
        }
    d->max_spin_units = (d->ways ? top : top * d->nlines) + scatter_top * d->cost;
    rc = PB_OK;
done:
    json_decref(root);
    return rc;
}

int slot_def_decode(const char *text, size_t len, struct slot_def **out,
                    struct pb_json_error *err)
{
    struct slot_def *d = pb_calloc(1, sizeof(*d));
    memset(err, 0, sizeof(*err));
    int rc = decode(text, len, d, err);
    if (rc != PB_OK) {
        for (int v = 0; v < SLOT_VARIANTS_MAX; v++)
            if (!d->variants[v].own_free_reels)
                memset(&d->variants[v].free, 0, sizeof(d->variants[v].free));
        slot_def_free(d);
        *out = NULL;
        PB_ASSERT(err->code);
        return rc;
    }
    *out = d;
    return PB_OK;
}

int slot_variant_find(const struct slot_def *def, const char *id)
{
    for (int v = 0; v < def->nvariants; v++)
        if (strcmp(def->variants[v].id, id) == 0)
            return v;
    return -1;
}
