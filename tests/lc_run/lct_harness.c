/* lct_harness.c - runs lc_run for the tests: output captured through pipes,
 * a watchdog so a hung launcher fails the test instead of hanging it, and
 * helpers to inspect namespaces and processes afterwards. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lct_harness.h"

const char *lct_lc_run, *lct_probe;

void lct_init(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s LC_RUN PROBE\n", argv[0]);
        exit(2);
    }
    lct_lc_run = argv[1];
    lct_probe = argv[2];
    signal(SIGPIPE, SIG_IGN);
}

static double lct_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int lct_start(char *const argv[], lct_proc_t *p)
{
    int po[2], pe[2];

    memset(p, 0, sizeof(*p));
    if (pipe2(po, O_CLOEXEC) < 0)
        return -errno;
    if (pipe2(pe, O_CLOEXEC) < 0) {
        close(po[0]);
        close(po[1]);
        return -errno;
    }
    p->t0 = lct_now();
    p->pid = fork();
    if (p->pid == 0) {
        dup2(po[1], STDOUT_FILENO);
        dup2(pe[1], STDERR_FILENO);
        signal(SIGPIPE, SIG_DFL);
        execv(argv[0], argv);
        _exit(126);
    }
    close(po[1]);
    close(pe[1]);
    p->fd[0] = po[0];
    p->fd[1] = pe[0];
    for (int k = 0; k < 2; k++)
        p->buf[k] = calloc(1, 1);
    return p->pid < 0 ? -EIO : 0;
}

/* Read whatever arrives within ms milliseconds. */
static void lct_pump(lct_proc_t *p, int ms)
{
    struct pollfd pf[2];
    int n = 0, idx[2];

    for (int k = 0; k < 2; k++) {
        if (p->fd[k] >= 0) {
            pf[n] = (struct pollfd){.fd = p->fd[k], .events = POLLIN};
            idx[n++] = k;
        }
    }
    if (!n) {
        usleep((useconds_t)ms * 1000);
        return;
    }
    if (poll(pf, (nfds_t)n, ms) <= 0)
        return;
    for (int i = 0; i < n; i++) {
        int k = idx[i];
        char chunk[4096];
        ssize_t r;

        if (!pf[i].revents)
            continue;
        r = read(p->fd[k], chunk, sizeof(chunk));
        if (r <= 0) {
            close(p->fd[k]);
            p->fd[k] = -1;
            continue;
        }
        p->buf[k] = realloc(p->buf[k], p->len[k] + (size_t)r + 1);
        memcpy(p->buf[k] + p->len[k], chunk, (size_t)r);
        p->len[k] += (size_t)r;
        p->buf[k][p->len[k]] = '\0';
    }
}

int lct_wait_for(lct_proc_t *p, const char *needle, int count, double timeout)
{
    double end = lct_now() + timeout;
    int seen;

    while ((seen = lct_count(p->buf[0], needle)) < count && lct_now() < end &&
           (p->fd[0] >= 0 || p->fd[1] >= 0))
        lct_pump(p, 50);
    return seen;
}

void lct_finish(lct_proc_t *p, double timeout, lct_result_t *res)
{
    double end = p->t0 + timeout;
    int status = 0, killed = 0;
    pid_t w;

    while ((w = waitpid(p->pid, &status, WNOHANG)) == 0) {
        if (lct_now() > end && !killed) {
            fprintf(stderr, "watchdog: lc_run still running after %.1f s; killing it\n", timeout);
            kill(p->pid, SIGKILL);
            killed = 1;
        }
        lct_pump(p, 20);
    }
    /* Output written before exit is in the pipes; read it to EOF (bounded). */
    for (int i = 0; i < 100 && (p->fd[0] >= 0 || p->fd[1] >= 0); i++)
        lct_pump(p, 20);
    for (int k = 0; k < 2; k++)
        if (p->fd[k] >= 0)
            close(p->fd[k]);
    res->secs = lct_now() - p->t0;
    res->pid = p->pid;
    res->out = p->buf[0];
    res->err = p->buf[1];
    if (killed || w < 0)
        res->rc = -1;
    else if (WIFEXITED(status))
        res->rc = WEXITSTATUS(status);
    else
        res->rc = 128 + WTERMSIG(status);
    /* Show what happened, for the ctest log. */
    fprintf(stderr, "--- rc=%d in %.2f s; stdout:\n%s--- stderr:\n%s---\n", res->rc, res->secs,
            res->out, res->err);
}

void lct_run(char *const argv[], double timeout, lct_result_t *res)
{
    lct_proc_t p;

    memset(res, 0, sizeof(*res));
    if (lct_start(argv, &p) < 0) {
        res->rc = -1;
        res->out = calloc(1, 1);
        res->err = calloc(1, 1);
        return;
    }
    lct_finish(&p, timeout, res);
}

void lct_result_free(lct_result_t *res)
{
    free(res->out);
    free(res->err);
    res->out = res->err = NULL;
}

int lct_count(const char *hay, const char *needle)
{
    int n = 0;
    size_t len = strlen(needle);

    for (const char *s = hay; (s = strstr(s, needle)); s += len)
        n++;
    return n;
}

int lct_netns_count(pid_t pid)
{
    static const char *const ips[] = {"/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"};
    const char *ip = "ip";
    char cmd[64], line[256], name[32];
    int n = 0;
    FILE *f;

    for (size_t i = 0; i < sizeof(ips) / sizeof(ips[0]); i++)
        if (access(ips[i], X_OK) == 0) {
            ip = ips[i];
            break;
        }
    snprintf(cmd, sizeof(cmd), "%s netns list", ip);
    snprintf(name, sizeof(name), "lc%d", (int)pid);
    f = popen(cmd, "r");
    if (!f)
        return -1;
    while (fgets(line, sizeof(line), f)) {
        size_t k = strlen(name);

        /* "lc<pid>s" or "lc<pid>h<r>", possibly followed by " (id: N)" */
        if (strncmp(line, name, k) == 0 && (line[k] == 's' || line[k] == 'h'))
            n++;
    }
    return pclose(f) == 0 ? n : -1;
}

int lct_gone(pid_t pid)
{
    return kill(pid, 0) < 0 && errno == ESRCH;
}

int lct_pids(const char *out, pid_t *pids, int n)
{
    int k = 0;

    for (const char *s = out; k < n && (s = strstr(s, "pid=")); s += 4)
        pids[k++] = (pid_t)atoi(s + 4);
    return k;
}
