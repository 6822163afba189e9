"""A backbone's zero-shot matrix next to a published one (the paper's numbers next to the run's).

The reference table holds accuracy as a fraction, like the `accuracy` column of
results/transfer/{backbone}/matrix.csv; relative performance (% of the target's own prompt) is
computed the same way on both sides. Cells present in only one table stay in the comparison with
their status, so nothing is dropped silently.
"""

from __future__ import annotations

from importlib import resources

from .errors import FileFormatError
from .study import Study

SHIPPED_TABLE = "reference/su2022_zero_shot.csv"  # in the package; origin in reference/README.md
BASELINES = ("no prompt", "random prompt", "random_prompt")  # ours, ours, the authors'
TASK_PAIRS = ("own", "same-type", "cross-type")
COLUMNS = ["backbone", "reference_backbone", "source", "target", "pair", "status"]
COLUMNS += ["ours", "theirs", "difference", "ours_relative", "theirs_relative", "relative_difference"]


def reference_path(study: Study, backbone: str) -> str:
    """The published table of `backbone` (config backbones.<b>.reference.table, or the shipped one)."""
    table = study.backbone(backbone).reference["table"]
    return table or str(resources.files("prompt_transfer").joinpath(SHIPPED_TABLE))


def read_reference(path, backbone: str):
    """Rows (source, target, score) of `backbone` in a reference table; one-line errors name the file."""
    import pandas as pd

    try:
        table = pd.read_csv(path, comment="#")
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as e:
        raise FileFormatError(f"{path}: not a CSV table ({str(e).splitlines()[0]})") from None
    missing = {"backbone", "source", "target", "score"} - set(table.columns)
    if missing:
        raise FileFormatError(f"{path}: no column(s) {', '.join(sorted(missing))} (has {', '.join(table.columns)})")
    rows = table[table.backbone == backbone]
    if rows.empty:
        raise FileFormatError(
            f"{path}: no rows of backbone {backbone!r} (has {', '.join(map(str, table.backbone.unique()))})"
        )
    if not rows.score.between(0, 1).all():
        raise FileFormatError(f"{path}: scores of {backbone!r} must be accuracy fractions in [0, 1]")
    return rows[["source", "target", "score"]].reset_index(drop=True)


def _relative(frame, score: str):
    """100 * score / the target's own-prompt score, within `frame`."""
    own = frame[frame.source == frame.target].set_index("target")[score]
    return 100 * frame[score] / frame.target.map(own)


def _pair(source: str, target: str, task_types: dict[str, str]) -> str:
    if source in BASELINES:
        return "baseline"
    if source == target:
        return "own"
    if source in task_types and target in task_types:
        return "same-type" if task_types[source] == task_types[target] else "cross-type"
    return "unknown type"


def comparison_table(matrix, reference, task_types: dict[str, str], backbone: str, reference_backbone: str):
    """Every (source, target) cell of either table: ours, theirs (accuracy fractions), their
    difference (ours - theirs), the relative performances and which table has the cell."""
    import pandas as pd

    ours = matrix[["source", "target", "accuracy"]].rename(columns={"accuracy": "ours"})
    ours["ours_relative"] = _relative(ours, "ours")
    theirs = reference.rename(columns={"score": "theirs"})
    theirs["theirs_relative"] = _relative(theirs, "theirs")
    table = pd.merge(ours, theirs, on=["source", "target"], how="outer", indicator=True)
    sides = {"both": "both", "left_only": "ours only", "right_only": "reference only"}
    table["status"] = table.pop("_merge").astype(str).map(sides)
    table["difference"] = table.ours - table.theirs
    table["relative_difference"] = table.ours_relative - table.theirs_relative
    table["pair"] = [_pair(s, t, task_types) for s, t in zip(table.source, table.target)]
    table["backbone"], table["reference_backbone"] = backbone, reference_backbone
    order = {"both": 0, "ours only": 1, "reference only": 2}
    table = table.sort_values(["target", "source"]).sort_values("status", key=lambda s: s.map(order), kind="stable")
    return table[COLUMNS].reset_index(drop=True)


def agreement(table) -> dict:
    """How far the two tables agree over the task-prompt cells both have (baselines left out):
    Spearman's rho and the mean absolute difference of accuracy (points), and each side's mean
    relative performance of same-type and cross-type sources."""
    from scipy.stats import spearmanr

    cells = table[(table.status == "both") & table.pair.isin(TASK_PAIRS)]
    result = {
        "cells": len(cells),
        "spearman": float(spearmanr(cells.ours, cells.theirs).statistic) if len(cells) > 2 else float("nan"),
        "mean_abs_difference": float(100 * cells.difference.abs().mean()),
    }
    for pair in ("same-type", "cross-type"):
        of_pair = cells[cells.pair == pair]
        for side in ("ours", "theirs"):
            result[f"{pair}_{side}_relative"] = float(of_pair[f"{side}_relative"].mean())
    return result


def run_comparison_job(job, matrix_path, reference_path_, out_table, out_figure) -> None:
    """Rule paper_comparison: the table and the figure of one backbone."""
    import logging

    import pandas as pd

    from .io import write_csv
    from .plots import paper_comparison_pdf

    reference = read_reference(reference_path_, job.reference)
    table = comparison_table(pd.read_csv(matrix_path), reference, job.task_types, job.backbone, job.reference)
    stats = agreement(table)
    logging.getLogger(__name__).info("%s vs %s: %s", job.backbone, job.reference, stats)
    write_csv(out_table, table)
    paper_comparison_pdf(out_figure, table, stats, job.study.tasks, job.study.types)
