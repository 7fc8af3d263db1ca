"""costs.py - the cost model of lioncub's collectives (docs/scaling.md): the
predicted time of the flat vote, of the two-level vote and of an fp32 ring
allreduce from the rank count p, the ranks per host L, the element count N, the
host link's rate and latency, the per-message software cost and the measured
kernel rates. A prediction is the larger of the wire time and the compute time
(the schedules pipeline segments, so the two overlap; ranks sharing cores
stretch the compute time), plus the latency of each phase, one segment's
compute to fill the pipeline and the per-message cost of every message a rank
sends and receives."""
import math
from dataclasses import dataclass

SEGMENT = 1 << 20  # LC_SEGMENT's default: elements per pipelined vote segment
RING_BLOCK = 256 * 1024  # allreduce.c's LC_RING_BLOCK_BYTES


@dataclass
class Machine:
    """Rates in bytes/s of input, seconds, bit/s."""
    pack: float        # fp32 votes packed to sign bits
    count: dict        # q rows -> count+majority rate over q rows of bits
    mem: float         # streaming read
    alpha: float       # one-way latency of a small message between hosts
    msg: float         # software cost of one message (send or receive) on a rank
    rate: float        # host link, bit/s
    oversub: float = 1.0  # ranks per core on the machine the ranks share (>= 1)

    def busy(self, t_net, t_cpu):
        """Time of the overlapped part: wire and compute together."""
        return max(t_net, t_cpu)

    def count_rate(self, q):
        """The count kernel's rate at q rows: measured q, else the nearest measured."""
        keys = sorted(self.count)
        return self.count[min(keys, key=lambda k: abs(math.log2(k) - math.log2(max(q, 2))))]


def _segments(n):
    return max(1, math.ceil(n / SEGMENT))


def flat_vote(m, p, n, per_host=1):
    """Flat vote: all-to-all of sign bits, all-gather of the majority bits."""
    hosts = p / per_host
    wire = 2 * n * per_host * (hosts - 1) / hosts  # bits out of each host's link
    t_net = wire / m.rate
    t_cpu = (4 * n / m.pack + (n / 8) / m.count_rate(p)) * m.oversub
    t_msg = _segments(n) * 2 * (p - 1) * m.msg * m.oversub
    t_fill = t_cpu * min(1.0, SEGMENT / n)
    return dict(total=m.busy(t_net, t_cpu) + t_msg + t_fill + 2 * m.alpha, net=t_net, cpu=t_cpu,
                wire_bits=wire)


def two_level_vote(m, p, n, per_host):
    """Two-level vote: counts of the host's L votes (w bits) cross the host link
    once, striped over its L ranks: (w + 1)(H - 1)/H bits per element per host.
    Inside the host the ranks read each other's votes and results in shared
    memory: no messages there, the count reads the L rows in place."""
    hosts = p / per_host
    w = math.ceil(math.log2(per_host + 1))
    wire = (w + 1) * n * (hosts - 1) / hosts
    t_net = wire / m.rate
    stripe = n / per_host
    t_cpu = (4 * n / m.pack                                     # pack the local votes
             + (n / 8) / m.count_rate(per_host)                 # count L rows of N/L bits
             + (w * stripe * hosts / 8) / m.count_rate(hosts)   # add H hosts' counts
             + (n / 8) / m.mem) * m.oversub                     # gather the result in the host
    t_msg = _segments(n) * 2 * (hosts - 1) * m.msg * m.oversub
    t_fill = t_cpu * min(1.0, SEGMENT / n)
    return dict(total=m.busy(t_net, t_cpu) + t_msg + t_fill + 4 * m.alpha, net=t_net, cpu=t_cpu,
                wire_bits=wire)


def ring_allreduce(m, p, n, per_host=1):
    """fp32 ring (reduce-scatter then all-gather, ranks of a host adjacent): each
    host link carries 2(p - 1)/p x 32 N bits; 2(p - 1) latency-bound steps."""
    wire = 2 * (p - 1) / p * 32 * n
    t_net = wire / m.rate
    t_cpu = (p - 1) / p * n * 12 / m.mem * m.oversub  # read two fp32, write one
    blocks = max(1, math.ceil(4 * n / p / RING_BLOCK))
    t_msg = 2 * (p - 1) * blocks * 2 * m.msg * m.oversub
    return dict(total=m.busy(t_net, t_cpu) + t_msg + 2 * (p - 1) * m.alpha, net=t_net, cpu=t_cpu,
                wire_bits=wire)


def crossover(f, lo=1e8, hi=1e13):
    """The smallest link rate (bit/s) in [lo, hi] where f(rate) turns true (f
    monotone in rate), by bisection on a log scale; None if never, lo if always."""
    if f(lo):
        return lo
    if not f(hi):
        return None
    for _ in range(60):
        mid = math.sqrt(lo * hi)
        lo, hi = (lo, mid) if f(mid) else (mid, hi)
    return hi
