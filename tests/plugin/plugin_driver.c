/*
 * plugin_driver.c - loads the lioncub NCCL net plugin exactly as NCCL does
 * and drives it from two processes.
 *
 * Loading: NCCL_NET_PLUGIN (default here: "lioncub") is first passed to
 * dlopen as is; if that fails and the value is neither a path nor a
 * "lib*.so" name, "libnccl-net-<value>.so" is tried, both with
 * RTLD_NOW | RTLD_LOCAL and the normal library search path. Then every
 * ncclNetPlugin_vN (10 down to 6) found is tested in turn by two fresh
 * child processes: one listens and receives, the other connects and sends,
 * the listen handle travels through a pipe; both sides init the plugin with a
 * logger, check devices and properties, connect with NCCL's retry loops and
 * run the schedule of drv_xfer.c, checking every byte.
 *
 * Usage: plugin_driver [-v] [--quick] [--versions 10,9,8]   (--quick: <= 1 MiB)
 *        plugin_driver --bench [SECONDS] [--size BYTES] [--window N]
 *        plugin_driver --unload-check   (init, dlclose, failing init: see below)
 * plugin_driver_netns (built with DRV_NETNS) runs the two roles in two new
 * network namespaces joined by a veth pair and also takes
 *        --provider raweth|tcp|ofi   --rate RATE (tc tbf shaping, e.g. 1gbit)
 * and exits 77 when it may not create namespaces. Started as
 * "lc_run --net RATE -n 2 --one -- plugin_driver_netns ..." it uses lc_run's
 * hosts 0 and 1 (LC_NET_HOSTS) and devices instead of its own network.
 * Exit: 0 passed, 1 failed, 77 skipped.
 */
#include <dlfcn.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "drv.h"
#ifdef DRV_NETNS
#include "reth_netns.h"
#endif

#define DRV_MAX_OPS 128

static int drv_verbose;
static int drv_quick;

#ifdef DRV_NETNS
/* The netns build: each role runs in its own namespace of a private
 * two-host network (tests/raweth/reth_netns.c), on the provider chosen with
 * --provider (default raweth), bound to its veth end. */
static reth_net_t drv_net;
static const char *drv_netns_prov; /* --provider; own network default: raweth */
static int drv_netns_lcrun;        /* hosts and devices come from lc_run */

/* Whether liblioncub (found like the plugin finds it) has the provider. */
static int drv_provider_built(const char *name)
{
    void *core = dlopen("liblioncub.so.0", RTLD_NOW | RTLD_LOCAL);
    const void *(*find)(const char *) = NULL;
    int found;

    if (!core)
        return 0;
    *(void **)&find = dlsym(core, "lc_provider_find");
    found = find && find(name) != NULL;
    dlclose(core);
    return found;
}

static int drv_netns_enter(int side)
{
    if (reth_net_enter(&drv_net, side))
        return -1;
    if (drv_netns_prov)
        setenv("LC_PROVIDER", drv_netns_prov, 1);
    if (drv_netns_lcrun)
        return 0; /* lc_run's environment already names the devices */
    setenv("LC_TCP_IFNAME", drv_net.dev[side], 1);
    setenv("LC_RAWETH_IFNAME", drv_net.dev[side], 1);
    setenv("LC_OFI_IFNAME", drv_net.dev[side], 1);
    return 0;
}
#endif
static int drv_log_lines;
static int drv_log_warns;

static void drv_logger(int level, unsigned long flags, const char *file, int line, const char *fmt,
                       ...) __attribute__((format(printf, 5, 6)));
