"""lioncub.Communicator: every collective at p = 4 (ties happen) against a reference
computed here from all ranks' inputs; errors and their classes; the same ranks on
two emulated hosts (LC_HOST) vote in two levels to the same bits."""
import pytest

torch = pytest.importorskip("torch")

import lioncub  # noqa: E402
from ranks import run_ranks, values  # noqa: E402
from workers import rank_votes  # noqa: E402

P, N = 4, 1000


@pytest.fixture(scope="module")
def results():
    return values(run_ranks(P, "comm_ops", {"n": N}))


def reference_counts():
    neg = torch.zeros(N, dtype=torch.int64)
    for r in range(P):
        neg += (rank_votes(r, N).view(torch.int32) < 0).to(torch.int64)
    return neg


def test_majority(results):
    neg = reference_counts()
    idx = torch.arange(N)
    tie_neg = ((idx + 5) & 1).bool()
    want = torch.where(2 * neg > P, -1.0, 1.0)
    want = torch.where(2 * neg == P, torch.where(tie_neg, -1.0, 1.0), want)
    assert (2 * neg == P).sum() > 50  # the data has ties, so the tie rule is checked
    for res in results:
        assert res["majority"] == want.tolist()
        assert res["majority_from_packed"] == want.tolist()
        words = torch.tensor(res["majority_words"], dtype=torch.int64)
        bits = ((words.unsqueeze(1) >> torch.arange(64)) & 1).view(-1)[:N]
        assert bits.tolist() == (want < 0).to(torch.int64).tolist()


def test_average(results):
    neg = reference_counts()
    want = ((P - 2 * neg).double() / P).float()
    for res in results:
        assert res["average"] == want.tolist()


def test_allreduce_allgather_bcast(results):
    ref = sum(rank_votes(r, N).double() for r in range(P))
    for res in results:
        assert torch.allclose(torch.tensor(res["sum"], dtype=torch.float64), ref, atol=1e-5)
        assert res["gather"] == [[10 * r + k for k in range(3)] for r in range(P)]
        assert res["bcast"] == [float(P - 1)] * 5
        assert res["bytes_sent"] > 0
    for key in ("sum_bits", "avg_bf16", "l1"):
        assert len({res[key] for res in results}) == 1, key  # bit-identical on every rank


def test_errors_carry_code_and_message(results):
    for res in results:
        code, message = res["einval"]
        assert code == -22 and "level_bits" in message
        assert res["mismatch"] == lioncub.errors.LC_ERR_MISMATCH


def test_local_argument_errors():
    with lioncub.Communicator(rank=0, size=1) as comm:
        with pytest.raises(ValueError, match="contiguous"):
            comm.allreduce(torch.zeros(4, 4).t())
        with pytest.raises(TypeError, match="dtype"):
            comm.allreduce(torch.zeros(4, dtype=torch.int32))
        with pytest.raises(ValueError, match="mode"):
            comm.vote(torch.zeros(4), mode="sum")
        with pytest.raises(ValueError, match="count"):
            comm.vote(torch.zeros(1, dtype=torch.int64))
        assert comm.size == 1 and comm.rank == 0 and comm.provider == "tcp"
    with pytest.raises(ValueError, match="closed"):
        comm.barrier()
    with pytest.raises(ValueError, match="rank"):
        lioncub.Communicator(rank=2, size=2)
    with pytest.raises(lioncub.ConfigError) as err:
        lioncub.Communicator(rank=0, size=2, root="no-port-here")
    assert err.value.code == lioncub.errors.LC_ERR_CONFIG and "LC_ROOT" in err.value.message


def test_torch_variables():
    """Launched with torch's RANK/WORLD_SIZE/MASTER_ADDR/MASTER_PORT only."""
    res = values(run_ranks(3, "whoami", torch_vars=True))
    assert res == [{"rank": r, "size": 3, "local_rank": r, "local_size": 3, "host": 0,
                    "num_hosts": 1} for r in range(3)]


def test_two_hosts_vote_like_one(results):
    """Ranks 0, 2 and 1, 3 on two hosts (LC_HOST), votes in two levels (LC_HIER=1):
    the topology the rendezvous gives, and every vote's result equal to one host's."""
    hosts = values(run_ranks(P, "comm_ops", {"n": N},
                             env=lambda r: {"LC_HOST": f"h{r % 2}", "LC_HIER": "1"}))
    for r, (flat, two) in enumerate(zip(results, hosts)):
        assert two["topology"] == [r % 2, 2, r // 2, 2]
        assert two["two_level"] == 5  # majority, average, into words, from packed, l1
        for k in ("majority", "average", "majority_words", "majority_from_packed", "l1"):
            assert two[k] == flat[k], k
