/*
 * test_nonblocking.c - lc_ivote, lc_iallreduce, lc_iallgather and lc_ibcast
 * over real connections (threads as ranks), p = 2..5:
 *  - seven collectives of every kind in flight at once on one communicator,
 *    completed in reverse order, equal the blocking calls bit for bit, and
 *    the majority vote equals an independent reference;
 *  - first_index: a vote over a part of a vector breaks ties as the vote over
 *    the whole vector does;
 *  - lc_test polling, lc_waitall, and the same with LC_PROGRESS_THREAD=1;
 *  - bad requests and arguments give -EINVAL; a communicator destroyed with
 *    collectives in flight cancels them (no leak or crash under ASan);
 *  - a peer that never joins a collective: the progress thread fails it at
 *    LC_TIMEOUT while the caller computes, and the communicator with it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"
#include "reference.h"

#define MAXP 5
#define NV 100003   /* majority vote, fp32 in */
#define NAR 70001   /* allreduce fp32 */
#define NAV 5000    /* average vote, bits in */
#define NAG 1001    /* allgather bytes */
#define NBC 3000    /* bcast bytes */
#define NL1 20000   /* L1 vote */
#define NPART 777   /* a vote over part of a vector, at offset OFF */
#define OFF 12345
#define NCOLL 7

enum { WAIT_REVERSE, WAIT_TEST, WAIT_ALL };

/* One rank's inputs and the outputs of one way of running the collectives. */
struct outs {
    uint64_t maj[LC_BITS_WORDS(NV)];
    float sum[NAR];
    float avg[NAV];
    uint8_t gath[MAXP * NAG];
    uint8_t bc[NBC];
    float l1[NL1];
    uint64_t part[LC_BITS_WORDS(NPART)];
};

struct rank_data {
    float vin[NV];
    float arin[NAR];
    uint64_t avin[LC_BITS_WORDS(NAV)];
    uint8_t agin[NAG];
    float l1in[NL1];
    float whole[OFF + NPART]; /* the vector the part comes from */
    struct outs nb, bl;        /* non-blocking, blocking */
    uint64_t whole_out[LC_BITS_WORDS(OFF + NPART)];
    int rc[4];
};

struct nb_state {
    int how;
    struct rank_data *d[MAXP];
};

static void fill_rank(struct rank_data *d, int r)
{
    ref_fill(d->vin, LC_FP32, NV, 100 + (uint64_t)r, 1);
    ref_fill(d->arin, LC_FP32, NAR, 200 + (uint64_t)r, 0);
    for (size_t i = 0; i < LC_BITS_WORDS(NAV); i++)
        d->avin[i] = (uint64_t)(i * 2654435761u) * (uint64_t)(r + 1) ^ (uint64_t)r << 17;
    for (int i = 0; i < NAG; i++)
        d->agin[i] = (uint8_t)(r * 13 + i);
    ref_fill(d->l1in, LC_FP32, NL1, 300 + (uint64_t)r, 0);
    ref_fill(d->whole, LC_FP32, OFF + NPART, 400 + (uint64_t)r, 0);
    for (int i = 0; i < 64; i++) /* exact ties at even p */
        d->whole[OFF + i] = r % 2 ? -1.0f : 1.0f;
}

/* The seven collectives in a fixed order; reqs NULL: blocking. */
static int issue_all(lc_comm_t *c, struct rank_data *d, struct outs *o, lc_request_t **reqs)
{
    lc_vote_opts_t avg = {.size = sizeof(avg), .mode = LC_VOTE_AVERAGE};
    lc_vote_opts_t l1 = {.size = sizeof(l1), .mode = LC_VOTE_L1, .levels = 5, .tie_salt = 3};
    lc_vote_opts_t part = {.size = sizeof(part), .tie_salt = 9, .first_index = OFF};
    int p = lc_comm_size(c), rc = 0;

    if (lc_comm_rank(c) == p - 1)
        for (int i = 0; i < NBC; i++)
            o->bc[i] = (uint8_t)(i * 7);
    if (reqs) {
        rc = lc_ivote(c, d->vin, LC_FP32, o->maj, LC_BITS, NV, NULL, &reqs[0]);
        rc = rc ? rc : lc_iallreduce(c, d->arin, o->sum, NAR, LC_FP32, LC_SUM, &reqs[1]);
        rc = rc ? rc : lc_ivote(c, d->avin, LC_BITS, o->avg, LC_FP32, NAV, &avg, &reqs[2]);
        rc = rc ? rc : lc_iallgather(c, d->agin, o->gath, NAG, &reqs[3]);
        rc = rc ? rc : lc_ibcast(c, o->bc, NBC, p - 1, &reqs[4]);
        rc = rc ? rc : lc_ivote(c, d->l1in, LC_FP32, o->l1, LC_FP32, NL1, &l1, &reqs[5]);
        rc = rc ? rc
                : lc_ivote(c, d->whole + OFF, LC_FP32, o->part, LC_BITS, NPART, &part, &reqs[6]);
        return rc;
    }
    rc = lc_vote(c, d->vin, LC_FP32, o->maj, LC_BITS, NV, NULL);
    rc = rc ? rc : lc_allreduce(c, d->arin, o->sum, NAR, LC_FP32, LC_SUM);
    rc = rc ? rc : lc_vote(c, d->avin, LC_BITS, o->avg, LC_FP32, NAV, &avg);
    rc = rc ? rc : lc_allgather(c, d->agin, o->gath, NAG);
    rc = rc ? rc : lc_bcast(c, o->bc, NBC, p - 1);
    rc = rc ? rc : lc_vote(c, d->l1in, LC_FP32, o->l1, LC_FP32, NL1, &l1);
    rc = rc ? rc : lc_vote(c, d->whole + OFF, LC_FP32, o->part, LC_BITS, NPART, &part);
    return rc;
}

