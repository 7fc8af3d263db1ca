"""lioncub.torch.LionCub across ranks (processes over loopback): replicas, the C step,
checkpoints, per-group hyper-parameters, schedulers, bad input."""
import itertools

import pytest

torch = pytest.importorskip("torch")

from ranks import run_ranks, values  # noqa: E402

MODES = ["vote", "vote-avg", "vote-l1", "global-fp32", "global-bf16"]


@pytest.mark.parametrize("fused", [True, False], ids=["fused", "torchops"])
@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
@pytest.mark.parametrize("mode", MODES)
def test_step_equals_c_step(mode, dtype, fused):
    """Same gradients: LionCub's parameters and momenta equal the C API's (lc_lion_step)
    bit for bit, with per-group lr and weight decay, zero gradients, and for vote-l1 the
    authors' levels (127 // p), at p = 3 (odd, so a zero's parity vote decides); the
    replicas agree."""
    args = {"mode": mode, "dtype": dtype, "fused": fused, "levels": 42 if mode == "vote-l1"
            else 3}
    res = values(run_ranks(3, "vs_c", args))
    for r in res:
        assert r["diff"] == 0 and r["mdiff"] == 0, res
        assert r["moved"] > 0
    assert len({r["params"] for r in res}) == 1


@pytest.mark.parametrize("mode,msync", [("vote", None), ("vote", 3), ("vote-avg", "exp"),
                                        ("vote-l1", 4), ("global-fp32", None),
                                        ("global-bf16", None)])
def test_replicas_identical(mode, msync):
    """3 ranks, different data, one rank without a gradient for one tensor and
    non-contiguous gradients: every rank ends with the same parameters."""
    res = values(run_ranks(3, "train", {"mode": mode, "msync": msync, "steps": 15,
                                        "none_grad_rank": 1, "noncontig_grad": True}))
    assert len({r["params"] for r in res}) == 1, res
    if msync is None and mode.startswith("vote"):
        assert len({r["momenta"] for r in res}) == 3  # local momenta differ between ranks


@pytest.mark.parametrize("fused", [True, False], ids=["fused", "torchops"])
@pytest.mark.parametrize("mode,msync,dtype", [("vote", "exp", "float32"),
                                              ("vote-l1", 3, "bfloat16"),
                                              ("vote-avg", None, "float32"),
                                              ("global-fp32", None, "float32")])
def test_checkpoint_resume(tmp_path, mode, msync, dtype, fused):
    """Saved at step 20 and resumed in new processes, step 40 equals an uninterrupted
    run bit for bit: parameters, momenta, and the scheduler's lr."""
    base = {"mode": mode, "msync": msync, "dtype": dtype, "fused": fused, "steps": 40}
    whole = values(run_ranks(2, "train", base))
    path = str(tmp_path / "ck_{rank}.pt")
    first = values(run_ranks(2, "train", dict(base, save_at=20, save=path)))
    assert all(r["step"] == 20 for r in first)
    resumed = values(run_ranks(2, "train", dict(base, load=path)))
    for w, r in zip(whole, resumed):
        assert r["step"] == 40
        assert (w["params"], w["momenta"], w["lr"]) == (r["params"], r["momenta"], r["lr"])
    assert whole[0]["params"] != first[0]["params"]


def test_checkpoint_other_world_size_or_mode(tmp_path):
    """A checkpoint loads only with its world size, mode and rank: a clear ValueError."""
    path = str(tmp_path / "ck_{rank}.pt")
    values(run_ranks(2, "train", {"mode": "vote", "steps": 3, "save_at": 3, "save": path}))
    for p, mode in ((1, "vote"), (2, "vote-l1")):
        res = run_ranks(p, "train", {"mode": mode, "steps": 5, "load": path})
        for r in res:
            assert r.returncode != 0
            assert "ValueError" in r.stderr
            assert ("world_size" in r.stderr) == (p == 1) and ("mode" in r.stderr)


