"""The zero-shot transfer matrix of a backbone: every (source, target) score with relative
performance and their intervals, a summary per target, and the same-type vs cross-type test.

With several training seeds a cell is the mean over the seeds of its source prompt (the target's
own prompt too, for relative performance), and its intervals resample seeds and examples; the
per-seed table keeps each seed's scores."""

from __future__ import annotations

import numpy as np

BASELINE_ROWS = {
    "no_prompt": "no prompt",
    "random_mean": "random prompt",
    "uniform_random_mean": "uniform random prompt",
}
# Per-example scores of each baseline's prompts.
BASELINE_SCORES = {
    "no prompt": "no_prompt_example_scores",
    "random prompt": "random_example_scores",
    "uniform random prompt": "uniform_random_example_scores",
}


def _scores(stored) -> np.ndarray:
    """[prompts, examples] from what results keep (evaluation.stored): one prompt's '0110…' or
    list of numbers, or a list of those."""
    if isinstance(stored, str) or not isinstance(stored[0], (str, list)):
        stored = [stored]
    return np.array([[c == "1" for c in s] if isinstance(s, str) else s for s in stored], dtype=float)


PAIR_COLUMNS = ["backbone", "source", "target", "accuracy", "metric", "examples"]


def _pair_kinds(frame, task_types: dict[str, str]):
    frame["source_type"] = frame.source.map(task_types).fillna("baseline")
    frame["target_type"] = frame.target.map(task_types)
    frame["pair"] = "cross-type"
    frame.loc[frame.source_type == frame.target_type, "pair"] = "same-type"
    frame.loc[frame.source == frame.target, "pair"] = "own"
    frame.loc[frame.source_type == "baseline", "pair"] = "baseline"
    return frame


def read_pairs(pair_files):
    """Every zero-shot result (one per source, target and seed) as a table with a `seed` column,
    and each (source, target)'s per-example scores [seeds, examples], seeds in order."""
    import pandas as pd

    from . import layout
    from .io import read_json

    results = sorted(((layout.seed_of(f), read_json(f)) for f in pair_files), key=lambda item: item[0])
    by_seed = pd.DataFrame([{**r, "seed": seed} for seed, r in results])
    if "metric" not in by_seed:
        by_seed["metric"] = "accuracy"
    by_seed["metric"] = by_seed["metric"].fillna("accuracy")
    per_example = {}
    for seed, r in results:
        per_example.setdefault((r["source"], r["target"]), []).append(_scores(r["example_scores"])[0])
    return by_seed[["seed", *PAIR_COLUMNS]], {key: np.stack(rows) for key, rows in per_example.items()}


def matrix_by_seed(by_seed, task_types: dict[str, str]):
    """Each seed's cells, relative to the same seed's own prompt."""
    frame = by_seed.copy()
    own = frame[frame.source == frame.target].set_index(["seed", "target"])["accuracy"]
    frame["own_accuracy"] = [own.get((s, t)) for s, t in zip(frame.seed, frame.target)]
    frame["relative"] = 100 * frame.accuracy / frame.own_accuracy
    return _pair_kinds(frame, task_types)[
        ["backbone", "seed", "source", "target", "accuracy", "metric", "own_accuracy", "relative",
         "pair", "source_type", "target_type"]
    ]  # fmt: skip


def transfer_matrix(pair_files, baseline_files, task_types: dict[str, str]):
    """Long table of every (source, target) score with relative performance, and the per-seed
    table (matrix_by_seed).

    relative = score(target | source's prompt) / score(target | its own prompt) * 100, both
    means over seeds. Baselines enter as sources "no prompt" and "random prompt" of type
    "baseline" (they use no trained prompt: one score, whatever the seeds). `accuracy` is the
    target's metric, named in `metric` (accuracy; f1 or rouge_l for generation tasks), so
    relative performance compares a target only with itself.
    """
    import pandas as pd

    from .io import read_json

    by_seed, per_example = read_pairs(pair_files)
    means = by_seed.groupby(["backbone", "source", "target", "metric", "examples"], as_index=False, sort=False)
    rows = means["accuracy"].mean().to_dict("records")
    for f in baseline_files:
        b = read_json(f)
        per_example |= {(name, b["target"]): _scores(b[key]) for name, key in BASELINE_SCORES.items() if key in b}
        rows += [
            {
                "backbone": b["backbone"],
                "source": name,
                "target": b["target"],
                "accuracy": b[key],
                "metric": b.get("metric", "accuracy"),
                "examples": b["examples"],
            }
            for key, name in BASELINE_ROWS.items()
            if key in b  # the uniform baseline only where asked for
        ]
    frame = pd.DataFrame(rows)[PAIR_COLUMNS]
    own = frame[frame.source == frame.target].set_index("target")["accuracy"]
    frame["own_accuracy"] = frame.target.map(own)
    frame["relative"] = 100 * frame.accuracy / frame.own_accuracy
    frame = _pair_kinds(frame, task_types)
    return _with_intervals(frame, per_example), matrix_by_seed(by_seed, task_types)


