"""Shared fixtures and helpers: paths to the repository and the offline task data, tiny random
backbones, unit-level training on a tiny backbone, and the Snakemake runner with the tiny study,
built once per test run (session scope) for every module that reads it."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from prompt_transfer.specs import Backbone, Evaluation, Task, Training, TrainJob

REPO = Path(__file__).resolve().parent.parent
# Real task data and the authors' released prompts: the sample in tests/data (a lone clone has
# it), or the full offline bundle where PROMPT_TRANSFER_DATA / PROMPT_TRANSFER_REFERENCE name it.
TASK_DATA = Path(os.environ.get("PROMPT_TRANSFER_DATA") or REPO / "tests" / "data" / "sample").resolve()
REFERENCE = Path(os.environ.get("PROMPT_TRANSFER_REFERENCE") or REPO / "tests" / "data").resolve()
TINY_CONFIG = REPO / "tests" / "config" / "tiny.yaml"


@pytest.fixture(scope="session")
def task_data() -> Path:
    if not (TASK_DATA / "sst2" / "train.jsonl").is_file():
        pytest.fail(f"task data not found at {TASK_DATA} (PROMPT_TRANSFER_DATA names a folder of tasks)")
    return TASK_DATA


@pytest.fixture(scope="session")
def released_prompts() -> Path:
    """The authors' task_prompt_emb folder: a few of its prompts (tests/data/README.md), or all."""
    folder = REFERENCE / "released" / "task_prompt_emb"
    if not (folder / "SST2PromptRoberta" / "task_prompt").is_file():
        pytest.fail(f"the authors' released prompts not found under {REFERENCE} (set PROMPT_TRANSFER_REFERENCE)")
    return folder


def read_rows(path: Path, n: int) -> list[dict]:
    rows = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            rows.append(json.loads(line))
            if len(rows) == n:
                break
    return rows


@pytest.fixture(scope="session")
def sst2_rows(task_data) -> list[dict]:
    return read_rows(task_data / "sst2" / "train.jsonl", 64)


@pytest.fixture(scope="session")
def mnli_rows(task_data) -> list[dict]:
    return read_rows(task_data / "mnli" / "train.jsonl", 64)


def prepare_sst2(task_data: Path, out: Path, train_size: int, dev_size: int, validation_size: int) -> Path:
    """SST-2 sampled into `out` as the data rule does (train/dev/validation.jsonl, meta.json)."""
    from prompt_transfer import data

    from prompt_transfer.specs import DataJob, Sampling

    sampling = Sampling(train_size, dev_size, validation_size, seed=0)
    data.prepare_task_data(
        DataJob("sst2", "sentiment", ["negative", "positive"], sampling, str(task_data), local="sst2"), out
    )
    return out


TINY_LABEL_WORDS = ["negative", "positive", "neutral", "yes", "no", "maybe"]


@pytest.fixture(scope="session")
def tiny_backbones(task_data):
    """family -> (model, tokenizer): random 2-layer models with a word-level vocabulary."""
    from prompt_transfer.backbones import build_tiny_model, build_tiny_tokenizer
    from prompt_transfer.tiny_tokenizer import corpus_words
    from prompt_transfer.families import FAMILIES

    words = [w for w, _ in corpus_words([task_data / "sst2" / "train.jsonl"]).most_common(1500)]
    out = {}
    for family in FAMILIES:
        tokenizer = build_tiny_tokenizer(words + TINY_LABEL_WORDS, family)
        model = build_tiny_model(family, len(tokenizer), hidden_size=32, layers=2, heads=2, intermediate_size=64)
        model.requires_grad_(False)
        model.eval()
        out[family] = (model, tokenizer)
    return out


def sentiment_task(name="sst2") -> Task:
    return Task(name, "sentiment", ["negative", "positive"], ["negative", "positive"])


def nli_task() -> Task:
    return Task("mnli", "nli", ["entailment", "neutral", "contradiction"], ["yes", "maybe", "no"])


# --- unit-level training on a tiny random backbone (no Snakemake) ----------------------------------

TINY = Backbone(
    "tiny",
    "embedding",
    {
        "tiny": {
            "hidden_size": 32,
            "layers": 2,
            "heads": 2,
            "intermediate_size": 64,
            "vocab_words": 2000,
            "extra_words": TINY_LABEL_WORDS,  # a small corpus may lack them
            "seed": 0,
        }
    },
    scorer_options={"scale": 20.0},
)
TINY_TRAINING = Training(
    prompt_length=4,
    prompt_init="vocab",
    init_std=0.02,
    learning_rate=0.05,
    weight_decay=0.0,
    warmup_steps=2,
    batch_size=8,
    max_steps=12,
    eval_interval=4,
    early_stopping_patience=0,
    max_length=32,
    grad_clip=1.0,
    seed=0,
    precision="auto",
)
TINY_EVALUATION = Evaluation(max_length=32, precision="auto", batch_size=32)


