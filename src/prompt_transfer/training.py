"""Prompt tuning: only the soft prompt learns, through the shared loop (loop.py).

The backbone is frozen (requires_grad False, eval mode); the optimiser sees one tensor, the
prompt. Every `eval_interval` steps (and once before the first step) the prompt is scored on
the dev split; the best-scoring prompt is the one kept.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from . import loop
from .evaluation import accuracy
from .loop import LOG_COLUMNS, Checkpointing
from .runtime import Runtime
from .scorers import Encoded, Scorer, truncated_inputs
from .specs import TrainJob, Training

log = logging.getLogger(__name__)


def training_batches(items: list[Encoded], batch_size: int, generator: torch.Generator, bucket: int = 50):
    """Endless shuffled batches, length-bucketed: each group of `bucket` batches is drawn
    at random, sorted by length and cut into batches, which are then shuffled."""
    while True:
        order = torch.randperm(len(items), generator=generator).tolist()
        chunk = batch_size * bucket
        batches = []
        for start in range(0, len(order), chunk):
            group = sorted(order[start : start + chunk], key=lambda i: len(items[i].ids))
            batches += [group[s : s + batch_size] for s in range(0, len(group), batch_size)]
        for b in torch.randperm(len(batches), generator=generator).tolist():
            if len(batches[b]) == batch_size or len(items) < batch_size:
                yield [items[i] for i in batches[b]]


@dataclass
class TrainResult:
    prompt: torch.Tensor  # the best prompt on dev
    best_step: int
    best_dev_accuracy: float
    log: list[dict]
    steps_run: int
    stopped_early: bool
    resumed_from: int  # the step a checkpoint resumed this run at (0: a fresh start)


def steps_per_epoch(train_examples: int, batch_size: int) -> int:
    """Full batches in one pass over the training split (the batcher yields only full ones)."""
    return max(1, train_examples // batch_size)


def with_step_budget(settings: Training, train_examples: int) -> Training:
    """An epoch budget as steps: max_steps = epochs x steps per epoch, one evaluation per epoch."""
    if not settings.epochs:
        return settings
    per_epoch = steps_per_epoch(train_examples, settings.batch_size)
    return dataclasses.replace(settings, max_steps=settings.epochs * per_epoch, eval_interval=per_epoch)


def loop_settings(settings: Training) -> loop.LoopSettings:
    keys = (
        "max_steps",
        "eval_interval",
        "learning_rate",
        "weight_decay",
        "grad_clip",
        "warmup_steps",
        "early_stopping_patience",
    )
    eps = {} if settings.adam_eps is None else {"adam_eps": settings.adam_eps}
    return loop.LoopSettings(**{k: getattr(settings, k) for k in keys}, **eps)


def train_prompt(
    scorer: Scorer,
    train: list[Encoded],
    dev: list[Encoded],
    settings: Training,
    runtime: Runtime,
    init: torch.Tensor,
    generator: torch.Generator,
    eval_batch_size: int = 64,
    progress: bool = True,
    checkpointing: Checkpointing | None = None,
) -> TrainResult:
    """Tune `init` (a [L, d] prompt) on `train`; return the best prompt on `dev` and the log.

    With `checkpointing`, the state is saved every `interval` steps and a matching saved
    state is resumed from; the result is bit-identical to an uninterrupted run.
    """
    prompt = torch.nn.Parameter(init.clone().float().to(runtime.device))

    def loss_of(items):
        batch = scorer.collate(items).to(runtime.device)
        with runtime.autocast(), scorer.training_forward():
            return scorer.loss(prompt, batch), len(batch)

    result = loop.train(
        {"prompt": prompt},
        training_batches(train, settings.batch_size, generator),
        loss_of,
        loop_settings(settings),
        evaluate=lambda: accuracy(scorer, prompt.detach(), dev, eval_batch_size, runtime),
        checkpointing=checkpointing,
        name="training",
        progress=progress,
    )
    return TrainResult(
        result.best["prompt"], result.best_step, result.best_score, result.log, result.steps_run, result.stopped_early,
        result.resumed_from,
    )  # fmt: skip


def stable_seed(*parts) -> int:
    """A seed derived from `parts` that is the same in every process (unlike hash())."""
    import zlib

    return zlib.crc32("/".join(map(str, parts)).encode())


def run_fingerprint(*parts, files=()) -> str:
    """A digest of JSON-able `parts` and the contents of `files`: what makes a run this run."""
    import hashlib
    import json

    digest = hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode())
    for path in files:
        with open(path, "rb") as f:
            digest.update(hashlib.file_digest(f, "sha256").digest())
    return digest.hexdigest()


def initial_prompt(job: TrainJob, scorer: Scorer, init_path=None) -> tuple[torch.Tensor, dict]:
    """The prompt training starts from, and how it was made: drawn from (seed, task), so
    tasks start from different random prompts, or with `shared_init` from (seed, backbone), so
    all tasks of a backbone start from one prompt (the authors' protocol), or read from
    `init_path` (TPT)."""
    from .prompts import load_prompt

    if init_path:
        init, meta = load_prompt(init_path, scorer.hidden_size)
        return init, {"kind": "prompt", "path": str(init_path), "source_task": meta.get("task")}
    settings = job.training
    drawn_for = f"backbone:{job.backbone.name}" if settings.shared_init else job.task.name
    generator = torch.Generator().manual_seed(stable_seed(settings.seed, "init", drawn_for))
    init = scorer.init_prompt(settings.prompt_length, settings.prompt_init, generator, settings.init_std)
    return init, {"kind": settings.prompt_init, "drawn_for": drawn_for}


def run_train_job(
    job: TrainJob,
    manifest,
    data_dir,
    out_prompt,
    out_log,
    out_metrics,
    threads=None,
    init_path=None,
    checkpoint_path=None,
    checkpoint_interval: int = 0,
) -> TrainResult:
    """The train rule: tune one task's prompt on one backbone and write prompt, log and metrics.

    With `checkpoint_path` and `checkpoint_interval`, the state is saved there every so many
    steps, an interrupted run resumes from it, and it is deleted once the outputs are written.
    """
    from .backbones import prepare_frozen_backbone
    from .runtime import environment, seed_everything, setup_runtime
    from .session import Session

    settings = job.training
    runtime = setup_runtime(threads, settings.precision)
    environment_ = environment(runtime.device)  # now, while the code that runs is the checkout's
    generator = seed_everything(settings.seed)
    session = Session()
    scorer = session.scorer(manifest, job.backbone, job.task, settings.max_length, runtime)
    train, dev = (session.split(scorer, data_dir, split) for split in ("train", "dev"))
    truncated = {
        name: truncated_inputs(items, name, settings.max_length) for name, items in [("train", train), ("dev", dev)]
    }
    settings = with_step_budget(settings, len(train))
    init, init_info = initial_prompt(job, scorer, init_path)
    prepare_frozen_backbone(scorer.model, runtime)
    checkpointing = None
    if checkpoint_path and checkpoint_interval:
        inputs = [Path(data_dir) / "train.jsonl", Path(data_dir) / "dev.jsonl", *([init_path] if init_path else [])]
        fingerprint = run_fingerprint(job.to_dict(), runtime.describe(), files=inputs)
        checkpointing = Checkpointing(Path(checkpoint_path), checkpoint_interval, fingerprint)
    started = time.perf_counter()
    result = train_prompt(scorer, train, dev, settings, runtime, init, generator, checkpointing=checkpointing)
    metrics = {
        "backbone": job.backbone.name,
        "task": job.task.name,
        "best_step": result.best_step,
        "best_dev_accuracy": result.best_dev_accuracy,
        "initial_dev_accuracy": result.log[0]["dev_accuracy"],
        "dev_metric": getattr(scorer, "metric", "accuracy"),  # what the dev_accuracy values measure
        "steps_run": result.steps_run,
        "stopped_early": result.stopped_early,
        "resumed_from_step": result.resumed_from,
        "train_seconds": time.perf_counter() - started,
        "train_examples": len(train),
        "dev_examples": len(dev),
        "truncated_inputs": truncated,
        "init": init_info,
        "scored_labels": scorer.scored_labels(),
        "settings": settings.to_dict(),
        "runtime": runtime.describe(),
        "environment": environment_,
    }
    _write_outputs(result, metrics, out_prompt, out_log, out_metrics)
    if checkpointing:
        checkpointing.clear()
    return result


def _write_outputs(result: TrainResult, metrics: dict, out_prompt, out_log, out_metrics) -> None:
    import pandas as pd

    from .io import write_csv, write_json
    from .prompts import save_prompt

    write_csv(out_log, pd.DataFrame(result.log, columns=LOG_COLUMNS))
    write_json(out_metrics, metrics)
    kept = ("backbone", "task", "best_step", "best_dev_accuracy", "init", "settings")
    save_prompt(out_prompt, result.prompt, {k: metrics[k] for k in kept})
