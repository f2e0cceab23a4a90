"""Running one SUPERB task end to end: prepare, train and evaluate in s3prl subprocesses, record."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock, Timeout

from dpbench.errors import DpbenchError
from dpbench.io_utils import atomic_write_json, make_dirs
from dpbench.records.superb_result import SuperbResult, read_result
from dpbench.results import RecordFolder, ResultsStore, open_store
from dpbench.stats import interval
from dpbench.superb import launching
from dpbench.superb.configs import CONFIG_DIR, config_hash, get_key, load_config, set_key
from dpbench.superb.items import ITEMS_FILE, read_items
from dpbench.superb.tasks.base import RunRequest, Stage, Task
from dpbench.superb.tasks.problem_task import ProblemTask
from dpbench.superb.upstream_spec import UpstreamSpec, complexity, fingerprint

# A stage whose s3prl process dies of one of these signals (a crash in native code: libsox's `silence`
# effect, which s3prl's ASV applies to every file, corrupts the heap on rare inputs) runs again, once, as
# rerunning the command would; any other failure, and a second crash, stop the run.
NATIVE_CRASH_SIGNALS = {signal.SIGABRT, signal.SIGSEGV, signal.SIGBUS}
NATIVE_CRASH_RETRIES = 1


@dataclass
class RunOptions:
    """Everything `dpbench superb` was asked besides the task and learning rate."""

    upstream: UpstreamSpec
    data_root: Path
    out_root: Path
    device: str = "cpu"
    scale: str = "cpu"
    store: Path = Path("results/superb.jsonl")
    config_dir: Path = CONFIG_DIR
    quiet: bool = False
    folds: list[str] | None = None  # ER's session folds to average; None: the config's
    seed: int | None = None  # downstream training seed; None: s3prl's default (runner 1337, problem API 0)


def run_dir_for(options: RunOptions, task: Task, lr: float, variant: str = "") -> Path:
    seed = f"-seed{options.seed}" if options.seed is not None and task.trains else ""
    return options.out_root / options.upstream.run_folder / task.name / f"lr{lr:g}{variant}{seed}"


def _seed_config(task: Task, config: dict, seed: int | None) -> None:
    """Problem-API recipes take their seed from the config (`train.seed`); the legacy runner from `--seed`."""
    if seed is not None and isinstance(task, ProblemTask):
        set_key(config, "train.seed", seed)


def _seed_stages(stages: list[Stage], seed: int | None) -> None:
    if seed is not None:
        for stage in stages:
            if stage.argv[:1] == ["runner"]:
                stage.argv += ["--seed", str(seed)]


def run_task(task: Task, options: RunOptions, lr: float | None) -> dict:
    """Run (or resume) one task at one learning rate; return its results record."""
    config, settings = load_config(task.stem, options.scale, options.config_dir)
    variant = ""
    if options.folds and "folds" in task.options and options.folds != settings.get("folds"):
        settings["folds"] = list(options.folds)
        variant = "-folds" + "".join(fold.removeprefix("fold") for fold in options.folds)
    lr = float(get_key(config, task.lr_key) if lr is None else lr)
    set_key(config, task.lr_key, lr)
    _seed_config(task, config, options.seed if task.trains else None)
    digest = config_hash({"task": task.name, "config": config, "settings": settings})
    run_dir = run_dir_for(options, task, lr, variant)
    created = make_dirs(run_dir)
    try:
        with FileLock(str(run_dir / ".lock"), timeout=0):
            return _run_locked(task, options, lr, config, settings, digest, run_dir)
    except Timeout:
        raise DpbenchError(
            f"another `dpbench superb` is running in {run_dir}: wait for it, or pass another --out"
        ) from None
    except DpbenchError:
        if not (run_dir / "stage_times.json").exists():  # failed before any s3prl stage: leave nothing behind
            for folder in created:
                shutil.rmtree(folder, ignore_errors=True)
        raise


def _run_locked(
    task: Task, options: RunOptions, lr: float, config: dict, settings: dict, digest: str, run_dir: Path
) -> dict:
    store = open_store(options.store)
    hash_path = run_dir / "config_hash"
    if hash_path.is_file() and hash_path.read_text().strip() != digest:
        raise DpbenchError(
            f"{run_dir} holds a run of another config ({hash_path}): pass another --out or delete that folder"
        )
    hash_path.write_text(digest + "\n")
    upstream_hash = _check_upstream(run_dir, options.upstream)
    result_path = run_dir / "result.json"
    if result_path.is_file():
        record = read_result(result_path).to_json()
        _ensure_recorded(store, record, task)
        _say(f"[dpbench] {task.name} lr={lr:g}: already finished in {run_dir}")
        return record
    request = RunRequest(options.upstream, Path(options.data_root).resolve(), run_dir, options.device)
    start = time.time()
    filled = task.prepare(request, config, settings)
    prepare_s = time.time() - start
    stages = task.stages(request, filled, settings)
    _seed_stages(stages, options.seed if task.trains else None)
    for index, stage in enumerate(stages, 1):
        _run_stage(stage, run_dir, options, f"{task.name} lr={lr:g} [{index}/{len(stages)}]")
        _check_upstream(run_dir, options.upstream)
    outcome = task.outcome(request, filled, settings)
    params, macs = complexity(options.upstream)
    items = read_items(task.name, run_dir, filled, settings, outcome.value)
    if items is not None:
        items.save(run_dir / ITEMS_FILE)
    low, high = interval(items) if items is not None else (None, None)
    record = SuperbResult(
        task=task.name,
        metric=task.metric,
        value=outcome.value,
        dev_value=outcome.dev_value,
        higher_is_better=task.higher_is_better,
        upstream=options.upstream.name,
        upstream_path=options.upstream.source,
        upstream_sha256=upstream_hash,
        params=params,
        macs=macs,
        lr=lr,
        seed=options.seed if task.trains else None,
        ci_low=low,
        ci_high=high,
        n_items=len(items.ids) if items is not None else None,
        items_path=str(run_dir / ITEMS_FILE) if items is not None else None,
        steps=int(get_key(config, task.steps_key)),
        scale=options.scale,
        device=options.device,
        wall_time_s=round(prepare_s + _stage_time(run_dir), 1),
        config_hash=digest,
        run_dir=str(run_dir),
        timestamp=time.time(),
        details=outcome.details or None,
        secondary=outcome.secondary or None,
    ).to_json()
    atomic_write_json(result_path, record)
    _ensure_recorded(store, record, task)
    _say(f"[dpbench] {task.name} lr={lr:g}: {task.metric} {outcome.value:.2f} (dev {outcome.dev_value:.2f})")
    return record


def _check_upstream(run_dir: Path, upstream: UpstreamSpec) -> str | None:
    """Pin the upstream checkpoint's content hash to the run folder; refuse to go on if it changed."""
    current = fingerprint(upstream)
    path = run_dir / "upstream_sha256"
    if path.is_file():
        pinned = path.read_text().strip()
        if current != (pinned or None):
            raise DpbenchError(
                f"the upstream {upstream.source!r} changed since this run started (hash {pinned} "
                f"in {path}, now {current}): its checkpoint was replaced, so training and testing "
                "would use different models. Delete the run folder (or pass another --out) to start over"
            )
    else:
        path.write_text((current or "") + "\n")
    return current


