"""Zero-shot evaluation of a prompt (or none) on a task's examples."""

from __future__ import annotations

import torch

from .runtime import Runtime, evaluation_attention
from .scorers import Encoded, Scorer


def length_sorted_batches(items: list[Encoded], batch_size: int) -> list[list[Encoded]]:
    """Batches of similar length, so dynamic padding wastes little compute."""
    order = sorted(range(len(items)), key=lambda i: len(items[i].ids))
    return [[items[i] for i in order[s : s + batch_size]] for s in range(0, len(order), batch_size)]


@torch.inference_mode()
def predict(scorer: Scorer, prompt: torch.Tensor | None, items: list[Encoded], batch_size: int, runtime: Runtime) -> torch.Tensor:
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


def accuracy(scorer: Scorer, prompt: torch.Tensor | None, items: list[Encoded], batch_size: int, runtime: Runtime) -> float:
    labels = torch.tensor([x.label for x in items])
    return (predict(scorer, prompt, items, batch_size, runtime) == labels).sum().item() / len(items)


class Session:
    """Backbones, scorers and tokenised validation splits, loaded once and reused.

    A job creates a fresh session; a warm evaluation worker (worker.py) keeps one across the
    jobs it serves, so each backbone is loaded and each split tokenised once per worker.
    Both go through the same code, so a result does not depend on who computed it.
    """

    def __init__(self):
        self.models, self.scorers, self.items = {}, {}, {}

    def open(self, manifest, backbone: dict, task: dict, settings: dict, data_dir, threads):
        """(runtime, scorer, encoded validation items) for one job."""
        import json
        from pathlib import Path

        from .backbones import load_backbone
        from .data import read_split
        from .runtime import setup_runtime
        from .scorers import make_scorer

        runtime = setup_runtime(threads, settings["precision"])
        dtype = backbone.get("dtype", "float32")
        model_key = (str(Path(manifest).resolve()), backbone["scorer"], dtype, str(runtime.device))
        if model_key not in self.models:
            self.models[model_key] = load_backbone(manifest, backbone["scorer"], dtype, runtime.device)
        scorer_key = json.dumps([model_key, backbone.get("scorer_options"), task, settings["max_length"]], sort_keys=True)
        if scorer_key not in self.scorers:
            model, tokenizer = self.models[model_key]
            self.scorers[scorer_key] = make_scorer(backbone["scorer"], model, tokenizer, task, settings["max_length"], backbone.get("scorer_options"))
        scorer = self.scorers[scorer_key]
        split = Path(data_dir, "validation.jsonl").resolve()
        stat = split.stat()
        items_key = (scorer_key, str(split), stat.st_mtime_ns, stat.st_size)
        if items_key not in self.items:
            self.items[items_key] = scorer.encode(read_split(data_dir, "validation"))
        return runtime, scorer, self.items[items_key]


def run_transfer_job(manifest, backbone: dict, task: dict, settings: dict, prompt_path, data_dir, out, threads=None, session=None) -> dict:
    """The zero-shot rule: score a (source) prompt on the target task's validation split.

    settings: the target's max_length and precision, and the evaluation batch size.
    """
    from .io import write_json
    from .prompts import load_prompt

    runtime, scorer, items = (session or Session()).open(manifest, backbone, task, settings, data_dir, threads)
    prompt, meta = load_prompt(prompt_path, scorer.hidden_size)
    result = {
        "backbone": backbone["name"],
        "source": meta.get("task"),
        "target": task["name"],
        "accuracy": accuracy(scorer, prompt, items, settings["batch_size"], runtime),
        "examples": len(items),
        "prompt": str(prompt_path),
        "seed": meta.get("settings", {}).get("seed"),
        "runtime": runtime.describe(),
    }
    write_json(out, result)
    return result


