"""Prompt tuning: a plain PyTorch loop that trains only the soft prompt.

The backbone is frozen (requires_grad False, eval mode); the optimiser sees one tensor, the
prompt. Every `eval_interval` steps (and once before the first step) the prompt is scored on
the dev split; the best-scoring prompt is the one kept.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from .evaluation import accuracy
from .runtime import Runtime
from .scorers import Encoded, Scorer
from .errors import DivergedError

log = logging.getLogger(__name__)

LOG_COLUMNS = ["step", "examples_seen", "wall_seconds", "train_loss", "dev_accuracy"]


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
    log: list[dict] = field(default_factory=list)
    steps_run: int = 0
    stopped_early: bool = False
    resumed_from: int = 0  # the step a checkpoint resumed this run at (0: a fresh start)


@dataclass
class Checkpointing:
    """Where and how often training saves its state, and what a saved state must match.

    The state is the prompt, the AdamW moments, the step, the best prompt so far and the log.
    The random state needs no saving: batches come from a generator seeded at the start of
    training, so a resumed run replays (without computing) the batches already seen and then
    continues exactly as an uninterrupted run would.
    """

    path: Path
    interval: int
    fingerprint: str  # identifies the run (settings, task, data, init); other states are ignored

    def save(self, state: dict) -> None:
        from .io import save_tensors

        tensors = {name: state.pop(name) for name in ("prompt", "best_prompt", "exp_avg", "exp_avg_sq")}
        save_tensors(self.path, tensors, {"fingerprint": self.fingerprint, **state})

    def load(self) -> dict | None:
        from .io import load_tensors

        if not self.path.is_file():
            return None
        tensors, meta = load_tensors(self.path)
        if meta.get("fingerprint") != self.fingerprint:
            log.warning("ignoring checkpoint %s: it belongs to another run", self.path)
            return None
        return {**meta, **tensors}

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)


def learning_rate(step: int, settings: dict) -> float:
    """Linear warm-up over `warmup_steps`, then constant (the paper's schedule)."""
    warmup = settings["warmup_steps"]
    return settings["learning_rate"] * (min(1.0, step / warmup) if warmup else 1.0)


def train_prompt(
    scorer: Scorer,
    train: list[Encoded],
    dev: list[Encoded],
    settings: dict,
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
    optimizer = torch.optim.AdamW([prompt], lr=settings["learning_rate"], weight_decay=settings["weight_decay"])
    batches = training_batches(train, settings["batch_size"], generator)
    saved = checkpointing.load() if checkpointing else None
    if saved:
        start = saved["step"]
        with torch.no_grad():
            prompt.copy_(saved["prompt"])
        optimizer.state[prompt] = {
            "step": torch.tensor(float(start)),
            "exp_avg": saved["exp_avg"].to(runtime.device),
            "exp_avg_sq": saved["exp_avg_sq"].to(runtime.device),
        }
        result = TrainResult(saved["best_prompt"], saved["best_step"], saved["best_dev_accuracy"], saved["log"], resumed_from=start)
        losses, evals_without_gain, seen, elapsed = saved["losses"], saved["evals_without_gain"], saved["seen"], saved["elapsed"]
        for _ in range(start):  # replay the batches already trained on
            next(batches)
        log.info("resumed %s at step %d from %s", scorer.task["name"], start, checkpointing.path)
    else:
        start, losses, evals_without_gain, seen, elapsed = 0, [], 0, 0, 0.0
        best = accuracy(scorer, prompt.detach(), dev, eval_batch_size, runtime)
        result = TrainResult(prompt.detach().cpu().clone(), 0, best)
        result.log.append(dict(zip(LOG_COLUMNS, [0, 0, 0.0, float("nan"), best])))

    started = time.perf_counter() - elapsed
    steps = range(start + 1, settings["max_steps"] + 1)
    bar = tqdm(steps, desc=f"train {scorer.task['name']}", disable=not progress, mininterval=5, initial=start, total=settings["max_steps"])
    for step in bar:
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(step, settings)
        batch = scorer.collate(next(batches)).to(runtime.device)
        with runtime.autocast():
            logits = scorer.logits(prompt, batch)
        loss = F.cross_entropy(logits.float(), batch.labels)
        if not math.isfinite(loss.item()):
            raise DivergedError(f"training loss is {loss.item()} at step {step}; lower the learning rate")
        loss.backward()
        if settings["grad_clip"]:
            torch.nn.utils.clip_grad_norm_([prompt], settings["grad_clip"])
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        losses.append(loss.item())
        seen += len(batch)
        result.steps_run = step

        if step % settings["eval_interval"] == 0 or step == settings["max_steps"]:
            dev_acc = accuracy(scorer, prompt.detach(), dev, eval_batch_size, runtime)
            row = [step, seen, time.perf_counter() - started, sum(losses) / len(losses), dev_acc]
            result.log.append(dict(zip(LOG_COLUMNS, row)))
            log.info("step %d: train loss %.4f, dev accuracy %.4f", step, row[3], dev_acc)
            bar.set_postfix(loss=f"{row[3]:.3f}", dev=f"{dev_acc:.3f}")
            losses = []
            if dev_acc > result.best_dev_accuracy:
                result.prompt, result.best_step, result.best_dev_accuracy = prompt.detach().cpu().clone(), step, dev_acc
                evals_without_gain = 0
            else:
                evals_without_gain += 1
            patience = settings["early_stopping_patience"]
            if patience and evals_without_gain >= patience:
                result.stopped_early = True
                break
        if checkpointing and checkpointing.interval and step % checkpointing.interval == 0 and step < settings["max_steps"]:
            moments = optimizer.state[prompt]
            checkpointing.save(
                {
                    "prompt": prompt.detach(),
                    "best_prompt": result.prompt,
                    "exp_avg": moments["exp_avg"],
                    "exp_avg_sq": moments["exp_avg_sq"],
                    "step": step,
                    "best_step": result.best_step,
                    "best_dev_accuracy": result.best_dev_accuracy,
                    "log": result.log,
                    "losses": losses,
                    "evals_without_gain": evals_without_gain,
                    "seen": seen,
                    "elapsed": time.perf_counter() - started,
                }
            )
    return result


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


def run_train_job(
    manifest,
    backbone: dict,
    task: dict,
    settings: dict,
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

    The initial prompt is drawn from (seed, task), so tasks start from different random
    prompts; `init_path` starts from a given prompt file instead (initialisation transfer).
    With `checkpoint_path` and `checkpoint_interval`, the state is saved there every so many
    steps, an interrupted run resumes from it, and it is deleted once the outputs are written.
    """
    import pandas as pd

    from .data import read_split
    from .io import write_csv, write_json
    from .prompts import load_prompt, save_prompt
    from .runtime import prepare_frozen_backbone, seed_everything, setup_runtime
    from .scorers import load_scorer

    runtime = setup_runtime(threads, settings["precision"])
    generator = seed_everything(settings["seed"])
    scorer = load_scorer(manifest, backbone, task, settings["max_length"], runtime)
    train = scorer.encode(read_split(data_dir, "train"))
    dev = scorer.encode(read_split(data_dir, "dev"))
    if init_path:
        init, init_meta = load_prompt(init_path, scorer.hidden_size)
        init_info = {"kind": "prompt", "path": str(init_path), "source_task": init_meta.get("task")}
    else:
        init_generator = torch.Generator().manual_seed(stable_seed(settings["seed"], "init", task["name"]))
        init = scorer.init_prompt(settings["prompt_length"], settings["prompt_init"], init_generator, settings["init_std"])
        init_info = {"kind": settings["prompt_init"]}
    prepare_frozen_backbone(scorer.model, runtime)
    checkpointing = None
    if checkpoint_path and checkpoint_interval:
        inputs = [Path(data_dir) / "train.jsonl", Path(data_dir) / "dev.jsonl", *([init_path] if init_path else [])]
        fingerprint = run_fingerprint(settings, task, backbone, runtime.describe(), files=inputs)
        checkpointing = Checkpointing(Path(checkpoint_path), checkpoint_interval, fingerprint)
    started = time.perf_counter()
    result = train_prompt(scorer, train, dev, settings, runtime, init, generator, checkpointing=checkpointing)
    seconds = time.perf_counter() - started
    metrics = {
        "backbone": backbone["name"],
        "task": task["name"],
        "best_step": result.best_step,
        "best_dev_accuracy": result.best_dev_accuracy,
        "initial_dev_accuracy": result.log[0]["dev_accuracy"],
        "steps_run": result.steps_run,
        "stopped_early": result.stopped_early,
        "resumed_from_step": result.resumed_from,
        "train_seconds": seconds,
        "train_examples": len(train),
        "dev_examples": len(dev),
        "init": init_info,
        "settings": settings,
        "runtime": runtime.describe(),
    }
    write_csv(out_log, pd.DataFrame(result.log, columns=LOG_COLUMNS))
    write_json(out_metrics, metrics)
    save_prompt(out_prompt, result.prompt, {k: metrics[k] for k in ("backbone", "task", "best_step", "best_dev_accuracy", "init", "settings")})
    if checkpointing:
        checkpointing.clear()
    return result
