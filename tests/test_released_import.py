"""The DPHuBERT authors' released students in: files written from the format description
(docs/RELEASED_FORMAT.md) by this test's own writer, read by dpbench, and compared with an
implementation nobody here wrote: torchaudio's `wav2vec2_model` / `wavlm_model` at full size, where a
removed head, FFN unit or block is a zeroed output column (or a zeroed output layer), the last conv
gate's scale a forward hook, and a WavLM without layer 0's attention a zeroed position-bias table.

Hidden-state convention compared: the authors' (`HiddenStates.AUTHORS`: index 0 the projected features,
then every layer's output as their `extract_features` returns it, a pre-LN last layer before the final
LayerNorm)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner
from torch import Tensor, nn
from torchaudio.models import wav2vec2_model, wavlm_model

from dpbench.cli import main
from dpbench.errors import DpbenchError
from dpbench.models import Encoder, count_params, tiny_config
from dpbench.models.importers import import_checkpoint

HIDDEN, TOTAL_HEADS, HEAD_DIM, FFN = 64, 4, 16, 128
KERNELS = [10, 3, 3, 3, 3, 2, 2]
STRIDES = [5, 2, 2, 2, 2, 2, 2]
TOLERANCE = dict(atol=1e-4, rtol=1e-4)


@dataclass
class Student:
    """A pruned student: kept head indices per layer ([] = attention removed), kept FFN units per layer
    (0 = FFN removed), conv channels; Large-style options."""

    arch: str
    heads: list[list[int]]
    ffn: list[int]
    conv: list[int]
    pre_ln: bool = False
    normalize: bool = False
    conv_bias: bool = False

    @property
    def layers(self) -> int:
        return len(self.heads)


STUDENTS = {
    "heads_per_layer": Student(
        "hubert", [[0, 1, 2, 3], [1, 3], [2], [0, 2, 3]], [128, 40, 7, 96], [32, 20, 32, 24, 16, 32, 12]
    ),
    "removed_blocks": Student("hubert", [[0, 1], [], [3], []], [50, 30, 0, 0], [24, 32, 16, 32, 20, 12, 28]),
    "large_style": Student(
        "hubert",
        [[0, 1], [], [3], []],
        [50, 30, 0, 0],
        [24, 32, 16, 32, 20, 12, 28],
        pre_ln=True,
        normalize=True,
        conv_bias=True,
    ),
    "wavlm_noncontiguous": Student(
        "wavlm", [[0, 1, 3], [], [1], [0, 2]], [60, 0, 33, 128], [32, 16, 24, 32, 20, 28, 12]
    ),
    "wavlm_no_layer0_attention": Student(
        "wavlm", [[], [0, 2], [1, 3], [3]], [60, 17, 0, 90], [32, 16, 24, 32, 20, 28, 12]
    ),
}


# --- the reference: torchaudio at full size, removed parts zeroed ----------------------------------
def kept_units(student: Student, seed: int = 3) -> list[Tensor]:
    """Which FFN units each layer keeps (a random subset of the full width, sorted)."""
    generator = torch.Generator().manual_seed(seed)
    return [torch.randperm(FFN, generator=generator)[:n].sort().values for n in student.ffn]


@torch.no_grad()
def reference_model(student: Student) -> tuple[nn.Module, Tensor]:
    """torchaudio's model computing what the pruned student computes, and the last conv layer's scale."""
    kwargs = dict(
        extractor_mode="layer_norm" if student.pre_ln else "group_norm",
        extractor_conv_layer_config=list(zip(student.conv, KERNELS, STRIDES)),
        extractor_conv_bias=student.conv_bias,
        encoder_embed_dim=HIDDEN,
        encoder_projection_dropout=0.0,
        encoder_pos_conv_kernel=16,
        encoder_pos_conv_groups=4,
        encoder_num_layers=student.layers,
        encoder_num_heads=TOTAL_HEADS,
        encoder_attention_dropout=0.0,
        encoder_ff_interm_features=FFN,
        encoder_ff_interm_dropout=0.0,
        encoder_dropout=0.0,
        encoder_layer_norm_first=student.pre_ln,
        encoder_layer_drop=0.0,
        aux_num_out=None,
    )
    wavlm = student.arch == "wavlm"
    if wavlm:
        model = wavlm_model(encoder_num_buckets=32, encoder_max_distance=64, **kwargs)
    else:
        model = wav2vec2_model(**kwargs)
    generator = torch.Generator().manual_seed(0)
    for parameter in model.parameters():  # off the initial values, so that every weight matters
        parameter.add_(torch.randn(parameter.shape, generator=generator) * 0.05)
    for layer, heads, units in zip(model.encoder.transformer.layers, student.heads, kept_units(student)):
        out_proj = layer.attention.attention.out_proj if wavlm else layer.attention.out_proj
        removed = torch.ones(TOTAL_HEADS, dtype=torch.bool)
        removed[heads] = False
        out_proj.weight[:, removed.repeat_interleave(HEAD_DIM)] = 0.0
        if not heads:
            out_proj.bias.zero_()
        output = layer.feed_forward.output_dense
        dropped = torch.ones(FFN, dtype=torch.bool)
        dropped[units] = False
        output.weight[:, dropped] = 0.0
        if len(units) == 0:
            output.bias.zero_()
    if wavlm and not student.heads[0]:  # the authors' model then has no position bias at all
        model.encoder.transformer.layers[0].attention.rel_attn_embed.weight.zero_()
    scale = torch.rand(student.conv[-1], generator=generator) * 0.8 + 0.2
    model.feature_extractor.conv_layers[-1].register_forward_hook(
        lambda _module, _inputs, out: (out[0] * scale[None, :, None], out[1])
    )
    return model.eval(), scale


def normalized(wavs: Tensor, lengths: Tensor) -> Tensor:
    """Each utterance to zero mean and unit variance over its own samples, padding left at zero."""
    out = torch.zeros_like(wavs)
    for i, n in enumerate(lengths.tolist()):
        out[i, :n] = torch.nn.functional.layer_norm(wavs[i, :n], (n,))
    return out


@torch.no_grad()
def reference_states(model: nn.Module, student: Student, wavs: Tensor, lengths: Tensor | None) -> list[Tensor]:
    if student.normalize:
        wavs = normalized(wavs, lengths if lengths is not None else torch.full((len(wavs),), wavs.shape[1]))
    projected: list[Tensor] = []
    hook = model.encoder.feature_projection.register_forward_hook(lambda _m, _i, out: projected.append(out))
    try:
        layers, _ = model.extract_features(wavs, lengths)
    finally:
        hook.remove()
    return [projected[0], *layers]  # the authors' convention: a pre-LN last layer before the final norm


# --- the fixture writer: the authors' format, from docs/RELEASED_FORMAT.md ------------------------------
def head_rows(heads: list[int]) -> Tensor:
    return torch.tensor([h * HEAD_DIM + d for h in heads for d in range(HEAD_DIM)], dtype=torch.long)


def released_config(student: Student) -> dict:
    """Keyword arguments of the authors' builder. Removed blocks keep a non-zero size in the lists
    (as their prune step leaves them): readers must look at the use-flags first."""
    use_attention = [bool(h) for h in student.heads]
    config = dict(
        extractor_mode="layer_norm" if student.pre_ln else "group_norm",
        extractor_conv_layer_config=list(zip(student.conv, KERNELS, STRIDES)),
        extractor_conv_bias=student.conv_bias,
        encoder_embed_dim=HIDDEN,
        encoder_projection_dropout=0.1,
        encoder_pos_conv_kernel=16,
        encoder_pos_conv_groups=4,
        encoder_num_layers=student.layers,
        encoder_use_attention=use_attention,
        encoder_use_feed_forward=[f > 0 for f in student.ffn],
        encoder_attention_dropout=0.1,
        encoder_ff_interm_features=[f or 5 for f in student.ffn],
        encoder_ff_interm_dropout=0.0,
        encoder_dropout=0.1,
        encoder_layer_norm_first=student.pre_ln,
        encoder_layer_drop=0.05,
        aux_num_out=None,
        normalize_waveform=student.normalize,
        extractor_prune_conv_channels=False,
        encoder_prune_attention_heads=False,
        encoder_prune_attention_layer=False,
        encoder_prune_feed_forward_intermediate=False,
        encoder_prune_feed_forward_layer=False,
    )
    if student.arch == "wavlm":
        config.update(
            encoder_total_num_heads=[TOTAL_HEADS] * student.layers,
            encoder_remaining_heads=[h if h else [1] for h in student.heads],  # a removed layer's gate, heads kept
            encoder_num_buckets=32,
            encoder_max_distance=64,
        )
    else:
        config.update(encoder_num_heads=[len(h) or 2 for h in student.heads], encoder_head_dim=HEAD_DIM)
    return config


def released_state(model: nn.Module, student: Student, scale: Tensor) -> dict[str, Tensor]:
    full = {k: v.clone() for k, v in model.state_dict().items()}
    state = {k: v for k, v in full.items() if k.startswith(("feature_extractor.", "encoder.feature_projection."))}
    state["feature_extractor.dummy_weight"] = scale.clone()
    conv = "encoder.transformer.pos_conv_embed.conv."
    state[conv + "weight_g"] = full[conv + "parametrizations.weight.original0"]
    state[conv + "weight_v"] = full[conv + "parametrizations.weight.original1"]
    state[conv + "bias"] = full[conv + "bias"]
    for name in ("weight", "bias"):
        state[f"encoder.transformer.layer_norm.{name}"] = full[f"encoder.transformer.layer_norm.{name}"]
    wavlm = student.arch == "wavlm"
    for i, (heads, units) in enumerate(zip(student.heads, kept_units(student))):
        src, dst = f"encoder.transformer.layers.{i}.", f"encoder.transformer.layers.{i}."
        for norm in ("layer_norm", "final_layer_norm"):
            for name in ("weight", "bias"):
                state[f"{dst}{norm}.{name}"] = full[f"{src}{norm}.{name}"]
        if heads:
            rows = head_rows(heads)
            attention = src + ("attention.attention." if wavlm else "attention.")
            if wavlm:
                packed_w, packed_b = full[attention + "in_proj_weight"], full[attention + "in_proj_bias"]
                for part, w, b in zip("qkv", packed_w.chunk(3), packed_b.chunk(3)):
                    state[f"{dst}attention.{part}_proj.weight"] = w[rows]
                    state[f"{dst}attention.{part}_proj.bias"] = b[rows]
                for name in ("gru_rel_pos_const", "gru_rel_pos_linear.weight", "gru_rel_pos_linear.bias"):
                    state[f"{dst}attention.{name}"] = full[f"{src}attention.{name}"]  # teacher's full head count
                if i == 0:
                    state[f"{dst}attention.rel_attn_embed.weight"] = full[f"{src}attention.rel_attn_embed.weight"]
            else:
                for part in "qkv":
                    state[f"{dst}attention.{part}_proj.weight"] = full[f"{attention}{part}_proj.weight"][rows]
                    state[f"{dst}attention.{part}_proj.bias"] = full[f"{attention}{part}_proj.bias"][rows]
            state[f"{dst}attention.out_proj.weight"] = full[attention + "out_proj.weight"][:, rows]
            state[f"{dst}attention.out_proj.bias"] = full[attention + "out_proj.bias"]
        if len(units):
            ffn = src + "feed_forward."
            state[f"{dst}feed_forward.intermediate_dense.weight"] = full[ffn + "intermediate_dense.weight"][units]
            state[f"{dst}feed_forward.intermediate_dense.bias"] = full[ffn + "intermediate_dense.bias"][units]
            state[f"{dst}feed_forward.output_dense.weight"] = full[ffn + "output_dense.weight"][:, units]
            state[f"{dst}feed_forward.output_dense.bias"] = full[ffn + "output_dense.bias"]
    return state


def write_released(path: Path, student: Student) -> nn.Module:
    """Write `student` in the authors' format to `path`; returns the torchaudio reference."""
    model, scale = reference_model(student)
    torch.save(
        {
            "state_dict": released_state(model, student, scale),
            "config": released_config(student),
            "distill_linear_projs": {"0.weight": torch.randn(96, HIDDEN), "0.bias": torch.zeros(96)},
        },
        path,
    )
    return model


