/* rules.c: jurisdiction rule sets as data (rg.h; format in docs/rg.md and
 * deploy/rg-rules.example.json). Decoded strictly: unknown keys, wrong types, unknown
 * currencies and out-of-range values are refused with the key named. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "base/base.h"
#include "rg/rg.h"

/* The built-in sets: a UK-like one and a permissive one for demos. */
static const char builtin_rules[] =
    "{\"uk\":{\"slot_stake_caps\":{\"GBP\":{\"cap\":\"5.00\",\"young_cap\":\"2.00\"},"
    "\"EUR\":{\"cap\":\"5.00\",\"young_cap\":\"2.00\"},"
    "\"USD\":{\"cap\":\"5.00\",\"young_cap\":\"2.00\"}},"
    "\"young_age_max\":24,\"min_game_cycle_ms\":2500,\"autoplay\":false,\"turbo\":false,"
    "\"deposit_limit_prompt\":true,\"cooling_hours\":24,\"reality_check_minutes\":60,"
    "\"time_out_hours\":[24,1008],\"self_exclusion_months\":[6,60],"
    "\"self_exclusion_permanent\":true},"
    "\"permissive\":{\"slot_stake_caps\":{},\"young_age_max\":0,\"min_game_cycle_ms\":0,"
    "\"autoplay\":true,\"turbo\":true,\"deposit_limit_prompt\":false,\"cooling_hours\":24,"
    "\"reality_check_minutes\":0,\"time_out_hours\":[24,1008],"
    "\"self_exclusion_months\":[6,60],\"self_exclusion_permanent\":true}}";

static int fail(char *err, size_t errlen, const char *set, const char *key, const char *detail)
{
    snprintf(err, errlen, "%s%s%s: %s", set, key[0] ? "." : "", key, detail);
    return PB_ERR_INVALID;
}

static int int_in(json_t *v, int64_t lo, int64_t hi, int64_t *out)
{
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
        return PB_ERR_INVALID;
    *out = json_integer_value(v);
    return PB_OK;
}

static int range_pair(json_t *v, int64_t lo, int64_t hi, int *min, int *max)
{
    int64_t a, b;
    if (!json_is_array(v) || json_array_size(v) != 2 ||
        int_in(json_array_get(v, 0), lo, hi, &a) != PB_OK ||
        int_in(json_array_get(v, 1), lo, hi, &b) != PB_OK || a > b)
        return PB_ERR_INVALID;
    *min = (int)a;
    *max = (int)b;
    return PB_OK;
}

static int parse_caps(json_t *caps, struct rg_rule_set *rs, char *err, size_t errlen)
{
    if (!json_is_object(caps) || json_object_size(caps) > RG_STAKE_CAPS_MAX)
        return fail(err, errlen, rs->name, "slot_stake_caps",
                    "must be an object of at most 16 currencies");
    const char *code;
    json_t *v;
    json_object_foreach(caps, code, v) {
        char key[64];
        snprintf(key, sizeof(key), "slot_stake_caps.%s", code);
        const struct ledger_currency *c = ledger_currency_find(code);
        if (!c)
            return fail(err, errlen, rs->name, key, "is not a known currency code");
        struct rg_stake_cap *cap = &rs->slot_stake_caps[rs->nslot_stake_caps++];
        pb_strlcpy(cap->currency, code, sizeof(cap->currency));
        const char *k;
        json_t *f;
        bool have_cap = false;
        if (!json_is_object(v))
            return fail(err, errlen, rs->name, key, "must be an object");
        json_object_foreach(v, k, f) {
            int64_t *dst = strcmp(k, "cap") == 0         ? &cap->cap_minor
                           : strcmp(k, "young_cap") == 0 ? &cap->young_cap_minor
                                                         : NULL;
            if (!dst)
                return fail(err, errlen, rs->name, key, "has an unknown key");
            if (!json_is_string(f) ||
                ledger_amount_parse(json_string_value(f), c, false, dst) != PB_OK || *dst <= 0)
                return fail(err, errlen, rs->name, key,
                            "cap and young_cap must be positive decimal amounts");
            have_cap |= dst == &cap->cap_minor;
        }
        if (!have_cap)
            return fail(err, errlen, rs->name, key, "needs a cap");
    }
    return PB_OK;
}

