"""lioncub.Communicator: a lioncub communicator and its collectives on CPU tensors.

Collectives work in place on the tensors' memory (no copies): tensors must be
contiguous and on the CPU. Every rank must call the same collectives in the
same order with the same sizes, as with MPI; a mismatch raises MismatchError
on every rank.
"""
import ctypes

from . import _lib
from ._lib import check, lib

_VOTE_MODES = {"majority": _lib.LC_VOTE_MAJORITY, "average": _lib.LC_VOTE_AVERAGE,
               "l1": _lib.LC_VOTE_L1}
_OPS = {"sum": _lib.LC_SUM, "avg": _lib.LC_AVG}


def _torch():
    import torch
    return torch


def tensor_dtype(t):
    """The lc_dtype_t of a torch tensor's elements, or None."""
    torch = _torch()
    return {torch.float32: _lib.LC_FP32, torch.bfloat16: _lib.LC_BF16,
            torch.float16: _lib.LC_FP16, torch.int8: _lib.LC_INT8,
            torch.int32: _lib.LC_INT32, torch.int64: _lib.LC_BITS}.get(t.dtype)


def check_tensor(t, what, dtypes=None):
    """Raise ValueError/TypeError unless t is a contiguous CPU tensor of one of dtypes."""
    torch = _torch()
    if not isinstance(t, torch.Tensor):
        raise TypeError(f"{what} must be a torch.Tensor, got {type(t).__name__}")
    if t.device.type != "cpu":
        raise ValueError(f"{what} is on {t.device}: lioncub collectives take CPU tensors")
    if not t.is_contiguous():
        raise ValueError(f"{what} is not contiguous: call .contiguous() first (lioncub "
                         "works in place on the tensor's memory)")
    if dtypes is not None and t.dtype not in dtypes:
        names = ", ".join(str(d) for d in dtypes)
        raise TypeError(f"{what} has dtype {t.dtype}; expected one of {names}")


