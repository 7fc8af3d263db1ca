/*
 * lc_ping.c - point-to-point latency and bandwidth between ranks 0 and 1 over
 * the chosen provider (LC_PROVIDER), like fabtests' pingpong and bw tests.
 *
 *   lc_run -n 2 -- lc_ping [-b 1] [-e 4M] [-f 4] [-n 1000] [--window 16] [--lat|--bw]
 *
 * Latency: half the round trip of a ping-pong (min, avg, p99 over -n).
 * Bandwidth: rank 0 streams -n messages to rank 1 with --window in flight,
 * rank 1 answers once at the end.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coll/xfer.h"

struct opts {
    size_t min, max;
    double factor;
    int iters, window, lat, bw;
};

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* One transfer to or from the other rank, to completion. */
static int xfer1(struct lc_comm *c, int is_recv, void *buf, size_t len)
{
    lc_xfer_t x;

    lc_xfer_init(&x, 1 - c->rank, is_recv, buf, len);
    return lc_xfer_wait_all(c, &x, 1);
}

static int latency(struct lc_comm *c, const struct opts *o, char *buf, size_t len)
{
    double *t = malloc((size_t)o->iters * sizeof(double)), sum = 0;
    int rc = 0, warm = o->iters / 10 + 1;

    if (!t)
        return -ENOMEM;
    for (int i = -warm; i < o->iters && !rc; i++) {
        double t0 = lc_now();

        if (c->rank == 0) {
            rc = xfer1(c, 0, buf, len);
            if (!rc)
                rc = xfer1(c, 1, buf, len);
        } else {
            rc = xfer1(c, 1, buf, len);
            if (!rc)
                rc = xfer1(c, 0, buf, len);
        }
        if (i >= 0)
            t[i] = (lc_now() - t0) / 2 * 1e6;
    }
    if (!rc && c->rank == 0) {
        for (int i = 0; i < o->iters; i++)
            sum += t[i];
        qsort(t, (size_t)o->iters, sizeof(double), cmp_double);
        printf("%-10s %12zu %8d %10.2f %10.2f %10.2f\n", "latency", len, o->iters, t[0],
               sum / o->iters, t[(size_t)(o->iters * 0.99) < (size_t)o->iters
                                   ? (size_t)(o->iters * 0.99)
                                   : (size_t)o->iters - 1]);
        fflush(stdout);
    }
    free(t);
    return rc;
}

static int bandwidth(struct lc_comm *c, const struct opts *o, char *buf, size_t len)
{
    lc_xfer_t *x = calloc((size_t)o->window, sizeof(*x));
    double t0 = lc_now(), elapsed;
    long long posted = 0, done = 0, total = -1;
    char ack = 0;
    int rc = 0;
    lc_watchdog_t wd = {0};

    if (!x)
        return -ENOMEM;
    /* rank 0 tells rank 1 how many messages follow */
    if (c->rank == 0) {
        long long budget = o->iters;
        rc = xfer1(c, 0, &budget, sizeof(budget));
        total = budget;
    } else {
        rc = xfer1(c, 1, &total, sizeof(total));
    }
    t0 = lc_now();
    while (!rc && done < total) {
        int progress = 0;

        while (posted < total && posted - done < o->window) {
            lc_xfer_t *xx = &x[posted % o->window];
            /* every message uses the same buffer: only the transport is measured */
            lc_xfer_init(xx, 1 - c->rank, c->rank == 1, buf, len);
            if ((rc = lc_xfer_post(c, xx)) || xx->state == LC_XFER_IDLE)
                break;
            posted++;
        }
        while (!rc && done < posted) {
            lc_xfer_t *xx = &x[done % o->window];
            if ((rc = lc_xfer_test(c, xx, &progress)) || xx->state != LC_XFER_DONE)
                break;
            done++;
        }
        if (!rc)
            rc = lc_watchdog_check(c, &wd, progress, "lc_ping bandwidth");
    }
    if (!rc)
        rc = xfer1(c, c->rank == 0, &ack, 1);
    elapsed = lc_now() - t0;
    if (!rc && c->rank == 0) {
        double bytes = (double)len * (double)total;
        printf("%-10s %12zu %8lld %10.4f %10.1f %10.3f\n", "bandwidth", len, total, elapsed,
               bytes / elapsed / 1e6, bytes * 8 / elapsed / 1e9);
        fflush(stdout);
    }
    free(x);
    return rc;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: lc_ping [options]   (two ranks: lc_run -n 2 -- lc_ping)\n"
               "  -b N  smallest message in bytes (K/M/G; default 1)\n"
               "  -e N  largest message (default 4M)\n"
               "  -f F  size step factor (default 4)\n"
               "  -n N  ping-pong iterations (default 1000) and bandwidth messages\n"
               "        (default: enough for about 64 MiB, at least 100)\n"
               "  --window W  bandwidth messages in flight (default 16)\n"
               "  --lat | --bw  only latency or only bandwidth\n");
}

