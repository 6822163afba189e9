"""Cross-model prompt transfer: a projector maps one backbone's soft prompts into another's.

The projector is the paper's (`AE_1_layer_mutiple_100_paper` in the authors' code): the source
prompt [L, d_s] is flattened, passed through Linear(L*d_s, h) -> Tanh -> Linear(h, L*d_t),
reshaped to [L, d_t] and normalised per token by LayerNorm(d_t).

One projector is trained per (source backbone, target backbone, objective, training task set):

  distance  minimise the MSE between the projected source prompt of each task k of the set and
            the target backbone's own trained prompt of k; needs no backbone at all. The last
            projector is kept (there is no dev score to select on).
  task      put the projected source prompt of task k into the frozen target backbone and
            minimise the cross-entropy of task k's training batches, cycling over the tasks of
            the set; only the projector learns. The projector with the best mean dev accuracy
            over the set (scored before the first step and every `eval_interval` steps) is kept.

Projected prompts are ordinary prompt files of the target backbone (metadata "task" is the
source prompt's task), so zero-shot evaluation and initialisation transfer read them as they
read any trained prompt.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass

import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from .backbones import load_backbone
from .data import read_split
from .evaluation import accuracy
from .io import load_tensors, save_tensors, write_csv
from .prompts import PromptShapeError, load_prompt, save_prompt
from .runtime import Runtime, prepare_frozen_backbone, seed_everything, setup_runtime
from .scorers import Encoded, Scorer, make_scorer
from .training import LOG_COLUMNS, DivergedError, training_batches

log = logging.getLogger(__name__)


class PromptProjector(nn.Module):
    """[..., L, d_s] source prompts -> [..., L, d_t] prompts of the target backbone."""

    def __init__(self, prompt_length: int, source_size: int, target_size: int, hidden_size: int):
        super().__init__()
        self.shape = {"prompt_length": prompt_length, "source_size": source_size, "target_size": target_size, "hidden_size": hidden_size}
        self.encode = nn.Linear(prompt_length * source_size, hidden_size)
        self.decode = nn.Linear(hidden_size, prompt_length * target_size)
        self.norm = nn.LayerNorm(target_size)

    def forward(self, prompt: torch.Tensor) -> torch.Tensor:
        expected = (self.shape["prompt_length"], self.shape["source_size"])
        if tuple(prompt.shape[-2:]) != expected:
            raise PromptShapeError(f"the projector maps prompts of shape {list(expected)}, not {list(prompt.shape[-2:])}")
        hidden = torch.tanh(self.encode(prompt.flatten(-2)))
        out = self.decode(hidden).unflatten(-1, (self.shape["prompt_length"], self.shape["target_size"]))
        return self.norm(out)


def save_projector(path, projector: PromptProjector, metadata: dict) -> None:
    save_tensors(path, projector.state_dict(), {"shape": projector.shape, **metadata})


def load_projector(path) -> tuple[PromptProjector, dict]:
    """A projector file (safetensors: weights, and its shape in the metadata), in eval mode."""
    tensors, meta = load_tensors(path)
    if "shape" not in meta:
        raise PromptShapeError(f"{path}: not a projector file (no 'shape' in its metadata)")
    projector = PromptProjector(**meta["shape"])
    projector.load_state_dict(tensors)
    projector.requires_grad_(False)
    return projector.eval(), meta


def stack_prompts(paths, hidden_size: int | None = None) -> torch.Tensor:
    """Prompt files of equal shape -> [K, L, d]."""
    prompts = [load_prompt(p, hidden_size)[0] for p in paths]
    shapes = {tuple(p.shape) for p in prompts}
    if len(shapes) > 1:
        listing = ", ".join(f"{path}: {list(p.shape)}" for path, p in zip(paths, prompts))
        raise PromptShapeError(f"a projector needs prompts of one shape, got {listing}")
    return torch.stack(prompts)


def _optimizer(projector: PromptProjector, settings: dict) -> torch.optim.Optimizer:
    return torch.optim.AdamW(
        projector.parameters(), lr=settings["learning_rate"], eps=settings["adam_eps"], weight_decay=settings["weight_decay"]
    )


def _step(projector: PromptProjector, optimizer: torch.optim.Optimizer, loss: torch.Tensor, settings: dict, step: int) -> None:
    if not math.isfinite(loss.item()):
        raise DivergedError(f"projector loss is {loss.item()} at step {step}; lower projector.learning_rate")
    loss.backward()
    if settings["grad_clip"]:
        torch.nn.utils.clip_grad_norm_(projector.parameters(), settings["grad_clip"])
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)


def _logs_at(step: int, settings: dict) -> bool:
    return step % settings["eval_interval"] == 0 or step == settings["max_steps"]


def train_distance(projector: PromptProjector, sources: torch.Tensor, targets: torch.Tensor, settings: dict, progress: bool = True) -> list[dict]:
    """Fit projector(sources[k]) to targets[k] ([K, L, d_s] -> [K, L, d_t]) by MSE, all K
    prompts in every step. Returns the log (train_loss at step 0 is the initial MSE)."""
    optimizer = _optimizer(projector, settings)
    started = time.perf_counter()
    with torch.no_grad():
        initial = F.mse_loss(projector(sources), targets).item()
    rows = [dict(zip(LOG_COLUMNS, [0, 0, 0.0, initial, math.nan]))]
    losses = []
    bar = tqdm(range(1, settings["max_steps"] + 1), desc="projector (distance)", disable=not progress, mininterval=5)
    for step in bar:
        loss = F.mse_loss(projector(sources), targets)
        _step(projector, optimizer, loss, settings, step)
        losses.append(loss.item())
        if _logs_at(step, settings):
            rows.append(dict(zip(LOG_COLUMNS, [step, step * len(sources), time.perf_counter() - started, sum(losses) / len(losses), math.nan])))
            bar.set_postfix(mse=f"{rows[-1]['train_loss']:.4f}")
            log.info("step %d: MSE %.5f", step, rows[-1]["train_loss"])
            losses = []
    return rows


@dataclass
class ProjectionTask:
    """One task of a `task` projector's training set on the target backbone."""

    scorer: Scorer
    source_prompt: torch.Tensor  # [L, d_s], from the source backbone
    train: list[Encoded]
    dev: list[Encoded]


