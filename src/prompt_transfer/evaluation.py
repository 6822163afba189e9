"""Zero-shot evaluation of a prompt (or none) on a task's examples, and the jobs that do it."""

from __future__ import annotations

import torch

from .backbones import evaluation_attention
from .runtime import Runtime
from .scorers import Encoded, Scorer, truncated_inputs
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


def scored_outputs(
    scorer: Scorer, prompt: torch.Tensor | None, items: list[Encoded], batch_size: int, runtime: Runtime
) -> tuple[list[float], list[str] | None]:
    """Each item's score, in the order of `items`: 1 or 0 (the right class or not), or for a
    generation task its metric (F1, ROUGE-L; generation.py), with the texts it wrote (None for
    classification). The scores are what the intervals resample."""
    if getattr(scorer, "generates", False):
        from .generation import scored_texts

        return scored_texts(scorer, prompt, items, batch_size, runtime)
    labels = torch.tensor([x.label for x in items])
    return (predict(scorer, prompt, items, batch_size, runtime) == labels).float().tolist(), None


def example_scores(
    scorer: Scorer, prompt: torch.Tensor | None, items: list[Encoded], batch_size: int, runtime: Runtime
) -> list[float]:
    return scored_outputs(scorer, prompt, items, batch_size, runtime)[0]


def accuracy(
    scorer: Scorer, prompt: torch.Tensor | None, items: list[Encoded], batch_size: int, runtime: Runtime
) -> float:
    """The task's score: accuracy, or a generation task's metric; the mean of example_scores."""
    return mean(example_scores(scorer, prompt, items, batch_size, runtime))


def mean(scores: list[float]) -> float:
    return sum(scores) / len(scores)


def stored(scores: list[float]) -> str | list[float]:
    """Per-example scores as results keep them: '0110…' when each is 0 or 1, else rounded numbers."""
    if all(score in (0.0, 1.0) for score in scores):
        return "".join("1" if score else "0" for score in scores)
    return [round(score, 4) for score in scores]


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
    truncated = truncated_inputs(items, "validation", job.evaluation.max_length)
    scores, predictions = scored_outputs(scorer, prompt, items, job.evaluation.batch_size, runtime)
    result = {
        "backbone": job.backbone.name,
        "source": meta.get("task"),
        "target": job.task.name,
        "accuracy": mean(scores),
        "metric": metric_name(scorer),
        "example_scores": stored(scores),
        "examples": len(items),
        "prompt": str(prompt_path),
        "seed": meta.get("settings", {}).get("seed"),
        "truncated_inputs": truncated,
        "runtime": runtime.describe(),
    }
    if predictions is not None and job.evaluation.examples_kept:
        from .generation import kept_examples

        result["generated"] = kept_examples(scorer, items, predictions, scores, job.evaluation.examples_kept)
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
    truncated = truncated_inputs(items, "validation", job.evaluation.max_length)
    seeds = [job.seed + k for k in range(job.random_prompts)]
    random_examples = []
    for seed in seeds:
        prompt = scorer.init_prompt(
            job.prompt_length, job.prompt_init, torch.Generator().manual_seed(seed), job.init_std
        )
        random_examples.append(example_scores(scorer, prompt, items, batch_size, runtime))
    random_scores = [mean(scores) for scores in random_examples]
    no_prompt_examples = example_scores(scorer, None, items, batch_size, runtime)
    result = {
        "backbone": job.backbone.name,
        "target": job.task.name,
        "no_prompt": mean(no_prompt_examples),
        "no_prompt_example_scores": stored(no_prompt_examples),
        "random": random_scores,
        "random_example_scores": [stored(scores) for scores in random_examples],
        "random_mean": mean(random_scores),
        "random_seeds": seeds,
        "metric": metric_name(scorer),
        "examples": len(items),
        "truncated_inputs": truncated,
        "runtime": runtime.describe(),
    }
    if job.uniform_random:  # the authors' baseline: uniform [0, 1) values, a fresh draw per evaluation
        shape = (job.prompt_length, scorer.hidden_size)
        uniform = [torch.rand(shape, generator=torch.Generator().manual_seed(seed)) for seed in seeds]
        uniform_examples = [example_scores(scorer, p, items, batch_size, runtime) for p in uniform]
        result["uniform_random_example_scores"] = [stored(scores) for scores in uniform_examples]
        result["uniform_random"] = [mean(scores) for scores in uniform_examples]
        result["uniform_random_mean"] = mean(result["uniform_random"])
    write_json(out, result)
    return result
