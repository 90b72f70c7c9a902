/* slots.h: slot machines from definition files (docs/games.md, "Slots").
 *
 * A definition (JSON files in games/slots/, embedded into the binary at build time) names the
 * symbols and their pays, the reel strips, the paylines or "ways", the scatter and the free
 * spins. slot_def_decode checks it strictly and compiles it into the tables the hot path
 * uses: a doubled strip per reel (a window is stops .. stops + rows - 1 without a modulo),
 * a per-line automaton (one table lookup per reel decides the line's pay, wild substitution
 * included), per-stop counts of each symbol for ways games and per-stop scatter flags. A spin
 * allocates nothing.
 *
 * Rules (all documented with the format in docs/games.md):
 *   - a spin draws one stop per reel with rng_range (the CSPRNG: slots are not provably
 *     fair); the window shows rows symbols per reel from the stop down;
 *   - lines games pay, per line, the best of: the longest run from the leftmost reel of one
 *     symbol with the wild substituting, or the run of wilds alone, at pays[count - 1] times
 *     the stake per line; the round's stake is stake per line times lines;
 *   - ways games pay, per symbol, pays[n - 1] times the number of ways (the product over
 *     the first n reels of how many window positions show the symbol or the wild) times the
 *     unit stake; the round's stake is the unit stake times the definition's cost;
 *   - a scatter counts once per reel showing it anywhere in the window; k scatters pay
 *     scatter pays[k - 1] times the round's stake and award free_spins[k - 1] free spins;
 *   - free spins use the free reels (the base reels if none are given), multiply every win
 *     by the feature's multiplier and retrigger: scatters in a free spin add more spins.
 * All pays are integers: payouts are exact in minor units.
 *
 * RTP variants (game.h): a definition offers 1 .. SLOT_VARIANTS_MAX variants that share the
 * symbols, pays, lines and features and differ only in their reel strips. The top-level
 * "rtp_ppm", "reels" and "free_reels" are the first (default) variant, named by "variant"
 * (default "standard"); "variants" lists the others, each {id, rtp_ppm, reels, free_reels}.
 *
 * Ownership: slot_def_decode allocates the definition; slot_def_free frees it. The catalogue
 * (games.h) keeps the embedded definitions for the life of the process. */
#ifndef PB_SLOTS_H
#define PB_SLOTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/json.h"
#include "games/game.h"
#include "games/games.h"
#include "rng/rng.h"

#define SLOT_REELS_MIN 3
#define SLOT_REELS_MAX 5      /* the automaton and the exact enumeration are sized for 5 */
#define SLOT_ROWS_MAX 4
#define SLOT_SYMBOLS_MAX 16   /* transition tables are indexed by a 4-bit symbol */
#define SLOT_SYMBOL_ID_MAX 16
#define SLOT_STRIP_MAX 256    /* stops per reel: exact enumeration is (stops)^reels */
#define SLOT_LINES_MAX 50
#define SLOT_PAY_MAX 100000   /* one pay entry, in stakes per line / unit / round */
#define SLOT_COST_MAX 1000    /* ways games: unit stakes per spin */
#define SLOT_MULTIPLIER_MAX 10
#define SLOT_FREE_SPINS_AWARD_MAX 100 /* spins one award gives */
/* Free spins one feature plays at most. The maths assumes no cap; with every shipped game's
 * retrigger rate (< SLOT_RETRIGGER_RATE_MAX) the chance of reaching it is below 1e-100. */
#define SLOT_FEATURE_SPINS_MAX 1000
/* Expected spins a free spin adds (retriggers): a feature must end, and fast. */
#define SLOT_RETRIGGER_RATE_MAX 0.5
#define SLOT_GAMES_MAX 32     /* slot games in the catalogue (play entry points per game) */
#define SLOT_DEF_TEXT_MAX (256 * 1024) /* a definition file's size */
#define SLOT_DFA_STATES_MAX 2048

enum slot_symbol_kind { SLOT_SYMBOL_NORMAL, SLOT_SYMBOL_WILD, SLOT_SYMBOL_SCATTER };

struct slot_symbol {
    char id[SLOT_SYMBOL_ID_MAX + 1];
    enum slot_symbol_kind kind;
    int32_t pays[SLOT_REELS_MAX];       /* pays[k - 1]: k of a kind (scatter: k reels) */
    int32_t free_spins[SLOT_REELS_MAX]; /* scatter only: spins awarded for k reels */
};

/* One set of reels (base or free) compiled for the hot path. */
struct slot_reels {
    int32_t len[SLOT_REELS_MAX];
    uint8_t *strip[SLOT_REELS_MAX];      /* len + rows symbols: the strip, then its first rows */
    uint8_t *scatter_at[SLOT_REELS_MAX]; /* per stop: 1 if the window shows a scatter */
    uint8_t *count_at[SLOT_REELS_MAX];   /* ways: per stop and symbol, positions showing the
                                            symbol or the wild: [stop * SLOT_SYMBOLS_MAX + s] */
};

