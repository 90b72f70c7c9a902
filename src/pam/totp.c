/* totp.c: multi-factor authentication (auth.h): RFC 4648 base32, HMAC-SHA1 (RFC 2104) over
 * base/sha1.h, RFC 4226 HOTP, RFC 6238 TOTP with replay refusal, the otpauth:// Key URI that
 * authenticator apps scan, and single-use recovery codes. Parameters and reasoning:
 * docs/security.md. libsodium has no HMAC-SHA1, hence the small one here; SHA-1 is acceptable
 * in HMAC (its collision weakness does not carry over) and is what every authenticator uses. */
#include "pam/auth.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "base/base.h"
#include "base/sha1.h"

#define HMAC_BLOCK_LEN 64
#define HOTP_COUNTER_LEN 8
#define STEP_S_MAX 300u
#define TIME_S_MAX INT64_C(253402300799) /* 9999-12-31T23:59:59Z: keeps step arithmetic small */
#define RECOVERY_SYMBOLS 12
#define RECOVERY_SALT_LEN 16
#define RECOVERY_INPUT_MAX 64 /* bytes of typed input looked at; longer is refused */

const struct pam_totp_params pam_totp_default = {.digits = 6, .step_s = 30, .window_steps = 1};

static const char base32_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
/* Crockford's base32 symbols, lower case: no i, l, o, u to misread. */
static const char recovery_alphabet[] = "0123456789abcdefghjkmnpqrstvwxyz";

void pam_totp_secret_new(unsigned char secret[PAM_TOTP_SECRET_BYTES])
{
    PB_ASSERT(secret != NULL);
    randombytes_buf(secret, PAM_TOTP_SECRET_BYTES);
}

/* ---- base32 ---- */

void pam_base32_encode(const unsigned char *in, size_t len, char *out, size_t out_size)
{
    PB_ASSERT(in != NULL || len == 0);
    PB_ASSERT(out != NULL && out_size >= PAM_BASE32_LEN(len) + 1);
    uint32_t acc = 0;
    unsigned bits = 0;
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        acc = ((acc << 8) | in[i]) & 0xfffu;
        bits += 8;
        while (bits >= 5) {
            out[o++] = base32_alphabet[(acc >> (bits - 5)) & 31u];
            bits -= 5;
        }
    }
    if (bits > 0)
        out[o++] = base32_alphabet[(acc << (5 - bits)) & 31u];
    out[o] = '\0';
    PB_ASSERT(o == PAM_BASE32_LEN(len));
}

static int base32_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a';
    if (c >= '2' && c <= '7')
        return c - '2' + 26;
    return -1;
}

int pam_base32_decode(const char *in, size_t in_len, unsigned char *out, size_t out_size,
                      size_t *out_len)
{
    PB_ASSERT((in != NULL || in_len == 0) && out_len != NULL);
    size_t rem = in_len % 8;
    if (rem == 1 || rem == 3 || rem == 6)
        return PB_ERR_INVALID; /* no byte count encodes to these lengths */
    if (in_len / 8 * 5 + rem * 5 / 8 > out_size)
        return PB_ERR_TOO_LARGE;
    uint32_t acc = 0;
    unsigned bits = 0;
    size_t o = 0;
    for (size_t i = 0; i < in_len; i++) {
        int v = base32_value((unsigned char)in[i]);
        if (v < 0)
            return PB_ERR_INVALID;
        acc = ((acc << 5) | (uint32_t)v) & 0xfffu; /* at most 12 bits pending */
        bits += 5;
        if (bits >= 8) {
            out[o++] = (unsigned char)(acc >> (bits - 8));
            bits -= 8;
        }
    }
    if ((acc & ((1u << bits) - 1u)) != 0)
        return PB_ERR_INVALID; /* non-canonical: the unused trailing bits must be zero */
    *out_len = o;
    PB_ASSERT(o <= out_size);
    return PB_OK;
}

/* ---- HMAC-SHA1, HOTP, TOTP ---- */

