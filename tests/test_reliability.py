"""Reliability: the same answer twice, survival of a killed job, loud refusal of bad input."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest
import torch
from conftest import BACKBONE, REPO, snakemake_command, TINY, TINY_TRAINING, overlay, sentiment_task, snakemake, train

from prompt_transfer import evaluation
from prompt_transfer.code_version import code_version, modules_of
from prompt_transfer.prompts import PromptShapeError, save_prompt
from prompt_transfer.errors import DivergedError
from prompt_transfer.specs import Evaluation, TrainJob, TransferJob

# tiny_manifest, sst2_dir (conftest.py): TINY materialised and an SST-2 sample, once per run


def test_same_seed_gives_bit_identical_prompts_and_results(tiny_manifest, sst2_dir, tmp_path):
    first = train(tiny_manifest, sst2_dir, tmp_path / "a")
    second = train(tiny_manifest, sst2_dir, tmp_path / "b")
    assert first[0].read_bytes() == second[0].read_bytes()
    logs = [pd.read_csv(p[1]).drop(columns="wall_seconds") for p in (first, second)]
    pd.testing.assert_frame_equal(*logs)
    results = []
    for paths in (first, second):
        out = paths[0].parent / "transfer.json"
        job = TransferJob(TINY, sentiment_task(), Evaluation(max_length=32, precision="auto", batch_size=16))
        evaluation.run_transfer_job(job, tiny_manifest, paths[0], sst2_dir, out, threads=1)
        results.append({k: v for k, v in json.loads(out.read_text()).items() if k != "prompt"})  # the path differs
    assert results[0] == results[1]
    assert results[0]["seed"] == 0  # the seed is recorded with every result


def test_different_seeds_give_different_prompts(tiny_manifest, sst2_dir, tmp_path):
    a = train(tiny_manifest, sst2_dir, tmp_path / "a")
    b = train(tiny_manifest, sst2_dir, tmp_path / "b", settings=dataclasses.replace(TINY_TRAINING, seed=1))
    assert a[0].read_bytes() != b[0].read_bytes()
    assert json.loads(b[2].read_text())["settings"]["seed"] == 1


def train_command(manifest, data_dir, out_dir, settings, checkpoint, interval=50):
    return [
        sys.executable, str(REPO / "workflow_scripts" / "train_prompt.py"),
        "--model", str(manifest), "--job", TrainJob(TINY, sentiment_task(), settings).to_json(), "--data-dir", str(data_dir),
        "--prompt", str(out_dir / "prompt.safetensors"), "--train-log", str(out_dir / "log.csv"),
        "--metrics", str(out_dir / "metrics.json"), "--threads", "1", "--checkpoint", str(checkpoint), "--checkpoint-interval", str(interval),
    ]  # fmt: skip


def wait_for(path, process, seconds=600):
    deadline = time.monotonic() + seconds
    while not path.exists():
        assert process.poll() is None, "the job ended before it saved a checkpoint"
        assert time.monotonic() < deadline, f"no checkpoint at {path} after {seconds} s"
        time.sleep(0.02)


def test_a_killed_training_job_resumes_to_the_same_prompt(tiny_manifest, sst2_dir, tmp_path):
    settings = dataclasses.replace(TINY_TRAINING, max_steps=600, eval_interval=200)
    reference = train(tiny_manifest, sst2_dir, tmp_path / "reference", settings=settings)

    out, checkpoint = tmp_path / "killed", tmp_path / "state.safetensors"
    out.mkdir()
    job = subprocess.Popen(train_command(tiny_manifest, sst2_dir, out, settings, checkpoint), stderr=subprocess.DEVNULL)
    wait_for(checkpoint, job)
    job.send_signal(signal.SIGKILL)
    job.wait()
    assert not (out / "prompt.safetensors").exists() and not list(out.glob("*.tmp"))  # nothing half-written

    subprocess.run(
        train_command(tiny_manifest, sst2_dir, out, settings, checkpoint), check=True, stderr=subprocess.DEVNULL
    )
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["resumed_from_step"] >= 50
    assert (out / "prompt.safetensors").read_bytes() == reference[0].read_bytes()
    resumed, uninterrupted = (pd.read_csv(p).drop(columns="wall_seconds") for p in (out / "log.csv", reference[1]))
    pd.testing.assert_frame_equal(resumed, uninterrupted)
    assert not checkpoint.exists()  # cleared once the outputs are written


@pytest.mark.workflow
def test_rerunning_the_workflow_after_a_kill_resumes(tmp_path, task_data):
    """SIGKILL the whole Snakemake run mid-training; a plain re-run resumes the training job."""
    change = overlay(
        tmp_path,
        "long.yaml",
        {"study": {"tasks": ["sst2"]}, "training": {"max_steps": 600, "eval_interval": 200}, "checkpoint_interval": 50},
    )
    target = f"results/prompts/{BACKBONE}/seed0/sst2.safetensors"
    cmd = snakemake_command(tmp_path, target, configfiles=[change], data_dir=task_data)
    run = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    wait_for(tmp_path / f"results/checkpoints/train_prompt/{BACKBONE}/seed0/sst2.safetensors", run)
    os.killpg(run.pid, signal.SIGKILL)
    run.wait()
    assert not (tmp_path / target).exists()

    snakemake(tmp_path, "--unlock", configfiles=[change], data_dir=task_data)  # the killed run's lock
    snakemake(tmp_path, target, configfiles=[change], data_dir=task_data)
    metrics = json.loads((tmp_path / f"results/prompts/{BACKBONE}/seed0/sst2.metrics.json").read_text())
    assert metrics["resumed_from_step"] >= 50 and metrics["steps_run"] == 600


def test_a_diverging_loss_fails_and_writes_no_prompt(tiny_manifest, sst2_dir, tmp_path, monkeypatch):
    from prompt_transfer.scorers import EmbeddingScorer

    real = EmbeddingScorer.logits

    def diverging(self, prompt, batch):
        logits = real(self, prompt, batch)
        return logits * float("nan") if torch.is_grad_enabled() else logits  # training steps only

    monkeypatch.setattr(EmbeddingScorer, "logits", diverging)
    with pytest.raises(DivergedError, match="training loss is nan at step 1"):
        train(tiny_manifest, sst2_dir, tmp_path)
    assert not list(tmp_path.glob("*.safetensors")) and not list(tmp_path.glob("*.csv"))


def test_a_prompt_of_the_wrong_shape_is_refused_by_name(tiny_manifest, sst2_dir, tmp_path):
    wrong = tmp_path / "other_backbone.safetensors"
    save_prompt(wrong, torch.zeros(4, 48), {"task": "sst2"})
    job = TransferJob(TINY, sentiment_task(), Evaluation(max_length=32, precision="auto", batch_size=16))
    with pytest.raises(
        PromptShapeError,
        match=r"other_backbone.safetensors: prompt of shape \[4, 48\] does not fit this backbone \(\[L, 32\]\)",
    ):
        evaluation.run_transfer_job(job, tiny_manifest, wrong, sst2_dir, tmp_path / "out.json", threads=1)
    assert not (tmp_path / "out.json").exists()


def test_the_code_version_follows_imports_and_ignores_comments_and_docstrings(tmp_path):
    script = tmp_path / "plot_something.py"
    script.write_text('"""A script."""\nfrom prompt_transfer import cli, plots\n')
    modules = modules_of(script)
    assert {"cli", "plots", "errors"} <= set(modules) and "training" not in modules
    version = code_version(script)
    assert version.split()[0].startswith("plot_something.py=") and "plots.py=" in version
    script.write_text('"""Other words."""\n# a comment\nfrom prompt_transfer import (cli,\n    plots)\n')
    code_version.cache_clear()
    assert code_version(script) == version
    script.write_text('"""A script."""\nfrom prompt_transfer import cli, plots\nplots.X = 1\n')
    code_version.cache_clear()
    assert code_version(script).split()[0] != version.split()[0]
    assert code_version(script).split()[1:] == version.split()[1:]
