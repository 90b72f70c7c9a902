/* test_base.c: buffers, strict JSON decoding, configuration and histograms. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/base.h"
#include "base/buf.h"
#include "base/config.h"
#include "base/json.h"
#include "base/metrics.h"
#include "base/sha256.h"
#include "base/sign.h"

static void test_buf_appends_and_escapes_json(void **state)
{
    (void)state;
    struct pb_buf b = PB_BUF_INIT;
    assert_string_equal(pb_buf_str(&b), "");
    pb_buf_printf(&b, "%d-%s", 42, "x");
    pb_buf_json_string(&b, "a\"b\\c\n\x01", 7);
    assert_string_equal(b.data, "42-x\"a\\\"b\\\\c\\n\\u0001\"");
    for (int i = 0; i < 1000; i++)
        pb_buf_putc(&b, 'z');
    assert_int_equal(b.len, strlen(b.data));
    size_t len;
    char *owned = pb_buf_detach(&b, &len);
    assert_int_equal(len, strlen(owned));
    assert_null(b.data);
    pb_free(owned);
}

struct sample {
    const char *name;
    int64_t count;
    bool flag;
    json_t *nested;
};

static const struct pb_json_field sample_fields[] = {
    PB_JSON_STR(struct sample, name, PB_JSON_REQUIRED, 1, 8),
    PB_JSON_INT(struct sample, count, PB_JSON_OPTIONAL, 0, 100),
    PB_JSON_BOOL(struct sample, flag, PB_JSON_OPTIONAL),
    PB_JSON_OBJ(struct sample, nested, PB_JSON_OPTIONAL),
};

static int decode(const char *text, struct sample *out, struct pb_json_error *err)
{
    json_t *root;
    memset(out, 0, sizeof(*out));
    int rc = pb_json_parse(text, strlen(text), true, &root, err);
    if (rc != PB_OK)
        return rc;
    rc = pb_json_decode(root, "", sample_fields, PB_ARRAY_LEN(sample_fields), out, err);
    json_decref(root);
    return rc;
}

/* Integers as "%lld" prints them; printf in one pass or two as the spare room allows. */
static void test_buf_integers_and_printf_growth(void **state)
{
    (void)state;
    const int64_t values[] = {0, 7, -7, 1234567890123, INT64_MAX, INT64_MIN};
    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        char want[32], got[PB_I64_TEXT_MAX];
        snprintf(want, sizeof(want), "%lld", (long long)values[i]);
        assert_int_equal(pb_i64_text(values[i], got), strlen(want));
        assert_string_equal(got, want);
        struct pb_buf b = PB_BUF_INIT;
        pb_buf_puts(&b, "x=");
        pb_buf_put_i64(&b, values[i]);
        assert_int_equal(b.len, 2 + strlen(want));
        assert_string_equal(b.data + 2, want);
        pb_buf_release(&b);
    }
    struct pb_buf b = PB_BUF_INIT;
    pb_buf_printf(&b, "%s", "first"); /* no allocation yet */
    size_t cap = b.cap;
    pb_buf_printf(&b, "%d", 42); /* fits in the spare room */
    assert_int_equal(b.cap, cap);
    char big[300];
    memset(big, 'y', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    pb_buf_printf(&b, "<%s>", big); /* does not fit: measured, grown, written again */
    assert_int_equal(b.len, 7 + 2 + sizeof(big) - 1);
    assert_memory_equal(b.data, "first42<yyy", 11);
    assert_string_equal(b.data + b.len - 2, "y>");
    pb_buf_release(&b);
}

