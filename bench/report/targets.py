"""targets.py - the issues' performance targets and how each is judged from
the figures of one bench/report run. A target's check returns the figure as
the summary table prints it and whether it is met; None when the run did not
measure it (quick mode, a provider or program missing here). The thresholds
are the issues'; every figure comes from the run."""


def _k(res, kernel, simd, dtype, p=None, big=False):
    """A lc_bench_kernels row's GB/s and ratio to the streaming read."""
    rows = [x for x in res.get("kernels") or [] if x["kernel"] == kernel and x["simd"] == simd
            and x["dtype"] == dtype and (p is None or int(x["p"]) == p)]
    if not rows:
        return None
    sizes = sorted({int(x["bytes"]) for x in rows})
    want = sizes[-1] if big else sizes[0]
    row = [x for x in rows if int(x["bytes"]) == want][0]
    return float(row["gbps"]), float(row["ratio_to_read"])


def _best_simd(res):
    simds = {x["simd"] for x in res.get("kernels") or []}
    return "avx512" if "avx512" in simds else "avx2" if "avx2" in simds else None


def pack_out_of_cache(res):
    s = _best_simd(res)
    a, b = (_k(res, "pack", s, d, big=True) for d in ("fp32", "bf16")) if s else (None, None)
    if not a or not b:
        return None
    return f"{a[1]:.2f} / {b[1]:.2f} ({s})", a[1] >= 0.8 and b[1] >= 0.8


def pack_in_cache_avx512(res):
    a = _k(res, "pack", "avx512", "fp32")
    return (f"{a[0] / 4:.1f}", a[0] / 4 >= 15) if a else None


def count_majority(simd, floor):
    def check(res):
        v = [_k(res, "count+majority/pad", simd, "bits", p) for p in (8, 16, 32, 64)]
        if not all(v):
            return None
        return " / ".join(f"{x[0]:.1f}" for x in v), min(x[0] for x in v) >= floor
    return check


def _coll_at(rows, size=None):
    """The row of a lc_coll run at size bytes (default: the largest)."""
    if not rows:
        return None
    size = size or max(int(x["size"]) for x in rows)
    row = [x for x in rows if int(x["size"]) == size]
    return row[0] if row else None


def tcp_floor(res):
    a = _coll_at((res.get("sweep") or {}).get("tcp"), 64 << 20)
    b = _coll_at(res.get("tcp_p8"))
    if not a or not b:
        return None
    fa, fb = float(a["floor_pct"]), float(b["floor_pct"])
    return f"p = 4 {fa:.1f}%, p = 8 {fb:.1f}%", fa >= 85 and fb >= 85


def _mpi_row(res, p):
    rows = [x for x in res.get("mpi") or [] if int(x["p"]) == p]
    return rows[0] if rows else None


def mpi_ratio(num, limit):
    def check(res):
        row = _mpi_row(res, 8)
        if not row:
            return None
        v = float(row[num]) / float(row["vote_ms"])
        return f"{v:.1f}x", v >= limit
    return check


def lc_allreduce_vs_mpi(res):
    rows = sorted(res.get("mpi") or [], key=lambda x: int(x["p"]))
    if not rows:
        return None
    v = [(int(x["p"]), float(x["lc_allreduce_ms"]) / float(x["mpi_allreduce_ms"])) for x in rows]
    return (", ".join(f"{r:.2f} (p = {p})" for p, r in v) + " of Open MPI's time",
            all(r <= 1.1 for _, r in v))


def ping_vs_iperf(provider, limit):
    def check(res):
        g = ((res.get("p2p") or {}).get(provider) or {}).get("gbps")
        i = res.get("iperf")
        if not g or not i:
            return None
        return f"{g / i:.2f}", g / i >= limit
    return check


def ofi_vs_tcp(res):
    sw = res.get("sweep") or {}
    a, b = _coll_at(sw.get("tcp"), 64 << 20), _coll_at(sw.get("ofi"), 64 << 20)
    if not a or not b:
        return None
    v = float(b["time_us"]) / float(a["time_us"])
    return f"{v:.2f} of tcp's time", v <= 1.1


def raweth_floor(key, limit):
    def check(res):
        row = _coll_at(res.get(key))
        if not row:
            return None
        v = float(row["floor_pct"])
        return f"{v:.1f}% (MTU 9000, packed)", v >= limit
    return check


def raweth_latency(res):
    p2p = res.get("p2p") or {}
    a, b = (p2p.get("raweth") or {}).get("lat_min"), (p2p.get("tcp") or {}).get("lat_min")
    if not a or not b:
        return None
    return f"1 B min {a:.1f} against {b:.1f} us", a < b


