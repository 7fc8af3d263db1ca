/* lc_netem_probe.c - traffic for the lc_run --netem tests, run as two ranks
 * under lc_run --net. Rank 0 sends, rank 1 receives and judges:
 *   udp N SIZE [nocheck]  N numbered datagrams of SIZE bytes (UDP checksum
 *                         off with nocheck), counted at rank 1
 *   raw N SIZE            the same as raw Ethernet frames of EtherType 0x88B5
 *   tcp BYTES             a byte stream that rank 1 checks byte for byte
 * A TCP control connection (port 31400) orders the phases; over it rank 0
 * also times five 1-byte round trips ("RTT min_us=..."). Rank 1 prints
 * "STATS recv= uniq= dup= bad= ooo=" for udp/raw, "TCP OK bytes=N" for tcp. */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>

#define CTL_PORT  31400
#define DATA_PORT 31401
#define ETH_P_LC  0x88B5
#define MAX_N     100000
#define MAX_SIZE  1400

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void die(const char *what)
{
    fprintf(stderr, "probe: %s: %s\n", what, strerror(errno));
    exit(1);
}

static uint8_t pattern(uint32_t seq, uint32_t i)
{
    return (uint8_t)((seq * 2654435761u + i * 40503u + 7u) >> 24);
}

static struct sockaddr_in peer_addr(int port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};

    inet_pton(AF_INET, "169.254.1.2", &a.sin_addr);
    return a;
}

static void full_io(int fd, void *buf, size_t len, int out)
{
    for (size_t done = 0; done < len;) {
        ssize_t n = out ? write(fd, (char *)buf + done, len - done)
                        : read(fd, (char *)buf + done, len - done);

        if (n <= 0) {
            if (n == 0)
                errno = ECONNRESET;
            die(out ? "write" : "read");
        }
        done += (size_t)n;
    }
}

/* Rank 1 listens, rank 0 connects (retrying while rank 1 starts). */
static int control(int rank, int port)
{
    struct sockaddr_in a = peer_addr(port);
    int one = 1, fd;

    if (rank == 1) {
        int l = socket(AF_INET, SOCK_STREAM, 0);

        setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        a.sin_addr.s_addr = htonl(INADDR_ANY);
        if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(l, 1) < 0)
            die("listen");
        fd = accept(l, NULL, NULL);
        close(l);
    } else {
        double end = now_s() + 20;

        for (;;) {
            fd = socket(AF_INET, SOCK_STREAM, 0);
            if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0 || now_s() > end)
                break;
            close(fd);
            usleep(50000);
        }
    }
    if (fd < 0)
        die("control connection");
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;
}

static void rtt(int rank, int ctl)
{
    double best = 1e9;
    char c = 'p';

    for (int i = 0; i < 5; i++) {
        double t0 = now_s();

        full_io(ctl, &c, 1, rank == 0);
        full_io(ctl, &c, 1, rank != 0);
        if (now_s() - t0 < best)
            best = now_s() - t0;
    }
    if (rank == 0)
        printf("RTT min_us=%.0f\n", best * 1e6);
}

static int data_socket(int rank, int raw, int nocheck)
{
    int big = 32 << 20, one = 1, fd;

    if (raw) {
        struct sockaddr_ll a = {.sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_LC),
                                .sll_ifindex = (int)if_nametoindex("lc0")};

        fd = socket(AF_PACKET, SOCK_DGRAM, htons(ETH_P_LC));
        if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
            die("packet socket");
    } else {
        struct sockaddr_in a = peer_addr(DATA_PORT);

        a.sin_addr.s_addr = htonl(INADDR_ANY);
        fd = socket(AF_INET, SOCK_DGRAM, 0);
        if (fd < 0 || (rank == 1 && bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0))
            die("udp socket");
        if (nocheck && setsockopt(fd, SOL_SOCKET, SO_NO_CHECK, &one, sizeof(one)) < 0)
            die("SO_NO_CHECK");
    }
    if (rank == 1 && setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big)) < 0)
        die("SO_RCVBUFFORCE");
    return fd;
}

static void send_burst(int fd, int raw, int n, int size)
{
    struct sockaddr_ll ll = {.sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_LC),
                             .sll_ifindex = (int)if_nametoindex("lc0"), .sll_halen = 6};
    struct sockaddr_in in = peer_addr(DATA_PORT);
    uint8_t buf[MAX_SIZE];

    memset(ll.sll_addr, 0xff, 6); /* broadcast: the bridge floods it to rank 1 */
    for (uint32_t seq = 0; seq < (uint32_t)n; seq++) {
        memcpy(buf, &seq, 4);
        for (uint32_t i = 4; i < (uint32_t)size; i++)
            buf[i] = pattern(seq, i);
        if ((raw ? sendto(fd, buf, (size_t)size, 0, (struct sockaddr *)&ll, sizeof(ll))
                 : sendto(fd, buf, (size_t)size, 0, (struct sockaddr *)&in, sizeof(in))) < 0)
            die("sendto");
    }
}

