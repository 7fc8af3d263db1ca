"""digits.py - data-parallel training of a small CNN on scikit-learn's digits with LionCub.

Every rank trains the same CNN on its own shard of the training split (80% of
the 1797 8x8 images; the held-out 20% is the same for every seed and rank) and
rank 0 prints, per epoch, the training loss averaged over ranks and the
held-out accuracy. --mode ddp is the usual baseline, DistributedDataParallel
over gloo with the plain Lion of lion.py; every other mode is LionCub, which
differs from it in two lines: the optimizer, and no DDP wrapper (plus one
broadcast of the initial weights); data_parallel.py shows both side by side.

    build/bin/lc_run -n 4 -- /usr/bin/python3 examples/torch/digits.py --mode vote
    build/bin/lc_run -n 4 -- /usr/bin/python3 examples/torch/digits.py --mode ddp

Needs PYTHONPATH=build/python (or lioncub installed). With torch's RANK,
WORLD_SIZE, MASTER_ADDR and MASTER_PORT set instead (by hand: torchrun of
Debian's torch 1.13 fails on Python 3.11, docs/torch.md), both modes use them.
"""
import argparse

import torch
import torch.nn as nn
import torch.nn.functional as F
from sklearn.datasets import load_digits

from data_parallel import DataParallel  # data_parallel.py, beside this file

MODES = ("vote", "vote-avg", "vote-l1", "global-fp32", "global-bf16", "ddp")
SPLIT_SEED = 12345  # the held-out split does not change with --seed


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mode", choices=MODES, default="vote")
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--batch", type=int, default=16, help="samples per rank and step")
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--wd", type=float, default=0.1, help="decoupled weight decay")
    ap.add_argument("--seed", type=int, default=1, help="initial weights and shuffling")
    args = ap.parse_args()
    if args.epochs < 1 or args.batch < 1:
        ap.error("--epochs and --batch must be at least 1")
    return args


def make_model():
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(),
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(32 * 4 * 4, 64), nn.ReLU(), nn.Linear(64, 10))


def load_split():
    """(train_x, train_y, test_x, test_y): images scaled to [0, 1], shape (n, 1, 8, 8)."""
    d = load_digits()
    x = torch.tensor(d.images, dtype=torch.float32).unsqueeze(1) / 16.0
    y = torch.tensor(d.target, dtype=torch.int64)
    perm = torch.randperm(len(y), generator=torch.Generator().manual_seed(SPLIT_SEED))
    n_test = len(y) // 5
    test, train = perm[:n_test], perm[n_test:]
    return x[train], y[train], x[test], y[test]


def main():
    args = parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    model = make_model()

    dp = DataParallel(model, args.mode, args.lr, args.wd)  # DDP + Lion, or LionCub
    model, opt, rank, size = dp.model, dp.opt, dp.rank, dp.size

    train_x, train_y, test_x, test_y = load_split()
    shard_x, shard_y = train_x[rank::size], train_y[rank::size]
    steps_per_epoch = (len(train_y) // size) // args.batch  # the same on every rank
    shuffle = torch.Generator().manual_seed(args.seed * 1000 + rank)
    if rank == 0:
        nparams = sum(p.numel() for p in model.parameters())
        print(f"digits: mode {args.mode}, {size} ranks, {nparams} parameters, "
              f"{len(train_y)} training / {len(test_y)} held-out images, "
              f"{steps_per_epoch} steps per epoch of batch {args.batch} per rank", flush=True)

    steps = 0
    for epoch in range(1, args.epochs + 1):
        model.train()
        order = torch.randperm(len(shard_y), generator=shuffle)
        total = 0.0
        for s in range(steps_per_epoch):
            idx = order[s * args.batch:(s + 1) * args.batch]
            loss = F.cross_entropy(model(shard_x[idx]), shard_y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item()
            steps += 1
        train_loss, = dp.mean([total / steps_per_epoch])
        if rank == 0:
            model.eval()
            with torch.no_grad():
                acc = (model(test_x).argmax(1) == test_y).float().mean().item()
            print(f"epoch {epoch:3d}  steps {steps:5d}  train_loss {train_loss:.4f}  "
                  f"accuracy {acc:.4f}", flush=True)
    if rank == 0:
        print(f"final mode={args.mode} ranks={size} seed={args.seed} steps={steps} "
              f"train_loss={train_loss:.4f} accuracy={acc:.4f}", flush=True)
    dp.close()


if __name__ == "__main__":
    main()
