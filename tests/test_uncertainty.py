"""Intervals and the same-type vs cross-type test on inputs whose answers are known."""

from __future__ import annotations

import json

import numpy as np
import pytest

from prompt_transfer import transfer
from prompt_transfer.uncertainty import cell_interval, difference_interval, ratio_interval, type_difference


def test_the_example_bootstrap_of_a_0_1_vector_has_the_binomial_width():
    hits = np.zeros(500)
    hits[:350] = 1  # accuracy 0.7
    cell = cell_interval(hits, reps=4000)
    binomial = 2 * 1.96 * np.sqrt(0.7 * 0.3 / 500)
    assert cell["mean"] == pytest.approx(0.7)
    assert cell["high"] - cell["low"] == pytest.approx(binomial, rel=0.1)
    assert np.isnan(cell["seed_low"])  # one seed: no interval over seeds


def test_a_cell_identical_across_seeds_has_a_zero_width_seed_interval():
    hits = (np.random.default_rng(0).random(200) < 0.6).astype(float)
    cell = cell_interval(np.stack([hits] * 3))
    assert cell["seed_low"] == cell["seed_high"] == pytest.approx(hits.mean())
    assert cell["high"] - cell["low"] > 0.05  # the examples' part remains
    spread = cell_interval(np.stack([hits, np.zeros_like(hits), hits]))
    assert spread["seed_high"] - spread["seed_low"] > 0.1


def test_paired_differences_cancel_what_two_prompts_share():
    rng = np.random.default_rng(1)
    hits = (rng.random(500) < 0.6).astype(float)
    same = difference_interval(hits, hits)
    assert same == (0.0, 0.0, 0.0)
    better = hits.copy()
    better[np.flatnonzero(hits == 0)[:50]] = 1  # 50 more right answers, nothing else differs
    diff, low, high = difference_interval(better, hits)
    assert diff == pytest.approx(0.1) and 0.07 < low < high < 0.13
    rel, low, high = ratio_interval(hits, hits)
    assert rel == low == high == pytest.approx(100)


def constructed(effect: float, seed: int = 0) -> tuple[np.ndarray, list[str]]:
    """A relative-performance matrix of 12 tasks in 3 types: noise, plus `effect` on same-type cells."""
    types = ["a"] * 4 + ["b"] * 4 + ["c"] * 4
    same = np.equal.outer(types, types)
    rng = np.random.default_rng(seed)
    return 75 + rng.normal(0, 4, (12, 12)) + effect * same, types


def test_the_type_test_finds_a_real_effect_and_none_where_there_is_none():
    with_effect = type_difference(*constructed(8.0))
    assert with_effect["difference"] == pytest.approx(8.0, abs=1.5)
    assert with_effect["low"] > 0 and with_effect["p_value"] < 0.01
    without = [type_difference(*constructed(0.0, seed)) for seed in range(10)]
    assert sum(r["p_value"] < 0.05 for r in without) <= 2  # about 5% false alarms
    assert sum(r["low"] <= 0 <= r["high"] for r in without) >= 8


def test_the_type_test_moves_whole_tasks():
    """A source that transfers well everywhere makes same-type and cross-type cells alike depend
    on it: with its row shifted, the permutation test must not call the difference real."""
    relative, types = constructed(0.0, seed=3)
    relative[0] += 30
    assert type_difference(relative, types)["p_value"] > 0.05


def write_results(folder, tasks, rng, seeds=(0,), own=0.9, other=0.5, spread=0.0):
    """Zero-shot result files of every pair and seed (seed s scores `spread` * s better) and
    baseline files, as the rules write them."""

    def hits(p):
        return "".join("1" if x else "0" for x in rng.random(300) < p)

    pairs, baselines = [], []
    for seed in seeds:
        (folder / f"seed{seed}").mkdir(parents=True, exist_ok=True)
        for source in tasks:
            for target in tasks:
                path = folder / f"seed{seed}" / f"{source}__{target}.json"
                p = (own if source == target else other) + spread * seed
                record = {"backbone": "b", "source": source, "target": target, "examples": 300}
                record["example_scores"] = hits(p)
                record["accuracy"] = record["example_scores"].count("1") / 300
                path.write_text(json.dumps(record))
                pairs.append(path)
    for target in tasks:
        random_hits = [hits(0.5) for _ in range(3)]
        none = hits(0.5)
        record = {
            "backbone": "b",
            "target": target,
            "examples": 300,
            "no_prompt": none.count("1") / 300,
            "no_prompt_example_scores": none,
            "random_mean": float(np.mean([h.count("1") / 300 for h in random_hits])),
            "random_example_scores": random_hits,
        }
        path = folder / f"baseline_{target}.json"
        path.write_text(json.dumps(record))
        baselines.append(path)
    return pairs, baselines


