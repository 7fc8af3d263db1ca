/* main.c - lc_run: start N ranks of a program on this machine with lioncub's
 * bootstrap variables, over loopback or over an emulated, rate-limited
 * Ethernet of network namespaces (--net). Options, the environment contract
 * and the order of setup and teardown live here. */
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <unistd.h>

#include "lc_run.h"
#include "lioncub/lioncub.h"

static const char lcr_usage[] =
    "usage: lc_run -n N [options] [--] PROG [ARGS...]\n"
    "Start N ranks of PROG on this machine with LC_RANK, LC_SIZE, LC_LOCAL_RANK,\n"
    "LC_HOST, LC_ROOT and LC_JOB_KEY set. The ranks' lines never mix; on a terminal\n"
    "they are prefixed with \"[rank] \", into a pipe or a file they pass as written\n"
    "(CSV, JSON).\n"
    "  -n, -np, --np N    number of ranks\n"
    "  --prefix           prefix every line with \"[rank] \", also into a pipe or file\n"
    "  --no-prefix        never prefix, also on a terminal (the last of the two wins)\n"
    "  --net RATE         emulated Ethernet (root only): one network namespace per\n"
    "                     host behind a bridge, each host's link shaped to RATE (tc\n"
    "                     syntax: 100mbit, 1gbit, 10gbit, 125mbps); host h has the\n"
    "                     address 169.254.1.(h+1); a host per rank unless --hosts\n"
    "  --hosts H|L0,L1,...  with --net: H hosts (1..250, at most N), ranks filling\n"
    "                     them in order, N/H on each and one more on each of the\n"
    "                     first N%H hosts (-n 6 --hosts 4: ranks 0-1, 2-3, 4, 5); or\n"
    "                     L0 ranks on host 0, L1 on host 1, ... (they must add up\n"
    "                     to N). The ranks of a host share its namespace, address\n"
    "                     and shaped link\n"
    "  --netem \"ARGS\"     impair every frame a host sends (each host's lc0 egress,\n"
    "                     below the RATE shaper), e.g. \"loss 1% reorder 5%\": with the\n"
    "                     kernel's sch_netem, netem as given; without it (or with\n"
    "                     LC_RUN_NETEM=bpf) an emulation, see below\n"
    "  --mtu N            link MTU with --net (default 1500)\n"
    "  --one              run PROG once (in host 0's namespace with --net), with\n"
    "                     LC_NET_HOSTS and LC_NET_ADDRS listing the hosts\n"
    "  --timeout SEC      stop everything after SEC seconds (exit code 124)\n"
    "  --grace SEC        wait between SIGTERM and SIGKILL when stopping (default 2)\n"
    "  --port P           rendezvous port in LC_ROOT (default: a free loopback port;\n"
    "                     29500 with --net)\n"
    "  --cleanup          remove namespaces left by lc_run processes that are gone\n"
    "                     (lc_run --net also does this when it starts), then exit\n"
    "  -h, --help         this text\n"
    "  --version          lioncub's version\n"
    "Environment given to the ranks:\n"
    "  LC_SIZE                 N\n"
    "  LC_RANK, LC_LOCAL_RANK, LC_LOCAL_SIZE, LC_HOST (not with --one)  r, its rank and\n"
    "                          the rank count on its host, and the host's index: r, N\n"
    "                          and 0 without --net\n"
    "  LC_ROOT                 127.0.0.1:<free port>, or 169.254.1.1:29500 with --net\n"
    "  LC_JOB_KEY              32 random hex digits per run, unless already set\n"
    "  LC_NET_HOSTS, LC_NET_ADDRS, LC_NET_RANKS  space-separated host namespaces,\n"
    "                          addresses and rank counts, in host order (empty without\n"
    "                          --net)\n"
    "  with --net: LC_TCP_IFNAME, LC_RAWETH_IFNAME, LC_OFI_IFNAME = lc0 (unless set),\n"
    "  LC_NET_RATE (as given), LC_NET_RATE_BITS (bit/s), LC_NET_MTU, LC_NET_SWITCH\n"
    "  (the switch namespace, for tc -n ... -s qdisc)\n"
    "--netem emulation (a tc BPF classifier on lc0's clsact egress hook, random\n"
    "numbers from bpf_get_prandom_u32, no correlations), per frame in this order:\n"
    "  loss [random] P%   drop the frame with probability P\n"
    "  duplicate P%       also send a copy, ahead of the frame; the copy draws\n"
    "                     corrupt and delay for itself, not loss or duplicate\n"
    "  corrupt P%         flip one random bit past the Ethernet header; IP, TCP and\n"
    "                     UDP checksums keep stating the original bytes, so the\n"
    "                     receiving stack drops the frame as after a wire error (UDP\n"
    "                     without checksum and raw frames arrive corrupted); ARP\n"
    "                     is spared (a bad answer would poison neighbour caches)\n"
    "  delay TIME         every frame waits TIME (s, ms, us; bare: us) in a delay\n"
    "                     line, a process in the host namespace fed by a veth pair\n"
    "                     lcd0/lcd1; no jitter; it holds at most \"limit N\" frames\n"
    "                     (default 10000) and drops beyond; unlike netem it does\n"
    "                     not hold the sender back (its socket buffer is freed)\n"
    "  reorder P%         with delay: P of the frames skip the delay (netem's\n"
    "                     meaning); without: P of the frames are held 1 ms in the\n"
    "                     delay line, so frames sent after them overtake them\n"
    "  Anything else (rate, slot, jitter, distributions, gemodel, ecn, ...) is an\n"
    "  error. lc0 then runs with gso_max_segs 1, so that each decision is about one\n"
    "  Ethernet frame, and with corrupt without checksum and segmentation offloads.\n"
    "Exit code: 0; that of the first rank to fail (128+signal if killed); 124 on\n"
    "timeout; 128+signal if lc_run was signalled; 2 if lc_run itself failed.\n";

