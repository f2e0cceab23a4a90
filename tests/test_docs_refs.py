"""Every file of the repository that the code, tests, benchmarks and docs name exists.

A mention counts as a reference to a repository file when it is a path whose first folder is a top-level
entry of the repository (the package, tests, benchmarks, docs, reports, ...), a path inside the package
written from the package folder (a Python file under one of its subpackages), or the bare name of a
document in capitals (the README, the method description, ...). It resolves when it exists relative to
the repository root or to the folder of the file that mentions it, and stays inside the repository.
Placeholders (angle brackets, `*`, an f-string's field) match any name; braces with commas list
alternatives, each of which must exist. Paths of run outputs (a run folder's summary, a report's tables)
start elsewhere and are not references."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCANNED = [
    "dpbench",
    "tests",
    "benchmarks",
    "docs",
    "upstreams",
    "downstream_configs",
    ".ci",
    "README.md",
    "CONTRIBUTING.md",
    "pyproject.toml",
    "setup.sh",
    ".pre-commit-config.yaml",
]
TEXT_SUFFIXES = {".py", ".md", ".yaml", ".yml", ".toml", ".sh", ".txt", ""}
EXTENSIONS = "md|py|yaml|yml|json|sh|toml|png|csv|tex|html|txt|cfg"
MENTION = re.compile(rf"(?:[\w./<>*~$-]|\{{[\w,.-]+\}})+\.(?:{EXTENSIONS})(?![\w/])")
OUTSIDE = ("shared/",)  # the design notes beside the repository: not part of it, always dangling
CAPITALISED_DOC = re.compile(r"[A-Z][A-Z0-9_]*\.md")


def scanned_files() -> list[Path]:
    files = []
    for name in SCANNED:
        path = ROOT / name
        if path.is_file():
            files.append(path)
        elif path.is_dir():
            files.extend(
                p
                for p in sorted(path.rglob("*"))
                if p.is_file()
                and p.suffix in TEXT_SUFFIXES
                and "__pycache__" not in p.parts
                and not p.name.startswith(".")
            )
    return [f for f in files if f != Path(__file__).resolve()]  # this file's examples dangle on purpose


def top_level() -> set[str]:
    return {p.name for p in ROOT.iterdir() if not p.name.startswith(".git")} - {".venv", "runs", "build", "dist"}


def subpackages() -> set[str]:
    return {p.name for p in (ROOT / "dpbench").iterdir() if p.is_dir() and p.name != "__pycache__"}


def candidates(mention: str, source: Path) -> list[list[Path]] | None:
    """The paths a mention may mean, one list of alternatives per brace expansion (all must resolve);
    None when the mention is not a repository reference."""
    text = mention.rstrip(".")  # a sentence's full stop, an ellipsis
    first = text.split("/", 1)[0]
    if text.startswith("../"):
        bases = [source.parent]  # a relative link; it must stay inside the repository
    elif text.startswith(OUTSIDE):
        bases = [ROOT]
    elif "/" not in text:
        if not CAPITALISED_DOC.fullmatch(text):
            return None
        bases = [ROOT, source.parent]
    elif first in top_level():
        bases = [ROOT, source.parent]
    elif first in subpackages() and text.endswith(".py"):
        bases = [ROOT / "dpbench"]
    else:
        return None
    pattern = re.sub(r"<[^>]*>|\{[^},]*\}", "*", text)  # a placeholder, or an f-string's field
    options = [part.split(",") for part in re.findall(r"\{([^}]*)\}", pattern)]
    template = re.sub(r"\{[^}]*\}", "{}", pattern)
    expanded = [template.format(*choice) for choice in itertools.product(*options)] if options else [pattern]
    return [[base / path for base in bases] for path in expanded]


def resolves(path: Path) -> bool:
    """The path (a pattern if it holds `*`) names something that exists inside the repository."""
    matches = Path(path.anchor).glob(str(path.relative_to(path.anchor))) if "*" in str(path) else [path]
    return any(match.exists() and match.resolve().is_relative_to(ROOT) for match in matches)


def dangling_references() -> list[str]:
    problems = []
    for source in scanned_files():
        text = source.read_text(encoding="utf-8", errors="replace")
        for number, line in enumerate(text.splitlines(), 1):
            for match in MENTION.finditer(line):
                expansions = candidates(match.group(0), source)
                if expansions is None:
                    continue
                for alternatives in expansions:
                    if not any(resolves(p) for p in alternatives):
                        where = source.relative_to(ROOT)
                        problems.append(f"{where}:{number}: {match.group(0)}")
    return problems


def test_every_referenced_repository_file_exists() -> None:
    problems = dangling_references()
    assert not problems, "references to files that do not exist:\n" + "\n".join(problems)


@pytest.mark.parametrize(
    "mention, expected",
    [
        ("docs/METHOD.md", True),  # from the root
        ("GUARANTEES.md", True),  # a capitalised document, beside the mentioning file (docs/)
        ("compress/runner.py", True),  # inside the package, from the package folder
        ("tests/test_superb_{qbe,sf}.py", True),
        ("benchmarks/bench_<name>.py", True),
        ("dpbench/superb/downstream_configs/{self.stem}_*.yaml", True),
        ("NO_SUCH_DOC.md", False),
        ("docs/no_such_doc.md", False),
        ("tests/test_superb_{qbe,nothing}.py", False),
        ("../elsewhere/NOTES.md", False),
        ("../README.md", True),  # a relative link from docs/ to the root
        ("../../README.md", False),  # outside the repository, even if it exists there
    ],
)
def test_resolution_rules(mention: str, expected: bool) -> None:
    """The rules themselves, on mentions that do and do not exist, seen from a file in docs/."""
    expansions = candidates(mention, ROOT / "docs" / "ARCHITECTURE.md")
    assert expansions is not None
    assert all(any(resolves(p) for p in alternatives) for alternatives in expansions) is expected


@pytest.mark.parametrize(
    "mention",
    ["summary.json", "RUN/summary.json", "runs/demo/report/index.html", "report/efficiency.md", "ablation.md"],
)
def test_run_outputs_are_not_references(mention: str) -> None:
    assert candidates(mention, ROOT / "README.md") is None


SECTION_CITE = re.compile(r"([\w/]*[A-Z_]+\.md),? sections? (\d+(?:(?:, | and )\d+)*)")


def test_cited_sections_exist() -> None:
    """A citation such as "docs/METHOD.md section 2" names a numbered heading ("## 2. ...") of that document."""
    problems = []
    for source in scanned_files():
        for number, line in enumerate(source.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
            for match in SECTION_CITE.finditer(line):
                document = next(
                    (p for p in (ROOT / match.group(1), source.parent / match.group(1)) if p.is_file()), None
                )
                if document is None:
                    continue  # a missing document is test_every_referenced_repository_file_exists's to report
                headings = set(re.findall(r"^#+ (\d+)\.", document.read_text(encoding="utf-8"), re.MULTILINE))
                missing = [n for n in re.findall(r"\d+", match.group(2)) if n not in headings]
                if missing:
                    problems.append(
                        f"{source.relative_to(ROOT)}:{number}: {match.group(0)} (no section {', '.join(missing)})"
                    )
    assert not problems, "citations of sections that do not exist:\n" + "\n".join(problems)
