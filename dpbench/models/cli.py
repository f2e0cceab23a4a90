"""`dpbench inspect CKPT`: architecture, size, MACs and per-layer structure of any checkpoint."""

from __future__ import annotations

import click

from dpbench.errors import DpbenchError
from dpbench.models.complexity import count_macs, count_params
from dpbench.models.config import ARCHES, EncoderConfig
from dpbench.models.encoder import Encoder
from dpbench.safe_load import trust_option


def _table(header: list[str], rows: list[list[object]]) -> list[str]:
    cells = [header] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    return ["  ".join(c.rjust(w) for c, w in zip(row, widths)).rstrip() for row in cells]


def _pair(before: int, after: int | None) -> str:
    return str(before) if after is None or after == before else f"{before} -> {after}"


def _macs(config: EncoderConfig) -> str:
    macs = count_macs(config)
    return f"{macs / 1e9:.2f} G" if macs >= 1e8 else f"{macs / 1e6:.1f} M"


def describe(model: Encoder, pruned: EncoderConfig | None = None) -> str:
    """A text report of `model`; `pruned` (the config after physical pruning of a gated model)
    adds the kept sizes as 'before -> after'."""
    c = model.config
    norm = "pre-LN" if c.layer_norm_first else "post-LN"
    lines = [
        f"architecture: {c.arch} ({norm}, {c.conv_norm}-norm conv features), "
        f"{c.num_layers} layers, width {c.hidden_size}",
        f"parameters: {count_params(c):,} ({count_params(c) / 1e6:.2f} M)",
        f"MACs per second of audio: {_macs(c)}",
        "input: "
        + (
            "waveform normalised per utterance (zero mean, unit variance)"
            if c.normalize_waveform
            else "raw waveform (not normalised)"
        ),
    ]
    if c.time_reduction > 1:
        lines.append(
            f"time reduction: {c.time_reduction} frames merged into one before layer 1 (layers at "
            f"{c.downsample_rate} samples, {1000 * c.downsample_rate // 16000} ms per frame)"
        )
    if pruned is not None:
        groups = ", ".join(name for name, on in model.gate_flags.items() if on)
        lines += [
            f"gates: {groups}",
            f"after pruning: {count_params(pruned):,} parameters ({count_params(pruned) / 1e6:.2f} M), "
            f"{_macs(pruned)} MACs per second",
        ]
    after = pruned or c
    conv_rows = [
        [i, _pair(ch, kept if pruned else None), k, s]
        for i, (ch, kept, k, s) in enumerate(zip(c.conv_channels, after.conv_channels, c.conv_kernels, c.conv_strides))
    ]
    layer_rows = [
        [i + 1, _pair(h, kh if pruned else None), _pair(f, kf if pruned else None)]
        for i, (h, kh, f, kf) in enumerate(zip(c.num_heads, after.num_heads, c.ffn_dims, after.ffn_dims))
    ]
    lines += ["", *_table(["conv", "channels", "kernel", "stride"], conv_rows)]
    lines += ["", *_table(["layer", "heads", "ffn units"], layer_rows)]
    return "\n".join(lines)


@click.command("inspect")
@trust_option
@click.argument("checkpoint", type=click.Path(path_type=str))
@click.option(
    "--arch",
    type=click.Choice(ARCHES),
    default=None,
    help="Label for state dicts that cannot tell HuBERT from wav2vec 2.0 (torchaudio, bare Hugging Face).",
)
def inspect_command(checkpoint: str, arch: str | None) -> None:
    """Show CHECKPOINT's architecture, parameters, MACs per second of audio, input normalisation and
    per-layer structure.

    CHECKPOINT: a teacher name (`dpbench teachers`), a dpbench checkpoint, a Hugging Face folder or
    state dict, a torchaudio state dict, a fairseq .pt or an s3prl converted .pt."""
    from dpbench.models.importers import import_checkpoint
    from dpbench.models.pruning import prune_encoder
    from dpbench.teachers.resolve import resolve

    model = import_checkpoint(resolve(checkpoint), arch=arch)
    pruned = None
    if model.has_gates:
        try:
            pruned = prune_encoder(model).config
        except ValueError as error:
            raise DpbenchError(f"{checkpoint}: {error}") from error
    click.echo(f"checkpoint: {checkpoint}")
    click.echo(describe(model, pruned))
