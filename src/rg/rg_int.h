/* rg_int.h: internals shared by the rg files. Design notes are in rg.h. */
#ifndef PB_RG_INT_H
#define PB_RG_INT_H

#include "base/buf.h"
#include "rg/rg.h"

struct rg {
    const struct pam_config *cfg;
    struct rg_rules *rules;
    int64_t (*clock)(void *arg);
    void *clock_arg;
};

/* Running totals of one (player, currency) after an activity row. */
struct rg__activity {
    int64_t seq, at_ms, stakes, wins, deposits;
};

/* The latest row at or before at_ms (INT64_MAX: the latest); zeros when none. */
int rg__activity_at(struct store *s, const char *player_id, const char *currency,
                    int64_t at_ms, struct rg__activity *out);
/* The player's per-player row: prompt answered, reality interval (-1: the rule set's), start
 * of the last slot cycle, chasing-losses counter; defaults when there is none. */
struct rg__player {
    bool prompt_answered;
    int reality_minutes;
    int64_t last_slot_cycle_ms;
    int64_t chase_from_ms;
    int chase_deposits;
};
int rg__player_get(struct store *s, const char *player_id, struct rg__player *out);
int rg__player_put(struct store *tx, const char *player_id, const struct rg__player *p);
/* Appends ",\"key\":\"<ISO time>\"" to b. */
void rg__time_member(struct pb_buf *b, const char *key, int64_t ms);

#endif
