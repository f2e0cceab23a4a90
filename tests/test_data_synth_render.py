"""The signal pieces of the synthesiser: FFT sizes, resampling, noise colours, channels."""

from __future__ import annotations

import numpy as np
import pytest

from dpbench.data.synth.render import Channel, apply_channel, colored_noise, fast_length, lowpass, resample


def is_5_smooth(n: int) -> bool:
    for prime in (2, 3, 5):
        while n % prime == 0:
            n //= prime
    return n == 1


def test_fast_length_is_the_next_5_smooth_number() -> None:
    for n in list(range(1, 2000)) + [44101, 99991, 220501]:
        size = fast_length(n)
        assert size >= n and is_5_smooth(size)
        assert not any(is_5_smooth(m) for m in range(n, size))


@pytest.mark.parametrize("rate_in, n", [(22050, 44177), (44100, 4410), (8000, 7999)])
def test_resample_keeps_a_tone(rate_in: int, n: int) -> None:
    tone = np.sin(2 * np.pi * 440 * np.arange(n) / rate_in)
    out = resample(tone, rate_in, 16000)
    assert len(out) == round(n * 16000 / rate_in) and out.dtype == np.float32
    expected = np.sin(2 * np.pi * 440 * np.arange(len(out)) / 16000)
    middle = slice(len(out) // 10, -len(out) // 10)
    assert np.abs(out[middle] - expected[middle]).max() < 1e-3


def test_noise_colours_and_channel() -> None:
    rng = np.random.default_rng(0)
    low_share = {}
    for color in ("white", "pink", "brown"):
        noise = colored_noise(rng, 16000, color)
        assert noise.shape == (16000,) and np.sqrt(np.mean(noise**2)) == pytest.approx(1.0, rel=1e-3)
        power = np.abs(np.fft.rfft(noise)) ** 2
        low_share[color] = power[:500].sum() / power.sum()  # below 500 Hz
    assert low_share["white"] < low_share["pink"] < low_share["brown"]
    speech = np.sin(2 * np.pi * 300 * np.arange(16000) / 16000).astype(np.float32)
    noisy = apply_channel(speech, Channel(snr_db=20.0, gain_db=0.0), rng)
    snr = 10 * np.log10(np.mean(speech**2) / np.mean((noisy - speech) ** 2))
    assert snr == pytest.approx(20.0, abs=0.5)
    high = np.sin(2 * np.pi * 6000 * np.arange(16000) / 16000)
    assert np.abs(lowpass(high, 3000.0)).max() < 1e-3
