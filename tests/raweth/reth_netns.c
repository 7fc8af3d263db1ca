/* reth_netns.c - two namespaces and a veth pair for the raweth tests (see reth_netns.h). */
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "netns_check.h"
#include "reth_netns.h"

static reth_net_t reth_net_live;
static int reth_net_exists;
static pid_t reth_net_owner;

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
    char cmd[512];
    va_list ap;
    int rc;

    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    rc = system(cmd);
    return rc == 0 ? 0 : -1;
}

void reth_net_down(void)
{
    if (!reth_net_exists || getpid() != reth_net_owner)
        return;
    reth_net_exists = 0;
    /* Deleting the namespaces also deletes the veth pair inside them. */
    sh("ip netns del %s 2>/dev/null", reth_net_live.ns[0]);
    sh("ip netns del %s 2>/dev/null", reth_net_live.ns[1]);
}

static void reth_net_signal(int sig)
{
    reth_net_down();
    signal(sig, SIG_DFL);
    raise(sig);
}

int reth_net_up(reth_net_t *net)
{
    int id = (int)getpid();

    snprintf(net->ns[0], sizeof(net->ns[0]), "lcreth%da", id);
    snprintf(net->ns[1], sizeof(net->ns[1]), "lcreth%db", id);
    snprintf(net->dev[0], sizeof(net->dev[0]), "lr%da", id % 1000000);
    snprintf(net->dev[1], sizeof(net->dev[1]), "lr%db", id % 1000000);
    if (sh("ip netns add %s 2>/dev/null", net->ns[0])) {
        printf("SKIP: cannot create a network namespace (needs root / CAP_SYS_ADMIN and "
               "CAP_NET_ADMIN)\n");
        return 77;
    }
    reth_net_live = *net;
    reth_net_owner = getpid();
    reth_net_exists = 1;
    atexit(reth_net_down);
    signal(SIGINT, reth_net_signal);
    signal(SIGTERM, reth_net_signal);
    signal(SIGALRM, reth_net_signal);
    if (sh("ip netns add %s", net->ns[1]) ||
        sh("ip -n %s link add %s type veth peer name %s netns %s", net->ns[0], net->dev[0],
           net->dev[1], net->ns[1]))
        goto fail;
    for (int i = 0; i < 2; i++)
        if (sh("ip -n %s link set lo up", net->ns[i]) ||
            sh("ip -n %s addr add 169.254.%d.%d/16 dev %s", net->ns[i], 100 + id % 100, 1 + i,
               net->dev[i]) ||
            sh("ip -n %s link set %s up", net->ns[i], net->dev[i]))
            goto fail;
    return 0;
fail:
    fprintf(stderr, "FAIL: setting up the test network\n");
    reth_net_down();
    return -1;
}

int reth_net_netem(const reth_net_t *net, const char *args)
{
    for (int i = 0; i < 2; i++)
        if (sh("ip netns exec %s tc qdisc replace dev %s root netem %s 2>/dev/null", net->ns[i],
               net->dev[i], args))
            return -1;
    return 0;
}

int reth_net_mtu(const reth_net_t *net, int mtu)
{
    for (int i = 0; i < 2; i++)
        if (sh("ip -n %s link set %s mtu %d", net->ns[i], net->dev[i], mtu))
            return -1;
    return 0;
}

int reth_net_shape(const reth_net_t *net, const char *rate)
{
    for (int i = 0; i < 2; i++)
        if (sh("ip netns exec %s tc qdisc replace dev %s root tbf rate %s burst 64k latency 20ms",
               net->ns[i], net->dev[i], rate))
            return -1;
    return 0;
}

int reth_sh_mtu(const reth_net_t *net, int mtu)
{
    return sh("ip -n %s link set %s mtu %d", net->ns[0], net->dev[0], mtu);
}

int reth_sh_down(const reth_net_t *net)
{
    return sh("ip -n %s link set %s down", net->ns[0], net->dev[0]);
}

int reth_sh_up(const reth_net_t *net)
{
    return sh("ip -n %s link set %s up", net->ns[0], net->dev[0]);
}

int reth_net_enter(const reth_net_t *net, int i)
{
    return lc_test_enter_netns(net->ns[i]);
}
