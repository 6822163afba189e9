"""Speed of prompt tuning and evaluation on this machine, against the hardware and against PEFT.

    python benchmarks/speed.py --data-dir tests/data/sample              # all sections, MiniLM
    python benchmarks/speed.py --backbones minilm smollm2 --sections peak step

Sections (all printed as tables; --json also writes them):
  peak   dense matrix-multiply FLOP/s in fp32 and bf16: the physical reference.
  step   per backbone at the study's shapes (batch, prompt length, text length): training-step
         examples/s and model FLOP utilisation (achieved matmul FLOP/s over the measured peak,
         FLOPs counted by torch's FlopCounterMode), evaluation examples/s, and the same training
         step through HF PEFT prompt tuning (PromptTuningConfig), interleaved with ours, medians.
  real   training on the study's real length distribution: our loop (length-bucketed dynamic
         padding, detected precision) against PEFT + HF Trainer with its default settings.
  fixed  the fixed cost of one job (process start, imports, model load) against the median
         zero-shot job time of a finished study (results/benchmarks/evaluate_transfer/...).
  precision
         the bf16 accuracy check: a finished study's own prompts of --precision-tasks scored on
         their validation samples (or, --precision-full-split, the whole validation splits) in
         fp32 and in bf16, and whether they agree within 0.5 points.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))

from prompt_transfer import backbones, config as cfg, data, specs  # noqa: E402
from prompt_transfer.study import Study  # noqa: E402
from prompt_transfer.backbones import prepare_frozen_backbone  # noqa: E402
from prompt_transfer.benchmarks import matmul_peak  # noqa: E402
from prompt_transfer.evaluation import predict  # noqa: E402
from prompt_transfer.families import REGISTRY  # noqa: E402
from prompt_transfer.peft_io import class_logits, peft_forward  # noqa: E402
from prompt_transfer.runtime import bf16_supported, setup_runtime  # noqa: E402
from prompt_transfer.scorers import Encoded  # noqa: E402
from prompt_transfer.session import Session  # noqa: E402
from prompt_transfer.training import training_batches  # noqa: E402

# A two-class task with no template, for the synthetic and mixed-task measurements.
BENCH_TASK = specs.Task("bench", "sentiment", ["a", "b"], ["negative", "positive"], {})


def timed(fn, repeats: int) -> list[float]:
    out = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


# --- one training step at fixed shapes -------------------------------------------------------


def synthetic_batch(scorer, batch_size: int, length: int, generator) -> list[Encoded]:
    """Items of exactly `length` tokens (random non-special ids) with the family's read-out."""
    special = set(scorer.tokenizer.all_special_ids)
    vocab = [i for i in range(len(scorer.tokenizer)) if i not in special]
    items = []
    for _ in range(batch_size):
        ids = [vocab[i] for i in torch.randint(len(vocab), (length,), generator=generator).tolist()]
        items.append(Encoded(ids, int(torch.randint(scorer.num_classes, (1,), generator=generator)), length - 1))
    return items


class OurStep:
    def __init__(self, scorer, prompt, runtime, lr):
        self.scorer, self.runtime = scorer, runtime
        self.prompt = torch.nn.Parameter(prompt.clone())
        self.optimizer = torch.optim.AdamW([self.prompt], lr=lr)

    def __call__(self, batch):
        with self.runtime.autocast():
            logits = self.scorer.logits(self.prompt, batch)
        F.cross_entropy(logits.float(), batch.labels).backward()
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)


class PeftStep:
    """The same step through PEFT prompt tuning: PEFT prepends the virtual tokens; the loss is
    read out of what PEFT's model type returns (full-vocabulary logits, or hidden states) as the
    scorer reads it (prompt_transfer.peft_io.class_logits)."""

    def __init__(self, scorer, family, length, runtime, lr):
        from peft import PromptTuningConfig, get_peft_model

        self.scorer, self.family, self.length, self.runtime = scorer, family, length, runtime
        config = PromptTuningConfig(task_type=REGISTRY[family].peft_task_type, num_virtual_tokens=length)
        self.model = get_peft_model(scorer.model, config)
        self.optimizer = torch.optim.AdamW([p for p in self.model.parameters() if p.requires_grad], lr=lr)

    def __call__(self, batch):
        with self.runtime.autocast():
            logits = class_logits(peft_forward(self.model, self.scorer, batch), self.scorer, batch, self.length)
        F.cross_entropy(logits.float(), batch.labels).backward()
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)


