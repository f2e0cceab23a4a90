"""Spoken slot filling in (SUPERB-preprocessed) Audio SNIPS layout: `{train,valid,test}/<uid>.wav` with
uid `<Speaker>-snips-<split>-<n>`, `all.iob.snips.txt` (`<uid> BOS WORDS EOS<TAB>O TAGS <intent>`, one tag
per word: the slot type, or `O`) and `slots.txt` (`O`, then one slot type a line). Commands come from
templates of the seven SNIPS intents with slot values drawn from fixed pools. Speakers carry the names of
SUPERB's Polly voices and are disjoint across splits, as in SUPERB; train cycles through every template,
and valid/test only use templates train used, so every valid/test slot type occurs in train."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from dpbench.data.synth.common import Job, Rendered, file_seed, light_channel
from dpbench.data.synth.render import SpeechJob
from dpbench.data.synth.sizes import SizeSpec
from dpbench.data.synth.voices import sample_voice
from dpbench.errors import DpbenchError
from dpbench.io_utils import atomic_write_text

FOLDER = "snips"
SPLITS = ("train", "valid", "test")
TRANSCRIPTS = "all.iob.snips.txt"
SLOTS = "slots.txt"
# SUPERB's speaker lists (s3prl SuperbSF defaults), with each Polly voice's gender.
SPEAKERS = {
    "train": (
        ("Ivy", "F"),
        ("Joanna", "F"),
        ("Joey", "M"),
        ("Justin", "M"),
        ("Kendra", "F"),
        ("Kimberly", "F"),
        ("Matthew", "M"),
        ("Salli", "F"),
    ),
    "valid": (("Aditi", "F"), ("Amy", "F"), ("Geraint", "M"), ("Nicole", "F")),
    "test": (("Brian", "M"), ("Emma", "F"), ("Raveena", "F"), ("Russell", "M")),
}

TEMPLATES: dict[str, tuple[str, ...]] = {
    "PlayMusic": (
        "play the {music_item} {track} by {artist}",
        "play {album} by {artist} on {service}",
        "i want to hear some {genre} from {year}",
        "play the {sort} {music_item} by {artist}",
        "can you play {track} on {service}",
        "put on some {genre} music",
    ),
    "AddToPlaylist": (
        "add {artist} to {playlist_owner} {playlist} playlist",
        "add this {music_item} to {playlist_owner} {playlist} playlist",
        "please add {track} to the {playlist} playlist",
        "put this {music_item} by {artist} on {playlist_owner} {playlist} list",
    ),
    "GetWeather": (
        "what is the weather in {city} {timeRange}",
        "will it be {condition_temperature} in {city} {timeRange}",
        "is {condition_description} expected in {country} {timeRange}",
        "tell me the forecast {spatial_relation} {city}",
        "how {condition_temperature} will it get in {state} {timeRange}",
    ),
    "BookRestaurant": (
        "book a table for {party_size_number} at a {cuisine} {restaurant_type} in {city}",
        "reserve a {restaurant_type} for {party_size_number} people {timeRange}",
        "i need a table at {restaurant_name} {timeRange}",
        "book a {restaurant_type} that serves {served_dish} in {state}",
        "find me a {cuisine} {restaurant_type} {spatial_relation} {city} for {party_size_number}",
    ),
    "RateBook": (
        "rate {object_select} {object_type} {rating_value} out of {best_rating}",
        "give {object_name} {rating_value} {rating_unit}",
        "give {object_select} {object_part_of_series_type} a {rating_value} out of {best_rating}",
        "rate {object_name} {rating_value} {rating_unit}",
    ),
    "SearchCreativeWork": (
        "find the {object_type} called {object_name}",
        "search for a {object_type} named {object_name}",
        "i am looking for the {object_type} {object_name}",
    ),
    "SearchScreeningEvent": (
        "find {object_type} for {movie_name} {timeRange}",
        "when is {movie_name} playing at {location_name}",
        "show me {movie_type} at the {object_location_type} {timeRange}",
        "what {movie_type} are showing at {location_name} {timeRange}",
    ),
}

VALUES: dict[str, tuple[str, ...]] = {
    "artist": (
        "taylor swift",
        "miles davis",
        "norah jones",
        "bob marley",
        "johnny cash",
        "ella fitzgerald",
        "elton john",
        "nina simone",
        "frank sinatra",
        "david bowie",
        "stevie wonder",
        "neil young",
    ),
    "album": ("abbey road", "thriller", "purple rain", "back in black", "rumours", "kind of blue", "born to run"),
    "track": (
        "yellow submarine",
        "hey jude",
        "wonderwall",
        "let it be",
        "imagine",
        "respect",
        "my way",
        "hallelujah",
        "fly me to the moon",
    ),
    "service": ("spotify", "youtube", "deezer", "pandora", "itunes", "soundcloud"),
    "music_item": ("song", "track", "album", "tune", "soundtrack"),
    "genre": ("jazz", "rock", "blues", "pop", "folk", "soul", "reggae", "country", "hip hop", "classical"),
    "year": ("the sixties", "the seventies", "the eighties", "nineteen ninety five", "twenty ten"),
    "sort": ("newest", "most popular", "top", "latest", "best"),
    "playlist": (
        "chill out",
        "road trip",
        "morning coffee",
        "workout hits",
        "sleep sounds",
        "dinner party",
        "rainy day",
        "summer vibes",
    ),
    "playlist_owner": ("my", "our"),
    "city": (
        "london",
        "paris",
        "boston",
        "chicago",
        "denver",
        "seattle",
        "madrid",
        "tokyo",
        "berlin",
        "dallas",
        "toronto",
        "sydney",
    ),
    "state": ("texas", "ohio", "oregon", "florida", "nevada", "utah", "maine", "georgia"),
    "country": ("france", "spain", "canada", "japan", "brazil", "kenya", "norway", "peru"),
    "timeRange": (
        "tomorrow",
        "tonight",
        "this weekend",
        "next week",
        "on monday",
        "at noon",
        "this evening",
        "on friday",
    ),
    "condition_description": ("rain", "snow", "fog", "sunshine", "wind", "hail"),
    "condition_temperature": ("hot", "cold", "warm", "freezing", "chilly"),
    "spatial_relation": ("near", "close to", "around", "next to"),
    "party_size_number": ("two", "three", "four", "five", "six", "eight", "ten"),
    "restaurant_type": ("restaurant", "bar", "pub", "cafe", "diner", "bistro", "steakhouse"),
    "restaurant_name": ("the golden dragon", "blue moon", "chez marie", "little italy", "the olive tree"),
    "cuisine": ("italian", "mexican", "indian", "thai", "french", "greek", "chinese", "korean"),
    "served_dish": ("pizza", "sushi", "pasta", "tacos", "noodles", "curry", "burgers", "dumplings"),
    "object_name": (
        "the hobbit",
        "moby dick",
        "pride and prejudice",
        "the great gatsby",
        "war and peace",
        "little women",
        "dracula",
        "the odyssey",
    ),
    "object_type": ("book", "novel", "textbook", "essay"),
    "object_select": ("this", "the current", "that"),
    "object_part_of_series_type": ("series", "saga", "trilogy"),
    "rating_value": ("one", "two", "three", "four", "five", "zero"),
    "best_rating": ("five", "six", "ten"),
    "rating_unit": ("stars", "points"),
    "movie_name": (
        "the lion king",
        "star wars",
        "jaws",
        "casablanca",
        "titanic",
        "the matrix",
        "finding nemo",
        "rocky",
    ),
    "movie_type": ("animated movies", "films", "movies", "documentaries"),
    "location_name": ("grand cinema", "regal theater", "star cinemas", "palace theatre", "cinema city"),
    "object_location_type": ("movie theatre", "cinema", "movie house"),
}
# Slot pools that depend on the intent (what is "searched" or "found" differs).
INTENT_VALUES: dict[str, dict[str, tuple[str, ...]]] = {
    "SearchCreativeWork": {
        "object_type": ("song", "movie", "game", "tv show", "book", "painting", "soundtrack"),
        "object_name": (
            "the wild robot",
            "blue planet",
            "the last of us",
            "starry night",
            "dune",
            "the dark side of the moon",
            "mad men",
        ),
    },
    "SearchScreeningEvent": {"object_type": ("movie schedules", "movie times", "showtimes")},
}
PLACEHOLDER = re.compile(r"^\{(\w+)\}$")


def templates() -> list[tuple[str, str]]:
    """Every (intent, template), in a fixed order."""
    return [(intent, template) for intent, items in TEMPLATES.items() for template in items]


def fill_template(rng: np.random.Generator, intent: str, template: str) -> tuple[list[str], list[str]]:
    """Lower-case words of one command and their tags (slot type or `O`), one per word."""
    words: list[str] = []
    tags: list[str] = []
    for token in template.split(" "):
        match = PLACEHOLDER.match(token)
        if match is None:
            words.append(token)
            tags.append("O")
            continue
        slot = match.group(1)
        pool = INTENT_VALUES.get(intent, {}).get(slot, VALUES[slot])
        value = str(pool[rng.integers(len(pool))]).split(" ")
        words += value
        tags += [slot] * len(value)
    return words, tags


def speakers(split: str, count: int) -> list[tuple[str, str]]:
    """The first `count` (name, gender) of SUPERB's speakers for `split`."""
    if count > len(SPEAKERS[split]):
        raise DpbenchError(
            f"snips: {count} {split} speakers asked, but SUPERB's {split} list has "
            f"{len(SPEAKERS[split])}; lower snips_speakers in dpbench/data/synth/sizes.py"
        )
    return list(SPEAKERS[split][:count])