enum {
    OPT_NET = 256, OPT_HOSTS, OPT_NETEM, OPT_MTU, OPT_ONE, OPT_TIMEOUT, OPT_GRACE, OPT_PORT, OPT_CLEANUP,
    OPT_PREFIX, OPT_NO_PREFIX, OPT_VERSION
};

static int lcr_parse_int(const char *s, long lo, long hi, int *out)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return -EINVAL;
    *out = (int)v;
    return 0;
}

static int lcr_parse_secs(const char *s, double *out)
{
    char *end;
    double v;

    errno = 0;
    v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= 0 && v <= 1e7))
        return -EINVAL;
    *out = v;
    return 0;
}

static int lcr_usage_error(const char *what, const char *arg)
{
    if (arg)
        lcr_msg("%s: \"%s\"", what, arg);
    else
        lcr_msg("%s", what);
    fputs("Try 'lc_run --help'.\n", stderr);
    return LCR_EXIT_USAGE;
}

/* mpirun's single-dash -np N among lc_run's own options becomes --np N (getopt
 * would read it as -n p); the program's arguments are left alone. */
static void lcr_accept_np(int argc, char **argv)
{
    static const char *const with_value[] = {"-n",    "--np",      "-np",     "--net",
                                             "--hosts", "--netem", "--mtu",   "--timeout",
                                             "--grace", "--port"};

    for (int i = 1; i < argc && argv[i][0] == '-' && strcmp(argv[i], "--"); i++) {
        if (!strcmp(argv[i], "-np"))
            argv[i] = "--np";
        for (size_t k = 0; k < sizeof(with_value) / sizeof(with_value[0]); k++)
            if (!strcmp(argv[i], with_value[k])) {
                i++; /* its value */
                break;
            }
    }
}

