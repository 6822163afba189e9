"""Transferability indicators on hand-made tensors with known answers, their correlation with
transfer and source retrieval on hand-made tables, prompts from files, and the figure."""

import math

import numpy as np
import pandas as pd
import pytest
import torch
import yaml
from conftest import REPO

from prompt_transfer import indicators as ind
from prompt_transfer.indicators import PAIR_KEYS
from prompt_transfer.errors import FileFormatError
from prompt_transfer.plots import indicators_pdf
from prompt_transfer.prompts import save_prompt
from prompt_transfer.config import load_config
from prompt_transfer.specs import IndicatorsJob, indicators_job
from prompt_transfer.study import Study

E = torch.eye(4, dtype=torch.float64)
P = E[:2]  # rows e1, e2
Q = E[2:]  # rows e3, e4: orthogonal to P
SQRT2 = math.sqrt(2)


@pytest.mark.parametrize(
    "name, p, q, expected",
    [
        # identical prompts: every flat or aligned measure is perfect; all-pairs measures also compare e1 with e2
        ("euclidean_flat", P, P, 1.0),
        ("euclidean_tokens", P, P, 1 / (1 + SQRT2 / 2)),  # distances 0, √2, √2, 0
        ("cosine_flat", P, P, 1.0),
        ("cosine_tokens", P, P, 0.5),  # cosines 1, 0, 0, 1
        ("euclidean_aligned", P, P, 1.0),
        ("cosine_aligned", P, P, 1.0),
        ("mean_prompt_cosine", P, P, 1.0),
        ("max_inner_product", P, P, 1.0),
        # orthogonal prompts
        ("euclidean_flat", P, Q, 1 / 3),  # ||P - Q|| = 2
        ("euclidean_tokens", P, Q, 1 / (1 + SQRT2)),
        ("cosine_flat", P, Q, 0.0),
        ("cosine_tokens", P, Q, 0.0),
        ("euclidean_aligned", P, Q, 1 / (1 + SQRT2)),
        ("cosine_aligned", P, Q, 0.0),
        ("mean_prompt_cosine", P, Q, 0.0),
        ("max_inner_product", P, Q, 0.0),
        # a scaled prompt: cosines do not see the scale, distances and inner products do
        ("euclidean_flat", P, 3 * P, 1 / (1 + 2 * SQRT2)),  # ||2P|| = 2√2
        ("euclidean_tokens", P, 3 * P, 1 / (1 + (4 + 2 * math.sqrt(10)) / 4)),  # 2, √10, √10, 2
        ("cosine_flat", P, 3 * P, 1.0),
        ("cosine_tokens", P, 3 * P, 0.5),
        ("euclidean_aligned", P, 3 * P, 1 / 3),
        ("cosine_aligned", P, 3 * P, 1.0),
        ("mean_prompt_cosine", P, 3 * P, 1.0),
        ("max_inner_product", P, 3 * P, 3.0),
    ],
)
def test_embedding_indicators_on_known_prompts(name, p, q, expected):
    assert ind.EMBEDDING_INDICATORS[name](p, q) == pytest.approx(expected, abs=1e-12)


def test_reordered_rows_separate_aligned_from_all_pairs_indicators():
    """Swapping the rows of a prompt changes the position-aligned indicators only."""
    swapped = P.flip(0)
    assert ind.cosine_aligned(P, swapped) == pytest.approx(0.0)
    assert ind.cosine_flat(P, swapped) == pytest.approx(0.0)
    for name in ("euclidean_tokens", "cosine_tokens", "mean_prompt_cosine", "max_inner_product"):
        assert ind.EMBEDDING_INDICATORS[name](P, swapped) == pytest.approx(ind.EMBEDDING_INDICATORS[name](P, P))


def test_prompts_of_different_lengths_have_no_flat_or_aligned_indicators():
    longer = E[:3]
    values = {name: fn(P, longer) for name, fn in ind.EMBEDDING_INDICATORS.items()}
    assert all(math.isnan(values[n]) for n in ("euclidean_flat", "cosine_flat", "euclidean_aligned", "cosine_aligned"))
    assert values["cosine_tokens"] == pytest.approx(2 / 6)  # two matching rows among 2 x 3 pairs
    assert values["max_inner_product"] == pytest.approx((1 + 2 / 3) / 2)  # e3 has no partner in P


