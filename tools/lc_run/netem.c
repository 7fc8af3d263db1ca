/* netem.c - lc_run --netem: impairment of every host's egress. With the
 * kernel's sch_netem it hangs netem below the host's tbf as given. Without
 * it (sch_netem is often not built) it emulates netem's loss, duplicate,
 * corrupt, reorder and delay: a BPF classifier in direct-action mode on the
 * clsact egress hook of lc0 (loaded with libbpf in a child that joins the
 * host namespace) and, for delay and reorder, a delay line process fed
 * through a veth pair lcd0/lcd1 in the host namespace. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>

#include "netem.h"
#include "bpf/netem_cfg.h"

#ifdef LCR_HAVE_BPF_NETEM
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

extern const unsigned char lcr_netem_bpf_obj[];
extern const size_t lcr_netem_bpf_obj_len;
#endif

#define LCR_NETEM_ARGS 64

enum { LCR_NETEM_UNDECIDED, LCR_NETEM_KERNEL, LCR_NETEM_BPF };

static int lcr_netem_mode;
static lcr_netem_spec_t lcr_netem_spec;

/* tc's percentages: "5%", "5" (both 5 %), "0.1%". */
static int lcr_netem_pct(const char *s, double *out)
{
    char *end;
    double v;

    errno = 0;
    v = strtod(s, &end);
    if (errno || end == s || (*end && strcmp(end, "%") != 0) || !(v >= 0 && v <= 100))
        return -EINVAL;
    *out = v / 100;
    return 0;
}

/* tc's times: s, ms, us, ns suffixes (and their long forms); bare: us. */
static int lcr_netem_time(const char *s, uint64_t *ns)
{
    static const struct {
        const char *unit;
        double mult;
    } units[] = {{"", 1e3},    {"s", 1e9},     {"sec", 1e9},   {"secs", 1e9},
                 {"ms", 1e6},  {"msec", 1e6},  {"msecs", 1e6}, {"us", 1e3},
                 {"usec", 1e3}, {"usecs", 1e3}, {"ns", 1},      {"nsec", 1},
                 {"nsecs", 1}};
    char *end;
    double v;

    errno = 0;
    v = strtod(s, &end);
    if (errno || end == s || !(v >= 0 && v <= 1e6))
        return -EINVAL;
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (strcmp(end, units[i].unit) == 0) {
            *ns = (uint64_t)llround(v * units[i].mult);
            return *ns <= 10000000000ull ? 0 : -EINVAL; /* 10 s at most */
        }
    }
    return -EINVAL;
}

static int lcr_netem_unsupported(const char *w)
{
    lcr_msg("--netem: \"%s\" is not emulated (the emulation replaces sch_netem, which this "
            "kernel lacks, or LC_RUN_NETEM=bpf asked for it); it knows loss [random] P%%, "
            "duplicate P%%, corrupt P%%, reorder P%%, delay TIME and limit N, without "
            "correlations, jitter or distributions", w);
    return -ENOTSUP;
}

/* "limit N": a frame count. */
static int lcr_netem_count(const char *s, int *out)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < 1 || v > 1000000)
        return -EINVAL;
    *out = (int)v;
    return 0;
}

int lcr_netem_parse(const char *args, lcr_netem_spec_t *spec)
{
    char buf[512], *save, *w, *v;

    *spec = (lcr_netem_spec_t){.limit = LCR_NETEM_LIMIT};
    if (strlen(args) >= sizeof(buf))
        return -E2BIG;
    strcpy(buf, args);
    for (w = strtok_r(buf, " \t\n", &save); w; w = strtok_r(NULL, " \t\n", &save)) {
        double *p = NULL;
        int bad;

        if (strcmp(w, "loss") == 0)
            p = &spec->loss;
        else if (strcmp(w, "duplicate") == 0)
            p = &spec->duplicate;
        else if (strcmp(w, "corrupt") == 0)
            p = &spec->corrupt;
        else if (strcmp(w, "reorder") == 0)
            p = &spec->reorder;
        else if (strcmp(w, "delay") != 0 && strcmp(w, "limit") != 0)
            return lcr_netem_unsupported(w);
        v = strtok_r(NULL, " \t\n", &save);
        if (v && p == &spec->loss && strcmp(v, "random") == 0)
            v = strtok_r(NULL, " \t\n", &save);
        if (!v) {
            lcr_msg("--netem: \"%s\" needs a value", w);
            return -EINVAL;
        }
        if (p)
            bad = lcr_netem_pct(v, p);
        else if (strcmp(w, "delay") == 0)
            bad = lcr_netem_time(v, &spec->delay_ns);
        else
            bad = lcr_netem_count(v, &spec->limit);
        if (bad) {
            lcr_msg("--netem: bad value \"%s\" for %s", v, w);
            return -EINVAL;
        }
        /* A second number (a correlation, a jitter) is not emulated. */
        save += strspn(save, " \t\n");
        if (isdigit((unsigned char)*save) || *save == '.') {
            save[strcspn(save, " \t\n")] = '\0';
            return lcr_netem_unsupported(save);
        }
    }
    return 0;
}

