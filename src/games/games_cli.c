/* games_cli.c: the games, rng and fair subcommands (games.h; docs/games.md and
 * docs/fairness.md show their output). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "games/games.h"
#include "games/slots.h"

#define EXIT_USAGE 2
#define RNG_CLI_BYTES_MAX (1ull << 40) /* rng dump: a terabyte is more than any test suite */
#define RNG_CLI_COUNT_MAX (1ull << 32)

static int usage(const char *msg)
{
    fprintf(stderr, "pitboss: %s\n"
                    "usage: pitboss games list\n"
                    "       pitboss games rtp GAME [--exact] [--simulate N] [--seed S]"
                    " [--variant V] [--def FILE]\n"
                    "       pitboss rng dump --bytes N\n"
                    "       pitboss rng sample --range K --count N\n"
                    "       pitboss fair verify --game GAME --server-seed S --client-seed C"
                    " --nonce N\n",
            msg);
    return EXIT_USAGE;
}

/* A decimal integer in [lo, hi], all of text. */
static bool parse_u64(const char *text, uint64_t lo, uint64_t hi, uint64_t *out)
{
    if (!text || !*text || *text == '-' || *text == '+')
        return false;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno || *end || v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

static void pct(double v, char *out, size_t len)
{
    snprintf(out, len, "%.4f%%", v * 100);
}

static int list_games(void)
{
    for (size_t i = 0; i < games_count(); i++) {
        const struct game_type *g = games_at(i);
        printf("%-20s %-9s rtp", g->id, g->kind);
        for (int v = 0; v < g->nvariants; v++)
            printf(" %s%.4f%% (%s)", v ? "| " : "", g->variants[v].rtp_ppm / 10000.0,
                   g->variants[v].id);
        printf("%s  %s\n", g->provably_fair ? "  provably fair" : "", g->name);
    }
    return 0;
}

static void rtp_dice(void)
{
    static const int32_t chances[] = {1, 100, 1000, 4950, 5000, 9000, 9800};
    printf("dice: roll = floor(float * 10001) / 100;"
           " payout = stake * 99 / chance, rounded down\n");
    printf("%-10s %-12s %-12s %-12s %-10s\n", "chance", "multiplier", "rtp", "hit", "sd");
    for (size_t i = 0; i < PB_ARRAY_LEN(chances); i++) {
        struct game_figures f;
        dice_figures(chances[i], &f);
        char c[16], m[32], r[32], h[32];
        games_format_fixed(chances[i], 2, c, sizeof(c) - 1);
        strcat(c, "%");
        games_format_fixed(DICE_MULTIPLIER_NUM * 10000LL / chances[i], 4, m, sizeof(m));
        pct(f.rtp, r, sizeof(r));
        pct(f.hit_frequency, h, sizeof(h));
        printf("%-10s %-12s %-12s %-12s %.4f\n", c, m, r, h, f.sd);
    }
    printf("every chance: rtp = 0.99 * 10000 / 10001 = %.6f%% before rounding payouts down\n",
           990000.0 / 10001);
}

static void rtp_roulette(void)
{
    printf("roulette (European, 37 pockets): pocket = floor(float * 37)\n");
    printf("%-10s %-6s %-7s %-12s %-12s %s\n", "bet", "pays", "covers", "rtp", "hit", "sd");
    for (int k = 0; k < ROULETTE_KINDS; k++) {
        double p = (double)roulette_covers(k) / ROULETTE_POCKETS, m = roulette_pays(k) + 1;
        double rtp = p * m, sd = sqrt(p * m * m - rtp * rtp);
        char r[32], h[32];
        pct(rtp, r, sizeof(r));
        pct(p, h, sizeof(h));
        printf("%-10s %2d:1   %-7d %-12s %-12s %.4f\n", roulette_kind_name(k), roulette_pays(k),
               roulette_covers(k), r, h, sd);
    }
    printf("every bet: rtp = 36 / 37 = %.6f%%\n", 3600.0 / 37);
}

static void print_exact(const struct slot_def *d, int v)
{
    struct slot_exact e;
    double t0 = slot_cpu_seconds();
    slot_exact(d, v, &e);
    double secs = slot_cpu_seconds() - t0;
    char r[32], h[32], b[32], f[32];
    pct(e.fig.rtp, r, sizeof(r));
    pct(e.fig.hit_frequency, h, sizeof(h));
    pct(e.base_rtp, b, sizeof(b));
    pct(e.feature_rtp, f, sizeof(f));
    printf("exact: rtp %s  hit frequency %s  sd %.4f (per unit of the round's stake)\n", r, h,
           e.fig.sd);
    printf("  base game %s  free spins %s", b, f);
    if (d->has_free_spins)
        printf("  trigger 1 in %.1f  retrigger rate %.6f  free spins per feature %.4f",
               e.trigger_probability > 0 ? 1 / e.trigger_probability : 0, e.retrigger_rate,
               e.feature_spins_mean);
    printf("\n  %llu stop combinations enumerated in %.3f s CPU\n",
           (unsigned long long)e.combinations, secs);
    long long exact_ppm = llround(e.fig.rtp * 1e6);
    printf("  declared rtp_ppm %d: %s (exact %lld)\n", d->variants[v].rtp_ppm,
           exact_ppm == d->variants[v].rtp_ppm ? "matches" : "DIFFERS", exact_ppm);
}

static void print_sim(const struct slot_def *d, int v, uint64_t n, uint64_t seed)
{
    struct slot_sim s;
    slot_simulate(d, v, n, seed, &s);
    char r[32], lo[32], hi[32], h[32];
    pct(s.rtp, r, sizeof(r));
    pct(s.ci_low, lo, sizeof(lo));
    pct(s.ci_high, hi, sizeof(hi));
    pct(s.hit_frequency, h, sizeof(h));
    printf("simulated: %llu rounds (seed %llu): rtp %s (99%% CI %s .. %s)  hit frequency %s"
           "  sd %.4f\n  %.3f s CPU, %.0f rounds/s on one core\n",
           (unsigned long long)s.rounds, (unsigned long long)seed, r, lo, hi, h, s.sd,
           s.seconds, s.rounds / (s.seconds > 0 ? s.seconds : 1e-9));
}

static struct slot_def *load_def_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "pitboss: cannot open %s: %s\n", path, strerror(errno));
        return NULL;
    }
    char *text = pb_malloc(SLOT_DEF_TEXT_MAX + 1);
    size_t len = fread(text, 1, SLOT_DEF_TEXT_MAX + 1, f);
    fclose(f);
    struct slot_def *d = NULL;
    struct pb_json_error err;
    if (slot_def_decode(text, len, &d, &err) != PB_OK)
        fprintf(stderr, "pitboss: %s: %s%s%s (%s)\n", path, err.field, err.field[0] ? ": " : "",
                err.detail, err.code);
    pb_free(text);
    return d;
}

