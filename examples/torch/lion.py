"""Lion for one process: the plain PyTorch optimizer of the examples' DDP baseline.

Lion (Chen et al., 2023, "Symbolic Discovery of Optimization Algorithms"), per
parameter p with gradient g and momentum m:

    c = beta1 * m + (1 - beta1) * g
    p = p * (1 - lr * weight_decay) - lr * sign(c)
    m = beta2 * m + (1 - beta2) * g

Lion knows nothing of other ranks: under DistributedDataParallel the
gradients it sees are already averaged over the ranks (global Lion). LionCub
replaces it and DDP together.
"""
import torch


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
