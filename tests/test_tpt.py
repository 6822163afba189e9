"""Transferable prompt tuning: pair selection, the speed-up arithmetic on hand-made logs, a
transferred run on a tiny model that provably starts from the source prompt, and the workflow's
TPT jobs (exactly the configured pairs; the random-init curve is never trained again)."""

from __future__ import annotations

import copy
import json
import math

import pandas as pd
import pytest
import torch
import yaml
from conftest import BACKBONE, REPO, TINY_LABEL_WORDS, copy_workdir, jobs, overlay, snakemake

from prompt_transfer import tpt, training
from prompt_transfer import specs
from prompt_transfer.config import ConfigError, load_config
from prompt_transfer.study import Study
from prompt_transfer.tpt import Pair

# --- pair selection -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def raw():
    return yaml.safe_load((REPO / "config.yaml").read_text())


def configured(raw, tpt_section=None, **study):
    raw = copy.deepcopy(raw)
    if tpt_section is not None:
        raw["tpt"] = tpt_section
    raw["study"].update(study)
    config = Study.from_config(load_config(raw))
    tpt.check(config)
    return config


def pairs_of(config, backbone="minilm"):
    return tpt.static_pairs(config, backbone)


def test_same_type_is_the_default_and_pairs_every_same_type_source(raw):
    config = configured(raw)
    assert config.tpt == {"pairs": "same_type", "top_k": 3, "threshold": 0.9}
    pairs = pairs_of(config)
    # 6 sentiment, 3 NLI, 2 ethics, 2 paraphrase tasks: 6*5 + 3*2 + 2*1 + 2*1 ordered pairs
    assert len(pairs) == 40
    assert Pair("imdb", "sst2") in pairs and Pair("sst2", "imdb") in pairs
    assert Pair("mnli", "sst2") not in pairs
    assert all(p.source != p.target for p in pairs)
    assert Pair("imdb", "sst2").log_path("minilm", 0) == "results/tpt/minilm/seed0/imdb__sst2.csv"
    assert Pair("imdb", "sst2").init_path("minilm", 0) == "results/prompts/minilm/seed0/imdb.safetensors"


def test_all_pairs_every_other_task(raw):
    assert len(pairs_of(configured(raw, {"pairs": "all"}))) == 13 * 12


def test_an_explicit_list_runs_exactly_its_pairs_and_can_mix_in_a_mode(raw):
    entries = [{"source": "imdb", "target": "sst2"}, {"source": "mnli", "target": "sst2"}]
    assert pairs_of(configured(raw, {"pairs": entries})) == [Pair("imdb", "sst2"), Pair("mnli", "sst2")]
    mixed = pairs_of(configured(raw, {"pairs": ["same_type", {"source": "mnli", "target": "sst2"}]}))
    assert len(mixed) == 41 and Pair("mnli", "sst2") in mixed


def test_a_projected_prompt_is_named_by_its_origin_and_runs_on_the_other_backbones(raw):
    entry = {
        "source": "sst2",
        "target": "sst2",
        "projected": {"from": "mpnet", "objective": "distance", "taskset": "sentiment"},
    }
    config = configured(raw, {"pairs": [entry]}, backbones=["minilm", "mpnet"])
    (pair,) = pairs_of(config, "minilm")
    assert pair.init == "sst2@mpnet.distance.sentiment"
    assert pair.log_path("minilm", 1) == "results/tpt/minilm/seed1/sst2@mpnet.distance.sentiment__sst2.csv"
    assert (
        pair.init_path("minilm", 1)
        == "results/projectors/mpnet__minilm/seed1/projected/distance__sentiment/sst2.safetensors"
    )
    assert pairs_of(config, "mpnet") == []  # not projected onto itself


