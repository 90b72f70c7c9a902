/* sha256.h: SHA-256 for the hot paths (the ledger's hash chain),
 * through OpenSSL's libcrypto, which uses the CPU's SHA extensions where present: several
 * times faster than libsodium's portable code, which stays in use everywhere else. Same
 * digests, so stored hashes do not change. Any thread; each thread keeps one context. */
#ifndef PB_SHA256_H
#define PB_SHA256_H

#include <stddef.h>

#define PB_SHA256_DIGEST_LEN 32
#define PB_SHA256_HEX_LEN 64

struct pb_sha256_part {
    const void *data;
    size_t len;
};

/* Hashes the concatenation of n parts into out. */
void pb_sha256_parts(const struct pb_sha256_part *parts, size_t n,
                     unsigned char out[PB_SHA256_DIGEST_LEN]);
/* Hashes len bytes at data into hex (lower case, NUL-terminated). */
void pb_sha256_hex(const void *data, size_t len, char hex[PB_SHA256_HEX_LEN + 1]);
/* Lower-case hex of a digest (hex gets PB_SHA256_HEX_LEN + 1 bytes). */
void pb_sha256_to_hex(const unsigned char digest[PB_SHA256_DIGEST_LEN],
                      char hex[PB_SHA256_HEX_LEN + 1]);

#endif
