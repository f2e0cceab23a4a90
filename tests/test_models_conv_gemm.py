"""The conv front end as GEMMs on channels-last activations (components.ConvLayer) and the channels-last
position conv equal torchaudio's modules (nn.Conv1d, GroupNorm / LayerNorm, GELU) at widths that are
not multiples of 8 (zero padding channels) and at widths that are, forward and gradients; the form
written for ONNX export (Conv1d ops) equals the GEMM form."""

from __future__ import annotations

import pytest
import torch
from torchaudio.models.wav2vec2.components import ConvolutionalPositionalEmbedding, _get_feature_extractor

from dpbench.models.components import (
    CHANNEL_MULTIPLE,
    ConvFeatureExtractor,
    ConvLayer,
    PositionalConv,
    conv_width,
    strided_frames,
)

KERNELS, STRIDES = [10, 3, 3, 2], [5, 2, 2, 2]


def assert_close(got: torch.Tensor, expected: torch.Tensor, msg: str = "") -> None:
    """float32 agreement relative to the tensor's scale (random weights grow activations layer by layer)."""
    scale = float(expected.abs().max())
    torch.testing.assert_close(got, expected, atol=1e-5 * scale, rtol=1e-4, msg=msg or None)


def extractors(channels: list[int], norm: str, bias: bool) -> tuple[ConvFeatureExtractor, torch.nn.Module]:
    """dpbench's extractor with random weights and torchaudio's with the same weights."""
    torch.manual_seed(len(channels) + sum(channels))
    ours = ConvFeatureExtractor(channels, KERNELS, STRIDES, norm, bias)
    with torch.no_grad():
        for param in ours.parameters():
            param.copy_(torch.randn_like(param) * 0.3 + (1.0 if param.dim() == 1 else 0.0))
    mode = "group_norm" if norm == "group" else "layer_norm"
    theirs = _get_feature_extractor(mode, list(zip(channels, KERNELS, STRIDES, strict=True)), bias)
    state = {}
    for i, layer in enumerate(ours.layers):
        state[f"conv_layers.{i}.conv.weight"] = layer.conv.weight
        if bias:
            state[f"conv_layers.{i}.conv.bias"] = layer.conv.bias
        if layer.norm is not None:
            state[f"conv_layers.{i}.layer_norm.weight"] = layer.norm.weight
            state[f"conv_layers.{i}.layer_norm.bias"] = layer.norm.bias
    theirs.load_state_dict({k: v.detach().clone() for k, v in state.items()})
    return ours, theirs


@pytest.mark.parametrize(
    "channels,norm,bias",
    [
        ([37, 45, 29, 51], "group", False),  # odd widths: zero padding channels in between
        ([32, 48, 40, 64], "group", True),  # multiples of 8: no padding
        ([37, 45, 29, 51], "layer", True),  # LayerNorm layers keep exact widths
    ],
)
def test_extractor_equals_torchaudio_forward_and_gradients(channels: list[int], norm: str, bias: bool) -> None:
    ours, theirs = extractors(channels, norm, bias)
    wavs = torch.randn(3, 4000) * 0.3
    wavs[1, 2500:] = 0.0  # a padded utterance: GroupNorm statistics include its padding, as torchaudio's do
    expected, _ = theirs(wavs, None)
    with torch.no_grad():  # the eval path: cached GEMM weights, GELU in place
        assert_close(ours(wavs)[0], expected.detach())
    got, _ = ours(wavs)
    assert_close(got, expected.detach())
    probe = torch.randn_like(expected)
    (got * probe).sum().backward()
    (expected * probe).sum().backward()
    ours_params = dict(ours.named_parameters())
    for name, param in theirs.named_parameters():
        mine = ours_params[name.replace("conv_layers", "layers").replace("layer_norm", "norm")]
        if norm == "group" and name == "conv_layers.0.conv.bias":  # cancels in the GroupNorm: zero gradient
            assert torch.equal(mine.grad, torch.zeros_like(mine.grad))
            weight_grad = theirs.conv_layers[0].conv.weight.grad
            assert float(param.grad.abs().max()) < 1e-3 * float(weight_grad.abs().max())  # rounding only
            continue
        assert_close(mine.grad, param.grad, msg=name)