def test_generated_pairs_skip_a_source_of_another_prompt_length_and_explicit_ones_refuse_it(raw):
    raw = copy.deepcopy(raw)
    raw["tasks"]["imdb"]["training"] = {"prompt_length": 50}
    pairs = pairs_of(configured(raw))
    assert not [p for p in pairs if "imdb" in (p.source, p.target)] and len(pairs) == 40 - 2 * 5
    with pytest.raises(
        ConfigError, match=r"tpt.pairs\[0\]: imdb's prompt_length on minilm differs from sst2's on minilm"
    ):
        pairs_of(configured(raw, {"pairs": [{"source": "imdb", "target": "sst2"}]}))
    # a projected prompt has the length of the source backbone's prompts (smollm2: 20)
    entry = {
        "source": "sst2",
        "target": "sst2",
        "projected": {"from": "smollm2", "objective": "task", "taskset": "all"},
    }
    with pytest.raises(ConfigError, match=r"sst2's prompt_length on smollm2 differs from sst2's on minilm"):
        pairs_of(configured(raw, {"pairs": [entry]}))


@pytest.mark.parametrize(
    "section, message",
    [
        ({"pairs": "some"}, "tpt.pairs: 'some' is not valid under any of the given schemas"),
        ({"threshold": 1.5}, "tpt.threshold: 1.5 is greater than the maximum of 1"),
        ({"pairs": [{"source": "sst2", "target": "nope"}]}, "tpt.pairs[0].target: 'nope' is not a task of the study"),
        ({"pairs": [{"source": "sst2", "target": "sst2"}]}, "tpt.pairs[0]: source and target are both 'sst2'"),
        ({"pairs": [{"source": "sst2", "target": "imdb", "projected": {"from": "gpt9", "objective": "d", "taskset": "s"}}]},
         "tpt.pairs[0].projected.from: unknown backbone 'gpt9'"),
        ({"pairs": [{"source": "sst2", "target": "imdb", "projected": {"from": "mpnet", "objective": "a.b", "taskset": "s"}}]},
         "tpt.pairs.0.projected.objective: 'a.b' is not a valid name: letters and digits"),
    ],
)  # fmt: skip
def test_bad_tpt_settings_are_refused_with_the_key_named(raw, section, message):
    with pytest.raises(ConfigError) as error:
        configured(raw, section)
    assert message in str(error.value)


def test_top_k_takes_the_best_zero_shot_sources_per_target():
    rows = [
        ("a", "b", 0.7), ("c", "b", 0.9), ("d", "b", 0.7), ("b", "b", 0.99), ("random prompt", "b", 0.95),
        ("b", "a", 0.6), ("c", "a", 0.5), ("d", "a", 0.4),
    ]  # fmt: skip
    matrix = pd.DataFrame(rows, columns=["source", "target", "accuracy"])
    assert tpt.top_k_pairs(matrix, 2, ["a", "b", "c", "d"]) == sorted(
        [Pair("c", "b"), Pair("a", "b"), Pair("b", "a"), Pair("c", "a")]
    )
    assert tpt.needs_matrix({"pairs": "top_k"}) and tpt.needs_matrix({"pairs": ["same_type", "top_k"]})
    assert not tpt.needs_matrix({"pairs": "same_type"}) and not tpt.needs_matrix(
        {"pairs": [{"source": "a", "target": "b"}]}
    )


# --- speed-up arithmetic on hand-made logs ------------------------------------------------------


def log(scores, steps=(0, 50, 100, 150, 200), seconds_per_step=0.1):
    return pd.DataFrame(
        {
            "step": list(steps),
            "examples_seen": [16 * s for s in steps],
            "wall_seconds": [seconds_per_step * s for s in steps],
            "train_loss": [math.nan] + [0.5] * (len(steps) - 1),
            "dev_accuracy": scores,
        }
    )


RANDOM = log([0.50, 0.60, 0.70, 0.78, 0.80])  # best 0.80: threshold 0.72, first reached at step 150


def test_speedup_counts_steps_and_seconds_to_the_first_evaluation_at_the_threshold():
    row = tpt.compare(RANDOM, log([0.55, 0.75, 0.80, 0.82, 0.81], seconds_per_step=0.2), 0.9)
    assert row["threshold"] == pytest.approx(0.72)
    assert (row["random_steps"], row["tpt_steps"]) == (150, 50)
    assert row["speedup"] == pytest.approx(3.0)
    assert (row["random_seconds"], row["tpt_seconds"]) == pytest.approx((15.0, 10.0))
    assert row["time_ratio"] == pytest.approx(1.5)
    assert row["random_best"] == 0.80 and row["tpt_best"] == 0.82 and row["best_diff"] == pytest.approx(0.02)
    assert row["final_diff"] == pytest.approx(0.01)
    assert (row["random_initial"], row["tpt_initial"]) == (0.50, 0.55)
    # equal steps after 0: +0.15, +0.10, +0.04, +0.01
    assert (row["evals"], row["evals_ahead"]) == (4, 4) and row["mean_gain"] == pytest.approx(0.075)
    assert row["beats_random"] and row["tpt_reached"] and not row["tpt_at_start"]


