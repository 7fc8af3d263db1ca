/*
 * progress_thread.c - LC_PROGRESS_THREAD: one thread per communicator that
 * runs the engine while requests are in flight, so that collectives issued
 * with lc_i* move while the caller computes. It sleeps on a condition when the
 * queue is idle and in the provider when nothing moves; the caller's calls
 * take the same lock and go first when they wait for it.
 */
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "coll/request.h"

struct lc_progress_thread {
    pthread_t tid;
    pthread_cond_t wake;
    int stop;
};

static void *lc_progress_main(void *arg)
{
    struct lc_comm *c = arg;
    struct lc_progress_thread *t = c->progress;
    double last = lc_now();

    pthread_mutex_lock(&c->lock);
    while (!t->stop) {
        int progress = 0;
        double now;

        if (!lc_comm_in_flight(c)) {
            pthread_cond_wait(&t->wake, &c->lock);
            last = lc_now();
            continue;
        }
        lc_comm_progress(c, &progress);
        now = lc_now();
        if (progress)
            last = now;
        if (!progress && (now - last) * 1000.0 > c->timeout_ms) {
            lc_comm_timeout(c, NULL); /* the comm fails: its connections close */
            continue;
        }
        pthread_mutex_unlock(&c->lock);
        if (progress)
            sched_yield(); /* let a caller waiting for the lock in */
        else
            lc_idle(c, now - last > LC_SPIN_SECONDS);
        pthread_mutex_lock(&c->lock);
    }
    pthread_mutex_unlock(&c->lock);
    return NULL;
}

int lc_progress_thread_start(struct lc_comm *c)
{
    struct lc_progress_thread *t = calloc(1, sizeof(*t));
    int rc;

    if (!t)
        return lc_seterr(-ENOMEM, "coll", "cannot allocate the progress thread");
    pthread_cond_init(&t->wake, NULL);
    c->progress = t;
    rc = pthread_create(&t->tid, NULL, lc_progress_main, c);
    if (rc) {
        pthread_cond_destroy(&t->wake);
        free(t);
        c->progress = NULL;
        return lc_seterr(-rc, "coll", "cannot start the progress thread: %s", strerror(rc));
    }
    return 0;
}

void lc_progress_thread_kick(struct lc_comm *c)
{
    if (c->progress)
        pthread_cond_signal(&c->progress->wake);
}

void lc_progress_thread_stop(struct lc_comm *c)
{
    struct lc_progress_thread *t = c->progress;

    if (!t)
        return;
    pthread_mutex_lock(&c->lock);
    t->stop = 1;
    pthread_cond_signal(&t->wake);
    pthread_mutex_unlock(&c->lock);
    pthread_join(t->tid, NULL);
    pthread_cond_destroy(&t->wake);
    free(t);
    c->progress = NULL;
}
