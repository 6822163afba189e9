"""How much of a transfer result is noise: intervals from the validation examples (and from
training seeds, where there are several), and a test of same-type vs cross-type transfer that
respects the dependence between cells sharing a source or a target.

Every score here is a mean of per-example scores (1/0 for a correct/wrong class; a metric in
[0, 1] per example otherwise), kept as an array [seeds, examples]: a cell's scores over the
same validation examples for each training seed of its source prompt.
"""

from __future__ import annotations

import warnings

import numpy as np

LEVEL = 0.95


def _quantiles(draws: np.ndarray, level: float = LEVEL) -> tuple[float, float]:
    if len(draws) == 0:  # e.g. a ratio whose denominator is 0 in every resample
        return np.nan, np.nan
    tail = (1 - level) / 2
    low, high = np.quantile(draws, [tail, 1 - tail])
    return float(low), float(high)


def _draws(n_seeds: int, n_examples: int, reps: int, rng: np.random.Generator):
    """Indices of `reps` bootstrap resamples: seeds (only when there are several) and examples."""
    seeds = rng.integers(0, n_seeds, (reps, n_seeds)) if n_seeds > 1 else np.zeros((reps, 1), dtype=int)
    return seeds, rng.integers(0, n_examples, (reps, n_examples))


def _resampled_means(scores: np.ndarray, seeds: np.ndarray, examples: np.ndarray) -> np.ndarray:
    """Mean score of each resample: [reps]. scores: [S, N]."""
    per_seed = scores[:, examples].mean(-1)  # [S, reps]
    return np.take_along_axis(per_seed.T, seeds, axis=1).mean(-1)


def cell_interval(scores, reps: int = 1000, seed: int = 0) -> dict:
    """Mean over seeds and examples with a bootstrap interval over both, and the interval over
    seeds alone (of the per-seed means: zero width when the seeds agree; none for one seed)."""
    scores = np.atleast_2d(np.asarray(scores, dtype=float))
    seeds, examples = _draws(*scores.shape, reps, np.random.default_rng(seed))
    low, high = _quantiles(_resampled_means(scores, seeds, examples))
    per_seed = scores.mean(-1)
    seed_low, seed_high = _quantiles(per_seed[seeds].mean(-1)) if len(per_seed) > 1 else (np.nan, np.nan)
    return {
        "mean": float(scores.mean()),
        "low": low,
        "high": high,
        "seed_low": seed_low,
        "seed_high": seed_high,
        "seeds": scores.shape[0],
        "examples": scores.shape[1],
    }


def _paired(scores, reference, reps: int, seed: int):
    """Both [*, N] on the same examples, and the means of each over `reps` resamples that draw the
    same examples for both (paired), so what the two share cancels."""
    a = np.atleast_2d(np.asarray(scores, dtype=float))
    b = np.atleast_2d(np.asarray(reference, dtype=float))
    rng = np.random.default_rng(seed)
    seeds_a, examples = _draws(a.shape[0], a.shape[1], reps, rng)
    seeds_b, _ = _draws(b.shape[0], b.shape[1], reps, rng)
    return a, b, _resampled_means(a, seeds_a, examples), _resampled_means(b, seeds_b, examples)


def difference_interval(scores, reference, reps: int = 1000, seed: int = 0) -> tuple[float, float, float]:
    """mean(scores) - mean(reference) with a paired bootstrap interval."""
    a, b, means_a, means_b = _paired(scores, reference, reps, seed)
    return (float(a.mean() - b.mean()), *_quantiles(means_a - means_b))


def ratio_interval(scores, own, reps: int = 1000, seed: int = 0) -> tuple[float, float, float]:
    """100 * mean(scores) / mean(own) (relative performance) with a paired bootstrap interval."""
    a, b, means_a, means_b = _paired(scores, own, reps, seed)
    with np.errstate(divide="ignore", invalid="ignore"):
        draws = 100 * means_a / means_b
        ratio = 100 * a.mean() / b.mean() if b.mean() else np.nan  # undefined when the own score is 0
    return (float(ratio), *_quantiles(draws[np.isfinite(draws)]))


