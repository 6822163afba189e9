"""Prompts trained elsewhere as a prompt source (the authors' released prompts), and a run's
zero-shot matrix next to a published table (rule paper_comparison)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import torch
import yaml

from conftest import REPO, copy_workdir, jobs, overlay, snakemake
from prompt_transfer import paper_comparison, prompt_import, prompt_sources
from prompt_transfer.config import load_config
from prompt_transfer.errors import ConfigError, FileFormatError, PromptShapeError
from prompt_transfer.io import load_tensors
from prompt_transfer.study import Study

REGISTRY = load_config(yaml.safe_load((REPO / "config.yaml").read_text()))
CLASSIFICATION = REGISTRY["study"]["tasks"]  # the paper's 13 tasks, registry names


def source(folder, suffix: str) -> dict:
    return {"layout": "su2022", "path": str(folder), "suffix": suffix, "locations": {}}


def released_tasks(folder, suffix: str) -> list[str]:
    """The paper's tasks whose released prompt is at hand: a few in tests/data, all in the bundle."""
    return [t for t in CLASSIFICATION if released_prompt(folder, suffix, t)]


def released_prompt(folder, suffix: str, task: str) -> Path | None:
    try:
        return Path(prompt_sources.locate(source(folder, suffix), task))
    except ConfigError:  # no folder for the task
        return None


@pytest.mark.parametrize(
    "suffix, width",
    [("PromptRoberta", 768), ("PromptRobertaLarge", 1024), ("PromptT5", 768), ("PromptT5Small", 512)],
)
def test_the_released_prompts_of_the_four_backbones_load_through_the_source(released_prompts, suffix, width):
    assert "sst2" in released_tasks(released_prompts, suffix)
    for task in released_tasks(released_prompts, suffix):
        location = prompt_sources.locate(source(released_prompts, suffix), task)
        prompt, facts = prompt_import.read("su2022", location, width)
        assert prompt.shape == (100, width) and prompt.dtype == torch.float32 and torch.isfinite(prompt).all()
        assert facts["file"] == location and facts["layout"] == "su2022"
    sst2 = prompt_sources.locate(source(released_prompts, suffix), "sst2")
    assert sst2 == str(released_prompts / f"SST2{suffix}" / "task_prompt")  # not SST2PromptRobertaLarge's


def test_the_authors_random_prompt_reads_like_a_task(released_prompts):
    location = prompt_sources.locate(source(released_prompts, "PromptRoberta"), "random")
    assert prompt_import.read("su2022", location, 768)[0].shape == (100, 768)


def test_a_prompt_of_another_width_is_named_in_one_line(released_prompts):
    location = prompt_sources.locate(source(released_prompts, "PromptRobertaLarge"), "mnli")
    with pytest.raises(PromptShapeError) as error:
        prompt_import.read("su2022", location, 768)
    assert str(error.value) == f"{location}: prompt of shape [100, 1024] does not fit this backbone (width 768)"


def test_a_file_that_is_not_a_tensor_is_named(tmp_path):
    (tmp_path / "SST2PromptRoberta").mkdir()
    (tmp_path / "SST2PromptRoberta" / "task_prompt").write_bytes(b"not a torch file")
    location = prompt_sources.locate(source(tmp_path, "PromptRoberta"), "sst2")
    with pytest.raises(FileFormatError, match="SST2PromptRoberta/task_prompt: not a torch file"):
        prompt_import.read("su2022", location, 768)


def study_config(folder, suffix="PromptRoberta", **prompts) -> Study:
    raw = yaml.safe_load((REPO / "config.yaml").read_text())
    raw["study"] = {"backbones": ["roberta-base"], "tasks": ["sst2", "mnli", "tweeteval_sentiment"]}
    raw["backbones"]["roberta-base"]["prompts"] = {**source(folder, suffix), **prompts}
    return Study.from_config(load_config(raw))


def test_a_task_missing_from_the_folder_stops_the_workflow_before_any_job(tmp_path, released_prompts):
    for task in ("SST2", "MNLI"):
        shutil.copytree(released_prompts / f"{task}PromptRoberta", tmp_path / f"{task}PromptRoberta")
    with pytest.raises(ConfigError) as error:
        prompt_sources.check(study_config(tmp_path))
    assert str(error.value).splitlines()[1:] == [
        f"  backbones.roberta-base.prompts: {tmp_path}: no folder <Task>PromptRoberta for task 'tweeteval_sentiment'"
        " (name it under locations: {tweeteval_sentiment: <Task>})"
    ]
    (tmp_path / "TweetsPromptRoberta").mkdir()  # a folder named otherwise: `locations` says which
    with pytest.raises(ConfigError, match="TweetsPromptRoberta/task_prompt does not exist"):
        prompt_sources.check(study_config(tmp_path, locations={"tweeteval_sentiment": "Tweets"}))


