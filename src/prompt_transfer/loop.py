"""The training loop of everything that trains: prompts (and TPT runs) and task projectors.

Only the given parameters learn (AdamW); the backbone, if any, is frozen. Each step draws the
next item of `batches`, turns it into a loss and steps. Every `eval_interval` steps and at the
last one the mean training loss since the last row, and the dev score when there is an
`evaluate`, go into the log; with `evaluate`, the parameters of the best dev score (step 0, the
start, included) are kept, otherwise the last ones.

`Checkpointing`, beside the loop, saves the loop's whole state every so many steps and resumes
from it: the batches come from a generator seeded before the loop, so a resumed run replays the
batches it already trained on (without computing them) and ends bit-identical to an
uninterrupted run.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import torch
from tqdm.auto import tqdm

from .errors import DivergedError

log = logging.getLogger(__name__)

LOG_COLUMNS = ["step", "examples_seen", "wall_seconds", "train_loss", "dev_accuracy"]
OPTIMIZER_MOMENTS = ("exp_avg", "exp_avg_sq")


@dataclass(frozen=True)
class LoopSettings:
    max_steps: int
    eval_interval: int
    learning_rate: float
    weight_decay: float = 0.0
    grad_clip: float = 0.0
    adam_eps: float = 1e-8  # torch's default
    warmup_steps: int = 0
    early_stopping_patience: int = 0  # evaluations without a better dev score; 0: never stop


@dataclass
class LoopResult:
    best: dict[str, torch.Tensor]  # parameters of the best dev score (or the last), on the CPU
    best_step: int
    best_score: float
    log: list[dict] = field(default_factory=list)
    steps_run: int = 0
    stopped_early: bool = False
    resumed_from: int = 0  # the step a checkpoint resumed this run at (0: a fresh start)


@dataclass
class Checkpointing:
    """Where and how often the loop saves its state, and what a saved state must match.

    The state: the parameters, AdamW's moments, the step, the best parameters so far, the log
    and the running counters.
    """

    path: Path
    interval: int
    fingerprint: str  # identifies the run (settings, task, data, init); other states are ignored

    def due(self, step: int, max_steps: int) -> bool:
        return bool(self.interval) and step % self.interval == 0 and step < max_steps

    def save(self, tensors: dict[str, torch.Tensor], state: dict) -> None:
        from .io import save_tensors

        save_tensors(self.path, tensors, {"fingerprint": self.fingerprint, **state})

    def load(self) -> tuple[dict[str, torch.Tensor], dict] | None:
        from .io import load_tensors

        if not self.path.is_file():
            return None
        tensors, meta = load_tensors(self.path)
        if meta.get("fingerprint") != self.fingerprint:
            log.warning("ignoring checkpoint %s: it belongs to another run", self.path)
            return None
        return tensors, meta

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)


def learning_rate(step: int, settings: LoopSettings) -> float:
    """Linear warm-up over `warmup_steps`, then constant (the paper's schedule)."""
    warmup = settings.warmup_steps
    return settings.learning_rate * (min(1.0, step / warmup) if warmup else 1.0)


def _snapshot(parameters: dict[str, torch.nn.Parameter]) -> dict[str, torch.Tensor]:
    return {name: p.detach().cpu().clone() for name, p in parameters.items()}


class _State:
    """The loop's running state, and its round trip through a checkpoint."""

    def __init__(self, parameters, optimizer):
        self.parameters, self.optimizer = parameters, optimizer
        self.result: LoopResult | None = None
        self.losses: list[float] = []
        self.evals_without_gain, self.seen, self.elapsed = 0, 0, 0.0

    def save(self, checkpointing: Checkpointing, step: int) -> None:
        tensors = {f"param.{n}": p.detach() for n, p in self.parameters.items()}
        tensors |= {f"best.{n}": t for n, t in self.result.best.items()}
        for n, p in self.parameters.items():
            tensors |= {f"{m}.{n}": self.optimizer.state[p][m] for m in OPTIMIZER_MOMENTS}
        result = self.result
        counters = {"step": step, "best_step": result.best_step, "best_score": result.best_score, "log": result.log}
        counters |= {"losses": self.losses, "evals_without_gain": self.evals_without_gain, "seen": self.seen}
        checkpointing.save(tensors, {**counters, "elapsed": self.elapsed})

    def restore(self, tensors: dict, meta: dict) -> int:
        start = meta["step"]
        with torch.no_grad():
            for n, p in self.parameters.items():
                p.copy_(tensors[f"param.{n}"])
                moments = {m: tensors[f"{m}.{n}"].to(p.device) for m in OPTIMIZER_MOMENTS}
                self.optimizer.state[p] = {"step": torch.tensor(float(start)), **moments}
        best = {n: tensors[f"best.{n}"] for n in self.parameters}
        self.result = LoopResult(best, meta["best_step"], meta["best_score"], meta["log"], resumed_from=start)
        self.losses, self.evals_without_gain = meta["losses"], meta["evals_without_gain"]
        self.seen, self.elapsed = meta["seen"], meta["elapsed"]
        return start


def train(
    parameters: dict[str, torch.nn.Parameter],
    batches: Iterator,
    loss_of: Callable[[object], tuple[torch.Tensor, int]],
    settings: LoopSettings,
    evaluate: Callable[[], float] | None = None,
    initial_loss: float = math.nan,
    checkpointing: Checkpointing | None = None,
    name: str = "train",
    progress: bool = True,
) -> LoopResult:
    """Train `parameters` on the losses of `batches` (`loss_of(item)` -> (loss, examples)).

    The log's step-0 row holds `initial_loss` and the starting dev score. A loss that is not
    finite raises DivergedError naming `name`.
    """
    optimizer = torch.optim.AdamW(
        parameters.values(), lr=settings.learning_rate, eps=settings.adam_eps, weight_decay=settings.weight_decay
    )
    state = _State(parameters, optimizer)
    saved = checkpointing.load() if checkpointing else None
    if saved:
        start = state.restore(*saved)
        for _ in range(start):  # replay the batches already trained on
            next(batches)
        log.info("%s: resumed at step %d from %s", name, start, checkpointing.path)
    else:
        start, score = 0, evaluate() if evaluate else math.nan
        state.result = LoopResult(
            _snapshot(parameters), 0, score, [dict(zip(LOG_COLUMNS, [0, 0, 0.0, initial_loss, score]))]
        )

    started = time.perf_counter() - state.elapsed
    bar = tqdm(
        range(start + 1, settings.max_steps + 1),
        desc=name,
        disable=not progress,
        mininterval=5,
        initial=start,
        total=settings.max_steps,
    )
    for step in bar:
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(step, settings)
        loss, examples = loss_of(next(batches))
        _step(loss, parameters, optimizer, settings, f"{name} loss is {loss.item()} at step {step}")
        state.losses.append(loss.item())
        state.seen += examples
        state.result.steps_run = step
        if step % settings.eval_interval == 0 or step == settings.max_steps:
            if _log_and_select(state, step, started, evaluate, settings, bar):
                break
        if checkpointing and checkpointing.due(step, settings.max_steps):
            state.elapsed = time.perf_counter() - started
            state.save(checkpointing, step)
    if evaluate is None:
        state.result.best = _snapshot(parameters)
        state.result.best_step = state.result.steps_run
    return state.result


def _step(loss: torch.Tensor, parameters: dict, optimizer, settings: LoopSettings, where: str) -> None:
    if not math.isfinite(loss.item()):
        raise DivergedError(f"{where}; lower the learning rate")
    loss.backward()
    if settings.grad_clip:
        torch.nn.utils.clip_grad_norm_(parameters.values(), settings.grad_clip)
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)


def _log_and_select(state: _State, step: int, started: float, evaluate, settings: LoopSettings, bar) -> bool:
    """Log a row, keep the parameters if dev improved; True when early stopping ends the run."""
    result = state.result
    score = evaluate() if evaluate else math.nan
    mean_loss = sum(state.losses) / len(state.losses)
    result.log.append(dict(zip(LOG_COLUMNS, [step, state.seen, time.perf_counter() - started, mean_loss, score])))
    log.info("step %d: train loss %.4f, dev score %.4f", step, mean_loss, score)
    bar.set_postfix(loss=f"{mean_loss:.3f}", dev=f"{score:.3f}")
    state.losses = []
    if evaluate is None:
        return False
    if score > result.best_score:
        result.best, result.best_step, result.best_score = _snapshot(state.parameters), step, score
        state.evals_without_gain = 0
    else:
        state.evals_without_gain += 1
    patience = settings.early_stopping_patience
    if patience and state.evals_without_gain >= patience:
        result.stopped_early = True
        return True
    return False
