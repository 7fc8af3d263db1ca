"""plots.py - the report's figures (matplotlib, Debian's python3-matplotlib),
drawn from one bench/report run: floor % against size per provider, vote and
allreduce against Open MPI, step time per mode, loss against wall-clock time.
Each function writes one PNG and returns its file name, or None when the run
has nothing to draw."""
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def _save(fig, d, name):
    fig.tight_layout()
    fig.savefig(os.path.join(d, name), dpi=110)
    plt.close(fig)
    return name


def floor_vs_size(sweeps, rate, machine, d):
    """sweeps: {label: lc_coll rows}."""
    if not any(sweeps.values()):
        return None
    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    for label, rows in sweeps.items():
        if rows:
            pts = sorted((int(x["size"]), float(x["floor_pct"])) for x in rows)
            ax.plot([s / 4 for s, _ in pts], [f for _, f in pts], "o-", label=label)
    ax.set_xscale("log", base=2)
    ax.set_xlabel("elements per rank (fp32 input: 4 bytes each)")
    ax.set_ylabel("% of the wire-time floor")
    ax.set_ylim(0, 105)
    ax.grid(alpha=0.3)
    ax.legend()
    ax.set_title(f"vote against its wire floor, {rate} links\n{machine}", fontsize=9)
    return _save(fig, d, "floor_vs_size.png")


def vs_mpi(rows, rate, machine, d):
    if not rows:
        return None
    series = [("vote_ms", "lioncub vote"), ("lc_allreduce_ms", "lioncub allreduce fp32"),
              ("mpi_allreduce_ms", "MPI_Allreduce fp32"),
              ("mpi_allgather_vote_ms", "MPI_Allgather + local vote")]
    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    w = 0.8 / len(series)
    for i, (key, label) in enumerate(series):
        xs = [k + (i - (len(series) - 1) / 2) * w for k in range(len(rows))]
        ax.bar(xs, [float(r[key]) for r in rows], w, label=label)
    ax.set_xticks(range(len(rows)), [f"p = {r['p']}, N = {r['count']}" for r in rows])
    ax.set_yscale("log")
    ax.set_ylabel("time per call (ms, slowest rank)")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title(f"lioncub against Open MPI, {rate} links\n{machine}", fontsize=9)
    return _save(fig, d, "vs_mpi.png")


def step_times(train, torch, rate, machine, d):
    panels = [(rows, title) for rows, title in ((train, "lc_train (C)"),
                                                (torch, "PyTorch (bench/torch)")) if rows]
    if not panels:
        return None
    fig, axes = plt.subplots(1, len(panels), figsize=(5.5 * len(panels), 4.2), squeeze=False)
    for ax, (rows, title) in zip(axes[0], panels):
        ps = sorted({x["p"] for x in rows})
        modes = list(dict.fromkeys(x["mode"] for x in rows))
        w = 0.8 / len(ps)
        for i, p in enumerate(ps):
            by = {x["mode"]: x["step_ms"] for x in rows if x["p"] == p}
            xs = [k + (i - (len(ps) - 1) / 2) * w for k in range(len(modes))]
            ax.bar(xs, [by.get(m, 0) for m in modes], w, label=f"p = {p}")
        ax.set_xticks(range(len(modes)), modes, rotation=30, ha="right", fontsize=8)
        ax.set_ylabel("step time (ms)")
        ax.grid(axis="y", alpha=0.3)
        ax.legend(fontsize=8)
        ax.set_title(title, fontsize=9)
    fig.suptitle(f"step time per mode, {rate} links; {machine}", fontsize=9)
    return _save(fig, d, "step_time.png")


def loss_vs_time(train, rate, machine, d):
    rows = [x for x in train or [] if x["curve"]]
    if not rows:
        return None
    ps = sorted({x["p"] for x in rows})
    fig, axes = plt.subplots(1, len(ps), figsize=(5.5 * len(ps), 4.2), squeeze=False)
    for ax, p in zip(axes[0], ps):
        for x in rows:
            if x["p"] != p:
                continue
            t, ts, ls = 0.0, [], []
            for _, loss, ms in x["curve"]:
                t += ms / 1000
                ts.append(t)
                ls.append(loss)
            ax.plot(ts, ls, label=x["mode"], lw=1.2)
        ax.set_xlabel("wall-clock time (s, sum of step times)")
        ax.set_ylabel("training loss (mean over ranks)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        ax.set_title(f"lc_train, p = {p}", fontsize=9)
    fig.suptitle(f"loss against wall-clock time, {rate} links; {machine}", fontsize=9)
    return _save(fig, d, "loss_vs_time.png")
