"""runs.py - the measurements of bench/report: each function runs one of the
existing benchmark programs or scripts (lc_bench_kernels, lc_coll and lc_ping
under lc_run --net, bench/vs_mpi, bench/netns_iperf, the NCCL plugin driver,
bench/train, bench/torch/run, examples/torch/digits.py), parses what it prints
and returns the figures. Every command is logged with its output under
OUT/logs and recorded for the report, which prints it beside its figures. A
failed command gives None, and the report says "failed" where its figures
would be."""
import csv
import io
import os
import re
import shlex
import subprocess
import time


class Runner:
    """Runs commands from the repository root, logs them, records them per section."""

    def __init__(self, repo, build, out, rate):
        self.repo, self.build, self.out, self.rate = repo, build, out, rate
        self.bin = os.path.join(build, "bin")
        self.commands = {}  # section -> [command line as the report prints it]
        self.failed = []    # (command, log path)
        self.seq = 0
        os.makedirs(os.path.join(out, "logs"), exist_ok=True)

    def rel(self, path):
        """A path as the report prints it: relative to the repository."""
        return os.path.relpath(path, self.repo) if path.startswith(self.repo) else path

    def run(self, section, argv, env=None, timeout=1800, shown=None):
        """Run argv with extra environment env; its stdout, or None on failure."""
        self.seq += 1
        shown = shown or " ".join(
            [f"{k}={shlex.quote(self.rel(v))}" for k, v in (env or {}).items()]
            + [shlex.quote(self.rel(a)) for a in argv])
        cmds = self.commands.setdefault(section, [])
        if shown not in cmds:
            cmds.append(shown)
        log = os.path.join(self.out, "logs", f"{self.seq:03d}.log")
        full_env = dict(os.environ, **(env or {}))
        t0 = time.monotonic()
        print(f"report: {shown}", flush=True)
        try:
            res = subprocess.run(argv, cwd=self.repo, env=full_env, capture_output=True, text=True,
                                 timeout=timeout, check=False)
            rc, out, err = res.returncode, res.stdout, res.stderr
        except subprocess.TimeoutExpired as e:
            rc, out, err = "timeout", e.stdout or "", e.stderr or ""
            out = out.decode() if isinstance(out, bytes) else out
            err = err.decode() if isinstance(err, bytes) else err
        with open(log, "w") as f:
            f.write(f"$ {shown}\n# exit {rc}, {time.monotonic() - t0:.1f} s\n{out}\n--- stderr\n{err}")
        if rc != 0:
            print(f"report: failed ({rc}), see {log}", flush=True)
            self.failed.append((shown, log))
            return None
        return out

    def lc_run(self, section, p, prog, env=None, net_args=(), timeout=900):
        return self.run(section, [os.path.join(self.bin, "lc_run"), "-n", str(p), "--net", self.rate,
                                  *net_args, "--timeout", str(timeout), "--", *prog], env=env,
                        timeout=timeout + 60)


def csv_rows(text, first):
    """The CSV rows of text from the header line starting with `first` on."""
    lines = text.splitlines()
    start = next((i for i, l in enumerate(lines) if l.startswith(first)), None)
    if start is None:
        return None
    return list(csv.DictReader(io.StringIO("\n".join(l for l in lines[start:] if "," in l))))


def kernels(r, big):
    out = r.run("kernels", [os.path.join(r.bin, "lc_bench_kernels"), "--csv", "--big", big])
    return csv_rows(out, "kernel,") if out else None


def coll(r, p, provider, lo, hi, iters, op="vote", packed=False, net_args=(), section="coll"):
    """lc_coll rows (size, time_us, floor_pct, wrong, ...) at p ranks over provider."""
    args = [os.path.join(r.bin, "lc_coll"), "--op", op, "-b", lo, "-e", hi,
            *(("-f", "4") if lo != hi else ()), "-n", str(iters), "-w", "1", "-a", "3",
            "--link", r.rate, "--csv"]
    if packed:
        args.insert(3, "--packed")
    out = r.lc_run(section, p, args, env={"LC_PROVIDER": provider}, net_args=net_args)
    return csv_rows(out, "size,") if out else None