/* FIPS 180-4 test vectors, whole and in parts. */
static void test_sha256_known_answers(void **state)
{
    (void)state;
    char hex[PB_SHA256_HEX_LEN + 1];
    pb_sha256_hex("abc", 3, hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    pb_sha256_hex("", 0, hex);
    assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    const char *msg = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    struct pb_sha256_part parts[3] = {{msg, 5}, {msg + 5, 0}, {msg + 5, strlen(msg) - 5}};
    unsigned char digest[PB_SHA256_DIGEST_LEN];
    pb_sha256_parts(parts, 3, digest);
    pb_sha256_to_hex(digest, hex);
    assert_string_equal(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

static void expect_error(const char *text, const char *code, const char *field)
{
    struct sample s;
    struct pb_json_error err;
    assert_int_equal(decode(text, &s, &err), PB_ERR_INVALID);
    assert_string_equal(err.code, code);
    assert_string_equal(err.field, field);
    assert_true(strlen(err.detail) > 0);
}

static void test_json_decode_accepts_valid_document(void **state)
{
    (void)state;
    json_t *root;
    struct pb_json_error err;
    const char *text = "{\"name\":\"abc\",\"count\":7,\"flag\":true}";
    assert_int_equal(pb_json_parse(text, strlen(text), true, &root, &err), 0);
    struct sample s = {0};
    assert_int_equal(pb_json_decode(root, "", sample_fields, 4, &s, &err), 0);
    assert_string_equal(s.name, "abc");
    assert_int_equal(s.count, 7);
    assert_true(s.flag);
    assert_null(s.nested);
    json_decref(root);
}

static void test_json_decode_names_the_offending_field(void **state)
{
    (void)state;
    expect_error("{\"name\":\"a\",\"extra\":1}", "unknown_field", "extra");
    expect_error("{\"count\":1}", "missing_field", "name");
    expect_error("{\"name\":5}", "wrong_type", "name");
    expect_error("{\"name\":\"a\",\"count\":1.5}", "wrong_type", "count");
    expect_error("{\"name\":\"a\",\"count\":101}", "out_of_range", "count");
    expect_error("{\"name\":\"a\",\"count\":-1}", "out_of_range", "count");
    expect_error("{\"name\":\"\"}", "out_of_range", "name");
    expect_error("{\"name\":\"toolongname\"}", "out_of_range", "name");
    expect_error("{\"name\":\"a\\u0000b\"}", "malformed_json", "");
    expect_error("{\"name\":\"a\",\"flag\":1}", "wrong_type", "flag");
    expect_error("{\"name\":\"a\",\"name\":\"b\"}", "malformed_json", "");
    expect_error("[1]", "wrong_type", "");
    expect_error("{\"name\":", "malformed_json", "");
    expect_error("", "malformed_json", "");
}

static void test_json_parse_refuses_deep_nesting_before_parsing(void **state)
{
    (void)state;
    char deep[PB_JSON_DEPTH_MAX * 2 + 8];
    size_t n = 0;
    for (int i = 0; i <= PB_JSON_DEPTH_MAX; i++)
        deep[n++] = '[';
    for (int i = 0; i <= PB_JSON_DEPTH_MAX; i++)
        deep[n++] = ']';
    json_t *root;
    struct pb_json_error err;
    assert_int_equal(pb_json_parse(deep, n, false, &root, &err), PB_ERR_INVALID);
    assert_string_equal(err.code, "too_deep");
    /* Brackets inside strings do not count. */
    const char *quoted = "{\"s\":\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\\\"[[[[\"}";
    assert_int_equal(pb_json_parse(quoted, strlen(quoted), true, &root, &err), 0);
    json_decref(root);
}

static void test_json_nested_prefix_in_field_path(void **state)
{
    (void)state;
    json_t *root = json_loads("{\"bad\":1}", 0, NULL);
    struct sample s;
    struct pb_json_error err;
    assert_int_equal(pb_json_decode(root, "outer", sample_fields, 4, &s, &err), PB_ERR_INVALID);
    assert_string_equal(err.field, "outer.bad");
    json_decref(root);
}

static int write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    return fclose(f);
}

static void test_config_file_then_environment(void **state)
{
    (void)state;
    const char *path = "/tmp/pitboss-test-config.json";
    write_file(path, "{\"listen\":\"0.0.0.0:9000\",\"db\":\"sqlite:x.db\","
                     "\"writer\":{\"batch_max\":128},\"log\":{\"level\":\"warn\"},"
                     "\"diagnostics\":true}");
    struct pb_config cfg;
    struct pb_config_error err;
    pb_config_defaults(&cfg);
    assert_int_equal(pb_config_load_file(&cfg, path, &err), 0);
    assert_string_equal(cfg.listen_host, "0.0.0.0");
    assert_int_equal(cfg.listen_port, 9000);
    assert_string_equal(cfg.db_url, "sqlite:x.db");
    assert_int_equal(cfg.writer_batch_max, 128);
    assert_int_equal(cfg.log_level, PB_LOG_WARN);
    assert_true(cfg.diagnostics);
    char *env[] = {"PITBOSS_WRITER_BATCH_MAX=64", "PITBOSS_LISTEN=[::1]:81", "OTHER=1",
                   "PITBOSS_BIN=/ignored", NULL};
    assert_int_equal(pb_config_apply_env(&cfg, env, &err), 0);
    assert_int_equal(cfg.writer_batch_max, 64);
    assert_string_equal(cfg.listen_host, "::1");
    assert_int_equal(cfg.listen_port, 81);
    remove(path);
}

static void expect_config_error(const char *text, const char *key)
{
    const char *path = "/tmp/pitboss-test-config-bad.json";
    write_file(path, text);
    struct pb_config cfg;
    struct pb_config_error err;
    pb_config_defaults(&cfg);
    assert_int_equal(pb_config_load_file(&cfg, path, &err), PB_ERR_INVALID);
    assert_string_equal(err.key, key);
    remove(path);
}

static void test_config_errors_name_the_key(void **state)
{
    (void)state;
    expect_config_error("{\"writer\":{\"batch_max\":0}}", "writer.batch_max");
    expect_config_error("{\"writer\":{\"batch_max\":\"8\"}}", "writer.batch_max");
    expect_config_error("{\"http\":{\"threads\":1}}", "http.threads");
    expect_config_error("{\"http\":{\"nope\":1}}", "http.nope");
    expect_config_error("{\"nope\":1}", "nope");
    expect_config_error("{\"\":{}}", "\"\" (an empty key)"); /* found by fuzz_config */
    expect_config_error("{\"listen\":\"localhost\"}", "listen");
    expect_config_error("{\"listen\":\"h:99999\"}", "listen");
    expect_config_error("{\"db\":\"\"}", "db");
    expect_config_error("{\"log\":{\"level\":\"loud\"}}", "log.level");
    expect_config_error("{\"ws\":[]}", "ws");
    expect_config_error("not json", "--config");
    expect_config_error("{\"staff_token\":\"fifteen-chars-x\"}", "staff_token");
    expect_config_error("{\"staff_token\":\"has a space in the middle\"}", "staff_token");
    expect_config_error("{\"staff_token\":16}", "staff_token");
    struct pb_config cfg;
    struct pb_config_error err;
    pb_config_defaults(&cfg);
    char *env[] = {"PITBOSS_WRITER_QUEUE_MAX=12x", NULL};
    assert_int_equal(pb_config_apply_env(&cfg, env, &err), PB_ERR_INVALID);
    assert_string_equal(err.key, "PITBOSS_WRITER_QUEUE_MAX");
    char *env2[] = {"PITBOSS_DIAGNOSTICS=maybe", NULL};
    assert_int_equal(pb_config_apply_env(&cfg, env2, &err), PB_ERR_INVALID);
    assert_string_equal(err.key, "PITBOSS_DIAGNOSTICS");
    char *env3[] = {"PITBOSS_STAFF_TOKEN=short", NULL};
    assert_int_equal(pb_config_apply_env(&cfg, env3, &err), PB_ERR_INVALID);
    assert_string_equal(err.key, "PITBOSS_STAFF_TOKEN");
}

static void test_config_staff_token_from_file_and_environment(void **state)
{
    (void)state;
    struct pb_config cfg;
    struct pb_config_error err;
    pb_config_defaults(&cfg);
    assert_string_equal(cfg.staff_token, ""); /* none by default: staff routes answer 401 */
    const char *text = "{\"staff_token\":\"0123456789abcdef\"}";
    assert_int_equal(pb_config_load_text(&cfg, text, strlen(text), &err), 0);
    assert_string_equal(cfg.staff_token, "0123456789abcdef");
    char *env[] = {"PITBOSS_STAFF_TOKEN=env-token-with-25-chars!!", NULL};
    assert_int_equal(pb_config_apply_env(&cfg, env, &err), 0);
    assert_string_equal(cfg.staff_token, "env-token-with-25-chars!!");
}

static void test_config_payments_section(void **state)
{
    (void)state;
    struct pb_config cfg;
    struct pb_config_error err;
    pb_config_defaults(&cfg);
    assert_string_equal(cfg.payments_sandbox_secret, ""); /* no sandbox PSP by default */
    assert_int_equal(cfg.payments_confirmations_play, 2);
    const char *text = "{\"payments\":{\"sandbox_secret\":\"s3cret\",\"confirmations_play\":3,"
                       "\"callback_url\":\"http://127.0.0.1:1/x\"}}";
    assert_int_equal(pb_config_load_text(&cfg, text, strlen(text), &err), 0);
    assert_string_equal(cfg.payments_sandbox_secret, "s3cret");
    assert_string_equal(cfg.payments_callback_url, "http://127.0.0.1:1/x");
    assert_int_equal(cfg.payments_confirmations_play, 3);
    char *env[] = {"PITBOSS_PAYMENTS_WATCHER_SECRET=w", "PITBOSS_PAYMENTS_PLAYER_CANCEL=0",
                   NULL};
    assert_int_equal(pb_config_apply_env(&cfg, env, &err), 0);
    assert_string_equal(cfg.payments_watcher_secret, "w");
    assert_int_equal(cfg.payments_player_cancel, 0);
    const char *bad = "{\"payments\":{\"sandbox_secret\":7}}";
    assert_int_equal(pb_config_load_text(&cfg, bad, strlen(bad), &err), PB_ERR_INVALID);
    assert_string_equal(err.key, "payments.sandbox_secret");
    const char *unknown = "{\"payments\":{\"colour\":\"red\"}}";
    assert_int_equal(pb_config_load_text(&cfg, unknown, strlen(unknown), &err), PB_ERR_INVALID);
    assert_string_equal(err.key, "payments.colour");
    char *env2[] = {"PITBOSS_PAYMENTS_PLAYER_CANCEL=2", NULL};
    assert_int_equal(pb_config_apply_env(&cfg, env2, &err), PB_ERR_INVALID);
    assert_string_equal(err.key, "PITBOSS_PAYMENTS_PLAYER_CANCEL");
}

/* roulette_limits is kept as text: the games module checks it when the server starts. */
static void test_config_roulette_limits(void **state)
{
    (void)state;
    struct pb_config cfg;
    struct pb_config_error err;
    pb_config_defaults(&cfg);
    assert_string_equal(cfg.roulette_limits, ""); /* the defaults of docs/games.md */
    const char *text = "{\"roulette_limits\":{\"bets\":{\"straight\":{\"max_minor\":50}}}}";
    assert_int_equal(pb_config_load_text(&cfg, text, strlen(text), &err), 0);
    assert_string_equal(cfg.roulette_limits, "{\"bets\":{\"straight\":{\"max_minor\":50}}}");
    char *env[] = {"PITBOSS_ROULETTE_LIMITS={\"max_total_minor\":9}", NULL};
    assert_int_equal(pb_config_apply_env(&cfg, env, &err), 0);
    assert_string_equal(cfg.roulette_limits, "{\"max_total_minor\":9}");
    const char *bad = "{\"roulette_limits\":[1]}";
    assert_int_equal(pb_config_load_text(&cfg, bad, strlen(bad), &err), PB_ERR_INVALID);
    assert_string_equal(err.key, "roulette_limits");
}

static void test_config_web_dir_from_file_and_environment(void **state)
{
    (void)state;
    struct pb_config cfg;
    struct pb_config_error err;
    pb_config_defaults(&cfg);
    assert_string_equal(cfg.web_dir, "web/dist"); /* where make run builds the web app */
    const char *text = "{\"web_dir\":\"/srv/pitboss/web\"}";
    assert_int_equal(pb_config_load_text(&cfg, text, strlen(text), &err), 0);
    assert_string_equal(cfg.web_dir, "/srv/pitboss/web");
    char *env[] = {"PITBOSS_WEB_DIR=other/dist", NULL};
    assert_int_equal(pb_config_apply_env(&cfg, env, &err), 0);
    assert_string_equal(cfg.web_dir, "other/dist");
    expect_config_error("{\"web_dir\":\"\"}", "web_dir");
    expect_config_error("{\"web_dir\":true}", "web_dir");
    char *empty[] = {"PITBOSS_WEB_DIR=", NULL};
    assert_int_equal(pb_config_apply_env(&cfg, empty, &err), PB_ERR_INVALID);
    assert_string_equal(err.key, "PITBOSS_WEB_DIR");
}

static void test_histogram_buckets_and_quantiles(void **state)
{
    (void)state;
    struct pb_histogram h;
    pb_histogram_init_latency(&h);
    for (int i = 0; i < 99; i++)
        pb_histogram_observe(&h, 200000); /* 0.2 ms -> le 0.00025 */
    pb_histogram_observe(&h, 7000000);    /* 7 ms -> le 0.01 */
    assert_int_equal(pb_histogram_quantile(&h, 0.5), 250000);
    assert_int_equal(pb_histogram_quantile(&h, 0.99), 250000);
    assert_int_equal(pb_histogram_quantile(&h, 1.0), 10000000);
    struct pb_buf out = PB_BUF_INIT;
    pb_histogram_render(&h, "x_seconds", "a=\"b\"", &out);
    assert_non_null(strstr(out.data, "x_seconds_bucket{a=\"b\",le=\"0.00025\"} 99\n"));
    assert_non_null(strstr(out.data, "x_seconds_bucket{a=\"b\",le=\"+Inf\"} 100\n"));
    assert_non_null(strstr(out.data, "x_seconds_count{a=\"b\"} 100\n"));
    pb_buf_release(&out);
}

/* Signatures over "<t>.<body>": a value computed independently (Python's hmac module), both
 * forms verified, every malformed or wrong form refused, the window checked after the MAC. */
static void test_signatures_sign_and_verify(void **state)
{
    (void)state;
    const char *body = "{\"a\":1}";
    const char *want = "49f24e537407743fa4a0242bb63b94b9a47ee99cbbe071ccd8a22550ae411686";
    char hex[PB_SIGN_HEX + 1], header[PB_SIGN_HEADER_MAX];
    pb_sign_hex("secret", 1700000000, body, strlen(body), hex);
    assert_string_equal(hex, want);
    pb_sign_header("secret", 1700000000, body, strlen(body), header, sizeof(header));
    assert_string_equal(header, "t=1700000000,v1=49f24e537407743fa4a0242bb63b94b9a47ee99cbbe071"
                                "ccd8a22550ae411686");
    const int64_t now = 1700000000;
    assert_int_equal(pb_sign_verify_header("secret", header, body, strlen(body), now, 300), 0);
    assert_int_equal(pb_sign_verify_header("secret", header, body, strlen(body), now + 300, 300),
                     0);
    assert_int_equal(pb_sign_verify_header("secret", header, body, strlen(body), now + 301, 300),
                     PB_ERR_TIMEOUT);
    assert_int_equal(pb_sign_verify_header("other", header, body, strlen(body), now, 300),
                     PB_ERR_INVALID);
    assert_int_equal(pb_sign_verify_header("secret", header, body, strlen(body) - 1, now, 300),
                     PB_ERR_INVALID);
    assert_int_equal(pb_sign_verify("secret", "1700000000", hex, body, strlen(body), now, 300), 0);
    assert_int_equal(pb_sign_verify("secret", "1700000000", hex, body, strlen(body), now - 301,
                                    300),
                     PB_ERR_TIMEOUT);
    static const char *const bad_headers[] = {
        "", "t=", "t=1700000000", "t=1700000000,v1=", "x=1700000000,v1=00",
        "t=1234567890123,v1=49f24e537407743fa4a0242bb63b94b9a47ee99cbbe071ccd8a22550ae411686",
        "t=1700000000,v1=49f24e537407743fa4a0242bb63b94b9a47ee99cbbe071ccd8a22550ae41168",
        "t=1700000000,v1=49f24e537407743fa4a0242bb63b94b9a47ee99cbbe071ccd8a22550ae4116860",
        "t=1700000000,v1=zzf24e537407743fa4a0242bb63b94b9a47ee99cbbe071ccd8a22550ae411686",
        "t=-1700000000,v1=49f24e537407743fa4a0242bb63b94b9a47ee99cbbe071ccd8a22550ae411686",
    };
    for (size_t i = 0; i < PB_ARRAY_LEN(bad_headers); i++)
        assert_int_equal(pb_sign_verify_header("secret", bad_headers[i], body, strlen(body), now,
                                               300),
                         PB_ERR_INVALID);
    assert_int_equal(pb_sign_verify_header("secret", NULL, body, strlen(body), now, 300),
                     PB_ERR_INVALID);
    assert_int_equal(pb_sign_verify("secret", "17000000x0", hex, body, strlen(body), now, 300),
                     PB_ERR_INVALID);
    assert_int_equal(pb_sign_verify("secret", "", hex, body, strlen(body), now, 300),
                     PB_ERR_INVALID);
    assert_int_equal(pb_sign_verify("secret", NULL, hex, body, strlen(body), now, 300),
                     PB_ERR_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_buf_appends_and_escapes_json),
        cmocka_unit_test(test_signatures_sign_and_verify),
        cmocka_unit_test(test_buf_integers_and_printf_growth),
        cmocka_unit_test(test_sha256_known_answers),
        cmocka_unit_test(test_json_decode_accepts_valid_document),
        cmocka_unit_test(test_json_decode_names_the_offending_field),
        cmocka_unit_test(test_json_parse_refuses_deep_nesting_before_parsing),
        cmocka_unit_test(test_json_nested_prefix_in_field_path),
        cmocka_unit_test(test_config_file_then_environment),
        cmocka_unit_test(test_config_errors_name_the_key),
        cmocka_unit_test(test_config_staff_token_from_file_and_environment),
        cmocka_unit_test(test_config_web_dir_from_file_and_environment),
        cmocka_unit_test(test_config_payments_section),
        cmocka_unit_test(test_config_roulette_limits),
        cmocka_unit_test(test_histogram_buckets_and_quantiles),
    };
    return cmocka_run_group_tests_name("unit.base", tests, NULL, NULL);
}
