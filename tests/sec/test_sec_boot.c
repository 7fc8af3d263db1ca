/*
 * test_sec_boot.c - the rendezvous under attack and misuse, over loopback:
 *  - a replayed hello (a real rank's, proven for an earlier challenge) and a
 *    forged one (another key) are refused, and the real ranks still join;
 *  - 100 idle connections opened before the ranks do not stall the job;
 *  - a size mismatch is reported to the rank already joined, naming both sizes;
 *  - the root's port is free again when lc_comm_init returns;
 *  - a rendezvous open to other hosts needs LC_JOB_KEY or LC_INSECURE=1.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "comm/boot_proto.h"
#include "comm/sock.h"
#include "coll/harness.h"

#define TIMEOUT_MS 8000

static int connect_lo(int port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_true(fd >= 0);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    return fd;
}

struct boot_rank {
    lc_boot_info_t info;
    char port[16];
    lc_boot_entry_t table[2];
    int rc;
};

static void *boot_rank_main(void *arg)
{
    struct boot_rank *b = arg;

    b->rc = lc_boot_exchange("127.0.0.1", b->port, &b->info, TIMEOUT_MS, b->table);
    return NULL;
}

static void make_info(lc_boot_info_t *info, int rank, const lc_job_keys_t *k)
{
    memset(info, 0, sizeof(*info));
    info->rank = rank;
    info->nranks = 2;
    info->job_id = k->job_id;
    memcpy(info->key, k->boot, sizeof(info->key));
    snprintf(info->provider, sizeof(info->provider), "tcp");
    memset(info->handle, 0x40 + rank, sizeof(info->handle));
    info->host = 0x1000u + (unsigned)rank;
}

/* Ranks 0 and 1 join at port; each gets both real handles. */
static void join_two(int port, const lc_job_keys_t *k)
{
    struct boot_rank r[2];
    pthread_t t[2];

    for (int i = 0; i < 2; i++) {
        make_info(&r[i].info, i, k);
        snprintf(r[i].port, sizeof(r[i].port), "%d", port);
        pthread_create(&t[i], NULL, boot_rank_main, &r[i]);
    }
    for (int i = 0; i < 2; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(r[i].rc, 0);
        for (int j = 0; j < 2; j++) {
            assert_memory_equal(r[i].table[j].handle, r[j].info.handle, LC_PROV_HANDLE_MAX);
            assert_int_equal(r[i].table[j].host, r[j].info.host);
        }
    }
}

/* Read the challenge, send hello h with the tag it already has; the reply's status. */
static int send_hello(int port, const struct lc_boot_hello *h, uint8_t nonce_out[LC_NONCE_LEN])
{
    struct lc_boot_challenge ch;
    struct lc_boot_reply r;
    int fd = connect_lo(port);
    double dl = lc_now() + 5;

    assert_int_equal(lc_sock_recv(fd, &ch, sizeof(ch), dl), 0);
    if (nonce_out)
        memcpy(nonce_out, ch.nonce, LC_NONCE_LEN);
    assert_int_equal(lc_sock_send(fd, h, sizeof(*h), dl), 0);
    assert_int_equal(lc_sock_recv(fd, &r, sizeof(r), dl), 0);
    close(fd);
    return r.status;
}

static void hello_for(struct lc_boot_hello *h, int rank, const lc_job_keys_t *k)
{
    memset(h, 0, sizeof(*h));
    h->magic = LC_BOOT_MAGIC;
    h->version = LC_BOOT_VERSION;
    h->job_id = k->job_id;
    h->rank = rank;
    h->nranks = 2;
    snprintf(h->provider, sizeof(h->provider), "tcp");
    memset(h->handle, 0x66, sizeof(h->handle)); /* the attacker's own address */
}

