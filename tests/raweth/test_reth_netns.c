/*
 * test_reth_netns.c - raweth point-to-point transfers through the provider
 * ops table between two processes in two private network namespaces:
 *   test_reth_netns MODE SCENARIO
 * MODE packet|xdp|mixed (receiver xdp, sender packet); SCENARIO basic (0 B..16 MiB, ordering, many in flight,
 * larger and smaller receive buffers), loss1, loss5, reorder, dup, corrupt,
 * all (impairments by tc netem, or by LC_RAWETH_FAULT where the kernel has
 * no netem), kill (a peer killed mid-stream: the other side must fail
 * within LC_TIMEOUT), forge (1% of the frames edited with their CRC fixed
 * up: dropped by the MAC, counted, resent: the data arrive intact), errors (the distinct error of each unusable
 * interface or missing privilege), jumbo (basic transfers at MTU 9000).
 * Exits 77 without the privileges to build the network.
 * Not run by ctest: "perf [RATE]" streams 256 MiB (4 MiB messages, 4 in
 * flight) through tbf shaping at RATE (e.g. 1gbit) and prints the rate.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/capability.h>
#include <poll.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "reth_counters.h"
#include "reth_netns.h"

#define JOB 0x6c696f6e63756231ull
#define TIMEOUT_MS 2000
#define CHECK(c, ...)                                                                            \
    do {                                                                                         \
        if (!(c)) {                                                                              \
            fprintf(stderr, "%s[%d] FAIL line %d: ", role_name, (int)getpid(), __LINE__);        \
            fprintf(stderr, __VA_ARGS__);                                                        \
            fprintf(stderr, " (%s)\n", lc_last_error());                                        \
            exit(1);                                                                             \
        }                                                                                        \
    } while (0)

static const lc_provider_t *prov;
static const char *role_name = "parent";
static lc_prov_ctx_t *ctx;

typedef struct scen {
    const char *name, *netem, *fault;
} scen_t;

static const scen_t scens[] = {
    {"basic", NULL, NULL},
    {"loss1", "loss 1%", "loss=0.01"},
    {"loss5", "loss 5%", "loss=0.05"},
    {"reorder", "delay 2ms reorder 90% 50%", "reorder=0.1,delay=2"},
    {"dup", "duplicate 1%", "dup=0.01"},
    {"corrupt", "corrupt 0.1%", "corrupt=0.001"},
    {"all", "delay 2ms reorder 90% 50% loss 1% duplicate 1% corrupt 0.1%",
     "loss=0.01,dup=0.01,reorder=0.1,delay=2,corrupt=0.001"},
    {"forge", NULL, "forge=0.01"},
    {"kill", NULL, NULL},
    {"perf", NULL, NULL},
    {"errors", NULL, NULL},
    {"jumbo", NULL, NULL},
};

/* Message k's content: a xorshift stream seeded by k. */
static void fill(uint8_t *p, size_t n, uint64_t k)
{
    uint64_t x = k * 0x9E3779B97F4A7C15ull + 0x1234567;

    for (size_t i = 0; i < n; i++) {
        if ((i & 7) == 0) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
        }
        p[i] = (uint8_t)(x >> (8 * (i & 7)));
    }
}

static int check(const uint8_t *p, size_t n, uint64_t k)
{
    uint8_t *want = malloc(n + 1);
    int ok;

    fill(want, n, k);
    ok = !memcmp(p, want, n);
    free(want);
    return ok;
}

/* Wait for one request: returns its result; *size the message size. */
/* Test until done; with sleep, sleep in the provider's wait op between tests. */
static int wait_req_mode(lc_prov_req_t *req, size_t *size, double limit, int sleep)
{
    double end = lc_now() + limit;
    int done = 0, rc;

    do {
        rc = prov->test(req, &done, size);
        if (rc)
            return rc;
        if (!done && sleep)
            CHECK(prov->wait(ctx, 1000) == 0, "wait");
    } while (!done && lc_now() < end);
    CHECK(done, "request not complete after %.0f s", limit);
    return 0;
}