static int games_rtp(int argc, char **argv)
{
    const char *game = NULL, *def_path = NULL, *variant = NULL;
    bool exact = false;
    uint64_t sim = 0, seed = 1;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--exact") == 0) {
            exact = true;
        } else if (strcmp(argv[i], "--simulate") == 0) {
            if (i + 1 >= argc || !parse_u64(argv[++i], 2, UINT64_MAX / 2, &sim))
                return usage("--simulate needs a count of rounds >= 2");
        } else if (strcmp(argv[i], "--seed") == 0) {
            if (i + 1 >= argc || !parse_u64(argv[++i], 0, UINT64_MAX, &seed))
                return usage("--seed needs an unsigned integer");
        } else if (strcmp(argv[i], "--variant") == 0) {
            if (i + 1 >= argc)
                return usage("--variant needs a variant id (see pitboss games list)");
            variant = argv[++i];
        } else if (strcmp(argv[i], "--def") == 0) {
            if (i + 1 >= argc)
                return usage("--def needs a definition FILE");
            def_path = argv[++i];
        } else if (argv[i][0] != '-' && !game) {
            game = argv[i];
        } else {
            return usage("unknown argument to games rtp");
        }
    }
    if (!game && !def_path)
        return usage("games rtp needs a GAME (see pitboss games list) or --def FILE");
    if (!exact && !sim)
        exact = true;
    if (!def_path && variant && (strcmp(game, "dice") == 0 || strcmp(game, "roulette") == 0) &&
        strcmp(variant, games_find(game)->variants[0].id) != 0) {
        fprintf(stderr, "pitboss: %s has no variant '%s' (see pitboss games list)\n", game,
                variant);
        return 1;
    }
    if (!def_path && strcmp(game, "dice") == 0) {
        rtp_dice();
        return 0;
    }
    if (!def_path && strcmp(game, "roulette") == 0) {
        rtp_roulette();
        return 0;
    }
    struct slot_def *own = NULL;
    const struct slot_def *d;
    if (def_path) {
        d = own = load_def_file(def_path);
        if (!d)
            return 1;
    } else if (!(d = slots_find(game))) {
        fprintf(stderr, "pitboss: no game '%s' (see pitboss games list)\n", game);
        return 1;
    }
    int v = variant ? slot_variant_find(d, variant) : 0;
    if (v < 0) {
        fprintf(stderr, "pitboss: %s has no variant '%s' (see pitboss games list)\n", d->id,
                variant);
        slot_def_free(own);
        return 1;
    }
    printf("%s (%s) variant %s: %d reels x %d rows, ", d->id, d->name, d->variants[v].id,
           d->reels, d->rows);
    if (d->ways)
        printf("ways, cost %d unit stakes", d->cost);
    else
        printf("%d lines", d->nlines);
    if (d->has_free_spins)
        printf(", free spins x%d", d->multiplier);
    printf("\n");
    if (exact)
        print_exact(d, v);
    if (sim)
        print_sim(d, v, sim, seed);
    slot_def_free(own);
    return 0;
}

