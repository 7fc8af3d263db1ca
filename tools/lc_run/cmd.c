/* cmd.c - lc_run helpers: messages, environment values, running ip/tc with
 * argv arrays (never a shell), and the common setup of every child process. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lc_run.h"

void lcr_msg(const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    int n;

    n = snprintf(line, sizeof(line), "lc_run: ");
    va_start(ap, fmt);
    vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
    va_end(ap);
    strcat(line, "\n");
    /* One write per message so it does not interleave with rank output. */
    if (write(STDERR_FILENO, line, strlen(line)) < 0)
        return;
}

void lcr_setenv_int(const char *name, unsigned long long v)
{
    char buf[32];

    snprintf(buf, sizeof(buf), "%llu", v);
    setenv(name, buf, 1);
}

const char *lcr_tool(const char *name)
{
    static const char *const dirs[] = {"/usr/sbin", "/sbin", "/usr/bin", "/bin"};
    const char *path = getenv("PATH");
    char full[4200];

    if (path && strlen(path) < 4096) {
        char buf[4096], *save, *dir;

        strcpy(buf, path);
        for (dir = strtok_r(buf, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
            snprintf(full, sizeof(full), "%s/%s", dir, name);
            if (access(full, X_OK) == 0)
                return name; /* execvp finds it */
        }
    }
    for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
        snprintf(full, sizeof(full), "%s/%s", dirs[i], name);
        if (access(full, X_OK) == 0) {
            char *dup = strdup(full); /* kept for the life of the process */

            return dup ? dup : name;
        }
    }
    return name;
}

void lcr_child_prepare(pid_t parent)
{
    sigset_t none;
    int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGCHLD, SIGPIPE};

    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
        signal(sigs[i], SIG_DFL);
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    setpgid(0, 0);
    /* If lc_run is killed outright, take the child with it. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
        _exit(1);
}

static void lcr_cmd_describe(const char *const argv[], char *out, size_t cap)
{
    size_t n = 0;

    out[0] = '\0';
    for (int i = 0; argv[i] && n + 2 < cap; i++) {
        int w = snprintf(out + n, cap - n, "%s%s", i ? " " : "", argv[i]);

        if (w < 0)
            break;
        n += (size_t)w;
    }
}

int lcr_cmd(const char *const argv[], int quiet)
{
    pid_t parent = getpid(), pid;
    int status;
    char desc[512];

    pid = fork();
    if (pid < 0) {
        lcr_msg("fork: %s", strerror(errno));
        return -EIO;
    }
    if (pid == 0) {
        int null = open("/dev/null", O_RDWR);

        lcr_child_prepare(parent);
        if (null >= 0) {
            dup2(null, STDIN_FILENO);
            dup2(null, STDOUT_FILENO);
            if (quiet)
                dup2(null, STDERR_FILENO);
        }
        execvp(argv[0], (char *const *)argv);
        if (!quiet)
            fprintf(stderr, "lc_run: cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            lcr_msg("waitpid: %s", strerror(errno));
            return -EIO;
        }
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return 0;
    if (!quiet) {
        lcr_cmd_describe(argv, desc, sizeof(desc));
        if (WIFEXITED(status))
            lcr_msg("command failed (exit %d): %s", WEXITSTATUS(status), desc);
        else
            lcr_msg("command killed by signal %d: %s", WTERMSIG(status), desc);
    }
    return -EIO;
}
