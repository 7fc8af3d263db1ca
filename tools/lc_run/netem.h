/* netem.h - impairment of each host's egress for lc_run --netem: the
 * kernel's sch_netem when it has one, else an emulation with a tc BPF
 * classifier (bpf/netem.bpf.c) and a user-space delay line (netem_dly.c). */
#ifndef LCR_NETEM_H
#define LCR_NETEM_H

#include <stdint.h>

#include "lc_run.h"

#define LCR_NETEM_REORDER_NS 1000000u /* hold of a reordered frame without "delay" */

/* Delay line capacity in frames. netem's default is 1000, but frames in the
 * delay line no longer count against the sender's socket buffer, so nothing
 * slows a sender down when it fills: allow more. */
#define LCR_NETEM_LIMIT 10000

/** What the emulation understands of netem's arguments. */
typedef struct lcr_netem_spec {
    double loss, duplicate, corrupt, reorder; /**< fractions 0..1 */
    uint64_t delay_ns;                        /**< "delay TIME", 0: none */
    int limit;                                /**< "limit N": delay line frames */
} lcr_netem_spec_t;

/** Parse netem arguments for the emulation: loss [random] P, duplicate P,
 *  corrupt P, reorder P, delay TIME, limit N (P in percent, "%" optional;
 *  TIME in s/ms/us/ns, bare numbers in us, as tc reads them).
 *  @return 0, or -EINVAL/-ENOTSUP after a message naming the argument. */
int lcr_netem_parse(const char *args, lcr_netem_spec_t *spec);

/** Impair egress of dev in host namespace ns, below the tbf root qdisc 1:
 *  that lcr_shape put there. The first call decides between sch_netem and
 *  the emulation (LC_RUN_NETEM=kernel or =bpf forces one).
 *  @return 0, or a negative errno after a message. */
int lcr_netem_setup(const lcr_opts_t *o, const char *ns, const char *dev);

/** The delay line (netem_dly.c), in the host namespace: frames arriving on
 *  in leave on out delay_ns later, at most limit of them queued. Writes an
 *  int 0 to ready_fd once it listens, then runs until killed.
 *  @return a negative errno when it could not start. */
int lcr_dly_run(const char *in, const char *out, uint64_t delay_ns, int limit, int mtu,
                int ready_fd);

#endif
