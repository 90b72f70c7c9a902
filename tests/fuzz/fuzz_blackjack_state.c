/* fuzz_blackjack_state.c: libFuzzer target for the blackjack stored-state decoder and for
 * action decoding. An input starting with '{' is a stored state: it either decodes (and then
 * re-encodes to a document that decodes to the same state) or yields a named error. Any other
 * input is a seed byte then action names, one per line, applied to a fresh round: each is
 * either parsed and applied or refused with a code; the round's invariants hold throughout. */
#include <stdint.h>
#include <string.h>

#include "base/base.h"
#include "base/json.h"
#include "games/blackjack.h"

static void check_invariants(const struct bj_state *s)
{
    PB_ASSERT(s->hand_count >= 1 && s->hand_count <= s->rules.max_hands);
    PB_ASSERT(s->staked_minor >= s->stake_minor);
    if (s->phase == BJ_PHASE_SETTLED) {
        int64_t sum = s->insurance_payout_minor;
        for (int i = 0; i < s->hand_count; i++)
            sum += s->hands[i].payout_minor;
        PB_ASSERT(sum == s->payout_minor && s->payout_minor <= 3 * s->staked_minor);
    }
    json_t *v = bj_state_view(s);
    PB_ASSERT(v != NULL);
    json_decref(v);
}

static void state_input(const uint8_t *data, size_t size)
{
    json_t *root;
    struct pb_json_error err;
    if (pb_json_parse((const char *)data, size, true, &root, &err) != PB_OK)
        return;
    struct bj_state s;
    if (bj_state_decode(root, &s, &err) == PB_OK) {
        check_invariants(&s);
        json_t *again = bj_state_encode(&s);
        struct bj_state back;
        PB_ASSERT(bj_state_decode(again, &back, &err) == PB_OK);
        json_t *third = bj_state_encode(&back);
        PB_ASSERT(json_equal(again, third));
        json_decref(third);
        json_decref(again);
        bj_abandon(&s);
        check_invariants(&s);
    } else {
        PB_ASSERT(err.code != NULL && err.detail[0] != '\0');
    }
    json_decref(root);
}

static void action_input(const uint8_t *data, size_t size)
{
    struct bj_rules rules;
    bj_rules_default(&rules);
    rules.surrender = size > 1 && (data[1] & 1);
    rules.hit_soft17 = size > 1 && (data[1] & 2);
    struct rng r;
    rng_init_seeded(&r, size ? data[0] : 0);
    struct shoe shoe;
    bj_shoe_new(&rules, &r, &shoe);
    struct bj_state s;
    bj_start(&s, &rules, 1000, &shoe);
    char name[32];
    size_t start = size > 2 ? 2 : size;
    for (size_t i = start; i <= size; i++) {
        if (i < size && data[i] != '\n')
            continue;
        size_t len = i - start;
        if (len < sizeof(name)) {
            memcpy(name, data + start, len);
            name[len] = '\0';
            enum bj_action a;
            if (strlen(name) == len && bj_action_parse(name, &a) == PB_OK) {
                struct bj_refusal why;
                int rc = bj_act(&s, a, NULL, &why);
                PB_ASSERT(rc == PB_OK || (rc == PB_ERR_CONFLICT && why.code != NULL));
                check_invariants(&s);
            }
        }
        start = i + 1;
    }
    bj_abandon(&s);
    check_invariants(&s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 0 && data[0] == '{')
        state_input(data, size);
    else
        action_input(data, size);
    return 0;
}
