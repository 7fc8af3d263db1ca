/* env.c - rank and size from the environment: LC_*, then Open MPI, PMI and Slurm variables. */
#include <stdlib.h>

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

int lc_env_rank_size(int *rank, int *nranks)
{
    static const char *const pairs[][2] = {
        {"LC_RANK", "LC_SIZE"},
        {"OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE"},
        {"PMI_RANK", "PMI_SIZE"},
        {"SLURM_PROCID", "SLURM_NTASKS"},
    };

    for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
        int r, n, rc;

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
        return 0;
    }
    return lc_seterr(LC_ERR_CONFIG, "comm",
                     "no rank and size: set LC_RANK and LC_SIZE, or launch with lc_run, "
                     "mpirun or srun");
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
