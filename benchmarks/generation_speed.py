"""Throughput of the generation tasks' evaluation: the batched greedy decoder with the key/value
cache (generation.generate_texts, what evaluation jobs run) against a naive loop that decodes one
example at a time and recomputes the whole sequence at every step (generation.naive_generate),
with a prompt in front, and whether both write the same outputs.

    python benchmarks/generation_speed.py --data-dir tests/data/sample --backbone smollm2 --task nq_open

Rows: the cached decoder at --batch-size, the cached decoder one example at a time (the cache
alone), and the naive loop. The backbone is materialised under --models-dir when missing.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch
import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))

from prompt_transfer import backbones, config as cfg, data, specs  # noqa: E402
from prompt_transfer.study import Study  # noqa: E402
from prompt_transfer.generation import generate_texts, naive_generate  # noqa: E402
from prompt_transfer.runtime import setup_runtime  # noqa: E402
from prompt_transfer.session import Session  # noqa: E402


def arguments():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", required=True, help="task folders in the format of docs/offline-data.md")
    parser.add_argument("--backbone", default="smollm2")
    parser.add_argument("--task", default="nq_open")
    parser.add_argument("--examples", type=int, default=32, help="first N validation rows")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--prompt-length", type=int, default=20)
    parser.add_argument("--max-length", type=int, default=None, help="input token budget (default: the task's)")
    parser.add_argument("--precision", choices=["fp32", "bf16", "auto"], default="fp32")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--models-dir", default="results/models")
    parser.add_argument("--config", default=str(REPO / "config.yaml"))
    parser.add_argument("--json", help="also write the rows here")
    return parser.parse_args()


def timed(fn):
    started = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - started


def main() -> None:
    args = arguments()
    config = Study.from_config(
        cfg.load_config({**yaml.safe_load(Path(args.config).read_text()), "data_dir": args.data_dir})
    )
    backbone = specs.backbone(config, args.backbone)
    task = specs.task(config, args.task, backbone.scorer)
    manifest = Path(args.models_dir) / args.backbone / "model.json"
    if not manifest.is_file():
        backbones.materialize(backbone, manifest.parent)
    runtime = setup_runtime(args.threads, args.precision)
    max_length = args.max_length or specs.training(config, args.backbone, args.task).max_length
    scorer = Session().scorer(manifest, backbone, task, max_length, runtime)
    entry = config.task(args.task)
    rows = data.read_local_split(Path(args.data_dir) / (entry.local or args.task) / "validation.jsonl", 0,
                                 generation=True)[: args.examples]  # fmt: skip
    items = scorer.encode(rows)
    prompt = scorer.init_prompt(args.prompt_length, "vocab", torch.Generator().manual_seed(0)).to(runtime.device)

    batched, batched_s = timed(lambda: generate_texts(scorer, prompt, items, args.batch_size, runtime))
    single, single_s = timed(lambda: generate_texts(scorer, prompt, items, 1, runtime))
    with runtime.autocast():
        naive, naive_s = timed(lambda: scorer.decode([naive_generate(scorer, prompt, x) for x in items]))
    results = [
        ("cached, batched", args.batch_size, batched_s, batched),
        ("cached, one at a time", 1, single_s, single),
        ("naive (no cache, one at a time)", 1, naive_s, naive),
    ]
    table = [
        {
            "decoder": name,
            "batch": batch,
            "examples": len(items),
            "seconds": round(seconds, 2),
            "examples_per_s": round(len(items) / seconds, 2),
            "speedup_over_naive": round(naive_s / seconds, 2),
            "outputs_identical_to_naive": sum(a == b for a, b in zip(texts, naive)),
        }
        for name, batch, seconds, texts in results
    ]
    print(f"{args.backbone} on {args.task}: {len(items)} examples, prompt length {args.prompt_length}, "
          f"input budget {max_length}, cap {scorer.max_new_tokens} tokens, {args.precision}, {args.threads} threads")  # fmt: skip
    print(json.dumps(table, indent=1))
    print(f"first outputs: {naive[:3]}")
    if args.json:
        Path(args.json).write_text(json.dumps({"settings": vars(args), "rows": table}, indent=1))


if __name__ == "__main__":
    main()
