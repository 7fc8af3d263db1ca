/* lc_run.h - shared declarations of the lc_run launcher: options, the emulated
 * network (netns.c), the helper-command runner (cmd.c) and the rank supervisor
 * (ranks.c). Internal to the tool; names carry the lcr_ prefix. */
#ifndef LCR_LC_RUN_H
#define LCR_LC_RUN_H

#include <signal.h>
#include <stdint.h>
#include <sys/types.h>

#define LCR_MAX_RANKS     1024
#define LCR_MAX_NET_HOSTS 250  /* with --net: 169.254.1.1 .. 169.254.1.250 */
#define LCR_NET_PORT      29500
#define LCR_NAME_MAX      32
#define LCR_EXIT_USAGE    2   /* lc_run's own failures: usage, no root, setup */
#define LCR_EXIT_TIMEOUT  124 /* --timeout expired, as timeout(1) */

/** Command line options. */
typedef struct lcr_opts {
    int nranks;         /**< -n N */
    int nhosts;         /**< hosts of the emulated network: --hosts, else N with --net */
    short host_ranks[LCR_MAX_NET_HOSTS]; /**< ranks on each host (with --net) */
    const char *rate;   /**< --net RATE as given, or NULL */
    uint64_t rate_bits; /**< RATE in bit/s */
    const char *netem;  /**< --netem "ARGS", or NULL */
    int mtu;            /**< --mtu, default 1500 */
    double timeout_s;   /**< --timeout, 0: none */
    double grace_s;     /**< --grace: SIGTERM to SIGKILL delay */
    int port;           /**< --port, 0: choose */
    int one;            /**< --one: run PROG once */
    int prefix;         /**< "[rank] " before each line: 1 --prefix, 0 --no-prefix,
                             -1 (default) where the stream goes to a terminal */
    char **argv;        /**< PROG ARGS..., NULL terminated */
} lcr_opts_t;

/** The emulated Ethernet of one run: a switch namespace and one per host. */
typedef struct lcr_net {
    int nhosts;
    int mtu;
    char sw[LCR_NAME_MAX];                          /**< switch namespace */
    char host[LCR_MAX_NET_HOSTS][LCR_NAME_MAX];     /**< host namespaces */
    char addr[LCR_MAX_NET_HOSTS][16];               /**< host addresses */
    unsigned char made[LCR_MAX_NET_HOSTS + 1];      /**< namespace created: hosts, then switch */
} lcr_net_t;

/* cmd.c */
/** Log a message "lc_run: ..." on stderr. */
void lcr_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/** setenv(name, v in decimal), overwriting. */
void lcr_setenv_int(const char *name, unsigned long long v);
/** Path of an iproute2 program ("ip", "tc"): the name if PATH has it, else a full
 *  path from /usr/sbin or /sbin (allocated once per call; call it once per tool). */
const char *lcr_tool(const char *name);
/** Run argv (no shell), wait. quiet: discard its stderr and say nothing on failure.
 *  @return 0, or -EIO when it failed (after saying so unless quiet). */
int lcr_cmd(const char *const argv[], int quiet);
/** In a freshly forked child: default signals, own process group, die with lc_run. */
void lcr_child_prepare(pid_t parent);

/* netns.c */
/** Parse a tc rate ("1gbit", "100mbit", "125mbps", "1e9bit") into bit/s. @return 0 or -EINVAL. */
int lcr_parse_rate(const char *s, uint64_t *bits);
/** Build the network for o->nhosts hosts; on failure removes what it made.
 *  @return 0, or a negative errno (after a message). */
int lcr_net_setup(lcr_net_t *net, const lcr_opts_t *o);
/** Kill what runs inside the namespaces and delete them; idempotent. */
void lcr_net_teardown(lcr_net_t *net);
/** Delete namespaces left by lc_run processes that no longer exist. */
void lcr_net_sweep_stale(void);

/* ranks.c */
/** Where rank r runs: its host (0 without --net), its rank and the rank count
 *  on that host. Ranks fill the hosts in order, o->host_ranks[h] on host h. */
void lcr_place(const lcr_opts_t *o, int r, int *host, int *local, int *local_size);
/** Start the ranks (or the --one program), forward their output, supervise
 *  them until all have ended. sigfd: signalfd for SIGCHLD/SIGINT/SIGTERM/
 *  SIGHUP/SIGQUIT, which the caller has blocked.
 *  @return lc_run's exit code. */
int lcr_supervise(const lcr_opts_t *o, const lcr_net_t *net, int sigfd);

#endif
