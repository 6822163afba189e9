"""Transferability indicators: how similar two prompts are, and how well that predicts transfer.

Embedding indicators of prompts P [L, d] and Q [L', d] with rows p_i, q_j. The first four are
the paper's (docs/su2022-protocol.md §7), the others go beyond it:

  euclidean_flat      1 / (1 + ||vec P - vec Q||)
  euclidean_tokens    1 / (1 + mean_ij ||p_i - q_j||)        all pairs of rows
  cosine_flat         cos(vec P, vec Q)
  cosine_tokens       mean_ij cos(p_i, q_j)                  all pairs of rows
  euclidean_aligned   1 / (1 + mean_i ||p_i - q_i||)         rows at the same position
  cosine_aligned      mean_i cos(p_i, q_i)
  mean_prompt_cosine  cos(mean_i p_i, mean_j q_j)            SPoT's task embedding (Vu et al. 2022)
  max_inner_product   (mean_i max_j <p_i, q_j> + mean_j max_i <p_i, q_j>) / 2

Flat and position-aligned indicators need prompts of one length (NaN otherwise).

Neuron indicators (ON): the cosine of two prompts' binarised feed-forward activations, which
for binary vectors is |A ∩ B| / sqrt(|A| |B|), over groups of consecutive layers (1-3, 4-6, ...)
and over all layers. `same_type` (1 when both tasks have the same type) is the trivial baseline.
"""

from __future__ import annotations

import math
import warnings
from typing import NamedTuple

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from scipy import stats

from .neurons import active
from .specs import CorrelationJob, IndicatorsJob

PAIR_KEYS = ["source", "target"]
OUTCOMES = {
    "accuracy": "zero-shot accuracy",
    "relative": "zero-shot relative performance (%)",
    "speedup": "TPT speed-up",
}


def _same_shape(p: torch.Tensor, q: torch.Tensor) -> bool:
    return p.shape == q.shape


def euclidean_flat(p: torch.Tensor, q: torch.Tensor) -> float:
    if not _same_shape(p, q):
        return math.nan
    return 1.0 / (1.0 + torch.linalg.vector_norm(p - q).item())


def euclidean_tokens(p: torch.Tensor, q: torch.Tensor) -> float:
    # Exact distances: the matrix-product shortcut leaves rounding noise on identical rows.
    distances = torch.cdist(p, q, compute_mode="donot_use_mm_for_euclid_dist")
    return 1.0 / (1.0 + distances.mean().item())


def cosine_flat(p: torch.Tensor, q: torch.Tensor) -> float:
    if not _same_shape(p, q):
        return math.nan
    return F.cosine_similarity(p.flatten(), q.flatten(), dim=0).item()


def cosine_tokens(p: torch.Tensor, q: torch.Tensor) -> float:
    return (F.normalize(p, dim=1) @ F.normalize(q, dim=1).T).mean().item()


def euclidean_aligned(p: torch.Tensor, q: torch.Tensor) -> float:
    if not _same_shape(p, q):
        return math.nan
    return 1.0 / (1.0 + torch.linalg.vector_norm(p - q, dim=1).mean().item())


def cosine_aligned(p: torch.Tensor, q: torch.Tensor) -> float:
    if not _same_shape(p, q):
        return math.nan
    return F.cosine_similarity(p, q, dim=1).mean().item()


def mean_prompt_cosine(p: torch.Tensor, q: torch.Tensor) -> float:
    return F.cosine_similarity(p.mean(0), q.mean(0), dim=0).item()


def max_inner_product(p: torch.Tensor, q: torch.Tensor) -> float:
    products = p @ q.T
    return 0.5 * (products.max(1).values.mean() + products.max(0).values.mean()).item()


EMBEDDING_INDICATORS = {
    "euclidean_flat": euclidean_flat,
    "euclidean_tokens": euclidean_tokens,
    "cosine_flat": cosine_flat,
    "cosine_tokens": cosine_tokens,
    "euclidean_aligned": euclidean_aligned,
    "cosine_aligned": cosine_aligned,
    "mean_prompt_cosine": mean_prompt_cosine,
    "max_inner_product": max_inner_product,
}


