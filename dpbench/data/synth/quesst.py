"""Query-by-example spoken term detection in QUESST 2014 layout (`quesst14Database/`): documents
`Audio/quesst14_NNNNN.wav` (read sentences, some containing a keyword), spoken queries
`dev_queries/quesst14_dev_NNNN.wav` and `eval_queries/quesst14_eval_NNNN.wav` (one keyword said in
isolation by a voice that reads no document; dev and eval keywords differ and are searched in the same
documents). A keyword is an adjective and a noun (`golden river`, about a second, like QUESST's queries);
other documents may say either word alone, which does not count. `scoring/` holds
`language_key_{utterances,dev,eval}.lst` (`quesst14Database/<dir>/<file>.wav nnenglish`, what s3prl's
`quesst14_dtw` reads) and, per query set, `groundtruth_quesst14_<set>/` with the NIST STD files the
official scorer reads (`quesst14.ecf.xml`, `quesst14_<set>.tlist.xml`, `quesst14_<set>.rttm`), plus
`occurrences.tsv` (every keyword occurrence with its text).

Occurrence times in the RTTM and TSV are estimates (the keyword's share of the document's characters
placed over its duration): QUESST 2014 scores whole query/document trials, so only the document matters."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dpbench.data.audio import SAMPLE_RATE
from dpbench.data.synth import text
from dpbench.data.synth.common import Job, Rendered, file_seed, light_channel
from dpbench.data.synth.render import SpeechJob
from dpbench.data.synth.sizes import SizeSpec
from dpbench.data.synth.voices import sample_voices
from dpbench.errors import DpbenchError
from dpbench.io_utils import atomic_write_text

FOLDER = "quesst14Database"
QUERY_SETS = ("dev", "eval")
LANGUAGE = "nnenglish"
# Keyword nouns: two or more syllables, from the sentence grammar's vocabulary.
KEYWORD_NOUNS = (
    "captain",
    "doctor",
    "farmer",
    "sailor",
    "soldier",
    "teacher",
    "mother",
    "brother",
    "sister",
    "stranger",
    "neighbour",
    "river",
    "forest",
    "mountain",
    "village",
    "city",
    "window",
    "letter",
    "paper",
    "island",
    "flower",
    "apple",
    "water",
    "morning",
    "evening",
    "summer",
    "winter",
    "castle",
    "market",
    "kitchen",
    "candle",
    "basket",
    "bottle",
    "money",
    "silver",
    "picture",
    "story",
    "question",
    "answer",
    "journey",
    "garden",
)


def document_id(index: int) -> str:
    return f"quesst14_{index + 1:05d}"


def query_id(query_set: str, index: int) -> str:
    return f"quesst14_{query_set}_{index + 1:04d}"


def count(sentence: str, phrase: str) -> int:
    """How many times `sentence` says `phrase` (whole words)."""
    return len(re.findall(rf"\b{re.escape(phrase)}\b", sentence))


def clean_sentence(rng: np.random.Generator, keywords: set[str]) -> str:
    """A grammar sentence that says none of the `keywords` (it may say their words apart)."""
    while True:
        candidate = text.sentence(rng)
        if not any(count(candidate, keyword) for keyword in keywords):
            return candidate


def pick(rng: np.random.Generator, words: Sequence[str]) -> str:
    return str(words[rng.integers(len(words))])


def carrier(rng: np.random.Generator, keyword: str, keywords: set[str]) -> str:
    """A sentence that says `keyword` once, at its start, middle or end, and no other keyword."""
    templates = (
        lambda: f"{clean_sentence(rng, keywords)} near the {keyword}",
        lambda: (
            f"the {keyword} {pick(rng, text.INTRANSITIVE)} {pick(rng, text.PREPOSITIONS)} the {pick(rng, text.NOUNS)}"
        ),
        lambda: f"{pick(rng, text.NAMES)} {pick(rng, text.TRANSITIVE)} the {keyword} {pick(rng, text.ADVERBS)}",
        lambda: f"{clean_sentence(rng, keywords)} and the {keyword} was {pick(rng, text.ADJECTIVES)}",
        lambda: (
            f"when the {keyword} {pick(rng, text.INTRANSITIVE)} {pick(rng, text.NAMES)} "
            f"{pick(rng, text.TRANSITIVE)} the {pick(rng, text.NOUNS)}"
        ),
    )
    while True:
        candidate = templates[rng.integers(len(templates))]()
        if count(candidate, keyword) == 1 and not any(count(candidate, other) for other in keywords - {keyword}):
            return candidate


def choose_keywords(rng: np.random.Generator, spec: SizeSpec) -> dict[str, list[str]]:
    """Dev and eval keywords: an adjective and a noun (`golden river`), every noun used once."""
    n_dev, n_eval = spec.qbe_keywords
    if n_dev + n_eval > len(KEYWORD_NOUNS):
        raise DpbenchError(
            f"SizeSpec.qbe_keywords {spec.qbe_keywords}: at most {len(KEYWORD_NOUNS)} keywords in "
            "all (dpbench/data/synth/quesst.py KEYWORD_NOUNS); lower the counts in sizes.py"
        )
    pool = [f"{pick(rng, text.ADJECTIVES)} {noun}" for noun in rng.permutation(KEYWORD_NOUNS)]
    return {"dev": pool[:n_dev], "eval": pool[n_dev : n_dev + n_eval]}


def plan(spec: SizeSpec, seed: int) -> list[Job]:
    rng = np.random.default_rng([seed, 14])
    keywords = choose_keywords(rng, spec)
    every_keyword = {keyword for words in keywords.values() for keyword in words}
    n_queries = sum(len(words) for words in keywords.values())
    voices = sample_voices(rng, spec.qbe_speakers + n_queries)
    doc_voices, query_voices = voices[: spec.qbe_speakers], iter(voices[spec.qbe_speakers :])
    jobs: list[Job] = []
    for query_set in QUERY_SETS:
        for index, keyword in enumerate(keywords[query_set]):
            term = query_id(query_set, index)
            relpath = f"{query_set}_queries/{term}.wav"
            jobs.append(
                SpeechJob(
                    relpath=relpath,
                    text=keyword,
                    voice=next(query_voices).jittered(rng),
                    channel=light_channel(rng),
                    seed=file_seed(seed, relpath),
                    pad_seconds=(0.05, 0.2),
                    meta={"split": query_set, "speaker": f"query_{term}", "term": term, "keyword": keyword},
                )
            )
    sentences = [
        carrier(rng, keyword, every_keyword)
        for words in keywords.values()
        for keyword in words
        for _ in range(spec.qbe_occurrences)
    ]
    sentences += [clean_sentence(rng, every_keyword) for _ in range(spec.qbe_distractors)]
    for index, position in enumerate(rng.permutation(len(sentences))):
        speaker = int(rng.integers(len(doc_voices)))
        relpath = f"Audio/{document_id(index)}.wav"
        jobs.append(
            SpeechJob(
                relpath=relpath,
                text=sentences[position],
                voice=doc_voices[speaker].jittered(rng),
                channel=light_channel(rng),
                seed=file_seed(seed, relpath),
                meta={"split": "documents", "speaker": f"speaker_{speaker:03d}"},
            )
        )
    return jobs


@dataclass(frozen=True)
class Document:
    name: str
    text: str
    seconds: float
    speaker: str


@dataclass(frozen=True)
class Occurrence:
    document: str
    term: str
    keyword: str
    start: float
    length: float


def occurrences(document: Document, term: str, keyword: str) -> list[Occurrence]:
    """Each time `document` says `keyword`, timed by the keyword's share of the characters."""
    scale = document.seconds / len(document.text)
    return [
        Occurrence(document.name, term, keyword, scale * match.start(), scale * len(keyword))
        for match in re.finditer(rf"\b{re.escape(keyword)}\b", document.text)
    ]


