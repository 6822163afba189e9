"""What profiles/slurm makes of the tiny study, seen in a dry run (no cluster needed): one
cluster job per backbone and target holding all its evaluations, GPUs and the GPU partition for
prompt tuning and evaluation only. tests/test_slurm.py runs the same profile on a real cluster."""

from __future__ import annotations

import re

import pytest
from conftest import BACKBONE, REPO, TASKS, snakemake

pytestmark = pytest.mark.workflow  # a Snakemake dry run


@pytest.fixture(scope="module")
def dry_run(tmp_path_factory, task_data) -> str:
    workdir = tmp_path_factory.mktemp("slurm_dry_run")
    return snakemake(workdir, "-n", "--workflow-profile", str(REPO / "profiles" / "slurm"), data_dir=task_data).stdout


def group_jobs(output: str) -> list[tuple[str, list[str]]]:
    """(group id, rules of its jobs) of every group job a dry run lists."""
    found = []
    for line in output.splitlines():
        if m := re.search(r"Group job (\S+) ", line):
            found.append((m.group(1), []))
        elif m := re.match(r"^    rule (\w+):", line):  # a job inside the group above
            found[-1][1].append(m.group(1))
    return found


def test_the_evaluations_of_each_target_form_one_cluster_job(dry_run):
    groups = group_jobs(dry_run)
    assert sorted(name for name, _ in groups) == sorted(f"evaluate_{BACKBONE}_{target}" for target in TASKS)
    for _, rules in groups:
        assert sorted(rules) == ["evaluate_baselines"] + ["evaluate_transfer"] * len(TASKS)


def rule_resources(output: str) -> dict[str, str]:
    """Rule -> the resources line Snakemake prints for (the first of) its jobs."""
    found, rule = {}, None
    for line in output.splitlines():
        if m := re.match(r"^\s*rule (\w+):", line):
            rule = m.group(1)
        elif m := re.match(r"^\s*resources: (.*)", line):
            found.setdefault(rule, m.group(1))
    return found


def test_training_and_evaluation_ask_for_a_gpu_on_the_gpu_partition(dry_run):
    resources = rule_resources(dry_run)
    for rule in ("train_prompt", "evaluate_transfer", "evaluate_baselines"):
        assert "slurm_partition=gpu" in resources[rule] and "gpu=1" in resources[rule], resources[rule]
    for rule in ("prepare_data", "materialize_backbone", "transfer_matrix", "heatmap"):
        assert "slurm_partition=cpu" in resources[rule] and "gpu=" not in resources[rule], resources[rule]
