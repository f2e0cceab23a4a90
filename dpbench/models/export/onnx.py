"""A dpbench Encoder as an ONNX graph (`model.onnx`), run by onnxruntime.

Inputs: `wavs` (batch, samples) float32, zero-padded, and `lengths` (batch,) int64 in samples; both axes
dynamic. Outputs: `hidden_0` .. `hidden_L` (batch, frames, hidden) in the SUPERB-feature convention
(HiddenStates.S3PRL: what s3prl's upstream experts return, padded frames found as s3prl's models find
them) and `frame_lengths` (batch,). The graph is traced with a padded batch, so it always applies the
padding mask (a batch without padding gives the same values). Gated models are pruned first."""

from __future__ import annotations

import io
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from torch import Tensor, nn

from dpbench.errors import DpbenchError
from dpbench.io_utils import atomic_write_bytes, make_dirs
from dpbench.models.encoder import Encoder, HiddenStates
from dpbench.models.pruning import prune_encoder

if TYPE_CHECKING:
    import onnxruntime

ONNX_NAME = "model.onnx"
OPSET = 17
TOLERANCE = 1e-4  # max |onnxruntime - PyTorch| on every hidden state, checked after each export


class _SuperbFeatures(nn.Module):
    """`Encoder.forward` with a fixed convention and flat tensor outputs, as tracing needs."""

    def __init__(self, model: Encoder) -> None:
        super().__init__()
        self.model = model

    def forward(self, wavs: Tensor, lengths: Tensor) -> tuple[Tensor, ...]:
        hidden_states, frame_lengths = self.model(wavs, lengths, HiddenStates.S3PRL)
        return (*hidden_states, frame_lengths)


def output_names(model: Encoder) -> list[str]:
    return [f"hidden_{i}" for i in range(model.config.num_layers + 1)] + ["frame_lengths"]


def _example(batch: int, samples: int, seed: int) -> tuple[Tensor, Tensor]:
    """A padded batch: the last utterance is about 3/4 of the longest."""
    generator = torch.Generator().manual_seed(seed)
    wavs = torch.randn(batch, samples, generator=generator)
    lengths = torch.full((batch,), samples, dtype=torch.long)
    lengths[-1] = samples * 3 // 4
    wavs[-1, lengths[-1] :] = 0.0
    return wavs, lengths


def export_onnx(model: Encoder, out: Path) -> tuple[Path, float]:
    """Write OUT/model.onnx for `model` (pruned first if gated), check it with onnxruntime on a batch of
    another size and length than the traced one, and return (path, max abs difference over every hidden
    state). Raises DpbenchError if the difference exceeds TOLERANCE."""
    model = (prune_encoder(model.eval()) if model.has_gates else model).eval()
    wavs, lengths = _example(2, 16000, seed=0)
    names = output_names(model)
    axes = {"wavs": {0: "batch", 1: "samples"}, "lengths": {0: "batch"}, "frame_lengths": {0: "batch"}}
    axes.update({name: {0: "batch", 1: "frames"} for name in names[:-1]})
    buffer = io.BytesIO()
    with torch.no_grad():
        # torch annotates `f` as a path, but the TorchScript exporter (dynamo=False) writes file objects too
        torch.onnx.export(
            _SuperbFeatures(model),
            (wavs, lengths),
            buffer,  # type: ignore[arg-type]
            input_names=["wavs", "lengths"],
            output_names=names,
            dynamic_axes=axes,
            opset_version=OPSET,
            dynamo=False,
        )
    make_dirs(out)
    path = out / ONNX_NAME
    atomic_write_bytes(path, buffer.getvalue())
    error = max_difference(path, model, *_example(3, 21000, seed=1))
    if error > TOLERANCE:
        raise DpbenchError(
            f"{path}: onnxruntime differs from PyTorch by {error:.2e} (> {TOLERANCE:g}); "
            "please report this model's config"
        )
    return path, error


def onnx_session(path: Path, threads: int = 0) -> onnxruntime.InferenceSession:
    """An onnxruntime CPU session for `path` (`threads` 0: onnxruntime's default)."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def max_difference(path: Path, model: Encoder, wavs: Tensor, lengths: Tensor) -> float:
    """Max abs difference between onnxruntime and PyTorch over every hidden state (valid frames and
    padded ones alike); the frame lengths must match exactly."""
    outputs = onnx_session(path).run(None, {"wavs": wavs.numpy(), "lengths": lengths.numpy()})
    with torch.no_grad():
        expected = _SuperbFeatures(model.eval())(wavs, lengths)
    if not torch.equal(torch.from_numpy(outputs[-1]), expected[-1]):
        return float("inf")
    return max((torch.from_numpy(got) - want).abs().max().item() for got, want in zip(outputs[:-1], expected[:-1]))