def test_the_indicators_are_symmetric():
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(5, 8, generator=g, dtype=torch.float64), torch.randn(5, 8, generator=g, dtype=torch.float64)
    for name, fn in ind.EMBEDDING_INDICATORS.items():
        assert fn(a, b) == pytest.approx(fn(b, a)), name


def binary(bits: str) -> torch.Tensor:
    return torch.tensor([float(b) for b in bits])


@pytest.mark.parametrize(
    "a, b, expected",
    [
        ("111000", "111000", 1.0),
        ("111000", "000111", 0.0),
        ("111000", "110000", 2 / math.sqrt(3 * 2)),
        ("111100", "001111", 2 / 4),
        ("000000", "111000", 0.0),  # nothing active: no overlap
    ],
)
def test_neuron_overlap_of_binary_patterns(a, b, expected):
    assert ind.neuron_overlap(binary(a) > 0, binary(b) > 0) == pytest.approx(expected)


def test_layer_groups_cover_every_layer_in_order():
    groups = ind.layer_groups(7, 3)
    assert list(groups) == ["on_layers_1-3", "on_layers_4-6", "on_layers_7-7", "on_all"]
    assert [groups[g] for g in groups] == [slice(0, 3), slice(3, 6), slice(6, 7), slice(0, 7)]
    assert list(ind.layer_groups(2, 3)) == ["on_layers_1-2", "on_all"]


def test_on_binarises_at_zero_and_groups_layers():
    """Layers 1-2 have the same sign pattern (different values), layers 3-4 opposite ones."""
    source = torch.tensor(
        [[0.5, 2.0, -1.0, 0.0], [1.0, -0.1, 3.0, -2.0], [1.0, 1.0, -1.0, -1.0], [1.0, 1.0, 1.0, -1.0]]
    )
    target = torch.tensor(
        [[9.0, 0.1, -5.0, -0.0], [0.2, -9.0, 0.1, -0.3], [-1.0, -1.0, 1.0, 1.0], [-1.0, -1.0, -1.0, 1.0]]
    )
    values = ind.neuron_indicators(source, target, group_size=2)
    assert values["on_layers_1-2"] == pytest.approx(1.0)
    assert values["on_layers_3-4"] == pytest.approx(0.0)
    assert values["on_all"] == pytest.approx(4 / math.sqrt(9 * 7))  # 4 shared of 9 and 7 active


def test_indicator_table_has_every_ordered_pair():
    prompts = {"a": P, "b": 3 * P, "c": Q}
    activations = {"a": torch.ones(2, 3), "b": torch.ones(2, 3), "c": -torch.ones(2, 3)}
    table = ind.indicator_table(prompts, {"a": "sentiment", "b": "sentiment"}, activations, group_size=1)
    assert len(table) == 9
    assert list(table.columns[:3]) == ["source", "target", "same_type"]
    assert ind.indicator_columns(table) == [
        "same_type",
        *ind.EMBEDDING_INDICATORS,
        "on_layers_1-1",
        "on_layers_2-2",
        "on_all",
    ]
    row = table.set_index(["source", "target"])
    assert row.loc[("a", "b"), "same_type"] == 1.0 and math.isnan(row.loc[("a", "c"), "same_type"])
    assert row.loc[("a", "b"), "cosine_flat"] == pytest.approx(1.0)
    assert row.loc[("a", "c"), "on_all"] == 0.0 and row.loc[("a", "b"), "on_all"] == 1.0
    assert "on_all" not in ind.indicator_table(prompts, {}).columns


# --- correlation and retrieval on hand-made tables ------------------------------------------------


def hand_made_pairs(targets=4, sources=4, seed=0) -> pd.DataFrame:
    """Pairs where `good` orders each target's sources exactly like the outcome and `bad` reverses it."""
    rng = np.random.default_rng(seed)
    rows = []
    for t in range(targets):
        scores = rng.permutation(sources) / 10 + t  # per-target offsets: pooled and per-target differ
        for s in range(sources):
            rows.append(
                {"source": f"s{s}", "target": f"t{t}", "accuracy": scores[s], "relative": 100 * scores[s] / (t + 1)}
            )
    frame = pd.DataFrame(rows)
    frame["good"] = frame.accuracy
    frame["bad"] = -frame.accuracy
    frame["noise"] = rng.normal(size=len(frame))
    return frame


