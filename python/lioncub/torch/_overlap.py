"""LionCub(overlap=True): each parameter's vote starts from its gradient hook, during backward.

Backward produces gradients last layer first, so parameters are given to the
library's split step (lc_lion_step_group) in reverse registration order. A
gradient that arrives out of that order waits until those before it in the
order have arrived, and step() gives whatever is still missing: every rank
thus starts the same votes in the same order, whatever order its hooks fire
in, and the step equals the non-overlapped one bit for bit.
"""
import contextlib


class GradientHooks:
    def __init__(self, opt, engine):
        self._opt = opt
        self._engine = engine
        n = len(opt._params)
        self._order = list(range(n - 1, -1, -1))
        self._ready = [False] * n
        self._next = 0          # position in _order of the next parameter to give
        self._open = False      # a split step is open
        self._enabled = True
        self._keep = []         # the hooks' handles and grad accumulators, kept alive
        for i, p in enumerate(opt._params):
            if not p.requires_grad:
                continue
            if hasattr(p, "register_post_accumulate_grad_hook"):   # torch >= 2.1
                self._keep.append(p.register_post_accumulate_grad_hook(
                    lambda _p, i=i: self._arrived(i)))
            else:  # the node that accumulates into p.grad, as DDP finds it
                acc = p.expand_as(p).grad_fn.next_functions[0][0]
                self._keep.append((acc, acc.register_hook(lambda *_, i=i: self._arrived(i))))

    @contextlib.contextmanager
    def no_sync(self):
        """Backward passes inside accumulate gradients without starting votes."""
        self._enabled = False
        try:
            yield
        finally:
            self._enabled = True

    def _begin(self):
        opt = self._opt
        opt._before_step()
        self._engine.begin(*opt._hparams())
        self._open = True

    def _arrived(self, i):
        if not self._enabled:
            return
        if not self._open:
            self._begin()
        self._ready[i] = True
        self._give_ready()

    def _give_ready(self, everything=False):
        params = self._opt._params
        while self._next < len(self._order):
            i = self._order[self._next]
            if not (everything or self._ready[i]):
                break
            self._engine.give(i, self._opt._grad(params[i]))
            self._next += 1

    def step(self):
        """Give what backward did not, complete the step, and reset for the next one."""
        if not self._open:
            self._begin()
        try:
            early = self._next
            self._give_ready(everything=True)
            return dict(self._engine.end(), started_in_backward=early)
        finally:
            self._open = False
            self._next = 0
            self._ready = [False] * len(self._ready)
