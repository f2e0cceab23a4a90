"""HuBERT-style pretraining: masking, frame alignment of targets, and a tiny run whose loss drops."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from click.testing import CliRunner

from dpbench.errors import DpbenchError
from dpbench.models import build_encoder, load_encoder, tiny_config
from dpbench.teachers.cli import pretrain_command
from dpbench.teachers.corpus import SpeechCorpus, sample_crops
from dpbench.teachers.masked_model import MaskedPrediction, span_mask
from dpbench.teachers.pretrain import read_curve
from dpbench.teachers.targets import HOP, MfccFeaturizer, corpus_labels

RATE = 16000


def vowel_string(rng: np.random.Generator, seconds: float) -> np.ndarray:
    """Speech-like audio: a sequence of 'vowels' (harmonic series under one of four formant
    envelopes) with a gliding pitch, so frames fall into a few predictable classes."""
    formants = [(300, 2300), (700, 1200), (500, 1800), (350, 800)]
    pieces = []
    for _ in range(int(seconds / 0.15)):
        t = np.arange(int(0.15 * RATE)) / RATE
        f0 = rng.uniform(90, 220)
        f1, f2 = formants[rng.integers(len(formants))]
        envelope = lambda f: np.exp(-(((f - f1) / 150) ** 2)) + np.exp(-(((f - f2) / 200) ** 2))  # noqa: E731
        tone = sum(envelope(k * f0) * np.sin(2 * np.pi * k * f0 * t) for k in range(1, 30))
        pieces.append(tone * np.hanning(len(t)))
    audio = np.concatenate(pieces) + 0.01 * rng.standard_normal(len(pieces) * len(pieces[0]))
    return (0.3 * audio / np.abs(audio).max()).astype(np.float32)


@pytest.fixture(scope="module")
def vowel_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("vowels")
    speech = root / "LibriSpeech" / "train-clean-100" / "1" / "1"
    speech.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(6):
        sf.write(speech / f"1-1-{i:04d}.flac", vowel_string(rng, 2.0), RATE)
    (root / "speech_commands").mkdir()
    sf.write(root / "speech_commands" / "not_read_speech.wav", np.zeros(RATE, np.float32), RATE)
    return root


def test_span_mask_covers_about_the_asked_fraction() -> None:
    mask = span_mask(16, 100, prob=0.8, span=10, generator=torch.Generator().manual_seed(0))
    assert mask.shape == (16, 100)
    assert mask.any(dim=1).all()
    assert 0.35 < mask.float().mean() < 0.8  # overlapping spans: less than prob, more than half of it


def test_mfcc_frames_match_encoder_frames() -> None:
    featurize, encoder = MfccFeaturizer(), build_encoder(tiny_config())
    for samples in (400, 719, 720, 16000, 16123):
        assert len(featurize(torch.randn(samples))) == int(encoder.output_lengths(torch.tensor(samples)))


def test_corpus_reads_read_speech_part_and_crops_align(vowel_corpus: Path) -> None:
    corpus = SpeechCorpus.load(vowel_corpus, min_samples=8000)
    assert len(corpus) == 6 and all("LibriSpeech" in str(f) for f in corpus.files)
    wavs, origins = sample_crops(corpus, 3, 8000, HOP, torch.Generator().manual_seed(0))
    assert wavs.shape == (3, 8000)
    for wav, (index, frame) in zip(wavs, origins):
        assert torch.allclose(wav, corpus.wave(index)[frame * HOP : frame * HOP + 8000])


def test_labels_cover_every_frame(vowel_corpus: Path) -> None:
    corpus = SpeechCorpus.load(vowel_corpus, min_samples=8000)
    labels, clusters = corpus_labels(corpus, MfccFeaturizer(), 4, 10_000, seed=0)
    assert [len(label) for label in labels] == [(len(w) - 400) // HOP + 1 for w in corpus.waves]
    assert set(torch.cat(labels).tolist()) == {0, 1, 2, 3}


def test_masked_frames_get_the_mask_embedding_and_release_removes_the_hook() -> None:
    encoder = build_encoder(tiny_config())
    model = MaskedPrediction(encoder, n_clusters=5)
    wav = torch.randn(1, 8000)
    mask = torch.zeros(1, 24, dtype=torch.bool)
    mask[0, 3:9] = True
    captured = []
    handle = encoder.feature_projection.register_forward_hook(lambda m, i, o: captured.append(o))
    model.logits(wav, mask)
    handle.remove()
    # the masking hook was registered first, so the capturing hook saw its replaced output
    assert torch.equal(captured[0][0, 3], model.mask_embedding.detach())
    assert not torch.equal(captured[0][0, 2], model.mask_embedding.detach())
    released = model.release()
    hidden, _ = released(wav)
    assert not torch.equal(hidden[0][0, 3], model.mask_embedding.detach())


def test_tiny_pretraining_run_lowers_the_loss(vowel_corpus: Path, tmp_path: Path) -> None:
    args = [
        str(vowel_corpus),
        "--out",
        str(tmp_path),
        "--name",
        "t",
        "--shape",
        "tiny",
        "--steps",
        "30",
        "--batch-size",
        "4",
        "--crop-seconds",
        "1",
        "--lr",
        "2e-3",
        "--clusters",
        "6,6",
        "--iterations",
        "2",
        "--threads",
        "1",
        "--half",
        "--quiet",
    ]
    result = CliRunner().invoke(pretrain_command, args, prog_name="dpbench pretrain")
    assert result.exit_code == 0, result.output
    curve = read_curve(tmp_path / "t-curve.csv")
    first = [row["loss"] for row in curve if row["iteration"] == 1]
    assert len(first) == 3 and np.mean(first[-2:]) < first[0]
    record = json.loads((tmp_path / "t.json").read_text())
    assert [it["clusters"] for it in record["iterations"]] == [6, 6]
    assert record["iterations"][1]["targets"].startswith("hidden state")
    assert record["command"].startswith(f"dpbench pretrain {vowel_corpus} --out {tmp_path} --name t --shape tiny")
    assert "--seed 0" in record["command"] and "--half" in record["command"]
    model = load_encoder(tmp_path / "t.pt")
    assert model.config.to_dict() == record["config"]
    assert all(p.dtype == torch.float32 for p in model.parameters())
    assert (tmp_path / "t-curve.png").read_bytes()[:4] == b"\x89PNG"


def test_pretrain_rejects_a_folder_without_audio(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(DpbenchError, match="no .wav/.flac/.ogg files under"):
        SpeechCorpus.load(tmp_path / "empty", min_samples=8000)