TASKS = {"sst2": "sentiment", "laptop": "sentiment", "mnli": "nli"}


def test_the_matrix_carries_intervals_and_the_summary_counts_cells_above_random(tmp_path):
    tasks = TASKS
    pairs, baselines = write_results(tmp_path, tasks, np.random.default_rng(0))
    matrix, by_seed = transfer.transfer_matrix(pairs, baselines, tasks)
    assert len(by_seed) == 9 and set(by_seed.seed) == {0}
    own = matrix[matrix.pair == "own"]
    assert (own.minus_random_low > 0.3).all()  # 0.9 against 0.5 on 300 examples
    assert (matrix.accuracy_low <= matrix.accuracy).all() and (matrix.accuracy <= matrix.accuracy_high).all()
    assert matrix[matrix.source == "random prompt"].minus_random.isna().all()
    summary = transfer.transfer_summary(matrix).set_index("target")
    assert summary.loc["all", "sources_above_random"] >= 3
    table = transfer.type_difference(matrix, by_seed, tasks)
    assert list(table.columns[:3]) == ["same_type_relative", "cross_type_relative", "same_minus_cross"]
    assert table.loc[0, "tasks"] == 3 and table.loc[0, "seeds"] == 1 and table.loc[0, "examples_per_target"] == 300


def test_several_seeds_give_the_mean_cell_and_intervals_that_include_the_seed_variation(tmp_path):
    rng = np.random.default_rng(0)
    pairs, baselines = write_results(tmp_path / "spread", TASKS, rng, seeds=(0, 1, 2), other=0.3, spread=0.2)
    matrix, by_seed = transfer.transfer_matrix(pairs, baselines, TASKS)
    assert len(by_seed) == 27 and sorted(set(by_seed.seed)) == [0, 1, 2]
    cell = matrix[(matrix.source == "sst2") & (matrix.target == "mnli")].iloc[0]
    per_seed = by_seed[(by_seed.source == "sst2") & (by_seed.target == "mnli")].sort_values("seed").accuracy
    assert cell.accuracy == pytest.approx(per_seed.mean()) and cell.seeds == 3
    assert per_seed.is_monotonic_increasing  # 0.3, 0.5, 0.7: the seeds differ by construction
    # the same scores written as one seed: only the examples' part of the interval
    one_pairs, one_baselines = write_results(tmp_path / "one", TASKS, np.random.default_rng(0), other=0.5)
    one, _ = transfer.transfer_matrix(one_pairs, one_baselines, TASKS)
    one_cell = one[(one.source == "sst2") & (one.target == "mnli")].iloc[0]
    assert cell.accuracy_high - cell.accuracy_low > 2 * (one_cell.accuracy_high - one_cell.accuracy_low)
    table = transfer.type_difference(matrix, by_seed, TASKS)
    assert table.loc[0, "seeds"] == 3


def test_identical_seeds_change_neither_the_type_difference_nor_its_interval():
    relative, types = constructed(5.0)
    one = type_difference(relative, types)
    three = type_difference(np.stack([relative] * 3), types)
    assert three["difference"] == pytest.approx(one["difference"])
    assert three["seeds"] == 3 and one["seeds"] == 1
    # the task draws differ once seeds are drawn too, so the bounds agree only up to resampling
    assert three["low"] == pytest.approx(one["low"], abs=1.0) and three["high"] == pytest.approx(one["high"], abs=1.0)
    noisy = np.stack([relative + shift for shift in (-10, 0, 10)])
    wide = type_difference(noisy + np.random.default_rng(1).normal(0, 6, noisy.shape), types)
    assert wide["high"] - wide["low"] > one["high"] - one["low"]


def test_generation_scores_are_kept_per_example_and_resampled_like_hits():
    from prompt_transfer.evaluation import stored

    assert stored([1.0, 0.0, 1.0]) == "101"
    kept = stored([0.5, 1.0, 0.25])
    assert kept == [0.5, 1.0, 0.25]
    assert transfer._scores(kept).tolist() == [[0.5, 1.0, 0.25]]
    assert transfer._scores([kept, "011"]).tolist() == [[0.5, 1.0, 0.25], [0.0, 1.0, 1.0]]
    assert transfer._scores("10").tolist() == [[1.0, 0.0]]


def test_a_ratio_over_an_own_score_of_zero_is_undefined_not_an_error():
    rel, low, high = ratio_interval(np.ones(20), np.zeros(20))
    assert np.isnan(rel) and np.isnan(low) and np.isnan(high)
