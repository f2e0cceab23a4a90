"""The `dpbench` s3prl upstream: all hidden states, exact 320x frame counts, usable through s3prl's own classes."""

from __future__ import annotations

import pytest
import torch

from dpbench.models import build_encoder, save_encoder, tiny_config
from dpbench.superb.backend.upstream.hubconf import dpbench as dpbench_entry
from dpbench.superb.backend.upstream.hubconf import register

ODD_LENGTHS = [16000, 12345, 4801, 401]


def conv_frames(samples: int) -> int:
    """wav2vec2 conv stack: receptive field 400 samples, stride 320."""
    return (samples - 400) // 320 + 1


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("upstream") / "tiny.pt"
    save_encoder(path, build_encoder(tiny_config("hubert")))
    return path


def wav_batch():
    generator = torch.Generator().manual_seed(1)
    return [torch.randn(n, generator=generator) for n in ODD_LENGTHS]


def test_expert_returns_every_layer_with_conv_frame_count(checkpoint):
    expert = dpbench_entry(ckpt=str(checkpoint))
    config = expert.model.config
    with torch.no_grad():
        out = expert(wav_batch())
    states = out["hidden_states"]
    assert len(states) == config.num_layers + 1
    assert all(s.shape == (len(ODD_LENGTHS), conv_frames(max(ODD_LENGTHS)), config.hidden_size) for s in states)
    assert expert.get_downsample_rates("hidden_states") == 320
    assert torch.equal(out["last_hidden_state"], states[-1])


def test_runner_featurizer_accepts_the_frame_counts(checkpoint):
    """s3prl's runner Featurizer trims to round(len/320) and asserts it is within 5 frames."""
    from s3prl.upstream.interfaces import Featurizer

    expert = dpbench_entry(ckpt=str(checkpoint))
    featurizer = Featurizer(expert, upstream_device="cpu")
    wavs = wav_batch()
    with torch.no_grad():
        features = featurizer(wavs, expert(wavs))
    padded_frames = conv_frames(max(ODD_LENGTHS))
    assert [f.shape[0] for f in features] == [min(round(n / 320), padded_frames) for n in ODD_LENGTHS]
    assert featurizer.output_dim == expert.model.config.hidden_size


def test_s3prl_upstream_class_loads_the_registered_entry(checkpoint):
    from s3prl.nn import S3PRLUpstream

    register()
    upstream = S3PRLUpstream("dpbench", path_or_url=str(checkpoint))
    wavs = wav_batch()
    lengths = torch.tensor(ODD_LENGTHS)
    padded = torch.nn.utils.rnn.pad_sequence(wavs, batch_first=True)
    with torch.no_grad():
        states, state_lengths = upstream(padded, lengths)
    assert upstream.num_layers == tiny_config("hubert").num_layers + 1
    assert upstream.downsample_rates == [320] * upstream.num_layers
    assert state_lengths[0].tolist() == [(n - 1) // 320 + 1 for n in ODD_LENGTHS]


def test_missing_checkpoint_is_a_clear_error(tmp_path):
    from dpbench.errors import DpbenchError

    with pytest.raises(DpbenchError, match="needs a checkpoint"):
        dpbench_entry(ckpt=None)