def finalize(root: Path, rendered: Sequence[Rendered]) -> None:
    """Write the language keys, the per-query-set ground truth and `scoring/occurrences.tsv`."""
    documents = [
        Document(Path(r.job.relpath).stem, r.job.text, r.n_samples / SAMPLE_RATE, r.job.meta["speaker"])
        for r in rendered
        if r.job.meta["split"] == "documents"
    ]
    scoring = root / "scoring"
    lines = [f"{FOLDER}/Audio/{document.name}.wav {LANGUAGE}\n" for document in documents]
    atomic_write_text(scoring / "language_key_utterances.lst", "".join(lines))
    rows = ["document\tquery_set\ttermid\tkeyword\ttbeg\tdur\n"]
    for query_set in QUERY_SETS:
        terms = {r.job.meta["term"]: r.job.meta["keyword"] for r in rendered if r.job.meta["split"] == query_set}
        lines = [f"{FOLDER}/{query_set}_queries/{term}.wav {LANGUAGE}\n" for term in terms]
        atomic_write_text(scoring / f"language_key_{query_set}.lst", "".join(lines))
        hits = [
            hit
            for document in documents
            for term, keyword in terms.items()
            for hit in occurrences(document, term, keyword)
        ]
        write_groundtruth(scoring / f"groundtruth_quesst14_{query_set}", query_set, documents, list(terms), hits)
        rows += [
            f"{hit.document}\t{query_set}\t{hit.term}\t{hit.keyword}\t{hit.start:.3f}\t{hit.length:.3f}\n"
            for hit in hits
        ]
    atomic_write_text(scoring / "occurrences.tsv", "".join(rows))


def write_groundtruth(
    folder: Path, query_set: str, documents: list[Document], terms: list[str], hits: list[Occurrence]
) -> None:
    """NIST STD 2006 files as QUESST 2014 ships them: ECF (the searched documents), term list (the queries,
    term text = query id), RTTM (a SPEAKER line per document, a LEXEME line per occurrence)."""
    ecf = "quesst14.ecf.xml"
    total = sum(document.seconds for document in documents)
    excerpts = [
        f'<excerpt audio_filename="{document.name}" channel="1" tbeg="0.000" dur="{document.seconds:.3f}" '
        'source_type="synthetic"/>\n'
        for document in documents
    ]
    header = f'<ecf source_signal_duration="{total:.3f}" language="multiple" version="dpbench">'
    atomic_write_text(folder / ecf, f'<?xml version="1.0" encoding="UTF-8"?>\n{header}\n{"".join(excerpts)}</ecf>\n')
    term_lines = [f'<term termid="{term}"><termtext>{term}</termtext></term>\n' for term in terms]
    atomic_write_text(
        folder / f"quesst14_{query_set}.tlist.xml",
        f'<?xml version="1.0" encoding="UTF-8"?>\n<termlist ecf_filename="{ecf}" language="multiple" '
        f'encoding="UTF-8" version="dpbench">\n{"".join(term_lines)}</termlist>\n',
    )
    speakers = {document.name: document.speaker for document in documents}
    rttm = [
        f"SPEAKER {document.name} 1 0.000 {document.seconds:.3f} <NA> <NA> {document.speaker} <NA>\n"
        for document in documents
    ]
    rttm += [
        f"LEXEME {hit.document} 1 {hit.start:.3f} {hit.length:.3f} {hit.term} lex {speakers[hit.document]} <NA>\n"
        for hit in hits
    ]
    atomic_write_text(folder / f"quesst14_{query_set}.rttm", "".join(rttm))
