"""The `dpbench` s3prl upstream (s3prl's own layout: `expert.py` + `hubconf.py`): any dpbench checkpoint,
teacher checkpoint or teacher name. The top-level `upstreams/dpbench/` of a source checkout re-exports it."""