static void test_replay_and_forgery(void **state)
{
    lc_job_keys_t k, other;
    struct lc_boot_hello h;
    uint8_t old_nonce[LC_NONCE_LEN];
    int port;

    lc_job_keys("the-key", 7, &k);
    lc_job_keys("not-the-key", 11, &other);
    assert_int_equal(lc_boot_root_start("127.0.0.1", "0", k.job_id, k.boot, TIMEOUT_MS, &port),
                     0);
    /* a hello proven for one challenge (as a listener would capture it) ... */
    hello_for(&h, 1, &k);
    {
        struct lc_boot_challenge ch;
        int fd = connect_lo(port);
        assert_int_equal(lc_sock_recv(fd, &ch, sizeof(ch), lc_now() + 5), 0);
        memcpy(old_nonce, ch.nonce, sizeof(old_nonce));
        close(fd);
    }
    lc_boot_hello_tag(k.boot, old_nonce, &h, h.tag);
    /* ... replayed on a new connection: refused, the challenge was another */
    assert_int_equal(send_hello(port, &h, NULL), LC_ERR_JOB_KEY);
    /* forged with another key, for the right challenge: refused */
    {
        struct lc_boot_challenge ch;
        struct lc_boot_reply rep;
        int fd = connect_lo(port);
        assert_int_equal(lc_sock_recv(fd, &ch, sizeof(ch), lc_now() + 5), 0);
        lc_boot_hello_tag(other.boot, ch.nonce, &h, h.tag);
        assert_int_equal(lc_sock_send(fd, &h, sizeof(h), lc_now() + 5), 0);
        assert_int_equal(lc_sock_recv(fd, &rep, sizeof(rep), lc_now() + 5), 0);
        assert_int_equal(rep.status, LC_ERR_JOB_KEY);
        close(fd);
    }
    /* the right job id with a zero tag: refused */
    memset(h.tag, 0, sizeof(h.tag));
    assert_int_equal(send_hello(port, &h, NULL), LC_ERR_JOB_KEY);

    /* the real ranks join and get each other's handles, not the attacker's */
    join_two(port, &k);
}

/* A rank with another key is refused and told so; the reply proves nothing to it. */
static void test_wrong_key_rank(void **state)
{
    lc_job_keys_t k, other;
    struct boot_rank r;
    int port;

    lc_job_keys("the-key", 7, &k);
    lc_job_keys("not-the-key", 11, &other);
    assert_int_equal(lc_boot_root_start("127.0.0.1", "0", k.job_id, k.boot, 2000, &port), 0);
    make_info(&r.info, 0, &other);
    snprintf(r.port, sizeof(r.port), "%d", port);
    boot_rank_main(&r);
    assert_int_equal(r.rc, LC_ERR_JOB_KEY);
    assert_non_null(strstr(lc_last_error(), "refused"));
}

static void test_idle_connections(void **state)
{
    lc_job_keys_t k;
    int port, idle[100];
    double t0;

    lc_job_keys("k", 1, &k);
    assert_int_equal(lc_boot_root_start("127.0.0.1", "0", k.job_id, k.boot, TIMEOUT_MS, &port),
                     0);
    for (int i = 0; i < 100; i++)
        idle[i] = connect_lo(port);
    t0 = lc_now();
    join_two(port, &k);
    /* bounded by one hello deadline of the root, not by the idle connections */
    fprintf(stderr, "joined %.2f s after 100 idle connections\n", lc_now() - t0);
    assert_true(lc_now() - t0 < 4.0);
    for (int i = 0; i < 100; i++)
        close(idle[i]);
}

struct comm_rank {
    int rank, nranks, port, rc;
    double t;
    char err[512];
};

