"""Sentences for read speech: a small grammar over a fixed English vocabulary, so every word has a
lexicon entry. Lower-case here; LibriSpeech transcripts are written upper-case."""

from __future__ import annotations

import numpy as np

NOUNS = """man woman child boy girl king queen doctor farmer sailor soldier teacher captain
father mother brother sister friend stranger neighbour horse dog cat bird fish house garden
river forest mountain village city road bridge door window table chair letter book paper
ship boat train field hill island lake stone tree flower apple bread water fire light night
morning evening summer winter storm rain wind sea shore castle church market school kitchen
room wall floor roof lamp candle clock coat hat shoe box basket bottle cup glass knife money
gold silver picture story song voice face hand eye heart mind name word question answer
year day hour moment journey""".split()

ADJECTIVES = """old young little great small large long short dark bright quiet loud happy sad
strange simple beautiful cold warm wet dry heavy empty full busy early late silent gentle
green white black red blue golden narrow wide deep tired hungry clever poor rich proud""".split()

TRANSITIVE = """found saw carried opened closed watched followed noticed brought painted
cleaned built mended visited remembered answered touched lifted pushed pulled bought sold
dropped held read wrote heard kept""".split()

INTRANSITIVE = """walked waited stood sat looked ran slept smiled laughed listened wandered
stopped turned rested worked lived travelled hurried""".split()

PREPOSITIONS = """across along behind beside near under over through into toward past
around""".split()

ADVERBS = """slowly quickly quietly carefully suddenly gently softly again today yesterday
together alone""".split()

NAMES = """mary john anna thomas henry alice james margaret peter helen george clara william
edward emma""".split()

CONTRACTIONS = """didn't wasn't couldn't wouldn't it's there's""".split()


def sentence(rng: np.random.Generator) -> str:
    """One random sentence of roughly 5 to 14 words."""

    def pick(words: list[str]) -> str:
        return str(words[rng.integers(len(words))])

    def noun_phrase() -> str:
        return f"the {pick(ADJECTIVES)} {pick(NOUNS)}" if rng.random() < 0.5 else f"the {pick(NOUNS)}"

    templates = [
        lambda: f"{noun_phrase()} {pick(INTRANSITIVE)} {pick(PREPOSITIONS)} {noun_phrase()}",
        lambda: f"{pick(NAMES)} {pick(TRANSITIVE)} {noun_phrase()} {pick(ADVERBS)}",
        lambda: f"{noun_phrase()} {pick(TRANSITIVE)} {noun_phrase()} and {pick(INTRANSITIVE)} {pick(ADVERBS)}",
        lambda: f"when {noun_phrase()} {pick(INTRANSITIVE)} {pick(NAMES)} {pick(TRANSITIVE)} {noun_phrase()}",
        lambda: f"it was a {pick(ADJECTIVES)} {pick(NOUNS)} and {pick(NAMES)} {pick(CONTRACTIONS[:4])} know it",
        lambda: f"{pick(CONTRACTIONS[4:])} {noun_phrase()} {pick(PREPOSITIONS)} {noun_phrase()}",
        lambda: (
            f"{pick(NAMES)} and {pick(NAMES)} {pick(INTRANSITIVE)} {pick(PREPOSITIONS)} {noun_phrase()} {pick(ADVERBS)}"
        ),
    ]
    return templates[rng.integers(len(templates))]()


def vocabulary() -> list[str]:
    """Every word `sentence` can produce, sorted."""
    fixed = {"the", "and", "when", "it", "was", "a", "know"}
    words = NOUNS + ADJECTIVES + TRANSITIVE + INTRANSITIVE + PREPOSITIONS + ADVERBS + NAMES + CONTRACTIONS
    return sorted(fixed | set(words))