/* RFC 2104 with a key of at most one block and a message of at most one block. */
static void hmac_sha1(const unsigned char *key, size_t key_len, const unsigned char *msg,
                      size_t msg_len, unsigned char out[PB_SHA1_DIGEST_LEN])
{
    PB_ASSERT(key_len <= HMAC_BLOCK_LEN && msg_len <= HMAC_BLOCK_LEN);
    unsigned char inner[HMAC_BLOCK_LEN * 2];
    unsigned char outer[HMAC_BLOCK_LEN + PB_SHA1_DIGEST_LEN];
    memset(inner, 0x36, HMAC_BLOCK_LEN);
    memset(outer, 0x5c, HMAC_BLOCK_LEN);
    for (size_t i = 0; i < key_len; i++) {
        inner[i] ^= key[i];
        outer[i] ^= key[i];
    }
    memcpy(inner + HMAC_BLOCK_LEN, msg, msg_len);
    pb_sha1(inner, HMAC_BLOCK_LEN + msg_len, outer + HMAC_BLOCK_LEN);
    pb_sha1(outer, sizeof(outer), out);
    sodium_memzero(inner, sizeof(inner));
    sodium_memzero(outer, sizeof(outer));
}

static bool secret_len_valid(size_t len)
{
    return len >= PAM_TOTP_SECRET_BYTES_MIN && len <= PAM_TOTP_SECRET_BYTES_MAX;
}

static bool params_valid(const struct pam_totp_params *p)
{
    return (p->digits == 6 || p->digits == 8) && p->step_s >= 1 && p->step_s <= STEP_S_MAX &&
           p->window_steps <= PAM_TOTP_WINDOW_MAX;
}

int pam_hotp_code(const unsigned char *secret, size_t secret_len, uint64_t counter,
                  unsigned digits, char out[PAM_TOTP_CODE_SIZE])
{
    PB_ASSERT(secret != NULL && out != NULL);
    if (!secret_len_valid(secret_len) || (digits != 6 && digits != 8))
        return PB_ERR_INVALID;
    unsigned char msg[HOTP_COUNTER_LEN];
    for (int i = HOTP_COUNTER_LEN - 1; i >= 0; i--) {
        msg[i] = (unsigned char)(counter & 0xffu);
        counter >>= 8;
    }
    unsigned char mac[PB_SHA1_DIGEST_LEN];
    hmac_sha1(secret, secret_len, msg, sizeof(msg), mac);
    /* RFC 4226 section 5.3: dynamic truncation. */
    unsigned offset = mac[PB_SHA1_DIGEST_LEN - 1] & 0x0fu;
    uint32_t bin = ((uint32_t)(mac[offset] & 0x7fu) << 24) | ((uint32_t)mac[offset + 1] << 16) |
                   ((uint32_t)mac[offset + 2] << 8) | (uint32_t)mac[offset + 3];
    uint32_t modulus = digits == 6 ? 1000000u : 100000000u;
    int n = snprintf(out, PAM_TOTP_CODE_SIZE, "%0*u", (int)digits, (unsigned)(bin % modulus));
    PB_ASSERT(n == (int)digits);
    sodium_memzero(mac, sizeof(mac));
    return PB_OK;
}

int64_t pam_totp_step(int64_t time_s, const struct pam_totp_params *params)
{
    const struct pam_totp_params *p = params != NULL ? params : &pam_totp_default;
    PB_ASSERT(p->step_s >= 1);
    if (time_s < 0)
        return -1;
    return time_s / (int64_t)p->step_s;
}

int pam_totp_code(const unsigned char *secret, size_t secret_len, int64_t time_s,
                  const struct pam_totp_params *params, char out[PAM_TOTP_CODE_SIZE])
{
    const struct pam_totp_params *p = params != NULL ? params : &pam_totp_default;
    if (!params_valid(p) || time_s < 0 || time_s > TIME_S_MAX)
        return PB_ERR_INVALID;
    return pam_hotp_code(secret, secret_len, (uint64_t)pam_totp_step(time_s, p), p->digits, out);
}

static bool code_well_formed(const char *code, unsigned digits)
{
    if (strnlen(code, PAM_TOTP_CODE_SIZE) != digits)
        return false;
    for (unsigned i = 0; i < digits; i++) {
        if (code[i] < '0' || code[i] > '9')
            return false;
    }
    return true;
}

