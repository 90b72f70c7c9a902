/* scheduler.h: timers for periodic work (expiries of pending transfers, later bonuses, limits,
 * sessions, table betting windows). DESIGN.md section 2.1 ("The scheduler").
 *
 * One thread wakes for the earliest due task and calls it. A task must be short and must not
 * block: it typically submits a writer command (and skips its turn while the previous one is
 * still in flight). Tasks are added before scheduler_start. */
#ifndef PB_SCHEDULER_H
#define PB_SCHEDULER_H

#include <stdint.h>

struct scheduler;

typedef void (*scheduler_task_fn)(void *arg);

struct scheduler *scheduler_new(void);
/* Calls fn(arg) every interval_ms (> 0), the first time after one interval. */
void scheduler_every(struct scheduler *s, const char *name, int interval_ms, scheduler_task_fn fn,
                     void *arg);
int scheduler_start(struct scheduler *s);
/* Stops the thread (a task in progress finishes first) and frees. NULL is ignored. */
void scheduler_free(struct scheduler *s);

#endif