def _ensure_recorded(store: ResultsStore | RecordFolder, record: dict, task: Task) -> None:
    """Append `record`, and one record per secondary metric, unless the store already holds them
    (a resumed run killed after writing result.json)."""
    held = {(r.get("run_dir"), r.get("timestamp"), r.get("metric")) for r in store}
    for item in _metric_records(record, task):
        if (item["run_dir"], item["timestamp"], item["metric"]) not in held:
            store.append(item)


def _metric_records(record: dict, task: Task) -> list[dict]:
    """The run's record, then a copy per secondary metric (SF's CER) carrying that metric's value."""
    primary = {key: value for key, value in record.items() if key != "secondary"}
    extra = [
        {
            **primary,
            "metric": name,
            "value": value,
            "dev_value": None,
            "higher_is_better": task.secondary_metrics[name],
            "ci_low": None,
            "ci_high": None,
            "n_items": None,
            "items_path": None,
        }  # the items are the primary's
        for name, value in record.get("secondary", {}).items()
    ]
    return [primary, *extra]


def _stage_time(run_dir: Path) -> float:
    """Seconds spent in s3prl subprocesses, interrupted attempts included."""
    path = run_dir / "stage_times.json"
    return sum(json.loads(path.read_text()).values()) if path.is_file() else 0.0


