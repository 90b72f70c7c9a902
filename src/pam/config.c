/* config.c: brands and jurisdictions as data (pam.h; format in docs/pam.md and
 * deploy/jurisdictions.example.json). Decoded strictly: unknown keys, missing keys, wrong
 * types, unknown currencies, malformed countries and dangling brand references are refused
 * with the key named ("jurisdictions.uk-like.currencies[1]: ..."). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "base/json.h"
#include "ledger/ledger.h"
#include "pam/pam.h"

/* The built-in demo set used when no file is named. */
static const char demo_config[] =
    "{\"jurisdictions\":{"
    "\"demo\":{\"min_age\":18,\"currencies\":[\"EUR\",\"USD\",\"GBP\"],\"countries\":[\"*\"],"
    "\"kyc_required\":[\"withdrawal\"],\"rg_rule_set\":\"permissive\"},"
    "\"uk-like\":{\"min_age\":18,\"currencies\":[\"GBP\"],\"countries\":[\"GB\"],"
    "\"kyc_required\":[\"play\"],\"rg_rule_set\":\"uk\"}},"
    "\"brands\":{\"demo\":{\"jurisdiction\":\"demo\"},"
    "\"demo-uk\":{\"jurisdiction\":\"uk-like\"}}}";

static int fail(char *err, size_t errlen, const char *key, const char *detail)
{
    snprintf(err, errlen, "%s: %s", key[0] ? key : "(document)", detail);
    return PB_ERR_INVALID;
}

static bool name_ok(const char *s)
{
    size_t n = strlen(s);
    return n >= 1 && n <= PAM_NAME_MAX &&
           strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_-") == n;
}

#define NAME_RULE "must be 1 to 32 characters of a-z, 0-9, '_' and '-'"

struct jurisdiction_body {
    int64_t min_age;
    json_t *currencies;
    json_t *countries;
    json_t *kyc_required;
    const char *rg_rule_set;
};

/* Each element of arr must be a string accepted by take(); errors name "key[i]". */
typedef const char *(*element_fn)(struct pam_jurisdiction *j, const char *value);

static int each_string(json_t *arr, const char *key, size_t max, struct pam_jurisdiction *j,
                       element_fn take, char *err, size_t errlen)
{
    char path[160];
    if (json_array_size(arr) == 0 || json_array_size(arr) > max)
        return fail(err, errlen, key, "must be a non-empty array within the limit");
    for (size_t i = 0; i < json_array_size(arr); i++) {
        snprintf(path, sizeof(path), "%s[%zu]", key, i);
        const char *v = json_string_value(json_array_get(arr, i));
        if (!v)
            return fail(err, errlen, path, "must be a string");
        const char *problem = take(j, v);
        if (problem)
            return fail(err, errlen, path, problem);
    }
    return PB_OK;
}

static const char *take_currency(struct pam_jurisdiction *j, const char *v)
{
    if (!ledger_currency_find(v))
        return "is not a known currency code";
    if (pam_jurisdiction_allows_currency(j, v))
        return "is listed twice";
    pb_strlcpy(j->currencies[j->ncurrencies++], v, PAM_CURRENCY_SIZE);
    return NULL;
}

static const char *take_country(struct pam_jurisdiction *j, const char *v)
{
    if (strcmp(v, "*") == 0) {
        if (j->ncountries > 0 || j->all_countries)
            return "\"*\" (all countries) must be the only element";
        j->all_countries = true;
        return NULL;
    }
    if (j->all_countries)
        return "\"*\" (all countries) must be the only element";
    if (pam_country_valid(v, NULL) != PB_OK)
        return "must be an ISO 3166-1 alpha-2 code such as GB, or \"*\"";
    if (pam_jurisdiction_allows_country(j, v))
        return "is listed twice";
    pb_strlcpy(j->countries[j->ncountries++], v, 3);
    return NULL;
}

static const char *take_kyc(struct pam_jurisdiction *j, const char *v)
{
    unsigned bit = strcmp(v, "deposit") == 0      ? PAM_KYC_DEPOSIT
                   : strcmp(v, "withdrawal") == 0 ? PAM_KYC_WITHDRAWAL
                   : strcmp(v, "play") == 0       ? PAM_KYC_PLAY
                                                  : 0;
    if (!bit)
        return "must be one of deposit, withdrawal, play";
    if (j->kyc_required & bit)
        return "is listed twice";
    j->kyc_required |= bit;
    return NULL;
}

