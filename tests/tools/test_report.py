#!/usr/bin/env python3
"""test_report.py - bench/report's judging and writing on canned figures: every
target's status against the threshold worked out by hand (values just above,
at and just below each limit), a target without figures reported as not
measured, and the whole report rendered with every target in its summary.
Runs no benchmark; needs no plotting library."""
import os
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "bench", "report"))
import render  # noqa: E402
import runs  # noqa: E402
import targets  # noqa: E402


def kern(kernel, simd, dtype, p, size, gbps, ratio):
    return {"kernel": kernel, "simd": simd, "dtype": dtype, "p": str(p), "bytes": str(size),
            "gbps": str(gbps), "ratio_to_read": str(ratio)}


def coll(size, us, floor, wrong=0):
    return {"size": str(size), "time_us": str(us), "floor_pct": str(floor), "wrong": str(wrong)}


def step(mode, p, ms, loss, py_pct=None):
    return {"mode": mode, "p": p, "step_ms": ms, "comm_ms": 1.0, "final_loss": loss, "bytes": 1,
            "curve": [], "py_ms": None if py_pct is None else 0.3, "py_pct": py_pct}


def lat(elements, net, this_us, base_us):
    return {"size": "-", "elements": elements, "net": net, "this_us": this_us, "base_us": base_us}


SMALL, BIG = 65536, 256 << 20
RES = {
    "kernels": [kern("pack", "avx512", "fp32", 0, SMALL, 64.0, 0.5),        # 16 G el/s: met
                kern("pack", "avx512", "fp32", 0, BIG, 10.0, 0.85),
                kern("pack", "avx512", "bf16", 0, BIG, 9.0, 0.79)]          # 0.79 < 0.8
               + [kern("count+majority/pad", "avx2", "bits", p, SMALL, v, 0.3)
                  for p, v in ((8, 21), (16, 22), (32, 23), (64, 19.9))]     # 19.9 < 20
               + [kern("count+majority/pad", "avx512", "bits", p, SMALL, 35, 0.4)
                  for p in (8, 16, 32, 64)],                                 # 35 >= 35
    "sweep": {"tcp": [coll(4 << 20, 5000, 40), coll(64 << 20, 40000, 86.0)],
              "ofi": [coll(64 << 20, 42000, 80.0)]},                         # 1.05 of tcp
    "tcp_p8": [coll(64 << 20, 60000, 84.9)],                                 # 84.9 < 85
    "raweth_jumbo": [coll(2 << 20, 30000, 90.0)],                            # 90 >= 90
    "raweth_jumbo_loss": [coll(2 << 20, 36000, 74.9)],                       # 74.9 < 75
    "mpi": [{"p": "4", "count": "16M", "vote_ms": "10", "vote_floor_pct": "50",
             "lc_allreduce_ms": "110", "lc_allreduce_floor_pct": "80", "mpi_allreduce_ms": "100",
             "mpi_allreduce_floor_pct": "60", "mpi_allgather_vote_ms": "50",
             "mpi_allgather_vote_floor_pct": "20"},                          # lc/MPI 1.10
            {"p": "8", "count": "16M", "vote_ms": "10", "vote_floor_pct": "50",
             "lc_allreduce_ms": "155", "lc_allreduce_floor_pct": "80", "mpi_allreduce_ms": "310",
             "mpi_allreduce_floor_pct": "30", "mpi_allgather_vote_ms": "39",
             "mpi_allgather_vote_floor_pct": "20"}],                         # 31x; 3.9x
    "p2p": {"tcp": {"gbps": 0.95, "lat_min": 17.0, "lat_avg": 20.0, "lat_p99": 30.0},
            "ofi": {"gbps": 0.89, "lat_min": 16.0, "lat_avg": 21.0, "lat_p99": 31.0},
            "raweth": {"gbps": 0.90, "lat_min": 12.0, "lat_avg": 15.0, "lat_p99": 25.0}},
    "iperf": 1.0,                                                            # 0.95 met, 0.89 not
    "plugin": {"plugin_gbps": 0.96, "ping_gbps": 1.0},
    "train": [step("global-fp32", 8, 500.0, 1.0), step("global-bf16", 8, 240.0, 1.0),
              step("vote", 8, 100.0, 1.04), step("vote-l1", 8, 200.0, 0.94)],  # 5x; 2.4x; -6%
    "msync": [step("vote", 8, 109.0, 1.0)],                                  # +9%
    "torch": [step("ddp", 8, 400.0, 1.0), step("vote", 8, 100.0, 1.0, py_pct=0.5),
              step("vote-l1", 8, 150.0, 1.0, py_pct=3.1)],                   # 4x; 3.1% >= 3
    "digits": {"vote": {1: 97.0, 2: 98.0}, "ddp": {1: 98.0, 2: 98.0}},       # 0.5 points
    "hosts": {"2x4": {"packed": {"flat": coll(2 << 20, 180000, 10),
                                 "flat-depth1": coll(2 << 20, 170000, 10),
                                 "two-level": coll(2 << 20, 90000, 18)}}},   # 1.89x vs depth 1
    "shm": {"tcp": coll(2 << 20, 3000, 0), "shm": coll(2 << 20, 1100, 0)},  # 2.7x < 3
    "engine": {"latency": [lat(1024, "none", 100.0, 200.0), lat(65536, "none", 100.0, 250.0),
                           lat(1024, "1gbit", 100.0, 199.0),                 # 1.99x < 2
                           lat(16 << 20, "none", 1000.0, 950.0)],            # 0.95x: met
               "overlap": [{"p": 2, "plain_ms": 70.0, "compute_ms": 50.0, "comm_ms": 20.0,
                            "overlap_ms": 75.0, "thread_ms": 76.0},          # 1.50: not p = 4
                           {"p": 4, "plain_ms": 130.0, "compute_ms": 100.0, "comm_ms": 40.0,
                            "overlap_ms": 110.0, "thread_ms": 111.0}]},      # 1.10, < 130
}

