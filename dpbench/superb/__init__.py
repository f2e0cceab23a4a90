"""SUPERB evaluation through s3prl's own code, in three layers: corpus adapters (`corpora/`), the s3prl
backend (`backend/`, the only code importing s3prl), and task specs as data (`specs.py`) with the task
behaviour that runs them (`tasks/`, `run.py`, `cli.py`). See docs/ARCHITECTURE.md."""
