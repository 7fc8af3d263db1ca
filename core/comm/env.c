/*
 * env.c - rank, size and rendezvous from the environment: LC_*, then Open MPI,
 * PMI, Slurm and PyTorch's variables.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "comm.h"

static int lc_env_int(const char *name, int *out)
{
    const char *s = getenv(name);
    int64_t v;

    if (!s || !*s)
        return -ENOENT;
    if (lc_parse_size(s, &v) || v < 0 || v > (1 << 30))
        return lc_seterr(LC_ERR_CONFIG, "comm", "%s=%s is not a valid rank or size", name, s);
    *out = (int)v;
    return 0;
}

int lc_env_rank_size(int *rank, int *nranks, int *from_torch)
{
    static const char *const pairs[][2] = {
        {"LC_RANK", "LC_SIZE"},   {"OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE"},
        {"PMI_RANK", "PMI_SIZE"}, {"SLURM_PROCID", "SLURM_NTASKS"},
        {"RANK", "WORLD_SIZE"},
    };

    for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
        int r = 0, n = 0, rc;

        rc = lc_env_int(pairs[i][0], &r);
        if (rc == -ENOENT)
            continue;
        if (rc)
            return rc;
        rc = lc_env_int(pairs[i][1], &n);
        if (rc == -ENOENT)
            return lc_seterr(LC_ERR_CONFIG, "comm", "%s is set but %s is not", pairs[i][0],
                             pairs[i][1]);
        if (rc)
            return rc;
        *rank = r;
        *nranks = n;
        *from_torch = !strcmp(pairs[i][0], "RANK");
        return 0;
    }
    return lc_seterr(LC_ERR_CONFIG, "comm",
                     "no rank and size: set LC_RANK and LC_SIZE (or PyTorch's RANK and "
                     "WORLD_SIZE), or launch with lc_run, mpirun or srun");
}

int lc_env_torch_root(char *root, size_t len)
{
    const char *addr = getenv("MASTER_ADDR"), *port = getenv("MASTER_PORT");
    int64_t p;

    if (!addr || !*addr || !port || !*port)
        return -ENOENT;
    if (lc_parse_size(port, &p) || p < 1 || p + LC_TORCH_PORT_OFFSET > 65535)
        return lc_seterr(LC_ERR_CONFIG, "comm",
                         "MASTER_PORT=%s is not a port below %d (lioncub listens on "
                         "MASTER_PORT + %d)",
                         port, 65536 - LC_TORCH_PORT_OFFSET, LC_TORCH_PORT_OFFSET);
    if ((size_t)snprintf(root, len, strchr(addr, ':') ? "[%s]:%lld" : "%s:%lld", addr,
                         (long long)(p + LC_TORCH_PORT_OFFSET)) >= len)
        return lc_seterr(LC_ERR_CONFIG, "comm", "MASTER_ADDR=%s is too long", addr);
    return 0;
}

uint64_t lc_hash64(const void *data, size_t len, uint64_t seed)
{
    const unsigned char *p = data;
    uint64_t h = 1469598103934665603ull ^ seed;

    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 1099511628211ull;
    }
    return h;
}
