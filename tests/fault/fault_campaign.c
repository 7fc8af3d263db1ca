/*
 * fault_campaign.c - injects faults into lioncub jobs and checks that each
 * one ends in a clear error within LC_TIMEOUT, or (where the job can go on)
 * in results that are all exact; never a hang, a crash or a wrong result with
 * rc 0 (fault_case.c runs one case):
 *  - on loopback: peer death (SIGKILL, SIGSTOP) in each collective over tcp
 *    and ofi; the rendezvous under attack (idle connections and garbage
 *    hellos while the job forms, a rank with another key); API misuse;
 *  - on lc_run's emulated Ethernet (the campaign runs itself again as
 *    lc_run --net --one, one namespace per rank): a rank's link down (back up
 *    before LC_TIMEOUT or not) and 30% loss on it, over tcp, ofi and raweth
 *    (fault_net.c); raweth peer death; raweth frames forged on the segment
 *    (fault_forge.c). Skipped, with a message, without root and namespaces.
 * Short form (ctest), p = 3: on loopback each collective once per provider,
 * the signals in turn; on the emulated network each fault once per provider,
 * the collectives in turn. --long: p = 4, every collective x provider x fault,
 * REPS times, at random moments. --only KIND: the cases of one kind. Prints
 * each case, a table per kind, tried/handled; exits 1 if any case was not
 * handled.
 */
#include <arpa/inet.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "coll/harness.h"
#include "fault.h"
#include "internal.h"
#include "netns_check.h"

#define REPS     4       /* --long */
#define NET_RATE "1gbit" /* each host's link on lc_run's network */

static int connect_lo(int port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a))) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Ranks join while an attacker holds idle connections and sends garbage; one rank
 * first tries another key. Every real rank must join and vote correctly. */
static void set_env(int rank, int p, int port, const char *prov, const char *key)
{
    lc_test_env(rank, p, port, key, FC_TIMEOUT_MS);
    setenv("LC_PROVIDER", prov, 1);
}

static int boot_child(int rank, int p, int port, const char *prov)
{
    lc_comm_t *c;
    int wrong = 0, rc;

    if (rank == p - 1) {
        set_env(rank, p, port, prov, "not-the-key");
        if (lc_comm_init(NULL, &c) != LC_ERR_JOB_KEY)
            return R_WRONG;
    }
    set_env(rank, p, port, prov, "campaign");
    if (lc_comm_init(NULL, &c))
        return R_INIT;
    rc = fc_run_coll(c, C_VOTE, rank, p, 4096, 0, &wrong);
    lc_comm_destroy(c);
    return rc ? R_FAILED : wrong ? R_WRONG : R_EXACT;
}

static void boot_case(const char *prov, int p, int nidle)
{
    int port = lc_test_free_port(), ok = 1, hung = 0, fds[256], nfd = 0, crashes = 0, wrong = 0;
    fc_row_t *row = fc_row("rendezvous attacks");
    char why[256] = "";
    double deadline;
    pid_t pid[16];

    fflush(NULL);
    for (int r = 0; r < p; r++) {
        pid[r] = fork();
        if (pid[r] == 0)
            _exit(boot_child(r, p, port, prov));
    }
    for (double t0 = lc_now(); nfd < nidle && lc_now() - t0 < 5;) {
        int fd = connect_lo(port);

        if (fd < 0) {
            usleep(10000);
            continue;
        }
        if (nfd % 2) /* every other one sends garbage the size of a hello */
            for (int i = 0; i < 4; i++)
                (void)!send(fd, "garbage hello garbage hello garbage hello garbage hello ", 56,
                            MSG_NOSIGNAL); /* the root may have closed it already */
        fds[nfd++] = fd;
    }
    deadline = lc_now() + 30 + 3 * FC_TIMEOUT_MS / 1000.0;
    for (int r = 0; r < p; r++) {
        int st = fc_reap(pid[r], deadline, &hung);

        crashes += !hung && WIFSIGNALED(st);
        wrong += !hung && WIFEXITED(st) && WEXITSTATUS(st) == R_WRONG;
        if (hung || !WIFEXITED(st) || WEXITSTATUS(st) != R_EXACT) {
            ok = 0;
            snprintf(why + strlen(why), sizeof(why) - strlen(why), " rank %d: %s %d;", r,
                     hung            ? "hang"
                     : WIFEXITED(st) ? "exit"
                                     : "signal",
                     hung            ? 0
                     : WIFEXITED(st) ? WEXITSTATUS(st)
                                     : WTERMSIG(st));
        }
    }
    for (int i = 0; i < nfd; i++)
        close(fds[i]);
    printf("  %-6s rendezvous: %d idle/garbage connections, a rank with another key: %s%s\n", prov,
           nfd, ok ? "handled" : "NOT HANDLED:", why);
    row->tried++;
    row->handled += ok;
    row->hangs += hung;
    row->crashes += crashes;
    row->wrong += wrong;
}