def batch(student: Student) -> tuple[Tensor, Tensor | None]:
    """Two utterances; of different lengths except for WavLM (torchaudio's WavLM takes no padding mask)."""
    generator = torch.Generator().manual_seed(1)
    samples = [8000, 8000] if student.arch == "wavlm" else [8000, 5600]
    wavs = torch.zeros(2, max(samples))
    for i, n in enumerate(samples):
        wavs[i, :n] = torch.randn(n, generator=generator) * 0.3 + 0.1
    return wavs, None if student.arch == "wavlm" else torch.tensor(samples)


# --- tests ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", list(STUDENTS))
def test_released_student_matches_reference(tmp_path: Path, name: str, one_thread: None) -> None:
    student = STUDENTS[name]
    path = tmp_path / f"DP-{name}.pth"
    reference = write_released(path, student)
    model = import_checkpoint(path)
    c = model.config
    assert c.arch == student.arch and c.layer_norm_first == student.pre_ln
    assert c.num_heads == [len(h) for h in student.heads] and c.ffn_dims == student.ffn
    assert c.conv_channels == student.conv and c.conv_output_scale
    assert (c.normalize_waveform, c.conv_bias) == (student.normalize, student.conv_bias)
    assert (c.projection_dropout, c.attention_dropout, c.ffn_interm_dropout, c.dropout) == (0.1, 0.1, 0.0, 0.1)
    assert count_params(c) == sum(p.numel() for p in model.parameters())
    if student.arch == "wavlm":
        assert c.relative_position_bias == bool(student.heads[0])
        for layer, heads in zip(model.layers, student.heads):
            if heads:
                assert layer.attention.head_index.tolist() == heads
    wavs, lengths = batch(student)
    expected = reference_states(reference, student, wavs, lengths)
    with torch.no_grad():
        ours, frames = model(wavs, lengths)
    assert len(ours) == len(expected) == student.layers + 1
    for index, (mine, theirs) in enumerate(zip(ours, expected)):
        for item, n in enumerate(frames.tolist()):  # valid frames only
            torch.testing.assert_close(mine[item, :n], theirs[item, :n], **TOLERANCE, msg=f"hidden state {index}")


