"""The import-time benchmark's reading of `python -X importtime` (benchmarks/bench_cli_import.py)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_cli_import.py"


def load_benchmark():
    spec = importlib.util.spec_from_file_location("bench_cli_import", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve the module's annotations through sys.modules
    spec.loader.exec_module(module)
    return module


def test_tree_of_a_real_importtime_run() -> None:
    bench = load_benchmark()
    stderr = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import json"], capture_output=True, text=True, check=True
    ).stderr
    roots = bench.parse_importtime(stderr)
    json_root = next(item for item in roots if item.module == "json")
    assert "json.decoder" in {child.module for child in json_root.children}
    assert all(item.depth == 0 for item in roots)
    assert json_root.cumulative_us >= sum(child.cumulative_us for child in json_root.children)


def test_outside_imports_follow_dpbench_modules_only() -> None:
    bench = load_benchmark()
    stderr = "\n".join(
        [
            "import time: self [us] | cumulative | imported package",
            "import time:        50 |         50 |       torch._C",
            "import time:       900 |        950 |     torch",
            "import time:        20 |        970 |   dpbench.compress.distill",
            "import time:        10 |        980 | dpbench.compress.config",
            "import time:        30 |         30 | click",
        ]
    )
    found = bench.outside_imports(bench.parse_importtime(stderr))
    assert [(chain, item.module, item.cumulative_us) for chain, item in found] == [
        (("dpbench.compress.config", "dpbench.compress.distill"), "torch", 950),
        ((), "click", 30),
    ]
