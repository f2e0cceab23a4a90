"""`dpbench export --format onnx`: a gated student pruned and exported, run by onnxruntime on batch sizes
and lengths other than the traced ones, equal to PyTorch on every SUPERB-feature hidden state."""

from __future__ import annotations

import pytest
import torch
from click.testing import CliRunner

from dpbench.cli import main
from dpbench.models import build_encoder, prune_encoder, save_encoder, tiny_config
from dpbench.models.encoder import HiddenStates
from dpbench.models.export.onnx import TOLERANCE, onnx_session, output_names


def _student(arch: str):
    torch.manual_seed(0)
    model = build_encoder(tiny_config(arch, layer_norm_first=arch == "wavlm"))
    model.set_gates()
    with torch.no_grad():
        for _, gate in model.named_gates():
            gate.log_alpha.copy_(torch.randn(gate.n) * 2 + 0.5)
    return model.eval()


@pytest.mark.parametrize("arch", ["hubert", "wav2vec2", "wavlm"])
def test_onnx_export_matches_pytorch_on_new_shapes(tmp_path, arch: str) -> None:
    gated = _student(arch)
    save_encoder(tmp_path / "student.pt", gated)
    result = CliRunner().invoke(
        main, ["export", str(tmp_path / "student.pt"), "--format", "onnx", "--out", str(tmp_path / "onnx")]
    )
    assert result.exit_code == 0, result.output
    pruned = prune_encoder(gated).eval()
    session = onnx_session(tmp_path / "onnx" / "model.onnx", threads=1)
    assert [o.name for o in session.get_outputs()] == output_names(pruned)
    for batch, samples in ((1, 12000), (4, 30000)):
        wavs = torch.randn(batch, samples)
        lengths = torch.full((batch,), samples, dtype=torch.long)
        if batch > 1:
            lengths[1], lengths[3] = samples // 2, samples - 321
            wavs[1, samples // 2 :] = 0.0
            wavs[3, samples - 321 :] = 0.0
        got = session.run(None, {"wavs": wavs.numpy(), "lengths": lengths.numpy()})
        with torch.no_grad():
            states, frame_lengths = pruned(wavs, lengths, HiddenStates.S3PRL)
        assert len(got) == len(states) + 1
        assert torch.equal(torch.from_numpy(got[-1]), frame_lengths)
        for ours, theirs in zip(got[:-1], states):
            assert ours.shape == tuple(theirs.shape)
            assert (torch.from_numpy(ours) - theirs).abs().max().item() <= TOLERANCE
