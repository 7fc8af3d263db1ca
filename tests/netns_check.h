/* netns_check.h - for the tests that build network namespaces: may this process,
 * and entering a named one (/run/netns/NAME, as ip netns makes them). */
#ifndef LC_TEST_NETNS_CHECK_H
#define LC_TEST_NETNS_CHECK_H

#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

/* Root, and allowed to make network namespaces (not so in every container). */
static inline int lc_test_can_make_netns(void)
{
    pid_t pid;
    int status;

    if (geteuid() != 0)
        return 0;
    pid = fork();
    if (pid == 0)
        _exit(unshare(CLONE_NEWNET) == 0 ? 0 : 1);
    return pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
           WEXITSTATUS(status) == 0;
}

/* Move the calling process into the named namespace; 0, or -1 after a message. */
static inline int lc_test_enter_netns(const char *name)
{
    char path[96];
    int fd, rc;

    snprintf(path, sizeof(path), "/run/netns/%s", name);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        perror(path);
        return -1;
    }
    rc = setns(fd, CLONE_NEWNET);
    if (rc)
        perror("setns");
    close(fd);
    return rc;
}

#endif
