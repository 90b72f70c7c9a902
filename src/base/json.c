/* json.c: strict JSON parsing and decoding into structs (json.h). */
#include "base/json.h"

#include <stdio.h>
#include <string.h>

#include "base/base.h"

static int fail(struct pb_json_error *err, const char *code, const char *prefix,
                const char *name, const char *detail_fmt, const char *arg)
{
    err->code = code;
    if (prefix && prefix[0] && name)
        snprintf(err->field, sizeof(err->field), "%s.%s", prefix, name);
    else
        snprintf(err->field, sizeof(err->field), "%s", name ? name : (prefix ? prefix : ""));
    snprintf(err->detail, sizeof(err->detail), detail_fmt, arg ? arg : "");
    return PB_ERR_INVALID;
}

/* Depth of brackets outside strings; stops counting once the limit is passed. */
static bool depth_ok(const char *text, size_t len)
{
    int depth = 0;
    bool in_string = false;
    for (size_t i = 0; i < len; i++) {
        char c = text[i];
        if (in_string) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == '{' || c == '[') {
            if (++depth > PB_JSON_DEPTH_MAX)
                return false;
        } else if (c == '}' || c == ']') {
            depth--;
        }
    }
    return true;
}

int pb_json_parse(const char *text, size_t len, bool want_object, json_t **out,
                  struct pb_json_error *err)
{
    *out = NULL;
    if (!depth_ok(text, len))
        return fail(err, "too_deep", "", NULL, "the document is nested deeper than allowed%s",
                    "");
    json_error_t jerr;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        char where[64];
        snprintf(where, sizeof(where), " (line %d, column %d)", jerr.line, jerr.column);
        return fail(err, "malformed_json", "", NULL, "the body is not valid JSON%s", where);
    }
    if (want_object && !json_is_object(root)) {
        json_decref(root);
        return fail(err, "wrong_type", "", NULL, "the body must be a JSON object%s", "");
    }
    *out = root;
    return PB_OK;
}

static const char *kind_name(enum pb_json_kind kind)
{
    switch (kind) {
    case PB_JSON_KIND_STRING: return "a string";
    case PB_JSON_KIND_INT: return "an integer";
    case PB_JSON_KIND_BOOL: return "a boolean";
    case PB_JSON_KIND_OBJECT: return "an object";
    case PB_JSON_KIND_ARRAY: return "an array";
    }
    return "?";
}

static int decode_one(const struct pb_json_field *f, const json_t *v, const char *prefix,
                      char *out, struct pb_json_error *err)
{
    char range[96];
    switch (f->kind) {
    case PB_JSON_KIND_STRING: {
        if (!json_is_string(v))
            break;
        size_t n = json_string_length(v);
        if ((int64_t)n < f->min || (int64_t)n > f->max) {
            snprintf(range, sizeof(range), "%lld to %lld", (long long)f->min, (long long)f->max);
            return fail(err, "out_of_range", prefix, f->name, "must be %s bytes long", range);
        }
        /* No NUL inside: json_loadb refuses \u0000 without JSON_ALLOW_NUL. */
        *(const char **)(out + f->offset) = json_string_value(v);
        return PB_OK;
    }
    case PB_JSON_KIND_INT: {
        if (!json_is_integer(v))
            break;
        json_int_t x = json_integer_value(v);
        if (x < f->min || x > f->max) {
            snprintf(range, sizeof(range), "%lld to %lld", (long long)f->min, (long long)f->max);
            return fail(err, "out_of_range", prefix, f->name, "must be between %s", range);
        }
        *(int64_t *)(out + f->offset) = (int64_t)x;
        return PB_OK;
    }
    case PB_JSON_KIND_BOOL:
        if (!json_is_boolean(v))
            break;
        *(bool *)(out + f->offset) = json_is_true(v);
        return PB_OK;
    case PB_JSON_KIND_OBJECT:
        if (!json_is_object(v))
            break;
        *(const json_t **)(out + f->offset) = v;
        return PB_OK;
    case PB_JSON_KIND_ARRAY:
        if (!json_is_array(v))
            break;
        *(const json_t **)(out + f->offset) = v;
        return PB_OK;
    }
    return fail(err, "wrong_type", prefix, f->name, "must be %s", kind_name(f->kind));
}

int pb_json_decode(const json_t *obj, const char *prefix, const struct pb_json_field *fields,
                   size_t nfields, void *out, struct pb_json_error *err)
{
    PB_ASSERT(json_is_object(obj));
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)obj, key, value) {
        bool known = false;
        for (size_t i = 0; i < nfields && !known; i++)
            known = strcmp(fields[i].name, key) == 0;
        if (!known)
            return fail(err, "unknown_field", prefix, key, "is not a known field%s", "");
    }
    for (size_t i = 0; i < nfields; i++) {
        const struct pb_json_field *f = &fields[i];
        const json_t *v = json_object_get(obj, f->name);
        if (!v) {
            if (f->required)
                return fail(err, "missing_field", prefix, f->name, "is required%s", "");
            continue;
        }
        int rc = decode_one(f, v, prefix, (char *)out, err);
        if (rc != PB_OK)
            return rc;
        if (f->present != SIZE_MAX)
            *(bool *)((char *)out + f->present) = true;
    }
    return PB_OK;
}
