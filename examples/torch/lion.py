"""The DDP+Lion baseline of the examples: the plain Lion optimizer, and gloo
started from lc_run's variables.

Lion (Chen et al., 2023, "Symbolic Discovery of Optimization Algorithms"), per
parameter p with gradient g and momentum m:

    c = beta1 * m + (1 - beta1) * g
    p = p * (1 - lr * weight_decay) - lr * sign(c)
    m = beta2 * m + (1 - beta2) * g

Lion knows nothing of other ranks: under DistributedDataParallel the
gradients it sees are already averaged over the ranks (global Lion). LionCub
replaces it and DDP together.
"""
import os

import torch
import torch.distributed as dist


def init_torch_distributed():
    """gloo from torch's variables, else from lc_run's (LC_RANK, LC_SIZE, LC_ROOT:
    torch's store at LC_ROOT's port + 2, beside lioncub's rendezvous)."""
    if "RANK" not in os.environ:
        host, port = os.environ["LC_ROOT"].rsplit(":", 1)
        os.environ.update(RANK=os.environ["LC_RANK"], WORLD_SIZE=os.environ["LC_SIZE"],
                          MASTER_ADDR=host, MASTER_PORT=str(int(port) + 2))
    if "LC_TCP_IFNAME" in os.environ:  # lc_run --net: each rank's namespace has one link
        os.environ.setdefault("GLOO_SOCKET_IFNAME", os.environ["LC_TCP_IFNAME"])
    dist.init_process_group("gloo")


class Lion(torch.optim.Optimizer):
    """Lion with decoupled weight decay; the arguments mean what LionCub's do."""

    def __init__(self, params, lr=1e-4, betas=(0.9, 0.99), weight_decay=0.0):
        if not lr >= 0.0:
            raise ValueError(f"invalid learning rate {lr}")
        if not all(0.0 < b <= 1.0 for b in betas):
            raise ValueError(f"betas {betas} must lie in (0, 1]")
        super().__init__(params, dict(lr=lr, betas=tuple(betas), weight_decay=weight_decay))

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            lr, wd = group["lr"], group["weight_decay"]
            beta1, beta2 = group["betas"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                m = self.state[p].setdefault("exp_avg", torch.zeros_like(p))
                c = m.mul(beta1).add_(p.grad, alpha=1 - beta1)
                p.mul_(1 - lr * wd).add_(c.sign_(), alpha=-lr)
                m.mul_(beta2).add_(p.grad, alpha=1 - beta2)
        return loss