/* API misuse in one process: every call returns a negative code, nothing crashes. */
static void misuse_case(void)
{
    lc_comm_config_t cfg = {.size = sizeof(cfg), .rank = 0, .nranks = 1};
    lc_comm_t *c = NULL;
    float x[8] = {0}, y[8];
    uint64_t bits[1];
    int bad = 0;

    unsetenv("LC_ROOT");
    setenv("LC_PROVIDER", "tcp", 1);
    bad += lc_comm_init(&cfg, &c) != 0;
    bad += lc_vote(NULL, x, LC_FP32, bits, LC_BITS, 8, NULL) >= 0;
    bad += lc_vote(c, NULL, LC_FP32, bits, LC_BITS, 8, NULL) >= 0;
    bad += lc_vote(c, x, (lc_dtype_t)99, bits, LC_BITS, 8, NULL) >= 0;
    bad += lc_allreduce(c, x, y, SIZE_MAX / 2, LC_FP32, LC_SUM) >= 0;
    bad += lc_allreduce(c, x, NULL, 8, LC_FP32, LC_SUM) >= 0;
    bad += lc_allreduce(c, x, y, 8, LC_FP32, (lc_op_t)7) >= 0;
    bad += lc_allgather(c, x, y, SIZE_MAX / 2) >= 0;
    bad += lc_bcast(c, x, sizeof(x), 5) >= 0;
    bad += lc_bcast(c, NULL, sizeof(x), 0) >= 0;
    bad += lc_barrier(NULL) >= 0;
    bad += lc_comm_init(NULL, NULL) >= 0;
    cfg.size = 1;
    {
        lc_comm_t *c2 = NULL;
        bad += lc_comm_init(&cfg, &c2) >= 0 || c2 != NULL;
    }
    printf("  api misuse: 12 calls with bad arguments: %s\n", bad ? "NOT HANDLED" : "handled");
    lc_comm_destroy(c);
    fc_row("API misuse (12 calls)")->tried++;
    fc_row("API misuse (12 calls)")->handled += !bad;
}

/* Every collective over prov with each fault of faults[] (the long form), or
 * nshort cases, fault and collective in turn, collectives continuing from the
 * previous call's (the short form). */
static void run_faults(const char *prov, const int *faults, int nf, int nshort, int p, int longform,
                       const fc_net_t *net, uint64_t *rng)
{
    static int next_coll;

    for (int i = 0; i < (longform ? C_N * nf : nshort); i++) {
        fc_case_t k = {.prov = prov, .p = p, .net = net};

        k.coll = longform ? i / nf : next_coll++ % C_N;
        k.fault = faults[i % nf];
        fc_run_case(&k, rng);
    }
}

/* As lc_run's --one program: the cases on its emulated network. */
static int net_main(int longform, int p)
{
    static const int ip_faults[] = {F_DOWN, F_LOSS};
    static const int reth_faults[] = {F_KILL, F_STOP, F_DOWN, F_LOSS, F_FORGE};
    uint64_t rng = 0x5eed2;
    fc_net_t net;

    if (fc_net_from_env(&net) || net.nhosts != p)
        return 1;
    for (int rep = 0; rep < (longform ? REPS : 1); rep++) {
        run_faults("tcp", ip_faults, 2, 2, p, longform, &net, &rng);
        if (lc_provider_find("ofi"))
            run_faults("ofi", ip_faults, 2, 2, p, longform, &net, &rng);
        if (lc_provider_find("raweth"))
            run_faults("raweth", reth_faults, 5, 5, p, longform, &net, &rng);
    }
    return 0; /* the parent judges the cases from their rows */
}

/* Run this program again as lc_run --net --one --in-net; 0 when every case
 * there was handled or the cases cannot run here (said why). */