def test_per_group_weight_decay_and_lr():
    """One rank, vote mode, weight decay 0: each step moves every element by exactly
    its group's lr; a group with weight decay shrinks by lr*wd on top."""
    from lioncub import Communicator
    from lioncub.torch import LionCub

    with Communicator(rank=0, size=1) as comm:
        a = torch.full((100,), 2.0)
        b = torch.full((100,), 2.0)
        opt = LionCub([{"params": [a], "weight_decay": 0.0, "lr": 0.25},
                       {"params": [b], "weight_decay": 0.5, "lr": 0.125}], comm=comm)
        sched = torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
        lr_a, lr_b, want_b = 0.25, 0.125, torch.full((100,), 2.0)
        for step in range(4):
            a.grad = torch.ones(100)
            b.grad = -torch.ones(100)
            before = a.clone()
            opt.step()
            assert torch.equal(before - a, torch.full((100,), lr_a))
            want_b = want_b * (1 - lr_b * 0.5) + lr_b
            assert torch.allclose(b, want_b, rtol=0, atol=1e-6)
            sched.step()
            lr_a, lr_b = lr_a / 2, lr_b / 2


@pytest.mark.parametrize("kind,error", [("fp16", "TypeError"), ("int", "TypeError"),
                                        ("noncontig_param", "ValueError"),
                                        ("bad_lr", "ValueError"),
                                        ("param_list", "MismatchError")])
def test_bad_input_every_rank(kind, error):
    """Bad input raises a clear exception on every rank, and no rank hangs."""
    res = values(run_ranks(2, "bad_input", {"kind": kind}, timeout=60))
    for r in res:
        assert r["error"] == error, res
    if kind == "param_list":
        assert all(r["lioncub"] and r["code"] == -4097 for r in res)


def test_dead_rank_is_an_error_within_timeout():
    """Rank 1 exits in the middle of training: rank 0's step raises a LioncubError
    within LC_TIMEOUT (3 s here), it does not hang."""
    res = run_ranks(2, "bad_input", {"kind": "die"}, timeout=60, lc_timeout_ms=3000)
    assert res[1].returncode == 3
    r0 = values(res[:1])[0]
    assert r0["lioncub"], r0
    assert r0["seconds"] < 3.0 + 10.0


def test_broadcast_parameters():
    res = values(run_ranks(3, "bcast_init"))
    assert all(r["params"] == r["want"] for r in res)


def test_ddp_wrapped_model_is_refused(tmp_path):
    """A model wrapped in DistributedDataParallel is refused with a clear error."""
    import torch.distributed as dist
    from lioncub import Communicator
    from lioncub.torch import LionCub

    dist.init_process_group("gloo", init_method=f"file://{tmp_path}/store", rank=0,
                            world_size=1)
    try:
        model = torch.nn.Linear(3, 2)
        ddp = torch.nn.parallel.DistributedDataParallel(model)
        with Communicator(rank=0, size=1) as comm:
            with pytest.raises(RuntimeError, match="DistributedDataParallel"):
                LionCub(ddp.parameters(), comm=comm)
            LionCub(torch.nn.Linear(3, 2).parameters(), comm=comm)  # others are fine
        del ddp
    finally:
        dist.destroy_process_group()


def test_add_param_group_refused():
    from lioncub import Communicator
    from lioncub.torch import LionCub

    with Communicator(rank=0, size=1) as comm:
        opt = LionCub([torch.zeros(3)], comm=comm)
        with pytest.raises(RuntimeError, match="fixed at construction"):
            opt.add_param_group({"params": [torch.zeros(2)]})


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device here: the CUDA "
                    "path runs where a GPU is (the same engine is checked on the CPU above)")
@pytest.mark.parametrize("mode,dtype", itertools.product(MODES, ["float32", "bfloat16"]))
def test_cuda_matches_cpu(mode, dtype):
    """CUDA parameters: the device engine's result at p = 1 matches the fused CPU step."""
    from lioncub import Communicator
    from lioncub.torch import LionCub

    dt = getattr(torch, dtype)
    with Communicator(rank=0, size=1) as comm:
        g = torch.Generator().manual_seed(3)
        cpu = [torch.randn(s, generator=g).to(dt) for s in ((40, 9), (77,))]
        gpu = [t.cuda() for t in cpu]
        oc = LionCub(cpu, lr=0.01, weight_decay=0.1, mode=mode, comm=comm)
        og = LionCub(gpu, lr=0.01, weight_decay=0.1, mode=mode, comm=comm)
        for step in range(10):
            grads = [torch.randn(t.shape, generator=g).to(dt) for t in cpu]
            for t, u, gr in zip(cpu, gpu, grads):
                t.grad, u.grad = gr, gr.cuda()
            oc.step()
            og.step()
        for t, u in zip(cpu, gpu):
            # fp32 products are never fused on either side, but a GPU may flush
            # subnormals: allow a last-place difference on a few elements
            diff = (t.float() - u.cpu().float()).abs()
            assert (diff > 0).float().mean() < 1e-3, (mode, dtype)
