/* blackjack_json.c: the stored form of a blackjack round (decoded strictly by replay) and the
 * player's view (blackjack.h). */
#include <stdio.h>
#include <string.h>

#include "base/base.h"
#include "games/blackjack.h"

#define BJ_STATE_VERSION 1

json_t *bj_state_encode(const struct bj_state *s)
{
    char shoe[CARDS_SHOE_MAX * 2 + 1];
    for (int i = 0; i < s->shoe.count; i++)
        snprintf(shoe + 2 * i, 3, "%02x", s->shoe.cards[i]);
    shoe[2 * s->shoe.count] = '\0';
    json_t *actions = json_array();
    for (int i = 0; i < s->action_count; i++)
        json_array_append_new(actions, json_string(bj_action_name(s->actions[i])));
    json_t *j = json_pack("{s:i, s:{s:i, s:b, s:b, s:b, s:i}, s:I, s:s, s:o}", "version",
                          BJ_STATE_VERSION, "rules", "decks", s->rules.decks, "hit_soft17",
                          s->rules.hit_soft17, "double_after_split",
                          s->rules.double_after_split, "surrender", s->rules.surrender,
                          "max_hands", s->rules.max_hands, "stake_minor",
                          (json_int_t)s->stake_minor, "shoe", shoe, "actions", actions);
    PB_ASSERT(j != NULL);
    return j;
}

struct stored {
    int64_t version, stake_minor;
    json_t *rules, *actions;
    const char *shoe;
};
struct stored_rules {
    int64_t decks, max_hands;
    bool hit_soft17, double_after_split, surrender;
};

static const struct pb_json_field stored_fields[] = {
    PB_JSON_INT(struct stored, version, PB_JSON_REQUIRED, BJ_STATE_VERSION, BJ_STATE_VERSION),
    PB_JSON_OBJ(struct stored, rules, PB_JSON_REQUIRED),
    PB_JSON_INT(struct stored, stake_minor, PB_JSON_REQUIRED, 1, BJ_STAKE_MAX),
    PB_JSON_STR(struct stored, shoe, PB_JSON_REQUIRED, CARDS_DECK * 2, CARDS_SHOE_MAX * 2),
    PB_JSON_ARR(struct stored, actions, PB_JSON_REQUIRED),
};
static const struct pb_json_field rules_fields[] = {
    PB_JSON_INT(struct stored_rules, decks, PB_JSON_REQUIRED, 1, CARDS_DECKS_MAX),
    PB_JSON_BOOL(struct stored_rules, hit_soft17, PB_JSON_REQUIRED),
    PB_JSON_BOOL(struct stored_rules, double_after_split, PB_JSON_REQUIRED),
    PB_JSON_BOOL(struct stored_rules, surrender, PB_JSON_REQUIRED),
    PB_JSON_INT(struct stored_rules, max_hands, PB_JSON_REQUIRED, 1, BJ_HANDS_MAX),
};

