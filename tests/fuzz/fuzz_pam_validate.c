/* fuzz_pam_validate.c: libFuzzer target for the pam validators and decoders (src/pam/auth.h):
 * e-mail normalization, password strength, dates, country codes, session token, base32,
 * recovery code and TOTP code input. Every call reads from a heap copy of exactly the input's
 * size (plus the NUL where the function takes a C string), so any overread is an ASan report.
 * Properties: normalization is idempotent and its output is a valid address; whatever base32
 * decodes encodes back to the same text (ignoring case); a token that hashes is 43 bytes. */
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/base.h"
#include "base/buf.h"
#include "pam/auth.h"

static char recovery_codes[1][PAM_RECOVERY_CODE_SIZE];
static char recovery_hashes[1][PAM_RECOVERY_HASH_SIZE];

static void setup_once(void)
{
    static bool done;
    if (done)
        return;
    PB_ASSERT(sodium_init() >= 0);
    pam_recovery_codes_generate(1, recovery_codes, recovery_hashes);
    done = true;
}

static void check_email(const char *bytes, size_t size, const char *text)
{
    char out[PAM_EMAIL_SIZE], again[PAM_EMAIL_SIZE];
    const char *reason = NULL;
    if (pam_email_normalize(bytes, size, out, &reason) != PB_OK) {
        PB_ASSERT(reason != NULL && out[0] == '\0');
        PB_ASSERT(pam_password_strength(bytes, size, text, &reason) == PB_OK || reason != NULL);
        return;
    }
    size_t len = strlen(out);
    PB_ASSERT(reason == NULL && len >= 5 && len <= PAM_EMAIL_MAX);
    PB_ASSERT(pam_email_normalize(out, len, again, NULL) == PB_OK);
    PB_ASSERT(strcmp(out, again) == 0);
    const char *at = strchr(out, '@');
    PB_ASSERT(at != NULL && strchr(at + 1, '@') == NULL && strchr(at + 1, '.') != NULL);
    for (size_t i = 0; i < len; i++)
        PB_ASSERT(out[i] > ' ' && out[i] < 0x7f && !(out[i] >= 'A' && out[i] <= 'Z'));
    /* The address as the e-mail context of a password check. */
    (void)pam_password_strength(bytes, size, out, NULL);
}

static void check_base32(const char *bytes, size_t size)
{
    size_t cap = size * 5 / 8 + 1;
    unsigned char *dec = pb_malloc(cap);
    size_t n = 0;
    if (pam_base32_decode(bytes, size, dec, cap, &n) == PB_OK) {
        PB_ASSERT(n <= cap);
        char *enc = pb_malloc(PAM_BASE32_LEN(n) + 1);
        pam_base32_encode(dec, n, enc, PAM_BASE32_LEN(n) + 1);
        PB_ASSERT(strlen(enc) == size && strncasecmp(enc, bytes, size) == 0);
        pb_free(enc);
    }
    pb_free(dec);
}

static void check_c_string_inputs(const char *text, size_t size)
{
    int years = -1;
    const char *reason = NULL;
    if (pam_age_years(text, "2026-11-20", &years, &reason) == PB_OK)
        PB_ASSERT(size == PAM_DATE_TEXT_LEN && years >= 0 && years <= 2025);
    else
        PB_ASSERT(reason != NULL);
    if (pam_country_valid(text, NULL) == PB_OK)
        PB_ASSERT(size == 2);
    char hash[PAM_TOKEN_HASH_HEX_SIZE];
    if (pam_token_hash(text, hash) == PB_OK)
        PB_ASSERT(size == PAM_TOKEN_TEXT_SIZE - 1 && strlen(hash) == PAM_TOKEN_HASH_HEX_SIZE - 1);
    const char *stored[2] = {recovery_hashes[0], text};
    size_t index = 9;
    if (pam_recovery_code_verify(text, stored, 2, &index) == PB_OK)
        PB_ASSERT(index == 0);
    static const unsigned char secret[PAM_TOTP_SECRET_BYTES] = "12345678901234567890";
    int64_t step = -9;
    int rc =
        pam_totp_verify(secret, sizeof(secret), text, 1795176000, PAM_TOTP_STEP_NONE, NULL, &step);
    PB_ASSERT(rc != PB_OK || (size == 6 && step >= 59839199 && step <= 59839201));
    struct pb_buf uri = PB_BUF_INIT;
    if (pam_totp_uri(text, text, "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", NULL, &uri) != PB_OK)
        PB_ASSERT(uri.len == 0);
    pb_buf_release(&uri);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 1024)
        return 0;
    setup_once();
    char *bytes = pb_malloc(size > 0 ? size : 1); /* exactly size bytes, no terminator */
    memcpy(bytes, data, size);
    char *text = pb_malloc(size + 1);
    memcpy(text, data, size);
    text[size] = '\0';
    size_t text_len = strlen(text); /* up to an embedded NUL */
    check_email(bytes, size, text);
    check_base32(bytes, size);
    check_c_string_inputs(text, text_len);
    if (size >= 8) {
        /* Arbitrary clock and last-used step: no overflow, no crash. */
        int64_t now, last;
        memcpy(&now, data, sizeof(now));
        last = now / 30 - (int64_t)(data[0] % 4);
        static const unsigned char key[PAM_TOTP_SECRET_BYTES] = "abcdefghijklmnopqrst";
        int64_t step = -9;
        if (last >= PAM_TOTP_STEP_NONE &&
            pam_totp_verify(key, sizeof(key), text + 8, now, last, NULL, &step) == PB_OK)
            PB_ASSERT(step > last && step <= now / 30 + 1);
    }
    pb_free(text);
    pb_free(bytes);
    return 0;
}