def test_spearman_of_perfect_and_reversed_indicators():
    pairs = hand_made_pairs()
    table = ind.spearman_table(
        pairs, ["good", "bad", "noise"], ["accuracy", "relative"], bootstrap=200, seed=0, reference="good"
    )
    row = table.set_index(["indicator", "outcome", "aggregation"])
    assert len(table) == 3 * 2 * 2
    assert row.loc[("good", "accuracy", "pooled"), ["rho", "ci_low", "ci_high"]].tolist() == pytest.approx([1, 1, 1])
    assert row.loc[("good", "accuracy", "pooled"), "p_value"] < 1e-6
    assert row.loc[("good", "accuracy", "pooled"), "n"] == 16
    assert row.loc[("bad", "relative", "per-target"), ["rho", "ci_low", "ci_high"]].tolist() == pytest.approx(
        [-1, -1, -1]
    )
    assert row.loc[("bad", "relative", "per-target"), "n"] == 4
    assert row.loc[("bad", "accuracy", "pooled"), "delta_vs_reference"] == pytest.approx(-2)
    assert row.loc[("bad", "accuracy", "pooled"), ["delta_ci_low", "delta_ci_high"]].tolist() == pytest.approx([-2, -2])
    noise = row.loc[("noise", "accuracy", "per-target")]
    assert noise.ci_low <= noise.rho <= noise.ci_high and 0 < noise.p_value <= 1
    again = ind.spearman_table(
        pairs, ["good", "bad", "noise"], ["accuracy", "relative"], bootstrap=200, seed=0, reference="good"
    )
    pd.testing.assert_frame_equal(table, again)  # seeded


def test_per_target_rho_ignores_the_targets_offsets():
    """A per-target outcome shift hides a perfect within-target order from the pooled rho only."""
    pairs = hand_made_pairs(targets=3, sources=5)
    offset = pairs.target.str[1:].astype(int)
    pairs["within"] = pairs.accuracy + 10 * offset  # same order inside each target, rising across targets
    pairs["accuracy"] = pairs.accuracy - 5 * offset  # falling across targets
    table = ind.spearman_table(pairs, ["within"], ["accuracy"], bootstrap=0, seed=0).set_index("aggregation")
    assert table.loc["per-target", "rho"] == pytest.approx(1.0)
    assert table.loc["pooled", "rho"] < 0.5
    assert math.isnan(table.loc["pooled", "ci_low"])  # no resamples, no interval


def test_retrieval_top1_regret_ties_and_chance():
    pairs = pd.DataFrame(
        {
            "source": ["a", "b", "c", "a", "b", "c"],
            "target": ["x", "x", "x", "y", "y", "y"],
            "relative": [90.0, 50.0, 70.0, 60.0, 80.0, 40.0],
            "picks_b": [0.0, 1.0, 0.0, 0.0, 1.0, 0.0],
            "tie_ac": [1.0, 0.0, 1.0, 1.0, 0.0, 1.0],
        }
    )
    table = ind.retrieval_table(pairs, ["picks_b", "tie_ac"], ["relative"]).set_index(["indicator", "target"])
    assert table.loc[("picks_b", "x"), ["chosen", "top1", "regret"]].tolist() == ["b", 0.0, 40.0]
    assert table.loc[("picks_b", "y"), ["chosen", "top1", "regret"]].tolist() == ["b", 1.0, 0.0]
    assert table.loc[("picks_b", "all"), ["top1", "regret"]].tolist() == pytest.approx([0.5, 20.0])
    # a tie is a uniform choice among the tied sources
    assert table.loc[("tie_ac", "x"), ["chosen", "top1", "regret"]].tolist() == ["a c", 0.5, 10.0]
    assert table.loc[("tie_ac", "y"), ["top1", "regret"]].tolist() == pytest.approx([0.0, 30.0])
    # chance: every source tied
    assert table.loc[("random", "x"), ["top1", "regret"]].tolist() == pytest.approx([1 / 3, 90 - 70])
    assert table.loc[("random", "all"), "top1"] == pytest.approx(1 / 3)


