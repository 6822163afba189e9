"""Expected cost of the paper's studies (studies/roberta-base.yaml, roberta-large.yaml, t5-base.yaml)
in FLOPs and GPU-hours, from FLOP counts of the real architectures (no download).

    python benchmarks/paper_cost.py                       # FLOP table and GPU-hour estimate
    python benchmarks/paper_cost.py --measure-cpu         # also times one training step on this CPU
    python benchmarks/paper_cost.py --gpu-tflops 25 --csv cost.csv

- Each backbone is built from its published config (roberta-base/-large, t5-base) with random
  weights on the `meta` device, so FLOPs are counted (torch.utils.flop_counter.FlopCounterMode,
  matrix products and attention) without memory or compute. The workflow's own scorer runs: the
  authors' layout (`layout: authors`, and for T5 `loss: authors`), a prompt of 100 rows.
- A training step is the forward and backward pass of one batch (the backbone frozen: no weight
  gradients); an evaluation is a forward pass per example.
- Text lengths: the workflow pads each batch to its longest text (length-bucketed batches), so a
  task's step costs about its mean length. The mean is estimated from the training files of
  --data-dir (default tests/data/sample; docs/offline-data.md), as whitespace words x 1.3 BPE
  tokens, capped at the task's max_length (128 or 384), + 3 specials: an approximation, with no
  tokenizer of the real models. The sample's means are within one token of the full offline
  copy's, which moves the totals by under 0.5% (roberta-base: 83.4 against 83.7 GPU-hours).
  SQuAD and Multi-News are in neither: ASSUMED_TOKENS. The t5-base study attends to the padding
  in training (`attend_padding`, the authors' T5): its training steps run at max_length + 2 text tokens.
- Generation tasks (t5-base: SQuAD, NQ-Open, Multi-News, SAMSum): a training step is the forward
  and backward pass with the study's target_tokens; an evaluation decodes max_new_tokens tokens
  (the authors' targets carry no end-of-sequence, so outputs run to the cap), counted as one
  teacher-forced pass over that many decoder positions (the same products as cached decoding).
- Training sets are the official full training splits (sizes below, minus the held-out dev), with
  each study's epochs and batch sizes; every epoch ends with a dev evaluation (dev_size 1000).
  The zero-shot stage scores every prompt of the study (13 sources; t5-base 17) on each target's
  reported split, and the baselines 7 passes (no prompt, 3 + 3 random prompts).
- GPU-hours = FLOPs / (--gpu-tflops x 1e12) / 3600. The throughput is an ASSUMPTION, not a
  measurement: the default 25 TFLOP/s is fp32 (the authors' precision, no TF32) on an H100 SXM at
  about 40% of its 67 TFLOP/s peak. --measure-cpu times real-shape steps on this machine's CPU,
  which checks the FLOP count's scale but says nothing measured about a GPU.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))

from prompt_transfer.backbones import build_tiny_tokenizer  # noqa: E402
from prompt_transfer.generation import GenerationBatch  # noqa: E402
from prompt_transfer.scorers import Batch  # noqa: E402
from prompt_transfer.session import make_scorer  # noqa: E402
from prompt_transfer.specs import Task  # noqa: E402

TASKS = ["imdb", "sst2", "laptop", "restaurant", "movierationales", "tweeteval_sentiment", "mnli", "qnli",
         "snli", "ethics_deontology", "ethics_justice", "qqp", "mrpc"]  # fmt: skip
GENERATION_TASKS = ["squad", "nq_open", "multi_news", "samsum"]  # t5-base only, as the paper
# Official sizes: (training split, reported split) as the hub serves them (SNLI without label -1;
# ETHICS: the original test files, HF `validation`; IMDB: its test split).
SIZES = {
    "imdb": (25_000, 25_000), "sst2": (67_349, 872), "laptop": (2_358, 654), "restaurant": (3_693, 1_134),
    "movierationales": (1_600, 200), "tweeteval_sentiment": (45_615, 2_000), "mnli": (392_702, 9_815),
    "qnli": (104_743, 5_463), "snli": (549_367, 9_842), "ethics_deontology": (18_164, 3_596),
    "ethics_justice": (21_791, 2_704), "qqp": (363_846, 40_430), "mrpc": (3_668, 408),
    "squad": (87_599, 10_570), "nq_open": (87_925, 3_610), "multi_news": (44_972, 5_622), "samsum": (14_732, 818),
}  # fmt: skip
# Mean input tokens of the tasks the offline bundle lacks: SQuAD v1.1 contexts (about 120 words) and
# questions (about 10) x 1.3; Multi-News inputs (about 2,000 words) are always cut to 384.
ASSUMED_TOKENS = {"squad": 170, "multi_news": 384}
# The epoch of each released RoBERTa prompt (1.0/copy_prompt_to_taskpromptdir.py, TASKS order):
# the authors trained longer and picked these by hand, so the configs' epochs are upper bounds.
RELEASED_EPOCH = {
    "roberta-base": [23, 25, 32, 33, 21, 28, 44, 51, 29, 63, 29, 22, 66],
    "roberta-large": [27, 26, 93, 126, 62, 54, 10, 33, 4, 79, 68, 8, 96],
}
DEV_SIZE, EVAL_BATCH, PROMPT_LENGTH, MAX_LENGTH, BASELINE_PASSES = 1000, 64, 100, 128, 7


def architectures():
    import transformers as tf

    return {
        "roberta-base": ("mlm", tf.RobertaForMaskedLM, tf.RobertaConfig(vocab_size=50265, max_position_embeddings=514, type_vocab_size=1, pad_token_id=1)),
        "roberta-large": ("mlm", tf.RobertaForMaskedLM, tf.RobertaConfig(vocab_size=50265, max_position_embeddings=514, type_vocab_size=1, pad_token_id=1, hidden_size=1024, num_hidden_layers=24, num_attention_heads=16, intermediate_size=4096)),
        "t5-base": ("seq2seq", tf.T5ForConditionalGeneration, tf.T5Config(vocab_size=32128, d_model=768, d_kv=64, d_ff=3072, num_layers=12, num_heads=12, decoder_start_token_id=0)),
    }  # fmt: skip


def study_settings(backbone: str) -> dict[str, dict]:
    """Per task of the study file: epochs, batch size, max length, (T5) target tokens, the tokens
    a generation task decodes, and whether training attends to the padding."""
    import yaml

    config = yaml.safe_load((REPO / "config.yaml").read_text())
    study = yaml.safe_load((REPO / "studies" / f"{backbone}.yaml").read_text())
    entry = study["backbones"][backbone]
    attend_padding = entry.get("scorer_options", {}).get("attend_padding", False)
    out = {}
    for task in study["study"]["tasks"]:
        settings = {**config["tasks"][task].get("training", {}), **study["tasks"][task]["training"]}
        generation = {**config["tasks"][task].get("generation", {}), **study["tasks"][task].get("generation", {})}
        out[task] = {
            "epochs": settings["epochs"],
            "batch_size": settings.get("batch_size", entry["training"]["batch_size"]),
            "max_length": settings.get("max_length", entry["training"]["max_length"]),
            "target_tokens": study["tasks"][task].get("target_tokens", 1),
            "decoded_tokens": generation.get("max_new_tokens"),
            "attend_padding": attend_padding,
        }
    return out


def mean_text_tokens(task: str, data_dir: Path, max_length: int) -> float:
    """Approximate mean token count of a task's input (see the module docstring)."""
    if task in ASSUMED_TOKENS:
        return ASSUMED_TOKENS[task]
    lengths = []
    with open(data_dir / task / "train.jsonl", encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            words = len(row["text_a"].split()) + len((row.get("text_b") or "").split())
            lengths.append(min(max_length, round(1.3 * words)) + 3)
    return statistics.mean(lengths)


def scorer_for(family: str, model, settings: dict | None = None):
    """The study's scorer of one task (a generation task when it decodes), on a tiny tokenizer."""
    settings = settings or {"target_tokens": 1, "max_length": MAX_LENGTH, "decoded_tokens": None}
    tokenizer = build_tiny_tokenizer(["negative", "positive", "neutral"], family)
    if settings["decoded_tokens"]:
        generation = {"metric": "f1", "max_new_tokens": settings["decoded_tokens"]}
        task = Task("t", "qa", [], [], target_tokens=settings["target_tokens"], generation=generation)
    else:
        words = ["negative", "positive", "neutral"]
        task = Task("t", "x", ["a", "b", "c"], words, target_tokens=settings["target_tokens"])
    options = {"layout": "authors", **({"loss": "authors"} if family == "seq2seq" else {})}
    options["attend_padding"] = settings.get("attend_padding", False)
    return make_scorer(family, model, tokenizer, task, settings["max_length"], options)


def fake_batch(batch_size: int, length: int, device, target_tokens: int | None = None):
    """A batch of random ids; with target_tokens, a generation batch with targets of that width."""
    ids = torch.randint(10, 1000, (batch_size, length), device=device)
    ones = torch.ones(batch_size, length, dtype=torch.long, device=device)
    zeros = torch.zeros(batch_size, dtype=torch.long, device=device)
    if target_tokens is None:
        return Batch(ids, ones, zeros, zeros)
    target = torch.randint(10, 1000, (batch_size, target_tokens), device=device)
    return GenerationBatch(ids, ones, target, torch.ones_like(target), zeros)


def step_flops(scorer, hidden: int, batch_size: int, length: int, device, train: bool, target_tokens=None) -> float:
    """FLOPs of a training step (forward and backward) or of an evaluation pass over a batch;
    generation tasks: `target_tokens` decoder positions, teacher-forced (see the docstring)."""
    from torch.utils.flop_counter import FlopCounterMode

    batch = fake_batch(batch_size, length, device, target_tokens)
    prompt = torch.zeros(PROMPT_LENGTH, hidden, device=device, requires_grad=train)
    with FlopCounterMode(display=False) as counter:
        if train:
            scorer.loss(prompt, batch).backward()
        else:
            with torch.no_grad():
                if target_tokens is None:
                    scorer.logits(prompt, batch)
                else:
                    scorer.loss(prompt, batch)
    return float(counter.get_total_flops())


def build(backbone: str, device: str):
    family, model_class, config = architectures()[backbone]
    if device == "meta":
        # Mask helpers read mask values (e.g. "no padding?": .all()), which meta tensors lack; the
        # answer only picks a kernel, and counting assumes the full (padded) mask is applied.
        import transformers.masking_utils as masking

        masking._ignore_bidirectional_mask_sdpa = lambda *args, **kwargs: False
        # A generation loss selects the target positions by their mask, all ones in fake batches.
        torch.fx.experimental._config.meta_nonzero_assume_all_nonzero = True
        config._attn_implementation = "eager"
    with torch.device(device):
        model = model_class(config)
    model.requires_grad_(False)
    model.eval()
    return family, model, config


def cost_table(data_dir: Path, gpu_tflops: float) -> list[dict]:
    rows = []
    for backbone in architectures():
        family, model, config = build(backbone, "meta")
        hidden = model.get_input_embeddings().weight.shape[1]
        settings = study_settings(backbone)
        for task, s in settings.items():
            length = round(mean_text_tokens(task, data_dir, s["max_length"]))
            generation = s["decoded_tokens"] is not None
            train_step = step_flops(
                scorer_for(family, model, s), hidden, s["batch_size"], length, "meta", True,
                s["target_tokens"] if generation else None,
            )  # fmt: skip
            evaluator = scorer_for(family, model, {**s, "attend_padding": False})  # evaluation masks the padding
            eval_example = (
                step_flops(evaluator, hidden, EVAL_BATCH, length, "meta", False, s["decoded_tokens"]) / EVAL_BATCH
            )
            n_train, n_reported = SIZES[task]
            dev = min(DEV_SIZE, n_train // 5)
            steps_per_epoch = (n_train - dev) // s["batch_size"]
            train_flops = s["epochs"] * (steps_per_epoch * train_step + dev * eval_example)
            zero_shot_flops = (len(settings) + BASELINE_PASSES) * n_reported * eval_example
            released = RELEASED_EPOCH[backbone][TASKS.index(task)] if backbone in RELEASED_EPOCH else None
            released_flops = released * (steps_per_epoch * train_step + dev * eval_example) if released else None
            rows.append(
                {
                    "backbone": backbone, "task": task, "mean_tokens": length, "epochs": s["epochs"],
                    "batch_size": s["batch_size"], "steps": s["epochs"] * steps_per_epoch,
                    "train_step_tflop": train_step / 1e12, "eval_example_gflop": eval_example / 1e9,
                    "train_pflop": train_flops / 1e15, "zero_shot_pflop": zero_shot_flops / 1e15,
                    "train_gpu_hours": train_flops / (gpu_tflops * 1e12) / 3600,
                    "zero_shot_gpu_hours": zero_shot_flops / (gpu_tflops * 1e12) / 3600,
                    "released_epoch": released,
                    "to_released_gpu_hours": released_flops / (gpu_tflops * 1e12) / 3600 if released else None,
                }
            )  # fmt: skip
    return rows


def measure_cpu(steps: int, batch_size: int, length: int) -> list[dict]:
    """Seconds per training step (forward + backward) at a real shape on this CPU."""
    out = []
    for backbone in architectures():
        family, model, config = build(backbone, "cpu")
        hidden = model.get_input_embeddings().weight.shape[1]
        scorer = scorer_for(family, model)
        flops = step_flops(scorer, hidden, batch_size, length, "cpu", train=True)
        times = []
        for _ in range(steps + 1):  # the first is a warm-up
            batch = fake_batch(batch_size, length, "cpu")
            prompt = torch.zeros(PROMPT_LENGTH, hidden, requires_grad=True)
            started = time.perf_counter()
            with scorer.training_forward():
                scorer.loss(prompt, batch).backward()
            times.append(time.perf_counter() - started)
        seconds = statistics.median(times[1:])
        out.append({"backbone": backbone, "batch_size": batch_size, "text_tokens": length, "seconds_per_step": seconds,
                    "tflop_per_step": flops / 1e12, "achieved_gflops": flops / seconds / 1e9,
                    "threads": torch.get_num_threads()})  # fmt: skip
        del model, scorer
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--data-dir", type=Path, default=REPO / "tests" / "data" / "sample", help="task folders (docs/offline-data.md)"
    )
    parser.add_argument("--gpu-tflops", type=float, default=25.0, help="ASSUMED effective GPU throughput, TFLOP/s")
    parser.add_argument("--measure-cpu", action="store_true")
    parser.add_argument("--cpu-steps", type=int, default=2)
    parser.add_argument("--cpu-batch", type=int, default=4)
    parser.add_argument("--cpu-tokens", type=int, default=MAX_LENGTH + 3)
    parser.add_argument("--csv", type=Path)
    args = parser.parse_args(argv)
    import pandas as pd

    table = pd.DataFrame(cost_table(args.data_dir, args.gpu_tflops))
    pd.set_option("display.width", 200)
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3g}"))
    columns = [
        "steps",
        "train_pflop",
        "zero_shot_pflop",
        "train_gpu_hours",
        "zero_shot_gpu_hours",
        "to_released_gpu_hours",
    ]
    totals = table.groupby("backbone")[columns].sum(min_count=1)
    print(f"\nper backbone (GPU-hours at an ASSUMED {args.gpu_tflops:g} TFLOP/s):")
    print(totals.to_string(float_format=lambda v: f"{v:,.1f}"))
    if args.csv:
        table.to_csv(args.csv, index=False)
    if args.measure_cpu:
        print("\nmeasured on this CPU (training step, forward + backward, authors' layout):")
        print(
            pd.DataFrame(measure_cpu(args.cpu_steps, args.cpu_batch, args.cpu_tokens)).to_string(
                index=False, float_format=lambda v: f"{v:.3g}"
            )
        )


if __name__ == "__main__":
    main()