def test_position_bias_matters_in_the_reference(one_thread: None) -> None:
    """Guards the no-bias fixture: with layer 0's table zeroed the reference differs from the same model
    with its table, so the comparison above sees whether the bias was dropped."""
    student = STUDENTS["wavlm_no_layer0_attention"]
    reference, _ = reference_model(student)
    wavs, _ = batch(student)
    without = reference_states(reference, student, wavs, None)[-1]
    with torch.no_grad():
        reference.encoder.transformer.layers[0].attention.rel_attn_embed.weight.normal_()
    assert not torch.allclose(reference_states(reference, student, wavs, None)[-1], without, atol=1e-3)


def test_all_ones_scale_is_left_out(tmp_path: Path) -> None:
    student = STUDENTS["heads_per_layer"]
    model, _ = reference_model(student)
    path = tmp_path / "teacher_format.pth"
    torch.save(
        {
            "state_dict": released_state(model, student, torch.ones(student.conv[-1])),
            "config": released_config(student),
        },
        path,
    )
    assert not import_checkpoint(path).config.conv_output_scale


def test_cli_and_upstream_read_released(tmp_path: Path, one_thread: None) -> None:
    path = tmp_path / "DPWavLM-tiny.pth"
    write_released(path, STUDENTS["wavlm_noncontiguous"])
    result = CliRunner().invoke(main, ["inspect", str(path)])
    assert result.exit_code == 0, result.output
    assert "wavlm (post-LN" in result.output
    rows = [line.split() for line in result.output.splitlines() if line.strip()[:1].isdigit()]
    assert [row[1:] for row in rows[-4:]] == [["3", "60"], ["0", "0"], ["1", "33"], ["2", "128"]]

    from dpbench.superb.backend.upstream.hubconf import load_spec  # what `dpbench superb --upstream FILE` loads

    assert load_spec(str(path)).config == import_checkpoint(path).config


