/* auth.h: the security primitives of player-account management: password hashing (argon2id),
 * TOTP multi-factor codes (RFC 6238), recovery codes, opaque session tokens, and the validators
 * for what a player types at registration (e-mail, password strength, date of birth, country).
 * DESIGN.md section 5 (authentication); parameters and reasoning in docs/security.md.
 *
 * These functions hold no state and touch no database: the HTTP routes and tables of the pam
 * module are built on them. Thread-safe. sodium_init() must have succeeded before any call
 * (main does it at start-up; tests do it in main).
 *
 * Errors follow STYLE.md section 6: 0 on success, a negative enum pb_err otherwise. Validators
 * also hand back a stable reason code (a static string such as "email_invalid" or
 * "password_common") through a `const char **reason` out-parameter, so the API can name the
 * field and the rule; reason may be NULL when the caller does not want it, and is set to NULL
 * on success. Every string argument is borrowed; every output buffer is caller-owned. */
#ifndef PB_PAM_AUTH_H
#define PB_PAM_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"

/* ---- passwords (password.c) ---- */

/* argon2id cost, chosen so one hash takes ~70 ms on the reference machine (docs/security.md).
 * Each concurrent hash holds PAM_PASSWORD_MEMLIMIT_BYTES of memory. */
#define PAM_PASSWORD_OPSLIMIT 2u                          /* argon2 t (passes) */
#define PAM_PASSWORD_MEMLIMIT_BYTES (64u * 1024u * 1024u) /* argon2 m = 65536 KiB */
#define PAM_PASSWORD_HASH_SIZE 128 /* == crypto_pwhash_STRBYTES, NUL included */
#define PAM_PASSWORD_BYTES_MIN 10  /* shortest password pam_password_strength accepts */
#define PAM_PASSWORD_BYTES_MAX 128 /* longest one; verify refuses longer input unhashed */

/* Hashes the NUL-terminated password with argon2id at the parameters above and a fresh random
 * salt, writing the PHC string "$argon2id$v=19$m=65536,t=2,p=1$<salt>$<hash>" into out.
 * Returns 0; PB_ERR_TOO_LARGE if the password is longer than PAM_PASSWORD_BYTES_MAX. Aborts
 * when the memory for the hash cannot be had (as pb_malloc does). Callers check the policy
 * with pam_password_strength first. */
int pam_password_hash(const char *password, char out[PAM_PASSWORD_HASH_SIZE]);

/* Returns 0 when password matches the stored PHC string hash, PB_ERR_INVALID when it does not,
 * when hash is malformed, or when the password is longer than PAM_PASSWORD_BYTES_MAX. The
 * comparison is constant-time (libsodium); the time is dominated by argon2 itself. */
int pam_password_verify(const char *hash, const char *password);

/* For logins naming an unknown account: runs a full verification of password against a fixed
 * hash made at the current parameters and returns PB_ERR_INVALID, so the response takes as
 * long as a wrong password for a real account and does not reveal whether the account exists. */
int pam_password_verify_dummy(const char *password);

/* Sets *needs to true when hash was made with parameters other than the current ones (or with
 * another algorithm), so the caller rehashes the password after a successful login. Returns
 * 0, or PB_ERR_INVALID when hash is not a PHC string libsodium understands. */
int pam_password_needs_rehash(const char *hash, bool *needs);

/* ---- TOTP, RFC 6238 over RFC 4226 HOTP with HMAC-SHA1 (totp.c) ---- */

#define PAM_TOTP_SECRET_BYTES 20       /* generated secrets: 160 bits, RFC 4226 section 4 */
#define PAM_TOTP_SECRET_BYTES_MIN 16   /* RFC 4226: at least 128 bits */
#define PAM_TOTP_SECRET_BYTES_MAX 64   /* one HMAC-SHA1 block; longer keys are not accepted */
#define PAM_TOTP_SECRET_B32_SIZE 104   /* base32 of the longest secret (103 chars) + NUL */
#define PAM_TOTP_CODE_SIZE 9           /* 8 digits + NUL */
#define PAM_TOTP_ISSUER_MAX 64         /* bytes; keeps the otpauth URI's QR code small */
#define PAM_TOTP_ACCOUNT_MAX 254       /* bytes; an e-mail address at most */
#define PAM_TOTP_WINDOW_MAX 10         /* steps of tolerance either side, at most */
#define PAM_TOTP_STEP_NONE INT64_C(-1) /* last_used_step of a secret never used */

/* Base32 length without padding for n bytes. */
#define PAM_BASE32_LEN(n) (((n)*8 + 4) / 5)

