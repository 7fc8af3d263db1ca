/* reth_iface.c - choose and check the Ethernet interface raweth runs on. */
#include <dirent.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if_arp.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "reth_dp.h"
#include "reth_frame.h"

#define RETH_MIN_MTU (RETH_HDR_LEN + RETH_CRC_LEN + 256)

/* Inode of the initial network namespace on kernels that give it a fixed number. */
#define RETH_NET_INIT_INO 0xEFFFFFF9u

/* 1 when the namespace inode ino is one that `ip netns add` created (bind-mounted there). */
static int reth_named_netns(ino_t ino)
{
    DIR *dir = opendir("/var/run/netns");
    struct dirent *e;
    int found = 0;

    if (!dir)
        return 0;
    while (!found && (e = readdir(dir))) {
        char path[300];
        struct stat st;
        snprintf(path, sizeof(path), "/var/run/netns/%s", e->d_name);
        found = e->d_name[0] != '.' && !stat(path, &st) && st.st_ino == ino;
    }
    closedir(dir);
    return found;
}

/*
 * 1 unless this process is known to run in a network namespace other than
 * the initial one: that of pid 1, or, where pid 1 cannot be inspected, not
 * the kernel's fixed initial inode and one of the named namespaces.
 */
static int reth_in_initial_netns(void)
{
    struct stat self, init;

    if (stat("/proc/self/ns/net", &self))
        return 1;
    if (!stat("/proc/1/ns/net", &init))
        return self.st_ino == init.st_ino && self.st_dev == init.st_dev;
    return self.st_ino == RETH_NET_INIT_INO || !reth_named_netns(self.st_ino);
}

/* The only non-loopback interface that is UP, or -ENODEV. */
static int reth_iface_auto(char *name)
{
    struct ifaddrs *ifa, *p;
    int n = 0;

    if (reth_in_initial_netns())
        return lc_seterr(-ENODEV, "raweth",
                         "LC_RAWETH_IFNAME is unset and this process is in the initial network "
                         "namespace: raweth never picks an interface there by itself; set "
                         "LC_RAWETH_IFNAME (lc_run --net sets lc0)");
    if (getifaddrs(&ifa))
        return lc_seterr(-errno, "raweth", "getifaddrs: %s", strerror(errno));
    for (p = ifa; p; p = p->ifa_next) {
        if (!p->ifa_addr || p->ifa_addr->sa_family != AF_PACKET)
            continue;
        if ((p->ifa_flags & IFF_LOOPBACK) || !(p->ifa_flags & IFF_UP))
            continue;
        if (n++ == 0)
            snprintf(name, IF_NAMESIZE, "%s", p->ifa_name);
    }
    freeifaddrs(ifa);
    if (n != 1)
        return lc_seterr(-ENODEV, "raweth",
                         "LC_RAWETH_IFNAME is unset and this namespace has %d non-loopback UP "
                         "interfaces (need exactly one)", n);
    return 0;
}

static int reth_speed(const char *name)
{
    char path[128];
    FILE *f;
    int speed = 0;

    snprintf(path, sizeof(path), "/sys/class/net/%s/speed", name);
    f = fopen(path, "r");
    if (!f)
        return 0;
    if (fscanf(f, "%d", &speed) != 1 || speed < 0)
        speed = 0;
    fclose(f);
    return speed;
}

int reth_iface_find(const char *name, reth_iface_t *ifc)
{
    struct ifreq ifr;
    int fd, rc = 0;

    memset(ifc, 0, sizeof(*ifc));
    if (name && *name) {
        if (strlen(name) >= IF_NAMESIZE)
            return lc_seterr(-ENODEV, "raweth", "interface name '%s' is too long", name);
        snprintf(ifc->name, sizeof(ifc->name), "%s", name);
    } else if ((rc = reth_iface_auto(ifc->name))) {
        return rc;
    }
    fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return lc_seterr(-errno, "raweth", "socket for interface queries: %s", strerror(errno));
    memset(&ifr, 0, sizeof(ifr));
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifc->name);
    if (ioctl(fd, SIOCGIFINDEX, &ifr)) {
        rc = lc_seterr(-ENODEV, "raweth", "no interface '%s' in this network namespace",
                       ifc->name);
        goto out;
    }
    ifc->ifindex = ifr.ifr_ifindex;
    if (ioctl(fd, SIOCGIFFLAGS, &ifr) || !(ifr.ifr_flags & IFF_UP)) {
        rc = lc_seterr(-ENETDOWN, "raweth", "interface '%s' is down (ip link set %s up)",
                       ifc->name, ifc->name);
        goto out;
    }
    if (ioctl(fd, SIOCGIFMTU, &ifr) || ifr.ifr_mtu < RETH_MIN_MTU) {
        rc = lc_seterr(-EMSGSIZE, "raweth", "interface '%s' MTU %d is below the %d bytes raweth needs",
                       ifc->name, ifr.ifr_mtu, RETH_MIN_MTU);
        goto out;
    }
    ifc->mtu = ifr.ifr_mtu;
    if (ioctl(fd, SIOCGIFHWADDR, &ifr) || ifr.ifr_hwaddr.sa_family != ARPHRD_ETHER) {
        rc = lc_seterr(-ENODEV, "raweth", "interface '%s' is not an Ethernet interface",
                       ifc->name);
        goto out;
    }
    memcpy(ifc->mac, ifr.ifr_hwaddr.sa_data, 6);
    ifc->speed_mbps = reth_speed(ifc->name);
out:
    close(fd);
    return rc;
}
