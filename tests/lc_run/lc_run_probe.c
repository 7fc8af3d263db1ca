/* lc_run_probe.c - the program the lc_run tests launch as ranks. One mode per
 * behaviour under test:
 *   env                 print the bootstrap variables, a stderr line, a partial line
 *   chunks              lines written in pieces, then one line longer than lc_run's buffer
 *   fail R CODE [stubborn]  rank R exits CODE, the others wait (ignoring SIGTERM if stubborn)
 *   crash R             rank R dies of SIGSEGV, the others wait
 *   sleep               print "pid=N ready", wait
 *   one                 print what --one exports
 *   net                 check the emulated network: only lc0 and lo, the address of the
 *                       rank's host (LC_HOST) and lc0's MTU, and a TCP connection to and
 *                       from every other rank (port 31313 + LC_LOCAL_RANK, peers placed by
 *                       LC_NET_RANKS); print the host, the local rank and size, and the
 *                       network namespace's inode */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define PROBE_PORT 31313

static const char *env_or(const char *name, const char *dflt)
{
    const char *v = getenv(name);

    return v ? v : dflt;
}

static int my_rank(void)
{
    return atoi(env_or("LC_RANK", "-1"));
}

static void wait_forever(int stubborn)
{
    if (stubborn)
        signal(SIGTERM, SIG_IGN);
    printf("pid=%d ready\n", (int)getpid());
    fflush(stdout);
    for (int i = 0; i < 600; i++)
        usleep(100000);
}

static int mode_env(void)
{
    printf("RANK=%s SIZE=%s LOCAL=%s ROOT=%s KEY=%s\n", env_or("LC_RANK", "-"),
           env_or("LC_SIZE", "-"), env_or("LC_LOCAL_RANK", "-"), env_or("LC_ROOT", "-"),
           env_or("LC_JOB_KEY", "-"));
    fprintf(stderr, "ERR %s\n", env_or("LC_RANK", "-"));
    printf("tail %s", env_or("LC_RANK", "-"));
    return 0;
}

static int mode_chunks(void)
{
    char line[64], *longline;
    const size_t longlen = 40000;

    for (int i = 0; i < 20; i++) {
        int n = snprintf(line, sizeof(line), "line %d of rank %d\n", i, my_rank());

        /* Two writes per line with a pause: lc_run sees partial lines. */
        if (write(STDOUT_FILENO, line, (size_t)n / 2) < 0 ||
            (usleep(2000), write(STDOUT_FILENO, line + n / 2, (size_t)(n - n / 2))) < 0)
            return 1;
    }
    longline = malloc(longlen + 1);
    if (!longline)
        return 1;
    memset(longline, 'x', longlen);
    longline[longlen] = '\n';
    if (write(STDOUT_FILENO, longline, longlen + 1) < 0)
        return 1;
    free(longline);
    return write(STDOUT_FILENO, "end\n", 4) == 4 ? 0 : 1;
}

static int mode_one(void)
{
    printf("ONE RANK=%s SIZE=%s HOSTS=[%s] ADDRS=[%s] RANKS=[%s] SWITCH=[%s]\n",
           env_or("LC_RANK", "unset"), env_or("LC_SIZE", "-"), env_or("LC_NET_HOSTS", "unset"),
           env_or("LC_NET_ADDRS", "unset"), env_or("LC_NET_RANKS", "unset"),
           env_or("LC_NET_SWITCH", "unset"));
    return 0;
}

/* Exactly lc0 and lo in /sys/class/net (the namespace's own sysfs). */
static int check_ifaces(void)
{
    DIR *d = opendir("/sys/class/net");
    struct dirent *de;
    int lc0 = 0, lo = 0, other = 0;

    if (!d)
        return -1;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        if (!strcmp(de->d_name, "lc0"))
            lc0++;
        else if (!strcmp(de->d_name, "lo"))
            lo++;
        else {
            fprintf(stderr, "unexpected interface %s\n", de->d_name);
            other++;
        }
    }
    closedir(d);
    return lc0 == 1 && lo == 1 && !other ? 0 : -1;
}

static int check_addr_mtu(const char *want)
{
    struct ifaddrs *ifa, *i;
    int found = 0, mtu = 0;
    FILE *f = fopen("/sys/class/net/lc0/mtu", "r");

    if (!f || fscanf(f, "%d", &mtu) != 1)
        mtu = -1;
    if (f)
        fclose(f);
    if (mtu != atoi(env_or("LC_NET_MTU", "0"))) {
        fprintf(stderr, "lc0 mtu %d, LC_NET_MTU %s\n", mtu, env_or("LC_NET_MTU", "-"));
        return -1;
    }
    if (getifaddrs(&ifa) < 0)
        return -1;
    for (i = ifa; i; i = i->ifa_next) {
        char buf[INET_ADDRSTRLEN];

        if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET || strcmp(i->ifa_name, "lc0"))
            continue;
        inet_ntop(AF_INET, &((struct sockaddr_in *)i->ifa_addr)->sin_addr, buf, sizeof(buf));
        found += !strcmp(buf, want);
    }
    freeifaddrs(ifa);
    return found == 1 ? 0 : -1;
}