def test_padding_channels_are_zero_and_dropped() -> None:
    layer = ConvLayer(1, 45, 10, 5, bias=False, norm="group")
    assert layer.width == conv_width(45, layer_norm=False) == 48 and layer.width % CHANNEL_MULTIPLE == 0
    with torch.no_grad():
        out = layer(torch.randn(2, 800, 1))
    assert out.shape[-1] == 48 and torch.equal(out[..., 45:], torch.zeros_like(out[..., 45:]))
    assert ConvLayer(45, 45, 3, 2, bias=False, norm="layer").width == 45
    ours, _ = extractors([37, 45, 29, 51], "group", False)
    with torch.no_grad():
        assert ours(torch.randn(2, 4000))[0].shape[-1] == 51


def test_group_norm_statistics_keep_full_precision_under_bf16_autocast() -> None:
    ours, theirs = extractors([37, 45, 29, 51], "group", False)
    wavs = torch.randn(2, 4000) * 0.3
    with torch.no_grad():
        expected, _ = theirs(wavs, None)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            got = ours.layers[0](wavs.unsqueeze(-1))
        reference = theirs.conv_layers[0](wavs.unsqueeze(1), None)[0].transpose(1, 2)
    # bf16 products (3 significant digits), float64 statistics: no normalisation error on top
    torch.testing.assert_close(got[..., :37].float(), reference, atol=3e-2, rtol=3e-2)


@pytest.mark.parametrize("kernel,stride", [(10, 5), (3, 2), (2, 2), (1, 1), (2, 3)])
def test_strided_frames_are_the_conv_windows(kernel: int, stride: int) -> None:
    x = torch.randn(2, 23, 5)
    frames = strided_frames(x, kernel, stride)
    assert frames.shape == (2, (23 - kernel) // stride + 1, kernel * 5)
    for t in range(frames.shape[1]):
        for j in range(kernel):
            assert torch.equal(frames[:, t, j * 5 : (j + 1) * 5], x[:, t * stride + j])


@pytest.mark.parametrize("norm", ["group", "layer"])
def test_onnx_export_form_equals_the_gemm_form(norm: str, monkeypatch) -> None:
    """Under ONNX export each layer is Conv1d (+ GroupNorm) on (B, C, T): the same values, padding included."""
    ours, _ = extractors([37, 45, 29, 51], norm, True)
    wavs = torch.randn(2, 4000) * 0.3
    with torch.no_grad():
        expected = ours(wavs)[0]
        monkeypatch.setattr(torch.onnx, "is_in_onnx_export", lambda: True)
        assert_close(ours(wavs)[0], expected)


@pytest.mark.parametrize("kernel", [15, 16])
def test_position_conv_equals_torchaudio(kernel: int) -> None:
    torch.manual_seed(kernel)
    theirs = ConvolutionalPositionalEmbedding(64, kernel, 4)
    ours = PositionalConv(64, kernel, 4)
    with torch.no_grad():
        ours.weight_g.copy_(theirs.conv.parametrizations.weight.original0)
        ours.weight_v.copy_(theirs.conv.parametrizations.weight.original1)
        ours.bias.copy_(torch.randn(64))
        theirs.conv.bias.copy_(ours.bias)
    x = torch.randn(2, 31, 64)
    expected = theirs(x)
    torch.testing.assert_close(ours(x), expected, atol=1e-5, rtol=1e-5)
    with torch.no_grad():  # the eval path: cached channels-last weight
        torch.testing.assert_close(ours(x), expected, atol=1e-5, rtol=1e-5)
    (ours(x) * expected.detach()).sum().backward()
    (expected * expected.detach()).sum().backward()
    torch.testing.assert_close(
        ours.weight_v.grad, theirs.conv.parametrizations.weight.original1.grad, atol=1e-5, rtol=1e-4
    )


def test_folded_group_norm_is_as_accurate_as_torchaudio_on_padded_batches() -> None:
    """Against a float64 reference, the folded GroupNorm's error stays within 2x of torchaudio's float32
    error, on a batch whose second utterance is half padding (float32 statistics lost 100x here)."""
    ours, theirs = extractors([512, 64, 64, 64], "group", False)
    layer, reference = ours.layers[0], theirs.conv_layers[0]
    wavs = torch.randn(3, 16000)
    wavs[1, 8000:] = 0.0
    with torch.no_grad():
        exact = reference.double()(wavs.double().unsqueeze(1), None)[0].transpose(1, 2)
        reference.float()
        theirs_error = (reference(wavs.unsqueeze(1), None)[0].transpose(1, 2).double() - exact).abs().max()
        ours_error = (layer(wavs.unsqueeze(-1))[..., :512].double() - exact).abs().max()
    assert ours_error <= 2 * theirs_error