static int run_net_part(int longform, int p, int shmfd)
{
    char exe[PATH_MAX], lc_run[PATH_MAX + 16], np[16], fd[16];
    const char *bin = getenv("LC_BIN");
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    pid_t pid;
    int st;

    if (n <= 0)
        return 1;
    exe[n] = 0;
    if (bin)
        snprintf(lc_run, sizeof(lc_run), "%s/lc_run", bin);
    else /* build/tests/fault_campaign: build/bin/lc_run */
        snprintf(lc_run, sizeof(lc_run), "%.*s/../bin/lc_run", (int)(strrchr(exe, '/') - exe), exe);
    if (!lc_test_can_make_netns()) {
        printf("SKIP: the cases on an emulated network (link down, loss, raweth, forgery) need "
               "root and network namespaces\n");
        return 0;
    }
    if (access(lc_run, X_OK)) {
        printf("SKIP: the cases on an emulated network need lc_run, not found at %s\n", lc_run);
        return 0;
    }
    snprintf(np, sizeof(np), "%d", p);
    snprintf(fd, sizeof(fd), "%d", shmfd);
    fflush(NULL);
    pid = fork();
    if (pid == 0) {
        setenv("FAULT_CAMPAIGN_SHM", fd, 1);
        execl(lc_run, "lc_run", "--net", NET_RATE, "-n", np, "--one", "--timeout",
              longform ? "2400" : "300", "--", exe, "--in-net", longform ? "--long" : NULL,
              (char *)NULL);
        perror(lc_run);
        _exit(127);
    }
    if (pid < 0 || waitpid(pid, &st, 0) != pid)
        return 1;
    if (!WIFEXITED(st) || WEXITSTATUS(st)) {
        printf("the cases on the emulated network: lc_run ended with %s %d\n",
               WIFEXITED(st) ? "exit" : "signal", WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
        return 1;
    }
    return 0;
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;

    return (x > y) - (x < y);
}

static void print_table(void)
{
    printf("\n| cases | tried | handled | hangs | crashes | wrong results with rc 0 | "
           "ended exact / in an error | fault to last error: median (max) |\n"
           "|---|---|---|---|---|---|---|---|\n");
    for (int i = 0; i < fc_sh->nrows; i++) {
        fc_row_t *r = &fc_sh->rows[i];
        char ends[32] = "", lat[48] = "";

        if (r->exact + r->errors)
            snprintf(ends, sizeof(ends), "%d / %d", r->exact, r->errors);
        if (r->nlat) {
            qsort(r->lat, (size_t)r->nlat, sizeof(float), cmp_float);
            snprintf(lat, sizeof(lat), "%.2f s (%.2f)", r->lat[r->nlat / 2], r->lat[r->nlat - 1]);
        }
        printf("| %s | %d | %d | %d | %d | %d | %s | %s |\n", r->name, r->tried, r->handled,
               r->hangs, r->crashes, r->wrong, ends, lat);
    }
}

int main(int argc, char **argv)
{
    static const int deaths[] = {F_KILL, F_STOP};
    int longform = 0, in_net = 0, tried = 0, handled = 0, shmfd, net_bad;
    const char *fdenv = getenv("FAULT_CAMPAIGN_SHM"), *only = NULL;
    uint64_t rng = 0x5eed;
    double t0 = lc_now();
    int p;

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--long"))
            longform = 1;
        else if (!strcmp(argv[i], "--only") && i + 1 < argc && strlen(argv[i + 1]) < 48)
            only = argv[++i];
        else if (!strcmp(argv[i], "--in-net") && fdenv)
            in_net = 1;
        else {
            fprintf(stderr,
                    "usage: %s [--long] [--only KIND] (KIND: part of a kind, as "
                    "\"link down, ofi\")\n",
                    argv[0]);
            return 2;
        }
    }
    p = longform ? 4 : 3;
    shmfd = in_net ? atoi(fdenv) : memfd_create("fault_campaign", 0);
    if (shmfd < 0 || (!in_net && ftruncate(shmfd, sizeof(fc_shared_t))))
        return 1;
    fc_sh = mmap(NULL, sizeof(fc_shared_t), PROT_READ | PROT_WRITE, MAP_SHARED, shmfd, 0);
    if (fc_sh == MAP_FAILED)
        return 1;
    if (in_net)
        return net_main(longform, p);
    if (only)
        strcpy(fc_sh->only, only);
    printf("fault campaign (%s form): LC_TIMEOUT %d ms\n", longform ? "long" : "short",
           FC_TIMEOUT_MS);
    for (int rep = 0; rep < (longform ? REPS : 1); rep++) {
        run_faults("tcp", deaths, 2, C_N, p, longform, NULL, &rng);
        if (lc_provider_find("ofi"))
            run_faults("ofi", deaths, 2, C_N, p, longform, NULL, &rng);
    }
    if (!only) {
        boot_case("tcp", p, longform ? 200 : 80);
        if (lc_provider_find("ofi"))
            boot_case("ofi", p, longform ? 200 : 80);
        misuse_case();
    }
    net_bad = run_net_part(longform, p, shmfd);
    print_table();
    for (int i = 0; i < fc_sh->nrows; i++) {
        tried += fc_sh->rows[i].tried;
        handled += fc_sh->rows[i].handled;
    }
    printf("tried %d, handled %d in %.0f s\n", tried, handled, lc_now() - t0);
    return handled == tried && !net_bad ? 0 : 1;
}
