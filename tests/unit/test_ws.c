/* test_ws.c: SHA-1 (FIPS 180 vectors), the WebSocket handshake helpers, the client message
 * protocol, and the hub itself driven over socketpairs with the test WebSocket client
 * (ws__hub_hand_over with no MHD handle: the hub owns and closes the fd). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/base.h"
#include "base/sha1.h"
#include "http/ws.h"
#include "http/ws_int.h"

/* The test client is shared with the black-box tests; the hub tests drive it over a
 * socketpair. */
#include "../integration/lib/ws_client.c"

static void sha1_hex(const void *data, size_t len, char out[41])
{
    unsigned char d[PB_SHA1_DIGEST_LEN];
    pb_sha1(data, len, d);
    for (int i = 0; i < PB_SHA1_DIGEST_LEN; i++)
        snprintf(out + 2 * i, 3, "%02x", d[i]);
}

static void test_sha1_matches_fips_180_vectors(void **state)
{
    (void)state;
    char hex[41];
    sha1_hex("abc", 3, hex);
    assert_string_equal(hex, "a9993e364706816aba3e25717850c26c9cd0d89d");
    sha1_hex("", 0, hex);
    assert_string_equal(hex, "da39a3ee5e6b4b0d3255bfef95601890afd80709");
    const char *m448 = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    sha1_hex(m448, strlen(m448), hex);
    assert_string_equal(hex, "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
    const char *m896 = "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnop"
                       "jklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu";
    sha1_hex(m896, strlen(m896), hex);
    assert_string_equal(hex, "a49b2446a02c645bf419f995b67091253a04a259");
    char *million = malloc(1000000);
    assert_non_null(million);
    memset(million, 'a', 1000000);
    sha1_hex(million, 1000000, hex);
    assert_string_equal(hex, "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
    free(million);
}

static void test_sha1_handles_padding_boundaries(void **state)
{
    (void)state;
    static const struct {
        size_t len;
        const char *hex;
    } cases[] = {
        {55, "c1c8bbdc22796e28c0e15163d20899b65621d65a"},
        {56, "c2db330f6083854c99d4b5bfb6e8f29f201be699"},
        {63, "03f09f5b158a7a8cdad920bddc29b81c18a551f5"},
        {64, "0098ba824b5c16427bd7a1122a5a442a25ec644d"},
        {65, "11655326c708d70319be2610e8a57d9a5b959d3b"},
        {119, "ee971065aaa017e0632a8ca6c77bb3bf8b1dfc56"},
        {120, "f34c1488385346a55709ba056ddd08280dd4c6d6"},
    };
    char a[128], hex[41];
    memset(a, 'a', sizeof(a));
    for (size_t i = 0; i < PB_ARRAY_LEN(cases); i++) {
        sha1_hex(a, cases[i].len, hex);
        assert_string_equal(hex, cases[i].hex);
    }
}

static void test_accept_key_matches_rfc_6455_example(void **state)
{
    (void)state;
    char accept[29];
    ws_accept_key("dGhlIHNhbXBsZSBub25jZQ==", accept);
    assert_string_equal(accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="); /* RFC 6455 section 1.3 */
}

static void test_key_must_be_base64_of_16_bytes(void **state)
{
    (void)state;
    assert_true(ws__key_valid("dGhlIHNhbXBsZSBub25jZQ=="));
    assert_false(ws__key_valid(NULL));
    assert_false(ws__key_valid(""));
    assert_false(ws__key_valid("dGhlIHNhbXBsZSBub25jZQ"));   /* no padding */
    assert_false(ws__key_valid("dGhlIHNhbXBsZSBub25jZQ=A")); /* bad padding */
    assert_false(ws__key_valid("AAAAAAAAAAAAAAAAAAAAAAAA")); /* 18 bytes */
    assert_false(ws__key_valid("dGhlIHNhbXBsZSBub25j*Q==")); /* not base64 */
    assert_false(ws__key_valid("dGhlIHNhbXBsZSBub25jZQ==x"));
}

static void test_connection_header_tokens_are_matched_case_insensitively(void **state)
{
    (void)state;
    assert_true(ws__header_has_token("Upgrade", "upgrade"));
    assert_true(ws__header_has_token("keep-alive, Upgrade", "upgrade"));
    assert_true(ws__header_has_token(" , UPGRADE ,x", "upgrade"));
    assert_true(ws__header_has_token("websocket", "websocket"));
    assert_false(ws__header_has_token("Upgrades", "upgrade"));
    assert_false(ws__header_has_token("keep-alive", "upgrade"));
    assert_false(ws__header_has_token("", "upgrade"));
    assert_false(ws__header_has_token(NULL, "upgrade"));
}

static int parse(const char *text, struct ws__client_msg *m, struct pb_json_error *err)
{
    return ws__client_msg_parse(text, strlen(text), m, err);
}

static void test_client_messages_decode_strictly(void **state)
{
    (void)state;
    struct ws__client_msg m;
    struct pb_json_error err;
    assert_int_equal(parse("{\"type\":\"subscribe\",\"topic\":\"odds.1\"}", &m, &err), PB_OK);
    assert_int_equal(m.kind, WS_MSG_SUBSCRIBE);
    assert_string_equal(m.topic, "odds.1");
    assert_int_equal(parse("{\"topic\":\"t\",\"type\":\"unsubscribe\"}", &m, &err), PB_OK);
    assert_int_equal(m.kind, WS_MSG_UNSUBSCRIBE);
    assert_int_equal(parse("{\"type\":\"ping\"}", &m, &err), PB_OK);
    assert_int_equal(m.kind, WS_MSG_PING);
    assert_string_equal(m.topic, "");
}

static void expect_error(const char *text, const char *code, const char *field)
{
    struct ws__client_msg m;
    struct pb_json_error err;
    assert_int_equal(parse(text, &m, &err), PB_ERR_INVALID);
    assert_string_equal(err.code, code);
    assert_string_equal(err.field, field);
}

static void test_bad_client_messages_name_the_problem(void **state)
{
    (void)state;
    char long_topic[PB_WS_TOPIC_MAX + 64];
    snprintf(long_topic, sizeof(long_topic), "{\"type\":\"subscribe\",\"topic\":\"%0*d\"}",
             PB_WS_TOPIC_MAX + 1, 0);
    expect_error("{\"type\":", "malformed_json", "");
    expect_error("[1,2]", "wrong_type", "");
    expect_error("{\"topic\":\"t\"}", "missing_field", "type");
    expect_error("{\"type\":7}", "wrong_type", "type");
    expect_error("{\"type\":\"dance\"}", "unknown_type", "type");
    expect_error("{\"type\":\"ping\",\"topic\":\"t\"}", "unknown_field", "topic");
    expect_error("{\"type\":\"subscribe\"}", "missing_field", "topic");
    expect_error("{\"type\":\"subscribe\",\"topic\":\"\"}", "out_of_range", "topic");
    expect_error(long_topic, "out_of_range", "topic");
}

static void test_server_messages_are_encoded_as_json(void **state)
{
    (void)state;
    struct pb_buf b = PB_BUF_INIT;
    ws__encode_error(&b, "unknown_field", "is not a known field", "topic");
    assert_string_equal(pb_buf_str(&b), "{\"type\":\"error\",\"code\":\"unknown_field\","
                                        "\"detail\":\"is not a known field\","
                                        "\"field\":\"topic\"}");
    pb_buf_reset(&b);
    ws__encode_error(&b, "malformed_json", "bad", "");
    assert_string_equal(pb_buf_str(&b),
                        "{\"type\":\"error\",\"code\":\"malformed_json\",\"detail\":\"bad\"}");
    pb_buf_reset(&b);
    ws__encode_topic_reply(&b, "subscribed", "a\"b");
    assert_string_equal(pb_buf_str(&b), "{\"type\":\"subscribed\",\"topic\":\"a\\\"b\"}");
    pb_buf_reset(&b);
    ws__encode_event(&b, "t", 1, "{\"x\":1}", 7);
    assert_string_equal(pb_buf_str(&b), "{\"type\":\"event\",\"topic\":\"t\",\"data\":{\"x\":1}}");
    pb_buf_release(&b);
}

/* ---- the hub over socketpairs ---- */

#define WAIT_MS 3000

static const struct ws_hub_config base_config = {
    .message_max = 1024,
    .send_queue_max = 64 * 1024,
    .connections_max = 8,
    .ping_interval_s = 20,
    .idle_timeout_s = 60,
};

static struct ws_hub *start_hub(const struct ws_hub_config *cfg)
{
    struct ws_hub *hub = NULL;
    assert_int_equal(ws_hub_start(cfg, &hub), PB_OK);
    assert_non_null(hub);
    return hub;
}

/* Hands one end of a socketpair to the hub (with extra bytes as MHD's extra_in) and attaches
 * the client to the other end. */
static void open_pair(struct ws_hub *hub, struct ws_client *c, const void *extra, size_t extra_len)
{
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    assert_int_equal(ws__hub_hand_over(hub, sv[0], NULL, extra, extra_len, "staff"), PB_OK);
    ws_client_attach(c, sv[1]);
}

static long long metric(struct ws_hub *hub, const char *name)
{
    struct pb_buf b = PB_BUF_INIT;
    ws_hub_metrics(hub, &b);
    long long v = -1;
    size_t n = strlen(name);
    for (const char *p = pb_buf_str(&b); (p = strstr(p, name)); p += n) {
        if ((p == b.data || p[-1] == '\n') && p[n] == ' ') {
            v = atoll(p + n + 1);
            break;
        }
    }
    pb_buf_release(&b);
    return v;
}

static void wait_metric(struct ws_hub *hub, const char *name, long long value)
{
    for (int i = 0; i < WAIT_MS / 10 && metric(hub, name) != value; i++)
        nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
    assert_int_equal(metric(hub, name), value);
}

static void test_hub_subscribe_publish_unsubscribe(void **state)
{
    (void)state;
    struct ws_hub *hub = start_hub(&base_config);
    assert_true(ws_hub_idle(hub)); /* nobody to publish to */
    struct ws_client a, b;
    open_pair(hub, &a, NULL, 0);
    open_pair(hub, &b, NULL, 0);
    assert_false(ws_hub_idle(hub));
    assert_false(ws_hub_wanted(hub, "odds"));
    ws_client_subscribe(&a, "odds", WAIT_MS);
    ws_client_subscribe(&b, "balance", WAIT_MS);
    assert_true(ws_hub_wanted(hub, "odds")); /* counted before the reply */
    assert_true(ws_hub_wanted(hub, "balance"));
    assert_false(ws_hub_wanted(hub, "nobody"));
    assert_int_equal(ws_hub_publish(hub, "nobody", "{\"n\":0}", 7), PB_OK); /* not queued */
    assert_int_equal(ws_hub_publish(hub, "odds", "{\"p\":1.5}", 9), PB_OK);
    ws_client_expect_text(&a, "{\"type\":\"event\",\"topic\":\"odds\",\"data\":{\"p\":1.5}}",
                          WAIT_MS);
    assert_int_equal(ws_client_send_text(&a, "{\"type\":\"unsubscribe\",\"topic\":\"odds\"}"), 0);
    ws_client_expect_text(&a, "{\"type\":\"unsubscribed\",\"topic\":\"odds\"}", WAIT_MS);
    assert_false(ws_hub_wanted(hub, "odds"));
    assert_int_equal(ws_hub_publish(hub, "odds", "{\"p\":2}", 7), PB_OK);
    assert_int_equal(ws_hub_publish(hub, "balance", "{\"b\":3}", 7), PB_OK);
    ws_client_expect_text(&b, "{\"type\":\"event\",\"topic\":\"balance\",\"data\":{\"b\":3}}",
                          WAIT_MS);
    assert_null(ws_client_read_text(&a, 200, NULL)); /* odds after unsubscribing: nothing */
    assert_int_equal(metric(hub, "pitboss_ws_connections"), 2);
    assert_true(metric(hub, "pitboss_ws_messages_received_total") >= 3);
    assert_true(metric(hub, "pitboss_ws_messages_sent_total") >= 5);
    ws_client_close(&a);
    ws_client_close(&b);
    wait_metric(hub, "pitboss_ws_connections", 0);
    assert_true(ws_hub_idle(hub));
    assert_false(ws_hub_wanted(hub, "balance")); /* a closed connection holds nothing */
    ws_hub_free(hub);
}

static void test_hub_answers_ping_message_with_pong(void **state)
{
    (void)state;
    struct ws_hub *hub = start_hub(&base_config);
    struct ws_client c;
    open_pair(hub, &c, NULL, 0);
    assert_int_equal(ws_client_send_text(&c, "{\"type\":\"ping\"}"), 0);
    ws_client_expect_text(&c, "{\"type\":\"pong\"}", WAIT_MS);
    assert_int_equal(ws_client_send(&c, WS_OP_PING, "hi", 2), 0); /* protocol-level ping */
    struct ws_frame f;
    assert_int_equal(ws_client_read_frame(&c, &f, WAIT_MS), 1);
    assert_int_equal(f.opcode, WS_OP_PONG);
    assert_string_equal((char *)f.data, "hi");
    ws_frame_release(&f);
    ws_client_close(&c);
    ws_hub_free(hub);
}

static void test_hub_reports_bad_messages_and_stays_open(void **state)
{
    (void)state;
    struct ws_hub *hub = start_hub(&base_config);
    struct ws_client c;
    open_pair(hub, &c, NULL, 0);
    assert_int_equal(ws_client_send_text(&c, "{not json"), 0);
    char *text = ws_client_read_text(&c, WAIT_MS, NULL);
    assert_non_null(text);
    assert_non_null(strstr(text, "\"type\":\"error\""));
    assert_non_null(strstr(text, "\"code\":\"malformed_json\""));
    free(text);
    assert_int_equal(ws_client_send_text(&c, "{\"type\":\"ping\",\"x\":1}"), 0);
    text = ws_client_read_text(&c, WAIT_MS, NULL);
    assert_non_null(text);
    assert_non_null(strstr(text, "\"code\":\"unknown_field\""));
    assert_non_null(strstr(text, "\"field\":\"x\""));
    free(text);
    ws_client_subscribe(&c, "still-usable", WAIT_MS);
    ws_client_close(&c);
    ws_hub_free(hub);
}

static void test_hub_limits_topics_per_connection(void **state)
{
    (void)state;
    struct ws_hub *hub = start_hub(&base_config);
    struct ws_client c;
    open_pair(hub, &c, NULL, 0);
    char topic[32];
    for (int i = 0; i < PB_WS_TOPICS_PER_CONNECTION_MAX; i++) {
        snprintf(topic, sizeof(topic), "t%d", i);
        ws_client_subscribe(&c, topic, WAIT_MS);
    }
    ws_client_subscribe(&c, "t0", WAIT_MS); /* already subscribed: fine */
    const char *one_more = "{\"type\":\"subscribe\",\"topic\":\"one-more\"}";
    assert_int_equal(ws_client_send_text(&c, one_more), 0);
    char *text = ws_client_read_text(&c, WAIT_MS, NULL);
    assert_non_null(text);
    assert_non_null(strstr(text, "\"code\":\"too_many_topics\""));
    free(text);
    ws_client_close(&c);
    ws_hub_free(hub);
}

static void test_hub_reads_bytes_mhd_already_received(void **state)
{
    (void)state;
    struct ws_hub *hub = start_hub(&base_config);
    /* Build a masked subscribe frame by sending it through a throwaway socketpair. */
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    struct ws_client writer;
    ws_client_attach(&writer, sv[1]);
    assert_int_equal(ws_client_send_text(&writer, "{\"type\":\"subscribe\",\"topic\":\"x\"}"), 0);
    char frame[256];
    ssize_t n = recv(sv[0], frame, sizeof(frame), 0);
    assert_true(n > 0);
    close(sv[0]);
    ws_client_close(&writer);

    struct ws_client c;
    open_pair(hub, &c, frame, (size_t)n);
    ws_client_expect_text(&c, "{\"type\":\"subscribed\",\"topic\":\"x\"}", WAIT_MS);
    ws_client_close(&c);
    ws_hub_free(hub);
}

static void test_hub_closes_1009_on_declared_oversized_message(void **state)
{
    (void)state;
    struct ws_hub *hub = start_hub(&base_config);
    struct ws_client c;
    open_pair(hub, &c, NULL, 0);
    /* wslay checks the declared length once the first payload bytes are in. */
    assert_int_equal(ws_client_send_header(&c, WS_OP_TEXT, true, 1u << 20), 0);
    assert_int_equal(ws_client_send_raw(&c, "0123456789", 10), 0);
    assert_int_equal(ws_client_read_close(&c, WAIT_MS, NULL, 0), 1009);
    assert_true(ws_client_wait_eof(&c, WAIT_MS));
    ws_client_close(&c);
    wait_metric(hub, "pitboss_ws_connections", 0);
    ws_hub_free(hub);
}

static void test_hub_closes_1009_on_full_oversized_message(void **state)
{
    (void)state;
    struct ws_hub *hub = start_hub(&base_config);
    struct ws_client c;
    open_pair(hub, &c, NULL, 0);
    char big[4096];
    memset(big, 'x', sizeof(big));
    assert_int_equal(ws_client_send(&c, WS_OP_TEXT, big, sizeof(big)), 0);
    assert_int_equal(ws_client_read_close(&c, WAIT_MS, NULL, 0), 1009);
    assert_true(ws_client_wait_eof(&c, WAIT_MS)); /* drained, then closed: no reset */
    ws_client_close(&c);
    ws_hub_free(hub);
}

static void test_hub_closes_1003_on_binary_frame(void **state)
{
    (void)state;
    struct ws_hub *hub = start_hub(&base_config);
    struct ws_client c;
    open_pair(hub, &c, NULL, 0);
    assert_int_equal(ws_client_send(&c, WS_OP_BINARY, "\x01\x02", 2), 0);
    assert_int_equal(ws_client_read_close(&c, WAIT_MS, NULL, 0), 1003);
    assert_int_equal(ws_client_send_close(&c, 1003, ""), 0); /* finish the handshake */
    assert_true(ws_client_wait_eof(&c, WAIT_MS));
    ws_client_close(&c);
    wait_metric(hub, "pitboss_ws_connections", 0);
    ws_hub_free(hub);
}

static void test_hub_echoes_client_close_then_closes_socket(void **state)
{
    (void)state;
    struct ws_hub *hub = start_hub(&base_config);
    struct ws_client c;
    open_pair(hub, &c, NULL, 0);
    assert_int_equal(ws_client_send_close(&c, 1000, "bye"), 0);
    char reason[64];
    assert_int_equal(ws_client_read_close(&c, WAIT_MS, reason, sizeof(reason)), 1000);
    assert_string_equal(reason, "bye");
    assert_true(ws_client_wait_eof(&c, WAIT_MS));
    ws_client_close(&c);
    wait_metric(hub, "pitboss_ws_connections", 0);
    ws_hub_free(hub);
}

static void test_hub_evicts_slow_consumer(void **state)
{
    (void)state;
    struct ws_hub *hub = start_hub(&base_config);
    struct ws_client slow, fast;
    open_pair(hub, &slow, NULL, 0);
    open_pair(hub, &fast, NULL, 0);
    ws_client_subscribe(&slow, "firehose", WAIT_MS);
    static char data[8192 + 3];
    data[0] = '"';
    memset(data + 1, 'x', 8192);
    data[8193] = '"';
    /* Socket buffers of a socketpair are a few hundred KiB: keep publishing until the
     * hub's queue for the silent client passes 64 KiB. */
    for (int i = 0; i < 2000 && metric(hub, "pitboss_ws_evictions_total") < 1; i++) {
        assert_int_equal(ws_hub_publish(hub, "firehose", data, 8194), PB_OK);
        if (i % 16 == 15)
            nanosleep(&(struct timespec){0, 2 * 1000 * 1000}, NULL);
    }
    wait_metric(hub, "pitboss_ws_evictions_total", 1);
    /* The evicted client finds the 1008 close after the backlog. */
    assert_int_equal(ws_client_read_close(&slow, 10000, NULL, 0), 1008);
    assert_int_equal(ws_client_send_close(&slow, 1008, ""), 0);
    assert_true(ws_client_wait_eof(&slow, WAIT_MS));
    ws_client_subscribe(&fast, "unaffected", WAIT_MS); /* the other connection is untouched */
    ws_client_close(&slow);
    ws_client_close(&fast);
    ws_hub_free(hub);
}

static void test_hub_closes_idle_connection_and_keeps_responsive_one(void **state)
{
    (void)state;
    struct ws_hub_config cfg = base_config;
    cfg.ping_interval_s = 1;
    cfg.idle_timeout_s = 2;
    struct ws_hub *hub = start_hub(&cfg);
    struct ws_client live, silent;
    open_pair(hub, &live, NULL, 0);
    open_pair(hub, &silent, NULL, 0);
    silent.answer_pings = false;
    /* Alternate between the two: live answers pings as they come, silent never speaks. */
    int code = -1;
    char reason[64] = "";
    struct ws_frame f;
    for (int i = 0; i < 100 && code == -1; i++) {
        int rc = ws_client_read_frame(&live, &f, 25);
        assert_true(rc >= 0);
        if (rc == 1) {
            assert_int_not_equal(f.opcode, WS_OP_CLOSE);
            ws_frame_release(&f);
        }
        code = ws_client_read_close(&silent, 25, reason, sizeof(reason));
    }
    assert_int_equal(code, 1001);
    assert_string_equal(reason, "idle");
    for (int i = 0; i < 20; i++) { /* another second: live stays */
        int rc = ws_client_read_frame(&live, &f, 50);
        assert_true(rc >= 0);
        if (rc == 1) {
            assert_int_not_equal(f.opcode, WS_OP_CLOSE);
            ws_frame_release(&f);
        }
    }
    assert_true(live.pings_seen >= 2);
    assert_int_equal(ws_client_send_text(&live, "{\"type\":\"ping\"}"), 0);
    ws_client_expect_text(&live, "{\"type\":\"pong\"}", WAIT_MS);
    ws_client_close(&silent);
    ws_client_close(&live);
    ws_hub_free(hub);
}

static void test_hub_refuses_connections_beyond_capacity(void **state)
{
    (void)state;
    struct ws_hub_config cfg = base_config;
    cfg.connections_max = 1;
    struct ws_hub *hub = start_hub(&cfg);
    assert_int_equal(ws__hub_admit(hub), PB_OK);
    struct ws_client a, b;
    open_pair(hub, &a, NULL, 0);
    ws_client_subscribe(&a, "x", WAIT_MS);
    assert_int_equal(ws__hub_admit(hub), PB_ERR_FULL);
    open_pair(hub, &b, NULL, 0); /* past the soft check: the hub closes it */
    assert_int_equal(ws_client_read_close(&b, WAIT_MS, NULL, 0), 1013);
    ws_client_close(&b);
    ws_client_close(&a);
    ws_hub_free(hub);
}

static void test_hub_publish_refuses_bad_input(void **state)
{
    (void)state;
    struct ws_hub *hub = start_hub(&base_config);
    char topic[PB_WS_TOPIC_MAX + 2];
    memset(topic, 't', sizeof(topic) - 1);
    topic[sizeof(topic) - 1] = '\0';
    assert_int_equal(ws_hub_publish(hub, "", "1", 1), PB_ERR_INVALID);
    assert_int_equal(ws_hub_publish(hub, topic, "1", 1), PB_ERR_INVALID);
    assert_int_equal(ws_hub_publish(hub, "t", "", 0), PB_ERR_INVALID);
    char *big = malloc(base_config.send_queue_max + 1);
    assert_non_null(big);
    memset(big, '1', base_config.send_queue_max + 1);
    assert_int_equal(ws_hub_publish(hub, "t", big, base_config.send_queue_max + 1),
                     PB_ERR_TOO_LARGE);
    free(big);
    ws_hub_stop(hub);
    assert_int_equal(ws_hub_publish(hub, "t", "1", 1), PB_ERR_CLOSED);
    assert_int_equal(ws__hub_admit(hub), PB_ERR_CLOSED);
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    assert_int_equal(ws__hub_hand_over(hub, sv[0], NULL, NULL, 0, ""), PB_ERR_CLOSED);
    close(sv[0]);
    close(sv[1]);
    ws_hub_free(hub);
}

static void test_hub_stop_sends_going_away(void **state)
{
    (void)state;
    struct ws_hub *hub = start_hub(&base_config);
    struct ws_client c;
    open_pair(hub, &c, NULL, 0);
    ws_client_subscribe(&c, "x", WAIT_MS);
    ws_hub_stop(hub); /* waits at most PB_WS_STOP_WAIT_MS for our close, then drops us */
    assert_int_equal(ws_client_read_close(&c, WAIT_MS, NULL, 0), 1001);
    assert_true(ws_client_wait_eof(&c, WAIT_MS));
    ws_client_close(&c);
    ws_hub_free(hub);
}

static void test_hub_metrics_are_prometheus_lines(void **state)
{
    (void)state;
    struct ws_hub *hub = start_hub(&base_config);
    struct pb_buf b = PB_BUF_INIT;
    ws_hub_metrics(hub, &b);
    static const char *const lines[] = {
        "# TYPE pitboss_ws_connections gauge\npitboss_ws_connections 0\n",
        "# TYPE pitboss_ws_evictions_total counter\npitboss_ws_evictions_total 0\n",
        "\npitboss_ws_messages_received_total 0\n",
        "\npitboss_ws_messages_sent_total 0\n",
        "\npitboss_ws_publish_dropped_total 0\n",
    };
    for (size_t i = 0; i < PB_ARRAY_LEN(lines); i++)
        if (!strstr(pb_buf_str(&b), lines[i]))
            fail_msg("missing %s in %s", lines[i], pb_buf_str(&b));
    pb_buf_release(&b);
    ws_hub_free(hub);
}

static void test_hub_start_refuses_bad_config(void **state)
{
    (void)state;
    struct ws_hub *hub = (struct ws_hub *)1;
    struct ws_hub_config cfg = base_config;
    cfg.message_max = 0;
    assert_int_equal(ws_hub_start(&cfg, &hub), PB_ERR_INVALID);
    assert_null(hub);
    cfg = base_config;
    cfg.idle_timeout_s = 0;
    assert_int_equal(ws_hub_start(&cfg, &hub), PB_ERR_INVALID);
    cfg = base_config;
    cfg.message_max = PB_WS_MESSAGE_MAX_CEILING + 1;
    assert_int_equal(ws_hub_start(&cfg, &hub), PB_ERR_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sha1_matches_fips_180_vectors),
        cmocka_unit_test(test_sha1_handles_padding_boundaries),
        cmocka_unit_test(test_accept_key_matches_rfc_6455_example),
        cmocka_unit_test(test_key_must_be_base64_of_16_bytes),
        cmocka_unit_test(test_connection_header_tokens_are_matched_case_insensitively),
        cmocka_unit_test(test_client_messages_decode_strictly),
        cmocka_unit_test(test_bad_client_messages_name_the_problem),
        cmocka_unit_test(test_server_messages_are_encoded_as_json),
        cmocka_unit_test(test_hub_subscribe_publish_unsubscribe),
        cmocka_unit_test(test_hub_answers_ping_message_with_pong),
        cmocka_unit_test(test_hub_reports_bad_messages_and_stays_open),
        cmocka_unit_test(test_hub_limits_topics_per_connection),
        cmocka_unit_test(test_hub_reads_bytes_mhd_already_received),
        cmocka_unit_test(test_hub_closes_1009_on_declared_oversized_message),
        cmocka_unit_test(test_hub_closes_1009_on_full_oversized_message),
        cmocka_unit_test(test_hub_closes_1003_on_binary_frame),
        cmocka_unit_test(test_hub_echoes_client_close_then_closes_socket),
        cmocka_unit_test(test_hub_evicts_slow_consumer),
        cmocka_unit_test(test_hub_closes_idle_connection_and_keeps_responsive_one),
        cmocka_unit_test(test_hub_refuses_connections_beyond_capacity),
        cmocka_unit_test(test_hub_publish_refuses_bad_input),
        cmocka_unit_test(test_hub_stop_sends_going_away),
        cmocka_unit_test(test_hub_metrics_are_prometheus_lines),
        cmocka_unit_test(test_hub_start_refuses_bad_config),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
