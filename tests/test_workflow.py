"""The workflow end to end on the tiny config: outputs, no-op re-runs, exactly the jobs a
change should re-run, and bad input that fails loudly and leaves nothing behind."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml
from conftest import BACKBONE, REPO, TASKS, TINY_CONFIG, copy_workdir, jobs, overlay, snakemake

pytestmark = pytest.mark.workflow  # every test here runs Snakemake

# `study` (conftest.py): the tiny study, run once per test run and shared; tests that change it
# work on a copy.


def pair(source, target):
    return ("evaluate_transfer", f"backbone={BACKBONE}, seed=0, source={source}, target={target}")


AGGREGATES = {("transfer_matrix", f"backbone={BACKBONE}"), ("heatmap", ""), ("all", "")}
# What the workflow runs: the files a moved copy of the project needs.
PROJECT = ["Snakefile", "config.yaml", "rules", "workflow_scripts", "src", "report", "profiles"]


def test_the_study_produces_matrix_summary_and_heatmap(study):
    matrix = pd.read_csv(study / f"results/transfer/{BACKBONE}/matrix.csv")
    assert len(matrix) == len(TASKS) ** 2 + 2 * len(TASKS)
    assert set(matrix.pair) == {"own", "same-type", "cross-type", "baseline"}
    own = matrix[matrix.pair == "own"]
    assert own.relative.tolist() == pytest.approx([100.0] * len(TASKS))
    sst2_on_laptop = matrix[(matrix.source == "sst2") & (matrix.target == "laptop")].iloc[0]
    assert sst2_on_laptop.relative == pytest.approx(100 * sst2_on_laptop.accuracy / sst2_on_laptop.own_accuracy)
    assert ((matrix.accuracy_low <= matrix.accuracy) & (matrix.accuracy <= matrix.accuracy_high)).all()
    evaluation = json.loads((study / f"results/transfer/{BACKBONE}/seed0/sst2__laptop.json").read_text())
    assert len(evaluation["example_scores"]) == evaluation["examples"] == 60
    assert evaluation["example_scores"].count("1") / 60 == pytest.approx(evaluation["accuracy"])
    summary = pd.read_csv(study / f"results/transfer/{BACKBONE}/summary.csv")
    assert list(summary.target) == sorted(TASKS) + ["all"]
    difference = pd.read_csv(study / f"results/transfer/{BACKBONE}/type_difference.csv").iloc[0]
    assert difference.tasks == len(TASKS) and difference.examples_per_target == 60
    assert (study / "results/heatmap.pdf").read_bytes()[:5] == b"%PDF-"
    log = pd.read_csv(study / f"results/prompts/{BACKBONE}/seed0/sst2.log.csv")
    assert list(log.columns) == ["step", "examples_seen", "wall_seconds", "train_loss", "dev_accuracy"]
    assert list(log.step) == [0, 3, 6]
    metrics = json.loads((study / f"results/prompts/{BACKBONE}/seed0/sst2.metrics.json").read_text())
    assert metrics["settings"]["seed"] == 0 and metrics["settings"]["prompt_length"] == 4


def test_the_heatmap_is_the_same_bytes_when_drawn_again(study, tmp_path):
    """No creation date and a seeded jitter: a figure of the same tables is the same file."""
    from prompt_transfer import plots, specs

    tables = {
        "matrices": [(BACKBONE, study / f"results/transfer/{BACKBONE}/matrix.csv")],
        "type_tests": [(BACKBONE, study / f"results/transfer/{BACKBONE}/type_difference.csv")],
    }
    matrix = pd.read_csv(tables["matrices"][0][1])
    job = specs.StudyTasks(TASKS, dict(zip(matrix.target, matrix.target_type)))
    plots.run_heatmap_job(job, **tables, out=tmp_path / "again.pdf")
    assert (tmp_path / "again.pdf").read_bytes() == (study / "results/heatmap.pdf").read_bytes()


def test_every_job_ran_with_its_configured_threads(study):
    """--cores 8 on a 2-core machine: each job still sets torch to the threads its rule declares."""
    threads = yaml.safe_load(TINY_CONFIG.read_text())["resources"]
    records = {"train": list(study.glob("results/prompts/*/seed*/*.metrics.json"))}
    records["evaluate"] = list(study.glob("results/transfer/*/seed*/*.json")) + list(
        study.glob("results/transfer/*/baselines/*.json")
    )
    for kind, files in records.items():
        assert files
        assert {json.loads(f.read_text())["runtime"]["threads"] for f in files} == {threads[kind]["threads"]}


def test_a_second_run_does_nothing(study, task_data):
    out = snakemake(study, "-n", data_dir=task_data).stdout
    assert "Nothing to be done" in out, out


def test_changing_one_tasks_training_reruns_its_prompt_and_pairs_only(study, task_data, tmp_path):
    copy = tmp_path / "study"  # this test really runs the change; the others keep the original study
    copy_workdir(study, copy)
    change = overlay(copy, "lr.yaml", {"tasks": {"laptop": {"training": {"learning_rate": 0.02}}}})
    planned = jobs(snakemake(copy, "-n", configfiles=[change], data_dir=task_data).stdout)
    expected = (
        {("train_prompt", f"backbone={BACKBONE}, seed=0, task=laptop")}
        | {pair("laptop", t) for t in TASKS}
        | AGGREGATES
    )
    assert planned == expected

    ran = jobs(snakemake(copy, configfiles=[change], data_dir=task_data).stderr)
    assert ran == expected
    assert "Nothing to be done" in snakemake(copy, "-n", configfiles=[change], data_dir=task_data).stdout


def test_changing_one_tasks_data_reruns_everything_that_reads_it(study, task_data, tmp_path):
    change = overlay(tmp_path, "data.yaml", {"tasks": {"mnli": {"data": {"validation_size": 50}}}})
    planned = jobs(snakemake(study, "-n", configfiles=[change], data_dir=task_data).stdout)
    expected = (
        {("prepare_data", "task=mnli"), ("train_prompt", f"backbone={BACKBONE}, seed=0, task=mnli")}
        | {pair("mnli", t) for t in TASKS}
        | {pair(s, "mnli") for s in TASKS}
        | {("evaluate_baselines", f"backbone={BACKBONE}, target=mnli")}
        | AGGREGATES
    )
    assert planned == expected


def test_adding_a_task_adds_only_its_jobs_and_pairs(study, task_data, tmp_path):
    change = overlay(tmp_path, "add.yaml", {"study": {"tasks": TASKS + ["qnli"]}})
    planned = jobs(snakemake(study, "-n", configfiles=[change], data_dir=task_data).stdout)
    expected = (
        {("prepare_data", "task=qnli"), ("train_prompt", f"backbone={BACKBONE}, seed=0, task=qnli")}
        | {pair("qnli", t) for t in TASKS + ["qnli"]}
        | {pair(s, "qnli") for s in TASKS}
        | {("evaluate_baselines", f"backbone={BACKBONE}, target=qnli")}
        | AGGREGATES
    )
    assert planned == expected


def seed_jobs(seed, sources, targets, trained):
    """The jobs of one training seed: its prompts of `trained` and its pairs."""
    return {("train_prompt", f"backbone={BACKBONE}, seed={seed}, task={t}") for t in trained} | {
        ("evaluate_transfer", f"backbone={BACKBONE}, seed={seed}, source={s}, target={t}")
        for s in sources
        for t in targets
    }


def test_adding_a_seed_runs_that_seeds_prompts_and_pairs_and_the_aggregates(study, task_data, tmp_path):
    copy = tmp_path / "study"  # really run: the multi-seed matrix and the next change start from it
    copy_workdir(study, copy)
    seeds = overlay(copy, "seeds.yaml", {"study": {"seeds": [0, 1]}})
    planned = jobs(snakemake(copy, "-n", configfiles=[seeds], data_dir=task_data).stdout)
    assert planned == seed_jobs(1, TASKS, TASKS, TASKS) | AGGREGATES  # baselines use no trained prompt
    snakemake(copy, configfiles=[seeds], data_dir=task_data)
    matrix = pd.read_csv(copy / f"results/transfer/{BACKBONE}/matrix.csv")
    by_seed = pd.read_csv(copy / f"results/transfer/{BACKBONE}/matrix_by_seed.csv")
    assert set(matrix[matrix.pair != "baseline"].seeds) == {2} and len(by_seed) == 2 * len(TASKS) ** 2
    cell = by_seed[(by_seed.source == "sst2") & (by_seed.target == "mnli")]
    row = matrix[(matrix.source == "sst2") & (matrix.target == "mnli")].iloc[0]
    assert row.accuracy == pytest.approx(cell.accuracy.mean())
    assert pd.read_csv(copy / f"results/transfer/{BACKBONE}/type_difference.csv").seeds.item() == 2

    # a task added to the two-seed study: its data, its prompt and pairs in both seeds
    added = overlay(copy, "add.yaml", {"study": {"seeds": [0, 1], "tasks": TASKS + ["qnli"]}})
    planned = jobs(snakemake(copy, "-n", configfiles=[added], data_dir=task_data).stdout)
    new_pairs = {(s, "qnli") for s in TASKS + ["qnli"]} | {("qnli", t) for t in TASKS}
    expected = {("prepare_data", "task=qnli"), ("evaluate_baselines", f"backbone={BACKBONE}, target=qnli")}
    for seed in (0, 1):
        expected |= {("train_prompt", f"backbone={BACKBONE}, seed={seed}, task=qnli")}
        expected |= {
            ("evaluate_transfer", f"backbone={BACKBONE}, seed={seed}, source={s}, target={t}") for s, t in new_pairs
        }
    assert planned == expected | AGGREGATES


@pytest.fixture
def moved(study, tmp_path) -> tuple[Path, Path]:
    """(Snakefile, study) of a copy of the project and of the finished study in another folder."""
    project = tmp_path / "project"
    project.mkdir()
    for name in PROJECT:
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, project / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(REPO / name, project / name)
    copy_workdir(study, tmp_path / "study")
    return project / "Snakefile", tmp_path / "study"


def test_a_moved_project_reruns_nothing_and_its_results_name_no_path_of_the_machine(moved, study, task_data):
    snakefile, copy = moved
    assert "Nothing to be done" in snakemake(copy, "-n", data_dir=task_data, snakefile=snakefile).stdout
    machine_paths = [str(REPO), str(study), str(task_data), str(Path.home())]
    for path in (copy / "results").rglob("*"):
        if path.is_file() and path.suffix in {".json", ".csv", ".jsonl", ".tsv", ".log"}:
            text = path.read_text(errors="replace")
            assert not [p for p in machine_paths if p in text], path


def dry_run_after_edit(snakefile: Path, study: Path, task_data, module: str, old: str, new: str) -> set[tuple]:
    source = snakefile.parent / "src/prompt_transfer" / module
    text = source.read_text()
    assert old in text
    source.write_text(text.replace(old, new, 1))
    return jobs(snakemake(study, "-n", data_dir=task_data, snakefile=snakefile).stdout)


def test_a_change_to_the_scoring_code_reruns_training_evaluation_and_their_aggregates(moved, task_data):
    planned = dry_run_after_edit(
        *moved, task_data, "scorers.py", "return self.scale * self.pooled", "return 2 * self.scale * self.pooled"
    )
    evaluations = {pair(s, t) for s in TASKS for t in TASKS}
    baselines = {("evaluate_baselines", f"backbone={BACKBONE}, target={t}") for t in TASKS}
    trainings = {("train_prompt", f"backbone={BACKBONE}, seed=0, task={t}") for t in TASKS}
    assert planned == trainings | evaluations | baselines | AGGREGATES


def test_a_change_to_the_plotting_code_redraws_figures_only(moved, task_data):
    assert dry_run_after_edit(*moved, task_data, "plots.py", "size + 2.5", "size + 3.0") == {
        ("heatmap", ""),
        ("all", ""),
    }


def test_comments_and_docstrings_rerun_nothing(moved, task_data):
    planned = dry_run_after_edit(*moved, task_data, "scorers.py", '"""', '"""Changed docs. ')
    assert planned == set()
    planned = dry_run_after_edit(*moved, task_data, "scorers.py", "\nclass ", "\n# a comment\nclass ")
    assert planned == set()


def test_another_familys_label_words_rerun_nothing(study, task_data, tmp_path):
    change = overlay(tmp_path, "words.yaml", {"tasks": {"sst2": {"label_words": {"causal": ["bad", "good"]}}}})
    assert "Nothing to be done" in snakemake(study, "-n", configfiles=[change], data_dir=task_data).stdout


@pytest.mark.parametrize(
    "config, message",
    [
        ({"study": {"tasks": ["sst2", "no_such_task"]}}, "study.tasks: unknown task 'no_such_task'"),
        ({"training": {"max_steps": "many"}}, "training.max_steps: 'many' is not of type 'integer'"),
        (
            {"tasks": {"sst2__sst2": {"type": "sentiment", "labels": ["a", "b"], "label_words": {}}}},
            "tasks: 'sst2__sst2' is not a valid name: letters and digits, in runs joined by single '_', '-' or '+'",
        ),
        (
            {"backbones": {"tiny/embedding": {"source": {"hub": "x"}, "scorer": "mlm"}}},
            "backbones: 'tiny/embedding' is not a valid name: letters and digits",
        ),
    ],
)
def test_a_bad_config_fails_before_any_job(tmp_path, task_data, config, message):
    result = snakemake(tmp_path, configfiles=[overlay(tmp_path, "bad.yaml", config)], data_dir=task_data, check=False)
    assert result.returncode != 0
    assert message in result.stderr
    assert not (tmp_path / "results").exists()


@pytest.mark.parametrize(
    "line, message",
    [
        ('{"text_a": "no label here", "text_b": null}\n', "train.jsonl:3: no 'label'"),
        ('{"text_a": "too big", "text_b": null, "label": 2}\n', "train.jsonl:3: label 2 is out of range for 2 labels"),
    ],
)
def test_a_bad_data_row_is_named_and_leaves_no_output(tmp_path, task_data, line, message):
    data_dir = tmp_path / "data"
    shutil.copytree(task_data / "sst2", data_dir / "sst2")
    train = data_dir / "sst2" / "train.jsonl"
    rows = train.read_text().splitlines(keepends=True)
    train.write_text("".join(rows[:2] + [line] + rows[2:]))
    result = snakemake(tmp_path, "results/data/sst2/meta.json", data_dir=data_dir, check=False)
    assert result.returncode != 0
    assert f"{train}:3" in result.stderr and message in result.stderr
    assert not list((tmp_path / "results/data/sst2").glob("*"))


def test_an_mnli_row_without_text_b_is_named_and_leaves_no_output(tmp_path, task_data):
    data_dir = tmp_path / "data"
    shutil.copytree(task_data / "mnli", data_dir / "mnli")
    train = data_dir / "mnli" / "train.jsonl"
    rows = train.read_text().splitlines(keepends=True)
    train.write_text("".join(rows[:4] + ['{"text_a": "a premise", "label": 0}\n'] + rows[4:]))
    result = snakemake(tmp_path, "results/data/mnli/meta.json", data_dir=data_dir, check=False)
    assert result.returncode != 0
    assert f"{train}:5: 'text_b' is missing or empty (mnli is a pair task)" in result.stderr
    assert not list((tmp_path / "results/data/mnli").glob("*"))
