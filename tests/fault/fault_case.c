/*
 * fault_case.c - one injected case of the fault campaign: p ranks as
 * processes (each in its host's namespace when the case runs on lc_run's
 * emulated network) run one collective in a loop, checked against the
 * reference; the parent injects the fault at a random moment and judges every
 * rank's exit. Peer death and a link that stays down must end in a clear
 * error within LC_TIMEOUT + slack on every rank still running, with the
 * communicator refusing the next call; a link that comes back, 30% loss and
 * forged frames may also end with every result exact (rank 0 ends those
 * cases: a 4-byte bcast before each collective carries its stop flag).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "coll/harness.h"
#include "fault.h"
#include "internal.h"
#include "netns_check.h"

fc_shared_t *fc_sh;
const char *const fc_coll_names[C_N] = {"vote",      "vote-2lvl", "allreduce",
                                        "allgather", "bcast",     "barrier"};
const char *const fc_fault_names[F_N] = {"SIGKILL", "SIGSTOP", "link down", "loss 30%", "forgery"};

int fc_run_coll(lc_comm_t *c, int coll, int rank, int p, size_t n, int iter, int *wrong)
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

/* A rank: loops over the collective until an error, or until rank 0 stops the
 * case (may_recover). bound: seconds from the fault within which an error must
 * come. */
static int rank_main(const fc_case_t *k, int rank, int port, int may_recover, double bound)
{
    size_t n = k->coll == C_BARRIER ? 0 : k->coll == C_ALLGATHER ? (64 << 10) : (256 << 10);
    lc_comm_t *c;
    int wrong = 0;

    lc_test_env(rank, k->p, port, "campaign", FC_TIMEOUT_MS);
    setenv("LC_PROVIDER", k->prov, 1);
    if (k->coll == C_VOTE_HIER) {
        setenv("LC_HOST", rank % 2 ? "odd" : "even", 1);
        setenv("LC_HIER", "1", 1);
    }
    if (k->net) {
        char root[64];

        if (lc_test_enter_netns(k->net->host[rank]))
            return R_INIT;
        snprintf(root, sizeof(root), "%s:%d", k->net->addr[0], port);
        setenv("LC_ROOT", root, 1);
    }
    if (lc_comm_init(NULL, &c))
        return R_INIT;
    for (int iter = 0; iter < 100000; iter++) {
        int rc = 0, stop = 0;

        fc_sh->iter[rank] = iter + 1;
        if (may_recover) {
            stop = rank == 0 && fc_sh->stop;
            rc = lc_bcast(c, &stop, sizeof(stop), 0);
            if (!rc && stop)
                break;
        }
        if (!rc)
            rc = fc_run_coll(c, k->coll, rank, k->p, n, iter, &wrong);
        if (wrong)
            return R_WRONG;
        if (rc) {
            double late = lc_now() - fc_sh->fault_time;

            if (fc_sh->fault_time == 0) {
                fprintf(stderr, "rank %d: error before the fault: %s\n", rank, lc_last_error());
                return R_EARLY;
            }
            fc_sh->late[rank] = late;
            if (fc_run_coll(c, k->coll, rank, k->p, n, iter + 1, &wrong) == 0)
                return R_REUSE;
            lc_comm_destroy(c);
            return late < bound ? R_FAILED : R_LATE;
        }
        if (!may_recover && fc_sh->fault_time > 0 && lc_now() - fc_sh->fault_time > bound + 10)
            break;
    }
    lc_comm_destroy(c);
    return may_recover ? R_EXACT : R_NOERR;
}

int fc_reap(pid_t pid, double deadline, int *hung)
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

fc_row_t *fc_row(const char *name)
{
    for (int i = 0; i < fc_sh->nrows; i++)
        if (!strcmp(fc_sh->rows[i].name, name))
            return &fc_sh->rows[i];
    if (fc_sh->nrows == FC_MAX_ROWS)
        abort(); /* a programming error: raise FC_MAX_ROWS */
    snprintf(fc_sh->rows[fc_sh->nrows].name, sizeof(fc_sh->rows[0].name), "%s", name);
    return &fc_sh->rows[fc_sh->nrows++];
}

/* Sleep s seconds, or less once any child has ended (it is judged below). */
static void wait_or_exit(double s)
{
    siginfo_t si;

    for (double end = lc_now() + s; lc_now() < end; usleep(10000)) {
        si.si_pid = 0;
        if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid)
            return;
    }
}

/* Inject the fault (on = 1) or undo what is left of it (on = 0). */
static int inject(const fc_case_t *k, int victim, pid_t vpid, int on, pid_t *forger)
{
    switch (k->fault) {
    case F_KILL:
    case F_STOP:
        return kill(vpid, on ? (k->fault == F_KILL ? SIGKILL : SIGSTOP) : SIGKILL);
    case F_DOWN:
        return fc_net_link(k->net, victim, !on);
    case F_LOSS:
        return fc_net_loss(k->net, victim, on);
    default:
        if (on)
            return (*forger = fc_forger_start(k->net)) > 0 ? 0 : -1;
        if (*forger > 0) {
            kill(*forger, SIGKILL);
            waitpid(*forger, NULL, 0);
        }
        return 0;
    }
}

