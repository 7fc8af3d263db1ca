/* harness.c - threads as ranks for the multi-rank tests; contexts for the provider tests. */
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
#include <time.h>
#include <unistd.h>

#include "harness.h"

struct lc_rank_arg {
    const lc_unique_id_t *id;
    int rank, p, rc;
    int timeout_ms; /* 30 s, unless the test set LC_TIMEOUT (0: the library reads it) */
    char host[32];
    lc_rank_fn fn;
    void *arg;
};

static void *lc_rank_main(void *a)
{
    struct lc_rank_arg *ra = a;
    lc_comm_config_t cfg = {.size = sizeof(cfg), .rank = ra->rank, .nranks = ra->p,
                            .id = ra->id, .timeout_ms = ra->timeout_ms,
                            .host = ra->host[0] ? ra->host : NULL};
    lc_comm_t *comm;

    ra->rc = lc_comm_init(&cfg, &comm);
    if (ra->rc) {
        fprintf(stderr, "rank %d: lc_comm_init: %s: %s\n", ra->rank, lc_strerror(ra->rc),
                lc_last_error());
        return NULL;
    }
    ra->fn(comm, ra->rank, ra->p, ra->arg);
    lc_comm_destroy(comm);
    return NULL;
}

int lc_test_ranks(int p, lc_rank_fn fn, void *arg)
{
    return lc_test_ranks_on_hosts(p, NULL, fn, arg);
}

int lc_test_ranks_on_hosts(int p, const int *host, lc_rank_fn fn, void *arg)
{
    lc_unique_id_t id;
    pthread_t *t = calloc((size_t)p, sizeof(*t));
    struct lc_rank_arg *ra = calloc((size_t)p, sizeof(*ra));
    int rc;

    setenv("LC_ROOT", "127.0.0.1:0", 1);
    rc = lc_get_unique_id(&id);
    if (rc) {
        fprintf(stderr, "lc_get_unique_id: %s: %s\n", lc_strerror(rc), lc_last_error());
        goto out;
    }
    for (int i = 0; i < p; i++) {
        /* the environment is read here, never in the rank threads, which may
         * set provider variables (core/prov_env.c) while the others start */
        ra[i] = (struct lc_rank_arg){.id = &id, .rank = i, .p = p, .fn = fn, .arg = arg,
                                     .timeout_ms = getenv("LC_TIMEOUT") ? 0 : 30000};
        if (host)
            snprintf(ra[i].host, sizeof(ra[i].host), "test-host-%d", host[i]);
        pthread_create(&t[i], NULL, lc_rank_main, &ra[i]);
    }
    for (int i = 0; i < p; i++) {
        pthread_join(t[i], NULL);
        if (ra[i].rc && !rc)
            rc = ra[i].rc;
    }
out:
    free(t);
    free(ra);
    return rc;
}

/*
 * A free port below the kernel's ephemeral range (ip_local_port_range): the
 * kernel never gives such a port to a connecting socket of another test, so
 * it stays free until a rank binds it (a port the kernel picked from the
 * ephemeral range may be taken by any connect() meanwhile).
 */
int lc_test_free_port(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    uint64_t seed = (uint64_t)getpid() * 0x9e3779b97f4a7c15ull ^ (uint64_t)time(NULL);
    FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");
    int lo = 32768;

    if (f) {
        if (fscanf(f, "%d", &lo) != 1)
            lo = 32768;
        fclose(f);
    }
    if (lo <= 10001)
        lo = 32768;
    for (int tries = 0; tries < 1000; tries++) {
        int port = 10000 + (int)(lc_test_rand(&seed) % (uint64_t)(lo - 10000));
        int fd = socket(AF_INET, SOCK_STREAM, 0), ok;

        a.sin_port = htons((uint16_t)port);
        ok = fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
        if (fd >= 0)
            close(fd);
        if (ok)
            return port;
    }
    return 0;
}

void lc_test_env(int rank, int p, int port, const char *key, int timeout_ms)
{
    char buf[64];

    snprintf(buf, sizeof(buf), "%d", rank);
    setenv("LC_RANK", buf, 1);
    snprintf(buf, sizeof(buf), "%d", p);
    setenv("LC_SIZE", buf, 1);
    snprintf(buf, sizeof(buf), "127.0.0.1:%d", port);
    setenv("LC_ROOT", buf, 1);
    setenv("LC_JOB_KEY", key, 1);
    snprintf(buf, sizeof(buf), "%d", timeout_ms);
    setenv("LC_TIMEOUT", buf, 1);
}

size_t lc_test_unhex(const char *hex, uint8_t *out)
{
    size_t n = 0;

    for (; hex[0] && hex[1]; hex += 2) {
        unsigned v;

        sscanf(hex, "%2x", &v);
        out[n++] = (uint8_t)v;
    }
    return n;
}

lc_prov_ctx_t *lc_test_prov_ctx_with_key(const lc_provider_t *prov, uint8_t fill)
{
    lc_prov_init_opts_t opts = {.size = sizeof(opts), .job_id = 1, .rank = -1};
    lc_prov_ctx_t *ctx = NULL;

    memset(opts.key, fill, sizeof(opts.key));
    assert_int_equal(prov->init(&opts, &ctx), 0);
    return ctx;
}
