"""step_time.py - per-step time of data-parallel Lion in PyTorch: DDP over gloo or LionCub.

The model and task of lc_train's benchmark: an MLP (256 inputs, 6 hidden
layers of 1024, ReLU, 10 classes; about 5.5 million parameters), batch 32 per
rank of Gaussian inputs labelled by a fixed random teacher plus noise. --mode
ddp is DistributedDataParallel over gloo (fp32 gradient allreduce overlapped
with backward, DDP's defaults) with the plain Lion of examples/torch/lion.py;
the other modes are LionCub without DDP. Rank 0 prints one line:

  summary mode=M ranks=P params=N steps=S step_ms=... (median over the steps
  after --warmup, mean over ranks) final_loss=... (last 10 steps, mean over
  ranks) bytes_per_step=... (payload one rank sends: LionCub's count, or
  2(p-1)/p * 4N for DDP's ring allreduce) wire_bytes_per_step=... (what the
  rank's interface sent, headers included; -1 on loopback) and, for LionCub,
  opt_ms (median wall time of opt.step()), c_ms (median of the C step's own
  time, last_step_info["total_seconds"]), py_ms (median over the steps of
  the difference of the two: the Python layer) and py_pct (py_ms in % of
  step_ms). Every rank uses one thread, BLAS included.

    build/bin/lc_run -n 4 --net 1gbit -- /usr/bin/python3 bench/torch/step_time.py --mode vote
"""
import argparse
import os
import statistics
import sys
import time

# One BLAS thread per rank, as lc_train: torch.set_num_threads does not reach
# an OpenBLAS that torch calls as its generic BLAS (Debian's build), and it
# must be set before torch loads the library.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "examples", "torch"))
from data_parallel import DataParallel  # noqa: E402

MODES = ("ddp", "vote", "vote-avg", "vote-l1", "global-fp32", "global-bf16")


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mode", choices=MODES, default="vote")
    ap.add_argument("--steps", type=int, default=60, help="timed and warm-up steps in all")
    ap.add_argument("--warmup", type=int, default=10, help="first steps left out of step_ms")
    ap.add_argument("--width", type=int, default=1024)
    ap.add_argument("--depth", type=int, default=6, help="hidden layers")
    ap.add_argument("--in", dest="inputs", type=int, default=256)
    ap.add_argument("--classes", type=int, default=10)
    ap.add_argument("--batch", type=int, default=32, help="samples per rank and step")
    ap.add_argument("--lr", type=float, default=3e-4)
    ap.add_argument("--wd", type=float, default=0.1)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    if not 0 <= args.warmup < args.steps:
        ap.error("--warmup must lie in [0, --steps)")
    return args


def mlp(dims, act):
    layers = []
    for i in range(len(dims) - 1):
        layers += [nn.Linear(dims[i], dims[i + 1]), act()]
    return nn.Sequential(*layers[:-1])


def make_teacher(inputs, classes):
    teacher = mlp([inputs, 64, 64, classes], nn.Tanh)
    with torch.no_grad():
        for layer in teacher[::2]:
            layer.weight.normal_(0.0, 2.0 / layer.in_features ** 0.5)
    return teacher


def tx_bytes():
    """Bytes sent by lc_run --net's interface in this namespace, or None on loopback."""
    ifname = os.environ.get("LC_NET_HOSTS") and os.environ.get("LC_TCP_IFNAME")
    if not ifname:
        return None
    with open("/proc/net/dev") as f:  # per network namespace, unlike /sys/class/net
        for line in f:
            name, _, counters = line.partition(":")
            if name.strip() == ifname:
                return int(counters.split()[8])
    return None


def main():
    args = parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    teacher = make_teacher(args.inputs, args.classes)
    model = mlp([args.inputs] + [args.width] * args.depth + [args.classes], nn.ReLU)
    nparams = sum(p.numel() for p in model.parameters())

    dp = DataParallel(model, args.mode, args.lr, args.wd)  # DDP + Lion, or LionCub
    model, opt, rank, size = dp.model, dp.opt, dp.rank, dp.size

    gen = torch.Generator().manual_seed(args.seed * 1000003 + rank + 1)
    step_s, opt_s, c_s, losses, payload = [], [], [], [], 0
    if rank == 0:
        print(f"step_time: mode {args.mode}, {size} ranks, {nparams} parameters, "
              f"batch {args.batch} per rank, {args.steps} steps ({args.warmup} warm-up)",
              flush=True)
    dp.mean([0.0])  # every rank ready before the clock starts
    for s in range(args.steps):
        if s == args.warmup:
            tx0 = tx_bytes()
        t0 = time.perf_counter()
        with torch.no_grad():
            x = torch.randn(args.batch, args.inputs, generator=gen)
            y = (teacher(x) + 0.5 * torch.randn(args.batch, args.classes, generator=gen)).argmax(1)
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        t1 = time.perf_counter()
        opt.step()
        t2 = time.perf_counter()
        losses.append(loss.item())
        if s >= args.warmup:
            step_s.append(t2 - t0)
            opt_s.append(t2 - t1)
            if args.mode != "ddp":
                c_s.append(opt.last_step_info["total_seconds"])
                payload += opt.last_step_info["bytes_sent"]
    tx1 = tx_bytes()
    timed = args.steps - args.warmup

    if args.mode == "ddp":
        payload = 2 * (size - 1) / size * 4 * nparams * timed
    py_s = [o - c for o, c in zip(opt_s, c_s)]
    med = statistics.median
    step_ms, opt_ms, c_ms, py_ms = (1e3 * v for v in dp.mean(
        [med(step_s), med(opt_s), med(c_s) if c_s else 0.0, med(py_s) if py_s else 0.0]))
    final_loss, = dp.mean([statistics.mean(losses[-10:])])
    if rank == 0:
        wire = (tx1 - tx0) / timed if tx0 is not None else -1
        line = (f"summary mode={args.mode} ranks={size} params={nparams} steps={args.steps} "
                f"warmup={args.warmup} step_ms={step_ms:.3f} final_loss={final_loss:.6f} "
                f"bytes_per_step={payload / timed:.0f} wire_bytes_per_step={wire:.0f}")
        if args.mode != "ddp":
            line += (f" opt_ms={opt_ms:.3f} c_ms={c_ms:.3f} py_ms={py_ms:.3f} "
                     f"py_pct={100 * py_ms / step_ms:.2f}")
        print(line, flush=True)
    dp.close()


if __name__ == "__main__":
    main()
