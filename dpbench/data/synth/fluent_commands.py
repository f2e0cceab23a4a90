"""Intent classification in Fluent Speech Commands layout: `wavs/speakers/<spk>/<id>.wav` and
`data/{train,valid,test}_data.csv` (unnamed index, path, speakerId, transcription, action, object,
location; `none` for an empty slot). The 31 intents mirror the real corpus's slot values. Valid and
test speakers are held out; train speakers say every intent, so every slot value is in train."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from dpbench.data.synth.common import Job, Rendered, file_seed, light_channel, random_id
from dpbench.data.synth.render import SpeechJob
from dpbench.data.synth.sizes import SizeSpec
from dpbench.data.synth.voices import sample_voices
from dpbench.io_utils import atomic_write_text

FOLDER = "fluent_speech_commands"
SPLITS = ("train", "valid", "test")
LOCATIONS = ("kitchen", "bedroom", "washroom")
LANGUAGES = ("Chinese", "Korean", "English", "German")
PHRASES = {  # action -> templates; {obj} and {loc} (" in the kitchen" or "") are filled in
    "activate": ("turn on the {obj}{loc}", "switch on the {obj}{loc}", "{obj} on{loc}"),
    "deactivate": ("turn off the {obj}{loc}", "switch off the {obj}{loc}", "{obj} off{loc}"),
    "increase": ("turn up the {obj}{loc}", "increase the {obj}{loc}", "more {obj}{loc} please"),
    "decrease": ("turn down the {obj}{loc}", "decrease the {obj}{loc}", "less {obj}{loc} please"),
    "bring": ("bring me the {obj}", "get me my {obj}", "fetch the {obj} please"),
    "change language": ("switch to {obj}", "set the language to {obj}", "change the language to {obj}"),
}
LANGUAGE_NONE_PHRASES = ("change language", "switch the language", "change the language settings")


def intents() -> list[tuple[str, str, str]]:
    """The 31 (action, object, location) triples."""
    triples = [("change language", "none", "none")]
    triples += [("change language", language, "none") for language in LANGUAGES]
    for action in ("activate", "deactivate"):
        triples += [(action, "music", "none"), (action, "lamp", "none"), (action, "lights", "none")]
        triples += [(action, "lights", location) for location in LOCATIONS]
    for action in ("increase", "decrease"):
        triples += [(action, "volume", "none"), (action, "heat", "none")]
        triples += [(action, "heat", location) for location in LOCATIONS]
    triples += [("bring", item, "none") for item in ("newspaper", "juice", "socks", "shoes")]
    return triples


def phrase(rng: np.random.Generator, action: str, obj: str, location: str) -> str:
    if action == "change language" and obj == "none":
        return str(rng.choice(LANGUAGE_NONE_PHRASES))
    loc = "" if location == "none" else f" in the {location}"
    text = str(rng.choice(PHRASES[action])).format(obj=obj, loc=loc)
    return text[0].upper() + text[1:]


def plan(spec: SizeSpec, seed: int) -> list[Job]:
    rng = np.random.default_rng([seed, 3])
    all_intents = intents()
    roles = [s for s, n in zip(SPLITS, spec.fsc_speakers) for _ in range(n)]
    jobs: list[Job] = []
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    for voice, role in zip(sample_voices(rng, len(roles)), roles):
        speaker = random_id(rng, 16, alphabet)
        count = len(all_intents) if role == "train" else min(spec.fsc_eval_intents, len(all_intents))
        for index in sorted(rng.choice(len(all_intents), size=count, replace=False)):
            action, obj, location = all_intents[index]
            uid = "-".join(random_id(rng, n, "0123456789abcdef") for n in (8, 4, 4, 4, 12))
            relpath = f"wavs/speakers/{speaker}/{uid}.wav"
            jobs.append(
                SpeechJob(
                    relpath=relpath,
                    text=phrase(rng, action, obj, location),
                    voice=voice.jittered(rng),
                    channel=light_channel(rng),
                    seed=file_seed(seed, relpath),
                    meta={"split": role, "speaker": speaker, "action": action, "object": obj, "location": location},
                )
            )
    return jobs


def finalize(root: Path, rendered: Sequence[Rendered]) -> None:
    for split in SPLITS:
        rows = [
            {
                "path": item.job.relpath,
                "speakerId": item.job.meta["speaker"],
                "transcription": item.job.text,
                "action": item.job.meta["action"],
                "object": item.job.meta["object"],
                "location": item.job.meta["location"],
            }
            for item in rendered
            if item.job.meta["split"] == split
        ]
        atomic_write_text(root / "data" / f"{split}_data.csv", pd.DataFrame(rows).to_csv(index=True))