static int decode_jurisdiction(const char *name, json_t *obj, struct pam_jurisdiction *j,
                               char *err, size_t errlen)
{
    static const struct pb_json_field fields[] = {
        PB_JSON_INT(struct jurisdiction_body, min_age, PB_JSON_REQUIRED, 0, 150),
        PB_JSON_ARR(struct jurisdiction_body, currencies, PB_JSON_REQUIRED),
        PB_JSON_ARR(struct jurisdiction_body, countries, PB_JSON_REQUIRED),
        PB_JSON_ARR(struct jurisdiction_body, kyc_required, PB_JSON_REQUIRED),
        PB_JSON_STR(struct jurisdiction_body, rg_rule_set, PB_JSON_REQUIRED, 1, PAM_NAME_MAX),
    };
    char prefix[96], key[160];
    snprintf(prefix, sizeof(prefix), "jurisdictions.%s", name);
    if (!name_ok(name))
        return fail(err, errlen, prefix, NAME_RULE);
    if (!json_is_object(obj))
        return fail(err, errlen, prefix, "must be an object");
    struct jurisdiction_body b = {0};
    struct pb_json_error je;
    if (pb_json_decode(obj, prefix, fields, PB_ARRAY_LEN(fields), &b, &je) != PB_OK)
        return fail(err, errlen, je.field, je.detail);
    memset(j, 0, sizeof(*j));
    pb_strlcpy(j->name, name, sizeof(j->name));
    j->min_age = (int)b.min_age;
    snprintf(key, sizeof(key), "%s.rg_rule_set", prefix);
    if (!name_ok(b.rg_rule_set))
        return fail(err, errlen, key, NAME_RULE);
    pb_strlcpy(j->rg_rule_set, b.rg_rule_set, sizeof(j->rg_rule_set));
    snprintf(key, sizeof(key), "%s.currencies", prefix);
    int rc = each_string(b.currencies, key, PAM_CURRENCIES_MAX, j, take_currency, err, errlen);
    snprintf(key, sizeof(key), "%s.countries", prefix);
    if (rc == PB_OK)
        rc = each_string(b.countries, key, PAM_COUNTRIES_MAX, j, take_country, err, errlen);
    snprintf(key, sizeof(key), "%s.kyc_required", prefix);
    if (rc == PB_OK && json_array_size(b.kyc_required) > 0)
        rc = each_string(b.kyc_required, key, 3, j, take_kyc, err, errlen);
    return rc;
}

struct brand_body {
    const char *jurisdiction;
};

static int decode_brand(struct pam_config *cfg, const char *name, json_t *obj, char *err,
                        size_t errlen)
{
    static const struct pb_json_field fields[] = {
        PB_JSON_STR(struct brand_body, jurisdiction, PB_JSON_REQUIRED, 1, PAM_NAME_MAX),
    };
    char prefix[96], key[160];
    snprintf(prefix, sizeof(prefix), "brands.%s", name);
    if (!name_ok(name))
        return fail(err, errlen, prefix, NAME_RULE);
    if (!json_is_object(obj))
        return fail(err, errlen, prefix, "must be an object");
    struct brand_body b = {0};
    struct pb_json_error je;
    if (pb_json_decode(obj, prefix, fields, PB_ARRAY_LEN(fields), &b, &je) != PB_OK)
        return fail(err, errlen, je.field, je.detail);
    struct pam_brand *br = &cfg->brands[cfg->nbrands];
    pb_strlcpy(br->name, name, sizeof(br->name));
    for (size_t i = 0; i < cfg->njurisdictions; i++)
        if (strcmp(cfg->jurisdictions[i].name, b.jurisdiction) == 0)
            br->jurisdiction = &cfg->jurisdictions[i];
    snprintf(key, sizeof(key), "%s.jurisdiction", prefix);
    if (!br->jurisdiction)
        return fail(err, errlen, key, "names no jurisdiction of this file");
    cfg->nbrands++;
    return PB_OK;
}

static void policy_defaults(struct pam_policy *p)
{
    *p = (struct pam_policy){.account_failures_max = 5, .ip_failures_max = 50,
                             .failure_window_s = 900, .lockout_s = 900,
                             .session_ttl_s = 43200, .session_idle_s = 1800,
                             .session_touch_s = 60};
}

static int decode_policy(json_t *obj, struct pam_policy *p, char *err, size_t errlen)
{
    static const struct pb_json_field fields[] = {
        PB_JSON_INT(struct pam_policy, account_failures_max, PB_JSON_OPTIONAL, 1, 1000),
        PB_JSON_INT(struct pam_policy, ip_failures_max, PB_JSON_OPTIONAL, 1, 1000000),
        PB_JSON_INT(struct pam_policy, failure_window_s, PB_JSON_OPTIONAL, 1, 86400),
        PB_JSON_INT(struct pam_policy, lockout_s, PB_JSON_OPTIONAL, 1, 86400),
        PB_JSON_INT(struct pam_policy, session_ttl_s, PB_JSON_OPTIONAL, 1, 2592000),
        PB_JSON_INT(struct pam_policy, session_idle_s, PB_JSON_OPTIONAL, 1, 2592000),
        PB_JSON_INT(struct pam_policy, session_touch_s, PB_JSON_OPTIONAL, 1, 3600),
    };
    struct pb_json_error je;
    if (!json_is_object(obj))
        return fail(err, errlen, "policy", "must be an object");
    if (pb_json_decode(obj, "policy", fields, PB_ARRAY_LEN(fields), p, &je) != PB_OK)
        return fail(err, errlen, je.field, je.detail);
    if (p->session_touch_s >= p->session_idle_s && p->session_idle_s > 1)
        return fail(err, errlen, "policy.session_touch_s", "must be less than session_idle_s");
    return PB_OK;
}

