"""FitHuBERT's student in dpbench's model: the thin conv front end with pointwise convs and the time-reduction
layer. Sizes exact (formula = modules, MACs = the module-level counter), frames and padding, save/load,
`dpbench inspect`, the s3prl upstream through s3prl's own classes, and the exports (ONNX works; the Hugging
Face and the authors' formats cannot represent a time reduction and refuse it)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from click.testing import CliRunner

from dpbench.cli import main
from dpbench.compress.students import fithubert_config
from dpbench.efficiency.macs import macs_per_second
from dpbench.errors import DpbenchError
from dpbench.models import (
    Encoder,
    HiddenStates,
    build_encoder,
    count_macs,
    count_params,
    hubert_base_config,
    load_encoder,
    save_encoder,
    tiny_config,
)
from dpbench.models.export import export_huggingface, export_released
from dpbench.models.export.onnx import TOLERANCE, onnx_session
from upstreams.dpbench.hubconf import dpbench as dpbench_entry
from upstreams.dpbench.hubconf import register

LENGTHS = [17000, 12345, 4801, 1100]  # the ONNX graph is traced on 16000 samples


@pytest.fixture(autouse=True)
def one_thread() -> None:
    torch.set_num_threads(1)


def student(arch: str = "hubert", pre_ln: bool = False) -> Encoder:
    """A tiny FitHuBERT-shaped encoder with every weight off its initial value."""
    torch.manual_seed(0)
    model = build_encoder(fithubert_config(tiny_config(arch, layer_norm_first=pre_ln)))
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(torch.randn(parameter.shape) * 0.05)
    return model.eval()


def padded_batch() -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(1)
    wavs = [torch.randn(n, generator=generator) for n in LENGTHS]
    return torch.nn.utils.rnn.pad_sequence(wavs, batch_first=True), torch.tensor(LENGTHS)


def test_the_published_shape_at_hubert_base():
    config = fithubert_config(hubert_base_config())
    assert list(zip(config.conv_channels, config.conv_kernels, config.conv_strides, strict=True)) == [
        (128, 10, 5),
        (256, 1, 1),
        (256, 3, 2),
        (256, 3, 2),
        (256, 3, 2),
        (256, 3, 2),
        (512, 1, 1),
        (512, 2, 2),
        (512, 2, 2),
    ]
    assert (config.num_layers, config.hidden_size, config.num_heads[0], config.ffn_dims[0]) == (12, 480, 12, 480)
    assert (config.time_reduction, config.downsample_rate) == (2, 640)
    with torch.device("meta"):
        model = build_encoder(config)
    assert count_params(config) == sum(p.numel() for p in model.parameters()) == 21_200_096
    assert sum(p.numel() for p in model.time_reduction.parameters()) == 480 * 480 * 2 + 480


@pytest.mark.parametrize("arch,pre_ln", [("hubert", False), ("wavlm", True)])
def test_sizes_are_exact(arch: str, pre_ln: bool):
    model = student(arch, pre_ln)
    assert count_params(model.config) == sum(p.numel() for p in model.parameters())
    measured = macs_per_second(model, lambda m, wavs: m(wavs), 1.0)
    assert measured == pytest.approx(count_macs(model.config, 1.0, executed=True), rel=1e-12)


def test_time_reduction_merges_pairs_of_frames():
    """Layer 1's input is a linear map of each pair of consecutive frames (an independent einsum)."""
    model = student()
    wavs = torch.randn(1, 16000)
    captured = {}
    hook = model.time_reduction.register_forward_pre_hook(lambda module, args: captured.update(x=args[0]))
    with torch.no_grad():
        states, lengths = model(wavs)
    hook.remove()
    x, conv = captured["x"], model.time_reduction.conv
    pairs = x[:, : x.shape[1] // 2 * 2].reshape(1, -1, 2, x.shape[-1])  # (B, T/2, 2, D)
    expected = torch.einsum("btkd,odk->bto", pairs, conv.weight) + conv.bias
    torch.testing.assert_close(states[0], expected, rtol=1e-5, atol=1e-5)
    conv_frames = int(model.feature_extractor.output_lengths(torch.tensor([16000]))[0])
    assert states[0].shape[1] == conv_frames // 2 == int(lengths[0]) == int(model.output_lengths(torch.tensor([16000])))


@pytest.mark.parametrize("convention", list(HiddenStates))
def test_padding_does_not_leak_into_valid_frames(convention: HiddenStates):
    """wav2vec 2.0 Large style: LayerNorm conv features (a GroupNorm over time, as in Base models, sees the
    padding by design) and valid frames by the conv formula in both conventions (HuBERT's s3prl rule keeps
    a frame that is partly padding)."""
    model = student("wav2vec2", pre_ln=True)
    wavs, lengths = padded_batch()
    with torch.no_grad():
        states, frames = model(wavs, lengths, convention)
        assert len(states) == model.config.num_layers + 1
        assert len({s.shape for s in states}) == 1
        for i, n in enumerate(LENGTHS):
            alone, alone_frames = model(wavs[i : i + 1, :n], torch.tensor([n]), convention)
            assert int(frames[i]) == int(alone_frames[0])
            for batched, single in zip(states, alone, strict=True):
                torch.testing.assert_close(batched[i, : frames[i]], single[0, : frames[i]], rtol=1e-4, atol=1e-4)


def test_save_load_and_inspect(tmp_path):
    model = student()
    save_encoder(tmp_path / "fit.pt", model)
    loaded = load_encoder(tmp_path / "fit.pt")
    assert loaded.config == model.config and loaded.config.time_reduction == 2
    wavs = torch.randn(2, 8000)
    with torch.no_grad():
        for a, b in zip(model(wavs)[0], loaded(wavs)[0], strict=True):
            assert torch.equal(a, b)
    result = CliRunner().invoke(main, ["inspect", str(tmp_path / "fit.pt")])
    assert result.exit_code == 0, result.output
    assert (
        "time reduction: 2 frames merged into one before layer 1 (layers at 640 samples, 40 ms per frame)"
        in result.output
    )
    assert f"parameters: {count_params(model.config):,}" in result.output


def test_too_short_input_is_a_clear_error():
    with pytest.raises(ValueError, match="needs at least 2 frames"):
        student()(torch.randn(1, 500))


def test_the_upstream_pads_a_short_input_to_one_reduced_frame(tmp_path):
    """The shortest input giving the layers one frame is the conv stack's receptive field for two frames."""
    assert hubert_base_config().min_samples == 400
    assert fithubert_config(hubert_base_config()).min_samples == 400 + 320
    save_encoder(tmp_path / "fit.pt", student())
    expert = dpbench_entry(ckpt=str(tmp_path / "fit.pt"))
    with torch.no_grad():
        out = expert([torch.randn(500)])
    assert out["hidden_states"][0].shape[:2] == (1, 1)


def test_s3prl_upstream_reports_the_reduced_frame_rate(tmp_path):
    """s3prl's Featurizer trims each utterance to round(len / rate) frames and asserts it is within 5 of
    what the upstream returned; S3PRLUpstream takes the rate from the expert."""
    from s3prl.nn import S3PRLUpstream
    from s3prl.upstream.interfaces import Featurizer

    save_encoder(tmp_path / "fit.pt", student())
    expert = dpbench_entry(ckpt=str(tmp_path / "fit.pt"))
    assert expert.get_downsample_rates("hidden_states") == 640
    wavs = list(padded_batch()[0])
    wavs = [w[:n] for w, n in zip(wavs, LENGTHS, strict=True)]
    featurizer = Featurizer(expert, upstream_device="cpu")
    with torch.no_grad():
        out = expert(wavs)
        features = featurizer(wavs, out)
    padded_frames = out["hidden_states"][0].shape[1]
    assert padded_frames == ((max(LENGTHS) - 400) // 320 + 1) // 2
    assert [f.shape[0] for f in features] == [min(round(n / 640), padded_frames) for n in LENGTHS]
    register()
    upstream = S3PRLUpstream("dpbench", path_or_url=str(tmp_path / "fit.pt"))
    assert upstream.downsample_rates == [640] * upstream.num_layers


def test_exports(tmp_path):
    model = student()
    with pytest.raises(DpbenchError, match="time-reduction layer.*Use --format onnx"):
        export_huggingface(model, tmp_path / "hf")
    assert not (tmp_path / "hf").exists()
    with pytest.raises(DpbenchError, match="time-reduction layer.*Use --format onnx"):
        export_released(model, tmp_path / "released" / "student.pth")
    save_encoder(tmp_path / "fit.pt", model)
    result = CliRunner().invoke(
        main, ["export", str(tmp_path / "fit.pt"), "--format", "onnx", "--out", str(tmp_path / "onnx")]
    )
    assert result.exit_code == 0, result.output
    session = onnx_session(tmp_path / "onnx" / "model.onnx", threads=1)
    wavs, lengths = padded_batch()
    got = session.run(None, {"wavs": wavs.numpy(), "lengths": lengths.numpy()})
    with torch.no_grad():
        states, frames = model(wavs, lengths, HiddenStates.S3PRL)
    assert torch.equal(torch.from_numpy(got[-1]), frames)
    for ours, theirs in zip(got[:-1], states, strict=True):
        assert F.l1_loss(torch.from_numpy(ours), theirs, reduction="none").max().item() <= TOLERANCE
