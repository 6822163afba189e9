"""results/benchmarks.csv and the HTML report: the table of every compute job's cost, a
self-contained report with every figure and table of the tiny study, each with its caption, and
(read from the rules, no run) a captioned report() wrap for every stage's results."""

from __future__ import annotations

import base64
import json
import re

import pandas as pd
import pytest
from conftest import BACKBONE, REPO, TASKS, copy_workdir, jobs, snakemake

from prompt_transfer.benchmarks import benchmark_table, jobs_of

BENCHMARK_HEADER = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"


def test_jobs_of_lists_every_combination_of_wildcards():
    assert jobs_of("evaluate", source=["a", "b"], target=["c"]) == [
        {"rule": "evaluate", "wildcards": {"source": "a", "target": "c"}},
        {"rule": "evaluate", "wildcards": {"source": "b", "target": "c"}},
    ]


def test_benchmark_table_reads_wall_time_and_peak_memory(tmp_path):
    measured, unmeasured = tmp_path / "a.tsv", tmp_path / "b.tsv"
    measured.write_text(BENCHMARK_HEADER + "12.5\t0:00:12\t301.2\t900\t250\t260\t1.0\t2.0\t95.0\t11.9\n")
    unmeasured.write_text(BENCHMARK_HEADER + "0.4\t0:00:00\tNA\tNA\tNA\tNA\tNA\tNA\tNA\t0\n")
    jobs = [
        {"rule": "train_prompt", "wildcards": {"backbone": "minilm", "seed": 0, "task": "sst2"}},
        {"rule": "prepare_data", "wildcards": {"task": "mnli"}},
    ]
    table = benchmark_table(jobs, [measured, unmeasured])
    assert list(table.columns) == ["rule", "wildcards", "wall_seconds", "max_rss_mb"]
    assert table.iloc[0].tolist() == ["train_prompt", "backbone=minilm, seed=0, task=sst2", 12.5, 301.2]
    assert table.iloc[1].wall_seconds == 0.4 and pd.isna(table.iloc[1].max_rss_mb)


def test_benchmark_table_refuses_other_files_and_unaligned_lists(tmp_path):
    other = tmp_path / "other.tsv"
    other.write_text("step\tloss\n1\t0.5\n")
    with pytest.raises(ValueError, match="not a Snakemake benchmark file"):
        benchmark_table([{"rule": "r", "wildcards": {}}], [other])
    with pytest.raises(ValueError, match="2 jobs but 1 benchmark files"):
        benchmark_table([{"rule": "r", "wildcards": {}}] * 2, [other])


@pytest.mark.workflow
def test_the_study_tabulates_every_compute_job(study):
    table = pd.read_csv(study / "results/benchmarks.csv")
    counts = table.groupby("rule").size().to_dict()
    n = len(TASKS)
    assert counts == {
        "prepare_data": n,
        "materialize_backbone": 1,
        "train_prompt": n,
        "evaluate_transfer": n * n,
        "evaluate_baselines": n,
    }
    assert (table.wall_seconds > 0).all()
    assert f"backbone={BACKBONE}, seed=0, source=sst2, target=mnli" in set(table.wildcards)


@pytest.fixture(scope="module")
def report(study, task_data, tmp_path_factory) -> dict:
    """The results embedded in the study's HTML report: path -> name, caption, data_uri, ..."""
    copy = tmp_path_factory.mktemp("report") / "study"  # the report is written into the study
    copy_workdir(study, copy)
    snakemake(copy, "--report", "results/report.html", "all", "results/benchmarks.csv", data_dir=task_data)
    html = (copy / "results/report.html").read_text()
    assert not re.search(r'<(script|link|img)[^>]+(src|href)="https?:', html), "the report loads files from the web"
    embedded = re.search(r'<script id="results">\s*var results = (\{.*?\});\s*</script>', html, re.DOTALL)
    return json.loads(embedded.group(1))


