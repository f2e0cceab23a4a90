"""Diarization error rate as SUPERB reports it: NIST md-eval's DER as dscore runs it (collar 0, overlapped
speech scored, scoring region from the first to the last turn of either side), time-weighted over all
recordings.

Per recording, each speaker's turns are merged (dscore merges a speaker's overlapping turns), reference
speakers are mapped one-to-one to system speakers so that their co-active time is largest, and over
every stretch where `n_ref` reference and `n_sys` system speakers talk, of which `n_correct` are mapped
pairs, md-eval counts `max(0, n_ref - n_sys)` missed, `max(0, n_sys - n_ref)` false-alarm and
`min(n_ref, n_sys) - n_correct` confused speaker time. DER = (missed + false alarm + confusion) /
reference speaker time (a stretch where two reference speakers talk counts twice), in percent.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.optimize import linear_sum_assignment

from dpbench.errors import DpbenchError


@dataclass(frozen=True)
class Turn:
    """One speaker talking in one recording from `start` to `end` seconds."""

    recording: str
    speaker: str
    start: float
    end: float


@dataclass(frozen=True)
class DerCounts:
    """Speaker time in seconds: reference (`scored`) and the three error kinds."""

    scored: float = 0.0
    missed: float = 0.0
    false_alarm: float = 0.0
    confusion: float = 0.0

    def __add__(self, other: DerCounts) -> DerCounts:
        return DerCounts(
            self.scored + other.scored,
            self.missed + other.missed,
            self.false_alarm + other.false_alarm,
            self.confusion + other.confusion,
        )

    @property
    def der(self) -> float:
        """DER in percent (md-eval's; infinite when there is no reference speech but some error)."""
        errors = self.missed + self.false_alarm + self.confusion
        if self.scored == 0.0:
            return 0.0 if errors == 0.0 else float("inf")
        return 100.0 * errors / self.scored


def read_rttm(path: Path) -> list[Turn]:
    """The SPEAKER lines of an RTTM file (`SPEAKER <rec> <chan> <onset> <duration> ... <speaker> ...`)."""
    turns = []
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        fields = line.split()
        if not fields or fields[0] != "SPEAKER":
            continue
        try:
            onset, duration = float(fields[3]), float(fields[4])
            speaker = fields[7]
        except (IndexError, ValueError):
            raise DpbenchError(
                f"{path} line {number}: not an RTTM SPEAKER line "
                "(`SPEAKER <recording> <channel> <onset> <duration> <NA> <NA> <speaker> ...`)"
            ) from None
        if duration < 0:
            raise DpbenchError(f"{path} line {number}: negative duration {duration}")
        turns.append(Turn(fields[1], speaker, onset, onset + duration))
    return turns


def score(reference: list[Turn], system: list[Turn]) -> DerCounts:
    """md-eval's speaker time counts over every recording either side names, summed (time-weighted)."""
    total = DerCounts()
    for counts in score_by_recording(reference, system).values():
        total = total + counts
    return total


def score_by_recording(reference: list[Turn], system: list[Turn]) -> dict[str, DerCounts]:
    """md-eval's speaker time counts of every recording either side names, in recording order."""
    by_recording: dict[str, tuple[list[Turn], list[Turn]]] = defaultdict(lambda: ([], []))
    for turn in reference:
        by_recording[turn.recording][0].append(turn)
    for turn in system:
        by_recording[turn.recording][1].append(turn)
    return {recording: score_recording(*by_recording[recording]) for recording in sorted(by_recording)}


def score_recording(reference: list[Turn], system: list[Turn]) -> DerCounts:
    """md-eval's speaker time counts for one recording's reference and system turns."""
    ref_speakers = _merged(reference)
    sys_speakers = _merged(system)
    bounds = np.unique(
        [t for spans in (*ref_speakers.values(), *sys_speakers.values()) for span in spans for t in span]
    )
    if len(bounds) < 2:
        return DerCounts()
    durations = np.diff(bounds)
    ref_active = _activity(ref_speakers, bounds)  # (segments, reference speakers)
    sys_active = _activity(sys_speakers, bounds)
    n_ref = ref_active.sum(axis=1)
    n_sys = sys_active.sum(axis=1)
    matched = 0.0
    if ref_active.shape[1] and sys_active.shape[1]:
        together = ref_active.T.astype(float) @ (sys_active * durations[:, None])  # co-active seconds
        rows, cols = linear_sum_assignment(together, maximize=True)
        matched = float(together[rows, cols].sum())
    return DerCounts(
        scored=float(durations @ n_ref),
        missed=float(durations @ np.maximum(n_ref - n_sys, 0)),
        false_alarm=float(durations @ np.maximum(n_sys - n_ref, 0)),
        confusion=float(durations @ np.minimum(n_ref, n_sys)) - matched,
    )


def _merged(turns: list[Turn]) -> dict[str, list[tuple[float, float]]]:
    """Each speaker's turns as sorted, non-overlapping (start, end) spans of positive length."""
    spans: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for turn in sorted(turns, key=lambda t: (t.speaker, t.start, t.end)):
        if turn.end <= turn.start:
            continue
        own = spans[turn.speaker]
        if own and turn.start <= own[-1][1]:
            own[-1] = (own[-1][0], max(own[-1][1], turn.end))
        else:
            own.append((turn.start, turn.end))
    return spans


def _activity(speakers: dict[str, list[tuple[float, float]]], bounds: np.ndarray) -> np.ndarray:
    """Whether each speaker talks in each stretch between consecutive `bounds` (all span ends are bounds)."""
    active = np.zeros((len(bounds) - 1, len(speakers)), dtype=np.int64)
    for column, spans in enumerate(speakers.values()):
        for start, end in spans:
            active[np.searchsorted(bounds, start) : np.searchsorted(bounds, end), column] = 1
    return active
