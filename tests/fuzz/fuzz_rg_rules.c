/* fuzz_rg_rules.c: libFuzzer target for the responsible-gaming rule-set decoder: any document
 * either loads or is refused with a message naming the key; a loaded set stays within every
 * bound the guard relies on. */
#include <stdint.h>
#include <string.h>

#include "base/base.h"
#include "rg/rg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct rg_rules *r = NULL;
    char err[256] = "";
    if (rg_rules_load_text((const char *)data, size, &r, err, sizeof(err)) != PB_OK) {
        PB_ASSERT(r == NULL && err[0] != '\0');
        return 0;
    }
    PB_ASSERT(r->nsets >= 1 && r->nsets <= RG_RULE_SETS_MAX);
    for (size_t i = 0; i < r->nsets; i++) {
        const struct rg_rule_set *s = &r->sets[i];
        PB_ASSERT(s->name[0] != '\0' && rg_rules_find(r, s->name) != NULL);
        PB_ASSERT(s->nslot_stake_caps <= RG_STAKE_CAPS_MAX);
        for (size_t k = 0; k < s->nslot_stake_caps; k++)
            PB_ASSERT(s->slot_stake_caps[k].cap_minor > 0 &&
                      s->slot_stake_caps[k].young_cap_minor >= 0);
        PB_ASSERT(s->min_game_cycle_ms >= 0 && s->cooling_ms >= 0);
        PB_ASSERT(s->time_out_hours_min <= s->time_out_hours_max);
        PB_ASSERT(s->exclusion_months_min <= s->exclusion_months_max);
        PB_ASSERT(s->reality_check_minutes == 0 ||
                  (s->reality_check_minutes >= RG_REALITY_MINUTES_MIN &&
                   s->reality_check_minutes <= RG_REALITY_MINUTES_MAX));
    }
    rg_rules_free(r);
    return 0;
}
