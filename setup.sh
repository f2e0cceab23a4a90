#!/usr/bin/env bash
# Set up dpbench on a fresh Debian machine: system packages, then a venv with pinned Python packages.
# Idempotent: re-running it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")"

need_apt=()
for pkg in espeak-ng sox libsox-dev libsox-fmt-all ffmpeg chromium; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need_apt+=("$pkg")
done
for pkg in slurm-wlm munge; do  # the one-node Slurm cluster that tests/test_slurm_plan.py starts
  dpkg -s "$pkg" >/dev/null 2>&1 || need_apt+=("$pkg")
done
if [ ${#need_apt[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}"
fi

PYTHON="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q "pip<24.1"  # catalyst 22.4 (imported by s3prl KS) has metadata newer pips reject
# torch first, pinned: s3prl needs torchaudio 2.8 (2.9 removed sox_effects / info / set_audio_backend).
.venv/bin/python -m pip install -q "torch==2.8.0" "torchaudio==2.8.0"
.venv/bin/python -m pip install -q -e ".[test,lint]"
echo "dpbench is set up: activate with 'source .venv/bin/activate'"
