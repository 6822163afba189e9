"""Transferable prompt tuning (TPT): which (source, target) pairs run, and how much faster
a prompt initialised from a source prompt reaches the target's performance.

A TPT run trains the target task's prompt exactly like the target's ordinary run (same
settings, batch order, evaluation steps), only starting from the source task's trained
prompt, or from a source prompt projected from another backbone. The ordinary run's training
log is the random-init curve; it is never trained a second time.

Speed-up, on the dev split that both logs score:

- threshold = `fraction` x the random-init run's best dev score (its step-0 score included);
- steps (wall seconds) to threshold = the step (wall_seconds) of a run's first logged
  evaluation at or above the threshold; missing (NaN) if the run never reaches it;
- steps are only known at evaluation resolution, so a run that is already at the threshold at
  step 0 is credited with its first evaluation interval (the first logged step after 0, and that
  row's wall seconds): "reached within the first interval". The floor applies to both runs, so
  it changes nothing when both need at least one interval, never divides by zero, and makes the
  speed-up of a transferred run that starts above the threshold a lower bound (flag
  `tpt_at_start`);
- speed-up = random-init steps / transferred steps and time ratio = random-init seconds /
  transferred seconds, both after the floor; a transferred run that never reaches the
  threshold has speed-up 0 (infinitely many steps), so medians count it as the slowest.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from . import layout
from .errors import ConfigError
from .specs import training
from .study import Study

MODES = ("same_type", "all", "top_k")


@dataclass(frozen=True, order=True)
class Pair:
    """One TPT run on a backbone: train `target` from the prompt of `source`.

    projected: None (the source's own prompt on the same backbone) or (from_backbone,
    objective, taskset): the source prompt of `from_backbone` mapped by that projector.
    prompts_of: None, or a backbone of the same width whose prompts come from a prompt source
    (e.g. PEFT adapters): the source's prompt as that backbone holds it.
    """

    source: str
    target: str
    projected: tuple[str, str, str] | None = None
    prompts_of: str | None = None

    @property
    def init(self) -> str:
        """Name of the initial prompt, the part of the output name before "__"."""
        if self.prompts_of is not None:
            return f"{self.source}@{self.prompts_of}"
        if self.projected is None:
            return self.source
        return f"{self.source}@" + ".".join(self.projected)

    @property
    def init_kind(self) -> str:
        return "imported" if self.prompts_of else "prompt" if self.projected is None else "projected"

    def init_path(self, backbone: str, seed) -> str:
        """The initial prompt of this pair's run of training seed `seed` (an imported prompt:
        `seed` is the one its backbone has)."""
        if self.prompts_of is not None:
            return layout.PROMPT.format(backbone=self.prompts_of, seed=seed, task=self.source)
        if self.projected is None:
            return layout.PROMPT.format(backbone=backbone, seed=seed, task=self.source)
        origin, objective, taskset = self.projected
        return layout.PROJECTED.format(
            source_model=origin,
            target_model=backbone,
            seed=seed,
            objective=objective,
            taskset=taskset,
            task=self.source,
        )

    def log_path(self, backbone: str, seed) -> str:
        return layout.TPT_LOG.format(backbone=backbone, seed=seed, init=self.init, target=self.target)


def pair_kind(source: str, target: str, task_types: dict[str, str]) -> str:
    if source == target:
        return "same-task"
    return "same-type" if task_types[source] == task_types[target] else "cross-type"


def _modes_and_entries(tpt: dict) -> tuple[list[str], list[dict]]:
    spec = tpt["pairs"]
    items = [spec] if isinstance(spec, str) else list(spec)
    return [i for i in items if isinstance(i, str)], [i for i in items if isinstance(i, dict)]


def needs_matrix(tpt: dict) -> bool:
    """True when pair selection reads the zero-shot matrix (mode top_k)."""
    return "top_k" in _modes_and_entries(tpt)[0]


def check(study: Study) -> None:
    """Cross-check the tpt section against the study (raises ConfigError naming the entry)."""
    tasks, backbones = study.tasks, study.all_backbones
    problems = []
    for i, entry in enumerate(_modes_and_entries(study.tpt)[1]):
        where = f"tpt.pairs[{i}]"
        for key in ("source", "target"):
            if entry[key] not in tasks:
                problems.append(
                    f"{where}.{key}: {entry[key]!r} is not a task of the study (study.tasks: {', '.join(tasks)})"
                )
        if "backbone" in entry and entry["backbone"] not in study.backbones:
            problems.append(f"{where}.backbone: {entry['backbone']!r} is not a backbone of the study")
        projected, prompts_of = entry.get("projected"), entry.get("prompts_of")
        if prompts_of is not None:
            if projected is not None:
                problems.append(f"{where}: a pair starts from a projected or an imported prompt, not both")
            elif prompts_of not in backbones or not backbones[prompts_of].prompts:
                problems.append(f"{where}.prompts_of: {prompts_of!r} is no backbone whose prompts come from a source")
            continue
        if projected is None:
            if entry["source"] == entry["target"]:
                problems.append(
                    f"{where}: source and target are both {entry['source']!r} (only a projected prompt may start its own task)"
                )
            continue
        if projected["from"] not in backbones:
            problems.append(f"{where}.projected.from: unknown backbone {projected['from']!r}")
        if projected["from"] == entry.get("backbone"):
            problems.append(
                f"{where}.projected.from: a prompt is projected from another backbone, not from {projected['from']!r} itself"
            )
    if problems:
        raise ConfigError("invalid configuration:\n" + "\n".join(f"  {p}" for p in problems))


def static_pairs(study: Study, backbone: str) -> list[Pair]:
    """The pairs of `backbone` that do not depend on results: modes same_type and all, and
    explicit entries. Generated pairs whose source prompt is longer or shorter than the
    target's (per-task prompt_length) are skipped; explicit ones raise ConfigError.
    """
    tasks = study.tasks
    types = {t: study.task(t).type for t in tasks}
    modes, entries = _modes_and_entries(study.tpt)

    def same_length(source, target, origin=backbone):
        return training(study, origin, source).prompt_length == training(study, backbone, target).prompt_length

    pairs = set()
    for mode in modes:
        if mode == "top_k":
            continue
        for target in tasks:
            for source in tasks:
                if (
                    source != target
                    and (mode == "all" or types[source] == types[target])
                    and same_length(source, target)
                ):
                    pairs.add(Pair(source, target))
    for i, entry in enumerate(entries):
        if entry.get("backbone", backbone) != backbone:
            continue
        projected = entry.get("projected")
        origin = backbone if projected is None else projected["from"]
        if origin == backbone and projected is not None:
            continue  # a cross-model entry applies to the other backbones of the study
        if not same_length(entry["source"], entry["target"], origin):
            raise ConfigError(
                f"invalid configuration:\n  tpt.pairs[{i}]: {entry['source']}'s prompt_length on {origin} differs from "
                f"{entry['target']}'s on {backbone}, so the transferred run could not use the target's settings"
            )
        if entry.get("prompts_of"):
            pairs.add(Pair(entry["source"], entry["target"], prompts_of=entry["prompts_of"]))
        elif projected is None:
            pairs.add(Pair(entry["source"], entry["target"]))
        else:
            pairs.add(Pair(entry["source"], entry["target"], (origin, projected["objective"], projected["taskset"])))
    return sorted(pairs)


def top_k_pairs(matrix, k: int, tasks: list[str]) -> list[Pair]:
    """For each target, the k other study tasks whose prompts score best on it zero-shot
    (column `accuracy` of the transfer matrix; ties go to the source named first)."""
    scores = matrix[matrix.source.isin(tasks) & matrix.target.isin(tasks) & (matrix.source != matrix.target)]
    pairs = []
    for target, group in scores.groupby("target"):
        best = group.sort_values(["accuracy", "source"], ascending=[False, True], kind="stable").head(k)
        pairs += [Pair(s, target) for s in best.source]
    return sorted(pairs)


# --- speed-up arithmetic ------------------------------------------------------------------


def first_reach(log, threshold: float) -> tuple[float, float]:
    """(step, wall_seconds) of the first evaluation at or above `threshold`, NaNs if none.
    (A tolerance keeps 0.9 * 0.8 = 0.7200000000000001 from failing a score of exactly 0.72.)"""
    hit = log[log.dev_accuracy >= threshold - 1e-9]
    if hit.empty:
        return math.nan, math.nan
    row = hit.sort_values("step").iloc[0]
    return float(row.step), float(row.wall_seconds)


def first_interval(log) -> tuple[float, float]:
    """(step, wall_seconds) of the first evaluation after step 0: the log's resolution."""
    later = log[log.step > 0].sort_values("step")
    if later.empty:
        return math.nan, math.nan
    return float(later.step.iloc[0]), float(later.wall_seconds.iloc[0])


