"""lioncub.torch.LionCub(overlap=True) across ranks (processes over loopback): votes
started from the gradient hooks during backward give the plain step's result."""
import pytest

torch = pytest.importorskip("torch")

from ranks import run_ranks, values  # noqa: E402


@pytest.mark.parametrize("mode,msync,dtype,accumulate", [("vote", None, "float32", False),
                                                         ("vote-avg", 3, "bfloat16", True),
                                                         ("vote-l1", None, "float32", True),
                                                         ("global-fp32", None, "float32", False)])
def test_overlap_equals_step(mode, msync, dtype, accumulate):
    """overlap=True (votes started from the gradient hooks during backward, with
    gradient accumulation under no_sync) ends with the same parameters and momenta
    as the plain step, bit for bit, at p = 3."""
    base = {"mode": mode, "msync": msync, "dtype": dtype, "steps": 12, "accumulate": accumulate}
    plain = values(run_ranks(3, "train", base))
    overlapped = values(run_ranks(3, "train", dict(base, overlap=True)))
    for a, b in zip(plain, overlapped):
        assert (a["params"], a["momenta"], a["step"]) == (b["params"], b["momenta"], b["step"])
        assert b["early"] == 6  # every parameter's vote started during backward
    assert len({r["params"] for r in overlapped}) == 1
