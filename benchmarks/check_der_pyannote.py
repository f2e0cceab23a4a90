"""Cross-check `dpbench.superb.der` against pyannote.metrics' DiarizationErrorRate (collar 0, overlap
scored, scoring region the union of both sides' extent: the md-eval/dscore setting SUPERB reports) on
random multi-recording diarizations; prints the largest DER difference in percentage points.

pyannote.metrics is not a dpbench dependency: run this in an environment that has it, e.g.
    python -m venv /tmp/pa && /tmp/pa/bin/pip install pyannote.metrics==<version>
    PYTHONPATH=. /tmp/pa/bin/python benchmarks/check_der_pyannote.py --trials 200
"""

from __future__ import annotations

import argparse
from importlib.metadata import version

import numpy as np
from pyannote.core import Annotation, Segment
from pyannote.metrics.diarization import DiarizationErrorRate

from dpbench.superb.der import Turn, score


def random_turns(rng: np.random.Generator, recording: str, prefix: str, length: float) -> list[Turn]:
    """1-4 speakers, each with 1-6 turns at 10 ms resolution (as s3prl's RTTMs), overlaps allowed."""
    turns = []
    for speaker in range(int(rng.integers(1, 5))):
        for _ in range(int(rng.integers(1, 7))):
            start = round(float(rng.uniform(0, length)), 2)
            turns.append(Turn(recording, f"{prefix}{speaker}", start, round(start + float(rng.uniform(0.05, 5)), 2)))
    return turns


def annotation(turns: list[Turn]) -> Annotation:
    """The turns as a pyannote Annotation, each speaker's overlapping turns merged (dscore's merge_turns;
    pyannote would otherwise count a speaker's overlapping turns twice)."""
    result = Annotation()
    for index, turn in enumerate(turns):
        result[Segment(turn.start, turn.end), index] = turn.speaker
    return result.support()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    worst = 0.0
    for _ in range(args.trials):
        metric = DiarizationErrorRate(collar=0.0, skip_overlap=False)
        reference, system = [], []
        for number in range(int(rng.integers(1, 4))):
            ref = random_turns(rng, f"rec{number}", "ref", 20.0)
            hyp = random_turns(rng, f"rec{number}", "sys", 20.0)
            metric(annotation(ref), annotation(hyp))  # pyannote's default UEM: both sides' extent
            reference += ref
            system += hyp
        worst = max(worst, abs(score(reference, system).der - 100.0 * abs(metric)))
    print(
        f"pyannote.metrics {version('pyannote.metrics')}, {args.trials} random diarizations: "
        f"largest |DER difference| {worst:.2e} percentage points"
    )


if __name__ == "__main__":
    main()