class Communicator:
    """A group of ranks that run lioncub collectives together.

    ``Communicator()`` reads everything from the environment (LC_RANK/LC_SIZE/
    LC_ROOT, mpirun's, srun's or torch's RANK/WORLD_SIZE/MASTER_ADDR/
    MASTER_PORT); explicit ``rank``, ``size`` and ``root`` ("host:port", rank
    0 listens there) override it. Joining blocks until every rank has joined
    or ``timeout_ms`` (LC_TIMEOUT) passes. Use it as a context manager, or
    call close(); it is not thread-safe (one thread at a time).
    """

    def __init__(self, rank=None, size=None, root=None, job_key=None, provider=None,
                 timeout_ms=None, host=None):
        self._comm = None
        if (rank is None) != (size is None):
            raise ValueError("give both rank and size, or neither")
        cfg = _lib.CommConfig(size=ctypes.sizeof(_lib.CommConfig),
                              rank=-1 if rank is None else int(rank),
                              nranks=0 if size is None else int(size),
                              root=root.encode() if root else None, id=None,
                              job_key=job_key.encode() if job_key else None,
                              provider=provider.encode() if provider else None,
                              timeout_ms=int(timeout_ms or 0),
                              host=str(host).encode() if host is not None else None)
        if rank is not None and not 0 <= cfg.rank < cfg.nranks:
            raise ValueError(f"rank {rank} is not in [0, {size})")
        handle = ctypes.c_void_p()
        check(lib.lc_comm_init(ctypes.byref(cfg), ctypes.byref(handle)), "lc_comm_init")
        self._comm = handle
        self.rank = lib.lc_comm_rank(handle)
        self.size = lib.lc_comm_size(handle)
        self.provider = lib.lc_comm_provider(handle).decode()
        # Which ranks share a host, as the rendezvous told every rank (docs/hosts.md).
        self.host = check(lib.lc_comm_host(handle, self.rank), "lc_comm_host")
        self.num_hosts = check(lib.lc_comm_num_hosts(handle), "lc_comm_num_hosts")
        self.local_rank = check(lib.lc_comm_local_rank(handle), "lc_comm_local_rank")
        self.local_size = check(lib.lc_comm_local_size(handle), "lc_comm_local_size")

    # -- lifetime --
    @property
    def handle(self):
        """The lc_comm_t pointer (a ctypes.c_void_p) for other ctypes code."""
        if self._comm is None:
            raise ValueError("the communicator is closed")
        return self._comm

    def close(self):
        """Leave and free the communicator (not collective; never blocks)."""
        if self._comm is not None:
            lib.lc_comm_destroy(self._comm)
            self._comm = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    def __repr__(self):
        state = "closed" if self._comm is None else f"provider={self.provider}"
        return f"<lioncub.Communicator rank {self.rank} of {self.size}, {state}>"

    # -- collectives --
    def vote(self, x, out=None, mode="majority", level_bits=4, tie_salt=0, count=None,
             levels=None):
        """Vote AllReduce (lc_vote) of x's signs, in lioncub's sign convention.

        x: fp32/bf16/fp16 values (their IEEE sign bits vote; for "l1" their
        L1 levels), int8 levels already quantized ("l1"), or int64 words of
        packed sign bits (then give ``count``). mode: "majority", "average"
        or "l1" (``levels`` per side, default 2^(level_bits-1) - 1). out:
        fp32 or bf16 (+1/-1 values, the averages, or for "l1" 0 where the
        levels sum to 0), or int64 words of packed result bits; default: an
        fp32 tensor shaped like x (a new one is returned). Every rank gets
        the same result bit for bit.
        """
        torch = _torch()
        if mode not in _VOTE_MODES:
            raise ValueError(f"mode {mode!r} is not one of {', '.join(_VOTE_MODES)}")
        check_tensor(x, "x", (torch.float32, torch.bfloat16, torch.float16, torch.int8,
                              torch.int64))
        n = x.numel() if x.dtype != torch.int64 else count
        if n is None:
            raise ValueError("packed (int64) input needs count=, the number of votes")
        if x.dtype == torch.int64 and x.numel() < (n + 63) // 64:
            raise ValueError(f"{x.numel()} words hold fewer than count={n} bits")
        if out is None:
            out = torch.empty(x.shape if x.dtype != torch.int64 else (n,), dtype=torch.float32)
        check_tensor(out, "out", (torch.float32, torch.bfloat16, torch.int64))
        need = (n + 63) // 64 if out.dtype == torch.int64 else n
        if out.numel() < need:
            raise ValueError(f"out has {out.numel()} elements, needs {need}")
        opts = _lib.VoteOpts(size=ctypes.sizeof(_lib.VoteOpts), mode=_VOTE_MODES[mode],
                             level_bits=level_bits if mode == "l1" else 0,
                             tie_salt=int(tie_salt),
                             levels=int(levels or 0) if mode == "l1" else 0)
        check(lib.lc_vote(self.handle, x.data_ptr(), tensor_dtype(x), out.data_ptr(),
                          tensor_dtype(out), n, ctypes.byref(opts)), "vote")
        return out

    def allreduce(self, x, op="sum", out=None):
        """Sum or average (op "sum"/"avg") of fp32/bf16 x over the ranks, in place
        unless out is given; returns the result tensor."""
        torch = _torch()
        if op not in _OPS:
            raise ValueError(f"op {op!r} is not one of {', '.join(_OPS)}")
        check_tensor(x, "x", (torch.float32, torch.bfloat16))
        if out is None:
            out = x
        check_tensor(out, "out", (x.dtype,))
        if out.numel() != x.numel():
            raise ValueError(f"out has {out.numel()} elements, x has {x.numel()}")
        check(lib.lc_allreduce(self.handle, x.data_ptr(), out.data_ptr(), x.numel(),
                               tensor_dtype(x), _OPS[op]), "allreduce")
        return out

    def allgather(self, x, out=None):
        """Every rank's x: out has shape (size, *x.shape), row r from rank r."""
        torch = _torch()
        check_tensor(x, "x")
        if out is None:
            out = torch.empty((self.size,) + tuple(x.shape), dtype=x.dtype)
        check_tensor(out, "out", (x.dtype,))
        if out.numel() != self.size * x.numel():
            raise ValueError(f"out has {out.numel()} elements, needs {self.size * x.numel()}")
        nbytes = x.numel() * x.element_size()
        check(lib.lc_allgather(self.handle, x.data_ptr(), out.data_ptr(), nbytes), "allgather")
        return out

    def bcast(self, x, root=0):
        """Rank root's x into every rank's x, in place; returns x."""
        check_tensor(x, "x")
        if not 0 <= root < self.size:
            raise ValueError(f"root {root} is not in [0, {self.size})")
        check(lib.lc_bcast(self.handle, x.data_ptr(), x.numel() * x.element_size(), int(root)),
              "bcast")
        return x

    def barrier(self):
        """Return when every rank has entered the barrier."""
        check(lib.lc_barrier(self.handle), "barrier")

    def stats(self):
        """Traffic since creation: bytes_sent, bytes_recv, collectives, comm_seconds,
        votes_two_level (votes that ran inside hosts, then across)."""
        s = _lib.CommStats(size=ctypes.sizeof(_lib.CommStats))
        check(lib.lc_comm_get_stats(self.handle, ctypes.byref(s)), "stats")
        return {"bytes_sent": s.bytes_sent, "bytes_recv": s.bytes_recv,
                "collectives": s.collectives, "comm_seconds": s.comm_seconds,
                "votes_two_level": s.votes_two_level}


_default = None


def default_communicator():
    """The process's communicator from the environment, made at the first call."""
    global _default
    if _default is None or _default._comm is None:
        _default = Communicator()
    return _default