def test_transfer_pairs_keep_off_diagonal_tasks_and_prompt_initialised_speedups():
    matrix = pd.DataFrame(
        {
            "source": ["a", "b", "a", "b", "no prompt"],
            "target": ["a", "a", "b", "b", "a"],
            "accuracy": [0.9, 0.6, 0.5, 0.8, 0.3],
            "relative": [100.0, 66.7, 62.5, 100.0, 33.3],
            "pair": ["own", "same-type", "same-type", "own", "baseline"],
        }
    )
    indicators = ind.indicator_table({"a": P, "b": Q}, {"a": "t", "b": "t"})
    speedup = pd.DataFrame(
        {
            "source": ["b", "b", "a", "a"],
            "target": ["a", "a", "b", "b"],
            "init_kind": ["prompt", "prompt", "prompt", "projected"],
            "speedup": [2.0, 4.0, 1.0, 9.0],
        }
    )
    pairs = ind.transfer_pairs(indicators, matrix, speedup).set_index(["source", "target"])
    assert sorted(pairs.index) == [("a", "b"), ("b", "a")]
    assert pairs.loc[("b", "a"), "speedup"] == 3.0  # repeated runs averaged
    assert pairs.loc[("a", "b"), "speedup"] == 1.0  # the projected initialisation is another question


# --- several seeds --------------------------------------------------------------------------


def over_seeds(pairs: pd.DataFrame, seeds: int, noise: float = 0.0, columns=("accuracy", "relative", "noise")):
    """The pairs once per seed, with independent normal noise of scale `noise` on `columns`."""
    rng = np.random.default_rng(1)
    copies = []
    for seed in range(seeds):
        copy = pairs.assign(seed=seed)
        for column in columns:
            copy[column] = copy[column] + noise * rng.normal(size=len(copy))
        copies.append(copy)
    return pd.concat(copies, ignore_index=True)


# The single-seed implementation's numbers (at 71b3a4d) on the input below: rho, p, interval, paired interval
SINGLE_SEED = {
    ("noise", "accuracy", "pooled"): [
        0.15263157894736842,
        0.5327517272519823,
        -0.2564885496183206,
        0.4901379764528169,
        -1.2564885496183207,
        -0.509862023547183,
    ],
    ("noise", "accuracy", "per-target"): [-0.07999999999999999, 0.7942947427865173, -0.48, 0.4, -1.48, -0.6],
    ("tied", "accuracy", "pooled"): [
        0.20081067391528934,
        0.3959232421003581,
        -0.1970033486297263,
        0.4571783762292987,
        -1.1970033486297262,
        -0.5428216237707013,
    ],
    ("tied", "accuracy", "per-target"): [
        -0.16940871640449476,
        0.5244637555686921,
        -0.47281427652619223,
        0.2931182235954578,
        -1.4728142765261922,
        -0.7068817764045422,
    ],
    ("noise", "relative", "pooled"): [
        0.11847302588518127,
        0.6290527430603904,
        -0.3225226902835342,
        0.4854961832061069,
        -1.2900823143001559,
        -0.5145038167938931,
    ],
    ("noise", "relative", "per-target"): [
        -0.07999999999999999,
        0.7942947427865173,
        -0.48,
        0.44000000000000006,
        -1.48,
        -0.5599999999999999,
    ],
    ("tied", "relative", "pooled"): [
        0.15996494440088743,
        0.5005144158175937,
        -0.25632256963728145,
        0.4756102416110988,
        -1.2208660854632536,
        -0.5243897583889012,
    ],
    ("tied", "relative", "per-target"): [
        -0.16940871640449476,
        0.5244637555686921,
        -0.49415158649414676,
        0.3374290165911936,
        -1.4941515864941468,
        -0.6625709834088064,
    ],
}


@pytest.mark.parametrize("seed_column", [False, True])
def test_one_seed_gives_the_single_seed_numbers(seed_column):
    """Ties, a missing value and paired differences: the same estimates and bootstrap draws as before seeds."""
    pairs = hand_made_pairs(targets=5, sources=4, seed=3)
    pairs["tied"] = pairs.noise.round(0)
    pairs.loc[3, "noise"] = np.nan
    if seed_column:
        pairs["seed"] = 4
    table = ind.spearman_table(
        pairs, ["good", "noise", "tied"], ["accuracy", "relative"], bootstrap=100, seed=7, reference="good"
    )
    row = table.set_index(["indicator", "outcome", "aggregation"])
    for key, expected in SINGLE_SEED.items():
        columns = ["rho", "p_value", "ci_low", "ci_high", "delta_ci_low", "delta_ci_high"]
        assert row.loc[key, columns].tolist() == pytest.approx(expected, rel=1e-12, abs=1e-14), key
    assert set(table.seeds) == {1}


