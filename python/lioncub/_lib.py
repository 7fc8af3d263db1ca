"""liblioncub.so through ctypes: loading, prototypes, and the error check.

ctypes, not a C extension or cffi: users need no compiler and nothing beyond
the interpreter, and a call costs about a microsecond where a training step
takes milliseconds (bench/torch measures what the Python layer adds).
"""
import ctypes
import ctypes.util
import os

from . import errors

c_size_t = ctypes.c_size_t
c_int = ctypes.c_int
c_void_p = ctypes.c_void_p
c_float = ctypes.c_float
c_double = ctypes.c_double
c_uint64 = ctypes.c_uint64
c_char_p = ctypes.c_char_p

# lc_dtype_t
LC_FP32, LC_BF16, LC_FP16, LC_INT8, LC_INT32, LC_BITS = range(6)
# lc_vote_mode_t
LC_VOTE_MAJORITY, LC_VOTE_AVERAGE, LC_VOTE_L1 = range(3)
# lc_op_t
LC_SUM, LC_AVG = range(2)
# lc_msync_kind_t
LC_MSYNC_NEVER, LC_MSYNC_EVERY, LC_MSYNC_EXP, LC_MSYNC_EVERY_FROM_1 = range(4)
# lc_lion_config_t.flags
LC_LION_EXACT_BETAS = 1


class CommConfig(ctypes.Structure):
    _fields_ = [("size", c_size_t), ("rank", c_int), ("nranks", c_int), ("root", c_char_p),
                ("id", c_void_p), ("job_key", c_char_p), ("provider", c_char_p),
                ("timeout_ms", c_int), ("host", c_char_p)]


class CommStats(ctypes.Structure):
    _fields_ = [("size", c_size_t), ("bytes_sent", c_uint64), ("bytes_recv", c_uint64),
                ("collectives", c_uint64), ("comm_seconds", c_double),
                ("votes_two_level", c_uint64)]


class VoteOpts(ctypes.Structure):
    _fields_ = [("size", c_size_t), ("mode", c_int), ("level_bits", ctypes.c_uint),
                ("tie_salt", c_uint64), ("levels", ctypes.c_uint)]


class Msync(ctypes.Structure):
    _fields_ = [("size", c_size_t), ("kind", c_int), ("every", c_uint64), ("until", c_uint64),
                ("k", c_double), ("dtype", c_int)]


class LionConfig(ctypes.Structure):
    _fields_ = [("size", c_size_t), ("mode", c_int), ("lr", c_float), ("beta1", c_float),
                ("beta2", c_float), ("weight_decay", c_float), ("level_bits", ctypes.c_uint),
                ("levels", ctypes.c_uint), ("flags", ctypes.c_uint)]


class LionStepOpts(ctypes.Structure):
    _fields_ = [("size", c_size_t), ("lr", c_float), ("weight_decay", c_float),
                ("group_lr", ctypes.POINTER(c_float)),
                ("group_weight_decay", ctypes.POINTER(c_float))]


class LionStepInfo(ctypes.Structure):
    _fields_ = [("size", c_size_t), ("step", c_uint64), ("bytes_sent", c_uint64),
                ("comm_seconds", c_double), ("total_seconds", c_double),
                ("momentum_synced", c_int)]


