"""Rank programs for the Python tests (run by ranks.py): `workers.py NAME JSON`.

Each prints one JSON line with what the test compares. Gradients and data
depend on (seed, rank, step) only, so a resumed run sees the same inputs.
"""
import ctypes
import hashlib
import json
import os
import sys
import time

import torch

import lioncub
from lioncub import _lib
from lioncub.torch import LionCub, MomentumSync, broadcast_parameters

torch.set_num_threads(1)


def digest(tensors):
    h = hashlib.sha256()
    for t in tensors:
        h.update(t.detach().contiguous().view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def make_model(seed, dtype):
    g = torch.Generator().manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(12, 70), torch.nn.ReLU(), torch.nn.Linear(70, 5),
                                torch.nn.LayerNorm(5))
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.3)
    return model.to(dtype)


def batch(seed, rank, step, dtype):
    g = torch.Generator().manual_seed(seed * 1000003 + rank * 7919 + step)
    return torch.randn(16, 12, generator=g).to(dtype), torch.randn(16, 5, generator=g).to(dtype)


def param_groups(model, args):
    decay = [p for n, p in model.named_parameters() if n.endswith("weight") and p.dim() > 1]
    other = [p for n, p in model.named_parameters() if not (n.endswith("weight") and p.dim() > 1)]
    ms = args.get("msync")
    msync = None if ms is None else (MomentumSync.exponential(1, 1.5, dtype="bf16")
                                     if ms == "exp" else MomentumSync(ms))
    return [{"params": decay, "weight_decay": 0.1, "momentum_sync": msync},
            {"params": other, "weight_decay": 0.0, "lr": 0.02}]


def train(args):
    """Train to args.steps; save at args.save_at, or start from args.load (templates with {rank})."""
    comm = lioncub.default_communicator()
    dtype = getattr(torch, args.get("dtype", "float32"))
    model = make_model(args.get("seed", 1), dtype)
    opt = LionCub(param_groups(model, args), lr=0.01, mode=args["mode"],
                  fused=args.get("fused"), level_bits=3, overlap=args.get("overlap", False))
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1.0 / (1 + 0.1 * s))
    start = 0
    if args.get("load"):
        ck = torch.load(args["load"].format(rank=comm.rank))
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["opt"])
        sched.load_state_dict(ck["sched"])
        start = ck["step"]
    params = list(model.parameters())
    for step in range(start + 1, args["steps"] + 1):
        x, y = batch(args.get("seed", 1), comm.rank, step, dtype)
        opt.zero_grad(set_to_none=True)
        if args.get("accumulate"):  # a first half-batch that only accumulates
            with opt.no_sync():
                torch.nn.functional.mse_loss(model(x[:8]).float(), y[:8].float()).backward()
            x, y = x[8:], y[8:]
        torch.nn.functional.mse_loss(model(x).float(), y.float()).backward()
        if args.get("none_grad_rank") == comm.rank:
            params[-1].grad = None            # this rank has no gradient for the last tensor
        if args.get("noncontig_grad"):
            w = params[0]
            w.grad = w.grad.t().contiguous().t()   # same values, transposed strides
        opt.step()
        sched.step()
        if step == args.get("save_at"):
            torch.save({"model": model.state_dict(), "opt": opt.state_dict(),
                        "sched": sched.state_dict(), "step": step},
                       args["save"].format(rank=comm.rank))
            break
    sd = opt.state_dict()
    return {"params": digest(params),
            "momenta": digest(s["exp_avg"] for s in sd["state"].values()),
            "step": opt.step_count, "lr": opt.param_groups[0]["lr"],
            "early": (opt.last_step_info or {}).get("started_in_backward")}


class CLion:
    """The library's optimizer through its C API directly (the reference for LionCub)."""

    def __init__(self, comm, mode, tensors, lrs, wds, levels):
        lib = _lib.lib
        cfg = _lib.LionConfig(size=ctypes.sizeof(_lib.LionConfig),
                              mode=lib.lc_lion_mode_parse(mode.encode()), lr=1.0,
                              weight_decay=1.0, levels=levels)
        self.h = ctypes.c_void_p()
        assert lib.lc_lion_create(comm.handle, ctypes.byref(cfg), ctypes.byref(self.h)) == 0
        for t in tensors:
            dt = _lib.LC_FP32 if t.dtype == torch.float32 else _lib.LC_BF16
            assert lib.lc_lion_add_group(self.h, t.data_ptr(), t.numel(), dt, None, None) >= 0
        n = len(tensors)
        self.opts = _lib.LionStepOpts(size=ctypes.sizeof(_lib.LionStepOpts), lr=-1.0,
                                      weight_decay=-1.0, group_lr=(ctypes.c_float * n)(*lrs),
                                      group_weight_decay=(ctypes.c_float * n)(*wds))

    def momentum(self, i, n):
        m = torch.empty(n, dtype=torch.float32)
        assert _lib.lib.lc_lion_get_momentum(self.h, i, m.data_ptr(), n) == 0
        return m

    def step(self, grads):
        ptrs = (ctypes.c_void_p * len(grads))(*[g.data_ptr() for g in grads])
        rc = _lib.lib.lc_lion_step(self.h, ptrs, ctypes.byref(self.opts), None)
        assert rc == 0, _lib.last_error()


