/*
 * topo.c - which ranks share a host. Every rank sends its host key with its
 * handle to the rendezvous, so every rank gets the same table of keys; hosts
 * are numbered in the order of their lowest rank and a rank's local rank is
 * its place among its host's ranks, in rank order.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "comm.h"
#include "shm.h"

/* The host key's source in words, into how; the key. */
static uint64_t lc_topo_key_from(const char *name, char *how, size_t len)
{
    char id[256 + 64 + 32] = "", host[256] = "";
    size_t n = 0;
    struct stat ns;
    FILE *f;

    if (!name)
        name = lc_param_str("LC_HOST");
    if (name && *name) {
        snprintf(how, len, "the name \"%s\"", name);
        return lc_hash64(name, strlen(name), 0x4c43484f5354ull); /* "LCHOST" */
    }
    if (!gethostname(host, sizeof(host) - 1))
        n = (size_t)snprintf(id, sizeof(id), "%s", host);
    if ((f = fopen("/proc/sys/kernel/random/boot_id", "r"))) {
        if (fgets(id + n, 64, f))
            n += strlen(id + n);
        fclose(f);
    }
    ns.st_ino = 0;
    if (!stat("/proc/self/ns/net", &ns))
        n += (size_t)snprintf(id + n, sizeof(id) - n, "/%llu", (unsigned long long)ns.st_ino);
    snprintf(how, len, "hostname %s, boot id, network namespace %llu", host,
             (unsigned long long)ns.st_ino);
    return lc_hash64(id, n, 0);
}

uint64_t lc_topo_host_key(const char *name)
{
    char how[320];

    return lc_topo_key_from(name, how, sizeof(how));
}

void lc_topo_describe(char *buf, size_t len)
{
    char how[320];
    uint64_t key = lc_topo_key_from(NULL, how, sizeof(how));

    snprintf(buf, len, "host key %016llx from %s", (unsigned long long)key, how);
}

/* The environment's idea of the local rank, or -1 when it has none. */
static int lc_topo_env_local_rank(const char **name)
{
    static const char *const vars[] = {"LC_LOCAL_RANK", "OMPI_COMM_WORLD_LOCAL_RANK",
                                       "SLURM_LOCALID", "LOCAL_RANK"};

    for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
        const char *v = getenv(vars[i]);
        char *end;
        long r;

        if (!v || !*v)
            continue;
        r = strtol(v, &end, 10);
        if (*end || r < 0 || r > (1 << 30))
            continue;
        *name = vars[i];
        return (int)r;
    }
    return -1;
}

int lc_topo_build(struct lc_comm *c, const uint64_t *keys)
{
    int p = c->nranks, *count, env_rank;
    const char *env_name = NULL;

    c->host_of = calloc((size_t)p, sizeof(*c->host_of));
    count = calloc((size_t)p, sizeof(*count));
    if (!c->host_of || !count) {
        free(count);
        return -ENOMEM;
    }
    c->nhosts = 0;
    for (int r = 0; r < p; r++) {
        c->host_of[r] = -1;
        for (int q = 0; keys && q < r && c->host_of[r] < 0; q++)
            if (keys[q] == keys[r])
                c->host_of[r] = c->host_of[q];
        if (c->host_of[r] < 0)
            c->host_of[r] = c->nhosts++;
    }
    c->local_rank = 0;
    for (int r = 0; r < p; r++) {
        if (r == c->rank)
            c->local_rank = count[c->host_of[r]];
        count[c->host_of[r]]++;
    }
    c->local_size = count[c->host_of[c->rank]];
    c->max_local = 0;
    for (int h = 0; h < c->nhosts; h++)
        if (count[h] > c->max_local)
            c->max_local = count[h];
    free(count);
    env_rank = lc_topo_env_local_rank(&env_name);
    if (env_rank >= 0 && env_rank != c->local_rank)
        LC_WARN("comm",
                "rank %d: %s=%d, but %d rank(s) below it share its host (set LC_HOST to the "
                "same value on the ranks of one host when host names do not tell them apart)",
                c->rank, env_name, env_rank, c->local_rank);
    return 0;
}

int lc_topo_two_level(const struct lc_comm *c)
{
    if (c->hier == LC_HIER_NEVER || c->max_local < 2)
        return 0;
    /* one host: the levels inside it over shared memory are the whole vote */
    return c->nhosts >= 2 || (c->shm && c->shm->active);
}

int lc_comm_local_rank(const lc_comm_t *c)
{
    return c ? c->local_rank : LC_EINVAL("comm", "lc_comm_local_rank: NULL comm");
}

int lc_comm_local_size(const lc_comm_t *c)
{
    return c ? c->local_size : LC_EINVAL("comm", "lc_comm_local_size: NULL comm");
}

int lc_comm_num_hosts(const lc_comm_t *c)
{
    return c ? c->nhosts : LC_EINVAL("comm", "lc_comm_num_hosts: NULL comm");
}

int lc_comm_host(const lc_comm_t *c, int rank)
{
    if (!c)
        return LC_EINVAL("comm", "lc_comm_host: NULL comm");
    if (rank < 0 || rank >= c->nranks)
        return LC_EINVAL("comm", "lc_comm_host: rank %d is not in 0..%d", rank, c->nranks - 1);
    return c->host_of[rank];
}
