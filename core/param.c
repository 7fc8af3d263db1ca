/*
 * param.c - the configuration registry: every LC_* variable with its default,
 * help and the rule its value follows (range, multiple, words or form). Every
 * rule lives here; the code that reads a value gets it checked (lc_param_int,
 * lc_param_word), lc_comm_init checks them all (param_check.c), and lc_info -e
 * and the lioncub(7) man page list them.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "internal.h"

const char *const lc_hier_names[] = {"0", "1", "auto", NULL};

/* A registered variable and its rule. */
typedef struct lc_param_def {
    lc_param_t p;
    lc_param_rule_t r;
} lc_param_def_t;

#define LC_ANY_INT(lo) {.min = (lo), .max = INT64_MAX}

static const lc_param_def_t lc_core_params[] = {
    {{"LC_PROVIDER", LC_PARAM_STR, "tcp",
      "Providers to use, in preference order, comma separated; a leading ^ excludes instead"},
     {.check = lc_param_check_providers,
      .form = "provider names (lc_info lists those built in) separated by commas, or ^ and "
              "the names to exclude"}},
    {{"LC_MODULE_PATH", LC_PARAM_STR, NULL,
      "Folders (colon separated) searched for provider modules (liblioncub-NAME.so) before the "
      "library's own, LIBDIR/lioncub next to liblioncub.so; lc_info lists what was found"},
     {.form = "folders separated by colons"}},
    {{"LC_RANK", LC_PARAM_INT, NULL,
      "This process's rank (else OMPI_COMM_WORLD_RANK, PMI_RANK, SLURM_PROCID or RANK)"},
     LC_ANY_INT(0)},
    {{"LC_SIZE", LC_PARAM_INT, NULL,
      "Number of ranks (else OMPI_COMM_WORLD_SIZE, PMI_SIZE, SLURM_NTASKS or WORLD_SIZE)"},
     LC_ANY_INT(1)},
    {{"LC_ROOT", LC_PARAM_STR, NULL,
      "host:port of the rendezvous; rank 0 listens there (else MASTER_ADDR:MASTER_PORT+1 with "
      "RANK)"},
     {.check = lc_param_check_hostport,
      .form = "host:port, with a port 0..65535 (0: any, for lc_get_unique_id) and [brackets] "
              "around an IPv6 address"}},
    {{"LC_JOB_KEY", LC_PARAM_STR, NULL,
      "Shared secret of the job: its keys authenticate the rendezvous, every connection and "
      "raweth's frames (lc_run sets a random one); required when LC_ROOT is not on loopback"},
     {0}},
    {{"LC_INSECURE", LC_PARAM_BOOL, "0",
      "1: let a job whose rendezvous is not on loopback run without LC_JOB_KEY (anyone who "
      "reaches LC_ROOT may join it)"},
     {0}},
    {{"LC_TIMEOUT", LC_PARAM_INT, "60000",
      "Milliseconds a rendezvous or a collective may wait on a peer before failing"},
     {.min = 1, .max = 86400000}},
    {{"LC_LOG_LEVEL", LC_PARAM_STR, "none", "Log level: none, error, warn, info, debug"},
     {.words = lc_log_level_names}},
    {{"LC_SIMD", LC_PARAM_STR, NULL,
      "Force the kernels' SIMD level: scalar, avx2, avx512 (default: the best the CPU has)"},
     {.words = lc_simd_names}},
    {{"LC_SEGMENT", LC_PARAM_INT, "1M",
      "Elements per pipelined segment of the vote collectives (a multiple of 64)"},
     {.min = 64, .max = 1LL << 32, .multiple = 64}},
    {{"LC_VOTE_DEPTH", LC_PARAM_INT, "2",
      "Vote segments in flight (1..8): deeper overlaps more, shallower bursts less (incast)"},
     {.min = 1, .max = LC_VOTE_MAX_DEPTH}},
    {{"LC_VOTE_DIRECT", LC_PARAM_INT, "32K",
      "Votes whose packed vectors, sent whole to every other rank, come to at most this "
      "many bytes per rank run in one round (each rank decodes all); 0: always two phases"},
     {.min = 0, .max = 1LL << 30}},
    {{"LC_CHECK_ARGS", LC_PARAM_BOOL, "1",
      "Send a hash of every collective's arguments ahead of its data and compare it on "
      "every rank (LC_ERR_MISMATCH on all ranks; no extra network round)"},
     {0}},
    {{"LC_HOST", LC_PARAM_STR, NULL,
      "This rank's host: ranks with the same name share a host (lc_run sets it; default: "
      "ranks with the same hostname, boot id and network namespace)"},
     {0}},
    {{"LC_HIER", LC_PARAM_STR, "auto",
      "Votes in two levels (inside each host, then across hosts) when ranks share hosts and "
      "there are several: 0 never, 1 always, auto for votes too large for one round "
      "(LC_VOTE_DIRECT)"},
     {.words = lc_hier_names}},
    {{"LC_SHM", LC_PARAM_BOOL, "1",
      "Ranks of one host exchange their votes through shared memory (memfd regions mapped "
      "by the host's ranks) instead of the provider"},
     {0}},
    {{"LC_SHM_SPLIT", LC_PARAM_STR, "auto",
      "A vote of ranks on one host through shared memory: 1 each rank counts its share of "
      "the vector and copies the others' results, 0 each counts all of it (no wait for the "
      "others' results, but L times the work), auto 1 when the host has fewer CPUs than ranks"},
     {.words = lc_hier_names}},
    {{"LC_SHM_STREAM", LC_PARAM_STR, "auto",
      "How a rank writes its votes and results into its shared-memory region: 1 with "
      "non-temporal stores, 0 with plain ones, auto whichever copied faster lately (plain "
      "unless they cost 1.5x)"},
     {.words = lc_hier_names}},
    {{"LC_PROGRESS_THREAD", LC_PARAM_BOOL, "0",
      "A thread per communicator that progresses non-blocking collectives between calls"},
     {0}},
    {{NULL, 0, NULL, NULL}, {0}},
};

