"""Hardware-aligned pruning: kept conv channels and FFN units in multiples of N, the pruned model equal
to the gated model under the aligned masks, and calibration landing on the target with the rounding."""

from __future__ import annotations

import pytest
import torch
from gated_models import random_gated

from dpbench.compress.config import RECIPE_PRUNE_UNITS, make_config
from dpbench.compress.prune import calibrate, pruned_size
from dpbench.compress.students import gate_groups
from dpbench.errors import DpbenchError
from dpbench.models import build_encoder, count_params, hubert_base_config, prune_encoder
from dpbench.models.hardconcrete import BETA, EVAL_SHARPNESS, HardConcrete
from dpbench.models.pruning import Alignment, align_gates


def test_alignment_parses_and_rejects() -> None:
    assert Alignment.parse("conv=32, ffn=8") == Alignment(conv=32, ffn=8)
    assert Alignment.parse("ffn=16") == Alignment(conv=1, ffn=16)
    assert Alignment.parse("") == Alignment()
    for bad in ("conv=0", "heads=2", "conv", "conv=x"):
        with pytest.raises(ValueError):
            Alignment.parse(bad)
    with pytest.raises(DpbenchError, match="--align"):
        make_config("cpu", "dphubert", "data", {"align": "conv=-1"})
    assert make_config("cpu", "dphubert", "data", {}).align is None  # off by default (the authors' recipe)


def test_aligned_pruned_model_equals_the_gated_model_with_aligned_masks() -> None:
    model = random_gated(0)
    plain = prune_encoder(model).config
    align_gates(model, Alignment(conv=8, ffn=8))
    aligned = prune_encoder(model)
    counts = aligned.config.conv_channels + [d for d in aligned.config.ffn_dims if d]
    assert all(c % 8 == 0 for c in counts)
    assert plain.conv_channels + plain.ffn_dims != aligned.config.conv_channels + aligned.config.ffn_dims
    # each count is the unaligned one rounded to the nearest multiple (units chosen by gate score)
    pairs = zip(plain.conv_channels + plain.ffn_dims, aligned.config.conv_channels + aligned.config.ffn_dims)
    for before, after in pairs:
        assert abs(after - before) <= 4 and (after > 0) == (before > 0)
    wavs = torch.randn(2, 8000)
    lengths = torch.tensor([8000, 6000])
    with torch.no_grad():
        gated_states, _ = model(wavs, lengths)
        pruned_states, _ = aligned.eval()(wavs, lengths)
    for a, b in zip(gated_states, pruned_states):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4)
    # units added back keep their soft value, so the gated model's output changed with the alignment
    align_gates(model, Alignment())
    with torch.no_grad():
        unaligned_states, _ = model(wavs, lengths)
    assert (unaligned_states[-1] - gated_states[-1]).abs().max() > 1e-4


def test_calibration_counts_the_rounding() -> None:
    model = random_gated(1)
    align_gates(model, Alignment(conv=4, ffn=8))
    target = 0.4 * count_params(model.config)
    record = calibrate(model, target, "params", tol=0.005)
    pruned = prune_encoder(model)
    assert record.size_after == count_params(pruned.config) == pruned_size(model, "params")
    assert abs(count_params(pruned.config) - target) <= 0.01 * target  # tiny shape: coarse units
    assert all(c % 4 == 0 for c in pruned.config.conv_channels)
    assert all(d % 8 == 0 for d in pruned.config.ffn_dims)


def test_aligned_mask_keeps_the_highest_scores_with_their_soft_values() -> None:
    gate = HardConcrete(12)
    with torch.no_grad():
        gate.log_alpha.copy_(torch.tensor([3.0, -4, 2, -1, 0.5, -3, 4, -2, 1, -5, -2.5, 2.5]))  # keeps 7
    plain = int((gate.eval_mask() > 0).sum())
    gate.keep_multiple = 4
    mask = gate.eval_mask()
    kept = torch.nonzero(mask > 0).flatten()
    assert plain % 4 != 0 and len(kept) == 4 * round(plain / 4)
    assert set(kept.tolist()) == set(torch.topk(gate.log_alpha, len(kept)).indices.tolist())
    torch.testing.assert_close(mask[kept], torch.sigmoid(EVAL_SHARPNESS * gate.log_alpha[kept] / BETA).detach())


@pytest.mark.slow
def test_calibration_lands_within_half_a_percent_at_base_shape() -> None:
    """The Base shape's units are fine enough for calibrate's 0.5% tolerance with conv=32,ffn=8 (the tiny
    shape above needs 1%): the 75%-pruned student of benchmarks/bench_align.py, built the same way."""
    torch.manual_seed(0)
    model = build_encoder(hubert_base_config())
    model.set_gates(**gate_groups(RECIPE_PRUNE_UNITS))
    with torch.no_grad():
        for name, gate in model.named_gates():
            gate.log_alpha.copy_(torch.randn(gate.n) * 1.5 + (3.0 if name.startswith("feature_extractor") else -1.0))
    model.eval()
    align_gates(model, Alignment(conv=32, ffn=8))
    target = 0.25 * count_params(model.config)
    record = calibrate(model, target, "params", tol=0.005)
    pruned = prune_encoder(model).config
    assert record.applied and abs(count_params(pruned) - target) <= 0.005 * target
    assert all(c % 32 == 0 for c in pruned.conv_channels) and all(d % 8 == 0 for d in pruned.ffn_dims)