EXPECT = {  # target text -> status, from the comments above
    "fp32 / bf16 pack out of cache >= 0.8 of a streaming read": "**not met**",
    "fp32 pack in cache >= 15 G elements/s with AVX-512": "**met**",
    "count+majority, p = 8 / 16 / 32 / 64, in cache >= 20 GB/s with AVX2": "**not met**",
    "the same >= 35 GB/s with AVX-512": "**met**",
    "2 hosts x 4 ranks: two-level vote >= 1.8x faster than flat, #wrong 0": "**met**",
    "4 hosts x 2 ranks: two-level vote >= 1.2x faster than flat": "not measured in this run",
    "one host, p = 4: vote over shared memory >= 3x faster than over tcp on loopback":
        "**not met**",
    "vote >= 85% of the wire floor at p = 4 and 8": "**not met**",
    "vote >= 30x faster than MPI_Allreduce fp32 at p = 8": "**met**",
    "vote >= 4x faster than MPI_Allgather + local vote at p = 8": "**not met**",
    "lc_allreduce fp32 within 10% of MPI_Allreduce, or faster": "**met**",
    "lc_ping streaming >= 95% of iperf3": "**met**",
    "vote within 10% of the tcp provider, p = 4": "**met**",
    "lc_ping streaming >= 90% of iperf3": "**not met**",
    "vote >= 90% of the floor, no impairment, p = 4": "**met**",
    "vote >= 75% of the floor at 1% loss, p = 4": "**not met**",
    "latency below tcp's on the same link": "**met**",
    "streaming within 5% of lc_ping": "**met**",
    "vote >= 5x faster per step than global-fp32 at p = 8": "**met**",
    "vote >= 2.5x faster than global-bf16 at p = 8": "**not met**",
    "final loss of vote, vote-l1 within 5% of global-fp32": "**not met**",
    "momentum sync every 100 steps < 10% of the vote's step": "**met**",
    "vote >= 4x faster per step than DDP + gloo + Lion": "**met**",
    "Python layer < 3% of the step": "**not met**",
    "digits accuracy of vote within 1 point of DDP + Lion": "**met**",
    "small votes (1K, 64K elements; loopback, emulated link) >= 2x faster than the base build, "
    "p = 4": "**not met**",
    "16M-element votes no slower than the base build (>= 0.95x)": "**met**",
    "lc_train --overlap step <= 1.10 x max(compute, vote), below the plain step, p = 4":
        "**met**",
}


def main():
    got = {t: status for _, t, _, status, _ in targets.summary(RES)}
    assert set(got) == set(EXPECT), set(got) ^ set(EXPECT)
    bad = {t: (got[t], EXPECT[t]) for t in EXPECT if got[t] != EXPECT[t]}
    assert not bad, bad
    figures = {t: f for _, t, f, _, _ in targets.summary(RES)}
    assert figures["vote >= 30x faster than MPI_Allreduce fp32 at p = 8"] == "31.0x"
    assert figures["fp32 pack in cache >= 15 G elements/s with AVX-512"] == "16.0"
    assert all(s == "not measured in this run" for _, _, _, s, _ in targets.summary({}))

    with tempfile.TemporaryDirectory() as out:
        r = runs.Runner(os.path.abspath(os.path.join(HERE, "..", "..")), "/nonexistent/build", out,
                        "1gbit")
        m = {"name": "test machine", "markdown": "**test machine.**"}
        doc = render.document(RES, r, m, "quick", "bench/report/report --quick", {})
    for t, status in EXPECT.items():
        assert f"| {t} |" in doc and status in doc, t
    for section in ("## Machine", "## Summary", "## Kernels", "## Collectives",
                    "## Hosts with many ranks", "## Against Open MPI", "## Point to point",
                    "## NCCL plugin", "## Training", "## PyTorch"):
        assert section in doc, section
    print(f"report: {len(EXPECT)} targets judged as worked out by hand; report rendered")


if __name__ == "__main__":
    main()
