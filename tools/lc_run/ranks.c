/* ranks.c - lc_run's supervisor: starts the ranks (or the --one program),
 * forwards their output line by line (with a "[rank] " prefix on a terminal or
 * with --prefix), and stops them all when one fails, when lc_run is signalled,
 * or when --timeout expires (SIGTERM to each rank's process group, SIGKILL
 * after the grace period). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lc_run.h"

#define LCR_LINE_MAX 16384 /* longer lines are split */

typedef struct lcr_stream {
    int fd;  /* read end of the rank's pipe, -1 when closed */
    int out; /* where its lines go: STDOUT_FILENO or STDERR_FILENO */
    int prefix; /* start each line with "[rank] " */
    size_t len;
    char buf[LCR_LINE_MAX];
} lcr_stream_t;

typedef struct lcr_proc {
    pid_t pid;  /* 0 once reaped */
    pid_t pgid; /* its process group, kept after reaping */
    lcr_stream_t s[2];
} lcr_proc_t;

typedef struct lcr_sup {
    const lcr_opts_t *o;
    const lcr_net_t *net;
    int nproc;
    lcr_proc_t *p;
    int alive;
    int result;      /* exit code once decided, else -1 */
    int stopping;    /* SIGTERM sent */
    int64_t kill_at; /* when to send SIGKILL, 0: not armed */
    int64_t end_at;  /* --timeout deadline, 0: none */
} lcr_sup_t;

static int64_t lcr_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void lcr_write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);

        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return; /* reader gone: drop the output, keep supervising */
        p += w;
        n -= (size_t)w;
    }
}

/* One output line, prefixed, in a single write so lines never mix. */
static void lcr_emit(const lcr_stream_t *st, int rank, const char *line, size_t n, int add_nl)
{
    char out[LCR_LINE_MAX + 32];
    int k = st->prefix ? snprintf(out, sizeof(out), "[%d] ", rank) : 0;

    memcpy(out + k, line, n);
    if (add_nl)
        out[k + n++] = '\n';
    lcr_write_all(st->out, out, (size_t)k + n);
}

static void lcr_stream_close(lcr_stream_t *st, int rank)
{
    if (st->len)
        lcr_emit(st, rank, st->buf, st->len, 1);
    st->len = 0;
    close(st->fd);
    st->fd = -1;
}

/* Read what is there; returns 1 if more may follow, 0 at EOF or nothing left. */
static int lcr_stream_read(lcr_stream_t *st, int rank)
{
    ssize_t n = read(st->fd, st->buf + st->len, sizeof(st->buf) - st->len);
    size_t start = 0, old = st->len;

    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return 0;
    if (n <= 0) {
        lcr_stream_close(st, rank);
        return 0;
    }
    st->len += (size_t)n;
    for (size_t i = old; i < st->len; i++) {
        if (st->buf[i] == '\n') {
            lcr_emit(st, rank, st->buf + start, i + 1 - start, 0);
            start = i + 1;
        }
    }
    st->len -= start;
    memmove(st->buf, st->buf + start, st->len);
    if (st->len == sizeof(st->buf)) {
        lcr_emit(st, rank, st->buf, st->len, 1);
        st->len = 0;
    }
    return 1;
}

static void lcr_signal_all(lcr_sup_t *s, int sig)
{
    for (int r = 0; r < s->nproc; r++) {
        pid_t pid = s->p[r].pid;

        if (pid > 0 && kill(-pid, sig) < 0)
            kill(pid, sig);
    }
}

static void lcr_stop(lcr_sup_t *s)
{
    if (s->stopping)
        return;
    s->stopping = 1;
    lcr_signal_all(s, SIGTERM);
    s->kill_at = lcr_now_ms() + (int64_t)(s->o->grace_s * 1000);
}

/* "SIGTERM", or "signal 40" for those without a name. */
static const char *lcr_signame(int sig, char buf[24])
{
    const char *abbrev = sigabbrev_np(sig);

    if (abbrev)
        snprintf(buf, 24, "SIG%s", abbrev);
    else
        snprintf(buf, 24, "signal %d", sig);
    return buf;
}

static const char *lcr_who(const lcr_sup_t *s, int r, char *buf, size_t cap)
{
    if (s->o->one)
        snprintf(buf, cap, "%s", s->o->argv[0]);
    else
        snprintf(buf, cap, "rank %d", r);
    return buf;
}

static void lcr_reaped(lcr_sup_t *s, int r, int status)
{
    char who[300], sig[24];
    int code;

    s->p[r].pid = 0;
    s->alive--;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return;
    if (s->stopping || s->result >= 0)
        return; /* stopped by us, or not the first failure */
    lcr_who(s, r, who, sizeof(who));
    if (WIFEXITED(status)) {
        code = WEXITSTATUS(status);
        lcr_msg("%s exited with code %d%s", who, code,
                s->alive ? "; stopping the other ranks" : "");
    } else {
        code = 128 + WTERMSIG(status);
        lcr_msg("%s was killed by signal %d (%s)%s", who, WTERMSIG(status),
                lcr_signame(WTERMSIG(status), sig), s->alive ? "; stopping the other ranks" : "");
    }
    s->result = code;
    lcr_stop(s);
}