def vs_c(args):
    """LionCub (fused or torch operations) against the C API on the same gradients; one
    tensor's gradient is zero at every other step (c = 0 there: the parity rule)."""
    comm = lioncub.default_communicator()
    dtype = getattr(torch, args["dtype"])
    shapes = [(33, 17), (64,), (5,), (130,)]
    lrs, wds = [0.01, 0.003, 0.01, 0.05], [0.1, 0.0, 0.1, 0.5]
    g0 = torch.Generator().manual_seed(5)
    ours = [torch.randn(s, generator=g0).to(dtype) for s in shapes]
    ref = [t.clone().reshape(-1) for t in ours]
    init = [t.clone() for t in ours]
    groups = [{"params": [ours[0], ours[2]]}, {"params": [ours[1]], "lr": 0.003,
                                                "weight_decay": 0.0},
              {"params": [ours[3]], "lr": 0.05, "weight_decay": 0.5}]
    levels = args.get("levels", 3)
    opt = LionCub(groups, lr=0.01, weight_decay=0.1, mode=args["mode"], fused=args["fused"],
                  levels=levels)
    order = [0, 2, 1, 3]  # registration order: param_groups order
    clion = CLion(comm, args["mode"], [ref[i] for i in order], [lrs[i] for i in order],
                  [wds[i] for i in order], levels)
    for step in range(1, 13):
        g = torch.Generator().manual_seed(100 * comm.rank + step)
        grads = [torch.randn(s, generator=g).to(dtype) for s in shapes]
        if step % 2 == 0 or step < 3:
            grads[2] = torch.zeros(shapes[2], dtype=dtype)
        for t, gr in zip(ours, grads):
            t.grad = gr
        opt.step()
        clion.step([grads[i].reshape(-1).contiguous() for i in order])
    diff = sum(int((a.reshape(-1).view(torch.int16 if dtype == torch.bfloat16 else torch.int32)
                    != b.view(torch.int16 if dtype == torch.bfloat16 else torch.int32)).sum())
               for a, b in zip(ours, ref))
    moved = sum(int((a != b).sum()) for a, b in zip(ours, init))
    state = opt.state_dict()["state"]
    mdiff = sum(int((state[k]["exp_avg"].reshape(-1).view(torch.int32) !=
                     clion.momentum(k, ours[i].numel()).view(torch.int32)).sum())
                for k, i in enumerate(order))
    return {"diff": diff, "mdiff": mdiff, "moved": moved, "params": digest(ours)}


def bad_input(args):
    """One kind of bad input; reports the exception's class and how long it took."""
    comm = lioncub.default_communicator()
    kind = args["kind"]
    t0 = time.monotonic()
    model = make_model(1, torch.float32)
    params = list(model.parameters())
    try:
        if kind == "fp16":
            LionCub(model.half().parameters())
        elif kind == "int":
            LionCub([torch.zeros(4, dtype=torch.int32)])
        elif kind == "noncontig_param":
            LionCub([torch.zeros(6, 4).t()])
        elif kind == "param_list":
            opt = LionCub(params[:-1] if comm.rank == 1 else params)
            model(torch.ones(2, 12)).sum().backward()
            opt.step()
        elif kind == "die":
            opt = LionCub(params)
            for step in range(1, 6):
                opt.zero_grad()
                model(torch.ones(2, 12) * step).sum().backward()
                if step == 3 and comm.rank == 1:
                    os._exit(3)
                opt.step()
        elif kind == "bad_lr":
            opt = LionCub(params)
            opt.param_groups[0]["lr"] = float("nan")
            model(torch.ones(2, 12)).sum().backward()
            opt.step()
        else:
            raise SystemExit(f"unknown kind {kind}")
    except Exception as e:
        return {"error": type(e).__name__, "lioncub": isinstance(e, lioncub.LioncubError),
                "code": getattr(e, "code", None), "message": str(e),
                "seconds": time.monotonic() - t0}
    return {"error": None, "seconds": time.monotonic() - t0}


def bcast_init(args):
    """Different initial models per rank; broadcast_parameters makes them rank 0's."""
    model = make_model(100 + lioncub.default_communicator().rank, torch.float32)
    broadcast_parameters(model)
    return {"params": digest(model.parameters()), "want": digest(make_model(100, torch.float32)
                                                                 .parameters())}


