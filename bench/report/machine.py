"""machine.py - what the report says about the machine it ran on: CPU model,
AVX-512 or not (the CPU's flags and the SIMD level lioncub picked), cores,
memory, kernel, TCP congestion control. Read from /proc, lscpu and lc_info at
run time."""
import os
import platform
import re
import subprocess


def _cpuinfo():
    try:
        with open("/proc/cpuinfo") as f:
            return f.read()
    except OSError:
        return ""


def _lscpu(field):
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
    except OSError:
        return ""
    m = re.search(rf"^{re.escape(field)}:\s*(.+)$", out, re.M)
    return m.group(1).strip() if m else ""


def _has_module(name):
    try:
        return subprocess.run(["modinfo", name], capture_output=True, check=False).returncode == 0
    except OSError:
        return False


def _sysctl(path):
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return ""


def describe(bindir):
    """A dict of the machine's facts, and a one-line name for table cells."""
    info = _cpuinfo()
    model = re.search(r"^model name\s*:\s*(.+)$", info, re.M)
    flags = re.search(r"^flags\s*:\s*(.+)$", info, re.M)
    flags = set(flags.group(1).split()) if flags else set()
    avx512 = sorted(f for f in flags if f.startswith("avx512"))
    mem_kib = 0
    try:
        with open("/proc/meminfo") as f:
            mem_kib = int(re.search(r"MemTotal:\s*(\d+)", f.read()).group(1))
    except (OSError, AttributeError):
        pass
    simd = ""  # "active avx512; supported: scalar avx2 avx512"
    try:
        out = subprocess.run([os.path.join(bindir, "lc_info")], capture_output=True,
                             text=True, check=False).stdout
        m = re.search(r"^simd: (.+)$", out, re.M)
        simd = m.group(1) if m else ""
    except OSError:
        pass
    cores = os.cpu_count() or 0
    m = {
        "cpu": (model.group(1).strip() if model else platform.processor()) or "unknown CPU",
        "vendor_model": _lscpu("Model name"),
        "cores": cores,
        "threads_per_core": _lscpu("Thread(s) per core") or "?",
        "avx2": "avx2" in flags,
        "avx512": avx512,
        "mem_gib": mem_kib / 1048576,
        "kernel": platform.release(),
        "tcp_cc": _sysctl("/proc/sys/net/ipv4/tcp_congestion_control"),
        "lc_simd": simd,
        "netem": os.path.isdir("/sys/module/sch_netem") or _has_module("sch_netem"),
    }
    m["name"] = f"{cores}-core {m['cpu']}" + (", AVX-512" if avx512 else ", no AVX-512")
    return m


def markdown(m):
    """The report's machine paragraph."""
    avx = ("AVX-512 (" + " ".join(f.replace("avx512", "").lstrip("_").upper() for f in m["avx512"])
           + ")"
           if m["avx512"] else "no AVX-512" + (", AVX2" if m["avx2"] else ", no AVX2"))
    return (f"**{m['name']}.** CPU: {m['cpu']}"
            + (f" ({m['vendor_model']})" if m["vendor_model"] and m["vendor_model"] != m["cpu"] else "")
            + f"; {avx}; lioncub's SIMD (`lc_info`): {m['lc_simd'] or 'unknown'}. {m['cores']} logical CPUs "
            f"({m['threads_per_core']} thread(s) per core), {m['mem_gib']:.1f} GiB of memory, "
            f"Linux {m['kernel']}, "
            + (f"TCP congestion control {m['tcp_cc']} (lc_run's namespaces inherit it), "
               if m.get("tcp_cc") else "")
            + ("sch_netem available." if m["netem"] else
               "no sch_netem (`lc_run --netem` emulates it with a tc BPF classifier).")
            + " Every figure in this report was measured on this machine in one run.")