def test_a_transferred_run_that_never_reaches_the_threshold_has_speedup_zero():
    row = tpt.compare(RANDOM, log([0.40, 0.50, 0.60, 0.70, 0.71]), 0.9)
    assert math.isnan(row["tpt_steps"]) and math.isnan(row["tpt_seconds"])
    assert row["speedup"] == 0.0 and row["time_ratio"] == 0.0
    assert not row["tpt_reached"] and not row["beats_random"] and row["evals_ahead"] == 0


def test_a_run_at_the_threshold_at_step_0_is_credited_with_its_first_interval():
    at_start = log([0.75, 0.76, 0.79, 0.80, 0.80])
    row = tpt.compare(RANDOM, at_start, 0.9)
    assert row["tpt_steps"] == 0 and row["tpt_at_start"]
    assert row["speedup"] == pytest.approx(150 / 50)  # a lower bound: the true speed-up is at least this
    assert row["time_ratio"] == pytest.approx(15.0 / 5.0)
    # both runs at the threshold from the start: neither is faster
    easy = log([0.79, 0.80, 0.80, 0.80, 0.80])
    assert tpt.compare(easy, at_start, 0.9)["speedup"] == 1.0
    # random init starts above it and the transferred run only gets there at step 100
    assert tpt.compare(easy, log([0.5, 0.6, 0.75, 0.8, 0.8]), 0.9)["speedup"] == pytest.approx(50 / 100)


def test_the_threshold_fraction_is_configurable():
    row = tpt.compare(RANDOM, log([0.55, 0.75, 0.80, 0.82, 0.81]), 0.5)
    assert row["threshold"] == pytest.approx(0.40) and row["random_steps"] == 0 and row["tpt_steps"] == 0
    assert row["speedup"] == 1.0


def test_speedup_table_and_summary_over_pairs():
    logs = {
        "results/prompts/m/seed0/b.log.csv": RANDOM,
        "results/tpt/m/seed0/a__b.csv": log([0.55, 0.75, 0.80, 0.82, 0.81]),  # same type, x3
        "results/tpt/m/seed0/c__b.csv": log([0.40, 0.50, 0.60, 0.70, 0.71]),  # same type, never: x0
        "results/tpt/m/seed0/d__b.csv": log([0.50, 0.62, 0.72, 0.79, 0.80]),  # cross type, x1.5
        "results/tpt/m/seed0/b@n.distance.all__b.csv": log([0.75, 0.76, 0.79, 0.80, 0.80]),  # projected
    }
    pairs = [Pair("a", "b"), Pair("c", "b"), Pair("d", "b"), Pair("b", "b", ("n", "distance", "all"))]
    types = {"a": "x", "b": "x", "c": "x", "d": "y"}
    table = tpt.speedup_table("m", pairs, [0], types, 0.9, read_log=logs.__getitem__)
    assert list(table.columns) == tpt.SPEEDUP_COLUMNS
    assert table.speedup.tolist() == pytest.approx([3.0, 0.0, 1.5, 3.0])
    assert table.pair.tolist() == ["same-type", "same-type", "cross-type", "same-task"]
    assert table.init_kind.tolist() == ["prompt"] * 3 + ["projected"]
    assert table.random_log.unique().tolist() == ["results/prompts/m/seed0/b.log.csv"]
    summary = tpt.speedup_summary(table).set_index(["init_kind", "pair"])
    same = summary.loc[("prompt", "same-type")]
    assert (same.pairs, same.runs, same.seeds) == (2, 2, 1)
    assert same.median_speedup == pytest.approx(1.5) and same.reached == 1 and same.beats_random == 1
    # two pairs, x3 and x0: resamples draw {3, 3}, {3, 0} or {0, 0}
    assert (same.median_speedup_low, same.median_speedup_high) == (0.0, 3.0)
    cross = summary.loc[("prompt", "cross-type")]
    assert cross.median_speedup == cross.median_speedup_low == cross.median_speedup_high == pytest.approx(1.5)
    assert summary.loc[("all", "all")].pairs == 4 and summary.loc[("all", "all")].faster == 3