/* Complete the requests the way the test says; 0 or the first error. */
static int complete_all(lc_request_t **reqs, int how)
{
    int rc = 0, left = NCOLL;

    if (how == WAIT_ALL)
        return lc_waitall(reqs, NCOLL);
    if (how == WAIT_REVERSE) {
        for (int i = NCOLL - 1; i >= 0; i--) {
            int wrc = lc_wait(&reqs[i]);

            rc = rc ? rc : wrc;
        }
        return rc;
    }
    /* poll every request with lc_test, bounded in time */
    for (time_t end = time(NULL) + 60; left && time(NULL) < end;) {
        left = 0;
        for (int i = 0; i < NCOLL; i++) {
            int done = 0, trc = lc_test(&reqs[i], &done);

            rc = rc ? rc : trc;
            if (!done)
                left++;
            else if (reqs[i])
                return -EPROTO; /* a completed request must be NULL */
        }
    }
    return left ? -ETIMEDOUT : rc;
}

static void nb_rank(lc_comm_t *c, int r, int p, void *arg)
{
    struct nb_state *st = arg;
    struct rank_data *d = st->d[r];
    lc_vote_opts_t whole = {.size = sizeof(whole), .tie_salt = 9};
    lc_request_t *reqs[NCOLL] = {0};

    (void)p;
    d->rc[0] = issue_all(c, d, &d->nb, reqs);
    d->rc[1] = complete_all(reqs, st->how);
    for (int i = 0; i < NCOLL; i++)
        if (reqs[i])
            d->rc[1] = -EPROTO;
    d->rc[2] = issue_all(c, d, &d->bl, NULL);
    d->rc[3] = lc_vote(c, d->whole, LC_FP32, d->whole_out, LC_BITS, OFF + NPART, &whole);
}

static void run_case(int how)
{
    struct nb_state *st = calloc(1, sizeof(*st));

    st->how = how;
    for (int p = 2; p <= MAXP; p++) {
        const void *in[MAXP];
        uint64_t *ref = calloc(LC_BITS_WORDS(NV), 8);

        for (int r = 0; r < p; r++) {
            st->d[r] = calloc(1, sizeof(struct rank_data));
            fill_rank(st->d[r], r);
            in[r] = st->d[r]->vin;
        }
        assert_int_equal(lc_test_ranks(p, nb_rank, st), 0);
        ref_majority(in, LC_FP32, p, NV, 0, ref);
        for (int r = 0; r < p; r++) {
            struct rank_data *d = st->d[r];

            for (int k = 0; k < 4; k++)
                if (d->rc[k])
                    fail_msg("how %d p=%d rank %d step %d: %s (%s)", how, p, r, k,
                             lc_strerror(d->rc[k]), lc_last_error());
            if (memcmp(&d->nb, &d->bl, offsetof(struct outs, gath)) ||
                memcmp(d->nb.gath, d->bl.gath, (size_t)p * NAG) ||
                memcmp(&d->nb.bc, &d->bl.bc, sizeof(struct outs) - offsetof(struct outs, bc)))
                fail_msg("how %d p=%d rank %d: non-blocking results differ from blocking ones",
                         how, p, r);
            if (memcmp(d->nb.maj, ref, LC_BITS_WORDS(NV) * 8))
                fail_msg("p=%d rank %d: the majority differs from the reference", p, r);
            for (size_t i = 0; i < NPART; i++)
                if (ref_bit(d->nb.part, i) != ref_bit(d->whole_out, OFF + i))
                    fail_msg("p=%d rank %d: element %zu of the part votes unlike the whole", p,
                             r, i);
            assert_memory_equal(d->nb.maj, st->d[0]->nb.maj, LC_BITS_WORDS(NV) * 8);
        }
        for (int r = 0; r < p; r++)
            free(st->d[r]);
        free(ref);
    }
    free(st);
}

static void test_in_flight_wait(void **state)
{
    (void)state;
    run_case(WAIT_REVERSE);
}

