#!/usr/bin/python3
"""model.py - lioncub's cost model (costs.py) checked against this machine and
extrapolated to clusters; writes docs/scaling.md and its plot.

  bench/model/model.py --validate [--quick]   measure here (root: lc_run --net),
                                              then write the doc
  bench/model/model.py --from FILE.json        write the doc from a saved run

Measured inputs: the kernel rates (lc_bench_kernels at lioncub's active SIMD
level), the latency and per-message cost of the emulated link (lc_ping), and
for the check the times of the flat vote at p = 2..8 (a host per rank, and
hosts of 2 and 4 ranks with lc_run --hosts), of the two-level vote on those
hosts, and of the fp32 ring allreduce
(lc_coll, slowest rank). The predictions for 16..1024 ranks at 8 per host
use the measured kernel rates with a core per rank, and the latency and
message cost of --alpha and --msg (the emulated link's are a loaded 2-core
machine's, not a cluster's). Output: docs/scaling.md, docs/img/scaling.png,
and the inputs and measurements as JSON (--json).
"""
import argparse
import json
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(REPO, "bench", "report"))
import costs  # noqa: E402
import machine as report_machine  # noqa: E402
from render import table  # noqa: E402
from runs import csv_rows  # noqa: E402

TCP_PAYLOAD = 1448 / 1514  # TCP payload per Ethernet frame at MTU 1500 (tbf counts frames)
PS = (16, 32, 64, 128, 256, 512, 1024)
RATES = (10e9, 25e9, 100e9, 400e9)
PER_HOST = 8


def sh(argv, env=None):
    print("model: " + " ".join(f"{k}={v}" for k, v in (env or {}).items()) + " " + " ".join(os.path.relpath(a, REPO) if a.startswith(REPO) else a
                               for a in argv), flush=True)
    res = subprocess.run(argv, cwd=REPO, env=dict(os.environ, **(env or {})), capture_output=True,
                         text=True, check=False)
    if res.returncode:
        sys.exit(f"model: {argv[0]} failed ({res.returncode}):\n{res.stdout[-2000:]}{res.stderr[-2000:]}")
    return res.stdout