SEED_LOGS = {
    # seed 0 as above; seed 1 has its own random-init run (best 0.90: threshold 0.81, reached at step 100)
    "results/prompts/m/seed0/b.log.csv": RANDOM,
    "results/prompts/m/seed1/b.log.csv": log([0.50, 0.70, 0.85, 0.90, 0.90]),
    "results/tpt/m/seed0/a__b.csv": log([0.55, 0.75, 0.80, 0.82, 0.81]),  # x3 (150 / 50)
    "results/tpt/m/seed1/a__b.csv": log([0.55, 0.70, 0.80, 0.85, 0.88]),  # x2/3 (100 / 150)
    "results/tpt/m/seed0/c__b.csv": log([0.40, 0.50, 0.60, 0.70, 0.71]),  # never: x0
    "results/tpt/m/seed1/c__b.csv": log([0.60, 0.82, 0.85, 0.85, 0.86]),  # x2 (100 / 50)
    "results/tpt/m/seed0/b@t5__b.csv": log([0.50, 0.62, 0.72, 0.79, 0.80]),  # imported, x1.5
    "results/tpt/m/seed1/b@t5__b.csv": log([0.50, 0.62, 0.72, 0.79, 0.80]),  # never: x0
}
SEED_PAIRS = [Pair("a", "b"), Pair("c", "b"), Pair("b", "b", prompts_of="t5")]
SEED_TYPES = {"a": "x", "b": "x", "c": "x"}


def test_each_seed_compares_its_own_tpt_run_with_its_own_random_init_run():
    table = tpt.speedup_table("m", SEED_PAIRS, [0, 1], SEED_TYPES, 0.9, read_log=SEED_LOGS.__getitem__)
    assert list(zip(table.init, table.seed)) == [("a", 0), ("a", 1), ("c", 0), ("c", 1), ("b@t5", 0), ("b@t5", 1)]
    assert table.speedup.tolist() == pytest.approx([3.0, 2 / 3, 0.0, 2.0, 1.5, 0.0])
    assert table.threshold.tolist() == pytest.approx([0.72, 0.81] * 3)
    assert table.log.tolist() == [f"results/tpt/m/seed{s}/{i}__b.csv" for i in ("a", "c", "b@t5") for s in (0, 1)]
    assert table.random_log.tolist() == [f"results/prompts/m/seed{s}/b.log.csv" for s in (0, 1)] * 3
    assert table.init_kind.tolist() == ["prompt"] * 4 + ["imported"] * 2

    summary = tpt.speedup_summary(table).set_index(["init_kind", "pair"])
    every = summary.loc[("all", "all")]
    assert (every.pairs, every.runs, every.seeds) == (3, 6, 2)
    assert every.median_speedup == pytest.approx((2 / 3 + 1.5) / 2)  # of 0, 0, 2/3, 1.5, 2, 3
    assert every.reached == 4 and every.faster == 3
    prompt = summary.loc[("prompt", "same-type")]
    assert prompt.median_speedup == pytest.approx((2 / 3 + 2) / 2)  # of 0, 2/3, 2, 3
    assert prompt.median_speedup_low <= prompt.median_speedup <= prompt.median_speedup_high
    assert prompt.mean_gain_low <= prompt.mean_gain <= prompt.mean_gain_high

    per_pair = tpt.per_pair_speedup(table).set_index("init")
    assert per_pair.loc["a", ["median_speedup", "min_speedup", "max_speedup"]].tolist() == pytest.approx(
        [(3 + 2 / 3) / 2, 2 / 3, 3]
    )
    assert per_pair.loc["b@t5"].reached == 1 and per_pair.seeds.tolist() == [2, 2, 2]


