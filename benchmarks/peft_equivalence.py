"""The PEFT round trip of exported prompts, measured: each adapter folder's prompt scored by the
workflow's scorer and, on the backbone loaded again, through `PeftModel.from_pretrained`.

    python benchmarks/peft_equivalence.py --study-dir <a study with results/peft> --backbone smollm2 --tasks sst2

Prints one JSON line per adapter: the largest absolute difference of the class logits, how many
predictions agree, and the accuracy of both on the first --examples validation rows.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))

from prompt_transfer import layout  # noqa: E402
from prompt_transfer.data import read_split  # noqa: E402
from prompt_transfer.peft_io import compare_with_peft  # noqa: E402


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--study-dir", required=True)
    p.add_argument("--backbone", required=True)
    p.add_argument("--tasks", nargs="+", required=True)
    p.add_argument("--models-dir", default="results/models")
    p.add_argument("--seed", type=int, default=0, help="training seed of the exported prompts (study.seeds)")
    p.add_argument("--examples", type=int, default=64)
    p.add_argument("--threads", type=int, default=None)
    a = p.parse_args()
    study = Path(a.study_dir)
    manifest = study / layout.MODEL.format(models_dir=a.models_dir, backbone=a.backbone)
    for task in a.tasks:
        rows = read_split(study / layout.DATA_DIR.format(task=task), "validation")[: a.examples]
        adapter = study / layout.PEFT_ADAPTER.format(backbone=a.backbone, seed=a.seed, task=task)
        print(json.dumps(compare_with_peft(adapter, manifest, rows, threads=a.threads)), flush=True)


if __name__ == "__main__":
    main()
