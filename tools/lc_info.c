/*
 * lc_info.c - what this lioncub build and machine offer: version, SIMD levels,
 * the provider modules found (loaded, or why not), the providers and their
 * devices, every network interface that is up with its speed and the
 * providers that would use it, whether the LC_* variables set are valid, and
 * how ranks tell which others share their host; `lc_info -e` lists every LC_*
 * variable with its default, current value, help and accepted form.
 */
#include <dirent.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "comm/comm.h"
#include "internal.h"

#define LCI_MAX_PROV 8

/* The interface each usable provider would use (its device 0, as a communicator does). */
struct lci_use {
    const char *prov;
    char ifname[IF_NAMESIZE];
};

/* How a rank here finds the ranks of its host, and what the votes do with them. */
static void lci_topology(void)
{
    static const char *const local[] = {"LC_LOCAL_RANK", "OMPI_COMM_WORLD_LOCAL_RANK",
                                        "SLURM_LOCALID", "LOCAL_RANK"};
    const char *hier = lc_param_str("LC_HIER"), *shm = lc_param_str("LC_SHM");
    char buf[512];

    lc_topo_describe(buf, sizeof(buf));
    printf("topology: %s; ranks with equal keys share a host (the rendezvous tells every rank "
           "all keys)\n", buf);
    for (size_t i = 0; i < sizeof(local) / sizeof(local[0]); i++)
        if (getenv(local[i]))
            printf("  %s=%s (checked against the rendezvous' count)\n", local[i],
                   getenv(local[i]));
    printf("  two-level votes: LC_HIER=%s; shared memory inside a host: LC_SHM=%s (memfd)\n",
           hier ? hier : "auto", shm ? shm : "1");
}

static void lci_params(void)
{
    const lc_param_t *p;
    const char *owner;
    char form[512];

    printf("%-20s %-8s %-10s %-14s %s\n", "variable", "owner", "default", "value", "help");
    for (int i = 0; (p = lc_param_at(i, &owner)); i++) {
        const char *v = getenv(p->name);
        lc_param_form(p, form, sizeof(form));
        printf("%-20s %-8s %-10s %-14s %s\n%55s accepts: %s\n", p->name, owner,
               p->def ? p->def : "-", v ? v : "-", p->help, "", form);
    }
}

/* The network interface behind a provider's device name: tcp and raweth name
 * the interface; ofi names "provider:domain", the domain being an interface
 * (tcp) or an RDMA device whose interface sysfs lists (verbs). "" if none. */
static void lci_ifname(const char *dev, char *ifname)
{
    const char *dom = strrchr(dev, ':') ? strrchr(dev, ':') + 1 : dev;
    char path[512];
    struct dirent *e;
    DIR *d;

    ifname[0] = 0;
    if (if_nametoindex(dom)) {
        snprintf(ifname, IF_NAMESIZE, "%.*s", IF_NAMESIZE - 1, dom);
        return;
    }
    snprintf(path, sizeof(path), "/sys/class/infiniband/%s/device/net", dom);
    if (!(d = opendir(path)))
        return;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.') {
            snprintf(ifname, IF_NAMESIZE, "%.*s", IF_NAMESIZE - 1, e->d_name);
            break;
        }
    closedir(d);
}

/* The provider modules found, in search order: loaded, or why not. */
static void lci_modules(void)
{
    static const char *const states[] = {"found", "loaded", "not loaded", "shadowed"};
    lc_module_info_t m = {.size = sizeof(m)};
    int i;

    for (i = 0; lc_provider_module_at(i, &m) == 0; i++)
        printf("  %-7s %-10s %s%s%s\n", m.name, states[m.state], m.path, m.reason[0] ? ": " : "",
               m.reason);
    if (i == 0)
        printf("  (none found; LC_MODULE_PATH adds folders)\n");
}

static int lci_providers(struct lci_use *use)
{
    lc_prov_init_opts_t opts = {.size = sizeof(opts), .rank = -1};
    const lc_provider_t *const *provs;
    int n, nuse = 0;

    provs = lc_provider_list(&n);
    printf("provider modules:\n");
    lci_modules();
    printf("providers usable: %d\n", n);
    for (int i = 0; i < n; i++) {
        lc_prov_ctx_t *ctx = NULL;
        int ndev = 0, rc = provs[i]->init(&opts, &ctx);

        if (!rc)
            rc = provs[i]->devices(ctx, &ndev);
        if (rc) {
            printf("  %-7s unusable here: %s (%s)\n", provs[i]->name, lc_strerror(rc),
                   lc_last_error());
            if (ctx)
                provs[i]->fini(ctx);
            continue;
        }
        printf("  %-7s %d device(s)\n", provs[i]->name, ndev);
        for (int d = 0; d < ndev; d++) {
            lc_prov_props_t pr = {.size = sizeof(pr)};
            if (provs[i]->get_props(ctx, d, &pr))
                continue;
            printf("    [%d] %-24s speed %d Mb/s, latency %.1f us, max_recvs %d, "
                   "reg_is_global %d, max_msg %zu%s%s\n",
                   d, pr.name, pr.speed_mbps, (double)pr.latency_us, pr.max_recvs,
                   pr.reg_is_global, pr.max_msg_size, pr.pci_path[0] ? ", pci " : "",
                   pr.pci_path);
            if (d == 0 && nuse < LCI_MAX_PROV) {
                use[nuse].prov = provs[i]->name;
                lci_ifname(pr.name, use[nuse++].ifname);
            }
        }
        provs[i]->fini(ctx);
    }
    return nuse;
}