def test_weighted_spearman_is_spearman_of_the_repeated_pairs():
    """A resample that draws a pair k times counts it k times, ties sharing their mean rank."""
    rng = np.random.default_rng(0)
    x = rng.integers(4, size=(50, 9)).astype(float)  # many ties
    y = rng.normal(size=(50, 9))
    weights = rng.integers(3, size=(50, 9))
    rhos = ind._weighted_spearman(x, y, weights)
    for row in range(50):
        repeated = np.repeat(np.arange(9), weights[row])
        expected = ind._spearman(x[row, repeated], y[row, repeated])[0]
        assert rhos[row] == pytest.approx(expected, abs=1e-12) or (math.isnan(rhos[row]) and math.isnan(expected))
    assert math.isnan(ind._weighted_spearman(np.ones((1, 3)), y[:1, :3], np.ones((1, 3)))[0])  # constant side


def test_identical_seeds_give_one_seeds_rho_and_interval():
    pairs = hand_made_pairs(targets=5, sources=4, seed=3)
    names, outcomes = ["good", "noise"], ["accuracy", "relative"]
    one = ind.spearman_table(pairs, names, outcomes, bootstrap=200, seed=0, reference="good")
    three = ind.spearman_table(over_seeds(pairs, 3), names, outcomes, bootstrap=200, seed=0, reference="good")
    assert set(three.seeds) == {3}
    pd.testing.assert_frame_equal(one.drop(columns="seeds"), three.drop(columns="seeds"), rtol=1e-12)


def test_seed_variation_widens_the_intervals():
    """Noisy seeds: the seed-mean rho as from the seed-mean table, intervals at least as wide and wider on average."""
    pairs = over_seeds(hand_made_pairs(targets=6, sources=5, seed=2), 3, noise=0.3)
    names, outcomes = ["good", "noise"], ["accuracy", "relative"]
    by_seed = ind.spearman_table(pairs, names, outcomes, bootstrap=400, seed=0)
    means_only = ind.spearman_table(ind.seed_means(pairs).drop(columns="seeds"), names, outcomes, bootstrap=400, seed=0)
    assert by_seed.rho.tolist() == pytest.approx(means_only.rho.tolist())
    widths = [table.ci_high - table.ci_low for table in (by_seed, means_only)]
    one_sided = (by_seed.indicator == "good") & (by_seed.outcome == "accuracy")  # noise on the outcome only
    assert (widths[0][one_sided] > 1.5 * widths[1][one_sided]).all()
    assert widths[0].mean() > 1.2 * widths[1].mean()
    assert set(by_seed.seeds) == {3} and set(means_only.seeds) == {1}


def test_rho_is_taken_on_the_seed_means():
    """Seed 0 ranks the sources like the indicator, seed 1 reverses them more strongly: the
    seed means reverse them (rho -1, though the per-seed rhos average 0), and a resample
    drawing seed 0 twice (1 in 4) gives +1."""
    rows = []
    for target in ["x", "y", "z"]:
        for s in range(4):
            rows.append({"seed": 0, "source": f"s{s}", "target": target, "indicator": s, "accuracy": s})
            rows.append({"seed": 1, "source": f"s{s}", "target": target, "indicator": s, "accuracy": 10 * (3 - s)})
    table = ind.spearman_table(pd.DataFrame(rows), ["indicator"], ["accuracy"], bootstrap=200, seed=0)
    row = table.set_index("aggregation")
    for aggregation in ("pooled", "per-target"):
        assert row.loc[aggregation, ["rho", "ci_low", "ci_high", "seeds"]].tolist() == [-1, -1, 1, 2]
    assert row.loc["pooled", "n"] == 12 and row.loc["per-target", "n"] == 3


