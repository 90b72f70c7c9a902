/* test_pam_auth.c: the pam security primitives (src/pam/auth.h): argon2id hashes checked
 * against the reference argon2 tool, TOTP against the RFC 4226 / RFC 6238 vectors and oathtool,
 * replay refusal and window edges, recovery codes, session tokens, and the validators. The
 * external tools come from the Debian packages argon2 and oathtool (scripts/install-deps.sh);
 * a test that needs one is skipped, with a message, only when it is not installed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "base/base.h"
#include "base/buf.h"
#include "pam/auth.h"

/* ---- helpers ---- */

static bool tool_installed(const char *name)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "command -v %s >/dev/null 2>&1", name);
    return system(cmd) == 0;
}

#define SKIP_WITHOUT(tool, package)                                                               \
    do {                                                                                          \
        if (!tool_installed(tool)) {                                                              \
            print_message("SKIPPED: '%s' is not installed (Debian package %s)\n", tool, package); \
            skip();                                                                               \
        }                                                                                         \
    } while (0)

/* Runs argv (no shell: arguments may hold any byte but NUL) with input on its stdin; returns
 * its exit status and its stdout, trailing newline removed, in out. */
static int run_tool(char *const argv[], const char *input, char *out, size_t out_size)
{
    int in_pipe[2], out_pipe[2];
    assert_int_equal(pipe(in_pipe), 0);
    assert_int_equal(pipe(out_pipe), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(in_pipe[0], 0);
        dup2(out_pipe[1], 1);
        close(in_pipe[1]);
        close(out_pipe[0]);
        execvp(argv[0], argv);
        _exit(127);
    }
    close(in_pipe[0]);
    close(out_pipe[1]);
    size_t input_len = strlen(input);
    assert_int_equal(write(in_pipe[1], input, input_len), (ssize_t)input_len);
    close(in_pipe[1]);
    size_t len = 0;
    ssize_t n;
    while (len + 1 < out_size && (n = read(out_pipe[0], out + len, out_size - 1 - len)) > 0)
        len += (size_t)n;
    out[len] = '\0';
    close(out_pipe[0]);
    while (len > 0 && out[len - 1] == '\n')
        out[--len] = '\0';
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* "$argon2id$v=19$m=65536,t=2,p=1$" for the current parameters, and the matching argon2 tool
 * arguments -t and -k (memory in KiB). */
static char phc_prefix[64], tool_t[16], tool_k[16];

static void password_parameters_init(void)
{
    snprintf(phc_prefix, sizeof(phc_prefix), "$argon2id$v=19$m=%u,t=%u,p=1$",
             PAM_PASSWORD_MEMLIMIT_BYTES / 1024u, PAM_PASSWORD_OPSLIMIT);
    snprintf(tool_t, sizeof(tool_t), "%u", PAM_PASSWORD_OPSLIMIT);
    snprintf(tool_k, sizeof(tool_k), "%u", PAM_PASSWORD_MEMLIMIT_BYTES / 1024u);
}

static double ms_since(uint64_t start_ns)
{
    return (double)(pb_mono_ns() - start_ns) / 1e6;
}

/* ---- passwords ---- */

static void test_password_hash_is_phc_argon2id_and_verifies(void **state)
{
    (void)state;
    char hash[PAM_PASSWORD_HASH_SIZE];
    uint64_t t0 = pb_mono_ns();
    assert_int_equal(pam_password_hash("correct horse battery", hash), PB_OK);
    double hash_ms = ms_since(t0);
    assert_memory_equal(hash, phc_prefix, strlen(phc_prefix));
    t0 = pb_mono_ns();
    assert_int_equal(pam_password_verify(hash, "correct horse battery"), PB_OK);
    double verify_ms = ms_since(t0);
    print_message("argon2id %s: hash %.1f ms, verify %.1f ms\n", phc_prefix, hash_ms, verify_ms);
    assert_int_equal(pam_password_verify(hash, "correct horse batterY"), PB_ERR_INVALID);
    assert_int_equal(pam_password_verify(hash, ""), PB_ERR_INVALID);
    bool needs = true;
    assert_int_equal(pam_password_needs_rehash(hash, &needs), PB_OK);
    assert_false(needs);
    char again[PAM_PASSWORD_HASH_SIZE];
    assert_int_equal(pam_password_hash("correct horse battery", again), PB_OK);
    assert_string_not_equal(hash, again); /* fresh salt each time */
}

static void test_password_hash_matches_argon2_reference_tool(void **state)
{
    (void)state;
    SKIP_WITHOUT("argon2", "argon2");
    const char *password = "S3cret pässword";
    char hash[PAM_PASSWORD_HASH_SIZE];
    unsigned char salt[17];
    size_t salt_len = 0;
    /* The tool takes the salt as an argument, so it cannot hold a NUL byte: draw again. */
    for (int tries = 0; tries < 50; tries++) {
        assert_int_equal(pam_password_hash(password, hash), PB_OK);
        const char *salt_b64 = hash + strlen(phc_prefix);
        const char *end = strchr(salt_b64, '$');
        assert_non_null(end);
        assert_int_equal(sodium_base642bin(salt, 16, salt_b64, (size_t)(end - salt_b64), NULL,
                                           &salt_len, NULL,
                                           sodium_base64_VARIANT_ORIGINAL_NO_PADDING),
                         0);
        if (memchr(salt, 0, salt_len) == NULL)
            break;
    }
    assert_int_equal(salt_len, 16);
    salt[16] = '\0';
    char *argv[] = {"argon2", (char *)salt, "-id", "-t", tool_t, "-k",
                    tool_k,   "-p",         "1",   "-e", NULL};
    char out[256];
    assert_int_equal(run_tool(argv, password, out, sizeof(out)), 0);
    assert_string_equal(out, hash);
}

static void test_password_verify_accepts_argon2_tool_hash(void **state)
{
    (void)state;
    SKIP_WITHOUT("argon2", "argon2");
    char *argv[] = {
        "argon2", "pitboss-salt-16b", "-id", "-t", tool_t, "-k", tool_k, "-p", "1", "-e", NULL};
    char out[256];
    assert_int_equal(run_tool(argv, "tool made this one", out, sizeof(out)), 0);
    assert_int_equal(pam_password_verify(out, "tool made this one"), PB_OK);
    assert_int_equal(pam_password_verify(out, "tool made this onE"), PB_ERR_INVALID);
}

static void test_password_verify_refuses_malformed_hash_and_long_password(void **state)
{
    (void)state;
    assert_int_equal(pam_password_verify("", "whatever1234"), PB_ERR_INVALID);
    assert_int_equal(pam_password_verify("$argon2id$v=19$m=65536", "whatever1234"),
                     PB_ERR_INVALID);
    assert_int_equal(pam_password_verify("plaintext", "plaintext"), PB_ERR_INVALID);
    char long_pw[PAM_PASSWORD_BYTES_MAX + 2];
    memset(long_pw, 'x', sizeof(long_pw) - 1);
    long_pw[sizeof(long_pw) - 1] = '\0';
    char hash[PAM_PASSWORD_HASH_SIZE];
    assert_int_equal(pam_password_hash(long_pw, hash), PB_ERR_TOO_LARGE);
    long_pw[PAM_PASSWORD_BYTES_MAX] = '\0'; /* exactly the maximum is fine */
    assert_int_equal(pam_password_hash(long_pw, hash), PB_OK);
    assert_int_equal(pam_password_verify(hash, long_pw), PB_OK);
}

static void test_password_needs_rehash_for_other_parameters(void **state)
{
    (void)state;
    char weak[crypto_pwhash_STRBYTES];
    assert_int_equal(
        crypto_pwhash_str_alg(weak, "pw", 2, 1, 8u << 20, crypto_pwhash_ALG_ARGON2ID13), 0);
    bool needs = false;
    assert_int_equal(pam_password_needs_rehash(weak, &needs), PB_OK);
    assert_true(needs);
    char legacy[crypto_pwhash_STRBYTES];
    assert_int_equal(crypto_pwhash_str_alg(legacy, "pw", 2, 3, /* argon2i needs t >= 3 */
                                           PAM_PASSWORD_MEMLIMIT_BYTES,
                                           crypto_pwhash_ALG_ARGON2I13),
                     0);
    needs = false;
    assert_int_equal(pam_password_needs_rehash(legacy, &needs), PB_OK);
    assert_true(needs);
    assert_int_equal(pam_password_verify(legacy, "pw"), PB_OK); /* still usable to log in */
    assert_int_equal(pam_password_needs_rehash("$2y$10$bcrypt", &needs), PB_ERR_INVALID);
    assert_int_equal(pam_password_needs_rehash("$argon2i$garbage", &needs), PB_ERR_INVALID);
}

static void test_password_dummy_costs_like_a_real_verification(void **state)
{
    (void)state;
    char hash[PAM_PASSWORD_HASH_SIZE];
    assert_int_equal(pam_password_hash("a real password", hash), PB_OK);
    double real_ms = 1e9, dummy_ms = 1e9;
    for (int i = 0; i < 3; i++) {
        uint64_t t0 = pb_mono_ns();
        assert_int_equal(pam_password_verify(hash, "a wrong password"), PB_ERR_INVALID);
        double r = ms_since(t0);
        t0 = pb_mono_ns();
        assert_int_equal(pam_password_verify_dummy("a wrong password"), PB_ERR_INVALID);
        double d = ms_since(t0);
        real_ms = r < real_ms ? r : real_ms;
        dummy_ms = d < dummy_ms ? d : dummy_ms;
    }
    print_message("wrong password %.1f ms, unknown account (dummy) %.1f ms\n", real_ms, dummy_ms);
    /* Same parameters, same work: generous bounds for a loaded machine. */
    assert_true(dummy_ms > real_ms * 0.5 && dummy_ms < real_ms * 2.0);
}

/* ---- base32, HOTP, TOTP ---- */

static void test_base32_rfc4648_vectors_and_strict_decoding(void **state)
{
    (void)state;
    static const char *const plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    static const char *const b32[] = {"",        "MY",       "MZXQ",      "MZXW6",
                                      "MZXW6YQ", "MZXW6YTB", "MZXW6YTBOI"};
    for (size_t i = 0; i < PB_ARRAY_LEN(plain); i++) {
        char enc[32];
        pam_base32_encode((const unsigned char *)plain[i], strlen(plain[i]), enc, sizeof(enc));
        assert_string_equal(enc, b32[i]);
        unsigned char dec[16];
        size_t dec_len = 99;
        assert_int_equal(pam_base32_decode(b32[i], strlen(b32[i]), dec, sizeof(dec), &dec_len),
                         PB_OK);
        assert_int_equal(dec_len, strlen(plain[i]));
        assert_memory_equal(dec, plain[i], dec_len);
    }
    unsigned char dec[16];
    size_t n;
    assert_int_equal(pam_base32_decode("mzxw6ytboi", 10, dec, sizeof(dec), &n), PB_OK);
    assert_memory_equal(dec, "foobar", 6);
    assert_int_equal(pam_base32_decode("MY======", 8, dec, sizeof(dec), &n), PB_ERR_INVALID);
    assert_int_equal(pam_base32_decode("M1", 2, dec, sizeof(dec), &n), PB_ERR_INVALID);
    assert_int_equal(pam_base32_decode("MZX", 3, dec, sizeof(dec), &n), PB_ERR_INVALID);
    assert_int_equal(pam_base32_decode("MY", 2, dec, sizeof(dec), &n), PB_OK);
    /* "MZ" would be "f" too with a non-zero unused bit: not canonical. */
    assert_int_equal(pam_base32_decode("MZ", 2, dec, sizeof(dec), &n), PB_ERR_INVALID);
    assert_int_equal(pam_base32_decode("MZXW6YTBOI", 10, dec, 5, &n), PB_ERR_TOO_LARGE);
}

static const unsigned char rfc_secret[] = "12345678901234567890";

static void test_hotp_rfc4226_appendix_d(void **state)
{
    (void)state;
    static const char *const expected[] = {"755224", "287082", "359152", "969429", "338314",
                                           "254676", "287922", "162583", "399871", "520489"};
    for (uint64_t c = 0; c < PB_ARRAY_LEN(expected); c++) {
        char code[PAM_TOTP_CODE_SIZE];
        assert_int_equal(pam_hotp_code(rfc_secret, 20, c, 6, code), PB_OK);
        assert_string_equal(code, expected[c]);
    }
}

static void test_totp_rfc6238_appendix_b_sha1(void **state)
{
    (void)state;
    static const struct {
        int64_t time_s;
        const char *code;
    } vectors[] = {
        {59, "94287082"},         {1111111109, "07081804"}, {1111111111, "14050471"},
        {1234567890, "89005924"}, {2000000000, "69279037"}, {20000000000, "65353130"},
    };
    const struct pam_totp_params eight = {.digits = 8, .step_s = 30, .window_steps = 1};
    for (size_t i = 0; i < PB_ARRAY_LEN(vectors); i++) {
        char code[PAM_TOTP_CODE_SIZE];
        assert_int_equal(pam_totp_code(rfc_secret, 20, vectors[i].time_s, &eight, code), PB_OK);
        assert_string_equal(code, vectors[i].code);
    }
}

static void test_totp_refuses_bad_parameters(void **state)
{
    (void)state;
    char code[PAM_TOTP_CODE_SIZE];
    const struct pam_totp_params seven = {.digits = 7, .step_s = 30, .window_steps = 1};
    assert_int_equal(pam_totp_code(rfc_secret, 20, 59, &seven, code), PB_ERR_INVALID);
    assert_int_equal(pam_totp_code(rfc_secret, 15, 59, NULL, code), PB_ERR_INVALID);
    assert_int_equal(pam_totp_code(rfc_secret, 20, -1, NULL, code), PB_ERR_INVALID);
    assert_int_equal(pam_totp_code(rfc_secret, 20, INT64_MAX, NULL, code), PB_ERR_INVALID);
    int64_t matched = -3;
    assert_int_equal(
        pam_totp_verify(rfc_secret, 20, "123456", INT64_MAX, PAM_TOTP_STEP_NONE, NULL, &matched),
        PB_ERR_INVALID);
    assert_int_equal(matched, -3);
    const struct pam_totp_params zero = {.digits = 6, .step_s = 0, .window_steps = 1};
    assert_int_equal(pam_totp_code(rfc_secret, 20, 59, &zero, code), PB_ERR_INVALID);
}

static void check_against_oathtool(const unsigned char *secret, int64_t t, unsigned digits)
{
    char b32[PAM_TOTP_SECRET_B32_SIZE];
    pam_base32_encode(secret, PAM_TOTP_SECRET_BYTES, b32, sizeof(b32));
    char now[32], digits_arg[4], out[64];
    snprintf(now, sizeof(now), "@%lld", (long long)t);
    snprintf(digits_arg, sizeof(digits_arg), "%u", digits);
    char *argv[] = {"oathtool", "--totp", "-b", "-d", digits_arg, "-N", now, b32, NULL};
    assert_int_equal(run_tool(argv, "", out, sizeof(out)), 0);
    const struct pam_totp_params p = {.digits = digits, .step_s = 30, .window_steps = 1};
    char code[PAM_TOTP_CODE_SIZE];
    assert_int_equal(pam_totp_code(secret, PAM_TOTP_SECRET_BYTES, t, &p, code), PB_OK);
    assert_string_equal(code, out);
}

static void test_totp_matches_oathtool(void **state)
{
    (void)state;
    SKIP_WITHOUT("oathtool", "oathtool");
    for (int i = 0; i < 8; i++) {
        unsigned char secret[PAM_TOTP_SECRET_BYTES];
        pam_totp_secret_new(secret);
        int64_t t = (int64_t)randombytes_uniform(2000000000u) + (i == 0 ? 0 : 1000000000);
        check_against_oathtool(secret, t, 6);
        check_against_oathtool(secret, t + 30, 8);
    }
    /* And a calendar time, the way an operator would check by hand. */
    unsigned char secret[PAM_TOTP_SECRET_BYTES];
    memcpy(secret, rfc_secret, 20);
    char b32[PAM_TOTP_SECRET_B32_SIZE], out[64];
    pam_base32_encode(secret, 20, b32, sizeof(b32));
    char *argv[] = {"oathtool", "--totp", "-b", "--now", "2026-11-20 12:00:00 UTC", b32, NULL};
    assert_int_equal(run_tool(argv, "", out, sizeof(out)), 0);
    char code[PAM_TOTP_CODE_SIZE];
    assert_int_equal(pam_totp_code(secret, 20, 1795176000, NULL, code), PB_OK);
    assert_string_equal(code, out);
}

static void code_at(const unsigned char *secret, int64_t t, char out[PAM_TOTP_CODE_SIZE])
{
    assert_int_equal(pam_totp_code(secret, PAM_TOTP_SECRET_BYTES, t, NULL, out), PB_OK);
}

static void test_totp_window_is_one_step_either_side(void **state)
{
    (void)state;
    unsigned char secret[PAM_TOTP_SECRET_BYTES];
    pam_totp_secret_new(secret);
    const int64_t k = 59000000;
    int64_t boundaries[] = {k * 30, k * 30 + 29}; /* first and last second of step k */
    for (size_t b = 0; b < PB_ARRAY_LEN(boundaries); b++) {
        int64_t now = boundaries[b];
        for (int64_t d = -3; d <= 3; d++) {
            char code[PAM_TOTP_CODE_SIZE];
            code_at(secret, (k + d) * 30 + 7, code);
            int64_t matched = -5;
            int rc = pam_totp_verify(secret, PAM_TOTP_SECRET_BYTES, code, now, PAM_TOTP_STEP_NONE,
                                     NULL, &matched);
            if (d >= -1 && d <= 1) {
                assert_int_equal(rc, PB_OK);
                assert_int_equal(matched, k + d);
            } else {
                /* A code of another step may collide by chance (1e-6); then it is that one. */
                assert_true(rc == PB_ERR_INVALID || (rc == PB_OK && matched >= k - 1));
            }
        }
    }
}

static void test_totp_code_is_never_accepted_twice(void **state)
{
    (void)state;
    unsigned char secret[PAM_TOTP_SECRET_BYTES];
    pam_totp_secret_new(secret);
    const int64_t now = 1795176000;
    const int64_t step = pam_totp_step(now, NULL);
    char code[PAM_TOTP_CODE_SIZE];
    code_at(secret, now, code);
    int64_t matched = 0;
    assert_int_equal(pam_totp_verify(secret, 20, code, now, PAM_TOTP_STEP_NONE, NULL, &matched),
                     PB_OK);
    assert_int_equal(matched, step);
    /* Replayed at once, and again 20 s later while the step is still in the window. */
    assert_int_equal(pam_totp_verify(secret, 20, code, now, matched, NULL, &matched),
                     PB_ERR_CONFLICT);
    assert_int_equal(pam_totp_verify(secret, 20, code, now + 20, step, NULL, &matched),
                     PB_ERR_CONFLICT);
    /* An older code is refused once a later step was used. */
    char old[PAM_TOTP_CODE_SIZE];
    code_at(secret, now - 30, old);
    if (strcmp(old, code) != 0) {
        assert_int_equal(pam_totp_verify(secret, 20, old, now, step, NULL, &matched),
                         PB_ERR_CONFLICT);
    }
    /* The next step's code is fine. */
    char next[PAM_TOTP_CODE_SIZE];
    code_at(secret, now + 30, next);
    assert_int_equal(pam_totp_verify(secret, 20, next, now + 30, step, NULL, &matched), PB_OK);
    assert_int_equal(matched, step + 1);
}

static void test_totp_verify_refuses_malformed_codes(void **state)
{
    (void)state;
    const char *fullwidth = "１２３４５６";
    const char *bad[] = {"", "12345", "1234567", "12a456", " 12345", "123456 ", fullwidth};
    for (size_t i = 0; i < PB_ARRAY_LEN(bad); i++) {
        int64_t matched = -7;
        assert_int_equal(
            pam_totp_verify(rfc_secret, 20, bad[i], 59, PAM_TOTP_STEP_NONE, NULL, &matched),
            PB_ERR_INVALID);
        assert_int_equal(matched, -7);
    }
    char code[PAM_TOTP_CODE_SIZE];
    assert_int_equal(pam_totp_code(rfc_secret, 20, 59, NULL, code), PB_OK);
    int64_t matched;
    assert_int_equal(pam_totp_verify(rfc_secret, 20, code, 59, PAM_TOTP_STEP_NONE, NULL, &matched),
                     PB_OK);
    assert_int_equal(matched, 1);
}

static void test_totp_uri_is_percent_encoded(void **state)
{
    (void)state;
    struct pb_buf uri = PB_BUF_INIT;
    const char *secret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
    assert_int_equal(pam_totp_uri("Pit Boss & Co", "alice+test@example.com", secret, NULL, &uri),
                     PB_OK);
    assert_string_equal(pb_buf_str(&uri),
                        "otpauth://totp/Pit%20Boss%20%26%20Co:alice%2Btest%40example.com"
                        "?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Pit%20Boss%20%26%20Co"
                        "&algorithm=SHA1&digits=6&period=30");
    pb_buf_reset(&uri);
    const struct pam_totp_params eight = {.digits = 8, .step_s = 60, .window_steps = 1};
    const char *lower = "gezdgnbvgy3tqojqgezdgnbvgy3tqojq";
    assert_int_equal(pam_totp_uri("Café", "bob", lower, &eight, &uri), PB_OK);
    assert_string_equal(pb_buf_str(&uri), "otpauth://totp/Caf%C3%A9:bob?secret="
                                          "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Caf%C3%A9"
                                          "&algorithm=SHA1&digits=8&period=60");
    pb_buf_reset(&uri);
    assert_int_equal(pam_totp_uri("a:b", "bob", secret, NULL, &uri), PB_ERR_INVALID);
    assert_int_equal(pam_totp_uri("", "bob", secret, NULL, &uri), PB_ERR_INVALID);
    assert_int_equal(pam_totp_uri("pb", "bo\nb", secret, NULL, &uri), PB_ERR_INVALID);
    assert_int_equal(pam_totp_uri("pb", "bob", "GEZDGNBV", NULL, &uri), PB_ERR_INVALID);
    assert_int_equal(pam_totp_uri("pb", "bob", "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJ1", NULL, &uri),
                     PB_ERR_INVALID);
    assert_int_equal(uri.len, 0);
    pb_buf_release(&uri);
}

/* ---- recovery codes ---- */

static void test_recovery_codes_generate_and_verify_once_each(void **state)
{
    (void)state;
    char codes[PAM_RECOVERY_CODES_COUNT][PAM_RECOVERY_CODE_SIZE];
    char hashes[PAM_RECOVERY_CODES_COUNT][PAM_RECOVERY_HASH_SIZE];
    pam_recovery_codes_generate(PAM_RECOVERY_CODES_COUNT, codes, hashes);
    const char *stored[PAM_RECOVERY_CODES_COUNT];
    for (size_t i = 0; i < PAM_RECOVERY_CODES_COUNT; i++) {
        assert_int_equal(strlen(codes[i]), 14);
        assert_true(codes[i][4] == '-' && codes[i][9] == '-');
        assert_int_equal(strspn(codes[i], "0123456789abcdefghjkmnpqrstvwxyz-"), 14);
        assert_int_equal(strlen(hashes[i]), 96);
        assert_int_equal(strspn(hashes[i], "0123456789abcdef"), 96);
        assert_null(strstr(hashes[i], codes[i]));
        for (size_t j = 0; j < i; j++)
            assert_string_not_equal(codes[i], codes[j]);
        stored[i] = hashes[i];
    }
    for (size_t i = 0; i < PAM_RECOVERY_CODES_COUNT; i++) {
        size_t index = 99;
        assert_int_equal(
            pam_recovery_code_verify(codes[i], stored, PAM_RECOVERY_CODES_COUNT, &index), PB_OK);
        assert_int_equal(index, i);
        stored[i] = NULL; /* the caller deletes the used code */
        assert_int_equal(
            pam_recovery_code_verify(codes[i], stored, PAM_RECOVERY_CODES_COUNT, &index),
            PB_ERR_INVALID);
    }
}

static void test_recovery_code_input_is_forgiving_but_exact(void **state)
{
    (void)state;
    char codes[1][PAM_RECOVERY_CODE_SIZE];
    char hashes[1][PAM_RECOVERY_HASH_SIZE];
    /* A fixed code, hashed the way generate does, to test the typing variants. */
    pam_recovery_codes_generate(1, codes, hashes);
    const char *stored[2] = {"not a hash", hashes[0]};
    char typed[32];
    size_t o = 0;
    for (const char *c = codes[0]; *c != '\0'; c++) {
        if (*c == '-')
            continue;
        char u = (char)(*c >= 'a' && *c <= 'z' ? *c - 'a' + 'A' : *c);
        typed[o++] = u == '0' ? 'O' : u == '1' ? 'l' : u;
        if (o == 6)
            typed[o++] = ' ';
    }
    typed[o] = '\0';
    size_t index = 99;
    assert_int_equal(pam_recovery_code_verify(typed, stored, 2, &index), PB_OK);
    assert_int_equal(index, 1);
    char wrong[PAM_RECOVERY_CODE_SIZE];
    memcpy(wrong, codes[0], sizeof(wrong));
    wrong[0] = wrong[0] == 'a' ? 'b' : 'a';
    assert_int_equal(pam_recovery_code_verify(wrong, stored, 2, &index), PB_ERR_INVALID);
    assert_int_equal(pam_recovery_code_verify("", stored, 2, &index), PB_ERR_INVALID);
    assert_int_equal(pam_recovery_code_verify("uuuu-uuuu-uuuu", stored, 2, &index),
                     PB_ERR_INVALID);
    char longer[32];
    snprintf(longer, sizeof(longer), "%sx", codes[0]);
    assert_int_equal(pam_recovery_code_verify(longer, stored, 2, &index), PB_ERR_INVALID);
}

/* ---- session tokens ---- */

static void test_token_is_url_safe_and_stored_hashed(void **state)
{
    (void)state;
    char token[PAM_TOKEN_TEXT_SIZE], hash[PAM_TOKEN_HASH_HEX_SIZE];
    pam_token_new(token, hash);
    assert_int_equal(strlen(token), 43);
    assert_int_equal(strspn(token, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                   "0123456789-_"),
                     43);
    assert_int_equal(strlen(hash), 64);
    char again[PAM_TOKEN_HASH_HEX_SIZE];
    assert_int_equal(pam_token_hash(token, again), PB_OK);
    assert_string_equal(again, hash);
    assert_true(pam_token_hash_equal(hash, again));
    char other[PAM_TOKEN_TEXT_SIZE], other_hash[PAM_TOKEN_HASH_HEX_SIZE];
    pam_token_new(other, other_hash);
    assert_string_not_equal(token, other);
    assert_false(pam_token_hash_equal(hash, other_hash));
    /* What is stored is reproducible by hand: printf %s TOKEN | sha256sum */
    if (tool_installed("sha256sum")) {
        char *argv[] = {"sha256sum", NULL}, out[128];
        assert_int_equal(run_tool(argv, token, out, sizeof(out)), 0);
        assert_memory_equal(out, hash, 64);
    }
}

static void test_token_hash_refuses_malformed_tokens(void **state)
{
    (void)state;
    char token[PAM_TOKEN_TEXT_SIZE], hash[PAM_TOKEN_HASH_HEX_SIZE];
    pam_token_new(token, hash);
    char bad[64];
    char out[PAM_TOKEN_HASH_HEX_SIZE];
    assert_int_equal(pam_token_hash("", out), PB_ERR_INVALID);
    snprintf(bad, sizeof(bad), "%.42s", token);
    assert_int_equal(pam_token_hash(bad, out), PB_ERR_INVALID);
    snprintf(bad, sizeof(bad), "%sA", token);
    assert_int_equal(pam_token_hash(bad, out), PB_ERR_INVALID);
    snprintf(bad, sizeof(bad), "%s=", token);
    assert_int_equal(pam_token_hash(bad, out), PB_ERR_INVALID);
    snprintf(bad, sizeof(bad), "+%.42s", token + 1);
    assert_int_equal(pam_token_hash(bad, out), PB_ERR_INVALID);
    snprintf(bad, sizeof(bad), "/%.42s", token + 1);
    assert_int_equal(pam_token_hash(bad, out), PB_ERR_INVALID);
    /* Non-canonical last character: its two low bits would be ignored by a lax decoder. */
    snprintf(bad, sizeof(bad), "%.42sB", token);
    assert_int_equal(pam_token_hash(bad, out), PB_ERR_INVALID);
    snprintf(bad, sizeof(bad), "%.42sA", token);
    assert_int_equal(pam_token_hash(bad, out), PB_OK);
}

/* ---- validation ---- */

static void test_email_normalize_accepts_and_lowercases(void **state)
{
    (void)state;
    static const char *const cases[][2] = {
        {"  Alice.Smith+casino@Example.COM \n", "alice.smith+casino@example.com"},
        {"o'brien@mail.example.ie", "o'brien@mail.example.ie"},
        {"a@b.co", "a@b.co"},
        {"x_y-z@xn--bcher-kva.example", "x_y-z@xn--bcher-kva.example"},
        {"\tuser@sub-domain.example.org\t", "user@sub-domain.example.org"},
    };
    for (size_t i = 0; i < PB_ARRAY_LEN(cases); i++) {
        char out[PAM_EMAIL_SIZE], again[PAM_EMAIL_SIZE];
        const char *reason = "unset";
        assert_int_equal(pam_email_normalize(cases[i][0], strlen(cases[i][0]), out, &reason),
                         PB_OK);
        assert_null(reason);
        assert_string_equal(out, cases[i][1]);
        assert_int_equal(pam_email_normalize(out, strlen(out), again, NULL), PB_OK);
        assert_string_equal(again, out);
    }
}

static void expect_email_reason(const char *in, size_t len, const char *reason_expected)
{
    char out[PAM_EMAIL_SIZE];
    const char *reason = NULL;
    assert_int_equal(pam_email_normalize(in, len, out, &reason), PB_ERR_INVALID);
    assert_string_equal(reason, reason_expected);
    assert_string_equal(out, "");
}

static void test_email_normalize_names_the_rule_broken(void **state)
{
    (void)state;
    static const char *const cases[][2] = {
        {"", "email_required"},
        {"   ", "email_required"},
        {"alice", "email_invalid"},
        {"a@b@example.com", "email_invalid"},
        {"@example.com", "email_local_part_invalid"},
        {".alice@example.com", "email_local_part_invalid"},
        {"alice.@example.com", "email_local_part_invalid"},
        {"al..ice@example.com", "email_local_part_invalid"},
        {"al ice@example.com", "email_local_part_invalid"},
        {"al\"ice@example.com", "email_local_part_invalid"},
        {"jörg@example.com", "email_local_part_invalid"},
        {"alice@", "email_domain_invalid"},
        {"alice@localhost", "email_domain_invalid"},
        {"alice@example..com", "email_domain_invalid"},
        {"alice@example.com.", "email_domain_invalid"},
        {"alice@-example.com", "email_domain_invalid"},
        {"alice@example-.com", "email_domain_invalid"},
        {"alice@exa_mple.com", "email_domain_invalid"},
        {"alice@1.2.3.4", "email_domain_invalid"},
        {"alice@[1.2.3.4]", "email_domain_invalid"},
    };
    for (size_t i = 0; i < PB_ARRAY_LEN(cases); i++)
        expect_email_reason(cases[i][0], strlen(cases[i][0]), cases[i][1]);
    expect_email_reason("a\0b@example.com", 15, "email_local_part_invalid");
    char text[400];
    /* Local part of 64 is fine, 65 is not; a label of 63 is fine, 64 is not. */
    snprintf(text, sizeof(text), "%064d@example.com", 0);
    char out[PAM_EMAIL_SIZE];
    assert_int_equal(pam_email_normalize(text, strlen(text), out, NULL), PB_OK);
    snprintf(text, sizeof(text), "%065d@example.com", 0);
    expect_email_reason(text, strlen(text), "email_local_part_invalid");
    snprintf(text, sizeof(text), "a@%063d.com", 0);
    assert_int_equal(pam_email_normalize(text, strlen(text), out, NULL), PB_OK);
    snprintf(text, sizeof(text), "a@%064d.com", 0);
    expect_email_reason(text, strlen(text), "email_domain_invalid");
    /* 254 in all is the limit. */
    snprintf(text, sizeof(text), "a@%063d.%063d.%063d.%056d.com", 0, 0, 0, 0);
    assert_int_equal(strlen(text), 254);
    assert_int_equal(pam_email_normalize(text, strlen(text), out, NULL), PB_OK);
    snprintf(text, sizeof(text), "a@%063d.%063d.%063d.%057d.com", 0, 0, 0, 0);
    expect_email_reason(text, strlen(text), "email_too_long");
}

static void expect_password(const char *pw, const char *email, const char *reason_expected)
{
    const char *reason = "unset";
    int rc = pam_password_strength(pw, strlen(pw), email, &reason);
    if (reason_expected == NULL) {
        if (rc != PB_OK)
            print_message("refused '%s': %s\n", pw, reason);
        assert_int_equal(rc, PB_OK);
        assert_null(reason);
    } else {
        assert_int_equal(rc, PB_ERR_INVALID);
        assert_string_equal(reason, reason_expected);
    }
}

static void test_password_strength_policy(void **state)
{
    (void)state;
    const char *email = "alice.smith@example.com";
    expect_password("correct horse battery staple", email, NULL);
    expect_password("Tr0ub4dor&3x", email, NULL);
    expect_password("thequickbrownfoxes", email, NULL); /* >= 16: one class is fine */
    expect_password("zebra-lantern", email, NULL);
    expect_password("ключ от сейфа", email, NULL);
    expect_password("short1!", email, "password_too_short");
    expect_password("nine9999!", email, "password_too_short");
    char longest[PAM_PASSWORD_BYTES_MAX + 2];
    for (size_t i = 0; i < sizeof(longest) - 1; i++)
        longest[i] = "abc1"[i % 3 + (i % 7 == 0)];
    longest[sizeof(longest) - 1] = '\0';
    expect_password(longest, email, "password_too_long");
    longest[PAM_PASSWORD_BYTES_MAX] = '\0';
    expect_password(longest, email, NULL);
    expect_password("bad\xc3\x28utf8 here", email, "password_invalid_utf8");
    expect_password("overlong \xc0\xaf slash", email, "password_invalid_utf8");
    expect_password("surrogate \xed\xa0\x80 x", email, "password_invalid_utf8");
    expect_password("tab\there is bad", email, "password_control_characters");
    expect_password("PassWord123", email, "password_common");
    expect_password("qwertyuiop", email, "password_common");
    expect_password("my-Alice.Smith-pw", email, "password_contains_email");
    expect_password("my-alice.smith-pw", "Alice.Smith@Example.com", "password_contains_email");
    expect_password("aaaaaaaaaaaaaaaaaaaa", email, "password_repetitive");
    expect_password("xy1!xy1!xy1!xy1!", email, "password_repetitive");
    expect_password("lmnopqrstuvwx", email, "password_repetitive");
    expect_password("zyxwvutsrqpo", email, "password_repetitive");
    expect_password("horsebattery", email, "password_single_class");
    expect_password("73915284605", email, "password_single_class");
    expect_password("horsebattery", NULL, "password_single_class");
    const char *reason = NULL;
    assert_int_equal(pam_password_strength("abc\0defghijkl", 13, NULL, &reason), PB_ERR_INVALID);
    assert_string_equal(reason, "password_control_characters");
}

static void expect_age(const char *dob, const char *today, int years)
{
    int got = -1;
    const char *reason = "unset";
    assert_int_equal(pam_age_years(dob, today, &got, &reason), PB_OK);
    assert_null(reason);
    assert_int_equal(got, years);
}

static void test_age_years_handles_birthdays_and_leap_days(void **state)
{
    (void)state;
    expect_age("2008-11-20", "2026-11-20", 18);
    expect_age("2008-11-21", "2026-11-20", 17);
    expect_age("2008-12-01", "2026-11-20", 17);
    expect_age("2008-01-31", "2026-11-20", 18);
    expect_age("2026-11-20", "2026-11-20", 0);
    /* Born on 29 February: of age on 1 March in common years, on 29 February in leap years. */
    expect_age("2008-02-29", "2026-02-28", 17);
    expect_age("2008-02-29", "2026-03-01", 18);
    expect_age("2004-02-29", "2022-02-28", 17);
    expect_age("2004-02-29", "2024-02-28", 19);
    expect_age("2004-02-29", "2024-02-29", 20);
    expect_age("2000-02-29", "2018-03-01", 18);
    expect_age("0001-01-01", "9999-12-31", 9998);
}

static void test_age_years_refuses_invalid_dates(void **state)
{
    (void)state;
    static const char *const invalid[] = {
        "2023-02-29", "1900-02-29", "2024-02-30", "2024-04-31", "2024-13-01",  "2024-00-10",
        "2024-01-00", "0000-01-01", "2024-4-01",  "20240401",   "2024-04-01x", " 2024-04-01",
        "2024/04/01", "",           "abcd-ef-gh", "+024-04-01", "2024-04-1 ",  "2024--4-01",
    };
    for (size_t i = 0; i < PB_ARRAY_LEN(invalid); i++) {
        int years = -1;
        const char *reason = NULL;
        assert_int_equal(pam_age_years(invalid[i], "2026-11-20", &years, &reason), PB_ERR_INVALID);
        assert_string_equal(reason, "date_invalid");
        assert_int_equal(years, -1);
    }
    int years = -1;
    const char *reason = NULL;
    assert_int_equal(pam_age_years("2000-02-29", "2026-11-20", &years, &reason), PB_OK);
    assert_int_equal(pam_age_years("2026-11-21", "2026-11-20", &years, &reason), PB_ERR_INVALID);
    assert_string_equal(reason, "date_of_birth_in_future");
}

static void test_country_code_format(void **state)
{
    (void)state;
    const char *reason = "unset";
    assert_int_equal(pam_country_valid("MT", &reason), PB_OK);
    assert_null(reason);
    assert_int_equal(pam_country_valid("GB", NULL), PB_OK);
    static const char *const bad[] = {"", "M", "mt", "Mt", "MLT", "M1", "M ", "É"};
    for (size_t i = 0; i < PB_ARRAY_LEN(bad); i++) {
        reason = NULL;
        assert_int_equal(pam_country_valid(bad[i], &reason), PB_ERR_INVALID);
        assert_string_equal(reason, "country_invalid");
    }
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    password_parameters_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_password_hash_is_phc_argon2id_and_verifies),
        cmocka_unit_test(test_password_hash_matches_argon2_reference_tool),
        cmocka_unit_test(test_password_verify_accepts_argon2_tool_hash),
        cmocka_unit_test(test_password_verify_refuses_malformed_hash_and_long_password),
        cmocka_unit_test(test_password_needs_rehash_for_other_parameters),
        cmocka_unit_test(test_password_dummy_costs_like_a_real_verification),
        cmocka_unit_test(test_base32_rfc4648_vectors_and_strict_decoding),
        cmocka_unit_test(test_hotp_rfc4226_appendix_d),
        cmocka_unit_test(test_totp_rfc6238_appendix_b_sha1),
        cmocka_unit_test(test_totp_refuses_bad_parameters),
        cmocka_unit_test(test_totp_matches_oathtool),
        cmocka_unit_test(test_totp_window_is_one_step_either_side),
        cmocka_unit_test(test_totp_code_is_never_accepted_twice),
        cmocka_unit_test(test_totp_verify_refuses_malformed_codes),
        cmocka_unit_test(test_totp_uri_is_percent_encoded),
        cmocka_unit_test(test_recovery_codes_generate_and_verify_once_each),
        cmocka_unit_test(test_recovery_code_input_is_forgiving_but_exact),
        cmocka_unit_test(test_token_is_url_safe_and_stored_hashed),
        cmocka_unit_test(test_token_hash_refuses_malformed_tokens),
        cmocka_unit_test(test_email_normalize_accepts_and_lowercases),
        cmocka_unit_test(test_email_normalize_names_the_rule_broken),
        cmocka_unit_test(test_password_strength_policy),
        cmocka_unit_test(test_age_years_handles_birthdays_and_leap_days),
        cmocka_unit_test(test_age_years_refuses_invalid_dates),
        cmocka_unit_test(test_country_code_format),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
