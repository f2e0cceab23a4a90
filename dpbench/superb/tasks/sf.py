"""SF: slot filling on Audio SNIPS (`s3prl.problem` SuperbSF): character CTC over transcripts with slot
tokens around each slot value. Reported: slot-type F1 (percent, higher is better), and slot-value CER."""

from __future__ import annotations

import yaml

from dpbench.superb.configs import with_paths
from dpbench.superb.corpora.snips import MARKER, speaker_lists
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
        source = self.corpus_dir(request.data_root, MARKER)
        speakers = speaker_lists(source, config.get("prepare_data", {}))
        return with_paths(
            config,
            {"prepare_data.dataset_root": source, **{f"prepare_data.{key}": names for key, names in speakers.items()}},
        )

    def outcome(self, request: RunRequest, config: dict, settings: dict) -> Outcome:
        exp = request.run_dir / "exp"
        result = exp / "evaluate" / "valid_best" / TEST_NAME / "result.yaml"
        results = yaml.safe_load(result.read_text(encoding="utf-8")) if result.is_file() else {}
        return Outcome(
            value=100.0 * problem_result(result, "slot_type_f1"),
            dev_value=100.0 * problem_best_valid(exp / "train", "slot_type_f1"),
            details={name: 100.0 * value for key, name in DETAILS.items() if (value := results.get(key)) is not None},
            secondary={"cer": 100.0 * problem_result(result, "slot_value_cer")},
        )
