/* 30_websocket.c: the WebSocket endpoint against the real binary: handshake and accept key,
 * refused handshakes as problem responses, the JSON protocol (subscribe, ping, errors that
 * keep the connection open), close codes 1009 and 1003, the close handshake, publishes and
 * domain events reaching subscribers, eviction of a slow consumer, the idle timeout, and
 * 1001 to open connections when the server stops. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "client.h"
#include "http/ws.h"
#include "ws_client.h"

#define WAIT_MS 5000

static const char *const diag_env[] = {"PITBOSS_DIAGNOSTICS=1", NULL};

/* Waits until the server has released every WebSocket (clients closed on our side are
 * released asynchronously), so stopping the server never races a release. */
static void wait_no_connections(const struct pb_server *srv)
{
    for (int i = 0; i < 100 && pb_metric(srv, "pitboss_ws_connections") != 0; i++)
        pb_sleep_ms(50);
    assert_int_equal(pb_metric(srv, "pitboss_ws_connections"), 0);
}

static void ws_open(const struct pb_server *srv, struct ws_client *c)
{
    if (ws_client_connect(c, srv->port, NULL) != 0)
        fail_msg("handshake failed: status %d", c->handshake_status);
}

static void publish(const struct pb_server *srv, const char *body)
{
    struct pb_response r;
    pb_request(srv, "POST", "/api/v1/diagnostics/publish", "application/json", body, strlen(body),
               NULL, &r);
    if (r.status != 202)
        fail_msg("publish answered %ld: %s", r.status, r.body);
    pb_response_release(&r);
}

static void test_handshake_answers_101_with_accept_key(void **state)
{
    struct pb_server *srv = *state;
    struct ws_client c;
    ws_open(srv, &c);
    assert_int_equal(c.handshake_status, 101);
    char expected[29];
    ws_accept_key(c.key, expected);
    assert_string_equal(c.accept, expected);
    ws_client_close(&c);
}

static void test_handshake_without_key_is_400_problem(void **state)
{
    struct pb_server *srv = *state;
    const char *const hdr[] = {"Upgrade: websocket", "Connection: Upgrade",
                               "Sec-WebSocket-Version: 13", NULL};
    struct pb_response r;
    pb_request(srv, "GET", "/api/v1/ws", NULL, NULL, 0, hdr, &r);
    pb_assert_problem(&r, 400, "bad_websocket_handshake");
    pb_response_release(&r);

    const char *const bad_key[] = {"Upgrade: websocket", "Connection: Upgrade",
                                   "Sec-WebSocket-Version: 13",
                                   "Sec-WebSocket-Key: c2hvcnQ=", NULL};
    pb_request(srv, "GET", "/api/v1/ws", NULL, NULL, 0, bad_key, &r);
    pb_assert_problem(&r, 400, "bad_websocket_handshake");
    pb_response_release(&r);
}

static void test_handshake_with_wrong_version_is_426_naming_13(void **state)
{
    struct pb_server *srv = *state;
    const char *const hdr[] = {"Upgrade: websocket", "Connection: Upgrade",
                               "Sec-WebSocket-Version: 8",
                               "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", NULL};
    struct pb_response r;
    pb_request(srv, "GET", "/api/v1/ws", NULL, NULL, 0, hdr, &r);
    pb_assert_problem(&r, 426, "unsupported_websocket_version");
    char version[16];
    assert_true(pb_response_header(&r, "Sec-WebSocket-Version", version, sizeof(version)));
    assert_string_equal(version, "13");
    pb_response_release(&r);
}

static void test_plain_get_is_426_upgrade_required(void **state)
{
    struct pb_server *srv = *state;
    struct pb_response r;
    pb_request(srv, "GET", "/api/v1/ws", NULL, NULL, 0, NULL, &r);
    pb_assert_problem(&r, 426, "websocket_upgrade_required");
    char upgrade[32];
    assert_true(pb_response_header(&r, "Upgrade", upgrade, sizeof(upgrade)));
    assert_string_equal(upgrade, "websocket");
    pb_response_release(&r);
}

static void test_subscribe_is_confirmed(void **state)
{
    struct pb_server *srv = *state;
    struct ws_client c;
    ws_open(srv, &c);
    ws_client_subscribe(&c, "balance", WAIT_MS);
    ws_client_close(&c);
}

static void test_ping_message_gets_pong(void **state)
{
    struct pb_server *srv = *state;
    struct ws_client c;
    ws_open(srv, &c);
    assert_int_equal(ws_client_send_text(&c, "{\"type\":\"ping\"}"), 0);
    ws_client_expect_text(&c, "{\"type\":\"pong\"}", WAIT_MS);
    ws_client_close(&c);
}

