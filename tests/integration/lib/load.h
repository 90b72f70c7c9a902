/* load.h: for tests whose client threads race requests at a server that is killed and
 * restarted under them (the kill -9 tests): a deterministic random stream, one HTTP
 * request that reports a dead server instead of asserting (pb_request asserts, which a
 * thread must not), and the kill-and-restart loop. */
#ifndef PB_TEST_LOAD_H
#define PB_TEST_LOAD_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "client.h"

/* The next number of the splitmix64 stream whose state is *s. */
uint64_t pb_splitmix(uint64_t *s);

struct pb_answer {
    long status;
    char *body;    /* malloc'ed, NUL-terminated ("" when the answer had none); free it */
    bool replayed; /* the answer carried "Idempotent-Replayed: true" */
};

/* method path on 127.0.0.1:port with a JSON body (may be NULL), "Authorization: Bearer
 * <token>" and, when key is not NULL, "Idempotency-Key: <key>" (20 s timeout). Returns
 * false when no HTTP answer came (the server died); a->body is allocated either way.
 * Thread-safe; asserts nothing. */
bool pb_http_once(int port, const char *method, const char *path, const char *token,
                  const char *key, const char *body, struct pb_answer *a);

/* POSTs body to path with key until an answer other than a 5xx comes: while the server is
 * down, was killed mid-request or answers 5xx, waits 20 ms and sends the same again (each such
 * attempt adds 1 to *failed), for at most wait_ms. Returns true with *a (body allocated) for
 * 201 or 422; false with failure (len bytes) saying why otherwise. *attempts gets how many
 * requests were sent. Thread-safe; asserts nothing. */
bool pb_post_until_answered(_Atomic int *port, const char *path, const char *token,
                            const char *key, const char *body, int wait_ms,
                            _Atomic long *failed, int *attempts, struct pb_answer *a,
                            char *failure, size_t len);

/* kills times: sleeps 200-899 ms, SIGKILLs srv, sleeps 0-149 ms, restarts it with env and
 * publishes its port in *port; then sleeps 400 ms so that the last incarnation gets load
 * too. The sleeps are drawn from *rng. */
void pb_kill_and_restart(struct pb_server *srv, const char *const *env, uint64_t *rng, int kills,
                         _Atomic int *port);

#endif
