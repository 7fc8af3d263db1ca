/*
 * test_alloc.c - the hot path allocates nothing: after two rounds of each
 * collective (vote of each mode, one round and two phases, allreduce,
 * allgather, bcast, barrier, and the same non-blocking, several in flight),
 * a third round of the same shapes calls malloc, calloc, realloc and
 * posix_memalign zero times on every rank. The library is linked statically
 * and its allocations are counted per thread through the linker's --wrap
 * (a provider loaded as a module, ofi or raweth, is not counted).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static __thread long allocs;

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t m);
void *__real_realloc(void *p, size_t n);
int __real_posix_memalign(void **p, size_t a, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t m);
void *__wrap_realloc(void *p, size_t n);
int __wrap_posix_memalign(void **p, size_t a, size_t n);

void *__wrap_malloc(size_t n)
{
    allocs++;
    return __real_malloc(n);
}

void *__wrap_calloc(size_t n, size_t m)
{
    allocs++;
    return __real_calloc(n, m);
}

void *__wrap_realloc(void *p, size_t n)
{
    allocs++;
    return __real_realloc(p, n);
}

int __wrap_posix_memalign(void **p, size_t a, size_t n)
{
    allocs++;
    return __real_posix_memalign(p, a, n);
}

#define NBIG 300001 /* two phases */
#define NSMALL 1000 /* one round */

struct bufs {
    float x[NBIG], y[NBIG];
    uint64_t bits[LC_BITS_WORDS(NBIG)];
    uint8_t gath[4 * 4096];
};

/* One round of every collective; 0 or the first error. */
static int round_all(lc_comm_t *c, struct bufs *b)
{
    lc_vote_opts_t avg = {.size = sizeof(avg), .mode = LC_VOTE_AVERAGE};
    lc_vote_opts_t l1 = {.size = sizeof(l1), .mode = LC_VOTE_L1};
    lc_request_t *r[3];
    int rc = 0;

    for (size_t n = NSMALL; !rc && n <= NBIG; n += NBIG - NSMALL) {
        rc = lc_vote(c, b->x, LC_FP32, b->bits, LC_BITS, n, NULL);
        rc = rc ? rc : lc_vote(c, b->bits, LC_BITS, b->y, LC_FP32, n, &avg);
        rc = rc ? rc : lc_vote(c, b->x, LC_FP32, b->y, LC_FP32, n, &l1);
    }
    rc = rc ? rc : lc_allreduce(c, b->x, b->y, NBIG, LC_FP32, LC_SUM);
    rc = rc ? rc : lc_allgather(c, b->x, b->gath, 4096);
    rc = rc ? rc : lc_bcast(c, b->y, 4096, 0);
    rc = rc ? rc : lc_barrier(c);
    rc = rc ? rc : lc_ivote(c, b->x, LC_FP32, b->bits, LC_BITS, NBIG, NULL, &r[0]);
    rc = rc ? rc : lc_iallreduce(c, b->y, b->y, NSMALL, LC_FP32, LC_SUM, &r[1]);
    rc = rc ? rc : lc_ivote(c, b->x, LC_FP32, b->y + NSMALL, LC_FP32, NSMALL, &l1, &r[2]);
    return rc ? rc : lc_waitall(r, 3);
}

static void alloc_rank(lc_comm_t *c, int r, int p, void *arg)
{
    long *count = arg;
    struct bufs *b = __real_calloc(1, sizeof(*b));
    int rc = 0;

    (void)p;
    for (int i = 0; i < NBIG; i++)
        b->x[i] = (float)((i * 7 + r) % 13) - 6.0f;
    for (int k = 0; k < 2 && !rc; k++)
        rc = round_all(c, b);
    allocs = 0;
    rc = rc ? rc : round_all(c, b);
    count[r] = rc ? -1 : allocs;
    free(b);
}

static void test_no_alloc(void **state)
{
    long count[4] = {0};

    (void)state;
    assert_int_equal(lc_test_ranks(4, alloc_rank, count), 0);
    for (int r = 0; r < 4; r++)
        if (count[r])
            fail_msg("rank %d: %ld allocations in a round of shapes it ran before%s", r, count[r],
                     count[r] < 0 ? " (a collective failed)" : "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_no_alloc)};

    return cmocka_run_group_tests(tests, NULL, NULL);
}