def has_variable(r, name):
    """Whether this build's registry knows LC_ variable name (lc_info -e)."""
    out = subprocess.run([os.path.join(r.bin, "lc_info"), "-e"], capture_output=True, text=True,
                         check=False).stdout
    return re.search(rf"^{name}\s", out, re.M) is not None


# The votes each layout runs: flat at the defaults, flat with one segment in
# flight (LC_VOTE_DEPTH=1: the flat vote's best setting behind a shared link,
# where deeper pipelines overflow the switch), and two-level.
HOST_VOTES = (("flat", {"LC_HIER": "0"}), ("flat-depth1", {"LC_HIER": "0", "LC_VOTE_DEPTH": "1"}),
              ("two-level", {"LC_HIER": "1"}))


# Runs of each vote in the hosts and shared-memory tables, taken in turn. Some
# runs over the emulated links lose time as a whole (the two-level vote of 4
# hosts x 2 ranks, packed: 41 ms per vote in six runs of nine, 51-62 ms in
# three); the median of five keeps up to two such runs out.
HOST_RUNS = 5


def _medians(repeat, configs, run):
    """Run every (name, env) of configs `repeat` times, in turn; run(env) gives an
    lc_coll row or None. {name: the row with the median time}."""
    got = {name: [] for name, _ in configs}
    for _ in range(repeat):
        for name, env in configs:
            got[name].append(run(env))
    res = {}
    for name, rows in got.items():
        rows = sorted((x for x in rows if x), key=lambda x: float(x["time_us"]))
        if rows:
            res[name] = rows[len(rows) // 2]
    return res


def hosts(r, layouts, iters, repeat=HOST_RUNS):
    """Vote of 16M elements on L ranks per host, fp32 input and packed bits (the Lion
    step's input): {"HxL": {"fp32"|"packed": {vote: lc_coll row}}}, each the median of
    `repeat` runs taken in turn with the other votes (the emulated link has moods)."""
    res = {}
    for h, l in layouts:
        for inp, size, extra in (("fp32", "64M", ()), ("packed", "2M", ("--packed",))):
            def run(env):
                out = r.lc_run("hosts", h * l,
                               [os.path.join(r.bin, "lc_coll"), "--op", "vote", *extra, "-b",
                                size, "-e", size, "-n", str(iters), "-w", "3", "-a", "3",
                                "--link", r.rate, "--csv"], env=env,
                               net_args=("--hosts", str(h)))
                rows = csv_rows(out, "size,") if out else None
                return rows[0] if rows else None
            got = _medians(repeat, HOST_VOTES, run)
            if got:
                res.setdefault(f"{h}x{l}", {})[inp] = got
    return res


def shm(r, p, iters, repeat=HOST_RUNS):
    """Vote of 16M packed elements on p ranks of this host (no --net): over the tcp
    provider (LC_HIER=0: flat on loopback) and over shared memory (the default);
    the median of `repeat` runs of each, taken in turn."""
    def run(env):
        out = r.run("hosts", [os.path.join(r.bin, "lc_run"), "-n", str(p), "--",
                              os.path.join(r.bin, "lc_coll"), "--op", "vote", "--packed", "-b",
                              "2M", "-e", "2M", "-n", str(iters), "-w", "3", "-a", "3", "--csv"],
                    env=env)
        rows = csv_rows(out, "size,") if out else None
        return rows[0] if rows else None
    return _medians(repeat, (("tcp", {"LC_HIER": "0"}), ("shm", {})), run)


def raweth_jumbo(r, iters, repeat=HOST_RUNS):
    """The raweth packed vote of 2 MiB at MTU 9000, without and with 1% loss:
    {"plain"|"loss": lc_coll row}, each the median of `repeat` runs taken in turn
    (a run in the VM's slow phase is slower as a whole)."""
    jumbo = ("--mtu", "9000")

    def run(net_args):
        rows = coll(r, 4, "raweth", "2M", "2M", iters, packed=True, net_args=net_args)
        return rows[-1] if rows else None

    return _medians(repeat, (("plain", jumbo), ("loss", jumbo + ("--netem", "loss 1%"))), run)


def vs_mpi(r, ranks, size, iters):
    d = os.path.join(r.out, "vs_mpi")
    os.makedirs(d, exist_ok=True)
    out = r.run("mpi", [os.path.join(r.repo, "bench", "vs_mpi"), "--ranks", " ".join(map(str, ranks)),
                        "--sizes", size, "--rate", r.rate, "--iters", str(iters)],
                env={"OUT": d, "LC_BIN": r.bin},
                shown=f"LC_BIN={r.rel(r.bin)} bench/vs_mpi --ranks '{' '.join(map(str, ranks))}' "
                      f"--sizes {size} --rate {r.rate} --iters {iters}")
    path = os.path.join(d, "vs_mpi.csv")  # the rows that ran, also when others failed
    if out is None and not os.path.exists(path):
        return None
    with open(path) as f:
        return list(csv.DictReader(f)) or None


def ping(r, provider, lat_iters, bw_iters):
    """Latency at 1 B and streaming at 4 MiB (window 8) over provider."""
    lp = os.path.join(r.bin, "lc_ping")
    env = {"LC_PROVIDER": provider}
    lat = r.lc_run("p2p", 2, [lp, "--lat", "-b", "1", "-e", "1", "-n", str(lat_iters), "--csv"], env)
    bw = r.lc_run("p2p", 2, [lp, "--bw", "-b", "4M", "-e", "4M", "-n", str(bw_iters), "--window",
                             "8", "--csv"], env)
    res = {}
    if lat:
        row = [x for x in csv_rows(lat, "test,") if x["test"] == "latency"][0]
        res.update(lat_min=float(row["min_us"]), lat_avg=float(row["avg_us"]),
                   lat_p99=float(row["p99_us"]))
    if bw:
        row = [x for x in csv_rows(bw, "test,") if x["test"] == "bandwidth"][0]
        res["gbps"] = float(row["bw_Gbps"])
    return res or None


def iperf(r, secs):
    out = r.run("p2p", [os.path.join(r.repo, "bench", "netns_iperf"), r.rate],
                env={"IPERF_TIME": str(secs), "LC_RUN": os.path.join(r.bin, "lc_run")})
    m = re.search(r"bitrate_bits=(\d+)", out or "")
    return float(m.group(1)) / 1e9 if m else None


def plugin(r, secs):
    """NCCL plugin streaming and lc_ping's over the same provider and socket count, Gbit/s."""
    drv = os.path.join(r.build, "tests", "plugin_driver_netns")
    if not os.access(drv, os.X_OK):
        return None
    env = {"NCCL_NET_PLUGIN": "lioncub", "LD_LIBRARY_PATH": os.path.join(r.build, "lib"),
           "LC_TCP_NSOCKS": "2"}
    out = r.lc_run("plugin", 2, [drv, "--bench", str(secs)], env=env, net_args=("--one",))
    m = re.search(r"received, [\d.]+ MB/s \(([\d.]+) Gbit/s\)", out or "")
    pg = r.lc_run("plugin", 2, [os.path.join(r.bin, "lc_ping"), "--bw", "-b", "4M", "-e", "4M",
                                "-n", "100", "--window", "8", "--csv"], env={"LC_TCP_NSOCKS": "2"})
    rows = csv_rows(pg, "test,") if pg else None
    if not m or not rows:
        return None
    return {"plugin_gbps": float(m.group(1)), "ping_gbps": float(rows[-1]["bw_Gbps"])}


def _table(text, header_start):
    """Whitespace-separated rows after the line starting with header_start."""
    lines = (text or "").splitlines()
    i = next((k for k, l in enumerate(lines) if l.startswith(header_start)), None)
    if i is None:
        return []
    return [l.split() for l in lines[i + 1:] if l.strip() and not l.startswith("#")]


def _script(r, section, path, env):
    """Run a bench script configured by environment; its command shown without OUT and BUILD."""
    shown = " ".join([f"{k}={shlex.quote(v)}" for k, v in env.items() if k not in ("OUT", "BUILD")]
                     + ["/".join(path)])
    return r.run(section, [os.path.join(r.repo, *path)], env=env, shown=shown)


def engine(r, base, steps):
    """bench/engine: vote latency rows against the build base (None: this build's only)
    and the overlapped training step."""
    env = {"BUILD": r.build, "RATE": r.rate, "STEPS": str(steps)}
    if base:
        env["BASE"] = base
    out = _script(r, "engine", ("bench", "engine"), env)
    lat, over = [], []
    for line in (out or "").splitlines():
        f = line.split()
        if len(f) == 6 and f[0][0].isdigit() and f[1].isdigit():
            lat.append({"size": f[0], "elements": int(f[1]), "net": f[2],
                        "this_us": float(f[3]), "base_us": None if f[4] == "-" else float(f[4])})
        elif len(f) == 7 and f[0].isdigit():  # an overlap row: p, then the times
            over.append(dict(zip(("plain_ms", "compute_ms", "comm_ms", "overlap_ms", "thread_ms"),
                                 map(float, f[1:6])), p=int(f[0])))
    return {"latency": lat, "overlap": over} if lat or over else None


def train(r, ps, modes, steps, extra="", tag="train"):
    """bench/train's table, and each run's per-step curve (step, loss, step_ms)."""
    d = os.path.join(r.out, tag)
    env = {"OUT": d, "BUILD": r.build, "PS": " ".join(map(str, ps)), "MODES": " ".join(modes),
           "NET": r.rate, "STEPS": str(steps)}
    if extra:
        env["TRAIN_ARGS"] = extra
    out = _script(r, "train", ("bench", "train"), env)
    rows = []
    for f in _table(out, "mode "):
        if len(f) < 8 or f[2] == "failed":
            continue
        row = {"mode": f[0], "p": int(f[1]), "step_ms": float(f[2]), "comm_ms": float(f[3]),
               "final_loss": float(f[5]), "bytes": int(f[7]), "curve": []}
        path = os.path.join(d, f"train_{row['mode']}_p{row['p']}.csv")
        if os.path.exists(path):
            with open(path) as cf:
                row["curve"] = [(int(x["step"]), float(x["loss"]), float(x["step_ms"]))
                                for x in csv.DictReader(cf)]
        rows.append(row)
    return rows


def torch_steps(r, ps, modes, steps, warmup, lc_train):
    env = {"OUT": os.path.join(r.out, "torch"), "BUILD": r.build, "PS": " ".join(map(str, ps)),
           "MODES": " ".join(modes), "NET": r.rate, "STEPS": str(steps), "WARMUP": str(warmup),
           "LC_TRAIN": "1" if lc_train else "0"}
    out = _script(r, "torch", ("bench", "torch", "run"), env)
    rows = []
    for f in _table(out, "mode "):
        if len(f) < 6 or f[2] == "failed":
            continue
        num = lambda v: None if v == "-" else float(v)  # noqa: E731
        rows.append({"mode": f[0], "p": int(f[1]), "step_ms": float(f[2]),
                     "final_loss": float(f[4]), "bytes": int(f[5]),
                     "py_ms": num(f[7]) if len(f) > 7 else None,
                     "py_pct": num(f[8]) if len(f) > 8 else None})
    return rows


def digits(r, modes, seeds, p=4):
    """Final test accuracy (%) of examples/torch/digits.py per mode and seed, on loopback."""
    res = {}
    for mode in modes:
        for seed in seeds:
            out = r.run("digits", [os.path.join(r.bin, "lc_run"), "-n", str(p), "--timeout", "1200",
                                   "--", "/usr/bin/python3", os.path.join(r.repo, "examples", "torch",
                                                                          "digits.py"),
                                   "--mode", mode, "--seed", str(seed)],
                        env={"PYTHONPATH": os.path.join(r.build, "python")},
                        shown=f"PYTHONPATH=build/python build/bin/lc_run -n {p} -- /usr/bin/python3 "
                              f"examples/torch/digits.py --mode {mode} --seed {seed}")
            m = re.search(r"^final .* accuracy=([\d.]+)", out or "", re.M)
            if m:
                res.setdefault(mode, {})[seed] = 100 * float(m.group(1))
    return res
