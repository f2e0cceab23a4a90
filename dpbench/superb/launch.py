"""Entry point of every s3prl subprocess: registers the dpbench upstream, then hands over to s3prl.

    python -m dpbench.superb.launch runner  <run_downstream.py arguments>
    python -m dpbench.superb.launch problem <module:Class> <config.yaml>
"""

from __future__ import annotations

import importlib
import os
import sys

from dpbench.superb import checkpoints, compat

# The folder an evaluation writes to. It reaches s3prl this way, not as `-o args.expdir='...'`, because
# s3prl's override parser eval()s values: a quote in the path would run code, an `=` would break it.
EXPDIR_ENV = "DPBENCH_EXPDIR"


def _device(argv: list[str]) -> str:
    return argv[argv.index("--device") + 1] if "--device" in argv else "cuda"


def run_legacy(argv: list[str]) -> None:
    """s3prl's legacy runner (`run_downstream.py`), the SUPERB-paper protocol."""
    compat.apply(_device(argv))
    from upstreams.dpbench.hubconf import register

    register()
    _redirect_sid_cache()
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


def _redirect_sid_cache() -> None:
    """s3prl's voxceleb1 dataset caches file lists in its package folder regardless of the corpus;
    `DPBENCH_VOXCELEB1_CACHE` moves that cache into the run folder."""
    cache = os.environ.get("DPBENCH_VOXCELEB1_CACHE")
    if cache:
        import s3prl.downstream.voxceleb1.dataset as voxceleb1_dataset

        voxceleb1_dataset.CACHE_PATH = cache


def run_problem(target: str, config_path: str) -> None:
    """An `s3prl.problem` recipe (or a dpbench subclass of one) with a full YAML config."""
    import yaml
    from omegaconf import OmegaConf

    with open(config_path, encoding="utf-8") as handle:
        overrides = yaml.safe_load(handle)
    compat.apply(overrides.get("device", "cuda"))
    from upstreams.dpbench.hubconf import register

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
