/*
 * fault_net.c - the campaign's faults on lc_run's emulated network (the
 * campaign runs as lc_run --net --one): a host's link down and up, and 30%
 * random loss on it. The kernel's sch_netem is not needed: the loss is a
 * classic-BPF tc classifier in direct-action mode on the clsact hooks of the
 * host's lc0 (ingress and egress) that drops a frame when a random 32-bit
 * number is below 30% of 2^32.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fault.h"

/* ld rand; A >= 0.3 * 2^32 ? TC_ACT_OK : TC_ACT_SHOT */
#define FC_LOSS_BPF "4,32 0 0 4294963256,53 1 0 1288490189,6 0 0 2,6 0 0 0"

/* Run argv (ip or tc, no shell), quietly; 0 when it succeeded. */
static int fc_cmd(const char *const argv[])
{
    pid_t pid = fork();
    int st;

    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);

        if (null >= 0)
            dup2(null, STDERR_FILENO);
        execvp(argv[0], (char *const *)argv);
        _exit(127);
    }
    return pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

/* Split a space-separated list into at most FC_MAX_P fields of cap bytes. */
static int fc_split(const char *s, char *out, size_t cap)
{
    int n = 0;

    while (s && *s && n < FC_MAX_P) {
        size_t len = strcspn(s, " ");

        if (len && len < cap)
            snprintf(out + (size_t)n++ * cap, cap, "%.*s", (int)len, s);
        s += len + (s[len] == ' ');
    }
    return n;
}

int fc_net_from_env(fc_net_t *net)
{
    const char *sw = getenv("LC_NET_SWITCH");

    memset(net, 0, sizeof(*net));
    net->nhosts = fc_split(getenv("LC_NET_HOSTS"), net->host[0], sizeof(net->host[0]));
    if (!sw || strlen(sw) >= sizeof(net->sw) || net->nhosts < 2 ||
        fc_split(getenv("LC_NET_ADDRS"), net->addr[0], sizeof(net->addr[0])) != net->nhosts) {
        fprintf(stderr, "not run by lc_run --net --one: LC_NET_HOSTS, LC_NET_ADDRS, "
                        "LC_NET_SWITCH missing\n");
        return -1;
    }
    strcpy(net->sw, sw);
    return 0;
}

int fc_net_link(const fc_net_t *net, int h, int up)
{
    const char *argv[] = {"ip",  "-n",  net->host[h],       "link", "set",
                          "dev", "lc0", up ? "up" : "down", NULL};

    return fc_cmd(argv);
}

int fc_net_loss(const fc_net_t *net, int h, int on)
{
    const char *ns = net->host[h];
    const char *add[] = {"tc", "-n", ns, "qdisc", "add", "dev", "lc0", "clsact", NULL};
    const char *del[] = {"tc", "-n", ns, "qdisc", "del", "dev", "lc0", "clsact", NULL};
    const char *in[] = {"tc",      "-n",  ns,   "filter",   "add",       "dev", "lc0",
                        "ingress", "bpf", "da", "bytecode", FC_LOSS_BPF, NULL};
    const char *out[] = {"tc",     "-n",  ns,   "filter",   "add",       "dev", "lc0",
                         "egress", "bpf", "da", "bytecode", FC_LOSS_BPF, NULL};

    if (!on)
        return fc_cmd(del);
    if (fc_cmd(add) || fc_cmd(in) || fc_cmd(out)) {
        fc_cmd(del);
        return -1;
    }
    return 0;
}