static int wait_req(lc_prov_req_t *req, size_t *size, double limit)
{
    return wait_req_mode(req, size, limit, 0);
}

static void *post_send(void *comm, const void *buf, size_t len)
{
    lc_prov_req_t *req = NULL;

    while (!req)
        CHECK(prov->isend(comm, buf, len, NULL, &req) == 0, "isend %zu B", len);
    return req;
}

static void *post_recv(void *comm, void *buf, size_t len)
{
    lc_prov_req_t *req = NULL;

    while (!req)
        CHECK(prov->irecv(comm, buf, len, NULL, &req) == 0, "irecv %zu B", len);
    return req;
}

static const size_t sizes[] = {0, 1, 7, 1431, 1432, 1433, 4096, 65536, 1 << 20, 16 << 20};
#define NSIZES (sizeof(sizes) / sizeof(sizes[0]))
#define NBURST 200

static size_t burst_len(int i)
{
    return (size_t)((i * 7919u) % 65536u) * (i % 5 != 0);
}

static void sender(lc_prov_comm_t *comm, int basic)
{
    uint8_t *buf = malloc((16 << 20) + 1);
    uint8_t *bufs[NBURST];
    lc_prov_req_t *reqs[NBURST];
    size_t sz;

    CHECK(buf, "malloc");
    for (size_t i = 0; i < NSIZES; i++) {
        fill(buf, sizes[i], i);
        CHECK(wait_req(post_send(comm, buf, sizes[i]), &sz, 60) == 0, "send %zu B", sizes[i]);
        CHECK(sz == sizes[i], "send size %zu", sz);
    }
    for (int i = 0; i < NBURST; i++) {
        bufs[i] = malloc(burst_len(i) + 1);
        fill(bufs[i], burst_len(i), 1000 + (uint64_t)i);
        reqs[i] = post_send(comm, bufs[i], burst_len(i));
    }
    for (int i = NBURST - 1; i >= 0; i--) { /* completion order does not matter */
        CHECK(wait_req(reqs[i], &sz, 60) == 0, "burst send %d", i);
        free(bufs[i]);
    }
    if (basic) {
        fill(buf, 1000, 7777);
        CHECK(wait_req(post_send(comm, buf, 1000), NULL, 60) == 0, "send to a small buffer");
        fill(buf, 3000, 7778);
        CHECK(wait_req(post_send(comm, buf, 3000), NULL, 60) == 0, "send after -EMSGSIZE");
    }
    free(buf);
}

static void receiver(lc_prov_comm_t *comm, int basic)
{
    uint8_t *buf = malloc((16 << 20) + 4096);
    uint8_t *bufs[NBURST];
    lc_prov_req_t *reqs[NBURST];
    size_t sz;

    CHECK(buf, "malloc");
    for (size_t i = 0; i < NSIZES; i++) {
        /* A buffer larger than the message: test() reports the message size. */
        CHECK(wait_req(post_recv(comm, buf, sizes[i] + 4096), &sz, 60) == 0, "recv %zu B",
              sizes[i]);
        CHECK(sz == sizes[i], "recv size %zu, want %zu", sz, sizes[i]);
        CHECK(check(buf, sz, i), "content of the %zu-byte message", sizes[i]);
    }
    for (int i = 0; i < NBURST; i++) {
        bufs[i] = malloc(65536);
        reqs[i] = post_recv(comm, bufs[i], 65536);
    }
    if (basic) { /* the wait op: bad arguments, and an idle wait ends by its 1 ms cap */
        double t0 = lc_now();

        CHECK(prov->wait(NULL, 10) == -EINVAL && prov->wait(ctx, -1) == -EINVAL,
              "wait with a NULL context or a negative timeout: -EINVAL");
        CHECK(prov->wait(ctx, 2000000) == 0 && lc_now() - t0 < 0.5,
              "an idle wait returned after %.3f s (cap 1 ms)", lc_now() - t0);
    }
    for (int i = 0; i < NBURST; i++) { /* basic: the receiver sleeps between tests */
        CHECK(wait_req_mode(reqs[i], &sz, 60, basic) == 0, "burst recv %d", i);
        CHECK(sz == burst_len(i) && check(bufs[i], sz, 1000 + (uint64_t)i),
              "burst message %d: size %zu, want %zu, or content (order)", i, sz, burst_len(i));
        free(bufs[i]);
    }
    if (basic) {
        CHECK(wait_req(post_recv(comm, buf, 999), &sz, 60) == -EMSGSIZE,
              "a 1000-byte message into 999 bytes must give -EMSGSIZE");
        CHECK(wait_req(post_recv(comm, buf, 3000), &sz, 60) == 0 && sz == 3000 &&
              check(buf, 3000, 7778), "the connection works after -EMSGSIZE");
    }
    free(buf);
}

