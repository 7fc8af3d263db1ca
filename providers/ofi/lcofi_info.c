/*
 * lcofi_info.c - choose the libfabric fi_info to open: an RDM endpoint with
 * tagged messages from the provider named by LC_OFI_PROVIDER, bound to the
 * interface LC_OFI_IFNAME (through its address, given to fi_getinfo as a
 * source node) and the domain LC_OFI_DOMAIN. When nothing matches, the error
 * lists what fi_getinfo offers here without a provider filter.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lcofi.h"

/* Whether LC_ROOT ("host:port") names this machine's loopback. */
static int lcofi_root_is_loopback(const char *root)
{
    return !strncmp(root, "127.", 4) || !strncmp(root, "localhost", 9) ||
           !strncmp(root, "[::1]", 5) || !strncmp(root, "::1", 3);
}

/* Whether a launcher (mpirun, srun, PMI) started more than one rank: then the
 * ranks may be on several hosts and loopback is no default. */
static int lcofi_launched_many(void)
{
    static const char *const vars[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "SLURM_NTASKS"};

    for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
        const char *v = getenv(vars[i]);

        if (v && atoi(v) > 1)
            return 1;
    }
    return 0;
}

/* The numeric address of interface ifname (IPv4 preferred) into node. */
static int lcofi_ifaddr(const char *ifname, char *node, size_t len)
{
    struct ifaddrs *ifa, *p;
    int found = 0;

    if (getifaddrs(&ifa))
        return lc_seterr(-errno, LCOFI_SUBSYS, "getifaddrs: %s", strerror(errno));
    for (int fam = 0; fam < 2 && !found; fam++)
        for (p = ifa; p && !found; p = p->ifa_next) {
            if (!p->ifa_addr || strcmp(p->ifa_name, ifname))
                continue;
            if (fam == 0 && p->ifa_addr->sa_family == AF_INET)
                found = !!inet_ntop(AF_INET, &((struct sockaddr_in *)p->ifa_addr)->sin_addr, node,
                                    (socklen_t)len);
            else if (fam == 1 && p->ifa_addr->sa_family == AF_INET6)
                found = !!inet_ntop(AF_INET6, &((struct sockaddr_in6 *)p->ifa_addr)->sin6_addr,
                                    node, (socklen_t)len);
        }
    freeifaddrs(ifa);
    if (!found)
        return lc_seterr(-ENODEV, LCOFI_SUBSYS,
                         "LC_OFI_IFNAME=%s: no such interface with an IP address here", ifname);
    return 0;
}

/* Append "prov(types)" for every provider fi_getinfo offers with no filter. */
static void lcofi_list_available(char *out, size_t len)
{
    static const char *const types[] = {"?", "msg", "dgram", "rdm"};
    struct fi_info *all = NULL, *i, *j;
    size_t n = 0;

    out[0] = 0;
    if (fi_getinfo(FI_VERSION(FI_MAJOR_VERSION, FI_MINOR_VERSION), NULL, NULL, 0, NULL, &all) ||
        !all) {
        snprintf(out, len, "nothing");
        return;
    }
    for (i = all; i; i = i->next) {
        unsigned mask = 0;

        for (j = all; j != i; j = j->next)
            if (!strcmp(j->fabric_attr->prov_name, i->fabric_attr->prov_name))
                break;
        if (j != i)
            continue; /* listed with its first occurrence */
        for (j = i; j; j = j->next)
            if (!strcmp(j->fabric_attr->prov_name, i->fabric_attr->prov_name) &&
                j->ep_attr->type <= FI_EP_RDM)
                mask |= 1u << j->ep_attr->type;
        n += (size_t)snprintf(out + n, n < len ? len - n : 0, "%s%s(", n ? " " : "",
                              i->fabric_attr->prov_name);
        for (unsigned t = 1, first = 1; t <= FI_EP_RDM; t++)
            if (mask & (1u << t)) {
                n += (size_t)snprintf(out + n, n < len ? len - n : 0, "%s%s", first ? "" : ",",
                                      types[t]);
                first = 0;
            }
        n += (size_t)snprintf(out + n, n < len ? len - n : 0, ")");
    }
    fi_freeinfo(all);
}

