"""digits_run.py - one run of the fidelity study: LionCub on scikit-learn's digits,
logging what the study compares (run under lc_run; rank 0 writes --out JSON).

Per step: the training loss averaged over the ranks and the wall-clock time;
every --var-every steps: each layer's momentum variance across the ranks (the
mean over the layer's elements of the variance of the ranks' momenta, which
the Lion Cub authors log to choose sync schedules); at the end: held-out
accuracy. The model, data split and sharding are examples/torch/digits.py's.
"""
import argparse
import json
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "examples", "torch"))
from digits import load_split, make_model  # noqa: E402

import lioncub  # noqa: E402
from lioncub.torch import LionCub, MomentumSync, broadcast_parameters  # noqa: E402


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mode", required=True,
                    choices=("global-fp32", "global-bf16", "vote", "vote-avg", "vote-l1"))
    ap.add_argument("--levels", default="default", help="vote-l1: 'default' (7), 'authors' "
                    "(127 // p) or a number")
    ap.add_argument("--msync", type=int, default=0, help="momentum sync every N steps (0: off)")
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--wd", type=float, default=0.1)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--var-every", type=int, default=5)
    ap.add_argument("--out", required=True)
    return ap.parse_args()


def layer_variances(opt, comm):
    """Per parameter tensor: the mean over elements of the momenta's variance across ranks."""
    out = []
    for st in opt.state_dict()["state"].values():
        m = st["exp_avg"].reshape(-1).contiguous()
        all_m = comm.allgather(m).double()
        out.append(all_m.var(dim=0, unbiased=False).mean().item())
    return out


def main():
    args = parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    comm = lioncub.default_communicator()
    rank, size = comm.rank, comm.size
    model = make_model()
    broadcast_parameters(model)
    levels = {"default": None, "authors": 127 // size}.get(args.levels)
    if levels is None and args.levels not in ("default", "authors"):
        levels = int(args.levels)
    opt = LionCub(model.parameters(), lr=args.lr, weight_decay=args.wd, mode=args.mode,
                  levels=levels, momentum_sync=MomentumSync(args.msync) if args.msync else None)
    names = [n for n, _ in model.named_parameters()]
    train_x, train_y, test_x, test_y = load_split()
    shard_x, shard_y = train_x[rank::size], train_y[rank::size]
    steps_per_epoch = (len(train_y) // size) // args.batch
    shuffle = torch.Generator().manual_seed(args.seed * 1000 + rank)
    log = {"loss": [], "time": [], "var_steps": [], "var": [], "layers": names}
    comm.barrier()
    t0 = time.monotonic()
    step = 0
    for _ in range(args.epochs):
        order = torch.randperm(len(shard_y), generator=shuffle)
        for s in range(steps_per_epoch):
            idx = order[s * args.batch:(s + 1) * args.batch]
            loss = F.cross_entropy(model(shard_x[idx]), shard_y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            step += 1
            mean_loss = comm.allreduce(loss.detach().reshape(1).clone(), "avg").item()
            log["loss"].append(mean_loss)
            log["time"].append(time.monotonic() - t0)
            if step % args.var_every == 0:  # the study's own cost, left out of the clock
                t_v = time.monotonic()
                log["var_steps"].append(step)
                log["var"].append(layer_variances(opt, comm))
                t0 += time.monotonic() - t_v
    with torch.no_grad():
        acc = (model(test_x).argmax(1) == test_y).float().mean().item()
    if rank == 0:
        log.update(mode=args.mode, levels=opt.levels, msync=args.msync, ranks=size,
                   seed=args.seed, steps=step, accuracy=acc)
        with open(args.out, "w") as f:
            json.dump(log, f)
        print(f"digits_run: {args.mode} levels={opt.levels} msync={args.msync} p={size} "
              f"seed={args.seed}: accuracy {acc:.4f}, final loss {log['loss'][-1]:.4f}, "
              f"{log['time'][-1]:.1f} s", flush=True)


if __name__ == "__main__":
    main()