/* A line of /sys/class/net/IF/FILE, or "" */
static void lci_sysfs(const char *ifname, const char *file, char *buf, size_t len)
{
    char path[256];
    FILE *f;

    snprintf(path, sizeof(path), "/sys/class/net/%s/%s", ifname, file);
    buf[0] = 0;
    if ((f = fopen(path, "r"))) {
        if (!fgets(buf, (int)len, f))
            buf[0] = 0;
        fclose(f);
    }
    buf[strcspn(buf, "\n")] = 0;
}

/* Every interface that is up: state, speed, MTU, addresses, the providers using it. */
static void lci_interfaces(const struct lci_use *use, int nuse)
{
    struct ifaddrs *ifs, *a, *b;

    if (getifaddrs(&ifs)) {
        perror("lc_info: getifaddrs");
        return;
    }
    printf("interfaces up (* used by the provider, as LC_* now select):\n"
           "  %-12s %-8s %-10s %-6s %-18s %s\n",
           "name", "state", "speed", "mtu", "providers", "addresses");
    for (a = ifs; a; a = a->ifa_next) {
        char state[32], speed[32], mtu[16], provs[64] = "", addr[NI_MAXHOST];
        int mbps;

        if (!(a->ifa_flags & IFF_UP))
            continue;
        for (b = ifs; b != a && strcmp(b->ifa_name, a->ifa_name); b = b->ifa_next)
            ;
        if (b != a) /* one line per interface: its first entry */
            continue;
        lci_sysfs(a->ifa_name, "operstate", state, sizeof(state));
        lci_sysfs(a->ifa_name, "speed", speed, sizeof(speed));
        lci_sysfs(a->ifa_name, "mtu", mtu, sizeof(mtu));
        mbps = atoi(speed);
        if (mbps > 0)
            snprintf(speed, sizeof(speed), "%d Mb/s", mbps);
        else
            snprintf(speed, sizeof(speed), "unknown");
        for (int u = 0; u < nuse; u++)
            if (!strcmp(use[u].ifname, a->ifa_name))
                snprintf(provs + strlen(provs), sizeof(provs) - strlen(provs), "%s*%s",
                         provs[0] ? " " : "", use[u].prov);
        printf("  %-12s %-8s %-10s %-6s %-18s", a->ifa_name, state[0] ? state : "-", speed,
               mtu[0] ? mtu : "-", provs[0] ? provs : "-");
        for (b = a; b; b = b->ifa_next) {
            int fam = b->ifa_addr ? b->ifa_addr->sa_family : AF_UNSPEC;
            if (strcmp(b->ifa_name, a->ifa_name) || (fam != AF_INET && fam != AF_INET6))
                continue;
            if (!getnameinfo(b->ifa_addr,
                             fam == AF_INET ? sizeof(struct sockaddr_in)
                                            : sizeof(struct sockaddr_in6),
                             addr, sizeof(addr), NULL, 0, NI_NUMERICHOST))
                printf(" %s", addr);
        }
        printf("\n");
    }
    for (int u = 0; u < nuse; u++)
        if (!use[u].ifname[0])
            printf("  (%s uses a device without a network interface)\n", use[u].prov);
    freeifaddrs(ifs);
}

int main(int argc, char **argv)
{
    struct lci_use use[LCI_MAX_PROV];
    int simd, env = 0, rc, nuse;
    const lca_opt_t opts[] = {
        {.shortname = 'e', .longname = "env", .kind = LCA_FLAG, .dst = &env,
         .help = "list every LC_* variable: owner, default, value, help\n"
                 "and the form its values take"},
        {.help = NULL},
    };
    const lca_tool_t tool = {
        .name = "lc_info",
        .usage = "[-e]",
        .about = "What this lioncub build and machine offer: the version, the SIMD levels\n"
                 "of the kernels, the providers and their devices, the network interfaces\n"
                 "that are up with their speed (unknown when the driver does not say) and\n"
                 "the providers that would use each, as the LC_* variables set now select;\n"
                 "and whether those variables hold values lioncub accepts.\n",
        .opts = opts,
        .more = "Exit status: 0; 1 when the kernels cannot run (LC_SIMD) or an LC_*\n"
                "variable holds a value lioncub refuses; 2 on a usage error.\n"};

    if ((rc = lca_parse(&tool, argc, argv)) >= 0)
        return rc;
    if (env) {
        lci_params();
        return 0;
    }
    printf("lioncub %s\n", lc_version(NULL));
    simd = lc_simd_active();
    printf("simd: active %s; supported:", simd < 0 ? lc_strerror(simd) : lc_simd_name(simd));
    for (int l = 0; l < LC_SIMD_COUNT; l++)
        if (lc_simd_supported((lc_simd_t)l) == 1)
            printf(" %s", lc_simd_name((lc_simd_t)l));
    printf("\n");
    rc = lc_params_check();
    printf("variables: %s\n", rc ? lc_last_error() : "the LC_* values set are valid");
    lci_topology();
    nuse = lci_providers(use);
    lci_interfaces(use, nuse);
    return simd < 0 || rc;
}
