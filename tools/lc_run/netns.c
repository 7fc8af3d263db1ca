/* netns.c - lc_run's emulated Ethernet: a "switch" network namespace with a
 * bridge, one namespace per host joined to it by a veth pair (lc0 on the host
 * side), link-local IPv4 addresses, and tc shaping of both directions of every
 * link. Nothing is created in the root namespace. Everything is built with
 * ip/tc argv arrays and removed by namespace name, also after failures. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lc_run.h"
#include "netem.h"

#define LCR_NETNS_DIR "/run/netns"

static const char *lcr_ip = "ip", *lcr_tc = "tc";
static lcr_net_t *lcr_active; /* for the atexit handler */
static pid_t lcr_owner;

int lcr_parse_rate(const char *s, uint64_t *bits)
{
    static const struct {
        const char *unit;
        double mult;
    } units[] = {
        {"", 1},           {"bit", 1},         {"kbit", 1e3},          {"mbit", 1e6},
        {"gbit", 1e9},     {"tbit", 1e12},     {"kibit", 1024.0},      {"mibit", 1048576.0},
        {"gibit", 1073741824.0}, {"tibit", 1099511627776.0}, {"bps", 8},   {"kbps", 8e3},
        {"mbps", 8e6},     {"gbps", 8e9},      {"tbps", 8e12},         {"kibps", 8 * 1024.0},
        {"mibps", 8 * 1048576.0}, {"gibps", 8 * 1073741824.0},
    };
    char *end;
    double v;

    if (!s || !*s || isspace((unsigned char)*s) || *s == '-')
        return -EINVAL;
    errno = 0;
    v = strtod(s, &end);
    if (errno || end == s || !isfinite(v) || v <= 0)
        return -EINVAL;
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (strcasecmp(end, units[i].unit) == 0) {
            v *= units[i].mult;
            if (v < 8000 || v > 4e12) /* 1 kB/s .. 4 Tbit/s */
                return -EINVAL;
            *bits = (uint64_t)v;
            return 0;
        }
    }
    return -EINVAL;
}

/* Namespace identity of a /run/netns entry or a /proc/PID/ns/net link. */
static int lcr_ns_id(const char *path, struct stat *st)
{
    return stat(path, st) == 0 ? 0 : -errno;
}

/* SIGKILL every process whose network namespace is /run/netns/name. */
static void lcr_ns_kill_inside(const char *name)
{
    char path[300];
    struct stat ns, st;
    struct dirent *de;
    DIR *proc;

    snprintf(path, sizeof(path), LCR_NETNS_DIR "/%s", name);
    if (lcr_ns_id(path, &ns) < 0)
        return;
    proc = opendir("/proc");
    if (!proc)
        return;
    while ((de = readdir(proc))) {
        char *end;
        long pid = strtol(de->d_name, &end, 10);

        if (*end || pid <= 1 || pid == getpid())
            continue;
        snprintf(path, sizeof(path), "/proc/%ld/ns/net", pid);
        if (lcr_ns_id(path, &st) == 0 && st.st_dev == ns.st_dev && st.st_ino == ns.st_ino)
            kill((pid_t)pid, SIGKILL);
    }
    closedir(proc);
}

static int lcr_ns_exists(const char *name)
{
    char path[300];

    snprintf(path, sizeof(path), LCR_NETNS_DIR "/%s", name);
    return access(path, F_OK) == 0;
}

static void lcr_ns_delete(const char *name, int quiet)
{
    const char *del[] = {lcr_ip, "netns", "delete", name, NULL};

    lcr_ns_kill_inside(name);
    if (lcr_ns_exists(name))
        lcr_cmd(del, quiet);
}

/* Interfaces created in the namespace from now on get no IPv6, so the emulated
 * wire carries only the run's own traffic (no router or neighbour solicits). */
