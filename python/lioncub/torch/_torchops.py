"""LionCub's device engine: the step in torch operations on the parameters' device.

For CUDA parameters: c and the momentum are computed on the device, the sign
bits are packed there (a c of +-0 votes the parity bit of i + step + rank,
lioncub.h's rule), and only the packed bits cross to the host for the vote
(lc_vote); the decoded bits go back and the update is applied on the device.
vote-avg brings back one fp32 average per element; vote-l1 copies c to the
host, where lc_quantize_l1_levels makes the levels (its exact summation order
is the library's), and brings back one value per element (0 for a tie); the
global modes and momentum syncs allreduce on host copies.

The arithmetic is the library's, operation by operation (fp32 products and
sums never fused, bf16 rounded to nearest even), so on the CPU this engine
gives the fused C step's bits (tests/test_torch_optim.py checks it); on a GPU
each rank runs the same kernels, so the replicas stay identical.
"""
import ctypes

import torch

from .. import _lib
from .._lib import check, lib
from ..errors import LC_ERR_MISMATCH, MismatchError
from .optim import f32

_GLOBAL = ("global-fp32", "global-bf16")


def _pad64(n):
    return (n + 63) // 64 * 64


class TorchOpsEngine:
    def __init__(self, opt):
        self.opt = opt
        self.comm = opt.comm
        self.mode = opt.mode
        self.params = opt._params
        self.device = self.params[0].device if self.params else torch.device("cpu")
        pin = self.device.type == "cuda"
        self.m = [torch.zeros(p.numel(), dtype=torch.float32, device=self.device)
                  for p in self.params]
        self.off, total = [], 0
        for p in self.params:
            self.off.append(total)
            total += _pad64(p.numel())
        self.total = total
        b1, b2 = (f32(b) for b in opt.betas)
        self.b1, self.a1 = b1, f32(torch.tensor(1.0) - torch.tensor(b1))
        self.b2, self.a2 = b2, f32(torch.tensor(1.0) - torch.tensor(b2))
        self.step_count = 0
        self.layout_checked = False
        self.msync = [opt.param_groups[gi]["momentum_sync"] for gi in opt._group_of]
        self._msync_structs = [ms.struct() if ms else None for ms in self.msync]

        def host(n, dtype):
            return torch.zeros(max(n, 1), dtype=dtype, pin_memory=pin)

        nbytes = total // 8
        self.h_bits = host(nbytes, torch.uint8)      # local signs, packed
        self.h_dec = host(nbytes, torch.uint8)       # decoded signs, packed
        self.h_work = host(total, torch.float32) if self.mode in ("vote-avg", "vote-l1",
                                                                   "global-fp32") else None
        self.h_wire = host(total, torch.bfloat16) if self.mode == "global-bf16" else None
        self.h_levels = host(total, torch.int8) if self.mode == "vote-l1" else None
        self.d_bits = torch.zeros(max(total, 8), dtype=torch.bool, device=self.device)
        self.weights = torch.tensor([1, 2, 4, 8, 16, 32, 64, 128], dtype=torch.uint8,
                                    device=self.device)
        self.shifts = torch.arange(8, dtype=torch.uint8, device=self.device)
        largest = max((p.numel() for p in self.params), default=0)
        self.odd = (torch.arange(max(largest, 1), device=self.device) & 1).bool()

    # -- collectives on host buffers --
    def _check_layout(self):
        if self.layout_checked:
            return
        mine = torch.tensor([self.opt.layout_key()], dtype=torch.int64)
        all_keys = self.comm.allgather(mine)
        bad = [r for r in range(self.comm.size) if all_keys[r, 0] != all_keys[0, 0]]
        if bad:
            raise MismatchError(LC_ERR_MISMATCH, f"rank {bad[0]} has another mode, betas or list of "
                                "parameters (sizes, dtypes, momentum policies) than rank 0",
                                "collective arguments differ between ranks")
        self.layout_checked = True

    def _vote(self, mode, out, step, inp, in_dtype):
        opts = _lib.VoteOpts(size=ctypes.sizeof(_lib.VoteOpts), mode=mode, tie_salt=step,
                             levels=self.opt.levels if mode == _lib.LC_VOTE_L1 else 0)
        out_dtype = _lib.LC_FP32 if out.dtype == torch.float32 else _lib.LC_BITS
        check(lib.lc_vote(self.comm.handle, inp.data_ptr(), in_dtype, out.data_ptr(), out_dtype,
                          self.total, ctypes.byref(opts)), "LionCub.step")

    # -- the arithmetic, as the C kernels do it --
    def _mix(self, m, g, b, a):
        return torch.mul(m, b).add_(torch.mul(g, a))

    def _store(self, p, x):
        p.copy_(x.view(p.shape))  # fp32 -> bf16 rounds to nearest even

    def step(self, grads, lrs, wds):
        self._check_layout()
        step = self.step_count + 1
        gs = [torch.zeros(p.numel(), dtype=torch.float32, device=self.device) if g is None
              else g.reshape(-1).float() for p, g in zip(self.params, grads)]
        if self.total:
            if self.mode in _GLOBAL:
                self._step_global(gs, lrs, wds)
            else:
                self._step_vote(gs, lrs, wds, step)
        synced = 0
        if self.mode not in _GLOBAL:
            for i, ms in enumerate(self._msync_structs):
                if ms is not None and self.params[i].numel() and \
                        check(lib.lc_msync_due(ctypes.byref(ms), step)):
                    self._sync_momentum(i)
                    synced += 1
        self.step_count = step
        return {"step": step, "momentum_synced": synced}

    def _step_vote(self, gs, lrs, wds, step):
        l1 = self.mode == "vote-l1"
        if not l1:
            self.d_bits.zero_()
            odd_votes = (step + self.comm.rank) % 2 == 0  # a zero at odd i votes -1
        for i, (p, g) in enumerate(zip(self.params, gs)):
            n = p.numel()
            if not n:
                continue
            c = self._mix(self.m[i], g, self.b1, self.a1)
            self.m[i] = self._mix(self.m[i], g, self.b2, self.a2)
            if l1:
                work = self.h_work[self.off[i]:self.off[i] + n]
                work.copy_(c)
                check(lib.lc_quantize_l1_levels(work.data_ptr(), _lib.LC_FP32, n,
                                                self.opt.levels,
                                                self.h_levels[self.off[i]:].data_ptr()),
                      "LionCub.step")
            else:
                parity = self.odd[:n] if odd_votes else ~self.odd[:n]
                self.d_bits[self.off[i]:self.off[i] + n] = torch.where(
                    c == 0, parity, c.view(torch.int32) < 0)
        if l1:
            self._vote(_lib.LC_VOTE_L1, self.h_work, step, self.h_levels, _lib.LC_INT8)
        else:
            packed = (self.d_bits.view(-1, 8).to(torch.uint8) * self.weights).sum(
                1, dtype=torch.uint8)
            self.h_bits[:packed.numel()].copy_(packed)
            if self.mode == "vote":
                self._vote(_lib.LC_VOTE_MAJORITY, self.h_dec, step, self.h_bits, _lib.LC_BITS)
            else:
                self._vote(_lib.LC_VOTE_AVERAGE, self.h_work, step, self.h_bits, _lib.LC_BITS)
        if self.mode != "vote":
            u_all = self.h_work.to(self.device, non_blocking=True)
        else:
            dec = self.h_dec[:self.total // 8].to(self.device, non_blocking=True)
            bits = ((dec.unsqueeze(1) >> self.shifts) & 1).view(-1).bool()
        for i, p in enumerate(self.params):
            n = p.numel()
            if not n:
                continue
            lr, wd = f32(lrs[i]), f32(wds[i])
            decay = f32(torch.tensor(1.0) - torch.tensor(lr) * torch.tensor(wd))
            t = torch.mul(p.reshape(-1).float(), decay)
            if self.mode != "vote":
                upd = torch.mul(u_all[self.off[i]:self.off[i] + n], lr)
            else:
                upd = torch.where(bits[self.off[i]:self.off[i] + n], -lr, lr)
            self._store(p, t.sub_(upd))

    def _step_global(self, gs, lrs, wds):
        fp32 = self.mode == "global-fp32"
        buf = self.h_work if fp32 else self.h_wire
        for i, g in enumerate(gs):
            buf[self.off[i]:self.off[i] + g.numel()].copy_(g if fp32 else g.to(torch.bfloat16))
        check(lib.lc_allreduce(self.comm.handle, buf.data_ptr(), buf.data_ptr(), self.total,
                               _lib.LC_FP32 if fp32 else _lib.LC_BF16, _lib.LC_AVG),
              "LionCub.step")
        mean = buf.to(self.device, non_blocking=True).float()
        for i, p in enumerate(self.params):
            n = p.numel()
            if not n:
                continue
            g = mean[self.off[i]:self.off[i] + n]
            lr, wd = f32(lrs[i]), f32(wds[i])
            decay = f32(torch.tensor(1.0) - torch.tensor(lr) * torch.tensor(wd))
            c = self._mix(self.m[i], g, self.b1, self.a1)
            s = (c > 0).float() - (c < 0).float()
            t = torch.mul(p.reshape(-1).float(), decay)
            self._store(p, t.sub_(torch.mul(s, lr)))
            self.m[i] = self._mix(self.m[i], g, self.b2, self.a2)

    def _sync_momentum(self, i):
        bf16 = self.msync[i].dtype == "bf16"
        host = self.m[i].to("cpu", torch.bfloat16 if bf16 else torch.float32).contiguous()
        self.comm.allreduce(host, "avg")
        self.m[i] = host.to(self.device, torch.float32)

    # -- state --
    def get_step(self):
        return self.step_count

    def set_step(self, step):
        self.step_count = int(step)

    def get_momentum(self, i):
        return self.m[i].to("cpu", copy=True)

    def set_momentum(self, i, m):
        self.m[i] = m.detach().to(self.device, torch.float32).reshape(-1).clone()
