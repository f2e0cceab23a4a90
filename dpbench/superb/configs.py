"""Loading the downstream configs shipped in the package (`dpbench/superb/downstream_configs/`), filling
them in, and hashing them."""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path
from typing import Any

import yaml

from dpbench.errors import DpbenchError
from dpbench.scales import SCALES

CONFIG_DIR = Path(__file__).resolve().parent / "downstream_configs"  # shipped in the package


def load_config(stem: str, scale: str, config_dir: Path = CONFIG_DIR) -> tuple[dict, dict]:
    """Return (s3prl config, dpbench settings) from `<stem>_<scale>.yaml`."""
    path = Path(config_dir) / f"{stem}_{scale}.yaml"
    if not path.is_file():
        raise DpbenchError(f"no downstream config {path}: pick --scale from {SCALES} or add that file")
    with open(path, encoding="utf-8") as handle:
        config = yaml.safe_load(handle) or {}
    settings = config.pop("dpbench", {}) or {}
    return config, settings


def set_key(config: dict, dotted: str, value: Any) -> dict:
    """Set `a.b.c` in a nested dict (creating levels) and return the dict."""
    *parents, last = dotted.split(".")
    node = config
    for key in parents:
        node = node.setdefault(key, {})
    node[last] = value
    return config


def get_key(config: dict, dotted: str) -> Any:
    """Read `a.b.c` from a nested dict."""
    node = config
    for key in dotted.split("."):
        node = node[key]
    return node


def config_hash(config: dict) -> str:
    """Short content hash of a config (JSON with sorted keys)."""
    text = json.dumps(config, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def with_paths(config: dict, paths: dict[str, Any]) -> dict:
    """A deep copy of `config` with each dotted key in `paths` set."""
    config = copy.deepcopy(config)
    for dotted, value in paths.items():
        set_key(config, dotted, str(value) if isinstance(value, Path) else value)
    return config


def write_yaml(path: Path, data: dict) -> None:
    """Write YAML atomically."""
    from dpbench.io_utils import atomic_write_text

    atomic_write_text(path, yaml.safe_dump(data, sort_keys=False))
