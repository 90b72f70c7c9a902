/* password.c: argon2id password hashing through libsodium (auth.h). The parameters, their
 * measured cost and the reasoning are in docs/security.md; the stored form is the standard PHC
 * string, which the reference argon2 tool reproduces (tests/unit/test_pam_auth.c). */
#include "pam/auth.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "base/base.h"

_Static_assert(PAM_PASSWORD_HASH_SIZE == crypto_pwhash_STRBYTES, "PHC buffer size");
_Static_assert(PAM_PASSWORD_MEMLIMIT_BYTES % 1024 == 0, "argon2 memory is counted in KiB");

/* A PHC string at the current parameters whose salt and digest are random bytes that no
 * known password hashes to: verifying against it costs exactly what a real verification
 * costs, and always fails. Built from the parameter macros so it follows them. */
#define DUMMY_SALT_B64 "FE0Ul0JaDNeujYRNasCfkw"
#define DUMMY_DIGEST_B64 "rX9FAaiIed8LkPUikBpq75EdXbkoL+Qfcu3K73AqCz8"

static bool password_too_long(const char *password)
{
    return strnlen(password, PAM_PASSWORD_BYTES_MAX + 1) > PAM_PASSWORD_BYTES_MAX;
}

int pam_password_hash(const char *password, char out[PAM_PASSWORD_HASH_SIZE])
{
    PB_ASSERT(password != NULL && out != NULL);
    if (password_too_long(password))
        return PB_ERR_TOO_LARGE;
    if (crypto_pwhash_str_alg(out, password, strlen(password), PAM_PASSWORD_OPSLIMIT,
                              PAM_PASSWORD_MEMLIMIT_BYTES, crypto_pwhash_ALG_ARGON2ID13) != 0) {
        /* The only failure with valid parameters is running out of memory. */
        pb_assert_fail("crypto_pwhash_str_alg: out of memory", __FILE__, __LINE__);
    }
    PB_ASSERT(strncmp(out, "$argon2id$v=19$", 15) == 0);
    return PB_OK;
}

int pam_password_verify(const char *hash, const char *password)
{
    PB_ASSERT(hash != NULL && password != NULL);
    if (password_too_long(password))
        return PB_ERR_INVALID;
    if (crypto_pwhash_str_verify(hash, password, strlen(password)) != 0)
        return PB_ERR_INVALID;
    return PB_OK;
}

int pam_password_verify_dummy(const char *password)
{
    PB_ASSERT(password != NULL);
    char dummy[PAM_PASSWORD_HASH_SIZE];
    int n = snprintf(dummy, sizeof(dummy), "$argon2id$v=19$m=%u,t=%u,p=1$%s$%s",
                     PAM_PASSWORD_MEMLIMIT_BYTES / 1024u, PAM_PASSWORD_OPSLIMIT, DUMMY_SALT_B64,
                     DUMMY_DIGEST_B64);
    PB_ASSERT(n > 0 && (size_t)n < sizeof(dummy));
    /* Over-long passwords are refused unhashed by pam_password_verify too; same timing. */
    if (!password_too_long(password)) {
        int rc = crypto_pwhash_str_verify(dummy, password, strlen(password));
        PB_ASSERT(rc != 0); /* nobody knows a password for the dummy digest */
    }
    return PB_ERR_INVALID;
}

int pam_password_needs_rehash(const char *hash, bool *needs)
{
    PB_ASSERT(hash != NULL && needs != NULL);
    *needs = false;
    if (strncmp(hash, "$argon2i$", 9) == 0) {
        /* Legacy argon2i: still verifiable by libsodium, always rehashed as argon2id. */
        if (crypto_pwhash_argon2i_str_needs_rehash(hash, PAM_PASSWORD_OPSLIMIT,
                                                   PAM_PASSWORD_MEMLIMIT_BYTES) < 0)
            return PB_ERR_INVALID;
        *needs = true;
        return PB_OK;
    }
    int rc = crypto_pwhash_argon2id_str_needs_rehash(hash, PAM_PASSWORD_OPSLIMIT,
                                                     PAM_PASSWORD_MEMLIMIT_BYTES);
    if (rc < 0)
        return PB_ERR_INVALID;
    *needs = rc == 1;
    return PB_OK;
}