def test_a_source_without_its_suffix_is_a_config_error(released_prompts):
    raw = yaml.safe_load((REPO / "config.yaml").read_text())
    raw["backbones"]["roberta-base"]["prompts"] = {"layout": "su2022", "path": str(released_prompts)}
    with pytest.raises(ConfigError, match="backbones.roberta-base.prompts: 'suffix' is a required property"):
        load_config(raw)


# --- the comparison with a published table -------------------------------------------------------

TYPES = {"a": "sentiment", "b": "sentiment", "c": "nli"}


def matrix(scores: dict) -> pd.DataFrame:
    """A transfer matrix as rule transfer_matrix writes it (the columns the comparison reads)."""
    rows = pd.DataFrame([{"source": s, "target": t, "accuracy": v} for (s, t), v in scores.items()])
    own = rows[rows.source == rows.target].set_index("target").accuracy
    return rows.assign(relative=100 * rows.accuracy / rows.target.map(own))


def test_the_comparison_lists_every_cell_of_either_table_with_its_difference():
    ours = matrix({("a", "a"): 0.8, ("b", "a"): 0.6, ("c", "a"): 0.5, ("a", "c"): 0.4, ("c", "c"): 0.5,
                   ("random prompt", "a"): 0.5})  # fmt: skip
    theirs = pd.DataFrame(
        [("a", "a", 0.9), ("b", "a", 0.45), ("c", "a", 0.6), ("a", "c", 0.3), ("c", "c", 0.6), ("d", "c", 0.35)],
        columns=["source", "target", "score"],
    )
    table = paper_comparison.comparison_table(ours, theirs, TYPES, "mine", "roberta-base").set_index(
        ["source", "target"]
    )
    assert table.loc[("b", "a"), "difference"] == pytest.approx(0.15)
    assert (
        table.loc[("b", "a"), "ours_relative"] == pytest.approx(75) and table.loc[("b", "a"), "theirs_relative"] == 50
    )
    assert table.loc[("b", "a"), "pair"] == "same-type" and table.loc[("a", "c"), "pair"] == "cross-type"
    assert table.loc[("random prompt", "a"), "status"] == "ours only"
    assert table.loc[("d", "c"), "status"] == "reference only" and table.loc[("d", "c"), "pair"] == "unknown type"
    assert pd.isna(table.loc[("d", "c"), "ours"]) and table.loc[("d", "c"), "theirs_relative"] == pytest.approx(
        100 * 0.35 / 0.6
    )
    stats = paper_comparison.agreement(table.reset_index())
    assert stats["cells"] == 5  # the task-prompt cells in both; baselines and one-sided cells left out
    assert stats["mean_abs_difference"] == pytest.approx(100 * (0.1 + 0.15 + 0.1 + 0.1 + 0.1) / 5)
    assert stats["same-type_ours_relative"] == pytest.approx(75)
    assert stats["cross-type_theirs_relative"] == pytest.approx((100 * 0.6 / 0.9 + 100 * 0.3 / 0.6) / 2)


def test_the_shipped_table_has_the_authors_roberta_base_numbers():
    raw = yaml.safe_load((REPO / "config.yaml").read_text())
    raw["backbones"]["roberta-base"]["reference"] = {"backbone": "roberta-base"}  # table: null, the default
    path = paper_comparison.reference_path(Study.from_config(load_config(raw)), "roberta-base")
    table = paper_comparison.read_reference(path, "roberta-base")
    assert len(table) == 13 * 14 and set(table.target) == set(CLASSIFICATION)
    assert set(table.source) == set(CLASSIFICATION) | {"random_prompt"}
    cell = table.set_index(["source", "target"]).score
    assert cell[("sst2", "imdb")] == 0.7363  # as in result/IMDBPromptRoberta/result_SST2PromptRoberta.json
    for backbone, cells in [("roberta-large", 13 * 13), ("t5-base", 13 * 18), ("t5-small", 13 * 18)]:
        assert len(paper_comparison.read_reference(path, backbone)) == cells