@pytest.mark.workflow
def test_the_report_embeds_every_figure_and_table_with_a_caption(report):
    expected = {
        "results/heatmap.pdf",
        f"results/transfer/{BACKBONE}/matrix.csv",
        f"results/transfer/{BACKBONE}/summary.csv",
        *(f"results/prompts/{BACKBONE}/seed0/{task}.log.csv" for task in TASKS),
        "results/benchmarks.csv",
    }
    assert expected <= set(report)  # other stages add theirs
    for path, result in report.items():
        assert "Made by rule" in " ".join(result["caption"].split()), path
    heatmap = report["results/heatmap.pdf"]["data_uri"]
    assert base64.b64decode(heatmap.split("base64,", 1)[1])[:5] == b"%PDF-"


@pytest.mark.workflow
def test_the_report_of_the_main_command_needs_no_other_target(study, task_data, tmp_path):
    """README: `snakemake results/heatmap.pdf`, then `snakemake --report results/report.html`."""
    default = jobs(snakemake(tmp_path / "new", "-n", data_dir=task_data).stdout)
    main = jobs(snakemake(tmp_path / "new", "-n", "results/heatmap.pdf", data_dir=task_data).stdout)
    assert default == main | {("all", "")}
    copy = tmp_path / "study"
    copy_workdir(study, copy)
    (copy / "results/benchmarks.csv").unlink()  # not made by the main command
    snakemake(copy, "--report", "results/report.html", data_dir=task_data)
    assert (copy / "results/report.html").stat().st_size > 0


@pytest.mark.workflow
def test_captions_name_their_wildcards_and_show_the_summary(report):
    assert f"task sst2 on backbone {BACKBONE}" in report[f"results/prompts/{BACKBONE}/seed0/sst2.log.csv"]["caption"]
    summary = report[f"results/transfer/{BACKBONE}/summary.csv"]["caption"]
    assert "<table" in summary and all(f"<td>{task}</td>" in summary for task in TASKS)


def report_wrappers() -> list[tuple[str, str, str]]:
    """(rule, caption file, category) of every report() output in rules/*.smk."""
    found = []
    for path in sorted((REPO / "rules").glob("*.smk")):
        for chunk in re.split(r"^(?=rule|checkpoint|use rule)", path.read_text(), flags=re.MULTILINE):
            if rule := re.match(r"(?:rule|checkpoint|use rule \w+ as) (\w+)(?: with)?:", chunk):
                for caption, category in re.findall(r'caption="\.\./report/([\w.]+)",\s*category="([^"]+)"', chunk):
                    found.append((rule.group(1), caption, category))
    return found


def test_every_stage_puts_its_figures_and_tables_in_the_report():
    # The tiny run above covers the default target; the other stages' results are checked here
    # without running them.
    wrappers = report_wrappers()
    assert {rule for rule, _, _ in wrappers} == {
        "train_prompt",
        "transfer_matrix",
        "heatmap",
        "collect_benchmarks",
        "tpt_speedup",
        "tpt_curves",
        "cross_model_table",
        "cross_model_figure",
        "indicators",
        "external_indicators",
        "indicator_correlation",
        "indicator_figure",
        "masking_table",
        "generation_examples",
        "paper_comparison",
        "prompt_bank",
    }
    for rule, caption, _ in wrappers:
        assert f"Made by rule ``{rule}``" in " ".join((REPO / "report" / caption).read_text().split()), caption
    captions = {path.name for path in (REPO / "report").glob("*.rst")} - {"workflow.rst"}
    assert captions == {caption for _, caption, _ in wrappers}, "a caption file no rule uses"


def test_the_start_page_and_the_manual_describe_every_section():
    start_page = (REPO / "report" / "workflow.rst").read_text()
    manual = (REPO / "docs" / "usage.md").read_text().split("## Report", 1)[1].split("\n## ", 1)[0]
    for category in {category for _, _, category in report_wrappers()}:
        assert f"**{category}**" in start_page and f"**{category}**" in manual, category
