/* reth_fault.c - transmit-side impairments for tests (LC_RAWETH_FAULT). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reth_fault.h"
#include "reth_frame.h"

#define RETH_FAULT_HOLD 64

struct reth_fault {
    double loss, dup, reorder, corrupt, forge, delay;
    uint64_t rng;
    int nheld;
    struct {
        double t;
        size_t len;
        uint8_t *buf;
    } held[RETH_FAULT_HOLD];
};

static double reth_fault_rand(reth_fault_t *f)
{
    f->rng ^= f->rng << 13; /* xorshift64 */
    f->rng ^= f->rng >> 7;
    f->rng ^= f->rng << 17;
    return (double)(f->rng >> 11) / 9007199254740992.0;
}

int reth_fault_parse(const char *spec, reth_fault_t **out)
{
    reth_fault_t *f;
    const char *p = spec;

    *out = NULL;
    if (!spec || !*spec)
        return 0;
    f = calloc(1, sizeof(*f));
    if (!f)
        return -ENOMEM;
    f->rng = 0x9E3779B97F4A7C15ull;
    f->delay = 0.002;
    while (*p) {
        char key[16];
        double v;
        int n = 0;
        if (sscanf(p, "%15[a-z]=%lf%n", key, &v, &n) != 2 || v < 0)
            goto bad;
        if (!strcmp(key, "loss"))
            f->loss = v;
        else if (!strcmp(key, "dup"))
            f->dup = v;
        else if (!strcmp(key, "reorder"))
            f->reorder = v;
        else if (!strcmp(key, "corrupt"))
            f->corrupt = v;
        else if (!strcmp(key, "forge"))
            f->forge = v;
        else if (!strcmp(key, "delay"))
            f->delay = v / 1000;
        else if (!strcmp(key, "seed"))
            f->rng = (uint64_t)v * 0x9E3779B97F4A7C15ull + 1;
        else
            goto bad;
        p += n;
        if (*p == ',')
            p++;
        else if (*p)
            goto bad;
    }
    *out = f;
    return 0;
bad:
    free(f);
    return lc_seterr(LC_ERR_CONFIG, "raweth",
                     "LC_RAWETH_FAULT='%s': expected key=value,... with keys loss, dup, "
                     "reorder, delay (ms), corrupt, forge, seed", spec);
}

void reth_fault_free(reth_fault_t *f)
{
    if (!f)
        return;
    for (int i = 0; i < f->nheld; i++)
        free(f->held[i].buf);
    free(f);
}

/* Copy a frame into a fresh transmit slot; dropped when the ring is full. */
static void reth_fault_send_copy(const reth_dp_ops_t *ops, reth_dp_t *dp, const uint8_t *frame,
                                 size_t len)
{
    uint8_t *slot = ops->tx_buf(dp);

    if (!slot)
        return;
    memcpy(slot, frame, len);
    ops->tx_commit(dp, len);
}

void reth_fault_commit(reth_fault_t *f, const reth_dp_ops_t *ops, reth_dp_t *dp, uint8_t *frame,
                       size_t len, double now)
{
    if (reth_fault_rand(f) < f->loss)
        return;
    if (reth_fault_rand(f) < f->corrupt)
        frame[(size_t)(reth_fault_rand(f) * (double)len)] ^= (uint8_t)(1u << (f->rng & 7));
    if (len >= RETH_OVERHEAD && reth_fault_rand(f) < f->forge) {
        /* an on-path host: edit a byte after the version, keep the CRC valid */
        size_t body = len - RETH_MAC_LEN - RETH_CRC_LEN - RETH_ETH_HLEN - 1;
        frame[RETH_ETH_HLEN + 1 + (size_t)(reth_fault_rand(f) * (double)body)] ^= 0x01;
        reth_frame_reseal(frame, len);
    }
    if (f->nheld < RETH_FAULT_HOLD && reth_fault_rand(f) < f->reorder) {
        uint8_t *copy = malloc(len);
        if (copy) {
            memcpy(copy, frame, len);
            f->held[f->nheld].buf = copy;
            f->held[f->nheld].len = len;
            f->held[f->nheld].t = now + f->delay;
            f->nheld++;
            return;
        }
    }
    ops->tx_commit(dp, len);
    if (reth_fault_rand(f) < f->dup)
        reth_fault_send_copy(ops, dp, frame, len);
}

void reth_fault_release(reth_fault_t *f, const reth_dp_ops_t *ops, reth_dp_t *dp, double now)
{
    for (int i = 0; i < f->nheld;) {
        if (f->held[i].t > now) {
            i++;
            continue;
        }
        reth_fault_send_copy(ops, dp, f->held[i].buf, f->held[i].len);
        free(f->held[i].buf);
        f->held[i] = f->held[--f->nheld];
    }
}
