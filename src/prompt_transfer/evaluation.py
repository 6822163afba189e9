"""Zero-shot evaluation of a prompt (or none) on a task's examples, and the jobs that do it."""

from __future__ import annotations

import torch

from .backbones import evaluation_attention
from .runtime import Runtime
from .scorers import Encoded, Scorer
from .session import Session
from .specs import BaselineJob, TransferJob


def length_sorted_batches(items: list[Encoded], batch_size: int) -> list[list[Encoded]]:
    """Batches of similar length, so dynamic padding wastes little compute."""
    order = sorted(range(len(items)), key=lambda i: len(items[i].ids))
    return [[items[i] for i in order[s : s + batch_size]] for s in range(0, len(order), batch_size)]


@torch.inference_mode()
def predict(
    scorer: Scorer, prompt: torch.Tensor | None, items: list[Encoded], batch_size: int, runtime: Runtime
) -> torch.Tensor:
    """Predicted class per item, in the order of `items`."""
    order = sorted(range(len(items)), key=lambda i: len(items[i].ids))
    predictions = torch.empty(len(items), dtype=torch.long)
    if prompt is not None:
        prompt = prompt.to(runtime.device)
    with evaluation_attention(scorer.model):
        for start in range(0, len(order), batch_size):
            index = order[start : start + batch_size]
            batch = scorer.collate([items[i] for i in index]).to(runtime.device)
            with runtime.autocast():
                logits = scorer.logits(prompt, batch)
            predictions[index] = logits.argmax(-1).cpu()
    return predictions


def accuracy(
    scorer: Scorer, prompt: torch.Tensor | None, items: list[Encoded], batch_size: int, runtime: Runtime
) -> float:
    """The task's score: accuracy, or for a generation task its metric (F1, ROUGE-L; generation.py)."""
    if getattr(scorer, "generates", False):
        from .generation import task_score

        return task_score(scorer, prompt, items, batch_size, runtime)
    labels = torch.tensor([x.label for x in items])
    return (predict(scorer, prompt, items, batch_size, runtime) == labels).sum().item() / len(items)


def metric_name(scorer: Scorer) -> str:
    """What `accuracy` measures for the scorer's task: accuracy, f1 or rouge_l."""
    return getattr(scorer, "metric", "accuracy")


def run_transfer_job(
    job: TransferJob, manifest, prompt_path, data_dir, out, threads=None, session: Session | None = None
) -> dict:
    """The zero-shot rule: score a (source) prompt on the target task's validation split."""
    from .io import write_json
    from .prompts import load_prompt

    runtime, scorer, items = (session or Session()).open(
        manifest, job.backbone, job.task, job.evaluation, data_dir, threads
    )
    prompt, meta = load_prompt(prompt_path, scorer.hidden_size)
    result = {
        "backbone": job.backbone.name,
        "source": meta.get("task"),
        "target": job.task.name,
        "accuracy": accuracy(scorer, prompt, items, job.evaluation.batch_size, runtime),
        "metric": metric_name(scorer),
        "examples": len(items),
        "prompt": str(prompt_path),
        "seed": meta.get("settings", {}).get("seed"),
        "runtime": runtime.describe(),
    }
    write_json(out, result)
    return result


def run_baseline_job(job: BaselineJob, manifest, data_dir, out, threads=None, session: Session | None = None) -> dict:
    """The baseline rule: the target task with no prompt and with random prompts, drawn like a
    trained prompt's initialisation from seeds `seed`, `seed + 1`, ..."""
    from .io import write_json

    runtime, scorer, items = (session or Session()).open(
        manifest, job.backbone, job.task, job.evaluation, data_dir, threads
    )
    batch_size = job.evaluation.batch_size
    seeds = [job.seed + k for k in range(job.random_prompts)]
    random_scores = []
    for seed in seeds:
        prompt = scorer.init_prompt(
            job.prompt_length, job.prompt_init, torch.Generator().manual_seed(seed), job.init_std
        )
        random_scores.append(accuracy(scorer, prompt, items, batch_size, runtime))
    result = {
        "backbone": job.backbone.name,
        "target": job.task.name,
        "no_prompt": accuracy(scorer, None, items, batch_size, runtime),
        "random": random_scores,
        "random_mean": sum(random_scores) / len(random_scores),
        "random_seeds": seeds,
        "metric": metric_name(scorer),
        "examples": len(items),
        "runtime": runtime.describe(),
    }
    write_json(out, result)
    return result
