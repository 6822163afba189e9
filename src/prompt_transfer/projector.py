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

import itertools
import logging
from dataclasses import dataclass

import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from . import loop
from .backbones import prepare_frozen_backbone
from .evaluation import accuracy
from .io import load_tensors, save_tensors, write_csv
from .loop import LOG_COLUMNS
from .prompts import PromptShapeError, load_prompt, save_prompt
from .runtime import Runtime, seed_everything, setup_runtime
from .scorers import Encoded, Scorer
from .session import Session
from .specs import ProjectorJob, ProjectorSettings, TaskProjectorJob
from .training import training_batches

log = logging.getLogger(__name__)


class PromptProjector(nn.Module):
    """[..., L, d_s] source prompts -> [..., L, d_t] prompts of the target backbone."""

    def __init__(self, prompt_length: int, source_size: int, target_size: int, hidden_size: int):
        super().__init__()
        self.shape = {
            "prompt_length": prompt_length,
            "source_size": source_size,
            "target_size": target_size,
            "hidden_size": hidden_size,
        }
        self.encode = nn.Linear(prompt_length * source_size, hidden_size)
        self.decode = nn.Linear(hidden_size, prompt_length * target_size)
        self.norm = nn.LayerNorm(target_size)

    def forward(self, prompt: torch.Tensor) -> torch.Tensor:
        expected = (self.shape["prompt_length"], self.shape["source_size"])
        if tuple(prompt.shape[-2:]) != expected:
            raise PromptShapeError(
                f"the projector maps prompts of shape {list(expected)}, not {list(prompt.shape[-2:])}"
            )
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


def loop_settings(settings: ProjectorSettings) -> loop.LoopSettings:
    keys = ("max_steps", "eval_interval", "learning_rate", "weight_decay", "grad_clip", "adam_eps")
    return loop.LoopSettings(**{k: getattr(settings, k) for k in keys})


def train_distance(
    projector: PromptProjector,
    sources: torch.Tensor,
    targets: torch.Tensor,
    settings: ProjectorSettings,
    progress: bool = True,
) -> list[dict]:
    """Fit projector(sources[k]) to targets[k] ([K, L, d_s] -> [K, L, d_t]) by MSE, all K
    prompts in every step; the last projector is kept. Returns the log (train_loss at step 0
    is the initial MSE)."""
    with torch.no_grad():
        initial = F.mse_loss(projector(sources), targets).item()
    result = loop.train(
        dict(projector.named_parameters()),
        itertools.repeat(None),
        lambda _: (F.mse_loss(projector(sources), targets), len(sources)),
        loop_settings(settings),
        initial_loss=initial,
        name="projector (distance)",
        progress=progress,
    )
    return result.log


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


def cycling(tasks: list[ProjectionTask], batch_size: int, generator: torch.Generator):
    """(task, batch) of step s from task s mod K, each task's batches its own shuffled stream."""
    streams = [training_batches(t.train, batch_size, generator) for t in tasks]
    while True:
        for task, stream in zip(tasks, streams):
            yield task, next(stream)


def train_task(
    projector: PromptProjector,
    tasks: list[ProjectionTask],
    settings: ProjectorSettings,
    runtime: Runtime,
    generator: torch.Generator,
    eval_batch_size: int = 64,
    progress: bool = True,
) -> loop.LoopResult:
    """Train the projector through the frozen target backbone: step s uses a batch of task
    s mod K, whose loss reaches only the projector (through the projected prompt). The
    projector of the best mean dev accuracy is kept (`best`, a state dict)."""

    def loss_of(item):
        task, items = item
        batch = task.scorer.collate(items).to(runtime.device)
        prompt = projector(task.source_prompt)  # fp32; the scorer casts it under autocast
        with runtime.autocast():
            logits = task.scorer.logits(prompt, batch)
        return F.cross_entropy(logits.float(), batch.labels), len(batch)

    return loop.train(
        dict(projector.named_parameters()),
        cycling(tasks, settings.batch_size, generator),
        loss_of,
        loop_settings(settings),
        evaluate=lambda: dev_accuracy(projector, tasks, eval_batch_size, runtime),
        name="projector (task)",
        progress=progress,
    )


# --- workflow jobs --------------------------------------------------------------------------


def _new_projector(sources: torch.Tensor, target_size: int, settings: ProjectorSettings) -> PromptProjector:
    seed_everything(settings.seed)  # the initial weights
    _, length, source_size = sources.shape
    return PromptProjector(length, source_size, target_size, settings.hidden_size)


def _write(out, out_log, projector: PromptProjector, log_rows: list[dict], metadata: dict) -> None:
    write_csv(out_log, pd.DataFrame(log_rows, columns=LOG_COLUMNS))
    save_projector(out, projector, metadata)


def run_distance_job(job: ProjectorJob, source_prompts, target_prompts, out, out_log, threads=None) -> PromptProjector:
    """The distance rule. The prompt files follow the order of job.tasks."""
    setup_runtime(threads, "fp32")  # thread count only: this job runs no backbone
    sources, targets = stack_prompts(source_prompts), stack_prompts(target_prompts)
    if sources.shape[1] != targets.shape[1]:
        raise PromptShapeError(
            f"source prompts have length {sources.shape[1]} but the target's own prompts {targets.shape[1]}; "
            "the distance objective needs equal prompt_length on both backbones"
        )
    projector = _new_projector(sources, targets.shape[2], job.settings)
    log_rows = train_distance(projector, sources, targets, job.settings)
    _write(out, out_log, projector, log_rows, {**_identity(job, "distance"), "final_mse": log_rows[-1]["train_loss"]})
    return projector


def run_task_job(
    job: TaskProjectorJob, manifest, source_prompts, data_dirs, out, out_log, threads=None
) -> loop.LoopResult:
    """The task rule. `source_prompts` and `data_dirs` follow the order of job.tasks."""
    runtime = setup_runtime(threads, job.precision)
    sources = stack_prompts(source_prompts)
    session = Session()
    tasks = []
    for task, max_length, prompt, data_dir in zip(job.scoring, job.max_lengths, sources, data_dirs):
        scorer = session.scorer(manifest, job.backbone, task, max_length, runtime)
        train, dev = (session.split(scorer, data_dir, split) for split in ("train", "dev"))
        tasks.append(ProjectionTask(scorer, prompt.to(runtime.device), train, dev))
    prepare_frozen_backbone(tasks[0].scorer.model, runtime)
    projector = _new_projector(sources, tasks[0].scorer.hidden_size, job.settings).to(runtime.device)
    generator = seed_everything(job.settings.seed)
    result = train_task(projector, tasks, job.settings, runtime, generator, job.eval_batch_size)
    projector.load_state_dict(result.best)
    metadata = {
        **_identity(job, "task"),
        "best_step": result.best_step,
        "best_dev_accuracy": result.best_score,
        "runtime": runtime.describe(),
    }
    _write(out, out_log, projector, result.log, metadata)
    return result


def _identity(job: ProjectorJob, objective: str) -> dict:
    return {
        "source_backbone": job.source,
        "target_backbone": job.target,
        "objective": objective,
        "task_set": job.task_set,
        "tasks": job.tasks,
        "settings": job.settings.to_dict(),
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
            "init": {
                "kind": "projected",
                "source_backbone": meta["source_backbone"],
                "source_prompt": str(prompt_path),
            },
            "projector": {k: meta[k] for k in ("objective", "task_set", "tasks")} | {"path": str(projector_path)},
        },
    )
    return projected
