"""How long `dpbench --help` and the help of its heaviest commands take, and which imports the time goes to.

Each command runs in a fresh child process (`python -m dpbench ... --help`, with this checkout first on
PYTHONPATH), after one untimed warm-up round; the commands, and `python -c pass` (the interpreter's own
start-up), are interleaved round by round and the median wall time is reported. One more run per command
under `python -X importtime` gives the breakdown: the other packages (torch, s3prl, ...) that dpbench's own
modules import, by cumulative import time, and which dpbench module imported each first: what a lazier
import would save.

    python benchmarks/bench_cli_import.py --rounds 7 --top 8
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STARTUP = "python -c pass"  # the interpreter's own start-up: the floor under every command
COMMANDS = {
    STARTUP: ["-c", "pass"],
    "dpbench --help": ["-m", "dpbench", "--help"],
    "dpbench superb --help": ["-m", "dpbench", "superb", "--help"],
    "dpbench compress --help": ["-m", "dpbench", "compress", "--help"],
}


@dataclass
class Import:
    """One line of `-X importtime`: a module, its own and cumulative import time (microseconds), its
    nesting depth, and the modules its import triggered."""

    module: str
    self_us: int
    cumulative_us: int
    depth: int
    children: list[Import] = field(default_factory=list)


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


def run_child(arguments: list[str], importtime: bool = False) -> tuple[float, str]:
    """Wall seconds of one `python ARGS` in a child process, and its stderr."""
    command = [sys.executable, *(["-X", "importtime"] if importtime else []), *arguments]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=child_env(), cwd=ROOT)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return elapsed, done.stderr


def parse_importtime(stderr: str) -> list[Import]:
    """The import tree of a `-X importtime` run: its top-level imports, each with its children. Python
    prints a module after the modules its import triggered, one nesting level deeper."""
    pending: list[Import] = []
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "[us]" in line:
            continue
        self_us, cumulative_us, name = line[len("import time:") :].split("|", 2)
        item = Import(name.strip(), int(self_us), int(cumulative_us), (len(name) - len(name.lstrip(" ")) - 1) // 2)
        while pending and pending[-1].depth > item.depth:
            item.children.insert(0, pending.pop())
        pending.append(item)
    return pending


def own_module(name: str) -> bool:
    return name == "dpbench" or name.startswith(("dpbench.", "upstreams"))


def outside_imports(roots: list[Import], chain: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Import]]:
    """Every import of another package that dpbench's own modules (or the interpreter) asked for, with the
    chain of dpbench modules that led to it: what dpbench could defer."""
    found = []
    for item in roots:
        if own_module(item.module):
            found.extend(outside_imports(item.children, (*chain, item.module)))
        else:
            found.append((chain, item))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=7, help="timed rounds (after one warm-up round)")
    parser.add_argument("--top", type=int, default=8, help="packages listed per command")
    args = parser.parse_args()

    for arguments in COMMANDS.values():  # warm-up: page cache, .pyc files
        run_child(arguments)
    times: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for _ in range(args.rounds):
        for name, arguments in COMMANDS.items():
            times[name].append(run_child(arguments)[0])

    print(f"Python {sys.version.split()[0]}, median of {args.rounds} runs each, interleaved\n")
    startup = statistics.median(times[STARTUP])
    print("| command | wall time (median) | min | max | beyond interpreter start-up |")
    print("|---|---|---|---|---|")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"| `{name}` | {median:.3f} s | {min(values):.3f} s | {max(values):.3f} s | {median - startup:.3f} s |")

    for name, arguments in COMMANDS.items():
        if name == STARTUP:
            continue
        imports = outside_imports(parse_importtime(run_child(arguments, importtime=True)[1]))
        by_package: dict[str, tuple[int, tuple[str, ...]]] = {}
        for chain, item in imports:
            package = item.module.split(".")[0]
            spent, first_chain = by_package.get(package, (0, chain))
            by_package[package] = (spent + item.cumulative_us, first_chain)
        total = sum(spent for spent, _ in by_package.values())
        print(
            f"\n`{name}`: imports of other packages total {total / 1e6:.3f} s under -X importtime "
            "(which adds overhead of its own)\n"
        )
        print("| package | cumulative import time | first imported through |")
        print("|---|---|---|")
        ranked = sorted(by_package.items(), key=lambda entry: -entry[1][0])[: args.top]
        for package, (spent, chain) in ranked:
            print(f"| `{package}` | {spent / 1e3:.0f} ms | {' > '.join(chain) or '(interpreter start-up)'} |")


if __name__ == "__main__":
    main()