static int parse_set(const char *name, json_t *o, struct rg_rule_set *rs, char *err,
                     size_t errlen)
{
    size_t n = strlen(name);
    if (n == 0 || n >= sizeof(rs->name) ||
        strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_-") != n)
        return fail(err, errlen, name, "", "a rule set's name must be 1 to 32 of a-z0-9_-");
    memset(rs, 0, sizeof(*rs));
    pb_strlcpy(rs->name, name, sizeof(rs->name));
    rs->cooling_ms = RG_COOLING_HOURS_DEFAULT * RG_HOUR_MS;
    rs->time_out_hours_min = RG_TIME_OUT_HOURS_MIN;
    rs->time_out_hours_max = RG_TIME_OUT_HOURS_MAX;
    rs->exclusion_months_min = RG_EXCLUSION_MONTHS_MIN;
    rs->exclusion_months_max = RG_EXCLUSION_MONTHS_MAX;
    rs->exclusion_permanent = true;
    if (!json_is_object(o))
        return fail(err, errlen, name, "", "must be an object");
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v) {
        int64_t x = 0;
        int rc = PB_OK;
        if (strcmp(k, "slot_stake_caps") == 0) {
            if (parse_caps(v, rs, err, errlen) != PB_OK)
                return PB_ERR_INVALID;
        } else if (strcmp(k, "young_age_max") == 0) {
            rc = int_in(v, 0, 120, &x);
            rs->young_age_max = (int)x;
        } else if (strcmp(k, "min_game_cycle_ms") == 0) {
            rc = int_in(v, 0, 600000, &rs->min_game_cycle_ms);
        } else if (strcmp(k, "autoplay") == 0 || strcmp(k, "turbo") == 0 ||
                   strcmp(k, "deposit_limit_prompt") == 0 ||
                   strcmp(k, "self_exclusion_permanent") == 0) {
            bool *dst = k[0] == 'a' ? &rs->autoplay : k[0] == 't' ? &rs->turbo
                        : k[0] == 'd' ? &rs->deposit_limit_prompt : &rs->exclusion_permanent;
            rc = json_is_boolean(v) ? PB_OK : PB_ERR_INVALID;
            *dst = json_is_true(v);
        } else if (strcmp(k, "cooling_hours") == 0) {
            rc = int_in(v, 0, 24 * 30, &x);
            rs->cooling_ms = x * RG_HOUR_MS;
        } else if (strcmp(k, "reality_check_minutes") == 0) {
            rc = int_in(v, 0, RG_REALITY_MINUTES_MAX, &x);
            if (rc == PB_OK && x != 0 && x < RG_REALITY_MINUTES_MIN)
                rc = PB_ERR_INVALID;
            rs->reality_check_minutes = (int)x;
        } else if (strcmp(k, "time_out_hours") == 0) {
            rc = range_pair(v, 1, 24 * 365, &rs->time_out_hours_min, &rs->time_out_hours_max);
        } else if (strcmp(k, "self_exclusion_months") == 0) {
            rc = range_pair(v, 1, 120, &rs->exclusion_months_min, &rs->exclusion_months_max);
        } else {
            return fail(err, errlen, name, k, "is not a known key");
        }
        if (rc != PB_OK)
            return fail(err, errlen, name, k, "has a wrong type or is out of range");
    }
    return PB_OK;
}

int rg_rules_load_text(const char *text, size_t len, struct rg_rules **out, char *err,
                       size_t errlen)
{
    *out = NULL;
    json_error_t jerr;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        snprintf(err, errlen, "(document): %s at line %d", jerr.text, jerr.line);
        return PB_ERR_INVALID;
    }
    struct rg_rules *r = pb_calloc(1, sizeof(*r));
    int rc = PB_OK;
    if (!json_is_object(root) || json_object_size(root) == 0 ||
        json_object_size(root) > RG_RULE_SETS_MAX) {
        rc = fail(err, errlen, "(document)", "", "must be an object of 1 to 32 rule sets");
    } else {
        const char *name;
        json_t *v;
        json_object_foreach(root, name, v) {
            rc = parse_set(name, v, &r->sets[r->nsets], err, errlen);
            if (rc != PB_OK)
                break;
            r->nsets++;
        }
    }
    json_decref(root);
    if (rc != PB_OK) {
        pb_free(r);
        return rc;
    }
    *out = r;
    return PB_OK;
}

int rg_rules_load(const char *path_or_null, struct rg_rules **out, char *err, size_t errlen)
{
    if (!path_or_null || !path_or_null[0])
        return rg_rules_load_text(builtin_rules, strlen(builtin_rules), out, err, errlen);
    FILE *f = fopen(path_or_null, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: cannot be read", path_or_null);
        return PB_ERR_IO;
    }
    char *buf = pb_malloc(RG_RULES_FILE_MAX + 1);
    size_t n = fread(buf, 1, RG_RULES_FILE_MAX + 1, f);
    fclose(f);
    int rc;
    if (n > RG_RULES_FILE_MAX)
        rc = fail(err, errlen, path_or_null, "", "is larger than 256 KiB");
    else
        rc = rg_rules_load_text(buf, n, out, err, errlen);
    pb_free(buf);
    return rc;
}

void rg_rules_free(struct rg_rules *r)
{
    pb_free(r);
}

const struct rg_rule_set *rg_rules_find(const struct rg_rules *r, const char *name)
{
    for (size_t i = 0; i < r->nsets; i++)
        if (strcmp(r->sets[i].name, name) == 0)
            return &r->sets[i];
    return NULL;
}