static int fail(struct pb_json_error *err, const char *code, const char *field,
                const char *detail)
{
    err->code = code;
    snprintf(err->field, sizeof(err->field), "%s", field);
    snprintf(err->detail, sizeof(err->detail), "%s", detail);
    return PB_ERR_INVALID;
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

static int decode_shoe(const char *text, int decks, struct shoe *shoe, struct pb_json_error *err)
{
    size_t len = strlen(text);
    if (len != (size_t)decks * CARDS_DECK * 2)
        return fail(err, "out_of_range", "shoe", "the shoe must hold two hex digits per card "
                                                 "of every deck");
    shoe_init(shoe, decks);
    for (size_t i = 0; i < len / 2; i++) {
        int hi = hex_digit(text[2 * i]), lo = hex_digit(text[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return fail(err, "wrong_type", "shoe", "the shoe must be lower-case hex");
        shoe->cards[i] = (uint8_t)(hi * 16 + lo);
    }
    if (!shoe_is_complete(shoe->cards, len / 2, decks))
        return fail(err, "invalid_shoe", "shoe", "the shoe is not a set of full decks");
    return PB_OK;
}

int bj_state_decode(const json_t *doc, struct bj_state *s, struct pb_json_error *err)
{
    memset(err, 0, sizeof(*err));
    if (!json_is_object(doc))
        return fail(err, "wrong_type", "", "the state must be an object");
    struct stored st;
    struct stored_rules sr;
    memset(&st, 0, sizeof(st));
    memset(&sr, 0, sizeof(sr));
    int rc = pb_json_decode(doc, "", stored_fields, PB_ARRAY_LEN(stored_fields), &st, err);
    if (rc == PB_OK)
        rc = pb_json_decode(st.rules, "rules", rules_fields, PB_ARRAY_LEN(rules_fields), &sr,
                            err);
    if (rc != PB_OK)
        return rc;
    struct bj_rules rules = {.decks = (int)sr.decks,
                             .hit_soft17 = sr.hit_soft17,
                             .double_after_split = sr.double_after_split,
                             .surrender = sr.surrender,
                             .max_hands = (int)sr.max_hands};
    struct shoe shoe;
    rc = decode_shoe(st.shoe, rules.decks, &shoe, err);
    if (rc != PB_OK)
        return rc;
    if (json_array_size(st.actions) > BJ_ACTIONS_MAX)
        return fail(err, "out_of_range", "actions", "too many actions");
    bj_start(s, &rules, st.stake_minor, &shoe);
    for (size_t i = 0; i < json_array_size(st.actions); i++) {
        char field[32];
        snprintf(field, sizeof(field), "actions[%zu]", i);
        const json_t *a = json_array_get(st.actions, i);
        enum bj_action act;
        if (!json_is_string(a) || bj_action_parse(json_string_value(a), &act) != PB_OK)
            return fail(err, "wrong_type", field, "an action is one of hit, stand, double, "
                                                  "split, surrender, insurance, no_insurance");
        struct bj_refusal why;
        if (bj_act(s, act, NULL, &why) != PB_OK)
            return fail(err, why.code, field, why.detail);
    }
    return PB_OK;
}

/* ---- the player's view ---- */

static const char *const phase_names[] = {"", "insurance", "player", "settled"};
static const char *const result_names[] = {"open", "win",  "blackjack",  "push",
                                           "lose", "bust", "surrendered"};

static json_t *cards_json(const uint8_t *cards, int n)
{
    json_t *arr = json_array();
    for (int i = 0; i < n; i++) {
        char t[CARDS_TEXT_MAX];
        card_text(cards[i], t);
        json_array_append_new(arr, json_string(t));
    }
    return arr;
}

json_t *bj_state_view(const struct bj_state *s)
{
    bool settled = s->phase == BJ_PHASE_SETTLED;
    json_t *hands = json_array();
    for (int i = 0; i < s->hand_count; i++) {
        const struct bj_hand *h = &s->hands[i];
        bool soft;
        int total = bj_total(h->cards, h->count, &soft);
        json_t *hj = json_pack("{s:o, s:i, s:b, s:I, s:b, s:b, s:s}", "cards",
                               cards_json(h->cards, h->count), "total", total, "soft", soft,
                               "stake_minor", (json_int_t)h->stake_minor, "doubled", h->doubled,
                               "split", h->from_split, "result", result_names[h->result]);
        if (settled)
            json_object_set_new(hj, "payout_minor", json_integer(h->payout_minor));
        json_array_append_new(hands, hj);
    }
    int shown = settled ? s->dealer_count : 1;
    json_t *dealer = json_pack("{s:o, s:i}", "cards", cards_json(s->dealer, shown), "total",
                               bj_total(s->dealer, shown, NULL));
    if (settled)
        json_object_set_new(dealer, "blackjack", json_boolean(s->dealer_blackjack));
    json_t *legal = json_array();
    for (int a = BJ_HIT; a <= BJ_NO_INSURANCE; a++) {
        if (bj_check(s, (enum bj_action)a, NULL) == PB_OK)
            json_array_append_new(legal, json_string(bj_action_name((enum bj_action)a)));
    }
    json_t *j = json_pack("{s:s, s:I, s:I, s:o, s:o, s:{s:b, s:I, s:I}, s:o}", "phase",
                          phase_names[s->phase], "stake_minor", (json_int_t)s->stake_minor,
                          "staked_minor", (json_int_t)s->staked_minor, "hands", hands, "dealer",
                          dealer, "insurance", "offered", card_rank(s->dealer[0]) == 1,
                          "stake_minor", (json_int_t)s->insurance_minor, "payout_minor",
                          (json_int_t)s->insurance_payout_minor, "actions", legal);
    PB_ASSERT(j != NULL);
    json_object_set_new(j, "seq", json_integer(s->action_count)); /* the next action's number */
    if (s->phase == BJ_PHASE_PLAYER)
        json_object_set_new(j, "active_hand", json_integer(s->active));
    if (settled)
        json_object_set_new(j, "payout_minor", json_integer(s->payout_minor));
    return j;
}
