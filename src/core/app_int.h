/* app_int.h: what app.c and app_routes.c share. */
#ifndef PB_APP_INT_H
#define PB_APP_INT_H

#include <stddef.h>

#include "core/outbox.h"
#include "http/http.h"

extern const struct http_route app__system_routes[];
extern const size_t app__system_routes_count;
/* Only with cfg.diagnostics. */
extern const struct http_route app__diagnostic_routes[];
extern const size_t app__diagnostic_routes_count;

/* Outbox subscriber (diagnostics only): every committed event to WebSocket topic "events". */
void app__events_to_hub(const struct pb_event *ev, void *arg);

#endif
