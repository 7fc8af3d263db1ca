"""The two data-parallel set-ups of the torch examples, side by side.

"ddp" is the usual baseline: DistributedDataParallel over gloo averages the
gradients and the plain Lion of lion.py steps. Every other mode is LionCub,
and the difference is two lines: rank 0's weights broadcast once (DDP's
constructor does that), and LionCub instead of Lion, without the DDP wrapper.
"""
import os

import torch
import torch.distributed as dist
import torch.nn as nn

from lion import Lion


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


class DataParallel:
    """model (wrapped for "ddp"), opt, rank and size for one mode."""

    def __init__(self, model, mode, lr, wd):
        self.mode = mode
        self._reduced = []  # see close()
        if mode == "ddp":
            init_torch_distributed()
            self.rank, self.size = dist.get_rank(), dist.get_world_size()
            self.model = nn.parallel.DistributedDataParallel(model)
            self.opt = Lion(self.model.parameters(), lr=lr, weight_decay=wd)
        else:
            import lioncub
            from lioncub.torch import LionCub, broadcast_parameters

            self.comm = lioncub.default_communicator()
            self.rank, self.size = self.comm.rank, self.comm.size
            broadcast_parameters(model)  # rank 0's initial weights, as DDP's constructor does
            self.model = model
            self.opt = LionCub(model.parameters(), lr=lr, weight_decay=wd, mode=mode)

    def mean(self, values):
        """The mean over the ranks of a list of numbers (every rank calls it)."""
        t = torch.tensor(values, dtype=torch.float64 if self.mode == "ddp" else torch.float32)
        if self.mode == "ddp":
            dist.all_reduce(t)
            self._reduced.append(t)
            t /= self.size
        else:
            self.comm.allreduce(t, "avg")
        return t.tolist()

    def close(self):
        if self.mode == "ddp":
            # Free the gloo group (held by DDP) while the tensors its workers saw are
            # alive: in torch 1.13 a worker that drops a tensor's last reference
            # needs the GIL, which the group's destructor holds while joining it.
            dist.destroy_process_group()
            del self.model
