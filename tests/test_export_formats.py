"""Students out: `dpbench export` to a Hugging Face folder (reloaded by transformers alone) and to the
DPHuBERT authors' format (reloaded by dpbench's released importer, with its keys and config checked
against the format description). Hidden states must equal the student's to 1e-4.

Hidden-state convention for transformers (as in test_models_importers.py): index 0 is the feature
projection's output (transformers' own index 0 is taken after the position conv), then every layer's
output; for pre-LN models transformers' last entry is after the final LayerNorm, as dpbench's."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import transformers
from click.testing import CliRunner
from torch import Tensor

from dpbench.cli import main
from dpbench.errors import DpbenchError
from dpbench.models import Encoder, EncoderConfig, count_params, save_encoder, tiny_config
from dpbench.models.components import normalize_waveforms
from dpbench.models.export import export_huggingface, export_released, to_released
from dpbench.models.importers import import_checkpoint

# transformers' WavLM passes a bool padding mask with a float bias to torch, which warns about it
pytestmark = pytest.mark.filterwarnings("ignore:Support for mismatched key_padding_mask:UserWarning")

TOLERANCE = dict(atol=1e-4, rtol=1e-4)
SAMPLES = [8000, 5600]
HF_CLASSES = {
    "hubert": transformers.HubertModel,
    "wav2vec2": transformers.Wav2Vec2Model,
    "wavlm": transformers.WavLMModel,
}


def student(arch: str, heads: list[list[int]], ffn: list[int], pre_ln: bool = False, **fields) -> Encoder:
    """A pruned tiny student: kept head indices per layer ([] = attention removed), FFN widths
    (0 = removed), heterogeneous conv channels, every weight off its initial value."""
    config = tiny_config(arch, layer_norm_first=pre_ln)
    config.conv_channels = [32, 20, 32, 24, 16, 32, 12]
    config.num_heads, config.ffn_dims = [len(h) for h in heads], ffn
    config.original_num_heads = [4] * 4
    for name, value in fields.items():
        setattr(config, name, value)
    model = Encoder(EncoderConfig.from_dict(config.to_dict()))
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(torch.randn(parameter.shape, generator=generator) * 0.05)
        if model.feature_extractor.output_scale is not None:
            model.feature_extractor.output_scale.uniform_(0.2, 1.0, generator=generator)
    for layer, kept in zip(model.layers, heads):
        if kept:
            layer.attention.head_index = torch.tensor(kept)
    return model.eval()


STUDENTS = {
    "hubert": lambda: student("hubert", [[0, 1, 2, 3], [1, 3], [], [2]], [128, 40, 7, 0]),
    "wav2vec2_large_style": lambda: student(
        "wav2vec2", [[0, 1], [], [0, 2, 3], [0, 1, 2, 3]], [0, 50, 128, 9], pre_ln=True, normalize_waveform=True
    ),
    "wavlm_noncontiguous": lambda: student("wavlm", [[0, 1, 3], [], [2], [0, 3]], [60, 0, 33, 128]),
    "wavlm_layer0_attention_pruned": lambda: student("wavlm", [[], [0, 2], [1], [0, 1, 2, 3]], [60, 17, 0, 90]),
    "wavlm_no_bias": lambda: student("wavlm", [[], [0, 2], [1], [3]], [60, 17, 0, 90], relative_position_bias=False),
    "wavlm_no_bias_layer0_attention": lambda: student(
        "wavlm", [[1, 2], [0, 2], [], [3]], [60, 17, 0, 90], relative_position_bias=False
    ),
}


def batch() -> tuple[Tensor, Tensor]:
    generator = torch.Generator().manual_seed(1)
    wavs = torch.zeros(len(SAMPLES), max(SAMPLES))
    for i, n in enumerate(SAMPLES):
        wavs[i, :n] = torch.randn(n, generator=generator) * 0.3 + 0.05
    return wavs, torch.tensor(SAMPLES)


def assert_same(ours: list[Tensor], frames: Tensor, theirs: list[Tensor]) -> None:
    assert len(ours) == len(theirs)
    for index, (mine, other) in enumerate(zip(ours, theirs)):
        for item, n in enumerate(frames.tolist()):
            torch.testing.assert_close(mine[item, :n], other[item, :n], **TOLERANCE, msg=f"hidden state {index}")


# --- Hugging Face -----------------------------------------------------------------------------------
@torch.no_grad()
def transformers_states(folder: Path, wavs: Tensor, lengths: Tensor) -> tuple[list[Tensor], object]:
    """Hidden states of the folder as transformers alone loads and preprocesses it (normalisation: see
    the README's list of differences)."""
    model, info = transformers.AutoModel.from_pretrained(folder, output_loading_info=True)
    assert not any(info.values()), info  # every weight in the folder, none left at random
    model.eval()
    extractor = transformers.AutoFeatureExtractor.from_pretrained(folder)
    inputs = extractor(
        [w[:n].numpy() for w, n in zip(wavs, lengths.tolist())], sampling_rate=16000, padding=True, return_tensors="pt"
    )
    values = inputs["input_values"]
    if extractor.do_normalize:  # transformers' eps is 1e-7, fairseq's and dpbench's 1e-5: equal to ~1e-4 here
        values = normalize_waveforms(wavs, lengths)
        torch.testing.assert_close(inputs["input_values"], values, atol=1e-3, rtol=1e-3)
    # the authors' convention (HiddenStates.AUTHORS): index 0 the projection's output, the last the last
    # layer's output (transformers applies a pre-LN model's final LayerNorm to its last hidden state)
    projected: list[Tensor] = []
    last: list[Tensor] = []
    hooks = [
        model.feature_projection.register_forward_hook(  # Wav2Vec2's returns (projected, normed)
            lambda _m, _i, out: projected.append(out[0] if isinstance(out, tuple) else out)
        ),
        model.encoder.layers[-1].register_forward_hook(lambda _m, _i, out: last.append(out[0])),
    ]
    try:
        out = model(values, attention_mask=inputs["attention_mask"], output_hidden_states=True)
    finally:
        for hook in hooks:
            hook.remove()
    return [projected[0], *out.hidden_states[1:-1], last[0]], model


@pytest.mark.parametrize("name", list(STUDENTS))
def test_huggingface_export_matches(tmp_path: Path, name: str, one_thread: None) -> None:
    model = STUDENTS[name]()
    cost = export_huggingface(model, tmp_path / "hf")
    wavs, lengths = batch()
    theirs, hf = transformers_states(tmp_path / "hf", wavs, lengths)
    assert type(hf) is HF_CLASSES[model.config.arch]
    assert hf.config.num_attention_heads == 4 and hf.config.intermediate_size == max(model.config.ffn_dims)
    assert cost.student_params == count_params(model.config) == sum(p.numel() for p in model.parameters())
    assert cost.exported_params == sum(p.numel() for p in hf.parameters()) > cost.student_params
    with torch.no_grad():
        ours, frames = model(wavs, lengths)
    assert_same(ours, frames, theirs)


def test_huggingface_preprocessor_normalises_as_the_student(tmp_path: Path) -> None:
    for normalize in (False, True):
        model = student("hubert", [[0]] * 4, [8] * 4, normalize_waveform=normalize)
        export_huggingface(model, tmp_path / str(normalize))
        assert transformers.AutoFeatureExtractor.from_pretrained(tmp_path / str(normalize)).do_normalize is normalize


def test_huggingface_refuses_what_it_cannot_compute(tmp_path: Path) -> None:
    scaled = student("hubert", [[0, 1]] * 4, [16] * 4, conv_output_scale=True)
    with pytest.raises(DpbenchError, match="conv_output_scale.*Use --format released"):
        export_huggingface(scaled, tmp_path / "scaled")
    assert not (tmp_path / "scaled").exists()
    gated = student("hubert", [[0, 1]] * 4, [16] * 4)
    gated.set_gates()
    with pytest.raises(DpbenchError, match="still has gates"):
        export_huggingface(gated, tmp_path / "gated")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("")
    with pytest.raises(DpbenchError, match="exists and is not empty"):
        export_huggingface(student("hubert", [[0]] * 4, [8] * 4), tmp_path / "full")


# --- the authors' format ----------------------------------------------------------------------------
BUILDER_KEYS = {  # their wav2vec2_model / wavlm_model keyword arguments (docs/RELEASED_FORMAT.md, `config` keys)
    "extractor_mode",
    "extractor_conv_layer_config",
    "extractor_conv_bias",
    "encoder_embed_dim",
    "encoder_projection_dropout",
    "encoder_pos_conv_kernel",
    "encoder_pos_conv_groups",
    "encoder_num_layers",
    "encoder_use_attention",
    "encoder_use_feed_forward",
    "encoder_attention_dropout",
    "encoder_ff_interm_features",
    "encoder_ff_interm_dropout",
    "encoder_dropout",
    "encoder_layer_norm_first",
    "encoder_layer_drop",
    "aux_num_out",
    "normalize_waveform",
    "extractor_prune_conv_channels",
    "encoder_prune_attention_heads",
    "encoder_prune_attention_layer",
    "encoder_prune_feed_forward_intermediate",
    "encoder_prune_feed_forward_layer",
}
HUBERT_KEYS = {"encoder_num_heads", "encoder_head_dim"}
WAVLM_KEYS = {"encoder_total_num_heads", "encoder_remaining_heads", "encoder_num_buckets", "encoder_max_distance"}


def expected_keys(config: dict) -> set[str]:
    """The state dict keys docs/RELEASED_FORMAT.md lists for a file with this config."""
    keys = {"feature_extractor.dummy_weight"}
    for i, _ in enumerate(config["extractor_conv_layer_config"]):
        keys.add(f"feature_extractor.conv_layers.{i}.conv.weight")
        if config["extractor_conv_bias"]:
            keys.add(f"feature_extractor.conv_layers.{i}.conv.bias")
        if config["extractor_mode"] == "layer_norm" or i == 0:
            keys |= {f"feature_extractor.conv_layers.{i}.layer_norm.{p}" for p in ("weight", "bias")}
    keys |= {f"encoder.feature_projection.{m}.{p}" for m in ("layer_norm", "projection") for p in ("weight", "bias")}
    keys |= {f"encoder.transformer.pos_conv_embed.conv.{p}" for p in ("bias", "weight_g", "weight_v")}
    keys |= {f"encoder.transformer.layer_norm.{p}" for p in ("weight", "bias")}
    wavlm = "encoder_remaining_heads" in config
    for i in range(config["encoder_num_layers"]):
        layer = f"encoder.transformer.layers.{i}."
        keys |= {f"{layer}{n}.{p}" for n in ("layer_norm", "final_layer_norm") for p in ("weight", "bias")}
        if config["encoder_use_attention"][i]:
            keys |= {f"{layer}attention.{m}_proj.{p}" for m in "qkv" for p in ("weight", "bias")}
            keys |= {f"{layer}attention.out_proj.{p}" for p in ("weight", "bias")}
            if wavlm:
                keys |= {
                    f"{layer}attention.gru_rel_pos_const",
                    f"{layer}attention.gru_rel_pos_linear.weight",
                    f"{layer}attention.gru_rel_pos_linear.bias",
                }
                if i == 0:
                    keys.add(f"{layer}attention.rel_attn_embed.weight")
        if config["encoder_use_feed_forward"][i]:
            keys |= {
                f"{layer}feed_forward.{m}.{p}"
                for m in ("intermediate_dense", "output_dense")
                for p in ("weight", "bias")
            }
    return keys


def check_structure(contents: dict, model: Encoder) -> None:
    config, state = contents["config"], contents["state_dict"]
    wavlm = model.config.arch == "wavlm"
    assert set(config) == BUILDER_KEYS | (WAVLM_KEYS if wavlm else HUBERT_KEYS)
    assert set(state) == expected_keys(config)
    assert not any(config[key] for key in BUILDER_KEYS if key.startswith(("extractor_prune", "encoder_prune")))
    total = model.config.original_num_heads[0]
    for i, use in enumerate(config["encoder_use_attention"]):
        if use and wavlm:
            assert state[f"encoder.transformer.layers.{i}.attention.gru_rel_pos_const"].shape == (1, total, 1, 1)
            heads = config["encoder_remaining_heads"][i]
            assert state[f"encoder.transformer.layers.{i}.attention.q_proj.weight"].shape[0] == len(heads) * 16
    if wavlm and config["encoder_use_attention"][0]:
        assert state["encoder.transformer.layers.0.attention.rel_attn_embed.weight"].shape == (32, total)


@pytest.mark.parametrize("name", [*STUDENTS, "conv_output_scale"])
def test_released_export_round_trips(tmp_path: Path, name: str, one_thread: None) -> None:
    if name == "conv_output_scale":
        model = student(
            "hubert",
            [[0, 1], [], [3], [0]],
            [16, 0, 5, 9],
            pre_ln=True,
            conv_output_scale=True,
            conv_bias=True,
            conv_norm="layer",
            normalize_waveform=True,
        )
    else:
        model = STUDENTS[name]()
    contents = to_released(model)
    check_structure(contents, model)
    path = tmp_path / f"{model.config.arch}_student.pth"
    written = export_released(model, path)
    assert written == sum(v.numel() for v in contents["state_dict"].values())
    loaded = torch.load(path, map_location="cpu", weights_only=True)
    assert set(loaded) == {"state_dict", "config", "distill_linear_projs"}
    back = import_checkpoint(path)
    assert back.config.arch == model.config.arch
    assert (back.config.num_heads, back.config.ffn_dims) == (model.config.num_heads, model.config.ffn_dims) or (
        name == "wavlm_layer0_attention_pruned" and back.config.num_heads[0] == 1  # the zero carrier of the table
    )
    wavs, lengths = batch()
    with torch.no_grad():
        ours, frames = model(wavs, lengths)
        theirs, _ = back(wavs, lengths)
    assert_same(ours, frames, theirs)


def test_layer0_carrier_is_zero(tmp_path: Path) -> None:
    """dpbench keeps WavLM's bias when layer 0's attention goes; the authors' format keeps the table in
    layer 0's attention, so the export adds a one-head attention whose every weight is zero."""
    contents = to_released(STUDENTS["wavlm_layer0_attention_pruned"]())
    config, state = contents["config"], contents["state_dict"]
    assert config["encoder_use_attention"][0] and config["encoder_remaining_heads"][0] == [0]
    for part in ("q_proj", "k_proj", "v_proj", "out_proj"):
        for p in ("weight", "bias"):
            assert not state[f"encoder.transformer.layers.0.attention.{part}.{p}"].any()
    without = to_released(STUDENTS["wavlm_no_bias"]())
    assert not without["config"]["encoder_use_attention"][0]
    assert not any("rel_attn_embed" in key for key in without["state_dict"])


def test_export_cli(tmp_path: Path, one_thread: None) -> None:
    save_encoder(tmp_path / "student.pt", STUDENTS["wavlm_noncontiguous"]())
    runner = CliRunner()
    result = runner.invoke(
        main, ["export", str(tmp_path / "student.pt"), "--format", "hf", "--out", str(tmp_path / "hf")]
    )
    assert result.exit_code == 0, result.output
    assert "size cost" in result.output and "parameters for the student's" in result.output
    assert (tmp_path / "hf" / "config.json").is_file() and (tmp_path / "hf" / "preprocessor_config.json").is_file()
    result = runner.invoke(
        main, ["export", str(tmp_path / "student.pt"), "--format", "released", "--out", str(tmp_path / "released")]
    )
    assert result.exit_code == 0, result.output
    assert import_checkpoint(tmp_path / "released" / "DPWavLM-student.pth").config.num_heads == [3, 0, 1, 2]
