/* slot_exact.c: exact figures of a slot by enumeration, and Monte Carlo simulation
 * (slots.h; the method is written up in docs/games.md, "The exact method").
 *
 * Every combination of stops of a reel set is equally likely, so enumerating them all gives
 * the exact distribution of one spin: its win u (unit stakes, before the feature multiplier)
 * and the free spins a it awards. The enumeration carries each line's automaton state (or
 * each symbol's ways) reel by reel, so the last reel costs one lookup per line.
 *
 * The free-spin feature is solved, not simulated. Let Y be the total a free spin brings,
 * its own win w = M u and everything its retriggers bring: Y = w + Y_1 + ... + Y_a, the Y_k
 * independent copies of Y. Taking expectations, E[Y] = E[w] + E[a] E[Y], so
 *   mu = E[Y] = E[w] / (1 - E[a])            (a geometric series in the retrigger rate),
 *   E[Y^2] (1 - E[a]) = E[w^2] + 2 mu E[w a] + (E[a^2] - E[a]) mu^2.
 * A base round X = b + Y_1 + ... + Y_n (b its win, n the spins it awards) then has
 *   E[X] = E[b] + E[n] mu,
 *   E[X^2] = E[b^2] + 2 mu E[b n] + E[n] E[Y^2] + (E[n^2] - E[n]) mu^2,
 * and RTP = E[X] / cost, SD = sqrt(E[X^2] - E[X]^2) / cost. Sums are kept in 128-bit
 * integers, so the only rounding is the final division. */
#include <math.h>
#include <string.h>
#include <time.h>

#include "base/base.h"
#include "games/slots.h"

typedef unsigned __int128 u128;

struct sums {
    uint64_t count, hits, triggers;
    u128 u, u2, a, a2, ua;
};

struct walk {
    const struct slot_def *def;
    const struct slot_reels *reels;
    struct sums *sums;
    /* per depth: line states (lines) or per-symbol run length and ways (ways games) */
    uint16_t state[SLOT_REELS_MAX + 1][SLOT_LINES_MAX];
    uint8_t run[SLOT_REELS_MAX + 1][SLOT_SYMBOLS_MAX];
    uint64_t ways[SLOT_REELS_MAX + 1][SLOT_SYMBOLS_MAX];
    int32_t scatters[SLOT_REELS_MAX + 1];
};

static void leaf(struct walk *w, int64_t units, int32_t scatters)
{
    const struct slot_def *d = w->def;
    int64_t a = 0;
    if (scatters > 0) {
        units += (int64_t)d->symbols[d->scatter].pays[scatters - 1] * d->cost;
        a = d->symbols[d->scatter].free_spins[scatters - 1];
    }
    struct sums *s = w->sums;
    s->count++;
    s->hits += units > 0 || a > 0;
    s->triggers += a > 0;
    s->u += (u128)units;
    s->u2 += (u128)units * (u128)units;
    s->a += (u128)a;
    s->a2 += (u128)(a * a);
    s->ua += (u128)units * (u128)a;
}

static void walk_lines(struct walk *w, int r)
{
    const struct slot_def *d = w->def;
    const int32_t len = w->reels->len[r];
    const uint8_t *strip = w->reels->strip[r];
    const uint16_t *next = d->dfa_next;
    const uint16_t *in = w->state[r];
    uint16_t *out = w->state[r + 1];
    const bool last = r == d->reels - 1;
    for (int32_t stop = 0; stop < len; stop++) {
        const uint8_t *col = strip + stop;
        int32_t sc = w->scatters[r] + w->reels->scatter_at[r][stop];
        if (last) {
            int64_t units = 0;
            for (int l = 0; l < d->nlines; l++)
                units += d->dfa_pay[next[in[l] * SLOT_SYMBOLS_MAX + col[d->lines[l][r]]]];
            leaf(w, units, sc);
        } else {
            for (int l = 0; l < d->nlines; l++)
                out[l] = next[in[l] * SLOT_SYMBOLS_MAX + col[d->lines[l][r]]];
            w->scatters[r + 1] = sc;
            walk_lines(w, r + 1);
        }
    }
}

static void walk_ways(struct walk *w, int r)
{
    const struct slot_def *d = w->def;
    const int32_t len = w->reels->len[r];
    for (int32_t stop = 0; stop < len; stop++) {
        const uint8_t *cnt = w->reels->count_at[r] + stop * SLOT_SYMBOLS_MAX;
        int32_t sc = w->scatters[r] + w->reels->scatter_at[r][stop];
        for (int t = 0; t < d->nsymbols; t++) {
            bool alive = w->run[r][t] == r && cnt[t] > 0;
            w->run[r + 1][t] = (uint8_t)(w->run[r][t] + alive);
            w->ways[r + 1][t] = alive ? w->ways[r][t] * cnt[t] : w->ways[r][t];
        }
        if (r == d->reels - 1) {
            int64_t units = 0;
            for (int t = 0; t < d->nsymbols; t++) {
                int n = w->run[r + 1][t];
                if (n > 0 && t != d->wild && t != d->scatter)
                    units += d->symbols[t].pays[n - 1] * (int64_t)w->ways[r + 1][t];
            }
            leaf(w, units, sc);
        } else {
            w->scatters[r + 1] = sc;
            walk_ways(w, r + 1);
        }
    }
}

