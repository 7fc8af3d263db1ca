/*
 * tcp_dev.c - which network interfaces the tcp provider uses, and their
 * properties.
 *
 * LC_TCP_IFNAME follows NCCL_SOCKET_IFNAME: a comma list of interface name
 * prefixes ("eth,ib"), exact names with a leading '=' ("=eth0"), or names to
 * exclude with a leading '^' ("^docker,lo"). Unset: the loopback interface
 * when LC_ROOT is unset or names a loopback address; else the interface
 * whose subnet holds the LC_ROOT address, else the first UP non-loopback
 * interface with an IPv4 address (docker* and virbr* are skipped).
 * LC_TCP_FAMILY restricts addresses to IPv4 or IPv6; unset, an interface's
 * IPv4 address is preferred.
 */
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <limits.h>
#include <net/if.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tcp.h"

/* Whether name matches one entry of a comma list (prefix or, if exact, whole). */
static int tcp_if_in_list(const char *name, const char *list, int exact)
{
    for (const char *p = list; *p;) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);

        if (n > 0 && !strncmp(name, p, n) && (!exact || name[n] == 0))
            return 1;
        p += n + (end ? 1 : 0);
    }
    return 0;
}

/* Whether an interface name passes an LC_TCP_IFNAME filter. */
static int tcp_if_match(const char *name, const char *filter)
{
    int exclude = 0, exact = 0;

    if (*filter == '^')
        exclude = 1, filter++;
    if (*filter == '=')
        exact = 1, filter++;
    return tcp_if_in_list(name, filter, exact) != exclude;
}

static int tcp_sa_is_loopback(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET)
        return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
    if (sa->sa_family == AF_INET6)
        return IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)sa)->sin6_addr);
    return 0;
}

/*
 * The LC_ROOT host as an address: 1 and *out filled when it resolves, 0 when
 * LC_ROOT is unset or does not resolve.
 */
static int tcp_root_addr(struct sockaddr_storage *out)
{
    const char *root = lc_param_str("LC_ROOT");
    struct addrinfo hints = {0}, *res = NULL;
    char host[256];
    const char *colon;
    size_t n;
    int ok = 0;

    if (!root || !*root)
        return 0;
    if (root[0] == '[') { /* [v6]:port */
        colon = strchr(root, ']');
        root++;
    } else {
        colon = strrchr(root, ':');
        if (colon && strchr(root, ':') != colon) /* bare IPv6, no port */
            colon = NULL;
    }
    n = colon ? (size_t)(colon - root) : strlen(root);
    if (n == 0 || n >= sizeof(host))
        return 0;
    memcpy(host, root, n);
    host[n] = 0;
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(host, NULL, &hints, &res) == 0 && res) {
        memcpy(out, res->ai_addr, res->ai_addrlen);
        ok = 1;
    }
    if (res)
        freeaddrinfo(res);
    return ok;
}

/* Whether addr lies in the subnet of interface address ifa. */
static int tcp_in_subnet(const struct ifaddrs *ifa, const struct sockaddr_storage *addr)
{
    const uint8_t *a, *b, *m;
    size_t len;

    if (!ifa->ifa_netmask || ifa->ifa_addr->sa_family != addr->ss_family)
        return 0;
    if (addr->ss_family == AF_INET) {
        a = (const uint8_t *)&((const struct sockaddr_in *)ifa->ifa_addr)->sin_addr;
        b = (const uint8_t *)&((const struct sockaddr_in *)addr)->sin_addr;
        m = (const uint8_t *)&((const struct sockaddr_in *)ifa->ifa_netmask)->sin_addr;
        len = 4;
    } else {
        a = (const uint8_t *)&((const struct sockaddr_in6 *)ifa->ifa_addr)->sin6_addr;
        b = (const uint8_t *)&((const struct sockaddr_in6 *)addr)->sin6_addr;
        m = (const uint8_t *)&((const struct sockaddr_in6 *)ifa->ifa_netmask)->sin6_addr;
        len = 16;
    }
    for (size_t i = 0; i < len; i++)
        if ((a[i] & m[i]) != (b[i] & m[i]))
            return 0;
    return 1;
}

/*
 * Usable interface address: UP, IPv4 or non-link-local IPv6 (link-local too
 * when ll), of the given family unless family is 0.
 */
static int tcp_ifa_usable(const struct ifaddrs *ifa, int ll, int family)
{
    if (!ifa->ifa_addr || !(ifa->ifa_flags & IFF_UP))
        return 0;
    if (family && ifa->ifa_addr->sa_family != family)
        return 0;
    if (ifa->ifa_addr->sa_family == AF_INET)
        return 1;
    if (ifa->ifa_addr->sa_family == AF_INET6)
        return ll || !IN6_IS_ADDR_LINKLOCAL(&((struct sockaddr_in6 *)ifa->ifa_addr)->sin6_addr);
    return 0;
}

/* Add interface ifa's best address as a device unless its name is listed already. */
static void tcp_dev_add(const struct ifaddrs *all, const struct ifaddrs *ifa, int family,
                        tcp_dev_t *devs, int *n, int max)
{
    const struct ifaddrs *best = NULL;

    for (int i = 0; i < *n; i++)
        if (!strcmp(devs[i].ifname, ifa->ifa_name))
            return;
    if (*n >= max || strlen(ifa->ifa_name) >= sizeof(devs[0].ifname))
        return;
    /* prefer IPv4, then global IPv6, then link-local IPv6 */
    for (int pass = 0; pass < 3 && !best; pass++)
        for (const struct ifaddrs *p = all; p && !best; p = p->ifa_next) {
            if (strcmp(p->ifa_name, ifa->ifa_name) || !tcp_ifa_usable(p, pass == 2, family))
                continue;
            if (pass == 0 && p->ifa_addr->sa_family != AF_INET)
                continue;
            best = p;
        }
    if (!best)
        return;
    snprintf(devs[*n].ifname, sizeof(devs[0].ifname), "%s", best->ifa_name);
    devs[*n].addrlen = best->ifa_addr->sa_family == AF_INET ? sizeof(struct sockaddr_in)
                                                            : sizeof(struct sockaddr_in6);
    memset(&devs[*n].addr, 0, sizeof(devs[*n].addr));
    memcpy(&devs[*n].addr, best->ifa_addr, devs[*n].addrlen);
    if (best->ifa_addr->sa_family == AF_INET6)
        ((struct sockaddr_in6 *)&devs[*n].addr)->sin6_scope_id = if_nametoindex(best->ifa_name);
    (*n)++;
}

