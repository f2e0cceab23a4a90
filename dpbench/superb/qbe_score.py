"""MTWV (maximum term-weighted value) of a query-by-example system output, computed as QUESST 2014's
official scorer does it.

s3prl's `quesst14_dtw` writes `benchmark.stdlist.xml` (a score for every query/document pair) and leaves
scoring to `scoring/score-TWV-Cnxe.sh` (NIST-style TWV and Cnxe, a Java tool), which ships with the real
QUESST 2014 corpus and not with s3prl; `official_mtwv` runs it when a corpus has it, and `score` computes
the same MTWV here from the corpus's ground truth (`groundtruth_quesst14_<set>/`: ECF, term list, RTTM).

The scorer's definition, for a threshold θ (a trial is a (query, document) pair, detected when its score is
≥ θ; QUESST 2014 scores whole documents, so times are not used):

    TWV(θ) = 1 - mean over queries q of [P_miss(q, θ) + β · P_fa(q, θ)]
    β = C_fa / C_miss · (1 - P_target) / P_target
    P_miss = 1 - detected targets / targets(q),  P_fa = detected non-targets / (documents - targets(q))

Queries that occur in no document are left out; pairs the system did not report get a default score (SUPERB
passes -10 to the official script). MTWV is the maximum of TWV over θ, accepting nothing (TWV 0) included;
ATWV uses the system's own YES decisions instead of θ.

Costs (QUESST 2014, as in its SWS 2013 predecessor and QUESST 2015 successor): P_target = 0.0008,
C_miss = 100, C_fa = 1 (Anguera et al., "Query by Example Search on Speech at Mediaeval 2014", MediaEval 2014
working notes). The organisers' `score-TWV-Cnxe.sh` sets exactly these three numbers and hands the Java tool
the effective prior C_miss·P_target / (C_miss·P_target + C_fa·(1 - P_target)) = 0.0741289, the value in the
kit's README example; `EFFECTIVE_PRIOR` here equals it.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dpbench.errors import DpbenchError

P_TARGET = 0.0008
C_MISS = 100.0
C_FA = 1.0
BETA = C_FA / C_MISS * (1.0 - P_TARGET) / P_TARGET
EFFECTIVE_PRIOR = C_MISS * P_TARGET / (C_MISS * P_TARGET + C_FA * (1.0 - P_TARGET))
DEFAULT_SCORE = -10.0  # what SUPERB passes the official script for unreported trials
OFFICIAL_SCRIPT = "score-TWV-Cnxe.sh"


@dataclass(frozen=True)
class GroundTruth:
    """One query set's trials: the searched documents, the queries, and where each query occurs."""

    documents: tuple[str, ...]
    terms: tuple[str, ...]
    targets: dict[str, frozenset[str]]


@dataclass(frozen=True)
class TermWeightedValue:
    """MTWV with the threshold that reaches it (inf: accept nothing), ATWV, and the number of scored queries."""

    mtwv: float
    threshold: float
    atwv: float
    terms: int


def _name(path: str) -> str:
    """A document or query name as the scorer compares them: file name without folder or extension."""
    return Path(path).stem


def _one(folder: Path, pattern: str) -> Path:
    found = sorted(folder.glob(pattern))
    if len(found) != 1:
        raise DpbenchError(
            f"{folder} must hold exactly one {pattern} (QUESST ground truth: ECF, term list, RTTM), "
            f"found {len(found)}: regenerate the corpus or point --data at the real one"
        )
    return found[0]


def read_groundtruth(folder: Path) -> GroundTruth:
    """`groundtruth_quesst14_<set>/`: `*.ecf.xml` (documents), `*.tlist.xml` (queries), `*.rttm` (LEXEME
    lines `LEXEME <document> <channel> <tbeg> <dur> <query> ...`)."""
    folder = Path(folder)
    ecf = ElementTree.parse(_one(folder, "*.ecf.xml")).getroot()
    documents = tuple(_name(excerpt.attrib["audio_filename"]) for excerpt in ecf.iter("excerpt"))
    tlist = ElementTree.parse(_one(folder, "*.tlist.xml")).getroot()
    terms = tuple(term.attrib["termid"] for term in tlist.iter("term"))
    targets: dict[str, set[str]] = {}
    for line in _one(folder, "*.rttm").read_text(encoding="utf-8").splitlines():
        fields = line.split()
        if fields and fields[0] == "LEXEME":
            targets.setdefault(fields[5], set()).add(_name(fields[1]))
    return GroundTruth(documents, terms, {term: frozenset(docs) for term, docs in targets.items()})