def neuron_overlap(a: torch.Tensor, b: torch.Tensor) -> float:
    """Cosine of two binary vectors: |A ∩ B| / sqrt(|A| |B|); 0 when either has no active neuron."""
    a, b = a.flatten().double(), b.flatten().double()
    norms = a.sum() * b.sum()
    return (a @ b / norms.sqrt()).item() if norms > 0 else 0.0


def layer_groups(layers: int, size: int) -> dict[str, slice]:
    """ON columns: consecutive groups of `size` layers (1-based names, the last may be shorter) and all."""
    groups = {}
    for start in range(0, layers, size):
        stop = min(start + size, layers)
        groups[f"on_layers_{start + 1}-{stop}"] = slice(start, stop)
    groups["on_all"] = slice(0, layers)
    return groups


def neuron_indicators(source: torch.Tensor, target: torch.Tensor, group_size: int) -> dict[str, float]:
    """ON per layer group of two [layers, intermediate] activation tensors."""
    a, b = active(source), active(target)
    return {name: neuron_overlap(a[rows], b[rows]) for name, rows in layer_groups(a.shape[0], group_size).items()}


def indicator_table(
    prompts: dict[str, torch.Tensor],
    task_types: dict[str, str | None],
    activations: dict[str, torch.Tensor] | None = None,
    group_size: int = 3,
) -> pd.DataFrame:
    """Every indicator for every ordered pair (source, target) of `prompts`, diagonal included.

    Prompts without a known type get NaN `same_type`; without activations there are no ON columns.
    """
    prompts = {name: p.double() for name, p in prompts.items()}
    rows = []
    for source, p in prompts.items():
        for target, q in prompts.items():
            types = task_types.get(source), task_types.get(target)
            row = {
                "source": source,
                "target": target,
                "same_type": math.nan if None in types else float(types[0] == types[1]),
            }
            row.update({name: fn(p, q) for name, fn in EMBEDDING_INDICATORS.items()})
            if activations is not None:
                row.update(neuron_indicators(activations[source], activations[target], group_size))
            rows.append(row)
    return pd.DataFrame(rows)


def indicator_columns(table: pd.DataFrame) -> list[str]:
    return [c for c in table.columns if c not in ("backbone", "seed", *PAIR_KEYS)]


LABELS = {
    "same_type": "same task type (baseline)",
    "euclidean_flat": "Euclidean, flat (paper)",
    "euclidean_tokens": "Euclidean, all token pairs (paper)",
    "cosine_flat": "cosine, flat (paper)",
    "cosine_tokens": "cosine, all token pairs (paper)",
    "euclidean_aligned": "Euclidean, aligned tokens",
    "cosine_aligned": "cosine, aligned tokens",
    "mean_prompt_cosine": "cosine of mean prompts (SPoT)",
    "max_inner_product": "max inner product of tokens",
    "on_all": "ON, all layers (paper)",
}


def indicator_label(name: str) -> str:
    if name.startswith("on_layers_"):
        return f"ON, layers {name.removeprefix('on_layers_')} (paper)"
    return LABELS.get(name, name)


# --- agreement with measured transfer ----------------------------------------------------------


def _keys(*tables: pd.DataFrame) -> list[str]:
    """The columns naming one measured pair: (seed, source, target) when every table has seeds."""
    return (["seed"] if all("seed" in t for t in tables) else []) + PAIR_KEYS


