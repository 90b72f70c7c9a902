/* token.c: opaque session tokens (auth.h). 32 CSPRNG bytes as URL-safe base64 without
 * padding go to the client; only hex(SHA-256(token text)) is stored, so a copy of the sessions
 * table gives no usable token. A plain hash suffices (no salt, no argon2): the token has 256
 * bits of entropy, so there is nothing to guess. Design: docs/security.md. */
#include "pam/auth.h"

#include <sodium.h>
#include <string.h>

#include "base/base.h"

#define TOKEN_TEXT_LEN (PAM_TOKEN_TEXT_SIZE - 1)
#define TOKEN_HASH_HEX_LEN (PAM_TOKEN_HASH_HEX_SIZE - 1)

_Static_assert(PAM_TOKEN_TEXT_SIZE ==
                   sodium_base64_ENCODED_LEN(PAM_TOKEN_BYTES,
                                             sodium_base64_VARIANT_URLSAFE_NO_PADDING),
               "token text size");
_Static_assert(TOKEN_HASH_HEX_LEN == 2 * crypto_hash_sha256_BYTES, "token hash size");

static void hash_text(const char *token, char hash_hex_out[PAM_TOKEN_HASH_HEX_SIZE])
{
    unsigned char digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(digest, (const unsigned char *)token, TOKEN_TEXT_LEN);
    sodium_bin2hex(hash_hex_out, PAM_TOKEN_HASH_HEX_SIZE, digest, sizeof(digest));
    PB_ASSERT(strlen(hash_hex_out) == TOKEN_HASH_HEX_LEN);
}

void pam_token_new(char token_out[PAM_TOKEN_TEXT_SIZE], char hash_hex_out[PAM_TOKEN_HASH_HEX_SIZE])
{
    PB_ASSERT(token_out != NULL && hash_hex_out != NULL);
    unsigned char raw[PAM_TOKEN_BYTES];
    randombytes_buf(raw, sizeof(raw));
    sodium_bin2base64(token_out, PAM_TOKEN_TEXT_SIZE, raw, sizeof(raw),
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(raw, sizeof(raw));
    PB_ASSERT(strlen(token_out) == TOKEN_TEXT_LEN);
    hash_text(token_out, hash_hex_out);
}

/* True when token is exactly the canonical encoding of PAM_TOKEN_BYTES bytes. */
static bool token_well_formed(const char *token)
{
    if (strnlen(token, PAM_TOKEN_TEXT_SIZE) != TOKEN_TEXT_LEN)
        return false;
    for (size_t i = 0; i < TOKEN_TEXT_LEN; i++) {
        char c = token[i];
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '_';
        if (!ok)
            return false;
    }
    /* 43 characters carry 258 bits: the last one's two low bits must be zero, or two texts
     * would name the same bytes. libsodium checks this too; the decode below confirms. */
    unsigned char raw[PAM_TOKEN_BYTES];
    size_t raw_len = 0;
    const char *end = NULL;
    int rc = sodium_base642bin(raw, sizeof(raw), token, TOKEN_TEXT_LEN, NULL, &raw_len, &end,
                               sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(raw, sizeof(raw));
    return rc == 0 && raw_len == PAM_TOKEN_BYTES && end == token + TOKEN_TEXT_LEN;
}

int pam_token_hash(const char *token, char hash_hex_out[PAM_TOKEN_HASH_HEX_SIZE])
{
    PB_ASSERT(token != NULL && hash_hex_out != NULL);
    if (!token_well_formed(token))
        return PB_ERR_INVALID;
    hash_text(token, hash_hex_out);
    return PB_OK;
}

bool pam_token_hash_equal(const char *a_hex, const char *b_hex)
{
    PB_ASSERT(a_hex != NULL && b_hex != NULL);
    PB_ASSERT(strnlen(a_hex, PAM_TOKEN_HASH_HEX_SIZE) == TOKEN_HASH_HEX_LEN);
    PB_ASSERT(strnlen(b_hex, PAM_TOKEN_HASH_HEX_SIZE) == TOKEN_HASH_HEX_LEN);
    return sodium_memcmp(a_hex, b_hex, TOKEN_HASH_HEX_LEN) == 0;
}
