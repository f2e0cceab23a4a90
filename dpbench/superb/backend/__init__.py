"""The s3prl backend: the only dpbench code that imports s3prl (the AST check in
tests/test_superb_layers.py enforces it).

Importing this package applies the shims s3prl needs on dpbench's pinned stack (`shims.apply`); since
every module that imports s3prl is a submodule, Python runs this file first, so no path reaches s3prl
without them. Modules: `launch` (the s3prl subprocess entry point), `patches` (named per-task patches
that a task's stage asks for), `checkpoints` (crash-safe runner checkpoints), `problems_*` (s3prl
problem recipes with local files instead of downloads), `upstream/` (the `dpbench` hub entry),
`speech_commands`, `metrics`, `hub`, `reference_models` (s3prl code that the parent process, the
statistics and the efficiency probe call)."""

from dpbench.superb.backend import shims

shims.apply()