static void receive_burst(int fd, int ctl, int n, int size)
{
    static unsigned char seen[MAX_N];
    int recvd = 0, uniq = 0, dup = 0, bad = 0, ooo = 0, done = 0;
    double quiet_until = 0;
    long top = -1;

    for (;;) {
        struct pollfd p[2] = {{.fd = fd, .events = POLLIN}, {.fd = ctl, .events = POLLIN}};
        uint8_t buf[MAX_SIZE + 64];
        uint32_t seq, ok = 1;
        ssize_t len;

        if (poll(p, done ? 1 : 2, 50) < 0)
            die("poll");
        if (!done && p[1].revents) {
            char c;

            full_io(ctl, &c, 1, 0); /* rank 0 has sent everything */
            done = 1;
            quiet_until = now_s() + 0.5;
        }
        if (done && now_s() > quiet_until)
            break;
        if (!(p[0].revents & POLLIN))
            continue;
        len = recv(fd, buf, sizeof(buf), 0);
        if (len < 0)
            die("recv");
        recvd++;
        if (done)
            quiet_until = now_s() + 0.5;
        memcpy(&seq, buf, 4);
        if (len != size || seq >= (uint32_t)n)
            ok = 0;
        for (uint32_t i = 4; ok && i < (uint32_t)size; i++)
            ok = buf[i] == pattern(seq, i);
        if (!ok) {
            bad++;
            continue;
        }
        if (seen[seq]++) {
            dup++;
            continue;
        }
        uniq++;
        if ((long)seq < top)
            ooo++;
        else
            top = seq;
    }
    printf("STATS recv=%d uniq=%d dup=%d bad=%d ooo=%d\n", recvd, uniq, dup, bad, ooo);
}

static void stream(int rank, long bytes)
{
    int fd = control(rank, DATA_PORT);
    static uint8_t buf[65536];
    uint32_t x = 12345;

    for (long off = 0; off < bytes;) {
        size_t chunk = (size_t)(bytes - off < (long)sizeof(buf) ? bytes - off : (long)sizeof(buf));
        uint32_t y = x;

        if (rank == 0) {
            for (size_t i = 0; i < chunk; i++, y = y * 1103515245u + 12345u)
                buf[i] = (uint8_t)(y >> 23);
            full_io(fd, buf, chunk, 1);
        } else {
            full_io(fd, buf, chunk, 0);
            for (size_t i = 0; i < chunk; i++, y = y * 1103515245u + 12345u) {
                if (buf[i] != (uint8_t)(y >> 23)) {
                    printf("TCP BAD at byte %ld\n", off + (long)i);
                    exit(1);
                }
            }
        }
        x = y;
        off += (long)chunk;
    }
    if (rank == 1)
        printf("TCP OK bytes=%ld\n", bytes);
    else
        shutdown(fd, SHUT_WR);
    close(fd);
}

int main(int argc, char **argv)
{
    const char *r = getenv("LC_RANK");
    int rank = r ? atoi(r) : -1, raw, n, size, ctl, fd;
    char c = 'd';

    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc >= 3 && strcmp(argv[1], "tcp") == 0 && (rank == 0 || rank == 1)) {
        stream(rank, atol(argv[2]));
        return 0;
    }
    if (argc < 4 || (strcmp(argv[1], "udp") && strcmp(argv[1], "raw")) || (rank != 0 && rank != 1)) {
        fprintf(stderr, "usage: LC_RANK=0|1 %s udp|raw N SIZE [nocheck] | tcp BYTES\n", argv[0]);
        return 2;
    }
    raw = strcmp(argv[1], "raw") == 0;
    n = atoi(argv[2]);
    size = atoi(argv[3]);
    if (n < 1 || n > MAX_N || size < 8 || size > MAX_SIZE)
        return 2;
    fd = data_socket(rank, raw, argc > 4 && strcmp(argv[4], "nocheck") == 0);
    ctl = control(rank, CTL_PORT);
    rtt(rank, ctl);
    if (rank == 0) {
        send_burst(fd, raw, n, size);
        full_io(ctl, &c, 1, 1);
        full_io(ctl, &c, 1, 0); /* rank 1 has counted */
    } else {
        receive_burst(fd, ctl, n, size);
        full_io(ctl, &c, 1, 1);
    }
    close(fd);
    close(ctl);
    return 0;
}