int main(int argc, char **argv)
{
    static const struct option lopts[] = {{"window", required_argument, 0, 'W'},
                                          {"lat", no_argument, 0, 'l'},
                                          {"bw", no_argument, 0, 'B'},
                                          {"help", no_argument, 0, 'h'},
                                          {0, 0, 0, 0}};
    struct opts o = {.min = 1, .max = 4 << 20, .factor = 4, .iters = 0, .window = 16};
    struct lc_comm *c;
    char *buf;
    int ch, rc, iters_set = 0;
    int64_t v;

    while ((ch = getopt_long(argc, argv, "b:e:f:n:h", lopts, NULL)) != -1) {
        switch (ch) {
        case 'b':
        case 'e':
            if (lc_parse_size(optarg, &v) || v < 0) {
                fprintf(stderr, "lc_ping: bad size %s\n", optarg);
                return 2;
            }
            *(ch == 'b' ? &o.min : &o.max) = (size_t)v;
            break;
        case 'f':
            o.factor = atof(optarg);
            break;
        case 'n':
            o.iters = atoi(optarg);
            iters_set = 1;
            break;
        case 'W':
            o.window = atoi(optarg);
            break;
        case 'l':
            o.lat = 1;
            break;
        case 'B':
            o.bw = 1;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (!o.lat && !o.bw)
        o.lat = o.bw = 1;
    if (o.factor <= 1 || o.window < 1 || o.max < o.min || (iters_set && o.iters < 1)) {
        fprintf(stderr, "lc_ping: need -f > 1, --window >= 1, -e >= -b, -n >= 1\n");
        return 2;
    }
    rc = lc_comm_init(NULL, &c);
    if (rc) {
        fprintf(stderr, "lc_ping: lc_comm_init: %s: %s\n", lc_strerror(rc), lc_last_error());
        return 1;
    }
    if (c->nranks != 2) {
        fprintf(stderr, "lc_ping: needs exactly 2 ranks, got %d\n", c->nranks);
        lc_comm_destroy(c);
        return 2;
    }
    buf = malloc(o.max + 1);
    if (!buf) {
        lc_comm_destroy(c);
        return 1;
    }
    memset(buf, 0x5a, o.max + 1);
    if (c->rank == 0)
        printf("# lc_ping: provider %s\n%-10s %12s %8s %10s %10s %10s\n", c->prov->name,
               "test", "bytes", "iters", "min/time", "avg/MB/s", "p99/Gbit/s");
    for (size_t len = o.min; !rc; len = len ? (size_t)((double)len * o.factor) : 1) {
        struct opts oo = o;

        if (len > o.max)
            len = o.max;
        if (o.lat) {
            oo.iters = iters_set ? o.iters : 1000;
            rc = latency(c, &oo, buf, len);
        }
        if (!rc && o.bw) {
            oo.iters = iters_set ? o.iters : (int)((64 << 20) / (len ? len : 1));
            oo.iters = oo.iters < 100 ? 100 : oo.iters > 100000 ? 100000 : oo.iters;
            rc = bandwidth(c, &oo, buf, len);
        }
        if (len == o.max)
            break;
    }
    if (rc)
        fprintf(stderr, "lc_ping: rank %d: %s: %s\n", c->rank, lc_strerror(rc), lc_last_error());
    free(buf);
    lc_comm_destroy(c);
    return rc ? 1 : 0;
}