static void lcr_on_signal(lcr_sup_t *s, int sigfd)
{
    struct signalfd_siginfo si;
    char sig[24];
    int status;
    pid_t pid;

    while (read(sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
        if (si.ssi_signo == SIGCHLD)
            continue;
        if (!s->stopping) {
            lcr_msg("got %s; stopping all ranks", lcr_signame((int)si.ssi_signo, sig));
            if (s->result < 0)
                s->result = 128 + (int)si.ssi_signo;
            lcr_stop(s);
        } else {
            lcr_msg("got %s again; killing all ranks", lcr_signame((int)si.ssi_signo, sig));
            lcr_signal_all(s, SIGKILL);
            s->kill_at = 0;
        }
    }
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        for (int r = 0; r < s->nproc; r++)
            if (s->p[r].pid == pid)
                lcr_reaped(s, r, status);
    }
}

static void lcr_on_deadlines(lcr_sup_t *s)
{
    int64_t now = lcr_now_ms();

    if (s->end_at && now >= s->end_at) {
        s->end_at = 0;
        if (!s->stopping) {
            lcr_msg("timeout: %g s elapsed; stopping all ranks", s->o->timeout_s);
            s->result = LCR_EXIT_TIMEOUT;
            lcr_stop(s);
        }
    }
    if (s->kill_at && now >= s->kill_at) {
        s->kill_at = 0;
        lcr_msg("ranks still running %g s after SIGTERM; sending SIGKILL", s->o->grace_s);
        lcr_signal_all(s, SIGKILL);
    }
}

void lcr_place(const lcr_opts_t *o, int r, int *host, int *local, int *local_size)
{
    int h = 0;

    *host = 0;
    *local = r;
    *local_size = o->nranks;
    if (!o->rate)
        return;
    while (h < o->nhosts - 1 && r >= o->host_ranks[h])
        r -= o->host_ranks[h++];
    *host = h;
    *local = r;
    *local_size = o->host_ranks[h];
}

static void lcr_set_rank_env(const lcr_sup_t *s, int r)
{
    static const char *const vars[] = {"LC_RANK", "LC_LOCAL_RANK", "LC_LOCAL_SIZE", "LC_HOST"};
    int v[4] = {r, 0, 0, 0};

    if (s->o->one) {
        for (int i = 0; i < 4; i++)
            unsetenv(vars[i]);
        return;
    }
    lcr_place(s->o, r, &v[3], &v[1], &v[2]);
    for (int i = 0; i < 4; i++)
        lcr_setenv_int(vars[i], (unsigned long long)v[i]);
}

static void lcr_child(const lcr_sup_t *s, int r, pid_t parent, int pout[2], int perr[2])
{
    char **argv = s->o->argv;
    int argc = 0, null;

    lcr_child_prepare(parent);
    if (!s->o->one) {
        null = open("/dev/null", O_RDONLY);
        if (null >= 0)
            dup2(null, STDIN_FILENO);
        dup2(pout[1], STDOUT_FILENO);
        dup2(perr[1], STDERR_FILENO);
    }
    lcr_set_rank_env(s, r);
    if (s->net) {
        const char *ip = lcr_tool("ip");
        int host = 0, local, local_size;
        char **nargv;

        if (!s->o->one)
            lcr_place(s->o, r, &host, &local, &local_size);
        while (argv[argc])
            argc++;
        nargv = calloc((size_t)argc + 5, sizeof(*nargv));
        if (!nargv)
            _exit(127);
        nargv[0] = (char *)ip;
        nargv[1] = "netns";
        nargv[2] = "exec";
        nargv[3] = (char *)s->net->host[host];
        memcpy(nargv + 4, argv, (size_t)argc * sizeof(*argv));
        argv = nargv;
    }
    execvp(argv[0], argv);
    fprintf(stderr, "lc_run: cannot run %s: %s\n", argv[0], strerror(errno));
    _exit(127);
}