/* --hosts H (host_ranks[0] = 0: filled by lcr_layout) or --hosts L0,L1,... */
static int lcr_parse_hosts(const char *s, lcr_opts_t *o)
{
    char buf[2048], *save, *tok;
    int n = 0, v;

    memset(o->host_ranks, 0, sizeof(o->host_ranks));
    if (strlen(s) >= sizeof(buf))
        return -EINVAL;
    strcpy(buf, s);
    if (!strchr(s, ','))
        return lcr_parse_int(s, 1, LCR_MAX_NET_HOSTS, &o->nhosts);
    for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (n == LCR_MAX_NET_HOSTS || lcr_parse_int(tok, 1, LCR_MAX_RANKS, &v) < 0)
            return -EINVAL;
        o->host_ranks[n++] = (short)v;
    }
    if (n < 2 || s[strlen(s) - 1] == ',' || strstr(s, ",,"))
        return -EINVAL;
    o->nhosts = n;
    return 0;
}

/* With --net: ranks per host (one host per rank without --hosts), checked
 * against -n. 0, or -EINVAL after a message. */
static int lcr_layout(lcr_opts_t *o)
{
    int sum = 0;

    if (!o->nhosts) {
        if (o->nranks > LCR_MAX_NET_HOSTS) {
            lcr_usage_error("--net without --hosts runs at most 250 ranks (a host each)", NULL);
            return -EINVAL;
        }
        o->nhosts = o->nranks;
    }
    if (!o->host_ranks[0]) { /* --hosts H: N/H each, the first N%H one more */
        if (o->nhosts > o->nranks) {
            lcr_usage_error("--hosts H needs H <= -n: every host runs a rank", NULL);
            return -EINVAL;
        }
        for (int h = 0; h < o->nhosts; h++)
            o->host_ranks[h] = (short)(o->nranks / o->nhosts + (h < o->nranks % o->nhosts));
    }
    for (int h = 0; h < o->nhosts; h++)
        sum += o->host_ranks[h];
    if (sum != o->nranks) {
        char what[96];

        snprintf(what, sizeof(what), "--hosts places %d ranks, -n asks for %d", sum, o->nranks);
        lcr_usage_error(what, NULL);
        return -EINVAL;
    }
    return 0;
}

