/* bench_slots.c: slot maths speed on one core.
 *
 *   bench_slots [--game ID] [--rounds N] [--exact-only | --sim-only]
 *
 * 1. Simulation: N rounds (default 20 million) of the game (default golden-reef, the 20-line
 *    game) from the seeded generator (a buffered ChaCha20 keystream), features included, as
 *    `pitboss games rtp --simulate` runs them: spins/s (base and free spins) and rounds/s,
 *    by thread CPU time (the machine may be shared) and by wall time. Target: >= 5 million
 *    spins/s for the 20-line game.
 * 2. Exact RTP: the time of `games rtp --exact` (full enumeration) for every slot game. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "base/base.h"
#include "games/games.h"
#include "games/slots.h"

static double cpu_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void simulate(const struct slot_def *d, uint64_t rounds)
{
    struct rng r;
    rng_init_seeded(&r, 20261121);
    uint64_t spins = 0;
    int64_t units = 0;
    double c0 = cpu_seconds();
    uint64_t w0 = pb_mono_ns();
    for (uint64_t i = 0; i < rounds; i++) {
        int32_t feature;
        units += slot_round_units(d, 0, &r, &feature);
        spins += 1 + (uint64_t)feature;
    }
    double cpu = cpu_seconds() - c0, wall = (double)(pb_mono_ns() - w0) / 1e9;
    printf("bench_slots simulate %s: %llu rounds, %llu spins in %.3f s CPU (%.3f s wall):"
           " %.0f spins/s, %.0f rounds/s on one core (wall: %.0f spins/s); rtp %.4f%%\n",
           d->id, (unsigned long long)rounds, (unsigned long long)spins, cpu, wall,
           spins / cpu, rounds / cpu, spins / wall,
           100.0 * (double)units / ((double)rounds * d->cost));
}

static void exact(const struct slot_def *d)
{
    struct slot_exact e;
    double c0 = cpu_seconds();
    uint64_t w0 = pb_mono_ns();
    slot_exact(d, 0, &e);
    double cpu = cpu_seconds() - c0, wall = (double)(pb_mono_ns() - w0) / 1e9;
    printf("bench_slots exact %s: rtp %.4f%% hit %.4f%% sd %.4f; %llu combinations in"
           " %.3f s CPU (%.3f s wall), %.0f combinations/s\n",
           d->id, e.fig.rtp * 100, e.fig.hit_frequency * 100, e.fig.sd,
           (unsigned long long)e.combinations, cpu, wall, e.combinations / cpu);
}

int main(int argc, char **argv)
{
    const char *game = "golden-reef";
    uint64_t rounds = 20000000;
    bool do_sim = true, do_exact = true;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--game") == 0 && i + 1 < argc) {
            game = argv[++i];
        } else if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc) {
            rounds = strtoull(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--exact-only") == 0) {
            do_sim = false;
        } else if (strcmp(argv[i], "--sim-only") == 0) {
            do_exact = false;
        } else {
            fprintf(stderr, "usage: bench_slots [--game ID] [--rounds N] [--exact-only |"
                            " --sim-only]\n");
            return 2;
        }
    }
    if (sodium_init() < 0)
        return 1;
    const struct slot_def *d = slots_find(game);
    if (!d) {
        fprintf(stderr, "bench_slots: no slot game '%s'\n", game);
        return 2;
    }
    if (do_sim && rounds > 0)
        simulate(d, rounds);
    if (do_exact)
        for (size_t i = 0; i < slots_count(); i++)
            exact(slots_def_at(i));
    if (do_sim)
        printf("bench_slots target: >= 5000000 spins/s on one core for the 20-line game\n");
    return 0;
}
