"""Gated tiny encoders with random gate scores, for tests of pruning, calibration and alignment."""

from __future__ import annotations

import torch

from dpbench.models import Encoder, build_encoder, tiny_config


def random_gated(seed: int) -> Encoder:
    """A tiny HuBERT with every gate group on and log_alpha spread over both signs (some units of every kind
    pruned, whole blocks mostly kept), in eval mode."""
    torch.manual_seed(seed)
    model = build_encoder(tiny_config())
    model.set_gates()
    with torch.no_grad():
        for _, gate in model.named_gates():
            gate.log_alpha.copy_(torch.randn(gate.n) * 2 + (1.5 if gate.n == 1 else 0.5))
    return model.eval()
