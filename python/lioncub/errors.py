"""Exceptions raised by lioncub: one class per library error code family.

Every exception carries the library's negative error code (``code``) and the
one-line message the library recorded (``message``, from lc_last_error()).
"""
import errno as _errno

# lioncub's own codes (include/lioncub/lioncub.h, enum lc_error).
LC_ERR_BASE = 4096
LC_ERR_MISMATCH = -(LC_ERR_BASE + 1)
LC_ERR_JOB_KEY = -(LC_ERR_BASE + 2)
LC_ERR_NO_PROVIDER = -(LC_ERR_BASE + 3)
LC_ERR_PEER = -(LC_ERR_BASE + 4)
LC_ERR_SIMD = -(LC_ERR_BASE + 5)
LC_ERR_CONFIG = -(LC_ERR_BASE + 6)
LC_ERR_PROTO = -(LC_ERR_BASE + 7)


class LioncubError(RuntimeError):
    """A lioncub function failed; ``code`` is its negative error code."""

    def __init__(self, code, message, name=""):
        self.code = code
        self.message = message
        self.name = name
        super().__init__(f"{message} [{name}, code {code}]" if name else message)


class InvalidArgument(LioncubError, ValueError):
    """An argument was rejected before anything was changed (-EINVAL)."""


class MismatchError(LioncubError):
    """Ranks called a collective, or built an optimizer, with different arguments."""


class PeerError(LioncubError, ConnectionError):
    """A peer failed or left; the communicator is unusable."""


class LioncubTimeoutError(LioncubError, TimeoutError):
    """A peer did not answer within LC_TIMEOUT."""


class ConfigError(LioncubError):
    """A configuration variable (LC_*, or the launcher's) has a bad value or is missing."""


class JobKeyError(LioncubError, PermissionError):
    """A peer presented another job key (LC_JOB_KEY)."""


class NoProviderError(LioncubError):
    """No provider of LC_PROVIDER could be used here."""


class ProtocolError(LioncubError):
    """A peer sent something this version cannot read."""


class SimdError(LioncubError):
    """The SIMD level asked for (LC_SIMD) is not supported by this CPU."""


_BY_CODE = {
    -_errno.EINVAL: InvalidArgument,
    LC_ERR_MISMATCH: MismatchError,
    LC_ERR_PEER: PeerError,
    -_errno.ECONNRESET: PeerError,
    -_errno.EPIPE: PeerError,
    -_errno.ECONNREFUSED: PeerError,
    -_errno.ETIMEDOUT: LioncubTimeoutError,
    LC_ERR_CONFIG: ConfigError,
    LC_ERR_JOB_KEY: JobKeyError,
    LC_ERR_NO_PROVIDER: NoProviderError,
    LC_ERR_PROTO: ProtocolError,
    LC_ERR_SIMD: SimdError,
}


def error_for(code, message, name=""):
    """The exception for a negative return code."""
    return _BY_CODE.get(code, LioncubError)(code, message, name)
