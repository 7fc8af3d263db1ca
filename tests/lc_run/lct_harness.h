/* lct_harness.h - helpers for the lc_run tests: run lc_run with captured
 * output and a watchdog, start it in the background, list namespaces. */
#ifndef LCT_HARNESS_H
#define LCT_HARNESS_H

#include <sys/types.h>

typedef struct lct_result {
    int rc;        /**< exit code, 128+signal, or -1 if the watchdog killed it */
    double secs;   /**< wall time */
    char *out;     /**< captured stdout, NUL terminated */
    char *err;     /**< captured stderr, NUL terminated */
    pid_t pid;     /**< pid lc_run had (names its namespaces) */
} lct_result_t;

typedef struct lct_proc {
    pid_t pid;
    int fd[2];     /* read ends: stdout, stderr; -1 at EOF */
    char *buf[2];  /* what was read, NUL terminated */
    size_t len[2];
    double t0;
} lct_proc_t;

/** Paths from argv: argv[1] lc_run, argv[2] the probe program. */
extern const char *lct_lc_run, *lct_probe;
void lct_init(int argc, char **argv);

/** Start argv (argv[0] is run as is) with stdout/stderr on pipes. */
int lct_start(char *const argv[], lct_proc_t *p);
/** Read the child's output until stdout holds `count` occurrences of needle,
 *  or timeout seconds pass. @return occurrences seen. */
int lct_wait_for(lct_proc_t *p, const char *needle, int count, double timeout);
/** Collect the rest of the output and the exit status (SIGKILL after timeout
 *  seconds, then rc -1); hands the buffers to res. */
void lct_finish(lct_proc_t *p, double timeout, lct_result_t *res);
/** Run argv to completion (watchdog: timeout seconds). */
void lct_run(char *const argv[], double timeout, lct_result_t *res);
void lct_result_free(lct_result_t *res);

/** Count of `ip netns list` entries whose name starts with lc<pid>. */
int lct_netns_count(pid_t pid);
/** Count of occurrences of needle in hay. */
int lct_count(const char *hay, const char *needle);
/** 1 if pid no longer exists. */
int lct_gone(pid_t pid);
/** Collect "pid=N" values printed by probes into pids (max n). @return count. */
int lct_pids(const char *out, pid_t *pids, int n);

#endif