def test_transfer_pairs_join_seed_by_seed():
    indicators = pd.concat(
        [ind.indicator_table({"a": P, "b": s * Q}, {"a": "t", "b": "t"}).assign(seed=s) for s in (1, 2)]
    )
    matrix = pd.DataFrame(
        {
            "seed": [1, 1, 1, 2, 2, 2],
            "source": ["a", "b", "a", "a", "b", "b"],
            "target": ["a", "a", "b", "a", "a", "b"],
            "accuracy": [0.9, 0.6, 0.5, 0.8, 0.7, 0.9],
            "relative": [100.0, 66.7, 62.5, 100.0, 87.5, 100.0],
            "pair": ["own", "same-type", "same-type", "own", "same-type", "own"],
        }
    )
    speedup = pd.DataFrame(
        {"seed": [1, 1, 2], "source": ["b", "b", "b"], "target": ["a", "a", "a"], "speedup": [2.0, 4.0, 5.0]}
    )
    pairs = ind.transfer_pairs(indicators, matrix, speedup).set_index(["seed", "source", "target"])
    assert sorted(pairs.index) == [(1, "a", "b"), (1, "b", "a"), (2, "b", "a")]
    assert pairs.loc[(2, "b", "a"), "euclidean_tokens"] == pytest.approx(ind.euclidean_tokens(2 * Q, P))
    assert pairs.loc[(1, "b", "a"), ["accuracy", "speedup"]].tolist() == [0.6, 3.0]
    assert pairs.loc[(2, "b", "a"), ["accuracy", "speedup"]].tolist() == [0.7, 5.0]
    assert math.isnan(pairs.loc[(1, "a", "b"), "speedup"])
    means = ind.seed_means(pairs.reset_index()).set_index(["source", "target"])
    assert means.loc[("b", "a"), ["accuracy", "speedup", "seeds"]].tolist() == pytest.approx([0.65, 4.0, 2])
    assert means.loc[("a", "b"), ["pair", "seeds"]].tolist() == ["same-type", 1]


def test_retrieval_judges_the_seed_means():
    """Seed 0 prefers b by a little, seed 1 prefers a by a lot: a is the best source on average."""
    pairs = pd.DataFrame(
        {
            "seed": [0, 0, 1, 1],
            "source": ["a", "b", "a", "b"],
            "target": ["x", "x", "x", "x"],
            "relative": [70.0, 72.0, 90.0, 50.0],
            "picks_b": [0.0, 1.0, 0.0, 1.0],
        }
    )
    table = ind.retrieval_table(pairs, ["picks_b"], ["relative"]).set_index(["indicator", "target"])
    assert table.loc[("picks_b", "x"), ["chosen", "top1", "regret", "seeds"]].tolist() == ["b", 0.0, 19.0, 2]
    assert table.loc[("picks_b", "all"), "seeds"] == 2


def test_the_correlation_job_reads_one_indicator_table_per_seed(tmp_path):
    from prompt_transfer.specs import CorrelationJob

    paths = []
    rows = []
    for seed in (0, 1):
        table = ind.indicator_table({"a": P, "b": (seed + 2) * P, "c": Q}, {"a": "s", "b": "s", "c": "n"})
        table.insert(0, "backbone", "tiny")
        table.insert(1, "seed", seed)
        paths.append(tmp_path / f"indicators{seed}.csv")
        table.to_csv(paths[-1], index=False)
        for source, target in table[PAIR_KEYS].itertuples(index=False):
            own = source == target
            accuracy = 0.9 if own else 0.3 + 0.1 * seed + 0.05 * (source < target)
            rows.append(
                {
                    "backbone": "tiny",
                    "seed": seed,
                    "source": source,
                    "target": target,
                    "accuracy": accuracy,
                    "own_accuracy": 0.9,
                    "relative": 100 * accuracy / 0.9,
                    "pair": "own" if own else "same-type",
                }
            )
    pd.DataFrame(rows).to_csv(tmp_path / "matrix_by_seed.csv", index=False)
    spearman, retrieval = ind.run_correlation_job(
        CorrelationJob(bootstrap=20, seed=0, reference="cosine_flat"),
        [str(p) for p in paths],
        tmp_path / "matrix_by_seed.csv",
        None,
        tmp_path / "spearman.csv",
        tmp_path / "retrieval.csv",
    )
    written = pd.read_csv(tmp_path / "spearman.csv")
    assert set(written.backbone) == {"tiny"} and set(written.seeds) == {2}
    assert "seed" not in set(written.indicator)
    assert set(written[written.aggregation == "pooled"].n) == {6}
    assert set(pd.read_csv(tmp_path / "retrieval.csv").seeds) == {2}


