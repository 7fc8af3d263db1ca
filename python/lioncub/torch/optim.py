"""LionCub: torch.optim.Optimizer for data-parallel Lion with sign votes (Lion Cub).

Every rank runs the same script on its own shard of the data and calls
step() at the same points; the ranks' updates are combined by the chosen
mode, so every rank's parameters stay identical bit for bit.
"""
import contextlib
import ctypes
import hashlib
import math

import torch

from .. import _lib
from ..comm import default_communicator
from .utils import ddp_module_holding

MODES = ("global-fp32", "global-bf16", "vote", "vote-avg", "vote-l1")
_DTYPES = {torch.float32: _lib.LC_FP32, torch.bfloat16: _lib.LC_BF16}
STATE_FORMAT = 1


class MomentumSync:
    """When the momenta of the vote modes are averaged over the ranks.

    MomentumSync(every=N): after steps N, 2N, ...; with at_start=True after
    steps 1, N+1, 2N+1, ... (the Lion Cub authors' phase);
    MomentumSync.exponential(first, k): after steps T(0) = first,
    T(j+1) = T(j) + floor(2^(j/k)).
    ``until``: no sync after that step (0: no limit). ``dtype``: "fp32" or
    "bf16" on the wire. An int N given where a MomentumSync is expected means
    MomentumSync(every=N).
    """

    def __init__(self, every, until=0, dtype="fp32", at_start=False, _kind=None, _k=0.0):
        if _kind is None:
            _kind = _lib.LC_MSYNC_EVERY_FROM_1 if at_start else _lib.LC_MSYNC_EVERY
        if dtype not in ("fp32", "bf16"):
            raise ValueError(f"momentum sync dtype {dtype!r} is not 'fp32' or 'bf16'")
        if int(every) < 1 or int(until) < 0:
            raise ValueError("momentum sync needs every >= 1 and until >= 0")
        self.kind, self.every, self.until, self.k, self.dtype = _kind, int(every), int(until), \
            float(_k), dtype

    @classmethod
    def exponential(cls, first, k, until=0, dtype="fp32"):
        if not (k > 0 and math.isfinite(k)):
            raise ValueError(f"exponential momentum sync needs a finite k > 0, got {k}")
        return cls(first, until, dtype, _kind=_lib.LC_MSYNC_EXP, _k=k)

    @classmethod
    def parse(cls, spec):
        if spec is None or isinstance(spec, cls):
            return spec
        if isinstance(spec, int) and not isinstance(spec, bool):
            return cls(every=spec)
        raise TypeError(f"momentum_sync must be None, an int or a MomentumSync, got {spec!r}")

    def struct(self):
        return _lib.Msync(size=ctypes.sizeof(_lib.Msync), kind=self.kind, every=self.every,
                          until=self.until, k=self.k,
                          dtype=_lib.LC_FP32 if self.dtype == "fp32" else _lib.LC_BF16)

    def key(self):
        return (self.kind, self.every, self.until, self.k, self.dtype)

    def __repr__(self):
        if self.kind == _lib.LC_MSYNC_EXP:
            return (f"MomentumSync.exponential(first={self.every}, k={self.k}, "
                    f"until={self.until}, dtype={self.dtype!r})")
        return (f"MomentumSync(every={self.every}, until={self.until}, dtype={self.dtype!r}, "
                f"at_start={self.kind == _lib.LC_MSYNC_EVERY_FROM_1})")


def f32(x):
    """x (a number or a one-element tensor) rounded to fp32, as a Python float: the
    value a C float holds."""
    if isinstance(x, torch.Tensor):
        return x.to(torch.float32).item()
    return torch.tensor(x, dtype=torch.float32).item()