static void lcr_ns_quiet_ipv6(const char *name)
{
    pid_t parent = getpid(), pid = fork();
    char path[300];

    if (pid == 0) {
        int fd, ok;

        lcr_child_prepare(parent);
        snprintf(path, sizeof(path), LCR_NETNS_DIR "/%s", name);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || setns(fd, CLONE_NEWNET) < 0)
            _exit(1);
        fd = open("/proc/sys/net/ipv6/conf/default/disable_ipv6", O_WRONLY | O_CLOEXEC);
        ok = fd >= 0 && write(fd, "1\n", 2) == 2;
        _exit(ok ? 0 : 1);
    }
    if (pid > 0)
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
            ;
}

static int lcr_ns_add(lcr_net_t *net, const char *name, int slot)
{
    const char *add[] = {lcr_ip, "netns", "add", name, NULL};
    const char *lo[] = {lcr_ip, "-n", name, "link", "set", "dev", "lo", "up", NULL};
    int rc;

    lcr_ns_delete(name, 1); /* a leftover of an earlier process with our pid */
    rc = lcr_cmd(add, 0);
    if (rc < 0)
        return rc;
    net->made[slot] = 1;
    lcr_ns_quiet_ipv6(name);
    return lcr_cmd(lo, 0);
}

/* Token bucket sized so that one TCP stream reaches the rate: the bucket holds
 * 1 ms at line rate but at least two 64 KiB GSO packets; the queue holds 2 ms
 * more. */
static void lcr_tbf_params(uint64_t bits, int mtu, char burst[32], char limit[32])
{
    uint64_t bytes = bits / 8, b = bytes / 1000, floor = 128 * 1024, l;

    if ((uint64_t)mtu * 2 > floor)
        floor = (uint64_t)mtu * 2;
    if (b < floor)
        b = floor;
    l = b + bytes / 500;
    if (l < 2 * floor)
        l = 2 * floor;
    snprintf(burst, 32, "%llu", (unsigned long long)b);
    snprintf(limit, 32, "%llu", (unsigned long long)l);
}

/* Shape egress of dev in namespace ns; the --netem impairment (host side
 * only, netem.c) hangs below the token bucket. */
static int lcr_shape(const lcr_opts_t *o, const char *ns, const char *dev, int with_netem)
{
    char rate[40], burst[32], limit[32];
    const char *tbf[] = {lcr_tc, "-n", ns, "qdisc", "add", "dev", dev, "root", "handle", "1:",
                         "tbf", "rate", rate, "burst", burst, "limit", limit, NULL};
    int rc;

    snprintf(rate, sizeof(rate), "%llubit", (unsigned long long)o->rate_bits);
    lcr_tbf_params(o->rate_bits, o->mtu, burst, limit);
    rc = lcr_cmd(tbf, 0);
    if (rc < 0 || !with_netem || !o->netem)
        return rc;
    return lcr_netem_setup(o, ns, dev);
}

static int lcr_host_setup(lcr_net_t *net, const lcr_opts_t *o, int r)
{
    char port[16], mtu[16], cidr[24];
    const char *h = net->host[r], *sw = net->sw;
    const char *veth[] = {lcr_ip, "-n", sw, "link", "add", "name", port, "mtu", mtu, "type",
                          "veth", "peer", "name", "lc0", "mtu", mtu, "netns", h, NULL};
    const char *plug[] = {lcr_ip, "-n", sw, "link", "set", "dev", port, "master", "br0", "up",
                          NULL};
    const char *addr[] = {lcr_ip, "-n", h, "addr", "add", cidr, "dev", "lc0", NULL};
    const char *up[] = {lcr_ip, "-n", h, "link", "set", "dev", "lc0", "up", NULL};
    int rc;

    snprintf(port, sizeof(port), "p%d", r);
    snprintf(mtu, sizeof(mtu), "%d", o->mtu);
    snprintf(cidr, sizeof(cidr), "%s/16", net->addr[r]);
    rc = lcr_ns_add(net, h, r);
    if (!rc)
        rc = lcr_cmd(veth, 0);
    if (!rc)
        rc = lcr_cmd(plug, 0);
    if (!rc)
        rc = lcr_cmd(addr, 0);
    if (!rc)
        rc = lcr_cmd(up, 0);
    if (!rc && o->rate)
        rc = lcr_shape(o, h, "lc0", 1);
    if (!rc && o->rate)
        rc = lcr_shape(o, sw, port, 0);
    return rc;
}