def _run_stage(stage: Stage, run_dir: Path, options: RunOptions, label: str) -> None:
    """Run one s3prl subprocess unless its done-marker exists; its output goes to `<stage>.log`."""
    marker = run_dir / f".{stage.name}.done"
    if marker.is_file():
        _say(f"[dpbench] {label} {stage.name}: done earlier, skipped")
        return
    if stage.fallback and not stage.fallback[0].exists() and stage.fallback[1].exists():
        wanted, stand_in = stage.fallback
        _say(
            f"[dpbench] {label}: no {wanted.name} (the dev metric never rose above its start), "
            f"evaluating {stand_in.name} instead, as s3prl's runner does"
        )
        stage.argv = [str(stand_in) if arg == str(wanted) else arg for arg in stage.argv]
        stage.requires = [stand_in if path == wanted else path for path in stage.requires]
    for path in stage.requires:
        if not path.exists():
            raise DpbenchError(
                f"{path} is missing, so {stage.name} cannot run: the training stage saved no "
                "dev-best checkpoint; check its log in the run folder"
            )
    run_dir.mkdir(parents=True, exist_ok=True)
    log_path = run_dir / f"{stage.name}.log"
    env = launching.child_env(options.device)
    env.update(stage.env)
    command = launching.command(stage.argv)
    for attempt in range(1 + NATIVE_CRASH_RETRIES):
        _say(f"[dpbench] {label} {stage.name}: running s3prl (log: {log_path})")
        code = _run_logged(command, run_dir, env, log_path, stage.name, options.quiet)
        if -code not in NATIVE_CRASH_SIGNALS or attempt == NATIVE_CRASH_RETRIES:
            break
        _say(
            f"[dpbench] {label} {stage.name}: s3prl died of {signal.Signals(-code).name} (a crash in native code, "
            "such as libsox's audio effects, which corrupt memory on rare inputs); running the stage again"
        )
    if code != 0:
        raise DpbenchError(
            f"s3prl {stage.name} failed (exit code {code}); see {log_path}. "
            "Fix the cause and rerun the same command: finished stages are kept"
        )
    marker.touch()


def _run_logged(command: list[str], run_dir: Path, env: dict[str, str], log_path: Path, name: str, quiet: bool) -> int:
    """Run `command` in `run_dir`, appending its output to `log_path` (and stderr unless `quiet`); its exit code."""
    start = time.time()
    with open(log_path, "ab") as log:
        log.write(("$ " + " ".join(command) + "\n").encode())
        process = subprocess.Popen(command, cwd=run_dir, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        try:
            for chunk in iter(lambda: process.stdout.read1(65536), b""):
                log.write(chunk)
                log.flush()
                if not quiet:
                    sys.stderr.buffer.write(chunk)
                    sys.stderr.flush()
            return process.wait()
        except BaseException:  # interrupted: stop s3prl too; its checkpoints let the next run resume
            process.terminate()
            process.wait()
            raise
        finally:
            _add_time(run_dir, name, time.time() - start)


def _add_time(run_dir: Path, name: str, seconds: float) -> None:
    path = run_dir / "stage_times.json"
    times = json.loads(path.read_text()) if path.is_file() else {}
    times[name] = times.get(name, 0.0) + seconds
    atomic_write_json(path, times)


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)
