"""The tiny study submitted through profiles/slurm to a real single-node SLURM cluster
(tests/local_slurm.py) gives exactly the results of a local run, with the jobs, partitions,
GPUs and groups the profile asks for.

Opt-in (it starts daemons as root): RUN_SLURM_TESTS=1 python -m pytest -m slurm. CI runs it.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest
import torch
from conftest import BACKBONE, REPO, TASKS, snakemake
from local_slurm import ClusterError, LocalSlurm, missing_requirements, private_root

from prompt_transfer.io import load_tensors

pytestmark = [
    pytest.mark.slurm,
    pytest.mark.workflow,
    pytest.mark.skipif(
        os.environ.get("RUN_SLURM_TESTS") != "1", reason="starts a SLURM cluster; set RUN_SLURM_TESTS=1"
    ),
]

SLURM_PROFILES = (
    "--profile",
    str(REPO / "profiles" / "slurm"),
    "--workflow-profile",
    str(REPO / "profiles" / "slurm-local"),
)


@pytest.fixture(scope="module")
def slurm_cluster():
    if missing := missing_requirements():
        pytest.fail(f"the SLURM test needs: {', '.join(missing)} (apt-get install slurmctld slurmd slurm-client munge)")
    root = private_root()
    cluster = LocalSlurm(root)
    # Jobs re-run `python -m snakemake` in their allocation: this environment must come first.
    with pytest.MonkeyPatch.context() as env:
        env.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
        try:
            cluster.start()
            yield cluster
        except ClusterError as error:
            pytest.fail(f"the test cluster did not start: {error}")
        finally:
            cluster.stop()
            shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def slurm_study(slurm_cluster, tmp_path_factory, task_data) -> Path:
    workdir = tmp_path_factory.mktemp("slurm_study")
    # As on a cluster whose nodes have no internet: fetch on the login node, then submit the rest.
    for targets in (["download"], ["all", "results/benchmarks.csv"]):
        result = snakemake(workdir, *targets, *SLURM_PROFILES, data_dir=task_data, check=False)
        if result.returncode != 0:
            pytest.fail(
                f"snakemake {' '.join(targets)} on SLURM failed ({result.returncode}):\n{result.stderr[-5000:]}\n"
                f"cluster logs:\n{slurm_cluster.log_tail()}"
            )
        (workdir / f"snakemake-{targets[0]}.log").write_text(result.stdout + result.stderr)
    return workdir


def test_the_results_equal_a_local_runs(slurm_study, study):  # study (conftest.py): the local run
    matrix = f"results/transfer/{BACKBONE}/matrix.csv"
    pd.testing.assert_frame_equal(pd.read_csv(slurm_study / matrix), pd.read_csv(study / matrix))
    for task in TASKS:
        prompt = f"results/prompts/{BACKBONE}/seed0/{task}.safetensors"
        remote, _ = load_tensors(slurm_study / prompt)
        local, _ = load_tensors(study / prompt)
        assert remote.keys() == local.keys()
        assert all(torch.equal(remote[k], local[k]) for k in local), task
    assert (slurm_study / "results/heatmap.pdf").read_bytes()[:5] == b"%PDF-"
    benchmarks = pd.read_csv(slurm_study / "results/benchmarks.csv")
    assert len(benchmarks) == len(pd.read_csv(study / "results/benchmarks.csv"))


def test_the_downloads_ran_where_snakemake_runs(slurm_study, slurm_cluster):
    log = (slurm_study / "snakemake-download.log").read_text()
    assert log.count("localrule prepare_data:") == len(TASKS) and "localrule materialize_backbone:" in log
    assert not any("prepare_data" in job["comment"] or "materialize" in job["comment"] for job in slurm_cluster.jobs())


def test_jobs_went_to_the_profiles_partitions_with_gpus_and_groups(slurm_study, slurm_cluster):
    jobs = slurm_cluster.jobs()
    assert {job["state"] for job in jobs} == {"COMPLETED"}, jobs
    # The plugin's comment: rule_<rule>_wildcards_<values>, or for a group job
    # rule_<group id>_<its rules>, here one group per target with all its evaluations.
    kinds = Counter(job["comment"].split("_wildcards_")[0] for job in jobs)
    groups = {f"rule_evaluate_{BACKBONE}_{target}_evaluate_baselines_evaluate_transfer" for target in TASKS}
    assert kinds == Counter(
        {
            "rule_train_prompt": len(TASKS),
            **{group: 1 for group in groups},
            "rule_transfer_matrix": 1,
            "rule_heatmap": 1,
        }
    ), kinds
    for job in jobs:
        on_gpu = job["comment"].startswith(("rule_train_prompt", f"rule_evaluate_{BACKBONE}"))
        assert job["partition"] == ("gpu" if on_gpu else "cpu"), job
        assert (job["gpus"] == "gres:gpu:1") == on_gpu, job