/* Host and local rank of rank r: hosts filled in order, as many ranks on each
 * as LC_NET_RANKS lists. */
static void place(int r, int *host, int *local)
{
    const char *s = env_or("LC_NET_RANKS", "");
    char *end;
    long n;

    for (*host = 0;; ++*host, s = end) {
        n = strtol(s, &end, 10);
        if (end == s || r < n)
            break;
        r -= (int)n;
    }
    *local = r;
}

static int net_hosts(void)
{
    const char *s = env_or("LC_NET_ADDRS", "");
    int n = 0;

    for (; *s; s++)
        n += (*s != ' ') && (s[1] == ' ' || s[1] == '\0');
    return n;
}

static struct sockaddr_in addr_of(int rank)
{
    struct sockaddr_in a = {.sin_family = AF_INET};
    int host, local;
    char ip[32];

    place(rank, &host, &local);
    a.sin_port = htons((uint16_t)(PROBE_PORT + local));
    snprintf(ip, sizeof(ip), "169.254.1.%d", host + 1);
    inet_pton(AF_INET, ip, &a.sin_addr);
    return a;
}

/* Listen on our address, connect to every other rank and send our rank,
 * accept one connection from every other rank and check who it is. */
static int tcp_mesh(int rank, int size)
{
    struct sockaddr_in me = addr_of(rank);
    int ls = socket(AF_INET, SOCK_STREAM, 0), one = 1, seen = 0;
    time_t end = time(NULL) + 20;

    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(ls, (struct sockaddr *)&me, sizeof(me)) < 0 || listen(ls, size) < 0) {
        perror("bind/listen");
        return -1;
    }
    for (int p = 0; p < size; p++) {
        struct sockaddr_in peer = addr_of(p);
        int fd;

        if (p == rank)
            continue;
        for (;;) {
            fd = socket(AF_INET, SOCK_STREAM, 0);
            if (connect(fd, (struct sockaddr *)&peer, sizeof(peer)) == 0)
                break;
            close(fd);
            if (time(NULL) > end) {
                fprintf(stderr, "cannot connect to rank %d: %s\n", p, strerror(errno));
                return -1;
            }
            usleep(20000);
        }
        if (write(fd, &rank, sizeof(rank)) != (ssize_t)sizeof(rank))
            return -1;
        close(fd);
    }
    for (int k = 0; k < size - 1; k++) {
        int fd = accept(ls, NULL, NULL), from = -1;

        if (fd < 0 || read(fd, &from, sizeof(from)) != (ssize_t)sizeof(from) || from < 0 ||
            from >= size || from == rank || (seen & (1 << from))) {
            fprintf(stderr, "bad peer %d\n", from);
            return -1;
        }
        seen |= 1 << from;
        close(fd);
    }
    close(ls);
    return 0;
}

static int mode_net(void)
{
    int rank = my_rank(), size = atoi(env_or("LC_SIZE", "0"));
    int host = atoi(env_or("LC_HOST", "-1"));
    struct stat ns;
    char want[32];

    snprintf(want, sizeof(want), "169.254.1.%d", host + 1);
    if (rank < 0 || size < 1 || size > 30 || host < 0 || host >= net_hosts() ||
        stat("/proc/self/ns/net", &ns) < 0)
        return 1;
    if (strcmp(env_or("LC_TCP_IFNAME", ""), "lc0") || !getenv("LC_NET_RATE")) {
        fprintf(stderr, "LC_TCP_IFNAME or LC_NET_RATE not set\n");
        return 1;
    }
    if (check_ifaces() < 0 || check_addr_mtu(want) < 0) {
        fprintf(stderr, "interfaces or address wrong\n");
        return 1;
    }
    if (tcp_mesh(rank, size) < 0)
        return 1;
    printf("NET OK rank=%d addr=%s host=%d local=%s/%s netns=%lu\n", rank, want, host,
           env_or("LC_LOCAL_RANK", "-"), env_or("LC_LOCAL_SIZE", "-"), (unsigned long)ns.st_ino);
    return 0;
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "";
    int rank = my_rank();

    if (!strcmp(mode, "env"))
        return mode_env();
    if (!strcmp(mode, "chunks"))
        return mode_chunks();
    if (!strcmp(mode, "one"))
        return mode_one();
    if (!strcmp(mode, "net"))
        return mode_net();
    if (!strcmp(mode, "sleep")) {
        wait_forever(0);
        return 0;
    }
    if (!strcmp(mode, "fail") && argc >= 4) {
        if (rank == atoi(argv[2])) {
            usleep(200000); /* let the others start */
            return atoi(argv[3]);
        }
        wait_forever(argc >= 5 && !strcmp(argv[4], "stubborn"));
        return 0;
    }
    if (!strcmp(mode, "crash") && argc >= 3) {
        if (rank == atoi(argv[2])) {
            struct rlimit none = {0, 0};

            setrlimit(RLIMIT_CORE, &none); /* no core file */
            usleep(200000);
            raise(SIGSEGV);
        }
        wait_forever(0);
        return 0;
    }
    fprintf(stderr, "lc_run_probe: unknown mode\n");
    return 2;
}
