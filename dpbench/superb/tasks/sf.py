"""SF: slot filling on Audio SNIPS (`s3prl.problem` SuperbSF): character CTC over transcripts with slot
tokens around each slot value. Reported: slot-type F1 (percent, higher is better), and slot-value CER."""

from __future__ import annotations

from pathlib import Path

import yaml

from dpbench.data.synth.snips import SPEAKERS, SPLITS, TRANSCRIPTS
from dpbench.superb.checks import require
from dpbench.superb.configs import with_paths
from dpbench.superb.parse import problem_best_valid, problem_result
from dpbench.superb.specs import SPEC_BY_NAME
from dpbench.superb.tasks.base import Outcome, RunRequest
from dpbench.superb.tasks.problem_task import ProblemTask

# result.yaml key -> `details` key (all in percent); `cer`/`wer` there are over whole transcripts.
DETAILS = {
    "slot_value_cer": "slot_value_cer",
    "slot_value_wer": "slot_value_wer",
    "slot_edit_f1_full": "slot_edit_f1_full",
    "slot_edit_f1_part": "slot_edit_f1_part",
    "cer": "text_cer",
    "wer": "text_wer",
}
TEST_NAME = "test"  # SuperbSF writes test.csv, so its results land in evaluate/valid_best/test/


class SF(ProblemTask):
    spec = SPEC_BY_NAME["SF"]
    problem = "s3prl.problem.asr.superb_sf:SuperbSF"
    train_stop = 3
    test_start = 4

    def fill(self, request: RunRequest, config: dict) -> dict:
        source = self.corpus_dir(request.data_root, TRANSCRIPTS)
        data = config.get("prepare_data", {})
        paths: dict = {"prepare_data.dataset_root": source}
        for split in SPLITS:
            key = f"{split}_speakers"
            listed = data.get(key) or [name for name, _ in SPEAKERS[split]]
            present = speakers_in(source / split)
            chosen = [name for name in listed if name in present]
            require(bool(chosen), (
                f"SF: no {split} audio in {source / split} from the speakers of {key} ({', '.join(listed)}): "
                f"it holds {', '.join(sorted(present)) or 'no <Speaker>-snips-... .wav files'}; fix "
                f"prepare_data.{key} in the config or regenerate the corpus"))
            paths[f"prepare_data.{key}"] = chosen
        return with_paths(config, paths)

    def outcome(self, request: RunRequest, config: dict, settings: dict) -> Outcome:
        exp = request.run_dir / "exp"
        result = exp / "evaluate" / "valid_best" / TEST_NAME / "result.yaml"
        results = yaml.safe_load(result.read_text(encoding="utf-8")) if result.is_file() else {}
        return Outcome(
            value=100.0 * problem_result(result, "slot_type_f1"),
            dev_value=100.0 * problem_best_valid(exp / "train", "slot_type_f1"),
            details={name: 100.0 * value for key, name in DETAILS.items()
                     if (value := results.get(key)) is not None},
            secondary={"cer": 100.0 * problem_result(result, "slot_value_cer")},
        )


def speakers_in(folder: Path) -> set[str]:
    """Speaker names of the `<Speaker>-snips-<split>-<n>.wav` files under `folder`."""
    return {path.stem.split("-")[0] for path in folder.rglob("*.wav")} if folder.is_dir() else set()