/* Stream 1 MiB messages until failure; the result must be a timeout soon after the peer died. */
static int stream_until_error(lc_prov_comm_t *comm, int is_send, int ready_fd)
{
    size_t len = 1 << 20, sz;
    uint8_t *buf = malloc(len);
    double last = lc_now();
    int rc = 0;

    fill(buf, len, 42);
    for (int i = 0; rc == 0; i++) {
        lc_prov_req_t *req = is_send ? post_send(comm, buf, len) : post_recv(comm, buf, len);
        rc = wait_req(req, &sz, 30);
        if (rc == 0) {
            last = lc_now();
            if (i == 4 && ready_fd >= 0 && write(ready_fd, "r", 1) != 1)
                exit(1);
        }
    }
    free(buf);
    CHECK(rc == -ETIMEDOUT || rc == LC_ERR_PEER, "error %d after the peer died", rc);
    CHECK(lc_now() - last < TIMEOUT_MS / 1000.0 + 2.0, "error came %.1f s after the last "
          "message, timeout %d ms", lc_now() - last, TIMEOUT_MS);
    printf("%s: failed with %s %.2f s after the last message\n", role_name, lc_strerror(rc),
           lc_now() - last);
    return 0;
}

/* Stream 256 MiB in 4 MiB messages, 4 in flight; the receiver prints the rate. */
static void perf(lc_prov_comm_t *comm, int is_send)
{
    enum { LEN = 4 << 20, NMSG = 64, DEPTH = 4 };
    uint8_t *buf[DEPTH];
    lc_prov_req_t *req[DEPTH];
    double t0 = 0;

    for (int i = 0; i < DEPTH; i++) {
        buf[i] = malloc(LEN);
        CHECK(buf[i], "malloc");
        fill(buf[i], LEN, 5);
    }
    for (int m = 0; m < NMSG + DEPTH; m++) {
        int k = m % DEPTH;
        if (m >= DEPTH)
            CHECK(wait_req(req[k], NULL, 120) == 0, "perf message %d", m - DEPTH);
        if (m == DEPTH)
            t0 = lc_now(); /* the first messages absorb connection start-up */
        if (m < NMSG)
            req[k] = is_send ? post_send(comm, buf[k], LEN) : post_recv(comm, buf[k], LEN);
    }
    if (!is_send)
        printf("perf: %d x %d MiB in %.3f s = %.3f Gbit/s of payload\n", NMSG - DEPTH,
               LEN >> 20, lc_now() - t0, (double)(NMSG - DEPTH) * LEN * 8 / (lc_now() - t0) / 1e9);
    for (int i = 0; i < DEPTH; i++)
        free(buf[i]);
}

static void child_init(const reth_net_t *net, int side, const char *mode, const char *fault,
                       int seed)
{
    lc_prov_init_opts_t o = {.size = sizeof(o), .job_id = JOB, .rank = side};
    char f[256];
    int rc;

    CHECK(reth_net_enter(net, side) == 0, "enter namespace");
    if (!strcmp(mode, "mixed")) /* the two datapaths talk to each other */
        mode = side == 0 ? "xdp" : "packet";
    setenv("LC_RAWETH_IFNAME", net->dev[side], 1);
    setenv("LC_RAWETH_MODE", mode, 1);
    if (fault) {
        snprintf(f, sizeof(f), "%s,seed=%d", fault, seed);
        setenv("LC_RAWETH_FAULT", f, 1);
    }
    rc = prov->init(&o, &ctx);
    if (rc && !strcmp(mode, "xdp") && rc != -EPERM) {
        printf("SKIP: xdp mode unavailable here: %s\n", lc_last_error());
        exit(77);
    }
    CHECK(rc == 0, "init %s mode on %s", mode, net->dev[side]);
}