int pam_totp_verify(const unsigned char *secret, size_t secret_len, const char *code,
                    int64_t now_s, int64_t last_used_step, const struct pam_totp_params *params,
                    int64_t *matched_step)
{
    PB_ASSERT(secret != NULL && code != NULL && matched_step != NULL);
    PB_ASSERT(last_used_step >= PAM_TOTP_STEP_NONE);
    const struct pam_totp_params *p = params != NULL ? params : &pam_totp_default;
    if (!params_valid(p) || !secret_len_valid(secret_len) || now_s < 0 || now_s > TIME_S_MAX)
        return PB_ERR_INVALID;
    if (!code_well_formed(code, p->digits))
        return PB_ERR_INVALID;
    int64_t now_step = pam_totp_step(now_s, p);
    int64_t best = -1;
    bool replay = false;
    char candidate[PAM_TOTP_CODE_SIZE];
    /* Every step of the window is computed and compared, whatever matches. */
    for (int64_t s = now_step - p->window_steps; s <= now_step + p->window_steps; s++) {
        if (s < 0)
            continue;
        int rc = pam_hotp_code(secret, secret_len, (uint64_t)s, p->digits, candidate);
        PB_ASSERT(rc == PB_OK);
        bool equal = sodium_memcmp(candidate, code, p->digits) == 0;
        if (equal && s > last_used_step)
            best = s; /* ascending loop: the latest matching step wins */
        else if (equal)
            replay = true;
    }
    sodium_memzero(candidate, sizeof(candidate));
    if (best >= 0) {
        PB_ASSERT(best > last_used_step && best <= now_step + p->window_steps);
        *matched_step = best;
        return PB_OK;
    }
    return replay ? PB_ERR_CONFLICT : PB_ERR_INVALID;
}

/* ---- otpauth:// URI ---- */

static bool label_part_valid(const char *s, size_t max)
{
    size_t len = strnlen(s, max + 1);
    if (len == 0 || len > max)
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == ':' || c < 0x20 || c == 0x7f)
            return false;
    }
    return true;
}

/* Appends s with every byte outside RFC 3986's unreserved set as %XX. */
static void percent_encode(struct pb_buf *out, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *c = (const unsigned char *)s; *c != '\0'; c++) {
        bool unreserved = (*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') ||
                          (*c >= '0' && *c <= '9') || *c == '-' || *c == '.' || *c == '_' ||
                          *c == '~';
        if (unreserved) {
            pb_buf_putc(out, (char)*c);
        } else {
            pb_buf_putc(out, '%');
            pb_buf_putc(out, hex[*c >> 4]);
            pb_buf_putc(out, hex[*c & 15u]);
        }
    }
}

int pam_totp_uri(const char *issuer, const char *account, const char *secret_b32,
                 const struct pam_totp_params *params, struct pb_buf *out)
{
    PB_ASSERT(issuer != NULL && account != NULL && secret_b32 != NULL && out != NULL);
    const struct pam_totp_params *p = params != NULL ? params : &pam_totp_default;
    if (!params_valid(p) || !label_part_valid(issuer, PAM_TOTP_ISSUER_MAX) ||
        !label_part_valid(account, PAM_TOTP_ACCOUNT_MAX))
        return PB_ERR_INVALID;
    unsigned char secret[PAM_TOTP_SECRET_BYTES_MAX];
    size_t secret_len = 0;
    size_t b32_len = strnlen(secret_b32, PAM_TOTP_SECRET_B32_SIZE);
    int rc = pam_base32_decode(secret_b32, b32_len, secret, sizeof(secret), &secret_len);
    if (rc != PB_OK || !secret_len_valid(secret_len)) {
        sodium_memzero(secret, sizeof(secret));
        return PB_ERR_INVALID;
    }
    char canonical[PAM_TOTP_SECRET_B32_SIZE];
    pam_base32_encode(secret, secret_len, canonical, sizeof(canonical));
    pb_buf_puts(out, "otpauth://totp/");
    percent_encode(out, issuer);
    pb_buf_putc(out, ':');
    percent_encode(out, account);
    pb_buf_printf(out, "?secret=%s&issuer=", canonical);
    percent_encode(out, issuer);
    pb_buf_printf(out, "&algorithm=SHA1&digits=%u&period=%u", p->digits, p->step_s);
    sodium_memzero(secret, sizeof(secret));
    sodium_memzero(canonical, sizeof(canonical));
    return PB_OK;
}

/* ---- recovery codes ---- */

/* Stored form of one code: hex(salt) then hex(SHA-256(salt || code)). */
static void recovery_digest_hex(const unsigned char salt[RECOVERY_SALT_LEN], const char *code,
                                char out[2 * crypto_hash_sha256_BYTES + 1])
{
    unsigned char buf[RECOVERY_SALT_LEN + PAM_RECOVERY_CODE_SIZE];
    size_t code_len = strlen(code);
    PB_ASSERT(code_len == PAM_RECOVERY_CODE_SIZE - 1);
    memcpy(buf, salt, RECOVERY_SALT_LEN);
    memcpy(buf + RECOVERY_SALT_LEN, code, code_len);
    unsigned char digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(digest, buf, RECOVERY_SALT_LEN + code_len);
    sodium_bin2hex(out, 2 * crypto_hash_sha256_BYTES + 1, digest, sizeof(digest));
    sodium_memzero(buf, sizeof(buf));
}