def test_identical_seeds_give_the_one_seed_summary_and_intervals():
    """The bootstrap draws whole pairs: a pair's seeds are no extra evidence when they agree."""
    logs = {path.replace("seed1", "seed0"): frame for path, frame in SEED_LOGS.items() if "seed1" in path}
    logs |= {path.replace("seed0", "seed2"): frame for path, frame in logs.items()}
    one = tpt.speedup_table("m", SEED_PAIRS, [0], SEED_TYPES, 0.9, read_log=logs.__getitem__)
    two = tpt.speedup_table("m", SEED_PAIRS, [0, 2], SEED_TYPES, 0.9, read_log=logs.__getitem__)
    numbers = ["median_speedup", "median_speedup_low", "median_speedup_high", "median_time_ratio_low", "mean_gain"]
    numbers += ["mean_gain_low", "mean_gain_high", "pairs"]
    pd.testing.assert_frame_equal(tpt.speedup_summary(one)[numbers], tpt.speedup_summary(two)[numbers])
    assert tpt.speedup_summary(two).runs.tolist() == [2 * n for n in tpt.speedup_summary(one).runs]


def test_the_pairs_survive_the_rules_json_round_trip():
    import importlib.util

    spec = importlib.util.spec_from_file_location("tpt_speedup", REPO / "workflow_scripts" / "tpt_speedup.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    pairs = [Pair("a", "b"), Pair("b", "b", ("n", "distance", "all")), Pair("b", "b", prompts_of="t5")]
    job = specs.StudyTasks(tasks=["a", "b"], types={"a": "x", "b": "x"})
    args = script.build_parser().parse_args(
        ["--job", job.to_json(), "--backbone", "m", "--pairs", json.dumps(tpt.pairs_to_json(pairs))]
        + ["--seeds", "[0, 3]", "--threshold", "0.9", "--table", "t.csv", "--summary", "s.csv"]
    )
    assert tpt.pairs_from_json(args.pairs) == pairs and args.seeds == [0, 3]
    assert [p.log_path("m", 3) for p in tpt.pairs_from_json(args.pairs)][2] == "results/tpt/m/seed3/b@t5__b.csv"


def test_the_curves_show_each_seeds_mean_and_range(tmp_path):
    from prompt_transfer import plots

    table = tpt.speedup_table("m", SEED_PAIRS, [0, 1], SEED_TYPES, 0.9, read_log=SEED_LOGS.__getitem__)
    out = tmp_path / "curves.pdf"
    plots.tpt_curves_pdf(out, {"m": table}, ["a", "b", "c"], SEED_TYPES, read_log=SEED_LOGS.__getitem__)
    assert out.read_bytes()[:5] == b"%PDF-"


# --- a transferred run on a tiny model ---------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory, task_data, raw):
    """A tiny seq2seq backbone (its scores vary with the prompt) and sst2 data."""
    from prompt_transfer.backbones import materialize
    from prompt_transfer.data import prepare_task_data

    root = tmp_path_factory.mktemp("tiny_tpt")
    raw = copy.deepcopy(raw)
    raw["data_dir"] = str(task_data)
    raw["backbones"]["tiny-seq2seq"] = {
        "source": {"tiny": {"corpus": [str(task_data / "sst2" / "train.jsonl")], "extra_words": TINY_LABEL_WORDS}},
        "scorer": "seq2seq",
    }
    raw["study"] = {"backbones": ["tiny-seq2seq"], "tasks": ["sst2"]}
    raw["data"] = {"train_size": 120, "dev_size": 40, "validation_size": 40}
    raw["training"] = {
        "prompt_length": 4,
        "max_steps": 4,
        "eval_interval": 2,
        "batch_size": 8,
        "max_length": 32,
        "learning_rate": 0.05,
    }
    config = Study.from_config(load_config(raw))
    backbone = specs.backbone(config, "tiny-seq2seq")
    manifest = root / "model" / "model.json"
    materialize(backbone, manifest.parent)
    prepare_task_data(specs.data_job(config, "sst2"), root / "data" / "sst2")

    def train(task, out, init=None):
        return training.run_train_job(
            specs.train_job(config, "tiny-seq2seq", task), manifest, root / "data" / task, out / f"{task}.safetensors", out / f"{task}.log.csv", out / f"{task}.metrics.json",
            threads=1, init_path=init,
        )  # fmt: skip

    return config, manifest, backbone, root, train


def test_the_transferred_run_starts_from_the_source_prompt(tiny_run, monkeypatch):
    from prompt_transfer.evaluation import accuracy
    from prompt_transfer.prompts import load_prompt, save_prompt
    from prompt_transfer.runtime import setup_runtime
    from prompt_transfer.session import Session

    config, manifest, backbone, root, train = tiny_run
    train("sst2", root / "prompts")  # the target's ordinary (random-init) run
    random_log = pd.read_csv(root / "prompts" / "sst2.log.csv")
    settings = specs.training(config, "tiny-seq2seq", "sst2")
    runtime = setup_runtime(1, settings.precision)
    session = Session()
    scorer = session.scorer(manifest, backbone, specs.task(config, "sst2", "seq2seq"), settings.max_length, runtime)
    dev = session.split(scorer, root / "data" / "sst2", "dev")
    # a source prompt whose dev score differs from the random initial prompt's, so that the
    # step-0 score tells which prompt the run started from
    for seed in range(20):
        source_prompt = scorer.init_prompt(settings.prompt_length, "vocab", torch.Generator().manual_seed(seed))
        source_score = accuracy(scorer, source_prompt, dev, 64, runtime)
        if source_score != random_log.dev_accuracy[0]:
            break
    assert source_score != random_log.dev_accuracy[0]
    save_prompt(root / "laptop.safetensors", source_prompt, {"task": "laptop"})

    inits = []
    original = training.train_prompt

    def recording(scorer, train_items, dev, settings, runtime, init, *args, **kwargs):
        inits.append(init.clone())
        return original(scorer, train_items, dev, settings, runtime, init, *args, **kwargs)

    monkeypatch.setattr(training, "train_prompt", recording)
    train("sst2", root / "tpt", init=root / "laptop.safetensors")

    assert torch.equal(inits[0], load_prompt(root / "laptop.safetensors")[0])  # the very tensor of the source file
    tpt_log = pd.read_csv(root / "tpt" / "sst2.log.csv")
    assert tpt_log.dev_accuracy[0] == source_score  # step 0 is the source prompt on the target's dev split
    # same schedule and batches as the ordinary run: the logs compare step for step
    assert tpt_log.step.tolist() == random_log.step.tolist() == [0, 2, 4]
    assert tpt_log.examples_seen.tolist() == random_log.examples_seen.tolist()
    metrics = json.loads((root / "tpt" / "sst2.metrics.json").read_text())
    ordinary = json.loads((root / "prompts" / "sst2.metrics.json").read_text())
    assert metrics["init"]["kind"] == "prompt" and metrics["init"]["source_task"] == "laptop"
    assert metrics["settings"] == ordinary["settings"]
    assert ordinary["init"]["kind"] == "vocab"


# --- the workflow -----------------------------------------------------------------------------

SAME_TYPE = {("sst2", "laptop"), ("laptop", "sst2")}  # the tiny study: sst2, laptop (sentiment), mnli (nli)


def tpt_job(init, target):
    return ("tpt_train", f"backbone={BACKBONE}, seed=0, init={init}, target={target}")


TPT_AGGREGATES = {("tpt_speedup", f"backbone={BACKBONE}"), ("tpt_curves", "")}


# `study` (conftest.py): the tiny study run to its default target, so its ordinary prompts and
# zero-shot matrix without any TPT run. Shared: each test runs TPT on a copy.


@pytest.mark.workflow
def test_tpt_runs_exactly_the_same_type_pairs_and_never_retrains_the_random_init(study, task_data, tmp_path):
    work = tmp_path / "w"
    copy_workdir(study, work)
    before = {
        t: (work / f"results/prompts/{BACKBONE}/seed0/{t}.log.csv").stat().st_mtime_ns
        for t in ("sst2", "laptop", "mnli")
    }
    planned = jobs(snakemake(work, "-n", "results/tpt_curves.pdf", data_dir=task_data).stdout)
    assert planned == {tpt_job(s, t) for s, t in SAME_TYPE} | TPT_AGGREGATES

    snakemake(work, "results/tpt_curves.pdf", data_dir=task_data)
    assert before == {t: (work / f"results/prompts/{BACKBONE}/seed0/{t}.log.csv").stat().st_mtime_ns for t in before}
    for source, target in SAME_TYPE:
        stem = work / f"results/tpt/{BACKBONE}/seed0/{source}__{target}"
        run, ordinary = (
            pd.read_csv(f"{stem}.csv"),
            pd.read_csv(work / f"results/prompts/{BACKBONE}/seed0/{target}.log.csv"),
        )
        assert list(run.columns) == list(ordinary.columns) and run.step.tolist() == ordinary.step.tolist()
        metrics = json.loads(stem.with_suffix(".metrics.json").read_text())
        assert metrics["init"]["path"] == f"results/prompts/{BACKBONE}/seed0/{source}.safetensors"
        own = json.loads((work / f"results/prompts/{BACKBONE}/seed0/{target}.metrics.json").read_text())
        assert metrics["settings"] == own["settings"]
    table = pd.read_csv(work / f"results/tpt/{BACKBONE}/speedup.csv")
    assert set(zip(table.source, table.target)) == SAME_TYPE and (table.pair == "same-type").all()
    assert (work / "results/tpt_curves.pdf").read_bytes()[:5] == b"%PDF-"
    assert "Nothing to be done" in snakemake(work, "-n", "results/tpt_curves.pdf", data_dir=task_data).stdout

    # a new threshold re-summarises; nothing is trained again
    change = overlay(work, "threshold.yaml", {"tpt": {"threshold": 0.5}})
    planned = jobs(snakemake(work, "-n", "results/tpt_curves.pdf", configfiles=[change], data_dir=task_data).stdout)
    assert planned == TPT_AGGREGATES


@pytest.mark.workflow
def test_an_explicit_list_with_a_projected_prompt(study, task_data, tmp_path):
    from prompt_transfer.prompts import save_prompt

    work = tmp_path / "w"
    copy_workdir(study, work)
    projected = work / f"results/projectors/minilm__{BACKBONE}/seed0/projected/distance__sentiment/sst2.safetensors"
    save_prompt(projected, torch.randn(4, 32, generator=torch.Generator().manual_seed(0)), {"task": "sst2"})
    pairs = [
        {"source": "mnli", "target": "sst2"},
        {
            "source": "sst2",
            "target": "sst2",
            "projected": {"from": "minilm", "objective": "distance", "taskset": "sentiment"},
        },
    ]
    change = overlay(work, "list.yaml", {"tpt": {"pairs": pairs}})
    planned = jobs(snakemake(work, "-n", "results/tpt_curves.pdf", configfiles=[change], data_dir=task_data).stdout)
    assert planned == {tpt_job("mnli", "sst2"), tpt_job("sst2@minilm.distance.sentiment", "sst2")} | TPT_AGGREGATES

    snakemake(work, "results/tpt_curves.pdf", configfiles=[change], data_dir=task_data)
    metrics = json.loads(
        (work / f"results/tpt/{BACKBONE}/seed0/sst2@minilm.distance.sentiment__sst2.metrics.json").read_text()
    )
    assert metrics["init"]["path"] == str(projected.relative_to(work))
    table = pd.read_csv(work / f"results/tpt/{BACKBONE}/speedup.csv")
    assert table.set_index("init").pair.to_dict() == {
        "mnli": "cross-type",
        "sst2@minilm.distance.sentiment": "same-task",
    }


@pytest.mark.workflow
def test_top_k_pairs_come_from_the_zero_shot_matrix(study, task_data, tmp_path):
    work = tmp_path / "w"
    copy_workdir(study, work)
    change = overlay(work, "top.yaml", {"tpt": {"pairs": "top_k", "top_k": 1}})
    snakemake(work, f"results/tpt/{BACKBONE}/top_k.csv", configfiles=[change], data_dir=task_data)
    chosen = pd.read_csv(work / f"results/tpt/{BACKBONE}/top_k.csv")
    matrix = pd.read_csv(work / f"results/transfer/{BACKBONE}/matrix.csv")
    expected = tpt.top_k_pairs(matrix, 1, ["sst2", "laptop", "mnli"])
    assert list(zip(chosen.source, chosen.target)) == [(p.source, p.target) for p in expected] and len(expected) == 3
    planned = jobs(snakemake(work, "-n", "results/tpt_curves.pdf", configfiles=[change], data_dir=task_data).stdout)
    assert planned == {tpt_job(p.source, p.target) for p in expected} | TPT_AGGREGATES