def transfer_pairs(indicators: pd.DataFrame, matrix: pd.DataFrame, speedup: pd.DataFrame | None = None) -> pd.DataFrame:
    """Indicators of the off-diagonal task pairs next to their measured transfer outcomes.

    matrix: the per-seed transfer table (matrix_by_seed.csv: accuracy, relative, pair); speedup:
    optional TPT table (tpt.speedup_table) with source, target, speedup; only runs initialised
    from a prompt of this backbone count (not projected ones), and repeated pairs are averaged.
    Tables with a `seed` column are joined seed by seed (indicators of seed s with the transfer
    of seed s's prompts); tables without one are one seed.
    """
    keys = _keys(indicators, matrix)
    measured = matrix[matrix.pair.isin(["same-type", "cross-type"])][keys + ["pair", "accuracy", "relative"]]
    pairs = indicators.merge(measured, on=keys, how="inner")
    if speedup is not None:
        if "init_kind" in speedup:
            speedup = speedup[speedup.init_kind == "prompt"]
        keys = _keys(pairs, speedup)
        mean_speedup = speedup.groupby(keys, as_index=False)["speedup"].mean()
        pairs = pairs.merge(mean_speedup, on=keys, how="left")
    return pairs


def seed_count(pairs: pd.DataFrame) -> int:
    return int(pairs.seed.nunique()) if "seed" in pairs else 1


def seed_means(pairs: pd.DataFrame) -> pd.DataFrame:
    """One row per (source, target), in order of first appearance: the mean over seeds of every
    numeric column (missing values left out), other columns from the pair's first row, and
    `seeds` (how many seeds the pair has). Pairs without a `seed` column are one seed."""
    if "seed" not in pairs:
        return pairs.assign(seeds=1)
    grouped = pairs.groupby(PAIR_KEYS, sort=False)
    numeric = [c for c in pairs.select_dtypes("number").columns if c != "seed"]
    other = [c for c in pairs.columns if c not in (*numeric, "seed", *PAIR_KEYS)]
    means = pd.concat([grouped[other].first(), grouped[numeric].mean(), grouped.seed.nunique().rename("seeds")], axis=1)
    return means.reset_index()[[c for c in pairs.columns if c != "seed"] + ["seeds"]]