/* side 0 listens and receives, side 1 connects and sends. */
static void child(const reth_net_t *net, int side, const char *mode, const scen_t *sc, int hfd[2],
                  int ready_fd)
{
    uint8_t handle[LC_PROV_HANDLE_MAX];
    lc_prov_comm_t *lcomm = NULL, *comm = NULL;
    double end;
    int kill_mode = !strcmp(sc->name, "kill");

    role_name = side == 0 ? "receiver" : "sender";
    child_init(net, side, mode, sc->fault, side + 1);
    if (side == 0) {
        CHECK(prov->listen(ctx, 0, handle, &lcomm) == 0, "listen");
        CHECK(write(hfd[1], handle, sizeof(handle)) == sizeof(handle), "write handle");
    } else {
        CHECK(read(hfd[0], handle, sizeof(handle)) == sizeof(handle), "read handle");
    }
    end = lc_now() + 20;
    while (!comm && lc_now() < end)
        CHECK((side == 0 ? prov->accept(lcomm, &comm) : prov->connect(ctx, 0, handle, &comm)) == 0,
              "accept/connect");
    CHECK(comm, "no connection within 20 s");
    if (kill_mode)
        exit(stream_until_error(comm, side == 1, ready_fd));
    if (!strcmp(sc->name, "perf"))
        perf(comm, side == 1);
    else if (side == 0)
        receiver(comm, !strcmp(sc->name, "basic"));
    else
        sender(comm, !strcmp(sc->name, "basic"));
    if (!strcmp(sc->name, "forge")) {
        reth_counters_t cnt;
        CHECK(reth_get_counters(ctx, &cnt) == 0, "counters");
        printf("%s: %llu forged frames dropped, %llu bad CRCs\n", role_name,
               (unsigned long long)cnt.dropped_mac, (unsigned long long)cnt.dropped_crc);
        CHECK(side == 1 || cnt.dropped_mac > 0, "no forged DATA frame was dropped");
    }
    /* Either side may close first: a closed receive comm keeps acking until FIN. */
    if (side == 0) {
        CHECK(prov->close_recv(comm) == 0, "close_recv");
        CHECK(prov->close_listen(lcomm) == 0, "close_listen");
    } else {
        CHECK(prov->close_send(comm) == 0, "close_send");
    }
    prov->fini(ctx);
    exit(0);
}

/* Drop CAP_NET_RAW from this process's effective and permitted sets. */
static int drop_net_raw(void)
{
    struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct data[2];

    if (syscall(SYS_capget, &hdr, data))
        return -1;
    data[0].effective &= ~(1u << CAP_NET_RAW);
    data[0].permitted &= ~(1u << CAP_NET_RAW);
    return (int)syscall(SYS_capset, &hdr, data);
}

static int init_err(const char *ifname, const char *mode)
{
    lc_prov_init_opts_t o = {.size = sizeof(o), .job_id = JOB, .rank = 0};
    lc_prov_ctx_t *c = NULL;
    int rc;

    if (ifname)
        setenv("LC_RAWETH_IFNAME", ifname, 1);
    else
        unsetenv("LC_RAWETH_IFNAME");
    setenv("LC_RAWETH_MODE", mode, 1);
    rc = prov->init(&o, &c);
    printf("  %-28s %-6s -> %s: %s\n", ifname ? ifname : "(LC_RAWETH_IFNAME unset)", mode,
           lc_strerror(rc), rc ? lc_last_error() : "ok");
    if (rc == 0)
        prov->fini(c);
    return rc;
}

