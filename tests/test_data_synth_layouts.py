"""The synthetic corpora in the layouts s3prl's own dataset classes read: each test builds those
classes on the tiny corpus (arguments passed directly where the pip package lacks the configs)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from dpbench.data.synth.lexicon import ipa_to_arpabet, phone_set
from dpbench.data.synth.sizes import SIZES

SPEC = SIZES["tiny"]


def test_all_audio_is_16k_mono_pcm16_and_corpus_json_counts_it(tiny_corpus: Path) -> None:
    files = [p for p in tiny_corpus.rglob("*") if p.suffix in (".wav", ".flac")]
    summary = json.loads((tiny_corpus / "corpus.json").read_text())
    assert len(files) == sum(stats["files"] for stats in summary["corpora"].values())
    for path in files:
        info = sf.info(str(path))
        assert (info.samplerate, info.channels, info.subtype) == (16000, 1, "PCM_16"), path
    assert summary["size"] == "tiny" and summary["seed"] == 0
    seconds = sum(sf.info(str(p)).frames for p in files) / 16000
    assert summary["hours"] == pytest.approx(seconds / 3600, abs=1e-3)
    assert not list(tiny_corpus.rglob(".*tmp*"))  # no leftovers from atomic writes


def test_librispeech_layout_for_asr_and_pr(tiny_corpus: Path) -> None:
    from s3prl.dataio.corpus.librispeech import LibriSpeech
    from s3prl.dataio.encoder.g2p import G2P
    from s3prl.dataio.encoder.tokenizer import PHONEME_VOCAB

    root = tiny_corpus / "LibriSpeech"
    corpus = LibriSpeech(str(root), n_jobs=1)
    train, valid, test = corpus.data_split
    assert [len(split) for split in (train, valid, test)] == [
        n * SPEC.libri_chapters * SPEC.libri_utterances for n in SPEC.libri_speakers
    ]
    speakers = [{item["speaker"] for item in split.values()} for split in (train, valid, test)]
    assert [len(s) for s in speakers] == list(SPEC.libri_speakers)
    assert not (speakers[0] & speakers[1] or speakers[0] & speakers[2] or speakers[1] & speakers[2])
    texts = [item["transcription"] for split in (train, valid, test) for item in split.values()]
    assert all(text and text == text.upper() for text in texts)

    # PR: every word is in the lexicon, and every phone in s3prl's 71-symbol phoneme vocabulary
    assert phone_set() == PHONEME_VOCAB
    g2p = G2P(file_list=[str(root / "lexicon.txt")])
    phones = {p for text in texts for p in g2p.encode(text).split()}
    assert phones and phones <= set(PHONEME_VOCAB)
    assert all("\t" in line for line in (root / "lexicon.txt").read_text().splitlines())


def test_librispeech_layout_for_the_legacy_asr_dataset(tiny_corpus: Path, tmp_path: Path) -> None:
    from s3prl.downstream.asr.dataset import SequenceDataset
    from s3prl.downstream.asr.dictionary import Dictionary

    root = tiny_corpus / "LibriSpeech"
    for split in ("train-clean-100", "dev-clean"):
        rows = [(p.relative_to(root).as_posix(), sf.info(str(p)).frames) for p in (root / split).rglob("*.flac")]
        pd.DataFrame(rows, columns=["file_path", "length"]).to_csv(tmp_path / f"{split}.csv", index=False)
    dictionary = Dictionary()
    for symbol in "|'ABCDEFGHIJKLMNOPQRSTUVWXYZ":
        dictionary.add_symbol(symbol)
    dataset = SequenceDataset(
        "train", 4, dictionary, str(root), str(tmp_path), train=["train-clean-100"], **{"dev-clean": ["dev-clean"]}
    )
    wavs, labels, names = dataset[0]
    assert len(wavs) == len(labels) == len(names) > 1
    assert all(dictionary.unk() not in label for label in labels)  # every character is known
    assert (
        sum(len(batch) for batch in dataset.X) == SPEC.libri_speakers[0] * SPEC.libri_chapters * SPEC.libri_utterances
    )


def test_speech_commands_layout(tiny_corpus: Path) -> None:
    from s3prl.dataio.corpus.speech_commands import SpeechCommandsV1
    from s3prl.downstream.speech_commands.dataset import (
        CLASSES,
        SpeechCommandsDataset,
        SpeechCommandsTestingDataset,
    )
    from s3prl.downstream.speech_commands.expert import split_dataset

    train_root, test_root = tiny_corpus / "speech_commands" / "train", tiny_corpus / "speech_commands" / "test"
    datarc = {"speech_commands_root": str(train_root), "speech_commands_test_root": str(test_root)}
    train_list, valid_list = split_dataset(train_root)
    train = SpeechCommandsDataset(train_list, **datarc)
    dev = SpeechCommandsDataset(valid_list, **datarc)
    test = SpeechCommandsTestingDataset(**datarc)
    assert len(train) >= 32 and len(dev) > 0  # s3prl drops the last partial batch of 32
    for dataset in (train, dev, test):
        assert {label for label, _ in dataset.data} == set(CLASSES)
    wav, label, _ = train[0]
    assert wav.shape == (16000,) and 0 <= label < 12
    silence = next(i for i, (label, _) in enumerate(train.data) if label == "_silence_")
    assert train[silence][0].shape == (16000,)
    assert all(sf.info(str(p)).duration >= 1.0 for p in (train_root / "_background_noise_").glob("*.wav"))
    # dev and test speakers are held out from training
    speaker = lambda path: Path(path).name.split("_nohash_")[0]  # noqa: E731
    train_speakers = {speaker(p) for _, p in train_list}
    assert not train_speakers & {speaker(p) for _, p in valid_list}
    assert not train_speakers & {speaker(p) for _, p in test.data}
    corpus = SpeechCommandsV1(str(train_root), str(test_root))
    assert [len(ids) for ids in corpus.data_split_ids] == [len(train), len(dev), len(test)]


def test_fluent_speech_commands_layout(tiny_corpus: Path) -> None:
    from s3prl.downstream.fluent_commands.dataset import FluentCommandsDataset
    from s3prl.downstream.fluent_commands.expert import DownstreamExpert

    root = tiny_corpus / "fluent_speech_commands"
    header = (root / "data" / "train_data.csv").read_text().splitlines()[0]
    assert header == ",path,speakerId,transcription,action,object,location"
    expert = SimpleNamespace(datarc={"file_path": str(root)})
    DownstreamExpert.get_dataset(expert)  # s3prl's own CSV reading and slot vocabulary
    assert expert.values_per_slot == [6, 14, 4]  # as in the real corpus
    for frame in (expert.valid_df, expert.test_df):
        dataset = FluentCommandsDataset(frame, expert.base_path, expert.Sy_intent)
        for index in range(len(dataset)):  # KeyError if a slot value is missing from train
            wav, label, _ = dataset[index]
            assert wav.ndim == 1 and wav.size > 8000 and label.shape == (3,)
    splits = [set(frame["speakerId"]) for frame in (expert.train_df, expert.valid_df, expert.test_df)]
    assert [len(s) for s in splits] == list(SPEC.fsc_speakers)
    assert not (splits[0] & splits[1] or splits[0] & splits[2] or splits[1] & splits[2])
    assert "none" in set(expert.train_df["location"])
    # (s3prl.dataio.corpus.FluentSpeechCommands is not tried: it calls Series.iteritems, gone in pandas 2)


def test_voxceleb1_layout(tiny_corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import s3prl.downstream.voxceleb1.dataset as sid
    from s3prl.dataio.corpus.voxceleb1sid import VoxCeleb1SID

    root = tiny_corpus / "voxceleb1"
    monkeypatch.setattr(sid, "CACHE_PATH", str(tmp_path / "sid_cache") + "/")  # not the package tree
    labels = {}
    for mode in ("train", "dev", "test"):
        dataset = sid.SpeakerClassifiDataset(mode, root, str(root / "iden_split.txt"), max_timestep=16000)
        assert len(dataset) > 0
        wav, label, name = dataset[0]
        assert wav.ndim == 1 and 0 < len(wav) <= 16000 and 0 <= label < 1251
        labels[mode] = set(dataset.label)
    assert labels["train"] == labels["dev"] == labels["test"]  # closed-set identification
    assert len(labels["train"]) == SPEC.vox_speakers
    assert {p.name for p in root.glob("*/wav")} == {"wav"} and (root / "test" / "wav").is_dir()
    corpus = VoxCeleb1SID(str(root), n_jobs=1, cache_root=str(root))
    train_ids, valid_ids, test_ids = corpus.data_split_ids
    assert len(train_ids) == SPEC.vox_speakers * SPEC.vox_videos[0] * SPEC.vox_utterances
    assert len(valid_ids) > 0 and len(test_ids) > 0


def test_iemocap_layout_and_s3prl_metadata(tiny_corpus: Path, tmp_path: Path) -> None:
    from s3prl.dataio.corpus.iemocap import IEMOCAP
    from s3prl.downstream.emotion.dataset import IEMOCAPDataset
    from s3prl.downstream.emotion.IEMOCAP_preprocess import preprocess

    from dpbench.superb.corpora.iemocap import write_s3prl_metadata

    root = tiny_corpus / "iemocap"
    written = write_s3prl_metadata(root, tmp_path / "meta")
    assert len(written) == 10
    for fold in range(1, 6):
        train = IEMOCAPDataset(
            str(root), str(tmp_path / "meta" / f"Session{fold}" / "train_meta_data.json"), pre_load=False
        )
        test = IEMOCAPDataset(
            str(root), str(tmp_path / "meta" / f"Session{fold}" / "test_meta_data.json"), pre_load=False
        )
        assert train.class_dict == {"neu": 0, "hap": 1, "ang": 2, "sad": 3}
        assert len(train) >= 5 and len(test) > 0  # s3prl splits 20% of train off as dev
        assert Counter(train.idx2emotion[train[i][1]] for i in range(len(train))).keys() == set(train.class_dict)
        held_out = {entry["path"].split("/")[0] for entry in test.meta_data}
        assert held_out == {f"Session{fold}"}
        assert all(not entry["path"].startswith(f"Session{fold}/") for entry in train.meta_data)
    # the same metadata s3prl's own preprocessing script derives from the tree
    preprocess(str(root), ["Session1"], str(tmp_path / "s3prl_test.json"))
    ours = json.loads((tmp_path / "meta" / "Session1" / "test_meta_data.json").read_text())
    theirs = json.loads((tmp_path / "s3prl_test.json").read_text())
    key = lambda entry: entry["path"]  # noqa: E731
    assert sorted(ours["meta_data"], key=key) == sorted(theirs["meta_data"], key=key)
    corpus = IEMOCAP(str(root))
    emotions = Counter(item["emotion"] for item in corpus.all_data.values())
    assert set(emotions) == {"neu", "hap", "ang", "sad"} and len(set(emotions.values())) == 1
    assert sorted({item["session_id"] for item in corpus.all_data.values()}) == [1, 2, 3, 4, 5]


@pytest.mark.parametrize(
    "ipa, arpabet",
    [
        ("wˈɔːɾɚ", "W AO1 T ER0"),
        ("ɡˈɑːɹdən", "G AA1 R D AH0 N"),
        ("bˈʌʔn̩", "B AH1 T AH0 N"),
        ("jˈɛstɚdˌeɪ", "Y EH1 S T ER0 D EY2"),
        ("kwˈɛstʃən", "K W EH1 S CH AH0 N"),
        ("ðɛɹ", "DH EH0 R"),
    ],
)
def test_ipa_to_arpabet(ipa: str, arpabet: str) -> None:
    assert " ".join(ipa_to_arpabet(ipa)) == arpabet
    with pytest.raises(ValueError, match="no ARPAbet"):
        ipa_to_arpabet("qʘ")


def test_librispeech_audio_is_not_silent_and_levels_vary(tiny_corpus: Path) -> None:
    peaks = [float(np.abs(sf.read(str(p))[0]).max()) for p in (tiny_corpus / "LibriSpeech").rglob("*.flac")]
    assert min(peaks) > 0.05 and max(peaks) / min(peaks) > 1.5
