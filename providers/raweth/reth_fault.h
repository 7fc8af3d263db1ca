/*
 * reth_fault.h - optional impairment of transmitted frames (loss,
 * duplication, reordering with delay, corruption, and forgery: an edit with
 * the CRC fixed up, as an on-path host would make) set by LC_RAWETH_FAULT,
 * for testing the reliability layer where tc netem is unavailable.
 */
#ifndef RETH_FAULT_H
#define RETH_FAULT_H

#include "reth_dp.h"

typedef struct reth_fault reth_fault_t;

/*
 * Parse "loss=0.01,dup=0.01,reorder=0.1,delay=5,corrupt=0.001,forge=0.01,seed=1"
 * (probabilities per frame, delay in ms for reordered frames). NULL or ""
 * gives *f = NULL (no impairment). LC_ERR_CONFIG on a malformed spec.
 */
LC_HIDDEN int reth_fault_parse(const char *spec, reth_fault_t **f);
LC_HIDDEN void reth_fault_free(reth_fault_t *f);
/*
 * Send the frame of len bytes already written into the slot from
 * ops->tx_buf, after applying the impairments (the slot may be left unused).
 */
LC_HIDDEN void reth_fault_commit(reth_fault_t *f, const reth_dp_ops_t *ops, reth_dp_t *dp,
                                 uint8_t *frame, size_t len, double now);
/* Send held (reordered) frames whose delay has passed. */
LC_HIDDEN void reth_fault_release(reth_fault_t *f, const reth_dp_ops_t *ops, reth_dp_t *dp,
                                  double now);

#endif