static void test_malformed_json_gets_error_and_connection_stays_usable(void **state)
{
    struct pb_server *srv = *state;
    struct ws_client c;
    ws_open(srv, &c);
    assert_int_equal(ws_client_send_text(&c, "{\"type\":\"subscribe\","), 0);
    char *text = ws_client_read_text(&c, WAIT_MS, NULL);
    assert_non_null(text);
    assert_non_null(strstr(text, "\"type\":\"error\""));
    assert_non_null(strstr(text, "\"code\":\"malformed_json\""));
    free(text);
    assert_int_equal(ws_client_send_text(&c, "{\"type\":\"launch\"}"), 0);
    text = ws_client_read_text(&c, WAIT_MS, NULL);
    assert_non_null(text);
    assert_non_null(strstr(text, "\"code\":\"unknown_type\""));
    assert_non_null(strstr(text, "\"field\":\"type\""));
    free(text);
    ws_client_subscribe(&c, "after-errors", WAIT_MS);
    ws_client_close(&c);
}

static void test_oversized_message_is_closed_1009(void **state)
{
    struct pb_server *srv = *state;
    struct ws_client c;
    ws_open(srv, &c);
    /* Declares 1 MiB (the limit is 16 KiB) and sends only a little of it. */
    assert_int_equal(ws_client_send_header(&c, WS_OP_TEXT, true, 1u << 20), 0);
    assert_int_equal(ws_client_send_raw(&c, "{\"type\":\"ping\",", 15), 0);
    assert_int_equal(ws_client_read_close(&c, WAIT_MS, NULL, 0), 1009);
    assert_true(ws_client_wait_eof(&c, WAIT_MS));
    ws_client_close(&c);
}

static void test_binary_frame_is_closed_1003(void **state)
{
    struct pb_server *srv = *state;
    struct ws_client c;
    ws_open(srv, &c);
    assert_int_equal(ws_client_send(&c, WS_OP_BINARY, "\x00\x01\x02", 3), 0);
    assert_int_equal(ws_client_read_close(&c, WAIT_MS, NULL, 0), 1003);
    assert_int_equal(ws_client_send_close(&c, 1003, ""), 0);
    assert_true(ws_client_wait_eof(&c, WAIT_MS));
    ws_client_close(&c);
}

static void test_client_close_is_echoed_then_socket_closed(void **state)
{
    struct pb_server *srv = *state;
    struct ws_client c;
    ws_open(srv, &c);
    assert_int_equal(ws_client_send_close(&c, 1000, "done"), 0);
    char reason[64];
    assert_int_equal(ws_client_read_close(&c, WAIT_MS, reason, sizeof(reason)), 1000);
    assert_string_equal(reason, "done");
    assert_true(ws_client_wait_eof(&c, WAIT_MS));
    ws_client_close(&c);
}

static void test_publish_reaches_subscribers_only(void **state)
{
    struct pb_server *srv = *state;
    struct ws_client sub, other;
    ws_open(srv, &sub);
    ws_open(srv, &other);
    ws_client_subscribe(&sub, "diag.odds", WAIT_MS);
    ws_client_subscribe(&other, "diag.other", WAIT_MS);
    publish(srv, "{\"topic\":\"diag.odds\",\"data\":{\"market\":7,\"price\":\"1.85\"}}");
    ws_client_expect_text(&sub, "{\"type\":\"event\",\"topic\":\"diag.odds\","
                      "\"data\":{\"market\":7,\"price\":\"1.85\"}}", WAIT_MS);
    char *text = ws_client_read_text(&other, 300, NULL);
    if (text)
        fail_msg("unsubscribed client got %s", text);
    ws_client_close(&sub);
    ws_client_close(&other);
}

static void test_domain_event_reaches_events_topic(void **state)
{
    struct pb_server *srv = *state;
    struct ws_client c;
    ws_open(srv, &c);
    ws_client_subscribe(&c, "events", WAIT_MS);
    const char *body = "{\"emit_event\":true}";
    struct pb_response r;
    pb_request(srv, "POST", "/api/v1/diagnostics/noop", "application/json", body, strlen(body),
               NULL, &r);
    assert_int_equal(r.status, 200);
    pb_response_release(&r);
    char *text = ws_client_read_until(&c, "diagnostics.noop", WAIT_MS);
    if (!text)
        fail_msg("no diagnostics.noop event on topic events");
    assert_non_null(strstr(text, "{\"type\":\"event\",\"topic\":\"events\",\"data\":{"));
    assert_non_null(strstr(text, "\"type\":\"diagnostics.noop\""));
    free(text);
    ws_client_close(&c);
}