static void enumerate(const struct slot_def *d, const struct slot_reels *reels,
                      struct sums *s)
{
    memset(s, 0, sizeof(*s));
    struct walk *w = pb_calloc(1, sizeof(*w));
    w->def = d;
    w->reels = reels;
    w->sums = s;
    for (int t = 0; t < SLOT_SYMBOLS_MAX; t++)
        w->ways[0][t] = 1;
    if (d->ways)
        walk_ways(w, 0);
    else
        walk_lines(w, 0);
    pb_free(w);
    uint64_t want = 1;
    for (int r = 0; r < d->reels; r++)
        want *= (uint64_t)reels->len[r];
    PB_ASSERT(s->count == want);
}

static double mean(u128 sum, uint64_t n)
{
    return (double)sum / (double)n;
}

void slot_exact(const struct slot_def *d, int v, struct slot_exact *out)
{
    PB_ASSERT(v >= 0 && v < d->nvariants);
    const struct slot_variant *sv = &d->variants[v];
    memset(out, 0, sizeof(*out));
    struct sums b;
    enumerate(d, &sv->base, &b);
    out->combinations = b.count;
    double eb = mean(b.u, b.count), eb2 = mean(b.u2, b.count), en = mean(b.a, b.count),
           en2 = mean(b.a2, b.count), ebn = mean(b.ua, b.count);
    double mu = 0, ey2 = 0;
    if (d->has_free_spins) {
        struct sums f;
        enumerate(d, &sv->free, &f);
        out->combinations += f.count;
        double m = d->multiplier;
        double ew = m * mean(f.u, f.count), ew2 = m * m * mean(f.u2, f.count),
               ea = mean(f.a, f.count), ea2 = mean(f.a2, f.count),
               ewa = m * mean(f.ua, f.count);
        PB_ASSERT(ea < 1); /* the decoder refuses rates >= SLOT_RETRIGGER_RATE_MAX */
        mu = ew / (1 - ea);
        ey2 = (ew2 + 2 * mu * ewa + (ea2 - ea) * mu * mu) / (1 - ea);
        out->retrigger_rate = ea;
        if (b.triggers > 0)
            out->feature_spins_mean = en / ((double)b.triggers / b.count) / (1 - ea);
    }
    double ex = eb + en * mu;
    double ex2 = eb2 + 2 * mu * ebn + en * ey2 + (en2 - en) * mu * mu;
    out->fig.rtp = ex / d->cost;
    out->fig.sd = sqrt(fmax(0, ex2 - ex * ex)) / d->cost;
    out->fig.hit_frequency = (double)b.hits / b.count;
    out->base_rtp = eb / d->cost;
    out->feature_rtp = en * mu / d->cost;
    out->trigger_probability = (double)b.triggers / b.count;
}

double slot_cpu_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void slot_simulate(const struct slot_def *d, int v, uint64_t n, uint64_t seed,
                   struct slot_sim *out)
{
    PB_ASSERT(n >= 2 && v >= 0 && v < d->nvariants);
    const struct slot_variant *sv = &d->variants[v];
    struct rng r;
    rng_init_seeded(&r, seed);
    uint64_t hits = 0;
    double t0 = slot_cpu_seconds();
    double sum = 0, sum2 = 0;
    for (uint64_t i = 0; i < n; i++) {
        struct slot_spin s;
        slot_spin(d, &sv->base, &r, &s);
        int64_t x = s.line_units + s.scatter_units;
        hits += x > 0 || s.awarded > 0;
        if (s.awarded > 0) {
            int32_t pending = s.awarded, played = 0;
            int64_t feature = 0;
            while (pending > 0 && played < SLOT_FEATURE_SPINS_MAX) {
                slot_spin(d, &sv->free, &r, &s);
                feature += s.line_units + s.scatter_units;
                pending += s.awarded - 1;
                played++;
            }
            x += feature * d->multiplier;
        }
        double xd = (double)x;
        sum += xd;
        sum2 += xd * xd;
    }
    out->seconds = slot_cpu_seconds() - t0;
    out->rounds = n;
    double m = sum / n, var = (sum2 - sum * m) / (n - 1);
    double half = 2.5758293035489004 * sqrt(fmax(var, 0) / n); /* 99%: z = 2.576 */
    out->rtp = m / d->cost;
    out->ci_low = (m - half) / d->cost;
    out->ci_high = (m + half) / d->cost;
    out->sd = sqrt(fmax(var, 0)) / d->cost;
    out->hit_frequency = (double)hits / n;
}
