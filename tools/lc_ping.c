/*
 * lc_ping.c - point-to-point latency and bandwidth between ranks 0 and 1 over
 * the chosen provider (LC_PROVIDER), in the manner of OSU's osu_latency and
 * osu_bw: a latency table, then a bandwidth table, over sizes 1 B to 4 MiB in
 * powers of two by default; or CSV (--csv) and a JSON file (-J FILE).
 *
 *   lc_run -n 2 -- lc_ping [-b 1] [-e 4M] [-f 2] [-n N] [-w 10] [--window 16] [--lat|--bw]
 *
 * Latency: half the round trip of a ping-pong, over -n round trips per size
 * after -w untimed ones. Bandwidth: rank 0 streams -w untimed messages, then
 * -n timed ones, --window in flight; rank 1 acknowledges each stream's end.
 */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "coll/xfer.h"
#include "json.h"

struct lcp_opts {
    size_t min, max;
    double factor;
    int iters, iters_given, warmup, window, lat, bw, csv;
    const char *json;
};

#define LCP_CSV_HEADER                                                                             \
    "test,size,iters,min_us,avg_us,p50_us,p99_us,max_us,time_s,bw_MBps,bw_Gbps,msg_rate\n"

static int lcp_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* One transfer to or from the other rank, to completion. */
static int lcp_xfer(struct lc_comm *c, int is_recv, void *buf, size_t len)
{
    lc_xfer_t x;

    lc_xfer_init(&x, 1 - c->rank, is_recv, buf, len);
    return lc_xfer_wait_all(c, &x, 1);
}

/* The value at quantile q of n sorted values (nearest rank). */
static double lcp_quantile(const double *t, int n, double q)
{
    int i = (int)ceil(q * n) - 1;
    return t[i < 0 ? 0 : i >= n ? n - 1 : i];
}

static int lcp_latency(struct lc_comm *c, const struct lcp_opts *o, char *buf, size_t len,
                       lcj_t *j)
{
    int iters = o->iters_given ? o->iters : 1000, rc = 0;
    double *t = malloc((size_t)iters * sizeof(double)), sum = 0;

    if (!t)
        return -ENOMEM;
    for (int i = -o->warmup; i < iters && !rc; i++) {
        double t0 = lc_now();

        rc = lcp_xfer(c, c->rank == 1, buf, len);
        if (!rc)
            rc = lcp_xfer(c, c->rank == 0, buf, len);
        if (i >= 0)
            t[i] = (lc_now() - t0) / 2 * 1e6;
    }
    if (!rc && c->rank == 0) {
        for (int i = 0; i < iters; i++)
            sum += t[i];
        qsort(t, (size_t)iters, sizeof(double), lcp_cmp);
        if (o->csv)
            printf("latency,%zu,%d,%.3f,%.3f,%.3f,%.3f,%.3f,,,,\n", len, iters, t[0], sum / iters,
                   lcp_quantile(t, iters, 0.5), lcp_quantile(t, iters, 0.99), t[iters - 1]);
        else
            printf("%12zu  %8d  %9.2f  %9.2f  %9.2f  %9.2f  %9.2f\n", len, iters, t[0],
                   sum / iters, lcp_quantile(t, iters, 0.5), lcp_quantile(t, iters, 0.99),
                   t[iters - 1]);
        fflush(stdout);
        lcj_begin(j, '{');
        lcj_key(j, "size");
        lcj_int(j, (long long)len);
        lcj_key(j, "iters");
        lcj_int(j, iters);
        lcj_key(j, "min_us");
        lcj_num(j, t[0]);
        lcj_key(j, "avg_us");
        lcj_num(j, sum / iters);
        lcj_key(j, "p50_us");
        lcj_num(j, lcp_quantile(t, iters, 0.5));
        lcj_key(j, "p99_us");
        lcj_num(j, lcp_quantile(t, iters, 0.99));
        lcj_key(j, "max_us");
        lcj_num(j, t[iters - 1]);
        lcj_end(j);
    }
    free(t);
    return rc;
}

/* Rank 0 streams count messages of len bytes to rank 1, at most window in
 * flight; rank 1 acknowledges the last. *elapsed: seconds, on both ranks. */