/* 0 and filled *o, or an exit code (-1: done, exit 0: --help, --cleanup). */
static int lcr_parse_args(int argc, char **argv, lcr_opts_t *o)
{
    static const struct option longopts[] = {
        {"np", required_argument, NULL, 'n'},
        {"net", required_argument, NULL, OPT_NET},
        {"hosts", required_argument, NULL, OPT_HOSTS},
        {"netem", required_argument, NULL, OPT_NETEM},
        {"mtu", required_argument, NULL, OPT_MTU},
        {"one", no_argument, NULL, OPT_ONE},
        {"timeout", required_argument, NULL, OPT_TIMEOUT},
        {"grace", required_argument, NULL, OPT_GRACE},
        {"port", required_argument, NULL, OPT_PORT},
        {"cleanup", no_argument, NULL, OPT_CLEANUP},
        {"prefix", no_argument, NULL, OPT_PREFIX},
        {"no-prefix", no_argument, NULL, OPT_NO_PREFIX},
        {"version", no_argument, NULL, OPT_VERSION},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c, mtu_set = 0;

    *o = (lcr_opts_t){.mtu = 1500, .grace_s = 2.0, .prefix = -1};
    opterr = 0;
    lcr_accept_np(argc, argv);
    while ((c = getopt_long(argc, argv, "+n:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'n':
            if (lcr_parse_int(optarg, 1, LCR_MAX_RANKS, &o->nranks) < 0)
                return lcr_usage_error("-n needs a rank count from 1 to 1024", optarg);
            break;
        case OPT_NET:
            if (lcr_parse_rate(optarg, &o->rate_bits) < 0)
                return lcr_usage_error("--net needs a tc rate such as 100mbit, 1gbit, 10gbit",
                                       optarg);
            o->rate = optarg;
            break;
        case OPT_HOSTS:
            if (lcr_parse_hosts(optarg, o) < 0)
                return lcr_usage_error("--hosts needs a host count from 1 to 250, or a comma "
                                       "list of ranks per host (each 1 to 1024)", optarg);
            break;
        case OPT_NETEM:
            if (!*optarg || strlen(optarg) > 500)
                return lcr_usage_error("--netem needs netem arguments", optarg);
            o->netem = optarg;
            break;
        case OPT_MTU:
            if (lcr_parse_int(optarg, 576, 65535, &o->mtu) < 0)
                return lcr_usage_error("--mtu needs a value from 576 to 65535", optarg);
            mtu_set = 1;
            break;
        case OPT_ONE:
            o->one = 1;
            break;
        case OPT_TIMEOUT:
            if (lcr_parse_secs(optarg, &o->timeout_s) < 0 || o->timeout_s <= 0)
                return lcr_usage_error("--timeout needs a positive number of seconds", optarg);
            break;
        case OPT_GRACE:
            if (lcr_parse_secs(optarg, &o->grace_s) < 0)
                return lcr_usage_error("--grace needs a number of seconds", optarg);
            break;
        case OPT_PORT:
            if (lcr_parse_int(optarg, 1, 65535, &o->port) < 0)
                return lcr_usage_error("--port needs a port from 1 to 65535", optarg);
            break;
        case OPT_CLEANUP:
            if (geteuid() != 0)
                return lcr_usage_error("--cleanup needs root", NULL);
            lcr_net_sweep_stale();
            return -1;
        case OPT_PREFIX:
        case OPT_NO_PREFIX:
            o->prefix = c == OPT_PREFIX;
            break;
        case OPT_VERSION:
            printf("lc_run (lioncub) %s\n", lc_version(NULL));
            return -1;
        case 'h':
            fputs(lcr_usage, stdout);
            return -1;
        default:
            return lcr_usage_error("unknown option or missing argument", argv[optind - 1]);
        }
    }
    if (optind >= argc)
        return lcr_usage_error("no program given", NULL);
    if (!o->nranks)
        return lcr_usage_error("-n N is required", NULL);
    if ((o->netem || mtu_set || o->nhosts) && !o->rate)
        return lcr_usage_error("--hosts, --netem and --mtu need --net", NULL);
    if (o->rate && lcr_layout(o) < 0)
        return LCR_EXIT_USAGE;
    o->argv = argv + optind;
    return 0;
}

/* A port that is free on 127.0.0.1 right now. */
static int lcr_free_port(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), port = -1;

    if (fd < 0)
        return -1;
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    close(fd);
    return port;
}

static int lcr_job_key(void)
{
    unsigned char raw[16];
    char hex[2 * sizeof(raw) + 1];
    const char *cur = getenv("LC_JOB_KEY");

    if (cur && *cur)
        return 0; /* the user's key wins */
    if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw)) {
        lcr_msg("getrandom: %s", strerror(errno));
        return -EIO;
    }
    for (size_t i = 0; i < sizeof(raw); i++)
        snprintf(hex + 2 * i, 3, "%02x", raw[i]);
    return setenv("LC_JOB_KEY", hex, 1) ? -errno : 0;
}

