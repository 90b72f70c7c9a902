/* fuzz_slot_def.c: libFuzzer target for the slot definition decoder (slot_def_decode): any
 * input either compiles or names a field and a code; a compiled definition spins within its
 * bounds on both reel sets of every RTP variant and, when small enough to enumerate, has sane
 * exact figures. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "base/base.h"
#include "games/slots.h"

/* Spins, rounds and (small reels) the exact figures of variant v. */
static void check_variant(const struct slot_def *d, int v, size_t size)
{
    const struct slot_variant *sv = &d->variants[v];
    struct rng r;
    rng_init_seeded(&r, size);
    for (int i = 0; i < 64; i++) {
        struct slot_spin s;
        slot_spin(d, i % 2 ? &sv->free : &sv->base, &r, &s);
        PB_ASSERT(s.line_units >= 0 && s.scatter_units >= 0);
        PB_ASSERT(s.line_units + s.scatter_units <= d->max_spin_units);
        PB_ASSERT(s.scatters >= 0 && s.scatters <= d->reels);
        int32_t spins;
        PB_ASSERT(slot_round_units(d, v, &r, &spins) >= 0);
        PB_ASSERT(spins >= 0 && spins <= SLOT_FEATURE_SPINS_MAX);
    }
    double combos = 1, free_combos = 1;
    for (int i = 0; i < d->reels; i++) {
        combos *= sv->base.len[i];
        free_combos *= sv->free.len[i];
    }
    if (combos + free_combos <= 20000) {
        struct slot_exact e;
        slot_exact(d, v, &e);
        PB_ASSERT(e.fig.rtp >= 0 && isfinite(e.fig.rtp) && isfinite(e.fig.sd));
        PB_ASSERT(e.fig.hit_frequency >= 0 && e.fig.hit_frequency <= 1);
        PB_ASSERT(e.retrigger_rate < SLOT_RETRIGGER_RATE_MAX);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct slot_def *d = NULL;
    struct pb_json_error err;
    if (slot_def_decode((const char *)data, size, &d, &err) != PB_OK) {
        PB_ASSERT(d == NULL && err.code && err.detail[0] != '\0');
        return 0;
    }
    PB_ASSERT(d->reels >= SLOT_REELS_MIN && d->reels <= SLOT_REELS_MAX);
    PB_ASSERT(d->cost >= 1 && d->max_spin_units >= 0);
    PB_ASSERT(d->nvariants >= 1 && d->nvariants <= SLOT_VARIANTS_MAX);
    for (int v = 0; v < d->nvariants; v++) {
        PB_ASSERT(slot_variant_find(d, d->variants[v].id) == v);
        for (int k = 0; k < v; k++)
            PB_ASSERT(d->variants[k].rtp_ppm != d->variants[v].rtp_ppm);
        check_variant(d, v, size);
    }
    slot_def_free(d);
    return 0;
}
