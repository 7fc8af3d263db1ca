"""lioncub for PyTorch: the LionCub optimizer and helpers for a data-parallel loop.

    from lioncub.torch import LionCub, broadcast_parameters
    broadcast_parameters(model)                  # rank 0's initial weights everywhere
    opt = LionCub(model.parameters(), lr=1e-4, weight_decay=0.1, mode="vote")

No DistributedDataParallel wrapper: LionCub itself makes every rank's step
identical (see docs/torch.md).
"""
from .optim import LionCub, MomentumSync
from .utils import broadcast_parameters

__all__ = ["LionCub", "MomentumSync", "broadcast_parameters"]
