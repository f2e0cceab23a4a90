"""Multiply-accumulates of any `nn.Module` forward, through torch's own FLOP counter.

What counts (the convention of `dpbench.models.complexity`, so measured and formula counts mix in
one table): every multiply-accumulate of a matrix product or a convolution, i.e. `mm`, `addmm`
(its bias add is not counted), `bmm`, `baddbmm`, convolutions (all output frames the kernel
computes, including a frame a model trims afterwards) and attention's two products, QK^T and
attention x V. What does not count: element-wise work (norms, activations, softmax, residual and
bias adds, masking) and table look-ups (embeddings, WavLM's relative position buckets).

The count is of the products a forward runs. For dpbench's encoders that is the formula
`count_macs(config, executed=True)`: the model's own MACs (`count_macs`) plus the zero channels that
pad conv widths to multiples of 8 (a pruned student's odd widths run as padded GEMMs, which are
faster) and the first layer's GroupNorm statistics (folded into its GEMM; under 0.01% of a Base
model).

`torch.utils.flop_counter.FlopCounterMode` reports FLOPs (2 per MAC) and knows the fused
attention kernels of CUDA, but not CPU's: `scaled_dot_product_attention` on CPU runs as
`aten._scaled_dot_product_flash_attention_for_cpu`, which it skips (39.84 of tiny-hubert's 205.75
M MACs per second of audio). `ATTENTION_OPS` adds it and the backend-neutral fused op."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch.utils.flop_counter import FlopCounterMode

from dpbench.models.complexity import SAMPLE_RATE

FLOPS_PER_MAC = 2


def attention_flops(
    query_shape: list[int],
    key_shape: list[int],
    value_shape: list[int],
    *args: Any,
    out_shape: Any = None,
    **kwargs: Any,
) -> int:
    """FLOPs of softmax(Q K^T) V for (batch, heads, length, dim) shapes: two batched products."""
    batch, heads, queries, key_dim = query_shape
    keys, value_dim = key_shape[2], value_shape[3]
    return FLOPS_PER_MAC * batch * heads * queries * keys * (key_dim + value_dim)


_aten = torch.ops.aten
ATTENTION_OPS = {
    _aten._scaled_dot_product_flash_attention_for_cpu: attention_flops,
    _aten._scaled_dot_product_fused_attention_overrideable: attention_flops,
}


def count_forward_macs(forward: Callable[[], Any]) -> tuple[int, dict[str, int]]:
    """MACs of one call of `forward` (run without autograd) and MACs per aten op."""
    counter = FlopCounterMode(display=False, custom_mapping=ATTENTION_OPS)
    with torch.no_grad(), counter:
        forward()
    per_op = {str(op): int(flops) // FLOPS_PER_MAC for op, flops in counter.get_flop_counts()["Global"].items()}
    return counter.get_total_flops() // FLOPS_PER_MAC, per_op


def macs_per_second(
    module: torch.nn.Module, run: Callable[[torch.nn.Module, torch.Tensor], Any], seconds: float
) -> float:
    """MACs per second of 16 kHz audio of `run(module, wavs)` on one clip of `seconds` of noise."""
    wavs = torch.randn(1, int(seconds * SAMPLE_RATE), generator=torch.Generator().manual_seed(0))
    total, _ = count_forward_macs(lambda: run(module, wavs))
    return total / seconds
