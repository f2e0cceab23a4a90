"""A pronunciation lexicon in s3prl's phoneme set (ARPAbet with stress digits, plus SIL and SPN),
derived from espeak-ng's own American English pronunciations so it matches the synthetic audio."""

from __future__ import annotations

import subprocess
import unicodedata
from importlib import resources

from dpbench.data.synth.render import ESPEAK

STRESS_MARKS = {"ˈ": "1", "ˌ": "2"}
IGNORED = set("ː.‖|‿-̯ ")
# IPA as espeak-ng writes it -> ARPAbet (vowels without their stress digit); longest match first.
VOWELS = {
    "aɪə": ["AY", "ER"],
    "aʊə": ["AW", "ER"],
    "aɪ": ["AY"],
    "aʊ": ["AW"],
    "eɪ": ["EY"],
    "oʊ": ["OW"],
    "əʊ": ["OW"],
    "ɔɪ": ["OY"],
    "ɛɹ": ["EH"],
    "ɪə": ["IH", "AH"],
    "eə": ["EH", "AH"],
    "ʊə": ["UH", "AH"],
    "oː": ["AO"],
    "ɑ": ["AA"],
    "ɒ": ["AA"],
    "a": ["AA"],
    "æ": ["AE"],
    "ʌ": ["AH"],
    "ə": ["AH"],
    "ɐ": ["AH"],
    "ɔ": ["AO"],
    "ɛ": ["EH"],
    "e": ["EH"],
    "ɜ": ["ER"],
    "ɚ": ["ER"],
    "ɪ": ["IH"],
    "ᵻ": ["IH"],
    "i": ["IY"],
    "o": ["OW"],
    "ʊ": ["UH"],
    "u": ["UW"],
}
CONSONANTS = {
    "tʃ": "CH",
    "dʒ": "JH",
    "b": "B",
    "d": "D",
    "ð": "DH",
    "f": "F",
    "ɡ": "G",
    "g": "G",
    "h": "HH",
    "k": "K",
    "l": "L",
    "m": "M",
    "n": "N",
    "ŋ": "NG",
    "p": "P",
    "ɹ": "R",
    "r": "R",
    "s": "S",
    "ʃ": "SH",
    "t": "T",
    "θ": "TH",
    "v": "V",
    "w": "W",
    "j": "Y",
    "z": "Z",
    "ʒ": "ZH",
    "ɾ": "T",
    "ʔ": "T",
    "x": "K",
    "ç": "HH",
    "ʍ": "W",
    "ɬ": "L",
}
SYLLABIC = "\u0329"  # combining vertical line below: syllabic l/n/m


def phone_set() -> list[str]:
    """s3prl's 71-symbol phoneme vocabulary (the legacy runner's ctc/vocab/phoneme.txt)."""
    return resources.files("dpbench.data").joinpath("phonemes.txt").read_text().split()


def ipa_to_arpabet(ipa: str) -> list[str]:
    """Convert one word's espeak-ng IPA into ARPAbet phones; unstressed vowels get stress 0."""
    ipa = unicodedata.normalize("NFC", ipa.strip())
    phones: list[str] = []
    stress = "0"
    i = 0
    while i < len(ipa):
        char = ipa[i]
        if char in STRESS_MARKS:
            stress, i = STRESS_MARKS[char], i + 1
            continue
        if char in IGNORED:
            i += 1
            continue
        if char == SYLLABIC and phones:
            phones.insert(len(phones) - 1, "AH0")
            i += 1
            continue
        for size in (3, 2, 1):
            chunk = ipa[i : i + size]
            if chunk in VOWELS:
                vowels = VOWELS[chunk]
                phones += [vowels[0] + stress] + [v + "0" for v in vowels[1:]]
                if chunk == "ɛɹ":
                    phones.append("R")
                stress = "0"
                break
            if chunk in CONSONANTS:
                phones.append(CONSONANTS[chunk])
                break
        else:
            raise ValueError(f"no ARPAbet mapping for {char!r} in /{ipa}/")
        i += size
    return phones


def espeak_ipa(words: list[str], accent: str = "en-us") -> list[str]:
    """espeak-ng's IPA for each word (one call, one word per line)."""
    result = subprocess.run(
        [ESPEAK, "-q", "--ipa", "-v", accent],
        input="\n".join(words) + "\n",
        capture_output=True,
        text=True,
        check=True,
    )
    lines = [line.strip() for line in result.stdout.splitlines() if line.strip()]
    if len(lines) != len(words):
        raise RuntimeError(f"espeak-ng returned {len(lines)} pronunciations for {len(words)} words")
    return lines


def build_lexicon(words: list[str]) -> dict[str, list[str]]:
    """UPPER-CASE word -> ARPAbet phones, for every word."""
    words = sorted(set(words))
    return {word.upper(): ipa_to_arpabet(ipa) for word, ipa in zip(words, espeak_ipa(words))}


def format_lexicon(lexicon: dict[str, list[str]]) -> str:
    return "".join(f"{word}\t{' '.join(phones)}\n" for word, phones in sorted(lexicon.items()))