/* The environment every rank (or the --one program) shares. */
static int lcr_common_env(const lcr_opts_t *o, const lcr_net_t *net)
{
    static const char *const ifvars[] = {"LC_TCP_IFNAME", "LC_RAWETH_IFNAME", "LC_OFI_IFNAME"};
    char root[64];
    char *hosts = NULL, *addrs = NULL, *nr = NULL;
    size_t hn = 0, an = 0, nn = 0;
    int port = o->port;
    FILE *hf, *af, *nf;

    if (!port)
        port = net ? LCR_NET_PORT : lcr_free_port();
    if (port <= 0) {
        lcr_msg("cannot find a free port on 127.0.0.1: %s", strerror(errno));
        return -EIO;
    }
    snprintf(root, sizeof(root), "%s:%d", net ? net->addr[0] : "127.0.0.1", port);
    setenv("LC_ROOT", root, 1);
    lcr_setenv_int("LC_SIZE", (unsigned long long)o->nranks);
    if (lcr_job_key() < 0)
        return -EIO;

    hf = open_memstream(&hosts, &hn);
    af = open_memstream(&addrs, &an);
    nf = open_memstream(&nr, &nn);
    if (!hf || !af || !nf) {
        if (hf)
            fclose(hf);
        if (af)
            fclose(af);
        if (nf)
            fclose(nf);
        free(hosts);
        free(addrs);
        free(nr);
        return -ENOMEM;
    }
    for (int h = 0; net && h < net->nhosts; h++) {
        fprintf(hf, "%s%s", h ? " " : "", net->host[h]);
        fprintf(af, "%s%s", h ? " " : "", net->addr[h]);
        fprintf(nf, "%s%d", h ? " " : "", o->host_ranks[h]);
    }
    fclose(hf);
    fclose(af);
    fclose(nf);
    setenv("LC_NET_HOSTS", hosts, 1);
    setenv("LC_NET_ADDRS", addrs, 1);
    setenv("LC_NET_RANKS", nr, 1);
    free(hosts);
    free(addrs);
    free(nr);

    if (!net) {
        unsetenv("LC_NET_RATE");
        unsetenv("LC_NET_RATE_BITS");
        unsetenv("LC_NET_SWITCH");
        unsetenv("LC_NET_MTU");
        return 0;
    }
    for (size_t i = 0; i < sizeof(ifvars) / sizeof(ifvars[0]); i++)
        setenv(ifvars[i], "lc0", 0);
    setenv("LC_NET_RATE", o->rate, 1);
    lcr_setenv_int("LC_NET_RATE_BITS", (unsigned long long)o->rate_bits);
    lcr_setenv_int("LC_NET_MTU", (unsigned long long)o->mtu);
    setenv("LC_NET_SWITCH", net->sw, 1);
    return 0;
}

/* Enough descriptors for two pipes per rank. */
static void lcr_raise_nofile(int nranks)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)nranks * 2 + 64) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

/* A stop signal that arrived during setup: its number, else 0. */
static int lcr_pending_stop(void)
{
    static const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
    sigset_t pend;

    if (sigpending(&pend) < 0)
        return 0;
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
        if (sigismember(&pend, sigs[i]))
            return sigs[i];
    return 0;
}

int main(int argc, char **argv)
{
    static lcr_net_t net; /* large: keep it off the stack */
    lcr_net_t *netp = NULL;
    lcr_opts_t o;
    sigset_t mask;
    int rc, sigfd;

    rc = lcr_parse_args(argc, argv, &o);
    if (rc)
        return rc < 0 ? 0 : rc;
    if (o.rate && geteuid() != 0) {
        lcr_msg("--net needs root: it creates network namespaces, veth pairs, a bridge and "
                "tc qdiscs; run as root or without --net");
        return LCR_EXIT_USAGE;
    }
    lcr_raise_nofile(o.nranks);

    /* Signals are taken synchronously from a signalfd from here on, so setup
     * and teardown are never interrupted half way. */
    sigemptyset(&mask);
    sigaddset(&mask, SIGCHLD);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGHUP);
    sigaddset(&mask, SIGQUIT);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    signal(SIGPIPE, SIG_IGN);
    sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    if (sigfd < 0) {
        lcr_msg("signalfd: %s", strerror(errno));
        return LCR_EXIT_USAGE;
    }

    if (o.rate) {
        lcr_net_sweep_stale();
        if (lcr_net_setup(&net, &o) < 0)
            return LCR_EXIT_USAGE;
        netp = &net;
    }
    if (lcr_common_env(&o, netp) < 0) {
        rc = LCR_EXIT_USAGE;
        goto out;
    }
    rc = lcr_pending_stop();
    if (rc) {
        lcr_msg("got signal %d during setup; not starting the ranks", rc);
        rc += 128;
        goto out;
    }
    rc = lcr_supervise(&o, netp, sigfd);
out:
    if (netp)
        lcr_net_teardown(netp);
    close(sigfd);
    return rc;
}