def step_section(name, spec, manifest, settings, precisions, repeats, peaks, threads) -> list[dict]:
    from torch.utils.flop_counter import FlopCounterMode

    rows = []
    for precision in precisions:
        runtime = setup_runtime(threads, precision)
        # PEFT and evaluation get the backbone as loaded; our step gets it as a training job does.
        # Two sessions: a session caches the scorer, and these two must be separate models.
        scorer = Session().scorer(manifest, spec, BENCH_TASK, settings.max_length, runtime)
        trained = Session().scorer(manifest, spec, BENCH_TASK, settings.max_length, runtime)
        prepare_frozen_backbone(trained.model, runtime)
        g = torch.Generator().manual_seed(0)
        length, batch_size = settings.prompt_length, settings.batch_size
        batch = scorer.collate(synthetic_batch(scorer, batch_size, settings.max_length, g)).to(runtime.device)
        prompt = scorer.init_prompt(length, "vocab", g)
        ours = OurStep(trained, prompt, runtime, settings.learning_rate)
        with FlopCounterMode(display=False) as counter:
            ours(batch)
        flops = counter.get_total_flops()
        peft = PeftStep(scorer, spec.scorer, length, runtime, settings.learning_rate)
        ours(batch), peft(batch)  # warm-up
        ours_times, peft_times = [], []
        for _ in range(repeats):  # interleaved, so machine noise hits both alike
            ours_times += timed(lambda: ours(batch), 1)
            peft_times += timed(lambda: peft(batch), 1)
        eval_items = synthetic_batch(scorer, 64, settings.max_length, g)
        eval_times = timed(lambda: predict(scorer, prompt, eval_items, 64, runtime), max(2, repeats // 3))
        ours_s, peft_s = statistics.median(ours_times), statistics.median(peft_times)
        rows.append(
            {
                "backbone": name,
                "precision": runtime.precision,
                "shape": f"{batch_size} x ({length} prompt + {settings.max_length} text)",
                "train_ex_per_s": batch_size / ours_s,
                "train_gflop_per_step": flops / 1e9,
                "mfu": flops / ours_s / peaks[runtime.precision],
                "peft_train_ex_per_s": batch_size / peft_s,
                "ours_over_peft": peft_s / ours_s,
                "eval_ex_per_s": 64 / statistics.median(eval_times),
            }
        )
    return rows


# --- real length distribution ----------------------------------------------------------------


def study_items(scorer, config, data_dir, per_task: int):
    """Training examples of every study task, tokenised with each task's template: the
    length distribution a study trains on."""
    items = []
    for task in config.tasks:
        entry = config.task(task)
        rows = data.load_local(data_dir, entry.local or task, entry.labels)["train"][:per_task]
        scorer.task = specs.task(config, task, scorer.family)
        items += [Encoded(x.ids, x.label % 2, x.read_index) for x in scorer.encode(rows)]
    return items


def real_section(name, spec, manifest, settings, config, data_dir, steps, threads) -> dict:
    import datasets
    from peft import PromptTuningConfig, get_peft_model
    from transformers import DataCollatorWithPadding, Trainer, TrainingArguments

    runtime = setup_runtime(threads, settings.precision)
    # Two sessions, so PEFT gets the backbone as loaded and our loop its own, prepared copy.
    scorer = Session().scorer(manifest, spec, BENCH_TASK, settings.max_length, runtime)
    items = study_items(scorer, config, data_dir, per_task=max(1, steps * settings.batch_size // len(config.tasks)))
    trained = Session().scorer(manifest, spec, BENCH_TASK, settings.max_length, runtime)
    prepare_frozen_backbone(trained.model, runtime)
    g = torch.Generator().manual_seed(0)
    ours = OurStep(trained, scorer.init_prompt(settings.prompt_length, "vocab", g), runtime, settings.learning_rate)
    batches = training_batches(items, settings.batch_size, g)
    ours(scorer.collate(next(batches)))
    start = time.perf_counter()
    for _ in range(steps):
        ours(scorer.collate(next(batches)))
    ours_rate = steps * settings.batch_size / (time.perf_counter() - start)

    length = settings.prompt_length
    model = get_peft_model(
        scorer.model, PromptTuningConfig(task_type=REGISTRY[spec.scorer].peft_task_type, num_virtual_tokens=length)
    )
    labels = scorer.label_vectors

    class PromptTrainer(Trainer):
        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            target = inputs.pop("labels")
            hidden = model(**inputs).last_hidden_state[:, length:]
            weights = inputs["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = F.normalize(((hidden * weights).sum(1) / weights.sum(1)).float(), dim=-1)
            return F.cross_entropy(scorer.scale * pooled @ labels.T, target)

    dataset = datasets.Dataset.from_list([{"input_ids": x.ids, "labels": x.label} for x in items])
    args = TrainingArguments(
        output_dir=str(REPO / "results" / "benchmarks" / "trainer"),
        per_device_train_batch_size=settings.batch_size,
        max_steps=steps,
        learning_rate=settings.learning_rate,
        report_to=[],
        save_strategy="no",
        logging_strategy="no",
        disable_tqdm=True,
        remove_unused_columns=False,  # keep `labels` for the custom loss (PEFT hides the model signature)
        use_cpu=runtime.device.type == "cpu",
    )
    trainer = PromptTrainer(
        model=model, args=args, train_dataset=dataset, data_collator=DataCollatorWithPadding(scorer.tokenizer)
    )
    metrics = trainer.train().metrics
    return {
        "backbone": name,
        "examples": len(items),
        "ours_ex_per_s": ours_rate,
        "ours_precision": runtime.precision,
        "peft_trainer_ex_per_s": metrics["train_samples_per_second"],
        "ours_over_peft_trainer": ours_rate / metrics["train_samples_per_second"],
    }


# --- bf16 against fp32 accuracy --------------------------------------------------------------


def precision_section(
    name, spec, manifest, config, study_dir: Path, tasks: list[str], threads, full_split_dir=None
) -> list[dict]:
    """Each task's own prompt from a finished study, scored in fp32 and in bf16 (the precision
    the study trains and evaluates in where the hardware has it) on the study's validation
    sample, or with `full_split_dir` on the task's whole validation split found there."""
    from prompt_transfer.evaluation import accuracy
    from prompt_transfer.prompts import load_prompt

    session, rows = Session(), []
    for task in tasks:
        evaluation = specs.evaluation(config, name, task)
        task_spec = specs.task(config, task, spec.scorer)
        prompt, _ = load_prompt(study_dir / "results" / "prompts" / name / f"{task}.safetensors")
        scores, items = {}, None
        for precision in ("fp32", "bf16"):
            at_precision = dataclasses.replace(evaluation, precision=precision)
            runtime, scorer, sample = session.open(
                manifest, spec, task_spec, at_precision, study_dir / "results" / "data" / task, threads
            )
            if items is None:
                entry = config.task(task)
                items = (
                    scorer.encode(data.load_local(full_split_dir, entry.local or task, entry.labels)["validation"])
                    if full_split_dir
                    else sample
                )
            scores[precision] = accuracy(scorer, prompt, items, evaluation.batch_size, runtime)
        delta = 100 * abs(scores["bf16"] - scores["fp32"])
        rows.append(
            {
                "backbone": name,
                "task": task,
                "examples": len(items),
                "fp32": scores["fp32"],
                "bf16": scores["bf16"],
                "delta_points": delta,
                "within_0.5": delta <= 0.5,
            }
        )
    return rows


# --- fixed cost of a job ---------------------------------------------------------------------


def fresh_process_seconds(code: str, *args: str) -> float:
    """Median wall time of three fresh `python -c code` processes."""
    seconds = []
    for _ in range(3):
        start = time.perf_counter()
        env = {"PYTHONPATH": str(REPO / "src"), "PATH": ""}
        subprocess.run([sys.executable, "-c", code, *args], check=True, capture_output=True, env=env)
        seconds.append(time.perf_counter() - start)
    return statistics.median(seconds)


def fixed_section(name, spec, manifest, settings, study_dir: Path) -> dict:
    """The fixed cost of a zero-shot job against the median wall time of the zero-shot jobs of a
    finished study: a job that loads everything itself (imports and backbone), and a job served
    by a warm worker (prompt_transfer.worker), which only starts Python and imports the client."""
    load = (
        "import sys;"
        "from prompt_transfer.runtime import setup_runtime; from prompt_transfer.session import Session;"
        "from prompt_transfer import evaluation, data, prompts, specs;"
        f"Session().scorer({str(manifest)!r}, specs.Backbone.from_json(sys.argv[1]), specs.Task.from_json(sys.argv[2]), {settings.max_length}, setup_runtime(1, 'auto'))"
    )
    standalone = fresh_process_seconds(load, spec.to_json(), BENCH_TASK.to_json())
    client = fresh_process_seconds("from prompt_transfer import cli, worker")
    job_times = [
        float(f.read_text().splitlines()[1].split("\t")[0])
        for f in study_dir.glob(f"results/benchmarks/evaluate_transfer/{name}/seed*/*.tsv")
    ]
    median_job = statistics.median(job_times) if job_times else float("nan")
    return {
        "backbone": name,
        "jobs": len(job_times),
        "median_job_seconds": median_job,
        "standalone_fixed_seconds": standalone,
        "standalone_share": standalone / median_job,
        "worker_client_seconds": client,
        "worker_client_share": client / median_job,
    }


def show(title: str, rows: list[dict]) -> None:
    import pandas as pd

    print(f"\n== {title}")
    print(pd.DataFrame(rows).to_string(index=False, float_format=lambda v: f"{v:,.3f}"))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--backbones", nargs="+", default=["minilm"])
    p.add_argument(
        "--sections",
        nargs="+",
        default=["peak", "step", "real", "fixed"],
        choices=["peak", "step", "real", "fixed", "precision"],
    )
    p.add_argument(
        "--data-dir",
        default=str(REPO / "tests" / "data" / "sample"),
        help="task folders in the format of docs/offline-data.md (default: the sample in the repository)",
    )
    p.add_argument("--study-dir", default=str(REPO), help="a finished study, for the 'fixed' and 'precision' sections")
    p.add_argument("--precision-tasks", nargs="+", default=["sst2", "mnli"], help="tasks of the 'precision' section")
    p.add_argument(
        "--precision-full-split",
        action="store_true",
        help="'precision' on each task's whole validation split in --data-dir, not the study's sample",
    )
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeats", type=int, default=15, help="timed training steps per implementation")
    p.add_argument("--real-steps", type=int, default=40)
    p.add_argument("--json", default=None, help="also write all tables here")
    a = p.parse_args()

    config = Study.from_config(
        cfg.load_config(yaml.safe_load((REPO / "config.yaml").read_text()) | {"data_dir": a.data_dir})
    )
    torch.set_num_threads(a.threads)
    out = {}
    precisions = ["fp32"] + (["bf16"] if bf16_supported(torch.device("cpu")) or torch.cuda.is_available() else [])
    # The peaks are the reference for MFU; measured only when a section reports them.
    dtypes = {"fp32": torch.float32, "bf16": torch.bfloat16}
    peaks = {p: matmul_peak(dtypes[p]) for p in precisions} if {"peak", "step"} & set(a.sections) else {}
    if "peak" in a.sections:
        out["peak"] = [{"dtype": k, "gflop_per_s": v / 1e9} for k, v in peaks.items()]
        show(f"dense matmul peak ({a.threads} threads)", out["peak"])
    for name in a.backbones:
        spec = specs.backbone(config, name)
        manifest = Path(config.models_dir) / name / "model.json"
        if not manifest.is_file():
            backbones.materialize(spec, manifest.parent)
        settings = specs.training(config, name, config.tasks[0])
        if "step" in a.sections:
            out.setdefault("step", []).extend(
                step_section(name, spec, manifest, settings, precisions, a.repeats, peaks, a.threads)
            )
        if "real" in a.sections:
            out.setdefault("real", []).append(
                real_section(name, spec, manifest, settings, config, a.data_dir, a.real_steps, a.threads)
            )
        if "fixed" in a.sections:
            out.setdefault("fixed", []).append(fixed_section(name, spec, manifest, settings, Path(a.study_dir)))
        if "precision" in a.sections and "bf16" in precisions:
            out.setdefault("precision", []).extend(
                precision_section(
                    name,
                    spec,
                    manifest,
                    config,
                    Path(a.study_dir),
                    a.precision_tasks,
                    a.threads,
                    a.data_dir if a.precision_full_split else None,
                )
            )
    for section in ("step", "real", "fixed", "precision"):
        if section in out:
            show(section, out[section])
    if a.json:
        Path(a.json).write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
