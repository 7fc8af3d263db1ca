"""lioncub: Lion Cub sign-vote collectives and the distributed Lion optimizer.

``lioncub.Communicator`` runs the collectives on CPU tensors;
``lioncub.torch.LionCub`` is the torch.optim optimizer. Both are a thin layer
over liblioncub.so (no algorithm lives in Python).
"""
import ctypes as _ctypes

from ._lib import lib as _clib
from .comm import Communicator, default_communicator
from .errors import (ConfigError, InvalidArgument, JobKeyError, LioncubError,
                     LioncubTimeoutError, MismatchError, NoProviderError, PeerError,
                     ProtocolError, SimdError)

__all__ = ["Communicator", "default_communicator", "version", "LioncubError",
           "InvalidArgument", "MismatchError", "PeerError", "LioncubTimeoutError",
           "ConfigError", "JobKeyError", "NoProviderError", "ProtocolError", "SimdError"]


def version():
    """The loaded library's version string, "MAJOR.MINOR.PATCH"."""
    return _clib.lc_version(_ctypes.POINTER(_ctypes.c_int)()).decode()


__version__ = version()