static void drv_logger(int level, unsigned long flags, const char *file, int line, const char *fmt,
                       ...)
{
    va_list ap;

    drv_log_lines++;
    drv_log_warns += level == LCN_LOG_WARN;
    if (!drv_verbose && level > LCN_LOG_WARN)
        return;
    fprintf(stderr, "[%d] NCCL %s: ", (int)getpid(), level <= LCN_LOG_WARN ? "WARN" : "INFO");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

/* NCCL's plugin name resolution. */
static void *drv_open(char *used, size_t len)
{
    const char *v = getenv("NCCL_NET_PLUGIN");
    size_t n;
    void *h;

    if (!v || !*v)
        v = "lioncub";
    n = strlen(v);
    snprintf(used, len, "%s", v);
    h = dlopen(used, RTLD_NOW | RTLD_LOCAL);
    if (h)
        return h;
    if (drv_verbose)
        fprintf(stderr, "dlopen(%s): %s\n", used, dlerror());
    if (strchr(v, '/') || (!strncmp(v, "lib", 3) && n >= 3 && !strcmp(v + n - 3, ".so")))
        return NULL;
    snprintf(used, len, "libnccl-net-%s.so", v);
    h = dlopen(used, RTLD_NOW | RTLD_LOCAL);
    if (!h)
        fprintf(stderr, "dlopen(%s): %s\n", used, dlerror());
    return h;
}

/* Init and property checks every process does first. */
static int drv_setup(const struct drv *d)
{
    int ndev = 0;

    CHECK(drv_init(d, drv_logger) == LCN_OK, "init failed (see the NCCL WARN lines)");
    CHECK(drv_devices(d, &ndev) == LCN_OK && ndev >= 1, "devices: %d", ndev);
    for (int dev = 0; dev < ndev; dev++) {
        struct drv_props p;

        CHECK(drv_props(d, dev, &p) == LCN_OK, "getProperties(%d)", dev);
        CHECK(p.name && p.name[0], "device %d has no name", dev);
        CHECK(p.ptr_support == LCN_PTR_HOST, "ptrSupport %#x", p.ptr_support);
        CHECK(p.speed > 0 && p.max_comms > 0 && p.latency >= 0, "speed %d maxComms %d", p.speed,
              p.max_comms);
        CHECK(p.max_recvs >= 8, "maxRecvs %d", p.max_recvs);
        CHECK(p.reg_is_global == 0 || p.reg_is_global == 1, "regIsGlobal %d", p.reg_is_global);
        CHECK(p.dev_type == 0, "netDeviceType %d (host expected)", p.dev_type);
        CHECK(p.vndevs == 1 && p.vdev0 == dev, "vProps %d/%d", p.vndevs, p.vdev0);
        CHECK(p.max_p2p >= (64u << 20), "maxP2pBytes %zu", p.max_p2p);
        if (drv_verbose)
            fprintf(stderr, "[%d] v%d dev %d: %s pci %s guid %#llx %d Mbps port %d\n",
                    (int)getpid(), d->ver, dev, p.name, p.pci_path ? p.pci_path : "(none)",
                    (unsigned long long)p.guid, p.speed, p.port);
    }
    return 0;
}

static int drv_receiver(const struct drv *d, int hfd, int donefd, int bench, double secs,
                        size_t size, int window)
{
    char handle[LCN_HANDLE_MAX];
    void *lc = NULL, *rc = NULL, *mh = (void *)1, *req = (void *)1, *buf[1];
    struct drv_op ops[DRV_MAX_OPS];
    int nops, sz[1] = {16};
    char probe[16];

    if (drv_setup(d))
        return -1;
    CHECK(drv_listen(d, 0, handle, &lc) == LCN_OK && lc, "listen");
    CHECK(write(hfd, handle, sizeof(handle)) == (ssize_t)sizeof(handle), "handle pipe");
    while (!rc)
        CHECK(drv_accept(d, lc, &rc) == LCN_OK, "accept");
    /* Host memory only: no DMA-BUF, and flush completes at once. */
    buf[0] = probe;
    CHECK(drv_reg_mr_dmabuf(d, rc, probe, sizeof(probe), &mh) != LCN_OK, "regMrDmaBuf works?");
    CHECK(drv_iflush(d, rc, 1, buf, sz, &mh, &req) == LCN_OK && !req, "iflush");
    if (bench) {
        double mbps;
        long n;
        CHECK(drv_bench_recv(d, rc, size, window, &mbps, &n) == 0, "bench");
        printf("plugin bench v%d (%s): %zu-byte messages, window %d, %.1f s: "
               "%ld received, %.1f MB/s (%.3f Gbit/s)\n",
               d->ver, drv_name(d), size, window, secs, n, mbps, mbps * 8e-3);
    } else {
        nops = drv_schedule(drv_quick, ops, DRV_MAX_OPS);
        CHECK(drv_run_recv(d, rc, ops, nops) == 0, "receive schedule");
    }
    CHECK(write(donefd, "k", 1) == 1, "done pipe");
    CHECK(drv_close_recv(d, rc) == LCN_OK, "closeRecv");
    CHECK(drv_close_listen(d, lc) == LCN_OK, "closeListen");
    return 0;
}

static int drv_sender(const struct drv *d, int hfd, int donefd, int bench, double secs, size_t size,
                      int window)
{
    char handle[LCN_HANDLE_MAX], c;
    void *sc = NULL;
    struct drv_op ops[DRV_MAX_OPS];
    int nops;

    if (drv_setup(d))
        return -1;
    CHECK(read(hfd, handle, sizeof(handle)) == (ssize_t)sizeof(handle), "handle pipe");
    while (!sc)
        CHECK(drv_connect(d, 0, handle, &sc) == LCN_OK, "connect");
    if (bench) {
        double mbps;
        CHECK(drv_bench_send(d, sc, size, window, secs, &mbps) == 0, "bench");
        printf("plugin bench v%d sender: %.1f MB/s\n", d->ver, mbps);
        fflush(stdout);
    } else {
        nops = drv_schedule(drv_quick, ops, DRV_MAX_OPS);
        CHECK(drv_run_send(d, sc, ops, nops) == 0, "send schedule");
    }
    /* Close only once the receiver has everything. */
    CHECK(read(donefd, &c, 1) == 1, "done pipe");
    CHECK(drv_close_send(d, sc) == LCN_OK, "closeSend");
    return 0;
}

/* Run one role in a child, so that every test starts from a process in
 * which the plugin was never initialized (NCCL does not fork after init). */
static pid_t drv_spawn(const struct drv *d, int sender, const int hp[2], const int dp[2], int bench,
                       double secs, size_t size, int window)
{
    /* The receiver writes both pipes, the sender reads them; each closes
     * the other ends so that a dead peer shows up as EOF. */
    int hfd = hp[!sender], donefd = dp[!sender];
    pid_t pid;
    int rc;

    fflush(stdout);
    pid = fork();
    if (pid != 0)
        return pid;
    close(hp[sender]);
    close(dp[sender]);
    alarm(bench ? (unsigned)secs + 60 : 120);
#ifdef DRV_NETNS
    if (drv_netns_enter(sender))
        _exit(1);
#endif
    rc = sender ? drv_sender(d, hfd, donefd, bench, secs, size, window)
                : drv_receiver(d, hfd, donefd, bench, secs, size, window);
    fflush(stdout);
    _exit(rc ? 1 : 0);
}

static int drv_pair(const struct drv *d, int bench, double secs, size_t size, int window)
{
    int hp[2], dp[2], st[2] = {0, 0}, failed = 0;
    pid_t pid[2];

    if (pipe(hp) || pipe(dp))
        return -1;
    pid[0] = drv_spawn(d, 0, hp, dp, bench, secs, size, window);
    pid[1] = drv_spawn(d, 1, hp, dp, bench, secs, size, window);
    close(hp[0]);
    close(hp[1]);
    close(dp[0]);
    close(dp[1]);
    for (int i = 0; i < 2; i++) {
        if (pid[i] < 0) {
            failed = 1;
            continue;
        }
        waitpid(pid[i], &st[i], 0);
        if (!WIFEXITED(st[i]) || WEXITSTATUS(st[i])) {
            fprintf(stderr, "v%d: %s failed (status %#x)\n", d->ver, i ? "sender" : "receiver",
                    st[i]);
            failed = 1;
            /* the peer would wait for it forever */
            if (i == 0 && pid[1] > 0)
                kill(pid[1], SIGTERM);
        }
    }
    return failed ? -1 : 0;
}

/*
 * --unload-check: what NCCL does around a plugin's life, in one process
 * that also uses liblioncub itself (as a training script calling the vote
 * API would). Init succeeds, NCCL unloads the plugin, lioncub logs (must not
 * call into the unloaded plugin); then with no usable device (LC_TCP_IFNAME
 * naming no interface) init must fail with a WARN through NCCL's logger,
 * and the plugin is unloaded again.
 */
static int drv_unload_check(void)
{
    typedef int (*seterr_t)(int, const char *, const char *, ...);
    void *core = dlopen("liblioncub.so.0", RTLD_NOW | RTLD_LOCAL), *lib;
    seterr_t seterr = core ? (seterr_t)dlsym(core, "lc_seterr") : NULL;
    char used[256];
    struct drv d = {.ver = 10};
    int ndev = -1;

    CHECK(seterr, "liblioncub.so.0 not loadable: %s", dlerror());
    setenv("LC_LOG_LEVEL", "error", 1);
    for (int round = 0; round < 2; round++) {
        CHECK((lib = drv_open(used, sizeof(used))) != NULL, "plugin not loadable");
        CHECK((d.tab = dlsym(lib, "ncclNetPlugin_v10")) != NULL, "no ncclNetPlugin_v10");
        drv_log_warns = 0;
        if (round == 0) {
            CHECK(drv_init(&d, drv_logger) == LCN_OK, "init on loopback");
            CHECK(drv_devices(&d, &ndev) == LCN_OK && ndev >= 1, "devices %d", ndev);
        } else {
            CHECK(drv_init(&d, drv_logger) != LCN_OK, "init succeeded without a device");
            CHECK(drv_log_warns > 0, "init failed without a WARN line");
        }
        dlclose(lib);
        /* liblioncub stays loaded: this line must go to stderr, not into
         * the unmapped plugin's logger */
        seterr(-5, "test", "liblioncub logs after the plugin was unloaded (round %d)", round);
        setenv("LC_TCP_IFNAME", "lcnone0", 1);
        setenv("LC_PROVIDER", "tcp", 1);
    }
    dlclose(core);
    printf("unload check passed: init, unload, init failing without a device, unload\n");
    return 0;
}

int main(int argc, char **argv)
{
    const char *versions = "10,9,8,7,6";
    char used[256], sym[32];
    int bench = 0, window = 8, failed = 0, tested = 0;
    double secs = 3;
    size_t size = 4u << 20;
    const char *rate = NULL;
    void *lib;

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-v")) {
            drv_verbose = 1;
        } else if (!strcmp(argv[i], "--quick")) {
            drv_quick = 1;
        } else if (!strcmp(argv[i], "--unload-check")) {
            return drv_unload_check() ? 1 : 0;
        } else if (!strcmp(argv[i], "--versions") && i + 1 < argc) {
            versions = argv[++i];
        } else if (!strcmp(argv[i], "--bench")) {
            bench = 1;
            if (i + 1 < argc && argv[i + 1][0] != '-')
                secs = atof(argv[++i]);
        } else if (!strcmp(argv[i], "--size") && i + 1 < argc) {
            size = strtoull(argv[++i], NULL, 0);
        } else if (!strcmp(argv[i], "--window") && i + 1 < argc) {
            window = atoi(argv[++i]);
#ifdef DRV_NETNS
        } else if (!strcmp(argv[i], "--provider") && i + 1 < argc) {
            drv_netns_prov = argv[++i];
        } else if (!strcmp(argv[i], "--rate") && i + 1 < argc) {
            rate = argv[++i];
#endif
        } else {
            fprintf(stderr,
                    "usage: %s [-v] [--quick] [--versions 10,9,8] [--bench [SECONDS]] "
                    "[--size BYTES] [--window N]\n",
                    argv[0]);
            return 2;
        }
    }
    if (window < 1 || window > 64 || size < 1 || size > (1u << 30)) {
        fprintf(stderr, "--window must be 1..64 and --size 1..1G\n");
        return 2;
    }
    alarm(bench ? (unsigned)secs + 90 : 300);