def _ratio(random_value: float, tpt_value: float, random_floor: float, tpt_floor: float) -> float:
    if math.isnan(tpt_value):
        return 0.0  # never reached: infinitely many steps
    num, den = max(random_value, random_floor), max(tpt_value, tpt_floor)
    if math.isnan(num) or math.isnan(den) or den <= 0:
        return math.nan  # a log without any step after 0
    return num / den


def compare(random_log, tpt_log, fraction: float = 0.9) -> dict:
    """Threshold, steps and seconds to reach it, speed-up and score differences of one
    transferred run against the random-init run (both training logs as DataFrames)."""
    random_best = float(random_log.dev_accuracy.max())
    threshold = fraction * random_best
    r_step, r_sec = first_reach(random_log, threshold)
    t_step, t_sec = first_reach(tpt_log, threshold)
    r_floor, t_floor = first_interval(random_log), first_interval(tpt_log)
    merged = random_log.merge(tpt_log, on="step", suffixes=("_random", "_tpt"))
    merged = merged[merged.step > 0]
    gains = merged.dev_accuracy_tpt - merged.dev_accuracy_random
    random_final = float(random_log.sort_values("step").dev_accuracy.iloc[-1])
    tpt_final = float(tpt_log.sort_values("step").dev_accuracy.iloc[-1])
    tpt_best = float(tpt_log.dev_accuracy.max())
    return {
        "threshold_fraction": fraction,
        "threshold": threshold,
        "random_initial": float(random_log.sort_values("step").dev_accuracy.iloc[0]),
        "tpt_initial": float(tpt_log.sort_values("step").dev_accuracy.iloc[0]),
        "random_best": random_best,
        "tpt_best": tpt_best,
        "best_diff": tpt_best - random_best,
        "random_final": random_final,
        "tpt_final": tpt_final,
        "final_diff": tpt_final - random_final,
        "random_steps": r_step,
        "tpt_steps": t_step,
        "random_seconds": r_sec,
        "tpt_seconds": t_sec,
        "speedup": _ratio(r_step, t_step, r_floor[0], t_floor[0]),
        "time_ratio": _ratio(r_sec, t_sec, r_floor[1], t_floor[1]),
        "tpt_reached": not math.isnan(t_step),
        "tpt_at_start": t_step == 0,
        "evals": len(merged),
        "evals_ahead": int((gains > 0).sum()),
        "mean_gain": float(gains.mean()) if len(gains) else math.nan,
        "beats_random": bool(len(gains) and gains.mean() > 0),
    }


