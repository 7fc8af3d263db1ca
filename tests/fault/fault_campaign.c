/*
 * fault_campaign.c - injects faults into lioncub jobs on loopback and checks
 * that each one ends in a clear error within LC_TIMEOUT, never a hang, a
 * crash or a wrong result with rc 0:
 *  - peer death: p ranks as processes run one collective in a loop; a random
 *    rank other than 0 stops (SIGSTOP) or dies (SIGKILL) at a random moment;
 *    every other rank must return an error within LC_TIMEOUT (+ slack) and the
 *    communicator must refuse the next call at once; results before the fault
 *    are checked against the reference; the vote runs flat and in two levels
 *    (ranks on two emulated hosts, the ranks of a host through shared memory);
 *  - the rendezvous under attack: idle connections and garbage hellos while
 *    the job forms, a rank with another key;
 *  - API misuse: NULL and out-of-range arguments return negative codes.
 * Short form (ctest): each collective x provider x signal once. --long: p = 4,
 * REPS repetitions with random timing. Prints tried/handled counts; exits 1
 * if any case was not handled.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "coll/harness.h"
#include "internal.h"

#define TIMEOUT_MS 2000
#define SLACK_S 2.0 /* scheduling on a loaded machine, beyond LC_TIMEOUT */

/* vote-2lvl: the vote in two levels, ranks on two emulated hosts (LC_HOST), the
 * ranks of a host through shared memory */
enum { C_VOTE, C_VOTE_HIER, C_ALLREDUCE, C_ALLGATHER, C_BCAST, C_BARRIER, C_N };
static const char *const coll_names[C_N] = {"vote", "vote-2lvl", "allreduce", "allgather",
                                            "bcast", "barrier"};

/* Child exit codes. */
enum { FC_OK = 0, FC_INIT = 1, FC_WRONG = 2, FC_NOERR = 4, FC_LATE = 5, FC_REUSE = 6 };

/* Shared with the children: when the victim stopped or died, and how long after
 * it each rank returned its error. */
static volatile double *fault_time, *late_s;

static void set_env(int rank, int p, int port, const char *prov, const char *key)
{
    lc_test_env(rank, p, port, key, TIMEOUT_MS);
    setenv("LC_PROVIDER", prov, 1);
}

/* One collective on n elements, checked against what every rank contributed. */
static int run_coll(lc_comm_t *c, int coll, int rank, int p, size_t n, int iter, int *wrong)
{
    size_t bytes = n * sizeof(float);
    float *x = calloc(n + 1, sizeof(float)), *y = calloc((n + 1) * (size_t)p, sizeof(float));
    uint64_t *bits = calloc(LC_BITS_WORDS(n), 8);
    int rc = 0;

    for (size_t i = 0; i < n; i++) /* rank r's sign of element i: + when (i + r + iter) % 3 */
        x[i] = (i + (size_t)rank + (size_t)iter) % 3 ? 1.0f : -1.0f;
    switch (coll) {
    case C_VOTE:
    case C_VOTE_HIER:
        rc = lc_vote(c, x, LC_FP32, bits, LC_BITS, n, NULL);
        for (size_t i = 0; !rc && i < n; i++) {
            int plus = 0;
            for (int r = 0; r < p; r++)
                plus += (i + (size_t)r + (size_t)iter) % 3 != 0;
            /* a set bit is a majority for -1 */
            if (2 * plus != p && (int)((bits[i / 64] >> (i % 64)) & 1) != (2 * plus < p))
                *wrong = 1;
        }
        break;
    case C_ALLREDUCE:
        rc = lc_allreduce(c, x, y, n, LC_FP32, LC_SUM);
        for (size_t i = 0; !rc && i < n; i++) {
            float want = 0;
            for (int r = 0; r < p; r++)
                want += (i + (size_t)r + (size_t)iter) % 3 ? 1.0f : -1.0f;
            if (y[i] != want)
                *wrong = 1;
        }
        break;
    case C_ALLGATHER:
        rc = lc_allgather(c, x, y, bytes);
        for (int r = 0; !rc && r < p; r++)
            for (size_t i = 0; i < n; i++)
                if (y[(size_t)r * n + i] != ((i + (size_t)r + (size_t)iter) % 3 ? 1.0f : -1.0f))
                    *wrong = 1;
        break;
    case C_BCAST:
        rc = lc_bcast(c, x, bytes, 0);
        for (size_t i = 0; !rc && i < n; i++)
            if (x[i] != ((i + (size_t)iter) % 3 ? 1.0f : -1.0f))
                *wrong = 1;
        break;
    default:
        rc = lc_barrier(c);
    }
    free(x);
    free(y);
    free(bits);
    return rc;
}