/* The default choice, without LC_TCP_IFNAME. */
static void tcp_dev_default(struct ifaddrs *all, int family, tcp_dev_t *devs, int *n, int max)
{
    struct sockaddr_storage root;
    int have_root = tcp_root_addr(&root);

    for (struct ifaddrs *p = all; p && *n == 0; p = p->ifa_next) {
        if (!tcp_ifa_usable(p, 1, family))
            continue;
        if (!have_root || tcp_sa_is_loopback((struct sockaddr *)&root)) {
            if (p->ifa_flags & IFF_LOOPBACK)
                tcp_dev_add(all, p, family, devs, n, max);
        } else if (tcp_in_subnet(p, &root) && !(p->ifa_flags & IFF_LOOPBACK)) {
            tcp_dev_add(all, p, family, devs, n, max);
        }
    }
    for (struct ifaddrs *p = all; p && *n == 0; p = p->ifa_next)
        if (tcp_ifa_usable(p, 0, family ? family : AF_INET) &&
            !(p->ifa_flags & IFF_LOOPBACK) && strncmp(p->ifa_name, "docker", 6) &&
            strncmp(p->ifa_name, "virbr", 5))
            tcp_dev_add(all, p, family, devs, n, max);
}

/**
 * @brief Find the devices the provider uses (see the top of this file).
 * @return the number found (>= 1), or -ENODEV with a message.
 */
int tcp_dev_discover(tcp_dev_t *devs, int max)
{
    const char *filter = lc_param_str("LC_TCP_IFNAME");
    const char *fam = lc_param_str("LC_TCP_FAMILY");
    struct ifaddrs *all = NULL;
    int n = 0, family = 0;

    if (fam && (!strcmp(fam, "AF_INET") || !strcmp(fam, "ipv4")))
        family = AF_INET;
    else if (fam && (!strcmp(fam, "AF_INET6") || !strcmp(fam, "ipv6")))
        family = AF_INET6;
    else if (fam && *fam)
        return lc_seterr(LC_ERR_CONFIG, TCP_SUBSYS,
                         "LC_TCP_FAMILY=%s: use AF_INET (ipv4) or AF_INET6 (ipv6)", fam);
    if (getifaddrs(&all) < 0)
        return lc_seterr(-errno, TCP_SUBSYS, "getifaddrs: %s", strerror(errno));
    if (filter && *filter) {
        for (struct ifaddrs *p = all; p; p = p->ifa_next)
            if (tcp_ifa_usable(p, 1, family) && tcp_if_match(p->ifa_name, filter))
                tcp_dev_add(all, p, family, devs, &n, max);
    } else {
        tcp_dev_default(all, family, devs, &n, max);
    }
    freeifaddrs(all);
    if (n == 0)
        return lc_seterr(-ENODEV, TCP_SUBSYS, "no usable interface (LC_TCP_IFNAME=%s%s%s)",
                         filter && *filter ? filter : "<unset>", family ? ", LC_TCP_FAMILY=" : "",
                         family ? fam : "");
    return n;
}

/* Read a small sysfs file into buf; 0 or -1. */
static int tcp_read_sysfs(const char *path, char *buf, size_t len)
{
    FILE *f = fopen(path, "r");
    int ok;

    if (!f)
        return -1;
    ok = fgets(buf, (int)len, f) != NULL;
    fclose(f);
    return ok ? 0 : -1;
}

/**
 * @brief Fill the properties of one device.
 * @return 0.
 */
int tcp_dev_props(const tcp_dev_t *dev, lc_prov_props_t *props)
{
    char path[PATH_MAX], buf[64];
    char *real;
    uint64_t h = 1469598103934665603ULL; /* FNV-1a over name and address */
    const uint8_t *a = (const uint8_t *)&dev->addr;

    memset((char *)props + sizeof(props->size), 0, sizeof(*props) - sizeof(props->size));
    snprintf(props->name, sizeof(props->name), "%s", dev->ifname);
    snprintf(path, sizeof(path), "/sys/class/net/%s/speed", dev->ifname);
    if (tcp_read_sysfs(path, buf, sizeof(buf)) == 0 && atoi(buf) > 0)
        props->speed_mbps = atoi(buf);
    snprintf(path, sizeof(path), "/sys/class/net/%s/device", dev->ifname);
    real = realpath(path, NULL);
    if (real) {
        snprintf(props->pci_path, sizeof(props->pci_path), "%s", real);
        free(real);
    }
    for (const char *p = dev->ifname; *p; p++)
        h = (h ^ (uint8_t)*p) * 1099511628211ULL;
    for (socklen_t i = 0; i < dev->addrlen; i++)
        h = (h ^ a[i]) * 1099511628211ULL;
    props->guid = h;
    props->latency_us = 0;
    props->port = 1;
    props->max_comms = 65536;
    props->max_recvs = 1;
    props->reg_is_global = 1;
    props->max_msg_size = TCP_MAX_MSG;
    return 0;
}