void pam_recovery_codes_generate(size_t n, char codes_out[][PAM_RECOVERY_CODE_SIZE],
                                 char hashes_out[][PAM_RECOVERY_HASH_SIZE])
{
    PB_ASSERT(n >= 1 && n <= PAM_RECOVERY_CODES_MAX);
    PB_ASSERT(codes_out != NULL && hashes_out != NULL);
    for (size_t i = 0; i < n; i++) {
        unsigned char raw[RECOVERY_SYMBOLS];
        randombytes_buf(raw, sizeof(raw)); /* & 31 is unbiased: 32 divides 256 */
        char *code = codes_out[i];
        size_t o = 0;
        for (size_t k = 0; k < RECOVERY_SYMBOLS; k++) {
            if (k > 0 && k % 4 == 0)
                code[o++] = '-';
            code[o++] = recovery_alphabet[raw[k] & 31u];
        }
        code[o] = '\0';
        PB_ASSERT(o == PAM_RECOVERY_CODE_SIZE - 1);
        unsigned char salt[RECOVERY_SALT_LEN];
        randombytes_buf(salt, sizeof(salt));
        sodium_bin2hex(hashes_out[i], 2 * RECOVERY_SALT_LEN + 1, salt, sizeof(salt));
        recovery_digest_hex(salt, code, hashes_out[i] + 2 * RECOVERY_SALT_LEN);
        PB_ASSERT(strlen(hashes_out[i]) == PAM_RECOVERY_HASH_SIZE - 1);
        sodium_memzero(raw, sizeof(raw));
    }
}

/* Maps typed input to the canonical "xxxx-xxxx-xxxx"; false if it cannot be one. */
static bool recovery_canonical(const char *input, char out[PAM_RECOVERY_CODE_SIZE])
{
    size_t len = strnlen(input, RECOVERY_INPUT_MAX + 1);
    if (len > RECOVERY_INPUT_MAX)
        return false;
    size_t symbols = 0, o = 0;
    for (size_t i = 0; i < len; i++) {
        char c = input[i];
        if (c == '-' || c == ' ')
            continue;
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (c == 'o')
            c = '0';
        else if (c == 'i' || c == 'l')
            c = '1';
        if (c == '\0' || strchr(recovery_alphabet, c) == NULL || symbols == RECOVERY_SYMBOLS)
            return false;
        if (symbols > 0 && symbols % 4 == 0)
            out[o++] = '-';
        out[o++] = c;
        symbols++;
    }
    out[o] = '\0';
    return symbols == RECOVERY_SYMBOLS;
}

int pam_recovery_code_verify(const char *input, const char *const hashes[], size_t n,
                             size_t *index)
{
    PB_ASSERT(input != NULL && (hashes != NULL || n == 0) && index != NULL);
    PB_ASSERT(n <= PAM_RECOVERY_CODES_MAX);
    char code[PAM_RECOVERY_CODE_SIZE];
    if (!recovery_canonical(input, code))
        return PB_ERR_INVALID;
    bool found = false;
    size_t match = 0;
    for (size_t i = 0; i < n; i++) {
        const char *stored = hashes[i];
        unsigned char salt[RECOVERY_SALT_LEN];
        if (stored == NULL ||
            strnlen(stored, PAM_RECOVERY_HASH_SIZE) != PAM_RECOVERY_HASH_SIZE - 1)
            continue;
        if (sodium_hex2bin(salt, sizeof(salt), stored, 2 * RECOVERY_SALT_LEN, NULL, NULL, NULL) !=
            0)
            continue;
        char digest_hex[2 * crypto_hash_sha256_BYTES + 1];
        recovery_digest_hex(salt, code, digest_hex);
        bool equal = sodium_memcmp(digest_hex, stored + 2 * RECOVERY_SALT_LEN,
                                   2 * crypto_hash_sha256_BYTES) == 0;
        if (equal && !found) {
            found = true;
            match = i;
        }
    }
    sodium_memzero(code, sizeof(code));
    if (!found)
        return PB_ERR_INVALID;
    *index = match;
    return PB_OK;
}