def _spearman(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # constant inputs give NaN, which is the honest answer
        result = stats.spearmanr(x, y)
    return float(result.statistic), float(result.pvalue)


def _weighted_ranks(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Ranks of each row's values when value j counts weights[.., j] times: a tie group shares
    its mean rank, as scipy.stats.rankdata does on the repeated values."""
    order = np.argsort(values, axis=1, kind="stable")
    ordered = np.take_along_axis(values, order, axis=1)
    ordered_weights = np.take_along_axis(weights, order, axis=1)
    upto = np.cumsum(ordered_weights, axis=1)
    position = np.arange(values.shape[1])
    starts = np.ones(ordered.shape, bool)
    starts[:, 1:] = ordered[:, 1:] != ordered[:, :-1]  # NaN differs from everything: its own group
    ends = np.ones(ordered.shape, bool)
    ends[:, :-1] = starts[:, 1:]
    first = np.maximum.accumulate(np.where(starts, position, 0), axis=1)
    last = np.minimum.accumulate(np.where(ends, position, len(position) - 1)[:, ::-1], axis=1)[:, ::-1]
    below = np.take_along_axis(upto - ordered_weights, first, axis=1)
    tied = np.take_along_axis(upto, last, axis=1) - below
    ranks = np.empty_like(upto)
    np.put_along_axis(ranks, order, below + (tied + 1) / 2, axis=1)
    return ranks


def _weighted_spearman(x: np.ndarray, y: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Spearman's rho of each row of x [B, P] with the same row of y, pair j counted
    weights[b, j] times (0: left out); NaN where a side is constant or there are no pairs."""
    x, y, weights = np.broadcast_arrays(x, y, weights)
    weights = weights.astype(float)
    total = weights.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        dx, dy = (
            np.where(weights > 0, r - (weights * r).sum(axis=1, keepdims=True) / total, 0.0)
            for r in (_weighted_ranks(x, weights), _weighted_ranks(y, weights))
        )
        rho = (weights * dx * dy).sum(axis=1) / np.sqrt(
            (weights * dx * dx).sum(axis=1) * (weights * dy * dy).sum(axis=1)
        )
    return np.clip(rho, -1.0, 1.0)


class Estimate(NamedTuple):
    rho: float
    p_value: float
    bootstrap: np.ndarray  # rho of each resample of the targets (and seeds)
    n: int  # pairs (pooled) or targets with a finite rho (per-target)


def _mean_of_finite(values: np.ndarray, axis=None) -> np.ndarray | float:
    finite = np.isfinite(values)
    with np.errstate(invalid="ignore"):
        return np.where(finite, values, 0.0).sum(axis=axis) / finite.sum(axis=axis)


def _times_drawn(draws: np.ndarray, choices: int) -> np.ndarray:
    """[B, choices]: how often each replicate (row of draws) drew each choice."""
    times = np.zeros((len(draws), choices))
    np.add.at(times, (np.arange(len(draws))[:, None], draws), 1)
    return times


class _Resamples(NamedTuple):
    """One bootstrap of an outcome, shared by every indicator: targets [B, targets] drawn
    indices, seeds [B, seeds] how often each seed is drawn, or [[1, ...]]: every seed once."""

    targets: np.ndarray
    seeds: np.ndarray


def _by_seed(data: pd.DataFrame, column: str, seeds: list, pairs: pd.MultiIndex) -> np.ndarray:
    """data[column] as [seeds, pairs], NaN where a seed lacks a pair."""
    values = np.full((len(seeds), len(pairs)), np.nan)
    seed_of = data.seed.map({s: i for i, s in enumerate(seeds)}) if "seed" in data else np.zeros(len(data), int)
    values[np.asarray(seed_of), pairs.get_indexer(pd.MultiIndex.from_frame(data[PAIR_KEYS]))] = data[column]
    return values


def _rho_estimates(data: pd.DataFrame, indicator: str, outcome: str, targets: list, seeds: list, draws: _Resamples):
    """Pooled and per-target rho of the seed-mean indicator with the seed-mean outcome of each
    (source, target) pair, and their bootstrap: each resample takes the drawn targets' pairs
    with the means over the drawn seeds (one draw for both sides: they come from one seed's prompts)."""
    pairs = pd.MultiIndex.from_frame(data[PAIR_KEYS].drop_duplicates())
    x, y = (_by_seed(data, column, seeds, pairs) for column in (indicator, outcome))
    present = np.isfinite(x) & np.isfinite(y)
    x, y = np.where(present, x, 0.0), np.where(present, y, 0.0)
    with np.errstate(invalid="ignore"):
        counts = draws.seeds @ present  # [B or 1, pairs]: drawn seeds with the pair
        x_means, y_means = (draws.seeds @ v / counts for v in (x, y))
        x_all, y_all = (v.sum(0) / present.sum(0) for v in (x, y))
    measured = present.any(0)
    target_of = np.array([targets.index(t) for t in pairs.get_level_values("target")], dtype=int)
    rows = [np.flatnonzero(measured & (target_of == t)) for t in range(len(targets))]

    per_target = np.array([_spearman(x_all[r], y_all[r])[0] for r in rows])
    finite = per_target[np.isfinite(per_target)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # identical rhos: NaN
        t_test = float(stats.ttest_1samp(finite, 0.0).pvalue) if len(finite) > 1 else math.nan
    resampled_per_target = np.stack(
        [_weighted_spearman(x_means[:, r], y_means[:, r], counts[:, r] > 0) for r in rows], axis=1
    )  # [B or 1, targets]
    # the seed draw of each replicate (one, when the seeds are kept)
    replicate = np.arange(len(draws.targets))[:, None] if len(draws.seeds) != 1 else 0
    return {
        "pooled": Estimate(
            *_spearman(x_all[measured], y_all[measured]),
            _weighted_spearman(
                x_means, y_means, _times_drawn(draws.targets, len(targets))[:, target_of] * (counts > 0)
            ),
            int(measured.sum()),
        ),
        "per-target": Estimate(
            float(_mean_of_finite(per_target)),
            t_test,
            _mean_of_finite(resampled_per_target[replicate, draws.targets], axis=1),
            len(finite),
        ),
    }


def _interval(values: np.ndarray) -> tuple[float, float]:
    values = values[np.isfinite(values)]
    if len(values) == 0:
        return math.nan, math.nan
    low, high = np.percentile(values, [2.5, 97.5])
    return float(low), float(high)


def spearman_table(
    pairs: pd.DataFrame,
    indicators: list[str],
    outcomes: list[str],
    bootstrap: int,
    seed: int,
    reference: str | None = None,
) -> pd.DataFrame:
    """Spearman's rho of every indicator against every outcome, pooled and averaged per target,
    on the means over seeds of each (source, target) pair (pairs: per seed if it has `seed`).

    pooled: rho over all pairs; p-value from scipy (which treats pairs as independent).
    per-target: rho over each target's sources, averaged over targets; p-value of a one-sample
    t-test of the per-target rhos against 0. Both get 95% percentile intervals from a bootstrap
    over targets (a resampled target brings all its pairs) and, with several seeds, over seeds
    (a resample's seed means are taken over seeds drawn with replacement, the same for indicator
    and outcome), with the same resamples for every indicator, so `delta_*` is the paired
    difference rho(indicator) - rho(reference). Targets are drawn as with one seed (the seeds
    from another stream), so seeds that agree give one seed's numbers.
    """
    rng = np.random.default_rng(seed)
    seed_rng = np.random.default_rng([seed, 1])
    rows = []
    for outcome in outcomes:
        measured = pairs[pairs[outcome].notna()]
        targets = sorted(measured.target.unique())
        if not targets:
            continue
        seeds = sorted(measured.seed.unique()) if "seed" in measured else [None]
        target_draws = rng.integers(len(targets), size=(bootstrap, len(targets)))
        if len(seeds) == 1:
            seed_draws = np.ones((1, 1))
        else:
            seed_draws = _times_drawn(seed_rng.integers(len(seeds), size=(bootstrap, len(seeds))), len(seeds))
        draws = _Resamples(target_draws, seed_draws)
        estimates = {
            indicator: _rho_estimates(measured[measured[indicator].notna()], indicator, outcome, targets, seeds, draws)
            for indicator in indicators
        }
        for indicator, by_aggregation in estimates.items():
            for aggregation, estimate in by_aggregation.items():
                low, high = _interval(estimate.bootstrap)
                row = {
                    "indicator": indicator,
                    "outcome": outcome,
                    "aggregation": aggregation,
                    "rho": estimate.rho,
                    "p_value": estimate.p_value,
                    "ci_low": low,
                    "ci_high": high,
                    "n": estimate.n,
                    "seeds": len(seeds),
                }
                if reference in estimates:
                    base = estimates[reference][aggregation]
                    row["reference"] = reference
                    row["delta_vs_reference"] = estimate.rho - base.rho
                    row["delta_ci_low"], row["delta_ci_high"] = _interval(estimate.bootstrap - base.bootstrap)
                rows.append(row)
    return pd.DataFrame(rows)


def retrieval_table(pairs: pd.DataFrame, indicators: list[str], outcomes: list[str]) -> pd.DataFrame:
    """For each target, the source each indicator ranks first, judged against measured transfer,
    both on the means over seeds (pairs: per seed if it has `seed`; `seeds`: how many).

    top1: whether the chosen source is a best one; regret: best outcome minus the chosen
    source's. Ties for first place count as a uniform choice among them (their mean), so
    `random` (every source tied) is the chance level. One row per (indicator, outcome, target)
    and a "all" row per (indicator, outcome) with the means over targets.
    """
    means = seed_means(pairs)
    rows = []
    for outcome in outcomes:
        seeds = seed_count(pairs[pairs[outcome].notna()])
        for target, group in means[means[outcome].notna()].groupby("target"):
            if len(group) < 2:
                continue
            best = group[outcome].max()
            choices = {}  # indicator -> (sources it ranks, sources tied for its first place)
            for indicator in indicators:
                ranked = group[group[indicator].notna()]
                if not ranked.empty:
                    choices[indicator] = (ranked, ranked[ranked[indicator] == ranked[indicator].max()])
            choices["random"] = (group, group)  # chance: every source tied
            for indicator, (ranked, chosen) in choices.items():
                rows.append(
                    {
                        "indicator": indicator,
                        "outcome": outcome,
                        "target": target,
                        "chosen": " ".join(sorted(chosen.source)),
                        "top1": float((chosen[outcome] == best).mean()),
                        "regret": float(best - chosen[outcome].mean()),
                        "candidates": len(ranked),
                        "seeds": seeds,
                    }
                )
    per_target = pd.DataFrame(
        rows, columns=["indicator", "outcome", "target", "chosen", "top1", "regret", "candidates", "seeds"]
    )
    overall = per_target.groupby(["indicator", "outcome"], sort=False, as_index=False).agg(
        top1=("top1", "mean"), regret=("regret", "mean"), candidates=("candidates", "mean"), seeds=("seeds", "first")
    )
    overall["target"] = "all"
    overall["chosen"] = ""
    return pd.concat([per_target, overall[per_target.columns]], ignore_index=True)


# --- jobs --------------------------------------------------------------------------------------


def run_indicators_job(
    job: IndicatorsJob, prompt_files: dict[str, str], neuron_files: dict[str, str] | None, out
) -> pd.DataFrame:
    """The indicators rules: read prompts (and activations), write the pair table. Prompts
    from elsewhere may need hidden_size (to unflatten [1, L*d] files) and skip_rows (leading
    rows dropped); prompts of a source are read by its layout's reader."""
    from . import prompt_import
    from .io import load_tensors, write_csv
    from .prompts import load_prompt

    def read(path):
        if job.layout is None:
            return load_prompt(path, job.hidden_size)[0]
        return prompt_import.read(job.layout, path, job.hidden_size)[0]

    skip = job.skip_rows or 0
    prompts = {name: read(path)[skip:] for name, path in prompt_files.items()}
    activations = (
        {name: load_tensors(path)[0]["activations"] for name, path in neuron_files.items()} if neuron_files else None
    )
    table = indicator_table(prompts, job.task_types, activations, job.layer_group_size)
    if job.backbone is not None:
        table.insert(0, "backbone", job.backbone)
    if job.seed is not None:
        table.insert(int(job.backbone is not None), "seed", job.seed)
    write_csv(out, table)
    return table


def run_correlation_job(
    job: CorrelationJob,
    indicators_paths: list[str],
    matrix_by_seed_path,
    speedup_path,
    out_spearman,
    out_retrieval,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The indicator_correlation rule: Spearman table and source retrieval of one backbone on
    the seed means of its pairs (indicators_paths: one table per seed; job.reference: the
    indicator the paired differences are taken against)."""
    from .io import write_csv

    indicators = pd.concat([pd.read_csv(path) for path in indicators_paths], ignore_index=True)
    speedup = pd.read_csv(speedup_path) if speedup_path else None
    pairs = transfer_pairs(indicators, pd.read_csv(matrix_by_seed_path), speedup)
    names = indicator_columns(indicators)
    outcomes = [o for o in OUTCOMES if o in pairs.columns]
    reference = job.reference if job.reference in names else None
    spearman = spearman_table(pairs, names, outcomes, job.bootstrap, job.seed, reference)
    retrieval = retrieval_table(pairs, names, outcomes)
    backbone = indicators.backbone.iloc[0] if "backbone" in indicators else None
    for table in (spearman, retrieval):
        table.insert(0, "backbone", backbone)
    write_csv(out_spearman, spearman)
    write_csv(out_retrieval, retrieval)
    return spearman, retrieval
