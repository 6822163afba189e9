"""Transferability indicators: how similar two prompts are, and how well that predicts transfer.

Embedding indicators of prompts P [L, d] and Q [L', d] with rows p_i, q_j. The first four are
the paper's (../shared/docs/paper-protocol.md §7), the others go beyond it:

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
    return [c for c in table.columns if c not in ("backbone", *PAIR_KEYS)]


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


def transfer_pairs(indicators: pd.DataFrame, matrix: pd.DataFrame, speedup: pd.DataFrame | None = None) -> pd.DataFrame:
    """Indicators of the off-diagonal task pairs next to their measured transfer outcomes.

    matrix: the transfer_matrix table (accuracy, relative, pair); speedup: optional TPT table
    (tpt.speedup_table) with source, target, speedup; only runs initialised from a prompt of
    this backbone count (not projected ones), and repeated pairs are averaged.
    """
    measured = matrix[matrix.pair.isin(["same-type", "cross-type"])][PAIR_KEYS + ["pair", "accuracy", "relative"]]
    pairs = indicators.merge(measured, on=PAIR_KEYS, how="inner")
    if speedup is not None:
        if "init_kind" in speedup:
            speedup = speedup[speedup.init_kind == "prompt"]
        mean_speedup = speedup.groupby(PAIR_KEYS, as_index=False)["speedup"].mean()
        pairs = pairs.merge(mean_speedup, on=PAIR_KEYS, how="left")
    return pairs


def _spearman(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # constant inputs give NaN, which is the honest answer
        result = stats.spearmanr(x, y)
    return float(result.statistic), float(result.pvalue)


class Estimate(NamedTuple):
    rho: float
    p_value: float
    bootstrap: np.ndarray  # rho of each resample of the targets
    n: int  # pairs (pooled) or targets with a finite rho (per-target)


def _mean_of_finite(values: np.ndarray) -> float:
    finite = values[np.isfinite(values)]
    return float(finite.mean()) if len(finite) else math.nan


def _rho_estimates(
    x: np.ndarray, y: np.ndarray, target_rows: list[np.ndarray], draws: np.ndarray
) -> dict[str, Estimate]:
    """Pooled and per-target rho of x with y; target_rows: each target's rows; draws: resampled target indices."""
    per_target = np.array([_spearman(x[rows], y[rows])[0] for rows in target_rows])
    finite = per_target[np.isfinite(per_target)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # identical rhos: NaN
        t_test = float(stats.ttest_1samp(finite, 0.0).pvalue) if len(finite) > 1 else math.nan
    pooled_draws = [np.concatenate([target_rows[i] for i in draw]) for draw in draws]
    return {
        "pooled": Estimate(
            *_spearman(x, y), np.array([_spearman(x[rows], y[rows])[0] for rows in pooled_draws]), len(x)
        ),
        "per-target": Estimate(
            _mean_of_finite(per_target),
            t_test,
            np.array([_mean_of_finite(per_target[draw]) for draw in draws]),
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
    """Spearman's rho of every indicator against every outcome, pooled and averaged per target.

    pooled: rho over all pairs; p-value from scipy (which treats pairs as independent).
    per-target: rho over each target's sources, averaged over targets; p-value of a one-sample
    t-test of the per-target rhos against 0. Both get 95% percentile intervals from a bootstrap
    over targets (a resampled target brings all its pairs), with the same resamples for every
    indicator, so `delta_*` is the paired difference rho(indicator) - rho(reference).
    """
    rng = np.random.default_rng(seed)
    rows = []
    for outcome in outcomes:
        measured = pairs[pairs[outcome].notna()]
        targets = sorted(measured.target.unique())
        if not targets:
            continue
        draws = rng.integers(len(targets), size=(bootstrap, len(targets)))
        estimates = {}
        for indicator in indicators:
            data = measured[measured[indicator].notna()]
            target_rows = [np.flatnonzero(data.target.to_numpy() == t) for t in targets]
            estimates[indicator] = _rho_estimates(
                data[indicator].to_numpy(float), data[outcome].to_numpy(float), target_rows, draws
            )
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
                }
                if reference in estimates:
                    base = estimates[reference][aggregation]
                    row["reference"] = reference
                    row["delta_vs_reference"] = estimate.rho - base.rho
                    row["delta_ci_low"], row["delta_ci_high"] = _interval(estimate.bootstrap - base.bootstrap)
                rows.append(row)
    return pd.DataFrame(rows)


def retrieval_table(pairs: pd.DataFrame, indicators: list[str], outcomes: list[str]) -> pd.DataFrame:
    """For each target, the source each indicator ranks first, judged against measured transfer.

    top1: whether the chosen source is a best one; regret: best outcome minus the chosen
    source's. Ties for first place count as a uniform choice among them (their mean), so
    `random` (every source tied) is the chance level. One row per (indicator, outcome, target)
    and a "all" row per (indicator, outcome) with the means over targets.
    """
    rows = []
    for outcome in outcomes:
        for target, group in pairs[pairs[outcome].notna()].groupby("target"):
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
                    }
                )
    per_target = pd.DataFrame(
        rows, columns=["indicator", "outcome", "target", "chosen", "top1", "regret", "candidates"]
    )
    overall = per_target.groupby(["indicator", "outcome"], sort=False, as_index=False).agg(
        top1=("top1", "mean"), regret=("regret", "mean"), candidates=("candidates", "mean")
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
    write_csv(out, table)
    return table


def run_correlation_job(
    job: CorrelationJob, indicators_path, matrix_path, speedup_path, out_spearman, out_retrieval
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The indicator_correlation rule: Spearman table and source retrieval of one backbone
    (job.reference: the indicator the paired differences are taken against)."""
    from .io import write_csv

    indicators = pd.read_csv(indicators_path)
    speedup = pd.read_csv(speedup_path) if speedup_path else None
    pairs = transfer_pairs(indicators, pd.read_csv(matrix_path), speedup)
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
