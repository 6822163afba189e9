"""Warm evaluation workers: same results as a job's own process, reuse, one worker per
concurrent job, errors passed through, and the way out."""

from __future__ import annotations

import json
import threading

import pytest
import torch
from conftest import TINY, sentiment_task, train

from prompt_transfer import evaluation, worker
from prompt_transfer.errors import UserError
from prompt_transfer.prompts import save_prompt
from prompt_transfer.specs import Evaluation, TransferJob

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
    first = worker.submit("transfer", request(tiny_manifest, prompt, sst2_dir, workdir / "a.json"), threads=1)
    second = worker.submit("transfer", request(tiny_manifest, prompt, sst2_dir, workdir / "b.json"), threads=1)
    assert first["pid"] == second["pid"]  # the second job found the worker warm
    for out in ("a.json", "b.json"):
        served = json.loads((workdir / out).read_text())
        assert {k: v for k, v in served.items() if k != "prompt"} == {k: v for k, v in own.items() if k != "prompt"}


def test_concurrent_jobs_get_their_own_workers(workdir, tiny_manifest, sst2_dir, prompt):
    replies = {}

    def job(name):
        replies[name] = worker.submit(
            "transfer", request(tiny_manifest, prompt, sst2_dir, workdir / f"{name}.json"), threads=1
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
        worker.submit("transfer", request(tiny_manifest, wrong, sst2_dir, workdir / "out.json"), threads=1)
    assert not (workdir / "out.json").exists()


def test_workers_can_be_turned_off(workdir, tiny_manifest, sst2_dir, prompt, monkeypatch):
    monkeypatch.setenv("PROMPT_TRANSFER_WORKERS", "0")
    worker.run_job(
        "transfer", JOB, paths(tiny_manifest, prompt, sst2_dir, workdir / "out.json"), threads=1, log_file=None
    )
    assert (workdir / "out.json").is_file() and not worker.WORKER_DIR.exists()
    monkeypatch.setenv("PROMPT_TRANSFER_WORKERS", "1")
    monkeypatch.setenv("SLURM_JOB_ID", "42")  # inside a SLURM job: no daemons
    assert not worker.enabled()