/*
 * LC_OFI_TCP_EAGER becomes FI_OFI_RXM_EAGER_LIMIT before any lioncub thread
 * reads the environment (core/prov_env.c, which leaves a malformed value
 * alone): here it is checked, so that a bad value is an error at init.
 */
static int lcofi_tcp_eager_check(void)
{
    int64_t eager;
    int ret;

    if ((ret = lc_param_int("LC_OFI_TCP_EAGER", &eager)) && ret != -ENOENT)
        return ret;
    if (!ret && eager < 0)
        return lc_seterr(LC_ERR_CONFIG, LCOFI_SUBSYS, "LC_OFI_TCP_EAGER must not be negative");
    return 0;
}

static struct fi_info *lcofi_hints(const char *prov, uint64_t caps)
{
    struct fi_info *h = fi_allocinfo();

    if (!h)
        return NULL;
    h->caps = FI_TAGGED | FI_SEND | FI_RECV | caps;
    h->mode = FI_CONTEXT | FI_CONTEXT2;
    h->ep_attr->type = FI_EP_RDM;
    h->domain_attr->mr_mode =
        FI_MR_LOCAL | FI_MR_VIRT_ADDR | FI_MR_ALLOCATED | FI_MR_PROV_KEY | FI_MR_ENDPOINT;
    h->domain_attr->threading = FI_THREAD_DOMAIN;
    h->rx_attr->iov_limit = 2; /* a receive buffer, then the overflow scratch */
    if (prov && *prov && !(h->fabric_attr->prov_name = strdup(prov))) {
        fi_freeinfo(h);
        return NULL;
    }
    return h;
}

int lcofi_info_select(struct fi_info **out)
{
    const char *prov = lc_param_str("LC_OFI_PROVIDER");
    const char *ifname = lc_param_str("LC_OFI_IFNAME");
    const char *domain = lc_param_str("LC_OFI_DOMAIN");
    const char *root = lc_param_str("LC_ROOT");
    struct fi_info *hints, *list = NULL, *i;
    char node[INET6_ADDRSTRLEN] = "", avail[400];
    int ret;

    if (!ifname && (root ? lcofi_root_is_loopback(root) : !lcofi_launched_many()))
        ifname = "lo";
    if (ifname && strcmp(ifname, "any") && (ret = lcofi_ifaddr(ifname, node, sizeof(node))))
        return ret;
    if ((ret = lcofi_tcp_eager_check()))
        return ret;
    /* directed receives where the provider has them, else without */
    for (int k = 0; k < 2; k++) {
        if (!(hints = lcofi_hints(prov, k ? 0 : FI_DIRECTED_RECV)))
            return lc_seterr(-ENOMEM, LCOFI_SUBSYS, "fi_allocinfo failed");
        fi_freeinfo(list);
        list = NULL;
        ret = fi_getinfo(FI_VERSION(FI_MAJOR_VERSION, FI_MINOR_VERSION), node[0] ? node : NULL,
                         NULL, node[0] ? FI_SOURCE : 0, hints, &list);
        fi_freeinfo(hints);
        for (i = ret ? NULL : list; i; i = i->next)
            if (!domain || !strcmp(i->domain_attr->name, domain))
                break;
        if (i)
            break;
    }
    if (!i) {
        lcofi_list_available(avail, sizeof(avail));
        fi_freeinfo(list);
        return lc_seterr(-ENODEV, LCOFI_SUBSYS,
                         "fi_getinfo found no RDM tagged endpoint for provider '%s' "
                         "(interface %s%s%s, domain %s): %s; libfabric offers: %s",
                         prov ? prov : "(any)", ifname ? ifname : "any", node[0] ? " at " : "",
                         node, domain ? domain : "any",
                         ret ? fi_strerror(-ret) : "no domain matched", avail);
    }
    *out = fi_dupinfo(i);
    fi_freeinfo(list);
    if (!*out)
        return lc_seterr(-ENOMEM, LCOFI_SUBSYS, "fi_dupinfo failed");
    return 0;
}