def plugin_vs_ping(res):
    pl = res.get("plugin")
    if not pl:
        return None
    v = pl["plugin_gbps"] / pl["ping_gbps"]
    return f"ratio {v:.2f}", v >= 0.95


def _steps(rows, p):
    return {x["mode"]: x for x in rows or [] if x["p"] == p}


def train_speedup(base, limit):
    def check(res):
        m = _steps(res.get("train"), 8)
        if base not in m or "vote" not in m:
            return None
        v = m[base]["step_ms"] / m["vote"]["step_ms"]
        return f"{v:.2f}x", v >= limit
    return check


def train_loss(res):
    figs, ok = [], True
    for p in sorted({x["p"] for x in res.get("train") or []}):
        m = _steps(res["train"], p)
        if "global-fp32" not in m:
            continue
        base = m["global-fp32"]["final_loss"]
        for mode in ("vote", "vote-l1"):
            if mode in m:
                gap = 100 * (m[mode]["final_loss"] - base) / base
                figs.append(f"{mode} {gap:+.2f}% (p = {p})")
                ok = ok and abs(gap) <= 5
    return ("; ".join(figs), ok) if figs else None


def msync_cost(res):
    a = _steps(res.get("train"), 8).get("vote")
    b = _steps(res.get("msync"), 8).get("vote")
    if not a or not b:
        return None
    v = 100 * (b["step_ms"] - a["step_ms"]) / a["step_ms"]
    return f"{v:+.1f}%", v < 10


def torch_speedup(res):
    figs, ok = [], True
    for p in sorted({x["p"] for x in res.get("torch") or []}):
        m = _steps(res["torch"], p)
        if "ddp" in m and "vote" in m:
            v = m["ddp"]["step_ms"] / m["vote"]["step_ms"]
            figs.append(f"{v:.2f}x (p = {p})")
            ok = ok and v >= 4
    return (", ".join(figs), ok) if figs else None


def torch_python(res):
    v = [x["py_pct"] for x in res.get("torch") or [] if x.get("py_pct") is not None]
    if not v:
        return None
    return (f"{min(v):.2f}%" if min(v) == max(v) else f"{min(v):.2f}-{max(v):.2f}%"), max(v) < 3


def digits_gap(res):
    d = res.get("digits") or {}
    if not d.get("vote") or not d.get("ddp"):
        return None
    a = sum(d["vote"].values()) / len(d["vote"])
    b = sum(d["ddp"].values()) / len(d["ddp"])
    return f"{a:.2f}% against {b:.2f}% ({b - a:+.2f} points)", b - a <= 1


def two_level(layout, limit):
    """Packed input (the Lion step's): two-level against the faster flat setting."""
    def check(res):
        v = ((res.get("hosts") or {}).get(layout) or {}).get("packed") or {}
        flats = [float(v[k]["time_us"]) for k in ("flat", "flat-depth1") if k in v]
        if not flats or "two-level" not in v:
            return None
        ratio = min(flats) / float(v["two-level"]["time_us"])
        wrong = sum(int(x["wrong"]) for x in v.values())
        return f"{ratio:.2f}x, #wrong {wrong}", ratio >= limit and wrong == 0
    return check


def shm_vs_tcp(res):
    v = res.get("shm") or {}
    if "tcp" not in v or "shm" not in v:
        return None
    ratio = float(v["tcp"]["time_us"]) / float(v["shm"]["time_us"])
    wrong = int(v["tcp"]["wrong"]) + int(v["shm"]["wrong"])
    return f"{ratio:.2f}x, #wrong {wrong}", ratio >= 3.0 and wrong == 0


# area, target, section anchor, check
def _engine_lat(res, elements):
    rows = [x for x in (res.get("engine") or {}).get("latency") or []
            if x["elements"] == elements and x["base_us"]]
    return [(x["net"], x["base_us"] / x["this_us"]) for x in rows]


def engine_small(res):
    v = _engine_lat(res, 1024) + _engine_lat(res, 65536)
    if len(v) < 2:
        return None
    return " / ".join(f"{r:.2f}x" for _, r in v), min(r for _, r in v) >= 2.0


def engine_large(res):
    v = _engine_lat(res, 16 << 20)
    if not v:
        return None
    return " / ".join(f"{r:.2f}x" for _, r in v), min(r for _, r in v) >= 0.95


def overlap_ratio(o):
    """The better overlapped step over max(compute, comm) of the plain one."""
    return min(o["overlap_ms"], o["thread_ms"]) / max(o["compute_ms"], o["comm_ms"])