SPEEDUP_COLUMNS = [
    "backbone", "source", "target", "seed", "init", "init_kind", "projected_from", "pair", "source_type",
    "target_type", "threshold_fraction", "threshold", "random_initial", "tpt_initial", "random_best", "tpt_best",
    "best_diff", "random_final", "tpt_final", "final_diff", "random_steps", "tpt_steps", "random_seconds",
    "tpt_seconds", "speedup", "time_ratio", "tpt_reached", "tpt_at_start", "evals", "evals_ahead", "mean_gain",
    "beats_random", "log", "random_log",
]  # fmt: skip
PAIR_KEYS = ["source", "target", "init"]  # one pair of a backbone's table; its rows are its seeds


def pairs_to_json(pairs: list[Pair]) -> list[list]:
    """The pairs as the rule hands them to tpt_speedup: [source, target, projected, prompts_of]."""
    return [[p.source, p.target, p.projected, p.prompts_of] for p in pairs]


def pairs_from_json(items: list[list]) -> list[Pair]:
    return [Pair(s, t, tuple(projected) if projected else None, prompts_of) for s, t, projected, prompts_of in items]


def speedup_table(
    backbone: str, pairs: list[Pair], seeds: list[int], task_types: dict[str, str], fraction: float, read_log=None
):
    """One row per (pair, seed): compare() of the pair's log of that seed with the target's
    ordinary training log of the same seed (each seed's source prompt on that seed's target run)."""
    import pandas as pd

    read_log = read_log or pd.read_csv
    rows = []
    for p in pairs:
        for seed in seeds:
            random_log = layout.TRAIN_LOG.format(backbone=backbone, seed=seed, task=p.target)
            tpt_log = p.log_path(backbone, seed)
            rows.append(
                {
                    "backbone": backbone,
                    "source": p.source,
                    "target": p.target,
                    "seed": seed,
                    "init": p.init,
                    "init_kind": p.init_kind,
                    "projected_from": None if p.projected is None else p.projected[0],
                    "pair": pair_kind(p.source, p.target, task_types),
                    "source_type": task_types[p.source],
                    "target_type": task_types[p.target],
                    **compare(read_log(random_log), read_log(tpt_log), fraction),
                    "log": tpt_log,
                    "random_log": random_log,
                }
            )
    return pd.DataFrame(rows, columns=SPEEDUP_COLUMNS)


