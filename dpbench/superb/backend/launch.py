"""Entry point of every s3prl subprocess: registers the dpbench upstream, then hands over to s3prl.

    python -m dpbench.superb.backend.launch runner [--patch NAME=VALUE ...] <run_downstream.py arguments>
    python -m dpbench.superb.backend.launch problem <module:Class> <config.yaml>

The shims are already applied: importing `dpbench.superb.backend` applies them.
"""

from __future__ import annotations

import importlib
import os
import sys

from dpbench.superb.backend import checkpoints, patches, shims
from dpbench.superb.backend.upstream.hubconf import register
from dpbench.superb.launching import EXPDIR_ENV


def _device(argv: list[str]) -> str:
    return argv[argv.index("--device") + 1] if "--device" in argv else "cuda"


def run_legacy(argv: list[str]) -> None:
    """s3prl's legacy runner (`run_downstream.py`), the SUPERB-paper protocol."""
    shims.use_device(_device(argv))
    register()
    argv = patches.apply_requested(argv)
    from s3prl import run_downstream

    _expdir_from_env(run_downstream)
    from s3prl.downstream import runner

    checkpoints.install(runner)
    if "-p" in argv and "-a" in argv:
        checkpoints.drop_unreadable_last(argv[argv.index("-p") + 1])
    sys.argv = ["run_downstream.py", *argv]
    run_downstream.main()


def _expdir_from_env(run_downstream: object) -> None:
    """Set `args.expdir` from DPBENCH_EXPDIR once s3prl has parsed its arguments and restored a checkpoint's
    (an evaluation restores the training run's, which name the training folder)."""
    expdir = os.environ.get(EXPDIR_ENV)
    if not expdir:
        return
    parse = run_downstream.get_downstream_args

    def get_downstream_args() -> tuple:
        args, config, backup_files = parse()
        args.expdir = expdir
        os.makedirs(expdir, exist_ok=True)
        return args, config, backup_files

    run_downstream.get_downstream_args = get_downstream_args


def run_problem(target: str, config_path: str) -> None:
    """An `s3prl.problem` recipe (or a dpbench subclass of one) with a full YAML config."""
    import yaml
    from omegaconf import OmegaConf

    with open(config_path, encoding="utf-8") as handle:
        overrides = yaml.safe_load(handle)
    shims.use_device(overrides.get("device", "cuda"))
    register()
    module_name, class_name = target.split(":")
    problem = getattr(importlib.import_module(module_name), class_name)()
    config = OmegaConf.to_container(OmegaConf.merge(problem.default_config(), overrides), resolve=True)
    problem.run(**config)


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in {"runner", "problem"}:
        raise SystemExit(__doc__)
    if argv[0] == "runner":
        run_legacy(argv[1:])
    else:
        run_problem(argv[1], argv[2])


if __name__ == "__main__":
    main()