def dev_accuracy(projector: PromptProjector, tasks: list[ProjectionTask], batch_size: int, runtime: Runtime) -> float:
    """Mean dev accuracy over the tasks of their projected source prompts."""
    with torch.no_grad():
        scores = [accuracy(t.scorer, projector(t.source_prompt), t.dev, batch_size, runtime) for t in tasks]
    return sum(scores) / len(scores)


@dataclass
class TaskTrainResult:
    state: dict  # the best projector's state_dict on dev
    best_step: int
    best_dev_accuracy: float
    log: list[dict]


def train_task(
    projector: PromptProjector,
    tasks: list[ProjectionTask],
    settings: dict,
    runtime: Runtime,
    generator: torch.Generator,
    eval_batch_size: int = 64,
    progress: bool = True,
) -> TaskTrainResult:
    """Train the projector through the frozen target backbone: step s uses a batch of task
    s mod K, whose loss reaches only the projector (through the projected prompt)."""
    optimizer = _optimizer(projector, settings)
    streams = [training_batches(t.train, settings["batch_size"], generator) for t in tasks]
    started = time.perf_counter()

    def snapshot():
        return {k: v.detach().clone() for k, v in projector.state_dict().items()}

    best = dev_accuracy(projector, tasks, eval_batch_size, runtime)
    result = TaskTrainResult(snapshot(), 0, best, [dict(zip(LOG_COLUMNS, [0, 0, 0.0, math.nan, best]))])
    losses, seen = [], 0
    bar = tqdm(range(1, settings["max_steps"] + 1), desc="projector (task)", disable=not progress, mininterval=5)
    for step in bar:
        k = (step - 1) % len(tasks)
        task = tasks[k]
        batch = task.scorer.collate(next(streams[k])).to(runtime.device)
        prompt = projector(task.source_prompt)  # fp32; the scorer casts it under autocast
        with runtime.autocast():
            logits = task.scorer.logits(prompt, batch)
        loss = F.cross_entropy(logits.float(), batch.labels)
        _step(projector, optimizer, loss, settings, step)
        losses.append(loss.item())
        seen += len(batch)
        if _logs_at(step, settings):
            dev = dev_accuracy(projector, tasks, eval_batch_size, runtime)
            result.log.append(dict(zip(LOG_COLUMNS, [step, seen, time.perf_counter() - started, sum(losses) / len(losses), dev])))
            bar.set_postfix(loss=f"{result.log[-1]['train_loss']:.3f}", dev=f"{dev:.3f}")
            log.info("step %d: train loss %.4f, mean dev accuracy %.4f", step, result.log[-1]["train_loss"], dev)
            losses = []
            if dev > result.best_dev_accuracy:
                result.state, result.best_step, result.best_dev_accuracy = snapshot(), step, dev
    return result