static void test_slow_consumer_is_evicted(void **state)
{
    struct pb_server *srv = *state;
    long long evictions_before = pb_metric(srv, "pitboss_ws_evictions_total");
    assert_true(evictions_before >= 0);
    struct ws_client slow;
    const struct ws_client_options opt = {.rcvbuf = 4096};
    if (ws_client_connect(&slow, srv->port, &opt) != 0)
        fail_msg("handshake failed: status %d", slow.handshake_status);
    ws_client_subscribe(&slow, "diag.firehose", WAIT_MS);
    /* ~40 KiB per event; the client never reads, so its queue fills past 256 KiB once the
     * kernel buffers are full. */
    size_t pad = 40 * 1024;
    char *body = malloc(pad + 128);
    assert_non_null(body);
    int n = snprintf(body, pad + 128, "{\"topic\":\"diag.firehose\",\"data\":{\"pad\":\"");
    memset(body + n, 'x', pad);
    strcpy(body + n + pad, "\"}}");
    long long evictions = evictions_before;
    for (int i = 0; i < 1000 && evictions <= evictions_before; i++) {
        publish(srv, body);
        if (i % 10 == 9)
            evictions = pb_metric(srv, "pitboss_ws_evictions_total");
    }
    free(body);
    for (int i = 0; i < 50 && evictions <= evictions_before; i++) {
        pb_sleep_ms(100);
        evictions = pb_metric(srv, "pitboss_ws_evictions_total");
    }
    assert_true(evictions >= evictions_before + 1);
    /* The socket ends: either we find the 1008 close behind the backlog, or the hub gave up
     * waiting for our answer after PB_WS_CLOSE_TIMEOUT_S and closed it. */
    int code = ws_client_read_close(&slow, 15000, NULL, 0);
    assert_true(code == 1008 || code == 0);
    assert_true(code == 0 || ws_client_wait_eof(&slow, 10000));
    ws_client_close(&slow);
}

static void test_metrics_count_connections_and_messages(void **state)
{
    struct pb_server *srv = *state;
    struct ws_client c;
    ws_open(srv, &c);
    ws_client_subscribe(&c, "m", WAIT_MS);
    assert_true(pb_metric(srv, "pitboss_ws_connections") >= 1);
    assert_true(pb_metric(srv, "pitboss_ws_messages_received_total") >= 1);
    assert_true(pb_metric(srv, "pitboss_ws_messages_sent_total") >= 1);
    assert_true(pb_metric(srv, "pitboss_ws_publish_dropped_total") >= 0);
    ws_client_close(&c);
}

static void test_idle_connection_is_closed_and_responsive_one_stays(void **state)
{
    (void)state;
    static const char *const env[] = {
        "PITBOSS_WS_PING_INTERVAL_S=1",
        "PITBOSS_WS_IDLE_TIMEOUT_S=2",
        NULL,
    };
    struct pb_server srv;
    pb_server_start(&srv, env);
    struct ws_client live, silent;
    ws_open(&srv, &live);
    ws_open(&srv, &silent);
    silent.answer_pings = false;
    /* Alternate between the two: live answers every ping as it comes, silent never speaks. */
    int code = -1;
    char reason[64] = "";
    struct ws_frame f;
    for (int i = 0; i < 200 && code == -1; i++) {
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
    for (int i = 0; i < 40; i++) { /* two more seconds: live stays */
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
    wait_no_connections(&srv);
    pb_server_stop(&srv);
}

static void test_server_shutdown_sends_going_away(void **state)
{
    (void)state;
    struct pb_server srv;
    pb_server_start(&srv, NULL);
    struct ws_client c;
    ws_open(&srv, &c);
    ws_client_subscribe(&c, "balance", WAIT_MS);
    pb_server_stop(&srv); /* exit 0 asserted; the hub waits briefly for our answer */
    char reason[64];
    assert_int_equal(ws_client_read_close(&c, WAIT_MS, reason, sizeof(reason)), 1001);
    assert_true(ws_client_wait_eof(&c, WAIT_MS));
    ws_client_close(&c);
}

static int setup(void **state)
{
    static struct pb_server srv;
    curl_global_init(CURL_GLOBAL_ALL);
    pb_server_start(&srv, diag_env);
    *state = &srv;
    return 0;
}

static int teardown(void **state)
{
    wait_no_connections(*state);
    pb_server_stop(*state);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_handshake_answers_101_with_accept_key),
        cmocka_unit_test(test_handshake_without_key_is_400_problem),
        cmocka_unit_test(test_handshake_with_wrong_version_is_426_naming_13),
        cmocka_unit_test(test_plain_get_is_426_upgrade_required),
        cmocka_unit_test(test_subscribe_is_confirmed),
        cmocka_unit_test(test_ping_message_gets_pong),
        cmocka_unit_test(test_malformed_json_gets_error_and_connection_stays_usable),
        cmocka_unit_test(test_oversized_message_is_closed_1009),
        cmocka_unit_test(test_binary_frame_is_closed_1003),
        cmocka_unit_test(test_client_close_is_echoed_then_socket_closed),
        cmocka_unit_test(test_publish_reaches_subscribers_only),
        cmocka_unit_test(test_domain_event_reaches_events_topic),
        cmocka_unit_test(test_slow_consumer_is_evicted),
        cmocka_unit_test(test_metrics_count_connections_and_messages),
        cmocka_unit_test(test_idle_connection_is_closed_and_responsive_one_stays),
        cmocka_unit_test(test_server_shutdown_sends_going_away),
    };
    return cmocka_run_group_tests_name("integration.websocket", tests, setup, teardown);
}