/* Each unusable set-up gives its own error; runs in namespace 0 (child process). */
static void errors_child(const reth_net_t *net, const char *mode)
{
    role_name = "errors";
    char ns[64] = "", ns1[64] = "";
    if (readlink("/proc/self/ns/net", ns, sizeof(ns) - 1) > 0 &&
        ((readlink("/proc/1/ns/net", ns1, sizeof(ns1) - 1) > 0 && !strcmp(ns, ns1)) ||
         !strcmp(ns, "net:[4026531833]"))) /* 0xEFFFFFF9, init_net's fixed inode */
        CHECK(init_err(NULL, mode) == -ENODEV, "initial namespace, no LC_RAWETH_IFNAME: -ENODEV");
    CHECK(reth_net_enter(net, 0) == 0, "enter namespace");
    CHECK(init_err("lcnosuchif0", mode) == -ENODEV, "unknown interface: -ENODEV");
    /* Exactly one UP non-loopback interface in a namespace of our own: picked by itself. */
    CHECK(init_err(NULL, mode) == 0, "the namespace's only interface is used");
    CHECK(!reth_sh_mtu(net, 200), "set MTU 200");
    CHECK(init_err(net->dev[0], mode) == -EMSGSIZE, "MTU 200: -EMSGSIZE");
    CHECK(!reth_sh_mtu(net, 1500), "set MTU 1500");
    CHECK(!reth_sh_down(net), "set the link down");
    CHECK(init_err(net->dev[0], mode) == -ENETDOWN, "link down: -ENETDOWN");
    CHECK(init_err(NULL, mode) == -ENODEV, "no UP interface: -ENODEV");
    CHECK(!reth_sh_up(net), "set the link up");
    CHECK(drop_net_raw() == 0, "drop CAP_NET_RAW");
    CHECK(init_err(net->dev[0], mode) == -EPERM, "without CAP_NET_RAW: -EPERM");
    CHECK(strstr(lc_last_error(), "CAP_NET_RAW") || strstr(lc_last_error(), "CAP_BPF"),
          "the message names the capability");
    exit(0);
}

/* Print where a child that does not end is: its state and kernel wait channel. */
static void report_stuck(pid_t pid)
{
    char path[64], line[128] = "", wchan[64] = "?";
    FILE *f;

    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    if ((f = fopen(path, "r"))) {
        while (fgets(line, sizeof(line), f) && strncmp(line, "State:", 6))
            ;
        fclose(f);
    }
    snprintf(path, sizeof(path), "/proc/%d/wchan", (int)pid);
    if ((f = fopen(path, "r"))) {
        if (!fgets(wchan, sizeof(wchan), f))
            strcpy(wchan, "?");
        fclose(f);
    }
    line[strcspn(line, "\n")] = 0;
    fprintf(stderr, "child %d: %s, waiting in %s\n", (int)pid, line, wchan);
}

/* Wait up to limit seconds for a child to exit. Returns 0 and its status, or -1. */
static int wait_exit(pid_t pid, double limit, int *st)
{
    for (double end = lc_now() + limit; lc_now() < end; usleep(20000))
        if (waitpid(pid, st, WNOHANG) == pid)
            return 0;
    return -1;
}

/*
 * Wait for a child; kill it after limit seconds. Returns its exit status
 * (128 + signal when killed by one), or 1 when it hung. Never blocks for
 * good: a child stuck in the kernel is reported, not waited for.
 */
static int reap(pid_t pid, double limit)
{
    int st;

    if (wait_exit(pid, limit, &st) == 0)
        return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    fprintf(stderr, "FAIL: child %d still running after %.0f s (hang)\n", (int)pid, limit);
    report_stuck(pid);
    kill(pid, SIGKILL);
    if (wait_exit(pid, 10, &st))
        report_stuck(pid);
    return 1;
}

/* Wait up to limit seconds for the byte a child writes when it is ready to be killed. */
static int wait_ready(int fd, double limit)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    char c;

    return poll(&p, 1, (int)(limit * 1000)) == 1 && read(fd, &c, 1) == 1;
}