void fc_run_case(const fc_case_t *k, uint64_t *rng)
{
    int p = k->p, port = lc_test_free_port(), ok = 1, injected = 0, exact = 1;
    int hangs = 0, crashes = 0, wrong = 0;
    int death = k->fault == F_KILL || k->fault == F_STOP;
    int victim = death ? 1 + (int)(lc_test_rand(rng) % (uint64_t)(p - 1))
                       : (int)(lc_test_rand(rng) % (uint64_t)p);
    double delay = 0.05 + (double)(lc_test_rand(rng) % 300) / 1000.0, hold = 0, worst = 0;
    int back_up = k->fault == F_DOWN && lc_test_rand(rng) % 2;
    int may_recover = k->fault == F_LOSS || k->fault == F_FORGE || back_up;
    char why[256] = "", name[64];
    pid_t pid[FC_MAX_P], forger = -1;
    fc_row_t *row;

    snprintf(name, sizeof(name), "%s, %s", fc_fault_names[k->fault], k->prov);
    if (fc_sh->only[0] && !strstr(name, fc_sh->only))
        return;
    if (back_up) /* down for 0.2 to 1.5 s, less than LC_TIMEOUT */
        hold = 0.2 + (double)(lc_test_rand(rng) % 1300) / 1000.0;
    else if (may_recover)
        hold = 1.5;
    fc_sh->fault_time = 0;
    fc_sh->stop = 0;
    fc_sh->forged = 0;
    for (int r = 0; r < p; r++)
        fc_sh->late[r] = 0, fc_sh->iter[r] = 0;
    fflush(NULL);
    for (int r = 0; r < p; r++) {
        pid[r] = fork();
        if (pid[r] == 0)
            _exit(rank_main(k, r, port, may_recover,
                            hold + (back_up ? 0.5 : 0) + FC_TIMEOUT_MS / 1000.0 + FC_SLACK_S));
    }
    /* the job has formed and runs its first collective; then a random moment */
    for (double end = lc_now() + 30; fc_sh->iter[0] < 1 && lc_now() < end;)
        wait_or_exit(0.01);
    wait_or_exit(delay);
    fc_sh->fault_time = lc_now();
    if (inject(k, victim, pid[victim], 1, &forger))
        snprintf(why, sizeof(why), " could not inject the fault;");
    else
        injected = 1;
    if (may_recover) { /* the fault lasts hold seconds, then rank 0 ends the case */
        wait_or_exit(hold);
        if (injected && !inject(k, victim, pid[victim], 0, &forger))
            injected = 0;
        if (back_up)
            wait_or_exit(0.5); /* the job goes on over the link back up */
        fc_sh->stop = 1;
    }
    for (int r = 0; r < p; r++) {
        double deadline = fc_sh->fault_time + hold + 20 + 3 * FC_TIMEOUT_MS / 1000.0;
        int st, hung = 0, code;

        if (death && r == victim)
            continue;
        st = fc_reap(pid[r], deadline, &hung);
        code = !hung && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
        exact &= code == R_EXACT;
        hangs += hung;
        crashes += !hung && (code < 0 || (code != R_EXACT && (code < R_WRONG || code > R_LAST)));
        wrong += code == R_WRONG;
        if (code == R_FAILED || (may_recover && code == R_EXACT))
            continue;
        ok = 0;
        if (hung)
            code = 0;
        else if (code < 0)
            code = WTERMSIG(st);
        snprintf(why + strlen(why), sizeof(why) - strlen(why), " rank %d: %s %d;", r,
                 hung            ? "hang"
                 : WIFEXITED(st) ? "exit"
                                 : "signal",
                 code);
    }
    if (injected || death)
        inject(k, victim, pid[victim], 0, &forger);
    if (death) {
        int st;

        waitpid(pid[victim], &st, 0);
        if (k->fault == F_KILL && (!WIFSIGNALED(st) || WTERMSIG(st) != SIGKILL))
            ok = 0, snprintf(why + strlen(why), sizeof(why) - strlen(why),
                             " victim rank %d did not die;", victim);
    }
    for (int r = 0; r < p; r++)
        worst = fc_sh->late[r] > worst ? fc_sh->late[r] : worst;
    row = fc_row(name);
    row->hangs += hangs;
    row->crashes += crashes;
    row->wrong += wrong;
    row->tried++;
    row->handled += ok;
    row->exact += ok && exact && may_recover;
    row->errors += ok && !exact && may_recover;
    if (!exact && worst > 0 && row->nlat < FC_MAX_LAT)
        row->lat[row->nlat++] = (float)worst;
    printf("  %-6s %-9s %-9s p=%d ", k->prov, fc_coll_names[k->coll], fc_fault_names[k->fault], p);
    if (k->fault == F_FORGE)
        printf("on the segment at %.2f s, %d frames", delay, fc_sh->forged);
    else
        printf("rank %d at %.2f s", victim, delay);
    if (back_up)
        printf(", up %.2f s later", hold);
    printf(": %s%s", ok ? "handled" : "NOT HANDLED:", why);
    if (exact && may_recover)
        printf(" (every result exact)\n");
    else
        printf(" (last error %.2f s after)\n", worst);
}
