"""LionCub's CPU engine: the C library's fused step (lc_lion_step) on the tensors' memory."""
import ctypes

import torch

from .. import _lib
from .._lib import check, lib


class FusedEngine:
    """One lc_lion_t; each parameter is one of its groups, in param_groups order."""

    def __init__(self, opt):
        self._lion = None
        self._params = opt._params
        b1, b2 = opt.betas
        cfg = _lib.LionConfig(size=ctypes.sizeof(_lib.LionConfig),
                              mode=check(lib.lc_lion_mode_parse(opt.mode.encode())),
                              lr=opt.defaults["lr"], beta1=b1, beta2=b2,
                              weight_decay=opt.defaults["weight_decay"],
                              levels=opt.levels, flags=_lib.LC_LION_EXACT_BETAS)
        handle = ctypes.c_void_p()
        check(lib.lc_lion_create(opt.comm.handle, ctypes.byref(cfg), ctypes.byref(handle)),
              "LionCub")
        self._lion = handle
        self._comm = opt.comm  # keeps the communicator alive as long as the optimizer
        self._ptrs = []
        for i, (p, gi) in enumerate(zip(self._params, opt._group_of)):
            ms = opt.param_groups[gi]["momentum_sync"]
            msync = ctypes.byref(ms.struct()) if ms else None
            dtype = _lib.LC_FP32 if p.dtype == torch.float32 else _lib.LC_BF16
            check(lib.lc_lion_add_group(handle, p.data_ptr() if p.numel() else None, p.numel(),
                                        dtype, f"group{gi}.param{i}".encode(), msync),
                  "LionCub")
            self._ptrs.append(p.data_ptr())
        n = len(self._params)
        self._grad_ptrs = (ctypes.c_void_p * max(n, 1))()
        self._lrs = (ctypes.c_float * max(n, 1))()
        self._wds = (ctypes.c_float * max(n, 1))()
        self._opts = _lib.LionStepOpts(size=ctypes.sizeof(_lib.LionStepOpts), lr=-1.0,
                                       weight_decay=-1.0, group_lr=self._lrs,
                                       group_weight_decay=self._wds)
        self._info = _lib.LionStepInfo(size=ctypes.sizeof(_lib.LionStepInfo))
        largest = max((p.numel() for p in self._params), default=0)
        self._zeros = torch.zeros(max(largest, 1), dtype=torch.float32)  # a None gradient

    def __del__(self):
        if self._lion is not None:
            lib.lc_lion_destroy(self._lion)
            self._lion = None

    def _rebind(self):
        """Point the library at parameters whose storage moved (p.data = ...)."""
        for i, p in enumerate(self._params):
            if p.data_ptr() != self._ptrs[i]:
                if p.device.type != "cpu" or not p.is_contiguous():
                    raise RuntimeError(f"parameter {i} was replaced by a tensor on {p.device} "
                                       "or a non-contiguous one")
                check(lib.lc_lion_set_params(self._lion, i, p.data_ptr() or None), "LionCub")
                self._ptrs[i] = p.data_ptr()

    def _set_hparams(self, lrs, wds):
        for i in range(len(self._params)):
            self._lrs[i] = lrs[i]
            self._wds[i] = wds[i]

    def _info_dict(self):
        info = self._info
        return {"step": info.step, "bytes_sent": info.bytes_sent,
                "comm_seconds": info.comm_seconds, "total_seconds": info.total_seconds,
                "momentum_synced": info.momentum_synced}

    def step(self, grads, lrs, wds):
        self._rebind()
        zero = self._zeros.data_ptr()
        for i, g in enumerate(grads):
            self._grad_ptrs[i] = zero if g is None else g.data_ptr()
        self._set_hparams(lrs, wds)
        check(lib.lc_lion_step(self._lion, self._grad_ptrs, ctypes.byref(self._opts),
                               ctypes.byref(self._info)), "LionCub.step")
        return self._info_dict()

    # the split step (lc_lion_step_begin / _group / _end), for overlap with backward
    def begin(self, lrs, wds):
        self._rebind()
        self._set_hparams(lrs, wds)
        check(lib.lc_lion_step_begin(self._lion, ctypes.byref(self._opts)), "LionCub")

    def give(self, i, grad):
        ptr = self._zeros.data_ptr() if grad is None else grad.data_ptr()
        check(lib.lc_lion_step_group(self._lion, i, ptr), "LionCub")

    def end(self):
        check(lib.lc_lion_step_end(self._lion, ctypes.byref(self._info)), "LionCub.step")
        return self._info_dict()

    def get_step(self):
        step = ctypes.c_uint64()
        check(lib.lc_lion_get_step(self._lion, ctypes.byref(step)))
        return step.value

    def set_step(self, step):
        check(lib.lc_lion_set_step(self._lion, int(step)), "load_state_dict")

    def get_momentum(self, i):
        n = self._params[i].numel()
        m = torch.empty(n, dtype=torch.float32)
        check(lib.lc_lion_get_momentum(self._lion, i, m.data_ptr() if n else None, n))
        return m

    def set_momentum(self, i, m):
        m = m.detach().to("cpu", torch.float32).contiguous().view(-1)
        check(lib.lc_lion_set_momentum(self._lion, i, m.data_ptr() if m.numel() else None,
                                       m.numel()), "load_state_dict")
