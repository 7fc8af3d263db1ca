/*
 * test_struct_size.c - callers built against other sizes of the public
 * structs: a shortened copy (an older header: the missing tail reads as zero)
 * and a lengthened one (a newer header: extra bytes must be zero, else
 * -EINVAL naming the struct). Each call's result is compared with the same
 * call through this build's struct, on a one-rank communicator.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lioncub/lioncub.h"

#define N 1000

/* lc_vote_opts_t of the first header: no `levels`. */
typedef struct old_vote_opts {
    size_t size;
    lc_vote_mode_t mode;
    unsigned level_bits;
    uint64_t tie_salt;
} old_vote_opts_t;

/* lc_vote_opts_t of a later header with one more field. */
typedef struct new_vote_opts {
    lc_vote_opts_t cur;
    uint64_t later;
} new_vote_opts_t;

/* lc_comm_config_t of a header that had rank and size only. */
typedef struct old_comm_config {
    size_t size;
    int rank;
    int nranks;
} old_comm_config_t;

/* lc_lion_config_t of the first header: no levels, no flags. */
typedef struct old_lion_config {
    size_t size;
    lc_lion_mode_t mode;
    float lr, beta1, beta2, weight_decay;
    unsigned level_bits;
} old_lion_config_t;

typedef struct new_lion_config {
    lc_lion_config_t cur;
    double later;
} new_lion_config_t;

/* lc_comm_stats_t, shortened and lengthened (an output struct). */
typedef struct old_stats {
    size_t size;
    uint64_t bytes_sent;
} old_stats_t;

typedef struct new_stats {
    lc_comm_stats_t cur;
    uint64_t later;
} new_stats_t;

static int setup(void **state)
{
    static lc_unique_id_t id;
    lc_comm_config_t cfg = {.size = sizeof(cfg), .rank = 0, .nranks = 1, .id = &id};
    lc_comm_t *comm = NULL;

    if (lc_get_unique_id(&id) || lc_comm_init(&cfg, &comm))
        return -1;
    *state = comm;
    return 0;
}

static int teardown(void **state)
{
    return lc_comm_destroy(*state);
}

static void fill(float *x, unsigned seed)
{
    srand(seed);
    for (int i = 0; i < N; i++)
        x[i] = (float)(rand() % 2001 - 1000) / 100.0f;
}

/* An L1 vote through opts; the result in out. */
static int vote(lc_comm_t *c, const void *opts, float *out)
{
    float in[N];

    fill(in, 7);
    return lc_vote(c, in, LC_FP32, out, LC_FP32, N, opts);
}

static void test_vote_opts(void **state)
{
    lc_comm_t *c = *state;
    lc_vote_opts_t cur = {.size = sizeof(cur), .mode = LC_VOTE_L1, .level_bits = 3, .tie_salt = 5};
    old_vote_opts_t old = {.size = sizeof(old), .mode = LC_VOTE_L1, .level_bits = 3, .tie_salt = 5};
    new_vote_opts_t newer = {.cur = cur};
    size_t only_size = sizeof(size_t);
    float ref[N], out[N], maj[N];

    newer.cur.size = sizeof(newer);
    assert_int_equal(vote(c, &cur, ref), 0);
    assert_int_equal(vote(c, &old, out), 0); /* levels reads as 0: from level_bits */
    assert_memory_equal(ref, out, sizeof(ref));
    assert_int_equal(vote(c, &newer, out), 0); /* the later field is zero */
    assert_memory_equal(ref, out, sizeof(ref));
    newer.later = 1;
    assert_int_equal(vote(c, &newer, out), -EINVAL);
    assert_non_null(strstr(lc_last_error(), "lc_vote_opts_t"));
    /* Only the size field: every option zero, the defaults (majority). */
    assert_int_equal(vote(c, NULL, maj), 0);
    assert_int_equal(vote(c, &only_size, out), 0);
    assert_memory_equal(maj, out, sizeof(maj));
    only_size = 4;
    assert_int_equal(vote(c, &only_size, out), -EINVAL);
}

/* "127.0.0.1:PORT" with a port free a moment ago. */
static const char *free_root(void)
{
    static char root[32];
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    close(fd);
    snprintf(root, sizeof(root), "127.0.0.1:%d", ntohs(sa.sin_port));
    return root;
}

static void test_comm_config(void **state)
{
    old_comm_config_t old = {.size = sizeof(old), .rank = 0, .nranks = 1};
    struct {
        lc_comm_config_t cur;
        int later;
    } newer = {.cur = {.size = sizeof(newer), .rank = 0, .nranks = 1}, .later = 3};
    lc_comm_t *comm = (lc_comm_t *)1;

    (void)state;
    /* A caller without id or root: the rendezvous comes from LC_ROOT, on a free loopback port. */
    setenv("LC_ROOT", free_root(), 1);
    assert_int_equal(lc_comm_init((const lc_comm_config_t *)&old, &comm), 0);
    assert_int_equal(lc_comm_size(comm), 1);
    assert_int_equal(lc_comm_destroy(comm), 0);
    assert_int_equal(lc_comm_init(&newer.cur, &comm), -EINVAL);
    assert_null(comm);
    assert_non_null(strstr(lc_last_error(), "lc_comm_config_t"));
    unsetenv("LC_ROOT");
}

static void test_lion_config(void **state)
{
    lc_comm_t *c = *state;
    old_lion_config_t old = {
        .size = sizeof(old), .mode = LC_LION_VOTE_L1, .lr = 0.01f, .level_bits = 3};
    new_lion_config_t newer = {
        .cur = {.size = sizeof(newer), .mode = LC_LION_VOTE_L1, .lr = 0.01f, .level_bits = 3}};
    lc_lion_t *lion = NULL;

    assert_int_equal(lc_lion_create(c, (const lc_lion_config_t *)&old, &lion), 0);
    lc_lion_destroy(lion);
    assert_int_equal(lc_lion_create(c, &newer.cur, &lion), 0);
    lc_lion_destroy(lion);
    newer.later = 0.5;
    assert_int_equal(lc_lion_create(c, &newer.cur, &lion), -EINVAL);
    assert_null(lion);
    assert_non_null(strstr(lc_last_error(), "lc_lion_config_t"));
}

static void test_stats(void **state)
{
    lc_comm_t *c = *state;
    lc_comm_stats_t cur = {.size = sizeof(cur)};
    old_stats_t old = {.size = sizeof(old)};
    new_stats_t newer;
    float out[N];

    memset(&newer, 0xff, sizeof(newer));
    newer.cur.size = sizeof(newer);
    assert_int_equal(vote(c, NULL, out), 0);
    assert_int_equal(lc_comm_get_stats(c, &cur), 0);
    assert_int_equal(lc_comm_get_stats(c, (lc_comm_stats_t *)&old), 0);
    assert_int_equal(old.bytes_sent, cur.bytes_sent);
    assert_int_equal(lc_comm_get_stats(c, &newer.cur), 0);
    assert_int_equal(newer.cur.collectives, cur.collectives);
    assert_int_equal(newer.later, 0); /* a field this library does not know: zero */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vote_opts),
        cmocka_unit_test(test_comm_config),
        cmocka_unit_test(test_lion_config),
        cmocka_unit_test(test_stats),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
