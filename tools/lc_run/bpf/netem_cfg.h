/* netem_cfg.h - the configuration lc_run hands to its netem emulation
 * classifier (netem.bpf.c) through the one-entry array map lcr_netem_cfg.
 * Shared by the BPF program and tools/lc_run/netem.c. */
#ifndef LCR_NETEM_CFG_H
#define LCR_NETEM_CFG_H

#include <linux/types.h>

/* skb->mark values: frames the classifier must not impair again. */
#define LCR_NETEM_MARK_PASS 0x6c634e31u /* re-sent by the delay line: pass untouched */
#define LCR_NETEM_MARK_DUP  0x6c634e32u /* a duplicate: may be corrupted and delayed */

/** Probabilities are thresholds on a 32-bit random number: an event happens
 *  when rand < threshold, so 0 is never and 1 << 32 always. */
struct lcr_netem_cfg {
    __u64 loss;          /**< drop the frame */
    __u64 duplicate;     /**< send an extra copy */
    __u64 corrupt;       /**< flip one bit past the Ethernet header */
    __u64 reorder;       /**< with delay_all: skip the delay line; else: take it */
    __u32 delay_ifindex; /**< the delay line's entry (veth lcd0), 0: none */
    __u32 delay_all;     /**< 1: every frame is delayed unless picked by reorder */
};

#endif
