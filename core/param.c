/* param.c - the configuration registry: every LC_* variable with its default and help. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "internal.h"

const lc_param_t lc_core_params[] = {
    {"LC_PROVIDER", LC_PARAM_STR, "tcp",
     "Providers to use, in preference order, comma separated; a leading ^ excludes instead"},
    {"LC_RANK", LC_PARAM_INT, NULL,
     "This process's rank (else OMPI_COMM_WORLD_RANK, PMI_RANK, SLURM_PROCID or RANK)"},
    {"LC_SIZE", LC_PARAM_INT, NULL,
     "Number of ranks (else OMPI_COMM_WORLD_SIZE, PMI_SIZE, SLURM_NTASKS or WORLD_SIZE)"},
    {"LC_ROOT", LC_PARAM_STR, NULL,
     "host:port of the rendezvous; rank 0 listens there (else MASTER_ADDR:MASTER_PORT+1 with RANK)"},
    {"LC_JOB_KEY", LC_PARAM_STR, NULL,
     "Shared secret every rank must present at the rendezvous (lc_run sets a random one)"},
    {"LC_TIMEOUT", LC_PARAM_INT, "60000",
     "Milliseconds a rendezvous or a collective may wait on a peer before failing"},
    {"LC_LOG_LEVEL", LC_PARAM_STR, "none", "Log level: none, error, warn, info, debug"},
    {"LC_SIMD", LC_PARAM_STR, NULL,
     "Force the kernels' SIMD level: scalar, avx2, avx512 (default: the best the CPU has)"},
    {"LC_SEGMENT", LC_PARAM_INT, "1M",
     "Elements per pipelined segment of the vote collectives (a multiple of 64)"},
    {"LC_VOTE_DEPTH", LC_PARAM_INT, "2",
     "Vote segments in flight (1..8): deeper overlaps more, shallower bursts less (incast)"},
    {"LC_CHECK_ARGS", LC_PARAM_BOOL, "1",
     "Compare every collective's arguments across ranks first (LC_ERR_MISMATCH on all ranks)"},
    {NULL, 0, NULL, NULL},
};

int lc_parse_size(const char *s, int64_t *v)
{
    char *end;
    long long x;

    if (!s || !*s)
        return -EINVAL;
    errno = 0;
    x = strtoll(s, &end, 0);
    if (errno || end == s)
        return -EINVAL;
    switch (*end) {
    case 'k':
    case 'K':
        x *= 1024LL, end++;
        break;
    case 'm':
    case 'M':
        x *= 1024LL * 1024, end++;
        break;
    case 'g':
    case 'G':
        x *= 1024LL * 1024 * 1024, end++;
        break;
    default:
        break;
    }
    if (*end)
        return -EINVAL;
    *v = x;
    return 0;
}

int lc_parse_rate(const char *s, double *bps)
{
    static const struct {
        const char *unit;
        double mul;
    } units[] = {{"bit", 1},       {"kbit", 1e3},      {"mbit", 1e6},     {"gbit", 1e9},
                 {"tbit", 1e12},   {"bps", 8},         {"kbps", 8e3},     {"mbps", 8e6},
                 {"gbps", 8e9},    {"", 1}};
    char *end;
    double v;

    if (!s || !*s)
        return -EINVAL;
    v = strtod(s, &end);
    if (end == s || v <= 0)
        return -EINVAL;
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
        if (!strcasecmp(end, units[i].unit)) {
            *bps = v * units[i].mul;
            return 0;
        }
    return -EINVAL;
}

const lc_param_t *lc_param_at(int idx, const char **owner)
{
    const lc_provider_t *const *provs;
    int nprov, i = 0;

    if (idx < 0)
        return NULL;
    for (const lc_param_t *p = lc_core_params; p->name; p++, i++)
        if (i == idx) {
            if (owner)
                *owner = "core";
            return p;
        }
    provs = lc_provider_list(&nprov);
    for (int k = 0; k < nprov; k++) {
        if (!provs[k]->params)
            continue;
        for (const lc_param_t *p = provs[k]->params; p->name; p++, i++)
            if (i == idx) {
                if (owner)
                    *owner = provs[k]->name;
                return p;
            }
    }
    return NULL;
}

static const lc_param_t *lc_param_lookup(const char *name)
{
    const lc_param_t *p;

    for (int i = 0; (p = lc_param_at(i, NULL)); i++)
        if (!strcmp(p->name, name))
            return p;
    return NULL;
}

const char *lc_param_str(const char *name)
{
    const lc_param_t *p;
    const char *v;

    if (!name || !(p = lc_param_lookup(name)))
        return NULL;
    v = getenv(name);
    if (v && *v)
        return v;
    return p->def;
}

int lc_param_int(const char *name, int64_t *value)
{
    const lc_param_t *p;
    const char *v;

    if (!name || !value)
        return LC_EINVAL("config", "lc_param_int: NULL argument");
    p = lc_param_lookup(name);
    if (!p || p->type == LC_PARAM_STR)
        return -ENOENT;
    v = lc_param_str(name);
    if (!v)
        return -ENOENT;
    if (p->type == LC_PARAM_BOOL) {
        if (!strcmp(v, "1") || !strcasecmp(v, "yes") || !strcasecmp(v, "on") ||
            !strcasecmp(v, "true")) {
            *value = 1;
            return 0;
        }
        if (!strcmp(v, "0") || !strcasecmp(v, "no") || !strcasecmp(v, "off") ||
            !strcasecmp(v, "false")) {
            *value = 0;
            return 0;
        }
        return lc_seterr(LC_ERR_CONFIG, "config", "%s=%s is not a boolean", name, v);
    }
    if (lc_parse_size(v, value))
        return lc_seterr(LC_ERR_CONFIG, "config", "%s=%s is not an integer", name, v);
    return 0;
}