def plan(spec: SizeSpec, seed: int) -> list[Job]:
    rng = np.random.default_rng([seed, 6])
    order = [templates()[i] for i in rng.permutation(len(templates()))]
    used: list[tuple[str, str]] = []
    jobs: list[Job] = []
    for split, n_speakers, n_utterances in zip(SPLITS, spec.snips_speakers, spec.snips_utterances):
        index = 0
        for name, gender in speakers(split, n_speakers):
            voice = sample_voice(rng, gender=gender)
            for _ in range(n_utterances):
                if split == "train":  # cycle through every template so train covers every slot type
                    intent, template = order[index % len(order)]
                    used.append((intent, template))
                else:
                    intent, template = used[rng.integers(len(used))]
                words, tags = fill_template(rng, intent, template)
                uid = f"{name}-snips-{split}-{index}"
                relpath = f"{split}/{uid}.wav"
                jobs.append(
                    SpeechJob(
                        relpath=relpath,
                        text=" ".join(words),
                        voice=voice.jittered(rng),
                        channel=light_channel(rng),
                        seed=file_seed(seed, relpath),
                        meta={"split": split, "speaker": name, "uid": uid, "intent": intent, "tags": tags},
                    )
                )
                index += 1
    return jobs


def transcript_line(uid: str, words: Sequence[str], tags: Sequence[str], intent: str) -> str:
    """One `all.iob.snips.txt` line: `<uid> BOS WORDS EOS<TAB>O TAGS <intent>`."""
    return f"{uid} BOS {' '.join(words).upper()} EOS\tO {' '.join(tags)} {intent}"


def finalize(root: Path, rendered: Sequence[Rendered]) -> None:
    jobs = sorted((item.job for item in rendered), key=lambda job: job.meta["uid"])
    lines = [
        transcript_line(job.meta["uid"], job.text.split(" "), job.meta["tags"], job.meta["intent"]) for job in jobs
    ]
    atomic_write_text(root / TRANSCRIPTS, "\n".join(lines) + "\n")
    slot_types = sorted({tag for job in jobs for tag in job.meta["tags"]} - {"O"})
    atomic_write_text(root / SLOTS, "\n".join(["O", *slot_types]) + "\n")
