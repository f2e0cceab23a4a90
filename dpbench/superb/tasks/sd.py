"""SD: two-speaker diarization on LibriMix-style mixtures (`s3prl.problem` SuperbSD), DER in percent.

The recorded DER is the one SuperbSD's test stage writes to `result.yaml`: frame-level, on the
upstream's frames, sigmoid threshold 0.5, no median filter, no collar, overlap scored, best speaker
permutation, averaged over test recordings. Stage 3 of the recipe (RTTMs for several thresholds
and median filters, scored with dscore) is not run: it clones dscore from GitHub.
"""

from __future__ import annotations

from pathlib import Path

from dpbench.errors import DpbenchError
from dpbench.io_utils import atomic_write_text
from dpbench.superb.configs import with_paths
from dpbench.superb.parse import problem_best_valid, problem_result
from dpbench.superb.tasks.base import Outcome, RunRequest, require
from dpbench.superb.tasks.problem_task import ProblemTask

SPLITS = ("train", "dev", "test")  # the data directories SuperbSD.prepare_data reads
KALDI_FILES = ("wav.scp", "segments", "utt2spk", "reco2dur")  # what it needs; spk2utt and rttm are copied if present
TEST_STAGE = 2  # inference on the test set and result.yaml; stage 3 (dscore) is skipped


class SD(ProblemTask):
    name = "SD"
    stem = "sd"
    metric = "der"
    higher_is_better = False
    corpus = "librimix"
    problem = "s3prl.problem:SuperbSD"
    train_stop = 1
    test_start = TEST_STAGE
    test_stop = TEST_STAGE

    def fill(self, request: RunRequest, config: dict) -> dict:
        source = self.corpus_dir(request.data_root, "data")
        view = request.run_dir / "data"
        for split in SPLITS:
            kaldi_view(source, split, view / split)
        return with_paths(config, {"prepare_data.data_dir": view})

    def outcome(self, request: RunRequest, config: dict, settings: dict) -> Outcome:
        exp = request.run_dir / "exp"
        result = exp / "evaluate" / "valid_best" / "test" / "result.yaml"
        return Outcome(
            value=100.0 * problem_result(result, "der"),
            dev_value=100.0 * problem_best_valid(exp / "train", "der"),
            details={"frame_accuracy": 100.0 * problem_result(result, "accuracy")},
        )


def kaldi_view(corpus: Path, split: str, target: Path) -> None:
    """Copy `corpus/data/<split>` to `target` with every wav.scp path made absolute (s3prl opens them
    from its working directory); relative paths are taken relative to `corpus`."""
    source = corpus / "data" / split
    for name in KALDI_FILES:
        require((source / name).is_file(), (
            f"SD needs {source / name}: a Kaldi data directory per split (train, dev, test) with "
            f"{', '.join(KALDI_FILES)} (layout in docs/ARCHITECTURE.md); run `dpbench data synth` or "
            "prepare LibriMix with its Kaldi data scripts"))
    lines = []
    for number, line in enumerate((source / "wav.scp").read_text().splitlines(), 1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) != 2:
            raise DpbenchError(f"{source / 'wav.scp'} line {number}: expected `<recording> <path>` with no "
                               "spaces in the path (s3prl splits on one space) and no piped commands")
        path = Path(fields[1]) if Path(fields[1]).is_absolute() else (corpus / fields[1]).resolve()
        require(path.is_file(), f"{source / 'wav.scp'} line {number}: {path} does not exist")
        require(" " not in str(path), f"{path} (from {source / 'wav.scp'}) has a space, which s3prl's SD "
                "cannot read: move the corpus (or the run folder, --out) to a path without spaces")
        lines.append(f"{fields[0]} {path}\n")
    require(bool(lines), f"{source / 'wav.scp'} lists no recordings")
    atomic_write_text(target / "wav.scp", "".join(lines))
    for name in ("segments", "utt2spk", "reco2dur", "spk2utt", "rttm"):
        if (source / name).is_file():
            atomic_write_text(target / name, (source / name).read_text())
