"""Warm evaluation workers: same results as a job's own process, reuse, one worker per
concurrent job, errors passed through, and the way out."""

from __future__ import annotations

import json
import re
import threading
from pathlib import Path

import pytest
import torch
from conftest import TINY, sentiment_task, train

from prompt_transfer import evaluation, worker
from prompt_transfer.errors import UserError
from prompt_transfer.prompts import save_prompt
from prompt_transfer.specs import Evaluation, TransferJob

REPO = Path(__file__).resolve().parents[1]
TRANSFER = "prompt_transfer.evaluation.run_transfer_job"
JOB = TransferJob(TINY, sentiment_task(), Evaluation(max_length=32, precision="auto", batch_size=16))


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """A working directory of its own, and workers that leave soon after the test."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(worker, "IDLE_SECONDS", 3)
    monkeypatch.delenv("SLURM_JOB_ID", raising=False)
    monkeypatch.delenv("PROMPT_TRANSFER_WORKERS", raising=False)
    return tmp_path


@pytest.fixture(scope="module")
def prompt(tiny_manifest, sst2_dir, tmp_path_factory):
    return train(tiny_manifest, sst2_dir, tmp_path_factory.mktemp("prompt"))[0]


def paths(manifest, prompt, data_dir, out):
    return {"manifest": str(manifest), "prompt_path": str(prompt), "data_dir": str(data_dir), "out": str(out)}


def request(manifest, prompt, data_dir, out):
    """What an evaluation script sends a worker: the job's spec and its paths."""
    return {"job": JOB.to_dict(), **paths(manifest, prompt, data_dir, out)}


def test_a_worker_gives_the_jobs_own_result_and_stays_warm(workdir, tiny_manifest, sst2_dir, prompt):
    own = evaluation.run_transfer_job(JOB, **paths(tiny_manifest, prompt, sst2_dir, workdir / "own.json"), threads=1)
    first = worker.submit(TRANSFER, request(tiny_manifest, prompt, sst2_dir, workdir / "a.json"), threads=1)
    second = worker.submit(TRANSFER, request(tiny_manifest, prompt, sst2_dir, workdir / "b.json"), threads=1)
    assert first["pid"] == second["pid"]  # the second job found the worker warm
    for out in ("a.json", "b.json"):
        served = json.loads((workdir / out).read_text())
        assert {k: v for k, v in served.items() if k != "prompt"} == {k: v for k, v in own.items() if k != "prompt"}


def test_concurrent_jobs_get_their_own_workers(workdir, tiny_manifest, sst2_dir, prompt):
    replies = {}

    def job(name):
        replies[name] = worker.submit(
            TRANSFER, request(tiny_manifest, prompt, sst2_dir, workdir / f"{name}.json"), threads=1
        )

    threads = [threading.Thread(target=job, args=(n,)) for n in ("x", "y")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert replies["x"]["pid"] != replies["y"]["pid"]
    assert (
        json.loads((workdir / "x.json").read_text())["accuracy"]
        == json.loads((workdir / "y.json").read_text())["accuracy"]
    )


def test_a_users_mistake_in_a_worker_is_the_jobs_error(workdir, tiny_manifest, sst2_dir):
    wrong = workdir / "wrong.safetensors"
    save_prompt(wrong, torch.zeros(4, 48), {"task": "sst2"})
    with pytest.raises(UserError, match=r"prompt of shape \[4, 48\] does not fit this backbone"):
        worker.submit(TRANSFER, request(tiny_manifest, wrong, sst2_dir, workdir / "out.json"), threads=1)
    assert not (workdir / "out.json").exists()


def test_workers_can_be_turned_off(workdir, tiny_manifest, sst2_dir, prompt, monkeypatch):
    monkeypatch.setenv("PROMPT_TRANSFER_WORKERS", "0")
    worker.run_job(
        TRANSFER, JOB, paths(tiny_manifest, prompt, sst2_dir, workdir / "out.json"), threads=1, log_file=None
    )
    assert (workdir / "out.json").is_file() and not worker.WORKER_DIR.exists()
    monkeypatch.setenv("PROMPT_TRANSFER_WORKERS", "1")
    monkeypatch.setenv("SLURM_JOB_ID", "42")  # inside a SLURM job: no daemons
    assert not worker.enabled()


@pytest.mark.parametrize("script", ["evaluate_transfer", "evaluate_baselines"])
def test_each_evaluation_script_names_a_job_function_of_its_spec(script):
    """The script names its job function in full; the function's `job` annotation is the spec
    type the script's --job decodes, so worker and script agree on it by construction."""
    text = (REPO / "workflow_scripts" / f"{script}.py").read_text()
    (name,) = re.findall(r'run_job\(\s*"([\w.]+)"', text)
    function, spec_type = worker.job_function(name)
    assert function.__module__ == "prompt_transfer.evaluation"
    assert re.search(rf"add_model_job\(p, specs\.{spec_type.__name__}\)", text)


def test_a_worker_runs_only_the_packages_functions():
    with pytest.raises(ValueError, match="not a function of prompt_transfer"):
        worker.job_function("os.system")