@pytest.mark.parametrize(
    "content, message",
    [
        ("backbone,source,target,acc\nx,a,a,0.5\n", "no column(s) score"),
        ("backbone,source,target,score\nother,a,a,0.5\n", "no rows of backbone 'x' (has other)"),
        ("backbone,source,target,score\nx,a,a,85.0\n", "must be accuracy fractions in [0, 1]"),
    ],
)
def test_a_bad_reference_table_is_named_in_one_line(tmp_path, content, message):
    (tmp_path / "ref.csv").write_text(content)
    with pytest.raises(FileFormatError) as error:
        paper_comparison.read_reference(tmp_path / "ref.csv", "x")
    assert str(error.value).startswith(f"{tmp_path / 'ref.csv'}: ") and message in str(error.value)


# --- the workflow: released prompts without training, end to end ---------------------------------

BACKBONE = "tiny-released"
TASKS = ["sst2", "laptop", "mnli"]  # the tiny study's


def released_study(released_prompts, reference_table) -> dict:
    """A tiny RoBERTa-style backbone of the released prompts' width (768, one layer) whose task
    prompts are roberta-base's released ones, compared with `reference_table`."""
    tiny = {"hidden_size": 768, "layers": 1, "heads": 2, "intermediate_size": 64, "vocab_words": 300,
            "corpus": ["sst2/train.jsonl"], "extra_words": ["positive", "negative", "moderate", "conflict", "neutral"]}  # fmt: skip
    backbone = {
        "source": {"tiny": tiny},
        "scorer": "mlm",
        "prompts": {"layout": "su2022", "path": str(released_prompts), "suffix": "PromptRoberta"},
        "reference": {"backbone": "roberta-base", "table": str(reference_table)},
    }
    return {"study": {"backbones": [BACKBONE]}, "backbones": {BACKBONE: backbone}}


@pytest.fixture(scope="module")
def released_run(study, tmp_path_factory, task_data, released_prompts) -> tuple:
    """The tiny study's data (a copy of the shared study) with the released prompts on the tiny
    768-wide backbone, run to the comparison, the heatmap and the indicators."""
    workdir = tmp_path_factory.mktemp("released") / "study"
    copy_workdir(study, workdir)
    # A small published table: two of the study's tasks as targets, one task the study lacks
    # (imdb) and the authors' random baseline.
    reference = workdir / "reference.csv"
    rows = [("roberta-base", s, t, 0.3 + 0.05 * i) for i, (s, t) in enumerate(
        [(s, t) for t in ("sst2", "mnli") for s in ("sst2", "laptop", "mnli", "imdb", "random_prompt")])]  # fmt: skip
    pd.DataFrame(rows, columns=["backbone", "source", "target", "score"]).to_csv(reference, index=False)
    settings = overlay(workdir, "released.yaml", released_study(released_prompts, reference))
    targets = [f"results/paper_comparison/{BACKBONE}.pdf", "results/heatmap.pdf",
               f"results/indicators/{BACKBONE}/seed0/indicators.csv"]  # fmt: skip
    planned = snakemake(workdir, "-n", *targets, configfiles=[settings], data_dir=task_data)
    snakemake(workdir, *targets, configfiles=[settings], data_dir=task_data)
    return workdir, settings, jobs(planned.stdout)


@pytest.mark.workflow
def test_released_prompts_are_imported_not_trained_and_evaluated_end_to_end(released_run, released_prompts):
    workdir, _, planned = released_run
    assert {("import_prompt", f"backbone={BACKBONE}, seed=0, task={t}") for t in TASKS} <= planned
    assert not {rule for rule, _ in planned} & {"train_prompt", "prepare_data"}  # the study's data, no training
    prompt, meta = load_tensors(workdir / f"results/prompts/{BACKBONE}/seed0/mnli.safetensors")
    released = torch.load(released_prompts / "MNLIPromptRoberta" / "task_prompt", weights_only=True)
    torch.testing.assert_close(prompt["prompt"], released.float())
    assert meta["source"]["file"] == str(released_prompts / "MNLIPromptRoberta" / "task_prompt")
    matrix_ = pd.read_csv(workdir / f"results/transfer/{BACKBONE}/matrix.csv")
    assert len(matrix_) == len(TASKS) ** 2 + 2 * len(TASKS) and matrix_.accuracy.between(0, 1).all()
    indicators = pd.read_csv(workdir / f"results/indicators/{BACKBONE}/seed0/indicators.csv")
    assert len(indicators) == len(TASKS) ** 2 and indicators.on_all.notna().all()