def _type_gap(relative: np.ndarray, types: np.ndarray, ids: np.ndarray) -> float:
    """Mean relative performance of same-type minus cross-type cells among tasks `ids` (a task
    drawn twice is still one task: its pairs with itself are left out)."""
    same_task = ids[:, None] == ids[None, :]
    block = relative[np.ix_(ids, ids)]
    same_type = (types[ids][:, None] == types[ids][None, :]) & ~same_task
    cross_type = types[ids][:, None] != types[ids][None, :]
    same, cross = block[same_type], block[cross_type]
    same, cross = same[np.isfinite(same)], cross[np.isfinite(cross)]  # undefined ratios left out
    if not len(same) or not len(cross):
        return np.nan
    return float(same.mean() - cross.mean())


def _mean_over_seeds(grids: np.ndarray) -> np.ndarray:
    """[seeds, sources, targets] -> their mean; a cell undefined in every seed stays NaN."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(grids, axis=0)


def type_difference(relative, types, reps: int = 2000, seed: int = 0) -> dict:
    """Same-type minus cross-type mean relative performance of a [sources x targets] matrix of
    the same tasks (diagonal = own prompts, left out), or of [seeds, sources, targets] matrices
    (one per training seed: the difference of their mean).

    Cells sharing a source or a target are not independent, so both the interval and the test
    move whole tasks: the interval resamples tasks with replacement (each drawn task brings its
    row and column) and, with several seeds, the seeds too (the seed variation is part of the
    interval); the test permutes the type labels among tasks (same type sizes) on the seed
    mean and compares the observed difference with the permuted ones (two-sided p-value).
    """
    relative = np.asarray(relative, dtype=float)
    by_seed = relative if relative.ndim == 3 else relative[None]
    mean = _mean_over_seeds(by_seed)
    types = np.asarray(types)
    n, n_seeds = len(types), len(by_seed)
    rng = np.random.default_rng(seed)
    every = np.arange(n)
    observed = _type_gap(mean, types, every)

    def resampled():
        tasks = rng.integers(0, n, n)
        if n_seeds == 1:
            return _type_gap(mean, types, tasks)
        return _type_gap(_mean_over_seeds(by_seed[rng.integers(0, n_seeds, n_seeds)]), types, tasks)

    boot = np.array([resampled() for _ in range(reps)])
    low, high = _quantiles(boot[np.isfinite(boot)])
    permuted = np.array([_type_gap(mean, rng.permutation(types), every) for _ in range(reps)])
    p = (1 + np.sum(np.abs(permuted) >= abs(observed) - 1e-12)) / (1 + reps) if np.isfinite(observed) else np.nan
    return {"difference": observed, "low": low, "high": high, "p_value": float(p), "tasks": n, "seeds": n_seeds}


def cluster_interval(values, clusters, statistic, reps: int = 1000, seed: int = 0) -> tuple[float, float, float]:
    """statistic over all rows (NaNs skipped) with a bootstrap interval that resamples clusters:
    rows sharing a cluster (e.g. one TPT pair's seeds) are not independent, so each drawn
    cluster brings all its rows. statistic: a NaN-skipping reduction along the last axis
    (np.nanmedian, np.nanmean). The draws depend only on the number of clusters, so repeating
    every cluster's rows alike changes neither the estimate of a median or mean nor its interval.
    """
    values = np.asarray(values, dtype=float)
    if not len(values):
        return np.nan, np.nan, np.nan
    labels, index = np.unique(np.asarray(clusters), return_inverse=True)
    position = np.zeros(len(values), dtype=int)  # each row's place within its cluster
    for cluster in range(len(labels)):
        members = index == cluster
        position[members] = np.arange(members.sum())
    padded = np.full((len(labels), position.max() + 1), np.nan)  # [clusters, most rows]
    padded[index, position] = values
    draws = np.random.default_rng(seed).integers(0, len(labels), (reps, len(labels)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a resample (or all rows) without a value: NaN
        estimate = float(statistic(values))
        resampled = statistic(padded[draws].reshape(reps, -1), axis=-1)
    return (estimate, *_quantiles(resampled[np.isfinite(resampled)]))
