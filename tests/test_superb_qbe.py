"""QbE: the synthetic QUESST 2014 corpus, MTWV on hand-computed cases, the task's layer selection, and one
end-to-end `dpbench superb --task QbE` run through s3prl's quesst14_dtw."""

from __future__ import annotations

import json
import os
import re
import stat
from pathlib import Path

import pytest
import soundfile as sf
import yaml
from click.testing import CliRunner

from dpbench.data.synth import quesst
from dpbench.data.synth.sizes import SIZES
from dpbench.errors import DpbenchError
from dpbench.results import ResultsStore
from dpbench.superb import qbe_score
from dpbench.superb.cli import superb_command
from dpbench.superb.configs import CONFIG_DIR
from dpbench.superb.qbe_score import BETA, GroundTruth, term_weighted_value
from dpbench.superb.tasks.base import RunRequest
from dpbench.superb.tasks.qbe import QbE
from dpbench.superb.upstream_spec import parse_upstream

SPEC = SIZES["tiny"]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny synthetic corpus with only quesst14 (returns the data root)."""
    from dpbench.data.synth import synthesize

    root = tmp_path_factory.mktemp("qbe") / "tiny"
    synthesize(root, size="tiny", seed=0, workers=1, corpora=["quesst14"])
    return root


# --- corpus layout ---------------------------------------------------------------------------------------


def test_layout_is_what_s3prl_quesst14_dataset_reads(corpus: Path) -> None:
    from s3prl.downstream.quesst14_dtw.dataset import english_audio_paths

    root = corpus / quesst.FOLDER
    n_dev, n_eval = SPEC.qbe_keywords
    documents = english_audio_paths(root, "language_key_utterances.lst")
    assert sorted(documents) == sorted((root / "Audio").glob("*.wav"))
    assert len(documents) == (n_dev + n_eval) * SPEC.qbe_occurrences + SPEC.qbe_distractors
    for query_set, count in (("dev", n_dev), ("eval", n_eval)):
        queries = english_audio_paths(root, f"language_key_{query_set}.lst")
        assert sorted(queries) == sorted((root / f"{query_set}_queries").glob("*.wav"))
        assert [path.stem for path in queries] == [quesst.query_id(query_set, i) for i in range(count)]
    for path in documents:
        info = sf.info(str(path))
        assert (info.samplerate, info.channels, info.subtype) == (16000, 1, "PCM_16")


def test_ground_truth_matches_what_the_documents_say(corpus: Path) -> None:
    root = corpus / quesst.FOLDER
    jobs = quesst.plan(SPEC, 0)
    texts = {Path(job.relpath).stem: job.text for job in jobs if job.meta["split"] == "documents"}
    keywords = {job.meta["term"]: job.text for job in jobs if job.meta["split"] in quesst.QUERY_SETS}
    dev_words = {keywords[term] for term in keywords if "_dev_" in term}
    assert dev_words.isdisjoint(keywords[term] for term in keywords if "_eval_" in term)
    rows = (root / "scoring" / "occurrences.tsv").read_text().splitlines()[1:]
    for query_set in quesst.QUERY_SETS:
        folder = root / "scoring" / f"groundtruth_quesst14_{query_set}"
        truth = qbe_score.read_groundtruth(folder)
        assert set(truth.documents) == set(texts)
        assert set(truth.terms) == {term for term in keywords if f"_{query_set}_" in term}
        for term in truth.terms:
            saying = {doc for doc, text in texts.items() if re.search(rf"\b{keywords[term]}\b", text)}
            assert truth.targets[term] == saying and len(saying) == SPEC.qbe_occurrences
        durations = {doc: sf.info(str(root / "Audio" / f"{doc}.wav")).frames / 16000 for doc in texts}
        for line in (folder / f"quesst14_{query_set}.rttm").read_text().splitlines():
            kind, doc, channel, start, length, *rest = line.split()
            assert len(rest) == 4 and channel == "1"
            assert 0 <= float(start) and float(start) + float(length) <= durations[doc] + 1e-3
        ecf = (folder / "quesst14.ecf.xml").read_text()
        assert f'audio_filename="{next(iter(texts))}"' in ecf
    assert len(rows) == len(keywords) * SPEC.qbe_occurrences
    for row in rows:
        doc, _, term, keyword, _, _ = row.split("\t")
        assert keywords[term] == keyword and f" {keyword} " in f" {texts[doc]} "


def test_too_many_keywords_is_refused() -> None:
    from dataclasses import replace

    with pytest.raises(DpbenchError, match="qbe_keywords"):
        quesst.plan(replace(SPEC, qbe_keywords=(30, 30)), 0)


# --- MTWV ------------------------------------------------------------------------------------------------

# Two queries over four documents: A occurs in d1; B occurs in d2 and d3.
TRUTH = GroundTruth(
    documents=("d1", "d2", "d3", "d4"), terms=("A", "B"), targets={"A": frozenset({"d1"}), "B": frozenset({"d2", "d3"})}
)
SCORES = {
    ("A", "d1"): 0.9,
    ("A", "d2"): 0.1,
    ("A", "d3"): 0.2,
    ("A", "d4"): 0.3,
    ("B", "d1"): 0.0,
    ("B", "d2"): 0.8,
    ("B", "d3"): 0.5,
    ("B", "d4"): 0.6,
}


def detections(scores: dict, yes: set = frozenset()) -> dict:
    return {key: (value, key in yes) for key, value in scores.items()}


def test_costs_are_quesst_2014s() -> None:
    assert BETA == pytest.approx(0.01 * 0.9992 / 0.0008)  # 12.49
    assert qbe_score.EFFECTIVE_PRIOR == pytest.approx(0.0741289, abs=1e-7)  # what score-TWV-Cnxe.sh passes on


def test_mtwv_hand_computed() -> None:
    # At threshold 0.8: A finds d1 (P_miss 0), B finds d2 only (P_miss 1/2), no false alarm:
    # TWV = 1 - (0 + 1/2) / 2 = 0.75. Lowering it to 0.6 adds B's false alarm d4: -beta/(2*2) = -3.12.
    result = term_weighted_value(TRUTH, detections(SCORES))
    assert result.mtwv == pytest.approx(0.75)
    assert result.threshold == pytest.approx(0.8)
    assert result.terms == 2


def test_mtwv_perfect_and_useless_systems() -> None:
    perfect = {key: (1.0 if key[1] in TRUTH.targets[key[0]] else 0.0) for key in SCORES}
    assert term_weighted_value(TRUTH, detections(perfect)).mtwv == pytest.approx(1.0)
    # Every non-target outscores every target: any detection costs more than it gains, so accept nothing.
    inverted = {key: -value for key, value in perfect.items()}
    result = term_weighted_value(TRUTH, detections(inverted))
    assert (result.mtwv, result.threshold) == (0.0, float("inf"))


def test_tied_scores_are_accepted_together() -> None:
    # B's target d2 ties with its non-target d4 at 0.8; both come in together, so the best is A alone: 0.5.
    tied = {**SCORES, ("B", "d4"): 0.8}
    assert term_weighted_value(TRUTH, detections(tied)).mtwv == pytest.approx(0.5)


def test_unreported_trials_get_the_default_score_and_queries_without_targets_are_left_out() -> None:
    only_a = {("A", "d1"): 0.9}
    assert term_weighted_value(TRUTH, detections(only_a)).mtwv == pytest.approx(0.5)  # B finds nothing
    # A reported score below the default ranks under every unreported trial (all at -10, mostly non-targets).
    assert term_weighted_value(TRUTH, detections({("B", "d2"): -20.0}), default_score=-10.0).mtwv == 0.0
    with_unseen = GroundTruth(TRUTH.documents, TRUTH.terms + ("C",), TRUTH.targets)
    assert term_weighted_value(with_unseen, detections(SCORES)).mtwv == pytest.approx(0.75)


def test_atwv_uses_the_yes_decisions() -> None:
    # YES on A-d1 (+1/2) and B-d4 (false alarm: -beta / (2 * 2)).
    result = term_weighted_value(TRUTH, detections(SCORES, yes={("A", "d1"), ("B", "d4")}))
    assert result.atwv == pytest.approx(0.5 - BETA / 4)


def write_groundtruth(folder: Path, truth: GroundTruth) -> None:
    folder.mkdir(parents=True)
    excerpts = "".join(f'<excerpt audio_filename="{doc}" channel="1" tbeg="0" dur="1"/>' for doc in truth.documents)
    (folder / "x.ecf.xml").write_text(f"<ecf>{excerpts}</ecf>")
    terms = "".join(f'<term termid="{term}"><termtext>{term}</termtext></term>' for term in truth.terms)
    (folder / "x.tlist.xml").write_text(f"<termlist>{terms}</termlist>")
    lines = [f"LEXEME {doc} 1 0.1 0.2 {term} lex spk <NA>" for term in truth.terms for doc in truth.targets[term]]
    (folder / "x.rttm").write_text("\n".join(["SPEAKER d1 1 0 1 <NA> <NA> spk <NA>", *lines]) + "\n")


def write_stdlist(path: Path, scores: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    lists = {}
    for (term, doc), value in scores.items():
        lists.setdefault(term, []).append(
            f'<term file="{doc}" channel="1" tbeg="0" dur="0" score="{value}" decision="NO"/>'
        )
    body = "".join(
        f'<detected_termlist termid="{term}">{"".join(items)}</detected_termlist>' for term, items in lists.items()
    )
    path.write_text(f'<?xml version="1.0" encoding="UTF-8"?>\n<stdlist>{body}</stdlist>\n')


def test_score_reads_the_nist_files(tmp_path: Path) -> None:
    write_groundtruth(tmp_path / "gt", TRUTH)
    write_stdlist(tmp_path / "sys" / "benchmark.stdlist.xml", SCORES)
    assert qbe_score.score(tmp_path / "sys" / "benchmark.stdlist.xml", tmp_path / "gt").mtwv == pytest.approx(0.75)
    with pytest.raises(DpbenchError, match="no system output"):
        qbe_score.score(tmp_path / "missing.xml", tmp_path / "gt")


def test_official_scorer_is_used_when_the_corpus_has_it(tmp_path: Path) -> None:
    assert qbe_score.official_mtwv(tmp_path, tmp_path, "groundtruth_quesst14_dev") is None
    if not (qbe_score.shutil.which("java") and qbe_score.shutil.which("bc")):
        pytest.skip("the official scorer needs java and bc")
    script = tmp_path / qbe_score.OFFICIAL_SCRIPT
    script.write_text('#!/bin/bash\necho "$@" > args.txt\necho "actTWV: 0.1  maxTWV: 0.4321  Threshold: 2.0"\n')
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    assert qbe_score.official_mtwv(tmp_path, tmp_path / "sys", "groundtruth_quesst14_dev") == pytest.approx(0.4321)
    assert (tmp_path / "args.txt").read_text().split() == [str(tmp_path / "sys"), "groundtruth_quesst14_dev", "-10"]


# --- the task --------------------------------------------------------------------------------------------


def test_best_dev_layer_is_chosen_and_its_eval_mtwv_reported(tmp_path: Path) -> None:
    data = tmp_path / "data"
    for query_set in ("dev", "eval"):
        write_groundtruth(data / QbE.corpus / "scoring" / f"groundtruth_quesst14_{query_set}", TRUTH)
    perfect = {key: (1.0 if key[1] in TRUTH.targets[key[0]] else 0.0) for key in SCORES}
    outputs = {(0, "dev"): SCORES, (0, "test"): perfect, (1, "dev"): perfect, (1, "test"): SCORES}
    run_dir = tmp_path / "run"
    for (layer, split), scores in outputs.items():
        write_stdlist(run_dir / f"layer{layer}" / split / "benchmark.stdlist.xml", scores)
    request = RunRequest(parse_upstream("tiny-hubert"), data, run_dir, "cpu")
    config = {"downstream_expert": {"datarc": {"dataset_root": str(data / QbE.corpus)}}}
    outcome = QbE().outcome(request, config, {"layers": [0, 1]})
    assert (outcome.value, outcome.dev_value) == (pytest.approx(0.75), pytest.approx(1.0))
    assert outcome.details == {
        "layer0_dev": pytest.approx(0.75),
        "layer0_eval": pytest.approx(1.0),
        "layer1_dev": pytest.approx(1.0),
        "layer1_eval": pytest.approx(0.75),
        "best_layer": 1.0,
    }
    assert json.loads((run_dir / "qbe_scores.json").read_text())["best_layer"] == 1


def test_stages_evaluate_every_layer_on_dev_and_test(tmp_path: Path) -> None:
    request = RunRequest(parse_upstream("tiny-hubert"), tmp_path, tmp_path / "run", "cpu")
    stages = QbE().stages(request, {"runner": {}}, {"layers": None})
    layers = QbE().layers(request, {})
    assert layers == list(range(6))  # the shipped tiny-hubert: 5 layers + the conv features
    assert [stage.name for stage in stages] == [f"layer{n}-{split}" for n in layers for split in ("dev", "test")]
    argv = stages[-1].argv
    assert argv[argv.index("-l") + 1] == "5" and argv[argv.index("-t") + 1] == "test"
    assert argv[argv.index("-d") + 1] == "quesst14_dtw" and "-e" not in argv  # no checkpoint: nothing trained
    with pytest.raises(DpbenchError, match="layers"):
        QbE().layers(RunRequest(parse_upstream("s3prl:fbank"), tmp_path, tmp_path, "cpu"), {})


def test_prepare_names_the_missing_corpus(tmp_path: Path) -> None:
    config = yaml.safe_load((CONFIG_DIR / "qbe_cpu.yaml").read_text())
    request = RunRequest(parse_upstream("tiny-hubert"), tmp_path, tmp_path / "run", "cpu")
    with pytest.raises(DpbenchError, match="language_key_utterances.lst"):
        QbE().prepare(request, config, {})


@pytest.mark.slow
def test_qbe_end_to_end_through_s3prl(corpus: Path, tmp_path: Path) -> None:
    configs = tmp_path / "configs"
    configs.mkdir()
    config = yaml.safe_load((CONFIG_DIR / "qbe_cpu.yaml").read_text())
    config["dpbench"]["layers"] = [0, 5]
    (configs / "qbe_cpu.yaml").write_text(yaml.safe_dump(config))
    args = [
        "--task",
        "QbE",
        "--upstream",
        "tiny-hubert",
        "--data",
        str(corpus),
        "--out",
        str(tmp_path / "runs"),
        "--results",
        str(tmp_path / "results.jsonl"),
        "--config-dir",
        str(configs),
        "--quiet",
    ]
    env = {"OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
    result = CliRunner().invoke(superb_command, args, env=env)
    assert result.exit_code == 0, result.output + repr(result.exception)
    [record] = ResultsStore(tmp_path / "results.jsonl").records()
    assert (record["task"], record["metric"], record["higher_is_better"]) == ("QbE", "mtwv", True)
    assert (record["lr"], record["steps"]) == (0.0, 0)
    details = record["details"]
    best = int(details["best_layer"])
    assert best in (0, 5)
    assert record["value"] == details[f"layer{best}_eval"] and 0.0 <= record["value"] <= 1.0
    assert record["dev_value"] == max(details["layer0_dev"], details["layer5_dev"])
    run_dir = Path(record["run_dir"])
    n_docs = sum(SPEC.qbe_keywords) * SPEC.qbe_occurrences + SPEC.qbe_distractors
    outputs = {layer: (run_dir / f"layer{layer}" / "test" / "benchmark.stdlist.xml").read_text() for layer in (0, 5)}
    assert outputs[0].count("<term ") == SPEC.qbe_keywords[1] * n_docs
    assert outputs[0] != outputs[5]  # -l picked different hidden states