struct pam_totp_params {
    unsigned digits;       /* 6 or 8 */
    unsigned step_s;       /* time step in seconds, 1..300 */
    unsigned window_steps; /* steps accepted either side of the current one, 0..WINDOW_MAX */
};

/* 6 digits, 30 s step, one step of tolerance either side: what every authenticator app does. */
extern const struct pam_totp_params pam_totp_default;

/* Fills secret with PAM_TOTP_SECRET_BYTES bytes from the CSPRNG. */
void pam_totp_secret_new(unsigned char secret[PAM_TOTP_SECRET_BYTES]);

/* RFC 4648 base32 without padding, upper case. out needs PAM_BASE32_LEN(len) + 1 bytes
 * (out_size is asserted). */
void pam_base32_encode(const unsigned char *in, size_t len, char *out, size_t out_size);

/* Decodes base32 text (either case, no padding, no separators) into out (out_size bytes),
 * setting *out_len. Returns 0; PB_ERR_INVALID for a character outside the alphabet, an
 * impossible length or non-zero trailing bits; PB_ERR_TOO_LARGE when out is too small. */
int pam_base32_decode(const char *in, size_t in_len, unsigned char *out, size_t out_size,
                      size_t *out_len);

/* RFC 4226 HOTP value of counter with digits (6 or 8) digits, zero-padded, into out. secret_len
 * is PAM_TOTP_SECRET_BYTES_MIN..MAX. Returns 0, or PB_ERR_INVALID for a bad length or digits. */
int pam_hotp_code(const unsigned char *secret, size_t secret_len, uint64_t counter,
                  unsigned digits, char out[PAM_TOTP_CODE_SIZE]);

/* RFC 6238 TOTP value at time_s (Unix seconds, 0 up to the end of year 9999) under params
 * (NULL: pam_totp_default). Returns 0, or PB_ERR_INVALID for a bad secret length, parameters
 * or time. */
int pam_totp_code(const unsigned char *secret, size_t secret_len, int64_t time_s,
                  const struct pam_totp_params *params, char out[PAM_TOTP_CODE_SIZE]);

/* The time step (counter) that time_s falls in under params (NULL: defaults); -1 if time_s is
 * negative. */
int64_t pam_totp_step(int64_t time_s, const struct pam_totp_params *params);

/* Checks a code typed by the user against the steps now-window..now+window, refusing every
 * step <= last_used_step (PAM_TOTP_STEP_NONE for a secret never used), so no code is accepted
 * twice. On success returns 0 and sets *matched_step, which the caller must store as the new
 * last_used_step in the same transaction that accepts the login. now_s is Unix seconds, in
 * the range pam_totp_code accepts. When the code matches more than one step, the latest is
 * taken. Code comparisons are constant-time.
 * Returns PB_ERR_INVALID for a wrong or malformed code, PB_ERR_CONFLICT when the code is right
 * but only for steps already used (a replay: log it), and PB_ERR_INVALID for a bad secret or
 * parameters. */
int pam_totp_verify(const unsigned char *secret, size_t secret_len, const char *code,
                    int64_t now_s, int64_t last_used_step, const struct pam_totp_params *params,
                    int64_t *matched_step);

/* Appends to out the Key URI an authenticator app scans:
 *   otpauth://totp/ISSUER:ACCOUNT?secret=B32&issuer=ISSUER&algorithm=SHA1&digits=6&period=30
 * with issuer and account percent-encoded (RFC 3986: all but unreserved characters).
 * Returns 0; PB_ERR_INVALID when issuer or account is empty, too long or holds a ':' or a
 * control character, or when secret_b32 is not base32 of a valid secret. Nothing is appended
 * on error. */
int pam_totp_uri(const char *issuer, const char *account, const char *secret_b32,
                 const struct pam_totp_params *params, struct pb_buf *out);

/* ---- recovery codes (totp.c) ---- */

#define PAM_RECOVERY_CODES_COUNT 10 /* codes handed out at MFA enrolment */
#define PAM_RECOVERY_CODES_MAX 32
#define PAM_RECOVERY_CODE_SIZE 15 /* "xxxx-xxxx-xxxx" + NUL: 12 symbols, 60 bits */
#define PAM_RECOVERY_HASH_SIZE 97 /* 32 hex salt + 64 hex SHA-256 + NUL */

/* Generates n (1..PAM_RECOVERY_CODES_MAX) recovery codes "xxxx-xxxx-xxxx" over the alphabet
 * 0-9 a-z without i, l, o, u (shown once to the user), and for each the string to store:
 * hex(salt) followed by hex(SHA-256(salt || code)), with a fresh 16-byte salt per code. */
