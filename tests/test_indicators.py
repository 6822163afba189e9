"""Transferability indicators on hand-made tensors with known answers, their correlation with
transfer and source retrieval on hand-made tables, prompts from files, and the figure."""

import math

import numpy as np
import pandas as pd
import pytest
import torch

from prompt_transfer import indicators as ind
from prompt_transfer.errors import FileFormatError
from prompt_transfer.plots import indicators_pdf
from prompt_transfer.prompts import save_prompt
from prompt_transfer.specs import IndicatorsJob

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
    spearman = ind.spearman_table(pairs, ["good", "noise"], ["accuracy", "relative"], bootstrap=50, seed=0)
    indicators_pdf(tmp_path / "indicators.pdf", {"tiny": (spearman, pairs)})
    assert (tmp_path / "indicators.pdf").read_bytes()[:5] == b"%PDF-"