/* Variables the library does not read but lioncub's programs set or read:
 * registered so that they are documented and not reported as unknown. */
static const lc_param_def_t lc_run_params[] = {
    {{"LC_LOCAL_RANK", LC_PARAM_INT, NULL,
      "Set by lc_run: the rank among those on this host (the Python package reads it)"},
     LC_ANY_INT(0)},
    {{"LC_LOCAL_SIZE", LC_PARAM_INT, NULL, "Set by lc_run: the number of ranks on this host"},
     LC_ANY_INT(1)},
    {{"LC_NET_HOSTS", LC_PARAM_STR, NULL,
      "Set by lc_run: the host namespaces of --net, space separated (empty without --net)"},
     {0}},
    {{"LC_NET_ADDRS", LC_PARAM_STR, NULL,
      "Set by lc_run: the hosts' addresses on the emulated link, space separated"},
     {0}},
    {{"LC_NET_RANKS", LC_PARAM_STR, NULL,
      "Set by lc_run: the number of ranks on each host of --net, space separated"},
     {0}},
    {{"LC_NET_RATE", LC_PARAM_STR, NULL, "Set by lc_run --net: the link rate as given"}, {0}},
    {{"LC_NET_RATE_BITS", LC_PARAM_INT, NULL, "Set by lc_run --net: the link rate in bit/s"},
     LC_ANY_INT(1)},
    {{"LC_NET_MTU", LC_PARAM_INT, NULL, "Set by lc_run --net: the link MTU"}, LC_ANY_INT(68)},
    {{"LC_NET_SWITCH", LC_PARAM_STR, NULL,
      "Set by lc_run --net: the switch namespace (tc -n NAME -s qdisc shows its queues)"},
     {0}},
    {{"LC_RUN_NETEM", LC_PARAM_STR, NULL,
      "lc_run --netem: bpf uses the emulation even where the kernel has sch_netem"},
     {0}},
    {{NULL, 0, NULL, NULL}, {0}},
};

static const lc_param_def_t lc_test_params[] = {
    {{"LC_BIN", LC_PARAM_STR, NULL,
      "The build's bin directory, set by ctest for the tests that start the tools"},
     {0}},
    {{"LC_TEST_SEED", LC_PARAM_INT, NULL, "Seed of the randomized kernel tests (repeats a run)"},
     LC_ANY_INT(0)},
    {{NULL, 0, NULL, NULL}, {0}},
};

int lc_parse_size(const char *s, int64_t *v)
{
    char *end;
    long long x, mul = 1;

    if (!s || !*s)
        return -EINVAL;
    errno = 0;
    x = strtoll(s, &end, 10);
    if (errno || end == s)
        return -EINVAL;
    switch (*end) {
    case 'k':
    case 'K':
        mul = 1LL << 10, end++;
        break;
    case 'm':
    case 'M':
        mul = 1LL << 20, end++;
        break;
    case 'g':
    case 'G':
        mul = 1LL << 30, end++;
        break;
    default:
        break;
    }
    if (*end || x > INT64_MAX / mul || x < INT64_MIN / mul)
        return -EINVAL;
    *v = x * mul;
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
    if (end == s || !(v > 0) || !isfinite(v))
        return -EINVAL;
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
        if (!strcasecmp(end, units[i].unit)) {
            *bps = v * units[i].mul;
            return 0;
        }
    return -EINVAL;
}