def engine_overlap(res):
    rows = (res.get("engine") or {}).get("overlap") or []
    o = next((x for x in rows if x["p"] == 4), None)
    if not o:
        return None
    best = min(o["overlap_ms"], o["thread_ms"])
    ratio = overlap_ratio(o)
    return f"{ratio:.2f} ({best:.1f} vs plain {o['plain_ms']:.1f} ms)", \
        ratio <= 1.10 and best < o["plain_ms"]


TARGETS = [
    ("kernels", "fp32 / bf16 pack out of cache >= 0.8 of a streaming read", "kernels",
     pack_out_of_cache),
    ("kernels", "fp32 pack in cache >= 15 G elements/s with AVX-512", "kernels",
     pack_in_cache_avx512),
    ("kernels", "count+majority, p = 8 / 16 / 32 / 64, in cache >= 20 GB/s with AVX2", "kernels",
     count_majority("avx2", 20)),
    ("kernels", "the same >= 35 GB/s with AVX-512", "kernels", count_majority("avx512", 35)),
    ("tcp", "vote >= 85% of the wire floor at p = 4 and 8", "collectives", tcp_floor),
    ("tcp", "vote >= 30x faster than MPI_Allreduce fp32 at p = 8", "against-open-mpi",
     mpi_ratio("mpi_allreduce_ms", 30)),
    ("tcp", "vote >= 4x faster than MPI_Allgather + local vote at p = 8", "against-open-mpi",
     mpi_ratio("mpi_allgather_vote_ms", 4)),
    ("tcp", "lc_allreduce fp32 within 10% of MPI_Allreduce, or faster", "against-open-mpi",
     lc_allreduce_vs_mpi),
    ("tcp", "lc_ping streaming >= 95% of iperf3", "point-to-point", ping_vs_iperf("tcp", 0.95)),
    ("ofi", "vote within 10% of the tcp provider, p = 4", "collectives", ofi_vs_tcp),
    ("ofi", "lc_ping streaming >= 90% of iperf3", "point-to-point", ping_vs_iperf("ofi", 0.90)),
    ("raweth", "vote >= 90% of the floor, no impairment, p = 4", "collectives",
     raweth_floor("raweth_jumbo", 90)),
    ("raweth", "vote >= 75% of the floor at 1% loss, p = 4", "collectives",
     raweth_floor("raweth_jumbo_loss", 75)),
    ("raweth", "latency below tcp's on the same link", "point-to-point", raweth_latency),
    ("hosts", "2 hosts x 4 ranks: two-level vote >= 1.8x faster than flat, #wrong 0",
     "hosts-with-many-ranks", two_level("2x4", 1.8)),
    ("hosts", "4 hosts x 2 ranks: two-level vote >= 1.2x faster than flat", "hosts-with-many-ranks",
     two_level("4x2", 1.2)),
    ("hosts", "one host, p = 4: vote over shared memory >= 3x faster than over tcp on loopback",
     "hosts-with-many-ranks", shm_vs_tcp),
    ("engine", "small votes (1K, 64K elements; loopback, emulated link) >= 2x faster than "
     "the base build, p = 4", "collective-engine", engine_small),
    ("engine", "16M-element votes no slower than the base build (>= 0.95x)", "collective-engine",
     engine_large),
    ("engine", "lc_train --overlap step <= 1.10 x max(compute, vote), below the plain step, "
     "p = 4", "collective-engine", engine_overlap),
    ("NCCL plugin", "streaming within 5% of lc_ping", "nccl-plugin", plugin_vs_ping),
    ("training", "vote >= 5x faster per step than global-fp32 at p = 8", "training",
     train_speedup("global-fp32", 5)),
    ("training", "vote >= 2.5x faster than global-bf16 at p = 8", "training",
     train_speedup("global-bf16", 2.5)),
    ("training", "final loss of vote, vote-l1 within 5% of global-fp32", "training", train_loss),
    ("training", "momentum sync every 100 steps < 10% of the vote's step", "training", msync_cost),
    ("PyTorch", "vote >= 4x faster per step than DDP + gloo + Lion", "pytorch", torch_speedup),
    ("PyTorch", "Python layer < 3% of the step", "pytorch", torch_python),
    ("PyTorch", "digits accuracy of vote within 1 point of DDP + Lion", "pytorch", digits_gap),
]


def summary(res):
    """(area, target, figure, status, anchor) for every target."""
    out = []
    for area, text, anchor, check in TARGETS:
        v = check(res)
        if v is None:
            out.append((area, text, "-", "not measured in this run", anchor))
        else:
            out.append((area, text, v[0], "**met**" if v[1] else "**not met**", anchor))
    return out
