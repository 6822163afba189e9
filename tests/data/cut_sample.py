"""Cut the in-repository data sample (tests/data/sample) from a full offline task bundle.

    python tests/data/cut_sample.py FULL_BUNDLE [--out tests/data/sample]

FULL_BUNDLE holds one folder per task ({split}.jsonl and meta.json, the format of
tests/data/README.md). Each split keeps a seeded random sample of its rows in their original
order, so the sample is a subset of the bundle, line for line; meta.json is copied with the new
sizes and label counts and a `sample` entry saying what was cut from what.
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

# Rows kept per split: enough for the tests and the tiny study (200 train + 40 dev, 60 validation)
# and the demo; SST-2 more, for the MiniLM training test (1000 train + 200 dev). Long documents
# (IMDB reviews, movie rationales, SAMSum dialogues) fewer, to keep the sample small.
DEFAULT = {"train": 300, "validation": 100, "test": 100}
ROWS = {
    "sst2": {"train": 1250, "validation": 100},
    "imdb": {"train": 150, "validation": 60},
    "movierationales": {"train": 100, "validation": 40, "test": 40},
    "samsum": {"train": 150, "validation": 60},
}
SEED = 0


def cut_split(lines: list[str], n: int, seed: int) -> list[str]:
    """n of the lines drawn at random, in the order they had."""
    if len(lines) <= n:
        return lines
    keep = sorted(random.Random(seed).sample(range(len(lines)), n))
    return [lines[i] for i in keep]


def cut_task(source: Path, out: Path) -> dict:
    meta = json.loads((source / "meta.json").read_text())
    out.mkdir(parents=True, exist_ok=True)
    sizes, label_counts = {}, {}
    for path in sorted(source.glob("*.jsonl")):
        split = path.stem
        lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
        kept = cut_split(lines, ROWS.get(source.name, DEFAULT).get(split, DEFAULT[split]), SEED)
        (out / path.name).write_text("".join(kept), encoding="utf-8")
        sizes[split] = (len(kept), len(lines))
        if meta.get("labels"):
            counts = [0] * len(meta["labels"])
            for line in kept:
                counts[json.loads(line)["label"]] += 1
            label_counts[split] = counts
    for split, (kept, _) in sizes.items():
        meta[f"n_{split}"] = kept
    if label_counts:
        meta["label_counts"] = label_counts
    meta["sample"] = {
        "of": {split: full for split, (_, full) in sizes.items()},
        "how": f"random.Random({SEED}).sample of line numbers per split, original order kept (tests/data/cut_sample.py)",
    }
    (out / "meta.json").write_text(json.dumps(meta, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return {split: kept for split, (kept, _) in sizes.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bundle", type=Path, help="the full offline bundle: one folder per task")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "sample")
    args = parser.parse_args()
    for task in sorted(p for p in args.bundle.iterdir() if (p / "meta.json").is_file()):
        print(task.name, cut_task(task, args.out / task.name))


if __name__ == "__main__":
    main()