static int lcr_spawn(lcr_sup_t *s, int r)
{
    lcr_proc_t *p = &s->p[r];
    int pout[2] = {-1, -1}, perr[2] = {-1, -1};
    pid_t parent = getpid(), pid;

    if (!s->o->one && (pipe2(pout, O_CLOEXEC) < 0 || pipe2(perr, O_CLOEXEC) < 0)) {
        lcr_msg("pipe: %s", strerror(errno));
        goto fail;
    }
    pid = fork();
    if (pid < 0) {
        lcr_msg("fork: %s", strerror(errno));
        goto fail;
    }
    if (pid == 0)
        lcr_child(s, r, parent, pout, perr);
    setpgid(pid, pid); /* also done by the child; whoever is first wins */
    p->pid = pid;
    p->pgid = pid;
    s->alive++;
    if (!s->o->one) {
        close(pout[1]);
        close(perr[1]);
        p->s[0].fd = pout[0];
        p->s[1].fd = perr[0];
        fcntl(pout[0], F_SETFL, O_NONBLOCK);
        fcntl(perr[0], F_SETFL, O_NONBLOCK);
    }
    return 0;
fail:
    for (int i = 0; i < 2; i++) {
        if (pout[i] >= 0)
            close(pout[i]);
        if (perr[i] >= 0)
            close(perr[i]);
    }
    return -EIO;
}

static void lcr_loop(lcr_sup_t *s, int sigfd)
{
    struct pollfd *pf = calloc((size_t)s->nproc * 2 + 1, sizeof(*pf));
    lcr_stream_t **who = calloc((size_t)s->nproc * 2 + 1, sizeof(*who));
    int *rank = calloc((size_t)s->nproc * 2 + 1, sizeof(*rank));

    if (!pf || !who || !rank) {
        lcr_msg("out of memory; stopping all ranks");
        s->result = LCR_EXIT_USAGE;
        lcr_stop(s);
        /* Still reap everything, one signal at a time. */
        while (s->alive > 0) {
            struct pollfd one = {.fd = sigfd, .events = POLLIN};

            poll(&one, 1, 100);
            lcr_on_signal(s, sigfd);
            lcr_on_deadlines(s);
        }
        goto out;
    }
    while (s->alive > 0) {
        int n = 1, timeout = -1;
        int64_t now = lcr_now_ms();

        pf[0] = (struct pollfd){.fd = sigfd, .events = POLLIN};
        for (int r = 0; r < s->nproc; r++) {
            for (int k = 0; k < 2; k++) {
                if (s->p[r].s[k].fd < 0)
                    continue;
                pf[n] = (struct pollfd){.fd = s->p[r].s[k].fd, .events = POLLIN};
                who[n] = &s->p[r].s[k];
                rank[n++] = r;
            }
        }
        for (int i = 0; i < 2; i++) {
            int64_t at = i ? s->kill_at : s->end_at;

            if (at && (timeout < 0 || at - now < timeout))
                timeout = at > now ? (int)(at - now) : 0;
        }
        if (poll(pf, (nfds_t)n, timeout) < 0 && errno != EINTR) {
            lcr_msg("poll: %s", strerror(errno));
            break;
        }
        for (int i = 1; i < n; i++)
            if (pf[i].revents)
                lcr_stream_read(who[i], rank[i]);
        if (pf[0].revents)
            lcr_on_signal(s, sigfd);
        lcr_on_deadlines(s);
    }
out:
    free(pf);
    free(who);
    free(rank);
}

int lcr_supervise(const lcr_opts_t *o, const lcr_net_t *net, int sigfd)
{
    lcr_sup_t s = {.o = o, .net = net, .nproc = o->one ? 1 : o->nranks, .result = -1};

    s.p = calloc((size_t)s.nproc, sizeof(*s.p));
    if (!s.p) {
        lcr_msg("out of memory");
        return LCR_EXIT_USAGE;
    }
    for (int r = 0; r < s.nproc; r++)
        for (int k = 0; k < 2; k++) {
            int out = k ? STDERR_FILENO : STDOUT_FILENO;

            s.p[r].s[k] = (lcr_stream_t){.fd = -1, .out = out,
                                         .prefix = o->prefix >= 0 ? o->prefix : isatty(out)};
        }
    if (o->timeout_s > 0)
        s.end_at = lcr_now_ms() + (int64_t)(o->timeout_s * 1000);
    for (int r = 0; r < s.nproc; r++) {
        if (lcr_spawn(&s, r) < 0) {
            s.result = LCR_EXIT_USAGE;
            lcr_stop(&s);
            break;
        }
    }
    lcr_loop(&s, sigfd);
    /* Everything has exited; forward what is left in the pipes. */
    for (int r = 0; r < s.nproc; r++)
        for (int k = 0; k < 2; k++)
            while (s.p[r].s[k].fd >= 0 && lcr_stream_read(&s.p[r].s[k], r))
                ;
    for (int r = 0; r < s.nproc; r++)
        for (int k = 0; k < 2; k++)
            if (s.p[r].s[k].fd >= 0)
                lcr_stream_close(&s.p[r].s[k], r);
    /* What a rank left behind in its process group goes with it. */
    for (int r = 0; r < s.nproc; r++)
        if (s.p[r].pgid > 0)
            kill(-s.p[r].pgid, SIGKILL);
    free(s.p);
    return s.result < 0 ? 0 : s.result;
}