static const char *lcr_netem_tc(void)
{
    static const char *tc;

    if (!tc)
        tc = lcr_tool("tc");
    return tc;
}

/* sch_netem below the tbf, with the user's arguments as they are. */
static int lcr_netem_kernel(const lcr_opts_t *o, const char *ns, const char *dev)
{
    const char *ne[LCR_NETEM_ARGS + 13] = {lcr_netem_tc(), "-n", ns, "qdisc", "add", "dev", dev,
                                           "parent", "1:1", "handle", "10:", "netem"};
    char args[512], *save, *w;
    int rc, n = 12;

    if (strlen(o->netem) >= sizeof(args))
        return -E2BIG;
    strcpy(args, o->netem);
    for (w = strtok_r(args, " \t\n", &save); w; w = strtok_r(NULL, " \t\n", &save)) {
        if (n >= LCR_NETEM_ARGS + 12)
            return -E2BIG;
        ne[n++] = w;
    }
    ne[n] = NULL;
    rc = lcr_cmd(ne, 0);
    if (rc < 0)
        lcr_msg("cannot add netem \"%s\" on %s: check the arguments", o->netem, dev);
    return rc;
}

/* Does the kernel have sch_netem? Try it on the loopback of a namespace of ours. */
static int lcr_netem_kernel_has(const char *ns)
{
    const char *add[] = {lcr_netem_tc(), "-n", ns, "qdisc", "add", "dev", "lo", "root",
                         "handle", "1:", "netem", "delay", "0", NULL};
    const char *del[] = {lcr_netem_tc(), "-n", ns, "qdisc", "del", "dev", "lo", "root", NULL};

    if (lcr_cmd(add, 1) < 0)
        return 0;
    lcr_cmd(del, 1);
    return 1;
}

#ifdef LCR_HAVE_BPF_NETEM
static __u64 lcr_netem_threshold(double p)
{
    return (__u64)llround(p * 4294967296.0);
}

/* For corrupt: checksums filled in on lc0 (veth would carry them unfilled
 * and the receiver would trust them), and no segmentation offload. */
static int lcr_netem_offloads_off(const char *dev)
{
    static const __u32 cmds[] = {ETHTOOL_STSO, ETHTOOL_SGSO, ETHTOOL_STXCSUM};
    struct ifreq ifr = {0};
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), rc = 0;

    if (fd < 0)
        return -errno;
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", dev);
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]) && !rc; i++) {
        struct ethtool_value ev = {.cmd = cmds[i], .data = 0};

        ifr.ifr_data = (char *)&ev;
        if (ioctl(fd, SIOCETHTOOL, &ifr) < 0)
            rc = -errno;
    }
    close(fd);
    if (rc)
        lcr_msg("cannot turn off checksum and segmentation offloads of %s: %s", dev,
                strerror(-rc));
    return rc;
}

__attribute__((format(printf, 2, 0))) static int
lcr_netem_libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
    return level == LIBBPF_WARN ? vfprintf(stderr, fmt, ap) : 0;
}

/* Load the classifier, configure it, attach it to dev's clsact egress. */
static int lcr_netem_attach(const char *dev, const struct lcr_netem_cfg *cfg)
{
    LIBBPF_OPTS(bpf_object_open_opts, oo, .object_name = "lcr_netem");
    LIBBPF_OPTS(bpf_tc_hook, hook, .attach_point = BPF_TC_EGRESS);
    LIBBPF_OPTS(bpf_tc_opts, to, .handle = 1, .priority = 1);
    struct bpf_object *obj;
    struct bpf_program *prog;
    struct bpf_map *map;
    __u32 key = 0;
    int rc;

    libbpf_set_print(lcr_netem_libbpf_print);
    obj = bpf_object__open_mem(lcr_netem_bpf_obj, lcr_netem_bpf_obj_len, &oo);
    if (!obj)
        return -errno;
    rc = bpf_object__load(obj);
    prog = bpf_object__find_program_by_name(obj, "lcr_netem");
    map = bpf_object__find_map_by_name(obj, "lcr_netem_cfg");
    if (!rc && (!prog || !map))
        rc = -ENOENT;
    if (!rc && bpf_map_update_elem(bpf_map__fd(map), &key, cfg, BPF_ANY) < 0)
        rc = -errno;
    hook.ifindex = (int)if_nametoindex(dev);
    if (!rc && !hook.ifindex)
        rc = -errno;
    if (!rc) {
        rc = bpf_tc_hook_create(&hook);
        if (rc == -EEXIST)
            rc = 0;
    }
    to.prog_fd = rc ? -1 : bpf_program__fd(prog);
    if (!rc)
        rc = bpf_tc_attach(&hook, &to);
    bpf_object__close(obj); /* the tc filter keeps the program and its map */
    if (rc)
        lcr_msg("cannot attach the netem classifier to %s: %s", dev, strerror(-rc));
    return rc;
}

/* In a child: join ns, prepare dev, attach; then report to fd and become
 * the delay line if the spec needs one. Never returns. */