@pytest.mark.workflow
def test_the_comparison_table_and_figure_of_the_released_run(released_run):
    workdir, _, _ = released_run
    table = pd.read_csv(workdir / f"results/paper_comparison/{BACKBONE}.csv")
    status = table.set_index(["source", "target"]).status
    assert status[("laptop", "mnli")] == "both" and status[("imdb", "sst2")] == "reference only"
    assert status[("random_prompt", "mnli")] == "reference only" and status[("random prompt", "mnli")] == "ours only"
    assert status[("sst2", "laptop")] == "ours only"  # laptop is no target of the reference
    assert table.set_index(["source", "target"]).pair[("imdb", "sst2")] == "same-type"  # a registry task
    assert table.status.tolist() == sorted(table.status, key=["both", "ours only", "reference only"].index)
    both = table[table.status == "both"]
    assert len(both) == 6 and (both.difference == both.ours - both.theirs).all()
    matrix_ = pd.read_csv(workdir / f"results/transfer/{BACKBONE}/matrix.csv").set_index(["source", "target"])
    assert both.set_index(["source", "target"]).ours.to_dict() == {
        cell: matrix_.accuracy[cell] for cell in both.set_index(["source", "target"]).index
    }  # accuracy fractions on both sides
    figure = workdir / f"results/paper_comparison/{BACKBONE}.pdf"
    assert figure.read_bytes()[:5] == b"%PDF-"


@pytest.mark.workflow
def test_the_released_embedding_indicators_need_no_model(tmp_path, task_data, released_prompts):
    tasks = released_tasks(released_prompts, "PromptRoberta")
    set_ = {"released": {"source": {"layout": "su2022", "path": str(released_prompts), "suffix": "PromptRoberta"},
                         "tasks": tasks}}  # fmt: skip
    settings = overlay(tmp_path, "external.yaml", {"indicators": {"external_prompts": set_}})
    target = "results/indicators/external/released/indicators.csv"
    planned = snakemake(tmp_path, "-n", target, configfiles=[settings], data_dir=task_data)
    assert {rule for rule, _ in jobs(planned.stdout)} == {"external_indicators"}  # no backbone, no data
    snakemake(tmp_path, target, configfiles=[settings], data_dir=task_data)
    table = pd.read_csv(tmp_path / target).set_index(["source", "target"])
    assert len(table) == len(tasks) ** 2
    assert table.loc[("sst2", "laptop"), "same_type"] == 1.0 and table.loc[("sst2", "mnli"), "same_type"] == 0.0
    assert table.loc[("mnli", "mnli"), "cosine_flat"] == pytest.approx(1.0)


GENERATION = ["squad", "nq_open", "multi_news", "samsum"]  # t5-base's other four released prompts


@pytest.mark.workflow
@pytest.mark.parametrize(
    "backbone, suffix, tasks",
    [("roberta-base", "PromptRoberta", CLASSIFICATION), ("t5-base", "PromptT5", CLASSIFICATION + GENERATION)],
)
def test_a_released_study_plans_imports_evaluations_and_the_comparison(
    tmp_path, released_prompts, backbone, suffix, tasks
):
    # The study file expects a checkout of the authors' repository in the working directory.
    # Planning needs each prompt file to exist, not its content: the prompts not at hand stand as
    # empty files.
    checkout = tmp_path / "Prompt-Transferability" / "Prompt-Transferability-1.0" / "task_prompt_emb"
    checkout.mkdir(parents=True)
    for task in tasks:
        released = released_prompt(released_prompts, suffix, task)
        if released:
            (checkout / released.parent.name).symlink_to(released.parent)
        else:
            (checkout / f"{task}{suffix}").mkdir()  # the authors keep '_' in nq_open, multi_news
            (checkout / f"{task}{suffix}" / "task_prompt").touch()
    study_file = REPO / "studies" / f"released_{backbone.replace('-', '_')}.yaml"  # over the paper's protocol
    command = [
        sys.executable,
        "-m",
        "snakemake",
        "-s",
        REPO / "Snakefile",
        "-d",
        tmp_path,
        "-n",
        "--configfile",
        REPO / "studies" / f"{backbone}.yaml",
        study_file,
    ]
    planned = subprocess.run(command, capture_output=True, text=True, check=True)
    counts = pd.Series([rule for rule, _ in jobs(planned.stdout)]).value_counts().to_dict()
    n = len(tasks)
    assert counts == {
        "prepare_data": n, "materialize_backbone": 1, "import_prompt": n, "evaluate_transfer": n * n,
        "evaluate_baselines": n, "transfer_matrix": 1, "heatmap": 1, "paper_comparison": 1, "all": 1,
        **({"generation_examples": 1} if set(tasks) & set(GENERATION) else {}),  # the generated texts' page
    }  # fmt: skip