def materialize(spec: Backbone, models: Path) -> Path:
    """The backbone `spec` materialised into models/<its name>: the path of its manifest."""
    from prompt_transfer import backbones

    out = models / spec.name
    backbones.materialize(spec, out)
    return out / "model.json"


@pytest.fixture(scope="session")
def tiny_manifest(tmp_path_factory, task_data) -> Path:
    """TINY with a vocabulary from SST-2's training text, materialised once per run."""
    source = {"tiny": {**TINY.source["tiny"], "corpus": [str(task_data / "sst2" / "train.jsonl")]}}
    return materialize(dataclasses.replace(TINY, source=source), tmp_path_factory.mktemp("models"))


@pytest.fixture(scope="session")
def sst2_split(tmp_path_factory, task_data):
    """(train_size, dev_size, validation_size) -> SST-2 sampled into a folder of its own, once per
    run for each size. Read only."""
    made = {}

    def split(train_size: int, dev_size: int, validation_size: int) -> Path:
        sizes = (train_size, dev_size, validation_size)
        if sizes not in made:
            made[sizes] = prepare_sst2(task_data, tmp_path_factory.mktemp("sst2"), *sizes)
        return made[sizes]

    return split


@pytest.fixture(scope="session")
def sst2_dir(sst2_split) -> Path:
    """The SST-2 sample the tiny backbone trains on."""
    return sst2_split(300, 40, 60)


def train(manifest, data_dir, out_dir, settings=TINY_TRAINING, **kwargs):
    """A training job of TINY on sentiment data: [prompt, log, metrics] paths in out_dir."""
    from prompt_transfer.training import run_train_job

    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / "prompt.safetensors", out_dir / "log.csv", out_dir / "metrics.json"]
    run_train_job(TrainJob(TINY, sentiment_task(), settings), manifest, data_dir, *paths, threads=1, **kwargs)
    return paths


# --- the workflow through Snakemake (tests marked `workflow`) ------------------------------------

BACKBONE = "tiny-embedding"  # the tiny study of tests/config/tiny.yaml
TASKS = ["sst2", "laptop", "mnli"]


def copy_workdir(source: Path, copy: Path) -> None:
    """Copy a finished study to change it; the evaluation workers' sockets stay behind."""
    shutil.copytree(source, copy, symlinks=True, ignore=shutil.ignore_patterns("prompt-transfer-workers"))


def snakemake_command(
    workdir: Path, *args: str, configfiles=(), data_dir=None, cores=2, snakefile=REPO / "Snakefile"
) -> list[str]:
    """The command line of a Snakemake run of the tiny study (TINY_CONFIG, then `configfiles`)."""
    cmd = [sys.executable, "-m", "snakemake", "-s", str(snakefile), "-d", str(workdir), "--cores", str(cores)]
    cmd += [*args, "--config", f"data_dir={data_dir}"]
    return cmd + ["--configfile", str(TINY_CONFIG), *map(str, configfiles)]  # takes all values up to the end


def snakemake(
    workdir: Path, *args: str, configfiles=(), data_dir=None, check=True, cores=2, snakefile=REPO / "Snakefile"
):
    cmd = snakemake_command(
        workdir, *args, configfiles=configfiles, data_dir=data_dir, cores=cores, snakefile=snakefile
    )
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=3600)
    if check and result.returncode != 0:
        raise AssertionError(
            f"snakemake failed ({result.returncode}):\n{result.stdout[-3000:]}\n{result.stderr[-5000:]}"
        )
    return result


def jobs(output: str) -> set[tuple]:
    """(rule, wildcards) of every job a snakemake run or dry run lists."""
    found, current = set(), None
    for line in output.splitlines():
        if m := re.match(r"^\s*(?:local)?rule (\w+):", line):  # grouped jobs are indented
            if current:
                found.add(current)
            current = (m.group(1), "")
        elif current and (m := re.match(r"^\s+wildcards: (.*)", line)):
            current = (current[0], m.group(1).strip())
    if current:
        found.add(current)
    return found


def overlay(workdir: Path, name: str, content: dict) -> Path:
    path = workdir / name
    path.write_text(yaml.safe_dump(content))
    return path


@pytest.fixture(scope="session")
def study(tmp_path_factory, task_data) -> Path:
    """The tiny study run to the end, once per test run and shared by every module. Read it or
    dry-run on it (-n); a test that changes a study (runs jobs, writes files) works on a copy
    (copy_workdir into its tmp_path), so that this one stays as the run left it."""
    workdir = tmp_path_factory.mktemp("study")
    snakemake(workdir, "all", "results/benchmarks.csv", data_dir=task_data, cores=8)  # more cores than we have
    return workdir