int games_cli_games(int argc, char **argv)
{
    if (argc < 1)
        return usage("games needs a command: list or rtp");
    if (strcmp(argv[0], "list") == 0 && argc == 1)
        return list_games();
    if (strcmp(argv[0], "rtp") == 0)
        return games_rtp(argc - 1, argv + 1);
    return usage("games: unknown command");
}

int games_cli_rng(int argc, char **argv)
{
    if (argc < 1)
        return usage("rng needs a command: dump or sample");
    uint64_t bytes = 0, range = 0, count = 0;
    bool has_bytes = false, has_range = false, has_count = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--bytes") == 0 && i + 1 < argc)
            has_bytes = parse_u64(argv[++i], 0, RNG_CLI_BYTES_MAX, &bytes);
        else if (strcmp(argv[i], "--range") == 0 && i + 1 < argc)
            has_range = parse_u64(argv[++i], 1, UINT32_MAX, &range);
        else if (strcmp(argv[i], "--count") == 0 && i + 1 < argc)
            has_count = parse_u64(argv[++i], 0, RNG_CLI_COUNT_MAX, &count);
        else
            return usage("rng: unknown or incomplete argument");
    }
    struct rng r;
    rng_init_system(&r); /* the generator real-money play draws from */
    if (strcmp(argv[0], "dump") == 0) {
        if (!has_bytes || has_range || has_count)
            return usage("rng dump needs --bytes N");
        uint8_t buf[65536];
        while (bytes > 0) {
            size_t n = bytes < sizeof(buf) ? (size_t)bytes : sizeof(buf);
            rng_bytes(&r, buf, n);
            if (fwrite(buf, 1, n, stdout) != n)
                return 1;
            bytes -= n;
        }
        return fflush(stdout) == 0 ? 0 : 1;
    }
    if (strcmp(argv[0], "sample") == 0) {
        if (!has_range || !has_count || has_bytes)
            return usage("rng sample needs --range K (1 .. 4294967295) and --count N");
        for (uint64_t i = 0; i < count; i++)
            if (printf("%u\n", rng_range(&r, (uint32_t)range)) < 0)
                return 1;
        return fflush(stdout) == 0 ? 0 : 1;
    }
    return usage("rng: unknown command");
}

int games_cli_fair(int argc, char **argv)
{
    if (argc < 1 || strcmp(argv[0], "verify") != 0)
        return usage("fair needs a command: verify");
    const char *game = NULL, *server = NULL, *client = NULL;
    uint64_t nonce = 0;
    bool has_nonce = false;
    for (int i = 1; i < argc; i++) {
        if (i + 1 >= argc)
            return usage("fair verify: every option takes a value");
        if (strcmp(argv[i], "--game") == 0)
            game = argv[++i];
        else if (strcmp(argv[i], "--server-seed") == 0)
            server = argv[++i];
        else if (strcmp(argv[i], "--client-seed") == 0)
            client = argv[++i];
        else if (strcmp(argv[i], "--nonce") == 0)
            has_nonce = parse_u64(argv[++i], 0, UINT64_MAX, &nonce);
        else
            return usage("fair verify: unknown argument");
    }
    if (!game || !server || !client || !has_nonce)
        return usage("fair verify needs --game, --server-seed, --client-seed and --nonce N");
    const struct fair_verifier *v = fair_verifier_find(game);
    if (!v) {
        fprintf(stderr, "pitboss: no provably-fair game '%s'; these are:", game);
        for (size_t i = 0; i < fair_verifier_count(); i++)
            fprintf(stderr, " %s", fair_verifier_at(i)->game_id);
        fprintf(stderr, "\n");
        return EXIT_USAGE;
    }
    struct rng_fair f;
    if (rng_fair_init(&f, server, client, nonce) != PB_OK)
        return usage("the server seed must be 64 lower-case hex characters and the client seed"
                     " 1 .. 64 printable ASCII characters");
    char hash[65];
    rng_fair_commitment(server, hash);
    json_t *out = json_pack("{s:s, s:s, s:s, s:I, s:o}", "game", game, "server_seed_hash", hash,
                            "client_seed", client, "nonce", (json_int_t)nonce, "outcome",
                            v->outcome(&f));
    PB_ASSERT(out);
    char *text = json_dumps(out, JSON_SORT_KEYS);
    printf("%s\n", text);
    free(text);
    json_decref(out);
    return 0;
}
