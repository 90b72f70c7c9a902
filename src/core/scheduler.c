/* scheduler.c: periodic tasks on one thread (scheduler.h). */
#include "core/scheduler.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <time.h>

#include "base/base.h"

#define SCHEDULER_TASKS_MAX 32

struct task {
    const char *name;
    int interval_ms;
    scheduler_task_fn fn;
    void *arg;
    uint64_t due_ns;
};

struct scheduler {
    struct task tasks[SCHEDULER_TASKS_MAX];
    int ntasks;
    pthread_t thread;
    bool started;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    bool stopping; /* guarded by lock */
};

struct scheduler *scheduler_new(void)
{
    struct scheduler *s = pb_calloc(1, sizeof(*s));
    pthread_mutex_init(&s->lock, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&s->wake, &attr);
    pthread_condattr_destroy(&attr);
    return s;
}

void scheduler_every(struct scheduler *s, const char *name, int interval_ms, scheduler_task_fn fn,
                     void *arg)
{
    PB_ASSERT(!s->started && s->ntasks < SCHEDULER_TASKS_MAX && interval_ms > 0);
    s->tasks[s->ntasks++] = (struct task){name, interval_ms, fn, arg,
                                          pb_mono_ns() + (uint64_t)interval_ms * 1000000u};
}

static void *scheduler_main(void *arg)
{
    struct scheduler *s = arg;
    pthread_mutex_lock(&s->lock);
    while (!s->stopping) {
        uint64_t now = pb_mono_ns(), next = now + 1000000000u;
        for (int i = 0; i < s->ntasks; i++) {
            struct task *t = &s->tasks[i];
            if (t->due_ns <= now) {
                pthread_mutex_unlock(&s->lock);
                t->fn(t->arg);
                pthread_mutex_lock(&s->lock);
                t->due_ns = now + (uint64_t)t->interval_ms * 1000000u;
            }
            if (t->due_ns < next)
                next = t->due_ns;
        }
        struct timespec deadline = {(time_t)(next / 1000000000u), (long)(next % 1000000000u)};
        if (!s->stopping)
            pthread_cond_timedwait(&s->wake, &s->lock, &deadline);
    }
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

int scheduler_start(struct scheduler *s)
{
    if (pthread_create(&s->thread, NULL, scheduler_main, s) != 0)
        return PB_ERR_IO;
    pthread_setname_np(s->thread, "pb-scheduler");
    s->started = true;
    return PB_OK;
}

void scheduler_free(struct scheduler *s)
{
    if (!s)
        return;
    if (s->started) {
        pthread_mutex_lock(&s->lock);
        s->stopping = true;
        pthread_cond_signal(&s->wake);
        pthread_mutex_unlock(&s->lock);
        pthread_join(s->thread, NULL);
    }
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->wake);
    pb_free(s);
}
