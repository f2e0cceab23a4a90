"""Hard Concrete gates (Louizos et al., 2018) for L0-regularised structured pruning.

Constants follow docs/METHOD.md section 2: temperature 2/3, stretch interval (-0.1, 1.1), eps 1e-6,
log_alpha initialised around log((1 - p0) / p0) with std 0.01."""

from __future__ import annotations

import math

import torch
from torch import nn

from dpbench.models.evalcache import cached_without_autograd

BETA = 2.0 / 3.0
LIMIT_LEFT = -0.1
LIMIT_RIGHT = 1.1
EPS = 1e-6
EVAL_SHARPNESS = 0.8  # the deterministic mask uses sigmoid(0.8 * log_alpha / beta)


class HardConcrete(nn.Module):
    """A vector of `n` stochastic gates in [0, 1] that are exactly 0 or 1 with non-zero probability.

    Train mode: one sample per forward, shared across the batch. Eval mode: the deterministic mask,
    where the round(n - L0) units with the smallest soft value are zero and the rest keep it
    (computed once and reused while log_alpha is unchanged, when autograd is off). With
    `keep_multiple` m > 1 (hardware-aligned pruning) the kept count is rounded to the nearest
    multiple of m (at least m, at most n; none stays none): units added back keep their soft value.
    """

    def __init__(self, n: int, init_keep_prob: float = 0.99, init_std: float = 0.01) -> None:
        super().__init__()
        if n <= 0:
            raise ValueError("a gate needs at least one unit")
        p0 = 1.0 - init_keep_prob
        self.log_alpha = nn.Parameter(torch.empty(n).normal_(math.log(1 - p0) - math.log(p0), init_std))
        self._bias = -BETA * math.log(-LIMIT_LEFT / LIMIT_RIGHT)
        self.keep_multiple = 1

    @property
    def n(self) -> int:
        return self.log_alpha.numel()

    def keep_probability(self) -> torch.Tensor:
        """P(z > 0) per unit, differentiable in log_alpha."""
        return torch.sigmoid(self.log_alpha + self._bias)

    def l0_norm(self) -> torch.Tensor:
        """Expected number of non-zero units."""
        return self.keep_probability().sum()

    def sample(self) -> torch.Tensor:
        u = torch.empty_like(self.log_alpha).uniform_(EPS, 1 - EPS)
        s = torch.sigmoid((torch.log(u / (1 - u)) + self.log_alpha) / BETA)
        return (s * (LIMIT_RIGHT - LIMIT_LEFT) + LIMIT_LEFT).clamp(0.0, 1.0)

    @torch.no_grad()
    def eval_mask(self) -> torch.Tensor:
        """Deterministic mask: soft values, with the expected number of dropped units set to zero."""
        soft = torch.sigmoid(EVAL_SHARPNESS * self.log_alpha / BETA)
        num_zeros = round(self.n - self.l0_norm().item())
        kept, m = self.n - num_zeros, self.keep_multiple
        if m > 1 and kept > 0:
            num_zeros = self.n - min(self.n, max(m, m * round(kept / m)))
        if num_zeros > 0:
            soft[torch.topk(soft, k=num_zeros, largest=False).indices] = 0.0
        return soft

    def forward(self) -> torch.Tensor:
        if self.training:
            return self.sample()
        return cached_without_autograd(self, f"eval_mask/{self.keep_multiple}", [self.log_alpha], self.eval_mask)

    def extra_repr(self) -> str:
        return f"n={self.n}"
