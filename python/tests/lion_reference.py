"""An independent reference of lioncub's Lion modes, written in torch from the
formulas of include/lioncub/lioncub.h and design.md (it calls nothing of
lioncub): per step and over all ranks' gradients, the parameters every rank
must hold.

fp32 arithmetic is done one IEEE operation at a time (products, then sums;
never fused), bf16 rounds to nearest even. Sums over ranks that the library
computes with lc_allreduce (the global modes' gradient mean, momentum sync)
are added in its order, each addition in the dtype's arithmetic, then divided
by p: with p a power of two on one host (as the tests run) as the tree
((x0 + x1) + (x2 + x3)) + ...; otherwise on the ring, where chunk k of
ceil(n / p) elements starts at rank k and collects ranks k+1, k+2, ... mod p.
"""
import math

import torch

F32, BF16 = torch.float32, torch.bfloat16


def f32(x):
    return torch.tensor(x, dtype=torch.float64).to(F32)


def tree_sum(xs, dtype):
    """The sum of xs as the tree (left half) + (right half), in dtype."""
    if len(xs) == 1:
        return xs[0]
    half = len(xs) // 2
    return (tree_sum(xs[:half], dtype).float() + tree_sum(xs[half:], dtype).float()).to(dtype)


def allreduce_mean(xs, dtype):
    """The mean of the ranks' equal-length fp32 vectors xs in lc_allreduce's order and dtype."""
    p, n = len(xs), xs[0].numel()
    xs = [x.to(dtype) for x in xs]
    if p & (p - 1) == 0:
        return (tree_sum(xs, dtype).float() / float(p)).to(dtype).float()
    out = torch.empty(n, dtype=dtype)
    chunk = -(-n // p)
    for k in range(p):
        lo, hi = k * chunk, min(n, (k + 1) * chunk)
        if lo >= hi:
            continue
        s = xs[k][lo:hi].clone()
        for j in range(1, p):
            s = (xs[(k + j) % p][lo:hi].float() + s.float()).to(dtype)
        out[lo:hi] = (s.float() / float(p)).to(dtype)
    return out.float()


def l1_levels(c, s):
    """Levels in [-s, s]: |c| added in double into 8 partials by index mod 8 in
    element order, partials added in order, scale (s/2)/mean, round half even."""
    n = c.numel()
    cd = c.double()
    pad = torch.zeros(-(-n // 8) * 8, dtype=torch.float64)
    pad[:n] = cd.abs()
    part = [0.0] * 8
    for row in pad.view(-1, 8).tolist():  # element order, one addition at a time
        for k in range(8):
            part[k] += row[k]
    total = 0.0
    for k in range(8):
        total += part[k]
    mean = total / n if n else 0.0
    scale = 0.5 * s / mean if mean > 0 else 0.0
    x = torch.round(cd * scale)  # half to even
    x = torch.where(torch.isnan(x), torch.zeros_like(x), x)
    return x.clamp(-s, s).to(torch.int64)


def msync_due(ms, step):
    """ms: ("every"|"from1"|"exp", every, until, k, dtype) or None."""
    if ms is None:
        return False
    kind, every, until, k, _ = ms
    if until and step > until:
        return False
    if kind == "every":
        return step % every == 0
    if kind == "from1":
        return (step - 1) % every == 0
    t, j = every, 0
    while t < step:
        t += math.floor(2.0 ** (j / k))
        j += 1
    return t == step


class Reference:
    """Every rank's state; step() takes all ranks' gradients of one step."""

    def __init__(self, params, p, mode, betas, levels, msync):
        self.p, self.mode, self.levels, self.msync = p, mode, levels, msync
        self.dtypes = [t.dtype for t in params]
        self.params = [t.detach().reshape(-1).float().clone() for t in params]
        self.m = [[torch.zeros(t.numel()) for t in params] for _ in range(p)]
        self.b1, self.b2 = f32(betas[0]), f32(betas[1])
        self.a1, self.a2 = f32(1.0) - self.b1, f32(1.0) - self.b2
        self.offs, total = [], 0
        for t in params:
            self.offs.append(total)
            total += -(-t.numel() // 64) * 64
        self.total = total
        self.step_no = 0

    def _fused(self, per_group):
        v = torch.zeros(self.total)
        for off, x in zip(self.offs, per_group):
            v[off:off + x.numel()] = x
        return v

    def step(self, grads, lrs, wds):
        """grads[r][k]: rank r's gradient of tensor k (in the tensor's dtype)."""
        self.step_no += 1
        s, p = self.step_no, self.p
        g = [[x.reshape(-1).float() for x in gr] for gr in grads]
        if self.mode.startswith("global"):
            wire = F32 if self.mode == "global-fp32" else BF16
            mean = allreduce_mean([self._fused(g[r]) for r in range(p)], wire)
            for k, off in enumerate(self.offs):
                gk = mean[off:off + self.params[k].numel()]
                c = self.b1 * self.m[0][k] + self.a1 * gk
                u = (c > 0).float() - (c < 0).float()
                self._apply(k, u, lrs[k], wds[k])
                for r in range(p):
                    self.m[r][k] = self.b2 * self.m[0][k] + self.a2 * gk
            return
        for k in range(len(self.params)):
            n = self.params[k].numel()
            idx = torch.arange(n)
            cs = []
            for r in range(p):
                cs.append(self.b1 * self.m[r][k] + self.a1 * g[r][k])
                self.m[r][k] = self.b2 * self.m[r][k] + self.a2 * g[r][k]
            if self.mode == "vote-l1":
                total = sum(l1_levels(c, self.levels) for c in cs)
                u = torch.sign(total).float()  # a tie (sum 0) abstains
            else:
                neg = torch.zeros(n, dtype=torch.int64)
                for r, c in enumerate(cs):
                    parity = ((idx + s + r) & 1).bool()
                    neg += torch.where(c == 0, parity, torch.signbit(c)).long()
                if self.mode == "vote":
                    tie_neg = ((idx + s) & 1).bool()
                    vote_neg = torch.where(2 * neg == p, tie_neg, 2 * neg > p)
                    u = torch.where(vote_neg, -1.0, 1.0)
                else:
                    u = (p - 2 * neg).float() / float(p)
            self._apply(k, u, lrs[k], wds[k])
            if msync_due(self.msync[k], s):
                wire = F32 if self.msync[k][4] == "fp32" else BF16
                avg = allreduce_mean([self.m[r][k] for r in range(p)], wire)
                for r in range(p):
                    self.m[r][k] = avg.clone()

    def _apply(self, k, u, lr, wd):
        lr32, wd32 = f32(lr), f32(wd)
        decay = f32(1.0) - lr32 * wd32
        x = self.params[k] * decay - lr32 * u
        self.params[k] = x.to(self.dtypes[k]).float()
