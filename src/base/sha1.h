/* sha1.h: SHA-1 (FIPS 180-4). Used only where a protocol demands it (the WebSocket handshake's
 * Sec-WebSocket-Accept, RFC 6455 section 4.2.2); SHA-1 is broken for collision resistance, so
 * never use it for anything security-relevant. libsodium has no SHA-1, hence this file. */
#ifndef PB_SHA1_H
#define PB_SHA1_H

#include <stddef.h>

#define PB_SHA1_DIGEST_LEN 20

/* Hashes len bytes at data (data may be NULL when len is 0) into out. */
void pb_sha1(const void *data, size_t len, unsigned char out[PB_SHA1_DIGEST_LEN]);

#endif