static void test_in_flight_test(void **state)
{
    (void)state;
    run_case(WAIT_TEST);
}

static void test_progress_thread(void **state)
{
    (void)state;
    setenv("LC_PROGRESS_THREAD", "1", 1);
    run_case(WAIT_ALL);
    unsetenv("LC_PROGRESS_THREAD");
}

static void bad_rank(lc_comm_t *c, int r, int p, void *arg)
{
    int *rc = arg;
    float x[64] = {0};
    uint64_t bits[1], junk[64] = {0};
    lc_request_t *req = NULL, *fake = (lc_request_t *)junk, *reqs[2] = {NULL, NULL};
    int done = 0;

    (void)p;
    rc[8 * r + 0] = lc_wait(NULL) == -EINVAL && lc_test(NULL, &done) == -EINVAL &&
                    lc_test(&req, NULL) == -EINVAL;
    rc[8 * r + 1] = lc_wait(&req) == 0 && lc_test(&req, &done) == 0 && done == 1 &&
                    lc_waitall(reqs, 2) == 0 && lc_waitall(NULL, 0) == 0;
    rc[8 * r + 2] = lc_wait(&fake) == -EINVAL && lc_waitall(NULL, 1) == -EINVAL &&
                    lc_waitall(reqs, -1) == -EINVAL;
    rc[8 * r + 3] = lc_ivote(c, x, LC_FP32, bits, LC_BITS, 64, NULL, NULL) == -EINVAL &&
                    lc_iallreduce(NULL, x, x, 4, LC_FP32, LC_SUM, &req) == -EINVAL &&
                    lc_iallgather(c, x, x, 4, NULL) == -EINVAL &&
                    lc_ibcast(c, x, 4, 7, &req) == -EINVAL && req == NULL;
    /* a good one after the bad ones: the communicator is intact */
    rc[8 * r + 4] = lc_ivote(c, x, LC_FP32, bits, LC_BITS, 64, NULL, &req) == 0 &&
                    lc_wait(&req) == 0 && req == NULL;
    /* left in flight: lc_comm_destroy (by the harness) cancels and frees it */
    rc[8 * r + 5] = lc_iallreduce(c, x, x, 64, LC_FP32, LC_SUM, &req) == 0;
}

static void test_bad_requests(void **state)
{
    int rc[8 * 3] = {0};

    (void)state;
    assert_int_equal(lc_test_ranks(3, bad_rank, rc), 0);
    for (int r = 0; r < 3; r++)
        for (int k = 0; k < 6; k++)
            if (!rc[8 * r + k])
                fail_msg("rank %d: check %d failed", r, k);
}

/* Rank 0 starts a vote that rank 1 never joins, then computes (sleeps), testing it now
 * and then; only the progress thread can fail it (lc_test applies no timeout). */
static volatile int silent_done;

static void silent_rank(lc_comm_t *c, int r, int p, void *arg)
{
    int *rc = arg;
    float x[64] = {0};
    uint64_t bits[1];
    lc_request_t *req = NULL;
    struct timespec nap = {.tv_sec = 0, .tv_nsec = 100 * 1000 * 1000};
    int done = 0;

    (void)p;
    if (r == 1) { /* alive, connected, silent until rank 0 is through (30 s at most) */
        for (int i = 0; i < 300 && !silent_done; i++)
            nanosleep(&nap, NULL);
        return;
    }
    rc[0] = lc_ivote(c, x, LC_FP32, bits, LC_BITS, 64, NULL, &req);
    for (int i = 0; i < 250 && !done && !rc[0]; i++) { /* LC_TIMEOUT is 2 s; 25 s at most */
        nanosleep(&nap, NULL);
        rc[1] = lc_test(&req, &done);
    }
    rc[2] = done;
    rc[3] = lc_barrier(c);
    rc[4] = strstr(lc_last_error(), "failed earlier") != NULL; /* failed by the thread */
    silent_done = 1;
}

static void test_progress_thread_timeout(void **state)
{
    int rc[5] = {-1, -1, -1, -1, -1};

    (void)state;
    setenv("LC_PROGRESS_THREAD", "1", 1);
    setenv("LC_TIMEOUT", "2000", 1);
    assert_int_equal(lc_test_ranks(2, silent_rank, rc), 0);
    unsetenv("LC_PROGRESS_THREAD");
    unsetenv("LC_TIMEOUT");
    assert_int_equal(rc[0], 0);
    assert_int_equal(rc[1], -ETIMEDOUT);
    assert_int_equal(rc[2], 1);
    assert_int_equal(rc[3], LC_ERR_PEER);
    assert_int_equal(rc[4], 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_in_flight_wait),
        cmocka_unit_test(test_in_flight_test),
        cmocka_unit_test(test_progress_thread),
        cmocka_unit_test(test_bad_requests),
        cmocka_unit_test(test_progress_thread_timeout),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
