/* json.h: strict JSON decoding at the edge (STYLE.md section 16). A request body is parsed
 * once (depth-limited before jansson sees it), then decoded into a C struct by a field table:
 * unknown, missing and mistyped fields are refused and named in the error.
 *
 *   struct body { const char *name; int64_t count; bool dry_run; };
 *   static const struct pb_json_field fields[] = {
 *       PB_JSON_STR(struct body, name, PB_JSON_REQUIRED, 1, 64),
 *       PB_JSON_INT(struct body, count, PB_JSON_OPTIONAL, 0, 100),
 *       PB_JSON_BOOL(struct body, dry_run, PB_JSON_OPTIONAL),
 *   };
 *   rc = pb_json_decode(root, "", fields, PB_ARRAY_LEN(fields), &out, &err);
 *
 * Strings are borrowed from the json_t tree: they live as long as the root is referenced. */
#ifndef PB_JSON_H
#define PB_JSON_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/limits.h"

enum pb_json_kind { PB_JSON_KIND_STRING, PB_JSON_KIND_INT, PB_JSON_KIND_BOOL, PB_JSON_KIND_OBJECT,
                    PB_JSON_KIND_ARRAY };

#define PB_JSON_REQUIRED true
#define PB_JSON_OPTIONAL false

struct pb_json_field {
    const char *name;
    enum pb_json_kind kind;
    bool required;
    size_t offset;   /* where the value goes in the output struct */
    size_t present;  /* offset of a bool set when the field was given, or SIZE_MAX */
    int64_t min;     /* INT: smallest value; STRING: shortest length in bytes */
    int64_t max;     /* INT: largest value; STRING: longest length in bytes */
};

/* Output types: STRING -> const char *, INT -> int64_t, BOOL -> bool,
 * OBJECT and ARRAY -> json_t * (borrowed). */
#define PB_JSON_STR(T, f, req, minlen, maxlen)                                                  \
    {#f, PB_JSON_KIND_STRING, req, offsetof(T, f), SIZE_MAX, minlen, maxlen}
#define PB_JSON_INT(T, f, req, lo, hi) {#f, PB_JSON_KIND_INT, req, offsetof(T, f), SIZE_MAX, lo, hi}
#define PB_JSON_BOOL(T, f, req) {#f, PB_JSON_KIND_BOOL, req, offsetof(T, f), SIZE_MAX, 0, 0}
#define PB_JSON_OBJ(T, f, req) {#f, PB_JSON_KIND_OBJECT, req, offsetof(T, f), SIZE_MAX, 0, 0}
#define PB_JSON_ARR(T, f, req) {#f, PB_JSON_KIND_ARRAY, req, offsetof(T, f), SIZE_MAX, 0, 0}

/* A decoding failure: a stable code, the offending field's path ("" for the whole document)
 * and a sentence for people. */
struct pb_json_error {
    const char *code; /* "malformed_json", "unknown_field", "missing_field", "wrong_type",
                         "out_of_range", "too_deep" */
    char field[PB_JSON_FIELD_PATH_MAX];
    char detail[256];
};

/* Parses text (len bytes, not necessarily NUL-terminated) into *out (caller json_decref's it).
 * Refuses documents nested deeper than PB_JSON_DEPTH_MAX before parsing, and anything that is
 * not an object at the top when want_object. Returns 0 or PB_ERR_INVALID with err filled. */
int pb_json_parse(const char *text, size_t len, bool want_object, json_t **out,
                  struct pb_json_error *err);

/* Decodes object obj into out by the field table. prefix names obj's path in errors ("" at the
 * top, "http" for a nested object). Returns 0 or PB_ERR_INVALID with err filled; on error out
 * may be partly written, so callers discard it. */
int pb_json_decode(const json_t *obj, const char *prefix, const struct pb_json_field *fields,
                   size_t nfields, void *out, struct pb_json_error *err);

#endif
