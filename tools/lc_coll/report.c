/*
 * report.c - lc_coll's output on rank 0, as nccl-tests prints it: '#' header
 * lines, one row per size (size count type redop time algbw busbw #wrong,
 * then lioncub's wire and floor columns), the "Out of bounds values" and
 * "Avg bus bandwidth" summary; or CSV (--csv); and a JSON file (-J FILE)
 * shaped like nccl-tests' (results[].out_of_place.{time,alg_bw,bus_bw,nwrong}).
 */
#include <math.h>
#include <stdio.h>

#include "lc_coll.h"

#define LCC_CSV_HEADER                                                                             \
    "size,count,type,redop,collective,time_us,algbw_GBps,busbw_GBps,wire_GBps,wrong,floor_pct\n"

void lcc_report_begin(const struct lcc_opts *o, lc_comm_t *c, int argc, char **argv, lcj_t *j)
{
    int p = lc_comm_size(c), simd = lc_simd_active();
    const char *simd_name = simd < 0 ? lc_strerror(simd) : lc_simd_name((lc_simd_t)simd);
    char step[48];

    if (o->stepbytes)
        snprintf(step, sizeof(step), "%zu(bytes)", o->stepbytes);
    else
        snprintf(step, sizeof(step), "%g(factor)", o->factor);
    if (o->csv) {
        printf(LCC_CSV_HEADER);
    } else {
        printf("# lc_coll (lioncub) %s: nccl-tests conventions (docs/tools.md)\n"
               "# Collective test starting: %s\n"
               "# nRanks %d provider %s simd %s minBytes %zu maxBytes %zu step: %s warmup "
               "iters: %d iters: %d validation: %d time: %s of ranks (-a %d)\n",
               lc_version(NULL), lcc_coll_names[o->coll], p, lc_comm_provider(c), simd_name,
               o->minbytes, o->maxbytes, step, o->warmup, o->iters, o->check,
               lcc_avg_names[o->average], o->average);
        if (o->coll <= LCC_VOTE_L1)
            printf("# busbw: that of the allreduce the vote replaces, algbw * 2(n-1)/n; "
                   "wire: what the busiest rank sent\n");
        if (o->link_bps > 0)
            printf("# floor: the wire-time floor on a %.4g Gbit/s link / time\n",
                   o->link_bps / 1e9);
        printf("#\n# %10s  %12s  %8s  %8s  %9s  %7s  %7s  %6s  %7s  %6s\n"
               "# %10s  %12s  %8s  %8s  %9s  %7s  %7s  %6s  %7s  %6s\n",
               "size", "count", "type", "redop", "time", "algbw", "busbw", "#wrong", "wire",
               "floor", "(B)", "(elements)", "", "", "(us)", "(GB/s)", "(GB/s)", "", "(GB/s)",
               "(%)");
    }
    fflush(stdout);
    if (!j->f)
        return;
    lcj_preamble(j, "lc_coll", argc, argv);
    lcj_key(j, "config");
    lcj_begin(j, '{');
    lcj_key(j, "collective");
    lcj_str(j, lcc_coll_names[o->coll]);
    lcj_key(j, "nranks");
    lcj_int(j, p);
    lcj_key(j, "provider");
    lcj_str(j, lc_comm_provider(c));
    lcj_key(j, "simd");
    lcj_str(j, simd_name);
    lcj_key(j, "minimum_bytes");
    lcj_int(j, (long long)o->minbytes);
    lcj_key(j, "maximum_bytes");
    lcj_int(j, (long long)o->maxbytes);
    lcj_key(j, o->stepbytes ? "step_bytes" : "step_factor");
    lcj_num(j, o->stepbytes ? (double)o->stepbytes : o->factor);
    lcj_key(j, "warmup_iters");
    lcj_int(j, o->warmup);
    lcj_key(j, "iterations");
    lcj_int(j, o->iters);
    lcj_key(j, "validation");
    lcj_int(j, o->check);
    lcj_key(j, "average");
    lcj_str(j, lcc_avg_names[o->average]);
    lcj_key(j, "link_bps");
    lcj_num(j, o->link_bps > 0 ? o->link_bps : NAN);
    lcj_end(j);
    lcj_key(j, "results");
    lcj_begin(j, '[');
}

