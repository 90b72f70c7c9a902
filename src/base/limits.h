/* limits.h: every limit pitboss enforces, named once, with the reason for its value.
 * Configuration may lower or raise some of these within the bounds given here
 * (src/base/config.c checks them). STYLE.md section 8. */
#ifndef PB_LIMITS_H
#define PB_LIMITS_H

/* HTTP */
#define PB_HTTP_BODY_MAX_DEFAULT (64 * 1024)     /* API bodies are small JSON documents */
#define PB_HTTP_BODY_MAX_CEILING (16 * 1024 * 1024)
#define PB_HTTP_CONNECTIONS_DEFAULT 4096 /* > the 512 keep-alive clients we test, < fd limit */
#define PB_HTTP_CONNECTIONS_CEILING 65536
#define PB_HTTP_PER_IP_CONNECTIONS_DEFAULT 0 /* 0: no per-IP cap; set one behind no proxy */
#define PB_HTTP_TIMEOUT_S_DEFAULT 60     /* idle keep-alive connections are closed after this */
#define PB_HTTP_THREADS_DEFAULT 2        /* >= 2: bookworm's MHD stalls without a pool */
#define PB_HTTP_THREADS_MAX 64
#define PB_HTTP_PATH_MAX 1024            /* longer request targets get 414 */
#define PB_HTTP_PATH_SEGMENTS_MAX 16     /* route patterns and paths have at most this many */
#define PB_HTTP_PATH_PARAMS_MAX 4        /* path parameters per route */
#define PB_HTTP_REQUEST_ID_MAX 64        /* a client-supplied X-Request-Id longer is replaced */
#define PB_HTTP_PRINCIPAL_MAX 80         /* "player:<64-char id>", "staff:<id>" */
/* MHD's per-connection pool (read buffer, response headers): a request's header block must fit
 * (16 KiB, as common servers allow; 32 KiB cost ~1.6 us per request: MHD touches the pool) */
#define PB_HTTP_MEMORY_PER_CONNECTION (16 * 1024)
#define PB_HTTP_STATIC_FILE_MAX (16 * 1024 * 1024) /* web app bundles are < 1 MiB; a larger
                                                    * file in the web dir is not ours: 404 */

/* JSON */
#define PB_JSON_DEPTH_MAX 32             /* deeper documents are refused before parsing */
#define PB_JSON_FIELD_PATH_MAX 128       /* "a.b.c" path reported in validation errors */

/* Writer */
#define PB_WRITER_BATCH_MAX_DEFAULT 512  /* commands per transaction; one fsync covers them */
#define PB_WRITER_BATCH_MAX_CEILING 8192
#define PB_WRITER_QUEUE_MAX_DEFAULT 16384 /* pending commands before callers get 503 */
#define PB_WRITER_QUEUE_MAX_CEILING (1 << 20)
#define PB_WRITER_WAIT_US_DEFAULT 0      /* extra wait for a fuller batch; 0 = take what is there */
#define PB_WRITER_WAIT_US_CEILING 100000
#define PB_WRITER_EVENTS_PER_COMMAND_MAX 64 /* a command emitting more is a programming error */

/* Event outbox */
#define PB_OUTBOX_FETCH_MAX 512          /* events read and delivered per relay turn */
/* Committed events handed from the writer to the relay in memory (so the relay need not read
 * them back), at most: a few seconds of the busiest load; past it, the relay reads them from
 * the outbox table as after a restart. */
#define PB_OUTBOX_MEMORY_EVENTS_MAX 65536
#define PB_OUTBOX_MEMORY_BYTES_MAX (32 * 1024 * 1024)
#define PB_EVENT_TYPE_MAX 64
#define PB_EVENT_ID_MAX 64               /* "<node>-<20-digit seq>"; node names are <= 32 */
#define PB_EVENT_SUBJECT_MAX 256

