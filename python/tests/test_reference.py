"""lioncub's Lion modes against an independent reference (lion_reference.py) that
shares nothing with the library: 100 steps at p = 2, 3 and 4, every mode, fp32 and
bf16 parameters, exact zeros and a never-updated tensor, a per-step lr, per-tensor
weight decay, betas of 0, the authors' L1 levels and momentum-sync phase. Bit for bit."""
import pytest

torch = pytest.importorskip("torch")

from lion_reference import Reference  # noqa: E402
from ranks import run_ranks, values  # noqa: E402
from workers import REF_MSYNC, REF_WD, ref_grads, ref_initial, ref_lr  # noqa: E402

STEPS = 100
MODES = ["global-fp32", "global-bf16", "vote", "vote-avg", "vote-l1"]


def reference(p, mode, betas, levels, msync):
    ref = Reference(ref_initial(), p, mode, betas, levels,
                    REF_MSYNC if msync else [None] * len(REF_WD))
    for step in range(1, STEPS + 1):
        lr = float(torch.tensor(ref_lr(step), dtype=torch.float32))
        ref.step([ref_grads(r, step) for r in range(p)], [lr] * len(REF_WD), REF_WD)
    return ref.params


@pytest.mark.parametrize("p", [2, 3, 4])
@pytest.mark.parametrize("mode", MODES)
def test_matches_reference(p, mode):
    cases = [((0.9, 0.99), 3, True), ((0.0, 0.5), 127 // p, False)]
    for betas, levels, msync in cases:
        args = {"mode": mode, "betas": betas, "levels": levels, "msync": msync,
                "steps": STEPS}
        res = values(run_ranks(p, "ref_train", args))
        want = reference(p, mode, betas, levels, msync)
        for r, got in enumerate(res):
            for k, (g, w) in enumerate(zip(got["params"], want)):
                diff = (torch.tensor(g) != w).sum().item()
                assert diff == 0, (f"p={p} {mode} betas={betas} levels={levels} msync={msync}: "
                                   f"rank {r} tensor {k}: {diff} of {w.numel()} differ")