void lcc_report_row(const struct lcc_opts *o, const struct lcc_result *r, lcj_t *j)
{
    char wrong[24] = "N/A", floor[24] = "N/A";

    if (r->wrong >= 0)
        snprintf(wrong, sizeof(wrong), "%lld", r->wrong);
    if (r->floor_pct >= 0)
        snprintf(floor, sizeof(floor), "%.1f", r->floor_pct);
    if (o->csv)
        printf("%zu,%zu,%s,%s,%s,%.2f,%.4f,%.4f,%.4f,%s,%s\n", r->bytes, r->count,
               lcc_type_names[o->type], lcc_redop(o), lcc_coll_names[o->coll], r->time_s * 1e6,
               r->algbw, r->busbw, r->wire, r->wrong >= 0 ? wrong : "",
               r->floor_pct >= 0 ? floor : "");
    else
        printf("%12zu  %12zu  %8s  %8s  %9.1f  %7.3f  %7.3f  %6s  %7.3f  %6s\n", r->bytes, r->count,
               lcc_type_names[o->type], lcc_redop(o), r->time_s * 1e6, r->algbw, r->busbw, wrong,
               r->wire, floor);
    fflush(stdout);
    if (!j->f)
        return;
    lcj_begin(j, '{');
    lcj_key(j, "size");
    lcj_int(j, (long long)r->bytes);
    lcj_key(j, "count");
    lcj_int(j, (long long)r->count);
    lcj_key(j, "type");
    lcj_str(j, lcc_type_names[o->type]);
    lcj_key(j, "redop");
    lcj_str(j, lcc_redop(o));
    lcj_key(j, "collective");
    lcj_str(j, lcc_coll_names[o->coll]);
    lcj_key(j, "out_of_place");
    lcj_begin(j, '{');
    lcj_key(j, "time");
    lcj_num(j, r->time_s * 1e6);
    lcj_key(j, "alg_bw");
    lcj_num(j, r->algbw);
    lcj_key(j, "bus_bw");
    lcj_num(j, r->busbw);
    lcj_key(j, "nwrong");
    lcj_num(j, r->wrong >= 0 ? (double)r->wrong : NAN);
    lcj_end(j);
    lcj_key(j, "wire_bw");
    lcj_num(j, r->wire);
    lcj_key(j, "floor_pct");
    lcj_num(j, r->floor_pct >= 0 ? r->floor_pct : NAN);
    lcj_key(j, "actual_iterations");
    lcj_int(j, o->iters);
    lcj_end(j);
}

void lcc_report_end(const struct lcc_opts *o, const struct lcc_result *sum, int rows, int bad_rows,
                    lcj_t *j)
{
    double busbw = rows ? sum->busbw / rows : 0, wire = rows ? sum->wire / rows : 0;
    char now[32];

    if (!o->csv) {
        if (o->check)
            printf("# %-20s : %d %s\n", "Out of bounds values", bad_rows,
                   bad_rows ? "FAILED" : "OK");
        printf("# %-20s : %g\n# %-20s : %g\n#\n# Collective test concluded: %s\n",
               "Avg bus bandwidth", busbw, "Avg wire bandwidth", wire, lcc_coll_names[o->coll]);
        fflush(stdout);
    }
    if (!j->f)
        return;
    lcj_end(j); /* results */
    lcj_key(j, "out_of_bounds");
    lcj_begin(j, '{');
    lcj_key(j, "count");
    lcj_int(j, bad_rows);
    lcj_key(j, "okay");
    lcj_bool(j, bad_rows == 0);
    lcj_end(j);
    lcj_key(j, "average_bus_bandwidth");
    lcj_begin(j, '{');
    lcj_key(j, "bandwidth");
    lcj_num(j, busbw);
    lcj_end(j);
    lcj_key(j, "average_wire_bandwidth");
    lcj_num(j, wire);
    lcj_now(now, sizeof(now));
    lcj_key(j, "end_time");
    lcj_str(j, now);
}
