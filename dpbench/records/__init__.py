"""The records passed between dpbench's parts, each defined once for its writer and its readers.

- `compress_summary.CompressionSummary`: RUN/summary.json, written by `dpbench compress`, read by the report.
- `train_log.TrainLogRow`: one row of RUN/train_log.csv, written each optimizer step, read by the report.
- `superb_result.SuperbResult`: one SUPERB result, in RUN/result.json and the results store.

Every file carries a `schema_version` (`schema.VERSION_KEY`); one without it was written before versions
and reads as version 1. Readers check the version and every field's type (`schema.parse`) and raise a
DpbenchError naming the file and the field. This package imports nothing heavy (no torch, no pandas)."""