def measure(build, quick, rate):
    b = os.path.join(build, "bin")
    simd = re.search(r"active (\w+)", sh([os.path.join(b, "lc_info")])).group(1)
    k = csv_rows(sh([os.path.join(b, "lc_bench_kernels"), "--csv", "--simd", simd]), "kernel,")
    big = max(int(x["bytes"]) for x in k)
    small = min(int(x["bytes"]) for x in k)
    pack = [x for x in k if x["kernel"] == "pack" and x["dtype"] == "fp32" and int(x["bytes"]) == big][0]
    count = {int(x["p"]): float(x["gbps"]) * 1e9 for x in k
             if x["kernel"] == "count+majority/pad" and int(x["bytes"]) == small}
    inputs = {"simd": simd, "pack": float(pack["gbps"]) * 1e9,
              "mem": float(pack["gbps"]) / float(pack["ratio_to_read"]) * 1e9, "count": count}
    run = [os.path.join(b, "lc_run"), "--net", rate, "--timeout", "600"]
    lat = csv_rows(sh(run + ["-n", "2", "--", os.path.join(b, "lc_ping"), "--lat", "-b", "1", "-e", "1",
                             "-n", "2000", "--csv"]), "test,")[0]
    bw = csv_rows(sh(run + ["-n", "2", "--", os.path.join(b, "lc_ping"), "--bw", "-b", "1", "-e", "1",
                            "-n", "20000", "--csv"]), "test,")[0]
    inputs["alpha"] = float(lat["p50_us"]) * 1e-6
    inputs["msg"] = 1 / float(bw["msg_rate"])
    iters = "3" if quick else "10"
    runs = []
    layouts = [(p, 1) for p in ((2, 4, 8) if quick else (2, 3, 4, 5, 6, 7, 8))]
    layouts += [(4, 2), (8, 4), (8, 2)]
    # The two-level vote where this build has it (LC_HIER); the flat one forced then.
    hier = re.search(r"^LC_HIER\s", sh([os.path.join(b, "lc_info"), "-e"]), re.M) is not None
    for op, n in (("vote", 16 << 20), ("vote-two-level", 16 << 20), ("allreduce", 4 << 20)):
        for p, per_host in layouts:
            if ((op == "allreduce" and (per_host > 1 or (quick and p == 8))) or
                    (op == "vote-two-level" and (per_host == 1 or not hier))):
                continue
            hosts = ["--hosts", str(p // per_host)] if per_host > 1 else []
            env = {"LC_HIER": "1" if op == "vote-two-level" else "0"} if hier else None
            out = sh(run + ["-n", str(p)] + hosts + ["--", os.path.join(b, "lc_coll"), "--op",
                                                     op.replace("-two-level", ""), "-b",
                                                     str(4 * n), "-n", iters, "-w", "1", "-a", "3",
                                                     "--csv"], env)
            row = csv_rows(out, "size,")[0]
            runs.append({"op": op, "p": p, "per_host": per_host, "n": n,
                         "ms": float(row["time_us"]) / 1e3, "wrong": int(row["wrong"])})
    return {"inputs": inputs, "runs": runs, "rate": rate,
            "rate_bits": float(re.search(r"LC_NET_RATE_BITS=(\d+)", sh(
                run + ["-n", "1", "--", "env"])).group(1)),
            "cores": os.cpu_count(), "machine": report_machine.describe(b)}


def machine_for(inputs, rate_bits, alpha, msg, ranks=1, cores=None):
    """The model's machine; ranks sharing `cores` (None: a core per rank and one spare)."""
    cores = cores or 2 * ranks
    return costs.Machine(pack=inputs["pack"], count={int(q): v for q, v in inputs["count"].items()},
                         mem=inputs["mem"], alpha=alpha, msg=msg, rate=rate_bits,
                         oversub=max(1.0, ranks / cores))


def predict(op, m, p, n, per_host):
    return {"vote": costs.flat_vote, "vote-two-level": costs.two_level_vote,
            "allreduce": costs.ring_allreduce}[op](m, p, n, per_host)


def validation(data):
    inp, out, errs = data["inputs"], [], []
    for r in data["runs"]:
        m = machine_for(inp, data["rate_bits"] * TCP_PAYLOAD, inp["alpha"], inp["msg"], r["p"],
                        data["cores"])
        pr = predict(r["op"], m, r["p"], r["n"], r["per_host"])
        err = 100 * (pr["total"] - r["ms"] / 1e3) / (r["ms"] / 1e3)
        errs.append(abs(err))
        layout = (f"{r['p'] // r['per_host']} x {r['per_host']}" if r["per_host"] > 1 else
                  f"{r['p']} x 1")
        out.append(({"vote": "vote (flat)"}.get(r["op"], r["op"]), r["p"], layout,
                    f"{r['n'] >> 20}M", f"{r['ms']:.1f}", f"{pr['total'] * 1e3:.1f}",
                    f"{pr['net'] * 1e3:.1f}", f"{pr['cpu'] * 1e3:.1f}", f"{err:+.0f}%", r["wrong"]))
    return out, errs


def scaling(inp, n, alpha, msg):
    rows, cross = [], []
    for rate in RATES:
        m = machine_for(inp, rate * TCP_PAYLOAD, alpha, msg)
        for p in PS:
            f, t, r = (costs.flat_vote(m, p, n, PER_HOST), costs.two_level_vote(m, p, n, PER_HOST),
                       costs.ring_allreduce(m, p, n, PER_HOST))
            rows.append((f"{rate / 1e9:g}", p, f"{f['total'] * 1e3:.1f}", f"{t['total'] * 1e3:.1f}",
                         f"{r['total'] * 1e3:.1f}", f"{r['total'] / f['total']:.1f}x",
                         f"{r['total'] / t['total']:.1f}x"))
    for p in PS:
        def mk(rate):
            return machine_for(inp, rate * TCP_PAYLOAD, alpha, msg)

        def g(x):
            return "-" if x is None else f"{x / 1e9:.0f}"
        cross.append((p,
                      g(costs.crossover(lambda b: costs.flat_vote(mk(b), p, n, PER_HOST)["net"] <=
                                        costs.flat_vote(mk(b), p, n, PER_HOST)["cpu"])),
                      g(costs.crossover(lambda b: costs.two_level_vote(mk(b), p, n, PER_HOST)["net"] <=
                                        costs.two_level_vote(mk(b), p, n, PER_HOST)["cpu"])),
                      g(costs.crossover(lambda b: costs.ring_allreduce(mk(b), p, n, PER_HOST)["total"] <
                                        2 * costs.flat_vote(mk(b), p, n, PER_HOST)["total"])),
                      g(costs.crossover(lambda b: costs.ring_allreduce(mk(b), p, n, PER_HOST)["total"] <
                                        2 * costs.two_level_vote(mk(b), p, n, PER_HOST)["total"]))))
    return rows, cross


def plot(inp, n, alpha, msg, path, name):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, len(RATES), figsize=(4 * len(RATES), 3.8), sharey=True)
    for ax, rate in zip(axes, RATES):
        m = machine_for(inp, rate * TCP_PAYLOAD, alpha, msg)
        for f, label, style in ((costs.flat_vote, "flat vote", "o-"),
                                (costs.two_level_vote, "two-level vote", "s-"),
                                (costs.ring_allreduce, "fp32 ring allreduce", "^-")):
            ax.plot(PS, [f(m, p, n, PER_HOST)["total"] * 1e3 for p in PS], style, label=label)
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("ranks (8 per host)")
        ax.set_title(f"{rate / 1e9:g} Gbit/s", fontsize=9)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel(f"predicted time (ms), N = {n / 1e9:g}G")
    axes[0].legend(fontsize=8)
    fig.suptitle(f"cost model, kernel rates of {name}", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def document(data, n, alpha, msg, command):
    inp = data["inputs"]
    val, errs = validation(data)
    rows, cross = scaling(inp, n, alpha, msg)
    counts = ", ".join(f"{q}: {v / 1e9:.1f}" for q, v in sorted(inp["count"].items()))
    within = sum(e <= 20 for e in errs)
    return f"""# Scaling: a cost model of the vote and the allreduce

`bench/model/model.py` predicts the time of lioncub's collectives from the
rank count p, the ranks per host L (H = p / L hosts), the element count N, the
host link's rate B and latency, the software cost of one message, and the
kernel rates `lc_bench_kernels` measures; it checks the predictions against
measurements on `lc_run --net` and extrapolates to clusters. This page is
written by that script:

    {command}

## The model (bench/model/costs.py)

Every schedule pipelines segments, so a prediction is the larger of the wire
time and the compute time (ranks that share cores stretch the compute time),
plus the latency of each phase, one segment's compute (filling the pipeline),
and the software cost of every message a rank sends or receives.

- **Flat vote** (all-to-all of sign bits, all-gather of the majority bits;
  segments of {costs.SEGMENT >> 20}M elements, `LC_SEGMENT`, each cut into p chunks):
  a host's link carries 2 N L (H-1)/H bits (2 N (p-1)/p with a host per rank);
  compute is packing 4N bytes of fp32 and counting p rows of N/p bits; 2(p-1)
  messages per segment; two phases of latency.
- **Two-level vote** (count in the host, exchange counts across hosts, read
  the result in the host; [hosts.md](hosts.md)): the counts of a host's L
  votes (w = ceil(log2(L+1)) bits) cross the link once, striped over the
  host's ranks: (w+1)(H-1)/H bits per element per host link; compute adds the
  count over L local rows (read in place in shared memory), the sum of H
  hosts' w-bit counts and the read of the result (at the streaming read
  rate); 2(H-1) messages per segment (none inside the host); four phases of
  latency.
- **fp32 ring allreduce** (reduce-scatter and all-gather, the ranks of a host
  adjacent on the ring, as NCCL's ring): a host's link carries
  2(p-1)/p x 32 N bits; the reduction reads two fp32 and writes one per
  element at the streaming read rate; 2(p-1) steps of latency, two messages
  per {costs.RING_BLOCK >> 10} KiB block and step.

Link rates are payload rates: TCP over Ethernet at MTU 1500 moves 1448 payload
bytes per 1514-byte frame, so a shaped rate B carries {TCP_PAYLOAD:.3f} B.

## Inputs measured here

{data['machine']['name']} ({data['cores']} logical CPUs, lioncub's SIMD level
{inp['simd']}); `lc_bench_kernels --csv --simd {inp['simd']}`:
fp32 pack out of cache {inp['pack'] / 1e9:.1f} GB/s, streaming read
{inp['mem'] / 1e9:.1f} GB/s, count+majority in cache (GB/s by rows:
{counts}). On `lc_run -n 2 --net {data['rate']}`: latency (lc_ping --lat, 1 B,
median) {inp['alpha'] * 1e6:.1f} us; message cost (lc_ping --bw, 1 B,
1 / messages per second) {inp['msg'] * 1e6:.1f} us.

## Check against measurements

`lc_run -n p [--hosts H] --net {data['rate']} -- lc_coll --op vote|allreduce -b BYTES -a 3`
(slowest rank; vote with fp32 input). Here p ranks share {data['cores']} cores: the
compute and message terms are multiplied by p / {data['cores']} where p is larger
(the compute still hides behind the wire: the network stack of the emulated
links needs little CPU at 1 Gbit/s). The CPU the emulated network itself takes
(TCP stacks, bridge, shapers) and the ranks' progress loops competing for the
cores are not in the model: where ranks outnumber cores, the measurement
exceeds the prediction by that much.

{table(["collective", "p", "hosts x ranks", "N", "measured ms", "predicted ms", "wire ms", "compute ms", "error", "#wrong"], val)}

{within} of {len(errs)} predictions are within 20% of the measurement. With
several ranks behind one link, how their flows share the shaped queue is not
in the model either (it assumes the link is shared perfectly).
{"" if any(r["op"] == "vote-two-level" for r in data["runs"]) else
 "This build has no two-level vote (no LC_HIER): its rows are predictions only."}

## Predictions: 16 to 1024 ranks, 8 per host

N = {n / 1e9:g}G elements; the kernel rates above with a core per rank;
latency {alpha * 1e6:g} us and message cost {msg * 1e6:g} us (`--alpha`,
`--msg`: a kernel TCP stack on a cluster's NICs, not the emulated link).
Times in ms; the last two columns are how many times faster than the fp32
ring each vote is.

{table(["Gbit/s", "p", "flat vote", "two-level vote", "fp32 ring", "ring / flat", "ring / two-level"], rows)}

![predicted times](img/scaling.png)

## Crossover points

The link rate (Gbit/s) above which the network stops being the bottleneck
(wire time below compute time), and above which a vote is less than 2x faster
than the fp32 ring; "-" where that does not happen below 10 Tbit/s.

{table(["p", "flat vote compute-bound above", "two-level compute-bound above", "flat vote < 2x ring above", "two-level < 2x ring above"], cross)}

At large p the flat vote's messages shrink to {costs.SEGMENT >> 20}M / p bits
each, and the per-message cost, not the wire, sets its time; the two-level
vote sends 2(H-1) messages per segment instead of 2(p-1) (inside a host it
reads shared memory).
"""


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__.split("\n\n", 1)[1])
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--validate", action="store_true", help="measure here, then write the doc")
    g.add_argument("--from", dest="src", help="a JSON file of an earlier --validate")
    ap.add_argument("--quick", action="store_true", help="fewer rank counts and iterations")
    ap.add_argument("--build", default=os.path.join(REPO, "build"))
    ap.add_argument("--rate", default="1gbit", help="emulated link of the check (default 1gbit)")
    ap.add_argument("--n", type=float, default=1e9, help="elements of the predictions (default 1e9)")
    ap.add_argument("--alpha", type=float, default=10e-6, help="latency of the predictions, s")
    ap.add_argument("--msg", type=float, default=2e-6, help="message cost of the predictions, s")
    ap.add_argument("--json", help="save the inputs and measurements here")
    ap.add_argument("--doc", default=os.path.join(REPO, "docs", "scaling.md"))
    a = ap.parse_args()
    if a.validate:
        if os.geteuid() != 0:
            sys.exit("model: --validate needs root (lc_run --net)")
        data = measure(os.path.abspath(a.build), a.quick, a.rate)
        data["command"] = ("bench/model/model.py --validate" + (" --quick" if a.quick else "") +
                           (f" --rate {a.rate}" if a.rate != "1gbit" else ""))
    else:
        with open(a.src) as f:
            data = json.load(f)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(data, f, indent=1)
    n = int(a.n)
    with open(a.doc, "w") as f:
        f.write(document(data, n, a.alpha, a.msg, data.get("command", "bench/model/model.py")))
    plot(data["inputs"], n, a.alpha, a.msg,
         os.path.join(os.path.dirname(os.path.abspath(a.doc)), "img", "scaling.png"),
         data["machine"]["name"])
    print(f"model: wrote {a.doc}")


if __name__ == "__main__":
    main()