static int lcp_stream(struct lc_comm *c, const struct lcp_opts *o, char *buf, size_t len,
                      long long count, double *elapsed)
{
    lc_xfer_t *x = calloc((size_t)o->window, sizeof(*x));
    long long posted = 0, done = 0, total = count;
    lc_watchdog_t wd = {0};
    double t0;
    char ack = 0;
    int rc;

    if (!x)
        return -ENOMEM;
    /* rank 0 tells rank 1 how many messages follow */
    rc = lcp_xfer(c, c->rank == 1, &total, sizeof(total));
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
        rc = lc_xfer_drain(c);
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
        rc = lcp_xfer(c, c->rank == 0, &ack, 1);
    *elapsed = lc_now() - t0;
    free(x);
    return rc;
}

static int lcp_bandwidth(struct lc_comm *c, const struct lcp_opts *o, char *buf, size_t len,
                         lcj_t *j)
{
    long long n = o->iters;
    double s, bytes, mbps, gbps, rate;
    int rc = 0;

    if (!o->iters_given) { /* about 64 MiB, 100 to 100000 messages */
        n = (64 << 20) / (long long)(len ? len : 1);
        n = n < 100 ? 100 : n > 100000 ? 100000 : n;
    }
    if (o->warmup)
        rc = lcp_stream(c, o, buf, len, o->warmup, &s);
    if (!rc)
        rc = lcp_stream(c, o, buf, len, n, &s);
    if (rc || c->rank != 0)
        return rc;
    bytes = (double)len * (double)n;
    mbps = bytes / s / 1e6;
    gbps = bytes * 8 / s / 1e9;
    rate = (double)n / s;
    if (o->csv)
        printf("bandwidth,%zu,%lld,,,,,,%.6f,%.3f,%.4f,%.1f\n", len, n, s, mbps, gbps, rate);
    else
        printf("%12zu  %8lld  %10.3f  %10.2f  %9.4f  %11.1f\n", len, n, s * 1e3, mbps, gbps,
               rate);
    fflush(stdout);
    lcj_begin(j, '{');
    lcj_key(j, "size");
    lcj_int(j, (long long)len);
    lcj_key(j, "messages");
    lcj_int(j, n);
    lcj_key(j, "time_s");
    lcj_num(j, s);
    lcj_key(j, "bw_MBps");
    lcj_num(j, mbps);
    lcj_key(j, "bw_Gbps");
    lcj_num(j, gbps);
    lcj_key(j, "msg_rate");
    lcj_num(j, rate);
    lcj_end(j);
    return 0;
}

/* The header of a table (rank 0), and the JSON list its rows go to. */
static void lcp_table(const struct lcp_opts *o, int bw, lcj_t *j)
{
    if (!o->csv && !bw)
        printf("# Latency: half the round trip of a ping-pong, over -n round trips per size\n"
               "# %10s  %8s  %9s  %9s  %9s  %9s  %9s\n# %10s  %8s  %9s  %9s  %9s  %9s  %9s\n",
               "size", "iters", "min", "avg", "p50", "p99", "max", "(B)", "", "(us)", "(us)",
               "(us)", "(us)", "(us)");
    if (!o->csv && bw)
        printf("# Bandwidth: rank 0 streams -n messages per size, %d in flight\n"
               "# %10s  %8s  %10s  %10s  %9s  %11s\n# %10s  %8s  %10s  %10s  %9s  %11s\n",
               o->window, "size", "msgs", "time", "bw", "bw", "rate", "(B)", "", "(ms)",
               "(MB/s)", "(Gbit/s)", "(msg/s)");
    lcj_key(j, bw ? "bandwidth" : "latency");
    lcj_begin(j, '[');
}

