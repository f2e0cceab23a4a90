#!/usr/bin/env bash
# Re-run every benchmark whose figure README.md quotes, with the README's command, logging each to
# LOGS/<name>.txt. Usage (from the repository root, after `dpbench demo` for the inference table):
#   bash benchmarks/run_all.sh [LOGS=runs/benchmarks] [DEMO=runs/demo] [CORPUS=runs/demo/corpus: the demo's corpus root]
# Benchmarks whose inputs are missing (no demo run, no corpus, no pyannote environment) are skipped
# with a note. On a shared machine read the ratios (contenders are interleaved), not the seconds.
set -euo pipefail
LOGS=${1:-runs/benchmarks}
DEMO=${2:-runs/demo}
CORPUS=${3:-}
PY=${PYTHON:-python}
mkdir -p "$LOGS"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"

run() {  # run NAME ARGS...: one benchmark, stdout and stderr to LOGS/NAME.txt
  local name=$1; shift
  echo "== $name: $*"
  if "$@" >"$LOGS/$name.txt" 2>&1; then tail -n 25 "$LOGS/$name.txt"; else echo "FAILED (see $LOGS/$name.txt)"; fi
}

run model "$PY" benchmarks/bench_model.py --repeats 3 --threads 1
run compress_step "$PY" benchmarks/bench_compress_step.py --config base --threads 1
run compress_step_bf16 "$PY" benchmarks/bench_compress_step.py --config base --threads 1 --precision bf16
run target_accuracy "$PY" benchmarks/bench_target_accuracy.py
run efficiency "$PY" benchmarks/bench_efficiency.py --seconds 2 --rounds 5
run conv_front_end "$PY" benchmarks/bench_conv_front_end.py --threads 2 --repeats 7
run align "$PY" benchmarks/bench_align.py --threads 1 --batch 8 1 --seconds 2 --repeats 5 --clock cpu \
  --align conv=32,ffn=8 conv=64,ffn=32
run align_wall "$PY" benchmarks/bench_align.py --threads 2 --batch 8 --seconds 2 --repeats 7 \
  --align conv=32,ffn=8 conv=64,ffn=32
run align_wall_b1 "$PY" benchmarks/bench_align.py --threads 2 --batch 8 1 --seconds 2 --repeats 9 \
  --align conv=32,ffn=8 conv=64,ffn=32
run precision "$PY" benchmarks/bench_precision.py --config tiny --repeats 3 --stage1-steps 40 --stage2-steps 10
run onnx "$PY" benchmarks/bench_onnx.py --seconds 4 --repeats 5 --threads 1 --clock cpu
run train_step_tiny "$PY" benchmarks/bench_train_step.py --shape tiny --repeats 7 --memory
run train_step_tiny_cpu "$PY" benchmarks/bench_train_step.py --shape tiny --repeats 15 --clock cpu
run train_step_base_all "$PY" benchmarks/bench_train_step.py --shape base --repeats 5 --clock cpu --memory
run train_step_base "$PY" benchmarks/bench_train_step.py --shape base --repeats 3 --clock cpu --memory \
  --contenders torchaudio "dpbench eager" "dpbench compiled"
run train_step_base_compiled "$PY" benchmarks/bench_train_step.py --shape base --repeats 3 --clock cpu \
  --contenders torchaudio "torchaudio compiled" "dpbench compiled"
run importer_parity "$PY" benchmarks/importer_parity.py
run gpu_hours "$PY" benchmarks/estimate_gpu_hours.py --repeats 3
run cli_import "$PY" benchmarks/bench_cli_import.py --rounds 5 --top 5
run espeak_repeat "$PY" benchmarks/espeak_repeat.py --calls 400 --parallel 4
run espeak_repeat_plain "$PY" benchmarks/espeak_repeat.py --calls 40 --parallel 4 --plain
if compgen -G "$DEMO/models/*.pt" >/dev/null; then
  run inference "$PY" benchmarks/bench_inference.py tiny-hubert "$DEMO"/models/*.pt --threads 1
else
  echo "== inference: skipped (no $DEMO/models/*.pt: run dpbench demo first)"
fi
if [[ -n "$CORPUS" ]]; then
  run probe_teacher "$PY" benchmarks/probe_teacher.py "$CORPUS" --per-class 70 --speakers 40
else
  echo "== probe_teacher: skipped (give a corpus as the third argument)"
fi
if "$PY" -c "import pyannote.metrics" 2>/dev/null; then
  run der_pyannote "$PY" benchmarks/check_der_pyannote.py --trials 200
else
  echo "== der_pyannote: skipped (needs pyannote.metrics: see the script's docstring)"
fi