static void lcr_netem_child(const lcr_opts_t *o, const lcr_netem_spec_t *s, const char *ns,
                            const char *dev, int fd)
{
    struct lcr_netem_cfg cfg = {
        .loss = lcr_netem_threshold(s->loss),
        .duplicate = lcr_netem_threshold(s->duplicate),
        .corrupt = lcr_netem_threshold(s->corrupt),
        .reorder = lcr_netem_threshold(s->reorder),
        .delay_all = s->delay_ns > 0,
    };
    uint64_t hold = s->delay_ns ? s->delay_ns : LCR_NETEM_REORDER_NS;
    int line = s->delay_ns > 0 || s->reorder > 0, rc = 0, nsfd;
    char path[300];

    snprintf(path, sizeof(path), "/run/netns/%s", ns);
    nsfd = open(path, O_RDONLY | O_CLOEXEC);
    if (nsfd < 0 || setns(nsfd, CLONE_NEWNET) < 0) {
        rc = -errno;
        lcr_msg("cannot enter namespace %s: %s", ns, strerror(errno));
    }
    if (!rc && s->corrupt > 0)
        rc = lcr_netem_offloads_off(dev);
    if (!rc && line) {
        cfg.delay_ifindex = if_nametoindex("lcd0");
        if (!cfg.delay_ifindex)
            rc = -errno;
    }
    if (!rc)
        rc = lcr_netem_attach(dev, &cfg);
    if (!rc && line) {
        rc = lcr_dly_run("lcd1", dev, hold, s->limit, o->mtu, fd);
        lcr_msg("the delay line of %s failed: %s", ns, strerror(-rc));
    }
    if (write(fd, &rc, sizeof(rc)) < 0)
        _exit(1);
    _exit(rc ? 1 : 0);
}

/* The classifier on dev and, for delay/reorder, the delay line. */
static int lcr_netem_emulate(const lcr_opts_t *o, const char *ns, const char *dev)
{
    const lcr_netem_spec_t *s = &lcr_netem_spec;
    const char *ip = lcr_tool("ip");
    char mtu[16];
    const char *veth[] = {ip, "-n", ns, "link", "add", "name", "lcd0", "mtu", mtu, "type",
                          "veth", "peer", "name", "lcd1", "mtu", mtu, NULL};
    const char *up0[] = {ip, "-n", ns, "link", "set", "dev", "lcd0", "up", NULL};
    const char *up1[] = {ip, "-n", ns, "link", "set", "dev", "lcd1", "up", NULL};
    /* TCP builds GSO super-frames even without GSO offload; one segment per
     * skb lets the classifier see single frames. */
    const char *segs[] = {ip, "-n", ns, "link", "set", "dev", dev, "gso_max_segs", "1", NULL};
    pid_t parent = getpid(), pid;
    int fds[2], rc = 0, got = 0;
    ssize_t n;

    snprintf(mtu, sizeof(mtu), "%d", o->mtu);
    rc = lcr_cmd(segs, 0);
    if (rc)
        return rc;
    if (s->delay_ns > 0 || s->reorder > 0) {
        rc = lcr_cmd(veth, 0);
        if (!rc)
            rc = lcr_cmd(up0, 0);
        if (!rc)
            rc = lcr_cmd(up1, 0);
        if (rc)
            return rc;
    }
    if (pipe2(fds, O_CLOEXEC) < 0)
        return -errno;
    pid = fork();
    if (pid == 0) {
        lcr_child_prepare(parent);
        close(fds[0]);
        lcr_netem_child(o, s, ns, dev, fds[1]);
    }
    close(fds[1]);
    if (pid < 0) {
        close(fds[0]);
        return -errno;
    }
    while ((n = read(fds[0], &got, sizeof(got))) < 0 && errno == EINTR)
        ;
    close(fds[0]);
    if (n != (ssize_t)sizeof(got))
        got = -EIO; /* the child died before reporting */
    if (got)
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
            ;
    return got;
}
#endif

int lcr_netem_setup(const lcr_opts_t *o, const char *ns, const char *dev)
{
    if (lcr_netem_mode == LCR_NETEM_UNDECIDED) {
        const char *force = getenv("LC_RUN_NETEM");

        if (force && strcmp(force, "kernel") == 0)
            lcr_netem_mode = LCR_NETEM_KERNEL;
        else if (force && strcmp(force, "bpf") == 0)
            lcr_netem_mode = LCR_NETEM_BPF;
        else
            lcr_netem_mode = lcr_netem_kernel_has(ns) ? LCR_NETEM_KERNEL : LCR_NETEM_BPF;
        if (lcr_netem_mode == LCR_NETEM_BPF && lcr_netem_parse(o->netem, &lcr_netem_spec) < 0) {
            lcr_netem_mode = LCR_NETEM_UNDECIDED;
            return -EINVAL;
        }
    }
    if (lcr_netem_mode == LCR_NETEM_KERNEL)
        return lcr_netem_kernel(o, ns, dev);
#ifdef LCR_HAVE_BPF_NETEM
    return lcr_netem_emulate(o, ns, dev);
#else
    lcr_msg("--netem: the kernel has no sch_netem, and this lc_run was built without its BPF "
            "emulation (it needs clang and libbpf at build time)");
    return -ENOTSUP;
#endif
}