#ifdef DRV_NETNS
    const char *hosts = getenv("LC_NET_HOSTS");
    int up;

    if (hosts && *hosts) {
        /* Under "lc_run --net RATE -n 2 --one": use its hosts 0 and 1. */
        if (sscanf(hosts, "%31s %31s", drv_net.ns[0], drv_net.ns[1]) != 2) {
            fprintf(stderr, "LC_NET_HOSTS='%s': two hosts needed (lc_run -n 2)\n", hosts);
            return 1;
        }
        drv_netns_lcrun = 1;
        printf("lc_run network: hosts %s and %s\n", drv_net.ns[0], drv_net.ns[1]);
    } else {
        if (!drv_netns_prov)
            drv_netns_prov = "raweth";
        if (!drv_provider_built(drv_netns_prov)) {
            printf("SKIP: provider %s is not built into liblioncub\n", drv_netns_prov);
            return 77;
        }
        if ((up = reth_net_up(&drv_net)) != 0)
            return up == 77 ? 77 : 1;
        if (rate && reth_net_shape(&drv_net, rate)) {
            fprintf(stderr, "cannot shape the link to %s (tc tbf)\n", rate);
            return 1;
        }
        printf("private network: %s/%s <-> %s/%s%s%s, provider %s\n", drv_net.ns[0], drv_net.dev[0],
               drv_net.ns[1], drv_net.dev[1], rate ? ", rate " : "", rate ? rate : "",
               drv_netns_prov);
    }
#else
    (void)rate;
#endif
    lib = drv_open(used, sizeof(used));
    if (!lib)
        return 1;
    printf("loaded %s\n", used);
    for (const char *v = versions; *v;) {
        struct drv d = {.ver = atoi(v)};

        snprintf(sym, sizeof(sym), "ncclNetPlugin_v%d", d.ver);
        d.tab = d.ver >= 6 && d.ver <= 10 ? dlsym(lib, sym) : NULL;
        if (!d.tab) {
            printf("%s: not exported\n", sym);
            failed++;
        } else if (drv_pair(&d, bench, secs, size, window)) {
            printf("%s: FAILED\n", sym);
            failed++;
        } else {
            printf("%s (%s): %s\n", sym, drv_name(&d), bench ? "done" : "passed");
            tested++;
        }
        fflush(stdout);
        v = strchr(v, ',');
        v = v ? v + 1 : "";
        if (bench)
            break; /* one version is enough for a figure */
    }
    dlclose(lib);
    printf("%d version(s) passed, %d failed\n", tested, failed);
    return failed ? 1 : 0;
}
