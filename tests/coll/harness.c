/* harness.c - threads as ranks for the multi-rank tests. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"

struct lc_rank_arg {
    const lc_unique_id_t *id;
    int rank, p, rc;
    lc_rank_fn fn;
    void *arg;
};

static void *lc_rank_main(void *a)
{
    struct lc_rank_arg *ra = a;
    lc_comm_config_t cfg = {.size = sizeof(cfg), .rank = ra->rank, .nranks = ra->p,
                            .id = ra->id, .timeout_ms = 30000};
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
        ra[i] = (struct lc_rank_arg){.id = &id, .rank = i, .p = p, .fn = fn, .arg = arg};
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

int lc_test_free_port(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0), port;

    bind(fd, (struct sockaddr *)&a, sizeof(a));
    getsockname(fd, (struct sockaddr *)&a, &len);
    port = ntohs(a.sin_port);
    close(fd);
    return port;
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