/* The idx-th entry of defs (NULL-name terminated), counting on from *i. */
static const lc_param_def_t *lc_param_def_at(const lc_param_def_t *defs, int idx, int *i)
{
    for (; defs->p.name; defs++, (*i)++)
        if (*i == idx)
            return defs;
    return NULL;
}

const lc_param_t *lc_param_at(int idx, const char **owner)
{
    const lc_provider_t *const *provs;
    const lc_param_def_t *d;
    int nprov, i = 0;

    if (idx < 0)
        return NULL;
    if ((d = lc_param_def_at(lc_core_params, idx, &i))) {
        if (owner)
            *owner = "core";
        return &d->p;
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
    if ((d = lc_param_def_at(lc_run_params, idx, &i))) {
        if (owner)
            *owner = "lc_run";
        return &d->p;
    }
    if ((d = lc_param_def_at(lc_test_params, idx, &i))) {
        if (owner)
            *owner = "tests";
        return &d->p;
    }
    return NULL;
}

const lc_param_t *lc_param_find(const char *name, const lc_param_rule_t **rule)
{
    static const lc_param_def_t *const tables[] = {lc_core_params, lc_run_params, lc_test_params};
    const lc_param_t *p;

    if (rule)
        *rule = NULL;
    for (size_t t = 0; t < sizeof(tables) / sizeof(tables[0]); t++)
        for (const lc_param_def_t *d = tables[t]; d->p.name; d++)
            if (!strcmp(d->p.name, name)) {
                if (rule)
                    *rule = &d->r;
                return &d->p;
            }
    /* the providers': those usable now, then every module's (loading them) */
    if ((p = lc_provider_param_find(name, 0)))
        return p;
    return lc_provider_param_find(name, 1);
}

const char *lc_param_str(const char *name)
{
    const lc_param_t *p;
    const char *v;

    if (!name || !(p = lc_param_find(name, NULL)))
        return NULL;
    v = getenv(name);
    if (v && *v)
        return v;
    return p->def;
}

/* Parse v as p's type and check it against rule r: 0, or -EINVAL. */
static int lc_param_parse(const lc_param_t *p, const lc_param_rule_t *r, const char *v,
                          int64_t *value)
{
    static const char *const yes[] = {"1", "yes", "on", "true"};
    static const char *const no[] = {"0", "no", "off", "false"};

    if (p->type == LC_PARAM_BOOL) {
        for (int i = 0; i < 4; i++)
            if (!strcasecmp(v, yes[i]) || !strcasecmp(v, no[i])) {
                *value = !strcasecmp(v, yes[i]);
                return 0;
            }
        return -EINVAL;
    }
    if (lc_parse_size(v, value))
        return -EINVAL;
    if (r && r->min < r->max && (*value < r->min || *value > r->max))
        return -EINVAL;
    if (r && r->multiple && *value % r->multiple)
        return -EINVAL;
    return 0;
}

int lc_param_int(const char *name, int64_t *value)
{
    const lc_param_rule_t *r;
    const lc_param_t *p;
    const char *v;
    char form[256];

    if (!name || !value)
        return LC_EINVAL("config", "lc_param_int: NULL argument");
    p = lc_param_find(name, &r);
    if (!p || p->type == LC_PARAM_STR)
        return -ENOENT;
    v = lc_param_str(name);
    if (!v)
        return -ENOENT;
    if (lc_param_parse(p, r, v, value)) {
        lc_param_form(p, form, sizeof(form));
        return lc_seterr(LC_ERR_CONFIG, "config", "%s=%s: expected %s", name, v, form);
    }
    return 0;
}

int lc_param_word(const char *name)
{
    const lc_param_rule_t *r;
    const char *v = lc_param_str(name);

    if (!lc_param_find(name, &r) || !r || !r->words)
        return -EINVAL;
    if (!v)
        return -ENOENT;
    for (int i = 0; r->words[i]; i++)
        if (!strcasecmp(v, r->words[i]))
            return i;
    return -EINVAL;
}

void lc_format_size(int64_t v, char *buf, size_t len)
{
    static const char sfx[] = "GMK";

    for (int i = 0; i < 3; i++) {
        int64_t unit = 1LL << (10 * (3 - i));
        if (v && v % unit == 0 && v / unit < 1024) {
            snprintf(buf, len, "%lld%c", (long long)(v / unit), sfx[i]);
            return;
        }
    }
    snprintf(buf, len, "%lld", (long long)v);
}