def speedup_summary(table, reps: int = 1000, seed: int = 0):
    """Per (init kind, pair kind) and over all runs: medians of speed-up and time ratio (a
    never-reached run counts as 0) and the mean gain at equal steps, each with a 95% bootstrap
    interval that resamples pairs with all their seeds (a pair's runs share source and target,
    so they are not independent); how many runs reach the threshold, start above it, are faster
    than and beat random init at equal steps; mean best and final score differences."""
    import numpy as np
    import pandas as pd

    from .uncertainty import cluster_interval

    def with_interval(name, group, column, statistic):
        keys = group[PAIR_KEYS].astype(str).agg("__".join, axis=1)
        value, low, high = cluster_interval(group[column], keys, statistic, reps, seed)
        return {name: value, f"{name}_low": low, f"{name}_high": high}

    def row(group, init_kind, pair):
        return {
            "init_kind": init_kind,
            "pair": pair,
            "pairs": len(group.drop_duplicates(PAIR_KEYS)),
            "runs": len(group),
            "seeds": group.seed.nunique(),
            **with_interval("median_speedup", group, "speedup", np.nanmedian),
            **with_interval("median_time_ratio", group, "time_ratio", np.nanmedian),
            "faster": int((group.speedup > 1).sum()),
            "reached": int(group.tpt_reached.sum()),
            "at_start": int(group.tpt_at_start.sum()),
            "beats_random": int(group.beats_random.sum()),
            **with_interval("mean_gain", group, "mean_gain", np.nanmean),
            "mean_best_diff": group.best_diff.mean(),
            "mean_final_diff": group.final_diff.mean(),
        }

    rows = [row(g, k, p) for (k, p), g in table.groupby(["init_kind", "pair"], sort=True)]
    rows.append(row(table, "all", "all"))
    return pd.DataFrame(rows)


def per_pair_speedup(table):
    """One row per pair: its seeds, the median, lowest and highest speed-up over them, whether
    any run starts above the threshold (the median is then a lower bound) and how many reach it."""
    grouped = table.groupby(PAIR_KEYS, sort=False)
    return grouped.agg(
        pair=("pair", "first"),
        init_kind=("init_kind", "first"),
        seeds=("seed", "nunique"),
        median_speedup=("speedup", "median"),
        min_speedup=("speedup", "min"),
        max_speedup=("speedup", "max"),
        at_start=("tpt_at_start", "any"),
        reached=("tpt_reached", "sum"),
    ).reset_index()