def read_stdlist(path: Path) -> dict[tuple[str, str], tuple[float, bool]]:
    """(query, document) -> (score, YES decision) from a NIST `*.stdlist.xml`; a repeated pair keeps its best score."""
    path = Path(path)
    if not path.is_file():
        raise DpbenchError(f"no system output {path}: the s3prl QbE stage did not finish; see its log")
    detections: dict[tuple[str, str], tuple[float, bool]] = {}
    for termlist in ElementTree.parse(path).getroot().iter("detected_termlist"):
        query = termlist.attrib["termid"]
        for term in termlist.iter("term"):
            key = (query, _name(term.attrib["file"]))
            entry = (float(term.attrib["score"]), term.attrib.get("decision") == "YES")
            if key not in detections or entry[0] > detections[key][0]:
                detections[key] = entry
    return detections


def term_weighted_value(
    truth: GroundTruth, detections: dict[tuple[str, str], tuple[float, bool]], default_score: float = DEFAULT_SCORE
) -> TermWeightedValue:
    """MTWV and ATWV of `detections` over every (query, document) trial of `truth`."""
    searched = frozenset(truth.documents)
    targets_of = {term: truth.targets.get(term, frozenset()) & searched for term in truth.terms}
    terms = [term for term in truth.terms if targets_of[term]]
    if not terms:
        raise DpbenchError("no query of this ground truth occurs in any document, so TWV is undefined")
    weights, scores, decisions = [], [], []
    for term in terms:
        targets = targets_of[term]
        non_targets = len(truth.documents) - len(targets)
        for document in truth.documents:
            score, decision = detections.get((term, document), (default_score, False))
            if document in targets:  # a detected target removes 1/targets of this query's miss rate
                weights.append(1.0 / len(targets))
            else:  # a false alarm adds beta/non-targets
                weights.append(-BETA / non_targets)
            scores.append(score)
            decisions.append(decision)
    weight = np.asarray(weights) / len(terms)
    score = np.asarray(scores)
    order = np.argsort(-score, kind="stable")
    gained = np.cumsum(weight[order])
    ranked = score[order]
    group_ends = np.flatnonzero(np.r_[ranked[1:] != ranked[:-1], True])  # tied scores are accepted together
    best = int(np.argmax(gained[group_ends]))
    mtwv = float(gained[group_ends][best])
    threshold = float(ranked[group_ends[best]])
    if mtwv <= 0.0:
        mtwv, threshold = 0.0, float("inf")
    atwv = float(weight[np.asarray(decisions, dtype=bool)].sum())
    return TermWeightedValue(mtwv=mtwv, threshold=threshold, atwv=atwv, terms=len(terms))


def score(stdlist: Path, groundtruth: Path, default_score: float = DEFAULT_SCORE) -> TermWeightedValue:
    """TWV of one system output (`benchmark.stdlist.xml`) against one `groundtruth_quesst14_<set>/` folder."""
    return term_weighted_value(read_groundtruth(groundtruth), read_stdlist(stdlist), default_score)


def official_mtwv(
    scoring_dir: Path, system_dir: Path, groundtruth: str, default_score: float = DEFAULT_SCORE
) -> float | None:
    """The official scorer's maxTWV (SUPERB's call: `./score-TWV-Cnxe.sh SYSTEM_DIR groundtruth_quesst14_<set>
    -10` inside `scoring/`), or None when the corpus lacks the script or this machine lacks java or bc."""
    scoring_dir = Path(scoring_dir)
    if not (scoring_dir / OFFICIAL_SCRIPT).is_file() or not (shutil.which("java") and shutil.which("bc")):
        return None
    command = ["bash", OFFICIAL_SCRIPT, str(Path(system_dir).resolve()), groundtruth, f"{default_score:g}"]
    result = subprocess.run(command, cwd=scoring_dir, capture_output=True, text=True, check=False)
    match = re.search(r"maxTWV:\s*(\S+)", result.stdout)
    if match is None:  # the script's own exit code also reflects its optional gnuplot/ps2pdf plots
        raise DpbenchError(
            f"{scoring_dir / OFFICIAL_SCRIPT} printed no maxTWV for {system_dir} (exit code "
            f"{result.returncode}): {(result.stdout + result.stderr)[-2000:]}"
        )
    return float(match.group(1))
