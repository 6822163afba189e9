"""The zero-shot transfer matrix of a backbone: every (source, target) score with relative
performance, and a summary per target."""

from __future__ import annotations

BASELINE_ROWS = {"no_prompt": "no prompt", "random_mean": "random prompt"}


def transfer_matrix(pair_files, baseline_files, task_types: dict[str, str]):
    """Long table of every (source, target) score with relative performance.

    relative = score(target | source's prompt) / score(target | its own prompt) * 100.
    Baselines enter as sources "no prompt" and "random prompt" of type "baseline". `accuracy` is
    the target's metric, named in `metric` (accuracy; f1 or rouge_l for generation tasks), so
    relative performance compares a target only with itself.
    """
    import pandas as pd

    from .io import read_json

    rows = [read_json(f) for f in pair_files]
    for f in baseline_files:
        b = read_json(f)
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
        ]
    frame = pd.DataFrame(rows)
    frame["metric"] = frame.get("metric", pd.Series("accuracy", index=frame.index)).fillna("accuracy")
    frame = frame[["backbone", "source", "target", "accuracy", "metric", "examples"]]
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
