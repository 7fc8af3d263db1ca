/* netns_check.h - for the tests that build network namespaces: may this process? */
#ifndef LC_TEST_NETNS_CHECK_H
#define LC_TEST_NETNS_CHECK_H

#include <sched.h>
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

#endif