class LionCub(torch.optim.Optimizer):
    r"""Lion with the ranks' updates combined by sign votes (Lion Cub).

    Args:
        params: parameters or param groups (dicts); a group may set its own
            ``lr``, ``weight_decay`` and ``momentum_sync``.
        lr: learning rate. betas: (beta1, beta2), the same for every group,
            each in [0, 1]. weight_decay: decoupled weight decay.
        mode: "vote" (1-bit majority), "vote-avg" (mean of the signs),
            "vote-l1" (sign of the sum of L1 levels), "global-fp32" or
            "global-bf16" (Lion on the allreduced mean gradient).
        level_bits: vote-l1's bits per level, 2..8: 2^(level_bits-1) - 1
            levels on each side of zero. levels: vote-l1's levels per side
            given directly, 1..127 (the Lion Cub authors used 127 // world
            size); overrides level_bits.
        momentum_sync: None, an int N (average the momenta every N steps) or
            a MomentumSync; vote modes only.
        comm: a lioncub.Communicator; default: the process's one, from the
            environment (lc_run, mpirun, srun or torch's RANK/WORLD_SIZE).
        fused: True: the C library's fused step on the tensors' memory (CPU
            only); False: torch operations on the tensors' device, with only
            the packed bits crossing to the host (the CUDA path); None
            (default): fused on CPU, torch operations on CUDA.
        overlap: start each parameter's vote from its gradient hook while
            backward goes on (fused engine; the result is the same bit for
            bit). Backward passes that only accumulate gradients go inside
            ``with opt.no_sync():``. last_step_info["started_in_backward"]
            counts the parameters whose votes started before step(). Set
            LC_PROGRESS_THREAD=1 for the votes to move during the layers'
            computation too, not only between them.

    Parameters must be fp32 or bf16, contiguous, all on one device. A
    parameter whose .grad is None on a rank counts as a zero gradient there:
    every rank still takes part in every vote, so ranks may differ in which
    gradients they have. Gradients that are not contiguous, or of another
    floating dtype than their parameter, are copied first.
    """

    def __init__(self, params, lr=1e-4, betas=(0.9, 0.99), weight_decay=0.0, mode="vote",
                 level_bits=4, momentum_sync=None, comm=None, fused=None, levels=None,
                 overlap=False):
        if not (lr >= 0 and math.isfinite(lr)):
            raise ValueError(f"invalid learning rate {lr}")
        if not (weight_decay >= 0 and math.isfinite(weight_decay)):
            raise ValueError(f"invalid weight_decay {weight_decay}")
        if mode not in MODES:
            raise ValueError(f"mode {mode!r} is not one of {', '.join(MODES)}")
        if not 2 <= int(level_bits) <= 8:
            raise ValueError(f"level_bits {level_bits} is not in 2..8")
        if levels is not None and not 1 <= int(levels) <= 127:
            raise ValueError(f"levels {levels} is not in 1..127")
        defaults = dict(lr=lr, betas=tuple(betas), weight_decay=weight_decay,
                        momentum_sync=MomentumSync.parse(momentum_sync))
        super().__init__(params, defaults)
        self.mode = mode
        self.level_bits = int(level_bits)
        self.levels = int(levels) if levels is not None else 2 ** (self.level_bits - 1) - 1
        self.comm = comm if comm is not None else default_communicator()
        self.last_step_info = None
        self._params = [p for g in self.param_groups for p in g["params"]]
        self._group_of = [gi for gi, g in enumerate(self.param_groups) for _ in g["params"]]
        self._check_groups()
        device = self._params[0].device if self._params else torch.device("cpu")
        if fused is None:
            fused = device.type == "cpu"
        if fused and device.type != "cpu":
            raise ValueError(f"fused=True needs CPU parameters (they are on {device})")
        from ._fused import FusedEngine
        from ._torchops import TorchOpsEngine
        self._engine = (FusedEngine if fused else TorchOpsEngine)(self)
        self._ddp_checked = False
        self._check_ddp()
        self._hooks = None
        if overlap:
            if not fused:
                raise ValueError("overlap=True needs the fused engine (CPU parameters)")
            from ._overlap import GradientHooks
            self._hooks = GradientHooks(self, self._engine)

    def no_sync(self):
        """Context for backward passes that accumulate gradients before a step
        (overlap=True: no vote starts inside); a no-op without overlap."""
        return self._hooks.no_sync() if self._hooks else contextlib.nullcontext()

    # -- construction checks --
    def _check_groups(self):
        betas = None
        devices = set()
        for g in self.param_groups:
            b1, b2 = (float(b) for b in g["betas"])
            if not (0.0 <= b1 <= 1.0 and 0.0 <= b2 <= 1.0):
                raise ValueError(f"betas {g['betas']} must lie in [0, 1]")
            if betas is not None and (b1, b2) != betas:
                raise ValueError("every param group must have the same betas")
            betas = (b1, b2)
            for key in ("lr", "weight_decay"):
                if not (g[key] >= 0 and math.isfinite(g[key])):
                    raise ValueError(f"invalid {key} {g[key]} in a param group")
            g["momentum_sync"] = MomentumSync.parse(g.get("momentum_sync"))
            for p in g["params"]:
                if p.dtype not in _DTYPES:
                    raise TypeError(f"LionCub takes fp32 and bf16 parameters, got {p.dtype} "
                                    f"(shape {tuple(p.shape)})")
                if not p.is_contiguous():
                    raise ValueError(f"a parameter of shape {tuple(p.shape)} is not "
                                     "contiguous: LionCub updates parameters in place")
                if p.is_sparse:
                    raise ValueError("LionCub does not take sparse parameters")
                devices.add(p.device)
        if len(devices) > 1:
            raise ValueError(f"LionCub's parameters must share one device, got {devices}")
        self.betas = betas or (0.9, 0.99)

    def _check_ddp(self):
        ddp = ddp_module_holding(self._params)
        if ddp is not None:
            raise RuntimeError("these parameters belong to a DistributedDataParallel module: "
                               "DDP would allreduce the gradients on top of LionCub's vote. "
                               "Pass the plain module's parameters and drop the DDP wrapper "
                               "(LionCub keeps the ranks identical by itself)")

    def add_param_group(self, param_group):
        if getattr(self, "_engine", None) is not None:
            raise RuntimeError("LionCub's parameters are fixed at construction: every rank "
                               "registers the same groups before the first step")
        super().add_param_group(param_group)

    def layout_key(self):
        """A hash of what every rank must agree on: mode, betas, level bits, parameters."""
        h = hashlib.sha256(repr((self.mode, self.betas, self.levels)).encode())
        for p, gi in zip(self._params, self._group_of):
            ms = self.param_groups[gi]["momentum_sync"]
            h.update(repr((p.numel(), str(p.dtype), ms.key() if ms else None)).encode())
        return int.from_bytes(h.digest()[:8], "little", signed=True)

    # -- the step --
    def _grad(self, p):
        """p's gradient, contiguous and of p's dtype and device, or None (zero)."""
        g = p.grad
        if g is None:
            return None
        if g.is_sparse:
            raise RuntimeError("LionCub does not take sparse gradients")
        if g.device != p.device:
            raise RuntimeError(f"a gradient is on {g.device}, its parameter on {p.device}")
        if g.dtype != p.dtype:
            g = g.to(p.dtype)
        return g if g.is_contiguous() else g.contiguous()

    def _grads(self):
        """Per parameter, a contiguous gradient of its dtype and device, or None (zero)."""
        return [self._grad(p) for p in self._params]

    def _hparams(self):
        lrs, wds = [], []
        for gi in self._group_of:
            g = self.param_groups[gi]
            lr, wd = float(g["lr"]), float(g["weight_decay"])
            if not (lr >= 0 and math.isfinite(lr) and wd >= 0 and math.isfinite(wd)):
                raise ValueError(f"param group {gi} has lr {lr}, weight_decay {wd}: both must "
                                 "be finite and >= 0")
            lrs.append(lr)
            wds.append(wd)
        return lrs, wds

    @torch.no_grad()
    def step(self, closure=None):
        """One Lion Cub step on every rank; returns closure()'s loss if given."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        if self._hooks:
            self.last_step_info = self._hooks.step()
            return loss
        self._before_step()
        lrs, wds = self._hparams()
        self.last_step_info = self._engine.step(self._grads(), lrs, wds)
        return loss

    def _before_step(self):
        if not self._ddp_checked:
            self._check_ddp()
            self._ddp_checked = True

    # -- checkpoints --
    @property
    def step_count(self):
        """Steps completed (the tie rule and the momentum-sync schedule follow it)."""
        return self._engine.get_step()

    def state_dict(self):
        """torch's layout, plus a "lioncub" entry; momenta as "exp_avg" (fp32).

        In the vote modes each rank's momenta are its own: every rank saves
        and later loads its own state dict (for example opt_rank{rank}.pt).
        """
        sd = super().state_dict()
        step = self._engine.get_step()
        sd["state"] = {i: {"step": torch.tensor(float(step)),
                           "exp_avg": self._engine.get_momentum(i).view(p.shape)}
                       for i, p in enumerate(self._params)}
        for g in sd["param_groups"]:
            ms = g.get("momentum_sync")
            g["momentum_sync"] = None if ms is None else dict(zip(
                ("kind", "every", "until", "k", "dtype"), ms.key()))
        sd["lioncub"] = {"format": STATE_FORMAT, "world_size": self.comm.size,
                         "rank": self.comm.rank, "mode": self.mode,
                         "levels": self.levels, "betas": self.betas, "step": step}
        return sd

    def load_state_dict(self, state_dict):
        meta = state_dict.get("lioncub")
        if not isinstance(meta, dict) or meta.get("format") != STATE_FORMAT:
            raise ValueError("not a LionCub state dict (no 'lioncub' entry of format "
                             f"{STATE_FORMAT})")
        want = {"world_size": self.comm.size, "mode": self.mode, "levels": self.levels,
                "betas": self.betas}
        for key, mine in want.items():
            theirs = tuple(meta[key]) if key == "betas" else meta[key]
            if theirs != mine:
                raise ValueError(f"the checkpoint was saved with {key} {theirs}, this optimizer "
                                 f"has {mine}: a LionCub checkpoint resumes only with the same "
                                 "world size, mode, levels and betas")
        if self.mode.startswith("vote") and meta["rank"] != self.comm.rank:
            raise ValueError(f"the checkpoint holds rank {meta['rank']}'s momenta, this is "
                             f"rank {self.comm.rank}: in the vote modes each rank loads its own")
        states = state_dict["state"]
        if len(states) != len(self._params):
            raise ValueError(f"the checkpoint has state for {len(states)} parameters, this "
                             f"optimizer has {len(self._params)}")
        moms = []
        for i, p in enumerate(self._params):
            m = states[i]["exp_avg"]
            if m.numel() != p.numel():
                raise ValueError(f"parameter {i}: checkpoint momentum has {m.numel()} "
                                 f"elements, the parameter {p.numel()}")
            moms.append(m)
        groups = [dict(g) for g in state_dict["param_groups"]]
        for g in groups:
            ms = g.get("momentum_sync")
            if isinstance(ms, dict):
                g["momentum_sync"] = MomentumSync(ms["every"], ms["until"], ms["dtype"],
                                                  _kind=ms["kind"], _k=ms["k"])
        if len(groups) != len(self.param_groups):
            raise ValueError(f"the checkpoint has {len(groups)} param groups, this optimizer "
                             f"has {len(self.param_groups)}")
        for gi, (g, mine) in enumerate(zip(groups, self.param_groups)):
            theirs, ours = g.get("momentum_sync"), mine["momentum_sync"]
            if (theirs and theirs.key()) != (ours and ours.key()):
                raise ValueError(f"param group {gi}: the checkpoint's momentum_sync {theirs} "
                                 f"is not this optimizer's {ours}")
        super().load_state_dict({"state": {}, "param_groups": groups})
        self.state.clear()
        for i, m in enumerate(moms):
            self._engine.set_momentum(i, m)
        self._engine.set_step(int(meta["step"]))