def test_student_init_reads_released(tmp_path: Path, one_thread: None) -> None:
    from dpbench.compress.students import build_student

    path = tmp_path / "DPHuBERT-tiny.pth"
    write_released(path, STUDENTS["removed_blocks"])
    teacher = Encoder(tiny_config("hubert")).eval()
    student = build_student("dphubert", teacher, budget=1e5, kind="params", student_init=str(path))
    assert student.config.num_heads == [2, 0, 1, 0] and student.has_gates
    imported = import_checkpoint(path)
    for key, value in imported.state_dict().items():
        assert torch.equal(student.state_dict()[key], value), key


def test_bad_released_files_fail_clearly(tmp_path: Path) -> None:
    student = STUDENTS["removed_blocks"]
    model, scale = reference_model(student)
    state, config = released_state(model, student, scale), released_config(student)

    def write(name: str, **changes) -> Path:
        path = tmp_path / name
        torch.save({"state_dict": state, "config": {**config, **changes}}, path)
        return path

    with pytest.raises(DpbenchError, match=r"gated\.pth: a training checkpoint with gates"):
        import_checkpoint(write("gated.pth", encoder_prune_attention_heads=True))
    with pytest.raises(DpbenchError, match=r"zero\.pth: layer 0 keeps its attention block with 0 units"):
        import_checkpoint(write("zero.pth", encoder_num_heads=[0, 2, 1, 2]))
    with pytest.raises(DpbenchError, match=r"flags\.pth: weights do not fit"):
        import_checkpoint(write("flags.pth", encoder_use_attention=[True, True, True, False]))
    with pytest.raises(DpbenchError, match=r"mode\.pth: extractor_mode 'batch_norm'"):
        import_checkpoint(write("mode.pth", extractor_mode="batch_norm"))