struct top_body {
    json_t *jurisdictions;
    json_t *brands;
    json_t *policy;
};

static int decode_all(json_t *root, struct pam_config *cfg, char *err, size_t errlen)
{
    static const struct pb_json_field fields[] = {
        PB_JSON_OBJ(struct top_body, jurisdictions, PB_JSON_REQUIRED),
        PB_JSON_OBJ(struct top_body, brands, PB_JSON_REQUIRED),
        PB_JSON_OBJ(struct top_body, policy, PB_JSON_OPTIONAL),
    };
    struct top_body b = {0};
    struct pb_json_error je;
    if (pb_json_decode(root, "", fields, PB_ARRAY_LEN(fields), &b, &je) != PB_OK)
        return fail(err, errlen, je.field, je.detail);
    if (json_object_size(b.jurisdictions) == 0 ||
        json_object_size(b.jurisdictions) > PAM_JURISDICTIONS_MAX)
        return fail(err, errlen, "jurisdictions", "must hold 1 to 64 jurisdictions");
    if (json_object_size(b.brands) == 0 || json_object_size(b.brands) > PAM_BRANDS_MAX)
        return fail(err, errlen, "brands", "must hold 1 to 256 brands");
    const char *name;
    json_t *v;
    json_object_foreach(b.jurisdictions, name, v) {
        int rc = decode_jurisdiction(name, v, &cfg->jurisdictions[cfg->njurisdictions], err,
                                     errlen);
        if (rc != PB_OK)
            return rc;
        cfg->njurisdictions++;
    }
    json_object_foreach(b.brands, name, v) {
        int rc = decode_brand(cfg, name, v, err, errlen);
        if (rc != PB_OK)
            return rc;
    }
    policy_defaults(&cfg->policy);
    return b.policy ? decode_policy(b.policy, &cfg->policy, err, errlen) : PB_OK;
}

int pam_config_load_text(const char *text, size_t len, struct pam_config **out, char *err,
                         size_t errlen)
{
    *out = NULL;
    json_t *root;
    struct pb_json_error je;
    if (pb_json_parse(text, len, true, &root, &je) != PB_OK)
        return fail(err, errlen, je.field, je.detail);
    struct pam_config *cfg = pb_calloc(1, sizeof(*cfg));
    int rc = decode_all(root, cfg, err, errlen);
    json_decref(root);
    if (rc != PB_OK) {
        pb_free(cfg);
        return rc;
    }
    *out = cfg;
    return PB_OK;
}

int pam_config_load(const char *path_or_null, struct pam_config **out, char *err,
                    size_t errlen)
{
    *out = NULL;
    if (!path_or_null || !path_or_null[0])
        return pam_config_load_text(demo_config, strlen(demo_config), out, err, errlen);
    FILE *f = fopen(path_or_null, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: cannot be opened", path_or_null);
        return PB_ERR_IO;
    }
    char *text = pb_malloc(PAM_CONFIG_FILE_MAX + 1);
    size_t n = fread(text, 1, PAM_CONFIG_FILE_MAX + 1, f);
    bool bad = ferror(f) != 0;
    fclose(f);
    int rc;
    if (bad) {
        snprintf(err, errlen, "%s: cannot be read", path_or_null);
        rc = PB_ERR_IO;
    } else if (n > PAM_CONFIG_FILE_MAX) {
        snprintf(err, errlen, "%s: larger than %d bytes", path_or_null, PAM_CONFIG_FILE_MAX);
        rc = PB_ERR_INVALID;
    } else {
        rc = pam_config_load_text(text, n, out, err, errlen);
    }
    pb_free(text);
    return rc;
}

void pam_config_free(struct pam_config *cfg)
{
    pb_free(cfg);
}

const struct pam_brand *pam_config_brand(const struct pam_config *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->nbrands; i++)
        if (strcmp(cfg->brands[i].name, name) == 0)
            return &cfg->brands[i];
    return NULL;
}

bool pam_jurisdiction_allows_currency(const struct pam_jurisdiction *j, const char *code)
{
    for (size_t i = 0; i < j->ncurrencies; i++)
        if (strcmp(j->currencies[i], code) == 0)
            return true;
    return false;
}

bool pam_jurisdiction_allows_country(const struct pam_jurisdiction *j, const char *code)
{
    if (j->all_countries)
        return true;
    for (size_t i = 0; i < j->ncountries; i++)
        if (strcmp(j->countries[i], code) == 0)
            return true;
    return false;
}
