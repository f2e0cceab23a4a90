"""The `dpbench` s3prl upstream, in s3prl's layout (`expert.py`, `hubconf.py`); both re-export the packaged
entry in `dpbench.superb.backend.upstream`."""
