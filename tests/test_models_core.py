"""The encoder itself: shapes, padding, parameter/MAC counts, gates, physical pruning, checkpoints."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import Tensor

from dpbench.errors import DpbenchError
from dpbench.models import (
    EncoderConfig,
    HardConcrete,
    build_encoder,
    count_macs,
    count_params,
    expected_macs,
    expected_params,
    hubert_base_config,
    large_config,
    load_encoder,
    prune_encoder,
    save_encoder,
    tiny_config,
    wav2vec2_base_config,
    wavlm_base_config,
)

TINY = [(arch, pre_ln) for arch in ("hubert", "wav2vec2", "wavlm") for pre_ln in (False, True)]
TINY_IDS = [f"{arch}-{'pre' if pre_ln else 'post'}_ln" for arch, pre_ln in TINY]


def numel(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def waves(samples: list[int], seed: int = 0) -> tuple[Tensor, Tensor]:
    generator = torch.Generator().manual_seed(seed)
    wavs = torch.zeros(len(samples), max(samples))
    for i, n in enumerate(samples):
        wavs[i, :n] = torch.randn(n, generator=generator) * 0.3
    return wavs, torch.tensor(samples)


@torch.no_grad()
def randomise_gates(model, seed: int = 0) -> None:
    """log_alpha spread over both signs so that some units of every kind are pruned; one FFN
    block and one attention block are switched off entirely."""
    generator = torch.Generator().manual_seed(seed)
    for _, gate in model.named_gates():
        gate.log_alpha.copy_(torch.randn(gate.n, generator=generator) * 3.0 + 1.0)
    model.layers[1].feed_forward.block_gate.log_alpha.fill_(-10.0)
    model.layers[2].attention.block_gate.log_alpha.fill_(-10.0)


# --- forward -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("arch,pre_ln", TINY, ids=TINY_IDS)
def test_forward_shapes_and_lengths(arch: str, pre_ln: bool) -> None:
    model = build_encoder(tiny_config(arch, pre_ln)).eval()
    wavs, lengths = waves([8000, 5600, 3200])
    with torch.no_grad():
        states, frames = model(wavs, lengths)
    assert len(states) == model.config.num_layers + 1
    assert all(s.shape == (3, 24, 64) for s in states)
    assert frames.tolist() == [24, 17, 9]  # conv length formula, 320x downsampling
    assert model.downsample_rate == 320


def test_padding_does_not_change_valid_frames() -> None:
    """With LayerNorm conv features (no GroupNorm over time), an utterance's frames do not depend
    on what it is batched with."""
    model = build_encoder(tiny_config("wavlm", layer_norm_first=True)).eval()
    wavs, lengths = waves([8000, 5600])
    with torch.no_grad():
        batched, frames = model(wavs, lengths)
        alone, _ = model(wavs[1:, :5600])
    for mine, single in zip(batched, alone):
        torch.testing.assert_close(mine[1, : frames[1]], single[0], atol=1e-5, rtol=1e-5)


def test_waveform_normalisation_ignores_padding() -> None:
    """`normalize_waveform` normalises each utterance over its valid samples, so padding and batch-mates
    change nothing; it equals s3prl's `F.layer_norm(wav, wav.shape)` on the unpadded waveform."""
    config = tiny_config("hubert", layer_norm_first=True)
    config.normalize_waveform = True
    model = build_encoder(config).eval()
    wavs, lengths = waves([8000, 5600])
    wavs = wavs * 5.0 + 0.7 * (wavs != 0)  # far from zero mean, unit variance
    with torch.no_grad():
        batched, frames = model(wavs, lengths)
        alone, _ = model(wavs[1:, :5600])
        plain = copy.deepcopy(model)
        plain.config.normalize_waveform = False
        reference, _ = plain(torch.nn.functional.layer_norm(wavs[1:, :5600], (5600,)))
    for mine, single, ref in zip(batched, alone, reference):
        torch.testing.assert_close(mine[1, : frames[1]], single[0], atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(single, ref, atol=1e-5, rtol=1e-5)


def test_conv_output_scale_is_counted_applied_and_pruned() -> None:
    torch.manual_seed(0)
    config = tiny_config("hubert")
    config.conv_output_scale = True
    model = build_encoder(config)
    assert count_params(config) == numel(model) == count_params(tiny_config("hubert")) + 32
    wavs, lengths = waves([8000, 5600])
    with torch.no_grad():
        model.feature_extractor.output_scale.uniform_(0.2, 1.0)
        scaled, _ = model.eval()(wavs, lengths)
        model.feature_extractor.output_scale.fill_(1.0)
        unscaled, _ = model(wavs, lengths)
        model.feature_extractor.output_scale.uniform_(0.2, 1.0)
    assert (scaled[0] - unscaled[0]).abs().max() > 1e-3
    model.set_gates()
    randomise_gates(model)
    model.eval()
    pruned = prune_encoder(model)
    assert pruned.feature_extractor.output_scale.numel() == pruned.config.conv_channels[-1] < 32
    assert count_params(pruned.config) == numel(pruned)
    with torch.no_grad():
        for gated, dense in zip(model(wavs, lengths)[0], pruned(wavs, lengths)[0]):
            assert (gated - dense).abs().max().item() <= 1e-4


def test_rejects_wrong_input_rank() -> None:
    with pytest.raises(ValueError, match="batch, samples"):
        build_encoder(tiny_config())(torch.zeros(16000))


# --- configs and counts --------------------------------------------------------------------------------
@pytest.mark.parametrize("arch,pre_ln", TINY, ids=TINY_IDS)
def test_count_params_equals_module(arch: str, pre_ln: bool) -> None:
    config = tiny_config(arch, pre_ln)
    assert count_params(config) == numel(build_encoder(config))
    uneven = copy.deepcopy(config)
    uneven.conv_channels = [32, 17, 9, 32, 5, 8, 12]
    uneven.num_heads, uneven.ffn_dims = [4, 0, 1, 3], [128, 7, 0, 64]
    uneven.original_num_heads = [4, 4, 4, 4]
    assert count_params(uneven) == numel(build_encoder(uneven)) < count_params(config)
    assert count_macs(uneven) < count_macs(config)


@pytest.mark.parametrize(
    "config,expected",
    [(hubert_base_config(), 94_370_944), (wav2vec2_base_config(), 94_370_944), (wavlm_base_config(), 94_381_168)],
    ids=["hubert", "wav2vec2", "wavlm"],
)
def test_base_param_counts(config: EncoderConfig, expected: int) -> None:
    assert count_params(config) == numel(build_encoder(config)) == expected


def test_large_param_count_equals_module() -> None:
    config = large_config("hubert")
    assert count_params(config) == numel(build_encoder(config))


def test_macs_per_second_of_base() -> None:
    macs = count_macs(hubert_base_config())
    assert 6.0e9 < macs < 7.5e9  # ~6.9 GMACs per second of audio, as published for HuBERT Base
    assert count_macs(hubert_base_config(), seconds=20.0) > macs  # attention grows with length


def test_config_round_trip_and_validation() -> None:
    config = tiny_config("wavlm")
    assert EncoderConfig.from_dict(config.to_dict()) == config
    with pytest.raises(ValueError, match="unknown encoder config keys"):
        EncoderConfig.from_dict({**config.to_dict(), "colour": "red"})
    with pytest.raises(ValueError, match="one entry per layer"):
        EncoderConfig(num_layers=2, num_heads=[12], ffn_dims=[3072, 3072])
    with pytest.raises(ValueError, match="arch must be one of"):
        EncoderConfig(arch="bert")


# --- gates -----------------------------------------------------------------------------------------------
def test_hard_concrete_samples_and_eval_mask() -> None:
    torch.manual_seed(0)
    gate = HardConcrete(1000, init_keep_prob=0.5)
    sample = gate()
    assert sample.min() >= 0 and sample.max() <= 1
    assert (sample == 0).any() and (sample == 1).any()  # exact zeros and ones occur
    gate.eval()
    mask = gate()
    assert torch.equal(mask, gate())  # deterministic
    assert int((mask == 0).sum()) == round(gate.n - gate.l0_norm().item())


def test_gate_bookkeeping() -> None:
    model = build_encoder(tiny_config("wavlm"))
    plain = numel(model)
    model.set_gates()
    gates = list(model.gate_parameters())
    # 7 conv gates + per layer: heads, attention block, FFN units, FFN block
    assert len(gates) == 7 + 4 * model.config.num_layers
    assert len(list(model.model_parameters())) + len(gates) == len(list(model.parameters()))
    assert sum(p.numel() for p in model.model_parameters()) == plain
    model.remove_gates()
    assert not model.has_gates and numel(model) == plain


def test_expected_counts_are_differentiable() -> None:
    model = build_encoder(tiny_config("hubert"))
    model.set_gates()
    params, macs = expected_params(model), expected_macs(model)
    (params + macs / 1e6).backward()
    grads = [p.grad for p in model.gate_parameters()]
    assert all(g is not None and g.abs().sum() > 0 for g in grads)
    assert params.item() < count_params(model.config)  # FFN units start at keep probability 0.5


@pytest.mark.parametrize("arch,pre_ln", TINY, ids=TINY_IDS)
def test_expected_counts_of_decided_gates_equal_pruned_counts(arch: str, pre_ln: bool) -> None:
    model = build_encoder(tiny_config(arch, pre_ln))
    model.set_gates()
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for _, gate in model.named_gates():  # every gate surely on or off
            gate.log_alpha.copy_(torch.where(torch.rand(gate.n, generator=generator) < 0.7, 20.0, -20.0))
            gate.log_alpha[0] = 20.0
    pruned = prune_encoder(model.eval())
    assert expected_params(model).item() == pytest.approx(count_params(pruned.config), rel=1e-5)
    assert expected_macs(model).item() == pytest.approx(count_macs(pruned.config), rel=1e-5)


def test_training_forward_reaches_every_gate() -> None:
    model = build_encoder(tiny_config("wavlm", layer_norm_first=True))
    model.set_gates()
    with torch.no_grad():  # unit gates rarely clamped; block gates always open (a closed one stops all)
        for _, gate in model.named_gates():
            gate.log_alpha.fill_(0.0 if gate.n > 1 else 10.0)
    model.train()
    torch.manual_seed(0)
    wavs, lengths = waves([4000, 3000])
    states, _ = model(wavs, lengths)
    sum(s.pow(2).mean() for s in states).backward()
    gates = dict(model.named_gates())
    assert all(gate.log_alpha.grad is not None for gate in gates.values())
    # block gates sit clamped at 1, which passes no gradient; every multi-unit gate must get one
    silent = [name for name, gate in gates.items() if gate.n > 1 and not gate.log_alpha.grad.abs().sum() > 0]
    assert not silent


@pytest.mark.parametrize("arch,pre_ln", [("wavlm", True), ("hubert", False)], ids=["wavlm-pre_ln", "hubert-post_ln"])
def test_eval_outputs_agree_with_and_without_autograd(arch: str, pre_ln: bool) -> None:
    """Without autograd the gated model folds its masks into cached weights; with autograd it
    multiplies the activations. Both compute the same thing, and the cache follows updates."""
    model = build_encoder(tiny_config(arch, pre_ln))
    model.set_gates()
    randomise_gates(model)
    model.eval()
    wavs, lengths = waves([4000, 3000])

    def last_state() -> Tensor:
        return model(wavs, lengths)[0][-1]

    with_grad = last_state().detach()
    with torch.no_grad():
        torch.testing.assert_close(last_state(), with_grad, atol=1e-5, rtol=1e-5)
    with torch.inference_mode():
        torch.testing.assert_close(last_state(), with_grad, atol=1e-5, rtol=1e-5)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    model.train()
    sum(s.pow(2).mean() for s in model(wavs, lengths)[0]).backward()
    optimizer.step()  # updates weights and gates in place: cached folds must be rebuilt
    model.eval()
    updated = last_state().detach()
    assert not torch.allclose(updated, with_grad)
    with torch.no_grad():
        torch.testing.assert_close(last_state(), updated, atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(prune_encoder(model)(wavs, lengths)[0][-1], updated, atol=1e-4, rtol=1e-4)


# --- physical pruning -----------------------------------------------------------------------------------
@pytest.mark.parametrize("arch,pre_ln", TINY, ids=TINY_IDS)
def test_pruned_model_equals_gated_model(arch: str, pre_ln: bool) -> None:
    torch.manual_seed(0)
    model = build_encoder(tiny_config(arch, pre_ln))
    model.set_gates()
    randomise_gates(model)
    model.eval()
    pruned = prune_encoder(model)
    config = pruned.config
    assert not pruned.has_gates and not list(pruned.gate_parameters())
    assert config.ffn_dims[1] == 0 and config.num_heads[2] == 0
    assert sum(config.conv_channels) < 7 * 32 and sum(config.num_heads) < 16 - 4
    assert count_params(config) == numel(pruned) < count_params(model.config)
    wavs, lengths = waves([8000, 5600])
    with torch.no_grad():
        gated_states, frames = model(wavs, lengths)
        pruned_states, pruned_frames = pruned(wavs, lengths)
    assert torch.equal(frames, pruned_frames)
    for index, (gated, dense) in enumerate(zip(gated_states, pruned_states)):
        for item, n in enumerate(frames.tolist()):
            diff = (gated[item, :n] - dense[item, :n]).abs().max().item()
            assert diff <= 1e-4, f"hidden state {index}: max abs difference {diff}"


def test_pruning_leaves_the_gated_model_untouched() -> None:
    model = build_encoder(tiny_config("hubert"))
    model.set_gates()
    randomise_gates(model)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    prune_encoder(model.eval())
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


# --- checkpoints ------------------------------------------------------------------------------------------
def test_save_load_round_trip(tmp_path) -> None:
    model = build_encoder(tiny_config("wavlm", layer_norm_first=True))
    model.set_gates()
    randomise_gates(model)
    pruned = prune_encoder(model.eval())
    save_encoder(tmp_path / "pruned.pt", pruned, extra={"step": 3})
    raw = torch.load(tmp_path / "pruned.pt", weights_only=True)
    assert set(raw) >= {"config", "state_dict", "extra"} and raw["extra"] == {"step": 3}
    loaded = load_encoder(tmp_path / "pruned.pt")
    assert loaded.config == pruned.config and not loaded.training
    save_encoder(tmp_path / "gated.pt", model)
    gated = load_encoder(tmp_path / "gated.pt")
    assert gated.has_gates
    wavs, lengths = waves([4000, 3000])
    with torch.no_grad():
        for reference, other in ((pruned, loaded), (model, gated)):
            for a, b in zip(reference(wavs, lengths)[0], other(wavs, lengths)[0]):
                assert torch.equal(a, b)


def test_load_rejects_foreign_files(tmp_path) -> None:
    with pytest.raises(DpbenchError, match="checkpoint not found"):
        load_encoder(tmp_path / "none.pt")
    torch.save({"weights": torch.zeros(1)}, tmp_path / "foreign.pt")
    with pytest.raises(DpbenchError, match="foreign.pt is not a dpbench encoder checkpoint"):
        load_encoder(tmp_path / "foreign.pt")
