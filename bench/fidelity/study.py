"""study.py - the fidelity study: every Lion mode of LionCub on scikit-learn's digits.

Runs digits_run.py under lc_run for each configuration, rank count and seed,
then writes the report: held-out accuracy (mean and spread over seeds) per
configuration and rank count, loss against step and against wall-clock time,
and the per-layer momentum variance across ranks. Configurations: the global
modes (fp32, bf16), vote, vote-avg, vote-l1 with lioncub's default levels
(s = 7) and with the authors' (s = 127 // p), the vote modes with and without
momentum sync.

    bench/fidelity/study.py --out /tmp/study --report docs/fidelity-study.md

Needs PYTHONPATH=build/python, build/bin/lc_run and python3-matplotlib; --net 1gbit (root) puts
each rank behind an emulated 1 Gbit/s link, as the other benchmarks do.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))

CONFIGS = [("global-fp32", "default", 0), ("global-bf16", "default", 0),
           ("vote", "default", 0), ("vote", "default", 1),
           ("vote-avg", "default", 0), ("vote-avg", "default", 1),
           ("vote-l1", "default", 0), ("vote-l1", "default", 1),
           ("vote-l1", "authors", 0), ("vote-l1", "authors", 1)]


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ps", type=int, nargs="+", default=[4, 8])
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--msync", type=int, default=20, help="sync period of the 'with sync' runs")
    ap.add_argument("--net", default="none", help="lc_run --net rate, or none (loopback)")
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--out", required=True, help="folder for each run's JSON and the plots")
    ap.add_argument("--report", help="markdown file to write (with plots beside it in img/)")
    return ap.parse_args()


def label(mode, levels, msync):
    name = mode + (f" s={levels}" if mode == "vote-l1" else "")
    return name + (" +sync" if msync else "")


def run_one(a, p, mode, levels, msync, seed):
    out = os.path.join(a.out, f"{mode}_{levels}_{msync}_p{p}_s{seed}.json")
    if os.path.exists(out):
        return out
    cmd = [os.path.join(a.build, "bin", "lc_run"), "-n", str(p), "--timeout", "900"]
    if a.net != "none":
        cmd += ["--net", a.net]
    cmd += ["--", sys.executable, os.path.join(HERE, "digits_run.py"), "--mode", mode,
            "--levels", levels, "--msync", str(a.msync if msync else 0), "--seed", str(seed),
            "--epochs", str(a.epochs), "--out", out]
    env = dict(os.environ, PYTHONPATH=os.path.join(a.build, "python"))
    res = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=1000)
    if res.returncode != 0 or not os.path.exists(out):
        sys.exit(f"study: {' '.join(cmd)} failed:\n{res.stdout[-3000:]}\n{res.stderr[-3000:]}")
    print(res.stdout.strip().splitlines()[-1], flush=True)
    return out


def plot(a, runs, img_dir, rel):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths = []
    for p in a.ps:
        fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
        for (mode, levels, msync) in CONFIGS:
            logs = runs[(mode, levels, msync, p)]
            n = min(len(r["loss"]) for r in logs)
            loss = [statistics.mean(r["loss"][i] for r in logs) for i in range(n)]
            t = [statistics.mean(r["time"][i] for r in logs) for i in range(n)]
            w = 10  # moving average over steps
            sm = [statistics.mean(loss[max(0, i - w + 1):i + 1]) for i in range(n)]
            style = "--" if msync else "-"
            axes[0].plot(range(1, n + 1), sm, style, label=label(mode, levels, msync))
            axes[1].plot(t, sm, style, label=label(mode, levels, msync))
        axes[0].set_xlabel("step")
        axes[1].set_xlabel("wall-clock seconds")
        for ax in axes:
            ax.set_ylabel(f"training loss (mean of {len(a.seeds)} seeds, 10-step average)")
            ax.set_yscale("log")
            ax.grid(alpha=0.3)
        axes[1].legend(fontsize=7)
        fig.suptitle(f"digits, p = {p}: loss against step and against time")
        name = f"fidelity_loss_p{p}.png"
        fig.tight_layout()
        fig.savefig(os.path.join(img_dir, name), dpi=110)
        plt.close(fig)
        paths.append(f"{rel}/{name}")
    p = a.ps[0]
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for mode, levels, msync in [("vote", "default", 0), ("vote", "default", 1),
                                ("vote-l1", "authors", 0)]:
        logs = runs[(mode, levels, msync, p)]
        r = logs[0]
        for li, layer in enumerate(r["layers"]):
            if layer.endswith("weight"):
                ax.plot(r["var_steps"], [v[li] for v in r["var"]],
                        "--" if msync else "-", label=f"{label(mode, levels, msync)}: {layer}")
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("momentum variance across ranks (layer mean)")
    ax.set_title(f"digits, p = {p}, seed {a.seeds[0]}")
    ax.legend(fontsize=6)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    name = f"fidelity_momentum_var_p{p}.png"
    fig.savefig(os.path.join(img_dir, name), dpi=110)
    plt.close(fig)
    paths.append(f"{rel}/{name}")
    return paths


def main():
    a = parse_args()
    os.makedirs(a.out, exist_ok=True)
    runs = {}
    for p in a.ps:
        for mode, levels, msync in CONFIGS:
            runs[(mode, levels, msync, p)] = []
            for seed in a.seeds:
                with open(run_one(a, p, mode, levels, msync, seed)) as f:
                    runs[(mode, levels, msync, p)].append(json.load(f))
    lines = ["| configuration | " + " | ".join(f"p = {p}: accuracy % (mean ± sd), s" for p in a.ps)
             + " |", "|---|" + "---|" * len(a.ps)]
    for mode, levels, msync in CONFIGS:
        cells = []
        for p in a.ps:
            logs = runs[(mode, levels, msync, p)]
            acc = [100 * r["accuracy"] for r in logs]
            sd = statistics.stdev(acc) if len(acc) > 1 else 0.0
            secs = statistics.mean(r["time"][-1] for r in logs)
            extra = f", s = {logs[0]['levels']}" if mode == "vote-l1" else ""
            cells.append(f"{statistics.mean(acc):.2f} ± {sd:.2f} ({secs:.1f} s{extra})")
        lines.append(f"| {label(mode, levels, msync)} | " + " | ".join(cells) + " |")
    table = "\n".join(lines)
    print(table)
    if a.report:
        img_dir = os.path.join(os.path.dirname(os.path.abspath(a.report)), "img")
        os.makedirs(img_dir, exist_ok=True)
        pics = plot(a, runs, img_dir, "img")
        steps = runs[CONFIGS[0] + (a.ps[0],)][0]["steps"]
        cmd = (f"PYTHONPATH=build/python bench/fidelity/study.py --ps {' '.join(map(str, a.ps))} "
               f"--seeds {' '.join(map(str, a.seeds))} --epochs {a.epochs} --msync {a.msync} "
               f"--net {a.net} --out {a.out} --report {a.report}")
        with open(a.report, "w") as f:
            f.write(STUDY_MD.format(table=table, cmd=cmd, epochs=a.epochs, steps=steps,
                                    msync=a.msync, seeds=len(a.seeds),
                                    machine=machine(), net=a.net,
                                    pics="\n".join(f"![{os.path.basename(x)}]({x})"
                                                   for x in pics)))


def machine():
    model = "unknown CPU"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return f"{os.cpu_count()} vCPUs, {model}"


STUDY_MD = """# Fidelity study: LionCub's modes on real data

scikit-learn's digits (1797 8x8 images, 20% held out), the CNN of
examples/torch/digits.py, batch 16 per rank, lr 1e-3, weight decay 0.1,
{epochs} epochs ({steps} steps at the first rank count), {seeds} seeds;
"+sync": the ranks' momenta averaged every {msync} steps (fp32). Machine:
{machine}; network: {net} (with "none" the ranks talk over loopback, where
communication is nearly free: the times show the steps' compute, and the
loss-against-time plot compares convergence, not the network's cost; the
other benchmarks measure that). Every rank computes the same parameters, so
the accuracy is rank 0's.

Command (regenerates this page and its plots):

    {cmd}

{table}

{pics}

The variance plot shows, for the weight tensors, the mean over a layer's
elements of the variance of the ranks' momenta: without sync it grows with
training as each rank's momentum follows its own shard; a sync resets it to
0 every {msync} steps. The global modes keep one momentum (variance 0).
"""

if __name__ == "__main__":
    main()
