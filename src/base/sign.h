/* sign.h: HMAC-SHA256 request signatures over "<unix seconds>.<raw body>" with a shared
 * secret, the scheme of every signed call pitboss takes: KYC and PSP webhooks (header
 * "t=<seconds>,v1=<64 hex>") and game providers' wallet calls (timestamp and hex signature
 * in separate headers). Verification compares in constant time and checks the time window
 * only after the MAC, so timing tells an attacker nothing about the window. */
#ifndef PB_SIGN_H
#define PB_SIGN_H

#include <stddef.h>
#include <stdint.h>

#define PB_SIGN_MAC_BYTES 32
#define PB_SIGN_HEX (2 * PB_SIGN_MAC_BYTES)
#define PB_SIGN_TIMESTAMP_DIGITS_MAX 12 /* unix seconds until the year 33658 */
#define PB_SIGN_HEADER_MAX (sizeof("t=,v1=") + PB_SIGN_TIMESTAMP_DIGITS_MAX + PB_SIGN_HEX)

/* The signature of body at t_s as 64 lower-case hex characters and a NUL. */
void pb_sign_hex(const char *secret, int64_t t_s, const char *body, size_t len,
                 char out[PB_SIGN_HEX + 1]);
/* The header form "t=<t_s>,v1=<hex>" into out (outlen >= PB_SIGN_HEADER_MAX). */
void pb_sign_header(const char *secret, int64_t t_s, const char *body, size_t len, char *out,
                    size_t outlen);
/* Checks a timestamp (1..12 digits, nothing else) and a hex signature of body. Returns 0,
 * PB_ERR_INVALID (malformed or not the signature) or PB_ERR_TIMEOUT (a valid signature
 * more than window_s away from now_s). */
int pb_sign_verify(const char *secret, const char *timestamp, const char *signature_hex,
                   const char *body, size_t len, int64_t now_s, int64_t window_s);
/* The same for the header form "t=<digits>,v1=<64 hex>" exactly (NULL: PB_ERR_INVALID). */
int pb_sign_verify_header(const char *secret, const char *header, const char *body, size_t len,
                          int64_t now_s, int64_t window_s);

#endif
