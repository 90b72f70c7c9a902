/* fuzz_json.c: libFuzzer target for the request-body decoder (pb_json_parse + pb_json_decode):
 * any input either decodes or yields a named error; never a crash, leak or overread. */
#include <stdint.h>
#include <string.h>

#include "base/base.h"
#include "base/json.h"

struct body {
    const char *name;
    int64_t count;
    bool flag;
    json_t *nested;
    json_t *list;
};

static const struct pb_json_field fields[] = {
    PB_JSON_STR(struct body, name, PB_JSON_REQUIRED, 1, 64),
    PB_JSON_INT(struct body, count, PB_JSON_OPTIONAL, -1000, 1000),
    PB_JSON_BOOL(struct body, flag, PB_JSON_OPTIONAL),
    PB_JSON_OBJ(struct body, nested, PB_JSON_OPTIONAL),
    PB_JSON_ARR(struct body, list, PB_JSON_OPTIONAL),
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *root;
    struct pb_json_error err;
    if (pb_json_parse((const char *)data, size, true, &root, &err) != PB_OK) {
        PB_ASSERT(err.code != NULL && err.detail[0] != '\0');
        return 0;
    }
    struct body b;
    memset(&b, 0, sizeof(b));
    int rc = pb_json_decode(root, "", fields, PB_ARRAY_LEN(fields), &b, &err);
    if (rc == PB_OK) {
        PB_ASSERT(b.name != NULL && strlen(b.name) >= 1 && strlen(b.name) <= 64);
        PB_ASSERT(b.count >= -1000 && b.count <= 1000);
    } else {
        PB_ASSERT(err.code != NULL);
    }
    json_decref(root);
    return 0;
}
