/*
 * fault.h - the fault campaign's shared pieces: the state its processes share
 * (also across the exec of lc_run for the namespace cases), the per-kind
 * tallies, one injected case, and the emulated network's handles.
 */
#ifndef LC_FAULT_H
#define LC_FAULT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "lioncub/lioncub.h"

#define FC_TIMEOUT_MS 2000
#define FC_SLACK_S    2.0 /* scheduling on a loaded machine, beyond LC_TIMEOUT */
#define FC_MAX_P      8
#define FC_MAX_ROWS   32
#define FC_MAX_LAT    256

/* vote-2lvl: the vote in two levels, ranks on two emulated hosts (LC_HOST), the
 * ranks of a host through shared memory */
enum { C_VOTE, C_VOTE_HIER, C_ALLREDUCE, C_ALLGATHER, C_BCAST, C_BARRIER, C_N };

/* Faults. Peer death and a link that stays down must end in an error on every
 * rank still running; a link that comes back, loss and forged frames may also
 * end with every result exact. */
enum { F_KILL, F_STOP, F_DOWN, F_LOSS, F_FORGE, F_N };

/* A rank's exit code. */
enum {
    R_EXACT = 0,     /* ran until rank 0 stopped the case, every result exact */
    R_WRONG = 42,    /* a wrong result with rc 0 */
    R_FAILED,        /* a clear error in time, and the next call refused */
    R_INIT,          /* lc_comm_init failed */
    R_NOERR,         /* no error long after a fault that must end the job */
    R_LATE,          /* the error came too late */
    R_REUSE,         /* the communicator worked again after its error */
    R_EARLY,         /* an error before the fault */
    R_LAST = R_EARLY /* any other exit code is a crash (libfabric turns a SIGSEGV into exit 1) */
};

/* Tallies of one kind of case (a fault on a provider, the rendezvous, misuse). */
typedef struct fc_row {
    char name[64];
    int tried, handled, hangs, crashes, wrong, errors, exact;
    int nlat;
    float lat[FC_MAX_LAT]; /* seconds from the fault to the last rank's error */
} fc_row_t;

/* In a MAP_SHARED memfd: written by the ranks, the injector and the forger. */
typedef struct fc_shared {
    double fault_time;           /* lc_now() when the fault was injected, 0 before */
    double late[FC_MAX_P];       /* each rank's error, seconds after the fault */
    volatile int iter[FC_MAX_P]; /* each rank's current iteration */
    volatile int stop;           /* cases that may recover: rank 0 ends them */
    volatile int forged;         /* frames the forger injected */
    char only[48];               /* --only: run the cases whose kind contains it */
    int nrows;
    fc_row_t rows[FC_MAX_ROWS];
} fc_shared_t;

/* lc_run's emulated network, from the environment it gives its --one program. */
typedef struct fc_net {
    int nhosts;
    char host[FC_MAX_P][32]; /* namespaces; rank r runs in host[r] */
    char addr[FC_MAX_P][16];
    char sw[32]; /* the switch namespace */
} fc_net_t;

typedef struct fc_case {
    const char *prov;
    int coll, fault, p;
    const fc_net_t *net; /* NULL: loopback */
} fc_case_t;

extern fc_shared_t *fc_sh;
extern const char *const fc_coll_names[C_N];
extern const char *const fc_fault_names[F_N];

/* fault_case.c */
/* One collective on n elements, checked against what every rank contributed
 * (*wrong set on a difference); its return code. */
int fc_run_coll(lc_comm_t *c, int coll, int rank, int p, size_t n, int iter, int *wrong);
/* Run one case and add it to its row (unless --only leaves it out). */
void fc_run_case(const fc_case_t *k, uint64_t *rng);
/* The row named name (created on first use). */
fc_row_t *fc_row(const char *name);
/* Wait for pid until the deadline; a child still there then is a hang (killed). */
int fc_reap(pid_t pid, double deadline, int *hung);

/* fault_net.c */
/* Read LC_NET_HOSTS, LC_NET_ADDRS and LC_NET_SWITCH; 0 or -1 (after a message). */
int fc_net_from_env(fc_net_t *net);
/* Host h's link (its lc0) down (up = 0) or up again. */
int fc_net_link(const fc_net_t *net, int h, int up);
/* Drop 30% of the frames in both directions of host h's link, at random (on = 1),
 * or stop (on = 0). */
int fc_net_loss(const fc_net_t *net, int h, int on);

/* fault_forge.c */
/* A host on the segment (in the switch namespace) that copies the raweth DATA
 * frames it sees, changes their payload and sequence number and sends them on;
 * counts them in fc_sh->forged. Returns its pid, or -1. */
pid_t fc_forger_start(const fc_net_t *net);

#endif