def comm_ops(args):
    """Every collective of lioncub.Communicator on data computed from (seed, rank); the
    test recomputes all ranks' data and checks the results against its own reference."""
    comm = lioncub.default_communicator()
    p, r = comm.size, comm.rank
    x = rank_votes(r, args["n"])
    out = {}
    out["majority"] = comm.vote(x, tie_salt=5).tolist()
    out["average"] = comm.vote(x, mode="average").tolist()
    words = torch.zeros((args["n"] + 63) // 64, dtype=torch.int64)
    comm.vote(x, out=words, tie_salt=5)
    out["majority_words"] = words.tolist()
    packed = comm.vote(pack_signs(x), count=args["n"], tie_salt=5)
    out["majority_from_packed"] = packed.tolist()
    out["l1"] = digest([comm.vote(x, mode="l1", level_bits=3)])
    s = comm.allreduce(x.clone())
    out["sum"] = s.tolist()
    out["sum_bits"] = digest([s])
    out["avg_bf16"] = digest([comm.allreduce(x.to(torch.bfloat16), "avg")])
    out["gather"] = comm.allgather(torch.arange(3, dtype=torch.int32) + 10 * r).tolist()
    b = torch.full((5,), float(r))
    comm.bcast(b, root=p - 1)
    out["bcast"] = b.tolist()
    comm.barrier()
    out["bytes_sent"] = comm.stats()["bytes_sent"]
    out["two_level"] = comm.stats()["votes_two_level"]
    out["topology"] = [comm.host, comm.num_hosts, comm.local_rank, comm.local_size]
    try:
        comm.vote(x, mode="l1", level_bits=9)
    except lioncub.InvalidArgument as e:
        out["einval"] = [e.code, e.message]
    try:
        comm.vote(x[: args["n"] - (r == 1)])
    except lioncub.MismatchError as e:
        out["mismatch"] = e.code
    return out


def rank_votes(rank, n):
    """Rank rank's votes: random signs, with +0 and -0 at fixed places."""
    x = torch.randn(n, generator=torch.Generator().manual_seed(rank))
    x[::17] = 0.0
    x[::23] = -0.0
    return x


def pack_signs(x):
    """The sign bits of x as int64 words, bit i of word i // 64 = element i."""
    bits = torch.zeros((x.numel() + 63) // 64 * 64, dtype=torch.int64)
    bits[: x.numel()] = (x.view(torch.int32) < 0).to(torch.int64)
    words = bits.view(-1, 64) << torch.arange(64)
    return words.sum(1)  # wraps like uint64 in two's complement


def whoami(args):
    comm = lioncub.default_communicator()
    return {"rank": comm.rank, "size": comm.size, "local_rank": comm.local_rank,
            "local_size": comm.local_size, "host": comm.host, "num_hosts": comm.num_hosts}


REF_SHAPES = [((37, 11), "float32"), ((129,), "bfloat16"), ((64,), "float32"), ((5,), "float32")]
REF_WD = [0.1, 0.0, 0.3, 0.05]
REF_MSYNC = [("every", 9, 0, 0.0, "fp32"), ("exp", 2, 60, 1.5, "bf16"),
             ("from1", 10, 0, 0.0, "fp32"), None]


def ref_initial():
    g = torch.Generator().manual_seed(77)
    return [torch.randn(shape, generator=g).to(getattr(torch, dt)) for shape, dt in REF_SHAPES]


def ref_grads(rank, step):
    """Rank rank's gradients at step: every 7th element exactly 0, tensor 2 always 0."""
    g = torch.Generator().manual_seed(1000 * rank + step)
    out = []
    for k, (shape, dt) in enumerate(REF_SHAPES):
        x = torch.randn(shape, generator=g)
        x.view(-1)[::7] = 0.0
        if k == 2:
            x.zero_()
        out.append(x.to(getattr(torch, dt)))
    return out


def ref_lr(step):
    return 0.01 / (1.0 + 0.1 * step)


def ref_train(args):
    """LionCub (the C library's fused step) for args.steps steps on ref_grads."""
    comm = lioncub.default_communicator()
    params = ref_initial()
    groups = []
    for k, t in enumerate(params):
        ms = REF_MSYNC[k] if args.get("msync") else None
        spec = None
        if ms is not None:
            kind, every, until, kk, dt = ms
            spec = (MomentumSync.exponential(every, kk, until, dt) if kind == "exp" else
                    MomentumSync(every, until, dt, at_start=kind == "from1"))
        groups.append({"params": [t], "weight_decay": REF_WD[k], "momentum_sync": spec})
    opt = LionCub(groups, lr=ref_lr(0), betas=tuple(args["betas"]), mode=args["mode"],
                  levels=args["levels"], fused=args.get("fused", True))
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: ref_lr(s + 1) / ref_lr(0))
    for step in range(1, args["steps"] + 1):
        for t, gr in zip(params, ref_grads(comm.rank, step)):
            t.grad = gr
        opt.step()
        sched.step()
    return {"params": [t.float().reshape(-1).tolist() for t in params]}


def main():
    name, args = sys.argv[1], json.loads(sys.argv[2])
    result = globals()[name](args)
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
