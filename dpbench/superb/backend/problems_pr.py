"""s3prl problem recipes with their downloads replaced by local files (the only change to their behaviour)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from s3prl.dataio.encoder.g2p import G2P
from s3prl.problem.asr.superb_asr import SuperbASR
from s3prl.problem.asr.superb_pr import SuperbPR


class LexiconPR(SuperbPR):
    """`SuperbPR` that phonemizes transcripts with `prepare_data.lexicon` instead of downloading s3prl's lexicons."""

    def prepare_data(self, prepare_data: dict, target_dir: str, cache_dir: str, get_path_only: bool = False):
        conf = dict(prepare_data)
        lexicon = conf.pop("lexicon")
        csvs = SuperbASR.prepare_data(self, conf, target_dir, cache_dir, get_path_only)
        if not get_path_only:
            train_csv, valid_csv, test_csvs = csvs
            g2p = G2P(file_list=[str(lexicon)])
            for csv_path in [train_csv, valid_csv, *test_csvs]:
                _phonemize(Path(csv_path), g2p)
        return csvs


def _phonemize(csv_path: Path, g2p: G2P) -> None:
    frame = pd.read_csv(csv_path)
    frame["transcription"] = [g2p.encode(str(text).strip()) for text in frame["transcription"]]
    frame.to_csv(csv_path, index=False)