# --- workflow jobs --------------------------------------------------------------------------


def _new_projector(sources: torch.Tensor, target_size: int, settings: dict) -> PromptProjector:
    seed_everything(settings["seed"])  # the initial weights
    _, length, source_size = sources.shape
    return PromptProjector(length, source_size, target_size, settings["hidden_size"])


def _write(out, out_log, projector: PromptProjector, log_rows: list[dict], metadata: dict) -> None:
    write_csv(out_log, pd.DataFrame(log_rows, columns=LOG_COLUMNS))
    save_projector(out, projector, metadata)


def run_distance_job(job: dict, source_prompts, target_prompts, out, out_log, threads=None) -> PromptProjector:
    """The distance rule. job: source, target (backbone names), task_set, tasks (in the order
    of the prompt files) and settings."""
    setup_runtime(threads, "fp32")  # thread count only: this job runs no backbone
    sources, targets = stack_prompts(source_prompts), stack_prompts(target_prompts)
    if sources.shape[1] != targets.shape[1]:
        raise PromptShapeError(
            f"source prompts have length {sources.shape[1]} but the target's own prompts {targets.shape[1]}; "
            "the distance objective needs equal prompt_length on both backbones"
        )
    settings = job["settings"]
    projector = _new_projector(sources, targets.shape[2], settings)
    log_rows = train_distance(projector, sources, targets, settings)
    _write(out, out_log, projector, log_rows, {**_identity(job, "distance"), "final_mse": log_rows[-1]["train_loss"]})
    return projector


def run_task_job(manifest, backbone: dict, job: dict, source_prompts, data_dirs, out, out_log, threads=None) -> TaskTrainResult:
    """The task rule. job: source, target, task_set, tasks, settings, precision,
    eval_batch_size and scoring: per task, its scorer spec (the target's family) and
    max_length. `source_prompts` and `data_dirs` follow the order of job["tasks"]."""
    settings = job["settings"]
    runtime = setup_runtime(threads, job["precision"])
    sources = stack_prompts(source_prompts)
    model, tokenizer = load_backbone(manifest, backbone["scorer"], backbone.get("dtype", "float32"), runtime.device)
    tasks = []
    for name, prompt, data_dir in zip(job["tasks"], sources, data_dirs):
        scoring = job["scoring"][name]
        scorer = make_scorer(backbone["scorer"], model, tokenizer, scoring["task"], scoring["max_length"], backbone.get("scorer_options"))
        train, dev = (scorer.encode(read_split(data_dir, split)) for split in ("train", "dev"))
        tasks.append(ProjectionTask(scorer, prompt.to(runtime.device), train, dev))
    prepare_frozen_backbone(model, runtime)
    projector = _new_projector(sources, tasks[0].scorer.hidden_size, settings).to(runtime.device)
    generator = seed_everything(settings["seed"])
    result = train_task(projector, tasks, settings, runtime, generator, job["eval_batch_size"])
    projector.load_state_dict(result.state)
    metadata = {**_identity(job, "task"), "best_step": result.best_step, "best_dev_accuracy": result.best_dev_accuracy, "runtime": runtime.describe()}
    _write(out, out_log, projector, result.log, metadata)
    return result


def _identity(job: dict, objective: str) -> dict:
    return {
        "source_backbone": job["source"],
        "target_backbone": job["target"],
        "objective": objective,
        "task_set": job["task_set"],
        "tasks": job["tasks"],
        "settings": job["settings"],
    }


def run_project_job(projector_path, prompt_path, out) -> torch.Tensor:
    """The projection rule: map one source prompt into the target backbone's prompt space."""
    projector, meta = load_projector(projector_path)
    prompt, prompt_meta = load_prompt(prompt_path, projector.shape["source_size"])
    with torch.no_grad():
        projected = projector(prompt)
    save_prompt(
        out,
        projected,
        {
            "backbone": meta["target_backbone"],
            "task": prompt_meta.get("task"),
            "init": {"kind": "projected", "source_backbone": meta["source_backbone"], "source_prompt": str(prompt_path)},
            "projector": {k: meta[k] for k in ("objective", "task_set", "tasks")} | {"path": str(projector_path)},
        },
    )
    return projected
