"""Run a worker function of workers.py on p ranks, as separate processes.

Each rank is `python workers.py NAME JSON` with LC_RANK, LC_SIZE and LC_ROOT
set (a free loopback port); it prints one JSON line with its result. Every
run is bounded: a rank still alive after `timeout` seconds is killed and the
run fails.
"""
import json
import os
import random
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def free_port():
    """A free port below the kernel's ephemeral range: no other test's connect() is
    given it meanwhile (one the kernel picked could be), so it stays free until rank
    0 binds it. MASTER_PORT (torch_vars) is the port below it."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            lo = int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        lo = 32768
    lo = lo if lo > 10002 else 32768
    rng = random.Random()
    for _ in range(1000):
        port = rng.randrange(10001, lo)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port below the ephemeral range")


class RankResult:
    def __init__(self, rank, returncode, out, err):
        self.rank, self.returncode, self.stdout, self.stderr = rank, returncode, out, err
        lines = [ln for ln in out.splitlines() if ln.startswith("{")]
        self.value = json.loads(lines[-1]) if lines else None

    def __repr__(self):
        return (f"rank {self.rank}: exit {self.returncode}, value {self.value}\n"
                f"stderr: {self.stderr[-2000:]}")


def run_ranks(p, name, args=None, timeout=120, env=None, lc_timeout_ms=30000,
              torch_vars=False):
    """Start p ranks of workers.NAME(args); return their RankResults, rank order.

    torch_vars: bootstrap from RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT
    instead of LC_RANK, LC_SIZE and LC_ROOT.
    """
    port = free_port()
    procs = []
    for r in range(p):
        e = dict(os.environ)
        for k in ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"):
            e.pop(k, None)
        for k in ("LC_RANK", "LC_SIZE", "LC_ROOT"):
            e.pop(k, None)
        if torch_vars:  # lioncub listens on MASTER_PORT + 1
            e.update(RANK=str(r), WORLD_SIZE=str(p), LOCAL_RANK=str(r),
                     LOCAL_WORLD_SIZE=str(p), MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port - 1))
        else:
            e.update(LC_RANK=str(r), LC_SIZE=str(p), LC_ROOT=f"127.0.0.1:{port}")
        e.update(LC_TIMEOUT=str(lc_timeout_ms), OMP_NUM_THREADS="1")
        if env:
            e.update(env(r) if callable(env) else env)
        procs.append(subprocess.Popen(
            [sys.executable, os.path.join(HERE, "workers.py"), name, json.dumps(args or {})],
            env=e, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    deadline = time.monotonic() + timeout
    results = []
    for r, proc in enumerate(procs):
        try:
            out, err = proc.communicate(timeout=max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            for q in procs:
                q.kill()
            out, err = proc.communicate()
            raise AssertionError(f"{name}: rank {r} still running after {timeout} s\n{err}")
        results.append(RankResult(r, proc.returncode, out, err))
    return results


def values(results):
    """Every rank's value; fails with every rank's output when one did not finish cleanly."""
    bad = [r for r in results if r.returncode != 0 or r.value is None]
    assert not bad, "\n".join(repr(r) for r in results)
    return [r.value for r in results]