static int lcp_parse(struct lcp_opts *o, int argc, char **argv)
{
    const lca_opt_t opts[] = {
        {.shortname = 'b', .longname = "minbytes", .kind = LCA_SIZE, .dst = &o->min,
         .metavar = "SIZE", .help = "smallest message in bytes (default 1)", .min = 0,
         .max = 1 << 30},
        {.shortname = 'e', .longname = "maxbytes", .kind = LCA_SIZE, .dst = &o->max,
         .metavar = "SIZE", .help = "largest message, always measured (default 4M)", .min = 0,
         .max = 1 << 30},
        {.shortname = 'f', .longname = "stepfactor", .kind = LCA_REAL, .dst = &o->factor,
         .metavar = "F", .help = "multiply the size by F per step (default 2)", .min = 1,
         .max = HUGE_VAL, .min_open = 1},
        {.shortname = 'n', .longname = "iters", .kind = LCA_INT, .dst = &o->iters,
         .metavar = "N", .given = &o->iters_given, .min = 1, .max = 100000000,
         .help = "timed round trips (latency) and messages\n"
                 "(bandwidth) per size (default: 1000 round trips;\n"
                 "messages for about 64 MiB, 100 to 100000)"},
        {.shortname = 'w', .longname = "warmup_iters", .kind = LCA_INT, .dst = &o->warmup,
         .metavar = "N", .help = "untimed round trips and messages first (default 10)", .min = 0,
         .max = 100000000},
        {.longname = "window", .kind = LCA_INT, .dst = &o->window, .metavar = "W",
         .help = "bandwidth messages in flight (default 16)", .min = 1, .max = 65536},
        {.longname = "lat", .kind = LCA_FLAG, .dst = &o->lat, .help = "only the latency test"},
        {.longname = "bw", .kind = LCA_FLAG, .dst = &o->bw, .help = "only the bandwidth test"},
        {.longname = "csv", .kind = LCA_FLAG, .dst = &o->csv,
         .help = "print CSV: a header row, then a row per test and size"},
        {.shortname = 'J', .longname = "output_file", .kind = LCA_STR, .dst = &o->json,
         .metavar = "FILE", .help = "also write the results as JSON to FILE (replaced)"},
        {.help = NULL},
    };
    const lca_tool_t tool = {
        .name = "lc_ping",
        .usage = "[options]",
        .about = "Latency and bandwidth between two ranks over the provider LC_PROVIDER\n"
                 "selects, as OSU's osu_latency and osu_bw measure them. Start two ranks\n"
                 "(lc_run -n 2, mpirun -np 2, srun -n 2); rank 0 prints.\n",
        .opts = opts,
        .more = "Columns: size in bytes; latency in microseconds (min, avg, p50, p99,\n"
                "max over -n round trips); bandwidth in MB/s (1e6 bytes per second) and\n"
                "Gbit/s, and messages per second.\n"
                "Exit status: 0; 1 when a transfer fails; 2 on a usage error.\n"};
    int rc = lca_parse(&tool, argc, argv);

    if (rc >= 0)
        return rc;
    if (!o->lat && !o->bw)
        o->lat = o->bw = 1;
    if (o->max < o->min)
        return lca_error(&tool, "-e/--maxbytes %zu is below -b/--minbytes %zu", o->max, o->min);
    return -1;
}

int main(int argc, char **argv)
{
    struct lcp_opts o = {.min = 1, .max = 4 << 20, .factor = 2, .warmup = 10, .window = 16};
    struct lc_comm *c;
    lcj_t j = {0};
    char *buf;
    int rc, failed = 0;

    if ((rc = lcp_parse(&o, argc, argv)) >= 0)
        return rc;
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
    if (c->rank == 0) {
        if (o.json && (rc = lcj_open(&j, o.json))) {
            fprintf(stderr, "lc_ping: -J %s: %s\n", o.json, strerror(-rc));
            failed = 1;
        }
        if (o.csv)
            printf(LCP_CSV_HEADER);
        else
            printf("# lc_ping (lioncub) %s: provider %s, ranks 0 and 1\n", lc_version(NULL),
                   c->prov->name);
        lcj_preamble(&j, "lc_ping", argc, argv);
        lcj_key(&j, "provider");
        lcj_str(&j, c->prov->name);
        lcj_key(&j, "window");
        lcj_int(&j, o.window);
        lcj_key(&j, "warmup_iters");
        lcj_int(&j, o.warmup);
    }
    rc = 0;
    for (int bw = 0; bw < 2 && !rc; bw++) {
        if (!(bw ? o.bw : o.lat))
            continue;
        if (c->rank == 0)
            lcp_table(&o, bw, &j);
        for (size_t len = o.min, last = SIZE_MAX; !rc && len != last;) {
            rc = bw ? lcp_bandwidth(c, &o, buf, len, &j) : lcp_latency(c, &o, buf, len, &j);
            last = len;
            len = len ? (size_t)((double)len * o.factor) : 1;
            len = len > o.max ? o.max : len;
        }
        if (c->rank == 0)
            lcj_end(&j);
    }
    if (rc)
        fprintf(stderr, "lc_ping: rank %d: %s: %s\n", c->rank, lc_strerror(rc), lc_last_error());
    if (c->rank == 0 && lcj_close(&j)) {
        fprintf(stderr, "lc_ping: -J %s: write failed\n", o.json);
        failed = 1;
    }
    free(buf);
    lc_comm_destroy(c);
    return rc || failed ? 1 : 0;
}