def test_the_indicator_table_of_a_seed_says_its_backbone_and_seed(tmp_path):
    raw = yaml.safe_load((REPO / "config.yaml").read_text())
    raw["study"]["tasks"], raw["indicators"] = ["sst2", "mnli"], {"layer_group_size": 3}  # two types
    job = indicators_job(Study.from_config(load_config(raw)), "tiny", seed="2")
    assert job.seed == 2
    files = {}
    for name, prompt in [("sst2", P), ("mnli", Q)]:
        save_prompt(tmp_path / f"{name}.safetensors", prompt.float(), {"task": name})
        files[name] = str(tmp_path / f"{name}.safetensors")
    table = ind.run_indicators_job(job, files, None, tmp_path / "out.csv")
    assert list(table.columns[:4]) == ["backbone", "seed", "source", "target"]
    assert set(pd.read_csv(tmp_path / "out.csv").seed) == {2}
    assert "seed" not in ind.indicator_columns(table)


# --- prompts from files ---------------------------------------------------------------------


class Payload:
    def __reduce__(self):
        return (print, ("this must never run",))


def test_external_prompts_from_torch_and_safetensors_files(tmp_path):
    g = torch.Generator().manual_seed(0)
    released = torch.randn(3, 4, generator=g)
    torch.save(released.reshape(1, -1), tmp_path / "flat.pt")  # [1, L*d] as some papers release them
    torch.save({"prompt": 2 * released}, tmp_path / "dict.bin")
    save_prompt(tmp_path / "ours.safetensors", -released, {"task": "x"})
    files = {
        name: str(tmp_path / f) for name, f in [("flat", "flat.pt"), ("dict", "dict.bin"), ("ours", "ours.safetensors")]
    }
    job = IndicatorsJob({"flat": "a", "dict": "a"}, layer_group_size=3, hidden_size=4, skip_rows=1)
    table = ind.run_indicators_job(job, files, None, tmp_path / "out.csv")
    written = pd.read_csv(tmp_path / "out.csv")
    assert len(written) == 9 and "on_all" not in written.columns
    row = table.set_index(["source", "target"])
    kept = released[1:].double()  # skip_rows drops row 0
    assert row.loc[("flat", "dict"), "cosine_flat"] == pytest.approx(1.0)
    assert row.loc[("flat", "ours"), "cosine_flat"] == pytest.approx(-1.0)
    assert row.loc[("flat", "dict"), "euclidean_flat"] == pytest.approx(1 / (1 + kept.norm().item()))
    assert row.loc[("flat", "dict"), "same_type"] == 1.0 and math.isnan(row.loc[("flat", "ours"), "same_type"])


def test_a_prompt_file_that_would_run_code_is_refused(tmp_path):
    torch.save(Payload(), tmp_path / "evil.pt")  # unpickling it would call print()
    torch.save(P, tmp_path / "fine.pt")
    files = {"evil": str(tmp_path / "evil.pt"), "fine": str(tmp_path / "fine.pt")}
    with pytest.raises(FileFormatError, match="evil.pt: not a torch file of plain tensors"):
        ind.run_indicators_job(IndicatorsJob({}, layer_group_size=3), files, None, tmp_path / "out.csv")
    assert not (tmp_path / "out.csv").exists()


def test_the_figure_is_a_pdf(tmp_path):
    pairs = hand_made_pairs()
    pairs["pair"] = np.where(pairs.source.str[1:].astype(int) % 2 == 0, "same-type", "cross-type")
    seeded = over_seeds(pairs, 3, noise=0.1)
    results = {
        name: (ind.spearman_table(table, ["good", "noise"], ["accuracy", "relative"], bootstrap=50, seed=0), table)
        for name, table in [("tiny", pairs), ("tiny, 3 seeds", seeded)]
    }
    indicators_pdf(tmp_path / "indicators.pdf", results)
    assert (tmp_path / "indicators.pdf").read_bytes()[:5] == b"%PDF-"