#define SLOT_VARIANTS_MAX GAME_VARIANTS_MAX
#define SLOT_VARIANT_DEFAULT "standard" /* the first variant's id when the file names none */

/* One RTP variant: its reel strips. */
struct slot_variant {
    char id[GAME_VARIANT_ID_MAX + 1];
    int32_t rtp_ppm; /* as declared by the file; tests check it against the exact figure */
    struct slot_reels base, free; /* free.strip[r] == base.strip[r] when no free reels */
    bool own_free_reels;
};

struct slot_def {
    char id[65], name[65];
    int32_t reels, rows, nsymbols;
    struct slot_symbol symbols[SLOT_SYMBOLS_MAX];
    int wild, scatter; /* symbol index or -1 */
    bool ways;
    int32_t nlines;
    uint8_t lines[SLOT_LINES_MAX][SLOT_REELS_MAX]; /* row per reel */
    int32_t cost;       /* unit stakes per spin: lines, or the ways game's cost */
    int32_t multiplier; /* free spins win multiplier (1 without free spins) */
    bool has_free_spins;
    int32_t nvariants; /* 1 .. SLOT_VARIANTS_MAX; variants[0] is the default */
    struct slot_variant variants[SLOT_VARIANTS_MAX];
    /* lines: the automaton. State 0 is the start; next[state * 16 + symbol]; pay[state] is
     * the line's pay when the last reel has been read. */
    int32_t dfa_states;
    uint16_t *dfa_next;
    int32_t *dfa_pay;
    int64_t max_spin_units; /* the most one spin can pay, in unit stakes, before multiplier */
};

/* Decodes and compiles definition text (len bytes). Returns 0 with *out (slot_def_free), or
 * PB_ERR_INVALID with err naming the field ("reels[2][7]", "symbols[3].pays") and what is
 * wrong. */
int slot_def_decode(const char *text, size_t len, struct slot_def **out,
                    struct pb_json_error *err);
void slot_def_free(struct slot_def *def);

/* The result of one spin, in unit stakes (stake per line, or unit stake for ways). */
struct slot_spin {
    int32_t stops[SLOT_REELS_MAX];
    int64_t line_units;    /* lines or ways wins */
    int64_t scatter_units; /* scatter pay, already multiplied by the cost */
    int32_t scatters;      /* reels showing a scatter */
    int32_t awarded;       /* free spins awarded */
};
/* Evaluates the spin at stops on reels (a variant's base or free), without multiplier. */
void slot_eval(const struct slot_def *def, const struct slot_reels *reels,
               const int32_t *stops, struct slot_spin *out);
/* Draws stops with rng_range and evaluates them. */
void slot_spin(const struct slot_def *def, const struct slot_reels *reels, struct rng *r,
               struct slot_spin *out);
/* One base spin and its whole free-spin feature on variant v, in unit stakes;
 * *feature_spins gets the free spins played. */
int64_t slot_round_units(const struct slot_def *def, int v, struct rng *r,
                         int32_t *feature_spins);

/* Line pay the slow, obvious way (for the outcome's explanation and to check the
 * automaton): the pay of the line showing syms[0..reels), its symbol and count. */
int32_t slot_line_pay(const struct slot_def *def, const uint8_t *syms, int *symbol,
                      int *count);

/* Exact figures of variant v by enumerating every combination of stops of both its reel sets
 * and solving the free-spin feature (docs/games.md, "The exact method"). */
struct slot_exact {
    struct game_figures fig;      /* per unit of the round's stake, feature included */
    double base_rtp, feature_rtp; /* the parts of rtp from base spins and free spins */
    double trigger_probability;   /* a base spin awards free spins */
    double retrigger_rate;        /* expected spins a free spin adds */
    double feature_spins_mean;    /* expected free spins per trigger, retriggers included */
    uint64_t combinations;        /* stop combinations enumerated (base + free) */
};
void slot_exact(const struct slot_def *def, int v, struct slot_exact *out);

/* Monte Carlo of variant v: n rounds from seed; mean and 99% confidence interval of the
 * return. */
struct slot_sim {
    uint64_t rounds;
    double rtp, ci_low, ci_high, hit_frequency, sd;
    double seconds; /* thread CPU time */
};
void slot_simulate(const struct slot_def *def, int v, uint64_t n, uint64_t seed,
                   struct slot_sim *out);
/* The index of the variant with this id, or -1. */
int slot_variant_find(const struct slot_def *def, const char *id);

/* CPU seconds this thread has used (timings on a shared machine). */
double slot_cpu_seconds(void);

/* The embedded definitions (generated at build time from games/slots/). */
struct slot_source {
    const char *file;
    const unsigned char *text;
    size_t len;
};
extern const struct slot_source slot_sources[];
extern const size_t slot_sources_count;

/* The catalogue's slot definitions (decoded once, sorted by id). */
size_t slots_count(void);
const struct slot_def *slots_def_at(size_t i);
const struct game_type *slots_game_at(size_t i);
const struct slot_def *slots_find(const char *id);

#endif