# name: (restype, argtypes); every int-returning function goes through check().
_PROTOS = {
    "lc_version": (c_char_p, [ctypes.POINTER(c_int)]),
    "lc_strerror": (c_char_p, [c_int]),
    "lc_last_error": (c_char_p, []),
    "lc_comm_init": (c_int, [ctypes.POINTER(CommConfig), ctypes.POINTER(c_void_p)]),
    "lc_comm_destroy": (c_int, [c_void_p]),
    "lc_comm_rank": (c_int, [c_void_p]),
    "lc_comm_size": (c_int, [c_void_p]),
    "lc_comm_provider": (c_char_p, [c_void_p]),
    "lc_comm_host": (c_int, [c_void_p, c_int]),
    "lc_comm_num_hosts": (c_int, [c_void_p]),
    "lc_comm_local_rank": (c_int, [c_void_p]),
    "lc_comm_local_size": (c_int, [c_void_p]),
    "lc_comm_get_stats": (c_int, [c_void_p, ctypes.POINTER(CommStats)]),
    "lc_vote": (c_int, [c_void_p, c_void_p, c_int, c_void_p, c_int, c_size_t,
                        ctypes.POINTER(VoteOpts)]),
    "lc_allreduce": (c_int, [c_void_p, c_void_p, c_void_p, c_size_t, c_int, c_int]),
    "lc_allgather": (c_int, [c_void_p, c_void_p, c_void_p, c_size_t]),
    "lc_bcast": (c_int, [c_void_p, c_void_p, c_size_t, c_int]),
    "lc_barrier": (c_int, [c_void_p]),
    "lc_quantize_l1_levels": (c_int, [c_void_p, c_int, c_size_t, ctypes.c_uint, c_void_p]),
    "lc_msync_due": (c_int, [ctypes.POINTER(Msync), c_uint64]),
    "lc_lion_create": (c_int, [c_void_p, ctypes.POINTER(LionConfig), ctypes.POINTER(c_void_p)]),
    "lc_lion_add_group": (c_int, [c_void_p, c_void_p, c_size_t, c_int, c_char_p,
                                  ctypes.POINTER(Msync)]),
    "lc_lion_step": (c_int, [c_void_p, ctypes.POINTER(c_void_p), ctypes.POINTER(LionStepOpts),
                             ctypes.POINTER(LionStepInfo)]),
    "lc_lion_step_begin": (c_int, [c_void_p, ctypes.POINTER(LionStepOpts)]),
    "lc_lion_step_group": (c_int, [c_void_p, c_int, c_void_p]),
    "lc_lion_step_end": (c_int, [c_void_p, ctypes.POINTER(LionStepInfo)]),
    "lc_lion_get_step": (c_int, [c_void_p, ctypes.POINTER(c_uint64)]),
    "lc_lion_set_step": (c_int, [c_void_p, c_uint64]),
    "lc_lion_get_momentum": (c_int, [c_void_p, c_int, c_void_p, c_size_t]),
    "lc_lion_set_momentum": (c_int, [c_void_p, c_int, c_void_p, c_size_t]),
    "lc_lion_set_params": (c_int, [c_void_p, c_int, c_void_p]),
    "lc_lion_destroy": (None, [c_void_p]),
    "lc_lion_mode_parse": (c_int, [c_char_p]),
}


def _library_path():
    env = os.environ.get("LIONCUB_LIBRARY")
    if env:
        return env
    try:
        from . import _paths
    except ImportError:
        _paths = None
    if _paths is not None and _paths.LIBRARY:
        path = _paths.LIBRARY
        if not os.path.isabs(path):
            path = os.path.normpath(os.path.join(os.path.dirname(__file__), path))
        if os.path.exists(path):
            return path
    found = ctypes.util.find_library("lioncub")
    if found:
        return found
    raise ImportError("lioncub: cannot find liblioncub.so; build it (cmake --build build) and "
                      "use PYTHONPATH=build/python, install it (cmake --install), or set "
                      "LIONCUB_LIBRARY to its path")


def _load():
    lib = ctypes.CDLL(_library_path())
    for name, (res, args) in _PROTOS.items():
        fn = getattr(lib, name)
        fn.restype = res
        fn.argtypes = args
    return lib


lib = _load()


def last_error():
    """The library's message for the last failure on this thread."""
    return lib.lc_last_error().decode(errors="replace")


def check(rc, what=""):
    """Raise the LioncubError subclass for a negative return code; else return rc."""
    if rc >= 0:
        return rc
    msg = last_error() or lib.lc_strerror(rc).decode()
    if what:
        msg = f"{what}: {msg}"
    raise errors.error_for(rc, msg, lib.lc_strerror(rc).decode())
