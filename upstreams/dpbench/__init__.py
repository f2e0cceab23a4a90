"""The `dpbench` s3prl upstream: any dpbench checkpoint, teacher checkpoint or teacher name."""
