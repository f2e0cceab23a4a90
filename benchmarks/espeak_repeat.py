"""Repeat one espeak-ng call (the first LibriSpeech file of the `small` corpus) many times, each in a
new HOME and several at once, and count the distinct outputs: 1 means synthesis is deterministic.

    python benchmarks/espeak_repeat.py --calls 400 --parallel 4 [--plain]

--plain runs espeak-ng without dpbench's environment (shows the PulseAudio effect)."""

from __future__ import annotations

import argparse
import collections
import hashlib
import os
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor

from dpbench.data.synth import librispeech
from dpbench.data.synth.render import espeak_command, espeak_env
from dpbench.data.synth.sizes import get_size


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=400)
    parser.add_argument("--parallel", type=int, default=4)
    parser.add_argument("--plain", action="store_true")
    args = parser.parse_args()
    job = librispeech.plan(get_size("small"), 0)[0]
    voice = job.voice
    command = espeak_command(job.text, voice)
    base = dict(os.environ) if args.plain else espeak_env()

    def once(_: int) -> str:
        with tempfile.TemporaryDirectory() as home:
            output = subprocess.run(command, capture_output=True, check=True, env={**base, "HOME": home}).stdout
        return hashlib.sha256(output).hexdigest()[:12]

    with ThreadPoolExecutor(args.parallel) as pool:
        counts = collections.Counter(pool.map(once, range(args.calls)))
    print(f"{job.relpath}: {args.calls} calls, {len(counts)} distinct output(s): {dict(counts.most_common(5))}")


if __name__ == "__main__":
    main()