static int run_pair(const reth_net_t *net, const char *mode, const scen_t *sc, int kill_side)
{
    int hfd[2], rfd[2], st[2];
    pid_t pid[2];

    if (pipe(hfd) || pipe(rfd))
        return 1;
    fflush(NULL);
    for (int side = 0; side < 2; side++) {
        pid[side] = fork();
        if (pid[side] == 0) {
            close(rfd[0]);
            if (kill_side != side)
                close(rfd[1]); /* so that the parent sees EOF when the killed side ends */
            child(net, side, mode, sc, hfd, kill_side == side ? rfd[1] : -1);
        }
    }
    close(rfd[1]);
    if (kill_side >= 0) {
        if (wait_ready(rfd[0], 60)) {
            kill(pid[kill_side], SIGKILL);
            st[kill_side] = reap(pid[kill_side], 10) == 128 + SIGKILL ? 0 : 1;
        } else {
            st[kill_side] = reap(pid[kill_side], 10);
        }
        st[!kill_side] = reap(pid[!kill_side], 60);
    } else {
        st[0] = reap(pid[0], 240);
        st[1] = reap(pid[1], 10);
    }
    close(hfd[0]);
    close(hfd[1]);
    close(rfd[0]);
    if (st[0] == 77 || st[1] == 77)
        return 77;
    return st[0] || st[1];
}

int main(int argc, char **argv)
{
    const scen_t *sc = NULL;
    scen_t netem_sc;
    reth_net_t net;
    int rc;

    if (argc < 3 || argc > 4 ||
        (strcmp(argv[1], "packet") && strcmp(argv[1], "xdp") && strcmp(argv[1], "mixed"))) {
        fprintf(stderr, "usage: %s packet|xdp|mixed SCENARIO [RATE]\n", argv[0]);
        return 2;
    }
    for (size_t i = 0; i < sizeof(scens) / sizeof(scens[0]); i++)
        if (!strcmp(argv[2], scens[i].name))
            sc = &scens[i];
    if (!sc) {
        fprintf(stderr, "unknown scenario %s\n", argv[2]);
        return 2;
    }
    prov = lc_provider_find("raweth");
    if (!prov) {
        printf("SKIP: raweth is not built in\n");
        return 77;
    }
    rc = reth_net_up(&net);
    if (rc)
        return rc;
    alarm(280); /* the signal handler removes the network */
    {
        char t[16];
        snprintf(t, sizeof(t), "%d", TIMEOUT_MS);
        setenv("LC_TIMEOUT", t, 1);
    }
    if (!strcmp(sc->name, "jumbo")) {
        CHECK(reth_net_mtu(&net, 9000) == 0, "MTU 9000");
        printf("MTU 9000 on both veth ends\n");
    }
    if (argc == 4) {
        CHECK(reth_net_shape(&net, argv[3]) == 0, "tbf rate %s", argv[3]);
        printf("shaping: tbf rate %s on both veth ends\n", argv[3]);
    }
    if (sc->netem) {
        if (reth_net_netem(&net, sc->netem) == 0) {
            printf("impairment: tc netem %s\n", sc->netem);
            netem_sc = *sc;
            netem_sc.fault = NULL;
            sc = &netem_sc;
        } else {
            printf("impairment: no netem in this kernel; LC_RAWETH_FAULT=%s on both ends\n",
                   sc->fault);
        }
    }
    if (!strcmp(sc->name, "errors")) {
        pid_t pid;
        fflush(NULL);
        pid = fork();
        if (pid == 0)
            errors_child(&net, argv[1]);
        rc = reap(pid, 60);
    } else if (!strcmp(sc->name, "kill")) {
        rc = run_pair(&net, argv[1], sc, 1); /* sender killed: the receiver must notice */
        if (rc == 0)
            rc = run_pair(&net, argv[1], sc, 0); /* and the other way round */
    } else {
        rc = run_pair(&net, argv[1], sc, -1);
    }
    printf("%s %s: %s\n", argv[1], sc->name, rc == 0 ? "PASS" : rc == 77 ? "SKIP" : "FAIL");
    reth_net_down();
    return rc;
}