void pam_recovery_codes_generate(size_t n, char codes_out[][PAM_RECOVERY_CODE_SIZE],
                                 char hashes_out[][PAM_RECOVERY_HASH_SIZE]);

/* Checks input (case-insensitive; dashes and spaces ignored; o read as 0, i and l as 1)
 * against the n stored hashes (NULL entries are skipped: used codes). Every stored hash is
 * computed and compared in constant time, whatever matches. Returns 0 and sets *index to the
 * matching entry, which the caller must then delete or mark used; PB_ERR_INVALID otherwise. */
int pam_recovery_code_verify(const char *input, const char *const hashes[], size_t n,
                             size_t *index);

/* ---- session tokens (token.c) ---- */

#define PAM_TOKEN_BYTES 32         /* 256 bits from the CSPRNG */
#define PAM_TOKEN_TEXT_SIZE 44     /* URL-safe base64 without padding: 43 chars + NUL */
#define PAM_TOKEN_HASH_HEX_SIZE 65 /* hex SHA-256 + NUL */

/* Makes a new session token: token_out is the opaque text given to the client (and never
 * stored); hash_hex_out is hex(SHA-256(token text)), the only form the server stores. */
void pam_token_new(char token_out[PAM_TOKEN_TEXT_SIZE],
                   char hash_hex_out[PAM_TOKEN_HASH_HEX_SIZE]);

/* Hashes a token presented by a client, for lookup. Returns 0, or PB_ERR_INVALID (nothing
 * hashed) unless token is exactly 43 characters of the URL-safe base64 alphabet encoding 32
 * bytes canonically. */
int pam_token_hash(const char *token, char hash_hex_out[PAM_TOKEN_HASH_HEX_SIZE]);

/* Constant-time equality of two token hashes (64 hex characters each, asserted). */
bool pam_token_hash_equal(const char *a_hex, const char *b_hex);

/* ---- validation of what players type (validate.c) ---- */

#define PAM_EMAIL_MAX 254 /* RFC 5321 path limit minus the angle brackets */
#define PAM_EMAIL_SIZE (PAM_EMAIL_MAX + 1)
#define PAM_EMAIL_LOCAL_MAX 64        /* RFC 5321 section 4.5.3.1.1 */
#define PAM_EMAIL_LABEL_MAX 63        /* RFC 1035 section 2.3.4 */
#define PAM_PASSWORD_ONE_CLASS_MIN 16 /* shorter passwords need two character classes */
#define PAM_DATE_TEXT_LEN 10          /* "YYYY-MM-DD" */

/* Trims ASCII white space around in (in_len bytes, need not be NUL-terminated), lower-cases
 * it and checks that it is a plausible addr-spec: one '@'; a local part of 1..64 characters of
 * a-z 0-9 . _ + - ' with no leading, trailing or doubled dot; a domain of at least two labels,
 * each 1..63 of a-z 0-9 -, not starting or ending with '-', the last not all digits; at most
 * 254 bytes in all. On success writes the normalized address to out and returns 0; normalizing
 * it again gives the same text. Otherwise returns PB_ERR_INVALID with reason "email_required",
 * "email_too_long", "email_invalid" (not one '@'), "email_local_part_invalid" or
 * "email_domain_invalid". */
int pam_email_normalize(const char *in, size_t in_len, char out[PAM_EMAIL_SIZE],
                        const char **reason);

/* Checks a new password (len bytes) against the policy in docs/security.md. email (may be
 * NULL) is the account's address, whose local part the password may not contain. Returns 0,
 * or PB_ERR_INVALID with reason "password_too_short", "password_too_long",
 * "password_invalid_utf8", "password_control_characters", "password_contains_email",
 * "password_single_class", "password_repetitive" or "password_common". */
int pam_password_strength(const char *password, size_t len, const char *email,
                          const char **reason);

/* Sets *years to the age in whole years on today of someone born on date_of_birth, both
 * strictly "YYYY-MM-DD" (years 0001..9999, real calendar dates, leap years included). Someone
 * born on 29 February has a birthday on 1 March in common years, so an age limit is never
 * passed early. Returns 0, or PB_ERR_INVALID with reason "date_invalid" or
 * "date_of_birth_in_future". today is the server's date and must be valid (asserted). */
int pam_age_years(const char *date_of_birth, const char *today, int *years, const char **reason);

/* Returns 0 when code has the ISO 3166-1 alpha-2 form (exactly two upper-case ASCII letters),
 * PB_ERR_INVALID with reason "country_invalid" otherwise. Whether the code is assigned, and
 * allowed, is the jurisdiction configuration's business. */
int pam_country_valid(const char *code, const char **reason);

#endif