static void lcr_net_atexit(void)
{
    if (lcr_active && getpid() == lcr_owner)
        lcr_net_teardown(lcr_active);
}

int lcr_net_setup(lcr_net_t *net, const lcr_opts_t *o)
{
    static int registered;
    pid_t pid = getpid();
    char mtu[16];
    const char *br[] = {lcr_ip, "-n", net->sw, "link", "add", "name", "br0", "mtu", mtu,
                        "type", "bridge", NULL};
    const char *brup[] = {lcr_ip, "-n", net->sw, "link", "set", "dev", "br0", "up", NULL};
    int rc;

    memset(net, 0, sizeof(*net));
    net->nhosts = o->nhosts < LCR_MAX_NET_HOSTS ? o->nhosts : LCR_MAX_NET_HOSTS;
    net->mtu = o->mtu;
    snprintf(mtu, sizeof(mtu), "%d", o->mtu);
    snprintf(net->sw, sizeof(net->sw), "lc%ds", (int)pid);
    for (int r = 0; r < net->nhosts; r++) {
        snprintf(net->host[r], sizeof(net->host[r]), "lc%dh%d", (int)pid, r);
        snprintf(net->addr[r], sizeof(net->addr[r]), "169.254.1.%u", (unsigned char)(r + 1));
    }
    lcr_ip = lcr_tool("ip");
    lcr_tc = lcr_tool("tc");
    lcr_owner = pid;
    lcr_active = net;
    if (!registered && atexit(lcr_net_atexit) == 0)
        registered = 1;

    rc = lcr_ns_add(net, net->sw, net->nhosts);
    if (!rc)
        rc = lcr_cmd(br, 0);
    if (!rc)
        rc = lcr_cmd(brup, 0);
    for (int r = 0; !rc && r < net->nhosts; r++)
        rc = lcr_host_setup(net, o, r);
    if (rc < 0) {
        lcr_msg("could not build the emulated network; removing it");
        lcr_net_teardown(net);
    }
    return rc;
}

void lcr_net_teardown(lcr_net_t *net)
{
    for (int r = 0; r < net->nhosts; r++) {
        if (net->made[r])
            lcr_ns_delete(net->host[r], 0);
        net->made[r] = 0;
    }
    if (net->made[net->nhosts])
        lcr_ns_delete(net->sw, 0);
    net->made[net->nhosts] = 0;
}

void lcr_net_sweep_stale(void)
{
    DIR *d = opendir(LCR_NETNS_DIR);
    struct dirent *de;

    if (!d)
        return;
    lcr_ip = lcr_tool("ip");
    while ((de = readdir(d))) {
        const char *s = de->d_name;
        char *end;
        long pid;

        if (strncmp(s, "lc", 2) != 0 || !isdigit((unsigned char)s[2]))
            continue;
        pid = strtol(s + 2, &end, 10);
        if (!(end[0] == 's' && end[1] == '\0')) {
            if (end[0] != 'h' || !isdigit((unsigned char)end[1]))
                continue;
            strtol(end + 1, &end, 10);
            if (*end)
                continue;
        }
        if (pid <= 0 || pid == getpid() || kill((pid_t)pid, 0) == 0 || errno != ESRCH)
            continue;
        lcr_msg("removing stale namespace %s (its lc_run, pid %ld, is gone)", s, pid);
        lcr_ns_delete(s, 1);
    }
    closedir(d);
}