static int death_child(int rank, int p, int port, const char *prov, int coll, int victim, int sig,
                       double delay)
{
    size_t n = coll == C_BARRIER ? 0 : coll == C_ALLGATHER ? (64 << 10) : (256 << 10);
    lc_comm_t *c;
    double t0;
    int wrong = 0;

    set_env(rank, p, port, prov, "campaign");
    if (coll == C_VOTE_HIER) {
        setenv("LC_HOST", rank % 2 ? "odd" : "even", 1);
        setenv("LC_HIER", "1", 1);
    }
    if (coll == C_VOTE_HIER) {
        setenv("LC_HOST", rank % 2 ? "odd" : "even", 1);
        setenv("LC_HIER", "1", 1);
    }
    if (lc_comm_init(NULL, &c))
        return FC_INIT;
    t0 = lc_now();
    for (int iter = 0; iter < 100000; iter++) {
        int rc;

        if (rank == victim && lc_now() - t0 > delay) {
            *fault_time = lc_now();
            raise(sig); /* SIGSTOP: the parent kills it at the end */
        }
        rc = run_coll(c, coll, rank, p, n, iter, &wrong);
        if (wrong)
            return FC_WRONG;
        if (rc) {
            double late = *fault_time > 0 ? lc_now() - *fault_time : 0;

            if (*fault_time == 0) {
                fprintf(stderr, "rank %d: error before the fault: %s\n", rank, lc_last_error());
                return FC_NOERR;
            }
            late_s[rank] = late;
            if (run_coll(c, coll, rank, p, n, iter + 1, &wrong) == 0)
                return FC_REUSE;
            lc_comm_destroy(c);
            return late < TIMEOUT_MS / 1000.0 + SLACK_S ? FC_OK : FC_LATE;
        }
        if (*fault_time > 0 && lc_now() - *fault_time > TIMEOUT_MS / 1000.0 + 10)
            break;
    }
    lc_comm_destroy(c);
    return FC_NOERR;
}