/* Store */
#define PB_STORE_READERS_DEFAULT 4       /* reader connections shared by HTTP threads */
#define PB_STORE_READERS_CEILING 256
#define PB_STORE_PARAMS_MAX 32           /* bound parameters per statement */
#define PB_STORE_BUSY_TIMEOUT_MS 5000    /* SQLite: readers wait this long behind a checkpoint */
/* SQLite checkpoints run in the background (scheduler, every PB_STORE_CHECKPOINT_INTERVAL_MS)
 * instead of on the writer's commit. The WAL only starts over from its beginning when the
 * writer itself checkpoints, which its commit does past PB_STORE_WAL_AUTOCHECKPOINT_PAGES
 * (80 MiB): that commit waits for the frames the background has not copied yet. So once the
 * WAL passes PB_STORE_CHECKPOINT_CATCH_UP_PCT of that length, the background checkpoints every
 * PB_STORE_CHECKPOINT_CATCH_UP_MS, and the writer's own checkpoint finds almost nothing left
 * (at 100 ms it stalled the writer's commit for 10-25 ms several times a second under load,
 * which set the HTTP p99; scripts/run-bench.sh part 5). */
#define PB_STORE_WAL_AUTOCHECKPOINT_PAGES 20000
#define PB_STORE_CHECKPOINT_INTERVAL_MS 100
#define PB_STORE_CHECKPOINT_CATCH_UP_PCT 50
#define PB_STORE_CHECKPOINT_CATCH_UP_MS 5
/* SQLite page cache per connection, KiB (allocated as used): the writer's working set of
 * account rows and index leaves stays in memory instead of being read back per batch. */
#define PB_STORE_SQLITE_CACHE_KIB 65536
/* SQLite statement/savepoint sub-journals stay in memory up to this many bytes, allocated in
 * chunks of this size (the default, with temp_store=MEMORY, is 1 KiB chunks: several mallocs
 * per page a savepoint touches, ~10% of the writer's time); a command's sub-journal is a few
 * dozen pages, so it never spills to a temporary file in practice. */
#define PB_STORE_SQLITE_SUBJOURNAL_SPILL (4 * 1024 * 1024)

/* WebSocket */
#define PB_WS_MESSAGE_MAX_DEFAULT (16 * 1024) /* client messages are small commands */
#define PB_WS_MESSAGE_MAX_CEILING (1024 * 1024)
#define PB_WS_SEND_QUEUE_MAX_DEFAULT (256 * 1024) /* bytes queued to one client before eviction */
#define PB_WS_CONNECTIONS_MAX_DEFAULT 10000
#define PB_WS_PING_INTERVAL_S_DEFAULT 20
#define PB_WS_IDLE_TIMEOUT_S_DEFAULT 60  /* no frame (incl. pong) for this long: closed */
#define PB_WS_CLOSE_TIMEOUT_S 5          /* wait for the peer's close frame at most this long */
#define PB_WS_PUBLISH_QUEUE_MAX 65536    /* messages waiting for the WebSocket thread */
#define PB_WS_TOPICS_PER_CONNECTION_MAX 32
#define PB_WS_TOPIC_MAX 128
#define PB_WS_SEND_QUEUE_MAX_CEILING (64 * 1024 * 1024)
#define PB_WS_CONNECTIONS_CEILING 65536  /* each needs a file descriptor */
#define PB_WS_INTERVAL_S_CEILING 86400   /* ping interval and idle timeout: at most a day */
#define PB_WS_HANDOVER_QUEUE_MAX 1024    /* upgraded sockets waiting for the WebSocket thread */
#define PB_WS_PUBLISH_QUEUE_BYTES_MAX (64 * 1024 * 1024) /* bytes of those waiting messages */
#define PB_WS_EPOLL_EVENTS_MAX 256       /* socket events taken per WebSocket loop turn */
#define PB_WS_RECV_BUDGET (64 * 1024)    /* bytes read from one socket per turn: fairness */
#define PB_WS_TICK_MS 250                /* granularity of pings, idle and close deadlines */
#define PB_WS_STOP_WAIT_MS 1000          /* at shutdown, wait this long for close handshakes */

/* Logging */
#define PB_LOG_LINE_MAX 4096             /* longer log lines are truncated */

#endif
