/*
 * test_ofi_threads.c - two threads, each with its own ofi context, as two
 * ranks would be: the receiver listens and hands its handle over, the sender
 * connects; then a stream of messages of many sizes, up to 32 in flight on
 * each side, must arrive complete and in order.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "ofi_pair.h"

enum { NMSG = 1500, WINDOW = 32, MAXLEN = 100000 };

typedef struct stream {
    const lc_provider_t *prov;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int have_handle;
    char handle[LC_PROV_HANDLE_MAX];
    int send_err, recv_err, bad; /* results */
} stream_t;

static size_t msg_len(int i)
{
    if (i % 500 == 7)
        return 16u << 20; /* a few large ones, beyond the 8 MiB chunk */
    return ((size_t)i * 7919) % MAXLEN;
}

/* Post while the window has room, test the oldest; returns 0 or an error. */
static void *sender(void *arg)
{
    stream_t *st = arg;
    const lc_provider_t *prov = st->prov;
    lc_prov_ctx_t *ctx = NULL;
    lc_prov_comm_t *comm = NULL;
    lc_prov_req_t *req[NMSG] = {0};
    char *buf[WINDOW];
    int ret = 0, head = 0, tail = 0, done;

    for (int k = 0; k < WINDOW; k++)
        buf[k] = malloc(16u << 20);
    if ((ret = prov->init(NULL, &ctx)))
        goto out;
    pthread_mutex_lock(&st->lock);
    while (!st->have_handle)
        pthread_cond_wait(&st->cond, &st->lock);
    pthread_mutex_unlock(&st->lock);
    while (!comm && !ret)
        ret = prov->connect(ctx, 0, st->handle, &comm);
    while (!ret && tail < NMSG) {
        if (head < NMSG && head - tail < WINDOW) {
            if (!req[head])
                ofi_fill(buf[head % WINDOW], msg_len(head), (uint32_t)head);
            ret = prov->isend(comm, buf[head % WINDOW], msg_len(head), NULL, &req[head]);
            if (req[head])
                head++;
            continue;
        }
        ret = prov->test(req[tail], &done, NULL);
        if (done)
            tail++;
    }
    if (comm)
        prov->close_send(comm);
out:
    if (ctx)
        prov->fini(ctx);
    for (int k = 0; k < WINDOW; k++)
        free(buf[k]);
    st->send_err = ret;
    return NULL;
}

static void *receiver(void *arg)
{
    stream_t *st = arg;
    const lc_provider_t *prov = st->prov;
    lc_prov_ctx_t *ctx = NULL;
    lc_prov_comm_t *lcomm = NULL, *comm = NULL;
    lc_prov_req_t *req[NMSG] = {0};
    char *buf[WINDOW];
    int ret = 0, head = 0, tail = 0, done;
    size_t size;

    for (int k = 0; k < WINDOW; k++)
        buf[k] = malloc(16u << 20);
    if ((ret = prov->init(NULL, &ctx)) || (ret = prov->listen(ctx, 0, st->handle, &lcomm)))
        goto out;
    pthread_mutex_lock(&st->lock);
    st->have_handle = 1;
    pthread_cond_signal(&st->cond);
    pthread_mutex_unlock(&st->lock);
    while (!comm && !ret)
        ret = prov->accept(lcomm, &comm);
    while (!ret && tail < NMSG) {
        if (head < NMSG && head - tail < WINDOW) {
            ret = prov->irecv(comm, buf[head % WINDOW], 16u << 20, NULL, &req[head]);
            if (req[head])
                head++;
            continue;
        }
        ret = prov->test(req[tail], &done, &size);
        if (done) {
            if (size != msg_len(tail) || !ofi_check(buf[tail % WINDOW], size, (uint32_t)tail))
                st->bad++;
            tail++;
        }
    }
    if (comm)
        prov->close_recv(comm);
out:
    if (lcomm)
        prov->close_listen(lcomm);
    if (ctx)
        prov->fini(ctx);
    for (int k = 0; k < WINDOW; k++)
        free(buf[k]);
    st->recv_err = ret;
    if (ret) { /* let a waiting sender go */
        pthread_mutex_lock(&st->lock);
        st->have_handle = 1;
        pthread_cond_signal(&st->cond);
        pthread_mutex_unlock(&st->lock);
    }
    return NULL;
}

static void test_stream(void **state)
{
    stream_t st = {.prov = lc_provider_find("ofi")};
    pthread_t ts, tr;

    (void)state;
    pthread_mutex_init(&st.lock, NULL);
    pthread_cond_init(&st.cond, NULL);
    assert_int_equal(pthread_create(&tr, NULL, receiver, &st), 0);
    assert_int_equal(pthread_create(&ts, NULL, sender, &st), 0);
    pthread_join(ts, NULL);
    pthread_join(tr, NULL);
    assert_int_equal(st.recv_err, 0);
    assert_int_equal(st.send_err, 0);
    assert_int_equal(st.bad, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_stream)};

    ofi_env_or_skip();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