def run_baseline_job(manifest, backbone: dict, task: dict, settings: dict, data_dir, out, threads=None, session=None) -> dict:
    """The baseline rule: the target task with no prompt and with random prompts.

    Random prompts are drawn like a trained prompt's initialisation (settings: prompt_length,
    prompt_init, init_std), from seeds `seed`, `seed + 1`, ...
    """
    from .io import write_json

    runtime, scorer, items = (session or Session()).open(manifest, backbone, task, settings, data_dir, threads)
    seeds = [settings["seed"] + k for k in range(settings["random_prompts"])]
    random_scores = []
    for seed in seeds:
        prompt = scorer.init_prompt(settings["prompt_length"], settings["prompt_init"], torch.Generator().manual_seed(seed), settings["init_std"])
        random_scores.append(accuracy(scorer, prompt, items, settings["batch_size"], runtime))
    result = {
        "backbone": backbone["name"],
        "target": task["name"],
        "no_prompt": accuracy(scorer, None, items, settings["batch_size"], runtime),
        "random": random_scores,
        "random_mean": sum(random_scores) / len(random_scores),
        "random_seeds": seeds,
        "examples": len(items),
        "runtime": runtime.describe(),
    }
    write_json(out, result)
    return result


BASELINE_ROWS = {"no_prompt": "no prompt", "random_mean": "random prompt"}


def transfer_matrix(pair_files, baseline_files, task_types: dict[str, str]):
    """Long table of every (source, target) score with relative performance.

    relative = score(target | source's prompt) / score(target | its own prompt) * 100.
    Baselines enter as sources "no prompt" and "random prompt" of type "baseline".
    """
    import pandas as pd

    from .io import read_json

    rows = [read_json(f) for f in pair_files]
    for f in baseline_files:
        b = read_json(f)
        rows += [{"backbone": b["backbone"], "source": name, "target": b["target"], "accuracy": b[key], "examples": b["examples"]} for key, name in BASELINE_ROWS.items()]
    frame = pd.DataFrame(rows)[["backbone", "source", "target", "accuracy", "examples"]]
    own = frame[frame.source == frame.target].set_index("target")["accuracy"]
    frame["own_accuracy"] = frame.target.map(own)
    frame["relative"] = 100 * frame.accuracy / frame.own_accuracy
    frame["source_type"] = frame.source.map(task_types).fillna("baseline")
    frame["target_type"] = frame.target.map(task_types)
    frame["pair"] = "cross-type"
    frame.loc[frame.source_type == frame.target_type, "pair"] = "same-type"
    frame.loc[frame.source == frame.target, "pair"] = "own"
    frame.loc[frame.source_type == "baseline", "pair"] = "baseline"
    return frame


def transfer_summary(matrix):
    """Per target: own-prompt, no-prompt and random-prompt accuracy, and mean relative
    performance of same-type and cross-type sources; plus an "all" row of means (pooled over
    pairs for the relative columns; own_beats_random counts tasks)."""
    import pandas as pd

    acc = matrix.pivot_table(index="target", columns="source", values="accuracy")
    table = pd.DataFrame(
        {
            "own": [acc.loc[t, t] for t in acc.index],
            "no_prompt": acc["no prompt"],
            "random_prompt": acc["random prompt"],
        },
        index=acc.index,
    )
    table["own_minus_random"] = table.own - table.random_prompt
    table["own_beats_random"] = (table.own_minus_random > 0).astype(int)
    pairs = matrix[matrix.pair.isin(["same-type", "cross-type"])]
    rel = pairs.pivot_table(index="target", columns="pair", values="relative", aggfunc="mean")
    table["same_type_relative"] = rel.get("same-type")
    table["cross_type_relative"] = rel.get("cross-type")
    table = table.reset_index()
    pooled = pairs.groupby("pair")["relative"].mean()
    overall = {
        "target": "all",
        "own": table.own.mean(),
        "no_prompt": table.no_prompt.mean(),
        "random_prompt": table.random_prompt.mean(),
        "own_minus_random": table.own_minus_random.mean(),
        "own_beats_random": table.own_beats_random.sum(),  # how many tasks
        "same_type_relative": pooled.get("same-type"),
        "cross_type_relative": pooled.get("cross-type"),
    }
    return pd.concat([table, pd.DataFrame([overall])], ignore_index=True)