def _with_intervals(frame, per_example: dict):
    """95% bootstrap intervals over the validation examples (and seeds) of each row's accuracy,
    relative performance, and difference from the target's random prompts (paired: the same
    examples resampled for both)."""
    import pandas as pd

    from .uncertainty import cell_interval, difference_interval, ratio_interval

    columns = []
    for row in frame.itertuples():
        scores = per_example[row.source, row.target]
        cell = cell_interval(scores)
        _, rel_low, rel_high = ratio_interval(scores, per_example[row.target, row.target])
        vs_random = (
            (np.nan,) * 3
            if row.source == "random prompt"
            else difference_interval(scores, per_example["random prompt", row.target])
        )
        columns.append(
            {
                "accuracy_low": cell["low"],
                "accuracy_high": cell["high"],
                "relative_low": rel_low,
                "relative_high": rel_high,
                "minus_random": vs_random[0],
                "minus_random_low": vs_random[1],
                "minus_random_high": vs_random[2],
                "seeds": cell["seeds"],
            }
        )
    return pd.concat([frame.reset_index(drop=True), pd.DataFrame(columns)], axis=1)


def type_difference(matrix, by_seed, task_types: dict[str, str]):
    """Same-type minus cross-type mean relative performance with its interval and permutation
    p-value (uncertainty.type_difference, seeds resampled too where there are several), as a
    one-row table."""
    import pandas as pd

    from .uncertainty import type_difference as test

    tasks = [t for t in task_types if t in set(matrix.target)]
    grids = [
        seed_cells.pivot_table(index="source", columns="target", values="relative").reindex(index=tasks, columns=tasks)
        for _, seed_cells in by_seed.groupby("seed")
    ]
    result = test(np.stack([g.to_numpy() for g in grids]), [task_types[t] for t in tasks])
    pairs = matrix[matrix.pair.isin(["same-type", "cross-type"])].groupby("pair")["relative"].mean()
    examples = matrix.groupby("target")["examples"].first()
    return pd.DataFrame(
        [
            {
                "same_type_relative": pairs.get("same-type"),
                "cross_type_relative": pairs.get("cross-type"),
                "same_minus_cross": result["difference"],
                "low": result["low"],
                "high": result["high"],
                "p_value": result["p_value"],
                "tasks": result["tasks"],
                "seeds": result["seeds"],
                "examples_per_target": int(examples.median()),
            }
        ]
    )


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
    if "uniform random prompt" in acc:
        table["uniform_random_prompt"] = acc["uniform random prompt"]
    table["own_minus_random"] = table.own - table.random_prompt
    table["own_beats_random"] = (table.own_minus_random > 0).astype(int)
    # Sources whose 95% interval of (accuracy - random prompts') lies above / below zero.
    sources = matrix[matrix.pair.isin(["own", "same-type", "cross-type"])]
    table["sources_above_random"] = sources[sources.minus_random_low > 0].groupby("target").size()
    table["sources_below_random"] = sources[sources.minus_random_high < 0].groupby("target").size()
    table[["sources_above_random", "sources_below_random"]] = (
        table[["sources_above_random", "sources_below_random"]].fillna(0).astype(int)
    )
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
        **({"uniform_random_prompt": table.uniform_random_prompt.mean()} if "uniform_random_prompt" in table else {}),
        "own_minus_random": table.own_minus_random.mean(),
        "own_beats_random": table.own_beats_random.sum(),  # how many tasks
        "sources_above_random": table.sources_above_random.sum(),  # how many cells
        "sources_below_random": table.sources_below_random.sum(),
        "same_type_relative": pooled.get("same-type"),
        "cross_type_relative": pooled.get("cross-type"),
    }
    return pd.concat([table, pd.DataFrame([overall])], ignore_index=True)


EXAMPLES_SHOWN = 3  # per pair in the report; each result keeps config evaluation.generation_examples


def generated_examples(pair_files, per_pair: int = EXAMPLES_SHOWN):
    """The first `per_pair` texts each generation pair's result keeps (its `generated` list), one
    row each: what the prompt made the model write next to the references and its score."""
    import pandas as pd

    from . import layout
    from .io import read_json

    rows = []
    for path in pair_files:
        result = read_json(path)
        for number, example in enumerate(result.get("generated", [])[:per_pair]):
            rows.append(
                {
                    "backbone": result["backbone"],
                    "seed": layout.seed_of(path),
                    "source": result["source"],
                    "target": result["target"],
                    "example": number,
                    result["metric"]: example["score"],
                    "prediction": example["prediction"],
                    "references": " | ".join(example["references"]),
                    "input": example["input"],
                }
            )
    return pd.DataFrame(rows)


def examples_page(table) -> str:
    """The examples as a web page the report shows (a table of CSV cells it would only offer as
    a download); every text escaped."""
    style = "body{font-family:sans-serif;font-size:13px} td,th{border:1px solid #ccc;padding:3px;vertical-align:top;text-align:left}"
    body = table.to_html(index=False, escape=True, border=0) if len(table) else "<p>no generation pairs</p>"
    return f"<!DOCTYPE html><html><head><meta charset='utf-8'><style>{style}</style></head><body>{body}</body></html>\n"
