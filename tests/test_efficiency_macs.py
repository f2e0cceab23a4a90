"""The module-level MAC counter (torch's FlopCounterMode plus CPU attention) equals dpbench's
size formulas for dpbench encoders, unpruned and pruned, in all three families: the formula of the
products the implementation runs (`count_macs(..., executed=True)`)."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from dpbench.efficiency.macs import count_forward_macs, macs_per_second
from dpbench.models import Encoder, build_encoder, count_macs, prune_encoder, tiny_config
from dpbench.models.components import CHANNEL_MULTIPLE

FAMILIES = [("hubert", False), ("wav2vec2", False), ("wav2vec2", True), ("wavlm", False), ("wavlm", True)]
IDS = [f"{arch}-{'pre' if pre else 'post'}_ln" for arch, pre in FAMILIES]
SECONDS = 1.0


def run_encoder(model: Encoder, wavs: torch.Tensor) -> object:
    return model(wavs)


def randomly_pruned(model: Encoder, seed: int) -> Encoder:
    """Gates with random log_alpha (each unit kept with probability 0.6, at least one per group), one
    attention block and one FFN block switched off entirely, then physical pruning."""
    model.set_gates()
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for _, gate in model.named_gates():
            gate.log_alpha.copy_(torch.randn(gate.n, generator=generator) * 3 + 1)
            gate.log_alpha[0] = 20.0
        model.layers[1].attention.block_gate.log_alpha.fill_(-20.0)
        model.layers[2].feed_forward.block_gate.log_alpha.fill_(-20.0)
    return prune_encoder(model.eval())


@pytest.fixture(autouse=True)
def one_thread() -> None:
    torch.set_num_threads(1)


@pytest.mark.parametrize("arch,pre_ln", FAMILIES, ids=IDS)
def test_counter_equals_formula_unpruned(arch: str, pre_ln: bool) -> None:
    config = tiny_config(arch, pre_ln)
    model = build_encoder(config).eval()
    assert macs_per_second(model, run_encoder, SECONDS) == pytest.approx(
        count_macs(config, SECONDS, executed=True), rel=1e-12
    )


@pytest.mark.parametrize("arch,pre_ln", FAMILIES, ids=IDS)
def test_counter_equals_formula_pruned(arch: str, pre_ln: bool) -> None:
    pruned = randomly_pruned(build_encoder(tiny_config(arch, pre_ln)), seed=len(arch) + pre_ln)
    assert pruned.layers[1].attention is None and pruned.layers[2].feed_forward is None
    assert pruned.config.num_heads != tiny_config(arch).num_heads  # something was cut inside blocks too
    measured = macs_per_second(pruned, run_encoder, SECONDS)
    assert measured == pytest.approx(count_macs(pruned.config, SECONDS, executed=True), rel=1e-12)
    assert measured < count_macs(tiny_config(arch, pre_ln), SECONDS)
    if pruned.config.conv_norm == "group":  # widths padded to multiples of 8 run (and count) zero channels
        assert any(c % CHANNEL_MULTIPLE for c in pruned.config.conv_channels)
        assert measured > count_macs(pruned.config, SECONDS)


@pytest.mark.parametrize("kernel", [15, 16])
def test_position_conv_frames_counted_for_odd_and_even_kernels(kernel: int) -> None:
    """An even position-conv kernel computes one frame more than it keeps; both sides count it."""
    config = dataclasses.replace(tiny_config("hubert"), pos_conv_kernel=kernel)
    model = build_encoder(config).eval()
    assert macs_per_second(model, run_encoder, SECONDS) == pytest.approx(
        count_macs(config, SECONDS, executed=True), rel=1e-12
    )


def test_cpu_attention_is_counted() -> None:
    """The fused CPU attention kernel is counted as its two products (torch's counter alone skips it)."""
    config = tiny_config("hubert")
    model = build_encoder(config).eval()
    wavs = torch.randn(1, 16000)
    total, per_op = count_forward_macs(lambda: model(wavs))
    frames = int(model.output_lengths(torch.tensor([16000]))[0])
    attention = sum(macs for op, macs in per_op.items() if "scaled_dot_product" in op)
    inner = [h * config.head_dim for h in config.num_heads]
    assert attention == sum(2 * frames * frames * i for i in inner)
    assert total == sum(per_op.values())