/* Wait for pid until the deadline; a child still there then is a hang (killed). */
static int reap(pid_t pid, double deadline, int *hung)
{
    int st;

    while (lc_now() < deadline) {
        if (waitpid(pid, &st, WNOHANG) == pid)
            return st;
        usleep(20000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
    *hung = 1;
    return st;
}

static uint64_t rng = 0x5eed;

static int death_case(const char *prov, int coll, int sig, int p)
{
    int port = lc_test_free_port(), victim = 1 + (int)(lc_test_rand(&rng) % (uint64_t)(p - 1));
    double delay = 0.05 + (double)(lc_test_rand(&rng) % 300) / 1000.0, deadline;
    pid_t pid[16];
    int ok = 1, hung = 0;
    double worst = 0;
    char why[256] = "";

    *fault_time = 0;
    for (int r = 0; r < p; r++)
        late_s[r] = 0;
    fflush(NULL);
    for (int r = 0; r < p; r++) {
        pid[r] = fork();
        if (pid[r] == 0)
            _exit(death_child(r, p, port, prov, coll, victim, sig, delay));
    }
    deadline = lc_now() + 30 + delay + 3 * TIMEOUT_MS / 1000.0;
    for (int r = 0; r < p; r++) {
        int st;

        if (r == victim) {
            if (sig == SIGSTOP) { /* wait until the others are done, then end it */
                continue;
            }
            st = reap(pid[r], deadline, &hung);
            if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGKILL)
                ok = 0, snprintf(why, sizeof(why), "victim rank %d did not die", r);
            continue;
        }
        st = reap(pid[r], deadline, &hung);
        if (hung || !WIFEXITED(st) || WEXITSTATUS(st) != FC_OK) {
            ok = 0;
            snprintf(why + strlen(why), sizeof(why) - strlen(why), " rank %d: %s %d;", r,
                     hung ? "hang" : WIFEXITED(st) ? "exit" : "signal",
                     hung ? 0 : WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
        }
    }
    if (sig == SIGSTOP) {
        kill(pid[victim], SIGKILL);
        waitpid(pid[victim], NULL, 0);
    }
    for (int r = 0; r < p; r++)
        worst = late_s[r] > worst ? late_s[r] : worst;
    printf("  %-6s %-9s %-7s p=%d victim %d at %.2f s: %s%s (last error %.2f s after)\n", prov,
           coll_names[coll], sig == SIGKILL ? "SIGKILL" : "SIGSTOP", p, victim, delay,
           ok ? "handled" : "NOT HANDLED:", why, worst);
    return ok;
}

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
static int boot_child(int rank, int p, int port, const char *prov)
{
    lc_comm_t *c;
    int wrong = 0, rc;

    if (rank == p - 1) {
        set_env(rank, p, port, prov, "not-the-key");
        if (lc_comm_init(NULL, &c) != LC_ERR_JOB_KEY)
            return FC_WRONG;
    }
    set_env(rank, p, port, prov, "campaign");
    if (lc_comm_init(NULL, &c))
        return FC_INIT;
    rc = run_coll(c, C_VOTE, rank, p, 4096, 0, &wrong);
    lc_comm_destroy(c);
    return rc ? FC_NOERR : wrong ? FC_WRONG : FC_OK;
}

static int boot_case(const char *prov, int p, int nidle)
{
    int port = lc_test_free_port(), ok = 1, hung = 0, fds[256], nfd = 0;
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
    deadline = lc_now() + 30 + 3 * TIMEOUT_MS / 1000.0;
    for (int r = 0; r < p; r++) {
        int st = reap(pid[r], deadline, &hung);
        if (hung || !WIFEXITED(st) || WEXITSTATUS(st) != FC_OK) {
            ok = 0;
            snprintf(why + strlen(why), sizeof(why) - strlen(why), " rank %d: %s %d;", r,
                     hung ? "hang" : WIFEXITED(st) ? "exit" : "signal",
                     hung ? 0 : WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
        }
    }
    for (int i = 0; i < nfd; i++)
        close(fds[i]);
    printf("  %-6s rendezvous: %d idle/garbage connections, a rank with another key: %s%s\n",
           prov, nfd, ok ? "handled" : "NOT HANDLED:", why);
    return ok;
}

/* API misuse in one process: every call returns a negative code, nothing crashes. */
static int misuse_case(void)
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
    return !bad;
}

int main(int argc, char **argv)
{
    int longform = argc > 1 && !strcmp(argv[1], "--long"), reps = longform ? 5 : 1;
    int p = longform ? 4 : 3, tried = 0, handled = 0;
    const char *provs[2] = {"tcp", NULL};

    if (argc > 2 || (argc == 2 && !longform)) {
        fprintf(stderr, "usage: %s [--long]\n", argv[0]);
        return 2;
    }
    if (lc_provider_find("ofi"))
        provs[1] = "ofi";
    fault_time = mmap(NULL, 17 * sizeof(double), PROT_READ | PROT_WRITE,
                      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (fault_time == MAP_FAILED)
        return 1;
    late_s = fault_time + 1;
    printf("fault campaign (%s form): LC_TIMEOUT %d ms\n", longform ? "long" : "short",
           TIMEOUT_MS);
    for (int rep = 0; rep < reps; rep++)
        for (int i = 0; i < 2 && provs[i]; i++)
            for (int coll = 0; coll < C_N; coll++)
                for (int s = 0; s < 2; s++) {
                    tried++;
                    handled += death_case(provs[i], coll, s ? SIGSTOP : SIGKILL, p);
                }
    for (int i = 0; i < 2 && provs[i]; i++) {
        tried++;
        handled += boot_case(provs[i], p, longform ? 200 : 80);
    }
    tried++;
    handled += misuse_case();
    printf("tried %d, handled %d\n", tried, handled);
    return handled == tried ? 0 : 1;
}