static void *comm_rank_main(void *arg)
{
    struct comm_rank *cr = arg;
    char root[64];
    lc_comm_config_t cfg = {.size = sizeof(cfg)};
    lc_comm_t *c = NULL;
    double t0 = lc_now();

    snprintf(root, sizeof(root), "127.0.0.1:%d", cr->port);
    cfg.rank = cr->rank;
    cfg.nranks = cr->nranks;
    cfg.root = root;
    cfg.job_key = "mismatch";
    cfg.timeout_ms = TIMEOUT_MS;
    cr->rc = lc_comm_init(&cfg, &c);
    cr->t = lc_now() - t0;
    snprintf(cr->err, sizeof(cr->err), "%s", cr->rc ? lc_last_error() : "");
    lc_comm_destroy(c);
    return NULL;
}

static void test_size_mismatch(void **state)
{
    struct comm_rank cr[2] = {{.rank = 0, .nranks = 2}, {.rank = 1, .nranks = 3}};
    pthread_t t[2];
    int port = lc_test_free_port();

    cr[0].port = cr[1].port = port;
    pthread_create(&t[0], NULL, comm_rank_main, &cr[0]);
    usleep(300 * 1000); /* rank 0 joins first */
    pthread_create(&t[1], NULL, comm_rank_main, &cr[1]);
    for (int i = 0; i < 2; i++) {
        pthread_join(t[i], NULL);
        fprintf(stderr, "rank %d: rc %d after %.2f s: %s\n", i, cr[i].rc, cr[i].t, cr[i].err);
        assert_int_equal(cr[i].rc, LC_ERR_MISMATCH);
        assert_non_null(strstr(cr[i].err, "size mismatch: rank 1 says the job has 3 ranks, "
                                          "rank 0 said 2"));
        assert_true(cr[i].t < TIMEOUT_MS / 2000.0); /* told, not timed out */
    }
}

/* Two ranks on a fixed port, five times: the port is free whenever init returns. */
static void test_port_reuse(void **state)
{
    int port = lc_test_free_port();

    for (int i = 0; i < 5; i++) {
        struct comm_rank cr[2] = {{.rank = 0, .nranks = 2, .port = port},
                                  {.rank = 1, .nranks = 2, .port = port}};
        pthread_t t[2];

        for (int j = 0; j < 2; j++)
            pthread_create(&t[j], NULL, comm_rank_main, &cr[j]);
        for (int j = 0; j < 2; j++) {
            pthread_join(t[j], NULL);
            if (cr[j].rc)
                fprintf(stderr, "round %d rank %d: %s\n", i, j, cr[j].err);
            assert_int_equal(cr[j].rc, 0);
        }
    }
}

static void test_key_required_off_loopback(void **state)
{
    lc_comm_config_t cfg = {.size = sizeof(cfg), .rank = 0, .nranks = 1};
    lc_comm_t *c = NULL;
    char root[64];

    snprintf(root, sizeof(root), "0.0.0.0:%d", lc_test_free_port());
    cfg.root = root;
    cfg.timeout_ms = TIMEOUT_MS;
    unsetenv("LC_JOB_KEY");
    unsetenv("LC_INSECURE");
    assert_int_equal(lc_comm_init(&cfg, &c), LC_ERR_CONFIG);
    assert_non_null(strstr(lc_last_error(), "LC_JOB_KEY"));
    setenv("LC_JOB_KEY", "", 1); /* an empty key is no key */
    assert_int_equal(lc_comm_init(&cfg, &c), LC_ERR_CONFIG);
    unsetenv("LC_JOB_KEY");
    setenv("LC_INSECURE", "1", 1);
    assert_int_equal(lc_comm_init(&cfg, &c), 0);
    lc_comm_destroy(c);
    unsetenv("LC_INSECURE");
    cfg.job_key = "k";
    assert_int_equal(lc_comm_init(&cfg, &c), 0);
    lc_comm_destroy(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_replay_and_forgery),
        cmocka_unit_test(test_wrong_key_rank),
        cmocka_unit_test(test_idle_connections),
        cmocka_unit_test(test_size_mismatch),
        cmocka_unit_test(test_port_reuse),
        cmocka_unit_test(test_key_required_off_loopback),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
